#!/usr/bin/env bash
# 100,000 random, truncated and malformed frames from the partner namespace
# (raw AF_PACKET socket): mailgw keeps answering ping from the other side
# throughout, every frame is accounted for by a drop counter naming why, and
# each malformed category lands on the counter it must.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/gw.sh"

COUNT=${GARBAGE_COUNT:-100000}
topo_two_ports
gw_config >"$T_TMP/gw.conf"
gw_start "$T_TMP/gw.conf" || { t_fail "mailgw starts"; exit 1; }

# Learn each other first, so the flood is the only thing on the ext port.
ping_loss "$EXT_NS" "$EXT_GW_IP" 3 0.1 >/dev/null
gw_stats ext >"$T_TMP/before"
ext_mac=$(gwctl --json show ports | python3 -c 'import json,sys; print([p["mac"] for p in json.load(sys.stdin) if p["name"]=="ext"][0])')

# Ping from the int side for the whole flood.
ip netns exec "$INT_NS" ping -q -c 400 -i 0.02 -W 1 "$INT_GW_IP" >"$T_TMP/ping" 2>&1 &
ping_pid=$!
start=$(date +%s.%N)
ip netns exec "$EXT_NS" /usr/bin/python3 "$T_ROOT/tests/lib/garbage.py" "$EXT_PEER_IF" "$ext_mac" \
	"$EXT_GW_IP" "$EXT_HOST_IP" "$COUNT" 42 >"$T_TMP/sent" 2>"$T_TMP/garbage.err"
t_check "garbage generator ran" test -s "$T_TMP/sent"
t_note "sent $COUNT frames in $(echo "$(date +%s.%N) - $start" | bc) s"
wait "$ping_pid"
assert_match "ping from the int side during the flood: 0% loss" " 0% packet loss" "$(cat "$T_TMP/ping")"
assert_eq "ping on the flooded side afterwards, loss %" 0 "$(ping_loss "$EXT_NS" "$EXT_GW_IP" 20 0.01)"

sleep 0.5
gw_stats ext >"$T_TMP/after"
gwctl show stats --all --port ext >"$T_TMP/after.full"

# Deltas per counter; the deterministic categories must match exactly.
python3 - "$T_TMP/before" "$T_TMP/after" "$T_TMP/sent" "$T_TMP/after.full" <<'PY' >"$T_TMP/verdicts"
import json, sys
def load(p):
    return {l.split()[0]: int(l.split()[1]) for l in open(p) if l.strip()}
before, after = load(sys.argv[1]), load(sys.argv[2])
sent = json.load(open(sys.argv[3]))
kinds = {l.split()[0]: l.split()[2] for l in open(sys.argv[4]) if l.strip()}
delta = {k: after[k] - before.get(k, 0) for k in after}
# Ping traffic on the ext port after the flood (20 pings + ARP) is consumed, not dropped.
drops = sum(v for k, v in delta.items() if kinds.get(k) == "drop")
consumed = sum(v for k, v in delta.items() if kinds.get(k) == "rx")
total = sum(sent.values())
rnd = sent.pop("random", 0)
for name, n in sorted(sent.items()):
    ok = delta.get(name, 0) >= n
    print("%s|%s: %d frames sent, counter rose by %d" % ("ok" if ok else "FAIL", name, n, delta.get(name, 0)))
det = sum(sent.values())
print("%s|every frame accounted for: rx_frames +%d == consumed +%d + dropped +%d" %
      ("ok" if delta["port.rx_frames"] == consumed + drops else "FAIL", delta["port.rx_frames"], consumed, drops))
print("%s|the gateway received all %d garbage frames (rx_frames +%d, %d consumed by ping)" %
      ("ok" if delta["port.rx_frames"] - consumed >= total else "FAIL", total, delta["port.rx_frames"], consumed))
print("%s|drop counters account for all %d malformed and %d random frames (+%d drops)" %
      ("ok" if drops >= total - 2 and drops <= total + 2 else "FAIL", det, rnd, drops))
PY
while IFS='|' read -r verdict text; do
	if [[ $verdict == ok ]]; then t_ok "$text"; else t_fail "$text"; fi
done <"$T_TMP/verdicts"
t_note "drop counters on ext after the flood:"
grep -E ' (drop|tx-drop) ' "$T_TMP/after.full" | awk '$2 > 0' | sed 's/^/#   /'

gw_stop
assert_eq "mailgw still stops cleanly" 0 "$GW_EXIT"
