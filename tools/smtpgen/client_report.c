/*
 * client_report.c — the client's report (client_report()): a human table or
 * one JSON object. Rates are over the time from the start to the last
 * completed message; the generator's own CPU time is shown so a harness can
 * tell when smtpgen, not the system under test, is the bottleneck.
 */
#include <stdio.h>
#include <string.h>

#include "tools/smtpgen/client.h"
#include "tools/smtpgen/sg_json.h"

static double client_secs(const struct client_stats *st)
{
	uint64_t end = st->t_last > st->t0 ? st->t_last : st->t_end;
	double s = (double)(end - st->t0) / 1e9;

	return s > 1e-6 ? s : 1e-6;
}

static double client_cpu_pct(const struct client_stats *st)
{
	double wall = (double)(st->t_end - st->t0) / 1e9;

	return wall > 0 ? 100.0 * (st->cpu_user + st->cpu_sys) / wall : 0;
}

static void client_codes_human(FILE *f, const uint64_t *codes)
{
	int c;
	bool any = false;

	for (c = 0; c < 400; c++) {
		if (codes[c]) {
			fprintf(f, "%s%d x%llu", any ? ", " : "", c + 200, (unsigned long long)codes[c]);
			any = true;
		}
	}
	if (!any)
		fputs("-", f);
}

static void client_lat_human(FILE *f, const char *name, const struct sg_hist *h)
{
	fprintf(f, "  %-14s %9.3f %9.3f %9.3f %9.3f %8llu\n", name, sg_hist_pct(h, 50) / 1e3,
	        sg_hist_pct(h, 99) / 1e3, sg_hist_pct(h, 99.9) / 1e3, h->max / 1e3,
	        (unsigned long long)h->count);
}

/* Replies (final and by stage), where messages failed, and errors. */
static void client_human_outcomes(const struct client_stats *st, FILE *f)
{
	int i, c;
	bool any;

	fputs("replies      final: ", f);
	client_codes_human(f, st->final_codes);
	fputc('\n', f);
	for (i = 0; i < CST_COUNT; i++) {
		for (c = 0; c < 400 && !st->stage_codes[i][c]; c++)
			;
		if (c == 400)
			continue;
		fprintf(f, "  %-10s ", client_stage_names[i]);
		client_codes_human(f, st->stage_codes[i]);
		fputc('\n', f);
	}
	fputs("failed at    ", f);
	for (i = 0, any = false; i < CST_COUNT; i++)
		if (st->failed_at[i]) {
			fprintf(f, "%s%s %llu", any ? ", " : "", client_stage_names[i], (unsigned long long)st->failed_at[i]);
			any = true;
		}
	fputs(any ? "\nerrors       " : "-\nerrors       ", f);
	for (i = 0, any = false; i < CE_COUNT; i++)
		if (st->errors[i]) {
			fprintf(f, "%s%s %llu", any ? ", " : "", client_err_names[i], (unsigned long long)st->errors[i]);
			any = true;
		}
	fputs(any ? "\n" : "-\n", f);
}

static void client_human(const struct client_opts *o, const struct client_stats *st, FILE *f)
{
	double secs = client_secs(st), cpu = st->cpu_user + st->cpu_sys;
	int i;

	fprintf(f, "smtpgen client -> %s  run %s  (%u sessions, %u/conn, %u rcpt, %s%s%s%s%s)\n", o->server, o->run,
	        o->sessions, o->per_conn, o->rcpts, o->handshake_only ? "handshake only, " : "",
	        o->starttls ? "STARTTLS" : "plaintext",
	        o->pipelining ? ", pipelining" : ", no pipelining", o->rate > 0 ? ", open loop" : "",
	        o->corrupt ? ", corrupting" : "");
	fprintf(f, "messages     attempted %llu  ok %llu  failed %llu\n", (unsigned long long)st->attempted,
	        (unsigned long long)st->ok, (unsigned long long)st->failed);
	fprintf(f, "throughput   %.1f msg/s  %.2f MB/s  over %.3f s\n", (double)st->ok / secs,
	        (double)st->bytes / secs / 1e6, secs);
	fprintf(f, "connections  %llu", (unsigned long long)st->conns);
	if (o->starttls)
		fprintf(f, "  TLS full %llu (%.1f/s)  resumed %llu (%.1f/s)  resume tried %llu",
		        (unsigned long long)st->tls_full, (double)st->tls_full / secs,
		        (unsigned long long)st->tls_resumed, (double)st->tls_resumed / secs,
		        (unsigned long long)st->resume_tried);
	fputc('\n', f);
	for (i = 0; i < CLIENT_NAMES && st->versions[i].name; i++)
		fprintf(f, "%s%s x%llu", i ? ", " : "tls          ", st->versions[i].name, (unsigned long long)st->versions[i].n);
	for (i = 0; i < CLIENT_NAMES && st->ciphers[i].name; i++)
		fprintf(f, ", %s x%llu", st->ciphers[i].name, (unsigned long long)st->ciphers[i].n);
	for (i = 0; i < CLIENT_NAMES && st->groups[i].name; i++)
		fprintf(f, ", %s x%llu", st->groups[i].name, (unsigned long long)st->groups[i].n);
	if (st->versions[0].name)
		fputc('\n', f);
	client_human_outcomes(st, f);
	fprintf(f, "latency ms          p50       p99     p99.9       max        n\n");
	client_lat_human(f, "start->final", &st->lat_start);
	client_lat_human(f, "eod->final", &st->lat_eod);
	if (o->rate > 0)
		fprintf(f, "open loop    %llu arrivals, most late start %.3f ms\n", (unsigned long long)st->arrivals,
		        st->late_max_us / 1e3);
	fprintf(f, "generator    cpu %.3f s user + %.3f s sys = %.1f%% of one core, %.3f ms per message\n",
	        st->cpu_user, st->cpu_sys, client_cpu_pct(st),
	        st->attempted ? 1e3 * cpu / (double)st->attempted : 0.0);
}

