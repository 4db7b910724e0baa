/*
 * sg_msg.h — smtpgen's messages: generation on the client side, streaming
 * verification on the sink side (and for files in a Maildir).
 *
 * The integrity hash. Every generated message carries
 *     X-Smtpgen-Id: <run>-<n>
 *     X-Smtpgen-SHA256: <64 lower-case hex digits>
 * where the digest is SHA-256 over the message BODY: every octet after the
 * first empty line (the CRLF that ends the header section) up to and
 * including the CRLF that ends the last body line — the "." CRLF that ends
 * DATA is not part of it — taken as the message is before dot-stuffing
 * (RFC 5321 §4.5.2) and with every line ending written as CRLF. The header
 * section is not covered, so trace fields a relay prepends (Received:,
 * Return-Path:, Delivered-To: ...) do not matter; a relay that changes one
 * body octet does. The verifier normalises a bare LF line end to CRLF before
 * hashing (a Maildir file stores LF), and nothing else.
 *
 * Bodies: a first line unique to the message ("smtpgen <run>-<n> <random>")
 * followed by a run of lines cut at a random line boundary from a pool of
 * pseudo-random printable lines, some of which start with "." (a lone ".",
 * "..", ". text", ".text") so that dot-stuffing is exercised. The pool is
 * kept twice, plain (for hashing) and dot-stuffed (sent as is, no copy).
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SG_MSG_H
#define MAILGW_TOOLS_SMTPGEN_SG_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "tools/smtpgen/sg_util.h"

#define SG_MSG_HASH_HDR "X-Smtpgen-SHA256:"
#define SG_MSG_ID_HDR   "X-Smtpgen-Id:"
#define SG_MSG_ID_MAX   64
#define SG_MSG_HEAD_MAX 1536    /* generated header section + unique line */
#define SG_MSG_ADDR_MAX 256

/* The shared line pool (read-only once built). */
struct sg_pool {
	char *raw, *stuffed;
	uint32_t nlines;
	uint64_t *roff, *soff;  /* nlines + 1 line-start offsets into raw, stuffed */
};

/* Build a pool of at least bytes octets of lines from seed. 0 / -ENOMEM. */
int sg_pool_init(struct sg_pool *p, size_t bytes, uint64_t seed);
void sg_pool_free(struct sg_pool *p);

/* What one message is made of. */
struct sg_msg_spec {
	const char *run;        /* run id, [A-Za-z0-9] */
	uint64_t n;             /* message number within the run */
	const char *from;       /* envelope/header From address */
	const char *to;         /* first recipient, for the To: field */
	uint64_t size;          /* wanted total size (header + body, before stuffing) */
	bool corrupt;           /* change one body octet after hashing (tests) */
};

/* One message ready to send after "354": head, then slice, then ".\r\n". */
struct sg_msg {
	size_t head_len;        /* in the caller's buffer: header section + unique line */
	const char *slice;      /* dot-stuffed pool lines (points into the pool) */
	size_t slice_len;
	uint64_t size;          /* message size before stuffing (what SIZE= says) */
	char hash[65];
};

/*
 * Generate message spec into buf (at least SG_MSG_HEAD_MAX bytes): the
 * header section and the unique first body line, both already safe to send
 * (no line starts with "."); the rest of the body is m->slice. 0 or -ENOSPC
 * (addresses too long).
 */
int sg_msg_build(const struct sg_pool *p, struct sg_rng *rng, const struct sg_msg_spec *spec,
                 char *buf, size_t cap, struct sg_msg *m);

/* ------------------------------------------------------------ verifying */

enum sg_verdict {
	SG_VERIFIED,            /* hash present and equal */
	SG_MISMATCH,            /* hash present, body differs (or the hash field is malformed) */
	SG_NO_HASH,             /* no X-Smtpgen-SHA256 field */
};

/* Streaming verifier: a pure parser, input in chunks of any size. */
struct sg_verify {
	bool raw;               /* input is a stored message: no dot-unstuffing, no "." end */
	bool in_body, bol, done, have_hash, bad_hash;
	uint8_t dot;            /* at line start: 1 after ".", 2 after ".\r" */
	char prev;              /* last body octet hashed */
	uint64_t size;          /* message octets after unstuffing */
	wc_Sha256 sha;
	char want[65];
	char id[SG_MSG_ID_MAX + 1];
	size_t hlen;
	char hline[128];        /* the start of the current header line */
};

/* Start a message. raw: see struct sg_verify. */
void sg_verify_init(struct sg_verify *v, bool raw);
/*
 * Feed DATA octets as they arrive (dot-stuffed, ending with "." CRLF), or
 * with raw, a stored message. Returns the octets consumed: all of them,
 * unless the end of DATA was reached (v->done), in which case the rest
 * belongs to whatever follows (pipelined commands).
 */
size_t sg_verify_feed(struct sg_verify *v, const char *p, size_t n);
/* Finish: the verdict (call once, after done or at the end of a raw input). */
enum sg_verdict sg_verify_finish(struct sg_verify *v, char got_hex[65]);
/* Release the hash state without a verdict (session ended mid-DATA). */
void sg_verify_abort(struct sg_verify *v);

#endif
