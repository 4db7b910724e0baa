#!/usr/bin/env bash
# test_tls.sh — inbound STARTTLS (issue 5, first part): the EHLO offer,
# openssl s_client -starttls smtp with TLS 1.2 and 1.3 (certificate verified
# against the test CA), RSA and ECDSA certificates side by side (each client
# gets the one its signature algorithms and suites allow), gnutls-cli, a relayed message whose Received: field
# names the TLS version and cipher; TLS 1.0/1.1 refused with a
# protocol_version alert, counted and logged with the offered version, and
# the same client served in plaintext afterwards; resumption by session
# tickets (TLS 1.2 and 1.3) and session IDs, counted apart; non-forward-secret and CBC
# suites refused; the STARTTLS command-injection class (CVE-2011-0411),
# STARTTLS with a parameter, plaintext instead of a ClientHello; a client
# certificate recorded in the log; show tls, show certs; rotation with
# reload certs and SIGHUP while sessions run (broken sets refused); expiry
# warnings.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

PKI=$T_TMP/pki
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

topo_two_ports
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"example.com\" ];
  relay_networks = [ \"10.20.0.0/24\" ]; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; },
                   { cert = \"$PKI/gw/rsa.crt\"; key = \"$PKI/gw/rsa.key\"; } );
  ca_file = \"$PKI/ca/ca.crt\"; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"10.20.0.10:25\" ]; } );"
gw_config >"$T_TMP/gw.conf"
REC=$T_TMP/rec.jsonl
t_check "next hop starts" nexthop_start "$INT_NS" "$INT_HOST_IP" 25 --record "$REC"
t_check "gateway starts with a certificate" gw_start "$T_TMP/gw.conf"

stat_() { gw_stat "$1"; }

# raw NS PYTHON-BYTES-EXPR...: send each chunk, print every reply line (python).
raw() {
	ip netns exec "$EXT_NS" python3 - "$@" <<'EOF'
import socket, sys, time
s = socket.create_connection(("203.0.113.1", 25), timeout=5)
f = s.makefile("rb")
print(f.readline().decode().rstrip())
for chunk in sys.argv[1:]:
    s.sendall(chunk.encode().decode("unicode_escape").encode("latin-1"))
    time.sleep(0.3)
s.settimeout(1.5)
try:
    while True:
        line = f.readline()
        if not line:
            print("<closed>")
            break
        print(line.decode(errors="replace").rstrip())
except socket.timeout:
    print("<open>")
EOF
}

# ---- the offer ----
out=$(raw 'EHLO partner.test\r\n' 'QUIT\r\n')
assert_match "EHLO before TLS offers STARTTLS" "250-STARTTLS" "$out"

# ---- openssl s_client, TLS 1.2 and 1.3, verified ----
sclient() {   # sclient ARGS...: a whole transaction over STARTTLS; prints s_client's output
	# s_client -crlf turns each LF into CRLF
	printf 'EHLO partner.test\nMAIL FROM:<p@partner.test>\nRCPT TO:<user@example.com>\nDATA\nSubject: tls\n\nover tls\n.\nQUIT\n' |
		(sleep 1; cat; sleep 2) |
		ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp -connect 203.0.113.1:25 \
			-CAfile "$PKI/ca/ca.crt" -verify_return_error -verify_hostname mx.gw.test -crlf -ign_eof "$@" 2>&1
}
for v in 1_2 1_3; do
	out=$(sclient "-tls$v")
	assert_match "s_client -tls$v: handshake with TLSv${v/_/.}" "(Protocol *: TLSv${v/_/.}|New, TLSv${v/_/.})" "$out"
	assert_match "s_client -tls$v: certificate verified against the test CA" "Verify return code: 0 \(ok\)" "$out"
	assert_match "s_client -tls$v: EHLO after TLS no longer offers STARTTLS" "250-ENHANCEDSTATUSCODES" "$out"
	[[ $out == *"250-STARTTLS"* ]] && t_fail "s_client -tls$v: STARTTLS offered again after TLS" ||
		t_ok "s_client -tls$v: STARTTLS not offered again after TLS"
	assert_match "s_client -tls$v: message accepted after the next hop's 250" "250 2\.0\.0 .*221 2\.0\.0" "$(tr '\n' ' ' <<<"$out")"
done
assert_eq "tls.version_1_2 counted" 1 "$(stat_ tls.version_1_2)"
assert_eq "tls.version_1_3 counted" 1 "$(stat_ tls.version_1_3)"
for ((i = 0; i < 20 && $(wc -l <"$REC" 2>/dev/null || echo 0) < 2; i++)); do sleep 0.2; done
recv=$(python3 -c 'import json,sys; [print(" | ".join(json.loads(l)["received"])) for l in open(sys.argv[1])]' "$REC")
assert_match "Received: names TLS 1.2 and its cipher (ESMTPS)" \
	"using TLSv1\.2 with cipher ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384) \((128|256)/(128|256) bits\).*with ESMTPS" "$recv"
assert_match "Received: names TLS 1.3" "using TLSv1\.3 with cipher TLS13-" "$recv"

# ---- RSA beside ECDSA: each client gets the certificate it can take ----
keytype() {   # keytype S_CLIENT-ARGS...: the server key the client saw ("ECDSA 256" / "RSA 2048")
	echo QUIT | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp -connect 203.0.113.1:25 \
		-CAfile "$PKI/ca/ca.crt" -verify_return_error "$@" 2>/dev/null |
		sed -n 's/^Server public key is \([0-9]*\) bit.*/\1/p' | sed 's/^256$/ECDSA 256/; s/^2048$/RSA 2048/'
}
assert_eq "a default client (ECDSA and RSA offered) gets the ECDSA certificate" "ECDSA 256" "$(keytype)"
assert_eq "TLS 1.3, RSA-only signature algorithms: the RSA certificate" "RSA 2048" \
	"$(keytype -tls1_3 -sigalgs 'rsa_pss_rsae_sha256:rsa_pss_rsae_sha384')"
assert_eq "TLS 1.2, ECDHE-RSA suites only: the RSA certificate" "RSA 2048" \
	"$(keytype -tls1_2 -cipher 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384')"
assert_eq "TLS 1.2, ECDHE-ECDSA suites only: the ECDSA certificate" "ECDSA 256" \
	"$(keytype -tls1_2 -cipher 'ECDHE-ECDSA-AES128-GCM-SHA256')"
assert_eq "TLS 1.2, RSA signature algorithms only: the RSA certificate" "RSA 2048" \
	"$(keytype -tls1_2 -sigalgs 'RSA+SHA256:RSA+SHA384')"

# ---- resumption: session tickets (TLS 1.2 and 1.3) and session IDs ----
resume() {    # resume NAME S_CLIENT-ARGS...: a full handshake, then two resumptions from the saved session
	local i a out=""
	for i in 1 2 3; do
		a=(-sess_out "$T_TMP/sess-$1"); ((i > 1)) && a+=(-sess_in "$T_TMP/sess-$1")
		out+=$(echo QUIT | (sleep 0.5; cat) | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp \
			-connect 203.0.113.1:25 "${a[@]}" "${@:2}" 2>&1 | sed -n 's/^\(New\|Reused\), .*/\1/p')" "
	done
	echo "$out"
}
h0=$(stat_ tls.handshakes); r0=$(stat_ tls.resumed)
assert_eq "TLS 1.2 session ticket: New, then Reused twice" "New Reused Reused " "$(resume t12 -tls1_2)"
assert_eq "TLS 1.3 session ticket: New, then Reused twice" "New Reused Reused " "$(resume t13 -tls1_3)"
assert_eq "TLS 1.2 session ID (no ticket): New, then Reused twice" "New Reused Reused " "$(resume sid -tls1_2 -no_ticket)"
sleep 0.3
assert_eq "tls.handshakes counts all 9" $((h0 + 9)) "$(stat_ tls.handshakes)"
assert_eq "tls.resumed counts the 6 resumed ones" $((r0 + 6)) "$(stat_ tls.resumed)"
assert_match "the log says resumed" "TLS established: TLSv1\.[23] .*, resumed" "$(cat "$GW_LOG")"

# ---- gnutls-cli ----
out=$(printf 'EHLO g.test\r\nQUIT\r\n' | (sleep 1; cat; sleep 1) | ip netns exec "$EXT_NS" timeout 20 \
	gnutls-cli --starttls-proto=smtp --x509cafile="$PKI/ca/ca.crt" \
	--sni-hostname=mx.gw.test --verify-hostname=mx.gw.test -p 25 203.0.113.1 2>&1 | tr -d "\r")
assert_match "gnutls-cli --starttls-proto=smtp completes and verifies" "Handshake was completed" "$out"
assert_match "gnutls-cli: the session runs SMTP over TLS" "221 2\.0\.0 Bye" "$out"

# ---- TLS 1.0 / 1.1 refused, then the same client in plaintext ----
for v in 1 1_1; do
	out=$(echo QUIT | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp \
		-connect 203.0.113.1:25 "-tls$v" -cipher 'DEFAULT:@SECLEVEL=0' 2>&1)
	assert_match "s_client -tls$v: refused with a protocol_version alert" "alert protocol version" "$out"
done
sleep 0.5
assert_eq "tls.refused_v1_0 counted" 1 "$(stat_ tls.refused_v1_0)"
assert_eq "tls.refused_v1_1 counted" 1 "$(stat_ tls.refused_v1_1)"
assert_match "the log names the version the client offered" \
	"TLS handshake failed: protocol version below the TLS 1\.2 floor; the client offered TLSv1\.0" "$(cat "$GW_LOG")"
assert_match "... and TLSv1.1" "the client offered TLSv1\.1" "$(cat "$GW_LOG")"
before=$(wc -l <"$REC")
out=$(swaks_ns "$EXT_NS" --server 203.0.113.1 --from p@partner.test --to user@example.com; cat "$SWAKS_OUT")
assert_match "the refused client is served in plaintext" "<-  250 2\.0\.0 .*221" "$(tr '\n' ' ' <<<"$out")"
for ((i = 0; i < 20 && $(wc -l <"$REC") <= before; i++)); do sleep 0.2; done
assert_eq "... and its message relayed" $((before + 1)) "$(wc -l <"$REC")"

# ---- only non-FS or only CBC suites: refused ----
for c in AES128-GCM-SHA256 ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA; do
	out=$(echo QUIT | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp \
		-connect 203.0.113.1:25 -tls1_2 -cipher "$c" 2>&1)
	assert_match "client offering only $c: handshake refused" "alert handshake failure|no shared cipher|handshake failure" "$out"
done
sleep 0.3
assert_eq "tls.failed_no_shared_cipher counted" 3 "$(stat_ tls.failed_no_shared_cipher)"

# ---- STARTTLS injection, parameters, plaintext instead of a ClientHello ----
out=$(raw 'EHLO inj.test\r\nSTARTTLS\r\nMAIL FROM:<evil@inj.test>\r\n')
assert_match "STARTTLS with a command in the same segment: refused" "554 5\.5\.1 .*after STARTTLS" "$out"
assert_match "... and the connection closed" "<closed>" "$out"
[[ $out == *"220 2.0.0 Ready"* ]] && t_fail "injection: TLS was started anyway" || t_ok "injection: no TLS started"
assert_eq "tls.starttls_injection counted" 1 "$(stat_ tls.starttls_injection)"
out=$(raw 'EHLO p.test\r\n' 'STARTTLS now\r\n' 'QUIT\r\n')
assert_match "STARTTLS with a parameter: 501" "501 5\.5\.4" "$out"
out=$(raw 'EHLO p.test\r\n' 'STARTTLS\r\n' 'MAIL FROM:<a@b.test>\r\n')
assert_match "STARTTLS: 220 2.0.0 Ready to start TLS" "220 2\.0\.0 Ready to start TLS" "$out"
assert_match "plaintext instead of a ClientHello: the connection is closed" "<closed>" "$out"
[[ $out == *"250 2.1.0"* ]] && t_fail "plaintext after STARTTLS was executed" || t_ok "plaintext after STARTTLS was not executed"
sleep 0.3
assert_eq "tls.failed_not_tls counted" 1 "$(stat_ tls.failed_not_tls)"

# ---- a client certificate is recorded ----
out=$(echo QUIT | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp -connect 203.0.113.1:25 \
	-cert "$PKI/partner/client.crt" -key "$PKI/partner/client.key" 2>&1)
sleep 0.5
spki=$(awk '$1 == "partner/client.crt" { print $4 }' "$PKI/fingerprints.txt")
assert_match "client certificate subject, verification and SPKI SHA-256 logged" \
	"client certificate .*CN=mail\.partner\.example \(verified, SPKI SHA-256 $spki\)" "$(cat "$GW_LOG")"
assert_match "client certificate SANs logged" \
	"client certificate: subject .*CN=mail\.partner\.example, SANs mail\.partner\.example" "$(cat "$GW_LOG")"

# ---- show tls: who uses which TLS ----
row=$(gwctl show tls in | awk '$1 == "203.0.113.10" && $2 == "in"')
read -r _ _ t13 t12 plain old last _ <<<"$row"
assert_ge "show tls: the partner's TLS 1.3 sessions" "${t13:-0}" 3
assert_ge "show tls: the partner's TLS 1.2 sessions" "${t12:-0}" 4
assert_ge "show tls: the partner's plaintext sessions" "${plain:-0}" 1
assert_eq "show tls: the partner's refused old-TLS attempts (1.0 and 1.1)" 2 "${old:-}"
assert_match "show tls: the last old version it tried" "TLSv1\.1$" "$row"
row=$(gwctl show tls out | awk '$1 == "10.20.0.10" && $2 == "out"')
assert_match "show tls out: the next hop without STARTTLS counts plaintext sessions" "^10\.20\.0\.10 +out +0 +0 +[1-9]" "$row"
json=$(gwctl --json show tls)
assert_match "show tls --json parses" "^ok$" "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print("ok" if d["sessions"]["refused_old"] == 2 else d)' <<<"$json")"

# ---- show certs ----
out=$(gwctl show certs)
assert_match "show certs: the ECDSA certificate, its names and key" \
	"certificate 0: .*gw/ecdsa\.crt.*CN=mx\.gw\.example.*mx\.gw\.example, mx\.gw\.test, localhost.*ECDSA-256" "$(tr '\n' ' ' <<<"$out")"
assert_match "show certs: the RSA certificate" "certificate 1: .*gw/rsa\.crt.*RSA-2048" "$(tr '\n' ' ' <<<"$out")"
fp=$(openssl x509 -in "$PKI/gw/ecdsa.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
assert_match "show certs: SHA-256 fingerprint as openssl computes it" "sha256 +$fp" "$out"
assert_match "show certs: days left" "expires +20[0-9-]+ [0-9:]+ UTC \(8[0-9][0-9] days\)" "$out"
json=$(gwctl --json show certs)
assert_eq "show certs --json parses, 2 certificates" 2 "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$json")"

gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"

# ---- rotation without downtime: reload certs / SIGHUP while STARTTLS sessions run ----
LIVE=$T_TMP/live; mkdir -p "$LIVE"
cp "$PKI/gw/ecdsa.crt" "$PKI/gw/ecdsa.key" "$PKI/gw/rsa.crt" "$PKI/gw/rsa.key" "$LIVE/"
sed -e "s|$PKI/gw/|$LIVE/|g" "$T_TMP/gw.conf" >"$T_TMP/gw-live.conf"
t_check "gateway starts on the live certificate files" gw_start "$T_TMP/gw-live.conf"
fpr() { echo QUIT | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp -connect 203.0.113.1:25 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//'; }
fp1=$(openssl x509 -in "$PKI/gw/ecdsa.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
fp2=$(openssl x509 -in "$PKI/gw2/ecdsa.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
assert_eq "before: clients see the first certificate" "$fp1" "$(fpr)"
ip netns exec "$EXT_NS" timeout 60 "$T_BUILD/smtpgen" client -S 203.0.113.1:25 --starttls --ca "$PKI/ca/ca.crt" \
	--servername mx.gw.test -s 8 -m 1500 -l 2k --to user@example.com --json >"$T_TMP/load.json" 2>"$T_TMP/load.err" &
load=$!
sleep 1.5
cp "$PKI/gw2/ecdsa.crt" "$PKI/gw2/ecdsa.key" "$PKI/gw2/rsa.crt" "$PKI/gw2/rsa.key" "$LIVE/"
assert_match "reload certs: the new set is published" "certificates reloaded: generation 1, 2 certificate" \
	"$(gwctl reload certs)"
assert_eq "after reload: new sessions see the new certificate" "$fp2" "$(fpr)"
assert_match "show certs shows the new fingerprint" "sha256 +$fp2" "$(gwctl show certs)"
cp "$PKI/bad/mismatch.crt" "$LIVE/ecdsa.crt"; cp "$PKI/bad/mismatch.key" "$LIVE/ecdsa.key"
out=$(gwctl reload certs 2>&1)
assert_match "a key that does not belong to its certificate: refused, named" \
	"error: reload certs refused, the running certificates stay: tls.certificates.\[0\]: the key .*ecdsa\.key does not belong to the certificate" "$out"
cp "$PKI/bad/expired.crt" "$LIVE/ecdsa.crt"; cp "$PKI/bad/expired.key" "$LIVE/ecdsa.key"
assert_match "an expired certificate: refused" "refused, the running certificates stay: .*ecdsa\.crt has expired" \
	"$(gwctl reload certs 2>&1)"
cat "$PKI/gw2/ecdsa.leaf.crt" "$PKI/other-ca/ca.crt" >"$LIVE/ecdsa.crt"; cp "$PKI/gw2/ecdsa.key" "$LIVE/ecdsa.key"
assert_match "a wrong chain (the leaf followed by a CA that did not issue it): refused, named" \
	"refused, the running certificates stay: tls.certificates.\[0\].cert: .*ecdsa\.crt: wrong chain: certificate 1 \(.*CN=mx\.gw\.example\) is not issued by certificate 2 after it \(.*CN=mailgw other CA" \
	"$(gwctl reload certs 2>&1)"
cat "$PKI/ca/ca.crt" "$PKI/gw2/ecdsa.leaf.crt" >"$LIVE/ecdsa.crt"
assert_match "a chain out of order (CA first): refused" "refused, .*wrong chain: certificate 1 \\(.*CN=mailgw test CA\\) is not issued by certificate 2" "$(gwctl reload certs 2>&1)"
cp "$PKI/gw2/ecdsa.crt" "$LIVE/ecdsa.crt"; rm -f "$LIVE/ecdsa.key"
assert_match "an unreadable key: refused" "refused, the running certificates stay: .*ecdsa\.key" "$(gwctl reload certs 2>&1)"
assert_eq "after the refusals the second certificate is still served" "$fp2" "$(fpr)"
cp "$PKI/gw/ecdsa.crt" "$PKI/gw/ecdsa.key" "$PKI/gw/rsa.crt" "$PKI/gw/rsa.key" "$LIVE/"
kill -HUP "$(pgrep -f "mailgw -c $T_TMP/gw-live.conf" | head -1)"
sleep 0.5
assert_match "SIGHUP reloads too" "generation 2" "$(cat "$GW_LOG")"
assert_eq "after SIGHUP: the first certificate again" "$fp1" "$(fpr)"
wait "$load"; lrc=$?
[[ $lrc == 0 ]] || t_note "load: $(head -c 600 "$T_TMP/load.json") $(tail -3 "$T_TMP/load.err")"
read -r ok failed <<<"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["messages"]["ok"], d["messages"]["failed"])' "$T_TMP/load.json" 2>/dev/null)"
assert_eq "no session failed across three reloads (smtpgen exit status)" 0 "$lrc"
assert_eq "smtpgen relayed all 1500 messages over STARTTLS across the reloads" 1500 "${ok:-0}"
assert_eq "... none failed" 0 "${failed:-x}"
gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"

# ---- expiry warnings at start-up ----
t_check "a PKI whose certificates expire in 100 days" "$T_ROOT/tools/mkcerts" -q -o "$T_TMP/pki100" --days 100
sed -e "s|$PKI/gw/rsa.crt|$PKI/bad/expired.crt|; s|$PKI/gw/rsa.key|$PKI/bad/expired.key|" \
	-e "s|$PKI/gw/ecdsa.crt|$T_TMP/pki100/gw/ecdsa.crt|; s|$PKI/gw/ecdsa.key|$T_TMP/pki100/gw/ecdsa.key|" \
	-e 's|ca_file = "'"$PKI"'/ca/ca.crt"; };|ca_file = "'"$PKI"'/ca/ca.crt"; expiry_warning_days = 365; };|' \
	"$T_TMP/gw.conf" >"$T_TMP/gw2.conf"
: >"$GW_LOG"
t_check "gateway starts with an expired certificate beside a good one" gw_start "$T_TMP/gw2.conf"
assert_match "an expired certificate is logged as EXPIRED" "error: tls: certificate .*bad/expired\.crt .* EXPIRED on" \
	"$(cat "$GW_LOG")"
assert_match "a certificate inside expiry_warning_days is warned about" \
	"warning: tls: certificate .*pki100/gw/ecdsa\.crt .* expires in (99|100) day\(s\)" "$(cat "$GW_LOG")"
gw_stop
