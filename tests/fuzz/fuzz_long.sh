#!/usr/bin/env bash
# fuzz_long.sh — `make fuzz-long`: a long campaign of every libFuzzer target
# (each tests/fuzz/fuzz_NAME.c, built as build/fuzz/fuzz_NAME by `make fuzz`),
# FUZZ_SECONDS each (default 3600) with FUZZ_JOBS parallel jobs (-jobs and
# -workers, default 1), one after the other. Each runs on a copy of its
# committed corpus tests/fuzz/corpus/NAME (for fuzz_net: net); afterwards
# what it found that adds coverage is merged into the committed corpus,
# minimised (libFuzzer -merge=1: only inputs with new features, smallest
# first). Prints executions and executions per second per target from
# libFuzzer's final statistics (-print_final_stats=1). A crash, leak or broken
# invariant is kept under build/fuzz/long/NAME/ and fails the run (exit 1);
# FUZZ_TARGETS="net relay" limits the run to those targets.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${FUZZ_SECONDS:-3600}
JOBS=${FUZZ_JOBS:-1}
OUT=$ROOT/build/fuzz/long
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

targets=()
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	if [[ -n ${FUZZ_TARGETS:-} && " $FUZZ_TARGETS " != *" $name "* ]]; then
		continue
	fi
	targets+=("$name")
done

# Sum a final statistic over every log of a run.
stat_sum() {
	local key=$1
	shift
	cat "$@" 2>/dev/null | sed -n "s/^stat::$key: *//p" | awk '{ s += $1 } END { print s + 0 }'
}

failed=0
summary=()
for name in "${targets[@]}"; do
	bin=$ROOT/build/fuzz/fuzz_$name
	committed=$ROOT/tests/fuzz/corpus/$name
	dir=$OUT/$name
	if [[ ! -x $bin ]]; then
		echo "fuzz-long: $bin is missing (make fuzz)" >&2
		failed=1
		continue
	fi
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts" "$committed"
	cp -r "$committed"/. "$dir/corpus/" 2>/dev/null
	echo "fuzz-long: $name: $SECS s, $JOBS job(s), corpus $(ls "$committed" | wc -l) inputs"
	(cd "$dir" && "$bin" -max_total_time="$SECS" -jobs="$JOBS" -workers="$JOBS" -timeout=25 \
		-rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" corpus \
		>"$dir/run.log" 2>&1)
	rc=$?
	logs=("$dir/run.log")
	[[ $JOBS -gt 1 ]] && logs=("$dir"/fuzz-*.log)
	execs=$(stat_sum number_of_executed_units "${logs[@]}")
	rate=$(awk -v e="$execs" -v s="$SECS" 'BEGIN { printf "%d", e / s }')
	before=$(ls "$committed" | wc -l)
	"$bin" -merge=1 -timeout=25 -rss_limit_mb=4096 "$committed" "$dir/corpus" >"$dir/merge.log" 2>&1
	added=$(( $(ls "$committed" | wc -l) - before ))
	crashes=$(ls "$dir/artifacts" | wc -l)
	line=$(printf '%-12s %12s execs %8s exec/s  +%s corpus inputs  %s' "$name" "$execs" "$rate" "$added" \
		"$([[ $crashes -eq 0 && $rc -eq 0 ]] && echo "clean" || echo "FAILED (rc $rc, $crashes artifact(s) in $dir/artifacts)")")
	echo "fuzz-long: $line"
	summary+=("$line")
	[[ $crashes -ne 0 || $rc -ne 0 ]] && failed=1
done
echo "fuzz-long: summary ($SECS s per target, $JOBS job(s)):"
printf '  %s\n' "${summary[@]}"
exit $failed
