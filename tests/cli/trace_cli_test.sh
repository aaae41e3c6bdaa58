#!/bin/bash
# End-to-end tests of the trace-graph commands of the loci CLI: put/update --episode and the
# episode in get's output; link and unlink (versions, as-of and valid-time reads of edges);
# trace (hops, order, types, direction, episode order, limit, --space, JSON shape); episode,
# events, changes and list (order, windows, paging, as-of); wal-dump's edges; the edges and
# episodes surviving a checkpoint; and every bad input refused with exit 1 and one line.
# Usage: trace_cli_test.sh PATH/TO/loci
set -u
L=${1:?usage: trace_cli_test.sh PATH/TO/loci}
# shellcheck source=cli_check_lib.sh
source "$(dirname "$0")/cli_check_lib.sh"

now_us() { echo $(($(date +%s%N) / 1000)); }

D=$T/db
"$L" init "$D" >/dev/null || fail "init"

# --- put/update --episode, and the episode in get's output.
a=$("$L" put "$D" --space s --text "first" --episode ep1 --valid-from 2023-01-01T00:00:00Z) ||
  fail "put a"
b=$("$L" put "$D" --space s --text "second" --episode ep1 --valid-from 2023-01-02T00:00:00Z) ||
  fail "put b"
c=$("$L" put "$D" --space s --text "third" --episode ep1 --valid-from 2023-01-03T00:00:00Z) ||
  fail "put c"
d=$("$L" put "$D" --space s --text "alone" --valid-from 2023-01-04T00:00:00Z) || fail "put d"
x=$("$L" put "$D" --space t --text "another tenant" --episode ep1) || fail "put x"

json_check "get --json shows the episode" 'j["episode"] == "ep1"' "$L" get "$D" "$a" --json
json_check "get --json shows no episode as \"\"" 'j["episode"] == ""' "$L" get "$D" "$d" --json
"$L" get "$D" "$a" | grep -Eq '^episode: +ep1$' && pass "get shows the episode" ||
  fail "get: $("$L" get "$D" "$a")"
"$L" get "$D" "$d" | grep -q '^episode:' && fail "get shows an empty episode" ||
  pass "get leaves out an empty episode"

# --- link: the edge's version number.
t_before_links=$(now_us)
sleep 0.01
expect_exit 0 "link a -caused-> b" "$L" link "$D" "$a" "$b" --type caused
[ "$(cat "$T/out")" = 1 ] && pass "link prints version 1" || fail "link printed $(cat "$T/out")"
expect_exit 0 "link b -refers-> c with a weight" "$L" link "$D" "$b" "$c" --type refers \
  --weight 0.5 --space s
expect_exit 0 "link a -caused-> b again" "$L" link "$D" "$a" "$b" --type caused --weight 2
[ "$(cat "$T/out")" = 2 ] && pass "a second link prints version 2" ||
  fail "second link printed $(cat "$T/out")"
expect_exit 0 "link c -1000-> d (an application type)" "$L" link "$D" "$c" "$d" --type 1000

# --- trace: order, hops, types, direction, limit.
json_check "trace --hops 2 --json: b at hop 1, c at hop 2, with their edges" \
  '[(s["id"], s["hop"], s["type"], s["from"], s["to"], s["weight"]) for s in j] ==
   [(ids["b"], 1, "caused", ids["a"], ids["b"], 2),
    (ids["c"], 2, "refers", ids["b"], ids["c"], 0.5)]
   and all(list(s) == ["id", "version", "hop", "type", "from", "to", "weight"] for s in j)
   and all(s["version"] == 1 for s in j)' \
  "$L" trace "$D" "$a" --hops 2 --json
json_check "trace defaults to one hop" '[s["id"] for s in j] == [ids["b"]]' \
  "$L" trace "$D" "$a" --json
json_check "trace --hops 3 reaches the application edge" \
  '[(s["id"], s["hop"], s["type"]) for s in j] ==
   [(ids["b"], 1, "caused"), (ids["c"], 2, "refers"), (ids["d"], 3, "1000")]' \
  "$L" trace "$D" "$a" --hops 3 --json
json_check "trace --types caused stops at b" '[s["id"] for s in j] == [ids["b"]]' \
  "$L" trace "$D" "$a" --hops 3 --types caused --json
