# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers and collect() of _oom on real kernel / systemd log samples (origins: samples/oom/ORIGINS.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _oom
from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult, OptionError
from ansible_collections.connreset.doctor.plugins.module_utils._logs import LogLine, LogScan

SAMPLES = os.path.join(os.path.dirname(__file__), 'samples', 'oom')
NOW = 1800000000.0          # 2027-01-15: after every sample's date, so syslog years resolve to 2026
BOOT = 1763788000.0         # a boot time for dmesg-format samples


class FakeSystem:
    """Files (missing → ENOENT, None → EACCES), commands by name → CommandResult, journal lines."""

    def __init__(self, files=None, commands=None, journal=None, binaries=('dmesg', 'journalctl')):
        self.files = dict(files or {})
        self.files.setdefault('/proc/stat', 'cpu 1 2 3\nbtime %d\n' % BOOT)
        self.files.setdefault('/proc/sys/kernel/random/boot_id', '218b4fa1-603a-4b61-813b-6ca92380f93a\n')
        self.commands = commands or {}
        self.journal = journal
        self.binaries = binaries
        self.euid = 0

    def _get(self, path):
        if path not in self.files:
            raise OSError(errno.ENOENT, 'No such file or directory')
        if self.files[path] is None:
            raise OSError(errno.EACCES, 'Permission denied')
        return self.files[path]

    def read(self, path):
        return self._get(path)

    def read_or_none(self, path):
        try:
            return self._get(path)
        except OSError:
            return None

    def lines(self, path):
        return iter(self._get(path).splitlines())

    def exists(self, path):
        return path in self.files

    def listdir(self, path):
        # a journal directory with one machine's files (journalctl runs from the fixture)
        if path == '/var/log/journal' and self.journal is not None:
            return ['9b0e7c5f3c2a4f0d8e6b1a2c3d4e5f60']
        raise OSError(errno.ENOENT, 'No such file or directory')

    def which(self, name):
        return '/usr/bin/' + name if name in self.binaries else None

    def run(self, argv, timeout=15, cache=False):
        return self.commands.get(argv[0], CommandResult(argv, None, '', '', error='%s not found' % argv[0]))

    def run_stream(self, argv, timeout=60):
        self.streamed = argv
        lines, rc, err = self.journal
        status = {'rc': rc, 'err': err, 'error': None}
        return status, iter(lines)

    def remaining(self):
        return None

    def check_deadline(self):
        return None


BOOT_ID = '218b4fa1603a4b61813b6ca92380f93a'


def journal_json(line, boot_id=BOOT_ID):
    """A ``-o short-iso`` line as journalctl 252 prints it with ``-o json --output-fields=...``
    (kernel messages: _TRANSPORT kernel, no _PID, the kernel's monotonic time since BOOT)."""
    import calendar
    import json
    import re
    match = re.match(r'(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\+0000 (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$', line)
    y, mo, d, h, mi, sec, host, ident, pid, msg = match.groups()
    epoch = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(sec), 0, 0, 0))
    entry = {'__REALTIME_TIMESTAMP': str(epoch * 1000000), '_BOOT_ID': boot_id, '_HOSTNAME': host,
             'SYSLOG_IDENTIFIER': ident, 'MESSAGE': msg}
    if ident == 'kernel':
        # a line from before BOOT belongs to an earlier boot (its own boot id and clock)
        entry.update(_TRANSPORT='kernel', _SOURCE_MONOTONIC_TIMESTAMP=str(int(abs(epoch - BOOT) * 1000000)))
        if epoch < BOOT:
            entry['_BOOT_ID'] = '9e1f00c2d5b54c1e8c0f6f2b7a4d3e21'
    else:
        entry.update(_TRANSPORT='journal', _PID=pid, _COMM=ident)
    return json.dumps(entry, separators=(',', ':'))  # as journalctl prints it


def _sample(name):
    with open(os.path.join(SAMPLES, name)) as handle:
        return handle.read()


def _kills_of(name):
    path = os.path.join(SAMPLES, name)
    scan = LogScan(FakeSystem({path: _sample(name)}), since=None, now=NOW)
    return _oom.parse_entries(scan.file(path))


def _brief(kill):
    return (kill['pid'], kill['process'], kill['scope'], kill['rss_kb'], kill['cgroup'], kill['unit'])


