/*
 * fuzz_relay.c — libFuzzer target for a whole relayed SMTP session: the real
 * worker (EAL without hugepages, a net_ring port whose TX ring is its RX
 * ring, as fuzz_net.c and tests/unit/tcp_peer.h), its TCP, the SMTP server,
 * the relay and the SMTP client. The harness plays every peer on the wire:
 *   - clients (203.0.113.10 inside smtp.relay_networks, .12 outside) that
 *     open connections to port 25 and send what the input says: commands
 *     from templates, pipelined or not, message text, raw bytes, FIN, RST;
 *   - the next hops (203.0.113.20 and .21, port 25) of the configured
 *     routes: it answers the gateway's SYN (or resets it, or stays silent),
 *     then plays an SMTP server whose personality the input sets (EHLO
 *     keywords, SIZE, replies per command, auto-replying or not) and whose
 *     every byte the input can also write itself (replies of any class,
 *     multi-line, split, early, late, none), with FIN and RST at any point.
 * Time jumps run the timers; the gateway's packet-buffer allocations can be
 * made to fail every Nth time (w->fault_alloc_every).
 *
 * Input: a header of HDR_LEN bytes (see struct hdr_bits), then records
 * [op:1][len:1][body:len]; op & 31 is the opcode (OP_*), op >> 5 selects a
 * connection. Past its end a body reads as zeros.
 *
 * Oracle (besides ASan and UBSan), each violation traps:
 *   - Every 2xx a client gets for the end of its message data matches a
 *     2xx the next hop (the harness) gave to the end of message data that
 *     was exactly the client's message: same length and hashes of the
 *     dot-unstuffed text, our Received: field cut off the next hop's copy.
 *     The SMTP models of both legs (struct conv) follow each conversation
 *     the way its SMTP client means it: one reply per line, in order, and
 *     the data after a line that got 354 up to <CRLF>.<CRLF>.
 *   - The gateway never sends a client a reply no line asked for (but 421).
 *   - Every settle converges; after the input every connection is closed,
 *     every timer, session, next-hop connection and neighbour gone, and the
 *     worker's packet pool back to its start.
 *
 * FUZZ_RELAY_TRACE=1 prints the conversation and the gateway's log lines.
 * A next hop's 2xx sent before the end of data reached it accepts nothing
 * (the gateway refuses it since smtp_client checks that the next hop
 * acknowledged every byte; FUZZ_RELAY_LENIENT_EARLY=1 lets it stand for one
 * message, for builds before that), FUZZ_RELAY_FAULT_ALL=1 lets a fault period
 * of 1 fail every allocation (tests/fuzz/crashes/relay.md).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "app/stats.h"
#include "app/worker.h"
#include "app/net/arp.h"
#include "app/net/eth.h"
#include "app/net/tcp.h"
#include "app/policy/route.h"
#include "app/smtp/smtp_client.h"
#include "app/smtp/smtp_limit.h"
#include "app/smtp/smtp_server.h"
#include "platform/config.h"
#include "platform/log.h"
#include "platform/timer.h"

/* Not RTE_IPV4(): it shifts an int into the sign bit (UBSan). */
#define GW_IP           0xcb007101u     /* 203.0.113.1 */
#define CL_IP_RELAY     0xcb00710au     /* 203.0.113.10: in smtp.relay_networks */
#define CL_IP_OUTSIDE   0xcb00710cu     /* 203.0.113.12: accepted domains only */
#define HOP_A           0xcb007114u     /* 203.0.113.20 */
#define HOP_B           0xcb007115u     /* 203.0.113.21 */
#define SMTP_PORT       25
#define PEER_MSS        1460
#define FRAME_MAX       (RTE_ETHER_HDR_LEN + 20 + 20 + 4 + PEER_MSS)

#define N_CLIENTS       3               /* harness connection slots 0..2: clients */
#define N_HC            10              /* 3..9: next-hop connections */
#define HC_SBUF         (256u << 10)    /* bytes a harness peer has queued, unacknowledged */
#define CV_BUF          (64u << 10)     /* unparsed command bytes a model holds */
#define CV_MSG          (512u << 10)    /* a message's text (message_size is below) */
#define CV_LINES        512             /* lines (and replies) a model follows */
#define MAX_EVENTS      64
#define MAX_RECORDS     400
#define SETTLE_ROUNDS   20000           /* a 256-byte window moves 200 KB in ~800 */
#define MESSAGE_SIZE    200000          /* smtp.limits.message_size here: < CV_MSG */
#define WIND_DOWN_S     3000            /* virtual seconds everything must end within */
#define TICK_TOTAL_S    3600            /* time jumps per input */

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz_relay: INVARIANT: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	__builtin_trap();
}

static bool trace;
static bool strict_early;               /* an early EOD 2xx accepts nothing (FUZZ_RELAY_LENIENT_EARLY=1: one message) */
static bool fault_all;                  /* FUZZ_RELAY_FAULT_ALL=1: a fault period of 1 stays 1 */
#define TR(...) do { if (trace) fprintf(stderr, __VA_ARGS__); } while (0)

/* ---- input reader: past the end everything reads as zero ---- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t
rd_u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t rd_u16(struct rd *r) { uint16_t v = rd_u8(r); return (uint16_t)(v | rd_u8(r) << 8); }
static uint32_t rd_u32(struct rd *r) { uint32_t v = rd_u16(r); return v | (uint32_t)rd_u16(r) << 16; }

/* ---- the gateway ---- */

static struct gw_config cfg, cfg_base;
static struct gw gw;
static struct worker *w;
static uint16_t port_id;
static uint64_t t0, ms_tsc, next_arp_tick;
static uint64_t tick_ms;                        /* time jumped by this input's records */
static unsigned pool_base;                      /* mbufs in use after set-up */
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0, 0x10 } };

/* ============================================================ SMTP models */

/*
 * One SMTP conversation as its client means it. cmd: the client's bytes
 * (ours on a client leg, the gateway's on a next-hop leg); rep: the
 * server's. Line k (0 is the connection itself: the greeting answers it)
 * gets reply k. After a line whose reply is 354 come message data up to
 * <CRLF>.<CRLF>: that end is line k + 1 (LK_EOD) and gets the next reply.
 */
enum { LK_CONNECT = 0, LK_LINE, LK_EOD };
enum { CV_LINES_ST = 0, CV_WAIT, CV_DATA, CV_DONE };
/* data scanner states */
enum { DS_BOL = 0, DS_MID, DS_CR, DS_DOT, DS_DOTCR };

struct msg_sum {
	uint64_t h1, h2, len;
	bool overflow;
};

struct conv {
	bool client;                    /* a client leg (the gateway answers) */
	bool on;
	int st;
	bool unsync;                    /* the model lost track: no verdicts from it */
	char name[16];
	/* the command side: unparsed bytes */
	uint8_t cmd[CV_BUF];
	size_t c_off, c_len;
	/* the reply side: the current reply line */
	char rline[8];
	size_t rl_len;
	bool rl_skip;                   /* rest of a line that is not a reply line */
	/* lines and replies */
	unsigned n_lines, n_rep, n_judged;
	uint8_t kind[CV_LINES];
	char verb[CV_LINES][5];
	uint16_t code[CV_LINES];
	struct msg_sum msum[CV_LINES];
	/* the message being read */
	int ds;
	uint8_t *msg;
	size_t m_len;
	bool m_overflow;
	bool m_after_data;              /* the 354 answered a DATA line (not a desync) */
};

/* Client 2xx to an end of data, and next-hop 2xx to one: matched at the end of each settle. */
struct verdict {
	struct msg_sum m;
	bool used;
	bool early;                     /* next hop: a 2xx before the end of data reached it */
	char who[16];
};

static struct verdict client_ok[MAX_EVENTS], hop_ok[MAX_EVENTS];
static unsigned n_client_ok, n_hop_ok;
static uint64_t n_delivered;                    /* client 2xx verified (all inputs) */

static void
sum_of(const uint8_t *p, size_t n, bool overflow, struct msg_sum *s)
{
	uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		h1 = (h1 ^ p[i]) * 0x100000001b3ull;
		h2 = (h2 + p[i] + 1) * 0xff51afd7ed558ccdull;
		h2 ^= h2 >> 29;
	}
	*s = (struct msg_sum){ h1, h2, n, overflow };
}

static void
cv_init(struct conv *cv, bool client, const char *name, uint8_t *msgbuf)
{
	cv->client = client;
	cv->on = true;
	cv->st = CV_WAIT;               /* line 0, the connection, waits for the greeting */
	cv->unsync = false;
	snprintf(cv->name, sizeof(cv->name), "%s", name);
	cv->c_off = cv->c_len = 0;
	cv->rl_len = 0;
	cv->rl_skip = false;
	cv->n_lines = 1;
	cv->kind[0] = LK_CONNECT;
	memcpy(cv->verb[0], "CONN", 5);
	cv->n_rep = cv->n_judged = 0;
	cv->ds = DS_BOL;
	cv->msg = msgbuf;
	cv->m_len = 0;
	cv->m_overflow = false;
}

static void
cv_msg_byte(struct conv *cv, uint8_t b)
{
	if (cv->m_len < CV_MSG)
		cv->msg[cv->m_len++] = b;
	else
		cv->m_overflow = true;
}

/*
 * The end of our Received: field, or 0 without one. A next hop's copy of a
 * message must start with it. The field may be folded anywhere; it ends
 * with its date, "+0000\r\n", which nothing before can contain (the HELO
 * is sanitised, a path cannot hold CRLF).
 */
