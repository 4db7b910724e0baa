#!/usr/bin/env bash
source "$(dirname "$0")/../lib/harness.sh"
# test_config_errors.sh — `mailgw --check-config -c FILE` refuses broken
# configurations with exit status 2 and exactly one line on stderr,
# "FILE:LINE: setting: message" (a setting inside a port is named
# `ports.[N] ("name").setting`, N from 0, one inside a linkem entry
# `linkem.[N] ("port").setting`, an element of a list `routes.[N].domains.[M]`),
# and accepts the example file with "FILE: configuration OK" on stdout and
# exit status 0.
# MAILGW_BIN overrides the binary under test (default build/mailgw).

cd "$T_ROOT" || exit 1
MAILGW=${MAILGW_BIN:-$T_BUILD/mailgw}
EXAMPLE=$T_ROOT/platform/rootfs/etc/mailgw/mailgw.conf

if [[ ! -x $MAILGW ]]; then
	t_fail "$MAILGW missing (run make)"
	exit 1
fi
t_note "usable cores: $(taskset -pc $$ 2>/dev/null | sed 's/.*: //')"

# check FILE: runs the check; sets rc, out and err (stdout, stderr).
check() {
	"$MAILGW" --check-config -c "$1" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	out=$(cat "$T_TMP/out")
	err=$(cat "$T_TMP/err")
}

# refused NAME FILE: exit status 2, nothing on stdout, one line on stderr.
refused() {
	assert_eq "$1: exit status" 2 "$rc"
	assert_eq "$1: nothing on stdout" "" "$out"
	assert_eq "$1: exactly one line on stderr" 1 "$(wc -l <"$T_TMP/err")"
}

# broken NAME EXPECTED: the configuration on stdin is refused with the one
# line "FILE:EXPECTED".
broken() {
	local file=$T_TMP/$1.conf
	cat >"$file"
	check "$file"
	refused "$1"
	assert_eq "$1: message" "$file:$2" "$err"
}

# broken_cores NAME EXPECTED: as broken, but EXPECTED is followed by this
# machine's list of usable cores and ")".
broken_cores() {
	local file=$T_TMP/$1.conf
	cat >"$file"
	check "$file"
	refused "$1"
	if [[ $err == "$file:$2"* ]]; then
		t_ok "$1: message starts with '$2'"
	else
		t_fail "$1: expected '$file:$2...', got '$err'"
	fi
	assert_match "$1: message lists the usable cores" '\(usable cores: [0-9][0-9,-]*\)$' "$err"
}

PORTS='ports = (
  { name = "ext"; device = "net_af_packet0"; address = "192.0.2.1/24"; },
  { name = "int"; device = "net_af_packet1"; address = "10.0.0.1/24"; }
);'

# --- the example file passes
check "$EXAMPLE"
assert_eq "example: exit status" 0 "$rc"
assert_eq "example: stdout" "$EXAMPLE: configuration OK" "$out"
assert_eq "example: nothing on stderr" "" "$err"

# --- a missing file
check "$T_TMP/nonexistent.conf"
refused "missing file"
assert_eq "missing file: message" \
	"$T_TMP/nonexistent.conf: cannot read: No such file or directory" "$err"

# --- libconfig's own errors
broken syntax "3: syntax error" <<EOF
version = 1;
system: {
  memory_mb = ;
};
$PORTS
EOF

broken duplicate-setting "3: duplicate setting name" <<EOF
version = 1;
system: { memory_mb = 256; };
system: { memory_mb = 512; };
$PORTS
EOF

# --- unknown settings
broken typo "3: system.worker_coers: unknown setting (did you mean \"worker_cores\"?)" <<EOF
version = 1;
system: {
  worker_coers = [ 1 ];
};
$PORTS
EOF

broken unknown-port-setting "5: ports.[1] (\"int\").vlan: unknown setting" <<EOF
version = 1;
ports = (
  { name = "ext"; device = "net_af_packet0"; address = "192.0.2.1/24"; },
  { name = "int"; device = "net_af_packet1"; address = "10.0.0.1/24";
    vlan = 5; }
);
EOF

