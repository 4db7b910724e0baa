#!/usr/bin/env bash
# test_smtp.sh — the gateway's SMTP server against its contract (the reply
# list in app/smtp/smtp_server.h), issue 4's acceptance: every command with
# its exact reply and enhanced code, PIPELINING, each limit and each client
# timeout, open-relay attempts from the partner side, SMTP smuggling probes,
# `show sessions`, counters and the log lines.
#
# Topology (tests/lib/gw.sh): partners in $EXT_NS (203.0.113.10), the
# internal side in $INT_NS (10.20.0.10, inside smtp.relay_networks). Next
# hops are tests/lib/nexthop.py with --record: example.com and *.example.com
# go to $INT_NS:25 (int.jsonl), everything else to $EXT_NS:2525 (ext.jsonl),
# so what was (not) relayed is read from those files.
#
# Three gateway runs:
#   main    every command, syntax and sequence errors, PIPELINING, the
#           command_line/text_line/message_size limits, a client closing
#           during DATA, open relay, smuggling, show sessions, the message
#           and session log lines;
#   limits  recipients, messages_per_session, errors_per_session,
#           sessions_per_worker, sessions_per_client, and the command/data
#           timeouts (2 s);
#   rate    connection_rate_per_client.
# Ordinary conversations use swaks; exact bytes (pipelined batches, bare CR
# and LF, smuggling) a small Python client ($T_TMP/raw.py, below).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"
source "$(dirname "$0")/../lib/smtp.sh"

HOST=mx.gw.test
REC_INT=$T_TMP/int.jsonl        # what the internal next hop (example.com) received
REC_EXT=$T_TMP/ext.jsonl        # what the default route's next hop received
touch "$REC_INT" "$REC_EXT"

# ---- helpers -----------------------------------------------------------------

cat >"$T_TMP/raw.py" <<'PY'
# raw.py ADDR[:PORT] STEP...: one SMTP connection driven with exact bytes;
# prints one line per reply (the lines of a multi-line reply joined by " / ").
#   s:TEXT   send TEXT (Python escapes: \r \n \x00 ...)
#   r / rN   read one / N replies ("eof" or "timeout" (10 s) instead when so);
#            r:S / rN:S with a timeout of S s
#   q:S      "quiet" if nothing arrives within S s, else "extra: ..." / "eof"
#   e:S      "eof" if the server closes within S s, else "noeof" (data seen
#            on the way is printed first as "extra: ...")
#   T        "time=S.S": seconds since the last send (or the connect)
#   z:S      sleep S s
import socket, sys, time
addr, _, port = sys.argv[1].partition(":")
s = socket.create_connection((addr, int(port or 25)), timeout=10)
buf = b""
last = time.time()

def fill(tmo):
    global buf
    s.settimeout(tmo)
    try:
        d = s.recv(65536)
    except socket.timeout:
        return None
    except ConnectionError:
        d = b""
    buf += d
    return d

def read_reply(tmo=10.0):
    global buf
    lines = []
    end = time.time() + tmo
    while True:
        i = buf.find(b"\n")
        if i < 0:
            left = end - time.time()
            d = fill(left) if left > 0 else None
            if d is None:
                return " / ".join(lines + ["timeout"])
            if not d:
                return " / ".join(lines + ["eof"])
            continue
        line, buf = buf[:i + 1], buf[i + 1:]
        t = line.decode("latin-1").rstrip("\r\n")
        lines.append(t)
        if len(t) < 4 or t[3] != "-":
            return " / ".join(lines)

for step in sys.argv[2:]:
    op, _, arg = step.partition(":")
    if op == "s":
        try:
            s.sendall(arg.encode("utf-8").decode("unicode_escape").encode("latin-1"))
        except OSError as e:
            print("send failed: %s" % e, flush=True)
        last = time.time()
    elif op[0] == "r":
        for _ in range(int(op[1:] or 1)):
            print(read_reply(float(arg or 10)), flush=True)
    elif op == "q":
        if buf:
            print("extra: %r" % buf, flush=True)
            buf = b""
        else:
            d = fill(float(arg))
            print("quiet" if d is None else ("extra: %r" % d) if d else "eof", flush=True)
            buf = b""
    elif op == "e":
        end = time.time() + float(arg)
        extra, res = buf, "noeof"
        buf = b""
        while time.time() < end:
            d = fill(max(0.01, end - time.time()))
            if d == b"":
                res = "eof"
                break
            if d:
                extra += d
                buf = b""
        if extra:
            print("extra: %r" % extra, flush=True)
        print(res, flush=True)
    elif op == "T":
        print("time=%.1f" % (time.time() - last), flush=True)
    elif op == "z":
        time.sleep(float(arg))
s.close()
PY

# raw NS ADDR STEP...: raw.py inside NS.
raw() { local ns=$1; shift; ip netns exec "$ns" timeout 60 python3 "$T_TMP/raw.py" "$@" 2>&1; }
ext_raw() { raw "$EXT_NS" "$EXT_GW_IP" "$@"; }
int_raw() { raw "$INT_NS" "$INT_GW_IP" "$@"; }

