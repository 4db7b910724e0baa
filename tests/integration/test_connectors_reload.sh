#!/usr/bin/env bash
# test_connectors_reload.sh — `mailgwctl reload` of the connector table under
# a running load (issue 6): two smtpgen clients (plaintext and STARTTLS,
# sender domain alpha.example) send continuously through the gateway to an
# smtpgen sink while the table is reloaded. A broken file (a bad CIDR, then
# a syntax error) is refused with FILE:LINE and changes nothing: the same
# table, the same decisions. Generation 1 adds a connector requiring TLS for
# beta.example and one restricting delta.example to an address: new sessions
# get 530 5.7.0 / 550 5.7.1 naming them, STARTTLS is accepted. Generation 2
# turns beta report_only and adds a report_only connector for alpha.example:
# the load's new sessions are counted under it (would-refuse for plaintext)
# and keep going. Two long sessions opened before a reload decide under the
# generation they started with (the one of generation 0 accepts beta in
# plaintext after both reloads, the one of generation 1 refuses it after
# generation 2 would accept it), and so do 8 slow smtpgen sessions opened
# under generation 0 whose MAIL for beta comes after the reload; a retired
# generation is freed only once its last session ended. At the end: no
# message of the load failed and every reply it saw was a success, the sink
# verified exactly the messages the clients counted ok, the gateway counted
# exactly the refusals caused here, and it exits cleanly.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

SG=$T_BUILD/smtpgen
PKI=$T_TMP/pki
LOAD_S=${LOAD_S:-15}        # seconds of load; the reloads happen in its first half
t_check "smtpgen is built" test -x "$SG"
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

topo_two_ports
PROBE_IP=203.0.113.20       # swaks and the long sessions; the load comes from $EXT_HOST_IP
ip -n "$EXT_NS" addr add "$PROBE_IP/24" dev "$EXT_PEER_IF"

# connectors_conf VARIANT: the connectors group of one table.
#   gen0    partner-net only (an address range the test never uses)
#   badcidr gen1's connectors plus one with a bad CIDR
#   syntax  gen1's with a value missing in beta's entry
#   gen1    + beta (require_tls, enforce), delta (domain restricted to an address)
#   gen2    beta report_only, + alpha (require_tls, report_only)
connectors_conf() {
	local beta='{ name = "beta"; sender_domains = [ "beta.example" ]; require_tls = true; }'
	local delta='{ name = "delta"; sender_domains = [ "delta.example" ]; sender_ip_addresses = [ "203.0.113.99/32" ];
      restrict_domains_to_ip_addresses = true; }'
	local extra=
	case $1 in
	gen0) ;;
	badcidr) extra=",
    $beta,
    $delta,
    { name = \"bad-net\"; sender_ip_addresses = [ \"198.18.0.0/33\" ]; }" ;;
	syntax) extra=",
    { name = \"beta\"; sender_domains = [ \"beta.example\" ]; require_tls = ; },
    $delta" ;;
	gen1) extra=",
    $beta,
    $delta" ;;
	gen2) extra=",
    { name = \"beta\"; sender_domains = [ \"beta.example\" ]; require_tls = true; mode = \"report_only\"; },
    $delta,
    { name = \"alpha\"; sender_domains = [ \"alpha.example\" ]; require_tls = true; mode = \"report_only\"; }" ;;
	esac
	cat <<CONF
connectors: {
  inbound = (
    { name = "partner-net"; sender_ip_addresses = [ "198.51.100.0/24" ]; require_tls = true; }$extra
  );
};
CONF
}
CONF=$T_TMP/gw.conf
write_conf() {   # write_conf VARIANT: the gateway's configuration into $CONF
	GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"example.com\" ];
	  limits = { sessions_per_client = 200; }; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; } );
  ca_file = \"$PKI/ca/ca.crt\"; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; } );
$(connectors_conf "$1")"
	gw_config >"$CONF"
}
write_conf gen0

# ctl ARGS...: the console's answer (stdout and stderr) in $OUT, its exit status in $RC.
ctl() { OUT=$(gwctl "$@" 2>&1); RC=$?; }
sq() { tr -s ' '; }
# has NAME LINE TEXT: TEXT holds LINE as a whole line.
has() { if grep -Fxq -- "$2" <<<"$3"; then t_ok "$1"; else t_fail "$1: no line '$2' in:"; sed 's/^/# /' <<<"$3"; fi; }
jget() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d=d.get(k, {}) if isinstance(d, dict) else {}
print(d if d != {} else 0)' "$1" "$2" 2>/dev/null; }
# probe NAME ARGS...: one swaks session from $PROBE_IP to the gateway (transcript in $SWAKS_OUT).
probe() { swaks_ns "$EXT_NS" --server "$EXT_GW_IP" --local-interface "$PROBE_IP" --to user@example.com "$@"; }
# freed N: whether the log says generation N was freed.
freed() { grep -q "connectors: generation $1 freed (no session holds it)" "$GW_LOG"; }
wait_freed() { local i; for ((i = 0; i < 50; i++)); do freed "$1" && return 0; sleep 0.1; done; return 1; }

