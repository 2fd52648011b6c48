# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""oom_facts against a real memory-cgroup OOM kill (cgroup v1 memory controller), and as nobody;
oom_facts and conntrack_facts on a real journal that holds planted lines.

As root: create a child memory cgroup with a 32M limit, start a python process in it that gives
itself a name with a space and parentheses and allocates until the kernel kills it, then run the
collector with its default sources (dmesg as root) and check that exactly this kill is reported.
The cgroup is removed in teardown, whatever happens.

Planted lines (issue 16): a lab systemd host (tests/lab/lab, LAB_ID=2, Debian 12, systemd 252 and
journald) gets, through ``logger`` and through a process that renames itself ``systemd-oomd`` or
``systemd``, the text of every kill, unit-result and table-full pattern with the idents ``kernel``,
``systemd-oomd``, ``systemd`` (``--id=1``) and the default (``root``), also with the kern facility;
journald stores them (checked); the controller also tries each text as a user name against the
host's real sshd, which logs ``Invalid user <text> from ...`` (checked; sshd cuts a user name at its
first ``:`` or ``/``).  Then the lab's own ``oom`` fault kills its memory hog, and oom_facts and
conntrack_facts, run by Ansible over SSH, find that kill once and none of the planted ones.
Bounded: one host, each command with a timeout, the lab torn down in a ``finally``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _oom
from ansible_collections.connreset.doctor.plugins.module_utils._common import System
from ansible_collections.connreset.doctor.tests.utils.lab_env import systemd_unavailable

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


# -- planted lines in a real journal -------------------------------------------------------------------
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab.py')
LAB_ENV = dict(os.environ, LAB_ID='2', LAB_DIR='/run/connreset-lab-2')
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')
PLANTED_TEXTS = [
    'Out of memory: Killed process 812 (sshd) total-vm:15272kB, anon-rss:1240kB, file-rss:6408kB, shmem-rss:0kB, '
    'UID:0 pgtables:68kB oom_score_adj:0',
    'Memory cgroup out of memory: Killed process 813 (sshd) total-vm:15272kB, anon-rss:1240kB, file-rss:6408kB, '
    'shmem-rss:0kB, UID:0 pgtables:68kB oom_score_adj:0',
    'Killed process 814 (sshd) total-vm:115400kB, anon-rss:1872kB, file-rss:260kB, shmem-rss:0kB',
    'Kill process 815 (sshd) sharing same memory',
    'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,'
    'task_memcg=/system.slice/ssh.service,task=sshd,pid=816,uid=0',
    'Killed /system.slice/ssh.service due to memory pressure for /system.slice being 85.03% > 80.00% for > 20s '
    'with reclaim activity',
    'Marked /system.slice/ssh.service for killing due to memory used (8000000000) / total (8300000000) and swap '
    'used (3963015168) / total (4294963200) being more than 90.00%',
    "ssh.service: Failed with result 'oom-kill'.",
    'ssh.service: A process of this unit has been killed by the OOM killer.',
    'ssh.service: systemd-oomd killed 3 process(es) in this unit.',
    'nf_conntrack: nf_conntrack: table full, dropping packet',
    'nf_conntrack: table full, dropping packet',
]
# runs on the lab host: every text through logger with each ident, then through a process that names itself
PLANT = r"""
import ctypes, subprocess, sys, syslog
texts = sys.argv[1:]
for text in texts:
    for args in (['-t', 'kernel'], ['-p', 'kern.err', '-t', 'kernel'], ['-t', 'systemd-oomd'],
                 ['-t', 'systemd', '--id=1'], []):
        subprocess.run(['logger'] + args + ['--', text], check=True, timeout=10)
libc = ctypes.CDLL(None)
for comm in (b'systemd-oomd', b'systemd'):
    libc.prctl(15, ctypes.c_char_p(comm), 0, 0, 0)          # PR_SET_NAME: _COMM is now comm
    syslog.openlog(comm.decode())
    for text in texts:
        syslog.syslog(syslog.LOG_NOTICE, text)
    syslog.closelog()
print(len(texts) * 7)
"""


