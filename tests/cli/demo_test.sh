#!/usr/bin/env bash
# loci-demo shows what it says, and deletes nothing it did not create.
#  - The built-in story prints its six sections with sane content (a hop-1 hit via
#    derived_from, the episode around a hit, the events of a day, the correction in the
#    changes, the old value as of before the correction and the new one after, a trace to the
#    sources), and a second run prints the same (commit times aside).
#  - It runs in a new path or an empty directory, replaces a database an earlier run created,
#    and refuses (exit 1, one line, nothing touched) a file, a directory with other files, and a
#    Loci database it did not create. --help creates nothing.
#  - --locomo runs on LoCoMo when the data is there (skipped otherwise), and a missing file is
#    refused before anything is created.
# Usage: demo_test.sh PATH/TO/loci-demo PATH/TO/loci
set -euo pipefail
demo=$1
loci=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
# The lines of section N of file F (from its header to the next one).
section() { awk -v n="== $1." 'index($0, n) == 1 {on = 1; print; next} /^== / {on = 0} on' "$2"; }
has() { grep -qE -- "$2" <<< "$1" || fail "$3"; }

"$demo" --help > help.out || fail "--help exited non-zero"
[ -e ./--help ] && fail "--help created a directory"
grep -q DIR help.out || fail "--help does not describe DIR"
grep -q -- --locomo help.out || fail "--help does not describe --locomo"

"$demo" new-db > run1.out || fail "first run in a new path"
grep -q 'After checkpoint + reopen' run1.out || fail "first run did not finish"
grep -q 'Vectors are lexical' run1.out || fail "does not say the vectors are lexical"
for n in 1 2 3 4 5 6; do grep -q "^== $n\. " run1.out || fail "section $n missing"; done

s=$(section 1 run1.out)
has "$s" '^    [0-9.]+  #[0-9]+ v[0-9]+  (s[0-9]\.[0-9]+|fact) ' "search shows no direct hit"
has "$s" 'expanded' "search shows no expanded hits"
has "$s" 'hop 1 via derived_from #[0-9]+->#[0-9]+' "no expanded hit via derived_from: $s"
s=$(section 2 run1.out)
has "$s" 'episode "2024-0' "episode does not name its episode"
has "$s" '^  \* 2024-' "episode does not mark the hit"
[ "$(grep -cE '^  [ *] 2024-' <<< "$s")" -ge 3 ] || fail "episode shows no neighbours: $s"
s=$(section 3 run1.out)
has "$s" '2024-03-18T00:00:00Z, 2024-03-19T00:00:00Z\): 1[0-9] events' "events of 2024-03-18: $s"
has "$s" 'Change of plans' "events miss session 2's first turn"
has "$s" 'v2  fact memory: "Maya and Sam plan a two-week trip to Japan in the second' \
  "events miss the trip fact's update"
s=$(section 4 run1.out)
has "$s" '^  retire  #[0-9]+ v2  fact memory: "Maya is vegetarian\."' "changes miss the retirement"
has "$s" '^  put     #[0-9]+ v1  fact memory: "Maya is pescatarian' "changes miss the new fact"
has "$s" 'Sam still eats no shellfish' "changes miss session 3's turns"
grep -q 'Change of plans' <<< "$s" && fail "changes after session 2 list session 2"
s=$(section 5 run1.out)
has "$s" "as of session 1's commit \(before\): +#[0-9]+ v1 .*in May" \
  "as-of does not show the old value"
has "$s" 'now \(after the correction\): +#[0-9]+ v2 .*second half' \
  "as-of does not show the new value"
has "$s" 'valid on 2024-03-10: +#[0-9]+ v1 .*in May' "valid-time read does not show May"
has "$s" 'now: +\(.*retired' "the retired fact is found now: $s"
has "$s" '^  v2 active  valid \[2024-03-18T20:00:00Z, forever\)' "history lacks the update"
has "$s" '^  v2 retired' "history lacks the retirement"
s=$(section 6 run1.out)
has "$s" 'hop 1 via derived_from .*s1\.1 maya' "trace does not reach the first source"
has "$s" 'hop 1 via derived_from .*s2\.1 maya' "trace does not reach the correcting turn"
has "$s" 'hop 1 via contradicts' "trace does not follow contradicts"

"$demo" new-db > run2.out || fail "second run over its own database"
# The same output but for commit times: the second run began with an empty database.
strip() { sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/T/g' "$1"; }
cmp -s <(strip run1.out) <(strip run2.out) || fail "a second run did not start from scratch"

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

if "$demo" nolocomo --locomo "$tmp/missing.json" 2> err; then
  fail "ran on a missing LoCoMo file"
fi
[ "$(wc -l < err)" -eq 1 ] || fail "a missing LoCoMo file is not one line: $(cat err)"
[ -e nolocomo ] && fail "created a database for a missing LoCoMo file"

locomo=${LOCI_DATA:-${LOCI_SHARED_DATA:-/work/shared/data}}/locomo/locomo10.json
if [ -f "$locomo" ]; then
  "$demo" locomo-db --locomo "$locomo" > locomo.out || fail "--locomo run"
  for n in 1 2 3 4 5 6; do
    grep -q "^== $n\. " locomo.out || fail "--locomo: section $n missing"
  done
  grep -qE '^Question 1 of [0-9]+' locomo.out || fail "--locomo names no question"
  grep -qE 'evidence turns found: [0-9]+ of [1-9]' locomo.out ||
    fail "--locomo: no evidence count"
  grep -qE 'hop 1 via derived_from' locomo.out || fail "--locomo: no derived_from step"
  grep -q 'After checkpoint + reopen' locomo.out || fail "--locomo run did not finish"
else
  echo "demo_test: $locomo not found, --locomo not run"
fi
echo "demo_test: ok"
