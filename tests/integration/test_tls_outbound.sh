#!/usr/bin/env bash
# test_tls_outbound.sh — the STARTTLS client (issue 5, item 5): every TLS
# level (none, may, encrypt, verify, secure) against every kind of next hop:
#   A  tests/lib/nexthop.py, no STARTTLS
#   B  Postfix smtpd, STARTTLS with nexthop/server.crt (valid, names match)
#   C  Postfix, bad/wrongname.crt      D  Postfix, bad/expired.crt
#   E  Postfix, bad/selfsigned.crt
#   F  Postfix whose TLS allows only TLS <= 1.1 (the handshake fails)
# asserted per combination: what the client (swaks, outside) is answered,
# whether the next hop got the message and over what (Postfix's own
# Received: says "with ESMTPS" over TLS, "with ESMTP" without), the
# smtp_client.tls* counters and the gateway's log line; at the end, that no
# message answered 451 reached any next hop. Also: RFC 6125 wildcards (a
# *.wild.example certificate; tls_names "*.int.example"), the next hop's IP
# address as a name for verify, SNI (a Postfix that serves the right
# certificate only to a client that names it, and the name seen on the
# wire), a cached connection opened under one level carrying a route of a
# stricter level, and a TLS session's verification results leaking into
# the next session (run by a second gateway without a connection cache).
#
# One Postfix instance serves B-F for every level: one smtpd listener per
# (level, hop) address (10.20.0.<level><hop>:25), each with its own
# certificate (master.cf -o), all delivering into one Maildir; recipients
# name the case. Every route has its own next-hop address, so the connection
# cache cannot carry one case into another (except in the cache section, on
# purpose), and idle connections outlive the run, so no verified session
# gives its TLS slot back during the matrix.
#
# TLSOUT_CASES=REGEX runs only the matching cases; TLSOUT_KEEP=DIR keeps a
# copy of the test's files (Postfix maillog, gateway log, swaks transcripts).
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"
source "$T_ROOT/tests/lib/smtp.sh"

T0=$SECONDS
[[ -n ${TLSOUT_KEEP:-} ]] && t_cleanup "rm -rf '$TLSOUT_KEEP'; cp -a '$T_TMP' '$TLSOUT_KEEP'"
PKI=$T_TMP/pki
t_check "test PKI generated (tools/mkcerts)" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

# A wildcard server certificate from the test CA: SAN DNS:*.wild.example.
WILD=$T_TMP/wild
mkdir -p "$WILD"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WILD/wild.key" \
	-subj "/O=mailgw test/CN=*.wild.example" -out "$WILD/wild.csr" 2>/dev/null &&
	openssl x509 -req -in "$WILD/wild.csr" -CA "$PKI/ca/ca.crt" -CAkey "$PKI/ca/ca.key" \
		-set_serial 0x$(openssl rand -hex 8) -days 30 -out "$WILD/wild.leaf.crt" \
		-extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:*.wild.example\n') \
		2>/dev/null
cat "$WILD/wild.leaf.crt" "$PKI/ca/ca.crt" >"$WILD/wild.crt"
t_check "wildcard certificate *.wild.example issued by the test CA" \
	eval 'openssl verify -CAfile "$PKI/ca/ca.crt" -verify_hostname mx.wild.example "$WILD/wild.leaf.crt" >/dev/null'

# The certificates are what the cases assume (SANs, validity, issuer).
san() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' '; }
assert_eq "B: nexthop/server.crt SANs" "DNS:mx.int.example,DNS:mail.example.com,IPAddress:10.20.0.10" \
	"$(san "$PKI/nexthop/server.crt")"
assert_eq "C: bad/wrongname.crt SAN is wrong.example only" "DNS:wrong.example" "$(san "$PKI/bad/wrongname.crt")"
for b in expired selfsigned; do
	assert_match "bad/$b.crt carries the next hop's and the gateway's names" \
		"DNS:mx.int.example,DNS:mail.example.com,IPAddress:10.20.0.10,DNS:mx.gw.example,DNS:mx.gw.test" \
		"$(san "$PKI/bad/$b.crt")"
done
assert_match "D: bad/expired.crt fails verification as expired" "expired" \
	"$(openssl verify -CAfile "$PKI/ca/ca.crt" "$PKI/bad/expired.crt" 2>&1)"
