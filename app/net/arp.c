/*
 * arp.c — ARP (RFC 826) and the per-worker neighbour cache. Called from
 * eth.c for received ARP, from ipv4.c (arp_output) to send IPv4, and from the
 * worker loop (arp_tick) for retries and ageing. Entries never move once
 * created (chained hash over a fixed array), so the console can read them
 * with a per-entry sequence count while the worker writes.
 */
#include <errno.h>
#include <string.h>
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_malloc.h>

#include "app/worker.h"
#include "app/net/arp.h"
#include "app/net/eth.h"
#include "app/net/ipv4.h"

#define ARP_RETRIES       3     /* requests before giving up */
#define ARP_RETRY_MS      1000  /* between requests */

struct arp_entry {
	volatile uint32_t seq;          /* odd while the worker writes the entry */
	uint32_t ip;                    /* host byte order */
	uint32_t next;                  /* chain: index + 1, 0 = end */
	uint16_t port;
	uint8_t state;                  /* enum arp_state */
	uint8_t retries;
	uint8_t qn;
	uint8_t used;                   /* sent through since last confirmation */
	struct rte_ether_addr mac;
	uint64_t expires;               /* TSC: reachable until / next retry */
	uint64_t confirmed;             /* TSC of the last confirmation */
};

struct arp_table {
	unsigned size;                  /* entries */
	unsigned qlen;                  /* packets held per entry */
	unsigned held;                  /* packets held by all entries */
	unsigned held_max;              /* ... at most (arp_table_create) */
	unsigned hand;                  /* where arp_pick() looks next */
	unsigned n_buckets;             /* power of two */
	uint32_t free_head;             /* index + 1 */
	unsigned used;
	uint32_t *buckets;              /* index + 1 */
	struct arp_entry *e;
	struct rte_mbuf **q;            /* size * qlen */
};

