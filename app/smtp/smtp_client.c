/*
 * smtp_client.c — SMTP client connections to next hops and the per-worker
 * cache of idle ones. Called by the relay (app/smtp/relay.c) on the worker's
 * loop; every event comes from the stream (connected/readable/writable/
 * closed) or the timer wheel. Commands wait in a small queue until the
 * connection is ready, then go out pipelined when offered; replies are
 * matched in order against the list of expected ones, each checked against
 * what its stage allows and against whether it was due yet. What the owner
 * hears (replies, the one failure) waits in a per-client event ring and is
 * delivered from the timer run (cl_deliver), never from inside the client's
 * own code: no callback can free or park the client under its caller.
 * Per next hop a worker keeps at most its share of
 * smtp.client.destination_concurrency connections in use; the others wait.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include "app/worker.h"
#include "app/net/stream.h"
#include "app/net/tcp.h"
#include "app/smtp/smtp_client.h"
#include "crypto/tls.h"
#include "crypto/tls_report.h"

#define CL_QUEUE        8       /* lines waiting to be sent */
#define CL_QBUF         1400    /* their bytes (MAIL, RCPT, DATA) */
#define CL_WBUF         1400    /* bytes sent but not taken by the stream yet */
#define CL_EXPECT       8       /* replies expected */
#define CL_DOWN_SLOTS   64      /* next hops remembered as failing */
#define CL_QUIT_WAIT_S  5       /* seconds to wait for 221 before resetting */
#define CL_EV_TEXT      256     /* reply text kept for a deferred reply */
#define CL_DESTS        256     /* next hops counted per worker (more: not limited) */

enum cl_state {
	CL_FREE = 0,
	CL_WAITING,             /* no connection yet: the next hop is at its destination_concurrency */
	CL_CONNECTING,
	CL_GREETING,
	CL_EHLO,
	CL_HELO,
	CL_STARTTLS,            /* STARTTLS sent: waiting for 220 */
	CL_TLS,                 /* the TLS handshake runs */
	CL_READY,               /* between commands (owner's or idle) */
	CL_STREAM,              /* after 354: message data flows */
	CL_QUIT,                /* QUIT sent (or FIN): waiting for the close, at most CL_QUIT_WAIT_S */
	CL_DEAD,                /* failed: no connection, the failure not yet delivered to the owner */
};

/* What smtp_client_release() asked for while a callback ran (cl_deliver). */
enum cl_release {
	CL_REL_NONE = 0,
	CL_REL_RESET,           /* not reusable: reset once the callback returns */
};

/* What a queued line or an expected reply is. */
enum cl_kind {
	CL_K_MAIL = SMTP_CL_MAIL,
	CL_K_RCPT = SMTP_CL_RCPT,
	CL_K_DATA = SMTP_CL_DATA,
	CL_K_EOD = SMTP_CL_EOD,
	CL_K_GREETING,
	CL_K_EHLO,
	CL_K_HELO,
	CL_K_RSET,
	CL_K_QUIT,
	CL_K_STARTTLS,
};

struct cl_line {
	uint8_t kind;
	uint16_t off, len;
};

/* A reply expected; due once the stream took its command (w_out reached end). */
struct cl_exp {
	uint8_t kind;
	uint32_t end;
};

/* A reply for the owner, kept until cl_deliver passes it on. */
struct cl_event {
	uint8_t kind;                   /* enum smtp_client_cmd */
	bool has_enhanced;
	uint16_t code;
	uint16_t enh[3];
	uint16_t text_len;
	char text[CL_EV_TEXT];
};

/* A next hop's connections in use on this worker, and the clients waiting for one. */
struct cl_dest {
	uint32_t addr;
	uint16_t port;
	unsigned in_use, waiting;
	unsigned promised;              /* woken waiters whose timer has not run yet: their room is kept */
};

struct smtp_client {
	struct worker *w;
	struct stream *s;
	enum cl_state state;
	uint32_t gen;                   /* bumped when the slot is freed */
	const struct smtp_client_ops *ops;
	void *owner;
	const struct cfg_route *route;
	const struct cfg_connector_out *conn;   /* the outbound connector whose TLS policy applies, or NULL */
	struct policy_gen *policy;      /* held while conn (or a route inside it) is in use */
	uint8_t order[CFG_MAX_NEXT_HOPS];       /* hops to try, in order */
	unsigned n_order, pos;
	uint32_t addr;
	uint16_t port;
	char peer[24];
	char peer_ip[16];
	unsigned ext;                   /* SMTP_EXT_* of the next hop */
	uint64_t ext_size;
	unsigned messages;              /* transactions finished on this connection */
	bool reused;
	bool dirty;                     /* MAIL sent, no final reply: RSET before reuse */
	bool idle;                      /* in the cache */
	bool data_blocked;              /* a message-data write came up short */
	bool no_reuse;                  /* the next hop said 421: it is closing this connection */
	bool tls_up;                    /* the connection runs over TLS */
	bool no_tls;                    /* level may: this hop failed the handshake; plaintext now */
	bool reading;                   /* inside cl_readable: commands put wait, bytes read are not theirs */
	bool early;                     /* reply data was unread when a command went out with none due */
	bool txn_refused;               /* MAIL answered here (SIZE, SMTPUTF8): so are the RCPTs after it */
	bool delivering;                /* inside cl_deliver: a release that frees waits (release) */
	bool wait_started;              /* wait_until is set (one wait per client) */
	bool waitq;                     /* on the worker's list of clients waiting for a next hop */
	bool want_writable;             /* cl_deliver owes the owner a writable callback */
	bool woken;                     /* CL_WAITING: a connection freed for it, its timer runs next */
	uint8_t release;                /* enum cl_release */
	enum smtp_client_fail fail_why; /* CL_DEAD: what the owner will hear */
	uint32_t client;                /* the owner's client address (the fair share) */
	struct cl_dest *dest;           /* the next hop whose in_use counts this client, or NULL */
	struct cl_dest *wait_dest;      /* CL_WAITING: the one waited for, at plan position wait_pos */
	unsigned wait_pos;
	uint64_t wait_until;            /* TSC */
	uint64_t hold_mark;             /* CL_STREAM: the owner's progress at the last data_hold check */
	uint64_t txn_start;             /* TSC when MAIL went out: DATA is due within data_hold of it */
	unsigned ehlo_ext;              /* the EHLO reply before STARTTLS (for a plaintext fallback) */
	uint64_t ehlo_size;
	/* MAIL parameters (the line is built when sent, once the extensions are known) */
	char from[SMTP_PATH_MAX + 1];
	size_t from_len;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	/* queued lines, bytes on their way, replies expected */
	struct cl_line q[CL_QUEUE];
	unsigned q_n;
	size_t q_used;
	char qbuf[CL_QBUF];
	char wbuf[CL_WBUF];
	size_t w_len;
	uint32_t w_put, w_out;          /* bytes put into wbuf / taken by the stream, in all */
	struct cl_exp exp[CL_EXPECT];
	unsigned exp_head, exp_n;
	struct smtp_reply reply;
	struct cl_event ev[CL_EXPECT];  /* replies for the owner, not yet delivered */
	unsigned ev_head, ev_n;
	struct timer timer;
	struct timer ev_timer;          /* armed "now" while something waits for cl_deliver */
	struct smtp_client *next, *prev;        /* free list / cache list / wait list */
};

struct cl_down {
	uint32_t addr;
	uint16_t port;
	uint64_t until;                 /* TSC */
};

struct cl_ctx {
	struct smtp_client *clients;
	unsigned n;
	struct smtp_client *free;
	struct smtp_client *idle_head, *idle_tail;     /* most recently used first */
	unsigned n_idle, in_use, rr;
	struct cl_down down[CL_DOWN_SLOTS];
	unsigned down_next;
	struct cl_dest dests[CL_DESTS];
	unsigned dest_limit;            /* this worker's share of destination_concurrency */
	struct smtp_client *wait_head, *wait_tail;      /* CL_WAITING clients, oldest first */
	enum smtp_client_fail open_fail;        /* why a client without owner failed (smtp_client_open) */
	char scratch[4096];
};

static const struct stream_ops cl_stream_ops;
static void cl_try_next(struct smtp_client *c, enum smtp_client_fail why);
static void cl_send(struct smtp_client *c);
static void cl_rearm(struct smtp_client *c);
static void cl_deliver(struct timer *t, void *arg);

static struct cl_ctx *
cl_ctx(const struct worker *w)
{
	return w->smtp_client;
}

static uint64_t
cl_secs(const struct worker *w, unsigned s)
{
	return (uint64_t)s * w->hz;
}

/* ---- pool and cache ---- */

int
smtp_client_init(struct worker *w)
{
	unsigned n = w->cfg->smtp.client.connections_per_worker;
	struct cl_ctx *x = rte_zmalloc("smtp_client", sizeof(*x), RTE_CACHE_LINE_SIZE);

	if (x == NULL)
		return -ENOMEM;
	x->clients = rte_zmalloc("smtp_clients", (size_t)n * sizeof(struct smtp_client), RTE_CACHE_LINE_SIZE);
	if (x->clients == NULL) {
		rte_free(x);
		return -ENOMEM;
	}
	x->n = n;
	x->dest_limit = smtp_client_dest_limit(w->cfg->smtp.client.destination_concurrency, w->cfg->n_workers,
					       w->id);
	for (unsigned i = n; i-- > 0;) {
		x->clients[i].next = x->free;
		x->free = &x->clients[i];
	}
	w->smtp_client = x;
	return 0;
}