assert_match "E: bad/selfsigned.crt fails verification as self-signed" "self-signed|self signed" \
	"$(openssl verify -CAfile "$PKI/ca/ca.crt" "$PKI/bad/selfsigned.crt" 2>&1)"

# ---- the cases -------------------------------------------------------------
# name level hop address:port domain expect [tls_names]
#   expect: tls (delivered, TLS to the next hop), plain (delivered, no TLS),
#           474 (451 4.7.4 not offered), 475h (451 4.7.5 handshake failure),
#           475v (451 4.7.5 certificate not verified)
# Domains: verify's expected names are the route's domains and the hop's IP
# address; verify B/D/E use names their certificates carry (so D and E fail
# on the chain alone), verify C one that B's certificate carries.
declare -A LV_NUM
LV_NUM=([none]=2 [may]=3 [encrypt]=4 [verify]=5 [secure]=6)
declare -A HOP_NUM=([B]=1 [C]=2 [D]=3 [E]=4 [F]=5)
declare -A EXPECT=(
	[none.A]=plain    [none.B]=plain   [none.C]=plain  [none.D]=plain  [none.E]=plain  [none.F]=plain
	[may.A]=plain     [may.B]=tls      [may.C]=tls     [may.D]=tls     [may.E]=tls     [may.F]=plain
	[encrypt.A]=474   [encrypt.B]=tls  [encrypt.C]=tls [encrypt.D]=tls [encrypt.E]=tls [encrypt.F]=475h
	[verify.A]=474    [verify.B]=tls   [verify.C]=475v [verify.D]=475v [verify.E]=475v [verify.F]=475h
	[secure.A]=474    [secure.B]=tls   [secure.C]=475v [secure.D]=475v [secure.E]=475v [secure.F]=475h
)
declare -A VERIFY_DOMAIN=([A]=verify-a.test [B]=mail.example.com [C]=mx.int.example
	[D]=mx.gw.example [E]=mx.gw.test [F]=verify-f.test)
CASES=()
for lv in none may encrypt verify secure; do
	for hop in A B C D E F; do
		if [[ $hop == A ]]; then
			addr=$INT_HOST_IP:25${LV_NUM[$lv]}0          # nexthop.py, one per level
		else
			addr=10.20.0.${LV_NUM[$lv]}${HOP_NUM[$hop]}:25
		fi
		dom=$lv-${hop,,}.test
		[[ $lv == verify ]] && dom=${VERIFY_DOMAIN[$hop]}
		names=
		[[ $lv == secure ]] && names=mx.int.example
		CASES+=("$lv.$hop $lv $hop $addr $dom ${EXPECT[$lv.$hop]} $names")
	done
done
# secure: only tls_names count (not the domain, not the IP address, which
# verify would accept); configured wildcards match one label.
CASES+=("secure.B-othername secure B $INT_HOST_IP:25 secure-nm.test 475v other.example")
CASES+=("secure.B-wildname secure B 10.20.0.66:25 secure-wn.test tls *.int.example")
CASES+=("secure.B-wildtoowide secure B 10.20.0.68:25 secure-ww.test 475v *.example")
# verify: the next hop's IP address in its certificate is a match
CASES+=("verify.B-ipname verify B $INT_HOST_IP:2525 ipname.test tls")
# RFC 6125 wildcards in the certificate: one label, not none, not two
CASES+=("verify.W-onelabel verify W 10.20.0.70:25 mx.wild.example tls")
CASES+=("verify.W-twolabels verify W 10.20.0.71:25 a.b.wild.example 475v")
CASES+=("verify.W-bare verify W 10.20.0.73:25 wild.example 475v")
# SNI: the hop serves the self-signed certificate unless the client names sni.wild.example
CASES+=("verify.S-sni verify S 10.20.0.72:25 sni.wild.example tls")
# the connection cache across levels (same next hop, two routes, back to back)
CACHE_CASES=(
	"cache.none-then-encrypt.1 none B 10.20.0.80:25 cache-none.test plain"
	"cache.none-then-encrypt.2 encrypt B 10.20.0.80:25 cache-encrypt.test tls"
	"cache.encrypt-then-verify.1 encrypt C 10.20.0.81:25 cache-encrypt2.test tls"
	"cache.encrypt-then-verify.2 verify C 10.20.0.81:25 cache-verify.test 475v"
	"cache.may-then-secure.1 may A $INT_HOST_IP:2580 cache-may.test plain"
	"cache.may-then-secure.2 secure A $INT_HOST_IP:2580 cache-secure.test 474 mx.int.example"
)
# A TLS session's results must not outlive it. Run by a second gateway with
# no connection cache (every connection ends after its message, so its TLS
# slot is free again at once): a verified session to B, then a secure route
# whose tls_names B does not carry. (The first gateway keeps idle connections
# longer than the whole run, so during the matrix only connections that
# failed give their TLS slots back.)
STALE_CASES=(
	"stale.verify-ok verify B 10.20.0.90:25 mx.int.example tls"
	"stale.secure-othername secure B 10.20.0.91:25 stale-nm.test 475v other.example"
)

