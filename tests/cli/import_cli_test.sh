#!/bin/bash
# End-to-end tests of loci import (JSON Lines of cubes and edges, refs within and across
# batches, stdin, --json, a bad line stopping the import with the lines before it committed,
# every bad line refused as "line N: ..."), fuse and provenance (trees, cycles, depth), and
# search --window/--expand (hop and via). Every failure is exit 1 with one stderr line.
# Usage: import_cli_test.sh PATH/TO/loci
set -u
L=${1:?usage: import_cli_test.sh PATH/TO/loci}
# shellcheck source=cli_check_lib.sh
source "$(dirname "$0")/cli_check_lib.sh"

now_us() { echo $(($(date +%s%N) / 1000)); }

D=$T/db
"$L" init "$D" >/dev/null || fail "init"

# --- import: refs, parents, edges, every cube key, one batch.
cat >"$T/in.jsonl" <<'JSONL'
{"ref": "a", "space": "s", "text": "alpha", "episode": "ep", "valid_from": "2023-01-01T00:00:00Z", "vectors": {"v": [1, 0, 0]}, "metric": "l2", "attrs": {"n": 3, "x": 2.5, "ok": true, "w": "word"}}
{"ref": "b", "space": "s", "payload_base64": "AAH/", "parents": ["a"], "kind": "activation", "state": "archived", "importance": 0.5, "trust": 0.25, "source": "src", "agent": "bot", "valid_to": null, "expires_at": "2999-01-01T00:00:00Z", "episode": "ep", "valid_from": "2023-01-02T00:00:00Z"}

{"edge": {"from": "b", "to": "a", "type": "derived_from", "weight": 0.5}}
{"ref": "c", "space": "s", "text": "gamma", "parents": ["a", "b"], "vectors": {"v": [0, 1, 0]}, "episode": "ep", "valid_from": "2023-01-03T00:00:00Z"}
{"edge": {"from": "c", "to": "a", "type": "caused", "valid_from": "2023-01-01T00:00:00Z"}}
{"space": "s", "text": "anonymous", "kind": 1000}
JSONL
expect_exit 0 "import a file" "$L" import "$D" "$T/in.jsonl"
[ "$(cat "$T/out")" = "imported 4 cube(s) and 2 edge(s) from 7 line(s)" ] &&
  pass "import prints what it committed" || fail "import printed $(cat "$T/out")"
a=$("$L" list "$D" --space s --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
b=$((a + 1)) c=$((a + 2)) d=$((a + 3))
json_check "import: cube a with its attrs, vector, episode and valid_from" \
  'j["text"] == "alpha" and j["attrs"] == {"n": 3, "x": 2.5, "ok": True, "w": "word"}
   and j["vectors"] == {"v": [1, 0, 0]} and j["episode"] == "ep"
   and j["valid_from"] == "2023-01-01T00:00:00Z"' "$L" get "$D" "$a" --json
json_check "import: cube b with its payload, parents and every scalar key" \
  'j["payload_base64"] == "AAH/" and j["parents"] == [ids["a"]] and j["kind"] == "activation"
   and j["state"] == "archived" and j["importance"] == 0.5 and j["trust"] == 0.25
   and j["source"] == "src" and j["agent"] == "bot" and j["valid_to"] is None
   and j["expires_at"] == "2999-01-01T00:00:00Z"' "$L" get "$D" "$b" --json
json_check "import: the parents of c are refs of earlier lines" \
  'j["parents"] == [ids["a"], ids["b"]] and j["kind"] == "plaintext"' "$L" get "$D" "$c" --json
json_check "import: an anonymous cube with an application kind" 'j["kind"] == "1000"' \
  "$L" get "$D" "$d" --json
json_check "import: the edges (trace c, b)" \
  '[(s["id"], s["type"]) for s in j] == [(ids["a"], "caused")]' "$L" trace "$D" "$c" --json
json_check "import: the derived_from edge with its weight" \
  '[(s["id"], s["type"], s["weight"]) for s in j] == [(ids["a"], "derived_from", 0.5)]' \
  "$L" trace "$D" "$b" --json
"$L" info "$D" | grep -q "s/v dim 3 l2" && pass "import: metric defines the field" ||
  fail "import metric: $("$L" info "$D" | grep field)"

# --- import --json --batch 1 from stdin: refs across batches, {"ref", "id"} per cube.
printf '%s\n' '{"ref": "p", "space": "s", "text": "p"}' \
  '{"ref": "q", "space": "s", "text": "q", "parents": ["p", '"$a"']}' \
  '{"edge": {"from": "q", "to": "p", "type": 1000}}' '{"space": "s", "text": "r"}' |
  "$L" import "$D" - --json --batch 1 >"$T/ids" 2>"$T/err"
[ $? -eq 0 ] && [ ! -s "$T/err" ] && pass "import from stdin" || fail "stdin import: $(cat "$T/err")"
python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["ref"] for r in rows] == ["p", "q", None], rows
assert all(list(r) == ["ref", "id"] for r in rows)
assert rows[1]["id"] == rows[0]["id"] + 1' "$T/ids" && pass "import --json prints one {ref, id} a line" ||
  fail "import --json: $(cat "$T/ids")"
