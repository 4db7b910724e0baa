#!/usr/bin/python3
"""smtp_bench.py — helpers of tools/bench/smtp (standard library only).

  smtp_bench.py count FILE
  smtp_bench.py wait FILE TARGET [--stall S] [--limit S] [--poll MS]
  smtp_bench.py report DIR [--json]

count   the counters of an smtp-sink -c output file so far: "MESG SESS"
        (0 0 before the first record). smtp-sink -c writes one record per
        event, "sess=N quit=N mesg=N" followed by a CR.
wait    follows FILE until its message count reaches TARGET, then prints
        "reached MESG SESS TIME", TIME being the wall-clock time (seconds
        since the epoch, as bash's $EPOCHREALTIME) at which the record was
        read; "stalled MESG SESS TIME" when the count did not move for
        --stall seconds (default 20), "limit ..." after --limit seconds in
        all (default 900). FILE is read every --poll milliseconds (default 2)
        while nothing new is there: one read(2) per poll.
report  the table (or --json) of tools/bench/smtp from DIR: run.info and one
        cell.RELAY.SIZE.PER file per measurement, "key=value" lines each.
"""

import json
import os
import re
import sys
import time

REC = re.compile(rb"sess=(\d+) quit=(\d+) mesg=(\d+)")


def last_record(buf):
    """(mesg, sess) of the last complete record in buf, or None."""
    end = buf.rfind(b"\r")
    if end < 0:
        return None
    start = buf.rfind(b"\r", 0, end) + 1
    m = REC.search(buf, start, end)
    if not m:
        # A damaged record: look further back.
        for m in REC.finditer(buf, 0, end):
            pass
        if not m:
            return None
    return int(m.group(3)), int(m.group(1))


def cmd_count(path):
    try:
        with open(path, "rb") as f:
            r = last_record(f.read())
    except OSError:
        r = None
    mesg, sess = r if r else (0, 0)
    print(mesg, sess)


def cmd_wait(path, target, stall, limit, poll):
    fd = os.open(path, os.O_RDONLY)
    tail = b""
    mesg = sess = 0
    start = last_move = time.time()
    while True:
        chunk = os.read(fd, 1 << 20)
        now = time.time()
        if chunk:
            buf = tail + chunk
            r = last_record(buf)
            cut = buf.rfind(b"\r")
            tail = buf[cut + 1:] if cut >= 0 else buf
            if r:
                if r[0] != mesg:
                    last_move = now
                mesg, sess = r
                if mesg >= target:
                    print("reached", mesg, sess, "%.6f" % now)
                    return 0
            continue
        if now - last_move >= stall:
            print("stalled", mesg, sess, "%.6f" % now)
            return 1
        if now - start >= limit:
            print("limit", mesg, sess, "%.6f" % now)
            return 1
        time.sleep(poll / 1000.0)


# ---------------------------------------------------------------- report ----

def read_kv(path):
    d = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                d[k] = v
    return d


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return None


