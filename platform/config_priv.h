/*
 * config_priv.h — what platform/config.c shares with the other parts of the
 * configuration loader (platform/config_smtp.c, platform/config_tls.c,
 * platform/config_connectors.c). Not for other modules: they use
 * platform/config.h.
 *
 * Every loader function takes the load's struct cfg_ctx, names the setting it
 * reads by its full path ("smtp.limits.recipients", "routes.[2].domains.[0]")
 * and returns 0 or, through cfg_fail(), -EINVAL with the one-line message
 * "FILE:LINE: path: what is wrong" in the context's error buffer.
 */
#ifndef MAILGW_PLATFORM_CONFIG_PRIV_H
#define MAILGW_PLATFORM_CONFIG_PRIV_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "platform/config.h"

#define CFG_PATH_BUF     256             /* "ports.[1] (\"int\").address" etc. */
#define CFG_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What a load carries around: where errors go, which CPUs exist. */
struct cfg_ctx {
	const char *file;
	char *err;
	size_t errlen;
	cpu_set_t usable;
};

/* An integer setting stored in an unsigned field of some struct. */
struct cfg_int_rule {
	const char *name;
	size_t offset;
	long long min, max;
	bool pow2;
};

/* An output buffer with snprintf semantics: USED counts what would be written. */
struct cfg_out {
	char *buf;
	size_t len;
	size_t used;
};

/* ---- errors and paths (config.c) ---- */

/* Write "FILE:LINE: PATH: message" (LINE 0 counts as 1); returns -EINVAL. */
int __attribute__((format(printf, 4, 5)))
cfg_fail(struct cfg_ctx *c, int line, const char *path, const char *fmt, ...);

/* Source line of S (0 for NULL). */
int cfg_line(const config_setting_t *s);

/* Line of group's member NAME, or of the group itself when it is absent. */
int cfg_member_line(const config_setting_t *group, const char *name);

/* "PREFIX.NAME" into BUF, or "NAME" when PREFIX is empty. */
void cfg_path(char *buf, size_t n, const char *prefix, const char *name);

/* "expected EXPECTED, got <type of S>"; returns -EINVAL. */
int cfg_type_error(struct cfg_ctx *c, const config_setting_t *s,
		   const char *path, const char *expected);

/* Refuse any member of GROUP not in KNOWN (NULL-terminated), with a
 * "did you mean" hint for a near miss. */
int cfg_check_names(struct cfg_ctx *c, const config_setting_t *group,
		    const char *prefix, const char *const *known);

/* The name of KNOWN (NULL-terminated) within edit distance 2 of NAME, the
 * closest, or NULL: the "did you mean" hint. */
const char *cfg_closest(const char *const *known, const char *name);

/* ---- typed getters (config.c) ---- */

/* An int or int64 setting in MIN..MAX. */
int cfg_get_int(struct cfg_ctx *c, const config_setting_t *s,
		const char *path, long long min, long long max,
		long long *out);

/* A string setting; *out points into libconfig's tree. */
int cfg_get_string(struct cfg_ctx *c, const config_setting_t *s,
		   const char *path, const char **out);

/* A non-empty string setting of at most MAXLEN characters, copied into DST. */
int cfg_get_strcpy(struct cfg_ctx *c, const config_setting_t *s,
		   const char *path, char *dst, size_t maxlen);

int cfg_get_bool(struct cfg_ctx *c, const config_setting_t *s,
		 const char *path, bool *out);

/* A string setting that must be one of NAMES (NULL-terminated); its index
 * goes to OUT. */
int cfg_get_enum(struct cfg_ctx *c, const config_setting_t *s,
		 const char *path, const char *const *names, int *out);

/* Optional group member NAME of PARENT: *out = NULL when absent. */
int cfg_get_group(struct cfg_ctx *c, const config_setting_t *parent,
		  const char *name, const char *path,
		  config_setting_t **out);

/* An array or a list. */
bool cfg_is_sequence(const config_setting_t *s);

/* The N integer RULES of GROUP that are present, into unsigned fields of DST. */
int cfg_load_ints(struct cfg_ctx *c, const config_setting_t *group,
		  const char *prefix, const struct cfg_int_rule *rules,
		  size_t n, void *dst);

/* ---- addresses (config.c) ---- */

/* Four dotted octets at the start of S; returns the end or NULL. */
const char *cfg_parse_quad(const char *s, uint32_t *addr);

/* The netmask of a /PREFIX_LEN, host byte order. */
uint32_t cfg_mask(unsigned prefix_len);

/* "a.b.c.d" of A (host byte order). */
void cfg_ntoa(uint32_t a, char buf[16]);

