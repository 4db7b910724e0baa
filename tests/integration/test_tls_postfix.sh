#!/usr/bin/env bash
# test_tls_postfix.sh — the TLS issue's acceptance test, with real Postfix on
# both sides:
#
#   smtp-source -> partner Postfix (mgw-ext, 127.0.0.1)  sending MTA:
#                    relayhost [203.0.113.1]:25, smtp_tls_security_level
#                    verify (test CA, name mx.gw.test), client certificate
#                    partner/client (CN=mail.partner.example)
#               -> mailgw (ECDSA + RSA certificates, tls.ca_file = test CA:
#                    client certificates requested and verified; route
#                    example.com -> 10.20.0.10:25 with tls_level "verify",
#                    its own client certificate gw/rsa)
#               -> next-hop Postfix (mgw-int, 10.20.0.10) smtpd_tls_security_level
#                    encrypt, nexthop/server certificate, smtpd_tls_ask_ccert,
#                    smtpd_tls_received_header, delivering into a Maildir
#
# 20 messages (2 KB, 64 KB with 3 recipients, 300 KB) give 32 Maildir files.
# Asserted: every file is what smtp-source sent (tests/lib/msgcheck.py,
# SHA-256) with exactly one Received: of mailgw; mailgw's Received: names
# the TLS version and cipher (with ESMTPS) for leg 1 and the next hop's
# Received: does for leg 2 (with the gateway's client certificate verified);
# the partner logs "Verified TLS connection established" to mailgw and
# status=sent for every message; mailgw logs the partner's certificate
# subject "(verified)" for the session of every relayed message, and a
# verified TLS connection to the next hop; mailgw's counters (tls.*,
# smtp.*, smtp_client.tls) agree with the logs, and no session sits stalled
# in DATA. (The per-message log line carries no TLS details: a note says so.)
# Negative row: a second partner that trusts only the other CA
# (other-ca/ca.crt) defers its mail ("certificate verification failed",
# "Server certificate not verified"), keeps it queued, and nothing of it
# reaches mailgw's relay or the next hop.
#
# TLSPF_KEEP=DIR keeps a copy of the test's files (Postfix maillogs, the
# gateway log, Maildir).
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"
source "$T_ROOT/tests/lib/postfix_tls.sh"

T0=$SECONDS
[[ -n ${TLSPF_KEEP:-} ]] && t_cleanup "rm -rf '$TLSPF_KEEP'; cp -a '$T_TMP' '$TLSPF_KEEP'"
MSGCHECK=$T_ROOT/tests/lib/msgcheck.py
EXP=$T_TMP/expected
PKI=$T_TMP/pki
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"
PARTNER_SUBJECT_RE='O ?= ?Partner Example.*CN ?= ?mail\.partner\.example'

# Runs through the partner: class size transactions recipients-per-message
RUNS=(
	"a2k     2k 10 1"
	"b64k   64k  6 3"
	"c300k 300k  4 1"
)
N_MSG=0 N_FILES=0
make_args=() check_args=()
for r in "${RUNS[@]}"; do
	read -r cls size n rc <<<"$r"
	make_args+=("$cls=$size")
	check_args+=(--expect-class "$cls=$((n * rc))")
	N_MSG=$((N_MSG + n)); N_FILES=$((N_FILES + n * rc))
done
t_check "expected messages generated" python3 "$MSGCHECK" --make "$EXP" "${make_args[@]}"

# ---- network, Postfix instances -----------------------------------------------
topo_two_ports
chmod 711 "$T_TMP"

# The next hop: TLS required (encrypt), client certificates asked for.
NH=$T_TMP/nexthop
t_check "next-hop Postfix set up" pf_setup "$NH" "$INT_HOST_IP"
t_check "next hop: smtpd_tls_security_level = encrypt" \
	pf_tls_smtpd "$NH" encrypt "$PKI/nexthop/server.key" "$PKI/nexthop/server.crt" "$PKI/ca/ca.crt"
postconf -c "$NH/etc" -e "myhostname = mx.int.example"
t_cleanup "pf_stop '$NH'"
t_check "next-hop Postfix starts in $INT_NS" pf_start "$INT_NS" "$NH"
MD=$NH/maildir

