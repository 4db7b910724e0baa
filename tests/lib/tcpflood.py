#!/usr/bin/python3
"""tcpflood.py — hostile TCP peers that try to drain mailgw's packet pool.

Usage:
  tcpflood.py ooo IFACE GW_MAC GW_IP [--port 25] [--flows 2] [--segments 4200]
              [--src-ip 203.0.113.30] [--src-mac 02:00:00:00:00:30] --hold-file F
      The out-of-order flood of issue 12 item 2: FLOWS connections, each
      completes its handshake (scapy-built SYN with MSS, SACK-permitted and
      window scale), ACKs the greeting, then sends SEGMENTS 1-byte segments
      at every other sequence number (stream offsets 1, 3, 5, ...) inside
      the window the gateway advertised: the hole at offset 0 never closes.
      Prints one JSON line when the flood is out ({"phase": "flooded", ...}),
      waits until F exists, resets every flow, prints the final JSON line
      ({"phase": "done", "flows", "sent", "acks", "last_ack_ok", ...}) and
      exits 0; 2 on a set-up error (no SYN-ACK).
      The flows use SRC_IP, an address the namespace's kernel does not own,
      with a made-up MAC; this program answers the gateway's ARP requests for
      it, so the kernel never resets the gateway's segments (as tcp_rst.py).
  tcpflood.py hoard GW_IP [--port 25] --src-ip A [--conns N] [--bytes B]
              --rcpt ADDR --hold-file F
      Receive-queue hoarding with kernel sockets from A (an address of the
      namespace): N SMTP sessions, each sends EHLO, MAIL, RCPT TO:<ADDR>
      (a recipient whose next hop never answers), DATA and B bytes of body
      pipelined, without reading anything after the greeting: the gateway
      cannot pass the data on, so it sits in its receive queues. Prints
      {"phase": "hoarding", "opened", "queued"} once every connection has
      stalled (or after 20 s), waits for F, closes every connection with a
      reset and prints {"phase": "done", ...}.
  tcpflood.py stall-hop ADDR PORT
      An SMTP next hop that takes a message up to its 354 and then never
      reads again (a 4 KB receive buffer): what the gateway relays to it
      piles up in the gateway's send queue, then in its receive queues.
      Prints "ready" once listening; runs until killed.
Every wait is bounded (--timeout, default 60 s).
"""
import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, IP, TCP, Ether, Raw  # noqa: E402

M32 = 0xFFFFFFFF
F_FIN, F_SYN, F_RST, F_PSH, F_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ETH_P_ALL = 0x0003


def out(obj):
    print(json.dumps(obj), flush=True)


def die(msg):
    print("tcpflood: error: " + msg, file=sys.stderr, flush=True)
    sys.exit(2)


def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))


def wait_file(path, timeout):
    end = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.05)


class Wire:
    """A raw socket on IFACE: sends frames, and a thread that answers ARP for
    src_ip and records what the gateway sends to it (per local port: the
    last segment's ack, window and flags, and a count)."""

    def __init__(self, a):
        self.a = a
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.bind((a.iface, 0))
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.gw_ip = socket.inet_aton(a.gw_ip)
        self.src_ip = socket.inet_aton(a.src_ip)
        self.src_mac = mac_bytes(a.src_mac)
        self.lock = threading.Condition()
        self.seen = {}          # our port -> dict(n, ack, wnd, flags, seq, len)
        self.stop = False
        self.t = threading.Thread(target=self._rx, daemon=True)
        self.t.start()
        # Announce the address: ask for the gateway's MAC.
        self.send(bytes(Ether(src=a.src_mac, dst="ff:ff:ff:ff:ff:ff") /
                        ARP(op=1, hwsrc=a.src_mac, psrc=a.src_ip, pdst=a.gw_ip)))

    def send(self, frame):
        for _ in range(200):
            try:
                return self.s.send(frame)
            except BlockingIOError:
                time.sleep(0.001)
            except OSError as e:
                if e.errno != 105:      # ENOBUFS: the veth queue is full, try again
                    raise
                time.sleep(0.001)
        return 0

    def _arp(self, f):
        op = struct.unpack("!H", f[20:22])[0]
        if op != 1 or f[38:42] != self.src_ip:
            return
        sha, spa = f[22:28], f[28:32]
        rep = (sha + self.src_mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) +
               self.src_mac + self.src_ip + sha + spa)
        self.send(rep)

    def _rx(self):
        self.s.settimeout(0.2)
        while not self.stop:
            try:
                f = self.s.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(f) < 14:
                continue
            et = struct.unpack("!H", f[12:14])[0]
            if et == 0x0806 and len(f) >= 42:
                self._arp(f)
                continue
            if et != 0x0800 or len(f) < 34 + 20 or f[23] != 6:
                continue
            if f[26:30] != self.gw_ip or f[30:34] != self.src_ip:
                continue
            ihl = (f[14] & 15) * 4
            t = 14 + ihl
            tot = struct.unpack("!H", f[16:18])[0]
            sport, dport, seq, ack, off, flags, wnd = struct.unpack("!HHIIBBH", f[t:t + 16])
            plen = tot - ihl - (off >> 4) * 4
            with self.lock:
                d = self.seen.setdefault(dport, {"n": 0, "data": 0})
                d["n"] += 1
                d.update(ack=ack, wnd=wnd, flags=flags, seq=seq, len=plen)
                if plen > 0:
                    d["data_end"] = (seq + plen) & M32
                if flags & F_SYN:
                    d["synack"] = (seq, wnd)
                self.lock.notify_all()

    def wait(self, port, pred, timeout):
        end = time.monotonic() + timeout
        with self.lock:
            while True:
                d = self.seen.get(port)
                if d is not None and pred(d):
                    return dict(d)
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)

    def count(self, port):
        with self.lock:
            return self.seen.get(port, {}).get("n", 0)


