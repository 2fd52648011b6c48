# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""reset_capture module: main() with bad options, without privileges, and in check mode (the capture
socket replaced, so the test needs no root; tests/system/test_reset_capture_real.py runs the real one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.module_utils import _capture
from ansible_collections.connreset.doctor.plugins.modules import reset_capture


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        reset_capture.main()
    return json.loads(capsys.readouterr().out)


def refuse(ports):
    raise OSError(errno.EPERM, 'Operation not permitted')


@pytest.mark.parametrize('check_mode', [False, True])
def test_without_cap_net_raw_unknown_with_the_reason(capsys, monkeypatch, check_mode):
    monkeypatch.setattr(_capture, 'open_socket', refuse)
    out = run_module(capsys, {'ports': [22], 'duration_s': 1}, check_mode)
    fact = out['ansible_facts']['connreset_capture']
    assert out['changed'] is False and 'failed' not in out
    assert fact['status'] == 'unknown' and 'CAP_NET_RAW' in fact['reason'] and 'become: true' in fact['reason']
    assert fact['method'] is None and fact['resets'] is None and 'elapsed_s' in fact


@pytest.mark.parametrize('args, message', [
    ({'duration_s': 0}, 'duration_s=0 is out of range: give 1 to 120 seconds'),
    ({'duration_s': 600}, 'duration_s=600 is out of range'),
    ({'max_packets': 100000}, 'max_packets=100000 is out of range: give 1 to 5000'),
    ({'ports': [70000]}, 'ports: 70000 is not a TCP port'),
    ({'ports': ['ssh']}, 'ports'),
    ({'duration': 5}, 'Unsupported parameters'),
])
def test_bad_options_fail_saying_what_to_fix(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']
