# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where exactly does a connection to a TCP service die?  The ssh probe's method for any endpoint.

One attempt per endpoint walks the phases and stops at the first that fails:

``dns``          getaddrinfo, bounded (``_probe.resolve``);
``tcp_connect``  our own socket (ICMP errors read from its error queue, ``_probe``), then a short
                 look (SETTLE_S) for a reset or close the server sends before anything is asked;
``tls``          (``tls``, ``https``) the TLS handshake; certificates are NOT verified unless
                 ``validate_certs`` (the probe diagnoses transport, it is no trust decision);
``request``      (``http``, ``https``) one ``GET <path> HTTP/1.1`` with ``Host`` and
                 ``Connection: keep-alive``, the response head and body read (bounded).

An opt-in idle hold (``idle_hold_s``) then keeps one connection idle (after its request, for
http) and records how and when the server (or a middlebox) ends it: FIN, RST, or still open
(then, for http, whether a second request on it still works: a flow a front dropped silently).

Classification vocabulary: the ssh probe's where it applies (``refused``, ``rejected_icmp``,
``connect_timeout``, ``reset_at_connect``, ``dns_failure``, ``ok``), plus what only these
protocols show.  Likely causes: ``_probe.CAUSES`` (one home) for the shared classifications,
``TCP_CAUSES`` for the others.  The parsers and the classifier are pure; the I/O is at the end.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import select
import socket
import ssl
import threading
import time

from ansible_collections.connreset.doctor.plugins.module_utils import _probe

PROTOCOLS = ('tcp', 'tls', 'http', 'https')
PHASES = ('dns', 'tcp_connect', 'tls', 'request')
OUTCOMES = ('ok', 'refused', 'timeout', 'reset', 'closed', 'tls_alert', 'tls_error', 'http_error',
            'bad_response', 'error')
CLASSIFICATIONS = (
    # shared with ssh_probe (same meaning)
    'ok', 'dns_failure', 'refused', 'rejected_icmp', 'connect_timeout', 'reset_at_connect',
    # TCP services only
    'closed_at_connect', 'tls_alert', 'tls_failure', 'tls_timeout', 'reset_during_tls',
    'reset_after_request', 'closed_before_response', 'response_timeout', 'http_error', 'bad_response',
    'probe_error',
)
IDLE_ENDS = ('fin', 'rst', 'open', 'data', 'error')

# Likely causes (cause ids of the finding contract, plugins/plugin_utils/_catalogue.CAUSES) of
# the classifications ssh_probe does not have.  The shared ones come from _probe.CAUSES, where
# ``sshd_down`` stands for "the service is not running" (the contract's id for a stopped daemon).
TCP_CAUSES = {
    'closed_at_connect': ['resource_exhaustion', 'configuration', 'firewall'],
    'tls_alert': ['configuration'],
    'tls_failure': ['configuration'],
    'tls_timeout': ['resource_exhaustion', 'mtu', 'firewall'],
    'reset_during_tls': ['firewall', 'resource_exhaustion', 'configuration'],
    'reset_after_request': ['listen_queue', 'idle_timeout', 'resource_exhaustion', 'firewall'],
    'closed_before_response': ['resource_exhaustion', 'idle_timeout', 'configuration'],
    'response_timeout': ['resource_exhaustion', 'listen_queue', 'mtu'],
    'http_error': ['idle_timeout', 'sshd_down', 'resource_exhaustion', 'configuration'],
    'bad_response': ['configuration'],
}

# After connect(), how long the probe looks for a reset/close before it sends anything: an
# accept-queue overflow with tcp_abort_on_overflow=1 answers the handshake's ACK with a reset
# within one round trip; a server refusing the client after accept (maxconn, wrappers) too.
SETTLE_S = 0.1
# An HTTP response head larger than this is bad_response; bodies are read up to BODY_MAX (more
# makes the connection unusable for the idle hold's reuse, it is not an error).
HEAD_MAX = 16384
BODY_MAX = 1 << 20
MAX_ENDPOINTS = 16
MAX_CHUNKS = 1024
# How much of what the server sends at a close (a 408 page, a TLS alert) is kept as text.
TEXT_MAX = 200

LIMITS = dict(_probe.PROBE_LIMITS, idle_hold_s=(0.0, 900.0))
TIMEOUT_OPTIONS = ('connect_timeout', 'tls_timeout', 'response_timeout')