struct arp_table *
arp_table_create(unsigned size, unsigned qlen, unsigned held_max, int socket)
{
	struct arp_table *t = rte_zmalloc_socket("arp", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return NULL;
	t->size = size;
	t->qlen = qlen;
	t->held_max = RTE_MAX(held_max, qlen);
	t->n_buckets = rte_align32pow2(size);
	t->buckets = rte_zmalloc_socket("arp_b", t->n_buckets * sizeof(uint32_t), 0, socket);
	t->e = rte_zmalloc_socket("arp_e", size * sizeof(struct arp_entry), RTE_CACHE_LINE_SIZE, socket);
	t->q = rte_zmalloc_socket("arp_q", (size_t)size * qlen * sizeof(struct rte_mbuf *), 0, socket);
	if (t->buckets == NULL || t->e == NULL || t->q == NULL) {
		arp_table_free(t);
		return NULL;
	}
	for (unsigned i = 0; i < size; i++)
		t->e[i].next = (i + 1 < size) ? i + 2 : 0;
	t->free_head = 1;
	return t;
}

void
arp_table_free(struct arp_table *t)
{
	if (t == NULL)
		return;
	if (t->e != NULL && t->q != NULL)
		for (unsigned i = 0; i < t->size; i++)
			for (unsigned k = 0; k < t->e[i].qn; k++)
				rte_pktmbuf_free(t->q[(size_t)i * t->qlen + k]);
	rte_free(t->q);
	rte_free(t->e);
	rte_free(t->buckets);
	rte_free(t);
}

static inline uint32_t
arp_bucket(const struct arp_table *t, unsigned port, uint32_t ip)
{
	uint32_t h = ip * 2654435761u ^ (port * 40503u);
	return (h ^ (h >> 16)) & (t->n_buckets - 1);
}

static struct arp_entry *
arp_lookup(struct arp_table *t, unsigned port, uint32_t ip)
{
	for (uint32_t i = t->buckets[arp_bucket(t, port, ip)]; i != 0; i = t->e[i - 1].next) {
		struct arp_entry *e = &t->e[i - 1];
		if (e->ip == ip && e->port == port)
			return e;
	}
	return NULL;
}

static inline void arp_write_begin(struct arp_entry *e) { e->seq++; rte_smp_wmb(); }
static inline void arp_write_end(struct arp_entry *e) { rte_smp_wmb(); e->seq++; }

static struct arp_entry *
arp_create(struct arp_table *t, unsigned port, uint32_t ip)
{
	if (t->free_head == 0)
		return NULL;
	uint32_t idx = t->free_head;
	struct arp_entry *e = &t->e[idx - 1];
	uint32_t b = arp_bucket(t, port, ip);

	t->free_head = e->next;
	arp_write_begin(e);
	e->ip = ip;
	e->port = port;
	e->state = ARP_INCOMPLETE;
	e->retries = 0;
	e->qn = 0;
	e->used = 0;
	memset(&e->mac, 0, sizeof(e->mac));
	e->next = t->buckets[b];
	arp_write_end(e);
	t->buckets[b] = idx;
	t->used++;
	return e;
}

static void
arp_delete(struct arp_table *t, struct arp_entry *e)
{
	uint32_t idx = (uint32_t)(e - t->e) + 1;
	uint32_t *link = &t->buckets[arp_bucket(t, e->port, e->ip)];

	while (*link != 0 && *link != idx)
		link = &t->e[*link - 1].next;
	if (*link == idx)
		*link = e->next;
	arp_write_begin(e);
	e->state = ARP_FREE;
	e->ip = 0;
	e->qn = 0;
	e->next = t->free_head;
	arp_write_end(e);
	t->free_head = idx;
	t->used--;
}

/* Drop entry e to make room: its waiting packets are counted unresolved. */
static void
arp_evict(struct worker *w, struct arp_table *t, struct arp_entry *e)
{
	struct rte_mbuf **q = &t->q[(size_t)(e - t->e) * t->qlen];

	w->ctr[e->port][STATS_ARP_TX_UNRESOLVED] += e->qn;
	for (unsigned k = 0; k < e->qn; k++)
		rte_pktmbuf_free(q[k]);
	t->held -= e->qn;
	w->ctr[e->port][STATS_ARP_EVICTED]++;
	arp_delete(t, e);
}

/*
 * What the table may give up under pressure, best first: an entry that has
 * not answered an ARP request for a second (ARP_RETRY_MS) or more, then any
 * unresolved one, then (victims only, ARP_PICK_UNUSED) one that nothing was
 * sent through since it was learned. A neighbour just asked for keeps its
 * entry and its packet for a moment, however fast unanswered ones arrive.
 */
enum arp_pick { ARP_PICK_OLD, ARP_PICK_UNRESOLVED, ARP_PICK_UNUSED };

static bool
arp_pickable(const struct arp_entry *e, enum arp_pick k)
{
	if (e->state == ARP_INCOMPLETE)
		return k != ARP_PICK_OLD || e->retries >= 2;
	return k == ARP_PICK_UNUSED && e->state == ARP_REACHABLE && !e->used;
}

/*
 * The first entry, round-robin from where the last search stopped, that is
 * pickable at the best level up to `worst` and not `skip`; with packets
 * waiting if `queued`. NULL when there is none.
 */
static struct arp_entry *
arp_pick(struct arp_table *t, enum arp_pick worst, const struct arp_entry *skip, bool queued)
{
	for (enum arp_pick k = ARP_PICK_OLD; k <= worst; k++) {
		for (unsigned n = 0; n < t->size; n++) {
			struct arp_entry *e = &t->e[t->hand];
			t->hand = t->hand + 1 < t->size ? t->hand + 1 : 0;
			if (e != skip && (!queued || e->qn != 0) && arp_pickable(e, k))
				return e;
		}
	}
	return NULL;
}

/*
 * The table is full: free one entry for a new neighbour (arp_pick's order),
 * so that neighbours that never answer (spoofed sources of a SYN flood) or
 * that only asked for us cannot lock others out. Entries in use are kept.
 * false when every entry is in use.
 */
static bool
arp_reclaim(struct worker *w, struct arp_table *t)
{
	struct arp_entry *e = arp_pick(t, ARP_PICK_UNUSED, NULL, false);

	if (e == NULL)
		return false;
	arp_evict(w, t, e);
	return true;
}

/*
 * The packets waiting on neighbours hold their share of the pool: make room
 * for the first packet of entry e by dropping the newest packet of another
 * unresolved entry (arp_pick's order), so that a new neighbour is not
 * starved by the ones that never answer. false when none holds one.
 */
static bool
arp_steal(struct worker *w, struct arp_table *t, const struct arp_entry *e)
{
	struct arp_entry *o = arp_pick(t, ARP_PICK_UNRESOLVED, e, true);

	if (o == NULL)
		return false;
	rte_pktmbuf_free(t->q[(size_t)(o - t->e) * t->qlen + --o->qn]);
	t->held--;
	w->ctr[o->port][STATS_ARP_TX_HELD_FULL]++;
	return true;
}

/* A new entry for ip on port, reclaiming one when the table is full. NULL when none can be. */
static struct arp_entry *
arp_new(struct worker *w, unsigned port, uint32_t ip)
{
	struct arp_table *t = w->arp;

	if (t->free_head == 0 && !arp_reclaim(w, t))
		return NULL;
	return arp_create(t, port, ip);
}

/* Build and send one ARP packet from port index p. */
static void
arp_send(struct worker *w, unsigned p, uint16_t op, const struct rte_ether_addr *tha,
	 uint32_t tip, const struct rte_ether_addr *eth_dst)
{
	const struct port *port = &w->gw->ports[p];
	struct rte_mbuf *m = worker_pkt_alloc(w);
	if (m == NULL) {
		w->ctr[p][STATS_PORT_TX_NO_MBUF]++;
		return;
	}
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)rte_pktmbuf_append(m, sizeof(*a));
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(&port->mac, &a->arp_data.arp_sha);
	a->arp_data.arp_sip = rte_cpu_to_be_32(port->addr);
	rte_ether_addr_copy(tha, &a->arp_data.arp_tha);
	a->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	eth_output(w, p, m, eth_dst, RTE_ETHER_TYPE_ARP);
}

