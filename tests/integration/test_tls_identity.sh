#!/usr/bin/env bash
# test_tls_identity.sh — a forged certificate identity selects no connector
# (issue 12, item 5). The partner's connector requires a verified client
# certificate named mail.partner.example and owns partner.example
# (restrict_domains_to_certificate). Each hostile certificate of
# tools/mkcerts is issued by the trusted test CA to an attacker and tries to
# pass for the partner: a "/CN=mail.partner.example" inside O, a subject
# longer than 255 characters, an email SAN only, a dNSName with a space, one
# with a NUL, a SAN list longer than 511 characters, wildcards, a CN beside a
# dNSName that differs. swaks presents each one and sends as
# a@partner.example: every one gets 550 5.7.1 from the connector (the
# partner's own certificate: 250); `mailgwctl test connector --cert` gives
# the same answer for each file, word for word; the names that are no DNS
# names are counted (tls.peer_name_invalid) and logged; a subject holding CR LF
# and a forged log line is logged on one line. Outbound, a route
# that wants "*.int.example" (level secure) refuses next hops whose
# certificates carry mx.int.example only as an email SAN or in a dNSName cut
# at a NUL (451 4.7.5); the next hop's good certificate is delivered to.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

PKI=$T_TMP/pki
SG=$T_BUILD/smtpgen
t_check "test PKI with the hostile certificates (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

