# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The remediate role's filters. remediate_exempt_list: the PerSourcePenaltyExemptList merge, fed
the way the role feeds it (sshd -T text -> sshd_facts' typed config -> filter)."""

from __future__ import annotations

import inspect
import json
import os
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.connreset.doctor.plugins.filter.remediate import (
    FilterModule, MAX_ENTRIES, MAX_FILE_LINES, remediate_exempt_list,
)
from ansible_collections.connreset.doctor.plugins.module_utils._sshd import parse_sshd_T, typed_config
from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue

FILTERS = FilterModule().filters()
CONTROLLER = '10.213.13.1'  # a lab controller (tests/lab/lab.py NET_PREFIX 10.213.<7+LAB_ID>.)


def collected(sshd_T_line):
    """What sshd_facts returns in config.values.persourcepenaltyexemptlist for one sshd -T line
    (None: the line is absent, as on OpenSSH < 9.8)."""
    text = '' if sshd_T_line is None else 'maxstartups 10:30:100\n' + sshd_T_line + '\nport 22\n'
    return typed_config(parse_sshd_T(text))['persourcepenaltyexemptlist']


# sshd -T lines, as servconf.c dump_config() prints them at V_9_8_P1 and V_10_0_P1:
# dump_cfg_string(sPerSourcePenaltyExemptList, o->per_source_penalty_exempt) ->
# printf("%s %s\n", "persourcepenaltyexemptlist", val == NULL ? "none" : val); the value is the
# single config argument, verbatim.
# (line, controller, admin networks, expected value, expected added)
MERGES = [
    # OpenSSH 9.2 (Debian 12): no such keyword, sshd -T has no line
    (None, CONTROLLER, [], '10.213.13.1/32', ['10.213.13.1/32']),
    # 9.8+ default: no list
    ('persourcepenaltyexemptlist none', CONTROLLER, [], '10.213.13.1/32', ['10.213.13.1/32']),
    # one entry
    ('persourcepenaltyexemptlist 10.0.0.0/8', CONTROLLER, [], '10.0.0.0/8,10.213.13.1/32', ['10.213.13.1/32']),
    # many entries, order kept, admin networks after the controller
    ('persourcepenaltyexemptlist 192.168.0.0/16,10.0.0.0/8,2001:db8::/32,198.51.100.7', CONTROLLER,
     ['203.0.113.0/24'], '192.168.0.0/16,10.0.0.0/8,2001:db8::/32,198.51.100.7,10.213.13.1/32,203.0.113.0/24',
     ['10.213.13.1/32', '203.0.113.0/24']),
    # the controller already there, with and without its /32: nothing added (idempotent)
    ('persourcepenaltyexemptlist 10.0.0.0/8,10.213.13.1/32', CONTROLLER, [], '10.0.0.0/8,10.213.13.1/32', []),
    ('persourcepenaltyexemptlist 10.213.13.1,10.0.0.0/8', CONTROLLER, [], '10.213.13.1,10.0.0.0/8', []),
    # an admin network already there (same network, other spelling of the v6 address)
    ('persourcepenaltyexemptlist 2001:DB8:0::/32', CONTROLLER, ['2001:db8::/32'], '2001:DB8:0::/32,10.213.13.1/32',
     ['10.213.13.1/32']),
    # IPv6 controller -> /128; compressed lower-case form
    ('persourcepenaltyexemptlist 10.0.0.0/8', '2001:DB8:0:0::10', [], '10.0.0.0/8,2001:db8::10/128',
     ['2001:db8::10/128']),
    # wildcard patterns and negations are kept verbatim (addrmatch.c: not CIDR -> match_pattern)
    ('persourcepenaltyexemptlist 10.1.*,!10.1.2.3,fe80::?', CONTROLLER, [], '10.1.*,!10.1.2.3,fe80::?,10.213.13.1/32',
     ['10.213.13.1/32']),
    # no controller known, admin networks only
    ('persourcepenaltyexemptlist none', '', ['10.20.0.0/16', '192.0.2.9'], '10.20.0.0/16,192.0.2.9',
     ['10.20.0.0/16', '192.0.2.9']),
    # nothing to add and nothing there
    (None, '', [], '', []),
    # duplicates in the admin networks themselves
    (None, CONTROLLER, ['10.20.0.0/16', '10.20.0.0/16', '10.213.13.1'], '10.213.13.1/32,10.20.0.0/16',
     ['10.213.13.1/32', '10.20.0.0/16']),
]


@pytest.mark.parametrize('line, controller, admin, value, added', MERGES)
def test_merge_from_collected_facts(line, controller, admin, value, added):
    res = FILTERS['remediate_exempt_list'](collected(line), controller, admin)
    assert res['value'] == value
    assert res['entries'] == (value.split(',') if value else [])
    assert res['added'] == added
    assert res['negated'] == []
    # every existing entry is kept, in order, at the front
    assert res['entries'][:len(res['current'])] == res['current']
    # idempotent: the merged list, read back the way the collector reads it, adds nothing
    again = remediate_exempt_list(collected('persourcepenaltyexemptlist ' + value if value else None),
                                  controller, admin)
    assert again['value'] == value and again['added'] == []


# An older collector (and sshd -T itself) gives the text; the role must read it the same way.
@pytest.mark.parametrize('text, entries', [
    ('10.0.0.0/8,192.0.2.7', ['10.0.0.0/8', '192.0.2.7']),
    ('10.0.0.0/8', ['10.0.0.0/8']),
    (' 10.0.0.0/8 , 192.0.2.7 ', ['10.0.0.0/8', '192.0.2.7']),
    ('none', []),
    ('NONE', []),  # servconf.c CLEAR_ON_NONE is strcasecmp
    ('', []),
    (['none'], []),
    (['10.0.0.0/8,192.0.2.7', '198.51.100.0/24'], ['10.0.0.0/8', '192.0.2.7', '198.51.100.0/24']),
    ([], []),
])
def test_current_as_text_or_list(text, entries):
    res = remediate_exempt_list(text, CONTROLLER)
    assert res['current'] == entries
    assert res['value'] == ','.join(entries + ['10.213.13.1/32'])


def test_the_old_role_corruption_is_gone():
    # issue 11: `| string` and `.split(',')` of the collector's list gave "['10.0.0.0/8'" entries
    res = remediate_exempt_list(['10.0.0.0/8', '192.0.2.7'], CONTROLLER)
    assert res['value'] == '10.0.0.0/8,192.0.2.7,10.213.13.1/32'
    assert not any(c in res['value'] for c in "[]' ")


# addr_match_list(): a matching negated entry makes the address never exempt, whatever the order.
NEGATIONS = [
    ('!10.213.13.1', ['!10.213.13.1']),
    ('10.0.0.0/8,!10.213.13.0/24', ['!10.213.13.0/24']),
    ('!10.213.13.1/32,10.213.13.1/32', ['!10.213.13.1/32']),
    ('!10.213.*', ['!10.213.*']),
    ('!10.213.13.?', ['!10.213.13.?']),
    ('!10.213.14.0/24,!2001:db8::/32,!10.213.13.1?', []),  # other network, other family, one char more
    ('10.213.13.1', []),
]


@pytest.mark.parametrize('current, negated', NEGATIONS)
def test_negated_entries_that_match_the_controller(current, negated):
    res = remediate_exempt_list(current, CONTROLLER)
    assert res['negated'] == negated
    assert res['entries'][:len(res['current'])] == res['current']


@pytest.mark.parametrize('controller, admin, message', [
    ('ctl.example.com', [], "controller address 'ctl.example.com' is not an IP address"),
    ('10.0.0.0/24', [], "controller address '10.0.0.0/24' is not an IP address"),
    (CONTROLLER, ['10.0.0.1/8'], "'10.0.0.1/8' is invalid: sshd rejects it"),
    (CONTROLLER, ['10.0.0.0/33'], "'10.0.0.0/33' is invalid: sshd rejects it"),
    (CONTROLLER, ['10.0.*'], "'10.0.*' is invalid: it is not an address or a CIDR network"),
    (CONTROLLER, ['10.0.0.0/8 192.0.2.0/24'], 'is invalid: it is not one network'),
    (CONTROLLER, ['10.0.0.0/8,192.0.2.0/24'], 'is invalid: it is not one network'),
    (CONTROLLER, ['!10.0.0.0/8'], 'is invalid: it is not one network'),
    (CONTROLLER, [''], "'' is invalid: it is empty"),
    (CONTROLLER, '10.0.0.0/8', 'remediate_admin_networks must be a list'),
])
def test_bad_input_is_a_clear_error(controller, admin, message):
    with pytest.raises(AnsibleFilterError, match='remediate_exempt_list') as err:
        remediate_exempt_list(['10.0.0.0/8'], controller, admin)
    assert message in str(err.value)


@pytest.mark.parametrize('current, message', [
    ({'a': 1}, 'must be a list of entries or a comma-separated string'),
    ([10], 'is int (10), not a string'),
    (','.join(['10.0.%d.%d' % divmod(i, 256) for i in range(MAX_ENTRIES + 1)]), 'more than %d entries' % MAX_ENTRIES),
])
def test_bad_current_list_is_a_clear_error(current, message):
    with pytest.raises(AnsibleFilterError) as err:
        remediate_exempt_list(current, CONTROLLER)
    assert message in str(err.value)


# remediate_values: the facts as the collectors return them (Debian 12 and 13 defaults: sshd -T
# maxstartups 10:30:100, clientaliveinterval 0, clientalivecountmax 3; kernel tcp_keepalive_time
# 7200, intvl 75, probes 9; tcp_mtu_probing 0) and the numbers docs/remediate.md promises.
DEBIAN_SSHD = typed_config(parse_sshd_T('maxstartups 10:30:100\nclientaliveinterval 0\nclientalivecountmax 3\n'))
KERNEL_TCP = {'tcp_keepalive_time': 7200, 'tcp_keepalive_intvl': 75, 'tcp_keepalive_probes': 9}
VALUES = [
    # defaults of the role (50 connections, T = 350 s, AWS NAT gateway) on a stock host with 24 GiB
    ({'sshd_values': DEBIAN_SSHD, 'tcp': KERNEL_TCP, 'conntrack': {'max': 262144, 'count': 12, 'buckets': 65536},
      'memory': {'mem_total_kb': 24576000}, 'mtu': {'tcp_mtu_probing': 0},
      'expected_connections': 50, 'path_idle_timeout': 350},
     {'maxstartups': '50:30:100', 'client_alive_interval': 175, 'client_alive_count_max': 3, 'tcp_keepalive_time': 175,
      'tcp_keepalive_intvl': 35, 'tcp_keepalive_probes': 5, 'conntrack_max': 1536000, 'conntrack_buckets': 384000,
      'tcp_mtu_probing': 1}),
    # the lab's maxstartups fault (MaxStartups 1:100:1), a tight 60 s path, lower values kept,
    # conntrack nearly full (twice the count wins), tcp_mtu_probing 2 kept
    ({'sshd_values': typed_config(parse_sshd_T('maxstartups 1:100:1\nclientaliveinterval 15\nclientalivecountmax 0\n')),
      'tcp': {'tcp_keepalive_time': 600, 'tcp_keepalive_intvl': 10, 'tcp_keepalive_probes': 3},
      'conntrack': {'max': 65536, 'count': 60000, 'buckets': 16384}, 'memory': {'mem_total_kb': 1024000},
      'mtu': {'tcp_mtu_probing': 2}, 'expected_connections': 200, 'path_idle_timeout': 60},
     {'maxstartups': '200:30:400', 'client_alive_interval': 15, 'client_alive_count_max': 3, 'tcp_keepalive_time': 30,
      'tcp_keepalive_intvl': 6, 'tcp_keepalive_probes': 3, 'conntrack_max': 120000, 'conntrack_buckets': 30000,
      'tcp_mtu_probing': 2}),
    # current MaxStartups above what is asked: kept (rate too); T below 20 s: sshd every 10 s at least
    ({'sshd_values': typed_config(parse_sshd_T('maxstartups 100:10:300\nclientaliveinterval 300\nclientalivecountmax 5\n')),
      'tcp': {'tcp_keepalive_time': 0, 'tcp_keepalive_intvl': None}, 'conntrack': {'max': 100, 'count': 0},
      'memory': {'mem_total_kb': 999999999}, 'mtu': {}, 'expected_connections': 5, 'path_idle_timeout': 7},
     {'maxstartups': '100:10:300', 'client_alive_interval': 10, 'client_alive_count_max': 5, 'tcp_keepalive_time': 10,
      'tcp_keepalive_intvl': 5, 'tcp_keepalive_probes': 5, 'conntrack_max': 4194304, 'conntrack_buckets': 1048576,
      'tcp_mtu_probing': 1}),
    # nothing collected (sshd -T unreadable, no conntrack): defaults; options as strings (-e k=v)
    ({'sshd_values': {}, 'tcp': {}, 'conntrack': {}, 'memory': {}, 'mtu': {},
      'expected_connections': '75', 'path_idle_timeout': '350'},
     {'maxstartups': '75:30:150', 'client_alive_interval': 175, 'client_alive_count_max': 3, 'tcp_keepalive_time': 175,
      'tcp_keepalive_intvl': 35, 'tcp_keepalive_probes': 5, 'conntrack_max': 0, 'conntrack_buckets': 0,
      'tcp_mtu_probing': 1}),
    # MaxStartups start == full (sshd -T "maxstartups 10:30:10"): full goes one above start
    ({'sshd_values': typed_config(parse_sshd_T('maxstartups 10:30:10\n')), 'tcp': KERNEL_TCP,
      'conntrack': {'max': 4194304, 'count': 4000000, 'buckets': 1048576}, 'memory': {'mem_total_kb': 100000000},
      'mtu': {'tcp_mtu_probing': 1}, 'expected_connections': 0, 'path_idle_timeout': 1000},
     {'maxstartups': '10:30:11', 'client_alive_interval': 500, 'client_alive_count_max': 3, 'tcp_keepalive_time': 500,
      'tcp_keepalive_intvl': 75, 'tcp_keepalive_probes': 5, 'conntrack_max': 8000000, 'conntrack_buckets': 2000000,
      'tcp_mtu_probing': 1}),
]


@pytest.mark.parametrize('data, expected', VALUES)
def test_values(data, expected):
    assert FILTERS['remediate_values'](data) == expected


@pytest.mark.parametrize('data', [None, [], 'x'])
def test_values_need_a_dict(data):
    with pytest.raises(AnsibleFilterError, match='remediate_values expects a dictionary'):
        FILTERS['remediate_values'](data)


NOW = {'net.ipv4.tcp_keepalive_time': 7200, 'net.ipv4.tcp_keepalive_intvl': 75, 'net.ipv4.tcp_keepalive_probes': 9,
       'net.netfilter.nf_conntrack_max': None, 'net.netfilter.nf_conntrack_buckets': None, 'net.ipv4.tcp_mtu_probing': 0}


@pytest.mark.parametrize('new, stale', [
    ({'net.ipv4.tcp_keepalive_time': 175, 'net.ipv4.tcp_keepalive_intvl': 35, 'net.ipv4.tcp_keepalive_probes': 5},
     ['net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']),
    ({'net.ipv4.tcp_keepalive_time': 7200, 'net.ipv4.tcp_keepalive_probes': '9'}, []),  # running already
    ({'net.netfilter.nf_conntrack_max': 262144}, ['net.netfilter.nf_conntrack_max']),  # unknown now: due
    ({'net.ipv4.tcp_mtu_probing': 1}, ['net.ipv4.tcp_mtu_probing']),
    ({}, []),
])
def test_sysctl_stale(new, stale):
    assert FILTERS['remediate_sysctl_stale'](new, NOW) == stale


@pytest.mark.parametrize('new, expect', [
    ({'MaxStartups': '50:30:100', 'ClientAliveInterval': 175, 'ClientAliveCountMax': 3},
     {'maxstartups': '50:30:100', 'clientaliveinterval': '175', 'clientalivecountmax': '3'}),
    ({'PerSourcePenaltyExemptList': '10.0.0.0/8,10.213.13.1/32'},
     {'persourcepenaltyexemptlist': '10.0.0.0/8,10.213.13.1/32'}),
    ({}, {}),
])
def test_sshd_expect_is_what_sshd_T_prints(new, expect):
    # servconf.c dump_config(): lower-case keyword, a space, the value (dump_cfg_int: "%d")
    assert FILTERS['remediate_sshd_expect'](new) == expect


@pytest.mark.parametrize('name, args', [
    ('remediate_sysctl_stale', ([], {})),
    ('remediate_sysctl_stale', ({}, None)),
    ('remediate_sshd_expect', (['MaxStartups'],)),
])
def test_bad_arguments_are_clear_errors(name, args):
    with pytest.raises(AnsibleFilterError, match=name + ' expects'):
        FILTERS[name](*args)


FILTER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), 'plugins', 'filter')


