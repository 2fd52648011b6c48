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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

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
