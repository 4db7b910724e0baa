#!/usr/bin/env bash
# test_hostile_nexthop.sh — issue 12, items 1, 11, 12 and the QUIT change:
# next hops with other limits than ours, next hops that break the protocol,
# and clients that hoard next-hop connections.
#   1. a real Postfix next hop with message_size_limit = 1000000 and
#      smtputf8_enable = no: MAIL SIZE=2000000 / MAIL ... SMTPUTF8, then RCPT
#      on a new next-hop connection (the crash of e628c55: a reply callback
#      parked the client inside cl_send): the gateway survives, RCPT gets
#      552 5.3.4 / 553 5.6.7 (as Postfix answers), later RCPTs the same, DATA
#      554, and the session goes on (a message without SIZE is delivered);
#  11. tests/lib/nexthop.py in each hostile mode (250 before the greeting,
#      354 to MAIL, 250 to DATA, spare 250s, a reply while the client streams
#      data, 5000-line replies, extra replies while idle, replies byte by
#      byte, a next hop that stops reading, one that says 250 to a message
#      it never read): 451 4.5.0 (4.4.x for timeouts)
#      to our client, no message acknowledged that the next hop did not
#      take, the gateway ran exactly the commands the client sent (no body
#      line executed), the connection never reused (--only-first 1: the
#      next message is relayed, on a new connection);
#  12. 30 sessions from three addresses abandon their messages mid-DATA
#      (destination_concurrency 12, so a reserve of 3 for addresses holding
#      none): one address gets at most 9, the three at most 9 + 2 next-hop
#      connections, the rest 451 4.4.5 after destination_wait; a legitimate
#      client on a fourth address delivers 5 of 5 promptly meanwhile; show
#      sessions shows the next hop and its limit; data_hold releases the
#      stalled ones;
#  QUIT: an idle cached connection is closed with QUIT and FIN (the next hop
#      sees QUIT, then the client's FIN, no reset), counted.
# HOSTILE_PARTS (default "size desync hoard quit"): the parts to run.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"
source "$(dirname "$0")/../lib/smtp.sh"

PY=/usr/bin/python3
NH=$T_ROOT/tests/lib/nexthop.py
PARTS=" ${HOSTILE_PARTS:-size desync hoard quit} "
part() { [[ $PARTS == *" $1 "* ]]; }
HOP=10.20.0.11

# ---- the client ----------------------------------------------------------------
# hc.py [--src ADDR] --mail "FROM PARAMS" --rcpt TO [--rcpt TO] [--size N]
#       [--stall-at BYTES --hold S] [--after "CMD" ...] [--timeout S]
# One session: EHLO, MAIL, each RCPT, DATA when a RCPT got 2xx, the message
# (its body has command lines: RSET, MAIL FROM, RCPT TO, NOOP, QUIT) only
# after a 354, then each --after command. --stall-at: after that many bytes
# of data, wait --hold seconds and close (an abandoned message). Prints one
# JSON object: replies by step, times, "cmds" (commands sent), "error".
cat >"$T_TMP/hc.py" <<'PY'
import argparse, json, socket, sys, time
p = argparse.ArgumentParser()
p.add_argument("--server", default="203.0.113.1")
p.add_argument("--src")
p.add_argument("--mail", required=True)
p.add_argument("--rcpt", action="append", default=[])
p.add_argument("--size", type=int, default=3000)
p.add_argument("--stall-at", type=int)
p.add_argument("--hold", type=float, default=0)
p.add_argument("--after", action="append", default=[])
p.add_argument("--timeout", type=float, default=30)
a = p.parse_args()
out = {"rcpt": [], "data": None, "eod": None, "after": [], "cmds": 0, "error": None, "t_rcpt": []}
t0 = time.time()
try:
    s = socket.create_connection((a.server, 25), timeout=a.timeout,
                                 source_address=(a.src, 0) if a.src else None)
    f = s.makefile("rb")
    def reply():
        while True:
            ln = f.readline()
            if not ln:
                raise EOFError("closed by the gateway")
            ln = ln.decode("utf-8", "replace").rstrip("\r\n")
            if len(ln) < 4 or ln[3] != "-":
                return ln
    def cmd(line):
        out["cmds"] += 1
        s.sendall(line.encode() + b"\r\n")
        return reply()
    out["greeting"] = reply()
    out["ehlo"] = cmd("EHLO client.test")
    out["mail"] = cmd("MAIL FROM:" + a.mail)
    ok = False
    for to in a.rcpt:
        t = time.time()
        r = cmd("RCPT TO:<%s>" % to)
        out["rcpt"].append(r)
        out["t_rcpt"].append(round(time.time() - t, 3))
        ok = ok or r.startswith("2")
    if ok:
        out["data"] = cmd("DATA")
        if out["data"].startswith("354"):
            body = (b"From: <a@example.com>\r\nSubject: hostile\r\n\r\nRSET\r\nMAIL FROM:<evil@x.test>\r\n"
                    b"RCPT TO:<evil@x.test>\r\nNOOP\r\nQUIT\r\n")
            i = 0
            while len(body) < a.size:
                body += b"line %06d " % i + b"y" * 60 + b"\r\n"
                i += 1
            if a.stall_at is not None:
                s.sendall(body[:a.stall_at])
                out["eod"] = "STALLED"
                time.sleep(a.hold)
                s.close()
                print(json.dumps(out)); sys.exit(0)
            s.sendall(body + b".\r\n")
            t = time.time()
            out["eod"] = reply()
            out["t_eod"] = round(time.time() - t, 3)
    for c in a.after:
        out["after"].append(cmd(c))
    cmd("QUIT")