static size_t
received_end(const uint8_t *p, size_t n)
{
	static const char pre[] = "Received:", end[] = "+0000\r\n";

	if (n < sizeof(pre) - 1 || memcmp(p, pre, sizeof(pre) - 1) != 0)
		return 0;
	const uint8_t *e = memmem(p, n, end, sizeof(end) - 1);
	if (e == NULL)
		fail("a next hop's message starts with \"Received:\" but the field has no end "
		     "(\"+0000\\r\\n\"): update received_end() with the new format");
	return (size_t)(e - p) + sizeof(end) - 1;
}

static void
cv_push_line(struct conv *cv, int kind, const uint8_t *line, size_t n)
{
	unsigned k = cv->n_lines;

	if (k >= CV_LINES) {
		cv->unsync = true;
		cv->st = CV_DONE;
		return;
	}
	cv->kind[k] = (uint8_t)kind;
	for (unsigned i = 0; i < 4; i++)
		cv->verb[k][i] = (char)(i < n && line[i] >= 'a' && line[i] <= 'z' ? line[i] - 32 :
					i < n && line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '.');
	cv->verb[k][4] = '\0';
	if (kind == LK_EOD) {
		size_t skip = 0;
		if (!cv->client && cv->m_after_data) {
			skip = received_end(cv->msg, cv->m_len);
			if (skip == 0 && !cv->m_overflow)
				fail("%s: a message reached the next hop without our Received: field "
				     "(%zu bytes, starting \"%.20s\")", cv->name, cv->m_len, (const char *)cv->msg);
		}
		sum_of(cv->msg + skip, cv->m_len - skip, cv->m_overflow, &cv->msum[k]);
		memcpy(cv->verb[k], "EOD.", 5);
	}
	cv->n_lines = k + 1;
	cv->st = CV_WAIT;
}

/* Message data: true at <CRLF>.<CRLF> (*used bytes taken). */
static bool
cv_scan(struct conv *cv, const uint8_t *p, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];
		switch (cv->ds) {
		case DS_BOL:
			if (b == '.') {
				cv->ds = DS_DOT;
				continue;
			}
			cv_msg_byte(cv, b);
			cv->ds = b == '\r' ? DS_CR : DS_MID;
			break;
		case DS_DOT:            /* a leading dot is dropped (dot-stuffing) */
			if (b == '\r') {
				cv->ds = DS_DOTCR;
				continue;
			}
			cv_msg_byte(cv, b);
			cv->ds = DS_MID;
			break;
		case DS_DOTCR:
			if (b == '\n') {
				*used = i + 1;
				return true;
			}
			cv_msg_byte(cv, '\r');
			cv_msg_byte(cv, b);
			cv->ds = b == '\r' ? DS_CR : DS_MID;
			break;
		case DS_CR:
			cv_msg_byte(cv, b);
			cv->ds = b == '\n' ? DS_BOL : b == '\r' ? DS_CR : DS_MID;
			break;
		default:
			cv_msg_byte(cv, b);
			if (b == '\r')
				cv->ds = DS_CR;
			break;
		}
	}
	*used = n;
	return false;
}

/* Line k and its reply are both known: a 2xx to an end of data is a verdict. */
static void
cv_judge(struct conv *cv, unsigned k)
{
	if (cv->kind[k] != LK_EOD || cv->code[k] / 100 != 2 || cv->unsync)
		return;
	struct verdict *v = cv->client ? &client_ok[n_client_ok] : &hop_ok[n_hop_ok];
	if ((cv->client ? n_client_ok : n_hop_ok) >= MAX_EVENTS)
		return;
	v->m = cv->msum[k];
	v->used = false;
	v->early = false;
	snprintf(v->who, sizeof(v->who), "%s", cv->name);
	if (cv->client)
		n_client_ok++;
	else
		n_hop_ok++;
	TR("  [%s] %s: %u to the end of a %" PRIu64 "-byte message\n", cv->name,
	   cv->client ? "client got" : "next hop said", cv->code[k], v->m.len);
}

/* Parse on as far as the replies allow. */
static void
cv_advance(struct conv *cv)
{
	while (cv->st != CV_DONE) {
		if (cv->st == CV_WAIT) {
			unsigned k = cv->n_lines - 1;
			if (cv->n_rep <= k)
				break;
			cv->st = cv->code[k] == 354 ? CV_DATA : CV_LINES_ST;
			cv->m_after_data = strcmp(cv->verb[k], "DATA") == 0;
			cv->ds = DS_BOL;
			cv->m_len = 0;
			cv->m_overflow = false;
			continue;
		}
		const uint8_t *p = cv->cmd + cv->c_off;
		size_t n = cv->c_len - cv->c_off, used;
		if (cv->st == CV_LINES_ST) {
			const uint8_t *lf = memchr(p, '\n', n);
			if (lf == NULL)
				break;
			used = (size_t)(lf - p) + 1;
			cv->c_off += used;
			cv_push_line(cv, LK_LINE, p, used);
		} else {
			bool end = cv_scan(cv, p, n, &used);
			cv->c_off += used;
			if (!end)
				break;
			cv_push_line(cv, LK_EOD, p, 0);
		}
	}
	unsigned known = RTE_MIN(cv->n_lines, cv->n_rep);
	for (; cv->n_judged < known; cv->n_judged++)
		cv_judge(cv, cv->n_judged);
	if (cv->c_off == cv->c_len)
		cv->c_off = cv->c_len = 0;
}

/* Bytes of the client's side of the conversation. */
static void
cv_cmd(struct conv *cv, const uint8_t *p, size_t n)
{
	if (!cv->on || cv->st == CV_DONE)
		return;
	if (cv->c_off > 0 && cv->c_len + n > CV_BUF) {
		memmove(cv->cmd, cv->cmd + cv->c_off, cv->c_len - cv->c_off);
		cv->c_len -= cv->c_off;
		cv->c_off = 0;
	}
	if (cv->c_len + n > CV_BUF) {
		cv->unsync = true;      /* more unparsed text than we keep: stop judging */
		cv->st = CV_DONE;
		return;
	}
	memcpy(cv->cmd + cv->c_len, p, n);
	cv->c_len += n;
	cv_advance(cv);
}

/* One whole reply (its code) from the server's side. */
static void
cv_reply(struct conv *cv, unsigned code)
{
	if (!cv->on || cv->st == CV_DONE)
		return;
	cv_advance(cv);
	if (cv->n_rep >= CV_LINES) {
		cv->unsync = true;
		cv->st = CV_DONE;
		return;
	}
	unsigned k = cv->n_rep++;
	cv->code[k] = (uint16_t)code;
	TR("  [%s] reply %u = %u to %s\n", cv->name, k, code, k < cv->n_lines ? cv->verb[k] : "(none yet)");
	if (!cv->client && k >= cv->n_lines && cv->st == CV_DATA && code / 100 == 2 && n_hop_ok < MAX_EVENTS &&
	    !strict_early) {
		/*
		 * A next hop's 2xx while message data is still on its way to it: it
		 * answers an end of data it has not seen, for whatever message. It
		 * stands for one client 2xx that matches no exact acceptance (see
		 * tests/fuzz/crashes/relay.md: early_eod_reply).
		 */
		hop_ok[n_hop_ok++] = (struct verdict){ .early = true };
		snprintf(hop_ok[n_hop_ok - 1].who, sizeof(hop_ok[0].who), "%s", cv->name);
	}
	if (cv->client && k >= cv->n_lines && code != 421)
		fail("%s: the gateway sent reply %u (%u) with no line of the client's left to answer "
		     "(%u lines): an extra reply desynchronises the client", cv->name, k, code, cv->n_lines);
	cv_advance(cv);
	if (cv->client && (code == 421 || (code == 221 && k < cv->n_lines &&
					   strcmp(cv->verb[k], "QUIT") == 0)))
		cv->st = CV_DONE;       /* the session ends here */
}

/*
 * The server's side: split into reply lines ("ddd-" goes on, anything else
 * after three digits ends the reply). Lenient on purpose: a line without a
 * code is skipped, not counted, so the model never sees fewer replies than
 * the gateway's stricter parser.
 */
static void
cv_rep_bytes(struct conv *cv, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];
		if (b == '\n') {
			char *l = cv->rline;
			bool code = cv->rl_len >= 3 && l[0] >= '0' && l[0] <= '9' && l[1] >= '0' &&
				    l[1] <= '9' && l[2] >= '0' && l[2] <= '9';
			if (code && !cv->rl_skip && !(cv->rl_len >= 4 && l[3] == '-'))
				cv_reply(cv, (unsigned)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0')));
			cv->rl_len = 0;
			cv->rl_skip = false;
			continue;
		}
		if (cv->rl_len < sizeof(cv->rline))
			cv->rline[cv->rl_len++] = (char)b;
	}
}

/* At the end of a settle: every client 2xx must have its next-hop 2xx. */
static void
verdicts_match(void)
{
	for (unsigned i = 0; i < n_client_ok; i++) {
		struct verdict *c = &client_ok[i];
		if (c->used)
			continue;
		if (c->m.overflow)
			fail("%s got 2xx for a message over %u bytes (smtp.limits.message_size is %u)", c->who,
			     CV_MSG, MESSAGE_SIZE);
		bool found = false;
		for (unsigned j = 0; j < n_hop_ok && !found; j++) {
			struct verdict *h = &hop_ok[j];
			if (!h->used && !h->early && h->m.len == c->m.len && h->m.h1 == c->m.h1 &&
			    h->m.h2 == c->m.h2)
				found = h->used = true;
		}
		for (unsigned j = 0; j < n_hop_ok && !found; j++)
			if (!hop_ok[j].used && hop_ok[j].early)
				found = hop_ok[j].used = true;
		if (!found) {
			fprintf(stderr, "fuzz_relay: next-hop acceptances:");
			for (unsigned j = 0; j < n_hop_ok; j++)
				fprintf(stderr, " %s:%" PRIu64 "%s%s", hop_ok[j].who, hop_ok[j].m.len,
					hop_ok[j].early ? "(early)" : "", hop_ok[j].used ? "(matched)" : "");
			fputc('\n', stderr);
			fail("%s got 2xx for its %" PRIu64 "-byte message, but no next hop said 2xx to "
			     "exactly that message", c->who, c->m.len);
		}
		c->used = true;
		n_delivered++;
	}
}