# expect NAME OUTPUT LABEL EXPECTED [LABEL EXPECTED]...: line i of OUTPUT is
# EXPECTED i (exactly, or a regex when it starts with "~"); and no more lines.
expect() {
	local name=$1 out=$2 i=1 want got; shift 2
	local -a lines
	mapfile -t lines <<<"$out"
	while (($# >= 2)); do
		want=$2
		got=${lines[i - 1]-<nothing>}
		if [[ $want == "~"* ]]; then
			assert_match "$name: $1" "${want:1}" "$got"
		else
			assert_eq "$name: $1" "$want" "$got"
		fi
		shift 2
		i=$((i + 1))
	done
	if ((${#lines[@]} >= i)) && [[ -n ${lines[*]:i-1} ]]; then
		t_fail "$name: no more replies (got: ${lines[*]:i-1})"
	fi
}

# rec_count FILE: messages a next hop recorded. rec_new FILE N: the records after the first N.
rec_count() { wc -l <"$1" | tr -d ' '; }
rec_new() { tail -n +"$(($2 + 1))" "$1"; }
# rec_get FILE N EXPR: a Python expression of record N (1-based; -1 = last) as r.
rec_get() {
	python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
try:
    r = recs[n - 1 if n > 0 else n]
except IndexError:
    print("<no record %d>" % n); sys.exit()
v = eval(sys.argv[3])
print(json.dumps(v) if isinstance(v, (list, dict)) else v)' "$@"
}
# rec_with FILE ADDR: how many records name ADDR as a recipient (accepted or refused) or sender.
rec_with() {
	python3 -c '
import json, sys
a = sys.argv[2].lower()
print(sum(1 for l in open(sys.argv[1]) if l.strip() and any(a == x.lower() for x in
          json.loads(l)["rcpts"] + json.loads(l)["rcpts_rejected"] + [json.loads(l)["from"] or ""])))' "$@"
}

gstat() { local v; v=$(gw_stat "$1"); echo "${v:-0}"; }
# stat_delta NAME BEFORE: the counter's rise since BEFORE.
stat_delta() { echo $(($(gstat "$1") - $2)); }

routes() {
	echo 'routes = (
  { domains = [ "example.com", "*.example.com" ]; next_hops = [ "10.20.0.10:25" ]; },
  { domains = [ "*" ]; next_hops = [ "203.0.113.10:2525" ]; }
);'
}

# start_smtp_gw LABEL LIMITS TIMEOUTS: a fresh mailgw with the smtp group.
start_smtp_gw() {
	GW_EXTRA_GROUPS="smtp = { hostname = \"$HOST\"; accepted_domains = [ \"example.com\", \"*.example.com\" ];
  relay_networks = [ \"10.20.0.0/24\" ]; limits = { $2 }; timeouts = { $3 }; };
$(routes)" gw_config >"$T_TMP/gw-$1.conf"
	rm -f "$GW_LOG"
	if ! gw_start "$T_TMP/gw-$1.conf"; then
		t_fail "$1: mailgw starts"
		return 1
	fi
	t_ok "$1: mailgw starts"
	smtp_wait_port "$EXT_NS" "$EXT_GW_IP" 25 30 220 || t_fail "$1: SMTP answers on $EXT_GW_IP:25"
	sleep 1.1       # the connection-rate window of smtp_wait_port's probe is over
}

# wait_idle [S]: until show sessions lists none (up to S s, default 5).
wait_idle() {
	local i
	for ((i = 0; i < ${1:-5} * 10; i++)); do
		[[ $(gwctl show sessions 2>/dev/null | tail -n 1) == "0 session(s);"* ]] && return 0
		sleep 0.1
	done
	return 1
}

# stop_smtp_gw LABEL: stop; the log moves to $T_TMP/LABEL.log.
stop_smtp_gw() {
	gw_stop
	assert_eq "$1: mailgw stops with status 0" 0 "$GW_EXIT"
	mv "$GW_LOG" "$T_TMP/$1.log" 2>/dev/null
}

# log_checks LABEL LOG SESSIONS RELAYED: one connect and one disconnect line per
# session, one "smtp: msg=... status=sent" line per relayed message.
log_checks() {
	local label=$1 log=$2 sessions=$3 relayed=$4
	assert_eq "$label log: one connect line per session (smtp.sessions)" "$sessions" \
		"$(grep -c 'smtp: session=[0-9A-F]* connect client=' "$log")"
	assert_eq "$label log: one disconnect line per session (smtp.sessions)" "$sessions" \
		"$(grep -c 'smtp: session=[0-9A-F]* disconnect client=' "$log")"
	assert_eq "$label log: every session that connected disconnected (ids)" "" \
		"$(comm -3 <(sed -n 's/.*smtp: session=\([0-9A-F]*\) connect .*/\1/p' "$log" | sort) \
			<(sed -n 's/.*smtp: session=\([0-9A-F]*\) disconnect .*/\1/p' "$log" | sort) | head -3)"
	assert_eq "$label log: one 'smtp: msg=' status=sent line per relayed message" "$relayed" \
		"$(grep -c 'smtp: msg=.* status=sent reply="2[0-9][0-9] ' "$log")"
}

# ---- set-up ------------------------------------------------------------------

topo_two_ports
nexthop_start "$INT_NS" "$INT_HOST_IP" 25 --record "$REC_INT" --hostname int.test \
	--rcpt "550 5.1.1 <nosuchuser@example.com>: Recipient address rejected" --rcpt-match nosuchuser ||
	t_fail "next hop on $INT_HOST_IP:25 starts"
nexthop_start "$EXT_NS" "$EXT_HOST_IP" 2525 --record "$REC_EXT" --hostname ext.test ||
	t_fail "next hop on $EXT_HOST_IP:2525 starts"

# ==== main: commands, errors, pipelining, size limits, relay, smuggling ==========

start_smtp_gw main "command_line = 512; text_line = 1000; message_size = 10000;" \
	"command = 10; data = 5;" || exit 1
MAIN_RELAYED=0          # messages the next hops accepted during this run

# ---- 1. every command --------------------------------------------------------

# A good message with swaks: every reply, and what the next hop got.
printf 'From: a@partner.test\nTo: user@example.com\nSubject: hello\n\nfirst line\n.leading dot\n..two dots\n\nlast line\n' \
	>"$T_TMP/msg1"
n0=$(rec_count "$REC_INT")
swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --helo partner.test --from a@partner.test --to user@example.com \
	--data "$T_TMP/msg1"
t_check "swaks: good message from the partner side is accepted (status 0)" test $? -eq 0
sw=$(grep -E '^(<-|<\*\*) ' "$SWAKS_OUT" | sed 's/^<-  //; s/^<\*\* /UNEXPECTED /')
expect "swaks EHLO session" "$sw" \
	"greeting" "220 $HOST ESMTP mailgw" \
	"EHLO line 1: hostname" "250-$HOST" \
	"EHLO: PIPELINING" "250-PIPELINING" \
	"EHLO: SIZE 10000" "250-SIZE 10000" \
	"EHLO: 8BITMIME" "250-8BITMIME" \
	"EHLO: ENHANCEDSTATUSCODES" "250-ENHANCEDSTATUSCODES" \
	"EHLO: SMTPUTF8 (last line)" "250 SMTPUTF8" \
	"MAIL" "250 2.1.0 Ok" \
	"RCPT (the next hop's reply)" "250 2.1.5 Ok" \
	"DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data (the next hop's 250)" "~^250 2\.0\.0 Ok: queued as [0-9]+\.[0-9]+\.[0-9]+$" \
	"QUIT" "221 2.0.0 Bye"
assert_eq "good message: the next hop recorded one message" 1 $(($(rec_count "$REC_INT") - n0))
MAIN_RELAYED=$((MAIN_RELAYED + 1))
assert_eq "good message: envelope sender" "a@partner.test" "$(rec_get "$REC_INT" -1 'r["from"]')"
assert_eq "good message: envelope recipients" '["user@example.com"]' "$(rec_get "$REC_INT" -1 'r["rcpts"]')"
assert_eq "good message: the gateway's EHLO name at the next hop" "$HOST" "$(rec_get "$REC_INT" -1 'r["helo"]')"
assert_eq "good message: exactly one Received: field" 1 "$(rec_get "$REC_INT" -1 'len(r["received"])')"
recv=$(rec_get "$REC_INT" -1 'r["received"][0]')
assert_match "good message: Received: names the client's HELO and address" \
	'^Received: from partner\.test \(\[203\.0\.113\.10\]\)' "$recv"
assert_match "good message: Received: by $HOST (mailgw) with ESMTP" "by $HOST \(mailgw\) with ESMTP id " "$recv"
assert_match "good message: Received: for <user@example.com>" "for <user@example.com>;" "$recv"
# swaks sends the file with CRLF line ends and dot-stuffing, and one more CRLF at the end.
want_sha=$( (sed 's/$/\r/' "$T_TMP/msg1"; printf '\r\n') | sha256sum | cut -d' ' -f1)
assert_eq "good message: body (minus Received:) arrives byte for byte, dot-unstuffed" "$want_sha" \
	"$(rec_get "$REC_INT" -1 'r["body_sha256"]')"

# HELO (not EHLO): 250 HOST; no parameters then; null sender; the Received: says SMTP.
n0=$(rec_count "$REC_INT")
out=$(ext_raw r 's:HELO old.partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test> BODY=8BITMIME\r\n' r \
	's:MAIL FROM:<>\r\n' r 's:RCPT TO:<helo@example.com>\r\n' r 's:DATA\r\n' r \
	's:Subject: helo\r\n\r\nbody\r\n.\r\n' r 's:QUIT\r\n' r e:3)
expect "HELO session" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" \
	"HELO" "250 $HOST" \
	"MAIL with a parameter after HELO" "555 5.5.4 Error: MAIL parameters need EHLO" \
	"MAIL FROM:<> (null sender)" "250 2.1.0 Ok" \
	"RCPT" "250 2.1.5 Ok" \
	"DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data" "~^250 2\.0\.0 Ok: queued as " \
	"QUIT" "221 2.0.0 Bye" \
	"the gateway closes after QUIT" "eof"
assert_eq "HELO session: one message relayed" 1 $(($(rec_count "$REC_INT") - n0))
MAIN_RELAYED=$((MAIN_RELAYED + 1))
assert_eq "HELO session: null sender passed on" "" "$(rec_get "$REC_INT" -1 'r["from"]')"
assert_match "HELO session: Received: from old.partner.test ... with SMTP" \
	'^Received: from old\.partner\.test \(\[203\.0\.113\.10\]\).* \(mailgw\) with SMTP id ' \
	"$(rec_get "$REC_INT" -1 'r["received"][0]')"

# RSET, NOOP, VRFY, HELP; a transaction after RSET works; the reset one is not relayed.
n0=$(rec_count "$REC_INT")
out=$(ext_raw r 's:EHLO partner.test\r\n' r 's:MAIL FROM:<a@partner.test>\r\n' r \
	's:RCPT TO:<rset1@example.com>\r\n' r 's:RSET\r\n' r 's:DATA\r\n' r \
	's:NOOP\r\n' r 's:VRFY user\r\n' r 's:HELP\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\n' r 's:RCPT TO:<rset2@example.com>\r\n' r 's:DATA\r\n' r \
	's:Subject: after rset\r\n\r\nbody\r\n.\r\n' r 's:RSET\r\n' r 's:NOOP ignored argument\r\n' r 's:QUIT\r\n' r e:3)
expect "RSET/NOOP/VRFY/HELP session" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" \
	"EHLO" "250-$HOST / 250-PIPELINING / 250-SIZE 10000 / 250-8BITMIME / 250-ENHANCEDSTATUSCODES / 250 SMTPUTF8" \
	"MAIL" "250 2.1.0 Ok" \
	"RCPT" "250 2.1.5 Ok" \
	"RSET" "250 2.0.0 Ok" \
	"DATA after RSET: no transaction" "503 5.5.1 Error: need MAIL command" \
	"NOOP" "250 2.0.0 Ok" \
	"VRFY" "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery" \
	"HELP" "~^214 2\.0\.0 " \
	"MAIL after RSET" "250 2.1.0 Ok" \
	"RCPT after RSET" "250 2.1.5 Ok" \
	"DATA after RSET" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data after RSET" "~^250 2\.0\.0 Ok: queued as " \
	"RSET with no transaction" "250 2.0.0 Ok" \
	"NOOP with an argument" "250 2.0.0 Ok" \
	"QUIT" "221 2.0.0 Bye" \
	"closed after QUIT" "eof"
assert_eq "RSET session: only the transaction after RSET was relayed" \
	'1 ["rset2@example.com"]' "$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -1 'r["rcpts"]')"
assert_eq "RSET session: the reset recipient never reached a next hop as a message" 0 "$(rec_with "$REC_INT" rset1@example.com)"
MAIN_RELAYED=$((MAIN_RELAYED + 1))

# Sequence errors.
out=$(ext_raw r 's:MAIL FROM:<a@partner.test>\r\n' r 's:EHLO partner.test\r\n' r \
	's:RCPT TO:<seq@example.com>\r\n' r 's:DATA\r\n' r 's:MAIL FROM:<a@partner.test>\r\n' r \
	's:MAIL FROM:<b@partner.test>\r\n' r 's:DATA\r\n' r 's:RCPT TO:<x@elsewhere.test>\r\n' r 's:DATA\r\n' r \
	's:QUIT\r\n' r)
expect "sequence errors" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" \
	"MAIL before EHLO" "503 5.5.1 Error: send HELO/EHLO first" \
	"EHLO" "~^250-$HOST / .*250 SMTPUTF8$" \
	"RCPT before MAIL" "503 5.5.1 Error: need MAIL command" \
	"DATA before MAIL" "503 5.5.1 Error: need MAIL command" \
	"MAIL" "250 2.1.0 Ok" \
	"nested MAIL" "503 5.5.1 Error: nested MAIL command" \
	"DATA before RCPT" "503 5.5.1 Error: need RCPT command" \
	"RCPT refused (relay)" "554 5.7.1 <x@elsewhere.test>: Relay access denied" \
	"DATA after only refused RCPTs" "554 5.5.1 Error: no valid recipients" \
	"QUIT" "221 2.0.0 Bye"

# Syntax errors and unimplemented commands (two sessions: errors_per_session is 10).
out=$(ext_raw r 's:EHLO\r\n' r 's:EHLO bad..name\r\n' r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:a@partner.test\r\n' r 's:MAIL FROM:<a@@partner.test>\r\n' r 's:MAIL TO:<a@partner.test>\r\n' r \
	's:MAIL FROM:<a@partner.test> FOO=BAR\r\n' r 's:MAIL FROM:<a@partner.test> SIZE=abc\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\n' r 's:RCPT TO:<>\r\n' r 's:RCPT TO:<user@example.com> NOTIFY=NEVER\r\n' r \
	's:QUIT\r\n' r)
expect "syntax errors" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" \
	"EHLO without a name" "501 5.5.4 Error: argument required" \
	"EHLO with a bad name" "501 5.5.4 Error: invalid domain name or address literal" \
	"EHLO" "~^250-$HOST / " \
	"MAIL path without <>" "~^501 5\.(1\.7|5\.4) Error: " \
	"MAIL bad path a@@b" "501 5.1.7 Error: bad address syntax" \
	"MAIL TO: instead of FROM:" "~^501 5\.5\.4 Error: " \
	"MAIL with an unknown parameter" "555 5.5.4 Error: parameter not recognized" \
	"MAIL SIZE=abc" "501 5.5.4 Error: invalid SIZE value" \
	"MAIL" "250 2.1.0 Ok" \
	"RCPT TO:<> (null recipient)" "501 5.1.3 Error: null recipient not allowed" \
	"RCPT with an unknown parameter" "555 5.5.4 Error: parameter not recognized" \
	"QUIT" "221 2.0.0 Bye"
out=$(ext_raw r 's:EHLO partner.test\r\n' r 's:XYZZY\r\n' r 's:STARTTLS\r\n' r 's:AUTH PLAIN AGFiYwBkZWY=\r\n' r \
	's:EXPN staff\r\n' r 's:BDAT 10 LAST\r\n' r 's:RSET now\r\n' r 's:NOOP\r\n' r 's:QUIT\r\n' r)
expect "unknown and unimplemented commands" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" \
	"EHLO" "~^250-$HOST / " \
	"unknown command" "500 5.5.2 Error: command not recognized" \
	"STARTTLS without certificates (RFC 3207 454)" "454 4.7.0 TLS not available due to local problem" \
	"AUTH" "502 5.5.1 Error: command not implemented" \
	"EXPN" "502 5.5.1 Error: command not implemented" \
	"BDAT" "502 5.5.1 Error: command not implemented" \
	"RSET with an argument" "501 5.5.4 Error: no arguments allowed" \
	"NOOP still fine" "250 2.0.0 Ok" \
	"QUIT" "221 2.0.0 Bye"

# The next hop's own RCPT refusal is passed on with its code.
n0=$(rec_count "$REC_INT")
out=$(ext_raw r 's:EHLO partner.test\r\n' r 's:MAIL FROM:<a@partner.test>\r\n' r \
	's:RCPT TO:<nosuchuser@example.com>\r\n' r 's:DATA\r\n' r 's:QUIT\r\n' r)
expect "next hop refuses the RCPT" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" "MAIL" "250 2.1.0 Ok" \
	"RCPT: the next hop's 550 passed on" "550 5.1.1 <nosuchuser@example.com>: Recipient address rejected" \
	"DATA after the only RCPT was refused" "554 5.5.1 Error: no valid recipients" \
	"QUIT" "221 2.0.0 Bye"
assert_eq "next hop refuses the RCPT: nothing relayed" 0 $(($(rec_count "$REC_INT") - n0))

# ---- 2. PIPELINING -----------------------------------------------------------

# A whole MAIL/RCPT/RCPT/DATA group in one write; the message and QUIT in one write.
n0=$(rec_count "$REC_INT")
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<p@partner.test>\r\nRCPT TO:<p1@example.com>\r\nRCPT TO:<p2@example.com>\r\nDATA\r\n' r4 \
	's:Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n' r2 e:3)
expect "pipelined MAIL/RCPT/RCPT/DATA" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT 1" "250 2.1.5 Ok" "RCPT 2" "250 2.1.5 Ok" \
	"DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data" "~^250 2\.0\.0 Ok: queued as " \
	"QUIT pipelined after the final dot" "221 2.0.0 Bye" \
	"closed" "eof"
assert_eq "pipelined group: one message with both recipients" '1 ["p1@example.com", "p2@example.com"]' \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -1 'r["rcpts"]')"
MAIN_RELAYED=$((MAIN_RELAYED + 1))

# A batch with refused recipients in the middle (ours: relay; the next hop's: 550).
n0=$(rec_count "$REC_INT")
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<p@partner.test>\r\nRCPT TO:<ok1@example.com>\r\nRCPT TO:<evil@elsewhere.test>\r\nRCPT TO:<nosuchuser@example.com>\r\nRCPT TO:<ok2@example.com>\r\nDATA\r\n' r6 \
	's:Subject: pipelined 2\r\n\r\nbody\r\n.\r\n' r 's:QUIT\r\n' r)
expect "pipelined batch with refused recipients" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT 1" "250 2.1.5 Ok" \
	"RCPT 2 (relay denied)" "554 5.7.1 <evil@elsewhere.test>: Relay access denied" \
	"RCPT 3 (next hop refuses)" "550 5.1.1 <nosuchuser@example.com>: Recipient address rejected" \
	"RCPT 4" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data" "~^250 2\.0\.0 Ok: queued as " "QUIT" "221 2.0.0 Bye"
assert_eq "pipelined batch: one message to the two accepted recipients" '1 ["ok1@example.com", "ok2@example.com"]' \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -1 'r["rcpts"]')"
assert_eq "pipelined batch: the next hop refused nosuchuser" '["nosuchuser@example.com"]' \
	"$(rec_get "$REC_INT" -1 'r["rcpts_rejected"]')"
MAIN_RELAYED=$((MAIN_RELAYED + 1))

# Commands pipelined after a message's end of data; a third message's group after that.
n0=$(rec_count "$REC_INT")
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<p@partner.test>\r\nRCPT TO:<m1@example.com>\r\nDATA\r\n' r3 \
	's:Subject: one\r\n\r\nbody one\r\n.\r\nMAIL FROM:<p@partner.test>\r\nRCPT TO:<m2@example.com>\r\nDATA\r\n' r4 \
	's:Subject: two\r\n\r\nbody two\r\n.\r\nRSET\r\nNOOP\r\nMAIL FROM:<p@partner.test>\r\nRCPT TO:<m3@example.com>\r\nDATA\r\n' r6 \
	's:Subject: three\r\n\r\nbody three\r\n.\r\nQUIT\r\n' r2 e:3)
expect "pipelining after end of data" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL 1" "250 2.1.0 Ok" "RCPT 1" "250 2.1.5 Ok" "DATA 1" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data 1" "~^250 2\.0\.0 Ok: queued as " \
	"MAIL 2 (pipelined after the dot)" "250 2.1.0 Ok" "RCPT 2" "250 2.1.5 Ok" \
	"DATA 2" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data 2" "~^250 2\.0\.0 Ok: queued as " \
	"RSET (pipelined after the dot)" "250 2.0.0 Ok" "NOOP" "250 2.0.0 Ok" \
	"MAIL 3" "250 2.1.0 Ok" "RCPT 3" "250 2.1.5 Ok" "DATA 3" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data 3" "~^250 2\.0\.0 Ok: queued as " "QUIT after the dot" "221 2.0.0 Bye" "closed" "eof"
assert_eq "pipelining after end of data: three messages in order" \
	'3 ["m1@example.com"] ["m2@example.com"] ["m3@example.com"]' \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -3 'r["rcpts"]') $(rec_get "$REC_INT" -2 'r["rcpts"]') $(rec_get "$REC_INT" -1 'r["rcpts"]')"
MAIN_RELAYED=$((MAIN_RELAYED + 3))

# swaks --pipeline
swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --helo partner.test --from a@partner.test \
	--to sw1@example.com,sw2@example.com --pipeline
rc=$?
t_check "swaks --pipeline: accepted (status 0)" test $rc -eq 0
assert_match "swaks --pipeline: the session used PIPELINING" "PIPELINING" "$(cat "$SWAKS_OUT")"
assert_eq "swaks --pipeline: both recipients relayed" '["sw1@example.com", "sw2@example.com"]' \
	"$(rec_get "$REC_INT" -1 'r["rcpts"]')"
MAIN_RELAYED=$((MAIN_RELAYED + 1))

# ---- 3. limits of this run: command_line, text_line, message_size ---------

long=$(head -c 600 /dev/zero | tr '\0' x)
b0=$(gstat smtp.command_too_long)
out=$(ext_raw r 's:EHLO partner.test\r\n' r "s:NOOP $long\\r\\n" r 's:NOOP\r\n' r \
	"s:MAIL FROM:<$long@partner.test>\\r\\n" r 's:MAIL FROM:<a@partner.test>\r\n' r \
	"s:NOOP ${long:0:505}\\r\\n" r "s:NOOP ${long:0:506}\\r\\n" r 's:QUIT\r\n' r)
expect "command_line limit (512)" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"607-octet NOOP" "500 5.5.2 Error: command line too long" \
	"the session goes on" "250 2.0.0 Ok" \
	"627-octet MAIL" "500 5.5.2 Error: command line too long" \
	"MAIL" "250 2.1.0 Ok" \
	"512-octet NOOP (CRLF included) is fine" "250 2.0.0 Ok" \
	"513-octet NOOP" "500 5.5.2 Error: command line too long" \
	"QUIT" "221 2.0.0 Bye"
assert_eq "command_line limit: smtp.command_too_long +3" 3 "$(stat_delta smtp.command_too_long "$b0")"

# text_line: a 1200-octet line. The end of data in the same write as the long
# line, and in a write of its own; either way the reply comes right after the dot.
long=$(head -c 1198 /dev/zero | tr '\0' y)
n0=$(rec_count "$REC_INT")
b0=$(gstat smtp.text_line_too_long)
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<longline1@example.com>\r\nDATA\r\n' r3 \
	"s:Subject: long line\\r\\n\\r\\n$long\\r\\nafter\\r\\n.\\r\\n" r:3)
expect "text_line limit (1000), dot in the same write" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"1200-octet line: refused right after the dot" "500 5.5.2 Error: message line longer than 1000 octets; message refused"
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<longline2@example.com>\r\nDATA\r\n' r3 \
	"s:Subject: long line\\r\\n\\r\\n$long\\r\\nafter\\r\\n" z:0.3 's:.\r\n' r:3 \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<afterlong@example.com>\r\nDATA\r\n' r3 \
	"s:Subject: fine\\r\\n\\r\\n${long:0:998}\\r\\n.\\r\\n" r 's:QUIT\r\n' r)
expect "text_line limit (1000), dot in a write of its own" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"1200-octet line: refused after the dot" "500 5.5.2 Error: message line longer than 1000 octets; message refused" \
	"next MAIL" "250 2.1.0 Ok" "next RCPT" "250 2.1.5 Ok" "next DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"a 1000-octet line (CRLF included) is fine" "~^250 2\.0\.0 Ok: queued as " "QUIT" "221 2.0.0 Bye"
assert_eq "text_line limit: the refused messages were not relayed" "0 0" \
	"$(rec_with "$REC_INT" longline1@example.com) $(rec_with "$REC_INT" longline2@example.com)"
assert_eq "text_line limit: only the next message was" '1 ["afterlong@example.com"]' \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -1 'r["rcpts"]')"
assert_eq "text_line limit: smtp.text_line_too_long +2" 2 "$(stat_delta smtp.text_line_too_long "$b0")"
MAIN_RELAYED=$((MAIN_RELAYED + 1))

# message_size: SIZE= over the limit at MAIL; 11 kB of data without SIZE (dot in
# the same write, and in a write of its own).
big=$(head -c 11000 /dev/zero | tr '\0' z | fold -w 70 | sed 's/$/\\r\\n/' | tr -d '\n')
n0=$(rec_count "$REC_INT")
b0=$(gstat smtp.message_too_big)
out=$(ext_raw r 's:EHLO partner.test\r\n' r 's:MAIL FROM:<a@partner.test> SIZE=10001\r\n' r \
	's:MAIL FROM:<a@partner.test> SIZE=10000\r\n' r 's:RSET\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<big1@example.com>\r\nDATA\r\n' r3 \
	"s:Subject: big\\r\\n\\r\\n$big.\\r\\n" r:3)
expect "message_size limit (10000), dot in the same write" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL SIZE=10001" "552 5.3.4 Message size exceeds fixed limit" \
	"MAIL SIZE=10000" "250 2.1.0 Ok" "RSET" "250 2.0.0 Ok" \
	"MAIL without SIZE" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"11 kB of data: refused right after the dot" "552 5.3.4 Message size exceeds fixed limit"
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<big2@example.com>\r\nDATA\r\n' r3 \
	"s:Subject: big\\r\\n\\r\\n$big" z:0.3 's:.\r\n' r:3 's:MAIL FROM:<a@partner.test>\r\n' r 's:QUIT\r\n' r)
expect "message_size limit (10000), dot in a write of its own" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL without SIZE" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"11 kB of data: refused after the dot" "552 5.3.4 Message size exceeds fixed limit" \
	"the session goes on" "250 2.1.0 Ok" "QUIT" "221 2.0.0 Bye"
assert_eq "message_size limit: nothing relayed" "0 0 0" \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_with "$REC_INT" big1@example.com) $(rec_with "$REC_INT" big2@example.com)"
assert_eq "message_size limit: smtp.message_too_big +3" 3 "$(stat_delta smtp.message_too_big "$b0")"

