#!/usr/bin/env bash
# loci-demo deletes nothing it did not create: it runs in a new path or an empty directory,
# replaces a database an earlier run created, and refuses (exit 1, one line, nothing touched)
# a file, a directory with other files, and a Loci database it did not create. --help creates
# nothing.
# Usage: demo_test.sh PATH/TO/loci-demo PATH/TO/loci
set -euo pipefail
demo=$1
loci=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$demo" --help > help.out || fail "--help exited non-zero"
[ -e ./--help ] && fail "--help created a directory"
grep -q DIR help.out || fail "--help does not describe DIR"

"$demo" new-db > run1.out || fail "first run in a new path"
grep -q 'After checkpoint + reopen' run1.out || fail "first run did not finish"
"$demo" new-db > run2.out || fail "second run over its own database"
# Same ids and counts (commit times differ): the second run began with an empty database.
cmp -s <(grep -E '^(Stored|Derived)|cubes, ' run1.out) <(grep -E '^(Stored|Derived)|cubes, ' run2.out) ||
  fail "a second run did not start from scratch"

mkdir empty
"$demo" empty > /dev/null || fail "run in an empty directory"

mkdir precious
echo keep > precious/notes.txt
if "$demo" precious > out 2> err; then fail "ran over a directory with other files"; fi
[ "$(cat precious/notes.txt)" = keep ] || fail "touched a file it did not create"
[ "$(ls precious)" = notes.txt ] || fail "created files in a refused directory"
[ "$(wc -l < err)" -eq 1 ] || fail "refusal is not one line: $(cat err)"
grep -q 'deletes nothing it did not create' err || fail "refusal does not say why: $(cat err)"

echo data > afile
if "$demo" afile 2> err; then fail "ran over a regular file"; fi
[ "$(cat afile)" = data ] || fail "touched a regular file"

"$loci" init other > /dev/null
"$loci" put other --space s --text "someone else's memory" > /dev/null
if "$demo" other 2> err; then fail "replaced a database it did not create"; fi
"$loci" get other 1 --space s | grep -q "someone else's memory" || fail "another database was changed"
echo "demo_test: ok"
