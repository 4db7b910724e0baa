/*
 * mailgwctl — the management console client. Sends one command to a running
 * mailgw over its unix socket and prints the answer (a table, or JSON with
 * --json). `help` works without a running gateway: the list comes from the
 * same table the gateway dispatches on (platform/console_table.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/console_table.h"

static void
ctl_usage(FILE *f)
{
	char buf[8192];

	console_cmd_help(buf, sizeof(buf));
	fprintf(f, "usage: mailgwctl [-s SOCKET] [--json] COMMAND...\n"
		"  -s, --socket PATH   console socket (default %s,\n"
		"                      or $MAILGW_CONSOLE)\n"
		"  -j, --json          machine-readable output\n"
		"commands:\n%s", CONSOLE_DEFAULT_SOCKET, buf);
}

/* Send the request, copy the reply to stdout; returns the exit status. */
static int
ctl_request(const char *path, const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mailgwctl: bad socket path %s\n", path);
		return 1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "mailgwctl: cannot reach mailgw at %s: %s (is it running?)\n",
			path, strerror(errno));
		close(fd);
		return 1;
	}
	size_t len = strlen(req);
	if (write(fd, req, len) != (ssize_t)len) {
		fprintf(stderr, "mailgwctl: write: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	char buf[65536];
	int status = -1;
	size_t have = 0;
	ssize_t r;
	while ((r = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += (size_t)r;
		if (status < 0) {
			char *nl = memchr(buf, '\n', have);
			if (nl == NULL && have < sizeof(buf))
				continue;
			status = nl ? atoi(buf) : 1;
			size_t skip = nl ? (size_t)(nl - buf) + 1 : 0;
			memmove(buf, buf + skip, have - skip);
			have -= skip;
		}
		fwrite(buf, 1, have, status == 0 ? stdout : stderr);
		have = 0;
	}
	close(fd);
	if (status < 0) {
		fprintf(stderr, "mailgwctl: no answer from mailgw\n");
		return 1;
	}
	return status;
}

int
main(int argc, char **argv)
{
	const char *path = getenv("MAILGW_CONSOLE");
	char req[CONSOLE_MAX_REQUEST];
	int json = 0, i = 1;

	if (path == NULL)
		path = CONSOLE_DEFAULT_SOCKET;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			ctl_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "mailgwctl: unknown option %s\n", argv[i]);
			ctl_usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		ctl_usage(stderr);
		return 2;
	}
	int used = 0;
	const struct console_cmd_desc *cmd = console_cmd_match(argc - i, argv + i, &used);
	if (cmd == NULL) {
		fprintf(stderr, "mailgwctl: unknown command \"%s\"\n", argv[i]);
		ctl_usage(stderr);
		return 2;
	}
	if (cmd->id == CONSOLE_HELP && access(path, F_OK) != 0) {
		ctl_usage(stdout);     /* no gateway running: the same list, locally */
		return 0;
	}
	int off = snprintf(req, sizeof(req), "%s", json ? "j" : "t");
	for (int k = i; k < argc; k++) {
		/* --json may also follow the command */
		if (strcmp(argv[k], "--json") == 0 || strcmp(argv[k], "-j") == 0) {
			req[0] = 'j';
			continue;
		}
		if (strchr(argv[k], ' ') || strchr(argv[k], '\n')) {
			fprintf(stderr, "mailgwctl: arguments cannot contain spaces\n");
			return 2;
		}
		off += snprintf(req + off, sizeof(req) - off, " %s", argv[k]);
		if (off >= (int)sizeof(req) - 1) {
			fprintf(stderr, "mailgwctl: command too long\n");
			return 2;
		}
	}
	snprintf(req + off, sizeof(req) - off, "\n");
	return ctl_request(path, req);
}
