# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ssh_probe's phases against scripted loopback servers, and the classifier as a pure function.

Every server here is a thread with a socket on 127.0.0.1 (ephemeral port) that plays one
failure the way the real thing shows on the wire (see /work/shared/notes/symptoms.md, measured
with OpenSSH 9.2p1 / paramiko 5.1):

* reset at once (SO_LINGER 0, then close): a firewall resetting established connections,
  an sshd that cannot fork;
* reset after a delay: TCP wrappers (libwrap's ~5 s; scaled down here, the classifier's window
  is a parameter);
* "Exceeded MaxStartups\\r\\n" then close: sshd.c drop_connection() in OpenSSH 8.x-9.7,
  "Not allowed at this time\\r\\n" in 9.8+;
* accept and stay silent: banner timeout;
* banner then silence: key exchange hang (path-MTU black hole);
* banner then reset: reset during key exchange;
* a real SSH server (paramiko in server mode) for ok / auth / session / mid-session reset.

Each server is bounded in time and shut down in teardown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import socket
import struct
import sys
import threading
import time

import pytest

paramiko = pytest.importorskip('paramiko')

from ansible_collections.connreset.doctor.plugins.module_utils import _probe  # noqa: E402
from ansible_collections.connreset.doctor.tests.utils.ports import unused_loopback_port  # noqa: E402

OPENSSH_BANNER = b'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'  # Debian 12's sshd, verbatim
SERVER_LIFETIME = 15.0  # no scripted server outlives this, whatever the test does


# ---------------------------------------------------------------------------------------------
# scripted loopback servers
# ---------------------------------------------------------------------------------------------
def hard_reset(conn):
    """Close with SO_LINGER {on, 0}: the kernel sends RST instead of FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    conn.close()


class ScriptedServer:
    """Listen on 127.0.0.1:<ephemeral>; run ``script(conn, index, stop_event)`` per connection."""

    def __init__(self, script, backlog=8):
        self.script = script
        self.stop = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(backlog)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.handlers = []
        self.connections = 0
        self.errors = []
        self.thread = threading.Thread(target=self._serve, name='scripted-ssh-%d' % self.port)
        self.thread.daemon = True
        self.thread.start()

    def _serve(self):
        end = time.monotonic() + SERVER_LIFETIME
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                conn, _peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            index = self.connections
            self.connections += 1
            handler = threading.Thread(target=self._handle, args=(conn, index))
            handler.daemon = True
            handler.start()
            self.handlers.append(handler)

    def _handle(self, conn, index):
        try:
            self.script(conn, index, self.stop)
        except Exception as exc:  # pylint: disable=broad-except
            self.errors.append(exc)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()
        for handler in self.handlers:
            handler.join(5)


@pytest.fixture
def server():
    started = []

    def start(script):
        srv = ScriptedServer(script)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.close()


def params(port, **over):
    base = dict(host='127.0.0.1', port=port, connect_timeout=2.0, banner_timeout=1.5, kex_timeout=1.5,
                auth_timeout=2.0, session_timeout=3.0, attempts=1, delay=0.0, username=None,
                key_file=None, password=None, transfer_bytes=65536)
    base.update(over)
    return base


def run(port, window=_probe.DELAYED_RESET_WINDOW, **over):
    return _probe.probe(params(port, **over), delayed_window=window)


# scripts -------------------------------------------------------------------------------------
def reset_at_once(conn, _index, _stop):
    hard_reset(conn)


def close_at_once(conn, _index, _stop):
    conn.close()


def delayed_reset(seconds):
    def script(conn, _index, stop):
        stop.wait(seconds)
        hard_reset(conn)
    return script


def send_then_close(text):
    def script(conn, _index, _stop):
        conn.sendall(text)
        conn.close()
    return script


def silent(conn, _index, stop):
    stop.wait(SERVER_LIFETIME)


def banner_then_silent(conn, _index, stop):
    """Banner, then swallow whatever the client sends and never answer (KEXINIT goes nowhere)."""
    conn.sendall(OPENSSH_BANNER)
    conn.settimeout(0.1)
    while not stop.is_set():
        try:
            if not conn.recv(4096):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def banner_then_reset(conn, _index, stop):
    """Banner, wait for the client's identification and KEXINIT, then reset."""
    conn.sendall(OPENSSH_BANNER)
    conn.settimeout(2.0)
    got = b''
    while b'\n' not in got:
        chunk = conn.recv(4096)
        if not chunk:
            return
        got += chunk
    stop.wait(0.1)
    hard_reset(conn)


# a real SSH server: paramiko in server mode -----------------------------------------------------
@pytest.fixture(scope='module')
def host_key():
    return paramiko.RSAKey.generate(2048)


class _ServerIface(paramiko.ServerInterface):
    def __init__(self, on_exec):
        self.on_exec = on_exec

    def get_allowed_auths(self, username):
        return 'password'

    def check_auth_password(self, username, password):
        if username == 'probe' and password == 'secret':
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == 'session':
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED_OPEN_REQUEST

    def check_channel_exec_request(self, channel, command):
        # Answer from a thread, after paramiko has sent the request's success reply (closing
        # the channel before that reply makes the client's exec_command fail: sshd never does).
        def later():
            time.sleep(0.05)
            self.on_exec(channel, command.decode())
        worker = threading.Thread(target=later)
        worker.daemon = True
        worker.start()
        return True


def exec_normally(_conn):
    def on_exec(channel, command):
        if command.startswith('head -c '):
            channel.sendall(b'\0' * int(command.split()[2]))
        channel.send_exit_status(0)
        channel.close()
    return on_exec


def exec_then_reset_after(nbytes):
    """``true`` works; the transfer is cut by a TCP reset after ``nbytes`` (a tcp-reset rule
    matching after N bytes, as in symptoms.md)."""
    def factory(conn):
        def on_exec(channel, command):
            if command == 'true':
                channel.send_exit_status(0)
                channel.close()
                return
            channel.sendall(b'\0' * nbytes)
            time.sleep(0.2)
            hard_reset(conn)
        return on_exec
    return factory


def ssh_server(host_key, exec_factory=exec_normally, drop=()):
    """A paramiko SSH server; connections whose index is in ``drop`` get sshd's MaxStartups text."""
    def script(conn, index, stop):
        if index in drop:
            conn.sendall(b'Exceeded MaxStartups\r\n')
            return
        transport = paramiko.Transport(conn)
        transport.add_server_key(host_key)
        try:
            transport.start_server(server=_ServerIface(exec_factory(conn)))
            end = time.monotonic() + 10
            while transport.is_active() and not stop.is_set() and time.monotonic() < end:
                time.sleep(0.05)
        finally:
            transport.close()
    return script


# ---------------------------------------------------------------------------------------------
# probe against the scripted servers
# ---------------------------------------------------------------------------------------------
def only_attempt(result):
    assert len(result['attempts']) == 1
    return result['attempts'][0]


def test_closed_port_is_refused():
    result = run(unused_loopback_port())
    att = only_attempt(result)
    assert (att['phase'], att['outcome']) == ('tcp_connect', 'refused')
    assert 'Connection refused' in att['error']
    assert att['address'] == '127.0.0.1'
    assert att['icmp'] is None  # a closed port answers with a TCP reset: nothing on the error queue
    assert 'ICMP' not in att['error']
    assert att['local_address'] == '127.0.0.1' and att['local_port'] > 0  # the port the SYN left from
    assert att['started_at'] <= att['ended_at']
    assert att['timings']['dns'] is not None and att['timings']['banner'] is None
    summary = result['summary']
    assert summary['classification'] == 'refused'
    assert summary['likely_causes'] == ['sshd_down', 'firewall']
    assert summary['counts'] == {'refused': 1}
    assert summary['intermittent'] is False


def test_reset_at_once(server):
    srv = server(reset_at_once)
    result = run(srv.port, window=(0.5, 2.0))
    att = only_attempt(result)
    # Established, then reset: usually seen by the first read; on loopback the RST can also win
    # the race with connect() returning (Linux: ECONNRESET from connect, not ECONNREFUSED).
    assert att['outcome'] == 'reset' and att['phase'] in ('tcp_connect', 'banner'), att
    assert 'Connection reset by peer' in att['error']
    assert att['banner'] is None
    assert result['summary']['classification'] == {'banner': 'reset_at_banner',
                                                   'tcp_connect': 'reset_at_connect'}[att['phase']]
    assert result['summary']['likely_causes'][0] == 'firewall'


