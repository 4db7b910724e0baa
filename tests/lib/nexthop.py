#!/usr/bin/python3
"""nexthop.py — a scriptable SMTP next hop for mailgw's relay tests.

Standard library only (asyncio). Speaks enough ESMTP for a relay client:
220 greeting, EHLO (multi-line: PIPELINING, SIZE, 8BITMIME,
ENHANCEDSTATUSCODES, SMTPUTF8, each switchable off), HELO, MAIL, RCPT, DATA,
RSET, NOOP, VRFY, HELP, QUIT. Commands are taken one line at a time from a
buffer, so pipelined command groups are answered in order. Prints "ready" on
stdout once it listens; serves any number of concurrent connections until
SIGTERM/SIGINT.

  nexthop.py --listen 10.20.0.10:25 --record out.jsonl [options]

Replies (CODE_TEXT is a whole reply such as "450 4.2.0 mailbox busy"; a
literal "\\n" in it makes a multi-line reply with the same code; any reply
whose code is 421 closes the connection after it is sent):
  --greeting T   instead of "220 HOST ESMTP nexthop.py". A 421 greeting
                 closes; any other non-2xx greeting (554) waits for QUIT and
                 answers every other command "503 5.5.1" (RFC 5321 3.1).
  --ehlo T       reply to EHLO (e.g. "502 5.5.2 no" to force HELO)
  --mail T       reply to MAIL
  --rcpt T       reply to RCPT; with --rcpt-match SUBSTR only to recipients
                 whose address contains SUBSTR (case-insensitive), and the
                 other rcpt-stage faults (delay/die/hang) only for those too
  --data T       reply to DATA instead of 354 (a 3xx here is the go-ahead)
  --eod T        reply after the end of data instead of 250
Delays (seconds, float) before the reply of a stage:
  --delay-greeting S --delay-ehlo S --delay-mail S --delay-rcpt S
  --delay-data S --delay-eod S
Faults (STAGE: greeting|ehlo|mail|rcpt|data|eod|quit):
  --die-at STAGE   drop the connection instead of replying at STAGE:
                   shutdown(SHUT_WR) (a FIN), input discarded until the
                   client closes; with --die-rst an RST instead (SO_LINGER 0)
  --hang-at STAGE  never reply; input is read and discarded until the
                   client closes
  --die-after-data-bytes N
                   after 354, once N bytes of (raw, still stuffed) message
                   data have arrived, reset the connection (SO_LINGER 0 +
                   close = RST). Checked per CRLF line, so it fires at the
                   first line end at or past N (N=0: right after the 354).
  --only-first N   overrides, delays and faults apply to the first N
                   connections only; later connections behave normally
                   (for retry tests). Default: all connections.
Extensions: --no-pipelining --no-size --no-8bitmime
  --no-enhancedstatuscodes --no-smtputf8; --size N is the SIZE limit
  advertised and enforced (default 104857600). Parameters of MAIL other than
  SIZE, BODY=7BIT|8BITMIME and SMTPUTF8 for the extensions offered are
  refused with 555 5.5.4 (so a client that sends what was not offered fails).
Hostile modes (a next hop that does not follow the protocol):
  --pre-greeting T   send reply T before the greeting (e.g. "250 early")
  --extra STAGE:T    after the reply of STAGE (greeting|ehlo|mail|rcpt|data|
                     eod), send one more reply T (repeatable: "mail:250 spare")
  --inject-data T    after 354, once the first line of message data arrived,
                     send reply T (a reply while the client streams data)
  --split-bytes      write every reply one byte at a time (a drain and 1 ms
                     between bytes)
  --long-reply STAGE:N  the reply of STAGE gets N continuation lines
                     ("250-x" lines before its last line)
  --stop-reading-at STAGE  from STAGE on read nothing more (the connection
                     stays open until the client closes or --timeout);
                     STAGE "connect" = never read at all (greeting still sent)
  --stall-reply T    with --stop-reading-at: after 1.5 s of reading nothing,
                     send reply T anyway (a 250 for data it never read)
  --rcvbuf N         SO_RCVBUF of the listening socket (a small window, so
                     that what the client sent stays in the client's queue)
  --conn-log FILE    appends one JSON line per connection when it ends:
                     {"conn", "peer", "cmds" (verbs received, in order),
                      "quit" (QUIT received), "end" ("fin": the client
                      closed, "rst": it reset, "us": we closed), "time"}
Output:
  --record FILE  appends one JSON line per message received completely (the
                 CRLF.CRLF arrived), whatever the final reply:
                 {"conn", "msg", "peer", "helo", "from", "mail_params",
                  "rcpts" (accepted), "rcpts_rejected", "size", "sha256",
                  "body_sha256", "received", "reply", "fault", "file", "time"}
  --save-dir DIR writes each such message's data to DIR/<msgid>.eml
                 ("file" in the record)
  --verbose      one line per command and reply on stderr
  --hostname H   the name in the greeting and EHLO reply (nexthop.test)
  --timeout S    idle timeout per command/data line (default 300)

Message data definitions:
  Lines are CRLF-terminated; a bare LF is an ordinary byte inside a line
  (it is neither a line end nor part of the terminator). The data ends at a
  line that is exactly ".\\r\\n" and follows a CRLF (the DATA command's, or
  the previous data line's): CRLF.CRLF only. Every other line that begins
  with "." has that first dot removed (RFC 5321 4.5.2).
  "data"        = the unstuffed lines, each with its CRLF, without the
                  terminating ".\\r\\n" line: the message as the client meant it.
  "size"        = len(data); "sha256" = SHA-256 (hex) of data.
  header section = the lines of data before the first empty line ("\\r\\n"),
                  or before the first line that is neither a header field
                  line (a field name of printable ASCII other than ":" and
                  space, then ":") nor a continuation line (starting with SP
                  or HTAB), whichever comes first. The rest is the body.
  "body_sha256" = SHA-256 of data with every header field named "Received"
                  (case-insensitive; the field line and all its continuation
                  lines) removed from the header section; every other byte
                  (other fields, the empty line, the body) kept as it is.
  "received"    = the text of those Received fields in order, each unfolded
                  (its CRLFs removed) and starting with its name, e.g.
                  "Received: from a (a [1.2.3.4]) by b (mailgw) ...".
"""
import argparse
import asyncio
import hashlib
import json
import os
import re
import signal
import socket
import struct
import sys
import time

