#!/bin/bash
# End-to-end tests of loci prune: without --yes it says what the policy applies to and exits 1,
# pruning nothing; with --yes a checkpoint under the policy drops the versions it does not
# keep (history, info), --space confines it, an older read point is reported in words with RFC
# 3339 times, and a missing rule, a bad duration or a missing space is one clear line, exit 1.
# Usage: prune_cli_test.sh PATH/TO/loci
set -u
L=${1:?usage: prune_cli_test.sh PATH/TO/loci}
# shellcheck source=cli_check_lib.sh
source "$(dirname "$0")/cli_check_lib.sh"

D=$T/db
"$L" init "$D" >/dev/null || fail "init"
a=$("$L" put "$D" --space s --text "version one") || fail "put a"
b=$("$L" put "$D" --space t --text "t one") || fail "put b"
for n in two three four; do
  "$L" update "$D" "$a" --text "version $n" >/dev/null || fail "update a"
done
"$L" update "$D" "$b" --text "t two" >/dev/null || fail "update b"
versions() { "$L" history "$D" "$1" --json | python3 -c 'import json,sys; print([c["version"] for c in json.load(sys.stdin)])'; }

expect_exit 1 "prune without --yes" "$L" prune "$D" --space s --keep-versions 2
expect_err "nothing pruned: pass --yes"
grep -q "^would keep the newest 2 versions of each cube in space s (1 cube, 4 versions)$" \
  "$T/out" && pass "prune without --yes names the policy and the space" ||
  fail "printed: $(cat "$T/out")"
[ "$(versions "$a")" = "[1, 2, 3, 4]" ] && pass "nothing pruned without --yes" ||
  fail "history after prune without --yes: $(versions "$a")"

expect_exit 0 "prune --yes" "$L" prune "$D" --space s --keep-versions 2 --yes
grep -q "^pruned 2 versions; kept space s (1 cube, 2 versions)$" "$T/out" &&
  pass "prune --yes says what it pruned" || fail "printed: $(cat "$T/out")"
[ "$(versions "$a")" = "[3, 4]" ] && pass "the newest two versions remain" ||
  fail "history: $(versions "$a")"
[ "$(versions "$b")" = "[1, 2]" ] && pass "another space keeps everything" ||
  fail "history of b: $(versions "$b")"
expect_exit 1 "get before the retained history" "$L" get "$D" "$a" --as-of 2001-01-01T00:00:00Z
expect_err "older than its retained history, which starts at version 3 \\(committed 20[0-9-]+T[0-9:.]+Z\\)"
json_check "info counts the pruned space's versions" \
  "[s['versions'] for s in j['usage']['spaces'] if s['name'] == 's'] == [2]" "$L" info "$D" --json
expect_exit 0 "check after a prune" "$L" check "$D"

expect_exit 0 "prune every space to one version" "$L" prune "$D" --keep-versions 1 --yes
[ "$(versions "$b")" = "[2]" ] && pass "every space pruned" || fail "history of b: $(versions "$b")"

expect_exit 1 "prune without a rule" "$L" prune "$D" --yes
expect_err "give --keep-versions N and/or --keep-for DURATION"
expect_exit 1 "prune with a bad duration" "$L" prune "$D" --keep-for 3x --yes
expect_err "--keep-for: '3x' is not a duration"
expect_exit 1 "prune of a missing space" "$L" prune "$D" --space zz --keep-versions 1 --yes
expect_err "space 'zz' does not exist"
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
