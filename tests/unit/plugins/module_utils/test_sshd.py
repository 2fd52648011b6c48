# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers and collect() of _sshd on real samples (origins: samples/sshd/ORIGINS.md and the comments here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _sshd
from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult, OptionError, System
from ansible_collections.connreset.doctor.plugins.module_utils._logs import LogLine, split_line

SAMPLES = os.path.join(os.path.dirname(__file__), 'samples', 'sshd')
NOW = 1800000000.0


def sample(name):
    with open(os.path.join(SAMPLES, name)) as handle:
        return handle.read()


# --------------------------------------------------------------------------------------------
# systemctl show (systemd 252, Debian 12).  SHOW_ACTIVE: a running unit; SHOW_FAILED: the values of the real
# crash-loop sample (samples/sshd/systemctl_show_ssh_failed_crashloop_systemd252.txt) printed in a CET zone
# --------------------------------------------------------------------------------------------
SHOW_ACTIVE = """ActiveState=active
SubState=running
MainPID=812
NRestarts=0
ExecMainStatus=0
ExecMainCode=0
Result=success
ActiveEnterTimestamp=Sun 2026-11-22 05:01:12 UTC
ExecMainStartTimestamp=Sun 2026-11-22 05:01:12 UTC
LoadState=loaded
"""
SHOW_FAILED = """ActiveState=failed
SubState=failed
MainPID=0
NRestarts=5
ExecMainStatus=9
ExecMainCode=2
Result=signal
ActiveEnterTimestamp=Sun 2026-11-22 05:03:40 CET
ExecMainStartTimestamp=Sun 2026-11-22 05:03:41 CET
LoadState=loaded
"""
SHOW_NOT_FOUND = """ActiveState=inactive
SubState=dead
MainPID=0
NRestarts=0
ExecMainStatus=0
ExecMainCode=0
Result=success
ActiveEnterTimestamp=
ExecMainStartTimestamp=
LoadState=not-found
"""


@pytest.mark.parametrize('text, expected', [
    (SHOW_ACTIVE, dict(active_state='active', sub_state='running', main_pid=812, n_restarts=0, exec_main_status=0,
                       result='success', started_at='2026-11-22T05:01:12Z')),
    (SHOW_FAILED, dict(active_state='failed', sub_state='failed', main_pid=None, n_restarts=5, exec_main_status=9,
                       exec_main_code='killed', result='signal', started_at='Sun 2026-11-22 05:03:40 CET')),
])
def test_service_from_show(text, expected):
    service = _sshd.service_from_show(_sshd.parse_systemctl_show(text), 'ssh.service')
    assert service['manager'] == 'systemd' and service['unit'] == 'ssh.service' and service['status'] == 'ok'
    for key, value in expected.items():
        assert service[key] == value, key


def test_service_from_real_crash_loop():
    # systemd 252 in a Debian 12 lab host after seven kill -9 of the listener 0.4 s apart
    service = _sshd.service_from_show(_sshd.parse_systemctl_show(sample('systemctl_show_ssh_failed_crashloop_systemd252.txt')),
                                      'ssh.service')
    assert service['active_state'] == 'failed' and service['result'] == 'signal' and service['n_restarts'] == 5
    assert service['exec_main_code'] == 'killed' and service['exec_main_status'] == 9 and service['main_pid'] is None
    assert service['started_at'] == '2026-11-22T05:28:44Z'


def test_exec_main_code_zero_means_no_exit_yet():
    assert _sshd.service_from_show(_sshd.parse_systemctl_show(SHOW_ACTIVE), 'ssh.service')['exec_main_code'] is None


def test_pick_unit_takes_the_loaded_one():
    shows = [('ssh.service', _sshd.parse_systemctl_show(SHOW_NOT_FOUND)),
             ('sshd.service', _sshd.parse_systemctl_show(SHOW_ACTIVE))]
    assert _sshd.pick_unit(shows)[0] == 'sshd.service'
    assert _sshd.pick_unit(shows[:1]) == (None, None)
    # Debian: sshd.service is an alias of ssh.service and shows the same loaded unit; ssh.service is asked first
    alias = _sshd.parse_systemctl_show(sample('systemctl_show_sshd_alias_systemd252.txt'))
    assert alias['LoadState'] == 'loaded'
    assert _sshd.pick_unit([('ssh.service', alias), ('sshd.service', alias)])[0] == 'ssh.service'


# --------------------------------------------------------------------------------------------
# processes (titles from a real OpenSSH 9.2p1 run and Debian 12 hosts)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize('args, parent_is_sshd, role', [
    ('sshd: /usr/sbin/sshd -D -e -f /tmp/sshdlab/cfg -E /tmp/sshdlab/log [listener] 0 of 1-1 startups', False, 'listener'),
    ('sshd: /usr/sbin/sshd -D [listener] 3 of 10-100 startups', False, 'listener'),
    ('/usr/sbin/sshd -D', False, 'listener'),                     # OpenSSH 8.x keeps argv as title
    ('sshd: [accepted]', True, 'preauth'),
    ('sshd: unknown [net]', True, 'preauth'),
    ('sshd: root [priv]', True, 'session'),
    ('sshd: root@pts/0', True, 'session'),
    ('sshd: deploy@notty', True, 'session'),
    ('sshd-session: root@pts/1', True, 'session'),                 # OpenSSH 9.8+ session binary
    ('/usr/sbin/sshd -D -R', True, 'other'),                       # re-exec'd child before its title is set
])
def test_classify_process(args, parent_is_sshd, role):
    assert _sshd.classify_process(args, parent_is_sshd) == role


