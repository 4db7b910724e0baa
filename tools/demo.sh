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
#
# Each host runs a private Postfix (tests/lib/smtp.sh: its own configuration
# and queue under build/demo/postfix-*, accepting mail for any domain):
#   mgw-int 10.20.0.10:25    the internal mail server, delivers every message
#                            into the Maildir build/demo/maildir
#   mgw-ext 203.0.113.10:25  the partner's server, delivers into the Maildir
#                            build/demo/partner
# Both are stopped (and the Maildirs kept until the next start) at teardown.
set -euo pipefail
cd "$(dirname "$0")/.."

NS_CLEANUPS=()
source tests/lib/netns.sh
source tests/lib/smtp.sh

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
DEMO=$(pwd)/build/demo
rm -rf "$DEMO/postfix-int" "$DEMO/postfix-ext" "$DEMO/maildir" "$DEMO/partner"
# The test PKI (CA, the gateway's certificates, the next hop's): a no-op once made.
tools/mkcerts -q
PKI=$(pwd)/build/pki
# demo_postfix NS ADDR NAME MAILDIR CERT: a private Postfix in NS on ADDR:25
# offering STARTTLS with CERT; a failure is reported, and the demo goes on
# without it.
demo_postfix() {
	local dir=$DEMO/postfix-$3
	if pf_setup "$dir" "$2" "$DEMO/$4" &&
	   postconf -c "$dir/etc" -e "smtpd_tls_cert_file=$PKI/$5.crt" "smtpd_tls_key_file=$PKI/$5.key" \
		"smtpd_tls_security_level=may" "smtpd_tls_received_header=yes" &&
	   echo "tlsmgr unix - - n 1000? 1 tlsmgr" >>"$dir/etc/master.cf" &&
	   NS_CLEANUPS+=("pf_stop '$dir'") && pf_start "$1" "$dir"; then
		echo "demo: Postfix in $1 on $2:25 (STARTTLS) delivers into build/demo/$4"
	else
		echo "demo: warning: Postfix in $1 did not start (see build/demo/postfix-$3/maillog)" >&2
	fi
}
demo_postfix mgw-int 10.20.0.10 int maildir nexthop/server
demo_postfix mgw-ext 203.0.113.10 ext partner partner-server/server
# The example configuration as shipped, logging to this terminal, with its
# (commented) tls group switched on: certificates from build/pki.
sed -e 's|^\( *file *= *\)"[^"]*";|\1"stderr";|' -e '/^# tls: {$/,/^# };$/s/^# \{0,1\}//' \
	platform/rootfs/etc/mailgw/mailgw.conf >build/demo/mailgw.conf
build/mailgw --check-config -c build/demo/mailgw.conf

cat <<'MSG'
demo: topology up. In another terminal (as root):
  ip netns exec mgw-ext ping -c 5 203.0.113.1     # partner side -> gateway
  ip netns exec mgw-int ping -c 5 10.20.0.1       # internal side -> gateway
  build/mailgwctl show ports
  build/mailgwctl show stats icmp
  build/mailgwctl show arp
  # mail from the partner through the gateway to the internal server:
  ip netns exec mgw-ext swaks --server 203.0.113.1 --to user@example.com --from partner@partner.example
  ip netns exec mgw-ext swaks --tls --server 203.0.113.1 --to user@example.com --from partner@partner.example
  ls build/demo/maildir/new                       # where it arrives (Received: shows TLS on both legs)
  # and out from the internal network to the partner:
  ip netns exec mgw-int swaks --server 10.20.0.1 --to someone@partner.example --from user@example.com
  ls build/demo/partner/new
  build/mailgwctl show sessions
demo: starting mailgw (Ctrl-C stops it and removes the topology)
MSG
rc=0
ip netns exec mgw-gw build/mailgw -c build/demo/mailgw.conf || rc=$?
exit "$rc"
