/*
 * route.c — recipient routing and relay permission (see route.h). Built by
 * the control plane per configuration generation; read by the SMTP server at
 * each RCPT (route_relay_check, then route_lookup for the next hop). Domains
 * live in one open-addressing hash table keyed by name, each entry carrying
 * its exact route, its "*.name" route and its accepted flags; relay networks
 * in a second one keyed by (prefix, length). A hit touches one slot and one
 * record (the name follows its header), both read-only and shared.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/policy/route.h"
#include "app/smtp/smtp_parse.h"

#define ROUTE_FNV_BASIS         0xcbf29ce484222325ull
#define ROUTE_FNV_PRIME         0x100000001b3ull
#define ROUTE_MIN_SLOTS         16u
#define ROUTE_MAX_ENTRIES       (1u << 28)
#define ROUTE_MAX_SUFFIXES      (ROUTE_DOMAIN_MAX + 1)  /* one per dot, and the name */

/* route_name.accept */
#define ROUTE_ACC_EXACT         0x1u    /* the name itself is accepted */
#define ROUTE_ACC_WILD          0x2u    /* every sub-domain of the name is accepted */

/*
 * One distinct domain name (lower-case, no trailing dot, no "*." prefix).
 * Records lie back to back in route_table.arena, ROUTE_REC_ALIGN-aligned.
 */
struct route_name {
	const struct cfg_route *exact;  /* route of the name itself */
	const struct cfg_route *wild;   /* route of "*.name" */
	uint16_t len;
	uint8_t accept;                 /* ROUTE_ACC_* */
	char name[];                    /* len octets and a NUL */
};

#define ROUTE_REC_ALIGN         8u

/* Octets of the record of a name of len octets. */
static inline size_t
route_rec_size(size_t len)
{
	return (offsetof(struct route_name, name) + len + 1 + ROUTE_REC_ALIGN - 1) &
	       ~(size_t)(ROUTE_REC_ALIGN - 1);
}

/*
 * A slot of the name table: tag = high half of the mixed hash; idx = 1 +
 * the record's offset in the arena / ROUTE_REC_ALIGN (0: empty).
 */
struct route_slot {
	uint32_t tag;
	uint32_t idx;
};

/* A slot of the network table. */
struct route_net_slot {
	uint32_t addr;                  /* masked to len */
	uint8_t len;
	uint8_t used;
};

struct route_table {
	struct route_slot *slots;
	uint32_t mask;                  /* slots - 1 */
	char *arena;                    /* struct route_name records, every name once */
	size_t arena_used;
	size_t arena_size;
	unsigned n_names;
	const struct cfg_route *dflt;   /* the "*" route */
	unsigned n_routes;
	struct route_net_slot *nets;
	uint32_t net_mask;
	unsigned n_nets;
	uint8_t lens[33];               /* prefix lengths present, longest first */
	unsigned n_lens;
	unsigned ignored;
	size_t bytes;
};

/* ------------------------------------------------------------- hashing */

static inline unsigned char
route_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Finaliser (MurmurHash3 fmix64): FNV's state to well-spread slot and tag bits. */
static inline uint64_t
route_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/*
 * FNV-1a 64 over the lower-cased octets taken from the last to the first:
 * the hash of every suffix is a step on the way to the hash of the name, so
 * one pass over a domain gives the hashes of all its suffixes.
 */
static uint64_t
route_hash(const char *s, size_t len)
{
	uint64_t h = ROUTE_FNV_BASIS;

	while (len > 0)
		h = (h ^ route_lower((unsigned char)s[--len])) * ROUTE_FNV_PRIME;
	return h;
}

/* s (any case) equals the stored lower-case name n, both len octets. */
static bool
route_name_eq(const char *n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)n[i] != route_lower((unsigned char)s[i]))
			return false;
	return true;
}

/* The record a slot's idx points at. */
static inline struct route_name *
route_rec(const struct route_table *rt, uint32_t idx)
{
	return (struct route_name *)(void *)(rt->arena + (size_t)(idx - 1) * ROUTE_REC_ALIGN);
}

/* The name of hash h and text s[0..len), or NULL; *probes += slots inspected. */
static const struct route_name *
route_find(const struct route_table *rt, uint64_t h, const char *s, size_t len,
	   unsigned *probes)
{
	uint64_t m = route_mix(h);
	uint32_t i = (uint32_t)m & rt->mask, tag = (uint32_t)(m >> 32);
	const struct route_name *nm = NULL;
	unsigned n = 0;

	for (;; i = (i + 1) & rt->mask) {
		const struct route_slot *sl = &rt->slots[i];

		n++;
		if (sl->idx == 0)
			break;
		if (sl->tag != tag)
			continue;
		nm = route_rec(rt, sl->idx);
		if (nm->len == len && route_name_eq(nm->name, s, len))
			break;
		nm = NULL;
	}
	*probes += n;
	return nm;
}

