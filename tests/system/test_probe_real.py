# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ssh_probe against a real, throw-away OpenSSH sshd on 127.0.0.1 (Debian 12: OpenSSH 9.2p1).

Each test starts its own sshd (``sshd -D -e -f <tmp cfg>``): generated host key, a free port on
127.0.0.1, ``PidFile none``, an authorized key generated for the test.  sshd wants its
privilege-separation directory ``/run/sshd``; rather than creating it on the machine, sshd runs in
a private mount namespace (``unshare --mount``) with its own tmpfs on /run.  The network is the
machine's loopback: nothing leaves 127.0.0.1.  Teardown kills the sshd process group.

TCP wrappers (hosts.deny) cannot be tested here: libwrap reads the machine-wide /etc/hosts.deny,
which a test must not change (the lab does that one in its own /etc overlay).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

paramiko = pytest.importorskip('paramiko')

from ansible_collections.connreset.doctor.plugins.module_utils import _probe  # noqa: E402

SSHD = '/usr/sbin/sshd'

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root: sshd privilege separation, mount namespace for /run/sshd'),
    pytest.mark.skipif(not os.access(SSHD, os.X_OK), reason='needs %s (Debian package openssh-server)' % SSHD),
    pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen (openssh-client)'),
    pytest.mark.skipif(shutil.which('unshare') is None, reason='needs unshare (util-linux)'),
]


def free_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def keygen(path):
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'ssh_probe-test', '-f', str(path)],
                   check=True, timeout=30)


class Sshd:
    def __init__(self, tmp, extra=''):
        self.tmp = tmp
        self.port = free_port()
        keygen(tmp / 'host_key')
        keygen(tmp / 'client_key')
        shutil.copy(str(tmp / 'client_key.pub'), str(tmp / 'authorized_keys'))
        self.log = tmp / 'sshd.log'
        (tmp / 'sshd_config').write_text('\n'.join([
            'Port %d' % self.port,
            'ListenAddress 127.0.0.1',
            'HostKey %s' % (tmp / 'host_key'),
            'PidFile none',
            'AuthorizedKeysFile %s' % (tmp / 'authorized_keys'),
            'PermitRootLogin prohibit-password',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'UsePAM no',
            'StrictModes no',
            'LogLevel VERBOSE',
            extra,
        ]) + '\n')
        script = ('mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && '
                  'exec %s -D -e -f %s' % (SSHD, tmp / 'sshd_config'))
        with open(str(self.log), 'wb') as log:
            self.proc = subprocess.Popen(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('sshd exited with %s: %s' % (self.proc.returncode, self.log.read_text()))
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b'SSH-'):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('sshd did not answer within 10 s: %s' % self.log.read_text())

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture
def sshd(tmp_path):
    started = []

    def start(extra=''):
        server = Sshd(tmp_path, extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def params(port, **over):
    base = dict(host='127.0.0.1', port=port, connect_timeout=3.0, banner_timeout=10.0, kex_timeout=10.0,
                auth_timeout=10.0, session_timeout=10.0, attempts=1, delay=0.0, username=None,
                key_file=None, password=None, transfer_bytes=262144)
    base.update(over)
    return base


def test_ok_through_kex(sshd):
    server = sshd()
    result = _probe.probe(params(server.port, attempts=2, delay=0.1))
    for att in result['attempts']:
        assert (att['phase'], att['outcome'], att['error']) == ('kex', 'ok', None), att
        assert att['banner'].startswith('SSH-2.0-OpenSSH_'), att
        assert att['timings']['kex'] is not None and att['timings']['auth'] is None
    assert result['summary']['classification'] == 'ok'
    assert result['summary']['counts'] == {'ok': 2}


def test_ok_through_session_with_key(sshd):
    server = sshd()
    key = str(server.tmp / 'client_key')
    result = _probe.probe(params(server.port, username='root', key_file=key, transfer_bytes=262144))
    att = result['attempts'][0]
    assert (att['phase'], att['outcome'], att['error']) == ('session', 'ok', None), (att, server.log.read_text())
    assert all(att['timings'][p] is not None for p in _probe.PHASES)
    assert result['summary']['classification'] == 'ok'
    assert 'Accepted publickey for root' in server.log.read_text()


def test_wrong_key_is_auth_failed(sshd, tmp_path):
    server = sshd()
    keygen(tmp_path / 'other_key')
    result = _probe.probe(params(server.port, username='root', key_file=str(tmp_path / 'other_key')))
    att = result['attempts'][0]
    assert (att['phase'], att['outcome']) == ('auth', 'auth_failed'), att
    assert result['summary']['classification'] == 'auth_failed'


def hold_preauth_connection(port):
    """Open a connection sshd accepts (it answers with its banner) and keep it unauthenticated.

    The readiness check's connection may still count as a startup for a moment, so retry until
    sshd sends a banner rather than its MaxStartups text (bounded)."""
    deadline = time.monotonic() + 10
    while True:
        sock = socket.create_connection(('127.0.0.1', port), timeout=5)
        if sock.recv(64).startswith(b'SSH-'):
            return sock
        sock.close()
        if time.monotonic() > deadline:
            raise AssertionError('sshd kept refusing the connection to hold')
        time.sleep(0.1)


def test_maxstartups_with_held_preauth_connection(sshd):
    # MaxStartups 1:100:1: once one unauthenticated connection is open, every new one is dropped
    # (sshd.c drop_connection(): "Exceeded MaxStartups\r\n" in 9.2, then close).
    server = sshd('MaxStartups 1:100:1')
    held = hold_preauth_connection(server.port)
    try:
        result = _probe.probe(params(server.port, attempts=2, delay=0.1))
        for att in result['attempts']:
            assert att['phase'] == 'banner', att
            assert att['outcome'] in ('banner_text', 'reset', 'closed'), att
            assert att['timings']['banner'] < 2.0, att
        summary = result['summary']
        assert summary['classification'] == 'maxstartups', summary
        assert summary['likely_causes'][0] == 'sshd_rate_limit'
    finally:
        held.close()
    log = server.log.read_text()
    assert 'past MaxStartups' in log, log

    # Once the held connection is gone the same sshd answers again (bounded wait for its child).
    deadline = time.monotonic() + 10
    while True:
        result = _probe.probe(params(server.port))
        if result['summary']['classification'] == 'ok' or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert result['summary']['classification'] == 'ok', result


def test_stopped_sshd_is_refused(sshd):
    server = sshd()
    server.stop()
    result = _probe.probe(params(server.port))
    assert result['summary']['classification'] == 'refused'
    assert result['summary']['likely_causes'] == ['sshd_down', 'firewall']
