#!/usr/bin/env bash
# test_tls_reload_trust.sh — trust does not outlive `reload certs` (issue 12,
# item 6). A partner presents its client certificate (test CA, trusted by
# tls.ca_file) and its connector requires it. Its TLS 1.2 session is resumed
# by session ID (openssl s_client -sess_out / -sess_in, no tickets): MAIL is
# accepted. Then tls.ca_file is rewritten without the partner's CA and
# `reload certs` runs: the same session offered again is not resumed (a
# full handshake, counted tls.session_cache_stale), the certificate is now
# "not verified", and MAIL gets 550 5.7.1. A TLS 1.3 session of the same
# partner (a ticket) is not resumed either: tickets of sessions with a
# client certificate are refused before and after the reload. Nor does a
# cached session outlive its certificate: one whose certificate expires a
# few seconds later is resumed until then, and then not (550 5.7.1).
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

PKI=$T_TMP/pki
SG=$T_BUILD/smtpgen
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"
TRUST=$T_TMP/trust.pem
cp "$PKI/ca/ca.crt" "$TRUST"

topo_two_ports
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"example.com\" ]; client = { cache_size = 0; }; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; } );
  ca_file = \"$TRUST\"; session_timeout = 3600; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"10.20.0.10:25\" ]; } );
connectors = {
  inbound = (
    { name = \"partner-cert\"; tls_sender_certificate_name = \"mail.partner.example\";
      sender_domains = [ \"partner.example\" ]; require_tls = true; restrict_domains_to_certificate = true; }
  );
};"
gw_config >"$T_TMP/gw.conf"
ip netns exec "$INT_NS" "$SG" sink -L "$INT_HOST_IP:25" --pid-file "$T_TMP/sink.pid" >"$T_TMP/sink.out" 2>&1 &
SINK=$!
t_cleanup 'kill -TERM "$SINK" 2>/dev/null'
t_check "gateway starts (one worker: one session cache)" gw_start "$T_TMP/gw.conf"

# sess ARGS...: a STARTTLS session presenting the partner's certificate (CERT, default
# partner/client) that sends MAIL FROM:<a@partner.example>; prints "New|Reused REPLY"
# (REPLY: the MAIL reply's code).
CERT=$PKI/partner/client
sess() {
	local out
	out=$(printf 'EHLO partner.test\nMAIL FROM:<a@partner.example>\nQUIT\n' | (sleep 0.6; cat) |
		ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp -connect "$EXT_GW_IP:25" \
		-cert "$CERT.crt" -key "$CERT.key" -crlf -ign_eof "$@" 2>&1)
	echo "$(sed -n 's/^\(New\|Reused\), .*/\1/p' <<<"$out" | head -1) $(grep -oE '^(250 2\.1\.0|550 5\.7\.1)' <<<"$out" | head -1)"
}

S12=$T_TMP/sess12
S13=$T_TMP/sess13
assert_eq "TLS 1.2, full handshake: the partner's certificate verifies, MAIL accepted" "New 250 2.1.0" \
	"$(sess -tls1_2 -no_ticket -sess_out "$S12")"
assert_eq "TLS 1.3 (tickets), full handshake: accepted" "New 250 2.1.0" "$(sess -tls1_3 -sess_out "$S13")"
assert_eq "the session ID resumes: accepted (verified, as its full handshake found)" "Reused 250 2.1.0" \
	"$(sess -tls1_2 -no_ticket -sess_in "$S12")"
h0=$(gw_stat tls.session_cache_hits)
assert_eq "... and again" "Reused 250 2.1.0" "$(sess -tls1_2 -no_ticket -sess_in "$S12")"
assert_eq "tls.session_cache_hits counts it" $((h0 + 1)) "$(gw_stat tls.session_cache_hits)"

# ---- a certificate that expires in 12 s, issued by the test CA ----
SHORT=$T_TMP/short
mkdir -p "$SHORT/db"
: >"$SHORT/db/index.txt"
echo 01 >"$SHORT/db/serial"
cat >"$SHORT/ca.cnf" <<CNF
[ ca ]
default_ca = c
[ c ]
database = $SHORT/db/index.txt
new_certs_dir = $SHORT/db
serial = $SHORT/db/serial
certificate = $PKI/ca/ca.crt
private_key = $PKI/ca/ca.key
default_md = sha256
policy = p
unique_subject = no
email_in_dn = no
[ p ]
commonName = supplied
organizationName = optional
[ ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:mail.partner.example
CNF
now=$(date +%s)
t_check "a partner certificate valid for 12 more seconds" eval "openssl req -new -newkey ec \
	-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $SHORT/c.key -subj '/O=Partner Example/CN=mail.partner.example' \
	-out $SHORT/c.csr 2>/dev/null && openssl ca -batch -config $SHORT/ca.cnf -extensions ext -notext \
	-startdate $(date -u -d @$((now - 60)) +%Y%m%d%H%M%SZ) -enddate $(date -u -d @$((now + 12)) +%Y%m%d%H%M%SZ) \
	-in $SHORT/c.csr -out $SHORT/c.crt >/dev/null 2>&1"
CERT=$SHORT/c
SX=$T_TMP/sess-short
assert_eq "short-lived certificate, full handshake: verified, accepted" "New 250 2.1.0" \
	"$(sess -tls1_2 -no_ticket -sess_out "$SX")"
assert_eq "... resumed while it is valid" "Reused 250 2.1.0" "$(sess -tls1_2 -no_ticket -sess_in "$SX")"
while (($(date +%s) <= now + 13)); do sleep 0.5; done
assert_eq "... once it has expired: not resumed, the full handshake finds it expired: 550" "New 550 5.7.1" \
	"$(sess -tls1_2 -no_ticket -sess_in "$SX")"
sleep 0.3
assert_match "... the log says why" "client certificate: .*mail\.partner\.example.*chain: ASN date error, current date after" \
	"$(tail -n 5 "$GW_LOG")"
CERT=$PKI/partner/client

cp "$PKI/other-ca/ca.crt" "$TRUST"
assert_match "reload certs with a CA file without the partner's CA" "certificates reloaded" "$(gwctl reload certs)"
st0=$(gw_stat tls.session_cache_stale)
m0=$(gw_stat tls.session_cache_misses)
assert_eq "the old session ID: not resumed, a full handshake; not verified now: 550" "New 550 5.7.1" \
	"$(sess -tls1_2 -no_ticket -sess_in "$S12")"
assert_eq "tls.session_cache_stale counts the session of the older generation" $((st0 + 1)) \
	"$(gw_stat tls.session_cache_stale)"
assert_eq "... which is also a miss" $((m0 + 1)) "$(gw_stat tls.session_cache_misses)"
sleep 0.3
assert_match "the log: the full handshake's certificate, not verified" \
	"TLS established: TLSv1\.2 with cipher [^,]*, client certificate .*CN=mail\.partner\.example \(not verified" \
	"$(tail -n 5 "$GW_LOG")"
assert_eq "the TLS 1.3 ticket with the client certificate: not resumed either, 550" "New 550 5.7.1" \
	"$(sess -tls1_3 -sess_in "$S13")"
assert_eq "a new session now: 550 (the partner's CA is gone)" "New 550 5.7.1" "$(sess -tls1_2 -no_ticket)"
