#!/usr/bin/env bash
# test_smtp_faults.sh — issue 4 acceptance, the relay's faults end to end
# (DESIGN §1: nothing acknowledged is ever lost). A client in $EXT_NS (a
# Python socket script written below: one JSON line per transaction with
# every reply and its timing) sends through the gateway to next hops that
# are tests/lib/nexthop.py instances in $INT_NS (10.20.0.10 and .11), one
# route per fault so that one gateway serves them all:
#   next hop down (nothing listening) -> 451 4.4.1 at RCPT, nothing relayed,
#     connect_failed counted; next hop unreachable (no ARP) -> 451 4.4.1
#     after smtp.timeouts.connect;
#   next hop resetting mid-DATA (--die-after-data-bytes) and next hop killed
#     (kill -9) while the message streams -> 451 after the final dot, no
#     message in the next hop's record, messages_tempfailed counted;
#   4xx/5xx at MAIL, RCPT (one of two recipients), DATA and end of data ->
#     the client sees that code (and text); DATA goes to accepted
#     recipients only; the same with the client pipelining; a 421 after the
#     dot -> 4xx, and that connection is not reused for the next message;
#   a client gone mid-DATA -> the next hop never sees an end of data;
#   stage timeouts (greeting: failover / 451 4.4.1 as the only hop; RCPT,
#     DATA, end of data) -> 451 within about the configured seconds,
#     smtp_client.timeouts counted; a next hop closing (FIN) at RCPT -> 451
#     4.4.2 at once;
#   connection cache: 20 sessions on few connections (cache_hits), a cached
#     connection the next hop closed while idle -> still 250 (a new
#     connection); a recipient of another route -> 452 4.5.3, the first
#     recipient still relayed, the second one in a new transaction;
#   a second gateway (cache_max_messages = 5, cache_idle_timeout = 1,
#     retry_after = 2): 20 messages on 4 connections, a new connection after
#     idleness, failover (first hop down, first hop greeting 421), the
#     failed first hop skipped within retry_after and used again after it;
#   the invariant over the whole file: every 250 a client got for a message
#     is exactly one message a next hop answered 250, and the reverse.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"
source "$(dirname "$0")/../lib/smtp.sh"

PY=/usr/bin/python3
NH=$T_ROOT/tests/lib/nexthop.py
LEDGER=$T_TMP/ledger.jsonl       # every transaction's replies, as the clients saw them
HOP1=10.20.0.10
HOP2=10.20.0.11
NOHOST=10.20.0.99                # nobody: ARP goes unanswered
T_START=$SECONDS
: >"$LEDGER"

# ---- the client ------------------------------------------------------------
# smtpc.py --txn FROM>TO[,TO...] [--txn ...] [--sessions N] [--size BYTES]
#          [--pause-at BYTES --marker FILE --go FILE] [--timeout S]
# One session per --sessions (FROM gets ".N" before its @ when N > 1), each
# transaction: MAIL, the RCPTs one by one, DATA when a recipient was
# accepted (RSET otherwise), the message (SIZE bytes of 78-octet lines) and
# the dot. --pause-at: after that many bytes of data, create MARKER and
# wait for GO. --pipeline: MAIL, the RCPTs and DATA in one write, then the
# replies. --abort-at BYTES: close the connection after that many bytes of
# data (no dot). Prints one JSON line per transaction: from, mail, rcpt
# ([to, reply, seconds]), data, t_data, eod, t_eod (from the dot), final
# (the last reply of the transaction), error.
cat >"$T_TMP/smtpc.py" <<'PY'
import argparse, json, os, socket, sys, time
p = argparse.ArgumentParser()
p.add_argument("--server", default="203.0.113.1")
p.add_argument("--port", type=int, default=25)
p.add_argument("--txn", action="append", required=True)
p.add_argument("--sessions", type=int, default=1)
p.add_argument("--size", type=int, default=2000)
p.add_argument("--pause-at", type=int)
p.add_argument("--marker")
p.add_argument("--go")
p.add_argument("--timeout", type=float, default=20)
p.add_argument("--pipeline", action="store_true")
p.add_argument("--abort-at", type=int)
a = p.parse_args()


class Session:
    def __init__(self):
        self.sock = socket.create_connection((a.server, a.port), timeout=a.timeout)
        self.f = self.sock.makefile("rb")

    def reply(self):
        while True:
            ln = self.f.readline()
            if not ln:
                raise EOFError("connection closed by the gateway")
            ln = ln.decode("utf-8", "replace").rstrip("\r\n")
            if len(ln) < 4 or ln[3] != "-":
                return ln

    def cmd(self, line):
        t = time.time()
        self.sock.sendall(line.encode() + b"\r\n")
        r = self.reply()
        return r, round(time.time() - t, 3)


def message(frm, tos, size):
    m = bytearray(("From: <%s>\r\nTo: %s\r\nSubject: fault test %s\r\nMessage-ID: <%s.%d@src.test>\r\n\r\n"
                   % (frm, ", ".join("<%s>" % t for t in tos), frm, frm.replace("@", "."),
                      time.time_ns())).encode())
    i = 0
    while len(m) < size:
        m += b"line %06d " % i + b"x" * 65 + b"\r\n"
        i += 1
    return bytes(m)


