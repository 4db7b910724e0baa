/*
 * tls_ticket.h — session-ticket keys (RFC 5077, and TLS 1.3 tickets) shared
 * by all workers. The control plane makes a new key set every
 * tls.ticket_key_rotation seconds and publishes it under RCU; a key set is
 * immutable once published, so the workers read it without locks. The
 * newest key encrypts; older ones only decrypt, for tls.session_timeout after
 * they stop encrypting (no ticket they made can still be valid after that).
 * A ticket is ChaCha20-Poly1305 over wolfSSL's ticket state, with the key
 * name, nonce and length as additional data; the nonce is the worker's id
 * (plus one) and its own counter, unique per key without a random generator.
 */
#ifndef MAILGW_CRYPTO_TLS_TICKET_H
#define MAILGW_CRYPTO_TLS_TICKET_H

#include <stddef.h>
#include <stdint.h>

#define TLS_TICKET_KEYS     8       /* keys kept at most (the newest encrypts) */
#define TLS_TICKET_NAME_LEN 16
#define TLS_TICKET_KEY_LEN  32

struct tls_ticket_key {
	uint8_t name[TLS_TICKET_NAME_LEN];      /* random; tells the keys apart in a ticket */
	uint8_t key[TLS_TICKET_KEY_LEN];
	uint64_t created;                       /* seconds (any clock, the caller's) */
	uint64_t retired;                       /* when it stopped encrypting (0: current) */
};

struct tls_ticket_keys {
	struct tls_ticket_key k[TLS_TICKET_KEYS];   /* k[0] encrypts; newest first */
	unsigned n;
	uint64_t serial;                        /* 1 for the first set, +1 per rotation */
};

/* What tls_ticket_crypt() did with a ticket (mapped onto wolfSSL's return codes by the caller). */
enum tls_ticket_result {
	TLS_TICKET_OK = 0,              /* encrypted, or decrypted with the current key */
	TLS_TICKET_RENEW,               /* decrypted with an older key: use it and issue a new ticket */
	TLS_TICKET_UNKNOWN,             /* its key is retired or was never ours: full handshake */
	TLS_TICKET_BAD,                 /* authentication failed or malformed: full handshake */
};

/*
 * A new key set at time now: a fresh current key, then the keys of old
 * (NULL for the first) that still decrypt (retired less than keep seconds
 * ago), at most TLS_TICKET_KEYS in all. NULL with a message when the random
 * generator or memory fails.
 */
struct tls_ticket_keys *tls_ticket_keys_rotate(const struct tls_ticket_keys *old, uint64_t now,
					       uint64_t keep, char *err, size_t errlen);

/* Free a key set (after no worker can still read it); its keys are wiped. */
void tls_ticket_keys_free(struct tls_ticket_keys *k);

/* Bits of a ticket's flags byte (authenticated with it, not encrypted). */
#define TLS_TICKET_F_CLIENT_CERT 0x01   /* the session had a client certificate */

/*
 * Encrypt (enc != 0: fills name, iv, mac; the ticket in place, *out_len =
 * in_len) or decrypt (checks name, iv, mac) a ticket with keys. worker and
 * *seq make the nonce (*seq is advanced): each worker keeps its own counter.
 * *flags goes into the ticket (enc) or comes out of it (decrypt, when it
 * authenticates).
 */
enum tls_ticket_result tls_ticket_crypt(const struct tls_ticket_keys *keys, uint32_t worker, uint64_t *seq,
					uint8_t name[16], uint8_t iv[16], uint8_t mac[32], int enc,
					uint8_t *ticket, int in_len, int *out_len, uint8_t *flags);

#endif
