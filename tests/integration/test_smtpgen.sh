#!/usr/bin/env bash
# test_smtpgen.sh — tools/smtpgen (issue 7, item 1), the load generator and
# verifying sink every performance claim rests on: small runs that check it
# counts exactly and catches what it must catch.
#   1. client -> sink, plaintext: size mix, several messages per connection
#      and recipients, PIPELINING off, open loop (--rate), --duration, a slow
#      client (--think); every body verified by the sink, counts equal on
#      both sides; the sink's wall-clock times of its first and last message.
#   2. STARTTLS: RSA and ECDSA side by side (the sink picks by ClientHello),
#      --resume 90 resumes, TLS 1.2 with a client certificate, an untrusted
#      CA and a wrong name fail the handshake; --handshake-only (set-ups
#      without mail, tools/bench/tls) and --groups in TLS 1.2 and 1.3.
#   3. integrity: --corrupt N bodies are caught by the sink (exit 1, the
#      mismatch count, the ids), and refused with 554 under --reject-mismatch.
#   4. the sink's failure modes: each --reply-STAGE (with --fail-pct) shows up
#      at the client with the configured code and the same count as the sink
#      sent; 421 closes; delays show in the latency; SIZE limits.
#   5. a private Postfix (tests/lib/smtp.sh) with STARTTLS: plaintext and
#      resumed-TLS runs, every Maildir file verified by `smtpgen verify`.
#   6. robustness: a server speaking garbage (every kind of bad reply,
#      disconnects, silence) and a client sending garbage to the sink: no
#      crash, every message accounted for, the sink still serves.
# Everything runs inside one private namespace on its loopback.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/netns.sh"
source "$T_ROOT/tests/lib/smtp.sh"

SG=$T_BUILD/smtpgen
NS=sg$NS_TAG
ADDR=127.0.0.1

if [[ ! -x $SG ]]; then
	t_fail "build/smtpgen exists (make smtpgen)"
	exit 1
fi
t_check "smtpgen selftest: hash definition, dot-stuffing, chunking, reply parser" "$SG" selftest
ns_create "$NS"

# ---- helpers -----------------------------------------------------------------

# jget FILE KEY.PATH: a value from a JSON report (0 when absent).
jget() {
	python3 - "$1" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print("unparsable"); sys.exit(0)
parts = sys.argv[2].split(".")
while parts and isinstance(d, dict):     # keys may hold dots ("TLSv1.3"): longest match first
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in d:
            d, parts = d[".".join(parts[:n])], parts[n:]
            break
    else:
        d = None
print(0 if d is None or d == {} or parts else d)
PY
}

# client NAME ARGS...: smtpgen client in $NS (--json into $T_TMP/NAME.json); status in CRC.
client() {
	local name=$1; shift
	ip netns exec "$NS" timeout 60 "$SG" client --json "$@" >"$T_TMP/$name.json" 2>"$T_TMP/$name.err"
	CRC=$?
	if [[ $(jget "$T_TMP/$name.json" mode) != client ]]; then
		t_note "client $name: no report (status $CRC):"
		sed 's/^/#   /' "$T_TMP/$name.err" | head -5
	fi
}
cj() { jget "$T_TMP/$1.json" "$2"; }      # cj NAME KEY: from client NAME's report
sj() { jget "$T_TMP/$1.sink.json" "$2"; } # sj NAME KEY: from sink NAME's report

# sink_up NAME PORT ARGS...: smtpgen sink in $NS on $ADDR:PORT, ready once its pid file is there.
declare -A SINK_JOB
sink_up() {
	local name=$1 port=$2 i; shift 2
	ip netns exec "$NS" "$SG" sink -L "$ADDR:$port" --pid-file "$T_TMP/$name.pid" \
		--json-report "$T_TMP/$name.sink.json" "$@" >"$T_TMP/$name.sink.out" 2>"$T_TMP/$name.sink.err" &
	SINK_JOB[$name]=$!
	t_cleanup "sink_kill $name"
	for ((i = 0; i < 100; i++)); do
		[[ -s $T_TMP/$name.pid ]] && return 0
		kill -0 "${SINK_JOB[$name]}" 2>/dev/null || break
		sleep 0.05
	done
	t_note "sink $name did not start:"; sed 's/^/#   /' "$T_TMP/$name.sink.err"
	return 1
}
sink_kill() { [[ -s $T_TMP/$1.pid ]] && kill -KILL "$(cat "$T_TMP/$1.pid")" 2>/dev/null; return 0; }
# sink_down NAME: SIGTERM; its exit status in SRC, its report in $T_TMP/NAME.sink.json.
sink_down() {
	local name=$1
	SRC=255
	[[ -s $T_TMP/$name.pid ]] || return 0
	kill -TERM "$(cat "$T_TMP/$name.pid")" 2>/dev/null
	wait "${SINK_JOB[$name]}"
	SRC=$?
	rm -f "$T_TMP/$name.pid"
}