void
smtp_client_fini(struct worker *w)
{
	struct cl_ctx *x = cl_ctx(w);

	if (x == NULL)
		return;
	rte_free(x->clients);
	rte_free(x);
	w->smtp_client = NULL;
}

static void
cl_idle_unlink(struct cl_ctx *x, struct smtp_client *c)
{
	if (!c->idle)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		x->idle_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		x->idle_tail = c->prev;
	c->next = c->prev = NULL;
	c->idle = false;
	x->n_idle--;
}

/* ---- next-hop capacity (smtp.client.destination_concurrency) ---- */

unsigned
smtp_client_dest_limit(unsigned concurrency, unsigned n_workers, unsigned worker)
{
	unsigned n = n_workers ? n_workers : 1;
	unsigned l = concurrency / n + (worker % n < concurrency % n);  /* the remainder to the first ones */

	return l ? l : 1;
}

bool
smtp_client_dest_admits(unsigned in_use, unsigned limit, unsigned held)
{
	unsigned reserve = limit / 4;

	if (in_use >= limit)
		return false;
	return in_use < limit - reserve || held == 0;
}

/* The entry for addr:port (made when create and there is room), or NULL. */
static struct cl_dest *
cl_dest_find(struct cl_ctx *x, uint32_t addr, uint16_t port, bool create)
{
	struct cl_dest *spare = NULL;

	for (unsigned i = 0; i < CL_DESTS; i++) {
		struct cl_dest *d = &x->dests[i];
		if (d->addr == addr && d->port == port && (d->in_use || d->waiting))
			return d;
		if (spare == NULL && d->in_use == 0 && d->waiting == 0)
			spare = d;
	}
	if (!create || spare == NULL)
		return NULL;
	*spare = (struct cl_dest){ .addr = addr, .port = port };
	return spare;
}

/* Connections of d in use by clients of client address a. */
static unsigned
cl_dest_held(const struct cl_ctx *x, const struct cl_dest *d, uint32_t a)
{
	unsigned n = 0;

	for (unsigned i = 0; i < x->n; i++)
		if (x->clients[i].dest == d && x->clients[i].client == a && x->clients[i].state != CL_FREE)
			n++;
	return n;
}

/* Whether c may take one of d's connections now. */
static bool
cl_dest_admits(const struct cl_ctx *x, const struct cl_dest *d, const struct smtp_client *c)
{
	unsigned limit = x->dest_limit;
	unsigned used = d->in_use + d->promised;        /* a woken waiter's room is its own */

	if (used < limit - limit / 4)
		return true;
	return smtp_client_dest_admits(used, limit, cl_dest_held(x, d, c->client));
}

/* Count c as using a connection to addr:port; false when that next hop has no room for it. */
static bool
cl_dest_take(struct smtp_client *c, uint32_t addr, uint16_t port)
{
	struct cl_ctx *x = cl_ctx(c->w);
	struct cl_dest *d = cl_dest_find(x, addr, port, true);

	if (d == NULL) {                /* more next hops busy than counted (CL_DESTS): not limited */
		c->w->ctr[0][STATS_SMTPC_DEST_UNTRACKED]++;
		return true;
	}
	if (!cl_dest_admits(x, d, c))
		return false;
	d->in_use++;
	c->dest = d;
	return true;
}

/* The first waiter for d that may have the connection freed: it goes on at its timer. */
static void
cl_dest_wake(struct cl_ctx *x, struct cl_dest *d)
{
	for (struct smtp_client *c = x->wait_head; c != NULL; c = c->next)
		if (c->wait_dest == d && !c->woken && cl_dest_admits(x, d, c)) {
			c->woken = true;        /* one freed connection, one waiter: kept for it */
			d->promised++;
			timer_arm(&c->w->timers, &c->timer, 0);
			return;
		}
}

/* c no longer uses a connection of its next hop (closed, idle, failed over). */
static void
cl_dest_drop(struct smtp_client *c)
{
	struct cl_dest *d = c->dest;

	if (d == NULL)
		return;
	c->dest = NULL;
	d->in_use--;
	if (d->waiting != 0)
		cl_dest_wake(cl_ctx(c->w), d);
}

static void
cl_wait_unlink(struct cl_ctx *x, struct smtp_client *c)
{
	if (!c->waitq)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		x->wait_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		x->wait_tail = c->prev;
	c->next = c->prev = NULL;
	c->waitq = false;
	if (c->woken) {                 /* it goes before its turn came: the room is free again */
		c->woken = false;
		c->wait_dest->promised--;
		cl_dest_wake(x, c->wait_dest);
	}
	c->wait_dest->waiting--;
	c->wait_dest = NULL;
}

/* Wait (in order) for a connection of d, at plan position pos; false when the wait is over. */
static bool
cl_wait(struct smtp_client *c, struct cl_dest *d, unsigned pos)
{
	struct worker *w = c->w;
	struct cl_ctx *x = cl_ctx(w);

	if (!c->wait_started) {
		c->wait_started = true;
		c->wait_until = w->now + cl_secs(w, w->cfg->smtp.client.destination_wait);
		if (d != NULL && w->cfg->smtp.client.destination_wait != 0)
			w->ctr[0][STATS_SMTPC_DEST_WAITS]++;
	}
	if (d == NULL || w->cfg->smtp.client.destination_wait == 0 || w->now >= c->wait_until)
		return false;
	c->state = CL_WAITING;
	c->wait_dest = d;
	c->wait_pos = pos;
	d->waiting++;
	c->waitq = true;
	c->next = NULL;
	c->prev = x->wait_tail;
	if (x->wait_tail != NULL)
		x->wait_tail->next = c;
	else
		x->wait_head = c;
	x->wait_tail = c;
	cl_rearm(c);
	return true;
}

/* ---- the slot ---- */

/* The connection is gone or parked: stop its timers and its counts (the slot stays). */
static void
cl_detach(struct smtp_client *c)
{
	struct worker *w = c->w;
	struct cl_ctx *x = cl_ctx(w);

	timer_cancel(&w->timers, &c->timer);
	cl_wait_unlink(x, c);
	cl_dest_drop(c);
}

static void
cl_free(struct smtp_client *c)
{
	struct worker *w = c->w;
	struct cl_ctx *x = cl_ctx(w);

	cl_detach(c);
	timer_cancel(&w->timers, &c->ev_timer);
	cl_idle_unlink(x, c);
	policy_gen_release(c->policy);
	c->policy = NULL;
	c->conn = NULL;
	c->state = CL_FREE;
	c->gen++;
	c->s = NULL;
	c->owner = NULL;
	c->next = x->free;
	x->free = c;
	x->in_use--;
}

/* Reset the connection (a broken one, or one abandoned mid-transaction), if any. */
static void
cl_reset(struct smtp_client *c)
{
	if (c->s == NULL)
		return;
	c->w->ctr[0][STATS_SMTPC_RESETS]++;
	c->s->ctx = NULL;
	stream_abort(c->s);
	c->s = NULL;
	c->tls_up = false;
}

/* Reset the connection (if any) and free the slot; no callback. */
static void
cl_destroy(struct smtp_client *c)
{
	cl_reset(c);
	cl_free(c);
}

/*
 * Close an idle (or closing) connection politely: QUIT unless the next hop
 * already closed, then FIN; the slot goes when the stream closes, or after
 * CL_QUIT_WAIT_S with a reset.
 */
static void
cl_quit(struct smtp_client *c, bool send_quit)
{
	struct cl_ctx *x = cl_ctx(c->w);

	cl_idle_unlink(x, c);
	cl_dest_drop(c);
	if (c->s == NULL) {
		cl_free(c);
		return;
	}
	c->w->ctr[0][STATS_SMTPC_QUIT]++;
	c->state = CL_QUIT;
	c->exp_n = 0;
	if (send_quit && c->w_len + 6 <= sizeof(c->wbuf)) {
		memcpy(c->wbuf + c->w_len, "QUIT\r\n", 6);
		c->w_len += 6;
	}
	if (c->w_len != 0) {
		ssize_t n = stream_write(c->s, c->wbuf, c->w_len);
		(void)n;                /* what did not fit is dropped: FIN follows anyway */
		c->w_len = 0;
	}
	stream_shutdown(c->s);
	timer_arm(&c->w->timers, &c->timer, c->w->now + cl_secs(c->w, CL_QUIT_WAIT_S));
}

/* ---- delivery to the owner (the only place ops->reply / ops->failed are called) ---- */

static void
cl_arm_delivery(struct smtp_client *c)
{
	if (!timer_pending(&c->ev_timer))
		timer_arm(&c->w->timers, &c->ev_timer, 0);     /* due: the next timer run */
}

/* Keep r for the owner (cmd); delivered in order by cl_deliver. */
static void
cl_post(struct smtp_client *c, uint8_t cmd, const struct smtp_reply *r)
{
	if (c->owner == NULL || c->ev_n == CL_EXPECT)  /* full: cannot happen, one per queued command */
		return;
	struct cl_event *e = &c->ev[(c->ev_head + c->ev_n++) % CL_EXPECT];

	e->kind = cmd;
	e->code = (uint16_t)r->code;
	e->has_enhanced = r->has_enhanced;
	for (unsigned i = 0; i < 3; i++)
		e->enh[i] = (uint16_t)RTE_MIN(r->enh[i], 999u);
	e->text_len = (uint16_t)RTE_MIN(r->text_len, sizeof(e->text) - 1);
	memcpy(e->text, r->text, e->text_len);
	e->text[e->text_len] = '\0';
	cl_arm_delivery(c);
}

