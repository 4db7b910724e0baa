#!/usr/bin/python3
"""mail_bench.py — tools/bench/mail: the same smtpgen workloads relayed by
mailgw and by Postfix to the same next hop, one table with both and the
ratios (issue 7).

  mail_bench.py [--quick | --scale F] [--sessions C] [--only NAME,...] [--relays mailgw,postfix]
                [--json] [--json-out FILE]
  mail_bench.py report FILE.json           the table again, from a --json-out file
  mail_bench.py markdown MAIL.json [TLS.json]   results.md for make bench

Scenarios (NAME: workload), each with C sessions (default 20) of
build/smtpgen client on CPU 0 -> the relay on CPU 1 -> build/smtpgen sink on
CPU 0, which verifies every body's SHA-256:
  plain    plaintext, 10 KB, 1 message per connection
  ecdsa    STARTTLS on both legs, ECDSA certificates, 10 KB x 1/conn
  rsa      the same with RSA certificates
  resume   ecdsa with 90 % of the inbound handshakes resumed
  mix      ecdsa, 90 % resumed, sizes 4k:50,32k:30,128k:15,1m:5
  per100   ecdsa, 10 KB, 100 messages per connection
  slow     10,000 concurrent slow sessions: plaintext 10 KB, 10 per
           connection, the client waiting --think 4000 ms (2 to 6 s) before
           each command group; 40 s (--quick: 15 s, 2,000 sessions)
Relays: mailgw (one worker on CPU 1, busy polling, control core 0; routes
with tls_level "none" to the plaintext sink on 10.20.0.10:2525 and
"encrypt" to the STARTTLS sink on 10.20.0.10:25) and a private Postfix
(tests/lib/smtp.sh's pf_setup) made a relay with the same routes
(transport_maps) and TLS levels (smtp_tls_policy_maps), the same
certificates, queue and log on tmpfs, every process on CPU 1.

Figures: msgs/s = messages at the sink over the time from starting the
client to the sink's last message; CPU per 1,000 messages (mailgw: the
worker's CPU time x its busy share of cycles + its other threads; Postfix:
all its processes, cgroup); inbound handshakes/s; the client's p99 latency
from the start of a message (connect, for the first of a connection) to its
final reply (mailgw answers after the next hop; Postfix after queueing).
"""

import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

PROG = "mail"
TAG = "mlb"
PLAIN_PORT, TLS_PORT = 2525, 25
PLAIN_DOM, TLS_DOM = "plain.bench.example", "tls.bench.example"
SIGALGS = {"ecdsa": "ECDSA+SHA256", "rsa": "RSA-PSS+SHA256"}
MIX = "4k:50,32k:30,128k:15,1m:5"

# name, label, TLS certificates (None: plaintext), client arguments, messages at --scale 1
SCENARIOS = [
    ("plain", "plaintext 10 KB x1", None, ["-l", "10k"], 3000),
    ("ecdsa", "STARTTLS ECDSA 10 KB x1", "ecdsa", ["-l", "10k"], 2000),
    ("rsa", "STARTTLS RSA 10 KB x1", "rsa", ["-l", "10k"], 1500),
    ("resume", "ECDSA, 90% resumed", "ecdsa", ["-l", "10k", "--resume", "90"], 2000),
    ("mix", "ECDSA, 90% res., size mix", "ecdsa", ["--size-mix", MIX, "--resume", "90"], 1000),
    ("per100", "ECDSA 10 KB x100/conn", "ecdsa", ["-l", "10k", "-d", "100"], 4000),
    ("slow", "10k slow sessions, plain", None, ["-l", "10k", "-d", "10", "--think", "4000"], None),
]
SLOW_SESSIONS, SLOW_SECONDS = 10000, 40


def usage():
    sys.stderr.write("usage: tools/bench/mail [--quick | --scale F] [--sessions C] [--only NAME,...]\n"
                     "                        [--relays mailgw,postfix] [--json] [--json-out FILE]\n"
                     "       tools/bench/mail report FILE.json\n"
                     "       tools/bench/mail markdown MAIL.json [TLS.json]\n"
                     "scenarios: %s\n" % " ".join(s[0] for s in SCENARIOS))
    sys.exit(2)