@pytest.mark.parametrize('name', sorted(FILTERS))
def test_every_filter_is_documented(name):
    # ansible-test sanity's ansible-doc test renders documented filters only (an undocumented one
    # is skipped, not reported): the <name>.yml next to remediate.py must exist and match.
    with open(os.path.join(FILTER_DIR, name + '.yml')) as f:
        doc = yaml.safe_load(f)
    assert doc['DOCUMENTATION']['name'] == name
    assert doc['EXAMPLES'] and doc['RETURN']['_value']['description']
    params = list(inspect.signature(FILTERS[name]).parameters)
    assert ['_input'] + params[1:] == list(doc['DOCUMENTATION']['options'])


# remediate_sshd_problem: sshd -t / sshd -T results as ansible.builtin.command registers them.
# sshd -T lines: servconf.c dump_config() at V_9_2_P1 and V_10_0_P1 ("%s %s\n", lower-case keyword).
SSHD_T_OK = {'rc': 0, 'stdout': '', 'stderr': ''}
DROPIN_PATH = '/etc/ssh/sshd_config.d/01-connreset-doctor.conf'
EXPECT = {'maxstartups': '50:30:100', 'clientaliveinterval': '175', 'clientalivecountmax': '3'}
OVERRIDE = ('sshd -T shows the drop-in does not take effect, another line overrides it (most keywords keep the first '
            'value read, MaxStartups in OpenSSH 9.2 the last): %s. Find it with `grep -riE "^\\s*(%s)\\s" '
            '/etc/ssh/sshd_config /etc/ssh/sshd_config.d`, then fix that line or rename remediate_sshd_dropin')


