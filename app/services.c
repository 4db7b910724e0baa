/*
 * services.c — the built-in test services on the stream API (app/net/stream.h):
 * echo (returns what it reads, with back-pressure both ways), discard,
 * source (sends services.source.bytes of the pattern, then FIN) and the
 * probe connections of `tcp connect`. Per-connection state is an offset kept
 * in stream->ctx, so the services need no allocation at all.
 */
#include <errno.h>
#include <string.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include "app/services.h"
#include "app/worker.h"
#include "app/net/stream.h"
#include "app/net/tcp.h"

#define SVC_CHUNK 16384

struct services {
	uint8_t pattern[SVC_CHUNK + SERVICES_PATTERN_PERIOD];
	uint8_t scratch[SVC_CHUNK];
	uint64_t probe_bytes;           /* per probe connection, of the current batch */
};

static struct worker *
svc_worker_of(struct stream *s)
{
	return s->worker;
}

static const uint8_t *
svc_pattern(struct services *sv, uint64_t off)
{
	return sv->pattern + off % SERVICES_PATTERN_PERIOD;
}

/* ---- echo: copy what arrives back, as fast as the peer takes it ---- */
static void
svc_echo_pump(struct stream *s)
{
	struct worker *w = svc_worker_of(s);
	struct services *sv = w->services;

	for (;;) {
		size_t room = stream_write_space(s), avail = stream_read_avail(s);
		size_t n = RTE_MIN(RTE_MIN(room, avail), (size_t)SVC_CHUNK);
		if (n == 0)
			break;
		ssize_t r = stream_read(s, sv->scratch, n);
		if (r <= 0)
			break;
		if (stream_write(s, sv->scratch, (size_t)r) != r) {
			/* the pool cut the write short: the bytes read cannot be kept, so no echo with a hole */
			stream_abort(s);
			return;
		}
	}
	if (stream_eof(s))
		stream_shutdown(s);
}

static const struct stream_ops svc_echo_ops = {
	.readable = svc_echo_pump,
	.writable = svc_echo_pump,
};

/* Read and drop whatever has arrived. */
static void
svc_drain(struct stream *s)
{
	struct services *sv = svc_worker_of(s)->services;

	while (stream_read(s, sv->scratch, SVC_CHUNK) > 0)
		;
}

/* Write the pattern from offset off up to total, as far as the send buffer takes it; the new offset. */
static uint64_t
svc_write_pattern(struct stream *s, struct services *sv, uint64_t off, uint64_t total)
{
	while (off < total) {
		size_t n = RTE_MIN(RTE_MIN(stream_write_space(s), (size_t)SVC_CHUNK), (size_t)(total - off));
		if (n == 0)
			break;
		ssize_t r = stream_write(s, svc_pattern(sv, off), n);
		if (r <= 0)
			break;
		off += (uint64_t)r;
	}
	return off;
}

/* ---- discard ---- */
static void
svc_discard_read(struct stream *s)
{
	svc_drain(s);
	if (stream_eof(s))
		stream_shutdown(s);
}

static const struct stream_ops svc_discard_ops = {
	.readable = svc_discard_read,
};

/* ---- source: the pattern, services.source.bytes of it, then FIN ---- */
static void
svc_source_fill(struct stream *s)
{
	struct worker *w = svc_worker_of(s);
	struct services *sv = w->services;
	uint64_t total = w->cfg->services.source_bytes;
	uint64_t off = svc_write_pattern(s, sv, (uint64_t)(uintptr_t)s->ctx, total);

	s->ctx = (void *)(uintptr_t)off;
	if (off >= total)
		stream_shutdown(s);
}

static const struct stream_ops svc_source_ops = {
	.connected = svc_source_fill,
	.readable = svc_drain,          /* the peer's FIN does not stop the source (half-close) */
	.writable = svc_source_fill,
};

/* ---- probe: send the pattern, read it back, compare ---- */
/* ctx: low 32 bits bytes sent, high 31 bits bytes verified, top bit: done. */
#define SVC_PROBE_DONE (1ull << 63)