def lab2(*args, timeout=120):
    proc = subprocess.run([sys.executable, LAB] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=LAB_ENV, check=False)
    assert proc.returncode == 0, 'lab %s: rc=%s\n%s%s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def ansible_fact(inventory, module, args, name):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=BUILD, ANSIBLE_HOST_KEY_CHECKING='0', ANSIBLE_NOCOLOR='1')
    # -o: one line per host, "pl | SUCCESS => {...}"
    proc = subprocess.run([ANSIBLE, '-i', inventory, 'pl', '-o', '-m', module, '-a', json.dumps(args)],
                          capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = [text for text in proc.stdout.splitlines() if text.startswith('pl | SUCCESS => ')][0]
    return json.loads(line.split(' => ', 1)[1])['ansible_facts'][name]


def try_user_names(address, texts, deadline_s=90):
    """One SSH connection per text, asking for the 'none' method as that user: sshd logs the name."""
    import socket
    import paramiko
    tried, deadline = [], time.monotonic() + deadline_s
    for text in texts:
        if time.monotonic() > deadline:
            break
        transport = paramiko.Transport(socket.create_connection((address, 22), timeout=10))
        try:
            transport.start_client(timeout=10)
            try:
                transport.auth_none(text)
            except paramiko.BadAuthenticationType:
                pass
            tried.append(text)
        finally:
            transport.close()
    time.sleep(0.5)                                   # sshd writes its lines
    assert len(tried) == len(texts), 'out of time after %d user names' % len(tried)
    return tried


@pytest.fixture
def planted_host(tmp_path):
    reason = systemd_unavailable()
    if reason:
        pytest.skip(reason)
    if not shutil.which('ip') or not os.path.exists(ANSIBLE):
        pytest.skip('needs ip (iproute2) and ansible in the test environment')
    try:
        lab2('up', 'pl:systemd', timeout=900)
        inventory = str(tmp_path / 'lab.yml')
        lab2('inventory', '--format', 'yaml', '--output', inventory)
        yield inventory
    finally:
        subprocess.run([sys.executable, LAB, 'down'], capture_output=True, timeout=300, env=LAB_ENV, check=False)


@needs_root
def test_planted_journal_lines_and_user_names_count_nothing_and_a_real_kill_counts_once(planted_host):
    started = int(time.time()) - 1
    planted = int(lab2('exec', 'pl', '--', 'python3', '-c', PLANT, *PLANTED_TEXTS, timeout=300).strip())
    # journald kept them: the test is not vacuous
    stored = lab2('exec', 'pl', '--', 'journalctl', '--no-pager', '-o', 'cat', '--since=@%d' % started,
                  '_TRANSPORT=syslog')
    assert sum(stored.count(text) for text in PLANTED_TEXTS) >= planted, stored[-2000:]
    address = [h for h in json.loads(lab2('status', '--json')) if h['name'] == 'pl'][0]['address']
    tried = try_user_names(address, PLANTED_TEXTS)
    logged = lab2('exec', 'pl', '--', 'journalctl', '--no-pager', '-o', 'cat', '--since=@%d' % started, '-u', 'ssh')
    for text in tried:
        # sshd keeps the name up to a ':' (auth2.c user:style) or a '/' (user/role), at most 100 characters
        assert 'Invalid user %s from' % re.split('[:/]', text)[0][:100] in logged, (text, logged[-2000:])
    lab2('fault', 'pl', 'oom', timeout=180)            # the lab's memory hog, killed in its own memory cgroup
    oom = ansible_fact(planted_host, 'connreset.doctor.oom_facts', {'since': '@%d' % started}, 'connreset_oom')
    assert oom['log']['status'] == 'ok', oom['log']
    # The host is a container in a private cgroup namespace (its PID 1 sees /init.scope), so kills of other
    # cgroups on this shared kernel in the window (another test's, another lab's) cannot be told from its
    # own and count too (see kills_elsewhere in oom_facts): only the hog and no planted kill are asserted.
    hog = [k for k in oom['kills'] if k['unit'] == 'lab-oom-hog.service']
    assert len(hog) == 1 and oom['kill_count'] == len(oom['kills']), oom['kills']
    assert (hog[0]['process'], hog[0]['scope']) == ('python3', 'memcg') and hog[0]['cgroup'].endswith(
        '/pl/system.slice/lab-oom-hog.service'), hog
    planted_kills = [k for k in oom['kills'] if k['process'] == 'sshd' or k['scope'] == 'oomd'
                     or k['pid'] in (812, 813, 814, 815, 816)]
    assert planted_kills == [] and oom['unit_results'] == [] and oom['watched_killed'] == []
    assert oom['victims_exiting'] == 0
    conntrack = ansible_fact(planted_host, 'connreset.doctor.conntrack_facts', {'since': '@%d' % started},
                             'connreset_conntrack')
    events = conntrack['table_full_events']
    assert events['status'] == 'ok' and events['count'] == 0, events
