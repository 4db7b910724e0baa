"""benchlib.py — shared machinery of tools/bench/tls and tools/bench/mail
(standard library only): the namespace topologies of tools/bench/smtp, CPU
accounting with cgroups, mailgw and a private Postfix started pinned to
CPU 1, smtpgen's client and sink pinned to CPU 0, and the table helpers.

The topologies are made by the shell functions of tests/lib (netns.sh's
ns_create/ns_link, gw.sh's topo_two_ports, smtp.sh's pf_setup/pf_start/
pf_stop), run through bash, so that the benches and the integration tests
build the same thing:

  mailgw   mgw-gw-TAG (af_packet ports ge/gi TAG), mgw-ext-TAG (client,
           203.0.113.10), mgw-int-TAG (next hop, 10.20.0.10); mailgw
           answers on 203.0.113.1 and reaches the next hop from 10.20.0.1
  postfix  mgw-pf-TAG holding both relay ends (same addresses), mgw-pfc-TAG
           (client) and mgw-pfs-TAG (next hop), as tools/bench/smtp does

Everything a bench makes is registered in Bench.cleanups and undone on any
exit: processes (only those it started: they live in its cgroups, and are
signalled one pid at a time), namespaces, cgroups, the tmpfs directory.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.path.join(ROOT, "build")
RELAY_IP = "203.0.113.1"     # both relays
CLIENT_IP = "203.0.113.10"
INT_GW_IP = "10.20.0.1"
SINK_IP = "10.20.0.10"
GEN_CPU = 0
RELAY_CPU = 1


def log(prog, msg):
    sys.stderr.write("%s: %s\n" % (prog, msg))
    sys.stderr.flush()


class BenchError(Exception):
    pass


def bash(script, *args, check=True, quiet=True, **kw):
    """Runs a bash script with tests/lib on hand (cwd: the repository)."""
    cmd = ["bash", "-c", "set -e; cd %s; %s" % (shlex.quote(ROOT), script), "bash"] + [str(a) for a in args]
    out = subprocess.DEVNULL if quiet else None
    r = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE if quiet else None, text=True, **kw)
    if check and r.returncode != 0:
        raise BenchError("bash %r failed (%d): %s" % (script[:80], r.returncode, (r.stderr or "").strip()[-400:]))
    return r.returncode


def ns_exists(name):
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return any(line.split()[0] == name for line in r.stdout.splitlines() if line.strip())


# ------------------------------------------------------------------ cgroups

class Cgroups:
    """One cgroup per role (relay, gen, sink, aux) under mailgw-bench-NAME:
    cgroup v2 cpu.stat usage_usec, or v1 cpuacct.usage."""

    ROLES = ("relay", "gen", "sink", "aux")

    def __init__(self, name):
        self.base = None
        mnt, self.kind = self._mount()
        self.home = self._own(mnt)
        base = os.path.join(mnt, "mailgw-bench-" + name)
        if os.path.isdir(base):
            for g in self.ROLES:
                p = os.path.join(base, g, "cgroup.procs")
                if os.path.exists(p) and open(p).read().strip():
                    raise BenchError("%s holds processes: another run of this bench?" % base)
            for g in self.ROLES:
                try:
                    os.rmdir(os.path.join(base, g))
                except OSError:
                    pass
            os.rmdir(base)
        os.mkdir(base)
        self.base = base
        for g in self.ROLES:
            os.mkdir(os.path.join(base, g))

    @staticmethod
    def _mount():
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split(" - ") for line in f]
        for pre, post in mounts:
            fstype, opts = post.split()[0], post.split()[2]
            target = pre.split()[4]
            if fstype == "cgroup2" and os.access(target, os.W_OK):
                return target, "cgroup v2 cpu.stat (%s)" % target
        for pre, post in mounts:
            fstype, opts = post.split()[0], post.split()[2]
            target = pre.split()[4]
            if fstype == "cgroup" and "cpuacct" in opts.split(","):
                return target, "cgroup v1 cpuacct (%s)" % target
        raise BenchError("no cgroup v2 and no cgroup v1 cpuacct mounted")

    @staticmethod
    def _own(mnt):
        """The cgroup this process is in now (to go back to at the end)."""
        v1 = "cgroup v1" in Cgroups._mount()[1]
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, ctrl, path = line.rstrip("\n").split(":", 2)
                if (not v1 and ctrl == "") or (v1 and "cpuacct" in ctrl.split(",")):
                    return os.path.join(mnt, path.lstrip("/"))
        return mnt

    def path(self, role, f):
        return os.path.join(self.base, role, f)

    def join(self, role, pid):
        with open(self.path(role, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def usec(self, role):
        p = self.path(role, "cpu.stat")
        if os.path.exists(p):
            with open(p) as f:
                for line in f:
                    k, v = line.split()
                    if k == "usage_usec":
                        return int(v)
        with open(self.path(role, "cpuacct.usage")) as f:
            return int(f.read()) // 1000

    def pids(self, role):
        try:
            with open(self.path(role, "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def kill(self, role):
        """SIGKILL every process of the group, one pid at a time (all started by this bench)."""
        for pid in self.pids(role):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def remove(self):
        if not self.base:
            return
        try:                            # this process first leaves its group (aux)
            with open(os.path.join(self.home, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            pass
        for g in self.ROLES:
            self.kill(g)
            for _ in range(30):
                try:
                    os.rmdir(os.path.join(self.base, g))
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        try:
            os.rmdir(self.base)
        except OSError:
            pass
        self.base = None


def in_cgroup(cg, role, cpu):
    """preexec_fn: join the cgroup and run on one CPU."""
    def f():
        cg.join(role, os.getpid())
        os.sched_setaffinity(0, {cpu})
    return f


# -------------------------------------------------------------- the bench

class Bench:
    """Names, namespaces, cgroups, a tmpfs directory and the cleanups of one run."""

    def __init__(self, prog, tag):
        self.prog = prog
        self.tag = tag
        self.cleanups = []
        self.gw_ns, self.ext_ns, self.int_ns = ("mgw-%s-%s" % (r, tag) for r in ("gw", "ext", "int"))
        self.pf_ns, self.pfc_ns, self.pfs_ns = ("mgw-%s-%s" % (r, tag) for r in ("pf", "pfc", "pfs"))
        for ns in self.namespaces():
            if ns_exists(ns):
                raise BenchError("namespace %s exists: another %s is running, or one was killed (then: "
                                 "ip netns del it, and each of mgw-{gw,ext,int,pf,pfc,pfs}-%s)" % (ns, prog, tag))
        self.cg = Cgroups(tag)
        self.cleanups.append(self.cg.remove)
        # This script and what it runs (mailgwctl, ip, bash) on CPU 0, in aux: off the relay's CPU,
        # and out of the "other work" figure (Noise).
        self.cg.join("aux", os.getpid())
        os.sched_setaffinity(0, {GEN_CPU})
        self.tmp = tempfile.mkdtemp(prefix="mailgw-bench-%s." % tag, dir="/dev/shm")
        os.chmod(self.tmp, 0o711)
        self.cleanups.append(lambda: subprocess.run(["rm", "-rf", self.tmp]))
        # A copy of the binaries: a rebuild in the working tree during the run changes nothing.
        self.bindir = os.path.join(self.tmp, "bin")
        os.mkdir(self.bindir)
        for f in ("mailgw", "mailgwctl", "smtpgen"):
            subprocess.run(["cp", os.path.join(BUILD, f), self.bindir], check=True)

    def bin(self, name):
        return os.path.join(self.bindir, name)

    def namespaces(self):
        return (self.gw_ns, self.ext_ns, self.int_ns, self.pf_ns, self.pfc_ns, self.pfs_ns)

    def log(self, msg):
        log(self.prog, msg)

    def close(self):
        while self.cleanups:
            f = self.cleanups.pop()
            try:
                f()
            except Exception as e:      # keep cleaning up
                self.log("cleanup: %s" % e)

    def _ns_cleanup(self, names):
        def f():
            for ns in names:
                subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        self.cleanups.append(f)

    # ---- topologies ----

    def topo_mailgw(self):
        """gw.sh's topo_two_ports: mailgw's namespaces and veth pairs."""
        self._ns_cleanup((self.gw_ns, self.ext_ns, self.int_ns))
        bash('NS_TAG=$1; source tests/lib/gw.sh; topo_two_ports', self.tag)
        self._client_sysctl(self.ext_ns)

    def topo_postfix(self):
        """Postfix's namespaces, as tools/bench/smtp makes them: the relay
        namespace holds both relay ends with mailgw's addresses."""
        t = self.tag
        self._ns_cleanup((self.pf_ns, self.pfc_ns, self.pfs_ns))
        bash('''source tests/lib/netns.sh
			T=$1 PF=$2 PFC=$3 PFS=$4
			ns_create "$PF"; ns_create "$PFC"; ns_create "$PFS"
			ns_link "$PF" "pfe$T" "$PFC" "pce$T" "$5/24" "$6"
			ns_link "$PF" "pfi$T" "$PFS" "psi$T" "$7/24" "$8"
			for i in e i; do ip netns exec "$PF" sysctl -qw "net.ipv4.conf.pf$i$T.arp_ignore=0"; done
			ip -n "$PF" addr add "$6/24" dev "pfe$T"
			ip -n "$PF" addr add "$8/24" dev "pfi$T"''',
             t, self.pf_ns, self.pfc_ns, self.pfs_ns, CLIENT_IP, RELAY_IP, SINK_IP, INT_GW_IP)
        self._client_sysctl(self.pfc_ns)
        self._client_sysctl(self.pf_ns)

    @staticmethod
    def _client_sysctl(ns):
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                        "net.ipv4.ip_local_port_range=1024 65535", "net.ipv4.tcp_tw_reuse=1"], check=True)

    # ---- processes ----

    def popen(self, ns, argv, role, cpu, **kw):
        """argv in namespace ns (None: here), in cgroup role, on one CPU."""
        cmd = (["ip", "netns", "exec", ns] if ns else []) + argv
        return subprocess.Popen(cmd, preexec_fn=in_cgroup(self.cg, role, cpu), **kw)

    def wait_port(self, ns, addr, port, timeout=30, banner=""):
        return bash('source tests/lib/smtp.sh; smtp_wait_port "$@"', ns, addr, port, timeout, banner,
                    check=False) == 0