json_check "trace --types caused,refers" '[s["id"] for s in j] == [ids["b"], ids["c"]]' \
  "$L" trace "$D" "$a" --hops 3 --types caused,refers --json
json_check "trace --types repeated" '[s["id"] for s in j] == [ids["b"], ids["c"], ids["d"]]' \
  "$L" trace "$D" "$a" --hops 3 --types caused --types refers --types 1000 --json
json_check "trace --direction in" \
  '[(s["id"], s["from"], s["to"]) for s in j] == [(ids["b"], ids["b"], ids["c"])]' \
  "$L" trace "$D" "$c" --direction in --json
json_check "trace --direction both" 'sorted(s["id"] for s in j) == sorted([ids["a"], ids["c"]])' \
  "$L" trace "$D" "$b" --direction both --json
json_check "trace --direction out from c" '[s["id"] for s in j] == [ids["d"]]' \
  "$L" trace "$D" "$c" --direction out --json
json_check "trace --limit 1" '[s["id"] for s in j] == [ids["b"]]' \
  "$L" trace "$D" "$a" --hops 3 --limit 1 --json
json_check "trace of a cube without edges is empty" 'j == []' "$L" trace "$D" "$x" --json
expect_exit 0 "trace text" "$L" trace "$D" "$a" --hops 2
[ "$(wc -l <"$T/out")" -eq 2 ] && grep -q "^hop 1 id $b version 1 via $a -caused-> $b weight 2$" \
  "$T/out" && grep -q "^hop 2 id $c version 1 via $b -refers-> $c weight 0.5$" "$T/out" &&
  pass "trace text: one line per step" || fail "trace text: $(cat "$T/out")"
expect_exit 0 "trace --space of the cube's own space" "$L" trace "$D" "$a" --space s
expect_exit 1 "trace --space of another space" "$L" trace "$D" "$a" --space t
expect_err "cube $a does not exist"
expect_exit 1 "trace of an unknown cube" "$L" trace "$D" 999999

# --episode-order: steps along the episode, reported as next edges of weight 1.
json_check "trace --episode-order" \
  '[(s["id"], s["hop"], s["type"], s["weight"]) for s in j][:2] ==
   [(ids["b"], 1, "next", 1), (ids["c"], 2, "next", 1)]' \
  "$L" trace "$D" "$a" --episode-order --types 1000 --hops 2 --json

# --- episode: valid-time order, the cube itself included and marked.
json_check "episode --json: a, b, c" '[e["id"] for e in j] == [ids["a"], ids["b"], ids["c"]]
   and all(e["episode"] == "ep1" and "text" in e for e in j)' "$L" episode "$D" "$b" --json
json_check "episode --before 0" '[e["id"] for e in j] == [ids["b"], ids["c"]]' \
  "$L" episode "$D" "$b" --before 0 --json
json_check "episode --after 0" '[e["id"] for e in j] == [ids["a"], ids["b"]]' \
  "$L" episode "$D" "$b" --after 0 --json
json_check "episode --before 1 --after 0 of c" '[e["id"] for e in j] == [ids["b"], ids["c"]]' \
  "$L" episode "$D" "$c" --before 1 --after 0 --json
json_check "episode of a cube without one is the cube" '[e["id"] for e in j] == [ids["d"]]' \
  "$L" episode "$D" "$d" --json
json_check "episode stays in the cube's space" '[e["id"] for e in j] == [ids["x"]]' \
  "$L" episode "$D" "$x" --json
expect_exit 0 "episode text" "$L" episode "$D" "$b"
[ "$(wc -l <"$T/out")" -eq 3 ] && grep -q "^\* id $b v1 " "$T/out" &&
  grep -q "^  id $a v1 .* episode \"ep1\" text \"first\"$" "$T/out" &&
  [ "$(grep -c '^\* ' "$T/out")" -eq 1 ] && pass "episode text marks the cube" ||
  fail "episode text: $(cat "$T/out")"
expect_exit 1 "episode --space of another space" "$L" episode "$D" "$b" --space t

