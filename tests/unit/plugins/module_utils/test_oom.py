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

from ansible_collections.connreset.doctor.plugins.module_utils import _logs, _oom
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
        return status, iter(journal_select(lines, argv))

    def remaining(self):
        return None

    def check_deadline(self):
        return None


BOOT_ID = '218b4fa1603a4b61813b6ca92380f93a'


def journal_select(lines, argv):
    """The JSON lines journalctl prints for the FIELD=VALUE matches of ``argv``, as journalctl(1)
    says: groups joined by ``+`` are OR-ed; within a group, matches of different fields are AND-ed and
    matches of the same field OR-ed.  Other lines pass."""
    import json
    groups, group = [], {}
    for arg in argv:
        if arg == '+':
            groups.append(group)
            group = {}
        elif '=' in arg and not arg.startswith('-'):
            field, value = arg.split('=', 1)
            group.setdefault(field, set()).add(value)
    groups.append(group)
    groups = [g for g in groups if g]
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            yield line
            continue
        if not groups or any(all(str(entry.get(k)) in values for k, values in g.items()) for g in groups):
            yield line


def journal_json(line, boot_id=BOOT_ID, comm=None):
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
        # what journald itself sets: the sender's pid, comm and unit (from its cgroup)
        unit = {'systemd-oomd': 'systemd-oomd.service', 'sshd': 'ssh.service', 'systemd': 'init.scope'}.get(
            ident, 'session-2.scope')
        entry.update(_TRANSPORT='syslog' if ident not in ('systemd', 'systemd-oomd') else 'journal', _PID=pid,
                     _COMM=comm or ident, _SYSTEMD_UNIT=unit if pid == '1' or ident != 'systemd' else 'user@1000.service')
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
    # the vte-spawn scope's line comes from a user manager (systemd[1837]), which any process of that
    # user could imitate: only PID 1 is trusted for unit results (systemd-oomd's own line still counts
    # the kill, see test_samples_one_entry_per_kill)
    assert [(u['unit'], u['result']) for u in units] == [('testsuite-55-testbloat.service', 'oomd-kill')]
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
    # one bounded query: kernel messages of every boot since `since`, PID 1 over the native protocol,
    # the systemd-oomd service (fields journald sets itself, unlike _COMM or SYSLOG_IDENTIFIER)
    assert system.streamed[:4] == ['journalctl', '--no-pager', '-o', 'json']
    assert any(a.startswith('--output-fields=MESSAGE,_TRANSPORT,_SOURCE_MONOTONIC_TIMESTAMP,') for a in system.streamed)
    assert '--since=@1763000000' in system.streamed
    assert system.streamed[-8:] == ['_TRANSPORT=kernel', '+', '_PID=1', '_TRANSPORT=journal', '+',
                                    '_SYSTEMD_UNIT=systemd-oomd.service', '_TRANSPORT=journal', '_TRANSPORT=stdout']
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


