#!/usr/bin/env bash
# test_tcp.sh — interop acceptance of the userspace TCP stack against Linux
# kernel peers (tests/lib/tcppeer.py in $EXT_NS) through the built-in echo (7),
# discard (9) and source (19) services:
#   clean link: 100 parallel echo connections x 1 MiB, 1 GiB source->sink and
#     1 GiB blast->discard (SHA-256 verified, MB/s noted), 1,000 connections
#     held open, 500 closed by the gateway and 500 by the client (TIME_WAIT
#     capped at tcp.time_wait_max), then every worker back to no connections
#     and its start mbuf count;
#   linkem (2% loss, 5% reorder, 1% duplicates): 20 x 1 MiB echo, 64 MiB each
#     way, data intact, retransmissions and out-of-order segments counted,
#     nothing left stuck;
#   SYN flood (hping3 --rand-source, 10 s) against a 64-entry backlog while a
#     client completes 100 echo sessions: SYN cookies sent and accepted;
#   a peer that vanishes mid-transfer: the connection times out after
#     tcp.max_retransmits and its mbufs come back.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"

PEER=(/usr/bin/python3 "$T_ROOT/tests/lib/tcppeer.py")
GIB=1073741824
MIB=1048576
MBUF_MARGIN=64          # per worker: the per-lcore mempool cache
TW_MAX=256              # tcp.time_wait_max for the hold phase (per worker)

services() {   # SOURCE_BYTES
	echo "services: { echo = { enabled = true; port = 7; }; discard = { enabled = true; port = 9; };
          source = { enabled = true; port = 19; bytes = ${1}L; }; };"
}

# start_gw LABEL TCP_SETTINGS SOURCE_BYTES [MORE_GROUPS]: a fresh mailgw with
# the services, tcp: { max_connections = 4096; TCP_SETTINGS } and MORE_GROUPS;
# saves show workers right after start as $T_TMP/workers.start.
start_gw() {
	local label=$1
	GW_EXTRA_GROUPS="$(services "$3")
tcp: { max_connections = 4096; $2 };
${4:-}" GW_SYSTEM_EXTRA='memory_mb = 1024;' GW_LIMITS_EXTRA='mbufs_per_worker = 65535;' gw_config >"$T_TMP/gw.conf"
	if ! gw_start "$T_TMP/gw.conf"; then
		t_fail "$label: mailgw starts"
		return 1
	fi
	t_ok "$label: mailgw starts"
	gwctl --json show workers >"$T_TMP/workers.start"
	ip -n "$EXT_NS" neigh flush dev "$EXT_PEER_IF"
	ping_loss "$EXT_NS" "$EXT_GW_IP" 3 0.1 >/dev/null
	return 0
}

stop_gw() {   # LABEL
	gw_stop
	assert_eq "$1: mailgw stops with status 0" 0 "$GW_EXIT"
}

# peer NAME OUT TIMEOUT ARGS...: tcppeer.py in $EXT_NS, JSON to OUT, stderr
# shown as notes when it fails. Returns its exit status.
peer() {
	local name=$1 out=$2 tmo=$3 rc; shift 3
	ip netns exec "$EXT_NS" timeout $((tmo + 30)) "${PEER[@]}" "$@" --timeout "$tmo" \
		>"$out" 2>"$out.err"
	rc=$?
	if ((rc != 0)); then
		t_note "$name: tcppeer $1 exited $rc:"
		sed 's/^/#   /' "$out.err" | head -25
	fi
	return $rc
}

# jget FILE KEY: KEY from the last line (JSON) of FILE.
jget() {
	tail -n 1 "$1" 2>/dev/null | python3 -c '
import json, sys
try:
    v = json.loads(sys.stdin.read()).get(sys.argv[1], "")
except ValueError:
    v = "no-json"
print(str(v).lower() if isinstance(v, bool) else v)' "$2"
}

# conns STATE PORT [REMOTE_IP]: how many connections show connections lists
# in STATE ("any", or "!STATE" for every other state) on local PORT ("any").
conns() {
	gwctl --json show connections 2>/dev/null | python3 -c '
import json, sys
want, port, rip = sys.argv[1:4]
def ap(x):
    if isinstance(x, dict):
        return str(x.get("ip") or x.get("addr") or x.get("address")), int(x["port"])
    ip, _, p = str(x).rpartition(":")
    return ip, int(p)
try:
    lst = json.load(sys.stdin)
except ValueError:
    print("error"); sys.exit()
n = 0
for c in lst:
    s = str(c["state"]).upper().replace("-", "_")
    if want != "any" and ((s == want[1:]) if want.startswith("!") else (s != want)):
        continue
    if port != "any" and ap(c["local"])[1] != int(port):
        continue
    if rip != "any" and ap(c["remote"])[0] != rip:
        continue
    n += 1
print(n)' "$1" "$2" "${3:-any}"
}

