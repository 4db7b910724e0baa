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


def main():
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
