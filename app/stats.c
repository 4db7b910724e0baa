/*
 * stats.c — the counter table (names users read) and the control plane's
 * sum across workers. Workers only ever increment their own array.
 */
#include <string.h>

#include "app/stats.h"
#include "app/worker.h"

const struct stats_desc stats_desc[STATS_MAX] = {
#define STATS_DESC(id, name, kind, help) [STATS_##id] = { name, kind, help },
	STATS_COUNTERS(STATS_DESC)
#undef STATS_DESC
};

void
stats_sum(struct worker *const *workers, unsigned n_workers, int port, uint64_t out[STATS_MAX])
{
	memset(out, 0, sizeof(uint64_t) * STATS_MAX);
	for (unsigned i = 0; i < n_workers; i++) {
		const struct worker *w = workers[i];
		for (unsigned p = 0; p < CFG_MAX_PORTS; p++) {
			if (port >= 0 && (unsigned)port != p)
				continue;
			for (unsigned c = 0; c < STATS_MAX; c++)
				out[c] += *(const volatile uint64_t *)&w->ctr[p][c];
		}
	}
}
