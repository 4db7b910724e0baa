#!/usr/bin/env bash
# The demo that `make run` starts (tools/demo.sh with the example
# configuration): both namespaces ping the gateway with no loss, the
# console's default socket answers, and Ctrl-C (SIGINT to the foreground
# process group) stops mailgw cleanly and removes the topology.
source "$(dirname "$0")/../lib/harness.sh"

CTL="$T_BUILD/mailgwctl"
if ip netns list | grep -qE "^mgw-gw( |$)"; then
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

# The README's swaks lines: partner -> gateway -> internal Postfix, and back out.
md=$T_ROOT/build/demo/maildir/new; pd=$T_ROOT/build/demo/partner/new
n_in=$(find "$md" -type f 2>/dev/null | wc -l); n_out=$(find "$pd" -type f 2>/dev/null | wc -l)
out=$(ip netns exec mgw-ext swaks --server 203.0.113.1 --to user@example.com \
	--from partner@partner.example --timeout 30 2>&1)
assert_match "swaks from mgw-ext through the gateway: 250 after the data" \
	"<-  250 2\.0\.0 .*-> QUIT" "$(tr '\n' ' ' <<<"$out")"
for ((i = 0; i < 50 && $(find "$md" -type f 2>/dev/null | wc -l) <= n_in; i++)); do sleep 0.2; done
assert_eq "the internal Postfix delivered it to build/demo/maildir/new" $((n_in + 1)) \
	"$(find "$md" -type f 2>/dev/null | wc -l)"
# The README's --tls line: STARTTLS to the gateway, and the gateway's STARTTLS to the next hop.
n_in=$(find "$md" -type f 2>/dev/null | wc -l)
out=$(ip netns exec mgw-ext swaks --tls --server 203.0.113.1 --to user@example.com \
	--from partner@partner.example --timeout 30 2>&1)
assert_match "swaks --tls through the gateway: 250 over TLS" "<~  250 2\.0\.0 .*~> QUIT" "$(tr '\n' ' ' <<<"$out")"
for ((i = 0; i < 50 && $(find "$md" -type f 2>/dev/null | wc -l) <= n_in; i++)); do sleep 0.2; done
f=$(ls -t "$md"/* 2>/dev/null | head -1)
hdr=$(sed '/^$/q' "$f" 2>/dev/null | tr -d '\n')
assert_match "the delivered message: our Received: shows TLS from the partner" \
	"using TLSv1\.[23] with cipher .*\(mailgw\) with ESMTPS" "$hdr"
assert_match "... and the next hop's Received: shows TLS from the gateway" "\(Postfix\) with ESMTPS" "$hdr"
out=$(ip netns exec mgw-int swaks --server 10.20.0.1 --to someone@partner.example \
	--from user@example.com --timeout 30 2>&1)
assert_match "swaks from mgw-int to a partner domain (relay_networks): 250" \
	"<-  250 2\.0\.0 .*-> QUIT" "$(tr '\n' ' ' <<<"$out")"
for ((i = 0; i < 50 && $(find "$pd" -type f 2>/dev/null | wc -l) <= n_out; i++)); do sleep 0.2; done
assert_eq "the partner's Postfix delivered it to build/demo/partner/new" $((n_out + 1)) \
	"$(find "$pd" -type f 2>/dev/null | wc -l)"
out=$(ip netns exec mgw-ext swaks --server 203.0.113.1 --to someone@elsewhere.example \
	--from partner@partner.example --timeout 30 2>&1)
assert_match "the demo is no open relay: 554 5.7.1 from the partner side" "<\*\* 554 5\.7\.1" "$out"
assert_match "show sessions answers" "session\(s\);" "$("$CTL" show sessions)"
assert_match "show stats smtp counts the relayed messages" "smtp\.messages_relayed +3" \
	"$("$CTL" show stats smtp)"

kill -INT -- "-$demo_pid"
for ((i = 0; i < 100; i++)); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
wait "$demo_pid"; rc=$?
assert_eq "Ctrl-C: demo exits with status 0" 0 "$rc"
assert_match "mailgw logged a clean stop" "main: info: stopped" "$(cat "$T_TMP/demo.out")"
assert_eq "topology removed" "" "$(ip netns list | grep -E '^mgw-(gw|ext|int)( |$)')"
t_check "console socket removed" test ! -e /run/mailgw/console.sock
