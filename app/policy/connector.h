/*
 * connector.h — the connector table: per-partner TLS policy (Exchange-style
 * connectors), match and decide.
 *
 * The control plane builds one struct connector_table per configuration
 * generation with connector_table_build() (from gw_config.connectors_in and
 * connectors_out, which config_load() has validated) and frees it with that
 * generation, after every worker has passed a quiescent state. Afterwards
 * the table is read-only: every worker reads it at once without locks, and a
 * session keeps the table it started with. Addresses are looked up in
 * DPDK's rte_fib (IPv4, DIR-24-8) and rte_lpm6 (IPv6), so building a table
 * with address connectors needs the EAL; names and pins live in
 * open-addressing hash tables. Every lookup costs the same with 10 or
 * 100,000 connectors (the _ex functions count the hash probes).
 *
 * Connector ids: inbound connector i of the configuration is id i, outbound
 * connector j is id n_inbound + j; connector_count() ids in all. Per-worker
 * counters are arrays of struct connector_counters indexed by id.
 *
 * Inbound selection (connector_inbound_select()), first that applies:
 *  1. certificate pin: the client's certificate key (SPKI SHA-256) is one
 *     of a connector's client_cert_spki_pins (the handshake proves the key,
 *     so the chain need not verify);
 *  2. certificate name: a verified client certificate carries a connector's
 *     tls_sender_certificate_name, looked for in its identities
 *     (crypto/tls_names.h: its dNSName SANs, or its subject CN when it has
 *     no dNSName; exact, never from the printed subject); exact before "*.parent" (a wildcard matches one label,
 *     RFC 6125); a SAN that is itself "*.x" matches only the name "*.x";
 *     among several names the most specific wins, then the first SAN;
 *  3. client address: the longest sender_ip_addresses prefix holding it;
 *  4. at MAIL only: the sender domain, exact before the closest "*.suffix"
 *     (any depth: "*.example.com" matches a.b.example.com, not example.com).
 * The configuration refuses two connectors with the same pin, certificate
 * name, prefix or sender domain (an ambiguous choice); overlapping but
 * differently specific ones are fine (10.0.0.0/8 and 10.1.0.0/16).
 * No connector: the default policy, opportunistic TLS, nothing required.
 *
 * Inbound enforcement (connector_inbound_decide()): the selected connector's
 * own policy, in this order:
 *   TLS required (require_tls, min_tls_version, a certificate name or pin)
 *     on a plaintext session: 530 5.7.0 Must issue a STARTTLS command first;
 *   TLS below min_tls_version: 530 5.7.0 naming the version required;
 *   certificate required (certificate name or pin): missing, not verified
 *     (names only), name not matching, key not pinned: 550 5.7.1 naming the
 *     connector and the reason;
 * and at MAIL the restrictions of the connector that owns the sender domain
 * (whether or not it is the selected one: a partner's domain is protected
 * from everyone else too): restrict_domains_to_certificate (the client's
 * certificate must satisfy that connector) and
 * restrict_domains_to_ip_addresses (the client's address must be in that
 * connector's ranges): 550 5.7.1. A report_only connector refuses nothing:
 * the decision is CONNECTOR_WOULD_REFUSE with the reply it would have sent.
 * An enforced refusal wins over a report-only one; the selected connector's
 * over the domain owner's.
 *
 * Outbound (connector_outbound_lookup(), connector_outbound_decide()): the
 * recipient domain's connector (exact, then the closest "*.suffix", then a
 * "*" connector) gives the next hop (its smart hosts; none: `routes`) and
 * the TLS policy: opportunistic = "may", encryption_only = "encrypt",
 * certificate_validation = chain and dates (CFG_TLS_CHAIN), domain_validation
 * = chain and the name tls_domain ("secure"); server_spki_pins and
 * min_tls_version on top. Failures are the 451 4.7.4 / 4.7.5 replies of the
 * SMTP client. No connector: the route and its level (tls.client.level).
 */
#ifndef MAILGW_APP_POLICY_CONNECTOR_H
#define MAILGW_APP_POLICY_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/tls_names.h"
#include "platform/config.h"

