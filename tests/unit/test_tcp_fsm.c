/*
 * test_tcp_fsm.c — the TCP state machine (RFC 9293 §3.3.2, §3.10.7; RFC 5961;
 * RFC 1337; RFC 7323) driven segment by segment by a scripted peer
 * (tcp_peer.h): a real worker and a net_ring port that loops what the gateway
 * sends back to the test. The transitions between synchronized states are one
 * table (start state + event -> state + the one segment the gateway must send);
 * opens, closed ports, half-close, zero windows, retransmission and delayed
 * ACKs have their own tests. Tests marked "regression" pin RFC behaviour the
 * gateway once got wrong (each comment says how).
 */
#include <stdlib.h>

#include "tcp_peer.h"

static struct tp_seg segs[TP_MAX_SEGS];

/* ---- helpers ---- */

/* Active open by the scripted app to the peer's port dport: the SYN in *syn. */
static void
active_open(struct tp_conn *pc, uint16_t dport, struct tp_seg *syn)
{
	tp_app_reset(&tp_app1);
	struct stream *s = tcp_connect(w, TP_PEER_IP, dport, &tp_app_ops, &tp_app1);
	assert_non_null(s);
	tp_app1.s = s;
	tp_pass();
	tp_recv_one(syn);
	tp_conn_init(pc, syn->sport, 0x7000000u + dport);
	pc->pport = dport;
	assert_int_equal(syn->dport, dport);
	pc->gw_iss = syn->seq;
	pc->rcv_nxt = syn->seq + 1;
	if (syn->ts)
		pc->ts_recent = syn->tsval;
}

/* The peer's SYN-ACK to an active open, with all options (window scale ws). */
static void
send_synack(struct tp_conn *pc, uint16_t wnd, int ws)
{
	static struct tp_seg s;
	pc->tsval++;
	tp_seg_init(pc, &s, TP_SYN | TP_ACK, pc->iss, pc->rcv_nxt);
	s.wnd = wnd;
	s.mss = 1460;
	s.sack_ok = true;
	s.ws = ws;
	tp_emit(&s);
	pc->snd_nxt = pc->iss + 1;
}

/* ACK whatever the gateway sends until its FIN (or `rounds` quiet ms). */
static void
pump(struct tp_conn *pc, unsigned rounds)
{
	unsigned quiet = 0;
	bool first = true;

	while (!pc->gw_fin && quiet < rounds) {
		unsigned n = tp_recv(segs, TP_MAX_SEGS);
		uint32_t before = pc->rcv_nxt;
		if (getenv("TP_DEBUG"))
			for (unsigned i = 0; i < n; i++)
				print_message("    gw: flags 0x%02x seq %u len %u ack %u (peer rcv_nxt %u)\n", segs[i].flags,
					      segs[i].seq, segs[i].len, segs[i].ack, pc->rcv_nxt);
		tp_absorb_all(pc, segs, n);
		if (n != 0 || first) {
			tp_ack(pc);             /* new data, or a duplicate: ACK as a peer would */
			quiet = pc->rcv_nxt != before ? 0 : quiet + 1;
			first = false;
		} else {
			tp_tick(1);
			quiet++;
		}
	}
}

/* ---- opens ---- */

static void
test_passive_open(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg sa;
	uint64_t accepted = tp_ctr(STATS_TCP_CONN_ACCEPTED);

	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_conn_init(&pc, TP_APP_PORT, 123456789u);
	uint32_t syn_tsval = pc.tsval + 1;
	tp_syn(&pc, &sa);
	assert_string_equal(tp_state(&pc), "SYN_RECEIVED");
	/* SYN-ACK: our options back, the SYN's timestamp echoed, an unscaled window. */
	assert_int_equal(sa.flags, TP_SYN | TP_ACK);
	assert_int_equal(sa.ack, pc.iss + 1);
	assert_int_equal(sa.sport, TP_APP_PORT);
	assert_int_equal(sa.dport, pc.pport);
	assert_true(sa.mss > 0 && sa.mss <= 1460);
	assert_true(sa.sack_ok);
	assert_true(sa.ts);
	assert_int_equal(sa.tsecr, syn_tsval);
	assert_int_equal(sa.ws, 3);             /* 256 KiB receive buffer */
	assert_true(sa.wnd > 0);
	assert_int_equal(sa.n_sack, 0);
	assert_int_equal(tp_app1.n_connected, 0);
	assert_int_equal(tp_ctr(STATS_TCP_CONN_ACCEPTED), accepted);

	tp_ack(&pc);
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	assert_int_equal(tp_ctr(STATS_TCP_CONN_ACCEPTED), accepted + 1);
	assert_int_equal(tp_app1.n_connected, 1);

	/* Data both ways: the ACK echoes our newest timestamp, the window is scaled. */
	tp_data(&pc, "ping", 4);
	struct tp_seg a;
	tp_recv_one(&a);
	assert_int_equal(a.flags, TP_ACK);
	assert_int_equal(a.seq, pc.rcv_nxt);
	assert_int_equal(a.ack, pc.snd_nxt);
	assert_true(a.ts);
	assert_int_equal(a.tsecr, pc.tsval);
	assert_int_equal(tp_app1.len, 4);
	assert_memory_equal(tp_app1.buf, "ping", 4);
	assert_int_equal(stream_write(tp_app1.s, "pong", 4), 4);
	tp_pass();
	tp_recv_one(&a);
	assert_int_equal(a.flags & ~TP_PSH, TP_ACK);
	assert_int_equal(a.len, 4);
	assert_memory_equal(a.data, "pong", 4);
	assert_int_equal(a.seq, sa.seq + 1);
}

static void
test_active_open(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg syn, a;
	uint64_t opened = tp_ctr(STATS_TCP_CONN_OPENED);

	active_open(&pc, 8025, &syn);
	assert_int_equal(tp_ctr(STATS_TCP_CONN_OPENED), opened + 1);
	assert_int_equal(syn.flags, TP_SYN);
	assert_int_equal(syn.ack, 0);
	assert_int_equal(syn.mss, 1460);
	assert_true(syn.sack_ok);
	assert_true(syn.ts);
	assert_int_equal(syn.tsecr, 0);
	assert_int_equal(syn.ws, 3);
	assert_true(syn.sport >= tp_cfg.tcp.ephemeral_first && syn.sport <= tp_cfg.tcp.ephemeral_last);
	assert_string_equal(tp_state(&pc), "SYN_SENT");
	assert_int_equal(tp_app1.n_connected, 0);

	send_synack(&pc, 65535, 2);
	tp_recv_one(&a);
	assert_int_equal(a.flags, TP_ACK);
	assert_int_equal(a.seq, syn.seq + 1);
	assert_int_equal(a.ack, pc.iss + 1);
	assert_true(a.ts);
	assert_int_equal(a.tsecr, pc.tsval);
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	assert_int_equal(tp_app1.n_connected, 1);

	assert_int_equal(stream_write(tp_app1.s, "HELO x\r\n", 8), 8);
	tp_pass();
	tp_recv_one(&a);
	assert_int_equal(a.len, 8);
	assert_int_equal(a.seq, syn.seq + 1);
	tp_absorb(&pc, &a);
	tp_ack(&pc);
	tp_recv_none();
}