ENDPOINT_SPEC = dict(
    name=dict(type='str'),
    host=dict(type='str'),
    port=dict(type='int', required=True),
    protocol=dict(type='str', default='tcp', choices=list(PROTOCOLS)),
    server_name=dict(type='str'),
    path=dict(type='str', default='/'),
)
ARGUMENT_SPEC = dict(
    endpoints=dict(type='list', elements='dict', required=True, options=ENDPOINT_SPEC),
    host=dict(type='str'),
    attempts=dict(type='int', default=1),
    delay=dict(type='float', default=0.5),
    connect_timeout=dict(type='float', default=5.0),
    tls_timeout=dict(type='float', default=10.0),
    response_timeout=dict(type='float', default=10.0),
    validate_certs=dict(type='bool', default=False),
    ca_path=dict(type='path'),
    idle_hold_s=dict(type='float', default=0.0),
)

DETAILS = {
    'ok': 'Every attempt completed {last_phase} ({protocol}).',
    'dns_failure': 'The name {host} does not resolve: {error}.',
    'refused': ('The TCP connection to port {port} is refused: nothing listens there (the service is not '
                'running, crashed or listens elsewhere) or a firewall answers with a reset.'),
    'rejected_icmp': ('The TCP connection to port {port} is rejected with an ICMP error ({error}): a firewall '
                      'REJECT rule or a ban, not a stopped service.'),
    'connect_timeout': ('The TCP handshake to port {port} never completes: SYNs are dropped (firewall DROP, '
                        'conntrack limit, or a full accept queue with tcp_abort_on_overflow=0).'),
    'reset_at_connect': ('The connection to port {port} is reset right after the TCP handshake, before the '
                         'probe sent anything: an accept-queue overflow with tcp_abort_on_overflow=1, a '
                         'firewall resetting established connections, or the server refusing the client.'),
    'closed_at_connect': ('The server closes the connection right after accepting it, before anything was '
                          'sent: a connection limit (maxconn), access rules, or a service that cannot serve.'),
    'tls_alert': 'The TLS handshake ends with an alert from the server: {error}.',
    'tls_failure': 'The TLS handshake fails: {error}.',
    'tls_timeout': 'The TCP connection is up but the TLS handshake makes no progress within {timeout} s.',
    'reset_during_tls': 'The connection dies during the TLS handshake ({outcome}: {error}).',
    'reset_after_request': ('The request is answered with a TCP reset {after}: {why}.'),
    'closed_before_response': ('The server closes the connection after the request without a response '
                               '{after}: a worker killed or restarted, or an idle/keep-alive close racing '
                               'the request.'),
    'response_timeout': 'The request gets no response within {timeout} s: the server (or its upstream) is stuck.',
    'http_error': ('The server answers {status} {reason}{server}: a proxy whose upstream failed (a reused '
                   'upstream keep-alive connection the upstream had closed, an upstream down or restarting).'),
    'bad_response': 'The server answers something that is not HTTP: {error}.',
    'probe_error': 'The probe failed in phase {phase}: {error}.',
}


# One exception for every probe's bad options (the modules and fleet_report catch it by either name).
ProbeConfigError = _probe.ProbeConfigError


# ---------------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------------
def validate_params(params):
    """List of messages about bad option values (empty when all is fine). Pure."""
    checks = [('attempts', LIMITS['attempts'], ''), ('delay', LIMITS['delay'], ' seconds')]
    checks += [(name, LIMITS['timeout'], ' seconds') for name in TIMEOUT_OPTIONS]
    errors = [m for m in (_probe._out_of_range(n, params[n], limits, unit) for n, limits, unit in checks) if m]
    low, high = LIMITS['idle_hold_s']
    if not low <= params['idle_hold_s'] <= high:
        errors.append('idle_hold_s must be between 0 (off) and %d seconds (got %s)' % (high, params['idle_hold_s']))
    endpoints = params.get('endpoints') or []
    if not endpoints:
        errors.append('endpoints must list at least one {port, protocol, ...}')
    if len(endpoints) > MAX_ENDPOINTS:
        errors.append('at most %d endpoints per task (got %d): split them over tasks' % (MAX_ENDPOINTS, len(endpoints)))
    for index, endpoint in enumerate(endpoints[:MAX_ENDPOINTS]):
        where = 'endpoints[%d]' % index
        if not (endpoint.get('host') or params.get('host') or '').strip():
            errors.append('%s has no host: set its host or the host option' % where)
        port = _probe._out_of_range('%s: port' % where, endpoint.get('port'), LIMITS['port'])
        if port:
            errors.append(port)
        path = endpoint.get('path') or '/'
        if not path.startswith('/') or any(c in path for c in ' \r\n\t') or len(path) > 1024:
            errors.append('%s: path must start with / and hold no spaces or line breaks (got %r)' % (where, path))
        if endpoint.get('protocol') in ('tcp', 'http') and endpoint.get('server_name'):
            errors.append('%s: server_name (TLS SNI and Host) needs protocol tls or https' % where)
    return errors


