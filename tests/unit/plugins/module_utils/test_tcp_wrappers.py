# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the TCP wrappers parser and evaluator.

Expected verdicts marked ``tcpdmatch`` were checked with Debian 12's ``tcpdmatch -d`` (tcpd
7.6.q-32), client given as an address (so its name lookup "fails", as hostname=None here);
tests/system/test_tcp_wrappers_tcpdmatch.py re-checks such cases against tcpdmatch at random.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import socket
import struct

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_wrappers as tw
from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult, OptionError

# Debian 12 tcpd 7.6.q-32 default /etc/hosts.allow and /etc/hosts.deny (comments only).
DEBIAN_ALLOW = '''# /etc/hosts.allow: list of hosts that are allowed to access the system.
#                   See the manual pages hosts_access(5) and hosts_options(5).
#
# Example:    ALL: LOCAL @some_netgroup
#             ALL: .foobar.edu EXCEPT terminalserver.foobar.edu
#
# If you're going to protect the portmapper use the name "rpcbind" for the
# daemon name. See rpcbind(8) and rpc.mountd(8) for further information.
#

'''
DEBIAN_DENY = '''# /etc/hosts.deny: list of hosts that are _not_ allowed to access the system.
#                  See the manual pages hosts_access(5) and hosts_options(5).
#
# Example:    ALL: some.host.name, .some.domain
#             ALL EXCEPT in.fingerd: other.host.name, .other.domain
#
# If you're going to protect the portmapper use the name "rpcbind" for the
# daemon name. See rpcbind(8) and rpc.mountd(8) for further information.
#
# The PARANOID wildcard matches any host whose name does not match its
# address.
#
# You may wish to enable this to ensure any programs that don't
# validate looked up hostnames still leave understandable logs. In past
# versions of Debian this has been the default.
# ALL: PARANOID
'''


# ---------------------------------------------------------------------------------------
# parse
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize('text', [DEBIAN_ALLOW, DEBIAN_DENY, '', '\n\n', '   \n\t\n'])
def test_parse_debian_defaults_have_no_rules(text):
    assert tw.parse(text, '/etc/hosts.allow') == ([], [])


@pytest.mark.parametrize('text, expected', [
    ('sshd: ALL EXCEPT 10.0.0.0/8\n', [(1, 1, ['sshd'], ['ALL', 'EXCEPT', '10.0.0.0/8'], None)]),
    ('ALL: ALL\n', [(1, 1, ['ALL'], ['ALL'], None)]),
    ('sshd, in.ftpd ,vsftpd\t: 192.168.1.0/24,[2001:db8::]/32 localhost\n',
     [(1, 1, ['sshd', 'in.ftpd', 'vsftpd'], ['192.168.1.0/24', '[2001:db8::]/32', 'localhost'], None)]),
    # continuation lines: joined without the backslash; first and last physical lines kept
    ('# comment\nsshd: 10.0.0.1, \\\n  10.0.0.2, \\\n  10.0.0.3\n',
     [(2, 4, ['sshd'], ['10.0.0.1', '10.0.0.2', '10.0.0.3'], None)]),
    # a continued comment swallows the next line
    ('# sshd: \\\nALL: ALL\nsshd: LOCAL\n', [(3, 3, ['sshd'], ['LOCAL'], None)]),
    # options
    ('ALL: .friendly.domain: ALLOW\n', [(1, 1, ['ALL'], ['.friendly.domain'], [('allow', None, None)])]),
    ('in.tftpd: ALL: spawn (/usr/sbin/safe_finger -l @%h | /usr/bin/mail -s %d-%h root) &\n',
     [(1, 1, ['in.tftpd'], ['ALL'],
       [('spawn', '(/usr/sbin/safe_finger -l @%h | /usr/bin/mail -s %d-%h root) &', None)])]),
    ('sshd: [::1]: severity auth.info : deny\n',
     [(1, 1, ['sshd'], ['[::1]'], [('severity', 'auth.info', None), ('deny', None, None)])]),
    # the newline ends the last option field: a trailing ':' leaves an empty option
    ('sshd: ALL:\n', [(1, 1, ['sshd'], ['ALL'], [('', None, 'missing option name')])]),
    ('sshd: ALL: allow:\n', [(1, 1, ['sshd'], ['ALL'], [('allow', None, 'option "allow" must be at end'),
                                                        ('', None, 'missing option name')])]),
    # '\:' protects a colon inside an option value
    ('sshd: ALL: spawn echo a\\:b : allow\n',
     [(1, 1, ['sshd'], ['ALL'], [('spawn', 'echo a:b', None), ('allow', None, None)])]),
    # an indented '#' is not a comment
    ('  # sshd: ALL\n', [(1, 1, ['#', 'sshd'], ['ALL'], None)]),
    # CRLF line ends
    ('sshd: 10.0.0.1\r\n', [(1, 1, ['sshd'], ['10.0.0.1'], None)]),
])
def test_parse_rules(text, expected):
    rules, _errors = tw.parse(text, 'hosts.allow')
    got = [(r['line'], r['end_line'], r['daemons'], r['clients'],
            None if r['options'] is None else [(o['name'], o['value'], o['error']) for o in r['options']])
           for r in rules]
    assert got == expected
    assert all(r['file'] == 'hosts.allow' for r in rules)


