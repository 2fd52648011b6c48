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

The fault-injection tests (TCP wrappers, firewall resets, a path-MTU black hole) run sshd *and*
the probe inside a network namespace the test creates and deletes: nftables rules and the
``nf_conntrack_acct`` sysctl are set in that namespace only.  libwrap reads /etc/hosts.deny; the
machine's file is never touched: a hosts.deny written by the test is bind-mounted over it inside
sshd's private mount namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
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
        self.write_config(extra)
        self.proc = self.spawn([])
        self._wait_ready()

    def write_config(self, extra):
        tmp = self.tmp
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

    def spawn(self, prefix, setup=''):
        """Start sshd in a private mount namespace with its own /run (so /run/sshd exists there
        only); ``setup`` runs first in that namespace (bind mounts)."""
        script = ('mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && %s'
                  'exec %s -D -e -f %s' % (setup, SSHD, self.tmp / 'sshd_config'))
        with open(str(self.log), 'wb') as log:
            return subprocess.Popen(prefix + ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

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


# ---------------------------------------------------------------------------------------------
# fault injection in a network namespace of our own
# ---------------------------------------------------------------------------------------------
_NETNS_SEQ = itertools.count()
NETNS_PORT = 2222
PROBE_IN_NETNS = (
    'import json, sys\n'
    'from ansible_collections.connreset.doctor.plugins.module_utils import _probe\n'
    'params, window = json.loads(sys.argv[1]), tuple(json.loads(sys.argv[2]))\n'
    'print(json.dumps(_probe.probe(params, delayed_window=window)))\n'
)


def ip(*args, **kwargs):
    return subprocess.run(['ip'] + list(args), check=True, timeout=15, capture_output=True, text=True, **kwargs)


class NetnsSshd(Sshd):
    """sshd on 127.0.0.1:2222 inside a fresh network namespace; probes run in it too."""

    def __init__(self, tmp, extra='', hosts_deny=None):  # pylint: disable=super-init-not-called
        self.tmp = tmp
        self.port = NETNS_PORT
        self.netns = 'crdprobe%d-%d' % (os.getpid(), next(_NETNS_SEQ))
        self.proc = None
        ip('netns', 'add', self.netns)
        try:
            ip('-n', self.netns, 'link', 'set', 'lo', 'up')
            self.write_config(extra)
            setup = ''
            if hosts_deny is not None:
                # libwrap reads /etc/hosts.allow then /etc/hosts.deny: shadow both, in sshd's
                # private mount namespace only.
                (tmp / 'hosts.allow').write_text('# ssh_probe test: nothing allowed explicitly\n')
                (tmp / 'hosts.deny').write_text(hosts_deny)
                setup = ('mount --bind %s /etc/hosts.allow && mount --bind %s /etc/hosts.deny && '
                         % (tmp / 'hosts.allow', tmp / 'hosts.deny'))
            self.proc = self.spawn(['ip', 'netns', 'exec', self.netns], setup)
            self._wait_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self):
        deadline = time.monotonic() + 10
        while 'Server listening on 127.0.0.1 port %d' % self.port not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('sshd did not start in %s: %s' % (self.netns, self.log.read_text()))
            time.sleep(0.05)

    def run(self, *argv, **kwargs):
        return subprocess.run(['ip', 'netns', 'exec', self.netns] + list(argv), check=True, timeout=30,
                              capture_output=True, text=True, **kwargs)

    def nft(self, ruleset):
        self.run('nft', '-f', '-', input=ruleset)

    def probe(self, window=_probe.DELAYED_RESET_WINDOW, **over):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = self.run(sys.executable, '-c', PROBE_IN_NETNS, json.dumps(params(self.port, **over)),
                        json.dumps(list(window)), env=env)
        return json.loads(proc.stdout)

    def stop(self):
        if self.proc is not None:
            super(NetnsSshd, self).stop()
        subprocess.run(['ip', 'netns', 'del', self.netns], check=False, timeout=15, capture_output=True)


@pytest.fixture
def netns_sshd(tmp_path):
    for tool in ('ip', 'nft'):
        if shutil.which(tool) is None:
            pytest.skip('needs %s (iproute2, nftables)' % tool)
    started = []

    def start(**kwargs):
        server = NetnsSshd(tmp_path, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_netns_baseline_ok(netns_sshd):
    server = netns_sshd()
    result = server.probe(username='root', key_file=str(server.tmp / 'client_key'))
    assert result['summary']['classification'] == 'ok', result
    assert result['attempts'][0]['phase'] == 'session'


def test_tcp_wrappers_deny_is_delayed_reset(netns_sshd):
    # Debian 12's sshd links libwrap: a denied client is dropped ~5 s after connecting.
    server = netns_sshd(hosts_deny='sshd: ALL\n')
    result = server.probe(banner_timeout=10.0)
    att = result['attempts'][0]
    assert att['phase'] == 'banner' and att['outcome'] in ('reset', 'closed'), (att, server.log.read_text())
    assert 4.0 <= att['timings']['banner'] <= 7.0, att
    assert result['summary']['classification'] == 'reset_at_banner_delayed'
    assert result['summary']['likely_causes'] == ['tcp_wrappers']


def test_established_tcp_reset_rule(netns_sshd):
    server = netns_sshd()
    server.nft('table inet crdprobe {\n'
               '  chain input { type filter hook input priority 0; policy accept;\n'
               '    tcp dport %d ct state established reject with tcp reset\n  }\n}\n' % NETNS_PORT)
    result = server.probe(attempts=2, delay=0.1)
    # The RST answers the handshake's final ACK: on a fast path it is processed before connect()
    # returns (as the OpenSSH client reports: "connect to host ... Connection reset by peer"),
    # on a slower one the first read gets it.
    for att in result['attempts']:
        assert att['outcome'] == 'reset' and att['phase'] in ('tcp_connect', 'banner'), att
        assert att['elapsed_s'] < 1.0
    assert result['summary']['classification'] in ('reset_at_connect', 'reset_at_banner')
    assert result['summary']['likely_causes'][0] == 'firewall'


def test_large_packets_dropped_is_kex_hang(netns_sshd):
    # A path-MTU black hole: sshd's small banner passes, its KEXINIT (> 1000 bytes) never arrives.
    server = netns_sshd()
    server.nft('table inet crdprobe {\n'
               '  chain output { type filter hook output priority 0; policy accept;\n'
               '    tcp sport %d meta length > 1000 drop\n  }\n}\n' % NETNS_PORT)
    result = server.probe(kex_timeout=2.0)
    att = result['attempts'][0]
    assert att['banner'].startswith('SSH-2.0-OpenSSH_'), att
    assert (att['phase'], att['outcome']) == ('kex', 'hang'), att
    assert result['summary']['classification'] == 'kex_hang'
    assert result['summary']['likely_causes'][0] == 'mtu'


def test_reset_after_n_bytes_is_reset_mid_session(netns_sshd):
    # Reset the flow once it carried 100 kB (ct bytes needs conntrack accounting: enabled in
    # this namespace only).
    server = netns_sshd()
    server.run('sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_acct=1')
    server.nft('table inet crdprobe {\n'
               '  chain input { type filter hook input priority 0; policy accept;\n'
               '    tcp dport %d ct bytes > 100000 reject with tcp reset\n  }\n}\n' % NETNS_PORT)
    result = server.probe(username='root', key_file=str(server.tmp / 'client_key'), transfer_bytes=1048576)
    att = result['attempts'][0]
    assert (att['phase'], att['outcome']) == ('session', 'reset'), att
    assert 'head -c 1048576' in att['error']
    assert result['summary']['classification'] == 'reset_mid_session'
