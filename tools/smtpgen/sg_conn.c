/*
 * sg_conn.c — plain and TLS non-blocking I/O for smtpgen (sg_conn.h): the
 * client and sink state machines call it from their epoll loops; it calls
 * sendmsg/recv or wolfSSL_write/read/connect/accept (wolfSSL does its own
 * socket I/O on the fd; WANT_READ/WANT_WRITE become SG_IO_AGAIN).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/smtpgen/sg_conn.h"

#define SG_TLS_CHUNK 16384      /* one TLS record's worth per wolfSSL_write */

void sg_conn_init(struct sg_conn *c, int fd, char *inbuf, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->in = inbuf;
	c->cap = cap;
}

int sg_conn_queue(struct sg_conn *c, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (c->oidx == c->nout)
		c->oidx = c->nout = 0;
	if (c->nout >= SG_CONN_SEGS)
		return -ENOSPC;
	c->out[c->nout].iov_base = (void *)(uintptr_t)p;
	c->out[c->nout].iov_len = n;
	c->nout++;
	return 0;
}

static void sg_conn_advance(struct sg_conn *c, size_t n)
{
	c->bytes_out += n;
	while (n > 0 && c->oidx < c->nout) {
		struct iovec *v = &c->out[c->oidx];
		size_t k = n < v->iov_len ? n : v->iov_len;

		v->iov_base = (char *)v->iov_base + k;
		v->iov_len -= k;
		n -= k;
		if (v->iov_len == 0)
			c->oidx++;
	}
	if (c->oidx == c->nout)
		c->oidx = c->nout = 0;
}

static int sg_conn_tls_error(struct sg_conn *c, int ret)
{
	int e = wolfSSL_get_error(c->ssl, ret);

	if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
		return SG_IO_AGAIN;
	if (e == WOLFSSL_ERROR_ZERO_RETURN || e == SOCKET_PEER_CLOSED_E)
		return SG_IO_EOF;
	c->err = e;
	c->tls_err = true;
	return SG_IO_ERR;
}

static int sg_conn_flush_tls(struct sg_conn *c)
{
	while (c->oidx < c->nout) {
		struct iovec *v = &c->out[c->oidx];
		int n = c->tls_retry ? c->tls_retry
		                     : (int)(v->iov_len < SG_TLS_CHUNK ? v->iov_len : SG_TLS_CHUNK);
		int r = wolfSSL_write(c->ssl, v->iov_base, n);

		if (r <= 0) {
			int st = sg_conn_tls_error(c, r);

			if (st == SG_IO_AGAIN)
				c->tls_retry = n;
			return st == SG_IO_EOF ? SG_IO_ERR : st;
		}
		c->tls_retry = 0;
		sg_conn_advance(c, (size_t)r);
	}
	return SG_IO_OK;
}

int sg_conn_flush(struct sg_conn *c)
{
	if (c->ssl)
		return sg_conn_flush_tls(c);
	while (c->oidx < c->nout) {
		struct msghdr mh = { .msg_iov = &c->out[c->oidx], .msg_iovlen = c->nout - c->oidx };
		ssize_t r = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return SG_IO_AGAIN;
			if (errno == EINTR)
				continue;
			c->err = errno;
			c->tls_err = false;
			return SG_IO_ERR;
		}
		sg_conn_advance(c, (size_t)r);
	}
	return SG_IO_OK;
}

ssize_t sg_conn_read(struct sg_conn *c)
{
	ssize_t r;

	if (c->off > 0 && (c->off == c->len || c->len == c->cap)) {
		memmove(c->in, c->in + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == c->cap)
		return SG_IO_FULL;
	if (c->ssl) {
		int n = wolfSSL_read(c->ssl, c->in + c->len, (int)(c->cap - c->len));

		if (n <= 0)
			return sg_conn_tls_error(c, n);
		r = n;
	} else {
		do
			r = recv(c->fd, c->in + c->len, c->cap - c->len, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return SG_IO_EOF;
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return SG_IO_AGAIN;
			c->err = errno;
			c->tls_err = false;
			return errno == ECONNRESET ? SG_IO_EOF : SG_IO_ERR;
		}
	}
	c->len += (size_t)r;
	c->bytes_in += (uint64_t)r;
	return r;
}

void sg_conn_consume(struct sg_conn *c, size_t n)
{
	c->off += n;
	if (c->off >= c->len)
		c->off = c->len = 0;
}

void sg_conn_discard_input(struct sg_conn *c)
{
	c->off = c->len = 0;
}

int sg_conn_start_tls(struct sg_conn *c, WOLFSSL *ssl)
{
	if (wolfSSL_set_fd(ssl, c->fd) != WOLFSSL_SUCCESS)
		return -EIO;
	wolfSSL_set_using_nonblock(ssl, 1);
	c->ssl = ssl;
	c->tls_retry = 0;
	return 0;
}

int sg_conn_handshake(struct sg_conn *c, bool server)
{
	int r = server ? wolfSSL_accept(c->ssl) : wolfSSL_connect(c->ssl);

	if (r == WOLFSSL_SUCCESS)
		return SG_IO_OK;
	r = sg_conn_tls_error(c, r);
	if (r == SG_IO_EOF) {
		c->err = SOCKET_PEER_CLOSED_E;
		c->tls_err = true;
		return SG_IO_ERR;
	}
	return r;
}

void sg_conn_close(struct sg_conn *c, bool rst)
{
	if (c->ssl) {
		wolfSSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		if (rst) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->fd);
		c->fd = -1;
	}
	c->off = c->len = 0;
	c->oidx = c->nout = 0;
	c->tls_retry = 0;
}

const char *sg_conn_error(const struct sg_conn *c, char *buf, size_t len)
{
	if (c->tls_err) {
		char wb[WOLFSSL_MAX_ERROR_SZ];

		wolfSSL_ERR_error_string_n((unsigned long)c->err, wb, sizeof(wb));
		snprintf(buf, len, "TLS error %d: %s", c->err, wb);
	} else {
		snprintf(buf, len, "%s", strerror(c->err));
	}
	return buf;
}
