# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capture real log lines and real facts from lab hosts of every Debian suite the lab boots.

Run as root from the checkout, with the project's virtualenv (ansible-playbook, the collection in
.build):

    .venv/bin/python tests/utils/capture_lab_samples.py                 # samples and facts, 3 suites
    .venv/bin/python tests/utils/capture_lab_samples.py --only facts    # only the clean-host facts
    .venv/bin/python tests/utils/capture_lab_samples.py --suites trixie --only samples

How the hosts are built: ``tests/lab/lab up bullseye:systemd@bullseye bookworm:systemd@bookworm
trixie:systemd@trixie`` (LAB_ID from the environment, default 5: bridge crlab5, 10.213.12.0/24;
each host a debootstrapped Debian root of that suite booted with systemd-nspawn, see docs/lab.md).
The host is named after its suite, so every captured line says which release wrote it. The lab is
always taken down at the end.

1. Facts (``--only facts``), first, while every host is clean: ``ansible-playbook`` runs
   ``connreset.doctor.reset_facts`` (all collectors, the diagnose role's defaults, become root)
   on each host and its ``ansible_facts`` are written to
   tests/unit/plugins/plugin_utils/fixtures/facts_<suite>_clean.json (with the suite, versions,
   date and controller address). The hosts share this machine's kernel log, so the OOM lookback
   (``oom.since``) starts when the script does: earlier OOM kills on this machine (other tests')
   are not the host's.

2. Events (``--only samples``), each provoked for real on each host, then that host's journal
   read since the event began, written to
   tests/unit/plugins/module_utils/samples/lab/<suite>/<what>.txt (``journalctl -o short-iso``)
   and <what>.json (``journalctl -o json``, one entry per line) with the sshd collector's own
   journal matches (``_sshd.JOURNAL_MATCHES``) unless said otherwise:

   * ``reload``: ``systemctl reload ssh``.
   * ``crashloop``: ``lab fault H sshd-crashloop`` (``kill -9`` of the listener every 0.3 s until
     systemd gives up, ≤ 12 kills / 20 s), then ``--undo`` (``systemctl reset-failed; start``).
   * ``maxstartups``: ``lab fault H maxstartups`` (``MaxStartups 1:100:1``, reload, one held
     pre-authentication connection), then 16 raw TCP connections 0.05 s apart (each dropped);
     on OpenSSH >= 9.8 a pause of 25 s and one more connection, so sshd writes its rate-limit
     summary (log.c log_ratelimit(): hysteresis 20 s); then ``--undo``.
   * ``wrappers``: ``lab fault H wrappers-deny`` (``sshd: <controller>`` in hosts.deny), one raw
     TCP connection waiting up to 10 s (libwrap makes sshd/sshd-session refuse it after ~5 s),
     then ``--undo``.
   * ``penalties`` (OpenSSH >= 9.8 only): a ``LogLevel VERBOSE`` drop-in (sshd logs penalties
     imposed at VERBOSE), ``lab fault H penalties --penalty-s 60`` (``PerSourcePenalties
     authfail:30s min:30s max:60s``, failed key logins until the controller is refused), 10 raw connections during the penalty (past the rate limit of 8),
     a pause of 33 s (hysteresis 30 s) and one more, then ``--undo`` and the drop-in removed.
   * ``oom``: ``lab fault H oom`` (a transient unit with a 24M memory limit allocating until the
     memory cgroup's OOM killer kills it; on a cgroup v2 host the lab puts it in a real v1 memory
     cgroup, see docs/lab.md), one host at a time; <what>.txt/.json are the unit's lines
     (``-u lab-oom-hog.service``), oom-kernel.txt/.json the kernel's (``journalctl -k``) from the start of that host's OOM to its end.
   * Not captured: conntrack table-full lines (they need the machine-wide nf_conntrack_max, which
     the lab never changes).

   samples/lab/ORIGINS.md records per suite the OpenSSH, systemd and kernel versions, the date and
   this command; each suite's directory gets a STEPS.md with what was run and when.

Every loop is bounded; traffic goes only to the lab's own bridge.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab.py')
SAMPLES = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'module_utils', 'samples', 'lab')
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'plugin_utils', 'fixtures')
SUITES = ('bullseye', 'bookworm', 'trixie')
LAB_ID = os.environ.get('LAB_ID', '5')
LAB_DIR = os.environ.get('LAB_DIR') or '/run/connreset-lab-%s' % LAB_ID
ENV = dict(os.environ, LAB_ID=LAB_ID, LAB_DIR=LAB_DIR)
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
OOM_LOCK = threading.Lock()  # the kernel log is the machine's: one OOM at a time