def time_budget(params):
    """Upper bound, in seconds, of the whole probe. Pure.

    Endpoints are probed one after the other, attempts sequentially; the idle holds run at the
    same time for all endpoints, after the attempts."""
    per_attempt = (params['connect_timeout'] * (1 + _probe.MAX_ADDRESSES) + SETTLE_S
                   + params['tls_timeout'] + 2 * params['response_timeout'])
    per_endpoint = params['attempts'] * per_attempt + (params['attempts'] - 1) * params['delay']
    endpoints = min(len(params.get('endpoints') or []), MAX_ENDPOINTS)
    hold = 0.0
    if params['idle_hold_s']:
        hold = per_attempt + params['idle_hold_s'] + params['response_timeout']
    return endpoints * per_endpoint + hold


# ---------------------------------------------------------------------------------------------
# pure: HTTP/1.1 responses (RFC 9112: status-line = HTTP-version SP status-code SP [reason-phrase])
# ---------------------------------------------------------------------------------------------
STATUS_LINE = re.compile(r'^HTTP/(\d)\.(\d) ([1-9]\d\d)(?: ([^\r\n]*))?$')
HEADER_LINE = re.compile(r'^([!#$%&\'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$')
KEPT_HEADERS = ('server', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'via')


def build_request(host, port, path, default_port):
    """The probe's request bytes (RFC 9112 3.2: Host is the authority; the port only when not
    the scheme's default). Pure."""
    authority = host if ':' not in host else '[%s]' % host
    if port != default_port:
        authority = '%s:%d' % (authority, port)
    return ('GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: connreset.doctor-tcp_probe\r\nAccept: */*\r\n'
            'Connection: keep-alive\r\n\r\n' % (path, authority)).encode('ascii', 'replace')


def parse_response_head(data):
    """An HTTP/1.x response head -> ``(head, rest)``, or ``(None, data)`` while incomplete. Pure.

    ``head`` is ``{http_version, status, reason, headers}`` (``headers``: the KEPT_HEADERS present,
    lower-case names, the first value of each) or ``{error}`` when the bytes are not an HTTP
    response (the caller reports ``bad_response``).  Never raises."""
    if not isinstance(data, (bytes, bytearray)):
        return {'error': 'not bytes'}, b''
    data = bytes(data)
    end = data.find(b'\r\n\r\n')
    sep = 4
    if end < 0:
        end = data.find(b'\n\n')
        sep = 2
    if end < 0:
        if len(data) > HEAD_MAX:
            return {'error': 'no end of the response head in the first %d bytes' % HEAD_MAX}, b''
        if data and not b'HTTP/'.startswith(data[:5]) and not data.startswith(b'HTTP/'):
            return {'error': 'the server sent %r, not an HTTP response' % data[:60]}, b''
        return None, data
    lines = data[:end].decode('latin-1').replace('\r\n', '\n').split('\n')
    match = STATUS_LINE.match(lines[0])
    if not match:
        return {'error': 'not an HTTP status line: %r' % lines[0][:80]}, b''
    headers = {}
    for line in lines[1:200]:
        header = HEADER_LINE.match(line)
        if header is None:
            continue  # obs-fold or garbage: skipped (RFC 9112 5.2 lets a client reject it)
        name = header.group(1).lower()
        if name in KEPT_HEADERS and name not in headers:
            headers[name] = header.group(2)[:TEXT_MAX]
    head = {'http_version': '%s.%s' % (match.group(1), match.group(2)), 'status': int(match.group(3)),
            'reason': (match.group(4) or '')[:TEXT_MAX], 'headers': headers}
    return head, data[end + sep:]


