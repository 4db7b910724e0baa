#!/usr/bin/python3
"""tcp_load.py — load generator and Linux reference servers for tools/bench/tcp.

  tcp_load.py serve --addr A [--echo P] [--discard P] [--source P]
  tcp_load.py conn  --addr A --port P [--concurrency C] [--seconds T]
  tcp_load.py bulk  --addr A --port P --dir send|recv [--streams S] [--seconds T]

serve   echo (RFC 862), discard (RFC 863) and an endless source of the
        pattern (byte i of each stream = i mod 251), the same three services
        mailgw has built in, on the Linux kernel's TCP. One thread, one epoll
        loop, non-blocking sockets (no thread per connection), default kernel
        socket buffers (autotuned). Prints "ready" once listening; runs until
        SIGTERM or SIGINT.
conn    connections per second: keeps C connections in flight; each one
        connects, sends 1 byte, reads the 1-byte echo and closes (FIN). A
        connection that has not finished within --conn-timeout seconds counts
        as an error and is dropped.
bulk    S connections for T seconds: --dir send writes the pattern (to
        discard) and counts the bytes the peer acknowledged (written minus
        SIOCOUTQ at the end); --dir recv reads (from source) and compares every
        byte against the pattern. Ends the connections with RST.

conn and bulk print one JSON object on stdout: ok, value (conn/s or MB/s,
MB = 10^6 bytes), count (connections completed), bytes, wall (s), cpu (this
process's user+system seconds over the measurement; cpu_user and cpu_sys
apart), errors (by kind) and max_stall_ms (the longest time without
progress), and exit 1 when the measurement failed (nothing completed, a
pattern mismatch, a connect failure).
Standard library only; one thread, one epoll loop.
"""

import argparse
import errno
import fcntl
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import time

PERIOD = 251
CHUNK = 256 * 1024
# PATTERN[o:o+n] is the pattern from stream offset o (mod PERIOD), n <= CHUNK.
PATTERN = bytes(i % PERIOD for i in range(CHUNK + PERIOD))
SIOCOUTQ = 0x5411

EPOLLIN, EPOLLOUT = select.EPOLLIN, select.EPOLLOUT
EPOLLERR, EPOLLHUP = select.EPOLLERR, select.EPOLLHUP
SOFT_ERRORS = (BlockingIOError, InterruptedError)


def cpu_seconds():
    """(user, system) CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime, r.ru_stime)


def cpu_since(c0):
    c1 = cpu_seconds()
    return (c1[0] - c0[0], c1[1] - c0[1])


def rst_close(s):
    """Close with RST (SO_LINGER 0): nothing left queued behind us."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


# ---------------------------------------------------------------- serve ----

def serve(args):
    ep = select.epoll()
    listeners = {}
    for kind, port in (("echo", args.echo), ("discard", args.discard), ("source", args.source)):
        if port == 0:
            continue
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((args.addr, port))
        ls.listen(4096)
        ls.setblocking(False)
        listeners[ls.fileno()] = (ls, kind)
        ep.register(ls.fileno(), EPOLLIN)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("ready", flush=True)

    conns = {}   # fd -> [sock, kind, offset (source) or pending bytes (echo)]
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    pmv = memoryview(PATTERN)

    def drop(fd):
        c = conns.pop(fd, None)
        if c is not None:
            try:
                ep.unregister(fd)
            except OSError:
                pass
            c[0].close()

    while not stop:
        try:
            events = ep.poll(0.5)
        except InterruptedError:
            continue
        for fd, ev in events:
            if fd in listeners:
                ls, kind = listeners[fd]
                while True:
                    try:
                        s, _ = ls.accept()
                    except SOFT_ERRORS:
                        break
                    except OSError:
                        break
                    s.setblocking(False)
                    if kind == "source":
                        conns[s.fileno()] = [s, kind, 0]
                        ep.register(s.fileno(), EPOLLIN | EPOLLOUT)
                    else:
                        conns[s.fileno()] = [s, kind, b""]
                        ep.register(s.fileno(), EPOLLIN)
                continue
            c = conns.get(fd)
            if c is None:
                continue
            s, kind = c[0], c[1]
            try:
                if kind == "echo":
                    if ev & EPOLLOUT and c[2]:
                        n = s.send(c[2])
                        c[2] = c[2][n:]
                        if not c[2]:
                            ep.modify(fd, EPOLLIN)
                        continue
                    n = s.recv_into(buf)
                    if n == 0:
                        drop(fd)
                        continue
                    sent = s.send(mv[:n])
                    if sent < n:
                        c[2] = bytes(mv[sent:n])
                        ep.modify(fd, EPOLLOUT)
                elif kind == "discard":
                    for _ in range(16):
                        n = s.recv_into(buf)
                        if n == 0:
                            drop(fd)
                            break
                else:   # source
                    if ev & EPOLLIN:
                        n = s.recv_into(buf)
                        if n == 0:
                            drop(fd)
                            continue
                    if ev & EPOLLOUT:
                        off = c[2]
                        for _ in range(16):
                            o = off % PERIOD
                            n = s.send(pmv[o:o + CHUNK])
                            off += n
                            if n < CHUNK:
                                break
                        c[2] = off
            except SOFT_ERRORS:
                pass
            except OSError:
                drop(fd)
    for fd in list(conns):
        drop(fd)
    return 0


