#!/usr/bin/env bash
# test_tls_resume.sh — TLS resumption and certificate choice (issue 5, items
# 3, 6 and 8), with two workers (af_packet fan-out spreads connections):
#   - session tickets: keys shared by both workers (every resumption from
#     one ticket succeeds, whichever worker gets the connection), kept across
#     `reload certs`, rotated every tls.ticket_key_rotation seconds (a ticket
#     of the previous key is accepted and renewed), unknown after a restart;
#   - session IDs: each worker's own cache (a resumption is found only on
#     the worker that made the session; counted as hits and misses);
#   - a client certificate survives resumption exactly: tickets of sessions
#     with one are refused (a ticket cannot carry it), a session ID resumed
#     from the cache keeps its subject and verification result;
#   - SNI: a third certificate with another host name is served to clients
#     that ask for that name (unless their signature algorithms rule its key
#     out), the default otherwise;
#   - counters per cipher suite and key-exchange group, and handshake
#     failures by reason (the client's alert, its disappearance, a timeout);
#   - outbound: the next hop's session (smtpgen sink, TLS, level verify) is
#     resumed by the next connection, with the verified certificate result of
#     the full handshake.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

PKI=$T_TMP/pki
SG=$T_BUILD/smtpgen
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"
# A certificate for another host name we serve (ECDSA, from the test CA).
OTHER=$T_TMP/other
mkdir -p "$OTHER"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OTHER/other.key" \
	-subj "/O=mailgw test/CN=mail.other.example" -out "$OTHER/other.csr" 2>/dev/null &&
	openssl x509 -req -in "$OTHER/other.csr" -CA "$PKI/ca/ca.crt" -CAkey "$PKI/ca/ca.key" \
		-set_serial 0x$(openssl rand -hex 8) -days 30 -out "$OTHER/other.crt" \
		-extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:mail.other.example\n') \
		2>/dev/null
t_check "a certificate for mail.other.example from the test CA" \
	eval 'openssl verify -CAfile "$PKI/ca/ca.crt" "$OTHER/other.crt" >/dev/null'

