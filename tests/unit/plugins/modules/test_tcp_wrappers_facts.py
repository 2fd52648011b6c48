# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp_wrappers_facts module: main() on tables written to a temporary directory, and bad options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_wrappers
from ansible_collections.connreset.doctor.plugins.modules import tcp_wrappers_facts


class FakeResolver:
    """No network in unit tests: names come from these tables (glibc-like: case-insensitive names)."""

    REVERSE = {'192.0.2.1': 'ssh.corp.example', '192.0.2.9': 'liar.corp.example'}
    FORWARD = {'ssh.corp.example': ('ssh.corp.example', ['192.0.2.1']),
               'liar.corp.example': ('liar.corp.example', ['192.0.2.99'])}

    def reverse(self, address, family):
        if address not in self.REVERSE:
            raise _tcp_wrappers.LookupFailed('Name or service not known')
        return self.REVERSE[address]

    def forward(self, name, family):
        canonical, addresses = self.FORWARD.get(name.lower(), (None, []))
        if not addresses:
            raise _tcp_wrappers.LookupFailed('Name or service not known')
        return canonical, [(_tcp_wrappers.parse_v4(a), 0) for a in addresses]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(_tcp_wrappers, 'default_resolver', FakeResolver)


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        tcp_wrappers_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def tables(tmp_path):
    allow = tmp_path / 'hosts.allow'
    deny = tmp_path / 'hosts.deny'
    # The usual "only the admin network may ssh in" policy (hosts_access(5) MOSTLY CLOSED).
    allow.write_text('# admins\nsshd: 10.0.0.0/255.0.0.0, [2001:db8::]/32\nsshd: .corp.example\n')
    deny.write_text('ALL: ALL\n')
    return {'allow_path': str(allow), 'deny_path': str(deny)}


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('client, lookups, access, line, name, lookup', [
    ('10.20.30.40', True, 'granted', 2, None, 'not_needed'),
    ('2001:db8:5::1', True, 'granted', 2, None, 'not_needed'),
    # libwrap looks the client up for .corp.example: a verified name, one that does not map
    # back (paranoid), none at all (unknown)
    ('192.0.2.1', True, 'granted', 3, 'ssh.corp.example', 'done'),
    ('192.0.2.9', True, 'denied', 1, 'paranoid', 'done'),
    ('192.0.2.77', True, 'denied', 1, 'unknown', 'done'),
    ('192.0.2.1', False, 'unknown', 3, None, 'off'),
])
def test_main_verdicts(capsys, tables, check_mode, client, lookups, access, line, name, lookup):
    out = run_module(capsys, dict(tables, clients=[client], name_lookups=lookups), check_mode)
    fact = out['ansible_facts']['connreset_tcp_wrappers']
    assert out['changed'] is False and 'failed' not in out
    assert fact['status'] in ('ok', 'partial') and 'elapsed_s' in fact
    verdict = fact['verdicts'][0]
    assert (verdict['access'], verdict['line'], verdict['name'], verdict['lookup']) == (access, line, name, lookup)
    assert verdict['name_source'] == ('dns' if lookup == 'done' and name != 'unknown' else 'none')
    assert (verdict['lookup_s'] is None) is (lookup != 'done')
    assert fact['libwrap_in_use'] in (True, False, None)
    assert len(fact['rules']) == 3 and fact['errors'] == []


def test_main_missing_tables_grant(capsys, tmp_path):
    out = run_module(capsys, {'allow_path': str(tmp_path / 'none.allow'), 'deny_path': str(tmp_path / 'none.deny'),
                              'clients': ['192.0.2.1']})
    fact = out['ansible_facts']['connreset_tcp_wrappers']
    assert fact['verdicts'][0]['access'] == 'granted' and fact['verdicts'][0]['file'] is None
    assert [f['exists'] for f in fact['files']] == [False, False]


@pytest.mark.parametrize('args, message', [
    ({'clients': ['host.example.com']}, "'host.example.com' is not an IP address"),
    ({'clients': ['10.0.0.0/8']}, 'not an IP address'),
    ({'clients': ['10.1.2.3', 'fe80::1%eth0']}, "'fe80::1%eth0' is not an IP address"),
    ({'colour': 'red'}, 'colour'),
    ({'daemon': ''}, 'daemon is empty'),
    ({'daemon': '   '}, 'daemon is empty'),
    ({'daemon': 'ss hd'}, 'bare process name'),
    ({'clients': ['10.1.2.3', '']}, 'element 2 is empty'),
    ({'clients': ['  ']}, 'element 1 is empty'),
    ({'lookup_timeout': 0}, 'lookup_timeout must be a number of seconds above 0'),
    ({'lookup_timeout': -1}, 'lookup_timeout must be'),
    ({'lookup_timeout': 'inf'}, 'at most 60'),
    ({'allow_path': ''}, 'allow_path is empty'),
    ({'sshd_path': ''}, 'sshd_path is empty'),
])
def test_main_bad_options(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']
