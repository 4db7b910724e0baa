#!/usr/bin/env bash
# smoke_relay.sh — a bounded libFuzzer run of build/fuzz/fuzz_relay (whole
# relayed SMTP sessions on a real worker: the harness plays the clients and
# the next hops, see tests/fuzz/fuzz_relay.c) over a copy of the seed corpus
# tests/fuzz/corpus/relay. FUZZ_SECONDS sets the run time (default 60).
# Building is not done here (`make fuzz`). First every seed and every
# regression input under tests/fuzz/crashes/relay*/ must run clean; then a
# crash, leak, timeout or broken invariant (a 250 for a message the next hop
# did not get byte for byte, a reply nobody asked for, a connection or packet
# buffer left after the input) fails the test; the input is kept under
# build/fuzz/artifacts/ (reproduce: build/fuzz/fuzz_relay FILE;
# FUZZ_RELAY_TRACE=1 prints both legs of the conversation and the log).
source "$(dirname "$0")/../lib/harness.sh"

BIN=$T_BUILD/fuzz/fuzz_relay
SECS=${FUZZ_SECONDS:-60}
KEEP=$T_BUILD/fuzz/artifacts

if [[ ! -x $BIN ]]; then
	t_fail "fuzz_relay: $BIN is missing (make fuzz)"
	exit 1
fi
cp -r "$T_ROOT/tests/fuzz/corpus/relay" "$T_TMP/corpus"
mkdir -p "$T_TMP/artifacts"

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The first lines of a report: what broke and where.
report() {
	grep -m1 -n -E 'INVARIANT|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$1" |
		cut -d: -f1 | while read -r first; do
			sed -n "$((first > 3 ? first - 3 : 1)),$((first + 25))p" "$1"
		done | sed 's/^/# /'
}

# Every seed, and every input that once broke the relay, must run clean on
# its own (one process runs them all; it stops at the first that fails).
replay() {
	local what=$1 files=() f
	shift
	for f in "$@"; do
		[[ -f $f ]] && files+=("$f")
	done
	if [[ ${#files[@]} -eq 0 ]]; then
		t_ok "fuzz_relay: no $what"
	elif "$BIN" "${files[@]}" >"$T_TMP/replay.log" 2>&1; then
		t_ok "fuzz_relay: ${#files[@]} $what run clean"
	else
		f=$(sed -n 's/^Running: //p' "$T_TMP/replay.log" | tail -1)
		t_fail "fuzz_relay: $what: $(basename "$f") fails: $(grep -m1 -E 'INVARIANT|ERROR|runtime error' "$T_TMP/replay.log")"
		report "$T_TMP/replay.log"
	fi
}
replay "seed inputs" "$T_TMP"/corpus/*
replay "regression inputs (tests/fuzz/crashes/relay*)" "$T_ROOT"/tests/fuzz/crashes/relay*/*

log=$T_TMP/fuzz.log
"$BIN" -max_total_time="$SECS" -max_len=4096 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	-artifact_prefix="$T_TMP/artifacts/" "$T_TMP/corpus" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)

if [[ $rc -eq 0 ]]; then
	t_ok "fuzz_relay ran $SECS s without crash, leak or broken invariant: ${execs:-?} execs (${rate:-?}/s, ${cov:-cov: ?})"
	exit 0
fi

mkdir -p "$KEEP"
kept=()
for f in "$T_TMP"/artifacts/*; do
	[[ -f $f ]] || continue
	cp "$f" "$KEEP/relay-$(basename "$f")"
	kept+=("$KEEP/relay-$(basename "$f")")
done
t_fail "fuzz_relay exited with $rc after ${execs:-?} execs; input: ${kept[*]:-none saved}"
report "$log"
exit 1
