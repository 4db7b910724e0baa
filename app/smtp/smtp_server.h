/*
 * smtp_server.h — the inbound ESMTP service (RFC 5321) of a worker: the
 * listener on smtp.port, session slots sized by smtp.limits, and the
 * console's view of live sessions.
 *
 * Replies (every one with an RFC 3463 enhanced code except 220/221's host
 * greeting lines and 354):
 *   220 HOST ESMTP mailgw                      greeting
 *   421 4.3.2 HOST Service busy, too many sessions; try again later
 *   421 4.7.0 HOST Error: too many connections from ADDR
 *   421 4.7.0 HOST Error: too many connections per second from ADDR
 *   421 4.7.0 HOST Error: too many errors
 *   421 4.7.0 HOST Error: too many messages in this session
 *   421 4.4.2 HOST Error: timeout exceeded
 *   421 4.7.0 HOST Error: command line too long; closing   (16 x smtp.limits.command_line and no end)
 *   421 4.4.2 HOST Error: command deadline exceeded   (a command line not complete
 *                                                   smtp.timeouts.command after its first octet)
 *   421 4.4.2 HOST Error: message deadline exceeded   (a message, relayed or refused, not
 *                                                   complete by timeouts.message / limits.min_data_rate)
 *   250 2.1.0 Ok (MAIL)   RCPT/DATA/end of data: the next hop's reply, code kept
 *   354 End data with <CR><LF>.<CR><LF>
 *   503 5.5.1 Error: send HELO/EHLO first | nested MAIL command | need MAIL command | need RCPT command
 *   554 5.5.1 Error: no valid recipients
 *   554 5.7.1 <RCPT>: Relay access denied
 *   452 4.5.3 Error: too many recipients
 *   452 4.5.3 <RCPT>: routed to another next hop; send it in a new transaction
 *   451 4.4.4 <RCPT>: no route to the recipient's domain
 *   451 4.4.1 Next hop not reachable, try again later (and other 451 4.4.x next-hop failures)
 *   552 5.3.4 Message size exceeds fixed limit
 *   550 5.6.11 Error: bare <LF> in message data; message refused (SMTP smuggling defence)
 *   550 5.6.11 Error: bare <CR> in message data; ...
 *   500 5.5.2 Error: message line longer than N octets; message refused
 *   500 5.5.2 Error: command line too long | bare <LF> in command | bare <CR> in command | NUL in command
 *   500 5.5.2 Error: command not recognized
 *   502 5.5.1 Error: command not implemented (AUTH, BDAT, EXPN)
 *   220 2.0.0 Ready to start TLS | 454 4.7.0 TLS not available due to local problem (no certificates)
 *   554 5.5.1 Error: TLS already active | data sent after STARTTLS before the TLS handshake; closing
 *   252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery
 *   214 2.0.0 ...  250 2.0.0 Ok (NOOP, RSET)   221 2.0.0 Bye
 */
#ifndef MAILGW_APP_SMTP_SMTP_SERVER_H
#define MAILGW_APP_SMTP_SMTP_SERVER_H

#include <stdint.h>

struct worker;

/* Per-worker state (session slots, client side). Returns 0 or -ENOMEM. */
int smtp_server_init(struct worker *w);

/* Free what smtp_server_init made. */
void smtp_server_fini(struct worker *w);

/* Listen on smtp.port when smtp.enabled (on the worker, before its loop). */
void smtp_server_start(struct worker *w);

/* A session as `mailgwctl show sessions` shows it. */
struct smtp_session_view {
	char id[20];
	uint32_t client_addr;
	uint16_t client_port;
	char helo[64];
	const char *state;
	uint32_t age_s;
	unsigned transactions, relayed, failed;
	char next_hop[24];
};

/* Copy up to max sessions of worker w (racy, memory-safe reads). Returns the number copied. */
unsigned smtp_server_snapshot(const struct worker *w, struct smtp_session_view *out, unsigned max);

/* Sessions in use on worker w. */
unsigned smtp_server_active(const struct worker *w);

#endif