def stop_process(p, timeout=15):
    """SIGTERM, then SIGKILL after timeout s; the exit status (or 'KILLED')."""
    if p.poll() is not None:
        return p.returncode
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "KILLED"


# ------------------------------------------------------------------ mailgw

def mailgw_config(b, log_file, sock, extra, poll="busy", memory_mb=1024):
    """A configuration for topo_mailgw: one worker on CPU 1, control core 0;
    extra: the top-level groups (smtp, tls, routes, tcp ...) as text."""
    return """version = 1;
system: {
  control_core = 0;
  worker_cores = [ 1 ];
  hugepages = false;
  memory_mb = %d;
  file_prefix = "mgwb%s";
  poll_mode = "%s";
  limits: { mbufs_per_worker = 65535; rx_descriptors = 4096; tx_descriptors = 4096; };
};
ports = (
  { name = "ext"; device = "net_af_packet0,iface=ge%s"; address = "%s/24"; },
  { name = "int"; device = "net_af_packet1,iface=gi%s"; address = "%s/24"; }
);
console: { socket = "%s"; };
log: { file = "%s"; level = "info"; };
%s
""" % (memory_mb, b.tag, poll, b.tag, RELAY_IP, b.tag, INT_GW_IP, sock, log_file, extra)


class Mailgw:
    """build/mailgw in the gateway namespace, in the relay cgroup."""

    def __init__(self, b, extra_config, memory_mb=1024):
        self.b = b
        self.sock = os.path.join(b.tmp, "console.sock")
        self.log_file = os.path.join(b.tmp, "mailgw.log")
        self.conf = os.path.join(b.tmp, "mailgw.conf")
        with open(self.conf, "w") as f:
            f.write(mailgw_config(b, self.log_file, self.sock, extra_config, memory_mb=memory_mb))
        self.p = None
        self.worker_tid = None
        self.exit = None

    def _preexec(self):
        self.b.cg.join("relay", os.getpid())
        os.sched_setaffinity(0, range(os.cpu_count()))   # EAL wants its lcores' CPUs allowed

    def start(self):
        out = open(os.path.join(self.b.tmp, "mailgw.out"), "w")
        # Its own threads pin themselves (EAL): control core 0, the worker on 1.
        self.p = subprocess.Popen(["ip", "netns", "exec", self.b.gw_ns, self.b.bin("mailgw"),
                                   "-c", self.conf], stdout=out, stderr=subprocess.STDOUT,
                                  preexec_fn=self._preexec)
        self.b.cleanups.append(self.stop)
        for _ in range(300):
            if self.p.poll() is not None:
                tail = open(os.path.join(self.b.tmp, "mailgw.out")).read()[-1500:]
                raise BenchError("mailgw exited early (%s):\n%s" % (self.p.returncode, tail))
            if self.ctl("show", "ports") is not None:
                break
            time.sleep(0.1)
        else:
            raise BenchError("mailgw not ready after 30 s")
        self.pid = self.p.pid
        # ip netns exec execs mailgw: same pid. The worker: the thread pinned to CPU 1.
        for t in os.listdir("/proc/%d/task" % self.pid):
            try:
                with open("/proc/%d/task/%s/status" % (self.pid, t)) as f:
                    if any(line.split() == ["Cpus_allowed_list:", str(RELAY_CPU)] for line in f):
                        self.worker_tid = int(t)
            except OSError:
                pass
        if not self.b.wait_port(self.b.ext_ns, RELAY_IP, 25, 10, "220"):
            raise BenchError("mailgw: no 220 greeting on %s:25" % RELAY_IP)

    def ctl(self, *args, as_json=False):
        cmd = [self.b.bin("mailgwctl"), "-s", self.sock] + (["--json"] if as_json else []) + list(args)
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        if as_json:
            try:
                return json.loads(r.stdout)
            except ValueError:
                return None
        return r.stdout

    def stats(self):
        """Every counter, and the ports' drop counters, as a dict."""
        d = dict(self.ctl("show", "stats", as_json=True) or {})
        for p in self.ctl("show", "ports", as_json=True) or []:
            for k in ("rx_missed", "rx_errors", "tx_errors", "rx_nombuf"):
                if k in p:
                    d["%s.%s" % (p["name"], k)] = p[k]
        return d

    def cycles(self):
        """(busy, idle) cycles of worker 0, or None."""
        w = self.ctl("show", "workers", as_json=True)
        try:
            return int(w[0]["busy_cycles"]), int(w[0]["idle_cycles"])
        except (TypeError, LookupError, ValueError):
            return None

    def thread_cpu(self):
        """(worker thread, all other threads) CPU seconds so far (schedstat: ns, not ticks)."""
        w = o = 0
        for t in os.listdir("/proc/%d/task" % self.pid):
            v = sched_ns("/proc/%d/task/%s/schedstat" % (self.pid, t)) / 1e9
            if self.worker_tid and int(t) == self.worker_tid:
                w += v
            else:
                o += v
        return w, o

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def stop(self):
        if self.p is None:
            return
        p, self.p = self.p, None
        self.exit = stop_process(p)
        subprocess.run(["rm", "-rf", "/var/run/dpdk/mgwb%s" % self.b.tag])

    def errors(self, n=10):
        try:
            with open(self.log_file) as f:
                return [l.rstrip() for l in f if ": error: " in l or ": warning: " in l][:n]
        except OSError:
            return []


