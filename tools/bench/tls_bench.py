#!/usr/bin/python3
"""tls_bench.py — tools/bench/tls: STARTTLS handshakes per second per core,
mailgw against Postfix smtpd (OpenSSL), beside the wolfCrypt limit.

  tls_bench.py [--quick | --seconds S] [--sessions C] [--group x25519|p256]
               [--versions 1.2,1.3] [--json] [--json-out FILE]
  tls_bench.py report FILE.json         the table again, from a --json-out file

Cases: TLS 1.2 and 1.3 x ECDSA P-256 and RSA-2048 certificates x full
handshakes (--resume 0) and resumed ones (--resume 100: TLS 1.2 session
tickets, TLS 1.3 PSK with (EC)DHE), one key-exchange group for all (X25519
by default). Each case is one `smtpgen client --handshake-only` run of S
seconds (default 6, --quick 1.5) with C sessions in parallel (default 20):
connect, EHLO, STARTTLS, handshake, EHLO, QUIT, counted when the second EHLO
is answered. The client offers one signature algorithm (ECDSA+SHA256 or
RSA-PSS+SHA256) and one AES-128-GCM suite, so both servers must serve the
certificate of the row.

  mailgw   one worker on CPU 1, busy polling, control core 0; both
           certificates (tls.certificates), request_client_cert = false.
  postfix  smtpd with smtpd_tls_chain_files = the same ECDSA and RSA
           certificates, tickets from tlsmgr, every process on CPU 1.
  client   build/smtpgen client on CPU 0 (with mailgw's control core).

Server CPU per handshake: mailgw = the worker thread's CPU time x its busy
share of cycles (passes that received packets over all) + the CPU time of
its other threads; Postfix = all its processes' CPU time (cgroup). Crypto limit: build/bench-tls-prim (tools/bench/tls_prim.c,
our static wolfSSL) run on CPU 1 before the servers start: ECDHE + signature
per full handshake, ECDHE per TLS 1.3 resumption, none for TLS 1.2
resumption. "% of limit" = primitive time / mailgw's CPU per handshake.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

PROG = "tls"
TAG = "tlsb"
# X25519 preferred, P-256 offered too: in TLS 1.2 an ECDSA P-256 certificate needs P-256 among the
# client's groups (RFC 8422 5.1; OpenSSL enforces it, wolfSSL does not). The key share (TLS 1.3) is X25519.
GROUPS = {"x25519": "X25519:P-256", "p256": "P-256"}
GROUP_NAME = {"x25519": "X25519", "p256": "P-256"}
SIGALGS = {"ecdsa": "ECDSA+SHA256", "rsa": "RSA-PSS+SHA256"}
CIPHERS12 = {"ecdsa": "ECDHE-ECDSA-AES128-GCM-SHA256", "rsa": "ECDHE-RSA-AES128-GCM-SHA256"}
CIPHER13 = "TLS13-AES128-GCM-SHA256"
GROUP_REPORTED = {"x25519": "X25519", "p256": "SECP256R1"}


def usage():
    sys.stderr.write("usage: tools/bench/tls [--quick | --seconds S] [--sessions C] [--group x25519|p256]\n"
                     "                       [--versions 1.2,1.3] [--json] [--json-out FILE]\n"
                     "       tools/bench/tls report FILE.json\n")
    sys.exit(2)


def parse(argv):
    o = {"seconds": 6.0, "sessions": 20, "group": "x25519", "versions": ["1.2", "1.3"], "json": False,
         "json_out": None, "quick": False}
    i = 0
    try:
        while i < len(argv):
            a = argv[i]
            if a == "--quick":
                o["quick"], o["seconds"] = True, 1.5
            elif a == "--seconds":
                i += 1
                o["seconds"] = float(argv[i])
            elif a == "--sessions":
                i += 1
                o["sessions"] = int(argv[i])
            elif a == "--group":
                i += 1
                o["group"] = argv[i]
            elif a == "--versions":
                i += 1
                o["versions"] = argv[i].split(",")
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
    if (not 0.2 <= o["seconds"] <= 120 or not 1 <= o["sessions"] <= 1000 or o["group"] not in GROUPS
            or not o["versions"] or any(v not in ("1.2", "1.3") for v in o["versions"])):
        usage()
    return o


def cases(o):
    return [(v, c, m) for v in o["versions"] for c in ("ecdsa", "rsa") for m in ("full", "resumed")]


def client_args(o, case, seconds):
    ver, cert, mode = case
    return ["-S", bl.RELAY_IP + ":25", "-s", str(o["sessions"]), "-m", "0", "--duration", str(seconds),
            "--starttls", "--handshake-only", "--tls-version", ver, "--groups", GROUPS[o["group"]],
            "--sigalgs", SIGALGS[cert], "--ciphers", CIPHERS12[cert] if ver == "1.2" else CIPHER13,
            "--resume", "100" if mode == "resumed" else "0", "--timeout", "10", "--helo", "client.bench.example"]


# ------------------------------------------------------------ measuring

def measure(b, relay, kind, ns, o, case, seconds):
    """One run of the client against relay ('mailgw' or 'postfix'); a dict of figures."""
    f = {"ok": False, "error": ""}
    if not relay.alive():
        f["error"] = "%s not running" % kind
        return f
    before = bl.relay_readings(relay, kind)
    sn0 = bl.softnet_drops()
    noise = bl.Noise(b.cg)
    r0 = b.cg.usec("relay")
    rc, rep, err, wall, gen_cpu = bl.run_client(b, ns, client_args(o, case, seconds), seconds + 60)
    r1 = b.cg.usec("relay")
    f["other_pct"], f["steal_pct"] = noise.end()
    f["cpu0_busy_pct"] = noise.cpu_busy_pct[bl.GEN_CPU] if noise.cpu_busy_pct else None
    kdrops = bl.deltas(sn0, bl.softnet_drops())
    after = bl.relay_readings(relay, kind)
    f.update({"wall_s": wall, "gen_cpu_s": gen_cpu, "gen_cpu_pct": 100.0 * gen_cpu / wall if wall else None,
              "relay_cpu_s": (r1 - r0) / 1e6})
    if rep is None:
        f["error"] = "no client report (exit %s): %s" % (rc, err)
        return f
    notes = client_figures(f, rep, rc, err, o, case)
    if not f["handshakes"]:
        f["error"] = "no handshake completed: " + (err or "?")
        return f
    if kind == "mailgw":
        mailgw_figures(f, before, after, notes)
    else:
        postfix_figures(f, relay, before, notes)
    if kdrops:
        f.setdefault("anomalies", {}).update(kdrops)
    hs = f["handshakes"]
    f["cpu_us_per_hs"] = 1e6 * f["cpu_s"] / hs if f.get("cpu_s") is not None else None
    f["notes"] = "; ".join(notes)
    f["ok"] = True
    return f


def client_figures(f, rep, rc, err, o, case):
    """The client's report into f; the notes on what it did not do as asked."""
    ver, cert, mode = case
    full, resumed = bl.jget(rep, "tls.full"), bl.jget(rep, "tls.resumed")
    hs = full + resumed
    el = rep.get("elapsed_s") or f["wall_s"]
    f.update({"handshakes": hs, "full": full, "resumed": resumed, "elapsed_s": el,
              "hs_per_s": hs / el if el else None, "failed": bl.jget(rep, "messages.failed"),
              "connections": rep.get("connections"), "versions": bl.jget(rep, "tls.versions", {}),
              "ciphers": bl.jget(rep, "tls.ciphers", {}), "groups": bl.jget(rep, "tls.groups", {}),
              "latency_ms": bl.jget(rep, "latency_ms.start_to_final", {}),
              "resumed_pct": 100.0 * resumed / hs if hs else None, "errors": rep.get("errors", {})})
    notes = []
    if f["failed"] or rc != 0:
        notes.append("%d set-ups failed (%s)" % (f["failed"], ", ".join("%s %s" % kv for kv in f["errors"].items())
                                                 or err))
    if hs and f["versions"].get("TLSv" + ver, 0) != hs:
        notes.append("versions %s" % f["versions"])
    if mode == "resumed" and resumed < 0.9 * hs:
        notes.append("only %d of %d resumed" % (resumed, hs))
    if mode == "full" and resumed:
        notes.append("%d resumed" % resumed)
    keyed = hs if ver == "1.3" else full        # a resumed TLS 1.2 session has no key exchange
    if keyed and f["groups"].get(GROUP_REPORTED[o["group"]], 0) != keyed:
        notes.append("groups %s" % f["groups"])
    return notes


