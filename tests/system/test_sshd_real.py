# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sshd_facts against a real, throwaway sshd that drops connections past MaxStartups, and as nobody.

As root, in a private mount namespace (``unshare --mount``, so the tmpfs over /run that gives
sshd its /run/sshd privilege-separation directory is seen by nothing else on the machine):
start ``/usr/sbin/sshd -D -e -f <tmp config> -E <tmp log>`` with its own host key, on 127.0.0.1
and a free high port, ``MaxStartups 1:100:1``, ``LogLevel VERBOSE``; hold 2 pre-auth TCP
connections, open 5 more (each with a 3 s timeout), stop sshd, then run the collector on that
log and config.  Everything stays on loopback; sshd is stopped in a ``finally`` and the
namespace goes away with the helper process.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, '.build')
SSHD = '/usr/sbin/sshd'

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (runs sshd in a private mount namespace)')
needs_tools = pytest.mark.skipif(
    not (os.path.exists(SSHD) and shutil.which('ssh-keygen') and shutil.which('unshare')),
    reason='needs /usr/sbin/sshd, ssh-keygen and unshare (openssh-server, util-linux)')

# Runs inside `unshare --mount --propagation private`: argv = config, log, port, hold, extra
SCENARIO = r'''
import json, os, signal, socket, subprocess, sys, time
config, log, port, hold, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', '/run'], check=True)
os.mkdir('/run/sshd', 0o755)
sshd = subprocess.Popen(['/usr/sbin/sshd', '-D', '-e', '-f', config, '-E', log])
held, refused_by_banner = [], 0
try:
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
    for _ in range(hold):
        held.append(socket.create_connection(('127.0.0.1', port), timeout=3))
        time.sleep(0.2)
    for _ in range(extra):
        conn = socket.create_connection(('127.0.0.1', port), timeout=3)
        try:
            data = conn.recv(200)                 # 9.2: "Exceeded MaxStartups", 9.8+: "Not allowed at this time"
            if b'Exceeded MaxStartups' in data or b'Not allowed at this time' in data:
                refused_by_banner += 1
        except OSError:
            pass
        finally:
            conn.close()
    time.sleep(0.3)
finally:
    for conn in held:
        conn.close()
    sshd.terminate()
    try:
        sshd.wait(5)
    except subprocess.TimeoutExpired:
        sshd.kill()
        sshd.wait()
from ansible_collections.connreset.doctor.plugins.module_utils import _sshd
from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector
fact = run_collector('sshd', _sshd.collect, System(), {'since': '1d', 'log_files': [log], 'config_file': config,
                                                         'sshd_path': '/usr/sbin/sshd'})
print(json.dumps({'fact': fact, 'refused_by_banner': refused_by_banner}))
'''


def free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def sshd_setup(tmp_path):
    key = tmp_path / 'host_ed25519'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(key)], check=True, timeout=30)
    port = free_port()
    config = tmp_path / 'sshd_config'
    config.write_text('ListenAddress 127.0.0.1\nPort %d\nHostKey %s\nMaxStartups 1:100:1\nLogLevel VERBOSE\n'
                      'PidFile none\nUsePAM no\n' % (port, key))
    return {'config': str(config), 'log': str(tmp_path / 'sshd.log'), 'port': port}