def sched_ns(path):
    """The time on CPU of a task, ns (the first field of /proc/.../schedstat)."""
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def relay_readings(relay, kind):
    """What a measurement reads from the relay before and after: mailgw's
    counters, worker cycles and thread CPU times; Postfix's maillog length."""
    if kind == "mailgw":
        return {"stats": relay.stats(), "cycles": relay.cycles(), "threads": relay.thread_cpu()}
    return {"maillog_lines": relay.maillog_lines()}


def mailgw_cpu(before, after):
    """mailgw's CPU figures between two relay_readings(): cpu_s (None without cycles) and its parts."""
    if not before["cycles"] or not after["cycles"]:
        return {"cpu_s": None}
    work, share, worker, other = mailgw_work(before["cycles"], after["cycles"], before["threads"], after["threads"])
    return {"cpu_s": work, "worker_busy_pct": 100.0 * share, "worker_cpu_s": worker, "other_threads_s": other,
            "worker_busy_cycles": after["cycles"][0] - before["cycles"][0]}


def mailgw_work(c0, c1, th0, th1):
    """mailgw's CPU seconds of work between two readings of cycles() and
    thread_cpu(): the worker thread's CPU time times its busy share of
    cycles (busy polling: the rest is idle polling), plus every other
    thread's CPU time. The busy cycles alone (TSC) would also count the time
    the worker sat preempted inside a busy pass; its CPU time does not.
    (work, busy share, worker CPU s, other threads s)."""
    dbusy, didle = c1[0] - c0[0], c1[1] - c0[1]
    share = dbusy / (dbusy + didle) if dbusy + didle > 0 else 0.0
    worker, other = th1[0] - th0[0], th1[1] - th0[1]
    return worker * share + other, share, worker, other