/* ============================================================ the wire */

/* A harness peer's TCP connection: a client leg (slots < N_CLIENTS) or a next-hop leg. */
enum { HC_FREE = 0, HC_SYN_SENT, HC_SYN_RCVD, HC_EST, HC_DEAD };

struct hc {
	int st;
	bool client;
	uint32_t pip;                   /* the harness peer's address */
	uint16_t pport, gport;
	uint32_t iss, snd_una, rcv_nxt;
	uint32_t s_off, s_len, sent;    /* sbuf[s_off..+s_len) from snd_una; sent of them in flight */
	uint16_t gwnd, mywnd, gmss;
	bool fin_want, fin_sent, fin_acked, gw_fin, need_ack, gw_rst;
	bool want_out;                  /* the window opened: send on */
	uint32_t una_at_tick;           /* snd_una when rto_at was last set */
	uint32_t rto_ms;
	uint64_t rto_at;                /* retransmit then if nothing moved */
	uint64_t born;
	struct conv cv;
	uint8_t sbuf[HC_SBUF];
};

static struct hc *hcs;                          /* N_HC, heap (large) */
static uint8_t *msgbufs;                        /* N_HC * CV_MSG */
static uint64_t hc_births;
static uint16_t next_pport;
static bool hc_sent_any;                        /* the harness sent something this round */
static uint64_t n_steps, n_rounds, n_in, n_out; /* this input: time steps, loop rounds, frames (trace) */

static bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

static uint16_t
l4_csum(const struct rte_ipv4_hdr *ip, const void *l4, unsigned len)
{
	uint32_t sum = rte_raw_cksum(l4, len) + rte_ipv4_phdr_cksum(ip, 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
feed_mbuf(struct rte_mbuf *m)
{
	m->port = port_id;
	net_input(w, 0, &m, 1);
	hc_sent_any = true;
	n_in++;
}

/* A TCP segment from pip:pport to the gateway's gport. */
static void
tcp_out(uint32_t pip, uint16_t pport, uint16_t gport, uint8_t flags, uint32_t seq, uint32_t ack,
	uint16_t wnd, bool mss_opt, const uint8_t *payload, unsigned plen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	unsigned optlen = mss_opt ? 4 : 0, thl = sizeof(struct rte_tcp_hdr) + optlen;
	unsigned iplen = sizeof(struct rte_ipv4_hdr) + thl + plen;

	if (m == NULL)                  /* the pool is empty: the NIC would have dropped it */
		return;
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*eh) + iplen));
	eh->dst_addr = gw.ports[0].mac;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)iplen);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(pip);
	ip->dst_addr = rte_cpu_to_be_32(GW_IP);
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, sizeof(*ip));
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	th->src_port = rte_cpu_to_be_16(pport);
	th->dst_port = rte_cpu_to_be_16(gport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	uint8_t *o = (uint8_t *)(th + 1);
	if (mss_opt) {
		o[0] = 2;
		o[1] = 4;
		o[2] = PEER_MSS >> 8;
		o[3] = PEER_MSS & 0xff;
	}
	if (plen)
		memcpy(o + optlen, payload, plen);
	th->cksum = l4_csum(ip, th, thl + plen);
	feed_mbuf(m);
}

static void
hc_seg(struct hc *c, uint8_t flags, uint32_t seq, const uint8_t *p, unsigned n)
{
	tcp_out(c->pip, c->pport, c->gport, flags, seq, (flags & RTE_TCP_ACK_FLAG) ? c->rcv_nxt : 0,
		c->mywnd, (flags & RTE_TCP_SYN_FLAG) != 0, p, n);
	c->need_ack = false;
}

/* Send what the gateway's window allows (at most max segments), then FIN once everything is out. */
static void
hc_output_n(struct hc *c, unsigned max)
{
	if (c->st != HC_EST)
		return;
	c->want_out = false;
	for (unsigned k = 0; k < max && c->sent < c->s_len && c->sent < c->gwnd; k++) {
		unsigned n = RTE_MIN(RTE_MIN((unsigned)c->gmss, c->s_len - c->sent), (unsigned)c->gwnd - c->sent);
		hc_seg(c, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->snd_una + c->sent, c->sbuf + c->s_off + c->sent, n);
		c->sent += n;
	}
	if (c->fin_want && !c->fin_sent && c->sent == c->s_len) {
		hc_seg(c, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, c->snd_una + c->s_len, NULL, 0);
		c->fin_sent = true;
	}
	if (c->need_ack)
		hc_seg(c, RTE_TCP_ACK_FLAG, c->snd_una + c->sent + c->fin_sent, NULL, 0);
}

static void
hc_output(struct hc *c)
{
	hc_output_n(c, UINT_MAX);
}

/* Queue bytes on c (what does not fit is not sent, and not modelled). */
static size_t
hc_write(struct hc *c, const void *p, size_t n)
{
	if (c == NULL || c->fin_want || (c->st != HC_EST && c->st != HC_SYN_SENT && c->st != HC_SYN_RCVD))
		return 0;
	if (c->s_off + c->s_len + n > HC_SBUF) {
		memmove(c->sbuf, c->sbuf + c->s_off, c->s_len);
		c->s_off = 0;
	}
	n = RTE_MIN(n, (size_t)(HC_SBUF - c->s_len));
	memcpy(c->sbuf + c->s_off + c->s_len, p, n);
	c->s_len += (uint32_t)n;
	if (c->client)
		cv_cmd(&c->cv, p, n);
	else
		cv_rep_bytes(&c->cv, p, n);
	if (trace && n) {
		fprintf(stderr, "  %s %-3s> \"", c->client ? "client" : "nexthop", c->cv.name);
		for (size_t i = 0; i < n && i < 160; i++) {
			uint8_t b = ((const uint8_t *)p)[i];
			fprintf(stderr, b == '\r' ? "\\r" : b == '\n' ? "\\n" : (b < 0x20 || b >= 0x7f) ? "\\x%02x" : "%c", b);
		}
		fprintf(stderr, "%s\" (%zu)\n", n > 160 ? "..." : "", n);
	}
	hc_output(c);
	return n;
}

static void
hc_fin(struct hc *c)
{
	if (c == NULL || c->st == HC_FREE || c->st == HC_DEAD || c->fin_want)
		return;
	c->fin_want = true;
	hc_output(c);
}

static void
hc_rst(struct hc *c)
{
	if (c == NULL || c->st == HC_FREE || c->st == HC_DEAD)
		return;
	if (c->st != HC_SYN_SENT)
		tcp_out(c->pip, c->pport, c->gport, RTE_TCP_RST_FLAG, c->snd_una + c->sent + c->fin_sent, 0, 0,
			false, NULL, 0);
	c->st = HC_DEAD;
	c->cv.st = CV_DONE;
}

/* A free slot in [lo, hi); a dead connection's slot when none is free. */
static struct hc *
hc_slot(unsigned lo, unsigned hi)
{
	struct hc *old = NULL;

	for (unsigned i = lo; i < hi; i++) {
		if (hcs[i].st == HC_FREE)
			return &hcs[i];
		if (hcs[i].st == HC_DEAD && (old == NULL || hcs[i].born < old->born))
			old = &hcs[i];
	}
	return old;
}

static void
hc_init(struct hc *c, bool client, uint32_t pip, uint16_t pport, uint16_t gport, uint32_t iss)
{
	unsigned idx = (unsigned)(c - hcs);
	char name[8];

	memset(c, 0, offsetof(struct hc, cv));
	c->client = client;
	c->pip = pip;
	c->pport = pport;
	c->gport = gport;
	c->iss = iss;
	c->snd_una = iss + 1;
	c->mywnd = 65535;
	c->gmss = 536;
	c->una_at_tick = c->snd_una;
	c->rto_ms = 200;
	c->rto_at = w->now + 200 * ms_tsc;
	c->born = ++hc_births;
	snprintf(name, sizeof(name), "%c%u", client ? 'c' : 'n', idx);
	cv_init(&c->cv, client, name, msgbufs + (size_t)idx * CV_MSG);
}

/* ============================================================ next hops */

/* Canned replies: code and first line text (code index = byte % N_CODES). */
static const struct { uint16_t code; const char *text; } codes[] = {
	{ 220, "nh.example ESMTP" }, { 250, "2.0.0 Ok" }, { 251, "2.1.5 User not local; will forward" },
	{ 354, "End data with <CR><LF>.<CR><LF>" }, { 221, "2.0.0 Bye" },
	{ 421, "4.4.2 nh.example Error: timeout exceeded" }, { 450, "4.2.0 Mailbox busy" },
	{ 451, "4.3.0 Local error" }, { 452, "4.3.1 Insufficient system storage" },
	{ 500, "5.5.2 Error: command not recognized" }, { 501, "5.5.4 Syntax error" },
	{ 503, "5.5.1 Error: bad sequence of commands" }, { 550, "5.1.1 User unknown" },
	{ 552, "5.3.4 Message size exceeds fixed limit" }, { 553, "5.6.7 SMTPUTF8 not supported" },
	{ 554, "5.7.1 Rejected" }, { 555, "5.5.4 Unsupported option" }, { 252, "2.5.2 Cannot VRFY" },
	{ 334, "VXNlcm5hbWU6" }, { 199, "odd" }, { 600, "no such class" }, { 250, "" },
	{ 454, "4.7.0 TLS not available due to local problem" }, { 220, "2.0.0 Ready to start TLS" },
};
#define N_CODES RTE_DIM(codes)

