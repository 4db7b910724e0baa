/*
 * log.h — the gateway's log: workers write fixed-size records into their own
 * ring (never blocking, never allocating); the control plane drains the rings
 * and writes one line per record to a file, syslog or stderr.
 */
#ifndef MAILGW_PLATFORM_LOG_H
#define MAILGW_PLATFORM_LOG_H

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

/* Create a log ring of count records on the given socket. */
struct rte_ring *log_ring_create(const char *name, unsigned count, int socket);

#endif