# A client that closes in the middle of DATA: the session ends then (not at the
# data timeout), and the next hop gets no end of data.
n0=$(rec_count "$REC_INT")
out=$(ext_raw r 's:EHLO cut.partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<cut@example.com>\r\nDATA\r\n' r3 \
	's:Subject: cut\r\n\r\nhalf a mess')
expect "client closes during DATA" "$out" "greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>"
for ((k = 0; k < 20; k++)); do
	gwctl show sessions 2>/dev/null | grep -q 'cut\.partner\.test' || break
	sleep 0.1
done
assert_eq "client closes during DATA: its session is gone within 2 s" "" \
	"$(gwctl show sessions 2>/dev/null | grep 'cut\.partner\.test')"
assert_eq "client closes during DATA: nothing relayed" "0 0" \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_with "$REC_INT" cut@example.com)"

# ---- 5. open relay attempts from the partner side ---------------------------

n0=$(rec_count "$REC_INT"); e0=$(rec_count "$REC_EXT")
d0=$(gstat smtp.relay_denied); h0=$(gstat smtp.relay_denied_routing_hack); c0=$(gstat smtp_client.connects)
denied=0 hacks=0
# kind|RCPT path as sent|address in the reply
while IFS='|' read -r kind path addr; do
	[[ -n $kind ]] || continue
	out=$(ext_raw r 's:EHLO spammer.test\r\n' r 's:MAIL FROM:<spammer@elsewhere.test>\r\n' r \
		"s:RCPT TO:$path\\r\\n" r 's:DATA\r\n' r 's:QUIT\r\n' r)
	expect "open relay $path" "$out" \
		"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" "MAIL" "250 2.1.0 Ok" \
		"RCPT refused" "554 5.7.1 <$addr>: Relay access denied" \
		"DATA" "554 5.5.1 Error: no valid recipients" "QUIT" "221 2.0.0 Bye"
	if [[ $kind == hack ]]; then hacks=$((hacks + 1)); else denied=$((denied + 1)); fi