static void
arp_request(struct worker *w, unsigned p, uint32_t ip)
{
	static const struct rte_ether_addr zero = { { 0 } };
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

	arp_send(w, p, RTE_ARP_OP_REQUEST, &zero, ip, &bcast);
	w->ctr[p][STATS_ARP_TX_REQUEST]++;
}

void
arp_announce(struct worker *w, unsigned p)
{
	static const struct rte_ether_addr zero = { { 0 } };
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

	/* RFC 5227 announcement: a request with sender = target = our address. */
	arp_send(w, p, RTE_ARP_OP_REQUEST, &zero, w->gw->ports[p].addr, &bcast);
	w->ctr[p][STATS_ARP_TX_GRATUITOUS]++;
}

/* Send what waits on e, now that its MAC is known. */
static void
arp_flush_queue(struct worker *w, struct arp_table *t, struct arp_entry *e)
{
	struct rte_mbuf **q = &t->q[(size_t)(e - t->e) * t->qlen];
	unsigned n = e->qn;

	e->qn = 0;
	t->held -= n;
	for (unsigned k = 0; k < n; k++)
		eth_output(w, e->port, q[k], &e->mac, RTE_ETHER_TYPE_IPV4);
}

/* Record ip -> mac on port p. create: make an entry if there is none. */
static void
arp_update(struct worker *w, unsigned p, uint32_t ip, const struct rte_ether_addr *mac, int create)
{
	struct arp_table *t = w->arp;
	struct arp_entry *e = arp_lookup(t, p, ip);

	if (e == NULL) {
		if (!create || (e = arp_new(w, p, ip)) == NULL)
			return;
		w->ctr[p][STATS_ARP_LEARNED]++;
	}
	arp_write_begin(e);
	rte_ether_addr_copy(mac, &e->mac);
	e->state = ARP_REACHABLE;
	e->retries = 0;
	e->used = 0;
	e->confirmed = w->now;
	e->expires = w->now + (uint64_t)w->cfg->limits.arp_timeout * w->hz;
	arp_write_end(e);
	if (e->qn != 0)
		arp_flush_queue(w, t, e);
}