# ---- the next hop: an smtpgen sink verifying every body ----
SINK_PIDF=$T_TMP/sink.pid
ip netns exec "$INT_NS" "$SG" sink -L "$INT_HOST_IP:25" --pid-file "$SINK_PIDF" --json-report "$T_TMP/sink.json" \
	>"$T_TMP/sink.out" 2>"$T_TMP/sink.err" &
SINK_JOB=$!
t_cleanup '[[ -s $SINK_PIDF ]] && kill -KILL "$(cat "$SINK_PIDF")"'
for ((i = 0; i < 100; i++)); do [[ -s $SINK_PIDF ]] && break; sleep 0.05; done
t_check "smtpgen sink listens on $INT_HOST_IP:25" test -s "$SINK_PIDF"
t_check "gateway starts with TLS and one connector (generation 0)" gw_start "$CONF"

# ---- long sessions: hold NAME STEP...: one SMTP session from $PROBE_IP, in the background ----
# Each STEP is sent (\r\n escapes) and its reply printed to $T_TMP/NAME.out, one
# line per reply; a STEP "@FILE" waits until $T_TMP/FILE exists instead.
declare -A HOLD=()
hold() {
	local name=$1; shift
	: >"$T_TMP/$name.out"
	ip netns exec "$EXT_NS" python3 - "$EXT_GW_IP" "$PROBE_IP" "$T_TMP" "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" <<'PY' &
import os, socket, sys, time
gw, src, tmp, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
s = socket.create_connection((gw, 25), timeout=60, source_address=(src, 0))
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline().decode(errors="replace").rstrip()
        if len(line) < 4 or line[3] != "-":
            print(line, flush=True)
            return
reply()
for st in steps:
    if st.startswith("@"):
        end = time.time() + 60
        while not os.path.exists(os.path.join(tmp, st[1:])) and time.time() < end:
            time.sleep(0.05)
        continue
    s.sendall(st.encode().decode("unicode_escape").encode("latin-1"))
    reply()
PY
	HOLD[$name]=$!
	t_cleanup "kill ${HOLD[$name]}"
}
# lines NAME N: wait (up to 15 s) until long session NAME printed N replies.
lines() { local i; for ((i = 0; i < 150; i++)); do (($(wc -l <"$T_TMP/$1.out") >= $2)) && return 0; sleep 0.1; done; return 1; }
MSG='Subject: long session\r\n\r\nheld across a reload\r\n.\r\n'

# ---- load A: plaintext and STARTTLS clients, alpha.example, one message per session ----
t0=$SECONDS
ip netns exec "$EXT_NS" timeout $((LOAD_S + 60)) "$SG" client -S "$EXT_GW_IP:25" -s 10 -m 0 --duration "$LOAD_S" \
	-l 2k --from load@alpha.example --to "user%d@example.com" --json >"$T_TMP/plain.json" 2>"$T_TMP/plain.err" &
LOADP=$!
ip netns exec "$EXT_NS" timeout $((LOAD_S + 60)) "$SG" client -S "$EXT_GW_IP:25" -s 6 -m 0 --duration "$LOAD_S" \
	--size-mix 2k:70,32k:30 --starttls --resume 50 --ca "$PKI/ca/ca.crt" --servername mx.gw.test \
	--from tls@alpha.example --to "user%d@example.com" --json >"$T_TMP/tls.json" 2>"$T_TMP/tls.err" &
LOADT=$!
t_cleanup "kill $LOADP $LOADT"
relayed() { gw_stat smtp.messages_relayed; }
for ((i = 0; i < 100 && $(relayed) < 20; i++)); do sleep 0.1; done
assert_ge "the load is flowing under generation 0" "$(relayed)" 20

# L0 opens under generation 0 and stays across both reloads.
hold L0 'EHLO long0.test\r\n' @go0 'MAIL FROM:<held@beta.example>\r\n' 'RCPT TO:<user@example.com>\r\n' 'DATA\r\n' \
	"$MSG" @go0b 'MAIL FROM:<again@beta.example>\r\n' 'RCPT TO:<user@example.com>\r\n' 'DATA\r\n' "$MSG" 'QUIT\r\n'