@pytest.mark.parametrize('sample, expected', [
    # Linux 6.18 memcg (cgroup v1): call trace, memcg stats, task table, oom-kill: summary, kill → ONE kill
    ('dmesg-6.18-memcg-v1.txt', [(18572, 'python3', 'memcg', 32512 + 6648, '/crd-sample-5293', None)]),
    # 4.x global: "Kill process ... score ... or sacrifice child" + "Killed process" → one kill
    ('syslog-4.x-global.log', [(27438, 'R', 'global', 1041924 + 4, None, None)]),
    # RHEL 7 3.10 memcg with ", UID 0," after the name: 5 kills, 10 lines
    ('syslog-3.10-rhel7-memcg.log', [(42452, 'memcg_test_1', 'memcg', 260, None, None),
                                     (42453, 'memcg_test_1', 'memcg', 260, None, None),
                                     (42474, 'memcg_test_1', 'memcg', 96, None, None),
                                     (42471, 'memcg_test_1', 'memcg', 96, None, None),
                                     (42468, 'memcg_test_1', 'memcg', 96, None, None)]),
    # RHEL 6 2.6.32 "Killed process PID, UID N, (name)"; the lone mysqld line has no scope line → global
    ('syslog-2.6.32-rhel6.log', [(11726, 'mysqld', 'global', 2539268 + 768, None, None),
                                 (21578, 'redis-server', 'global', 9066596 + 64, None, None)]),
    # 5.x Ubuntu: Killed + oom_reaper per process → 4 kills, "(resolved)" keeps its parentheses
    ('syslog-5.x-ubuntu-reaper.log', [(15784, 'python3', 'global', 7316, None, None),
                                      (15925, '(resolved)', 'global', 7648, None, None),
                                      (15783, 'python3', 'global', 7316, None, None),
                                      (15934, '(resolved)', 'global', 7648, None, None)]),
    ('dmesg-5.x-netdata-memcg.txt', [(4971, 'netdata', 'memcg', 7560, None, None)]),
    # memcg context without a kill line: nothing was killed in the excerpt
    ('syslog-4.x-nomad-task-in.log', []),
    # systemd-oomd kills cgroups, no pid
    ('journal-systemd-oomd.log', [
        (None, None, 'oomd', None,
         '/testsuite.slice/testsuite-55.slice/testsuite-55-workload.slice/testsuite-55-testbloat.service',
         'testsuite-55-testbloat.service'),
        (None, None, 'oomd', None,
         '/user.slice/user-1001.slice/user@1001.service/app.slice/app-org.gnome.Terminal.slice/'
         'vte-spawn-dbb4a75e-031f-480d-924b-5de5af7579d2.scope',
         'vte-spawn-dbb4a75e-031f-480d-924b-5de5af7579d2.scope')]),
    ('dmesg-systemd-oomd-marked.txt', [(None, None, 'oomd', None, '/system.slice/systemd-journald.service',
                                        'systemd-journald.service')]),
])
def test_samples_one_entry_per_kill(sample, expected):
    kills, _units = _kills_of(sample)
    assert [_brief(k) for k in kills] == expected


def test_dmesg_618_details():
    kills, units = _kills_of('dmesg-6.18-memcg-v1.txt')
    kill = kills[0]
    assert kill['uid'] == 0 and kill['oom_score_adj'] == 0 and kill['constraint'] == 'CONSTRAINT_MEMCG'
    assert kill['source'].endswith('dmesg-6.18-memcg-v1.txt:77')     # the oom-kill: summary line
    assert len(kill['evidence']) == 2
    assert kill['time'] == '2025-11-22T05:57:42Z'                     # BOOT + 3062.595813
    assert units == []


def test_unit_results_from_systemd():
    _kills, units = _kills_of('journal-systemd-oomd.log')
    assert [(u['unit'], u['result']) for u in units] == [
        ('testsuite-55-testbloat.service', 'oomd-kill'),
        ('vte-spawn-dbb4a75e-031f-480d-924b-5de5af7579d2.scope', 'oomd-kill')]
    # "Failed with result 'signal'" is not an OOM result
    assert all(u['result'] != 'signal' for u in units)


