# smtp.sh — SMTP peers for integration tests and the demo: private Postfix
# instances (a real next hop that queues and delivers into a Maildir),
# Postfix's smtp-sink, tests/lib/nexthop.py (scriptable faults), and swaks,
# each run inside a network namespace.
#
# In a test (source harness.sh and gw.sh first):
#   postfix_start NS NAME ADDR        # Postfix on ADDR:25 in NS, waits till it answers
#   postfix_maildir NAME              # where its mail lands: $T_TMP/NAME/maildir
#   postfix_count NAME                # messages delivered so far
#   postfix_wait NAME N TIMEOUT       # until N delivered (0) or TIMEOUT s (1)
#   sink_start NS ADDR PORT [smtp-sink options...]     # pid: $SINK_PID
#   nexthop_start NS ADDR PORT [nexthop.py options...] # pid: $NEXTHOP_PID
#   swaks_ns NS ARGS...               # transcript in $SWAKS_OUT, status returned
#   smtp_wait_port NS ADDR PORT [TIMEOUT [BANNER]]
# Every start registers its stop with t_cleanup (harness.sh), or with
# NS_CLEANUPS when there is no harness (tools/demo.sh).
#
# Without the harness (tools/demo.sh), the building blocks:
#   pf_setup DIR ADDR [MAILDIR]       # writes DIR/etc/{main,master}.cf, DIR/queue ...
#   pf_start NS DIR [TIMEOUT]         # postfix -c DIR/etc start in NS, waits for ADDR:25
#   pf_instance NS DIR ADDR [MAILDIR] # both, and pf_stop registered for exit
#   pf_stop DIR                       # SIGTERM the master (= postfix stop), then SIGKILL what is left
#   pf_count MAILDIR; pf_wait MAILDIR N TIMEOUT
#
# A Postfix instance here: every recipient domain (virtual_mailbox_domains =
# static:all), every client (mynetworks = 0.0.0.0/0; smtpd insists on
# reject_unauth_destination somewhere, so smtpd_relay_restrictions =
# permit_mynetworks, reject_unauth_destination), every message into one
# Maildir via the virtual(8) transport, one file per recipient (a message
# with 20 recipients is 20 files), owned by the postfix user. No DNS, no
# reverse lookup of clients (smtpd_peername_lookup = no: they show as
# "unknown[IP]"), no header rewriting or added Message-Id/Date/From/To
# (local_header_rewrite_clients is empty), no in_flow_delay, no per-client
# connection limits, 100 processes per service, messages up to 100 MB. Its
# log is DIR/maillog (postlogd: there is no syslog here), its master's pid
# DIR/queue/pid/master.pid.
# What it adds to a relayed message, at the top of the Maildir file, in order:
#   Return-Path: <sender>                                   (virtual)
#   X-Original-To: rcpt@domain                              (virtual)
#   Delivered-To: rcpt@domain                               (virtual)
#   Received: from HELO (unknown [client IP])               (smtpd, folded:
#   \tby NAME.test (Postfix) with SMTP|ESMTP id QUEUEID      continuation lines
#   \tfor <rcpt>; Sun, 22 Nov 2026 21:44:39 +0000 (UTC)      start with a TAB;
#                                                            "for <rcpt>" only
#                                                            with one recipient)
# then the message exactly as received, each line ending in LF instead of
# CRLF. tests/lib/msgcheck.py strips exactly that block.
#
# Gotchas (Postfix in a namespace):
# - the master must start inside the namespace (ip netns exec NS postfix
#   start): it binds inet_interfaces there, and its smtpd inherit the socket.
#   Several instances (different DIR) run side by side.
# - the `postfix` command checks inet_interfaces against the interfaces of
#   the namespace it runs in: `postfix -c DIR stop|status|check` outside it
#   fails ("no local interface found"); pf_stop signals the master instead.
# - Postfix logs to syslog (/dev/log: none here) until postlogd runs, and to
#   stderr only on a terminal; maillog_file must match maillog_file_prefixes.
#   pf_start shows the reason of a failed start by asking again on a pty.
# - smtpd refuses to start (the master still listens!) without
#   reject_unauth_destination or similar: pf_start waits for a 220 greeting,
#   not just an open port.
# - the master daemonizes; PID 1 here may be slow to reap it, so a stopped
#   master can linger as a zombie (kill -0 succeeds): _alive checks /proc.
# - the instance directory must be searchable by the postfix user (mktemp -d
#   makes $T_TMP 0700: postfix_start opens it to 0711).
# - $T_TMP is under /tmp, not always tmpfs; the queue fsyncs there. 10,000
#   messages measured no faster with SMTP_PF_BASE=/dev/shm (a tmpfs parent for
#   the instance; $T_TMP/NAME is then a link to it), so it is optional.