@pytest.mark.parametrize('text, line, fragment, stops', [
    ('sshd ALL\n', 1, 'missing ":" separator', False),
    ('sshd: ALL', 1, 'missing newline', True),
    ('sshd: 10.0.0.1\nsshd: \\\n10.0.0.2', 2, 'missing newline', True),
    ('sshd: 2001:db8::1\n', 1, 'IPv6 address 2001:db8::1 without brackets', False),
    ('sshd: 10.0.0.1, 2001:db8::/32\n', 1, 'write [2001:db8::]/32', False),
    ('sshd: 10.1.0.0/8\n', 1, 'host bits not all zero', False),
    ('sshd: 10.1.2.3/255.255.255.255\n', 1, 'mask 255.255.255.255', False),
    ('sshd: 10.0.0.0/33\n', 1, 'bad net/mask', False),
    ('sshd: 10.0.0.0/0\n', 1, 'bad net/mask', False),
    ('sshd: [2001:db8::]/129\n', 1, 'bad IPv6 prefix', False),
    ('sshd: [2001:zz::]/64\n', 1, 'bad IPv6 network', False),
    ('sshd: ALL: bogus\n', 1, 'bad option name: "bogus"', False),
    ('sshd: ALL: allow : spawn echo\n', 1, 'must be at end', False),
    ('sshd: ALL: twist\n', 1, 'requires value', False),
    ('sshd: ALL: keepalive 1\n', 1, 'requires no value', False),
    ('sshd: ALL: umask 999\n', 1, 'bad umask value', False),
    ('sshd: ALL: nice x\n', 1, 'bad nice value', False),
    ('sshd: ALL: linger 5x\n', 1, 'bad linger value', False),
    ('sshd: ALL: rfc931 0\n', 1, 'bad rfc931 timeout', False),
    ('sshd: ALL: severity authpriv.info\n', 1, 'bad syslog facility or severity: "authpriv"', False),
    ('sshd: ALL: severity auth.loud\n', 1, 'bad syslog facility or severity: "loud"', False),
    ('sshd:\n', 1, 'empty client list', False),
    (': ALL\n', 1, 'empty daemon list', False),
    ('  # sshd: ALL\n', 1, 'indented "#"', False),
    ('in.tftpd: ALL: (/usr/sbin/safe_finger -l @%h | /usr/bin/mail -s %d-%h root) &\n', 1, 'bad option name', False),
    ('sshd: ' + 'x' * 2100 + '\n', 1, 'longer than', True),
])
def test_parse_errors(text, line, fragment, stops):
    _rules, errors = tw.parse(text, '/etc/hosts.allow')
    matching = [e for e in errors if fragment in e['reason']]
    assert matching, errors
    assert matching[0]['line'] == line
    assert matching[0]['file'] == '/etc/hosts.allow'
    assert bool(matching[0].get('stops')) is stops
    assert (tw.table_stop(errors) is not None) is stops


@pytest.mark.parametrize('text', [
    'sshd: 10.0.0.0/8\n', 'sshd: 10.0.0.0/255.0.0.0\n', 'sshd: [2001:db8::]/32\n', 'sshd: ALL: severity local0.notice\n',
    'sshd: ALL: umask 022 : nice -5 : setenv FOO bar : spawn echo %a : deny\n', 'sshd: /etc/sshd.allowed\n',
    'sshd: ALL EXCEPT\n', 'sshd: .example.com, 192.168.\n', 'sshd: ALL: severity LOCAL7.ERR : allow\n',
])
def test_parse_clean_lines(text):
    _rules, errors = tw.parse(text, 'hosts.allow')
    assert errors == []


# ---------------------------------------------------------------------------------------
# addresses
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize('text, expected', [
    ('10.1.2.3', '10.1.2.3'), ('2001:DB8:0:0::1', '2001:db8::1'), ('::1', '::1'), ('::', '::'),
    ('::ffff:10.1.2.3', '::ffff:10.1.2.3'), ('::ffff:a01:203', '::ffff:10.1.2.3'),
    ('2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'), ('1:0:0:0:0:0:0:0', '1::'), ('2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'),
    ('fe80::1%eth0', None), ('10.1.2', None), ('host.example.com', None), ('10.0.0.0/8', None), ('', None),
    ('010.1.2.3', None),
])
def test_normalize_client(text, expected):
    assert tw.normalize_client(text) == expected


@pytest.mark.parametrize('address', ['2001:db8::1', '::', '::1', '::ffff:1.2.3.4', '::1.2.3.4', '1::', '1:0:0:1::',
                                     '1:2:3:4:5:6:7:8', 'fe80::1:0:0:0', '0:0:1::', '1:0:1:0:1:0:1:0'])
def test_ntop6_matches_the_c_library(address):
    packed = socket.inet_pton(socket.AF_INET6, address)
    assert tw.ntop6(packed) == socket.inet_ntop(socket.AF_INET6, packed)


@pytest.mark.parametrize('text, expected', [
    ('10.1.2.3', 0x0a010203), ('010.0.0.0', 0x08000000), ('0x0a.0.0.0', 0x0a000000), ('255.255.255.255', None),
    ('10.1.2', None), ('10.1.2.3.', None), ('10.1.2.256', None), ('a.b.c.d', None),
])
def test_dot_quad(text, expected):
    assert tw.dot_quad(text) == expected