except (OSError, EOFError) as e:
    out["error"] = str(e)
out["t"] = round(time.time() - t0, 3)
print(json.dumps(out))
PY

# hc NAME ARGS...: hc.py in $EXT_NS, its JSON in $T_TMP/hc-NAME.json
hc() {
	local name=$1; shift
	ip netns exec "$EXT_NS" timeout 120 $PY "$T_TMP/hc.py" "$@" >"$T_TMP/hc-$name.json" 2>"$T_TMP/hc-$name.err"
}
# j NAME EXPR: a Python expression over hc NAME's output (r)
j() {
	$PY - "$T_TMP/hc-$1.json" "$2" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    r = {"error": "no output %r" % e, "rcpt": [], "after": []}
def rc(i):
    return r["rcpt"][i] if len(r.get("rcpt", [])) > i else "-"
try:
    v = eval(sys.argv[2])
except Exception as e:
    v = "eval-error: %r" % e
print("-" if v is None else v)
PY
}
# conns LABEL [EXPR]: next hop LABEL's connection log (C: its lines)
conns() {
	$PY - "$T_TMP/conn-$1.jsonl" "${2:-len(C)}" <<'PY'
import json, os, sys
C = [json.loads(l) for l in open(sys.argv[1]) if l.strip()] if os.path.exists(sys.argv[1]) else []
print(eval(sys.argv[2]))
PY
}
recs() {    # LABEL EXPR over its record (R: messages, ok: answered 250)
	$PY - "$T_TMP/rec-$1.jsonl" "$2" <<'PY'
import json, os, sys
R = [json.loads(l) for l in open(sys.argv[1]) if l.strip()] if os.path.exists(sys.argv[1]) else []
ok = [x for x in R if (x.get("reply") or "").startswith("250")]
print(eval(sys.argv[2]))
PY
}

declare -A NH_PID
nh_spawn() {   # LABEL PORT [nexthop.py options]
	local label=$1 port=$2; shift 2
	ip netns exec "$INT_NS" $PY "$NH" --listen "$HOP:$port" --record "$T_TMP/rec-$label.jsonl" \
		--conn-log "$T_TMP/conn-$label.jsonl" --hostname "$label.nexthop.test" --timeout 60 "$@" \
		>"$T_TMP/nh-$label.out" 2>"$T_TMP/nh-$label.err" &
	NH_PID[$label]=$!
	t_cleanup "_bg_stop ${NH_PID[$label]}"
}
nh_ready() {
	local l end=$((SECONDS + 20))
	for l; do
		until grep -qx ready "$T_TMP/nh-$l.out" 2>/dev/null; do
			((SECONDS > end)) && { t_note "nexthop $l not ready"; sed 's/^/#   /' "$T_TMP/nh-$l.err"; return 1; }
			sleep 0.05
		done
	done
}
snap() { gw_stats >"$T_TMP/stats.snap"; }
delta() {
	local now before
	now=$(gw_stat "$1")
	before=$(awk -v n="$1" '$1 == n { print $2 }' "$T_TMP/stats.snap")
	echo $((${now:-0} - ${before:-0}))
}
gw_alive() { kill -0 "$GW_PID" 2>/dev/null && gwctl show ports >/dev/null 2>&1; }

topo_two_ports
ip -n "$INT_NS" addr add "$HOP/24" dev "$INT_PEER_IF"
for a in 21 22 23 30; do ip -n "$EXT_NS" addr add "203.0.113.$a/24" dev "$EXT_PEER_IF"; done