SMTP_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SWAKS_OUT=
SINK_PID=
NEXTHOP_PID=

_smtp_cleanup() { if declare -F t_cleanup >/dev/null; then t_cleanup "$@"; else NS_CLEANUPS+=("$*"); fi; }
_smtp_note() { if declare -F t_note >/dev/null; then t_note "$*"; else echo "smtp.sh: $*" >&2; fi; }

# smtp_wait_port NS ADDR PORT [TIMEOUT [BANNER]]: 0 once ADDR:PORT accepts a
# connection from inside NS (within TIMEOUT s, default 30) and, with BANNER
# (e.g. 220), sends a greeting starting with it (then QUIT). A listening
# Postfix master does not prove that its smtpd works: pf_start asks for 220.
smtp_wait_port() {
	local ns=$1 addr=$2 port=$3 tmo=${4:-30} banner=${5:-}
	ip netns exec "$ns" python3 - "$addr" "$port" "$tmo" "$banner" <<'PY'
import socket, sys, time
addr, port, end = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
banner = sys.argv[4].encode()
while True:
    try:
        s = socket.create_connection((addr, port), timeout=2)
        if banner:
            line = s.makefile("rb").readline()
            if not line.startswith(banner):
                raise OSError("greeting %r" % line)
            s.sendall(b"QUIT\r\n")
        s.close()
        sys.exit(0)
    except OSError:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.1)
PY
}

# pf_setup DIR ADDR [MAILDIR]: a fresh instance directory DIR (etc/, queue/,
# data/) for a Postfix listening on ADDR:25 and delivering to MAILDIR
# (default DIR/maildir; made here, owned by postfix). DIR must be absolute.
pf_setup() {
	local dir=$1 addr=$2 maildir=${3:-$1/maildir}
	local uid gid name
	if ! uid=$(id -u postfix) || ! gid=$(id -g postfix); then
		echo "pf_setup: no postfix user" >&2
		return 1
	fi
	name=$(basename "$dir" | tr -c 'a-zA-Z0-9.\n-' '-')
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$maildir"/{new,cur,tmp}
	chown root:root "$dir/queue"
	chmod 755 "$dir" "$dir/etc" "$dir/queue"
	chown "$uid:$gid" "$dir/data"
	chown -R "$uid:$gid" "$maildir"
	chmod 755 "$(dirname "$maildir")" 2>/dev/null || true
	cat >"$dir/etc/main.cf" <<CF
# Private test instance written by tests/lib/smtp.sh (pf_setup).
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
myhostname = $name.test
mydomain = test
myorigin = \$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = $addr
inet_protocols = ipv4
mynetworks = 0.0.0.0/0
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_recipient_limit = 10000
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
local_header_rewrite_clients =
always_add_missing_headers = no
in_flow_delay = 0
default_process_limit = 100
virtual_destination_concurrency_limit = 100
message_size_limit = 104857600
mailbox_size_limit = 0
virtual_mailbox_limit = 0
virtual_mailbox_domains = static:all
virtual_mailbox_base = $(dirname "$maildir")
virtual_mailbox_maps = static:$(basename "$maildir")/
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = 1
biff = no
notify_classes =
smtpd_banner = \$myhostname ESMTP Postfix
CF
	cat >"$dir/etc/master.cf" <<'CF'
# service type  private unpriv chroot wakeup maxproc command
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
}