@needs_root
@needs_tools
def test_maxstartups_drops_counted_like_sshd_logged_them(sshd_setup):
    hold, extra = 2, 5
    env = dict(os.environ, PYTHONPATH=BUILD)
    proc = subprocess.run(['unshare', '--mount', '--propagation', 'private', sys.executable, '-c', SCENARIO,
                           sshd_setup['config'], sshd_setup['log'], str(sshd_setup['port']), str(hold), str(extra)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120, cwd='/', check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    fact = out['fact']
    with open(sshd_setup['log']) as handle:
        log = handle.read()
    logged_drops = log.count('past MaxStartups') + log.count('past Maxstartups')
    drops = fact['events']['maxstartups_drops']

    assert logged_drops >= 1, log
    assert drops['count'] == logged_drops, (drops, log)
    assert drops['count'] >= out['refused_by_banner'] >= 1
    assert drops['count'] <= hold + extra
    assert drops['episodes'] == 1 and 1 <= len(drops['samples']) <= 5
    # sshd -E writes no timestamps: the events are counted, but the window could not be applied to them
    assert fact['events']['status'] == 'partial' and 'no line carries a time' in fact['events']['reason']
    assert fact['events']['restarts']['count'] == 1 and fact['events']['restarts']['manual'] == 1   # our SIGTERM
    assert fact['events']['crashes']['count'] == 0 and fact['events']['wrap_refusals']['count'] == 0

    config = fact['config']
    assert config['status'] == 'ok', config['reason']
    assert config['valid'] is True
    assert config['values']['maxstartups'] == {'start': 1, 'rate': 100, 'full': 1}
    assert config['values']['port'] == [sshd_setup['port']]
    assert config['values']['listenaddress'] == ['127.0.0.1:%d' % sshd_setup['port']]
    assert fact['version'] and fact['version_info'][0] >= 7


@needs_root
@needs_tools
def test_bad_config_file_is_reported_with_file_and_line(tmp_path):
    config = tmp_path / 'bad_config'
    config.write_text('Port 22\nFoo bar\n')
    env = dict(os.environ, PYTHONPATH=BUILD)
    code = ('import json, subprocess, os\n'
            'subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", "/run"], check=True)\n'
            'os.mkdir("/run/sshd", 0o755)\n'
            'from ansible_collections.connreset.doctor.plugins.module_utils import _sshd\n'
            'from ansible_collections.connreset.doctor.plugins.module_utils._common import System\n'
            'print(json.dumps(_sshd.collect_config(System(), "/usr/sbin/sshd", %r, "127.0.0.1", "h")))\n' % str(config))
    proc = subprocess.run(['unshare', '--mount', '--propagation', 'private', sys.executable, '-c', code],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60, cwd='/', check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert result['valid'] is False
    assert {'file': str(config), 'line': 2, 'text': 'Bad configuration option: Foo'} in result['errors']
    assert result['status'] == 'unknown' and 'invalid' in result['reason']


@needs_root
def test_as_nobody_nothing_fails_and_unknowns_have_reasons(tmp_path):
    if not shutil.which('setpriv'):
        pytest.skip('setpriv (util-linux) not found')
    private_log = tmp_path / 'auth.log'          # under pytest's 0700 root directory: nobody cannot read it
    private_log.write_text('Nov 21 17:00:00 web1 sshd[3001]: refused connect from 192.0.2.50 (192.0.2.50)\n')
    code = ('import json, sys\n'
            'from ansible_collections.connreset.doctor.plugins.module_utils import _sshd\n'
            'from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector\n'
            'out = [run_collector("sshd", _sshd.collect, System(), p) for p in '
            '[{"since": "7d"}, {"since": "7d", "log_files": [sys.argv[1]]}]]\n'
            'print(json.dumps(out))\n')
    env = dict(os.environ, PYTHONPATH=BUILD)
    proc = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', sys.executable, '-c', code,
                           str(private_log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120,
                          cwd='/', check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    default, offline = json.loads(proc.stdout)
    for fact in (default, offline):
        assert 'internal error' not in (fact['reason'] or '')
        assert fact['status'] in ('partial', 'unknown') and fact['reason']
        config = fact['config']
        assert config['status'] == 'unknown' and config['reason']
        assert config['values']['maxstartups'] is None and config['valid'] in (None, False)
        assert fact['service']['status'] == 'ok' or fact['service']['reason']
    events = offline['events']
    assert events['status'] == 'unknown' and 'no permission' in events['reason']
    kinds = ('crashes', 'restarts', 'maxstartups_drops', 'penalties', 'wrap_refusals')
    assert all(events[kind]['count'] is None for kind in kinds)
    if default['events']['status'] == 'unknown':
        assert default['events']['reason'] and default['events']['maxstartups_drops']['count'] is None