/* reply flags */
#define RF_MULTI        0x01            /* three lines */
#define RF_NO_ENH       0x02            /* no enhanced code in the text */
#define RF_SPLIT        0x04            /* in two writes with a settle between */
#define RF_LF           0x08            /* bare LF line ends (malformed) */
#define RF_TWICE        0x10            /* the same reply twice */
#define RF_LONG         0x20            /* a 600-byte text (over the line limit) */
#define RF_BAD_CONT     0x40            /* continuation line with another code */

/* What a next hop does with a line (or its end of data), per kind. */
enum { NK_CONNECT = 0, NK_EHLO, NK_HELO, NK_MAIL, NK_RCPT, NK_DATA, NK_EOD, NK_RSET, NK_QUIT,
       NK_STARTTLS, NK_OTHER, NK_COUNT };

struct nh_rule {
	uint8_t code;                   /* index into codes[]; 0xff: the default */
	uint8_t flags;
	uint8_t count;                  /* times it applies; 0: always */
	bool hold;                      /* no automatic reply: the input must give it */
};

/* The next hops' personality (both addresses), from the header and OP_NH_MODE. */
struct nh_persona {
	bool autoreply;
	uint8_t caps;                   /* CAP_* */
	uint32_t size;                  /* SIZE value (0: "SIZE" alone) */
	uint8_t syn;                    /* 0 accept, 1 reset, 2 silence */
	uint16_t wnd;                   /* window of new next-hop connections */
	struct nh_rule rule[NK_COUNT];
};

#define CAP_PIPELINING  0x01
#define CAP_SIZE        0x02
#define CAP_SMTPUTF8    0x04
#define CAP_8BITMIME    0x08
#define CAP_STARTTLS    0x10
#define CAP_ENH         0x20
#define CAP_MULTI_GREET 0x40

static struct nh_persona nh;

static int
nh_kind(const struct conv *cv, unsigned k)
{
	static const struct { const char *v; int k; } verbs[] = {
		{ "EHLO", NK_EHLO }, { "HELO", NK_HELO }, { "MAIL", NK_MAIL }, { "RCPT", NK_RCPT },
		{ "DATA", NK_DATA }, { "RSET", NK_RSET }, { "QUIT", NK_QUIT }, { "STAR", NK_STARTTLS },
	};
	if (cv->kind[k] == LK_CONNECT)
		return NK_CONNECT;
	if (cv->kind[k] == LK_EOD)
		return NK_EOD;
	for (unsigned i = 0; i < RTE_DIM(verbs); i++)
		if (memcmp(cv->verb[k], verbs[i].v, 4) == 0)
			return verbs[i].k;
	return NK_OTHER;
}

/* The EHLO reply of this personality. */
static size_t
nh_ehlo_reply(char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "250-nh.example Hello\r\n");

	if (nh.caps & CAP_PIPELINING)
		n += (size_t)snprintf(buf + n, len - n, "250-PIPELINING\r\n");
	if ((nh.caps & CAP_SIZE) && nh.size)
		n += (size_t)snprintf(buf + n, len - n, "250-SIZE %" PRIu32 "\r\n", nh.size);
	else if (nh.caps & CAP_SIZE)
		n += (size_t)snprintf(buf + n, len - n, "250-SIZE\r\n");
	if (nh.caps & CAP_8BITMIME)
		n += (size_t)snprintf(buf + n, len - n, "250-8BITMIME\r\n");
	if (nh.caps & CAP_SMTPUTF8)
		n += (size_t)snprintf(buf + n, len - n, "250-SMTPUTF8\r\n");
	if (nh.caps & CAP_STARTTLS)
		n += (size_t)snprintf(buf + n, len - n, "250-STARTTLS\r\n");
	if (nh.caps & CAP_ENH)
		n += (size_t)snprintf(buf + n, len - n, "250-ENHANCEDSTATUSCODES\r\n");
	n += (size_t)snprintf(buf + n, len - n, "250 DSN\r\n");
	return n;
}

/* A canned reply (codes[ci] with flags) into buf. */
static size_t
nh_canned(unsigned ci, unsigned flags, char *buf, size_t len)
{
	const char *text = codes[ci % N_CODES].text;
	unsigned code = codes[ci % N_CODES].code;
	const char *eol = (flags & RF_LF) ? "\n" : "\r\n";
	char longtext[601];
	size_t n = 0;

	if ((flags & RF_NO_ENH) && text[0] >= '2' && text[0] <= '5' && text[1] == '.')
		text = strchr(text, ' ') ? strchr(text, ' ') + 1 : text;
	if (flags & RF_LONG) {
		memset(longtext, 'x', 600);
		longtext[600] = '\0';
		text = longtext;
	}
	if (flags & RF_MULTI) {
		n += (size_t)snprintf(buf + n, len - n, "%u-%s%s", code, text, eol);
		n += (size_t)snprintf(buf + n, len - n, "%u-more%s", (flags & RF_BAD_CONT) ? code + 1 : code, eol);
	}
	n += (size_t)snprintf(buf + n, len - n, "%u%s%s%s", code, text[0] ? " " : "", text, eol);
	return n;
}

/* Write a reply on next-hop connection c, in two halves with a settle between when asked. */
static void settle(void);

static void
nh_send(struct hc *c, const char *buf, size_t n, bool split)
{
	if (split && n > 1) {
		hc_write(c, buf, n / 2);
		settle();
		hc_write(c, buf + n / 2, n - n / 2);
	} else {
		hc_write(c, buf, n);
	}
}

/* The automatic reply to line k of next-hop connection c. */
static void
nh_auto_one(struct hc *c, unsigned k)
{
	static const uint8_t dflt[NK_COUNT] = {
		[NK_CONNECT] = 0, [NK_EHLO] = 1, [NK_HELO] = 1, [NK_MAIL] = 1, [NK_RCPT] = 1, [NK_DATA] = 3,
		[NK_EOD] = 1, [NK_RSET] = 1, [NK_QUIT] = 4, [NK_STARTTLS] = 22, [NK_OTHER] = 9,
	};
	int kind = nh_kind(&c->cv, k);
	struct nh_rule *r = &nh.rule[kind];
	char buf[2048];
	size_t n;
	unsigned flags = 0;

	if (r->code != 0xff) {
		flags = r->flags;
		n = nh_canned(r->code, flags, buf, sizeof(buf));
		if (r->count && --r->count == 0)
			r->code = 0xff;
	} else if (kind == NK_EHLO) {
		n = nh_ehlo_reply(buf, sizeof(buf));
	} else {
		n = nh_canned(dflt[kind], (kind == NK_CONNECT && (nh.caps & CAP_MULTI_GREET)) ? RF_MULTI : 0,
			      buf, sizeof(buf));
	}
	if (flags & RF_SPLIT) {                 /* two segments; no settle: we are inside drain() */
		hc_write(c, buf, n / 2);
		hc_write(c, buf + n / 2, n - n / 2);
	} else {
		hc_write(c, buf, n);
	}
	if (flags & RF_TWICE)
		hc_write(c, buf, n);
	if (kind == NK_QUIT)
		hc_fin(c);
}

/* Answer, in order, every line of c no reply has answered yet (unless held). */
static void
nh_auto(struct hc *c)
{
	while (nh.autoreply && c->st == HC_EST && !c->fin_want && c->cv.st != CV_DONE &&
	       c->cv.n_rep < c->cv.n_lines) {
		int kind = nh_kind(&c->cv, c->cv.n_rep);
		if (nh.rule[kind].hold)
			return;
		unsigned before = c->cv.n_rep;
		nh_auto_one(c, c->cv.n_rep);
		if (c->cv.n_rep == before)
			return;         /* the reply did not count (malformed): do not loop */
	}
}

/* ============================================================ frames from the gateway */

static struct hc *
hc_find(uint32_t pip, uint16_t pport, uint16_t gport)
{
	for (unsigned i = 0; i < N_HC; i++) {
		struct hc *c = &hcs[i];
		if (c->st != HC_FREE && c->pip == pip && c->pport == pport && c->gport == gport)
			return c;
	}
	return NULL;
}

static uint16_t
syn_mss(const struct rte_tcp_hdr *th, unsigned doff)
{
	const uint8_t *o = (const uint8_t *)(th + 1);
	unsigned len = doff - sizeof(*th);

	for (unsigned i = 0; i < len;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		if (o[i] == 2 && o[i + 1] == 4)
			return (uint16_t)RTE_MIN(o[i + 2] << 8 | o[i + 3], PEER_MSS);
		i += o[i + 1];
	}
	return 536;
}

/* The gateway's SYN to a next hop: accept, reset or ignore it (nh.syn). */
static void
nh_syn(uint32_t pip, uint16_t pport, uint16_t gport, uint32_t seq, const struct rte_tcp_hdr *th, unsigned doff)
{
	struct hc *c = hc_find(pip, pport, gport);

	if (c != NULL && c->st == HC_SYN_RCVD) {        /* retransmitted SYN */
		hc_seg(c, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, c->iss, NULL, 0);
		return;
	}
	if (nh.syn == 2)
		return;
	c = nh.syn == 0 ? hc_slot(N_CLIENTS, N_HC) : NULL;
	if (c == NULL) {
		tcp_out(pip, pport, gport, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, seq + 1, 0, false, NULL, 0);
		return;
	}
	hc_init(c, false, pip, pport, gport, 0x40000000u + (uint32_t)hc_births * 0x10000u);
	c->st = HC_SYN_RCVD;
	c->rcv_nxt = seq + 1;
	c->gmss = syn_mss(th, doff);
	c->mywnd = nh.wnd;
	TR("  nexthop %s: SYN from %u accepted\n", c->cv.name, pport);
	hc_seg(c, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, c->iss, NULL, 0);
}