static void
cl_event_reply(const struct cl_event *e, struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->done = true;
	r->code = e->code;
	r->n_lines = 1;
	r->has_enhanced = e->has_enhanced;
	for (unsigned i = 0; i < 3; i++)
		r->enh[i] = e->enh[i];
	r->text_len = e->text_len;
	memcpy(r->text, e->text, e->text_len + 1u);
}

static void cl_release_now(struct smtp_client *c, bool clean);

/*
 * The safe point (a timer callback, outside every client and owner call):
 * the replies in order, then the failure if the client is dead. A release
 * from inside a callback that would free the slot happens after it returns.
 */
static void
cl_deliver(struct timer *t, void *arg)
{
	struct smtp_client *c = arg;
	struct smtp_reply r;

	(void)t;
	c->delivering = true;
	while (c->ev_n != 0 && c->owner != NULL && c->release == CL_REL_NONE) {
		struct cl_event e = c->ev[c->ev_head];
		c->ev_head = (c->ev_head + 1) % CL_EXPECT;
		c->ev_n--;
		cl_event_reply(&e, &r);
		c->ops->reply(c->owner, (enum smtp_client_cmd)e.kind, &r);
	}
	if (c->want_writable && c->state == CL_STREAM && c->owner != NULL && c->release == CL_REL_NONE) {
		c->want_writable = false;
		if (c->ops->writable != NULL)
			c->ops->writable(c->owner);
	}
	if (c->state == CL_DEAD && c->owner != NULL && c->release == CL_REL_NONE) {
		const struct smtp_client_ops *ops = c->ops;
		void *owner = c->owner;
		c->owner = NULL;
		c->ops = NULL;
		if (ops->failed != NULL)
			ops->failed(owner, c->fail_why, c->peer);
	}
	c->delivering = false;
	uint8_t rel = c->release;
	c->release = CL_REL_NONE;
	if (c->state == CL_DEAD && c->owner == NULL)
		cl_free(c);
	else if (rel != CL_REL_NONE)
		cl_release_now(c, false);
}

/* ---- next hops that recently failed ---- */

static bool
cl_hop_down(struct worker *w, uint32_t addr, uint16_t port)
{
	struct cl_ctx *x = cl_ctx(w);

	for (unsigned i = 0; i < CL_DOWN_SLOTS; i++)
		if (x->down[i].addr == addr && x->down[i].port == port && x->down[i].until > w->now)
			return true;
	return false;
}

static void
cl_mark_down(struct worker *w, uint32_t addr, uint16_t port, bool down)
{
	struct cl_ctx *x = cl_ctx(w);
	unsigned retry = w->cfg->smtp.client.retry_after;

	for (unsigned i = 0; i < CL_DOWN_SLOTS; i++)
		if (x->down[i].addr == addr && x->down[i].port == port) {
			x->down[i].until = down ? w->now + cl_secs(w, retry) : 0;
			return;
		}
	if (!down || retry == 0)
		return;
	x->down[x->down_next] = (struct cl_down){ addr, port, w->now + cl_secs(w, retry) };
	x->down_next = (x->down_next + 1) % CL_DOWN_SLOTS;
}

/* The order to try r's hops: by priority, equal priorities rotated, hops marked down last. */
static void
cl_plan(struct smtp_client *c, const struct cfg_route *r)
{
	struct cl_ctx *x = cl_ctx(c->w);
	uint8_t all[CFG_MAX_NEXT_HOPS];
	unsigned n = 0, rot = x->rr++;

	for (unsigned i = 0; i < r->n_hops;) {
		unsigned j = i;
		while (j < r->n_hops && r->hops[j].priority == r->hops[i].priority)
			j++;
		for (unsigned k = 0; k < j - i; k++)
			all[n++] = (uint8_t)(i + (k + rot) % (j - i));
		i = j;
	}
	c->n_order = 0;
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < n; i++) {
			const struct cfg_next_hop *h = &r->hops[all[i]];
			if (cl_hop_down(c->w, h->addr, h->port) == (pass == 1))
				c->order[c->n_order++] = all[i];
		}
	c->pos = 0;
}

/* ---- timers ---- */

static unsigned
cl_timeout_of(const struct smtp_client *c, uint8_t kind)
{
	const struct cfg_smtp_timeouts *t = &c->w->cfg->smtp.timeouts;

	switch (kind) {
	case CL_K_MAIL: case CL_K_RSET: return t->mail;
	case CL_K_RCPT: return t->rcpt;
	case CL_K_DATA: return t->data_init;
	case CL_K_EOD: return t->data_end;
	case CL_K_QUIT: return CL_QUIT_WAIT_S;
	default: return t->greeting;
	}
}

/*
 * Whether c holds a transaction open for its owner between commands (MAIL
 * went out, no DATA yet): it may do so for smtp.timeouts.data_hold from
 * MAIL, however the owner spaces its RCPTs.
 */
static bool
cl_txn_open(const struct smtp_client *c)
{
	return c->state == CL_READY && c->owner != NULL && c->dirty && c->exp_n == 0 && !c->idle;
}

/* Arm the timer for what we wait on now (a reply, a blocked write, idleness, a held transaction). */
static void
cl_rearm(struct smtp_client *c)
{
	struct worker *w = c->w;
	unsigned secs;

	if (c->state == CL_QUIT)
		return;                 /* its bound was set once, by cl_quit */
	if (c->state == CL_WAITING) {
		timer_arm(&w->timers, &c->timer, c->wait_until);
		return;
	}
	if (c->state == CL_DEAD || c->state == CL_FREE) {
		timer_cancel(&w->timers, &c->timer);
		return;
	}
	if (c->state == CL_CONNECTING)
		secs = w->cfg->smtp.timeouts.connect;
	else if (c->state == CL_TLS)
		secs = w->cfg->smtp.timeouts.greeting;
	else if (c->exp_n != 0)
		secs = cl_timeout_of(c, c->exp[c->exp_head].kind);
	else if (c->state == CL_STREAM && c->data_blocked)
		secs = w->cfg->smtp.timeouts.data_block;
	else if (c->state == CL_STREAM)
		secs = w->cfg->smtp.timeouts.data_hold;
	else if (c->idle)
		secs = w->cfg->smtp.client.cache_idle_timeout;
	else if (cl_txn_open(c)) {
		timer_arm(&w->timers, &c->timer, c->txn_start + cl_secs(w, w->cfg->smtp.timeouts.data_hold));
		return;
	} else {
		timer_cancel(&w->timers, &c->timer);
		return;
	}
	timer_arm(&w->timers, &c->timer, w->now + cl_secs(w, secs));
}

static void cl_fail(struct smtp_client *c, enum smtp_client_fail why);
static struct smtp_client *cl_cache_take(struct worker *w, const struct cfg_route *r,
					 const struct cfg_connector_out *conn, uint32_t client);

/*
 * Waiter c takes over idle connection i (out of the cache, counted): the
 * stream and everything known about the next hop move into c, i's slot goes.
 */
static void
cl_adopt(struct smtp_client *c, struct smtp_client *i)
{
	c->s = i->s;
	c->s->ctx = c;
	i->s = NULL;
	c->dest = i->dest;
	i->dest = NULL;
	c->state = i->state;
	c->addr = i->addr;
	c->port = i->port;
	memcpy(c->peer, i->peer, sizeof(c->peer));
	memcpy(c->peer_ip, i->peer_ip, sizeof(c->peer_ip));
	c->ext = i->ext;
	c->ext_size = i->ext_size;
	c->messages = i->messages;
	c->dirty = i->dirty;
	c->no_reuse = i->no_reuse;
	c->tls_up = i->tls_up;
	c->no_tls = i->no_tls;
	c->early = i->early;
	c->reused = true;
	memcpy(c->wbuf, i->wbuf, i->w_len);
	c->w_len = i->w_len;
	c->w_put = i->w_put;
	c->w_out = i->w_out;
	memcpy(c->exp, i->exp, sizeof(c->exp));
	c->exp_head = i->exp_head;
	c->exp_n = i->exp_n;
	c->reply = i->reply;
	cl_free(i);
	cl_rearm(c);
	cl_send(c);
}

/* CL_WAITING: woken (a connection of the next hop freed) or the wait is over. */
static void
cl_wait_fired(struct smtp_client *c)
{
	struct cl_ctx *x = cl_ctx(c->w);
	struct cl_dest *d = c->wait_dest;

	if (c->woken) {                 /* its turn: the room kept for it is now its to take */
		c->woken = false;
		d->promised--;
	}
	if (!cl_dest_admits(x, d, c) && c->w->now < c->wait_until) {
		cl_rearm(c);
		return;
	}
	cl_wait_unlink(x, c);
	struct smtp_client *idle = cl_cache_take(c->w, c->route, c->conn, c->client);
	if (idle != NULL) {             /* e.g. the one whose release woke us */
		cl_adopt(c, idle);
		return;
	}
	c->pos = c->wait_pos;
	cl_try_next(c, SMTP_CL_F_BUSY);         /* takes the room, waits again, or fails */
}

