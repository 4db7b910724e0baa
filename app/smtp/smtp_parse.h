/*
 * smtp_parse.h — the pure SMTP parser: command-line assembly, command and
 * path parsing (RFC 5321, SIZE RFC 1870, PIPELINING RFC 2920, SMTPUTF8
 * RFC 6531), DATA scanning with dot-unstuffing and smuggling detection, and
 * reply parsing (multi-line, RFC 3463 enhanced codes, EHLO keywords) for the
 * client side. No I/O, no allocation, no globals; input arrives in chunks of
 * any size and chunk boundaries never change a result.
 *
 * Who calls what (server side):
 *  - smtp_line_feed() on every readable chunk while in command mode. It
 *    returns at most one line per call and says how many bytes it took, so
 *    the caller can stop after a PIPELINING "last" command (RFC 2920
 *    §3.1, smtp_verb_flags()) or after DATA, and hand the rest of the chunk
 *    to the next consumer. A bad line (too long, bare CR, bare LF, NUL) is
 *    reported once it has ended, never repaired: the smuggling defence.
 *  - smtp_parse_command() (or _ex with the transaction's SMTPUTF8 flag, for
 *    RCPT) on each SMTP_LINE_OK line.
 *  - after "354": smtp_data_init() and smtp_data_feed() on each chunk until
 *    SMTP_DATA_END. On SMTP_DATA_BARE_LF/CR stop relaying at once (see there).
 * Client side: smtp_reply_init() per expected reply, smtp_reply_feed().
 *
 * Pointers in struct smtp_cmd point into the caller's line and are valid as
 * long as it is.
 */
#ifndef MAILGW_APP_SMTP_SMTP_PARSE_H
#define MAILGW_APP_SMTP_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- limits */

#define SMTP_CMD_LINE_DEFAULT   512     /* RFC 5321 §4.5.3.1.4, incl. CRLF */
#define SMTP_CMD_LINE_MAX       4096    /* most a struct smtp_line holds, incl. CRLF */
#define SMTP_TEXT_LINE_DEFAULT  1000    /* RFC 5321 §4.5.3.1.6, incl. CRLF */
#define SMTP_REPLY_LINE_DEFAULT 512     /* RFC 5321 §4.5.3.1.5, incl. CRLF */
#define SMTP_REPLY_LINES_DEFAULT 64     /* lines in one (multi-line) reply */
#define SMTP_LOCAL_MAX          64      /* RFC 5321 §4.5.3.1.1 */
#define SMTP_DOMAIN_MAX         255     /* RFC 5321 §4.5.3.1.2 */
#define SMTP_PATH_MAX           256     /* RFC 5321 §4.5.3.1.3, "<" to ">" */

/* ------------------------------------------------------------ error codes */

/*
 * Everything the parser can refuse, each with a reply code, an enhanced
 * status code and a short text (smtp_err_code/_enhanced/_text). Order of
 * precedence in smtp_parse_command(): the first syntax error found wins;
 * SMTP_ERR_UNKNOWN_PARAM comes last, after everything else parsed clean.
 */
enum smtp_err {
	SMTP_OK = 0,
	SMTP_ERR_UNKNOWN_VERB,          /* 500 5.5.2 command not recognized */
	SMTP_ERR_SYNTAX,                /* 501 5.5.4 syntax error in arguments */
	SMTP_ERR_ARG_REQUIRED,          /* 501 5.5.4 the verb needs an argument */
	SMTP_ERR_NO_ARG_ALLOWED,        /* 501 5.5.4 DATA/RSET/QUIT/STARTTLS take none */
	SMTP_ERR_DOMAIN_SYNTAX,         /* 501 5.5.4 HELO/EHLO: bad domain or literal */
	SMTP_ERR_PATH_SYNTAX,           /* 501 5.1.3 bad <path> */
	SMTP_ERR_LOCAL_TOO_LONG,        /* 501 5.1.3 local part > 64 octets */
	SMTP_ERR_DOMAIN_TOO_LONG,       /* 501 5.1.3 domain > 255 octets */
	SMTP_ERR_PATH_TOO_LONG,         /* 501 5.1.3 path > 256 octets */
	SMTP_ERR_NULL_RCPT,             /* 501 5.1.3 RCPT TO:<> */
	SMTP_ERR_BAD_PARAM,             /* 501 5.5.4 malformed/duplicate ESMTP parameter */
	SMTP_ERR_BAD_SIZE,              /* 501 5.5.4 SIZE= not 1*20DIGIT */
	SMTP_ERR_BAD_BODY,              /* 501 5.5.4 BODY= not 7BIT or 8BITMIME */
	SMTP_ERR_UNKNOWN_PARAM,         /* 555 5.5.4 parameter not recognized */
	SMTP_ERR_8BIT_WITHOUT_SMTPUTF8, /* 553 5.6.7 non-ASCII without SMTPUTF8 */
	SMTP_ERR_BAD_UTF8,              /* 553 5.6.7 malformed UTF-8 */
	/* line level (smtp_line_err) */
	SMTP_ERR_LINE_TOO_LONG,         /* 500 5.5.2 command line too long */
	SMTP_ERR_BARE_LF,               /* 500 5.5.2 bare <LF> in command */
	SMTP_ERR_BARE_CR,               /* 500 5.5.2 bare <CR> in command */
	SMTP_ERR_NUL,                   /* 500 5.5.2 NUL in command */
	/* message data */
	SMTP_ERR_DATA_BARE_LF,          /* 550 5.6.11 bare <LF> in message data */
	SMTP_ERR_DATA_BARE_CR,          /* 550 5.6.11 bare <CR> in message data */
	SMTP_ERR_DATA_LINE_TOO_LONG,    /* 500 5.5.2 (RFC 5321 "500 Line too long") */
	/* replies (client side) */
	SMTP_ERR_REPLY_CODE,            /* reply line without a valid 3-digit code */
	SMTP_ERR_REPLY_INCONSISTENT,    /* codes differ across a multi-line reply */
	SMTP_ERR_REPLY_TOO_MANY_LINES,
	SMTP_ERR_REPLY_LINE_TOO_LONG,
	SMTP_ERR_REPLY_BAD_EOL,         /* bare LF / bare CR / NUL: missing CRLF */
	SMTP_ERR_COUNT
};

