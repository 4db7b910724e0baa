/*
 * tls_report.h — who uses which TLS: per worker, a bounded table of peers
 * (client addresses inbound, next hops outbound) with their last TLS version
 * and cipher and how many sessions they made with TLS 1.3, TLS 1.2, in
 * plaintext, and with refused old versions (TLS 1.0/1.1, SSL). The basis of
 * `mailgwctl show tls`, to see who still needs old TLS or none at all.
 */
#ifndef MAILGW_CRYPTO_TLS_REPORT_H
#define MAILGW_CRYPTO_TLS_REPORT_H

#include <stdbool.h>
#include <stdint.h>

struct worker;

#define TLS_REPORT_PEERS 1024   /* peers remembered per worker (then counted in `dropped`) */

struct tls_report_peer {
	uint32_t addr;                  /* host byte order; 0 = free slot */
	bool outbound;
	const char *version;            /* last TLS version ("TLSv1.3"), NULL if never TLS */
	const char *cipher;             /* last cipher */
	uint16_t refused_version;       /* last refused ClientHello version (0x0301 = TLS 1.0) */
	uint32_t tls13, tls12, plaintext, refused;
	uint64_t last_seen;             /* UTC seconds */
};

struct tls_report {
	struct tls_report_peer peers[TLS_REPORT_PEERS];
	uint64_t dropped;               /* sessions not recorded: table full */
};

/* A session with addr: TLS (version/cipher) or plaintext (version NULL). */
void tls_report_session(struct tls_report *r, uint32_t addr, bool outbound, const char *version,
			const char *cipher);

/* A handshake refused because the client offered at most `offered` (0x0301 ...). */
void tls_report_refused(struct tls_report *r, uint32_t addr, uint16_t offered);

#endif