def parse(argv):
    o = {"scale": 1.0, "sessions": 20, "only": [s[0] for s in SCENARIOS], "json": False, "json_out": None,
         "quick": False, "relays": ["mailgw", "postfix"]}
    i = 0
    try:
        while i < len(argv):
            a = argv[i]
            if a == "--quick":
                o["quick"], o["scale"] = True, 0.25
            elif a == "--scale":
                i += 1
                o["scale"] = float(argv[i])
            elif a == "--sessions":
                i += 1
                o["sessions"] = int(argv[i])
            elif a == "--only":
                i += 1
                o["only"] = argv[i].split(",")
            elif a == "--relays":
                i += 1
                o["relays"] = argv[i].split(",")
            elif a == "--json":
                o["json"] = True
            elif a == "--json-out":
                i += 1
                o["json_out"] = argv[i]
            else:
                usage()
            i += 1
    except (IndexError, ValueError):
        usage()
    names = [s[0] for s in SCENARIOS]
    if (not 0.01 <= o["scale"] <= 20 or not 1 <= o["sessions"] <= 1000 or any(n not in names for n in o["only"])
            or not o["relays"] or any(r not in ("mailgw", "postfix") for r in o["relays"])):
        usage()
    return o


def scenarios(o):
    return [s for s in SCENARIOS if s[0] in o["only"]]


def cell_n(o, scen):
    """Messages for a fixed-size scenario: a multiple of sessions x messages per connection."""
    per = int(scen[3][scen[3].index("-d") + 1]) if "-d" in scen[3] else 1
    q = o["sessions"] * per
    return max(q, int(scen[4] * o["scale"] / q + 0.5) * q)


def slow_shape(o):
    return (2000, 15) if o["quick"] else (SLOW_SESSIONS, SLOW_SECONDS)


def client_args(o, scen, n=None):
    name, _, cert, extra, _ = scen
    dom = TLS_DOM if cert else PLAIN_DOM
    a = ["-S", bl.RELAY_IP + ":25", "--from", "sender@client.bench.example", "--to", "rcpt@" + dom,
         "--helo", "client.bench.example"]
    if name == "slow":
        sessions, secs = slow_shape(o)
        a += ["-s", str(sessions), "-m", "0", "--duration", str(secs), "--timeout", "30"]
    else:
        a += ["-s", str(o["sessions"]), "-m", str(n), "--timeout", "30"]
    if cert:
        a += ["--starttls", "--sigalgs", SIGALGS[cert], "--groups", "X25519:P-256"]
    return a + extra


def sink_args(pki, cert):
    if not cert:
        return []
    return ["--starttls", "--cert", "%s/gw/%s.crt" % (pki, cert), "--key", "%s/gw/%s.key" % (pki, cert)]


# ------------------------------------------------------------ measuring

class Sampler(threading.Thread):
    """Every 2 s: client connections established to the relay (ss in the
    client namespace) and, for Postfix, its smtpd processes; the maxima."""

    def __init__(self, b, ns, kind):
        super().__init__(daemon=True)
        self.b, self.ns, self.kind = b, ns, kind
        self.stop_ev = threading.Event()
        self.max_est = self.max_smtpd = 0

    def run(self):
        while not self.stop_ev.wait(2.0):
            r = subprocess.run(["ip", "netns", "exec", self.ns, "ss", "-Htn", "state", "established",
                                "( dport = :25 )"], capture_output=True, text=True)
            self.max_est = max(self.max_est, len(r.stdout.splitlines()))
            if self.kind == "postfix":
                n = 0
                for pid in self.b.cg.pids("relay"):
                    try:
                        with open("/proc/%d/comm" % pid) as f:
                            n += f.read().strip() == "smtpd"
                    except OSError:
                        pass
                self.max_smtpd = max(self.max_smtpd, n)

    def stop(self):
        self.stop_ev.set()
        self.join()