def mailgw_figures(f, before, after, notes):
    """mailgw's counters and CPU time over the run into f."""
    d = bl.deltas(before["stats"], after["stats"])
    f["counters"] = {k: v for k, v in d.items() if k.startswith(("tls.", "tcp.", "smtp.sessions", "log.",
                                                                   "ext.", "int."))}
    for c, n in (("tls.handshakes", f["handshakes"]), ("tls.resumed", f["resumed"])):
        if d.get(c, 0) != n:
            notes.append("%s moved by %d" % (c, d.get(c, 0)))
    odd = bl.mailgw_odd(d)
    if odd:
        f["anomalies"] = odd
    f.update(bl.mailgw_cpu(before, after))
    if f["cpu_s"] is None:
        notes.append("no worker cycles (mailgwctl show workers)")
    f["process_cpu_us_per_hs"] = 1e6 * f["relay_cpu_s"] / f["handshakes"]


def postfix_figures(f, relay, before, notes):
    """Postfix's CPU time (its cgroup) and its log over the run into f."""
    c = relay.log_counts(before["maillog_lines"])
    f["cpu_s"] = f["relay_cpu_s"]
    f["postfix_log"] = c
    if c["connects"] != f["connections"]:
        notes.append("maillog: %d connects, client %d" % (c["connects"], f["connections"]))
    odd = {"postfix." + k: v for k, v in c.items() if k in ("warning", "fatal", "panic") and v}
    if odd:
        f["anomalies"] = odd


