#!/bin/bash
# End-to-end tests of the loci CLI beyond the shared contract (cli-contract.sh): JSON output is
# valid, exit codes and one-line errors (said once, without a repeated prefix), check and
# wal-dump on damaged files, salvage, binary payloads, history order, --metric, drop-field, init
# on an existing database, --space on the commands that name a cube, values that must not be misread
# (huge integers, overflowing vectors) and names that must not forge output lines.
# Usage: cli_test.sh PATH/TO/loci
set -u
L=${1:?usage: cli_test.sh PATH/TO/loci}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_exit CODE DESCRIPTION CMD...: runs CMD, checks its exit code and that a failure
# printed exactly one line on stderr.
expect_exit() {
  local want=$1 what=$2
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, expected $want (stderr: $(cat "$T/err"))"
    return
  fi
  if [ "$want" -ne 0 ] && [ "$(wc -l <"$T/err")" -ne 1 ]; then
    fail "$what: stderr is not one line: $(cat "$T/err")"
    return
  fi
  # "loci: <command>: " is said once: engine messages do not repeat the command.
  if [ "$want" -ne 0 ] && grep -Eq '^loci: ([a-z-]+): \1: ' "$T/err"; then
    fail "$what: the error repeats its prefix: $(cat "$T/err")"
    return
  fi
  pass "$what (exit $got)"
}

is_json() { python3 -m json.tool >/dev/null 2>&1; }

D=$T/db
expect_exit 0 "init" "$L" init "$D"
expect_exit 1 "init of an existing database fails" "$L" init "$D"

id=$("$L" put "$D" --space alice --text "v1 text" --vector e=0.1,0.2,0.3 --attr topic=drinks \
  --attr n=3 --valid-from 2023-05-08T13:56:00Z) || fail "put"
"$L" update "$D" "$id" --text "v2 text" >/dev/null || fail "update to v2"
"$L" update "$D" "$id" --text "v3 text" --remove-attr n >/dev/null || fail "update to v3"

# JSON validity.
"$L" get "$D" "$id" --json | is_json && pass "get --json is valid JSON" || fail "get --json"
"$L" history "$D" "$id" --json | is_json && pass "history --json is valid JSON" ||
  fail "history --json"
"$L" info "$D" --json | is_json && pass "info --json is valid JSON" || fail "info --json"

# History order: versions 1, 2, 3, oldest first, with their texts.
order=$("$L" history "$D" "$id" --json | python3 -c '
import json, sys
print(" ".join("%d:%s" % (v["version"], v["text"]) for v in json.load(sys.stdin)))')
[ "$order" = "1:v1 text 2:v2 text 3:v3 text" ] && pass "history is oldest first" ||
  fail "history order: $order"

# Typed attributes and removed ones.
attrs=$("$L" get "$D" "$id" --json | python3 -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["attrs"], sort_keys=True))')
[ "$attrs" = '{"topic": "drinks"}' ] && pass "--remove-attr drops the attribute" ||
  fail "attrs after --remove-attr: $attrs"
n=$("$L" get "$D" "$id" --as-of 0 --json 2>/dev/null)
[ -z "$n" ] || fail "get --as-of 0 printed something"

# Exit codes.
expect_exit 1 "get of an unknown id" "$L" get "$D" 999999
expect_exit 1 "get of a malformed id" "$L" get "$D" 12abc
expect_exit 1 "a malformed --as-of time" "$L" get "$D" "$id" --as-of 2023-13-01T00:00:00Z
expect_exit 1 "trailing junk after a time" "$L" get "$D" "$id" --valid-at 2023-05-08T00:00:00Zx
expect_exit 1 "an unknown option" "$L" get "$D" "$id" --bogus
expect_exit 1 "a missing argument" "$L" put "$D"
expect_exit 1 "an unknown command" "$L" frobnicate "$D"
expect_exit 1 "a malformed vector number" "$L" put "$D" --space alice --vector e=1,2x,3
expect_exit 1 "a database that does not exist" "$L" info "$T/nothing-here"
expect_exit 0 "--help" "$L" --help
expect_exit 0 "put --help" "$L" put --help

