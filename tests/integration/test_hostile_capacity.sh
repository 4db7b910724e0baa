#!/usr/bin/env bash
# test_hostile_capacity.sh — issue 12, item 12 and the log, as a reviewer
# attacked them after the first fixes (each part failed before its fix):
#   hold:  two sessions trickle a RCPT every 3 s (below the command timeout)
#          to keep their next-hop connections; the transaction may stay open
#          only smtp.timeouts.data_hold from MAIL, then the connection goes
#          (smtp_client.txn_hold_expired, 451 4.4.5 to their next RCPTs) and
#          a legitimate client gets a connection at once;
#   jump:  one session pipelines its next transaction right after each dot
#          (destination_concurrency 1): a recipient waiting for the next hop
#          gets the connection freed at the end of a message; the busy
#          session cannot take it back first;
#   flood: one session asks 8,910 times for a recipient that needs another
#          TLS policy (452 4.5.3): those log lines are rate-limited, and no
#          log line is lost (log.dropped stays 0).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"

PY=/usr/bin/python3
NH=$T_ROOT/tests/lib/nexthop.py
HOP=10.20.0.11

topo_two_ports
ip -n "$INT_NS" addr add "$HOP/24" dev "$INT_PEER_IF"
for a in 21 22 30; do ip -n "$EXT_NS" addr add "203.0.113.$a/24" dev "$EXT_PEER_IF"; done
ip netns exec "$INT_NS" $PY "$NH" --listen "$HOP:2730" --record "$T_TMP/rec.jsonl" \
	--hostname hoard.nexthop.test --timeout 60 >"$T_TMP/nh.out" 2>"$T_TMP/nh.err" &
t_cleanup "kill $! 2>/dev/null"
for i in $(seq 100); do grep -qx ready "$T_TMP/nh.out" 2>/dev/null && break; sleep 0.1; done
t_check "next hop on $HOP:2730 ready" grep -qx ready "$T_TMP/nh.out"

# One client session: smtp_session SRC SCRIPT — SCRIPT is python using cmd()/rep()/s.
cat >"$T_TMP/sess.py" <<'PY'
import socket, sys, time, json
src, script = sys.argv[1], sys.argv[2]
s = socket.create_connection(("203.0.113.1", 25), timeout=30, source_address=(src, 0))
f = s.makefile("rb")
def rep():
    while True:
        l = f.readline().decode()
        if len(l) < 4 or l[3] != "-": return l.strip()
def cmd(c):
    s.sendall(c.encode() + b"\r\n"); return rep()
rep(); cmd("EHLO t.test")
exec(open(script).read())
PY

start_gw() {     # LABEL SMTP_EXTRA ROUTES
	GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\";
  accepted_domains = [ \"example.com\", \"*.example.com\" ];
  $2 };
routes = ( $3 );" gw_config >"$T_TMP/gw-$1.conf"
	gw_start "$T_TMP/gw-$1.conf" || { t_fail "$1: mailgw starts"; exit 1; }
	t_ok "$1: mailgw starts"
}
HOARD_ROUTE="{ domains = [ \"hoard.example.com\" ]; next_hops = [ \"$HOP:2730\" ]; }"

# ---- hold: RCPTs trickled to keep a next-hop connection -------------------------
start_gw hold "timeouts = { command = 4; data_hold = 2; };
  client = { destination_concurrency = 2; destination_wait = 2; };" "$HOARD_ROUTE"
cat >"$T_TMP/trickle.py" <<'PY'
out = {"mail": cmd("MAIL FROM:<s@example.com>"), "rcpt": []}
t0 = time.time(); i = 0
while time.time() - t0 < 12:
    out["rcpt"].append(cmd("RCPT TO:<u%d@hoard.example.com>" % i)); i += 1
    time.sleep(3)          # below smtp.timeouts.command (4 s): the session itself stays
