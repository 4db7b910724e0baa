/*
 * received.c — formats the Received: trace field the relay writes to the next
 * hop ahead of the client's message data (app/smtp/relay.c).
 */
#include <stdio.h>
#include <string.h>

#include "app/smtp/received.h"

const char *
received_protocol(bool ehlo, bool smtputf8, bool tls)
{
	if (smtputf8)
		return tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (tls)
		return "ESMTPS";
	return ehlo ? "ESMTP" : "SMTP";
}

size_t
received_format(char *buf, size_t len, const struct received_info *ri)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	char forpart[300] = "", tlspart[200] = "";
	uint32_t a = ri->client_addr;

	gmtime_r(&ri->when, &tm);
	if (ri->rcpt != NULL && ri->rcpt_len != 0)
		snprintf(forpart, sizeof(forpart), "\r\n\tfor <%.*s>", (int)ri->rcpt_len, ri->rcpt);
	if (ri->tls_version != NULL)
		snprintf(tlspart, sizeof(tlspart), "\t(using %s with cipher %s (%d/%d bits))\r\n",
			 ri->tls_version, ri->tls_cipher ? ri->tls_cipher : "?", ri->tls_bits, ri->tls_bits);
	int n = snprintf(buf, len,
			 "Received: from %s ([%u.%u.%u.%u])\r\n%s"
			 "\tby %s (mailgw) with %s id %s%s;\r\n"
			 "\t%s, %d %s %d %02d:%02d:%02d +0000\r\n",
			 ri->helo[0] ? ri->helo : "unknown", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255,
			 tlspart, ri->hostname, ri->protocol, ri->id, forpart,
			 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}
