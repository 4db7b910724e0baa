/*
 * log.h — the gateway's log: workers write fixed-size records into their own
 * ring (never blocking, never allocating); the control plane drains the rings
 * and writes one line per record to a file, syslog or stderr.
 */
#ifndef MAILGW_PLATFORM_LOG_H
#define MAILGW_PLATFORM_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ring.h>

#include "platform/config.h"

#define LOG_MSG_LEN 1000

struct log_rec {
	uint64_t realtime_ns;
	uint8_t level;                  /* enum cfg_log_level */
	uint8_t source;                 /* worker id + 1; 0 = control plane */
	char msg[LOG_MSG_LEN + 6];
};

/* Open the configured log target. Returns 0 or -errno (message in err). */
int log_open(const struct gw_config *cfg, char *err, size_t errlen);

/* Close the log target (flushes). */
void log_close(void);

/* Control plane: write a line now. */
void log_msg(enum cfg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Data path: queue a line in ring r for the control plane. Returns 0, or
 * -ENOBUFS when the ring is full (the caller counts log.dropped). Lines
 * above the configured level are skipped (return 0).
 */
int log_ring_printf(struct rte_ring *r, enum cfg_log_level max_level,
		    enum cfg_log_level level, unsigned worker_id,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Control plane: write out every record waiting in r. Returns how many. */
unsigned log_drain(struct rte_ring *r);

/*
 * Rate limit of one kind of log line (one call site of one worker): a token
 * bucket of `rate` lines a second, bursts of up to `rate`. Lines beyond it
 * are suppressed and counted; the count is handed back, to be logged as one
 * summary line, with the next line let through or by log_rl_pending().
 * Zero-initialised; the clock is any counter of hz ticks a second (TSC).
 */
struct log_rl {
	uint64_t tokens;                /* lines in hand, times hz */
	uint64_t last;                  /* clock of the last refill */
	uint64_t since;                 /* clock of the first line not yet reported as suppressed */
	uint32_t suppressed;            /* lines suppressed and not yet reported */
	bool started;
};

/*
 * Whether a line may go out at clock now (rate lines a second; 0 = no
 * limit). When it may, *report is the number of lines suppressed before it
 * (their summary goes first), else 0; the count is then reset.
 */
bool log_rl_allow(struct log_rl *rl, uint64_t now, uint64_t hz, unsigned rate, uint32_t *report);

/*
 * Lines suppressed at least a second ago and not reported yet (called
 * periodically so that a burst's summary comes even when no line follows):
 * their count, reset; 0 when there is nothing to report yet.
 */
uint32_t log_rl_pending(struct log_rl *rl, uint64_t now, uint64_t hz);

/* Create a log ring of count records on the given socket. */
struct rte_ring *log_ring_create(const char *name, unsigned count, int socket);

#endif