/* Tell the other workers what we learned from the wire. */
static void
arp_share(struct worker *w, unsigned p, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct worker_msg msg = { .type = WORKER_MSG_ARP_LEARN, .port = (uint16_t)p, .ip = ip };

	memcpy(msg.mac, mac->addr_bytes, sizeof(msg.mac));
	for (unsigned i = 0; i < w->gw->n_workers; i++) {
		struct worker *o = w->gw->workers[i];
		if (o != w && worker_post(o, &msg) != 0)
			w->ctr[p][STATS_ARP_SHARED_DROPPED]++;
	}
}

void
arp_learn_shared(struct worker *w, const struct worker_msg *msg)
{
	struct rte_ether_addr mac;

	memcpy(mac.addr_bytes, msg->mac, sizeof(msg->mac));
	arp_update(w, msg->port, msg->ip, &mac, 1);
}

/* Validate the fixed part of an ARP packet; STATS_MAX when good. */
static enum stats_id
arp_check(const struct port *port, struct rte_mbuf *m, const struct rte_arp_hdr **out)
{
	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_arp_hdr))
		return STATS_ARP_RX_TRUNCATED;
	const struct rte_arp_hdr *a = rte_pktmbuf_mtod(m, const struct rte_arp_hdr *);
	if (a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4)
		return STATS_ARP_RX_BAD_FORMAT;
	uint16_t op = rte_be_to_cpu_16(a->arp_opcode);
	if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)
		return STATS_ARP_RX_BAD_OP;
	uint32_t sip = rte_be_to_cpu_32(a->arp_data.arp_sip);
	if (!rte_is_unicast_ether_addr(&a->arp_data.arp_sha) ||
	    rte_is_zero_ether_addr(&a->arp_data.arp_sha) ||
	    (sip != 0 && ipv4_is_martian(sip)) ||
	    (sip != 0 && (sip | port->mask) == 0xffffffffu && port->prefix_len < 31))
		return STATS_ARP_RX_BAD_SENDER;
	*out = a;
	return STATS_MAX;
}

void
arp_input(struct worker *w, unsigned p, struct rte_mbuf *m)
{
	const struct port *port = &w->gw->ports[p];
	const struct rte_arp_hdr *a = NULL;
	enum stats_id why = arp_check(port, m, &a);

	if (why != STATS_MAX)
		return worker_drop(w, p, m, why);
	uint16_t op = rte_be_to_cpu_16(a->arp_opcode);
	uint32_t sip = rte_be_to_cpu_32(a->arp_data.arp_sip);
	uint32_t tip = rte_be_to_cpu_32(a->arp_data.arp_tip);
	struct rte_ether_addr sha = a->arp_data.arp_sha;

	if (sip == port->addr) {
		WORKER_LOG(w, CFG_LOG_WARNING, "arp: address conflict on %s: %02x:%02x:%02x:%02x:%02x:%02x claims our address",
			   port->name, sha.addr_bytes[0], sha.addr_bytes[1], sha.addr_bytes[2],
			   sha.addr_bytes[3], sha.addr_bytes[4], sha.addr_bytes[5]);
		return worker_drop(w, p, m, STATS_ARP_RX_CONFLICT);
	}
	if (tip != port->addr) {
		/* Not for us: refresh what we already know (RFC 826 merge), nothing else. */
		if (sip != 0 && arp_lookup(w->arp, p, sip) != NULL)
			arp_update(w, p, sip, &sha, 0);
		enum stats_id s = (sip == tip && sip != 0) ? STATS_ARP_RX_GRATUITOUS : STATS_ARP_RX_NOT_FOR_US;
		return worker_drop(w, p, m, s);
	}
	if (sip != 0) {
		arp_update(w, p, sip, &sha, 1);
		arp_share(w, p, sip, &sha);
	}
	if (op == RTE_ARP_OP_REPLY)
		return worker_drop(w, p, m, STATS_ARP_RX_REPLY);

	rte_pktmbuf_free(m);
	w->ctr[p][STATS_ARP_RX_REQUEST]++;
	arp_send(w, p, RTE_ARP_OP_REPLY, &sha, sip, &sha);
	w->ctr[p][STATS_ARP_TX_REPLY]++;
}

