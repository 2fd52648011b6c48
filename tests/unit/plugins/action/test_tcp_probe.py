# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tcp_probe action plugin: the probe runs in the worker process with the module's options,
against a loopback port (no connection plugin is ever used)."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
import yaml

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.connreset.doctor.plugins.action import tcp_probe
from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_probe
from ansible_collections.connreset.doctor.tests.utils.ports import unused_loopback_port


def make_action(args, check_mode=False):
    task = Task()
    task.action = 'connreset.doctor.tcp_probe'
    task.args = args
    task.check_mode = check_mode
    play_context = MagicMock()
    play_context.check_mode = check_mode
    loader = DataLoader()
    connection = MagicMock()
    action = tcp_probe.ActionModule(task, connection, play_context, loader, Templar(loader=loader), None)
    return action, connection


@pytest.mark.parametrize('check_mode', [False, True])
def test_refused_in_process(check_mode):
    port = unused_loopback_port()
    action, connection = make_action({'host': '127.0.0.1', 'endpoints': [{'name': 'web', 'port': port, 'protocol': 'http'}],
                                      'attempts': 2, 'delay': 0}, check_mode=check_mode)
    result = action.run(task_vars={})
    assert not result.get('failed'), result
    assert result['changed'] is False
    endpoint = result['probe']['endpoints'][0]
    assert (endpoint['name'], endpoint['port'], endpoint['protocol']) == ('web', port, 'http')
    assert [(a['phase'], a['outcome']) for a in endpoint['attempts']] == [('tcp_connect', 'refused')] * 2
    assert result['probe']['summary']['classifications'] == {'web': 'refused'}
    assert not connection.exec_command.called and not connection._connect.called


@pytest.mark.parametrize('args, message', [
    ({'endpoints': [{'port': 80}]}, 'endpoints[0] has no host'),
    ({'host': 'h', 'endpoints': [{'port': 80}], 'idle_hold_s': 1000}, 'idle_hold_s must be between 0 (off) and 900'),
])
def test_bad_values_fail_with_the_fix(args, message):
    action, _connection = make_action(args)
    result = action.run(task_vars={})
    assert result['failed'] is True and message in result['msg']


@pytest.mark.parametrize('args, message', [
    ({}, 'missing required arguments: endpoints'),
    ({'host': 'h', 'endpoints': [{'port': 80, 'protocol': 'ftp'}]}, 'protocol'),
    ({'host': 'h', 'endpoints': [{'protocol': 'tcp'}]}, 'port'),
    ({'host': 'h', 'endpoints': [{'port': 80}], 'bogus': 1}, 'bogus'),
])
def test_bad_options_fail_the_task(args, message):
    action, _connection = make_action(args)
    with pytest.raises(AnsibleActionFail, match=message):
        action.run(task_vars={})


def test_module_and_action_share_one_argument_spec():
    from ansible_collections.connreset.doctor.plugins.modules import tcp_probe as module
    documented = yaml.safe_load(module.DOCUMENTATION)['options']
    assert sorted(documented) == sorted(_tcp_probe.ARGUMENT_SPEC) == sorted(tcp_probe.ActionModule._VALID_ARGS)
    assert sorted(documented['endpoints']['suboptions']) == sorted(_tcp_probe.ENDPOINT_SPEC)