# -- every wording, built from the format strings (issue 11 point 4) ------------------------------
# Each line is the format string of the file and tag named beside it with plausible values (the
# tags read: the kernel release each snapshot holds; "systemd main" is the stored tip after v256).
FORMAT_LINES = [
    # mm/oom_kill.c oom_kill_process() v3.10.105: "%s: Kill process %d (%s) score %d or sacrifice child"
    ('v3.10.105 mm/oom_kill.c', 'Out of memory: Kill process 4410 (sshd) score 612 or sacrifice child',
     'kill', {'pid': 4410, 'process': 'sshd', 'scope': 'global'}),
    # v3.10.105 "Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB"
    ('v3.10.105 mm/oom_kill.c', 'Killed process 4412 (bash) total-vm:115400kB, anon-rss:1872kB, file-rss:260kB',
     'killed', {'pid': 4412, 'process': 'bash', 'rss_kb': 2132, 'scope': None, 'uid': None}),
    # v3.10.105 "Kill process %d (%s) sharing same memory"
    ('v3.10.105 mm/oom_kill.c', 'Kill process 4413 (bash) sharing same memory', 'killed',
     {'pid': 4413, 'process': 'bash', 'sharing': True}),
    # v3.10.105 mm/memcontrol.c mem_cgroup_out_of_memory(): message "Memory cgroup out of memory"
    ('v3.10.105 mm/memcontrol.c', 'Memory cgroup out of memory: Kill process 812 (sshd) score 1000 or sacrifice child',
     'kill', {'pid': 812, 'scope': 'memcg'}),
    # v3.10.105 mem_cgroup_print_oom_info(): "Task in %s killed" + " as a result of limit of %s\n"
    ('v3.10.105 mm/memcontrol.c', 'Task in /system.slice/ssh.service killed as a result of limit of /system.slice',
     'task_in', {'cgroup': '/system.slice/ssh.service', 'limit': '/system.slice'}),
    # v4.4.121 "%s: Kill process %d (%s) score %u or sacrifice child", out_of_memory()'s
    # "Out of memory (oom_kill_allocating_task)"
    ('v4.4.121 mm/oom_kill.c', 'Out of memory (oom_kill_allocating_task): Kill process 99 (stress) score 0 or sacrifice child',
     'kill', {'pid': 99, 'process': 'stress', 'scope': 'global'}),
    ('v4.4.121 mm/oom_kill.c', 'Killed process 99 (stress) total-vm:1048576kB, anon-rss:1000000kB, file-rss:4kB',
     'killed', {'pid': 99, 'rss_kb': 1000004}),
    # v4.9.229 .. v4.19.72 "Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB"
    ('v4.9.229 mm/oom_kill.c', 'Killed process 4412 (bash) total-vm:115400kB, anon-rss:1872kB, file-rss:260kB, shmem-rss:8kB',
     'killed', {'pid': 4412, 'rss_kb': 2140}),
    ('v4.19.72 mm/oom_kill.c', 'Killed process 4412 (tmux: server) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB',
     'killed', {'pid': 4412, 'process': 'tmux: server'}),
    # v4.9.229 .. v6.12.19 "oom_reaper: reaped process %d (%s), now anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB"
    ('v4.9.229 mm/oom_kill.c', 'oom_reaper: reaped process 4412 (bash), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
     'reaped', {'pid': 4412, 'process': 'bash'}),
    # v4.9.229 .. v6.12.19 "oom_reaper: unable to reap pid:%d (%s)"
    ('v4.14.67 mm/oom_kill.c', 'oom_reaper: unable to reap pid:4412 (bash)', 'reaped', {'pid': 4412}),
    # v4.9.229 dump_header(): "%s invoked oom-killer: gfp_mask=%#x(%pGg), nodemask=%*pbl, order=%d, oom_score_adj=%hd"
    ('v4.9.229 mm/oom_kill.c', 'sshd invoked oom-killer: gfp_mask=0x24201ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD), '
     'nodemask=0, order=0, oom_score_adj=0', 'invoked', {'process': 'sshd'}),
    # v5.4.286 dump_header(): "%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d, oom_score_adj=%hd"
    ('v5.4.286 mm/oom_kill.c', 'Web Content invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, '
     'oom_score_adj=167', 'invoked', {'process': 'Web Content'}),
    # v5.4.286 dump_oom_summary() "oom-kill:constraint=%s,nodemask=%*pbl" + cpuset.c ",cpuset=%s,mems_allowed=%*pbl"
    # + memcontrol.c mem_cgroup_print_oom_context() ",global_oom" / ",oom_memcg=" + ",task_memcg=" + ",task=%s,pid=%d,uid=%d"
    ('v5.4.286 mm/oom_kill.c', 'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,'
     'task_memcg=/user.slice/user-1000.slice/session-3.scope,task=bash,pid=4412,uid=1000', 'summary',
     {'pid': 4412, 'process': 'bash', 'uid': 1000, 'scope': 'global', 'cgroup': '/user.slice/user-1000.slice/session-3.scope'}),
    ('v6.1.158 mm/oom_kill.c', 'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=ssh.service,mems_allowed=0,'
     'oom_memcg=/system.slice/ssh.service,task_memcg=/system.slice/ssh.service,task=sshd,pid=812,uid=0', 'summary',
     {'pid': 812, 'scope': 'memcg', 'constraint': 'CONSTRAINT_MEMCG', 'oom_memcg': '/system.slice/ssh.service'}),
    # v5.4.286 .. v6.12.19 __oom_kill_process(): "%s: Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB,
    # file-rss:%lukB, shmem-rss:%lukB, UID:%u pgtables:%lukB oom_score_adj:%hd"
    ('v5.4.286 mm/oom_kill.c', 'Out of memory: Killed process 4412 (bash) total-vm:115400kB, anon-rss:1872kB, '
     'file-rss:260kB, shmem-rss:0kB, UID:1000 pgtables:240kB oom_score_adj:0', 'killed',
     {'pid': 4412, 'scope': 'global', 'uid': 1000, 'oom_score_adj': 0, 'rss_kb': 2132}),
    ('v6.12.19 mm/oom_kill.c', 'Memory cgroup out of memory: Killed process 812 (sshd) total-vm:15272kB, anon-rss:1240kB, '
     'file-rss:6408kB, shmem-rss:0kB, UID:0 pgtables:68kB oom_score_adj:-1000', 'killed',
     {'pid': 812, 'scope': 'memcg', 'oom_score_adj': -1000}),
    # v5.10.198 .. v6.12.19 (not at v5.4.286) "%s: OOM victim %d (%s) is already exiting. Skip killing the task"
    ('v5.10.198 mm/oom_kill.c', 'Out of memory: OOM victim 7100 (java) is already exiting. Skip killing the task',
     'exiting', {'pid': 7100, 'process': 'java', 'scope': 'global'}),
    ('v6.12.19 mm/oom_kill.c', 'Memory cgroup out of memory: OOM victim 7100 (java) is already exiting. Skip killing the task',
     'exiting', {'pid': 7100, 'scope': 'memcg'}),
    # systemd-oomd src/oom/oomd-manager.c v248: "Killed %s due to memory pressure for %s being %lu.%02lu%% >
    # %lu.%02lu%% for > %s with reclaim activity", "Killed %s due to swap used (%PRIu64) / total (%PRIu64) being more than %"
    ('systemd v248 src/oom/oomd-manager.c', 'Killed /system.slice/app.service due to memory pressure for /system.slice '
     'being 85.03% > 80.00% for > 20s with reclaim activity', 'oomd', {'cgroup': '/system.slice/app.service'}),
    ('systemd v248 src/oom/oomd-manager.c', 'Killed /user.slice/user-1000.slice/user@1000.service/app.slice/x.scope '
     'due to swap used (3963015168) / total (4294963200) being more than 90.00%', 'oomd', {}),
    # v249 .. v256 "Killed %s due to memory used (..) / total (..) and swap used (..) / total (..) being more than .."
    ('systemd v256 src/oom/oomd-manager.c', 'Killed /system.slice/db.service due to memory used (8000000000) / total '
     '(8300000000) and swap used (3963015168) / total (4294963200) being more than 90.00%', 'oomd',
     {'cgroup': '/system.slice/db.service'}),
    # systemd main (after v256): "Marked %s for killing due to memory used (..) / total (..) and swap used ..."
    ('systemd main src/oom/oomd-manager.c', 'Marked /system.slice/db.service for killing due to memory used (8000000000) '
     '/ total (8300000000) and swap used (3963015168) / total (4294963200) being more than 90.00%', 'oomd', {}),
    # src/core/cgroup.c v247 .. v256 "systemd-oomd killed %PRIu64 process(es) in this unit.", v252+ "some process(es)",
    # "A process of this unit has been killed by the OOM killer."; src/core/unit.c "Failed with result '%s'."
    ('systemd v247 src/core/cgroup.c', 'ssh.service: systemd-oomd killed 3 process(es) in this unit.', 'unit',
     {'unit': 'ssh.service', 'result': 'oomd-kill'}),
    ('systemd v252 src/core/cgroup.c', 'ssh.service: systemd-oomd killed some process(es) in this unit.', 'unit',
     {'result': 'oomd-kill'}),
    ('systemd v247 src/core/cgroup.c', 'ssh.service: A process of this unit has been killed by the OOM killer.',
     'unit', {'result': 'oom-killed-process'}),
    ('systemd v256 src/core/unit.c', "ssh.service: Failed with result 'oom-kill'.", 'unit', {'result': 'oom-kill'}),
]


