#!/bin/bash
# Symlinks and special files where a database's files should be: a FIFO in place of the live
# WAL segment or of SUPERBLOCK made `loci info` block forever, and a symlink was followed. Now
# every command refuses them at once, with one line naming the file (exit 2, corruption), and
# never touches a symlink's target. A database reached through a symlinked directory still
# works: only the files inside are protected.
# Usage: special_files_test.sh PATH/TO/loci
set -u
L=${1:?usage: special_files_test.sh PATH/TO/loci}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_refused WHAT PATTERN CMD...: CMD must exit 2 within 10 s with one line on stderr
# matching PATTERN.
expect_refused() {
  local what=$1 pattern=$2
  shift 2
  timeout 10 "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [ "$got" -eq 124 ]; then
    fail "$what: still running after 10 s"
  elif [ "$got" -ne 2 ]; then
    fail "$what: exit $got, expected 2 (stderr: $(cat "$T/err"))"
  elif [ "$(wc -l <"$T/err")" -ne 1 ]; then
    fail "$what: stderr is not one line: $(cat "$T/err")"
  elif ! grep -q -- "$pattern" "$T/err"; then
    fail "$what: stderr does not say '$pattern': $(cat "$T/err")"
  else
    pass "$what"
  fi
}

# A fresh database with one cube in it.
make_db() {
  rm -rf "$D"
  "$L" init "$D" >/dev/null && "$L" put "$D" --space s --text hello >/dev/null ||
    { echo "FAIL: creating $D"; exit 1; }
}
D=$T/db

make_db
wal=$(ls "$D"/wal-*.log | tail -1)
mv "$wal" "$T/saved.log"
mkfifo "$wal"
for cmd in info check wal-dump; do
  expect_refused "$cmd with a FIFO as the live WAL segment" "$wal: not a regular file (a FIFO)" \
    "$L" $cmd "$D"
done
expect_refused "put with a FIFO as the live WAL segment" "not a regular file (a FIFO)" \
  "$L" put "$D" --space s --text more

make_db
mv "$D/SUPERBLOCK" "$T/saved.sb"
mkfifo "$D/SUPERBLOCK"
for cmd in info check wal-dump; do
  expect_refused "$cmd with a FIFO as SUPERBLOCK" "$D/SUPERBLOCK: not a regular file (a FIFO)" \
    "$L" $cmd "$D"
done

# A symlink as SUPERBLOCK, to a valid superblock elsewhere: refused, and the target untouched.
rm "$D/SUPERBLOCK"
ln -s "$T/saved.sb" "$D/SUPERBLOCK"
before=$(md5sum <"$T/saved.sb")
for cmd in info check; do
  expect_refused "$cmd with a symlink as SUPERBLOCK" "$D/SUPERBLOCK: is a symbolic link" \
    "$L" $cmd "$D"
done
expect_refused "put with a symlink as SUPERBLOCK" "is a symbolic link" \
  "$L" put "$D" --space s --text more
[ "$(md5sum <"$T/saved.sb")" = "$before" ] && pass "the symlink's target is untouched" ||
  fail "the superblock the symlink points to was changed"

# The database directory itself may be a symlink.
make_db
ln -s "$D" "$T/via"
"$L" put "$T/via" --space s --text through-link >/dev/null && pass "put through a symlinked directory" ||
  fail "put through a symlinked directory"
timeout 10 "$L" check "$T/via" >/dev/null 2>&1 && pass "check through a symlinked directory" ||
  fail "check through a symlinked directory"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS: special_files_test"