struct connector_table;

#define CONNECTOR_NONE          UINT32_MAX      /* no connector: the default policy */
#define CONNECTOR_REPLY_LEN     512             /* RFC 5321 §4.5.3.1.5: a reply line */
#define CONNECTOR_DOMAIN_MAX    255             /* longer names match nothing (but "*") */

/* ---- the table ---- */

/*
 * Build the table from cfg (which must outlive it: build and free both with
 * the configuration generation). Needs the EAL when some inbound connector
 * has sender_ip_addresses, and DPDK memory for each address family in use:
 * IPv4 16, 32 or 64 MiB (under 127, under 32,767, more inbound connectors)
 * plus 256, 512 or 1,024 bytes per distinct /24 holding a longer prefix;
 * IPv6 64 MiB plus 1 KiB per trie node below /24 (connector_table_stats()
 * tells). A reload holds two generations. Returns NULL with errno set and a
 * message in err (when errlen > 0): ENOMEM, or EINVAL for a NULL cfg or
 * address connectors before rte_eal_init().
 */
struct connector_table *connector_table_build(const struct gw_config *cfg, char *err,
					      size_t errlen);

/* Free a table (NULL is fine). */
void connector_table_free(struct connector_table *t);

/* Ids in the table: inbound, then outbound connectors. */
unsigned connector_count(const struct connector_table *t);

/* The id of the connector named NAME (exact, case-sensitive), or CONNECTOR_NONE. */
uint32_t connector_find(const struct connector_table *t, const char *name);

/* The name of connector ID ("" for CONNECTOR_NONE or an unknown id). */
const char *connector_name(const struct connector_table *t, uint32_t id);

/* Connector ID if it is inbound (outbound), else NULL. */
const struct cfg_connector_in *connector_inbound(const struct connector_table *t, uint32_t id);
const struct cfg_connector_out *connector_outbound(const struct connector_table *t, uint32_t id);

/* ---- inbound ---- */

/* Why an inbound connector applies. */
enum connector_match {
	CONNECTOR_MATCH_NONE = 0,       /* none: the default policy */
	CONNECTOR_MATCH_CERT_PIN,
	CONNECTOR_MATCH_CERT_NAME,
	CONNECTOR_MATCH_ADDRESS,
	CONNECTOR_MATCH_SENDER_DOMAIN,
	CONNECTOR_MATCH_RECIPIENT_DOMAIN,   /* outbound */
	CONNECTOR_MATCH_COUNT
};

/* What a session knows about its client (zero it, then fill what is known). */
struct connector_facts {
	bool v6;                        /* addr6 rather than addr4 */
	uint32_t addr4;                 /* host byte order; an IPv4 client is always
	                                   here, never as ::ffff:a.b.c.d in addr6 */
	uint8_t addr6[16];              /* network byte order */
	int tls_version;                /* 0: plaintext, else enum cfg_tls_version */
	bool cert;                      /* the client presented a certificate */
	bool cert_verified;             /* its chain and dates verified (tls.ca_file) */
	const char *verify_text;        /* why not ("certificate has expired"), or NULL */
	const char *const *sans;        /* its dNSName SANs, any case (connector_facts_names()) */
	unsigned n_sans;
	const char *cn;                 /* its subject CN, only when it has no dNSName; or NULL */
	bool have_spki;
	uint8_t spki_sha256[CFG_SPKI_PIN_LEN];   /* SHA-256 of its SubjectPublicKeyInfo */
	const char *sender_domain;      /* at MAIL: the reverse-path's domain (not NUL-
	                                   terminated); NULL before MAIL and for <> */
	size_t sender_len;
};

/*
 * Point f's certificate names (sans, n_sans, cn) at a certificate's
 * identities (tls_names_of_x509(): dNSName SANs, else the CN): the one way
 * the workers and the simulator fill them. sans is room for max pointers
 * into n, which must outlive f.
 */
void connector_facts_names(struct connector_facts *f, const struct tls_names *n, const char **sans,
			   unsigned max);