STAGES = ("greeting", "ehlo", "mail", "rcpt", "data", "eod", "quit")
FIELD_RE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
ADDR_RE = re.compile(r"^\s*<([^>]*)>\s*(.*)$")


class Drop(Exception):
    """The session ends now (the connection is already dealt with)."""


def parse_reply(text):
    """'450 4.2.0 a\\nb' -> ['450-4.2.0 a', '450 b'] (CRLF added on send)."""
    lines = text.replace("\\n", "\n").split("\n")
    code = lines[0][:3]
    if not re.fullmatch(r"[2-5][0-9][0-9]", code):
        raise ValueError("reply must start with a 3-digit code: %r" % text)
    out = []
    for i, ln in enumerate(lines):
        body = ln[4:] if i == 0 or re.match(r"^[0-9]{3}[ -]", ln) else ln
        out.append(code + ("-" if i < len(lines) - 1 else " ") + body)
    return out


def split_headers(data):
    """(header_lines, body_offset) of data (bytes, CRLF lines)."""
    lines = []
    pos = 0
    n = len(data)
    while pos < n:
        end = data.find(b"\r\n", pos)
        end = n if end < 0 else end + 2
        line = data[pos:end]
        if line == b"\r\n":
            break
        if not (FIELD_RE.match(line) or (lines and line[:1] in (b" ", b"\t"))):
            break
        lines.append(line)
        pos = end
    return lines, pos


def received_fields(data):
    """(body_sha256 hex, [unfolded Received field texts]) of data."""
    lines, body_off = split_headers(data)
    kept = []
    received = []
    current = None          # True while inside a Received field
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if current:
                received[-1] += line
            else:
                kept.append(line)
            continue
        current = line.split(b":", 1)[0].lower() == b"received"
        if current:
            received.append(line)
        else:
            kept.append(line)
    h = hashlib.sha256()
    for line in kept:
        h.update(line)
    h.update(memoryview(data)[body_off:])
    texts = [r.replace(b"\r\n", b"").decode("utf-8", "replace") for r in received]
    return h.hexdigest(), texts


