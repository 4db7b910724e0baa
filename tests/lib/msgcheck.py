#!/usr/bin/python3
"""msgcheck.py — body-integrity check of the mail a Postfix instance delivered.

  msgcheck.py --maildir DIR --expected DIR [--expect N] [--ours PATTERN]
              [--ours-exactly K] [--expect-class CLASS=N ...]
              [--sender smtp-source|raw] [--report FILE] [--json] [--jobs J]
  msgcheck.py --expected DIR --list [--sender ...]
  msgcheck.py --make DIR CLASS=SIZE[:COUNT] ... [--seed S]

--make writes COUNT (default 1) test messages of about SIZE bytes (suffix k
or m: 4k, 1m) per class into DIR as CLASS-NNNN.eml: LF line ends, a header
(From, To, Subject, Message-Id, X-Test-Class: CLASS) and a body of
pseudo-random 7-bit lines of up to 76 characters, among them lines "." and
".." and lines starting with "." (dot-stuffing) and an empty line; every
file differs from every other (the seed, class and number are in it).

For every message file in DIR/new and DIR/cur (a Maildir written by the
Postfix instances of tests/lib/smtp.sh), strip the trace header fields that
the delivery path put at its top, hash the rest and look the hash up among
the expected files (the files given to `smtp-source -F FILE`). Prints per
class how many matched, the files that matched nothing, and how many
Received fields of each message contain --ours (a plain substring, e.g.
"(mailgw)"). Exit status: 0 when every delivered message matched an expected
file, the total is --expect N (when given; likewise each --expect-class), and
(with --ours-exactly K) every message has exactly K Received fields
containing --ours; 1 when a check failed; 2 on a usage or I/O error.

What the path does to a message sent with `smtp-source -F FILE`
(verified with Postfix 3.7 and smtp-source 3.7):
  smtp-source  reads FILE line by line (a line ends at LF; the LF is dropped,
               a CR before it is kept, a last line without LF counts as a
               line), sends each line + CRLF with a "." prepended to lines
               starting with ".", and then ONE EXTRA CRLF (smtp_fputs appends
               CRLF to the already CRLF-terminated content: "but we don't
               care", says its source) and ".". So the message received is
               FILE's lines + an empty line.
  mailgw       (when under test) prepends its own Received field.
  Postfix      smtpd prepends "Received: from HELO (unknown [IP]) by HOST
               (Postfix) with SMTP|ESMTP id QUEUEID[ for <rcpt>]; DATE",
               folded over 2-3 lines (the continuation lines start with TAB);
               with local_header_rewrite_clients empty (as smtp.sh sets it)
               cleanup adds no Message-Id/Date/From/To and rewrites no
               address. virtual(8) then writes, above everything,
               "Return-Path: <sender>", "X-Original-To: rcpt" and
               "Delivered-To: rcpt", and stores every line with an LF line
               end (the CRLF removed, so a CR kept by smtp-source from a CRLF
               file comes back as CR LF). One file per recipient.
So the delivered file = [Return-Path, X-Original-To, Delivered-To, Received
(Postfix), Received (mailgw)...] + FILE with a final LF added if it had
none + "\\n" (the extra empty line).

What is stripped: the leading block of the delivered file made of fields
named Return-Path, X-Original-To, Delivered-To and Received (names compared
case-insensitively, continuation lines included), up to the first line that
is not one of them or a continuation line. Those are exactly the fields the
delivery path adds at the top; every Received field in that block is
counted (and matched against --ours). Nothing further down is touched, so
a header the path added or changed anywhere else is a mismatch. An expected
file must therefore not itself begin with one of those fields (it is
refused: exit 2).

Expected side: hash of normalise(FILE) where, with --sender smtp-source
(default), normalise = FILE + "\\n" if it does not end in LF, then + "\\n";
with --sender raw (messages sent exactly as stored in FILE, LF line ends,
e.g. by a Python client that converts LF to CRLF and adds nothing),
normalise = FILE + "\\n" if it does not end in LF. The class of an expected
file is the value of its "X-Test-Class:" header field (in its header
section), else "-".

--list prints, per expected file: class, SHA-256 of normalise(FILE) (what
msgcheck matches in a Maildir), SHA-256 of the SMTP data smtp-source sends
for it after unstuffing (every line CRLF-terminated, plus the extra CRLF:
compare with nexthop.py's "body_sha256", which also drops Received fields),
and the path.

--report FILE writes one line per delivered message:
  name<TAB>class or "MISMATCH"<TAB>expected file<TAB>received<TAB>ours
"""
import argparse
import hashlib
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor

TRACE = (b"return-path", b"x-original-to", b"delivered-to", b"received")


def normalise(data, sender):
    if data and not data.endswith(b"\n"):
        data += b"\n"
    if sender == "smtp-source":
        data += b"\n"
    return data


