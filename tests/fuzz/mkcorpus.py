#!/usr/bin/env python3
"""mkcorpus.py — write the seed corpus of build/fuzz/fuzz_net (tests/fuzz/corpus/net/).

An input is a list of records [type:1][len:2 LE][body], see tests/fuzz/fuzz_net.c:
  RAW  (type 0 | flags 0x10 fix L2, 0x20 fix checksums, 0x40 NIC checksum ok, 0x80 pool mbuf)
  SEG  (type 1): sel flags ctl seq:4 ack:4 wnd:2 optlen:1 opts payload
       (sel 0x80: SACK edges in opts are relative to the end of the gateway's in-order data)
  TIME (type 2): value:2 unit:1 (ms, 10 ms, 100 ms, s)
  APP  (type 3): action arg bytes:2 (0 probe, 1 FIN, 2 RST, 3 SYN-cookie mode)
Every input starts with connection slot 0 (echo, port 7) and slot 1 (discard,
port 9) established; slot 2 is the source service (port 19), slot 3 a closed port.

Usage: tests/fuzz/mkcorpus.py [DIR]   (default: tests/fuzz/corpus/net next to this file)
       tests/fuzz/mkcorpus.py --crashes [DIR]   reproducers of gateway bugs the fuzzer
                                                found (default: tests/fuzz/crashes)
       tests/fuzz/mkcorpus.py --relay [DIR]     the seeds of build/fuzz/fuzz_relay
                                                (default: tests/fuzz/corpus/relay)

fuzz_relay inputs (see tests/fuzz/fuzz_relay.c): a 7-byte header
  caps:1 size:4 fault:1 flags:1
then records [op:1][len:1][body]: op & 31 the opcode (R_* below), op >> 5 the
connection (client slot 0..2; next hop 0 = the newest, 1 the one before ...).
"""
import os
import struct
import sys

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
# SEG ctl bits
SEQ_UNA, SEQ_WIDE, ACK_WIDE, TS, NOADV, BAD_CSUM, IP_OPTS, POOL = 1, 2, 4, 8, 16, 32, 64, 128
GW_IP = bytes([203, 0, 113, 1])
PEER_IP = bytes([203, 0, 113, 10])
PEER_MAC = bytes([2, 0, 0, 0, 0, 0x10])
SYN_OPTS = bytes([2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7])   # MSS 1460, SACK ok, WS 7


def rec(typ, body):
    return struct.pack('<BH', typ, len(body)) + body


def seg(sel=0, flags=ACK, ctl=TS, seq=0, ack=0, wnd=4096, opts=b'', payload=b''):
    return rec(1, struct.pack('<BBBiiHB', sel, flags, ctl, seq, ack, wnd, len(opts)) + opts + payload)


