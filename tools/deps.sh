#!/usr/bin/env bash
# deps.sh — idempotent installer for mailgw's build and test dependencies.
#
#   tools/deps.sh           Debian packages, deb-src, then our static wolfSSL
#   tools/deps.sh wolfssl   only the wolfSSL build (packages assumed present)
#
# Called by `make deps` and by the Makefile rule for build/wolfssl/lib/libwolfssl.a.
# wolfSSL is built from Debian's source package (apt-get source wolfssl) with the
# appliance's options, static, into build/wolfssl; a stamp file records the
# source version and options so that a second run does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages (add to this list; only missing ones are installed).
# libwolfssl-dev is Debian's prebuilt wolfSSL: installed only so that
# tools/bench/crypto can compare against it. mailgw must never link it.
PACKAGES="libdpdk-dev dpdk dpdk-dev pkg-config libconfig-dev libipsec-mb-dev libcmocka-dev
	python3 python3-scapy iproute2 ethtool iputils-ping iputils-arping netcat-openbsd procps psmisc
	dpkg-dev autoconf automake libtool libwolfssl-dev libnuma-dev libpcap-dev
	build-essential clang libclang-rt-14-dev hping3 tcpdump openssl ca-certificates
	postfix swaks libnet-ssleay-perl gnutls-bin"

# wolfSSL configure options (the appliance's build; see DESIGN.md section 5).
WOLFSSL_OPTIONS="--enable-static --disable-shared
	--enable-aesni --enable-intelasm --enable-sp --enable-sp-asm --enable-cryptocb
	--enable-session-ticket --enable-sni --enable-supportedcurves
	--enable-extended-master --enable-opensslextra --enable-tls13 --enable-ecc
	--enable-curve25519 --enable-chacha --enable-poly1305 --enable-aesgcm
	--enable-sessioncerts --enable-certgen --enable-keygen --enable-certext --enable-ip-alt-name
	--enable-altcertchains
	--disable-examples --disable-crypttests"
WOLFSSL_CFLAGS="-O2 -g -fPIC"
# Macros that must appear in the built options.h.
WOLFSSL_REQUIRED_MACROS="WOLFSSL_AESNI WOLFSSL_SP_X86_64_ASM WOLFSSL_ALT_CERT_CHAINS"

SRC_DIR=build/src
WOLF_PREFIX=$PWD/build/wolfssl
WOLF_LIB=build/wolfssl/lib/libwolfssl.a
WOLF_STAMP=build/wolfssl/.mailgw-stamp
WOLF_OPTIONS_H=build/wolfssl/include/wolfssl/options.h

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0

say()  { echo "deps: $*"; }
die()  { echo "deps: error: $*" >&2; exit 1; }

as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# apt_update [force]: refresh the package index once per run; "force" refreshes
# it again (after deb-src was enabled, an earlier update has no Sources index).
apt_update() {
	[[ $APT_UPDATED -eq 1 && ${1:-} != force ]] && return 0
	say "apt-get update"
	as_root apt-get update -q >/dev/null || die "apt-get update failed"
	APT_UPDATED=1
}

# install_packages: apt-get install only what dpkg does not show as installed.
install_packages() {
	local installed missing=() p
	# shellcheck disable=SC2086
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $PACKAGES 2>/dev/null |
		awk '$2 == "ii" { print $1 }' || true)
	for p in $PACKAGES; do
		grep -qxF "$p" <<<"$installed" || missing+=("$p")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		say "all $(wc -w <<<"$PACKAGES") Debian packages present"
		return 0
	fi
	say "installing: ${missing[*]}"
	apt_update
	# Postfix is a test peer and bench competitor: tests run private instances
	# (postfix -c DIR); the system one is left unconfigured and not started.
	echo "postfix postfix/main_mailer_type select No configuration" |
		as_root debconf-set-selections
	as_root apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install failed for: ${missing[*]}"
}

DEB_SRC_CHANGED=0

# enable_deb_src_deb822 FILE: "Types: deb" -> "Types: deb deb-src".
enable_deb_src_deb822() {
	local f=$1
	if grep -E '^Types:' "$f" | grep -v 'deb-src' | grep -E '[[:space:]]deb([[:space:]]|$)' >/dev/null; then
		as_root sed -i -E '/^Types:/{/deb-src/!{/[[:space:]]deb([[:space:]]|$)/s/[[:space:]]*$/ deb-src/}}' "$f"
		say "enabled deb-src in $f"
		DEB_SRC_CHANGED=1
	fi
}

# enable_deb_src_classic FILE: add a deb-src line for every deb line lacking one.
enable_deb_src_classic() {
	local f=$1 line src added=0
	while IFS= read -r line; do
		src="deb-src${line#deb}"
		if ! grep -qxF "$src" "$f"; then
			echo "$src" | as_root tee -a "$f" >/dev/null
			added=1
		fi
	done < <(grep -E '^deb[[:space:]]' "$f" || true)
	if [[ $added -eq 1 ]]; then
		say "added deb-src lines to $f"
		DEB_SRC_CHANGED=1
	fi
}