# --- events: valid_from in [from, to), valid-time order.
json_check "events in a window" '[e["id"] for e in j] == [ids["a"], ids["b"]]' \
  "$L" events "$D" --space s --from 2023-01-01T00:00:00Z --to 2023-01-03T00:00:00Z --json
json_check "events to forever" '[e["id"] for e in j] == [ids["a"], ids["b"], ids["c"], ids["d"]]' \
  "$L" events "$D" --space s --from 2023-01-01T00:00:00Z --to forever --json
json_check "events --episode" '[e["id"] for e in j] == [ids["a"], ids["b"], ids["c"]]' \
  "$L" events "$D" --space s --episode ep1 --from 2022-01-01T00:00:00Z --to forever --json
json_check "events --limit 1" '[e["id"] for e in j] == [ids["a"]]' \
  "$L" events "$D" --space s --from 2022-01-01T00:00:00Z --to forever --limit 1 --json
json_check "events --as-of before the puts" 'j == []' \
  "$L" events "$D" --space s --from 2022-01-01T00:00:00Z --to forever --as-of 0 --json
expect_exit 0 "events text" "$L" events "$D" --space s --from 2022-01-01T00:00:00Z --to forever
[ "$(wc -l <"$T/out")" -eq 4 ] &&
  head -1 "$T/out" | grep -q "^id $a v1 active valid 2023-01-01T00:00:00Z..forever tx " &&
  pass "events text: one line per event" || fail "events text: $(cat "$T/out")"

# --- update --episode moves a cube; "" takes it out. As of before the move, the old order.
# (Each update also gives the text c has: the engine refuses a patch setting only the episode
# as "nothing to change: the patch sets no field" -- its SetsNothing check omits the episode.)
t_before_move=$(now_us)
sleep 0.01
expect_exit 0 "update --episode moves c" "$L" update "$D" "$c" --episode ep2 --text third
json_check "the episode of b no longer has c" '[e["id"] for e in j] == [ids["a"], ids["b"]]' \
  "$L" episode "$D" "$b" --json
json_check "episode --as-of before the move" \
  '[e["id"] for e in j] == [ids["a"], ids["b"], ids["c"]]' \
  "$L" episode "$D" "$b" --as-of "$t_before_move" --json
json_check "events --episode ep2" '[e["id"] for e in j] == [ids["c"]]' \
  "$L" events "$D" --space s --episode ep2 --from 2022-01-01T00:00:00Z --to forever --json
expect_exit 0 "update --episode \"\" clears it" "$L" update "$D" "$c" --episode "" --text third
json_check "get after the clear" 'j["episode"] == "" and j["version"] == 3' \
  "$L" get "$D" "$c" --json
expect_exit 0 "update --episode back to ep1" "$L" update "$D" "$c" --episode ep1 --text third

# --- unlink, and reads of the edge at transaction and valid times.
e=$("$L" put "$D" --space s --text "e" --valid-from 2023-01-01T00:00:00Z) || fail "put e"
f=$("$L" put "$D" --space s --text "f" --valid-from 2023-01-01T00:00:00Z) || fail "put f"
t0=$(now_us)
sleep 0.01
"$L" link "$D" "$e" "$f" --type supersedes >/dev/null || fail "link e f"
sleep 0.01
t1=$(now_us)
sleep 0.01
expect_exit 0 "unlink e -supersedes-> f" "$L" unlink "$D" "$e" "$f" --type supersedes --space s
[ "$(cat "$T/out")" = 2 ] && pass "unlink prints the edge's version 2" ||
  fail "unlink printed $(cat "$T/out")"
sleep 0.01
t2=$(now_us)
# The ids `loci trace D e --json ARGS...` prints, or "failed" if it fails.
trace_ids() {
  local out
  out=$("$L" trace "$D" "$e" --json "$@") || { echo failed; return; }
  python3 -c '
import json, sys
print(" ".join(str(s["id"]) for s in json.load(sys.stdin)))' <<<"$out"
}
[ "$(trace_ids --as-of "$t1")" = "$f" ] && pass "trace --as-of between link and unlink: edge" ||
  fail "trace --as-of t1: '$(trace_ids --as-of "$t1")'"
[ -z "$(trace_ids --as-of "$t2")" ] && pass "trace --as-of after the unlink: no edge" ||
  fail "trace --as-of t2: '$(trace_ids --as-of "$t2")'"
