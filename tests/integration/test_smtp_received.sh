#!/usr/bin/env bash
# test_smtp_received.sh — the Received: field at its worst case (issue 12,
# item 7): a 255-character EHLO, a 254-character recipient, over STARTTLS
# (TLS version and cipher in the field), with a 255-character smtp.hostname.
# Before the fix the field overflowed its 768-byte buffer and the message
# went out with no Received: at all (loop detection and trace lost). swaks
# sends it through the gateway to the next hop (tests/lib/nexthop.py, which
# records the fields and saves the raw message); the message must carry
# exactly one Received: of ours naming the gateway, the client's whole HELO,
# the TLS details and the recipient, folded (every continuation line starts
# with a TAB, no line above 998 characters), with the body unchanged.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

PKI=$T_TMP/pki
REC=$T_TMP/rec.jsonl
SAVE=$T_TMP/saved
mkdir -p "$SAVE"
touch "$REC"
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

# name LEN SUFFIX: a domain name of exactly LEN characters, labels of at most 63.
name() {
	python3 -c '
import sys
n, suf = int(sys.argv[1]), sys.argv[2]
out = ""
while len(out) + len(suf) < n:
    out += "." if len(out) % 64 == 63 and len(out) + len(suf) + 1 < n else "abcdefghijklmnopqrstuvwxyz"[len(out) % 26]
print(out + suf)' "$1" "$2"
}
HOST=$(name 255 .gw.test)
HELO=$(name 255 .partner.test)
RCPT_DOMAIN=$(name 189 .example.com)
RCPT=$(printf 'r%.0s' $(seq 64))@$RCPT_DOMAIN
assert_eq "smtp.hostname is 255 characters" 255 "${#HOST}"
assert_eq "the EHLO name is 255 characters" 255 "${#HELO}"
assert_eq "the recipient is 254 characters (RFC 5321's longest path)" 254 "${#RCPT}"

topo_two_ports
GW_EXTRA_GROUPS="smtp = { hostname = \"$HOST\"; accepted_domains = [ \"example.com\", \"*.example.com\" ]; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; } ); };
routes = ( { domains = [ \"example.com\", \"*.example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; } );"
gw_config >"$T_TMP/gw.conf"
t_check "next hop starts" nexthop_start "$INT_NS" "$INT_HOST_IP" 25 --record "$REC" --save-dir "$SAVE"
t_check "gateway starts with a 255-character smtp.hostname" gw_start "$T_TMP/gw.conf"

printf 'From: a@partner.test\nTo: r@example.com\nSubject: worst-case Received\n\nbody line\n' >"$T_TMP/msg"
swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --tls --ehlo "$HELO" --from a@partner.test --to "$RCPT" \
	--data "$T_TMP/msg"
t_check "swaks over STARTTLS with a 255-character EHLO and a 254-character recipient: accepted" \
	test $? -eq 0
grep -q '^<~  250 2\.0\.0 Ok: queued' "$SWAKS_OUT" && t_ok "the end of data got the next hop's 250 over TLS" ||
	t_fail "the end of data got the next hop's 250 over TLS ($(grep '^<' "$SWAKS_OUT" | tail -3 | tr '\n' ' '))"
assert_eq "the next hop recorded one message" 1 "$(wc -l <"$REC" | tr -d ' ')"

rget() { python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(eval(sys.argv[2]))' "$REC" "$1"; }
assert_eq "the message has exactly one Received: field (was none: the field overflowed)" 1 \
	"$(rget 'len(r["received"])')"
recv=$(rget 'r["received"][0] if r["received"] else ""')
# unfolded: a folding CRLF is gone and the TAB after it stays (RFC 5322 §2.2.3)
recv_sp=$(tr '\t' ' ' <<<"$recv" | tr -s ' ')
assert_match "Received: names the client's whole HELO and address" \
	"^Received: from ${HELO//./\\.} \(\[203\.0\.113\.10\]\)" "$recv_sp"
assert_match "Received: names the TLS version and cipher" \
	' \(using TLSv1\.[23] with cipher [A-Z0-9-]+ \([0-9]+/[0-9]+ bits\)\) ' "$recv_sp"
assert_match "Received: names the gateway: by <smtp.hostname> (mailgw) with ESMTPS" \
	" by ${HOST//./\\.} \(mailgw\) with ESMTPS id [0-9A-F]+\.[0-9]+ " "$recv_sp"
assert_match "Received: keeps the for clause with the whole recipient" " for <${RCPT//./\\.}>; " "$recv_sp"
assert_match "Received: ends with the date" '; [A-Z][a-z][a-z], [0-9]+ [A-Z][a-z][a-z] 20[0-9][0-9] [0-9:]{8} \+0000$' "$recv_sp"
want_sha=$( (sed 's/$/\r/' "$T_TMP/msg"; printf '\r\n') | sha256sum | cut -d' ' -f1)
assert_eq "the message minus Received: arrived byte for byte" "$want_sha" "$(rget 'r["body_sha256"]')"

# The raw field as it crossed the wire: folded lines, each within the limits.
file=$(rget 'r["file"]')
python3 - "$file" >"$T_TMP/shape" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
field = [head[0]]
for line in head[1:]:
    if line[:1] in (b" ", b"\t"):
        field.append(line)
    else:
        break
print("first", head[0][:9].decode())
print("lines", len(field))
print("longest", max(len(l) for l in field))
print("tabs", sum(1 for l in field[1:] if l.startswith(b"\t") and l.strip()))
print("over78", sum(1 for l in field if len(l) > 78))
print("bare", int(b"\n" in data.replace(b"\r\n", b"") or b"\r" in data.replace(b"\r\n", b"")))
PY
shape() { awk -v k="$1" '$1 == k { print $2 }' "$T_TMP/shape"; }
assert_eq "the saved message starts with our Received: field" "Received:" "$(shape first)"
assert_ge "the field is folded over several lines" "$(shape lines)" 6
assert_eq "every continuation line starts with a TAB and holds more than white space" \
	"$(($(shape lines) - 1))" "$(shape tabs)"
longest=$(shape longest)
if [[ $longest =~ ^[0-9]+$ ]] && ((longest <= 998)); then
	t_ok "no line of the field is longer than 998 characters (longest $longest: a 255-character word)"
else
	t_fail "no line of the field is longer than 998 characters (longest: $longest)"
fi
assert_eq "only lines holding a single long word pass 78 characters (HELO, hostname, recipient)" 3 "$(shape over78)"
assert_eq "no bare CR or LF in what the next hop got" 0 "$(shape bare)"

gw_stop
assert_eq "gateway stops with status 0" 0 "$GW_EXIT"