@pytest.mark.parametrize('where, message, kind, fields', FORMAT_LINES, ids=[f[0] for f in FORMAT_LINES])
def test_format_strings(where, message, kind, fields):
    event = _oom.classify(message)
    assert event is not None and event['kind'] == kind, where
    for key, value in fields.items():
        assert event.get(key) == value, key


@pytest.mark.parametrize('message', [
    # v4.9.229 .. v6.12.19 "oom killer %d (%s) has mm pinned by %d (%s)": nobody killed by this line
    'oom killer 4412 (bash) has mm pinned by 1 (systemd)',
    # v4.19.72 .. v6.12.19 mm/memcontrol.c mem_cgroup_print_oom_group(): the kills follow as their own lines
    'Tasks in /system.slice/app.service are going to be killed due to memory.oom.group set',
    # v4.19.72 memcontrol.c without a task: "Memory limit reached of cgroup %s"
    'Memory limit reached of cgroup /system.slice/app.service',
    # v5.4.286 "Out of memory and no killable processes..." (a panic follows on older kernels)
    'Out of memory and no killable processes...',
    # systemd-oomd v247: says what it saw, not what it killed
    'Memory pressure for /system.slice is greater than 60 for more than 20 seconds and there was reclaim activity',
    # a kill line cut short, or with a number no kernel prints
    'Out of memory: Killed process 4412 (bash) total-vm:115400kB, anon-rss:1872kB',
    'Out of memory: Killed process 4412 (bash) total-vm:115400kB, anon-rss:1872kB, file-rss:260kB, shmem-rss:0kB, UID:x',
    'Killed process %s (bash) total-vm:1kB, anon-rss:1kB, file-rss:1kB' % ('9' * 5000),
    'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),task=bash,pid=%s,uid=0' % ('1' * 5000),
    'Out of memory: Kill process 4410 (sshd) score 612 or sacrifice child and more text',
])
def test_format_neighbours_are_not_kill_lines(message):
    event = _oom.classify(message)
    assert event is None or event['kind'] not in ('killed', 'kill', 'summary', 'exiting', 'oomd', 'unit')


def _kernel_lines(lines, start=NOW - 1000):
    return [_entry(m, lineno=i, epoch=start + i * 0.001) for i, m in enumerate(lines, 1)]