/* SYN_SENT + RST|ACK for our SYN: refused. A bare RST, or one with a wrong ACK, is ignored. */
static void
test_active_refused(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg syn;
	uint64_t resets = tp_ctr(STATS_TCP_RX_RESETS);

	active_open(&pc, 8026, &syn);
	tp_send(&pc, TP_RST, 0, 0, NULL, 0);                        /* no ACK: drop */
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "SYN_SENT");
	tp_send(&pc, TP_RST | TP_ACK, 0, syn.seq + 1000, NULL, 0);  /* unacceptable ACK */
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "SYN_SENT");
	assert_int_equal(tp_app1.n_closed, 0);

	tp_send(&pc, TP_RST | TP_ACK, 0, syn.seq + 1, NULL, 0);
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "CLOSED");
	assert_int_equal(tp_app1.n_closed, 1);
	assert_int_equal(tp_app1.reason, STREAM_REFUSED);
	assert_int_equal(tp_app1.n_connected, 0);
	assert_int_equal(tp_ctr(STATS_TCP_RX_RESETS), resets + 1);
}

/* SYN_SENT + a SYN-ACK acknowledging something we never sent: RST <SEQ=SEG.ACK>, stay. */
static void
test_active_bad_synack(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg syn, r;

	active_open(&pc, 8027, &syn);
	tp_send(&pc, TP_SYN | TP_ACK, pc.iss, syn.seq + 77, NULL, 0);
	tp_recv_one(&r);
	assert_int_equal(r.flags, TP_RST);
	assert_int_equal(r.seq, syn.seq + 77);
	assert_string_equal(tp_state(&pc), "SYN_SENT");
	assert_int_equal(tp_app1.n_closed, 0);
}

/* SYN_SENT: 1 + syn_retries SYNs with back-off, then STREAM_TIMEOUT. */
static void
test_active_syn_timeout(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg syn;
	unsigned n;
	uint64_t timed_out = tp_ctr(STATS_TCP_CONN_TIMED_OUT);
	uint64_t rtx = tp_ctr(STATS_TCP_RETRANSMITS);
	unsigned rto = tp_cfg.tcp.rto_initial_ms;

	active_open(&pc, 8028, &syn);
	for (unsigned i = 0; i < tp_cfg.tcp.syn_retries; i++) {
		int ms = tp_wait_send(segs, TP_MAX_SEGS, &n, 5000);
		assert_int_equal(n, 1);
		assert_in_range(ms, rto << i, (rto << i) + 2);
		assert_int_equal(segs[0].flags, TP_SYN);
		assert_int_equal(segs[0].seq, syn.seq);
		assert_string_equal(tp_state(&pc), "SYN_SENT");
	}
	tp_tick((rto << tp_cfg.tcp.syn_retries) - 2);
	assert_string_equal(tp_state(&pc), "SYN_SENT");
	tp_tick(4);
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "CLOSED");
	assert_int_equal(tp_app1.n_closed, 1);
	assert_int_equal(tp_app1.reason, STREAM_TIMEOUT);
	assert_int_equal(tp_ctr(STATS_TCP_CONN_TIMED_OUT), timed_out + 1);
	assert_int_equal(tp_ctr(STATS_TCP_RETRANSMITS), rtx + tp_cfg.tcp.syn_retries);
}

/* ---- the transition table ---- */

enum from {
	F_SYN_RECEIVED, F_ESTABLISHED, F_FIN_WAIT_1, F_FIN_WAIT_2, F_CLOSE_WAIT,
	F_CLOSING, F_LAST_ACK, F_TIME_WAIT,
};

static const char *const from_name[] = {
	"SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
	"CLOSING", "LAST_ACK", "TIME_WAIT",
};

enum event {
	E_ACK,                  /* ACK of everything the gateway sent (its SYN/FIN included) */
	E_FIN,                  /* the peer's FIN, acknowledging everything */
	E_FIN_NOT_ACKING,       /* the peer's FIN, not acknowledging the gateway's FIN */
	E_FIN_AGAIN,            /* the peer's FIN retransmitted */
	E_SHUTDOWN,             /* the application calls stream_shutdown */
	E_RST_EXACT,            /* RST at RCV.NXT */
	E_RST_IN_WINDOW,        /* RST inside the window, not at RCV.NXT */
	E_RST_OUT_OF_WINDOW,
	E_SYN_IN_WINDOW,
	E_SYN_OUT_OF_WINDOW,
};

static const char *const event_name[] = {
	"ACK", "FIN", "FIN (not acking ours)", "FIN again", "shutdown", "RST exact",
	"RST in window", "RST out of window", "SYN in window", "SYN out of window",
};

#define NO_SEGMENT 0xff
#define NO_CLOSE   (-1)

struct row {
	enum from from;
	enum event ev;
	const char *to;
	uint8_t out;            /* flags of the one segment sent, NO_SEGMENT: silence */
	enum stats_id ctr;      /* grows by exactly one (STATS_MAX: not checked) */
	int closed;             /* the app's `closed` reason for this event, NO_CLOSE: none */
};

