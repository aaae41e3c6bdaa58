# Shared by the CLI tests of the trace graph and of import (sourced after `set -u` and L=loci):
# a scratch directory, pass/fail counting, and checks of exit codes, one-line errors and JSON.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_exit CODE DESCRIPTION CMD...: runs CMD, checks its exit code and that a failure
# printed exactly one line on stderr, in the form "loci: <command>: ..." said once.
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
  if [ "$want" -ne 0 ] && ! grep -q '^loci: ' "$T/err"; then
    fail "$what: stderr is not a loci error: $(cat "$T/err")"
    return
  fi
  if [ "$want" -ne 0 ] && grep -Eq '^loci: ([a-z-]+): \1: ' "$T/err"; then
    fail "$what: the error repeats its prefix: $(cat "$T/err")"
    return
  fi
  if [ "$want" -eq 0 ] && [ -s "$T/err" ]; then
    fail "$what: success printed on stderr: $(cat "$T/err")"
    return
  fi
  pass "$what (exit $got)"
}

# expect_err PATTERN: the last expect_exit's stderr matches PATTERN (grep -E).
expect_err() {
  grep -Eq -- "$1" "$T/err" && pass "error says '$1'" || fail "error '$(cat "$T/err")' lacks '$1'"
}

# json_check DESCRIPTION PYTHON-EXPRESSION CMD...: runs CMD, parses its stdout as JSON into `j`
# and passes if the expression is true (`ids` maps the names the calling script gives its
# cubes, a..g and x, to their ids; 0 for those not made yet).
json_check() {
  local what=$1 expr=$2
  shift 2
  if "$@" >"$T/json" 2>"$T/err" &&
    python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
ids = dict(a.split("=") for a in sys.argv[3:])
ids = {k: int(v) for k, v in ids.items()}
sys.exit(0 if eval("(" + sys.argv[2] + ")", {"ids": ids, "j": j}) else 1)' "$T/json" "$expr" \
      a="${a:-0}" b="${b:-0}" c="${c:-0}" d="${d:-0}" e="${e:-0}" f="${f:-0}" g="${g:-0}" \
      x="${x:-0}"; then
    pass "$what"
  else
    fail "$what: $(cat "$T/json" "$T/err")"
  fi
}
