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

The ICMP tests need a real link (ICMP errors to a local address are still errors, but a host
probing itself is not what they are about): a pair of namespaces the test creates, a "host" one
running sshd on 198.18.77.2 / fd00:77::2 (the benchmarking ranges of RFC 2544 / a ULA, only
inside the pair) and a "client" one, 198.18.77.1 / fd00:77::1, where the probe runs, joined by a
veth pair created inside them.  Firewall rules (iptables, ip6tables, nftables), routes and
sysctls are set in those namespaces only; deleting them removes everything.
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
from ansible_collections.connreset.doctor.tests.utils.ports import unused_loopback_port  # noqa: E402

SSHD = '/usr/sbin/sshd'

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root: sshd privilege separation, mount namespace for /run/sshd'),
    pytest.mark.skipif(not os.access(SSHD, os.X_OK), reason='needs %s (Debian package openssh-server)' % SSHD),
    pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen (openssh-client)'),
    pytest.mark.skipif(shutil.which('unshare') is None, reason='needs unshare (util-linux)'),
]


def keygen(path):
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'ssh_probe-test', '-f', str(path)],
                   check=True, timeout=30)


class Sshd:
    def __init__(self, tmp, extra=''):
        self.tmp = tmp
        self.port = unused_loopback_port()
        self.write_config(extra)
        self.proc = self.spawn([])
        self._wait_ready()

    listen = ('127.0.0.1',)

    def write_config(self, extra):
        tmp = self.tmp
        keygen(tmp / 'host_key')
        keygen(tmp / 'client_key')
        shutil.copy(str(tmp / 'client_key.pub'), str(tmp / 'authorized_keys'))
        self.log = tmp / 'sshd.log'
        (tmp / 'sshd_config').write_text('\n'.join([
            'Port %d' % self.port,
        ] + ['ListenAddress %s' % address for address in self.listen] + [
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
        self.probe_netns = self.netns
        self.proc = None
        ip('netns', 'add', self.netns)
        try:
            ip('-n', self.netns, 'link', 'set', 'lo', 'up')
            self.setup_network()
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
        wanted = ['Server listening on %s port %d' % (address, self.port) for address in self.listen]
        while not all(line in self.log.read_text() for line in wanted):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('sshd did not start in %s: %s' % (self.netns, self.log.read_text()))
            time.sleep(0.05)

    def setup_network(self):
        """Links and addresses besides lo, before sshd starts (none here)."""

    @staticmethod
    def run_in(netns, *argv, **kwargs):
        return subprocess.run(['ip', 'netns', 'exec', netns] + list(argv), check=True, timeout=30,
                              capture_output=True, text=True, **kwargs)

    def run(self, *argv, **kwargs):
        return self.run_in(self.netns, *argv, **kwargs)

    def nft(self, ruleset):
        self.run('nft', '-f', '-', input=ruleset)

    def probe(self, window=_probe.DELAYED_RESET_WINDOW, **over):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = self.run_in(self.probe_netns, sys.executable, '-c', PROBE_IN_NETNS, json.dumps(params(self.port, **over)),
                           json.dumps(list(window)), env=env)
        return json.loads(proc.stdout)

    def stop_sshd(self):
        """Stop sshd only (the namespace stays: a host with nothing listening)."""
        if self.proc is not None:
            super(NetnsSshd, self).stop()

    def stop(self):
        self.stop_sshd()
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


# ---------------------------------------------------------------------------------------------
# ICMP errors at connect: a host namespace and a client namespace joined by a veth pair
# ---------------------------------------------------------------------------------------------
HOST_V4, CLIENT_V4 = '198.18.77.2', '198.18.77.1'
HOST_V6, CLIENT_V6 = 'fd00:77::2', 'fd00:77::1'
ROUTED_NET, ROUTED_V4 = '198.18.78.0/24', '198.18.78.5'  # "behind" the host namespace, which routes
INPUT_RULE = ('table inet crdprobe {\n'
              '  chain input { type filter hook input priority 0; policy accept;\n'
              '    %s\n  }\n}\n')


class PeerNetnsSshd(NetnsSshd):
    """sshd in a "host" namespace on HOST_V4 and HOST_V6; the probe runs in a second, "client"
    namespace joined to it by a veth pair.  Both namespaces are created here and deleted in stop()."""

    listen = (HOST_V4, HOST_V6)

    def setup_network(self):
        self.client_netns = self.netns + 'c'
        ip('netns', 'add', self.client_netns)
        self.probe_netns = self.client_netns
        ip('-n', self.client_netns, 'link', 'set', 'lo', 'up')
        # Both ends are created inside the namespaces: nothing appears in the machine's own.
        ip('-n', self.netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', self.client_netns)
        for netns, address4, address6 in ((self.netns, HOST_V4, HOST_V6), (self.client_netns, CLIENT_V4, CLIENT_V6)):
            ip('-n', netns, 'address', 'add', address4 + '/24', 'dev', 'eth0')
            ip('-n', netns, 'address', 'add', address6 + '/64', 'dev', 'eth0', 'nodad')
            ip('-n', netns, 'link', 'set', 'eth0', 'up')
        # Linux sends a burst of 6 ICMP errors per destination, then 1 per second: lift the limit
        # in the host namespace so every rejected SYN of a test is answered at once.
        self.run('sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0')

    def probe(self, window=_probe.DELAYED_RESET_WINDOW, **over):
        over.setdefault('host', HOST_V4)
        return super(PeerNetnsSshd, self).probe(window, **over)

    def stop(self):
        super(PeerNetnsSshd, self).stop()
        if getattr(self, 'client_netns', None):
            subprocess.run(['ip', 'netns', 'del', self.client_netns], check=False, timeout=15, capture_output=True)


@pytest.fixture
def peer_sshd(tmp_path):
    for tool in ('ip', 'nft', 'sysctl'):
        if shutil.which(tool) is None:
            pytest.skip('needs %s (iproute2, nftables, procps)' % tool)
    started = []

    def start(**kwargs):
        server = PeerNetnsSshd(tmp_path, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _reject_rule(server, tool, rule):
    if shutil.which(tool) is None:
        pytest.skip('needs %s' % tool)
    if tool == 'nft':
        server.nft(INPUT_RULE % rule)
    else:
        server.run(tool, *rule)


# (tool, rule, host probed, expected icmp (type, code, text), outcome of the connect)
ICMP_REJECTS = [
    pytest.param('iptables', ['-I', 'INPUT', '-p', 'tcp', '--dport', str(NETNS_PORT), '-j', 'REJECT',
                              '--reject-with', 'icmp-port-unreachable'],
                 HOST_V4, (3, 3, 'port unreachable'), 'refused', id='iptables-icmp-port-unreachable-fail2ban-default'),
    pytest.param('ip6tables', ['-I', 'INPUT', '-p', 'tcp', '--dport', str(NETNS_PORT), '-j', 'REJECT',
                               '--reject-with', 'icmp6-port-unreachable'],
                 HOST_V6, (1, 4, 'port unreachable'), 'refused', id='ip6tables-icmp6-port-unreachable'),
    pytest.param('nft', 'tcp dport %d reject' % NETNS_PORT,
                 HOST_V4, (3, 3, 'port unreachable'), 'refused', id='nft-reject'),
    # EHOSTUNREACH / EACCES rather than ECONNREFUSED: outcome error, same classification
    pytest.param('nft', 'tcp dport %d reject with icmpx type admin-prohibited' % NETNS_PORT,
                 HOST_V4, (3, 13, 'communication administratively prohibited'), 'error', id='nft-admin-prohibited'),
    pytest.param('nft', 'tcp dport %d reject with icmpx type admin-prohibited' % NETNS_PORT,
                 HOST_V6, (1, 1, 'communication administratively prohibited'), 'error', id='nft-admin-prohibited-ipv6'),
]


@pytest.mark.parametrize('tool, rule, host, expected, outcome', ICMP_REJECTS)
def test_icmp_reject_is_rejected_icmp(peer_sshd, tool, rule, host, expected, outcome):
    server = peer_sshd()
    _reject_rule(server, tool, rule)
    result = server.probe(host=host, attempts=2, delay=0.1)
    icmp_type, code, text = expected
    for att in result['attempts']:
        assert (att['phase'], att['outcome'], att['address']) == ('tcp_connect', outcome, host), att
        assert att['icmp'] == {'type': icmp_type, 'code': code, 'origin': 'icmp6' if ':' in host else 'icmp',
                               'offender': host, 'text': text}, att
        assert 'ICMP' in att['error'] and host in att['error'], att
        assert att['elapsed_s'] < 2.0, att  # answered at once, not a timeout
    summary = result['summary']
    assert summary['classification'] == 'rejected_icmp', summary
    assert summary['likely_causes'] == ['firewall']
    assert summary['intermittent'] is False
    assert '"%s"' % text in summary['detail'] and 'from %s:' % host in summary['detail'], summary['detail']


def test_stopped_sshd_over_a_link_is_refused_without_icmp(peer_sshd):
    # The same host with nothing listening (no rule): Linux answers the SYN with a TCP reset.
    server = peer_sshd()
    server.stop_sshd()
    for host in (HOST_V4, HOST_V6):
        result = server.probe(host=host)
        att = result['attempts'][0]
        assert (att['phase'], att['outcome'], att['icmp']) == ('tcp_connect', 'refused', None), att
        assert 'Connection refused' in att['error'] and 'ICMP' not in att['error'], att
        assert result['summary']['classification'] == 'refused'
        assert result['summary']['likely_causes'] == ['sshd_down', 'firewall']


@pytest.mark.parametrize('route, expected, classification', [
    # a router without a route: evidence only, the verdict stays refused
    ('unreachable', (3, 1, 'host unreachable'), 'refused'),
    # a router's "prohibit" route is a policy reject, from an address other than the target
    ('prohibit', (3, 13, 'communication administratively prohibited'), 'rejected_icmp'),
])
def test_icmp_from_a_router(peer_sshd, route, expected, classification):
    server = peer_sshd()
    server.run('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')  # the host namespace routes (for the client only)
    server.run('ip', 'route', 'add', route, ROUTED_NET)
    server.run_in(server.client_netns, 'ip', 'route', 'add', ROUTED_NET, 'via', HOST_V4)
    result = server.probe(host=ROUTED_V4)
    att = result['attempts'][0]
    icmp_type, code, text = expected
    assert (att['phase'], att['outcome'], att['address']) == ('tcp_connect', 'error', ROUTED_V4), att
    assert att['icmp'] == {'type': icmp_type, 'code': code, 'origin': 'icmp', 'offender': HOST_V4, 'text': text}, att
    summary = result['summary']
    assert summary['classification'] == classification, summary
    if classification == 'refused':
        assert 'ICMP host unreachable from %s' % HOST_V4 in summary['detail'], summary['detail']
    else:
        assert 'from %s (not %s itself' % (HOST_V4, ROUTED_V4) in summary['detail'], summary['detail']


def test_every_other_connection_rejected_is_intermittent(peer_sshd):
    # A rule rejecting every second new connection (as a rate limit or a ban coming and going
    # would): ICMP rejects among successful attempts.
    server = peer_sshd()
    server.nft(INPUT_RULE % ('tcp dport %d ct state new numgen inc mod 2 0 reject' % NETNS_PORT))
    result = server.probe(attempts=4, delay=0.1)
    attempts = result['attempts']
    assert [a['outcome'] for a in attempts] == ['refused', 'ok', 'refused', 'ok'], attempts
    assert [bool(a['icmp']) for a in attempts] == [True, False, True, False], attempts
    assert attempts[0]['icmp']['text'] == 'port unreachable'
    summary = result['summary']
    assert summary['classification'] == 'rejected_icmp', summary
    assert summary['intermittent'] is True
    assert summary['counts'] == {'refused': 2, 'ok': 2}
    assert '2 of 4 attempts failed' in summary['detail'], summary['detail']