def body_framing(head):
    """How the body of a response is delimited (RFC 9112 6.3): ``('length', n)``, ``('chunked', None)``,
    ``('none', 0)`` (1xx/204/304) or ``('close', None)`` (read until the server closes). Pure."""
    status = head.get('status') or 0
    headers = head.get('headers') or {}
    if 100 <= status < 200 or status in (204, 304):
        return 'none', 0
    encoding = (headers.get('transfer-encoding') or '').lower()
    if encoding:
        return ('chunked', None) if encoding.split(',')[-1].strip() == 'chunked' else ('close', None)
    length = headers.get('content-length')
    if length is not None:
        if re.match(r'^\d{1,12}$', length.strip()):
            return 'length', int(length.strip())
        return 'close', None
    return 'close', None


def chunked_done(body):
    """``(done, consumed)`` for a chunked body (RFC 9112 7.1): done once the last chunk and the
    trailer end are in ``body``. Bounded by MAX_CHUNKS. Pure; never raises."""
    pos = 0
    for _chunk in range(MAX_CHUNKS):
        end = body.find(b'\r\n', pos)
        if end < 0:
            return False, pos
        size_text = body[pos:end].split(b';', 1)[0].strip()
        if not re.match(rb'^[0-9A-Fa-f]{1,8}$', size_text):
            return False, -1
        size = int(size_text, 16)
        if size == 0:
            trailer_end = body.find(b'\r\n\r\n', end)
            if body[end:end + 4] == b'\r\n\r\n':
                return True, end + 4
            if trailer_end < 0:
                return False, pos
            return True, trailer_end + 4
        pos = end + 2 + size + 2
        if pos > len(body):
            return False, pos
    return False, -1


def keeps_alive(head):
    """True when the connection stays open after this response (RFC 9112 9.3). Pure."""
    tokens = [t.strip().lower() for t in (head.get('headers') or {}).get('connection', '').split(',')]
    if 'close' in tokens:
        return False
    if head.get('http_version') == '1.0':
        return 'keep-alive' in tokens
    return True


def keep_alive_timeout(head):
    """The ``timeout=N`` of a ``Keep-Alive`` response header (RFC 2068 19.7.1.1; Apache, gunicorn
    gthread do not send it, some servers do), seconds or None. Pure."""
    value = (head.get('headers') or {}).get('keep-alive') or ''
    match = re.search(r'(?:^|[,\s])timeout\s*=\s*(\d{1,6})\b', value, re.I)
    return int(match.group(1)) if match else None


def tls_alert_name(reason):
    """``SSLV3_ALERT_HANDSHAKE_FAILURE`` -> ``handshake_failure`` (the alert OpenSSL received, its
    reason code names the TLS alert); None when the reason is not a received alert. Pure."""
    match = re.match(r'^(?:SSLV3|TLSV1|TLSV1_?[0-9]*)_ALERT_([A-Z0-9_]+)$', reason or '')
    return match.group(1).lower() if match else None


# ---------------------------------------------------------------------------------------------
# pure: classification
# ---------------------------------------------------------------------------------------------
def classify_attempt(attempt):
    """Classification of one attempt record. Pure."""
    phase, outcome = attempt.get('phase'), attempt.get('outcome')
    if outcome == 'ok':
        return 'ok'
    if phase == 'dns':
        return 'dns_failure'
    if phase == 'tcp_connect':
        if _probe.icmp_rejects_port(attempt.get('icmp')):
            return 'rejected_icmp'
        if outcome == 'timeout':
            return 'connect_timeout'
        if outcome == 'reset':
            return 'reset_at_connect'
        if outcome == 'closed':
            return 'closed_at_connect'
        if outcome == 'error' and not attempt.get('connected'):
            return 'refused'  # EHOSTUNREACH and the like, as in ssh_probe
        return 'refused' if outcome == 'refused' else 'probe_error'
    if phase == 'tls':
        if outcome == 'tls_alert':
            return 'tls_alert'
        if outcome == 'tls_error':
            return 'tls_failure'
        if outcome == 'timeout':
            return 'tls_timeout'
        if outcome in ('reset', 'closed'):
            return 'reset_during_tls'
        return 'probe_error'
    if phase == 'request':
        return {'reset': 'reset_after_request', 'closed': 'closed_before_response', 'timeout': 'response_timeout',
                'http_error': 'http_error', 'bad_response': 'bad_response'}.get(outcome, 'probe_error')
    return 'probe_error'