SEQUENCES = [
    # v4.9.229 oom_kill_process(): sshd chosen, its child bash (another mm) sacrificed: ONE kill, of 4412
    ('v4.9.229 sacrifice child', [
        'sshd invoked oom-killer: gfp_mask=0x24201ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD), nodemask=0, order=0, oom_score_adj=0',
        'Out of memory: Kill process 4410 (sshd) score 612 or sacrifice child',
        'Killed process 4412 (bash) total-vm:115400kB, anon-rss:1872kB, file-rss:260kB, shmem-rss:0kB',
        'oom_reaper: reaped process 4412 (bash), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
    ], [(4412, 'bash', 'global')], 0),
    # v4.4.121 oom_kill_process(): the chosen task exited first (find_lock_task_mm() NULL): no kill, no line
    ('v4.4.121 chosen exits', [
        'Out of memory: Kill process 4410 (sshd) score 612 or sacrifice child',
        'sshd invoked oom-killer: gfp_mask=0x24201ca, order=0, oom_score_adj=0',
        'Out of memory: Kill process 900 (java) score 700 or sacrifice child',
        'Killed process 900 (java) total-vm:1000kB, anon-rss:900kB, file-rss:4kB',
    ], [(900, 'java', 'global')], 0),
    # v3.10.105: the child, then a process sharing its memory: two kills, not three
    ('v3.10.105 sharing same memory', [
        'Memory cgroup out of memory: Kill process 4410 (sshd) score 612 or sacrifice child',
        'Killed process 4412 (bash) total-vm:115400kB, anon-rss:1872kB, file-rss:260kB',
        'Kill process 4413 (vim) sharing same memory',
    ], [(4412, 'bash', 'memcg'), (4413, 'vim', None)], 0),
    # v5.10.198 / v6.x: summary, victim already exiting, reaper: NO kill
    ('v6.12.19 already exiting', [
        'java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0',
        'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,'
        'task_memcg=/system.slice/app.service,task=java,pid=7100,uid=0',
        'Out of memory: OOM victim 7100 (java) is already exiting. Skip killing the task',
        'oom_reaper: reaped process 7100 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
    ], [], 1),
    # v5.4.286 memcg: summary + kill + reaper: ONE kill with the summary's cgroup and uid
    ('v5.4.286 memcg', [
        'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/ssh.service,'
        'task_memcg=/system.slice/ssh.service,task=sshd,pid=812,uid=0',
        'Memory cgroup out of memory: Killed process 812 (sshd) total-vm:15272kB, anon-rss:1240kB, file-rss:6408kB, '
        'shmem-rss:0kB, UID:0 pgtables:68kB oom_score_adj:0',
        'oom_reaper: reaped process 812 (sshd), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
    ], [(812, 'sshd', 'memcg')], 0),
    # v5.4.286 memory.oom.group: the victim, then every member of the group, each with its own kill line
    ('v5.4.286 memory.oom.group', [
        'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/app.service,'
        'task_memcg=/system.slice/app.service,task=app,pid=500,uid=0',
        'Memory cgroup out of memory: Killed process 500 (app) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, '
        'UID:0 pgtables:1kB oom_score_adj:0',
        'Tasks in /system.slice/app.service are going to be killed due to memory.oom.group set',
        'Memory cgroup out of memory: Killed process 501 (worker) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, '
        'UID:0 pgtables:1kB oom_score_adj:0',
        'Memory cgroup out of memory: Killed process 502 (worker) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, '
        'UID:0 pgtables:1kB oom_score_adj:0',
    ], [(500, 'app', 'memcg'), (501, 'worker', 'memcg'), (502, 'worker', 'memcg')], 0),
    # a summary, a selection or a reaper line whose kill line is not there: no kill
    ('no kill line', [
        'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task=java,pid=7100,uid=0',
        'oom_reaper: reaped process 7101 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
        'Out of memory: Kill process 7102 (java) score 1 or sacrifice child',
    ], [], 0),
]


@pytest.mark.parametrize('name, lines, expected, exiting', SEQUENCES, ids=[s[0] for s in SEQUENCES])
def test_one_event_one_count(name, lines, expected, exiting):
    folder = _oom.KillFolder()
    for entry in _kernel_lines(lines):
        folder.add(entry)
    kills, _units = folder.results()
    assert [(k['pid'], k['process'], k['scope'] if k['process'] != 'vim' else None) for k in kills] == expected, name
    assert folder.counts()['victims_exiting'] == exiting


def test_sacrificed_child_names_the_victim_not_the_chosen_sshd():
    kills, _units = _oom.parse_entries(_kernel_lines(SEQUENCES[0][1]))
    assert kills[0]['selected'] == {'pid': 4410, 'process': 'sshd'}
    assert len(kills[0]['evidence']) == 3      # selection, kill, reaper
    assert kills[0]['source'] == 'journal:2'   # where the kill's first line is
    # sshd survived: the report must not say it was killed
    assert _oom.watched_killed(['sshd', 'sshd-session'], kills, []) == []


def test_one_kill_in_journal_dmesg_and_kern_log_counts_once():
    lines = SEQUENCES[4][1]
    entries = []
    for source, shift in (('journal', 0), ('dmesg', 0.4), ('/var/log/kern.log', 3600)):
        entries += [_entry(m, source=source, lineno=i, epoch=NOW - 1000 + shift + i * 0.001) for i, m in enumerate(lines, 1)]
    kills, _units = _oom.parse_entries(entries)
    assert [(k['pid'], k['cgroup']) for k in kills] == [(812, '/system.slice/ssh.service')]


# -- nobody but the kernel, PID 1 and systemd-oomd can plant a kill (issue 16 point 1) -------------
# Every message that counts, as text a stranger or an operator can get into a log line.
PLANTED = [m for _where, m, kind, _f in FORMAT_LINES if kind in ('killed', 'oomd', 'unit')] + [
    # the selection + child kill pair, summary + kill (what would count if a kernel wrote them)
    'Out of memory: Killed process 812 (sshd) total-vm:15272kB, anon-rss:1240kB, file-rss:6408kB, shmem-rss:0kB, '
    'UID:0 pgtables:68kB oom_score_adj:0',
]


def _planted_lines(message):
    """Syslog lines holding ``message`` that are not the kernel's: an operator's logger note (ident =
    user name, and a made-up ident), sshd logging a user name verbatim, a user's own systemd manager,
    a logger claiming to be systemd without being PID 1, a line with no ident at all."""
    return [
        'Dec  1 10:00:00 host root: %s' % message,
        "Dec  1 10:00:00 host root: raised the limit after '%s'" % message,
        'Dec  1 10:00:00 host ops-note[4242]: %s' % message,
        'Dec  1 10:00:00 host sshd[812]: Invalid user %s from 10.9.9.9 port 4242' % message,
        'Dec  1 10:00:00 host sshd[812]: Failed password for invalid user %s from 10.9.9.9 port 4242 ssh2' % message,
        'Dec  1 10:00:00 host sshd[812]: %s' % message,
        'Dec  1 10:00:00 host systemd[1837]: %s' % message,
        'Dec  1 10:00:00 host kernel: audit: type=1100 msg=\'op=PAM:authentication acct="%s" exe="/usr/sbin/sshd"\'' % message,
        message,
    ]


