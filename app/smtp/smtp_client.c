/*
 * smtp_client.c — SMTP client connections to next hops and the per-worker
 * cache of idle ones. Called by the relay (app/smtp/relay.c) on the worker's
 * loop; every event comes from the stream (connected/readable/writable/
 * closed) or the timer wheel. Commands wait in a small queue until the
 * connection is ready, then go out pipelined when offered; replies are
 * matched in order against the list of expected ones.
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

enum cl_state {
	CL_FREE = 0,
	CL_CONNECTING,
	CL_GREETING,
	CL_EHLO,
	CL_HELO,
	CL_STARTTLS,            /* STARTTLS sent: waiting for 220 */
	CL_TLS,                 /* the TLS handshake runs */
	CL_READY,               /* between commands (owner's or idle) */
	CL_STREAM,              /* after 354: message data flows */
	CL_QUIT,                /* QUIT sent: waiting for 221 / close */
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
	uint8_t exp[CL_EXPECT];
	unsigned exp_head, exp_n;
	struct smtp_reply reply;
	struct timer timer;
	struct smtp_client *next, *prev;        /* free list / cache list */
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
	char scratch[4096];
};

static const struct stream_ops cl_stream_ops;
static void cl_try_next(struct smtp_client *c, enum smtp_client_fail why);
static void cl_send(struct smtp_client *c);

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