done <<'EOF'
deny|<user@elsewhere.test>|user@elsewhere.test
deny|<USER@ELSEWHERE.TEST>|USER@ELSEWHERE.TEST
deny|<user@example.com.evil.test>|user@example.com.evil.test
deny|<user@Example.Com.Evil.Test>|user@Example.Com.Evil.Test
deny|<user@evilexample.com>|user@evilexample.com
deny|<user@xexample.com>|user@xexample.com
hack|<user%elsewhere.test@example.com>|user%elsewhere.test@example.com
hack|<User%Elsewhere.Test@EXAMPLE.COM>|User%Elsewhere.Test@EXAMPLE.COM
hack|<elsewhere.test!user@example.com>|elsewhere.test!user@example.com
hack|<"user@elsewhere.test"@example.com>|"user@elsewhere.test"@example.com
hack|<"User@Elsewhere.Test"@Example.Com>|"User@Elsewhere.Test"@Example.Com
hack|<"user%elsewhere.test"@example.com>|"user%elsewhere.test"@example.com
hack|<@example.com:user@elsewhere.test>|user@elsewhere.test
hack|<@elsewhere.test:user@example.com>|user@example.com
hack|<@a.example.com,@elsewhere.test:user@example.com>|user@example.com
hack|<user@[10.20.0.10]>|user@[10.20.0.10]
hack|<user@[IPv6:::1]>|user@[IPv6:::1]
EOF
# Several refused recipients in one transaction, then a swaks attempt.
out=$(ext_raw r 's:EHLO spammer.test\r\n' r 's:MAIL FROM:<spammer@elsewhere.test>\r\n' r \
	's:RCPT TO:<a@elsewhere.test>\r\nRCPT TO:<b%c@example.com>\r\nRCPT TO:<d@evil.test>\r\nDATA\r\nQUIT\r\n' r5)