@pytest.mark.parametrize('message, kind, fields', [
    # names with spaces and parentheses: up to the LAST ") total-vm" / ") score"
    ('Out of memory: Killed process 4242 (Web Content) total-vm:3273868kB, anon-rss:1052156kB, file-rss:0kB, '
     'shmem-rss:4476kB, UID:1000 pgtables:4720kB oom_score_adj:167', 'killed',
     {'pid': 4242, 'process': 'Web Content', 'scope': 'global', 'rss_kb': 1056632, 'uid': 1000, 'oom_score_adj': 167}),
    ('Out of memory: Killed process 77 ((sd-pam)) total-vm:168424kB, anon-rss:4064kB, file-rss:3584kB, shmem-rss:0kB',
     'killed', {'pid': 77, 'process': '(sd-pam)'}),
    ('Memory cgroup out of memory: Kill process 900 (tmux: server) score 12 or sacrifice child', 'kill',
     {'pid': 900, 'process': 'tmux: server', 'scope': 'memcg'}),
    ('Out of memory (oom_kill_allocating_task): Killed process 5 (a) b) total-vm:1kB, anon-rss:1kB, file-rss:0kB, '
     'shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0', 'killed', {'pid': 5, 'process': 'a) b', 'scope': 'global'}),
    ('Kill process 1235 (worker) sharing same memory', 'killed', {'pid': 1235, 'process': 'worker'}),
    # 2.6.3x spelling
    ('Out of memory: kill process 2107 (mysqld) score 372 or sacrifice child', 'kill',
     {'pid': 2107, 'process': 'mysqld', 'scope': 'global'}),
    ('oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,'
     'task_memcg=/system.slice/ssh.service,task=sshd,pid=812,uid=0', 'summary',
     {'pid': 812, 'process': 'sshd', 'scope': 'global', 'cgroup': '/system.slice/ssh.service'}),
    ('oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,'
     'task=odd,name,pid=9,uid=1000', 'summary', {'pid': 9, 'process': 'odd,name', 'uid': 1000, 'scope': 'memcg'}),
    ('oom_reaper: reaped process 15784 (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB', 'reaped',
     {'pid': 15784, 'process': 'python3'}),
    ("ssh.service: Failed with result 'oom-kill'.", 'unit', {'unit': 'ssh.service', 'result': 'oom-kill'}),
    ('ssh.service: A process of this unit has been killed by the OOM killer.', 'unit',
     {'unit': 'ssh.service', 'result': 'oom-killed-process'}),
    ('Task in /system.slice/ssh.service killed as a result of limit of /system.slice/ssh.service', 'task_in',
     {'cgroup': '/system.slice/ssh.service'}),
    ('sshd invoked oom-killer: gfp_mask=0x14200ca(GFP_HIGHUSER_MOVABLE), nodemask=(null), order=0, oom_score_adj=0',
     'invoked', {'process': 'sshd'}),
])
def test_classify(message, kind, fields):
    event = _oom.classify(message)
    assert event['kind'] == kind
    for key, value in fields.items():
        assert event[key] == value, key


@pytest.mark.parametrize('message', [
    '[  18572]     0 18572    10566     9790     8128     1662         0   122880        0             0 python3',
    '[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name',
    'oom killer 12 (x) has mm pinned by 13 (y)',
    "ssh.service: Failed with result 'signal'.",
    'Considered 19 cgroups for killing, top candidates were:',
    'Memory pressure for /system.slice is 85.03% > 80.00% for > 2s with reclaim activity',
    'memory: usage 32768kB, limit 32768kB, failcnt 93',
    '',
])
def test_classify_ignores_non_kills(message):
    event = _oom.classify(message)
    assert event is None or event['kind'] == 'invoked'


def _entry(message, source='journal', lineno=1, epoch=NOW - 100, raw=None):
    return LogLine(epoch, 'host', 'kernel', None, message, source=source, lineno=lineno, raw=raw or message)


def test_invoked_and_task_table_do_not_count_but_kill_does():
    lines = [
        'sshd invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0',
        '[    812]     0   812     3000     1500     1000      500         0    61440        0         -1000 sshd',
        '[   4242]  1000  4242   818467   263033   262000     1033         0  4833280        0           167 Web Content',
        'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,'
        'task_memcg=/user.slice/user-1000.slice/session-2.scope,task=Web Content,pid=4242,uid=1000',
        'Out of memory: Killed process 4242 (Web Content) total-vm:3273868kB, anon-rss:1052156kB, file-rss:0kB, '
        'shmem-rss:4476kB, UID:1000 pgtables:4720kB oom_score_adj:167',
        'oom_reaper: reaped process 4242 (Web Content), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
    ]
    kills, _units = _oom.parse_entries(_entry(m, lineno=i) for i, m in enumerate(lines, 1))
    assert [_brief(k) for k in kills] == [
        (4242, 'Web Content', 'global', 1056632, '/user.slice/user-1000.slice/session-2.scope', 'session-2.scope')]
    assert len(kills[0]['evidence']) == 3
    assert _oom.watched_killed(['sshd', 'sshd-session'], kills, []) == []


