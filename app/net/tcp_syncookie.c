/*
 * tcp_syncookie.c — stateless SYN-ACK ISNs (SYN cookies) keyed with
 * SipHash-2-4, written here from the SipHash paper (Aumasson & Bernstein,
 * 2012). The listener makes a cookie instead of a half-open connection when
 * its SYN queue is full, and tcp_in.c checks the cookie of an ACK that
 * matches no connection. Pure functions: the caller owns key and clock.
 */
#include <errno.h>
#include <string.h>

#include "app/net/tcp_seq.h"
#include "app/net/tcp_syncookie.h"

#define TCP_SYNCOOKIE_MAC_BITS  29
#define TCP_SYNCOOKIE_MAC_MASK  ((1u << TCP_SYNCOOKIE_MAC_BITS) - 1)
#define TCP_SYNCOOKIE_IDX_SHIFT TCP_SYNCOOKIE_MAC_BITS
#define TCP_SYNCOOKIE_IDX_MASK  3u
#define TCP_SYNCOOKIE_CNT_SHIFT 31

#define TCP_SYNCOOKIE_TS_MASK   ((1u << TCP_SYNCOOKIE_TS_BITS) - 1)
#define TCP_SYNCOOKIE_TS_WS     0x0fu   /* window scale, 0xf: none */
#define TCP_SYNCOOKIE_TS_SACK   0x10u

/* Ascending; the index is what the cookie carries. */
static const uint16_t tcp_syncookie_mss_tab[TCP_SYNCOOKIE_MSS_CLASSES] = { 536, 1300, 1440, 1460 };

static inline uint64_t
tcp_syncookie_rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t
tcp_syncookie_le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* One SipRound on the state v[0..3]. */
static inline void
tcp_syncookie_sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = tcp_syncookie_rotl(v[1], 13); v[1] ^= v[0]; v[0] = tcp_syncookie_rotl(v[0], 32);
	v[2] += v[3]; v[3] = tcp_syncookie_rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = tcp_syncookie_rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = tcp_syncookie_rotl(v[1], 17); v[1] ^= v[2]; v[2] = tcp_syncookie_rotl(v[2], 32);
}

static inline void
tcp_syncookie_compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	tcp_syncookie_sipround(v);
	tcp_syncookie_sipround(v);
	v[0] ^= m;
}

