# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""oom_facts against a real memory-cgroup OOM kill (cgroup v1 memory controller), and as nobody.

As root: create a child memory cgroup with a 32M limit, start a python process in it that gives
itself a name with a space and parentheses and allocates until the kernel kills it, then run the
collector with its default sources (dmesg as root) and check that exactly this kill is reported.
The cgroup is removed in teardown, whatever happens.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _oom
from ansible_collections.connreset.doctor.plugins.module_utils._common import System

MEMCG_ROOT = '/sys/fs/cgroup/memory'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, '.build')
# comm is at most 15 bytes; a space and parentheses exercise the "(NAME) total-vm" parsing
VICTIM_NAME = 'crd oom (t)'
VICTIM = r'''
import sys
with open('/proc/self/comm', 'w') as comm:
    comm.write(sys.argv[1])
hog = []
for _ in range(4096):          # bounded: 4 GiB at most, the 32M limit stops it long before
    hog.append(bytearray(1 << 20))
'''

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (creates a memory cgroup, reads dmesg)')
needs_memcg_v1 = pytest.mark.skipif(not os.path.exists(os.path.join(MEMCG_ROOT, 'memory.limit_in_bytes')),
                                    reason='no cgroup v1 memory controller at %s' % MEMCG_ROOT)


def vmstat_oom_kill():
    with open('/proc/vmstat') as handle:
        return _oom.parse_vmstat_oom_kill(handle.read())


@pytest.fixture
def memcg():
    path = os.path.join(MEMCG_ROOT, 'crd-oom-test-%s' % uuid.uuid4().hex[:8])
    os.mkdir(path)
    try:
        with open(os.path.join(path, 'memory.limit_in_bytes'), 'w') as handle:
            handle.write('33554432')
        memsw = os.path.join(path, 'memory.memsw.limit_in_bytes')
        if os.path.exists(memsw):       # absent when swap accounting is off
            with open(memsw, 'w') as handle:
                handle.write('33554432')
        yield path
    finally:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(os.path.join(path, 'cgroup.procs')) as handle:
                pids = [int(p) for p in handle.read().split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            time.sleep(0.1)
        os.rmdir(path)


@needs_root
@needs_memcg_v1
def test_memcg_oom_kill_is_found(memcg):
    if not shutil.which('dmesg'):
        pytest.skip('dmesg not found')
    before = vmstat_oom_kill()
    procs = os.path.join(memcg, 'cgroup.procs')
    # the child joins the cgroup before exec, so every allocation is charged to it
    victim = subprocess.Popen(
        ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$1" -c "$2" "$3"', procs, sys.executable, VICTIM, VICTIM_NAME],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rc = victim.wait(timeout=60)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    assert rc == -9, 'the victim was not OOM-killed (rc %s)' % rc

    after = vmstat_oom_kill()
    if before is not None:
        assert after >= before + 1

    fact = _oom.collect(System(), {'since': '1h', 'log_files': None, 'watch': ['sshd', VICTIM_NAME]})
    assert fact['log']['status'] == 'ok', fact['log']
    mine = [k for k in fact['kills'] if k['pid'] == victim.pid]
    assert len(mine) == 1, fact['kills']            # summary + Killed process (+ reaper) = one kill
    kill = mine[0]
    assert kill['process'] == VICTIM_NAME
    assert kill['scope'] == 'memcg'
    assert kill['cgroup'] == '/' + os.path.basename(memcg)
    assert kill['rss_kb'] > 16 * 1024
    assert kill['source'].startswith('dmesg:')
    assert VICTIM_NAME in fact['watched_killed'] and 'sshd' not in fact['watched_killed']
    assert fact['vmstat_oom_kill'] == after


@needs_root
def test_as_nobody_unreadable_log_is_unknown_not_empty():
    if not shutil.which('setpriv'):
        pytest.skip('setpriv (util-linux) not found')
    with open('/proc/sys/kernel/dmesg_restrict') as handle:
        if handle.read().strip() != '1':
            pytest.skip('kernel.dmesg_restrict is 0: nobody may read dmesg here')
    readable = [p for p in _oom.DEFAULT_LOG_FILES if os.path.exists(p) and os.stat(p).st_mode & 0o004]
    if readable:
        pytest.skip('world-readable kernel log files here: %s' % readable)
    code = ('import json, sys\n'
            'from ansible_collections.connreset.doctor.plugins.module_utils import _oom\n'
            'from ansible_collections.connreset.doctor.plugins.module_utils._common import System\n'
            'print(json.dumps(_oom.collect(System(), {"since": "7d", "log_files": None, "watch": ["sshd"]})))\n')
    env = dict(os.environ, PYTHONPATH=BUILD)
    out = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', sys.executable, '-c', code],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120, check=True,
                         cwd='/')
    fact = json.loads(out.stdout)
    assert fact['kills'] is None and fact['unit_results'] is None and fact['watched_killed'] is None
    assert fact['log']['status'] == 'unknown'
    assert fact['status'] in ('partial', 'unknown')
    assert 'dmesg_restrict' in fact['reason']
    dmesg = [s for s in fact['log']['sources'] if s['name'] == 'dmesg'][0]
    assert dmesg['status'] == 'unknown'
    if fact['vmstat_oom_kill']:
        assert 'OOM kill(s) since boot' in fact['log']['reason']
    assert isinstance(fact['memory']['mem_total_kb'], int)