# The partner: a sending MTA on its own loopback, relaying to mailgw.
PA=$T_TMP/partner
t_check "partner Postfix set up" pf_setup "$PA" 127.0.0.1
t_check "partner: relayhost [$EXT_GW_IP]:25, smtp_tls_security_level = verify, client certificate" \
	pf_tls_sender "$PA" "[$EXT_GW_IP]:25" verify "$PKI/ca/ca.crt" mx.gw.test \
	"$PKI/partner/client.key" "$PKI/partner/client.crt"
postconf -c "$PA/etc" -e "myhostname = mail.partner.example"
t_cleanup "pf_stop '$PA'"
t_check "partner Postfix starts in $EXT_NS" pf_start "$EXT_NS" "$PA"

# The negative partner: the same, but it trusts only the other CA.
PB=$T_TMP/wrongca
ip -n "$EXT_NS" addr add 127.0.0.2/8 dev lo
t_check "wrong-CA partner Postfix set up" pf_setup "$PB" 127.0.0.2
t_check "wrong-CA partner: verify against other-ca/ca.crt" \
	pf_tls_sender "$PB" "[$EXT_GW_IP]:25" verify "$PKI/other-ca/ca.crt" mx.gw.test \
	"$PKI/partner/client.key" "$PKI/partner/client.crt"
postconf -c "$PB/etc" -e "myhostname = wrongca.partner.example"
t_cleanup "pf_stop '$PB'"
t_check "wrong-CA partner Postfix starts in $EXT_NS" pf_start "$EXT_NS" "$PB"