def causes_of(classification):
    """Likely causes of a classification, most likely first: _probe.CAUSES for the ones shared
    with ssh_probe (one home), TCP_CAUSES for the others. Pure."""
    if classification in TCP_CAUSES:
        return list(TCP_CAUSES[classification])
    return list(_probe.CAUSES.get(classification, _probe.CAUSES['probe_error']))


def summarize(attempts, endpoint=None, timeouts=None):
    """``{classification, phase, outcome, intermittent, counts, likely_causes, detail}`` over one
    endpoint's attempts: all agree -> that; otherwise the most frequent failure (ties: the first
    seen), ``intermittent`` true. Pure."""
    endpoint = endpoint or {}
    if not attempts:
        return dict(classification='probe_error', phase=None, outcome=None, intermittent=False, counts={},
                    likely_causes=causes_of('probe_error'), detail='No attempt was made.')
    counts = {}
    for attempt in attempts:
        counts[attempt.get('outcome')] = counts.get(attempt.get('outcome'), 0) + 1
    classes = [classify_attempt(a) for a in attempts]
    failed = [(a, c) for a, c in zip(attempts, classes) if c != 'ok']
    classification, representative = _probe.top_failure(failed) if failed else ('ok', attempts[-1])
    detail = _detail(classification, representative, endpoint, timeouts or {})
    if failed and len(failed) != len(attempts):
        detail += ' (%d of %d attempts failed.)' % (len(failed), len(attempts))
    return dict(classification=classification, phase=representative.get('phase'),
                outcome=representative.get('outcome'), intermittent=len(set(classes)) > 1, counts=counts,
                likely_causes=causes_of(classification), detail=detail)


def _detail(classification, attempt, endpoint, timeouts):
    response = attempt.get('response') or {}
    headers = response.get('headers') or {}
    after = attempt.get('after_request_s')
    values = dict(
        host=endpoint.get('host') or 'the host', port=endpoint.get('port'), protocol=endpoint.get('protocol', 'tcp'),
        phase=attempt.get('phase'), outcome=attempt.get('outcome'),
        error=(attempt.get('error') or 'no error text').rstrip('.'),
        timeout=timeouts.get(attempt.get('phase'), '?'),
        status=response.get('status'), reason=response.get('reason') or '',
        server=' (Server: %s)' % headers['server'] if headers.get('server') else '',
        after='%.3f s after it was sent%s' % (after, ', before any byte of a response' if not attempt.get(
            'response_bytes') else '') if after is not None else '',
        why=('the server never took the connection (an accept-queue overflow with tcp_abort_on_overflow=1 and '
             'a deferred accept), a keep-alive connection it had closed, or a worker that died'),
        last_phase={'tcp': 'the TCP handshake', 'tls': 'the TLS handshake', 'http': 'an HTTP request',
                    'https': 'an HTTPS request'}.get(endpoint.get('protocol', 'tcp'), 'the probe'),
    )
    return DETAILS[classification].format(**values)


def idle_verdict(idle):
    """One sentence for an idle-hold record (``_probe.idle_verdict``, shared with the ssh probe). Pure."""
    return _probe.idle_verdict(idle)


# ---------------------------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------------------------
def _attempt(number):
    """A new attempt record (:class:`_probe.Attempt` with this probe's phases and keys)."""
    return _probe.Attempt(number, PHASES, connected=False, tls=None, response=None, response_bytes=0,
                          after_request_s=None)


def _settle(sock, wait):
    """Look for a reset/close/data the server sends right after the handshake, before we send:
    ``(outcome, error)``; ``('ok', None)`` when nothing came (or data came: a banner)."""
    try:
        readable, _w, failed = select.select([sock], [], [sock], wait)
    except (OSError, ValueError) as exc:
        return _probe.exception_outcome(exc)
    if not readable and not failed:
        return 'ok', None
    try:
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return 'ok', None
    except OSError as exc:
        outcome, error = _probe.exception_outcome(exc)
        return outcome, '%s (right after the handshake, before the probe sent anything)' % error
    if data == b'':
        return 'closed', 'EOF: the server closed the connection right after accepting it'
    return 'ok', None