static void
cl_free(struct smtp_client *c)
{
	struct worker *w = c->w;
	struct cl_ctx *x = cl_ctx(w);

	timer_cancel(&w->timers, &c->timer);
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

/* Reset the connection (if any) and free the slot; no callback. */
static void
cl_destroy(struct smtp_client *c)
{
	if (c->s != NULL) {
		c->s->ctx = NULL;
		stream_abort(c->s);
	}
	cl_free(c);
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

/* Arm the timer for what we wait on now (a reply, a blocked write, idleness). */
static void
cl_rearm(struct smtp_client *c)
{
	struct worker *w = c->w;
	unsigned secs;

	if (c->state == CL_CONNECTING)
		secs = w->cfg->smtp.timeouts.connect;
	else if (c->state == CL_TLS)
		secs = w->cfg->smtp.timeouts.greeting;
	else if (c->exp_n != 0)
		secs = cl_timeout_of(c, c->exp[c->exp_head]);
	else if (c->state == CL_STREAM && c->data_blocked)
		secs = w->cfg->smtp.timeouts.data_block;
	else if (c->idle)
		secs = w->cfg->smtp.client.cache_idle_timeout;
	else {
		timer_cancel(&w->timers, &c->timer);
		return;
	}
	timer_arm(&w->timers, &c->timer, w->now + cl_secs(w, secs));
}

static void cl_fail(struct smtp_client *c, enum smtp_client_fail why);

static void
cl_timer_fired(struct timer *t, void *arg)
{
	struct smtp_client *c = arg;
	struct worker *w = c->w;

	(void)t;
	if (c->idle || c->state == CL_QUIT) {
		if (c->idle)
			w->ctr[0][STATS_SMTPC_CACHE_EXPIRED]++;
		cl_destroy(c);
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

/* The owner's transaction is over because of why: tell it once, drop the connection. */
static void
cl_fail(struct smtp_client *c, enum smtp_client_fail why)
{
	const struct smtp_client_ops *ops = c->ops;
	void *owner = c->owner;

	if (why == SMTP_CL_F_LOST)
		c->w->ctr[0][STATS_SMTPC_LOST]++;
	else if (why == SMTP_CL_F_PROTOCOL)
		c->w->ctr[0][STATS_SMTPC_PROTOCOL]++;
	char peer[sizeof(c->peer)];

	memcpy(peer, c->peer, sizeof(peer));
	cl_destroy(c);
	if (owner != NULL && ops != NULL && ops->failed != NULL)
		ops->failed(owner, why, peer);
}

/* Connect to the next hop in the plan; when none is left, fail with why. */
static void
cl_try_next(struct smtp_client *c, enum smtp_client_fail why)
{
	struct worker *w = c->w;

	if (c->s != NULL) {
		c->s->ctx = NULL;
		stream_abort(c->s);
		c->s = NULL;
		w->ctr[0][STATS_SMTPC_CONNECT_FAILED]++;
		cl_mark_down(w, c->addr, c->port, true);
	}
	while (c->pos < c->n_order) {
		const struct cfg_next_hop *h = &c->route->hops[c->order[c->pos++]];
		if (c->pos > 1)
			w->ctr[0][STATS_SMTPC_FAILOVERS]++;
		c->addr = h->addr;
		c->port = h->port;
		snprintf(c->peer_ip, sizeof(c->peer_ip), "%u.%u.%u.%u", h->addr >> 24, (h->addr >> 16) & 255,
			 (h->addr >> 8) & 255, h->addr & 255);
		snprintf(c->peer, sizeof(c->peer), "%s:%u", c->peer_ip, h->port);
		c->tls_up = false;
		c->exp_n = 0;
		c->w_len = 0;
		c->ext = 0;
		c->ext_size = 0;
		c->s = tcp_connect(w, h->addr, h->port, &cl_stream_ops, c);
		if (c->s == NULL) {
			w->ctr[0][STATS_SMTPC_CONNECT_FAILED]++;
			continue;
		}
		w->ctr[0][STATS_SMTPC_CONNECTS]++;
		c->state = CL_CONNECTING;
		cl_rearm(c);
		return;
	}
	cl_fail(c, why);
}

/* ---- sending ---- */

static void
cl_expect(struct smtp_client *c, uint8_t kind)
{
	c->exp[(c->exp_head + c->exp_n) % CL_EXPECT] = kind;
	if (c->exp_n++ == 0)
		cl_rearm(c);
}

/* Write what wbuf holds; the rest waits for writable. */
static void
cl_flush(struct smtp_client *c)
{
	if (c->w_len == 0 || c->s == NULL)
		return;
	ssize_t n = stream_write(c->s, c->wbuf, c->w_len);
	if (n <= 0)
		return;
	memmove(c->wbuf, c->wbuf + n, c->w_len - (size_t)n);
	c->w_len -= (size_t)n;
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
static bool
cl_synth(struct smtp_client *c, enum smtp_client_cmd cmd, unsigned code, const char *text)
{
	struct smtp_reply r;
	uint32_t gen = c->gen;

	memset(&r, 0, sizeof(r));
	r.code = code;
	r.n_lines = 1;
	r.has_enhanced = true;
	sscanf(text, "%u.%u.%u", &r.enh[0], &r.enh[1], &r.enh[2]);
	const char *sp = strchr(text, ' ');
	snprintf(r.text, sizeof(r.text), "%s", sp ? sp + 1 : text);
	r.text_len = strlen(r.text);
	c->ops->reply(c->owner, cmd, &r);
	return c->gen == gen;
}

/* Whether MAIL can go to this next hop at all; if not, answer it (and what follows) here. */
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
	c->dirty = false;
	/* MAIL and the RCPTs behind it are answered; the owner ends the transaction. */
	if (!cl_synth(c, SMTP_CL_MAIL, code, why))
		return false;
	while (c->q_n > 1 && c->q[1].kind == CL_K_RCPT) {
		memmove(&c->q[1], &c->q[2], (c->q_n - 2) * sizeof(c->q[0]));
		c->q_n--;
		if (!cl_synth(c, SMTP_CL_RCPT, 503, "5.5.1 Sender was refused"))
			return false;
	}
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
		if (l.kind == CL_K_MAIL) {
			uint32_t gen = c->gen;
			if (!cl_mail_possible(c)) {
				if (c->gen != gen)
					return;
				c->q_n--;
				memmove(&c->q[0], &c->q[1], c->q_n * sizeof(c->q[0]));
				continue;
			}
			char line[SMTP_PATH_MAX + 96];
			cl_put(c, CL_K_MAIL, line, cl_mail_line(c, line, sizeof(line)));
			c->dirty = true;
		} else {
			cl_put(c, l.kind, c->qbuf + l.off, l.len);
		}
		c->q_n--;
		memmove(&c->q[0], &c->q[1], c->q_n * sizeof(c->q[0]));
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
		cl_destroy(c);          /* a next hop that cannot reset is not reused */
		return false;
	default:                        /* QUIT */
		return true;
	}
	WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_REFUSED, CFG_LOG_INFO, "smtp client: next hop %s refused the session: %u %.*s",
		   c->peer, r->code, (int)r->text_len, r->text);
	cl_try_next(c, SMTP_CL_F_REFUSED);
	return false;
}

/* One whole reply arrived. Returns false if c is gone (or no longer reads). */
static bool
cl_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	if (c->exp_n == 0) {
		if (c->idle || c->state == CL_QUIT) {   /* e.g. a 421 on an idle connection */
			cl_destroy(c);
			return false;
		}
		cl_fail(c, SMTP_CL_F_PROTOCOL);
		return false;
	}
	uint8_t kind = c->exp[c->exp_head];
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
	}
	if (kind == CL_K_EOD || (kind == CL_K_DATA && r->code != 354)) {
		c->state = CL_READY;
		c->dirty = kind != CL_K_EOD;
		if (kind == CL_K_EOD)
			c->messages++;
	}
	uint32_t gen = c->gen;
	if (c->owner != NULL)
		c->ops->reply(c->owner, (enum smtp_client_cmd)kind, r);
	if (c->gen != gen)
		return false;
	cl_send(c);
	return c->gen == gen;
}

