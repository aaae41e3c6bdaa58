#!/bin/bash
# The one-writer lock against a hostile directory: two processes put in a loop while a third
# keeps removing LOCK or replacing it with a symlink to a file outside the database. With the
# old lock on the file LOCK, both writers got in and `loci check` found damaged blobs. Now the
# lock is on the directory: every put either succeeds or is refused with Busy (exit 3), the
# database checks clean, it holds exactly the cubes whose puts succeeded, and the file the
# symlink points to is untouched.
# Usage: writer_lock_test.sh PATH/TO/loci [PUTS_PER_WRITER]
set -u
L=${1:?usage: writer_lock_test.sh PATH/TO/loci [PUTS_PER_WRITER]}
PUTS=${2:-25}
T=$(mktemp -d)
trap 'kill "$saboteur" 2>/dev/null; rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

D=$T/db
"$L" init "$D" >/dev/null || { echo "FAIL: init"; exit 1; }
echo precious >"$T/outside"

# The saboteur: until the writers are done, LOCK is removed, or replaced by a symlink.
(
  i=0
  while [ ! -e "$T/done" ]; do
    rm -f "$D/LOCK"
    if [ $((i % 2)) -eq 1 ]; then ln -s "$T/outside" "$D/LOCK" 2>/dev/null; fi
    i=$((i + 1))
    sleep 0.002
  done
) &
saboteur=$!

# Each writer records one line per put: its exit code and its stderr.
writer() {
  local w=$1 i rc
  for i in $(seq "$PUTS"); do
    "$L" put "$D" --space "s$w" --text "w$w-$i" >/dev/null 2>"$T/err$w"
    rc=$?
    echo "$rc $(tr '\n' ' ' <"$T/err$w")" >>"$T/log$w"
  done
}
writer 1 &
w1=$!
writer 2 &
w2=$!
wait "$w1" "$w2"
touch "$T/done"
wait "$saboteur"

ok=0
busy=0
while read -r rc rest; do
  if [ "$rc" -eq 0 ]; then
    ok=$((ok + 1))
  elif [ "$rc" -eq 3 ] && [[ "$rest" == *"is locked by"* ]]; then
    busy=$((busy + 1))
  else
    fail "a put exited $rc: $rest"
  fi
done < <(cat "$T/log1" "$T/log2")
echo "puts: $ok succeeded, $busy refused as busy"
[ $((ok + busy)) -eq $((2 * PUTS)) ] || fail "expected $((2 * PUTS)) put results"
[ "$ok" -gt 0 ] || fail "no put succeeded"

"$L" check "$D" >"$T/check" 2>&1
rc=$?
[ "$rc" -eq 0 ] && pass "check exits 0" || fail "check exits $rc: $(cat "$T/check")"
cubes=$(sed -n 's/^verified \([0-9]*\) cube(s).*/\1/p' "$T/check")
[ "$cubes" = "$ok" ] && pass "the database holds the $ok acknowledged puts" ||
  fail "the database holds ${cubes:-?} cubes, $ok puts succeeded"
[ "$(cat "$T/outside")" = precious ] && pass "the symlink's target is untouched" ||
  fail "the file LOCK linked to was changed: $(cat "$T/outside")"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS: writer_lock_test"