def test_close_at_once(server):
    srv = server(close_at_once)
    result = run(srv.port, window=(0.5, 2.0))
    att = only_attempt(result)
    assert (att['phase'], att['outcome']) == ('banner', 'closed')
    assert result['summary']['classification'] == 'closed_at_banner'


def test_delayed_reset_is_tcp_wrappers(server):
    # libwrap's ~5 s delay, scaled: a reset 0.6 s after accept with a 0.4-2.5 s window.
    srv = server(delayed_reset(0.6))
    result = run(srv.port, window=(0.4, 2.5), banner_timeout=3.0)
    att = only_attempt(result)
    assert (att['phase'], att['outcome']) == ('banner', 'reset')
    assert 0.55 <= att['timings']['banner'] <= 2.5
    assert result['summary']['classification'] == 'reset_at_banner_delayed'
    assert result['summary']['likely_causes'] == ['tcp_wrappers']


def test_delayed_reset_outside_window_is_plain_reset(server):
    srv = server(delayed_reset(0.2))
    result = run(srv.port, window=(0.6, 1.2))
    assert result['summary']['classification'] == 'reset_at_banner'


@pytest.mark.parametrize('text, version', [
    (b'Exceeded MaxStartups\r\n', 'OpenSSH 8.x-9.7 sshd.c drop_connection()'),
    (b'Not allowed at this time\r\n', 'OpenSSH 9.8+ sshd.c drop_connection()'),
])
def test_maxstartups_text(server, text, version):
    srv = server(send_then_close(text))
    result = run(srv.port)
    att = only_attempt(result)
    assert (att['phase'], att['outcome']) == ('banner', 'banner_text'), version
    assert att['banner'] == text.decode().strip()
    assert 'EOF' in att['error']
    summary = result['summary']
    assert summary['classification'] == 'maxstartups'
    assert summary['likely_causes'][0] == 'sshd_rate_limit'
    assert text.decode().strip() in summary['detail']


def test_other_text_then_close_is_closed_at_banner(server):
    srv = server(send_then_close(b'Connection refused by policy\r\n'))
    result = run(srv.port)
    assert only_attempt(result)['outcome'] == 'banner_text'
    assert result['summary']['classification'] == 'closed_at_banner'
    assert 'Connection refused by policy' in result['summary']['detail']


def test_silent_server_is_banner_timeout(server):
    srv = server(silent)
    result = run(srv.port, banner_timeout=0.5)
    att = only_attempt(result)
    assert (att['phase'], att['outcome']) == ('banner', 'timeout')
    assert 0.45 <= att['timings']['banner'] < 1.5
    assert result['summary']['classification'] == 'banner_timeout'


def test_banner_then_silence_is_kex_hang(server):
    srv = server(banner_then_silent)
    result = run(srv.port, kex_timeout=0.8)
    att = only_attempt(result)
    assert att['banner'] == OPENSSH_BANNER.decode().strip()
    assert (att['phase'], att['outcome']) == ('kex', 'hang')
    assert 0.75 <= att['timings']['kex'] < 2.0
    assert result['summary']['classification'] == 'kex_hang'
    assert result['summary']['likely_causes'][0] == 'mtu'


def test_banner_then_reset_is_reset_during_kex(server):
    srv = server(banner_then_reset)
    result = run(srv.port)
    att = only_attempt(result)
    assert att['banner'].startswith('SSH-2.0-OpenSSH_9.2p1')
    assert (att['phase'], att['outcome']) == ('kex', 'reset')
    assert 'reset' in att['error'].lower()
    assert result['summary']['classification'] == 'reset_during_kex'


def test_real_ssh_server_ok_through_kex(server, host_key):
    srv = server(ssh_server(host_key))
    result = run(srv.port)
    att = only_attempt(result)
    assert (att['phase'], att['outcome'], att['error']) == ('kex', 'ok', None)
    assert att['banner'].startswith('SSH-2.0-paramiko')
    assert att['timings']['auth'] is None
    assert result['summary']['classification'] == 'ok'
    assert result['summary']['likely_causes'] == []
    assert 'up to authentication' in result['summary']['detail']


def test_real_ssh_server_ok_through_session(server, host_key):
    srv = server(ssh_server(host_key))
    result = run(srv.port, username='probe', password='secret', transfer_bytes=262144)
    att = only_attempt(result)
    assert (att['phase'], att['outcome'], att['error']) == ('session', 'ok', None)
    assert all(att['timings'][p] is not None for p in _probe.PHASES)
    assert result['summary']['classification'] == 'ok'


def test_wrong_password_is_auth_failed(server, host_key):
    srv = server(ssh_server(host_key))
    result = run(srv.port, username='probe', password='wrong')
    att = only_attempt(result)
    assert (att['phase'], att['outcome']) == ('auth', 'auth_failed')
    assert 'Authentication failed' in att['error']
    assert result['summary']['classification'] == 'auth_failed'


def test_reset_mid_transfer(server, host_key):
    srv = server(ssh_server(host_key, exec_factory=exec_then_reset_after(32768)))
    result = run(srv.port, username='probe', password='secret', transfer_bytes=262144)
    att = only_attempt(result)
    assert (att['phase'], att['outcome']) == ('session', 'reset'), att
    assert 'head -c 262144' in att['error']
    assert result['summary']['classification'] == 'reset_mid_session'


def test_intermittent_maxstartups(server, host_key):
    # Connections 1 and 3 (of 0-3) get sshd's MaxStartups text, the others a working server.
    srv = server(ssh_server(host_key, drop=(1, 3)))
    result = run(srv.port, attempts=4, delay=0.05)
    assert [a['attempt'] for a in result['attempts']] == [1, 2, 3, 4]
    assert [a['outcome'] for a in result['attempts']] == ['ok', 'banner_text', 'ok', 'banner_text']
    summary = result['summary']
    assert summary['classification'] == 'maxstartups'
    assert summary['intermittent'] is True
    assert summary['counts'] == {'ok': 2, 'banner_text': 2}
    assert '2 of 4 attempts failed' in summary['detail']


def test_attempts_are_sequential(server):
    """One connection at a time: the server never sees two at once."""
    live = {'now': 0, 'max': 0}
    lock = threading.Lock()

    def script(conn, _index, stop):
        with lock:
            live['now'] += 1
            live['max'] = max(live['max'], live['now'])
        stop.wait(0.1)
        with lock:
            live['now'] -= 1
        hard_reset(conn)

    srv = server(script)
    result = run(srv.port, attempts=3, delay=0.0)
    assert len(result['attempts']) == 3
    assert srv.connections == 3
    assert live['max'] == 1


def test_name_with_several_addresses_tries_each(server, monkeypatch):
    """'localhost' may resolve to ::1 first while sshd listens on 127.0.0.1 only: like the OpenSSH
    client, the probe tries the next address and reports the one that answered."""
    srv = server(send_then_close(b'Exceeded MaxStartups\r\n'))
    dead = unused_loopback_port()
    monkeypatch.setattr(_probe, 'resolve', lambda host, port, timeout: [
        (socket.AF_INET, ('127.0.0.1', dead)), (socket.AF_INET, ('127.0.0.1', srv.port))])
    att = only_attempt(run(srv.port, host='sshd.example'))
    assert (att['phase'], att['outcome']) == ('banner', 'banner_text')
    assert att['address'] == '127.0.0.1'


def test_all_addresses_refused_lists_each(monkeypatch):
    dead = [unused_loopback_port(), unused_loopback_port()]
    monkeypatch.setattr(_probe, 'resolve', lambda host, port, timeout: [
        (socket.AF_INET, ('127.0.0.1', dead[0])), (socket.AF_INET, ('127.0.0.1', dead[1]))])
    att = only_attempt(run(22, host='sshd.example'))
    assert (att['phase'], att['outcome']) == ('tcp_connect', 'refused')
    assert att['error'].count('Connection refused') == 2


