/*
 * ctl.h — the gateway's console commands (the table is
 * platform/console_table.c: show, clear, tcp connect, linkem, reload certs,
 * reload, test connector) and their rte_telemetry twins under /mailgw/; the
 * publication of new certificate, ticket-key and connector generations.
 * Control plane only; reads worker state without stopping the workers.
 */
#ifndef MAILGW_APP_CTL_H
#define MAILGW_APP_CTL_H

#include <stdbool.h>

#include "platform/console.h"

struct gw;
struct policy_gen;

/* Set up the console's state from the running gateway (before serving). */
void ctl_init(struct gw *gw);

/* console_handler_fn for the console socket; ctx is the struct gw. */
int ctl_handle(void *ctx, struct console_out *o, int argc, char **argv, bool json);

/* Register /mailgw/stats, /mailgw/ports, /mailgw/arp with rte_telemetry (after ctl_init). Returns 0 or -errno. */
int ctl_telemetry_register(void);

/*
 * `mailgwctl reload certs` and SIGHUP: load the configured certificate and
 * key files (and CA bundles) again into a new TLS generation, refuse it if
 * anything is wrong (unreadable, key mismatch, an expired certificate), else
 * publish it to the workers (RCU: sessions in flight keep theirs). Writes a
 * one-line result to msg. Returns 0 or -EINVAL (the old set stays live).
 */
int ctl_reload_certs(struct gw *gw, char *msg, size_t len);

/*
 * Publish a new session-ticket key set (tls_ticket.h) made from the current
 * one at time now (seconds): a fresh key encrypts, the old ones decrypt for
 * tls.session_timeout more. The old set is freed once every worker has
 * passed a quiescent state. Returns 0 or -ENOMEM (the old set stays).
 */
int ctl_rotate_tickets(struct gw *gw, uint64_t now);

/*
 * Publish g as the connector-table generation: the old one is retired
 * (after every worker passed a quiescent state) and freed by
 * ctl_free_retired() once nothing holds it.
 */
void ctl_publish_policy(struct gw *gw, struct policy_gen *g);

/* Free the retired connector-table generations nothing holds any more (the control loop calls it). */
void ctl_free_retired(struct gw *gw);

#endif