# --metric l2 creates an l2 field; a different metric for an existing field is refused.
"$L" put "$D" --space bob --text x --vector m=1,2 --metric l2 >/dev/null || fail "put --metric l2"
metric=$("$L" info "$D" --json | python3 -c '
import json, sys
print([f["metric"] for f in json.load(sys.stdin)["vector_fields"]
       if f["space"] == "bob" and f["name"] == "m"])')
[ "$metric" = "['l2']" ] && pass "--metric l2 created an l2 field" || fail "field metric: $metric"
expect_exit 1 "--metric ip on an l2 field" "$L" put "$D" --space bob --vector m=1,2 --metric ip
expect_exit 0 "--metric l2 on the l2 field" "$L" put "$D" --space bob --vector m=3,4 --metric l2

# Binary payload round trip through --payload-file and payload_base64.
printf '\x00\x01\xff\xfe binary \x80\n' >"$T/blob.bin"
bid=$("$L" put "$D" --space alice --payload-file "$T/blob.bin") || fail "put --payload-file"
"$L" get "$D" "$bid" --json | python3 -c '
import base64, json, sys
cube = json.load(sys.stdin)
data = base64.b64decode(cube["payload_base64"])
sys.exit(0 if "text" not in cube and data == open(sys.argv[1], "rb").read()
         and cube["payload_size"] == len(data) else 1)' "$T/blob.bin" &&
  pass "binary --payload-file round trip" || fail "binary payload round trip"

# wal-dump lists every put (versions 1) and update.
"$L" wal-dump "$D" >"$T/wal" || fail "wal-dump on a healthy database"
puts=$(grep -c 'type batch.* v1 ' "$T/wal")
[ "$puts" -eq 4 ] && pass "wal-dump lists the 4 puts" || fail "wal-dump shows $puts puts"
grep -q "id $id v3 alice active" "$T/wal" && pass "wal-dump shows the updates" ||
  fail "wal-dump lacks version 3"
expect_exit 0 "check on a healthy database" "$L" check "$D"

# search: nearest first, JSON array of {id, version, score}, filters, and clear errors.
S="$T/search-db"
"$L" init "$S" >/dev/null || fail "init for search"
near=$("$L" put "$S" --space s --vector v=1,0,0 --metric l2 --attr topic=a) || fail "put near"
"$L" put "$S" --space s --vector v=0,1,0 --attr topic=b >/dev/null || fail "put far"
"$L" put "$S" --space other --vector v=1,0,0 --metric l2 >/dev/null || fail "put other space"
"$L" search "$S" --space s --field v --vector 0.9,0.1,0 --json | python3 -c '
import json, sys
hits = json.load(sys.stdin)
sys.exit(0 if [h["id"] for h in hits] == [int(sys.argv[1]), int(sys.argv[1]) + 1]
         and all(set(h) >= {"id", "version", "score"} for h in hits)
         and hits[0]["score"] <= hits[1]["score"] else 1)' "$near" &&
  pass "search --json: nearest first, other spaces left out" || fail "search --json"
"$L" search "$S" --space s --field v --vector 1,0,0 --attr topic=b --json | python3 -c '
import json, sys
hits = json.load(sys.stdin)
sys.exit(0 if len(hits) == 1 and hits[0]["id"] == int(sys.argv[1]) + 1 else 1)' "$near" &&
  pass "search --attr filters inside the scan" || fail "search --attr"
# Ranking by importance and recency.
plain=$("$L" put "$S" --space r --vector v=1,0 --valid-from 2020-01-01T00:00:00Z) || fail "put plain"
vital=$("$L" put "$S" --space r --vector v=1,0 --importance 1 --valid-from 2020-01-01T00:00:00Z) ||
  fail "put vital"
"$L" search "$S" --space r --field v --vector 1,0 --importance-weight 2 --json | python3 -c '
import json, sys
hits = json.load(sys.stdin)
sys.exit(0 if [h["id"] for h in hits] == [int(sys.argv[1]), int(sys.argv[2])]
         and abs(hits[0]["score"] - 3) < 1e-4 else 1)' "$vital" "$plain" &&
  pass "search --importance-weight: the important cube first, its score x 3" ||
  fail "search --importance-weight"
"$L" search "$S" --space r --field v --vector 1,0 --recency-weight 1 --half-life 30d --json |
  python3 -c '
import json, sys
hits = json.load(sys.stdin)
sys.exit(0 if len(hits) == 2 and all(h["score"] < 1e-3 for h in hits) else 1)' &&
  pass "search --recency-weight --half-life: years-old memories fade" ||
  fail "search --recency-weight"
expect_exit 1 "search --half-life without --recency-weight" \
  "$L" search "$S" --space r --field v --vector 1,0 --half-life 30d
expect_exit 1 "search --half-life that is no duration" \
  "$L" search "$S" --space r --field v --vector 1,0 --recency-weight 1 --half-life 30x
grep -q "is not a duration" "$T/err" && pass "the bad duration is named" ||
  fail "bad duration error: $(cat "$T/err")"
expect_exit 1 "search --recency-weight above 1" \
  "$L" search "$S" --space r --field v --vector 1,0 --recency-weight 2
printf '1 0\n0\n' >"$T/query.txt"
"$L" search "$S" --space s --field v --vector-file "$T/query.txt" --k 1 | grep -q "^$near " &&
  pass "search --vector-file" || fail "search --vector-file"
expect_exit 1 "search with a wrong dimension" "$L" search "$S" --space s --field v --vector 1,0
expect_exit 1 "search with NaN" "$L" search "$S" --space s --field v --vector 1,nan,0
expect_exit 1 "search with k 0" "$L" search "$S" --space s --field v --vector 1,0,0 --k 0
expect_exit 1 "search with k above the maximum" "$L" search "$S" --space s --field v --vector 1,0,0 --k 1001
expect_exit 1 "search of an unknown field" "$L" search "$S" --space s --field w --vector 1,0,0
expect_exit 1 "search of an unknown space" "$L" search "$S" --space nope --field v --vector 1,0,0
expect_exit 1 "search without a vector" "$L" search "$S" --space s --field v

# drop-field: the migration to a new embedding field (old e, new n), then e dropped.
M="$T/drop-db"
"$L" init "$M" >/dev/null || fail "init for drop-field"
m1=$("$L" put "$M" --space s --vector e=1,0,0 --metric l2) || fail "put with e"
"$L" put "$M" --space s --vector e=0,1,0 >/dev/null || fail "put with e (2)"
"$L" update "$M" "$m1" --vector n=1,0 --metric l2 >/dev/null || fail "backfill n"
expect_exit 0 "drop-field" "$L" drop-field "$M" --space s --field e
grep -q "dropped vector field e of space s" "$T/out" && pass "drop-field says what it dropped" ||
  fail "drop-field printed: $(cat "$T/out")"
expect_exit 1 "search of a dropped field" "$L" search "$M" --space s --field e --vector 1,0,0
grep -q "has no vector field 'e'" "$T/err" && pass "a dropped field is unknown to search" ||
  fail "search error: $(cat "$T/err")"
"$L" search "$M" --space s --field n --vector 1,0 --json | python3 -c '
import json, sys
hits = json.load(sys.stdin)
sys.exit(0 if [h["id"] for h in hits] == [int(sys.argv[1])] else 1)' "$m1" &&
  pass "the other field still answers" || fail "search n after the drop"
"$L" history "$M" "$m1" --json | python3 -c '
import json, sys
sys.exit(0 if all(set(v["vectors"]) <= {"n"} for v in json.load(sys.stdin)) else 1)' &&
  pass "no version shows the dropped field's vectors" || fail "history shows e"
"$L" info "$M" --json | python3 -c '
import json, sys
sys.exit(0 if [f["name"] for f in json.load(sys.stdin)["vector_fields"]] == ["n"] else 1)' &&
  pass "info no longer lists the dropped field" || fail "info lists e"
expect_exit 1 "drop-field of a dropped field" "$L" drop-field "$M" --space s --field e
grep -q "already dropped" "$T/err" && pass "a second drop says so" || fail "error: $(cat "$T/err")"
expect_exit 1 "drop-field of an unknown field" "$L" drop-field "$M" --space s --field typo
grep -q "'typo' of space 's': no such field" "$T/err" && pass "an unknown field is named" ||
  fail "error: $(cat "$T/err")"
expect_exit 1 "drop-field of an unknown space" "$L" drop-field "$M" --space nope --field n
expect_exit 1 "drop-field without --field" "$L" drop-field "$M" --space s
expect_exit 1 "drop-field of an empty field name" "$L" drop-field "$M" --space s --field ""
expect_exit 1 "a put naming the dropped field" "$L" put "$M" --space s --vector e=1,0,0
grep -q "was dropped" "$T/err" && pass "the put error says the field was dropped" ||
  fail "error: $(cat "$T/err")"
m3=$("$L" put "$M" --space s --vector e=0,1 --metric ip) || fail "put --metric defines e anew"
"$L" search "$M" --space s --field e --vector 0,1 --k 10 --json | python3 -c '
import json, sys
sys.exit(0 if [h["id"] for h in json.load(sys.stdin)] == [int(sys.argv[1])] else 1)' "$m3" &&
  pass "the new field has only the new vector" || fail "search of the new e"
"$L" wal-dump "$M" >"$T/wal" || fail "wal-dump after drop-field"
grep -q "dropped-fields \[s/e#1\]" "$T/wal" && pass "wal-dump shows the drop" ||
  fail "wal-dump: $(grep dropped "$T/wal")"
expect_exit 0 "checkpoint after drop-field" "$L" checkpoint "$M"
expect_exit 0 "check after drop-field" "$L" check "$M"
expect_exit 1 "search of the dropped field after a checkpoint" "$L" search "$M" --space s --field e \
  --vector 1,0,0

# --space on every command that names a cube: another space's cube, or any cube for a space
# that does not exist, is refused exactly as an id never assigned is (same exit, same message).
P=$T/space-db
"$L" init "$P" >/dev/null || fail "init for --space"
pa=$("$L" put "$P" --space alice --text "alice's note") || fail "put in alice"
"$L" put "$P" --space bob --text "bob's note" >/dev/null || fail "put in bob"
# same_as_missing DESCRIPTION ARGS...: runs "loci ARGS" once with the cube $pa and once with the
# unknown id 999999 (the word ID stands for it); both must fail alike.
same_as_missing() {
  local what=$1
  shift
  expect_exit 1 "$what" "$L" "${@/#ID/$pa}"
  local got
  got=$(sed "s/cube $pa /cube N /" "$T/err")
  expect_exit 1 "$what, for an unknown id" "$L" "${@/#ID/999999}"
  local want
  want=$(sed "s/cube 999999 /cube N /" "$T/err")
  [ "$got" = "$want" ] && [[ "$got" == *"cube N does not exist"* ]] &&
    pass "$what: the same error as an unknown id" ||
    fail "$what: '$got' differs from an unknown id's '$want'"
}
for space in bob nobody; do
  same_as_missing "get --space $space" get "$P" ID --space "$space"
  same_as_missing "history --space $space" history "$P" ID --space "$space"
  same_as_missing "update --space $space" update "$P" ID --space "$space" --text changed
  same_as_missing "retire --space $space" retire "$P" ID --space "$space"
done
"$L" history "$P" "$pa" --json | python3 -c '
import json, sys
sys.exit(0 if [v["text"] for v in json.load(sys.stdin)] == ["alice'"'"'s note"] else 1)' &&
  pass "nothing was written through another space" || fail "another space changed alice's cube"
expect_exit 0 "get --space of the cube's own space" "$L" get "$P" "$pa" --space alice
expect_exit 0 "history --space of the cube's own space" "$L" history "$P" "$pa" --space alice
expect_exit 0 "update --space of the cube's own space" "$L" update "$P" "$pa" --space alice \
  --text "alice's second note"
expect_exit 0 "retire --space of the cube's own space" "$L" retire "$P" "$pa" --space alice

# An update that changes nothing is refused, not made a new version.
pn=$("$L" put "$P" --space alice --text "same" --attr n=1) || fail "put for no-op updates"
expect_exit 1 "update with no option" "$L" update "$P" "$pn"
grep -q "nothing to change" "$T/err" && pass "update with no option says why" ||
  fail "error: $(cat "$T/err")"
expect_exit 1 "update to the content it has" "$L" update "$P" "$pn" --text "same" --attr n=1
grep -q "nothing to change" "$T/err" && pass "a no-op update says why" ||
  fail "error: $(cat "$T/err")"
expect_exit 0 "the same text with a valid time is a change" "$L" update "$P" "$pn" \
  --text "same" --valid-from 2023-05-08T13:56:00Z
[ "$("$L" history "$P" "$pn" --json | grep -o '"version"' | wc -l)" -eq 2 ] &&
  pass "refused updates made no version" || fail "history: $("$L" history "$P" "$pn")"

# Vectors whose norm overflows float, or (cosine) is too small to normalise, are refused.
expect_exit 1 "a put of a vector whose norm overflows" "$L" put "$D" --space alice \
  --vector e=3e38,3e38,3e38
grep -q "vector field 'e'.*norm" "$T/err" && pass "the overflow error names the field" ||
  fail "error: $(cat "$T/err")"
expect_exit 1 "a search query whose norm overflows" "$L" search "$D" --space alice --field e \
  --vector 3e38,3e38,3e38
expect_exit 1 "a cosine query too small to normalise" "$L" search "$D" --space alice --field e \
  --vector 1e-45,0,0
expect_exit 0 "a tiny query of an l2 field" "$L" search "$S" --space s --field v --vector 1e-45,0,0
grep -qi "nan" "$T/out" && fail "a search printed a NaN score: $(cat "$T/out")" ||
  pass "no NaN score"
expect_exit 0 "a search among the vectors that were accepted" "$L" search "$D" --space alice \
  --field e --vector 1,1,1
grep -qi "nan" "$T/out" && fail "a search printed a NaN score: $(cat "$T/out")" ||
  pass "no NaN score among the accepted vectors"

# Integers are stored exactly or refused, never rounded to a double.
expect_exit 1 "an integer attribute beyond int64" "$L" put "$D" --space alice \
  --attr acct=18446744073709551615
grep -q -- "--attr-string" "$T/err" && pass "the error suggests --attr-string" ||
  fail "error: $(cat "$T/err")"
big=$("$L" put "$D" --space alice --attr acct=9223372036854775807 --attr n=+5) ||
  fail "put of int64 max"
"$L" get "$D" "$big" --json | python3 -c '
import json, sys
a = json.load(sys.stdin)["attrs"]
sys.exit(0 if a["acct"] == 9223372036854775807 and a["n"] == 5 else 1)' &&
  pass "int64 attributes stay exact" || fail "int64 attributes: $("$L" get "$D" "$big" --json)"
expect_exit 0 "a digit string with --attr-string" "$L" put "$D" --space alice \
  --attr-string acct=18446744073709551615
expect_exit 0 "search --attr-string" "$L" search "$D" --space alice --field e --vector 1,0,0 \
  --attr-string acct=18446744073709551615

# Names are escaped in text output like values: a newline or an escape sequence in a space,
# attribute key or field name cannot forge lines or reach the terminal.
E=$T/names-db
"$L" init "$E" >/dev/null || fail "init for names"
evil_space=$'evil\nspace:          forged'
evil_key=$'k\e[2J'
evil_field=$'f\nvector:         forged'
eid=$("$L" put "$E" --space "$evil_space" --attr "$evil_key=1" --vector "$evil_field=1,0" \
  --metric l2) || fail "put with odd names"
"$L" get "$E" "$eid" >"$T/get.txt" || fail "get with odd names"
"$L" info "$E" >"$T/info.txt" || fail "info with odd names"
"$L" search "$E" --space "$evil_space" --field "$evil_field" --vector 1,0 >"$T/search.txt" ||
  fail "search with odd names"
"$L" wal-dump "$E" >"$T/wal.txt" || fail "wal-dump with odd names"
for f in get info search wal; do
  if grep -q "forged" "$T/$f.txt" && ! grep -Eq '^(space|vector): +forged' "$T/$f.txt" &&
    ! grep -q $'\e' "$T/$f.txt"; then
    pass "$f escapes names"
  else
    fail "$f prints names raw: $(cat -A "$T/$f.txt")"
  fi
done
[ "$(grep -c '^space:' "$T/get.txt")" -eq 1 ] && pass "get prints one space line" ||
  fail "get: $(cat -A "$T/get.txt")"
expect_exit 1 "an error quoting an odd name" "$L" search "$E" --space "$evil_space" --field \
  $'no\efield' --vector 1,0
grep -q $'\e' "$T/err" && fail "the error sent an escape sequence" ||
  pass "errors escape control characters"

# A checkpoint keeps everything readable.
expect_exit 0 "checkpoint" "$L" checkpoint "$D"
"$L" get "$D" "$id" --json | grep -q "v3 text" && pass "get after checkpoint" ||
  fail "get after checkpoint"

# A flipped byte in a payload blob. While the WAL still holds the blob's copy (small blobs travel
# in their record), reads use it and check says so; once a checkpoint has made the arena the
# only copy, check finds the damage and exits 2.
C=$T/blobdb
"$L" init "$C" >/dev/null
cid=$("$L" put "$C" --space s --text "payload-marker-0123456789") || fail "put into blobdb"
arena=$(ls "$C"/arena-*.blob | head -1)
offset=$(grep -a -b -o "payload-marker-0123456789" "$arena" | head -1 | cut -d: -f1)
if [ -z "$offset" ]; then
  fail "payload not found in $arena"
else
  printf 'X' | dd of="$arena" bs=1 seek=$((offset + 3)) conv=notrunc status=none
  expect_exit 0 "check of a damaged blob the WAL still holds" "$L" check "$C"
  grep -q "restored from their WAL copies" "$T/out" && pass "check reports the restored blob" ||
    fail "check output: $(cat "$T/out")"
  "$L" get "$C" "$cid" | grep -q "payload-marker-0123456789" && pass "get reads the WAL's copy" ||
    fail "get of the restored blob"
  # A read-write open rewrites the arena copy; then damage it again after a checkpoint.
  expect_exit 0 "checkpoint repairs the arena copy" "$L" checkpoint "$C"
  expect_exit 0 "check after the repair" "$L" check "$C"
  printf 'X' | dd of="$arena" bs=1 seek=$((offset + 3)) conv=notrunc status=none
  expect_exit 2 "check after a blob byte was flipped" "$L" check "$C"
fi

# A flipped byte in an early WAL record: wal-dump and check both report corruption (exit 2).
W=$T/waldb
"$L" init "$W" >/dev/null
"$L" put "$W" --space s --text one >/dev/null
"$L" put "$W" --space s --text two >/dev/null
expect_exit 0 "wal-dump before damage" "$L" wal-dump "$W"
# The first record starts after the 4 KiB segment header; damage its payload.
printf '\xAA' | dd of="$W/wal-00000001.log" bs=1 seek=$((4096 + 48)) conv=notrunc status=none
expect_exit 2 "wal-dump of a damaged WAL" "$L" wal-dump "$W"
grep -q "wal-00000001.log at offset 4096" "$T/err" && pass "wal-dump names file and offset" ||
  fail "wal-dump error: $(cat "$T/err")"
expect_exit 2 "check of a damaged WAL" "$L" check "$W"

# One damaged superblock copy: the database opens, check reports the damage (exit 0: a crash
# during a superblock update leaves the same), and a checkpoint rewrites both copies.
S=$T/sbdb
"$L" init "$S" >/dev/null
"$L" put "$S" --space s --text one >/dev/null
"$L" checkpoint "$S" >/dev/null
"$L" put "$S" --space s --text two >/dev/null
"$L" checkpoint "$S" >/dev/null
printf '\x5A' | dd of="$S/SUPERBLOCK" bs=1 seek=30 conv=notrunc status=none
expect_exit 0 "info with one damaged superblock copy" "$L" info "$S"
expect_exit 0 "check with one damaged superblock copy" "$L" check "$S"
grep -q "recovery: SUPERBLOCK slot 0 (offset 0): checksum mismatch" "$T/out" &&
  pass "check names the damaged copy" || fail "check output: $(cat "$T/out")"
expect_exit 0 "checkpoint rewrites the superblock" "$L" checkpoint "$S"
expect_exit 0 "check after the rewrite" "$L" check "$S"
grep -q "SUPERBLOCK" "$T/out" && fail "still damaged after a checkpoint: $(cat "$T/out")" ||
  pass "the checkpoint rewrote both copies"

# A live WAL segment cut short: every command refuses it as corruption naming the file.
C=$T/cutdb
"$L" init "$C" >/dev/null
"$L" put "$C" --space s --text one >/dev/null
"$L" put "$C" --space s --text two >/dev/null
truncate -s 4096 "$C/wal-00000001.log"
expect_exit 2 "info of a WAL cut short" "$L" info "$C"
grep -q "wal-00000001.log.*cut short" "$T/err" && pass "the cut segment is named" ||
  fail "cut-short error: $(cat "$T/err")"
expect_exit 2 "check of a WAL cut short" "$L" check "$C"

# A missing checkpoint file is corruption (exit 2) naming it, not a missing database.
M=$T/ckptdb
"$L" init "$M" >/dev/null
"$L" put "$M" --space s --text one >/dev/null
"$L" checkpoint "$M" >/dev/null
rm "$M"/ckpt-*.ckpt
expect_exit 2 "open with its checkpoint file missing" "$L" info "$M"
grep -q "ckpt-00000001.ckpt: checkpoint file named by the superblock is missing" "$T/err" &&
  pass "the missing checkpoint is named" || fail "missing checkpoint error: $(cat "$T/err")"

# salvage: a flipped byte in a WAL record makes check fail (exit 2); salvage copies everything
# else into a new database (exit 0) and names the loss; the copy checks clean and reads; the
# source is untouched; an existing destination, an empty directory and unreadable files are
# refused (exit 1, 1, 2).
V=$T/salvagedb
"$L" init "$V" >/dev/null
keep=$("$L" put "$V" --space s --text "intact cube") || fail "put into salvagedb"
lost=$("$L" put "$V" --space s --text "first") || fail "put into salvagedb"
"$L" update "$V" "$lost" --text "second" >/dev/null || fail "update in salvagedb"
"$L" update "$V" "$lost" --text "third" >/dev/null || fail "update in salvagedb"
record=$("$L" wal-dump "$V" | grep "versions \[id $lost v2 " | sed -E 's/.* offset ([0-9]+) .*/\1/')
if [ -z "$record" ]; then
  fail "wal-dump does not show cube $lost version 2"
else
  printf '\x5A' | dd of="$V/wal-00000001.log" bs=1 seek=$((record + 60)) conv=notrunc status=none
  expect_exit 2 "check of the database to salvage" "$L" check "$V"
  before=$(cat "$V"/* | md5sum)
  expect_exit 0 "salvage of a damaged database" "$L" salvage "$V" "$T/salvaged"
  grep -q "^lost: $V/wal-00000001.log at offset $record .*cube $lost version 2" "$T/out" &&
    pass "salvage names the file, offset and version lost" || fail "salvage output: $(cat "$T/out")"
  [ "$(cat "$V"/* | md5sum)" = "$before" ] && pass "salvage left the source untouched" ||
    fail "salvage changed the source"
  expect_exit 0 "check of the salvaged copy" "$L" check "$T/salvaged"
  "$L" get "$T/salvaged" "$keep" | grep -q "intact cube" && pass "get of an intact cube" ||
    fail "get of an intact cube from the copy"
  versions=$("$L" history "$T/salvaged" "$lost" --json | python3 -c '
import json, sys
print(" ".join("%d:%s" % (v["version"], v["text"]) for v in json.load(sys.stdin)))')
  [ "$versions" = "1:first 3:third" ] && pass "the versions after the lost one were copied" ||
    fail "history of the copy: $versions"
  expect_exit 1 "salvage into an existing database" "$L" salvage "$V" "$T/salvaged"
fi
mkdir "$T/emptydir"
expect_exit 1 "salvage of a directory without a database" "$L" salvage "$T/emptydir" "$T/s2"
mkdir "$T/junkdb"
head -c 8192 /dev/zero | tr '\0' 'j' >"$T/junkdb/SUPERBLOCK"
expect_exit 2 "salvage when nothing can be read" "$L" salvage "$T/junkdb" "$T/s3"
[ ! -e "$T/s3" ] && pass "nothing readable: no copy made" || fail "salvage made $T/s3"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS: cli_test"