def wait_drained(relay, kind, limit):
    """Postfix: until nothing is left to deliver (incoming, active, maildrop empty) or limit s."""
    if kind != "postfix":
        return True
    end = time.time() + limit
    while time.time() < end:
        left = 0
        for d in ("incoming", "active", "maildrop"):
            for _, _, files in os.walk(os.path.join(relay.dir, "queue", d)):
                left += len(files)
        if not left:
            return True
        time.sleep(0.05)
    return False


def measure(b, relay, kind, ns, sink_ns, pki, o, scen, warm=False):
    """One scenario through relay ('mailgw' or 'postfix'): its own sink, the client, the queue
    drained, the sink stopped; a dict of figures."""
    name, cert = scen[0], scen[2]
    n = o["sessions"] * 10 if warm else (cell_n(o, scen) if name != "slow" else None)
    f = {"ok": False, "error": "", "n": n}
    if not relay.alive():
        f["error"] = "%s not running" % kind
        return f
    sink = bl.Sink(b, sink_ns, ["-L", "%s:%d" % (bl.SINK_IP, TLS_PORT if cert else PLAIN_PORT)] +
                   sink_args(pki, cert), name="sink-%s-%s" % (kind, name))
    before = bl.relay_readings(relay, kind)
    sn0 = bl.softnet_drops()
    noise = bl.Noise(b.cg)
    r0, s0 = b.cg.usec("relay"), b.cg.usec("sink")
    sampler = Sampler(b, ns, kind)
    sampler.start()
    t0 = time.time()
    timeout = 60 + (slow_shape(o)[1] + 120 if name == "slow" else 10 * n / 50)
    rc, rep, err, cwall, gen_cpu = bl.run_client(b, ns, client_args(o, scen, n), timeout)
    sampler.stop()
    drained = wait_drained(relay, kind, 120)
    if kind == "postfix":
        time.sleep(0.5)                 # qmgr, postlogd after the last delivery
    r1 = b.cg.usec("relay")
    after = bl.relay_readings(relay, kind)
    s1 = b.cg.usec("sink")
    srep = sink.stop()
    t_end = time.time()
    f["other_pct"], f["steal_pct"] = noise.end()
    f["cpu0_busy_pct"] = noise.cpu_busy_pct[bl.GEN_CPU] if noise.cpu_busy_pct else None
    if warm:
        f["ok"] = rep is not None and bl.jget(rep, "messages.failed") == 0
        return f
    if rep is None or srep is None:
        f["error"] = "no %s report (client exit %s): %s" % ("client" if rep is None else "sink", rc, err)
        return f
    f.update({"client_wall_s": cwall, "gen_cpu_s": gen_cpu, "gen_cpu_pct": 100.0 * gen_cpu / cwall if cwall else None,
              "sink_cpu_pct": 100.0 * (s1 - s0) / 1e6 / (t_end - t0), "relay_cpu_s": (r1 - r0) / 1e6,
              "max_established": sampler.max_est})
    notes = transfer_figures(f, rep, srep, rc, err, t0)
    if name == "slow":
        notes.insert(0, "%d delivered, %d connected at most%s" % (
            f["delivered"], sampler.max_est, ", %d smtpd" % sampler.max_smtpd if kind == "postfix" else ""))
    if not drained:
        notes.append("queue not drained after 120 s")
    if kind == "mailgw":
        mailgw_figures(f, before, after, notes)
    else:
        postfix_figures(f, relay, before, notes)
    kd = bl.deltas(sn0, bl.softnet_drops())
    if kd:
        f.setdefault("anomalies", {}).update(kd)
    got = f["delivered"]
    f["cpu_s_per_1000"] = 1000.0 * f["cpu_s"] / got if f.get("cpu_s") is not None and got else None
    f["notes"] = "; ".join(notes)
    f["ok"] = bool(f["wall_s"]) and got > 0 and not f["mismatched"]
    if not f["ok"]:
        f["error"] = f["notes"] or "nothing delivered"
    return f