def send_data(s, data):
    sent = 0
    paused = a.pause_at is None
    while sent < len(data):
        n = min(8192, len(data) - sent)
        if not paused:
            n = min(n, max(1, a.pause_at - sent))
        s.sock.sendall(data[sent:sent + n])
        sent += n
        if not paused and sent >= a.pause_at:
            paused = True
            open(a.marker, "w").close()
            end = time.time() + 30
            while not os.path.exists(a.go) and time.time() < end:
                time.sleep(0.02)
    s.sock.sendall(b".\r\n")


def pipelined(s, frm, tos, out):
    t = time.time()
    s.sock.sendall(("MAIL FROM:<%s>\r\n" % frm + "".join("RCPT TO:<%s>\r\n" % to for to in tos)
                    + "DATA\r\n").encode())
    out["mail"] = out["final"] = s.reply()
    for to in tos:
        out["rcpt"].append([to, s.reply(), round(time.time() - t, 3)])
    out["data"] = out["final"] = s.reply()
    out["t_data"] = round(time.time() - t, 3)
    if out["data"].startswith("354"):
        send_data(s, message(frm, tos, a.size))
        t = time.time()
        out["eod"] = out["final"] = s.reply()
        out["t_eod"] = round(time.time() - t, 3)


def transaction(s, frm, tos, out):
    if a.pipeline:
        return pipelined(s, frm, tos, out)
    r, _ = s.cmd("MAIL FROM:<%s>" % frm)
    out["mail"] = out["final"] = r
    if not r.startswith("2"):
        return
    ok = False
    for to in tos:
        r, t = s.cmd("RCPT TO:<%s>" % to)
        out["rcpt"].append([to, r, t])
        out["final"] = r
        ok = ok or r.startswith("2")
    if not ok:
        s.cmd("RSET")
        return
    r, t = s.cmd("DATA")
    out["data"] = out["final"] = r
    out["t_data"] = t
    if not r.startswith("354"):
        return
    if a.abort_at is not None:
        s.sock.sendall(message(frm, tos, a.size)[:a.abort_at])
        time.sleep(0.2)
        s.sock.close()
        out["final"] = "ABORTED by the client"
        raise StopIteration
    send_data(s, message(frm, tos, a.size))
    t = time.time()
    r = s.reply()
    out["eod"] = out["final"] = r
    out["t_eod"] = round(time.time() - t, 3)


for n in range(a.sessions):
    s = None
    try:
        s = Session()
        g = s.reply()
        s.cmd("EHLO client.test")
    except (OSError, EOFError) as e:
        g = "ERR %s" % e
    for spec in a.txn:
        frm, _, tos = spec.partition(">")
        if a.sessions > 1:
            frm = frm.replace("@", ".%d@" % n, 1)
        out = {"session": n, "from": frm, "greeting": g, "mail": None, "rcpt": [], "data": None,
               "t_data": None, "eod": None, "t_eod": None, "final": g, "error": None}
        try:
            if s is None:
                raise EOFError(g)
            transaction(s, frm, tos.split(","), out)
        except StopIteration:
            print(json.dumps(out), flush=True)
            s = None
            break
        except (OSError, EOFError) as e:
            out["error"] = str(e)
            out["final"] = "ERR %s" % e
        print(json.dumps(out), flush=True)
    try:
        if s is not None:
            s.cmd("QUIT")
            s.sock.close()
    except Exception:
        pass
PY

# send NAME ARGS...: smtpc.py in $EXT_NS, its lines in $T_TMP/c-NAME.jsonl
# and added to the ledger.
send() {
	local name=$1; shift
	ip netns exec "$EXT_NS" timeout 120 $PY "$T_TMP/smtpc.py" "$@" >"$T_TMP/c-$name.jsonl" 2>"$T_TMP/c-$name.err"
	cat "$T_TMP/c-$name.jsonl" >>"$LEDGER"
}

# cj NAME EXPR: a Python expression over client output NAME (R: every
# transaction, r: the last; rc(i): RCPT i's reply; missing values print "-").
cj() {
	$PY - "$T_TMP/c-$1.jsonl" "$2" <<'PY'
import json, sys
R = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r = R[-1] if R else {"rcpt": [], "final": "-", "error": "no output"}
def rc(i):
    return r["rcpt"][i][1] if len(r["rcpt"]) > i else "-"
def rt(i):
    return r["rcpt"][i][2] if len(r["rcpt"]) > i else -1
try:
    v = eval(sys.argv[2])
except Exception as e:
    v = "eval-error: %r" % e
print("-" if v is None else v)
PY
}

# rj LABEL EXPR: a Python expression over next hop LABEL's records (R: every
# message it received completely; ok: those it answered 250).
rj() {
	$PY - "$T_TMP/rec-$1.jsonl" "$2" <<'PY'
import json, os, sys
R = [json.loads(l) for l in open(sys.argv[1]) if l.strip()] if os.path.exists(sys.argv[1]) else []
ok = [x for x in R if (x.get("reply") or "").startswith("250")]
try:
    v = eval(sys.argv[2])
except Exception as e:
    v = "eval-error: %r" % e
print("-" if v is None else v)
PY
}