def test_unresolvable_name_is_dns_failure():
    result = _probe.probe(params(22, host='no-such-host.invalid'))
    att = only_attempt(result)
    # NXDOMAIN from the resolver ('error'), or a resolver that does not answer in time ('timeout')
    assert att['phase'] == 'dns' and att['outcome'] in ('error', 'timeout')
    assert att['address'] is None
    assert result['summary']['classification'] == 'dns_failure'


@pytest.mark.parametrize('over, message', [
    (dict(attempts=0), 'attempts must be between 1 and 20'),
    (dict(attempts=21), 'attempts must be between 1 and 20'),
    (dict(delay=-1.0), 'delay must be between'),
    (dict(delay=61.0), 'delay must be between'),
    (dict(port=0), 'port must be between'),
    (dict(kex_timeout=0.0), 'kex_timeout must be between'),
    (dict(banner_timeout=301.0), 'banner_timeout must be between'),
    (dict(transfer_bytes=-1), 'transfer_bytes must be between'),
    (dict(username='probe'), 'username needs key_file or password'),
    (dict(password='x'), 'need username'),
    (dict(host=' '), 'host must be'),
])
def test_bad_options(over, message):
    opts = params(22)
    opts.update(over)
    assert any(message in e for e in _probe.validate_params(opts))
    with pytest.raises(_probe.ProbeConfigError, match=message):
        _probe.probe(opts)


def test_good_options_have_no_errors():
    assert _probe.validate_params(params(22)) == []
    assert _probe.validate_params(params(22, username='u', key_file='/k', attempts=20, delay=60.0)) == []


def test_time_budget_is_bounded():
    # dns + up to MAX_ADDRESSES connects, banner, kex (+ auth, session), delays between attempts
    assert _probe.MAX_ADDRESSES == 3
    assert _probe.time_budget(params(22, attempts=3, delay=1.0)) == pytest.approx(3 * (8 + 1.5 + 1.5) + 2)
    assert _probe.time_budget(params(22, username='u', password='p')) == pytest.approx(8 + 1.5 + 1.5 + 2 + 3)


def test_bad_key_file(tmp_path):
    bogus = tmp_path / 'id_bogus'
    bogus.write_text('not a key\n')
    with pytest.raises(_probe.ProbeConfigError, match='not a private key'):
        _probe.probe(params(22, username='u', key_file=str(bogus)))
    with pytest.raises(_probe.ProbeConfigError, match='cannot read key_file'):
        _probe.probe(params(22, username='u', key_file=str(tmp_path / 'missing')))


# ---------------------------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('data, ident, text, rest', [
    (OPENSSH_BANNER, 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3', [], b''),
    (b'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n\x00\x00\x05\xdc', 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3', [],
     b'\x00\x00\x05\xdc'),
    (b'Exceeded MaxStartups\r\n', None, ['Exceeded MaxStartups'], b''),
    (b'Not allowed at this time\r\n', None, ['Not allowed at this time'], b''),
    (b'Welcome\r\nauthorised use only\r\nSSH-2.0-dropbear_2022.83\r\n', 'SSH-2.0-dropbear_2022.83',
     ['Welcome', 'authorised use only'], b''),
    (b'SSH-2.0-OpenSSH_9.2', None, [], b''),
    (b'Exceeded Max', None, ['Exceeded Max'], b''),
    (b'', None, [], b''),
])
def test_split_banner(data, ident, text, rest):
    assert _probe.split_banner(data) == (ident, text, rest)


@pytest.mark.parametrize('exc, outcome', [
    (ConnectionResetError(104, 'Connection reset by peer'), 'reset'),
    (ConnectionRefusedError(111, 'Connection refused'), 'refused'),
    (BrokenPipeError(32, 'Broken pipe'), 'reset'),
    (EOFError(), 'closed'),
    (socket.timeout(), 'timeout'),
    (OSError(113, 'No route to host'), 'error'),
    (OSError(110, 'Connection timed out'), 'timeout'),
    (paramiko.SSHException('Error reading SSH protocol banner[Errno 104] Connection reset by peer'), 'reset'),
    (paramiko.SSHException('Incompatible ssh peer (no acceptable kex algorithm)'), 'error'),
])
def test_exception_outcome(exc, outcome):
    got, text = _probe.exception_outcome(exc)
    assert got == outcome
    assert text


def attempt(phase, outcome, banner_s=None, banner=None, error='x', n=1, icmp=None, address='192.0.2.10'):
    timings = dict((p, None) for p in _probe.PHASES)
    for p in _probe.PHASES[:_probe.PHASES.index(phase) + 1]:
        timings[p] = 0.001
    if banner_s is not None:
        timings['banner'] = banner_s
    return dict(attempt=n, phase=phase, outcome=outcome, error=None if outcome == 'ok' else error,
                banner=banner, elapsed_s=sum(v for v in timings.values() if v), timings=timings,
                address=address, icmp=icmp)


def icmp(origin, icmp_type, code, offender='192.0.2.10'):
    return dict(type=icmp_type, code=code, origin=origin, offender=offender,
                text=_probe.icmp_text(origin, icmp_type, code))


# Connects answered with an ICMP error, as the probe records them (errno texts as Linux 6.18 /
# Python 3.11 give them; see tests/system/test_probe_real.py for the rules that produce them).
REFUSED_ERR = 'ConnectionRefusedError: [Errno 111] Connection refused (192.0.2.10 port 22)'
REJECT_PORT = attempt('tcp_connect', 'refused', icmp=icmp('icmp', 3, 3),
                      error=REFUSED_ERR[:-1] + '; ICMP port unreachable from 192.0.2.10)')
REJECT_ADMIN = attempt('tcp_connect', 'error', icmp=icmp('icmp', 3, 13),
                       error='OSError: [Errno 113] No route to host (192.0.2.10 port 22; ICMP communication '
                             'administratively prohibited from 192.0.2.10)')
REJECT_PORT6 = attempt('tcp_connect', 'refused', icmp=icmp('icmp6', 1, 4, '2001:db8::10'), address='2001:db8::10',
                       error='ConnectionRefusedError: [Errno 111] Connection refused (2001:db8::10 port 22; '
                             'ICMPv6 port unreachable from 2001:db8::10)')
REJECT_ADMIN6 = attempt('tcp_connect', 'error', icmp=icmp('icmp6', 1, 1, '2001:db8::10'), address='2001:db8::10',
                        error='PermissionError: [Errno 13] Permission denied (2001:db8::10 port 22; ICMPv6 '
                              'communication administratively prohibited from 2001:db8::10)')
HOST_UNREACH = attempt('tcp_connect', 'error', icmp=icmp('icmp', 3, 1, '198.51.100.1'),
                       error='OSError: [Errno 113] No route to host (192.0.2.10 port 22; ICMP host unreachable '
                             'from 198.51.100.1)')
RST_REFUSED = attempt('tcp_connect', 'refused', error=REFUSED_ERR)


OK_KEX = attempt('kex', 'ok', banner='SSH-2.0-OpenSSH_9.2p1')
MS_TEXT = attempt('banner', 'banner_text', 0.002, 'Exceeded MaxStartups')
RESET_NOW = attempt('banner', 'reset', 0.002)
RESET_5S = attempt('banner', 'reset', 5.003)