def test_task_in_context_gives_cgroup_to_old_memcg_kill():
    # constructed: the nomad sample's context line followed by the 3.10 kill lines' format
    lines = [
        'Task in /system.slice/ssh.service killed as a result of limit of /system.slice/ssh.service',
        'memory: usage 40960kB, limit 40960kB, failcnt 31',
        'Memory cgroup out of memory: Kill process 812 (sshd) score 1000 or sacrifice child',
        'Killed process 812 (sshd) total-vm:72296kB, anon-rss:5960kB, file-rss:1164kB, shmem-rss:0kB',
    ]
    kills, _units = _oom.parse_entries(_entry(m, lineno=i) for i, m in enumerate(lines, 1))
    assert [_brief(k) for k in kills] == [(812, 'sshd', 'memcg', 7124, '/system.slice/ssh.service', 'ssh.service')]
    assert _oom.watched_killed(['sshd', 'sshd-session'], kills, []) == ['sshd']


def test_same_kill_in_two_sources_counts_once():
    line = ('Memory cgroup out of memory: Killed process 4971 (netdata) total-vm:47820kB, anon-rss:7560kB, '
            'file-rss:0kB, shmem-rss:0kB, UID:201 pgtables:100kB oom_score_adj:1000')
    entries = [_entry(line, source='journal', lineno=10, epoch=NOW - 100),
               _entry(line, source='/var/log/kern.log', lineno=5000, epoch=NOW - 99)]
    kills, _units = _oom.parse_entries(entries)
    assert len(kills) == 1 and kills[0]['source'] == 'journal:10'


def test_same_pid_far_apart_is_two_kills():
    line = 'Out of memory: Killed process 100 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB'
    kills, _units = _oom.parse_entries([_entry(line, epoch=NOW - 5000), _entry(line, lineno=2, epoch=NOW - 100)])
    assert len(kills) == 2


def test_untimed_lines_merge_by_line_distance():
    a = 'Out of memory: Kill process 7 (x) score 9 or sacrifice child'
    b = 'Killed process 7 (x) total-vm:10kB, anon-rss:4kB, file-rss:0kB'
    kills, _units = _oom.parse_entries([_entry(a, lineno=1, epoch=None), _entry(b, lineno=2, epoch=None),
                                        _entry(b, lineno=900, epoch=None)])
    assert len(kills) == 2 and kills[0]['time'] is None


@pytest.mark.parametrize('path, unit', [
    ('/system.slice/ssh.service', 'ssh.service'),
    ('/user.slice/user-1000.slice/session-3.scope', 'session-3.scope'),
    ('/user.slice/user-1000.slice', 'user-1000.slice'),
    ('/crd-sample-5293', None),
    ('/', None),
    (None, None),
])
def test_unit_of_cgroup(path, unit):
    assert _oom.unit_of_cgroup(path) == unit


def test_watched_killed_by_unit_result():
    units = [{'unit': 'ssh.service', 'result': 'oom-kill'}]
    assert _oom.watched_killed(['sshd', 'sshd-session', 'nginx'], [], units) == ['sshd']
    assert _oom.watched_killed(['sshd'], [{'process': 'sshd-session', 'unit': None, 'cgroup': None}], []) == []
    # another process of ssh.service (a user's command in a session without pam_systemd) is not sshd
    assert _oom.watched_killed(['sshd'], [{'process': 'python3', 'unit': 'ssh.service', 'cgroup': None}], []) == []
    # systemd-oomd kills the whole cgroup
    assert _oom.watched_killed(['sshd'], [{'process': None, 'unit': 'ssh.service', 'cgroup': '/system.slice/ssh.service'}],
                               []) == ['sshd']
    assert _oom.watched_killed(['sshd-session'], [{'process': 'sshd-session', 'unit': None, 'cgroup': None}], []) == [
        'sshd-session']


# /proc files from Linux 6.18 (development machine) and a kernel without PSI / oom_kill counter
MEMINFO = ('MemTotal:       24684084 kB\nMemFree:        23800000 kB\nMemAvailable:   24192076 kB\n'
           'SwapTotal:             0 kB\nSwapFree:              0 kB\n')