def time_ms(ms):
    if ms < 65536:
        return rec(2, struct.pack('<HB', ms, 0))
    return rec(2, struct.pack('<HB', ms // 1000, 3))


def app(action, arg=0, nbytes=0):
    return rec(3, struct.pack('<BBH', action, arg, nbytes))


def raw(frame, flags=0x30):
    return rec(flags, frame)


def eth(ethertype, payload):
    return b'\0' * 12 + struct.pack('>H', ethertype) + payload   # MACs fixed by flag 0x10


def ipv4(proto, payload, src=PEER_IP, dst=GW_IP, ihl=5):
    hdr = struct.pack('>BBHHHBBH4s4s', 0x40 | ihl, 0, 4 * ihl + len(payload), 1, 0x4000, 64,
                      proto, 0, src, dst) + b'\x01' * (4 * ihl - 20)
    return hdr + payload                                         # checksums fixed by flag 0x20


def sack(*blocks):
    return bytes([1, 1, 5, 2 + 8 * len(blocks)]) + b''.join(struct.pack('>ii', *b) for b in blocks)


# Reproducers of gateway bugs found by fuzz_net (run: build/fuzz/fuzz_net FILE).
CRASHES = {
    # UBSan: tcp_build() does memcpy(th + 1, opts, optlen) with opts == NULL, optlen 0 for
    # every RST (tcp_send_reset); here the RST answering a SYN to closed port 25.
    'ubsan_tcp_build_memcpy_null_rst': seg(sel=3, flags=SYN, ctl=0, opts=SYN_OPTS),
}


# ---- fuzz_relay ----
R_C_OPEN, R_C_CMD, R_C_RAW, R_C_TEXT, R_C_EOD, R_C_FIN, R_C_RST, R_C_WND, R_C_MSG = range(9)
R_N_REPLY, R_N_RAW, R_N_FIN, R_N_RST, R_N_WND, R_N_MODE, R_N_EHLO = range(10, 17)
R_TICK, R_FAULT = 20, 21
# header caps (the next hops' EHLO keywords) and flags
CAP_PIPE, CAP_SIZE, CAP_UTF8, CAP_8BIT, CAP_TLS, CAP_ENH, CAP_MULTI_GREET = 1, 2, 4, 8, 16, 32, 64
F_NO_AUTO, F_NO_CACHE, F_SMALL_BUF, F_DELACK, F_NH_SMALL_WND, F_NO_RETRY = 1, 2, 4, 8, 16, 32
# C_CMD templates
T_EHLO, T_HELO, T_MAIL, T_RCPT, T_DATA, T_RSET, T_NOOP, T_QUIT, T_VRFY, T_STARTTLS = range(10)
T_HELP, T_BDAT, T_EHLO_LONG, T_MAIL_BIG, T_AUTH, T_EXTRA = range(10, 16)
MP_SIZE, MP_UTF8, MP_8BIT, MP_BIG, MP_7BIT = 1, 2, 4, 8, 16
# N_REPLY codes (index into codes[] of fuzz_relay.c) and flags
C_220, C_250, C_251, C_354, C_221, C_421, C_450, C_451, C_452, C_500, C_501, C_503 = range(12)
C_550, C_552, C_553, C_554, C_555, C_252, C_334, C_199, C_600, C_250_BARE, C_454, C_220_TLS = range(12, 24)
RF_MULTI, RF_NO_ENH, RF_SPLIT, RF_LF, RF_TWICE, RF_LONG, RF_BAD_CONT = 1, 2, 4, 8, 16, 32, 64
# N_MODE rule kinds; code 0xfe = hold (no automatic reply)
K_CONNECT, K_EHLO, K_HELO, K_MAIL, K_RCPT, K_DATA, K_EOD, K_RSET, K_QUIT, K_STARTTLS, K_OTHER = range(11)
HOLD = 0xfe
# C_TEXT styles
TS_DOTS, TS_8BIT, TS_LONG, TS_BARE_LF, TS_BARE_CR, TS_HEADERS, TS_EMPTY, TS_NO_EOL = 1, 2, 4, 8, 16, 32, 64, 128


def r_hdr(caps=CAP_PIPE | CAP_SIZE | CAP_UTF8 | CAP_8BIT | CAP_ENH, size=10000000, fault=0, flags=0):
    return bytes([caps]) + struct.pack('<I', size) + bytes([fault, flags])


def r_rec(op, body=b'', conn=0):
    return bytes([op | conn << 5, len(body)]) + body


def r_open(slot=0, outside=False):
    return r_rec(R_C_OPEN, bytes([int(outside)]), slot)


def r_cmd(t, sel=0, pflags=0, size=0, extra=b'', slot=0):
    return r_rec(R_C_CMD, bytes([t, sel, pflags]) + struct.pack('<I', size) + extra, slot)


def r_text(lines, linelen, style=0, seed=7, slot=0):
    return r_rec(R_C_TEXT, bytes([lines, linelen, style, seed]), slot)


def r_eod(variant=0, slot=0):
    return r_rec(R_C_EOD, bytes([variant]), slot)


def r_msg(flags=3, nrcpt=1, lines=10, linelen=60, sel=0, pflags=0, slot=0):
    return r_rec(R_C_MSG, bytes([flags, nrcpt - 1, lines, linelen, sel, pflags]), slot)


def r_reply(code, flags=0, conn=0):
    return r_rec(R_N_REPLY, bytes([code, flags]), conn)


def r_rule(kind, code, flags=0, count=0):
    return r_rec(R_N_MODE, bytes([3, kind, code, flags, count]))


def r_mode(what, value, extra=b''):
    return r_rec(R_N_MODE, bytes([what, value]) + extra)


def r_tick(ms):
    if ms < 65536:
        return r_rec(R_TICK, struct.pack('<HB', ms, 0))
    return r_rec(R_TICK, struct.pack('<HB', ms // 1000, 3))


def r_raw(data, slot=0):
    return r_rec(R_C_RAW, data, slot)


def relay_seeds():
    hello = r_open() + r_cmd(T_EHLO)
    tx = r_cmd(T_MAIL) + r_cmd(T_RCPT, 0) + r_cmd(T_DATA) + r_text(12, 70, TS_DOTS) + r_eod()
    D = r_hdr()
    return {
        'single_rcpt': D + hello + tx + r_cmd(T_QUIT),
        'multi_rcpt': D + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT, 0) + r_cmd(T_RCPT, 1) + r_cmd(T_RCPT, 2) +
                      r_cmd(T_DATA) + r_text(5, 40) + r_eod() + r_cmd(T_QUIT),
        'pipelined': D + r_open() + r_msg(flags=1 | 2 | 4, nrcpt=3, lines=20, linelen=72),
        'two_messages': D + hello + r_msg(flags=0, nrcpt=1) + r_msg(flags=2, nrcpt=2, sel=1) + r_cmd(T_QUIT),
        'helo_plain': D + r_open() + r_cmd(T_HELO) + r_cmd(T_MAIL) + r_cmd(T_RCPT, 1) + r_cmd(T_DATA) +
                      r_text(3, 20) + r_eod() + r_cmd(T_QUIT),
        'dot_stuffing': D + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_cmd(T_DATA) +
                        r_raw(b'..leading dot\r\n...two\r\n.\r\nnot the end?\r\n') + r_eod(1),
        'big_data': D + hello + r_cmd(T_MAIL, pflags=MP_SIZE, size=120000) + r_cmd(T_RCPT) + r_cmd(T_DATA) +
                    r_text(250, 250, TS_DOTS | TS_8BIT) + r_text(200, 200) + r_eod() + r_tick(2000),
        'too_big': D + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_cmd(T_DATA) + r_text(255, 255) * 4 + r_eod(),
        'mail_refused': D + hello + r_rule(K_MAIL, C_550, count=1) + tx + r_cmd(T_QUIT),
        'rcpt_refused': D + hello + r_rule(K_RCPT, C_550, count=1) + r_cmd(T_MAIL) + r_cmd(T_RCPT, 0) +
                        r_cmd(T_RCPT, 1) + r_cmd(T_DATA) + r_text(2, 10) + r_eod(),
        'nexthop_421_greeting': D + hello + r_rule(K_CONNECT, C_421, count=1) + tx,
        'nexthop_421_data': D + hello + r_rule(K_DATA, C_421) + tx + r_cmd(T_RSET),
        'nexthop_452_eod': D + hello + r_rule(K_EOD, C_452, RF_MULTI) + tx,
        'size_too_small': r_hdr(size=1000) + hello + r_cmd(T_MAIL, pflags=MP_SIZE, size=2000) +
                          r_cmd(T_RCPT, 0) + r_cmd(T_DATA),
        'smtputf8_missing': r_hdr(caps=CAP_PIPE | CAP_SIZE) + hello + r_cmd(T_MAIL, 3, MP_UTF8) +
                            r_cmd(T_RCPT, 12) + r_cmd(T_DATA),
        'no_pipelining': r_hdr(caps=CAP_SIZE | CAP_8BIT) + r_open() + r_msg(flags=1 | 2, nrcpt=2),
        'starttls_offered': r_hdr(caps=CAP_PIPE | CAP_TLS) + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT, 3),
        'held_then_late': r_hdr(flags=0) + hello + r_rule(K_EOD, HOLD) + tx + r_tick(5000) +
                          r_reply(C_250) + r_cmd(T_QUIT),
        'no_reply_timeout': D + hello + r_rule(K_RCPT, HOLD) + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_tick(40000),
        'early_reply': D + hello + r_rule(K_DATA, HOLD) + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_reply(C_354) +
                       r_reply(C_250) + r_cmd(T_DATA) + r_text(2, 10) + r_eod(),
        'reply_before_greeting': D + r_rule(K_CONNECT, HOLD) + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) +
                                 r_reply(C_250) + r_reply(C_220),
        'nexthop_rst_in_data': D + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_cmd(T_DATA) + r_text(5, 50) +
                               r_rec(R_N_RST) + r_text(5, 50) + r_eod(),
        'nexthop_fin_idle': D + hello + tx + r_rec(R_N_FIN) + r_msg(flags=2),
        'client_rst_in_data': D + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_cmd(T_DATA) + r_text(5, 50) +
                              r_rec(R_C_RST),
        'client_fin_in_data': D + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_cmd(T_DATA) + r_text(5, 50) +
                              r_rec(R_C_FIN),
        'nexthop_zero_window': r_hdr(flags=F_NH_SMALL_WND) + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) +
                               r_cmd(T_DATA) + r_rec(R_N_WND, struct.pack('<H', 0)) + r_text(100, 100) +
                               r_eod() + r_tick(3000) + r_rec(R_N_WND, struct.pack('<H', 65535)) + r_tick(3000),
        'alloc_faults': r_hdr(fault=7) + hello + tx + r_tick(3000) + r_cmd(T_QUIT),
        'alloc_faults_big': r_hdr(fault=13, flags=F_SMALL_BUF) + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) +
                            r_cmd(T_DATA) + r_text(120, 120) + r_eod() + r_tick(5000) + r_tick(20000),
        'connect_refused': D + r_mode(2, 1) + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_tick(1000),
        'connect_silent': D + r_mode(2, 2) + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_tick(15000),
        'other_hop': D + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT, 0) + r_cmd(T_RCPT, 3) + r_cmd(T_RCPT, 4) +
                     r_cmd(T_DATA) + r_text(2, 10) + r_eod(),
        'relay_denied': D + r_open(outside=True) + r_cmd(T_EHLO) + r_cmd(T_MAIL) + r_cmd(T_RCPT, 5) +
                        r_cmd(T_RCPT, 0) + r_cmd(T_DATA) + r_text(2, 10) + r_eod(),
        'bare_lf_data': D + hello + r_cmd(T_MAIL) + r_cmd(T_RCPT) + r_cmd(T_DATA) + r_text(6, 30, TS_BARE_LF) +
                        r_eod(2) + r_eod(),
        'two_clients_cache': D + hello + tx + r_open(1) + r_cmd(T_EHLO, slot=1) + r_msg(flags=2, slot=1) +
                             r_cmd(T_QUIT) + r_cmd(T_QUIT, slot=1),
        'commands_misc': D + hello + r_cmd(T_VRFY) + r_cmd(T_HELP) + r_cmd(T_NOOP) + r_cmd(T_BDAT) +
                         r_cmd(T_AUTH) + r_cmd(T_STARTTLS) + r_cmd(T_EHLO_LONG) + r_cmd(T_RSET),
        'desync_multi_250': D + hello + r_rule(K_MAIL, C_250, RF_TWICE, 1) + tx,
        'client_slow_reader': D + hello + r_rec(R_C_WND, struct.pack('<H', 0)) + r_cmd(T_EHLO) * 30 +
                              r_tick(2000) + r_rec(R_C_WND, struct.pack('<H', 65535)),
    }


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--relay':
        out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), 'corpus', 'relay')
        os.makedirs(out, exist_ok=True)
        seeds = relay_seeds()
        for name, data in seeds.items():
            with open(os.path.join(out, name), 'wb') as f:
                f.write(data)
        print(f'{len(seeds)} seeds in {out}')
        return
    if len(sys.argv) > 1 and sys.argv[1] == '--crashes':
        out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), 'crashes')
        os.makedirs(out, exist_ok=True)
        for name, data in CRASHES.items():
            with open(os.path.join(out, name), 'wb') as f:
                f.write(data)
        print(f'{len(CRASHES)} reproducers in {out}')
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus', 'net')
    os.makedirs(out, exist_ok=True)
    arp_req = struct.pack('>HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, PEER_MAC, PEER_IP, b'\0' * 6, GW_IP)
    icmp_echo = bytes([8, 0, 0, 0, 0, 7, 0, 1]) + b'p' * 24
    seeds = {
        'raw_arp_request': raw(eth(0x0806, arp_req)),
        'raw_icmp_echo': raw(eth(0x0800, ipv4(1, icmp_echo))),
        'raw_icmp_echo_ipopts': raw(eth(0x0800, ipv4(1, icmp_echo, ihl=7)), 0xb0),
        'raw_ipv4_bad_hlen': raw(eth(0x0800, bytes([0x43]) + ipv4(6, b'\0' * 20)[1:]), 0x10),
        'raw_tcp_syn_port7': raw(eth(0x0800, ipv4(6, struct.pack('>HHIIBBHHH', 40100, 7, 1, 0, 0x50, SYN,
                                                                 1024, 0, 0)))),
        'seg_data_in_order': seg(payload=b'hello, echo\r\n') + seg(),
        'seg_data_out_of_order': (seg(seq=100, payload=b'B' * 100) + seg(seq=300, payload=b'D' * 50) +
                                  seg(payload=b'A' * 100) + seg(seq=200, payload=b'C' * 100) + seg()),
        'seg_fin': seg(flags=FIN | ACK) + seg() + time_ms(200),
        'seg_fin_with_data': seg(flags=FIN | PSH | ACK, payload=b'bye\r\n') + seg(flags=ACK),
        'seg_rst': seg(sel=1, flags=RST, ctl=0),
        'seg_rst_in_window': seg(sel=1, flags=RST, ctl=0, seq=10) + seg(sel=1, flags=RST, ctl=SEQ_UNA),
        'seg_syn_source': (seg(sel=2, flags=SYN, ctl=TS, wnd=65535, opts=SYN_OPTS) +
                           seg(sel=2, flags=ACK, ctl=TS, wnd=65535) + seg(sel=2) + seg(sel=2) +
                           seg(sel=2, flags=FIN | ACK)),
        'seg_syn_closed_port': seg(sel=3, flags=SYN, ctl=0, opts=SYN_OPTS),
        'seg_discard_wrap': b''.join(seg(sel=1, ctl=TS, payload=bytes(range(256)) * 5) for _ in range(5)),
        'seg_sack_dupacks': (seg(payload=b'x' * 1400) + seg(payload=b'y' * 1400) +
                             seg(opts=sack((0, 0)), ack=-2800) * 3 + seg()),
        # source: 1448 + 1448 + 1200 bytes and FIN; the first segment "lost", the rest SACKed.
        'seg_sack_recovery': (seg(sel=2, flags=SYN, ctl=TS, wnd=65535, opts=SYN_OPTS) +
                              seg(sel=2, flags=ACK, ctl=TS, wnd=65535) +
                              seg(sel=0x82, ack=-4097, opts=sack((-2649, -1)), wnd=65535) * 4 +
                              time_ms(300) + seg(sel=2, wnd=65535)),
        'seg_zero_window': seg(wnd=0, payload=b'z' * 500) + time_ms(3000) + seg(wnd=8192) + time_ms(100),
        'seg_bad_csum_ipopts': seg(ctl=TS | BAD_CSUM, payload=b'bad') + seg(ctl=IP_OPTS | POOL, payload=b'ok'),
        # FIN_WAIT_2 -> TIME_WAIT, then an ACK for one more sequence number (found a re-sent FIN
        # that left TIME_WAIT without its timer; fixed in 3cf6d49 "FIN sent once").
        'seg_source_time_wait': (seg(sel=2, flags=SYN, ctl=TS, wnd=65535, opts=SYN_OPTS) +
                                 seg(sel=2, flags=ACK, ctl=TS, wnd=65535) + seg(sel=2) +
                                 seg(sel=2, flags=FIN | ACK, ack=-1) + seg(sel=2, ack=1)),
        'seg_syncookie': (app(3, 1) + seg(sel=2, flags=SYN, ctl=TS, opts=SYN_OPTS) +
                          seg(sel=2, flags=ACK, ctl=TS)),
        'time_jump': seg(payload=b'ping') + time_ms(40) + time_ms(5000) + time_ms(120000),
        'app_probe': app(0, 2, 100) + seg(sel=3, flags=SYN | ACK, ctl=TS, opts=SYN_OPTS) + seg(sel=3),
        'app_close': app(1, 0) + seg(flags=FIN | ACK) + time_ms(6000),
        'app_reset': app(2, 1),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print(f'{len(seeds)} seeds in {out}')


if __name__ == '__main__':
    main()