t_check "long session L0: greeting and EHLO under generation 0" lines L0 2

probe --from first@beta.example
assert_match "generation 0: beta.example in plaintext is accepted (no connector)" "<-  250 2\.0\.0 " "$(cat "$SWAKS_OUT")"

# ---- (a) broken files while the load runs: refused with FILE:LINE, nothing changes ----
ctl show connectors; before=$OUT
write_conf badcidr
line=$(grep -n '"bad-net"' "$CONF" | cut -d: -f1)
ctl reload
assert_eq "reload of a file with a bad CIDR: refused with FILE:LINE naming the connector (status 1)" \
	"1 reload refused, the running connectors stay: $CONF:$line: connector \"bad-net\": sender_ip_addresses.[0]: \"198.18.0.0/33\": prefix length 33 is out of range (1..32)" "$RC $OUT"
ctl show connectors
assert_eq "... show connectors unchanged: generation 0, partner-net only" "$before" "$OUT"
write_conf syntax
line=$(grep -n 'require_tls = ;' "$CONF" | cut -d: -f1)
ctl reload
assert_match "reload of a file with a syntax error: refused with FILE:LINE (status 1)" \
	"^1 reload refused, the running connectors stay: $CONF:$line: syntax error" "$RC $OUT"
ctl --json reload
assert_eq "reload --json of the broken file: not reloaded, generation 0" "False 0" \
	"$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["reloaded"], d["generation"])' <<<"$OUT" 2>&1)"
ctl show connectors
assert_eq "... show connectors still unchanged" "$before" "$OUT"
probe --from second@beta.example
assert_match "after the refused reloads beta.example in plaintext is still accepted (the broken files' beta connector is not in force)" \
	"<-  250 2\.0\.0 " "$(cat "$SWAKS_OUT")"
assert_eq "the refused reloads are logged" 3 "$(grep -c 'reload refused, the running connectors stay' "$GW_LOG")"

# ---- (b) generation 1: beta requires TLS, delta restricted to an address ----
# Slow sessions in flight across the reload: 8 sessions (one message each) for
# beta.example in plaintext, thinking 1.5 to 4.5 s before each command group:
# all open under generation 0, their MAIL comes 3 s or more after connecting.
# The reload waits until each is either past EHLO or 1 s old without one
# (the load's sessions last milliseconds).
ip netns exec "$EXT_NS" timeout 60 "$SG" client -S "$EXT_GW_IP:25" -s 8 -m 8 --think 3000 --helo slow.test \
	--from slow@beta.example --to "user%d@example.com" --json >"$T_TMP/slow.json" 2>"$T_TMP/slow.err" &
