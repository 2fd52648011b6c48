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

from ansible_collections.connreset.doctor.plugins.modules import tcp_wrappers_facts


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
@pytest.mark.parametrize('client, access, line', [
    ('10.20.30.40', 'granted', 2),
    ('2001:db8:5::1', 'granted', 2),
    ('192.0.2.1', 'unknown', 3),
])
def test_main_verdicts(capsys, tables, check_mode, client, access, line):
    out = run_module(capsys, dict(tables, clients=[client]), check_mode)
    fact = out['ansible_facts']['connreset_tcp_wrappers']
    assert out['changed'] is False and 'failed' not in out
    assert fact['status'] in ('ok', 'partial') and 'elapsed_s' in fact
    assert fact['verdicts'][0]['access'] == access
    assert fact['verdicts'][0]['line'] == line
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
])
def test_main_bad_options(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']