# --- types and ranges
broken wrong-type "4: system.memory_mb: expected an integer, got a string" <<EOF
version = 1;
system: {
  hugepages = false;
  memory_mb = "256";
};
$PORTS
EOF

broken float "3: system.memory_mb: expected an integer, got a float" <<EOF
version = 1;
system: {
  memory_mb = 256.0;
};
$PORTS
EOF

broken out-of-range "3: system.memory_mb: 32 is out of range (64..65536)" <<EOF
version = 1;
system: {
  memory_mb = 32;
};
$PORTS
EOF

broken not-power-of-two "4: system.limits.rx_descriptors: 1000 is not a power of two" <<EOF
version = 1;
system: {
  limits: {
    rx_descriptors = 1000;
  };
};
$PORTS
EOF

broken poll-mode "3: system.poll_mode: \"fast\" is unknown (expected \"busy\" or \"adaptive\")" <<EOF
version = 1;
system: {
  poll_mode = "fast";
};
$PORTS
EOF

# --- cores
broken_cores nonexistent-core "3: system.worker_cores: core 999 does not exist or is not usable (usable cores: " <<EOF
version = 1;
system: {
  worker_cores = [ 999 ];
};
$PORTS
EOF

broken shared-core "4: system.worker_cores: core 0 is also the control core (allowed only with system.allow_shared_cores = true)" <<EOF
version = 1;
system: {
  control_core = 0;
  worker_cores = [ 0 ];
};
$PORTS
EOF

# --- ports
broken missing-device "4: ports.[1] (\"int\").device: missing (required)" <<EOF
version = 1;
ports = (
  { name = "ext"; device = "net_af_packet0"; address = "192.0.2.1/24"; },
  {
    name = "int";
    address = "10.0.0.1/24";
  }
);
EOF

broken cidr-prefix-33 "4: ports.[1] (\"int\").address: \"10.0.0.1/33\" is not an IPv4 address with a prefix length (a.b.c.d/1..32)" <<EOF
version = 1;
ports = (
  { name = "ext"; device = "net_af_packet0"; address = "192.0.2.1/24"; },
  { name = "int"; device = "net_af_packet1"; address = "10.0.0.1/33"; }
);
EOF

broken cidr-three-octets "4: ports.[1] (\"int\").address: \"10.0.0/24\" is not an IPv4 address with a prefix length (a.b.c.d/1..32)" <<EOF
version = 1;
ports = (
  { name = "ext"; device = "net_af_packet0"; address = "192.0.2.1/24"; },
  { name = "int"; device = "net_af_packet1"; address = "10.0.0/24"; }
);
EOF

broken duplicate-address "6: ports.[1] (\"int\").address: 192.0.2.1 is already the address of ports.[0] (\"ext\")" <<EOF
version = 1;
ports = (
  { name = "ext"; device = "net_af_packet0"; address = "192.0.2.1/24"; },
  { name = "int";
    device = "net_af_packet1";
    address = "192.0.2.1/24"; }
);
EOF

broken duplicate-name "4: ports.[1] (\"ext\").name: \"ext\" is already used by ports.[0]" <<EOF
version = 1;
ports = (
  { name = "ext"; device = "net_af_packet0"; address = "192.0.2.1/24"; },
  { name = "ext"; device = "net_af_packet1"; address = "10.0.0.1/24"; }
);
EOF

broken missing-ports "1: ports: missing (required)" <<EOF
version = 1;
system: { memory_mb = 256; };
EOF

# --- tcp, services, linkem
broken tcp-typo "3: tcp.max_conections: unknown setting (did you mean \"max_connections\"?)" <<EOF
version = 1;
tcp: {
  max_conections = 100;
};
$PORTS
EOF

broken rto-initial-below-min "4: tcp.rto_initial_ms: 100 is below tcp.rto_min_ms (200)" <<EOF
version = 1;
tcp: {
  rto_min_ms = 200;
  rto_initial_ms = 100;
};
$PORTS
EOF

broken time-wait-max "3: tcp.time_wait_max: 10000 is above tcp.max_connections (8192, the default)" <<EOF
version = 1;
tcp: {
  time_wait_max = 10000;
};
$PORTS
EOF

