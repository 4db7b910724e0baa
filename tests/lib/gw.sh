# gw.sh — run mailgw for a test: a standard two-port topology, a generated
# configuration, start (waiting until the console answers), counters, stop.
#
#   source tests/lib/harness.sh; source tests/lib/gw.sh
#   topo_two_ports               # namespaces $GW_NS, $EXT_NS, $INT_NS
#   gw_config > "$T_TMP/gw.conf" # GW_SYSTEM_EXTRA / GW_LIMITS_EXTRA to tune
#   gw_start "$T_TMP/gw.conf"
#   gwctl show stats icmp; gw_stat icmp.rx_echo_request [PORT]

source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

GW_NS=mgw-gw-$NS_TAG
EXT_NS=mgw-ext-$NS_TAG
INT_NS=mgw-int-$NS_TAG
EXT_GW_IF=ge$NS_TAG;  EXT_PEER_IF=pe$NS_TAG
INT_GW_IF=gi$NS_TAG;  INT_PEER_IF=pi$NS_TAG
EXT_GW_IP=203.0.113.1;  EXT_HOST_IP=203.0.113.10
INT_GW_IP=10.20.0.1;    INT_HOST_IP=10.20.0.10
GW_SOCK=$T_TMP/console.sock
GW_PREFIX=mgwt$NS_TAG
GW_PID=
GW_OUT=$T_TMP/mailgw.out
GW_LOG=$T_TMP/mailgw.log

topo_two_ports() {
	ns_create "$GW_NS"
	ns_create "$EXT_NS"
	ns_create "$INT_NS"
	ns_link "$GW_NS" "$EXT_GW_IF" "$EXT_NS" "$EXT_PEER_IF" "$EXT_HOST_IP/24" "$EXT_GW_IP"
	ns_link "$GW_NS" "$INT_GW_IF" "$INT_NS" "$INT_PEER_IF" "$INT_HOST_IP/24" "$INT_GW_IP"
}

# gw_config: a configuration for topo_two_ports on stdout.
# GW_WORKERS (default "[1]"), GW_SYSTEM_EXTRA, GW_LIMITS_EXTRA, GW_LOG_LEVEL,
# GW_EXTRA_GROUPS (top-level groups appended as they are: tcp, services, linkem).
gw_config() {
	cat <<CONF
version = 1;
system: {
  control_core = 0;
  worker_cores = ${GW_WORKERS:-[1]};
  allow_shared_cores = true;
  hugepages = false;
  $([[ ${GW_SYSTEM_EXTRA:-} == *memory_mb* ]] || echo 'memory_mb = 512;')
  file_prefix = "$GW_PREFIX";
  poll_mode = "adaptive";
  ${GW_SYSTEM_EXTRA:-}
  limits: { ${GW_LIMITS_EXTRA:-} };
};
ports = (
  { name = "ext"; device = "net_af_packet0,iface=$EXT_GW_IF"; address = "$EXT_GW_IP/24"; },
  { name = "int"; device = "net_af_packet1,iface=$INT_GW_IF"; address = "$INT_GW_IP/24"; }
);
console: { socket = "$GW_SOCK"; };
log: { file = "$GW_LOG"; level = "${GW_LOG_LEVEL:-info}"; };
${GW_EXTRA_GROUPS:-}
CONF
}

gwctl() { "$T_BUILD/mailgwctl" -s "$GW_SOCK" "$@"; }

# gw_start CONF: start mailgw in $GW_NS; returns non-zero if it is not ready in 30 s.
gw_start() {
	ip netns exec "$GW_NS" "$T_BUILD/mailgw" -c "$1" >"$GW_OUT" 2>&1 &
	GW_PID=$!
	t_cleanup "gw_stop"
	local i
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$GW_PID" 2>/dev/null; then
			t_note "mailgw exited early:"; sed 's/^/# /' "$GW_OUT" "$GW_LOG" 2>/dev/null
			return 1
		fi
		gwctl show ports >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	t_note "mailgw not ready after 30 s"
	return 1
}

# gw_stop: SIGTERM, wait up to 15 s; sets GW_EXIT to the exit status
# (KILLED if it hung). Call it in the test's own shell, not in $( ).
GW_EXIT=
gw_stop() {
	[[ -n $GW_PID ]] || return 0
	local pid=$GW_PID i
	GW_PID=
	kill -TERM "$pid" 2>/dev/null || { GW_EXIT=gone; return 0; }
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"; wait "$pid" 2>/dev/null; GW_EXIT=KILLED; return 1
	fi
	wait "$pid"; GW_EXIT=$?
	rm -rf "/var/run/dpdk/$GW_PREFIX"
	return 0
}

# gw_stats [PORT]: every counter as "name value" lines (one port, or all).
gw_stats() {
	if [[ -n ${1:-} ]]; then gwctl show stats --all --port "$1"; else gwctl show stats --all; fi |
		awk '{ print $1, $2 }'
}

# gw_stat NAME [PORT]: one counter's value.
gw_stat() { gw_stats "${2:-}" | awk -v n="$1" '$1 == n { print $2 }'; }

# ping_loss NS DST COUNT INTERVAL: the packet-loss percentage ping reports.
ping_loss() {
	ip netns exec "$1" ping -q -c "$3" -i "$4" -W 1 "$2" 2>&1 |
		sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p'
}
