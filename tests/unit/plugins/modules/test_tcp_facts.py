# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp_facts module: main() against this host's /proc (read-only) and with bad options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.modules import tcp_facts


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        tcp_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('check_mode', [False, True])
def test_main_reads_this_host(capsys, check_mode):
    out = run_module(capsys, {'ports': []}, check_mode)
    fact = out['ansible_facts']['connreset_tcp']
    assert out['changed'] is False and 'failed' not in out
    assert fact['status'] in ('ok', 'partial') and 'elapsed_s' in fact
    # /proc/net/snmp is world-readable on Linux: the contract keys are there
    for key in ('EstabResets', 'OutRsts', 'AttemptFails', 'RetransSegs', 'OutSegs', 'ActiveOpens', 'PassiveOpens',
                'CurrEstab', 'InErrs', 'ListenOverflows', 'ListenDrops', 'TCPAbortOnData', 'TCPAbortOnTimeout'):
        assert isinstance(fact['counters'][key], int), key
    assert fact['uptime_s'] > 0 and fact['rates'] is None
    assert isinstance(fact['sysctls']['somaxconn'], int)
    assert isinstance(fact['states'], dict)
    assert all(isinstance(item['port'], int) for item in fact['listeners'])


def test_main_sampled(capsys):
    out = run_module(capsys, {'sample_seconds': 1})
    fact = out['ansible_facts']['connreset_tcp']
    assert fact['sample_seconds'] == 1 and isinstance(fact['rates'], dict)
    assert 'OutSegs' in fact['rates'] and 'CurrEstab' not in fact['rates']
    assert fact['elapsed_s'] >= 1


@pytest.mark.parametrize('args, message', [
    ({'sample_seconds': 31}, 'sample_seconds=31 is out of range'),
    ({'sample_seconds': -2}, 'out of range'),
    ({'ports': [0]}, 'not a TCP port'),
    ({'ports': ['ssh']}, 'ports'),
])
def test_main_bad_options(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']
