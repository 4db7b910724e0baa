/*
 * route.h — recipient routing and relay permission (pure C: no DPDK, no I/O).
 *
 * The control plane builds one struct route_table per configuration
 * generation with route_table_build() (from gw_config.routes,
 * smtp.accepted_domains and smtp.relay_networks) and frees it with that
 * generation. Afterwards the table is read-only: every worker reads it at
 * once without locks.
 *
 * Domain matching everywhere: case-insensitive (ASCII), one trailing dot
 * tolerated, "example.com" matches only itself, "*.example.com" matches every
 * sub-domain of example.com at any depth but not example.com itself, and the
 * closest (longest) wildcard wins. Every lookup costs one hash-table probe
 * sequence per label of the looked-up name, whatever the number of domains
 * configured; relay_networks cost one probe sequence per distinct prefix
 * length configured (at most 33), whatever the number of networks.
 */
#ifndef MAILGW_APP_POLICY_ROUTE_H
#define MAILGW_APP_POLICY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/config.h"

struct smtp_path;
struct route_table;

/* Longest domain that can match anything but the default route (RFC 5321 §4.5.3.1.2). */
#define ROUTE_DOMAIN_MAX        255

/*
 * Build the table from cfg (routes, smtp.accepted_domains,
 * smtp.relay_networks). The table points into cfg->routes: cfg must outlive
 * it (build and free both with the configuration generation). When a domain
 * appears in more than one route, the first route in the file wins; so does
 * the first "*" route. "*" in accepted_domains is ignored (it would make an
 * open relay; counted in struct route_stats.ignored). Returns NULL with
 * errno set and a message in err (when errlen > 0): ENOMEM, or EINVAL for a
 * NULL cfg.
 */
struct route_table *route_table_build(const struct gw_config *cfg, char *err, size_t errlen);

/* Free a table (NULL is fine). */
void route_table_free(struct route_table *rt);

/*
 * The route for a recipient domain (any case, not NUL-terminated, one
 * trailing dot tolerated): the exact domain first, then the closest
 * "*.suffix" (a.b.example.com tries *.b.example.com, *.example.com, *.com),
 * then the default route "*". NULL when none applies, and for an empty
 * domain. A domain over ROUTE_DOMAIN_MAX octets gets only the default route.
 */
const struct cfg_route *route_lookup(const struct route_table *rt, const char *domain,
				     size_t len);

/*
 * Whether mail for this domain is accepted from anyone: smtp.accepted_domains
 * with the same exact / closest-wildcard rules, and no default.
 */
bool route_domain_accepted(const struct route_table *rt, const char *domain, size_t len);

/* Whether a client address (host byte order) is in smtp.relay_networks. */
bool route_relay_network(const struct route_table *rt, uint32_t addr);

/*
 * As the three above; *probes (when not NULL) is increased by the number of
 * hash-table slots inspected. For tests, benchmarks and the console: the
 * figure must not grow with the number of domains or networks.
 */
const struct cfg_route *route_lookup_ex(const struct route_table *rt, const char *domain,
					size_t len, unsigned *probes);
bool route_domain_accepted_ex(const struct route_table *rt, const char *domain, size_t len,
			      unsigned *probes);
bool route_relay_network_ex(const struct route_table *rt, uint32_t addr, unsigned *probes);

/* The relay decision for one RCPT (an open relay is a critical bug). */
enum route_relay_verdict {
	ROUTE_RELAY_OK_DOMAIN = 0,      /* accepted domain (or <Postmaster>): allowed from anyone */
	ROUTE_RELAY_OK_NETWORK,         /* client in relay_networks: allowed to anywhere */
	ROUTE_RELAY_DENIED,             /* foreign domain from a foreign client */
	ROUTE_RELAY_DENIED_ROUTING_HACK, /* %, !, quoted @, source route or address literal */
	ROUTE_RELAY_DENIED_BAD_PATH,    /* no domain (null path): never a valid RCPT */
	ROUTE_RELAY_VERDICT_COUNT
};

/* Whether a verdict allows the recipient. */
static inline bool
route_relay_allowed(enum route_relay_verdict v)
{
	return v == ROUTE_RELAY_OK_DOMAIN || v == ROUTE_RELAY_OK_NETWORK;
}

/*
 * Decide one RCPT from client_addr (host byte order), rcpt as parsed by
 * smtp_parse_command(). In order:
 *  1. client in relay_networks: OK_NETWORK, whatever the path (internal
 *     servers may use % hacks and literals);
 *  2. <Postmaster> (no domain): OK_DOMAIN (RFC 5321 §4.5.1);
 *  3. no domain otherwise (a null path): DENIED_BAD_PATH;
 *  4. a source route, an address literal, '%' or '!' in the local part, or
 *     '@' in a quoted local part: DENIED_ROUTING_HACK, even toward an
 *     accepted domain (the next hop might honour the hack and relay on);
 *  5. accepted domain: OK_DOMAIN; else DENIED.
 */
enum route_relay_verdict route_relay_check(const struct route_table *rt, uint32_t client_addr,
					   const struct smtp_path *rcpt);

/* Short name of a verdict ("ok_domain", "denied_routing_hack", ...), for logs and counters. */
const char *route_relay_verdict_name(enum route_relay_verdict v);

/* Sizes of a built table, for the console and tests. */
struct route_stats {
	unsigned names;                 /* distinct domain names stored (exact and wildcard) */
	unsigned name_slots;            /* slots of the domain hash table (power of two) */
	unsigned name_max_probe;        /* longest probe sequence of any stored name */
	unsigned routes;                /* routes in the configuration */
	bool has_default;               /* a "*" route exists */
	unsigned networks;              /* distinct relay networks */
	unsigned net_slots;             /* slots of the network hash table */
	unsigned net_max_probe;         /* longest probe sequence of any stored network */
	unsigned prefix_lengths;        /* distinct prefix lengths among relay networks */
	unsigned ignored;               /* configured entries ignored ("*" in accepted_domains) */
	size_t bytes;                   /* memory the table holds */
};

/* Fill *st from the table. */
void route_table_stats(const struct route_table *rt, struct route_stats *st);

#endif /* MAILGW_APP_POLICY_ROUTE_H */
