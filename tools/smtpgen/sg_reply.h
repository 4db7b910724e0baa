/*
 * sg_reply.h — the client's SMTP reply parser: pure (no I/O, no
 * allocation), input in chunks of any size. It assembles one reply (one or
 * more lines "NNN-text" ... "NNN text"), checks its syntax strictly enough
 * that a garbage-speaking server is noticed, and collects the EHLO keywords
 * smtpgen cares about. Bounded: a line longer than SG_REPLY_LINE_MAX or a
 * reply of more than SG_REPLY_LINES_MAX lines is an error.
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SG_REPLY_H
#define MAILGW_TOOLS_SMTPGEN_SG_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_REPLY_LINE_MAX  1024
#define SG_REPLY_LINES_MAX 128
#define SG_REPLY_TEXT_MAX  160

/* EHLO keywords */
#define SG_EXT_PIPELINING 0x01u
#define SG_EXT_STARTTLS   0x02u
#define SG_EXT_SIZE       0x04u
#define SG_EXT_8BITMIME   0x08u

enum sg_reply_status {
	SG_REPLY_MORE,          /* all input taken, reply incomplete */
	SG_REPLY_DONE,          /* a complete reply: r->code, r->text, r->ext */
	SG_REPLY_BAD,           /* malformed: r->text says what */
};

struct sg_reply {
	int code;               /* 200..599 */
	unsigned lines;
	unsigned ext;           /* SG_EXT_* seen on continuation/last lines */
	uint64_t size_limit;    /* SIZE n, 0 when none or unlimited */
	size_t len;             /* octets of the current line so far */
	char line[SG_REPLY_LINE_MAX];
	char text[SG_REPLY_TEXT_MAX];   /* the first line, printable, for messages */
};

void sg_reply_init(struct sg_reply *r);
/*
 * Feed input; *used receives the octets consumed. On SG_REPLY_DONE the
 * input after the reply is left for the next one (sg_reply_init() it first).
 */
enum sg_reply_status sg_reply_feed(struct sg_reply *r, const char *p, size_t n, size_t *used);

#endif