def transfer_figures(f, rep, srep, rc, err, t0):
    """The client's and the sink's reports into f; the notes on what did not add up."""
    ok, failed = bl.jget(rep, "messages.ok"), bl.jget(rep, "messages.failed")
    got = bl.jget(srep, "messages.received")
    last = srep.get("last_msg_unix") or 0
    wall = (last - t0) if got and last > t0 else None
    hs = bl.jget(rep, "tls.full") + bl.jget(rep, "tls.resumed")
    n = f["n"]
    f.update({
        "n": n if n else ok + failed, "client_ok": ok, "client_failed": failed, "delivered": got,
        "verified": bl.jget(srep, "messages.verified"), "mismatched": bl.jget(srep, "messages.mismatched"),
        "wall_s": wall, "msgs_per_s": got / wall if wall else None,
        "handshakes": hs, "resumed": bl.jget(rep, "tls.resumed"),
        "hs_per_s": hs / wall if wall and hs else (0.0 if wall else None),
        "nexthop_handshakes": bl.jget(srep, "tls.full") + bl.jget(srep, "tls.resumed"),
        "nexthop_connections": bl.jget(srep, "connections.accepted"),
        "nexthop_max_concurrent": bl.jget(srep, "connections.max_concurrent"),
        "connections": rep.get("connections"),
        "latency_ms": bl.jget(rep, "latency_ms.start_to_final", {}),
        "p99_ms": bl.jget(rep, "latency_ms.start_to_final.p99", None),
        "errors": rep.get("errors", {}), "failed_at": rep.get("failed_at", {}),
    })
    notes = []
    if failed or rc != 0:
        notes.append("%d failed (%s)" % (failed, ", ".join("%s %s" % kv for kv in f["failed_at"].items()) or err))
    if n and ok + failed != n:
        notes.append("client: %d of %d done" % (ok + failed, n))
    if got != ok:
        notes.append("sink got %d, client ok %d" % (got, ok))
    if f["mismatched"]:
        notes.append("%d BODY MISMATCHES at the sink" % f["mismatched"])
    return notes


def mailgw_figures(f, before, after, notes):
    """mailgw's counters and CPU time over the measurement into f."""
    d = bl.deltas(before["stats"], after["stats"])
    f["counters"] = {k: v for k, v in d.items() if k.startswith(("smtp", "tls.", "tcp.", "log."))}
    if d.get("smtp.messages_relayed", 0) != f["delivered"]:
        notes.append("smtp.messages_relayed %d" % d.get("smtp.messages_relayed", 0))
    odd = bl.mailgw_odd(d)
    if odd:
        f["anomalies"] = odd
    f.update(bl.mailgw_cpu(before, after))
    if f["cpu_s"] is None:
        notes.append("no worker cycles")


def postfix_figures(f, relay, before, notes):
    """Postfix's CPU time (its cgroup), its log and its queue into f."""
    c = relay.log_counts(before["maillog_lines"])
    f["postfix_log"] = c
    f["cpu_s"] = f["relay_cpu_s"]
    if c["sent"] != f["delivered"]:
        notes.append("maillog status=sent %d" % c["sent"])
    odd = {"postfix." + k: v for k, v in c.items() if k in ("deferred", "bounced", "reject", "warning",
                                                            "fatal", "panic") and v}
    q = relay.queue_files()
    if q:
        odd["postfix.queue_left"] = q
    if odd:
        f["anomalies"] = odd


def run_relay(b, relay, kind, ns, sink_ns, pki, o, results):
    b.log("%s: warm-up" % kind)
    w = measure(b, relay, kind, ns, sink_ns, pki, o, SCENARIOS[1], warm=True)
    if not w["ok"]:
        b.log("%s: warm-up failed %s" % (kind, w.get("error", "")))
    for scen in scenarios(o):
        f = measure(b, relay, kind, ns, sink_ns, pki, o, scen)
        results[scen[0]][kind] = f
        b.log("%s %s: %s" % (kind, scen[0], "%.0f msg/s, %s CPU-s/1000, p99 %s ms, gen %.0f%%, other %.0f%%%s" % (
            f["msgs_per_s"], bl.fmt(f.get("cpu_s_per_1000"), ".3f"), bl.fmt(f.get("p99_ms"), ".0f"),
            f["gen_cpu_pct"] or 0, f["other_pct"], "; " + f["notes"] if f["notes"] else "")
            if f["ok"] else "FAILED: " + f["error"]))


