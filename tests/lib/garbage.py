#!/usr/bin/python3
"""garbage.py — send malformed frames to the gateway from a namespace.

Usage: garbage.py IFACE DST_MAC GW_IP HOST_IP COUNT SEED
Sends COUNT frames through a raw AF_PACKET socket on IFACE, paced so the
gateway's RX ring never overflows. No IPv4 fragments: DPDK's net_af_packet
joins a PACKET_FANOUT group with the DEFRAG flag, so the kernel reassembles
(or silently holds) fragments before the gateway sees them; fragment
handling is tested by tests/unit/test_net.c instead. A fixed set of categories each maps to
the counter that must account for it; one category is random bytes. Prints
one line per category, "counter sent", as JSON on the last line.
"""
import json
import random
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return socket.inet_aton(a)


class Gen:
    def __init__(self, dst, src, gw, host, rnd):
        self.dst, self.src, self.gw, self.host, self.r = dst, src, gw, host, rnd

    def eth(self, etype, payload, dst=None, src=None):
        return (dst or self.dst) + (src or self.src) + struct.pack("!H", etype) + payload

    def iphdr(self, proto, plen, src=None, dst=None, ver=4, ihl=5, tot=None,
              frag=0, bad_csum=False, opts=b""):
        tot = (ihl * 4 + plen) if tot is None else tot
        h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, tot & 0xFFFF,
                        self.r.randrange(65536), frag, 64, proto, 0,
                        ip4(src or self.host), ip4(dst or self.gw)) + opts
        c = csum(h[: ihl * 4] if ihl >= 5 else h)
        if bad_csum:
            c ^= 0x5A5A
        return h[:10] + struct.pack("!H", c) + h[12:]

    def ipv4(self, proto, payload, **kw):
        return self.eth(0x0800, self.iphdr(proto, len(payload), **kw) + payload)

    def icmp(self, typ, code=0, data=b"x" * 16, bad=False):
        h = struct.pack("!BBHHH", typ, code, 0, 1, 1) + data
        c = csum(h) ^ (0x1111 if bad else 0)
        return h[:2] + struct.pack("!H", c) + h[4:]

    def arp(self, op=1, htype=1, ptype=0x0800, hlen=6, plen=4, sha=None, spa=None, tpa=None):
        return self.eth(0x0806, struct.pack("!HHBBH6s4s6s4s", htype, ptype, hlen, plen, op,
                                            sha or self.src, ip4(spa or self.host), b"\0" * 6,
                                            ip4(tpa or self.gw)))

    def rand_mac(self, multicast=False):
        b = bytearray(self.r.randbytes(6))
        b[0] = (b[0] | 1) if multicast else (b[0] & 0xFE)
        return bytes(b)

    def random_frame(self):
        etype = self.r.choice([0x0800, 0x0806, self.r.randrange(0x0600, 0x10000)])
        body = self.r.randbytes(self.r.randrange(0, 200))
        return self.eth(etype, body, src=self.rand_mac())

    def categories(self):
        g = self
        return [
            ("ipv4.rx_truncated", lambda: g.eth(0x0800, b"")),
            ("eth.rx_unknown_type", lambda: g.eth(0x88B5, b"\0" * 46)),
            ("eth.rx_ipv6", lambda: g.eth(0x86DD, b"\x60" + b"\0" * 45)),
            ("eth.rx_vlan", lambda: g.eth(0x8100, b"\0\x01\x08\x00" + b"\0" * 42)),
            ("eth.rx_other_host", lambda: g.eth(0x0800, b"\0" * 46, dst=g.rand_mac())),
            ("eth.rx_multicast", lambda: g.eth(0x0800, b"\0" * 46, dst=b"\x01\x00\x5e\x00\x00\x01")),
            ("eth.rx_bad_source", lambda: g.eth(0x0800, b"\0" * 46, src=g.rand_mac(True))),
            ("arp.rx_truncated", lambda: g.eth(0x0806, b"\0\x01\x08\x00\x06\x04")),
            ("arp.rx_bad_format", lambda: g.arp(htype=6)),
            ("arp.rx_bad_op", lambda: g.arp(op=9)),
            ("arp.rx_not_for_us", lambda: g.arp(tpa="203.0.113.77")),
            ("arp.rx_bad_sender", lambda: g.arp(sha=g.rand_mac(True))),
            ("ipv4.rx_bad_version", lambda: g.ipv4(1, g.icmp(8), ver=6)),
            ("ipv4.rx_bad_hlen", lambda: g.ipv4(1, g.icmp(8), ihl=3)),
            ("ipv4.rx_truncated", lambda: g.ipv4(1, g.icmp(8), tot=400)),
            ("ipv4.rx_bad_len", lambda: g.ipv4(1, g.icmp(8), tot=12)),
            ("ipv4.rx_bad_csum", lambda: g.ipv4(1, g.icmp(8), bad_csum=True)),
            ("ipv4.rx_bad_src", lambda: g.ipv4(1, g.icmp(8), src="127.0.0.1")),
            ("ipv4.rx_bad_src", lambda: g.ipv4(1, g.icmp(8), src="0.0.0.0")),
            ("ipv4.rx_not_for_us", lambda: g.ipv4(1, g.icmp(8), dst="198.51.100.7")),
            ("ipv4.rx_broadcast", lambda: g.ipv4(1, g.icmp(8), dst="255.255.255.255")),
            ("ipv4.rx_broadcast", lambda: g.ipv4(1, g.icmp(8), dst="203.0.113.255")),
            ("ipv4.rx_unknown_proto", lambda: g.ipv4(17, b"\0" * 16)),
            ("icmp.rx_truncated", lambda: g.ipv4(1, b"\x08\0\0\0")),
            ("icmp.rx_bad_csum", lambda: g.ipv4(1, g.icmp(8, bad=True))),
            ("icmp.rx_other_type", lambda: g.ipv4(1, g.icmp(13))),
            ("icmp.rx_other_type", lambda: g.ipv4(1, g.icmp(8, code=3))),
            ("random", lambda: g.random_frame()),
        ]


def main():
    iface, dst, gw, host, count, seed = sys.argv[1:7]
    count = int(count)
    rnd = random.Random(int(seed))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src = open("/sys/class/net/%s/address" % iface).read().strip()
    g = Gen(bytes.fromhex(dst.replace(":", "")), bytes.fromhex(src.replace(":", "")), gw, host, rnd)
    cats = g.categories()
    sent = {}
    for i in range(count):
        name, make = cats[i % len(cats)]
        s.send(make())
        sent[name] = sent.get(name, 0) + 1
        if i % 200 == 199:
            time.sleep(0.004)
    print(json.dumps(sent))


if __name__ == "__main__":
    main()