# ---------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------
def decide(allow, deny, client, daemon='sshd', **kwargs):
    allow_rules, allow_errors = tw.parse(allow, '/etc/hosts.allow')
    deny_rules, deny_errors = tw.parse(deny, '/etc/hosts.deny')
    stops = {'allow': tw.table_stop(allow_errors), 'deny': tw.table_stop(deny_errors)}
    return tw.evaluate(allow_rules, deny_rules, daemon, client, stops=stops, **kwargs)


# (allow, deny, client, access, deciding file or None, line) with the client name lookup
# failing (hostname=None), as tcpdmatch -d <daemon> <address> assumes.
TCPDMATCH_CASES = [
    # defaults and first match
    (DEBIAN_ALLOW, DEBIAN_DENY, '10.1.2.3', 'granted', None, None),
    ('', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: 10.1.2.3\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.1.2.3\n', 'ALL: ALL\n', '10.1.2.4', 'denied', 'deny', 1),
    ('', 'sshd: ALL EXCEPT 10.0.0.0/8\n', '10.200.0.1', 'granted', None, None),
    ('', 'sshd: ALL EXCEPT 10.0.0.0/8\n', '192.0.2.1', 'denied', 'deny', 1),
    ('in.ftpd: ALL\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('ALL EXCEPT in.ftpd: ALL\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    # nested EXCEPT is right-associative: a EXCEPT (b EXCEPT c)
    ('sshd: ALL EXCEPT 10.0.0.0/8 EXCEPT 10.1.0.0/16\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: ALL EXCEPT 10.0.0.0/8 EXCEPT 10.1.0.0/16\n', 'ALL: ALL\n', '10.2.2.3', 'denied', 'deny', 1),
    ('sshd: ALL EXCEPT\n', 'ALL: ALL\n', '10.2.2.3', 'granted', 'allow', 1),
    ('sshd EXCEPT sshd: ALL\n', 'ALL: ALL\n', '10.2.2.3', 'denied', 'deny', 1),
    # patterns on addresses
    ('sshd: 10.1.\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.1.\n', 'ALL: ALL\n', '10.10.2.3', 'denied', 'deny', 1),
    ('sshd: 10.1.\n', 'ALL: ALL\n', '::ffff:10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.0.0.0/255.0.0.0\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.0.0.0/8\n', 'ALL: ALL\n', '::ffff:10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.0.0.0/08\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.0.0.0/8x\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.1.2.3/32\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.1.2.3/255.255.255.255\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: 10.1.0.0/8\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: 0.0.0.0/0\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: 0.0.0.0/0.0.0.0\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.0.0.0/33\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: 010.0.0.0/8\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: 0x0a.0.0.0/8\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: [2001:db8::1]\n', 'ALL: ALL\n', '2001:db8:0::1', 'granted', 'allow', 1),
    ('sshd: [2001:DB8::1]\n', 'ALL: ALL\n', '2001:db8::1', 'granted', 'allow', 1),
    ('sshd: [2001:db8::]/32\n', 'ALL: ALL\n', '2001:db8::1', 'granted', 'allow', 1),
    ('sshd: [2001:db8::]/32\n', 'ALL: ALL\n', '2001:db9::1', 'denied', 'deny', 1),
    ('sshd: [2001:db8::]/32\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: [::]/0\n', 'ALL: ALL\n', '2001:db8::1', 'granted', 'allow', 1),
    ('sshd: [2001:db8::]/129\n', 'ALL: ALL\n', '2001:db8::1', 'denied', 'deny', 1),
    ('sshd: [::ffff:10.1.2.3]\n', 'ALL: ALL\n', '::ffff:10.1.2.3', 'denied', 'deny', 1),
    ('sshd: 10.1.*.3\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: 10.1.*.3\n', 'ALL: ALL\n', '10.1.2.4', 'denied', 'deny', 1),
    ('sshd: 10.?.2.3\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: FE80*\n', 'ALL: ALL\n', 'fe80::1', 'granted', 'allow', 1),
    ('sshd: .3\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    # unbracketed IPv6: the rule is split at its first ':' → client "2001" and bad options
    ('sshd: 2001:db8::1\n', 'ALL: ALL\n', '2001:db8::1', 'denied', 'deny', 1),
    ('sshd: 10.1.2.3, 2001:db8::1\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'allow', 1),
    # wildcards about names, with the client name unknown
    ('sshd: UNKNOWN\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: KNOWN\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: LOCAL\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: PARANOID\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: .example.com\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    # user@host: the user is unknown
    ('sshd: UNKNOWN@10.1.2.3\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: root@10.1.2.3\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    # daemon@host: the server endpoint is unknown
    ('sshd@ALL: ALL\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd@10.0.0.1: ALL\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd@UNKNOWN: ALL\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('s?hd, ss*: 10.1.2.3\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('22: 10.1.2.3\n', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),  # tcpdmatch knows no port
    # options
    ('sshd: ALL: DENY\n', '', '10.1.2.3', 'denied', 'allow', 1),
    ('', 'sshd: 10.1.2.3: allow\nALL: ALL\n', '10.1.2.3', 'granted', 'deny', 1),
    ('sshd: ALL: spawn echo %a: allow\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    ('sshd: ALL: allow:\n', '', '10.1.2.3', 'denied', 'allow', 1),
    ('sshd: ALL:\n', '', '10.1.2.3', 'denied', 'allow', 1),
    ('sshd: ALL: nice x\n', '', '10.1.2.3', 'denied', 'allow', 1),
    ('sshd: ALL: severity local0.notice : bogus\n', '', '10.1.2.3', 'denied', 'allow', 1),
    ('sshd: ALL: twist /bin/echo 421 go away\n', '', '10.1.2.3', 'denied', 'allow', 1),
    # continuation: the verdict names the first line (tcpdmatch names the last)
    ('sshd \\\n : \\\n 10.1.2.3 : deny\n', '', '10.1.2.3', 'denied', 'allow', 1),
    # a comment line and an indented '#'
    ('#sshd: ALL: deny\n', '', '10.1.2.3', 'granted', None, None),
    ('  # sshd: ALL: deny\n', '', '10.1.2.3', 'denied', 'allow', 1),
    ('sshd: 10.9.9.9 # , 10.1.2.3\n', 'ALL: ALL\n', '10.1.2.3', 'granted', 'allow', 1),
    # a last line without a newline: hosts.allow stops (go on to hosts.deny), hosts.deny denies
    ('sshd: ALL', 'ALL: ALL\n', '10.1.2.3', 'denied', 'deny', 1),
    ('sshd: 10.9.9.9', '', '10.1.2.3', 'granted', None, None),
    ('', 'sshd: 10.9.9.9\nsshd: 10.1.2.3', '10.1.2.3', 'denied', None, None),
    ('', 'sshd: 10.9.9.9\nsshd: 10.1.2.3', '10.9.9.9', 'denied', 'deny', 1),
    # even stray blanks or a lone backslash after the last newline of hosts.deny deny everyone
    ('', 'sshd: 10.9.9.9\n   ', '10.1.2.3', 'denied', None, None),
    ('', 'sshd: 10.9.9.9\n\\', '10.1.2.3', 'denied', None, None),
]


@pytest.mark.parametrize('allow, deny, client, access, table, line', TCPDMATCH_CASES)
def test_evaluate_like_tcpdmatch(allow, deny, client, access, table, line):
    verdict = decide(allow, deny, client, hostname=None, user=None, server_addr=None, server_name=None,
                     server_port=None)
    assert verdict['access'] == access, verdict
    assert verdict['file'] == ('/etc/hosts.%s' % table if table else None), verdict
    assert verdict['line'] == line
    assert verdict['client'] == client and verdict['daemon'] == 'sshd'
    assert verdict['reason']


@pytest.mark.parametrize('allow, deny, client, kwargs, access, reason', [
    # names not resolved: say so instead of guessing
    ('sshd: .example.com\n', 'ALL: ALL\n', '192.0.2.7', {}, 'unknown',
     'needs name resolution: rule uses hostname pattern .example.com'),
    ('sshd: LOCAL\n', 'ALL: ALL\n', '192.0.2.7', {}, 'unknown', 'needs name resolution'),
    ('sshd: KNOWN\n', 'ALL: ALL\n', '192.0.2.7', {}, 'unknown', 'needs name resolution'),
    ('', 'ALL: PARANOID\n', '192.0.2.7', {}, 'unknown', 'needs name resolution'),
    ('sshd: 10.*\n', 'ALL: ALL\n', '192.0.2.7', {}, 'unknown', 'hostname pattern 10.*'),
    # ... unless the address decides first, or the outcome is the same either way
    ('sshd: 192.0.2.7, .example.com\n', 'ALL: ALL\n', '192.0.2.7', {}, 'granted', None),
    ('sshd: .example.com\n', '', '192.0.2.7', {}, 'granted', 'whether or not'),
    ('sshd: ALL EXCEPT .example.com\n', '', '192.0.2.7', {}, 'granted', 'whether or not'),
    # patterns that cannot be a host name need no lookup
    ('sshd: [2001:db8::1]\n', 'ALL: ALL\n', '192.0.2.7', {}, 'denied', None),
    ('sshd: 192.168.\n', 'ALL: ALL\n', '192.0.2.7', {}, 'denied', None),
    # a known name
    ('sshd: .example.com\n', 'ALL: ALL\n', '192.0.2.7', {'hostname': 'web1.Example.com'}, 'granted', None),
    ('sshd: LOCAL\n', 'ALL: ALL\n', '192.0.2.7', {'hostname': 'web1'}, 'granted', None),
    ('sshd: KNOWN\n', 'ALL: ALL\n', '192.0.2.7', {'hostname': 'web1'}, 'granted', None),
    ('', 'ALL: PARANOID\n', '192.0.2.7', {'hostname': tw.PARANOID_NAME}, 'denied', None),
    ('sshd: web?.example.com\n', 'ALL: ALL\n', '192.0.2.7', {'hostname': 'web1.example.com'}, 'granted', None),
    # IDENT, netgroups, server endpoints, aclexec
    ('sshd: root@192.0.2.7\n', 'ALL: ALL\n', '192.0.2.7', {}, 'unknown', 'IDENT'),
    ('sshd: ALL@192.0.2.7\n', 'ALL: ALL\n', '192.0.2.7', {}, 'granted', None),
    ('sshd: @admins\n', 'ALL: ALL\n', '192.0.2.7', {}, 'unknown', 'netgroup @admins'),
    ('sshd@192.0.2.1: ALL\n', 'ALL: ALL\n', '192.0.2.7', {}, 'unknown', 'server address'),
    ('sshd@192.0.2.1: ALL\n', 'ALL: ALL\n', '192.0.2.7', {'server_addr': '192.0.2.1'}, 'granted', None),
    ('sshd: ALL: aclexec /usr/local/bin/geoip-check %a\n', 'ALL: ALL\n', '192.0.2.7', {}, 'unknown',
     'aclexec'),
    # port numbers as daemon patterns (real sshd 9.2p1 + libwrap 7.6.q-32 in a private mount
    # namespace: "2299: ALL" in hosts.deny refused connections to port 2299, not to 2298)
    ('', '2299: ALL\n', '192.0.2.7', {}, 'unknown', 'needs the server port'),
    ('', '2299: ALL\n', '192.0.2.7', {'server_port': 2299}, 'denied', None),
    ('', '2299: ALL\n', '192.0.2.7', {'server_port': 2298}, 'granted', None),
    # twist: the connection goes to a command, not to sshd
    ('sshd: ALL: twist /bin/echo 421 go away\n', '', '192.0.2.7', {}, 'denied', 'handed to the command'),
])
def test_evaluate_three_valued(allow, deny, client, kwargs, access, reason):
    verdict = decide(allow, deny, client, **kwargs)
    assert verdict['access'] == access, verdict
    if reason:
        assert reason in verdict['reason'], verdict


@pytest.mark.parametrize('files, access, reason', [
    ({'/etc/ssh/allowed': '# admins\n192.0.2.0/255.255.255.0 [2001:db8::]/32\n'}, 'granted', None),
    ({'/etc/ssh/allowed': '198.51.100.\n'}, 'denied', None),
    ({'/etc/ssh/allowed': None}, 'denied', None),  # missing: matches nothing
    ({'/etc/ssh/allowed': '/etc/ssh/more\n', '/etc/ssh/more': '192.0.2.7\n'}, 'granted', None),
    ({'/etc/ssh/allowed': tw.file_error('no permission to read /etc/ssh/allowed: run with become: true')},
     'unknown', 'cannot read pattern file /etc/ssh/allowed'),
    ({'/etc/ssh/allowed': tw.file_error('cannot read', certain=True)}, 'denied', None),
    ({}, 'unknown', 'was not read'),
])
def test_evaluate_pattern_files(files, access, reason):
    verdict = decide('sshd: /etc/ssh/allowed\n', 'ALL: ALL\n', '192.0.2.7', hostname=None, user=None, files=files)
    assert verdict['access'] == access, verdict
    if reason:
        assert reason in verdict['reason']


def test_pattern_files_listed():
    rules, _e = tw.parse('sshd: /etc/a, root@/etc/b EXCEPT 10.0.0.1\nsshd@/etc/c: ALL\n', 'x')
    assert tw.pattern_files(rules) == ['/etc/a', '/etc/b', '/etc/c']


@pytest.mark.parametrize('stop, access', [
    ({'allow': {'line': None, 'reason': 'no permission', 'certain': False}}, 'unknown'),
    ({'deny': {'line': None, 'reason': 'no permission', 'certain': True}}, 'denied'),
    ({'allow': {'line': None, 'reason': 'cannot open', 'certain': True}}, 'granted'),
])
def test_evaluate_unreadable_tables(stop, access):
    verdict = tw.evaluate([], [], 'sshd', '192.0.2.7', hostname=None, stops=stop)
    assert verdict['access'] == access


# ---------------------------------------------------------------------------------------
# links_libwrap and collect with a fake System
# ---------------------------------------------------------------------------------------
# ldd /usr/sbin/sshd on Debian 12 (openssh-server 1:9.2p1-2+deb12u5), first lines
LDD_SSHD = '''\tlinux-vdso.so.1 (0x00007fa765cbd000)
\tlibcrypt.so.1 => /lib/x86_64-linux-gnu/libcrypt.so.1 (0x00007fa765b36000)
\tlibwrap.so.0 => /lib/x86_64-linux-gnu/libwrap.so.0 (0x00007fa765b2a000)
\tlibaudit.so.1 => /lib/x86_64-linux-gnu/libaudit.so.1 (0x00007fa765af9000)
\tlibpam.so.0 => /lib/x86_64-linux-gnu/libpam.so.0 (0x00007fa765ae7000)
'''
LDD_NO_WRAP = '''\tlinux-vdso.so.1 (0x00007ffd1d3f5000)
\tlibcrypto.so.3 => /lib/x86_64-linux-gnu/libcrypto.so.3 (0x00007f0b2a600000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0b2a41f000)
'''


class FakeSystem:
    def __init__(self, files=None, commands=None, env=None, euid=0, binaries=('ldd', 'sshd')):
        self.files = files or {}
        self.commands = commands or {}
        self.env = env or {}
        self.euid = euid
        self.binaries = binaries
        self.ran = []

    def which(self, name):
        return '/usr/sbin/' + name if name in self.binaries else None

    def getenv(self, name, default=None):
        return self.env.get(name, default)

    def exists(self, path):
        return path in self.files

    def read(self, path, max_bytes=None):
        value = self.files.get(path)
        if value is None:
            raise OSError(errno.ENOENT, 'No such file or directory')
        if isinstance(value, OSError):
            raise value
        return value

    def read_bytes(self, path, max_bytes=None):
        value = self.read(path)
        return value if isinstance(value, bytes) else value.encode('latin-1')

    def run(self, argv, timeout=15, data=None, cache=False):
        self.ran.append(tuple(argv))
        if argv[0] not in self.binaries:
            return CommandResult(argv, None, '', '', error='%s not found' % argv[0])
        rc, out, err = self.commands.get(tuple(argv), (1, '', 'not a dynamic executable'))
        return CommandResult(argv, rc, out, err)


@pytest.mark.parametrize('files, commands, binaries, expected', [
    ({'/usr/sbin/sshd': 'ELF'}, {('ldd', '/usr/sbin/sshd'): (0, LDD_SSHD, '')}, ('ldd',), True),
    ({'/usr/sbin/sshd': 'ELF'}, {('ldd', '/usr/sbin/sshd'): (0, LDD_NO_WRAP, '')}, ('ldd',), False),
    # no ldd: the DT_NEEDED string in the binary
    ({'/usr/sbin/sshd': '\x7fELF\x00libwrap.so.0\x00libpam.so.0'}, {}, (), True),
    ({'/usr/sbin/sshd': '\x7fELF\x00libpam.so.0'}, {}, (), False),
    ({'/usr/sbin/sshd': OSError(errno.EACCES, 'Permission denied')}, {}, (), None),
    ({}, {}, ('ldd',), None),
])
def test_links_libwrap(files, commands, binaries, expected):
    system = FakeSystem(files=files, commands=commands, binaries=binaries)
    value, checked, reason = tw.links_libwrap(system, ['/usr/sbin/sshd', '/usr/lib/openssh/sshd-session'])
    assert value is expected
    assert (reason is None) is (expected is not None)
    assert set(checked) <= {'/usr/sbin/sshd'}


def test_links_libwrap_sshd_session_counts():
    system = FakeSystem(files={'/usr/sbin/sshd': 'x', '/usr/lib/openssh/sshd-session': 'y'},
                        commands={('ldd', '/usr/sbin/sshd'): (0, LDD_NO_WRAP, ''),
                                  ('ldd', '/usr/lib/openssh/sshd-session'): (0, LDD_SSHD, '')})
    value, checked, _r = tw.links_libwrap(system, ['/usr/sbin/sshd', '/usr/lib/openssh/sshd-session'])
    assert value is True
    assert checked == {'/usr/sbin/sshd': False, '/usr/lib/openssh/sshd-session': True}


# readelf -d agrees with elf_needed() on these (checked for all four classes and byte orders),
# and elf_needed() agrees with readelf -d on every ELF file of a Debian 12 host (1,754 files).
def build_elf(needed, bits=64, order='<', dynamic=True):
    """A minimal ELF file: one PT_LOAD mapping the whole file at 0x400000 and, with ``dynamic``, a
    PT_DYNAMIC segment whose DT_NEEDED entries name ``needed`` in its DT_STRTAB string table."""
    wide = bits == 64
    ehsize, phentsize, base = (64, 56, 0x400000) if wide else (52, 32, 0x8048000)
    phnum = 2 if dynamic else 1
    strtab_off = ehsize + phnum * phentsize
    strtab, offsets = b'\0', []
    for name in needed:
        offsets.append(len(strtab))
        strtab += name.encode() + b'\0'
    dyn_off = strtab_off + len(strtab) + (-(strtab_off + len(strtab)) % 8)
    entries = [(1, offset) for offset in offsets] + [(5, base + strtab_off), (10, len(strtab)), (0, 0)]
    dyn = b''.join(struct.pack(order + ('qQ' if wide else 'iI'), tag, value) for tag, value in entries)
    total = dyn_off + len(dyn)
    ident = b'\x7fELF' + bytes([2 if wide else 1, 1 if order == '<' else 2, 1]) + b'\0' * 9
    if wide:
        header = ident + struct.pack(order + 'HHIQQQIHHHHHH', 3, 62, 1, 0, ehsize, 0, 0, ehsize, phentsize, phnum, 64, 0, 0)
        phdrs = struct.pack(order + 'IIQQQQQQ', 1, 5, 0, base, base, total, total, 0x1000)
        phdrs += struct.pack(order + 'IIQQQQQQ', 2, 6, dyn_off, base + dyn_off, base + dyn_off, len(dyn), len(dyn), 8)
    else:
        header = ident + struct.pack(order + 'HHIIIIIHHHHHH', 3, 3, 1, 0, ehsize, 0, 0, ehsize, phentsize, phnum, 40, 0, 0)
        phdrs = struct.pack(order + 'IIIIIIII', 1, 0, base, base, total, total, 5, 0x1000)
        phdrs += struct.pack(order + 'IIIIIIII', 2, dyn_off, base + dyn_off, base + dyn_off, len(dyn), len(dyn), 6, 4)
    data = header + phdrs[:phnum * phentsize] + strtab
    return data + b'\0' * (dyn_off - len(data)) + (dyn if dynamic else b'')


@pytest.mark.parametrize('bits, order', [(64, '<'), (64, '>'), (32, '<'), (32, '>')])
def test_elf_needed_reads_the_dynamic_section(bits, order):
    names = ['libcrypt.so.1', 'libwrap.so.0', 'libc.so.6']
    assert tw.elf_needed(build_elf(names, bits, order)) == names


@pytest.mark.parametrize('data', [
    build_elf([], dynamic=False),                               # static: no PT_DYNAMIC, ldd is asked
    build_elf(['libwrap.so.0'])[:100],                          # truncated
    b'#!/bin/sh\nexec /usr/sbin/sshd.real "$@"\n',             # a wrapper script
    b'\x7fELF\x02\x01\x01' + b'\0' * 9 + b'libwrap.so.0\0',    # ELF magic, no headers
    b'',
])
def test_elf_needed_is_none_when_it_cannot_tell(data):
    assert tw.elf_needed(data) is None


def test_elf_needed_no_libraries():
    assert tw.elf_needed(build_elf([])) == []


@pytest.mark.skipif(not os.path.exists('/usr/sbin/sshd'), reason='no /usr/sbin/sshd on this machine')
def test_elf_needed_of_this_hosts_sshd():
    with open('/usr/sbin/sshd', 'rb') as handle:
        needed = tw.elf_needed(handle.read())
    assert needed and 'libc.so.6' in needed


@pytest.mark.parametrize('needed, expected', [
    (['libcrypt.so.1', 'libwrap.so.0', 'libc.so.6'], True),      # Debian's sshd (or sshd-session from 9.8)
    (['libcrypt.so.1', 'libc.so.6'], False),
])
def test_libwrap_check_reads_dt_needed_without_running_ldd(needed, expected):
    system = FakeSystem(files={'/usr/sbin/sshd': build_elf(needed)},
                        commands={('ldd', '/usr/sbin/sshd'): (0, LDD_NO_WRAP if expected else LDD_SSHD, '')})
    value, binaries, reason = tw.libwrap_check(system, ['/usr/sbin/sshd'])
    assert (value, reason) == (expected, None)
    assert binaries == [{'path': '/usr/sbin/sshd', 'libwrap': expected, 'method': 'elf'}]
    assert system.ran == []


def test_libwrap_check_sshd_session_links_libwrap():
    # OpenSSH 9.8 and later: connections are handled by sshd-session, which may be the one that links it
    system = FakeSystem(files={'/usr/sbin/sshd': build_elf(['libc.so.6']),
                               '/usr/lib/openssh/sshd-session': build_elf(['libwrap.so.0', 'libc.so.6'])})
    value, binaries, _r = tw.libwrap_check(system, ['/usr/sbin/sshd', '/usr/lib/openssh/sshd-session'])
    assert value is True and [(b['libwrap'], b['method']) for b in binaries] == [(False, 'elf'), (True, 'elf')]
    assert system.ran == []


def test_libwrap_check_static_binary_falls_back_to_ldd_then_bytes():
    static = build_elf([], dynamic=False)
    system = FakeSystem(files={'/usr/sbin/sshd': static},
                        commands={('ldd', '/usr/sbin/sshd'): (1, '', '\tnot a dynamic executable\n')})
    value, binaries, _r = tw.libwrap_check(system, ['/usr/sbin/sshd'])
    assert system.ran == [('ldd', '/usr/sbin/sshd')]
    assert value is False and binaries == [{'path': '/usr/sbin/sshd', 'libwrap': False, 'method': 'elf'}]


PARAMS = {'allow_path': '/etc/hosts.allow', 'deny_path': '/etc/hosts.deny', 'daemon': 'sshd', 'clients': None,
          'sshd_path': None}


def sshd_files(**extra):
    files = {'/usr/sbin/sshd': 'ELF', '/etc/hosts.allow': DEBIAN_ALLOW + 'sshd: 192.0.2.0/24 /etc/ssh/admins\n',
             '/etc/hosts.deny': DEBIAN_DENY + 'sshd: ALL\n', '/etc/ssh/admins': '[2001:db8::]/32\n'}
    files.update(extra)
    return files


def test_collect_controller_address():
    system = FakeSystem(files=sshd_files(), commands={('ldd', '/usr/sbin/sshd'): (0, LDD_SSHD, '')},
                        env={'SSH_CONNECTION': '198.51.100.9 50022 192.0.2.1 22'})
    fact = tw.collect(system, dict(PARAMS))
    assert fact['status'] == 'ok' and fact['reason'] is None
    assert fact['libwrap_in_use'] is True
    assert fact['clients'] == ['198.51.100.9'] and fact['clients_source'] == 'controller'
    assert [(r['file'], r['line']) for r in fact['rules']] == [('/etc/hosts.allow', 11), ('/etc/hosts.deny', 17)]
    assert fact['verdicts'] == [{
        'client': '198.51.100.9', 'daemon': 'sshd', 'access': 'denied', 'file': '/etc/hosts.deny', 'line': 17,
        'end_line': 17, 'reason': '/etc/hosts.deny line 17 matches in the deny file', 'options': []}]


@pytest.mark.parametrize('deny, access', [
    ('sshd@192.0.2.1: 198.51.100.9\n', 'denied'),
    ('sshd@192.0.2.2: 198.51.100.9\n', 'granted'),
    ('22: ALL\n', 'denied'),
    ('2222: ALL\n', 'granted'),
])
def test_collect_uses_the_controller_connection_endpoint(deny, access):
    system = FakeSystem(files=sshd_files(**{'/etc/hosts.deny': deny}),
                        commands={('ldd', '/usr/sbin/sshd'): (0, LDD_SSHD, '')},
                        env={'SSH_CONNECTION': '198.51.100.9 50022 192.0.2.1 22'})
    fact = tw.collect(system, dict(PARAMS))
    assert fact['verdicts'][0]['access'] == access
    assert fact['files'] == [{'path': '/etc/hosts.allow', 'exists': True, 'readable': True},
                             {'path': '/etc/hosts.deny', 'exists': True, 'readable': True}]


def test_collect_clients_option_and_pattern_file():
    system = FakeSystem(files=sshd_files(), commands={('ldd', '/usr/sbin/sshd'): (0, LDD_SSHD, '')})
    fact = tw.collect(system, dict(PARAMS, clients=['192.0.2.7', '2001:DB8::7', '203.0.113.1']))
    assert [v['access'] for v in fact['verdicts']] == ['granted', 'granted', 'denied']
    assert fact['clients'] == ['192.0.2.7', '2001:db8::7', '203.0.113.1']


def test_collect_no_controller_address():
    system = FakeSystem(files=sshd_files(), commands={('ldd', '/usr/sbin/sshd'): (0, LDD_SSHD, '')})
    fact = tw.collect(system, dict(PARAMS))
    assert fact['clients'] == [] and fact['verdicts'] == []
    assert fact['clients_source'] == 'none'
    assert 'SSH_CONNECTION' in fact['clients_note']


@pytest.mark.parametrize('client', ['host.example.com', '10.0.0.0/8', '10.1.2', ''])
def test_collect_bad_client(client):
    with pytest.raises(OptionError) as info:
        tw.collect(FakeSystem(files=sshd_files()), dict(PARAMS, clients=[client]))
    assert repr(client) in str(info.value) and 'IPv4' in str(info.value)


def test_collect_unreadable_as_user():
    denied = OSError(errno.EACCES, 'Permission denied')
    system = FakeSystem(files=sshd_files(**{'/etc/hosts.deny': denied, '/etc/ssh/admins': denied}),
                        commands={('ldd', '/usr/sbin/sshd'): (0, LDD_SSHD, '')}, euid=1000)
    fact = tw.collect(system, dict(PARAMS, clients=['203.0.113.1', '192.0.2.7']))
    assert fact['status'] == 'partial'
    assert 'become' in fact['reason']
    assert fact['files'][1] == {'path': '/etc/hosts.deny', 'exists': True, 'readable': False}
    # 203.0.113.1 reaches the unreadable pattern file, then the unreadable deny file
    assert fact['verdicts'][0]['access'] == 'unknown'
    assert fact['verdicts'][1]['access'] == 'granted'
    assert any('/etc/ssh/admins' in e['reason'] for e in fact['errors'])


def test_collect_missing_tables_and_no_sshd():
    system = FakeSystem(files={}, binaries=())
    fact = tw.collect(system, dict(PARAMS, clients=['192.0.2.7']))
    assert fact['files'] == [{'path': '/etc/hosts.allow', 'exists': False, 'readable': None},
                             {'path': '/etc/hosts.deny', 'exists': False, 'readable': None}]
    assert fact['verdicts'][0]['access'] == 'granted'
    assert fact['libwrap_in_use'] is None
    assert fact['status'] == 'partial' and 'sshd_path' in fact['reason']


# DenyHosts 2.10 appends to /etc/hosts.deny (its "# DenyHosts:" lines are comments);
# fail2ban's action.d/hostsdeny.conf (0.8.x: 'echo "ALL: $IP" >> <file>') appends "ALL: <ip>"
# lines, IPv6 addresses included as they are.
DENYHOSTS = '''# /etc/hosts.deny
# DenyHosts: Sat Nov 21 03:12:44 2026 | sshd: 203.0.113.50
sshd: 203.0.113.50
# DenyHosts: Sat Nov 21 04:01:02 2026 | sshd: 198.51.100.23
sshd: 198.51.100.23
'''
FAIL2BAN = 'ALL: 192.0.2.200\nALL: 2001:db8::bad\n'


@pytest.mark.parametrize('deny, client, access, line', [
    (DENYHOSTS, '198.51.100.23', 'denied', 5),
    (DENYHOSTS, '198.51.100.24', 'granted', None),
    # an IPv6 address written without brackets: libwrap never matches it
    (FAIL2BAN, '2001:db8::bad', 'granted', None),
    (FAIL2BAN, '192.0.2.200', 'denied', 1),
])
def test_ban_tools(deny, client, access, line):
    system = FakeSystem(files=sshd_files(**{'/etc/hosts.deny': deny, '/etc/hosts.allow': DEBIAN_ALLOW}))
    fact = tw.collect(system, dict(PARAMS, clients=[client]))
    assert (fact['verdicts'][0]['access'], fact['verdicts'][0]['line']) == (access, line)
    if deny == FAIL2BAN:
        assert any('without brackets' in e['reason'] and e['line'] == 2 for e in fact['errors'])


def test_many_rules_are_evaluated_but_listed_up_to_the_cap():
    deny = ''.join('sshd: 10.%d.%d.%d\n' % (i // 65536, i // 256 % 256, i % 256) for i in range(3000))
    system = FakeSystem(files=sshd_files(**{'/etc/hosts.deny': deny, '/etc/hosts.allow': ''}))
    fact = tw.collect(system, dict(PARAMS, clients=['10.0.11.183']))
    assert fact['rules_total'] == 3000 and len(fact['rules']) == tw.MAX_RULES
    assert fact['verdicts'][0]['access'] == 'denied' and fact['verdicts'][0]['line'] == 3000


def test_collect_sshd_path_option():
    system = FakeSystem(files={'/opt/sshd': 'x'}, commands={('ldd', '/opt/sshd'): (0, LDD_NO_WRAP, '')})
    fact = tw.collect(system, dict(PARAMS, clients=[], sshd_path='/opt/sshd'))
    assert fact['libwrap_in_use'] is False and fact['libwrap_binaries'] == {'/opt/sshd': False}