@pytest.mark.parametrize('args, expected', [
    ('sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups', (0, 10, 100)),
    ('sshd: /usr/sbin/sshd -D -e -f /tmp/sshdlab/cfg -E /tmp/sshdlab/log [listener] 1 of 1-1 startups', (1, 1, 1)),
    ('/usr/sbin/sshd -D', None),
])
def test_parse_listener_title(args, expected):
    assert _sshd.parse_listener_title(args) == expected


@pytest.mark.parametrize('text, expected', [
    ('5081 (sshd) S 5076 5081 5069 0 -1 4194560 ...', ('S', 5076)),
    ('77 (sshd: a (b)) Z 1 77 77 0 -1', ('Z', 1)),
    ('', (None, None)),
])
def test_parse_stat(text, expected):
    assert _sshd.parse_stat(text) == expected


# --------------------------------------------------------------------------------------------
# listeners: ss (iproute2 6.1, Debian 12) and /proc/net/tcp(6) (Linux 6.x)
# --------------------------------------------------------------------------------------------
SS_ROOT = """LISTEN 0      128    127.0.0.1:42222 0.0.0.0:* users:(("sshd",pid=5081,fd=4))
LISTEN 0      128      0.0.0.0:2024  0.0.0.0:*
LISTEN 0      128         [::]:22       [::]:* users:(("sshd",pid=812,fd=4))
LISTEN 0      4096  127.0.0.53%lo:53   0.0.0.0:* users:(("systemd-resolve",pid=420,fd=14))
"""


def test_parse_ss_listen():
    sockets = _sshd.parse_ss_listen(SS_ROOT)
    assert sockets[0] == {'address': '127.0.0.1', 'port': 42222, 'pids': [5081], 'processes': ['sshd']}
    assert sockets[1]['pids'] == [] and sockets[1]['port'] == 2024
    assert sockets[2]['address'] == '::' and sockets[2]['port'] == 22
    assert sockets[3]['address'] == '127.0.0.53'


PROC_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 60 1 00000000b73d603d 100 0 0 10 0
   1: 0100007F:B2CA 0100007F:DC1F 06 00000000:00000000 03:00000308 00000000     0        0 0 3 00000000b3563fa3
   2: 0100007F:A4CE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 91234 1 0000000011111111 100 0 0 10 0