def wire_form(data):
    """The unstuffed SMTP data smtp-source sends for FILE content `data`."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join(ln + b"\r\n" for ln in lines) + b"\r\n"


def header_value(data, name):
    """Value of the first header field NAME (bytes, lower-case) in the header
    section of data (LF line ends), stripped; None when absent."""
    pos = 0
    n = len(data)
    name = name + b":"
    while pos < n:
        end = data.find(b"\n", pos)
        end = n if end < 0 else end + 1
        line = data[pos:end]
        if line in (b"\n", b"\r\n"):
            return None
        if line[:len(name)].lower() == name:
            return line[len(name):].strip().decode("utf-8", "replace")
        pos = end
    return None


def strip_trace(data):
    """(offset of the first byte after the leading trace block,
    [Received field texts, unfolded])."""
    pos = 0
    n = len(data)
    received = []
    in_received = False
    in_block = False
    while pos < n:
        end = data.find(b"\n", pos)
        end = n if end < 0 else end + 1
        c = data[pos:pos + 1]
        if c in (b" ", b"\t"):
            if not in_block:
                break
            if in_received:
                received[-1] += data[pos:end]
            pos = end
            continue
        colon = data.find(b":", pos, min(end, pos + 32))
        if colon < 0 or data[pos:colon].lower() not in TRACE:
            break
        in_block = True
        in_received = data[pos:colon].lower() == b"received"
        if in_received:
            received.append(data[pos:end])
        pos = end
    texts = [r.replace(b"\r", b"").replace(b"\n", b"").decode("utf-8", "replace")
             for r in received]
    return pos, texts


def check_one(path):
    """(basename, sha256 of the stripped message, [Received texts]) or an
    error string for unreadable files."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return os.path.basename(path), None, str(e)
    off, received = strip_trace(data)
    return os.path.basename(path), hashlib.sha256(memoryview(data)[off:]).hexdigest(), received


def check_batch(paths):
    return [check_one(p) for p in paths]


def load_expected(directory, sender):
    table = {}          # maildir hash -> (class, path)
    files = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        off, _ = strip_trace(data)
        if off:
            raise ValueError("%s begins with a trace header field (Return-Path, "
                             "X-Original-To, Delivered-To, Received): not usable" % path)
        cls = header_value(data, b"x-test-class") or "-"
        h = hashlib.sha256(normalise(data, sender)).hexdigest()
        table.setdefault(h, (cls, path))
        files.append((cls, h, hashlib.sha256(wire_form(data)).hexdigest(), path))
    return table, files


def maildir_files(maildir):
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        with os.scandir(d) as it:
            out.extend(e.path for e in it if e.is_file())
    out.sort()
    return out


def parse_size(text):
    mult = {"k": 1024, "m": 1048576}.get(text[-1:].lower(), 1)
    return int(text[:-1] if mult > 1 else text) * mult


def make_message(cls, no, size, seed):
    import random
    rnd = random.Random("%s/%s/%d" % (seed, cls, no))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,;:-_=+/"
    head = ("From: <source@partner.example>\n"
            "To: <user@example.com>\n"
            "Subject: msgcheck %s #%d (seed %s)\n"
            "Message-Id: <%s.%d.%s@msgcheck.test>\n"
            "X-Test-Class: %s\n"
            "\n" % (cls, no, seed, cls, no, seed, cls))
    out = [head, "Test message %s #%d.\n" % (cls, no), ".\n", "..\n",
           ".leading dot\n", "\n"]
    n = sum(len(x) for x in out)
    i = 0
    while n < size:
        i += 1
        if i % 53 == 0:
            line = "." + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        elif i % 97 == 0:
            line = "."
        else:
            line = "".join(rnd.choices(alphabet, k=rnd.randint(1, 76))).rstrip()
        line += "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()


def make(directory, specs, seed):
    os.makedirs(directory, exist_ok=True)
    made = 0
    for spec in specs:
        cls, _, rest = spec.partition("=")
        size, _, count = rest.partition(":")
        for no in range(1, int(count or 1) + 1):
            path = os.path.join(directory, "%s-%04d.eml" % (cls, no))
            with open(path, "wb") as f:
                f.write(make_message(cls, no, parse_size(size), seed))
            made += 1
    return made


