/*
 * smtp_client.h — the outbound side of the relay: SMTP client connections to
 * next hops (RFC 5321 client; PIPELINING, SIZE, 8BITMIME, SMTPUTF8 when the
 * next hop offers them) and a per-worker cache of idle connections, so busy
 * routes do not pay a new connection per message.
 *
 * One client serves one owner (an inbound session's transaction) at a time.
 * The owner queues commands at once; the client sends them when the
 * connection is ready (greeting and EHLO done), pipelined when offered, one
 * at a time otherwise, and calls ops->reply for each in order. Failures of
 * the connection (connect, greeting, lost, timeout, malformed reply) come
 * back once through ops->failed; after that the client is gone.
 *
 * Callbacks are deferred: ops->reply and ops->failed are never called from
 * inside a smtp_client_* call or a stream event of the client, only from the
 * worker's timer run (a safe point, like TCP's deferred stream events). The
 * owner may call any smtp_client_* function from a callback, release
 * included: a release there takes effect when the callback returns.
 *
 * A reply is taken only with a code its stage allows (greeting 220 or
 * 4xx/5xx; EHLO, MAIL, RCPT 2xx/4xx/5xx; DATA 354 or 4xx/5xx; end of data
 * 2xx/4xx/5xx) and only once it is due (its command was sent before the
 * bytes were read); anything else is a protocol error: the connection is
 * reset, never cached, and the owner hears SMTP_CL_F_PROTOCOL.
 *
 * Capacity: at most smtp.client.destination_concurrency connections in use
 * per next hop (address:port), split evenly across workers; the last
 * quarter of a worker's share only goes to client addresses that hold none
 * (so a few addresses cannot take it all). A client that finds no room
 * waits up to smtp.client.destination_wait seconds, in order, then fails
 * with SMTP_CL_F_BUSY. In DATA, a client whose owner passes no data for
 * smtp.timeouts.data_hold seconds fails with SMTP_CL_F_HOLD.
 *
 * Timeouts (smtp.timeouts): connect, greeting (220 and EHLO), mail, rcpt,
 * data_init, data_block (next hop takes no data), data_end, data_hold.
 * Idle cached connections are closed with QUIT (a reset only when the next
 * hop does not close within 5 s, or for a broken connection).
 */
#ifndef MAILGW_APP_SMTP_SMTP_CLIENT_H
#define MAILGW_APP_SMTP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/smtp/smtp_parse.h"

struct worker;
struct smtp_client;
struct cfg_route;
struct cfg_connector_out;
struct policy_gen;
struct tls_info;

/* What a reply answers. */
enum smtp_client_cmd {
	SMTP_CL_MAIL = 0,
	SMTP_CL_RCPT,
	SMTP_CL_DATA,
	SMTP_CL_EOD,            /* the final reply after end of data */
};

/* Why a client failed (ops->failed). */
enum smtp_client_fail {
	SMTP_CL_F_CONNECT = 0,  /* no next hop of the route could be reached */
	SMTP_CL_F_REFUSED,      /* every next hop refused the session (greeting/EHLO not 2xx) */
	SMTP_CL_F_LOST,         /* connection closed or reset */
	SMTP_CL_F_TIMEOUT,      /* the next hop did not answer in time */
	SMTP_CL_F_PROTOCOL,     /* malformed or unexpected reply */
	SMTP_CL_F_NO_SLOT,      /* smtp.client.connections_per_worker reached */
	SMTP_CL_F_TLS_NOT_OFFERED,  /* the level needs TLS; the next hop offered no STARTTLS */
	SMTP_CL_F_TLS_HANDSHAKE,    /* the TLS handshake failed */
	SMTP_CL_F_TLS_VERIFY,       /* chain or name not verified (levels verify, secure) */
	SMTP_CL_F_BUSY,             /* no connection to the next hop free within destination_wait */
	SMTP_CL_F_HOLD,             /* DATA: the owner passed no data for smtp.timeouts.data_hold */
	SMTP_CL_F_COUNT
};

struct smtp_client_ops {
	void (*reply)(void *owner, enum smtp_client_cmd cmd, const struct smtp_reply *r);
	void (*failed)(void *owner, enum smtp_client_fail why, const char *peer);
	void (*writable)(void *owner);  /* room for message data again */
	uint64_t (*progress)(void *owner);      /* message bytes passed so far (data_hold); may be NULL */
};

/* A next hop's connections on one worker (console: show sessions). */
struct smtp_client_dest_view {
	uint32_t addr;
	uint16_t port;
	unsigned in_use, waiting, limit;
};

/* Per-worker client state (pool, cache). Returns 0 or -ENOMEM. */
int smtp_client_init(struct worker *w);

