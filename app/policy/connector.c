/*
 * connector.c — the connector table (see connector.h). Built by the control
 * plane per configuration generation; read by the SMTP server (after the
 * TLS handshake and at each command before and at MAIL:
 * connector_inbound_decide) and the SMTP client (per recipient domain:
 * connector_outbound_lookup, then connector_outbound_decide after EHLO and
 * the handshake), and by the console's simulator. Names (sender domains,
 * certificate names, recipient domains) share one open-addressing hash
 * table, each record holding the connector of the name itself and of
 * "*.name" per kind; pins a second one; addresses rte_fib (IPv4) and
 * rte_lpm6 (IPv6), with each connector's ranges also kept as sorted
 * intervals for restrict_domains_to_ip_addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_fib.h>
#include <rte_lcore.h>
#include <rte_lpm6.h>

#include "app/policy/connector.h"

#define CONN_FNV_BASIS      0xcbf29ce484222325ull
#define CONN_FNV_PRIME      0x100000001b3ull
#define CONN_MIN_SLOTS      16u
#define CONN_MAX_SUFFIXES   (CONNECTOR_DOMAIN_MAX + 1)
#define CONN_REC_ALIGN      8u
#define CONN_TBL8_SLACK     16u
#define CONN_TBL24_BYTES    ((size_t)4 << 24)   /* 2^24 entries of 4 bytes */
#define CONN_TBL8_BYTES     ((size_t)256 * 4)
#define CONN_V6_LEVELS      13                  /* tbl8 levels below rte_lpm6's tbl24 */
#define CONN_SCORE_EXACT    0x10000u            /* beats any wildcard (suffix length) */

/* Kinds of names, each with its own connector per record. */
enum conn_kind { CONN_K_SENDER, CONN_K_CERT, CONN_K_RCPT, CONN_NK };

/* One distinct name, lower-case, no trailing dot, no "*." (records back to back). */
struct conn_name {
	uint32_t id[CONN_NK][2];        /* [kind][0: the name, 1: "*.name"]; CONNECTOR_NONE */
	uint16_t len;
	char name[];
};

struct conn_slot {
	uint32_t tag;                   /* high half of the mixed hash */
	uint32_t idx;                   /* 1 + record offset / CONN_REC_ALIGN; 0 empty */
};

struct conn_pin {
	uint8_t key[CFG_SPKI_PIN_LEN];
	uint32_t id;
	uint32_t used;
};

/* Address intervals of one inbound connector (sorted, merged). */
struct conn_iv4 {
	uint32_t lo, hi;
};

struct conn_iv6 {
	unsigned __int128 lo, hi;
};

struct conn_ranges {
	uint32_t off4, n4, off6, n6;
};

struct connector_table {
	const struct gw_config *cfg;
	unsigned n_in, n_out;
	struct conn_slot *slots;
	uint32_t mask;
	char *arena;
	size_t arena_used, arena_size;
	unsigned n_names;
	uint32_t out_default;           /* the "*" outbound connector */
	struct conn_pin *pins;
	uint32_t pin_mask;
	unsigned n_pins;
	struct rte_fib *fib4;
	struct rte_lpm6 *lpm6;
	unsigned n_pfx4, n_pfx6, tbl8_4, tbl8_6;
	struct conn_ranges *ranges;     /* per inbound connector */
	struct conn_iv4 *iv4;
	struct conn_iv6 *iv6;
	size_t bytes, dpdk_bytes;
};

static uint32_t conn_serial;            /* unique DPDK object names */

/* ------------------------------------------------------------- names */

static inline unsigned char
conn_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static inline uint64_t
conn_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

/* FNV-1a over the lower-cased octets, last to first (as route.c: suffixes on the way). */
static uint64_t
conn_hash(const char *s, size_t len)
{
	uint64_t h = CONN_FNV_BASIS;

	while (len > 0)
		h = (h ^ conn_lower((unsigned char)s[--len])) * CONN_FNV_PRIME;
	return h;
}

static bool
conn_name_eq(const char *n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)n[i] != conn_lower((unsigned char)s[i]))
			return false;
	return true;
}

static inline size_t
conn_rec_size(size_t len)
{
	return (offsetof(struct conn_name, name) + len + 1 + CONN_REC_ALIGN - 1) &
	       ~(size_t)(CONN_REC_ALIGN - 1);
}

static inline struct conn_name *
conn_rec(const struct connector_table *t, uint32_t idx)
{
	return (struct conn_name *)(void *)(t->arena + (size_t)(idx - 1) * CONN_REC_ALIGN);
}

/* The record of hash h and text s[0..len), or NULL; *probes += slots inspected. */
static const struct conn_name *
conn_find(const struct connector_table *t, uint64_t h, const char *s, size_t len,
	  unsigned *probes)
{
	uint64_t m = conn_mix(h);
	uint32_t i = (uint32_t)m & t->mask, tag = (uint32_t)(m >> 32);
	const struct conn_name *nm;

	for (;; i = (i + 1) & t->mask) {
		const struct conn_slot *sl = &t->slots[i];

		(*probes)++;
		if (sl->idx == 0)
			return NULL;
		if (sl->tag != tag)
			continue;
		nm = conn_rec(t, sl->idx);
		if (nm->len == len && conn_name_eq(nm->name, s, len))
			return nm;
	}
}

/* Strip one trailing dot; false when empty or too long to match. */
static bool
conn_trim(const char *d, size_t *len)
{
	if (d == NULL)
		return false;
	if (*len > 0 && d[*len - 1] == '.')
		(*len)--;
	return *len > 0 && *len <= CONNECTOR_DOMAIN_MAX;
}

/*
 * The connector of domain d (kind k): the name itself, else the closest
 * "*.suffix" (any depth). *wild says which (when not NULL).
 */
static uint32_t
conn_domain_lookup(const struct connector_table *t, enum conn_kind k, const char *d,
		   size_t len, bool *wild, unsigned *probes)
{
	uint64_t hash[CONN_MAX_SUFFIXES], h = CONN_FNV_BASIS;
	uint16_t start[CONN_MAX_SUFFIXES];
	const struct conn_name *nm;
	unsigned n = 0;
	size_t i = len;

	while (i > 0) {
		h = (h ^ conn_lower((unsigned char)d[--i])) * CONN_FNV_PRIME;
		if (i == 0 || d[i - 1] == '.') {
			hash[n] = h;
			start[n++] = (uint16_t)i;
		}
	}
	nm = conn_find(t, hash[n - 1], d, len, probes);
	if (wild)
		*wild = nm == NULL || nm->id[k][0] == CONNECTOR_NONE;
	if (nm && nm->id[k][0] != CONNECTOR_NONE)
		return nm->id[k][0];
	while (--n > 0) {
		nm = conn_find(t, hash[n - 1], d + start[n - 1], len - start[n - 1], probes);
		if (nm && nm->id[k][1] != CONNECTOR_NONE)
			return nm->id[k][1];
	}
	return CONNECTOR_NONE;
}

/*
 * The connector of one presented certificate name p (SAN or CN) and how
 * specific the match is (*score: CONN_SCORE_EXACT, else the length of the
 * wildcard's suffix). "*.x" presented matches only the configured "*.x".
 */
static uint32_t
conn_cert_lookup(const struct connector_table *t, const char *p, unsigned *score,
		 unsigned *probes)
{
	size_t len = p ? strlen(p) : 0;
	const struct conn_name *nm;
	const char *dot;

	if (!conn_trim(p, &len))
		return CONNECTOR_NONE;
	if (len > 2 && p[0] == '*' && p[1] == '.') {
		nm = conn_find(t, conn_hash(p + 2, len - 2), p + 2, len - 2, probes);
		*score = (unsigned)len - 2;
		return nm ? nm->id[CONN_K_CERT][1] : CONNECTOR_NONE;
	}
	nm = conn_find(t, conn_hash(p, len), p, len, probes);
	*score = CONN_SCORE_EXACT;
	if (nm && nm->id[CONN_K_CERT][0] != CONNECTOR_NONE)
		return nm->id[CONN_K_CERT][0];
	dot = memchr(p, '.', len);
	if (dot == NULL || dot == p || (size_t)(dot - p) + 1 >= len)
		return CONNECTOR_NONE;
	dot++;
	*score = (unsigned)(len - (size_t)(dot - p));
	nm = conn_find(t, conn_hash(dot, (size_t)(p + len - dot)), dot, (size_t)(p + len - dot),
		       probes);
	return nm ? nm->id[CONN_K_CERT][1] : CONNECTOR_NONE;
}

/* The most specific connector of the certificate's SANs, else of its CN; *which the name. */
static uint32_t
conn_cert_select(const struct connector_table *t, const struct connector_facts *f,
		 const char **which, unsigned *probes)
{
	uint32_t best = CONNECTOR_NONE, id;
	unsigned i, score = 0, best_score = 0;

	*which = NULL;
	for (i = 0; i < f->n_sans; i++) {
		id = conn_cert_lookup(t, f->sans[i], &score, probes);
		if (id != CONNECTOR_NONE && (best == CONNECTOR_NONE || score > best_score)) {
			best = id;
			best_score = score;
			*which = f->sans[i];
		}
	}
	if (best == CONNECTOR_NONE && f->cn) {
		best = conn_cert_lookup(t, f->cn, &score, probes);
		*which = best != CONNECTOR_NONE ? f->cn : NULL;
	}
	return best;
}

/* Whether one of the certificate's names (SANs, then CN) belongs to connector id. */
static bool
conn_cert_names_match(const struct connector_table *t, uint32_t id,
		      const struct connector_facts *f, const char **which)
{
	unsigned i, score, probes = 0;

	for (i = 0; i < f->n_sans; i++)
		if (conn_cert_lookup(t, f->sans[i], &score, &probes) == id) {
			*which = f->sans[i];
			return true;
		}
	*which = f->cn;
	return f->cn && conn_cert_lookup(t, f->cn, &score, &probes) == id;
}

