# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""endpoint_facts module: main() against this host (read-only), a fake host, and bad options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.module_utils import _endpoints
from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult
from ansible_collections.connreset.doctor.plugins.modules import endpoint_facts


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        endpoint_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('check_mode', [False, True])
def test_main_reads_this_host(capsys, check_mode):
    out = run_module(capsys, {'endpoints': [{'port': 1}]}, check_mode)
    fact = out['ansible_facts']['connreset_endpoints']
    assert out['changed'] is False and 'failed' not in out
    assert fact['status'] in ('ok', 'partial', 'unknown') and 'elapsed_s' in fact
    endpoint = fact['endpoints'][0]
    assert endpoint['port'] == 1 and endpoint['protocol'] == 'tcp' and endpoint['front'] is None
    # nothing listens on port 1 here: no owner, so what depends on it is unknown with a reason, never healthy
    assert endpoint['listening'] == [] or endpoint['listening'] is None
    assert endpoint['process'] is None
    assert endpoint['fds']['status'] == 'unknown' and endpoint['fds']['reason']
    assert endpoint['timeouts']['status'] == 'unknown' and endpoint['timeouts']['reason']
    assert endpoint['status'] != 'ok' and endpoint['reason']
    assert isinstance(fact['sysctls']['somaxconn'], int)


def test_main_without_endpoints(capsys):
    fact = run_module(capsys, {})['ansible_facts']['connreset_endpoints']
    assert fact['endpoints'] == [] and fact['status'] == 'ok'


@pytest.mark.parametrize('args, message', [
    ({'endpoints': [{'port': 0}]}, 'not a TCP port'),
    ({'endpoints': [{'name': 'x'}]}, 'port'),
    ({'endpoints': [{'port': 80, 'protocol': 'udp'}]}, 'protocol'),
    ({'endpoints': [{'port': 80, 'front': {'kind': 'f5'}}]}, 'kind'),
    ({'endpoints': [{'port': 80, 'unit': 'a b'}]}, 'not a systemd unit name'),
    ({'since': 'yesterday-ish'}, 'since'),
])
def test_bad_options_fail(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg'], out['msg']


class FakeSystem:
    """A host with nginx on port 443 under nginx.service, systemd running, root, nothing else."""

    euid = 0
    remaining = staticmethod(lambda: None)
    deadline = soft_deadline = None

    FILES = {
        '/proc/sys/net/core/somaxconn': '4096\n', '/proc/sys/net/ipv4/tcp_abort_on_overflow': '1\n',
        '/proc/sys/net/ipv4/ip_local_port_range': '32768\t60999\n',
        '/proc/812/comm': 'nginx\n', '/proc/812/cmdline': 'nginx: master process /usr/sbin/nginx -g daemon on;',
        '/proc/812/cgroup': '0::/system.slice/nginx.service\n',
        '/proc/812/stat': '812 (nginx) S 1 812 812 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1 1 1 1 1',
        '/proc/812/limits': 'Max open files            1024                 524288               files     \n',
        '/proc/1/comm': 'systemd\n',
        '/proc/net/tcp': '  sl  local_address rem_address   st\n   0: 0100007F:8001 0100007F:01BB 06 0:0 0:0\n',
    }
    DIRS = {'/run/systemd/system': [], '/proc/812/fd': ['0', '1', '2', '3', '4', '5'], '/proc': ['1', '812']}

    def __init__(self):
        self.commands = []

    def which(self, name):
        return '/usr/bin/' + name if name in ('ss', 'systemctl') else None

    def check_deadline(self):
        return None

    def exists(self, path):
        return path in self.FILES or path in self.DIRS

    def isdir(self, path):
        return path in self.DIRS

    def listdir(self, path):
        if path not in self.DIRS:
            raise OSError(2, 'No such file or directory')
        return list(self.DIRS[path])

    def readlink(self, path):
        if path == '/proc/812/exe':
            return '/usr/sbin/nginx'
        raise OSError(2, 'No such file or directory')

    def read(self, path, max_bytes=None):
        if path not in self.FILES:
            raise OSError(2, 'No such file or directory')
        return self.FILES[path]

    def read_or_none(self, path):
        return self.FILES.get(path)

    def lines(self, path):
        return iter(self.read(path).splitlines())

    def read_tail(self, path, count):
        raise OSError(13, 'Permission denied')

    def getenv(self, name, default=None):
        return default

    def run(self, argv, timeout=15, data=None, cache=False):
        self.commands.append(list(argv))
        if argv[0] == 'ss':
            return CommandResult(argv, 0, 'LISTEN 3      511      0.0.0.0:443 0.0.0.0:* '
                                          'users:(("nginx",pid=813,fd=6),("nginx",pid=812,fd=6))\n', '')
        if argv[:2] == ['systemctl', 'show']:
            return CommandResult(argv, 0, 'ActiveState=active\nSubState=running\nMainPID=812\nNRestarts=4\n'
                                          'ExecMainStatus=0\nExecMainCode=0\nResult=success\nLoadState=loaded\n', '')
        if argv[1:] == ['-T']:
            return CommandResult(argv, 0, '# configuration file /etc/nginx/nginx.conf:\nhttp {\n keepalive_timeout 10;\n'
                                          ' server {\n  listen 443 ssl;\n }\n}\n', '')
        return CommandResult(argv, None, '', '', error='%s not found' % argv[0])

    def run_stream(self, argv, timeout=60):
        self.commands.append(list(argv))
        return {'rc': None, 'err': '', 'error': '%s not found' % argv[0]}, iter(())


def test_collect_on_a_fake_host():
    system = FakeSystem()
    fact = _endpoints.collect(system, {'endpoints': [{'port': 443, 'protocol': 'https', 'front': {'kind': 'aws-alb'}}]})
    assert fact['sysctls'] == {'somaxconn': 4096, 'tcp_abort_on_overflow': 1, 'ip_local_port_range': [32768, 60999]}
    assert fact['ephemeral_ports']['in_use'] == 1
    endpoint = fact['endpoints'][0]
    assert endpoint['name'] == 'nginx:443' and endpoint['unit'] == 'nginx.service' and endpoint['unit_source'] == 'socket'
    assert endpoint['listening'] == [{'address': '0.0.0.0', 'port': 443, 'recv_q': 3, 'backlog': 511, 'pids': [813, 812],
                                      'processes': ['nginx', 'nginx']}]
    assert endpoint['process']['pid'] == 812 and endpoint['program'] == 'nginx'
    assert endpoint['service']['n_restarts'] == 4 and endpoint['service']['main_pid'] == 812
    assert endpoint['fds'] == {'status': 'ok', 'reason': None, 'pid': 812, 'open': 6, 'soft_limit': 1024,
                               'hard_limit': 524288, 'fill': 0.0059}
    assert endpoint['timeouts']['idle_close']['value_s'] == 10.0 and endpoint['timeouts']['idle_close']['line'] == 2
    assert endpoint['front'] == {'kind': 'aws-alb', 'idle_timeout_s': None}
    # the journal could not be read: counts are null with the reason, never 0
    assert endpoint['events']['crashes']['count'] is None and endpoint['events']['status'] != 'ok'
    assert endpoint['events']['fd_exhaustion'] is None and 'no permission to read /var/log/nginx/error.log' in endpoint['events']['reason']
    # the nginx binary of the process ran -T (its title had no -c); nothing writes
    assert ['/usr/sbin/nginx', '-T'] in system.commands
    assert all(c[0] not in ('systemctl',) or c[1] == 'show' for c in system.commands)