# ---- next hops ---------------------------------------------------------------------
# The partner's Postfix (item 1): 1,000,000-byte limit, no SMTPUTF8.
PFDIR=$T_TMP/pfsmall
pf_setup "$PFDIR" "$INT_HOST_IP" || t_fail "Postfix instance set up"
postconf -c "$PFDIR/etc" -e "message_size_limit = 1000000" "smtputf8_enable = no"
t_cleanup "pf_stop '$PFDIR'"
chmod 711 "$T_TMP"
t_check "Postfix next hop (message_size_limit = 1000000, smtputf8_enable = no) starts" pf_start "$INT_NS" "$PFDIR"

MODES=(
	"early   2701 --pre-greeting 250_early"
	"mail354 2702 --mail 354_go_ahead"
	"data250 2703 --data 250_2.0.0_ok"
	"spare   2704 --extra mail:250_2.1.0_spare --extra mail:250_2.1.0_spare2"
	"inject  2705 --inject-data 250_2.0.0_too_early"
	"longehlo 2706 --long-reply ehlo:5000"
	"longrcpt 2707 --long-reply rcpt:5000"
	"greet2  2708 --extra greeting:250_hello_again"
	"eodextra 2709 --extra eod:250_2.0.0_again"
	"rcpt354 2710 --rcpt 354_what"
)
labels=()
for m in "${MODES[@]}"; do
	read -r label port opts <<<"$m"
	args=()
	for o in $opts; do args+=("${o//_/ }"); done
	nh_spawn "$label" "$port" --only-first 1 "${args[@]}"
	labels+=("$label")
done
nh_spawn split  2720 --split-bytes
nh_spawn deaf   2721 --stop-reading-at data
nh_spawn mute   2722 --stop-reading-at connect
nh_spawn unread 2723 --stop-reading-at data --stall-reply "250 2.0.0 never read" --rcvbuf 4096
nh_spawn hoard  2730
nh_spawn quit   2740
t_check "hostile next hops ready" nh_ready "${labels[@]}" split deaf mute unread hoard quit

routes="routes = ( { domains = [ \"small.example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; },"
for m in "${MODES[@]}"; do
	read -r label port _ <<<"$m"
	routes+=$'\n'"  { domains = [ \"$label.example.com\" ]; next_hops = [ \"$HOP:$port\" ]; },"