@pytest.mark.parametrize('attempts, classification, intermittent, first_cause', [
    ([OK_KEX], 'ok', False, None),
    ([attempt('session', 'ok')] * 3, 'ok', False, None),
    ([attempt('dns', 'error')], 'dns_failure', False, 'configuration'),
    ([attempt('dns', 'timeout')], 'dns_failure', False, 'configuration'),
    ([attempt('tcp_connect', 'refused')] * 2, 'refused', False, 'sshd_down'),
    ([attempt('tcp_connect', 'error', error='OSError: [Errno 113] No route to host')], 'refused', False, 'sshd_down'),
    ([RST_REFUSED] * 3, 'refused', False, 'sshd_down'),
    # an ICMP error rejecting the port: a REJECT rule (fail2ban's ban, iptables/nftables reject)
    ([REJECT_PORT] * 2, 'rejected_icmp', False, 'firewall'),
    ([attempt('tcp_connect', 'refused', icmp=icmp('icmp', 3, 9))], 'rejected_icmp', False, 'firewall'),
    ([attempt('tcp_connect', 'error', icmp=icmp('icmp', 3, 10))], 'rejected_icmp', False, 'firewall'),
    ([REJECT_ADMIN], 'rejected_icmp', False, 'firewall'),
    ([REJECT_PORT6], 'rejected_icmp', False, 'firewall'),
    ([REJECT_ADMIN6, REJECT_ADMIN6], 'rejected_icmp', False, 'firewall'),
    # a router's host/net unreachable, or another ICMP error: evidence only, still refused
    ([HOST_UNREACH], 'refused', False, 'sshd_down'),
    ([attempt('tcp_connect', 'error', icmp=icmp('icmp', 3, 0, '198.51.100.1'))], 'refused', False, 'sshd_down'),
    ([attempt('tcp_connect', 'error', icmp=icmp('icmp', 3, 2))], 'refused', False, 'sshd_down'),
    ([attempt('tcp_connect', 'error', icmp=icmp('icmp', 11, 0, '198.51.100.1'))], 'refused', False, 'sshd_down'),
    ([attempt('tcp_connect', 'error', icmp=icmp('icmp6', 1, 0, '2001:db8::1'))], 'refused', False, 'sshd_down'),
    ([attempt('tcp_connect', 'error', icmp=icmp('icmp6', 1, 3, '2001:db8::1'))], 'refused', False, 'sshd_down'),
    # ICMPv4 codes under the ICMPv6 type and the other way round are not rejections
    ([attempt('tcp_connect', 'refused', icmp=icmp('icmp6', 3, 3))], 'refused', False, 'sshd_down'),
    ([attempt('tcp_connect', 'refused', icmp=icmp('icmp', 1, 4))], 'refused', False, 'sshd_down'),
    # rejected now and then, the other attempts fine (a ban coming and going, a rate limit)
    ([OK_KEX, REJECT_PORT, OK_KEX], 'rejected_icmp', True, 'firewall'),
    ([OK_KEX, REJECT_ADMIN6, OK_KEX, REJECT_ADMIN6], 'rejected_icmp', True, 'firewall'),
    # rejected by ICMP and by a reset (a ban added mid-probe): the most frequent names the verdict
    ([RST_REFUSED, REJECT_PORT, REJECT_PORT], 'rejected_icmp', True, 'firewall'),
    ([RST_REFUSED, RST_REFUSED, REJECT_PORT], 'refused', True, 'sshd_down'),
    # an instant drop and an ICMP reject among successes are not MaxStartups
    ([OK_KEX, RESET_NOW, OK_KEX, REJECT_PORT], 'reset_at_banner', True, 'firewall'),
    ([attempt('tcp_connect', 'timeout')], 'connect_timeout', False, 'conntrack'),
    ([attempt('tcp_connect', 'reset')], 'reset_at_connect', False, 'firewall'),
    # a reset right after the handshake, racing connect(), among successes: a MaxStartups drop
    ([OK_KEX, attempt('tcp_connect', 'reset'), OK_KEX, RESET_NOW], 'maxstartups', True, 'sshd_rate_limit'),
    ([RESET_NOW] * 3, 'reset_at_banner', False, 'firewall'),
    ([RESET_5S] * 3, 'reset_at_banner_delayed', False, 'tcp_wrappers'),
    ([attempt('banner', 'closed', 5.01)], 'reset_at_banner_delayed', False, 'tcp_wrappers'),
    ([attempt('banner', 'reset', 3.0)], 'reset_at_banner', False, 'firewall'),
    ([attempt('banner', 'reset', 7.5)], 'reset_at_banner', False, 'firewall'),
    ([MS_TEXT], 'maxstartups', False, 'sshd_rate_limit'),
    ([attempt('banner', 'banner_text', 0.001, 'Not allowed at this time')], 'maxstartups', False, 'sshd_rate_limit'),
    ([attempt('banner', 'closed', 0.001)], 'closed_at_banner', False, 'sshd_rate_limit'),
    ([attempt('banner', 'timeout', 10.0)], 'banner_timeout', False, 'resource_exhaustion'),
    ([attempt('kex', 'hang')], 'kex_hang', False, 'mtu'),
    ([attempt('kex', 'reset')], 'reset_during_kex', False, 'firewall'),
    ([attempt('kex', 'closed')], 'reset_during_kex', False, 'firewall'),
    ([attempt('kex', 'error', error='no acceptable kex algorithm')], 'probe_error', False, 'configuration'),
    ([attempt('auth', 'auth_failed')], 'auth_failed', False, 'configuration'),
    ([attempt('auth', 'reset')], 'reset_mid_session', False, 'firewall'),
    ([attempt('session', 'reset')], 'reset_mid_session', False, 'firewall'),
    ([attempt('session', 'hang')], 'session_hang', False, 'mtu'),
    ([attempt('session', 'error')], 'probe_error', False, 'configuration'),
    # 3 of 10 dropped with sshd's text, the rest fine: MaxStartups' random early drop
    ([OK_KEX] * 7 + [MS_TEXT] * 3, 'maxstartups', True, 'sshd_rate_limit'),
    # instant resets at the banner while others succeed: MaxStartups without text (sshd resets
    # when the client's identification is unread)
    ([OK_KEX, RESET_NOW, OK_KEX, RESET_NOW], 'maxstartups', True, 'sshd_rate_limit'),
    # all dropped, some with text, some reset: still MaxStartups (at "full" every one drops)
    ([MS_TEXT, RESET_NOW, MS_TEXT], 'maxstartups', True, 'sshd_rate_limit'),
    # a reset 2.5 s after connecting is neither MaxStartups (instant) nor libwrap (~5 s)
    ([OK_KEX, attempt('banner', 'reset', 2.5), OK_KEX], 'intermittent_reset', True, 'sshd_rate_limit'),
    # resets later in the connection, intermittently
    ([OK_KEX, attempt('kex', 'reset'), OK_KEX], 'intermittent_reset', True, 'sshd_rate_limit'),
    ([attempt('session', 'ok'), attempt('session', 'reset'), attempt('session', 'ok')], 'intermittent_reset', True,
     'sshd_rate_limit'),
    # some connects time out: the failure still names itself, flagged intermittent
    ([OK_KEX, attempt('tcp_connect', 'timeout'), OK_KEX], 'connect_timeout', True, 'conntrack'),
    # no success, different failures: the most frequent wins
    ([attempt('tcp_connect', 'timeout'), attempt('kex', 'hang'), attempt('kex', 'hang')], 'kex_hang', True, 'mtu'),
])
def test_summarize(attempts, classification, intermittent, first_cause):
    summary = _probe.summarize(attempts, host='web1', port=22, timeouts={'banner': 10.0, 'kex': 10.0})
    assert summary['classification'] == classification
    assert summary['classification'] in _probe.CLASSIFICATIONS
    assert summary['intermittent'] is intermittent
    assert (summary['likely_causes'][0] if summary['likely_causes'] else None) == first_cause
    assert sum(summary['counts'].values()) == len(attempts)
    assert summary['phase'] in _probe.PHASES
    assert summary['outcome'] in _probe.OUTCOMES
    assert summary['detail'] and '{' not in summary['detail']
    for cause in summary['likely_causes']:
        assert cause in ('sshd_down', 'sshd_rate_limit', 'resource_exhaustion', 'tcp_wrappers', 'mtu', 'conntrack',
                         'idle_timeout', 'listen_queue', 'firewall', 'configuration')


def test_summarize_window_is_a_parameter():
    fast = attempt('banner', 'reset', 0.6)
    assert _probe.summarize([fast])['classification'] == 'reset_at_banner'
    assert _probe.summarize([fast], delayed_window=(0.4, 1.0))['classification'] == 'reset_at_banner_delayed'


