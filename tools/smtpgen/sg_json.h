/*
 * sg_json.h — a minimal streaming JSON writer for smtpgen's reports: nested
 * objects, numbers and strings (escaped), commas handled for the caller.
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SG_JSON_H
#define MAILGW_TOOLS_SMTPGEN_SG_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SG_JSON_DEPTH 16

struct sg_json {
	FILE *f;
	int depth;
	bool first[SG_JSON_DEPTH];
};

/* Start the top-level object. */
void sg_json_begin(struct sg_json *j, FILE *f);
/* End the top-level object (and a newline). */
void sg_json_end(struct sg_json *j);
/* Open a member object named key. */
void sg_json_open(struct sg_json *j, const char *key);
void sg_json_close(struct sg_json *j);
void sg_json_u64(struct sg_json *j, const char *key, uint64_t v);
/* A number with up to 3 decimals. */
void sg_json_num(struct sg_json *j, const char *key, double v);
void sg_json_str(struct sg_json *j, const char *key, const char *v);
void sg_json_bool(struct sg_json *j, const char *key, bool v);

#endif