class Server:
    def __init__(self, args):
        self.a = args
        self.conns = 0
        self.msgs = 0
        self.overrides = {}
        for st in ("greeting", "ehlo", "mail", "rcpt", "data", "eod"):
            t = getattr(args, st)
            if t is not None:
                self.overrides[st] = parse_reply(t)
        self.extra = [(x.partition(":")[0], parse_reply(x.partition(":")[2])) for x in args.extra or []]
        self.long = {x.partition(":")[0]: int(x.partition(":")[2]) for x in args.long_reply or []}
        self.delays = {st: getattr(args, "delay_" + st) or 0.0 for st in STAGES
                       if hasattr(args, "delay_" + st)}
        if args.save_dir:
            os.makedirs(args.save_dir, exist_ok=True)

    def log(self, msg):
        if self.a.verbose:
            sys.stderr.write("%.3f %s\n" % (time.time(), msg))
            sys.stderr.flush()

    def record(self, rec):
        if not self.a.record:
            return
        line = (json.dumps(rec, sort_keys=True) + "\n").encode()
        fd = os.open(self.a.record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    async def handle(self, reader, writer):
        self.conns += 1
        s = Session(self, self.conns, reader, writer)
        try:
            await s.run()
        except ConnectionResetError:
            s.end = "rst"
        except (Drop, ConnectionError, asyncio.TimeoutError, BrokenPipeError):
            pass
        except asyncio.CancelledError:  # shutting down: end quietly
            pass
        except Exception as e:          # keep serving other connections
            self.log("conn %d: error %r" % (s.no, e))
        finally:
            if not writer.is_closing():
                writer.close()
            if self.a.conn_log:
                line = (json.dumps({"conn": s.no, "peer": s.peer, "cmds": s.cmds, "quit": s.quit,
                                    "end": s.end, "time": time.time()}) + "\n").encode()
                fd = os.open(self.a.conn_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)


class Session:
    def __init__(self, srv, no, reader, writer):
        self.cmds = []
        self.quit = False
        self.end = "us"
        self.srv = srv
        self.a = srv.a
        self.no = no
        self.r = reader
        self.w = writer
        self.buf = bytearray()
        self.pos = 0
        self.eof = False
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.peer = "%s:%s" % (peer[0], peer[1])
        self.faulty = self.a.only_first is None or no <= self.a.only_first
        self.esc = self.a.enhancedstatuscodes
        self.helo = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.mail_params = []
        self.rcpts = []
        self.rcpts_rejected = []

    def log(self, msg):
        self.srv.log("conn %d %s" % (self.no, msg))

    # ---- input -------------------------------------------------------
    async def fill(self):
        if self.pos > 1 << 20:
            del self.buf[:self.pos]
            self.pos = 0
        chunk = await asyncio.wait_for(self.r.read(262144), self.a.timeout)
        if not chunk:
            self.eof = True
            if self.end == "us":
                self.end = "fin"
            return False
        self.buf += chunk
        return True

    async def read_until(self, sep):
        """Bytes up to and including sep, or None at EOF."""
        scanned = 0         # bytes after self.pos already searched (fill() moves pos)
        while True:
            i = self.buf.find(sep, self.pos + scanned)
            if i >= 0:
                end = i + len(sep)
                line = bytes(self.buf[self.pos:end])
                self.pos = end
                return line
            scanned = max(0, len(self.buf) - self.pos - len(sep) + 1)
            if self.eof or not await self.fill():
                return None

    # ---- output ------------------------------------------------------
    def code(self, code, esc, text):
        return "%s %s%s" % (code, esc + " " if self.esc and esc else "", text)

    async def send(self, lines):
        if isinstance(lines, str):
            lines = [lines]
        for ln in lines:
            self.log("> " + ln)
        data = "".join(ln + "\r\n" for ln in lines).encode("utf-8", "replace")
        if self.a.split_bytes:
            for i in range(len(data)):
                self.w.write(data[i:i + 1])
                await self.w.drain()
                await asyncio.sleep(0.001)
        else:
            self.w.write(data)
            await self.w.drain()
        if lines[-1].startswith("421"):
            await self.drop(rst=False)

    async def drop(self, rst):
        if rst:
            sock = self.w.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.log("reset")
            self.w.transport.abort()
            raise Drop()
        self.log("close")
        try:
            self.w.write_eof()
        except OSError:
            pass
        await self.discard()

    async def discard(self):
        """Read and throw away input until the client closes; then close."""
        self.buf = bytearray()
        self.pos = 0
        try:
            while await self.r.read(262144):
                pass
            if self.end == "us":
                self.end = "fin"
        except (ConnectionError, OSError):
            self.end = "rst"
        self.w.close()
        raise Drop()

    async def stall(self):
        """--stop-reading-at: read nothing more; wait for the client to go."""
        self.log("not reading any more")
        self.w.transport.pause_reading()    # not even into asyncio's buffer: the window closes
        try:
            if self.a.stall_reply:
                await asyncio.sleep(1.5)
                await self.send(parse_reply(self.a.stall_reply))
            await asyncio.sleep(self.a.timeout)
        finally:
            pass
        raise Drop()

    def long_lines(self, stage, lines):
        n = self.srv.long.get(stage) if self.faulty else None
        if not n:
            return lines
        code = lines[-1][:3]
        return lines[:-1] + ["%s-continuation line %d" % (code, i) for i in range(n)] + [lines[-1]]

    async def reply(self, stage, default, applies=True):
        """Send the reply of a stage, with its override/delay/fault; returns
        the reply lines sent."""
        active = self.faulty and applies
        if active and self.a.stop_reading_at == stage:
            await self.send(self.long_lines(stage, self.srv.overrides.get(stage) or
                                            (default if isinstance(default, list) else [default])))
            await self.stall()
        if active and self.srv.delays.get(stage):
            await asyncio.sleep(self.srv.delays[stage])
        if active and self.a.die_at == stage:
            self.log("die at " + stage)
            await self.drop(rst=self.a.die_rst)
        if active and self.a.hang_at == stage:
            self.log("hang at " + stage)
            await self.discard()
        lines = self.srv.overrides.get(stage) if active else None
        if lines is None:
            lines = default if isinstance(default, list) else [default]
        await self.send(self.long_lines(stage, lines))
        for st, extra in (self.srv.extra if active else []):
            if st == stage:
                await self.send(extra)
        return lines

    # ---- protocol ----------------------------------------------------
    async def run(self):
        self.log("connect from " + self.peer)
        host = self.a.hostname
        if self.faulty and self.a.pre_greeting:
            await self.send(parse_reply(self.a.pre_greeting))
        if self.faulty and self.a.stop_reading_at == "connect":
            await self.send(self.code("220", "", host + " ESMTP nexthop.py"))
            await self.stall()
        g = await self.reply("greeting", self.code("220", "", host + " ESMTP nexthop.py"))
        if not g[-1].startswith("2"):
            while True:     # a 554 greeting: wait for QUIT (RFC 5321 3.1)
                line = await self.read_until(b"\n")
                if line is None:
                    raise Drop()
                if line.strip().upper() == b"QUIT":
                    await self.send(self.code("221", "2.0.0", "Bye"))
                    await self.drop(rst=False)
                await self.send(self.code("503", "5.5.1", "Error: no valid session"))
        while True:
            line = await self.read_until(b"\n")
            if line is None:
                self.log("eof")
                return
            text = line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
            self.log("< " + text)
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            self.cmds.append(verb[:16])
            if verb == "QUIT":
                self.quit = True
            fn = getattr(self, "cmd_" + verb.lower(), None) if verb.isalpha() else None
            if fn is None:
                await self.send(self.code("502", "5.5.2", "Error: command not recognized"))
                continue
            await fn(arg.strip())

    def ehlo_lines(self):
        a = self.a
        ext = []
        if a.pipelining:
            ext.append("PIPELINING")
        if a.size_ext:
            ext.append("SIZE %d" % a.size)
        if a.eightbitmime:
            ext.append("8BITMIME")
        if a.enhancedstatuscodes:
            ext.append("ENHANCEDSTATUSCODES")
        if a.smtputf8:
            ext.append("SMTPUTF8")
        lines = [a.hostname] + ext
        return ["250%s%s" % ("-" if i < len(lines) - 1 else " ", ln)
                for i, ln in enumerate(lines)]

    async def cmd_ehlo(self, arg):
        if not arg:
            await self.send(self.code("501", "5.5.4", "Syntax: EHLO hostname"))
            return
        lines = await self.reply("ehlo", self.ehlo_lines())
        if lines[-1].startswith("2"):
            self.helo = arg
            self.reset()

    async def cmd_helo(self, arg):
        if not arg:
            await self.send(self.code("501", "5.5.4", "Syntax: HELO hostname"))
            return
        self.helo = arg
        self.reset()
        await self.send("250 " + self.a.hostname)

    async def cmd_mail(self, arg):
        if self.helo is None:
            await self.send(self.code("503", "5.5.1", "Error: send HELO/EHLO first"))
            return
        if self.mail_from is not None:
            await self.send(self.code("503", "5.5.1", "Error: nested MAIL command"))
            return
        m = re.match(r"(?i)^FROM:(.*)$", arg)
        am = ADDR_RE.match(m.group(1)) if m else None
        if not am:
            await self.send(self.code("501", "5.5.4", "Syntax: MAIL FROM:<address>"))
            return
        params = am.group(2).split()
        for p in params:
            k, _, v = p.partition("=")
            k = k.upper()
            if k == "SIZE" and self.a.size_ext and v.isdigit():
                if int(v) > self.a.size:
                    await self.send(self.code("552", "5.3.4", "Message size exceeds fixed limit"))
                    return
            elif k == "BODY" and v.upper() == "7BIT":
                pass
            elif k == "BODY" and v.upper() == "8BITMIME" and self.a.eightbitmime:
                pass
            elif k == "SMTPUTF8" and not v and self.a.smtputf8:
                pass
            else:
                await self.send(self.code("555", "5.5.4", "Unsupported option: " + p))
                return
        lines = await self.reply("mail", self.code("250", "2.1.0", "Ok"))
        if lines[-1].startswith("2"):
            self.mail_from = am.group(1)
            self.mail_params = params

    async def cmd_rcpt(self, arg):
        if self.mail_from is None:
            await self.send(self.code("503", "5.5.1", "Error: need MAIL command"))
            return
        m = re.match(r"(?i)^TO:(.*)$", arg)
        am = ADDR_RE.match(m.group(1)) if m else None
        if not am or not am.group(1):
            await self.send(self.code("501", "5.5.4", "Syntax: RCPT TO:<address>"))
            return
        if am.group(2):
            await self.send(self.code("555", "5.5.4", "Unsupported option: " + am.group(2)))
            return
        addr = am.group(1)
        match = self.a.rcpt_match
        applies = match is None or match.lower() in addr.lower()
        lines = await self.reply("rcpt", self.code("250", "2.1.5", "Ok"), applies)
        if lines[-1].startswith("2"):
            self.rcpts.append(addr)
        else:
            self.rcpts_rejected.append(addr)

    async def cmd_data(self, arg):
        if self.mail_from is None:
            await self.send(self.code("503", "5.5.1", "Error: need MAIL command"))
            return
        if not self.rcpts:
            if self.rcpts_rejected:
                await self.send(self.code("554", "5.5.1", "Error: no valid recipients"))
            else:
                await self.send(self.code("503", "5.5.1", "Error: need RCPT command"))
            return
        lines = await self.reply("data", "354 End data with <CR><LF>.<CR><LF>")
        if not lines[-1].startswith("3"):
            self.reset()
            return
        await self.read_data()

    async def read_data(self):
        die_n = self.a.die_after_data_bytes if self.faulty else None
        raw = 0
        data = bytearray()
        if die_n is not None and die_n <= 0:
            await self.drop(rst=True)
        inject = self.a.inject_data if self.faulty else None
        while True:
            line = await self.read_until(b"\r\n")
            if inject and line is not None:
                await self.send(parse_reply(inject))
                inject = None
            if line is None:
                self.log("eof in data after %d bytes" % raw)
                raise Drop()
            raw += len(line)
            if die_n is not None and raw >= die_n:
                self.log("die after %d data bytes" % raw)
                await self.drop(rst=True)
            if line[:1] == b".":
                if line == b".\r\n":
                    break
                data += memoryview(line)[1:]
            else:
                data += line
        self.log("< [%d bytes of data, %d on the wire]" % (len(data), raw + 3))
        self.srv.msgs += 1
        msgid = "%d.%d.%d" % (os.getpid(), self.no, self.srv.msgs)
        data = bytes(data)
        body_sha, received = received_fields(data)
        rec = {"conn": self.no, "msg": self.srv.msgs, "peer": self.peer,
               "helo": self.helo, "from": self.mail_from,
               "mail_params": self.mail_params, "rcpts": self.rcpts,
               "rcpts_rejected": self.rcpts_rejected, "size": len(data),
               "sha256": hashlib.sha256(data).hexdigest(),
               "body_sha256": body_sha, "received": received,
               "reply": None, "fault": None, "file": None, "time": time.time()}
        if self.a.save_dir:
            rec["file"] = os.path.join(self.a.save_dir, msgid + ".eml")
            with open(rec["file"], "wb") as f:
                f.write(data)
        if self.a.size_ext and len(data) > self.a.size:
            default = self.code("552", "5.3.4", "Message size exceeds fixed limit")
        else:
            default = self.code("250", "2.0.0", "Ok: queued as " + msgid)
        fault = None
        if self.faulty and self.a.die_at == "eod":
            fault = "die"
        elif self.faulty and self.a.hang_at == "eod":
            fault = "hang"
        if fault:
            rec["fault"] = fault
            self.srv.record(rec)
            self.reset()
            await self.reply("eod", default)        # does not return
        active = self.faulty
        if active and self.srv.delays.get("eod"):
            await asyncio.sleep(self.srv.delays["eod"])
        lines = self.srv.overrides.get("eod") if active else None
        lines = lines or [default]
        rec["reply"] = "\r\n".join(lines)
        self.srv.record(rec)
        self.reset()
        await self.send(lines)
        for st, extra in (self.srv.extra if active else []):
            if st == "eod":
                await self.send(extra)

    async def cmd_rset(self, arg):
        self.reset()
        await self.send(self.code("250", "2.0.0", "Ok"))

    async def cmd_noop(self, arg):
        await self.send(self.code("250", "2.0.0", "Ok"))

    async def cmd_vrfy(self, arg):
        await self.send(self.code("252", "2.0.0", "Cannot VRFY user"))

    async def cmd_help(self, arg):
        await self.send(self.code("214", "2.0.0", "EHLO HELO MAIL RCPT DATA RSET NOOP QUIT"))

    async def cmd_quit(self, arg):
        await self.reply("quit", self.code("221", "2.0.0", "Bye"))
        await self.drop(rst=False)


def parse_args(argv):
    p = argparse.ArgumentParser(description="scriptable SMTP next hop",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__)
    p.add_argument("--listen", required=True, metavar="ADDR:PORT")
    p.add_argument("--hostname", default="nexthop.test")
    for st in ("greeting", "ehlo", "mail", "rcpt", "data", "eod"):
        p.add_argument("--" + st, metavar="CODE_TEXT")
        p.add_argument("--delay-" + st, type=float, metavar="S")
    p.add_argument("--rcpt-match", metavar="SUBSTR")
    p.add_argument("--die-at", choices=STAGES)
    p.add_argument("--die-rst", action="store_true")
    p.add_argument("--hang-at", choices=STAGES)
    p.add_argument("--die-after-data-bytes", type=int, metavar="N")
    p.add_argument("--only-first", type=int, metavar="N")
    p.add_argument("--no-pipelining", dest="pipelining", action="store_false")
    p.add_argument("--no-size", dest="size_ext", action="store_false")
    p.add_argument("--size", type=int, default=104857600)
    p.add_argument("--no-8bitmime", dest="eightbitmime", action="store_false")
    p.add_argument("--no-enhancedstatuscodes", dest="enhancedstatuscodes", action="store_false")
    p.add_argument("--no-smtputf8", dest="smtputf8", action="store_false")
    p.add_argument("--pre-greeting", metavar="CODE_TEXT")
    p.add_argument("--extra", action="append", metavar="STAGE:CODE_TEXT")
    p.add_argument("--inject-data", metavar="CODE_TEXT")
    p.add_argument("--split-bytes", action="store_true")
    p.add_argument("--long-reply", action="append", metavar="STAGE:N")
    p.add_argument("--stop-reading-at", choices=STAGES + ("connect",))
    p.add_argument("--stall-reply", metavar="CODE_TEXT")
    p.add_argument("--rcvbuf", type=int)
    p.add_argument("--conn-log", metavar="FILE")
    p.add_argument("--record", metavar="FILE")
    p.add_argument("--save-dir", metavar="DIR")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args(argv)
    try:
        for st in ("greeting", "ehlo", "mail", "rcpt", "data", "eod"):
            if getattr(a, st) is not None:
                parse_reply(getattr(a, st))
    except ValueError as e:
        p.error(str(e))
    return a


async def main(argv):
    a = parse_args(argv)
    host, _, port = a.listen.rpartition(":")
    srv = Server(a)
    if a.rcvbuf:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)   # before listen: the window
        ls.bind((host or "0.0.0.0", int(port)))
        server = await asyncio.start_server(srv.handle, sock=ls, backlog=1024, limit=1 << 20)
    else:
        server = await asyncio.start_server(srv.handle, host or None, int(port),
                                            backlog=1024, limit=1 << 20)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    print("ready", flush=True)
    await stop
    server.close()      # open connections are cancelled by asyncio.run()
    srv.log("stopping: %d connections, %d messages" % (srv.conns, srv.msgs))


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