# --------------------------------------------------------------- the run

def mailgw_extra(pki):
    return """tcp: { max_connections = 65536; time_wait_max = 16384; syn_backlog = 16384; };
smtp: {
  hostname = "mx.bench.example";
  accepted_domains = [ "%s", "%s" ];
  limits: { sessions_per_worker = 12000; sessions_per_client = 65536; messages_per_session = 100000; };
  client: { connections_per_worker = 12000; destination_concurrency = 65536; };
};
tls: {
  certificates = ( { cert = "%s/gw/ecdsa.crt"; key = "%s/gw/ecdsa.key"; },
                   { cert = "%s/gw/rsa.crt"; key = "%s/gw/rsa.key"; } );
  request_client_cert = false;
};
routes = ( { domains = [ "%s" ]; next_hops = [ "%s:%d" ]; tls_level = "none"; },
           { domains = [ "%s" ]; next_hops = [ "%s:%d" ]; tls_level = "encrypt"; } );""" % (
        PLAIN_DOM, TLS_DOM, pki, pki, pki, pki, PLAIN_DOM, bl.SINK_IP, PLAIN_PORT, TLS_DOM, bl.SINK_IP, TLS_PORT)


def postfix_relay(pki):
    cf = bl.postfix_tls_server(pki)
    cf.update({
        "myhostname": "mx.bench.example",
        "virtual_mailbox_domains": "", "virtual_mailbox_maps": "",
        "transport_maps": "inline:{ %s=smtp:[%s]:%d, %s=smtp:[%s]:%d }" % (
            PLAIN_DOM, bl.SINK_IP, PLAIN_PORT, TLS_DOM, bl.SINK_IP, TLS_PORT),
        "smtp_tls_policy_maps": "inline:{ [%s]:%d=none, [%s]:%d=encrypt }" % (
            bl.SINK_IP, PLAIN_PORT, bl.SINK_IP, TLS_PORT),
        "smtp_tls_security_level": "may",
        "smtp_tls_loglevel": "0",
        # Cached next-hop connections over TLS too (through tlsproxy), as mailgw does: without
        # this, Postfix makes a new connection and a full handshake to the next hop per message.
        "smtp_tls_connection_reuse": "yes",
    })
    return cf


POSTFIX_TLSPROXY = "tlsproxy  unix  -       -       n       -       0       tlsproxy\n"


