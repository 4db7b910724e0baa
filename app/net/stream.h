/*
 * stream.h — the boundary between transport and the layers above it
 * (DESIGN §2). TCP exposes each connection as a stream; TLS will be a stream
 * filter with the same interface, so SMTP cannot tell them apart and never
 * sees an mbuf or a TCP header.
 *
 * Events (struct stream_ops, set by the upper layer) are called from the
 * worker's loop, never re-entrantly from inside a stream_* call:
 *   connected  the connection is established (active or passive open)
 *   readable   new data (or EOF) can be read with stream_read()
 *   writable   space opened up in the send buffer after a short write
 *              (or a write that filled it)
 *   closed     the connection is gone; the stream must not be used again
 * Calls (struct stream_impl, provided by the transport):
 *   read / write copy bytes; write accepts what fits (back-pressure: a
 *   partial or zero write means "wait for writable"); shutdown sends FIN
 *   after queued data; abort sends RST and releases the stream at once.
 * A write may take less than write_space promised (the packet pool ran
 * dry): the caller resumes at exactly the bytes taken, and a writable event
 * follows every short write and every zero-length write, even with nothing
 * in flight. Bytes taken are sent, in order, or the stream closes.
 */
#ifndef MAILGW_APP_NET_STREAM_H
#define MAILGW_APP_NET_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stream;
struct worker;

/* Why a stream closed (the `reason` of stream_ops.closed). */
enum stream_close_reason {
	STREAM_CLOSED = 0,          /* orderly: both sides sent FIN */
	STREAM_RESET = 1,           /* the peer sent RST */
	STREAM_TIMEOUT = 2,         /* retransmissions exhausted / peer vanished */
	STREAM_ABORTED = 3,         /* we aborted (stream_abort or resource limit) */
	STREAM_REFUSED = 4,         /* active open refused (RST to our SYN) */
	STREAM_IDLE = 5,            /* idle timeout */
};

struct stream_ops {
	void (*connected)(struct stream *s);
	void (*readable)(struct stream *s);
	void (*writable)(struct stream *s);
	void (*closed)(struct stream *s, enum stream_close_reason reason);
};

struct stream_impl {
	ssize_t (*read)(struct stream *s, void *buf, size_t len);
	ssize_t (*write)(struct stream *s, const void *buf, size_t len);   /* len 0: request a writable event */
	size_t (*write_space)(const struct stream *s);
	size_t (*read_avail)(const struct stream *s);
	size_t (*unacked)(const struct stream *s);
	bool (*eof)(const struct stream *s);
	int (*shutdown)(struct stream *s);
	void (*abort)(struct stream *s);
};

struct stream {
	const struct stream_impl *impl;     /* the transport's side */
	const struct stream_ops *ops;       /* the upper layer's side */
	void *ctx;                          /* the upper layer's state */
	struct worker *worker;              /* the worker the stream lives on */
	uint32_t remote_addr;               /* host byte order */
	uint16_t remote_port;
	uint32_t local_addr;
	uint16_t local_port;
};

/* Copy up to len received bytes into buf. Returns bytes read, 0 if none now (see stream_eof). */
static inline ssize_t stream_read(struct stream *s, void *buf, size_t len) { return s->impl->read(s, buf, len); }

/* Queue up to len bytes for sending. Returns bytes accepted (may be 0), or -EPIPE after shutdown. */
static inline ssize_t stream_write(struct stream *s, const void *buf, size_t len) { return s->impl->write(s, buf, len); }

/* Bytes stream_write would accept now. */
static inline size_t stream_write_space(const struct stream *s) { return s->impl->write_space(s); }

/* Bytes stream_read would return now. */
static inline size_t stream_read_avail(const struct stream *s) { return s->impl->read_avail(s); }

/*
 * Bytes written that the peer has not acknowledged yet (queued, in flight, or
 * held by a filter below). 0 means the peer has every byte written so far.
 */
static inline size_t stream_unacked(const struct stream *s) { return s->impl->unacked(s); }

/* True when the peer sent FIN and every byte before it has been read. */
static inline bool stream_eof(const struct stream *s) { return s->impl->eof(s); }

/* Send FIN after everything queued. Returns 0 or -ENOTCONN. */
static inline int stream_shutdown(struct stream *s) { return s->impl->shutdown(s); }

/* Reset the connection now; `closed` is not called for an aborted stream. */
static inline void stream_abort(struct stream *s) { s->impl->abort(s); }

#endif