/* Short human text ("bad path syntax"); never NULL. */
const char *smtp_err_text(enum smtp_err e);

/* Suggested SMTP reply code (500, 501, 553, 555, 550) for a server reply; 0 for SMTP_OK and reply errors. */
unsigned smtp_err_code(enum smtp_err e);

/* Suggested enhanced status code ("5.1.3"); "" where none. Path errors say 5.1.3; use 5.1.7 for MAIL. */
const char *smtp_err_enhanced(enum smtp_err e);

/* ------------------------------------------------------- line assembly */

enum smtp_line_status {
	SMTP_LINE_MORE = 0,     /* every byte consumed, no line ended */
	SMTP_LINE_OK,           /* a line ended: buf[0..len) without CRLF, NUL-terminated */
	SMTP_LINE_TOO_LONG,     /* a line over max ended; its bytes were discarded */
	SMTP_LINE_BARE_LF,      /* a line with a bare LF ended (at that LF) */
	SMTP_LINE_BARE_CR,      /* a line with a CR not followed by LF ended */
	SMTP_LINE_NUL,          /* a line with a NUL octet ended */
};

/* Problems seen in the current line (struct smtp_line.flags). */
#define SMTP_LINE_F_TOO_LONG    0x1u
#define SMTP_LINE_F_BARE_LF     0x2u
#define SMTP_LINE_F_BARE_CR     0x4u
#define SMTP_LINE_F_NUL         0x8u

/*
 * One command (or reply) line being assembled. A line ends at CRLF, or at a
 * bare LF (reported as SMTP_LINE_BARE_LF: the bad line ends there so the
 * stream stays in step, and it is never passed on as a command). A CR not
 * followed by LF is content that makes the line bad. The caller owns the
 * struct (per session, no allocation).
 */
struct smtp_line {
	size_t max;             /* limit incl. CRLF, 3..SMTP_CMD_LINE_MAX */
	size_t len;             /* content octets of the current line (stored up to max - 2) */
	size_t total;           /* content octets seen, also past the limit */
	unsigned flags;         /* SMTP_LINE_F_* of the current line */
	bool cr;                /* the previous octet was a CR */
	bool done;              /* a line was returned: the next feed starts a new one */
	char buf[SMTP_CMD_LINE_MAX + 1];
};

/* Reset for a new stream; max is the line limit incl. CRLF, 0 means 512. Returns 0 or -EINVAL. */
int smtp_line_init(struct smtp_line *l, size_t max);

/*
 * Feed input; stops right after the first line that ends in it.
 * *consumed: bytes taken (up to and including that LF; len when MORE).
 * Returns the line's status; on SMTP_LINE_OK l->buf/l->len hold it until
 * the next call. On any other ended line l->flags tells every problem seen
 * (the status is the first of BARE_LF, BARE_CR, NUL, TOO_LONG that applies).
 */
enum smtp_line_status smtp_line_feed(struct smtp_line *l, const char *in, size_t len,
				     size_t *consumed);

/* The smtp_err for a bad line status (SMTP_OK for MORE/OK). */
enum smtp_err smtp_line_err(enum smtp_line_status st);

