#!/usr/bin/env bash
# test_connectors_console.sh — the connector table on the console (issue 6):
# show connectors (one row per connector, the generation), show connector
# NAME (policy and counters; an unknown name), the simulator `test connector`
# on the live table (a partner's range in plaintext: 530 5.7.0; a client
# certificate file read and verified against tls.ca_file: selected by its
# name; a sender domain claimed from outside its connector's ranges: 550
# 5.7.1 naming it; report_only: would refuse; an outbound connector's smart
# hosts and TLS; the default policy; certificates from another CA or
# expired; errors), and `reload`: a connector added (generation 1) while a
# session started under generation 0 finishes under it, a broken file
# refused with FILE:LINE (the running table stays), a change outside
# `connectors` noted as needing a restart, SIGHUP still reloading only the
# certificates; the gateway relays throughout, and counts a report_only
# connector's would-refuse.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

PKI=$T_TMP/pki
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

topo_two_ports
# connectors_conf [EXTRA-INBOUND]: the connectors group, EXTRA-INBOUND appended to inbound.
connectors_conf() {
	cat <<CONF
connectors: {
  inbound = (
    { name = "partner-net"; sender_ip_addresses = [ "198.51.100.0/24", "2001:db8:51::/48" ];
      require_tls = true; },
    { name = "bank"; sender_domains = [ "bank.example", "*.bank.example" ];
      sender_ip_addresses = [ "192.0.2.0/25" ]; require_tls = true;
      restrict_domains_to_ip_addresses = true; },
    { name = "partner-cert"; tls_sender_certificate_name = "mail.partner.example";
      sender_domains = [ "partner.example" ]; min_tls_version = "1.2"; },
    { name = "legacy"; sender_domains = [ "legacy.example" ]; require_tls = true;
      mode = "report_only"; }${1:-}
  );
  outbound = (
    { name = "partner-out"; recipient_domains = [ "partner.example", "*.partner.example" ];
      smart_hosts = [ "10.20.0.10:2525" ]; tls_settings = "domain_validation";
      tls_domain = "mx.partner.example"; },
    { name = "bank-out"; recipient_domains = [ "bank.example" ];
      smart_hosts = [ "10.20.0.11", "10.20.0.12:587" ]; tls_settings = "encryption_only";
      min_tls_version = "1.3"; }
  );
};
CONF
}
# write_conf [HOSTNAME [EXTRA-INBOUND]]: the gateway's configuration into $CONF.
CONF=$T_TMP/gw.conf
write_conf() {
	GW_EXTRA_GROUPS="smtp = { hostname = \"${1:-mx.gw.test}\"; accepted_domains = [ \"example.com\" ];
  relay_networks = [ \"10.20.0.0/24\" ]; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; } );
  ca_file = \"$PKI/ca/ca.crt\"; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"10.20.0.10:25\" ]; } );
$(connectors_conf "${2:-}")"
	gw_config >"$CONF"
}
write_conf
REC=$T_TMP/rec.jsonl
t_check "next hop starts" nexthop_start "$INT_NS" "$INT_HOST_IP" 25 --record "$REC"
t_check "gateway starts with 4 inbound and 2 outbound connectors" gw_start "$CONF"

sq() { tr -s ' '; }                     # columns compared with single spaces
# has NAME LINE TEXT: TEXT holds LINE as a whole line.
has() { if grep -Fxq -- "$2" <<<"$3"; then t_ok "$1"; else t_fail "$1: no line '$2' in:"; sed 's/^/# /' <<<"$3"; fi; }
# ctl ARGS...: the console's answer (stdout and stderr) and its exit status in $RC.
ctl() { OUT=$(gwctl "$@" 2>&1); RC=$?; }

# ---- show connectors ----
ctl show connectors
out=$(sq <<<"$OUT")
has "show connectors: the generation and the counts" "connectors: generation 0, 4 inbound, 2 outbound" "$out"
has "show connectors: the header" \
	"NAME DIR MODE ACCEPTED REFUSED WOULD-REFUSE SELECTED BY, REQUIRES / RECIPIENTS -> NEXT HOP; TLS" "$out"
has "show connectors: the address connector, IPv4 and IPv6" \
	"partner-net in enforce 0 0 0 ip 198.51.100.0/24, 2001:db8:51::/48; requires TLS" "$out"
has "show connectors: the sender-domain connector restricted to its addresses" \
	"bank in enforce 0 0 0 ip 192.0.2.0/25; sender bank.example, *.bank.example; requires TLS; domains only with its addresses" "$out"
has "show connectors: the certificate-name connector" \
	"partner-cert in enforce 0 0 0 cert mail.partner.example; sender partner.example; requires TLS 1.2+ and its certificate" "$out"
has "show connectors: the report_only connector" "legacy in report_only 0 0 0 sender legacy.example; requires TLS" "$out"
has "show connectors: the outbound connector, its smart host and domain_validation" \
	"partner-out out enforce 0 0 0 rcpt partner.example, *.partner.example -> 10.20.0.10:2525; domain_validation mx.partner.example" "$out"
has "show connectors: the outbound connector with two smart hosts, encryption_only, TLS 1.3" \
	"bank-out out enforce 0 0 0 rcpt bank.example -> 10.20.0.11:25, 10.20.0.12:587; encryption_only; TLS 1.3+" "$out"
assert_eq "show connectors: 2 + 6 lines" 8 "$(wc -l <<<"$OUT")"
ctl show connectors --json
assert_eq "show connectors --json: generation, names in id order, settings" \
	"0 4 2 partner-net,bank,partner-cert,legacy,partner-out,bank-out True mx.partner.example 1.3 0" \
	"$(python3 -c 'import json,sys; d=json.load(sys.stdin); c=d["connectors"]; print(d["generation"], d["inbound"], d["outbound"],
	",".join(x["name"] for x in c), c[1]["restrict_domains_to_ip_addresses"], c[4]["tls_domain"], c[5]["min_tls_version"],
	sum(x["accepted"] + x["refused"] + x["would_refuse"] for x in c))' <<<"$OUT" 2>&1)"

