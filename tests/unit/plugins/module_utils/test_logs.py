# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Log-line prefixes, since, journal status and LogScan, on real samples."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import gzip

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _logs
from ansible_collections.connreset.doctor.plugins.module_utils._common import OptionError, System

NOW = calendar.timegm((2024, 5, 10, 0, 0, 0, 0, 0, 0))
BOOT = calendar.timegm((2024, 5, 1, 0, 0, 0, 0, 0, 0))


@pytest.mark.parametrize('line, expected', [
    # journalctl -o short-iso, systemd 252 (Debian 12)
    ('2024-05-01T12:34:56+0000 web1 sshd[812]: drop connection #3 from [10.0.0.5]:51234 on [10.0.0.2]:22 past MaxStartups',
     (calendar.timegm((2024, 5, 1, 12, 34, 56, 0, 0, 0)), 'web1', 'sshd', 812,
      'drop connection #3 from [10.0.0.5]:51234 on [10.0.0.2]:22 past MaxStartups')),
    # short-iso with a zone offset: the time is normalised to UTC
    ('2024-05-01T14:34:56+0200 web1 systemd[1]: ssh.service: Failed with result \'signal\'.',
     (calendar.timegm((2024, 5, 1, 12, 34, 56, 0, 0, 0)), 'web1', 'systemd', 1, "ssh.service: Failed with result 'signal'.")),
    # rsyslog RFC 3339 (Debian 12 /var/log/auth.log default)
    ('2024-05-01T12:34:56.250000+00:00 web1 sshd[812]: refused connect from 10.9.8.7 (10.9.8.7)',
     (calendar.timegm((2024, 5, 1, 12, 34, 56, 0, 0, 0)) + 0.25, 'web1', 'sshd', 812, 'refused connect from 10.9.8.7 (10.9.8.7)')),
    # classic syslog (RHEL 7 /var/log/secure), no year: latest year not in the future
    ('May  1 12:34:56 db2 sshd[1001]: error: beginning MaxStartups throttling',
     (calendar.timegm((2024, 5, 1, 12, 34, 56, 0, 0, 0)), 'db2', 'sshd', 1001, 'error: beginning MaxStartups throttling')),
    # kern.log line with the kernel's own uptime stamp: the stamp is dropped from the message
    ('Dec 31 23:59:59 db2 kernel: [ 1234.567890] Out of memory: Killed process 812 (sshd) total-vm:14000kB',
     (calendar.timegm((2023, 12, 31, 23, 59, 59, 0, 0, 0)), 'db2', 'kernel', None,
      'Out of memory: Killed process 812 (sshd) total-vm:14000kB')),
    # dmesg raw (util-linux 2.38): seconds since boot, resolved with btime
    ('[  360.500000] nf_conntrack: nf_conntrack: table full, dropping packet',
     (BOOT + 360.5, None, 'kernel', None, 'nf_conntrack: nf_conntrack: table full, dropping packet')),
    # /dev/kmsg style with a priority prefix
    ('<6>[   10.000000] oom_reaper: reaped process 812 (sshd), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB',
     (BOOT + 10.0, None, 'kernel', None, 'oom_reaper: reaped process 812 (sshd), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB')),
    # dmesg -T
    ('[Wed May  1 12:34:56 2024] Memory cgroup out of memory: Killed process 99 (python3) total-vm:1kB',
     (calendar.timegm((2024, 5, 1, 12, 34, 56, 0, 0, 0)), None, 'kernel', None,
      'Memory cgroup out of memory: Killed process 99 (python3) total-vm:1kB')),
    # ident without pid
    ('2024-05-01T12:34:56+0000 web1 kernel: TCP: request_sock_TCP: Possible SYN flooding on port 22.',
     (calendar.timegm((2024, 5, 1, 12, 34, 56, 0, 0, 0)), 'web1', 'kernel', None, 'TCP: request_sock_TCP: Possible SYN flooding on port 22.')),
])
def test_split_line(line, expected):
    entry = _logs.split_line(line, now=NOW, boot_time=BOOT)
    assert (entry.time, entry.host, entry.ident, entry.pid, entry.message) == expected


@pytest.mark.parametrize('line', ['', 'garbage without a prefix', '-- No entries --', 'Hint: You are currently not seeing messages'])
def test_split_line_unknown_prefix(line):
    assert _logs.split_line(line, now=NOW) is None


