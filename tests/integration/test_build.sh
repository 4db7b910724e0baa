#!/usr/bin/env bash
source "$(dirname "$0")/../lib/harness.sh"
# test_build.sh — the build is the one DESIGN.md section 5 asks for: wolfSSL
# 5.5.4 built by the project (AES-NI, Intel asm, SP x86-64 asm), linked
# statically into mailgw, never Debian's prebuilt libwolfssl; `make deps` is
# idempotent and quick the second time; our build really is the fast one.

cd "$T_ROOT" || exit 1
OPTIONS_H=$T_BUILD/wolfssl/include/wolfssl/options.h
VERSION_H=$T_BUILD/wolfssl/include/wolfssl/version.h

# --- mailgw links our static wolfSSL and nothing else of wolfSSL's
if [[ -x $T_BUILD/mailgw ]]; then
	libs=$(ldd "$T_BUILD/mailgw" 2>&1 || true)
	if grep -q 'libwolfssl' <<<"$libs"; then
		t_fail "mailgw does not link libwolfssl.so: $(grep libwolfssl <<<"$libs" | xargs)"
	else
		t_ok "mailgw does not link libwolfssl.so"
	fi
	other=$(grep -Eo 'lib(ssl|crypto)\.so[^ ]*' <<<"$libs" | sort -u | xargs || true)
	[[ -n $other ]] && t_note "mailgw also links: $other (not wolfSSL)"
	if nm --defined-only "$T_BUILD/mailgw" 2>/dev/null | grep -Eq '^[0-9a-f]+ [Tt] wc_AesGcmEncrypt$'; then
		t_ok "wolfSSL is linked into mailgw (wc_AesGcmEncrypt defined in the binary)"
	else
		t_fail "wc_AesGcmEncrypt is not defined in mailgw (wolfSSL not linked statically?)"
	fi
else
	t_fail "build/mailgw missing (run make)"
fi

# --- the wolfSSL build options
if [[ -f $OPTIONS_H ]]; then
	for m in WOLFSSL_AESNI USE_INTEL_SPEEDUP WOLFSSL_SP_X86_64_ASM WOLFSSL_SP_ASM \
		 HAVE_AESGCM WOLFSSL_TLS13; do
		if grep -Eq "^#define $m\b" "$OPTIONS_H"; then
			t_ok "options.h defines $m"
		else
			t_fail "options.h does not define $m"
		fi
	done
else
	t_fail "$OPTIONS_H missing (run make deps)"
fi
version=$(sed -n 's/^#define LIBWOLFSSL_VERSION_STRING "\(.*\)"/\1/p' "$VERSION_H" 2>/dev/null || true)
assert_eq "wolfSSL version is 5.5.4" "5.5.4" "$version"

# --- a second deps run is a no-op and quick
t0=$(date +%s.%N)
if bash tools/deps.sh >"$T_TMP/deps.log" 2>&1; then
	t_ok "tools/deps.sh (second run) succeeds"
else
	t_fail "tools/deps.sh (second run) failed: $(tail -3 "$T_TMP/deps.log" | xargs)"
fi
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
if awk -v e="$elapsed" 'BEGIN { exit !(e < 5) }'; then
	t_ok "second deps run takes ${elapsed} s (< 5 s)"
else
	t_fail "second deps run takes ${elapsed} s (>= 5 s)"
fi

# --- the benchmark: known answer through our build, and ours is the fast one
bench_rate() {   # output-file key
	awk -F'\t' -v k="$2" '$1 == k { print $2; exit }' "$1"
}
ours=$T_BUILD/bench-crypto-ours
debian=$T_BUILD/bench-crypto-debian
if [[ -x $ours && -x $debian ]]; then
	if ldd "$ours" 2>&1 | grep -q libwolfssl; then
		t_fail "bench-crypto-ours links libwolfssl.so"
	else
		t_ok "bench-crypto-ours uses our static wolfSSL"
	fi
	if "$ours" --quick >"$T_TMP/ours.out" 2>"$T_TMP/ours.err" &&
	   grep -q $'^kat\tok' "$T_TMP/ours.out"; then
		t_ok "bench-crypto-ours --quick: AES-GCM known-answer test passes"
	else
		t_fail "bench-crypto-ours --quick failed: $(xargs <"$T_TMP/ours.err")"
	fi
	"$debian" --quick >"$T_TMP/debian.out" 2>"$T_TMP/debian.err" ||
		t_note "bench-crypto-debian failed: $(xargs <"$T_TMP/debian.err")"
	r_ours=$(bench_rate "$T_TMP/ours.out" aes-128-gcm)
	r_deb=$(bench_rate "$T_TMP/debian.out" aes-128-gcm)
	t_note "AES-128-GCM: ours ${r_ours:-?} MB/s, debian ${r_deb:-?} MB/s"
	if awk -v a="$r_ours" -v b="$r_deb" \
		'BEGIN { exit !(a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0 && a >= 2 * b) }'; then
		t_ok "our AES-GCM is at least 2x Debian's (AES-NI build in use)"
	else
		t_fail "our AES-GCM (${r_ours:-?} MB/s) is not 2x Debian's (${r_deb:-?} MB/s)"
	fi
else
	t_fail "build/bench-crypto-ours or -debian missing (run make bench-crypto)"
fi