@pytest.mark.parametrize('message', PLANTED)
def test_planted_lines_in_log_files_count_nothing(message, tmp_path):
    path = str(tmp_path / 'kern.log')
    system = FakeSystem(_proc(**{path: '\n'.join(_planted_lines(message)) + '\n'}))
    fact = _oom.collect(system, {'since': '2026-11-01', 'log_files': [path], 'watch': ['sshd']})
    assert fact['kills'] == [] and fact['unit_results'] == [] and fact['kill_count'] == 0, message
    assert fact['watched_killed'] == [] and fact['victims_exiting'] == 0
    assert fact['log']['outside_window'] == {'kills': 0, 'unit_results': 0, 'victims_exiting': 0}


def _journal_entry(message, **fields):
    import json
    entry = {'__REALTIME_TIMESTAMP': str(int((NOW - 500) * 1000000)), '_BOOT_ID': BOOT_ID, '_HOSTNAME': 'host',
             'MESSAGE': message}
    entry.update(fields)
    return json.dumps(entry, separators=(",", ":"))  # as journalctl prints it


@pytest.mark.parametrize('message', PLANTED)
def test_planted_journal_entries_count_nothing(message):
    """`logger -t kernel`, `logger -t systemd-oomd`, `logger -t systemd --id=1`, a process renamed
    "systemd": journald records the sender's real transport, pid and unit, and the query asks for
    those fields, so none of these entries is even read."""
    entries = [
        _journal_entry(message, _TRANSPORT='syslog', SYSLOG_IDENTIFIER='kernel', _COMM='logger', _PID='4242',
                       _SYSTEMD_UNIT='session-2.scope'),
        _journal_entry(message, _TRANSPORT='syslog', SYSLOG_IDENTIFIER='systemd-oomd', _COMM='logger', _PID='4243',
                       _SYSTEMD_UNIT='session-2.scope'),
        _journal_entry(message, _TRANSPORT='syslog', SYSLOG_IDENTIFIER='systemd', SYSLOG_PID='1', _COMM='logger',
                       _PID='4244', _SYSTEMD_UNIT='session-2.scope'),
        # root's `logger --id=1` passes pid 1 in SCM_CREDENTIALS: journald then records _PID=1 and PID 1's
        # unit, but the syslog transport (seen on the lab's Debian 12 host, systemd 252)
        _journal_entry(message, _TRANSPORT='syslog', SYSLOG_IDENTIFIER='systemd', SYSLOG_PID='1', _COMM='systemd',
                       _PID='1', _SYSTEMD_UNIT='init.scope'),
        _journal_entry(message, _TRANSPORT='syslog', SYSLOG_IDENTIFIER='systemd-oomd', _COMM='systemd-oomd',
                       _PID='640', _SYSTEMD_UNIT='systemd-oomd.service'),
        _journal_entry(message, _TRANSPORT='journal', SYSLOG_IDENTIFIER='systemd', _COMM='systemd', _PID='4245',
                       _SYSTEMD_UNIT='user@1000.service'),
        _journal_entry('Invalid user %s from 10.9.9.9 port 4242' % message, _TRANSPORT='syslog',
                       SYSLOG_IDENTIFIER='sshd', _COMM='sshd', _PID='812', _SYSTEMD_UNIT='ssh.service'),
        # a real kernel line so the journal counts as a kernel source (and dmesg is not asked)
        _journal_entry('Linux version 6.1.0-27-amd64', _TRANSPORT='kernel', SYSLOG_IDENTIFIER='kernel',
                       _SOURCE_MONOTONIC_TIMESTAMP='1000000'),
    ]
    system = FakeSystem(_proc(), journal=(entries, 0, ''), binaries=('journalctl',))
    fact = _oom.collect(system, {'since': '@1763000000', 'log_files': None, 'watch': ['sshd']})
    assert fact['log']['sources'][0]['status'] == 'ok'
    assert fact['kills'] == [] and fact['unit_results'] == [] and fact['watched_killed'] == [], message


def test_the_same_lines_from_their_writers_do_count():
    """The control of the two tests above: the kernel, PID 1 and systemd-oomd are believed."""
    lines = ['2026-11-20T10:00:00+0000 host kernel: ' + PLANTED[-1],
             '2026-11-20T10:00:01+0000 host systemd[1]: ssh.service: Failed with result \'oom-kill\'.',
             '2026-11-20T10:00:02+0000 host systemd-oomd[640]: Killed /system.slice/app.service due to memory '
             'pressure for /system.slice being 85.03% > 80.00% for > 20s with reclaim activity']
    system = FakeSystem(_proc(), journal=([journal_json(line) for line in lines], 0, ''))
    fact = _oom.collect(system, {'since': '@1763000000', 'log_files': None, 'watch': ['sshd']})
    assert fact['kill_count'] == 2 and fact['unit_result_count'] == 1 and fact['watched_killed'] == ['sshd']