expect "open relay: pipelined attempts" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" "MAIL" "250 2.1.0 Ok" \
	"RCPT 1" "554 5.7.1 <a@elsewhere.test>: Relay access denied" \
	"RCPT 2" "554 5.7.1 <b%c@example.com>: Relay access denied" \
	"RCPT 3" "554 5.7.1 <d@evil.test>: Relay access denied" \
	"DATA" "554 5.5.1 Error: no valid recipients" "QUIT" "221 2.0.0 Bye"
denied=$((denied + 2)); hacks=$((hacks + 1))
swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --helo spammer.test --from spammer@elsewhere.test --to victim@elsewhere.test
assert_match "open relay with swaks: RCPT refused 554 5.7.1" \
	'<\*\* 554 5\.7\.1 <victim@elsewhere\.test>: Relay access denied' "$(cat "$SWAKS_OUT")"
denied=$((denied + 1))
assert_eq "open relay: nothing reached the internal next hop" 0 $(($(rec_count "$REC_INT") - n0))
assert_eq "open relay: nothing reached the default route's next hop" 0 $(($(rec_count "$REC_EXT") - e0))
assert_eq "open relay: no connection to any next hop was even opened" 0 "$(stat_delta smtp_client.connects "$c0")"
assert_eq "open relay: smtp.relay_denied +$denied" "$denied" "$(stat_delta smtp.relay_denied "$d0")"
assert_eq "open relay: smtp.relay_denied_routing_hack +$hacks" "$hacks" \
	"$(stat_delta smtp.relay_denied_routing_hack "$h0")"

# Positive controls: our domains in any case, sub-domains; relaying from relay_networks.
n0=$(rec_count "$REC_INT"); e0=$(rec_count "$REC_EXT")
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<user@EXAMPLE.com>\r\nRCPT TO:<user@sub.example.com>\r\nRCPT TO:<User@Deep.Sub.Example.COM>\r\nDATA\r\n' r5 \
	's:Subject: ours\r\n\r\nbody\r\n.\r\nQUIT\r\n' r2)
expect "accepted domains from outside" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" "MAIL" "250 2.1.0 Ok" \
	"user@EXAMPLE.com" "250 2.1.5 Ok" "user@sub.example.com" "250 2.1.5 Ok" \
	"User@Deep.Sub.Example.COM" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data" "~^250 2\.0\.0 Ok: queued as " "QUIT" "221 2.0.0 Bye"
assert_eq "accepted domains from outside: relayed to the internal next hop" \
	'1 ["user@EXAMPLE.com", "user@sub.example.com", "User@Deep.Sub.Example.COM"]' \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -1 'r["rcpts"]')"
MAIN_RELAYED=$((MAIN_RELAYED + 1))
swaks_ns "$INT_NS" --server "$INT_GW_IP" --helo mail.example.com --from user@example.com --to friend@elsewhere.test
t_check "from relay_networks: mail to a foreign domain is accepted (swaks status 0)" test $? -eq 0
assert_match "from relay_networks: 250 after the data" '<-  250 2\.0\.0 Ok: queued as ' "$(cat "$SWAKS_OUT")"
assert_eq "from relay_networks: relayed to the default route's next hop" '1 ["friend@elsewhere.test"]' \
	"$(($(rec_count "$REC_EXT") - e0)) $(rec_get "$REC_EXT" -1 'r["rcpts"]')"
assert_match "from relay_networks: Received: names 10.20.0.10" \
	'^Received: from mail\.example\.com \(\[10\.20\.0\.10\]\)' "$(rec_get "$REC_EXT" -1 'r["received"][0]')"
