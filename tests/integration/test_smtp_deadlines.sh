#!/usr/bin/env bash
# test_smtp_deadlines.sh — cheap sessions (issue 12, item 8) and the log
# under a burst (issue 12, log rate-limiting).
#
# Deadlines: a timeout is re-armed by input, so before the fix a client
# sending a byte every second held a session for ever. With short settings
# (timeouts command = 3, data = 3, message = 8; limits.min_data_rate = 500),
# four slowloris clients run side by side:
#   command   an EHLO line, one byte a second: 421 4.4.2 command deadline
#             3 s after its first byte (smtp.command_deadline);
#   data      after the 354, one byte a second: 421 4.4.2 message deadline
#             at timeouts.data + octets / min_data_rate (smtp.data_deadline);
#   fast      after the 354, 2,000 octets a second (above the minimum rate):
#             421 at timeouts.message, 8 s after the 354;
#   discard   a message refused for a bare LF, then one byte a second while
#             the gateway reads it to its end: 421 at the deadline
#             (smtp.discard_deadline);
# A command line of 100,000 octets and no end is cut off at 16 times
# smtp.limits.command_line (smtp.command_flood), not read to its deadline.
# Junk: past smtp.limits.junk_commands (5 here) NOOP/RSET/VRFY/HELP/EHLO
# since the last message relayed count as errors, so complete commands sent
# slowly cannot hold a session either.
# Meanwhile legitimate clients on the same address get through: one whose every
# command comes in two pieces 1.5 s apart and whose session lasts longer
# than any deadline, one sending 200 KB over about 4 s (longer than
# timeouts.data, well above the rate), and swaks. The next hop never sees a
# slowloris message's end of data.
#
# Log: with log.rate_limit = 20 and a 512-record log ring, smtpgen's 2,000
# sessions (50 at a time) go through: log.dropped stays 0 (it did not
# before: the connect/disconnect lines filled the ring), log.suppressed
# counts, every message keeps its line, and the summaries account for every
# suppressed line of each kind.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

HOST=mx.gw.test
REC=$T_TMP/rec.jsonl
touch "$REC"
gstat() { local v; v=$(gw_stat "$1"); echo "${v:-0}"; }

cat >"$T_TMP/slow.py" <<'PY'
# slow.py ADDR STEP...: one SMTP connection; prints one line per reply
# (multi-line replies joined by " / ").
#   s:TEXT        send TEXT (Python escapes)
#   r             read one reply (10 s)
#   z:S           sleep S s
#   b:N           send N octets "A" (no line end)
#   t:I:MAX:TEXT  trickle: TEXT one byte every I s (TEXT repeated) until a
#                 reply comes or MAX s pass; prints "after=S" (seconds since
#                 the trickle started) and the reply, or "noreply=MAX"
#   f:I:MAX:N     flood at a rate: N octets of text lines every I s, as t
#   e:S           "eof" if the server closes within S s, else "noeof"
import select, socket, sys, time
s = socket.create_connection((sys.argv[1], 25), timeout=10)
buf = b""

def reply(tmo=10.0):
    global buf
    lines, end = [], time.time() + tmo
    while True:
        i = buf.find(b"\n")
        if i >= 0:
            line, buf = buf[:i + 1], buf[i + 1:]
            t = line.decode("latin-1").rstrip("\r\n")
            lines.append(t)
            if len(t) < 4 or t[3] != "-":
                return " / ".join(lines)
            continue
        left = end - time.time()
        if left <= 0:
            return " / ".join(lines + ["timeout"])
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionError:
            d = b""
        if not d:
            return " / ".join(lines + ["eof"])
        buf += d

def trickle(interval, most, chunks):
    start, k = time.time(), 0
    while time.time() - start < most:
        try:
            s.sendall(chunks(k))
        except OSError:
            pass
        k += 1
        r, _, _ = select.select([s], [], [], interval)
        if r:
            print("after=%.1f" % (time.time() - start), flush=True)
            print(reply(), flush=True)
            return
    print("noreply=%g" % most, flush=True)