"""
PROC_TCP6 = (   # split only to fit the line length; the text is unchanged
    '  sl  local_address                         remote_address                        st tx_queue '
    'rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
    '   0: 0000000000000000FFFF00000100007F:A4F1 00000000000000000000000000000000:0000 0A '
    '00000000:00000000 00:00000000 00000000     0        0 158381 1 0000000042c93438 100 0 0 10 0\n'
    '   1: 00000000000000000000000001000000:A4EF 00000000000000000000000000000000:0000 0A '
    '00000000:00000000 00:00000000 00000000     0        0 158379 1 000000006f0bacf1 100 0 0 10 0\n'
    '   2: 00000000000000000000000000000000:A4F0 00000000000000000000000000000000:0000 0A '
    '00000000:00000000 00:00000000 00000000     0        0 158380 1 00000000ac7578d3 100 0 0 10 0\n'
    '\n'
)


@pytest.mark.parametrize('text, expected', [
    (PROC_TCP, [{'address': '0.0.0.0', 'port': 2024, 'inode': 60}, {'address': '127.0.0.1', 'port': 42190, 'inode': 91234}]),
    (PROC_TCP6, [{'address': '::ffff:127.0.0.1', 'port': 42225, 'inode': 158381},
                 {'address': '::1', 'port': 42223, 'inode': 158379},
                 {'address': '::', 'port': 42224, 'inode': 158380}]),
    ('', []),
])
def test_parse_proc_net_tcp(text, expected):
    assert _sshd.parse_proc_net_tcp(text) == expected


@pytest.mark.parametrize('value, expected', [
    ('0100007F', '127.0.0.1'),
    ('00000000', '0.0.0.0'),
    ('B80D0120000000000000000001000000', '2001:db8::1'),
])
def test_hex_to_ip(value, expected):
    assert _sshd.hex_to_ip(value) == expected


def test_hex_to_ip_rejects_garbage():
    with pytest.raises(ValueError):
        _sshd.hex_to_ip('123')


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
def test_sshd_T_9_2():
    raw = _sshd.parse_sshd_T(sample('sshd_T_9.2p1_debian12.txt'))
    values = _sshd.typed_config(raw)
    assert values['maxstartups'] == {'start': 10, 'rate': 30, 'full': 100}
    assert values['persourcepenalties'] is None              # 9.2 has no PerSourcePenalties
    assert values['port'] == [22]
    assert values['listenaddress'] == ['[::]:22', '0.0.0.0:22']
    assert values['logingracetime'] == 120 and values['maxsessions'] == 10
    assert values['clientaliveinterval'] == 0 and values['clientalivecountmax'] == 3
    assert values['tcpkeepalive'] is True and values['usedns'] is False
    assert isinstance(raw['hostkey'], list) and len(raw['hostkey']) == 3
    assert raw['acceptenv'] == ['LANG', 'LC_*']


def test_sshd_T_10_with_penalties():
    values = _sshd.typed_config(_sshd.parse_sshd_T(sample('sshd_T_10.x_kali.txt')))
    assert values['persourcepenalties'] == {
        'crash': 90, 'authfail': 5, 'noauth': 1, 'grace-exceeded': 10, 'refuseconnection': 10, 'max': 600,
        'min': 15, 'max-sources4': 65536, 'max-sources6': 65536, 'overflow': 'permissive', 'overflow6': 'permissive'}
    assert values['persourcepenaltyexemptlist'] is None
    assert values['maxstartups'] == {'start': 10, 'rate': 30, 'full': 100}
    assert values['port'] == [22]


@pytest.mark.parametrize('value, expected', [
    ('10:30:100', {'start': 10, 'rate': 30, 'full': 100}),
    ('1:100:1', {'start': 1, 'rate': 100, 'full': 1}),
    ('10', {'start': 10, 'rate': 30, 'full': 10}),     # servconf.c: max_startups = begin, default rate kept
    ('10:30', None),                                    # sshd rejects it: "Invalid MaxStartups spec."
    ('many', None),
    (None, None),
])
def test_parse_maxstartups(value, expected):
    assert _sshd.parse_maxstartups(value) == expected


@pytest.mark.parametrize('value, expected', [
    ('no', False),
    ('crash:90s authfail:5s max:10m min:15s overflow:deny-all', {'crash': 90, 'authfail': 5, 'max': 600, 'min': 15,
                                                                 'overflow': 'deny-all'}),
    ('crash:3600 authfail:3600 refuseconnection:3600 noauth:3600 grace-exceeded:3600',
     {'crash': 3600, 'authfail': 3600, 'refuseconnection': 3600, 'noauth': 3600, 'grace-exceeded': 3600}),
    (None, None),
])
def test_parse_penalties(value, expected):
    assert _sshd.parse_penalties(value) == expected


@pytest.mark.parametrize('value, expected', [('120', 120), ('2m', 120), ('1h30m', 5400), ('0', 0), ('x', None), ('', None)])
def test_parse_sshd_time(value, expected):
    assert _sshd.parse_sshd_time(value) == expected


def test_exempt_list():
    assert _sshd.typed_config({'persourcepenaltyexemptlist': '10.0.0.0/8,192.168.0.0/16'})['persourcepenaltyexemptlist'] == [
        '10.0.0.0/8', '192.168.0.0/16']


# sshd -t stderr of OpenSSH 9.2p1 (real runs)
BAD_CONFIG_ERR = ('/tmp/sshdlab/bad.cfg: line 2: Bad configuration option: Foo\n'
                  '/tmp/sshdlab/bad.cfg line 3: Invalid MaxStartups spec.\n')


@pytest.mark.parametrize('rc, err, euid, valid, n_errors, reason_part', [
    (0, '', 0, True, 0, None),
    (255, BAD_CONFIG_ERR, 0, False, 2, None),
    (255, BAD_CONFIG_ERR, 65534, False, 2, None),           # syntax errors are found before host keys load
    (255, 'Missing privilege separation directory: /run/sshd\n', 0, None, 0, 'sshd is probably not running'),
    (1, 'sshd: no hostkeys available -- exiting.\n', 65534, None, 0, 'needs root'),
    (1, 'sshd: no hostkeys available -- exiting.\n', 0, None, 0, 'exited with 1'),
])
def test_config_verdict(rc, err, euid, valid, n_errors, reason_part):
    got_valid, error, errors, reason = _sshd.config_verdict(rc, err, euid)
    assert got_valid is valid and len(errors) == n_errors
    if reason_part:
        assert reason_part in reason
    else:
        assert reason is None
    if valid is False:
        assert error == BAD_CONFIG_ERR.strip()


def test_parse_sshd_t_errors():
    assert _sshd.parse_sshd_t_errors(BAD_CONFIG_ERR + 'sshd: /etc/ssh/sshd_config line 9: Unsupported option UsePrivilegeSeparation\n') == [
        {'file': '/tmp/sshdlab/bad.cfg', 'line': 2, 'text': 'Bad configuration option: Foo'},
        {'file': '/tmp/sshdlab/bad.cfg', 'line': 3, 'text': 'Invalid MaxStartups spec.'},
        {'file': '/etc/ssh/sshd_config', 'line': 9, 'text': 'Unsupported option UsePrivilegeSeparation'},
    ]


# --------------------------------------------------------------------------------------------
# version and libwrap
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize('text, expected', [
    ('OpenSSH_9.2, OpenSSL 3.0.19 27 Jan 2026\n', ('9.2', [9, 2], 'OpenSSH_9.2')),         # sshd -V, 9.2p1
    ('OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026\n',                        # ssh -V, 9.2p1
     ('9.2p1', [9, 2], 'OpenSSH_9.2p1 Debian-2+deb12u10')),
    ('sshd: illegal option -- V\nOpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w  11 Sep 2023\nusage: sshd [-46DdeiqTt]',
     ('8.4p1', [8, 4], 'OpenSSH_8.4p1 Debian-5+deb11u3')),
    ('OpenSSH_10.0p2 Ubuntu-5ubuntu5, OpenSSL 3.5.3 16 Sep 2025', ('10.0p2', [10, 0], 'OpenSSH_10.0p2 Ubuntu-5ubuntu5')),
    ('dropbear v2022.83', (None, None, None)),
])
def test_parse_version(text, expected):
    assert _sshd.parse_version(text) == expected


@pytest.mark.parametrize('needed, expected', [
    (b'libcrypt.so.1\0libwrap.so.0\0libaudit.so.1\0', True),   # Debian 12's sshd DT_NEEDED names
    (b'libcrypt.so.1\0libpam.so.0\0libaudit.so.1\0', False),   # a build without libwrap
])
def test_collect_libwrap_falls_back_to_the_elf_bytes(tmp_path, needed, expected):
    # not a loadable ELF: ldd fails, so the check reads the file's DT_NEEDED strings
    fake = tmp_path / 'sshd'
    fake.write_bytes(b'\x7fELF\x02\x01\x01' + b'\0' * 9 + needed)
    value, binaries, reason = _sshd.collect_libwrap(System(), str(fake))
    assert (value, reason) == (expected, None)
    assert binaries[0] == {'path': str(fake), 'libwrap': expected, 'method': 'elf'}


def test_collect_libwrap_without_sshd():
    assert _sshd.collect_libwrap(System(), None) == (None, [], 'sshd not found')


@pytest.mark.skipif(not os.path.exists('/usr/sbin/sshd'), reason='no /usr/sbin/sshd on this machine')
def test_collect_libwrap_real_binary():
    with open('/usr/sbin/sshd', 'rb') as handle:
        data = handle.read()
    # Debian builds sshd --with-libwrap; other distributions do not: compare with the ELF's own DT_NEEDED list
    value, binaries, _reason = _sshd.collect_libwrap(System(), '/usr/sbin/sshd')
    assert value == (b'libwrap.so' in data)
    assert binaries[0]['path'] == '/usr/sbin/sshd'


# --------------------------------------------------------------------------------------------
# log events
# --------------------------------------------------------------------------------------------
def entries(lines):
    out = []
    for number, line in enumerate(lines, 1):
        entry = split_line(line, NOW) or LogLine(None, None, None, None, line)
        entry.source, entry.lineno, entry.raw = 'test', number, line
        out.append(entry)
    return out


def count(lines):
    return _sshd.count_events(entries(lines))


# a real OpenSSH 9.2p1 -E log at LogLevel VERBOSE with MaxStartups 1:100:1 (system test setup)
E_LOG_92 = [
    'Server listening on 127.0.0.1 port 42222.\r',
    'beginning MaxStartups throttling\r',
    'drop connection #1 from [127.0.0.1]:55708 on [127.0.0.1]:42222 past MaxStartups\r',
    'Connection from 127.0.0.1 port 55700 on 127.0.0.1 port 42222 rdomain ""\r',
    'drop connection #1 from [127.0.0.1]:55714 on [127.0.0.1]:42222 past MaxStartups\r',
    'drop connection #1 from [127.0.0.1]:55716 on [127.0.0.1]:42222 past MaxStartups\r',
    'drop connection #1 from [127.0.0.1]:55732 on [127.0.0.1]:42222 past MaxStartups\r',
    'drop connection #1 from [127.0.0.1]:55746 on [127.0.0.1]:42222 past MaxStartups\r',
    'drop connection #1 from [127.0.0.1]:55760 on [127.0.0.1]:42222 past MaxStartups\r',
    'kex_exchange_identification: read: Connection reset by peer\r',
    'Received signal 15; terminating.\r',
]

# auth.log (rsyslog, traditional format) of a 9.2p1 server at LogLevel INFO: only the first drop of the
# episode has a line, the exit summary carries the total
AUTH_LOG_INFO = [
    'Mar  6 06:31:31 ip-172-31-35-28 sshd[620]: error: beginning MaxStartups throttling',
    'Mar  6 06:31:31 ip-172-31-35-28 sshd[620]: drop connection #10 from [65.2.161.68]:46482 on [172.31.35.28]:22 past MaxStartups',
    'Mar  6 06:31:31 ip-172-31-35-28 sshd[2327]: Invalid user admin from 65.2.161.68 port 46392',
    'Mar  6 06:32:40 ip-172-31-35-28 sshd[620]: exited MaxStartups throttling after 00:01:09, 21 connections dropped',
]

# journal (short-iso) of a 9.2p1 server at VERBOSE: per-connection lines AND the summary describe the same drops
JOURNAL_VERBOSE = [
    '2026-11-20T10:00:00+0000 web1 sshd[812]: error: beginning MaxStartups throttling',
    '2026-11-20T10:00:00+0000 web1 sshd[812]: drop connection #10 from [10.0.0.9]:40001 on [10.0.0.5]:22 past MaxStartups',
    '2026-11-20T10:00:01+0000 web1 sshd[812]: drop connection #10 from [10.0.0.9]:40002 on [10.0.0.5]:22 past MaxStartups',
    '2026-11-20T10:00:01+0000 web1 sshd[812]: drop connection #10 from [10.0.0.9]:40003 on [10.0.0.5]:22 past MaxStartups',
    '2026-11-20T10:00:30+0000 web1 sshd[812]: exited MaxStartups throttling after 00:00:30, 3 connections dropped',
]

# a long episode at INFO: periodic summary every 5 minutes (ndropped + 1 includes the drop logged next)
JOURNAL_PERIODIC = [
    '2026-11-20T10:00:00+0000 web1 sshd[812]: error: beginning MaxStartups throttling',
    '2026-11-20T10:00:00+0000 web1 sshd[812]: drop connection #10 from [10.0.0.9]:40001 on [10.0.0.5]:22 past MaxStartups',
    '2026-11-20T10:05:01+0000 web1 sshd[812]: error: in MaxStartups throttling for 00:05:01, 57 connections dropped',
    '2026-11-20T10:05:01+0000 web1 sshd[812]: drop connection #10 from [10.0.0.9]:41111 on [10.0.0.5]:22 past MaxStartups',
]

# OpenSSH 9.8+/10.x: "past Maxstartups" (lower-case s) and penalties (sshd.c drop_connection, srclimit.c)
JOURNAL_98 = [
    '2026-11-20T11:00:00+0000 web1 sshd[900]: error: beginning MaxStartups throttling',
    '2026-11-20T11:00:00+0000 web1 sshd[900]: drop connection #10 from [10.0.0.9]:40001 on [10.0.0.5]:22 past Maxstartups',
    '2026-11-20T11:00:03+0000 web1 sshd-session[1200]: srclimit_penalise: ipv4: new 192.0.2.7/32 deferred penalty of 5.000 '
    'seconds for penalty: failed authentication',
    '2026-11-20T11:00:09+0000 web1 sshd-session[1201]: srclimit_penalise: 192.0.2.7/32: activating ipv4 penalty of 16.000 '
    'seconds for penalty: failed authentication',
    '2026-11-20T11:00:10+0000 web1 sshd[900]: drop connection #0 from [192.0.2.7]:5555 on [10.0.0.5]:22 penalty: failed authentication',
    '2026-11-20T11:00:11+0000 web1 sshd[900]: drop connection #0 from [192.0.2.7]:5556 on [10.0.0.5]:22 penalty: failed authentication',
    '2026-11-20T11:00:12+0000 web1 sshd[900]: srclimit_penalise: ipv6: new 2001:db8::/64 active penalty of 90.000 seconds for penalty: caused crash',
    '2026-11-20T11:00:13+0000 web1 sshd[900]: drop connection #0 from [2001:db8::5]:6000 on [2001:db8::1]:22 penalty: caused crash',
    '2026-11-20T11:00:14+0000 web1 sshd[900]: drop connection #1 from [198.51.100.1]:7000 on [10.0.0.5]:22 too many penalised addresses',
    '2026-11-20T11:01:00+0000 web1 sshd[900]: exited MaxStartups throttling after 00:01:00, 1 connections dropped',
]

# systemd 252 on Debian 12 (lab-hosts.md): kill -9 of the listener, automatic restart; then a crash loop
JOURNAL_CRASH = [
    '2026-11-21T09:00:00+0000 h1 systemd[1]: ssh.service: Main process exited, code=killed, status=9/KILL',
    '2026-11-21T09:00:00+0000 h1 systemd[1]: ssh.service: Failed with result \'signal\'.',
    '2026-11-21T09:00:00+0000 h1 systemd[1]: ssh.service: Scheduled restart job, restart counter is at 1.',
    '2026-11-21T09:00:00+0000 h1 systemd[1]: Stopped ssh.service - OpenBSD Secure Shell server.',
    '2026-11-21T09:00:00+0000 h1 systemd[1]: Starting ssh.service - OpenBSD Secure Shell server...',
    '2026-11-21T09:00:00+0000 h1 systemd[1]: Started ssh.service - OpenBSD Secure Shell server.',
]
JOURNAL_SEGV_OOM = [
    '2026-11-21T10:00:00+0000 h1 systemd[1]: ssh.service: Main process exited, code=dumped, status=11/SEGV',
    '2026-11-21T10:00:01+0000 h1 systemd[1]: ssh.service: Failed with result \'core-dump\'.',
    '2026-11-21T11:00:00+0000 h1 systemd[1]: sshd.service: Failed with result \'oom-kill\'.',     # cgroup v2: no exit line first
    '2026-11-21T12:00:00+0000 h1 systemd[1]: ssh.service: Main process exited, code=exited, status=255/EXCEPTION',
    '2026-11-21T12:00:00+0000 h1 systemd[1]: ssh.service: Failed with result \'exit-code\'.',
    '2026-11-21T12:00:05+0000 h1 systemd[1]: ssh.service: Start request repeated too quickly.',
    '2026-11-21T12:00:05+0000 h1 systemd[1]: ssh.service: Failed with result \'start-limit-hit\'.',
    '2026-11-21T12:00:05+0000 h1 systemd[1]: Failed to start ssh.service - OpenBSD Secure Shell server.',
    '2026-11-21T13:00:00+0000 h1 systemd[1]: cron.service: Main process exited, code=killed, status=9/KILL',   # not sshd
    '2026-11-21T13:00:00+0000 h1 systemd[1]: ssh.service: Main process exited, code=exited, status=0/SUCCESS',
]
# RHEL 7 (systemd 219) /var/log/messages and a manual restart, then a reload
MESSAGES_EL7 = [
    'Nov 21 14:00:00 el7 systemd: sshd.service: main process exited, code=killed, status=6/ABRT',
    'Nov 21 14:00:00 el7 systemd: Unit sshd.service entered failed state.',
    'Nov 21 14:00:00 el7 systemd: sshd.service failed.',
    'Nov 21 15:00:00 el7 sshd[1500]: Received signal 15; terminating.',
    'Nov 21 15:00:00 el7 systemd: Stopped OpenSSH server daemon.',
    'Nov 21 15:00:00 el7 systemd: Started OpenSSH server daemon.',
    'Nov 21 16:00:00 el7 sshd[1600]: Received SIGHUP; restarting.',
]
# libwrap (tcp_wrappers 7.6 refuse.c) through syslog on Debian 12
AUTH_LOG_WRAP = [
    'Nov 21 17:00:00 web1 sshd[3001]: refused connect from 192.0.2.50 (192.0.2.50)',
    'Nov 21 17:00:05 web1 sshd[3002]: refused connect from bad.example.net (198.51.100.9)',
    'Nov 21 17:00:06 web1 in.telnetd[3003]: refused connect from 192.0.2.50 (192.0.2.50)',     # not sshd
]


PENALTY_REASONS = {'penalty: failed authentication': 2, 'penalty: caused crash': 1, 'too many penalised addresses': 1}


@pytest.mark.parametrize('lines, kind, expected_count, extra', [
    (E_LOG_92, 'maxstartups_drops', 6, {'episodes': 1}),
    (AUTH_LOG_INFO, 'maxstartups_drops', 21, {'episodes': 1}),
    (JOURNAL_VERBOSE, 'maxstartups_drops', 3, {'episodes': 1}),
    (JOURNAL_VERBOSE + JOURNAL_VERBOSE, 'maxstartups_drops', 6, {'episodes': 2}),
    (JOURNAL_PERIODIC, 'maxstartups_drops', 57, {'episodes': 1}),
    (JOURNAL_98, 'maxstartups_drops', 1, {'episodes': 1}),
    (['debug1: drop connection #10'], 'maxstartups_drops', 1, {}),                     # OpenSSH < 7.6, LogLevel DEBUG
    (JOURNAL_98, 'penalties', 4, {'imposed': 2, 'reasons': PENALTY_REASONS}),
    (JOURNAL_CRASH, 'crashes', 1, {'results': {'killed 9/KILL': 1}}),
    (JOURNAL_CRASH, 'restarts', 1, {'automatic': 1, 'manual': 0, 'gave_up': 0}),
    (JOURNAL_SEGV_OOM, 'crashes', 3, {'results': {'dumped 11/SEGV': 1, 'oom-kill': 1, 'exited 255/EXCEPTION': 1}}),
    (JOURNAL_SEGV_OOM, 'restarts', 0, {'gave_up': 1}),
    (MESSAGES_EL7, 'crashes', 1, {}),
    (MESSAGES_EL7, 'restarts', 1, {'manual': 1, 'reloads': 1}),
    (E_LOG_92, 'restarts', 1, {'manual': 1}),
    (AUTH_LOG_WRAP, 'wrap_refusals', 2, {}),
    (E_LOG_92, 'wrap_refusals', 0, {}),
    ([], 'crashes', 0, {}),
])
def test_event_counts(lines, kind, expected_count, extra):
    events = count(lines)
    assert events[kind]['count'] == expected_count
    for key, value in extra.items():
        assert events[kind][key] == value, key
    assert len(events[kind]['samples']) <= 5


def test_real_journal_crash_loop_reload_and_maxstartups_at_info():
    # one Debian 12 systemd 252 lab host: kill -9 (automatic restart), reload (SIGHUP), MaxStartups 2:100:2 at
    # LogLevel INFO with 2 held + 5 refused connections (one drop line, the exit summary says 5),
    # systemctl stop/start, then seven kill -9 0.4 s apart until "Start request repeated too quickly"
    events = count(sample('journal_systemd252_debian12_kill9_reload_maxstartups.txt').splitlines())
    assert events['crashes']['count'] == 6 and events['crashes']['results'] == {'killed 9/KILL': 6}
    restarts = events['restarts']
    assert (restarts['count'], restarts['automatic'], restarts['manual'], restarts['gave_up'], restarts['reloads']) == (
        7, 6, 1, 1, 1)
    assert events['maxstartups_drops']['count'] == 5 and events['maxstartups_drops']['episodes'] == 1
    assert events['maxstartups_drops']['last'] == '2026-11-22T05:28:30Z'
    assert events['penalties']['count'] == 0 and events['wrap_refusals']['count'] == 0


def test_event_last_and_samples():
    events = count(JOURNAL_VERBOSE)
    drops = events['maxstartups_drops']
    assert drops['last'] == '2026-11-20T10:00:30Z'
    assert drops['samples'][-1].endswith('3 connections dropped')
    assert all('\r' not in s for s in count(E_LOG_92)['maxstartups_drops']['samples'])


def test_drops_of_two_listeners_are_separate_episodes():
    other = [line.replace('sshd[812]', 'sshd[813]') for line in JOURNAL_VERBOSE]
    events = count(JOURNAL_VERBOSE[:2] + other + JOURNAL_VERBOSE[2:])
    assert events['maxstartups_drops']['count'] == 6 and events['maxstartups_drops']['episodes'] == 2


# --------------------------------------------------------------------------------------------
# collect() with a fake host
# --------------------------------------------------------------------------------------------
class FakeSystem:
    """Files (None → EACCES), directories, commands keyed by argv tuple prefix, journal lines."""

    def __init__(self, files=None, dirs=(), commands=None, binaries=(), euid=0, journal=None, environ=None):
        self.files = dict(files or {})
        self.dirs = set(dirs)
        self.commands = commands or {}
        self.binaries = set(binaries)
        self.euid = euid
        self.journal = journal
        self.environ = environ or {}
        self.deadline = None
        self.ran = []

    def check_deadline(self):
        return None

    def getenv(self, name, default=None):
        return self.environ.get(name, default)

    def exists(self, path):
        return path in self.files or path in self.dirs or path in self.binaries

    def isdir(self, path):
        return path in self.dirs

    def listdir(self, path):
        names = set()
        for name in list(self.files) + list(self.dirs):
            if name.startswith(path.rstrip('/') + '/'):
                names.add(name[len(path.rstrip('/')) + 1:].split('/')[0])
        if not names and path not in self.dirs:
            raise OSError(errno.ENOENT, 'No such file or directory')
        return sorted(names)

    def readlink(self, path):
        if path in getattr(self, 'links', {}):
            return self.links[path]
        raise OSError(errno.EACCES, 'Permission denied')

    def read(self, path, max_bytes=None):
        if path not in self.files:
            raise OSError(errno.ENOENT, 'No such file or directory')
        if self.files[path] is None:
            raise OSError(errno.EACCES, 'Permission denied')
        return self.files[path]

    def read_bytes(self, path, max_bytes=None):
        value = self.read(path)
        return value if isinstance(value, bytes) else value.encode('utf-8')

    def read_or_none(self, path):
        try:
            return self.read(path)
        except OSError:
            return None

    def lines(self, path):
        return iter(self.read(path).splitlines())

    def which(self, name):
        for binary in self.binaries:
            if os.path.basename(binary) == name:
                return binary
        return None

    def run(self, argv, timeout=15, data=None, cache=False):
        self.ran.append(list(argv))
        key = tuple(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv))
        for prefix, res in self.commands.items():
            if key[:len(prefix)] == prefix:
                return CommandResult(argv, *res)
        return CommandResult(argv, None, '', '', error='%s not found' % argv[0])

    def run_stream(self, argv, timeout=60):
        self.ran.append(list(argv))
        status = {'rc': 0, 'err': '', 'error': None}
        if self.journal is None:
            status.update(rc=1, err='No journal files were found.\n')
            return status, iter(())
        return status, iter(self.journal)


LISTENER = 'sshd: /usr/sbin/sshd -D [listener] 1 of 10-100 startups'


def host_files(**extra):
    files = {
        '/proc/1/comm': 'systemd\n',
        '/proc/stat': 'cpu 1\nbtime 1763700000\n',
        '/proc/sys/kernel/hostname': 'web1\n',
        '/proc/812/comm': 'sshd\n', '/proc/812/cmdline': LISTENER.replace(' ', '\0') + '\0',
        '/proc/812/stat': '812 (sshd) S 1 812 812 0 -1', '/proc/812/oom_score_adj': '-1000\n',
        '/proc/900/comm': 'sshd\n', '/proc/900/cmdline': 'sshd: [accepted]\0',
        '/proc/900/stat': '900 (sshd) S 812 900 900 0 -1',
        '/proc/901/comm': 'sshd\n', '/proc/901/cmdline': '\0', '/proc/901/stat': '901 (sshd) Z 812 900 900 0 -1',
        '/proc/50/comm': 'bash\n', '/proc/50/cmdline': 'bash\0', '/proc/50/stat': '50 (bash) S 1 50 50',
        '/etc/ssh/sshd_config': 'Port 22\n',
    }
    files.update(extra)
    return files


def systemd_host(euid=0, journal=None, t_rc=0, t_err=''):
    return FakeSystem(
        files=host_files(),
        dirs={'/run/systemd/system', '/proc', '/var/log/journal'},
        binaries={'/usr/sbin/sshd', '/usr/bin/systemctl', '/usr/bin/ss', '/usr/bin/journalctl', '/usr/bin/ldd',
                  '/usr/bin/ssh'},
        euid=euid,
        journal=journal,
        environ={'SSH_CONNECTION': '10.0.0.9 50000 10.0.0.5 22'},
        commands={
            ('systemctl', 'show', 'ssh.service'): (0, SHOW_FAILED, ''),
            ('systemctl', 'show', 'sshd.service'): (0, SHOW_NOT_FOUND, ''),
            ('sshd', '-t'): (t_rc, '', t_err),
            ('sshd', '-T'): (0, sample('sshd_T_9.2p1_debian12.txt'), '') if euid == 0 else
            (1, '', 'sshd: no hostkeys available -- exiting.\n'),
            ('sshd', '-V'): (0, '', 'OpenSSH_9.2, OpenSSL 3.0.19 27 Jan 2026\n'),
            ('ssh', '-V'): (0, '', 'OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026\n'),
            ('ss', '-Hltnp'): (0, SS_ROOT.replace('pid=812', 'pid=812') if euid == 0 else
                               SS_ROOT.replace(' users:(("sshd",pid=812,fd=4))', '').replace(
                                   ' users:(("sshd",pid=5081,fd=4))', ''), ''),
            ('ldd', '/usr/sbin/sshd'): (0, '\tlibwrap.so.0 => /lib/x86_64-linux-gnu/libwrap.so.0 (0x00007f55f660a000)\n', ''),
        })


def test_collect_systemd_host_as_root():
    host = systemd_host(journal=JOURNAL_CRASH + JOURNAL_VERBOSE)
    fact = _sshd.collect(host, {'since': '2026-11-01'})
    assert fact['status'] == 'ok', fact['reason']
    assert fact['service']['unit'] == 'ssh.service' and fact['service']['n_restarts'] == 5
    assert fact['running'] is True
    assert [p['role'] for p in fact['processes']] == ['listener', 'preauth']          # zombie 901 left out
    assert fact['listener'] == {'pid': 812, 'startups': 1, 'startups_begin': 10, 'startups_max': 100, 'oom_score_adj': -1000}
    # every socket ss names as sshd's, this host's listener (812) and another sshd (5081)
    assert fact['listening'] == [{'address': '127.0.0.1', 'port': 42222}, {'address': '::', 'port': 22}]
    assert fact['listen_source'] == 'ss'
    assert fact['config']['valid'] is True and fact['config']['values']['maxstartups']['full'] == 100
    assert fact['config']['connection_spec'] == 'user=root,host=web1,addr=10.0.0.9'
    assert fact['version'] == '9.2p1' and fact['version_info'] == [9, 2]
    assert fact['libwrap'] is True
    events = fact['events']
    assert events['status'] == 'ok' and events['crashes']['count'] == 1 and events['maxstartups_drops']['count'] == 3
    journal_argv = [argv for argv in host.ran if argv[0] == 'journalctl'][0]
    assert '_COMM=sshd' in journal_argv and 'UNIT=ssh.service' in journal_argv


def test_sshd_of_other_network_namespaces_is_not_this_hosts():
    host = systemd_host()
    host.files.update({'/proc/700/comm': 'sshd\n', '/proc/700/cmdline': LISTENER.replace(' ', '\0'),
                       '/proc/700/stat': '700 (sshd) S 690 700 700 0 -1'})
    host.links = {'/proc/self/ns/net': 'net:[4026531840]', '/proc/812/ns/net': 'net:[4026531840]',
                  '/proc/900/ns/net': 'net:[4026531840]', '/proc/700/ns/net': 'net:[4026532999]'}
    fact = _sshd.collect(host, {'since': '2026-11-01'})
    assert [p['pid'] for p in fact['processes']] == [812, 900] and fact['processes_other_netns'] == 1
    assert fact['listener']['pid'] == 812


def test_collect_as_non_root_is_unknown_not_zero():
    host = systemd_host(euid=1000, journal=None, t_rc=1, t_err='sshd: no hostkeys available -- exiting.\n')
    fact = _sshd.collect(host, {'since': '2026-11-01'})
    assert fact['status'] == 'partial'
    assert fact['config']['status'] == 'unknown' and 'become' in fact['config']['reason']
    assert fact['config']['valid'] is None and fact['config']['values']['maxstartups'] is None
    events = fact['events']
    assert events['status'] == 'unknown' and events['reason']
    assert all(events[kind]['count'] is None for kind in _sshd.EVENT_KINDS)
    assert fact['listening'] == [{'address': '::', 'port': 22}]      # matched by port only
    assert 'listening' in fact['reason']


def test_collect_bad_config_reports_errors():
    host = systemd_host(t_rc=255, t_err=BAD_CONFIG_ERR)
    host.commands[('sshd', '-T')] = (255, '', BAD_CONFIG_ERR)
    fact = _sshd.collect(host, {'since': '2026-11-01'})
    assert fact['config']['valid'] is False and len(fact['config']['errors']) == 2
    assert 'invalid' in fact['config']['reason']


def sshd_tests_run(host):
    return [argv[1] for argv in host.ran if os.path.basename(argv[0]) == 'sshd' and argv[1] in ('-t', '-T')]


def test_collect_config_skips_sshd_t_when_sshd_T_printed_the_configuration():
    # sshd -T makes every check of sshd -t before it prints: printed means valid
    host = systemd_host()
    config = _sshd.collect_config(host, '/usr/sbin/sshd', '/etc/ssh/sshd_config', '10.0.0.9', 'web1')
    assert sshd_tests_run(host) == ['-T']
    assert (config['status'], config['reason'], config['valid'], config['error'], config['errors']) == ('ok', None, True, None, [])
    assert config['values']['maxstartups']['full'] == 100


@pytest.mark.parametrize('euid, t_rc, t_err, valid, errors, reason_part', [
    (0, 255, BAD_CONFIG_ERR, False, 2, 'invalid, so sshd -T cannot print it'),
    (1000, 1, 'sshd: no hostkeys available -- exiting.\n', None, 0, 'needs root'),
    (0, 0, '', True, 0, 'sshd -T exited with 255'),                   # valid, but -T failed on its own
])
def test_collect_config_asks_sshd_t_when_sshd_T_fails(euid, t_rc, t_err, valid, errors, reason_part):
    host = systemd_host(euid=euid, t_rc=t_rc, t_err=t_err)
    if euid == 0:
        host.commands[('sshd', '-T')] = (255, '', t_err or 'sshd: Invalid test mode specification\n')
    config = _sshd.collect_config(host, '/usr/sbin/sshd', '/etc/ssh/sshd_config', '10.0.0.9', 'web1')
    assert sshd_tests_run(host) == ['-T', '-t']
    assert config['status'] == 'unknown' and config['valid'] is valid and len(config['errors']) == errors
    assert reason_part in config['reason']
    assert config['error'] == (t_err.strip() or None)


def test_collect_config_sshd_T_timeout_is_the_reason():
    host = systemd_host()
    host.commands[('sshd', '-T')] = (None, '', '', 'sshd timed out after 15 s')
    config = _sshd.collect_config(host, '/usr/sbin/sshd', '/etc/ssh/sshd_config', '10.0.0.9', 'web1')
    assert sshd_tests_run(host) == ['-T']
    assert (config['status'], config['valid'], config['reason']) == ('unknown', None, 'sshd timed out after 15 s')


@pytest.mark.parametrize('euid, valid, reason_part', [(0, False, 'does not exist'), (1000, None, 'become')])
def test_collect_missing_config_file(euid, valid, reason_part):
    host = systemd_host(euid=euid)
    config = _sshd.collect(host, {'since': '2026-11-01', 'config_file': '/etc/ssh/nope'})['config']
    assert config['status'] == 'unknown' and config['valid'] is valid and reason_part in config['reason']
    assert not any(argv[1:2] in (['-t'], ['-T']) for argv in host.ran)


def test_collect_without_service_manager():
    host = systemd_host()
    host.dirs.discard('/run/systemd/system')
    host.dirs.discard('/var/log/journal')
    host.files['/proc/1/comm'] = 'process_api\n'
    fact = _sshd.collect(host, {'since': '2026-11-01'})
    assert fact['service']['manager'] == 'none' and fact['service']['status'] == 'unknown'
    assert 'process_api' in fact['service']['reason']
    assert fact['events']['status'] == 'unknown' and fact['events']['maxstartups_drops']['count'] is None
    assert not any(argv[0] == 'systemctl' for argv in host.ran)


def test_collect_offline_log_files_only():
    host = systemd_host(journal=JOURNAL_CRASH)
    host.files['/tmp/auth.log'] = '\n'.join(AUTH_LOG_INFO + AUTH_LOG_WRAP)
    host.files['/var/log/auth.log'] = '\n'.join(AUTH_LOG_WRAP)
    fact = _sshd.collect(host, {'since': '@0', 'log_files': ['/tmp/auth.log']})
    events = fact['events']
    assert [s['name'] for s in events['sources']] == ['/tmp/auth.log']
    assert events['maxstartups_drops']['count'] == 21 and events['wrap_refusals']['count'] == 2
    assert events['crashes']['count'] == 0
    assert not any(argv[0] == 'journalctl' for argv in host.ran)


def test_collect_unreadable_log_file():
    host = systemd_host()
    host.files['/tmp/auth.log'] = None
    events = _sshd.collect(host, {'since': '2026-11-01', 'log_files': ['/tmp/auth.log']})['events']
    assert events['status'] == 'unknown' and 'become' in events['reason']
    assert events['wrap_refusals']['count'] is None


@pytest.mark.parametrize('params, message', [
    ({'since': 'yesterday'}, 'option since'),
    ({'since': '7d', 'sshd_path': '/nowhere/sshd'}, 'option sshd_path'),
])
def test_collect_bad_options(params, message):
    with pytest.raises(OptionError) as err:
        _sshd.collect(systemd_host(), params)
    assert message in str(err.value)


def test_validate():
    assert _sshd.validate({'since': '24h'}) is None
    assert 'since' in _sshd.validate({'since': 'soon'})