/* CL_STREAM: the owner passed no message data for smtp.timeouts.data_hold: let the next hop go. */
static void
cl_hold_fired(struct smtp_client *c)
{
	struct worker *w = c->w;
	uint64_t p = c->owner != NULL && c->ops->progress != NULL ? c->ops->progress(c->owner) : c->hold_mark;

	if (p != c->hold_mark) {
		c->hold_mark = p;
		cl_rearm(c);
		return;
	}
	w->ctr[0][STATS_SMTPC_DATA_HOLD]++;
	WORKER_LOG(w, CFG_LOG_INFO, "smtp client: next hop %s: no message data from the client for %u s "
		   "(smtp.timeouts.data_hold): connection released", c->peer, w->cfg->smtp.timeouts.data_hold);
	cl_fail(c, SMTP_CL_F_HOLD);
}

/* A transaction held open from MAIL for smtp.timeouts.data_hold without reaching DATA: let it go. */
static void
cl_txn_hold_fired(struct smtp_client *c)
{
	struct worker *w = c->w;

	w->ctr[0][STATS_SMTPC_TXN_HOLD]++;
	WORKER_LOG_RL(w, WORKER_RL_CLIENT_TIMEOUT, CFG_LOG_INFO, "smtp client: next hop %s: transaction open "
		      "for %u s without DATA (smtp.timeouts.data_hold): connection released", c->peer,
		      w->cfg->smtp.timeouts.data_hold);
	cl_fail(c, SMTP_CL_F_HOLD);
}

static void
cl_timer_fired(struct timer *t, void *arg)
{
	struct smtp_client *c = arg;
	struct worker *w = c->w;

	(void)t;
	if (c->state == CL_QUIT) {      /* the next hop did not close after QUIT: now a reset */
		w->ctr[0][STATS_SMTPC_QUIT_TIMEOUTS]++;
		cl_destroy(c);
		return;
	}
	if (c->idle) {
		w->ctr[0][STATS_SMTPC_CACHE_EXPIRED]++;
		cl_quit(c, true);
		return;
	}
	if (c->state == CL_WAITING) {
		cl_wait_fired(c);
		return;
	}
	if (c->state == CL_STREAM && !c->data_blocked && c->exp_n == 0) {
		cl_hold_fired(c);
		return;
	}
	if (cl_txn_open(c)) {
		cl_txn_hold_fired(c);
		return;
	}
	w->ctr[0][STATS_SMTPC_TIMEOUTS]++;
	WORKER_LOG_RL(w, WORKER_RL_CLIENT_TIMEOUT, CFG_LOG_INFO, "smtp client: next hop %s: timeout (%s)", c->peer,
		   c->state == CL_CONNECTING ? "connect" : c->state < CL_READY ? "greeting" : "reply");
	if (c->state < CL_READY)
		cl_try_next(c, SMTP_CL_F_TIMEOUT);
	else
		cl_fail(c, SMTP_CL_F_TIMEOUT);
}

/* ---- failure ---- */

/*
 * The owner's transaction is over because of why: the connection goes at
 * once (reset), the owner hears it once from cl_deliver, after the replies
 * before it (none after a protocol error: a desynchronised next hop's
 * replies are not its). No owner: the slot goes now.
 */
static void
cl_fail(struct smtp_client *c, enum smtp_client_fail why)
{
	struct cl_ctx *x = cl_ctx(c->w);

	if (c->state == CL_DEAD)
		return;
	if (why == SMTP_CL_F_LOST)
		c->w->ctr[0][STATS_SMTPC_LOST]++;
	else if (why == SMTP_CL_F_PROTOCOL)
		c->w->ctr[0][STATS_SMTPC_PROTOCOL]++;
	else if (why == SMTP_CL_F_BUSY)
		c->w->ctr[0][STATS_SMTPC_DEST_DEFERRED]++;
	if (c->owner == NULL) {
		x->open_fail = why;
		cl_destroy(c);
		return;
	}
	if (why == SMTP_CL_F_PROTOCOL)
		c->ev_n = 0;
	cl_reset(c);
	cl_detach(c);
	c->state = CL_DEAD;
	c->fail_why = why;
	c->q_n = 0;
	c->exp_n = 0;
	c->w_len = 0;
	cl_arm_delivery(c);
}

/* A reply the stage does not allow, or data before a reply was due: fail over (greeting) or fail. */
static void
cl_protocol(struct smtp_client *c)
{
	if (c->state < CL_READY) {
		c->w->ctr[0][STATS_SMTPC_PROTOCOL]++;
		cl_try_next(c, SMTP_CL_F_PROTOCOL);
	} else {
		cl_fail(c, SMTP_CL_F_PROTOCOL);
	}
}

/* Connect to the next hop in the plan; when none is left, fail with why. */
static void
cl_try_next(struct smtp_client *c, enum smtp_client_fail why)
{
	struct worker *w = c->w;

	struct cl_dest *full = NULL;
	unsigned full_pos = 0;

	if (c->s != NULL) {
		cl_reset(c);
		w->ctr[0][STATS_SMTPC_CONNECT_FAILED]++;
		cl_mark_down(w, c->addr, c->port, true);
	}
	cl_dest_drop(c);
	c->state = CL_CONNECTING;
	while (c->pos < c->n_order) {
		unsigned at = c->pos;
		const struct cfg_next_hop *h = &c->route->hops[c->order[c->pos++]];
		if (!cl_dest_take(c, h->addr, h->port)) {
			if (full == NULL) {
				full = cl_dest_find(cl_ctx(w), h->addr, h->port, false);
				full_pos = at;
			}
			continue;
		}
		if (c->pos > 1 && why != SMTP_CL_F_BUSY)
			w->ctr[0][STATS_SMTPC_FAILOVERS]++;
		c->addr = h->addr;
		c->port = h->port;
		snprintf(c->peer_ip, sizeof(c->peer_ip), "%u.%u.%u.%u", h->addr >> 24, (h->addr >> 16) & 255,
			 (h->addr >> 8) & 255, h->addr & 255);
		snprintf(c->peer, sizeof(c->peer), "%s:%u", c->peer_ip, h->port);
		c->tls_up = false;
		c->exp_n = 0;
		c->w_len = 0;
		c->w_out = c->w_put;
		c->early = false;
		c->ext = 0;
		c->ext_size = 0;
		c->s = tcp_connect(w, h->addr, h->port, &cl_stream_ops, c);
		if (c->s == NULL) {
			w->ctr[0][STATS_SMTPC_CONNECT_FAILED]++;
			cl_dest_drop(c);
			continue;
		}
		w->ctr[0][STATS_SMTPC_CONNECTS]++;
		c->state = CL_CONNECTING;
		cl_rearm(c);
		return;
	}
	if (full != NULL && cl_wait(c, full, full_pos))
		return;
	cl_fail(c, full != NULL ? SMTP_CL_F_BUSY : why);
}

/* ---- sending ---- */

/* Expect a reply to what was put last (due once the stream has taken it). */
static void
cl_expect(struct smtp_client *c, uint8_t kind)
{
	if (c->exp_n == CL_EXPECT) {            /* cannot happen: the queue is smaller */
		cl_fail(c, SMTP_CL_F_PROTOCOL);
		return;
	}
	c->exp[(c->exp_head + c->exp_n) % CL_EXPECT] = (struct cl_exp){ kind, c->w_put };
	if (c->exp_n++ == 0)
		cl_rearm(c);
}

/* Whether the reply expected first is due: its command went out before what is read now. */
static bool
cl_head_due(const struct smtp_client *c)
{
	return c->exp_n != 0 && (int32_t)(c->exp[c->exp_head].end - c->w_out) <= 0;
}

/*
 * Whether a reply to the end of data would come before the next hop has
 * every byte of the message: ours not all acknowledged yet (a next hop that
 * says 250 to data it never received). Nothing else is sent after the end
 * of data, so all of it must be acknowledged when the reply comes.
 */
static bool
cl_eod_unacked(const struct smtp_client *c, const struct stream *s)
{
	return c->exp_n != 0 && c->exp[c->exp_head].kind == CL_K_EOD && stream_unacked(s) != 0;
}

/*
 * Write what wbuf holds; the rest waits for writable. Not while a read is
 * being parsed (what was read cannot answer what is sent after it). Reply
 * bytes still unread when a command goes out with no reply due came before
 * their command: marked, and failed at the next read.
 */
static void
cl_flush(struct smtp_client *c)
{
	if (c->w_len == 0 || c->s == NULL || c->reading)
		return;
	if (!c->tls_up && !cl_head_due(c) && stream_read_avail(c->s) != 0)
		c->early = true;
	ssize_t n = stream_write(c->s, c->wbuf, c->w_len);
	if (n <= 0)
		return;
	memmove(c->wbuf, c->wbuf + n, c->w_len - (size_t)n);
	c->w_len -= (size_t)n;
	c->w_out += (uint32_t)n;
}

/* Put a formatted line into wbuf and expect its reply. */
static void
cl_put(struct smtp_client *c, uint8_t kind, const char *p, size_t n)
{
	if (c->w_len + n > sizeof(c->wbuf)) {   /* cannot happen: lines are short, queue bounded */
		cl_fail(c, SMTP_CL_F_PROTOCOL);
		return;
	}
	memcpy(c->wbuf + c->w_len, p, n);
	c->w_len += n;
	c->w_put += (uint32_t)n;
	cl_expect(c, kind);
}