def main(argv):
    p = argparse.ArgumentParser(description="Maildir body-integrity check",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__)
    p.add_argument("--maildir")
    p.add_argument("--expected")
    p.add_argument("--make", metavar="DIR")
    p.add_argument("--seed", default="1")
    p.add_argument("specs", nargs="*", metavar="CLASS=SIZE[:COUNT]")
    p.add_argument("--expect", type=int, metavar="N")
    p.add_argument("--expect-class", action="append", default=[], metavar="CLASS=N")
    p.add_argument("--ours", metavar="PATTERN")
    p.add_argument("--ours-exactly", type=int, metavar="K")
    p.add_argument("--sender", choices=("smtp-source", "raw"), default="smtp-source")
    p.add_argument("--report", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--list", action="store_true")
    p.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    a = p.parse_args(argv)
    if a.make:
        if not a.specs:
            p.error("--make needs CLASS=SIZE[:COUNT] arguments")
        try:
            print("msgcheck: made %d messages in %s" % (make(a.make, a.specs, a.seed), a.make))
        except (OSError, ValueError) as e:
            print("msgcheck: %s" % e, file=sys.stderr)
            return 2
        return 0
    if not a.expected:
        p.error("--expected is needed")
    if a.ours_exactly is not None and a.ours is None:
        p.error("--ours-exactly needs --ours")
    want_class = {}
    for spec in a.expect_class:
        cls, _, n = spec.rpartition("=")
        if not cls or not n.isdigit():
            p.error("--expect-class wants CLASS=N, not %r" % spec)
        want_class[cls] = int(n)

    try:
        table, files = load_expected(a.expected, a.sender)
    except (OSError, ValueError) as e:
        print("msgcheck: %s" % e, file=sys.stderr)
        return 2
    if a.list:
        for cls, h, wh, path in files:
            print("%s\t%s\t%s\t%s" % (cls, h, wh, path))
        return 0
    if not a.maildir:
        p.error("--maildir is needed (or --list)")
    if not files:
        print("msgcheck: no expected files in %s" % a.expected, file=sys.stderr)
        return 2

    paths = maildir_files(a.maildir)
    batches = [paths[i:i + 200] for i in range(0, len(paths), 200)]
    results = []
    if a.jobs > 1 and len(paths) > 400:
        with ProcessPoolExecutor(a.jobs) as ex:
            for r in ex.map(check_batch, batches):
                results.extend(r)
    else:
        for b in batches:
            results.extend(check_batch(b))

    per_class = {}
    mismatches = []
    errors = []
    ours_hist = {}
    rcvd_hist = {}
    ours_bad = []
    report = []
    for name, h, received in results:
        if h is None:
            errors.append("%s: %s" % (name, received))
            continue
        hit = table.get(h)
        ours = sum(1 for r in received if a.ours in r) if a.ours is not None else None
        rcvd_hist[len(received)] = rcvd_hist.get(len(received), 0) + 1
        if ours is not None:
            ours_hist[ours] = ours_hist.get(ours, 0) + 1
            if a.ours_exactly is not None and ours != a.ours_exactly:
                ours_bad.append(name)
        if hit:
            per_class[hit[0]] = per_class.get(hit[0], 0) + 1
        else:
            mismatches.append(name)
        if a.report:
            report.append("%s\t%s\t%s\t%d\t%s" % (
                name, hit[0] if hit else "MISMATCH", os.path.basename(hit[1]) if hit else "-",
                len(received), "-" if ours is None else ours))

    total = len(results)
    fails = []
    if errors:
        fails.append("%d unreadable" % len(errors))
    if mismatches:
        fails.append("%d mismatched" % len(mismatches))
    if a.expect is not None and total != a.expect:
        fails.append("delivered %d, expected %d" % (total, a.expect))
    for cls, n in sorted(want_class.items()):
        if per_class.get(cls, 0) != n:
            fails.append("class %s: %d matched, expected %d" % (cls, per_class.get(cls, 0), n))
    if ours_bad:
        fails.append("%d messages without exactly %d Received containing %r"
                     % (len(ours_bad), a.ours_exactly, a.ours))

    if a.report:
        with open(a.report, "w") as f:
            f.write("".join(line + "\n" for line in report))
    summary = {"delivered": total, "matched": total - len(mismatches) - len(errors),
               "per_class": per_class, "mismatches": mismatches, "errors": errors,
               "received_per_message": {str(k): v for k, v in sorted(rcvd_hist.items())},
               "ours_per_message": {str(k): v for k, v in sorted(ours_hist.items())},
               "ours_bad": ours_bad, "expected_files": len(files),
               "ok": not fails, "failures": fails}
    if a.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print("delivered %d, matched %d, mismatched %d (expected files: %d)"
              % (total, summary["matched"], len(mismatches), len(files)))
        for cls, n in sorted(per_class.items()):
            print("  class %-10s %d" % (cls, n))
        print("  Received fields per message: %s" % " ".join(
            "%d:%d" % kv for kv in sorted(rcvd_hist.items())))
        if a.ours is not None:
            print("  Received containing %r per message: %s" % (a.ours, " ".join(
                "%d:%d" % kv for kv in sorted(ours_hist.items()))))
        for name in mismatches[:20]:
            print("  MISMATCH %s" % name)
        if len(mismatches) > 20:
            print("  ... %d more mismatches" % (len(mismatches) - 20))
        for e in errors[:20]:
            print("  ERROR %s" % e)
        for name in ours_bad[:20]:
            print("  OURS %s" % name)
        print("msgcheck: %s" % ("OK" if not fails else "FAIL: " + "; ".join(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
