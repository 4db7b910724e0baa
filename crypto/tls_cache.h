/*
 * tls_cache.h — a worker's TLS session cache: a fixed number of slots,
 * 4-way set-associative by a hash of the key, no locks (one worker owns
 * it). Inbound it holds sessions by session ID (resumption without tickets)
 * and the certificate generation they were made under;
 * outbound, sessions by next hop, with what the full handshake found about
 * the next hop's certificate (a resumed handshake shows no certificate).
 */
#ifndef MAILGW_CRYPTO_TLS_CACHE_H
#define MAILGW_CRYPTO_TLS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "crypto/tls.h"

#define TLS_CACHE_KEY_MAX 96    /* session IDs are 32 bytes; next-hop keys are texts */

struct tls_cache;

struct tls_cache_stats {
	uint64_t stored, hits, misses, expired, evicted;
	uint64_t stale;                 /* found, but made under another generation: dropped (a miss) */
	unsigned slots, used;
};

/*
 * A cache of at least slots entries (rounded up to a power of two, 4 at
 * least). dpdk: in DPDK memory (rte_zmalloc: a worker's, with the rest of
 * its state), else the C heap (tests without the EAL). NULL: no memory.
 */
struct tls_cache *tls_cache_create(unsigned slots, bool dpdk);

/* Free the cache and every session in it (NULL is fine). */
void tls_cache_free(struct tls_cache *c);

/*
 * Keep s (the cache takes this reference) under key and generation gen
 * (the caller's: certificates and trust anchors) until expires (seconds,
 * the caller's clock), with info (may be NULL). Replaces an entry with the
 * same key, else an expired one, else the one expiring first in the set.
 * A key longer than TLS_CACHE_KEY_MAX is not stored (s is freed).
 */
void tls_cache_put(struct tls_cache *c, const void *key, size_t len, uint64_t gen, WOLFSSL_SESSION *s,
		   uint64_t expires, const struct tls_info *info);

/*
 * The session under key if it was stored under generation gen and has not
 * expired at now (the cache keeps its reference: use it before the next
 * put); *info gets what was stored with it when info is not NULL. NULL
 * when absent, expired or of another generation (that entry is dropped and
 * *stale set, when stale is not NULL).
 */
WOLFSSL_SESSION *tls_cache_get(struct tls_cache *c, const void *key, size_t len, uint64_t gen, uint64_t now,
			       struct tls_info *info, bool *stale);

/* Drop the entry under key, if any. */
void tls_cache_remove(struct tls_cache *c, const void *key, size_t len);

/* Counters and occupancy. */
void tls_cache_get_stats(const struct tls_cache *c, struct tls_cache_stats *st);

#endif