static size_t
cl_mail_line(const struct smtp_client *c, char *buf, size_t len)
{
	int n = snprintf(buf, len, "MAIL FROM:<%.*s>", (int)c->from_len, c->from);

	if ((c->ext & SMTP_EXT_SIZE) && c->size != 0)
		n += snprintf(buf + n, len - (size_t)n, " SIZE=%" PRIu64, c->size);
	if ((c->ext & SMTP_EXT_8BITMIME) && c->body == SMTP_BODY_8BITMIME)
		n += snprintf(buf + n, len - (size_t)n, " BODY=8BITMIME");
	if (c->smtputf8)
		n += snprintf(buf + n, len - (size_t)n, " SMTPUTF8");
	n += snprintf(buf + n, len - (size_t)n, "\r\n");
	return (size_t)n;
}

/* A reply made up here (the next hop cannot take the message): as if it had said it. */
static void
cl_synth(struct smtp_client *c, enum smtp_client_cmd cmd, unsigned code, const char *text)
{
	struct smtp_reply r;

	memset(&r, 0, sizeof(r));
	r.code = code;
	r.n_lines = 1;
	r.has_enhanced = true;
	sscanf(text, "%u.%u.%u", &r.enh[0], &r.enh[1], &r.enh[2]);
	const char *sp = strchr(text, ' ');
	snprintf(r.text, sizeof(r.text), "%s", sp ? sp + 1 : text);
	r.text_len = strlen(r.text);
	cl_post(c, cmd, &r);
}

/*
 * Whether MAIL can go to this next hop at all; if not, it is answered here
 * as the next hop would (Postfix: 552 5.3.4 for SIZE, 553 5.6.7 for
 * SMTPUTF8) and never sent, nor are the RCPTs and DATA after it.
 */
static bool
cl_mail_possible(struct smtp_client *c)
{
	const char *why = NULL;
	unsigned code = 0;

	if (c->smtputf8 && !(c->ext & SMTP_EXT_SMTPUTF8)) {
		code = 553;
		why = "5.6.7 The next hop does not support SMTPUTF8";
	} else if ((c->ext & SMTP_EXT_SIZE) && c->ext_size != 0 && c->size > c->ext_size) {
		code = 552;
		why = "5.3.4 Message size exceeds the next hop's limit";
	}
	if (why == NULL)
		return true;
	WORKER_LOG(c->w, CFG_LOG_INFO, "smtp client: next hop %s: MAIL not sent: %u %s", c->peer, code, why);
	cl_synth(c, SMTP_CL_MAIL, code, why);
	return false;
}

/* Move queued lines to the wire: all of them with PIPELINING, else one per reply. */
static void
cl_send(struct smtp_client *c)
{
	while (c->q_n != 0 && c->state == CL_READY && c->s != NULL) {
		if (!(c->ext & SMTP_EXT_PIPELINING) && c->exp_n != 0)
			break;
		struct cl_line l = c->q[0];
		c->q_n--;
		memmove(&c->q[0], &c->q[1], c->q_n * sizeof(c->q[0]));
		if (l.kind == CL_K_MAIL) {
			c->txn_refused = !cl_mail_possible(c);
			if (c->txn_refused)
				continue;
			char line[SMTP_PATH_MAX + 96];
			cl_put(c, CL_K_MAIL, line, cl_mail_line(c, line, sizeof(line)));
			c->dirty = true;
			c->txn_start = c->w->now;
		} else if (c->txn_refused) {    /* the sender was refused here: nothing of it goes out */
			cl_synth(c, (enum smtp_client_cmd)l.kind, 503, "5.5.1 Sender was refused");
			continue;
		} else {
			cl_put(c, l.kind, c->qbuf + l.off, l.len);
		}
		if (l.kind == CL_K_DATA)
			break;
	}
	if (c->q_n == 0)
		c->q_used = 0;
	cl_flush(c);
}

static void
cl_queue(struct smtp_client *c, uint8_t kind, const char *p, size_t n)
{
	if (c->state == CL_DEAD)                /* failed: the owner hears it next */
		return;
	if (c->q_n == CL_QUEUE || c->q_used + n > sizeof(c->qbuf)) {
		cl_fail(c, SMTP_CL_F_PROTOCOL);         /* the owner queued too much: a bug */
		return;
	}
	memcpy(c->qbuf + c->q_used, p, n);
	c->q[c->q_n++] = (struct cl_line){ kind, (uint16_t)c->q_used, (uint16_t)n };
	c->q_used += n;
	cl_send(c);
}

/* ---- replies ---- */

static void
cl_ready(struct smtp_client *c, unsigned ext, uint64_t size)
{
	if (!c->tls_up)
		tls_report_session(c->w->tls_report, c->addr, true, NULL, NULL);
	c->ext = ext;
	c->ext_size = size;
	c->state = CL_READY;
	cl_mark_down(c->w, c->addr, c->port, false);
	cl_rearm(c);
	cl_send(c);
}

/* A route's TLS level (enum cfg_tls_level). */
static int
cl_route_level(const struct worker *w, const struct cfg_route *r)
{
	return r->tls_level < 0 ? (int)w->cfg->tls.client_level : r->tls_level;
}

/* The TLS level of the route c was opened for, or of its outbound connector. */
static int
cl_level(const struct smtp_client *c)
{
	return cl_route_level(c->w, c->conn != NULL ? &c->conn->route : c->route);
}

/*
 * An outbound connector's own checks once TLS is up: the server's key among
 * its pins (a mismatch fails like a wrong name) and its minimum version. A
 * report_only connector logs and goes on. False when c moved on.
 */
static bool
cl_conn_accepts(struct smtp_client *c, const struct tls_info *ti)
{
	const struct cfg_connector_out *co = c->conn;
	const char *why = NULL;
	bool pinned = co->n_pins == 0;

	for (unsigned i = 0; i < co->n_pins && !pinned; i++)
		pinned = ti->peer_cert && memcmp(co->pins[i], ti->peer_spki, CFG_SPKI_PIN_LEN) == 0;
	if (!pinned)
		why = "the server's key matches none of the connector's pins";
	else if (co->min_tls_version != 0 && connector_tls_version(ti->version) < co->min_tls_version)
		why = "the TLS version is below the connector's minimum";
	if (why == NULL)
		return true;
	WORKER_LOG(c->w, CFG_LOG_WARNING, "smtp client: next hop %s: connector \"%s\"%s: %s", c->peer, co->name,
		   co->mode == CFG_CONNECTOR_REPORT_ONLY ? " would refuse (report_only)" : "", why);
	if (co->mode == CFG_CONNECTOR_REPORT_ONLY)
		return true;
	c->w->ctr[0][STATS_SMTPC_TLS_VERIFY_FAILED]++;
	cl_try_next(c, SMTP_CL_F_TLS_VERIFY);
	return false;
}

/*
 * Whether c may go on in plaintext (or unverified) where its level wants
 * more: level "may", or a report_only outbound connector, which only logs
 * what it would have refused.
 */
static bool
cl_lenient(const struct smtp_client *c, const char *what)
{
	if (cl_level(c) == CFG_TLS_MAY)
		return true;
	if (c->conn == NULL || c->conn->mode != CFG_CONNECTOR_REPORT_ONLY)
		return false;
	WORKER_LOG(c->w, CFG_LOG_WARNING, "smtp client: next hop %s: connector \"%s\" would refuse "
		   "(report_only): %s", c->peer, c->conn->name, what);
	return true;
}

/* After EHLO: STARTTLS, plaintext (level may or none), or on to the next hop. False if c is gone. */
static bool
cl_after_ehlo(struct smtp_client *c, unsigned ext, uint64_t size)
{
	int level = cl_level(c);

	if (c->tls_up || level == CFG_TLS_NONE || c->no_tls) {
		cl_ready(c, ext, size);
		return true;
	}
	c->ehlo_ext = ext;
	c->ehlo_size = size;
	if (ext & SMTP_EXT_STARTTLS) {
		c->state = CL_STARTTLS;
		cl_put(c, CL_K_STARTTLS, "STARTTLS\r\n", 10);
		cl_flush(c);
		return true;
	}
	c->w->ctr[0][STATS_SMTPC_TLS_NOT_OFFERED]++;
	if (cl_lenient(c, "TLS is required, but was not offered")) {
		WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_STARTTLS, CFG_LOG_INFO, "smtp client: next hop %s offers no STARTTLS; plaintext "
			   "(level may)", c->peer);
		cl_ready(c, ext, size);
		return true;
	}
	WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_STARTTLS, CFG_LOG_WARNING, "smtp client: TLS is required, but was not offered by host %s",
		   c->peer);
	cl_try_next(c, SMTP_CL_F_TLS_NOT_OFFERED);
	return false;
}

/*
 * The key under which a next hop's TLS session is kept for resumption: the
 * next hop, the level, the names checked and the certificate generation,
 * so that a resumed session only stands in for a full handshake that
 * checked the same things.
 */
static const char *
cl_session_key(const struct smtp_client *c, int level, const char *const *names, unsigned n, char *buf,
	       size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;     /* FNV-1a over the names */

	for (unsigned i = 0; i < n; i++)
		for (const char *p = names[i]; ; p++) {
			h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
			if (*p == '\0')
				break;
		}
	snprintf(buf, len, "%s/%d/%016" PRIx64 "/%" PRIu64, c->peer, level, h, c->w->gw->tls_generation);
	return buf;
}

