#!/usr/bin/python3
"""tcp_rst.py — RST handling in every TCP state, driven with scapy.

Usage: tcp_rst.py IFACE GW_MAC GW_IP SCENARIO [options]
Run inside the peer namespace; IFACE is the peer end of the veth. Prints one
JSON object: {"scenario", "checks": [{"name", "ok", "detail"}], "counters":
{step: {counter: delta}}}; the calling script turns each check into
t_ok/t_fail. Exits 0 when every check passed, 1 otherwise, 2 on a usage or
setup error. Every wait is bounded (--timeout for one reply, default 3 s).

Scenarios
  closed-port  SYN, a data segment without ACK, an ACK and a RST to a closed
               port: RST+ACK with ack = seq + len, RST with seq = SEG.ACK,
               nothing for the RST.
  syn-recv     SYN -> SYN-ACK; RST with seq = ISN+1 -> connection gone, no
               SYN-ACK retransmitted.
  established  a kernel socket (--host-ip) to --port (an echo service); scapy
               forges segments on its 4-tuple: RST out of window -> dropped
               silently; RST in window but not exact -> challenge ACK, the
               connection survives; SYN (in window, then out of window) ->
               challenge ACK (RFC 5961 4), the in-window one counted; exact
               RST -> gone, the orphaned kernel socket is answered with RST.
  close-wait   scripted peer, our window 0: --fill N bytes (more than the
               gateway's tcp.snd_buffer, fewer than snd + rcv buffer) to the
               echo service --port and a FIN; echo cannot move all of it to its
               send side, never reads EOF -> CLOSE_WAIT; exact RST -> gone.
               Without --fill: FIN to --source-port, a service that must keep
               sending after the peer's FIN.
  last-ack     scripted peer to --port (echo, closes on EOF): FIN, the
               gateway's FIN left unacked -> LAST_ACK; exact RST -> gone.
  fin-wait-1   scripted peer to --port; --ctl ... clear connections makes the
               gateway close first; its FIN left unacked -> FIN_WAIT_1; RST.
  fin-wait-2   as fin-wait-1, FIN acked -> FIN_WAIT_2; RST -> gone.

The scripted peer uses an address the namespace's kernel does not own
(--src-ip, default 203.0.113.30) with a made-up MAC (--src-mac) and answers
the gateway's ARP requests for it itself: the gateway's replies reach the
kernel as frames for another host and are dropped there, so the kernel never
answers them with RSTs of its own (no iptables/nftables needed).

--ctl CMD is the console command (mailgwctl -s SOCK); it is run as
"CMD --json show connections" (a JSON list, each element with local, remote
and state), "CMD --json show stats" (a JSON object of counters) and, for the
fin-wait scenarios, "CMD clear connections --port P --count 1".
"""
import argparse
import json
import random
import shlex
import socket
import subprocess
import sys
import threading
import time

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, IP, TCP, AsyncSniffer, Ether, Raw, conf, get_if_hwaddr  # noqa: E402

M32 = 0xFFFFFFFF
F_FIN, F_SYN, F_RST, F_PSH, F_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def fail_setup(msg):
    print("tcp_rst: error: " + msg, file=sys.stderr, flush=True)
    sys.exit(2)


def state_name(s):
    s = str(s).upper().replace("-", "_")
    return {"SYN_RECV": "SYN_RECEIVED", "ESTAB": "ESTABLISHED"}.get(s, s)


def addr_port(x):
    """(ip, port) from "a.b.c.d:p", {"ip"/"addr"/"address", "port"} or [ip, port]."""
    if isinstance(x, str) and ":" in x:
        ip, _, port = x.rpartition(":")
        return ip, int(port)
    if isinstance(x, dict):
        ip = x.get("ip") or x.get("addr") or x.get("address")
        return ip, int(x.get("port"))
    if isinstance(x, (list, tuple)) and len(x) == 2:
        return str(x[0]), int(x[1])
    return None, None