# pf_start NS DIR [TIMEOUT]: start the instance of pf_setup in NS (the
# namespace must already have its address) and wait until it answers.
pf_start() {
	local ns=$1 dir=$2 tmo=${3:-30} addr
	addr=$(postconf -c "$dir/etc" -h inet_interfaces) || return 1
	if ! ip netns exec "$ns" postfix -c "$dir/etc" start >"$dir/start.out" 2>&1; then
		echo "pf_start: postfix -c $dir/etc start failed:" >&2
		# Postfix logs to syslog (there is none) until its postlogd runs, and to
		# stderr only when it is a terminal: ask again on a pseudo-terminal.
		ip netns exec "$ns" script -qc "postfix -c '$dir/etc' check" /dev/null >&2 2>/dev/null
		cat "$dir/start.out" "$dir/maillog" >&2 2>/dev/null
		return 1
	fi
	if ! smtp_wait_port "$ns" "$addr" 25 "$tmo" 220; then
		echo "pf_start: $addr:25 in $ns not answering after $tmo s" >&2
		tail -n 20 "$dir/maillog" >&2 2>/dev/null
		return 1
	fi
}

# _alive PID: the process exists and is not a zombie. (Postfix's master
# daemonizes; its parent is then PID 1, which may be slow to reap it, and
# kill -0 succeeds on a zombie.)
_alive() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# _group_alive PGID: some process of the group is alive (not a zombie).
_group_alive() {
	local p
	for p in $(pgrep -g "$1" 2>/dev/null); do
		_alive "$p" && return 0
	done
	return 1
}

# pf_master DIR: the pid of the instance's master (empty when not running).
pf_master() {
	local pid
	pid=$(sed -n '1s/ //gp' "$1/queue/pid/master.pid" 2>/dev/null)
	[[ -n $pid ]] && _alive "$pid" && echo "$pid"
	return 0
}

# pf_stop DIR: SIGTERM to the master, which is all `postfix stop` does (and
# `postfix -c DIR stop` itself refuses to run outside the instance's namespace:
# "inet_interfaces: no local interface found"); after 5 s, SIGKILL whatever is
# left of the master's process group (the master leads it; every Postfix
# daemon is its child).
pf_stop() {
	local dir=$1 pid i
	pid=$(pf_master "$dir")
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		_group_alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		_group_alive "$pid" || return 0
		sleep 0.1
	done
	return 0
}

# pf_count MAILDIR: messages delivered into MAILDIR (new/ and cur/).
pf_count() {
	find "$1/new" "$1/cur" -maxdepth 1 -type f 2>/dev/null | wc -l
}

# pf_wait MAILDIR N TIMEOUT: 0 when at least N messages are there within TIMEOUT s.
pf_wait() {
	local md=$1 n=$2 tmo=$3 end
	end=$((SECONDS + tmo))
	while (($(pf_count "$md") < n)); do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
	return 0
}

# pf_instance NS DIR ADDR [MAILDIR]: pf_setup + pf_start, its pf_stop
# registered (t_cleanup, or NS_CLEANUPS without the harness) before it starts.
pf_instance() {
	local ns=$1 dir=$2 addr=$3 maildir=${4:-}
	pf_setup "$dir" "$addr" ${maildir:+"$maildir"} || return 1
	_smtp_cleanup "pf_stop '$dir'"
	pf_start "$ns" "$dir"
}

# ---- with the harness ------------------------------------------------------

# The directory of instance NAME: $T_TMP/NAME, or a link there to a directory
# under $SMTP_PF_BASE when that is set (e.g. /dev/shm: a queue on tmpfs).
_pf_dir() { echo "$T_TMP/$1"; }