/* The 220 to STARTTLS came: the handshake starts on the same connection. False if c is gone. */
static bool
cl_tls_begin(struct smtp_client *c)
{
	struct worker *w = c->w;
	const struct cfg_route *r = c->route;
	int level = cl_level(c);
	const char *names[CFG_MAX_NEXT_HOPS + 64];
	char skey[96];
	struct tls_client_opts o = { .verify = level >= CFG_TLS_VERIFY };
	unsigned n = 0;

	if (c->conn != NULL && level == CFG_TLS_SECURE) {        /* domain_validation: tls_domain */
		for (unsigned i = 0; i < c->conn->route.n_tls_names && n < RTE_DIM(names); i++)
			names[n++] = c->conn->route.tls_names[i];
	} else if (level == CFG_TLS_SECURE) {
		for (unsigned i = 0; i < r->n_tls_names && n < RTE_DIM(names); i++)
			names[n++] = r->tls_names[i];
	} else {
		for (unsigned i = 0; i < r->n_domains && n + 1 < RTE_DIM(names); i++)
			if (r->domains[i][0] != '*')
				names[n++] = r->domains[i];
		names[n++] = c->peer_ip;
	}
	o.names = names;
	o.n_names = n;
	o.sni = n != 0 && names[0] != c->peer_ip ? names[0] : NULL;
	o.session_key = cl_session_key(c, level, names, n, skey, sizeof(skey));
	struct stream *t = tls_client_start(w, gw_tls(w->gw), c->s, &cl_stream_ops, c, &o);
	if (t == NULL) {
		cl_try_next(c, SMTP_CL_F_TLS_HANDSHAKE);
		return false;
	}
	c->s = t;
	c->state = CL_TLS;
	cl_rearm(c);
	return true;
}

/* The handshake is done: apply the level (chain, name), then EHLO again. */
static void
cl_tls_up(struct smtp_client *c)
{
	const struct tls_info *ti = tls_stream_info(c->s);
	int level = cl_level(c);
	char line[CFG_HOSTNAME_LEN + 16];

	if (ti == NULL)
		return;
	if (level >= CFG_TLS_VERIFY && (!ti->peer_verified || (level != CFG_TLS_CHAIN && !ti->name_ok)) &&
	    !cl_lenient(c, !ti->peer_verified ? "server certificate not verified" : "name does not match")) {
		c->w->ctr[0][STATS_SMTPC_TLS_VERIFY_FAILED]++;
		WORKER_LOG(c->w, CFG_LOG_WARNING, "smtp client: next hop %s: server certificate not verified "
			   "(%s)", c->peer, !ti->peer_cert ? "no certificate" : !ti->peer_verified ?
			   ti->verify_text : "name does not match");
		cl_try_next(c, SMTP_CL_F_TLS_VERIFY);
		return;
	}
	if (c->conn != NULL && !cl_conn_accepts(c, ti))
		return;
	c->tls_up = true;
	c->w->ctr[0][STATS_SMTPC_TLS]++;
	if (ti->resumed)
		c->w->ctr[0][STATS_SMTPC_TLS_RESUMED]++;
	tls_report_session(c->w->tls_report, c->addr, true, ti->version, ti->cipher);
	WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_TLS_UP, CFG_LOG_INFO, "smtp client: next hop %s: TLS established: %s with cipher %s "
		   "(%d/%d bits)%s, certificate %s", c->peer, ti->version, ti->cipher, ti->bits, ti->bits,
		   ti->resumed ? ", resumed" : "", ti->peer_verified ? (ti->name_ok ? "verified" : "chain verified, name not matched") :
		   "not verified");
	c->state = CL_EHLO;
	smtp_reply_init(&c->reply, 0, 0, true);
	cl_put(c, CL_K_EHLO, line, (size_t)snprintf(line, sizeof(line), "EHLO %s\r\n",
						     c->w->cfg->smtp.client.helo_name));
	cl_flush(c);
}

/* A reply to our own greeting/EHLO/HELO/RSET/QUIT. Returns false if c is gone. */
static bool
cl_reply_own(struct smtp_client *c, uint8_t kind, const struct smtp_reply *r)
{
	static const char ehlo_fmt[] = "EHLO %s\r\n";
	char line[CFG_HOSTNAME_LEN + 16];
	const char *name = c->w->cfg->smtp.client.helo_name;

	switch (kind) {
	case CL_K_GREETING:
		if (r->code / 100 != 2)
			break;
		c->state = CL_EHLO;
		cl_put(c, CL_K_EHLO, line, (size_t)snprintf(line, sizeof(line), ehlo_fmt, name));
		cl_flush(c);
		return true;
	case CL_K_EHLO:
		if (r->code / 100 == 2)
			return cl_after_ehlo(c, r->ehlo, r->ehlo_size);
		if (r->code / 100 != 5)
			break;
		c->state = CL_HELO;
		cl_put(c, CL_K_HELO, line, (size_t)snprintf(line, sizeof(line), "HELO %s\r\n", name));
		cl_flush(c);
		return true;
	case CL_K_HELO:
		if (r->code / 100 != 2)
			break;
		cl_ready(c, 0, 0);
		return true;
	case CL_K_STARTTLS:
		if (r->code == 220)
			return cl_tls_begin(c);
		if (cl_lenient(c, "the next hop refused STARTTLS")) {
			WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_STARTTLS, CFG_LOG_INFO, "smtp client: next hop %s refused STARTTLS (%u); "
				   "going on in plaintext (level may)", c->peer, r->code);
			cl_ready(c, c->ehlo_ext, c->ehlo_size);
			return true;
		}
		cl_try_next(c, SMTP_CL_F_TLS_NOT_OFFERED);
		return false;
	case CL_K_RSET:
		if (r->code / 100 == 2)
			return true;
		if (c->owner == NULL)   /* a next hop that cannot reset is not reused */
			cl_quit(c, true);
		else
			cl_fail(c, SMTP_CL_F_LOST);     /* a stale cached one: the owner tries a new one */
		return false;
	default:                        /* QUIT */
		return true;
	}
	WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_REFUSED, CFG_LOG_INFO, "smtp client: next hop %s refused the session: %u %.*s",
		   c->peer, r->code, (int)r->text_len, r->text);
	cl_try_next(c, SMTP_CL_F_REFUSED);
	return false;
}

/* The stage a reply to kind belongs to. */
static enum smtp_client_stage
cl_stage(uint8_t kind)
{
	switch (kind) {
	case CL_K_GREETING: return SMTP_CL_STAGE_GREETING;
	case CL_K_STARTTLS: return SMTP_CL_STAGE_STARTTLS;
	case CL_K_DATA: return SMTP_CL_STAGE_DATA;
	case CL_K_EOD: return SMTP_CL_STAGE_EOD;
	case CL_K_QUIT: return SMTP_CL_STAGE_QUIT;
	default: return SMTP_CL_STAGE_COMMAND;
	}
}

bool
smtp_client_code_fits(enum smtp_client_stage stage, unsigned code)
{
	unsigned cls = code / 100;

	if (code < 100 || code > 599)
		return false;
	switch (stage) {
	case SMTP_CL_STAGE_GREETING:
	case SMTP_CL_STAGE_STARTTLS:
		return code == 220 || cls == 4 || cls == 5;
	case SMTP_CL_STAGE_DATA:
		return code == 354 || cls == 4 || cls == 5;
	case SMTP_CL_STAGE_QUIT:
		return true;
	default:
		return cls == 2 || cls == 4 || cls == 5;
	}
}

static const char *
cl_kind_name(uint8_t kind)
{
	static const char *const names[] = {
		[CL_K_MAIL] = "MAIL", [CL_K_RCPT] = "RCPT", [CL_K_DATA] = "DATA", [CL_K_EOD] = "end of data",
		[CL_K_GREETING] = "the greeting", [CL_K_EHLO] = "EHLO", [CL_K_HELO] = "HELO", [CL_K_RSET] = "RSET",
		[CL_K_QUIT] = "QUIT", [CL_K_STARTTLS] = "STARTTLS",
	};
	return kind < RTE_DIM(names) && names[kind] ? names[kind] : "?";
}

/* One whole reply arrived (it was due). Returns false if c is gone (or no longer reads). */
static bool
cl_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	uint8_t kind = c->exp[c->exp_head].kind;

	if (!smtp_client_code_fits(cl_stage(kind), r->code)) {
		c->w->ctr[0][STATS_SMTPC_REPLY_OUT_OF_STAGE]++;
		WORKER_LOG(c->w, CFG_LOG_WARNING, "smtp client: next hop %s: protocol error: %u in reply to %s "
			   "(not a reply that stage allows); connection closed", c->peer, r->code, cl_kind_name(kind));
		cl_protocol(c);
		return false;
	}
	if (r->code == 421)
		c->no_reuse = true;
	c->exp_head = (c->exp_head + 1) % CL_EXPECT;
	c->exp_n--;
	cl_rearm(c);
	if (kind >= CL_K_GREETING)
		return cl_reply_own(c, kind, r);
	if (kind == CL_K_DATA && r->code == 354) {
		c->state = CL_STREAM;
		c->data_blocked = false;
		c->hold_mark = c->owner != NULL && c->ops->progress != NULL ? c->ops->progress(c->owner) : 0;
		cl_rearm(c);
	}
	if (kind == CL_K_EOD || (kind == CL_K_DATA && r->code != 354)) {
		c->state = CL_READY;
		c->dirty = kind != CL_K_EOD;
		if (kind == CL_K_EOD)
			c->messages++;
	}
	cl_post(c, kind, r);
	uint32_t gen = c->gen;
	cl_send(c);
	return c->gen == gen && c->state != CL_DEAD;
}

