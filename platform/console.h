/*
 * console.h — the management console's unix socket (spoken by mailgwctl).
 *
 * Protocol: the client sends one line "<j|t> word word ...\n" (j: JSON, t:
 * text); the gateway answers with a line holding the exit status, then the
 * body, and closes. Served from the control plane's loop, one client at a time.
 */
#ifndef MAILGW_PLATFORM_CONSOLE_H
#define MAILGW_PLATFORM_CONSOLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* A growing reply buffer. */
struct console_out {
	char *buf;
	size_t len;
	size_t cap;
};

void console_printf(struct console_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append s as a JSON string literal (quoted, escaped). */
void console_json_str(struct console_out *o, const char *s);

/* Handler for one request: returns the exit status for mailgwctl (0 ok). */
typedef int (*console_handler_fn)(void *ctx, struct console_out *o, int argc, char **argv, bool json);

/* Create the listening socket (parent directory made, stale socket replaced). fd or -errno. */
int console_open(const char *path, char *err, size_t errlen);

/* Wait up to timeout_ms for a client and serve it. Returns 1 if one was served. */
int console_poll(int fd, int timeout_ms, console_handler_fn fn, void *ctx);

/* Close and unlink. */
void console_close(int fd, const char *path);

#endif
