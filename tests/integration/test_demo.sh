#!/usr/bin/env bash
# The demo that `make run` starts (tools/demo.sh with the example
# configuration): both namespaces ping the gateway with no loss, the
# console's default socket answers, and Ctrl-C (SIGINT to the foreground
# process group) stops mailgw cleanly and removes the topology.
source "$(dirname "$0")/../lib/harness.sh"

CTL="$T_BUILD/mailgwctl"
if ip netns list | grep -qw mgw-gw; then
	t_fail "a demo is already running (namespace mgw-gw exists); stop it first"
	exit 1
fi
setsid bash "$T_ROOT/tools/demo.sh" >"$T_TMP/demo.out" 2>&1 &
demo_pid=$!
t_cleanup "kill -INT -$demo_pid; sleep 2; kill -KILL -$demo_pid"

ready=0
for ((i = 0; i < 300; i++)); do
	"$CTL" show ports >/dev/null 2>&1 && { ready=1; break; }
	kill -0 "$demo_pid" 2>/dev/null || break
	sleep 0.1
done
assert_eq "demo starts and mailgwctl reaches it on the default socket" 1 "$ready"
[[ $ready == 1 ]] || { sed 's/^/# /' "$T_TMP/demo.out"; exit 1; }

loss() { ip netns exec "$1" ping -q -c 100 -i 0.01 -W 1 "$2" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p'; }
before=$("$CTL" show stats icmp | awk '$1 == "icmp.rx_echo_request" { print $2 + 0 }')
assert_eq "mgw-ext: ping -c 100 -i 0.01 203.0.113.1, loss %" 0 "$(loss mgw-ext 203.0.113.1)"
assert_eq "mgw-int: ping -c 100 -i 0.01 10.20.0.1, loss %" 0 "$(loss mgw-int 10.20.0.1)"
after=$("$CTL" show stats icmp | awk '$1 == "icmp.rx_echo_request" { print $2 }')
assert_ge "show stats icmp: echo counter rose by 200" "$((after - ${before:-0}))" 200
assert_match "show arp lists both hosts" "203\.0\.113\.10 .* ext .*10\.20\.0\.10 .* int " \
	"$("$CTL" show arp | tr '\n' ' ')"
assert_match "help lists the commands" "show stats" "$("$CTL" help)"

kill -INT -- "-$demo_pid"
for ((i = 0; i < 100; i++)); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
wait "$demo_pid"; rc=$?
assert_eq "Ctrl-C: demo exits with status 0" 0 "$rc"
assert_match "mailgw logged a clean stop" "main: info: stopped" "$(cat "$T_TMP/demo.out")"
assert_eq "topology removed" "" "$(ip netns list | grep -E '^mgw-(gw|ext|int)( |$)')"
t_check "console socket removed" test ! -e /run/mailgw/console.sock