/* Why A cannot be a host address in a /LEN subnet ("is a loopback
 * address"...), or NULL if it can. */
const char *cfg_bad_host(uint32_t a, unsigned len);

/* ---- format (config.c) ---- */

void __attribute__((format(printf, 2, 3)))
cfg_put(struct cfg_out *o, const char *fmt, ...);

/* A libconfig string literal: quotes, backslashes and controls escaped. */
void cfg_put_string(struct cfg_out *o, const char *s);

/* INDENT NAME = "VALUE";\n */
void cfg_put_str_setting(struct cfg_out *o, const char *indent,
			 const char *name, const char *value);

/* A 64-bit integer; libconfig needs the L suffix above INT32_MAX. */
void cfg_put_u64(struct cfg_out *o, uint64_t v);

/* ---- smtp and routes (config_smtp.c) ---- */

/* The defaults of the smtp group (no routes). Called by config_defaults(). */
void cfg_smtp_defaults(struct gw_config *cfg);

/*
 * The `smtp` group and the `routes` list of ROOT into cfg (after tcp and
 * services, whose ports smtp.port is checked against). What they allocate
 * is attached to cfg as it goes, so config_free() frees it on any error.
 */
int cfg_load_smtp(struct cfg_ctx *c, const config_setting_t *root,
		  struct gw_config *cfg);
int cfg_load_routes(struct cfg_ctx *c, const config_setting_t *root,
		    struct gw_config *cfg);

/* The smtp group and the routes list (none when empty), in libconfig syntax. */
void cfg_format_smtp(struct cfg_out *o, const struct gw_config *cfg);
void cfg_format_routes(struct cfg_out *o, const struct gw_config *cfg);

/* What cfg_get_domain() accepts beyond a plain host name. */
#define CFG_DOM_WILDCARD  1u            /* "*.example.com" */
#define CFG_DOM_ANY       2u            /* "*" alone: the default route */
#define CFG_DOM_LOWER     4u            /* store it lower-case */
#define CFG_DOMAIN_MAX    253           /* characters, without a trailing dot */

/*
 * A string setting that must be a domain name of at most MAX characters
 * (LDH labels; FLAGS as above; a trailing dot dropped; no address
 * literals): the text as written goes to RAW, its normal form to OUT
 * (CFG_HOSTNAME_LEN bytes).
 */
int cfg_get_domain(struct cfg_ctx *c, const config_setting_t *s,
		   const char *path, unsigned flags, size_t max,
		   char *out, const char **raw);

/* "out of memory" at PATH; returns -ENOMEM. */
int cfg_nomem(struct cfg_ctx *c, int line, const char *path);

/*
 * The next hops of the list S (strings "a.b.c.d[:PORT]" or groups
 * { address; port; priority; }, as a route's next_hops) into HOPS, sorted by
 * priority; PATH names the list in errors, REF in "already used by REF.[N]".
 * An empty list gives *n_hops 0 (the caller decides); more than
 * CFG_MAX_NEXT_HOPS is an error.
 */
int cfg_load_hop_list(struct cfg_ctx *c, const config_setting_t *s,
		      const char *path, const char *ref,
		      struct cfg_next_hop *hops, unsigned *n_hops);

/* ---- connectors (config_connectors.c) ---- */

/*
 * The `connectors` group of ROOT into cfg, after tls (whose settings the
 * connectors' TLS requirements are checked against). What it allocates is
 * attached to cfg as it goes, so config_free() frees it on any error.
 */
int cfg_load_connectors(struct cfg_ctx *c, const config_setting_t *root,
			struct gw_config *cfg);

/* The connectors group (none when there are no connectors), in libconfig syntax. */
void cfg_format_connectors(struct cfg_out *o, const struct gw_config *cfg);

/* Free the connectors (called by config_free()). */
void cfg_connectors_free(struct gw_config *cfg);

/* ---- tls (config_tls.c) ---- */

/* Names of enum cfg_tls_level, indexed by it, NULL-terminated. */
extern const char *const cfg_tls_levels[];

/* The defaults of the tls group. Called by config_defaults(). */
void cfg_tls_defaults(struct gw_config *cfg);

/*
 * The `tls` group of ROOT into cfg, after the routes: a level that verifies
 * certificates (tls.client.level or a route's tls_level) needs
 * tls.client.ca_file. Allocates nothing.
 */
int cfg_load_tls(struct cfg_ctx *c, const config_setting_t *root,
		 struct gw_config *cfg);

/* The tls group, in libconfig syntax. */
void cfg_format_tls(struct cfg_out *o, const struct gw_config *cfg);

#endif
