/*
 * config.h — the gateway's configuration (libconfig file, schema v1).
 *
 * config_load() parses and validates a file into one immutable
 * struct gw_config. Every error names the file, the line and the setting:
 * "FILE:LINE: setting.path: what is wrong". The control plane loads it once at
 * start-up (and later on reload); workers only ever read it.
 */
#ifndef MAILGW_PLATFORM_CONFIG_H
#define MAILGW_PLATFORM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define CFG_SCHEMA_VERSION   1
#define CFG_MAX_PORTS        8
#define CFG_MAX_WORKERS      64
#define CFG_MAX_EAL_EXTRA    16
#define CFG_NAME_LEN         16
#define CFG_DEVICE_LEN       256
#define CFG_PATH_LEN         256
#define CFG_ERR_LEN          512

enum cfg_poll_mode {
	CFG_POLL_BUSY = 0,
	CFG_POLL_ADAPTIVE = 1,
};

enum cfg_log_level {
	CFG_LOG_ERR = 0,
	CFG_LOG_WARNING = 1,
	CFG_LOG_INFO = 2,
	CFG_LOG_DEBUG = 3,
};

/* system.limits: every per-worker resource has a bound. */
struct cfg_limits {
	unsigned mbufs_per_worker;      /* packet buffers per worker pool */
	unsigned rx_descriptors;        /* RX ring size per queue */
	unsigned tx_descriptors;        /* TX ring size per queue */
	unsigned arp_cache_size;        /* neighbour entries per worker */
	unsigned arp_timeout;           /* seconds an entry stays reachable */
	unsigned arp_queue_length;      /* packets held per unresolved entry */
	unsigned icmp_rate_limit;       /* echo replies per second per worker */
	unsigned log_ring_size;         /* pending log lines per worker */
};

/* tcp: the userspace TCP stack (per worker unless noted). */
struct cfg_tcp {
	unsigned max_connections;       /* connection slots per worker, TIME_WAIT included */
	unsigned syn_backlog;           /* half-open connections per listener per worker */
	unsigned rcv_buffer;            /* bytes buffered per connection, receive side */
	unsigned snd_buffer;            /* bytes buffered per connection, send side */
	unsigned reass_limit;           /* out-of-order buffer bytes held per connection (truesize) */
	unsigned conn_pool_share;       /* % of the worker's packet pool one connection's receive queues may hold */
	unsigned pool_low_watermark;    /* % of the pool free below which the worker is under pool pressure */
	unsigned pool_reserve;          /* % of the pool kept for control segments: no data queued below it */
	unsigned time_wait;             /* seconds in TIME_WAIT (2 MSL) */
	unsigned time_wait_max;         /* TIME_WAIT connections per worker; oldest recycled */
	unsigned rto_min_ms;
	unsigned rto_max_ms;
	unsigned rto_initial_ms;
	unsigned max_retransmits;       /* consecutive timeouts before the connection is aborted */
	unsigned syn_retries;           /* SYN (active open) retransmissions */
	unsigned delayed_ack_ms;
	unsigned keepalive_idle;        /* seconds; 0 = off */
	unsigned keepalive_interval;    /* seconds between probes */
	unsigned keepalive_probes;      /* unanswered probes before abort */
	unsigned idle_timeout;          /* seconds without any segment; 0 = off */
	enum cfg_syncookies {
		CFG_SYNCOOKIES_AUTO = 0,    /* when a listener's backlog is full */
		CFG_SYNCOOKIES_ALWAYS = 1,
		CFG_SYNCOOKIES_NEVER = 2,
	} syncookies;
	unsigned ephemeral_first;       /* local ports for active opens */
	unsigned ephemeral_last;
};

/* services: built-in test services (off by default). */
struct cfg_service {
	bool enabled;
	uint16_t port;
};

struct cfg_services {
	struct cfg_service echo;        /* default port 7 */
	struct cfg_service discard;     /* default port 9 */
	struct cfg_service source;      /* default port 19 */
	uint64_t source_bytes;          /* bytes the source sends per connection, then FIN */
};

/* linkem: impairment of one port in one direction (off unless configured). */
#define CFG_MAX_LINKEM (CFG_MAX_PORTS * 2)
enum cfg_linkem_dir {
	CFG_LINKEM_RX = 1,
	CFG_LINKEM_TX = 2,
	CFG_LINKEM_BOTH = 3,
};