# enable_deb_src: deb-src for every enabled apt source (both formats); refresh
# the index when that changed something or no source index is present.
# Where apt keeps its sources and lists (apt-config: APT_CONFIG can move them).
apt_dirs() {
	eval "$(apt-config shell APT_PARTS Dir::Etc::sourceparts/d APT_LIST Dir::Etc::sourcelist/f \
		APT_LISTS Dir::State::lists/d)"
	APT_PARTS=${APT_PARTS:-/etc/apt/sources.list.d/}
	APT_LIST=${APT_LIST:-/etc/apt/sources.list}
	APT_LISTS=${APT_LISTS:-/var/lib/apt/lists/}
}

enable_deb_src() {
	local f
	apt_dirs
	for f in "$APT_PARTS"*.sources; do
		if [[ -f $f ]]; then enable_deb_src_deb822 "$f"; fi
	done
	for f in "$APT_LIST" "$APT_PARTS"*.list; do
		if [[ -f $f ]]; then enable_deb_src_classic "$f"; fi
	done
	if [[ $DEB_SRC_CHANGED -eq 1 ]] || ! compgen -G "$APT_LISTS*_Sources*" >/dev/null; then
		apt_update force
	fi
	return 0
}

# wolfssl_src_version: the newest wolfssl source version the apt index knows ("" if none).
wolfssl_src_version() {
	local v best=""
	for v in $(apt-cache showsrc wolfssl 2>/dev/null | awk '/^Package: /{p=$2} /^Version: / && p=="wolfssl"{print $2}'); do
		if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done
	echo "$best"
}

stamp_text() {   # version
	printf 'source=wolfssl %s\noptions=%s\ncflags=%s\n' "$1" \
		"$(tr -s ' \t\n' ' ' <<<"$WOLFSSL_OPTIONS" | sed 's/ $//')" "$WOLFSSL_CFLAGS"
}

wolfssl_up_to_date() {   # version
	[[ -f $WOLF_LIB && -f $WOLF_STAMP ]] || return 1
	[[ "$(cat "$WOLF_STAMP")" == "$(stamp_text "$1")" ]]
}

fetch_wolfssl_source() {   # version -> prints the extracted directory
	local v=$1 upstream dir
	upstream=${v#*:}; upstream=${upstream%-*}
	rm -rf "$SRC_DIR"/wolfssl-* "$SRC_DIR"/wolfssl_*
	mkdir -p "$SRC_DIR"
	if ! (cd "$SRC_DIR" && apt-get source -q -o APT::Sandbox::User=root "wolfssl=$v" >apt-source.log 2>&1); then
		sed 's/^/deps:   /' "$SRC_DIR/apt-source.log" >&2
		die "could not download Debian's wolfssl source package (is deb-src enabled and the mirror reachable?)"
	fi
	dir=$SRC_DIR/wolfssl-$upstream
	[[ -f $dir/configure.ac ]] || die "apt-get source did not produce $dir"
	echo "$dir"
}

build_wolfssl() {
	local v dir log
	v=$(wolfssl_src_version)
	if [[ -z $v ]]; then
		enable_deb_src
		apt_update force
		v=$(wolfssl_src_version)
		[[ -n $v ]] || die "no wolfssl source package in the apt index (deb-src missing?)"
	fi
	if wolfssl_up_to_date "$v"; then
		say "wolfSSL $v up to date in build/wolfssl"
		return 0
	fi
	say "apt-get source wolfssl=$v (into $SRC_DIR/)"
	dir=$(fetch_wolfssl_source "$v")
	log=$PWD/$SRC_DIR/wolfssl-build.log
	say "building wolfSSL $v (static, AES-NI, SP asm) -> build/wolfssl; log: $log"
	rm -rf build/wolfssl
	# shellcheck disable=SC2086
	if ! (cd "$dir" && ./autogen.sh && \
	      ./configure --prefix="$WOLF_PREFIX" $WOLFSSL_OPTIONS CFLAGS="$WOLFSSL_CFLAGS" && \
	      make -j"$(nproc)" && make install) >"$log" 2>&1; then
		tail -n 30 "$log" | sed 's/^/deps:   /' >&2
		die "wolfSSL build failed (full log: $log)"
	fi
	stamp_text "$v" >"$WOLF_STAMP"
	say "wolfSSL $v installed: $WOLF_LIB"
}

verify_wolfssl() {
	local m
	[[ -f $WOLF_LIB ]] || die "$WOLF_LIB missing after the build"
	[[ -f $WOLF_OPTIONS_H ]] || die "$WOLF_OPTIONS_H missing after the build"
	for m in $WOLFSSL_REQUIRED_MACROS; do
		grep -Eq "^#define $m\b" "$WOLF_OPTIONS_H" ||
			die "$WOLF_OPTIONS_H lacks $m: the wolfSSL build is not the AES-NI/SP-asm build mailgw needs (CPU or compiler without support?)"
	done
}

MODE=${1:-all}
case $MODE in
all)
	install_packages
	enable_deb_src
	build_wolfssl
	;;
wolfssl)
	build_wolfssl
	;;
source-index)
	# What "all" does to the index when packages are missing (an update
	# first, then deb-src), ending with the wolfssl source version found.
	apt_update
	enable_deb_src
	v=$(wolfssl_src_version)
	[[ -n $v ]] || die "no wolfssl source package in the apt index (deb-src missing?)"
	say "wolfssl source $v"
	exit 0
	;;
*)
	die "usage: $0 [wolfssl|source-index]"
	;;
esac
verify_wolfssl
say "done"
