/*
 * sg_util.c — helpers for smtpgen (see sg_util.h): clock, PRNG, parsing of
 * sizes, numbers and addresses, fd limits, rate-limited warnings. Used by
 * every other smtpgen module; calls nothing of theirs.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tools/smtpgen/sg_util.h"

uint64_t sg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t sg_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sg_rng_seed(struct sg_rng *r, uint64_t seed)
{
	r->s[0] = sg_splitmix(&seed);
	r->s[1] = sg_splitmix(&seed);
	if (r->s[0] == 0 && r->s[1] == 0)
		r->s[1] = 1;
}

static inline uint64_t sg_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sg_rng_next(struct sg_rng *r)
{
	uint64_t s0 = r->s[0], s1 = r->s[1], res = s0 + s1;

	s1 ^= s0;
	r->s[0] = sg_rotl(s0, 24) ^ s1 ^ (s1 << 16);
	r->s[1] = sg_rotl(s1, 37);
	return res;
}

uint32_t sg_rng_below(struct sg_rng *r, uint32_t n)
{
	return (uint32_t)(((sg_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double sg_rng_unit(struct sg_rng *r)
{
	return ((double)(sg_rng_next(r) >> 11) + 1.0) / 9007199254740992.0;
}

uint64_t sg_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	return sg_now_ns() ^ ((uint64_t)getpid() << 32);
}

int sg_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'k': mul = 1024; end++; break;
	case 'm': mul = 1024 * 1024; end++; break;
	case 'g': mul = 1024ull * 1024 * 1024; end++; break;
	default: return -EINVAL;
	}
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

int sg_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int sg_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= min && v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

bool sg_is_ip_literal(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

int sg_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
                      char *host, size_t hostlen, char *err, size_t errlen)
{
	const char *colon, *hs = s, *he;
	struct addrinfo hints, *res = NULL;
	unsigned long port;
	int rc;

	if (*s == '[') {
		hs = s + 1;
		he = strchr(hs, ']');
		if (!he || he[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPv6]:PORT", s);
			return -EINVAL;
		}
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "'%s': expected HOST:PORT", s);
			return -EINVAL;
		}
		he = colon;
	}
	if ((size_t)(he - hs) >= hostlen || he == hs) {
		snprintf(err, errlen, "'%s': bad host", s);
		return -EINVAL;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (sg_parse_ulong(colon + 1, 1, 65535, &port)) {
		snprintf(err, errlen, "'%s': bad port", s);
		return -EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc || !res) {
		snprintf(err, errlen, "'%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return 0;
}

unsigned long sg_raise_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

void sg_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

bool sg_prefix_ci(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(line, prefix, n) == 0;
}

void sg_warn(unsigned kind, const char *fmt, ...)
{
	static unsigned seen[SG_WARN_KINDS];
	va_list ap;

	if (kind >= SG_WARN_KINDS || seen[kind]++ >= SG_WARN_MAX)
		return;
	fputs("smtpgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (seen[kind] == SG_WARN_MAX)
		fputs(" (further messages of this kind are only counted)", stderr);
	fputc('\n', stderr);
}

void sg_cpu_times(double *user_s, double *sys_s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}