# ---- the gateway ----------------------------------------------------------------
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"example.com\" ]; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; },
                         { cert = \"$PKI/gw/rsa.crt\"; key = \"$PKI/gw/rsa.key\"; } );
  ca_file = \"$PKI/ca/ca.crt\";
  request_client_cert = true;
  client = { level = \"may\"; ca_file = \"$PKI/ca/ca.crt\";
             cert = \"$PKI/gw/rsa.crt\"; key = \"$PKI/gw/rsa.key\"; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; tls_level = \"verify\"; } );"
gw_config >"$T_TMP/gw.conf"
t_check "configuration is valid" "$T_BUILD/mailgw" --check-config -c "$T_TMP/gw.conf"
t_check "gateway starts" gw_start "$T_TMP/gw.conf"

CTRS=(tls.handshakes tls.version_1_2 tls.version_1_3 tls.resumed smtp_client.tls
	smtp_client.tls_verify_failed smtp_client.tls_handshake_failed
	smtp.messages_relayed smtp.rcpt_accepted smtp.messages_tempfailed smtp.messages_rejected)
declare -A C0
for n in "${CTRS[@]}"; do C0[$n]=$(gw_stat "$n"); done
delta() { echo $(($(gw_stat "$1") - ${C0[$1]:-0})); }

wait_log() {   # FILE REGEX MIN TIMEOUT: until FILE has MIN lines matching REGEX
	local end=$((SECONDS + $4))
	while (($(cat "$1" 2>/dev/null | grep -Ec "$2") < $3)); do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}

# ---- the traffic -----------------------------------------------------------------
for r in "${RUNS[@]}"; do
	read -r cls size n rc <<<"$r"
	file=$(ls "$EXP"/"$cls"-*.eml)
	ip netns exec "$EXT_NS" timeout 60 smtp-source -s 2 -m "$n" -r "$rc" -F "$file" \
		-f sender@partner.example -t user@example.com 127.0.0.1:25 >"$T_TMP/source-$cls.out" 2>&1
	assert_eq "smtp-source -> partner Postfix: $cls ($n x $size, $rc rcpt)" 0 "$?"
done
# The negative row: two messages through the partner that trusts the wrong CA.
ip netns exec "$EXT_NS" timeout 60 smtp-source -s 1 -m 2 -F "$EXP/$(cd "$EXP" && ls a2k-*.eml | head -1)" \
	-f sender@wrongca.partner.example -t wrongca@example.com 127.0.0.2:25 >"$T_TMP/source-wrongca.out" 2>&1
assert_eq "smtp-source -> wrong-CA partner Postfix: 2 messages" 0 "$?"

if pf_wait "$MD" "$N_FILES" 45; then
	t_ok "the next hop delivered all $N_FILES files ($N_MSG messages) within 45 s"
else
	t_fail "the next hop delivered all $N_FILES files ($N_MSG messages) within 45 s: $(pf_count "$MD") delivered"
	t_note "still queued at the partner: $(pf_queued "$PA")"
	{ gwctl show sessions; gwctl show connections; ip netns exec "$EXT_NS" ss -tnoi; } 2>&1 | sed 's/^/#   /'
fi
t_note "delivered $(pf_count "$MD") files $((SECONDS - T0)) s after the start"
# A session whose message data stopped moving (all of it received, the next
# hop's window open) sits in state "data" until its timeout.
assert_eq "mailgw: no SMTP session stalled in DATA for 20 s or more" 0 \
	"$(gwctl show sessions 2>/dev/null | awk '$5 == "data" && $6 >= 20' | wc -l)"
PB_LOG=$PB/maillog
t_check "wrong-CA partner: both messages deferred within 20 s" wait_log "$PB_LOG" 'status=deferred' 2 20

# ---- leg 0-1: the partner's view ----------------------------------------------------
PA_LOG=$PA/maillog
wait_log "$PA_LOG" 'status=sent' "$N_FILES" 10
assert_eq "partner: status=sent for every recipient" "$N_FILES" "$(grep -c 'status=sent' "$PA_LOG")"
assert_eq "partner: sent every recipient to mailgw (relay=$EXT_GW_IP, 250)" "$N_FILES" \
	"$(grep -c "relay=$EXT_GW_IP\[$EXT_GW_IP\]:25,.* status=sent (250 " "$PA_LOG")"
v=$(grep -c "Verified TLS connection established to $EXT_GW_IP\[$EXT_GW_IP\]:25: TLSv1\.[23] with cipher" "$PA_LOG")
assert_ge "partner: Verified TLS connection established to mailgw ($v connections)" "$v" 1
assert_eq "partner: no unverified or failed TLS towards mailgw" 0 \
	"$(grep -Ec "(Untrusted|Anonymous|Trusted) TLS connection|verification failed|TLS is required|lost connection" "$PA_LOG")"
assert_match "partner: it presented its client certificate (client-signature logged)" \
	"Verified TLS connection established to $EXT_GW_IP.*client-signature" "$(cat "$PA_LOG")"
assert_match "partner: mailgw served its ECDSA certificate (the partner's default signature algorithms)" \
	"Verified TLS connection established to $EXT_GW_IP.*server-signature ECDSA" "$(cat "$PA_LOG")"
assert_eq "partner: queue empty" 0 "$(pf_queued "$PA")"

# ---- mailgw's log ----------------------------------------------------------------------
sess_re="smtp: session=[^ ]+ client=$EXT_HOST_IP: TLS established: TLSv1\.[23] with cipher [^ ]+ \([0-9]+/[0-9]+ bits\)(, resumed)?, client certificate [^(]*$PARTNER_SUBJECT_RE[^(]* \(verified[,)]"
n_tls_sess=$(grep -Ec "client=$EXT_HOST_IP: TLS established" "$GW_LOG")
n_cc_sess=$(grep -Ec "$sess_re" "$GW_LOG")
assert_ge "mailgw: the partner's sessions are logged as TLS ($n_tls_sess)" "$n_tls_sess" 1
assert_eq "mailgw: every TLS session from the partner logs its client certificate subject (verified)" \
	"$n_tls_sess" "$n_cc_sess"
t_note "e.g. $(grep -m1 "client=$EXT_HOST_IP: TLS established" "$GW_LOG")"
# every relayed message came in a session whose TLS line names the verified partner certificate
mapfile -t cc_sessions < <(grep -E "$sess_re" "$GW_LOG" | sed -E 's/.*session=([^ ]+) .*/\1/' | sort -u)
mapfile -t msg_sessions < <(grep -E "smtp: msg=.* client=$EXT_HOST_IP:[0-9]+ .*status=sent" "$GW_LOG" |
	sed -E 's/.* session=([^ ]+) .*/\1/')
assert_eq "mailgw: a status=sent line for every message from the partner" "$N_MSG" "${#msg_sessions[@]}"
bad=0
for s in "${msg_sessions[@]}"; do
	[[ " ${cc_sessions[*]} " == *" $s "* ]] || bad=$((bad + 1))
done
assert_eq "mailgw: every relayed message's session carries the partner certificate (verified)" 0 "$bad"
assert_eq "mailgw: every message went to the next hop $INT_HOST_IP:25" "$N_MSG" \
	"$(grep -Ec "smtp: msg=.* nexthop=$INT_HOST_IP:25 .*status=sent" "$GW_LOG")"
nh_re="smtp client: next hop $INT_HOST_IP:25: TLS established: TLSv1\.[23] with cipher [^ ]+ \([0-9]+/[0-9]+ bits\), certificate verified"
n_nh=$(grep -Ec "$nh_re" "$GW_LOG")
assert_ge "mailgw: TLS to the next hop with its certificate verified ($n_nh connections)" "$n_nh" 1
assert_eq "mailgw: no failed TLS towards the next hop" 0 \
	"$(grep -Ec "next hop .*(not verified|cannot start TLS|handshake fail)" "$GW_LOG")"
# DESIGN §3: the message line names the TLS version and cipher both ways, and the client certificate
assert_eq "mailgw: every message line names TLS in (with the verified client certificate) and out" "$N_MSG" \
	"$(grep -Ec "smtp: msg=.* tls=TLSv1\.[23]/[A-Z0-9-]+/cert-verified .* nexthop=$INT_HOST_IP:25 tls_out=TLSv1\.[23]/[A-Z0-9-]+ .*status=sent" "$GW_LOG")"

# ---- mailgw's counters ---------------------------------------------------------------------
sleep 0.3
hs=$(delta tls.handshakes)
assert_eq "tls.handshakes: one per TLS session logged from the partner" "$n_tls_sess" "$hs"
assert_eq "tls.version_1_2 + tls.version_1_3 = tls.handshakes" "$hs" \
	"$(($(delta tls.version_1_2) + $(delta tls.version_1_3)))"
assert_eq "smtp.messages_relayed: $N_MSG" "$N_MSG" "$(delta smtp.messages_relayed)"
assert_eq "smtp.rcpt_accepted: $N_FILES" "$N_FILES" "$(delta smtp.rcpt_accepted)"
assert_eq "smtp.messages_tempfailed: 0" 0 "$(delta smtp.messages_tempfailed)"
assert_eq "smtp.messages_rejected: 0" 0 "$(delta smtp.messages_rejected)"
assert_eq "smtp_client.tls: one per TLS connection logged to the next hop" "$n_nh" "$(delta smtp_client.tls)"
assert_eq "smtp_client.tls_verify_failed / tls_handshake_failed: 0" "0 0" \
	"$(delta smtp_client.tls_verify_failed) $(delta smtp_client.tls_handshake_failed)"

# ---- the delivered messages ---------------------------------------------------------------
t_check "every delivered file is what was sent (SHA-256), with exactly one Received: of mailgw" \
	python3 "$MSGCHECK" --maildir "$MD" --expected "$EXP" --expect "$N_FILES" \
	--ours "(mailgw)" --ours-exactly 1 "${check_args[@]}" --report "$T_TMP/msgcheck.report"
# The Received fields of each file, top down: the next hop's, mailgw's, the partner's.
python3 - "$MD" >"$T_TMP/received.txt" <<'PY'
import os, re, sys
md = sys.argv[1]
for sub in ("new", "cur"):
    for name in sorted(os.listdir(os.path.join(md, sub))):
        fields, cur = [], None
        with open(os.path.join(md, sub, name), "rb") as f:
            for raw in f:
                line = raw.decode("latin-1").rstrip("\r\n")
                if line == "":
                    break
                if line[:1] in (" ", "\t") and cur is not None:
                    cur.append(line.strip())
                    continue
                if cur is not None:
                    fields.append(" ".join(cur))
                cur = [line] if line.lower().startswith("received:") else None
            if cur is not None:
                fields.append(" ".join(cur))
        print(name + "\t" + "\t".join(fields))
PY
leg1=0 leg2=0 leg2cc=0 order=0 nfiles=0
leg1_re='^Received: from mail\.partner\.example \(\[203\.0\.113\.10\]\) \(using TLSv1\.[23] with cipher [^ ]+ \([0-9]+/[0-9]+ bits\)\) by mx\.gw\.test \(mailgw\) with ESMTPS id '
leg2_re='^Received: from [^ ]+ \(unknown \[10\.20\.0\.1\]\) \(using TLSv1\.[23] with cipher [^)]+\) .*by mx\.int\.example \(Postfix\) with ESMTPS id '
while IFS=$'\t' read -r name f1 f2 f3 _; do
	nfiles=$((nfiles + 1))
	[[ $f2 =~ $leg1_re ]] && leg1=$((leg1 + 1))
	[[ $f1 =~ $leg2_re ]] && leg2=$((leg2 + 1))
	[[ $f1 =~ \(Client\ CN\ \"mx\.gw\.example\",\ Issuer\ \"mailgw\ test\ CA\"\ \(verified\ OK\)\) ]] && leg2cc=$((leg2cc + 1))
	[[ $f3 == *"by mail.partner.example (Postfix) with "*"SMTP id"* ]] && order=$((order + 1))
done <"$T_TMP/received.txt"
assert_eq "files read" "$N_FILES" "$nfiles"
assert_eq "leg 1: mailgw's Received: names TLS and its cipher, with ESMTPS (every file)" "$N_FILES" "$leg1"
assert_eq "leg 2: the next hop's Received: names TLS and its cipher, with ESMTPS (every file)" "$N_FILES" "$leg2"
assert_eq "leg 2: the next hop verified mailgw's client certificate (every file)" "$N_FILES" "$leg2cc"
assert_eq "leg 0: the partner's own Received: below mailgw's (every file)" "$N_FILES" "$order"
if ((leg1 != N_FILES || leg2 != N_FILES || leg2cc != N_FILES)); then
	t_note "Received fields of the first file:"
	head -1 "$T_TMP/received.txt" | tr '\t' '\n' | sed 's/^/#   /'
fi
NH_LOG=$NH/maillog
assert_ge "next hop: TLS connections from mailgw logged" \
	"$(grep -c "Trusted TLS connection established from unknown\[$INT_GW_IP\]" "$NH_LOG")" 1

# ---- the negative row: the partner that trusts the wrong CA ------------------------------
assert_match "wrong-CA partner: server certificate verification failed for mailgw" \
	"certificate verification failed for $EXT_GW_IP\[$EXT_GW_IP\]:25" "$(cat "$PB_LOG")"
assert_match "wrong-CA partner: deferred: Server certificate not verified" \
	"status=deferred \(Server certificate not verified\)" "$(cat "$PB_LOG")"
assert_eq "wrong-CA partner: no message sent" 0 "$(grep -c 'status=sent' "$PB_LOG")"
assert_eq "wrong-CA partner: both messages still in its queue" 2 "$(pf_queued "$PB")"
sleep 0.5
assert_eq "mailgw relayed nothing from the wrong-CA partner (no wrongca@ recipient logged)" 0 \
	"$(grep -c 'to=.*wrongca@example\.com' "$GW_LOG")"
assert_eq "the next hop got nothing for wrongca@example.com" 0 \
	"$(grep -ls 'X-Original-To: wrongca@example.com' "$MD"/new/* "$MD"/cur/* 2>/dev/null | wc -l)"
assert_eq "the next hop has exactly the $N_FILES files" "$N_FILES" "$(pf_count "$MD")"
assert_eq "smtp.messages_relayed still $N_MSG" "$N_MSG" "$(delta smtp.messages_relayed)"
# Postfix completes the handshake, finds the chain untrusted and says QUIT:
# mailgw sees sessions without a transaction, one per verification failure.
assert_eq "mailgw: one session without a transaction (quit) per failed verification" \
	"$(grep -c 'certificate verification failed' "$PB_LOG")" \
	"$(grep -Ec "smtp: session=[^ ]+ disconnect client=$EXT_HOST_IP:[0-9]+ .* transactions=0 .*reason=quit" "$GW_LOG")"

gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"
t_note "wall time $((SECONDS - T0)) s"
