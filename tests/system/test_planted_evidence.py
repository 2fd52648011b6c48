# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nobody can plant sshd events: a real sshd logs strangers' user names, a syslog file holds other programs'
lines, and the sshd collector finds no event in either; a real MaxStartups drop still counts.

As root, in a private mount namespace (``unshare --mount``; a tmpfs over /run gives sshd its /run/sshd):

1. ``/usr/sbin/sshd -D -e -f <config> -E <log>`` on 127.0.0.1 and a free port, ``LogLevel VERBOSE``, its own
   host key.  For every line of ``samples/sshd/planted_texts.txt`` (the text of each event pattern of
   ``_sshd.py``; a unit test keeps the file in step with the patterns) paramiko opens one connection and tries
   that text as the user name with a password: sshd logs ``Invalid user <text> from ...``, ``Failed password
   for invalid user <text> ...``, ``Connection closed by invalid user <text> ...``.  (sshd cuts a user name at
   its first ``:``, auth2.c's ``user:style``, so those texts are planted whole only through the syslog file.)
   sshd is then killed with SIGKILL, so that it writes no line of its own about stopping.
2. The collector reads that log: no event at all.
3. A second sshd with ``MaxStartups 1:100:1`` writes to the same log; one pre-auth connection is held and
   3 more are dropped.  The collector reads the log again: exactly the drops sshd logged, nothing else.
4. A syslog-format file with each text from other idents and processes (``logger``, ``root``, the
   per-connection ``sshd-session`` for the listener's lines, a user's ``systemd[4242]``, ``sshd`` for systemd's
   lines, and inside sshd's own ``Invalid user`` lines): read whole, no event.

Bounded: one connection per text (10 s timeout each, 120 s for all), 3 s per dropped connection, everything on
loopback; sshd is killed in a ``finally`` and the namespace goes away with the helper process.

5. The journal of a real Debian 13 host (the lab's ``pe1:systemd@trixie``: OpenSSH 10.0, systemd 257, journald;
   its own bridge and subnet, ``LAB_ID`` 3 unless ``CONNRESET_PLANTED_LAB_ID`` says otherwise): every text as a
   user name from the controller (paramiko, ``none`` authentication), and written by the unprivileged user
   ``nobody`` on the host with ``logger -t sshd --id=<listener PID>``, ``logger -t systemd --id=1``, a copy of
   logger named ``sshd`` and ``logger --journald`` with ``UNIT=ssh.service`` and ``SYSLOG_IDENTIFIER=systemd``.
   The collector, run on the host, finds no event; then real ones - the lab's ``maxstartups`` fault with 3 more
   connections, and a ``kill -9`` of the listener - count: the drops sshd logged and one crash; and the lab's
   ``penalties`` fault gives the penalty drops sshd logged and no MaxStartups drop.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.connreset.doctor.tests.utils.lab_env import systemd_unavailable
from ansible_collections.connreset.doctor.tests.utils.ports import unused_loopback_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, '.build')
SSHD = '/usr/sbin/sshd'
PLANTED = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'module_utils', 'samples', 'sshd', 'planted_texts.txt')
KINDS = ('crashes', 'restarts', 'maxstartups_drops', 'penalties', 'wrap_refusals')

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (runs sshd in a private mount namespace)')
needs_tools = pytest.mark.skipif(
    not (os.path.exists(SSHD) and shutil.which('ssh-keygen') and shutil.which('unshare')),
    reason='needs /usr/sbin/sshd, ssh-keygen and unshare (openssh-server, util-linux)')

