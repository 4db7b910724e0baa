/*
 * sg_json.c — the JSON writer of sg_json.h, used by the client and sink
 * reports (--json, --json-report).
 */
#include "tools/smtpgen/sg_json.h"

static void sg_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void sg_json_key(struct sg_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		sg_json_string(j->f, key);
		fputc(':', j->f);
	}
}

void sg_json_begin(struct sg_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
	fputc('{', f);
}

void sg_json_end(struct sg_json *j)
{
	fputs("}\n", j->f);
	fflush(j->f);
}

void sg_json_open(struct sg_json *j, const char *key)
{
	sg_json_key(j, key);
	fputc('{', j->f);
	if (j->depth + 1 < SG_JSON_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

void sg_json_close(struct sg_json *j)
{
	fputc('}', j->f);
	if (j->depth > 0)
		j->depth--;
}

void sg_json_u64(struct sg_json *j, const char *key, uint64_t v)
{
	sg_json_key(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void sg_json_num(struct sg_json *j, const char *key, double v)
{
	sg_json_key(j, key);
	if (v != v || v > 1e300 || v < -1e300)
		fputs("null", j->f);
	else
		fprintf(j->f, "%.3f", v);
}

void sg_json_str(struct sg_json *j, const char *key, const char *v)
{
	sg_json_key(j, key);
	sg_json_string(j->f, v ? v : "");
}

void sg_json_bool(struct sg_json *j, const char *key, bool v)
{
	sg_json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}