for step in sys.argv[2:]:
    op, _, arg = step.partition(":")
    if op == "s":
        s.sendall(arg.encode().decode("unicode_escape").encode("latin-1"))
    elif op == "b":
        try:
            s.sendall(b"A" * int(arg))
        except OSError:
            pass
    elif op == "r":
        print(reply(), flush=True)
    elif op == "z":
        time.sleep(float(arg))
    elif op == "t":
        i, most, text = arg.split(":", 2)
        text = text.encode().decode("unicode_escape").encode("latin-1")
        trickle(float(i), float(most), lambda k: text[k % len(text):k % len(text) + 1])
    elif op == "f":
        i, most, n = arg.split(":")
        line = b"x" * 98 + b"\r\n"
        trickle(float(i), float(most), lambda k: (line * (int(n) // 100 + 1))[:int(n) // 100 * 100])
    elif op == "e":
        end, res = time.time() + float(arg), "noeof"
        while time.time() < end:
            s.settimeout(max(0.01, end - time.time()))
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionError:
                d = b""
            if not d:
                res = "eof"
                break
        print(res, flush=True)
PY
slow() { ip netns exec "$EXT_NS" timeout 60 python3 "$T_TMP/slow.py" "$EXT_GW_IP" "$@" 2>&1; }

# expect NAME OUTPUT LABEL EXPECTED...: line i of OUTPUT is EXPECTED i (regex when it starts with "~").
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
}
# within NAME OUT LO HI: the "after=S" line of OUT is LO..HI s.
within() {
	local t
	t=$(sed -n 's/^after=//p' <<<"$2")
	if [[ -n $t ]] && python3 -c 'import sys; sys.exit(not float(sys.argv[2]) <= float(sys.argv[1]) <= float(sys.argv[3]))' \
		"$t" "$3" "$4"; then
		t_ok "$1: closed after $t s ($3..$4 s)"
	else
		t_fail "$1: expected closed after $3..$4 s, got '$(tr '\n' ' ' <<<"$2")'"
	fi
}

topo_two_ports
t_check "next hop starts" nexthop_start "$INT_NS" "$INT_HOST_IP" 25 --record "$REC"

# ==== deadlines ================================================================

GW_EXTRA_GROUPS="smtp = { hostname = \"$HOST\"; accepted_domains = [ \"example.com\" ];
  limits = { min_data_rate = 500; junk_commands = 5; };
  timeouts = { command = 3; data = 3; message = 8; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; } );"
gw_config >"$T_TMP/gw.conf"
t_check "gateway starts (command = 3, data = 3, message = 8, min_data_rate = 500, junk_commands = 5)" \
	gw_start "$T_TMP/gw.conf"
smtp_wait_port "$EXT_NS" "$EXT_GW_IP" 25 30 220 || t_fail "SMTP answers"

ENV='s:EHLO\x20partner.test\r\n r s:MAIL\x20FROM:<a@partner.test>\r\n r'
t0=$(gstat smtp.timeouts)
slow r t:1:12:'EHLO slow.partner.test\r\n' e:3 >"$T_TMP/cmd.out" &
P1=$!
# shellcheck disable=SC2086
slow r $ENV 's:RCPT TO:<slowdata@example.com>\r\n' r 's:DATA\r\n' r \
	t:1:14:'Subject: slow\r\n\r\nabc\r\n' e:3 >"$T_TMP/data.out" &
P2=$!
# shellcheck disable=SC2086
slow r $ENV 's:RCPT TO:<fastdata@example.com>\r\n' r 's:DATA\r\n' r \
	f:0.05:14:100 e:3 >"$T_TMP/fast.out" &
P3=$!
# shellcheck disable=SC2086
slow r $ENV 's:RCPT TO:<discard@example.com>\r\n' r 's:DATA\r\n' r 's:Subject: bare\n' \
	t:1:14:'more text\r\n' e:3 >"$T_TMP/discard.out" &
P4=$!

# Meanwhile, legitimate clients from the same address.
sleep 0.5
# shellcheck disable=SC2086
out=$(slow r 's:EHLO par' z:1.5 's:tner.test\r\n' r 's:MAIL FROM:<a@part' z:1.5 's:ner.test>\r\n' r \
	z:2 's:RCPT TO:<legit1@exam' z:1.5 's:ple.com>\r\n' r 's:DATA\r\n' r \
	's:Subject: pieces\r\n\r\n' z:1.5 's:body\r\n.\r\n' r 's:QUIT\r\n' r)
expect "legitimate client, every command in two pieces, 10 s in all" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-$HOST" "MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" \
	"DATA" "354 End data with <CR><LF>.<CR><LF>" "end of data" "~^250 2\.0\.0 Ok: queued" "QUIT" "221 2.0.0 Bye"
python3 -c '
import sys
sys.stdout.write("Subject: big\r\n\r\n")
for i in range(2000):
    sys.stdout.write("%-97d\r\n" % i)' >"$T_TMP/big.body"
assert_eq "the big body is 198,016 octets" 198016 "$(stat -c %s "$T_TMP/big.body")"
out=$(ip netns exec "$EXT_NS" timeout 60 python3 - "$EXT_GW_IP" "$T_TMP/big.body" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 25), timeout=10)
f = s.makefile("rb")
def reply():
    out = []
    while True:
        l = f.readline().decode().rstrip()
        out.append(l)
        if len(l) < 4 or l[3] != "-":
            return " / ".join(out)