[ -z "$(trace_ids)" ] && pass "trace now: no edge" || fail "trace now: '$(trace_ids)'"
[ -z "$(trace_ids --as-of "$t0" --valid-at "$t1")" ] &&
  pass "trace --as-of before the link: no edge" || fail "trace --as-of t0"
expect_exit 1 "unlink of an unlinked edge" "$L" unlink "$D" "$e" "$f" --type supersedes
expect_err "unlinked already"
expect_exit 1 "unlink of an edge never linked" "$L" unlink "$D" "$e" "$f" --type caused
expect_err "does not exist"
# An edge valid from June: seen at a valid time after, not before. (Only this type: the
# others hold, by default, from when both ends do, which is before May.)
expect_exit 0 "link --valid-from" "$L" link "$D" "$e" "$f" --type contradicts \
  --valid-from 2023-06-01T00:00:00Z
[ "$(trace_ids --types contradicts --valid-at 2023-07-01T00:00:00Z)" = "$f" ] && pass "trace --valid-at after" ||
  fail "trace --valid-at July: '$(trace_ids --types contradicts --valid-at 2023-07-01T00:00:00Z)'"
[ -z "$(trace_ids --types contradicts --valid-at 2023-05-01T00:00:00Z)" ] && pass "trace --valid-at before" ||
  fail "trace --valid-at May: '$(trace_ids --types contradicts --valid-at 2023-05-01T00:00:00Z)'"
expect_exit 0 "unlink --valid-to" "$L" unlink "$D" "$e" "$f" --type contradicts \
  --valid-to 2023-08-01T00:00:00Z
[ "$(trace_ids --types contradicts --valid-at 2023-07-01T00:00:00Z)" = "$f" ] && pass "unlinked later in valid time" ||
  fail "trace --valid-at July after unlink: '$(trace_ids --types contradicts --valid-at 2023-07-01T00:00:00Z)'"
[ -z "$(trace_ids --types contradicts --valid-at 2023-09-01T00:00:00Z)" ] && pass "not valid after --valid-to" ||
  fail "trace --valid-at September: '$(trace_ids --types contradicts --valid-at 2023-09-01T00:00:00Z)'"

# --- changes: tx_from in [from, to), commit order, retirements included.
t_changes=$(now_us)
sleep 0.01
g=$("$L" put "$D" --space s --text "g") || fail "put g"
"$L" update "$D" "$g" --text "g2" >/dev/null || fail "update g"
"$L" retire "$D" "$g" >/dev/null || fail "retire g"
"$L" put "$D" --space t --text "not in s" >/dev/null || fail "put in t"
json_check "changes: the three versions of g in commit order, tx_to as of now" \
  '[(v["id"], v["version"], v["state"]) for v in j] ==
   [(ids["g"], 1, "active"), (ids["g"], 2, "active"), (ids["g"], 3, "retired")]
   and j[0]["tx_to"] is not None and j[2]["tx_to"] is None' \
  "$L" changes "$D" --space s --from "$t_changes" --to forever --json
json_check "changes --limit 2" '[v["version"] for v in j] == [1, 2]' \
  "$L" changes "$D" --space s --from "$t_changes" --to forever --limit 2 --json
