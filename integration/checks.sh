# shellcheck shell=bash
# ok/FAIL checks shared by the integration harnesses: CHECKS_PASSED / CHECKS_FAILED count them.
CHECKS_PASSED=0 CHECKS_FAILED=0

ok() { CHECKS_PASSED=$((CHECKS_PASSED + 1)); echo "ok $1"; }
fail() { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL $1${2:+: $2}"; }

# check NAME CMD... : CMD succeeds
check() { local n=$1; shift; local out; if out=$("$@" 2>&1); then ok "$n"; else fail "$n" "$out"; fi; }
# check_fails_with NAME REGEX CMD... : CMD fails and its output matches REGEX
check_fails_with() {
    local n=$1 re=$2 out
    shift 2
    if out=$("$@" 2>&1); then fail "$n" "succeeded: $out"
    elif grep -Eq -- "$re" <<<"$out"; then ok "$n"
    else fail "$n" "output lacks /$re/: $out"; fi
}