static const struct row rows[] = {
	/* open */
	{ F_SYN_RECEIVED, E_ACK, "ESTABLISHED", NO_SEGMENT, STATS_TCP_CONN_ACCEPTED, NO_CLOSE },
	{ F_SYN_RECEIVED, E_RST_EXACT, "CLOSED", NO_SEGMENT, STATS_TCP_RX_RESETS, NO_CLOSE },
	{ F_SYN_RECEIVED, E_RST_IN_WINDOW, "SYN_RECEIVED", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
	{ F_SYN_RECEIVED, E_RST_OUT_OF_WINDOW, "SYN_RECEIVED", NO_SEGMENT, STATS_MAX, NO_CLOSE },
	/* passive close */
	{ F_ESTABLISHED, E_FIN, "CLOSE_WAIT", TP_ACK, STATS_MAX, NO_CLOSE },
	{ F_CLOSE_WAIT, E_SHUTDOWN, "LAST_ACK", TP_FIN | TP_ACK, STATS_MAX, NO_CLOSE },
	{ F_LAST_ACK, E_ACK, "CLOSED", NO_SEGMENT, STATS_TCP_CONN_CLOSED, STREAM_CLOSED },
	/* active close */
	{ F_ESTABLISHED, E_SHUTDOWN, "FIN_WAIT_1", TP_FIN | TP_ACK, STATS_MAX, NO_CLOSE },
	/*
	 * Regression (fixed): once its FIN is acknowledged the gateway sends a second FIN, at
	 * the sequence number after the first (FIN_WAIT_2 + ACK does it again:
	 * every ACK of the peer draws one more FIN, and each is retransmitted on
	 * the RTO). tcp_output() places the FIN at SND.UNA + queued bytes and
	 * sends it whenever fin_queued && SND.NXT == that; after the FIN is
	 * acknowledged SND.UNA = SND.NXT = FIN + 1 and the test holds again.
	 * Input: FIN_WAIT_1, peer ACK = our FIN + 1. Expected: FIN_WAIT_2, nothing
	 * sent (RFC 9293 §3.10.7.4). Actual: FIN_WAIT_2 and FIN|ACK with
	 * seq = our FIN + 1.
	 */
	{ F_FIN_WAIT_1, E_ACK, "FIN_WAIT_2", NO_SEGMENT, STATS_MAX, NO_CLOSE },
	{ F_FIN_WAIT_2, E_FIN, "TIME_WAIT", TP_ACK, STATS_TCP_CONN_CLOSED, STREAM_CLOSED },
	{ F_FIN_WAIT_1, E_FIN, "TIME_WAIT", TP_ACK, STATS_TCP_CONN_CLOSED, STREAM_CLOSED },
	/* simultaneous close (the conn_closed counter: test_simultaneous_close_counted) */
	{ F_FIN_WAIT_1, E_FIN_NOT_ACKING, "CLOSING", TP_ACK, STATS_MAX, NO_CLOSE },
	{ F_CLOSING, E_ACK, "TIME_WAIT", NO_SEGMENT, STATS_MAX, STREAM_CLOSED },
	/* TIME_WAIT: a retransmitted FIN is acknowledged again; RST is ignored (RFC 1337) */
	{ F_TIME_WAIT, E_FIN_AGAIN, "TIME_WAIT", TP_ACK, STATS_MAX, NO_CLOSE },
	{ F_TIME_WAIT, E_RST_EXACT, "TIME_WAIT", NO_SEGMENT, STATS_MAX, NO_CLOSE },
	{ F_TIME_WAIT, E_RST_OUT_OF_WINDOW, "TIME_WAIT", NO_SEGMENT, STATS_MAX, NO_CLOSE },
	/* RST at exactly RCV.NXT ends every synchronized state (RFC 5961 §3.2) */
	{ F_ESTABLISHED, E_RST_EXACT, "CLOSED", NO_SEGMENT, STATS_TCP_RX_RESETS, STREAM_RESET },
	{ F_FIN_WAIT_1, E_RST_EXACT, "CLOSED", NO_SEGMENT, STATS_TCP_RX_RESETS, STREAM_RESET },
	{ F_FIN_WAIT_2, E_RST_EXACT, "CLOSED", NO_SEGMENT, STATS_TCP_RX_RESETS, STREAM_RESET },
	{ F_CLOSE_WAIT, E_RST_EXACT, "CLOSED", NO_SEGMENT, STATS_TCP_RX_RESETS, STREAM_RESET },
	{ F_CLOSING, E_RST_EXACT, "CLOSED", NO_SEGMENT, STATS_TCP_RX_RESETS, STREAM_RESET },
	{ F_LAST_ACK, E_RST_EXACT, "CLOSED", NO_SEGMENT, STATS_TCP_RX_RESETS, STREAM_RESET },
	/* RST in the window but not exact: challenge ACK, nothing else */
	{ F_ESTABLISHED, E_RST_IN_WINDOW, "ESTABLISHED", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
	{ F_FIN_WAIT_1, E_RST_IN_WINDOW, "FIN_WAIT_1", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
	{ F_FIN_WAIT_2, E_RST_IN_WINDOW, "FIN_WAIT_2", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
	{ F_CLOSE_WAIT, E_RST_IN_WINDOW, "CLOSE_WAIT", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
	{ F_CLOSING, E_RST_IN_WINDOW, "CLOSING", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
	{ F_LAST_ACK, E_RST_IN_WINDOW, "LAST_ACK", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
	/* RST outside the window: ignored, nothing sent */
	{ F_ESTABLISHED, E_RST_OUT_OF_WINDOW, "ESTABLISHED", NO_SEGMENT, STATS_MAX, NO_CLOSE },
	{ F_FIN_WAIT_2, E_RST_OUT_OF_WINDOW, "FIN_WAIT_2", NO_SEGMENT, STATS_MAX, NO_CLOSE },
	{ F_CLOSE_WAIT, E_RST_OUT_OF_WINDOW, "CLOSE_WAIT", NO_SEGMENT, STATS_MAX, NO_CLOSE },
	/* SYN in a synchronized state: an ACK, state unchanged (RFC 5961 §4) */
	{ F_ESTABLISHED, E_SYN_IN_WINDOW, "ESTABLISHED", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
	{ F_ESTABLISHED, E_SYN_OUT_OF_WINDOW, "ESTABLISHED", TP_ACK, STATS_MAX, NO_CLOSE },
	{ F_CLOSE_WAIT, E_SYN_IN_WINDOW, "CLOSE_WAIT", TP_ACK, STATS_TCP_CHALLENGE_ACKS, NO_CLOSE },
};

/* A connection to the scripted app (TP_APP_PORT) in state f; tp_app1 holds it. */
static void
reach(struct tp_conn *pc, enum from f, uint32_t iss)
{
	struct tp_seg s;

	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_conn_init(pc, TP_APP_PORT, iss);
	tp_syn(pc, &s);
	if (f != F_SYN_RECEIVED) {
		tp_ack(pc);
		tp_recv_none();
		assert_non_null(tp_app1.s);
	}
	switch (f) {
	case F_FIN_WAIT_1:
	case F_FIN_WAIT_2:
	case F_CLOSING:
	case F_TIME_WAIT:
		assert_int_equal(stream_shutdown(tp_app1.s), 0);
		tp_pass();
		tp_recv_one(&s);
		assert_int_equal(s.flags, TP_FIN | TP_ACK);
		tp_absorb(pc, &s);
		if (f == F_FIN_WAIT_2 || f == F_TIME_WAIT) {
			tp_ack(pc);
			tp_recv_none();         /* no second FIN (row "FIN_WAIT_1 + ACK") */
		}
		if (f == F_CLOSING) {
			tp_fin_ack(pc, pc->rcv_nxt - 1);
			tp_recv_one(&s);
			assert_int_equal(s.flags, TP_ACK);
			assert_int_equal(s.ack, pc->snd_nxt);
		}
		if (f == F_TIME_WAIT) {
			tp_fin_ack(pc, pc->rcv_nxt);
			tp_recv_one(&s);
			assert_int_equal(s.flags, TP_ACK);
			assert_int_equal(s.ack, pc->snd_nxt);
		}
		break;
	case F_CLOSE_WAIT:
	case F_LAST_ACK:
		tp_fin_ack(pc, pc->rcv_nxt);
		tp_recv_one(&s);
		assert_int_equal(s.flags, TP_ACK);
		assert_int_equal(s.ack, pc->snd_nxt);
		assert_true(tp_app1.eof);
		if (f == F_LAST_ACK) {
			assert_int_equal(stream_shutdown(tp_app1.s), 0);
			tp_pass();
			tp_recv_one(&s);
			assert_int_equal(s.flags, TP_FIN | TP_ACK);
			tp_absorb(pc, &s);
		}
		break;
	default:
		break;
	}
	assert_string_equal(tp_state(pc), from_name[f]);
}

static void
fire(struct tp_conn *pc, enum event ev)
{
	switch (ev) {
	case E_ACK:
		tp_ack(pc);
		break;
	case E_FIN:
		tp_fin_ack(pc, pc->rcv_nxt);
		break;
	case E_FIN_NOT_ACKING:
		tp_fin_ack(pc, pc->rcv_nxt - 1);
		break;
	case E_FIN_AGAIN:
		tp_send(pc, TP_FIN | TP_ACK, pc->snd_nxt - 1, pc->rcv_nxt, NULL, 0);
		break;
	case E_SHUTDOWN:
		assert_int_equal(stream_shutdown(tp_app1.s), 0);
		tp_pass();
		break;
	case E_RST_EXACT:
		tp_send(pc, TP_RST, pc->snd_nxt, 0, NULL, 0);
		break;
	case E_RST_IN_WINDOW:
		tp_send(pc, TP_RST, pc->snd_nxt + 100, 0, NULL, 0);
		break;
	case E_RST_OUT_OF_WINDOW:
		tp_send(pc, TP_RST, pc->snd_nxt + 0x40000000u, 0, NULL, 0);
		break;
	case E_SYN_IN_WINDOW:
		tp_send(pc, TP_SYN, pc->snd_nxt + 100, 0, NULL, 0);
		break;
	case E_SYN_OUT_OF_WINDOW:
		tp_send(pc, TP_SYN, pc->snd_nxt + 0x40000000u, 0, NULL, 0);
		break;
	}
}

/* One row of the table: a connection in r->from, the event, then the checks. */
static void
test_row(void **state)
{
	const struct row *r = *state;
	struct tp_conn pc;
	struct tp_seg s;

	reach(&pc, r->from, 0x01000000u * (uint32_t)(r - rows + 1) + 12345);
	uint64_t before = r->ctr != STATS_MAX ? tp_ctr(r->ctr) : 0;
	int closed_before = tp_app1.n_closed;
	uint32_t gw_nxt = pc.rcv_nxt;           /* the gateway's SND.NXT */

	fire(&pc, r->ev);
	if (r->out == NO_SEGMENT) {
		tp_recv_none();
	} else {
		tp_recv_one(&s);
		assert_int_equal(s.flags, r->out);
		assert_int_equal(s.seq, gw_nxt);
		assert_int_equal(s.ack, pc.snd_nxt);
		assert_int_equal(s.len, 0);
		assert_true(s.ts);
		tp_absorb(&pc, &s);
	}
	assert_string_equal(tp_state(&pc), r->to);
	if (r->ctr != STATS_MAX)
		assert_int_equal(tp_ctr(r->ctr), before + 1);
	if (r->closed == NO_CLOSE) {
		assert_int_equal(tp_app1.n_closed, closed_before);
	} else {
		assert_int_equal(tp_app1.n_closed, closed_before + 1);
		assert_int_equal(tp_app1.reason, r->closed);
	}
}

/* ---- closes ---- */

/* The echo service echoes, sees EOF and closes its side: CLOSE_WAIT -> LAST_ACK -> CLOSED. */
static void
test_passive_close_echo(void **state)
{
	(void)state;
	struct tp_conn pc;
	uint64_t closed = tp_ctr(STATS_TCP_CONN_CLOSED);

	tp_open(&pc, 7, 5550000, NULL);
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	tp_data(&pc, "hello", 5);
	unsigned n = tp_recv(segs, TP_MAX_SEGS);
	tp_absorb_all(&pc, segs, n);
	assert_int_equal(pc.bytes, 5);
	assert_memory_equal(segs[n - 1].data, "hello", 5);
	tp_ack(&pc);
	tp_recv_none();

	tp_fin_ack(&pc, pc.rcv_nxt);
	n = tp_recv(segs, TP_MAX_SEGS);
	assert_int_equal(n, 2);
	assert_int_equal(segs[0].flags, TP_ACK);        /* our FIN acknowledged ... */
	assert_int_equal(segs[0].ack, pc.snd_nxt);
	assert_int_equal(segs[1].flags, TP_FIN | TP_ACK);       /* ... then the echo's FIN */
	assert_int_equal(segs[1].ack, pc.snd_nxt);
	tp_absorb_all(&pc, segs, n);
	assert_true(pc.gw_fin);
	assert_string_equal(tp_state(&pc), "LAST_ACK");
	tp_ack(&pc);
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "CLOSED");
	assert_int_equal(tp_ctr(STATS_TCP_CONN_CLOSED), closed + 1);
}

/* TIME_WAIT lasts tcp.time_wait, then the connection is gone. */
static void
test_time_wait_expires(void **state)
{
	(void)state;
	struct tp_conn pc;
	unsigned tw_ms = tp_cfg.tcp.time_wait * 1000;

	reach(&pc, F_TIME_WAIT, 0x22220000u);
	assert_int_equal(tp_app1.n_closed, 1);
	assert_int_equal(tp_app1.reason, STREAM_CLOSED);
	tp_tick(tw_ms - 5);
	assert_string_equal(tp_state(&pc), "TIME_WAIT");
	tp_tick(10);
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "CLOSED");
	unsigned in_use, tw;
	tcp_usage(w, &in_use, &tw);
	assert_int_equal(tw, 0);
}

/*
 * A client that reuses its port while we hold the 4-tuple in TIME_WAIT (we
 * closed first): a SYN newer than the old connection (by timestamp, RFC 6191)
 * opens a new connection at once; an older one gets the challenge ACK.
 */
static void
test_time_wait_new_syn(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg s;
	uint64_t recycled = tp_ctr(STATS_TCP_TIME_WAIT_RECYCLED);

	reach(&pc, F_TIME_WAIT, 0x24240000u);
	/* an old SYN (timestamp not newer): challenge ACK, still TIME_WAIT */
	uint32_t ts = pc.tsval;
	pc.tsval = ts - 100;
	tp_send(&pc, TP_SYN, pc.snd_nxt + 1000, 0, NULL, 0);
	tp_recv_one(&s);
	assert_int_equal(s.flags, TP_ACK);
	assert_string_equal(tp_state(&pc), "TIME_WAIT");
	/* a new connection on the same ports, newer timestamp: SYN-ACK, the TIME_WAIT is gone */
	pc.tsval = ts + 1000;
	pc.iss = pc.snd_nxt + 100000;
	pc.snd_nxt = pc.iss;
	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_syn(&pc, &s);
	tp_ack(&pc);
	tp_recv_none();
	assert_non_null(tp_app1.s);
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	assert_int_equal(tp_ctr(STATS_TCP_TIME_WAIT_RECYCLED), recycled + 1);
}

/* A retransmitted FIN in TIME_WAIT is acknowledged again and restarts 2 MSL (RFC 9293 §3.10.7.4). */
static void
test_time_wait_fin_again(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg s;
	unsigned tw_ms = tp_cfg.tcp.time_wait * 1000;

	reach(&pc, F_TIME_WAIT, 0x23230000u);
	tp_tick(tw_ms / 2);
	for (int i = 0; i < 2; i++) {
		tp_send(&pc, TP_FIN | TP_ACK, pc.snd_nxt - 1, pc.rcv_nxt, NULL, 0);
		tp_recv_one(&s);
		assert_int_equal(s.flags, TP_ACK);
		assert_int_equal(s.seq, pc.rcv_nxt);
		assert_int_equal(s.ack, pc.snd_nxt);
	}
	tp_tick(tw_ms - 5);
	assert_string_equal(tp_state(&pc), "TIME_WAIT");
	tp_tick(10);
	assert_string_equal(tp_state(&pc), "CLOSED");
}

/*
 * Regression (fixed): an RST in TIME_WAIT must be ignored (RFC 1337 §3). The gateway
 * keeps the state and sends nothing, but treats it as accepted: it counts
 * tcp.rx_resets ("resets accepted") and re-runs tcp_conn_closed(), which
 * re-enters TIME_WAIT and so restarts the 2 MSL timer. Expected: counter
 * unchanged and TIME_WAIT ending tcp.time_wait after it began.
 */
static void
test_time_wait_rst_ignored(void **state)
{
	(void)state;
	struct tp_conn pc;
	unsigned tw_ms = tp_cfg.tcp.time_wait * 1000;

	reach(&pc, F_TIME_WAIT, 0x24240000u);
	uint64_t resets = tp_ctr(STATS_TCP_RX_RESETS);
	tp_tick(tw_ms / 2);
	tp_send(&pc, TP_RST, pc.snd_nxt, 0, NULL, 0);
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "TIME_WAIT");
	uint64_t counted = tp_ctr(STATS_TCP_RX_RESETS) - resets;
	tp_tick(tw_ms / 2 + 10);
	const char *after = tp_state(&pc);
	print_message("  RST in TIME_WAIT: tcp.rx_resets +%lu, %s %u ms after TIME_WAIT began\n",
		      (unsigned long)counted, after, tw_ms + 10);
	assert_int_equal(counted, 0);                               /* regression: was +1 */
	assert_string_equal(after, "CLOSED");                       /* regression: was still TIME_WAIT */
}

/* A simultaneous close (FIN_WAIT_1 -> CLOSING -> TIME_WAIT) is an orderly close: counted. */
static void
test_simultaneous_close_counted(void **state)
{
	(void)state;
	struct tp_conn pc;

	reach(&pc, F_CLOSING, 0x25250000u);
	uint64_t closed = tp_ctr(STATS_TCP_CONN_CLOSED);
	tp_ack(&pc);
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "TIME_WAIT");
	assert_int_equal(tp_app1.reason, STREAM_CLOSED);
	assert_int_equal(tp_ctr(STATS_TCP_CONN_CLOSED), closed + 1);
}

/* ---- closed ports (RFC 9293 §3.10.7.1) ---- */

static void
test_closed_port(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg r;
	uint64_t closed_port = tp_ctr(STATS_TCP_RX_CLOSED_PORT);
	uint64_t resets = tp_ctr(STATS_TCP_TX_RESETS);

	tp_conn_init(&pc, TP_CLOSED_PORT, 1000);
	pc.ts = false;
	/* No ACK bit: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
	tp_send(&pc, TP_PSH, 1000, 0, "0123456789", 10);
	tp_recv_one(&r);
	assert_int_equal(r.flags, TP_RST | TP_ACK);
	assert_int_equal(r.seq, 0);
	assert_int_equal(r.ack, 1010);
	assert_int_equal(r.sport, TP_CLOSED_PORT);
	assert_int_equal(r.dport, pc.pport);
	tp_send(&pc, TP_SYN, 4000, 0, NULL, 0);
	tp_recv_one(&r);
	assert_int_equal(r.flags, TP_RST | TP_ACK);
	assert_int_equal(r.ack, 4001);
	tp_send(&pc, TP_FIN | TP_PSH, 7000, 0, "abc", 3);
	tp_recv_one(&r);
	assert_int_equal(r.flags, TP_RST | TP_ACK);
	assert_int_equal(r.ack, 7004);
	/* ACK bit: <SEQ=SEG.ACK><CTL=RST>. */
	tp_send(&pc, TP_ACK, 5000, 777777, NULL, 0);
	tp_recv_one(&r);
	assert_int_equal(r.flags, TP_RST);
	assert_int_equal(r.seq, 777777);
	tp_send(&pc, TP_ACK | TP_PSH, 5000, 4242, "data", 4);
	tp_recv_one(&r);
	assert_int_equal(r.flags, TP_RST);
	assert_int_equal(r.seq, 4242);
	/* An RST is never answered. */
	tp_send(&pc, TP_RST, 5000, 0, NULL, 0);
	tp_send(&pc, TP_RST | TP_ACK, 5000, 1, NULL, 0);
	tp_recv_none();
	assert_int_equal(tp_ctr(STATS_TCP_RX_CLOSED_PORT), closed_port + 5);
	assert_int_equal(tp_ctr(STATS_TCP_TX_RESETS), resets + 5);
}

/* ---- PAWS (RFC 7323 §5) ---- */

static void
test_paws_old_segment(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg a;

	reach(&pc, F_ESTABLISHED, 0x26260000u);
	pc.tsval -= 100;                /* an old duplicate: TSval < TS.Recent */
	tp_send(&pc, TP_ACK | TP_PSH, pc.snd_nxt, pc.rcv_nxt, "old", 3);
	tp_recv_one(&a);
	assert_int_equal(a.flags, TP_ACK);
	assert_int_equal(a.ack, pc.snd_nxt);    /* not accepted */
	assert_int_equal(tp_app1.len, 0);
	pc.tsval += 200;
	tp_data(&pc, "new", 3);
	tp_recv_one(&a);
	assert_int_equal(a.ack, pc.snd_nxt);
	assert_int_equal(tp_app1.len, 3);
	assert_memory_equal(tp_app1.buf, "new", 3);
}

/* ---- half-close ---- */

static uint8_t sink[1 << 18];

static void
check_source_pattern(const struct tp_conn *pc)
{
	for (uint64_t i = 0; i < pc->bytes; i++)
		if (sink[i] != (uint8_t)(i % SERVICES_PATTERN_PERIOD))
			fail_msg("source byte %lu is %u", (unsigned long)i, sink[i]);
}

/*
 * The peer closes its side while the source still has data in flight (all
 * of it written, FIN queued): the data keeps flowing, then the FIN.
 */
static void
test_half_close_source_in_flight(void **state)
{
	(void)state;
	struct tp_conn pc;
	uint64_t total = tp_cfg.services.source_bytes;

	tp_open(&pc, 19, 0x31310000u, NULL);
	pc.sink = sink;
	pc.sink_size = sizeof(sink);
	unsigned n = tp_recv(segs, TP_MAX_SEGS);
	assert_true(n > 0);
	tp_absorb_all(&pc, segs, n);
	assert_true(pc.bytes > 0 && pc.bytes < total);       /* the initial window's worth */
	assert_false(pc.gw_fin);
	tp_fin_ack(&pc, pc.gw_iss + 1);                      /* our FIN, acknowledging nothing */
	n = tp_recv(segs, TP_MAX_SEGS);
	assert_int_equal(n, 1);
	assert_int_equal(segs[0].flags, TP_ACK);
	assert_int_equal(segs[0].ack, pc.snd_nxt);
	assert_string_equal(tp_state(&pc), "CLOSING");
	pump(&pc, 1000);
	assert_true(pc.gw_fin);
	assert_int_equal(pc.bytes, total);
	check_source_pattern(&pc);
	assert_string_equal(tp_state(&pc), "TIME_WAIT");
}

/*
 * Regression (fixed): the peer's FIN while the source service is still producing (its
 * pattern does not fit the send buffer yet) must not end the gateway's
 * direction: a half-closed connection keeps sending until the source has
 * sent services.source_bytes (RFC 9293 §3.6, CLOSE_WAIT may send). The source
 * uses svc_discard_read as its readable callback, which calls stream_shutdown
 * on EOF; after that stream_write_space() is 0, so the source stops at what
 * was buffered. Input: tcp.snd_buffer 4096, source_bytes 20000, peer FIN
 * right after the handshake. Expected: 20000 pattern bytes, then FIN.
 * Actual: 4096 bytes, then FIN.
 */
static void
test_half_close_source_still_writing(void **state)
{
	(void)state;
	struct tp_conn pc;
	uint64_t total = tp_cfg.services.source_bytes;

	tp_cfg.tcp.snd_buffer = 4096;
	tp_open(&pc, 19, 0x32320000u, NULL);
	pc.sink = sink;
	pc.sink_size = sizeof(sink);
	unsigned n = tp_recv(segs, TP_MAX_SEGS);
	tp_absorb_all(&pc, segs, n);
	assert_int_equal(pc.bytes, 4096);
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	tp_fin_ack(&pc, pc.gw_iss + 1);
	n = tp_recv(segs, TP_MAX_SEGS);
	tp_absorb_all(&pc, segs, n);
	pump(&pc, 1000);
	check_source_pattern(&pc);
	assert_int_equal(pc.bytes, total);                    /* regression: was 4096 */
	assert_true(pc.gw_fin);
}

/* ---- zero window and persist ---- */

static uint8_t wbuf[8192];

static void
fill_wbuf(void)
{
	for (unsigned i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = tp_pattern(i);
}

/* A zero window stops the sender; probes on the persist timer; an open window resumes. */
static void
test_zero_window(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg sa;
	unsigned n;

	fill_wbuf();
	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_conn_init(&pc, TP_APP_PORT, 0x33330000u);
	tp_syn(&pc, &sa);
	pc.wnd = 0;
	tp_ack(&pc);
	tp_recv_none();
	struct tcp_conn_view v;
	assert_true(tp_view(&pc, &v));
	assert_int_equal(v.snd_wnd, 0);
	assert_int_equal(stream_write(tp_app1.s, wbuf, 3000), 3000);
	tp_pass();
	tp_recv_none();                         /* nothing may go into a zero window */

	unsigned rto = tp_cfg.tcp.rto_initial_ms;
	for (unsigned i = 0; i < 2; i++) {
		int ms = tp_wait_send(segs, TP_MAX_SEGS, &n, 5000);
		assert_int_equal(n, 1);
		assert_in_range(ms, rto << i, (rto << i) + 2);
		/* A probe: an ACK below SND.UNA, no data (what Linux sends). */
		assert_int_equal(segs[0].flags, TP_ACK);
		assert_int_equal(segs[0].seq, pc.rcv_nxt - 1);
		assert_true(segs[0].len <= 1);
		tp_ack(&pc);                    /* still zero */
		tp_recv_none();
		assert_string_equal(tp_state(&pc), "ESTABLISHED");
	}
	pc.wnd = 8000 >> pc.ws;                 /* open */
	pc.sink = sink;
	pc.sink_size = sizeof(sink);
	tp_ack(&pc);
	n = tp_recv(segs, TP_MAX_SEGS);
	tp_absorb_all(&pc, segs, n);
	assert_int_equal(pc.bytes, 3000);
	assert_memory_equal(sink, wbuf, 3000);
	tp_ack(&pc);
	tp_tick(3000);
	tp_recv_none();                         /* no probes once the window is open */
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
}

/*
 * While the peer answers every window probe (with a zero window) the
 * connection stays open however long that lasts (RFC 9293 §3.8.6.1, MUST-36):
 * more probes than tcp.max_retransmits, no abort.
 */
static void
test_zero_window_held_open(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg sa;
	unsigned n;
	uint64_t timed_out = tp_ctr(STATS_TCP_CONN_TIMED_OUT);

	fill_wbuf();
	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_conn_init(&pc, TP_APP_PORT, 0x34340000u);
	tp_syn(&pc, &sa);
	pc.wnd = 0;
	tp_ack(&pc);
	assert_int_equal(stream_write(tp_app1.s, wbuf, 1000), 1000);
	tp_pass();
	tp_recv_none();
	for (unsigned i = 0; i < tp_cfg.tcp.max_retransmits + 3; i++) {
		int ms = tp_wait_send(segs, TP_MAX_SEGS, &n, 20000);
		if (ms < 0)
			fail_msg("probe %u never came: %s, app closed %d (reason %d)", i + 1,
				 tp_state(&pc), tp_app1.n_closed, tp_app1.reason);
		assert_int_equal(n, 1);
		assert_int_equal(segs[0].seq, pc.rcv_nxt - 1);
		assert_int_equal(segs[0].flags, TP_ACK);
		tp_ack(&pc);                                    /* the answer: still zero */
		tp_recv_none();
	}
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	assert_int_equal(tp_ctr(STATS_TCP_CONN_TIMED_OUT), timed_out);
	assert_int_equal(tp_app1.n_closed, 0);
}

/* ---- retransmission timeout ---- */

/* The peer stops ACKing: retransmissions at RTO, 2 RTO, 4 RTO ..., then the abort. */
static void
test_rto_backoff_abort(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg d;
	unsigned n;
	uint64_t timed_out = tp_ctr(STATS_TCP_CONN_TIMED_OUT);
	uint64_t rtx = tp_ctr(STATS_TCP_RETRANSMITS);
	uint64_t rtos = tp_ctr(STATS_TCP_RTO_TIMEOUTS);
	unsigned rto = tp_cfg.tcp.rto_initial_ms;     /* no RTT sample yet */
	unsigned max = tp_cfg.tcp.max_retransmits;

	fill_wbuf();
	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_open(&pc, TP_APP_PORT, 0x35350000u, NULL);
	assert_int_equal(stream_write(tp_app1.s, wbuf, 100), 100);
	tp_pass();
	tp_recv_one(&d);
	assert_int_equal(d.len, 100);
	for (unsigned i = 0; i < max; i++) {
		int ms = tp_wait_send(segs, TP_MAX_SEGS, &n, 20000);
		assert_int_equal(n, 1);
		assert_in_range(ms, rto << i, (rto << i) + 2);
		assert_int_equal(segs[0].seq, d.seq);
		assert_int_equal(segs[0].len, 100);
		assert_memory_equal(segs[0].data, wbuf, 100);
	}
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	tp_tick((rto << max) - 3);
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	tp_tick(6);
	tp_recv_none();
	assert_string_equal(tp_state(&pc), "CLOSED");
	assert_int_equal(tp_app1.n_closed, 1);
	assert_int_equal(tp_app1.reason, STREAM_TIMEOUT);
	assert_int_equal(tp_ctr(STATS_TCP_CONN_TIMED_OUT), timed_out + 1);
	assert_int_equal(tp_ctr(STATS_TCP_RETRANSMITS), rtx + max);
	assert_int_equal(tp_ctr(STATS_TCP_RTO_TIMEOUTS), rtos + max);
}

/* An ACK of the retransmission ends the back-off: new data is timed from the base RTO again. */
static void
test_rto_recovers(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg d;
	unsigned n;

	fill_wbuf();
	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_open(&pc, TP_APP_PORT, 0x36360000u, NULL);
	assert_int_equal(stream_write(tp_app1.s, wbuf, 100), 100);
	tp_pass();
	tp_recv_one(&d);
	assert_true(tp_wait_send(segs, TP_MAX_SEGS, &n, 1000) > 0);
	assert_true(tp_wait_send(segs, TP_MAX_SEGS, &n, 1000) > 0);
	tp_absorb_all(&pc, segs, n);
	tp_ack(&pc);                            /* RTT sample from the timestamp echo */
	tp_recv_none();
	assert_int_equal(stream_write(tp_app1.s, wbuf, 50), 50);
	tp_pass();
	tp_recv_one(&d);
	uint64_t tlp = tp_ctr(STATS_TCP_TLP_PROBES), rto = tp_ctr(STATS_TCP_RTO_TIMEOUTS);
	int ms = tp_wait_send(segs, TP_MAX_SEGS, &n, 5000);
	/* First a tail loss probe (RFC 8985: 1.5 SRTT + 40 ms for a single segment), well before the RTO. */
	assert_in_range(ms, 40, tp_cfg.tcp.rto_min_ms - 1);
	assert_int_equal(tp_ctr(STATS_TCP_TLP_PROBES), tlp + 1);
	assert_int_equal(tp_ctr(STATS_TCP_RTO_TIMEOUTS), rto);
	tp_absorb_all(&pc, segs, n);
	/* Still no ACK: the RTO, from the sample, clamped to rto_min; not the backed-off 800 ms. */
	int ms2 = tp_wait_send(segs, TP_MAX_SEGS, &n, 5000);
	assert_in_range(ms2, tp_cfg.tcp.rto_min_ms, tp_cfg.tcp.rto_initial_ms);
	assert_int_equal(tp_ctr(STATS_TCP_RTO_TIMEOUTS), rto + 1);
	tp_absorb_all(&pc, segs, n);
	tp_ack(&pc);
}

/* ---- delayed ACK ---- */

static void
test_delayed_ack(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg a, sa;
	unsigned n;

	fill_wbuf();
	tp_cfg.tcp.delayed_ack_ms = 40;
	tp_app_reset(&tp_app1);
	tp_app1.autoread = false;               /* no window updates from reads */
	tp_accept_app = &tp_app1;
	tp_conn_init(&pc, TP_APP_PORT, 0x37370000u);
	tp_syn(&pc, &sa);
	tp_ack(&pc);
	uint16_t mss = (uint16_t)(pc.mss - 12); /* the gateway's SMSS: timestamps in every segment */

	/* One segment without PSH: the ACK waits delayed_ack_ms. */
	tp_send(&pc, TP_ACK, pc.snd_nxt, pc.rcv_nxt, wbuf, 100);
	pc.snd_nxt += 100;
	tp_recv_none();
	int ms = tp_wait_send(segs, TP_MAX_SEGS, &n, 500);
	assert_int_equal(n, 1);
	assert_in_range(ms, 39, 42);
	assert_int_equal(segs[0].flags, TP_ACK);
	assert_int_equal(segs[0].ack, pc.snd_nxt);

	/*
	 * A short pushed segment (a request or reply) with no answer from the
	 * application: ACKed after 1 ms, so a Nagle-bound peer is not held 40 ms.
	 */
	tp_data(&pc, wbuf, 100);
	tp_recv_none();
	ms = tp_wait_send(segs, TP_MAX_SEGS, &n, 500);
	assert_int_equal(n, 1);
	assert_in_range(ms, 1, 3);
	assert_int_equal(segs[0].flags, TP_ACK);
	assert_int_equal(segs[0].ack, pc.snd_nxt);

	/* Two full segments: the second is acknowledged at once. */
	tp_data(&pc, wbuf, mss);
	tp_recv_none();
	tp_data(&pc, wbuf + mss, mss);
	tp_recv_one(&a);
	assert_int_equal(a.flags, TP_ACK);
	assert_int_equal(a.ack, pc.snd_nxt);
	tp_tick(100);
	tp_recv_none();                         /* and the delayed ACK timer is gone */

	/* Data going out carries the ACK: nothing separate later. */
	tp_data(&pc, wbuf, 10);
	assert_int_equal(stream_write(tp_app1.s, "reply", 5), 5);
	tp_pass();
	tp_recv_one(&a);
	assert_int_equal(a.len, 5);
	assert_int_equal(a.ack, pc.snd_nxt);
	tp_tick(100);
	tp_recv_none();
}

/* ---- options ---- */

/*
 * Regression (fixed): the window field of a SYN-ACK is never scaled (RFC 7323 §2.2: "The
 * window field in a segment where the SYN bit is set MUST NOT be scaled").
 * tcp_syn_sent() calls tcp_established(c, s->wnd, ...), which shifts the
 * SYN-ACK's window by the scale the SYN-ACK just announced. Input: active
 * open, SYN-ACK with window 1000 and WS 7. Expected SND.WND 1000 (and at most
 * 1000 bytes sent); actual 128000, and all 4000 written bytes go out.
 */
static void
test_synack_window_not_scaled(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg syn, a;
	struct tcp_conn_view v;

	fill_wbuf();
	active_open(&pc, 8029, &syn);
	send_synack(&pc, 1000, 7);
	tp_recv_one(&a);
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	assert_true(tp_view(&pc, &v));
	assert_int_equal(stream_write(tp_app1.s, wbuf, 4000), 4000);
	tp_pass();
	unsigned n = tp_recv(segs, TP_MAX_SEGS);
	tp_absorb_all(&pc, segs, n);
	print_message("  after a SYN-ACK with window 1000, WS 7: SND.WND %u, %lu of 4000 bytes sent\n",
		      v.snd_wnd, (unsigned long)pc.bytes);
	assert_int_equal(v.snd_wnd, 1000);                      /* regression: was 128000 */
	assert_true(pc.bytes <= 1000);                          /* regression: was 4000 */
}

/*
 * Regression (fixed): the MSS option of the SYN-ACK must announce what the gateway can
 * receive: MTU - 40 = 1460 (RFC 9293 §3.7.1 and RFC 6691: not lowered for IP
 * or TCP options). tcp_send_syn() sends c->mss, the *send* MSS: the peer's
 * MSS, less 12 when timestamps are on. Input: SYN with MSS 1460 + TS
 * (and SYN with MSS 536 + TS). Expected: MSS 1460 in both SYN-ACKs. Actual:
 * 1448 and 524. (The active open's SYN correctly says 1460.)
 */
static void
test_synack_mss_option(void **state)
{
	(void)state;
	struct tp_conn pc;
	struct tp_seg sa;
	int got[2];

	tp_conn_init(&pc, 9, 0x38380000u);
	tp_syn(&pc, &sa);
	got[0] = sa.mss;
	tp_send(&pc, TP_RST, pc.snd_nxt, 0, NULL, 0);
	tp_conn_init(&pc, 9, 0x39390000u);
	pc.mss = 536;
	tp_syn(&pc, &sa);
	got[1] = sa.mss;
	tp_send(&pc, TP_RST, pc.snd_nxt, 0, NULL, 0);
	tp_recv_none();
	print_message("  SYN-ACK MSS for a peer MSS of 1460: %d, of 536: %d\n", got[0], got[1]);
	assert_int_equal(got[0], 1460);                         /* regression: was 1448 */
	assert_int_equal(got[1], 1460);                         /* regression: was 524 */
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		TP_TEST(test_passive_open),
		TP_TEST(test_active_open),
		TP_TEST(test_active_refused),
		TP_TEST(test_active_bad_synack),
		TP_TEST(test_active_syn_timeout),
	};
	static const struct CMUnitTest more[] = {
		TP_TEST(test_passive_close_echo),
		TP_TEST(test_time_wait_expires),
		TP_TEST(test_time_wait_new_syn),
		TP_TEST(test_time_wait_fin_again),
		TP_TEST(test_time_wait_rst_ignored),
		TP_TEST(test_simultaneous_close_counted),
		TP_TEST(test_closed_port),
		TP_TEST(test_paws_old_segment),
		TP_TEST(test_half_close_source_in_flight),
		TP_TEST(test_half_close_source_still_writing),
		TP_TEST(test_zero_window),
		TP_TEST(test_zero_window_held_open),
		TP_TEST(test_rto_backoff_abort),
		TP_TEST(test_rto_recovers),
		TP_TEST(test_delayed_ack),
		TP_TEST(test_synack_window_not_scaled),
		TP_TEST(test_synack_mss_option),
	};
	static struct CMUnitTest tests[RTE_DIM(fixed) + RTE_DIM(rows) + RTE_DIM(more)];
	static char names[RTE_DIM(rows)][80];
	size_t n = 0;

	for (size_t i = 0; i < RTE_DIM(fixed); i++)
		tests[n++] = fixed[i];
	/* The transition table: one test per row, named after it. */
	for (size_t i = 0; i < RTE_DIM(rows); i++) {
		snprintf(names[i], sizeof(names[i]), "%s + %s -> %s", from_name[rows[i].from],
			 event_name[rows[i].ev], rows[i].to);
		tests[n++] = (struct CMUnitTest){
			.name = names[i], .test_func = test_row, .setup_func = tp_test_setup,
			.teardown_func = tp_test_teardown, .initial_state = (void *)(uintptr_t)&rows[i],
		};
	}
	for (size_t i = 0; i < RTE_DIM(more); i++)
		tests[n++] = more[i];
	return _cmocka_run_group_tests("test_tcp_fsm", tests, n, tp_setup, NULL);
}
