#!/usr/bin/env bash
# test_tcp_active.sh — active opens: `mailgwctl tcp connect` makes the gateway
# open 200 connections to a Linux kernel echo server (tests/lib/tcppeer.py
# serve-echo on $INT_HOST_IP:7007 in $INT_NS), spread over its workers; each
# sends 64 KiB of the pattern and verifies the echo. With 2 workers on 2 CPUs
# and 4 workers on 2 CPUs: probe.verified == 200, probe.failed == 0, and
# af_packet fan-out delivers some return traffic to a worker that does not own
# the connection, which hands it over (steer.handed_over > 0).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"

PEER=(/usr/bin/python3 "$T_ROOT/tests/lib/tcppeer.py")
PORT=7007
COUNT=200
BYTES=65536

# conns_left PORT: connections to remote PORT in any state but TIME_WAIT.
conns_left() {
	gwctl --json show connections 2>/dev/null | python3 -c '
import json, sys
def port(x):
    return int(x["port"]) if isinstance(x, dict) else int(str(x).rpartition(":")[2])
try:
    lst = json.load(sys.stdin)
except ValueError:
    print("error"); sys.exit()
print(sum(1 for c in lst if port(c["remote"]) == int(sys.argv[1]) and
          str(c["state"]).upper().replace("-", "_") != "TIME_WAIT"))' "$1"
}

run_case() {   # LABEL WORKERS
	local label=$1 srv=$T_TMP/server.out i
	ip netns exec "$INT_NS" timeout 400 "${PEER[@]}" serve-echo "$PORT" --bind "$INT_HOST_IP" \
		--timeout 360 >"$srv" 2>"$srv.err" &
	local srv_pid=$!
	t_cleanup "kill $srv_pid"
	for ((i = 0; i < 300; i++)); do
		grep -q '^listening' "$srv" && break
		sleep 0.1
	done
	if grep -q '^listening' "$srv"; then
		t_ok "$label: kernel echo server listening on $INT_HOST_IP:$PORT"
	else
		t_fail "$label: kernel echo server listening on $INT_HOST_IP:$PORT (not within 30 s)"
		sed 's/^/#   /' "$srv" "$srv.err"
	fi

	GW_WORKERS=$2 GW_EXTRA_GROUPS='tcp: { max_connections = 4096; };' gw_config >"$T_TMP/gw.conf"
	if ! gw_start "$T_TMP/gw.conf"; then
		t_fail "$label: mailgw starts"
		kill "$srv_pid"; wait "$srv_pid"
		return
	fi
	t_ok "$label: mailgw starts"

	local out rc
	out=$(timeout 300 "$T_BUILD/mailgwctl" -s "$GW_SOCK" tcp connect "$INT_HOST_IP" "$PORT" \
		--count "$COUNT" --bytes "$BYTES" 2>&1)
	rc=$?
	assert_eq "$label: tcp connect $INT_HOST_IP $PORT --count $COUNT --bytes $BYTES exits 0" 0 "$rc"
	t_note "$label: tcp connect: $(tr '\n' ' ' <<<"$out")"
	assert_eq "$label: probe.verified" "$COUNT" "$(gw_stat probe.verified)"
	assert_eq "$label: probe.failed" 0 "$(gw_stat probe.failed)"
	assert_ge "$label: steer.handed_over > 0 (return traffic handed to the owning worker)" \
		"$(gw_stat steer.handed_over)" 1
	t_note "$label: steer.handed_over $(gw_stat steer.handed_over), steer.ring_full $(gw_stat steer.ring_full)," \
		"tcp.conn_opened $(gw_stat tcp.conn_opened)"
	for ((i = 0; i < 100; i++)); do
		[[ $(conns_left "$PORT") == 0 ]] && break
		sleep 0.1
	done
	assert_eq "$label: no connection to port $PORT left except TIME_WAIT" 0 "$(conns_left "$PORT")"

	kill -TERM "$srv_pid"
	wait "$srv_pid"
	assert_eq "$label: echo server exits cleanly on SIGTERM" 0 $?
	python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(d["accepted"], d["bytes"], d["resets"])' \
		"$srv" >"$T_TMP/srv.stats" 2>/dev/null
	read -r accepted bytes resets <"$T_TMP/srv.stats"
	assert_eq "$label: echo server accepted $COUNT connections" "$COUNT" "${accepted:-none}"
	assert_eq "$label: echo server received $COUNT x $BYTES bytes" $((COUNT * BYTES)) "${bytes:-none}"
	assert_eq "$label: no connection reset at the echo server" 0 "${resets:-none}"

	gw_stop
	assert_eq "$label: mailgw stops with status 0" 0 "$GW_EXIT"
}

topo_two_ports
run_case "2 workers" "[0, 1]"
run_case "4 workers on 2 CPUs" "[0, 1, 0, 1]"
