#!/usr/bin/env bash
# test_tls_trust.sh — a peer cannot make its own CA trusted. Both peers here
# send chains that end in the test CA, which this gateway does not trust
# (tls.ca_file and tls.client.ca_file name another CA). wolfSSL adds a chain
# CA to the context's trusted CAs when the verify callback lets its error
# pass; mailgw never does that for a chain CA (and wolfSSL is built with
# alternate chains, so an untrusted chain CA is skipped, not added). So:
#   inbound: a client certificate from the untrusted CA is "not verified" in
#     every session, not only the first;
#   outbound: after a level-encrypt delivery to a next hop with such a
#     chain, a level-verify route to it still fails with 451 4.7.5.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

PKI=$T_TMP/pki
SG=$T_BUILD/smtpgen
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"
assert_eq "the partner's and the next hop's chains carry the test CA" "2 2" \
	"$(grep -c BEGIN "$PKI/partner/client.crt") $(grep -c BEGIN "$PKI/nexthop/server.crt")"

topo_two_ports
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"enc.example\", \"ver.example\" ];
  client = { cache_size = 0; }; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; } );
  ca_file = \"$PKI/other-ca/ca.crt\"; client = { ca_file = \"$PKI/other-ca/ca.crt\"; }; };
routes = ( { domains = [ \"enc.example\" ]; next_hops = [ \"10.20.0.10:25\" ]; tls_level = \"encrypt\"; },
           { domains = [ \"ver.example\" ]; next_hops = [ \"10.20.0.10:25\" ]; tls_level = \"verify\"; } );"
gw_config >"$T_TMP/gw.conf"
ip netns exec "$INT_NS" "$SG" sink -L "$INT_HOST_IP:25" --pid-file "$T_TMP/sink.pid" --starttls \
	--cert "$PKI/nexthop/server.crt" --key "$PKI/nexthop/server.key" >"$T_TMP/sink.out" 2>&1 &
t_cleanup '[[ -s $T_TMP/sink.pid ]] && kill -TERM "$(cat "$T_TMP/sink.pid")"'
for ((i = 0; i < 100; i++)); do [[ -s $T_TMP/sink.pid ]] && break; sleep 0.05; done
t_check "gateway starts trusting only the other CA" gw_start "$T_TMP/gw.conf"

# ---- inbound: the partner's chain, three times ----
for i in 1 2 3; do
	echo QUIT | (sleep 0.3; cat) | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp \
		-connect "$EXT_GW_IP:25" -cert "$PKI/partner/client.crt" -key "$PKI/partner/client.key" \
		-tls1_3 >/dev/null 2>&1
done
sleep 0.3
assert_eq "inbound: three sessions presented the certificate" 3 \
	"$(grep -c "client certificate .*CN=mail\.partner\.example" "$GW_LOG")"
assert_eq "inbound: every one of them is not verified (the first did not make its CA trusted)" 3 \
	"$(grep -c "client certificate .*CN=mail\.partner\.example (not verified" "$GW_LOG")"

# ---- outbound: encrypt first (delivered, not verified), then verify (refused) ----
swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --from a@partner.test --to u@enc.example --tls
assert_match "level encrypt: delivered" "<~  250 2\.0\.0" "$(cat "$SWAKS_OUT")"
sleep 0.3                                       # the control plane writes the log
assert_match "level encrypt: the chain is logged as not verified" \
	"next hop 10\.20\.0\.10:25: TLS established: .*certificate not verified" "$(cat "$GW_LOG")"
for i in 1 2; do
	swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --from a@partner.test --to "u$i@ver.example" --tls
	assert_match "level verify after it ($i): still 451 4.7.5, the CA was not added" "<~\*? +451 4\.7\.5 " \
		"$(cat "$SWAKS_OUT")"
done
assert_eq "smtp_client.tls_verify_failed counts both" 2 "$(gw_stat smtp_client.tls_verify_failed)"