# ---- certificates ------------------------------------------------------------

PKI=$T_TMP/pki
if [[ -x $T_ROOT/tools/mkcerts ]] && "$T_ROOT/tools/mkcerts" -q -o "$PKI" >/dev/null 2>&1; then
	RSA_CRT=$PKI/gw/rsa.crt; RSA_KEY=$PKI/gw/rsa.key
	EC_CRT=$PKI/gw/ecdsa.crt; EC_KEY=$PKI/gw/ecdsa.key
	CA=$PKI/ca/ca.crt; WRONG_CA=$PKI/other-ca/ca.crt
	CLI_CRT=$PKI/partner/client.crt; CLI_KEY=$PKI/partner/client.key
	t_ok "test PKI from tools/mkcerts"
else
	mkdir -p "$PKI"
	selfsigned() {  # NAME KEYOPTS... : $PKI/NAME.{crt,key}, CN and SAN mx.gw.test
		local n=$1; shift
		openssl req -x509 -nodes -days 2 -subj /CN=mx.gw.test -addext "subjectAltName=DNS:mx.gw.test" \
			"$@" -keyout "$PKI/$n.key" -out "$PKI/$n.crt" >/dev/null 2>&1
	}
	selfsigned rsa -newkey rsa:2048 && selfsigned ecdsa -newkey ec -pkeyopt ec_paramgen_curve:P-256 &&
		selfsigned client -newkey ec -pkeyopt ec_paramgen_curve:P-256 && selfsigned other -newkey rsa:2048
	RSA_CRT=$PKI/rsa.crt; RSA_KEY=$PKI/rsa.key; EC_CRT=$PKI/ecdsa.crt; EC_KEY=$PKI/ecdsa.key
	cat "$RSA_CRT" "$EC_CRT" "$PKI/client.crt" >"$PKI/ca.crt"
	CA=$PKI/ca.crt; WRONG_CA=$PKI/other.crt; CLI_CRT=$PKI/client.crt; CLI_KEY=$PKI/client.key
	t_check "throwaway certificates (openssl req -x509)" test -s "$EC_CRT"
fi

# ---- 1. plaintext: client -> sink --------------------------------------------

t_check "sink starts (plaintext)" sink_up plain 2525
client p1 -S $ADDR:2525 -s 20 -m 400 -d 4 -r 2 --size-mix 1k:40,8k:40,64k:15,512k:5
assert_eq "plain: exit status" 0 "$CRC"
assert_eq "plain: 400 messages ok" 400 "$(cj p1 messages.ok)"
assert_eq "plain: none failed" 0 "$(cj p1 messages.failed)"
assert_eq "plain: final replies 250 x400" 400 "$(cj p1 replies.250)"
assert_eq "plain: 2 recipients each (rcpt 250 x800)" 800 "$(cj p1 replies_by_stage.rcpt.250)"
# 4 per connection; near the end a connection may find fewer left (at most one per session)
conns=$(cj p1 connections)
assert_ge "plain: 4 messages per connection (100 connections, at most 20 more: $conns)" "$conns" 100
assert_ge "plain: ... not fewer per connection" 120 "$conns"
assert_eq "plain: a latency for every message" 400 "$(cj p1 latency_ms.start_to_final.count)"
client p2 -S $ADDR:2525 -s 5 -m 100 -r 3 --no-pipelining
assert_eq "no pipelining: 100 ok" 100 "$(cj p2 messages.ok)"
client p3 -S $ADDR:2525 -s 20 -m 200 --rate 400 --arrivals fixed
assert_eq "open loop (--rate 400): 200 arrivals" 200 "$(cj p3 open_loop.arrivals)"
assert_eq "open loop: 200 ok" 200 "$(cj p3 messages.ok)"
client p4 -S $ADDR:2525 -s 4 -d 10 --duration 0.5
p4=$(cj p4 messages.ok)
assert_ge "--duration 0.5: messages sent until then" "$p4" 10
assert_eq "--duration: nothing failed" 0 "$(cj p4 messages.failed)"
client p5 -S $ADDR:2525 -s 4 -m 8 --think 100
assert_eq "--think 100: 8 ok" 8 "$(cj p5 messages.ok)"
assert_ge "--think 100: EHLO, the MAIL group and the data each wait 50..150 ms (p50 $(cj p5 latency_ms.start_to_final.p50) ms)" \
	"$(cj p5 latency_ms.start_to_final.p50 | cut -d. -f1)" 150