/* -------------------------------------------------------------- commands */

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_BDAT,
	SMTP_VERB_EXPN,
	SMTP_VERB_COUNT
};

/* smtp_verb_flags() */
#define SMTP_VERB_F_LAST        0x1u    /* ends a PIPELINING group (RFC 2920 §3.1) */
#define SMTP_VERB_F_NEEDS_ARG   0x2u
#define SMTP_VERB_F_NO_ARG      0x4u

/* Upper-case name ("MAIL"; "?" for unknown). */
const char *smtp_verb_name(enum smtp_verb v);

/* SMTP_VERB_F_* of a verb. */
unsigned smtp_verb_flags(enum smtp_verb v);

enum smtp_body {
	SMTP_BODY_NONE = 0,     /* no BODY= parameter */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

/*
 * A reverse- or forward-path. addr is "local@domain" exactly as written
 * (quotes and escapes kept, source route dropped; `%`, `!` and quoted "@"
 * come through untouched: relay policy is the caller's). Empty for <>; for
 * <Postmaster> addr = local = "Postmaster" as written, domain empty. A
 * quoted local part keeps its quotes in `local`. Nothing is unescaped.
 */
struct smtp_path {
	const char *addr;
	size_t addr_len;
	const char *local;
	size_t local_len;
	const char *domain;     /* Domain, or address literal with its brackets */
	size_t domain_len;
	bool null;              /* MAIL FROM:<> */
	bool postmaster;        /* RCPT TO:<Postmaster> (no domain, any case) */
	bool source_route;      /* <@a,@b:user@c>: route accepted and dropped (RFC 5321 §3.6.1) */
	bool quoted;            /* local part is a Quoted-string */
	bool addr_literal;      /* domain is [..] */
	bool utf8;              /* non-ASCII octets in the path (valid UTF-8 unless BAD_UTF8) */
};

/*
 * A parsed command line. For MAIL/RCPT: path and parameters; for HELO/EHLO:
 * arg = the domain or literal (validated); for the others arg = the raw
 * argument (VRFY/EXPN/HELP/NOOP/AUTH/BDAT), empty where none.
 */
struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;
	size_t arg_len;
	bool arg_literal;       /* HELO/EHLO: address literal */
	bool utf8;              /* HELO/EHLO argument has U-labels */
	struct smtp_path path;
	/* ESMTP parameters (MAIL only knows SIZE, BODY, SMTPUTF8) */
	unsigned n_params;
	bool has_size;
	uint64_t size;          /* SIZE=n; saturates at UINT64_MAX (beyond any limit) */
	enum smtp_body body;
	bool smtputf8;
	unsigned n_unknown;
	const char *unknown;    /* first unknown keyword */
	size_t unknown_len;
};

/* smtp_parse_command_ex() flags */
#define SMTP_PARSE_SMTPUTF8     0x1u    /* the transaction's MAIL had SMTPUTF8: allow UTF-8 in RCPT */

/*
 * Parse one command line (without CRLF). Verbs are case-insensitive. Fills
 * *out (always; verb is set when recognised even on error) and returns
 * SMTP_OK or the first problem found. Strict RFC 5321 §4.1.2 paths; the
 * only leniencies are spaces after "FROM:"/"TO:", runs of spaces between
 * parameters and trailing spaces. Without SMTPUTF8 on MAIL (or
 * SMTP_PARSE_SMTPUTF8 for RCPT) any non-ASCII octet in the path or a
 * parameter is SMTP_ERR_8BIT_WITHOUT_SMTPUTF8. HELO/EHLO accept U-labels.
 * General address literals ([tag:...]) are refused: only IPv4 and IPv6.
 */
enum smtp_err smtp_parse_command(const char *line, size_t len, struct smtp_cmd *out);

/* As smtp_parse_command(), with SMTP_PARSE_* flags. */
enum smtp_err smtp_parse_command_ex(const char *line, size_t len, unsigned flags,
				    struct smtp_cmd *out);

/* ------------------------------------------------------------ DATA scan */

enum smtp_data_status {
	SMTP_DATA_MORE = 0,     /* every byte consumed, no end yet */
	SMTP_DATA_END,          /* <CRLF>.<CRLF> seen: consumed includes ".\r\n" */
	SMTP_DATA_BARE_LF,      /* stopped before a bare LF (offending offset: event_off) */
	SMTP_DATA_BARE_CR,      /* stopped after a bare CR (before the octet after it) */
};

/* smtp_data_scanner.flags: what this message had */
#define SMTP_DATA_F_BARE_LF     0x1u
#define SMTP_DATA_F_BARE_CR     0x2u
#define SMTP_DATA_F_LONG_LINE   0x4u

/* Receives unstuffed message bytes, in order, in runs. */
typedef void (*smtp_data_emit_fn)(void *arg, const char *p, size_t n);

