/*
 * main.c — smtpgen, the SMTP load generator and verifying sink of mailgw's
 * test and benchmark harness (DESIGN.md §6, issue 7). Dispatches to the
 * client (client.c), the sink (sink.c), `verify` (check stored messages,
 * e.g. a Maildir, against their X-Smtpgen-SHA256) and `selftest` (the pure
 * parsers against known cases, chunk boundaries included).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "tools/smtpgen/client.h"
#include "tools/smtpgen/sg_msg.h"
#include "tools/smtpgen/sg_reply.h"
#include "tools/smtpgen/sink.h"

static void smtpgen_usage(FILE *f)
{
	fputs("usage: smtpgen client -S HOST:PORT [options]   generate load (client --help)\n"
	      "       smtpgen sink -L ADDR:PORT [options]     receive and verify (sink --help)\n"
	      "       smtpgen verify [--quiet] FILE|DIR...    verify stored messages (a Maildir's\n"
	      "                                               new/ and cur/ are searched); exit 1\n"
	      "                                               on any mismatch or missing hash\n"
	      "       smtpgen selftest                        check the parsers\n", f);
}

/* --------------------------------------------------------------- verify */

struct verify_counts {
	unsigned long files, verified, mismatched, no_hash, unreadable;
};

static void verify_file(const char *path, struct verify_counts *vc, bool quiet)
{
	struct sg_verify v;
	struct stat sb;
	char got[65];
	void *map = NULL;
	enum sg_verdict vd;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	vc->files++;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		vc->unreadable++;
		fprintf(stderr, "smtpgen verify: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (sb.st_size > 0)
		map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	sg_verify_init(&v, true);
	if (map && map != MAP_FAILED) {
		sg_verify_feed(&v, map, (size_t)sb.st_size);
		munmap(map, (size_t)sb.st_size);
	}
	vd = sg_verify_finish(&v, got);
	if (vd == SG_VERIFIED)
		vc->verified++;
	else if (vd == SG_NO_HASH)
		vc->no_hash++;
	else
		vc->mismatched++;
	if (vd != SG_VERIFIED && !quiet)
		printf("%s %s %s\n", vd == SG_NO_HASH ? "NOHASH  " : "MISMATCH", v.id[0] ? v.id : "-", path);
}

static void verify_path(const char *path, struct verify_counts *vc, bool quiet, int depth)
{
	struct stat sb;
	struct dirent **ents;
	int n, i;

	if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode) || depth > 2) {
		verify_file(path, vc, quiet);
		return;
	}
	n = scandir(path, &ents, NULL, alphasort);
	for (i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		char sub[4096];

		if (nm[0] != '.' && (depth > 0 || strcmp(nm, "tmp") != 0)) {
			snprintf(sub, sizeof(sub), "%s/%s", path, nm);
			verify_path(sub, vc, quiet, depth + 1);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

static int verify_main(int argc, char **argv)
{
	struct verify_counts vc = { 0 };
	bool quiet = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quiet") == 0)
			quiet = true;
		else
			verify_path(argv[i], &vc, quiet, 0);
	}
	printf("files %lu verified %lu mismatched %lu missing_hash %lu unreadable %lu\n", vc.files, vc.verified,
	       vc.mismatched, vc.no_hash, vc.unreadable);
	return vc.files && vc.verified == vc.files ? 0 : 1;
}

/* ------------------------------------------------------------- selftest */

static int st_fail;

static void st_check(bool ok, const char *what)
{
	if (!ok) {
		st_fail++;
		fprintf(stderr, "selftest FAILED: %s\n", what);
	}
}

/* Feed text to a DATA verifier in chunks of size step (0: random sizes). */
static enum sg_verdict st_verify(const char *text, size_t n, size_t step, struct sg_rng *rng, size_t *left)
{
	struct sg_verify v;
	char got[65];
	size_t off = 0;

	sg_verify_init(&v, false);
	while (off < n && !v.done) {
		size_t k = step ? step : 1 + sg_rng_below(rng, 700);

		if (k > n - off)
			k = n - off;
		off += sg_verify_feed(&v, text + off, k);
	}
	*left = n - off;
	st_check(v.done, "verifier saw the end of DATA");
	return sg_verify_finish(&v, got);
}

/* Generated messages, stuffed as sent, verify in any chunking; corrupted ones do not. */
static void selftest_msgs(void)
{
	static char wire[3 << 20];
	struct sg_pool pool;
	struct sg_rng rng;
	struct sg_msg m;
	char head[SG_MSG_HEAD_MAX];
	static const uint64_t sizes[] = { 0, 100, 1000, 4096, 65536, 1 << 20 };
	size_t i, n, left;
	int corrupt;

	st_check(sg_pool_init(&pool, 2u << 20, 42) == 0, "pool");
	sg_rng_seed(&rng, 7);
	for (i = 0; i < SG_ARRAY_SIZE(sizes); i++) {
		for (corrupt = 0; corrupt < 2; corrupt++) {
			struct sg_msg_spec spec = { "selftest", i + 1, "a@b.test", "c@d.test", sizes[i], corrupt };

			sg_msg_build(&pool, &rng, &spec, head, sizeof(head), &m);
			n = 0;
			memcpy(wire + n, head, m.head_len), n += m.head_len;
			memcpy(wire + n, m.slice, m.slice_len), n += m.slice_len;
			memcpy(wire + n, ".\r\nQUIT\r\n", 9), n += 9;
			st_check(st_verify(wire, n, 0, &rng, &left) == (corrupt ? SG_MISMATCH : SG_VERIFIED),
			         corrupt ? "corrupted message detected" : "message verifies (random chunks)");
			st_check(left == 6, "verifier leaves what follows the end of DATA");
			if (sizes[i] <= 4096)
				st_check(st_verify(wire, n, 1, &rng, &left) == (corrupt ? SG_MISMATCH : SG_VERIFIED),
				         "message verifies fed one octet at a time");
			st_check(sizes[i] < 2000 || (m.size >= sizes[i] && m.size < sizes[i] + 600), "message size close to wanted");
		}
	}
	sg_pool_free(&pool);
}

/* Hand-made DATA: dot-stuffing, trace fields, LF line ends, missing hash. */
static void selftest_data(void)
{
	/* SHA-256("a\r\n.b\r\n.\r\n") */
	static const char body_hash[] = "X-Smtpgen-SHA256: 1c1ab7ec3eb80fb3c65b2bd5ae2b2dd85b3fb0fc1d1d83d2b54a5b85cb0ed94e\r\n";
	char msg[512], got[65];
	struct sg_verify v;
	struct sg_rng rng;
	size_t left;
	wc_Sha256 sha;
	uint8_t dig[32];

	sg_rng_seed(&rng, 9);
	wc_InitSha256(&sha);
	wc_Sha256Update(&sha, (const byte *)"a\r\n.b\r\n.\r\n", 10);
	wc_Sha256Final(&sha, dig);
	sg_hex(dig, 32, got);
	snprintf(msg, sizeof(msg), "Received: from x\r\n\tby y\r\nX-Smtpgen-SHA256: %s\r\n\r\na\r\n..b\r\n..\r\n.\r\n", got);
	st_check(st_verify(msg, strlen(msg), 1, &rng, &left) == SG_VERIFIED, "dot-unstuffing, folded Received:");
	st_check(st_verify(msg, strlen(msg), 0, &rng, &left) == SG_VERIFIED, "dot-unstuffing, random chunks");
	snprintf(msg, sizeof(msg), "Return-Path: <a@b>\nX-Smtpgen-SHA256: %s\n\na\n.b\n.\n", got);
	sg_verify_init(&v, true);
	sg_verify_feed(&v, msg, strlen(msg));
	st_check(sg_verify_finish(&v, got) == SG_VERIFIED, "stored message with LF line ends");
	snprintf(msg, sizeof(msg), "Subject: x\r\n\r\na\r\n.\r\n");
	st_check(st_verify(msg, strlen(msg), 0, &rng, &left) == SG_NO_HASH, "missing hash");
	snprintf(msg, sizeof(msg), "%s\r\na\r\n.b\r\n.\r\n", body_hash);
	st_check(st_verify(msg, strlen(msg), 0, &rng, &left) == SG_MISMATCH, "a wrong hash is a mismatch");
	snprintf(msg, sizeof(msg), "X-Smtpgen-SHA256: 12zz\r\n\r\n.\r\n");
	st_check(st_verify(msg, strlen(msg), 0, &rng, &left) == SG_MISMATCH, "a malformed hash is a mismatch");
}

static enum sg_reply_status st_reply(const char *in, size_t step, struct sg_reply *r, size_t *rest)
{
	size_t n = strlen(in), off = 0, used;
	enum sg_reply_status st = SG_REPLY_MORE;

	sg_reply_init(r);
	while (off < n && st == SG_REPLY_MORE) {
		size_t k = step < n - off ? step : n - off;

		st = sg_reply_feed(r, in + off, k, &used);
		off += used;
	}
	*rest = n - off;
	return st;
}

static void selftest_replies(void)
{
	struct sg_reply r;
	size_t rest, step;

	for (step = 1; step < 64; step += 7) {
		st_check(st_reply("250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n354 x\r\n", step, &r, &rest)
		         == SG_REPLY_DONE && r.code == 250 && r.ext == (SG_EXT_PIPELINING | SG_EXT_SIZE | SG_EXT_STARTTLS) &&
		         r.size_limit == 1000 && rest == 7, "multi-line EHLO reply");
		st_check(st_reply("220 ok\n", step, &r, &rest) == SG_REPLY_DONE && r.code == 220, "bare LF reply");
		st_check(st_reply("HTTP/1.1 400 Bad\r\n", step, &r, &rest) == SG_REPLY_BAD, "garbage refused");
		st_check(st_reply("250-a\r\n251 b\r\n", step, &r, &rest) == SG_REPLY_BAD, "code change refused");
		st_check(st_reply("199 x\r\n", step, &r, &rest) == SG_REPLY_BAD, "1xx refused");
	}
	{
		static char big[3000];

		memset(big, 'x', sizeof(big) - 1);
		memcpy(big, "250 ", 4);
		st_check(st_reply(big, 100, &r, &rest) == SG_REPLY_BAD, "over-long line refused");
	}
	st_check(st_reply("250", 1, &r, &rest) == SG_REPLY_MORE, "incomplete reply waits");
}

static int selftest_main(void)
{
	selftest_msgs();
	selftest_data();
	selftest_replies();
	printf("selftest: %s\n", st_fail ? "FAILED" : "ok");
	return st_fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		smtpgen_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		smtpgen_usage(stdout);
		return 0;
	}
	wolfSSL_Init();
	if (strcmp(argv[1], "client") == 0)
		rc = client_main(argc - 1, argv + 1);
	else if (strcmp(argv[1], "sink") == 0)
		rc = sink_main(argc - 1, argv + 1);
	else if (strcmp(argv[1], "verify") == 0)
		rc = verify_main(argc - 1, argv + 1);
	else if (strcmp(argv[1], "selftest") == 0)
		rc = selftest_main();
	else {
		smtpgen_usage(stderr);
		rc = 2;
	}
	wolfSSL_Cleanup();
	return rc;
}
