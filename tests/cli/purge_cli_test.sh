#!/bin/bash
# End-to-end tests of loci purge: without --yes it names what it would erase and exits 1,
# erasing nothing; with --yes the cubes are gone (get, history, trace, list) and no file of the
# database holds their payload or attribute bytes; --space confines it; missing ids, malformed
# ids and a missing --yes are one clear line and exit 1.
# Usage: purge_cli_test.sh PATH/TO/loci
set -u
L=${1:?usage: purge_cli_test.sh PATH/TO/loci}
# shellcheck source=cli_check_lib.sh
source "$(dirname "$0")/cli_check_lib.sh"

D=$T/db
"$L" init "$D" >/dev/null || fail "init"
a=$("$L" put "$D" --space s --text "likes green tea" --attr "diet=no-sugar-please") || fail "put a"
b=$("$L" put "$D" --space s --text "keeps this one") || fail "put b"
c=$("$L" put "$D" --space t --text "another tenant") || fail "put c"
"$L" update "$D" "$a" --text "likes green tea a lot" >/dev/null || fail "update a"
"$L" link "$D" "$a" "$b" --type caused >/dev/null || fail "link"
"$L" checkpoint "$D" >/dev/null || fail "checkpoint"

holds() { grep -rqa -- "$1" "$D"; }
holds "likes green tea" && pass "the payload is on disk before" || fail "payload not found before"

expect_exit 1 "purge without --yes" "$L" purge "$D" "$a"
expect_err "nothing erased: pass --yes"
grep -q "^would erase cube $a (space s, 2 versions)$" "$T/out" &&
  pass "purge without --yes names the cube" || fail "purge without --yes printed: $(cat "$T/out")"
expect_exit 0 "get after a purge without --yes" "$L" get "$D" "$a"

expect_exit 1 "purge of a missing id" "$L" purge "$D" 999999 --yes
expect_err "cube 999999 does not exist"
expect_exit 1 "purge of a malformed id" "$L" purge "$D" x1 --yes
expect_exit 1 "purge of another space's cube" "$L" purge "$D" "$c" --space s --yes
expect_err "cube $c does not exist"
expect_exit 0 "get of the other space's cube" "$L" get "$D" "$c"

expect_exit 0 "purge --yes" "$L" purge "$D" "$a" --space s --yes
grep -q "^erased cube $a (space s, 2 versions)$" "$T/out" &&
  pass "purge --yes names what it erased" || fail "purge --yes printed: $(cat "$T/out")"
expect_exit 1 "get of a purged cube" "$L" get "$D" "$a"
expect_err "cube $a does not exist"
expect_exit 1 "history of a purged cube" "$L" history "$D" "$a"
json_check "trace from b finds no edge to the purged cube" 'j == []' \
  "$L" trace "$D" "$b" --direction both --json
json_check "list shows only b" "[c['id'] for c in j] == [ids['b']]" "$L" list "$D" --space s --json
holds "likes green tea" && fail "the payload is still on disk" || pass "no file holds the payload"
holds "no-sugar-please" && fail "the attribute is still on disk" || pass "no file holds the attribute"
holds "keeps this one" && pass "the other cube's payload stays" || fail "b's payload is gone"
expect_exit 1 "purge of a purged cube" "$L" purge "$D" "$a" --yes
expect_exit 0 "check after a purge" "$L" check "$D"


# --space S --all: every cube of the space; the space itself stays.
"$L" put "$D" --space s --text "second tenant secret" >/dev/null || fail "put into s"
json_check "info counts the space's cubes" \
  "[s['cubes'] for s in j['usage']['spaces'] if s['name'] == 's'] == [2]" "$L" info "$D" --json
expect_exit 1 "purge --all without --yes" "$L" purge "$D" --space s --all
grep -q "^would erase every cube of space s (2 cubes, 2 versions)$" "$T/out" &&
  pass "purge --all without --yes names the space" || fail "printed: $(cat "$T/out")"
expect_exit 1 "purge --all without --space" "$L" purge "$D" --all --yes
expect_err "--all needs --space"
expect_exit 1 "purge --all with ids" "$L" purge "$D" "$b" --space s --all --yes
expect_exit 1 "purge --all of a missing space" "$L" purge "$D" --space nowhere --all --yes
expect_err "space 'nowhere' does not exist"
expect_exit 1 "purge without ids" "$L" purge "$D" --yes
expect_exit 0 "purge --all --yes" "$L" purge "$D" --space s --all --yes
grep -q "^erased 2 cubes of space s$" "$T/out" && pass "purge --all says how many" ||
  fail "purge --all printed: $(cat "$T/out")"
holds "second tenant secret" && fail "a purged space's payload is on disk" ||
  pass "no file holds the purged space's payloads"
holds "another tenant" && pass "the other space's payload stays" || fail "t's payload is gone"
json_check "list of the purged space is empty" 'j == []' "$L" list "$D" --space s --json
expect_exit 0 "check after purging a space" "$L" check "$D"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
