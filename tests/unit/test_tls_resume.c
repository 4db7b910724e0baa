/*
 * test_tls_resume.c — unit tests of the resumption pieces under the TLS
 * filter: session-ticket key sets and ticket encryption (crypto/tls_ticket.h)
 * and the per-worker session cache (crypto/tls_cache.h), with wolfCrypt and
 * wolfSSL session objects, no network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/tls_cache.h"
#include "crypto/tls_ticket.h"

#define TICKET_LEN 200

struct ticket {
	uint8_t name[16], iv[16], mac[32];
	uint8_t data[TICKET_LEN];
};

static enum tls_ticket_result
seal(const struct tls_ticket_keys *k, uint32_t worker, uint64_t *seq, struct ticket *t, uint8_t fill)
{
	int out = 0;

	memset(t->data, fill, sizeof(t->data));
	uint8_t flags = fill & 1;
	enum tls_ticket_result r = tls_ticket_crypt(k, worker, seq, t->name, t->iv, t->mac, 1, t->data,
						    TICKET_LEN, &out, &flags);
	if (r == TLS_TICKET_OK)
		assert_int_equal(out, TICKET_LEN);
	return r;
}

static enum tls_ticket_result
open_(const struct tls_ticket_keys *k, struct ticket t, uint8_t fill)
{
	int out = 0;
	uint64_t seq = 0;
	uint8_t flags = 0xee;
	enum tls_ticket_result r = tls_ticket_crypt(k, 0, &seq, t.name, t.iv, t.mac, 0, t.data, TICKET_LEN, &out,
						    &flags);

	if (r == TLS_TICKET_OK || r == TLS_TICKET_RENEW) {
		assert_int_equal(out, TICKET_LEN);
		assert_int_equal(flags, fill & 1);      /* the flags sealed with it (seal() uses fill's low bit) */
		for (int i = 0; i < TICKET_LEN; i++)
			assert_int_equal(t.data[i], fill);
	}
	return r;
}

static void
test_ticket_round_trip(void **state)
{
	char err[128];
	struct tls_ticket_keys *k = tls_ticket_keys_rotate(NULL, 1000, 3600, err, sizeof(err));
	struct ticket a, b, c;
	uint64_t seq0 = 0, seq1 = 0;
	(void)state;

	assert_non_null(k);
	assert_int_equal(k->n, 1);
	assert_int_equal(k->serial, 1);
	assert_int_equal(seal(k, 0, &seq0, &a, 0x5a), TLS_TICKET_OK);
	assert_int_equal(seal(k, 0, &seq0, &b, 0x5a), TLS_TICKET_OK);
	assert_int_equal(seal(k, 1, &seq1, &c, 0x5a), TLS_TICKET_OK);
	assert_int_equal(seq0, 2);
	assert_int_equal(seq1, 1);
	/* Encrypted: not the plaintext; every nonce differs (per worker and per ticket); never all zero. */
	assert_int_not_equal(a.data[0] == 0x5a && a.data[1] == 0x5a && a.data[2] == 0x5a, 1);
	assert_memory_not_equal(a.iv, b.iv, 16);
	assert_memory_not_equal(a.iv, c.iv, 16);
	assert_memory_not_equal(b.iv, c.iv, 16);
	static const uint8_t zero[16];
	assert_memory_not_equal(a.iv, zero, 16);
	assert_memory_equal(a.name, k->k[0].name, 16);
	assert_int_equal(open_(k, a, 0x5a), TLS_TICKET_OK);
	assert_int_equal(open_(k, c, 0x5a), TLS_TICKET_OK);
	/* Any change is caught: data, nonce, tag. */
	struct ticket t = a;
	t.data[17] ^= 1;
	assert_int_equal(open_(k, t, 0x5a), TLS_TICKET_BAD);
	t = a;
	t.iv[3] ^= 0x80;
	assert_int_equal(open_(k, t, 0x5a), TLS_TICKET_BAD);
	t = a;
	t.mac[0] ^= 1;
	assert_int_equal(open_(k, t, 0x5a), TLS_TICKET_BAD);
	t = a;
	t.iv[15] ^= TLS_TICKET_F_CLIENT_CERT;           /* the flags cannot be changed either */
	assert_int_equal(open_(k, t, 0x5a), TLS_TICKET_BAD);
	assert_int_equal(seal(k, 0, &seq0, &t, 0x5b), TLS_TICKET_OK);
	assert_int_equal(t.iv[15], TLS_TICKET_F_CLIENT_CERT);
	assert_int_equal(open_(k, t, 0x5b), TLS_TICKET_OK);
	/* A name we never had: unknown (a full handshake, not an error). */
	t = a;
	t.name[0] ^= 1;
	assert_int_equal(open_(k, t, 0x5a), TLS_TICKET_UNKNOWN);
	/* No keys: nothing encrypts, nothing decrypts. */
	assert_int_equal(seal(NULL, 0, &seq0, &t, 1), TLS_TICKET_BAD);
	assert_int_equal(open_(NULL, a, 0x5a), TLS_TICKET_UNKNOWN);
	tls_ticket_keys_free(k);
}