MAIN_RELAYED=$((MAIN_RELAYED + 1))
e0=$(rec_count "$REC_EXT")
out=$(int_raw r 's:EHLO mail.example.com\r\n' r \
	's:MAIL FROM:<user@example.com>\r\nRCPT TO:<x%y@elsewhere.test>\r\nRCPT TO:<z@example.com>\r\nDATA\r\n' r4 \
	's:Subject: out\r\n\r\nbody\r\n.\r\nQUIT\r\n' r2)
expect "from relay_networks: mixed routes" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" "MAIL" "250 2.1.0 Ok" \
	"RCPT foreign (% allowed from inside)" "250 2.1.5 Ok" \
	"RCPT for another next hop" "452 4.5.3 <z@example.com>: routed to another next hop; send it in a new transaction" \
	"DATA" "354 End data with <CR><LF>.<CR><LF>" "end of data" "~^250 2\.0\.0 Ok: queued as " \
	"QUIT" "221 2.0.0 Bye"
assert_eq "from relay_networks: mixed routes: the default route got the foreign recipient only" \
	'1 ["x%y@elsewhere.test"]' "$(($(rec_count "$REC_EXT") - e0)) $(rec_get "$REC_EXT" -1 'r["rcpts"]')"
MAIN_RELAYED=$((MAIN_RELAYED + 1))

# ---- 6. smuggling ------------------------------------------------------------

SMUGGLED='MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled body'
LF_REPLY='550 5.6.11 Error: bare <LF> in message data; message refused (SMTP smuggling defence)'
CR_REPLY='550 5.6.11 Error: bare <CR> in message data; message refused (SMTP smuggling defence)'
lf0=$(gstat smtp.bare_lf_data); cr0=$(gstat smtp.bare_cr_data)
nlf=0 ncr=0 i=0
# name|bytes between "line one" and the smuggled commands|LF or CR
while IFS='|' read -r name probe kind; do
	[[ -n $name ]] || continue
	i=$((i + 1))
	n0=$(rec_count "$REC_INT")
	out=$(ext_raw r 's:EHLO partner.test\r\n' r \
		"s:MAIL FROM:<a@partner.test>\\r\\nRCPT TO:<probe$i@example.com>\\r\\nDATA\\r\\n" r3 \
		"s:Subject: probe $i\\r\\n\\r\\nline one$probe$SMUGGLED\\r\\n.\\r\\n" r q:0.5 \
		"s:MAIL FROM:<a@partner.test>\\r\\nRCPT TO:<clean$i@example.com>\\r\\nDATA\\r\\n" r3 \
		's:Subject: clean\r\n\r\nclean body\r\n.\r\n' r 's:QUIT\r\n' r)
	if [[ $kind == LF ]]; then want=$LF_REPLY; nlf=$((nlf + 1)); else want=$CR_REPLY; ncr=$((ncr + 1)); fi
	expect "smuggling $name" "$out" \
		"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
		"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
		"the one reply after the real end" "$want" \
		"no reply to the smuggled commands" "quiet" \
		"clean MAIL afterwards" "250 2.1.0 Ok" "clean RCPT" "250 2.1.5 Ok" \
		"clean DATA" "354 End data with <CR><LF>.<CR><LF>" \
		"clean message relayed" "~^250 2\.0\.0 Ok: queued as " "QUIT" "221 2.0.0 Bye"
	assert_eq "smuggling $name: the next hop got only the clean message" "1 [\"clean$i@example.com\"]" \
		"$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -1 'r["rcpts"]')"
	assert_eq "smuggling $name: neither the probe nor the smuggled message was relayed" "0 0" \
		"$(rec_with "$REC_INT" "probe$i@example.com") $(rec_with "$REC_INT" victim@example.com)"
	MAIN_RELAYED=$((MAIN_RELAYED + 1))
done <<'EOF'
<LF>.<LF>|\n.\n|LF
<CR><LF>.<LF>|\r\n.\n|LF
<LF>.<CR><LF>|\n.\r\n|LF
<CR>.<CR>|\r.\r|CR
<CR><LF>.<CR>|\r\n.\r|CR
bare LF inside a line|\nhidden\r\n|LF
bare CR inside a line|\rhidden\r\n|CR
EOF
assert_eq "smuggling: smtp.bare_lf_data +$nlf" "$nlf" "$(stat_delta smtp.bare_lf_data "$lf0")"
assert_eq "smuggling: smtp.bare_cr_data +$ncr" "$ncr" "$(stat_delta smtp.bare_cr_data "$cr0")"
assert_eq "smuggling: the smuggled sender never reached a next hop" "0 0" \
	"$(rec_with "$REC_INT" evil@x.test) $(rec_with "$REC_EXT" evil@x.test)"

# Bare CR / LF / NUL in command lines.
n0=$(rec_count "$REC_INT")
lfc0=$(gstat smtp.bare_lf_command); crc0=$(gstat smtp.bare_cr_command)
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\nRCPT TO:<cmdlf@example.com>\r\n' r2 q:0.5 \
	's:NOOP\rX\r\n' r 's:MAIL FROM:<a@partner.test>\rRCPT TO:<cmdcr@example.com>\r\n' r \
	's:NOOP\x00\r\n' r 's:DATA\r\n' r 's:QUIT\r\n' r)
expect "bare CR/LF in commands" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL ... <LF>: refused" "500 5.5.2 Error: bare <LF> in command; command refused" \
	"the rest of the line after the LF: no transaction" "503 5.5.1 Error: need MAIL command" \
	"nothing more" "quiet" \
	"NOOP<CR>X" "500 5.5.2 Error: bare <CR> in command; command refused" \
	"MAIL ... <CR>RCPT ...: one line, refused" "500 5.5.2 Error: bare <CR> in command; command refused" \
	"NOOP<NUL>" "500 5.5.2 Error: NUL in command; command refused" \
	"DATA: still no transaction" "503 5.5.1 Error: need MAIL command" \
	"QUIT" "221 2.0.0 Bye"
assert_eq "bare CR/LF in commands: nothing relayed" 0 $(($(rec_count "$REC_INT") - n0))
assert_eq "bare CR/LF in commands: smtp.bare_lf_command +1" 1 "$(stat_delta smtp.bare_lf_command "$lfc0")"
assert_eq "bare CR/LF in commands: smtp.bare_cr_command +3 (CR, CR, NUL)" 3 "$(stat_delta smtp.bare_cr_command "$crc0")"

# ---- 7. show sessions ----------------------------------------------------------

ext_raw r 's:EHLO held.partner.test\r\n' r 's:MAIL FROM:<a@partner.test>\r\n' r z:3 's:QUIT\r\n' r \
	>"$T_TMP/held.out" &
held=$!
for ((k = 0; k < 20; k++)); do
	gwctl show sessions >"$T_TMP/sessions.txt" 2>&1
	grep -q 'held.partner.test' "$T_TMP/sessions.txt" && break
	sleep 0.1
done
assert_match "show sessions: the live session with its client address and HELO" \
	'[0-9A-F]+ +0 +203\.0\.113\.10:[0-9]+ +held\.partner\.test +command ' "$(cat "$T_TMP/sessions.txt")"
assert_match "show sessions: summary line" '^[0-9]+ session\(s\); [0-9]+ next-hop connection\(s\), [0-9]+ idle in the cache$' \
	"$(tail -n 1 "$T_TMP/sessions.txt")"
gwctl --json show sessions >"$T_TMP/sessions.json" 2>&1
t_check "show sessions --json parses" python3 -m json.tool "$T_TMP/sessions.json" >/dev/null
assert_eq "show sessions --json: client, HELO, transactions" "203.0.113.10 held.partner.test 1" \
	"$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["sessions"]
print(" ".join(x["client"].rsplit(":", 1)[0] + " " + x["helo"] + " " + str(x["transactions"])
               for x in s if x["helo"] == "held.partner.test"))' \
		"$T_TMP/sessions.json" 2>&1)"
wait "$held"
expect "held session" "$(cat "$T_TMP/held.out")" "greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "QUIT" "221 2.0.0 Bye"

