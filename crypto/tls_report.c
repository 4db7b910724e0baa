/*
 * tls_report.c — the per-worker table behind `mailgwctl show tls`: open
 * addressing on (address, direction), bounded, no allocation; the console
 * reads it racily (plain fields, memory-safe).
 */
#include <string.h>
#include <time.h>

#include "crypto/tls_report.h"

static struct tls_report_peer *
tls_report_slot(struct tls_report *r, uint32_t addr, bool outbound)
{
	uint32_t h = (addr * 2654435761u) ^ (outbound ? 0x9e3779b9u : 0);

	for (unsigned i = 0; i < 16; i++) {
		struct tls_report_peer *p = &r->peers[(h + i) % TLS_REPORT_PEERS];
		if (p->addr == addr && p->outbound == outbound)
			return p;
		if (p->addr == 0) {
			memset(p, 0, sizeof(*p));
			p->outbound = outbound;
			p->addr = addr;
			return p;
		}
	}
	r->dropped++;
	return NULL;
}

void
tls_report_session(struct tls_report *r, uint32_t addr, bool outbound, const char *version,
		   const char *cipher)
{
	struct tls_report_peer *p = r ? tls_report_slot(r, addr, outbound) : NULL;

	if (p == NULL)
		return;
	if (version == NULL) {
		p->plaintext++;
	} else {
		p->version = version;
		p->cipher = cipher;
		if (strcmp(version, "TLSv1.3") == 0)
			p->tls13++;
		else
			p->tls12++;
	}
	p->last_seen = (uint64_t)time(NULL);
}

void
tls_report_refused(struct tls_report *r, uint32_t addr, uint16_t offered)
{
	struct tls_report_peer *p = r ? tls_report_slot(r, addr, false) : NULL;

	if (p == NULL)
		return;
	p->refused++;
	p->refused_version = offered;
	p->last_seen = (uint64_t)time(NULL);
}