def connect(att, host, port, timeout):
    """Resolve and connect (phases dns, tcp_connect); returns the socket or None (``att`` finished)."""
    try:
        addresses = _probe.resolve(host, port, timeout)
    except socket.timeout as exc:
        att.finish('timeout', str(exc))
        return None
    except (socket.gaierror, OSError, UnicodeError) as exc:
        att.finish('error', _probe.describe_exception(exc))
        return None
    if not addresses:
        att.finish('error', 'no address for %s' % host)
        return None
    att.end_phase()
    att.enter('tcp_connect')
    failures = []
    for family, sockaddr in addresses[:_probe.MAX_ADDRESSES]:
        att.record['address'] = sockaddr[0]
        att.record['icmp'] = None
        att.record['local_address'] = att.record['local_port'] = None
        try:
            candidate = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            failures.append(('error', '%s (%s)' % (_probe.describe_exception(exc), sockaddr[0])))
            continue
        candidate.settimeout(timeout)
        recverr = _probe.set_recverr(candidate, family)
        try:
            candidate.connect(sockaddr)
        except socket.timeout:
            att.socket_tried(candidate)
            failures.append(('timeout', 'TCP connect to %s port %s timed out after %s s' % (sockaddr[0], port, timeout)))
        except OSError as exc:
            att.socket_tried(candidate)
            outcome, error = _probe.exception_outcome(exc)
            where = '%s port %s' % (sockaddr[0], port)
            if recverr:
                att.record['icmp'] = _probe.read_icmp_error(candidate)
                if att.record['icmp'] is not None:
                    where += '; %s' % _probe.describe_icmp(att.record['icmp'])
            failures.append((outcome, '%s (%s)' % (error, where)))
        else:
            att.socket_tried(candidate)
            if recverr:
                _probe.set_recverr(candidate, family, False)
            att.record['connected'] = True
            outcome, error = _settle(candidate, SETTLE_S)
            if outcome != 'ok':
                candidate.close()
                att.finish(outcome, error)
                return None
            return candidate
        candidate.close()
    att.finish(failures[-1][0], '; '.join(error for _o, error in failures))
    return None


def tls_context(params):
    """The client TLS context: no certificate verification unless ``validate_certs``."""
    context = ssl.create_default_context(cafile=params.get('ca_path') or None)
    if not params.get('validate_certs'):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def tls_handshake(att, sock, context, server_name, timeout):
    """Phase tls: returns the SSL socket or None (``att`` finished)."""
    att.enter('tls')
    sock.settimeout(timeout)
    try:
        tls = context.wrap_socket(sock, server_hostname=server_name, do_handshake_on_connect=False)
        tls.do_handshake()
    except ssl.SSLCertVerificationError as exc:
        att.finish('tls_error', 'certificate verification failed: %s' % (exc.verify_message or exc.reason))
        return None
    except ssl.SSLError as exc:
        alert = tls_alert_name(getattr(exc, 'reason', None))
        if alert:
            att.record['tls'] = {'alert': alert}
            att.finish('tls_alert', 'TLS alert %s (%s)' % (alert, _probe.describe_exception(exc)))
        elif isinstance(exc, ssl.SSLEOFError) or 'EOF' in str(exc):
            att.finish('closed', 'EOF during the TLS handshake: %s' % _probe.describe_exception(exc))
        else:
            att.finish('tls_error', _probe.describe_exception(exc))
        return None
    except socket.timeout:
        att.finish('timeout', 'no progress in the TLS handshake within %s s' % timeout)
        return None
    except OSError as exc:
        att.finish(*_probe.exception_outcome(exc))
        return None
    cert = tls.getpeercert(binary_form=True)
    att.record['tls'] = {'version': tls.version(), 'cipher': (tls.cipher() or [None])[0],
                         'cert_sha256': hashlib.sha256(cert).hexdigest() if cert else None,
                         'verified': bool(context.verify_mode != ssl.CERT_NONE)}
    att.end_phase()
    return tls