struct cfg_linkem {
	char port[CFG_NAME_LEN];        /* a configured port name */
	enum cfg_linkem_dir direction;
	double loss;                    /* percent 0..100 */
	double duplicate;               /* percent 0..100 */
	double reorder;                 /* percent 0..100: held back behind the next frame */
	double corrupt;                 /* percent 0..100: one byte flipped */
	unsigned delay_us;              /* added to every frame */
	unsigned jitter_us;             /* uniform extra 0..jitter_us */
	uint64_t seed;
	int line;
};

struct cfg_port {
	char name[CFG_NAME_LEN];        /* "ext", "int": used in logs, console */
	char device[CFG_DEVICE_LEN];    /* PCI address or vdev string */
	bool is_pci;                    /* device looks like DDDD:BB:DD.F or BB:DD.F */
	uint32_t addr;                  /* IPv4 address, host byte order */
	uint8_t prefix_len;             /* 0..32 */
	uint32_t gateway;               /* host byte order; 0 = none */
	uint16_t mtu;                   /* 576..9000, default 1500 */
	int line;                       /* line of the port's group in the file */
};


/* ---- smtp: the SMTP service, relay policy, routes (platform/config_smtp.c) ---- */

#define CFG_HOSTNAME_LEN     256
#define CFG_MAX_NEXT_HOPS    8

/* smtp.limits: every SMTP resource has a bound (RFC 5321 minimums as defaults). */
struct cfg_smtp_limits {
	unsigned command_line;          /* octets incl. CRLF; 512 (RFC 5321 §4.5.3.1.4), 512..4096 */
	unsigned text_line;             /* octets incl. CRLF; 1000 (§4.5.3.1.6), 1000..1000000 */
	unsigned recipients;            /* per message; 100 (§4.5.3.1.8), 1..100000 */
	uint64_t message_size;          /* octets, announced in SIZE; 36700160 (35 MiB), 1024..2^40 */
	unsigned messages_per_session;  /* then 421 at the next MAIL; 100, 1..100000 */
	unsigned errors_per_session;    /* bad commands before 421 and close; 10, 1..1000 */
	unsigned sessions_per_worker;   /* concurrent inbound sessions per worker; 1024, 1..65536 */
	unsigned sessions_per_client;   /* concurrent sessions per client address, all workers; 20, 1..65536 */
	unsigned connection_rate_per_client; /* new sessions per second per client address; 0 = off; 0, 0..100000 */
	unsigned junk_commands;         /* NOOP/RSET/VRFY/HELP/HELO/EHLO per message relayed, then each
	                                   counts as an error (Postfix's smtpd_junk_command_limit); 100, 1..100000 */
	unsigned min_data_rate;         /* octets/s a message must keep up (deadline = timeouts.data +
	                                   octets / this, from the 354); 500, 0 = none, 0..1000000000 */
};

/* smtp.timeouts, seconds (RFC 5321 §4.5.3.2), each 1..3600. */
struct cfg_smtp_timeouts {
	unsigned command;               /* server: waiting for the client's next command, and the
	                                   deadline of a whole command line from its first octet; 300 */
	unsigned data;                  /* server: waiting for more message data; 300 */
	unsigned message;               /* server: deadline of a whole message from the 354 (relayed
	                                   or refused); 3600, data..86400 */
	unsigned connect;               /* client: TCP connect to a next hop; 30 */
	unsigned greeting;              /* client: the next hop's 220 (and EHLO reply); 300 */
	unsigned mail;                  /* client: reply to MAIL; 300 */
	unsigned rcpt;                  /* client: reply to RCPT; 300 */
	unsigned data_init;             /* client: reply to DATA; 120 */
	unsigned data_block;            /* client: next hop taking no more data; 180 */
	unsigned data_end;              /* client: reply after end of data; 600 */
	unsigned data_hold;             /* relay: a client sending no data may hold a next-hop connection in DATA; 60 */
};