# Runs inside `unshare --mount --propagation private`: argv = plant config, drop config, log, port, texts file
SCENARIO = r'''
import json, os, signal, socket, subprocess, sys, time
import paramiko
plant_config, drop_config, log, port, texts_file = sys.argv[1:6]
port = int(port)
texts = [l.rstrip('\n') for l in open(texts_file) if l.strip() and not l.startswith('#')]
subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', '/run'], check=True)
os.mkdir('/run/sshd', 0o755)
from ansible_collections.connreset.doctor.plugins.module_utils import _sshd
from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector


def start(config):
    sshd = subprocess.Popen(['/usr/sbin/sshd', '-D', '-e', '-f', config, '-E', log])
    deadline = time.monotonic() + 10
    while True:                                   # wait until sshd listens (bounded: 10 s)
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or sshd.poll() is not None:
                raise SystemExit('sshd did not start listening')
            time.sleep(0.05)
    time.sleep(0.3)                               # let the probe connection's child go away
    return sshd


def kill(sshd):
    if sshd.poll() is None:
        sshd.send_signal(signal.SIGKILL)          # no "Received signal 15; terminating." of its own
    sshd.wait(10)


def collect():
    fact = run_collector('sshd', _sshd.collect, System(), {'log_files': [log], 'config_file': plant_config,
                                                            'sshd_path': '/usr/sbin/sshd'})
    return fact['events']


tried, errors = 0, []
sshd = start(plant_config)
try:
    deadline = time.monotonic() + 120
    for text in texts:
        if time.monotonic() > deadline:
            errors.append('out of time after %d texts' % tried)
            break
        transport = paramiko.Transport(socket.create_connection(('127.0.0.1', port), timeout=10))
        try:
            transport.start_client(timeout=10)
            try:
                transport.auth_password(text, 'not the password')
            except paramiko.AuthenticationException:
                pass
            tried += 1
        except (paramiko.SSHException, OSError) as exc:
            errors.append('%r: %s' % (text, exc))
        finally:
            transport.close()
    time.sleep(0.5)                               # sshd writes its "Connection closed" lines
finally:
    kill(sshd)
planted = collect()

held, dropped = [], 0
sshd = start(drop_config)
try:
    held.append(socket.create_connection(('127.0.0.1', port), timeout=3))
    time.sleep(0.3)
    for _ in range(3):
        conn = socket.create_connection(('127.0.0.1', port), timeout=3)
        try:
            if b'Exceeded MaxStartups' in conn.recv(200):
                dropped += 1
        except OSError:
            pass
        finally:
            conn.close()
    time.sleep(0.3)
finally:
    for conn in held:
        conn.close()
    kill(sshd)
after_drops = collect()
print(json.dumps({'planted': planted, 'after_drops': after_drops, 'tried': tried, 'errors': errors,
                  'refused_by_banner': dropped}))
'''


def planted_texts():
    with open(PLANTED) as handle:
        return [line.rstrip('\n') for line in handle if line.strip() and not line.startswith('#')]


def is_systemd_text(text):
    return any(part in text for part in ('.service', 'Stopped ', 'start request'))


def config(tmp_path, name, port, key, maxstartups):
    path = tmp_path / name
    path.write_text('ListenAddress 127.0.0.1\nPort %d\nHostKey %s\nMaxStartups %s\nLogLevel VERBOSE\n'
                    'PidFile none\nUsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n'
                    'MaxAuthTries 2\n' % (port, key, maxstartups))
    return str(path)


def assert_no_event(events):
    for kind in KINDS:
        assert events[kind]['count'] == 0, (kind, events[kind])
        assert events[kind]['samples'] == [], (kind, events[kind])
    assert events['restarts']['reloads'] == 0 and events['restarts']['gave_up'] == 0
    assert events['penalties']['imposed'] == 0 and events['maxstartups_drops']['episodes'] == 0