# postfix_start NS NAME ADDR: a private Postfix in NS on ADDR:25, delivering
# into $(postfix_maildir NAME); stopped at exit.
postfix_start() {
	local ns=$1 name=$2 addr=$3 dir
	dir=$(_pf_dir "$name")
	chmod 711 "$T_TMP"
	if [[ -n ${SMTP_PF_BASE:-} ]]; then
		local real
		real=$(mktemp -d "$SMTP_PF_BASE/mailgw-pf-$name.XXXXXX") || return 1
		chmod 711 "$real"
		ln -s "$real" "$dir"
		_smtp_cleanup "rm -rf '$real'"
		dir=$real
	fi
	pf_instance "$ns" "$dir" "$addr"
}

postfix_maildir() { echo "$T_TMP/$1/maildir"; }
postfix_count() { pf_count "$(postfix_maildir "$1")"; }
postfix_wait() { pf_wait "$(postfix_maildir "$1")" "$2" "$3"; }
# postfix_log NAME: the instance's log file.
postfix_log() { echo "$T_TMP/$1/maillog"; }

# _bg_stop PID: SIGTERM, up to 5 s, then SIGKILL.
_bg_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# sink_start NS ADDR PORT [smtp-sink options...]: smtp-sink in NS on
# ADDR:PORT (backlog 256 unless the options end with another one), output
# in $T_TMP/sink-PORT.out; $SINK_PID.
sink_start() {
	local ns=$1 addr=$2 port=$3 out; shift 3
	local backlog=256
	out=${T_TMP:-/tmp}/sink-$port.out
	ip netns exec "$ns" smtp-sink "$@" "$addr:$port" "$backlog" >"$out" 2>&1 &
	SINK_PID=$!
	_smtp_cleanup "_bg_stop $SINK_PID"
	if ! smtp_wait_port "$ns" "$addr" "$port" 30; then
		_smtp_note "smtp-sink on $addr:$port not answering:"; sed 's/^/# /' "$out" >&2
		return 1
	fi
}

# nexthop_start NS ADDR PORT [nexthop.py options...]: tests/lib/nexthop.py in
# NS on ADDR:PORT; stdout/stderr in $T_TMP/nexthop-PORT.{out,err}; $NEXTHOP_PID.
nexthop_start() {
	local ns=$1 addr=$2 port=$3 base i; shift 3
	base=${T_TMP:-/tmp}/nexthop-$port
	ip netns exec "$ns" python3 "$SMTP_LIB/nexthop.py" --listen "$addr:$port" "$@" \
		>"$base.out" 2>"$base.err" &
	NEXTHOP_PID=$!
	_smtp_cleanup "_bg_stop $NEXTHOP_PID"
	for ((i = 0; i < 300; i++)); do
		grep -qx ready "$base.out" 2>/dev/null && return 0
		kill -0 "$NEXTHOP_PID" 2>/dev/null || break
		sleep 0.1
	done
	_smtp_note "nexthop.py on $addr:$port not ready:"; sed 's/^/# /' "$base.err" >&2
	return 1
}

# swaks_ns NS ARGS...: swaks in NS (--timeout 30 unless ARGS set one), the
# whole transcript in $SWAKS_OUT ($T_TMP/swaks.N.out, N counting calls); returns
# swaks's status. grep the transcript for reply codes: lines "<-  250 ..."
# (expected) and "<** 550 ..." (unexpected).
SWAKS_N=0
swaks_ns() {
	local ns=$1 tmo=(--timeout 30); shift
	[[ " $* " == *" --timeout "* || " $* " == *" -to "* ]] && tmo=()
	SWAKS_N=$((SWAKS_N + 1))
	SWAKS_OUT=${T_TMP:-/tmp}/swaks.$SWAKS_N.out
	ip netns exec "$ns" swaks "${tmo[@]}" "$@" >"$SWAKS_OUT" 2>&1
}
