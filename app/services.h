/*
 * services.h — built-in TCP test services (configuration `services`): echo,
 * discard and a "source" that sends a deterministic pattern, plus the test
 * connections `mailgwctl tcp connect` opens (each sends the pattern and
 * checks that it comes back). Used by tests and benchmarks; off by default.
 *
 * The pattern: byte i of every stream is (i mod 251).
 */
#ifndef MAILGW_APP_SERVICES_H
#define MAILGW_APP_SERVICES_H

#include <stdint.h>

struct worker;

#define SERVICES_PATTERN_PERIOD 251

/* Per-worker state. Returns 0 or -ENOMEM. */
int services_init(struct worker *w);

/* Free what services_init made. */
void services_fini(struct worker *w);

/* Open the enabled services' listeners (on the worker, before its loop). */
void services_start(struct worker *w);

/* Open count test connections to daddr:dport, each sending `bytes` and checking the echo. */
void services_probe(struct worker *w, uint32_t daddr, uint16_t dport, uint32_t count, uint64_t bytes);

#endif
