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