# ---- show connector NAME ----
ctl show connector bank
assert_eq "show connector bank: policy and counters" 'connector "bank": inbound, enforce (line 28)
  sender_domains: bank.example, *.bank.example
  sender_ip_addresses: 192.0.2.0/25
  requires: TLS
  sender domains restricted to: its addresses
counters (generation 0, all workers):
  accepted: 0' "$OUT"
ctl show connector partner-out
assert_eq "show connector partner-out: recipients, smart host, TLS" 'connector "partner-out": outbound, enforce (line 37)
  recipient_domains: partner.example, *.partner.example
  next hop: smart hosts 10.20.0.10:2525 (priority 10)
  TLS: domain_validation: STARTTLS required, chain and dates verified, name mx.partner.example
counters (generation 0, all workers):
  accepted: 0' "$OUT"
ctl show connector nosuch
assert_eq "show connector with an unknown name: an error naming it (status 1)" \
	'1 error: no connector named "nosuch" in generation 0 (show connectors lists them)' "$RC $OUT"
ctl show connector
assert_eq "show connector without a name: usage (status 2)" "2 usage: show connector NAME (show connectors lists them)" "$RC $OUT"
ctl --json show connector partner-cert
assert_eq "show connector --json: settings, description, counters" "partner-cert inbound ['mail.partner.example'] 1.2 0 {}" \
	"$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["name"], d["direction"], d["tls_sender_certificate_name"],
	d["min_tls_version"], d["accepted"], d["refused"])' <<<"$OUT" 2>&1)"

# ---- test connector: the simulator on the live table ----
ctl test connector --ip 198.51.100.7
has "test: a partner address in plaintext selects its connector" \
	'inbound: connector "partner-net", matched by client address in 198.51.100.0/24' "$OUT"
has "test: ... and is refused with 530 5.7.0" \
	'  before MAIL: connector "partner-net" (client address): refuse tls_required: 530 5.7.0 Must issue a STARTTLS command first' "$OUT"
has "test: the generation asked" "(connector table generation 0)" "$OUT"
ctl test connector --ip 2001:db8:51::25 --tls 1.3
has "test: an IPv6 partner address with TLS 1.3 is accepted" \
	'  before MAIL: connector "partner-net" (client address): accept' "$OUT"

spki=$(awk '$1 == "partner/client.crt" { print $4 }' "$PKI/fingerprints.txt")
ctl test connector --ip 198.51.100.7 --tls 1.2 --cert "$PKI/partner/client.crt" --sender a@partner.example --recipient b@example.com
has "test --cert: the file's identities (dNSName SANs) and SPKI, verified against tls.ca_file" \
	"certificate $PKI/partner/client.crt: names mail.partner.example (dNSName SANs), SPKI SHA-256 $spki; chain verified against $PKI/ca/ca.crt" "$OUT"
has "test --cert: the query" \
	"query: client 198.51.100.7, TLS 1.2, certificate $PKI/partner/client.crt (verified), sender a@partner.example, recipient b@example.com" "$OUT"
