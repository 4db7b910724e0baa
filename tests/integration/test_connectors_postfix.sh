#!/usr/bin/env bash
# test_connectors_postfix.sh — the connectors of issue 6 end to end with
# real Postfix on both sides (the acceptance test; test_connectors.sh does
# the same matrix with swaks, openssl and smtpgen sinks).
#
# Inbound: one Postfix partner instance sends as several partners: one
# smtp(8) service per (source address, TLS) pair in its master.cf (-o
# smtp_bind_address, smtp_tls_security_level, smtp_tls_chain_files,
# smtp_tls_protocols), a transport_maps entry per recipient choosing it.
# Source addresses: 203.0.113.10 (no connector), .20 (address connector,
# require_tls), .30 (the same, report_only), .40 (a domain restricted to
# its addresses), .50 (the same, report_only). Client TLS: none, may,
# encrypt without a certificate, encrypt with the partner's verified
# certificate (and may with it), encrypt with a certificate from another
# CA, encrypt limited to TLS 1.2. Sender domains choose the domain
# connectors (a certificate-only domain, IP-restricted domains, TLS 1.3
# only, report_only ones). Per row: the status the partner's log gives
# (sent (250 ...), or bounced with mailgw's reply "in reply to MAIL FROM
# command"), the TLS its delivery used, whether mailgw's next hop got the
# message, and for the delivered ones mailgw's Received: (client address,
# TLS) and the connector its message log names.
#
# Outbound: every tls_settings (opportunistic, encryption_only,
# certificate_validation, domain_validation with tls_domain mx.int.example)
# against every next-hop state, one Postfix instance with a listener per
# state (master.cf -o): no STARTTLS, a valid certificate, a wrong-name, an
# expired and a self-signed one. One recipient domain per row, its
# connector's smart_hosts the listener; swaks from outside sends one
# message per row. Per row: the reply (250, 451 4.7.4, 451 4.7.5), whether
# the next hop's Maildir got it and over what (Postfix's Received: "with
# ESMTPS" / "with ESMTP"), and for verification failures the reason logged.
#
# At the end: no message answered 4xx/5xx reached a next hop; the next hop
# holds exactly the accepted ones; the refusal counters.
#
# CONNPF_KEEP=DIR keeps a copy of the test's files (Postfix logs, the
# gateway's log, Maildir, swaks transcripts).
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"
source "$T_ROOT/tests/lib/postfix_tls.sh"

T0=$SECONDS
[[ -n ${CONNPF_KEEP:-} ]] && t_cleanup "rm -rf '$CONNPF_KEEP'; cp -a '$T_TMP' '$CONNPF_KEEP'"
PKI=$T_TMP/pki
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