struct connector_selection {
	uint32_t id;                    /* CONNECTOR_NONE: the default policy */
	enum connector_match why;
	const struct cfg_connector_in *conn;    /* inbound; NULL with CONNECTOR_NONE */
};

/*
 * Select the inbound connector for F (see the rules above); the sender
 * domain counts only WITH_SENDER (at MAIL). _ex: *probes (when not NULL) is
 * increased by the hash-table slots inspected (an address lookup counts 1).
 */
void connector_inbound_select(const struct connector_table *t, const struct connector_facts *f,
			      bool with_sender, struct connector_selection *sel);
void connector_inbound_select_ex(const struct connector_table *t,
				 const struct connector_facts *f, bool with_sender,
				 struct connector_selection *sel, unsigned *probes);

/* The inbound connector owning a sender domain (no default), or CONNECTOR_NONE. */
uint32_t connector_sender_owner_ex(const struct connector_table *t, const char *domain,
				   size_t len, unsigned *probes);

/* Whether an address (F's) lies in inbound connector ID's sender_ip_addresses. */
bool connector_in_ranges(const struct connector_table *t, uint32_t id,
			 const struct connector_facts *f);

enum connector_verdict {
	CONNECTOR_ALLOW = 0,
	CONNECTOR_REFUSE,
	CONNECTOR_WOULD_REFUSE,         /* report_only: allowed, logged and counted */
};

/* Why a connector refuses; also the counter names. */
enum connector_reason {
	CONNECTOR_R_NONE = 0,
	CONNECTOR_R_TLS_REQUIRED,       /* 530 5.7.0: plaintext */
	CONNECTOR_R_TLS_VERSION,        /* 530 5.7.0: below min_tls_version */
	CONNECTOR_R_CERT_MISSING,       /* 550 5.7.1 */
	CONNECTOR_R_CERT_UNVERIFIED,    /* 550 5.7.1 */
	CONNECTOR_R_CERT_NAME,          /* 550 5.7.1 */
	CONNECTOR_R_CERT_PIN,           /* 550 5.7.1 */
	CONNECTOR_R_DOMAIN_CERT,        /* 550 5.7.1: restrict_domains_to_certificate */
	CONNECTOR_R_DOMAIN_ADDRESS,     /* 550 5.7.1: restrict_domains_to_ip_addresses */
	CONNECTOR_R_OUT_NOT_OFFERED,    /* 451 4.7.4: the next hop offered no STARTTLS */
	CONNECTOR_R_OUT_HANDSHAKE,      /* 451 4.7.5 */
	CONNECTOR_R_OUT_TLS_VERSION,    /* 451 4.7.5 */
	CONNECTOR_R_OUT_CHAIN,          /* 451 4.7.5: chain or dates */
	CONNECTOR_R_OUT_NAME,           /* 451 4.7.5: not tls_domain */
	CONNECTOR_R_OUT_PIN,            /* 451 4.7.5: key not in server_spki_pins */
	CONNECTOR_R_COUNT
};

/* "tls_required", "cert_missing", "out_pin", ... ("?" out of range). */
const char *connector_reason_name(enum connector_reason r);

/* "none", "certificate pin", "certificate name", "client address", "sender domain",
 * "recipient domain". */
const char *connector_match_name(enum connector_match m);

enum connector_stage {
	CONNECTOR_STAGE_SESSION,        /* a command before MAIL (or MAIL, before its sender
	                                   is looked at): certificate and address connectors */
	CONNECTOR_STAGE_MAIL,           /* MAIL FROM: the above, then the sender domain */
};

struct connector_decision {
	enum connector_verdict verdict;
	enum connector_reason reason;   /* CONNECTOR_R_NONE when nothing is refused */
	struct connector_selection sel; /* the connector whose policy applies */
	uint32_t by;                    /* the connector that refuses (or would); sel.id, or
	                                   at MAIL the sender domain's owner */
	uint32_t domain_owner;          /* at MAIL: the sender domain's connector, or NONE */
	unsigned code;                  /* 530, 550, 451; 0 when nothing is refused */
	char reply[CONNECTOR_REPLY_LEN];   /* "550 5.7.1 Connector ..." (no CRLF), or "" */
};