# in_range NAME VALUE MIN MAX (floats)
in_range() {
	if $PY -c 'import sys; v, lo, hi = map(float, sys.argv[1:4]); sys.exit(not lo <= v <= hi)' "$2" "$3" "$4" 2>/dev/null; then
		t_ok "$1 ($2 s)"
	else
		t_fail "$1: expected $3..$4 s, got '$2'"
	fi
}

# ---- next hops -------------------------------------------------------------
declare -A NH_PID
# nh_spawn LABEL ADDR:PORT [nexthop.py options]: start one (no waiting),
# records in $T_TMP/rec-LABEL.jsonl.
nh_spawn() {
	local label=$1 listen=$2; shift 2
	: >"$T_TMP/nh-$label.out"
	ip netns exec "$INT_NS" $PY "$NH" --listen "$listen" --record "$T_TMP/rec-$label.jsonl" \
		--hostname "$label.nexthop.test" "$@" >"$T_TMP/nh-$label.out" 2>"$T_TMP/nh-$label.err" &
	NH_PID[$label]=$!
	t_cleanup "_bg_stop ${NH_PID[$label]}"
}

# nh_wait LABEL...: 0 when each has said "ready" (20 s in all).
nh_wait() {
	local l end=$((SECONDS + 20))
	for l; do
		until grep -qx ready "$T_TMP/nh-$l.out" 2>/dev/null; do
			if ! kill -0 "${NH_PID[$l]}" 2>/dev/null || ((SECONDS > end)); then
				t_note "nexthop $l not ready:"; sed 's/^/#   /' "$T_TMP/nh-$l.err"
				return 1
			fi
			sleep 0.05
		done
	done
}

nh_stop() { _bg_stop "${NH_PID[$1]}"; }

# ---- counters --------------------------------------------------------------
snap() { gw_stats >"$T_TMP/stats.snap"; }
# delta NAME: the counter's rise since the last snap.
delta() {
	local now before
	now=$(gw_stat "$1")
	before=$(awk -v n="$1" '$1 == n { print $2 }' "$T_TMP/stats.snap")
	echo $((${now:-0} - ${before:-0}))
}

# ---- the gateway -------------------------------------------------------------
SMTP_COMMON='hostname = "mx.gw.test";
    accepted_domains = [ "example.com", "*.example.com", "other.example" ];
    relay_networks = [ "10.20.0.0/24" ];
    timeouts = { command = 60; data = 60; connect = 2; greeting = 2; mail = 2; rcpt = 2;
                 data_init = 2; data_block = 3; data_end = 2; };'

# routes DOMAIN=HOP[,HOP...]...: the routes group.
routes() {
	local r d hops out="routes = ("
	for r; do
		d=${r%%=*}; hops=${r#*=}
		out+=$'\n'"  { domains = [ \"$d\" ]; next_hops = [ \"${hops//,/\", \"}\" ]; },"
	done
	echo "${out%,}"$'\n'");"
}

# start_gw LABEL SMTP_CLIENT_SETTINGS ROUTE...
start_gw() {
	local label=$1 client=$2; shift 2
	GW_EXTRA_GROUPS="smtp = { $SMTP_COMMON
    client = { $client };
};
$(routes "$@")" gw_config >"$T_TMP/gw-$label.conf"
	if ! gw_start "$T_TMP/gw-$label.conf"; then
		t_fail "$label: mailgw starts"
		exit 1
	fi
	t_ok "$label: mailgw starts"
}

stop_gw() {   # LABEL
	gw_stop
	assert_eq "$1: mailgw stops with status 0" 0 "$GW_EXIT"
}

topo_two_ports
ip -n "$INT_NS" addr add "$HOP2/24" dev "$INT_PEER_IF"

# =============================================================================
# Gateway A: one route per fault.
nh_spawn middata  $HOP1:2602 --die-after-data-bytes 20000
nh_spawn kill     $HOP1:2603
nh_spawn mail4    $HOP1:2604 --mail "451 4.3.0 try later"
nh_spawn mail5    $HOP1:2605 --mail "550 5.7.1 sender blocked"
nh_spawn rcpt4    $HOP1:2606 --rcpt "450 4.2.0 busy" --rcpt-match bad
nh_spawn rcpt5    $HOP1:2607 --rcpt "550 5.1.1 no such user" --rcpt-match bad
nh_spawn data4    $HOP1:2608 --data "451 4.3.0 not now"
nh_spawn data5    $HOP1:2609 --data "554 5.3.0 no data here"
nh_spawn eod4     $HOP1:2610 --eod "452 4.3.1 full"
nh_spawn eod5     $HOP1:2611 --eod "554 5.7.0 rejected"
nh_spawn eod421   $HOP1:2621 --eod "421 4.3.2 closing now" --only-first 1
nh_spawn cabort   $HOP1:2622
nh_spawn tgreet   $HOP1:2612 --delay-greeting 5
nh_spawn trcpt    $HOP1:2613 --delay-rcpt 5
nh_spawn tdata    $HOP1:2614 --hang-at data
nh_spawn teod     $HOP1:2615 --hang-at eod
nh_spawn tgfo1    $HOP1:2618 --delay-greeting 5
nh_spawn tgfo2    $HOP2:2616
nh_spawn finrcpt  $HOP1:2619 --die-at rcpt
nh_spawn rt1      $HOP1:2620
nh_spawn other    $HOP2:2617
nh_spawn cache    $HOP1:2630
nh_spawn stale    $HOP1:2631 --timeout 1
t_check "gateway A: next hops ready" nh_wait middata kill mail4 mail5 rcpt4 rcpt5 data4 data5 eod4 eod5 eod421 cabort \
	tgreet trcpt tdata teod tgfo1 tgfo2 finrcpt rt1 other cache stale