sys.path.insert(0, os.path.join(ROOT, '.build'))
from ansible_collections.connreset.doctor.plugins.module_utils._sshd import JOURNAL_MATCHES  # noqa: E402

FACTS_PLAYBOOK = """---
- name: Capture reset_facts from clean lab hosts (tests/utils/capture_lab_samples.py)
  hosts: all
  gather_facts: false
  become: true
  tasks:
    - name: All collectors, as the diagnose role calls them
      connreset.doctor.reset_facts:
        gather_subset: [all]
        budget: 20
        oom: {since: "@%(since)d"}
      register: captured
    - name: Write them on the controller
      ansible.builtin.copy:
        content: "{{ captured.ansible_facts | to_nice_json(sort_keys=true) }}"
        dest: "%(out)s/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost
      become: false
"""


def log(msg):
    sys.stderr.write('capture: %s\n' % msg)
    sys.stderr.flush()


def lab(*args, timeout=300, check=True):
    proc = subprocess.run([sys.executable, LAB] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=ENV, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError('lab %s: rc=%s %s%s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


def hexec(host, *argv, timeout=60, check=True):
    return lab('exec', host, '--', *argv, timeout=timeout, check=check)


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


def journal(host, since, until, matches):
    """(short-iso text, json text) of the host's journal between since and until (epoch s)."""
    window = ['--since', '@%d' % int(since), '--until', '@%d' % (int(until) + 1)]
    base = ['journalctl', '--no-pager', '-q'] + window
    short = hexec(host, *(base + ['-o', 'short-iso'] + matches)).stdout
    js = hexec(host, *(base + ['-o', 'json'] + matches)).stdout
    return short, js


def raw_connections(address, count, pause, timeout=3):
    """count raw TCP connections, each reading what sshd sends first (bounded: timeout s each)."""
    seen = {}
    for _i in range(count):
        try:
            with socket.create_connection((address, 22), timeout=timeout) as s:
                s.settimeout(timeout)
                data = s.recv(64).decode('ascii', 'replace').strip()
        except OSError as exc:
            data = 'error: %s' % exc.__class__.__name__
        key = data if not data.startswith('SSH-') else 'SSH banner'
        seen[key] = seen.get(key, 0) + 1
        time.sleep(pause)
    return seen


class Host:
    def __init__(self, suite, status):
        self.suite = suite
        self.name = suite
        self.address = status['address']
        self.openssh = status['openssh']
        self.systemd = status['systemd']
        self.dir = os.path.join(SAMPLES, suite)
        self.steps = []

    @property
    def penalties(self):
        major, minor = (int(x) for x in self.openssh.split('p')[0].split('.')[:2])
        return (major, minor) >= (9, 8)

    def write(self, what, short, js):
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, what + '.txt'), 'w') as f:
            f.write(short)
        with open(os.path.join(self.dir, what + '.json'), 'w') as f:
            f.write(js)
        return len(short.splitlines())

    def event(self, what, provoke, matches=None, kernel=False):
        start = time.time() - 1
        note = provoke()
        time.sleep(1.5)  # journald writes asynchronously
        end = time.time()
        n = self.write(what, *journal(self.name, start, end, list(JOURNAL_MATCHES) if matches is None else matches))
        extra = ''
        if kernel:
            short, js = journal(self.name, start, end, ['-k'])
            extra = ', %d kernel lines' % self.write(what + '-kernel', short, js)
        self.steps.append((what, iso(start), iso(end), note, n))
        log('%s: %s: %d lines%s (%s)' % (self.name, what, n, extra, note))

    # ------------------------------------------------------------ events
    def reload(self):
        hexec(self.name, 'systemctl', 'reload', 'ssh.service')
        return 'systemctl reload ssh.service'

    def crashloop(self):
        lab('fault', self.name, 'sshd-crashloop')
        show = hexec(self.name, 'systemctl', 'show', '-p', 'ActiveState,Result,NRestarts', 'ssh.service').stdout
        lab('fault', self.name, 'sshd-crashloop', '--undo')
        return 'lab fault sshd-crashloop (then --undo): %s' % ' '.join(show.split())

    def maxstartups(self):
        lab('fault', self.name, 'maxstartups')
        try:
            seen = raw_connections(self.address, 16, 0.05)
            if self.penalties:
                time.sleep(25)
                more = raw_connections(self.address, 1, 0)
                for k, v in more.items():
                    seen[k] = seen.get(k, 0) + v
        finally:
            lab('fault', self.name, 'maxstartups', '--undo')
        return 'lab fault maxstartups, raw connections%s: %s' % (
            ' (16, 25 s pause, 1)' if self.penalties else ' (16)', json.dumps(seen, sort_keys=True))

    def wrappers(self):
        lab('fault', self.name, 'wrappers-deny')
        try:
            start = time.time()
            seen = raw_connections(self.address, 1, 0, timeout=10)  # libwrap refuses after ~5 s
            took = time.time() - start
        finally:
            lab('fault', self.name, 'wrappers-deny', '--undo')
        return 'lab fault wrappers-deny, 1 raw connection: %s after %.1f s' % (json.dumps(seen), took)

    def penalty(self):
        dropin = '/etc/ssh/sshd_config.d/01-capture-loglevel.conf'
        hexec(self.name, 'sh', '-c', 'echo "LogLevel VERBOSE" > %s && systemctl reload ssh.service' % dropin)
        try:
            info = lab('fault', self.name, 'penalties', '--penalty-s', '60').stderr.strip()
            seen = raw_connections(self.address, 10, 0.05)
            time.sleep(33)
            for k, v in raw_connections(self.address, 1, 0).items():
                seen[k] = seen.get(k, 0) + v
        finally:
            lab('fault', self.name, 'penalties', '--undo', check=False)
            hexec(self.name, 'sh', '-c', 'rm -f %s && systemctl reload ssh.service' % dropin, check=False)
        return ('LogLevel VERBOSE; lab fault penalties --penalty-s 60 (%s); raw connections (10, 33 s pause, 1): '
                '%s; --undo' % (info.splitlines()[-1] if info else '', json.dumps(seen, sort_keys=True)))

    def oom(self):
        lab('fault', self.name, 'oom', timeout=60)
        show = hexec(self.name, 'systemctl', 'show', '-p', 'ActiveState,Result,ExecMainStatus',
                     'lab-oom-hog.service').stdout
        lab('fault', self.name, 'oom', '--undo')
        return 'lab fault oom (then --undo): %s' % ' '.join(show.split())

    def run_samples(self):
        self.event('reload', self.reload)
        self.event('crashloop', self.crashloop)
        self.event('maxstartups', self.maxstartups)
        self.event('wrappers', self.wrappers)
        if self.penalties:
            self.event('penalties', self.penalty)
        with OOM_LOCK:
            self.event('oom', self.oom, matches=['-u', 'lab-oom-hog.service'], kernel=True)
        with open(os.path.join(self.dir, 'STEPS.md'), 'w') as f:
            f.write('# What was done on the %s host, in order\n\n' % self.suite)
            f.write('Written by tests/utils/capture_lab_samples.py (its docstring says how); times UTC.\n\n')
            f.write('| file | from | to | what was done | lines |\n|---|---|---|---|---|\n')
            for what, start, end, note, n in self.steps:
                f.write('| `%s.txt`/`.json` | %s | %s | %s | %d |\n' % (what, start, end, note.replace('|', '/'), n))