void
connector_facts_names(struct connector_facts *f, const struct tls_names *n, const char **sans, unsigned max)
{
	f->sans = sans;
	f->n_sans = 0;
	f->cn = NULL;
	if (n->from_cn) {
		f->cn = tls_names_get(n, 0);
		return;
	}
	for (unsigned k = 0; k < n->n && f->n_sans < max; k++)
		sans[f->n_sans++] = tls_names_get(n, k);
}

/* ------------------------------------------------------------- pins */

static struct conn_pin *
conn_pin_slot(const struct connector_table *t, const uint8_t *key, unsigned *probes)
{
	uint64_t h;
	uint32_t i;

	memcpy(&h, key, sizeof(h));     /* a SHA-256: already uniform */
	for (i = (uint32_t)h & t->pin_mask;; i = (i + 1) & t->pin_mask) {
		(*probes)++;
		if (!t->pins[i].used || memcmp(t->pins[i].key, key, CFG_SPKI_PIN_LEN) == 0)
			return &t->pins[i];
	}
}

static uint32_t
conn_pin_owner(const struct connector_table *t, const struct connector_facts *f,
	       unsigned *probes)
{
	const struct conn_pin *p;

	if (!t->n_pins || !f->cert || !f->have_spki)
		return CONNECTOR_NONE;
	p = conn_pin_slot(t, f->spki_sha256, probes);
	return p->used ? p->id : CONNECTOR_NONE;
}

/* ------------------------------------------------------------- addresses */

static unsigned __int128
conn_u128(const uint8_t a[16])
{
	unsigned __int128 v = 0;
	int i;

	for (i = 0; i < 16; i++)
		v = v << 8 | a[i];
	return v;
}

static uint32_t
conn_v4(const struct cfg_ip_net *n)
{
	return (uint32_t)n->addr[12] << 24 | (uint32_t)n->addr[13] << 16 |
	       (uint32_t)n->addr[14] << 8 | n->addr[15];
}

static uint32_t
conn_addr_lookup(const struct connector_table *t, const struct connector_facts *f,
		 unsigned *probes)
{
	uint32_t ip = f->addr4, nh6;
	uint64_t nh = 0;

	(*probes)++;
	if (!f->v6) {
		if (t->fib4 == NULL)
			return CONNECTOR_NONE;
		rte_fib_lookup_bulk(t->fib4, &ip, &nh, 1);
		return nh ? (uint32_t)(nh - 1) : CONNECTOR_NONE;
	}
	if (t->lpm6 == NULL || rte_lpm6_lookup(t->lpm6, f->addr6, &nh6) != 0)
		return CONNECTOR_NONE;
	return nh6;
}

bool
connector_in_ranges(const struct connector_table *t, uint32_t id,
		    const struct connector_facts *f)
{
	const struct conn_ranges *r;
	unsigned __int128 a6;
	size_t lo, hi, mid;

	if (t == NULL || id >= t->n_in)
		return false;
	r = &t->ranges[id];
	lo = f->v6 ? r->off6 : r->off4;
	hi = lo + (f->v6 ? r->n6 : r->n4);
	a6 = f->v6 ? conn_u128(f->addr6) : 0;
	while (lo < hi) {               /* the first interval ending at or after the address */
		mid = lo + (hi - lo) / 2;
		if (f->v6 ? t->iv6[mid].hi < a6 : t->iv4[mid].hi < f->addr4)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == (size_t)(f->v6 ? r->off6 + r->n6 : r->off4 + r->n4))
		return false;
	return f->v6 ? t->iv6[lo].lo <= a6 : t->iv4[lo].lo <= f->addr4;
}

/* ------------------------------------------------------------- inbound selection */

uint32_t
connector_sender_owner_ex(const struct connector_table *t, const char *domain, size_t len,
			  unsigned *probes)
{
	unsigned dummy = 0;

	if (t == NULL || !conn_trim(domain, &len))
		return CONNECTOR_NONE;
	return conn_domain_lookup(t, CONN_K_SENDER, domain, len, NULL, probes ? probes : &dummy);
}

static void
conn_set_sel(const struct connector_table *t, struct connector_selection *sel, uint32_t id,
	     enum connector_match why)
{
	sel->id = id;
	sel->why = id == CONNECTOR_NONE ? CONNECTOR_MATCH_NONE : why;
	sel->conn = id == CONNECTOR_NONE ? NULL : &t->cfg->connectors_in[id];
}

void
connector_inbound_select_ex(const struct connector_table *t, const struct connector_facts *f,
			    bool with_sender, struct connector_selection *sel, unsigned *probes)
{
	unsigned dummy = 0;
	const char *which;
	uint32_t id;

	if (probes == NULL)
		probes = &dummy;
	conn_set_sel(t, sel, CONNECTOR_NONE, CONNECTOR_MATCH_NONE);
	if (t == NULL)
		return;
	if ((id = conn_pin_owner(t, f, probes)) != CONNECTOR_NONE)
		return conn_set_sel(t, sel, id, CONNECTOR_MATCH_CERT_PIN);
	if (f->cert && f->cert_verified &&
	    (id = conn_cert_select(t, f, &which, probes)) != CONNECTOR_NONE)
		return conn_set_sel(t, sel, id, CONNECTOR_MATCH_CERT_NAME);
	if ((id = conn_addr_lookup(t, f, probes)) != CONNECTOR_NONE)
		return conn_set_sel(t, sel, id, CONNECTOR_MATCH_ADDRESS);
	if (with_sender && f->sender_domain)
		conn_set_sel(t, sel, connector_sender_owner_ex(t, f->sender_domain,
							       f->sender_len, probes),
			     CONNECTOR_MATCH_SENDER_DOMAIN);
}

void
connector_inbound_select(const struct connector_table *t, const struct connector_facts *f,
			 bool with_sender, struct connector_selection *sel)
{
	connector_inbound_select_ex(t, f, with_sender, sel, NULL);
}

/* ------------------------------------------------------------- inbound decision */

/* Whether the client's certificate satisfies connector id's names and pins. */
static enum connector_reason
conn_cert_check(const struct connector_table *t, uint32_t id, const struct connector_facts *f)
{
	const struct cfg_connector_in *ci = &t->cfg->connectors_in[id];
	const char *which;
	unsigned probes = 0;

	if (!f->cert)
		return CONNECTOR_R_CERT_MISSING;
	if (ci->n_cert_names && !f->cert_verified)
		return CONNECTOR_R_CERT_UNVERIFIED;
	if (ci->n_cert_names && !conn_cert_names_match(t, id, f, &which))
		return CONNECTOR_R_CERT_NAME;
	if (ci->n_pins && conn_pin_owner(t, f, &probes) != id)
		return CONNECTOR_R_CERT_PIN;
	return CONNECTOR_R_NONE;
}

/* Connector id's own policy: TLS, its version, the certificate. */
static enum connector_reason
conn_policy_check(const struct connector_table *t, uint32_t id, const struct connector_facts *f)
{
	const struct cfg_connector_in *ci = &t->cfg->connectors_in[id];
	bool cert = ci->n_cert_names || ci->n_pins;

	if ((ci->require_tls || ci->min_tls_version || cert) && f->tls_version == 0)
		return CONNECTOR_R_TLS_REQUIRED;
	if (ci->min_tls_version && f->tls_version < ci->min_tls_version)
		return CONNECTOR_R_TLS_VERSION;
	return cert ? conn_cert_check(t, id, f) : CONNECTOR_R_NONE;
}

/* The restrictions of connector id, which owns the sender domain. */
static enum connector_reason
conn_restrict_check(const struct connector_table *t, uint32_t id,
		    const struct connector_facts *f)
{
	const struct cfg_connector_in *ci = &t->cfg->connectors_in[id];

	if (ci->restrict_domains_to_certificate && conn_cert_check(t, id, f) != CONNECTOR_R_NONE)
		return CONNECTOR_R_DOMAIN_CERT;
	if (ci->restrict_domains_to_ip_addresses && !connector_in_ranges(t, id, f))
		return CONNECTOR_R_DOMAIN_ADDRESS;
	return CONNECTOR_R_NONE;
}

static const char *
conn_version_text(int v)
{
	return v == CFG_TLS_V1_3 ? "1.3" : v == CFG_TLS_V1_2 ? "1.2" : "?";
}