PSI = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=803\nfull avg10=1.50 avg60=0.25 avg300=0.05 total=568\n'
VMSTAT = 'nr_free_pages 5950000\npgfault 15745\noom_kill 3\n'


def test_memory_parsers():
    assert _oom.parse_meminfo(MEMINFO)['MemAvailable'] == 24192076
    psi = _oom.parse_psi(PSI)
    assert psi['full'] == {'avg10': 1.5, 'avg60': 0.25, 'avg300': 0.05, 'total': 568}
    assert _oom.parse_psi('') is None
    assert _oom.parse_loadavg('0.35 0.39 0.21 1/180 4242\n') == [0.35, 0.39, 0.21]
    assert _oom.parse_loadavg('garbage') is None
    assert _oom.count_cpus('processor\t: 0\nmodel\t: x\n\nprocessor\t: 1\n') == 2
    assert _oom.parse_vmstat_oom_kill(VMSTAT) == 3
    assert _oom.parse_vmstat_oom_kill('pgfault 1\n') is None


def _proc(**override):
    files = {'/proc/meminfo': MEMINFO, '/proc/pressure/memory': PSI, '/proc/loadavg': '1.0 0.5 0.25 1/1 1\n',
             '/proc/cpuinfo': 'processor\t: 0\nprocessor\t: 1\n', '/proc/vmstat': VMSTAT}
    files.update(override)
    return dict((k, v) for k, v in files.items() if v is not False)


def test_collect_nothing_readable_is_null_not_empty():
    dmesg = CommandResult(['dmesg'], 1, '', 'dmesg: read kernel buffer failed: Operation not permitted\n')
    system = FakeSystem(_proc(**{'/var/log/kern.log': None}), commands={'dmesg': dmesg},
                        journal=([], 0, 'No journal files were found.\n'))
    fact = _oom.collect(system, {'since': '7d', 'log_files': None, 'watch': ['sshd']})
    assert fact['kills'] is None and fact['unit_results'] is None and fact['watched_killed'] is None
    # the memory part was read: the fact is partial, its log part unknown
    assert fact['status'] == 'partial' and fact['log']['status'] == 'unknown'
    assert 'dmesg_restrict' in fact['reason'] and 'no permission to read /var/log/kern.log' in fact['reason']
    assert 'counted 3 OOM kill(s) since boot' in fact['log']['reason']
    assert fact['vmstat_oom_kill'] == 3
    assert [s['name'] for s in fact['log']['sources']] == ['journal', 'dmesg', '/var/log/kern.log']


def test_collect_dmesg_as_root_finds_kill_and_memory():
    dmesg = CommandResult(['dmesg'], 0, _sample('dmesg-6.18-memcg-v1.txt'), '')
    system = FakeSystem(_proc(), commands={'dmesg': dmesg}, binaries=('dmesg',))
    fact = _oom.collect(system, {'since': '3650d', 'log_files': None, 'watch': ['sshd', 'python3']})
    assert fact['status'] == 'ok' and fact['reason'] is None
    assert [(k['pid'], k['process'], k['scope']) for k in fact['kills']] == [(18572, 'python3', 'memcg')]
    assert fact['watched_killed'] == ['python3']
    assert fact['kills'][0]['source'] == 'dmesg:77'
    memory = fact['memory']
    assert memory['mem_total_kb'] == 24684084 and memory['cpus'] == 2 and memory['load_per_cpu'] == [0.5, 0.25, 0.125]
    assert memory['psi']['some']['total'] == 803
    assert fact['log']['sources'][0]['reason'] == 'journalctl not found (not a systemd host)'