def size_label(n):
    n = int(n)
    return "%d KB" % (n // 1024) if n % 1024 == 0 else "%d B" % n


def cell_figures(c, tsc_hz):
    """The derived figures of one cell (a dict of key=value strings)."""
    f = {"ok": c.get("ok") == "1", "error": c.get("error", "")}
    n = num(c, "n")
    wall = num(c, "wall")
    f["n"] = int(n) if n is not None else None
    f["wall_s"] = wall
    if not f["ok"] or not n or not wall:
        f["msgs_per_s"] = None
    else:
        f["msgs_per_s"] = n / wall
    k = 1000.0 / n if n else None

    def per_k(key):
        v = num(c, key)
        return v * k if (v is not None and k is not None and f["ok"]) else None

    # mailgw: the worker's busy time plus every other thread's CPU (work);
    # the process's CPU time, busy polling included, apart.
    if c.get("relay") == "mailgw":
        cyc = num(c, "busy_cycles")
        busy = cyc / tsc_hz if cyc is not None and tsc_hz else None
        other = num(c, "other_threads_s")
        proc = num(c, "relay_cpu_s")
        work = busy + other if busy is not None and other is not None else None
        # Busy cycles are TSC time: a worker preempted (other load on its
        # CPU) in a busy pass is charged for it. The process's CPU time bounds it.
        if work is not None and proc is not None and work > proc:
            work = proc
        f["cpu_s"] = work
        f["worker_busy_cycles"] = int(cyc) if cyc is not None else None
        f["worker_busy_pct"] = 100.0 * busy / wall if busy is not None and wall else None
        f["cpu_s_per_1000"] = work * k if (work is not None and k and f["ok"]) else None
        f["worker_busy_s"] = busy
        f["other_threads_s"] = other
        f["process_cpu_s"] = num(c, "relay_cpu_s")
        f["process_cpu_s_per_1000"] = per_k("relay_cpu_s")
    else:
        f["cpu_s"] = num(c, "relay_cpu_s")
        f["cpu_s_per_1000"] = per_k("relay_cpu_s")
    gen, gen_wall = num(c, "gen_cpu_s"), num(c, "gen_wall")
    f["gen_cpu_s"] = gen
    f["gen_cpu_pct"] = 100.0 * gen / gen_wall if gen is not None and gen_wall else None
    f["gen_wall_s"] = gen_wall
    sink = num(c, "sink_cpu_s")
    f["sink_cpu_s"] = sink
    f["sink_cpu_pct"] = 100.0 * sink / wall if sink is not None and wall else None
    f["sink_sessions"] = int(num(c, "sink_sessions")) if num(c, "sink_sessions") is not None else None
    f["client_sessions"] = int(num(c, "client_sessions")) if num(c, "client_sessions") is not None else None
    f["delivered"] = int(num(c, "delivered")) if num(c, "delivered") is not None else None
    f["counters"] = {k[4:]: int(v) for k, v in c.items() if k.startswith("ctr.")}
    f["notes"] = c.get("notes", "")
    return f


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, spec, none="n/a"):
    return none if v is None else format(v, spec)


