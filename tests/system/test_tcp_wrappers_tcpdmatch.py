# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Differential test: our hosts_access evaluator against libwrap's own, ``tcpdmatch -d``.

Seeded random hosts.allow / hosts.deny pairs (reproducible: the seed is fixed) are written to
temporary directories; ``tcpdmatch -d <daemon>[@server] <client>`` (Debian's tcpd, which
reads the two files from the current directory) decides each client, and so do
``parse()`` + ``evaluate()``.  The grammar covers everything that needs no name service:
daemon lists, ALL/KNOWN/UNKNOWN/LOCAL/PARANOID, EXCEPT nesting, trailing-dot prefixes,
net/mask and /len, [v6] and [v6]/len, wildcards, /file patterns, user@host, daemon@host,
hostname patterns (which cannot match: given an address, tcpdmatch predicts what happens
when the client's name lookup fails, so no DNS query is made), continuation lines, comments,
malformed lines and options (allow, deny, twist, spawn, severity, bad options...).

Clients are addresses only, so tcpdmatch makes no name lookups; each call has a timeout.

A second differential gives tcpdmatch host names instead, in private mount namespaces whose
/etc/hosts, nsswitch.conf ("hosts: files": no DNS) and host.conf are bind-mounted from a
temporary directory (loopback clients only; the machine's files are never edited): tcpdmatch
then looks each client up as libwrap does at connection time, and the collector (collect(),
with its own bounded lookups, run inside the same namespace) must give the same verdict,
deciding rule and client name for every generated client, with hostname patterns, LOCAL,
KNOWN, UNKNOWN, PARANOID and daemon@host rules (server 127.0.0.1, named localhost).

Debian's tcpdmatch prints the matched rule through syslog(), and its libwrap calls the
fortified ``__syslog_chk``, which bypasses tcpdmatch's own stdout syslog: a tiny
LD_PRELOAD shim (built with cc when available) routes it back, so we can also compare the
deciding rule (``matched:  hosts.allow line N``, N the rule's last physical line).

A third test runs Debian's real sshd (linked with libwrap) on loopback, one per case, each in
a private mount namespace where hosts.allow, hosts.deny and nsswitch.conf ("hosts: files": no
DNS) are bind-mounted from a temporary directory, connects from 127.0.0.2-4 and compares what
the client gets (SSH banner, reset/close after libwrap's delay, twist's output) with our
verdicts, the collector deciding in a namespace with the same files (its own name lookups):
this checks what tcpdmatch cannot (port-number daemon patterns, the server endpoint, and, with
names from the namespace's own /etc/hosts, LOCAL, KNOWN, UNKNOWN, PARANOID and .domain
patterns as sshd's libwrap itself resolves them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_wrappers as tw

TCPDMATCH = shutil.which('tcpdmatch') or next(
    (p for p in ('/usr/sbin/tcpdmatch', '/usr/bin/tcpdmatch') if os.path.exists(p)), None)
SEED = 20261122
PAIRS = 300

pytestmark = pytest.mark.skipif(TCPDMATCH is None, reason='tcpdmatch not installed (Debian package tcpd)')

CLIENTS_V4 = ['10.1.2.3', '10.1.9.9', '10.2.0.1', '192.168.1.10', '172.16.5.4', '11.0.0.1', '127.0.0.1']
CLIENTS_V6 = ['2001:db8::1', '2001:db8:1::5', 'fe80::1', '::1', '::ffff:10.1.2.3']
# tcpdmatch looks up the name of a server given as daemon@address (a DNS query): without
# @server the server endpoint is "unknown", and daemon@host patterns still get exercised.
SERVERS = [None]
DAEMONS = ['sshd', 'in.ftpd']

SHIM_C = r'''
#include <stdarg.h>
#include <syslog.h>
void __syslog_chk(int pri, int flag, const char *fmt, ...) { va_list ap; va_start(ap, fmt); vsyslog(pri, fmt, ap); va_end(ap); }
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap) { vsyslog(pri, fmt, ap); }
'''

ADDRESS_PATTERNS = [
    '10.1.2.3', '10.1.9.9', '192.168.1.10', '[2001:db8::1]', '[2001:DB8:0::1]', '[::1]', '[fe80::1]',
    '10.', '10.1.', '10.1.2.', '192.168.', '172.16.5.', '11.', '127.',
    '10.0.0.0/255.0.0.0', '10.1.0.0/16', '10.1.2.0/24', '0.0.0.0/0', '10.1.2.3/32', '10.1.0.0/8',
    '10.1.2.3/255.255.255.255', '192.168.0.0/255.255.0.0', '172.16.0.0/12', '10.0.0.0/255.255.0.0',
    '[2001:db8::]/32', '[2001:db8:1::]/48', '[::]/0', '[2001:db8::1]/128', '[fe80::]/10', '[::ffff:0:0]/96',
    '10.1.*', '10.?.2.3', '*.3', '2001:db8:*', '*', '10.1.2.?', '*:*', 'fe80*',
    'ALL', 'KNOWN', 'UNKNOWN', 'LOCAL', 'PARANOID', 'unknown',
    '.example.com', 'host.example.com', 'localhost', 'example.', 'paranoid',
    # corner cases: suffix patterns on addresses, case, malformed masks and brackets
    '.3', '.2.3', '.1', '2001:DB8:*', '[2001:DB8::1]', '10.1.2.3.', '10.1.2.3x', 'ALL/8', '0.0.0.0/0',
    '0.0.0.0/0.0.0.0', '10.0.0.0/08', '10.0.0.0/8x', '10.0.0.0/33', '010.0.0.0/8', '0x0a.0.0.0/8',
    '10.1.2.3/255.255.255.255', '[::]/0', '[2001:db8::]/032', '[2001:db8::]/129', '[::ffff:10.1.2.3]',
    '[::ffff:10.0.0.0]/104', '[2001:db8::1', 'EXCEPT', 'FE80*', 'Fe80::*', '10.0.0.0/255.0.255.0', '*.*.*.?', '???*',
]
DAEMON_PATTERNS = ['sshd', 'SSHD', '22', 'ALL', 'in.ftpd', 'in.telnetd', 'ss*', 's?hd', 'KNOWN', 'in.*', '.ftpd',
                   'sshd@ALL', 'sshd@10.0.0.1', 'sshd@10.0.0.0/8', 'ALL@192.0.2.', 'sshd@UNKNOWN', 'sshd@KNOWN',
                   'ALL@[::1]']
OPTIONS = ['allow', 'deny', 'DENY', 'ALLOW', 'spawn echo %a', 'severity auth.info', 'severity local0.notice',
           'severity notice', 'severity bogus', 'severity authpriv.info', 'twist /bin/echo 421 go away', 'bogus',
           'keepalive', 'keepalive 1', 'nice 5', 'nice x', 'nice', 'umask 022', 'umask 999', 'linger 5',
           'linger', 'setenv FOO bar', 'banners /nonexistent', 'user root', 'severity=auth.warning',
           'spawn = echo x', 'twist', '', 'spawn echo a\\:b', 'twist /bin/false', 'allow:', 'deny ',
           'severity LOCAL7.ERR', 'severity daemon.warn', 'umask 0077', 'nice -5', 'rfc931 x', 'umask -1',
           'linger 5x', 'setenv']


def build_shim(tmp):
    compiler = shutil.which('cc') or shutil.which('gcc')
    if not compiler:
        return None
    source = os.path.join(tmp, 'shim.c')
    with open(source, 'w') as handle:
        handle.write(SHIM_C)
    target = os.path.join(tmp, 'shim.so')
    proc = subprocess.run([compiler, '-shared', '-fPIC', '-O2', '-o', target, source],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False)
    return target if proc.returncode == 0 else None


class Grammar:
    """Random rule sets; ``patterns``/``daemons``: the client and daemon patterns to draw from,
    ``users``: whether user@host patterns are drawn (they need IDENT, which tcpdmatch never asks)."""

    def __init__(self, rng, tmp, patterns=None, daemons=None, users=True):
        self.rng = rng
        self.tmp = tmp
        self.files = {}
        self.patterns = patterns or ADDRESS_PATTERNS
        self.daemons = daemons or DAEMON_PATTERNS
        self.users = users

    def client_pattern(self, depth=0):
        rng = self.rng
        roll = rng.random()
        if roll < 0.08 and depth == 0:
            return self.pattern_file()
        if roll < 0.13 and self.users:
            return rng.choice(['root', 'ALL', 'KNOWN', 'UNKNOWN', 'r*']) + '@' + rng.choice(self.patterns)
        return rng.choice(self.patterns)

    def pattern_file(self):
        rng = self.rng
        path = os.path.join(self.tmp, 'patterns-%d' % len(self.files))
        if rng.random() < 0.1:
            return path + '-missing'
        lines = []
        for _unused in range(rng.randint(0, 3)):
            lines.append(' '.join(self.client_pattern(depth=1) for _unused in range(rng.randint(0, 3))))
        text = '\n'.join(lines) + ('\n' if lines and rng.random() < 0.8 else '')
        with open(path, 'w') as handle:
            handle.write(text)
        self.files[path] = text
        return path

    def plist(self, item):
        rng = self.rng
        parts = [item() for _unused in range(rng.randint(1, 3))]
        for _unused in range(rng.choice([0, 0, 0, 1, 1, 2])):
            parts.append('EXCEPT')
            parts.extend(item() for _unused in range(rng.randint(1, 2)))
        out = parts[0]
        for part in parts[1:]:
            out += rng.choice([' ', ', ', ',', '\t', ' , '])
            out += part
        return out

    def rule(self):
        rng = self.rng
        line = self.plist(lambda: rng.choice(self.daemons)) + rng.choice([':', ': ', ' : ', '\t:\t'])
        line += self.plist(self.client_pattern)
        if rng.random() < 0.35:
            count = rng.choice([1, 1, 1, 2, 3])
            line += ' : ' + ' : '.join(rng.choice(OPTIONS) for _unused in range(count))
        elif rng.random() < 0.05:
            line += ':'
        if rng.random() < 0.04:
            line += ', 2001:db8::' + rng.choice(['1', '/32'])
        if rng.random() < 0.2:
            spaces = [m.start() for m in re.finditer(' ', line)]
            if spaces:
                cut = rng.choice(spaces)
                line = line[:cut] + ' \\\n' + line[cut:]
        return line

    def table(self):
        rng = self.rng
        lines = []
        for _unused in range(rng.randint(0, 5)):
            roll = rng.random()
            if roll < 0.08:
                lines.append('# ' + self.rule().replace('\n', ' '))
            elif roll < 0.12:
                lines.append('')
            elif roll < 0.15:
                lines.append('  # indented: ALL')
            elif roll < 0.18:
                lines.append('sshd ALL no colon')
            elif roll < 0.20:
                lines.append(self.rule().replace('\n', '') + '\r')
            elif roll < 0.21:
                lines.append(rng.choice(['sshd:', ': ALL', 'ALL EXCEPT: ALL', 'sshd: ALL EXCEPT', 'sshd : : allow']))
            else:
                lines.append(self.rule())
        text = '\n'.join(lines)
        if lines and rng.random() < 0.9:
            text += '\n'
        return text


def run_tcpdmatch(cwd, daemon, client, shim, want_name=False):
    """(access, (file, line) of the deciding rule or None[, the client host name or None]).

    tcpdmatch.c prints "client:   hostname %n" only when the name is not "unknown", "access:
    granted|denied|delegated", and (through the shim) hosts_access.c's "matched:  %s line %d".
    """
    env = dict(os.environ, LC_ALL='C', LANG='C')
    if shim:
        env['LD_PRELOAD'] = shim
    proc = subprocess.run([TCPDMATCH, '-d', daemon, client], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=10, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    access = re.search(r'^access:\s+(\S+)$', out, re.M)
    matched = re.search(r'^matched:\s+(\S+) line (\d+)$', out, re.M)
    found = (access.group(1) if access else 'rc=%s %s' % (proc.returncode, proc.stderr.decode()[-200:]),
             [matched.group(1), int(matched.group(2))] if matched else None)
    if want_name:
        name = re.search(r'^client:   hostname (\S+)$', out, re.M)
        return found + (name.group(1) if name else None,)
    return found


def ours(allow_text, deny_text, daemon, server, client, files):
    allow, allow_errors = tw.parse(allow_text, 'hosts.allow')
    deny, deny_errors = tw.parse(deny_text, 'hosts.deny')
    stops = {'allow': tw.table_stop(allow_errors), 'deny': tw.table_stop(deny_errors)}
    present = {}
    for path in tw.pattern_files(allow + deny):
        present[path] = files.get(path)
    verdict = tw.evaluate(allow, deny, daemon, tw.normalize_client(client), hostname=None, user=None,
                          server_addr=server, server_name=None, files=present, stops=stops,
                          server_port=None)
    matched = [verdict['file'], verdict['end_line']] if verdict['file'] else None
    return _access_of(verdict), matched, verdict


def test_differential_against_tcpdmatch(tmp_path):
    started = time.monotonic()
    shim = build_shim(str(tmp_path))
    rng = random.Random(SEED)
    compared = rule_compared = 0
    disagreements = []
    counts = {}
    for pair in range(PAIRS):
        workdir = tmp_path / ('pair-%03d' % pair)
        workdir.mkdir()
        grammar = Grammar(rng, str(workdir))
        allow_text, deny_text = grammar.table(), grammar.table()
        if rng.random() < 0.08:
            deny_text = 'ALL: ALL\n'
        (workdir / 'hosts.allow').write_text(allow_text)
        if rng.random() < 0.95:
            (workdir / 'hosts.deny').write_text(deny_text)
        else:
            deny_text = ''
        clients = rng.sample(CLIENTS_V4, 3) + rng.sample(CLIENTS_V6, 2)
        for client in clients:
            daemon = rng.choice(DAEMONS)
            server = rng.choice(SERVERS)
            arg = daemon + ('@' + server if server else '')
            theirs, their_rule = run_tcpdmatch(str(workdir), arg, client, shim)
            mine, my_rule, verdict = ours(allow_text, deny_text, daemon, server, client, grammar.files)
            compared += 1
            counts[theirs] = counts.get(theirs, 0) + 1
            same = theirs == mine
            if shim and same:
                rule_compared += 1
                same = their_rule == my_rule
            if not same:
                disagreements.append('pair %d: tcpdmatch -d %s %s → %s %s; ours → %s %s (%s)\n'
                                     '--- hosts.allow\n%s--- hosts.deny\n%s--- pattern files\n%s'
                                     % (pair, arg, client, theirs, their_rule, mine, my_rule, verdict['reason'],
                                        allow_text, deny_text, grammar.files))
    elapsed = time.monotonic() - started
    print('tcpdmatch differential: %d verdicts compared (%d with the deciding rule), %d disagreements, '
          'tcpdmatch said %s, %.1f s' % (compared, rule_compared, len(disagreements), counts, elapsed))
    assert not disagreements, '%d of %d verdicts differ; first ones:\n%s' % (
        len(disagreements), compared, '\n'.join(disagreements[:5]))
    # The grammar must reach every outcome, or the comparison proves little.
    assert counts.get('granted') and counts.get('denied') and counts.get('delegated'), counts


# ---------------------------------------------------------------------------------------
# names: the collector's own lookups against tcpdmatch's, in a private mount namespace
# ---------------------------------------------------------------------------------------
# Two namespaces, each with its own /etc/hosts (nsswitch.conf "hosts: files": no DNS) and
# host.conf, loopback addresses only.  The last name of each line is a handle: tcpdmatch is
# given it, looks it up (scaffold.c find_inet_addr), then looks the address up as libwrap does
# at connection time (socket.c sock_hostname: reverse, then forward and compare); given an
# address instead, tcpdmatch assumes the reverse lookup failed (tcpdmatch.c), which is what a
# client without a name gets, so 127.0.0.4 (no line) is given as an address.
# Without "multi on" glibc's files backend answers a forward lookup from the first line with
# the name only (liar.example.com → 127.0.0.6: an address mismatch); with it, from every line
# (foo.example.net → 127.0.0.15 and .16, canonical bar.example.net: a name mismatch only;
# localhost → canonical localhost.localdomain, which libwrap lets pass for localhost;
# case.example.com → canonical Case.Example.Com, equal for strcasecmp).
# clients: address → (what tcpdmatch is given, the name libwrap gets)
NAME_CONFIGS = {
    'plain': {'host.conf': '', 'hosts': '''127.0.0.1 localhost h1
127.0.0.2 web1.example.com web1 h2
127.0.0.3 lonely h3
127.0.0.6 liar.example.com
127.0.0.5 liar.example.com h5
127.0.0.7 Mixed.Case.Example.COM h7
127.0.0.8 dotted.example.org. h8
127.0.0.9 127.0.0.9 h9
127.0.0.11 db.internal.corp h11
''', 'clients': {
        '127.0.0.1': ('h1', 'localhost'),
        '127.0.0.2': ('h2', 'web1.example.com'),        # verified; aliases do not count
        '127.0.0.3': ('h3', 'lonely'),                  # no dot: LOCAL
        '127.0.0.4': ('127.0.0.4', 'unknown'),          # no reverse name
        '127.0.0.5': ('h5', 'paranoid'),                # its name maps to 127.0.0.6 only
        '127.0.0.7': ('h7', 'Mixed.Case.Example.COM'),  # case kept, compared without
        '127.0.0.8': ('h8', 'dotted.example.org.'),     # a trailing dot is part of the name
        '127.0.0.9': ('h9', 'paranoid'),                # a numeric name, even one that maps back
        '127.0.0.11': ('h11', 'db.internal.corp'),
    }},
    'multi': {'host.conf': 'multi on\n', 'hosts': '''127.0.0.13 localhost.localdomain localhost h13
127.0.0.1 localhost h1
127.0.0.2 web1.example.com web1 h2
127.0.0.16 bar.example.net foo.example.net
127.0.0.15 foo.example.net h15
127.0.0.6 liar.example.com
127.0.0.5 liar.example.com h5
127.0.0.9 127.0.0.9 h9
127.0.0.18 Case.Example.Com
127.0.0.17 case.example.com h17
''', 'clients': {
        '127.0.0.1': ('h1', 'localhost'),               # canonical localhost.localdomain: localhost passes
        '127.0.0.2': ('h2', 'web1.example.com'),
        '127.0.0.4': ('127.0.0.4', 'unknown'),
        '127.0.0.5': ('h5', 'liar.example.com'),        # now both addresses: verified
        '127.0.0.9': ('h9', 'paranoid'),
        '127.0.0.13': ('h13', 'localhost.localdomain'),
        '127.0.0.15': ('h15', 'paranoid'),              # host name/name mismatch, the address is there
        '127.0.0.17': ('h17', 'case.example.com'),      # canonical Case.Example.Com: strcasecmp, verified
    }},
}
NAME_PATTERNS = [
    '.example.com', '.EXAMPLE.COM', 'web1.example.com', 'web1', 'h2', 'WEB?.example.com', '*.example.*', 'lonely',
    'LONELY', '?onely', 'localhost', 'liar.example.com', '.example.org.', 'dotted.example.org.', 'dotted.example.org',
    'dotted.', 'db.', 'db*', '*corp', '.corp', '.internal.corp', 'mixed.case.example.com', '.case.example.com',
    '127.0.0.9', 'paranoid', 'unknown', 'foo.example.net', 'bar.example.net', '.example.net', '.', 'localhost.',
    '.localdomain', 'localhost.localdomain',
    'KNOWN', 'KNOWN', 'UNKNOWN', 'UNKNOWN', 'LOCAL', 'LOCAL', 'PARANOID', 'PARANOID', 'ALL',
    '127.0.0.2', '127.0.0.5', '127.0.0.0/255.255.255.248', '127.0.0.8/29', '127.0.0.', '127.0.0.1?', '127.*', '[::1]',
]
# tcpdmatch is given the server 127.0.0.1 (named localhost): daemon@host patterns match its
# name and address, and a port pattern its port, 0 (tcpdmatch's server has no port)
NAME_DAEMONS = ['sshd', 'sshd', 'ALL', 'in.ftpd', 'sshd@localhost', 'sshd@127.0.0.1', 'sshd@KNOWN', 'sshd@LOCAL',
                'ALL@UNKNOWN', 'sshd@PARANOID', 'ALL@.example.com', 'sshd@127.0.0.2', 'ALL@127.0.0.', 'sshd@local*',
                'sshd@LOCALHOST', '22', '0', '+0', '-0', '4294967296', '4294967318', '65536', 's?hd@ALL',
                'sshd@/tmp-nothing']
NAME_PAIRS = 200
NAME_SEED = 20261203
NAME_NAMESPACE = r'''
set -e
mount --bind "$1/hosts" /etc/hosts
mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$1/host.conf" /etc/host.conf
shift
exec "$@"
'''


def _access_of(verdict):
    """Our verdict as tcpdmatch prints it: twist (valid options) is 'delegated'."""
    access = verdict['access']
    if access == tw.DENIED and any(o['name'] == 'twist' for o in verdict['options']) \
            and 'twist' in verdict['reason'] and 'invalid' not in verdict['reason']:
        return 'delegated'
    return access


def run_in_namespace(work, config, cases, shim):
    """Decide every case inside a namespace of ``config``, with tcpdmatch and with collect(): [result].

    The namespace's /etc/hosts, nsswitch.conf and host.conf are bind-mounted from ``work``; the
    machine's own files are never edited.
    """
    work.mkdir()
    (work / 'hosts').write_text(NAME_CONFIGS[config]['hosts'])
    (work / 'nsswitch.conf').write_text('hosts: files\n')
    (work / 'host.conf').write_text(NAME_CONFIGS[config]['host.conf'])
    (work / 'cases.json').write_text(json.dumps({'config': config, 'cases': cases, 'shim': shim}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LC_ALL='C', LANG='C')
    proc = subprocess.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', NAME_NAMESPACE, 'sh',
                           str(work), sys.executable, os.path.abspath(__file__), str(work / 'cases.json'),
                           str(work / 'results.json')],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=540, check=False)
    assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-3000:]
    return json.loads((work / 'results.json').read_text())


def inner(cases_path, results_path):
    """Run inside the namespace (this file as a script): tcpdmatch and collect() for each case."""
    from ansible_collections.connreset.doctor.plugins.module_utils._common import System  # pylint: disable=import-outside-toplevel
    with open(cases_path) as handle:
        cases = json.load(handle)
    for path, key in (('/etc/hosts', 'hosts'), ('/etc/host.conf', 'host.conf')):
        with open(path) as handle:
            assert handle.read() == NAME_CONFIGS[cases['config']][key], 'not in the namespace'
    results = []
    started = time.monotonic()
    for case in cases['cases']:
        assert time.monotonic() - started < 500, 'cases took too long'
        theirs = their_rule = their_name = None
        if case.get('arg'):
            theirs, their_rule, their_name = run_tcpdmatch(case['dir'], case['daemon'] + '@127.0.0.1', case['arg'],
                                                           cases['shim'], want_name=True)
        system = System(environ={'SSH_CONNECTION': '%s 40000 127.0.0.1 %d' % (case['client'], case.get('port', 0))})
        fact = tw.collect(system, {'allow_path': os.path.join(case['dir'], 'hosts.allow'),
                                   'deny_path': os.path.join(case['dir'], 'hosts.deny'), 'daemon': case['daemon'],
                                   'clients': None, 'name_lookups': True, 'lookup_timeout': 5.0})
        results.append({'theirs': theirs, 'their_rule': their_rule, 'their_name': their_name,
                        'verdict': fact['verdicts'][0], 'status': fact['status']})
    with open(results_path, 'w') as handle:
        json.dump(results, handle)


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root (a private mount namespace)')
@pytest.mark.skipif(not shutil.which('unshare'), reason='needs unshare (util-linux)')
def test_differential_with_name_lookups(tmp_path):
    """Hostname patterns, LOCAL, KNOWN, UNKNOWN, PARANOID and daemon@host: the collector looks the
    client up itself and must give tcpdmatch's verdict, rule and name for every client."""
    started = time.monotonic()
    shim = build_shim(str(tmp_path))
    rng = random.Random(NAME_SEED)
    cases, texts, results = [], [], []
    for pair in range(NAME_PAIRS):
        config = 'plain' if pair % 2 else 'multi'
        clients = NAME_CONFIGS[config]['clients']
        workdir = tmp_path / ('names-%03d' % pair)
        workdir.mkdir()
        grammar = Grammar(rng, str(workdir), patterns=NAME_PATTERNS, daemons=NAME_DAEMONS, users=False)
        allow_text, deny_text = grammar.table(), grammar.table()
        if rng.random() < 0.15:
            deny_text = 'ALL: ALL\n'
        (workdir / 'hosts.allow').write_text(allow_text)
        (workdir / 'hosts.deny').write_text(deny_text)
        texts.append((allow_text, deny_text, grammar.files))
        for client in rng.sample(sorted(clients), 5):
            cases.append({'pair': pair, 'config': config, 'dir': str(workdir), 'client': client,
                          'arg': clients[client][0], 'daemon': rng.choice(DAEMONS)})
    for config in sorted(NAME_CONFIGS):
        results.extend(run_in_namespace(tmp_path / ('ns-' + config), config,
                                        [c for c in cases if c['config'] == config], shim))
    cases.sort(key=lambda c: c['config'])          # the order results came back in
    disagreements, counts, names, lookups = [], {}, {}, 0
    for case, res in zip(cases, results):
        verdict = res['verdict']
        mine = _access_of(verdict)
        my_rule = [os.path.basename(verdict['file']), verdict['end_line']] if verdict['file'] else None
        counts[res['theirs']] = counts.get(res['theirs'], 0) + 1
        problems = []
        if mine != res['theirs']:
            problems.append('access: tcpdmatch %s, ours %s' % (res['theirs'], mine))
        if shim and mine == res['theirs'] and res['their_rule'] != my_rule:
            problems.append('rule: tcpdmatch %s, ours %s' % (res['their_rule'], my_rule))
        if verdict['lookup'] == 'done':
            lookups += 1
            names[verdict['name']] = names.get(verdict['name'], 0) + 1
            expected = NAME_CONFIGS[case['config']]['clients'][case['client']][1]
            if verdict['name'] != (res['their_name'] or 'unknown') or verdict['name'] != expected:
                problems.append('name: tcpdmatch %s, ours %s' % (res['their_name'], verdict['name']))
            if verdict['name_source'] != ('none' if verdict['name'] == 'unknown' else 'hosts'):
                problems.append('name_source %s' % verdict['name_source'])
        elif verdict['lookup'] != 'not_needed':
            problems.append('lookup %s' % verdict['lookup'])
        if problems:
            allow_text, deny_text, files = texts[case['pair']]
            disagreements.append('pair %d (%s): tcpdmatch -d %s@127.0.0.1 %s (%s): %s (%s)\n--- hosts.allow\n%s'
                                 '--- hosts.deny\n%s--- pattern files\n%s'
                                 % (case['pair'], case['config'], case['daemon'], case['arg'], case['client'],
                                    '; '.join(problems), verdict['reason'], allow_text, deny_text, files))
    elapsed = time.monotonic() - started
    print('tcpdmatch differential with names: %d verdicts compared, %d disagreements, tcpdmatch said %s, '
          '%d looked up (%s), %.1f s' % (len(results), len(disagreements), counts, lookups, names, elapsed))
    assert len(results) == len(cases) == NAME_PAIRS * 5
    assert not disagreements, '%d of %d verdicts differ; first ones:\n%s' % (
        len(disagreements), len(results), '\n'.join(disagreements[:5]))
    # every outcome and every kind of name reached, or the comparison proves little
    assert counts.get('granted') and counts.get('denied') and counts.get('delegated'), counts
    assert all(names.get(n) for n in ('unknown', 'paranoid', 'dotted.example.org.', 'liar.example.com',
                                      'localhost', 'Mixed.Case.Example.COM', 'case.example.com')), names
    assert lookups >= len(results) // 3, lookups


# ---------------------------------------------------------------------------------------
# the real thing: Debian's sshd linked with libwrap, in a private mount namespace
# ---------------------------------------------------------------------------------------
SSHD = '/usr/sbin/sshd'
REAL_CLIENTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']
# Names come from the namespace's own /etc/hosts ("hosts: files" in its nsswitch.conf and no
# "multi on", so nothing leaves the machine): 127.0.0.5's name maps back to 127.0.0.6 only,
# which libwrap calls PARANOID; 127.0.0.4 has no name.
REAL_HOSTS = '''127.0.0.1 localhost
127.0.0.2 web1.example.com web1
127.0.0.3 lonely
127.0.0.6 liar.example.com
127.0.0.5 liar.example.com
'''
REAL_NAMES = {'127.0.0.2': 'web1.example.com', '127.0.0.3': 'lonely', '127.0.0.4': 'unknown',
              '127.0.0.5': tw.PARANOID_NAME}
# the collector decides inside a namespace with the same files (its own lookups, as sshd's)
NAME_CONFIGS['real'] = {'host.conf': '', 'hosts': REAL_HOSTS,
                        'clients': dict((a, (None, n)) for a, n in REAL_NAMES.items())}
# (hosts.allow, hosts.deny); {port} is the sshd's port.
REAL_CASES = [
    ('', 'sshd: 127.0.0.2\n'),
    ('sshd: 127.0.0.0/255.255.255.0 EXCEPT 127.0.0.3\n', 'ALL: ALL\n'),
    ('', '{port}: 127.0.0.3, 127.0.0.4\n'),
    ('', 'sshd@127.0.0.1: 127.0.0.2, 127.0.0.4\n'),
    ('sshd: 127.0.0.2: twist /bin/echo 421 go away\n', ''),
    ('sshd: 127.0.0.2: deny\nsshd: ALL: allow\n', 'ALL: ALL\n'),
    ('', 'sshd: 127.0.0.9\nsshd: 127.0.0.3'),          # no final newline: Debian denies the rest
    ('sshd: 127.0.0.2 : nice x\nsshd: 127.0.0.0/24 EXCEPT 127.0.0.4\n', 'ALL: ALL\n'),
    ('sshd: /tmp-patterns\n', 'sshd: 127.0.0.*\n'),
    ('sshd: .example.com\n', 'ALL: ALL\n'),
    ('sshd: LOCAL\n', 'ALL: ALL\n'),
    ('', 'sshd: UNKNOWN\n'),
    ('', 'sshd: PARANOID\n'),
    ('', 'sshd: KNOWN EXCEPT web1.example.com\n'),
    ('sshd: web?.EXAMPLE.com, lonely\n', 'ALL: ALL\n'),
]
NAMESPACE_SCRIPT = r'''
set -e
mount --bind "$1/hosts.allow" /etc/hosts.allow
mount --bind "$1/hosts.deny" /etc/hosts.deny
mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$1/hosts" /etc/hosts
if [ -e /etc/host.conf ]; then mount --bind "$1/host.conf" /etc/host.conf; fi
mount -t tmpfs tmpfs /run
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e -f /dev/null -p "$2" -o ListenAddress=127.0.0.1 -o UseDNS=no -o PidFile=none \
    -h /etc/ssh/ssh_host_ed25519_key
'''


def _listening(port):
    want = ':%04X' % port
    with open('/proc/net/tcp') as handle:
        return any(line.split()[1].endswith(want) and line.split()[3] == '0A' for line in handle.readlines()[1:])


def _connect(source, port):
    """What a client at ``source`` gets: granted (SSH banner), denied (closed/reset) or delegated."""
    sock = socket.socket()
    sock.settimeout(9)
    try:
        sock.bind((source, 0))
        sock.connect(('127.0.0.1', port))
        data = sock.recv(64)
    except (ConnectionResetError, socket.timeout) as exc:
        return 'denied' if isinstance(exc, ConnectionResetError) else 'timeout'
    finally:
        sock.close()
    if data.startswith(b'SSH-'):
        return 'granted'
    return 'delegated' if data else 'denied'


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root (private mount namespaces, sshd)')
@pytest.mark.skipif(not os.path.exists(SSHD) or not shutil.which('unshare'), reason='needs sshd and unshare')
def test_real_sshd_agrees(tmp_path):
    import concurrent.futures  # pylint: disable=import-outside-toplevel
    if b'libwrap.so' not in open(SSHD, 'rb').read():
        pytest.skip('%s does not link libwrap' % SSHD)
    procs, jobs = [], []
    # Distinct ports: every case's port is held until all are chosen (a port released at once can be
    # handed out again; two sshds on one port would answer each other's clients).
    held = [socket.socket() for _case in REAL_CASES]
    for sock in held:
        sock.bind(('127.0.0.1', 0))
    ports = [sock.getsockname()[1] for sock in held]
    for sock in held:
        sock.close()
    try:
        for index, (allow, deny) in enumerate(REAL_CASES):
            port = ports[index]
            workdir = tmp_path / ('case-%d' % index)
            workdir.mkdir()
            patterns = workdir / 'patterns'
            patterns.write_text('127.0.0.3\n')
            allow = allow.replace('/tmp-patterns', str(patterns)).replace('{port}', str(port))
            deny = deny.replace('{port}', str(port))
            (workdir / 'hosts.allow').write_text(allow)
            (workdir / 'hosts.deny').write_text(deny)
            (workdir / 'nsswitch.conf').write_text('hosts: files\n')
            (workdir / 'hosts').write_text(REAL_HOSTS)
            (workdir / 'host.conf').write_text('')
            procs.append(subprocess.Popen(['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                                           NAMESPACE_SCRIPT, 'sh', str(workdir), str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
            jobs.append((index, port, allow, deny, {str(patterns): '127.0.0.3\n'}))
        deadline = time.monotonic() + 10
        while not all(_listening(port) for _i, port, _a, _d, _f in jobs):
            assert time.monotonic() < deadline, 'sshd did not start listening'
            assert all(proc.poll() is None for proc in procs), 'an sshd exited: %s' % [p.returncode for p in procs]
            time.sleep(0.05)
        time.sleep(0.2)
        # each case's own sshd listens (one that lost its port to another process would have exited)
        assert all(proc.poll() is None for proc in procs), 'an sshd exited: %s' % [p.returncode for p in procs]
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs) * len(REAL_CLIENTS)) as pool:
            futures = {(index, client): pool.submit(_connect, client, port)
                       for index, port, _a, _d, _f in jobs for client in REAL_CLIENTS}
        problems = []
        cases = [{'dir': str(tmp_path / ('case-%d' % index)), 'client': client, 'daemon': 'sshd', 'port': port}
                 for index, port, _a, _d, _f in jobs for client in REAL_CLIENTS]
        results = iter(run_in_namespace(tmp_path / 'ns-real', 'real', cases, None))
        for index, port, allow, deny, _files in jobs:
            for client in REAL_CLIENTS:
                real = futures[(index, client)].result()
                verdict = next(results)['verdict']
                mine = _access_of(verdict)
                if real != mine:
                    problems.append('case %d client %s: sshd says %s, ours %s (%s)\n%s---\n%s'
                                    % (index, client, real, mine, verdict['reason'], allow, deny))
                if verdict['lookup'] not in ('done', 'not_needed') or \
                        verdict['lookup'] == 'done' and verdict['name'] != REAL_NAMES[client]:
                    problems.append('case %d client %s: lookup %s, name %s' % (index, client, verdict['lookup'],
                                                                               verdict['name']))
        outcomes = [f.result() for f in futures.values()]
        counts = dict((name, outcomes.count(name)) for name in set(outcomes))
        print('real sshd: %d connections compared, sshd said %s' % (len(futures), counts))
        assert not problems, '\n'.join(problems)
        assert counts.get('granted') and counts.get('denied') and counts.get('delegated'), counts
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


@pytest.mark.skipif(not shutil.which('strace'), reason='strace not installed')
def test_tcpdmatch_makes_no_name_lookups(tmp_path):
    """Given an address and no @server, tcpdmatch must not query DNS even for name patterns."""
    (tmp_path / 'hosts.allow').write_text('sshd: .example.com, KNOWN, LOCAL, PARANOID, web1 EXCEPT UNKNOWN\n')
    (tmp_path / 'hosts.deny').write_text('ALL: host.example.com\n')
    proc = subprocess.run(['strace', '-f', '-e', 'trace=connect,sendto,sendmsg', TCPDMATCH, '-d', 'sshd', '192.0.2.7'],
                          cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20, check=False)
    trace = proc.stderr.decode('utf-8', 'replace')
    assert 'access:' in proc.stdout.decode()
    assert 'htons(53)' not in trace and 'AF_INET6' not in trace and 'sin_addr' not in trace, trace


if __name__ == '__main__':
    inner(sys.argv[1], sys.argv[2])