c_versions=$("$L" changes "$D" --space s --from "$t_before_links" --to "$t_changes" --json |
  python3 -c '
import json, sys
print(" ".join("%d:%d" % (v["id"], v["version"]) for v in json.load(sys.stdin)))')
[ "$c_versions" = "$c:2 $c:3 $c:4 $e:1 $f:1" ] && pass "changes in an earlier window" ||
  fail "changes between the links and g: '$c_versions'"
expect_exit 0 "changes text" "$L" changes "$D" --space s --from "$t_changes" --to forever
[ "$(wc -l <"$T/out")" -eq 3 ] && tail -1 "$T/out" | grep -q "^id $g v3 retired " &&
  pass "changes text: one line per version" || fail "changes text: $(cat "$T/out")"

# --- list: increasing ids, pages, as-of, valid-at.
json_check "list: the visible cubes of s by id" \
  '[v["id"] for v in j] == sorted([ids[n] for n in "abcdef"])' \
  "$L" list "$D" --space s --json
json_check "list --limit 2" '[v["id"] for v in j] == [ids["a"], ids["b"]]' \
  "$L" list "$D" --space s --limit 2 --json
json_check "list --after the page's last id" '[v["id"] for v in j] == [ids["c"], ids["d"]]' \
  "$L" list "$D" --space s --limit 2 --after "$b" --json
json_check "list --as-of before the links: a..d" \
  '[v["id"] for v in j] == [ids["a"], ids["b"], ids["c"], ids["d"]]' \
  "$L" list "$D" --space s --as-of "$t_before_links" --json
json_check "list --valid-at before b was valid" '[v["id"] for v in j] == [ids["a"]]' \
  "$L" list "$D" --space s --as-of "$t_before_links" --valid-at 2023-01-01T12:00:00Z --json
json_check "list of the other space" '[v["id"] for v in j][:1] == [ids["x"]]' \
  "$L" list "$D" --space t --json
expect_exit 0 "list text" "$L" list "$D" --space s --limit 2
[ "$(wc -l <"$T/out")" -eq 2 ] && pass "list text: one line per cube" ||
  fail "list text: $(cat "$T/out")"

# --- wal-dump shows edges; everything survives a checkpoint and a reopen.
"$L" wal-dump "$D" >"$T/wal" || fail "wal-dump"
grep -q "edges \[$a -caused-> $b v1\]" "$T/wal" &&
  grep -q "edges \[$e -supersedes-> $f v2 unlinked\]" "$T/wal" &&
  pass "wal-dump shows links and unlinks" || fail "wal-dump: $(grep edges "$T/wal")"
expect_exit 0 "checkpoint" "$L" checkpoint "$D"
json_check "trace after the checkpoint" '[s["id"] for s in j] == [ids["b"], ids["c"], ids["d"]]' \
  "$L" trace "$D" "$a" --hops 3 --json
json_check "episode after the checkpoint" '[e["id"] for e in j] == [ids["a"], ids["b"], ids["c"]]' \
  "$L" episode "$D" "$b" --json
expect_exit 0 "check" "$L" check "$D"

# --- help lists every command and its options.
expect_exit 0 "--help" "$L" --help
for cmd in link unlink trace episode events changes list; do
  grep -Eq "^ +$cmd( |$)" "$T/out" && pass "--help lists $cmd" || fail "--help lacks $cmd"
done
for cmd in link unlink trace episode events changes list; do
  expect_exit 0 "$cmd --help" "$L" "$cmd" --help
done
"$L" trace --help | grep -q -- "--episode-order" && pass "trace --help lists --episode-order" ||
  fail "trace --help"
"$L" put --help | grep -q -- "--episode" && pass "put --help lists --episode" || fail "put --help"
"$L" update --help | grep -q -- "--episode" && pass "update --help lists --episode" ||
  fail "update --help"

# --- bad input: exit 1, one line.
expect_exit 1 "link with an unknown type" "$L" link "$D" "$a" "$b" --type bogus
expect_err "unknown edge type 'bogus'"
expect_exit 1 "link with a reserved code" "$L" link "$D" "$a" "$b" --type 7
expect_exit 1 "link with a built-in code" "$L" link "$D" "$a" "$b" --type 2
expect_exit 1 "link with code 999" "$L" link "$D" "$a" "$b" --type 999
expect_exit 1 "link with type 0" "$L" link "$D" "$a" "$b" --type 0
expect_exit 1 "link without --type" "$L" link "$D" "$a" "$b"
expect_exit 1 "unlink with an unknown type" "$L" unlink "$D" "$a" "$b" --type nope
expect_exit 1 "link with a malformed FROM" "$L" link "$D" 1x "$b" --type caused
expect_err "FROM"
expect_exit 1 "link with a malformed weight" "$L" link "$D" "$a" "$b" --type caused --weight heavy
expect_exit 1 "link with a NaN weight" "$L" link "$D" "$a" "$b" --type caused --weight nan
expect_exit 1 "link with an infinite weight" "$L" link "$D" "$a" "$b" --type caused --weight inf
expect_exit 1 "link with a malformed --valid-from" "$L" link "$D" "$a" "$b" --type caused \
  --valid-from yesterday
expect_exit 1 "link of a cube to itself" "$L" link "$D" "$a" "$a" --type caused
expect_exit 1 "link across spaces" "$L" link "$D" "$a" "$x" --type caused
expect_exit 1 "link to an unknown cube" "$L" link "$D" "$a" 999999 --type caused
expect_exit 1 "link --space of another space" "$L" link "$D" "$a" "$b" --type caused --space t
expect_exit 1 "trace --hops 0" "$L" trace "$D" "$a" --hops 0
expect_err "hops 0 is out of range \(1 to 8\)"
expect_exit 1 "trace --hops 9" "$L" trace "$D" "$a" --hops 9
expect_exit 1 "trace --hops -1" "$L" trace "$D" "$a" --hops -1
expect_exit 1 "trace --hops huge" "$L" trace "$D" "$a" --hops 99999999999
expect_exit 1 "trace --limit 0" "$L" trace "$D" "$a" --limit 0
expect_exit 1 "trace --limit 10001" "$L" trace "$D" "$a" --limit 10001
expect_exit 1 "trace with an unknown type" "$L" trace "$D" "$a" --types caused,bogus
expect_exit 1 "trace with an empty type" "$L" trace "$D" "$a" --types ""
expect_exit 1 "trace with a bad direction" "$L" trace "$D" "$a" --direction sideways
expect_err "direction"
expect_exit 1 "trace with a malformed id" "$L" trace "$D" abc
expect_exit 1 "trace with a malformed --as-of" "$L" trace "$D" "$a" --as-of never
expect_exit 1 "episode --before 1001" "$L" episode "$D" "$b" --before 1001
expect_exit 1 "episode --after 1001" "$L" episode "$D" "$b" --after 1001
expect_exit 0 "episode --before 1000 --after 1000" "$L" episode "$D" "$b" --before 1000 --after 1000
expect_exit 1 "episode of an unknown cube" "$L" episode "$D" 999999
expect_exit 1 "events with from = to" "$L" events "$D" --space s --from 2023-01-01T00:00:00Z \
  --to 2023-01-01T00:00:00Z
expect_err "empty time window"
expect_exit 1 "events with from > to" "$L" events "$D" --space s --from 2023-02-01T00:00:00Z \
  --to 2023-01-01T00:00:00Z
expect_exit 1 "events without --from" "$L" events "$D" --space s --to forever
expect_exit 1 "events without --space" "$L" events "$D" --from 0 --to forever
expect_exit 1 "events of an unknown space" "$L" events "$D" --space nope --from 0 --to forever
expect_exit 1 "events --limit 0" "$L" events "$D" --space s --from 0 --to forever --limit 0
expect_exit 1 "events --limit 10001" "$L" events "$D" --space s --from 0 --to forever --limit 10001
expect_exit 1 "events --from forever" "$L" events "$D" --space s --from forever --to forever
expect_exit 1 "events with a malformed --to" "$L" events "$D" --space s --from 0 --to later
expect_exit 1 "changes with from = to" "$L" changes "$D" --space s --from 5 --to 5
expect_exit 1 "changes with from > to" "$L" changes "$D" --space s --from 6 --to 5
expect_exit 1 "changes --limit 10001" "$L" changes "$D" --space s --from 0 --to forever \
  --limit 10001
expect_exit 1 "changes of an unknown space" "$L" changes "$D" --space nope --from 0 --to forever
expect_exit 1 "list --limit 0" "$L" list "$D" --space s --limit 0
expect_exit 1 "list --limit 10001" "$L" list "$D" --space s --limit 10001
expect_exit 1 "list --after abc" "$L" list "$D" --space s --after abc
expect_exit 1 "list of an unknown space" "$L" list "$D" --space nope
expect_err "space 'nope' does not exist"
expect_exit 1 "list without --space" "$L" list "$D"
expect_exit 1 "link on a database that does not exist" "$L" link "$T/nothing" 1 2 --type caused
expect_exit 1 "trace on a database that does not exist" "$L" trace "$T/nothing" 1
[ "$("$L" history "$D" "$a" --json | grep -o '"version"' | wc -l)" -eq 1 ] &&
  pass "no refused link wrote a cube version" || fail "history of a changed"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS: trace_cli_test"