def test_kern_log_is_read_instead_of_syslog_where_anyone_can_write_kernel_lines():
    syslog = 'Dec  1 10:00:00 host kernel: ' + PLANTED[-1] + '\n'      # as `logger -t kernel` writes it
    system = FakeSystem(_proc(**{'/var/log/kern.log': 'Dec  1 09:00:00 host kernel: Linux version 6.1\n',
                                 '/var/log/syslog': syslog, '/var/log/messages': syslog}), binaries=())
    assert _oom.kernel_log_files(system) == ['/var/log/kern.log']
    fact = _oom.collect(system, {'since': '3650d', 'log_files': None, 'watch': ['sshd']})
    assert [s['name'] for s in fact['log']['sources']] == ['journal', 'dmesg', '/var/log/kern.log']
    assert fact['kills'] == []
    # a host without kern.log (RHEL: everything in /var/log/messages) reads what it has
    del system.files['/var/log/kern.log']
    assert _oom.kernel_log_files(system) == ['/var/log/messages', '/var/log/syslog']


# -- bounded facts, odd input (issue 16 point 3) ----------------------------------------------------
def _many_kills(count, start=NOW - 86400 * 3):
    out = []
    for i in range(count):
        stamp = time_iso(start + i * 61)
        out.append('%s host kernel: Memory cgroup out of memory: Killed process %d (%s) total-vm:1000kB, '
                   'anon-rss:900kB, file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0'
                   % (stamp, 10000 + i, 'worker' if i % 3 else 'sshd'))
    return out


def time_iso(epoch):
    import time
    return time.strftime('%Y-%m-%dT%H:%M:%S+0000', time.gmtime(epoch))


def test_two_thousand_kills_give_a_small_fact_with_exact_counts(tmp_path):
    import json
    path = str(tmp_path / 'kern.log')
    system = FakeSystem(_proc(**{path: '\n'.join(_many_kills(2000)) + '\n'}))
    fact = _oom.collect(system, {'since': None, 'log_files': [path], 'watch': ['sshd']})
    assert fact['kill_count'] == 2000 and fact['kills_truncated'] is True
    assert len(fact['kills']) == _oom.MAX_KILLS == 20
    assert fact['kills'][-1]['pid'] == 10000 + 1999           # the most recent are kept, oldest first
    assert fact['kills_by_process'] == {'worker': 1333, 'sshd': 667}
    assert fact['watched_killed'] == ['sshd']
    assert len(json.dumps(fact)) < 40000                       # was 878 KB for one host
    # the window is the week before the newest line (no since given): every kill is inside
    assert fact['log']['window']['basis'] == 'newest_line' and fact['log']['outside_window']['kills'] == 0


def test_few_kills_are_not_truncated(tmp_path):
    path = str(tmp_path / 'kern.log')
    system = FakeSystem(_proc(**{path: '\n'.join(_many_kills(3)) + '\n'}))
    fact = _oom.collect(system, {'since': None, 'log_files': [path], 'watch': []})
    assert fact['kill_count'] == 3 and len(fact['kills']) == 3 and fact['kills_truncated'] is False


def test_summarize_kills_caps_names():
    kills = [{'process': 'p%d' % i, 'unit': 'u%d.service' % (i % 30)} for i in range(100)]
    part = _oom.summarize_kills(kills, [{'unit': 'x'}] * 30)
    assert len(part['kills_by_process']) == _oom.MAX_NAMES and len(part['kills_by_unit']) == _oom.MAX_NAMES
    assert part['unit_result_count'] == 30 and len(part['unit_results']) == 20 and part['unit_results_truncated']


def test_offline_window_ends_at_the_newest_line_and_counts_older_kills(tmp_path):
    """A kern.log copied long ago: the window is its own last week; a kill two weeks before its newest
    line is outside and counted as such, never dropped silently (issue 11 point 5)."""
    path = str(tmp_path / 'kern.log')
    lines = _many_kills(1, start=1700000000) + _many_kills(2, start=1700000000 + 14 * 86400)
    system = FakeSystem(_proc(**{path: '\n'.join(lines) + '\n'}))
    fact = _oom.collect(system, {'since': None, 'log_files': [path], 'watch': []})
    assert fact['kill_count'] == 2 and fact['log']['outside_window'] == {
        'kills': 1, 'unit_results': 0, 'victims_exiting': 0}
    window = fact['log']['window']
    assert window['basis'] == 'newest_line' and window['until'] == time_iso(1700000000 + 14 * 86400 + 61).replace('+0000', 'Z')
    assert fact['log']['since'] == window['since']