print(reply())
for c in ("EHLO partner.test", "MAIL FROM:<a@partner.test>", "RCPT TO:<big@example.com>", "DATA"):
    s.sendall(c.encode() + b"\r\n")
    print(reply().split(" / ")[0])
body = open(sys.argv[2], "rb").read()
t0 = time.time()
for i in range(0, len(body), 5000):     # 5 KB every 0.1 s: about 4 s
    s.sendall(body[i:i + 5000])
    time.sleep(0.1)
s.sendall(b".\r\n")
print(reply())
print("took=%.1f" % (time.time() - t0))
PY
)
expect "legitimate 200 KB message over 4 s (longer than timeouts.data)" "$out" \
	"greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-$HOST" "MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" \
	"DATA" "354 End data with <CR><LF>.<CR><LF>" "end of data" "~^250 2\.0\.0 Ok: queued" \
	"it took longer than timeouts.data" "~^took=([3-9]|[1-9][0-9])\."
swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --helo partner.test --from a@partner.test --to legit3@example.com
t_check "swaks during the slowloris clients: accepted" test $? -eq 0

# Complete commands, slowly or not, that move no mail on: past junk_commands (5) each is an
# error, and errors_per_session (10) ends the session; a message relayed starts the count again.
j0=$(gstat smtp.junk_commands)
noops=$(printf 'NOOP\\r\\n%.0s' $(seq 20))
out=$(slow r "s:$noops" r r r r r r r r r r r r r r r r e:3)
want=("greeting" "220 $HOST ESMTP mailgw")
for ((i = 1; i <= 15; i++)); do want+=("NOOP $i" "250 2.0.0 Ok"); done
expect "20 NOOPs, junk_commands = 5" "$out" "${want[@]}" \
	"after the 15th (5 + errors_per_session)" "421 4.7.0 $HOST Error: too many errors" "closed" "eof"
out=$(slow r 's:EHLO partner.test\r\n' r 's:NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n' r r r r \
	's:MAIL FROM:<a@partner.test>\r\nRCPT TO:<junk@example.com>\r\nDATA\r\n' r r r 's:Subject: j\r\n\r\nj\r\n.\r\n' r \
	's:RSET\r\nNOOP\r\nVRFY x\r\nHELP\r\nEHLO partner.test\r\nQUIT\r\n' r r r r r r e:3)
expect "5 junk commands, a message, 5 more: no error" "$out" "greeting" "220 $HOST ESMTP mailgw" \
	"EHLO" "~^250-" "NOOP 1" "250 2.0.0 Ok" "NOOP 2" "250 2.0.0 Ok" "NOOP 3" "250 2.0.0 Ok" "NOOP 4" "250 2.0.0 Ok" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"end of data" "~^250 2\.0\.0 Ok: queued" "RSET" "250 2.0.0 Ok" "NOOP" "250 2.0.0 Ok" \
	"VRFY" "~^252 2\.5\.2 " "HELP" "~^214 2\.0\.0 " "EHLO" "~^250-" "QUIT" "221 2.0.0 Bye" "closed" "eof"
