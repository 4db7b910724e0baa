/*
 * policy_gen.c — connector-table generations (see policy_gen.h): built by
 * main at start and by ctl on reload, held by SMTP sessions and next-hop
 * connections, freed by the control plane.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "app/policy/policy_gen.h"

struct policy_gen *
policy_gen_create(const struct gw_config *cfg, bool own, unsigned n_workers, uint64_t serial, char *err,
		  size_t errlen)
{
	struct policy_gen *g = calloc(1, sizeof(*g));

	if (g == NULL || n_workers > CFG_MAX_WORKERS) {
		snprintf(err, errlen, "out of memory for the connector table");
		free(g);
		return NULL;
	}
	g->cfg = cfg;
	g->n_workers = n_workers;
	g->serial = serial;
	g->table = connector_table_build(cfg, err, errlen);
	if (g->table == NULL) {
		free(g);
		return NULL;
	}
	g->n_connectors = connector_count(g->table);
	for (unsigned i = 0; i < n_workers; i++) {
		g->ctr[i] = calloc(g->n_connectors ? g->n_connectors : 1, sizeof(*g->ctr[i]));
		if (g->ctr[i] == NULL) {
			snprintf(err, errlen, "out of memory for the connector counters");
			policy_gen_free(g);
			return NULL;
		}
	}
	if (own)
		g->own_cfg = (struct gw_config *)cfg;
	return g;
}

void
policy_gen_free(struct policy_gen *g)
{
	if (g == NULL)
		return;
	connector_table_free(g->table);
	for (unsigned i = 0; i < g->n_workers; i++)
		free(g->ctr[i]);
	if (g->own_cfg != NULL) {
		config_free(g->own_cfg);
		free(g->own_cfg);
	}
	free(g);
}