def test_summarize_counts_and_representative():
    attempts = [OK_KEX] * 7 + [MS_TEXT] * 3
    summary = _probe.summarize(attempts)
    assert summary['counts'] == {'ok': 7, 'banner_text': 3}
    assert (summary['phase'], summary['outcome']) == ('banner', 'banner_text')
    assert "'Exceeded MaxStartups'" in summary['detail']
    assert '3 of 10 attempts failed' in summary['detail']


def test_summarize_no_attempts():
    summary = _probe.summarize([])
    assert summary['classification'] == 'probe_error'
    assert summary['counts'] == {}


# ---------------------------------------------------------------------------------------------
# ICMP errors from the error queue (pure parsing, then the I/O helpers)
# ---------------------------------------------------------------------------------------------
def extended_err(ee_errno, origin, icmp_type, code, info=0):
    """struct sock_extended_err (linux/errqueue.h), native byte order as the kernel writes it."""
    return struct.pack('=IBBBBII', ee_errno, origin, icmp_type, code, 0, info, 0)


def sockaddr_in(address, port=0):
    """struct sockaddr_in: family (native u16), port (big-endian), 4 address bytes, 8 of padding."""
    return struct.pack('=H', 2) + struct.pack('>H', port) + socket.inet_pton(socket.AF_INET, address) + b'\0' * 8


def sockaddr_in6(address, port=0):
    """struct sockaddr_in6: family (native u16, AF_INET6 = 10 on Linux), port, flowinfo, address, scope id."""
    return (struct.pack('=H', 10) + struct.pack('>HI', port, 0) + socket.inet_pton(socket.AF_INET6, address)
            + struct.pack('=I', 0))


V4, V6 = (0, 11), (41, 25)  # (SOL_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)

# (level, type), data, expected: the shapes Linux 6.18 put on the error queue of a TCP socket whose
# connect() was answered with an ICMP error (recorded with recvmsg(512, 512, MSG_ERRQUEUE) across a
# veth pair), and of a UDP socket's local EMSGSIZE (origin LOCAL).
EXTENDED_ERR_SAMPLES = [
    # iptables -j REJECT --reject-with icmp-port-unreachable (fail2ban's default ban action)
    pytest.param(V4, extended_err(111, 2, 3, 3) + sockaddr_in('198.18.77.2'),
                 dict(type=3, code=3, origin='icmp', offender='198.18.77.2', text='port unreachable'), id='v4-port-unreachable'),
    # nftables reject with icmpx type admin-prohibited (connect: EHOSTUNREACH)
    pytest.param(V4, extended_err(113, 2, 3, 13) + sockaddr_in('198.18.77.2'),
                 dict(type=3, code=13, origin='icmp', offender='198.18.77.2',
                      text='communication administratively prohibited'), id='v4-admin-prohibited'),
    pytest.param(V4, extended_err(111, 2, 3, 9) + sockaddr_in('203.0.113.1'),
                 dict(type=3, code=9, origin='icmp', offender='203.0.113.1', text='network administratively prohibited'),
                 id='v4-net-prohibited'),
    pytest.param(V4, extended_err(111, 2, 3, 10) + sockaddr_in('203.0.113.1'),
                 dict(type=3, code=10, origin='icmp', offender='203.0.113.1', text='host administratively prohibited'),
                 id='v4-host-prohibited'),
    # a router without a route ("unreachable" route type): host unreachable from the router
    pytest.param(V4, extended_err(113, 2, 3, 1) + sockaddr_in('198.18.77.2'),
                 dict(type=3, code=1, origin='icmp', offender='198.18.77.2', text='host unreachable'), id='v4-host-unreachable'),
    pytest.param(V4, extended_err(101, 2, 3, 0) + sockaddr_in('198.18.77.2'),
                 dict(type=3, code=0, origin='icmp', offender='198.18.77.2', text='net unreachable'), id='v4-net-unreachable'),
    pytest.param(V4, extended_err(113, 2, 11, 0) + sockaddr_in('198.51.100.1'),
                 dict(type=11, code=0, origin='icmp', offender='198.51.100.1', text='TTL exceeded in transit'),
                 id='v4-ttl-exceeded'),
    pytest.param(V4, extended_err(113, 2, 3, 42) + sockaddr_in('198.51.100.1'),
                 dict(type=3, code=42, origin='icmp', offender='198.51.100.1', text='destination unreachable (code 42)'),
                 id='v4-unknown-code'),
    pytest.param(V4, extended_err(113, 2, 40, 1) + sockaddr_in('198.51.100.1'),
                 dict(type=40, code=1, origin='icmp', offender='198.51.100.1', text='type 40 code 1'), id='v4-unknown-type'),
    # ip6tables -j REJECT --reject-with icmp6-port-unreachable
    pytest.param(V6, extended_err(111, 3, 1, 4) + sockaddr_in6('fd00:77::2'),
                 dict(type=1, code=4, origin='icmp6', offender='fd00:77::2', text='port unreachable'), id='v6-port-unreachable'),
    # nftables reject with icmpx type admin-prohibited (connect: EACCES)
    pytest.param(V6, extended_err(13, 3, 1, 1) + sockaddr_in6('fd00:77::2'),
                 dict(type=1, code=1, origin='icmp6', offender='fd00:77::2', text='communication administratively prohibited'),
                 id='v6-admin-prohibited'),
    pytest.param(V6, extended_err(113, 3, 1, 3) + sockaddr_in6('fd00:77::2'),
                 dict(type=1, code=3, origin='icmp6', offender='fd00:77::2', text='address unreachable'), id='v6-address-unreachable'),
    pytest.param(V6, extended_err(101, 3, 1, 0) + sockaddr_in6('2001:db8::1'),
                 dict(type=1, code=0, origin='icmp6', offender='2001:db8::1', text='no route to destination'), id='v6-no-route'),
    # an IPv4 ICMP error on an IPv6 socket (v4-mapped peer): the offender as an IPv4 address
    pytest.param(V6, extended_err(111, 2, 3, 3) + sockaddr_in6('::ffff:192.0.2.10'),
                 dict(type=3, code=3, origin='icmp', offender='192.0.2.10', text='port unreachable'), id='v6-socket-v4-mapped'),
    # no offender address, or one the kernel left empty / cut short
    pytest.param(V4, extended_err(111, 2, 3, 3),
                 dict(type=3, code=3, origin='icmp', offender=None, text='port unreachable'), id='v4-no-offender'),
    pytest.param(V4, extended_err(111, 2, 3, 3) + b'\0' * 16,
                 dict(type=3, code=3, origin='icmp', offender=None, text='port unreachable'), id='v4-offender-unspec'),
    pytest.param(V4, extended_err(111, 2, 3, 3) + sockaddr_in('198.18.77.2')[:6],
                 dict(type=3, code=3, origin='icmp', offender=None, text='port unreachable'), id='v4-offender-cut'),
    pytest.param(V6, extended_err(111, 3, 1, 4) + sockaddr_in6('fd00:77::2')[:20],
                 dict(type=1, code=4, origin='icmp6', offender=None, text='port unreachable'), id='v6-offender-cut'),
    pytest.param(V6, bytearray(extended_err(111, 3, 1, 4) + sockaddr_in6('fd00:77::2')),
                 dict(type=1, code=4, origin='icmp6', offender='fd00:77::2', text='port unreachable'), id='bytearray'),
    # origin LOCAL: the sending host's own error (UDP send beyond the MTU: EMSGSIZE, ee_info 1400)
    pytest.param(V4, extended_err(90, 1, 0, 0, 1400) + b'\0' * 16, None, id='v4-local-emsgsize'),
    pytest.param(V6, extended_err(90, 1, 0, 0, 1400) + b'\0' * 28, None, id='v6-local-emsgsize'),
    # other origins: none (0), txstatus (4), zerocopy (5), txtime (6)
    pytest.param(V4, extended_err(0, 0, 0, 0) + b'\0' * 16, None, id='origin-none'),
    pytest.param(V4, extended_err(42, 4, 0, 0), None, id='origin-txstatus'),
    pytest.param(V4, extended_err(0, 5, 0, 0), None, id='origin-zerocopy'),
    pytest.param(V6, extended_err(0, 6, 0, 0), None, id='origin-txtime'),
    # not an extended error at all, or too short
    pytest.param((1, 1), extended_err(111, 2, 3, 3) + sockaddr_in('198.18.77.2'), None, id='scm-rights'),
    pytest.param((0, 8), extended_err(111, 2, 3, 3), None, id='ip-pktinfo'),
    pytest.param(V4, extended_err(111, 2, 3, 3)[:15], None, id='short'),
    pytest.param(V4, b'', None, id='empty'),
    pytest.param(V4, None, None, id='none'),
    pytest.param(V4, 'not bytes' * 4, None, id='text'),
    pytest.param(V6, b'\xff' * 60, None, id='garbage-origin-255'),
]


