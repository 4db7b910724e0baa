/*
 * stats.h — every counter the gateway keeps, with the name a user reads.
 *
 * Counters live per worker and per port (w->ctr[port][id]); the control
 * plane adds them up for `mailgwctl show stats` and telemetry. Each received
 * frame ends in exactly one counter of kind STATS_RX_DONE (consumed) or
 * STATS_RX_DROP (dropped, the name says why), so
 *   port.rx_frames == sum(RX_DONE) + sum(RX_DROP)
 * holds at all times and tests can account for every frame.
 */
#ifndef MAILGW_APP_STATS_H
#define MAILGW_APP_STATS_H

#include <stdint.h>

enum stats_kind {
	STATS_EVENT = 0,    /* something happened; not a frame's fate */
	STATS_RX_DONE = 1,  /* a received frame was consumed */
	STATS_RX_DROP = 2,  /* a received frame was dropped for this reason */
	STATS_TX_DROP = 3,  /* a frame we meant to send was dropped */
};

/* X(ID, "name", kind, "help") */
#define STATS_COUNTERS(X) \
	X(PORT_RX_FRAMES,       "port.rx_frames",        STATS_EVENT,   "frames received") \
	X(PORT_RX_BYTES,        "port.rx_bytes",         STATS_EVENT,   "bytes received") \
	X(PORT_TX_FRAMES,       "port.tx_frames",        STATS_EVENT,   "frames sent") \
	X(PORT_TX_BYTES,        "port.tx_bytes",         STATS_EVENT,   "bytes sent") \
	X(PORT_TX_RING_FULL,    "port.tx_ring_full",     STATS_TX_DROP, "frames dropped: TX ring full") \
	X(PORT_TX_NO_MBUF,      "port.tx_no_mbuf",       STATS_TX_DROP, "frames not built: packet pool empty") \
	X(ETH_RX_RUNT,          "eth.rx_runt",           STATS_RX_DROP, "frames shorter than an Ethernet header") \
	X(ETH_RX_OVERSIZE,      "eth.rx_oversize",       STATS_RX_DROP, "frames longer than the port MTU allows") \
	X(ETH_RX_MULTISEG,      "eth.rx_multiseg",       STATS_RX_DROP, "frames in chained buffers") \
	X(ETH_RX_OTHER_HOST,    "eth.rx_other_host",     STATS_RX_DROP, "frames for another MAC address") \
	X(ETH_RX_MULTICAST,     "eth.rx_multicast",      STATS_RX_DROP, "multicast frames") \
	X(ETH_RX_OWN_SOURCE,    "eth.rx_own_source",     STATS_RX_DROP, "frames with our own source MAC") \
	X(ETH_RX_BAD_SOURCE,    "eth.rx_bad_source",     STATS_RX_DROP, "frames with a multicast/zero source MAC") \
	X(ETH_RX_VLAN,          "eth.rx_vlan",           STATS_RX_DROP, "VLAN-tagged frames (no VLAN configured)") \
	X(ETH_RX_IPV6,          "eth.rx_ipv6",           STATS_RX_DROP, "IPv6 frames (IPv6 not configured)") \
	X(ETH_RX_UNKNOWN_TYPE,  "eth.rx_unknown_type",   STATS_RX_DROP, "frames of an unknown EtherType") \
	X(ARP_RX_REQUEST,       "arp.rx_request",        STATS_RX_DONE, "ARP requests for our address, answered") \
	X(ARP_RX_REPLY,         "arp.rx_reply",          STATS_RX_DONE, "ARP replies to us") \
	X(ARP_RX_GRATUITOUS,    "arp.rx_gratuitous",     STATS_RX_DONE, "gratuitous ARP / announcements") \
	X(ARP_RX_NOT_FOR_US,    "arp.rx_not_for_us",     STATS_RX_DROP, "ARP for another address") \
	X(ARP_RX_TRUNCATED,     "arp.rx_truncated",      STATS_RX_DROP, "ARP packets too short") \
	X(ARP_RX_BAD_FORMAT,    "arp.rx_bad_format",     STATS_RX_DROP, "ARP with wrong hardware/protocol type or length") \
	X(ARP_RX_BAD_OP,        "arp.rx_bad_op",         STATS_RX_DROP, "ARP with an unknown operation") \
	X(ARP_RX_BAD_SENDER,    "arp.rx_bad_sender",     STATS_RX_DROP, "ARP from a multicast/zero MAC or a bogus address") \
	X(ARP_RX_CONFLICT,      "arp.rx_conflict",       STATS_RX_DROP, "ARP claiming our own address") \
	X(ARP_TX_REQUEST,       "arp.tx_request",        STATS_EVENT,   "ARP requests sent") \
	X(ARP_TX_REPLY,         "arp.tx_reply",          STATS_EVENT,   "ARP replies sent") \
	X(ARP_TX_GRATUITOUS,    "arp.tx_gratuitous",     STATS_EVENT,   "gratuitous ARP sent") \
	X(ARP_LEARNED,          "arp.learned",           STATS_EVENT,   "neighbour entries created") \
	X(ARP_EXPIRED,          "arp.expired",           STATS_EVENT,   "neighbour entries expired") \
	X(ARP_RESOLVE_FAILED,   "arp.resolve_failed",    STATS_EVENT,   "neighbours that never answered") \
	X(ARP_TX_UNRESOLVED,    "arp.tx_unresolved",     STATS_TX_DROP, "packets dropped: neighbour did not answer") \
	X(ARP_TX_QUEUE_FULL,    "arp.tx_queue_full",     STATS_TX_DROP, "packets dropped: too many waiting on one neighbour") \
	X(ARP_TX_CACHE_FULL,    "arp.tx_cache_full",     STATS_TX_DROP, "packets dropped: neighbour table full of entries in use") \
	X(ARP_TX_HELD_FULL,     "arp.tx_held_full",      STATS_TX_DROP, "packets dropped: those waiting on neighbours already held 1/16 of the packet pool") \
	X(ARP_EVICTED,          "arp.evicted",           STATS_EVENT,   "neighbour entries recycled (unresolved or unused) because the table was full") \
	X(ARP_SHARED_DROPPED,   "arp.shared_dropped",    STATS_EVENT,   "neighbour updates not passed to another worker (ring full)") \
	X(IPV4_RX_TRUNCATED,    "ipv4.rx_truncated",     STATS_RX_DROP, "IPv4 packets shorter than their header/length") \
	X(IPV4_RX_BAD_VERSION,  "ipv4.rx_bad_version",   STATS_RX_DROP, "IPv4 EtherType with another IP version") \
	X(IPV4_RX_BAD_HLEN,     "ipv4.rx_bad_hlen",      STATS_RX_DROP, "IPv4 header length below 20 bytes") \
	X(IPV4_RX_BAD_LEN,      "ipv4.rx_bad_len",       STATS_RX_DROP, "IPv4 total length shorter than the header") \
	X(IPV4_RX_BAD_CSUM,     "ipv4.rx_bad_csum",      STATS_RX_DROP, "IPv4 header checksum errors") \
	X(IPV4_RX_FRAGMENT,     "ipv4.rx_fragment",      STATS_RX_DROP, "IPv4 fragments (not reassembled)") \
	X(IPV4_RX_BAD_SRC,      "ipv4.rx_bad_src",       STATS_RX_DROP, "IPv4 from a martian source address") \
	X(IPV4_RX_BROADCAST,    "ipv4.rx_broadcast",     STATS_RX_DROP, "IPv4 to a broadcast/multicast address") \
	X(IPV4_RX_NOT_FOR_US,   "ipv4.rx_not_for_us",    STATS_RX_DROP, "IPv4 for another address (we do not route)") \
	X(IPV4_RX_UNKNOWN_PROTO,"ipv4.rx_unknown_proto", STATS_RX_DROP, "IPv4 of a protocol we do not serve") \
	X(IPV4_RX_OPTIONS,      "ipv4.rx_options",       STATS_EVENT,   "IPv4 packets with options (options ignored)") \
	X(IPV4_TX_NO_ROUTE,     "ipv4.tx_no_route",      STATS_TX_DROP, "packets dropped: no route to destination") \
	X(IPV4_TX_PACKETS,      "ipv4.tx_packets",       STATS_EVENT,   "IPv4 packets sent") \
	X(ICMP_RX_ECHO_REQUEST, "icmp.rx_echo_request",  STATS_RX_DONE, "echo requests answered") \
	X(ICMP_RX_TRUNCATED,    "icmp.rx_truncated",     STATS_RX_DROP, "ICMP messages too short") \
	X(ICMP_RX_BAD_CSUM,     "icmp.rx_bad_csum",      STATS_RX_DROP, "ICMP checksum errors") \
	X(ICMP_RX_OTHER_TYPE,   "icmp.rx_other_type",    STATS_RX_DROP, "ICMP messages other than echo request") \
	X(ICMP_RX_RATE_LIMITED, "icmp.rx_rate_limited",  STATS_RX_DROP, "echo requests over the reply rate limit") \
	X(ICMP_TX_ECHO_REPLY,   "icmp.tx_echo_reply",    STATS_EVENT,   "echo replies sent") \
	X(TCP_RX_SEGMENTS,      "tcp.rx_segments",       STATS_RX_DONE, "TCP segments processed") \
	X(TCP_RX_BAD_HEADER,    "tcp.rx_bad_header",     STATS_RX_DROP, "TCP segments with a bad header length") \
	X(TCP_RX_BAD_CSUM,      "tcp.rx_bad_csum",       STATS_RX_DROP, "TCP checksum errors") \
	X(TCP_RX_CLOSED_PORT,   "tcp.rx_closed_port",    STATS_RX_DROP, "TCP segments to a closed port (answered with RST)") \
	X(STEER_RING_FULL,      "steer.ring_full",       STATS_RX_DROP, "segments dropped: the owning worker's ring was full") \
	X(STEER_HANDED_OVER,    "steer.handed_over",     STATS_EVENT,   "segments passed to the worker that owns their flow") \
	X(TCP_TX_SEGMENTS,      "tcp.tx_segments",       STATS_EVENT,   "TCP segments sent") \
	X(TCP_RX_BYTES,         "tcp.rx_bytes",          STATS_EVENT,   "payload bytes received") \
	X(TCP_TX_BYTES,         "tcp.tx_bytes",          STATS_EVENT,   "payload bytes sent (retransmissions included)") \
	X(TCP_RETRANSMITS,      "tcp.retransmits",       STATS_EVENT,   "segments retransmitted") \
	X(TCP_FAST_RETRANSMITS, "tcp.fast_retransmits",  STATS_EVENT,   "fast retransmits (3 duplicate ACKs)") \
	X(TCP_RTO_TIMEOUTS,     "tcp.rto_timeouts",      STATS_EVENT,   "retransmission timer expiries") \
	X(TCP_TLP_PROBES,       "tcp.tlp_probes",        STATS_EVENT,   "tail loss probes sent (RFC 8985)") \
	X(TCP_RX_DUP_ACKS,      "tcp.rx_dup_acks",       STATS_EVENT,   "duplicate ACKs received") \
	X(TCP_RX_OOO_SEGMENTS,  "tcp.rx_ooo_segments",   STATS_EVENT,   "segments received out of order") \
	X(TCP_RX_OOO_BYTES,     "tcp.rx_ooo_bytes",      STATS_EVENT,   "bytes received out of order") \
	X(TCP_RX_OOO_DROPPED,   "tcp.rx_ooo_dropped",    STATS_EVENT,   "out-of-order segments dropped: duplicate or over tcp.reass_limit (buffer bytes)") \
	X(TCP_RX_OOO_PRUNED,    "tcp.rx_ooo_pruned",     STATS_EVENT,   "queued out-of-order segments dropped to make room, newest first") \
	X(TCP_RX_COLLAPSED,     "tcp.rx_collapsed",      STATS_EVENT,   "receive buffers freed by packing queued bytes into fewer buffers") \
	X(TCP_RX_QUEUE_CAPPED,  "tcp.rx_queue_capped",   STATS_EVENT,   "segments dropped: the connection holds its share of the packet pool (tcp.conn_pool_share)") \
	X(TCP_RX_POOL_DROPPED,  "tcp.rx_pool_dropped",   STATS_EVENT,   "segments dropped: packet pool under pressure (tcp.pool_low_watermark, tcp.pool_reserve)") \
	X(TCP_TX_POOL_LIMITED,  "tcp.tx_pool_limited",   STATS_EVENT,   "writes cut short or that filled the send queue to what pool pressure allows it") \
	X(TCP_POOL_PRESSURE,    "tcp.pool_pressure",     STATS_EVENT,   "times the free packet buffers fell below tcp.pool_low_watermark") \
	X(TCP_POOL_PRESSURE_REFUSED, "tcp.pool_pressure_refused", STATS_EVENT, "SYNs refused with RST while the packet pool was at its reserve (tcp.pool_reserve)") \
	X(TCP_TX_RESETS,        "tcp.tx_resets",         STATS_EVENT,   "resets sent") \
	X(TCP_RX_RESETS,        "tcp.rx_resets",         STATS_EVENT,   "resets accepted") \
	X(TCP_CHALLENGE_ACKS,   "tcp.challenge_acks",    STATS_EVENT,   "challenge ACKs sent (RFC 5961)") \
	X(TCP_SYNCOOKIES_SENT,  "tcp.syncookies_sent",   STATS_EVENT,   "SYN-ACKs with a SYN cookie") \
	X(TCP_SYNCOOKIES_ACCEPTED, "tcp.syncookies_accepted", STATS_EVENT, "connections completed by a valid SYN cookie") \
	X(TCP_SYNCOOKIES_REJECTED, "tcp.syncookies_rejected", STATS_EVENT, "ACKs to a listener with an invalid SYN cookie") \
	X(TCP_LISTEN_OVERFLOWS, "tcp.listen_overflows",  STATS_EVENT,   "SYNs to a listener whose backlog was full") \
	X(TCP_CONN_OPENED,      "tcp.conn_opened",       STATS_EVENT,   "active opens") \
	X(TCP_CONN_ACCEPTED,    "tcp.conn_accepted",     STATS_EVENT,   "passive opens accepted") \
	X(TCP_CONN_ABORTED,     "tcp.conn_aborted",      STATS_EVENT,   "connections aborted with RST") \
	X(TCP_CONN_TIMED_OUT,   "tcp.conn_timed_out",    STATS_EVENT,   "connections dropped: retransmissions or keepalives unanswered") \
	X(TCP_CONN_CLOSED,      "tcp.conn_closed",       STATS_EVENT,   "connections closed in order (FIN both ways)") \
	X(TCP_TIME_WAIT_RECYCLED, "tcp.time_wait_recycled", STATS_EVENT, "TIME_WAIT connections ended early (tcp.time_wait_max)") \
	X(PROBE_STARTED,        "probe.started",         STATS_EVENT,   "test connections opened by `tcp connect`") \
	X(PROBE_VERIFIED,       "probe.verified",        STATS_EVENT,   "test connections whose echo matched") \
	X(PROBE_FAILED,         "probe.failed",          STATS_EVENT,   "test connections that failed") \
	X(SMTP_SESSIONS,        "smtp.sessions",         STATS_EVENT,   "SMTP sessions accepted") \
	X(SMTP_REFUSED_BUSY,    "smtp.refused_busy",     STATS_EVENT,   "sessions refused with 421: smtp.limits.sessions_per_worker reached") \
	X(SMTP_REFUSED_CLIENT,  "smtp.refused_client_sessions", STATS_EVENT, "sessions refused with 421: smtp.limits.sessions_per_client reached") \
	X(SMTP_REFUSED_RATE,    "smtp.refused_client_rate", STATS_EVENT, "sessions refused with 421: smtp.limits.connection_rate_per_client exceeded") \
	X(SMTP_COMMANDS,        "smtp.commands",         STATS_EVENT,   "commands received") \
	X(SMTP_CMD_ERRORS,      "smtp.command_errors",   STATS_EVENT,   "commands refused: syntax, sequence or unknown") \
	X(SMTP_LINE_TOO_LONG,   "smtp.command_too_long", STATS_EVENT,   "command lines over smtp.limits.command_line") \
	X(SMTP_LINE_FLOOD,      "smtp.command_flood",    STATS_EVENT,   "sessions closed: a command line past 16 x smtp.limits.command_line octets") \
	X(SMTP_BARE_LF_COMMAND, "smtp.bare_lf_command",  STATS_EVENT,   "command lines with a bare LF (refused)") \
	X(SMTP_BARE_CR_COMMAND, "smtp.bare_cr_command",  STATS_EVENT,   "command lines with a bare CR or NUL (refused)") \
	X(SMTP_BARE_LF_DATA,    "smtp.bare_lf_data",     STATS_EVENT,   "messages refused: bare LF in message data (smuggling defence)") \
	X(SMTP_BARE_CR_DATA,    "smtp.bare_cr_data",     STATS_EVENT,   "messages refused: bare CR in message data (smuggling defence)") \
	X(SMTP_TEXT_TOO_LONG,   "smtp.text_line_too_long", STATS_EVENT, "messages refused: a line over smtp.limits.text_line") \
	X(SMTP_TOO_BIG,         "smtp.message_too_big",  STATS_EVENT,   "messages refused: over smtp.limits.message_size (SIZE or data)") \
	X(SMTP_TOO_MANY_RCPTS,  "smtp.too_many_recipients", STATS_EVENT, "recipients refused: over smtp.limits.recipients") \
	X(SMTP_TOO_MANY_MSGS,   "smtp.too_many_messages", STATS_EVENT,  "sessions closed: smtp.limits.messages_per_session reached") \
	X(SMTP_TOO_MANY_ERRORS, "smtp.too_many_errors",  STATS_EVENT,   "sessions closed: smtp.limits.errors_per_session reached") \
	X(SMTP_JUNK_COMMANDS,   "smtp.junk_commands",    STATS_EVENT,   "NOOP/RSET/VRFY/HELP/HELO/EHLO past smtp.limits.junk_commands, counted as errors") \
	X(SMTP_TIMEOUTS,        "smtp.timeouts",         STATS_EVENT,   "sessions closed: client idle past smtp.timeouts.command/data") \
	X(SMTP_COMMAND_DEADLINE, "smtp.command_deadline", STATS_EVENT,  "sessions closed: a command line not complete smtp.timeouts.command after its first octet") \
	X(SMTP_DATA_DEADLINE,   "smtp.data_deadline",    STATS_EVENT,   "sessions closed: a message not complete by its deadline (timeouts.message, limits.min_data_rate)") \
	X(SMTP_DISCARD_DEADLINE, "smtp.discard_deadline", STATS_EVENT,  "sessions closed: a refused message's data not ended by its deadline") \
	X(SMTP_RELAY_DENIED,    "smtp.relay_denied",     STATS_EVENT,   "recipients refused: relay access denied") \
	X(SMTP_RELAY_HACK,      "smtp.relay_denied_routing_hack", STATS_EVENT, "recipients refused: %, !, quoted @, source route or address literal from outside relay_networks") \
	X(SMTP_NO_ROUTE,        "smtp.no_route",         STATS_EVENT,   "recipients deferred: no route for the domain") \
	X(SMTP_RCPT_OTHER_HOP,  "smtp.rcpt_other_next_hop", STATS_EVENT, "recipients deferred with 452: routed to another next hop than the transaction's") \
	X(SMTP_RCPT_OTHER_TLS,  "smtp.rcpt_other_tls_policy", STATS_EVENT, "recipients deferred with 452: their route needs a stricter TLS policy than the transaction's") \
	X(SMTP_RCPT_ACCEPTED,   "smtp.rcpt_accepted",    STATS_EVENT,   "recipients accepted by the next hop") \
	X(SMTP_RCPT_REFUSED,    "smtp.rcpt_refused",     STATS_EVENT,   "recipients refused by the next hop (4xx/5xx passed on)") \
	X(SMTP_MSG_RELAYED,     "smtp.messages_relayed", STATS_EVENT,   "messages the next hop accepted (250 passed on)") \
	X(SMTP_MSG_TEMPFAIL,    "smtp.messages_tempfailed", STATS_EVENT, "messages answered 4xx: next hop 4xx, down, lost or timed out") \
	X(SMTP_MSG_REJECTED,    "smtp.messages_rejected", STATS_EVENT,  "messages answered 5xx (next hop 5xx, smuggling, size)") \
	X(SMTP_MSG_BYTES,       "smtp.message_bytes",    STATS_EVENT,   "message data bytes relayed (as received, dot-stuffed)") \
	X(SMTP_DATA_SHORT_WRITES, "smtp.data_short_writes", STATS_EVENT, "message data writes the next hop's stream took only in part (buffer pool dry); the rest was sent later") \
	X(SMTP_CONNECTOR_REFUSED, "smtp.connector_refused", STATS_EVENT, "MAIL refused by a connector's policy (per connector: show connector NAME)") \
	X(SMTP_CONNECTOR_WOULD_REFUSE, "smtp.connector_would_refuse", STATS_EVENT, "MAIL a report_only connector would have refused (allowed, logged)") \
	X(TLS_STARTTLS,         "tls.starttls",          STATS_EVENT,   "STARTTLS commands answered 220") \
	X(TLS_HANDSHAKES,       "tls.handshakes",        STATS_EVENT,   "inbound TLS handshakes completed (full and resumed)") \
	X(TLS_WRITE_HELD,       "tls.write_held",        STATS_EVENT,   "TLS records the lower stream took only in part (buffer pool dry): the rest held and sent first") \
	X(TLS_WRITE_OVERFLOW,   "tls.write_overflow",    STATS_EVENT,   "TLS connections closed: more output than one record to hold while the lower stream took nothing") \
	X(TLS_RESUMED,          "tls.resumed",           STATS_EVENT,   "inbound TLS handshakes that resumed a session") \
	X(TLS_V1_2,             "tls.version_1_2",       STATS_EVENT,   "inbound TLS sessions with TLS 1.2") \
	X(TLS_V1_3,             "tls.version_1_3",       STATS_EVENT,   "inbound TLS sessions with TLS 1.3") \
	X(TLS_C_T13_AES128_GCM_SHA256, "tls.cipher_tls13_aes128_gcm_sha256", STATS_EVENT, "inbound TLS sessions with TLS13-AES128-GCM-SHA256") \
	X(TLS_C_T13_AES256_GCM_SHA384, "tls.cipher_tls13_aes256_gcm_sha384", STATS_EVENT, "inbound TLS sessions with TLS13-AES256-GCM-SHA384") \
	X(TLS_C_T13_CHACHA20_POLY1305_SHA256, "tls.cipher_tls13_chacha20_poly1305_sha256", STATS_EVENT, "inbound TLS sessions with TLS13-CHACHA20-POLY1305-SHA256") \
	X(TLS_C_ECDSA_AES128_GCM_SHA256, "tls.cipher_ecdhe_ecdsa_aes128_gcm_sha256", STATS_EVENT, "inbound TLS sessions with ECDHE-ECDSA-AES128-GCM-SHA256") \
	X(TLS_C_RSA_AES128_GCM_SHA256, "tls.cipher_ecdhe_rsa_aes128_gcm_sha256", STATS_EVENT, "inbound TLS sessions with ECDHE-RSA-AES128-GCM-SHA256") \
	X(TLS_C_ECDSA_AES256_GCM_SHA384, "tls.cipher_ecdhe_ecdsa_aes256_gcm_sha384", STATS_EVENT, "inbound TLS sessions with ECDHE-ECDSA-AES256-GCM-SHA384") \
	X(TLS_C_RSA_AES256_GCM_SHA384, "tls.cipher_ecdhe_rsa_aes256_gcm_sha384", STATS_EVENT, "inbound TLS sessions with ECDHE-RSA-AES256-GCM-SHA384") \
	X(TLS_C_ECDSA_CHACHA20_POLY1305, "tls.cipher_ecdhe_ecdsa_chacha20_poly1305", STATS_EVENT, "inbound TLS sessions with ECDHE-ECDSA-CHACHA20-POLY1305") \
	X(TLS_C_RSA_CHACHA20_POLY1305, "tls.cipher_ecdhe_rsa_chacha20_poly1305", STATS_EVENT, "inbound TLS sessions with ECDHE-RSA-CHACHA20-POLY1305") \
	X(TLS_C_OTHER, "tls.cipher_other", STATS_EVENT, "inbound TLS sessions with any other suite") \
	X(TLS_G_X25519, "tls.curve_x25519", STATS_EVENT, "inbound TLS sessions whose key exchange used X25519") \
	X(TLS_G_P256, "tls.curve_secp256r1", STATS_EVENT, "inbound TLS sessions whose key exchange used P-256 (secp256r1)") \
	X(TLS_G_P384, "tls.curve_secp384r1", STATS_EVENT, "inbound TLS sessions whose key exchange used P-384 (secp384r1)") \
	X(TLS_G_NONE, "tls.curve_none", STATS_EVENT, "inbound TLS sessions with no key exchange (TLS 1.2 resumption)") \
	X(TLS_G_OTHER, "tls.curve_other", STATS_EVENT, "inbound TLS sessions with any other group") \
	X(TLS_REFUSED_V1_0,     "tls.refused_v1_0",      STATS_EVENT,   "inbound handshakes refused: the client offered at most TLS 1.0") \
	X(TLS_REFUSED_V1_1,     "tls.refused_v1_1",      STATS_EVENT,   "inbound handshakes refused: the client offered at most TLS 1.1") \
	X(TLS_REFUSED_OLD,      "tls.refused_ssl",       STATS_EVENT,   "inbound handshakes refused: SSL or an unknown version below TLS 1.2") \
	X(TLS_TICKETS_ISSUED,   "tls.tickets_issued",    STATS_EVENT,   "session tickets issued (TLS 1.2 and 1.3)") \
	X(TLS_TICKETS_RENEWED,  "tls.tickets_renewed",   STATS_EVENT,   "tickets accepted under an older key and replaced by a new one") \
	X(TLS_TICKETS_UNKNOWN,  "tls.tickets_unknown_key", STATS_EVENT, "tickets whose key is retired or not ours: full handshake") \
	X(TLS_TICKETS_CLIENT_CERT, "tls.tickets_client_cert", STATS_EVENT, "tickets of sessions with a client certificate refused (full handshake: the certificate is shown again)") \
	X(TLS_TICKETS_BAD,      "tls.tickets_bad",       STATS_EVENT,   "tickets that failed authentication: full handshake") \
	X(TLS_CACHE_HITS,       "tls.session_cache_hits", STATS_EVENT,  "session IDs found in the worker's session cache") \
	X(TLS_CACHE_MISSES,     "tls.session_cache_misses", STATS_EVENT, "session IDs offered but not in the worker's cache: full handshake") \
	X(TLS_CACHE_STALE,      "tls.session_cache_stale", STATS_EVENT, "session IDs of a session made before `reload certs`: not resumed, full handshake (also a miss)") \
	X(TLS_PEER_NAME_INVALID, "tls.peer_name_invalid", STATS_EVENT, "names in client certificates that are not DNS names (space, NUL, control character, bad syntax, too long): not identities") \
	X(TLS_PEER_NAMES_OVER,  "tls.peer_names_over_limit", STATS_EVENT, "valid names in client certificates beyond the 16 (1 KB) kept: not identities") \
	X(TLS_FAIL_CIPHER,      "tls.failed_no_shared_cipher", STATS_EVENT, "inbound handshakes failed: no forward-secret AEAD suite in common") \
	X(TLS_FAIL_NOT_TLS,     "tls.failed_not_tls",    STATS_EVENT,   "inbound handshakes failed: plaintext instead of a ClientHello") \
	X(TLS_FAIL_ALERT,       "tls.failed_peer_alert", STATS_EVENT,   "inbound handshakes failed: the client sent a fatal alert (e.g. it did not trust our certificate)") \
	X(TLS_FAIL_CLOSED,      "tls.failed_closed",     STATS_EVENT,   "inbound handshakes failed: the client closed or reset the connection during it") \
	X(TLS_FAIL_TIMEOUT,     "tls.failed_timeout",    STATS_EVENT,   "inbound handshakes failed: the client took longer than smtp.timeouts.command") \
	X(TLS_FAIL_OTHER,       "tls.failed_other",      STATS_EVENT,   "inbound handshakes failed for another reason (logged with wolfSSL's error)") \
	X(TLS_INJECTION,        "tls.starttls_injection", STATS_EVENT,  "sessions closed: data pipelined after STARTTLS (CVE-2011-0411 class)") \
	X(TLS_UNAVAILABLE,      "tls.starttls_unavailable", STATS_EVENT, "STARTTLS answered 454: TLS not configured or no slot free") \
	X(SMTPC_CONNECTS,       "smtp_client.connects",  STATS_EVENT,   "connections opened to next hops") \
	X(SMTPC_CONNECT_FAILED, "smtp_client.connect_failed", STATS_EVENT, "connections to next hops that failed (refused, timed out, no greeting)") \
	X(SMTPC_FAILOVERS,      "smtp_client.failovers", STATS_EVENT,   "times a transaction moved on to the next next hop") \
	X(SMTPC_CACHE_HITS,     "smtp_client.cache_hits", STATS_EVENT,  "transactions that reused a cached connection") \
	X(SMTPC_CACHE_EXPIRED,  "smtp_client.cache_expired", STATS_EVENT, "cached connections closed: idle timeout, message limit or cache full") \
	X(SMTPC_LOST,           "smtp_client.lost",      STATS_EVENT,   "next-hop connections lost during a transaction") \
	X(SMTPC_TIMEOUTS,       "smtp_client.timeouts",  STATS_EVENT,   "next-hop replies not received within smtp.timeouts") \
	X(SMTPC_PROTOCOL,       "smtp_client.protocol_errors", STATS_EVENT, "malformed or unexpected replies from next hops") \
	X(SMTPC_TLS,            "smtp_client.tls",       STATS_EVENT,   "next-hop connections that started TLS") \
	X(SMTPC_TLS_NOT_OFFERED, "smtp_client.tls_not_offered", STATS_EVENT, "next hops that offered no STARTTLS (plaintext at level may, else failed)") \
	X(SMTPC_TLS_HANDSHAKE_FAILED, "smtp_client.tls_handshake_failed", STATS_EVENT, "TLS handshakes with next hops that failed") \
	X(SMTPC_TLS_RESUMED,    "smtp_client.tls_resumed", STATS_EVENT, "next-hop TLS handshakes that resumed the session of an earlier one") \
	X(SMTPC_TLS_VERIFY_FAILED, "smtp_client.tls_verify_failed", STATS_EVENT, "next-hop certificates not verified at level verify/secure") \
	X(SMTPC_NO_SLOT,        "smtp_client.no_slot",   STATS_EVENT,   "transactions deferred: smtp.client.connections_per_worker reached") \
	X(SMTPC_REPLY_OUT_OF_STAGE, "smtp_client.reply_out_of_stage", STATS_EVENT, "next-hop replies with a code the stage does not allow (354 to MAIL, 250 to DATA or as greeting): connection closed, 451 4.5.0") \
	X(SMTPC_REPLY_EARLY,    "smtp_client.reply_early", STATS_EVENT, "next-hop reply data before any reply was due (extra replies, data while idle or streaming): connection closed, 451 4.5.0") \
	X(SMTPC_DEST_WAITS,     "smtp_client.destination_waits", STATS_EVENT, "recipients that waited for a next hop's smtp.client.destination_concurrency") \
	X(SMTPC_DEST_DEFERRED,  "smtp_client.destination_deferred", STATS_EVENT, "recipients deferred 451 4.4.5: no next-hop connection within smtp.client.destination_wait") \
	X(SMTPC_DATA_HOLD,      "smtp_client.data_hold_expired", STATS_EVENT, "messages whose client sent no data for smtp.timeouts.data_hold: next-hop connection released, 451 4.4.5") \
	X(SMTPC_DEST_UNTRACKED, "smtp_client.destination_untracked", STATS_EVENT, "next-hop connections opened unlimited: more next hops busy at once than a worker tracks (256)") \
	X(SMTPC_TXN_HOLD,       "smtp_client.txn_hold_expired", STATS_EVENT, "transactions held open from MAIL for smtp.timeouts.data_hold without DATA: next-hop connection released, 451") \
	X(SMTPC_QUIT,           "smtp_client.quit",      STATS_EVENT,   "next-hop connections closed with QUIT (idle timeout, message limit, cache full)") \
	X(SMTPC_QUIT_TIMEOUTS,  "smtp_client.quit_timeouts", STATS_EVENT, "of those, reset after the next hop did not close within 5 s of QUIT") \
	X(SMTPC_RESETS,         "smtp_client.resets",    STATS_EVENT,   "next-hop connections reset (broken, protocol error, transaction abandoned, slot needed now)") \
	X(LOG_DROPPED,          "log.dropped",           STATS_EVENT,   "log lines lost: log ring full") \
	X(LOG_SUPPRESSED,       "log.suppressed",        STATS_EVENT,   "repeated per-connection log lines suppressed: log.rate_limit")

enum stats_id {
#define STATS_ENUM(id, name, kind, help) STATS_##id,
	STATS_COUNTERS(STATS_ENUM)
#undef STATS_ENUM
	STATS_MAX
};

struct stats_desc {
	const char *name;
	enum stats_kind kind;
	const char *help;
};

/* The table of all counters, indexed by enum stats_id. */
extern const struct stats_desc stats_desc[STATS_MAX];

/*
 * Add up counters across workers. port < 0: all ports; otherwise only that
 * port index. Writes STATS_MAX values to out.
 */
struct worker;
void stats_sum(struct worker *const *workers, unsigned n_workers, int port,
	       uint64_t out[STATS_MAX]);

#endif