ip netns exec "$NS" "$SG" client -S $ADDR:2525 -s 4 -m 40 -d 2 -l 10k >"$T_TMP/human.out" 2>&1
assert_match "human report: message line" "attempted 40  ok 40  failed 0" "$(cat "$T_TMP/human.out")"
t_note "a client report:"; sed 's/^/#   /' "$T_TMP/human.out"
sink_down plain
total=$((400 + 100 + 200 + p4 + 8 + 40))
assert_eq "sink: exit status 0" 0 "$SRC"
assert_eq "sink: received every message the clients sent" "$total" "$(sj plain messages.received)"
assert_eq "sink: every body verified" "$total" "$(sj plain messages.verified)"
assert_eq "sink: no mismatch" 0 "$(sj plain messages.mismatched)"
assert_eq "sink: recipients counted (rcpt 250)" $((800 + 300 + 200 + p4 + 8 + 40)) "$(sj plain replies_by_stage.rcpt.250)"
first=$(sj plain first_msg_unix | cut -d. -f1); last=$(sj plain last_msg_unix | cut -d. -f1)
assert_ge "sink: first_msg_unix is a wall-clock time of this run ($first)" "$first" "$(($(date +%s) - 600))"
assert_ge "sink: last_msg_unix not before first_msg_unix" "$last" "$first"
assert_ge "sink: last_msg_unix not in the future" "$(date +%s)" "$last"

# ---- 2. STARTTLS ----------------------------------------------------------------

t_check "sink starts (STARTTLS, RSA + ECDSA, client certificates requested)" sink_up tls 2526 \
	--starttls --cert "$RSA_CRT" --key "$RSA_KEY" --cert2 "$EC_CRT" --key2 "$EC_KEY" --request-client-cert --ca "$CA"
client t1 -S $ADDR:2526 -s 10 -m 300 --starttls --resume 90 --ca "$CA" --servername mx.gw.test
assert_eq "tls: exit status" 0 "$CRC"
assert_eq "tls: 300 ok" 300 "$(cj t1 messages.ok)"
assert_eq "tls: 300 handshakes (full + resumed)" 300 $(($(cj t1 tls.full) + $(cj t1 tls.resumed)))
assert_ge "tls: --resume 90 resumed most (resumed $(cj t1 tls.resumed))" "$(cj t1 tls.resumed)" 230
assert_ge "tls: full handshakes too" "$(cj t1 tls.full)" 10
assert_eq "tls: TLS 1.3 by default" 300 "$(cj t1 tls.versions.TLSv1.3)"
client t2 -S $ADDR:2526 -s 5 -m 50 --starttls --tls-version 1.2 --sigalgs RSA+SHA256 --resume 90 \
	--client-cert "$CLI_CRT" --client-key "$CLI_KEY" --ca "$CA" --servername mx.gw.test
assert_eq "tls 1.2 with RSA and a client certificate: 50 ok" 50 "$(cj t2 messages.ok)"
assert_eq "tls 1.2: version" 50 "$(cj t2 tls.versions.TLSv1.2)"
assert_ge "tls 1.2: session resumption" "$(cj t2 tls.resumed)" 25
client t5 -S $ADDR:2526 -s 4 -m 60 --starttls --handshake-only --tls-version 1.2 --groups P-256 \
	--sigalgs ECDSA+SHA256 --resume 100
