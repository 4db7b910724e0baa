#!/usr/bin/python3
"""tcppeer.py — kernel-socket TCP peers for mailgw's TCP integration tests.

Clients for the gateway's built-in services and a kernel server for its
active opens. Standard library only. Every subcommand prints one JSON line of
results on stdout (hold prints "ready N" before it) and exits non-zero, with
a message on stderr, on any failure. Every loop is bounded by a count and by
--timeout (seconds, default 120).

  echo HOST PORT --conns N --bytes B [--chunk C] [--rounds R]
      N parallel connections (R rounds of them, one after the other), each
      sends B bytes of the pattern, shutdown(WR), reads until EOF; passes
      when exactly B bytes came back with the pattern's SHA-256.
      {"conns", "ok", "failed", "bytes", "seconds", ...}
  sink HOST PORT --expect-bytes B
      reads the "source" service until EOF: length B, the pattern's SHA-256.
  blast HOST PORT --bytes B
      sends B bytes of the pattern to "discard", shutdown(WR), waits for EOF.
  hold HOST PORT --conns N --hold-file F [--batch K]
      opens N connections (K at a time, no retries, all must succeed),
      prints "ready N", waits until F exists, then counts the connections
      the peer has closed (EOF) and closes the others itself with
      shutdown(WR) + wait for the peer's FIN. A reset or a missing FIN is an
      error. {"opened", "closed_by_peer", "closed_by_us", "errors"}
  serve-echo | serve-discard | serve-source PORT [--bind A] [--max-conns N]
      a kernel server (selectors, one thread); prints "listening" when ready;
      runs until SIGTERM/SIGINT, or until N connections were accepted and
      have ended; then prints {"accepted", "bytes", ...}. serve-source
      sends --bytes of the pattern per connection and ignores the peer's
      FIN (like mailgw's source service). serve-discard and serve-source are
      for proving the clients against a kernel peer.

The pattern: byte i of every stream is (i mod 251); 251 is prime, so a
segment placed at the wrong offset changes the bytes and the digest.
"""
import argparse
import errno
import hashlib
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time

PERIOD = 251
DEFAULT_CHUNK = 262144


