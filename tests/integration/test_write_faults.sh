#!/usr/bin/env bash
# test_write_faults.sh — no hole in a relayed message when the packet pool
# runs dry (issue 12, item 3). The gateway runs with
# system.test_fault_alloc_every, so every Nth packet-buffer allocation of
# its data path fails: TCP stream writes towards the next hop take fewer
# bytes than their space promised, segments and ACKs are not built. smtpgen's
# client sends a size mix through it, in plaintext and with STARTTLS on both
# legs; smtpgen's sink checks each body against its embedded SHA-256. Every
# 250 the client got must be a message the sink received byte for byte, and
# the sink must see no mismatch (a hole, or a TLS record garbled by a retry
# with other bytes, shows there). The counters show the faults hit the data path.
source "$(dirname "$0")/../lib/harness.sh"
source "$T_ROOT/tests/lib/gw.sh"

SG=$T_BUILD/smtpgen
PKI=$T_TMP/pki
EVERY=${FAULT_EVERY:-9}
t_check "smtpgen is built" test -x "$SG"
t_check "test PKI generated" "$T_ROOT/tools/mkcerts" -q -o "$PKI"

jget() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d=d.get(k, {}) if isinstance(d, dict) else {}
print(d if d != {} else 0)' "$1" "$2" 2>/dev/null; }

SINK_PID_FILE=$T_TMP/sink.pid
sink_up() {   # sink_up ARGS...: smtpgen sink in $INT_NS on 10.20.0.10:25
	rm -f "$SINK_PID_FILE"
	ip netns exec "$INT_NS" "$SG" sink -L "$INT_HOST_IP:25" --pid-file "$SINK_PID_FILE" \
		--json-report "$T_TMP/sink.json" "$@" >"$T_TMP/sink.out" 2>"$T_TMP/sink.err" &
	SINK_JOB=$!
	local i
	for ((i = 0; i < 100; i++)); do [[ -s $SINK_PID_FILE ]] && return 0; sleep 0.05; done
	return 1
}
sink_down() {
	SRC=255
	[[ -s $SINK_PID_FILE ]] || return 0
	kill -TERM "$(cat "$SINK_PID_FILE")" 2>/dev/null
	wait "$SINK_JOB"; SRC=$?
	rm -f "$SINK_PID_FILE"
}
t_cleanup '[[ -s $SINK_PID_FILE ]] && kill -KILL "$(cat "$SINK_PID_FILE")"'
client() {    # client NAME ARGS...: smtpgen client in $EXT_NS to the gateway
	local name=$1; shift
	ip netns exec "$EXT_NS" timeout 240 "$SG" client -S "$EXT_GW_IP:25" --json --to "user%d@example.com" \
		--from "sender@partner.test" --allow-fail "$@" >"$T_TMP/$name.json" 2>"$T_TMP/$name.err"
	CRC=$?
}

# run NAME LEVEL SINK_ARGS -- CLIENT_ARGS: one gateway run with the fault knob on
run() {
	local name=$1 level=$2; shift 2
	local sargs=() cargs=()
	while [[ $1 != -- ]]; do sargs+=("$1"); shift; done
	shift; cargs=("$@")
	GW_SYSTEM_EXTRA="test_fault_alloc_every = $EVERY;"
	GW_EXTRA_GROUPS="smtp = { hostname = \"mx.gw.test\"; accepted_domains = [ \"example.com\" ];
  limits = { sessions_per_client = 500; }; };
tls = { certificates = ( { cert = \"$PKI/gw/ecdsa.crt\"; key = \"$PKI/gw/ecdsa.key\"; } );
  client = { level = \"$level\"; }; };
routes = ( { domains = [ \"example.com\" ]; next_hops = [ \"$INT_HOST_IP:25\" ]; } );"
	gw_config >"$T_TMP/gw-$name.conf"
	t_check "$name: gateway starts with test_fault_alloc_every = $EVERY" gw_start "$T_TMP/gw-$name.conf"
	t_check "$name: sink starts" sink_up "${sargs[@]}"
	client "$name" "${cargs[@]}"
	sink_down
	local ok failed verified
	ok=$(jget "$T_TMP/$name.json" messages.ok); failed=$(jget "$T_TMP/$name.json" messages.failed)
	verified=$(jget "$T_TMP/sink.json" messages.verified)
	t_note "$name: client ok=$ok failed=$failed; sink verified=$verified;" \
		"port.tx_no_mbuf=$(gw_stat port.tx_no_mbuf) smtp.data_short_writes=$(gw_stat smtp.data_short_writes)" \
		"tls.write_held=$(gw_stat tls.write_held)"
	assert_eq "$name: smtpgen client finished (exit 0)" 0 "$CRC"
	assert_eq "$name: sink exit 0 (no body mismatch)" 0 "$SRC"
	assert_eq "$name: sink: no mismatched body" 0 "$(jget "$T_TMP/sink.json" messages.mismatched)"
	assert_ge "$name: most messages went through despite the faults ($ok of $N)" "$ok" $((N * 9 / 10))
	assert_ge "$name: every 250 the client got is a message the sink verified" "$verified" "$ok"
	assert_ge "$name: the faults hit the data path (port.tx_no_mbuf)" "$(gw_stat port.tx_no_mbuf)" 1
	if [[ $level == none ]]; then
		assert_ge "$name: writes to the next hop came up short, resumed where they stopped" \
			"$(gw_stat smtp.data_short_writes)" 1
	else
		assert_ge "$name: TLS records the lower stream cut short, the rest held and sent first" \
			"$(gw_stat tls.write_held)" 1
	fi
	[[ -z ${KEEP_LOGS:-} ]] || cp "$GW_LOG" "$T_TMP/$name.json" "$T_TMP/$name.err" "$KEEP_LOGS/" 2>/dev/null
	[[ -z ${KEEP_LOGS:-} ]] || mv "$KEEP_LOGS/mailgw.log" "$KEEP_LOGS/$name.log"
	gw_stop
	assert_eq "$name: gateway exits cleanly" 0 "$GW_EXIT"
}

topo_two_ports
N=${N_MSG:-60}

# ---- plaintext both legs ----
run plain none -- -s 4 -m $N --size-mix 2k:30,20k:40,150k:30

# ---- STARTTLS both legs (level encrypt to the sink) ----
run tls encrypt --starttls --cert "$PKI/nexthop/server.crt" --key "$PKI/nexthop/server.key" -- \
	-s 4 -m $N --size-mix 2k:30,20k:40,150k:30 --starttls --ca "$PKI/ca/ca.crt" --servername mx.gw.test
