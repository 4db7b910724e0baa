#!/usr/bin/env bash
# test_rcpt_tls.sh — no TLS downgrade across recipients (issue 12, item 4).
# Two routes lead to one next hop (a real Postfix with STARTTLS, "may",
# writing TLS details into its Received: field): plain.example at tls_level
# "none", tls.example at "encrypt". A transaction carries the strictest
# requirement of its recipients, decided by its first:
#   - RCPT <a@plain.example> then RCPT <b@tls.example>: b gets 452 4.5.3
#     (smtp.rcpt_other_tls_policy) and never travels in a's plaintext
#     transaction; sent again on its own, it arrives over TLS;
#   - RCPT <b@tls.example> then RCPT <a@plain.example>: a rides along b's
#     TLS transaction (stricter TLS satisfies "none"); one transaction.
# What arrived how is read at the next hop: each delivered file's
# Delivered-To and whether Postfix's Received: says "using TLS".
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"
source "$T_ROOT/tests/lib/postfix_tls.sh"

PKI=$T_TMP/pki
t_check "test PKI generated" "$T_ROOT/tools/mkcerts" -q -o "$PKI"
topo_two_ports
chmod 711 "$T_TMP"

NH=$T_TMP/nexthop
t_check "next-hop Postfix set up" pf_setup "$NH" "$INT_HOST_IP"
t_check "next hop: STARTTLS offered (may), TLS in Received:" \
	pf_tls_smtpd "$NH" may "$PKI/nexthop/server.key" "$PKI/nexthop/server.crt"
t_cleanup "pf_stop '$NH'"
t_check "next-hop Postfix starts in $INT_NS" pf_start "$INT_NS" "$NH"
MD=$NH/maildir

GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"plain.example\", \"tls.example\" ]; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; } ); };
routes = ( { domains = [ \"plain.example\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; tls_level = \"none\"; },
           { domains = [ \"tls.example\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; tls_level = \"encrypt\"; } );"
gw_config >"$T_TMP/gw.conf"
t_check "gateway starts" gw_start "$T_TMP/gw.conf"

# delivered TAG: "RCPT:tls|plain" for each file whose Subject is TAG, sorted
delivered() {
	python3 - "$MD" "$1" <<'PY'
import email, glob, sys
out = []
for f in glob.glob(sys.argv[1] + "/new/*") + glob.glob(sys.argv[1] + "/cur/*"):
    m = email.message_from_binary_file(open(f, "rb"))
    if m.get("Subject") != sys.argv[2]:
        continue
    top = " ".join(m.get_all("Received")[0].split())     # the next hop's own, about our leg
    out.append("%s:%s" % (m.get("Delivered-To"), "tls" if "(using TLS" in top else "plain"))
print(" ".join(sorted(out)))
PY
}
send() {      # send TAG RCPTS: one message from the partner side
	swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --from sender@partner.test --to "$2" \
		--header "Subject: $1" --body "message $1"
}

# ---- weaker first: the stricter recipient is deferred, then sent on its own ----
send down "a@plain.example,b@tls.example"
out=$(cat "$SWAKS_OUT")
assert_match "plain first: a@plain.example accepted" ' -> RCPT TO:<a@plain.example>.<-  250 ' "$(tr '\n' '.' <<<"$out")"
assert_match "plain first: b@tls.example deferred with 452 4.5.3" \
	' -> RCPT TO:<b@tls.example>.<\*\* 452 4\.5\.3 ' "$(tr '\n' '.' <<<"$out")"
assert_match "plain first: the message is relayed for a" '<-  250 .*queued' "$out"
t_check "next hop: one file delivered" pf_wait "$MD" 1 30
send down2 "b@tls.example"
assert_match "b@tls.example on its own: relayed" '<-  250 .*queued' "$(cat "$SWAKS_OUT")"
t_check "next hop: two files delivered" pf_wait "$MD" 2 30
assert_eq "next hop: a arrived in plaintext, b never in that transaction" "a@plain.example:plain" \
	"$(delivered down)"
assert_eq "next hop: b arrived over TLS, in its own transaction" "b@tls.example:tls" "$(delivered down2)"
assert_eq "gateway: smtp.rcpt_other_tls_policy = 1" 1 "$(gw_stat smtp.rcpt_other_tls_policy)"
assert_match "log: why b was deferred" 'to=<b@tls\.example> deferred: its route needs TLS level encrypt, the open transaction has none' \
	"$(cat "$GW_LOG")"

# ---- stricter first: the weaker recipient rides along over TLS ----
send up "b@tls.example,a@plain.example"
out=$(tr '\n' '.' <"$SWAKS_OUT")
assert_match "TLS first: both recipients accepted" \
	' -> RCPT TO:<b@tls.example>.<-  250 .* -> RCPT TO:<a@plain.example>.<-  250 ' "$out"
t_check "next hop: four files delivered" pf_wait "$MD" 4 30
assert_eq "next hop: both arrived over TLS" "a@plain.example:tls b@tls.example:tls" "$(delivered up)"
assert_eq "gateway: no other deferral (smtp.rcpt_other_tls_policy still 1)" 1 "$(gw_stat smtp.rcpt_other_tls_policy)"
assert_eq "gateway: smtp.messages_relayed = 3" 3 "$(gw_stat smtp.messages_relayed)"

gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"