/* Printable text of at most 255 octets of s (client input) into out[256]. */
static void
conn_safe(const char *s, size_t len, char out[256])
{
	size_t i;

	if (len > 255)
		len = 255;
	for (i = 0; i < len; i++)
		out[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[len] = '\0';
}

static void
conn_addr_text(const struct connector_facts *f, char *buf, size_t len)
{
	uint32_t a = htonl(f->addr4);

	inet_ntop(f->v6 ? AF_INET6 : AF_INET, f->v6 ? (const void *)f->addr6 : (const void *)&a,
		  buf, (socklen_t)len);
}

/* The reply of an inbound refusal by connector id. */
static void
conn_in_reply(const struct connector_table *t, uint32_t id, enum connector_reason r,
	      const struct connector_facts *f, struct connector_decision *d)
{
	const struct cfg_connector_in *ci = &t->cfg->connectors_in[id];
	char dom[256], addr[64];
	const char *n = ci->name;
	char *b = d->reply;
	size_t l = sizeof(d->reply);

	d->code = r == CONNECTOR_R_TLS_REQUIRED || r == CONNECTOR_R_TLS_VERSION ? 530 : 550;
	conn_safe(f->sender_domain ? f->sender_domain : "", f->sender_domain ? f->sender_len : 0,
		  dom);
	conn_addr_text(f, addr, sizeof(addr));
	switch (r) {
	case CONNECTOR_R_TLS_REQUIRED:
		snprintf(b, l, "530 5.7.0 Must issue a STARTTLS command first");
		break;
	case CONNECTOR_R_TLS_VERSION:
		snprintf(b, l, "530 5.7.0 Connector \"%s\" requires TLS %s or later (this "
			 "session uses TLS %s)", n, conn_version_text(ci->min_tls_version),
			 conn_version_text(f->tls_version));
		break;
	case CONNECTOR_R_CERT_MISSING:
		snprintf(b, l, "550 5.7.1 Connector \"%s\": a client certificate is required", n);
		break;
	case CONNECTOR_R_CERT_UNVERIFIED:
		snprintf(b, l, "550 5.7.1 Connector \"%s\": the client certificate is not "
			 "verified (%s)", n, f->verify_text ? f->verify_text : "untrusted");
		break;
	case CONNECTOR_R_CERT_NAME:
		snprintf(b, l, "550 5.7.1 Connector \"%s\": the client certificate does not "
			 "match the connector's certificate name", n);
		break;
	case CONNECTOR_R_CERT_PIN:
		snprintf(b, l, "550 5.7.1 Connector \"%s\": the client certificate's key does "
			 "not match the connector's pins", n);
		break;
	case CONNECTOR_R_DOMAIN_CERT:
		snprintf(b, l, "550 5.7.1 Connector \"%s\": sender domain %s is accepted only "
			 "with the partner's certificate", n, dom);
		break;
	default:
		snprintf(b, l, "550 5.7.1 Connector \"%s\": sender domain %s is not accepted "
			 "from %s", n, dom, addr);
		break;
	}
}

/* The outcome of (r1 of connector id1: the selected one) and (r2 of id2: the domain's). */
static void
conn_in_pick(const struct connector_table *t, const struct connector_facts *f,
	     uint32_t id1, enum connector_reason r1, uint32_t id2, enum connector_reason r2,
	     struct connector_decision *d)
{
	bool rep1 = r1 && t->cfg->connectors_in[id1].mode == CFG_CONNECTOR_REPORT_ONLY;
	bool rep2 = r2 && t->cfg->connectors_in[id2].mode == CFG_CONNECTOR_REPORT_ONLY;
	bool one = r1 && (!rep1 || !r2 || rep2);

	if (!r1 && !r2)
		return;
	d->by = one ? id1 : id2;
	d->reason = one ? r1 : r2;
	d->verdict = (one ? rep1 : rep2) ? CONNECTOR_WOULD_REFUSE : CONNECTOR_REFUSE;
	conn_in_reply(t, d->by, d->reason, f, d);
}

void
connector_inbound_decide(const struct connector_table *t, const struct connector_facts *f,
			 enum connector_stage stage, struct connector_decision *d)
{
	enum connector_reason r1 = CONNECTOR_R_NONE, r2 = CONNECTOR_R_NONE;
	unsigned probes = 0;

	memset(d, 0, sizeof(*d));
	d->by = d->domain_owner = CONNECTOR_NONE;
	connector_inbound_select(t, f, false, &d->sel);
	if (t == NULL)
		return;
	if (stage == CONNECTOR_STAGE_MAIL && f->sender_domain)
		d->domain_owner = connector_sender_owner_ex(t, f->sender_domain, f->sender_len,
							    &probes);
	if (d->sel.id == CONNECTOR_NONE && d->domain_owner != CONNECTOR_NONE)
		conn_set_sel(t, &d->sel, d->domain_owner, CONNECTOR_MATCH_SENDER_DOMAIN);
	if (d->sel.id != CONNECTOR_NONE)
		r1 = conn_policy_check(t, d->sel.id, f);
	if (d->domain_owner != CONNECTOR_NONE)
		r2 = conn_restrict_check(t, d->domain_owner, f);
	conn_in_pick(t, f, d->sel.id, r1, d->domain_owner, r2, d);
}

/* ------------------------------------------------------------- outbound */

const struct cfg_connector_out *
connector_outbound_lookup_ex(const struct connector_table *t, const char *domain, size_t len,
			     uint32_t *id, unsigned *probes)
{
	unsigned dummy = 0;
	uint32_t k = CONNECTOR_NONE;

	if (t != NULL && domain != NULL && len > 0 && domain[len - 1] == '.')
		len--;
	if (t != NULL && domain != NULL && len > 0) {
		if (len <= CONNECTOR_DOMAIN_MAX)
			k = conn_domain_lookup(t, CONN_K_RCPT, domain, len, NULL,
					       probes ? probes : &dummy);
		if (k == CONNECTOR_NONE)
			k = t->out_default;
	}
	if (id)
		*id = k;
	return k == CONNECTOR_NONE ? NULL : &t->cfg->connectors_out[k - t->n_in];
}

const struct cfg_connector_out *
connector_outbound_lookup(const struct connector_table *t, const char *domain, size_t len,
			  uint32_t *id)
{
	return connector_outbound_lookup_ex(t, domain, len, id, NULL);
}

static bool
conn_out_pinned(const struct cfg_connector_out *co, const struct connector_peer *p)
{
	unsigned i;

	for (i = 0; p->have_spki && i < co->n_pins; i++)
		if (memcmp(co->pins[i], p->spki_sha256, CFG_SPKI_PIN_LEN) == 0)
			return true;
	return false;
}

static enum connector_reason
conn_out_check(const struct cfg_connector_out *co, const struct connector_peer *p)
{
	int level = co->route.tls_level;

	if (level <= CFG_TLS_MAY)
		return CONNECTOR_R_NONE;
	if (!p->starttls_offered)
		return CONNECTOR_R_OUT_NOT_OFFERED;
	if (!p->tls)
		return CONNECTOR_R_OUT_HANDSHAKE;
	if (co->min_tls_version && p->tls_version < co->min_tls_version)
		return CONNECTOR_R_OUT_TLS_VERSION;
	if (level >= CFG_TLS_VERIFY && !p->chain_ok)
		return CONNECTOR_R_OUT_CHAIN;
	if (level == CFG_TLS_SECURE && !p->name_ok)
		return CONNECTOR_R_OUT_NAME;
	if (co->n_pins && !conn_out_pinned(co, p))
		return CONNECTOR_R_OUT_PIN;
	return CONNECTOR_R_NONE;
}

static void
conn_out_reply(const struct cfg_connector_out *co, const struct connector_peer *p,
	       struct connector_decision *d)
{
	const char *host = p->host ? p->host : "?", *why;
	char buf[CONNECTOR_REPLY_LEN];

	d->code = 451;
	if (d->reason == CONNECTOR_R_OUT_NOT_OFFERED) {
		snprintf(d->reply, sizeof(d->reply), "451 4.7.4 TLS is required, but was not "
			 "offered by host %s", host);
		return;
	}
	why = buf;
	if (d->reason == CONNECTOR_R_OUT_HANDSHAKE)
		why = "TLS handshake failed";
	else if (d->reason == CONNECTOR_R_OUT_TLS_VERSION)
		snprintf(buf, sizeof(buf), "TLS %s or later required, the next hop uses TLS %s",
			 conn_version_text(co->min_tls_version), conn_version_text(p->tls_version));
	else if (d->reason == CONNECTOR_R_OUT_CHAIN)
		why = "server certificate not verified";
	else if (d->reason == CONNECTOR_R_OUT_NAME)
		snprintf(buf, sizeof(buf), "server certificate name does not match %s",
			 co->route.n_tls_names ? co->route.tls_names[0] : "?");
	else
		why = "server certificate key does not match the connector's pins";
	snprintf(d->reply, sizeof(d->reply), "451 4.7.5 Connector \"%s\": %.300s (host %.64s)",
		 co->name, why, host);
}

void
connector_outbound_decide(const struct connector_table *t, uint32_t id,
			  const struct connector_peer *p, struct connector_decision *d)
{
	const struct cfg_connector_out *co = connector_outbound(t, id);

	memset(d, 0, sizeof(*d));
	d->sel.id = d->by = co ? id : CONNECTOR_NONE;
	d->sel.why = co ? CONNECTOR_MATCH_RECIPIENT_DOMAIN : CONNECTOR_MATCH_NONE;
	d->domain_owner = CONNECTOR_NONE;
	if (co == NULL || (d->reason = conn_out_check(co, p)) == CONNECTOR_R_NONE)
		return;
	d->verdict = co->mode == CFG_CONNECTOR_REPORT_ONLY ? CONNECTOR_WOULD_REFUSE :
		     CONNECTOR_REFUSE;
	conn_out_reply(co, p, d);
}

/* ------------------------------------------------------------- ids and names */

unsigned
connector_count(const struct connector_table *t)
{
	return t ? t->n_in + t->n_out : 0;
}

const struct cfg_connector_in *
connector_inbound(const struct connector_table *t, uint32_t id)
{
	return t && id < t->n_in ? &t->cfg->connectors_in[id] : NULL;
}

const struct cfg_connector_out *
connector_outbound(const struct connector_table *t, uint32_t id)
{
	return t && id >= t->n_in && id - t->n_in < t->n_out ?
	       &t->cfg->connectors_out[id - t->n_in] : NULL;
}

const char *
connector_name(const struct connector_table *t, uint32_t id)
{
	const struct cfg_connector_in *ci = connector_inbound(t, id);
	const struct cfg_connector_out *co = connector_outbound(t, id);

	return ci ? ci->name : co ? co->name : "";
}

/* Linear: for the console, not the data path. */
uint32_t
connector_find(const struct connector_table *t, const char *name)
{
	uint32_t i;

	for (i = 0; t && name && i < t->n_in + t->n_out; i++)
		if (strcmp(connector_name(t, i), name) == 0)
			return i;
	return CONNECTOR_NONE;
}

const char *
connector_reason_name(enum connector_reason r)
{
	static const char *const names[CONNECTOR_R_COUNT] = {
		[CONNECTOR_R_NONE] = "none",
		[CONNECTOR_R_TLS_REQUIRED] = "tls_required",
		[CONNECTOR_R_TLS_VERSION] = "tls_version",
		[CONNECTOR_R_CERT_MISSING] = "cert_missing",
		[CONNECTOR_R_CERT_UNVERIFIED] = "cert_unverified",
		[CONNECTOR_R_CERT_NAME] = "cert_name",
		[CONNECTOR_R_CERT_PIN] = "cert_pin",
		[CONNECTOR_R_DOMAIN_CERT] = "domain_cert",
		[CONNECTOR_R_DOMAIN_ADDRESS] = "domain_address",
		[CONNECTOR_R_OUT_NOT_OFFERED] = "out_not_offered",
		[CONNECTOR_R_OUT_HANDSHAKE] = "out_handshake",
		[CONNECTOR_R_OUT_TLS_VERSION] = "out_tls_version",
		[CONNECTOR_R_OUT_CHAIN] = "out_chain",
		[CONNECTOR_R_OUT_NAME] = "out_name",
		[CONNECTOR_R_OUT_PIN] = "out_pin",
	};

	return (unsigned)r < CONNECTOR_R_COUNT ? names[r] : "?";
}

const char *
connector_match_name(enum connector_match m)
{
	static const char *const names[CONNECTOR_MATCH_COUNT] = {
		"none", "certificate pin", "certificate name", "client address", "sender domain",
		"recipient domain",
	};

	return (unsigned)m < CONNECTOR_MATCH_COUNT ? names[m] : "?";
}

/* ------------------------------------------------------------- counters */

static const char *const conn_ciphers[CONNECTOR_CIPHER_COUNT] = {
	"TLS13-AES128-GCM-SHA256", "TLS13-AES256-GCM-SHA384",
	"TLS13-CHACHA20-POLY1305-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256",
	"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
	"ECDHE-RSA-CHACHA20-POLY1305", "other",
};

/* The IANA names of the TLS 1.3 suites, for the first three. */
static const char *const conn_ciphers13[3] = {
	"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
};

unsigned
connector_cipher_index(const char *name)
{
	unsigned i;

	for (i = 0; name && i + 1 < CONNECTOR_CIPHER_COUNT; i++)
		if (strcasecmp(name, conn_ciphers[i]) == 0 ||
		    (i < 3 && strcasecmp(name, conn_ciphers13[i]) == 0))
			return i;
	return CONNECTOR_CIPHER_COUNT - 1;
}

const char *
connector_cipher_name(unsigned i)
{
	return i < CONNECTOR_CIPHER_COUNT ? conn_ciphers[i] : "?";
}

void
connector_count_decision(struct connector_counters *c, const struct connector_decision *d)
{
	if (d->by == CONNECTOR_NONE || (unsigned)d->reason >= CONNECTOR_R_COUNT)
		return;
	if (d->verdict == CONNECTOR_REFUSE)
		c[d->by].refused[d->reason]++;
	else if (d->verdict == CONNECTOR_WOULD_REFUSE)
		c[d->by].would_refuse[d->reason]++;
}

void
connector_count_accepted(struct connector_counters *c, uint32_t id)
{
	if (id != CONNECTOR_NONE)
		c[id].accepted++;
}

void
connector_count_tls(struct connector_counters *c, uint32_t id, int tls_version,
		    const char *cipher, int64_t cert_not_after, int64_t now)
{
	if (id == CONNECTOR_NONE)
		return;
	c[id].tls[tls_version == CFG_TLS_V1_3 ? CONNECTOR_TLS_1_3 :
		  tls_version ? CONNECTOR_TLS_1_2 : CONNECTOR_TLS_PLAIN]++;
	if (tls_version)
		c[id].cipher[connector_cipher_index(cipher)]++;
	if (cert_not_after) {
		c[id].cert_not_after = cert_not_after;
		c[id].cert_seen = now;
	}
}

void
connector_counters_add(struct connector_counters *sum, const struct connector_counters *c)
{
	unsigned i;

	sum->accepted += c->accepted;
	for (i = 0; i < CONNECTOR_R_COUNT; i++) {
		sum->refused[i] += c->refused[i];
		sum->would_refuse[i] += c->would_refuse[i];
	}
	for (i = 0; i < CONNECTOR_TLS_SEEN_COUNT; i++)
		sum->tls[i] += c->tls[i];
	for (i = 0; i < CONNECTOR_CIPHER_COUNT; i++)
		sum->cipher[i] += c->cipher[i];
	if (c->cert_not_after && c->cert_seen >= sum->cert_seen) {
		sum->cert_not_after = c->cert_not_after;
		sum->cert_seen = c->cert_seen;
	}
}

int
connector_tls_version(const char *name)
{
	if (name && strcmp(name, "TLSv1.3") == 0)
		return CFG_TLS_V1_3;
	if (name && strcmp(name, "TLSv1.2") == 0)
		return CFG_TLS_V1_2;
	return 0;
}

/* ------------------------------------------------------------- build: names and pins */

/* The record of name s[0..len) (stored lower-case), added when new. */
static struct conn_name *
conn_intern(struct connector_table *t, const char *s, size_t len)
{
	uint64_t m = conn_mix(conn_hash(s, len));
	uint32_t i = (uint32_t)m & t->mask, tag = (uint32_t)(m >> 32);
	struct conn_name *nm;
	size_t k;

	for (;; i = (i + 1) & t->mask) {
		if (t->slots[i].idx == 0)
			break;
		nm = conn_rec(t, t->slots[i].idx);
		if (t->slots[i].tag == tag && nm->len == len && conn_name_eq(nm->name, s, len))
			return nm;
	}
	nm = (struct conn_name *)(void *)(t->arena + t->arena_used);
	memset(nm, 0xff, sizeof(nm->id));               /* CONNECTOR_NONE */
	nm->len = (uint16_t)len;
	for (k = 0; k < len; k++)
		nm->name[k] = (char)conn_lower((unsigned char)s[k]);
	nm->name[len] = '\0';
	t->slots[i].tag = tag;
	t->slots[i].idx = (uint32_t)(t->arena_used / CONN_REC_ALIGN) + 1;
	t->arena_used += conn_rec_size(len);
	t->n_names++;
	return nm;
}

/* Add configured name d of kind k for connector id (earlier entries win). */
static void
conn_add_name(struct connector_table *t, enum conn_kind k, const char *d, uint32_t id)
{
	size_t len = strlen(d);
	bool wild = len > 2 && d[0] == '*' && d[1] == '.';
	struct conn_name *nm;

	if (len == 1 && d[0] == '*') {
		if (k == CONN_K_RCPT && t->out_default == CONNECTOR_NONE)
			t->out_default = id;
		return;
	}
	if (wild) {
		d += 2;
		len -= 2;
	}
	if (len == 0 || len > CONNECTOR_DOMAIN_MAX)
		return;
	nm = conn_intern(t, d, len);
	if (nm->id[k][wild] == CONNECTOR_NONE)
		nm->id[k][wild] = id;
}

static uint32_t
conn_slots_for(size_t n)
{
	uint32_t s = CONN_MIN_SLOTS;

	while (s < 2 * n)
		s <<= 1;
	return s;
}

/* Names and their records' octets, all kinds. */
static size_t
conn_count_names(const struct gw_config *cfg, size_t *arena)
{
	size_t n = 0, k;
	unsigned i;

	*arena = 0;
	for (i = 0; i < cfg->n_connectors_in; i++) {
		const struct cfg_connector_in *ci = &cfg->connectors_in[i];

		n += ci->n_sender_domains + ci->n_cert_names;
		for (k = 0; k < ci->n_sender_domains; k++)
			*arena += conn_rec_size(strlen(ci->sender_domains[k]));
		for (k = 0; k < ci->n_cert_names; k++)
			*arena += conn_rec_size(strlen(ci->cert_names[k]));
	}
	for (i = 0; i < cfg->n_connectors_out; i++) {
		const struct cfg_route *r = &cfg->connectors_out[i].route;

		n += r->n_domains;
		for (k = 0; k < r->n_domains; k++)
			*arena += conn_rec_size(strlen(r->domains[k]));
	}
	return n;
}

static int
conn_build_names(struct connector_table *t, const struct gw_config *cfg)
{
	size_t arena, n = conn_count_names(cfg, &arena), k;
	uint32_t slots = conn_slots_for(n);
	unsigned i;
	char *a;

	if (n >= (1u << 30) || arena / CONN_REC_ALIGN >= UINT32_MAX)
		return -ENOMEM;
	t->mask = slots - 1;
	t->slots = calloc(slots, sizeof(*t->slots));
	t->arena_size = arena ? arena : CONN_REC_ALIGN;
	t->arena = malloc(t->arena_size);
	if (!t->slots || !t->arena)
		return -ENOMEM;
	for (i = 0; i < cfg->n_connectors_in; i++) {
		const struct cfg_connector_in *ci = &cfg->connectors_in[i];

		for (k = 0; k < ci->n_sender_domains; k++)
			conn_add_name(t, CONN_K_SENDER, ci->sender_domains[k], i);
		for (k = 0; k < ci->n_cert_names; k++)
			conn_add_name(t, CONN_K_CERT, ci->cert_names[k], i);
	}
	for (i = 0; i < cfg->n_connectors_out; i++)
		for (k = 0; k < cfg->connectors_out[i].route.n_domains; k++)
			conn_add_name(t, CONN_K_RCPT, cfg->connectors_out[i].route.domains[k],
				      t->n_in + i);
	a = t->arena_used ? realloc(t->arena, t->arena_used) : NULL;
	if (a) {
		t->arena = a;
		t->arena_size = t->arena_used;
	}
	t->bytes += (size_t)slots * sizeof(*t->slots) + t->arena_size;
	return 0;
}

static int
conn_build_pins(struct connector_table *t, const struct gw_config *cfg)
{
	size_t n = 0;
	unsigned i, k, probes = 0;
	struct conn_pin *p;
	uint32_t slots;

	for (i = 0; i < cfg->n_connectors_in; i++)
		n += cfg->connectors_in[i].n_pins;
	slots = conn_slots_for(n);
	t->pins = calloc(slots, sizeof(*t->pins));
	if (!t->pins)
		return -ENOMEM;
	t->pin_mask = slots - 1;
	t->bytes += (size_t)slots * sizeof(*t->pins);
	for (i = 0; i < cfg->n_connectors_in; i++)
		for (k = 0; k < cfg->connectors_in[i].n_pins; k++) {
			p = conn_pin_slot(t, cfg->connectors_in[i].pins[k], &probes);
			if (p->used)
				continue;
			memcpy(p->key, cfg->connectors_in[i].pins[k], CFG_SPKI_PIN_LEN);
			p->id = i;
			p->used = 1;
			t->n_pins++;
		}
	return 0;
}

/* ------------------------------------------------------------- build: addresses */

static int
conn_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
conn_cmp_net(const void *a, const void *b)
{
	const struct cfg_ip_net *x = *(const struct cfg_ip_net *const *)a;
	const struct cfg_ip_net *y = *(const struct cfg_ip_net *const *)b;

	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

/* tbl8 groups rte_fib needs: one per distinct /24 holding a longer prefix. */
static int
conn_tbl8_v4(const struct gw_config *cfg, unsigned *groups)
{
	const struct cfg_ip_net *ip;
	size_t n = 0, i;
	unsigned c, k, pass;
	uint32_t *v = NULL;

	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && (v = malloc((n + 1) * sizeof(*v))) == NULL)
			return -ENOMEM;
		for (c = 0, n = 0; c < cfg->n_connectors_in; c++)
			for (k = 0; k < cfg->connectors_in[c].n_ips; k++) {
				ip = &cfg->connectors_in[c].ips[k];
				if (ip->v4 && ip->prefix_len > 24 && v)
					v[n] = conn_v4(ip) >> 8;
				n += ip->v4 && ip->prefix_len > 24;
			}
	}
	qsort(v, n, sizeof(*v), conn_cmp_u32);
	for (i = 0, *groups = 0; i < n; i++)
		*groups += i == 0 || v[i] != v[i - 1];
	free(v);
	return 0;
}