# ---- the inbound matrix ------------------------------------------------------
# id|source (203.0.113.N)|client TLS|sender domain|connector of the delivered
#   message ("-": the default)|the reply: "250" or a regex of mailgw's refusal
# Client TLS: none, may (no certificate), maycert (may, partner/client.crt),
# enc (encrypt, no certificate), cert (encrypt, partner/client.crt), other
# (encrypt, partner/client-other-ca.crt), enc12 (encrypt, TLS 1.2 at most).
R530='530 5\.7\.0 Must issue a STARTTLS command first'
IN_ROWS=(
	# no connector: the default (opportunistic) serves everything
	"i01|10|none|unknown.example|-|250"
	"i02|10|may|unknown.example|-|250"
	"i03|10|enc|unknown.example|-|250"
	"i04|10|other|unknown.example|-|250"
	# the partner's verified certificate selects its connector for any sender domain
	"i05|10|cert|unknown.example|partner-cert|250"
	# address connector legacy-ip (203.0.113.20, require_tls)
	"i06|20|none|legacy.example|-|$R530"
	"i07|20|may|legacy.example|legacy-ip|250"
	"i08|20|enc|legacy.example|legacy-ip|250"
	"i09|20|other|legacy.example|legacy-ip|250"
	# address connector audit-ip (203.0.113.30, require_tls, report_only)
	"i10|30|none|audit.example|audit-ip|250"
	"i11|30|enc|audit.example|audit-ip|250"
	# partner-cert: sender domain partner.example, certificate name
	# mail.partner.example, restrict_domains_to_certificate
	"i12|10|none|partner.example|-|$R530"
	"i13|10|may|partner.example|-|550 5\.7\.1 Connector \"partner-cert\": a client certificate is required"
	"i14|10|enc|partner.example|-|550 5\.7\.1 Connector \"partner-cert\": a client certificate is required"
	"i15|10|other|partner.example|-|550 5\.7\.1 Connector \"partner-cert\": the client certificate is not verified"
	"i16|10|maycert|partner.example|partner-cert|250"
	"i17|10|cert|partner.example|partner-cert|250"
	"i18|20|cert|partner.example|partner-cert|250"
	"i19|20|enc|partner.example|-|550 5\.7\.1 Connector \"partner-cert\": sender domain partner\.example is accepted only with the partner's certificate"
	# bank: bank.example only from 203.0.113.40 (restrict_domains_to_ip_addresses)
	"i20|10|none|bank.example|-|550 5\.7\.1 Connector \"bank\": sender domain bank\.example is not accepted from 203\.0\.113\.10"
	"i21|10|enc|bank.example|-|550 5\.7\.1 Connector \"bank\": sender domain bank\.example is not accepted from 203\.0\.113\.10"
	"i22|40|none|bank.example|bank|250"
	"i23|40|enc|bank.example|bank|250"
	"i24|20|enc|bank.example|-|550 5\.7\.1 Connector \"bank\": sender domain bank\.example is not accepted from 203\.0\.113\.20"
	"i25|10|cert|bank.example|-|550 5\.7\.1 Connector \"bank\": sender domain bank\.example is not accepted from 203\.0\.113\.10"
	# audit-bank: the same restriction (203.0.113.50), report_only
	"i26|10|none|audit-bank.example|audit-bank|250"
	"i27|50|none|audit-bank.example|audit-bank|250"
	# audit-cert: certificate name mail.audit.example, restrict_domains_to_certificate, report_only
	"i28|10|none|audit-cert.example|audit-cert|250"
	"i29|10|enc|audit-cert.example|audit-cert|250"
	# modern: min_tls_version 1.3
	"i30|10|none|modern.example|-|$R530"
	"i31|10|enc12|modern.example|-|530 5\.7\.0 Connector \"modern\" requires TLS 1\.3 or later \(this session uses TLS 1\.2\)"
	"i32|10|enc|modern.example|modern|250"
)
# report_only: the rows that must be logged as "would refuse", with the reply
WOULD=(
	'i10|audit-ip|530 5\.7\.0 Must issue a STARTTLS command first'
	'i26|audit-bank|550 5\.7\.1 Connector "audit-bank": sender domain audit-bank\.example is not accepted from 203\.0\.113\.10'
	'i28|audit-cert|530 5\.7\.0 Must issue a STARTTLS command first'
	'i29|audit-cert|550 5\.7\.1 Connector "audit-cert": a client certificate is required'
)

# ---- the outbound matrix -----------------------------------------------------
# next-hop states: listener 10.20.0.2N, its smtpd TLS
declare -A HOP_IP=([none]=10.20.0.21 [valid]=10.20.0.22 [wrongname]=10.20.0.23 [expired]=10.20.0.24
	[selfsigned]=10.20.0.25)
HOPS=(none valid wrongname expired selfsigned)
SETTINGS=(opportunistic encryption_only certificate_validation domain_validation)
declare -A SHORT=([opportunistic]=opp [encryption_only]=enc [certificate_validation]=chain [domain_validation]=dom)
# expect: tls (250, delivered over TLS), plain (250, delivered without),
# 474 (451 4.7.4 not offered), 475 (451 4.7.5 not verified)
declare -A OUT_EXPECT=(
	[opportunistic.none]=plain [opportunistic.valid]=tls [opportunistic.wrongname]=tls
	[opportunistic.expired]=tls [opportunistic.selfsigned]=tls
	[encryption_only.none]=474 [encryption_only.valid]=tls [encryption_only.wrongname]=tls
	[encryption_only.expired]=tls [encryption_only.selfsigned]=tls
	[certificate_validation.none]=474 [certificate_validation.valid]=tls
	[certificate_validation.wrongname]=tls [certificate_validation.expired]=475
	[certificate_validation.selfsigned]=475
	[domain_validation.none]=474 [domain_validation.valid]=tls [domain_validation.wrongname]=475
	[domain_validation.expired]=475 [domain_validation.selfsigned]=475
)