has "test --cert: selected by the certificate before the address" \
	'inbound: connector "partner-cert", matched by certificate name mail.partner.example' "$OUT"
has "test --cert: the partner's mail accepted" \
	'  MAIL FROM:<a@partner.example>: connector "partner-cert" (certificate name): accept' "$OUT"
has "test --cert: a recipient of no connector: the route, opportunistic" \
	"outbound: no connector: the route and its TLS level (default opportunistic)" "$OUT"
ctl test connector --ip 203.0.113.99 --cert-name mail.partner.example
has "test --cert-name: TLS 1.2 assumed, selected by the name" \
	'  before MAIL: connector "partner-cert" (certificate name): accept' "$OUT"

ctl test connector --ip 203.0.113.99 --tls 1.3 --sender ceo@bank.example
has "test: a sender domain claimed from outside its connector's ranges: 550 5.7.1 naming the connector" \
	'  MAIL FROM:<ceo@bank.example>: connector "bank" (sender domain): refuse domain_address: 550 5.7.1 Connector "bank": sender domain bank.example is not accepted from 203.0.113.99' "$OUT"
ctl test connector --ip 192.0.2.5 --tls 1.3 --sender ceo@sub.bank.example
has "test: ... and accepted from inside them (wildcard domain)" \
	'  MAIL FROM:<ceo@sub.bank.example>: connector "bank" (client address): accept' "$OUT"
ctl test connector --ip 203.0.113.99 --sender x@legacy.example
has "test: report_only: would refuse, accepted" \
	'  MAIL FROM:<x@legacy.example>: connector "legacy" (sender domain): would refuse (report_only, accepted) tls_required: 530 5.7.0 Must issue a STARTTLS command first' "$OUT"
ctl test connector --ip 203.0.113.99 --sender x@other.test --recipient bob@sub.partner.example
has "test: an unknown sender gets the default policy" '  MAIL FROM:<x@other.test>: no connector (default policy): accept' "$OUT"
has "test: the outbound connector of a recipient (wildcard)" \
	'outbound: connector "partner-out" (enforce), matched by recipient domain sub.partner.example (wildcard)' "$OUT"
has "test: ... its smart host" "  next hop: smart hosts 10.20.0.10:2525 (priority 10)" "$OUT"
has "test: ... its TLS setting" \
	"  TLS: domain_validation: STARTTLS required, chain and dates verified, name mx.partner.example" "$OUT"
has "test: ... the reply when the next hop's certificate has another name" \
	'  certificate of another name: connector "partner-out" (recipient domain): refuse out_name: 451 4.7.5 Connector "partner-out": server certificate name does not match mx.partner.example (host NEXT-HOP)' "$OUT"

ctl test connector --ip 198.51.100.7 --cert "$PKI/partner/client-other-ca.crt"
has "test --cert: a certificate from another CA is not verified" \
	"certificate $PKI/partner/client-other-ca.crt: names mail.partner.example (dNSName SANs), SPKI SHA-256 $(awk '$1 == "partner/client-other-ca.crt" { print $4 }' "$PKI/fingerprints.txt"); not verified: unable to get local issuer certificate (not issued by tls.ca_file)" "$OUT"
has "test --cert: ... so its name selects nothing: the address connector applies" \
	'inbound: connector "partner-net", matched by client address in 198.51.100.0/24' "$OUT"
ctl test connector --ip 203.0.113.99 --cert "$PKI/bad/expired.crt"
assert_match "test --cert: an expired certificate is not verified" "; not verified: certificate has expired" "$OUT"

ctl --json test connector --ip 198.51.100.7
assert_match "test connector --json: the report as a string" "^0 partner-net$" \
	"$RC $(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["report"].split(chr(34))[1])' <<<"$OUT" 2>&1)"

# errors
ctl test connector --ip 1.2.3
assert_match "test: a bad address: an error (status 2)" '^2 error: --ip: "1\.2\.3" is not an IPv4 or IPv6 address' "$RC $OUT"
ctl test connector --ip
assert_match "test: a missing value" '^2 error: --ip: a value is missing' "$RC $OUT"
ctl test connector --sender a@b.example
assert_match "test: --ip is required" '^2 error: --ip is required' "$RC $OUT"
ctl test connector --ip 192.0.2.1 --cert-name a.example --cert /x.pem
assert_match "test: --cert-name and --cert together" '^2 error: --cert-name and --cert exclude each other' "$RC $OUT"
ctl test connector --ip 192.0.2.1 --tls 1.1
assert_match "test: --tls 1.1" '^2 error: --tls: "1\.1" is not 1\.2, 1\.3 or none' "$RC $OUT"
ctl test connector --ip 192.0.2.1 --cert "$T_TMP/none.pem"
assert_eq "test --cert: an unreadable file (status 1)" \
	"1 error: --cert: cannot open $T_TMP/none.pem: No such file or directory (the gateway reads it: give a path it can see)" "$RC $OUT"