/* Free what smtp_client_init made. */
void smtp_client_fini(struct worker *w);

/*
 * A client for route r: an idle cached connection to one of its next hops, or
 * a new connection (hops in priority order, skipping those that failed in the
 * last smtp.client.retry_after seconds, failing over on connect/greeting
 * errors). conn (with its generation g): the outbound connector whose TLS
 * settings, pins and minimum version apply instead of the route's (r may be
 * its smart hosts); a cached connection is reused only under the same one.
 * fresh: never a cached one. client: the owner's client address (the
 * destination's fair share). NULL (and *why) when no slot is free or no next
 * hop can even be tried; ops are never called from inside this call.
 */
struct smtp_client *smtp_client_open(struct worker *w, const struct cfg_route *r, struct policy_gen *g,
				     const struct cfg_connector_out *conn, bool fresh, uint32_t client,
				     const struct smtp_client_ops *ops, void *owner,
				     enum smtp_client_fail *why);

/* Queue MAIL FROM:<from> with SIZE/BODY/SMTPUTF8 as the next hop supports them. */
void smtp_client_mail(struct smtp_client *c, const char *from, size_t len, uint64_t size,
		      enum smtp_body body, bool smtputf8);

/* Queue RCPT TO:<to>. */
void smtp_client_rcpt(struct smtp_client *c, const char *to, size_t len);

/* Queue DATA. */
void smtp_client_data(struct smtp_client *c);

/* Message data (after the 354): write what fits; returns bytes taken. */
size_t smtp_client_write(struct smtp_client *c, const void *buf, size_t len);

/* Bytes smtp_client_write would take now (0 before the 354 or after a failure). */
size_t smtp_client_write_space(const struct smtp_client *c);

/*
 * After smtp_client_write_space() said 0: ask for the owner's writable
 * callback when room frees (and run the data_block timeout meanwhile).
 */
void smtp_client_wait_writable(struct smtp_client *c);

/* The terminator was written: expect the final reply (ops->reply with SMTP_CL_EOD). */
void smtp_client_end_data(struct smtp_client *c);

/*
 * The owner is done with c. clean: the transaction ended (final reply seen)
 * or never started, so the connection may go back to the cache (after RSET if
 * needed); otherwise it is reset. No callback reaches the owner afterwards.
 */
void smtp_client_release(struct smtp_client *c, bool clean);

/* Whether c came from the cache (a stale cached connection may fail at once). */
bool smtp_client_reused(const struct smtp_client *c);

/* The next hop c is connected (or connecting) to, "10.20.0.10:25". */
const char *smtp_client_peer(const struct smtp_client *c);

/* The TLS session with the next hop (after a successful STARTTLS), else NULL. */
const struct tls_info *smtp_client_tls(const struct smtp_client *c);

/* Short text for a failure ("connection lost"). */
const char *smtp_client_fail_text(enum smtp_client_fail f);

/* Console: connections in use, idle in the cache. */
void smtp_client_usage(const struct worker *w, unsigned *in_use, unsigned *idle);

/* Console: the next hops w has connections to or waiters for (up to max); returns how many. */
unsigned smtp_client_destinations(const struct worker *w, struct smtp_client_dest_view *v, unsigned max);

/*
 * The share of smtp.client.destination_concurrency that worker (0..n-1) of n
 * gets: the shares add up to the setting, except that each is at least 1.
 */
unsigned smtp_client_dest_limit(unsigned concurrency, unsigned n_workers, unsigned worker);

/*
 * Whether a client address holding `held` of a next hop's in_use
 * connections (of limit) may take one more: below the reserve (the last
 * quarter) anyone, in the reserve only an address that holds none.
 */
bool smtp_client_dest_admits(unsigned in_use, unsigned limit, unsigned held);

/* The stages of a next-hop conversation, by the replies they allow. */
enum smtp_client_stage {
	SMTP_CL_STAGE_GREETING = 0,     /* 220, or 4xx/5xx (a refusal) */
	SMTP_CL_STAGE_COMMAND,          /* EHLO, HELO, MAIL, RCPT, RSET: 2xx, 4xx, 5xx */
	SMTP_CL_STAGE_STARTTLS,         /* 220, or 4xx/5xx */
	SMTP_CL_STAGE_DATA,             /* 354, or 4xx/5xx */
	SMTP_CL_STAGE_EOD,              /* after the end of data: 2xx, 4xx, 5xx */
	SMTP_CL_STAGE_QUIT,             /* anything: we are leaving */
};

/* Whether a reply with code (100..599) is one that stage allows. */
bool smtp_client_code_fits(enum smtp_client_stage stage, unsigned code);

#endif