@needs_root
@needs_tools
def test_user_names_holding_every_pattern_plant_no_event_and_real_drops_still_count(tmp_path):
    key = tmp_path / 'host_ed25519'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(key)], check=True, timeout=30)
    port = unused_loopback_port()
    plant = config(tmp_path, 'plant_config', port, key, '10:30:100')
    drop = config(tmp_path, 'drop_config', port, key, '1:100:1')
    log = tmp_path / 'sshd.log'
    env = dict(os.environ, PYTHONPATH=BUILD)
    proc = subprocess.run(['unshare', '--mount', '--propagation', 'private', sys.executable, '-c', SCENARIO,
                           plant, drop, str(log), str(port), PLANTED],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300, cwd='/', check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    texts = planted_texts()
    text = log.read_text()
    assert out['errors'] == [] and out['tried'] == len(texts), out['errors']
    # every text reached the log as a user name (up to auth2.c's ':' and auth.c's %.100s)
    for planted in texts:
        assert 'Invalid user %s from 127.0.0.1' % planted.split(':')[0][:100] in text, planted
    assert_no_event(out['planted'])

    # the real drops: sshd 9.2 at VERBOSE writes one line per drop (older: "past MaxStartups", 9.8+: other words)
    logged = [line for line in text.splitlines() if line.startswith('drop connection #')]
    events = out['after_drops']
    assert out['refused_by_banner'] >= 1 and len(logged) >= out['refused_by_banner']
    assert events['maxstartups_drops']['count'] == len(logged), (events['maxstartups_drops'], logged)
    for kind in ('crashes', 'restarts', 'penalties', 'wrap_refusals'):
        assert events[kind]['count'] == 0, (kind, events[kind])


def syslog_lines(texts, stamp):
    lines = []
    for text in texts:
        lines += ['%s h1 logger: %s' % (stamp, text), '%s h1 root: %s' % (stamp, text),
                  '%s h1 root[4242]: %s' % (stamp, text), '%s h1 sshdx[812]: %s' % (stamp, text),
                  '%s h1 sshd[2001]: Invalid user %s from 10.9.9.9 port 5555' % (stamp, text),
                  '%s h1 sshd[2001]: Failed password for invalid user %s from 10.9.9.9 port 5555 ssh2' % (stamp, text)]
        if is_systemd_text(text):
            lines += ['%s h1 systemd[4242]: %s' % (stamp, text), '%s h1 sshd[812]: %s' % (stamp, text)]
        else:
            lines += ['%s h1 systemd[1]: %s' % (stamp, text)]
            if not text.startswith('refused connect'):
                lines += ['%s h1 sshd-session[4000]: %s' % (stamp, text)]
    return lines


@needs_root
def test_logger_lines_of_other_programs_plant_no_event(tmp_path):
    stamp = time.strftime('%b %e %H:%M:%S', time.gmtime())
    lines = syslog_lines(planted_texts(), stamp)
    path = tmp_path / 'auth.log'
    path.write_text('\n'.join(lines) + '\n')
    code = ('import json, sys\n'
            'from ansible_collections.connreset.doctor.plugins.module_utils import _sshd\n'
            'from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector\n'
            'print(json.dumps(run_collector("sshd", _sshd.collect, System(), {"log_files": [sys.argv[1]]})))\n')
    proc = subprocess.run([sys.executable, '-c', code, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=dict(os.environ, PYTHONPATH=BUILD), timeout=120, cwd='/', check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    events = json.loads(proc.stdout)['events']
    assert events['status'] == 'ok', events['reason']
    assert events['sources'][0]['lines'] == len(lines) and events['skipped_lines']['count'] == 0
    assert_no_event(events)


# ---------------------------------------------------------------------------------------------
# 5. the journal of a real trixie host
# ---------------------------------------------------------------------------------------------
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab.py')
LAB_ID = os.environ.get('CONNRESET_PLANTED_LAB_ID', '3')
LAB_DIR = '/run/connreset-lab-%s' % LAB_ID
LAB_ENV = dict(os.environ, LAB_ID=LAB_ID, LAB_DIR=LAB_DIR)
HOST = 'pe1'
ADDRESS = '10.213.%d.11' % (7 + int(LAB_ID))            # host 1 of the lab's own subnet (docs/lab.md)
NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
# what nobody writes into the host's journal for each text ($t), as any local user can
LOGGER_LINES = r"""
P=$(systemctl show -p MainPID --value ssh.service)
cp /usr/bin/logger /tmp/sshd && chmod 755 /tmp/sshd
grep -v '^#' /opt/crd/texts | grep . | while IFS= read -r t; do
  %(nobody)s logger -t sshd --id="$P" -- "$t"
  %(nobody)s logger -t sshd-session --id="$P" -- "$t"
  %(nobody)s logger -t systemd --id=1 -- "$t"
  %(nobody)s /tmp/sshd -t sshd -- "$t"
  printf 'MESSAGE=%%s\nSYSLOG_IDENTIFIER=systemd\nSYSLOG_PID=1\nUNIT=ssh.service\n' "$t" | %(nobody)s logger --journald
done
sleep 1
""" % {'nobody': ' '.join(NOBODY)}
COLLECT = r"""
import json, sys
from ansible_collections.connreset.doctor.plugins.module_utils import _sshd
from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector
print(json.dumps(run_collector('sshd', _sshd.collect, System(), {'since': sys.argv[1]})['events']))
"""


def lab(*args, timeout=120, check=True, input_=None):
    proc = subprocess.run([sys.executable, LAB] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=LAB_ENV, check=False, input=input_)
    if check:
        assert proc.returncode == 0, 'lab %s: rc=%s\n%s%s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr)
    return proc


def on_host(*argv, timeout=60, input_=None):
    return lab('exec', HOST, '--', *argv, timeout=timeout, input_=input_).stdout


def collect_on_host(since):
    out = on_host('env', 'PYTHONPATH=/opt/crd', 'python3', '-c', COLLECT, since, timeout=120)
    return json.loads(out)


def plant_user_names(texts):
    import paramiko                                  # pylint: disable=import-outside-toplevel
    deadline = time.monotonic() + 120
    tried = 0
    for text in texts:
        assert time.monotonic() < deadline, 'out of time after %d texts' % tried
        transport = paramiko.Transport((ADDRESS, 22))
        try:
            transport.start_client(timeout=10)
            try:
                transport.auth_none(text)
            except paramiko.BadAuthenticationType:
                pass
            tried += 1
        finally:
            transport.close()
    return tried


def logged_drops(since, penalties=False):
    """MaxStartups drops (or penalty drops) the host's sshd logged since then, counted without the collector:
    lines at INFO plus the N of the rate-limited summaries (OpenSSH 10.0 sshd.c drop_connection())."""
    lines = on_host('journalctl', '--no-pager', '-o', 'cat', '--since=@%s' % since, '_COMM=sshd', '_UID=0').splitlines()
    drops = sum(1 for line in lines if line.startswith('drop connection #') and
                (' penalty: ' in line if penalties else line.endswith(' Maxstartups')))
    summary = 'PerSourcePenalties' if penalties else 'Maxstartups'
    summaries = sum(int(line.split('additional ')[1].split()[0]) for line in lines
                    if line.startswith('%s logging rate-limited: additional ' % summary))
    return drops + summaries


@needs_root
@pytest.mark.skipif(bool(systemd_unavailable(('trixie',))), reason=str(systemd_unavailable(('trixie',))))
def test_journal_of_a_trixie_host_holds_no_planted_event_and_real_ones_count():
    texts = planted_texts()
    lab('up', '%s:systemd@trixie' % HOST, timeout=600)
    try:
        # PerSourcePenalties off: the failed logins below would earn the controller real penalties
        on_host('sh', '-c', 'cat > /etc/ssh/sshd_config.d/00-planted.conf && systemctl reload ssh.service && sleep 1',
                input_='PerSourcePenalties no\nLogLevel VERBOSE\n')
        since = on_host('date', '+%s').strip()
        crd = os.path.join(LAB_DIR, 'hosts', HOST, 'merged', 'opt', 'crd')
        shutil.copytree(os.path.join(ROOT, 'plugins', 'module_utils'),
                        os.path.join(crd, 'ansible_collections', 'connreset', 'doctor', 'plugins', 'module_utils'))
        shutil.copy(PLANTED, os.path.join(crd, 'texts'))

        assert plant_user_names(texts) == len(texts)
        on_host('sh', '-c', LOGGER_LINES, timeout=120)
        journal = on_host('journalctl', '--no-pager', '-o', 'cat', '--since=@' + since)
        for text in texts:                          # all planted: nobody's lines, and sshd's own about user names
            assert journal.count(text) >= 5, text
        events = collect_on_host('@' + since)
        assert events['status'] == 'ok', events['reason']
        assert [s['name'] for s in events['sources']] == ['journal']
        assert_no_event(events)

        # real events still count: MaxStartups drops (the lab's fault: MaxStartups 1:100:1, one held connection)
        # and a crash of the listener
        lab('fault', HOST, 'maxstartups')
        refused = 0
        for _attempt in range(3):
            conn = socket.create_connection((ADDRESS, 22), timeout=3)
            try:
                if b'Not allowed at this time' in conn.recv(200):
                    refused += 1
            except OSError:
                pass
            finally:
                conn.close()
        on_host('sh', '-c', 'kill -9 "$(systemctl show -p MainPID --value ssh.service)"; sleep 2')
        events = collect_on_host('@' + since)
        drops = logged_drops(since)
        assert refused >= 1 and drops >= 1
        assert events['maxstartups_drops']['count'] == drops, (events['maxstartups_drops'], drops)
        assert events['crashes']['count'] == 1 and events['crashes']['results'] == {'killed 9/KILL': 1}
        assert events['penalties']['count'] == 0 and events['wrap_refusals']['count'] == 0

        # issue 11's acceptance the other way round: the penalties fault (failed logins of the controller until
        # it is refused) gives penalties, and no MaxStartups drop
        lab('fault', HOST, 'maxstartups', '--undo')
        time.sleep(1.1)
        since = on_host('date', '+%s').strip()
        lab('fault', HOST, 'penalties', timeout=180)
        for _attempt in range(3):
            conn = socket.create_connection((ADDRESS, 22), timeout=3)
            try:
                conn.recv(200)
            except OSError:
                pass
            finally:
                conn.close()
        events = collect_on_host('@' + since)
        penalised = logged_drops(since, penalties=True)
        assert penalised >= 1
        assert events['penalties']['count'] == penalised, (events['penalties'], penalised)
        assert events['maxstartups_drops']['count'] == 0
    finally:
        lab('down', timeout=300, check=False)