# ---- network ---------------------------------------------------------------------
topo_two_ports
chmod 711 "$T_TMP"
for a in 20 30 40 50; do ip -n "$EXT_NS" addr add "203.0.113.$a/24" dev "$EXT_PEER_IF"; done
for h in "${HOPS[@]}"; do ip -n "$INT_NS" addr add "${HOP_IP[$h]}/24" dev "$INT_PEER_IF"; done

# ---- the next hop: one Postfix, 10.20.0.10 (valid certificate) for inbound
# mail, one listener per next-hop state for the outbound rows -----------------------
NH=$T_TMP/nexthop
MD=$NH/maildir
t_check "next-hop Postfix set up" pf_setup "$NH" "$INT_HOST_IP"
t_check "next hop: STARTTLS (may) with nexthop/server.crt" \
	pf_tls_smtpd "$NH" may "$PKI/nexthop/server.key" "$PKI/nexthop/server.crt"
postconf -c "$NH/etc" -e "myhostname = mx.int.example"
chain() { echo "$1.key,$1.crt"; }
declare -A HOP_OPTS=(
	[none]="-o smtpd_tls_security_level=none"
	[valid]="-o smtpd_tls_chain_files=$(chain "$PKI/nexthop/server")"
	[wrongname]="-o smtpd_tls_chain_files=$(chain "$PKI/bad/wrongname")"
	[expired]="-o smtpd_tls_chain_files=$(chain "$PKI/bad/expired")"
	[selfsigned]="-o smtpd_tls_chain_files=$(chain "$PKI/bad/selfsigned")"
)
for h in "${HOPS[@]}"; do
	echo "${HOP_IP[$h]}:25 inet n - n - - smtpd ${HOP_OPTS[$h]}" >>"$NH/etc/master.cf"
done
t_cleanup "pf_stop '$NH'"
t_check "next-hop Postfix starts with 6 listeners" pf_start "$INT_NS" "$NH"
for h in "${HOPS[@]}"; do
	smtp_wait_port "$INT_NS" "${HOP_IP[$h]}" 25 10 220 || t_fail "next-hop listener ${HOP_IP[$h]}:25 ($h) not answering"
done
assert_eq "next hop 'none' (${HOP_IP[none]}) offers no STARTTLS" 0 \
	"$(ip netns exec "$INT_NS" swaks --quit-after EHLO --server "${HOP_IP[none]}" 2>&1 | grep -c STARTTLS)"

# ---- the partner: one Postfix on 127.0.0.1 in the external namespace -------------
PA=$T_TMP/partner
PA_LOG=$PA/maillog
t_check "partner Postfix set up" pf_setup "$PA" 127.0.0.1
t_check "partner: relays everything to [$EXT_GW_IP]:25 (smtp_tls_security_level none by default)" \
	pf_tls_sender "$PA" "[$EXT_GW_IP]:25" none "$PKI/ca/ca.crt" mx.gw.test
# one session per delivery (the TLS of each delivery is then its own log line);
# bounces (to the senders) are discarded instead of sent to mailgw
postconf -c "$PA/etc" -e "myhostname = mail.partner.example" \
	"transport_maps = texthash:$PA/etc/transport" "smtp_connection_cache_on_demand = no"
