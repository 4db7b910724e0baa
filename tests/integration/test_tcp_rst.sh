#!/usr/bin/env bash
# test_tcp_rst.sh — RST handling in every TCP state (RFC 793, RFC 5961) with a
# scapy peer (tests/lib/tcp_rst.py) on $EXT_PEER_IF in $EXT_NS:
#   closed port: RST+ACK with ack = seq + len, RST with seq = SEG.ACK, no
#     answer to a RST;
#   SYN_RECEIVED, CLOSE_WAIT, LAST_ACK, FIN_WAIT_1, FIN_WAIT_2 (scripted
#     peer; CLOSE_WAIT by filling echo past its send buffer): an exact RST
#     removes the connection, nothing is retransmitted, tcp.rx_resets rises;
#   ESTABLISHED (a kernel socket): out-of-window RST dropped silently, an
#     in-window inexact RST and a SYN (in or out of window) draw a challenge ACK
#     (tcp.challenge_acks) and the connection survives, the exact RST
#     removes it and the orphaned kernel socket gets a RST.
# The scripted peer uses 203.0.113.30, an address the namespace's kernel does
# not own, and answers ARP for it itself, so the kernel never resets the
# gateway's SYN-ACKs (no iptables/nftables rule needed).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"

if ! /usr/bin/python3 -c 'import scapy.all' 2>/dev/null; then
	t_fail "python3-scapy installed (tools/deps.sh)"
	exit 1
fi

topo_two_ports
# Small buffers for CLOSE_WAIT: 6 KiB to echo with our window closed is more
# than its 4 KiB send buffer holds, so echo never reads our FIN (EOF).
GW_EXTRA_GROUPS='services: { echo = { enabled = true; port = 7; }; discard = { enabled = true; port = 9; };
          source = { enabled = true; port = 19; }; };
tcp: { time_wait = 2; snd_buffer = 4096; rcv_buffer = 4096; };' gw_config >"$T_TMP/gw.conf"
gw_start "$T_TMP/gw.conf" || { t_fail "mailgw starts"; exit 1; }
t_ok "mailgw starts"
ping_loss "$EXT_NS" "$EXT_GW_IP" 3 0.1 >/dev/null
ext_mac=$(gwctl --json show ports | python3 -c 'import json,sys; print([p["mac"] for p in json.load(sys.stdin) if p["name"]=="ext"][0])')

# scenario NAME [ARGS...]: tcp_rst.py NAME; one t_ok/t_fail per check it reports.
scenario() {
	local name=$1 out=$T_TMP/rst-$1.json rc; shift
	ip netns exec "$EXT_NS" timeout 60 /usr/bin/python3 "$T_ROOT/tests/lib/tcp_rst.py" \
		"$EXT_PEER_IF" "$ext_mac" "$EXT_GW_IP" "$name" --host-ip "$EXT_HOST_IP" \
		--ctl "$T_BUILD/mailgwctl -s $GW_SOCK" --require-counters "$@" >"$out" 2>"$out.err"
	rc=$?
	if ! python3 - "$out" "$name" >"$out.verdicts" 2>/dev/null <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
for c in d["checks"]:
    print("%s|%s: %s%s" % ("ok" if c["ok"] else "FAIL", sys.argv[2], c["name"],
                           "" if c["ok"] or not c.get("detail") else " (%s)" % c["detail"]))
for step, deltas in sorted(d.get("counters", {}).items()):
    if deltas:
        print("note|%s: %s: %s" % (sys.argv[2], step,
                                    ", ".join("%s +%d" % kv for kv in sorted(deltas.items()))))
PY
	then
		t_fail "$name: tcp_rst.py ran (exit $rc, no result)"
		sed 's/^/#   /' "$out.err" | tail -15
		return
	fi
	while IFS='|' read -r verdict text; do
		case $verdict in
		ok) t_ok "$text" ;;
		note) t_note "$text" ;;
		*) t_fail "$text" ;;
		esac
	done <"$out.verdicts"
	if ((rc == 2)); then
		t_fail "$name: tcp_rst.py setup error"
		sed 's/^/#   /' "$out.err" | tail -15
	fi
}

scenario closed-port --closed-port 4444
scenario syn-recv --port 7
scenario established --port 7
scenario close-wait --port 7 --fill 6144
scenario last-ack --port 7
scenario fin-wait-1 --port 7
scenario fin-wait-2 --port 7

sleep 0.5
assert_eq "no connection left after the scenarios" 0 \
	"$(gwctl --json show connections | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>&1)"

gw_stop
assert_eq "mailgw still stops cleanly" 0 "$GW_EXIT"
