/*
 * tcp_syncookie.h — SYN cookies (RFC 4987 §3.6): a listener under SYN flood
 * answers with a SYN-ACK whose ISN encodes the connection, keeps no state,
 * and rebuilds the connection from the completing ACK.
 *
 *   cookie = H1(tuple) + peer_isn + E
 *   E      = counter parity (bit 31) | MSS index (bits 30-29) |
 *            MAC(tuple, peer_isn, counter, MSS index) (bits 28-0)
 *
 * H1 and MAC are SipHash-2-4 under the 128-bit secret; the counter is
 * now_s / 64. H1 makes the whole ISN unpredictable; the 29-bit MAC makes
 * every change of tuple, peer ISN, cookie bit or MSS index fail the check,
 * except with probability 2^-29 per forged ACK. A cookie is valid during
 * the period it was made in and the next: at least 64 s, at most 128 s.
 *
 * The ISN carries only the MSS (4 classes). Window scale and SACK-permitted
 * can ride in the low bits of the SYN-ACK's TSval when the peer sent
 * timestamps (tcp_syncookie_ts_encode/decode, Linux-style); without
 * timestamps a cookie connection has neither.
 *
 * Addresses and ports are host byte order. saddr/sport are the peer's (the
 * SYN's source, and the ACK's), daddr/dport ours. peer_isn is the SYN's
 * sequence number, i.e. the ACK's SEG.SEQ - 1; the cookie is the ACK's
 * SEG.ACK - 1. The caller sets the key from a random source at start-up
 * (e.g. getrandom) and keeps it; it is per process, shared read-only by all
 * workers so any worker can validate an ACK. IPv4 only for now: an IPv6
 * variant would hash the 16-byte addresses the same way.
 */
#ifndef MAILGW_APP_NET_TCP_SYNCOOKIE_H
#define MAILGW_APP_NET_TCP_SYNCOOKIE_H

#include <stddef.h>
#include <stdint.h>

#define TCP_SYNCOOKIE_PERIOD_S          64      /* counter granularity */
#define TCP_SYNCOOKIE_MSS_CLASSES       4       /* 536, 1300, 1440, 1460 */
#define TCP_SYNCOOKIE_TS_BITS           5       /* TSval bits: wscale (4) + SACK (1) */
#define TCP_SYNCOOKIE_WSCALE_NONE       (-1)    /* peer sent no window scale option */

struct tcp_syncookie_key {
	uint8_t k[16];          /* the secret; SipHash's k0 = bytes 0-7, k1 = 8-15 (little endian) */
};

/* SipHash-2-4 of len bytes at msg under key (the PRF behind the cookies; exported for its test vector). */
uint64_t tcp_syncookie_siphash(const struct tcp_syncookie_key *key, const void *msg, size_t len);

/*
 * The ISN for our SYN-ACK to a SYN (saddr:sport -> daddr:dport, sequence
 * peer_isn, MSS option mss, or 536 when absent) at time now_s (seconds of
 * any monotonic clock, the same one tcp_syncookie_check gets). The MSS
 * encoded is the largest class <= mss (536 below that); it is stored in
 * *mss_used (may be NULL), the MSS the connection will use.
 */
uint32_t tcp_syncookie_make(const struct tcp_syncookie_key *key, uint32_t saddr, uint32_t daddr,
			    uint16_t sport, uint16_t dport, uint32_t peer_isn, uint16_t mss,
			    uint64_t now_s, uint16_t *mss_used);

/*
 * Validate the cookie of a completing ACK (cookie = SEG.ACK - 1, peer_isn =
 * SEG.SEQ - 1) at now_s. Returns 0 and the connection's MSS in *mss, or
 * -EINVAL when the cookie is forged, belongs to another connection or is
 * older than the previous counter period.
 */
int tcp_syncookie_check(const struct tcp_syncookie_key *key, uint32_t saddr, uint32_t daddr,
			uint16_t sport, uint16_t dport, uint32_t peer_isn, uint32_t cookie,
			uint64_t now_s, uint16_t *mss);

/*
 * TSval for a cookie SYN-ACK: ts_now with its low 5 bits replaced by the
 * peer's window scale (0-14, larger taken as 14, or TCP_SYNCOOKIE_WSCALE_NONE)
 * and SACK-permitted flag, moved back by 32 ticks when that would put it
 * ahead of ts_now (TSvals must not run ahead of the clock).
 */
uint32_t tcp_syncookie_ts_encode(uint32_t ts_now, int wscale, int sack_ok);

/* Recover window scale (or TCP_SYNCOOKIE_WSCALE_NONE) and SACK-permitted from the ACK's TSecr. */
void tcp_syncookie_ts_decode(uint32_t tsecr, int *wscale, int *sack_ok);

#endif