declare -A TLS_OPTS=(
	[none]="-o smtp_tls_security_level=none"
	[may]="-o smtp_tls_security_level=may"
	[maycert]="-o smtp_tls_security_level=may -o smtp_tls_chain_files=$(chain "$PKI/partner/client")"
	[enc]="-o smtp_tls_security_level=encrypt"
	[cert]="-o smtp_tls_security_level=encrypt -o smtp_tls_chain_files=$(chain "$PKI/partner/client")"
	[other]="-o smtp_tls_security_level=encrypt -o smtp_tls_chain_files=$(chain "$PKI/partner/client-other-ca")"
	[enc12]="-o smtp_tls_security_level=encrypt -o smtp_tls_protocols=<=TLSv1.2 -o smtp_tls_mandatory_protocols=<=TLSv1.2"
)
declare -A TRANSPORTS=()
: >"$PA/etc/transport"
for r in "${IN_ROWS[@]}"; do
	IFS='|' read -r id src tls _ <<<"$r"
	tr=p$tls$src
	if [[ -z ${TRANSPORTS[$tr]:-} ]]; then
		pf_tls_transport "$PA" "$tr" -o "smtp_bind_address=203.0.113.$src" ${TLS_OPTS[$tls]}
		TRANSPORTS[$tr]=1
	fi
	echo "$id@example.com $tr:[$EXT_GW_IP]:25" >>"$PA/etc/transport"
done
echo "* discard:" >>"$PA/etc/transport"
t_cleanup "pf_stop '$PA'"
t_check "partner Postfix starts with ${#TRANSPORTS[@]} smtp transports" pf_start "$EXT_NS" "$PA"

# ---- the gateway ---------------------------------------------------------------------
doms='"example.com"' outbound=
for s in "${SETTINGS[@]}"; do
	for h in "${HOPS[@]}"; do
		d=${SHORT[$s]}-$h.example
		doms+=", \"$d\""
		c="{ name = \"${SHORT[$s]}-$h\"; recipient_domains = [ \"$d\" ]; smart_hosts = [ \"${HOP_IP[$h]}\" ];
      tls_settings = \"$s\";"
		[[ $s == domain_validation ]] && c+=" tls_domain = \"mx.int.example\";"
		outbound+="${outbound:+,
    }$c }"
	done