broken ephemeral-reversed "3: tcp.ephemeral_ports: [60999, 32768]: the first port must be below the last" <<EOF
version = 1;
tcp: {
  ephemeral_ports = [ 60999, 32768 ];
};
$PORTS
EOF

broken ephemeral-small "3: tcp.ephemeral_ports: [40000, 40010] has 11 ports, at least 64" <<EOF
version = 1;
tcp: {
  ephemeral_ports = [ 40000, 40010 ];
};
$PORTS
EOF

broken unknown-service "3: services.chargen: unknown setting" <<EOF
version = 1;
services: {
  chargen = { enabled = true; port = 19; };
};
$PORTS
EOF

broken service-port-clash "4: services.discard.port: 7 is already used by services.echo" <<EOF
version = 1;
services: {
  echo = { enabled = true; };
  discard = { enabled = true; port = 7; };
};
$PORTS
EOF

broken service-in-ephemeral "3: services.echo.port: 40000 is inside tcp.ephemeral_ports [32768, 60999]" <<EOF
version = 1;
services: {
  echo = { enabled = true; port = 40000; };
};
$PORTS
EOF

broken linkem-unknown-port "7: linkem.[0] (\"dmz\").port: \"dmz\" is not a configured port (expected \"ext\" or \"int\")" <<EOF
version = 1;
$PORTS
linkem = (
  { port = "dmz"; loss = 1.0; }
);
EOF

broken linkem-direction "7: linkem.[0] (\"ext\").direction: \"in\" is unknown (expected \"rx\", \"tx\" or \"both\")" <<EOF
version = 1;
$PORTS
linkem = (
  { port = "ext"; direction = "in"; }
);
EOF

broken linkem-loss "8: linkem.[0] (\"ext\").loss: 101 is out of range (0..100)" <<EOF
version = 1;
$PORTS
linkem = (
  { port = "ext";
    loss = 101; }
);
EOF

broken linkem-overlap "8: linkem.[1] (\"int\").direction: \"rx\" overlaps \"both\" of linkem.[0] (\"int\")" <<EOF
version = 1;
$PORTS
linkem = (
  { port = "int"; },
  { port = "int"; direction = "rx"; }
);
EOF

broken linkem-typo "7: linkem.[0] (\"ext\").los: unknown setting (did you mean \"loss\"?)" <<EOF
version = 1;
$PORTS
linkem = (
  { port = "ext"; los = 2.0; }
);
EOF

# --- smtp and routes ($PORTS is lines 2-5)
broken smtp-typo "7: smtp.prot: unknown setting (did you mean \"port\"?)" <<EOF
version = 1;
$PORTS
smtp: {
  prot = 25;
};
EOF

broken routes-typo "6: route: unknown setting (did you mean \"routes\"?)" <<EOF
version = 1;
$PORTS
route = ( );
EOF

broken smtp-hostname "7: smtp.hostname: \"mx_1.example\" is not a valid domain name" <<EOF
version = 1;
$PORTS
smtp: {
  hostname = "mx_1.example";
};
EOF

broken smtp-limit "8: smtp.limits.recipients: 0 is out of range (1..100000)" <<EOF
version = 1;
$PORTS
smtp: {
  limits: {
    recipients = 0;
  };
};
EOF

broken smtp-message-size "8: smtp.limits.message_size: 1099511627777 is out of range (1024..1099511627776)" <<EOF
version = 1;
$PORTS
smtp: {
  limits: {
    message_size = 1099511627777L;
  };
};
EOF

broken smtp-timeout "8: smtp.timeouts.data_end: 3601 is out of range (1..3600)" <<EOF
version = 1;
$PORTS
smtp: {
  timeouts: {
    data_end = 3601;
  };
};
EOF

broken smtp-cache-size "8: smtp.client.cache_size: 2000 is above smtp.client.connections_per_worker (1088, the default)" <<EOF
version = 1;
$PORTS
smtp: {
  client: {
    cache_size = 2000;
  };
};
EOF