# tw_per_worker_max: the largest number of TIME_WAIT connections on one worker.
tw_per_worker_max() {
	gwctl --json show connections 2>/dev/null | python3 -c '
import collections, json, sys
try:
    lst = json.load(sys.stdin)
except ValueError:
    print("error"); sys.exit()
n = collections.Counter(c["worker"] for c in lst
                        if str(c["state"]).upper().replace("-", "_") == "TIME_WAIT")
print(max(n.values()) if n else 0)'
}

# workers_settled: exit 0 when every worker has no connection, nothing in
# TIME_WAIT and mbufs_avail within MBUF_MARGIN of $T_TMP/workers.start;
# prints one line per worker either way.
workers_settled() {
	gwctl --json show workers 2>/dev/null | python3 -c '
import json, sys
margin = int(sys.argv[2])
try:
    start = {w["worker"]: w for w in json.load(open(sys.argv[1]))}
    now = json.load(sys.stdin)
except (ValueError, KeyError, OSError) as e:
    print("show workers --json unusable: %s" % e); sys.exit(1)
ok = bool(now)
for w in now:
    s = start.get(w["worker"], {})
    good = (w.get("connections") == 0 and w.get("time_wait", 0) == 0 and
            "mbufs_avail" in s and abs(w["mbufs_avail"] - s["mbufs_avail"]) <= margin)
    ok &= good
    print("worker %s: mbufs_avail %s (at start %s, total %s), connections %s, time_wait %s" % (
        w["worker"], w.get("mbufs_avail"), s.get("mbufs_avail"), w.get("mbufs_total"),
        w.get("connections"), w.get("time_wait")))
sys.exit(0 if ok else 1)' "$T_TMP/workers.start" "$MBUF_MARGIN"
}