static void
hc_established(struct hc *c)
{
	c->st = HC_EST;
	if (!c->client)
		nh_auto(c);             /* the greeting */
}

/* ACK and window from the gateway. */
static void
hc_ack(struct hc *c, uint32_t ack, uint16_t wnd)
{
	uint32_t top = c->snd_una + c->sent + c->fin_sent;

	if (seq_lt(c->snd_una, ack) && seq_leq(ack, top)) {
		uint32_t d = ack - c->snd_una;
		if (c->fin_sent && ack == top) {
			c->fin_acked = true;
			d--;
		}
		c->s_off += d;
		c->s_len -= d;
		c->sent -= d;
		c->snd_una += d;
		if (c->s_len == 0)
			c->s_off = 0;
		c->want_out = true;
	}
	if (wnd > c->gwnd)
		c->want_out = true;
	c->gwnd = wnd;
}

/* Payload and FIN from the gateway, in order only. */
static void
hc_data(struct hc *c, uint32_t seq, const uint8_t *p, unsigned plen, bool fin)
{
	if (plen != 0 || fin)
		c->need_ack = true;
	if (plen != 0 && seq_leq(seq, c->rcv_nxt) && seq_lt(c->rcv_nxt, seq + plen)) {
		unsigned off = c->rcv_nxt - seq, n = plen - off;
		c->rcv_nxt += n;
		if (c->client)
			cv_rep_bytes(&c->cv, p + off, n);
		else
			cv_cmd(&c->cv, p + off, n);
		if (trace) {
			fprintf(stderr, "  gw -> %-3s \"", c->cv.name);
			for (unsigned i = off; i < plen && i < off + 160; i++)
				fprintf(stderr, p[i] == '\r' ? "\\r" : p[i] == '\n' ? "\\n" :
					(p[i] < 0x20 || p[i] >= 0x7f) ? "\\x%02x" : "%c", p[i]);
			fprintf(stderr, "%s\" (%u)\n", n > 160 ? "..." : "", n);
		}
	}
	if (fin && seq + plen == c->rcv_nxt && !c->gw_fin) {
		c->gw_fin = true;
		c->rcv_nxt++;
		TR("  gw -> %-3s FIN\n", c->cv.name);
		if (!c->client)
			hc_fin(c);      /* a next hop closes too (Postfix does) */
	}
	if (!c->client)
		nh_auto(c);
}

/* One TCP segment the gateway sent. */
static void
from_gw_tcp(const struct rte_ipv4_hdr *ip, unsigned iphl, unsigned total)
{
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)((const uint8_t *)ip + iphl);
	unsigned doff = (th->data_off >> 4) * 4u;

	if (total < iphl + sizeof(*th) || doff < sizeof(*th) || iphl + doff > total)
		fail("the gateway sent a malformed TCP header");
	uint32_t pip = rte_be_to_cpu_32(ip->dst_addr);
	uint16_t gport = rte_be_to_cpu_16(th->src_port), pport = rte_be_to_cpu_16(th->dst_port);
	uint8_t f = th->tcp_flags;
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq), ack = rte_be_to_cpu_32(th->recv_ack);
	const uint8_t *payload = (const uint8_t *)th + doff;
	unsigned plen = total - iphl - doff;
	struct hc *c = hc_find(pip, pport, gport);

	if ((f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG &&
	    (pip == HOP_A || pip == HOP_B) && pport == SMTP_PORT) {
		nh_syn(pip, pport, gport, seq, th, doff);
		return;
	}
	if (c == NULL || c->st == HC_DEAD) {
		if (f & RTE_TCP_RST_FLAG)
			return;         /* what a host with no such connection answers: RST */
		if (f & RTE_TCP_ACK_FLAG)
			tcp_out(pip, pport, gport, RTE_TCP_RST_FLAG, ack, 0, 0, false, NULL, 0);
		else
			tcp_out(pip, pport, gport, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0,
				seq + plen + !!(f & RTE_TCP_SYN_FLAG) + !!(f & RTE_TCP_FIN_FLAG), 0, false, NULL, 0);
		return;
	}
	if (f & RTE_TCP_RST_FLAG) {
		TR("  gw -> %-3s RST\n", c->cv.name);
		c->st = HC_DEAD;
		c->gw_rst = true;
		return;
	}
	if (c->st == HC_SYN_SENT) {
		if ((f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG) ||
		    ack != c->iss + 1)
			return;
		c->rcv_nxt = seq + 1;
		c->gmss = syn_mss(th, doff);
		c->gwnd = rte_be_to_cpu_16(th->rx_win);
		c->need_ack = true;
		hc_established(c);
		return;
	}
	if (f & RTE_TCP_SYN_FLAG) {             /* a retransmitted SYN-ACK: ACK it again */
		c->need_ack = true;
		return;
	}
	if (!(f & RTE_TCP_ACK_FLAG))
		return;
	if (c->st == HC_SYN_RCVD) {
		if (ack != c->iss + 1)
			return;
		c->gwnd = rte_be_to_cpu_16(th->rx_win);
		hc_established(c);
	}
	hc_ack(c, ack, rte_be_to_cpu_16(th->rx_win));
	hc_data(c, seq, payload, plen, f & RTE_TCP_FIN_FLAG);
}

/* ARP reply for ip (the gateway asked for one of the harness's addresses). */
static void
arp_answer(uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);

	if (m == NULL)
		return;
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eh) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eh + 1);
	eh->dst_addr = gw.ports[0].mac;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	a->arp_data.arp_sha = peer_mac;
	a->arp_data.arp_sip = rte_cpu_to_be_32(ip);
	a->arp_data.arp_tha = gw.ports[0].mac;
	a->arp_data.arp_tip = rte_cpu_to_be_32(GW_IP);
	feed_mbuf(m);
}

static void
from_gw(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	unsigned len = rte_pktmbuf_data_len(m);

	if (m->nb_segs != 1 || len < RTE_ETHER_HDR_LEN)
		fail("the gateway sent a %u-byte frame in %u segments", len, m->nb_segs);
	uint16_t type = rte_be_to_cpu_16(((const struct rte_ether_hdr *)p)->ether_type);
	p += RTE_ETHER_HDR_LEN;
	len -= RTE_ETHER_HDR_LEN;
	if (type == RTE_ETHER_TYPE_ARP) {
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)p;
		uint32_t tip = len >= sizeof(*a) ? rte_be_to_cpu_32(a->arp_data.arp_tip) : 0;
		if (a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && tip != GW_IP && (tip >> 8) == (GW_IP >> 8))
			arp_answer(tip);
		return;
	}
	if (type != RTE_ETHER_TYPE_IPV4 || len < sizeof(struct rte_ipv4_hdr))
		return;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)p;
	unsigned iphl = (ip->version_ihl & 0x0f) * 4u, total = rte_be_to_cpu_16(ip->total_length);
	if (iphl < sizeof(*ip) || total > len || total < iphl)
		fail("the gateway sent a malformed IPv4 header");
	if (ip->next_proto_id == IPPROTO_TCP)
		from_gw_tcp(ip, iphl, total);
}

/* Read (and free) what the gateway sent. Returns the number of frames. */
static unsigned
drain(void)
{
	struct rte_mbuf *pkts[32];
	unsigned total = 0;
	uint16_t n;

	while ((n = rte_eth_rx_burst(port_id, 0, pkts, RTE_DIM(pkts))) != 0) {
		for (uint16_t i = 0; i < n; i++)
			from_gw(pkts[i]);
		rte_pktmbuf_free_bulk(pkts, n);
		total += n;
		n_out += n;
	}
	return total;
}

/* ============================================================ driving */

/* Run the worker's loop (less RX) until nobody has anything more to say. */
static void
settle(void)
{
	for (unsigned round = 0;; round++) {
		if (round == SETTLE_ROUNDS)
			fail("no quiescence after %u rounds of the worker loop", round);
		tcp_timers(w);
		tcp_events(w);
		worker_tx_flush(w);
		hc_sent_any = false;
		n_rounds++;
		unsigned n = drain();
		for (unsigned i = 0; i < N_HC; i++)
			if (hcs[i].need_ack || (hcs[i].want_out && hcs[i].sent < hcs[i].s_len))
				hc_output(&hcs[i]);
			else
				hcs[i].want_out = false;
		if (n == 0 && !hc_sent_any) {
			if (round > 100)
				TR("  settle: %u rounds\n", round);
			break;
		}
	}
	verdicts_match();
}

/*
 * Time moved: the harness's peers resend what the gateway has not
 * acknowledged, as an RTO would (backing off from 200 ms to 60 s, reset
 * by progress): up to 4 segments from the oldest, or a zero-window probe.
 */
static void
hc_retransmit(void)
{
	for (unsigned i = 0; i < N_HC; i++) {
		struct hc *c = &hcs[i];
		if (c->st != HC_EST && c->st != HC_SYN_SENT)
			continue;
		if (c->snd_una != c->una_at_tick) {
			c->una_at_tick = c->snd_una;
			c->rto_ms = 200;
			c->rto_at = w->now + c->rto_ms * ms_tsc;
		}
		bool unacked = c->st == HC_SYN_SENT || c->sent != 0 || (c->fin_sent && !c->fin_acked) ||
			       (c->gwnd == 0 && c->s_len != 0);
		if (!unacked) {
			c->rto_at = w->now + c->rto_ms * ms_tsc;
			continue;
		}
		if (w->now < c->rto_at)
			continue;
		c->rto_ms = RTE_MIN(c->rto_ms * 2, 60000u);
		c->rto_at = w->now + c->rto_ms * ms_tsc;
		if (c->st == HC_SYN_SENT) {
			hc_seg(c, RTE_TCP_SYN_FLAG, c->iss, NULL, 0);
		} else if (c->gwnd == 0 && c->s_len != 0 && c->sent == 0) {
			hc_seg(c, RTE_TCP_ACK_FLAG, c->snd_una, c->sbuf + c->s_off, 1);   /* zero-window probe */
		} else {
			c->sent = 0;            /* go back N; the rest goes as ACKs come */
			c->fin_sent = c->fin_sent && c->fin_acked;
			hc_output_n(c, 4);
		}
	}
}

