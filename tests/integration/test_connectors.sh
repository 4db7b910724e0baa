#!/usr/bin/env bash
# test_connectors.sh — the connector table on live sessions (issue 6):
# inbound selection by client certificate, address and sender domain, and
# each refusal with its reply (530 5.7.0 for TLS or a version, 550 5.7.1 for
# certificates and restricted domains), report_only letting mail through
# with a log line; outbound connectors sending their recipients to their
# smart hosts with their tls_settings (domain_validation, certificate_
# validation, encryption_only, pins), failures as 451 4.7.x; a partner that
# must use TLS trying TLS 1.1 then plaintext, refused both times, while an
# unknown sender doing the same is served. Clients are swaks and openssl
# from several addresses; next hops are smtpgen sinks with the test PKI's
# good, wrong-name and expired certificates, or none. Per row: the reply
# the sender sees; at the end, the messages each next hop received.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

PKI=$T_TMP/pki
SG=$T_BUILD/smtpgen
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"
spki_other=$(awk '$1 == "partner-server/server.crt" { print $3 }' "$PKI/fingerprints.txt")

topo_two_ports
for a in 20 30 40; do ip -n "$EXT_NS" addr add "203.0.113.$a/24" dev "$EXT_PEER_IF"; done
for a in 11 12 13 14; do ip -n "$INT_NS" addr add "10.20.0.$a/24" dev "$INT_PEER_IF"; done