broken smtp-port-clash "8: smtp.port: 2525 is already used by services.echo" <<EOF
version = 1;
$PORTS
services: { echo = { enabled = true; port = 2525; }; };
smtp: {
  port = 2525;
};
EOF

broken accepted-domain "8: smtp.accepted_domains.[3]: \"exa mple.com\" is not a valid domain name" <<EOF
version = 1;
$PORTS
smtp: {
  accepted_domains = [ "a.example", "b.example", "c.example",
                       "exa mple.com" ];
};
EOF

broken accepted-star "7: smtp.accepted_domains.[0]: \"*\" is allowed only in routes (the default route): accepting every domain would make an open relay" <<EOF
version = 1;
$PORTS
smtp: {
  accepted_domains = [ "*" ];
};
EOF

broken accepted-idn "7: smtp.accepted_domains.[0]: \"bücher.example\" is not ASCII (write an internationalized domain name in its A-label form, \"xn--...\")" <<EOF
version = 1;
$PORTS
smtp: {
  accepted_domains = [ "bücher.example" ];
};
EOF

broken accepted-duplicate "9: smtp.accepted_domains.[1]: \"Example.COM.\" is already listed at smtp.accepted_domains.[0] (line 8)" <<EOF
version = 1;
$PORTS
smtp: {
  accepted_domains = [
    "example.com",
    "Example.COM." ];
};
EOF

broken relay-open "7: smtp.relay_networks.[1]: \"0.0.0.0/0\" would make an open relay" <<EOF
version = 1;
$PORTS
smtp: {
  relay_networks = [ "10.20.0.0/24", "0.0.0.0/0" ];
};
EOF

broken relay-host-bits "7: smtp.relay_networks.[0]: \"10.20.0.1/24\" has host bits set (0.0.0.1; the network is 10.20.0.0/24)" <<EOF
version = 1;
$PORTS
smtp: {
  relay_networks = [ "10.20.0.1/24" ];
};
EOF

broken next-hop-address "9: routes.[1].next_hops.[0]: \"10.20.0.300:25\" is not an IPv4 address with an optional :PORT" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ]; next_hops = [ "10.20.0.10" ]; },
  { domains = [ "b.example" ];
    next_hops = [ "10.20.0.300:25" ]; }
);
EOF

broken no-next-hops "7: routes.[0]: no next_hops" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ]; }
);
EOF

broken too-many-next-hops "8: routes.[0].next_hops: has 9 entries, at most 8" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ];
    next_hops = [ "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5",
                  "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9" ]; }
);
EOF

broken next-hop-typo "8: routes.[0].next_hops.[0].prot: unknown setting (did you mean \"port\"?)" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ];
    next_hops = ( { address = "10.0.0.1"; prot = 25; } ); }
);
EOF

broken route-duplicate "11: routes.[2].domains.[0]: \"example.com\" is already routed by routes.[0] (line 8)" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "example.org",
                "example.com" ];
    next_hops = [ "10.0.0.1" ]; },
  { domains = [ "*" ]; next_hops = [ "10.0.0.2" ]; },
  { domains = [ "example.com" ]; next_hops = [ "10.0.0.3" ]; }
);
EOF

broken second-default-route "8: routes.[1].domains.[0]: \"*\": routes.[0] (line 7) is already the default route" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "*" ]; next_hops = [ "10.0.0.1" ]; },
  { domains = [ "*" ]; next_hops = [ "10.0.0.2" ]; }
);
EOF

# --- tls (relative paths are taken from the file's directory, $T_TMP)
touch "$T_TMP/gw.crt" "$T_TMP/gw.key" "$T_TMP/ca.pem"
mkdir -p "$T_TMP/certs"

broken tls-enabled-without-certificates "7: tls.enabled: STARTTLS needs at least one entry in tls.certificates" <<EOF
version = 1;
$PORTS
tls: {
  enabled = true;
};
EOF

broken tls-certificate-missing "8: tls.certificates.[1].cert: $T_TMP/rsa.crt: No such file or directory" <<EOF
version = 1;
$PORTS
tls: {
  certificates = ( { cert = "gw.crt"; key = "gw.key"; },
                   { cert = "rsa.crt"; key = "gw.key"; } );
};
EOF

