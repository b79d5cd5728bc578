#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<target>/ from the repository's own material:
the service descriptions of tests/fixtures and distro/dinit.d, distro/environment, and the
test vectors of the control protocol (docs/PROTOCOL.md, section 12). Re-run it after changing
those; the result is committed.

Usage: fuzz/scripts/make_corpora.py [PROTOCOL]   (from the repository root; PROTOCOL defaults
to docs/PROTOCOL.md)
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SEP = b"\n%%\n"


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def descriptions():
    out = []
    for base in ["tests/fixtures", "distro/dinit.d"]:
        for dirpath, _, files in sorted(os.walk(os.path.join(ROOT, base))):
            for f in sorted(files):
                p = os.path.join(dirpath, f)
                data = open(p, "rb").read()
                if data.strip():
                    out.append((os.path.relpath(p, ROOT), data))
    return out


ENV = b"HOME=/home/me\nPATH=/usr/bin:/bin\nEMPTY=\nWORDS= -a  -b \n--\nLANG=C\n"

# Descriptions written for the fuzzers: includes, substitution forms, every setting.
HANDMADE = {
    "includes": [b"type = process\ncommand = /bin/x $1\n@include inc0\n@include-opt inc9\n"
                 b"@include-opt missing\n",
                 b"restart = on-failure\n@include inc1\ndepends-on: a-$1\n",
                 b"logfile = /var/log/$1.log\n@meta enable-via boot\n@meta something else\n"],
    "self-include": [b"@include inc0\ntype = internal\n", b"@include inc0\nstop-timeout = 3\n"],
    "subst": [b"type = process\ncommand = /bin/sh -c \"echo ${HOME:-none} ${NOPE-x}\" $/WORDS $$1\n"
              b"stop-command = /bin/kill ${1:+-TERM} $/{WORDS} pre$/WORDS\\\n   post\n"
              b"working-dir = $HOME/w\nenv-file = ${HOME}/env\npid-file = /run/$1.pid\n"
              b"socket-listen = /run/$1.sock\n"],
    "every-setting": [b"""type = bgprocess
command = /usr/sbin/daemon --pidfile /run/d.pid
command += --extra "quoted arg" \\ escaped
stop-command = /bin/kill $1
working-dir = /tmp
run-as = nobody:nogroup
env-file = env
restart = yes
smooth-recovery = true
restart-delay = 0.5
restart-limit-interval = 10
restart-limit-count = 3
start-timeout = 60
stop-timeout = 10.25
pid-file = /run/d.pid
depends-on: a
prepared-by: b
depends-ms: c
waits-for: d
depends-on.d: deps.d
depends-ms.d: ms.d
waits-for.d: wf.d
after: e
before: f
chain-to: g
socket-listen = /run/d.sock
socket-permissions = 0660
socket-uid = 0
socket-gid = root
term-signal = HUP
ready-notification = pipevar:READY_FD
log-type = buffer
logfile = /var/log/d.log
logfile-permissions = 0640
logfile-uid = 1000
logfile-gid = adm
log-buffer-size = 4096
consumer-of: h
options: runs-on-console starts-rwfs pass-cs-fd start-interruptible skippable signal-process-only always-chain kill-all-on-stop unmask-intr starts-on-console shares-console
load-options: export-passwd-vars export-service-name sub-vars
inittab-id = d1
inittab-line = tty1
rlimit-nofile = 1024:4096
rlimit-core = unlimited
rlimit-data = -:100
rlimit-addrspace = 1000000
nice = -5
run-in-cgroup = /sys/fs/cgroup/d
capabilities = cap_net_bind_service
capabilities += cap_sys_time
securebits = noroot keep-caps
ioprio = be:3
oom-score-adj = -500
"""],
    "errors": [b"type = process\ncommand = \"unterminated\nbogus-setting = 1\n  x = y\n"
               b"restart += yes\ncommand += x\n@unknown\nstop-timeout = -1\nnice = 99999999999\n"
               b"command = a \\\nnot-indented\nname\n= value\n$bad\ndepends-on: .hidden\n"
               b"logfile = $\n socket-permissions = 9999\n\x00\n"],
    "crlf-comments": [b"type = scripted\r\ncommand = /bin/a # comment\\\r\n  --more # more\r\n"
                      b"# just a comment\\\nstop-command = a#b \"# not a comment\"\n"],
}


def desc_corpus():
    n = 0
    for path, data in descriptions():
        name = b"svc@tty1" if b"$1" in data else b"svc"
        write("desc", f"file-{n:02d}", name + b"\n" + ENV + SEP + data)
        n += 1
    for key, files in HANDMADE.items():
        write("desc", key, b"svc@arg\n" + ENV + SEP + SEP.join(files))


def subst_corpus():
    values = [
        b"/usr/bin/worker --id $1 --home $HOME",
        b"${HOME:-default} ${EMPTY:-e} ${NOPE-x} ${HOME:+set} ${EMPTY+s} $$HOME $$$$",
        b"$/WORDS pre$/{WORDS}post $/NOPE ${/WORDS} $/{EMPTY:-a b}",
        b"$0 $2 ${ ${1 ${HOME:x} ${HOME:-a b} ${unterminated $",
        b"\xc3\xa9t\xc3\xa9=$\xc3\xa9t\xc3\xa9 $A_B9x $_x ${1}",
    ]
    write("subst", "values", b"@tty1\n" + ENV + SEP + SEP.join(values))
    for i, v in enumerate(values):
        write("subst", f"value-{i}", ENV + SEP + v)
    write("subst", "nul-value", b"@a\nNUL=a\x00b\n" + SEP + b"$NUL ${NUL:-x}")