start_gw "gateway A" "retry_after = 2;" \
	"down.example.com=$HOP1:2601" "noarp.example.com=$NOHOST:25" \
	"middata.example.com=$HOP1:2602" "kill.example.com=$HOP1:2603" \
	"mail4.example.com=$HOP1:2604" "mail5.example.com=$HOP1:2605" \
	"rcpt4.example.com=$HOP1:2606" "rcpt5.example.com=$HOP1:2607" \
	"data4.example.com=$HOP1:2608" "data5.example.com=$HOP1:2609" \
	"eod4.example.com=$HOP1:2610" "eod5.example.com=$HOP1:2611" "eod421.example.com=$HOP1:2621" \
	"cabort.example.com=$HOP1:2622" \
	"tgreet.example.com=$HOP1:2612" "trcpt.example.com=$HOP1:2613" \
	"tdata.example.com=$HOP1:2614" "teod.example.com=$HOP1:2615" \
	"tgfo.example.com=$HOP1:2618,$HOP2:2616" "finrcpt.example.com=$HOP1:2619" \
	"rt1.example.com=$HOP1:2620" "other.example=$HOP2:2617" \
	"cache.example.com=$HOP1:2630" "stale.example.com=$HOP1:2631"

# ---- 1. next hop down --------------------------------------------------------
snap
send down --txn "down@src.test>user@down.example.com"
assert_match "down: RCPT -> 451 4.4.1" '^451 4\.4\.1 ' "$(cj down 'rc(0)')"
assert_eq "down: no DATA sent, the transaction's last reply is not 250" "no" \
	"$(cj down '"yes" if r["data"] or r["final"].startswith("250") else "no"')"
assert_eq "down: smtp.messages_relayed stays 0" 0 "$(gw_stat smtp.messages_relayed)"
assert_ge "down: smtp_client.connect_failed rose" "$(delta smtp_client.connect_failed)" 1

snap
send noarp --txn "noarp@src.test>user@noarp.example.com"
assert_match "unreachable (no ARP): RCPT -> 451 4.4.1" '^451 4\.4\.1 ' "$(cj noarp 'rc(0)')"
in_range "unreachable: answered after about smtp.timeouts.connect (2 s)" "$(cj noarp 'rt(0)')" 1.5 5
assert_ge "unreachable: smtp_client.timeouts rose" "$(delta smtp_client.timeouts)" 1

# ---- 2. next hop gone mid-DATA -----------------------------------------------
snap
send middata --txn "middata@src.test>user@middata.example.com" --size 100000
assert_match "reset mid-DATA: RCPT 250, DATA 354" '^250 .*\|354' "$(cj middata 'rc(0) + "|" + r["data"]')"
assert_match "reset mid-DATA: reply after the dot 451 4.4.2" '^451 4\.4\.2 ' "$(cj middata 'r["eod"]')"
assert_eq "reset mid-DATA: no completed message in the next hop's record" 0 "$(rj middata 'len(R)')"
assert_ge "reset mid-DATA: smtp.messages_tempfailed counted it" "$(delta smtp.messages_tempfailed)" 1
assert_ge "reset mid-DATA: smtp_client.lost counted it" "$(delta smtp_client.lost)" 1
assert_eq "reset mid-DATA: smtp.messages_relayed unchanged" 0 "$(delta smtp.messages_relayed)"

snap
rm -f "$T_TMP/kill.marker" "$T_TMP/kill.go"
send kill --txn "kill@src.test>user@kill.example.com" --size 400000 \
	--pause-at 150000 --marker "$T_TMP/kill.marker" --go "$T_TMP/kill.go" &
client=$!
for ((i = 0; i < 200; i++)); do [[ -e $T_TMP/kill.marker ]] && break; sleep 0.05; done
t_check "kill -9: the client is half-way through its message" test -e "$T_TMP/kill.marker"
sleep 0.3
kill -KILL "${NH_PID[kill]}"
wait "${NH_PID[kill]}" 2>/dev/null
touch "$T_TMP/kill.go"
wait "$client"
assert_match "kill -9 mid-DATA: reply after the dot 451 4.4.x" '^451 4\.4\.[0-9] ' "$(cj kill 'r["eod"]')"
t_note "kill -9 mid-DATA: the client got \"$(cj kill 'r["eod"]')\" $(cj kill 'r["t_eod"]') s after its dot"
assert_eq "kill -9 mid-DATA: no completed message in the next hop's record" 0 "$(rj kill 'len(R)')"
assert_ge "kill -9 mid-DATA: smtp.messages_tempfailed counted it" "$(delta smtp.messages_tempfailed)" 1