ctl test connector --ip 192.0.2.1 --cert "$PKI/ca/ca.key"
assert_eq "test --cert: a file without a certificate" "1 error: --cert: $PKI/ca/ca.key holds no PEM certificate" "$RC $OUT"

# ---- reload: a connector added while a session runs under generation 0 ----
GO=$T_TMP/go
: >"$T_TMP/inflight.out"
ip netns exec "$EXT_NS" python3 - "$GO" >"$T_TMP/inflight.out" 2>&1 <<'PY' &
import os, socket, sys, time
s = socket.create_connection(("203.0.113.1", 25), timeout=20)
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline().decode().rstrip()
        if len(line) < 4 or line[3] != "-":
            print(line, flush=True)
            return
reply()
s.sendall(b"EHLO inflight.test\r\n"); reply()
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
s.sendall(b"MAIL FROM:<a@shipping.example>\r\n"); reply()
s.sendall(b"QUIT\r\n"); reply()
PY
INFLIGHT=$!
t_cleanup "kill $INFLIGHT"
for ((i = 0; i < 100 && $(wc -l <"$T_TMP/inflight.out") < 2; i++)); do sleep 0.1; done
SHIP='{ name = "Shipping Co"; sender_domains = [ "shipping.example" ]; require_tls = true; }'
write_conf mx.gw.test ",
    $SHIP"
ctl reload
assert_eq "reload: a connector added is published as generation 1" "0 connectors reloaded: generation 1, 5 inbound, 2 outbound" "$RC $OUT"
ctl show connectors
out=$(sq <<<"$OUT")
has "show connectors: generation 1" "connectors: generation 1, 5 inbound, 2 outbound" "$out"
has "show connectors: lists the new connector" "Shipping Co in enforce 0 0 0 sender shipping.example; requires TLS" "$out"
ctl show connector Shipping Co
has "show connector NAME: a name with a space, given as two words" 'connector "Shipping Co": inbound, enforce (line 35)' "$OUT"
ctl test connector --ip 203.0.113.10 --sender a@shipping.example
has "test connector: evaluates generation 1" \
	'  MAIL FROM:<a@shipping.example>: connector "Shipping Co" (sender domain): refuse tls_required: 530 5.7.0 Must issue a STARTTLS command first' "$OUT"
touch "$GO"
wait "$INFLIGHT"
assert_eq "a session started before the reload finishes under generation 0 (no shipping connector)" \
	"250 2.1.0 Ok" "$(sed -n 3p "$T_TMP/inflight.out")"
swaks_ns "$EXT_NS" --server 203.0.113.1 --from a@shipping.example --to user@example.com
assert_match "a new session gets generation 1: 530 5.7.0 at MAIL" "<\*\* +530 5\.7\.0 Must issue a STARTTLS command first" "$(cat "$SWAKS_OUT")"
for ((i = 0; i < 30; i++)); do grep -q "generation 0 freed" "$GW_LOG" && break; sleep 0.1; done
assert_match "generation 0 is freed once its last session ended" "connectors: generation 0 freed \(no session holds it\)" "$(cat "$GW_LOG")"

