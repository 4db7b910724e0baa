#!/usr/bin/env bash
# demo.sh — `make run`: build the demo topology and run mailgw on it in the
# foreground. Ctrl-C stops the gateway and tears the topology down.
#
#   mgw-ext (partner side)  203.0.113.10/24 --veth-- mgw-ext0 [port ext 203.0.113.1]
#   mgw-int (internal side) 10.20.0.10/24   --veth-- mgw-int0 [port int 10.20.0.1]
#
# The gateway's veth ends live in namespace mgw-gw (mailgw runs there), so
# the host's own kernel never sees the demo's traffic. Both hosts route by
# default via the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."

NS_CLEANUPS=()
source tests/lib/netns.sh

teardown() {
	local i
	for ((i = ${#NS_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${NS_CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	NS_CLEANUPS=()
	echo "demo: topology removed"
}
trap teardown EXIT
trap 'true' INT TERM        # mailgw (in the foreground) handles Ctrl-C itself

ns_create mgw-gw
ns_create mgw-ext
ns_create mgw-int
ns_link mgw-gw mgw-ext0 mgw-ext eth0 203.0.113.10/24 203.0.113.1
ns_link mgw-gw mgw-int0 mgw-int eth0 10.20.0.10/24 10.20.0.1

mkdir -p build/demo
# The example configuration as shipped, logging to this terminal.
sed 's|^\( *file *= *\)"[^"]*";|\1"stderr";|' platform/rootfs/etc/mailgw/mailgw.conf >build/demo/mailgw.conf
build/mailgw --check-config -c build/demo/mailgw.conf

cat <<'MSG'
demo: topology up. In another terminal (as root):
  ip netns exec mgw-ext ping -c 5 203.0.113.1     # partner side -> gateway
  ip netns exec mgw-int ping -c 5 10.20.0.1       # internal side -> gateway
  build/mailgwctl show ports
  build/mailgwctl show stats icmp
  build/mailgwctl show arp
demo: starting mailgw (Ctrl-C stops it and removes the topology)
MSG
rc=0
ip netns exec mgw-gw build/mailgw -c build/demo/mailgw.conf || rc=$?
exit "$rc"
