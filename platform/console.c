/*
 * console.c — unix-socket server for mailgwctl, run on the control plane's
 * loop (main.c): accept, read one request line, call the handler, write the
 * reply, close. A slow or broken client costs at most the socket timeouts.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/console.h"
#include "platform/console_table.h"

void
console_printf(struct console_out *o, const char *fmt, ...)
{
	va_list ap;

	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		int n = o->buf ? vsnprintf(o->buf + o->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			o->len += n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 4096;
		while (n >= 0 && cap < o->len + n + 1)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (b == NULL)
			return;
		o->buf = b;
		o->cap = cap;
	}
}

void
console_json_str(struct console_out *o, const char *s)
{
	console_printf(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			console_printf(o, "\\%c", c);
		else if (c < 0x20)
			console_printf(o, "\\u%04x", c);
		else
			console_printf(o, "%c", c);
	}
	console_printf(o, "\"");
}

int
console_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: console socket path too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
			int e = errno;
			snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(e));
			return -e;
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot listen: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	chmod(path, 0660);
	return fd;
}

/* Read one line (the request) with the socket's receive timeout. */
static int
console_read_request(int c, char *req, size_t len)
{
	size_t n = 0;

	while (n < len - 1) {
		ssize_t r = read(c, req + n, len - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		if (memchr(req, '\n', n) != NULL)
			break;
	}
	req[n] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	return 0;
}

static void
console_serve(int c, console_handler_fn fn, void *ctx)
{
	char req[CONSOLE_MAX_REQUEST];
	char *argv[CONSOLE_MAX_ARGS + 1];
	struct console_out o = { 0 };
	int argc = 0, status;
	char *save = NULL;

	if (console_read_request(c, req, sizeof(req)) != 0)
		return;
	char *mode = strtok_r(req, " ", &save);
	for (char *t = strtok_r(NULL, " ", &save); t && argc < CONSOLE_MAX_ARGS; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	if (mode == NULL || (strcmp(mode, "j") != 0 && strcmp(mode, "t") != 0)) {
		console_printf(&o, "error: malformed request\n");
		status = 2;
	} else {
		status = fn(ctx, &o, argc, argv, mode[0] == 'j');
	}
	char head[16];
	int hn = snprintf(head, sizeof(head), "%d\n", status);
	if (write(c, head, hn) == hn && o.len > 0) {
		size_t off = 0;
		while (off < o.len) {
			ssize_t w = write(c, o.buf + off, o.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(o.buf);
}

int
console_poll(int fd, int timeout_ms, console_handler_fn fn, void *ctx)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return 0;
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	console_serve(c, fn, ctx);
	close(c);
	return 1;
}

void
console_close(int fd, const char *path)
{
	if (fd >= 0)
		close(fd);
	unlink(path);
}