/* Run the clock to target: a loop pass at every timer expiry, at least every max_step. */
static void
advance_to(uint64_t target, uint64_t max_step)
{
	do {
		uint64_t next = timer_next_expiry(&w->timers), t = target;
		if (next > w->now && next < t)
			t = next;
		if (t - w->now > max_step)
			t = w->now + max_step;
		w->now = t;
		n_steps++;
		if (w->now >= next_arp_tick) {
			arp_tick(w);
			next_arp_tick = w->now + 100 * ms_tsc;
		}
		hc_retransmit();
		settle();
	} while (w->now < target);
}

/* ============================================================ the input's records */

enum {
	OP_C_OPEN = 0,          /* body: from (0: .10 relay network, 1: .12 outside) */
	OP_C_CMD,               /* template sel pflags size:4 extra... */
	OP_C_RAW,               /* bytes */
	OP_C_TEXT,              /* lines linelen style seed: message text */
	OP_C_EOD,               /* variant: the end of data */
	OP_C_FIN,
	OP_C_RST,
	OP_C_WND,               /* window:2 */
	OP_C_MSG,               /* flags nrcpt lines linelen sel: a whole transaction */
	OP_N_REPLY = 10,        /* code flags: a canned reply from the next hop */
	OP_N_RAW,               /* bytes from the next hop */
	OP_N_FIN,
	OP_N_RST,
	OP_N_WND,               /* window:2 (and of new next-hop connections) */
	OP_N_MODE,              /* what value... (see rec_nh_mode) */
	OP_N_EHLO,              /* caps size:4: the EHLO reply now, as configured */
	OP_TICK = 20,           /* value:2 unit (ms, 10 ms, 100 ms, s) */
	OP_FAULT,               /* n: fail every nth packet-buffer allocation (0: off) */
	OP_COUNT = 32
};

/* The client connection in slot op >> 5 (0..2), if open. */
static struct hc *
client_of(uint8_t op)
{
	struct hc *c = &hcs[(op >> 5) % N_CLIENTS];
	return c->st == HC_FREE ? NULL : c;
}

/* Next-hop connection op >> 5: 0 the newest live one, 1 the one before, ... */
static struct hc *
hop_of(uint8_t op)
{
	struct hc *order[N_HC];
	unsigned n = 0, want = op >> 5;

	for (unsigned i = N_CLIENTS; i < N_HC; i++)
		if (hcs[i].st == HC_EST || hcs[i].st == HC_SYN_RCVD)
			order[n++] = &hcs[i];
	for (unsigned i = 1; i < n; i++)        /* newest first */
		for (unsigned j = i; j > 0 && order[j]->born > order[j - 1]->born; j--) {
			struct hc *t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	return want < n ? order[want] : NULL;
}

static void
rec_c_open(uint8_t op, struct rd *r)
{
	struct hc *c = &hcs[(op >> 5) % N_CLIENTS];
	uint32_t ip = (rd_u8(r) & 1) ? CL_IP_OUTSIDE : CL_IP_RELAY;

	if (c->st != HC_FREE && c->st != HC_DEAD)
		return;
	hc_init(c, true, ip, next_pport++, SMTP_PORT, 0x10000000u + (uint32_t)hc_births * 0x100000u);
	c->st = HC_SYN_SENT;
	hc_seg(c, RTE_TCP_SYN_FLAG, c->iss, NULL, 0);
}

static const char *const rcpts[16] = {
	"a@example.com", "b@example.com", "c@sub.example.com", "d@other.example",
	"e@same.example", "f@anywhere.test", "Postmaster", "postmaster@example.com",
	"g@nowhere.invalid", "\"q u\"@example.com", "h@EXAMPLE.COM.", "i@[203.0.113.1]",
	"\xc3\xbc@example.com", "j@sub.sub.example.com",
	"llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@sub.example.com",
	"k@other.example",
};
static const char *const senders[8] = {
	"s@client.example", "", "t@example.com", "\xc3\xbc@client.example", "u@other.example",
	"@a.example:v@client.example", "w@client.example",
	"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss@client.example",
};

/* MAIL parameters (pflags) */
#define MP_SIZE         0x01
#define MP_UTF8         0x02
#define MP_8BIT         0x04
#define MP_BIG          0x08            /* SIZE=2000000 */
#define MP_7BIT         0x10

static size_t
mail_line(char *buf, size_t len, unsigned sel, unsigned pflags, uint32_t size)
{
	int n = snprintf(buf, len, "MAIL FROM:<%s>", senders[sel % RTE_DIM(senders)]);

	if (pflags & (MP_SIZE | MP_BIG))
		n += snprintf(buf + n, len - (size_t)n, " SIZE=%" PRIu32, (pflags & MP_BIG) ? 2000000u : size);
	if (pflags & MP_UTF8)
		n += snprintf(buf + n, len - (size_t)n, " SMTPUTF8");
	if (pflags & MP_8BIT)
		n += snprintf(buf + n, len - (size_t)n, " BODY=8BITMIME");
	else if (pflags & MP_7BIT)
		n += snprintf(buf + n, len - (size_t)n, " BODY=7BIT");
	return (size_t)n;
}

/* A command line from a template: body tmpl sel pflags size:4, then extra bytes for the argument. */
static void
rec_c_cmd(uint8_t op, struct rd *r)
{
	static const char *const fixed[16] = {
		"EHLO client.example", "HELO client.example", NULL, NULL, "DATA", "RSET", "NOOP", "QUIT",
		"VRFY a", "STARTTLS", "HELP", "BDAT 10 LAST", NULL, NULL, "AUTH PLAIN AGFAYg==", "",
	};
	struct hc *c = client_of(op);
	unsigned t = rd_u8(r) & 15, sel = rd_u8(r), pflags = rd_u8(r);
	uint32_t size = rd_u32(r);
	char line[1200];
	size_t n;

	if (c == NULL)
		return;
	if (t == 2 || t == 13)
		n = mail_line(line, sizeof(line), sel, t == 13 ? pflags | MP_BIG : pflags, size);
	else if (t == 3)
		n = (size_t)snprintf(line, sizeof(line), "RCPT TO:<%s>", rcpts[sel % RTE_DIM(rcpts)]);
	else if (t == 12) {
		memcpy(line, "EHLO ", 5);
		for (n = 5; n < 5 + 255; n++)
			line[n] = (n - 5) % 64 == 63 ? '.' : 'h';
	} else
		n = (size_t)snprintf(line, sizeof(line), "%s", fixed[t]);
	size_t extra = RTE_MIN(r->n, sizeof(line) - n - 2);
	memcpy(line + n, r->p, extra);
	n += extra;
	line[n++] = '\r';
	line[n++] = '\n';
	hc_write(c, line, n);
}

/* text styles */
#define TS_DOTS         0x01            /* lines starting with "." and ".." */
#define TS_8BIT         0x02
#define TS_LONG         0x04            /* one 1100-byte line */
#define TS_BARE_LF      0x08
#define TS_BARE_CR      0x10
#define TS_HEADERS      0x20
#define TS_EMPTY        0x40            /* empty lines */
#define TS_NO_EOL       0x80            /* the last line without CRLF */

/* Message text: lines of linelen octets (wire form, i.e. as dot-stuffed as it comes). */
static void
gen_text(struct hc *c, unsigned lines, unsigned linelen, unsigned style, uint32_t seed)
{
	static uint8_t buf[70000];
	size_t n = 0;

	if (style & TS_HEADERS)
		n += (size_t)snprintf((char *)buf, sizeof(buf), "Subject: fuzz\r\nFrom: <s@client.example>\r\n\r\n");
	for (unsigned i = 0; i < lines && n + 1200 < sizeof(buf); i++) {
		unsigned len = (style & TS_EMPTY) && i % 4 == 3 ? 0 : (style & TS_LONG) && i == 1 ? 1100 : linelen;
		if ((style & TS_DOTS) && i % 3 == 0 && len > 0)
			buf[n++] = '.';
		if ((style & TS_DOTS) && i % 6 == 0 && len > 1)
			buf[n++] = '.';
		for (unsigned j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			uint8_t ch = (uint8_t)('a' + (seed >> 16) % 26);
			if ((style & TS_8BIT) && (seed >> 8) % 7 == 0)
				ch = (uint8_t)(0xc0 + (seed >> 12) % 32);
			buf[n++] = ch;
		}
		if ((style & TS_BARE_LF) && i == 2)
			buf[n++] = '\n';
		if ((style & TS_BARE_CR) && i == 3)
			buf[n++] = '\r';
		if (!((style & TS_NO_EOL) && i + 1 == lines)) {
			buf[n++] = '\r';
			buf[n++] = '\n';
		}
	}
	hc_write(c, buf, n);
}

static void
rec_c_text(uint8_t op, struct rd *r)
{
	struct hc *c = client_of(op);
	unsigned lines = rd_u8(r), linelen = rd_u8(r), style = rd_u8(r);

	if (c != NULL)
		gen_text(c, lines, linelen, style, rd_u8(r));
}

static void
rec_c_eod(uint8_t op, struct rd *r)
{
	static const char *const eod[6] = { ".\r\n", "\r\n.\r\n", "\n.\n", "\r\n.\n", ".\r\nQUIT\r\n", ".\r\n.\r\n" };
	struct hc *c = client_of(op);
	const char *e = eod[rd_u8(r) % 6];

	if (c != NULL)
		hc_write(c, e, strlen(e));
}

/*
 * A whole transaction: flags nrcpt lines linelen sel pflags. flags: 1 EHLO
 * first, 2 everything in one write (else a settle after each command), 4
 * QUIT after, 8 RSET first; the text style is sel's high bits.
 */
static void
rec_c_msg(uint8_t op, struct rd *r)
{
	struct hc *c = client_of(op);
	unsigned flags = rd_u8(r), nrcpt = rd_u8(r) % 5 + 1, lines = rd_u8(r) % 64, linelen = rd_u8(r);
	unsigned sel = rd_u8(r), pflags = rd_u8(r);
	char line[600];
	bool pipe = flags & 2;

	if (c == NULL)
		return;
	if (flags & 1) {
		hc_write(c, "EHLO client.example\r\n", 21);
		if (!pipe)
			settle();
	}
	if (flags & 8)
		hc_write(c, "RSET\r\n", 6);
	size_t n = mail_line(line, sizeof(line) - 2, sel, pflags, (lines + 1) * (linelen + 2));
	memcpy(line + n, "\r\n", 2);
	hc_write(c, line, n + 2);
	for (unsigned i = 0; i < nrcpt; i++) {
		if (!pipe)
			settle();
		n = (size_t)snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpts[(sel + i * 5) % 8]);
		hc_write(c, line, n);
	}
	if (!pipe)
		settle();
	hc_write(c, "DATA\r\n", 6);
	if (!pipe)
		settle();
	gen_text(c, lines, linelen, (sel >> 3) & (TS_DOTS | TS_8BIT | TS_HEADERS | TS_EMPTY), sel);
	hc_write(c, ".\r\n", 3);
	if (flags & 4)
		hc_write(c, "QUIT\r\n", 6);
}