assert_eq "handshake only: exit status" 0 "$CRC"
assert_eq "handshake only: 60 set-ups ok" 60 "$(cj t5 messages.ok)"
assert_eq "handshake only: one connection each" 60 "$(cj t5 connections)"
assert_eq "handshake only: 60 handshakes" 60 $(($(cj t5 tls.full) + $(cj t5 tls.resumed)))
assert_ge "handshake only, --resume 100: all but the first few resumed ($(cj t5 tls.resumed))" "$(cj t5 tls.resumed)" 50
assert_eq "handshake only: EHLO answered twice per connection" 120 "$(cj t5 replies_by_stage.ehlo.250)"
assert_eq "handshake only: no MAIL sent" 0 "$(cj t5 replies_by_stage.mail)"
assert_eq "handshake only: QUIT at the end" 60 "$(cj t5 replies_by_stage.quit.221)"
assert_eq "handshake only: a latency per set-up" 60 "$(cj t5 latency_ms.start_to_final.count)"
assert_eq "--groups P-256 in TLS 1.2: every full handshake on P-256" "$(cj t5 tls.full)" "$(cj t5 tls.groups.SECP256R1)"
client t6 -S $ADDR:2526 -s 2 -m 20 --starttls --handshake-only --groups X25519
assert_eq "--groups X25519 in TLS 1.3: 20 handshakes on X25519" 20 "$(cj t6 tls.groups.X25519)"
ip netns exec "$NS" "$SG" client -S $ADDR:2526 --starttls --handshake-only -d 2 >/dev/null 2>&1
assert_eq "--handshake-only with -d 2: usage error" 2 "$?"
ip netns exec "$NS" "$SG" client -S $ADDR:2526 --starttls --tls-version 1.2 --groups X448 >/dev/null 2>&1
assert_eq "--groups with an unknown group: usage error" 2 "$?"
client t3 -S $ADDR:2526 -s 2 -m 10 --starttls --ca "$WRONG_CA"
assert_eq "untrusted CA: exit status 1" 1 "$CRC"
assert_eq "untrusted CA: every message fails in the handshake" 10 "$(cj t3 failed_at.tls)"
client t4 -S $ADDR:2526 -s 2 -m 10 --starttls --ca "$CA" --servername wrong.example
assert_eq "wrong server name: every message fails in the handshake" 10 "$(cj t4 failed_at.tls)"
sink_down tls
assert_eq "tls sink: exit status 0" 0 "$SRC"
assert_eq "tls sink: 350 messages verified" 350 "$(sj tls messages.verified)"
assert_eq "tls sink: the RSA certificate only where the client could not take ECDSA" 50 "$(sj tls tls.served_rsa)"
assert_eq "tls sink: ECDSA for the others" 400 "$(sj tls tls.served_ecdsa)"
assert_eq "tls sink: handshakes agree with the clients" \
	$(($(cj t1 tls.resumed) + $(cj t2 tls.resumed) + $(cj t5 tls.resumed))) "$(sj tls tls.resumed)"
assert_ge "tls sink: client certificates seen" "$(sj tls tls.client_certs)" 1

# ---- 3. integrity -------------------------------------------------------------------

t_check "sink starts (integrity)" sink_up corrupt 2527
client c1 -S $ADDR:2527 -s 5 -m 100 --corrupt 10 --run-id corrupt1
assert_eq "corrupt: the client does not know (accepted, exit 0)" 0 "$CRC"
sink_down corrupt
assert_eq "corrupt: sink exits 1" 1 "$SRC"
assert_eq "corrupt: 10 mismatches" 10 "$(sj corrupt messages.mismatched)"
assert_eq "corrupt: 90 verified" 90 "$(sj corrupt messages.verified)"
assert_match "corrupt: the mismatching ids are reported" "corrupt1-10( |$)" "$(sj corrupt mismatched_ids)"
t_check "sink starts (--reject-mismatch)" sink_up corrupt2 2528 --reject-mismatch
client c2 -S $ADDR:2528 -s 5 -m 50 --corrupt 5
assert_eq "reject-mismatch: client exit 1" 1 "$CRC"
assert_eq "reject-mismatch: 554 x10 at the client" 10 "$(cj c2 replies.554)"
assert_eq "reject-mismatch: 250 x40" 40 "$(cj c2 replies.250)"
sink_down corrupt2
assert_eq "reject-mismatch: sink exits 1" 1 "$SRC"

