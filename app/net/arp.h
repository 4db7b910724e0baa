/*
 * arp.h — neighbour resolution (RFC 826) with a per-worker cache.
 *
 * Answers requests for our addresses, learns senders that talk to us,
 * resolves next hops for IPv4 output (holding a few packets per neighbour
 * while it waits), ages entries out, and announces our addresses at start.
 * Entries learned by one worker are passed to the others through their inbox.
 */
#ifndef MAILGW_APP_NET_ARP_H
#define MAILGW_APP_NET_ARP_H

#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

struct worker;
struct worker_msg;

enum arp_state {
	ARP_FREE = 0,
	ARP_INCOMPLETE,     /* request sent, packets waiting */
	ARP_REACHABLE,      /* confirmed within arp_timeout */
	ARP_STALE,          /* timed out while in use: still used, being re-probed */
};

/* What the console shows of one entry (copied consistently from a worker). */
struct arp_view {
	uint32_t ip;                    /* host byte order */
	uint16_t port;
	uint8_t state;
	uint8_t queued;
	struct rte_ether_addr mac;
	uint64_t age_ms;                /* since last confirmation */
	unsigned worker;
};

/*
 * Create a table for `size` neighbours holding `qlen` packets each while
 * they are resolved, and at most `held_max` packets (at least qlen) all
 * together: unanswered neighbours (spoofed sources) must not hold the
 * packet pool; a neighbour's first packet then takes the place of another
 * unresolved neighbour's newest. When the table is full, an unresolved or
 * unused entry is recycled for a new neighbour. NULL on failure.
 */
struct arp_table *arp_table_create(unsigned size, unsigned qlen, unsigned held_max, int socket);

/* The share of a worker's packet pool that neighbours being resolved may hold: 1/ARP_HELD_SHARE. */
#define ARP_HELD_SHARE 16

/* Free a table (and any packets still waiting). */
void arp_table_free(struct arp_table *t);

/* Handle an ARP packet (m's data starts at the ARP header). Consumes m. */
void arp_input(struct worker *w, unsigned p, struct rte_mbuf *m);

/*
 * Send IPv4 packet m (data at the IP header) to next hop nh on port index p:
 * at once when the MAC is known, otherwise after resolution. Consumes m.
 */
void arp_output(struct worker *w, unsigned p, uint32_t nh, struct rte_mbuf *m);

/* Housekeeping: retries, ageing, giving up. Call about every 100 ms. */
void arp_tick(struct worker *w);

/* Apply a neighbour learned by another worker. */
void arp_learn_shared(struct worker *w, const struct worker_msg *msg);

/* Send a gratuitous ARP for port index p's address. */
void arp_announce(struct worker *w, unsigned p);

/*
 * Copy up to max entries of w's table into out (safe from another thread;
 * an entry being written is retried). Returns the number copied.
 */
unsigned arp_snapshot(const struct worker *w, struct arp_view *out, unsigned max);

/* "incomplete", "reachable", "stale". */
const char *arp_state_name(enum arp_state s);

#endif