class Pattern:
    """Slices of the infinite stream (i mod 251), up to `chunk` bytes each."""

    def __init__(self, chunk):
        self.chunk = chunk
        self.block = bytes(range(PERIOD)) * (chunk // PERIOD + 2)
        self.mv = memoryview(self.block)

    def view(self, offset, n):
        o = offset % PERIOD
        return self.mv[o:o + min(n, self.chunk)]

    def digest(self, total):
        h = hashlib.sha256()
        off = 0
        while off < total:
            v = self.view(off, total - off)
            h.update(v)
            off += len(v)
        return h.hexdigest()


class Checker:
    """Hashes a received stream and finds the first byte that differs."""

    def __init__(self, pattern):
        self.p = pattern
        self.h = hashlib.sha256()
        self.n = 0
        self.first_bad = None

    def add(self, data):        # data: bytes-like, len <= pattern.chunk
        self.h.update(data)
        exp = self.p.view(self.n, len(data))
        if self.first_bad is None and bytearray(data) != exp:   # bytearray == view: memcmp
            for i in range(len(data)):
                if data[i] != exp[i]:
                    self.first_bad = self.n + i
                    break
        self.n += len(data)


def die(msg, result=None):
    if result is not None:
        print(json.dumps(result), flush=True)
    print("tcppeer: error: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def raise_nofile(n, best_effort=False):
    """Raise the soft descriptor limit to n + 64 (up to the hard limit when best_effort)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft >= want:
        return
    if hard != resource.RLIM_INFINITY and hard < want:
        if not best_effort:
            die("RLIMIT_NOFILE hard limit %d is below the %d descriptors needed" % (hard, want))
        want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def start_connect(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    rc = s.connect_ex((host, port))
    if rc not in (0, errno.EINPROGRESS):
        s.close()
        raise OSError(rc, "connect: " + os.strerror(rc))
    return s


def connect_blocking(host, port, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timeout before connect")
    s = socket.create_connection((host, port), timeout=left)
    return s


def recv_until_eof(s, deadline, buf, on_data):
    mv = memoryview(buf)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timeout waiting for data/EOF")
        s.settimeout(left)
        n = s.recv_into(buf)
        if n == 0:
            return
        on_data(mv[:n])


# ---- echo ----------------------------------------------------------------

class EchoConn:
    __slots__ = ("idx", "sock", "connected", "sent", "shut", "chk", "done", "err")

    def __init__(self, idx, sock, pattern):
        self.idx, self.sock = idx, sock
        self.connected = False
        self.sent = 0
        self.shut = False
        self.chk = Checker(pattern)
        self.done = False
        self.err = None


def echo_round(args, pattern, expect, deadline, errors):
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(args.conns):
        try:
            s = start_connect(args.host, args.port)
        except OSError as e:
            c = EchoConn(i, None, pattern)
            c.done, c.err = True, "connect: %s" % e
            conns.append(c)
            continue
        c = EchoConn(i, s, pattern)
        conns.append(c)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    buf = bytearray(pattern.chunk)
    mv = memoryview(buf)
    active = sum(1 for c in conns if not c.done)

    def finish(c, err):
        nonlocal active
        c.done, c.err = True, err
        sel.unregister(c.sock)
        c.sock.close()
        active -= 1

    while active:
        left = deadline - time.monotonic()
        if left <= 0:
            for c in conns:
                if not c.done:
                    finish(c, "timeout: sent %d, received %d of %d" % (c.sent, c.chk.n, args.bytes))
            break
        for key, ev in sel.select(min(left, 1.0)):
            c = key.data
            if c.done:
                continue
            try:
                if not c.connected:
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        finish(c, "connect: " + os.strerror(err))
                        continue
                    c.connected = True
                if ev & selectors.EVENT_WRITE and not c.shut:
                    while c.sent < args.bytes:
                        try:
                            n = c.sock.send(pattern.view(c.sent, args.bytes - c.sent))
                        except BlockingIOError:
                            break
                        c.sent += n
                    if c.sent >= args.bytes:
                        c.sock.shutdown(socket.SHUT_WR)
                        c.shut = True
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if ev & selectors.EVENT_READ:
                    for _ in range(64):
                        try:
                            n = c.sock.recv_into(buf)
                        except BlockingIOError:
                            break
                        if n == 0:
                            if c.chk.n != args.bytes:
                                finish(c, "EOF after %d of %d bytes (sent %d)" % (c.chk.n, args.bytes, c.sent))
                            elif c.chk.h.hexdigest() != expect:
                                finish(c, "SHA-256 mismatch, first wrong byte at offset %s" % c.chk.first_bad)
                            else:
                                finish(c, None)
                            break
                        if c.chk.n + n > args.bytes:
                            finish(c, "received more than %d bytes" % args.bytes)
                            break
                        c.chk.add(mv[:n])
            except OSError as e:
                finish(c, "%s (sent %d, received %d)" % (e, c.sent, c.chk.n))
    sel.close()
    ok = 0
    for c in conns:
        if c.err is None:
            ok += 1
        else:
            errors.append("conn %d: %s" % (c.idx, c.err))
    return ok, sum(c.chk.n for c in conns), sum(c.sent for c in conns)


def cmd_echo(args):
    if args.conns < 1 or args.bytes < 0 or args.rounds < 1:
        die("--conns and --rounds must be >= 1, --bytes >= 0")
    raise_nofile(args.conns)
    pattern = Pattern(args.chunk)
    expect = pattern.digest(args.bytes)
    deadline = time.monotonic() + args.timeout
    errors = []
    ok = total = sent = 0
    t0 = time.monotonic()
    for _ in range(args.rounds):
        k, b, w = echo_round(args, pattern, expect, deadline, errors)
        ok += k
        total += b
        sent += w
    secs = time.monotonic() - t0
    n = args.conns * args.rounds
    res = {"conns": n, "ok": ok, "failed": n - ok, "bytes": total, "bytes_sent": sent,
           "seconds": round(secs, 3),
           "rounds": args.rounds, "mb_per_s": round(total / 1e6 / secs, 1) if secs > 0 else 0,
           "sha256": expect}
    if ok != n:
        for e in errors[:20]:
            print("tcppeer: echo: " + e, file=sys.stderr)
        if len(errors) > 20:
            print("tcppeer: echo: ... %d more" % (len(errors) - 20), file=sys.stderr)
        die("echo: %d of %d connections failed" % (n - ok, n), res)
    print(json.dumps(res), flush=True)


# ---- sink / blast ----------------------------------------------------------

def cmd_sink(args):
    pattern = Pattern(args.chunk)
    chk = Checker(pattern)
    deadline = time.monotonic() + args.timeout
    buf = bytearray(pattern.chunk)
    t0 = time.monotonic()
    res = {"bytes": 0}
    try:
        s = connect_blocking(args.host, args.port, deadline)
        t0 = time.monotonic()
        with s:
            def on_data(v):
                if chk.n + len(v) > args.expect_bytes:
                    raise ValueError("received more than %d bytes" % args.expect_bytes)
                chk.add(v)
            recv_until_eof(s, deadline, buf, on_data)
    except (OSError, ValueError) as e:
        res["bytes"] = chk.n
        die("sink: %s after %d of %d bytes" % (e, chk.n, args.expect_bytes), res)
    secs = time.monotonic() - t0
    got = chk.h.hexdigest()
    expect = pattern.digest(args.expect_bytes)
    res = {"bytes": chk.n, "expected": args.expect_bytes, "seconds": round(secs, 3),
           "mb_per_s": round(chk.n / 1e6 / secs, 1) if secs > 0 else 0,
           "sha256": got, "sha256_ok": got == expect and chk.n == args.expect_bytes}
    if chk.n != args.expect_bytes:
        die("sink: EOF after %d of %d bytes" % (chk.n, args.expect_bytes), res)
    if got != expect:
        die("sink: SHA-256 mismatch, first wrong byte at offset %s" % chk.first_bad, res)
    print(json.dumps(res), flush=True)


def cmd_blast(args):
    pattern = Pattern(args.chunk)
    deadline = time.monotonic() + args.timeout
    sent = 0
    unexpected = 0
    res = {}
    t0 = time.monotonic()
    try:
        s = connect_blocking(args.host, args.port, deadline)
        t0 = time.monotonic()
        with s:
            while sent < args.bytes:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timeout while sending")
                s.settimeout(left)
                v = pattern.view(sent, args.bytes - sent)
                s.sendall(v)
                sent += len(v)
            s.shutdown(socket.SHUT_WR)

            def on_data(v):
                nonlocal unexpected
                unexpected += len(v)
            recv_until_eof(s, deadline, bytearray(65536), on_data)
    except OSError as e:
        die("blast: %s after sending %d of %d bytes" % (e, sent, args.bytes), {"bytes": sent})
    secs = time.monotonic() - t0
    res = {"bytes": sent, "seconds": round(secs, 3),
           "mb_per_s": round(sent / 1e6 / secs, 1) if secs > 0 else 0,
           "unexpected_bytes": unexpected}
    if unexpected:
        die("blast: the discard peer sent %d bytes" % unexpected, res)
    print(json.dumps(res), flush=True)


# ---- hold ------------------------------------------------------------------

def cmd_hold(args):
    raise_nofile(args.conns)
    deadline = time.monotonic() + args.timeout
    socks = []
    sel = selectors.DefaultSelector()

    def fail(msg):
        for s in socks:
            s.close()
        die("hold: " + msg, {"opened": len(socks), "closed_by_peer": 0,
                             "closed_by_us": 0, "errors": 1})

    # Open, a batch at a time, no retries.
    while len(socks) < args.conns:
        batch = []
        for _ in range(min(args.batch, args.conns - len(socks))):
            try:
                s = start_connect(args.host, args.port)
            except OSError as e:
                for b in batch:
                    b.close()
                fail("connection %d: %s" % (len(socks) + len(batch), e))
            batch.append(s)
            sel.register(s, selectors.EVENT_WRITE)
        pending = set(batch)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                socks.extend(batch)
                fail("timeout: %d connections of a batch not established" % len(pending))
            for key, _ in sel.select(min(left, 1.0)):
                s = key.fileobj
                sel.unregister(s)
                pending.discard(s)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    k = len(socks) + batch.index(s)
                    socks.extend(batch)
                    fail("connection %d: connect: %s" % (k, os.strerror(err)))
        socks.extend(batch)
    print("ready %d" % len(socks), flush=True)

    while not os.path.exists(args.hold_file):
        if time.monotonic() >= deadline:
            fail("timeout waiting for %s" % args.hold_file)
        time.sleep(0.05)

    # Look at all of them first, then close.
    by_peer = by_us = errors = 0
    ours = []
    msgs = []
    for i, s in enumerate(socks):
        try:
            d = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if d == b"":
                by_peer += 1
                s.close()
                continue
            errors += 1
            msgs.append("conn %d: unexpected data from the peer" % i)
            s.close()
        except BlockingIOError:
            ours.append(s)
        except OSError as e:
            errors += 1
            msgs.append("conn %d: %s" % (i, e))
            s.close()
    # Close ours: shutdown(WR), then wait for the peer's FIN; a reset is an error.
    for s in ours:
        try:
            s.shutdown(socket.SHUT_WR)
            sel.register(s, selectors.EVENT_READ)
        except OSError as e:
            errors += 1
            msgs.append("shutdown: %s" % e)
            s.close()
    waiting = len(sel.get_map())
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            errors += waiting
            msgs.append("%d connections: no FIN from the peer before the timeout" % waiting)
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            break
        for key, _ in sel.select(min(left, 1.0)):
            s = key.fileobj
            try:
                d = s.recv(4096)
                if d:
                    continue        # data: keep reading to the FIN
                by_us += 1
            except BlockingIOError:
                continue
            except OSError as e:
                errors += 1
                msgs.append("closing: %s" % e)
            sel.unregister(s)
            s.close()
            waiting -= 1
    sel.close()
    res = {"opened": len(socks), "closed_by_peer": by_peer, "closed_by_us": by_us, "errors": errors}
    if errors:
        for m in msgs[:20]:
            print("tcppeer: hold: " + m, file=sys.stderr)
        die("hold: %d errors" % errors, res)
    print(json.dumps(res), flush=True)


# ---- servers ---------------------------------------------------------------

class SrvConn:
    __slots__ = ("sock", "out", "eof", "sent", "shut")

    def __init__(self, sock):
        self.sock, self.out, self.eof, self.sent, self.shut = sock, bytearray(), False, 0, False


def cmd_serve(args):
    mode = args.cmd.split("-", 1)[1]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    raise_nofile(min(args.max_conns, 65536), best_effort=True)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        lsock.bind((args.bind, args.port))
    except OSError as e:
        die("bind %s:%d: %s" % (args.bind, args.port, e))
    lsock.listen(4096)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    pattern = Pattern(args.chunk)
    buf = bytearray(pattern.chunk)
    st = {"accepted": 0, "bytes": 0, "bytes_out": 0, "resets": 0, "active": 0}
    deadline = time.monotonic() + args.timeout
    print("listening", flush=True)
    listening = True

    def close(c, reset=False):
        if reset:
            st["resets"] += 1
        sel.unregister(c.sock)
        c.sock.close()
        st["active"] -= 1

    def want(c):
        ev = 0
        if not c.eof and len(c.out) < 4 * pattern.chunk:
            ev |= selectors.EVENT_READ
        if mode == "echo" and c.out:
            ev |= selectors.EVENT_WRITE
        if mode == "source" and not c.shut:
            ev |= selectors.EVENT_WRITE
        return ev

    while not stop:
        if not listening and st["active"] == 0:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            st["timed_out"] = True
            print(json.dumps(st), flush=True)
            die("serve-%s: --timeout %d s reached" % (mode, args.timeout))
        for key, ev in sel.select(min(left, 0.2)):
            if key.data is None:
                for _ in range(64):
                    if st["accepted"] >= args.max_conns:
                        break
                    try:
                        s, _ = lsock.accept()
                    except BlockingIOError:
                        break
                    s.setblocking(False)
                    c = SrvConn(s)
                    st["accepted"] += 1
                    st["active"] += 1
                    sel.register(s, want(c), c)
                if st["accepted"] >= args.max_conns and listening:
                    sel.unregister(lsock)
                    lsock.close()
                    listening = False
                continue
            c = key.data
            try:
                if ev & selectors.EVENT_READ:
                    n = c.sock.recv_into(buf)
                    if n == 0:
                        c.eof = True
                    else:
                        st["bytes"] += n
                        if mode == "echo":
                            c.out += buf[:n]
                if ev & selectors.EVENT_WRITE:
                    if mode == "echo" and c.out:
                        n = c.sock.send(c.out)
                        del c.out[:n]
                        st["bytes_out"] += n
                    elif mode == "source" and not c.shut:
                        n = c.sock.send(pattern.view(c.sent, args.bytes - c.sent)) if c.sent < args.bytes else 0
                        c.sent += n
                        st["bytes_out"] += n
                        if c.sent >= args.bytes:
                            c.sock.shutdown(socket.SHUT_WR)
                            c.shut = True
                if c.eof and not c.out:
                    if mode == "source" and not c.shut:
                        pass                # keep sending: the peer's FIN is ignored
                    else:
                        close(c)
                        continue
                sel.modify(c.sock, want(c) or selectors.EVENT_READ, c)
            except BlockingIOError:
                pass
            except OSError:
                close(c, reset=True)
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    del st["active"]
    print(json.dumps(st), flush=True)


def main():
    ap = argparse.ArgumentParser(description="Kernel TCP peers for mailgw's tests.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
        p.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="bytes per send/recv")

    p = sub.add_parser("echo")
    p.add_argument("host"); p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--rounds", type=int, default=1)
    common(p)
    p = sub.add_parser("sink")
    p.add_argument("host"); p.add_argument("port", type=int)
    p.add_argument("--expect-bytes", type=int, required=True)
    common(p)
    p = sub.add_parser("blast")
    p.add_argument("host"); p.add_argument("port", type=int)
    p.add_argument("--bytes", type=int, required=True)
    common(p)
    p = sub.add_parser("hold")
    p.add_argument("host"); p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, required=True)
    p.add_argument("--hold-file", required=True)
    p.add_argument("--batch", type=int, default=100)
    common(p)
    for name in ("serve-echo", "serve-discard", "serve-source"):
        p = sub.add_parser(name)
        p.add_argument("port", type=int)
        p.add_argument("--bind", default="0.0.0.0")
        p.add_argument("--max-conns", type=int, default=1 << 20)
        if name == "serve-source":
            p.add_argument("--bytes", type=int, required=True)
        common(p)
    args = ap.parse_args()
    if args.chunk < 1024:
        die("--chunk must be at least 1024")
    {"echo": cmd_echo, "sink": cmd_sink, "blast": cmd_blast, "hold": cmd_hold}.get(
        args.cmd, cmd_serve)(args)


if __name__ == "__main__":
    main()