@pytest.mark.parametrize('expect, sshd_t, sshd_T, problem', [
    (EXPECT, SSHD_T_OK, {'rc': 0, 'stdout': 'port 22\nmaxstartups 50:30:100\nclientaliveinterval 175\n'
                                            'clientalivecountmax 3\nlistenaddress [::]:22\nlistenaddress 0.0.0.0:22\n'}, ''),
    # the lab's maxstartups fault on OpenSSH 9.2 (the last MaxStartups wins there)
    (EXPECT, SSHD_T_OK, {'rc': 0, 'stdout': 'maxstartups 1:100:1\nclientaliveinterval 175\nclientalivecountmax 3\n'},
     OVERRIDE % ('maxstartups is 1:100:1, not 50:30:100', 'maxstartups|clientaliveinterval|clientalivecountmax')),
    # a keyword sshd -T does not print at all (OpenSSH 9.2 has no persourcepenaltyexemptlist)
    ({'persourcepenaltyexemptlist': '10.213.13.1/32'}, SSHD_T_OK, {'rc': 0, 'stdout': 'maxstartups 10:30:100\n'},
     OVERRIDE % ('persourcepenaltyexemptlist is unset, not 10.213.13.1/32', 'persourcepenaltyexemptlist')),
    # sshd -t refused the drop-in (OpenSSH 10.0 wording, servconf.c): its message, stderr first
    ({'persourcepenaltyexemptlist': '10.0.0.1/8'},
     {'rc': 255, 'stdout': '', 'stderr': '/etc/ssh/sshd_config.d/01-connreset-doctor.conf line 4: keyword '
                                         'PerSourcePenaltyExemptList invalid address argument.\n'},
     {'skipped': True},
     'sshd -t rejects the configuration: /etc/ssh/sshd_config.d/01-connreset-doctor.conf line 4: keyword '
     'PerSourcePenaltyExemptList invalid address argument.'),
    ({}, {'rc': 1, 'stdout': 'Bad configuration option\n', 'stderr': ''}, {}, 'sshd -t rejects the configuration: '
     'Bad configuration option'),
    # blank and one-word lines are ignored, values trimmed
    ({'maxstartups': '50:30:100'}, SSHD_T_OK, {'rc': 0, 'stdout': '\nweird\nmaxstartups   50:30:100  \n'}, ''),
])
def test_sshd_problem(expect, sshd_t, sshd_T, problem):
    assert FILTERS['remediate_sshd_problem'](expect, sshd_t, sshd_T, '/etc/ssh/sshd_config', DROPIN_PATH) == problem