broken tls-key-directory "7: tls.certificates.[0].key: $T_TMP/certs: Is a directory" <<EOF
version = 1;
$PORTS
tls: {
  certificates = ( { cert = "$T_TMP/gw.crt"; key = "certs"; } );
};
EOF

broken tls-min-version "7: tls.min_version: \"1.1\" is below the TLS 1.2 floor (inbound TLS 1.0/1.1 is never accepted)" <<EOF
version = 1;
$PORTS
tls: {
  min_version = "1.1";
};
EOF

broken tls13-off-with-1.3-floor "8: tls.tls13: is false, but tls.min_version \"1.3\" leaves only TLS 1.3" <<EOF
version = 1;
$PORTS
tls: {
  min_version = "1.3";
  tls13 = false;
};
EOF

broken tls-cipher-cbc "7: tls.ciphers: \"ECDHE-RSA-AES128-SHA256\" is not an AEAD suite (CBC); inbound suites must be ECDHE with AES-GCM or ChaCha20-Poly1305" <<EOF
version = 1;
$PORTS
tls: {
  ciphers = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256";
};
EOF

broken tls-cipher-rsa-kx "7: tls.ciphers: \"AES256-GCM-SHA384\" is not forward-secret (RSA key exchange); inbound suites must be ECDHE with AES-GCM or ChaCha20-Poly1305" <<EOF
version = 1;
$PORTS
tls: {
  ciphers = "AES256-GCM-SHA384";
};
EOF

broken tls-cipher-dhe "7: tls.ciphers: \"DHE-RSA-AES256-GCM-SHA384\" uses DHE key exchange (DHE is not supported, use ECDHE); inbound suites must be ECDHE with AES-GCM or ChaCha20-Poly1305" <<EOF
version = 1;
$PORTS
tls: {
  ciphers = "DHE-RSA-AES256-GCM-SHA384";
};
EOF

broken tls-cipher-3des "7: tls.ciphers: \"DES-CBC3-SHA\" is not forward-secret (RSA key exchange) and is not an AEAD suite (3DES-CBC, 64-bit blocks); inbound suites must be ECDHE with AES-GCM or ChaCha20-Poly1305" <<EOF
version = 1;
$PORTS
tls: {
  ciphers = "DES-CBC3-SHA";
};
EOF

broken tls-cipher-typo "7: tls.ciphers: unknown cipher suite \"ECDHE-ECDSA-AES128-GCM-SHA265\" (did you mean \"ECDHE-ECDSA-AES128-GCM-SHA256\"?)" <<EOF
version = 1;
$PORTS
tls: {
  ciphers = "ECDHE-ECDSA-AES128-GCM-SHA265";
};
EOF

broken tls-cipher-keyword "7: tls.ciphers: \"HIGH\" is not a cipher suite name (OpenSSL's keywords and operators are not supported: list suite names)" <<EOF
version = 1;
$PORTS
tls: {
  ciphers = "HIGH:!aNULL:!MD5";
};
EOF

broken tls-curve "7: tls.curves: unknown curve \"P-192\" (expected \"X25519\", \"P-256\", \"P-384\" or \"P-521\")" <<EOF
version = 1;
$PORTS
tls: {
  curves = "X25519:P-192";
};
EOF

broken tls-client-secure-default "8: tls.client.level: \"secure\" cannot be the default: it needs each next hop's certificate names (set tls_level = \"secure\" and tls_names in the route)" <<EOF
version = 1;
$PORTS
tls: {
  client: {
    level = "secure";
  };
};
EOF

broken tls-client-cert-without-key "8: tls.client.cert: set without tls.client.key (both or neither)" <<EOF
version = 1;
$PORTS
tls: {
  client: {
    cert = "gw.crt";
  };
};
EOF

broken route-tls-level "8: routes.[0].tls_level: \"strict\" is unknown (expected \"none\", \"may\", \"encrypt\", \"verify\" or \"secure\")" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ]; next_hops = [ "10.0.0.1" ];
    tls_level = "strict"; }
);
EOF