# ---- 3. 4xx / 5xx at each stage ------------------------------------------------
send mail4 --txn "mail4@src.test>user@mail4.example.com"
assert_eq "MAIL 451 at the next hop: the client's RCPT gets it" "451 4.3.0 try later" "$(cj mail4 'rc(0)')"
send mail5 --txn "mail5@src.test>user@mail5.example.com"
assert_eq "MAIL 550 at the next hop: the client's RCPT gets it" "550 5.7.1 sender blocked" "$(cj mail5 'rc(0)')"
assert_eq "MAIL 4xx/5xx: no DATA, nothing in the next hops' records" "- - 0 0" \
	"$(cj mail4 'r["data"]') $(cj mail5 'r["data"]') $(rj mail4 'len(R)') $(rj mail5 'len(R)')"

send rcpt4 --txn "rcpt4@src.test>bad@rcpt4.example.com,good@rcpt4.example.com"
assert_eq "RCPT 450 for one of two: the client sees 450 4.2.0, then 250" "450 4.2.0 busy|250" \
	"$(cj rcpt4 'rc(0) + "|" + rc(1)[:3]')"
assert_match "RCPT 450 for one of two: the message is relayed (250)" '^250 ' "$(cj rcpt4 'r["eod"]')"
assert_eq "RCPT 450 for one of two: the next hop got it for the accepted recipient only" \
	"['good@rcpt4.example.com']" "$(rj rcpt4 '[x["rcpts"] for x in ok][0] if len(ok) == 1 else len(ok)')"

send rcpt5 --txn "rcpt5@src.test>good@rcpt5.example.com,bad@rcpt5.example.com"
assert_eq "RCPT 550 for one of two: the client sees 250, then 550 5.1.1" "250|550 5.1.1 no such user" \
	"$(cj rcpt5 'rc(0)[:3] + "|" + rc(1)')"
assert_match "RCPT 550 for one of two: the message is relayed (250)" '^250 ' "$(cj rcpt5 'r["eod"]')"
assert_eq "RCPT 550 for one of two: delivered to the accepted recipient only" \
	"['good@rcpt5.example.com'] ['bad@rcpt5.example.com']" \
	"$(rj rcpt5 '"%s %s" % (ok[0]["rcpts"], ok[0]["rcpts_rejected"]) if len(ok) == 1 else len(ok)')"

send data4 --txn "data4@src.test>user@data4.example.com"
assert_eq "DATA 451 at the next hop: the client's DATA gets it" "451 4.3.0 not now" "$(cj data4 'r["data"]')"
send data5 --txn "data5@src.test>user@data5.example.com"
assert_eq "DATA 554 at the next hop: the client's DATA gets it" "554 5.3.0 no data here" "$(cj data5 'r["data"]')"
assert_eq "DATA 4xx/5xx: nothing in the next hops' records" "0 0" "$(rj data4 'len(R)') $(rj data5 'len(R)')"

snap
send eod4 --txn "eod4@src.test>user@eod4.example.com"
assert_eq "end-of-data 452 at the next hop: the client gets it after the dot" "452 4.3.1 full" "$(cj eod4 'r["eod"]')"
send eod5 --txn "eod5@src.test>user@eod5.example.com"
assert_eq "end-of-data 554 at the next hop: the client gets it after the dot" "554 5.7.0 rejected" "$(cj eod5 'r["eod"]')"
assert_eq "end-of-data 4xx/5xx: the next hops received them and did not say 250" "1 0 1 0" \
	"$(rj eod4 'len(R)') $(rj eod4 'len(ok)') $(rj eod5 'len(R)') $(rj eod5 'len(ok)')"
assert_eq "end-of-data 4xx/5xx: tempfailed +1, rejected +1, relayed +0" "1 1 0" \
	"$(delta smtp.messages_tempfailed) $(delta smtp.messages_rejected) $(delta smtp.messages_relayed)"

# A 421 after the dot closes the next hop's side: the client gets a 4xx and
# the connection must not go back to the cache (the next message on that
# route would wait for a reply that never comes). --only-first 1: a second
# connection behaves normally.
send eod421a --txn "eod421a@src.test>user@eod421.example.com"
assert_match "end-of-data 421 at the next hop: a 4xx after the dot" '^4[0-9][0-9] ' "$(cj eod421a 'r["eod"]')"
send eod421b --txn "eod421b@src.test>user@eod421.example.com"
assert_match "after a next hop's 421 the connection is not reused: the next message gets RCPT 250 and 250" \
	'^250 .*\|250 ' "$(cj eod421b 'rc(0) + "|" + r["final"]')"

# The same faults with the client pipelining MAIL, RCPTs and DATA: the
# replies come in order and DATA gets 354 only with a recipient accepted.
send pdown --pipeline --txn "pdown@src.test>user@down.example.com"
assert_match "pipelined, next hop down: 250, 451 4.4.1, DATA 554 (not 354)" '^250 .*\|451 4\.4\.1 .*\|554 ' \
	"$(cj pdown 'r["mail"] + "|" + rc(0) + "|" + r["data"]')"