SLOW=$!
t_cleanup "kill $SLOW"
slow_open() { gwctl --json show sessions | python3 -c 'import json,sys
print(sum(1 for s in json.load(sys.stdin)["sessions"] if s["helo"] == "slow.test" or (s["helo"] == "" and s["age_s"] >= 1)))'; }
for ((i = 0; i < 50 && $(slow_open) < 8; i++)); do sleep 0.1; done
read -r slow_ehlo slow_mail <<<"$(gwctl --json show sessions | python3 -c 'import json,sys
v=[s for s in json.load(sys.stdin)["sessions"] if s["helo"] == "slow.test" or (s["helo"] == "" and s["age_s"] >= 1)]
print(len(v), sum(1 for s in v if s["transactions"] or s["state"] != "command"))')"
assert_eq "8 slow sessions open under generation 0, none past EHLO yet" "8 0" "$slow_ehlo $slow_mail"
r0=$(relayed)
write_conf gen1
ctl reload
assert_eq "reload: generation 1 published" "0 connectors reloaded: generation 1, 3 inbound, 0 outbound" "$RC $OUT"
ctl show connectors
out=$(sq <<<"$OUT")
has "show connectors: generation 1" "connectors: generation 1, 3 inbound, 0 outbound" "$out"
has "show connectors: the beta connector" "beta in enforce 0 0 0 sender beta.example; requires TLS" "$out"
probe --from new@beta.example
assert_match "generation 1: a new session for beta.example in plaintext gets 530 5.7.0 at MAIL" \
	"<\*\* +530 5\.7\.0 Must issue a STARTTLS command first" "$(cat "$SWAKS_OUT")"
probe --from tls@beta.example -tls
assert_match "generation 1: beta.example over STARTTLS is accepted" "<~  250 2\.0\.0 " "$(cat "$SWAKS_OUT")"
probe --from x@delta.example
assert_match "generation 1: delta.example from outside its address gets 550 5.7.1 naming the connector" \
	"<\*\* +550 5\.7\.1 Connector \"delta\": sender domain delta\.example is not accepted from $PROBE_IP" "$(cat "$SWAKS_OUT")"
touch "$T_TMP/go0"
t_check "long session L0 went on after the reload" lines L0 6
assert_eq "L0 (opened under generation 0): MAIL from beta.example in plaintext still accepted, the message relayed" \
	"250 2.1.0 Ok|250 2.1.5 Ok|354|250 2.0.0" \
	"$(sed -n '3,6p' "$T_TMP/L0.out" | sed -E 's/^(354|250 2\.0\.0).*/\1/' | paste -sd '|')"
hold L1 'EHLO long1.test\r\n' @go1 'MAIL FROM:<held@beta.example>\r\n' 'QUIT\r\n'
t_check "long session L1: EHLO under generation 1" lines L1 2
ctl show connector beta
has "show connector beta: the refusal counted under generation 1" "  refused: tls_required 1" "$OUT"
has "show connector beta: the STARTTLS session accepted" "  accepted: 1" "$OUT"
((i = 0)); while (($(relayed) <= r0 + 20 && i++ < 50)); do sleep 0.1; done
assert_ge "the load keeps flowing under generation 1 (messages relayed since the reload)" $(($(relayed) - r0)) 20
assert_eq "generation 0 is not freed while L0 and the slow sessions hold it" no "$(freed 0 && echo yes || echo no)"

# ---- (c) generation 2: beta report_only, alpha (the load's domain) report_only requiring TLS ----
r1=$(relayed)
write_conf gen2
ctl reload
assert_eq "reload: generation 2 published" "0 connectors reloaded: generation 2, 4 inbound, 0 outbound" "$RC $OUT"
probe --from late@beta.example
assert_match "generation 2: beta.example in plaintext accepted again (report_only)" "<-  250 2\.0\.0 " "$(cat "$SWAKS_OUT")"
touch "$T_TMP/go1"
t_check "long session L1 went on after the reload" lines L1 4
assert_eq "L1 (opened under generation 1): MAIL from beta.example in plaintext still refused, 530 5.7.0" \
	"530 5.7.0 Must issue a STARTTLS command first" "$(sed -n 3p "$T_TMP/L1.out")"
wait "${HOLD[L1]}"
t_check "generation 1 is freed once L1, its last session, ended" wait_freed 1
assert_eq "generation 0 is still not freed (L0 and the slow sessions hold it)" no "$(freed 0 && echo yes || echo no)"
((i = 0)); while (($(relayed) <= r1 + 20 && i++ < 50)); do sleep 0.1; done
assert_ge "the load keeps flowing under generation 2" $(($(relayed) - r1)) 20
ctl show connector alpha
acc=$(sed -n 's/^  accepted: \([0-9]*\)$/\1/p' <<<"$OUT")
wr=$(sed -n 's/^  would refuse (report_only): tls_required \([0-9]*\)$/\1/p' <<<"$OUT")
assert_ge "generation 2 decides the load's new sessions: connector alpha accepted them" "${acc:-0}" 1
assert_ge "... and would refuse its plaintext ones (report_only)" "${wr:-0}" 1
alive=0; kill -0 "$LOADP" 2>/dev/null && kill -0 "$LOADT" 2>/dev/null && alive=1
assert_eq "the load was still running through every reload ($((SECONDS - t0)) s of $LOAD_S)" 1 "$alive"
wait "$SLOW"; slowrc=$?
[[ $slowrc == 0 ]] || t_note "slow: $(head -c 800 "$T_TMP/slow.json") $(tail -3 "$T_TMP/slow.err")"
assert_eq "the 8 slow sessions opened under generation 0 sent beta.example in plaintext after the reloads: all accepted" \
	"0 8 0 8" "$slowrc $(jget "$T_TMP/slow.json" messages.ok) $(jget "$T_TMP/slow.json" messages.failed) $(jget "$T_TMP/slow.json" connections)"
sleep 0.5
assert_eq "generation 0 is not freed while L0 alone holds it" no "$(freed 0 && echo yes || echo no)"
touch "$T_TMP/go0b"
wait "${HOLD[L0]}"
assert_eq "L0, after generation 2: beta.example again accepted under generation 0, the message relayed, QUIT" \
	"250 2.1.0 Ok|250 2.1.5 Ok|354|250 2.0.0|221" \
	"$(sed -n '7,11p' "$T_TMP/L0.out" | sed -E 's/^(354|250 2\.0\.0|221).*/\1/' | paste -sd '|')"
t_check "generation 0 is freed once L0 ended" wait_freed 0

# ---- after the load ----
wait "$LOADP"; prc=$?
wait "$LOADT"; trc=$?
t_note "load: $((SECONDS - t0)) s"
for n in plain tls; do
	rc=$prc; [[ $n == tls ]] && rc=$trc
	[[ $rc == 0 ]] || t_note "$n: $(head -c 800 "$T_TMP/$n.json") $(tail -3 "$T_TMP/$n.err")"
	assert_eq "smtpgen $n client: exit status 0 (no message failed)" 0 "$rc"
	assert_eq "smtpgen $n client: 0 failed messages" 0 "$(jget "$T_TMP/$n.json" messages.failed)"
	ok=$(jget "$T_TMP/$n.json" messages.ok)
	assert_ge "smtpgen $n client: messages ok" "$ok" 50
	# every message in a session of its own, every final reply 250, MAIL and end of data 250 each
	# time, no other reply than 220/250/354/221, no failure stage, no error
	assert_eq "smtpgen $n client: one session per message, every reply a success, no error" \
		"attempted=$ok connections=$ok final=250:$ok mail=250:$ok eod=250:$ok other= failed_at={} errors={}" \
		"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["replies_by_stage"]
c=lambda x: ",".join(f"{k}:{v}" for k, v in sorted(x.items()))
ok={"greeting": "220", "ehlo": "250", "starttls": "220", "mail": "250", "rcpt": "250", "data": "354", "eod": "250", "quit": "221"}
bad=" ".join(f"{s}:{k}" for s in r for k in r[s] if ok.get(s) != k)
m=d["messages"]
print("attempted=%s connections=%s final=%s mail=%s eod=%s other=%s failed_at=%s errors=%s" % (m["attempted"],
      d["connections"], c(d["replies"]), c(r["mail"]), c(r["eod"]), bad, d["failed_at"], d["errors"]))' "$T_TMP/$n.json" 2>&1)"
done
okp=$(jget "$T_TMP/plain.json" messages.ok); okt=$(jget "$T_TMP/tls.json" messages.ok)
t_note "load: $okp plaintext + $okt STARTTLS messages"
kill -TERM "$(cat "$SINK_PIDF")"; wait "$SINK_JOB"; src=$?; rm -f "$SINK_PIDF"
assert_eq "sink: exit status 0 (no body mismatch)" 0 "$src"
# the probes' accepted messages (swaks x4, L0 x2) reach the sink too, without a hash
assert_eq "sink: it verified exactly the messages the clients counted ok" $((okp + okt + 8)) \
	"$(jget "$T_TMP/sink.json" messages.verified)"
assert_eq "sink: no mismatch" 0 "$(jget "$T_TMP/sink.json" messages.mismatched)"
assert_eq "sink: the probes' 6 accepted messages arrived too (no hash)" 6 "$(jget "$T_TMP/sink.json" messages.missing_hash)"
ctl show connector alpha
wr=$(sed -n 's/^  would refuse (report_only): tls_required \([0-9]*\)$/\1/p' <<<"$OUT")
assert_eq "gateway: smtp.connector_refused = the 3 refusals caused here (none of the slow sessions)" 3 "$(gw_stat smtp.connector_refused)"
assert_eq "gateway: smtp.connector_would_refuse = alpha's + beta's 1 (generation 2; not the slow sessions)" $((wr + 1)) \
	"$(gw_stat smtp.connector_would_refuse)"
assert_eq "gateway: smtp.messages_relayed = the clients' (the slow ones' 8 too) + the probes' 6" \
	$((okp + okt + 8 + 6)) "$(relayed)"
ctl show connectors
has "show connectors: generation 2 stays" "connectors: generation 2, 4 inbound, 0 outbound" "$(sq <<<"$OUT")"
log=$(cat "$GW_LOG")
for g in 1 2; do
	assert_match "log: generation $g published" "connectors reloaded from $CONF: generation $g, " "$log"
done
assert_eq "log: no generation freed twice, none but 0 and 1 freed" "0 1" \
	"$(sed -n 's/.*connectors: generation \([0-9]*\) freed.*/\1/p' "$GW_LOG" | sort | paste -sd ' ')"
# a worker's full log ring drops lines by design (counted); the lines checked here come from the control thread
d=$(gw_stat log.dropped); [[ ${d:-0} == 0 ]] || t_note "log.dropped: $d worker log lines dropped under the load"
t_check "mailgw is still running" kill -0 "$GW_PID"
gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"
t_note "run time: $SECONDS s"