assert_eq "smtp.junk_commands: 10 (the 6th to the 15th NOOP)" 10 $(($(gstat smtp.junk_commands) - j0))
# A command line with no end: past 16 x command_line (512) octets the session ends, long
# before its deadline.
out=$(slow r 's:EHLO ' b:100000 r e:3)
expect "100,000 octets and no line end" "$out" "greeting" "220 $HOST ESMTP mailgw" \
	"421" "421 4.7.0 $HOST Error: command line too long; closing" "closed" "eof"
assert_eq "smtp.command_flood: 1" 1 "$(gstat smtp.command_flood)"

wait "$P1" "$P2" "$P3" "$P4"
out=$(cat "$T_TMP/cmd.out")
expect "command slowloris (a byte a second)" "$out" "greeting" "220 $HOST ESMTP mailgw" \
	"time" "~^after=" "421" "421 4.4.2 $HOST Error: command deadline exceeded" "closed" "eof"
within "command slowloris" "$out" 2.5 5.5
out=$(cat "$T_TMP/data.out")
expect "DATA slowloris (a byte a second)" "$out" "greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"time" "~^after=" "421" "421 4.4.2 $HOST Error: message deadline exceeded" "closed" "eof"
within "DATA slowloris: at timeouts.data + octets / min_data_rate" "$out" 2.5 5.5
out=$(cat "$T_TMP/fast.out")
expect "DATA at 2,000 octets a second" "$out" "greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"time" "~^after=" "421" "421 4.4.2 $HOST Error: message deadline exceeded" "closed" "eof"
# 8.0 s on an idle machine; 10.8 s once in a full make test on a loaded 2-core
# VM (the client's own pace stretches): the 421 text above is what proves the
# deadline, the upper bound only that it is not the client's end of data.
within "DATA at 2,000 octets a second: at timeouts.message" "$out" 7.5 13
out=$(cat "$T_TMP/discard.out")
expect "refused message read on slowly (bare LF)" "$out" "greeting" "220 $HOST ESMTP mailgw" "EHLO" "~^250-" \
	"MAIL" "250 2.1.0 Ok" "RCPT" "250 2.1.5 Ok" "DATA" "354 End data with <CR><LF>.<CR><LF>" \
	"time" "~^after=" "421" "421 4.4.2 $HOST Error: message deadline exceeded" "closed" "eof"
within "refused message read on slowly" "$out" 2.5 5.5

assert_eq "smtp.command_deadline: 1" 1 "$(gstat smtp.command_deadline)"
assert_eq "smtp.data_deadline: 2 (a byte a second; timeouts.message)" 2 "$(gstat smtp.data_deadline)"
assert_eq "smtp.discard_deadline: 1" 1 "$(gstat smtp.discard_deadline)"
assert_eq "smtp.bare_lf_data: 1 (why the discarded message was refused)" 1 "$(gstat smtp.bare_lf_data)"
assert_eq "smtp.timeouts: none (a deadline is not an idle timeout)" "$t0" "$(gstat smtp.timeouts)"
sleep 0.5
recs() { python3 -c 'import json,sys; print(" ".join(sorted(r for l in open(sys.argv[1]) if l.strip() for r in json.loads(l)["rcpts"])))' "$REC"; }
assert_eq "the next hop got the legitimate messages only (never a slowloris end of data)" \
	"big@example.com junk@example.com legit1@example.com legit3@example.com" "$(recs)"
assert_eq "the sessions are gone" "0 session(s);" "$(gwctl show sessions | tail -n 1 | cut -d' ' -f1,2)"
gw_stop
assert_eq "gateway stops with status 0" 0 "$GW_EXIT"
assert_eq "log: one line per deadline" 4 "$(grep -c 'not complete by its deadline (.* octets in .* s), session closed' "$GW_LOG")"
assert_eq "log: the sessions closed by a deadline say why" "1 3" \
	"$(grep -c 'disconnect .* reason=command deadline$' "$GW_LOG") $(grep -c 'disconnect .* reason=message deadline$' "$GW_LOG")"