topo_two_ports
for a in 11 12 13; do ip -n "$INT_NS" addr add "10.20.0.$a/24" dev "$INT_PEER_IF"; done
W='tls_level = "secure"; tls_names = [ "*.int.example" ];'
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; client = { cache_size = 0; };
  accepted_domains = [ \"example.com\", \"w-email.example\", \"w-nul.example\", \"w-good.example\" ]; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; } );
  ca_file = \"$PKI/ca/ca.crt\"; client = { ca_file = \"$PKI/ca/ca.crt\"; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"10.20.0.10:25\" ]; },
  { domains = [ \"w-email.example\" ]; next_hops = [ \"10.20.0.11:25\" ]; $W },
  { domains = [ \"w-nul.example\" ]; next_hops = [ \"10.20.0.12:25\" ]; $W },
  { domains = [ \"w-good.example\" ]; next_hops = [ \"10.20.0.13:25\" ]; $W } );
connectors = {
  inbound = (
    { name = \"partner-cert\"; tls_sender_certificate_name = \"mail.partner.example\";
      sender_domains = [ \"partner.example\" ]; require_tls = true; restrict_domains_to_certificate = true; }
  );
};"
gw_config >"$T_TMP/gw.conf"
ip netns exec "$INT_NS" "$SG" sink -L "$INT_HOST_IP:25" --pid-file "$T_TMP/sink.pid" \
	--json-report "$T_TMP/sink.json" >"$T_TMP/sink.out" 2>&1 &
SINK=$!
t_cleanup 'kill -TERM "$SINK" 2>/dev/null'
declare -A HOPS=([11]=hostile/server-email [12]=hostile/server-nul [13]=nexthop/server)
for a in "${!HOPS[@]}"; do
	ip netns exec "$INT_NS" "$SG" sink -L "10.20.0.$a:25" --starttls --cert "$PKI/${HOPS[$a]}.crt" \
		--key "$PKI/${HOPS[$a]}.key" >"$T_TMP/sink-$a.out" 2>&1 &
	t_cleanup "kill -TERM $! 2>/dev/null"
done
for ((i = 0; i < 100; i++)); do [[ -s $T_TMP/sink.pid ]] && break; sleep 0.05; done
t_check "gateway starts with the partner's certificate connector" gw_start "$T_TMP/gw.conf"

# worker CERT: the reply swaks got to MAIL FROM:<a@partner.example> presenting PKI/CERT.crt
# (the first 4xx/5xx, else the last final reply but the greeting, 354 and 221).
worker() {
	swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --tls --tls-cert "$PKI/$1.crt" --tls-key "$PKI/$1.key" \
		--from a@partner.example --to "u@example.com" --header "Subject: $1" --body "identity $1"
	local replies
	replies=$(grep -E '^<[-~*]{1,2} +[0-9]{3} ' "$SWAKS_OUT" | sed -E 's/^<[-~*]+ +//' | tr -d '\r' |
		grep -vE '^(220|221|354) ')
	grep -m1 -E '^[45][0-9]{2} ' <<<"$replies" || tail -1 <<<"$replies"
}
# sim CERT: the simulator's line for MAIL FROM:<a@partner.example> with PKI/CERT.crt.
sim() {
	gwctl test connector --ip "$EXT_HOST_IP" --tls 1.3 --cert "$PKI/$1.crt" --sender a@partner.example 2>&1 |
		grep -F '  MAIL FROM:<a@partner.example>: '
}
# reply of a simulator line: its "NNN x.y.z text" after the verdict ("" for accept).
sim_reply() { sed -nE 's/.*: (refuse|would refuse[^)]*\)) [a-z_]+: ([45][0-9]{2} .*)/\2/p' <<<"$1"; }

out=$(worker partner/client)
assert_match "the partner's own certificate: 250" "^250 " "$out"
line=$(sim partner/client)
assert_match "... the simulator accepts it too, by its certificate name" \
	'connector "partner-cert" \(certificate name\): accept$' "$line"

HOSTILE="slash-in-o long-subject email-san space-san nul-san long-san wildcard cn-not-san newline-subject"
i0=$(gw_stat tls.peer_name_invalid)
for h in $HOSTILE; do
	out=$(worker "hostile/$h")
	assert_match "hostile/$h: refused by the partner's connector (550 5.7.1)" \
		'^550 5\.7\.1 Connector "partner-cert": ' "$out"
	line=$(sim "hostile/$h")
	assert_eq "hostile/$h: the simulator gives the workers' reply" "$out" "$(sim_reply "$line")"
done
sleep 0.3
assert_eq "tls.peer_name_invalid: the space, NUL and 489-character dNSNames" 3 \
	$(($(gw_stat tls.peer_name_invalid) - i0))
assert_match "the log names what the certificate is taken for, and what was refused" \
	"client certificate: subject .*CN=attacker\.example, SANs mail\.partner\.example\.attacker\.example \(1 name\(s\) refused: not DNS names" \
	"$(cat "$GW_LOG")"
assert_match "a certificate without dNSName: its CN, said so" \
	"client certificate: subject /O=Evil/CN=mail\.partner\.example/CN=attacker\.example, CN \(no dNSName SAN\) attacker\.example" \
	"$(cat "$GW_LOG")"
assert_eq "a subject with CR LF forges no log line" 0 "$(grep -c '^2026-01-01T00:00:00.000Z mailgw\[1\]' "$GW_LOG")"
assert_match "... it is logged on one line, its control characters as '?'" \
	"client certificate /O=Evil\?\?2026-01-01T00:00:00\.000Z mailgw\[1\]: forged/CN=attacker\.example \(verified" \
	"$(cat "$GW_LOG")"
out=$(gwctl test connector --ip "$EXT_HOST_IP" --cert "$PKI/hostile/nul-san.crt" 2>&1)
assert_match "the simulator shows the refused name" \
	"certificate $PKI/hostile/nul-san\.crt: names none \(dNSName SANs\), 1 name\(s\) refused \(not DNS names\)" "$out"
kill -TERM "$SINK"; wait "$SINK" 2>/dev/null
assert_eq "the next hop received only the partner's message" 1 \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"]["received"])' "$T_TMP/sink.json" 2>&1)"

# ---- outbound: a configured "*.int.example" against the next hop's certificate ----
out_row() {   # out_row DOMAIN: the final reply to a message for u@DOMAIN
	swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --from a@elsewhere.example --to "u@$1" --body "to $1"
	local replies
	replies=$(grep -E '^<[-~*]{1,2} +[0-9]{3} ' "$SWAKS_OUT" | sed -E 's/^<[-~*]+ +//' | tr -d '\r' |
		grep -vE '^(220|221|354) ')
	grep -m1 -E '^[45][0-9]{2} ' <<<"$replies" || tail -1 <<<"$replies"
}
assert_match "outbound *.int.example: the next hop's own certificate (mx.int.example): delivered" "^250 " \
	"$(out_row w-good.example)"
assert_match "outbound *.int.example: email:mx.int.example only: 451 4.7.5" "^451 4\.7\.5 " \
	"$(out_row w-email.example)"
assert_match "outbound *.int.example: dNSName mx.int.example<NUL>.attacker.example: 451 4.7.5" "^451 4\.7\.5 " \
	"$(out_row w-nul.example)"