def seg(a, sport, flags, seq, ack, data=b"", window=65535, options=None):
    t = TCP(sport=sport, dport=a.port, flags=flags, seq=seq & M32, ack=ack & M32, window=window,
            options=options or [])
    p = Ether(src=a.src_mac, dst=a.gw_mac) / IP(src=a.src_ip, dst=a.gw_ip, ttl=64) / t
    if data:
        p = p / Raw(data)
    return bytes(p)


class Flow:
    def __init__(self, a, wire, sport):
        self.a, self.w, self.sport = a, wire, sport
        self.iss = random.randrange(1 << 32)
        self.rcv_nxt = 0
        self.wscale = 0

    def open(self):
        opts = [("MSS", 1460), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None), ("WScale", 7)]
        self.w.send(seg(self.a, self.sport, "S", self.iss, 0, options=opts))
        d = self.w.wait(self.sport, lambda d: "synack" in d, self.a.timeout)
        if d is None:
            return False
        gw_iss, _ = d["synack"]
        self.rcv_nxt = (gw_iss + 1) & M32
        self.w.send(seg(self.a, self.sport, "A", self.iss + 1, self.rcv_nxt))
        # The greeting: ACK it so that the gateway does not retransmit it.
        g = self.w.wait(self.sport, lambda d: d.get("data_end") is not None, self.a.timeout)
        if g is not None:
            self.rcv_nxt = g["data_end"]
            self.w.send(seg(self.a, self.sport, "A", self.iss + 1, self.rcv_nxt))
        return True

    def flood_frames(self, n):
        return [seg(self.a, self.sport, "A", self.iss + 1 + 1 + 2 * i, self.rcv_nxt,
                    data=bytes([0x41 + i % 26])) for i in range(n)]

    def reset(self):
        self.w.send(seg(self.a, self.sport, "R", self.iss + 1, 0))


def run_ooo(a):
    wire = Wire(a)
    time.sleep(0.3)
    flows = [Flow(a, wire, 41000 + random.randrange(20000) + i) for i in range(a.flows)]
    for f in flows:
        if not f.open():
            die("no SYN-ACK from %s:%d for port %d" % (a.gw_ip, a.port, f.sport))
    frames = [f.flood_frames(a.segments) for f in flows]
    t0 = time.monotonic()
    sent = 0
    for i in range(0, a.segments, a.burst):
        for k, f in enumerate(flows):
            for fr in frames[k][i:i + a.burst]:
                sent += 1 if wire.send(fr) else 0
        time.sleep(a.pause)
    time.sleep(1.0)
    secs = time.monotonic() - t0
    res = {"phase": "flooded", "flows": len(flows), "segments_per_flow": a.segments, "sent": sent,
           "seconds": round(secs, 2), "acks": [wire.count(f.sport) for f in flows]}
    out(res)
    wait_file(a.hold_file, a.timeout * 10)
    # Still answered after the flood: a last segment inside the window gets an ACK for offset 0.
    ok = []
    for f in flows:
        n0 = wire.count(f.sport)
        wire.send(seg(a, f.sport, "A", f.iss + 1 + 1 + 2 * a.segments + 10, f.rcv_nxt, data=b"Z"))
        d = wire.wait(f.sport, lambda d, n0=n0: d["n"] > n0, 5)
        ok.append(d is not None and d["ack"] == (f.iss + 1) & M32)
    for f in flows:
        f.reset()
    time.sleep(0.5)
    wire.stop = True
    out({"phase": "done", "flows": len(flows), "sent": sent,
         "acks": [wire.count(f.sport) for f in flows], "last_ack_ok": ok})
    return 0