/* smtp.client: the outbound side. */
struct cfg_smtp_client {
	char helo_name[CFG_HOSTNAME_LEN];  /* EHLO argument; default smtp.hostname */
	unsigned connections_per_worker;   /* outbound connections per worker, idle ones included; 1088, 1..131072 */
	unsigned cache_size;               /* idle connections kept per worker; 64; 0 = no cache; <= connections_per_worker */
	unsigned cache_idle_timeout;       /* seconds an idle connection is kept; 10, 1..3600 */
	unsigned cache_max_messages;       /* messages per connection, then QUIT; 100, 1..100000 */
	unsigned retry_after;              /* seconds a next hop that failed is skipped; 30, 0..3600 */
	unsigned destination_concurrency;  /* connections in use per next hop, all workers (split evenly); 20, 1..65536 */
	unsigned destination_wait;         /* seconds a recipient waits for one of them, then 451 4.4.5; 10, 0..3600 */
};

/* A CIDR (host byte order; addr has no bits past prefix_len). */
struct cfg_cidr {
	uint32_t addr;
	uint8_t prefix_len;             /* 1..32 (0 would make an open relay) */
	int line;                       /* of the entry in the file */
};

/* One next hop of a route. */
struct cfg_next_hop {
	uint32_t addr;                  /* host byte order */
	uint16_t port;                  /* default 25 */
	unsigned priority;              /* lower first; equal priorities share the load; 0..65535,
	                                   default 10 * (position in next_hops + 1) */
};

/*
 * One route: recipient domains to next hops. Domains are lower-case, without
 * a trailing dot: "example.com" (exact) or "*.example.com" (every sub-domain,
 * not example.com itself); "*" alone makes this the default route.
 */
struct cfg_route {
	char **domains;                 /* heap, each string too (config_free); no duplicates
	                                   across all routes, at most one "*" */
	unsigned n_domains;             /* >= 1 */
	struct cfg_next_hop hops[CFG_MAX_NEXT_HOPS];  /* sorted by priority, stable */
	unsigned n_hops;                /* 1..CFG_MAX_NEXT_HOPS */
	int tls_level;                  /* enum cfg_tls_level; -1 = tls.client.level */
	char **tls_names;               /* heap: "secure": accepted certificate names (RFC 6125, "*." ok),
	                                   lower-case, no trailing dot, no duplicates; NULL otherwise */
	unsigned n_tls_names;           /* >= 1 with tls_level "secure", else 0 */
	int line;                       /* of the route's group in the file */
};

struct cfg_smtp {
	bool enabled;                   /* true */
	uint16_t port;                  /* 25 */
	char hostname[CFG_HOSTNAME_LEN];   /* greeting, EHLO, Received:; default: gethostname(),
	                                      or "localhost" if that is not a valid domain name;
	                                      case kept, no trailing dot */
	struct cfg_smtp_limits limits;
	struct cfg_smtp_timeouts timeouts;
	struct cfg_smtp_client client;
	char **accepted_domains;        /* heap, each string too; lower-case, exact or "*.suffix";
	                                   no duplicates, never "*" */
	unsigned n_accepted_domains;
	struct cfg_cidr *relay_networks;   /* heap; no duplicates */
	unsigned n_relay_networks;
};

/* ---- tls: our TLS (crypto/tls.c), inbound and outbound (platform/config_tls.c) ---- */

#define CFG_MAX_CERTS        8
#define CFG_TLS_LIST_LEN     512

/* Outbound TLS levels (Postfix's vocabulary). */
enum cfg_tls_level {
	CFG_TLS_NONE = 0,               /* never STARTTLS */
	CFG_TLS_MAY,                    /* STARTTLS when offered; plaintext if absent or the handshake fails */
	CFG_TLS_ENCRYPT,                /* TLS required, certificate not checked */
	CFG_TLS_VERIFY,                 /* TLS, valid chain, name = the next hop's name (RFC 6125) */
	CFG_TLS_SECURE,                 /* TLS, valid chain, name = one of the configured tls_names */
	CFG_TLS_CHAIN,                  /* TLS, valid chain and dates, no name check: outbound
	                                   connectors' "certificate_validation" only (not a route
	                                   level, not in tls.client.level); after SECURE so that
	                                   ">= CFG_TLS_VERIFY" still means "verifies the chain" */
};

enum cfg_tls_version {
	CFG_TLS_V1_2 = 2,
	CFG_TLS_V1_3 = 3,
};