# mailgw counters that should not move in a clean run (as tools/bench/smtp's list; TIME_WAIT
# recycling, expected at thousands of connections per second, left out).
MAILGW_ODD_RE = re.compile(
    r"^(smtp\.(refused_|command_errors|command_too_long|bare_|text_line_too_long|message_too_big|too_many|"
    r"timeouts|relay_denied|no_route|rcpt_other|rcpt_refused|messages_tempfailed|messages_rejected)|"
    r"smtp_client\.(connect_failed|failovers|lost|timeouts|protocol_errors|no_slot|tls_handshake_failed|"
    r"tls_verify_failed|tls_not_offered)|tls\.(failed|refused|starttls_unavailable|starttls_injection)|"
    r"arp\.(resolve_failed|tx_queue_full|tx_cache_full|shared_dropped)|"
    r"tcp\.[a-z_]*(retransmit|rto_timeouts|tlp_probes|dup_acks|ooo_|tx_resets|aborted|timed_out|challenge|"
    r"syncookies|overflows|bad_|closed_port|ring_full|no_mbuf|dropped|failed)|"
    r"(port|steer|ipv4|log)\.[a-z_]*(dropped|failed|bad_|no_mbuf|ring_full)|(ext|int)\.)")


def mailgw_odd(d):
    """The counters of a delta dict that should not have moved."""
    return {k: v for k, v in d.items() if MAILGW_ODD_RE.match(k)}