void
arp_output(struct worker *w, unsigned p, uint32_t nh, struct rte_mbuf *m)
{
	struct arp_table *t = w->arp;
	struct arp_entry *e = arp_lookup(t, p, nh);

	if (e != NULL && e->state != ARP_INCOMPLETE) {
		e->used = 1;
		return eth_output(w, p, m, &e->mac, RTE_ETHER_TYPE_IPV4);
	}
	if (e == NULL) {
		e = arp_new(w, p, nh);
		if (e == NULL) {
			w->ctr[p][STATS_ARP_TX_CACHE_FULL]++;
			rte_pktmbuf_free(m);
			return;
		}
		e->retries = 1;
		e->expires = w->now + w->hz * ARP_RETRY_MS / 1000;
		arp_request(w, p, nh);
	}
	if (e->qn >= t->qlen) {
		w->ctr[p][STATS_ARP_TX_QUEUE_FULL]++;
		rte_pktmbuf_free(m);
		return;
	}
	if (t->held >= t->held_max && (e->qn != 0 || !arp_steal(w, t, e))) {
		w->ctr[p][STATS_ARP_TX_HELD_FULL]++;
		rte_pktmbuf_free(m);
		return;
	}
	t->held++;
	t->q[(size_t)(e - t->e) * t->qlen + e->qn++] = m;
}

/* One entry's timer ran out. */
static void
arp_expire(struct worker *w, struct arp_table *t, struct arp_entry *e)
{
	unsigned p = e->port;

	if (e->state == ARP_REACHABLE && e->used) {
		/* In use: keep sending to the known MAC while we re-probe. */
		arp_write_begin(e);
		e->state = ARP_STALE;
		arp_write_end(e);
		e->retries = 0;
	}
	if (e->state != ARP_REACHABLE && e->retries < ARP_RETRIES) {
		e->retries++;
		e->expires = w->now + w->hz * ARP_RETRY_MS / 1000;
		arp_request(w, p, e->ip);
		return;
	}
	if (e->state == ARP_INCOMPLETE) {
		struct rte_mbuf **q = &t->q[(size_t)(e - t->e) * t->qlen];
		w->ctr[p][STATS_ARP_RESOLVE_FAILED]++;
		w->ctr[p][STATS_ARP_TX_UNRESOLVED] += e->qn;
		for (unsigned k = 0; k < e->qn; k++)
			rte_pktmbuf_free(q[k]);
		t->held -= e->qn;
		e->qn = 0;
	} else {
		w->ctr[p][STATS_ARP_EXPIRED]++;
	}
	arp_delete(t, e);
}

void
arp_tick(struct worker *w)
{
	struct arp_table *t = w->arp;

	if (t->used == 0)
		return;
	for (unsigned i = 0; i < t->size; i++) {
		struct arp_entry *e = &t->e[i];
		if (e->state != ARP_FREE && w->now >= e->expires)
			arp_expire(w, t, e);
	}
}

unsigned
arp_snapshot(const struct worker *w, struct arp_view *out, unsigned max)
{
	const struct arp_table *t = w->arp;
	uint64_t now = rte_rdtsc();
	unsigned n = 0;

	for (unsigned i = 0; i < t->size && n < max; i++) {
		const struct arp_entry *e = &t->e[i];
		struct arp_entry copy;
		uint32_t s1, s2;
		do {
			s1 = e->seq;
			rte_smp_rmb();
			memcpy(&copy, (const void *)e, sizeof(copy));
			rte_smp_rmb();
			s2 = e->seq;
		} while ((s1 & 1) || s1 != s2);
		if (copy.state == ARP_FREE)
			continue;
		out[n].ip = copy.ip;
		out[n].port = copy.port;
		out[n].state = copy.state;
		out[n].queued = copy.qn;
		out[n].mac = copy.mac;
		out[n].age_ms = copy.state == ARP_INCOMPLETE ? 0 :
			(now - copy.confirmed) * 1000 / w->hz;
		out[n].worker = w->id;
		n++;
	}
	return n;
}

const char *
arp_state_name(enum arp_state s)
{
	switch (s) {
	case ARP_INCOMPLETE: return "incomplete";
	case ARP_REACHABLE: return "reachable";
	case ARP_STALE: return "stale";
	default: return "free";
	}
}