static void client_codes_json(struct sg_json *j, const char *key, const uint64_t *codes)
{
	char name[16];
	int c;

	sg_json_open(j, key);
	for (c = 0; c < 400; c++) {
		if (codes[c]) {
			snprintf(name, sizeof(name), "%d", c + 200);
			sg_json_u64(j, name, codes[c]);
		}
	}
	sg_json_close(j);
}

static void client_lat_json(struct sg_json *j, const char *key, const struct sg_hist *h)
{
	sg_json_open(j, key);
	sg_json_u64(j, "count", h->count);
	sg_json_num(j, "p50", sg_hist_pct(h, 50) / 1e3);
	sg_json_num(j, "p99", sg_hist_pct(h, 99) / 1e3);
	sg_json_num(j, "p99_9", sg_hist_pct(h, 99.9) / 1e3);
	sg_json_num(j, "max", h->max / 1e3);
	sg_json_num(j, "mean", h->count ? (double)h->sum / (double)h->count / 1e3 : 0);
	sg_json_close(j);
}

static void client_tls_json(struct sg_json *j, const struct client_stats *st, double secs)
{
	int i;

	sg_json_open(j, "tls");
	sg_json_u64(j, "full", st->tls_full);
	sg_json_u64(j, "resumed", st->tls_resumed);
	sg_json_u64(j, "resume_tried", st->resume_tried);
	sg_json_num(j, "full_per_s", (double)st->tls_full / secs);
	sg_json_num(j, "resumed_per_s", (double)st->tls_resumed / secs);
	sg_json_num(j, "handshakes_per_s", (double)(st->tls_full + st->tls_resumed) / secs);
	sg_json_open(j, "versions");
	for (i = 0; i < CLIENT_NAMES && st->versions[i].name; i++)
		sg_json_u64(j, st->versions[i].name, st->versions[i].n);
	sg_json_close(j);
	sg_json_open(j, "ciphers");
	for (i = 0; i < CLIENT_NAMES && st->ciphers[i].name; i++)
		sg_json_u64(j, st->ciphers[i].name, st->ciphers[i].n);
	sg_json_close(j);
	sg_json_open(j, "groups");
	for (i = 0; i < CLIENT_NAMES && st->groups[i].name; i++)
		sg_json_u64(j, st->groups[i].name, st->groups[i].n);
	sg_json_close(j);
	sg_json_close(j);
}

static void client_json(const struct client_opts *o, const struct client_stats *st, FILE *f)
{
	struct sg_json j;
	double secs = client_secs(st);
	int i;

	sg_json_begin(&j, f);
	sg_json_str(&j, "mode", "client");
	sg_json_str(&j, "server", o->server);
	sg_json_str(&j, "run", o->run);
	sg_json_u64(&j, "sessions", o->sessions);
	sg_json_bool(&j, "starttls", o->starttls);
	sg_json_bool(&j, "handshake_only", o->handshake_only);
	sg_json_num(&j, "think_ms", o->think * 1e3);
	sg_json_num(&j, "elapsed_s", secs);
	sg_json_open(&j, "messages");
	sg_json_u64(&j, "attempted", st->attempted);
	sg_json_u64(&j, "ok", st->ok);
	sg_json_u64(&j, "failed", st->failed);
	sg_json_u64(&j, "bytes", st->bytes);
	sg_json_close(&j);
	sg_json_num(&j, "msgs_per_s", (double)st->ok / secs);
	sg_json_num(&j, "mbytes_per_s", (double)st->bytes / secs / 1e6);
	sg_json_u64(&j, "connections", st->conns);
	client_tls_json(&j, st, secs);
	client_codes_json(&j, "replies", st->final_codes);
	sg_json_open(&j, "replies_by_stage");
	for (i = 0; i < CST_COUNT; i++)
		client_codes_json(&j, client_stage_names[i], st->stage_codes[i]);
	sg_json_close(&j);
	sg_json_open(&j, "failed_at");
	for (i = 0; i < CST_COUNT; i++)
		if (st->failed_at[i])
			sg_json_u64(&j, client_stage_names[i], st->failed_at[i]);
	sg_json_close(&j);
	sg_json_open(&j, "errors");
	for (i = 0; i < CE_COUNT; i++)
		if (st->errors[i])
			sg_json_u64(&j, client_err_names[i], st->errors[i]);
	sg_json_close(&j);
	sg_json_open(&j, "latency_ms");
	client_lat_json(&j, "start_to_final", &st->lat_start);
	client_lat_json(&j, "eod_to_final", &st->lat_eod);
	sg_json_close(&j);
	if (o->rate > 0) {
		sg_json_open(&j, "open_loop");
		sg_json_num(&j, "rate", o->rate);
		sg_json_u64(&j, "arrivals", st->arrivals);
		sg_json_num(&j, "late_max_ms", st->late_max_us / 1e3);
		sg_json_close(&j);
	}
	sg_json_open(&j, "cpu");
	sg_json_num(&j, "user_s", st->cpu_user);
	sg_json_num(&j, "sys_s", st->cpu_sys);
	sg_json_num(&j, "util_pct", client_cpu_pct(st));
	sg_json_num(&j, "ms_per_msg", st->attempted ? 1e3 * (st->cpu_user + st->cpu_sys) / (double)st->attempted : 0);
	sg_json_close(&j);
	sg_json_end(&j);
}

void client_report(const struct client_opts *o, const struct client_stats *st, FILE *f)
{
	if (o->json)
		client_json(o, st, f);
	else
		client_human(o, st, f);
}