# ---- 4. the sink's failure modes ---------------------------------------------------------

t_check "sinks start (one per failure mode)" eval '
	sink_up greet 2531 --reply-greeting "554 5.3.2 no service here" &&
	sink_up mail 2532 --reply-mail "451 4.3.0 try again later" --fail-pct mail:40 --seed 11 &&
	sink_up rcpt 2533 --reply-rcpt "550 5.1.1 no such user" &&
	sink_up data 2534 --reply-data "452 4.3.1 insufficient system storage" &&
	sink_up eod 2535 --reply-eod "554 5.6.0 content rejected" --fail-pct eod:25 --seed 5 &&
	sink_up e421 2536 --reply-eod "421 4.3.2 shutting down" &&
	sink_up delay 2537 --delay-greeting 50 --delay-eod 150 &&
	sink_up size 2538 --max-size 20k'
client f1 -S $ADDR:2531 -s 2 -m 20
assert_eq "greeting 554: client exit 1" 1 "$CRC"
assert_eq "greeting 554: every message fails at the greeting" 20 "$(cj f1 failed_at.greeting)"
assert_eq "greeting 554: 554 x20" 20 "$(cj f1 replies.554)"
client f2 -S $ADDR:2532 -s 4 -m 100 -d 5
n451=$(cj f2 replies.451)
assert_eq "mail 451 at 40 %: ok + 451 = 100" 100 $(($(cj f2 messages.ok) + n451))
assert_ge "mail 451 at 40 %: some refused ($n451)" "$n451" 20
assert_ge "mail 451 at 40 %: not all (ok $(cj f2 messages.ok))" "$(cj f2 messages.ok)" 30
assert_eq "mail 451: every refused message reset (RSET)" "$n451" "$(cj f2 replies_by_stage.rset.250)"
client f3 -S $ADDR:2533 -s 3 -m 30
assert_eq "rcpt 550: every message fails at RCPT" 30 "$(cj f3 failed_at.rcpt)"
assert_eq "rcpt 550: 550 x30" 30 "$(cj f3 replies.550)"
client f4 -S $ADDR:2534 -s 3 -m 30
assert_eq "data 452: every message fails at DATA" 30 "$(cj f4 failed_at.data)"
assert_eq "data 452: 452 x30" 30 "$(cj f4 replies.452)"
client f5 -S $ADDR:2535 -s 4 -m 100 -d 10
n554=$(cj f5 replies.554)
assert_ge "eod 554 at 25 %: some refused ($n554)" "$n554" 10
assert_eq "eod 554 at 25 %: the rest 250" $((100 - n554)) "$(cj f5 replies.250)"
client f6 -S $ADDR:2536 -s 2 -m 20 -d 5
assert_eq "eod 421: 421 x20" 20 "$(cj f6 replies.421)"
assert_eq "eod 421: the sink closes, one message per connection" 20 "$(cj f6 connections)"
client f7 -S $ADDR:2537 -s 2 -m 10
assert_eq "delays: 10 ok" 10 "$(cj f7 messages.ok)"
assert_ge "delays: end of data to final reply >= 150 ms (p50 $(cj f7 latency_ms.eod_to_final.p50))" \
	"$(cj f7 latency_ms.eod_to_final.p50 | cut -d. -f1)" 150
assert_ge "delays: start to final reply >= 200 ms" "$(cj f7 latency_ms.start_to_final.p50 | cut -d. -f1)" 200
client f8 -S $ADDR:2538 -s 2 -m 10 -l 40k
assert_eq "SIZE 20k: 40k messages refused at MAIL (SIZE=)" 10 "$(cj f8 failed_at.mail)"
assert_eq "SIZE 20k: 552 x10" 10 "$(cj f8 replies.552)"
for s in greet mail rcpt data eod e421 delay size; do sink_down $s; done
assert_eq "mail: the client saw as many 451 as the sink sent" "$(sj mail replies_by_stage.mail.451)" "$n451"
assert_eq "eod: the client saw as many 554 as the sink sent" "$(sj eod replies_by_stage.eod.554)" "$n554"
assert_eq "eod: every message verified, refused or not" 100 "$(sj eod messages.verified)"
assert_eq "rcpt: the sink sent 550 x30" 30 "$(sj rcpt replies_by_stage.rcpt.550)"

