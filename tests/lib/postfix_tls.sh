# postfix_tls.sh — TLS settings for the Postfix instances of tests/lib/smtp.sh:
# a STARTTLS next hop (smtpd) and a sending MTA that relays to mailgw over
# TLS (the smtp client), as in tests/integration/test_tls_postfix.sh.
# Source smtp.sh first; call these between pf_setup and pf_start.
#
#   pf_tls_tlsmgr DIR                    # master.cf: the tlsmgr service TLS needs
#   pf_tls_smtpd DIR LEVEL KEY CRT [CA]  # smtpd: STARTTLS at LEVEL (may|encrypt),
#                                        # TLS details in Received:, a client
#                                        # certificate asked for when CA is given
#   pf_tls_sender DIR RELAY LEVEL CA MATCH [KEY CRT]
#                                        # mail only relayed (nothing local) to
#                                        # RELAY ("[a.b.c.d]:25") at LEVEL, the
#                                        # server certificate checked against CA
#                                        # and name(s) MATCH, KEY/CRT presented
#   pf_queued DIR                        # messages in the instance's queue
#   pf_tls_transport DIR NAME [-o K=V]...  # one more smtp(8) client service
#                                        # NAME with its own settings (source
#                                        # address, TLS level, client cert),
#                                        # for transport_maps to pick
#   pf_rcpt_status LOG RCPT              # the last status logged for RCPT
#   pf_delivery_tls LOG                  # per delivery: "RCPT TLSv1.x|plain"
#
# What Postfix 3.7 logs (smtp_tls_loglevel / smtpd_tls_loglevel = 1), e.g.
#   Verified TLS connection established to 203.0.113.1[203.0.113.1]:25: TLSv1.3
#     with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519
#     server-signature ECDSA (P-256) server-digest SHA256 client-signature ...
#   server certificate verification failed for 203.0.113.1[203.0.113.1]:25: ...
# and what smtpd_tls_received_header = yes writes into Received: (folded):
#   (using TLSv1.3 with cipher ... (256/256 bits) key-exchange X25519 ...)
#   (Client CN "...", Issuer "..." (verified OK))     only with a client cert
#   by NAME.test (Postfix) with ESMTPS id ...

# pf_tls_tlsmgr DIR: the tlsmgr service (the TLS session cache and PRNG seed),
# which pf_setup's master.cf leaves out; Postfix's TLS needs it.
pf_tls_tlsmgr() {
	grep -q '^tlsmgr ' "$1/etc/master.cf" ||
		echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr" >>"$1/etc/master.cf"
}

# pf_tls_smtpd DIR LEVEL KEY CRT [CA]: STARTTLS in the instance's smtpd at
# LEVEL (smtpd_tls_security_level) with the chain KEY,CRT (CRT: leaf then
# CA); with CA, clients are asked for a certificate verified against CA (the
# result shows in Received:, "(verified OK)").
pf_tls_smtpd() {
	local dir=$1 level=$2 key=$3 crt=$4 ca=${5:-}
	pf_tls_tlsmgr "$dir"
	postconf -c "$dir/etc" -e "smtpd_tls_security_level = $level" \
		"smtpd_tls_chain_files = $key, $crt" \
		"smtpd_tls_received_header = yes" "smtpd_tls_loglevel = 1" \
		"smtpd_tls_session_cache_database =" || return 1
	[[ -z $ca ]] ||
		postconf -c "$dir/etc" -e "smtpd_tls_ask_ccert = yes" "smtpd_tls_CAfile = $ca"
}

# pf_tls_sender DIR RELAY LEVEL CA MATCH [KEY CRT]: the instance becomes a
# sending MTA: no domain is local (virtual_mailbox_domains empty), every
# message goes by smtp(8) to relayhost RELAY with smtp_tls_security_level
# LEVEL; the server certificate is verified against CA and must carry one of
# MATCH (smtp_tls_verify_cert_match, names separated by ","); with KEY and
# CRT the client presents that certificate when asked. Failed deliveries
# stay in the queue (no retry within a test run: 1 h back-off).
pf_tls_sender() {
	local dir=$1 relay=$2 level=$3 ca=$4 match=$5 key=${6:-} crt=${7:-}
	pf_tls_tlsmgr "$dir"
	postconf -c "$dir/etc" -e "virtual_mailbox_domains =" "relayhost = $relay" \
		"smtp_tls_security_level = $level" "smtp_tls_CAfile = $ca" \
		"smtp_tls_verify_cert_match = $match" "smtp_tls_loglevel = 1" \
		"smtp_tls_session_cache_database =" \
		"minimal_backoff_time = 3600s" "maximal_backoff_time = 3600s" \
		"queue_run_delay = 3600s" || return 1
	[[ -z $key ]] ||
		postconf -c "$dir/etc" -e "smtp_tls_chain_files = $key, $crt"
}

# pf_queued DIR: how many messages the instance holds (incoming, active,
# deferred, hold: not yet delivered or bounced).
pf_queued() {
	find "$1/queue/incoming" "$1/queue/active" "$1/queue/deferred" "$1/queue/hold" \
		-type f 2>/dev/null | wc -l
}

# pf_tls_transport DIR NAME [-o NAME=VALUE]...: an smtp(8) client service
# NAME in the instance's master.cf with its own settings, e.g.
#   -o smtp_bind_address=203.0.113.20 -o smtp_tls_security_level=encrypt
#   -o smtp_tls_chain_files=KEY,CRT (no spaces: master.cf splits on them)
# A transport_maps entry "rcpt@domain NAME:[a.b.c.d]:25" sends a recipient
# through it, so one instance sends as several partners.
pf_tls_transport() {
	local dir=$1 name=$2
	shift 2
	pf_tls_tlsmgr "$dir"
	echo "$name unix - - n - - smtp $*" >>"$dir/etc/master.cf"
}

# pf_rcpt_status LOG RCPT: what the instance last logged for RCPT after
# "status=": "sent (250 ...)", "bounced (host ... said: 550 ... (in reply to
# MAIL FROM command))", "deferred (...)"; empty while nothing is logged.
pf_rcpt_status() {
	grep -F "to=<$2>," "$1" 2>/dev/null | grep -o 'status=.*' | tail -1 | sed 's/^status=//'
}

# pf_delivery_tls LOG: one line per delivery attempt of the instance's smtp
# clients, "RCPT TLSv1.x" or "RCPT plain": the TLS connection the delivering
# process logged (smtp_tls_loglevel >= 1) since its previous delivery. Right
# only with one session per delivery (smtp_connection_cache_on_demand = no,
# one recipient per message).
pf_delivery_tls() {
	awk '
	match($0, /\[[0-9]+\]: /) { pid = substr($0, RSTART + 1, RLENGTH - 4) }
	/TLS connection established to / {
		if (match($0, /TLSv1(\.[0-9])?/)) t[pid] = substr($0, RSTART, RLENGTH)
		next
	}
	/ to=<[^>]*>, relay=/ && !/relay=none/ {
		match($0, /to=<[^>]*>/)
		print substr($0, RSTART + 4, RLENGTH - 5), (t[pid] == "" ? "plain" : t[pid])
		t[pid] = ""
	}' "$1" 2>/dev/null
}