uint64_t
tcp_syncookie_siphash(const struct tcp_syncookie_key *key, const void *msg, size_t len)
{
	const uint8_t *p = msg;
	uint64_t k0 = tcp_syncookie_le64(key->k, 8);
	uint64_t k1 = tcp_syncookie_le64(key->k + 8, 8);
	uint64_t v[4] = {
		k0 ^ 0x736f6d6570736575ull,     /* "somepseudorandomlygeneratedbytes" */
		k1 ^ 0x646f72616e646f6dull,
		k0 ^ 0x6c7967656e657261ull,
		k1 ^ 0x7465646279746573ull,
	};
	size_t i;

	for (i = 0; i + 8 <= len; i += 8)
		tcp_syncookie_compress(v, tcp_syncookie_le64(p + i, 8));
	/* Last block: the remaining 0-7 bytes, length mod 256 in the top byte. */
	tcp_syncookie_compress(v, tcp_syncookie_le64(p + i, len - i) | (uint64_t)(len & 0xff) << 56);
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		tcp_syncookie_sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Serialise a little-endian value into a message buffer. */
static uint8_t *
tcp_syncookie_put(uint8_t *p, uint32_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

/* H1: the tuple alone (tag 1). */
static uint32_t
tcp_syncookie_h1(const struct tcp_syncookie_key *key, uint32_t saddr, uint32_t daddr,
		 uint16_t sport, uint16_t dport)
{
	uint8_t m[13], *p = m;

	*p++ = 1;
	p = tcp_syncookie_put(p, saddr, 4);
	p = tcp_syncookie_put(p, daddr, 4);
	p = tcp_syncookie_put(p, sport, 2);
	tcp_syncookie_put(p, dport, 2);
	return (uint32_t)tcp_syncookie_siphash(key, m, sizeof(m));
}

/* MAC: tuple, peer ISN, counter and MSS index (tag 2), truncated to 29 bits. */
static uint32_t
tcp_syncookie_mac(const struct tcp_syncookie_key *key, uint32_t saddr, uint32_t daddr,
		  uint16_t sport, uint16_t dport, uint32_t peer_isn, uint32_t count, unsigned idx)
{
	uint8_t m[22], *p = m;

	*p++ = 2;
	p = tcp_syncookie_put(p, saddr, 4);
	p = tcp_syncookie_put(p, daddr, 4);
	p = tcp_syncookie_put(p, sport, 2);
	p = tcp_syncookie_put(p, dport, 2);
	p = tcp_syncookie_put(p, peer_isn, 4);
	p = tcp_syncookie_put(p, count, 4);
	*p = (uint8_t)idx;
	return (uint32_t)tcp_syncookie_siphash(key, m, sizeof(m)) & TCP_SYNCOOKIE_MAC_MASK;
}

static uint32_t
tcp_syncookie_counter(uint64_t now_s)
{
	return (uint32_t)(now_s / TCP_SYNCOOKIE_PERIOD_S);
}

uint32_t
tcp_syncookie_make(const struct tcp_syncookie_key *key, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, uint32_t peer_isn, uint16_t mss,
		   uint64_t now_s, uint16_t *mss_used)
{
	uint32_t count = tcp_syncookie_counter(now_s);
	unsigned idx = TCP_SYNCOOKIE_MSS_CLASSES - 1;
	uint32_t e;

	while (idx > 0 && mss < tcp_syncookie_mss_tab[idx])
		idx--;
	if (mss_used != NULL)
		*mss_used = tcp_syncookie_mss_tab[idx];
	e = (count & 1) << TCP_SYNCOOKIE_CNT_SHIFT | (uint32_t)idx << TCP_SYNCOOKIE_IDX_SHIFT |
	    tcp_syncookie_mac(key, saddr, daddr, sport, dport, peer_isn, count, idx);
	return tcp_syncookie_h1(key, saddr, daddr, sport, dport) + peer_isn + e;
}

int
tcp_syncookie_check(const struct tcp_syncookie_key *key, uint32_t saddr, uint32_t daddr,
		    uint16_t sport, uint16_t dport, uint32_t peer_isn, uint32_t cookie,
		    uint64_t now_s, uint16_t *mss)
{
	uint32_t e = cookie - tcp_syncookie_h1(key, saddr, daddr, sport, dport) - peer_isn;
	uint32_t count = tcp_syncookie_counter(now_s);
	unsigned idx = (e >> TCP_SYNCOOKIE_IDX_SHIFT) & TCP_SYNCOOKIE_IDX_MASK;

	/* The parity bit says which of the current and previous counters made it. */
	if ((count & 1) != e >> TCP_SYNCOOKIE_CNT_SHIFT)
		count--;
	if (idx >= TCP_SYNCOOKIE_MSS_CLASSES)
		return -EINVAL;
	if ((e & TCP_SYNCOOKIE_MAC_MASK) !=
	    tcp_syncookie_mac(key, saddr, daddr, sport, dport, peer_isn, count, idx))
		return -EINVAL;
	*mss = tcp_syncookie_mss_tab[idx];
	return 0;
}

uint32_t
tcp_syncookie_ts_encode(uint32_t ts_now, int wscale, int sack_ok)
{
	uint32_t opt = TCP_SYNCOOKIE_TS_WS;
	uint32_t ts;

	if (wscale >= 0)
		opt = wscale > 14 ? 14 : (uint32_t)wscale;
	if (sack_ok)
		opt |= TCP_SYNCOOKIE_TS_SACK;
	ts = (ts_now & ~TCP_SYNCOOKIE_TS_MASK) | opt;
	if (tcp_seq_gt(ts, ts_now))
		ts -= TCP_SYNCOOKIE_TS_MASK + 1;
	return ts;
}

void
tcp_syncookie_ts_decode(uint32_t tsecr, int *wscale, int *sack_ok)
{
	uint32_t ws = tsecr & TCP_SYNCOOKIE_TS_WS;

	*wscale = ws == TCP_SYNCOOKIE_TS_WS ? TCP_SYNCOOKIE_WSCALE_NONE : (int)ws;
	*sack_ok = (tsecr & TCP_SYNCOOKIE_TS_SACK) != 0;
}