static void
rec_raw(struct hc *c, struct rd *r)
{
	if (c != NULL)
		hc_write(c, r->p, r->n);
}

static void
rec_wnd(struct hc *c, struct rd *r)
{
	uint16_t v = rd_u16(r);

	if (c == NULL)
		return;
	c->mywnd = v == 0 ? 0 : RTE_MAX(v, (uint16_t)256);     /* small, but not byte by byte */
	if (c->st == HC_EST)
		hc_seg(c, RTE_TCP_ACK_FLAG, c->snd_una + c->sent + c->fin_sent, NULL, 0);  /* window update */
}

/* The window of next hop op >> 5, and of the next hops to come. */
static void
rec_n_wnd(uint8_t op, struct rd *r)
{
	uint8_t v[2] = { rd_u8(r), rd_u8(r) };
	struct rd again = { v, 2 };

	nh.wnd = (uint16_t)(v[0] | v[1] << 8);
	nh.wnd = nh.wnd == 0 ? 0 : RTE_MAX(nh.wnd, (uint16_t)256);
	rec_wnd(hop_of(op), &again);
}

/* A canned reply from next hop op >> 5: code flags. */
static void
rec_n_reply(uint8_t op, struct rd *r)
{
	struct hc *c = hop_of(op);
	unsigned ci = rd_u8(r), flags = rd_u8(r);
	char buf[2048];

	if (c == NULL)
		return;
	size_t n = nh_canned(ci, flags, buf, sizeof(buf));
	nh_send(c, buf, n, flags & RF_SPLIT);
	if (flags & RF_TWICE)
		nh_send(c, buf, n, false);
}

/*
 * The next hops' personality: what value...
 *   0: autoreply = value & 1
 *   1: caps = value, SIZE = next 4 bytes
 *   2: SYN policy value % 3 (accept, reset, silence)
 *   3: rule for kind value % NK_COUNT: code flags count (code 0xff: default; 0xfe: hold)
 *   4: release every held kind
 */
static void
rec_n_mode(struct rd *r)
{
	unsigned what = rd_u8(r) % 5, v = rd_u8(r);

	switch (what) {
	case 0:
		nh.autoreply = v & 1;
		break;
	case 1:
		nh.caps = (uint8_t)v;
		nh.size = rd_u32(r);
		break;
	case 2:
		nh.syn = (uint8_t)(v % 3);
		break;
	case 3: {
		struct nh_rule *ru = &nh.rule[v % NK_COUNT];
		uint8_t code = rd_u8(r);
		ru->hold = code == 0xfe;
		ru->code = code == 0xfe ? 0xff : code;
		ru->flags = rd_u8(r);
		ru->count = rd_u8(r);
		break;
	}
	default:
		for (unsigned k = 0; k < NK_COUNT; k++)
			nh.rule[k].hold = false;
		break;
	}
	for (unsigned i = N_CLIENTS; i < N_HC; i++)
		nh_auto(&hcs[i]);
}

static void
rec_n_ehlo(uint8_t op, struct rd *r)
{
	struct hc *c = hop_of(op);
	char buf[1024];

	nh.caps = rd_u8(r);
	nh.size = rd_u32(r);
	if (c != NULL)
		nh_send(c, buf, nh_ehlo_reply(buf, sizeof(buf)), false);
}

static void
rec_tick(struct rd *r)
{
	static const uint32_t unit_ms[4] = { 1, 10, 100, 1000 };
	uint32_t v = rd_u16(r), ms = RTE_MIN(v * unit_ms[rd_u8(r) & 3], 900000u);

	/* At most TICK_TOTAL_S of jumps per input; steps of up to 10 s between timer expiries. */
	ms = (uint32_t)RTE_MIN((uint64_t)ms, (uint64_t)TICK_TOTAL_S * 1000 - tick_ms);
	tick_ms += ms;
	TR("  time +%u ms\n", ms);
	advance_to(w->now + ms * ms_tsc, 10 * w->hz);
}

/*
 * Fail every nth packet-buffer allocation (0: none). 1 (all fail) reads as 2:
 * a write the pool cut short is retried every millisecond (h-write), so a
 * time jump with every allocation failing costs a loop pass per millisecond.
 */
static void
fault_set(unsigned n)
{
	w->fault_alloc_every = n == 1 && !fault_all ? 2 : n;
	w->fault_alloc_n = 0;
}

static void
rec_one(uint8_t op, struct rd *r)
{
	switch (op & 31) {
	case OP_C_OPEN: rec_c_open(op, r); break;
	case OP_C_CMD: rec_c_cmd(op, r); break;
	case OP_C_RAW: rec_raw(client_of(op), r); break;
	case OP_C_TEXT: rec_c_text(op, r); break;
	case OP_C_EOD: rec_c_eod(op, r); break;
	case OP_C_FIN: hc_fin(client_of(op)); break;
	case OP_C_RST: hc_rst(client_of(op)); break;
	case OP_C_WND: rec_wnd(client_of(op), r); break;
	case OP_C_MSG: rec_c_msg(op, r); break;
	case OP_N_REPLY: rec_n_reply(op, r); break;
	case OP_N_RAW: rec_raw(hop_of(op), r); break;
	case OP_N_FIN: hc_fin(hop_of(op)); break;
	case OP_N_RST: hc_rst(hop_of(op)); break;
	case OP_N_WND: rec_n_wnd(op, r); break;
	case OP_N_MODE: rec_n_mode(r); break;
	case OP_N_EHLO: rec_n_ehlo(op, r); break;
	case OP_TICK: rec_tick(r); break;
	case OP_FAULT: fault_set(rd_u8(r)); break;
	default: break;
	}
}

/* ============================================================ per input */

/*
 * The header (HDR_LEN bytes): caps size:4 fault flags. flags: 1 auto-reply
 * off, 2 smtp.client.cache_size 0, 4 small TCP buffers (4 KiB), 8 delayed
 * ACKs (40 ms), 16 the next hops' window 2048, 32 smtp.client.retry_after 0.
 */
#define HDR_LEN 7

static void
drain_log(void)
{
	struct log_rec rec;

	while (rte_ring_sc_dequeue_elem(w->log_ring, &rec, sizeof(rec)) == 0)
		if (trace) {
			rec.msg[sizeof(rec.msg) - 1] = '\0';
			fprintf(stderr, "  log: %s\n", rec.msg);
		}
}

static void
begin_input(struct rd *r)
{
	timer_wheel_init(&w->timers, t0, ms_tsc);
	w->now = t0;
	next_arp_tick = t0;
	tick_ms = 0;
	cfg = cfg_base;
	/* A fresh client state: its table of next hops that failed is in TSC, and time restarts. */
	smtp_client_fini(w);
	if (smtp_client_init(w) != 0)
		fail("smtp_client_init");
	for (unsigned i = 0; i < N_HC; i++)     /* not a memset: 3 MB of buffers per input */
		hcs[i].st = HC_FREE;
	hc_births = 0;
	next_pport = 40000;
	n_client_ok = n_hop_ok = 0;
	memset(&nh, 0, sizeof(nh));
	for (unsigned k = 0; k < NK_COUNT; k++)
		nh.rule[k].code = 0xff;
	nh.caps = rd_u8(r);
	nh.size = rd_u32(r);
	fault_set(rd_u8(r));
	uint8_t fl = rd_u8(r);
	nh.autoreply = !(fl & 1);
	if (fl & 2)
		cfg.smtp.client.cache_size = 0;
	if (fl & 4)
		cfg.tcp.rcv_buffer = cfg.tcp.snd_buffer = 4096;
	if (fl & 8)
		cfg.tcp.delayed_ack_ms = 40;
	nh.wnd = (fl & 16) ? 2048 : 65535;
	if (fl & 32)
		cfg.smtp.client.retry_after = 0;
}

