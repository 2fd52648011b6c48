# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ssh_probe action plugin: the probe runs in the worker process, with the module's options,
against scripted loopback servers (no connection plugin is ever used)."""

from __future__ import annotations

import socket
import threading
from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.task import Task
from ansible.template import Templar

pytest.importorskip('paramiko')

from ansible_collections.connreset.doctor.plugins.action import ssh_probe  # noqa: E402
from ansible_collections.connreset.doctor.plugins.module_utils import _probe  # noqa: E402
from ansible_collections.connreset.doctor.tests.utils.ports import unused_loopback_port  # noqa: E402


def make_action(args, check_mode=False):
    task = Task()
    task.action = 'connreset.doctor.ssh_probe'
    task.args = args
    task.check_mode = check_mode
    play_context = MagicMock()
    play_context.check_mode = check_mode
    loader = DataLoader()
    # the connection is a mock: the probe must never use Ansible's connection to the host
    connection = MagicMock()
    action = ssh_probe.ActionModule(task, connection, play_context, loader, Templar(loader=loader), None)
    return action, connection


@pytest.fixture
def maxstartups_server():
    """Accepts, writes what sshd 9.2p1 writes past MaxStartups, closes: at most 5 connections, until
    the test ends (accept polls every 0.1 s)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(('127.0.0.1', 0))
    server.listen(5)
    server.settimeout(0.1)
    stop = threading.Event()

    def serve():
        served = 0
        while served < 5 and not stop.is_set():
            try:
                conn, _addr = server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.sendall(b'Exceeded MaxStartups\r\n')
            conn.close()
            served += 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


@pytest.mark.parametrize('check_mode', [False, True])
def test_refused_in_process(check_mode):
    port = unused_loopback_port()
    action, connection = make_action({'host': '127.0.0.1', 'port': port, 'attempts': 2, 'delay': 0},
                                     check_mode=check_mode)
    result = action.run(task_vars={})
    assert not result.get('failed'), result
    assert result['changed'] is False and 'ansible_facts' not in result
    probe = result['probe']
    assert (probe['host'], probe['port']) == ('127.0.0.1', port)
    assert [(a['phase'], a['outcome']) for a in probe['attempts']] == [('tcp_connect', 'refused')] * 2
    assert probe['summary']['classification'] == 'refused'
    assert not connection.exec_command.called and not connection._connect.called


def test_maxstartups_text(maxstartups_server):
    action, _connection = make_action({'host': '127.0.0.1', 'port': maxstartups_server, 'delay': 0})
    result = action.run(task_vars={})
    assert result['probe']['summary']['classification'] == 'maxstartups'
    assert result['probe']['attempts'][0]['banner'] == 'Exceeded MaxStartups'


@pytest.mark.parametrize('args, message', [
    ({'host': '127.0.0.1', 'attempts': 100}, 'attempts must be between 1 and 20 (got 100)'),
    ({'host': '127.0.0.1', 'connect_timeout': 0}, 'connect_timeout'),
])
def test_bad_values_fail_with_the_fix(args, message):
    action, _connection = make_action(args)
    result = action.run(task_vars={})
    assert result['failed'] is True and message in result['msg']


@pytest.mark.parametrize('args, message', [
    ({}, 'missing required arguments: host'),
    ({'host': '127.0.0.1', 'port': 'twenty-two'}, 'port'),
    ({'host': '127.0.0.1', 'bogus': 1}, 'bogus'),
])
def test_bad_options_fail_the_task(args, message):
    action, _connection = make_action(args)
    with pytest.raises(AnsibleActionFail, match=message):
        action.run(task_vars={})


def test_without_paramiko(monkeypatch):
    monkeypatch.setattr(_probe, 'HAS_PARAMIKO', False)
    monkeypatch.setattr(_probe, 'PARAMIKO_IMPORT_ERROR', 'Traceback: No module named paramiko')
    action, _connection = make_action({'host': '127.0.0.1'})
    result = action.run(task_vars={})
    assert result['failed'] is True and 'paramiko' in result['msg'] and 'probe' not in result


def test_module_and_action_share_one_argument_spec():
    from ansible_collections.connreset.doctor.plugins.modules import ssh_probe as module
    import yaml
    documented = yaml.safe_load(module.DOCUMENTATION)['options']
    assert sorted(documented) == sorted(_probe.ARGUMENT_SPEC) == sorted(ssh_probe.ActionModule._VALID_ARGS)
