# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mtu_facts module: runs main() with real host access (read-only) and with bad options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.modules import mtu_facts


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        mtu_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('check_mode', [False, True])
def test_main_loopback_target(capsys, check_mode):
    out = run_module(capsys, {'targets': ['127.0.0.1']}, check_mode)
    fact = out['ansible_facts']['connreset_mtu']
    assert out['changed'] is False and 'failed' not in out
    assert fact['status'] in ('ok', 'partial', 'unknown') and 'elapsed_s' in fact
    if fact['interfaces'] is not None:
        assert all(isinstance(i['name'], str) for i in fact['interfaces'])
    if fact['targets'] and fact['targets'][0]['status'] == 'ok':
        assert fact['targets'][0]['dev'] == 'lo' and fact['targets'][0]['probe'] is None


@pytest.mark.parametrize('args, message', [
    ({'targets': ['not-an-ip']}, 'not an IPv4/IPv6 address'),
    ({'probe_timeout': 60}, 'probe_timeout must be between'),
    ({'max_probes': 1}, 'max_probes must be between'),
    ({'probe': 'maybe'}, 'probe'),
])
def test_main_bad_options(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']