@pytest.mark.parametrize('controller, admin, clients', [
    ('10.213.13.1', [], ['10.213.13.1']),
    ('', [], []),
    ('2001:db8::10', ['10.20.0.0/16', '2001:db8::/32', 'fd00::1/128', '192.0.2.9/32', '10.20.0.0/16', '::ffff:10.0.0.1'],
     ['[2001:db8::10]', '10.20.0.0/16', '[2001:db8::]/32', '[fd00::1]', '192.0.2.9', '[::ffff:10.0.0.1]']),
    ('', ['fe80::/10', '10.0.0.0/8', '2001:db8::/128'], ['[fe80::]/10', '10.0.0.0/8', '[2001:db8::]']),
    # not addresses: left as they are (the regex the role used matched none of them)
    ('', ['1.2.3.4:5', 'fe80::1/x', 'a:b/1/2', '1.2:3', 'host.example'],
     ['1.2.3.4:5', 'fe80::1/x', 'a:b/1/2', '1.2:3', 'host.example']),
])
def test_wrappers_clients(controller, admin, clients):
    assert FILTERS['remediate_wrappers_clients'](controller, admin) == clients


@pytest.mark.parametrize('text', ['::1', 'fe80::1/64', 'ABC:def.1', ':', '1.2:3', 'a:b/1/2', 'fe80::1/x', '10.0.0.0/8',
                                  'a' * 30 + ':' + '.' * 30, '1:2/\u0663', 'abc', ''])