/* One certificate of ours: a PEM chain (leaf first) and its key. */
struct cfg_tls_cert {
	char cert[CFG_PATH_LEN];
	char key[CFG_PATH_LEN];
	int line;
};

struct cfg_tls {
	bool enabled;                   /* offer STARTTLS inbound; default: true when certificates are set */
	struct cfg_tls_cert certs[CFG_MAX_CERTS];   /* RSA and ECDSA side by side */
	unsigned n_certs;
	enum cfg_tls_version min_version;   /* inbound floor: "1.2" (default) or "1.3"; never lower */
	bool tls13;                     /* allow TLS 1.3 inbound; true */
	char ciphers[CFG_TLS_LIST_LEN]; /* inbound TLS 1.2 suites (OpenSSL names, ':'-separated): ECDHE + AEAD only */
	char curves[CFG_TLS_LIST_LEN];  /* "X25519:P-256:P-384" */
	char ca_file[CFG_PATH_LEN];     /* CA bundle to verify client certificates ("" = none) */
	bool request_client_cert;       /* ask clients for a certificate (never required here); true */
	unsigned expiry_warning_days;   /* log a warning from this many days before expiry; 30 */
	unsigned session_timeout;       /* seconds a session (ID or ticket) can be resumed; 3600 */
	unsigned ticket_key_rotation;   /* seconds between new session-ticket keys; 3600 */
	unsigned session_cache_size;    /* sessions cached per worker (resumption by ID); 4096; 0 = none */
	/* outbound (tls.client) */
	enum cfg_tls_level client_level;    /* routes' default level; "may" */
	char client_ca_file[CFG_PATH_LEN];  /* trust anchors for next hops; Debian's bundle */
	char client_cert[CFG_PATH_LEN];     /* certificate presented to next hops ("" = none) */
	char client_key[CFG_PATH_LEN];
};

/* ---- connectors: per-partner TLS policy (platform/config_connectors.c) ---- */

#define CFG_CONNECTOR_NAME_LEN   64      /* 1..63 characters */
#define CFG_SPKI_PIN_LEN         32      /* SHA-256 of a SubjectPublicKeyInfo */

enum cfg_connector_mode {
	CFG_CONNECTOR_ENFORCE = 0,      /* "enforce": refuse what the policy refuses */
	CFG_CONNECTOR_REPORT_ONLY = 1,  /* "report_only": log and count what would be refused */
};

/* An IPv4 or IPv6 network of a connector (no host bits set). */
struct cfg_ip_net {
	uint8_t addr[16];               /* network byte order; IPv4 as ::ffff:a.b.c.d */
	uint8_t prefix_len;             /* as written: 1..32 for IPv4, 1..128 for IPv6 */
	bool v4;
	int line;
};

/*
 * connectors.inbound: a partner sending to us. Selected by its client
 * certificate (name or pin), else by the client's address, else at MAIL by
 * the sender domain (app/policy/connector.h has the rules). Lists are heap
 * (config_free); domains and names lower-case without a trailing dot, exact
 * or "*.suffix" (never "*").
 */
struct cfg_connector_in {
	char name[CFG_CONNECTOR_NAME_LEN];
	char **sender_domains;          /* "*.x": every sub-domain of x, any depth */
	unsigned n_sender_domains;
	struct cfg_ip_net *ips;         /* sender_ip_addresses */
	unsigned n_ips;
	char **cert_names;              /* tls_sender_certificate_name: "*.x" = one label */
	unsigned n_cert_names;
	uint8_t (*pins)[CFG_SPKI_PIN_LEN];  /* client_cert_spki_pins */
	unsigned n_pins;
	bool require_tls;               /* as written; also implied, see connector.h */
	bool restrict_domains_to_certificate;
	bool restrict_domains_to_ip_addresses;
	int min_tls_version;            /* 0 = none, else enum cfg_tls_version */
	enum cfg_connector_mode mode;
	int line;                       /* of the connector's group */
};

/*
 * connectors.outbound: mail to a partner. The embedded route is what the
 * SMTP client uses for the connector's recipients: route.domains are the
 * recipient_domains ("*" allowed, in one outbound connector), route.hops the
 * smart_hosts (n_hops 0: the next hop comes from `routes`), route.tls_level
 * the level of tls_settings ("opportunistic" CFG_TLS_MAY, "encryption_only"
 * CFG_TLS_ENCRYPT, "certificate_validation" CFG_TLS_CHAIN,
 * "domain_validation" CFG_TLS_SECURE with route.tls_names = [ tls_domain ]).
 */
