# harness.sh — assertions and result counting for integration tests.
# Source it first; every check calls t_ok/t_fail (or an assert_* helper); at
# exit it prints "RESULT passed=N failed=N", which tests/run adds up. Cleanup
# functions registered with t_cleanup run at exit in reverse order, always.

T_PASSED=0
T_FAILED=0
T_CLEANUPS=()
T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T_BUILD=$T_ROOT/build
T_TMP=$(mktemp -d /tmp/mailgw-test.XXXXXX)

t_ok()   { T_PASSED=$((T_PASSED + 1)); echo "ok - $*"; }
t_fail() { T_FAILED=$((T_FAILED + 1)); echo "not ok - $*"; }
t_note() { echo "# $*"; }

# t_check NAME COMMAND...: passes when the command exits 0.
t_check() {
	local name=$1; shift
	if "$@"; then t_ok "$name"; else t_fail "$name (command failed: $*)"; fi
}

# assert_eq NAME EXPECTED ACTUAL
assert_eq() {
	if [[ "$2" == "$3" ]]; then t_ok "$1"; else t_fail "$1: expected '$2', got '$3'"; fi
}

# assert_ge NAME ACTUAL MIN (integers)
assert_ge() {
	if [[ "$2" =~ ^-?[0-9]+$ ]] && (( $2 >= $3 )); then t_ok "$1"; else t_fail "$1: expected >= $3, got '$2'"; fi
}

# assert_match NAME REGEX TEXT
assert_match() {
	if [[ "$3" =~ $2 ]]; then t_ok "$1"; else t_fail "$1: '$3' does not match /$2/"; fi
}

t_cleanup() { T_CLEANUPS+=("$*"); }

t_finish() {
	local i
	for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	T_CLEANUPS=()
	rm -rf "$T_TMP"
	echo "RESULT passed=$T_PASSED failed=$T_FAILED"
}
trap t_finish EXIT
trap 'exit 130' INT TERM