HZ = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------- postfix

class Postfix:
    """A private Postfix instance (tests/lib/smtp.sh's pf_setup) in the
    postfix namespace; every process on CPU 1 in the relay cgroup."""

    def __init__(self, b, main_cf, master_cf_extra=""):
        self.b = b
        self.dir = os.path.join(b.tmp, "postfix")
        bash('source tests/lib/smtp.sh; pf_setup "$1" "$2" >&2', self.dir, RELAY_IP)
        args = []
        for k, v in main_cf.items():
            args.append("%s = %s" % (k, v))
        subprocess.run(["postconf", "-c", os.path.join(self.dir, "etc"), "-e"] + args, check=True)
        if master_cf_extra:
            with open(os.path.join(self.dir, "etc", "master.cf"), "a") as f:
                f.write(master_cf_extra)
        self.started = False

    def start(self):
        self.b.cleanups.append(self.stop)
        r = subprocess.run(["bash", "-c", 'cd "$1"; source tests/lib/smtp.sh; pf_start "$2" "$3"', "bash",
                            ROOT, self.b.pf_ns, self.dir], capture_output=True, text=True,
                           preexec_fn=in_cgroup(self.b.cg, "relay", RELAY_CPU))
        if r.returncode != 0:
            raise BenchError("postfix did not start: %s" % (r.stderr.strip()[-1500:]))
        self.started = True
        m = self.master()
        if m and os.sched_getaffinity(m) != {RELAY_CPU}:
            self.b.log("postfix: master not on CPU %d" % RELAY_CPU)

    def master(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def alive(self):
        return self.master() is not None

    def stop(self):
        if self.started:
            self.started = False
            bash('source tests/lib/smtp.sh; pf_stop "$1"', self.dir, check=False)

    def maillog(self):
        return os.path.join(self.dir, "maillog")

    def maillog_lines(self):
        try:
            with open(self.maillog(), errors="replace") as f:
                return sum(1 for _ in f)
        except OSError:
            return 0

    def log_counts(self, start_line):
        """Counts of interesting maillog lines after start_line."""
        c = {"sent": 0, "deferred": 0, "bounced": 0, "reject": 0, "warning": 0, "fatal": 0, "panic": 0,
             "connects": 0}
        try:
            with open(self.maillog(), errors="replace") as f:
                for i, line in enumerate(f):
                    if i < start_line:
                        continue
                    for k, pat in (("sent", "status=sent"), ("deferred", "status=deferred"),
                                   ("bounced", "status=bounced"), ("reject", " reject: "),
                                   ("warning", " warning: "), ("fatal", " fatal: "), ("panic", " panic: ")):
                        if pat in line:
                            c[k] += 1
                    if "]: connect from " in line and "smtpd[" in line:
                        c["connects"] += 1
        except OSError:
            pass
        return c

    def queue_files(self):
        n = 0
        for d in ("incoming", "active", "deferred", "hold", "maildrop"):
            for _, _, files in os.walk(os.path.join(self.dir, "queue", d)):
                n += len(files)
        return n

    def errors(self, n=10):
        try:
            with open(self.maillog(), errors="replace") as f:
                return [l.rstrip() for l in f if " warning: " in l or " fatal: " in l or " panic: " in l
                        or " error: " in l][:n]
        except OSError:
            return []


POSTFIX_TLSMGR = "tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n"


def postfix_tls_server(pki):
    """main.cf settings: STARTTLS offered with the same ECDSA and RSA
    certificates as mailgw, client certificates not asked for (mailgw:
    request_client_cert = false), session tickets through tlsmgr."""
    return {
        "smtpd_tls_security_level": "may",
        "smtpd_tls_chain_files": "%s/gw/ecdsa.key, %s/gw/ecdsa.crt, %s/gw/rsa.key, %s/gw/rsa.crt" % ((pki,) * 4),
        "smtpd_tls_loglevel": "0",
        "smtpd_tls_ask_ccert": "no",
        "smtpd_tls_received_header": "no",
        "smtpd_tls_session_cache_timeout": "3600s",
        "tls_random_source": "dev:/dev/urandom",
    }


# ----------------------------------------------------------------- smtpgen

class Sink:
    """build/smtpgen sink on SINK_IP:25 in a namespace, CPU 0, sink cgroup."""

    def __init__(self, b, ns, args, name="sink"):
        self.b = b
        self.pid_file = os.path.join(b.tmp, name + ".pid")
        self.report = os.path.join(b.tmp, name + ".json")
        self.err = os.path.join(b.tmp, name + ".err")
        for f in (self.pid_file, self.report):
            if os.path.exists(f):
                os.unlink(f)
        if "-L" not in args:
            args = ["-L", SINK_IP + ":25"] + list(args)
        self.p = b.popen(ns, [b.bin("smtpgen"), "sink", "--pid-file", self.pid_file,
                              "--json-report", self.report] + list(args),
                         "sink", GEN_CPU, stdout=subprocess.DEVNULL, stderr=open(self.err, "w"))
        b.cleanups.append(self.stop)
        for _ in range(100):
            if os.path.exists(self.pid_file) and os.path.getsize(self.pid_file):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise BenchError("smtpgen sink did not start: %s" % open(self.err).read()[-500:])

    def stop(self):
        """SIGTERM; its JSON report (or None)."""
        if self.p is None:
            return None
        p, self.p = self.p, None
        stop_process(p, 10)
        try:
            with open(self.report) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def run_client(b, ns, args, timeout):
    """build/smtpgen client --json ARGS in ns on CPU 0 (gen cgroup):
    (exit status, report or None, stderr tail, wall seconds, generator CPU s)."""
    err = os.path.join(b.tmp, "client.err")
    g0 = b.cg.usec("gen")
    t0 = time.time()
    p = b.popen(ns, [b.bin("smtpgen"), "client", "--json"] + list(args), "gen", GEN_CPU,
                stdout=subprocess.PIPE, stderr=open(err, "w"), text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        b.cg.kill("gen")
        out, _ = p.communicate()
        out = ""
    wall = time.time() - t0
    gen_cpu = (b.cg.usec("gen") - g0) / 1e6
    try:
        rep = json.loads(out) if out.strip() else None
    except ValueError:
        rep = None
    tail = ""
    try:
        with open(err, errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
            tail = lines[-1][:200] if lines else ""
    except OSError:
        pass
    return (p.returncode if p.returncode is not None else "killed"), rep, tail, wall, gen_cpu


def jget(d, path, default=0):
    """A value from a nested dict by a dotted path whose keys may hold dots."""
    parts = path.split(".")
    while parts:
        if not isinstance(d, dict):
            return default
        for n in range(len(parts), 0, -1):
            k = ".".join(parts[:n])
            if k in d:
                d, parts = d[k], parts[n:]
                break
        else:
            return default
    return d


# ----------------------------------------------------------- the machine

def busy_procs(exclude=(), seconds=1.0):
    """Processes over 10 % of a CPU during `seconds`, as 'name pct%' strings."""
    def sample():
        s = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    t = f.read()
            except OSError:
                continue
            name = t[t.find("(") + 1:t.rfind(")")]
            fields = t[t.rfind(")") + 2:].split()
            s[int(pid)] = (name, int(fields[11]) + int(fields[12]))
        return s
    a = sample()
    time.sleep(seconds)
    b = sample()
    out = []
    for pid, (name, t) in b.items():
        if pid in exclude or pid not in a:
            continue
        pct = 100.0 * (t - a[pid][1]) / HZ / seconds
        if pct >= 10:
            out.append("%s %.0f%%" % (name, pct))
    return out


def machine_load(cg):
    """(busy processes we can see, (other %, steal %) of the whole machine) over one second."""
    n = Noise(cg)
    procs = busy_procs()
    return procs, n.end()


def load_warnings(info):
    w = []
    for when in ("before", "after"):
        procs, (other, steal) = info.get("busy_" + when) or [], info.get("other_" + when) or (0, 0)
        if procs or other > 15 or steal > 5:
            w.append("the machine was busy %s the run: %.0f%% of a CPU on other work, %.0f%% stolen%s: "
                     "figures are noisy" % (when, other, steal, " (%s)" % ", ".join(procs) if procs else ""))
    return w


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    pfv = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": os.uname().release,
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "postfix_version": pfv}


class Noise:
    """What else the machine did during a measurement: CPU time of every
    CPU (/proc/stat) minus this bench's cgroups = other work (other
    containers' included, which /proc does not show), and the steal time
    a hypervisor took. Both in % of one CPU over the wall time. Also how
    busy each CPU was in all (cpu_busy_pct, after end()): CPU 0 near 100
    means the load generator's CPU, whoever used it, set the pace."""

    def __init__(self, cg):
        self.cg = cg
        self.cpu_busy_pct = []
        self.t0, self.ours0 = time.time(), self._ours()
        self.busy0, self.steal0, self.per0 = self._stat()

    def _ours(self):
        return sum(self.cg.usec(r) for r in Cgroups.ROLES)

    @staticmethod
    def _stat():
        per, steal = [], 0
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and not line.startswith("cpu "):
                    v = [int(x) for x in line.split()[1:]]
                    per.append(sum(v[:8]) - v[3] - v[4] - v[7])   # all but idle, iowait, steal
                    steal += v[7]
        return sum(per), steal, per

    def end(self):
        """(other %, steal %) since the start; sets cpu_busy_pct."""
        busy, steal, per = self._stat()
        wall = time.time() - self.t0
        other = (busy - self.busy0) / HZ - (self._ours() - self.ours0) / 1e6
        self.cpu_busy_pct = [100.0 * (b - a) / HZ / wall for a, b in zip(self.per0, per)]
        return max(0.0, 100.0 * other / wall), 100.0 * (steal - self.steal0) / HZ / wall


def gen_bound(f, kind):
    """A warning when CPU 0 (client, sink, mailgw's control core, and whatever else ran there) was
    saturated during measurement f, or the client alone was over 90 %; else None."""
    if not f.get("ok"):
        return None
    if kind == "mailgw":
        relay = f.get("worker_busy_pct")
    else:
        w = f.get("wall_s") or f.get("elapsed_s")
        relay = 100.0 * f["relay_cpu_s"] / w if w and f.get("relay_cpu_s") is not None else None
    if relay is not None and relay >= 90:
        return None                     # the relay was saturated itself
    g, s, c0 = f.get("gen_cpu_pct"), f.get("sink_cpu_pct"), f.get("cpu0_busy_pct")
    parts = "client %.0f%%%s" % (g or 0, ", sink %.0f%%" % s if s is not None else "")
    if c0 is not None and c0 > 90:
        return ("CPU 0 was %.0f%% busy (%s, the rest other work): the load generator's CPU, not %s, set the "
                "pace; the CPU per message or handshake still holds" % (c0, parts, kind))
    if g is not None and g > 90:
        return "the client used %.0f%% of CPU 0: it, not %s, set the pace; the CPU figures still hold" % (g, kind)
    return None


def softnet_drops():
    d = {}
    with open("/proc/net/softnet_stat") as f:
        for i, line in enumerate(f):
            d["kernel.backlog_drops_cpu%d" % i] = int(line.split()[1], 16)
    return d


def deltas(before, after):
    """Counters that moved: name -> after - before."""
    out = {}
    for k, v in after.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            dv = v - before.get(k, 0)
            if dv:
                out[k] = dv
    return out


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, spec, none="n/a"):
    return none if v is None else format(v, spec)


def check_root_and_builds(prog, extra=()):
    if os.geteuid() != 0:
        raise BenchError("needs root (network namespaces, cgroups)")
    for f in ("mailgw", "mailgwctl", "smtpgen") + tuple(extra):
        if not os.access(os.path.join(BUILD, f), os.X_OK):
            raise BenchError("build/%s missing: run make all smtpgen first" % f)
    for c in ("postfix", "postconf", "ip", "taskset"):
        if subprocess.run(["bash", "-c", "command -v " + c], stdout=subprocess.DEVNULL).returncode:
            raise BenchError("%s not found" % c)
    if (os.cpu_count() or 1) < 2:
        raise BenchError("needs CPUs 0 and 1")


def run_main(prog, tag, body):
    """Runs body(bench) with cleanups on any exit (SIGINT/SIGTERM included); the exit status."""
    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)     # also when started in the background (SIG_IGN inherited)
    b = None
    try:
        b = Bench(prog, tag)
        return body(b)
    except BenchError as e:
        log(prog, str(e))
        return 1
    except KeyboardInterrupt:
        log(prog, "interrupted")
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # the cleanup runs to its end
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if b:
            b.close()