/*
 * tbl8 groups rte_lpm6 needs: at each level below its tbl24 (bits 24, 32,
 * ... 120), one per distinct prefix of that length among the longer
 * prefixes. V: the IPv6 prefixes, sorted by address.
 */
static unsigned
conn_tbl8_v6(const struct cfg_ip_net *const *v, unsigned n)
{
	unsigned groups = 0, j, i, bytes;
	const struct cfg_ip_net *last;

	for (j = 0; j < CONN_V6_LEVELS; j++) {
		bytes = 3 + j;
		last = NULL;
		for (i = 0; i < n; i++) {
			if (v[i]->prefix_len <= 8 * bytes)
				continue;
			if (last == NULL || memcmp(last->addr, v[i]->addr, bytes) != 0)
				groups++;
			last = v[i];
		}
	}
	return groups;
}

/*
 * The smallest next-hop size of rte_fib's DIR-24-8 that holds id + 1 of
 * every inbound connector (one bit of it marks a tbl8 index): its table is
 * 2^24 of them, 16, 32 or 64 MiB.
 */
static enum rte_fib_dir24_8_nh_sz
conn_fib_nh_size(unsigned n_in, size_t *bytes)
{
	if (n_in < 127) {
		*bytes = 1;
		return RTE_FIB_DIR24_8_1B;
	}
	if (n_in < 32767) {
		*bytes = 2;
		return RTE_FIB_DIR24_8_2B;
	}
	*bytes = 4;
	return RTE_FIB_DIR24_8_4B;
}