# ---- 5. Postfix ---------------------------------------------------------------------------

PF=$T_TMP/pfsg
chmod 711 "$T_TMP"
pf_ready() {
	pf_setup "$PF" "$ADDR" || return 1
	postconf -c "$PF/etc" -e "smtpd_tls_security_level = may" \
		"smtpd_tls_chain_files = $EC_KEY, $EC_CRT" "smtpd_tls_loglevel = 1" || return 1
	[[ -n $(postconf -c "$PF/etc" -M tlsmgr/unix 2>/dev/null) ]] ||
		echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr" >>"$PF/etc/master.cf"
	t_cleanup "pf_stop '$PF'"
	pf_start "$NS" "$PF"
}
if t_check "Postfix starts in the namespace (STARTTLS offered)" pf_ready; then
	client pf1 -S $ADDR:25 -s 10 -m 150 -r 2 --size-mix 2k:50,16k:40,128k:10
	assert_eq "Postfix: 150 plaintext messages ok" 150 "$(cj pf1 messages.ok)"
	client pf2 -S $ADDR:25 -s 5 -m 100 -d 2 --starttls --resume 90 --ca "$CA"
	assert_eq "Postfix STARTTLS: 100 ok" 100 "$(cj pf2 messages.ok)"
	assert_ge "Postfix STARTTLS: sessions resumed ($(cj pf2 tls.resumed) of $(cj pf2 connections))" "$(cj pf2 tls.resumed)" 25
	t_check "Postfix delivered 400 files (one per recipient)" postfix_wait pfsg 400 40
	out=$("$SG" verify "$PF/maildir")
	assert_eq "every delivered file verifies (smtpgen verify)" \
		"files 400 verified 400 mismatched 0 missing_hash 0 unreadable 0" "$(tail -1 <<<"$out")"
	assert_ge "Postfix logged the TLS sessions" "$(grep -c 'TLS connection established' "$PF/maillog")" 50
fi

# ---- 6. robustness ----------------------------------------------------------------------------

cat >"$T_TMP/evil.py" <<'PY'
# evil.py PORT: an SMTP server misbehaving in 13 ways, one per connection in turn.
import socket, sys, threading, random, time
def lines(f):
    while True:
        l = f.readline()
        if not l: return
        yield l
def proper(c, f, final=b"250 ok\r\n", data_reply=b"354 go\r\n", tls=False):
    c.sendall(b"220 evil\r\n")
    for l in lines(f):
        v = l[:4].upper()
        if v in (b"EHLO", b"HELO"):
            c.sendall(b"250-evil\r\n250-PIPELINING\r\n" + (b"250-STARTTLS\r\n" if tls else b"") + b"250 8BITMIME\r\n")
        elif v == b"STAR": c.sendall(b"220 go\r\n\x16\x03\x03\x00\x05hello garbage"); return
        elif v in (b"MAIL", b"RCPT", b"RSET"): c.sendall(b"250 ok\r\n")
        elif v == b"DATA":
            c.sendall(data_reply)
            if not data_reply.startswith(b"354"): continue
            for d in lines(f):
                if d == b".\r\n": break
            c.sendall(final)
        elif v == b"QUIT": c.sendall(b"221 bye\r\n"); return