def body(b, o):
    info = bl.machine()
    info["busy_before"], info["other_before"] = bl.machine_load(b.cg)
    t_run = time.time()
    pki = os.path.join(b.tmp, "pki")
    b.log("test PKI (tools/mkcerts)")
    if subprocess.run([os.path.join(bl.ROOT, "tools", "mkcerts"), "-q", "-o", pki],
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode:
        raise bl.BenchError("tools/mkcerts failed")
    results = {s[0]: {} for s in scenarios(o)}

    if "mailgw" in o["relays"]:
        run_mailgw(b, o, pki, info, results)
    if "postfix" in o["relays"]:
        run_postfix(b, o, pki, info, results)
    info["busy_after"], info["other_after"] = bl.machine_load(b.cg)
    return finish(o, info, results, t_run)


def run_mailgw(b, o, pki, info, results):
    b.log("mailgw: namespaces, gateway")
    b.topo_mailgw()
    gw = bl.Mailgw(b, mailgw_extra(pki), memory_mb=2048)
    try:
        gw.start()
        run_relay(b, gw, "mailgw", b.ext_ns, b.int_ns, pki, o, results)
        info["mailgw_smtp_stats"] = gw.ctl("show", "stats", "smtp")
        info["mailgw_errors"] = gw.errors()
    except bl.BenchError as e:
        b.log("mailgw: %s; its measurements fail" % e)
        info.setdefault("warnings", []).append("mailgw: %s" % e)
    gw.stop()
    info["mailgw_exit"] = gw.exit


def run_postfix(b, o, pki, info, results):
    b.log("postfix: namespaces, instance")
    b.topo_postfix()
    pf = bl.Postfix(b, postfix_relay(pki), bl.POSTFIX_TLSMGR + POSTFIX_TLSPROXY)
    try:
        pf.start()
        run_relay(b, pf, "postfix", b.pfc_ns, b.pfs_ns, pki, o, results)
        info["postfix_errors"] = pf.errors()
    except bl.BenchError as e:
        b.log("postfix: %s; its measurements fail" % e)
        info.setdefault("warnings", []).append("postfix: %s" % e)
    pf.stop()


def finish(o, info, results, t_run):
    info["wall_s"] = time.time() - t_run
    out = assemble(o, info, results)
    if o["json_out"]:
        with open(o["json_out"], "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
    if o["json"]:
        json.dump(out, sys.stdout, indent=1)
        print()
    else:
        sys.stdout.write(render(out))
    return 0


def assemble(o, info, results):
    rows = []
    warnings = list(info.get("warnings", []))
    for scen in scenarios(o):
        name, label = scen[0], scen[1]
        row = {"scenario": name, "label": label}
        for kind in ("mailgw", "postfix"):
            row[kind] = results[name].get(kind, {"ok": False, "error": "not run"})
        m, p = row["mailgw"], row["postfix"]
        row["n"] = "%ds" % slow_shape(o)[1] if name == "slow" else (m.get("n") or p.get("n"))
        row["msgs_ratio"] = bl.ratio(m.get("msgs_per_s"), p.get("msgs_per_s"))
        row["cpu_ratio"] = bl.ratio(m.get("cpu_s_per_1000"), p.get("cpu_s_per_1000"))
        for kind in ("mailgw", "postfix"):
            w = bl.gen_bound(row[kind], kind)
            if w:
                warnings.append("%s %s: %s" % (kind, name, w))
        rows.append(row)
    warnings.extend(bl.load_warnings(info))
    if info.get("cpus") == 2:
        warnings.append("only 2 CPUs: client and sink share CPU 0 with mailgw's control core")
    for e in info.get("mailgw_errors") or []:
        warnings.append("mailgw log: " + e)
    for e in (info.get("postfix_errors") or [])[:5]:
        warnings.append("postfix log: " + e)
    if info.get("mailgw_exit") not in (0, None):
        warnings.append("mailgw exit status %s" % info.get("mailgw_exit"))
    sessions, secs = slow_shape(o)
    return {"bench": "mail", "machine": {k: info.get(k) for k in ("cpu", "cpus", "kernel", "date", "postfix_version",
                                                                  "other_before", "other_after")},
            "scale": o["scale"], "sessions": o["sessions"], "slow_sessions": sessions, "slow_seconds": secs,
            "wall_s": info.get("wall_s"), "rows": rows, "warnings": warnings,
            "mailgw_smtp_stats": info.get("mailgw_smtp_stats")}


# -------------------------------------------------------------- the table

HEAD = ("%-26s %5s | %7s %7s %6s | %6s %6s %6s | %6s %6s %6s | %6s %6s | %5s %7s %8s %8s  %s")


def table_lines(out):
    L = []
    L.append("%-32s | %-22s | %-20s | %-20s | %-13s |" % ("", "  msgs/s, mgw/pfx", " CPU-s per 1000 msgs",
                                                          "  handshakes/s in", "  p99 ms"))
    L.append(HEAD % ("scenario", "N", "mgw", "pfx", "ratio", "mgw", "pfx", "ratio", "mgw", "pfx", "ratio",
                     "mgw", "pfx", "busy%", "gen% m/p", "sink% m/p", "other%", "notes"))
    for r in out["rows"]:
        m, p = r["mailgw"], r["postfix"]
        notes = []
        for kind, f in (("mailgw", m), ("postfix", p)):
            if not f.get("ok"):
                notes.append("%s FAILED: %s" % (kind, f.get("error") or "?"))
            elif f.get("notes"):
                notes.append("%s: %s" % (kind, f["notes"]))
        tls = r["scenario"] not in ("plain", "slow")
        L.append(HEAD % (
            r["label"], r["n"] if r["n"] else "?",
            bl.fmt(m.get("msgs_per_s"), ".0f", "FAILED"), bl.fmt(p.get("msgs_per_s"), ".0f", "FAILED"),
            bl.fmt(r["msgs_ratio"], ".2f"),
            bl.fmt(m.get("cpu_s_per_1000"), ".3f"), bl.fmt(p.get("cpu_s_per_1000"), ".3f"),
            bl.fmt(r["cpu_ratio"], ".3f"),
            bl.fmt(m.get("hs_per_s") if tls else None, ".0f", "-"), bl.fmt(p.get("hs_per_s") if tls else None, ".0f", "-"),
            bl.fmt(bl.ratio(m.get("hs_per_s"), p.get("hs_per_s")) if tls else None, ".2f", "-"),
            bl.fmt(m.get("p99_ms"), ".0f"), bl.fmt(p.get("p99_ms"), ".0f"),
            bl.fmt(m.get("worker_busy_pct"), ".0f"),
            "%s/%s" % (bl.fmt(m.get("gen_cpu_pct"), ".0f"), bl.fmt(p.get("gen_cpu_pct"), ".0f")),
            "%s/%s" % (bl.fmt(m.get("sink_cpu_pct"), ".0f"), bl.fmt(p.get("sink_cpu_pct"), ".0f")),
            "%s/%s" % (bl.fmt(m.get("other_pct"), ".0f"), bl.fmt(p.get("other_pct"), ".0f")),
            "; ".join(notes)))
    return L


def render(out):
    mc = out["machine"]
    L = ["mail relay: mailgw (cut-through) vs Postfix %s (queue on tmpfs), same smtpgen workload, same next hop"
         % mc.get("postfix_version", "?"),
         "CPU:     %s (%s CPUs); kernel %s; %s; whole run %.0f s" % (mc.get("cpu"), mc.get("cpus"), mc.get("kernel"),
                                                                    mc.get("date"), out.get("wall_s") or 0),
         "setup:   relay on CPU 1 (mailgw: 1 worker, busy poll | Postfix: every process); smtpgen client and"
         " sink on CPU 0;",
         "         %d sessions (slow: %d sessions for %d s); STARTTLS on both legs where named (level encrypt"
         " to the sink)" % (out["sessions"], out["slow_sessions"], out["slow_seconds"]), ""]
    L.extend(table_lines(out))
    L += ["",
          "msgs/s: messages at the sink (every body's SHA-256 verified) over the time from starting the client",
          "to the sink's last message. CPU: mgw = worker CPU x busy share + mailgw's other threads; pfx = every",
          "Postfix process (cgroup). handshakes/s: inbound STARTTLS handshakes. p99: the client's start of a",
          "message to its final reply (mailgw answers after the next hop did; Postfix once queued). busy%: mailgw",
          "worker's busy share. gen%, sink%: smtpgen client and sink CPU (both on CPU 0). other%: CPU the machine",
          "spent on anything else during the measurement, % of a CPU (noise)."]
    an = []
    for r in out["rows"]:
        for kind in ("mailgw", "postfix"):
            a = r[kind].get("anomalies")
            if a:
                an.append("  %-7s %-7s %s" % (kind, r["scenario"], " ".join("%s=%s" % kv for kv in sorted(a.items()))))
    L.append("anomalies:" + ("" if an else " none"))
    L.extend(an)
    for w in out["warnings"]:
        L.append("warning: " + w)
    return "\n".join(L) + "\n"


def markdown(mail, tls):
    """results.md: both tables as Markdown (make bench)."""
    mc = mail["machine"] if mail else tls["machine"]
    L = ["# mailgw benchmark results", "",
         "Machine: %s, %s CPUs, kernel %s, %s; Postfix %s." % (mc.get("cpu"), mc.get("cpus"), mc.get("kernel"),
                                                              mc.get("date"), mc.get("postfix_version")),
         "Relay/server on CPU 1, load generator and sink on CPU 0 (see tools/bench/README.md).", ""]
    if mail:
        L += ["## Mail relay (tools/bench/mail)", "",
              "| scenario | N | msgs/s mgw | msgs/s pfx | ratio | CPU-s/1000 mgw | CPU-s/1000 pfx | ratio |"
              " hs/s mgw | hs/s pfx | p99 ms mgw | p99 ms pfx | busy% | gen% m/p | other% m/p | notes |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
        for r in mail["rows"]:
            m, p = r["mailgw"], r["postfix"]
            tls_row = r["scenario"] not in ("plain", "slow")
            notes = "; ".join(("%s FAILED: %s" % (k, f.get("error")) if not f.get("ok") else
                               ("%s: %s" % (k, f["notes"]) if f.get("notes") else ""))
                              for k, f in (("mailgw", m), ("postfix", p))).strip("; ")
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s | %s/%s | %s |" % (
                r["label"], r["n"] or "?", bl.fmt(m.get("msgs_per_s"), ".0f", "FAILED"),
                bl.fmt(p.get("msgs_per_s"), ".0f", "FAILED"), bl.fmt(r["msgs_ratio"], ".2f"),
                bl.fmt(m.get("cpu_s_per_1000"), ".3f"), bl.fmt(p.get("cpu_s_per_1000"), ".3f"),
                bl.fmt(r["cpu_ratio"], ".3f"),
                bl.fmt(m.get("hs_per_s") if tls_row else None, ".0f", "-"),
                bl.fmt(p.get("hs_per_s") if tls_row else None, ".0f", "-"),
                bl.fmt(m.get("p99_ms"), ".0f"), bl.fmt(p.get("p99_ms"), ".0f"), bl.fmt(m.get("worker_busy_pct"), ".0f"),
                bl.fmt(m.get("gen_cpu_pct"), ".0f"), bl.fmt(p.get("gen_cpu_pct"), ".0f"),
                bl.fmt(m.get("other_pct"), ".0f"), bl.fmt(p.get("other_pct"), ".0f"), notes.replace("|", "/")))
        L.append("")
        L += ["Warnings:", ""] + ["- " + w.replace("|", "/") for w in mail["warnings"]] + [""]
    if tls:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import tls_bench
        L += ["## STARTTLS handshakes (tools/bench/tls)", "", "```"]
        L += tls_bench.render(tls).rstrip("\n").split("\n")
        L += ["```", ""]
    return "\n".join(L) + "\n"


def main(argv):
    if argv[:1] == ["report"]:
        if len(argv) != 2:
            usage()
        with open(argv[1]) as f:
            sys.stdout.write(render(json.load(f)))
        return 0
    if argv[:1] == ["markdown"]:
        if len(argv) not in (2, 3):
            usage()
        docs = []
        for p in argv[1:3]:
            try:
                with open(p) as f:
                    docs.append(json.load(f))
            except (OSError, ValueError) as e:
                bl.log(PROG, "%s: %s" % (p, e))
                docs.append(None)
        mail = next((d for d in docs if d and d.get("bench") == "mail"), None)
        tls = next((d for d in docs if d and d.get("bench") == "tls"), None)
        if not mail and not tls:
            return 1
        sys.stdout.write(markdown(mail, tls))
        return 0
    o = parse(argv)
    try:
        bl.check_root_and_builds(PROG)
    except bl.BenchError as e:
        bl.log(PROG, str(e))
        return 1
    return bl.run_main(PROG, TAG, lambda b: body(b, o))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