/* ------------------------------------------------------------- lookups */

/* The suffixes a lookup probes: [n-1] is the whole name, [n-2] the longest proper suffix, ... */
struct route_walk {
	uint64_t hash[ROUTE_MAX_SUFFIXES];
	uint16_t start[ROUTE_MAX_SUFFIXES];
	unsigned n;
};

/* Strip one trailing dot; false when the name is empty (or NULL). */
static bool
route_trim(const char *domain, size_t *len)
{
	if (domain == NULL)
		return false;
	if (*len > 0 && domain[*len - 1] == '.')
		(*len)--;
	return *len > 0;
}

/* One right-to-left pass: the hash of the name and of each suffix after a dot. */
static void
route_walk_init(struct route_walk *w, const char *d, size_t len)
{
	uint64_t h = ROUTE_FNV_BASIS;
	size_t i = len;

	w->n = 0;
	while (i > 0) {
		h = (h ^ route_lower((unsigned char)d[--i])) * ROUTE_FNV_PRIME;
		if (i == 0 || d[i - 1] == '.') {
			w->hash[w->n] = h;
			w->start[w->n] = (uint16_t)i;
			w->n++;
		}
	}
}

/*
 * The entry of the domain itself (*exact) or else of its closest wildcard
 * (*wild: the longest proper suffix with one), NULL when none. `accept`
 * looks at the accepted flags, otherwise at the routes. len <= ROUTE_DOMAIN_MAX.
 */
static void
route_match(const struct route_table *rt, const char *d, size_t len, bool accept,
	    const struct route_name **exact, const struct route_name **wild, unsigned *probes)
{
	struct route_walk w;
	const struct route_name *nm;
	unsigned k;

	*exact = *wild = NULL;
	route_walk_init(&w, d, len);
	nm = route_find(rt, w.hash[w.n - 1], d, len, probes);
	if (nm && (accept ? (nm->accept & ROUTE_ACC_EXACT) != 0 : nm->exact != NULL)) {
		*exact = nm;
		return;
	}
	for (k = w.n - 1; k-- > 0;) {
		size_t s = w.start[k];

		nm = route_find(rt, w.hash[k], d + s, len - s, probes);
		if (nm && (accept ? (nm->accept & ROUTE_ACC_WILD) != 0 : nm->wild != NULL)) {
			*wild = nm;
			return;
		}
	}
}

const struct cfg_route *
route_lookup_ex(const struct route_table *rt, const char *domain, size_t len, unsigned *probes)
{
	const struct route_name *exact, *wild;
	unsigned dummy = 0;

	if (rt == NULL || !route_trim(domain, &len))
		return NULL;
	if (len > ROUTE_DOMAIN_MAX)
		return rt->dflt;
	route_match(rt, domain, len, false, &exact, &wild, probes ? probes : &dummy);
	if (exact)
		return exact->exact;
	if (wild)
		return wild->wild;
	return rt->dflt;
}

const struct cfg_route *
route_lookup(const struct route_table *rt, const char *domain, size_t len)
{
	return route_lookup_ex(rt, domain, len, NULL);
}

bool
route_domain_accepted_ex(const struct route_table *rt, const char *domain, size_t len,
			 unsigned *probes)
{
	const struct route_name *exact, *wild;
	unsigned dummy = 0;

	if (rt == NULL || !route_trim(domain, &len) || len > ROUTE_DOMAIN_MAX)
		return false;
	route_match(rt, domain, len, true, &exact, &wild, probes ? probes : &dummy);
	return exact != NULL || wild != NULL;
}

bool
route_domain_accepted(const struct route_table *rt, const char *domain, size_t len)
{
	return route_domain_accepted_ex(rt, domain, len, NULL);
}

/* ------------------------------------------------------------ networks */