/* Close every connection, run time on until all has ended, then check nothing is left. */
static void
end_input(void)
{
	unsigned in_use = 0, time_wait = 0, sessions = 0, cl_used = 0, cl_idle = 0, i;
	struct arp_view v[1];

	w->fault_alloc_every = 0;
	nh.autoreply = true;
	for (unsigned k = 0; k < NK_COUNT; k++)
		nh.rule[k] = (struct nh_rule){ .code = 0xff };
	nh.syn = 0;
	for (i = 0; i < N_HC; i++) {
		if (hcs[i].st == HC_SYN_SENT)
			hcs[i].st = HC_DEAD;
		hcs[i].mywnd = 65535;
		hc_fin(&hcs[i]);
	}
	settle();
	for (i = 0; i < WIND_DOWN_S / 10; i++) {
		tcp_usage(w, &in_use, &time_wait);
		sessions = smtp_server_active(w);
		smtp_client_usage(w, &cl_used, &cl_idle);
		if (in_use == 0 && sessions == 0 && cl_used == 0 && w->timers.n_pending == 0 &&
		    arp_snapshot(w, v, 1) == 0)
			break;
		advance_to(w->now + 10 * w->hz, 10 * w->hz);
		for (unsigned j = 0; j < N_HC; j++)     /* what the gateway closed late: close ours too */
			if (hcs[j].gw_fin)
				hc_fin(&hcs[j]);
	}
	drain_log();
	TR("input done: %" PRIu64 " time steps, %" PRIu64 " loop rounds, %" PRIu64 " frames in, %" PRIu64
	   " out, %" PRIu64 " 2xx verified so far\n", n_steps, n_rounds, n_in, n_out, n_delivered);
	n_steps = n_rounds = n_in = n_out = 0;
	if (i == WIND_DOWN_S / 10)
		fail("nothing ends: %u TCP connections (%u TIME_WAIT), %u SMTP sessions, %u next-hop "
		     "connections (%u idle), %u timers, ARP entries %u after %u s", in_use, time_wait, sessions,
		     cl_used, cl_idle, w->timers.n_pending, arp_snapshot(w, v, 1), WIND_DOWN_S);
	unsigned held = rte_mempool_in_use_count(w->pool);
	if (held != pool_base)
		fail("packet buffers: %u in use with every connection closed, %u at the start", held, pool_base);
}

/* ============================================================ set-up */

static char *
dup_str(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

static void
add_route(struct cfg_route *r, const char *const *domains, unsigned n, uint32_t hop1, uint32_t hop2, int level)
{
	r->domains = calloc(n, sizeof(char *));
	if (r->domains == NULL)
		abort();
	for (unsigned i = 0; i < n; i++)
		r->domains[i] = dup_str(domains[i]);
	r->n_domains = n;
	r->hops[0] = (struct cfg_next_hop){ hop1, SMTP_PORT, 10 };
	r->n_hops = 1;
	if (hop2 != 0)
		r->hops[r->n_hops++] = (struct cfg_next_hop){ hop2, SMTP_PORT, 20 };
	r->tls_level = level;
}

/* The gateway's configuration: small tables, short timeouts, the routes of the harness's next hops. */
static void
config_setup(void)
{
	static const char *const d_example[] = { "example.com", "*.example.com" };
	static const char *const d_other[] = { "other.example" };
	static const char *const d_same[] = { "same.example" };
	static const char *const d_test[] = { "*.test" };

	config_defaults(&cfg);
	cfg.log_level = CFG_LOG_INFO;
	cfg.limits.mbufs_per_worker = 2047;
	cfg.limits.arp_cache_size = 16;
	cfg.limits.arp_queue_length = 4;
	cfg.limits.arp_timeout = 10;
	/* Field by field on top of the defaults, so that settings added later keep theirs. */
	cfg.tcp.max_connections = 64;
	cfg.tcp.syn_backlog = 8;
	cfg.tcp.rcv_buffer = cfg.tcp.snd_buffer = cfg.tcp.reass_limit = 16384;
	cfg.tcp.time_wait = 1;
	cfg.tcp.time_wait_max = 8;
	cfg.tcp.rto_max_ms = 4000;
	cfg.tcp.rto_initial_ms = 500;
	cfg.tcp.max_retransmits = 5;
	cfg.tcp.syn_retries = 2;
	cfg.tcp.delayed_ack_ms = 0;
	cfg.tcp.idle_timeout = 120;
	snprintf(cfg.smtp.hostname, sizeof(cfg.smtp.hostname), "mx.gw.example");
	snprintf(cfg.smtp.client.helo_name, sizeof(cfg.smtp.client.helo_name), "mx.gw.example");
	cfg.smtp.limits.recipients = 8;
	cfg.smtp.limits.message_size = MESSAGE_SIZE;
	cfg.smtp.limits.messages_per_session = 4;
	cfg.smtp.limits.sessions_per_worker = 4;
	cfg.smtp.limits.sessions_per_client = 2;
	cfg.smtp.timeouts.command = cfg.smtp.timeouts.data = 60;
	cfg.smtp.timeouts.connect = 10;
	cfg.smtp.timeouts.greeting = cfg.smtp.timeouts.mail = cfg.smtp.timeouts.rcpt = 30;
	cfg.smtp.timeouts.data_init = cfg.smtp.timeouts.data_block = 30;
	cfg.smtp.timeouts.data_end = 60;
	cfg.smtp.client.connections_per_worker = 6;
	cfg.smtp.client.cache_size = 2;
	cfg.smtp.client.cache_idle_timeout = 5;
	cfg.smtp.client.cache_max_messages = 3;
	cfg.smtp.client.retry_after = 30;
	cfg.smtp.accepted_domains = calloc(2, sizeof(char *));
	cfg.smtp.relay_networks = calloc(1, sizeof(struct cfg_cidr));
	cfg.routes = calloc(4, sizeof(struct cfg_route));
	if (cfg.smtp.accepted_domains == NULL || cfg.smtp.relay_networks == NULL || cfg.routes == NULL)
		abort();
	cfg.smtp.accepted_domains[0] = dup_str("example.com");
	cfg.smtp.accepted_domains[1] = dup_str("*.example.com");
	cfg.smtp.n_accepted_domains = 2;
	cfg.smtp.relay_networks[0] = (struct cfg_cidr){ CL_IP_RELAY & ~3u, 30, 0 };
	cfg.smtp.n_relay_networks = 1;
	add_route(&cfg.routes[0], d_example, 2, HOP_A, 0, CFG_TLS_NONE);
	add_route(&cfg.routes[1], d_other, 1, HOP_B, 0, CFG_TLS_MAY);
	add_route(&cfg.routes[2], d_same, 1, HOP_A, 0, CFG_TLS_MAY);
	add_route(&cfg.routes[3], d_test, 1, HOP_A, HOP_B, -1);
	cfg.n_routes = 4;
	cfg.n_ports = 1;
	snprintf(cfg.ports[0].name, sizeof(cfg.ports[0].name), "ext");
	snprintf(cfg.ports[0].device, sizeof(cfg.ports[0].device), "net_ring0");
	cfg.ports[0].addr = GW_IP;
	cfg.ports[0].prefix_len = 24;
	cfg.ports[0].mtu = 1500;
	cfg_base = cfg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal_argv[] = { "fuzz_relay", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			     "--no-telemetry", "-l", "0", "--vdev", "net_ring0", "--log-level", "*:error",
			     NULL };
	char err[256];

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_RELAY_TRACE") != NULL;
	strict_early = getenv("FUZZ_RELAY_LENIENT_EARLY") == NULL;
	fault_all = getenv("FUZZ_RELAY_FAULT_ALL") != NULL;
	if (rte_eal_init((int)RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "fuzz_relay: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	config_setup();
	hcs = calloc(N_HC, sizeof(*hcs));
	msgbufs = malloc((size_t)N_HC * CV_MSG);
	if (hcs == NULL || msgbufs == NULL)
		abort();
	gw.cfg = &cfg;
	gw.n_workers = 1;
	gw.n_ports = 1;
	gw.hz = rte_get_tsc_hz();
	gw.routes = route_table_build(&cfg, err, sizeof(err));
	gw.smtp_limit = smtp_limit_create(SMTP_LIMIT_BUCKETS_LOG2_MIN);
	if (gw.routes == NULL || gw.smtp_limit == NULL) {
		fprintf(stderr, "fuzz_relay: routes/limits: %s\n", err);
		exit(1);
	}
	w = worker_create(&gw, 0, rte_lcore_id(), err, sizeof(err));
	if (w == NULL) {
		fprintf(stderr, "fuzz_relay: %s\n", err);
		exit(1);
	}
	gw.workers[0] = w;
	if (port_setup(&gw.ports[0], 0, &cfg.ports[0], 1, &w->pool, &cfg.limits, err, sizeof(err)) ||
	    port_start(&gw.ports[0], err, sizeof(err))) {
		fprintf(stderr, "fuzz_relay: %s\n", err);
		exit(1);
	}
	port_id = gw.ports[0].port_id;
	ms_tsc = w->hz / 1000;
	t0 = rte_rdtsc();
	w->now = t0;
	smtp_server_start(w);
	drain_log();
	pool_base = rte_mempool_in_use_count(w->pool);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd hdr = { data, RTE_MIN(size, (size_t)HDR_LEN) };
	size_t off = hdr.n;

	begin_input(&hdr);
	for (unsigned nrec = 0; size - off >= 2 && nrec < MAX_RECORDS; nrec++) {
		uint8_t op = data[off];
		size_t len = RTE_MIN((size_t)data[off + 1], size - off - 2);
		struct rd body = { data + off + 2, len };
		off += 2 + len;
		TR("record %u: op %u/%u len %zu\n", nrec, op & 31, op >> 5, len);
		rec_one(op, &body);
		settle();
		if (trace)
			drain_log();
	}
	end_input();
	return 0;
}