def test_collect_journal_ok_skips_dmesg_and_reads_unit_results():
    lines = ['2026-11-20T10:00:00+0000 host kernel: Memory cgroup out of memory: Killed process 812 (sshd) '
             'total-vm:72296kB, anon-rss:5960kB, file-rss:1164kB, shmem-rss:0kB, UID:0 pgtables:80kB oom_score_adj:-1000',
             '2026-11-20T10:00:01+0000 host systemd[1]: ssh.service: A process of this unit has been killed by the OOM killer.',
             "2026-11-20T10:00:01+0000 host systemd[1]: ssh.service: Failed with result 'oom-kill'."]
    system = FakeSystem(_proc(), journal=([journal_json(line) for line in lines], 0, ''))
    fact = _oom.collect(system, {'since': '@1763000000', 'log_files': None, 'watch': ['sshd']})
    assert fact['status'] == 'ok'
    # one bounded query: kernel messages of every boot since `since`, service managers, systemd-oomd
    assert system.streamed[:4] == ['journalctl', '--no-pager', '-o', 'json']
    assert system.streamed[5].startswith('--output-fields=MESSAGE,_TRANSPORT,_SOURCE_MONOTONIC_TIMESTAMP,')
    assert '--since=@1763000000' in system.streamed
    assert system.streamed[-7:] == ['_TRANSPORT=kernel', '+', '_PID=1', '+', '_COMM=systemd', '+', '_COMM=systemd-oomd']
    assert [s['name'] for s in fact['log']['sources']] == ['journal']
    assert [(u['unit'], u['result']) for u in fact['unit_results']] == [
        ('ssh.service', 'oom-killed-process'), ('ssh.service', 'oom-kill')]
    assert fact['watched_killed'] == ['sshd']
    assert fact['kills'][0]['oom_score_adj'] == -1000


def test_collect_log_files_only_and_since_window():
    path = os.path.join(SAMPLES, 'syslog-3.10-rhel7-memcg.log')
    system = FakeSystem(_proc(**{path: _sample('syslog-3.10-rhel7-memcg.log')}))
    old = _oom.collect(system, {'since': '2026-01-01', 'log_files': [path], 'watch': []})
    assert len(old['kills']) == 5 and old['log']['sources'][0]['name'] == path
    recent = _oom.collect(system, {'since': '2026-09-01', 'log_files': [path], 'watch': []})
    assert recent['kills'] == [] and recent['status'] == 'ok'


def test_collect_without_psi_and_vmstat_counter():
    path = os.path.join(SAMPLES, 'syslog-4.x-global.log')
    system = FakeSystem(_proc(**{'/proc/pressure/memory': False, '/proc/vmstat': 'pgfault 1\n',
                                 path: _sample('syslog-4.x-global.log')}))
    fact = _oom.collect(system, {'since': '3650d', 'log_files': [path], 'watch': ['sshd']})
    assert fact['memory']['psi'] is None and 'PSI' in fact['memory']['psi_reason']
    assert fact['vmstat_oom_kill'] is None and '4.13' in fact['vmstat_reason']
    assert fact['status'] == 'ok' and fact['watched_killed'] == []


@pytest.mark.parametrize('params, fragment', [
    ({'since': 'yesterday', 'watch': []}, "cannot read since='yesterday'"),
    ({'since': '7d', 'watch': ['/usr/sbin/sshd']}, 'not a process name'),
])
def test_validate_rejects(params, fragment):
    assert fragment in _oom.validate(params)


def test_validate_accepts_defaults():
    assert _oom.validate({'since': '7d', 'watch': ['sshd', 'sshd-session']}) is None


def test_collect_raises_option_error_for_the_aggregate():
    with pytest.raises(OptionError, match='since'):
        _oom.collect(FakeSystem(_proc()), {'since': 'soon', 'log_files': None, 'watch': []})


def test_same_kill_in_journal_and_local_time_kern_log_counts_once():
    # kern.log written in UTC+2 without a zone is read as UTC: the same kill looks 2 h later
    line = ('Out of memory: Killed process 812 (sshd) total-vm:12000kB, anon-rss:4000kB, file-rss:2000kB, '
            'shmem-rss:0kB, UID:0 pgtables:60kB oom_score_adj:0')
    entries = [_entry(line, source='journal', lineno=3, epoch=NOW - 10000),
               _entry(line, source='/var/log/kern.log', lineno=70, epoch=NOW - 10000 + 7200)]
    kills, _units = _oom.parse_entries(entries)
    assert len(kills) == 1
    # a different process with a recycled pid hours later in the other source is another kill
    other = line.replace('(sshd)', '(java)')
    kills, _units = _oom.parse_entries(entries + [_entry(other, source='/var/log/kern.log', lineno=90,
                                                         epoch=NOW - 10000 + 7300)])
    assert [k['process'] for k in kills] == ['sshd', 'java']