def test_dmesg_without_boot_time_has_no_time():
    assert _logs.split_line('[ 5.0] x', now=NOW).time is None


@pytest.mark.parametrize('value, expected', [
    ('7d', NOW - 7 * 86400), ('24h', NOW - 86400), ('30m', NOW - 1800), ('90s', NOW - 90), ('2w', NOW - 14 * 86400),
    ('1.5h', NOW - 5400), ('2024-05-01', calendar.timegm((2024, 5, 1, 0, 0, 0, 0, 0, 0))),
    ('2024-05-01T12:00:00Z', calendar.timegm((2024, 5, 1, 12, 0, 0, 0, 0, 0))),
    ('2024-05-01T14:00:00+02:00', calendar.timegm((2024, 5, 1, 12, 0, 0, 0, 0, 0))),
    ('@1714557600', 1714557600.0),
])
def test_parse_since(value, expected):
    assert _logs.parse_since(value, now=NOW) == expected


@pytest.mark.parametrize('value, hint', [
    ('2024-02-30', 'is not a real date'), ('2024-13-45', 'check the month'), ('2023-02-29', 'not a real date'),
    ('2024-05-01T25:00', 'not a real date'), ('2024-05-01T12:00:00+25:00', 'not a time zone offset'),
    ('99999999999d', 'before 1970'), ('2024-05-11', 'in the future'), ('@9999999999', 'in the future'),
])
def test_parse_since_rejects_with_the_reason(value, hint):
    with pytest.raises(OptionError, match=hint):
        _logs.parse_since(value, now=NOW)


def test_parse_since_leap_day_and_everything():
    assert _logs.parse_since('2024-02-29', now=NOW) == calendar.timegm((2024, 2, 29, 0, 0, 0, 0, 0, 0))
    assert _logs.parse_since('@0', now=NOW) == 0.0


@pytest.mark.parametrize('line', [
    # prefixes of the formats split_line reads, with a date or clock that cannot exist
    '2024-00-10T12:00:00+0000 h sshd[1]: drop connection #0 from [1.2.3.4]:5 on [5.6.7.8]:22 past MaxStartups',
    '2024-13-10T12:00:00+0000 h sshd[1]: drop connection #0 from [1.2.3.4]:5 on [5.6.7.8]:22 past MaxStartups',
    '2024-02-30T12:00:00.5+00:00 h kernel: Out of memory: Killed process 1 (x)',
    '2024-05-01T24:00:00+0000 h sshd[1]: x',
    '2024-05-01T12:00:00+9900 h sshd[1]: x',
    'Feb 30 12:00:00 h sshd[1]: x',
    'May 32 12:00:00 h sshd[1]: x',
    'May  1 12:61:00 h sshd[1]: x',
    '[Wed Feb 31 12:34:56 2024] x',
])
def test_split_line_impossible_times_are_no_line(line):
    assert _logs.split_line(line, now=NOW) is None


@pytest.mark.parametrize('line', [
    'Jul  4 05:06:07 h sshd[99999999999999999999]: pid too large to be a pid',
    '[99999999999999999999999.5] dmesg stamp too large',
    '2024-05-01T12:00:00+0000 h sshd[' + '9' * 5000 + ']: more digits than int() takes',
])
def test_split_line_huge_numbers_do_not_raise(line):
    entry = _logs.split_line(line, now=NOW, boot_time=BOOT)
    assert entry is None or entry.pid is None


def test_iso_of_an_impossible_epoch_is_none():
    assert _logs.iso(1e300) is None and _logs.iso(float('inf')) is None
    assert _logs.iso(253402300800) is None                       # year 10000
    assert _logs.iso(253402300799) == '9999-12-31T23:59:59Z'


@pytest.mark.parametrize('value', ['yesterday', '7 parsecs', '', '-1d', '2024-13', '@abc'])
def test_parse_since_rejects(value):
    with pytest.raises(OptionError, match="use a duration such as '7d'"):
        _logs.parse_since(value, now=NOW)


