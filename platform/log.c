/*
 * log.c — log target (file, syslog, stderr) and the workers' log rings.
 * Control plane: log_open/log_msg/log_drain. Data path: log_ring_printf,
 * which formats into a fixed record and enqueues it without blocking, and
 * the rate limiter of repeated lines (log_rl_*, pure: the caller's clock).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "platform/log.h"

/* Control-plane only state (never touched by workers). */
static struct {
	int fd;                         /* -1: syslog */
	enum cfg_log_level level;
} log_state = { .fd = STDERR_FILENO, .level = CFG_LOG_INFO };

static const int log_syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

int
log_open(const struct gw_config *cfg, char *err, size_t errlen)
{
	log_state.level = cfg->log_level;
	if (strcmp(cfg->log_file, "stderr") == 0) {
		log_state.fd = STDERR_FILENO;
		return 0;
	}
	if (strcmp(cfg->log_file, "syslog") == 0) {
		openlog("mailgw", LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_state.fd = -1;
		return 0;
	}
	int fd = open(cfg->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open log file: %s", cfg->log_file, strerror(e));
		return -e;
	}
	log_state.fd = fd;
	return 0;
}

void
log_close(void)
{
	if (log_state.fd == -1)
		closelog();
	else if (log_state.fd > STDERR_FILENO)
		close(log_state.fd);
	log_state.fd = STDERR_FILENO;
}

static void
log_write(uint64_t realtime_ns, enum cfg_log_level level, unsigned source, const char *msg)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char who[16];

	if (source == 0)
		snprintf(who, sizeof(who), "main");
	else
		snprintf(who, sizeof(who), "worker%u", source - 1);
	if (log_state.fd == -1) {
		syslog(log_syslog_prio[level], "%s: %s: %s", who, names[level], msg);
		return;
	}
	time_t secs = (time_t)(realtime_ns / 1000000000ull);
	struct tm tm;
	char ts[32], line[LOG_MSG_LEN + 128];
	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	int n = snprintf(line, sizeof(line), "%s.%03uZ mailgw[%d]: %s: %s: %s\n", ts,
			 (unsigned)(realtime_ns / 1000000 % 1000), (int)getpid(), who,
			 names[level], msg);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	if (write(log_state.fd, line, n) < 0)
		return; /* nowhere left to report it */
}

static uint64_t
log_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void
log_msg(enum cfg_log_level level, const char *fmt, ...)
{
	char msg[LOG_MSG_LEN];
	va_list ap;

	if (level > log_state.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(log_now_ns(), level, 0, msg);
}

int
log_ring_printf(struct rte_ring *r, enum cfg_log_level max_level,
		enum cfg_log_level level, unsigned worker_id, const char *fmt, ...)
{
	struct log_rec rec;
	va_list ap;

	if (level > max_level)
		return 0;
	rec.realtime_ns = log_now_ns();
	rec.level = level;
	rec.source = (uint8_t)(worker_id + 1);
	va_start(ap, fmt);
	vsnprintf(rec.msg, sizeof(rec.msg), fmt, ap);
	va_end(ap);
	if (rte_ring_sp_enqueue_elem(r, &rec, sizeof(rec)) != 0)
		return -ENOBUFS;
	return 0;
}

unsigned
log_drain(struct rte_ring *r)
{
	struct log_rec rec;
	unsigned n = 0;

	while (rte_ring_sc_dequeue_elem(r, &rec, sizeof(rec)) == 0) {
		rec.msg[sizeof(rec.msg) - 1] = '\0';
		log_write(rec.realtime_ns, (enum cfg_log_level)rec.level, rec.source, rec.msg);
		n++;
	}
	return n;
}

bool
log_rl_allow(struct log_rl *rl, uint64_t now, uint64_t hz, unsigned rate, uint32_t *report)
{
	uint64_t cap = (uint64_t)rate * hz;

	*report = 0;
	if (rate == 0 || hz == 0)
		return true;
	if (!rl->started) {
		rl->started = true;
		rl->tokens = cap;
		rl->last = now;
	} else if (now > rl->last) {
		uint64_t dt = now - rl->last;
		rl->tokens += (dt < hz ? dt : hz) * rate;      /* a second refills all: no overflow */
		if (rl->tokens > cap)
			rl->tokens = cap;
		rl->last = now;
	}
	if (rl->tokens < hz) {
		if (rl->suppressed++ == 0)
			rl->since = now;
		return false;
	}
	rl->tokens -= hz;
	*report = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

uint32_t
log_rl_pending(struct log_rl *rl, uint64_t now, uint64_t hz)
{
	uint32_t n = rl->suppressed;

	if (n == 0 || now < rl->since + hz)
		return 0;
	rl->suppressed = 0;
	return n;
}

struct rte_ring *
log_ring_create(const char *name, unsigned count, int socket)
{
	return rte_ring_create_elem(name, sizeof(struct log_rec), count, socket,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
}