if [[ -n ${TLSOUT_CASES:-} ]]; then
	keep=()
	for c in "${CASES[@]}"; do [[ ${c%% *} =~ $TLSOUT_CASES ]] && keep+=("$c"); done
	CASES=("${keep[@]}")
	keep=()
	for c in "${CACHE_CASES[@]}"; do [[ ${c%% *} =~ $TLSOUT_CASES ]] && keep+=("$c"); done
	CACHE_CASES=("${keep[@]}")
	keep=()
	for c in "${STALE_CASES[@]}"; do [[ ${c%% *} =~ $TLSOUT_CASES ]] && keep+=("$c"); done
	STALE_CASES=("${keep[@]}")
fi

# ---- network, next hops ------------------------------------------------------
topo_two_ports
declare -A HOP_ADDRS=() HOSTS=()     # Postfix listeners (address:port -> hop kind), extra addresses
for c in "${CASES[@]}" "${CACHE_CASES[@]}" "${STALE_CASES[@]}"; do
	read -r _ _ hop hp _ <<<"$c"
	[[ $hop == A || $hp == "$INT_HOST_IP:25" ]] && continue
	HOP_ADDRS[$hp]=$hop
	[[ ${hp%:*} == "$INT_HOST_IP" ]] || HOSTS[${hp%:*}]=1
done
for a in "${!HOSTS[@]}"; do
	ip -n "$INT_NS" addr add "$a/24" dev "$INT_PEER_IF"
done

# One Postfix: the default listener (10.20.0.10) is a B; one listener per address.
PF=$T_TMP/pf
chmod 711 "$T_TMP"
t_check "Postfix instance set up" pf_setup "$PF" "$INT_HOST_IP"
chain() { echo "$1.key,$1.crt"; }
postconf -c "$PF/etc" -e "smtpd_tls_security_level = may" \
	"smtpd_tls_chain_files = $(chain "$PKI/nexthop/server")" \
	"smtpd_tls_received_header = yes" "smtpd_tls_loglevel = 1"
# SNI: sni.wild.example gets the wildcard certificate (key and chain in one file)
cat "$WILD/wild.key" "$WILD/wild.crt" >"$WILD/wild.pem"
echo "sni.wild.example $WILD/wild.pem" >"$PF/etc/sni"
t_check "SNI table built (postmap -F)" ip netns exec "$INT_NS" postmap -c "$PF/etc" -F "hash:$PF/etc/sni"
# smtpd wants tlsmgr (the TLS session cache and entropy), which pf_setup leaves out
echo "tlsmgr unix - - n 1000? 1 tlsmgr" >>"$PF/etc/master.cf"
for a in "${!HOP_ADDRS[@]}"; do
	case ${HOP_ADDRS[$a]} in
	B) o="-o smtpd_tls_chain_files=$(chain "$PKI/nexthop/server")" ;;
	C) o="-o smtpd_tls_chain_files=$(chain "$PKI/bad/wrongname")" ;;
	D) o="-o smtpd_tls_chain_files=$(chain "$PKI/bad/expired")" ;;
	E) o="-o smtpd_tls_chain_files=$(chain "$PKI/bad/selfsigned")" ;;
	F) o="-o smtpd_tls_protocols=<=TLSv1.1 -o smtpd_tls_mandatory_protocols=<=TLSv1.1" ;;
	W) o="-o smtpd_tls_chain_files=$WILD/wild.key,$WILD/wild.crt" ;;
	S) o="-o smtpd_tls_chain_files=$(chain "$PKI/bad/selfsigned") -o tls_server_sni_maps=hash:$PF/etc/sni" ;;
	esac
	echo "$a inet n - n - - smtpd $o" >>"$PF/etc/master.cf"