topo_two_ports
GW_WORKERS="[0, 1]"
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"example.com\" ];
  relay_networks = [ \"10.20.0.0/24\" ]; client = { cache_size = 0; }; timeouts = { command = 5; }; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; },
                   { cert = \"$PKI/gw/rsa.crt\"; key = \"$PKI/gw/rsa.key\"; },
                   { cert = \"$OTHER/other.crt\"; key = \"$OTHER/other.key\"; } );
  ca_file = \"$PKI/ca/ca.crt\"; session_timeout = 60; ticket_key_rotation = 4;
  client = { ca_file = \"$PKI/ca/ca.crt\"; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"10.20.0.10:25\" ]; tls_level = \"verify\"; } );"
gw_config >"$T_TMP/gw.conf"

SINK_PID_FILE=$T_TMP/sink.pid
ip netns exec "$INT_NS" "$SG" sink -L "$INT_HOST_IP:25" --pid-file "$SINK_PID_FILE" --starttls \
	--cert "$PKI/nexthop/server.crt" --key "$PKI/nexthop/server.key" --hostname mx.int.example \
	>"$T_TMP/sink.out" 2>"$T_TMP/sink.err" &
t_cleanup '[[ -s $SINK_PID_FILE ]] && kill -TERM "$(cat "$SINK_PID_FILE")"'
for ((i = 0; i < 100; i++)); do [[ -s $SINK_PID_FILE ]] && break; sleep 0.05; done
t_check "next hop (smtpgen sink with STARTTLS) starts" test -s "$SINK_PID_FILE"
t_check "gateway starts with two workers and three certificates" gw_start "$T_TMP/gw.conf"

stat_() { gw_stat "$1"; }

# sc ARGS...: one STARTTLS session that only says QUIT; s_client's output.
sc() {
	echo QUIT | (sleep 0.3; cat) | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp \
		-connect "$EXT_GW_IP:25" -CAfile "$PKI/ca/ca.crt" "$@" 2>&1
}
# resumes N NAME ARGS...: a full handshake saving the session, then N resumptions from it;
# prints "New" or "Reused" per connection.
resumes() {
	local n=$1 name=$2 i out; shift 2
	out=$(sc -sess_out "$T_TMP/sess-$name" "$@" | sed -n 's/^\(New\|Reused\), .*/\1/p')
	for ((i = 0; i < n; i++)); do
		out+=" "$(sc -sess_in "$T_TMP/sess-$name" "$@" | sed -n 's/^\(New\|Reused\), .*/\1/p')
	done
	echo "$out"
}
count() { tr ' ' '\n' <<<"$2" | grep -c "^$1$"; }

# ---- tickets shared by both workers ----
R="New"; for ((i = 0; i < 16; i++)); do R+=" Reused"; done
for v in 1_2 1_3; do
	assert_eq "TLS ${v/_/.} ticket: 16 resumptions on either worker all succeed" "$R" "$(resumes 16 t$v -tls$v)"
done
assert_match "tickets issued are counted" "^[1-9][0-9]*$" "$(stat_ tls.tickets_issued)"

# ---- session IDs: each worker's own cache ----
u0=$(stat_ tls.session_cache_hits); m0=$(stat_ tls.session_cache_misses)
out=$(resumes 16 sid -tls1_2 -no_ticket)
hits=$(($(stat_ tls.session_cache_hits) - u0)); misses=$(($(stat_ tls.session_cache_misses) - m0))
assert_eq "session IDs: every resumption was looked up (hits + misses = 16)" 16 $((hits + misses))
assert_eq "session IDs: the Reused sessions are the cache hits" "$hits" "$(count Reused "$out")"
assert_match "session IDs: some found on the worker that made the session" "^[1-9]" "$hits"
assert_match "session IDs: some missed on the other worker (caches are per worker)" "^[1-9]" "$misses"
t_note "session ID resumption over 2 workers: $hits hits, $misses misses"

# ---- SNI: the certificate for the host name asked for ----
subj() { sc "$@" </dev/null | sed -n 's/^subject=.*CN = //p' | head -1; }
keyof() { sc "$@" </dev/null | sed -n 's/^Server public key is \([0-9]*\) bit/\1/p' | head -1; }
assert_eq "no SNI: the default (first) ECDSA certificate" "mx.gw.example" "$(subj -tls1_3 -noservername)"
assert_eq "SNI mx.gw.test: the gateway's certificate" "mx.gw.example" "$(subj -tls1_3 -servername mx.gw.test)"
assert_eq "SNI mail.other.example: that certificate" "mail.other.example" "$(subj -tls1_3 -servername mail.other.example)"
assert_eq "SNI mail.other.example over TLS 1.2: that certificate" "mail.other.example" \
	"$(subj -tls1_2 -servername mail.other.example)"
assert_eq "SNI MAIL.Other.Example (any case): that certificate" "mail.other.example" \
	"$(subj -tls1_3 -servername MAIL.Other.Example)"
assert_eq "SNI unknown.example: the default" "mx.gw.example" "$(subj -tls1_3 -servername unknown.example)"
assert_eq "SNI mail.other.example, RSA-only client: the RSA certificate (its key type wins over the name)" \
	"2048" "$(keyof -tls1_3 -servername mail.other.example -sigalgs 'RSA-PSS+SHA256:RSA+SHA256')"
out=$(printf 'EHLO partner.test\nQUIT\n' | (sleep 0.5; cat) | ip netns exec "$EXT_NS" timeout 20 \
	openssl s_client -starttls smtp -connect "$EXT_GW_IP:25" -CAfile "$PKI/ca/ca.crt" -tls1_3 \
	-servername mail.other.example -verify_hostname mail.other.example -verify_return_error -crlf -ign_eof 2>&1)
assert_match "SNI mail.other.example: verified for that name, SMTP goes on" "Verify return code: 0.*250-ENHANCEDSTATUSCODES" \
	"$(tr '\n' ' ' <<<"$out")"

# ---- counters per suite and group ----
c0=$(stat_ tls.cipher_tls13_aes256_gcm_sha384); g0=$(stat_ tls.curve_secp384r1)
c1=$(stat_ tls.cipher_ecdhe_rsa_chacha20_poly1305); g1=$(stat_ tls.curve_x25519); n0=$(stat_ tls.curve_none)
sc -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -groups P-384 >/dev/null
sc -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305 -groups X25519 -sess_out "$T_TMP/sess-cc" >/dev/null
sc -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305 -groups X25519 -sess_in "$T_TMP/sess-cc" >/dev/null
sleep 0.3
assert_eq "tls.cipher_tls13_aes256_gcm_sha384 counts its session" $((c0 + 1)) "$(stat_ tls.cipher_tls13_aes256_gcm_sha384)"
assert_eq "tls.curve_secp384r1 counts its session" $((g0 + 1)) "$(stat_ tls.curve_secp384r1)"
assert_eq "tls.cipher_ecdhe_rsa_chacha20_poly1305: the full and the resumed session" $((c1 + 2)) \
	"$(stat_ tls.cipher_ecdhe_rsa_chacha20_poly1305)"
assert_eq "tls.curve_x25519 counts the full TLS 1.2 handshake" $((g1 + 1)) "$(stat_ tls.curve_x25519)"
assert_eq "tls.curve_none counts the TLS 1.2 resumption (no key exchange)" $((n0 + 1)) "$(stat_ tls.curve_none)"
sum=0
for c in $(gw_stats | awk '$1 ~ /^tls\.cipher_/ { print $2 }'); do sum=$((sum + c)); done
assert_eq "the suite counters add up to tls.handshakes" "$(stat_ tls.handshakes)" "$sum"

# ---- resumption never loses or upgrades a client certificate ----
t0=$(stat_ tls.tickets_client_cert)
CC=(-cert "$PKI/partner/client.crt" -key "$PKI/partner/client.key")
assert_eq "TLS 1.3: a ticket of a session with a client certificate is refused (full handshakes)" \
	"New New New" "$(resumes 2 cc13 -tls1_3 "${CC[@]}")"
assert_eq "TLS 1.2: the same" "New New New" "$(resumes 2 cc12 -tls1_2 "${CC[@]}")"
assert_eq "tls.tickets_client_cert counts the 4 refused tickets" $((t0 + 4)) "$(stat_ tls.tickets_client_cert)"
v_re="TLS established: TLSv1\.2 .*, resumed, client certificate .*CN=mail\.partner\.example \(verified, SPKI"
n_re="TLS established: TLSv1\.2 .*, resumed, client certificate .*CN=mail\.partner\.example \(not verified, SPKI"
v0=$(grep -Ec "$v_re" "$GW_LOG"); n0=$(grep -Ec "$n_re" "$GW_LOG")
out=$(resumes 12 ccid -tls1_2 -no_ticket "${CC[@]}")
sleep 0.3
assert_match "session ID with a verified client certificate: some resumed (same worker)" "^[1-9]" "$(count Reused "$out")"
assert_eq "... each resumed session shows the certificate, verified, as its full handshake did" \
	"$(count Reused "$out")" $(($(grep -Ec "$v_re" "$GW_LOG") - v0))
out=$(resumes 12 ccoid -tls1_2 -no_ticket -cert "$PKI/partner/client-other-ca.crt" -key "$PKI/partner/client-other-ca.key")
sleep 0.3
assert_match "session ID with a client certificate from another CA: some resumed" "^[1-9]" "$(count Reused "$out")"
assert_eq "... each resumed session still says not verified" "$(count Reused "$out")" $(($(grep -Ec "$n_re" "$GW_LOG") - n0))
assert_eq "... and none claims verified" "$(count Reused "$out")" \
	"$(grep -E "TLS established: TLSv1\.2 .*, resumed, client certificate .*CN=mail\.partner\.example" "$GW_LOG" | tail -n "$(count Reused "$out")" | grep -c "(not verified")"

# ---- tickets across reload certs and key rotation ----
out=$(sc -tls1_3 -sess_out "$T_TMP/sess-rot" | sed -n 's/^\(New\|Reused\), .*/\1/p')
assert_match "reload certs" "certificates reloaded" "$(gwctl reload certs)"
assert_eq "a ticket issued before reload certs still resumes" "Reused" \
	"$(sc -tls1_3 -sess_in "$T_TMP/sess-rot" | sed -n 's/^\(New\|Reused\), .*/\1/p')"
r0=$(stat_ tls.tickets_renewed)
k0=$(grep -c "session-ticket key" "$GW_LOG")
for ((i = 0; i < 100; i++)); do   # the next rotation (every 4 s)
	(($(grep -c "session-ticket key" "$GW_LOG") > k0)) && break
	sleep 0.1
done
assert_match "the ticket key rotates on its interval (logged)" "tls: session-ticket key [2-9][0-9]* in use \(2 key" \
	"$(cat "$GW_LOG")"
sleep 0.2
assert_eq "a ticket of the previous key still resumes" "Reused" \
	"$(sc -tls1_3 -sess_in "$T_TMP/sess-rot" | sed -n 's/^\(New\|Reused\), .*/\1/p')"
assert_eq "... and is renewed under the new key (tls.tickets_renewed)" $((r0 + 1)) "$(stat_ tls.tickets_renewed)"

# ---- outbound: the next hop's session resumed (each worker keeps its own) ----
o0=$(stat_ smtp_client.tls_resumed)
l0=$(wc -l <"$GW_LOG")
for i in 1 2 3 4 5 6; do
	swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --from p@partner.test --to "user$i@example.com" \
		--header "Subject: resume $i" --body "outbound resumption $i" --tls
	assert_match "message $i relayed over TLS (level verify)" "<~  250 " "$(cat "$SWAKS_OUT")"
done
sleep 0.3
nh=$(tail -n +"$((l0 + 1))" "$GW_LOG" | grep "smtp client: next hop 10.20.0.10:25: TLS established")
expect=0
for wk in $(sed -n 's/.*\(worker[0-9]*\): .*/\1/p' <<<"$nh" | sort | uniq -c | awk '{ print $1 }'); do
	expect=$((expect + wk - 1))      # on each worker, every connection after its first resumes
done
assert_eq "outbound: six TLS connections to the next hop" 6 "$(grep -c . <<<"$nh")"
assert_eq "outbound: each worker's later connections resumed its first one's session ($expect)" \
	$((o0 + expect)) "$(stat_ smtp_client.tls_resumed)"
assert_eq "outbound: and the log says so for each" "$expect" "$(grep -c ", resumed, certificate verified" <<<"$nh")"

# ---- handshake failures by reason ----
a0=$(stat_ tls.failed_peer_alert); c0=$(stat_ tls.failed_closed); t0=$(stat_ tls.failed_timeout)
sc -tls1_2 -CAfile "$PKI/other-ca/ca.crt" -verify_return_error >/dev/null   # TLS 1.3: see the note in tls_classify()
starttls_then() {   # starttls_then PYTHON-BYTES [WAIT]: STARTTLS, then send the bytes and close after WAIT s
	ip netns exec "$EXT_NS" python3 - "$EXT_GW_IP" "$1" "${2:-0.2}" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 25), timeout=15)
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO x.test\r\n")
while not f.readline().startswith(b"250 "):
    pass
s.sendall(b"STARTTLS\r\n"); f.readline()
s.sendall(eval(sys.argv[2]))
t = time.time()
try:
    s.settimeout(float(sys.argv[3]))
    print("closed" if s.recv(100) == b"" else "data", round(time.time() - t))
except socket.timeout:
    print("open")
s.close()
PY
}
starttls_then 'bytes([22, 3, 1, 0, 200, 1, 0, 0])' >/dev/null  # a ClientHello cut short, then gone
out=$(starttls_then 'b""' 12)
assert_match "a client silent after STARTTLS is closed after smtp.timeouts.command (5 s)" "^closed [4-7]$" "$out"
sleep 0.3
assert_eq "tls.failed_peer_alert: a client that did not trust our certificate" $((a0 + 1)) "$(stat_ tls.failed_peer_alert)"
assert_eq "tls.failed_closed: a client gone in the middle of its ClientHello" $((c0 + 1)) "$(stat_ tls.failed_closed)"
assert_eq "tls.failed_timeout: the silent one" $((t0 + 1)) "$(stat_ tls.failed_timeout)"
assert_match "the log names the timeout" "reason=TLS handshake timed out" "$(cat "$GW_LOG")"

# ---- after a restart, old tickets name an unknown key: a full handshake ----
gw_stop
t_check "gateway restarts" gw_start "$T_TMP/gw.conf"
assert_eq "a ticket of the previous run: a full handshake" "New" \
	"$(sc -tls1_3 -sess_in "$T_TMP/sess-rot" | sed -n 's/^\(New\|Reused\), .*/\1/p')"
assert_eq "... counted as tls.tickets_unknown_key" 1 "$(stat_ tls.tickets_unknown_key)"