# ----------------------------------------------------------------- conn ----

def conn_test(args):
    addr = (args.addr, args.port)
    ep = select.epoll()
    inflight = {}   # fd -> [sock, started, state] state 0 connecting, 1 awaiting echo
    errors = {}
    done = 0

    def err(kind):
        errors[kind] = errors.get(kind, 0) + 1

    def start(now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        e = s.connect_ex(addr)
        if e not in (0, errno.EINPROGRESS):
            err(errno.errorcode.get(e, str(e)))
            s.close()
            return False
        fd = s.fileno()
        inflight[fd] = [s, now, 0]
        ep.register(fd, EPOLLOUT)
        return True

    def finish(fd):
        s = inflight.pop(fd)[0]
        ep.unregister(fd)
        s.close()

    cpu0 = cpu_seconds()
    t0 = last_progress = time.monotonic()
    deadline = t0 + args.seconds
    max_stall = 0.0
    next_sweep = t0 + 0.25
    now = t0
    while now < deadline:
        while len(inflight) < args.concurrency:
            if not start(now):
                break
        if not inflight:
            # Nothing could even be started (every connect failed at once).
            time.sleep(0.01)
            now = time.monotonic()
            if sum(errors.values()) > 1000:
                break
            continue
        events = ep.poll(0.05)
        now = time.monotonic()
        for fd, ev in events:
            c = inflight.get(fd)
            if c is None:
                continue
            s = c[0]
            try:
                if c[2] == 0:
                    e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if e:
                        err(errno.errorcode.get(e, str(e)))
                        finish(fd)
                        continue
                    s.send(b"x")
                    c[2] = 1
                    ep.modify(fd, EPOLLIN)
                else:
                    d = s.recv(16)
                    if d == b"x":
                        done += 1
                        gap = now - last_progress
                        if gap > max_stall:
                            max_stall = gap
                        last_progress = now
                    else:
                        err("bad_echo" if d else "eof_before_echo")
                    finish(fd)
            except SOFT_ERRORS:
                pass
            except OSError as e:
                err(errno.errorcode.get(e.errno, str(e.errno)))
                finish(fd)
        if now >= next_sweep:
            next_sweep = now + 0.25
            for fd in [fd for fd, c in inflight.items() if now - c[1] > args.conn_timeout]:
                err("timeout")
                finish(fd)
    wall = time.monotonic() - t0
    if now - last_progress > max_stall:
        max_stall = now - last_progress
    cpu = cpu_since(cpu0)
    for fd in list(inflight):
        rst_close(inflight.pop(fd)[0])
    ok = done > 0
    return report(ok, done / wall, done, 0, wall, cpu, errors, max_stall,
                  None if ok else "no connection completed")


# ----------------------------------------------------------------- bulk ----

def bulk_test(args):
    send = args.dir == "send"
    socks = []
    errors = {}
    try:
        for _ in range(args.streams):
            s = socket.create_connection((args.addr, args.port), timeout=args.conn_timeout)
            s.setblocking(False)
            socks.append(s)
    except OSError as e:
        for s in socks:
            rst_close(s)
        name = "timeout" if isinstance(e, socket.timeout) else errno.errorcode.get(e.errno, str(e))
        return report(False, 0, 0, 0, 0, 0, {name: 1}, 0, "connect failed: %s" % name)

    ep = select.epoll()
    st = {}   # fd -> [sock, bytes, open]
    for s in socks:
        st[s.fileno()] = [s, 0, True]
        ep.register(s.fileno(), EPOLLOUT if send else EPOLLIN)
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    pmv = memoryview(PATTERN)
    sendbuf = pmv[:CHUNK]   # discard does not look at it; the pattern anyway
    mismatch = None
    open_count = len(socks)

    cpu0 = cpu_seconds()
    t0 = last_progress = time.monotonic()
    deadline = t0 + args.seconds
    max_stall = 0.0
    now = t0
    while now < deadline and open_count and mismatch is None:
        events = ep.poll(min(0.1, max(0.0, deadline - now)))
        now = time.monotonic()
        progress = False
        for fd, ev in events:
            c = st[fd]
            s = c[0]
            try:
                if send:
                    for _ in range(8):
                        n = s.send(sendbuf)
                        c[1] += n
                        progress = True
                        if n < CHUNK:
                            break
                else:
                    for _ in range(8):
                        n = s.recv_into(buf)
                        if n == 0:
                            err_kind = "eof"
                            errors[err_kind] = errors.get(err_kind, 0) + 1
                            ep.unregister(fd)
                            c[2] = False
                            open_count -= 1
                            break
                        if not PATTERN.startswith(mv[:n], c[1] % PERIOD):
                            mismatch = "pattern mismatch at offset %d..%d" % (c[1], c[1] + n)
                            break
                        c[1] += n
                        progress = True
                        if n < CHUNK:
                            break
            except SOFT_ERRORS:
                pass
            except OSError as e:
                kind = errno.errorcode.get(e.errno, str(e.errno))
                errors[kind] = errors.get(kind, 0) + 1
                ep.unregister(fd)
                c[2] = False
                open_count -= 1
            if mismatch:
                break
        if progress:
            if now - last_progress > max_stall:
                max_stall = now - last_progress
            last_progress = now
    wall = time.monotonic() - t0
    if now - last_progress > max_stall:
        max_stall = now - last_progress
    total = 0
    for c in st.values():
        moved = c[1]
        if send and c[2]:
            try:
                q = struct.unpack("i", fcntl.ioctl(c[0].fileno(), SIOCOUTQ, b"\0\0\0\0"))[0]
                moved -= q
            except OSError:
                pass
        total += moved
    cpu = cpu_since(cpu0)
    for c in st.values():
        rst_close(c[0])
    ok = mismatch is None and total > 0 and not errors
    why = mismatch or (None if ok else ("errors: %s" % errors if errors else "no bytes moved"))
    return report(ok, total / wall / 1e6, len(socks), total, wall, cpu, errors, max_stall, why)


def report(ok, value, count, nbytes, wall, cpu, errors, max_stall, why):
    if not isinstance(cpu, tuple):
        cpu = (0.0, 0.0)
    out = {"ok": ok, "value": round(value, 2), "count": count, "bytes": nbytes,
           "wall": round(wall, 4), "cpu": round(cpu[0] + cpu[1], 4),
           "cpu_user": round(cpu[0], 4), "cpu_sys": round(cpu[1], 4), "errors": errors,
           "max_stall_ms": round(max_stall * 1000, 1)}
    if why:
        out["error"] = why
    print(json.dumps(out), flush=True)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description="tools/bench/tcp load generator and Linux servers")
    sub = p.add_subparsers(dest="mode", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--addr", required=True)
    sv.add_argument("--echo", type=int, default=7)
    sv.add_argument("--discard", type=int, default=9)
    sv.add_argument("--source", type=int, default=19)
    cn = sub.add_parser("conn")
    bk = sub.add_parser("bulk")
    for q in (cn, bk):
        q.add_argument("--addr", required=True)
        q.add_argument("--port", type=int, required=True)
        q.add_argument("--seconds", type=float, default=5.0)
        q.add_argument("--conn-timeout", type=float, default=2.0)
    cn.add_argument("--concurrency", type=int, default=32)
    bk.add_argument("--dir", choices=("send", "recv"), required=True)
    bk.add_argument("--streams", type=int, default=1)
    args = p.parse_args()
    if args.mode == "serve":
        return serve(args)
    if args.mode == "conn":
        return conn_test(args)
    return bulk_test(args)


if __name__ == "__main__":
    sys.exit(main())