# -- kills of this host's own cgroup tree (shared kernels: containers, namespace hosts) ------------
# /proc/1/cgroup as read inside: a systemd-nspawn container on this cgroup-v1 (hybrid) Debian 12
# machine (systemd 252), a light lab host (a namespace, no cgroup of its own), a plain Debian 12
# host (cgroup v2, systemd 252), Docker 20.10 on cgroup v1, Docker 24 on cgroup v2 (private cgroup
# namespace), a Kubernetes 1.27 pod container (cgroup v1, containerd).
NSPAWN_V1 = ('9:name=systemd:/connreset-lab7/sclean/payload/init.scope\n8:pids:/\n7:blkio:/\n6:freezer:/\n'
             '5:devices:/\n4:memory:/connreset-lab7/sclean/init.scope\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n'
             '0::/connreset-lab7/sclean/payload/init.scope\n')
LIGHT_NS = '9:name=systemd:/\n8:pids:/\n4:memory:/process_api/b325b8b638e6ed91ea0ef0f4091ad951\n0::/\n'
DEBIAN12_V2 = '0::/init.scope\n'
DOCKER_V1 = ('12:memory:/docker/3f1c8a7e9b2d\n11:cpu,cpuacct:/docker/3f1c8a7e9b2d\n'
             '1:name=systemd:/docker/3f1c8a7e9b2d\n0::/system.slice/containerd.service\n')
DOCKER_V2_CGROUPNS = '0::/\n'
K8S_V1 = ('11:memory:/kubepods/burstable/pod6d1f0e3a-2b7c/4e5d6f\n'
          '10:cpu,cpuacct:/kubepods/burstable/pod6d1f0e3a-2b7c/4e5d6f\n')


@pytest.mark.parametrize('text, memcg, root', [
    (NSPAWN_V1, '/connreset-lab7/sclean/init.scope', '/connreset-lab7/sclean'),
    (LIGHT_NS, '/process_api/b325b8b638e6ed91ea0ef0f4091ad951', '/process_api/b325b8b638e6ed91ea0ef0f4091ad951'),
    (DEBIAN12_V2, '/init.scope', None),
    (DOCKER_V1, '/docker/3f1c8a7e9b2d', '/docker/3f1c8a7e9b2d'),
    (DOCKER_V2_CGROUPNS, '/', None),
    (K8S_V1, '/kubepods/burstable/pod6d1f0e3a-2b7c/4e5d6f', '/kubepods/burstable/pod6d1f0e3a-2b7c/4e5d6f'),
    ('', None, None),
    (None, None, None),
    ('garbage\n4:memory\n', None, None),
])
def test_cgroup_root(text, memcg, root):
    assert _oom.parse_proc_cgroup(text) == memcg
    assert _oom.cgroup_root(memcg) == root


@pytest.mark.parametrize('path, root, inside', [
    ('/connreset-lab7/sclean/system.slice/ssh.service', '/connreset-lab7/sclean', True),
    ('/connreset-lab7/sclean', '/connreset-lab7/sclean', True),
    ('/connreset-lab7/scleanx/system.slice', '/connreset-lab7/sclean', False),
    ('/connreset-lab7/soom/system.slice/lab-oom-hog.service', '/connreset-lab7/sclean', False),
    ('/system.slice/ssh.service', '/docker/3f1c8a7e9b2d', False),
])
def test_in_cgroup_tree(path, root, inside):
    assert _oom.in_cgroup_tree(path, root) is inside


def _kill(pid, process, cgroup):
    return {'pid': pid, 'process': process, 'cgroup': cgroup, 'scope': 'memcg'}


def test_split_by_cgroup():
    kills = [_kill(1, 'sshd', '/connreset-lab7/sclean/system.slice/ssh.service'),
             _kill(2, 'python3', '/connreset-lab7/soom/system.slice/lab-oom-hog.service'),
             _kill(3, 'java', None)]  # a kernel < 4.19 global OOM: no cgroup, stays the host's
    mine, elsewhere = _oom.split_by_cgroup(kills, '/connreset-lab7/sclean')
    assert [k['pid'] for k in mine] == [1, 3] and [k['pid'] for k in elsewhere] == [2]
    assert _oom.split_by_cgroup(kills, None) == (kills, [])
    assert _oom.split_by_cgroup(None, '/x') == (None, [])