/*
 * Decide for F at STAGE (see above). Pure but for the table lookups: the
 * workers and the simulator call this very function.
 */
void connector_inbound_decide(const struct connector_table *t, const struct connector_facts *f,
			      enum connector_stage stage, struct connector_decision *d);

/* ---- outbound ---- */

/*
 * The outbound connector of a recipient domain (any case, not
 * NUL-terminated, one trailing dot tolerated), its id into *id (when not
 * NULL); NULL (and CONNECTOR_NONE) when none applies: the caller then uses
 * routes and their TLS level. Its route (hops: n_hops 0 means take the next
 * hop from routes), pins, min_tls_version and mode are the policy.
 * In report_only mode the client should behave as opportunistic ("may")
 * while still checking what the level asks, and report through
 * connector_outbound_decide().
 */
const struct cfg_connector_out *connector_outbound_lookup(const struct connector_table *t,
							  const char *domain, size_t len,
							  uint32_t *id);
const struct cfg_connector_out *connector_outbound_lookup_ex(const struct connector_table *t,
							     const char *domain, size_t len,
							     uint32_t *id, unsigned *probes);

/* What the SMTP client learned of a next hop. */
struct connector_peer {
	const char *host;               /* for the reply: "203.0.113.25" */
	bool starttls_offered;          /* in the EHLO reply */
	bool tls;                       /* the handshake completed */
	int tls_version;                /* enum cfg_tls_version */
	bool chain_ok;                  /* chain and dates verified (tls.client.ca_file) */
	bool name_ok;                   /* the certificate carries tls_domain (RFC 6125) */
	bool have_spki;
	uint8_t spki_sha256[CFG_SPKI_PIN_LEN];
};

/*
 * Decide the TLS of a connection to a next hop of outbound connector ID.
 * Opportunistic never refuses. d->sel.id is ID (why: recipient domain),
 * d->by too; the reply is the 451 the SMTP client's relay gives its own
 * client. Call it when the next hop's EHLO reply offers no STARTTLS
 * (starttls_offered false), when the handshake fails (tls false) and when
 * it completes.
 */
void connector_outbound_decide(const struct connector_table *t, uint32_t id,
			       const struct connector_peer *p, struct connector_decision *d);

/* ---- text ---- */

/*
 * One line for the message log and the console: `connector "NAME" (client
 * address): refused tls_required: 530 5.7.0 ...`, `no connector (default
 * policy)`, `... would refuse (report_only) ...`. Returns the length as
 * snprintf.
 */
int connector_decision_text(const struct connector_table *t, const struct connector_decision *d,
			    char *buf, size_t len);

/*
 * Connector ID's configured and effective policy, several lines (for
 * `mailgwctl show connector NAME` and the simulator). Returns the length as
 * snprintf.
 */
int connector_describe(const struct connector_table *t, uint32_t id, char *buf, size_t len);

/* ---- the simulator: mailgwctl test connector ---- */

#define CONNECTOR_SIM_ARG_LEN   256

/* A query: the console command's arguments, parsed. */
struct connector_sim {
	struct connector_facts f;       /* the client: address, TLS, certificate */
	bool has_sender, has_recipient;
	char sender[CONNECTOR_SIM_ARG_LEN];     /* an address or a domain; "" = <> */
	char recipient[CONNECTOR_SIM_ARG_LEN];
	char cert_file[CONNECTOR_SIM_ARG_LEN];  /* --cert FILE: the caller fills f's
	                                           certificate facts (cert, verified, SANs,
	                                           CN, SPKI) from it */
	char cert_name[CONNECTOR_SIM_ARG_LEN];  /* --cert-name N: a verified certificate
	                                           with the single SAN N */
	const char *sans[1];
};

/*
 * Parse `--ip A --sender S --recipient R [--cert-name N | --cert FILE]
 * [--tls 1.2|1.3|none]` (ARGV holds the options only). --ip is required,
 * --sender and --recipient optional; --tls defaults to "none", or "1.2" with
 * a certificate. Returns 0, or -EINVAL with a message in err.
 */