send pmail5 --pipeline --txn "pmail5@src.test>a@mail5.example.com,b@mail5.example.com"
assert_eq "pipelined, MAIL 550 at the next hop: both RCPTs get it, DATA 554" \
	"550 5.7.1 sender blocked|550 5.7.1 sender blocked|554" "$(cj pmail5 'rc(0) + "|" + rc(1) + "|" + r["data"][:3]')"
send prcpt4 --pipeline --txn "prcpt4@src.test>bad@rcpt4.example.com,good@rcpt4.example.com"
assert_match "pipelined, RCPT 450 for one of two: 250, 450 4.2.0, 250, 354, 250" \
	'^250\|450 4\.2\.0 busy\|250\|354\|250 ' \
	"$(cj prcpt4 'r["mail"][:3] + "|" + rc(0) + "|" + rc(1)[:3] + "|" + r["data"][:3] + "|" + r["final"]')"
assert_eq "pipelined, RCPT 450 for one of two: delivered to the accepted recipient only" \
	"['good@rcpt4.example.com']" "$(rj rcpt4 '[x["rcpts"] for x in ok if x["from"].startswith("prcpt4")][0]')"

# A client that goes away mid-DATA: the next hop must never see an end of
# data (it would deliver a message the client was never told about).
send cabort --txn "cabort@src.test>user@cabort.example.com" --size 100000 --abort-at 30000
send cabort2 --txn "cabort2@src.test>user@cabort.example.com" --size 100000 --abort-at 99990
sleep 0.3
assert_eq "client gone mid-DATA: nothing in the next hop's record" 0 "$(rj cabort 'len(R)')"
send cabort3 --txn "cabort3@src.test>user@cabort.example.com"
assert_match "client gone mid-DATA: the route still works afterwards" '^250 ' "$(cj cabort3 'r["final"]')"

# ---- 5. next-hop timeouts ------------------------------------------------------
snap
send tgfo --txn "tgfo@src.test>user@tgfo.example.com"
assert_match "greeting timeout, second hop there: RCPT 250 after failing over" '^250 ' "$(cj tgfo 'rc(0)')"
in_range "greeting timeout, failover: RCPT answered after about smtp.timeouts.greeting" "$(cj tgfo 'rt(0)')" 1.5 5
assert_match "greeting timeout, failover: the message is relayed" '^250 ' "$(cj tgfo 'r["eod"]')"
assert_eq "greeting timeout, failover: delivered by the second hop only" "1 0" "$(rj tgfo2 'len(ok)') $(rj tgfo1 'len(R)')"
assert_eq "greeting timeout, failover: smtp_client.timeouts +1, failovers +1" "1 1" \
	"$(delta smtp_client.timeouts) $(delta smtp_client.failovers)"

snap
send tgreet --txn "tgreet@src.test>user@tgreet.example.com"
assert_match "greeting timeout, only hop: RCPT -> 451 4.4.1" '^451 4\.4\.1 ' "$(cj tgreet 'rc(0)')"
in_range "greeting timeout, only hop: after about smtp.timeouts.greeting (2 s)" "$(cj tgreet 'rt(0)')" 1.5 5
send trcpt --txn "trcpt@src.test>user@trcpt.example.com"
assert_match "RCPT timeout: RCPT -> 451 4.4.1" '^451 4\.4\.1 ' "$(cj trcpt 'rc(0)')"
in_range "RCPT timeout: after about smtp.timeouts.rcpt (2 s)" "$(cj trcpt 'rt(0)')" 1.5 5
send tdata --txn "tdata@src.test>user@tdata.example.com"
assert_match "DATA timeout: DATA -> 451" '^451 4\.4\.[0-9] ' "$(cj tdata 'r["data"]')"
in_range "DATA timeout: after about smtp.timeouts.data_init (2 s)" "$(cj tdata 'r["t_data"]')" 1.5 5
send teod --txn "teod@src.test>user@teod.example.com"
assert_match "end-of-data timeout: 451 after the dot" '^451 4\.4\.[0-9] ' "$(cj teod 'r["eod"]')"
in_range "end-of-data timeout: after about smtp.timeouts.data_end (2 s)" "$(cj teod 'r["t_eod"]')" 1.5 5
assert_eq "end-of-data timeout: the next hop's record has the message, unanswered" "1 0" \
	"$(rj teod 'len(R)') $(rj teod 'len(ok)')"
assert_eq "timeouts: smtp_client.timeouts +4" 4 "$(delta smtp_client.timeouts)"

send finrcpt --txn "finrcpt@src.test>user@finrcpt.example.com"
assert_match "next hop closes (FIN) at RCPT: RCPT -> 451 4.4.x" '^451 4\.4\.[0-9] ' "$(cj finrcpt 'rc(0)')"
assert_match "next hop closes (FIN) at RCPT: 451 4.4.2 connection lost at once, not a timeout" \
	'^451 4\.4\.2 .*@0\.[0-9]+$' "$(cj finrcpt 'rc(0) + "@" + str(rt(0))')"

