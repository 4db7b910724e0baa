# netns.sh — network namespaces and veth pairs for integration tests and the
# demo. Everything created here is registered with t_cleanup (harness.sh) or
# NS_CLEANUPS so it is always torn down, even when a test fails.
#
# The gateway runs in a namespace of its own holding the gateway end of each
# veth, so the host kernel never sees (or routes) test traffic.

: "${NS_TAG:=$(printf '%04x' $((RANDOM ^ $$ & 0xffff)))}"

_ns_cleanup() { if declare -F t_cleanup >/dev/null; then t_cleanup "$@"; else NS_CLEANUPS+=("$*"); fi; }

# ns_create NAME: a namespace with lo up and IPv6 off (no stray ND/MLD frames).
ns_create() {
	local ns=$1
	ip netns del "$ns" 2>/dev/null || true
	ip netns add "$ns"
	_ns_cleanup "ip netns del $ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# ns_link GWNS GWIF PEERNS PEERIF PEER_CIDR GW_IP
# A veth pair: GWIF (no address, for the gateway's af_packet port) in GWNS,
# PEERIF with PEER_CIDR and a default route via GW_IP in PEERNS. The peer
# sends full checksums (tx offload off): af_packet sees veth's partial ones.
ns_link() {
	local gns=$1 gif=$2 pns=$3 pif=$4 cidr=$5 gwip=$6
	ip link add "$gif" netns "$gns" type veth peer name "$pif" netns "$pns"
	ip netns exec "$gns" sysctl -qw "net.ipv6.conf.$gif.disable_ipv6=1" 2>/dev/null || true
	ip netns exec "$gns" sysctl -qw "net.ipv4.conf.$gif.arp_ignore=8" 2>/dev/null || true
	ip netns exec "$gns" ethtool -K "$gif" tx off rx off >/dev/null 2>&1 || true
	ip netns exec "$pns" ethtool -K "$pif" tx off >/dev/null
	ip -n "$gns" link set "$gif" up
	ip -n "$pns" addr add "$cidr" dev "$pif"
	ip -n "$pns" link set "$pif" up
	ip -n "$pns" route add default via "$gwip" dev "$pif"
}

# ns_mac NS IF: the interface's MAC address.
ns_mac() { ip netns exec "$1" cat "/sys/class/net/$2/address"; }
