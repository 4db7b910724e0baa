#!/usr/bin/env bash
source "$(dirname "$0")/../lib/harness.sh"
# test_mkcerts.sh — tools/mkcerts makes the test PKI of issue 5: every file is
# there (keys 0600), the good certificates verify against the test CA for their
# purpose and names, each bad one fails `openssl verify` for its own reason,
# keys belong to their certificates (except bad/mismatch), SANs, key types,
# chains and fingerprints.txt are right; a second run does nothing, --force
# and changed arguments regenerate, a directory mkcerts did not make is left
# alone. Checked here with the openssl CLI, independently of mkcerts' checks.

cd "$T_ROOT" || exit 1
MKCERTS=$T_ROOT/tools/mkcerts
PKI=$T_TMP/pki

if [[ ! -x $MKCERTS ]]; then
	t_fail "tools/mkcerts missing or not executable"
	exit 1
fi

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# snapshot DIR: "path sha256 mtime" for every file, sorted.
snapshot() { (cd "$1" && find . -type f -printf '%P %T@\n' | sort | while read -r f m; do
	echo "$f $(sha256sum <"$f" | cut -d' ' -f1) $m"; done); }
# info CERT: the path of a text dump of $PKI/CERT (one openssl run per
# certificate: serial, subject, dates, fingerprint, text, public key).
info() {
	local f=$T_TMP/info/${PKI//\//_}/${1//\//_}
	if [[ ! -s $f ]]; then
		mkdir -p "${f%/*}"
		openssl x509 -in "$PKI/$1" -noout -serial -subject -startdate -enddate \
			-fingerprint -sha256 -text -pubkey >"$f" 2>&1
	fi
	echo "$f"
}
field() { sed -n "s/^$2=//p" "$(info "$1")"; }          # CERT serial|subject|notAfter|...
serials() { local f; for f in "$@"; do field "$f" serial; done; }
pubkey() { sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' "$(info "$1")"; }
# ext CERT HEADER: the value of the extension printed under "X509v3 HEADER:".
ext() { awk -v h="X509v3 $2:" 'index($0, h) { getline; sub(/^ +/, ""); print; exit }' "$(info "$1")"; }
san() { ext "$1" "Subject Alternative Name"; }

# --- first run
t0=$(now_ms)
out=$("$MKCERTS" -o "$PKI" -q 2>&1); rc=$?
ms=$(( $(now_ms) - t0 ))
assert_eq "first run: exit status 0" 0 "$rc"
assert_match "first run: reports its checks passed" 'checks passed' "$out"
t_note "first run: ${ms} ms: $(tail -n 1 <<<"$out")"
if [[ $rc -ne 0 ]]; then
	t_note "$out"
	exit 1
fi

# A copy regenerated with other arguments (no --force), in the background
# while the checks below run; checked at the end. Another parent directory,
# so that mkcerts' lock does not serialise it with the runs on $PKI.
ARGS=$T_TMP/args
mkdir -p "$ARGS"
cp -a "$PKI" "$ARGS/pki"
cp -a "$PKI" "$ARGS/copy"
"$MKCERTS" -o "$ARGS/pki" --gw-name mx.other.test --gw-name 192.0.2.25 --days 20 -q >"$ARGS/out" 2>&1 &
ARGS_PID=$!
t_cleanup "kill $ARGS_PID"

# --- the layout
CERT_KEYS="ca/ca other-ca/ca gw/rsa gw/ecdsa gw2/rsa gw2/ecdsa
	partner/client partner/client-ecdsa partner/client-other-ca
	nexthop/server partner-server/server
	bad/expired bad/notyet bad/wrongname bad/selfsigned bad/wrongca bad/mismatch bad/rsa1024
	hostile/slash-in-o hostile/long-subject hostile/email-san hostile/space-san hostile/nul-san
	hostile/long-san hostile/wildcard hostile/cn-not-san hostile/newline-subject hostile/server-email hostile/server-nul"
CHAINS="gw/rsa gw/ecdsa gw2/rsa gw2/ecdsa partner/client partner/client-ecdsa nexthop/server partner-server/server"
missing=()
for p in $CERT_KEYS; do
	for f in "$p.crt" "$p.key"; do [[ -s $PKI/$f ]] || missing+=("$f"); done
done
for p in $CHAINS; do [[ -s $PKI/$p.leaf.crt ]] || missing+=("$p.leaf.crt"); done
for f in README.txt fingerprints.txt; do [[ -s $PKI/$f ]] || missing+=("$f"); done
assert_eq "all 68 files present" "" "${missing[*]}"
bad_modes=$(cd "$PKI" && find . -name '*.key' ! -perm 600 -printf '%P %m\n')
assert_eq "every key has mode 0600" "" "$bad_modes"
assert_eq "29 keys, 37 certificate files" "29 37" \
	"$(find "$PKI" -name '*.key' | wc -l) $(find "$PKI" -name '*.crt' | wc -l)"
enc=()
for k in $CERT_KEYS; do grep -q 'ENCRYPTED' "$PKI/$k.key" && enc+=("$k.key"); done
assert_eq "no key is encrypted" "" "${enc[*]}"
undoc=()
for d in ca/ other-ca/ gw/ gw2/ partner/ nexthop/ partner-server/ bad/ hostile/ fingerprints.txt; do
	grep -q "$d" "$PKI/README.txt" || undoc+=("$d")
done
assert_eq "README.txt describes every directory" "" "${undoc[*]}"

# --- chains: PATH.crt = PATH.leaf.crt + ca/ca.crt
for p in $CHAINS; do
	assert_eq "$p.crt is the leaf then ca/ca.crt" "$(cat "$PKI/$p.leaf.crt" "$PKI/ca/ca.crt")" "$(cat "$PKI/$p.crt")"
done

# --- openssl verify: the good ones
# verify_ok NAME ARGS...; verify_fails NAME REASON ARGS...
verify_ok() {
	local name=$1 o; shift
	if o=$(cd "$PKI" && openssl verify "$@" 2>&1); then
		t_ok "$name"
	else
		t_fail "$name: $(grep -m1 '^error' <<<"$o")"
	fi
}
verify_fails() {
	local name=$1 reason=$2 o; shift 2
	if o=$(cd "$PKI" && openssl verify "$@" 2>&1); then
		t_fail "$name: verified, expected '$reason'"
	else
		assert_match "$name" "$reason" "$(grep -m1 '^error' <<<"$o")"
	fi
}
CA=(-CAfile ca/ca.crt)
verify_ok "ca/ca.crt is a self-signed root" -CAfile ca/ca.crt -x509_strict ca/ca.crt
verify_ok "other-ca/ca.crt is a self-signed root" -CAfile other-ca/ca.crt -x509_strict other-ca/ca.crt
for g in gw/rsa gw/ecdsa gw2/rsa gw2/ecdsa; do
	for h in mx.gw.example mx.gw.test localhost; do
		verify_ok "$g.crt verifies as server for $h" "${CA[@]}" -x509_strict -purpose sslserver -verify_hostname "$h" "$g.crt"
	done
done
verify_ok "partner/client.crt verifies as client" "${CA[@]}" -x509_strict -purpose sslclient partner/client.crt
verify_ok "partner/client-ecdsa.crt verifies as client" "${CA[@]}" -x509_strict -purpose sslclient partner/client-ecdsa.crt
verify_fails "partner/client.crt is not a server certificate" 'unsuitable certificate purpose' \
	"${CA[@]}" -purpose sslserver partner/client.crt
verify_ok "nexthop/server.crt verifies for mx.int.example" "${CA[@]}" -purpose sslserver -verify_hostname mx.int.example nexthop/server.crt
verify_ok "nexthop/server.crt verifies for mail.example.com" "${CA[@]}" -purpose sslserver -verify_hostname mail.example.com nexthop/server.crt
verify_ok "nexthop/server.crt verifies for 10.20.0.10" "${CA[@]}" -purpose sslserver -verify_ip 10.20.0.10 nexthop/server.crt
verify_ok "partner-server/server.crt verifies for mx.partner.example" "${CA[@]}" -purpose sslserver -verify_hostname mx.partner.example partner-server/server.crt
verify_ok "partner-server/server.crt verifies for 203.0.113.10" "${CA[@]}" -purpose sslserver -verify_ip 203.0.113.10 partner-server/server.crt
verify_ok "bad/mismatch.crt itself verifies (only its key is wrong)" "${CA[@]}" -purpose sslserver -verify_hostname mx.int.example bad/mismatch.crt

# --- openssl verify: each bad one fails for its own reason
NH=("${CA[@]}" -purpose sslserver -verify_hostname mx.int.example)
verify_fails "bad/expired.crt: certificate has expired" 'certificate has expired' "${NH[@]}" bad/expired.crt
verify_fails "bad/notyet.crt: certificate is not yet valid" 'certificate is not yet valid' "${NH[@]}" bad/notyet.crt
verify_fails "bad/wrongname.crt: hostname mismatch" 'hostname mismatch' "${NH[@]}" bad/wrongname.crt
verify_fails "bad/wrongname.crt: IP address mismatch for 10.20.0.10" 'IP address mismatch' "${CA[@]}" -verify_ip 10.20.0.10 bad/wrongname.crt
verify_fails "bad/selfsigned.crt: self-signed certificate" 'self[- ]signed certificate' "${NH[@]}" bad/selfsigned.crt
verify_fails "bad/wrongca.crt: unable to get local issuer certificate" 'unable to get local issuer certificate' "${NH[@]}" bad/wrongca.crt
verify_fails "partner/client-other-ca.crt: unable to get local issuer certificate" 'unable to get local issuer certificate' \
	"${CA[@]}" -purpose sslclient partner/client-other-ca.crt
verify_fails "bad/rsa1024.crt: key too weak at security level 2" 'key too weak' "${NH[@]}" -auth_level 2 bad/rsa1024.crt
# ... and for that reason only
verify_ok "bad/expired.crt verifies when time is not checked" "${NH[@]}" -no_check_time bad/expired.crt
verify_ok "bad/notyet.crt verifies when time is not checked" "${NH[@]}" -no_check_time bad/notyet.crt
verify_ok "bad/wrongca.crt verifies against other-ca" -CAfile other-ca/ca.crt -purpose sslserver -verify_hostname mx.int.example bad/wrongca.crt
verify_ok "bad/selfsigned.crt verifies against itself" -CAfile bad/selfsigned.crt -purpose sslserver -verify_hostname mx.int.example bad/selfsigned.crt
verify_ok "bad/rsa1024.crt verifies at security level 1" "${NH[@]}" -auth_level 1 bad/rsa1024.crt

# --- dates
end_of() { date -d "$(field "$1" notAfter)" +%s; }
start_of() { date -d "$(field "$1" notBefore)" +%s; }
now=$(date +%s)
e=$(end_of bad/expired.crt)
assert_match "bad/expired.crt ended about a day ago" '^1$' "$(( (now - e + 3600) / 86400 ))"
s=$(start_of bad/notyet.crt)
assert_match "bad/notyet.crt starts in about a year" '^36[45]$' "$(( (s - now) / 86400 ))"
e=$(end_of gw/rsa.crt)
assert_match "gw/rsa.crt is valid for the default 825 days" '^82[45]$' "$(( (e - now) / 86400 ))"

# --- keys: types and pairs
keytext() { grep -E 'Public-Key:|NIST CURVE:' "$(info "$1")" | xargs; }
assert_eq "gw/rsa.crt: RSA-2048" "Public-Key: (2048 bit)" "$(keytext gw/rsa.crt)"
assert_eq "gw/ecdsa.crt: ECDSA P-256" "Public-Key: (256 bit) NIST CURVE: P-256" "$(keytext gw/ecdsa.crt)"
assert_eq "gw2/ecdsa.crt: ECDSA P-256" "Public-Key: (256 bit) NIST CURVE: P-256" "$(keytext gw2/ecdsa.crt)"
assert_eq "partner/client-ecdsa.crt: ECDSA P-256" "Public-Key: (256 bit) NIST CURVE: P-256" "$(keytext partner/client-ecdsa.crt)"
assert_eq "bad/rsa1024.crt: RSA-1024" "Public-Key: (1024 bit)" "$(keytext bad/rsa1024.crt)"
mism=()
for k in $CERT_KEYS; do
	cp=$(pubkey "$k.crt")
	kp=$(openssl pkey -in "$PKI/$k.key" -pubout)
	if [[ $k == bad/mismatch ]]; then
		if [[ $cp != "$kp" ]]; then t_ok "bad/mismatch.key does not belong to bad/mismatch.crt"
		else t_fail "bad/mismatch.key belongs to bad/mismatch.crt"; fi
	elif [[ $cp != "$kp" ]]; then
		mism+=("$k")
	fi
done
assert_eq "every other key belongs to its certificate (17 pairs)" "" "${mism[*]}"
gwpub=$(pubkey gw/rsa.crt)
assert_match "gw2/rsa.crt has another key than gw/rsa.crt" '^differ$' \
	"$([[ $gwpub == "$(pubkey gw2/rsa.crt)" ]] && echo same || echo differ)"
s1=$(serials gw/rsa.crt gw/ecdsa.crt gw2/rsa.crt gw2/ecdsa.crt | sort -u | wc -l)
assert_eq "gw and gw2 have four distinct serials" 4 "$s1"

# --- names and extensions
GWSAN="DNS:mx.gw.example, DNS:mx.gw.test, DNS:localhost"
NHSAN="DNS:mx.int.example, DNS:mail.example.com, IP Address:10.20.0.10"
for g in gw/rsa gw/ecdsa gw2/rsa gw2/ecdsa; do assert_eq "$g.crt SAN" "$GWSAN" "$(san "$g.crt")"; done
for c in partner/client partner/client-ecdsa partner/client-other-ca; do
	assert_eq "$c.crt SAN" "DNS:mail.partner.example" "$(san "$c.crt")"
	assert_match "$c.crt subject CN" 'CN ?= ?mail\.partner\.example' "$(field "$c.crt" subject)"
done
assert_eq "nexthop/server.crt SAN" "$NHSAN" "$(san nexthop/server.crt)"
assert_eq "partner-server/server.crt SAN" "DNS:mx.partner.example, IP Address:203.0.113.10" "$(san partner-server/server.crt)"
assert_eq "bad/wrongname.crt SAN" "DNS:wrong.example" "$(san bad/wrongname.crt)"
for b in expired notyet selfsigned wrongca mismatch rsa1024; do
	assert_match "bad/$b.crt SAN has the next hop's names" "^$NHSAN" "$(san "bad/$b.crt")"
done
assert_eq "ca/ca.crt: CA:TRUE" "CA:TRUE" "$(ext ca/ca.crt "Basic Constraints")"
assert_match "ca/ca.crt: keyCertSign" 'Certificate Sign' "$(ext ca/ca.crt "Key Usage")"
assert_match "ca/ca.crt: subject 'mailgw test CA'" 'CN ?= ?mailgw test CA' "$(field ca/ca.crt subject)"
assert_match "gw/rsa.crt: EKU serverAuth" 'TLS Web Server Authentication' "$(ext gw/rsa.crt "Extended Key Usage")"
assert_eq "partner/client.crt: EKU clientAuth" 'TLS Web Client Authentication' "$(ext partner/client.crt "Extended Key Usage")"
assert_eq "gw/rsa.crt: CA:FALSE" "CA:FALSE" "$(ext gw/rsa.crt "Basic Constraints")"

# --- fingerprints.txt
assert_eq "fingerprints.txt: one line per certificate" 29 "$(grep -cv '^#' "$PKI/fingerprints.txt")"
for c in ca/ca.crt gw/rsa.crt gw/ecdsa.crt nexthop/server.crt bad/mismatch.crt bad/selfsigned.crt; do
	fp=$(sed -n 's/^sha256 Fingerprint=//Ip' "$(info "$c")")
	pubkey "$c" | openssl pkey -pubin -outform der >"$T_TMP/spki.der"
	hex=$(openssl dgst -sha256 -r "$T_TMP/spki.der" | cut -d' ' -f1)
	b64=$(openssl dgst -sha256 -binary "$T_TMP/spki.der" | base64)
	assert_eq "fingerprints.txt: $c" "$c $fp $b64 $hex" "$(grep "^$c " "$PKI/fingerprints.txt")"
done

# --- a second run does nothing
before=$(snapshot "$PKI")
t0=$(now_ms)
out=$("$MKCERTS" -o "$PKI" 2>&1); rc=$?
ms=$(( $(now_ms) - t0 ))
assert_eq "second run: exit status 0" 0 "$rc"
assert_match "second run: says up to date" 'up to date' "$out"
assert_eq "second run: no file changed (contents and mtimes)" "$before" "$(snapshot "$PKI")"
if (( ms < 1000 )); then t_ok "second run: fast ($ms ms)"; else t_fail "second run: took $ms ms (>= 1000)"; fi

# --- --force regenerates
old_serials=$(serials ca/ca.crt gw/rsa.crt gw/ecdsa.crt bad/expired.crt)
old_gw=$(cat "$PKI/gw/rsa.key")
out=$("$MKCERTS" -o "$PKI" --force -q 2>&1); rc=$?
rm -rf "$T_TMP/info"
assert_eq "--force: exit status 0" 0 "$rc"
new_serials=$(serials ca/ca.crt gw/rsa.crt gw/ecdsa.crt bad/expired.crt)
assert_eq "--force: 8 distinct serials before and after" 8 "$(sort -u <<<"$old_serials"$'\n'"$new_serials" | grep -c .)"
assert_eq "--force: new serials for ca, gw/rsa, gw/ecdsa, bad/expired" "" \
	"$(comm -12 <(sort <<<"$old_serials") <(sort <<<"$new_serials"))"
if [[ $old_gw != "$(cat "$PKI/gw/rsa.key")" ]]; then t_ok "--force: new keys"; else t_fail "--force: gw/rsa.key unchanged"; fi
verify_ok "--force: the new gw/rsa.crt verifies against the new ca" "${CA[@]}" -purpose sslserver -verify_hostname mx.gw.example gw/rsa.crt

# --- other arguments regenerate without --force
wait "$ARGS_PID"; rc=$?
assert_eq "changed arguments: exit status 0" 0 "$rc"
assert_match "changed arguments: regenerated" 'checks passed' "$(cat "$ARGS/out")"
assert_eq "changed arguments: new serial" 2 \
	"$( (PKI=$ARGS/pki serials gw/ecdsa.crt; PKI=$ARGS/copy serials gw/ecdsa.crt) | sort -u | grep -c .)"
assert_eq "changed arguments: gw SAN follows --gw-name" "DNS:mx.other.test, IP Address:192.0.2.25, DNS:localhost" \
	"$(PKI=$ARGS/pki san gw/ecdsa.crt)"
e=$(PKI=$ARGS/pki end_of gw/ecdsa.crt)
assert_match "changed arguments: --days 20" '^(19|20)$' "$(( (e - $(date +%s)) / 86400 ))"
verify_ok "changed arguments: gw/ecdsa.crt verifies for 192.0.2.25" -CAfile ../args/pki/ca/ca.crt -purpose sslserver \
	-verify_ip 192.0.2.25 ../args/pki/gw/ecdsa.crt

# --- a directory mkcerts did not make is left alone; bad arguments are refused
mkdir -p "$T_TMP/foreign"
echo precious >"$T_TMP/foreign/file"
"$MKCERTS" -o "$T_TMP/foreign" --force -q >/dev/null 2>&1; rc=$?
assert_eq "foreign directory: refused" 1 "$rc"
assert_eq "foreign directory: untouched" "file" "$(ls -A "$T_TMP/foreign")"
"$MKCERTS" -o "$T_TMP/x" --days 0 >/dev/null 2>&1; rc=$?
assert_eq "--days 0: refused" 1 "$rc"
"$MKCERTS" --no-such-option >/dev/null 2>&1; rc=$?
assert_eq "unknown option: exit status 2" 2 "$rc"
leftovers=$(find "$T_TMP" -maxdepth 2 -name '.mkcerts.*' | wc -l)
assert_eq "no temporary directories left behind" 0 "$leftovers"
