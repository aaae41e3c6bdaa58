#!/bin/bash
# End-to-end tests of loci compact: a database with nothing dead has nothing to compact; after
# a purge, compact moves the live blobs out of the arena file holding the purged ones and
# removes that file (the kept cube reads as before, check passes, no file holds the purged
# bytes); a fraction out of range is one clear line, exit 1.
# Usage: compact_cli_test.sh PATH/TO/loci
set -u
L=${1:?usage: compact_cli_test.sh PATH/TO/loci}
# shellcheck source=cli_check_lib.sh
source "$(dirname "$0")/cli_check_lib.sh"

D=$T/db
"$L" init "$D" >/dev/null || fail "init"
keep=$("$L" put "$D" --space s --text "kept memory about tea") || fail "put keep"
gone=$("$L" put "$D" --space s --text "secret memory about the garden") || fail "put gone"
"$L" update "$D" "$keep" --text "kept memory about green tea" >/dev/null || fail "update keep"

expect_exit 0 "compact with nothing dead" "$L" compact "$D"
grep -q "^nothing to compact: no arena generation holds dead bytes$" "$T/out" &&
  pass "nothing dead, nothing compacted" || fail "printed: $(cat "$T/out")"

expect_exit 0 "purge" "$L" purge "$D" "$gone" --yes
[ -e "$D/arena-00000001.blob" ] && pass "the purged cube's file is still there" ||
  fail "files: $(ls "$D")"
expect_exit 0 "compact after a purge" "$L" compact "$D"
grep -Eq "^removed 1 arena generation after copying 2 live blobs \([0-9]+ bytes\); the arena went from [0-9]+ to [0-9]+ bytes$" \
  "$T/out" && pass "compact says what it did" || fail "printed: $(cat "$T/out")"
[ ! -e "$D/arena-00000001.blob" ] && pass "the emptied file is removed" || fail "files: $(ls "$D")"
expect_exit 0 "get the kept cube" "$L" get "$D" "$keep"
grep -q "kept memory about green tea" "$T/out" && pass "the kept cube reads as before" ||
  fail "printed: $(cat "$T/out")"
expect_exit 0 "history of the kept cube" "$L" history "$D" "$keep"
grep -q "kept memory about tea" "$T/out" && pass "its first version too" ||
  fail "printed: $(cat "$T/out")"
expect_exit 0 "check after compact" "$L" check "$D"
if grep -rqa "secret memory about the garden" "$D"; then
  fail "a file still holds the purged text"
else
  pass "no file holds the purged text"
fi

expect_exit 1 "a fraction out of range" "$L" compact "$D" --max-live-fraction 2
expect_err "--max-live-fraction must lie between 0 and 1"
expect_exit 1 "compact a missing database" "$L" compact "$T/none"
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
