#!/usr/bin/env bash
# smoke_net.sh — a bounded libFuzzer run of build/fuzz/fuzz_net (packet input
# on a worker with established TCP connections) over a copy of the seed corpus
# tests/fuzz/corpus/net. FUZZ_SECONDS sets the run time (default 60). Building
# is not done here (`make fuzz`). A crash, leak, timeout or broken invariant
# fails the test; the input that caused it is kept under build/fuzz/artifacts/
# (reproduce: build/fuzz/fuzz_net FILE; FUZZ_NET_TRACE=1 prints the exchange).
source "$(dirname "$0")/../lib/harness.sh"

BIN=$T_BUILD/fuzz/fuzz_net
SECS=${FUZZ_SECONDS:-60}
KEEP=$T_BUILD/fuzz/artifacts

if [[ ! -x $BIN ]]; then
	t_fail "fuzz_net: $BIN is missing (make fuzz)"
	exit 1
fi
cp -r "$T_ROOT/tests/fuzz/corpus/net" "$T_TMP/corpus"
mkdir -p "$T_TMP/artifacts"

# LeakSanitizer stays on (detect_leaks=1); DPDK's EAL needs no suppressions.
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Every input that once crashed the gateway must now run clean.
for f in "$T_ROOT"/tests/fuzz/crashes/*; do
	[[ -f $f ]] || continue
	if "$BIN" "$f" >"$T_TMP/replay.log" 2>&1; then
		t_ok "fuzz_net: regression input $(basename "$f") runs clean"
	else
		t_fail "fuzz_net: regression input $(basename "$f") fails again: $(grep -m1 -E 'ERROR|runtime error' "$T_TMP/replay.log")"
	fi
done

log=$T_TMP/fuzz.log
"$BIN" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	-artifact_prefix="$T_TMP/artifacts/" "$T_TMP/corpus" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)

if [[ $rc -eq 0 ]]; then
	t_ok "fuzz_net ran $SECS s without crash or leak: ${execs:-?} execs (${rate:-?}/s)"
	exit 0
fi

mkdir -p "$KEEP"
kept=()
for f in "$T_TMP"/artifacts/*; do
	[[ -f $f ]] || continue
	cp "$f" "$KEEP/"
	kept+=("$KEEP/$(basename "$f")")
done
t_fail "fuzz_net exited with $rc after ${execs:-?} execs; input: ${kept[*]:-none saved}"
# The first lines of the report: what broke and where.
grep -m1 -n -E 'INVARIANT|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$log" |
	cut -d: -f1 | while read -r first; do
		sed -n "$((first > 3 ? first - 3 : 1)),$((first + 25))p" "$log"
	done | sed 's/^/# /'
exit 1
