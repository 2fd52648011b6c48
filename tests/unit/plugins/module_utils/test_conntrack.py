# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _conntrack with real kernel / conntrack-tools / ethtool outputs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _conntrack, _logs
from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult, OptionError
from ansible_collections.connreset.doctor.plugins.module_utils._logs import LogLine, split_line

NOW = 1800000000.0          # 2027-01-15: after every sample's date, so syslog years resolve to 2026
BOOT = 1763788000.0

# /proc/net/stat/nf_conntrack, kernel 3.x (no search_restart column; prometheus/procfs test fixture).
STAT_3X = '\n'.join([
    'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop'
    ' icmp_error  expect_new expect_create expect_delete',
    '0000002b  0003159f 02e6786a 00142562 0001bf93 00e1a051 00142537 000b8fe0 000b900b 00000000 00000000'
    ' 00000000 0001b46a  00000000 00000000 00000000',
]) + '\n'
# kernel 4.x, 4 CPUs (prometheus/procfs test fixture).
STAT_4X = '\n'.join([
    'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop'
    ' icmp_error  expect_new expect_create expect_delete search_restart',
    '00000021  00000000 00000000 00000000 00000003 0000588a 00000000 00000000 00000000 00000000 00000000'
    ' 00000000 00000000  00000000 00000000 00000000 00000000',
    '00000021  00000000 00000000 00000000 00000002 000056a4 00000000 00000000 00000000 00000000 00000000'
    ' 00000000 00000000  00000000 00000000 00000000 00000002',
    '00000021  00000000 00000000 00000000 00000001 000058d4 00000000 00000000 00000000 00000000 00000000'
    ' 00000000 00000000  00000000 00000000 00000000 00000001',
    '00000021  00000000 00000000 00000000 0000002f 00005688 00000000 00000000 00000000 00000000 00000000'
    ' 00000000 00000000  00000000 00000000 00000000 00000004',
]) + '\n'
# kernel 6.18 (this lab machine, 2 CPUs) with made-up non-zero drops in CPU 1's row to check the sums.
STAT_6X = '\n'.join([
    'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop'
    ' icmp_error  expect_new expect_create expect_delete search_restart',
    '00000005  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000'
    ' 00000000 00000000  00000000 00000000 00000000 00000000',
    '00000005  00000001 00000000 00000000 0000000a 00000000 00000000 00000000 00000000 00000002 00000010'
    ' 00000003 00000000  00000000 00000000 00000000 00000006',
]) + '\n'

# conntrack -S, conntrack-tools 1.4.7 on kernel 6.18 (this machine), then with counts.
CONNTRACK_S_6X = '\n'.join([
    'cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0'
    ' clash_resolve=0 chaintoolong=0 ',
    'cpu=1   \tfound=0 invalid=5 insert=0 insert_failed=1 drop=2 early_drop=0 error=3 search_restart=4'
    ' clash_resolve=0 chaintoolong=0 ',
]) + '\n'
CONNTRACK_S_OLD = '\n'.join([
    'cpu=0   \tfound=0 invalid=5 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 ',
]) + '\n'

# ethtool -S on an ENA interface (AWS EC2 user guide, "Troubleshoot the ENA driver"), trimmed.
ETHTOOL_ENA = """\
NIC statistics:
\ttx_timeout: 0
\tsuspend: 0
\tresume: 0
\twd_expired: 0
\tinterface_up: 1
\tinterface_down: 0
\tadmin_q_pause: 0
\tbw_in_allowance_exceeded: 0
\tbw_out_allowance_exceeded: 0
\tpps_allowance_exceeded: 0
\tconntrack_allowance_available: 450878
\tconntrack_allowance_exceeded: 0
\tlinklocal_allowance_exceeded: 0
\tqueue_0_tx_cnt: 4329
\tqueue_0_tx_bytes: 1075749
\tqueue_0_tx_queue_stop: 0
"""
ETHTOOL_I_ENA = """\
driver: ena
version: 2.12.3g
firmware-version:
expansion-rom-version:
bus-info: 0000:00:05.0
supports-statistics: yes
"""