def test_v6_brackets_as_the_former_regex(text):
    # the role's former regex_replace, as the oracle (short inputs only)
    from ansible_collections.connreset.doctor.plugins.filter.remediate import _wrap_v6
    assert _wrap_v6(text) == re.sub(r'^([0-9a-fA-F:]*:[0-9a-fA-F:.]*)(/[0-9]+)?$', r'[\1]\2', text, flags=re.ASCII)


# connreset_mtu.interfaces as mtu_facts returns them (name, mtu, ...)
IFACES = [{'name': 'lo', 'mtu': 65536}, {'name': 'eth0', 'mtu': 1500}, {'name': 'eth1', 'mtu': 9001}]


@pytest.mark.parametrize('wanted, changes', [
    ({'eth0': 1450}, [{'iface': 'eth0', 'mtu': 1450, 'old': 1500}]),
    ({'eth0': '1500', 'eth1': 1500}, [{'iface': 'eth1', 'mtu': 1500, 'old': 9001}]),
    ({'eth9': 1400}, []),  # no such interface: nothing
    ({}, []),
])
def test_mtu_changes(wanted, changes):
    assert FILTERS['remediate_mtu_changes'](IFACES, wanted) == changes
    assert FILTERS['remediate_mtu_changes']([], wanted) == []