def capture_facts(hosts, since, workdir):
    out = os.path.join(workdir, 'facts')
    os.makedirs(out, exist_ok=True)
    playbook = os.path.join(workdir, 'capture.yml')
    with open(playbook, 'w') as f:
        f.write(FACTS_PLAYBOOK % {'since': since, 'out': out})
    inventory = os.path.join(workdir, 'lab.yml')
    lab('inventory', '--format', 'yaml', '--output', inventory)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build'), ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_HOST_KEY_CHECKING='0')
    proc = subprocess.run([PLAYBOOK, '-i', inventory, '-f', str(len(hosts)), playbook], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError('capture playbook failed: %s%s' % (proc.stdout[-3000:], proc.stderr[-2000:]))
    controller = json.load(open(os.path.join(LAB_DIR, 'state.json')))['controller']
    for host in hosts:
        with open(os.path.join(out, host.name + '.json')) as f:
            facts = json.load(f)
        doc = {'_origin': {
            'how': 'tests/utils/capture_lab_samples.py --only facts: connreset.doctor.reset_facts (gather_subset all, '
                   'budget 20, oom.since = script start, become) on a clean lab host', 'suite': host.suite,
            'openssh': host.openssh, 'systemd': host.systemd, 'kernel': platform.release(),
            'captured': iso(time.time()), 'controller': controller, 'host_address': host.address},
            'facts': facts}
        path = os.path.join(FIXTURES, 'facts_%s_clean.json' % host.suite)
        with open(path, 'w') as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write('\n')
        log('%s: facts -> %s' % (host.name, os.path.relpath(path, ROOT)))


def write_origins(hosts, argv):
    path = os.path.join(SAMPLES, 'ORIGINS.md')
    rows = {}
    if os.path.exists(path):  # keep the rows of suites not captured this time
        for line in open(path):
            if line.startswith('| ') and not line.startswith('| suite') and line.split('|')[1].strip() in SUITES:
                rows[line.split('|')[1].strip()] = line
    for h in hosts:
        rows[h.suite] = '| %s | %s | %s | %s | %s | `%s` |\n' % (
            h.suite, h.openssh, h.systemd, platform.release(), iso(time.time()), ' '.join(argv))
    with open(path, 'w') as f:
        f.write('# Origins of the lab samples\n\n'
                'Real journal lines from systemd hosts of the lab (tests/lab/lab, Debian roots debootstrapped from the\n'
                "archive the machine's apt uses, booted with systemd-nspawn). Written by\n"
                '`tests/utils/capture_lab_samples.py` (its docstring says how the hosts are built, which faults and\n'
                'commands provoke each event and which journal matches read it); `<suite>/STEPS.md` says what was\n'
                'done and when. `<what>.txt` is `journalctl -o short-iso`, `<what>.json` `journalctl -o json` of the\n'
                "same entries; `oom-kernel.*` the kernel's lines (`journalctl -k`). The lab's addresses are\n"
                '10.213.12.0/24 (controller .1); hosts are named after their suite. The kernel is the machine\'s\n'
                '(the column below), whatever the suite: the kernel lines show that kernel\'s wording, not\n'
                "the suite's own kernel. Note systemd 257's `-o short-iso` writes `+00:00` where 247/252 write\n"
                '`+0000`.\n\n'
                '| suite | OpenSSH | systemd | kernel | captured | command |\n|---|---|---|---|---|---|\n')
        for suite in SUITES:
            if suite in rows:
                f.write(rows[suite])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--suites', default=','.join(SUITES), help='comma-separated (default: all three)')
    p.add_argument('--only', choices=('samples', 'facts'), help='only the log samples, or only the clean facts')
    args = p.parse_args(argv[1:])
    suites = [s for s in args.suites.split(',') if s]
    bad = [s for s in suites if s not in SUITES]
    if bad or not suites:
        p.error('unknown suite(s) %s: choose from %s' % (', '.join(bad) or '(none)', ', '.join(SUITES)))
    if os.geteuid() != 0:
        p.error('the lab needs root')
    since = int(time.time()) - 1
    workdir = os.path.join(LAB_DIR + '-capture')
    os.makedirs(workdir, exist_ok=True)
    try:
        lab('up', *['%s:systemd@%s' % (s, s) for s in suites], timeout=1800)
        status = dict((h['name'], h) for h in json.loads(lab('status', '--json').stdout))
        hosts = [Host(s, status[s]) for s in suites]
        if args.only in (None, 'facts'):
            capture_facts(hosts, since, workdir)
        if args.only in (None, 'samples'):
            with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
                for fut in [pool.submit(h.run_samples) for h in hosts]:
                    fut.result()
            write_origins(hosts, ['tests/utils/capture_lab_samples.py'] + argv[1:])
    finally:
        lab('down', timeout=120, check=False)
        subprocess.run(['rm', '-rf', workdir], check=False)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
