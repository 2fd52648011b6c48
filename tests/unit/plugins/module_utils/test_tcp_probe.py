# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp_probe: pure parsers and classifier on tables, the probe against real loopback listeners
(a reset with SO_LINGER 0, a close, silence, a TLS server, an HTTP server, a 502)."""

from __future__ import annotations

import datetime
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _probe
from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_probe as tp
from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue

LINGER_RESET = struct.pack('ii', 1, 0)

# Response heads as servers print them: nginx 1.22.1 (src/http/ngx_http_header_filter_module.c:
# "HTTP/1.1 " status line, "Server: nginx/1.22.1"), HAProxy 2.6 (its 502 errorfile,
# src/http_htx.c / errors: "HTTP/1.1 502 Bad Gateway", content-length 107, cache-control,
# connection: close, content-type), gunicorn 20.1 (gunicorn/http/wsgi.py default_headers:
# "Server: gunicorn", "Connection: keep-alive" / "close"), Python http.server (HTTP/1.0).
NGINX_200 = (b'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 03 Dec 2026 20:00:00 GMT\r\n'
             b'Content-Type: text/html\r\nContent-Length: 615\r\nConnection: keep-alive\r\n\r\n')
HAPROXY_502 = (b'HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\n'
               b'content-type: text/html\r\nconnection: close\r\n\r\n'
               b'<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n'
               b'</body></html>\n')
GUNICORN_200 = (b'HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: Thu, 03 Dec 2026 20:00:00 GMT\r\n'
                b'Connection: keep-alive\r\nContent-Length: 3\r\n\r\nok\n')
PYTHON_10 = b'HTTP/1.0 404 File not found\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\n\r\n'


@pytest.mark.parametrize('data, status, reason, server, keep, rest', [
    (NGINX_200, 200, 'OK', 'nginx/1.22.1', True, b''),
    (HAPROXY_502, 502, 'Bad Gateway', None, False, HAPROXY_502.split(b'\r\n\r\n', 1)[1]),
    (GUNICORN_200, 200, 'OK', 'gunicorn', True, b'ok\n'),
    (PYTHON_10, 404, 'File not found', 'SimpleHTTP/0.6 Python/3.11.2', False, b''),
    (b'HTTP/1.1 204\r\n\r\n', 204, '', None, True, b''),
])
def test_parse_response_head(data, status, reason, server, keep, rest):
    head, remainder = tp.parse_response_head(data)
    assert head['status'] == status and head['reason'] == reason
    assert head['headers'].get('server') == server
    assert tp.keeps_alive(head) is keep
    assert remainder == rest


@pytest.mark.parametrize('data, expect', [
    (b'', None),
    (b'HTTP/1.1 200 OK\r\nServer: x\r\n', None),          # incomplete: read more
    (b'HTT', None),
    (b'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n', 'error'),   # not HTTP
    (b'-ERR unknown command\r\n\r\n', 'error'),          # Redis answering a GET (networking.c addReplyError)
    (b'HTTP/1.1 99 Odd\r\n\r\n', 'error'),
    (b'HTTP/1.1 200 OK\r\n' + b'X: y\r\n' * 3000, 'error'),   # head never ends within HEAD_MAX
    ('text', 'error'),
])
def test_parse_response_head_incomplete_or_bad(data, expect):
    head, _rest = tp.parse_response_head(data)
    if expect is None:
        assert head is None
    else:
        assert 'error' in head


@pytest.mark.parametrize('head, framing', [
    ({'status': 200, 'headers': {'content-length': '615'}}, ('length', 615)),
    ({'status': 200, 'headers': {'transfer-encoding': 'chunked'}}, ('chunked', None)),
    ({'status': 200, 'headers': {'transfer-encoding': 'gzip, chunked', 'content-length': '5'}}, ('chunked', None)),
    ({'status': 204, 'headers': {}}, ('none', 0)),
    ({'status': 304, 'headers': {'content-length': '10'}}, ('none', 0)),
    ({'status': 200, 'headers': {}}, ('close', None)),
    ({'status': 200, 'headers': {'content-length': '-1'}}, ('close', None)),
])
def test_body_framing(head, framing):
    assert tp.body_framing(head) == framing


@pytest.mark.parametrize('body, done', [
    (b'3\r\nok\n\r\n0\r\n\r\n', True),
    (b'3;ext=1\r\nok\n\r\n0\r\nTrailer: x\r\n\r\n', True),
    (b'3\r\nok\n\r\n', False),
    (b'zz\r\n', False),
    (b'', False),
])
def test_chunked_done(body, done):
    assert tp.chunked_done(body)[0] is done


@pytest.mark.parametrize('reason, alert', [
    ('SSLV3_ALERT_HANDSHAKE_FAILURE', 'handshake_failure'),
    ('TLSV1_ALERT_PROTOCOL_VERSION', 'protocol_version'),
    ('TLSV13_ALERT_CERTIFICATE_REQUIRED', 'certificate_required'),
    ('TLSV1_ALERT_UNKNOWN_CA', 'unknown_ca'),
    ('WRONG_VERSION_NUMBER', None),
    ('CERTIFICATE_VERIFY_FAILED', None),
    (None, None),
])
def test_tls_alert_name(reason, alert):
    assert tp.tls_alert_name(reason) == alert


@pytest.mark.parametrize('value, seconds', [
    ('timeout=5, max=100', 5), ('timeout=60', 60), ('max=10', None), ('', None), ('timeout=abc', None),
])
def test_keep_alive_timeout(value, seconds):
    assert tp.keep_alive_timeout({'headers': {'keep-alive': value}}) == seconds


def test_build_request():
    assert tp.build_request('web', 80, '/', 80) == (
        b'GET / HTTP/1.1\r\nHost: web\r\nUser-Agent: connreset.doctor-tcp_probe\r\nAccept: */*\r\n'
        b'Connection: keep-alive\r\n\r\n')
    assert b'Host: 10.0.0.1:8080\r\n' in tp.build_request('10.0.0.1', 8080, '/x', 80)
    assert b'Host: [::1]:8443\r\n' in tp.build_request('::1', 8443, '/', 443)


def _attempt(phase, outcome, **extra):
    record = dict(attempt=1, phase=phase, outcome=outcome, error='e', icmp=None, connected=phase != 'tcp_connect')
    record.update(extra)
    return record


@pytest.mark.parametrize('attempt, classification', [
    (_attempt('request', 'ok'), 'ok'),
    (_attempt('dns', 'error'), 'dns_failure'),
    (_attempt('tcp_connect', 'refused'), 'refused'),
    (_attempt('tcp_connect', 'refused', icmp={'type': 3, 'code': 3, 'origin': 'icmp'}), 'rejected_icmp'),
    (_attempt('tcp_connect', 'timeout'), 'connect_timeout'),
    (_attempt('tcp_connect', 'reset', connected=True), 'reset_at_connect'),
    (_attempt('tcp_connect', 'closed', connected=True), 'closed_at_connect'),
    (_attempt('tcp_connect', 'error'), 'refused'),
    (_attempt('tls', 'tls_alert'), 'tls_alert'),
    (_attempt('tls', 'tls_error'), 'tls_failure'),
    (_attempt('tls', 'timeout'), 'tls_timeout'),
    (_attempt('tls', 'reset'), 'reset_during_tls'),
    (_attempt('request', 'reset'), 'reset_after_request'),
    (_attempt('request', 'closed'), 'closed_before_response'),
    (_attempt('request', 'timeout'), 'response_timeout'),
    (_attempt('request', 'http_error'), 'http_error'),
    (_attempt('request', 'bad_response'), 'bad_response'),
    (_attempt('request', 'error'), 'probe_error'),
    (_attempt('nonsense', 'error'), 'probe_error'),
])
def test_classify_attempt(attempt, classification):
    assert tp.classify_attempt(attempt) == classification
    assert classification in tp.CLASSIFICATIONS


def test_causes_have_one_home():
    """Shared classifications take ssh_probe's causes; the others come from TCP_CAUSES, whose ids
    are all in the finding contract's cause vocabulary (_catalogue.CAUSES)."""
    vocabulary = set(_catalogue.CAUSES)
    for classification in tp.CLASSIFICATIONS:
        causes = tp.causes_of(classification)
        if classification in _probe.CAUSES:
            assert classification not in tp.TCP_CAUSES
            assert causes == _probe.CAUSES[classification]
        else:
            assert classification in tp.TCP_CAUSES and causes
        assert set(causes) <= vocabulary, classification


