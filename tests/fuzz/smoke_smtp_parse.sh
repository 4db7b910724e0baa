#!/usr/bin/env bash
# smoke_smtp_parse.sh — a bounded libFuzzer run of build/fuzz/fuzz_smtp_parse
# (line assembly + commands, DATA scanner, replies; chunked == whole and the
# smuggling invariants, see tests/fuzz/fuzz_smtp_parse.c) over a copy of the
# seed corpus tests/fuzz/corpus/smtp_parse. FUZZ_SECONDS sets the run time
# (default 60, as issue 4 asks). Building is not done here (`make fuzz`). A crash, leak,
# timeout or broken invariant fails the test; the input that caused it is
# kept under build/fuzz/artifacts/ (reproduce: build/fuzz/fuzz_smtp_parse FILE).
source "$(dirname "$0")/../lib/harness.sh"

BIN=$T_BUILD/fuzz/fuzz_smtp_parse
SECS=${FUZZ_SECONDS:-60}
KEEP=$T_BUILD/fuzz/artifacts

if [[ ! -x $BIN ]]; then
	t_fail "fuzz_smtp_parse: $BIN is missing (make fuzz)"
	exit 1
fi
cp -r "$T_ROOT/tests/fuzz/corpus/smtp_parse" "$T_TMP/corpus"
mkdir -p "$T_TMP/artifacts"

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Every seed (they include the smuggling probes) must run clean on its own first.
if "$BIN" "$T_TMP"/corpus/* >"$T_TMP/replay.log" 2>&1; then
	t_ok "fuzz_smtp_parse: $(ls "$T_TMP/corpus" | wc -l) seed inputs run clean"
else
	t_fail "fuzz_smtp_parse: a seed input fails: $(grep -m1 -E 'INVARIANT|ERROR|runtime error' "$T_TMP/replay.log")"
fi

log=$T_TMP/fuzz.log
"$BIN" -max_total_time="$SECS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$T_TMP/artifacts/" "$T_TMP/corpus" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)

if [[ $rc -eq 0 ]]; then
	t_ok "fuzz_smtp_parse ran $SECS s without crash or leak: ${execs:-?} execs (${rate:-?}/s, ${cov:-cov: ?})"
	exit 0
fi

mkdir -p "$KEEP"
kept=()
for f in "$T_TMP"/artifacts/*; do
	[[ -f $f ]] || continue
	cp "$f" "$KEEP/smtp_parse-$(basename "$f")"
	kept+=("$KEEP/smtp_parse-$(basename "$f")")
done
t_fail "fuzz_smtp_parse exited with $rc after ${execs:-?} execs; input: ${kept[*]:-none saved}"
# The first lines of the report: what broke and where.
grep -m1 -n -E 'INVARIANT|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$log" |
	cut -d: -f1 | while read -r first; do
		sed -n "$((first > 3 ? first - 3 : 1)),$((first + 25))p" "$log"
	done | sed 's/^/# /'
exit 1