print(json.dumps(out))
PY
cat >"$T_TMP/legit.py" <<'PY'
cmd("MAIL FROM:<l@example.com>")
t = time.time(); r = cmd("RCPT TO:<l@hoard.example.com>")
print(json.dumps({"rcpt": r, "secs": round(time.time() - t, 2)}))
PY
ip netns exec "$EXT_NS" $PY "$T_TMP/sess.py" 203.0.113.21 "$T_TMP/trickle.py" >"$T_TMP/t1.json" 2>&1 &
p1=$!
ip netns exec "$EXT_NS" $PY "$T_TMP/sess.py" 203.0.113.22 "$T_TMP/trickle.py" >"$T_TMP/t2.json" 2>&1 &
p2=$!
sleep 7
ip netns exec "$EXT_NS" $PY "$T_TMP/sess.py" 203.0.113.30 "$T_TMP/legit.py" >"$T_TMP/legit.json" 2>&1
wait $p1 $p2
t_note "trickle 1: $(cat "$T_TMP/t1.json")"
t_note "legit: $(cat "$T_TMP/legit.json")"
jget() { $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@" 2>/dev/null; }
assert_match "hold: the legitimate client's RCPT is accepted" '^250 ' "$(jget "$T_TMP/legit.json" 'r["rcpt"]')"
t_check "hold: ... within 1.5 s (no wait for the hoarders)" \
	$PY -c 'import sys; sys.exit(float(sys.argv[1]) > 1.5)' "$(jget "$T_TMP/legit.json" 'r["secs"]')"
assert_match "hold: a trickler's first RCPT was accepted" '^250 ' "$(jget "$T_TMP/t1.json" 'r["rcpt"][0]')"
assert_match "hold: its RCPTs after data_hold get 451 4.4.5" '^451 4\.4\.5 ' "$(jget "$T_TMP/t1.json" 'r["rcpt"][-1]')"
assert_ge "hold: smtp_client.txn_hold_expired counts both" "$(gw_stat smtp_client.txn_hold_expired)" 2
gw_stop

# ---- jump: the freed connection goes to the one waiting ---------------------------
start_gw jump "client = { destination_concurrency = 1; destination_wait = 3; cache_idle_timeout = 5; };" "$HOARD_ROUTE"
cat >"$T_TMP/busy.py" <<'PY'
txn = b"MAIL FROM:<b@example.com>\r\nRCPT TO:<u@hoard.example.com>\r\nDATA\r\n"
s.sendall(txn); rep(); rep(); rep()
t0 = time.time(); n = 0; eods = {}
while time.time() - t0 < 6:
    s.sendall(b"Subject: x\r\n\r\n" + (b"y" * 70 + b"\r\n") * 20 + b".\r\n" + txn)   # the next one right after the dot
    e = rep()[:3]; eods[e] = eods.get(e, 0) + 1
    rep(); rep(); rep(); n += 1
    time.sleep(0.05)
print(json.dumps({"messages": n, "eods": eods}))
PY
cat >"$T_TMP/waiter.py" <<'PY'
time.sleep(1)
cmd("MAIL FROM:<w@example.com>")
t = time.time(); r = cmd("RCPT TO:<w@hoard.example.com>")
print(json.dumps({"rcpt": r, "secs": round(time.time() - t, 2)}))
PY
ip netns exec "$EXT_NS" $PY "$T_TMP/sess.py" 203.0.113.21 "$T_TMP/busy.py" >"$T_TMP/busy.json" 2>&1 &
p=$!
ip netns exec "$EXT_NS" "$PY" "$T_TMP/sess.py" 203.0.113.30 "$T_TMP/waiter.py" >"$T_TMP/waiter.json" 2>&1
wait $p
t_note "busy: $(cat "$T_TMP/busy.json"); waiter: $(cat "$T_TMP/waiter.json")"
assert_match "jump: the waiting recipient gets the next hop (250), not 451 4.4.5" '^250 ' \
	"$(jget "$T_TMP/waiter.json" 'r["rcpt"]')"
t_check "jump: ... within one message's time, well inside destination_wait (3 s)" \
	$PY -c 'import sys; sys.exit(float(sys.argv[1]) > 2.0)' "$(jget "$T_TMP/waiter.json" 'r["secs"]')"
assert_ge "jump: it waited (smtp_client.destination_waits)" "$(gw_stat smtp_client.destination_waits)" 1
assert_eq "jump: nobody was deferred (smtp_client.destination_deferred)" 0 "$(gw_stat smtp_client.destination_deferred)"
gw_stop

# ---- flood: 452 4.5.3 deferrals in the log ----------------------------------------
start_gw flood "" "{ domains = [ \"plain.example.com\" ]; next_hops = [ \"$HOP:2730\" ]; tls_level = \"none\"; },
  { domains = [ \"tls.example.com\" ]; next_hops = [ \"$HOP:2730\" ]; tls_level = \"encrypt\"; }"
cat >"$T_TMP/flood.py" <<'PY'
codes = {}
for txn in range(90):
    s.sendall(b"MAIL FROM:<f@example.com>\r\nRCPT TO:<a@plain.example.com>\r\n" +
              b"".join(b"RCPT TO:<b%d@tls.example.com>\r\n" % i for i in range(99)) + b"RSET\r\n")
    for k in range(102):
        c = rep()[:9]; codes[c] = codes.get(c, 0) + 1
print(json.dumps(codes))
PY
ip netns exec "$EXT_NS" $PY "$T_TMP/sess.py" 203.0.113.21 "$T_TMP/flood.py" >"$T_TMP/flood.json" 2>&1
sleep 1
t_note "flood replies: $(cat "$T_TMP/flood.json")"
assert_ge "flood: 452 4.5.3 for each recipient of the other policy" \
	"$(jget "$T_TMP/flood.json" 'r.get("452 4.5.3", 0)')" 8000
assert_ge "flood: smtp.rcpt_other_tls_policy counts them" "$(gw_stat smtp.rcpt_other_tls_policy)" 8000
assert_eq "flood: no log line lost (log.dropped)" 0 "$(gw_stat log.dropped)"
assert_ge "flood: the deferral lines were rate-limited (log.suppressed)" "$(gw_stat log.suppressed)" 1000
gw_stop