DOMS='"example.com", "partner-dest.example", "wrongname.example", "chain.example", "plain.example",
  "pin.example", "expired.example", "audit-out.example"'
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ $DOMS ]; client = { cache_size = 0; }; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; },
                   { cert = \"$PKI/gw/rsa.crt\"; key = \"$PKI/gw/rsa.key\"; } );
  ca_file = \"$PKI/ca/ca.crt\"; client = { ca_file = \"$PKI/ca/ca.crt\"; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"10.20.0.10:25\" ]; } );
connectors = {
  inbound = (
    { name = \"partner-cert\"; tls_sender_certificate_name = \"mail.partner.example\";
      sender_domains = [ \"partner.example\" ]; require_tls = true; restrict_domains_to_certificate = true; },
    { name = \"legacy-ip\"; sender_ip_addresses = [ \"203.0.113.20/32\" ]; require_tls = true; },
    { name = \"audit-ip\"; sender_ip_addresses = [ \"203.0.113.30\" ]; require_tls = true; mode = \"report_only\"; },
    { name = \"bank\"; sender_domains = [ \"bank.example\" ]; sender_ip_addresses = [ \"203.0.113.40\" ];
      restrict_domains_to_ip_addresses = true; },
    { name = \"modern\"; sender_domains = [ \"modern.example\" ]; min_tls_version = \"1.3\"; }
  );
  outbound = (
    { name = \"to-partner\"; recipient_domains = [ \"partner-dest.example\" ]; smart_hosts = [ \"10.20.0.11\" ];
      tls_settings = \"domain_validation\"; tls_domain = \"mx.int.example\"; },
    { name = \"to-wrongname\"; recipient_domains = [ \"wrongname.example\" ]; smart_hosts = [ \"10.20.0.12\" ];
      tls_settings = \"domain_validation\"; tls_domain = \"mx.int.example\"; },
    { name = \"to-chain\"; recipient_domains = [ \"chain.example\" ]; smart_hosts = [ \"10.20.0.12\" ];
      tls_settings = \"certificate_validation\"; },
    { name = \"to-plain\"; recipient_domains = [ \"plain.example\" ]; smart_hosts = [ \"10.20.0.13\" ];
      tls_settings = \"encryption_only\"; },
    { name = \"to-pin\"; recipient_domains = [ \"pin.example\" ]; smart_hosts = [ \"10.20.0.11\" ];
      tls_settings = \"domain_validation\"; tls_domain = \"mx.int.example\"; server_spki_pins = [ \"$spki_other\" ]; },
    { name = \"to-expired\"; recipient_domains = [ \"expired.example\" ]; smart_hosts = [ \"10.20.0.14\" ];
      tls_settings = \"certificate_validation\"; },
    { name = \"audit-out\"; recipient_domains = [ \"audit-out.example\" ]; smart_hosts = [ \"10.20.0.14\" ];
      tls_settings = \"certificate_validation\"; mode = \"report_only\"; }
  );
};"
gw_config >"$T_TMP/gw.conf"
assert_match "the configuration with connectors is valid" "configuration OK" \
	"$("$T_BUILD/mailgw" --check-config -c "$T_TMP/gw.conf" 2>&1)"

declare -A SINKS=()
sink() {   # sink ADDR ARGS...: an smtpgen sink on ADDR:25 in the internal namespace
	local a=$1; shift
	ip netns exec "$INT_NS" "$SG" sink -L "$a:25" --pid-file "$T_TMP/sink-$a.pid" --json-report "$T_TMP/sink-$a.json" \
		--hostname "sink-$a" "$@" >"$T_TMP/sink-$a.out" 2>&1 &
	SINKS[$a]=$!
	for ((i = 0; i < 100; i++)); do [[ -s $T_TMP/sink-$a.pid ]] && return 0; sleep 0.05; done
	return 1
}
t_cleanup 'for a in "${!SINKS[@]}"; do kill -TERM "${SINKS[$a]}" 2>/dev/null; done'
t_check "next hop 10.20.0.10: STARTTLS, valid certificate" sink 10.20.0.10 --starttls --cert "$PKI/nexthop/server.crt" --key "$PKI/nexthop/server.key"
t_check "next hop 10.20.0.11: the same (partner smart host)" sink 10.20.0.11 --starttls --cert "$PKI/nexthop/server.crt" --key "$PKI/nexthop/server.key"
t_check "next hop 10.20.0.12: wrong-name certificate" sink 10.20.0.12 --starttls --cert "$PKI/bad/wrongname.crt" --key "$PKI/bad/wrongname.key"
t_check "next hop 10.20.0.13: no STARTTLS" sink 10.20.0.13
t_check "next hop 10.20.0.14: expired certificate" sink 10.20.0.14 --starttls --cert "$PKI/bad/expired.crt" --key "$PKI/bad/expired.key"
t_check "gateway starts with 5 inbound and 7 outbound connectors" gw_start "$T_TMP/gw.conf"

# row NAME EXPECT-REGEX SWAKS-ARGS...: one message; the last reply line swaks saw must match.
row() {
	local name=$1 want=$2; shift 2
	swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --header "Subject: $name" --body "row $name" "$@"
	local got replies
	# swaks: "<-  " plaintext, "<~  " over TLS, "<** " / "<~* " an error reply
	replies=$(grep -E '^<[-~*]{1,2} +[0-9]{3} ' "$SWAKS_OUT" | sed -E 's/^<[-~*]+ +//' | grep -vE '^(220|221|354) ')
	got=$(grep -m1 -E '^[45][0-9]{2} ' <<<"$replies" || tail -1 <<<"$replies")
	assert_match "$name" "$want" "$got"
}
CC=(--tls-cert "$PKI/partner/client.crt" --tls-key "$PKI/partner/client.key")
CO=(--tls-cert "$PKI/partner/client-other-ca.crt" --tls-key "$PKI/partner/client-other-ca.key")

# ---- inbound ----
row "unknown client and sender, plaintext: the default (opportunistic) serves it" "^250 " \
	--from a@unknown.example --to u1@example.com
row "unknown client, TLS: served" "^250 " --tls --from a@unknown.example --to u2@example.com
row "address connector with require_tls, plaintext: 530 at MAIL" "^530 5\.7\.0 Must issue a STARTTLS command first" \
	--local-interface 203.0.113.20 --from a@legacy.example --to u3@example.com
row "address connector with require_tls, TLS: served" "^250 " --local-interface 203.0.113.20 --tls \
	--from a@legacy.example --to u4@example.com
row "report_only address connector, plaintext: served (would refuse)" "^250 " --local-interface 203.0.113.30 \
	--from a@audit.example --to u5@example.com
row "sender-domain connector (certificate required), plaintext: 530" "^530 5\.7\.0 " \
	--from a@partner.example --to u6@example.com
row "... TLS without a client certificate: 550 naming the connector" \
	'^550 5\.7\.1 Connector "partner-cert": ' --tls --from a@partner.example --to u7@example.com
row "... TLS with the partner's verified certificate: served" "^250 " --tls "${CC[@]}" \
	--from a@partner.example --to u8@example.com
row "... TLS with a certificate from another CA: 550 not verified" \
	'^550 5\.7\.1 Connector "partner-cert": .*(not verified|partner.example)' --tls "${CO[@]}" \
	--from a@partner.example --to u9@example.com
row "the partner's certificate selects its connector for any sender domain: served" "^250 " --tls "${CC[@]}" \
	--from a@elsewhere.example --to u10@example.com
row "restricted domain from outside its addresses: 550 naming the connector" '^550 5\.7\.1 Connector "bank"' \
	--from a@bank.example --to u11@example.com
row "restricted domain from its address: served" "^250 " --local-interface 203.0.113.40 \
	--from a@bank.example --to u12@example.com
row "min_tls_version 1.3, TLS 1.2: 530 naming the version" '^530 5\.7\.0 Connector "modern" requires TLS 1\.3' \
	--tls --tls-protocol tlsv1_2 --from a@modern.example --to u13@example.com
row "min_tls_version 1.3, TLS 1.3: served" "^250 " --tls --tls-protocol tlsv1_3 --from a@modern.example \
	--to u14@example.com
assert_match "the message log names the connector" \
	"smtp: msg=.* connector=partner-cert from=<a@partner.example> .*status=sent" "$(cat "$GW_LOG")"
assert_match "report_only: logged with the reply it would have sent" \
	'would.*530 5\.7\.0 Must issue a STARTTLS command first|530 5\.7\.0.*would' "$(grep audit-ip "$GW_LOG")"
assert_eq "smtp.connector_would_refuse counted" 1 "$(gw_stat smtp.connector_would_refuse)"
assert_eq "smtp.connector_refused counts the 6 refusals" 6 "$(gw_stat smtp.connector_refused)"

# A partner whose connector requires TLS tries TLS 1.1, then plaintext: refused both times;
# an unknown client doing the same is served in plaintext.
tls11() {
	echo QUIT | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp -connect "$EXT_GW_IP:25" \
		-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' -bind "$1:0" 2>&1 | grep -ciE "alert protocol version|tlsv1 alert|wrong version|no protocols available"
}
assert_match "partner (legacy-ip) TLS 1.1: the handshake is refused" "^[1-9]" "$(tls11 203.0.113.20)"
row "partner (legacy-ip) then plaintext: 530" "^530 5\.7\.0 " --local-interface 203.0.113.20 \
	--from a@legacy.example --to u15@example.com
assert_match "unknown client TLS 1.1: the handshake is refused" "^[1-9]" "$(tls11 203.0.113.10)"
row "unknown client then plaintext: served" "^250 " --from a@unknown.example --to u16@example.com

# ---- outbound ----
row "domain_validation, the smart host's certificate carries tls_domain: delivered" "^250 " \
	--from a@unknown.example --to v1@partner-dest.example
row "domain_validation, a wrong-name certificate: 451 4.7.5" "^451 4\.7\.5 " \
	--from a@unknown.example --to v2@wrongname.example
row "certificate_validation, the same wrong-name certificate (valid chain): delivered" "^250 " \
	--from a@unknown.example --to v3@chain.example
row "encryption_only, a smart host without STARTTLS: 451 4.7.4" "^451 4\.7\.4 TLS is required, but was not offered" \
	--from a@unknown.example --to v4@plain.example
row "a pin the smart host's key does not match: 451 4.7.5" "^451 4\.7\.5 " \
	--from a@unknown.example --to v5@pin.example
row "certificate_validation, an expired certificate: 451 4.7.5" "^451 4\.7\.5 " \
	--from a@unknown.example --to v6@expired.example
row "report_only outbound connector, the expired certificate: delivered" "^250 " \
	--from a@unknown.example --to v7@audit-out.example
row "recipients of two connectors in one transaction: the second in a new one (452 4.5.3)" "^452 4\.5\.3 " \
	--from a@unknown.example --to v8@partner-dest.example,v9@chain.example
assert_match "outbound report_only: logged" 'connector "audit-out" would refuse \(report_only\)' "$(cat "$GW_LOG")"

# ---- what each next hop received ----
sleep 0.5
for a in "${!SINKS[@]}"; do kill -TERM "${SINKS[$a]}" 2>/dev/null; wait "${SINKS[$a]}" 2>/dev/null; done
got() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["messages"]["received"])' "$T_TMP/sink-$1.json" 2>/dev/null || echo "?"; }
assert_eq "10.20.0.10 (example.com) received the 9 messages served inbound" 9 "$(got 10.20.0.10)"
assert_eq "10.20.0.11 (to-partner) received 2: v1 and v8" 2 "$(got 10.20.0.11)"
assert_eq "10.20.0.12 received only certificate_validation's v3" 1 "$(got 10.20.0.12)"
assert_eq "10.20.0.13 (no STARTTLS) received nothing" 0 "$(got 10.20.0.13)"
assert_eq "10.20.0.14 (expired) received only report_only's v7" 1 "$(got 10.20.0.14)"
