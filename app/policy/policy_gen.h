/*
 * policy_gen.h — a generation of the connector table (app/policy/connector.h)
 * with the configuration it was built from and its per-worker counters.
 * The control plane builds one at start and one per `mailgwctl reload`,
 * publishes it with an atomic store, and frees a retired one once no worker
 * can still see it (RCU) and no session or next-hop connection holds it
 * (reference count): sessions in flight finish under the generation they
 * started with.
 */
#ifndef MAILGW_APP_POLICY_POLICY_GEN_H
#define MAILGW_APP_POLICY_POLICY_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/policy/connector.h"
#include "platform/config.h"

struct policy_gen {
	struct gw_config *own_cfg;      /* loaded by reload (freed with the generation); NULL at start */
	const struct gw_config *cfg;    /* the configuration the table points into */
	struct connector_table *table;
	unsigned n_connectors;
	unsigned n_workers;
	struct connector_counters *ctr[CFG_MAX_WORKERS];   /* [worker][connector id], written by that worker */
	uint64_t serial;                /* 0 at start, +1 per reload */
	uint32_t refs;                  /* holders (atomic); the published pointer is not one */
	struct policy_gen *next_retired;
};

/*
 * A generation from cfg for n_workers workers. own: cfg was loaded for it
 * (config_free and free with it). NULL with a message on error (cfg is
 * then not taken).
 */
struct policy_gen *policy_gen_create(const struct gw_config *cfg, bool own, unsigned n_workers,
				     uint64_t serial, char *err, size_t errlen);

/* Free g (no holder left, no worker can still see it). */
void policy_gen_free(struct policy_gen *g);

/* Take / drop a reference (a session, a next-hop connection). NULL is fine. */
static inline struct policy_gen *
policy_gen_hold(struct policy_gen *g)
{
	if (g != NULL)
		__atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED);
	return g;
}

static inline void
policy_gen_release(struct policy_gen *g)
{
	if (g != NULL)
		__atomic_fetch_sub(&g->refs, 1, __ATOMIC_RELEASE);
}

/* Whether nothing holds g any more. */
static inline bool
policy_gen_unused(const struct policy_gen *g)
{
	return __atomic_load_n(&g->refs, __ATOMIC_ACQUIRE) == 0;
}

/* This worker's counters of connector id in g (NULL for CONNECTOR_NONE). */
static inline struct connector_counters *
policy_gen_counters(struct policy_gen *g, unsigned worker)
{
	return g != NULL && worker < g->n_workers ? g->ctr[worker] : NULL;
}

#endif