static void
svc_probe_send(struct stream *s)
{
	struct worker *w = svc_worker_of(s);
	struct services *sv = w->services;
	uint64_t st = (uint64_t)(uintptr_t)s->ctx;
	uint64_t sent = svc_write_pattern(s, sv, st & 0xffffffffu, sv->probe_bytes);

	s->ctx = (void *)(uintptr_t)((st & ~0xffffffffull) | sent);
}

static void
svc_probe_fail(struct stream *s)
{
	struct worker *w = svc_worker_of(s);
	w->ctr[0][STATS_PROBE_FAILED]++;
	s->ctx = (void *)(uintptr_t)((uint64_t)(uintptr_t)s->ctx | SVC_PROBE_DONE);
}

static void
svc_probe_read(struct stream *s)
{
	struct worker *w = svc_worker_of(s);
	struct services *sv = w->services;
	uint64_t st = (uint64_t)(uintptr_t)s->ctx;
	uint64_t got = (st >> 32) & 0x7fffffffu;
	ssize_t r;

	while ((r = stream_read(s, sv->scratch, SVC_CHUNK)) > 0) {
		if (got + (uint64_t)r > sv->probe_bytes || memcmp(sv->scratch, svc_pattern(sv, got), (size_t)r) != 0) {
			svc_probe_fail(s);
			stream_abort(s);
			return;
		}
		got += (uint64_t)r;
	}
	st = (st & (SVC_PROBE_DONE | 0xffffffffull)) | (got << 32);
	s->ctx = (void *)(uintptr_t)st;
	if (got == sv->probe_bytes && !(st & SVC_PROBE_DONE)) {
		w->ctr[0][STATS_PROBE_VERIFIED]++;
		s->ctx = (void *)(uintptr_t)(st | SVC_PROBE_DONE);
		stream_shutdown(s);
	}
}

static void
svc_probe_closed(struct stream *s, enum stream_close_reason why)
{
	(void)why;
	if (!((uint64_t)(uintptr_t)s->ctx & SVC_PROBE_DONE))
		svc_probe_fail(s);
}

static const struct stream_ops svc_probe_ops = {
	.connected = svc_probe_send,
	.readable = svc_probe_read,
	.writable = svc_probe_send,
	.closed = svc_probe_closed,
};

void
services_probe(struct worker *w, uint32_t daddr, uint16_t dport, uint32_t count, uint64_t bytes)
{
	struct services *sv = w->services;

	sv->probe_bytes = RTE_MIN(bytes, (uint64_t)0x7fffffff);
	for (uint32_t i = 0; i < count; i++) {
		w->ctr[0][STATS_PROBE_STARTED]++;
		if (tcp_connect(w, daddr, dport, &svc_probe_ops, NULL) == NULL)
			w->ctr[0][STATS_PROBE_FAILED]++;
	}
}

/* ---- listeners ---- */
static void
svc_accept(struct worker *w, struct stream *s, void *arg)
{
	(void)w;
	s->ops = arg;
	s->ctx = NULL;
}

void
services_start(struct worker *w)
{
	const struct cfg_services *c = &w->cfg->services;

	if (c->echo.enabled)
		tcp_listen(w, c->echo.port, svc_accept, (void *)(uintptr_t)&svc_echo_ops);
	if (c->discard.enabled)
		tcp_listen(w, c->discard.port, svc_accept, (void *)(uintptr_t)&svc_discard_ops);
	if (c->source.enabled)
		tcp_listen(w, c->source.port, svc_accept, (void *)(uintptr_t)&svc_source_ops);
}

int
services_init(struct worker *w)
{
	struct services *sv = rte_zmalloc("services", sizeof(*sv), RTE_CACHE_LINE_SIZE);

	if (sv == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < sizeof(sv->pattern); i++)
		sv->pattern[i] = (uint8_t)(i % SERVICES_PATTERN_PERIOD);
	w->services = sv;
	return 0;
}

void
services_fini(struct worker *w)
{
	rte_free(w->services);
	w->services = NULL;
}