static void
test_ticket_rotation(void **state)
{
	char err[128];
	uint64_t seq = 0;
	struct ticket t1, t2;
	(void)state;

	struct tls_ticket_keys *k1 = tls_ticket_keys_rotate(NULL, 1000, 600, err, sizeof(err));
	assert_int_equal(seal(k1, 0, &seq, &t1, 1), TLS_TICKET_OK);
	/* Rotation at 1300: a new key encrypts, the old one still decrypts (renew). */
	struct tls_ticket_keys *k2 = tls_ticket_keys_rotate(k1, 1300, 600, err, sizeof(err));
	assert_non_null(k2);
	assert_int_equal(k2->n, 2);
	assert_int_equal(k2->serial, 2);
	assert_memory_not_equal(k2->k[0].name, k1->k[0].name, 16);
	assert_memory_not_equal(k2->k[0].key, k1->k[0].key, 32);
	assert_memory_equal(k2->k[1].key, k1->k[0].key, 32);
	assert_int_equal(k2->k[1].retired, 1300);
	assert_int_equal(k2->k[0].retired, 0);
	assert_int_equal(open_(k2, t1, 1), TLS_TICKET_RENEW);
	assert_int_equal(seal(k2, 0, &seq, &t2, 2), TLS_TICKET_OK);
	assert_memory_equal(t2.name, k2->k[0].name, 16);
	assert_int_equal(open_(k2, t2, 2), TLS_TICKET_OK);
	/* At 1899 (599 s after its retirement) the first key still decrypts; at 1900 it is gone. */
	struct tls_ticket_keys *k3 = tls_ticket_keys_rotate(k2, 1899, 600, err, sizeof(err));
	assert_int_equal(k3->n, 3);
	assert_int_equal(open_(k3, t1, 1), TLS_TICKET_RENEW);
	assert_int_equal(k3->k[1].retired, 1899);      /* k2's current key retires now */
	assert_int_equal(k3->k[2].retired, 1300);      /* k1's keeps its retirement time */
	struct tls_ticket_keys *k4 = tls_ticket_keys_rotate(k3, 1900, 600, err, sizeof(err));
	assert_int_equal(k4->n, 3);
	assert_int_equal(open_(k4, t1, 1), TLS_TICKET_UNKNOWN);
	assert_int_equal(open_(k4, t2, 2), TLS_TICKET_RENEW);
	/* Rotating faster than keys expire keeps at most TLS_TICKET_KEYS. */
	struct tls_ticket_keys *k = k4, *n;
	for (int i = 0; i < 20; i++, k = n) {
		n = tls_ticket_keys_rotate(k, 2000 + (uint64_t)i, 600, err, sizeof(err));
		tls_ticket_keys_free(k);
	}
	assert_int_equal(k->n, TLS_TICKET_KEYS);
	assert_int_equal(k->serial, 24);
	tls_ticket_keys_free(k);
	tls_ticket_keys_free(k1);
	tls_ticket_keys_free(k2);
	tls_ticket_keys_free(k3);
}

static WOLFSSL_SESSION *
session(void)
{
	WOLFSSL_SESSION *s = wolfSSL_SESSION_new();
	assert_non_null(s);
	return s;
}