struct cfg_connector_out {
	char name[CFG_CONNECTOR_NAME_LEN];
	struct cfg_route route;
	uint8_t (*pins)[CFG_SPKI_PIN_LEN];  /* server_spki_pins */
	unsigned n_pins;
	int min_tls_version;            /* 0 = none, else enum cfg_tls_version */
	enum cfg_connector_mode mode;
	int line;
};

struct gw_config {
	char path[CFG_PATH_LEN];
	int version;

	/* system */
	unsigned control_core;
	unsigned worker_cores[CFG_MAX_WORKERS];
	unsigned n_workers;
	bool allow_shared_cores;        /* development: workers may share CPUs */
	bool hugepages;
	unsigned memory_mb;
	char file_prefix[64];
	enum cfg_poll_mode poll_mode;
	unsigned idle_sleep_max_us;     /* adaptive mode: longest idle sleep */
	unsigned test_fault_alloc_every;    /* testing only: every Nth packet-buffer allocation of the
	                                       data path fails (worker.fault_alloc_every); 0 = off */
	char eal_extra_args[CFG_MAX_EAL_EXTRA][CFG_DEVICE_LEN];
	unsigned n_eal_extra;
	struct cfg_limits limits;

	/* ports */
	struct cfg_port ports[CFG_MAX_PORTS];
	unsigned n_ports;

	struct cfg_tcp tcp;
	struct cfg_services services;
	struct cfg_linkem linkem[CFG_MAX_LINKEM];
	unsigned n_linkem;

	struct cfg_smtp smtp;
	struct cfg_tls tls;
	struct cfg_route *routes;       /* heap; top-level `routes` list */
	unsigned n_routes;
	struct cfg_connector_in *connectors_in;    /* heap; connectors.inbound */
	unsigned n_connectors_in;
	struct cfg_connector_out *connectors_out;  /* heap; connectors.outbound */
	unsigned n_connectors_out;

	/* console */
	char console_socket[108];       /* sun_path size */

	/* log */
	char log_file[CFG_PATH_LEN];    /* a path, "syslog" or "stderr" */
	enum cfg_log_level log_level;
	unsigned log_rate_limit;        /* per-connection lines of one kind, per worker and second; 100; 0 = no limit */
};

/*
 * Fill cfg with every default of schema v1 (no ports). Used by config_load()
 * before reading the file, and by tests.
 */
void config_defaults(struct gw_config *cfg);

/*
 * Load and validate FILE into cfg. Returns 0 on success; -EINVAL (bad
 * content), -ENOMEM, or -ENOENT/-EACCES (unreadable file) with a one-line
 * message "FILE:LINE: setting: what is wrong" in err (no trailing newline).
 * On success cfg owns heap lists (smtp domains and networks, routes,
 * connectors): free them with config_free() (a copy of the struct shares
 * them; free once). On failure cfg is untouched and nothing is left
 * allocated.
 */
int config_load(const char *path, struct gw_config *cfg, char *err, size_t errlen);

/*
 * Free what config_load() allocated (domain lists, networks, routes,
 * connectors): every domain string, the arrays, the routes and connectors;
 * cfg stays valid but empty of them (NULL, counts 0). Harmless on a struct
 * from config_defaults() and twice.
 */
void config_free(struct gw_config *cfg);

/*
 * Write the effective configuration (defaults filled in) in libconfig syntax
 * to buf. Returns the length written (truncated to len-1), as snprintf.
 */
int config_format(const struct gw_config *cfg, char *buf, size_t len);

/* Parse "a.b.c.d/len" (host byte order). Returns 0 or -EINVAL. */
int config_parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix_len);

/* Parse "a.b.c.d" strictly (four decimal octets). Returns 0 or -EINVAL. */
int config_parse_ipv4(const char *s, uint32_t *addr);

/* Names for enums, for logs and `show config`. */
const char *config_poll_mode_name(enum cfg_poll_mode m);
const char *config_log_level_name(enum cfg_log_level l);
const char *config_tls_level_name(enum cfg_tls_level l);   /* "chain": a connector's certificate_validation */

#endif
