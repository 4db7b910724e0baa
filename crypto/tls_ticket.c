/*
 * tls_ticket.c — session-ticket key sets and ticket encryption (see
 * tls_ticket.h). Called from wolfSSL's ticket callback on the workers
 * (tls.c) and from the control plane's rotation (ctl.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/random.h>

#include "crypto/tls_ticket.h"

#define TLS_TICKET_NONCE_LEN 12 /* ChaCha20-Poly1305 (RFC 8439) */
#define TLS_TICKET_TAG_LEN   16

struct tls_ticket_keys *
tls_ticket_keys_rotate(const struct tls_ticket_keys *old, uint64_t now, uint64_t keep, char *err,
		       size_t errlen)
{
	struct tls_ticket_keys *k = calloc(1, sizeof(*k));
	WC_RNG rng;

	if (k == NULL) {
		snprintf(err, errlen, "tls: out of memory for session-ticket keys");
		return NULL;
	}
	if (wc_InitRng(&rng) != 0) {
		snprintf(err, errlen, "tls: no random generator for session-ticket keys");
		free(k);
		return NULL;
	}
	int rc = wc_RNG_GenerateBlock(&rng, k->k[0].name, TLS_TICKET_NAME_LEN);
	if (rc == 0)
		rc = wc_RNG_GenerateBlock(&rng, k->k[0].key, TLS_TICKET_KEY_LEN);
	wc_FreeRng(&rng);
	if (rc != 0) {
		snprintf(err, errlen, "tls: the random generator failed (%d) making a session-ticket key", rc);
		tls_ticket_keys_free(k);
		return NULL;
	}
	k->k[0].created = now;
	k->n = 1;
	k->serial = old != NULL ? old->serial + 1 : 1;
	for (unsigned i = 0; old != NULL && i < old->n && k->n < TLS_TICKET_KEYS; i++) {
		struct tls_ticket_key o = old->k[i];
		if (o.retired == 0)
			o.retired = now;
		if (now - o.retired < keep)
			k->k[k->n++] = o;
	}
	return k;
}

void
tls_ticket_keys_free(struct tls_ticket_keys *k)
{
	if (k == NULL)
		return;
	explicit_bzero(k, sizeof(*k));
	free(k);
}

/* Additional data: the key name, the nonce and the ticket's length (as wolfSSL's own callback). */
static void
tls_ticket_aad(uint8_t aad[16 + 16 + 2], const uint8_t name[16], const uint8_t iv[16], int len)
{
	memcpy(aad, name, 16);
	memcpy(aad + 16, iv, 16);
	aad[32] = (uint8_t)(len >> 8);
	aad[33] = (uint8_t)len;
}

static enum tls_ticket_result
tls_ticket_encrypt(const struct tls_ticket_keys *keys, uint32_t worker, uint64_t *seq, uint8_t name[16],
		   uint8_t iv[16], uint8_t mac[32], uint8_t *ticket, int in_len, int *out_len, uint8_t flags)
{
	const struct tls_ticket_key *key = &keys->k[0];
	uint64_t s = (*seq)++;
	uint8_t aad[34];

	memcpy(name, key->name, TLS_TICKET_NAME_LEN);
	memset(iv, 0, 16);
	for (int i = 0; i < 4; i++)             /* worker + 1: wolfSSL refuses an all-zero IV */
		iv[i] = (uint8_t)((worker + 1) >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		iv[4 + i] = (uint8_t)(s >> (56 - 8 * i));
	iv[15] = flags;                         /* past the 12-byte nonce; authenticated as data */
	memset(mac, 0, 32);
	tls_ticket_aad(aad, name, iv, in_len);
	if (wc_ChaCha20Poly1305_Encrypt(key->key, iv, aad, sizeof(aad), ticket, (word32)in_len, ticket, mac) != 0)
		return TLS_TICKET_BAD;
	*out_len = in_len;
	return TLS_TICKET_OK;
}

enum tls_ticket_result
tls_ticket_crypt(const struct tls_ticket_keys *keys, uint32_t worker, uint64_t *seq, uint8_t name[16],
		 uint8_t iv[16], uint8_t mac[32], int enc, uint8_t *ticket, int in_len, int *out_len, uint8_t *flags)
{
	uint8_t aad[34];

	if (keys == NULL || keys->n == 0 || in_len < 0 || in_len > 0xffff)
		return enc ? TLS_TICKET_BAD : TLS_TICKET_UNKNOWN;
	if (enc)
		return tls_ticket_encrypt(keys, worker, seq, name, iv, mac, ticket, in_len, out_len, *flags);
	for (unsigned i = 0; i < keys->n; i++) {
		const struct tls_ticket_key *key = &keys->k[i];
		if (memcmp(key->name, name, TLS_TICKET_NAME_LEN) != 0)
			continue;
		tls_ticket_aad(aad, name, iv, in_len);
		if (wc_ChaCha20Poly1305_Decrypt(key->key, iv, aad, sizeof(aad), ticket, (word32)in_len, mac,
						ticket) != 0)
			return TLS_TICKET_BAD;
		*out_len = in_len;
		*flags = iv[15];
		return i == 0 ? TLS_TICKET_OK : TLS_TICKET_RENEW;
	}
	return TLS_TICKET_UNKNOWN;
}