# Kernel log lines: CentOS 8 (kernel 4.18) and CentOS 6 (2.6.32) /var/log/messages, dmesg raw.
LOG_CENTOS8 = 'Jul  8 10:03:53 centos8 kernel: nf_conntrack: nf_conntrack: table full, dropping packet'
LOG_CENTOS6 = 'Jul  8 09:51:16 centos6 kernel: nf_conntrack: table full, dropping packet.'
LOG_OLD = 'Mar  3 01:02:03 box kernel: ip_conntrack: table full, dropping packet.'
LOG_OTHER = 'Jul  8 10:03:54 centos8 kernel: e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex'


@pytest.mark.parametrize('text, expected', [
    (STAT_3X, {'entries': 0x2b, 'invalid': 0x1bf93, 'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'icmp_error': 0x1b46a,
               'searched': 0x3159f}),
    (STAT_4X, {'entries': 33, 'invalid': 53, 'ignore': 0x588a + 0x56a4 + 0x58d4 + 0x5688, 'search_restart': 7,
               'drop': 0}),
    (STAT_6X, {'entries': 5, 'clashres': 1, 'invalid': 10, 'insert_failed': 2, 'drop': 16, 'early_drop': 3,
               'search_restart': 6, 'chainlength': 0}),
])
def test_parse_stat_file_by_header(text, expected):
    totals = _conntrack.parse_stat_file(text)
    for key, value in expected.items():
        assert totals[key] == value, key


@pytest.mark.parametrize('text', ['', 'entries\n', 'garbage line\n00000001 00000002\n', STAT_4X.splitlines()[0]])
def test_parse_stat_file_rejects(text):
    assert _conntrack.parse_stat_file(text) is None


def test_parse_stat_file_skips_malformed_row():
    text = STAT_6X + '00000005 zz\n'
    assert _conntrack.parse_stat_file(text)['drop'] == 16


def test_contract_stats_3x_has_null_search_restart():
    stats = _conntrack.contract_stats(_conntrack.parse_stat_file(STAT_3X))
    assert stats['search_restart'] is None and stats['invalid'] == 0x1bf93 and 'entries' not in stats


@pytest.mark.parametrize('text, expected', [
    (CONNTRACK_S_6X, {'invalid': 5, 'insert_failed': 1, 'drop': 2, 'icmp_error': 3, 'search_restart': 4, 'clashres': 0,
                      'chainlength': 0, 'found': 0}),
    (CONNTRACK_S_OLD, {'invalid': 5, 'search_restart': 0}),
])
def test_parse_conntrack_s(text, expected):
    totals = _conntrack.parse_conntrack_s(text)
    for key, value in expected.items():
        assert totals[key] == value, key