def run_cases(b, relay, kind, ns, o, results):
    b.log("%s: warm-up" % kind)
    measure(b, relay, kind, ns, o, (o["versions"][-1], "ecdsa", "full"), min(2.0, o["seconds"]))
    for case in cases(o):
        f = measure(b, relay, kind, ns, o, case, o["seconds"])
        results[case][kind] = f
        b.log("%s TLS %s %s %s: %s" % (kind, case[0], case[1], case[2],
                                       "%.0f hs/s, %s us CPU/hs, gen %.0f%%" % (
                                           f["hs_per_s"], bl.fmt(f.get("cpu_us_per_hs"), ".0f"), f["gen_cpu_pct"])
                                       if f["ok"] else "FAILED: " + f["error"]))


# --------------------------------------------------------------- the run

def prim_limits(b, pki, quick):
    """build/bench-tls-prim --json on CPU 1 (nothing else runs there yet)."""
    cmd = ["taskset", "-c", str(bl.RELAY_CPU), os.path.join(bl.BUILD, "bench-tls-prim"), "--json",
           "--rsa-key", pki + "/gw/rsa.key", "--ecdsa-key", pki + "/gw/ecdsa.key"] + (["--quick"] if quick else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise bl.BenchError("bench-tls-prim failed: %s" % r.stderr.strip())
    return json.loads(r.stdout)


def prim_best(a, b):
    """The faster of two bench-tls-prim runs, primitive by primitive (noise only slows)."""
    out = dict(a)
    out["primitives"] = {k: min(v, b["primitives"].get(k, v), key=lambda x: x["us"])
                         for k, v in a["primitives"].items()}
    hs = []
    for h in a["server_per_handshake"]:
        h = dict(h)
        ops = [x for x in h["ops"].split(" + ") if x]
        h["us"] = sum(out["primitives"][x]["us"] for x in ops)
        h["limit_per_s"] = 1e6 / h["us"] if h["us"] else None
        hs.append(h)
    out["server_per_handshake"] = hs
    out["runs"] = 2
    return out


def prim_for(prim, case, group):
    ver, cert, mode = case
    for h in prim["server_per_handshake"]:
        if h["version"] != ver or h["mode"] != mode:
            continue
        if mode == "resumed" and ver == "1.2":
            return h
        if h["group"] == group and h["cert"] in (cert, "any"):
            return h
    return None


def body(b, o):
    info = bl.machine()
    info["busy_before"], info["other_before"] = bl.machine_load(b.cg)
    t_run = time.time()
    pki = os.path.join(b.tmp, "pki")
    b.log("test PKI (tools/mkcerts)")
    if subprocess.run([os.path.join(bl.ROOT, "tools", "mkcerts"), "-q", "-o", pki],
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode:
        raise bl.BenchError("tools/mkcerts failed")
    b.log("wolfCrypt primitives (build/bench-tls-prim, CPU %d)" % bl.RELAY_CPU)
    prim = prim_limits(b, pki, o["quick"])
    results = {c: {} for c in cases(o)}

    b.log("mailgw: namespaces, gateway")
    b.topo_mailgw()
    gw = bl.Mailgw(b, """smtp: {
  hostname = "mx.bench.example";
  accepted_domains = [ "bench.example" ];
  limits: { sessions_per_client = 65536; messages_per_session = 100000; };
};
tls: {
  certificates = ( { cert = "%s/gw/ecdsa.crt"; key = "%s/gw/ecdsa.key"; },
                   { cert = "%s/gw/rsa.crt"; key = "%s/gw/rsa.key"; } );
  request_client_cert = false;
};
routes = ( { domains = [ "*" ]; next_hops = [ "%s:25" ]; } );""" % (pki, pki, pki, pki, bl.SINK_IP))
    try:
        gw.start()
        run_cases(b, gw, "mailgw", b.ext_ns, o, results)
        info["mailgw_tls_stats"] = gw.ctl("show", "stats", "tls")
        info["mailgw_errors"] = gw.errors()
    except bl.BenchError as e:
        b.log("mailgw: %s; its measurements fail" % e)
        info.setdefault("warnings", []).append("mailgw: %s" % e)
    gw.stop()
    info["mailgw_exit"] = gw.exit

    b.log("postfix: namespaces, instance")
    b.topo_postfix()
    main_cf = bl.postfix_tls_server(pki)
    main_cf["myhostname"] = "mx.bench.example"
    pf = bl.Postfix(b, main_cf, bl.POSTFIX_TLSMGR)
    try:
        pf.start()
        run_cases(b, pf, "postfix", b.pfc_ns, o, results)
        info["postfix_errors"] = pf.errors()
    except bl.BenchError as e:
        b.log("postfix: %s; its measurements fail" % e)
        info.setdefault("warnings", []).append("postfix: %s" % e)
    pf.stop()
    b.log("wolfCrypt primitives again: the best of both runs counts")
    prim = prim_best(prim, prim_limits(b, pki, o["quick"]))
    info["busy_after"], info["other_after"] = bl.machine_load(b.cg)
    info["wall_s"] = time.time() - t_run
    out = assemble(o, info, prim, results)
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


def assemble(o, info, prim, results):
    rows = []
    warnings = list(info.get("warnings", []))
    for case in cases(o):
        ver, cert, mode = case
        row = {"tls": ver, "cert": cert, "mode": mode, "group": o["group"]}
        for kind in ("mailgw", "postfix"):
            row[kind] = results[case].get(kind, {"ok": False, "error": "not run"})
        m, p = row["mailgw"], row["postfix"]
        row["hs_ratio"] = bl.ratio(m.get("hs_per_s"), p.get("hs_per_s"))
        row["cpu_ratio"] = bl.ratio(m.get("cpu_us_per_hs"), p.get("cpu_us_per_hs"))
        h = prim_for(prim, case, o["group"])
        row["crypto"] = h
        row["crypto_us"] = h["us"] if h and h["us"] > 0 else None
        row["crypto_limit_per_s"] = h["limit_per_s"] if h else None
        row["mailgw_pct_of_limit"] = (100.0 * row["crypto_us"] / m["cpu_us_per_hs"]
                                      if row["crypto_us"] and m.get("cpu_us_per_hs") else None)
        for kind in ("mailgw", "postfix"):
            w = bl.gen_bound(row[kind], kind)
            if w:
                warnings.append("%s TLS %s %s %s: %s" % (kind, ver, cert, mode, w))
        rows.append(row)
    warnings.extend(bl.load_warnings(info))
    if info.get("cpus") == 2:
        warnings.append("only 2 CPUs: the client shares CPU 0 with mailgw's control core")
    for e in info.get("mailgw_errors") or []:
        warnings.append("mailgw log: " + e)
    for e in (info.get("postfix_errors") or [])[:5]:
        warnings.append("postfix log: " + e)
    if info.get("mailgw_exit") not in (0, None):
        warnings.append("mailgw exit status %s" % info.get("mailgw_exit"))
    return {"bench": "tls", "machine": {k: info.get(k) for k in ("cpu", "cpus", "kernel", "date", "postfix_version",
                                                                 "other_before", "other_after")},
            "seconds": o["seconds"], "sessions": o["sessions"], "group": o["group"], "wall_s": info.get("wall_s"),
            "prim": prim, "rows": rows, "warnings": warnings,
            "mailgw_tls_stats": info.get("mailgw_tls_stats")}


# -------------------------------------------------------------- the table

def render(out):
    L = []
    mc = out["machine"]
    L.append("STARTTLS handshakes per second per core: mailgw (wolfSSL) vs Postfix %s smtpd (OpenSSL)"
             % mc.get("postfix_version", "?"))
    L.append("CPU:     %s (%s CPUs); kernel %s; %s" % (mc.get("cpu"), mc.get("cpus"), mc.get("kernel"), mc.get("date")))
    L.append("setup:   server on CPU 1 (mailgw: 1 worker, busy poll | Postfix: every process); smtpgen client"
             " --handshake-only on CPU 0,")
    L.append("         %d sessions, %.1f s per case; ECDHE %s; AES-128-GCM; whole run %.0f s"
             % (out["sessions"], out["seconds"], GROUP_NAME[out["group"]], out.get("wall_s") or 0))
    L.append("crypto:  %s, one core (bench-tls-prim)" % out["prim"]["library"])
    L.append("")
    L.append("%-15s | %-24s | %-34s | %-22s |" % ("", "   handshakes/s", "  server CPU us per handshake",
                                                  "  wolfCrypt limit"))
    L.append("%-3s %-5s %-5s | %7s %7s %8s | %7s %8s %7s %8s | %6s %7s %7s | %5s %8s %10s %11s  %s" % (
        "TLS", "cert", "mode", "mgw", "pfx", "mgw/pfx", "mgw", "(proc)", "pfx", "mgw/pfx", "us", "hs/s",
        "% used", "busy%", "gen% m/p", "other% m/p", "resumed m/p", "notes"))
    for r in out["rows"]:
        m, p = r["mailgw"], r["postfix"]
        notes = []
        for kind, f in (("mailgw", m), ("postfix", p)):
            if not f.get("ok"):
                notes.append("%s FAILED: %s" % (kind, f.get("error") or "?"))
            elif f.get("notes"):
                notes.append("%s: %s" % (kind, f["notes"]))
        res = "%s/%s" % (bl.fmt(m.get("resumed_pct"), ".0f", "-"), bl.fmt(p.get("resumed_pct"), ".0f", "-"))
        L.append("%-3s %-5s %-5s | %7s %7s %8s | %7s %8s %7s %8s | %6s %7s %7s | %5s %8s %10s %11s  %s" % (
            r["tls"], r["cert"].upper(), "full" if r["mode"] == "full" else "resum",
            bl.fmt(m.get("hs_per_s"), ".0f", "FAILED"), bl.fmt(p.get("hs_per_s"), ".0f", "FAILED"),
            bl.fmt(r["hs_ratio"], ".2f"),
            bl.fmt(m.get("cpu_us_per_hs"), ".0f"), bl.fmt(m.get("process_cpu_us_per_hs"), ".0f"),
            bl.fmt(p.get("cpu_us_per_hs"), ".0f"), bl.fmt(r["cpu_ratio"], ".3f"),
            bl.fmt(r["crypto_us"], ".0f", "-"), bl.fmt(r["crypto_limit_per_s"], ".0f", "sym"),
            bl.fmt(r["mailgw_pct_of_limit"], ".0f", "-"),
            bl.fmt(m.get("worker_busy_pct"), ".0f"),
            "%s/%s" % (bl.fmt(m.get("gen_cpu_pct"), ".0f"), bl.fmt(p.get("gen_cpu_pct"), ".0f")),
            "%s/%s" % (bl.fmt(m.get("other_pct"), ".0f"), bl.fmt(p.get("other_pct"), ".0f")),
            res, "; ".join(notes)))
    L.append("")
    L.append("handshakes/s: complete set-ups (EHLO, STARTTLS, handshake, EHLO, QUIT) per second at the client.")
    L.append("server CPU: mgw = worker CPU x busy share + mailgw's other threads; (proc) = its process time, busy")
    L.append("polling included; pfx = every Postfix process (cgroup). wolfCrypt limit: server-side public-key")
    L.append("primitives per handshake (ECDHE + signature; TLS 1.3 resumption: ECDHE; TLS 1.2 resumption:")
    L.append("sym = symmetric only, no bound) and the handshakes/s one core could do with nothing else;")
    L.append("% used = that primitive time / mgw CPU per handshake. busy%: mailgw worker's busy share of cycles.")
    L.append("gen%: the client's CPU over its run (above 90: the client set the pace). other%: CPU time")
    L.append("the machine spent on anything but this bench during the case (other containers too), % of a CPU:")
    L.append("the noise. resumed: % of handshakes that resumed a session.")
    L.append("")
    L.append("primitives (us per op, one core): " + ", ".join(
        "%s %.1f" % (k, v["us"]) for k, v in out["prim"]["primitives"].items()))
    an = []
    for r in out["rows"]:
        for kind in ("mailgw", "postfix"):
            a = r[kind].get("anomalies")
            if a:
                an.append("  %-7s TLS %s %-5s %-7s %s" % (kind, r["tls"], r["cert"], r["mode"],
                                                         " ".join("%s=%s" % kv for kv in sorted(a.items()))))
    L.append("anomalies:" + ("" if an else " none"))
    L.extend(an)
    for w in out["warnings"]:
        L.append("warning: " + w)
    return "\n".join(L) + "\n"


def main(argv):
    if argv[:1] == ["report"]:
        if len(argv) != 2:
            usage()
        with open(argv[1]) as f:
            sys.stdout.write(render(json.load(f)))
        return 0
    o = parse(argv)
    try:
        bl.check_root_and_builds(PROG, ("bench-tls-prim",))
    except bl.BenchError as e:
        bl.log(PROG, str(e))
        return 1
    return bl.run_main(PROG, TAG, lambda b: body(b, o))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