def test_odd_lines_are_skipped_and_counted_never_raised(tmp_path):
    path = str(tmp_path / 'kern.log')
    kill = ('Out of memory: Killed process 812 (sshd) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, '
            'UID:0 pgtables:1kB oom_score_adj:0')
    lines = ['2026-13-01T10:00:00+0000 host kernel: ' + kill,             # month 13
             '2026-00-01T10:00:00+0000 host kernel: ' + kill,             # month 00
             '2026-02-30T10:00:00+0000 host kernel: ' + kill,             # February 30
             '2026-11-01T10:00:00+0000 host kernel: Killed process %s (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB'
             % ('9' * 6000),                                                # a pid no int() should see
             '2026-11-01T10:00:00+0000 host kernel: oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),task=x,pid=-1,uid=x',
             '2026-11-01T10:00:00+0000 host kernel: Out of memory: Killed process 0x1f (x) total-vm:1kB, anon-rss:1kB, '
             'file-rss:0kB',
             '2026-11-01T10:00:00+0000 host kernel: oom_reaper: reaped process 99999999999 (x), now anon-rss:0kB, '
             'file-rss:0kB, shmem-rss:0kB',
             '2026-11-01T10:00:01+0000 host kernel: ' + kill]
    system = FakeSystem(_proc(**{path: '\n'.join(lines) + '\n'}))
    fact = _oom.collect(system, {'since': '2026-10-01', 'log_files': [path], 'watch': ['sshd']})
    assert fact['status'] == 'ok' and fact['kill_count'] == 1 and fact['kills'][0]['pid'] == 812
    skipped = fact['log']['skipped_lines']
    assert skipped['count'] == 3 and '2026-13-01' in skipped['samples'][0]


def test_evidence_lines_are_cut():
    long_name = 'x' * 60
    line = ('Out of memory: Killed process 9 (%s) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB' % long_name)
    kills, _units = _oom.parse_entries([_entry(line, raw=line + ' ' * 5000)])
    assert len(kills[0]['evidence'][0]) == _oom.EVIDENCE_CHARS


def test_validate_without_since_uses_the_default_window():
    assert _oom.validate({'since': None, 'watch': ['sshd']}) is None
    assert 'default' not in _oom.ARGUMENT_SPEC['since']


# -- lines from the lab's own hosts (samples/lab/ORIGINS.md: Debian 11/12/13, systemd 247/252/257) --
LAB = os.path.join(os.path.dirname(__file__), 'samples', 'lab')
LAB_SUITES = ['bullseye', 'bookworm', 'trixie']


def _lab(suite, name):
    with open(os.path.join(LAB, suite, name)) as handle:
        return handle.read()


def _lab_kill_pid(suite):
    import re
    return int(re.search(r'Killed process (\d+) \(python3\)', _lab(suite, 'oom-kernel.txt')).group(1))


@pytest.mark.parametrize('suite', LAB_SUITES)
def test_lab_oom_fault_from_the_journal(suite):
    """The lab's `oom` fault: the memory hog in its own memory cgroup killed once; systemd then records
    result 'signal' (cgroup v1 hybrid host), which is no OOM unit result."""
    entries = (_lab(suite, 'oom-kernel.json') + _lab(suite, 'oom.json')).splitlines()
    system = FakeSystem(_proc(), journal=(entries, 0, ''))
    fact = _oom.collect(system, {'since': '2026-12-01', 'log_files': None, 'watch': ['sshd']})
    assert fact['log']['status'] == 'ok' and fact['kill_count'] == 1
    kill = fact['kills'][0]
    assert (kill['pid'], kill['process'], kill['scope'], kill['unit']) == (
        _lab_kill_pid(suite), 'python3', 'memcg', 'lab-oom-hog.service')
    assert kill['cgroup'] == '/connreset-lab5/%s/system.slice/lab-oom-hog.service' % suite
    assert kill['constraint'] == 'CONSTRAINT_MEMCG' and kill['uid'] == 0 and kill['selected'] is None
    assert fact['unit_results'] == [] and fact['watched_killed'] == [] and fact['victims_exiting'] == 0


@pytest.mark.parametrize('suite', LAB_SUITES)
def test_lab_oom_fault_from_copied_short_iso_lines(suite, tmp_path):
    path = str(tmp_path / 'journal.txt')
    system = FakeSystem(_proc(**{path: _lab(suite, 'oom-kernel.txt') + '\n' + _lab(suite, 'oom.txt') + '\n'}))
    fact = _oom.collect(system, {'since': None, 'log_files': [path], 'watch': ['sshd']})
    assert fact['kill_count'] == 1 and fact['kills'][0]['pid'] == _lab_kill_pid(suite)
    assert fact['log']['window']['basis'] == 'newest_line' and fact['log']['skipped_lines']['count'] == 0


@pytest.mark.parametrize('text, expected', [
    # fuzz findings 6: NaN and inf are not JSON numbers
    ('some avg10=inf avg60=nan avg300=0 total=1\n', {'some': {'avg10': None, 'avg60': None, 'avg300': 0.0, 'total': 1}}),
    ('some avg10=1.5 total=%s\n' % ('9' * 5000), {'some': {'avg10': 1.5, 'total': None}}),
    ('some avg10=0.10 avg60=0.05 avg300=0.01 total=42 extra=7\n',
     {'some': {'avg10': 0.1, 'avg60': 0.05, 'avg300': 0.01, 'total': 42}}),
])
def test_parse_psi_keeps_finite_numbers(text, expected):
    assert _oom.parse_psi(text) == expected


@pytest.mark.parametrize('text', ['nan inf -inf 1/2 3', '1e999 0 0 1/2 3', '%s 0 0 1/1 1' % ('9' * 50)])
def test_parse_loadavg_refuses_non_finite(text):
    assert _oom.parse_loadavg(text) is None