broken route-tls-names-without-secure "9: routes.[0].tls_names: only used with tls_level = \"secure\"" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ]; next_hops = [ "10.0.0.1" ];
    tls_level = "verify";
    tls_names = [ "mx.a.example" ]; }
);
EOF

broken route-secure-without-tls-names "8: routes.[0].tls_level: \"secure\" needs tls_names (the names a next hop's certificate may carry)" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ]; next_hops = [ "10.0.0.1" ];
    tls_level = "secure"; }
);
EOF

broken route-tls-names-star "8: routes.[0].tls_names.[1]: \"*\" would accept any certificate" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ]; next_hops = [ "10.0.0.1" ]; tls_level = "secure";
    tls_names = [ "mx.a.example", "*" ]; }
);
EOF

# A complete tls group, relative and absolute paths.
cat >"$T_TMP/tls-ok.conf" <<EOF
version = 1;
$PORTS
tls: {
  certificates = ( { cert = "gw.crt"; key = "$T_TMP/gw.key"; } );
  min_version = "1.2";
  tls13 = true;
  ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305";
  curves = "X25519:prime256v1";
  ca_file = "ca.pem";
  request_client_cert = true;
  expiry_warning_days = 14;
  client: { level = "encrypt"; ca_file = "ca.pem"; cert = "gw.crt"; key = "gw.key"; };
};
routes = (
  { domains = [ "partner.example" ]; next_hops = [ "10.0.0.1" ]; tls_level = "secure";
    tls_names = [ "mx.partner.example", "*.partner.example" ]; },
  { domains = [ "*" ]; next_hops = [ "10.0.0.2" ]; tls_level = "may"; }
);
EOF
check "$T_TMP/tls-ok.conf"
assert_eq "tls-ok: exit status" 0 "$rc"
assert_eq "tls-ok: stdout" "$T_TMP/tls-ok.conf: configuration OK" "$out"
assert_eq "tls-ok: nothing on stderr" "" "$err"

# "verify" needs the trust anchors: hide Debian's bundle in a mount namespace
# (as root, or in an unprivileged user namespace) and see it refused.
cat >"$T_TMP/tls-verify.conf" <<EOF
version = 1;
$PORTS
routes = (
  { domains = [ "a.example" ]; next_hops = [ "10.0.0.1" ];
    tls_level = "verify"; }
);
EOF
CA_DEFAULT=/etc/ssl/certs/ca-certificates.crt
# hidden COMMAND...: run it with an empty /etc/ssl/certs; 77 when that
# cannot be done here.
hidden() {
	local u
	for u in "" -r; do
		if unshare $u -m true 2>/dev/null; then
			unshare $u -m bash -c 'mount -t tmpfs none /etc/ssl/certs && exec "$@"' hidden "$@"
			return
		fi
	done
	return 77
}
if hidden true; then
	hidden "$MAILGW" --check-config -c "$T_TMP/tls-verify.conf" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?; out=$(cat "$T_TMP/out"); err=$(cat "$T_TMP/err")
	refused "tls-verify-without-bundle"
	assert_eq "tls-verify-without-bundle: message" "$T_TMP/tls-verify.conf:8: routes.[0].tls_level: \"verify\" verifies certificates against tls.client.ca_file, but $CA_DEFAULT (the default) cannot be read: No such file or directory (install ca-certificates or set tls.client.ca_file)" "$err"
	sed -i 's/"verify"/"encrypt"/' "$T_TMP/tls-verify.conf"
	hidden "$MAILGW" --check-config -c "$T_TMP/tls-verify.conf" >/dev/null 2>&1
	assert_eq "tls-encrypt-without-bundle: exit status" 0 "$?"
	sed -i 's/"encrypt"/"verify"/' "$T_TMP/tls-verify.conf"
else
	t_note "no mount namespace here: the missing default bundle is not tested"
fi
if [[ -r $CA_DEFAULT ]]; then
	check "$T_TMP/tls-verify.conf"
	assert_eq "tls-verify with $CA_DEFAULT: exit status" 0 "$rc"
fi