@pytest.mark.parametrize('cmsg, data, expected', EXTENDED_ERR_SAMPLES)
def test_parse_extended_err(cmsg, data, expected):
    assert _probe.parse_extended_err(cmsg[0], cmsg[1], data) == expected


@pytest.mark.skipif(sys.byteorder != 'little', reason='verbatim bytes of a little-endian machine')
@pytest.mark.parametrize('cmsg, hexdata, expected', [
    # x86_64, Linux 6.18: iptables REJECT --reject-with icmp-port-unreachable, offender 198.18.77.2
    (V4, '6f00000002030300000000000000000002000000c6124d020000000000000000',
     dict(type=3, code=3, origin='icmp', offender='198.18.77.2', text='port unreachable')),
    # ip6tables REJECT --reject-with icmp6-adm-prohibited, offender fd00:77::2
    (V6, '0d0000000301010000000000000000000a00000000000000fd00007700000000000000000000000200000000',
     dict(type=1, code=1, origin='icmp6', offender='fd00:77::2', text='communication administratively prohibited')),
    # UDP send of 3000 bytes with IP_PMTUDISC_DO over an MTU of 1400: origin LOCAL
    (V4, '5a00000001000000780500000000000000000000000000000000000000000000', None),
])
def test_parse_extended_err_verbatim(cmsg, hexdata, expected):
    assert _probe.parse_extended_err(cmsg[0], cmsg[1], bytes.fromhex(hexdata)) == expected


def test_parse_extended_err_never_raises():
    rng = random.Random(20240601)
    for _round in range(2000):
        data = bytes(rng.randrange(256) for _byte in range(rng.randrange(64)))
        for level, cmsg_type in (V4, V6, (0, 0)):
            got = _probe.parse_extended_err(level, cmsg_type, data)
            assert got is None or set(got) == {'type', 'code', 'origin', 'offender', 'text'}


@pytest.mark.parametrize('record, rejects', [
    (icmp('icmp', 3, 3), True),
    (icmp('icmp', 3, 9), True),
    (icmp('icmp', 3, 10), True),
    (icmp('icmp', 3, 13), True),
    (icmp('icmp6', 1, 1), True),
    (icmp('icmp6', 1, 4), True),
    (icmp('icmp', 3, 0), False),
    (icmp('icmp', 3, 1), False),
    (icmp('icmp', 3, 2), False),
    (icmp('icmp', 3, 4), False),
    (icmp('icmp', 11, 0), False),
    (icmp('icmp6', 1, 0), False),
    (icmp('icmp6', 1, 3), False),
    (icmp('icmp6', 2, 0), False),
    (icmp('icmp6', 3, 3), False),
    (icmp('icmp', 1, 4), False),
    (None, False),
    ({}, False),
    ('port unreachable', False),
])
def test_icmp_rejects_port(record, rejects):
    assert _probe.icmp_rejects_port(record) is rejects


def test_rejected_icmp_detail():
    summary = _probe.summarize([REJECT_PORT] * 2, host='web1', port=22)
    assert summary['classification'] == 'rejected_icmp'
    assert (summary['phase'], summary['outcome']) == ('tcp_connect', 'refused')
    detail = summary['detail']
    assert 'port 22 is rejected with ICMP "port unreachable" (type 3, code 3) from 192.0.2.10:' in detail
    assert "fail2ban's default ban action" in detail and 'not a stopped sshd' in detail
    assert 'TCP reset' in detail and 'itself' not in detail
    detail6 = _probe.summarize([REJECT_ADMIN6], port=2222)['detail']
    assert 'port 2222 is rejected with ICMPv6 "communication administratively prohibited" (type 1, code 1) ' \
        'from 2001:db8::10:' in detail6


def test_rejected_icmp_detail_names_a_middlebox():
    on_path = attempt('tcp_connect', 'error', icmp=icmp('icmp', 3, 13, '198.51.100.1'))
    detail = _probe.summarize([on_path])['detail']
    assert 'from 198.51.100.1 (not 192.0.2.10 itself: a firewall or router on the path)' in detail
    # the same address written differently is the host itself
    same = attempt('tcp_connect', 'refused', icmp=icmp('icmp6', 1, 4, '2001:db8::10'), address='2001:DB8:0::10')
    assert 'itself' not in _probe.summarize([same])['detail']
    unknown = attempt('tcp_connect', 'refused', icmp=icmp('icmp', 3, 3, None))
    assert 'from an address the kernel did not report:' in _probe.summarize([unknown])['detail']


def test_rejected_icmp_intermittent_detail():
    summary = _probe.summarize([OK_KEX, REJECT_PORT, OK_KEX])
    assert (summary['classification'], summary['intermittent']) == ('rejected_icmp', True)
    assert summary['counts'] == {'ok': 2, 'refused': 1}
    assert '1 of 3 attempts failed' in summary['detail']


def test_host_unreachable_detail_keeps_the_icmp_evidence():
    summary = _probe.summarize([HOST_UNREACH])
    assert summary['classification'] == 'refused'
    assert 'ICMP host unreachable from 198.51.100.1' in summary['detail']


def test_classification_tables_are_complete():
    assert 'rejected_icmp' in _probe.CLASSIFICATIONS
    assert set(_probe.CAUSES) == set(_probe.CLASSIFICATIONS) == set(_probe.DETAILS)
    assert _probe.CAUSES['rejected_icmp'] == ['firewall']