def read_response(sock, deadline):
    """Read one response: ``(outcome, error, head, received_bytes, reusable)``."""
    data = b''
    head = None
    framing, length = None, None
    received = 0
    while True:
        if head is None:
            head, rest = parse_response_head(data)
            if head is not None and 'error' in head:
                return 'bad_response', head['error'], None, received, False
            if head is not None:
                data = rest
                framing, length = body_framing(head)
        if head is not None:
            if framing == 'none' or (framing == 'length' and len(data) >= length):
                return 'ok', None, head, received, keeps_alive(head)
            if framing == 'chunked':
                done, consumed = chunked_done(data)
                if done:
                    return 'ok', None, head, received, keeps_alive(head)
                if consumed < 0:
                    return 'ok', None, head, received, False
            if len(data) > BODY_MAX:
                return 'ok', None, head, received, False
        left = deadline - time.monotonic()
        if left <= 0:
            if head is not None:
                return 'ok', None, head, received, False
            return 'timeout', 'no response within the response timeout (%d bytes received)' % received, None, received, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ssl.SSLError as exc:
            if head is not None:
                return 'ok', None, head, received, False
            return 'closed', 'TLS: %s after %d bytes' % (_probe.describe_exception(exc), received), None, received, False
        except OSError as exc:
            outcome, error = _probe.exception_outcome(exc)
            if head is not None and outcome in ('reset', 'closed'):
                return 'ok', None, head, received, False
            return outcome, '%s after %d bytes of a response' % (error, received), None, received, False
        if not chunk:
            if head is not None:
                return 'ok', None, head, received, False
            return ('closed', 'EOF: the server closed the connection after the request, %d bytes of a response'
                    % received, None, received, False)
        received += len(chunk)
        data += chunk


def http_request(att, sock, endpoint, timeout):
    """Phase request: returns True when the connection can be reused (keep-alive), False otherwise;
    the attempt is finished when the request failed."""
    att.enter('request')
    tls = endpoint['protocol'] == 'https'
    request = build_request(endpoint.get('server_name') or endpoint['host'], endpoint['port'], endpoint.get('path') or '/',
                            443 if tls else 80)
    deadline = time.monotonic() + timeout
    sent_at = time.monotonic()
    try:
        sock.settimeout(timeout)
        sock.sendall(request)
        sent_at = time.monotonic()
    except OSError as exc:
        outcome, error = _probe.exception_outcome(exc)
        att.record['after_request_s'] = 0.0
        att.finish(outcome, '%s while sending the request' % error)
        return None
    outcome, error, head, received, reusable = read_response(sock, deadline)
    att.record['response_bytes'] = received
    att.record['after_request_s'] = round(time.monotonic() - sent_at, 4)
    if head is not None:
        att.record['response'] = dict(head, keep_alive_timeout_s=keep_alive_timeout(head))
        if head['status'] >= 500:
            att.finish('http_error', 'HTTP %d %s' % (head['status'], head['reason']))
            return None
    if outcome != 'ok':
        att.finish(outcome, error)
        return None
    return reusable


def probe_endpoint_once(params, endpoint, number=1, keep=False):
    """One attempt; returns ``(record, sock or None)`` (the socket is kept open only with ``keep``)."""
    att = _attempt(number)
    sock = connect(att, endpoint['host'], endpoint['port'], params['connect_timeout'])
    if sock is None:
        return att.record, None
    reusable = True
    try:
        att.end_phase()
        if endpoint['protocol'] in ('tls', 'https'):
            tls = tls_handshake(att, sock, tls_context(params), endpoint.get('server_name') or endpoint['host'],
                                params['tls_timeout'])
            if tls is None:
                sock.close()
                return att.record, None
            sock = tls
        if endpoint['protocol'] in ('http', 'https'):
            reusable = http_request(att, sock, endpoint, params['response_timeout'])
            if reusable is None:
                sock.close()
                return att.record, None
        else:
            att.record['phase'] = 'tls' if endpoint['protocol'] == 'tls' else 'tcp_connect'
        att.finish('ok')
    except Exception as exc:  # pylint: disable=broad-except
        # anything unexpected is data about this attempt, never a traceback
        sock.close()
        return att.finish('error', _probe.describe_exception(exc)), None
    if keep and reusable:
        return att.record, sock
    sock.close()
    return att.record, None


def watch_idle(sock, hold, now=time.monotonic):
    """Keep ``sock`` idle up to ``hold`` seconds; how did it end?  ``{ended, after_s, bytes, text, error}``
    (``_probe.watch_idle``, shared with the ssh probe's idle hold)."""
    return _probe.watch_idle(sock, hold, now, max_bytes=HEAD_MAX)