/* The next hop sent FIN (all its replies read): the connection is of no more use. */
static void
cl_peer_closed(struct smtp_client *c)
{
	if (c->idle || c->state == CL_QUIT || c->owner == NULL) {
		cl_destroy(c);
		return;
	}
	WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_CLOSED, CFG_LOG_INFO, "smtp client: next hop %s closed the connection", c->peer);
	if (c->state < CL_READY)
		cl_try_next(c, SMTP_CL_F_REFUSED);
	else
		cl_fail(c, SMTP_CL_F_LOST);
}

static void
cl_readable(struct stream *s)
{
	struct smtp_client *c = s->ctx;
	struct cl_ctx *x;

	if (c == NULL)
		return;
	x = cl_ctx(c->w);
	for (;;) {
		ssize_t n = stream_read(s, x->scratch, sizeof(x->scratch));
		if (n <= 0)
			break;
		size_t off = 0;
		while (off < (size_t)n) {
			size_t used = 0;
			enum smtp_reply_status st = smtp_reply_feed(&c->reply, x->scratch + off, (size_t)n - off, &used);
			off += used;
			if (st == SMTP_REPLY_MORE)
				break;
			if (st == SMTP_REPLY_ERROR) {
				WORKER_LOG_RL(c->w, WORKER_RL_CLIENT_REFUSED, CFG_LOG_INFO, "smtp client: next hop %s: malformed reply (%s)",
					   c->peer, smtp_err_text(c->reply.err));
				if (c->state < CL_READY)
					cl_try_next(c, SMTP_CL_F_PROTOCOL);
				else
					cl_fail(c, SMTP_CL_F_PROTOCOL);
				return;
			}
			if (!cl_reply(c, &c->reply))
				return;
			bool ehlo = c->exp_n != 0 && c->exp[c->exp_head] == CL_K_EHLO;
			smtp_reply_init(&c->reply, 0, 0, ehlo);
		}
	}
	if (stream_eof(s))
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
		if (c->owner != NULL && c->ops->writable != NULL)
			c->ops->writable(c->owner);
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

/* A cached connection to one of r's hops that fits r's TLS level, most recently used first. */
static struct smtp_client *
cl_cache_take(struct worker *w, const struct cfg_route *r, const struct cfg_connector_out *conn)
{
	struct cl_ctx *x = cl_ctx(w);

	for (struct smtp_client *c = x->idle_head; c != NULL; c = c->next)
		for (unsigned i = 0; i < r->n_hops && cl_cache_fits(c, r, conn); i++)
			if (c->addr == r->hops[i].addr && c->port == r->hops[i].port) {
				cl_idle_unlink(x, c);
				w->ctr[0][STATS_SMTPC_CACHE_HITS]++;
				c->reused = true;
				return c;
			}
	return NULL;
}

struct smtp_client *
smtp_client_open(struct worker *w, const struct cfg_route *r, struct policy_gen *g,
		 const struct cfg_connector_out *conn, bool fresh, const struct smtp_client_ops *ops, void *owner,
		 enum smtp_client_fail *why)
{
	struct cl_ctx *x = cl_ctx(w);
	struct smtp_client *c = fresh ? NULL : cl_cache_take(w, r, conn);

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
		c->policy = conn != NULL || (g != NULL && r != NULL && cl_route_in(g, r)) ? policy_gen_hold(g) : NULL;
		timer_init(&c->timer, cl_timer_fired, c);
		cl_plan(c, r);
		cl_try_next(c, SMTP_CL_F_CONNECT);      /* no owner yet: a failure here tells nobody */
		if (c->gen != gen) {
			*why = SMTP_CL_F_CONNECT;
			return NULL;
		}
	}
	c->ops = ops;
	c->owner = owner;
	c->q_n = 0;
	c->q_used = 0;
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
	if (c->messages >= cc->cache_max_messages || cc->cache_size == 0 || w->gw->stop) {
		w->ctr[0][STATS_SMTPC_CACHE_EXPIRED]++;
		c->state = CL_QUIT;
		c->exp_n = 0;
		cl_put(c, CL_K_QUIT, "QUIT\r\n", 6);
		cl_flush(c);
		stream_shutdown(c->s);
		return;
	}
	if (c->dirty) {
		cl_put(c, CL_K_RSET, "RSET\r\n", 6);
		cl_flush(c);
		c->dirty = false;
	}
	if (x->n_idle >= cc->cache_size) {
		w->ctr[0][STATS_SMTPC_CACHE_EXPIRED]++;
		cl_destroy(x->idle_tail);
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

void
smtp_client_release(struct smtp_client *c, bool clean)
{
	/* Reusable only between transactions with nothing outstanding except an RSET's reply. */
	if (clean && !c->no_reuse && c->state == CL_READY && c->s != NULL && c->exp_n == 0 &&
	    c->w_len == 0)
		cl_park(c);
	else
		cl_destroy(c);
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