def test_summarize_intermittent():
    bad_gateway = {'status': 502, 'reason': 'Bad Gateway', 'headers': {}}
    attempts = [_attempt('request', 'ok'), _attempt('request', 'http_error', response=bad_gateway), _attempt('request', 'ok')]
    summary = tp.summarize(attempts, {'host': 'h', 'port': 80, 'protocol': 'http'})
    assert summary['classification'] == 'http_error' and summary['intermittent']
    assert summary['counts'] == {'ok': 2, 'http_error': 1}
    assert '502 Bad Gateway' in summary['detail'] and '1 of 3 attempts failed' in summary['detail']
    assert tp.summarize([])['classification'] == 'probe_error'


def _params(**kw):
    params = dict(endpoints=[], host='127.0.0.1', attempts=1, delay=0.0, connect_timeout=2.0, tls_timeout=2.0,
                  response_timeout=2.0, validate_certs=False, ca_path=None, idle_hold_s=0.0)
    params.update(kw)
    return params


@pytest.mark.parametrize('change, message', [
    (dict(attempts=0), 'attempts must be between 1 and 20'),
    (dict(delay=61.0), 'delay must be between'),
    (dict(idle_hold_s=901.0), 'idle_hold_s must be between 0 (off) and 900'),
    (dict(connect_timeout=0.0), 'connect_timeout must be between'),
    (dict(endpoints=[]), 'endpoints must list at least one'),
    (dict(host=None, endpoints=[{'port': 80, 'protocol': 'tcp'}]), 'endpoints[0] has no host'),
    (dict(endpoints=[{'port': 0, 'protocol': 'tcp'}]), 'port must be between 1 and 65535'),
    (dict(endpoints=[{'port': 80, 'protocol': 'http', 'path': 'x y'}]), 'path must start with /'),
    (dict(endpoints=[{'port': 80, 'protocol': 'http', 'server_name': 'a'}]), 'server_name (TLS SNI and Host) needs'),
    (dict(endpoints=[{'port': 80, 'protocol': 'tcp'}] * 17), 'at most 16 endpoints'),
])
def test_validate_params(change, message):
    params = _params(endpoints=[{'port': 80, 'protocol': 'tcp'}])
    params.update(change)
    errors = tp.validate_params(params)
    assert any(message in e for e in errors), errors
    with pytest.raises(tp.ProbeConfigError):
        tp.probe(params)