done
t_cleanup "pf_stop '$PF'"
t_check "Postfix starts with $((${#HOP_ADDRS[@]} + 1)) TLS listeners" pf_start "$INT_NS" "$PF"
MD=$PF/maildir
for a in "${!HOP_ADDRS[@]}"; do
	smtp_wait_port "$INT_NS" "${a%:*}" "${a#*:}" 10 220 || t_fail "Postfix listener $a not answering"
done

# Next hops without STARTTLS: one nexthop.py per level (and one for the cache section).
declare -A REC=()
for p in 2520 2530 2540 2550 2560 2580; do
	REC[$p]=$T_TMP/rec-$p.jsonl
	t_check "nexthop.py (no STARTTLS) on $INT_HOST_IP:$p" \
		nexthop_start "$INT_NS" "$INT_HOST_IP" "$p" --record "${REC[$p]}"
done

# ---- the gateway ---------------------------------------------------------------
# gw_conf CLIENT-SETTINGS CASE...: a configuration with one route per case
gw_conf() {
	local client=$1 c lv hp dom names r doms=() routes=
	shift
	for c in "$@"; do
		read -r _ lv _ hp dom _ names <<<"$c"
		doms+=("\"$dom\"")
		r="{ domains = [ \"$dom\" ]; next_hops = [ \"$hp\" ]; tls_level = \"$lv\";"
		[[ -n $names ]] && r+=" tls_names = [ \"$names\" ];"
		routes+="${routes:+,
  }$r }"
	done
	GW_EXTRA_GROUPS="smtp = { hostname = \"gw.relay.test\"; accepted_domains = [ $(IFS=,; echo "${doms[*]}") ];
  relay_networks = [ \"10.20.0.0/24\" ]; client = { $client }; };
tls = { client = { level = \"may\"; ca_file = \"$PKI/ca/ca.crt\"; }; };
routes = (
  $routes
);"
	gw_config
}
gw_conf "cache_idle_timeout = 600;" "${CASES[@]}" "${CACHE_CASES[@]}" >"$T_TMP/gw.conf"
gw_conf "cache_size = 0;" "${STALE_CASES[@]}" >"$T_TMP/gw-nocache.conf"
t_check "configuration is valid" "$T_BUILD/mailgw" --check-config -c "$T_TMP/gw.conf"
t_check "gateway starts" gw_start "$T_TMP/gw.conf"

# ---- running a case ------------------------------------------------------------
CTRS=(tls tls_not_offered tls_handshake_failed tls_verify_failed)
ctrs() { local n; for n in "${CTRS[@]}"; do printf '%s ' "$(gw_stat "smtp_client.$n")"; done; }
# the expected counter deltas (tls not_offered handshake_failed verify_failed)
deltas_for() {   # level hop expect
	case $3 in
	tls) echo "1 0 0 0" ;;
	474) echo "0 1 0 0" ;;
	475h) echo "0 0 1 0" ;;
	475v) echo "0 0 0 1" ;;
	plain)
		if [[ $1 == none ]]; then echo "0 0 0 0"
		elif [[ $2 == A ]]; then echo "0 1 0 0"             # may: not offered
		else echo "0 0 1 0"                                 # may: handshake failed, plaintext
		fi ;;
	esac
}
# the Maildir file for a recipient (empty when none)
md_file() { grep -lsx "X-Original-To: $1" "$MD"/new/* "$MD"/cur/* 2>/dev/null | head -1; }
# the log lines written since byte offset $1 (waits until one matches $2, up to 2 s)
log_since() {
	local i out
	for ((i = 0; i < 20; i++)); do
		out=$(tail -c +$(($1 + 1)) "$GW_LOG" 2>/dev/null)
		[[ $out =~ $2 ]] && break
		sleep 0.1
	done
	printf '%s' "$out"
}

RESULTS=()
UNDELIVERED=()          # recipients that must never arrive anywhere
N_PF=0                  # messages Postfix must deliver

run_case() {   # name level hop addr:port domain expect [tls_names]
	local name=$1 lv=$2 hop=$3 hp=$4 dom=$5 exp=$6
	local rcpt="u-${name//[^a-zA-Z0-9-]/-}@$dom"
	local before after want got off out log rc f fails0=$T_FAILED
	local host=${hp%:*} port=${hp#*:}
	local rec=${REC[$port]:-}
	[[ $hop == A ]] || rec=
	local nrec=0
	[[ -n $rec ]] && nrec=$(cat "$rec" 2>/dev/null | wc -l)
	before=($(ctrs)); off=$(stat -c %s "$GW_LOG" 2>/dev/null || echo 0)
	swaks_ns "$EXT_NS" --timeout 20 --server "$EXT_GW_IP" --from sender@partner.test --to "$rcpt" \
		--header "Subject: $name" --body "case $name"
	rc=$?
	out=$(cat "$SWAKS_OUT")
	case $exp in
	tls | plain)
		assert_match "$name: the client gets 250 after DATA (swaks status $rc)" \
			$'<-  250 2\.0\.0[^\n]*\n[^\n]*QUIT' "$out"
		if [[ $hop == A ]]; then
			for ((i = 0; i < 50 && $(cat "$rec" 2>/dev/null | wc -l) <= nrec; i++)); do sleep 0.1; done
			got=$(tail -n +$((nrec + 1)) "$rec" 2>/dev/null | grep -c "$rcpt")
			assert_eq "$name: nexthop.py received it" 1 "$got"
		else
			N_PF=$((N_PF + 1))
			for ((i = 0; i < 60; i++)); do f=$(md_file "$rcpt"); [[ -n $f ]] && break; sleep 0.1; done
			if [[ -z $f ]]; then
				t_fail "$name: delivered by Postfix"
			elif [[ $exp == tls ]]; then
				assert_match "$name: Postfix received it over TLS (with ESMTPS)" \
					'\(Postfix\) with ESMTPS id' "$(cat "$f")"
			else
				assert_match "$name: Postfix received it in plaintext (with ESMTP)" \
					'\(Postfix\) with ESMTP id' "$(cat "$f")"
			fi
		fi ;;
	474 | 475h | 475v)
		UNDELIVERED+=("$rcpt")
		case $exp in
		474) want="451 4\.7\.4 TLS is required, but was not offered by host $host:$port" ;;
		475h) want="451 4\.7\.5 Cannot start TLS: handshake failure" ;;
		475v) want="451 4\.7\.5 Server certificate not verified" ;;
		esac
		assert_match "$name: the client gets ${want//\\/}" "<\*\* $want" "$out"
		if [[ $out == *"<-  250 2.0.0"* || $out == *"<-  354"* ]]; then
			t_fail "$name: the client got 250/354 for a message the next hop refused"
		fi ;;
	esac
	# counters
	sleep 0.05
	after=($(ctrs))
	got="$((after[0] - before[0])) $((after[1] - before[1])) $((after[2] - before[2])) $((after[3] - before[3]))"
	want=$(deltas_for "$lv" "$hop" "$exp")
	assert_eq "$name: counters tls/not_offered/handshake_failed/verify_failed +($want)" "$want" "$got"
	# the log
	local h="next hop ${host//./\\.}:$port"
	case $exp in
	tls)
		if [[ $lv == verify || $lv == secure ]]; then
			want="$h: TLS established: TLSv1\.[23] with cipher [^ ]+ \([0-9]+/[0-9]+ bits\), certificate verified"
		else
			want="$h: TLS established: TLSv1\.[23] with cipher [^ ]+ \([0-9]+/[0-9]+ bits\), certificate"
		fi ;;
	474) want="TLS is required, but was not offered by host ${host//./\\.}:$port" ;;
	475h) want="$h: cannot start TLS: handshake failure" ;;
	475v)
		case $hop in
		C | W) want="$h: server certificate not verified \(name does not match\)" ;;
		*) want="$h: server certificate not verified \(" ;;
		esac ;;
	plain)
		if [[ $lv == may && $hop != A ]]; then
			want="$h: TLS handshake failed; again in plaintext \(level may\)"
		else
			want="status=sent"
		fi ;;
	esac
	log=$(log_since "$off" "$want")
	assert_match "$name: log: ${want//\\/}" "$want" "$log"
	if [[ $exp == 475v && ($hop == D || $hop == E) ]]; then
		# D and E carry the expected names: the reason must be the chain
		got=$(grep -o "$h: server certificate not verified (.*" <<<"$log" | head -1)
		if [[ -n $got ]]; then
			[[ $got == *"name does not match"* ]] && t_fail "$name: the reason logged is the name, not the chain: $got" ||
				t_ok "$name: the reason logged is the chain: ${got#*verified }"
		fi
	fi
	if [[ $exp == plain && $lv == none ]] && [[ $log =~ "$h: TLS" ]]; then
		t_fail "$name: level none used TLS"
	fi
	if [[ $exp == plain && $lv == may && $hop == A ]]; then
		if grep -q "smtp client: .*$host:$port" <<<"$log"; then
			t_note "$name: logged: $(grep -m1 "smtp client: .*$host:$port" <<<"$log")"
		else
			t_note "$name: no log line says that STARTTLS was not offered (only smtp_client.tls_not_offered counts it)"
		fi
	fi
	RESULTS+=("$(printf '%-30s %-8s %-4s %-18s %-6s %s' "$name" "$lv" "$hop" "$hp" "$exp" \
		"$( ((T_FAILED == fails0)) && echo ok || echo FAILED)")")
}

# SNI: the ClientHello to the SNI hop must carry the name (it is in clear text)
sni_start() {   # ADDR:PORT (a capture of everything on the internal link meanwhile)
	ip netns exec "$INT_NS" tcpdump -i "$INT_PEER_IF" --immediate-mode -U -Z root -n -s 0 -w "$T_TMP/sni.pcap" \
		2>"$T_TMP/tcpdump.err" &
	SNI_PID=$!
	t_cleanup "_bg_stop $SNI_PID"
	for ((i = 0; i < 50; i++)); do grep -q listening "$T_TMP/tcpdump.err" && break; sleep 0.1; done
}

for c in "${CASES[@]}" "${CACHE_CASES[@]}"; do
	read -ra args <<<"$c"           # no globbing: tls_names may hold "*."
	if [[ $c == verify.S-sni* ]]; then
		sni_start "${args[3]}"
		run_case "${args[@]}"
		sleep 0.3; _bg_stop "$SNI_PID"
		assert_ge "SNI: the ClientHello to $hp names sni.wild.example" \
			"$(grep -ac 'sni\.wild\.example' "$T_TMP/sni.pcap")" 1
	else
		run_case "${args[@]}"
	fi
done
gw_stop
assert_eq "gateway exits cleanly" 0 "$GW_EXIT"
if ((${#STALE_CASES[@]})); then
	t_check "gateway starts again, without a connection cache" gw_start "$T_TMP/gw-nocache.conf"
	for c in "${STALE_CASES[@]}"; do
		read -ra args <<<"$c"
		run_case "${args[@]}"
	done
	gw_stop
	assert_eq "gateway (no cache) exits cleanly" 0 "$GW_EXIT"
fi

# ---- nothing refused arrived anywhere, nothing more than expected ---------------
pf_wait "$MD" "$N_PF" 10
sleep 1
assert_eq "Postfix delivered exactly the accepted messages" "$N_PF" "$(pf_count "$MD")"
leaked=0
for r in "${UNDELIVERED[@]}"; do
	if [[ -n $(md_file "$r") ]] || grep -qs "$r" "${REC[@]}"; then
		t_fail "a 451'd message reached a next hop: $r"; leaked=1
	fi
done
[[ $leaked == 0 ]] && t_ok "no message answered 451 reached a next hop (${#UNDELIVERED[@]} checked)"
assert_eq "Postfix queue is empty (nothing held back)" 0 \
	"$(find "$PF/queue/incoming" "$PF/queue/active" "$PF/queue/deferred" -type f 2>/dev/null | wc -l)"

t_note "case                           level    hop  next hop           expect result"
for r in "${RESULTS[@]}"; do t_note "$r"; done

t_note "wall time $((SECONDS - T0)) s"