/*
 * The DATA phase of one message. Counts are octets of the raw (dot-stuffed)
 * stream from just after the "354" on; out_bytes counts unstuffed output.
 */
struct smtp_data_scanner {
	smtp_data_emit_fn emit;         /* NULL: no unstuffed view (pure pass-through) */
	void *emit_arg;
	size_t max_line;                /* text line limit incl. CRLF */
	unsigned state;                 /* internal */
	bool lf_reported;               /* internal: the next octet is the bare LF just reported */
	unsigned flags;                 /* SMTP_DATA_F_* */
	uint64_t raw_bytes;             /* raw octets consumed, terminator included */
	uint64_t out_bytes;             /* unstuffed octets emitted */
	uint64_t lines;                 /* CRLF-ended lines of the message */
	uint64_t bare_lf;               /* bare LFs seen */
	uint64_t bare_cr;               /* bare CRs seen */
	uint64_t event_off;             /* raw offset of the last bare LF/CR reported */
	uint64_t first_bare_off;        /* raw offset of the first one */
	size_t line_len;                /* raw octets of the current line so far */
	size_t longest;                 /* longest raw line incl. CRLF */
};

/* Start a message: max_line 0 means 1000; emit may be NULL. */
void smtp_data_init(struct smtp_data_scanner *s, size_t max_line,
		    smtp_data_emit_fn emit, void *emit_arg);

/*
 * Scan a chunk. Dot-unstuffed bytes go to emit; the raw bytes in[0..*consumed)
 * are what a cut-through relay may forward (on END they include the
 * terminator). Only <CRLF>.<CRLF> (or ".\r\n" as the very first line) ends the
 * data. On BARE_LF/BARE_CR the scan stops there: in[0..*consumed) holds no
 * bare LF, and no octet after a bare CR. The caller must then never send the
 * terminator downstream (abort the next hop), and may keep feeding from
 * in[*consumed] (each bare octet is reported once) to find the real end and
 * reply 550. After END, feeding returns END and consumes nothing.
 */
enum smtp_data_status smtp_data_feed(struct smtp_data_scanner *s, const char *in, size_t len,
				     size_t *consumed);

/* ---------------------------------------------------------------- replies */

/* EHLO keywords (struct smtp_reply.ehlo) */
#define SMTP_EXT_PIPELINING     0x001u
#define SMTP_EXT_SIZE           0x002u
#define SMTP_EXT_8BITMIME       0x004u
#define SMTP_EXT_STARTTLS       0x008u
#define SMTP_EXT_SMTPUTF8       0x010u
#define SMTP_EXT_ENHANCEDSTATUSCODES 0x020u
#define SMTP_EXT_CHUNKING       0x040u
#define SMTP_EXT_BINARYMIME     0x080u
#define SMTP_EXT_DSN            0x100u
#define SMTP_EXT_AUTH           0x200u
#define SMTP_EXT_REQUIRETLS     0x400u

enum smtp_reply_status {
	SMTP_REPLY_MORE = 0,    /* every byte consumed, reply incomplete */
	SMTP_REPLY_DONE,        /* a whole reply is in the struct */
	SMTP_REPLY_ERROR,       /* malformed: err says why; give up on the connection */
};

/*
 * One server reply being assembled. After DONE or ERROR the next feed starts
 * a new reply (results are cleared then), so pipelined replies in one chunk
 * come out one per call.
 */
struct smtp_reply {
	struct smtp_line line;  /* max = line limit (default 512) */
	unsigned max_lines;
	bool parse_ehlo;        /* keywords from lines 2.. into ehlo/ehlo_size */
	bool done;
	/* results */
	unsigned code;          /* 200..559 */
	unsigned n_lines;
	enum smtp_err err;
	bool has_enhanced;
	unsigned enh[3];        /* class.subject.detail, first line */
	char text[SMTP_REPLY_LINE_DEFAULT]; /* first line after code (and enhanced code) */
	size_t text_len;
	unsigned ehlo;          /* SMTP_EXT_* */
	uint64_t ehlo_size;     /* SIZE n (0: none announced or unlimited) */
};

/*
 * Expect a new reply. max_line (incl. CRLF) 0 means 512, max_lines 0 means
 * 64; parse_ehlo for the reply to EHLO. Returns 0 or -EINVAL.
 */
int smtp_reply_init(struct smtp_reply *r, size_t max_line, unsigned max_lines, bool parse_ehlo);

/* Feed input; stops right after the reply's last line. *consumed as smtp_line_feed(). */
enum smtp_reply_status smtp_reply_feed(struct smtp_reply *r, const char *in, size_t len,
				       size_t *consumed);

#endif /* MAILGW_APP_SMTP_SMTP_PARSE_H */
