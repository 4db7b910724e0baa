/*
 * sink_report.c — the sink's report (sink_report()): connections, TLS,
 * verification counts, replies by stage and code, rate and CPU time; a
 * human table or one JSON object. Called once, at exit, by sink_main().
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/smtpgen/sg_json.h"
#include "tools/smtpgen/sg_util.h"
#include "tools/smtpgen/sink.h"

static double sink_rate_secs(const struct sink_stats *st)
{
	double s = st->t_last > st->t_first ? (double)(st->t_last - st->t_first) / 1e9 : 0;

	return s > 1e-6 ? s : 1e-6;
}

/* The wall-clock (Unix) time of t, an sg_now_ns() instant: lets a harness time a run across processes. */
static double sink_unix_time(uint64_t t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - ((double)sg_now_ns() - (double)t) / 1e9;
}

static void sink_human(const struct sink_opts *o, const struct sink_stats *st, FILE *f)
{
	double up = (double)(st->t_end - st->t0) / 1e9, cpu = st->cpu_user + st->cpu_sys;
	int i, c;
	unsigned k;

	fprintf(f, "smtpgen sink on %s, up %.3f s\n", o->listen, up);
	fprintf(f, "connections  %llu accepted, %llu refused (limit), at most %llu at once\n",
	        (unsigned long long)st->conns, (unsigned long long)st->refused, (unsigned long long)st->max_concurrent);
	if (o->starttls)
		fprintf(f, "tls          full %llu, resumed %llu, failed %llu; served rsa %llu, ecdsa %llu; client certs %llu\n",
		        (unsigned long long)st->tls_full, (unsigned long long)st->tls_resumed,
		        (unsigned long long)st->tls_failed, (unsigned long long)st->served[SG_KEY_RSA],
		        (unsigned long long)st->served[SG_KEY_ECDSA], (unsigned long long)st->client_certs);
	fprintf(f, "messages     %llu received: %llu verified, %llu MISMATCHED, %llu without hash; "
	        "%llu accepted, %llu refused (%llu too big)\n",
	        (unsigned long long)st->messages, (unsigned long long)st->verified, (unsigned long long)st->mismatched,
	        (unsigned long long)st->no_hash, (unsigned long long)st->accepted, (unsigned long long)st->rejected,
	        (unsigned long long)st->too_big);
	fprintf(f, "throughput   %.1f msg/s, %.2f MB/s (first to last message), %.2f MB in all\n",
	        st->messages > 1 ? (double)(st->messages - 1) / sink_rate_secs(st) : 0.0,
	        (double)st->bytes / sink_rate_secs(st) / 1e6, (double)st->bytes / 1e6);
	for (k = 0; k < st->nmismatch_ids; k++)
		fprintf(f, "%s%s", k ? " " : "mismatched   ", st->mismatch_ids[k]);
	if (st->nmismatch_ids)
		fputc('\n', f);
	fputs("replies sent\n", f);
	for (i = 0; i < SS_COUNT; i++) {
		bool any = false;

		for (c = 0; c < 400; c++) {
			if (!st->codes[i][c])
				continue;
			if (!any)
				fprintf(f, "  %-10s ", sink_stage_names[i]);
			fprintf(f, "%s%d x%llu", any ? ", " : "", c + 200, (unsigned long long)st->codes[i][c]);
			any = true;
		}
		if (any)
			fputc('\n', f);
	}
	fprintf(f, "sink         cpu %.3f s user + %.3f s sys = %.1f%% of one core\n", st->cpu_user, st->cpu_sys,
	        up > 0 ? 100.0 * cpu / up : 0.0);
}

static void sink_json(const struct sink_opts *o, const struct sink_stats *st, FILE *f)
{
	struct sg_json j;
	double up = (double)(st->t_end - st->t0) / 1e9;
	char ids[SINK_MISMATCH_IDS * 73] = "", name[16];
	unsigned k;
	int i, c;

	for (k = 0; k < st->nmismatch_ids; k++) {
		if (k)
			strcat(ids, " ");
		strcat(ids, st->mismatch_ids[k]);
	}
	sg_json_begin(&j, f);
	sg_json_str(&j, "mode", "sink");
	sg_json_str(&j, "listen", o->listen);
	sg_json_num(&j, "elapsed_s", up);
	sg_json_open(&j, "connections");
	sg_json_u64(&j, "accepted", st->conns);
	sg_json_u64(&j, "refused", st->refused);
	sg_json_u64(&j, "max_concurrent", st->max_concurrent);
	sg_json_close(&j);
	sg_json_open(&j, "tls");
	sg_json_u64(&j, "full", st->tls_full);
	sg_json_u64(&j, "resumed", st->tls_resumed);
	sg_json_u64(&j, "failed", st->tls_failed);
	sg_json_u64(&j, "served_rsa", st->served[SG_KEY_RSA]);
	sg_json_u64(&j, "served_ecdsa", st->served[SG_KEY_ECDSA]);
	sg_json_u64(&j, "client_certs", st->client_certs);
	sg_json_close(&j);
	sg_json_open(&j, "messages");
	sg_json_u64(&j, "received", st->messages);
	sg_json_u64(&j, "verified", st->verified);
	sg_json_u64(&j, "mismatched", st->mismatched);
	sg_json_u64(&j, "missing_hash", st->no_hash);
	sg_json_u64(&j, "accepted", st->accepted);
	sg_json_u64(&j, "refused", st->rejected);
	sg_json_u64(&j, "too_big", st->too_big);
	sg_json_u64(&j, "bytes", st->bytes);
	sg_json_close(&j);
	sg_json_str(&j, "mismatched_ids", ids);
	sg_json_num(&j, "msgs_per_s", st->messages > 1 ? (double)(st->messages - 1) / sink_rate_secs(st) : 0.0);
	sg_json_num(&j, "first_msg_unix", st->t_first ? sink_unix_time(st->t_first) : 0.0);
	sg_json_num(&j, "last_msg_unix", st->t_last ? sink_unix_time(st->t_last) : 0.0);
	sg_json_open(&j, "replies_by_stage");
	for (i = 0; i < SS_COUNT; i++) {
		sg_json_open(&j, sink_stage_names[i]);
		for (c = 0; c < 400; c++) {
			if (st->codes[i][c]) {
				snprintf(name, sizeof(name), "%d", c + 200);
				sg_json_u64(&j, name, st->codes[i][c]);
			}
		}
		sg_json_close(&j);
	}
	sg_json_close(&j);
	sg_json_open(&j, "cpu");
	sg_json_num(&j, "user_s", st->cpu_user);
	sg_json_num(&j, "sys_s", st->cpu_sys);
	sg_json_num(&j, "util_pct", up > 0 ? 100.0 * (st->cpu_user + st->cpu_sys) / up : 0.0);
	sg_json_close(&j);
	sg_json_end(&j);
}

void sink_report(const struct sink_opts *o, const struct sink_stats *st, FILE *f, bool json)
{
	if (json)
		sink_json(o, st, f);
	else
		sink_human(o, st, f);
	fflush(f);
}