static void
test_cache_basics(void **state)
{
	struct tls_cache *c = tls_cache_create(8, false);
	struct tls_cache_stats st;
	struct tls_info in = { .peer_cert = true, .peer_verified = true, .name_ok = true }, out;
	(void)state;

	assert_non_null(c);
	tls_cache_get_stats(c, &st);
	assert_int_equal(st.slots, 8);
	assert_int_equal(st.used, 0);
	strcpy(in.peer_subject, "/CN=mx.int.example");
	WOLFSSL_SESSION *s = session();
	tls_cache_put(c, "hop-a", 5, 0, s, 100, &in);
	memset(&out, 0, sizeof(out));
	assert_ptr_equal(tls_cache_get(c, "hop-a", 5, 0, 99, &out, NULL), s);
	assert_true(out.peer_verified && out.name_ok && out.peer_cert);
	assert_string_equal(out.peer_subject, "/CN=mx.int.example");
	assert_null(tls_cache_get(c, "hop-b", 5, 0, 99, NULL, NULL));
	assert_null(tls_cache_get(c, "hop-a", 4, 0, 99, NULL, NULL));   /* a prefix is another key */
	/* The same key again replaces the entry (the old session is freed). */
	WOLFSSL_SESSION *s2 = session();
	tls_cache_put(c, "hop-a", 5, 0, s2, 200, NULL);
	assert_ptr_equal(tls_cache_get(c, "hop-a", 5, 0, 150, &out, NULL), s2);
	assert_false(out.peer_verified);                        /* no info stored: none returned */
	tls_cache_get_stats(c, &st);
	assert_int_equal(st.used, 1);
	/* Expired at its time exactly. */
	assert_null(tls_cache_get(c, "hop-a", 5, 0, 200, NULL, NULL));
	tls_cache_get_stats(c, &st);
	assert_int_equal(st.used, 0);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.hits, 2);
	/* remove; too long and empty keys are not stored (and do not leak: run under ASan/valgrind). */
	tls_cache_put(c, "k", 1, 0, session(), 500, NULL);
	tls_cache_remove(c, "k", 1);
	assert_null(tls_cache_get(c, "k", 1, 0, 1, NULL, NULL));
	char big[TLS_CACHE_KEY_MAX + 1];
	memset(big, 'x', sizeof(big));
	tls_cache_put(c, big, sizeof(big), 0, session(), 500, NULL);
	assert_null(tls_cache_get(c, big, sizeof(big), 0, 1, NULL, NULL));
	tls_cache_put(c, big, 0, 0, session(), 500, NULL);
	tls_cache_get_stats(c, &st);
	assert_int_equal(st.used, 0);
	/* Another generation (reload certs since): not returned, dropped, counted stale and a miss. */
	bool stale = false;
	tls_cache_get_stats(c, &st);
	uint64_t misses = st.misses;
	tls_cache_put(c, "sid", 3, 7, session(), 500, &in);
	assert_null(tls_cache_get(c, "sid", 3, 8, 1, &out, &stale));
	assert_true(stale);
	tls_cache_get_stats(c, &st);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.misses, misses + 1);
	assert_int_equal(st.used, 0);
	stale = false;
	assert_null(tls_cache_get(c, "sid", 3, 7, 1, NULL, &stale));      /* gone for its own generation too */
	assert_false(stale);
	tls_cache_put(c, "sid", 3, 8, session(), 500, NULL);
	assert_non_null(tls_cache_get(c, "sid", 3, 8, 1, NULL, &stale));  /* the same generation: found */
	assert_false(stale);
	tls_cache_remove(c, "sid", 3);
	tls_cache_put(NULL, "x", 1, 0, session(), 1, NULL);       /* no cache: the session is freed */
	assert_null(tls_cache_get(NULL, "x", 1, 0, 0, NULL, NULL));
	tls_cache_free(c);
	tls_cache_free(NULL);
}

static void
test_cache_eviction(void **state)
{
	struct tls_cache *c = tls_cache_create(64, false);
	struct tls_cache_stats st;
	char key[16];
	(void)state;

	/* Fill far beyond its size: it never holds more than its slots, the latest keys are found. */
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "id-%u", i);
		tls_cache_put(c, key, strlen(key), 0, session(), 10000 + i, NULL);
	}
	tls_cache_get_stats(c, &st);
	assert_int_equal(st.slots, 64);
	assert_true(st.used <= 64 && st.used >= 48);
	assert_int_equal(st.stored, 1000);
	assert_int_equal(st.evicted, 1000 - st.used);
	snprintf(key, sizeof(key), "id-%u", 999);
	assert_non_null(tls_cache_get(c, key, strlen(key), 0, 0, NULL, NULL));
	/* The one that expires first in a full set goes: the oldest of these. */
	unsigned found = 0;
	for (unsigned i = 900; i < 1000; i++) {
		snprintf(key, sizeof(key), "id-%u", i);
		found += tls_cache_get(c, key, strlen(key), 0, 0, NULL, NULL) != NULL;
	}
	assert_true(found >= 40);
	tls_cache_free(c);
	/* A size that is not a power of two is rounded up; 0 gives one set. */
	c = tls_cache_create(100, false);
	tls_cache_get_stats(c, &st);
	assert_int_equal(st.slots, 128);
	tls_cache_free(c);
	c = tls_cache_create(0, false);
	tls_cache_get_stats(c, &st);
	assert_int_equal(st.slots, 4);
	tls_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_round_trip),
		cmocka_unit_test(test_ticket_rotation),
		cmocka_unit_test(test_cache_basics),
		cmocka_unit_test(test_cache_eviction),
	};
	wolfSSL_Init();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	wolfSSL_Cleanup();
	return rc;
}