def test_time_budget():
    params = _params(endpoints=[{'port': 80}] * 2, attempts=3, delay=1.0)
    per_attempt = 2.0 * 4 + tp.SETTLE_S + 2.0 + 4.0
    assert tp.time_budget(params) == pytest.approx(2 * (3 * per_attempt + 2 * 1.0))


# ---------------------------------------------------------------- real loopback listeners
class Listener:
    """A TCP listener on 127.0.0.1 running ``handler(conn)`` per connection, in a thread."""

    def __init__(self, handler, backlog=8):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.threads = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._one, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _one(self, conn):
        try:
            self.handler(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    conn.close()


def read_request(conn):
    conn.settimeout(3)
    data = b''
    while b'\r\n\r\n' not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def h_reset_at_once(conn):
    reset(conn)


def h_close_at_once(conn):
    conn.close()


def h_reset_after_request(conn):
    read_request(conn)
    reset(conn)


def h_close_after_request(conn):
    read_request(conn)
    conn.shutdown(socket.SHUT_WR)
    time.sleep(0.2)


def h_silent(conn):
    time.sleep(1.5)


def h_502(conn):
    read_request(conn)
    conn.sendall(HAPROXY_502)


def h_not_http(conn):
    read_request(conn)
    conn.sendall(b'-ERR unknown command `GET`, with args beginning with: `/`, `HTTP/1.1`, \r\n')
    conn.shutdown(socket.SHUT_WR)
    time.sleep(0.2)


def idle_then(action, after):
    def handler(conn):
        read_request(conn)
        conn.sendall(GUNICORN_200)
        time.sleep(after)
        action(conn)
    return handler


@pytest.fixture
def listener():
    made = []

    def make(handler, **kw):
        made.append(Listener(handler, **kw))
        return made[-1]
    yield make
    for one in made:
        one.close()


def _probe_one(port, protocol, **kw):
    result = tp.probe(_params(endpoints=[{'port': port, 'protocol': protocol}], **kw))
    endpoint = result['endpoints'][0]
    return endpoint['summary']['classification'], endpoint


def test_refused():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    classification, endpoint = _probe_one(port, 'http')
    assert classification == 'refused'
    assert 'Connection refused' in endpoint['attempts'][0]['error']
    assert endpoint['attempts'][0]['icmp'] is None
    attempt = endpoint['attempts'][0]
    assert attempt['local_address'] == '127.0.0.1' and attempt['local_port'] not in (None, 0, port)
    assert attempt['started_at'] <= attempt['ended_at']


@pytest.mark.parametrize('handler, protocol, classification, phase', [
    (h_reset_at_once, 'tcp', 'reset_at_connect', 'tcp_connect'),
    (h_reset_at_once, 'http', 'reset_at_connect', 'tcp_connect'),
    (h_close_at_once, 'tcp', 'closed_at_connect', 'tcp_connect'),
    (h_reset_after_request, 'http', 'reset_after_request', 'request'),
    (h_close_after_request, 'http', 'closed_before_response', 'request'),
    (h_502, 'http', 'http_error', 'request'),
    (h_not_http, 'http', 'bad_response', 'request'),
    (h_silent, 'tcp', 'ok', 'tcp_connect'),
])
def test_real_listeners(listener, handler, protocol, classification, phase):
    server = listener(handler)
    found, endpoint = _probe_one(server.port, protocol)
    attempt = endpoint['attempts'][0]
    assert (found, attempt['phase']) == (classification, phase), attempt
    # The probe's own end of the 4-tuple, what reset_capture on the target records as the peer.
    assert attempt['local_address'] == '127.0.0.1' and attempt['local_port'] not in (None, 0, server.port)
    if classification == 'reset_after_request':
        assert attempt['response_bytes'] == 0 and 'Connection reset by peer' in attempt['error']
    if classification == 'http_error':
        assert attempt['response']['status'] == 502 and attempt['response']['headers']['connection'] == 'close'
    if classification == 'reset_at_connect':
        assert attempt['after_request_s'] is None  # connect() itself may return ECONNRESET (a loaded host)


def test_response_timeout(listener):
    server = listener(h_silent)
    found, endpoint = _probe_one(server.port, 'http', response_timeout=0.3)
    assert found == 'response_timeout'
    assert endpoint['attempts'][0]['timings']['request'] == pytest.approx(0.3, abs=0.2)


def test_http_ok_against_python_http_server():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_GET(self):  # noqa: N802 (http.server's name)
            body = b'ok\n'
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        found, endpoint = _probe_one(server.server_address[1], 'http', attempts=2)
        assert found == 'ok' and not endpoint['summary']['intermittent']
        response = endpoint['attempts'][0]['response']
        assert response['status'] == 200 and response['headers']['server'].startswith('BaseHTTP/')
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize('action, after, ended', [
    (reset, 0.4, 'rst'),
    (lambda conn: conn.shutdown(socket.SHUT_WR), 0.4, 'fin'),
])
def test_idle_hold_ends(listener, action, after, ended):
    server = listener(idle_then(action, after))
    _found, endpoint = _probe_one(server.port, 'http', idle_hold_s=3.0)
    idle = endpoint['idle']
    assert idle['ended'] == ended, idle
    assert idle['after_s'] == pytest.approx(after, abs=0.3)
    assert idle['setup']['outcome'] == 'ok'


def test_idle_hold_still_open_then_reuse(listener):
    def handler(conn):
        for _request in range(2):
            read_request(conn)
            conn.sendall(GUNICORN_200)
        time.sleep(0.5)
    server = listener(handler)
    _found, endpoint = _probe_one(server.port, 'http', idle_hold_s=0.4)
    idle = endpoint['idle']
    assert idle['ended'] == 'open' and idle['after_s'] == pytest.approx(0.4, abs=0.2)
    assert idle['reuse']['outcome'] == 'ok' and idle['reuse']['status'] == 200
    assert 'stayed open' in idle['verdict']


def test_idle_hold_reuse_of_a_dropped_flow(listener):
    """Open at the end of the hold, but the second request is reset: what a front that dropped the
    flow while the server forgot it shows."""
    def handler(conn):
        read_request(conn)
        conn.sendall(GUNICORN_200)
        read_request(conn)
        reset(conn)
    server = listener(handler)
    _found, endpoint = _probe_one(server.port, 'http', idle_hold_s=0.3)
    idle = endpoint['idle']
    assert idle['ended'] == 'open' and idle['reuse']['outcome'] == 'reset'
    assert 'dropped the flow' in idle['verdict']


def test_idle_hold_tcp(listener):
    server = listener(lambda conn: (time.sleep(0.3), reset(conn)))
    _found, endpoint = _probe_one(server.port, 'tcp', idle_hold_s=2.0)
    assert endpoint['idle']['ended'] == 'rst' and endpoint['idle']['after_s'] < 1.0


# ---------------------------------------------------------------- TLS
@pytest.fixture(scope='module')
def certificate(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'lab.test')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName('lab.test')]), critical=False)
            .sign(key, hashes.SHA256()))
    directory = tmp_path_factory.mktemp('tls')
    cert_path, key_path = directory / 'cert.pem', directory / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def tls_server(certificate, then=None, sni_alert=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    if sni_alert is not None:
        context.sni_callback = lambda _sock, _name, _ctx: sni_alert

    def handler(conn):
        conn.settimeout(3)
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        if then:
            then(tls)
        time.sleep(0.2)
    return handler


def test_tls_ok_without_verification(listener, certificate):
    server = listener(tls_server(certificate))
    found, endpoint = _probe_one(server.port, 'tls')
    tls = endpoint['attempts'][0]['tls']
    assert found == 'ok' and endpoint['attempts'][0]['phase'] == 'tls'
    assert tls['version'].startswith('TLSv1.') and tls['verified'] is False and len(tls['cert_sha256']) == 64


def test_tls_verification_fails_on_a_self_signed_certificate(listener, certificate):
    server = listener(tls_server(certificate))
    found, endpoint = _probe_one(server.port, 'tls', validate_certs=True)
    assert found == 'tls_failure'
    assert 'certificate verification failed' in endpoint['attempts'][0]['error']


def test_tls_verification_with_ca_path(listener, certificate):
    server = listener(tls_server(certificate))
    result = tp.probe(_params(endpoints=[{'port': server.port, 'protocol': 'tls', 'server_name': 'lab.test'}],
                              validate_certs=True, ca_path=certificate[0]))
    assert result['endpoints'][0]['summary']['classification'] == 'ok'
    assert result['endpoints'][0]['attempts'][0]['tls']['verified'] is True


def test_tls_alert_from_the_server(listener, certificate):
    server = listener(tls_server(certificate, sni_alert=ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE))
    found, endpoint = _probe_one(server.port, 'tls')
    assert found == 'tls_alert'
    assert endpoint['attempts'][0]['tls'] == {'alert': 'handshake_failure'}


def test_tls_timeout_against_a_silent_server(listener):
    server = listener(h_silent)
    found, endpoint = _probe_one(server.port, 'tls', tls_timeout=0.3)
    assert found == 'tls_timeout' and endpoint['attempts'][0]['timings']['tls'] == pytest.approx(0.3, abs=0.2)


def h_plain_400(conn):
    # what a plain HTTP server answers to a TLS ClientHello (nginx: 400 Bad Request, then close)
    conn.settimeout(3)
    conn.recv(4096)
    conn.sendall(b'HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    conn.shutdown(socket.SHUT_WR)
    time.sleep(0.2)


def test_tls_to_a_plain_http_server(listener):
    server = listener(h_plain_400)
    found, _endpoint = _probe_one(server.port, 'https')
    assert found in ('tls_failure', 'reset_during_tls')


def test_https_ok_and_502(listener, certificate):
    def ok(tls):
        read_request(tls)
        tls.sendall(GUNICORN_200)

    def bad(tls):
        read_request(tls)
        tls.sendall(HAPROXY_502)
    good, broken = listener(tls_server(certificate, ok)), listener(tls_server(certificate, bad))
    result = tp.probe(_params(endpoints=[{'name': 'good', 'port': good.port, 'protocol': 'https'},
                                         {'name': 'broken', 'port': broken.port, 'protocol': 'https'}]))
    assert result['summary']['classifications'] == {'good': 'ok', 'broken': 'http_error'}
    assert result['summary']['ok'] == 1 and result['summary']['failed'] == 1