p=$(head -1 "$T/ids" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
q=$((p + 1))
f=$p g=$q json_check "import --batch 1: a ref of an earlier batch" \
  'j["parents"] == [ids["f"], ids["a"]]' "$L" get "$D" "$q" --json
f=$p json_check "import --batch 1: an edge across batches" \
  '[(s["id"], s["type"]) for s in j] == [(ids["f"], "1000")]' "$L" trace "$D" "$q" --json

# --- a bad line in the middle: the lines before it stay committed, and are counted.
count_s() { "$L" list "$D" --space s --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
before=$(count_s)
printf '%s\n' '{"ref": "m1", "space": "s", "text": "m1"}' '{"ref": "m2", "space": "s", "text": "m2"}' \
  '{"edge": {"from": "m2", "to": "m1", "type": "refers"}}' '{"ref": "m3", "space": "s", "bogus": 1}' \
  '{"ref": "m4", "space": "s", "text": "never"}' >"$T/bad.jsonl"
expect_exit 1 "import stops at a bad line" "$L" import "$D" "$T/bad.jsonl" --batch 10
expect_err '^loci: import: line 4: unknown key "bogus" \(2 cube\(s\) and 1 edge\(s\) committed before it\)$'
[ "$(count_s)" -eq $((before + 2)) ] && pass "the lines before the bad one are committed" ||
  fail "after the bad line: $(count_s) cubes, expected $((before + 2))"
# The engine refuses a line in the middle of a batch: the batch is committed line by line up
# to it (a 2-d vector into the 3-d field v).
before=$(count_s)
printf '%s\n' '{"space": "s", "text": "n1"}' '{"space": "s", "text": "n2", "vectors": {"v": [1, 2]}}' \
  '{"space": "s", "text": "n3"}' >"$T/bad2.jsonl"
expect_exit 1 "import stops at a line the engine refuses" "$L" import "$D" "$T/bad2.jsonl"
expect_err '^loci: import: line 2: .*dimension 3.*\(1 cube\(s\) and 0 edge\(s\) committed before it\)$'
[ "$(count_s)" -eq $((before + 1)) ] && pass "the line before the refused one is committed" ||
  fail "after the refused line: $(count_s) cubes, expected $((before + 1))"

# --- import: every bad line is "line N: ...", exit 1, one stderr line; line 1 is good.
bad_line() {
  local what=$1 line=$2 pattern=$3
  printf '%s\n' '{"ref": "ok1", "space": "s", "text": "ok"}' "$line" >"$T/one.jsonl"
  expect_exit 1 "import: $what" "$L" import "$D" "$T/one.jsonl"
  expect_err "^loci: import: line 2: .*$pattern"
}
# Each bad_line commits its good line 1 ("ok1"), so later lines may use the ref only there.
bad_line "malformed JSON" '{"space": "s",' "malformed JSON"
bad_line "not an object" '[1, 2]' "expected a JSON object, not array"
bad_line "an unknown key" '{"space": "s", "colour": "red"}' 'unknown key "colour"'
bad_line "an unknown edge key" '{"edge": {"from": 1, "to": 2, "type": "caused", "w": 1}}' \
  '"edge": unknown key "w"'
bad_line "an edge line with another key" '{"edge": {"from": 1, "to": 2, "type": "caused"}, "x": 1}' \
  'an edge line has the one key "edge"'
bad_line "an undefined ref" '{"space": "s", "parents": ["nope"]}' \
  'parents\[0\]: ref "nope" is not defined on an earlier line'
bad_line "an undefined edge ref" '{"edge": {"from": "ok1", "to": "nope", "type": "caused"}}' \
  'edge.to: ref "nope" is not defined'
bad_line "a duplicate ref" '{"ref": "ok1", "space": "s"}' 'ref "ok1" is already defined on line 1'
bad_line "a string importance" '{"space": "s", "importance": "high"}' \
  '"importance": expected a number, not string'
bad_line "a numeric space" '{"space": 5}' '"space": expected a string, not number'
bad_line "parents not an array" '{"space": "s", "parents": "a"}' '"parents": expected'
bad_line "a fractional id" '{"space": "s", "parents": [1.5]}' '"parents\[0\]": expected'
bad_line "an id with the placeholder bit" '{"space": "s", "parents": [9223372036854775809]}' \
  'out of range'
bad_line "a vector of strings" '{"space": "s", "vectors": {"v": ["1"]}}' '"vectors.v": expected'
bad_line "an attribute array" '{"space": "s", "attrs": {"k": [1]}}' '"attrs.k": expected'
bad_line "a malformed time" '{"space": "s", "valid_from": "yesterday"}' '"valid_from": invalid time'
bad_line "bad base64" '{"space": "s", "payload_base64": "A"}' '"payload_base64": not base64'
bad_line "text and payload_base64" '{"space": "s", "text": "a", "payload_base64": ""}' 'not both'
bad_line "no space" '{"text": "a"}' 'a cube needs "space"'
bad_line "an unknown kind" '{"space": "s", "kind": "bogus"}' '"kind"'
bad_line "an unknown state" '{"space": "s", "state": "retired"}' '"state"'
bad_line "an unknown metric" '{"space": "s", "metric": "manhattan", "vectors": {"v": [1, 0, 0]}}' \
  '"metric"'
bad_line "an edge without type" '{"edge": {"from": 1, "to": 2}}' '"edge" needs "type"'
bad_line "an unknown edge type" '{"edge": {"from": 1, "to": 2, "type": "likes"}}' \
  "unknown edge type 'likes'"
bad_line "an edge to a missing cube" '{"edge": {"from": "ok1", "to": 999999, "type": "caused"}}' \
  'does not exist'
bad_line "an empty space" '{"space": ""}' ''
expect_exit 1 "import --batch 0" "$L" import "$D" "$T/in.jsonl" --batch 0
expect_exit 1 "import of a missing file" "$L" import "$D" "$T/missing.jsonl"
expect_exit 1 "import into a missing database" "$L" import "$T/nothing" "$T/in.jsonl"
expect_exit 1 "import without FILE" "$L" import "$D"

# --- fuse: the parents and derived_from edges, --space, --episode, --attr; provenance.
expect_exit 0 "fuse a and b" "$L" fuse "$D" "$a" "$c" --text "summary" --attr topic=sum \
  --episode ep2
fz=$(cat "$T/out")
f=$fz json_check "fuse: the fused ids are the parents" \
  'j["parents"] == [ids["a"], ids["c"]] and j["text"] == "summary"
   and j["attrs"] == {"topic": "sum"} and j["episode"] == "ep2"' "$L" get "$D" "$fz" --json
f=$fz json_check "fuse: a derived_from edge to each" \
  'sorted((s["id"], s["type"]) for s in j) == sorted([(ids["a"], "derived_from"), (ids["c"], "derived_from")])' \
  "$L" trace "$D" "$fz" --json
expect_exit 0 "fuse --space of the ids' space" "$L" fuse "$D" "$b" --space s --text one
expect_exit 1 "fuse --space of another space" "$L" fuse "$D" "$a" "$b" --space t --text x
expect_err "does not exist"
expect_exit 1 "fuse of a repeated id" "$L" fuse "$D" "$a" "$a" --text x
expect_err "fused twice"
expect_exit 1 "fuse of a missing cube" "$L" fuse "$D" "$a" 999999 --text x
expect_exit 1 "fuse without ids" "$L" fuse "$D" --text x
expect_exit 1 "fuse with a malformed id" "$L" fuse "$D" 1x --text x
expect_exit 1 "fuse with --parent" "$L" fuse "$D" "$a" --text x --parent "$b"
expect_exit 1 "fuse with a malformed --attr" "$L" fuse "$D" "$a" --text x --attr novalue

# provenance of the fused cube: a and c, c's parents a and b, b derived from a.
f=$fz json_check "provenance --json: the nested tree" \
  'j["id"] == ids["f"] and j["relation"] == "" and not j["cycle"] and not j["truncated"]
   and [(s["id"], s["relation"]) for s in j["sources"]] ==
       [(ids["a"], "parent+derived_from"), (ids["c"], "parent+derived_from")]
   and [(s["id"], s["relation"]) for s in j["sources"][1]["sources"]] ==
       [(ids["a"], "parent"), (ids["b"], "parent")]
   and all(list(n) == ["id", "version", "relation", "cycle", "truncated", "sources"]
           for n in [j] + j["sources"])' \
  "$L" provenance "$D" "$fz" --json
f=$fz json_check "provenance --depth 1: c is truncated" \
  '[s["truncated"] for s in j["sources"]] == [False, True]
   and all(s["sources"] == [] for s in j["sources"])' "$L" provenance "$D" "$fz" --depth 1 --json
expect_exit 0 "provenance text" "$L" provenance "$D" "$fz" --depth 2
[ "$(head -1 "$T/out")" = "id $fz v1" ] && grep -q "^  id $c v1 parent+derived_from$" "$T/out" &&
  grep -q "^    id $b v1 parent (more...)$" "$T/out" && pass "provenance text: an indented tree" ||
  fail "provenance text: $(cat "$T/out")"
# A cycle: b derived from a (edge), a derived from b.
expect_exit 0 "link a -derived_from-> b" "$L" link "$D" "$a" "$b" --type derived_from
expect_exit 0 "provenance of a cycle" "$L" provenance "$D" "$a" --depth 5
grep -q "^    id $a v1 .*(cycle)$" "$T/out" && pass "provenance text marks the cycle" ||
  fail "provenance cycle: $(cat "$T/out")"
json_check "provenance --json: cycle" 'j["sources"][0]["sources"][0]["cycle"]' \
  "$L" provenance "$D" "$a" --depth 5 --json
expect_exit 0 "provenance --space" "$L" provenance "$D" "$a" --space s
expect_exit 1 "provenance --space of another space" "$L" provenance "$D" "$a" --space t
expect_exit 0 "provenance --as-of --valid-at" "$L" provenance "$D" "$a" --as-of "$(now_us)" \
  --valid-at 2023-06-01T00:00:00Z
expect_exit 1 "provenance --as-of before the cube" "$L" provenance "$D" "$a" --as-of 0
expect_exit 1 "provenance --depth 0" "$L" provenance "$D" "$a" --depth 0
expect_err "depth 0 is out of range \(1 to 16\)"
expect_exit 1 "provenance --depth 17" "$L" provenance "$D" "$a" --depth 17
expect_exit 1 "provenance of a missing cube" "$L" provenance "$D" 999999
expect_exit 1 "provenance with a malformed id" "$L" provenance "$D" x1
expect_exit 1 "provenance with a malformed --valid-at" "$L" provenance "$D" "$a" --valid-at soon

# --- search --window and --expand: hop and via in JSON and text.
S="$L search $D --space s --field v --vector 1,0,0 --k 1"
json_check "search: direct hits have hop 0 and via null" \
  '[(h["id"], h["hop"], h["via"]) for h in j] == [(ids["a"], 0, None)]
   and list(j[0]) == ["id", "version", "score", "space", "hop", "via"]' $S --json
json_check "search --expand 1: the neighbours with hop and via" \
  'j[0]["id"] == ids["a"] and len(j) == 2 and j[1]["hop"] == 1
   and set(j[1]["via"]) == {"type", "from", "to", "weight"}
   and ids["a"] in (j[1]["via"]["from"], j[1]["via"]["to"])' $S --expand 1 --json
json_check "search --expand-types caused: c by its caused edge" \
  '[(h["id"], h["hop"], h["via"]["type"] if h["via"] else None) for h in j] ==
   [(ids["a"], 0, None), (ids["c"], 1, "caused")]' $S --expand 1 --expand-types caused --json
json_check "search --expand-episode --expand-episode-only: b by the episode order" \
  '[(h["id"], h["via"]["type"] if h["via"] else None) for h in j] ==
   [(ids["a"], None), (ids["b"], "next")]' \
  $S --expand 1 --expand-episode --expand-episode-only --valid-at 2023-01-05T00:00:00Z --json
json_check "search --expand 2 --expand-limit 3" 'len(j) == 4 and max(h["hop"] for h in j) <= 2' \
  $S --expand 2 --expand-limit 3 --expand-decay 0.9 --json
expect_exit 0 "search --expand text" $S --expand 1 --expand-types caused
grep -Eq "^$c +1 +[^ ]+ +s  hop 1 via $c -caused-> $a weight 1$" "$T/out" &&
  pass "search text shows hop and via" || fail "search text: $(cat "$T/out")"
json_check "search --window before a was valid: nothing" 'j == []' \
  $S --window 2022-01-01T00:00:00Z,2022-06-01T00:00:00Z --json
json_check "search --window with an open TO" '[h["id"] for h in j] == [ids["a"]]' \
  $S --window 2022-01-01T00:00:00Z, --json
json_check "search --window with an open FROM" '[h["id"] for h in j] == [ids["a"]]' \
  $S --window ,2023-01-02T00:00:00Z --json
json_check "search --window open at both ends" '[h["id"] for h in j] == [ids["a"]]' \
  $S --window , --json
expect_exit 1 "search --expand 9" $S --expand 9
expect_err "expand 9 is out of range \(0 to 8\)"
expect_exit 1 "search --expand -1" $S --expand -1
expect_exit 1 "search --expand-types with an unknown type" $S --expand 1 --expand-types caused,bogus
expect_err "unknown edge type 'bogus'"
expect_exit 1 "search --expand-types without --expand" $S --expand-types caused
expect_exit 1 "search --expand-episode-only without --expand-episode" $S --expand 1 \
  --expand-episode-only
expect_exit 1 "search --expand-decay 0" $S --expand 1 --expand-decay 0
expect_exit 1 "search --expand-decay 1.5" $S --expand 1 --expand-decay 1.5
expect_exit 1 "search --expand-limit 1001" $S --expand 1 --expand-limit 1001
expect_exit 1 "search --window from = to" $S --window 2023-01-01T00:00:00Z,2023-01-01T00:00:00Z
expect_err "empty time window"
expect_exit 1 "search --window from > to" $S --window 2024-01-01T00:00:00Z,2023-01-01T00:00:00Z
expect_exit 1 "search --window with --valid-at" $S --window 2023-01-01T00:00:00Z, --valid-at 0
expect_err "replaces --valid-at"
expect_exit 1 "search --window without a comma" $S --window 2023-01-01T00:00:00Z
expect_exit 1 "search --window with two commas" $S --window 1,2,3
expect_exit 1 "search --window with a malformed time" $S --window yesterday,
expect_exit 1 "search --window from forever" $S --window forever,

# --- help lists the new commands and options.
expect_exit 0 "--help" "$L" --help
cp "$T/out" "$T/help"
for cmd in fuse provenance import; do
  grep -Eq "^ +$cmd( |$)" "$T/help" && pass "--help lists $cmd" || fail "--help lacks $cmd"
  expect_exit 0 "$cmd --help" "$L" "$cmd" --help
done
"$L" search --help | grep -q -- "--window" && "$L" search --help | grep -q -- "--expand-types" &&
  pass "search --help lists --window and --expand-types" || fail "search --help"
expect_exit 0 "check" "$L" check "$D"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS: import_cli_test"