/* The next hop sent FIN (all its replies read): the connection is of no more use. */
static void
cl_peer_closed(struct smtp_client *c)
{
	if (c->state == CL_QUIT)        /* both sides closing: the stream's close frees the slot */
		return;
	if (c->idle || c->owner == NULL) {
		cl_quit(c, false);      /* FIN back, no reset */
		return;
	}
	WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_CLOSED, CFG_LOG_INFO, "smtp client: next hop %s closed the connection", c->peer);
	if (c->state < CL_READY)
		cl_try_next(c, SMTP_CL_F_REFUSED);
	else
		cl_fail(c, SMTP_CL_F_LOST);
}

/*
 * Reply data when none was due (n bytes at p): extra replies, a reply
 * before its command was sent, anything on an idle or streaming connection.
 * A 421 on an idle connection is the next hop closing it: no error.
 */
static void
cl_early(struct smtp_client *c, const char *p, size_t n)
{
	if (c->idle && n >= 3 && memcmp(p, "421", 3) == 0) {
		cl_quit(c, false);
		return;
	}
	c->w->ctr[0][STATS_SMTPC_REPLY_EARLY]++;
	WORKER_LOG(c->w, CFG_LOG_WARNING, "smtp client: next hop %s: protocol error: reply data before a reply "
		   "was due (\"%.*s\"); connection closed", c->peer, (int)RTE_MIN(n, (size_t)40), p);
	if (c->idle || c->owner == NULL) {
		c->w->ctr[0][STATS_SMTPC_PROTOCOL]++;
		cl_destroy(c);
		return;
	}
	cl_protocol(c);
}

/* Parse what s has; false if c moved on (failed, freed, another connection or TLS now). */
static bool
cl_read_replies(struct smtp_client *c, struct stream *s)
{
	struct cl_ctx *x = cl_ctx(c->w);

	for (;;) {
		ssize_t n = stream_read(s, x->scratch, sizeof(x->scratch));
		if (n <= 0)
			return true;
		size_t off = 0;
		while (off < (size_t)n) {
			if (c->early || !cl_head_due(c) || c->state == CL_STREAM || cl_eod_unacked(c, s)) {
				cl_early(c, x->scratch + off, (size_t)n - off);
				return false;
			}
			size_t used = 0;
			enum smtp_reply_status st = smtp_reply_feed(&c->reply, x->scratch + off, (size_t)n - off, &used);
			off += used;
			if (st == SMTP_REPLY_MORE)
				break;
			if (st == SMTP_REPLY_ERROR) {
				WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_REFUSED, CFG_LOG_INFO, "smtp client: next hop %s: malformed reply (%s)",
					   c->peer, smtp_err_text(c->reply.err));
				if (c->owner == NULL && c->state >= CL_READY) {
					c->w->ctr[0][STATS_SMTPC_PROTOCOL]++;
					cl_destroy(c);
				} else {
					cl_protocol(c);
				}
				return false;
			}
			if (!cl_reply(c, &c->reply) || c->s != s)
				return false;
			bool ehlo = c->exp_n != 0 && c->exp[c->exp_head].kind == CL_K_EHLO;
			smtp_reply_init(&c->reply, 0, 0, ehlo);
		}
	}
}

static void
cl_readable(struct stream *s)
{
	struct smtp_client *c = s->ctx;

	if (c == NULL)
		return;
	if (c->state == CL_QUIT) {      /* leaving: the 221 or anything else is dropped */
		struct cl_ctx *x = cl_ctx(c->w);
		while (stream_read(s, x->scratch, sizeof(x->scratch)) > 0)
			;
		return;
	}
	uint32_t gen = c->gen;
	c->reading = true;
	bool on = cl_read_replies(c, s);
	if (c->gen != gen)
		return;
	c->reading = false;
	if (c->s != s || c->state == CL_DEAD || c->state == CL_QUIT)
		return;
	cl_flush(c);
	if (on && stream_eof(s))
		cl_peer_closed(c);
}

/* ---- stream events ---- */

static void
cl_connected(struct stream *s)
{
	struct smtp_client *c = s->ctx;

	if (c == NULL)
		return;
	if (c->state == CL_TLS) {
		cl_tls_up(c);
		return;
	}
	c->state = CL_GREETING;
	smtp_reply_init(&c->reply, 0, 0, false);
	cl_expect(c, CL_K_GREETING);
	cl_rearm(c);
}

static void
cl_writable(struct stream *s)
{
	struct smtp_client *c = s->ctx;

	if (c == NULL)
		return;
	cl_flush(c);
	if (c->state == CL_STREAM && c->w_len == 0) {
		c->data_blocked = false;
		cl_rearm(c);
		c->want_writable = true;        /* the owner hears it from cl_deliver */
		cl_arm_delivery(c);
	}
}

static void
cl_closed(struct stream *s, enum stream_close_reason why)
{
	struct smtp_client *c = s->ctx;

	if (c == NULL)
		return;
	c->s = NULL;
	if (c->idle || c->state == CL_QUIT || c->owner == NULL) {
		cl_free(c);
		return;
	}
	if (c->state == CL_TLS) {
		c->w->ctr[0][STATS_SMTPC_TLS_HANDSHAKE_FAILED]++;
		if (c->pos > 0 && cl_lenient(c, "TLS handshake failed")) {
			WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_TLS_FAILED, CFG_LOG_INFO, "smtp client: next hop %s: TLS handshake failed; "
				   "again in plaintext (level may)", c->peer);
			c->no_tls = true;
			c->pos--;               /* the same hop once more */
			cl_try_next(c, SMTP_CL_F_TLS_HANDSHAKE);
			return;
		}
		WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_TLS_FAILED, CFG_LOG_WARNING, "smtp client: next hop %s: cannot start TLS: handshake failure",
			   c->peer);
		cl_try_next(c, SMTP_CL_F_TLS_HANDSHAKE);
		return;
	}
	if (c->state < CL_READY) {
		c->w->ctr[0][STATS_SMTPC_CONNECT_FAILED]++;
		cl_mark_down(c->w, c->addr, c->port, true);
		cl_try_next(c, why == STREAM_TIMEOUT ? SMTP_CL_F_TIMEOUT : SMTP_CL_F_CONNECT);
		return;
	}
	WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_CLOSED, CFG_LOG_INFO, "smtp client: next hop %s closed the connection (%s)", c->peer,
		   why == STREAM_RESET ? "reset" : why == STREAM_TIMEOUT ? "timed out" : "closed");
	cl_fail(c, why == STREAM_TIMEOUT ? SMTP_CL_F_TIMEOUT : SMTP_CL_F_LOST);
}

static const struct stream_ops cl_stream_ops = {
	.connected = cl_connected,
	.readable = cl_readable,
	.writable = cl_writable,
	.closed = cl_closed,
};

/* ---- the owner's API ---- */

/*
 * Whether an idle connection opened for route c->route can carry mail for
 * route r: the same route, or the same level up to "encrypt" (verify and
 * secure checked names that belong to their route).
 */
static bool
cl_cache_fits(const struct smtp_client *c, const struct cfg_route *r, const struct cfg_connector_out *conn)
{
	int lc = cl_route_level(c->w, c->route), lr = cl_route_level(c->w, r);

	if (c->conn != conn)            /* another connector's policy (or none) */
		return false;
	return c->route == r || (lc == lr && lr <= CFG_TLS_ENCRYPT);
}

/* Whether route r lives in generation g (an outbound connector's smart hosts). */
static bool
cl_route_in(const struct policy_gen *g, const struct cfg_route *r)
{
	const struct gw_config *cfg = g->cfg;

	return cfg->n_connectors_out > 0 && (const void *)r >= (const void *)cfg->connectors_out &&
	       (const void *)r < (const void *)(cfg->connectors_out + cfg->n_connectors_out);
}

/*
 * A cached connection to one of r's hops that fits r's TLS level, most
 * recently used first, where the next hop has room for client's use.
 */
static struct smtp_client *
cl_cache_take(struct worker *w, const struct cfg_route *r, const struct cfg_connector_out *conn, uint32_t client)
{
	struct cl_ctx *x = cl_ctx(w);

	for (struct smtp_client *c = x->idle_head; c != NULL; c = c->next)
		for (unsigned i = 0; i < r->n_hops && cl_cache_fits(c, r, conn); i++)
			if (c->addr == r->hops[i].addr && c->port == r->hops[i].port) {
				c->client = client;
				if (!cl_dest_take(c, c->addr, c->port))
					break;
				cl_idle_unlink(x, c);
				w->ctr[0][STATS_SMTPC_CACHE_HITS]++;
				c->reused = true;
				return c;
			}
	return NULL;
}

