#!/usr/bin/env bash
# The network layer against real Linux hosts in namespaces: ping from both
# sides, ARP both ways with expiry and re-resolution, the console and
# telemetry views, a clean stop -- with one worker and with two workers
# (af_packet fan-out spreads frames over both queues).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"

# Counters that account for received frames, from the KIND column.
frame_fate_sum() {   # PORT
	gwctl show stats --all --port "$1" | awk '$3 == "rx" || $3 == "drop" { s += $2 } END { print s + 0 }'
}

wait_for() {   # NAME TENTHS COMMAND...: passes once COMMAND succeeds
	local name=$1 tries=$2 i; shift 2
	for ((i = 0; i < tries; i++)); do
		if "$@"; then t_ok "$name"; return; fi
		sleep 0.1
	done
	t_fail "$name (not within $((tries / 10)) s)"
}

run_case() {   # LABEL WORKERS
	local label=$1
	ip -n "$EXT_NS" neigh flush dev "$EXT_PEER_IF"
	ip -n "$INT_NS" neigh flush dev "$INT_PEER_IF"
	GW_WORKERS=$2 GW_LIMITS_EXTRA="arp_timeout = 2;" gw_config >"$T_TMP/gw.conf"
	if ! gw_start "$T_TMP/gw.conf"; then t_fail "$label: mailgw starts"; return; fi
	t_ok "$label: mailgw starts and the console answers"

	local ext_mac int_mac host_mac
	ext_mac=$(gwctl --json show ports | python3 -c 'import json,sys; print([p["mac"] for p in json.load(sys.stdin) if p["name"]=="ext"][0])')
	host_mac=$(ns_mac "$EXT_NS" "$EXT_PEER_IF")

	# The ping acceptance: 100 at 10 ms from both sides, no loss; counters rise.
	assert_eq "$label: ping ext side, 100 x 10 ms, loss %" 0 "$(ping_loss "$EXT_NS" "$EXT_GW_IP" 100 0.01)"
	assert_eq "$label: ping int side, 100 x 10 ms, loss %" 0 "$(ping_loss "$INT_NS" "$INT_GW_IP" 100 0.01)"
	local echo_req; echo_req=$(gwctl show stats icmp | awk '$1 == "icmp.rx_echo_request" { print $2 }')
	assert_ge "$label: show stats icmp counts the echo requests" "$echo_req" 200
	assert_ge "$label: echo replies sent" "$(gw_stat icmp.tx_echo_reply)" 200

	# ARP: we learned the host; the host learned us (our requests/replies work).
	assert_match "$label: show arp lists the ext host with its MAC" \
		"$EXT_HOST_IP +$host_mac +ext +(reachable|stale)" "$(gwctl show arp)"
	assert_match "$label: the host resolved the gateway's MAC" \
		"lladdr $ext_mac" "$(ip -n "$EXT_NS" neigh show "$EXT_GW_IP")"
	assert_ge "$label: ARP requests answered" "$(gw_stat arp.rx_request)" 1
	assert_eq "$label: one gratuitous ARP per port at start" "1 1" \
		"$(gw_stat arp.tx_gratuitous ext) $(gw_stat arp.tx_gratuitous int)"

	# Keep traffic flowing past arp_timeout: the gateway re-probes by itself.
	assert_eq "$label: ping across ARP refresh, loss %" 0 "$(ping_loss "$EXT_NS" "$EXT_GW_IP" 40 0.1)"
	assert_ge "$label: gateway sent ARP requests (refresh)" "$(gw_stat arp.tx_request ext)" 1
	assert_ge "$label: host answered them" "$(gw_stat arp.rx_reply ext)" 1

	# Idle: entries expire and disappear from show arp.
	local i left=1
	for ((i = 0; i < 100; i++)); do
		if ! gwctl show arp | grep -q "$EXT_HOST_IP"; then left=0; break; fi
		sleep 0.1
	done
	assert_eq "$label: idle ARP entry expires" 0 "$left"
	assert_ge "$label: arp.expired counted" "$(gw_stat arp.expired ext)" 1

	# With no entry, the reply waits in the ARP queue while we resolve.
	local req rep
	req=$(gw_stat arp.tx_request ext); rep=$(gw_stat arp.rx_reply ext)
	ip -n "$EXT_NS" neigh replace "$EXT_GW_IP" lladdr "$ext_mac" dev "$EXT_PEER_IF" nud permanent
	assert_eq "$label: ping after expiry (reply queued on resolution), loss %" 0 \
		"$(ping_loss "$EXT_NS" "$EXT_GW_IP" 5 0.2)"
	assert_ge "$label: gateway resolved the host again (request sent)" "$(gw_stat arp.tx_request ext)" $((req + 1))
	assert_ge "$label: gateway resolved the host again (reply received)" "$(gw_stat arp.rx_reply ext)" $((rep + 1))
	ip -n "$EXT_NS" neigh del "$EXT_GW_IP" dev "$EXT_PEER_IF"

	# Every received frame is accounted for by exactly one counter.
	local p
	for p in ext int; do
		assert_eq "$label: port $p: rx_frames == consumed + dropped" \
			"$(gw_stat port.rx_frames $p)" "$(frame_fate_sum $p)"
	done

	# Console views.
	assert_match "$label: show ports has both ports up" \
		"ext +net_af_packet.*$EXT_GW_IP/24.* up .*int +net_af_packet.*$INT_GW_IP/24.* up " \
		"$(gwctl show ports | tr '\n' ' ')"
	t_check "$label: show stats --json is JSON" \
		python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["icmp.rx_echo_request"] >= 200' \
		< <(gwctl --json show stats)
	t_check "$label: show workers --json lists every worker" \
		python3 -c "import json,sys; assert len(json.load(sys.stdin)) == len($2)" < <(gwctl --json show workers)
	assert_match "$label: show config shows the effective configuration" \
		"arp_timeout = 2;" "$(gwctl show config)"
	gwctl show frobnicate >/dev/null 2>&1
	assert_eq "$label: unknown console command exits 2" 2 $?

	# rte_telemetry twins under /mailgw/.
	local tel
	tel=$(echo "/mailgw/stats,icmp" | timeout 10 dpdk-telemetry.py -f "$GW_PREFIX" 2>&1)
	assert_match "$label: telemetry /mailgw/stats" '"icmp/rx_echo_request": [1-9]' "$tel"

	# Impairment from the console: all of ext's received frames lost, then none.
	if [[ $label == "1 worker" ]]; then
		gwctl linkem set ext rx loss=101 >/dev/null 2>&1
		assert_eq "$label: linkem set refuses loss=101 (exit 2)" 2 $?
		gwctl linkem set ext rx loss=100 >/dev/null
		assert_eq "$label: linkem set ext rx loss=100: ping loss %" 100 \
			"$(ping_loss "$EXT_NS" "$EXT_GW_IP" 5 0.05)"
		assert_ge "$label: show linkem counts the lost frames" "$(gwctl --json show linkem |
			python3 -c 'import json,sys; print(sum(e["lost"] for e in json.load(sys.stdin)
				if e["port"] == "ext" and e["direction"] == "rx"))')" 5
		gwctl linkem off ext >/dev/null
		assert_eq "$label: linkem off: ping loss %" 0 "$(ping_loss "$EXT_NS" "$EXT_GW_IP" 5 0.05)"
	fi

	# Link state: the host's interface going down takes our port's link down.
	ip -n "$EXT_NS" link set "$EXT_PEER_IF" down
	wait_for "$label: show ports: ext link down" 50 \
		bash -c "$T_BUILD/mailgwctl -s $GW_SOCK show ports | grep -qE '^ext .* down '"
	ip -n "$EXT_NS" link set "$EXT_PEER_IF" up
	ip -n "$EXT_NS" route replace default via "$EXT_GW_IP" dev "$EXT_PEER_IF"
	wait_for "$label: show ports: ext link up again" 50 \
		bash -c "$T_BUILD/mailgwctl -s $GW_SOCK show ports | grep -qE '^ext .* up '"
	assert_match "$label: link changes logged" "port ext: link down.*port ext: link up" \
		"$(tr '\n' ' ' <"$GW_LOG")"

	gw_stop
	assert_eq "$label: SIGTERM stops mailgw with status 0" 0 "$GW_EXIT"
	assert_match "$label: log ends with a clean stop" "main: info: stopped" "$(tail -1 "$GW_LOG")"
}

topo_two_ports
run_case "1 worker" "[1]"
run_case "2 workers" "[0, 1]"