# Kernel 6.18 lines as an nspawn container's journal shows them: its own sshd (in its tree) and a
# memory hog of a sibling container on the same kernel.
SHARED_KERNEL_JOURNAL = [
    '2026-12-01T18:46:32+0000 sclean kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,'
    'mems_allowed=0,oom_memcg=/connreset-lab7/soom/system.slice/lab-oom-hog.service,'
    'task_memcg=/connreset-lab7/soom/system.slice/lab-oom-hog.service,task=python3,pid=2218,uid=0',
    '2026-12-01T18:46:32+0000 sclean kernel: Memory cgroup out of memory: Killed process 2218 (python3) '
    'total-vm:35364kB, anon-rss:24064kB, file-rss:3320kB, shmem-rss:0kB, UID:0 pgtables:104kB oom_score_adj:0',
    '2026-12-01T18:50:10+0000 sclean kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,'
    'mems_allowed=0,oom_memcg=/connreset-lab7/sclean/system.slice/ssh.service,'
    'task_memcg=/connreset-lab7/sclean/system.slice/ssh.service,task=sshd,pid=812,uid=0',
    '2026-12-01T18:50:10+0000 sclean kernel: Memory cgroup out of memory: Killed process 812 (sshd) '
    'total-vm:15272kB, anon-rss:1240kB, file-rss:6408kB, shmem-rss:0kB, UID:0 pgtables:68kB oom_score_adj:0',
]


def test_collect_keeps_the_kills_of_its_own_cgroup_tree():
    system = FakeSystem(_proc(**{'/proc/1/cgroup': NSPAWN_V1}), journal=([journal_json(line) for line in SHARED_KERNEL_JOURNAL], 0, ''))
    fact = _oom.collect(system, {'since': '2026-11-01', 'log_files': None, 'watch': ['sshd']})
    assert [(k['pid'], k['process']) for k in fact['kills']] == [(812, 'sshd')]
    assert fact['watched_killed'] == ['sshd']
    elsewhere = fact['kills_elsewhere']
    assert elsewhere['count'] == 1 and elsewhere['processes'] == {'python3': 1}
    assert elsewhere['cgroup_root'] == '/connreset-lab7/sclean'
    assert elsewhere['cgroups'] == {'/connreset-lab7/soom/system.slice/lab-oom-hog.service': 1}
    assert elsewhere['samples'][0]['pid'] == 2218 and 'not counted' in elsewhere['reason']


@pytest.mark.parametrize('cgroup_text', [DEBIAN12_V2, DOCKER_V2_CGROUPNS, None])
def test_collect_at_the_cgroup_root_keeps_every_kill(cgroup_text):
    files = _proc(**({'/proc/1/cgroup': cgroup_text} if cgroup_text else {}))
    system = FakeSystem(files, journal=([journal_json(line) for line in SHARED_KERNEL_JOURNAL], 0, ''))
    fact = _oom.collect(system, {'since': '2026-11-01', 'log_files': None, 'watch': ['sshd']})
    assert sorted(k['pid'] for k in fact['kills']) == [812, 2218] and fact['kills_elsewhere'] is None


def test_collect_log_files_are_not_attributed(tmp_path):
    path = str(tmp_path / 'kern.log')
    system = FakeSystem(_proc(**{'/proc/1/cgroup': NSPAWN_V1, path: '\n'.join(SHARED_KERNEL_JOURNAL) + '\n'}))
    fact = _oom.collect(system, {'since': '2026-11-01', 'log_files': [path], 'watch': ['sshd']})
    # a copied log is another host's: this host's cgroups say nothing about it
    assert len(fact['kills']) == 2 and fact['kills_elsewhere'] is None


def test_collect_journal_without_kernel_messages_falls_back_to_dmesg():
    """journald in a container without /dev/kmsg: PID 1's messages but no kernel message at all.
    That journal cannot show an OOM kill, so dmesg is asked, and its verdict stands."""
    lines = [journal_json("2026-11-20T10:00:01+0000 host systemd[1]: Started ssh.service - OpenBSD Secure Shell server.")]
    denied = CommandResult(['dmesg'], 1, '', 'dmesg: read kernel buffer failed: Operation not permitted\n')
    system = FakeSystem(_proc(), commands={'dmesg': denied, 'journalctl': CommandResult(['journalctl'], 0, '', '')},
                        journal=(lines, 0, ''))
    fact = _oom.collect(system, {'since': '@1763000000', 'log_files': None, 'watch': ['sshd']})
    names = [(s['name'], s['status']) for s in fact['log']['sources']]
    assert names == [('journal', 'partial'), ('dmesg', 'unknown')]
    assert 'no kernel message' in fact['log']['sources'][0]['reason']
    # never "no OOM kills" from a log that could not hold them
    assert fact['kills'] is None and fact['log']['status'] != 'ok'
