/*
 * tls_cache.c — per-worker TLS session cache (see tls_cache.h). Filled by
 * wolfSSL's new-session callback (inbound) and when a next-hop connection
 * closes after a full handshake (outbound), both in tls.c.
 */
#include <stdlib.h>
#include <string.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include "crypto/tls_cache.h"

#define TLS_CACHE_WAYS 4

struct tls_cache_entry {
	WOLFSSL_SESSION *s;             /* NULL: free slot */
	uint64_t expires;
	uint64_t gen;                   /* the caller's generation when stored */
	uint8_t key[TLS_CACHE_KEY_MAX];
	uint8_t key_len;
	struct tls_info info;
};

struct tls_cache {
	struct tls_cache_entry *e;
	unsigned mask;                  /* sets - 1 */
	bool dpdk;                      /* rte_zmalloc'd (else calloc'd) */
	struct tls_cache_stats st;
};

static void *
tls_cache_zalloc(bool dpdk, size_t n)
{
	return dpdk ? rte_zmalloc("tls_cache", n, RTE_CACHE_LINE_SIZE) : calloc(1, n);
}

static void
tls_cache_release(bool dpdk, void *p)
{
	if (dpdk)
		rte_free(p);
	else
		free(p);
}

static uint64_t
tls_cache_hash(const uint8_t *k, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;     /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ k[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

struct tls_cache *
tls_cache_create(unsigned slots, bool dpdk)
{
	struct tls_cache *c = tls_cache_zalloc(dpdk, sizeof(*c));
	unsigned sets = 1;

	if (c == NULL)
		return NULL;
	while ((uint64_t)sets * TLS_CACHE_WAYS < slots && sets < (1u << 24))
		sets <<= 1;
	c->dpdk = dpdk;
	c->e = tls_cache_zalloc(dpdk, (size_t)sets * TLS_CACHE_WAYS * sizeof(*c->e));
	if (c->e == NULL) {
		tls_cache_release(dpdk, c);
		return NULL;
	}
	c->mask = sets - 1;
	c->st.slots = sets * TLS_CACHE_WAYS;
	return c;
}

static void
tls_cache_drop(struct tls_cache *c, struct tls_cache_entry *e)
{
	if (e->s != NULL) {
		wolfSSL_SESSION_free(e->s);
		c->st.used--;
	}
	e->s = NULL;
	e->key_len = 0;
}

void
tls_cache_free(struct tls_cache *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->st.slots; i++)
		tls_cache_drop(c, &c->e[i]);
	tls_cache_release(c->dpdk, c->e);
	tls_cache_release(c->dpdk, c);
}

/* The entry under key in its set, or NULL; *set gets the set's first entry. */
static struct tls_cache_entry *
tls_cache_find(struct tls_cache *c, const void *key, size_t len, struct tls_cache_entry **set)
{
	*set = &c->e[(tls_cache_hash(key, len) & c->mask) * TLS_CACHE_WAYS];
	for (unsigned i = 0; i < TLS_CACHE_WAYS; i++) {
		struct tls_cache_entry *e = &(*set)[i];
		if (e->s != NULL && e->key_len == len && memcmp(e->key, key, len) == 0)
			return e;
	}
	return NULL;
}

void
tls_cache_put(struct tls_cache *c, const void *key, size_t len, uint64_t gen, WOLFSSL_SESSION *s,
	      uint64_t expires, const struct tls_info *info)
{
	struct tls_cache_entry *set, *e;

	if (c == NULL || s == NULL || len == 0 || len > TLS_CACHE_KEY_MAX) {
		if (s != NULL)
			wolfSSL_SESSION_free(s);
		return;
	}
	e = tls_cache_find(c, key, len, &set);
	if (e == NULL) {
		e = &set[0];
		for (unsigned i = 0; i < TLS_CACHE_WAYS; i++) {
			if (set[i].s == NULL) {
				e = &set[i];
				break;
			}
			if (set[i].expires < e->expires)
				e = &set[i];
		}
		if (e->s != NULL)
			c->st.evicted++;
	}
	tls_cache_drop(c, e);
	e->s = s;
	e->expires = expires;
	e->gen = gen;
	memcpy(e->key, key, len);
	e->key_len = (uint8_t)len;
	if (info != NULL)
		e->info = *info;
	else
		memset(&e->info, 0, sizeof(e->info));
	c->st.used++;
	c->st.stored++;
}

WOLFSSL_SESSION *
tls_cache_get(struct tls_cache *c, const void *key, size_t len, uint64_t gen, uint64_t now,
	      struct tls_info *info, bool *stale)
{
	struct tls_cache_entry *set, *e;

	if (c == NULL || len == 0 || len > TLS_CACHE_KEY_MAX)
		return NULL;
	e = tls_cache_find(c, key, len, &set);
	if (e != NULL && e->expires <= now) {
		tls_cache_drop(c, e);
		c->st.expired++;
		e = NULL;
	}
	if (e != NULL && e->gen != gen) {
		tls_cache_drop(c, e);
		c->st.stale++;
		if (stale != NULL)
			*stale = true;
		e = NULL;
	}
	if (e == NULL) {
		c->st.misses++;
		return NULL;
	}
	c->st.hits++;
	if (info != NULL)
		*info = e->info;
	return e->s;
}

void
tls_cache_remove(struct tls_cache *c, const void *key, size_t len)
{
	struct tls_cache_entry *set, *e;

	if (c != NULL && len > 0 && len <= TLS_CACHE_KEY_MAX && (e = tls_cache_find(c, key, len, &set)) != NULL)
		tls_cache_drop(c, e);
}

void
tls_cache_get_stats(const struct tls_cache *c, struct tls_cache_stats *st)
{
	if (c == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = c->st;
}