# ---- 8. counters and the log of this run -------------------------------------

wait_idle 8 || t_fail "main: sessions still open at the end (8 s)"
relayed=$(gstat smtp.messages_relayed)
sessions=$(gstat smtp.sessions)
assert_eq "main: smtp.messages_relayed == messages the next hops recorded" "$MAIN_RELAYED $MAIN_RELAYED" \
	"$relayed $(($(rec_count "$REC_INT") + $(rec_count "$REC_EXT")))"
assert_ge "main: smtp.command_errors counted" "$(gstat smtp.command_errors)" 20
stop_smtp_gw main
log_checks main "$T_TMP/main.log" "$sessions" "$relayed"
# Each sent line carries the next hop's reply as the next hop recorded it.
assert_eq "main log: each status=sent line has the reply the next hop gave" "" "$(python3 - "$T_TMP/main.log" "$REC_INT" "$REC_EXT" <<'PY'
import json, re, sys
replies = sorted(json.loads(l)["reply"] for f in sys.argv[2:] for l in open(f) if l.strip())
logged = sorted(re.search(r' status=sent reply="([^"]*)"', l).group(1)
                for l in open(sys.argv[1]) if " smtp: msg=" in l and " status=sent " in l)
if replies != logged:
    print("next hops: %r, log: %r" % (replies[:3], logged[:3]))
PY
)"
assert_match "main log: a msg line has envelope, next hop and reply" \
	'smtp: msg=[0-9A-F]+\.[0-9]+ session=[0-9A-F]+ client=203\.0\.113\.10:[0-9]+ helo=partner\.test tls=none connector=- from=<a@partner\.test> to=<user@example\.com> nrcpt=1 size=[0-9]+ nexthop=10\.20\.0\.10:25 tls_out=none .*status=sent reply="250 2\.0\.0 Ok: queued as ' \
	"$(grep -m1 'smtp: msg=.*to=<user@example.com> ' "$T_TMP/main.log")"
assert_eq "main log: the refused smuggling probes are logged as refused 550 5.6.11" "$((nlf + ncr))" \
	"$(grep -c 'smtp: msg=.* status=refused reply="550 5\.6\.11 ' "$T_TMP/main.log")"
assert_ge "main log: relay denials are logged" "$(grep -c 'relay denied: from=<spammer@elsewhere.test>' "$T_TMP/main.log")" 20

# ==== limits: per-session and concurrency limits, client timeouts ==============

# min_data_rate = 0: these are the idle timeouts alone (the deadlines: test_smtp_deadlines.sh)
start_smtp_gw limits "recipients = 3; messages_per_session = 2; errors_per_session = 3;
  sessions_per_worker = 3; sessions_per_client = 2; min_data_rate = 0;" "command = 2; data = 2;" || exit 1
LIM_RELAYED=0

# wait_sessions N: until show sessions lists N sessions (up to 5 s).
wait_sessions() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ $(gwctl show sessions 2>/dev/null | tail -n 1) == "$1 session(s);"* ]] && return 0
		sleep 0.1
	done
	return 1
}

# recipients = 3: the 4th RCPT gets 452 4.5.3; the message goes to the first three.
n0=$(rec_count "$REC_INT")
b0=$(gstat smtp.too_many_recipients)
out=$(ext_raw r 's:EHLO partner.test\r\n' r 's:MAIL FROM:<a@partner.test>\r\n' r \
	's:RCPT TO:<r1@example.com>\r\n' r 's:RCPT TO:<r2@example.com>\r\n' r 's:RCPT TO:<r3@example.com>\r\n' r \
	's:RCPT TO:<r4@example.com>\r\n' r 's:DATA\r\n' r 's:Subject: three\r\n\r\nbody\r\n.\r\n' r 's:QUIT\r\n' r)
expect "recipients limit (3)" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" "MAIL" "250 2.1.0 Ok" \
	"RCPT 1" "250 2.1.5 Ok" "RCPT 2" "250 2.1.5 Ok" "RCPT 3" "250 2.1.5 Ok" \
	"RCPT 4" "452 4.5.3 Error: too many recipients" \
	"DATA" "354 End data with <CR><LF>.<CR><LF>" "end of data" "~^250 2\.0\.0 Ok: queued as " \
	"QUIT" "221 2.0.0 Bye"
assert_eq "recipients limit: the message went to the first three" '1 ["r1@example.com", "r2@example.com", "r3@example.com"]' \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -1 'r["rcpts"]')"
assert_eq "recipients limit: smtp.too_many_recipients +1" 1 "$(stat_delta smtp.too_many_recipients "$b0")"
LIM_RELAYED=$((LIM_RELAYED + 1))

# messages_per_session = 2: the third MAIL (pipelined after the dot) gets 421 and the connection closes.
n0=$(rec_count "$REC_INT")
b0=$(gstat smtp.too_many_messages)
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<mps1@example.com>\r\nDATA\r\n' r3 \
	's:Subject: 1\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@partner.test>\r\nRCPT TO:<mps2@example.com>\r\nDATA\r\n' r4 \
	's:Subject: 2\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@partner.test>\r\nRCPT TO:<mps3@example.com>\r\nDATA\r\n' r2 e:3)
expect "messages_per_session limit (2)" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL 1" "250 2.1.0 Ok" "RCPT 1" "250 2.1.5 Ok" "DATA 1" "354 End data with <CR><LF>.<CR><LF>" \
	"message 1" "~^250 2\.0\.0 Ok: queued as " \
	"MAIL 2" "250 2.1.0 Ok" "RCPT 2" "250 2.1.5 Ok" "DATA 2" "354 End data with <CR><LF>.<CR><LF>" \
	"message 2" "~^250 2\.0\.0 Ok: queued as " \
	"MAIL 3" "421 4.7.0 $HOST Error: too many messages in this session" \
	"closed, nothing more (no reply to RCPT/DATA)" "eof"
assert_eq "messages_per_session limit: two messages relayed" '2 0' \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_with "$REC_INT" mps3@example.com)"
assert_eq "messages_per_session limit: smtp.too_many_messages +1" 1 "$(stat_delta smtp.too_many_messages "$b0")"
LIM_RELAYED=$((LIM_RELAYED + 2))

# errors_per_session = 3: the third error's reply, then 421 and close.
b0=$(gstat smtp.too_many_errors)
out=$(ext_raw r 's:EHLO partner.test\r\n' r 's:FOO\r\n' r 's:MAIL FROM:<a@partner.test>\r\n' r 's:BAR\r\n' r \
	's:NOOP\r\n' r 's:RCPT TO:<x@elsewhere.test>\r\n' r2 e:3)
expect "errors_per_session limit (3)" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"error 1" "500 5.5.2 Error: command not recognized" "MAIL" "250 2.1.0 Ok" \
	"error 2" "500 5.5.2 Error: command not recognized" "NOOP" "250 2.0.0 Ok" \
	"error 3 (relay denied)" "554 5.7.1 <x@elsewhere.test>: Relay access denied" \
	"then 421" "421 4.7.0 $HOST Error: too many errors" "closed" "eof"
assert_eq "errors_per_session limit: smtp.too_many_errors +1" 1 "$(stat_delta smtp.too_many_errors "$b0")"

# sessions_per_client = 2, sessions_per_worker = 3 (one worker).
busy0=$(gstat smtp.refused_busy); cl0=$(gstat smtp.refused_client_sessions)
HOLD=(r z:1 's:NOOP\r\n' r z:1 's:NOOP\r\n' r z:1 's:QUIT\r\n' r)    # ~3 s, never 2 s idle
ext_raw "${HOLD[@]}" >"$T_TMP/hold1" & h1=$!
ext_raw "${HOLD[@]}" >"$T_TMP/hold2" & h2=$!
wait_sessions 2 || t_fail "sessions_per_client: two sessions from the partner open"
out=$(ext_raw r e:2)
expect "sessions_per_client limit (2): a 3rd from 203.0.113.10" "$out" \
	"421 at once" "421 4.7.0 $HOST Error: too many connections from 203.0.113.10" "then closed" "eof"