class Ctl:
    def __init__(self, cmd, timeout):
        self.cmd = shlex.split(cmd) if cmd else None
        self.timeout = timeout

    def run(self, *args):
        r = subprocess.run(self.cmd + list(args), capture_output=True, text=True, timeout=self.timeout)
        if r.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (" ".join(self.cmd + list(args)), r.returncode,
                                                      r.stderr.strip()))
        return r.stdout

    def conns(self):
        return json.loads(self.run("--json", "show", "connections"))

    def stats(self):
        return json.loads(self.run("--json", "show", "stats"))


class Peer:
    """Sends frames on IFACE and logs every TCP segment to/from the gateway."""

    def __init__(self, a):
        self.a = a
        self.host_mac = get_if_hwaddr(a.iface)
        self.tx = conf.L2socket(iface=a.iface)
        self.log = []
        self.cv = threading.Condition()
        started = threading.Event()
        self.sn = AsyncSniffer(iface=a.iface, store=False, prn=self._rx,
                               filter="arp or (tcp and host %s)" % a.gw_ip,
                               started_callback=started.set)
        self.sn.start()
        if not started.wait(10):
            fail_setup("the sniffer did not start on " + a.iface)
        time.sleep(0.2)
        # Announce the scripted address: ask the gateway for its own MAC.
        self.tx.send(Ether(src=a.src_mac, dst="ff:ff:ff:ff:ff:ff") /
                     ARP(op=1, hwsrc=a.src_mac, psrc=a.src_ip, pdst=a.gw_ip))

    def close(self):
        try:
            self.sn.stop()
        except Exception:
            pass
        self.tx.close()

    def _rx(self, p):
        if ARP in p:
            r = p[ARP]
            if r.op == 1 and r.pdst == self.a.src_ip:
                self.tx.send(Ether(src=self.a.src_mac, dst=r.hwsrc) /
                             ARP(op=2, hwsrc=self.a.src_mac, psrc=self.a.src_ip,
                                 hwdst=r.hwsrc, pdst=r.psrc))
            return
        if IP in p and TCP in p:
            with self.cv:
                self.log.append((time.monotonic(), p))
                self.cv.notify_all()

    def mark(self):
        with self.cv:
            return len(self.log)

    def find(self, pred, since, timeout):
        """The first logged segment at index >= since matching pred, waiting up to timeout."""
        end = time.monotonic() + timeout
        i = since
        with self.cv:
            while True:
                while i < len(self.log):
                    p = self.log[i][1]
                    i += 1
                    if pred(p):
                        return p
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def all(self, pred, since):
        with self.cv:
            return [p for _, p in self.log[since:] if pred(p)]

    def send(self, src_ip, sport, dport, flags, seq, ack=0, data=b"", window=65535, options=None):
        mac = self.a.src_mac if src_ip == self.a.src_ip else self.host_mac
        t = TCP(sport=sport, dport=dport, flags=flags, seq=seq & M32, ack=ack & M32, window=window,
                options=options or [])
        p = Ether(src=mac, dst=self.a.gw_mac) / IP(src=src_ip, dst=self.a.gw_ip, ttl=64) / t
        if data:
            p = p / Raw(data)
        self.tx.send(p)


def seglen(p):
    t = p[TCP]
    n = len(bytes(t.payload)) if t.payload else 0
    return n + (1 if t.flags & F_SYN else 0) + (1 if t.flags & F_FIN else 0)


def payload_len(p):
    t = p[TCP]
    return len(bytes(t.payload)) if t.payload else 0