def handle(c, k):
    f = c.makefile("rb")
    try:
        m = k % 13
        if m == 0: c.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
        elif m == 1: pass
        elif m == 2: c.sendall(b"220 x\r\n"); f.readline()
        elif m == 3: c.sendall(b"220 x\r\n"); time.sleep(2)
        elif m == 4: c.sendall(bytes(random.getrandbits(8) for _ in range(3000)))
        elif m == 5: c.sendall(b"220 " + b"x" * 5000); time.sleep(0.3)
        elif m == 6: c.sendall(b"220-a\r\n230 b\r\n")
        elif m == 7: proper(c, f, data_reply=b"250 what\r\n")
        elif m == 8:
            c.sendall(b"220 x\r\n"); f.readline(); c.sendall(b"250 x\r\n"); f.readline()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        elif m == 9: proper(c, f, final=b"\x00\x01garbage\r\n")
        elif m == 10: proper(c, f, final=b"421 4.3.2 going down\r\n")
        elif m == 11: proper(c, f, tls=True)
        elif m == 12: c.sendall(b"220 x\r\n250 unsolicited\r\n250 more\r\n"); time.sleep(0.3)
    except OSError: pass
    finally: c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128)
print("ready", flush=True)
n = 0
while True:
    c, _ = s.accept(); n += 1
    threading.Thread(target=handle, args=(c, n), daemon=True).start()
PY
ip netns exec "$NS" python3 "$T_TMP/evil.py" 2600 >"$T_TMP/evil.out" 2>&1 &
EVIL=$!
t_cleanup "kill $EVIL"
for ((i = 0; i < 50; i++)); do grep -q ready "$T_TMP/evil.out" 2>/dev/null && break; sleep 0.1; done
client r1 -S $ADDR:2600 -s 4 -m 52 --timeout 1
assert_eq "garbage server: client exits 1, no crash" 1 "$CRC"
assert_eq "garbage server: every message accounted for" 52 $(($(cj r1 messages.ok) + $(cj r1 messages.failed)))
assert_ge "garbage server: bad replies recognised" "$(cj r1 errors.bad_reply)" 8
assert_ge "garbage server: a silent server times out" "$(cj r1 errors.timeout)" 1
client r2 -S $ADDR:2600 -s 4 -m 26 -d 3 --no-pipelining --starttls --timeout 1
assert_eq "garbage server, STARTTLS: client exits 1, no crash" 1 "$CRC"
assert_eq "garbage server, STARTTLS: every message accounted for" 26 $(($(cj r2 messages.ok) + $(cj r2 messages.failed)))
client r3 -S $ADDR:2600 -s 3 -m 26 --rate 200 --timeout 1
assert_eq "garbage server, open loop: every message accounted for" 26 $(($(cj r3 messages.ok) + $(cj r3 messages.failed)))

t_check "sink starts (garbage clients)" sink_up rob 2540 --starttls --cert "$RSA_CRT" --key "$RSA_KEY" \
	--max-sessions 20 --timeout 2
ip netns exec "$NS" timeout 30 python3 - 2540 <<'PY' >"$T_TMP/evilc.out" 2>&1
import socket, sys, os, time
port = int(sys.argv[1])
def rd(s):
    try: return s.recv(65536)
    except OSError: return b""
cases = [
    os.urandom(5000),
    b"EHLO " + b"a" * 70000 + b"\r\nNOOP\r\n",
    b"EHLO x\r\nSTARTTLS\r\n" + os.urandom(3000),
    b"EHLO x\r\n" + b"MAIL FROM:<a>\r\nRCPT TO:<b>\r\nRSET\r\n" * 5000,
    b"EHLO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n",
    b"EHLO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n\x00\x00\r\n.\r\nQUIT\r\n",
    b"\r\n\r\n.\r\n" * 100 + b"QUIT\r\n",
    b"EHLO x\r\nSTARTTLS\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(600),
    b"MAIL FROM:<a>\r\nDATA\r\nBDAT 10 LAST\r\nRCPT TO:<b>\r\n",
]
held = []
for k in range(60):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        rd(s); s.sendall(cases[k % len(cases)]); rd(s)
        if k % len(cases) == 4: held.append(s)   # silent mid-DATA: the sink times out
        else: s.close()
    except OSError:
        pass
print("done")
PY
client r4 -S $ADDR:2540 -s 10 -m 100 --starttls
assert_eq "after garbage clients the sink still serves: 100 ok" 100 "$(cj r4 messages.ok)"
sink_down rob
assert_eq "garbage clients: sink exits 0 (nothing mismatched)" 0 "$SRC"
assert_ge "garbage clients: the good messages verified" "$(sj rob messages.verified)" 100
assert_eq "garbage clients: no mismatch" 0 "$(sj rob messages.mismatched)"