@pytest.mark.parametrize('text', ['', 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n'])
def test_parse_conntrack_s_empty(text):
    assert _conntrack.parse_conntrack_s(text) is None


def test_parse_ethtool_ena():
    assert _conntrack.parse_ethtool_stats(ETHTOOL_ENA) == {
        'bw_in_allowance_exceeded': 0, 'bw_out_allowance_exceeded': 0, 'pps_allowance_exceeded': 0,
        'conntrack_allowance_available': 450878, 'conntrack_allowance_exceeded': 0, 'linklocal_allowance_exceeded': 0}
    assert _conntrack.parse_ethtool_driver(ETHTOOL_I_ENA) == 'ena'
    assert _conntrack.parse_ethtool_stats('no stats available\n') == {}


def _entry(line):
    entry = split_line(line, NOW, BOOT) or LogLine(None, None, None, None, line)
    entry.source, entry.lineno, entry.raw = 'test', 1, line
    return entry


@pytest.mark.parametrize('line, hit', [
    (LOG_CENTOS8, True), (LOG_CENTOS6, True), (LOG_OLD, True), (LOG_OTHER, False),
    ('Jul  8 10:03:53 h kernel: [ 5.1] nf_conntrack: default automatic helper assignment has been turned off', False),
    # net/netfilter/nf_conntrack_core.c __nf_conntrack_alloc(): net_warn_ratelimited("nf_conntrack: table full,
    # dropping packet\n") at v3.10.105 and v4.4.121 (no pr_fmt), dmesg raw and -T
    ('[183321.402113] nf_conntrack: table full, dropping packet', True),
    ('[Wed Jul  8 10:03:53 2026] nf_conntrack: table full, dropping packet', True),
    # ... with #define pr_fmt(fmt) KBUILD_MODNAME ": " fmt from v4.9.229 (read to v6.12.19): the prefix twice
    ('[183321.402113] nf_conntrack: nf_conntrack: table full, dropping packet', True),
    ('2026-11-20T10:00:00+0000 host kernel: nf_conntrack: nf_conntrack: table full, dropping packet', True),
    # lib/ratelimit.c "%s: %d callbacks suppressed": every net_ratelimit() user's, not conntrack's
    ('[183321.402113] net_ratelimit: 112 callbacks suppressed', False),
])
def test_table_full_pattern(line, hit):
    assert _conntrack.is_table_full(_entry(line)) is hit


# what an operator, a user or a stranger can get into a log line (issue 16 point 1)
PLANTED = [
    "Jul  8 10:03:53 h root: raised nf_conntrack_max after 'nf_conntrack: table full, dropping packet'",
    'Jul  8 10:03:53 h root: nf_conntrack: table full, dropping packet',
    'Jul  8 10:03:53 h ops[4242]: nf_conntrack: nf_conntrack: table full, dropping packet',
    'Jul  8 10:03:53 h sshd[812]: Invalid user nf_conntrack: table full, dropping packet from 10.9.9.9 port 4242',
    'Jul  8 10:03:53 h sshd[812]: nf_conntrack: table full, dropping packet',
    'Jul  8 10:03:53 h kernel: audit: op=login acct="nf_conntrack: table full, dropping packet"',
    'Jul  8 10:03:53 h kernel: nf_conntrack: table full, dropping packet because the operator said so',
    'nf_conntrack: table full, dropping packet',        # no prefix: not provably the kernel's
]


@pytest.mark.parametrize('line', PLANTED)
def test_planted_lines_are_not_events(line):
    assert _conntrack.is_table_full(_entry(line)) is False


class FakeStat:
    def __init__(self, mode):
        self.st_mode = mode


class FakeSystem:
    def __init__(self, files=None, commands=None, binaries=(), links=None, modes=None, euid=0):
        self.files = files or {}
        self.commands = commands or {}
        self.binaries = binaries
        self.links = links or {}
        self.modes = modes or {}
        self.euid = euid

    def which(self, name):
        return '/usr/sbin/' + name if name in self.binaries else None

    def exists(self, path):
        return path in self.files

    def read(self, path):
        if path not in self.files:
            raise OSError(errno.ENOENT, 'No such file or directory', path)
        if self.files[path] is PermissionError:
            raise OSError(errno.EACCES, 'Permission denied', path)
        return self.files[path]

    def read_or_none(self, path):
        try:
            return self.read(path)
        except OSError:
            return None

    def lines(self, path):
        return iter(self.read(path).splitlines())

    def stat(self, path):
        if path not in self.modes:
            raise OSError(errno.ENOENT, 'No such file or directory', path)
        return FakeStat(0o100000 | self.modes[path])

    def listdir(self, path):
        prefix = path.rstrip('/') + '/'
        return sorted(set(p[len(prefix):].split('/')[0] for p in list(self.files) + list(self.links) if p.startswith(prefix)))

    def readlink(self, path):
        if path not in self.links:
            raise OSError(errno.ENOENT, 'No such file or directory', path)
        return self.links[path]

    def run(self, argv, timeout=15, data=None, cache=False):
        rc, out, err = self.commands.get(tuple(argv), (1, '', '%s: not in fake table' % argv[0]))
        return CommandResult(list(argv), rc, out, err)


NF = '/proc/sys/net/netfilter/'


def loaded_files(count='1843\n', maximum='262144\n', stat=STAT_6X):
    files = {NF + 'nf_conntrack_count': count, NF + 'nf_conntrack_max': maximum, NF + 'nf_conntrack_buckets': '65536\n',
             '/proc/stat': 'cpu  1 2 3\nbtime 1700000000\n', '/sys/class/net/lo/mtu': '65536\n'}
    for name, value in (('established', 432000), ('close_wait', 60), ('time_wait', 120), ('syn_sent', 120),
                        ('syn_recv', 60), ('fin_wait', 120), ('last_ack', 30), ('close', 10),
                        ('unacknowledged', 300), ('max_retrans', 300)):
        files[NF + 'nf_conntrack_tcp_timeout_' + name] = '%d\n' % value
    if stat is not None:
        files['/proc/net/stat/nf_conntrack'] = stat
    return files


def test_collect_loaded_initial_netns(tmp_path):
    log = tmp_path / 'kern.log'
    log.write_text('\n'.join([LOG_CENTOS8, LOG_OTHER, LOG_CENTOS8]) + '\n')
    files = loaded_files()
    files[str(log)] = log.read_text()
    system = FakeSystem(files, modes={NF + 'nf_conntrack_max': 0o644})
    fact = _conntrack.collect(system, {'since': '@0', 'log_files': [str(log)]})
    assert fact['status'] == 'ok', fact['reason']
    assert fact['loaded'] is True and fact['count'] == 1843 and fact['max'] == 262144 and fact['buckets'] == 65536
    assert fact['fill'] == round(1843 / 262144.0, 4)
    assert fact['stats']['drop'] == 16 and fact['stats_source'] == '/proc/net/stat/nf_conntrack'
    assert fact['timeouts']['established'] == 432000 and fact['timeouts']['max_retrans'] == 300
    assert fact['shared_netns'] is False and '0644' in fact['netns_method']
    events = fact['table_full_events']
    assert events['count'] == 2 and events['samples'] == [LOG_CENTOS8, LOG_CENTOS8] and events['last'].endswith('10:03:53Z')
    assert fact['ena_allowance'] == {}


def test_collect_child_netns_and_conntrack_s_fallback(tmp_path):
    log = tmp_path / 'messages'
    log.write_text(LOG_OTHER + '\n')
    files = loaded_files(stat=None)
    files[str(log)] = log.read_text()
    system = FakeSystem(files, commands={('conntrack', '-S'): (0, CONNTRACK_S_6X, '')}, binaries=('conntrack',),
                        modes={NF + 'nf_conntrack_max': 0o444})
    fact = _conntrack.collect(system, {'since': '7d', 'log_files': [str(log)]})
    assert fact['shared_netns'] is True and fact['stats_source'] == 'conntrack -S' and fact['stats']['drop'] == 2
    assert fact['table_full_events']['count'] == 0 and fact['status'] == 'ok'


def test_collect_stats_unreadable_is_unknown_not_zero(tmp_path):
    log = tmp_path / 'messages'
    log.write_text('')
    files = loaded_files(stat='garbage\n')
    files[str(log)] = ''
    denied = 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n'
    system = FakeSystem(files, commands={('conntrack', '-S'): (1, '', denied)},
                        binaries=('conntrack',), modes={NF + 'nf_conntrack_max': 0o644}, euid=1000)
    fact = _conntrack.collect(system, {'since': '7d', 'log_files': [str(log)]})
    assert fact['stats'] is None and fact['status'] == 'partial'
    assert 'unknown format' in fact['reason'] and 'become' in fact['reason']


def test_collect_not_loaded(tmp_path):
    log = tmp_path / 'kern.log'
    log.write_text(LOG_CENTOS6 + '\n')
    system = FakeSystem({str(log): log.read_text(), '/proc/modules': 'ext4 737280 1 - Live 0x0000000000000000\n'})
    fact = _conntrack.collect(system, {'since': '@0', 'log_files': [str(log)]})
    assert fact['loaded'] is False and fact['status'] == 'ok'
    assert fact['count'] is None and fact['max'] is None and fact['stats'] is None and fact['shared_netns'] is None
    assert fact['table_full_events']['count'] == 1


def test_collect_loaded_by_proc_modules():
    system = FakeSystem({'/proc/modules': 'nf_conntrack 172032 4 nf_nat,xt_conntrack, Live 0x0000000000000000\n'})
    assert _conntrack.is_loaded(system) == (True, '/proc/modules')


def test_collect_count_unreadable_is_null(tmp_path):
    log = tmp_path / 'kern.log'
    log.write_text('')
    files = loaded_files()
    files[NF + 'nf_conntrack_count'] = PermissionError
    files[str(log)] = ''
    fact = _conntrack.collect(FakeSystem(files, modes={NF + 'nf_conntrack_max': 0o644}),
                              {'since': '7d', 'log_files': [str(log)]})
    assert fact['count'] is None and fact['fill'] is None and fact['status'] == 'partial'
    assert 'no permission' in fact['reason']


def test_collect_logs_unreadable_count_is_null():
    files = loaded_files()
    fact = _conntrack.collect(FakeSystem(files, modes={NF + 'nf_conntrack_max': 0o644}),
                              {'since': '7d', 'log_files': ['/var/log/does-not-exist.log']})
    assert fact['table_full_events']['count'] is None and fact['table_full_events']['status'] == 'unknown'
    assert fact['status'] == 'partial' and 'does not exist' in fact['reason']


@pytest.mark.parametrize('stats_out, rc, expected', [
    (ETHTOOL_ENA, 0, {'eth0': {'bw_in_allowance_exceeded': 0, 'bw_out_allowance_exceeded': 0, 'pps_allowance_exceeded': 0,
                               'conntrack_allowance_available': 450878, 'conntrack_allowance_exceeded': 0,
                               'linklocal_allowance_exceeded': 0}}),
    ('NIC statistics:\n\ttx_timeout: 0\n', 0, {'eth0': None}),
])
def test_ena_allowance(stats_out, rc, expected):
    system = FakeSystem({'/sys/class/net/lo/mtu': '65536\n'},
                        commands={('ethtool', '-S', 'eth0'): (rc, stats_out, '')}, binaries=('ethtool',),
                        links={'/sys/class/net/eth0/device/driver': '../../../../bus/pci/drivers/ena'})
    allowance, status, reason = _conntrack.ena_allowance(system)
    assert allowance == expected
    assert (status, reason is None) == (('ok', True) if expected['eth0'] else ('unknown', False))


def test_ena_without_ethtool():
    system = FakeSystem(links={'/sys/class/net/ens5/device/driver': '../../../../bus/pci/drivers/ena'})
    allowance, status, reason = _conntrack.ena_allowance(system)
    assert allowance == {'ens5': None} and status == 'unknown' and 'install ethtool' in reason


def test_bad_since():
    with pytest.raises(OptionError, match='since'):
        _conntrack.collect(FakeSystem(), {'since': 'last tuesday'})


@pytest.mark.skipif(not os.path.exists('/proc/net/stat/nf_conntrack'), reason='this kernel has no conntrack stats file')
def test_this_kernels_stat_file_parses():
    """The running kernel's own file, whatever its version, parses by header."""
    with open('/proc/net/stat/nf_conntrack') as handle:
        totals = _conntrack.parse_stat_file(handle.read())
    assert totals is not None and 'entries' in totals and 'drop' in totals


def test_collect_counts_only_the_kernels_lines(tmp_path):
    log = tmp_path / 'syslog'
    log.write_text('\n'.join(PLANTED + [LOG_CENTOS8]) + '\n')
    files = loaded_files()
    files[str(log)] = log.read_text()
    fact = _conntrack.collect(FakeSystem(files, modes={NF + 'nf_conntrack_max': 0o644}),
                              {'since': '2026-01-01', 'log_files': [str(log)]})
    assert fact['table_full_events']['count'] == 1 and fact['table_full_events']['samples'] == [LOG_CENTOS8]


def test_collect_offline_window_and_outside_lines(tmp_path):
    """No since with log_files: the week before the newest line; older table-full lines are counted
    as outside the window, never dropped silently; an impossible date is skipped and counted."""
    log = tmp_path / 'kern.log'
    log.write_text('\n'.join([
        '2026-06-01T10:00:00+0000 h kernel: nf_conntrack: nf_conntrack: table full, dropping packet',
        '2026-13-01T10:00:00+0000 h kernel: nf_conntrack: nf_conntrack: table full, dropping packet',
        '2026-07-01T10:00:00+0000 h kernel: nf_conntrack: nf_conntrack: table full, dropping packet',
        '2026-07-01T10:00:05+0000 h kernel: nf_conntrack: nf_conntrack: table full, dropping packet']) + '\n')
    files = loaded_files()
    files[str(log)] = log.read_text()
    fact = _conntrack.collect(FakeSystem(files, modes={NF + 'nf_conntrack_max': 0o644}),
                              {'since': None, 'log_files': [str(log)]})
    events = fact['table_full_events']
    assert events['count'] == 2 and events['outside_window'] == {'table_full': 1}
    assert events['window'] == {'since': '2026-06-24T10:00:05Z', 'until': '2026-07-01T10:00:05Z', 'basis': 'newest_line'}
    assert events['since'] == '2026-06-24T10:00:05Z'
    assert events['skipped_lines']['count'] == 1 and '2026-13-01' in events['skipped_lines']['samples'][0]


def test_collect_journal_asks_only_for_kernel_messages():
    import json
    entries = [json.dumps({'MESSAGE': 'nf_conntrack: nf_conntrack: table full, dropping packet', '_TRANSPORT': 'kernel',
                           'SYSLOG_IDENTIFIER': 'kernel', '__REALTIME_TIMESTAMP': '1796300891294089'},
                          separators=(',', ':'))]

    class JournalSystem(FakeSystem):
        def run_stream(self, argv, timeout=60):
            self.streamed = argv
            return {'rc': 0, 'err': '', 'error': None}, iter(entries)

    system = JournalSystem(dict(loaded_files(), **{'/var/log/journal/x/system.journal': ''}), binaries=('journalctl',),
                           modes={NF + 'nf_conntrack_max': 0o644})
    fact = _conntrack.collect(system, {'since': '2026-11-01', 'log_files': None})
    assert system.streamed[-1] == '_TRANSPORT=kernel'
    assert fact['table_full_events']['count'] == 1 and fact['table_full_events']['source'] == 'journal'


def test_samples_are_cut(tmp_path):
    line = LOG_CENTOS8 + ' ' * 3000
    log = tmp_path / 'kern.log'
    log.write_text(line + '\n')
    files = loaded_files()
    files[str(log)] = log.read_text()
    fact = _conntrack.collect(FakeSystem(files, modes={NF + 'nf_conntrack_max': 0o644}),
                              {'since': '2026-01-01', 'log_files': [str(log)]})
    assert fact['table_full_events']['count'] == 1 and len(fact['table_full_events']['samples'][0]) == 400


def test_log_files_must_be_regular_files():
    system = FakeSystem(loaded_files(), modes={NF + 'nf_conntrack_max': 0o644})
    system.stat = lambda path: FakeStat(0o020666) if path == '/dev/zero' else FakeStat(0o100644)
    with pytest.raises(OptionError, match='/dev/zero is a device'):
        _conntrack.collect(system, {'since': None, 'log_files': ['/dev/zero']})


@pytest.mark.parametrize('text, expected', [
    # fuzz findings 1 and 2: linear (no backtracking over a long word), no int() of 5,000 digits
    ('0644' * 2000 + '0', None),
    ('cpu=0 drop=' + '9' * 5000, {}),
    ('cpu=0 drop=3 x=y found==1 insert_failed=2\ncpu=1 drop=1\n', {'drop': 4, 'insert_failed': 2}),
])
def test_parse_conntrack_s_bounded(text, expected):
    import time
    started = time.perf_counter()
    assert _conntrack.parse_conntrack_s(text) == expected
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize('params, fragment', [
    ({'since': 'yesterday'}, "cannot read since='yesterday'"),
    ({'since': '2024-02-30'}, 'not a real date'),
    ({'log_files': ['']}, 'an entry is empty'),
])
def test_validate_rejects(params, fragment):
    assert fragment in _conntrack.validate(params)
    with pytest.raises(OptionError, match='option'):
        _conntrack.collect(FakeSystem(), params)


def test_validate_accepts_defaults():
    assert _conntrack.validate({'since': None, 'log_files': None}) is None


@pytest.mark.parametrize('lines, times', [
    ([LOG_CENTOS6, LOG_OTHER, LOG_CENTOS8], [LOG_CENTOS6, LOG_CENTOS8]),
    ([LOG_OTHER], []),
])
def test_table_full_series(tmp_path, lines, times):
    """When the table was full: each table-full line's time (and the line), over the window."""
    log = tmp_path / 'messages'
    log.write_text('\n'.join(lines) + '\n')
    system = FakeSystem({str(log): log.read_text(), '/proc/modules': 'ext4 737280 1 - Live 0x0000000000000000\n'})
    fact = _conntrack.collect(system, {'since': '@0', 'log_files': [str(log)]})
    series = fact['table_full_events']['series']
    assert [t['time'] for t in series['times']] == [_logs.iso(split_line(line).time) for line in times]
    assert [t['note'] for t in series['times']] == times
    assert series['count'] == fact['table_full_events']['count'] == len(times)
    assert series['since'] == '1970-01-01T00:00:00Z' and series['until'] is not None


def test_table_full_series_unknown_when_no_log_was_read():
    fact = _conntrack.collect(FakeSystem(loaded_files(), modes={NF + 'nf_conntrack_max': 0o644}),
                              {'since': '7d', 'log_files': ['/var/log/does-not-exist.log']})
    assert fact['table_full_events']['series'] is None
