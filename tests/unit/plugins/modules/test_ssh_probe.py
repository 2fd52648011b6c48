# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""connreset.doctor.ssh_probe's main(): options, check mode, result shape, missing paramiko."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

pytest.importorskip('paramiko')

from ansible_collections.connreset.doctor.plugins.module_utils import _probe  # noqa: E402
from ansible_collections.connreset.doctor.plugins.modules import ssh_probe  # noqa: E402
from ansible_collections.connreset.doctor.tests.utils.ports import unused_loopback_port  # noqa: E402


def run_main(monkeypatch, capsys, args):
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args})))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
    with pytest.raises(SystemExit):
        ssh_probe.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('check_mode', [False, True])
def test_closed_port_refused(monkeypatch, capsys, check_mode):
    port = unused_loopback_port()
    args = {'host': '127.0.0.1', 'port': port, 'attempts': 2, 'delay': 0, '_ansible_check_mode': check_mode}
    result = run_main(monkeypatch, capsys, args)
    assert result.get('failed') is not True, result
    assert result['changed'] is False
    assert 'ansible_facts' not in result
    probe = result['probe']
    assert (probe['host'], probe['port']) == ('127.0.0.1', port)
    assert [a['attempt'] for a in probe['attempts']] == [1, 2]
    for att in probe['attempts']:
        assert set(att) == {'attempt', 'phase', 'outcome', 'error', 'banner', 'elapsed_s', 'timings', 'address', 'icmp',
                            'local_address', 'local_port', 'started_at', 'ended_at'}
        # The refused connect's own end of the 4-tuple (Linux keeps the port the SYN left from).
        assert att['local_address'] == '127.0.0.1' and isinstance(att['local_port'], int) and att['local_port'] > 0
        assert att['local_port'] != port
        assert att['started_at'] <= att['ended_at']
        assert set(att['timings']) == set(_probe.PHASES)
        assert (att['phase'], att['outcome']) == ('tcp_connect', 'refused')
        assert att['icmp'] is None  # a closed port answers with a TCP reset: no ICMP error queued
        assert isinstance(att['elapsed_s'], float)
    summary = probe['summary']
    assert set(summary) == {'classification', 'phase', 'outcome', 'intermittent', 'counts', 'likely_causes', 'detail'}
    assert summary['classification'] == 'refused'
    assert summary['counts'] == {'refused': 2}
    assert summary['intermittent'] is False


@pytest.mark.parametrize('args, message', [
    ({'attempts': 0}, 'attempts must be between 1 and 20'),
    ({'attempts': 50}, 'attempts must be between 1 and 20'),
    ({'delay': 3600}, 'delay must be between 0.0 and 60.0'),
    ({'connect_timeout': 0}, 'connect_timeout must be between'),
    ({'username': 'probe'}, 'username needs key_file or password'),
    ({'key_file': '/nonexistent'}, 'need username'),
])
def test_bad_options_fail_with_a_fix(monkeypatch, capsys, args, message):
    base = {'host': '127.0.0.1', 'port': unused_loopback_port()}
    base.update(args)
    result = run_main(monkeypatch, capsys, base)
    assert result['failed'] is True
    assert message in result['msg']


def test_unreadable_key_file_fails(monkeypatch, capsys, tmp_path):
    result = run_main(monkeypatch, capsys, {'host': '127.0.0.1', 'port': unused_loopback_port(), 'username': 'probe',
                                            'key_file': str(tmp_path / 'missing')})
    assert result['failed'] is True
    assert 'cannot read key_file' in result['msg']


def test_password_is_not_logged(monkeypatch, capsys):
    result = run_main(monkeypatch, capsys, {'host': '127.0.0.1', 'port': unused_loopback_port(), 'username': 'probe',
                                            'password': 'hunter2-secret'})
    assert 'hunter2-secret' not in json.dumps(result)
    assert result['probe']['summary']['classification'] == 'refused'


def test_missing_host_fails(monkeypatch, capsys):
    result = run_main(monkeypatch, capsys, {'port': 22})
    assert result['failed'] is True
    assert 'host' in result['msg']


def test_without_paramiko(monkeypatch, capsys):
    monkeypatch.setattr(_probe, 'HAS_PARAMIKO', False)
    monkeypatch.setattr(_probe, 'PARAMIKO_IMPORT_ERROR', 'ImportError: No module named paramiko')
    result = run_main(monkeypatch, capsys, {'host': '127.0.0.1'})
    assert result['failed'] is True
    assert 'paramiko' in result['msg']


@pytest.mark.parametrize('value', [-1, 901])
def test_idle_hold_out_of_range_fails(monkeypatch, capsys, value):
    result = run_main(monkeypatch, capsys, {'host': '127.0.0.1', 'port': unused_loopback_port(), 'idle_hold_s': value})
    assert result['failed'] is True
    assert 'idle_hold_s must be between 0 and 900 seconds' in result['msg']


def test_idle_hold_sees_a_close(monkeypatch, capsys):
    import socket
    import threading
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.1', 0))
    listener.listen(4)
    listener.settimeout(5.0)

    def serve():
        # the attempt, then the held connection: banner, and a close (FIN) 0.5 s later
        for _round in range(2):
            try:
                conn, _peer = listener.accept()
            except OSError:
                return
            conn.sendall(b'SSH-2.0-OpenSSH_9.2p1\r\n')
            threading.Event().wait(0.5)
            conn.close()
    thread = threading.Thread(target=serve)
    thread.daemon = True
    thread.start()
    try:
        result = run_main(monkeypatch, capsys, {'host': '127.0.0.1', 'port': listener.getsockname()[1], 'idle_hold_s': 3,
                                                'kex_timeout': 2.0})
    finally:
        thread.join(5)
        listener.close()
    assert result.get('failed') is not True, result
    idle = result['probe']['idle']
    assert idle['outcome'] == 'fin' and idle['hold_s'] == 3, idle
    assert 0.3 <= idle['after_s'] < 2.0