def idle_hold(params, endpoint):
    """Open one connection (request first for http), keep it idle, record its end; for http a
    connection still open at the end gets a second request (``reuse``)."""
    record, sock = probe_endpoint_once(params, endpoint, 0, keep=True)
    if sock is None:
        reason = record.get('error') or 'the server did not keep the connection open after its response'
        if record.get('outcome') == 'ok':
            reason = 'the server closed the connection after its response (Connection: close): nothing to hold'
        return {'ended': 'error', 'after_s': 0.0, 'bytes': 0, 'text': None, 'error': reason, 'then': None,
                'setup': record, 'reuse': None}
    try:
        result = watch_idle(sock, params['idle_hold_s'])
        result['setup'] = record
        result['reuse'] = None
        if result['ended'] == 'open' and endpoint['protocol'] in ('http', 'https'):
            att = _attempt(0)
            att.record['connected'] = True
            try:
                if http_request(att, sock, endpoint, params['response_timeout']) is not None:
                    att.finish('ok')
            except Exception as exc:  # pylint: disable=broad-except
                att.finish('error', _probe.describe_exception(exc))
            result['reuse'] = {'outcome': att.record['outcome'], 'error': att.record['error'],
                               'status': (att.record.get('response') or {}).get('status'),
                               'after_request_s': att.record['after_request_s']}
        result['verdict'] = idle_verdict(result)
        return result
    finally:
        try:
            sock.close()
        except OSError:
            pass


def _normalise(params, endpoint, index):
    out = dict(endpoint)
    out['host'] = (endpoint.get('host') or params.get('host') or '').strip()
    out['protocol'] = endpoint.get('protocol') or 'tcp'
    out['path'] = endpoint.get('path') or '/'
    out['name'] = endpoint.get('name') or '%s:%s/%s' % (out['host'], out['port'], out['protocol'])
    out['index'] = index
    return out


def probe(params, sleep=time.sleep):
    """Probe every endpoint; returns ``{endpoints: [...], summary: {...}}``; raises ProbeConfigError."""
    errors = validate_params(params)
    if errors:
        raise ProbeConfigError('; '.join(errors))
    if params.get('ca_path'):
        try:
            tls_context(params)
        except (OSError, ssl.SSLError) as exc:
            raise ProbeConfigError('ca_path %s: cannot load CA certificates: %s' % (params['ca_path'], exc)) from exc
    started = time.monotonic()
    endpoints = [_normalise(params, e, i) for i, e in enumerate(params['endpoints'])]
    results = []
    timeouts = dict(dns=params['connect_timeout'], tcp_connect=params['connect_timeout'],
                    tls=params['tls_timeout'], request=params['response_timeout'])
    for endpoint in endpoints:
        attempts = []
        for number in range(1, params['attempts'] + 1):
            if number > 1 and params['delay']:
                sleep(params['delay'])
            attempts.append(probe_endpoint_once(params, endpoint, number)[0])
        results.append(dict(name=endpoint['name'], host=endpoint['host'], port=endpoint['port'],
                            protocol=endpoint['protocol'], attempts=attempts,
                            summary=summarize(attempts, endpoint, timeouts), idle=None))
    if params['idle_hold_s']:
        holds = [None] * len(endpoints)

        def worker(i):
            try:
                holds[i] = idle_hold(params, endpoints[i])
            except Exception as exc:  # pylint: disable=broad-except
                holds[i] = {'ended': 'error', 'after_s': 0.0, 'error': _probe.describe_exception(exc)}
        threads = [threading.Thread(target=worker, args=(i,), name='tcp_probe-idle-%d' % i) for i in range(len(endpoints))]
        for thread in threads:
            thread.daemon = True
            thread.start()
        limit = time.monotonic() + time_budget(params)
        for thread in threads:
            thread.join(max(0.1, limit - time.monotonic()))
        for result, hold in zip(results, holds):
            result['idle'] = hold or {'ended': 'error', 'after_s': None, 'error': 'the idle hold did not finish in time'}
    classes = [r['summary']['classification'] for r in results]
    summary = dict(ok=classes.count('ok'), failed=len(classes) - classes.count('ok'),
                   classifications=dict((r['name'], r['summary']['classification']) for r in results),
                   elapsed_s=round(time.monotonic() - started, 3))
    return dict(endpoints=results, summary=summary)