# ---- 6. connection cache -------------------------------------------------------
snap
send cache --txn "cache@src.test>user@cache.example.com" --sessions 20
assert_eq "cache: 20 sessions, 20 messages relayed (250)" 20 "$(cj cache 'sum(1 for x in R if x["final"].startswith("250"))')"
assert_eq "cache: the next hop answered 250 twenty times" 20 "$(rj cache 'len(ok)')"
c=$(delta smtp_client.connects)
if ((c >= 1 && c <= 2)); then t_ok "cache: 20 messages on $c connection(s)"; else t_fail "cache: 20 messages on $c connections (expected 1..2)"; fi
assert_ge "cache: smtp_client.cache_hits rose by 18 or more" "$(delta smtp_client.cache_hits)" 18
assert_eq "cache: the next hop saw the same number of connections" "$c" "$(rj cache 'len(set(x["conn"] for x in R))')"

snap
send stale1 --txn "stale1@src.test>user@stale.example.com"
assert_match "stale: first message relayed" '^250 ' "$(cj stale1 'r["final"]')"
sleep 2.5                                       # the next hop closes it after 1 s idle
send stale2 --txn "stale2@src.test>user@stale.example.com"
assert_match "stale: after the next hop closed the cached connection, RCPT 250" '^250 ' "$(cj stale2 'rc(0)')"
assert_match "stale: ... and the message is relayed (250)" '^250 ' "$(cj stale2 'r["final"]')"
assert_eq "stale: the two messages came on two connections" "2 2" \
	"$(rj stale 'len(ok)') $(rj stale 'len(set(x["conn"] for x in R))')"
assert_eq "stale: two connections opened" 2 "$(delta smtp_client.connects)"
t_note "stale: smtp_client.lost +$(delta smtp_client.lost), cache_hits +$(delta smtp_client.cache_hits) (a stale reuse retried on a new connection counts both)"

# ---- 7. a recipient of another route -------------------------------------------
snap
send otherhop --txn "otherhop@src.test>a@rt1.example.com,b@other.example" \
	--txn "otherhop2@src.test>b@other.example"
assert_eq "other next hop: first RCPT 250, second 452 4.5.3" "250|452 4.5.3" \
	"$(cj otherhop 'R[0]["rcpt"][0][1][:3] + "|" + R[0]["rcpt"][1][1][:9]')"
assert_match "other next hop: the first recipient's message is relayed" '^250 ' "$(cj otherhop 'R[0]["final"]')"
assert_eq "other next hop: rt1's next hop got it for a@rt1.example.com only" "['a@rt1.example.com']" \
	"$(rj rt1 '[x["rcpts"] for x in ok][0] if len(ok) == 1 else len(ok)')"
assert_match "other next hop: a new transaction for b@other.example is relayed" '^250 .*\|250 ' \
	"$(cj otherhop 'R[1]["rcpt"][0][1] + "|" + R[1]["final"]')"
assert_eq "other next hop: other.example's next hop got it" "['b@other.example']" \
	"$(rj other '[x["rcpts"] for x in ok][0] if len(ok) == 1 else len(ok)')"
assert_eq "other next hop: smtp.rcpt_other_next_hop +1" 1 "$(delta smtp.rcpt_other_next_hop)"

stop_gw "gateway A"

# =============================================================================
# Gateway B: a short-lived cache, retry_after = 2, failover between two hops.
nh_spawn cacheb $HOP1:2640
nh_spawn fo2 $HOP2:25
t_check "gateway B: next hops ready" nh_wait cacheb fo2
start_gw "gateway B" "cache_max_messages = 5; cache_idle_timeout = 1; retry_after = 2;" \
	"example.com=$HOP1:25,$HOP2:25" "cacheb.example.com=$HOP1:2640"

snap
send cacheb --txn "cacheb@src.test>user@cacheb.example.com" --sessions 20
assert_eq "cache_max_messages 5: 20 messages relayed" 20 "$(cj cacheb 'sum(1 for x in R if x["final"].startswith("250"))')"
c=$(delta smtp_client.connects)
if ((c >= 4 && c <= 5)); then t_ok "cache_max_messages 5: 20 messages on $c connections"; else t_fail "cache_max_messages 5: 20 messages on $c connections (expected 4..5)"; fi
assert_eq "cache_max_messages 5: no connection carried more than 5" 5 \
	"$(rj cacheb 'max(sum(1 for y in R if y["conn"] == x["conn"]) for x in R)')"

send idle1 --txn "idle1@src.test>user@cacheb.example.com"
snap
sleep 2
send idle2 --txn "idle2@src.test>user@cacheb.example.com"
assert_match "cache_idle_timeout 1: both messages relayed" '^250 .*\|250 ' "$(cj idle1 'r["final"]')|$(cj idle2 'r["final"]')"
assert_eq "cache_idle_timeout 1: after 2 s idle a new connection (connects +1, cache_hits +0, expired +1)" "1 0 1" \
	"$(delta smtp_client.connects) $(delta smtp_client.cache_hits) $(delta smtp_client.cache_expired)"