done
routes+='
  { domains = [ "split.example.com" ]; next_hops = [ "'$HOP':2720" ]; },
  { domains = [ "deaf.example.com" ]; next_hops = [ "'$HOP':2721" ]; },
  { domains = [ "mute.example.com" ]; next_hops = [ "'$HOP':2722" ]; },
  { domains = [ "unread.example.com" ]; next_hops = [ "'$HOP':2723" ]; },
  { domains = [ "hoard.example.com" ]; next_hops = [ "'$HOP':2730" ]; },
  { domains = [ "quit.example.com" ]; next_hops = [ "'$HOP':2740" ]; }
);'
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\";
  accepted_domains = [ \"example.com\", \"*.example.com\" ];
  relay_networks = [ \"10.20.0.0/24\" ];
  timeouts = { command = 60; data = 60; connect = 2; greeting = 3; mail = 3; rcpt = 3;
               data_init = 3; data_block = 3; data_end = 3; data_hold = 4; };
  client = { destination_concurrency = 12; destination_wait = 3; cache_idle_timeout = 2; };
};
$routes"
gw_config >"$T_TMP/gw.conf"
if ! gw_start "$T_TMP/gw.conf"; then
	t_fail "mailgw starts"
	exit 1
fi
t_ok "mailgw starts"

# ---- 1. SIZE / SMTPUTF8 beyond a real Postfix next hop -------------------------------
if part size; then
snap
hc size --mail "<a@example.com> SIZE=2000000" --rcpt a@small.example.com --rcpt b@small.example.com \
	--after "DATA" --after "RSET" --after "NOOP"
assert_match "SIZE=2000000, next hop's limit 1000000: RCPT -> 552 5.3.4" '^552 5\.3\.4 ' "$(j size 'rc(0)')"
assert_match "SIZE: the second RCPT -> 552 5.3.4 too" '^552 5\.3\.4 ' "$(j size 'rc(1)')"
assert_eq "SIZE: then DATA 554 (no valid recipients), RSET 250, NOOP 250, no client error" "554 250 250 None" \
	"$(j size '" ".join(x[:3] for x in r["after"]) + " " + str(r["error"])')"
t_check "SIZE: the gateway is still up" gw_alive
hc size2 --mail "<a@example.com>" --rcpt c@small.example.com
assert_match "SIZE: the next transaction without SIZE is relayed (250)" '^250 ' "$(j size2 'r["eod"]')"

hc utf8 --mail "<a@example.com> SMTPUTF8" --rcpt d@small.example.com --after "NOOP"
assert_match "SMTPUTF8 to a next hop without it: RCPT -> 553 5.6.7" '^553 5\.6\.7 ' "$(j utf8 'rc(0)')"
assert_eq "SMTPUTF8: NOOP afterwards 250, no client error" "250 None" "$(j utf8 'r["after"][0][:3] + " " + str(r["error"])')"
t_check "SMTPUTF8: the gateway is still up" gw_alive
t_check "Postfix delivered the one message without SIZE" postfix_wait pfsmall 1 30
assert_eq "nothing counted as a next-hop failure (the refusals are the next hop's limits)" 0 \
	"$(( $(delta smtp_client.protocol_errors) + $(delta smtp_client.lost) ))"
fi

# ---- 11. next hops that desynchronise ---------------------------------------------------
if part desync; then
for label in "${labels[@]}"; do
	snap
	hc "$label" --mail "<$label@example.com>" --rcpt "u@$label.example.com" --size 300000
	got=$(j "$label" 'r["rcpt"][0] if not r["rcpt"][0].startswith("2") else (r["data"] if not r["data"].startswith("354") else r["eod"])')
	if [[ $label == eodextra ]]; then
		# the next hop took the message (250); its extra reply comes after it (then the
		# connection is dropped while idle) or in the same read (then the 250 is not
		# trusted either: 451 4.5.0, a duplicate rather than a loss)
		assert_match "$label: 250, or 451 4.5.0 when the extra reply came in the same read" \
			'^(250|451 4\.5\.0) ' "$got"
		sleep 0.5
		assert_ge "$label: the reply while idle counted (smtp_client.reply_early)" "$(delta smtp_client.reply_early)" 1
	else
		assert_match "$label: our client gets 451 4.5.0" '^451 4\.5\.0 ' "$got"
		assert_eq "$label: no 250 after DATA, nothing the next hop answered 250" "0 0" \
			"$(j "$label" 'int((r["eod"] or "").startswith("250"))') $(recs "$label" 'len(ok)')"
		assert_ge "$label: smtp_client.protocol_errors rose" "$(delta smtp_client.protocol_errors)" 1
	fi
	assert_eq "$label: the gateway ran exactly the client's commands (no body line executed)" \
		"$(j "$label" 'r["cmds"]')" "$(delta smtp.commands)"
	hc "$label-2" --mail "<$label-2@example.com>" --rcpt "v@$label.example.com"
	assert_match "$label: the next message is relayed (250)" '^250 ' "$(j "$label-2" 'r["eod"]')"
	assert_eq "$label: ... on a new connection (the hostile one not reused)" "[2]" \
		"$(recs "$label" '[x["conn"] for x in ok if x["from"].endswith("-2@example.com")]')"
done
snap
hc split --mail "<split@example.com>" --rcpt u@split.example.com --size 20000
assert_match "replies byte by byte: relayed (250)" '^250 ' "$(j split 'r["eod"]')"
assert_eq "replies byte by byte: no protocol error" 0 "$(delta smtp_client.protocol_errors)"
hc deaf --mail "<deaf@example.com>" --rcpt u@deaf.example.com --size 3000000
assert_match "next hop stops reading after 354: 451 after the dot (data_block)" '^451 4\.4\.[0-9] ' "$(j deaf 'r["eod"]')"
assert_eq "next hop stops reading: nothing relayed" 0 "$(recs deaf 'len(R)')"
# 250 for a message it never read: the end of data sits in our queue behind
# its closed window when the 250 comes (found by fuzz_relay).
snap
hc unread --mail "<unread@example.com>" --rcpt u@unread.example.com --size 100000
assert_match "next hop says 250 before it has the message: our client gets 451 4.5.0" '^451 4\.5\.0 ' \
	"$(j unread 'r["eod"]')"
assert_ge "... counted (smtp_client.reply_early)" "$(delta smtp_client.reply_early)" 1
hc mute --mail "<mute@example.com>" --rcpt u@mute.example.com
assert_match "next hop never reads (greeting only): RCPT 451 4.4.1 (greeting timeout)" '^451 4\.4\.1 ' "$(j mute 'rc(0)')"
t_check "hostile next hops: the gateway is still up" gw_alive
fi

# ---- 12. next-hop capacity held hostage -------------------------------------------------
if part hoard; then
snap
pids=()
for a in 21 22 23; do
	for i in 1 2 3 4 5 6 7 8 9 10; do
		hc "hoard-$a-$i" --src "203.0.113.$a" --mail "<h$a.$i@example.com>" --rcpt "u@hoard.example.com" \
			--stall-at 600 --hold 12 &
		pids+=($!)
	done
done
sleep 4
peak=$(ip netns exec "$INT_NS" ss -Htn state established "( sport = :2730 )" | wc -l)
gwctl show sessions >"$T_TMP/sessions.txt"
legit_ok=0 legit_slow=0
for i in 1 2 3 4 5; do
	hc "legit-$i" --src 203.0.113.30 --mail "<legit$i@example.com>" --rcpt "u@hoard.example.com"
	[[ $(j "legit-$i" 'r["eod"]') == 250* ]] && legit_ok=$((legit_ok + 1))
	$PY -c 'import sys; sys.exit(float(sys.argv[1]) > 1.5)' "$(j "legit-$i" 'max(r["t_rcpt"] or [99])')" ||
		legit_slow=$((legit_slow + 1))
done
wait "${pids[@]}"
t_note "hoarding: $peak connections at the next hop 4 s in; show sessions: $(grep -E '^10\.20\.0\.11:2730' "$T_TMP/sessions.txt")"
assert_ge "hoarding: at most 12 next-hop connections (destination_concurrency)" $((12 - peak)) 0
assert_eq "hoarding: show sessions lists the next hop with limit 12" "12" \
	"$(awk '$1 == "10.20.0.11:2730" { print $3 }' "$T_TMP/sessions.txt")"
held=0 most=0
for a in 21 22 23; do
	n=$(for i in 1 2 3 4 5 6 7 8 9 10; do j "hoard-$a-$i" 'r["data"] or "-"'; done | grep -c '^354')
	held=$((held + n)); ((n > most)) && most=$n
done
deferred=$(for a in 21 22 23; do for i in 1 2 3 4 5 6 7 8 9 10; do j "hoard-$a-$i" 'rc(0)'; done; done | grep -c '^451 4\.4\.5 ')
t_note "hoarding: $held of 30 abandoned sessions got a next-hop connection (one address at most $most), $deferred got 451 4.4.5"
assert_ge "hoarding: one address holds at most 9 (12 less the reserve)" $((9 - most)) 0
assert_ge "hoarding: the three hold at most 11 (the reserve: one each for addresses holding none)" $((11 - held)) 0
assert_ge "hoarding: the others were deferred 451 4.4.5 Insufficient next-hop capacity" "$deferred" 1
assert_eq "hoarding: the legitimate client on a fourth address delivered 5 of 5" 5 "$legit_ok"
assert_eq "hoarding: ... each RCPT answered within 1.5 s" 0 "$legit_slow"
assert_ge "hoarding: smtp_client.destination_deferred counted" "$(delta smtp_client.destination_deferred)" 1
assert_ge "hoarding: smtp_client.data_hold_expired released the stalled ones (data_hold = 4 s)" \
	"$(delta smtp_client.data_hold_expired)" 1
assert_eq "hoarding: nothing abandoned was relayed" 0 "$(recs hoard 'len([x for x in R if x["from"].startswith("h")])')"
fi

# ---- QUIT for idle connections ----------------------------------------------------------
if part quit; then
sleep 3
snap
hc quit --mail "<q@example.com>" --rcpt u@quit.example.com
assert_match "QUIT: message relayed" '^250 ' "$(j quit 'r["eod"]')"
sleep 4                                 # cache_idle_timeout = 2
assert_eq "QUIT: the idle connection got QUIT, then our FIN (no reset)" "1 True fin" \
	"$(conns quit 'len(C)') $(conns quit 'C[0]["quit"] if C else None') $(conns quit 'C[0]["end"] if C else None')"
assert_eq "QUIT: smtp_client.quit +1, smtp_client.resets +0, quit_timeouts +0" "1 0 0" \
	"$(delta smtp_client.quit) $(delta smtp_client.resets) $(delta smtp_client.quit_timeouts)"
assert_eq "QUIT: no next-hop connection left" "0" "$(ip netns exec "$INT_NS" ss -Htn state established "( sport = :2740 )" | wc -l)"
fi

t_check "the gateway is still up" gw_alive
gw_stop
assert_eq "mailgw stops with status 0" 0 "$GW_EXIT"