class Run:
    def __init__(self, a):
        self.a = a
        self.checks = []
        self.counters = {}
        self.ctl = Ctl(a.ctl, a.timeout + 7) if a.ctl else None
        self.peer = Peer(a)

    # ---- results
    def check(self, name, ok, detail=""):
        c = {"name": name, "ok": bool(ok)}
        if not ok and detail:
            c["detail"] = detail
        self.checks.append(c)
        return ok

    def stats(self):
        if not self.ctl:
            return None
        try:
            return self.ctl.stats()
        except Exception as e:          # noqa: BLE001
            self.check("show stats answers", False, str(e))
            return None

    def counter_check(self, step, before, names_min, names_zero=()):
        """Counter deltas since `before`: names_min {name: min rise}, names_zero must not rise."""
        if before is None:
            return
        after = self.stats()
        if after is None:
            return
        d = {k: after[k] - before.get(k, 0) for k in list(names_min) + list(names_zero) if k in after}
        self.counters[step] = d
        for n, lo in names_min.items():
            if n not in after:
                if self.a.require_counters:
                    self.check("%s: counter %s exists" % (step, n), False, "not in show stats")
                continue
            self.check("%s: %s rose by >= %d" % (step, n, lo), d[n] >= lo, "delta %d" % d[n])
        for n in names_zero:
            if n not in after:
                if self.a.require_counters:
                    self.check("%s: counter %s exists" % (step, n), False, "not in show stats")
                continue
            self.check("%s: %s unchanged" % (step, n), d[n] == 0, "delta %d" % d[n])

    # ---- the gateway's view of a connection
    def conn_state(self, ip, port, lport):
        if not self.ctl:
            return "unknown"
        try:
            for c in self.ctl.conns():
                rip, rport = addr_port(c.get("remote"))
                _, lp = addr_port(c.get("local"))
                if rip == ip and rport == port and lp == lport:
                    return state_name(c.get("state"))
        except Exception as e:          # noqa: BLE001
            return "error: %s" % e
        return None

    def expect_state(self, name, ip, port, lport, want, wait=1.0):
        end = time.monotonic() + wait
        while True:
            st = self.conn_state(ip, port, lport)
            if st == want or st == "unknown" or time.monotonic() >= end:
                break
            time.sleep(0.05)
        if st == "unknown":
            return True
        return self.check(name, st == want, "state %s" % st)

    # ---- segment predicates
    def from_gw(self, ip, port, lport):
        gw = self.a.gw_ip

        def pred(p):
            return (p[IP].src == gw and p[IP].dst == ip and p[TCP].sport == lport and
                    p[TCP].dport == port)
        return pred

    def from_me(self, ip, port, lport):
        gw = self.a.gw_ip

        def pred(p):
            return (p[IP].src == ip and p[IP].dst == gw and p[TCP].sport == port and
                    p[TCP].dport == lport)
        return pred

    def quiet_after(self, name, pred, since, secs=1.5):
        time.sleep(secs)
        segs = self.peer.all(pred, since)
        return self.check(name, not segs,
                          "%d segments, first flags %s" % (len(segs), segs[0][TCP].flags) if segs else "")

    # ---- a scripted handshake from the unowned address
    def handshake(self, lport, window=65535):
        a = self.a
        sport = random.randint(20000, 60999)
        isn = random.getrandbits(32)
        fg = self.from_gw(a.src_ip, sport, lport)
        m = self.peer.mark()
        self.peer.send(a.src_ip, sport, lport, "S", isn, window=window, options=[("MSS", 1460)])
        sa = self.peer.find(lambda p: fg(p) and p[TCP].flags & (F_SYN | F_ACK | F_RST) == F_SYN | F_ACK
                            and p[TCP].ack == (isn + 1) & M32, m, a.timeout)
        if not self.check("handshake to port %d: SYN-ACK with ack = ISN+1" % lport, sa is not None):
            return None
        c = {"sport": sport, "snd_nxt": (isn + 1) & M32, "rcv_nxt": (sa[TCP].seq + 1) & M32,
             "lport": lport, "fg": fg, "mark": self.peer.mark(),
             "right": (sa[TCP].ack + sa[TCP].window) & M32}
        self.peer.send(a.src_ip, sport, lport, "A", c["snd_nxt"], c["rcv_nxt"], window=window)
        return c

    def rst_and_gone(self, step, c, seq, ip=None):
        """Send RST(seq) on c's tuple; the connection must vanish and stay quiet."""
        a = self.a
        ip = ip or a.src_ip
        before = self.stats()
        self.peer.send(ip, c["sport"], c["lport"], "R", seq, window=0)
        time.sleep(0.05)                # a segment already in flight does not count
        m = self.peer.mark()
        t0 = time.monotonic()
        self.expect_state("%s: connection gone after the exact RST" % step, ip, c["sport"], c["lport"],
                          None, wait=1.0)
        fg = self.from_gw(ip, c["sport"], c["lport"])
        self.quiet_after("%s: nothing sent on the tuple after the RST (no retransmission, no RST)" % step,
                         fg, m, max(0.0, 1.5 - (time.monotonic() - t0)))
        self.counter_check(step + " RST", before, {"tcp.rx_resets": 1})

    # ---- scenarios
    def closed_port(self):
        a = self.a
        p = a.closed_port
        before = self.stats()
        for what, flags, data, expect in (
                ("SYN", "S", b"", "rst-ack"),
                ("data without ACK", "P", b"0123456789", "rst-ack"),
                ("ACK", "A", b"", "rst-seq")):
            sport = random.randint(20000, 60999)
            seq = random.getrandbits(32)
            ackv = random.getrandbits(32)
            fg = self.from_gw(a.src_ip, sport, p)
            m = self.peer.mark()
            self.peer.send(a.src_ip, sport, p, flags, seq, ackv if "A" in flags else 0, data)
            r = self.peer.find(fg, m, a.timeout)
            name = "closed port %d, %s" % (p, what)
            if not self.check(name + ": answered", r is not None, "no reply in %g s" % a.timeout):
                continue
            t = r[TCP]
            ln = len(data) + (1 if "S" in flags else 0)
            if expect == "rst-ack":
                self.check(name + ": RST+ACK, seq 0, ack = seq + len",
                           t.flags & (F_RST | F_ACK | F_SYN) == F_RST | F_ACK and t.seq == 0 and
                           t.ack == (seq + ln) & M32,
                           "flags %s seq %d ack %d, want ack %d" % (t.flags, t.seq, t.ack, (seq + ln) & M32))
            else:
                self.check(name + ": RST, seq = SEG.ACK, no ACK bit",
                           t.flags & (F_RST | F_ACK | F_SYN) == F_RST and t.seq == ackv,
                           "flags %s seq %d, want seq %d" % (t.flags, t.seq, ackv))
        sport = random.randint(20000, 60999)
        m = self.peer.mark()
        self.peer.send(a.src_ip, sport, p, "R", random.getrandbits(32))
        self.quiet_after("closed port %d, RST: not answered" % p, self.from_gw(a.src_ip, sport, p), m, 1.0)
        self.counter_check("closed port", before, {"tcp.tx_resets": 3})

    def syn_recv(self):
        a = self.a
        sport = random.randint(20000, 60999)
        isn = random.getrandbits(32)
        fg = self.from_gw(a.src_ip, sport, a.port)
        m = self.peer.mark()
        self.peer.send(a.src_ip, sport, a.port, "S", isn, options=[("MSS", 1460)])
        sa = self.peer.find(lambda p: fg(p) and p[TCP].flags & (F_SYN | F_ACK) == F_SYN | F_ACK, m, a.timeout)
        if not self.check("SYN_RECEIVED: SYN-ACK received", sa is not None):
            return
        self.check("SYN_RECEIVED: SYN-ACK acks ISN+1", sa[TCP].ack == (isn + 1) & M32,
                   "ack %d" % sa[TCP].ack)
        self.expect_state("SYN_RECEIVED: listed as SYN_RECEIVED", a.src_ip, sport, a.port, "SYN_RECEIVED", 0.5)
        self.rst_and_gone("SYN_RECEIVED", {"sport": sport, "lport": a.port}, isn + 1)

    def established(self):
        a = self.a
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        s.bind((a.host_ip, 0))
        sport = s.getsockname()[1]
        lport = a.port
        m0 = self.peer.mark()
        try:
            s.connect((a.gw_ip, lport))
        except OSError as e:
            self.check("ESTABLISHED: kernel socket connects to port %d" % lport, False, str(e))
            return
        fg = self.from_gw(a.host_ip, sport, lport)
        sa = self.peer.find(lambda p: fg(p) and p[TCP].flags & F_SYN, m0, 1.0)
        wscale = 0
        if sa is not None:
            for o in sa[TCP].options:
                if o[0] == "WScale":
                    wscale = o[1]
        n = [0]

        def echo_ok(name):
            n[0] += 1
            msg = b"ping-%d" % n[0]
            try:
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    d = s.recv(len(msg) - len(got))
                    if not d:
                        break
                    got += d
            except OSError as e:
                return self.check(name, False, str(e))
            return self.check(name, got == msg, "got %r" % got)

        def seqs():
            """(gateway RCV.NXT, gateway SND.NXT, gateway window) from its last segment."""
            time.sleep(0.3)
            last = self.peer.all(fg, m0)[-1]
            t = last[TCP]
            return t.ack, (t.seq + seglen(last)) & M32, t.window << wscale

        echo_ok("ESTABLISHED: kernel socket echoes through the gateway")
        self.expect_state("ESTABLISHED: listed as ESTABLISHED", a.host_ip, sport, lport, "ESTABLISHED", 0.5)
        cak = "tcp.challenge_acks"

        def challenge(step, flags, seq, count=True):
            time.sleep(0.6)                 # Linux rate-limits challenge ACKs per socket (500 ms)
            rcv_nxt, snd_nxt, wnd = seqs()
            before = self.stats()
            m = self.peer.mark()
            self.peer.send(a.host_ip, sport, lport, flags, seq(rcv_nxt, wnd), window=0)
            r = self.peer.find(fg, m, a.timeout)
            ok = (r is not None and r[TCP].flags & (F_SYN | F_RST | F_FIN | F_ACK) == F_ACK and
                  r[TCP].ack == rcv_nxt and r[TCP].seq == snd_nxt and payload_len(r) == 0)
            self.check("%s: challenge ACK (seq = SND.NXT, ack = RCV.NXT)" % step, ok,
                       "no reply" if r is None else "flags %s seq %d ack %d, want seq %d ack %d" %
                       (r[TCP].flags, r[TCP].seq, r[TCP].ack, snd_nxt, rcv_nxt))
            if count:
                self.counter_check(step, before, {cak: 1})
            self.expect_state("%s: connection still ESTABLISHED" % step, a.host_ip, sport, lport,
                              "ESTABLISHED", 0.2)
            echo_ok("%s: connection still carries data" % step)

        # Out of window: dropped without an answer.
        time.sleep(0.6)
        rcv_nxt, snd_nxt, wnd = seqs()
        before = self.stats()
        m = self.peer.mark()
        self.peer.send(a.host_ip, sport, lport, "R", rcv_nxt + 0x40000000, window=0)
        self.quiet_after("RST out of window: no answer", fg, m, 1.0)
        self.counter_check("RST out of window", before, {}, (cak, "tcp.rx_resets"))
        self.expect_state("RST out of window: connection still ESTABLISHED", a.host_ip, sport, lport,
                          "ESTABLISHED", 0.2)
        echo_ok("RST out of window: connection still carries data")

        # In window, not exact: challenge ACK (RFC 5961 3.2).
        challenge("RST in window, not exact", "R", lambda r, w: r + max(1, min(1000, w // 2)))
        # A SYN on an established connection, in window or not: challenge ACK
        # (RFC 5961 4.2). Only the in-window one must count as tcp.challenge_acks:
        # a stack may answer an out-of-window segment with its plain ACK first.
        challenge("SYN in window in ESTABLISHED", "S", lambda r, w: r + max(1, min(1000, w // 2)))
        challenge("SYN out of window in ESTABLISHED", "S", lambda r, w: r + 0x40000000, count=False)

        # Exact: the connection goes.
        time.sleep(0.3)
        rcv_nxt, snd_nxt, wnd = seqs()
        self.rst_and_gone("ESTABLISHED", {"sport": sport, "lport": lport}, rcv_nxt, ip=a.host_ip)
        # The kernel socket does not know; the gateway must answer it with a RST.
        try:
            s.sendall(b"orphan")
            d = s.recv(10)
            self.check("ESTABLISHED: orphaned kernel socket is reset by the gateway", False,
                       "recv returned %r" % d)
        except ConnectionResetError:
            self.check("ESTABLISHED: orphaned kernel socket is reset by the gateway", True)
        except OSError as e:
            self.check("ESTABLISHED: orphaned kernel socket is reset by the gateway", False, str(e))
        s.close()

    def fill_and_fin(self, c, total):
        """Send `total` bytes within the gateway's window (ours stays 0), then
        a FIN; True once the gateway acknowledges the FIN."""
        a = self.a
        fg = c["fg"]
        base = c["snd_nxt"]
        end = time.monotonic() + a.timeout + total / 1000.0 * 0.01
        off = 0

        def room():
            right = c["right"]
            for p in self.peer.all(lambda p: fg(p) and p[TCP].flags & F_ACK, c["mark"]):
                r = (p[TCP].ack + p[TCP].window) & M32
                if 0 < ((r - right) & M32) < 0x80000000:
                    right = r
            c["right"] = right
            d = (right - (base + off)) & M32
            return d if d < 0x80000000 else 0

        while off < total and time.monotonic() < end:
            n = min(1000, room(), total - off)
            if n <= 0:
                time.sleep(0.02)
                continue
            self.peer.send(a.src_ip, c["sport"], c["lport"], "PA", base + off, c["rcv_nxt"],
                           bytes((base + off + i) % 251 for i in range(n)), window=0)
            off += n
        if off < total:
            self.check("CLOSE_WAIT: %d bytes sent within the gateway's window" % total, False,
                       "only %d: its window stayed closed" % off)
            return False
        fin_seq = (base + total) & M32
        while time.monotonic() < end:
            if room() > 0:
                m = self.peer.mark()
                self.peer.send(a.src_ip, c["sport"], c["lport"], "FA", fin_seq, c["rcv_nxt"], window=0)
                if self.peer.find(lambda p: fg(p) and p[TCP].flags & F_ACK and
                                  p[TCP].ack == (fin_seq + 1) & M32, m, 0.5) is not None:
                    c["snd_nxt"] = fin_seq
                    return True
            else:
                time.sleep(0.02)
        acks = [p[TCP].ack for p in self.peer.all(fg, c["mark"])]
        self.check("CLOSE_WAIT: our FIN after %d bytes acknowledged" % total, False,
                   "last ack from the gateway %s, FIN at %d" % (acks[-1] if acks else None, fin_seq))
        return False

    def close_wait(self):
        """--fill N: N bytes to the echo service (more than its send buffer holds,
        our window 0) and a FIN: the service cannot take in everything, never
        reads EOF, the connection stays in CLOSE_WAIT. Without --fill: a FIN to
        the source service, which must keep sending after it."""
        a = self.a
        if a.fill:
            c = self.handshake(a.port, window=0)
            if not c or not self.fill_and_fin(c, a.fill):
                return
            self.check("CLOSE_WAIT: our FIN acknowledged", True)
        else:
            c = self.handshake(a.source_port, window=8192)
            if not c:
                return
            fg = c["fg"]
            m = self.peer.mark()
            self.peer.find(lambda p: fg(p) and payload_len(p) > 0, m, a.timeout)    # data flows
            m = self.peer.mark()
            self.peer.send(a.src_ip, c["sport"], c["lport"], "FA", c["snd_nxt"], c["rcv_nxt"], window=8192)
            fin_acked = self.peer.find(lambda p: fg(p) and p[TCP].flags & F_ACK and
                                       p[TCP].ack == (c["snd_nxt"] + 1) & M32, m, a.timeout)
            self.check("CLOSE_WAIT: our FIN acknowledged", fin_acked is not None)
        time.sleep(0.3)
        self.expect_state("CLOSE_WAIT: listed as CLOSE_WAIT", a.src_ip, c["sport"], c["lport"], "CLOSE_WAIT", 0.5)
        self.rst_and_gone("CLOSE_WAIT", c, c["snd_nxt"] + 1)

    def last_ack(self):
        a = self.a
        c = self.handshake(a.port)
        if not c:
            return
        fg = c["fg"]
        m = self.peer.mark()
        self.peer.send(a.src_ip, c["sport"], c["lport"], "FA", c["snd_nxt"], c["rcv_nxt"])
        fin = self.peer.find(lambda p: fg(p) and p[TCP].flags & F_FIN, m, a.timeout)
        if not self.check("LAST_ACK: the gateway closes after our FIN (its FIN arrives)", fin is not None):
            return
        self.check("LAST_ACK: its FIN acks ours", fin[TCP].ack == (c["snd_nxt"] + 1) & M32,
                   "ack %d" % fin[TCP].ack)
        self.expect_state("LAST_ACK: listed as LAST_ACK", a.src_ip, c["sport"], c["lport"], "LAST_ACK", 0.5)
        self.rst_and_gone("LAST_ACK", c, c["snd_nxt"] + 1)

    def fin_wait(self, two):
        a = self.a
        label = "FIN_WAIT_2" if two else "FIN_WAIT_1"
        c = self.handshake(a.port)
        if not c:
            return
        fg = c["fg"]
        m = c["mark"]                   # a server that closes by itself may have sent its FIN already
        time.sleep(0.2)
        if self.ctl:
            try:
                self.ctl.run("clear", "connections", "--port", str(c["lport"]), "--count", "1")
            except Exception as e:      # noqa: BLE001
                self.check("%s: clear connections --port %d --count 1" % (label, c["lport"]), False, str(e))
                return
        fin = self.peer.find(lambda p: fg(p) and p[TCP].flags & F_FIN, m, a.timeout)
        if not self.check("%s: the gateway closes first (its FIN arrives)" % label, fin is not None):
            return
        if two:
            self.peer.send(a.src_ip, c["sport"], c["lport"], "A", c["snd_nxt"], fin[TCP].seq + seglen(fin))
        self.expect_state("%s: listed as %s" % (label, label), a.src_ip, c["sport"], c["lport"], label, 1.0)
        self.rst_and_gone(label, c, c["snd_nxt"])


SCENARIOS = ("closed-port", "syn-recv", "established", "close-wait", "last-ack", "fin-wait-1", "fin-wait-2")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("iface")
    ap.add_argument("gw_mac")
    ap.add_argument("gw_ip")
    ap.add_argument("scenario", choices=SCENARIOS)
    ap.add_argument("--ctl", help="console command, e.g. 'build/mailgwctl -s SOCK'")
    ap.add_argument("--require-counters", action="store_true",
                    help="a counter missing from show stats is a failed check")
    ap.add_argument("--src-ip", default="203.0.113.30", help="unowned address for the scripted peer")
    ap.add_argument("--src-mac", default="02:00:00:00:00:1e")
    ap.add_argument("--host-ip", default="203.0.113.10", help="the namespace's own address")
    ap.add_argument("--port", type=int, default=7, help="echo service")
    ap.add_argument("--source-port", type=int, default=19, help="source service")
    ap.add_argument("--closed-port", type=int, default=4444)
    ap.add_argument("--fill", type=int, default=0,
                    help="close-wait: bytes to send to --port (more than the service's send buffer)")
    ap.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for one reply")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    random.seed(a.seed)
    conf.verb = 0
    run = Run(a)
    try:
        {"closed-port": run.closed_port, "syn-recv": run.syn_recv, "established": run.established,
         "close-wait": run.close_wait, "last-ack": run.last_ack,
         "fin-wait-1": lambda: run.fin_wait(False), "fin-wait-2": lambda: run.fin_wait(True)}[a.scenario]()
    finally:
        run.peer.close()
    print(json.dumps({"scenario": a.scenario, "checks": run.checks, "counters": run.counters}), flush=True)
    sys.exit(0 if run.checks and all(c["ok"] for c in run.checks) else 1)


if __name__ == "__main__":
    main()