# ---- 4. failover ------------------------------------------------------------------
snap
t_fo=$(($(date +%s%N) / 1000000))
send fo_down --txn "fodown@src.test>user@example.com"
assert_match "failover, first hop down: relayed (250)" '^250 ' "$(cj fo_down 'r["final"]')"
assert_eq "failover, first hop down: delivered by the second hop" 1 "$(rj fo2 'len(ok)')"
assert_eq "failover, first hop down: smtp_client.failovers +1" 1 "$(delta smtp_client.failovers)"
assert_ge "failover, first hop down: smtp_client.connect_failed rose" "$(delta smtp_client.connect_failed)" 1

# Within retry_after a new connection skips the first hop: one session holds
# the cached connection mid-DATA, a second one needs a new connection.
snap
rm -f "$T_TMP/hold.marker" "$T_TMP/hold.go"
send fo_hold --txn "fohold@src.test>user@example.com" --size 60000 \
	--pause-at 20000 --marker "$T_TMP/hold.marker" --go "$T_TMP/hold.go" &
client=$!
for ((i = 0; i < 200; i++)); do [[ -e $T_TMP/hold.marker ]] && break; sleep 0.02; done
send fo_skip --txn "foskip@src.test>user@example.com"
touch "$T_TMP/hold.go"
wait "$client"
t_fo=$(($(date +%s%N) / 1000000 - t_fo))
assert_match "within retry_after: both concurrent messages relayed by the second hop" '^250 .*\|250 .*\|3$' \
	"$(cj fo_hold 'r["final"]')|$(cj fo_skip 'r["final"]')|$(rj fo2 'len(ok)')"
if ((t_fo < 1900)); then
	t_note "within retry_after: the second message came $t_fo ms after the first hop failed"
	assert_eq "within retry_after: the failed first hop is skipped (connects +1, connect_failed +0, failovers +0)" \
		"1 0 0" "$(delta smtp_client.connects) $(delta smtp_client.connect_failed) $(delta smtp_client.failovers)"
else
	t_note "within retry_after: skipped, the machine took $t_fo ms (retry_after is 2 s)"
fi

sleep 2.5                       # past retry_after, and the cached connections expired
nh_spawn fo1busy $HOP1:25 --greeting "421 4.3.2 busy" --verbose
t_check "failover: first hop answering 421 ready" nh_wait fo1busy
snap
send fo_busy --txn "fobusy@src.test>user@example.com"
assert_match "failover, first hop greets 421: relayed (250)" '^250 ' "$(cj fo_busy 'r["final"]')"
assert_eq "failover, first hop greets 421: delivered by the second hop" 4 "$(rj fo2 'len(ok)')"
assert_eq "failover, first hop greets 421: it was tried (one connection), took nothing" "1 0" \
	"$(grep -c 'connect from' "$T_TMP/nh-fo1busy.err") $(rj fo1busy 'len(R)')"
assert_eq "failover, first hop greets 421: smtp_client.failovers +1" 1 "$(delta smtp_client.failovers)"
nh_stop fo1busy

sleep 2.5
nh_spawn fo1 $HOP1:25
t_check "failover: first hop back" nh_wait fo1
snap
send fo_back --txn "foback@src.test>user@example.com"
assert_match "first hop back after retry_after: relayed (250)" '^250 ' "$(cj fo_back 'r["final"]')"
assert_eq "first hop back after retry_after: delivered by the first hop again" "1 4" \
	"$(rj fo1 'len(ok)') $(rj fo2 'len(ok)')"
assert_eq "first hop back: no failover" 0 "$(delta smtp_client.failovers)"

stop_gw "gateway B"

# ---- 8. the invariant over the whole file ------------------------------------------
inv=$($PY - "$LEDGER" "$T_TMP" <<'PY'
import collections, glob, json, sys
led = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
recs = []
for f in glob.glob(sys.argv[2] + "/rec-*.jsonl"):
    recs += [json.loads(l) for l in open(f) if l.strip()]
got = collections.Counter(x["from"] for x in led if (x["final"] or "").startswith("250"))
acc = collections.Counter(x["from"] for x in recs if (x.get("reply") or "").startswith("250"))
bad = ["%s: client 250 x%d, next hop 250 x%d" % (k, got[k], acc[k])
       for k in sorted(set(got) | set(acc)) if got[k] != acc[k]]
print("%d %d %d %d %s" % (len(led), sum(got.values()), sum(acc.values()), len(bad), "; ".join(bad[:5])))
PY
)
read -r n_txn n_got n_acc n_bad bad_list <<<"$inv"
t_note "invariant: $n_txn transactions, $n_got final 250 replies, $n_acc messages the next hops answered 250"
assert_eq "invariant: 250 final replies == messages the next hops answered 250" "$n_acc" "$n_got"
assert_eq "invariant: per message (by sender), client 250 <=> next hop 250${bad_list:+ ($bad_list)}" 0 "$n_bad"
assert_eq "invariant: every transaction of the ledger ended (no client errors)" 0 \
	"$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l)["error"]))' "$LEDGER")"
t_note "wall time $((SECONDS - T_START)) s"