@pytest.mark.parametrize('name, args, message', [
    ('remediate_sshd_problem', ([], {}, {}, 'a', 'b'), 'remediate_sshd_problem expects a dictionary'),
    ('remediate_wrappers_clients', ('10.0.0.1', '10.0.0.0/8'), 'remediate_admin_networks must be a list'),
    ('remediate_mtu_changes', (IFACES, [1450]), 'remediate_interface_mtu must be a dictionary'),
])
def test_more_bad_arguments(name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS[name](*args)


# The managed files as an earlier run wrote them (templates/*.j2 output) and as users edit them.
DROPIN_BEFORE = ('# Managed by connreset.doctor (role remediate): run the role again rather than editing this file.\n'
                 'ClientAliveInterval 175\nClientAliveCountMax 3\n')


@pytest.mark.parametrize('current, new, lines', [
    (None, {}, []),
    ('', {'MaxStartups': '50:30:100', 'ClientAliveInterval': 175, 'ClientAliveCountMax': 3},
     ['MaxStartups 50:30:100', 'ClientAliveInterval 175', 'ClientAliveCountMax 3']),
    # an earlier keepalive run, now the exemption: both kept, in the fixed order
    (DROPIN_BEFORE, {'PerSourcePenaltyExemptList': '10.0.0.0/8,10.213.13.1/32'},
     ['PerSourcePenaltyExemptList 10.0.0.0/8,10.213.13.1/32', 'ClientAliveInterval 175', 'ClientAliveCountMax 3']),
    # keywords in any case, values trimmed; this run's value wins; the extra text is not kept
    ('clientaliveinterval 100\nMAXSTARTUPS  20:30:60 \n# remediate_extra_sshd_config (testing / advanced use)\n'
     'AllowUsers nobody\nClientAliveCountMax 9\n', {'MaxStartups': '50:30:100'},
     ['MaxStartups 50:30:100', 'ClientAliveInterval 100']),
    # other keywords and a keyword without a value are not the role's
    ('PermitRootLogin no\nClientAliveInterval\n', {}, []),
])
def test_sshd_dropin(current, new, lines):
    assert FILTERS['remediate_sshd_dropin'](current, new) == lines


@pytest.mark.parametrize('current, new, lines', [
    (None, {'net.ipv4.tcp_keepalive_time': 175}, ['net.ipv4.tcp_keepalive_time = 175']),
    ('# Managed by connreset.doctor\nnet.ipv4.tcp_mtu_probing = 1\n; a = b\n  # c = d\nnet.netfilter.nf_conntrack_max=262144\n',
     {'net.ipv4.tcp_keepalive_time': 175, 'net.ipv4.tcp_mtu_probing': 2},
     ['net.ipv4.tcp_keepalive_time = 175', 'net.ipv4.tcp_mtu_probing = 2', 'net.netfilter.nf_conntrack_max = 262144']),
    ('Net.B = 1\nnet.a = 2\nx=y=z\n', {}, ['net.a = 2', 'Net.B = 1', 'x = y=z']),  # sorted ignoring case, as Jinja's sort
])
def test_sysctl_lines(current, new, lines):
    assert FILTERS['remediate_sysctl_lines'](current, new) == lines


HOSTS_ALLOW = ('# /etc/hosts.allow: list of hosts that are allowed to access the system.\n'
               'sshd: 192.168.1.0/24\nALL: LOCAL\n')
HOSTS_ALLOW_AFTER = ('# BEGIN connreset-doctor wrappers_allow (first match wins: keep this block at the top)\n'
                     '# Lets the controller and remediate_admin_networks reach sshd; backups: /var/backups/connreset-doctor\n'
                     'sshd: 10.213.13.1 10.0.0.0/8,[2001:db8::]/32\n# END connreset-doctor wrappers_allow\n' + HOSTS_ALLOW)


@pytest.mark.parametrize('current, clients, merged, rest', [
    (None, ['10.213.13.1'], ['10.213.13.1'], ''),
    (HOSTS_ALLOW, ['10.213.13.1'], ['10.213.13.1'], HOSTS_ALLOW),
    # an earlier run's block: its clients first (commas or spaces), then the new ones, each once
    (HOSTS_ALLOW_AFTER, ['10.213.13.1', '192.0.2.9'], ['10.213.13.1', '10.0.0.0/8', '[2001:db8::]/32', '192.0.2.9'],
     HOSTS_ALLOW),
    # a block left open: everything after its BEGIN is the block's
    ('sshd: ALL\n# BEGIN connreset-doctor wrappers_allow\nsshd: 10.1.1.1\nALL: ALL\n', [], ['10.1.1.1', 'ALL'],
     'sshd: ALL'),
])
def test_hosts_allow(current, clients, merged, rest):
    res = FILTERS['remediate_hosts_allow'](current, clients)
    assert res['clients'] == merged and res['rest'] == rest
    assert (res['begin'], res['end']) == ('# BEGIN connreset-doctor wrappers_allow', '# END connreset-doctor wrappers_allow')


@pytest.mark.parametrize('name, args, message', [
    ('remediate_sshd_dropin', ('', ['MaxStartups']), 'remediate_sshd_dropin expects'),
    ('remediate_sysctl_lines', ('', None), 'remediate_sysctl_lines expects'),
    ('remediate_hosts_allow', ('', '10.0.0.1'), 'remediate_hosts_allow expects'),
    ('remediate_sysctl_lines', ('x\n' * (MAX_FILE_LINES + 1), {}), 'more than %d lines' % MAX_FILE_LINES),
])
def test_file_filters_bad_input(name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS[name](*args)


# remediate_plan: what the role decides per host, from real reset_facts results of clean lab hosts
# (tests/unit/plugins/plugin_utils/fixtures/facts_<suite>_clean.json: OpenSSH 8.4p1 / 9.2p1 / 10.0p2).
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'plugin_utils', 'fixtures')
PATHS = {'sshd_dropin': DROPIN_PATH, 'sysctl_file': '/etc/sysctl.d/60-connreset-doctor.conf',
         'modprobe_file': '/etc/modprobe.d/connreset-doctor.conf', 'hosts_allow': '/etc/hosts.allow'}
EVERY_FIX = [('CRD-SSHD-001', 'sshd_service'), ('CRD-SSHD-003', 'sshd_restart_policy'),
             ('CRD-SSHD-004', 'sshd_maxstartups'), ('CRD-SSHD-007', 'sshd_penalty_exempt'), ('CRD-IDLE-001', 'keepalive'),
             ('CRD-CT-001', 'conntrack_max'), ('CRD-MTU-001', 'mtu_probing'), ('CRD-WRAP-001', 'wrappers_allow'),
             ('CRD-FW-004', 'unban'), ('CRD-OOM-002', None)]


def lab_facts(suite):
    with open(os.path.join(FIXTURES, 'facts_%s_clean.json' % suite), encoding='utf-8') as handle:
        doc = json.load(handle)
    return doc['_origin'], doc['facts']


def plan(facts, fixes, findings=None, **options):
    data = {'facts': facts, 'findings': [{'id': i, 'fix': f, 'title': i} for i, f in EVERY_FIX] if findings is None
            else findings, 'fixes': fixes, 'controller_address': '', 'admin_networks': [], 'expected_connections': 50,
            'path_idle_timeout': 350, 'interface_mtu': {}, 'extra_sshd_config': '', 'paths': PATHS}
    data.update(options)
    return FILTERS['remediate_plan'](data)


@pytest.mark.parametrize('suite, supported', [('bullseye', False), ('bookworm', False), ('trixie', True)])
def test_plan_on_real_lab_facts(suite, supported):
    origin, facts = lab_facts(suite)
    out = plan(facts, ['keepalive', 'sshd_maxstartups', 'sshd_penalty_exempt', 'conntrack_max', 'mtu_probing'])
    assert out['selected'] == ['conntrack_max', 'keepalive', 'mtu_probing', 'sshd_maxstartups', 'sshd_penalty_exempt']
    assert out['controller'] == origin['controller'] == facts['connreset_meta']['controller']  # SSH_CONNECTION
    assert out['manager'] == 'systemd' and out['unit'] == 'ssh.service'
    assert out['penalty_supported'] is supported and out['do']['penalty'] is supported
    expected = {'MaxStartups': '50:30:100', 'ClientAliveInterval': 175, 'ClientAliveCountMax': 3}
    if supported:
        expected['PerSourcePenaltyExemptList'] = origin['controller'] + '/32'
    assert out['sshd_new'] == expected
    assert out['sshd_expect']['maxstartups'] == '50:30:100'
    assert out['sysctl_new']['net.ipv4.tcp_keepalive_time'] == 175 and out['sysctl_new']['net.ipv4.tcp_mtu_probing'] == 1
    assert 'net.ipv4.tcp_keepalive_time' in out['sysctl_stale_keys']  # the kernel default 7200 is running
    assert [f['template'] for f in out['files']][:2] == ['sshd_dropin.conf.j2', 'sysctl.conf.j2']
    assert out['reload_line'] == 'reload systemd ssh.service'
    assert out['unknown_fixes'] == [] and out['bans'] == [] and out['mtu_changes'] == []


def test_plan_selects_by_finding_id_and_only_findings_of_the_host():
    _origin, facts = lab_facts('bookworm')
    out = plan(facts, ['CRD-WRAP-001', 'unban'], findings=[{'id': 'CRD-WRAP-001', 'fix': 'wrappers_allow'},
                                                           {'id': 'CRD-OOM-002', 'fix': None}])
    assert out['selected'] == ['wrappers_allow']  # no finding of this host names unban
    assert [f['id'] for f in out['with_fix']] == ['CRD-WRAP-001']
    assert out['do']['wrappers'] and out['wrappers_clients'] == ['10.213.12.1']
    assert out['files'] == [{'path': '/etc/hosts.allow', 'template': 'hosts.allow.j2', 'mode': '0644',
                             'what': 'TCP wrappers allow rule'}]
    assert not out['do']['sshd_dropin'] and not out['do']['sysctl']


# The defect of issue 12: the reload without a service manager read ``values.pidfile``, which the sshd
# collector did not emit (the role always fell back to /run/sshd.pid). sshd -T prints the PidFile
# (servconf.c dump_config: dump_cfg_string(sPidFile, o->pid_file), "pidfile %s"); RHEL/CentOS 7 build
# sshd with /var/run/sshd.pid. The value must come from the collector's own parse of sshd -T.
@pytest.mark.parametrize('sshd_T_pidfile, pidfile', [
    ('pidfile /var/run/sshd.pid', '/var/run/sshd.pid'),
    ('pidfile /run/sshd.pid', '/run/sshd.pid'),
    ('pidfile none', '/run/sshd.pid'),  # PidFile none: no file; the listener's pid is used
])
def test_plan_reloads_sshd_through_its_real_pid_file(sshd_T_pidfile, pidfile):
    _origin, facts = lab_facts('trixie')
    facts = json.loads(json.dumps(facts))
    values = typed_config(parse_sshd_T('port 22\nmaxstartups 10:30:100\n%s\n' % sshd_T_pidfile))
    facts['connreset_sshd']['config']['values'] = values
    listener = facts['connreset_sshd']['listener']['pid']      # the fixture's real listener (a recapture changes it)
    other = listener + 1                                         # a pid file's pid that is not the listener's
    facts['connreset_sshd']['service'].update({'manager': 'none', 'unit': None, 'main_pid': None, 'pidfile_pid': other})
    out = plan(facts, ['sshd_maxstartups'])
    assert isinstance(listener, int) and listener != other
    assert out['pidfile'] == pidfile
    assert out['reload_line'] == 'reload pid %s %d' % (pidfile, listener)  # the listener pid, not pidfile_pid
    assert out['reload_pid'] == listener


def test_plan_without_a_listener_reloads_the_pid_the_collector_read():
    out = plan({'connreset_sshd': {'service': {'manager': 'none', 'pidfile_pid': 812}, 'config': {'values': {}}}}, [])
    assert out['reload_line'] == 'reload pid /run/sshd.pid 812'
    assert plan({}, [])['reload_line'] == 'reload pid /run/sshd.pid '  # nothing known: the manifest line as before


def test_plan_applicability():
    _origin, facts = lab_facts('trixie')
    facts = json.loads(json.dumps(facts))
    facts['connreset_sshd']['config']['values']['persourcepenaltyexemptlist'] = ['10.0.0.0/8', '!10.213.12.1']
    facts['connreset_sshd']['service']['manager'] = 'openrc'
    facts['connreset_conntrack'].update({'loaded': True, 'shared_netns': True})
    out = plan(facts, ['sshd_penalty_exempt', 'sshd_restart_policy', 'conntrack_max', 'sshd_service'])
    assert out['exempt']['negated'] == ['!10.213.12.1'] and not out['do']['penalty']  # sshd never exempts it
    assert not out['do']['restart_policy'] and out['reload_line'] == 'reload service ssh'
    assert not out['do']['conntrack']  # a container's read-only nf_conntrack_max
    assert not out['do']['service']  # sshd runs
    assert out['files'] == []


def test_plan_takes_the_controller_from_connreset_meta_only():
    # issue 12: one home for the controller's address; a firewall collector's clients option is no source of it
    _origin, facts = lab_facts('trixie')
    facts = json.loads(json.dumps(facts))
    facts['connreset_meta'].update(controller=None, controller_reason='SSH_CONNECTION is not set')
    facts['connreset_firewall']['clients'] = ['198.51.100.7']
    assert plan(facts, ['keepalive'])['controller'] == ''
    assert plan(facts, ['keepalive'], controller_address='192.0.2.10')['controller'] == '192.0.2.10'
    facts['connreset_meta']['controller'] = '10.213.12.1'
    assert plan(facts, ['keepalive'])['controller'] == '10.213.12.1'


def test_plan_bans_of_the_controller():
    _origin, facts = lab_facts('bookworm')
    facts = json.loads(json.dumps(facts))
    facts['connreset_firewall']['blocked'] = [{'client': '10.213.12.1', 'by': 'fail2ban:sshd', 'detail': 'banned'},
                                              {'client': '198.51.100.9', 'by': 'fail2ban:sshd', 'detail': 'banned'}]
    assert [b['client'] for b in plan(facts, ['unban'])['bans']] == ['10.213.12.1']
    assert plan(facts, [])['bans'] == []


def test_plan_checks_only_what_is_selected():
    # the exempt list refuses a controller that is not an address, but only when that fix runs
    _origin, facts = lab_facts('trixie')
    assert plan(facts, ['keepalive'], controller_address='ctl.example')['do']['keepalive']
    with pytest.raises(AnsibleFilterError, match='remediate_exempt_list'):
        plan(facts, ['sshd_penalty_exempt'], controller_address='ctl.example')


@pytest.mark.parametrize('fixes, unknown', [
    (['keepalive', 'CRD-SSHD-004', 'CRD-COV-SSHD'], []),
    (['keepalives', 'crd-sshd-004', 'CRD-SSHD-4', ''], ['keepalives', 'crd-sshd-004', 'CRD-SSHD-4', '']),
])
def test_plan_unknown_fixes(fixes, unknown):
    out = FILTERS['remediate_plan']({'fixes': fixes})
    assert out['unknown_fixes'] == unknown
    assert out['switches'] == list(_catalogue.FIX_SWITCHES)


@pytest.mark.parametrize('data, message', [
    ('text', 'expects a dictionary'),
    ({'fixes': 'keepalive'}, 'remediate_fixes must be a list'),
    ({'findings': {'id': 'CRD-SSHD-004'}}, 'the findings must be a list'),
    ({'fixes': ['mtu_probing'], 'findings': [{'id': 'CRD-MTU-001', 'fix': 'mtu_probing'}], 'interface_mtu': 'eth0'},
     'remediate_interface_mtu must be a dictionary'),
])
def test_plan_bad_input(data, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS['remediate_plan'](data)