def cmd_report(d, as_json):
    info = read_kv(os.path.join(d, "run.info"))
    cells = []
    for size in info["sizes"].split():
        for per in info["pers"].split():
            row = {"size": int(size), "msgs_per_conn": int(per)}
            for relay in ("mailgw", "postfix"):
                p = os.path.join(d, "cell.%s.%s.%s" % (relay, size, per))
                c = read_kv(p) if os.path.exists(p) else {"ok": "0", "error": "not run"}
                c["relay"] = relay
                row[relay] = cell_figures(c, num(info, "tsc_hz"))
                row["n"] = row[relay]["n"] or row.get("n")
            row["msgs_per_s_ratio"] = ratio(row["mailgw"]["msgs_per_s"], row["postfix"]["msgs_per_s"])
            row["cpu_per_1000_ratio"] = ratio(row["mailgw"]["cpu_s_per_1000"], row["postfix"]["cpu_s_per_1000"])
            cells.append(row)

    warnings = [v for k, v in sorted(info.items()) if k.startswith("warning")]
    for row in cells:
        for relay in ("mailgw", "postfix"):
            g = row[relay]["gen_cpu_pct"]
            s = row[relay]["sink_cpu_pct"]
            if g is not None and s is not None and g + s > 90 and row[relay]["ok"]:
                warnings.append("%s %s x%d: generator %.0f%% + sink %.0f%% of CPU 0: CPU 0 (not the relay) "
                                "may be the bottleneck" % (relay, size_label(row["size"]),
                                                           row["msgs_per_conn"], g, s))
    if as_json:
        out = {k: info.get(k) for k in ("cpu", "cpus", "kernel", "date", "sessions", "scale",
                                         "postfix_version", "tsc_hz", "cgroup", "wall_s")}
        out["cells"] = cells
        out["mailgw_counters"] = {k[4:]: int(v) for k, v in info.items() if k.startswith("ctr.")}
        out["warnings"] = warnings
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0

    print("CPU:     %s (%s CPUs%s)" % (info.get("cpu", "?"), info.get("cpus", "?"),
                                     ": only 2, the generator and the sink share CPU 0"
                                     if info.get("cpus") == "2" else ""))
    print("kernel:  %s; Postfix %s; CPU time from %s" % (info.get("kernel", "?"),
                                                         info.get("postfix_version", "?"),
                                                         info.get("cgroup", "?")))
    print("date:    %s; whole run %s s" % (info.get("date", "?"), info.get("wall_s", "?")))
    print("setup:   relay on CPU 1 (mailgw: 1 worker, busy poll, control core 0 | Postfix: every"
          " process, queue on tmpfs),")
    print("         smtp-source and smtp-sink on CPU 0; %s sessions in parallel; KB = 1024 bytes of"
          " body" % info.get("sessions", "?"))
    print()
    hdr = ("%-6s %4s %6s | %9s %9s %6s | %8s %8s %8s %6s | %5s %9s %9s  %s" %
           ("size", "m/c", "N", "mgw msg/s", "pfx msg/s", "ratio", "mgw CPU", "(proc)", "pfx CPU",
            "ratio", "busy%", "gen% m/p", "sink% m/p", "notes"))
    print("%-18s | %-26s | %-33s |" % ("", "  msgs/s, ratio mgw/pfx", " CPU-s per 1000 msgs, mgw/pfx"))
    print(hdr)
    for row in cells:
        m, p = row["mailgw"], row["postfix"]
        notes = []
        for relay, f in (("mailgw", m), ("postfix", p)):
            if not f["ok"]:
                notes.append("%s FAILED: %s" % (relay, f["error"] or "?"))
            elif f["notes"]:
                notes.append("%s: %s" % (relay, f["notes"]))
        print("%-6s %4d %6s | %9s %9s %6s | %8s %8s %8s %6s | %5s %9s %9s  %s" % (
            size_label(row["size"]), row["msgs_per_conn"], row["n"] if row["n"] else "?",
            fmt(m["msgs_per_s"], ".0f", "FAILED"), fmt(p["msgs_per_s"], ".0f", "FAILED"),
            fmt(row["msgs_per_s_ratio"], ".2f"),
            fmt(m["cpu_s_per_1000"], ".3f"), fmt(m.get("process_cpu_s_per_1000"), ".3f"),
            fmt(p["cpu_s_per_1000"], ".3f"), fmt(row["cpu_per_1000_ratio"], ".3f"),
            fmt(m.get("worker_busy_pct"), ".0f"),
            "%s/%s" % (fmt(m["gen_cpu_pct"], ".0f"), fmt(p["gen_cpu_pct"], ".0f")),
            "%s/%s" % (fmt(m["sink_cpu_pct"], ".0f"), fmt(p["sink_cpu_pct"], ".0f")),
            "; ".join(notes)))
    print()
    print("m/c: messages per connection; N: messages per measurement (each verified at the sink).")
    print("msg/s: messages at the sink per second, from the first connection until the sink has all N.")
    print("mgw CPU: worker busy time + mailgw's other threads; (proc): mailgw's process CPU time, busy")
    print("polling included; pfx CPU: every process of the Postfix instance (cgroup). ratio: mgw/pfx.")
    print("busy%: mailgw worker's busy time over the wall time (near 100: the worker is the bottleneck).")
    print("gen%: smtp-source CPU over its own run time; sink%: smtp-sink CPU over the measurement's wall.")
    ctr = {k[4:]: v for k, v in info.items() if k.startswith("ctr.")}
    if ctr:
        print("mailgw counters, whole run: " + " ".join("%s=%s" % kv for kv in sorted(ctr.items())))
    print("anomalies:")
    any_ = False
    for row in cells:
        for relay in ("mailgw", "postfix"):
            a = row[relay]["counters"]
            odd = {k: v for k, v in a.items() if v}
            if odd:
                any_ = True
                print("  %-7s %-6s x%-3d %s" % (relay, size_label(row["size"]), row["msgs_per_conn"],
                                               " ".join("%s=%d" % kv for kv in sorted(odd.items()))))
    if not any_:
        print("  none")
    for w in warnings:
        print("warning: " + w)
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "count":
        cmd_count(argv[1])
        return 0
    if len(argv) >= 3 and argv[0] == "wait":
        opts = {"--stall": 20.0, "--limit": 900.0, "--poll": 2.0}
        rest = argv[3:]
        while rest:
            if rest[0] not in opts or len(rest) < 2:
                break
            opts[rest[0]] = float(rest[1])
            rest = rest[2:]
        if not rest:
            return cmd_wait(argv[1], int(argv[2]), opts["--stall"], opts["--limit"], opts["--poll"])
    if len(argv) >= 2 and argv[0] == "report":
        return cmd_report(argv[1], "--json" in argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