@pytest.mark.parametrize('rc, err, status, reason_part', [
    (0, '', 'ok', None),
    # journalctl as a user outside systemd-journal/adm (systemd 252)
    (0, 'Hint: You are currently not seeing messages from other users and the system.\n'
        '      Users in groups \'adm\', \'systemd-journal\' can see all messages.\n', 'partial', 'systemd-journal'),
    (1, 'No journal files were opened due to insufficient permissions.\n', 'unknown', 'become'),
    (0, 'No journal files were found.\n', 'unknown', 'no systemd journal'),
    (1, 'Failed to add match \'_COMM=sshd\': Invalid argument\n', 'unknown', 'exited with 1'),
])
def test_journal_reason(rc, err, status, reason_part):
    got_status, reason = _logs.journal_reason(rc, err, 1000)
    assert got_status == status
    if reason_part is None:
        assert reason is None
    else:
        assert reason_part in reason


def test_logscan_files_since_and_gzip(tmp_path):
    old = 'Apr  1 00:00:00 h sshd[1]: old line'
    new = 'May  9 00:00:00 h sshd[1]: new line'
    plain = tmp_path / 'auth.log'
    plain.write_text(old + '\n' + new + '\nan unprefixed continuation\n')
    packed = tmp_path / 'auth.log.2.gz'
    with gzip.open(str(packed), 'wt') as handle:
        handle.write(new + '\n')
    scan = _logs.LogScan(System(environ={}), since=NOW - 7 * 86400, now=NOW)
    got = [(e.source, e.lineno, e.message) for e in scan.file(str(plain))]
    got += [(e.source, e.lineno, e.message) for e in scan.file(str(packed))]
    assert got == [(str(plain), 2, 'new line'), (str(plain), 3, 'an unprefixed continuation'), (str(packed), 1, 'new line')]
    assert scan.status() == ('ok', None)
    assert [s['lines'] for s in scan.sources] == [3, 1]


def test_logscan_skips_and_counts_unreadable_lines(tmp_path):
    log = tmp_path / 'auth.log'
    good = 'May  9 00:00:01 h sshd[1]: drop connection #0 from [1.2.3.4]:5 on [5.6.7.8]:22 past MaxStartups\n'
    with open(str(log), 'wb') as handle:
        handle.write(good.encode())
        handle.write(b'2024-13-09T00:00:00+0000 h sshd[1]: drop connection #1 MaxStartups\n')   # month 13
        handle.write(b'May  9 00:00:02 h sshd[1]: MaxStartups \0\0\0\n')                       # NUL bytes
        handle.write(b'May  9 00:00:03 h sshd[1]: MaxStartups ' + b'x' * 50000 + b'\n')        # over-long
        handle.write(b'\0' * (3 * 1024 * 1024) + b'\n')                                        # a NUL run
        handle.write(good.encode())
    scan = _logs.LogScan(System(environ={}), now=NOW, keywords=('MaxStartups',))
    got = [e.lineno for e in scan.file(str(log))]
    assert got == [1, 6]
    skipped = scan.skipped()
    assert skipped['count'] == 3                 # the NUL run holds no keyword: not counted
    assert [s.split(': ')[0].rsplit(':', 1)[1] for s in skipped['samples']] == ['2', '3', '4']
    assert all(len(s) < 300 for s in skipped['samples']) and '\\0' in skipped['samples'][1]
    assert scan.sources[0]['skipped_lines'] == 3 and scan.sources[0]['lines'] == 6
    assert scan.status() == ('ok', None)


def test_system_lines_are_bounded(tmp_path):
    path = tmp_path / 'big'
    with open(str(path), 'wb') as handle:
        handle.write(b'a' * 20000 + b'\nshort\n' + b'b' * 9000)
    lines = list(System(environ={}).lines(str(path)))
    assert [type(line).__name__ for line in lines] == ['LongLine', 'str', 'LongLine']
    assert len(lines[0]) == _logs.MAX_LINE_BYTES and lines[1] == 'short'


def test_logscan_outside_window_counted_or_kept(tmp_path):
    log = tmp_path / 'auth.log'
    log.write_text('Apr  1 00:00:00 h sshd[1]: before\nMay  5 00:00:00 h sshd[1]: inside\n'
                   'May  9 12:00:00 h sshd[1]: after\nno time at all\n')
    scan = _logs.LogScan(System(environ={}), since=NOW - 7 * 86400, until=NOW - 86400, now=NOW)
    assert [e.message for e in scan.file(str(log))] == ['inside', 'no time at all']
    assert scan.sources[0]['outside_lines'] == 2
    scan = _logs.LogScan(System(environ={}), since=NOW - 7 * 86400, until=NOW - 86400, now=NOW, keep_outside=True)
    assert [(e.message, e.outside) for e in scan.file(str(log))] == [
        ('before', True), ('inside', False), ('after', True), ('no time at all', False)]