def envfile_corpus():
    write("envfile", "distro-environment", open(os.path.join(ROOT, "distro/environment"), "rb").read())
    samples = {
        "basic": b"# comment\nFOO=bar\nPATH=/usr/bin\n!unset LANG\n",
        "commands": b"!clear\nA=1\n!import HOME LANG NOPE\n!unset A B\n",
        "errors": b"no equals\n=value\n1BAD=x\n!bogus\n!clear now\n!unset\n!import ok bad-name\nA\x00=1\n",
        "crlf": b"A=1\r\n  B = 2\r\n\t!unset A\r\n#x\r\nC==3\n",
        "spaces": b"   X=  spaced value  \n! clear\n!import\tHOME\x0bLANG\n",
    }
    for k, v in samples.items():
        write("envfile", k, v)


def load_corpus():
    n = 0
    for path, data in descriptions():
        if b"/" in data:
            data = data.replace(b"/", b"_")
        arg = b"tty1" if b"$1" in data else b""
        write("load", f"file-{n:02d}", arg + b"\nHOME=home\n" + SEP + data)
        n += 1
    write("load", "includes", b"arg\nX=f0\n" + SEP + SEP.join([
        b"type = internal\n@include f0\n@include-opt f9\nenv-file = f1\ndepends-on: f2\n"
        b"waits-for.d: d\nafter: f3\nbefore: svc\n",
        b"restart = yes\n@include $X\n",
        b"A=1\n!unset B\n",
        b"type = internal\ndepends-on: svc\n",
        b"type = process\ncommand = true $1 $A\n",
    ]))
    write("load", "cycle", b"\n" + SEP + SEP.join([
        b"type = internal\ndepends-on: f0\n", b"type = internal\ndepends-on: f1\n",
        b"type = internal\ndepends-on: svc\n"]))
    write("load", "consumer", b"\n" + SEP + SEP.join([
        b"type = process\ncommand = logger\nconsumer-of = f0\n",
        b"type = process\ncommand = producer\nlog-type = pipe\n"]))


def hexbytes(s):
    return bytes(int(h, 16) for h in re.findall(r"\b[0-9a-f]{2}\b", s))


def proto_corpus(doc_path):
    text = open(doc_path, encoding="utf-8").read()
    section = text[text.index("## 12. Test vectors"):text.index("## 13.")]
    requests, replies = [], []
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0].startswith("V") and len(cells) >= 3:
            req, rep = cells[1], cells[2]
        elif cells[0].startswith("`") and len(cells) >= 2:
            req, rep = cells[0], cells[1]
        else:
            continue
        r = hexbytes(" ".join(re.findall(r"`([^`]*)`", req)))
        if r:
            requests.append(r)
        for p in re.findall(r"`([^`]*)`", rep):
            b = hexbytes(p)
            if b:
                replies.append(b)
    for block in re.findall(r"```\n(.*?)```", section, re.S):
        for line in block.splitlines():
            b = hexbytes(line.split("  ")[0])
            if b:
                replies.append(b)
    # One packet for each code and length: a few dozen seeds.
    seen, kinds = [], set()
    for b in requests + replies:
        if (b[0], len(b)) not in kinds:
            kinds.add((b[0], len(b)))
            seen.append(b)
    for i, b in enumerate(seen):
        write("proto", f"spec-{i:03d}", b)
    # control: a mode byte (0: write at once; 0x80 | n-1: chunks of n), then requests.
    stream = b"".join(requests)
    codes = set()
    for i, r in enumerate(requests):
        if r[0] not in codes:
            codes.add(r[0])
            write("control", f"spec-{i:02d}", b"\x00" + r)
    write("control", "spec-all", b"\x00" + stream)
    write("control", "spec-all-chunks-of-3", b"\x82" + stream)
    write("control", "spec-all-bytewise", b"\x80" + stream)
    # A client session over the services of src/control.rs: load, start, list, status, stop.
    def load(name):
        return b"\x02" + len(name).to_bytes(2, "little") + name
    write("control", "session", b"\x00" + b"\x00" + load(b"dependent") + b"\x03\x00\x00\x00\x00\x00"
          + b"\x19" + b"\x1c\x00\x00\x00\x00" + load(b"ms") + b"\x04\x02\x00\x00\x00\x00"
          + b"\x04\x86\x01\x00\x00\x00" + b"\x18\x00" + b"\x1b" + b"\x11\x03\x00A=1" + b"\x0d"
          + b"\x16\x00\x00\x00\x00\x00" + b"\x0f\x00\x01\x00\x00\x00" + b"\x09\x01\x00\x00\x00")


if __name__ == "__main__":
    doc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "PROTOCOL.md")
    desc_corpus()
    subst_corpus()
    envfile_corpus()
    load_corpus()
    proto_corpus(doc)
    for t in sorted(os.listdir(CORPUS)):
        print(t, len(os.listdir(os.path.join(CORPUS, t))))