# poll TENTHS COMMAND...: 0 as soon as COMMAND succeeds, 1 after TENTHS/10 s.
poll() {
	local tries=$1 i; shift
	for ((i = 0; i < tries; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
conns_is() { [[ $(conns "$2" "$3" "${4:-any}") == "$1" ]]; }      # N STATE PORT [IP]
stat_ge() { local v; v=$(gw_stat "$1"); [[ $v =~ ^[0-9]+$ ]] && ((v >= $2)); }

check_settled() {   # LABEL TENTHS
	if poll "$2" workers_settled; then
		t_ok "$1: every worker back to 0 connections, 0 TIME_WAIT, mbufs_avail within $MBUF_MARGIN of start"
	else
		t_fail "$1: workers not back to 0 connections / start mbufs_avail (+-$MBUF_MARGIN) in $(($2 / 10)) s"
	fi
	workers_settled | sed 's/^/# /'
}

# echo_check LABEL CONNS BYTES TIMEOUT
echo_check() {
	local label=$1 out=$T_TMP/echo.json
	peer "$label" "$out" "$4" echo "$EXT_GW_IP" 7 --conns "$2" --bytes "$3"
	assert_eq "$label: $2 parallel echo connections x $(($3 / MIB)) MiB, all SHA-256 verified" \
		"$2/0" "$(jget "$out" ok)/$(jget "$out" failed)"
	t_note "$label: echo $(jget "$out" bytes) bytes back in $(jget "$out" seconds) s ($(jget "$out" mb_per_s) MB/s)"
}

# sink_check LABEL BYTES TIMEOUT
sink_check() {
	local label=$1 out=$T_TMP/sink.json
	peer "$label" "$out" "$3" sink "$EXT_GW_IP" 19 --expect-bytes "$2"
	assert_eq "$label: source -> kernel sink, $2 bytes, SHA-256 verified" \
		"$2/true" "$(jget "$out" bytes)/$(jget "$out" sha256_ok)"
	t_note "$label: source -> sink: $(jget "$out" mb_per_s) MB/s ($(jget "$out" seconds) s)"
}

# blast_check LABEL BYTES TIMEOUT: also tcp.rx_bytes rose by >= BYTES.
blast_check() {
	local label=$1 out=$T_TMP/blast.json before after
	before=$(gw_stat tcp.rx_bytes)
	peer "$label" "$out" "$3" blast "$EXT_GW_IP" 9 --bytes "$2"
	after=$(gw_stat tcp.rx_bytes)
	assert_eq "$label: kernel blast -> discard, $2 bytes sent, the gateway's FIN came back, no data" \
		"$2/0" "$(jget "$out" bytes)/$(jget "$out" unexpected_bytes)"
	assert_ge "$label: tcp.rx_bytes rose by >= $2" "$((${after:-0} - ${before:-0}))" "$2"
	t_note "$label: blast -> discard: $(jget "$out" mb_per_s) MB/s ($(jget "$out" seconds) s)"
}

topo_two_ports

# ---- 1. clean link -----------------------------------------------------------
L="clean link"
if start_gw "$L" "time_wait = 5; time_wait_max = $TW_MAX;" "$GIB"; then
	echo_check "$L" 100 "$MIB" 120
	sink_check "$L" "$GIB" 300
	blast_check "$L" "$GIB" 300

	# 1,000 held connections; the gateway closes 500, the client the rest.
	hold_out=$T_TMP/hold.out
	rm -f "$T_TMP/hold.go"
	ip netns exec "$EXT_NS" timeout 200 "${PEER[@]}" hold "$EXT_GW_IP" 7 --conns 1000 \
		--hold-file "$T_TMP/hold.go" --timeout 180 >"$hold_out" 2>"$hold_out.err" &
	hold_pid=$!
	t_cleanup "touch $T_TMP/hold.go; kill $hold_pid"
	if poll 600 grep -q '^ready 1000' "$hold_out"; then
		t_ok "$L: 1000 simultaneous connections to echo opened"
	else
		t_fail "$L: 1000 simultaneous connections to echo opened (not within 60 s)"
		sed 's/^/#   /' "$hold_out.err" | head -10
	fi
	poll 50 conns_is 1000 ESTABLISHED 7
	assert_ge "$L: show connections lists >= 1000 ESTABLISHED on port 7" "$(conns ESTABLISHED 7)" 1000
	clear_out=$(gwctl clear connections --port 7 --count 500 2>&1)
	assert_eq "$L: clear connections --port 7 --count 500 exits 0" 0 $?
	t_note "$L: clear connections: $clear_out"
	# The client's kernel acknowledges the FINs: those 500 wait in FIN_WAIT_2.
	poll 100 conns_is 500 FIN_WAIT_2 7
	assert_eq "$L: 500 connections in FIN_WAIT_2 after the gateway closed them" 500 "$(conns FIN_WAIT_2 7)"
	assert_eq "$L: 500 still ESTABLISHED" 500 "$(conns ESTABLISHED 7)"
	tw_before=$(gw_stat tcp.time_wait_recycled)
	touch "$T_TMP/hold.go"
	wait "$hold_pid"
	assert_eq "$L: hold closed all cleanly (exit status)" 0 $?
	assert_eq "$L: hold: opened/closed_by_peer/closed_by_us/errors" "1000/500/500/0" \
		"$(jget "$hold_out" opened)/$(jget "$hold_out" closed_by_peer)/$(jget "$hold_out" closed_by_us)/$(jget "$hold_out" errors)"
	if poll 100 conns_is 0 '!TIME_WAIT' any; then
		t_ok "$L: no connection left in any state but TIME_WAIT"
	else
		t_fail "$L: connections left in states other than TIME_WAIT: $(conns '!TIME_WAIT' any)"
		gwctl show connections | head -20 | sed 's/^/#   /'
	fi
	tw=$(tw_per_worker_max)
	if [[ $tw =~ ^[0-9]+$ ]] && ((tw <= TW_MAX)); then
		t_ok "$L: TIME_WAIT per worker ($tw) <= tcp.time_wait_max ($TW_MAX)"
	else
		t_fail "$L: TIME_WAIT per worker: $tw, tcp.time_wait_max $TW_MAX"
	fi
	# All 500 gateway-closed connections entered TIME_WAIT within a second
	# (time_wait = 5 s); with one worker, all but TW_MAX were recycled.
	assert_ge "$L: tcp.time_wait_recycled rose by >= $((500 - TW_MAX))" \
		"$(($(gw_stat tcp.time_wait_recycled) - ${tw_before:-0}))" $((500 - TW_MAX))

	# Resources: after TIME_WAIT (5 s) everything is back.
	check_settled "$L" 200
	stop_gw "$L"
fi

# ---- 2. linkem: loss, reordering, duplicates ----------------------------------
L="linkem"
LINKEM='linkem = ( { port = "ext"; direction = "both"; loss = 2.0; reorder = 5.0; duplicate = 1.0; seed = 7; } );'
if start_gw "$L" "time_wait = 2;" $((64 * MIB)) "$LINKEM"; then
	echo_check "$L" 20 "$MIB" 300
	sink_check "$L" $((64 * MIB)) 300
	blast_check "$L" $((64 * MIB)) 300
	assert_ge "$L: tcp.retransmits > 0" "$(gw_stat tcp.retransmits)" 1
	assert_ge "$L: tcp.rx_ooo_segments > 0" "$(gw_stat tcp.rx_ooo_segments)" 1
	t_note "$L: retransmits $(gw_stat tcp.retransmits), fast $(gw_stat tcp.fast_retransmits)," \
		"rto $(gw_stat tcp.rto_timeouts), ooo segments $(gw_stat tcp.rx_ooo_segments), dup acks $(gw_stat tcp.rx_dup_acks)"
	if poll 100 conns_is 0 ESTABLISHED any; then
		t_ok "$L: no connection left ESTABLISHED after the clients finished"
	else
		t_fail "$L: $(conns ESTABLISHED any) connections still ESTABLISHED 10 s after the clients finished"
		gwctl show connections | head -20 | sed 's/^/#   /'
	fi
	if poll 200 conns_is 0 any any; then
		t_ok "$L: show connections empty once TIME_WAIT (2 s) has passed"
	else
		t_fail "$L: connections left 20 s after the clients finished: $(conns any any)"
		gwctl show connections | head -20 | sed 's/^/#   /'
	fi
	check_settled "$L" 100
	stop_gw "$L"
fi

# ---- 3. SYN flood --------------------------------------------------------------
L="SYN flood"
if ! command -v hping3 >/dev/null; then
	t_fail "$L: hping3 installed (tools/deps.sh)"
elif start_gw "$L" "syn_backlog = 64; time_wait = 2;" "$MIB"; then
	ip netns exec "$EXT_NS" timeout 10 hping3 -S -p 7 --flood --rand-source "$EXT_GW_IP" \
		>"$T_TMP/hping.out" 2>&1 &
	flood_pid=$!
	t_cleanup "kill $flood_pid"
	sleep 1
	out=$T_TMP/flood-echo.json
	peer "$L" "$out" 120 echo "$EXT_GW_IP" 7 --conns 1 --rounds 100 --bytes 4096
	assert_eq "$L: 100 sequential echo sessions during the flood, all verified" \
		"100/0" "$(jget "$out" ok)/$(jget "$out" failed)"
	t_note "$L: 100 sessions in $(jget "$out" seconds) s"
	wait "$flood_pid"
	t_note "$L: hping3: $(grep -E 'packets transmitted' "$T_TMP/hping.out")"
	assert_ge "$L: tcp.syncookies_sent > 0" "$(gw_stat tcp.syncookies_sent)" 1
	assert_ge "$L: tcp.syncookies_accepted > 0" "$(gw_stat tcp.syncookies_accepted)" 1
	t_note "$L: syncookies sent $(gw_stat tcp.syncookies_sent), accepted $(gw_stat tcp.syncookies_accepted)," \
		"rejected $(gw_stat tcp.syncookies_rejected), listen overflows $(gw_stat tcp.listen_overflows)"
	assert_eq "$L: ping still answered afterwards, loss %" 0 "$(ping_loss "$EXT_NS" "$EXT_GW_IP" 10 0.05)"
	stop_gw "$L"
fi

# ---- 4. a peer that vanishes mid-transfer ----------------------------------------
L="vanished peer"
if start_gw "$L" "max_retransmits = 4; rto_max_ms = 2000; time_wait = 2;" "$GIB"; then
	timed_out=$(gw_stat tcp.conn_timed_out)
	ip netns exec "$EXT_NS" timeout 90 "${PEER[@]}" sink "$EXT_GW_IP" 19 --expect-bytes "$GIB" \
		--timeout 60 >"$T_TMP/vanish.json" 2>&1 &
	sink_pid=$!
	t_cleanup "kill $sink_pid"
	sleep 1
	assert_eq "$L: transfer running (one ESTABLISHED connection from the host to port 19)" 1 \
		"$(conns ESTABLISHED 19 "$EXT_HOST_IP")"
	ip -n "$EXT_NS" link set "$EXT_PEER_IF" down
	if poll 300 stat_ge tcp.conn_timed_out $((${timed_out:-0} + 1)); then
		t_ok "$L: tcp.conn_timed_out rose within 30 s"
	else
		t_fail "$L: tcp.conn_timed_out did not rise within 30 s"
	fi
	assert_eq "$L: tcp.conn_timed_out rose by exactly 1" 1 "$(($(gw_stat tcp.conn_timed_out) - ${timed_out:-0}))"
	assert_eq "$L: no connection left for the vanished client" 0 "$(conns any any "$EXT_HOST_IP")"
	kill "$sink_pid" 2>/dev/null
	wait "$sink_pid" 2>/dev/null
	ip -n "$EXT_NS" link set "$EXT_PEER_IF" up
	ip -n "$EXT_NS" route replace default via "$EXT_GW_IP" dev "$EXT_PEER_IF"
	check_settled "$L" 100
	stop_gw "$L"
fi
