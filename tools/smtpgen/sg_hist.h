/*
 * sg_hist.h — latency histogram in the spirit of HdrHistogram: values in
 * microseconds, exact below 128 us, then 64 sub-buckets per power of two
 * (relative error under 1.6 %), fixed size, no allocation. Percentiles
 * report the upper edge of the bucket holding the rank, capped at the
 * maximum seen.
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SG_HIST_H
#define MAILGW_TOOLS_SMTPGEN_SG_HIST_H

#include <stdint.h>

#define SG_HIST_SUB_BITS 6
#define SG_HIST_SUB      (1u << SG_HIST_SUB_BITS)              /* 64 */
#define SG_HIST_MAX_EXP  47                                     /* 2^48 us */
#define SG_HIST_BUCKETS  (2 * SG_HIST_SUB + (SG_HIST_MAX_EXP - SG_HIST_SUB_BITS) * SG_HIST_SUB)

struct sg_hist {
	uint64_t count, min, max, sum;
	uint64_t b[SG_HIST_BUCKETS];
};

void sg_hist_init(struct sg_hist *h);
/* Record one value (microseconds). */
void sg_hist_add(struct sg_hist *h, uint64_t us);
/* The value at percentile pct (0..100) in microseconds; 0 when empty. */
uint64_t sg_hist_pct(const struct sg_hist *h, double pct);

#endif