def run_hoard(a):
    body = (b"x" * 76 + b"\r\n") * (a.bytes // 78 + 1)
    cmds = (b"EHLO hoarder.test\r\nMAIL FROM:<h@hoarder.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" %
            a.rcpt.encode())
    conns = []
    for _ in range(a.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))   # close = RST
        s.bind((a.src_ip, 0))
        s.settimeout(a.timeout)
        try:
            s.connect((a.gw_ip, a.port))
            g = s.recv(512)
        except OSError as e:
            out({"phase": "error", "opened": len(conns), "error": str(e)})
            s.close()
            break
        if not g.startswith(b"220"):
            s.close()
            break
        s.setblocking(False)
        conns.append([s, cmds + body, 0])
    end = time.monotonic() + 20
    while time.monotonic() < end:
        progress = False
        for c in conns:
            if c[2] >= len(c[1]):
                continue
            try:
                n = c[0].send(c[1][c[2]:c[2] + 65536])
                c[2] += n
                progress = progress or n > 0
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                c[2] = len(c[1])
        if not progress:
            time.sleep(0.2)
            # stalled twice in a row: every send buffer is full
            if all(c[2] >= len(c[1]) or not select.select([], [c[0]], [], 0)[1] for c in conns):
                break
    out({"phase": "hoarding", "opened": len(conns), "queued": sum(c[2] for c in conns)})
    wait_file(a.hold_file, a.timeout * 10)
    for c in conns:
        c[0].close()
    out({"phase": "done", "opened": len(conns)})
    return 0


def stall_conn(c):
    f = c.makefile("rb")
    c.sendall(b"220 stall.test ESMTP\r\n")
    while True:
        line = f.readline()
        if not line:
            return
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            c.sendall(b"250-stall.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            c.sendall(b"354 go ahead\r\n")
            while True:             # never read again
                time.sleep(3600)
        elif verb == b"QUIT":
            c.sendall(b"221 bye\r\n")
            return
        else:
            c.sendall(b"250 ok\r\n")


def run_stall_hop(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # inherited: a small window
    ls.bind((a.addr, a.port))
    ls.listen(512)
    print("ready", flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=stall_conn, args=(c,), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description="hostile TCP peers against mailgw's packet pool")
    sub = p.add_subparsers(dest="mode", required=True)
    o = sub.add_parser("ooo")
    o.add_argument("iface")
    o.add_argument("gw_mac")
    o.add_argument("gw_ip")
    o.add_argument("--flows", type=int, default=2)
    o.add_argument("--segments", type=int, default=4200)
    o.add_argument("--src-ip", default="203.0.113.30")
    o.add_argument("--src-mac", default="02:00:00:00:00:30")
    o.add_argument("--burst", type=int, default=100)
    o.add_argument("--pause", type=float, default=0.005)
    h = sub.add_parser("hoard")
    h.add_argument("gw_ip")
    h.add_argument("--src-ip", required=True)
    h.add_argument("--conns", type=int, default=40)
    h.add_argument("--bytes", type=int, default=400000)
    h.add_argument("--rcpt", required=True)
    for x in (o, h):
        x.add_argument("--port", type=int, default=25)
        x.add_argument("--hold-file", required=True)
        x.add_argument("--timeout", type=float, default=60)
    st = sub.add_parser("stall-hop")
    st.add_argument("addr")
    st.add_argument("port", type=int)
    a = p.parse_args()
    if a.mode == "stall-hop":
        return run_stall_hop(a)
    return run_ooo(a) if a.mode == "ooo" else run_hoard(a)


if __name__ == "__main__":
    sys.exit(main())