class FakeErrQueueSocket:
    """recvmsg(MSG_ERRQUEUE) answers from a script: (data, ancdata, flags, address) tuples or exceptions."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []
        self.timeout = 'unset'

    def settimeout(self, value):
        self.timeout = value

    def recvmsg(self, bufsize, ancbufsize, flags):
        self.calls.append((bufsize, ancbufsize, flags))
        if not self.script:
            raise BlockingIOError(11, 'Resource temporarily unavailable')
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


PORT_UNREACH_CMSG = (0, 11, extended_err(111, 2, 3, 3) + sockaddr_in('198.18.77.2'))
TCP_HEADER = bytes.fromhex('cf320016dd14413800000000a002faf026570000')  # the SYN that was rejected


@pytest.mark.skipif(not _probe.RECVERR_SUPPORTED, reason='the error queue is Linux only')
@pytest.mark.parametrize('script, expected, calls', [
    ([(TCP_HEADER, [PORT_UNREACH_CMSG], 0x2000, ('198.18.77.2', 22))], 'port unreachable', 1),
    # nothing queued (a TCP reset): EAGAIN at once
    ([], None, 1),
    # a LOCAL error first, then the ICMP one
    ([(b'', [(0, 11, extended_err(90, 1, 0, 0, 1400) + b'\0' * 16)], 0, None),
      (TCP_HEADER, [PORT_UNREACH_CMSG], 0x2000, None)], 'port unreachable', 2),
    # messages without a usable control message: bounded, then None
    ([(b'', [], 0, None)] * 10, None, 4),
    ([OSError(9, 'Bad file descriptor')], None, 1),
])
def test_read_icmp_error(script, expected, calls):
    sock = FakeErrQueueSocket(script)
    got = _probe.read_icmp_error(sock)
    assert (got or {}).get('text') == expected
    assert sock.timeout == 0  # non-blocking: never waits for the queue
    assert len(sock.calls) == calls
    assert all(flags == 0x2000 for _b, _a, flags in sock.calls)


def test_read_icmp_error_never_raises(monkeypatch):
    monkeypatch.setattr(_probe, 'RECVERR_SUPPORTED', True)
    assert _probe.read_icmp_error(object()) is None
    monkeypatch.setattr(_probe, 'RECVERR_SUPPORTED', False)
    sock = FakeErrQueueSocket([(TCP_HEADER, [PORT_UNREACH_CMSG], 0x2000, None)])
    assert _probe.read_icmp_error(sock) is None and sock.calls == []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert _probe.set_recverr(sock, socket.AF_INET) is False
        assert sock.getsockopt(0, 11) == 0 or sys.platform != 'linux'


@pytest.mark.skipif(not _probe.RECVERR_SUPPORTED, reason='IP_RECVERR is Linux only')
def test_set_recverr_toggles_the_option():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert _probe.set_recverr(sock, socket.AF_INET) is True
        assert sock.getsockopt(0, 11) == 1
        assert _probe.set_recverr(sock, socket.AF_INET, False) is True
        assert sock.getsockopt(0, 11) == 0
    if socket.has_ipv6:
        try:
            sock6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        except OSError:
            sock6 = None
        if sock6 is not None:
            with sock6:
                assert _probe.set_recverr(sock6, socket.AF_INET6) is True
                assert sock6.getsockopt(41, 25) == 1
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        assert _probe.set_recverr(unix, socket.AF_UNIX) is False


@pytest.mark.skipif(not _probe.RECVERR_SUPPORTED, reason='the error queue is Linux only')
@pytest.mark.parametrize('family, loopback', [(socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')])
def test_read_icmp_error_from_the_kernel(family, loopback):
    """Without root: a UDP datagram to a closed loopback port draws a real ICMP port unreachable
    from the kernel, queued like the TCP one (same cmsg, same parser)."""
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((loopback, 0))
    except OSError:
        pytest.skip('no %s loopback' % loopback)
    with sock:
        assert _probe.set_recverr(sock, family) is True
        sock.connect((loopback, closed_port_udp(family, loopback)))
        sock.send(b'probe')
        got, deadline = None, time.monotonic() + 2.0
        while got is None and time.monotonic() < deadline:
            got = _probe.read_icmp_error(sock)
            if got is None:
                time.sleep(0.02)
    expected = (3, 3, 'icmp') if family == socket.AF_INET else (1, 4, 'icmp6')
    assert got == dict(type=expected[0], code=expected[1], origin=expected[2], offender=loopback, text='port unreachable')
    assert _probe.icmp_rejects_port(got)


def closed_port_udp(family, loopback):
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((loopback, 0))
        return sock.getsockname()[1]


def test_connected_socket_has_recverr_off(server, monkeypatch):
    """After connect the option is cleared: with IP_RECVERR an established TCP socket would take
    every ICMP error as fatal, unlike the OpenSSH client's."""
    seen = {}
    real_read_banner = _probe.read_banner

    def spy(sock, timeout):
        if _probe.RECVERR_SUPPORTED:
            seen['recverr'] = sock.getsockopt(0, 11)
        return real_read_banner(sock, timeout)

    monkeypatch.setattr(_probe, 'read_banner', spy)
    srv = server(send_then_close(b'Exceeded MaxStartups\r\n'))
    att = only_attempt(run(srv.port))
    assert att['phase'] == 'banner' and att['icmp'] is None
    if _probe.RECVERR_SUPPORTED:
        assert seen['recverr'] == 0


def test_probe_records_the_queued_icmp_error(monkeypatch):
    """The probe's wiring: what read_icmp_error returns for the failed connect becomes the
    attempt's icmp and its evidence in the error text (the real kernel path is in
    tests/system/test_probe_real.py)."""
    queued = dict(type=3, code=3, origin='icmp', offender='127.0.0.1', text='port unreachable')
    monkeypatch.setattr(_probe, 'set_recverr', lambda sock, family, enable=True: True)
    monkeypatch.setattr(_probe, 'read_icmp_error', lambda sock: dict(queued))
    result = run(unused_loopback_port(), attempts=2, delay=0.0)
    for att in result['attempts']:
        assert (att['phase'], att['outcome'], att['icmp']) == ('tcp_connect', 'refused', queued)
        assert att['error'].endswith('(127.0.0.1 port %d; ICMP port unreachable from 127.0.0.1)' % result['port'])
    assert result['summary']['classification'] == 'rejected_icmp'
    assert result['summary']['likely_causes'] == ['firewall']


def test_icmp_is_the_last_address_tried(monkeypatch):
    """Like ``address``, ``icmp`` belongs to the last address tried; earlier ICMP errors stay in
    the error text."""
    dead = [unused_loopback_port(), unused_loopback_port()]
    answers = [dict(type=3, code=3, origin='icmp', offender='127.0.0.1', text='port unreachable'), None]
    monkeypatch.setattr(_probe, 'resolve', lambda host, port, timeout: [
        (socket.AF_INET, ('127.0.0.1', dead[0])), (socket.AF_INET, ('127.0.0.1', dead[1]))])
    monkeypatch.setattr(_probe, 'set_recverr', lambda sock, family, enable=True: True)
    monkeypatch.setattr(_probe, 'read_icmp_error', lambda sock: answers.pop(0))
    att = only_attempt(run(22, host='sshd.example'))
    assert (att['outcome'], att['icmp']) == ('refused', None)
    assert att['error'].count('ICMP port unreachable from 127.0.0.1') == 1


# Ansible's UNREACHABLE messages as ansible-core 2.19 prints them (OpenSSH 9.2p1 client, BatchMode,
# ConnectTimeout=5; "Task failed: " is 2.19's prefix of a task's failure).
@pytest.mark.parametrize('msg, classification, text', [
    ('Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 port 22: Connection refused',
     'refused', 'connect to host 192.0.2.21 port 22: Connection refused'),
    ('Task failed: Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 port 22: '
     'Connection timed out', 'timeout', 'connect to host 192.0.2.21 port 22: Connection timed out'),
    ('Failed to connect to the host via ssh: Connection timed out during banner exchange', 'timeout',
     'Connection timed out during banner exchange'),
    ('Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by peer\r\n'
     'Connection reset by 192.0.2.21 port 22', 'reset_banner', 'Connection reset by 192.0.2.21 port 22'),
    # OpenSSH 7.4 (RHEL 7) names the same moment ssh_exchange_identification
    ('Failed to connect to the host via ssh: ssh_exchange_identification: read: Connection reset by peer',
     'reset_banner', 'ssh_exchange_identification: read: Connection reset by peer'),
    ('Failed to connect to the host via ssh: Connection reset by 192.0.2.21 port 22', 'reset_mid_session',
     'Connection reset by 192.0.2.21 port 22'),
    ('Failed to connect to the host via ssh: root@192.0.2.21: Permission denied (publickey,password).', 'auth',
     'root@192.0.2.21: Permission denied (publickey,password).'),
    ('Failed to connect to the host via ssh: ssh: Could not resolve hostname web9: Name or service not known',
     'dns', 'Could not resolve hostname web9: Name or service not known'),
    ('Failed to connect to the host via ssh: ', 'other', ''),
    (None, 'other', ''),
])
def test_classify_ssh_failure(msg, classification, text):
    assert _probe.classify_ssh_failure(msg) == classification
    assert _probe.ssh_failure_text(msg) == text


def test_top_failure_is_the_most_frequent_and_the_first_on_a_tie():
    a, b, c, d = ({'attempt': n} for n in range(1, 5))
    assert _probe.top_failure([(a, 'timeout'), (b, 'reset'), (c, 'reset')]) == ('reset', b)
    assert _probe.top_failure([(a, 'timeout'), (b, 'reset'), (c, 'reset'), (d, 'timeout')]) == ('timeout', a)


class _NoName:
    def __init__(self, name=None, error=None):
        self.name, self.error = name, error

    def getsockname(self):
        if self.error:
            raise self.error
        return self.name


@pytest.mark.parametrize('sock, expected', [
    (_NoName(('192.0.2.1', 51734)), ('192.0.2.1', 51734)),
    (_NoName(('2001:db8::1', 40000, 0, 0)), ('2001:db8::1', 40000)),
    (_NoName(('0.0.0.0', 0)), (None, None)),            # never bound: no port yet
    (_NoName(error=OSError(9, 'Bad file descriptor')), (None, None)),  # closed socket
    (None, (None, None)),
], ids=['v4', 'v6', 'unbound', 'closed', 'none'])
def test_local_endpoint(sock, expected):
    att = _probe.Attempt(1)
    att.socket_tried(sock)
    assert (att.record['local_address'], att.record['local_port']) == expected


