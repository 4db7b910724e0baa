#!/usr/bin/env bash
# test_smtpgen_mailgw.sh — smtpgen's client (partner side) -> mailgw ->
# smtpgen's sink (internal side): every body verified by its embedded
# SHA-256 at the sink, client and sink counts equal to the gateway's, in
# plaintext and with STARTTLS on both legs (90 % resumed inbound, counted
# apart from full handshakes); a deliberately corrupted body is caught at the
# sink after crossing the gateway; a failing next hop's codes reach the client.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

SG=$T_BUILD/smtpgen
PKI=$T_TMP/pki
t_check "smtpgen is built" test -x "$SG"
t_check "test PKI generated" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

jget() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d=d.get(k, {}) if isinstance(d, dict) else {}
print(d if d != {} else 0)' "$1" "$2" 2>/dev/null; }

SINK_PID_FILE=$T_TMP/sink.pid
sink_up() {   # sink_up ARGS...: smtpgen sink in $INT_NS on 10.20.0.10:25
	rm -f "$SINK_PID_FILE"
	ip netns exec "$INT_NS" "$SG" sink -L "$INT_HOST_IP:25" --pid-file "$SINK_PID_FILE" \
		--json-report "$T_TMP/sink.json" "$@" >"$T_TMP/sink.out" 2>"$T_TMP/sink.err" &
	SINK_JOB=$!
	local i
	for ((i = 0; i < 100; i++)); do [[ -s $SINK_PID_FILE ]] && return 0; sleep 0.05; done
	return 1
}
sink_down() {
	SRC=255
	[[ -s $SINK_PID_FILE ]] || return 0
	kill -TERM "$(cat "$SINK_PID_FILE")" 2>/dev/null
	wait "$SINK_JOB"; SRC=$?
	rm -f "$SINK_PID_FILE"
}
t_cleanup '[[ -s $SINK_PID_FILE ]] && kill -KILL "$(cat "$SINK_PID_FILE")"'
client() {    # client NAME ARGS...: smtpgen client in $EXT_NS to the gateway
	local name=$1; shift
	ip netns exec "$EXT_NS" timeout 120 "$SG" client -S "$EXT_GW_IP:25" --json --to "user%d@example.com" \
		--from "sender@partner.test" "$@" >"$T_TMP/$name.json" 2>"$T_TMP/$name.err"
	CRC=$?
}

topo_two_ports
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"example.com\" ];
  limits = { sessions_per_client = 500; }; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; },
                         { cert = \"$PKI/gw/rsa.crt\"; key = \"$PKI/gw/rsa.key\"; } );
  client = { level = \"encrypt\"; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; } );"
gw_config >"$T_TMP/gw.conf"
t_check "gateway starts" gw_start "$T_TMP/gw.conf"

# ---- STARTTLS both legs (level encrypt to the sink), size mix, 90 % resumption ----
t_check "sink starts with STARTTLS" sink_up --starttls --cert "$PKI/nexthop/server.crt" --key "$PKI/nexthop/server.key"
client tls -s 20 -m 600 -d 1 -r 2 --size-mix 4k:60,32k:30,128k:10 --starttls --resume 90 --ca "$PKI/ca/ca.crt" \
	--servername mx.gw.test
assert_eq "smtpgen client (STARTTLS, resume 90 %): exit status" 0 "$CRC"
assert_eq "client: 600 messages ok" 600 "$(jget "$T_TMP/tls.json" messages.ok)"
resumed=$(jget "$T_TMP/tls.json" tls.resumed); full=$(jget "$T_TMP/tls.json" tls.full)
assert_ge "client: most handshakes resumed ($resumed resumed, $full full)" "$resumed" 450
sink_down
assert_eq "sink: exit status 0 (no body mismatch)" 0 "$SRC"
assert_eq "sink: 600 messages verified" 600 "$(jget "$T_TMP/sink.json" messages.verified)"
assert_eq "sink: no mismatch" 0 "$(jget "$T_TMP/sink.json" messages.mismatched)"
assert_eq "gateway: smtp.messages_relayed = 600" 600 "$(gw_stat smtp.messages_relayed)"
assert_eq "gateway: tls.handshakes = the client's" "$((resumed + full))" "$(gw_stat tls.handshakes)"
assert_eq "gateway: tls.resumed = the client's resumed handshakes" "$resumed" "$(gw_stat tls.resumed)"
assert_ge "gateway: outbound legs used TLS (smtp_client.tls)" "$(gw_stat smtp_client.tls)" 1

# ---- a corrupted body is caught at the sink, across the gateway ----
NH_TLS=(--starttls --cert "$PKI/nexthop/server.crt" --key "$PKI/nexthop/server.key")
t_check "sink starts" sink_up "${NH_TLS[@]}"
client corrupt -s 5 -m 50 -l 8k --corrupt 10 --allow-fail
assert_eq "client with --corrupt 10: every message accepted (the gateway does not look inside)" 50 \
	"$(jget "$T_TMP/corrupt.json" messages.ok)"
sink_down
assert_eq "sink: exit status 1 (mismatches)" 1 "$SRC"
assert_eq "sink: 5 mismatched bodies detected" 5 "$(jget "$T_TMP/sink.json" messages.mismatched)"

# ---- a next hop without STARTTLS at level encrypt: 451 4.7.4, nothing relayed ----
t_check "sink starts without STARTTLS" sink_up
client notls -s 2 -m 10 -l 1k --allow-fail
assert_eq "level encrypt, no STARTTLS offered: every RCPT answered 451" 10 \
	"$(jget "$T_TMP/notls.json" replies_by_stage.rcpt.451)"
sink_down
assert_eq "... and the next hop received nothing" 0 "$(jget "$T_TMP/sink.json" messages.verified)"
assert_match "log: TLS is required, but was not offered" "TLS is required, but was not offered by host 10\.20\.0\.10:25" \
	"$(cat "$GW_LOG")"

# ---- a failing next hop: its codes reach the client ----
t_check "sink starts failing RCPT 40 %" sink_up "${NH_TLS[@]}" --fail-pct rcpt:40 --reply-rcpt "450 4.2.0 mailbox busy"
client fail -s 5 -m 100 -l 2k --allow-fail
ok=$(jget "$T_TMP/fail.json" messages.ok); failed=$(jget "$T_TMP/fail.json" messages.failed)
assert_eq "client: every message either ok or failed" 100 "$((ok + failed))"
assert_ge "client: some recipients refused with the next hop's 450" "$(jget "$T_TMP/fail.json" replies_by_stage.rcpt.450)" 1
sink_down
assert_eq "sink: it received exactly the messages the client saw accepted" "$ok" \
	"$(jget "$T_TMP/sink.json" messages.verified)"

gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"
