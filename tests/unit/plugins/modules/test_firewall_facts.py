# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""firewall_facts module: main() on this host (read-only) and with bad options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.modules import firewall_facts


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        firewall_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('check_mode', [False, True])
def test_main_runs_read_only(capsys, check_mode):
    out = run_module(capsys, {'clients': ['192.0.2.123']}, check_mode)
    fact = out['ansible_facts']['connreset_firewall']
    assert out['changed'] is False and 'failed' not in out
    assert fact['status'] in ('ok', 'partial', 'unknown') and fact['clients'] == ['192.0.2.123']
    assert fact['ports'] == [22]
    if fact['status'] == 'ok':
        assert isinstance(fact['rules'], list) and isinstance(fact['blocked'], list)
    else:
        assert fact['reason']


@pytest.mark.parametrize('args, message', [
    ({'ports': [70000]}, 'not a TCP port'),
    ({'clients': ['my-laptop']}, 'not an IP address or CIDR'),
    ({'ports': ['ssh']}, 'ports'),
])
def test_main_bad_options(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']