# ---- reload: a broken file is refused, the running table stays ----
write_conf mx.gw.test ",
    $SHIP,
    { name = \"dup\"; sender_domains = [ \"bank.example\" ]; }"
line=$(grep -n '"dup"' "$CONF" | cut -d: -f1)
ctl reload
assert_eq "reload of a broken file: refused with FILE:LINE and the reason (status 1)" \
	"1 reload refused, the running connectors stay: $CONF:$line: connector \"dup\": sender_domains.[0]: \"bank.example\" is already claimed by connector \"bank\" (line 28)" "$RC $OUT"
ctl show connectors
has "show connectors: still generation 1" "connectors: generation 1, 5 inbound, 2 outbound" "$(sq <<<"$OUT")"
assert_eq "show connectors: the same 7 connectors, no \"dup\"" "partner-net,bank,partner-cert,legacy,Shipping Co,partner-out,bank-out" \
	"$(sed -n '3,$p' <<<"$OUT" | cut -c1-20 | sed 's/ *$//' | paste -sd ,)"
ctl --json reload
assert_eq "reload --json of the broken file" "False 1 True" \
	"$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["reloaded"], d["generation"], "already claimed" in d["error"])' <<<"$OUT" 2>&1)"
echo 'oops = ;' >>"$CONF"
ctl reload
assert_match "reload of a file with a syntax error: refused with FILE:LINE" \
	"^1 reload refused, the running connectors stay: $CONF:[0-9]+: syntax error" "$RC $OUT"

# ---- reload: a change outside connectors takes effect at a restart only ----
write_conf mx2.gw.test ",
    $SHIP"
ctl reload
assert_eq "reload with another smtp.hostname: connectors published, the rest noted" \
	"0 connectors reloaded: generation 2, 5 inbound, 2 outbound
note: changes outside \`connectors\` need a restart (show config shows the running configuration)" "$RC $OUT"
assert_match "show config: the running hostname stays" 'hostname = "mx\.gw\.test"' "$(gwctl show config)"
ctl reload extra
assert_match "reload with an argument: an error" '^2 error: unexpected "extra"' "$RC $OUT"
kill -HUP "$GW_PID"
for ((i = 0; i < 30; i++)); do grep -q "SIGHUP: reloading certificates" "$GW_LOG" && break; sleep 0.1; done
ctl show connectors
has "SIGHUP reloads certificates only: the connectors stay generation 2" "connectors: generation 2, 5 inbound, 2 outbound" "$(sq <<<"$OUT")"
assert_match "SIGHUP: certificates reloaded" "certificates reloaded: generation 1" "$(cat "$GW_LOG")"

# ---- the gateway keeps relaying; report_only counted ----
before=$(cat "$REC" 2>/dev/null | wc -l)
swaks_ns "$EXT_NS" --server 203.0.113.1 --from x@other.test --to user@example.com
assert_match "a plaintext message to an accepted domain: 250 after the next hop's" "<-  250 2\.0\.0 " "$(cat "$SWAKS_OUT")"
swaks_ns "$EXT_NS" --server 203.0.113.1 --from x@legacy.example --to user@example.com
assert_match "report_only: the plaintext message is accepted" "<-  250 2\.0\.0 " "$(cat "$SWAKS_OUT")"
for ((i = 0; i < 30 && $(cat "$REC" 2>/dev/null | wc -l) < before + 2; i++)); do sleep 0.1; done
assert_eq "... both relayed to the next hop" $((before + 2)) "$(cat "$REC" 2>/dev/null | wc -l)"
ctl show connectors
has "show connectors: legacy accepted 1, would-refuse 1" "legacy in report_only 1 0 1 sender legacy.example; requires TLS" "$(sq <<<"$OUT")"
ctl show connector legacy
has "show connector legacy: would refuse by reason" "  would refuse (report_only): tls_required 1" "$OUT"
has "show connector legacy: sessions by TLS version" "  sessions by TLS version: plaintext 1" "$OUT"
out=$(printf 'EHLO partner.test\nMAIL FROM:<a@partner.example>\nRCPT TO:<user@example.com>\nDATA\nSubject: c\n\nbody\n.\nQUIT\n' |
	(sleep 1; cat; sleep 2) | ip netns exec "$EXT_NS" timeout 20 openssl s_client -starttls smtp -connect 203.0.113.1:25 \
	-tls1_3 -cert "$PKI/partner/client.crt" -key "$PKI/partner/client.key" -crlf -ign_eof 2>&1)
assert_match "the partner's certificate over TLS 1.3: its message accepted" "250 2\.0\.0 .*221 2\.0\.0" "$(tr '\n' ' ' <<<"$out")"
ctl show connector partner-cert
has "show connector partner-cert: the message accepted under it" "  accepted: 1" "$OUT"
has "show connector partner-cert: its session by TLS version" "  sessions by TLS version: 1.3 1" "$OUT"
assert_match "show connector partner-cert: its cipher" "^  TLS sessions by cipher: TLS13-[A-Z0-9-]+ 1$" "$(grep cipher <<<"$OUT")"
na=$(date -u -d "$(openssl x509 -in "$PKI/partner/client.crt" -noout -enddate | sed 's/notAfter=//')" +%Y-%m-%d)
assert_match "show connector partner-cert: the partner certificate's expiry" "^  partner certificate: expires $na" \
	"$(grep "partner certificate" <<<"$OUT")"
assert_match "help lists the connector commands" "test connector --ip A .*reload +publish" "$(gwctl help | tr '\n' ' ')"