int connector_sim_parse(struct connector_sim *q, int argc, const char *const *argv,
			char *err, size_t errlen);

/*
 * Evaluate Q on T with the functions the workers use and write the report:
 * each direction's connector, why it matched, the decision and the reply.
 * Returns the length as snprintf.
 */
int connector_simulate(const struct connector_table *t, const struct connector_sim *q,
		       char *buf, size_t len);

/* ---- counters ---- */

enum connector_tls_seen {
	CONNECTOR_TLS_PLAIN = 0,
	CONNECTOR_TLS_1_2,
	CONNECTOR_TLS_1_3,
	CONNECTOR_TLS_SEEN_COUNT
};

#define CONNECTOR_CIPHER_COUNT  10      /* the nine suites of our policy and "other" */

/* One connector's counters on one worker (sum them with connector_counters_add()). */
struct connector_counters {
	uint64_t accepted;                          /* messages accepted under it */
	uint64_t refused[CONNECTOR_R_COUNT];        /* by reason */
	uint64_t would_refuse[CONNECTOR_R_COUNT];   /* report_only */
	uint64_t tls[CONNECTOR_TLS_SEEN_COUNT];     /* sessions by protocol */
	uint64_t cipher[CONNECTOR_CIPHER_COUNT];    /* TLS sessions by cipher suite */
	int64_t cert_not_after;                     /* the partner certificate last seen:
	                                               expiry, seconds since the epoch; 0 none */
	int64_t cert_seen;                          /* when it was seen */
};

/* Count a decision in COUNTERS (an array indexed by id): refused or would_refuse. */
void connector_count_decision(struct connector_counters *counters,
			      const struct connector_decision *d);

/* Count a message accepted under connector ID (nothing for CONNECTOR_NONE). */
void connector_count_accepted(struct connector_counters *counters, uint32_t id);

/*
 * Count a session of connector ID: its TLS version (0 plaintext), cipher
 * (OpenSSL name, NULL when plaintext) and, when CERT_NOT_AFTER is not 0, the
 * partner's certificate expiry seen at NOW.
 */
void connector_count_tls(struct connector_counters *counters, uint32_t id, int tls_version,
			 const char *cipher, int64_t cert_not_after, int64_t now);

/* SUM += C (the certificate seen last wins). */
void connector_counters_add(struct connector_counters *sum, const struct connector_counters *c);

/* The cipher counter of an OpenSSL suite name ("other" for unknown ones), and its name. */
unsigned connector_cipher_index(const char *name);
const char *connector_cipher_name(unsigned i);

/* enum cfg_tls_version of a protocol name ("TLSv1.2", "TLSv1.3"); 0 for NULL or others. */
int connector_tls_version(const char *name);

/*
 * The counters C (summed over the workers) as lines for `mailgwctl show
 * connector NAME`: accepted, refused and would-refuse by reason, sessions by
 * protocol and cipher, the partner certificate's expiry. Returns the length
 * as snprintf.
 */
int connector_counters_text(const struct connector_counters *c, char *buf, size_t len);

/* ---- sizes ---- */

struct connector_stats {
	unsigned inbound, outbound;     /* connectors */
	unsigned names;                 /* distinct names (sender, certificate, recipient) */
	unsigned name_slots;
	unsigned name_max_probe;        /* longest probe sequence of any stored name */
	unsigned pins, pin_slots, pin_max_probe;
	unsigned prefixes4, prefixes6;  /* address prefixes in rte_fib / rte_lpm6 */
	unsigned tbl8_4, tbl8_6;        /* tbl8 groups reserved */
	size_t bytes;                   /* heap the table holds */
	size_t dpdk_bytes;              /* DPDK memory of rte_fib and rte_lpm6 (about) */
};

void connector_table_stats(const struct connector_table *t, struct connector_stats *st);

#endif /* MAILGW_APP_POLICY_CONNECTOR_H */