def test_logscan_file_without_times_is_partial(tmp_path):
    log = tmp_path / 'sshd-E.log'
    # sshd -E writes no time: OpenSSH log.c do_log() prints "%s\r\n" of the message alone
    log.write_text('Server listening on 0.0.0.0 port 22.\r\ndrop connection #0 from [1.2.3.4]:5 on [5.6.7.8]:22 '
                   'past MaxStartups\r\n')
    scan = _logs.LogScan(System(environ={}), since=NOW - 86400, now=NOW, keywords=('MaxStartups',))
    assert len(list(scan.file(str(log)))) == 1
    status, reason = scan.status()
    assert status == 'partial' and 'no line carries a time' in reason


class _SlowSystem(System):
    """A System whose soft deadline has passed: a scan must stop and say so, not raise."""

    def soft_deadline_passed(self):
        return True


def test_logscan_stops_at_the_soft_deadline(tmp_path):
    log = tmp_path / 'auth.log'
    log.write_text(''.join('May  9 00:00:%02d h sshd[1]: line %d\n' % (i % 60, i) for i in range(1000)))
    scan = _logs.LogScan(_SlowSystem(environ={}), now=NOW)
    got = list(scan.file(str(log)))
    assert len(got) == 255
    status, reason = scan.status()
    assert status == 'partial' and 'time budget' in reason and scan.sources[0]['lines'] == 255


def test_run_collector_sets_the_soft_deadline():
    seen = {}

    def collect(system, params):
        seen['soft'] = system.soft_deadline - system.deadline
        return {'status': 'ok', 'reason': None}

    from ansible_collections.connreset.doctor.plugins.module_utils._common import run_collector
    system = System(environ={})
    run_collector('x', collect, system, {}, budget=8)
    assert seen['soft'] == pytest.approx(-2.0, abs=0.01)
    assert system.soft_deadline is None and system.deadline is None