def test_messages_lines_of_this_boot_are_left_to_the_journal():
    """RHEL-like host (no kern.log): /var/log/messages holds the kernel's lines and anyone's `logger -t
    kernel` lines.  With a journal that holds this boot's kernel messages, a messages line from this boot
    is the journal's to tell (the planted one is not there); a kill from before this boot still counts."""
    import time

    def stamp(epoch):
        return time.strftime('%b %e %H:%M:%S', time.gmtime(epoch))
    boot = time.time() - 3 * 86400
    planted = '%s host kernel: %s' % (stamp(time.time() - 60), PLANTED[-1])
    earlier = '%s host kernel: %s' % (stamp(boot - 86400), PLANTED[-1].replace('812 (sshd)', '700 (java)'))
    journal = [_journal_entry('Linux version 6.1.0-27-amd64', _TRANSPORT='kernel', SYSLOG_IDENTIFIER='kernel',
                              _SOURCE_MONOTONIC_TIMESTAMP='1000000')]
    files = _proc(**{'/var/log/messages': earlier + '\n' + planted + '\n', '/proc/stat': 'btime %d\n' % boot})
    system = FakeSystem(files, journal=(journal, 0, ''), binaries=('journalctl',))
    fact = _oom.collect(system, {'since': '30d', 'log_files': None, 'watch': ['sshd']})
    assert [(k['pid'], k['process']) for k in fact['kills']] == [(700, 'java')] and fact['watched_killed'] == []
    messages = [s for s in fact['log']['sources'] if s['name'] == '/var/log/messages'][0]
    assert messages['covered_by_journal'] == 1
    # without a journal (or one that cannot be read) messages is all there is: its lines count
    system = FakeSystem(files, journal=([], 0, 'No journal files were found.\n'), binaries=('journalctl',))
    fact = _oom.collect(system, {'since': '30d', 'log_files': None, 'watch': ['sshd']})
    assert sorted(k['pid'] for k in fact['kills']) == [700, 812]


# --------------------------------------------------------------------------------------------
# kill_series: when each kill happened, with its victim (docs/facts.md)
# --------------------------------------------------------------------------------------------
LAB_SAMPLES = os.path.join(os.path.dirname(__file__), 'samples', 'lab')


@pytest.mark.parametrize('suite', ['bullseye', 'bookworm', 'trixie'])
def test_kill_series_of_the_lab_oom_fault(suite):
    # the lab's oom fault (samples/lab/ORIGINS.md): the kernel kills the memory hog, python3
    path = os.path.join(LAB_SAMPLES, suite, 'oom-kernel.txt')
    with open(path) as handle:
        text = handle.read()
    killed = [line for line in text.splitlines() if ': Killed process ' in line]
    scan = LogScan(FakeSystem({path: text}), since=None, now=NOW)
    kills, _units = _oom.parse_entries(scan.file(path))
    window = _logs.Window(NOW - 365 * 86400, None, 'option')
    series = _oom.kill_series(kills, window, now=NOW)
    assert killed and series['count'] == len(killed) == len(kills)
    assert [t['time'] for t in series['times']] == [line[:19] + 'Z' for line in killed]
    assert all(t['note'].startswith('python3 (pid ') for t in series['times'])
    assert series['since'] == _logs.iso(NOW - 365 * 86400) and series['until'] == _logs.iso(NOW)


@pytest.mark.parametrize('kill, text', [
    ({'process': 'sshd', 'pid': 812, 'unit': 'ssh.service'}, 'sshd (pid 812, ssh.service)'),
    ({'process': 'java', 'pid': 7100, 'unit': None}, 'java (pid 7100)'),
    ({'process': None, 'pid': None, 'unit': 'app.service', 'cgroup': '/system.slice/app.service'}, 'app.service'),
    ({}, '?'),
])
def test_victim_text(kill, text):
    assert _oom.victim_text(kill) == text


def test_kill_series_is_null_without_a_readable_log():
    system = FakeSystem({}, binaries=())
    fact = _oom.collect(system, {'log_files': None})
    # no dmesg, no journal: unknown, not "no kill at any time"
    assert fact['log']['status'] == 'unknown' and fact['kill_count'] is None and fact['kill_series'] is None


# /proc/2/comm and /proc/2/cgroup: this machine (kthreadd at / everywhere: the kernel's paths are ours); a lab
# host or container (no kernel threads: PID 2 is a user process); a private cgroup namespace with the host's
# PIDs (docker --pid=host on cgroup v2: kthreadd outside the namespace's root).
@pytest.mark.parametrize('comm, cgroup, visible', [
    ('kthreadd\n', '9:name=systemd:/\n4:memory:/\n0::/\n', True),
    ('kthreadd\n', '0::/\n', True),
    ('sshd\n', '4:memory:/system.slice/ssh.service\n0::/system.slice/ssh.service\n', False),
    ('kthreadd\n', '0::/../..\n', False),
    (None, None, False),
    ('kthreadd\n', '', False),
])
def test_kernel_paths_visible(comm, cgroup, visible):
    assert _oom.kernel_paths_visible(comm, cgroup) is visible


# memory.oom_control (v1, mm/memcontrol.c mem_cgroup_oom_control_read, v4.13+: "oom_kill %lu"), read on a lab
# host (bookworm, 6.1); memory.events (v2, memory_events_show: low/high/max/oom/oom_kill, oom_group_kill from 5.17)
@pytest.mark.parametrize('text, value', [
    ('oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', 0),
    ('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n', 3),
    ('low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n', 2),
    ('oom_kill_disable 0\nunder_oom 0\n', None),     # before v4.13: no counter
    ('oom_kill -1\n', None),
    (None, None),
])
def test_parse_oom_kill_counter(text, value):
    assert _oom.parse_oom_kill_counter(text) == value
