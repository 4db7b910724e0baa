#!/usr/bin/env bash
# test_smtp_postfix.sh — issue 4's volume test: Postfix's smtp-source (partner
# side) -> mailgw -> a real Postfix smtpd (internal side) delivering into a
# Maildir: 10,000 SMTP transactions of mixed sizes up to 1 MB, with 1 and 50
# messages per connection and 1 and 20 recipients. Every delivered message
# must be byte-identical to what smtp-source sent apart from the trace fields
# (tests/lib/msgcheck.py compares SHA-256 hashes), carry exactly one
# Received: field of ours, and the gateway's counters must agree: every
# transaction relayed, none deferred or refused.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

MSGCHECK=$T_ROOT/tests/lib/msgcheck.py
EXP=$T_TMP/expected

# Runs: class size msgs_per_conn rcpts transactions sessions
RUNS=(
	"a4k     4k  1  1 5000 20"
	"b16k   16k 50  1 2500 50"
	"c4k20   4k  1 20  200 10"
	"d64k   64k 50  1 2000 40"
	"e256k 256k  1  1  250 10"
	"f1m     1m  1  1   50  5"
)

topo_two_ports
GW_SYSTEM_EXTRA='memory_mb = 512;'
GW_EXTRA_GROUPS='smtp = { hostname = "mx.gw.test"; accepted_domains = [ "example.com" ];
  relay_networks = [ "10.20.0.0/24" ]; limits = { sessions_per_client = 200; }; };
routes = ( { domains = [ "example.com" ]; next_hops = [ "10.20.0.10:25" ]; } );'
gw_config >"$T_TMP/gw.conf"
t_check "gateway starts" gw_start "$T_TMP/gw.conf"
t_check "Postfix smtpd starts in the internal namespace" postfix_start "$INT_NS" pfint "$INT_HOST_IP"

# One message file per class (smtp-source -F sends it for every transaction).
make_args=()
for r in "${RUNS[@]}"; do
	read -r cls size _ <<<"$r"
	make_args+=("$cls=$size")
done
t_check "expected messages generated" python3 "$MSGCHECK" --make "$EXP" "${make_args[@]}"

total_tx=0 total_files=0 start=$SECONDS
check_args=()
for r in "${RUNS[@]}"; do
	read -r cls size per rcpts n sess <<<"$r"
	file=$(ls "$EXP"/"$cls"-*.eml)
	opts=(-s "$sess" -m "$n" -r "$rcpts" -F "$file" -f sender@partner.test -t user@example.com)
	((per > 1)) && opts+=(-d)
	t0=$SECONDS
	ip netns exec "$EXT_NS" timeout 600 smtp-source "${opts[@]}" "$EXT_GW_IP:25" \
		>"$T_TMP/source-$cls.out" 2>&1
	rc=$?
	assert_eq "smtp-source $cls ($n x $size, $per/conn, $rcpts rcpt): exit status" 0 "$rc"
	[[ $rc -eq 0 ]] || sed 's/^/# /' "$T_TMP/source-$cls.out" | tail -5
	t_note "$cls: $n transactions in $((SECONDS - t0)) s"
	total_tx=$((total_tx + n))
	total_files=$((total_files + n * rcpts))
	check_args+=(--expect-class "$cls=$((n * rcpts))")
done
assert_eq "10,000 transactions sent" 10000 "$total_tx"
t_check "Postfix delivered all $total_files messages (one file per recipient)" \
	postfix_wait pfint "$total_files" 300
t_note "all delivered $((SECONDS - start)) s after the first connection"

# Every file byte-identical apart from the trace fields; exactly one Received of ours.
t_check "every delivered message matches what was sent (SHA-256), with exactly one Received: of mailgw" \
	python3 "$MSGCHECK" --maildir "$(postfix_maildir pfint)" --expected "$EXP" --expect "$total_files" \
	--ours "(mailgw)" --ours-exactly 1 "${check_args[@]}" --jobs 2

assert_eq "smtp.messages_relayed counts every transaction" "$total_tx" "$(gw_stat smtp.messages_relayed)"
assert_eq "smtp.rcpt_accepted counts every recipient" "$total_files" "$(gw_stat smtp.rcpt_accepted)"
assert_eq "no message deferred" 0 "$(gw_stat smtp.messages_tempfailed)"
assert_eq "no message refused" 0 "$(gw_stat smtp.messages_rejected)"
hits=$(gw_stat smtp_client.cache_hits); connects=$(gw_stat smtp_client.connects)
assert_ge "the connection cache carried most transactions (hits $hits, connects $connects)" \
	"${hits:-0}" $((total_tx / 2))
assert_eq "log: one status=sent line per transaction" "$total_tx" "$(grep -c 'smtp: msg=.* status=sent' "$GW_LOG")"

gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"
