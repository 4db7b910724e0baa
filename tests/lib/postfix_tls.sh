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