assert_eq "log: the endless command line" 1 "$(grep -c 'command line of [0-9]* octets and no end, session closed' "$GW_LOG")"
mv "$GW_LOG" "$T_TMP/deadlines.log"

# ==== the log under a burst =====================================================

SG=$T_BUILD/smtpgen
t_check "smtpgen is built" test -x "$SG"
_bg_stop "$NEXTHOP_PID" 2>/dev/null
ip netns exec "$INT_NS" "$SG" sink -L "$INT_HOST_IP:25" --pid-file "$T_TMP/sink.pid" \
	>"$T_TMP/sink.out" 2>"$T_TMP/sink.err" &
t_cleanup '[[ -s $T_TMP/sink.pid ]] && kill -TERM "$(cat "$T_TMP/sink.pid")"'
for ((i = 0; i < 100; i++)); do [[ -s $T_TMP/sink.pid ]] && break; sleep 0.05; done
GW_LIMITS_EXTRA="log_ring_size = 512;"
GW_EXTRA_GROUPS="smtp = { hostname = \"$HOST\"; accepted_domains = [ \"example.com\" ];
  limits = { sessions_per_client = 500; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; } );"
gw_config | sed 's/^log: { \(.*\) };$/log: { \1 rate_limit = 20; };/' >"$T_TMP/gw-burst.conf"
grep -q 'rate_limit = 20;' "$T_TMP/gw-burst.conf" || t_fail "burst config has log.rate_limit = 20"
t_check "gateway starts (log_ring_size = 512, log.rate_limit = 20)" gw_start "$T_TMP/gw-burst.conf"
smtp_wait_port "$EXT_NS" "$EXT_GW_IP" 25 30 220 || t_fail "SMTP answers"
ip netns exec "$EXT_NS" timeout 120 "$SG" client -S "$EXT_GW_IP:25" --json -s 50 -m 2000 -d 1 \
	--to "user%d@example.com" --from sender@partner.test >"$T_TMP/burst.json" 2>"$T_TMP/burst.err"
ok=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("messages", {}).get("ok", d.get("ok", 0)))' \
	"$T_TMP/burst.json" 2>/dev/null)
assert_eq "smtpgen: 2,000 sessions, every message accepted" 2000 "$ok"
sleep 1.5                               # the summaries of the last suppressed lines (a second later)
dropped=$(gstat log.dropped)
suppressed=$(gstat log.suppressed)
sessions=$(gstat smtp.sessions)
assert_eq "log.dropped stays 0 under the burst" 0 "$dropped"
assert_ge "log.suppressed counts the repeated lines" "$suppressed" 1000
gw_stop
assert_eq "gateway stops with status 0" 0 "$GW_EXIT"
L=$GW_LOG
assert_eq "every message keeps its log line (never rate-limited)" 2000 \
	"$(grep -c 'smtp: msg=.* status=sent ' "$L")"
summed=$(sed -n 's/.*log: \([0-9]*\) similar lines suppressed (.*/\1/p' "$L" | awk '{ s += $1 } END { print s + 0 }')
assert_eq "the summaries add up to log.suppressed" "$suppressed" "$summed"
per_kind() {   # per_kind PATTERN KIND: lines logged + lines the summaries of KIND suppressed
	local shown supp
	shown=$(grep -c "$1" "$L")
	supp=$(grep -F "similar lines suppressed ($2)" "$L" | sed -n 's/.*log: \([0-9]*\) similar.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	echo $((shown + supp))
}
assert_eq "connect lines: logged + suppressed = smtp.sessions" "$sessions" \
	"$(per_kind 'smtp: session=[0-9A-F]* connect client=' 'smtp: session connect')"
assert_eq "disconnect lines: logged + suppressed = smtp.sessions" "$sessions" \
	"$(per_kind 'smtp: session=[0-9A-F]* disconnect client=' 'smtp: session disconnect')"