def _log(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_resolve_window_offline_ends_at_the_newest_line(tmp_path):
    two_weeks_ago = NOW - 14 * 86400

    def stamp(epoch):
        return _logs.iso(epoch).replace('Z', '+0000')
    old = _log(tmp_path, 'auth.log.1', '%s h sshd[1]: a\n' % stamp(two_weeks_ago - 3600))
    new = _log(tmp_path, 'auth.log', '%s h sshd[1]: b\n%s h sshd[1]: c\n' % (stamp(two_weeks_ago - 60), stamp(two_weeks_ago)))
    window = _logs.resolve_window(System(environ={}), None, [old, new], now=NOW)
    assert (window.since, window.until, window.basis) == (two_weeks_ago - 7 * 86400, two_weeks_ago, 'newest_line')
    assert window.as_fact() == {'since': _logs.iso(two_weeks_ago - 7 * 86400), 'until': _logs.iso(two_weeks_ago),
                                'basis': 'newest_line'}


def test_resolve_window_reads_only_the_tail_of_a_large_file(tmp_path):
    path = tmp_path / 'auth.log'
    with open(str(path), 'w') as handle:
        handle.write('Apr  1 00:00:00 h sshd[1]: early\n')
        handle.write(('x' * 100 + '\n') * 5000)
        handle.write('May  2 03:04:05 h sshd[1]: late\n')
    window = _logs.resolve_window(System(environ={}), None, [str(path)], now=NOW)
    assert window.until == calendar.timegm((2024, 5, 2, 3, 4, 5, 0, 0, 0))


@pytest.mark.parametrize('since, files, basis', [('24h', None, 'option'), ('24h', ['x'], 'option'),
                                                 (None, None, 'now')])
def test_resolve_window_option_and_live(since, files, basis):
    window = _logs.resolve_window(System(environ={}), since, files, now=NOW)
    assert window.basis == basis and window.until is None
    assert window.since == (NOW - 86400 if since else NOW - 7 * 86400)


def test_resolve_window_without_times_falls_back_to_now(tmp_path):
    window = _logs.resolve_window(System(environ={}), None, [_log(tmp_path, 'e.log', 'no time\n')], now=NOW)
    assert window.basis == 'now' and window.since == NOW - 7 * 86400


@pytest.mark.parametrize('path, kind', [('/dev/zero', 'a device'), ('/', 'a directory')])
def test_check_log_files_refuses_what_is_not_a_file(path, kind):
    with pytest.raises(OptionError, match='%s is %s, not a log file' % (path, kind)):
        _logs.check_log_files(System(environ={}), [path])


def test_check_log_files_fifo_and_fine_files(tmp_path):
    import os
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    with pytest.raises(OptionError, match='a FIFO'):
        _logs.check_log_files(System(environ={}), [fifo])
    with pytest.raises(OptionError, match='entry is empty'):
        _logs.check_log_files(System(environ={}), [''])
    _logs.check_log_files(System(environ={}), [_log(tmp_path, 'ok.log', 'x\n'), str(tmp_path / 'missing.log')])


def test_logscan_unreadable_file_is_unknown_not_empty(tmp_path):
    scan = _logs.LogScan(System(environ={}), now=NOW)
    assert list(scan.file(str(tmp_path / 'missing.log'))) == []
    status, reason = scan.status()
    assert status == 'unknown'
    assert 'does not exist' in reason


def test_logscan_journal_missing_binary():
    scan = _logs.LogScan(System(environ={'PATH': ''}), now=NOW)
    scan.system.which = lambda name: None
    assert list(scan.journal(['-k'])) == []
    assert scan.status()[0] == 'unknown'
    assert 'journalctl not found' in scan.status()[1]


def test_logscan_keywords_skip_other_lines_but_count_them(tmp_path):
    log = tmp_path / 'auth.log'
    log.write_text('May  9 00:00:00 h sshd[1]: Accepted publickey for root\n'
                   'May  9 00:00:01 h sshd[1]: drop connection #0 from [1.2.3.4]:5 on [5.6.7.8]:22 past MaxStartups\n'
                   'May  9 00:00:02 h sshd[1]: Connection closed\n')
    scan = _logs.LogScan(System(environ={}), now=NOW, keywords=('MaxStartups', 'refused connect'))
    got = [(e.lineno, e.pid) for e in scan.file(str(log))]
    assert got == [(2, 1)]
    assert scan.sources[0]['lines'] == 3


# -- journalctl -o json: kernel messages on the kernel's clock ---------------------------------
# Captured with journalctl 252 (Debian 12) in a systemd-nspawn container given /dev/kmsg, machine
# btime 1796148796: a kill that happened while the container ran (journald time == kernel time),
# one journald read from the ring buffer when the container booted 23 minutes after it (its
# __REALTIME_TIMESTAMP is the container's boot), and PID 1's own message.
J_BOOT = 1796148796
J_BOOT_ID = '218b4fa1-603a-4b61-813b-6ca92380f93a'
J_LIVE = ('{"__MONOTONIC_TIMESTAMP":"2701862108","MESSAGE":"Memory cgroup out of memory: Killed process 1773 (python3) '
          'total-vm:36392kB, anon-rss:24320kB, file-rss:5352kB, shmem-rss:0kB, UID:0 pgtables:108kB oom_score_adj:0",'
          '"SYSLOG_IDENTIFIER":"kernel","_TRANSPORT":"kernel","__REALTIME_TIMESTAMP":"1796151498455443",'
          '"_BOOT_ID":"218b4fa1603a4b61813b6ca92380f93a","_SOURCE_MONOTONIC_TIMESTAMP":"2701856882","_HOSTNAME":"s1"}')
J_BACKLOG = ('{"MESSAGE":"Memory cgroup out of memory: Killed process 24048 (crd oom (t)) total-vm:42328kB, '
             'anon-rss:32512kB, file-rss:5832kB, shmem-rss:0kB, UID:0 pgtables:120kB oom_score_adj:0",'
             '"_SOURCE_MONOTONIC_TIMESTAMP":"742460721","_BOOT_ID":"218b4fa1603a4b61813b6ca92380f93a",'
             '"_TRANSPORT":"kernel","SYSLOG_IDENTIFIER":"kernel","__REALTIME_TIMESTAMP":"1796150939057959",'
             '"_HOSTNAME":"s1"}')
J_PID1 = ('{"SYSLOG_IDENTIFIER":"systemd","_TRANSPORT":"journal","_BOOT_ID":"218b4fa1603a4b61813b6ca92380f93a",'
          '"__REALTIME_TIMESTAMP":"1796151475614696","_HOSTNAME":"s1","MESSAGE":"Removed slice user-0.slice - User '
          'Slice of UID 0.","_PID":"1","_COMM":"systemd"}')


@pytest.mark.parametrize('line, boot_id, epoch, raw_start', [
    (J_LIVE, J_BOOT_ID, J_BOOT + 2701.856882, '2026-12-01T'),
    # journald filed it at its own start: the kernel's clock puts it 2,197 s earlier
    (J_BACKLOG, J_BOOT_ID, J_BOOT + 742.460721, '2026-12-01T'),
    # another boot's message: its monotonic clock is not this boot's, journald's time stays
    (J_BACKLOG, '00000000-0000-0000-0000-000000000001', 1796150939.057959, '2026-12-01T'),
    (J_PID1, J_BOOT_ID, 1796151475.614696, '2026-12-01T'),
])
def test_journal_json_entry(line, boot_id, epoch, raw_start):
    entry = _logs.journal_json_entry(line, J_BOOT, boot_id)
    assert entry.time == pytest.approx(epoch, abs=1e-5)
    assert entry.raw.startswith(raw_start) and entry.raw.endswith(entry.message)
    assert (entry.host, entry.ident) == ('s1', 'kernel' if 'kernel' in line else 'systemd')
    assert entry.pid == (1 if entry.ident == 'systemd' else None)


@pytest.mark.parametrize('line', ['', 'not json', '[]', '{"MESSAGE": null}', '{"MESSAGE": 3}', '{"_PID": "1"}'])
def test_journal_json_entry_rejects(line):
    assert _logs.journal_json_entry(line, J_BOOT, J_BOOT_ID) is None


def test_journal_json_entry_binary_message():
    entry = _logs.journal_json_entry('{"MESSAGE":[104,105,255],"_TRANSPORT":"kernel","__REALTIME_TIMESTAMP":"1"}')
    assert entry.message == 'hi\ufffd' and entry.time == 1e-06


class _JournalSystem(System):
    """A System whose journalctl answers from a script: {(with --output-fields?): (lines, rc, err)}."""

    def __init__(self, answers, kernel_check='', journal_files=True):
        super().__init__(environ={})
        self.journal_files = journal_files
        self.answers = answers
        self.kernel_check = kernel_check
        self.streamed = []

    def which(self, name):
        return '/usr/bin/' + name

    def read_or_none(self, path):
        return {'/proc/stat': 'btime %d\n' % J_BOOT, '/proc/sys/kernel/random/boot_id': J_BOOT_ID + '\n'}.get(path)

    def listdir(self, path):
        if path == '/var/log/journal' and self.journal_files:
            return ['9b0e7c5f3c2a4f0d8e6b1a2c3d4e5f60']
        raise OSError(2, 'No such file or directory')

    def run_stream(self, argv, timeout=60):
        self.streamed.append(argv)
        lines, rc, err = self.answers[any(a.startswith('--output-fields=') for a in argv)]
        return {'rc': rc, 'err': err, 'error': None}, iter(lines)

    def run(self, argv, timeout=15, data=None, cache=False):
        from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult
        self.streamed.append(argv)
        return CommandResult(argv, 0, self.kernel_check, '')


def test_kernel_journal_times_the_backlog_by_the_kernel_clock():
    system = _JournalSystem({True: ([J_LIVE, J_BACKLOG, J_PID1], 0, '')})
    scan = _logs.LogScan(system, since=J_BOOT + 1000, now=J_BOOT + 3000, keywords=('Killed process', 'Removed'))
    entries = list(scan.kernel_journal(['_TRANSPORT=kernel', '+', '_PID=1']))
    # the backlog kill (742 s after boot) is before `since` although journald stamped it later
    assert [e.message[:58] for e in entries] == ['Memory cgroup out of memory: Killed process 1773 (python3)',
                                                 'Removed slice user-0.slice - User Slice of UID 0.']
    # the backlog kill is counted as outside the window, not silently dropped
    assert scan.sources == [{'name': 'journal', 'status': 'ok', 'reason': None, 'lines': 3, 'kernel_lines': 2,
                             'skipped_lines': 0, 'outside_lines': 1}]
    assert system.streamed[0][:4] == ['journalctl', '--no-pager', '-o', 'json']
    assert '--since=@%d' % (J_BOOT + 1000) in system.streamed[0]


def test_kernel_journal_on_journalctl_without_output_fields():
    # journalctl 219 (CentOS 7) knows no --output-fields: asked again without it
    old = "journalctl: unrecognized option '--output-fields=MESSAGE,_TRANSPORT'\n"
    system = _JournalSystem({True: ([], 1, old), False: ([J_LIVE], 0, '')})
    scan = _logs.LogScan(system, now=J_BOOT + 3000)
    assert len(list(scan.kernel_journal(['_TRANSPORT=kernel']))) == 1
    assert len(system.streamed) == 2 and not any(a.startswith('--output-fields') for a in system.streamed[1])
    assert scan.sources[0]['status'] == 'ok'


@pytest.mark.parametrize('kernel_check, status', [('', 'partial'), ('Linux version 6.1.0-28-amd64 ...\n', 'ok')])
def test_kernel_journal_without_kernel_messages(kernel_check, status):
    # journald of a container without /dev/kmsg: the window has PID 1's messages only
    system = _JournalSystem({True: ([J_PID1], 0, '')}, kernel_check=kernel_check)
    scan = _logs.LogScan(system, now=J_BOOT + 3000)
    list(scan.kernel_journal(['_TRANSPORT=kernel', '+', '_PID=1']))
    assert scan.sources[0]['status'] == status
    assert (scan.sources[0]['reason'] == _logs.JOURNAL_WITHOUT_KERNEL) is (status == 'partial')
    assert system.streamed[-1][:3] == ['journalctl', '--no-pager', '-k']


def test_kernel_journal_without_any_journal():
    # no systemd here (this CI machine as a user): journalctl -o json prints nothing, not even a
    # hint; the empty journal directory says there is no journal at all
    system = _JournalSystem({True: ([], 0, '')}, journal_files=False)
    scan = _logs.LogScan(system, now=J_BOOT + 3000)
    list(scan.kernel_journal(['_TRANSPORT=kernel']))
    assert scan.sources[0]['status'] == 'unknown' and 'no systemd journal' in scan.sources[0]['reason']


# --------------------------------------------------------------------------------------------
# EventSeries: when the events of one kind happened (docs/facts.md, "series")
# --------------------------------------------------------------------------------------------
DAY = 86400


@pytest.mark.parametrize('span, size', [
    (0, 1), (60, 1), (199, 1), (200, 5), (3600, 30), (6 * 3600, 300), (DAY, 600),
    (7 * DAY, 3600),            # the default window: 168 one-hour buckets, on the hour
    (30 * DAY, 21600), (90 * DAY, 43200), (120 * DAY, DAY), (400 * DAY, 3 * DAY),
])
def test_bucket_seconds(span, size):
    assert _logs.bucket_seconds(NOW - span, NOW) == size
    start = NOW - span
    # aligned buckets covering the window, at most SERIES_MAX_BUCKETS of them
    assert (NOW // size) - (start // size) + 1 <= _logs.SERIES_MAX_BUCKETS


# real lines (journalctl -o short-iso of the lab's trixie host, samples/lab/trixie/crashloop.txt)
CRASH_LINES = [
    '2026-12-03T12:27:50+00:00 trixie systemd[1]: ssh.service: Main process exited, code=killed, status=9/KILL',
    '2026-12-03T12:27:51+00:00 trixie systemd[1]: ssh.service: Main process exited, code=killed, status=9/KILL',
    '2026-12-03T12:27:52+00:00 trixie systemd[1]: ssh.service: Main process exited, code=killed, status=9/KILL',
]


def _times(lines):
    return [_logs.split_line(line, NOW).time for line in lines]


@pytest.mark.parametrize('times, max_times, mode, kept, buckets', [
    # under the cap: exact times, oldest first whatever the order they came in
    ([3.0, 1.0, 2.0], 5, 'times', ['1970-01-01T00:00:01Z', '1970-01-01T00:00:02Z', '1970-01-01T00:00:03Z'], []),
    # at the cap: still exact
    ([1.0, 2.0], 2, 'times', ['1970-01-01T00:00:01Z', '1970-01-01T00:00:02Z'], []),
    # one past the cap: every time (the exact ones too) in buckets of the window 0..600 s: 5 s each
    ([1.0, 2.0, 7.0], 2, 'buckets', [], [('1970-01-01T00:00:00Z', 2), ('1970-01-01T00:00:05Z', 1)]),
    # cap 0: buckets from the first event
    ([599.0], 0, 'buckets', [], [('1970-01-01T00:09:55Z', 1)]),
])
def test_series_switches_to_buckets_past_the_cap(times, max_times, mode, kept, buckets):
    series = _logs.EventSeries(0.0, 600.0, max_times=max_times)
    for when in times:
        series.add(when, 'line at %s' % when)
    fact = series.as_fact()
    assert fact['mode'] == mode
    assert [t['time'] for t in fact['times']] == kept
    assert [(b['start'], b['count']) for b in fact['buckets']] == buckets
    assert fact['bucket_s'] == (None if mode == 'times' else 5)
    assert fact['count'] == len(times)
    assert (fact['since'], fact['until']) == ('1970-01-01T00:00:00Z', '1970-01-01T00:10:00Z')
    assert fact['first'] == _logs.iso(min(times)) and fact['last'] == _logs.iso(max(times))


def test_series_of_real_lines_keeps_each_line_as_its_note():
    end = calendar.timegm((2026, 12, 3, 13, 0, 0, 0, 0, 0))
    series = _logs.EventSeries(end - 7 * DAY, end)
    for line, when in zip(CRASH_LINES, _times(CRASH_LINES)):
        series.add(when, line)
    fact = series.as_fact()
    assert [t['time'] for t in fact['times']] == ['2026-12-03T12:27:50Z', '2026-12-03T12:27:51Z', '2026-12-03T12:27:52Z']
    assert [t['note'] for t in fact['times']] == [line[:_logs.SERIES_NOTE_CHARS] for line in CRASH_LINES]


@pytest.mark.parametrize('when, counted', [
    (None, 'untimed'), ('x', 'untimed'),
    (float('nan'), 'outside'), (float('inf'), 'outside'), (-1.0, 'outside'), (1e300, 'outside'),
    (NOW - 8 * DAY, 'outside'), (NOW + 1, 'outside'),     # outside the window: counted, never in a bucket
    (NOW - DAY, 'count'),
])
def test_series_counts_what_it_cannot_place(when, counted):
    series = _logs.EventSeries(NOW - 7 * DAY, NOW)
    series.add(when, 'x')
    fact = series.as_fact()
    assert dict((k, fact[k]) for k in ('count', 'untimed', 'outside')) == dict(
        (k, int(k == counted)) for k in ('count', 'untimed', 'outside'))


def test_series_of_a_million_events_is_a_small_fact():
    """Boundedness: a week of a million events (a line every 0.6 s) makes at most 200 buckets."""
    import json
    series = _logs.EventSeries(NOW - 7 * DAY, NOW)
    for index in range(1000000):
        series.add(NOW - 7 * DAY + index * 0.6048, 'x' * 500)
    fact = series.as_fact()
    assert fact['mode'] == 'buckets' and fact['count'] == 1000000
    assert sum(b['count'] for b in fact['buckets']) == 1000000
    assert fact['bucket_s'] == 3600 and len(fact['buckets']) <= 169
    assert len(json.dumps(fact)) < 12000
    assert not fact['times']


def test_window_series_ends_now_without_until():
    fact = _logs.window_series(_logs.Window(NOW - DAY, None, 'now'), now=NOW).as_fact()
    assert (fact['since'], fact['until'], fact['count'], fact['mode']) == (
        _logs.iso(NOW - DAY), _logs.iso(NOW), 0, 'times')


@pytest.mark.parametrize('text, epoch', [
    ('2026-12-03T12:27:50Z', calendar.timegm((2026, 12, 3, 12, 27, 50, 0, 0, 0))),
    ('1970-01-01T00:00:00Z', 0.0),
    ('2026-12-03T12:27:50+00:00', None), ('2026-13-03T12:27:50Z', None), ('', None), (None, None), (5, None),
])
def test_iso_epoch(text, epoch):
    assert _logs.iso_epoch(text) == epoch
    if epoch is not None:
        assert _logs.iso(epoch) == text