static inline uint32_t
route_prefix_mask(unsigned len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

static inline uint64_t
route_net_hash(uint32_t addr, unsigned len)
{
	return route_mix(((uint64_t)len << 32) | addr);
}

/* The slot holding (addr, len), or the empty slot where it would go; *probes += inspected. */
static struct route_net_slot *
route_net_slot(const struct route_table *rt, uint32_t addr, unsigned len, unsigned *probes)
{
	uint32_t i = (uint32_t)route_net_hash(addr, len) & rt->net_mask;
	struct route_net_slot *sl;

	for (;; i = (i + 1) & rt->net_mask) {
		sl = &rt->nets[i];
		(*probes)++;
		if (!sl->used || (sl->addr == addr && sl->len == len))
			return sl;
	}
}

bool
route_relay_network_ex(const struct route_table *rt, uint32_t addr, unsigned *probes)
{
	unsigned dummy = 0, k;

	if (rt == NULL)
		return false;
	if (probes == NULL)
		probes = &dummy;
	for (k = 0; k < rt->n_lens; k++) {
		unsigned len = rt->lens[k];

		if (len == 0)
			return true;
		if (route_net_slot(rt, addr & route_prefix_mask(len), len, probes)->used)
			return true;
	}
	return false;
}

bool
route_relay_network(const struct route_table *rt, uint32_t addr)
{
	return route_relay_network_ex(rt, addr, NULL);
}

/* --------------------------------------------------------------- relay */

/* Local-part octets that route mail onward at a next hop that honours them. */
static bool
route_local_hack(const struct smtp_path *p)
{
	size_t i;

	for (i = 0; i < p->local_len; i++) {
		char c = p->local[i];

		if (c == '%' || c == '!' || c == '@')
			return true;
	}
	return false;
}

enum route_relay_verdict
route_relay_check(const struct route_table *rt, uint32_t client_addr,
		  const struct smtp_path *rcpt)
{
	if (route_relay_network(rt, client_addr))
		return ROUTE_RELAY_OK_NETWORK;
	if (rcpt == NULL)
		return ROUTE_RELAY_DENIED_BAD_PATH;
	if (rcpt->postmaster && rcpt->domain_len == 0)
		return ROUTE_RELAY_OK_DOMAIN;
	if (rcpt->null || rcpt->domain == NULL || rcpt->domain_len == 0)
		return ROUTE_RELAY_DENIED_BAD_PATH;
	if (rcpt->source_route || rcpt->addr_literal || rcpt->domain[0] == '[' ||
	    route_local_hack(rcpt))
		return ROUTE_RELAY_DENIED_ROUTING_HACK;
	if (route_domain_accepted(rt, rcpt->domain, rcpt->domain_len))
		return ROUTE_RELAY_OK_DOMAIN;
	return ROUTE_RELAY_DENIED;
}

const char *
route_relay_verdict_name(enum route_relay_verdict v)
{
	static const char *const names[ROUTE_RELAY_VERDICT_COUNT] = {
		[ROUTE_RELAY_OK_DOMAIN] = "ok_domain",
		[ROUTE_RELAY_OK_NETWORK] = "ok_network",
		[ROUTE_RELAY_DENIED] = "denied",
		[ROUTE_RELAY_DENIED_ROUTING_HACK] = "denied_routing_hack",
		[ROUTE_RELAY_DENIED_BAD_PATH] = "denied_bad_path",
	};

	if ((unsigned)v >= ROUTE_RELAY_VERDICT_COUNT)
		return "?";
	return names[v];
}

/* --------------------------------------------------------------- build */

/* Smallest power of two >= 2 * n (load <= 0.5), at least ROUTE_MIN_SLOTS. */
static uint32_t
route_slots_for(unsigned n)
{
	uint32_t s = ROUTE_MIN_SLOTS;

	while (s < 2u * n)
		s <<= 1;
	return s;
}

/* The entry of name s[0..len) (stored lower-case), added when new. */
static struct route_name *
route_intern(struct route_table *rt, const char *s, size_t len)
{
	uint64_t m = route_mix(route_hash(s, len));
	uint32_t i = (uint32_t)m & rt->mask, tag = (uint32_t)(m >> 32);
	struct route_name *nm;
	size_t k;

	for (;; i = (i + 1) & rt->mask) {
		struct route_slot *sl = &rt->slots[i];

		if (sl->idx == 0)
			break;
		nm = route_rec(rt, sl->idx);
		if (sl->tag == tag && nm->len == len && route_name_eq(nm->name, s, len))
			return nm;
	}
	nm = (struct route_name *)(void *)(rt->arena + rt->arena_used);
	memset(nm, 0, route_rec_size(len));
	nm->len = (uint16_t)len;
	for (k = 0; k < len; k++)
		nm->name[k] = (char)route_lower((unsigned char)s[k]);
	rt->slots[i].tag = tag;
	rt->slots[i].idx = (uint32_t)(rt->arena_used / ROUTE_REC_ALIGN) + 1;
	rt->arena_used += route_rec_size(len);
	rt->n_names++;
	return nm;
}

/*
 * Add one configured domain: to route r (exact, "*.suffix" or "*"), or to the
 * accepted set when r is NULL. Earlier entries win.
 */
static void
route_add_domain(struct route_table *rt, const char *d, const struct cfg_route *r)
{
	size_t len = d ? strlen(d) : 0;
	bool wild = false;
	struct route_name *nm;

	if (len > 1 && d[len - 1] == '.')
		len--;
	if (len == 1 && d[0] == '*') {
		if (r && rt->dflt == NULL)
			rt->dflt = r;
		else if (r == NULL)
			rt->ignored++;
		return;
	}
	if (len > 2 && d[0] == '*' && d[1] == '.') {
		wild = true;
		d += 2;
		len -= 2;
	}
	if (len == 0 || len > ROUTE_DOMAIN_MAX) {
		rt->ignored++;
		return;
	}
	nm = route_intern(rt, d, len);
	if (r == NULL)
		nm->accept |= wild ? ROUTE_ACC_WILD : ROUTE_ACC_EXACT;
	else if (wild && nm->wild == NULL)
		nm->wild = r;
	else if (!wild && nm->exact == NULL)
		nm->exact = r;
}

/* Add one relay network (addr masked again, duplicates merged). */
static void
route_add_network(struct route_table *rt, const struct cfg_cidr *c)
{
	struct route_net_slot *sl;
	unsigned dummy = 0, len = c->prefix_len, k;
	uint32_t addr;

	if (len > 32) {
		rt->ignored++;
		return;
	}
	addr = c->addr & route_prefix_mask(len);
	sl = route_net_slot(rt, addr, len, &dummy);
	if (sl->used)
		return;
	*sl = (struct route_net_slot){ .addr = addr, .len = (uint8_t)len, .used = 1 };
	rt->n_nets++;
	for (k = 0; k < rt->n_lens && rt->lens[k] != len; k++)
		;
	if (k < rt->n_lens)
		return;
	for (k = rt->n_lens++; k > 0 && rt->lens[k - 1] < len; k--)
		rt->lens[k] = rt->lens[k - 1];
	rt->lens[k] = (uint8_t)len;
}

/*
 * Octets the record of a configured domain can take: at most its length
 * ("*." and a trailing dot may go); over ROUTE_DOMAIN_MAX + 3 it is never
 * stored (route_add_domain).
 */
static size_t
route_rec_bound(const char *d)
{
	size_t len = d ? strlen(d) : 0;

	return len > ROUTE_DOMAIN_MAX + 3 ? 0 : route_rec_size(len);
}

/* Count names and their records' octets; false when too large to index. */
static bool
route_count(const struct gw_config *cfg, unsigned *n_names, size_t *arena)
{
	size_t n = cfg->smtp.n_accepted_domains, a = 0, k;
	unsigned r;

	for (k = 0; k < cfg->smtp.n_accepted_domains; k++)
		a += route_rec_bound(cfg->smtp.accepted_domains[k]);
	for (r = 0; r < cfg->n_routes; r++) {
		n += cfg->routes[r].n_domains;
		for (k = 0; k < cfg->routes[r].n_domains; k++)
			a += route_rec_bound(cfg->routes[r].domains[k]);
	}
	*n_names = (unsigned)(n < ROUTE_MAX_ENTRIES ? n : ROUTE_MAX_ENTRIES);
	*arena = a;
	return n <= ROUTE_MAX_ENTRIES && a / ROUTE_REC_ALIGN < UINT32_MAX &&
	       cfg->smtp.n_relay_networks <= ROUTE_MAX_ENTRIES;
}

/* Allocate the tables for n names with `arena` octets of records, and nets networks. */
static int
route_alloc(struct route_table *rt, unsigned n, size_t arena, unsigned nets)
{
	uint32_t slots = route_slots_for(n), net_slots = route_slots_for(nets);

	rt->mask = slots - 1;
	rt->net_mask = net_slots - 1;
	rt->slots = calloc(slots, sizeof(*rt->slots));
	rt->arena_size = arena ? arena : ROUTE_REC_ALIGN;
	rt->arena = malloc(rt->arena_size);
	rt->nets = calloc(net_slots, sizeof(*rt->nets));
	rt->bytes = sizeof(*rt) + slots * sizeof(*rt->slots) + rt->arena_size +
		    net_slots * sizeof(*rt->nets);
	if (!rt->slots || !rt->arena || !rt->nets)
		return -ENOMEM;
	return 0;
}

/*
 * The name table was sized for every configured entry; names shared by
 * routes and accepted_domains are stored once. Re-index into the smallest
 * table with load <= 0.5 and trim the arena (keeping the old ones when
 * memory is short: they work as well, only larger).
 */
static void
route_shrink(struct route_table *rt)
{
	uint32_t slots = route_slots_for(rt->n_names), i;
	struct route_slot *ns;
	const struct route_name *nm;
	char *arena;
	size_t off;

	if (slots < rt->mask + 1 && (ns = calloc(slots, sizeof(*ns))) != NULL) {
		for (off = 0; off < rt->arena_used; off += route_rec_size(nm->len)) {
			uint64_t m;

			nm = (const struct route_name *)(const void *)(rt->arena + off);
			m = route_mix(route_hash(nm->name, nm->len));
			for (i = (uint32_t)m & (slots - 1); ns[i].idx != 0; i = (i + 1) & (slots - 1))
				;
			ns[i].tag = (uint32_t)(m >> 32);
			ns[i].idx = (uint32_t)(off / ROUTE_REC_ALIGN) + 1;
		}
		rt->bytes -= (size_t)(rt->mask + 1 - slots) * sizeof(*ns);
		free(rt->slots);
		rt->slots = ns;
		rt->mask = slots - 1;
	}
	arena = rt->arena_used ? realloc(rt->arena, rt->arena_used) : NULL;
	if (arena != NULL) {
		rt->bytes -= rt->arena_size - rt->arena_used;
		rt->arena = arena;
		rt->arena_size = rt->arena_used;
	}
}

struct route_table *
route_table_build(const struct gw_config *cfg, char *err, size_t errlen)
{
	struct route_table *rt;
	unsigned n = 0, r, k;
	size_t arena = 0;

	if (cfg == NULL) {
		if (errlen)
			snprintf(err, errlen, "route: no configuration");
		errno = EINVAL;
		return NULL;
	}
	rt = calloc(1, sizeof(*rt));
	if (rt == NULL || !route_count(cfg, &n, &arena) ||
	    route_alloc(rt, n, arena, cfg->smtp.n_relay_networks) < 0) {
		if (errlen)
			snprintf(err, errlen, "route: out of memory for %u domains and %u networks",
				 n, cfg->smtp.n_relay_networks);
		route_table_free(rt);
		errno = ENOMEM;
		return NULL;
	}
	rt->n_routes = cfg->n_routes;
	for (r = 0; r < cfg->n_routes; r++)
		for (k = 0; k < cfg->routes[r].n_domains; k++)
			route_add_domain(rt, cfg->routes[r].domains[k], &cfg->routes[r]);
	for (k = 0; k < cfg->smtp.n_accepted_domains; k++)
		route_add_domain(rt, cfg->smtp.accepted_domains[k], NULL);
	for (k = 0; k < cfg->smtp.n_relay_networks; k++)
		route_add_network(rt, &cfg->smtp.relay_networks[k]);
	route_shrink(rt);
	return rt;
}

void
route_table_free(struct route_table *rt)
{
	if (rt == NULL)
		return;
	free(rt->slots);
	free(rt->arena);
	free(rt->nets);
	free(rt);
}

/* Longest probe sequence of any stored name and of any stored network. */
static void
route_max_probes(const struct route_table *rt, unsigned *names, unsigned *nets)
{
	const struct route_name *nm;
	unsigned k, p;
	size_t off;

	*names = *nets = 0;
	for (off = 0; off < rt->arena_used; off += route_rec_size(nm->len)) {
		nm = (const struct route_name *)(const void *)(rt->arena + off);
		p = 0;
		route_find(rt, route_hash(nm->name, nm->len), nm->name, nm->len, &p);
		if (p > *names)
			*names = p;
	}
	for (k = 0; k <= rt->net_mask; k++) {
		if (!rt->nets[k].used)
			continue;
		p = 0;
		route_net_slot(rt, rt->nets[k].addr, rt->nets[k].len, &p);
		if (p > *nets)
			*nets = p;
	}
}

void
route_table_stats(const struct route_table *rt, struct route_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (rt == NULL)
		return;
	st->names = rt->n_names;
	st->name_slots = rt->mask + 1;
	st->routes = rt->n_routes;
	st->has_default = rt->dflt != NULL;
	st->networks = rt->n_nets;
	st->net_slots = rt->net_mask + 1;
	st->prefix_lengths = rt->n_lens;
	st->ignored = rt->ignored;
	st->bytes = rt->bytes;
	route_max_probes(rt, &st->name_max_probe, &st->net_max_probe);
}