done
doms+=', "audit-dom-expired.example"'
outbound+=",
    { name = \"audit-dom-expired\"; recipient_domains = [ \"audit-dom-expired.example\" ];
      smart_hosts = [ \"${HOP_IP[expired]}\" ]; tls_settings = \"domain_validation\"; tls_domain = \"mx.int.example\";
      mode = \"report_only\"; }"
GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ $doms ]; client = { cache_size = 0; }; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; },
                   { cert = \"$PKI/gw/rsa.crt\"; key = \"$PKI/gw/rsa.key\"; } );
  ca_file = \"$PKI/ca/ca.crt\"; client = { ca_file = \"$PKI/ca/ca.crt\"; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; } );
connectors = {
  inbound = (
    { name = \"partner-cert\"; tls_sender_certificate_name = \"mail.partner.example\";
      sender_domains = [ \"partner.example\" ]; require_tls = true; restrict_domains_to_certificate = true; },
    { name = \"legacy-ip\"; sender_ip_addresses = [ \"203.0.113.20/32\" ]; require_tls = true; },
    { name = \"audit-ip\"; sender_ip_addresses = [ \"203.0.113.30\" ]; require_tls = true; mode = \"report_only\"; },
    { name = \"bank\"; sender_domains = [ \"bank.example\" ]; sender_ip_addresses = [ \"203.0.113.40\" ];
      restrict_domains_to_ip_addresses = true; },
    { name = \"audit-bank\"; sender_domains = [ \"audit-bank.example\" ]; sender_ip_addresses = [ \"203.0.113.50\" ];
      restrict_domains_to_ip_addresses = true; mode = \"report_only\"; },
    { name = \"audit-cert\"; sender_domains = [ \"audit-cert.example\" ];
      tls_sender_certificate_name = \"mail.audit.example\"; restrict_domains_to_certificate = true;
      mode = \"report_only\"; },
    { name = \"modern\"; sender_domains = [ \"modern.example\" ]; min_tls_version = \"1.3\"; }
  );
  outbound = (
    $outbound
  );
};"
gw_config >"$T_TMP/gw.conf"
assert_match "the configuration (7 inbound, 21 outbound connectors) is valid" "configuration OK" \
	"$("$T_BUILD/mailgw" --check-config -c "$T_TMP/gw.conf" 2>&1)"
t_check "gateway starts" gw_start "$T_TMP/gw.conf"
declare -A C0=([smtp.connector_refused]=$(gw_stat smtp.connector_refused)
	[smtp.connector_would_refuse]=$(gw_stat smtp.connector_would_refuse))

# ---- inbound: every row into the partner at once (it delivers asynchronously) ------
for r in "${IN_ROWS[@]}"; do
	IFS='|' read -r id _ _ dom _ <<<"$r"
	echo "$id a-$id@$dom $id@example.com"
done >"$T_TMP/inbound.list"
ip netns exec "$EXT_NS" timeout 60 python3 - "$T_TMP/inbound.list" >"$T_TMP/inject.out" 2>&1 <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", 25, timeout=30)
for line in open(sys.argv[1]):
    rid, sender, rcpt = line.split()
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: connectors row %s\r\nMessage-ID: <%s@partner.test>\r\n"
           "\r\nrow %s\r\n" % (sender, rcpt, rid, rid, rid))
    s.sendmail(sender, [rcpt], msg)
s.quit()
PY
assert_eq "the ${#IN_ROWS[@]} inbound messages submitted to the partner Postfix" 0 "$?"

# ---- outbound: one message per row through mailgw, swaks from outside ---------------
md_file() { grep -lsx "X-Original-To: $1" "$MD"/new/* "$MD"/cur/* 2>/dev/null | head -1; }
log_since() {   # OFFSET REGEX: the gateway's log from OFFSET (waits up to 2 s for REGEX)
	local i out
	for ((i = 0; i < 20; i++)); do
		out=$(tail -c +$(($1 + 1)) "$GW_LOG" 2>/dev/null)
		[[ $out =~ $2 ]] && break
		sleep 0.1
	done
	printf '%s' "$out"
}
REFUSED=()      # recipients answered 4xx/5xx: they must never reach a next hop
ACCEPTED=()     # recipients answered 250: each must arrive once
OUT_RESULTS=() IN_RESULTS=()
# out_row SETTINGS HOP CONNECTOR EXPECT: one message to o-CONNECTOR@CONNECTOR.example
out_row() {
	local s=$1 h=$2 name=$3 exp=$4 ip=${HOP_IP[$2]} f0=$T_FAILED
	local rcpt=o-$name@$name.example off replies got want f i lre log why
	local desc="outbound $s -> $h next hop${5:+ ($5)}"
	off=$(stat -c %s "$GW_LOG" 2>/dev/null || echo 0)
	swaks_ns "$EXT_NS" --timeout 20 --server "$EXT_GW_IP" --from a@unknown.example --to "$rcpt" \
		--header "Subject: outbound $name" --body "outbound row $name"
	replies=$(grep -E '^<[-~*]{1,2} +[0-9]{3} ' "$SWAKS_OUT" | sed -E 's/^<[-~*]+ +//' | grep -vE '^(220|221|354) ')
	got=$(grep -m1 -E '^[45][0-9]{2} ' <<<"$replies" || tail -1 <<<"$replies")
	case $exp in
	tls | plain) want='^250 ' ;;
	474) want="^451 4\.7\.4 TLS is required, but was not offered by host ${ip//./\\.}:25" ;;
	475) want="^451 4\.7\.5 .*host ${ip//./\\.}:25" ;;
	esac
	assert_match "$desc: the sender gets ${want//\\/}" "$want" "$got"
	case $exp in
	tls | plain)
		ACCEPTED+=("$rcpt")
		for ((i = 0; i < 100; i++)); do f=$(md_file "$rcpt"); [[ -n $f ]] && break; sleep 0.1; done
		if [[ -z $f ]]; then
			t_fail "$desc: delivered to the next hop"
		elif [[ $exp == tls ]]; then
			assert_match "$desc: the next hop received it over TLS (with ESMTPS)" \
				'by mx\.int\.example \(Postfix\) with ESMTPS id' "$(cat "$f")"
		else
			assert_match "$desc: the next hop received it in plaintext (with ESMTP)" \
				'by mx\.int\.example \(Postfix\) with ESMTP id' "$(cat "$f")"
		fi ;;
	474 | 475)
		REFUSED+=("$rcpt")
		[[ $got =~ ^(250|354) ]] && t_fail "$desc: 250/354 for a message the policy refuses" ;;
	esac
	if [[ $exp == 475 ]]; then
		lre="next hop ${ip//./\\.}:25: server certificate not verified \(([^)]*)\)"
		log=$(log_since "$off" "$lre")
		if [[ $log =~ $lre ]]; then
			why=${BASH_REMATCH[1]}
			if [[ $h == wrongname ]]; then
				assert_match "$desc: logged reason is the name" "name does not match" "$why"
			elif [[ $why == *"name does not match"* ]]; then
				t_fail "$desc: logged reason is the name, not the chain/dates: $why"
			else
				t_ok "$desc: logged reason is the chain/dates: $why"
			fi
		else
			t_fail "$desc: log: next hop $ip:25: server certificate not verified (...)"
		fi
	fi
	if [[ -n ${5:-} ]]; then      # report_only: logged, not refused
		lre="next hop ${ip//./\\.}:25: connector \"$name\" would refuse \(report_only\)"
		assert_match "$desc: logged: connector \"$name\" would refuse (report_only)" "$lre" \
			"$(log_since "$off" "$lre")"
	fi
	OUT_RESULTS+=("$(printf '%-24s %-11s %-6s %-38s %s' "$s${5:+ ($5)}" "$h" "$exp" "${got:0:38}" \
		"$( ((T_FAILED == f0)) && echo ok || echo FAILED)")")
}
for s in "${SETTINGS[@]}"; do
	for h in "${HOPS[@]}"; do
		out_row "$s" "$h" "${SHORT[$s]}-$h" "${OUT_EXPECT[$s.$h]}"
	done
done
# mode report_only: what domain_validation refuses goes through, logged
out_row domain_validation expired audit-dom-expired tls report_only

# ---- inbound: wait for the partner's verdict on every row ---------------------------
end=$((SECONDS + 60))
while :; do
	pending=0
	for r in "${IN_ROWS[@]}"; do
		IFS='|' read -r id _ <<<"$r"
		[[ -n $(pf_rcpt_status "$PA_LOG" "$id@example.com") ]] || pending=$((pending + 1))
	done
	((pending == 0 || SECONDS >= end)) && break
	sleep 0.3
done
assert_eq "the partner logged a status for every inbound row within 60 s" 0 "$pending"
pf_delivery_tls "$PA_LOG" >"$T_TMP/delivery-tls.txt"
n_acc_in=0
for r in "${IN_ROWS[@]}"; do
	[[ ${r##*|} == 250 ]] && n_acc_in=$((n_acc_in + 1))
done
pf_wait "$MD" $((n_acc_in + ${#ACCEPTED[@]})) 20

# the mailgw Received: field of a delivered file, unfolded
gw_received() {
	python3 - "$1" <<'PY'
import sys
fields, cur = [], None
for raw in open(sys.argv[1], "rb"):
    line = raw.decode("latin-1").rstrip("\r\n")
    if line == "":
        break
    if line[:1] in (" ", "\t") and cur is not None:
        cur.append(line.strip()); continue
    if cur is not None:
        fields.append(" ".join(cur))
    cur = [line] if line.lower().startswith("received:") else None
if cur is not None:
    fields.append(" ".join(cur))
print(next((f for f in fields if "(mailgw) with" in f), ""))
PY
}

for r in "${IN_ROWS[@]}"; do
	IFS='|' read -r id src tls dom conn want <<<"$r"
	rcpt=$id@example.com f0=$T_FAILED
	desc="inbound $id (from 203.0.113.$src, TLS $tls, sender @$dom)"
	st=$(pf_rcpt_status "$PA_LOG" "$rcpt")
	dtls=$(awk -v r="$rcpt" '$1 == r { t = $2 } END { print t }' "$T_TMP/delivery-tls.txt")
	case $tls in
	none) wtls=plain ;;
	enc12) wtls=TLSv1.2 ;;
	*) wtls=TLSv1.3 ;;
	esac
	assert_eq "$desc: the partner's session used $wtls" "$wtls" "$dtls"
	f=$(md_file "$rcpt")
	if [[ $want == 250 ]]; then
		ACCEPTED+=("$rcpt")
		assert_match "$desc: the partner logs status=sent (250 ...)" '^sent \(250 ' "$st"
		if [[ -z $f ]]; then
			t_fail "$desc: arrived at the next hop"
		else
			t_ok "$desc: arrived at the next hop"
			rcv=$(gw_received "$f")
			if [[ $tls == none ]]; then
				rre="^Received: from mail\.partner\.example \(\[203\.0\.113\.$src\]\) by mx\.gw\.test \(mailgw\) with ESMTP id"
			else
				rre="^Received: from mail\.partner\.example \(\[203\.0\.113\.$src\]\) \(using ${wtls//./\\.} with cipher [^)]*\)\) by mx\.gw\.test \(mailgw\) with ESMTPS id"
			fi
			assert_match "$desc: mailgw's Received: names the client and its TLS" "$rre" "$rcv"
		fi
		line=$(grep -F "to=<$rcpt> " "$GW_LOG" | grep ' status=sent' | tail -1)
		assert_match "$desc: mailgw's message log names connector=$conn" \
			"client=203\.0\.113\.$src:[0-9]+ .* connector=${conn//./\\.} from=<a-$id@${dom//./\\.}>" "$line"
	else
		REFUSED+=("$rcpt")
		assert_match "$desc: the partner logs status=bounced with mailgw's ${want%% *} at MAIL" \
			"^bounced \(host $EXT_GW_IP\[$EXT_GW_IP\] said: $want.* \(in reply to MAIL FROM command\)\)" "$st"
		[[ -n $f ]] && t_fail "$desc: refused, yet it arrived at the next hop"
	fi
	IN_RESULTS+=("$(printf '%-4s %-14s %-8s %-19s %-13s %-40s %s' "$id" "203.0.113.$src" "$tls" "$dom" "$conn" \
		"${st:0:40}" "$( ((T_FAILED == f0)) && echo ok || echo FAILED)")")
done

# report_only: logged with the reply it would have sent; counters
for w in "${WOULD[@]}"; do
	IFS='|' read -r id conn reply <<<"$w"
	assert_match "report_only $conn ($id): logged as would refuse, with its reply" \
		"connector \"$conn\" [^:]*: would refuse \(report_only, accepted\) [^:]*: $reply" \
		"$(grep -F "connector \"$conn\"" "$GW_LOG")"
done
assert_eq "no report_only log line for audit-ip with TLS (i11): only i10's" 1 \
	"$(grep -c 'connector "audit-ip".*would refuse' "$GW_LOG")"
n_ref_in=0
for r in "${IN_ROWS[@]}"; do [[ ${r##*|} != 250 ]] && n_ref_in=$((n_ref_in + 1)); done
assert_eq "smtp.connector_refused counts the $n_ref_in inbound refusals" "$n_ref_in" \
	"$(($(gw_stat smtp.connector_refused) - ${C0[smtp.connector_refused]:-0}))"
assert_eq "smtp.connector_would_refuse counts the ${#WOULD[@]} report_only rows" "${#WOULD[@]}" \
	"$(($(gw_stat smtp.connector_would_refuse) - ${C0[smtp.connector_would_refuse]:-0}))"

# ---- summary: nothing refused reached a next hop ----------------------------------
sleep 1
leaked=()
for r in "${REFUSED[@]}"; do
	if [[ -n $(md_file "$r") ]] || grep -qF "to=<$r> " <(grep ' status=sent' "$GW_LOG"); then
		leaked+=("$r")
	fi
done
assert_eq "no message answered 4xx/5xx reached a next hop (${#REFUSED[@]} checked)" "" "${leaked[*]}"
assert_eq "the next hop holds exactly the ${#ACCEPTED[@]} accepted messages" "${#ACCEPTED[@]}" "$(pf_count "$MD")"
assert_eq "the partner's queue is empty (nothing deferred)" 0 "$(pf_queued "$PA")"

t_note "inbound: id   client         TLS      sender domain       connector     partner status                           result"
for r in "${IN_RESULTS[@]}"; do t_note "  $r"; done
t_note "outbound: tls_settings           next hop    expect reply                                  result"
for r in "${OUT_RESULTS[@]}"; do t_note "  $r"; done

gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"
t_note "wall time $((SECONDS - T0)) s"
