/*
 * sg_hist.c — the log-linear latency histogram of sg_hist.h, filled by the
 * client for every final reply and read once by its report.
 */
#include <string.h>

#include "tools/smtpgen/sg_hist.h"

void sg_hist_init(struct sg_hist *h)
{
	memset(h, 0, sizeof(*h));
}

static unsigned sg_hist_index(uint64_t v)
{
	unsigned e, shift;

	if (v < 2 * SG_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);         /* >= SUB_BITS + 1 */
	if (e > SG_HIST_MAX_EXP)
		return SG_HIST_BUCKETS - 1;
	shift = e - SG_HIST_SUB_BITS;
	return 2 * SG_HIST_SUB + (e - SG_HIST_SUB_BITS - 1) * SG_HIST_SUB +
	       (unsigned)((v >> shift) - SG_HIST_SUB);
}

static uint64_t sg_hist_upper(unsigned i)
{
	unsigned e, shift, sub;

	if (i < 2 * SG_HIST_SUB)
		return i;
	i -= 2 * SG_HIST_SUB;
	e = i / SG_HIST_SUB + SG_HIST_SUB_BITS + 1;
	sub = i % SG_HIST_SUB + SG_HIST_SUB;
	shift = e - SG_HIST_SUB_BITS;
	return (((uint64_t)sub + 1) << shift) - 1;
}

void sg_hist_add(struct sg_hist *h, uint64_t us)
{
	h->b[sg_hist_index(us)]++;
	if (h->count == 0 || us < h->min)
		h->min = us;
	if (us > h->max)
		h->max = us;
	h->count++;
	h->sum += us;
}

uint64_t sg_hist_pct(const struct sg_hist *h, double pct)
{
	uint64_t rank, seen = 0, v;
	unsigned i;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)((pct / 100.0) * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < SG_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			break;
	}
	v = sg_hist_upper(i);
	return v > h->max ? h->max : v;
}
