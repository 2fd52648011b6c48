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

import socket
import struct
import threading
import time

import pytest

paramiko = pytest.importorskip('paramiko')

from ansible_collections.connreset.doctor.plugins.module_utils import _probe  # noqa: E402

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


def closed_port():
    """A port nothing listens on (bound, then released)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# ---------------------------------------------------------------------------------------------
# probe against the scripted servers
# ---------------------------------------------------------------------------------------------
def only_attempt(result):
    assert len(result['attempts']) == 1
    return result['attempts'][0]


def test_closed_port_is_refused():
    result = run(closed_port())
    att = only_attempt(result)
    assert (att['phase'], att['outcome']) == ('tcp_connect', 'refused')
    assert 'Connection refused' in att['error']
    assert att['address'] == '127.0.0.1'
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
    dead = closed_port()
    monkeypatch.setattr(_probe, 'resolve', lambda host, port, timeout: [
        (socket.AF_INET, ('127.0.0.1', dead)), (socket.AF_INET, ('127.0.0.1', srv.port))])
    att = only_attempt(run(srv.port, host='sshd.example'))
    assert (att['phase'], att['outcome']) == ('banner', 'banner_text')
    assert att['address'] == '127.0.0.1'


def test_all_addresses_refused_lists_each(monkeypatch):
    dead = [closed_port(), closed_port()]
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


def attempt(phase, outcome, banner_s=None, banner=None, error='x', n=1):
    timings = dict((p, None) for p in _probe.PHASES)
    for p in _probe.PHASES[:_probe.PHASES.index(phase) + 1]:
        timings[p] = 0.001
    if banner_s is not None:
        timings['banner'] = banner_s
    return dict(attempt=n, phase=phase, outcome=outcome, error=None if outcome == 'ok' else error,
                banner=banner, elapsed_s=sum(v for v in timings.values() if v), timings=timings)


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