struct smtp_client *
smtp_client_open(struct worker *w, const struct cfg_route *r, struct policy_gen *g,
		 const struct cfg_connector_out *conn, bool fresh, uint32_t client,
		 const struct smtp_client_ops *ops, void *owner, enum smtp_client_fail *why)
{
	struct cl_ctx *x = cl_ctx(w);
	struct smtp_client *c = fresh ? NULL : cl_cache_take(w, r, conn, client);

	if (c == NULL) {
		if (x->free == NULL && x->idle_tail != NULL) {
			w->ctr[0][STATS_SMTPC_CACHE_EXPIRED]++;
			cl_destroy(x->idle_tail);       /* make room: the least recently used idle one */
		}
		if (x->free == NULL) {
			w->ctr[0][STATS_SMTPC_NO_SLOT]++;
			*why = SMTP_CL_F_NO_SLOT;
			return NULL;
		}
		c = x->free;
		x->free = c->next;
		x->in_use++;
		uint32_t gen = c->gen;
		memset(c, 0, sizeof(*c));
		c->gen = gen;
		c->w = w;
		c->route = r;
		c->conn = conn;
		c->client = client;
		c->policy = conn != NULL || (g != NULL && r != NULL && cl_route_in(g, r)) ? policy_gen_hold(g) : NULL;
		timer_init(&c->timer, cl_timer_fired, c);
		timer_init(&c->ev_timer, cl_deliver, c);
		cl_plan(c, r);
		x->open_fail = SMTP_CL_F_CONNECT;
		cl_try_next(c, SMTP_CL_F_CONNECT);      /* no owner yet: a failure here tells nobody */
		if (c->gen != gen) {
			*why = x->open_fail;
			return NULL;
		}
	}
	c->ops = ops;
	c->owner = owner;
	c->q_n = 0;
	c->q_used = 0;
	c->ev_n = 0;
	c->txn_refused = false;
	c->want_writable = false;
	cl_rearm(c);
	return c;
}

void
smtp_client_mail(struct smtp_client *c, const char *from, size_t len, uint64_t size,
		 enum smtp_body body, bool smtputf8)
{
	c->from_len = RTE_MIN(len, (size_t)SMTP_PATH_MAX);
	memcpy(c->from, from, c->from_len);
	c->size = size;
	c->body = body;
	c->smtputf8 = smtputf8;
	cl_queue(c, CL_K_MAIL, "", 0);
}

void
smtp_client_rcpt(struct smtp_client *c, const char *to, size_t len)
{
	char line[SMTP_PATH_MAX + 16];
	int n = snprintf(line, sizeof(line), "RCPT TO:<%.*s>\r\n", (int)RTE_MIN(len, (size_t)SMTP_PATH_MAX), to);

	cl_queue(c, CL_K_RCPT, line, (size_t)n);
}

void
smtp_client_data(struct smtp_client *c)
{
	cl_queue(c, CL_K_DATA, "DATA\r\n", 6);
}

size_t
smtp_client_write_space(const struct smtp_client *c)
{
	if (c->state != CL_STREAM || c->s == NULL || c->w_len != 0)
		return 0;
	return stream_write_space(c->s);
}

size_t
smtp_client_write(struct smtp_client *c, const void *buf, size_t len)
{
	if (c->state != CL_STREAM || c->s == NULL)
		return 0;
	ssize_t n = stream_write(c->s, buf, len);
	if (n < 0)
		n = 0;
	if ((size_t)n < len && !c->data_blocked) {
		c->data_blocked = true;
		cl_rearm(c);
	}
	return (size_t)n;
}

void
smtp_client_wait_writable(struct smtp_client *c)
{
	if (c->state != CL_STREAM || c->s == NULL)
		return;
	stream_write(c->s, "", 0);
	if (!c->data_blocked) {
		c->data_blocked = true;
		cl_rearm(c);
	}
}

void
smtp_client_end_data(struct smtp_client *c)
{
	if (c->state != CL_STREAM)      /* failed meanwhile: the owner hears it next */
		return;
	/* bytes unread now came before the next hop could have seen the end of data */
	if (!c->tls_up && c->s != NULL && stream_read_avail(c->s) != 0)
		c->early = true;
	c->state = CL_READY;
	c->data_blocked = false;
	cl_expect(c, CL_K_EOD);
	cl_rearm(c);
}

/* Back to the cache (RSET first if a transaction was left open), or QUIT. */
static void
cl_park(struct smtp_client *c)
{
	struct worker *w = c->w;
	struct cl_ctx *x = cl_ctx(w);
	const struct cfg_smtp_client *cc = &w->cfg->smtp.client;

	c->owner = NULL;
	c->ops = NULL;
	c->q_n = 0;
	c->q_used = 0;
	c->ev_n = 0;
	c->txn_refused = false;
	c->want_writable = false;
	c->reused = false;
	timer_cancel(&w->timers, &c->ev_timer);
	cl_dest_drop(c);
	if (c->messages >= cc->cache_max_messages || cc->cache_size == 0 || w->gw->stop) {
		w->ctr[0][STATS_SMTPC_CACHE_EXPIRED]++;
		cl_quit(c, true);
		return;
	}
	if (c->dirty) {
		cl_put(c, CL_K_RSET, "RSET\r\n", 6);
		cl_flush(c);
		c->dirty = false;
	}
	if (x->n_idle >= cc->cache_size) {
		w->ctr[0][STATS_SMTPC_CACHE_EXPIRED]++;
		cl_quit(x->idle_tail, true);
	}
	c->idle = true;
	c->prev = NULL;
	c->next = x->idle_head;
	if (x->idle_head != NULL)
		x->idle_head->prev = c;
	x->idle_head = c;
	if (x->idle_tail == NULL)
		x->idle_tail = c;
	x->n_idle++;
	cl_rearm(c);
}

/* Whether c can carry another transaction: between two, nothing outstanding, nothing unread. */
static bool
cl_reusable(const struct smtp_client *c)
{
	return !c->no_reuse && !c->early && c->state == CL_READY && c->s != NULL && c->exp_n == 0 &&
	       c->w_len == 0 && (c->tls_up || stream_read_avail(c->s) == 0);
}

static void
cl_release_now(struct smtp_client *c, bool clean)
{
	if (c->state == CL_DEAD) {
		cl_free(c);
		return;
	}
	if (clean && cl_reusable(c)) {
		cl_park(c);
		return;
	}
	if (clean && c->s != NULL && (c->early || (!c->tls_up && stream_read_avail(c->s) != 0))) {
		/* reply data no command asked for, not read yet: an extra reply, never cached */
		c->w->ctr[0][STATS_SMTPC_REPLY_EARLY]++;
		WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_REFUSED, CFG_LOG_WARNING, "smtp client: next hop %s: "
			      "protocol error: reply data no command asked for; connection closed", c->peer);
	}
	cl_destroy(c);
}

void
smtp_client_release(struct smtp_client *c, bool clean)
{
	if (!c->delivering) {
		cl_release_now(c, clean);
		return;
	}
	/* From a callback: parking keeps the slot (the owner's next open may reuse it); freeing waits. */
	if (clean && c->state != CL_DEAD && cl_reusable(c)) {
		cl_park(c);
		return;
	}
	c->owner = NULL;
	c->ops = NULL;
	c->release = CL_REL_RESET;
}

bool
smtp_client_reused(const struct smtp_client *c)
{
	return c->reused;
}

const char *
smtp_client_peer(const struct smtp_client *c)
{
	return c->peer[0] ? c->peer : "-";
}

const struct tls_info *
smtp_client_tls(const struct smtp_client *c)
{
	return c != NULL && c->tls_up ? tls_stream_info(c->s) : NULL;
}

const char *
smtp_client_fail_text(enum smtp_client_fail f)
{
	static const char *const text[SMTP_CL_F_COUNT] = {
		[SMTP_CL_F_CONNECT] = "next hop not reachable",
		[SMTP_CL_F_REFUSED] = "next hop refused the session",
		[SMTP_CL_F_LOST] = "connection to next hop lost",
		[SMTP_CL_F_TIMEOUT] = "next hop timed out",
		[SMTP_CL_F_PROTOCOL] = "next hop protocol error",
		[SMTP_CL_F_NO_SLOT] = "too many next-hop connections",
		[SMTP_CL_F_TLS_NOT_OFFERED] = "TLS is required, but was not offered by host",
		[SMTP_CL_F_TLS_HANDSHAKE] = "Cannot start TLS: handshake failure",
		[SMTP_CL_F_TLS_VERIFY] = "Server certificate not verified",
		[SMTP_CL_F_BUSY] = "Insufficient next-hop capacity",
		[SMTP_CL_F_HOLD] = "no DATA or no message data within smtp.timeouts.data_hold; next-hop connection released",
	};
	return f < SMTP_CL_F_COUNT ? text[f] : "?";
}

void
smtp_client_usage(const struct worker *w, unsigned *in_use, unsigned *idle)
{
	const struct cl_ctx *x = cl_ctx(w);

	*in_use = x ? x->in_use : 0;
	*idle = x ? x->n_idle : 0;
}

unsigned
smtp_client_destinations(const struct worker *w, struct smtp_client_dest_view *v, unsigned max)
{
	const struct cl_ctx *x = cl_ctx(w);
	unsigned n = 0;

	for (unsigned i = 0; x != NULL && i < CL_DESTS && n < max; i++) {
		const struct cl_dest *d = &x->dests[i];
		if (d->in_use == 0 && d->waiting == 0)
			continue;
		v[n++] = (struct smtp_client_dest_view){
			.addr = d->addr, .port = d->port, .in_use = d->in_use, .waiting = d->waiting,
			.limit = x->dest_limit,
		};
	}
	return n;
}
