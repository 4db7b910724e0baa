#!/usr/bin/env bash
# test_deps.sh — the install step on a machine whose apt lists hold no Sources
# index and whose sources lack deb-src (a fresh Debian machine): tools/deps.sh
# must enable deb-src, refresh the index again although it already ran
# apt-get update, and find Debian's wolfssl source package. Runs against a
# private apt configuration (APT_CONFIG: its own sources and lists under
# T_TMP), so the machine's own apt state is not touched.
source "$(dirname "$0")/../lib/harness.sh"

APT=$T_TMP/apt
mkdir -p "$APT/etc/sources.list.d" "$APT/etc/apt.conf.d" "$APT/etc/preferences.d" \
	"$APT/lists/partial" "$APT/cache/archives/partial"
# The machine's sources, reduced to "Types: deb" (no deb-src), classic lines too.
for f in /etc/apt/sources.list.d/*.sources; do
	[[ -f $f ]] && sed -E 's/^Types:.*/Types: deb/' "$f" >"$APT/etc/sources.list.d/$(basename "$f")"
done
if [[ -f /etc/apt/sources.list ]]; then
	grep -E '^deb[[:space:]]' /etc/apt/sources.list >"$APT/etc/sources.list" || true
else
	: >"$APT/etc/sources.list"
fi
cat >"$APT/apt.conf" <<CONF
Dir::Etc "$APT/etc";
Dir::Etc::sourcelist "$APT/etc/sources.list";
Dir::Etc::sourceparts "$APT/etc/sources.list.d";
Dir::Etc::parts "$APT/etc/apt.conf.d";
Dir::Etc::preferencesparts "$APT/etc/preferences.d";
Dir::Etc::trusted "/etc/apt/trusted.gpg";
Dir::Etc::trustedparts "/etc/apt/trusted.gpg.d";
Dir::State::lists "$APT/lists";
Dir::Cache "$APT/cache";
CONF
export APT_CONFIG=$APT/apt.conf

n_src=$(compgen -G "$APT/lists/*_Sources*" | wc -l)
assert_eq "private apt lists start without a Sources index" 0 "$n_src"
t_check "private sources start without deb-src" bash -c "! grep -rqs deb-src '$APT/etc'"

out=$(bash "$T_ROOT/tools/deps.sh" source-index 2>&1); rc=$?
echo "$out" | sed 's/^/#   /'
assert_eq "deps.sh source-index succeeds from a fresh apt state" 0 "$rc"
assert_match "deps.sh names the wolfssl source version" 'wolfssl source [0-9]' "$out"
assert_match "deps.sh refreshed the index twice (before and after deb-src)" \
	'apt-get update.*apt-get update' "$(tr '\n' ' ' <<<"$out")"
t_check "deb-src is now enabled in the private sources" grep -rqs deb-src "$APT/etc"
assert_ge "a Sources index is now in the private lists" "$(compgen -G "$APT/lists/*_Sources*" | wc -l)" 1

# A second run changes nothing and needs no second refresh of the index.
out=$(bash "$T_ROOT/tools/deps.sh" source-index 2>&1); rc=$?
assert_eq "a second run succeeds" 0 "$rc"
assert_eq "a second run refreshes the index once (its own update only)" 1 "$(grep -c 'apt-get update' <<<"$out")"