def test_local_endpoint_of_an_unconnected_socket():
    att = _probe.Attempt(1)
    with socket.socket() as sock:
        att.socket_tried(sock)
    assert (att.record['local_address'], att.record['local_port']) == (None, None)


def test_dns_failure_has_no_local_end():
    att = _probe.Attempt(1)
    record = att.finish('error', 'no address')
    assert (record['local_address'], record['local_port']) == (None, None)
    assert record['started_at'] <= record['ended_at']


# ---------------------------------------------------------------------------------------------
# the idle hold (idle_hold_s): real loopback servers that close, reset, answer or keep quiet
# ---------------------------------------------------------------------------------------------
def banner_then(action, after=0.0):
    """Banner on the first connection, then ``action`` after ``after`` s: close (FIN), reset, answer
    the client's identification line (with a fake KEXINIT), or swallow everything (quiet)."""
    def script(conn, index, stop):
        conn.sendall(OPENSSH_BANNER)
        if action in ('close', 'reset'):
            stop.wait(after)
            if action == 'reset':
                hard_reset(conn)
            else:
                conn.close()
            return
        conn.settimeout(0.1)
        while not stop.is_set():
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            if action == 'answer' and data.startswith(b'SSH-2.0-'):
                conn.sendall(b'\x00\x00\x01\x0c\x0a\x14' + b'\x00' * 16)
    return script


def hold_params(port, hold=1, **over):
    return params(port, idle_hold_s=hold, **over)


@pytest.mark.parametrize('action, after, outcome', [
    ('close', 0.4, 'fin'),
    ('reset', 0.4, 'rst'),
])
def test_idle_hold_sees_the_close_and_when(server, action, after, outcome):
    srv = server(banner_then(action, after))
    hold = _probe.idle_hold(hold_params(srv.port, hold=3))
    assert hold['outcome'] == outcome, hold
    assert hold['hold_s'] == 3
    assert after - 0.1 <= hold['after_s'] < 2.0
    assert hold['banner'].startswith('SSH-2.0-OpenSSH_9.2p1')
    assert hold['local_address'] == '127.0.0.1' and hold['local_port']
    assert ('%.1f s' % hold['after_s']) in hold['detail']


def test_idle_hold_still_open_and_answered(server):
    srv = server(banner_then('answer'))
    started = time.monotonic()
    hold = _probe.idle_hold(hold_params(srv.port, hold=1))
    assert hold['outcome'] == 'open', hold
    assert 1.0 <= hold['after_s'] < 1.5
    assert hold['answer_s'] is not None and hold['answer_s'] < 1.0
    assert time.monotonic() - started < 3.0
    assert 'whole hold' in hold['detail']


def test_idle_hold_sends_the_identification_only_after_the_hold(server):
    seen = []

    def script(conn, _index, stop):
        conn.sendall(OPENSSH_BANNER)
        start = time.monotonic()
        conn.settimeout(3.0)
        seen.append((conn.recv(4096), time.monotonic() - start))
        conn.sendall(b'\x00\x00\x01\x0c\x0a\x14')
        stop.wait(0.5)
    srv = server(script)
    hold = _probe.idle_hold(hold_params(srv.port, hold=1))
    assert hold['outcome'] == 'open', hold
    assert seen and seen[0][0] == _probe.CLIENT_IDENT and seen[0][1] >= 0.95


def test_idle_hold_no_answer_is_a_silent_drop(server, monkeypatch):
    monkeypatch.setattr(_probe, 'IDLE_ANSWER_S', 0.6)
    srv = server(banner_then('quiet'))
    hold = _probe.idle_hold(hold_params(srv.port, hold=1))
    assert hold['outcome'] == 'silent_drop', hold
    assert 1.0 <= hold['after_s'] < 1.5
    assert 0.5 <= hold['answer_s'] < 1.5
    assert 'no answer within' in hold['error']
    assert 'died silently in the path' in hold['detail']


def test_idle_hold_without_a_banner_is_an_error(server):
    srv = server(close_at_once)
    hold = _probe.idle_hold(hold_params(srv.port, hold=1))
    assert hold['outcome'] == 'error' and 'no SSH banner' in hold['error'], hold
    assert hold['detail'].startswith('The idle hold failed')


def test_idle_hold_refused_is_an_error():
    hold = _probe.idle_hold(hold_params(unused_loopback_port(), hold=1))
    assert hold['outcome'] == 'error' and 'refused' in hold['error'].lower(), hold


def test_probe_records_the_idle_hold_only_when_asked(server):
    srv = server(banner_then('close', 0.3))
    assert 'idle' not in run(srv.port, kex_timeout=0.5)
    result = run(srv.port, kex_timeout=0.5, idle_hold_s=2)
    assert result['idle']['outcome'] == 'fin'
    assert set(result['idle']) >= {'hold_s', 'outcome', 'after_s', 'detail'}


@pytest.mark.parametrize('value', [-1, 901, 'x', True])
def test_idle_hold_bounds(value):
    errors = _probe.validate_params(params(22, idle_hold_s=value))
    assert any('idle_hold_s must be between 0 and 900 seconds' in e for e in errors), errors


def test_idle_hold_adds_to_the_time_budget():
    assert _probe.time_budget(params(22, idle_hold_s=0)) == _probe.time_budget(params(22))
    assert _probe.time_budget(params(22, idle_hold_s=30)) == pytest.approx(
        _probe.time_budget(params(22)) + 8 + 1.5 + 30 + _probe.IDLE_ANSWER_S)


def test_idle_verdict_silent_drop():
    text = _probe.idle_verdict({'ended': 'silent_drop', 'after_s': 5.0, 'error': 'no answer'})
    assert '5.0 s' in text and 'silently' in text


# /proc/net/route of the controller with the lab (LAB_ID 27) up: a bridge host's /24 on crlab27, the routed hosts'
# /24 via the router's WAN address, the machine's own eth0 and its default route (captured 2026-12-04, kernel 6.1)
ROUTE = '''Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
crlab27	0022D50A	00000000	0001	0	0	0	00FFFFFF	0	0	0
crlab27	007FD50A	FE22D50A	0003	0	0	0	00FFFFFF	0	0	0
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
'''
# /proc/net/ipv6_route of this machine: fd00::/64 and fe80::/64 on eth0, the default route via fd00::1
ROUTE6 = '\n'.join([
    'fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
    'fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0',
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0',
]) + '\n'


@pytest.mark.parametrize('address, route', [
    ('10.213.34.11', {'prefix': '10.213.34.0/24', 'gateway': None, 'dev': 'crlab27'}),           # a bridge host
    ('10.213.127.11', {'prefix': '10.213.127.0/24', 'gateway': '10.213.34.254', 'dev': 'crlab27'}),  # routed
    ('198.51.100.7', {'prefix': '0.0.0.0/0', 'gateway': '192.0.2.1', 'dev': 'eth0'}),           # the default route
    ('192.0.2.9', {'prefix': '192.0.2.0/24', 'gateway': None, 'dev': 'eth0'}),
    ('fd00::5', {'prefix': 'fd00::/64', 'gateway': None, 'dev': 'eth0'}),
    ('2001:db8::1', {'prefix': '::/0', 'gateway': 'fd00::1', 'dev': 'eth0'}),
    ('not-an-address', None), (None, None),
])
def test_route_to(address, route):
    assert _probe.route_to(address, ROUTE, ROUTE6) == route


@pytest.mark.parametrize('text', ['', 'Iface\n', 'Iface\neth0 zz 00 0003 0 0 0 00 0\n', ROUTE.replace('0003', '0002'),
                                  '\x00' * 100, 'x ' * 5000])
def test_route_to_bad_tables(text):
    default = {'prefix': '0.0.0.0/0', 'gateway': '192.0.2.1', 'dev': 'eth0'}
    assert _probe.route_to('10.213.127.11', text, text) in (None, default)