int_raw "${HOLD[@]}" >"$T_TMP/hold3" & h3=$!
wait_sessions 3 || t_fail "sessions_per_client: a session from the internal side opens"
out=$(int_raw r e:2)
expect "sessions_per_worker limit (3): a 4th connection" "$out" \
	"421 at once" "421 4.3.2 $HOST Service busy, too many sessions; try again later" "then closed" "eof"
wait "$h1" "$h2" "$h3"
for k in 1 2 3; do
	expect "concurrency limits: held session $k" "$(cat "$T_TMP/hold$k")" \
		"greeting" "220 $HOST ESMTP mailgw" "NOOP" "250 2.0.0 Ok" "NOOP" "250 2.0.0 Ok" "QUIT" "221 2.0.0 Bye"
done
assert_eq "sessions_per_client limit: smtp.refused_client_sessions +1" 1 "$(stat_delta smtp.refused_client_sessions "$cl0")"
assert_eq "sessions_per_worker limit: smtp.refused_busy +1" 1 "$(stat_delta smtp.refused_busy "$busy0")"
wait_idle || t_fail "concurrency limits: every session ended"
out=$(ext_raw r 's:QUIT\r\n' r)
expect "concurrency limits: slots come back" "$out" "greeting" "220 $HOST ESMTP mailgw" "QUIT" "221 2.0.0 Bye"

# Timeouts (command = 2, data = 2): 421 4.4.2 after about 2 s, then close.
t0=$(gstat smtp.timeouts)
# timed NAME OUT: the "time=S" line of OUT is 1.5..4 s.
timed() {
	local t
	t=$(sed -n 's/^time=//p' <<<"$2")
	if [[ -n $t ]] && python3 -c 'import sys; sys.exit(not 1.5 <= float(sys.argv[1]) <= 4.0)' "$t"; then
		t_ok "$1: after ${t} s (timeout 2 s)"
	else
		t_fail "$1: expected after 1.5..4 s, got '${t:-no time}'"
	fi
}
out=$(ext_raw r r:8 T e:2)
expect "command timeout, silent client" "$out" "greeting" "220 $HOST ESMTP mailgw" \
	"421" "421 4.4.2 $HOST Error: timeout exceeded" "time" "~^time=" "closed" "eof"
timed "command timeout, silent client" "$out"
n0=$(rec_count "$REC_INT")
out=$(ext_raw r 's:EHLO partner.test\r\n' r 's:MAIL FROM:<a@partner.test>\r\n' r \
	's:RCPT TO:<cmdtmo@example.com>\r\n' r r:8 T e:2)
expect "command timeout after MAIL and RCPT" "$out" "greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" \
	"421" "421 4.4.2 $HOST Error: timeout exceeded" "time" "~^time=" "closed" "eof"
timed "command timeout after MAIL and RCPT" "$out"
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<datatmo@example.com>\r\nDATA\r\n' r3 \
	's:Subject: stalled\r\n\r\nhalf a mess' r:8 T e:2)
expect "data timeout" "$out" "greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"421" "421 4.4.2 $HOST Error: timeout exceeded" "time" "~^time=" "closed" "eof"
timed "data timeout" "$out"
# The data timeout is an idle timeout: a slow but steady client is fine.
out=$(ext_raw r 's:EHLO partner.test\r\n' r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<slow@example.com>\r\nDATA\r\n' r3 \
	's:Subject: slow\r\n\r\n' z:1.2 's:line 1\r\n' z:1.2 's:line 2\r\n' z:1.2 's:.\r\n' r 's:QUIT\r\n' r)
expect "data timeout is per read: a slow client" "$out" "greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"3.6 s of data in 1.2 s steps" "~^250 2\.0\.0 Ok: queued as " "QUIT" "221 2.0.0 Bye"
LIM_RELAYED=$((LIM_RELAYED + 1))
sleep 0.5
assert_eq "timeouts: the next hop got neither timed-out message (reset, never an end of data)" "0 0" \
	"$(rec_with "$REC_INT" cmdtmo@example.com) $(rec_with "$REC_INT" datatmo@example.com)"
assert_eq "timeouts: only the slow client's message was relayed" '1 ["slow@example.com"]' \
	"$(($(rec_count "$REC_INT") - n0)) $(rec_get "$REC_INT" -1 'r["rcpts"]')"
assert_eq "timeouts: smtp.timeouts +3" 3 "$(stat_delta smtp.timeouts "$t0")"

wait_idle || t_fail "limits: sessions still open at the end"
relayed=$(gstat smtp.messages_relayed)
sessions=$(gstat smtp.sessions)
assert_eq "limits: smtp.messages_relayed" "$LIM_RELAYED" "$relayed"
stop_smtp_gw limits
log_checks limits "$T_TMP/limits.log" "$sessions" "$relayed"
assert_eq "limits log: sessions closed by the timeouts" 3 "$(grep -c 'smtp: session=.* disconnect .* reason=timeout$' "$T_TMP/limits.log")"
assert_eq "limits log: the session closed for too many errors" 1 "$(grep -c 'disconnect .* reason=too many errors$' "$T_TMP/limits.log")"
assert_eq "limits log: the session closed for too many messages" 1 "$(grep -c 'disconnect .* reason=too many messages$' "$T_TMP/limits.log")"
assert_eq "limits log: the connection refused for sessions_per_client" 1 \
	"$(grep -c 'smtp: refused 203\.0\.113\.10:[0-9]*: too many sessions from this client' "$T_TMP/limits.log")"

# ==== rate: connection_rate_per_client ========================================

start_smtp_gw rate "connection_rate_per_client = 3;" "command = 10; data = 10;" || exit 1
r0=$(gstat smtp.refused_client_rate)
# 7 connections within a second: each window of one second admits 3, so the
# first 3 get 220, at least one gets 421, at most 6 get 220.
ip netns exec "$EXT_NS" python3 - "$EXT_GW_IP" >"$T_TMP/rate.out" <<'PY'
import socket, sys, time
t0 = time.time()
for i in range(7):
    s = socket.create_connection((sys.argv[1], 25), timeout=5)
    f = s.makefile("rb")
    line = f.readline().decode().rstrip("\r\n")
    if line.startswith("220"):
        s.sendall(b"QUIT\r\n")
        f.readline()
    print(line, flush=True)
    s.close()
print("elapsed=%.2f" % (time.time() - t0))
PY
sed "s/^/#   /" "$T_TMP/rate.out"
mapfile -t rl <"$T_TMP/rate.out"
elapsed=$(sed -n 's/^elapsed=//p' "$T_TMP/rate.out")
assert_eq "connection_rate_per_client (3/s): the first three get 220" \
	"220 $HOST ESMTP mailgw|220 $HOST ESMTP mailgw|220 $HOST ESMTP mailgw" "${rl[0]}|${rl[1]}|${rl[2]}"
first=$(grep -v '^220 \|^elapsed=' "$T_TMP/rate.out" | head -n 1)
assert_eq "connection_rate_per_client: the refusal is 421 4.7.0 ... per second" \
	"421 4.7.0 $HOST Error: too many connections per second from 203.0.113.10" "$first"
n421=$(grep -c '^421 4\.7\.0 .* per second from 203\.0\.113\.10$' "$T_TMP/rate.out")
n220=$(grep -c '^220 ' "$T_TMP/rate.out")
if python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < 0.9)' "${elapsed:-9}"; then
	assert_ge "connection_rate_per_client: refusals among 7 within ${elapsed} s" "$n421" 1
else
	t_note "7 connections took ${elapsed} s: too slow to require a refusal"
fi
assert_eq "connection_rate_per_client: every connection got 220 or the 421" 7 $((n220 + n421))
assert_eq "connection_rate_per_client: smtp.refused_client_rate counts each refusal" "$n421" \
	"$(stat_delta smtp.refused_client_rate "$r0")"
out=$(int_raw r 's:QUIT\r\n' r)
expect "connection_rate_per_client: another client is not limited" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "QUIT" "221 2.0.0 Bye"
sleep 1.1
out=$(ext_raw r 's:QUIT\r\n' r)
expect "connection_rate_per_client: the partner again after a second" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "QUIT" "221 2.0.0 Bye"
stop_smtp_gw rate