/* Every IPv4 prefix into rte_fib (next hop id + 1; 0 is "none"). */
static int
conn_build_fib(struct connector_table *t, const struct gw_config *cfg, char *err,
	       size_t errlen)
{
	struct rte_fib_conf fc = { .type = RTE_FIB_DIR24_8, .default_nh = 0,
				   .max_routes = (int)t->n_pfx4 };
	char name[32];
	unsigned c, k;
	size_t nh;
	int rc = conn_tbl8_v4(cfg, &t->tbl8_4);

	if (rc < 0)
		return rc;
	fc.dir24_8.nh_sz = conn_fib_nh_size(t->n_in, &nh);
	fc.dir24_8.num_tbl8 = t->tbl8_4 + CONN_TBL8_SLACK;
	snprintf(name, sizeof(name), "conn4_%u", __atomic_fetch_add(&conn_serial, 1,
								    __ATOMIC_RELAXED));
	t->fib4 = rte_fib_create(name, SOCKET_ID_ANY, &fc);
	if (t->fib4 == NULL) {
		snprintf(err, errlen, "connector: cannot create the IPv4 table (%u prefixes): %s",
			 t->n_pfx4, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	t->dpdk_bytes += (nh << 24) + fc.dir24_8.num_tbl8 * 256 * nh +
			 (size_t)t->n_pfx4 * 2 * 64;     /* rib nodes */
	for (c = 0; c < cfg->n_connectors_in; c++)
		for (k = 0; k < cfg->connectors_in[c].n_ips; k++) {
			const struct cfg_ip_net *ip = &cfg->connectors_in[c].ips[k];

			if (ip->v4 && (rc = rte_fib_add(t->fib4, conn_v4(ip), ip->prefix_len,
							(uint64_t)c + 1)) < 0) {
				snprintf(err, errlen, "connector: IPv4 table: %s", strerror(-rc));
				return rc;
			}
		}
	return 0;
}

static int
conn_lpm6_add_all(struct connector_table *t, const struct gw_config *cfg, char *err,
		  size_t errlen)
{
	unsigned c, k;
	int rc;

	for (c = 0; c < cfg->n_connectors_in; c++)
		for (k = 0; k < cfg->connectors_in[c].n_ips; k++) {
			const struct cfg_ip_net *ip = &cfg->connectors_in[c].ips[k];

			if (!ip->v4 && (rc = rte_lpm6_add(t->lpm6, ip->addr, ip->prefix_len,
							  c)) < 0) {
				snprintf(err, errlen, "connector: IPv6 table: %s", strerror(-rc));
				return rc;
			}
		}
	return 0;
}

/* Every IPv6 prefix into rte_lpm6 (next hop: the id). */
static int
conn_build_lpm6(struct connector_table *t, const struct gw_config *cfg, char *err,
		size_t errlen)
{
	const struct cfg_ip_net **v = calloc(t->n_pfx6, sizeof(*v));
	struct rte_lpm6_config lc = { .max_rules = t->n_pfx6 };
	char name[RTE_LPM6_NAMESIZE];
	unsigned c, k, n = 0;

	if (v == NULL)
		return -ENOMEM;
	for (c = 0; c < cfg->n_connectors_in; c++)
		for (k = 0; k < cfg->connectors_in[c].n_ips; k++)
			if (!cfg->connectors_in[c].ips[k].v4)
				v[n++] = &cfg->connectors_in[c].ips[k];
	qsort(v, n, sizeof(*v), conn_cmp_net);
	t->tbl8_6 = conn_tbl8_v6(v, n);
	free(v);
	lc.number_tbl8s = t->tbl8_6 + CONN_TBL8_SLACK;
	snprintf(name, sizeof(name), "conn6_%u", __atomic_fetch_add(&conn_serial, 1,
								    __ATOMIC_RELAXED));
	t->lpm6 = rte_lpm6_create(name, SOCKET_ID_ANY, &lc);
	if (t->lpm6 == NULL) {
		snprintf(err, errlen, "connector: cannot create the IPv6 table (%u prefixes): %s",
			 t->n_pfx6, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	t->dpdk_bytes += CONN_TBL24_BYTES + lc.number_tbl8s * CONN_TBL8_BYTES +
			 (size_t)t->n_pfx6 * 64;        /* rules hash */
	return conn_lpm6_add_all(t, cfg, err, errlen);
}

static int
conn_cmp_iv4(const void *a, const void *b)
{
	const struct conn_iv4 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int
conn_cmp_iv6(const void *a, const void *b)
{
	const struct conn_iv6 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort n intervals and merge the overlapping ones; returns how many are left. */
static uint32_t
conn_merge4(struct conn_iv4 *v, uint32_t n)
{
	uint32_t i, m = 0;

	qsort(v, n, sizeof(*v), conn_cmp_iv4);
	for (i = 0; i < n; i++) {
		if (m > 0 && v[i].lo <= v[m - 1].hi) {
			if (v[i].hi > v[m - 1].hi)
				v[m - 1].hi = v[i].hi;
			continue;
		}
		v[m++] = v[i];
	}
	return m;
}

static uint32_t
conn_merge6(struct conn_iv6 *v, uint32_t n)
{
	uint32_t i, m = 0;

	qsort(v, n, sizeof(*v), conn_cmp_iv6);
	for (i = 0; i < n; i++) {
		if (m > 0 && v[i].lo <= v[m - 1].hi) {
			if (v[i].hi > v[m - 1].hi)
				v[m - 1].hi = v[i].hi;
			continue;
		}
		v[m++] = v[i];
	}
	return m;
}

/* One connector's ranges as intervals, appended at *off4 and *off6. */
static void
conn_add_ranges(struct connector_table *t, const struct cfg_connector_in *ci,
		struct conn_ranges *r, uint32_t *off4, uint32_t *off6)
{
	unsigned __int128 lo6, host6;
	uint32_t lo4, host4;
	unsigned k;

	r->off4 = *off4;
	r->off6 = *off6;
	for (k = 0; k < ci->n_ips; k++) {
		const struct cfg_ip_net *ip = &ci->ips[k];

		if (ip->v4) {
			host4 = ip->prefix_len >= 32 ? 0 : 0xffffffffu >> ip->prefix_len;
			lo4 = conn_v4(ip) & ~host4;
			t->iv4[(*off4)++] = (struct conn_iv4){ lo4, lo4 | host4 };
		} else {
			host6 = ip->prefix_len >= 128 ? 0 : ~(unsigned __int128)0 >> ip->prefix_len;
			lo6 = conn_u128(ip->addr) & ~host6;
			t->iv6[(*off6)++] = (struct conn_iv6){ lo6, lo6 | host6 };
		}
	}
	r->n4 = conn_merge4(&t->iv4[r->off4], *off4 - r->off4);
	r->n6 = conn_merge6(&t->iv6[r->off6], *off6 - r->off6);
	*off4 = r->off4 + r->n4;
	*off6 = r->off6 + r->n6;
}

static int
conn_build_addresses(struct connector_table *t, const struct gw_config *cfg, char *err,
		     size_t errlen)
{
	uint32_t off4 = 0, off6 = 0;
	unsigned c, k;
	int rc = 0;

	for (c = 0; c < cfg->n_connectors_in; c++)
		for (k = 0; k < cfg->connectors_in[c].n_ips; k++) {
			if (cfg->connectors_in[c].ips[k].v4)
				t->n_pfx4++;
			else
				t->n_pfx6++;
		}
	t->ranges = calloc(t->n_in + 1, sizeof(*t->ranges));
	t->iv4 = malloc(((size_t)t->n_pfx4 + 1) * sizeof(*t->iv4));
	t->iv6 = malloc(((size_t)t->n_pfx6 + 1) * sizeof(*t->iv6));
	if (!t->ranges || !t->iv4 || !t->iv6)
		return -ENOMEM;
	t->bytes += (t->n_in + 1) * sizeof(*t->ranges) + (t->n_pfx4 + 1) * sizeof(*t->iv4) +
		    (t->n_pfx6 + 1) * sizeof(*t->iv6);
	if ((t->n_pfx4 || t->n_pfx6) && rte_lcore_count() == 0) {
		snprintf(err, errlen, "connector: address tables need the EAL (rte_eal_init() "
			 "first)");
		return -EINVAL;
	}
	for (c = 0; c < cfg->n_connectors_in; c++)
		conn_add_ranges(t, &cfg->connectors_in[c], &t->ranges[c], &off4, &off6);
	if (t->n_pfx4)
		rc = conn_build_fib(t, cfg, err, errlen);
	if (rc == 0 && t->n_pfx6)
		rc = conn_build_lpm6(t, cfg, err, errlen);
	return rc;
}

/* ------------------------------------------------------------- build */

struct connector_table *
connector_table_build(const struct gw_config *cfg, char *err, size_t errlen)
{
	struct connector_table *t;
	char buf[256] = "";
	int rc;

	if (cfg == NULL) {
		if (errlen)
			snprintf(err, errlen, "connector: no configuration");
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		if (errlen)
			snprintf(err, errlen, "connector: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	t->cfg = cfg;
	t->n_in = cfg->n_connectors_in;
	t->n_out = cfg->n_connectors_out;
	t->out_default = CONNECTOR_NONE;
	t->bytes = sizeof(*t);
	rc = conn_build_names(t, cfg);
	if (rc == 0)
		rc = conn_build_pins(t, cfg);
	if (rc == 0)
		rc = conn_build_addresses(t, cfg, buf, sizeof(buf));
	if (rc == 0)
		return t;
	if (errlen)
		snprintf(err, errlen, "%s", buf[0] ? buf : "connector: out of memory for the "
			 "table");
	connector_table_free(t);
	errno = rc == -EINVAL ? EINVAL : ENOMEM;
	return NULL;
}

void
connector_table_free(struct connector_table *t)
{
	if (t == NULL)
		return;
	rte_fib_free(t->fib4);
	rte_lpm6_free(t->lpm6);
	free(t->slots);
	free(t->arena);
	free(t->pins);
	free(t->ranges);
	free(t->iv4);
	free(t->iv6);
	free(t);
}

void
connector_table_stats(const struct connector_table *t, struct connector_stats *st)
{
	const struct conn_name *nm;
	unsigned p, i;
	size_t off;

	memset(st, 0, sizeof(*st));
	if (t == NULL)
		return;
	st->inbound = t->n_in;
	st->outbound = t->n_out;
	st->names = t->n_names;
	st->name_slots = t->mask + 1;
	for (off = 0; off < t->arena_used; off += conn_rec_size(nm->len)) {
		nm = (const struct conn_name *)(const void *)(t->arena + off);
		p = 0;
		conn_find(t, conn_hash(nm->name, nm->len), nm->name, nm->len, &p);
		st->name_max_probe = p > st->name_max_probe ? p : st->name_max_probe;
	}
	st->pins = t->n_pins;
	st->pin_slots = t->pin_mask + 1;
	for (i = 0; i <= t->pin_mask; i++) {
		p = 0;
		if (t->pins[i].used)
			conn_pin_slot(t, t->pins[i].key, &p);
		st->pin_max_probe = p > st->pin_max_probe ? p : st->pin_max_probe;
	}
	st->prefixes4 = t->n_pfx4;
	st->prefixes6 = t->n_pfx6;
	st->tbl8_4 = t->tbl8_4;
	st->tbl8_6 = t->tbl8_6;
	st->bytes = t->bytes;
	st->dpdk_bytes = t->dpdk_bytes;
}

/* ------------------------------------------------------------- text */

/* An output buffer with snprintf semantics. */
struct conn_out {
	char *buf;
	size_t len;
	size_t used;
};

static void __attribute__((format(printf, 2, 3)))
conn_put(struct conn_out *o, const char *fmt, ...)
{
	size_t room = o->used < o->len ? o->len - o->used : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->used += (size_t)n;
}

static void
conn_out_init(struct conn_out *o, char *buf, size_t len)
{
	o->buf = buf;
	o->len = buf ? len : 0;
	o->used = 0;
	if (o->len)
		buf[0] = '\0';
}

static const char *
conn_mode_name(enum cfg_connector_mode m)
{
	return m == CFG_CONNECTOR_REPORT_ONLY ? "report_only" : "enforce";
}

static void
conn_put_decision(struct conn_out *o, const struct connector_table *t,
		  const struct connector_decision *d)
{
	if (d->sel.id == CONNECTOR_NONE)
		conn_put(o, "no connector (default policy)");
	else
		conn_put(o, "connector \"%s\" (%s)", connector_name(t, d->sel.id),
			 connector_match_name(d->sel.why));
	if (d->by != CONNECTOR_NONE && d->by != d->sel.id)
		conn_put(o, "; sender domain's connector \"%s\"", connector_name(t, d->by));
	if (d->verdict == CONNECTOR_ALLOW)
		conn_put(o, ": accept");
	else
		conn_put(o, ": %s %s: %s", d->verdict == CONNECTOR_REFUSE ? "refuse" :
			 "would refuse (report_only, accepted)", connector_reason_name(d->reason),
			 d->reply);
}

int
connector_decision_text(const struct connector_table *t, const struct connector_decision *d,
			char *buf, size_t len)
{
	struct conn_out o;

	conn_out_init(&o, buf, len);
	conn_put_decision(&o, t, d);
	return (int)o.used;
}

static void
conn_put_names(struct conn_out *o, const char *what, char *const *v, unsigned n)
{
	unsigned i;

	if (!n)
		return;
	conn_put(o, "  %s:", what);
	for (i = 0; i < n; i++)
		conn_put(o, "%s %s", i ? "," : "", v[i]);
	conn_put(o, "\n");
}

static void
conn_put_pins(struct conn_out *o, const char *what, const uint8_t (*pins)[CFG_SPKI_PIN_LEN],
	      unsigned n)
{
	unsigned i, j;

	if (!n)
		return;
	conn_put(o, "  %s:", what);
	for (i = 0; i < n; i++) {
		conn_put(o, "%s ", i ? "," : "");
		for (j = 0; j < CFG_SPKI_PIN_LEN; j++)
			conn_put(o, "%02x", pins[i][j]);
	}
	conn_put(o, "\n");
}

static void
conn_net_text(const struct cfg_ip_net *n, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(n->v4 ? AF_INET : AF_INET6, n->v4 ? &n->addr[12] : n->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, n->prefix_len);
}

/* What an inbound connector requires, and why. */
static void
conn_put_in_policy(struct conn_out *o, const struct cfg_connector_in *ci)
{
	bool cert = ci->n_cert_names || ci->n_pins;

	conn_put(o, "  requires: ");
	if (!ci->require_tls && !ci->min_tls_version && !cert)
		conn_put(o, "nothing (opportunistic TLS)");
	else
		conn_put(o, "TLS%s%s", ci->require_tls ? "" : " (implied by ",
			 ci->require_tls ? "" : ci->min_tls_version ? "min_tls_version)" :
			 "the certificate requirement)");
	if (ci->min_tls_version)
		conn_put(o, ", TLS %s or later", conn_version_text(ci->min_tls_version));
	if (cert)
		conn_put(o, ", a client certificate with %s%s%s",
			 ci->n_cert_names ? "a verified chain and one of its names" : "",
			 ci->n_cert_names && ci->n_pins ? " and " : "",
			 ci->n_pins ? "a pinned key" : "");
	conn_put(o, "\n  sender domains restricted to: %s%s%s\n",
		 ci->restrict_domains_to_certificate ? "its certificate" : "",
		 ci->restrict_domains_to_certificate && ci->restrict_domains_to_ip_addresses ?
		 " and " : "", ci->restrict_domains_to_ip_addresses ? "its addresses" :
		 ci->restrict_domains_to_certificate ? "" : "nothing (no restriction)");
}

static void
conn_describe_in(struct conn_out *o, const struct cfg_connector_in *ci)
{
	char net[INET6_ADDRSTRLEN + 8];
	unsigned i;

	conn_put(o, "connector \"%s\": inbound, %s (line %d)\n", ci->name,
		 conn_mode_name(ci->mode), ci->line);
	conn_put_names(o, "sender_domains", ci->sender_domains, ci->n_sender_domains);
	if (ci->n_ips)
		conn_put(o, "  sender_ip_addresses:");
	for (i = 0; i < ci->n_ips; i++) {
		conn_net_text(&ci->ips[i], net, sizeof(net));
		conn_put(o, "%s %s%s", i ? "," : "", net, i + 1 == ci->n_ips ? "\n" : "");
	}
	conn_put_names(o, "tls_sender_certificate_name", ci->cert_names, ci->n_cert_names);
	conn_put_pins(o, "client_cert_spki_pins", (const uint8_t (*)[CFG_SPKI_PIN_LEN])ci->pins,
		      ci->n_pins);
	conn_put_in_policy(o, ci);
}

/* The TLS policy of an outbound connector in words. */
static void
conn_put_out_tls(struct conn_out *o, const struct cfg_connector_out *co)
{
	const struct cfg_route *r = &co->route;

	switch (r->tls_level) {
	case CFG_TLS_ENCRYPT:
		conn_put(o, "encryption_only: STARTTLS required, certificate not checked");
		break;
	case CFG_TLS_CHAIN:
		conn_put(o, "certificate_validation: STARTTLS required, chain and dates "
			 "verified, name not checked");
		break;
	case CFG_TLS_SECURE:
		conn_put(o, "domain_validation: STARTTLS required, chain and dates verified, "
			 "name %s", r->n_tls_names ? r->tls_names[0] : "?");
		break;
	default:
		conn_put(o, "opportunistic: STARTTLS when offered, else plaintext");
		break;
	}
	if (co->n_pins)
		conn_put(o, "; key pinned (%u pin%s)", co->n_pins, co->n_pins > 1 ? "s" : "");
	if (co->min_tls_version)
		conn_put(o, "; TLS %s or later", conn_version_text(co->min_tls_version));
}

static void
conn_put_hops(struct conn_out *o, const struct cfg_route *r)
{
	char a[16];
	uint32_t n;
	unsigned i;

	if (!r->n_hops) {
		conn_put(o, "the route of the recipient domain (routes)");
		return;
	}
	conn_put(o, "smart hosts");
	for (i = 0; i < r->n_hops; i++) {
		n = htonl(r->hops[i].addr);
		inet_ntop(AF_INET, &n, a, sizeof(a));
		conn_put(o, "%s %s:%u (priority %u)", i ? "," : "", a, r->hops[i].port,
			 r->hops[i].priority);
	}
}

static void
conn_describe_out(struct conn_out *o, const struct cfg_connector_out *co)
{
	conn_put(o, "connector \"%s\": outbound, %s (line %d)\n", co->name,
		 conn_mode_name(co->mode), co->line);
	conn_put_names(o, "recipient_domains", co->route.domains, co->route.n_domains);
	conn_put(o, "  next hop: ");
	conn_put_hops(o, &co->route);
	conn_put(o, "\n  TLS: ");
	conn_put_out_tls(o, co);
	conn_put(o, "\n");
	conn_put_pins(o, "server_spki_pins", (const uint8_t (*)[CFG_SPKI_PIN_LEN])co->pins,
		      co->n_pins);
}

int
connector_describe(const struct connector_table *t, uint32_t id, char *buf, size_t len)
{
	const struct cfg_connector_in *ci = connector_inbound(t, id);
	const struct cfg_connector_out *co = connector_outbound(t, id);
	struct conn_out o;

	conn_out_init(&o, buf, len);
	if (ci)
		conn_describe_in(&o, ci);
	else if (co)
		conn_describe_out(&o, co);
	else
		conn_put(&o, "no such connector\n");
	return (int)o.used;
}

/* "  WHAT: name n, name n" for the non-zero entries of V, or nothing. */
static void
conn_put_counts(struct conn_out *o, const char *what, const uint64_t *v, unsigned n,
		const char *(*name)(unsigned))
{
	unsigned i, shown = 0;

	for (i = 0; i < n; i++) {
		if (!v[i])
			continue;
		conn_put(o, "%s %s %llu", shown++ ? "," : what, name(i), (unsigned long long)v[i]);
	}
	if (shown)
		conn_put(o, "\n");
}

static const char *
conn_reason_at(unsigned i)
{
	return connector_reason_name((enum connector_reason)i);
}

static const char *
conn_tls_at(unsigned i)
{
	static const char *const names[CONNECTOR_TLS_SEEN_COUNT] = { "plaintext", "1.2", "1.3" };

	return names[i];
}

int
connector_counters_text(const struct connector_counters *c, char *buf, size_t len)
{
	char when[2][32];
	struct conn_out o;
	time_t tt[2] = { (time_t)c->cert_not_after, (time_t)c->cert_seen };
	struct tm tm;
	unsigned i;

	conn_out_init(&o, buf, len);
	conn_put(&o, "  accepted: %llu\n", (unsigned long long)c->accepted);
	conn_put_counts(&o, "  refused:", c->refused, CONNECTOR_R_COUNT, conn_reason_at);
	conn_put_counts(&o, "  would refuse (report_only):", c->would_refuse, CONNECTOR_R_COUNT,
			conn_reason_at);
	conn_put_counts(&o, "  sessions by TLS version:", c->tls, CONNECTOR_TLS_SEEN_COUNT,
			conn_tls_at);
	conn_put_counts(&o, "  TLS sessions by cipher:", c->cipher, CONNECTOR_CIPHER_COUNT,
			connector_cipher_name);
	if (!c->cert_not_after)
		return (int)o.used;
	for (i = 0; i < 2; i++)
		strftime(when[i], sizeof(when[i]), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&tt[i], &tm));
	conn_put(&o, "  partner certificate: expires %s (seen %s)\n", when[0], when[1]);
	return (int)o.used;
}

/* ------------------------------------------------------------- simulator */

static int
conn_sim_fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
	if (errlen)
		snprintf(err, errlen, fmt, arg);
	return -EINVAL;
}

static int
conn_sim_ip(struct connector_sim *q, const char *v)
{
	struct in_addr a4;

	memset(q->f.addr6, 0, sizeof(q->f.addr6));
	if (inet_pton(AF_INET, v, &a4) == 1) {
		q->f.v6 = false;
		q->f.addr4 = ntohl(a4.s_addr);
		return 0;
	}
	q->f.v6 = true;
	return inet_pton(AF_INET6, v, q->f.addr6) == 1 ? 0 : -EINVAL;
}

static int
conn_sim_tls(struct connector_sim *q, const char *v)
{
	if (strcmp(v, "1.2") == 0)
		q->f.tls_version = CFG_TLS_V1_2;
	else if (strcmp(v, "1.3") == 0)
		q->f.tls_version = CFG_TLS_V1_3;
	else if (strcmp(v, "none") == 0)
		q->f.tls_version = 0;
	else
		return -EINVAL;
	return 0;
}

/* V into DST (CONNECTOR_SIM_ARG_LEN bytes), without one pair of <> around it. */
static void
conn_sim_path(char *dst, const char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		memcpy(dst, v + 1, n - 2);
		dst[n - 2] = '\0';
	} else {
		memcpy(dst, v, n + 1);
	}
}

/* Option OPT with value V into Q; 1 when --tls was given. */
static int
conn_sim_option(struct connector_sim *q, const char *opt, const char *v, char *err,
		size_t errlen)
{
	if (strlen(v) >= CONNECTOR_SIM_ARG_LEN)
		return conn_sim_fail(err, errlen, "%s: the value is too long", opt);
	if (strcmp(opt, "--ip") == 0)
		return conn_sim_ip(q, v) == 0 ? 0 : conn_sim_fail(err, errlen, "--ip: \"%s\" is "
								  "not an IPv4 or IPv6 address", v);
	if (strcmp(opt, "--tls") == 0)
		return conn_sim_tls(q, v) == 0 ? 1 : conn_sim_fail(err, errlen, "--tls: \"%s\" "
								   "is not 1.2, 1.3 or none", v);
	if (strcmp(opt, "--sender") == 0) {
		q->has_sender = true;
		conn_sim_path(q->sender, v);
	} else if (strcmp(opt, "--recipient") == 0) {
		q->has_recipient = true;
		conn_sim_path(q->recipient, v);
	} else if (strcmp(opt, "--cert-name") == 0) {
		strcpy(q->cert_name, v);
	} else if (strcmp(opt, "--cert") == 0) {
		strcpy(q->cert_file, v);
	} else {
		return conn_sim_fail(err, errlen, "unknown option \"%s\" (expected --ip, "
				     "--sender, --recipient, --cert-name, --cert or --tls)", opt);
	}
	return 0;
}

/* The domain of an address (after its last '@'), or a bare domain. */
static void
conn_sim_domain(const char *v, const char **d, size_t *len)
{
	const char *at = strrchr(v, '@');

	*d = at ? at + 1 : v;
	*len = strlen(*d);
}

int
connector_sim_parse(struct connector_sim *q, int argc, const char *const *argv, char *err,
		    size_t errlen)
{
	bool ip = false, tls = false;
	int i, rc;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			return conn_sim_fail(err, errlen, "%s: a value is missing", argv[i]);
		rc = conn_sim_option(q, argv[i], argv[i + 1], err, errlen);
		if (rc < 0)
			return rc;
		tls |= rc == 1;
		ip |= strcmp(argv[i], "--ip") == 0;
	}
	if (!ip)
		return conn_sim_fail(err, errlen, "%s", "--ip is required");
	if (q->cert_name[0] && q->cert_file[0])
		return conn_sim_fail(err, errlen, "%s",
				     "--cert-name and --cert exclude each other");
	if ((q->cert_name[0] || q->cert_file[0]) && tls && q->f.tls_version == 0)
		return conn_sim_fail(err, errlen, "%s",
				     "a client certificate needs --tls 1.2 or 1.3");
	if (!tls && (q->cert_name[0] || q->cert_file[0]))
		q->f.tls_version = CFG_TLS_V1_2;
	if (q->cert_name[0] && !tls_name_valid(q->cert_name, strlen(q->cert_name)))
		return conn_sim_fail(err, errlen, "--cert-name: \"%s\" is not a DNS name (a certificate "
				     "presenting it has no identity)", q->cert_name);
	if (q->cert_name[0]) {
		q->sans[0] = q->cert_name;
		q->f.sans = q->sans;
		q->f.n_sans = 1;
		q->f.cert = q->f.cert_verified = true;
	}
	if (q->has_sender)
		conn_sim_domain(q->sender, &q->f.sender_domain, &q->f.sender_len);
	if (q->has_sender && q->f.sender_len == 0)
		q->f.sender_domain = NULL;      /* <> */
	return 0;
}

/* The most specific of inbound connector id's prefixes holding F's address. */
static const struct cfg_ip_net *
conn_sim_prefix(const struct cfg_connector_in *ci, const struct connector_facts *f)
{
	const struct cfg_ip_net *best = NULL;
	struct cfg_ip_net a = { .v4 = !f->v6 };
	uint32_t n = htonl(f->addr4);
	unsigned i, bits, b;

	if (f->v6) {
		memcpy(a.addr, f->addr6, 16);
	} else {
		a.addr[10] = a.addr[11] = 0xff;
		memcpy(&a.addr[12], &n, 4);
	}
	for (i = 0; i < ci->n_ips; i++) {
		const struct cfg_ip_net *p = &ci->ips[i];

		if (p->v4 != a.v4 || (best && best->prefix_len >= p->prefix_len))
			continue;
		bits = p->prefix_len + (p->v4 ? 96u : 0u);
		for (b = 0; b < bits; b++)
			if ((p->addr[b / 8] ^ a.addr[b / 8]) & (0x80u >> (b % 8)))
				break;
		if (b == bits)
			best = p;
	}
	return best;
}

/* Why the selection matched, in words. */
static void
conn_sim_why(struct conn_out *o, const struct connector_table *t,
	     const struct connector_facts *f, const struct connector_selection *sel)
{
	const struct cfg_ip_net *p;
	char text[INET6_ADDRSTRLEN + 8], dom[256];
	const char *which = NULL;
	unsigned probes = 0;
	bool wild = false;

	switch (sel->why) {
	case CONNECTOR_MATCH_CERT_NAME:
		conn_cert_select(t, f, &which, &probes);
		conn_put(o, " %s", which ? which : "?");
		break;
	case CONNECTOR_MATCH_ADDRESS:
		p = conn_sim_prefix(sel->conn, f);
		if (p)
			conn_net_text(p, text, sizeof(text));
		conn_put(o, " in %s", p ? text : "?");
		break;
	case CONNECTOR_MATCH_SENDER_DOMAIN:
		conn_safe(f->sender_domain, f->sender_len, dom);
		conn_domain_lookup(t, CONN_K_SENDER, f->sender_domain, f->sender_len, &wild,
				   &probes);
		conn_put(o, " %s (%s)", dom, wild ? "wildcard" : "exact");
		break;
	default:
		break;
	}
}

static void
conn_sim_query(struct conn_out *o, const struct connector_sim *q)
{
	char addr[64];

	conn_addr_text(&q->f, addr, sizeof(addr));
	conn_put(o, "query: client %s, %s%s, ", addr, q->f.tls_version ? "TLS " : "plaintext",
		 q->f.tls_version ? conn_version_text(q->f.tls_version) : "");
	if (q->cert_file[0])
		conn_put(o, "certificate %s (%s)", q->cert_file,
			 q->f.cert_verified ? "verified" : "not verified");
	else if (q->cert_name[0])
		conn_put(o, "certificate named %s (verified)", q->cert_name);
	else
		conn_put(o, "no certificate");
	conn_put(o, ", sender %s, recipient %s\n", !q->has_sender ? "(none)" :
		 q->sender[0] ? q->sender : "<>", q->has_recipient ? q->recipient : "(none)");
}

static void
conn_sim_inbound(struct conn_out *o, const struct connector_table *t,
		 const struct connector_sim *q)
{
	struct connector_decision d;

	connector_inbound_decide(t, &q->f, CONNECTOR_STAGE_SESSION, &d);
	conn_put(o, "inbound: ");
	if (d.sel.id == CONNECTOR_NONE)
		conn_put(o, "no connector before MAIL");
	else
		conn_put(o, "connector \"%s\", matched by %s", d.sel.conn->name,
			 connector_match_name(d.sel.why));
	conn_sim_why(o, t, &q->f, &d.sel);
	conn_put(o, "\n  before MAIL: ");
	conn_put_decision(o, t, &d);
	if (!q->has_sender) {
		conn_put(o, "\n");
		return;
	}
	connector_inbound_decide(t, &q->f, CONNECTOR_STAGE_MAIL, &d);
	conn_put(o, "\n  MAIL FROM:<%s>: ", q->sender);
	conn_put_decision(o, t, &d);
	if (d.sel.why == CONNECTOR_MATCH_SENDER_DOMAIN) {
		conn_put(o, "\n  (sender domain");
		conn_sim_why(o, t, &q->f, &d.sel);
		conn_put(o, ")");
	}
	conn_put(o, "\n");
}

/* One failure of the next hop (P: all good but one thing) and the connector's answer. */
static void
conn_sim_out_case(struct conn_out *o, const struct connector_table *t, uint32_t id,
		  const char *what, const struct connector_peer *p)
{
	struct connector_decision d;

	connector_outbound_decide(t, id, p, &d);
	conn_put(o, "  %s: ", what);
	conn_put_decision(o, t, &d);
	conn_put(o, "\n");
}

/* What the connector answers to each way a next hop can fail its policy. */
static void
conn_sim_out_failures(struct conn_out *o, const struct connector_table *t, uint32_t id,
		      const struct cfg_connector_out *co)
{
	struct connector_peer good = { .host = "NEXT-HOP", .starttls_offered = true,
				       .tls = true, .tls_version = CFG_TLS_V1_3,
				       .chain_ok = true, .name_ok = true }, p;

	if (co->route.tls_level <= CFG_TLS_MAY) {
		conn_put(o, "  failures: none refused (opportunistic)\n");
		return;
	}
	if (co->n_pins) {
		good.have_spki = true;
		memcpy(good.spki_sha256, co->pins[0], CFG_SPKI_PIN_LEN);
	}
	p = good;
	p.starttls_offered = p.tls = false;
	conn_sim_out_case(o, t, id, "no STARTTLS offered", &p);
	p = good;
	p.tls = false;
	conn_sim_out_case(o, t, id, "handshake failed", &p);
	p = good;
	p.tls_version = CFG_TLS_V1_2;
	if (co->min_tls_version == CFG_TLS_V1_3)
		conn_sim_out_case(o, t, id, "TLS 1.2", &p);
	p = good;
	p.chain_ok = false;
	if (co->route.tls_level >= CFG_TLS_VERIFY)
		conn_sim_out_case(o, t, id, "certificate not verified", &p);
	p = good;
	p.name_ok = false;
	if (co->route.tls_level == CFG_TLS_SECURE)
		conn_sim_out_case(o, t, id, "certificate of another name", &p);
	p = good;
	p.have_spki = false;
	if (co->n_pins)
		conn_sim_out_case(o, t, id, "key not pinned", &p);
	conn_sim_out_case(o, t, id, "all checks pass", &good);
}

static void
conn_sim_outbound(struct conn_out *o, const struct connector_table *t,
		  const struct connector_sim *q)
{
	const struct cfg_connector_out *co;
	const char *d, *how = "\"*\"";
	unsigned probes = 0;
	bool wild = false;
	size_t len;
	uint32_t id;

	conn_sim_domain(q->recipient, &d, &len);
	co = connector_outbound_lookup(t, d, len, &id);
	if (co == NULL) {
		conn_put(o, "outbound: no connector: the route and its TLS level (default "
			 "opportunistic)\n");
		return;
	}
	if (len && d[len - 1] == '.')
		len--;
	if (len && len <= CONNECTOR_DOMAIN_MAX &&
	    conn_domain_lookup(t, CONN_K_RCPT, d, len, &wild, &probes) != CONNECTOR_NONE)
		how = wild ? "wildcard" : "exact";
	conn_put(o, "outbound: connector \"%s\" (%s), matched by recipient domain %.*s (%s)\n"
		 "  next hop: ", co->name, conn_mode_name(co->mode), (int)(len > 255 ? 255 : len),
		 d, how);
	conn_put_hops(o, &co->route);
	conn_put(o, "\n  TLS: ");
	conn_put_out_tls(o, co);
	conn_put(o, "\n");
	conn_sim_out_failures(o, t, id, co);
}

int
connector_simulate(const struct connector_table *t, const struct connector_sim *q,
		   char *buf, size_t len)
{
	struct conn_out o;

	conn_out_init(&o, buf, len);
	conn_sim_query(&o, q);
	conn_sim_inbound(&o, t, q);
	if (q->has_recipient)
		conn_sim_outbound(&o, t, q);
	return (int)o.used;
}
