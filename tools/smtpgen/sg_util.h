/*
 * sg_util.h — small helpers shared by smtpgen's modes: monotonic clock, a
 * fast PRNG, number/size/address parsing, file-descriptor limits, and
 * once-per-kind error messages. No state beyond what the caller passes in.
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SG_UTIL_H
#define MAILGW_TOOLS_SMTPGEN_SG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define sg_container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* Monotonic time in nanoseconds. */
uint64_t sg_now_ns(void);

/* xoroshiro128+ state; sg_rng_seed() accepts any value, 0 included. */
struct sg_rng {
	uint64_t s[2];
};

void sg_rng_seed(struct sg_rng *r, uint64_t seed);
uint64_t sg_rng_next(struct sg_rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t sg_rng_below(struct sg_rng *r, uint32_t n);
/* Uniform in (0, 1]. */
double sg_rng_unit(struct sg_rng *r);

/* A seed from the kernel (getrandom), falling back to time and pid. */
uint64_t sg_seed(void);

/* "4096", "4k", "32K", "1m", "2g" (binary multiples) into *out; 0 / -EINVAL. */
int sg_parse_size(const char *s, uint64_t *out);
/* A decimal unsigned integer in [min, max]; 0 / -EINVAL / -ERANGE. */
int sg_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* A non-negative decimal number (seconds, rates) in [min, max]; 0 / -EINVAL. */
int sg_parse_double(const char *s, double min, double max, double *out);

/*
 * "HOST:PORT", "[V6]:PORT" or "V4:PORT" into a socket address (the host is
 * resolved with getaddrinfo, so call it at start-up only). host receives
 * the host part without brackets. 0 or -EINVAL (message in err).
 */
int sg_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
                      char *host, size_t hostlen, char *err, size_t errlen);
/* True when s is an IPv4 or IPv6 literal (no SNI or name check for those). */
bool sg_is_ip_literal(const char *s);

/* Raise RLIMIT_NOFILE's soft limit to at least want (up to the hard limit);
 * returns the resulting soft limit. */
unsigned long sg_raise_nofile(unsigned long want);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void sg_hex(const uint8_t *in, size_t n, char *out);

/* Case-insensitive "does line start with prefix". */
bool sg_prefix_ci(const char *line, size_t len, const char *prefix);

/*
 * Error messages that could repeat once per connection: the first
 * SG_WARN_MAX of each kind go to stderr with a prefix, the rest are only
 * counted by the caller. kind is an index below SG_WARN_KINDS.
 */
#define SG_WARN_KINDS 32
#define SG_WARN_MAX   3
void sg_warn(unsigned kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* CPU time of this process (user, system) in seconds. */
void sg_cpu_times(double *user_s, double *sys_s);

#endif
