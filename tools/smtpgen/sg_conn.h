/*
 * sg_conn.h — one non-blocking connection as smtpgen's state machines see
 * it: a socket, optionally a wolfSSL object on top (after STARTTLS), an
 * input buffer owned by the caller and a short queue of output segments
 * (memory the caller keeps valid until sent: no copies of message bodies).
 * The epoll registration is edge-triggered for both directions, so callers
 * read until SG_IO_AGAIN and flush until done or SG_IO_AGAIN.
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SG_CONN_H
#define MAILGW_TOOLS_SMTPGEN_SG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#define SG_CONN_SEGS 6

enum sg_io {
	SG_IO_OK    = 1,        /* done (flush: everything sent; handshake: complete) */
	SG_IO_FULL  = 0,        /* read: no room left in the input buffer */
	SG_IO_AGAIN = -1,       /* would block: wait for epoll */
	SG_IO_EOF   = -2,       /* the peer closed (or sent close_notify) */
	SG_IO_ERR   = -3,       /* socket or TLS error: sg_conn_error() says which */
};

struct sg_conn {
	int fd;
	WOLFSSL *ssl;
	char *in;               /* input: octets in[off, len) not yet consumed */
	size_t off, len, cap;
	struct iovec out[SG_CONN_SEGS];
	unsigned nout, oidx;    /* queued segments; out[oidx] is the next to send */
	int tls_retry;          /* length of a wolfSSL_write to repeat, 0 if none */
	uint64_t bytes_in, bytes_out;
	int err;                /* errno, or a wolfSSL error code when tls_err */
	bool tls_err;
};

/* A connection on fd (non-blocking) with the caller's input buffer. */
void sg_conn_init(struct sg_conn *c, int fd, char *inbuf, size_t cap);
/* Queue n octets at p for sending; 0 or -ENOSPC (too many segments). */
int sg_conn_queue(struct sg_conn *c, const void *p, size_t n);
static inline bool sg_conn_pending(const struct sg_conn *c) { return c->oidx < c->nout; }
/* Send what is queued: SG_IO_OK, SG_IO_AGAIN or SG_IO_ERR. */
int sg_conn_flush(struct sg_conn *c);
/* Read into the free input space: octets read (> 0), SG_IO_FULL, SG_IO_AGAIN, SG_IO_EOF or SG_IO_ERR. */
ssize_t sg_conn_read(struct sg_conn *c);
static inline const char *sg_conn_data(const struct sg_conn *c) { return c->in + c->off; }
static inline size_t sg_conn_avail(const struct sg_conn *c) { return c->len - c->off; }
/* Drop n octets from the front of the input. */
void sg_conn_consume(struct sg_conn *c, size_t n);
/* Forget buffered input (after STARTTLS: nothing sent in clear may follow it). */
void sg_conn_discard_input(struct sg_conn *c);
/* Put ssl on top of the socket (wolfSSL_set_fd). 0 or -EIO. */
int sg_conn_start_tls(struct sg_conn *c, WOLFSSL *ssl);
/* One step of the handshake: SG_IO_OK, SG_IO_AGAIN or SG_IO_ERR. */
int sg_conn_handshake(struct sg_conn *c, bool server);
/* Free the TLS object and close the socket (abortive close when rst). */
void sg_conn_close(struct sg_conn *c, bool rst);
/* The last error in words. */
const char *sg_conn_error(const struct sg_conn *c, char *buf, size_t len);

#endif
