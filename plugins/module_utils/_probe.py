# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where exactly does an SSH connection die?  Probe phase by phase, then classify.

One attempt walks the phases of an SSH connection and stops at the first that fails:

``dns``          getaddrinfo (bounded by ``connect_timeout``: it runs in a helper thread);
``tcp_connect``  our own socket, ``connect_timeout``;
``banner``       we read the server's identification line ourselves, with a deadline, so text
                 sent *instead of* a banner ("Exceeded MaxStartups", OpenSSH < 9.8; "Not allowed
                 at this time", OpenSSH >= 9.8) and the exact moment of a reset are seen;
``kex``          paramiko's Transport over the same socket (the bytes we read are replayed to
                 it), key exchange bounded by ``kex_timeout``;
``auth``         only with ``username`` + ``key_file``/``password``;
``session``      ``exec true``, then a larger transfer (``head -c N /dev/zero``) so a reset after
                 N bytes shows.

Each attempt gives ``{attempt, phase, outcome, error, banner, elapsed_s, timings, address, icmp,
local_address, local_port, started_at, ended_at}`` (``icmp``: the ICMP error that ended the TCP
connect, read from the socket's error queue on Linux, see :func:`parse_extended_err`;
``local_address``/``local_port``: the probe's own end of the 4-tuple, :func:`_local_endpoint`;
``started_at``/``ended_at``: the attempt's wall-clock span, seconds since the epoch, which the
engine compares with a reset_capture window);
:func:`summarize` (pure) turns the attempt records into the classification of
docs/development.md "Probe result (ssh_probe) contract".  This file runs on the controller
(the module is used with ``delegate_to: localhost``); paramiko is optional at import time so
the pure functions stay usable without it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import ipaddress
import logging
import re
import select
import socket
import ssl
import struct
import sys
import threading
import time
import traceback

try:
    import paramiko
    HAS_PARAMIKO = True
    PARAMIKO_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller's environment
    paramiko = None
    HAS_PARAMIKO = False
    PARAMIKO_IMPORT_ERROR = traceback.format_exc()

PHASES = ('dns', 'tcp_connect', 'banner', 'kex', 'auth', 'session')
OUTCOMES = ('ok', 'refused', 'timeout', 'reset', 'closed', 'banner_text', 'hang', 'auth_failed', 'error')
CLASSIFICATIONS = (
    'ok', 'dns_failure', 'refused', 'connect_timeout', 'reset_at_connect', 'reset_at_banner',
    'reset_at_banner_delayed', 'maxstartups', 'closed_at_banner', 'banner_timeout', 'kex_hang',
    'reset_during_kex', 'auth_failed', 'reset_mid_session', 'intermittent_reset', 'rejected_icmp',
    # Not (yet) in the development.md vocabulary: a stall after key exchange (auth/session), and a
    # failure that is not a network symptom (algorithm mismatch, remote command failed, ...).
    'session_hang', 'probe_error',
)

# libwrap (TCP wrappers) makes sshd's child wait before it drops a denied client: the client
# sees a reset ~5 s after connecting (measured: 5.0 s, Debian 12 / OpenSSH 9.2p1).
DELAYED_RESET_WINDOW = (4.0, 7.0)
# sshd drops a connection past MaxStartups in its accept loop, before forking: the client sees
# the close/reset within milliseconds; allow for a loaded host.
INSTANT_DROP_S = 1.0

# Text sshd writes before closing a connection it drops: drop_connection() in sshd.c,
# "Exceeded MaxStartups\r\n" (OpenSSH 8.x - 9.7), "Not allowed at this time\r\n" (9.8+, also
# for PerSourcePenalties).  Older sshd closes without a word.
MAXSTARTUPS_TEXT = re.compile(r'Exceeded MaxStartups|Not allowed at this time', re.I)

# Limits on what we accept before the identification line (RFC 4253 4.2 allows other lines
# first; sshd's own limit is 1024 lines, we stop much earlier).
BANNER_MAX_BYTES = 8192
# Addresses of a name tried in turn at tcp_connect (the OpenSSH client tries them all).
MAX_ADDRESSES = 3
BANNER_MAX_LINES = 20

# The limits of the options both probes take (this one and _tcp_probe's): attempts, delay, port, each timeout.
PROBE_LIMITS = {
    'attempts': (1, 20),
    'delay': (0.0, 60.0),
    'port': (1, 65535),
    'timeout': (0.1, 300.0),
}
LIMITS = dict(PROBE_LIMITS, transfer_bytes=(0, 64 * 1024 * 1024), idle_hold_s=(0, 900))
# The idle hold (``idle_hold_s``): after the hold, the client's identification line is sent (what an
# SSH client sends first; sshd answers it with its KEXINIT) and sshd's answer awaited this long.
IDLE_ANSWER_S = 5.0
CLIENT_IDENT = b'SSH-2.0-connreset.doctor_probe\r\n'
IDLE_OUTCOMES = ('open', 'fin', 'rst', 'silent_drop', 'error')
IDLE_DATA_MAX = 16384   # bytes read from an idle connection before the watch stops (watch_idle)
IDLE_TEXT_MAX = 200
TIMEOUT_OPTIONS = ('connect_timeout', 'banner_timeout', 'kex_timeout', 'auth_timeout', 'session_timeout')

ARGUMENT_SPEC = dict(
    host=dict(type='str', required=True),
    port=dict(type='int', default=22),
    connect_timeout=dict(type='float', default=5.0),
    banner_timeout=dict(type='float', default=10.0),
    kex_timeout=dict(type='float', default=10.0),
    auth_timeout=dict(type='float', default=10.0),
    session_timeout=dict(type='float', default=10.0),
    attempts=dict(type='int', default=1),
    delay=dict(type='float', default=1.0),
    username=dict(type='str'),
    key_file=dict(type='path'),
    password=dict(type='str', no_log=True),
    transfer_bytes=dict(type='int', default=262144),
    idle_hold_s=dict(type='int', default=0),
)

# Likely causes per classification, most likely first (cause ids of the finding contract).
CAUSES = {
    'ok': [],
    'dns_failure': ['configuration'],
    'refused': ['sshd_down', 'firewall'],
    'rejected_icmp': ['firewall'],
    'connect_timeout': ['conntrack', 'firewall', 'listen_queue'],
    'reset_at_connect': ['firewall', 'sshd_rate_limit', 'resource_exhaustion', 'conntrack'],
    'reset_at_banner': ['firewall', 'sshd_rate_limit', 'resource_exhaustion'],
    'reset_at_banner_delayed': ['tcp_wrappers'],
    'maxstartups': ['sshd_rate_limit', 'resource_exhaustion'],
    'closed_at_banner': ['sshd_rate_limit', 'resource_exhaustion', 'configuration'],
    'banner_timeout': ['resource_exhaustion', 'listen_queue', 'tcp_wrappers'],
    'kex_hang': ['mtu', 'firewall'],
    'reset_during_kex': ['firewall', 'resource_exhaustion', 'conntrack'],
    'auth_failed': ['configuration'],
    'reset_mid_session': ['firewall', 'conntrack', 'resource_exhaustion'],
    'intermittent_reset': ['sshd_rate_limit', 'firewall', 'conntrack', 'resource_exhaustion'],
    'session_hang': ['mtu', 'firewall'],
    'probe_error': ['configuration'],
}

DETAILS = {
    'ok': '{ok_text}',
    'dns_failure': 'The name {host} does not resolve: {error}.',
    'refused': ('{refused_text}The TCP connection to port {port} is refused: nothing listens there (sshd not running '
                'or on another port) or a firewall answers with a reset/ICMP reject for every packet.'),
    'rejected_icmp': ('The TCP connection to port {port} is rejected with {icmp_kind} "{icmp_text}" (type {icmp_type}, '
                      'code {icmp_code}) from {offender}{via}: a firewall REJECT rule (fail2ban\'s default ban action, '
                      'iptables REJECT, nftables reject) or a ban, not a stopped sshd, since a Linux host with nothing '
                      'listening answers with a TCP reset.'),
    'connect_timeout': ('The TCP handshake to port {port} never completes: packets to it are dropped '
                        '(firewall DROP, full conntrack table or a ct count limit, full listen queue).'),
    'reset_at_connect': ('The connection to port {port} is reset right after the TCP handshake (connect() '
                         'itself returned ECONNRESET): a firewall rule resetting established connections, '
                         'sshd dropping new connections, or sshd unable to fork.'),
    'reset_at_banner': ('The connection is accepted and then reset at once, before sshd sends its '
                        'banner: a firewall rule resetting established connections, sshd dropping '
                        'every new connection (MaxStartups full), or sshd unable to fork.'),
    'reset_at_banner_delayed': ('The connection is dropped ({outcome}) {banner_s:.1f} s after it was accepted, '
                                'before any banner: the signature of TCP wrappers (hosts.deny) denying '
                                'this client in sshd.'),
    'maxstartups': ('sshd refuses new unauthenticated connections ({evidence}): MaxStartups (or, on '
                    'OpenSSH >= 9.8, PerSourcePenalties) is dropping connections.'),
    'closed_at_banner': ('The connection is closed before the SSH banner{text}: sshd dropped it (old '
                         'sshd under MaxStartups closes silently), could not start a session process, '
                         'or something other than sshd listens on port {port}.'),
    'banner_timeout': ('The TCP connection is accepted but no SSH banner arrives within {timeout} s: '
                       'sshd is hung or overloaded, its listen queue is full, or a slow lookup '
                       '(TCP wrappers with host names) delays it.'),
    'kex_hang': ('The banner arrives but key exchange makes no progress within {timeout} s: large '
                 'packets are lost (path-MTU black hole) or a middlebox drops the flow.'),
    'reset_during_kex': 'The connection dies during key exchange ({outcome}: {error}).',
    'auth_failed': 'SSH works up to authentication, which fails: {error}.',
    'reset_mid_session': ('The connection dies after key exchange, in phase {phase} ({outcome}: {error}): '
                          'a firewall/conntrack rule resetting established flows or the session '
                          'process being killed.'),
    'intermittent_reset': ('{failed} of {total} attempts failed ({counts}), the others worked: '
                           'rate limiting or a resource limit rather than a hard block.'),
    'session_hang': ('After authentication the session makes no progress within {timeout} s: large '
                     'packets are lost (path-MTU black hole) or the remote command hangs.'),
    'probe_error': 'The probe failed in phase {phase}: {error}.',
}


class ProbeConfigError(Exception):
    """An option value the probe cannot work with (the module turns it into fail_json)."""


# ---------------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------------
def _out_of_range(name, value, limits, unit='', hint=''):
    """The message for an option value outside ``limits`` (low, high), or None. Pure; shared by
    every probe's validate_params (module_utils/_tcp_probe too)."""
    low, high = limits
    if isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high:
        return None
    return '%s must be between %s and %s%s (got %s)%s' % (name, low, high, unit, value, hint)


def validate_params(params):
    """List of messages about bad option values (empty when all is fine). Pure."""
    attempts_hint = ': probes are sequential and bounded; use a few attempts to see intermittent failures'
    checks = [('attempts', LIMITS['attempts'], '', attempts_hint),
              ('delay', LIMITS['delay'], ' seconds', ''), ('port', LIMITS['port'], '', '')]
    checks += [(name, LIMITS['timeout'], ' seconds', '') for name in TIMEOUT_OPTIONS]
    checks.append(('transfer_bytes', LIMITS['transfer_bytes'], '', ''))
    errors = [m for m in (_out_of_range(n, params[n], limits, unit, hint) for n, limits, unit, hint in checks) if m]
    hold = _out_of_range('idle_hold_s', params.get('idle_hold_s', 0), LIMITS['idle_hold_s'], ' seconds',
                         ': 0 holds no idle connection; the hold keeps one connection idle that long')
    if hold:
        errors.append(hold)
    if not (params.get('host') or '').strip():
        errors.append('host must be a host name or address')
    username = params.get('username')
    if (params.get('key_file') or params.get('password')) and not username:
        errors.append('key_file/password need username: set username to probe authentication '
                      'and a session, or drop them to probe up to key exchange')
    if username and not (params.get('key_file') or params.get('password')):
        errors.append('username needs key_file or password: without credentials the probe stops '
                      'after key exchange (drop username for that)')
    return errors


def time_budget(params):
    """Upper bound, in seconds, of the whole probe (attempts x phase timeouts + delays). Pure."""
    per_attempt = params['connect_timeout'] * (1 + MAX_ADDRESSES) + params['banner_timeout'] + params['kex_timeout']
    if params.get('username'):
        per_attempt += params['auth_timeout'] + params['session_timeout']
    total = params['attempts'] * per_attempt + (params['attempts'] - 1) * params['delay']
    if params.get('idle_hold_s'):
        total += (params['connect_timeout'] * (1 + MAX_ADDRESSES) + params['banner_timeout'] + params['idle_hold_s']
                  + IDLE_ANSWER_S)
    return total


# ---------------------------------------------------------------------------------------------
# pure helpers: banner bytes, exceptions
# ---------------------------------------------------------------------------------------------
def split_banner(data):
    """Split what the server sent before key exchange. Pure.

    Returns ``(ident, text_lines, rest)``: ``ident`` the ``SSH-...`` identification line without
    its line end (None when not complete yet), ``text_lines`` the other lines sent before it
    (decoded, stripped; a trailing unterminated fragment included), ``rest`` the bytes after the
    identification line.
    """
    text = []
    pos = 0
    while True:
        end = data.find(b'\n', pos)
        if end < 0:
            tail = data[pos:].rstrip(b'\r')
            if tail and not tail.startswith(b'SSH-'):
                text.append(_decode(tail))
            return None, text, b''
        line = data[pos:end].rstrip(b'\r')
        if line.startswith(b'SSH-'):
            return _decode(line), text, data[end + 1:]
        if line.strip():
            text.append(_decode(line))
        pos = end + 1


def _decode(raw):
    return raw.decode('utf-8', 'replace').strip()


def exception_outcome(exc):
    """Map an exception from a socket/paramiko call to ``(outcome, error text)``. Pure."""
    text = describe_exception(exc)
    if isinstance(exc, socket.timeout):
        return 'timeout', text
    if isinstance(exc, ConnectionRefusedError):
        return 'refused', text
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return 'reset', text
    if isinstance(exc, EOFError):
        return 'closed', text
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return 'reset', text
    if isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED:
        return 'refused', text
    if isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT:
        return 'timeout', text
    lowered = text.lower()
    if 'connection reset' in lowered or 'errno 104' in lowered:
        return 'reset', text
    return 'error', text


def describe_exception(exc):
    """One line: the exception's class and message (``EOFError`` has no message of its own)."""
    if isinstance(exc, EOFError) and not str(exc):
        return 'EOF: the server closed the connection'
    if isinstance(exc, socket.timeout) and not str(exc):
        return 'timed out'
    name = type(exc).__name__
    message = str(exc) or repr(exc)
    return '%s: %s' % (name, message)


# ---------------------------------------------------------------------------------------------
# pure helpers: ICMP errors from the socket's error queue (Linux)
# ---------------------------------------------------------------------------------------------
# A TCP connect refused by a TCP reset (a Linux host with nothing listening) and one refused by
# an ICMP error (a firewall REJECT: fail2ban's default ban action, iptables REJECT
# --reject-with icmp-port-unreachable, nftables reject) both end in ECONNREFUSED.  With
# IP_RECVERR / IPV6_RECVERR set before connect(), Linux also queues the ICMP error on the
# socket's error queue (tcp_v4_err()/tcp_v6_err() in SYN_SENT; an unprivileged socket may read
# it): recvmsg(MSG_ERRQUEUE) then returns one control message holding a struct
# sock_extended_err (linux/errqueue.h) followed by the sockaddr of the host that sent the ICMP
# error.  A TCP reset queues nothing.  The values below are Linux's (Python has no constants
# for them); elsewhere nothing is set or read.
RECVERR_SUPPORTED = sys.platform.startswith('linux')
SOL_IP = 0
SOL_IPV6 = 41
IP_RECVERR = 11
IPV6_RECVERR = 25
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
# ee_errno u32, ee_origin u8, ee_type u8, ee_code u8, ee_pad u8, ee_info u32, ee_data u32
EXTENDED_ERR = struct.Struct('=IBBBBII')
LINUX_AF_INET = 2
LINUX_AF_INET6 = 10
# Bounds on reading the error queue (one ICMP error ends a connect; never loop on it).
ERRQUEUE_MAX_MESSAGES = 4
ERRQUEUE_BUFSIZE = 512

ICMP_ORIGINS = {SO_EE_ORIGIN_ICMP: 'icmp', SO_EE_ORIGIN_ICMP6: 'icmp6'}
# (origin, type) -> (name of the type, {code: text}); RFC 792/1812 (ICMP), RFC 4443 (ICMPv6).
ICMP_MESSAGES = {
    ('icmp', 3): ('destination unreachable', {
        0: 'net unreachable', 1: 'host unreachable', 2: 'protocol unreachable', 3: 'port unreachable',
        4: 'fragmentation needed', 5: 'source route failed', 6: 'destination network unknown',
        7: 'destination host unknown', 8: 'source host isolated', 9: 'network administratively prohibited',
        10: 'host administratively prohibited', 11: 'network unreachable for TOS', 12: 'host unreachable for TOS',
        13: 'communication administratively prohibited', 14: 'host precedence violation',
        15: 'precedence cutoff in effect'}),
    ('icmp', 11): ('time exceeded', {0: 'TTL exceeded in transit', 1: 'fragment reassembly time exceeded'}),
    ('icmp', 12): ('parameter problem', {}),
    ('icmp6', 1): ('destination unreachable', {
        0: 'no route to destination', 1: 'communication administratively prohibited',
        2: 'beyond scope of source address', 3: 'address unreachable', 4: 'port unreachable',
        5: 'source address failed ingress/egress policy', 6: 'reject route to destination'}),
    ('icmp6', 2): ('packet too big', {}),
    ('icmp6', 3): ('time exceeded', {0: 'hop limit exceeded in transit', 1: 'fragment reassembly time exceeded'}),
    ('icmp6', 4): ('parameter problem', {}),
}
# ICMP errors that reject the port itself (what REJECT rules send), as opposed to a router's
# host/net unreachable: (origin, type) -> codes.
ICMP_REJECTIONS = {
    ('icmp', 3): (3, 9, 10, 13),  # port unreachable; network/host/communication administratively prohibited
    ('icmp6', 1): (1, 4),  # communication administratively prohibited; port unreachable
}


def icmp_text(origin, icmp_type, code):
    """Words for an ICMP type/code, e.g. ``port unreachable``. Pure."""
    name, codes = ICMP_MESSAGES.get((origin, icmp_type), (None, {}))
    if code in codes:
        return codes[code]
    if name is not None:
        return '%s (code %d)' % (name, code)
    return 'type %d code %d' % (icmp_type, code)


def _offender(raw):
    """Address in the sockaddr that follows sock_extended_err (SO_EE_OFFENDER), or None."""
    if len(raw) < 2:
        return None
    family = struct.unpack_from('=H', raw)[0]
    if family == LINUX_AF_INET and len(raw) >= 8:
        return str(ipaddress.IPv4Address(raw[4:8]))
    if family == LINUX_AF_INET6 and len(raw) >= 24:
        address = ipaddress.IPv6Address(raw[8:24])
        return str(address.ipv4_mapped or address)
    return None


def parse_extended_err(level, cmsg_type, data):
    """One control message from ``recvmsg(..., MSG_ERRQUEUE)`` -> ``{type, code, origin, offender,
    text}``, or None when it is not an ICMP error (other message, origin LOCAL, short or garbage
    data).  ``origin`` is ``icmp`` or ``icmp6``; ``offender`` the address of the host that sent
    the ICMP error (None when the kernel gave none).  Pure; never raises.
    """
    if (level, cmsg_type) not in ((SOL_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)):
        return None
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return None
    data = bytes(data)
    if len(data) < EXTENDED_ERR.size:
        return None
    _errno, origin, icmp_type, code, _pad, _info, _data = EXTENDED_ERR.unpack_from(data)
    name = ICMP_ORIGINS.get(origin)
    if name is None:
        return None
    return dict(type=icmp_type, code=code, origin=name, offender=_offender(data[EXTENDED_ERR.size:]),
                text=icmp_text(name, icmp_type, code))


def icmp_rejects_port(icmp):
    """True when an attempt's ``icmp`` record is a rejection of the port (firewall REJECT), not a
    router's host/net unreachable. Pure."""
    if not isinstance(icmp, dict):
        return False
    return icmp.get('code') in ICMP_REJECTIONS.get((icmp.get('origin'), icmp.get('type')), ())


def describe_icmp(icmp):
    """``ICMP port unreachable from 192.0.2.10`` (for error texts). Pure."""
    kind = 'ICMPv6' if icmp.get('origin') == 'icmp6' else 'ICMP'
    return '%s %s from %s' % (kind, icmp.get('text'), icmp.get('offender') or 'an unknown address')


def _same_address(one, other):
    try:
        return ipaddress.ip_address(one.split('%')[0]) == ipaddress.ip_address(other.split('%')[0])
    except (ValueError, AttributeError):
        return one == other


# ---------------------------------------------------------------------------------------------
# classification (pure: attempt records -> summary)
# ---------------------------------------------------------------------------------------------
def _banner_seconds(attempt):
    value = (attempt.get('timings') or {}).get('banner')
    return value if value is not None else attempt.get('elapsed_s') or 0.0


def classify_attempt(attempt, delayed_window=DELAYED_RESET_WINDOW):
    """Classification of one attempt record (without looking at the other attempts). Pure."""
    phase = attempt.get('phase')
    outcome = attempt.get('outcome')
    if outcome == 'ok':
        return 'ok'
    if phase == 'dns':
        return 'dns_failure'
    if phase == 'tcp_connect':
        if icmp_rejects_port(attempt.get('icmp')):
            # ICMP port unreachable / administratively prohibited: a REJECT rule, not a closed port.
            return 'rejected_icmp'
        if outcome == 'timeout':
            return 'connect_timeout'
        if outcome == 'reset':
            return 'reset_at_connect'
        # refused (a TCP reset, or an ICMP reject the kernel did not report), and also ICMP
        # host/net unreachable (EHOSTUNREACH, ENETUNREACH; ``icmp`` then says who sent it).
        return 'refused'
    if phase == 'banner':
        if outcome == 'banner_text':
            if MAXSTARTUPS_TEXT.search(attempt.get('banner') or ''):
                return 'maxstartups'
            return 'closed_at_banner'
        if outcome in ('reset', 'closed'):
            low, high = delayed_window
            if low <= _banner_seconds(attempt) <= high:
                return 'reset_at_banner_delayed'
            return 'reset_at_banner' if outcome == 'reset' else 'closed_at_banner'
        if outcome in ('timeout', 'hang'):
            return 'banner_timeout'
        return 'probe_error'
    if phase == 'kex':
        if outcome in ('timeout', 'hang'):
            return 'kex_hang'
        if outcome in ('reset', 'closed'):
            return 'reset_during_kex'
        return 'probe_error'
    # auth, session
    if outcome == 'auth_failed':
        return 'auth_failed'
    if outcome in ('reset', 'closed'):
        return 'reset_mid_session'
    if outcome in ('timeout', 'hang'):
        return 'session_hang'
    return 'probe_error'


def _is_instant_drop(attempt, classification, delayed_window):
    """An attempt dropped at the banner at once (what MaxStartups does to the unlucky ones):
    within INSTANT_DROP_S of the connection (or half the delayed window, when scaled down)."""
    if classification == 'maxstartups':
        return True
    if classification == 'reset_at_connect':
        # ECONNRESET from connect(): established, then reset before connect() returned.
        return True
    return classification in ('reset_at_banner', 'closed_at_banner') and not attempt.get('banner') and \
        _banner_seconds(attempt) < min(INSTANT_DROP_S, delayed_window[0] / 2.0)


def top_failure(failed):
    """``(classification, attempt)``: the most frequent classification of the failed
    ``(attempt, classification)`` pairs (on a tie the first one seen) and its first attempt. Pure."""
    tally = {}
    for _attempt, cls in failed:
        tally[cls] = tally.get(cls, 0) + 1
    top = max(tally.values())
    classification = [c for _a, c in failed if tally[c] == top][0]
    return classification, [a for a, c in failed if c == classification][0]


def summarize(attempts, delayed_window=DELAYED_RESET_WINDOW, host=None, port=None, timeouts=None):
    """Summary of a host's attempts: ``{classification, phase, outcome, intermittent, counts,
    likely_causes, detail}``.  Pure.

    ``delayed_window`` (seconds since the TCP connection was up) is when a reset/close at the
    banner counts as TCP wrappers' delayed drop; tests scale it down.  ``timeouts`` maps phase
    to the timeout used, for the detail sentence.
    """
    counts = {}
    for attempt in attempts:
        counts[attempt['outcome']] = counts.get(attempt['outcome'], 0) + 1
    if not attempts:
        return dict(classification='probe_error', phase=None, outcome=None, intermittent=False,
                    counts={}, likely_causes=list(CAUSES['probe_error']), detail='No attempt was made.')
    classes = [classify_attempt(a, delayed_window) for a in attempts]
    intermittent = len(set(classes)) > 1
    failed = [(a, c) for a, c in zip(attempts, classes) if c != 'ok']
    n_ok = len(attempts) - len(failed)

    if not failed:
        representative, classification = attempts[-1], 'ok'
    else:
        classification, representative = top_failure(failed)
        if n_ok:
            if all(_is_instant_drop(a, c, delayed_window) for a, c in failed):
                classification = 'maxstartups'
            elif all(a['outcome'] in ('reset', 'closed', 'banner_text') for a, _c in failed):
                classification = 'intermittent_reset'
        elif any(c == 'maxstartups' for _a, c in failed) and \
                all(_is_instant_drop(a, c, delayed_window) for a, c in failed):
            # Text from sshd on some attempts, an instant drop on the others: same cause.
            classification = 'maxstartups'
            representative = [a for a, c in failed if c == 'maxstartups'][0]

    causes = list(CAUSES[classification])
    if classification == 'intermittent_reset' and \
            all(_is_instant_drop(a, c, delayed_window) or c == 'reset_at_banner_delayed' for a, c in failed) and \
            any(c == 'reset_at_banner_delayed' for _a, c in failed):
        causes = ['tcp_wrappers'] + [c for c in causes if c != 'tcp_wrappers']
    detail = _detail(classification, representative, attempts, failed, counts, host, port, timeouts or {})
    return dict(
        classification=classification,
        phase=representative.get('phase'),
        outcome=representative.get('outcome'),
        intermittent=intermittent,
        counts=counts,
        likely_causes=causes,
        detail=detail,
    )


def _detail(classification, attempt, attempts, failed, counts, host, port, timeouts):
    phase = attempt.get('phase')
    values = dict(
        host=host or 'the host', port=port if port is not None else 22, phase=phase,
        outcome=attempt.get('outcome'), error=(attempt.get('error') or 'no error text').rstrip('.'),
        banner_s=_banner_seconds(attempt), timeout=timeouts.get(phase, '?'),
        failed=len(failed), total=len(attempts),
        counts=', '.join('%s %d' % (k, v) for k, v in sorted(counts.items())),
        text=' (server said: %r)' % attempt['banner'] if attempt.get('banner') else '',
        refused_text='',
        ok_text='SSH works end to end: authentication, a command and a data transfer succeeded.',
    )
    if phase == 'kex':
        values['ok_text'] = ('Reached key exchange: SSH works up to authentication (no credentials '
                             'given, so authentication and a session were not probed).')
    if classification == 'refused' and attempt.get('outcome') != 'refused':
        values['refused_text'] = 'The network answered "%s". ' % values['error']
    if classification == 'rejected_icmp':
        icmp = attempt.get('icmp') or {}
        offender, address = icmp.get('offender'), attempt.get('address')
        values.update(icmp_kind='ICMPv6' if icmp.get('origin') == 'icmp6' else 'ICMP', icmp_text=icmp.get('text'),
                      icmp_type=icmp.get('type'), icmp_code=icmp.get('code'),
                      offender=offender or 'an address the kernel did not report', via='')
        if offender and address and not _same_address(offender, address):
            values['via'] = ' (not %s itself: a firewall or router on the path)' % address
    if classification == 'maxstartups':
        texts = sorted(set(a['banner'] for a, _c in failed if a.get('banner') and MAXSTARTUPS_TEXT.search(a['banner'])))
        if texts:
            values['evidence'] = 'server said %s' % ' / '.join(repr(t) for t in texts)
        else:
            values['evidence'] = '%d of %d attempts dropped at once before the banner' % (len(failed), len(attempts))
    sentence = DETAILS[classification].format(**values)
    if classification not in ('intermittent_reset', 'ok') and len(failed) != len(attempts):
        sentence += ' (%d of %d attempts failed; %s.)' % (len(failed), len(attempts), values['counts'])
    return sentence


# ---------------------------------------------------------------------------------------------
# the probe (I/O)
# ---------------------------------------------------------------------------------------------
class ReplaySocket:
    """A socket whose first ``recv`` calls return bytes we already read (the banner), so
    paramiko sees the stream from its start.  Everything else goes to the real socket."""

    def __init__(self, sock, replay):
        self._sock = sock
        self._replay = replay

    def recv(self, n, *args):
        if self._replay:
            out, self._replay = self._replay[:n], self._replay[n:]
            return out
        return self._sock.recv(n, *args)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class Attempt:
    """Builds one attempt record while the phases run (the ssh probe's and, with its own ``phases``
    and extra keys, the tcp probe's): every phase the attempt ends is timed in ``timings``."""

    def __init__(self, number, phases=PHASES, **fields):
        self.start = time.monotonic()
        self.record = dict(attempt=number, phase='dns', outcome='error', error=None, elapsed_s=None, address=None,
                           icmp=None, timings=dict((p, None) for p in phases), local_address=None, local_port=None,
                           started_at=round(time.time(), 6), ended_at=None)
        self.record.update(fields)
        self._phase_start = self.start

    def socket_tried(self, sock):
        """Record the probe's own side of the 4-tuple of ``sock`` (the address tried last)."""
        self.record['local_address'], self.record['local_port'] = _local_endpoint(sock)

    def enter(self, phase):
        self.record['phase'] = phase
        self._phase_start = time.monotonic()

    def end_phase(self):
        self.record['timings'][self.record['phase']] = round(time.monotonic() - self._phase_start, 4)

    def finish(self, outcome, error=None):
        self.end_phase()
        self.record['outcome'] = outcome
        self.record['error'] = error
        self.record['elapsed_s'] = round(time.monotonic() - self.start, 4)
        self.record['ended_at'] = round(time.time(), 6)
        return self.record


def _local_endpoint(sock):
    """``(address, port)`` of the probe's own end of ``sock`` (``getsockname``), for matching the
    probe's 4-tuple with what the target saw (reset_capture); ``(None, None)`` when the socket has
    no port yet (the connect failed before one was bound) or cannot say.  Linux keeps the port of
    a socket whose connect was refused, reset or timed out: the SYN was sent from it."""
    try:
        name = sock.getsockname()
    except (OSError, AttributeError, TypeError):
        return None, None
    if not isinstance(name, tuple) or len(name) < 2 or not name[1]:
        return None, None
    return name[0], name[1]


def resolve(host, port, timeout):
    """getaddrinfo bounded in time (it has no timeout of its own): a list of sockaddr tuples
    ``(family, sockaddr)``; raises socket.timeout or socket.gaierror."""
    box = {}

    def worker():
        try:
            box['result'] = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
        except Exception as exc:  # pylint: disable=broad-except
            box['error'] = exc

    thread = threading.Thread(target=worker, name='ssh_probe-dns')
    thread.daemon = True
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise socket.timeout('name resolution did not answer within %s s' % timeout)
    if 'error' in box:
        raise box['error']
    seen, out = set(), []
    for info in box['result']:
        if info[4][0] not in seen:
            seen.add(info[4][0])
            out.append((info[0], info[4]))
    return out


def set_recverr(sock, family, enable=True):
    """Ask Linux to queue ICMP errors on ``sock``'s error queue (IP_RECVERR / IPV6_RECVERR), or stop.

    Best effort: False when not Linux, not an IP socket or the kernel refuses."""
    if not RECVERR_SUPPORTED:
        return False
    if family == socket.AF_INET:
        level, option = SOL_IP, IP_RECVERR
    elif family == getattr(socket, 'AF_INET6', None):
        level, option = SOL_IPV6, IPV6_RECVERR
    else:
        return False
    try:
        sock.setsockopt(level, option, 1 if enable else 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def read_icmp_error(sock):
    """The ICMP error queued on ``sock`` (after a failed connect), parsed by
    :func:`parse_extended_err`; None when nothing is queued (a TCP reset) or it cannot be read.

    Never blocks (the socket is made non-blocking: EAGAIN = nothing queued), reads at most
    ERRQUEUE_MAX_MESSAGES messages, never raises."""
    if not RECVERR_SUPPORTED:
        return None
    try:
        sock.settimeout(0)
        for _message in range(ERRQUEUE_MAX_MESSAGES):
            _data, ancdata, _flags, _address = sock.recvmsg(ERRQUEUE_BUFSIZE, ERRQUEUE_BUFSIZE, MSG_ERRQUEUE)
            for level, cmsg_type, cmsg_data in ancdata:
                icmp = parse_extended_err(level, cmsg_type, cmsg_data)
                if icmp is not None:
                    return icmp
    except (OSError, ValueError, AttributeError, TypeError):  # BlockingIOError (EAGAIN): nothing queued
        return None
    return None


def read_banner(sock, timeout):
    """Read up to and including the server's identification line, within ``timeout`` seconds.

    Returns ``(outcome, banner, error, data)``; outcome ``ok`` (banner = the SSH- line, data =
    every byte read, to replay to paramiko), ``banner_text`` (the server sent other text and
    then closed, reset or went silent; banner = that text), ``reset``, ``closed``, ``timeout``.
    """
    deadline = time.monotonic() + timeout
    data = b''
    while True:
        ident, text, _rest = split_banner(data)
        if ident is not None:
            return 'ok', ident, None, data
        left = deadline - time.monotonic()
        failure = None
        if len(data) > BANNER_MAX_BYTES or len(text) > BANNER_MAX_LINES:
            failure = ('error', 'no SSH identification line in the first %d bytes / %d lines'
                       % (BANNER_MAX_BYTES, BANNER_MAX_LINES))
        elif left <= 0:
            failure = ('timeout', 'no SSH banner within %s s' % timeout)
        else:
            sock.settimeout(left)
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                failure = ('timeout', 'no SSH banner within %s s' % timeout)
            except OSError as exc:
                failure = exception_outcome(exc)
            else:
                if chunk:
                    data += chunk
                    continue
                failure = ('closed', 'EOF: the server closed the connection before its SSH banner')
        outcome, error = failure
        if text:
            return 'banner_text', '\n'.join(text), '%s (after text instead of an SSH banner)' % error, data
        return outcome, None, error, data


def _saved_error(transport):
    """The exception that ended paramiko's transport thread (socket error, EOF...), or None."""
    return getattr(transport, 'saved_exception', None)


def _kex(transport, timeout):
    """Run the client side of key exchange; ``(outcome, error)``."""
    done = threading.Event()
    transport.start_client(event=done)
    done.wait(timeout)
    if done.is_set() and transport.is_active():
        return 'ok', None
    if not done.is_set() and transport.is_active():
        return 'hang', 'key exchange made no progress within %s s' % timeout
    exc = _saved_error(transport)
    if exc is None:
        return 'closed', 'key exchange failed: the transport shut down'
    return exception_outcome(exc)


def _auth(transport, username, pkey, password):
    try:
        if pkey is not None:
            transport.auth_publickey(username, pkey)
        else:
            transport.auth_password(username, password)
    except paramiko.AuthenticationException as exc:
        if not transport.is_active():
            inner = _saved_error(transport)
            if inner is not None and not isinstance(inner, paramiko.AuthenticationException):
                return exception_outcome(inner)
            return 'closed', describe_exception(exc)
        if 'timeout' in str(exc).lower():
            return 'hang', describe_exception(exc)
        return 'auth_failed', describe_exception(exc)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        return _transport_failure(transport, exc)
    if not transport.is_authenticated():
        return 'auth_failed', 'authentication did not complete'
    return 'ok', None


def _transport_failure(transport, exc):
    inner = _saved_error(transport)
    if inner is not None:
        return exception_outcome(inner)
    return exception_outcome(exc)


def _run_command(transport, command, deadline, expect_bytes=None):
    """Exec ``command`` on a new channel; returns ``(outcome, error)``.  With ``expect_bytes``
    the command's output must be that many bytes."""
    left = max(deadline - time.monotonic(), 0.1)
    channel = transport.open_session(timeout=left)
    try:
        channel.settimeout(max(deadline - time.monotonic(), 0.1))
        channel.exec_command(command)
        received = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return 'hang', '%r: no progress after %d bytes' % (command, received)
            channel.settimeout(left)
            chunk = channel.recv(65536)
            if not chunk:
                break
            received += len(chunk)
        if not channel.status_event.wait(max(deadline - time.monotonic(), 0.1)):
            return 'hang', '%r: no exit status after %d bytes' % (command, received)
        status = channel.exit_status
        if status == -1:
            # Closed without an exit status: the transport died (paramiko closes the channels
            # just before it marks itself inactive) or the server closed the channel.
            wait_until = min(deadline, time.monotonic() + 1.0)
            while transport.is_active() and time.monotonic() < wait_until:
                time.sleep(0.02)
            if not transport.is_active():
                outcome, error = _transport_failure(transport, EOFError())
                return outcome, '%s (%r stopped after %d bytes)' % (error, command, received)
            return 'closed', '%r: channel closed without exit status after %d bytes' % (command, received)
        if expect_bytes is not None and received != expect_bytes:
            return 'closed', '%r ended after %d of %d bytes (exit status %s)' % (command, received, expect_bytes, status)
        if status != 0:
            return 'error', '%r exited with status %s' % (command, status)
        return 'ok', None
    finally:
        channel.close()


def _session(transport, timeout, transfer_bytes):
    deadline = time.monotonic() + timeout
    try:
        outcome, error = _run_command(transport, 'true', deadline)
        if outcome == 'ok' and transfer_bytes:
            outcome, error = _run_command(transport, 'head -c %d /dev/zero' % transfer_bytes, deadline,
                                          expect_bytes=transfer_bytes)
    except socket.timeout:
        return 'hang', 'session made no progress within %s s' % timeout
    except (paramiko.SSHException, OSError, EOFError) as exc:
        return _transport_failure(transport, exc)
    return outcome, error


def load_key(path):
    """A paramiko private key from ``path``; raises ProbeConfigError with a fix."""
    try:
        return paramiko.PKey.from_path(path)
    except paramiko.PasswordRequiredException:
        raise ProbeConfigError('key_file %s is encrypted: use an unencrypted key made for the probe' % path) from None
    except (IOError, OSError) as exc:
        raise ProbeConfigError('cannot read key_file %s: %s' % (path, exc)) from exc
    except (paramiko.SSHException, ValueError) as exc:
        raise ProbeConfigError('key_file %s is not a private key paramiko can load: %s' % (path, exc)) from exc


def probe_once(params, number=1, pkey=None):
    """One attempt, phase by phase; returns the attempt record."""
    att = Attempt(number, banner=None)
    host, port = params['host'], params['port']
    try:
        addresses = resolve(host, port, params['connect_timeout'])
    except socket.timeout as exc:
        return att.finish('timeout', str(exc))
    except (socket.gaierror, OSError, UnicodeError) as exc:
        return att.finish('error', describe_exception(exc))
    if not addresses:
        return att.finish('error', 'no address for %s' % host)
    att.end_phase()

    att.enter('tcp_connect')
    sock, failures = None, []
    # Like the OpenSSH client: try the addresses in order until one connects (at most
    # MAX_ADDRESSES, each bounded by connect_timeout).
    for family, sockaddr in addresses[:MAX_ADDRESSES]:
        att.record['address'] = sockaddr[0]
        att.record['icmp'] = None
        att.record['local_address'] = att.record['local_port'] = None
        try:
            candidate = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:  # e.g. IPv6 disabled: EAFNOSUPPORT
            failures.append(('error', '%s (%s)' % (describe_exception(exc), sockaddr[0])))
            continue
        candidate.settimeout(params['connect_timeout'])
        # An ICMP error answering the SYN is queued on the socket (Linux): it tells a REJECT rule
        # from a closed port (both ECONNREFUSED).
        recverr = set_recverr(candidate, family)
        try:
            candidate.connect(sockaddr)
        except socket.timeout:
            att.socket_tried(candidate)
            failures.append(('timeout', 'TCP connect to %s port %s timed out after %s s'
                             % (sockaddr[0], port, params['connect_timeout'])))
        except OSError as exc:
            att.socket_tried(candidate)
            outcome, error = exception_outcome(exc)
            where = '%s port %s' % (sockaddr[0], port)
            if recverr:
                att.record['icmp'] = read_icmp_error(candidate)
                if att.record['icmp'] is not None:
                    where += '; %s' % describe_icmp(att.record['icmp'])
            failures.append((outcome, '%s (%s)' % (error, where)))
        else:
            att.socket_tried(candidate)
            if recverr:
                # Connected: back to the default.  With IP_RECVERR an established TCP socket
                # takes every ICMP error as fatal (tcp_v4_err()), where the OpenSSH client's socket
                # would retry through a transient one.
                set_recverr(candidate, family, False)
            sock = candidate
            break
        candidate.close()
    if sock is None:
        outcome = failures[-1][0]
        return att.finish(outcome, '; '.join(error for _outcome, error in failures))
    transport = None
    try:
        att.end_phase()

        att.enter('banner')
        outcome, banner, error, data = read_banner(sock, params['banner_timeout'])
        att.record['banner'] = banner
        if outcome != 'ok':
            return att.finish(outcome, error)
        att.end_phase()

        att.enter('kex')
        sock.settimeout(None)
        transport = paramiko.Transport(ReplaySocket(sock, data))
        transport.banner_timeout = params['banner_timeout']
        # paramiko's own handshake/auth limits must not fire before ours (they look like EOF).
        transport.handshake_timeout = params['kex_timeout'] + params['auth_timeout'] + 5
        transport.auth_timeout = params['auth_timeout']
        outcome, error = _kex(transport, params['kex_timeout'])
        if outcome != 'ok' or not params.get('username'):
            return att.finish(outcome, error)
        att.end_phase()

        att.enter('auth')
        outcome, error = _auth(transport, params['username'], pkey, params.get('password'))
        if outcome != 'ok':
            return att.finish(outcome, error)
        att.end_phase()

        att.enter('session')
        return att.finish(*_session(transport, params['session_timeout'], params['transfer_bytes']))
    except Exception as exc:  # pylint: disable=broad-except
        # Anything unexpected is data about this attempt, never a traceback for the user.
        return att.finish('error', describe_exception(exc))
    finally:
        if transport is not None:
            transport.close()
        sock.close()


# ---------------------------------------------------------------------------------------------
# the idle hold: one connection kept idle, how and when did it end? (also _tcp_probe's)
# ---------------------------------------------------------------------------------------------
def watch_idle(sock, hold, now=time.monotonic, max_bytes=IDLE_DATA_MAX):
    """Keep ``sock`` idle up to ``hold`` seconds; how did it end?  ``{ended, after_s, bytes, text, error}``
    (``ended``: ``open``, ``fin``, ``rst``, ``data`` (it sent something; ``closed_by`` when it then closed)
    or ``error``)."""
    start = now()
    deadline = start + hold
    data = b''
    while True:
        left = deadline - now()
        if left <= 0:
            return {'ended': 'data' if data else 'open', 'after_s': round(now() - start, 3), 'bytes': len(data),
                    'text': _idle_text(data), 'error': None, 'then': 'kept the connection open' if data else None}
        try:
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
            if not pending:
                readable, _w, failed = select.select([sock], [], [sock], min(left, 5.0))
                if not readable and not failed:
                    continue
            sock.settimeout(0.5)
            chunk = sock.recv(4096)
        except socket.timeout:
            continue  # a TLS record not complete yet
        except (ConnectionResetError, BrokenPipeError) as exc:
            return _idle_end('rst', start, now, data, exc)
        except ssl.SSLError as exc:
            # TLS without close_notify: the TCP stream ended (FIN) or an alert came
            return _idle_end('fin', start, now, data, exc)
        except OSError as exc:
            if exc.errno in (errno.ECONNRESET, errno.EPIPE):
                return _idle_end('rst', start, now, data, exc)
            return _idle_end('error', start, now, data, exc)
        if not chunk:
            return _idle_end('fin', start, now, data, None)
        data += chunk
        if len(data) > max_bytes:
            return _idle_end('data', start, now, data, None)


def _idle_end(ended, start, now, data, exc):
    record = {'ended': ended, 'after_s': round(now() - start, 3), 'bytes': len(data), 'text': _idle_text(data),
              'error': describe_exception(exc) if exc is not None else None, 'then': None}
    if data and ended in ('fin', 'rst'):
        record.update(ended='data', then={'fin': 'closed the connection (FIN)', 'rst': 'reset it'}[ended],
                      closed_by=ended)
    return record


def _idle_text(data):
    if not data:
        return None
    return data[:IDLE_TEXT_MAX].decode('utf-8', 'replace').split('\r\n\r\n')[0]


def idle_verdict(idle):
    """One sentence for an idle-hold record (watch_idle's, ``ended`` also ``silent_drop``). Pure."""
    if not idle:
        return None
    ended, after = idle.get('ended'), idle.get('after_s')
    if ended == 'rst':
        return 'The idle connection was reset after %.1f s: the server or a middlebox resets idle connections.' % after
    if ended == 'fin':
        return 'The idle connection was closed (FIN) by the server after %.1f s: its idle/keep-alive timeout.' % after
    if ended == 'data':
        return 'The server sent data on the idle connection after %.1f s, then %s.' % (after, idle.get('then') or 'nothing')
    if ended == 'silent_drop':
        return ('The connection stayed open for %.1f s, then nothing answered what the probe sent on it (%s): the flow '
                'died silently in the path, as when a NAT or stateful firewall forgets an idle flow.' % (
                    after, idle.get('error') or 'no answer'))
    if ended == 'open':
        reuse = idle.get('reuse') or {}
        if reuse.get('outcome') not in (None, 'ok'):
            return ('The connection stayed open for %.1f s but a request on it then failed (%s): a middlebox dropped '
                    'the flow silently.' % (after, reuse.get('outcome')))
        return 'The connection stayed open for the whole hold (%.1f s).' % after
    return 'The idle hold failed: %s.' % idle.get('error')


# struct tcp_info (linux/tcp.h): u8 tcpi_retransmits at offset 2, u32 tcpi_unacked at 24, u32
# tcpi_total_retrans at 100.
TCP_INFO_LEN = 104


def tcp_info(sock):
    """``{retransmits, unacked, total_retrans}`` of a TCP socket (Linux TCP_INFO), or None."""
    option = getattr(socket, 'TCP_INFO', None)
    if option is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, option, TCP_INFO_LEN)
    except (OSError, AttributeError, TypeError):
        return None
    if len(raw) < 28:
        return None
    info = {'retransmits': raw[2], 'unacked': struct.unpack_from('=I', raw, 24)[0], 'total_retrans': None}
    if len(raw) >= TCP_INFO_LEN:
        info['total_retrans'] = struct.unpack_from('=I', raw, 100)[0]
    return info


def _await_answer(sock, timeout):
    """After the line sent at the end of the hold: ``(answer, seconds, error)``; answer ``data``, ``fin``,
    ``rst``, ``none`` (nothing within ``timeout``) or ``error``."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 'none', round(time.monotonic() - start, 3), None
        try:
            readable, _w, failed = select.select([sock], [], [sock], left)
            if not readable and not failed:
                continue
            sock.settimeout(0.5)
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        except OSError as exc:
            outcome, error = exception_outcome(exc)
            answer = {'reset': 'rst', 'timeout': 'none'}.get(outcome, 'error')
            return answer, round(time.monotonic() - start, 3), error
        return ('data' if chunk else 'fin'), round(time.monotonic() - start, 3), None


def _hold_connect(params):
    """The hold's own connection, up to its SSH banner: ``(sock, record fields, error)``."""
    fields = {'address': None, 'local_address': None, 'local_port': None, 'banner': None}
    addresses = resolve(params['host'], params['port'], params['connect_timeout'])
    errors = []
    for family, sockaddr in addresses[:MAX_ADDRESSES]:
        fields['address'] = sockaddr[0]
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            errors.append('%s (%s)' % (describe_exception(exc), sockaddr[0]))
            continue
        sock.settimeout(params['connect_timeout'])
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            errors.append('%s (%s port %s)' % (describe_exception(exc), sockaddr[0], params['port']))
            sock.close()
            continue
        fields['local_address'], fields['local_port'] = _local_endpoint(sock)
        outcome, banner, error, _data = read_banner(sock, params['banner_timeout'])
        fields['banner'] = banner
        if outcome != 'ok':
            sock.close()
            return None, fields, 'no SSH banner on the connection to hold (%s: %s)' % (outcome, error)
        return sock, fields, None
    return None, fields, '; '.join(errors) or 'no address for %s' % params['host']


def idle_hold(params):
    """One more connection: the banner, then ``idle_hold_s`` seconds idle watching it (FIN, RST and
    when); still open at the end, the client's identification line is sent (only then: the
    connection was truly idle) and sshd's answer (its KEXINIT) awaited IDLE_ANSWER_S: none = the flow
    died silently in the path.  ``{hold_s, outcome, after_s, detail, error, ...}``, never raises."""
    hold = params['idle_hold_s']
    record = {'hold_s': hold, 'outcome': 'error', 'after_s': None, 'detail': None, 'error': None,
              'answer_s': None, 'tcp_info': None, 'address': None, 'local_address': None, 'local_port': None,
              'banner': None, 'started_at': round(time.time(), 6), 'ended_at': None}
    sock = None
    try:
        sock, fields, error = _hold_connect(params)
        record.update(fields)
        if sock is None:
            record['error'] = error
        else:
            _hold(sock, hold, record)
    except Exception as exc:  # pylint: disable=broad-except
        record.update(outcome='error', error=describe_exception(exc))
    finally:
        if sock is not None:
            sock.close()
    record['ended_at'] = round(time.time(), 6)
    if record['outcome'] in IDLE_SSH_DETAILS:
        record['detail'] = IDLE_SSH_DETAILS[record['outcome']] % record['after_s']
    else:
        record['detail'] = idle_verdict(dict(record, ended=record['outcome']))
    return record


IDLE_SSH_DETAILS = {
    'fin': ('The idle connection was closed (FIN) after %.1f s: a load balancer or proxy in front of sshd, or sshd '
            'itself (LoginGraceTime for a connection that never logs in), ends idle connections.'),
    'rst': 'The idle connection was reset after %.1f s: a firewall, NAT or load balancer in the path resets idle flows.',
}


def _hold(sock, hold, record):
    watched = watch_idle(sock, hold)
    ended = watched['ended']
    if ended == 'data':
        ended = watched.get('closed_by') or 'open'
    record.update(after_s=watched['after_s'], error=watched['error'])
    if ended != 'open':
        record['outcome'] = ended
        return
    sent_at = time.monotonic()
    try:
        sock.settimeout(IDLE_ANSWER_S)
        sock.sendall(CLIENT_IDENT)
    except OSError as exc:
        outcome, error = exception_outcome(exc)
        record.update(outcome='rst' if outcome == 'reset' else 'error', error='%s when the hold ended' % error)
        return
    answer, seconds, error = _await_answer(sock, max(0.1, IDLE_ANSWER_S - (time.monotonic() - sent_at)))
    record['answer_s'] = seconds
    record['tcp_info'] = tcp_info(sock)
    if answer == 'data':
        record['outcome'] = 'open'
    elif answer in ('fin', 'rst'):
        record.update(outcome=answer, error='%s the line the probe sent after %s s idle' % (
            {'fin': 'closed (FIN) in answer to', 'rst': 'reset in answer to'}[answer], watched['after_s']))
    elif answer == 'none':
        info = record['tcp_info'] or {}
        unacked = ' (unacknowledged: %s segment(s), %s retransmission(s))' % (
            info.get('unacked'), info.get('retransmits')) if info.get('unacked') else ''
        record.update(outcome='silent_drop', error='no answer within %s s to the line sent after %s s idle%s' % (
            IDLE_ANSWER_S, watched['after_s'], unacked))
    else:
        record.update(outcome='error', error=error)


def _hex_ip4(field):
    """/proc/net/route's little-endian hex IPv4 (``010200C0``) -> ``192.0.2.1``, or None."""
    if len(field) != 8:
        return None
    try:
        return str(ipaddress.IPv4Address(bytes(reversed(bytes.fromhex(field)))))
    except ValueError:
        return None


def route_to(address, route_text, route6_text=None):
    """The controller's route to ``address`` from /proc/net/route (IPv4: ``Iface Destination Gateway Flags ...
    Mask``, hex little-endian; net/ipv4/fib_trie.c fib_route_seq_show) or /proc/net/ipv6_route (IPv6: ``dest
    plen src plen gateway metric refcnt use flags iface``, hex; net/ipv6/route.c rt6_info_seq_show): the
    longest prefix that matches, ``{'prefix', 'gateway' (None: directly connected), 'dev'}``, or None when no
    route matches or the address is not one. Pure."""
    try:
        target = ipaddress.ip_address(address)
    except (TypeError, ValueError):
        return None
    best = None
    if target.version == 4:
        for line in (route_text or '').splitlines()[1:4097]:
            fields = line.split()
            if len(fields) < 8 or not fields[3].isalnum():
                continue
            dest, gateway, mask = _hex_ip4(fields[1]), _hex_ip4(fields[2]), _hex_ip4(fields[7])
            try:
                flags = int(fields[3], 16)
                network = ipaddress.ip_network('%s/%s' % (dest, mask), strict=False)
            except ValueError:
                continue
            if not flags & 0x1 or target not in network:       # RTF_UP
                continue
            if best is None or network.prefixlen > best[0].prefixlen:
                best = (network, gateway if flags & 0x2 else None, fields[0][:16])    # RTF_GATEWAY
    else:
        for line in (route6_text or '').splitlines()[:4096]:
            fields = line.split()
            if len(fields) != 10 or len(fields[0]) != 32 or len(fields[4]) != 32:
                continue
            try:
                network = ipaddress.ip_network('%s/%d' % (ipaddress.IPv6Address(bytes.fromhex(fields[0])),
                                                          int(fields[1], 16)), strict=False)
                gateway = ipaddress.IPv6Address(bytes.fromhex(fields[4]))
                flags = int(fields[8], 16)
            except ValueError:
                continue
            if not flags & 0x1 or target not in network or fields[9] == 'lo':
                continue
            if best is None or network.prefixlen > best[0].prefixlen:
                best = (network, str(gateway) if flags & 0x2 and not gateway.is_unspecified else None, fields[9][:16])
    if best is None:
        return None
    return {'prefix': str(best[0]), 'gateway': best[1], 'dev': best[2]}


def controller_route(address):
    """:func:`route_to` over this machine's (the controller's) routing tables; None when unreadable."""
    texts = []
    for path in ('/proc/net/route', '/proc/net/ipv6_route'):
        try:
            with open(path) as handle:
                texts.append(handle.read(1024 * 1024))
        except (IOError, OSError):
            texts.append(None)
    return route_to(address, texts[0], texts[1])


def _quiet_paramiko():
    logger = logging.getLogger('paramiko')
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def run_module(module, run):
    """The end of a probe module's main (modules/ssh_probe, modules/tcp_probe): exit_json with
    ``changed=False, probe=run(module.params)``, or fail_json with a ProbeConfigError's message."""
    try:
        result = run(module.params)
    except ProbeConfigError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, probe=result)


def probe(params, delayed_window=DELAYED_RESET_WINDOW, sleep=time.sleep):
    """Run ``attempts`` sequential attempts (one connection at a time) and summarize them.

    Returns ``{host, port, attempts, summary}``; raises ProbeConfigError for bad options.
    """
    errors = validate_params(params)
    if errors:
        raise ProbeConfigError('; '.join(errors))
    if not HAS_PARAMIKO:
        raise ProbeConfigError('paramiko is not installed on the controller')
    _quiet_paramiko()
    pkey = load_key(params['key_file']) if params.get('key_file') else None
    attempts = []
    for number in range(1, params['attempts'] + 1):
        if number > 1 and params['delay']:
            sleep(params['delay'])
        attempts.append(probe_once(params, number, pkey))
    timeouts = dict(dns=params['connect_timeout'], tcp_connect=params['connect_timeout'],
                    banner=params['banner_timeout'], kex=params['kex_timeout'],
                    auth=params['auth_timeout'], session=params['session_timeout'])
    summary = summarize(attempts, delayed_window, host=params['host'], port=params['port'], timeouts=timeouts)
    result = dict(host=params['host'], port=params['port'], attempts=attempts, summary=summary)
    address = next((a.get('address') for a in attempts if a.get('address')), None)
    result['route'] = controller_route(address) if address else None
    if params.get('idle_hold_s'):
        result['idle'] = idle_hold(params)
    return result


def collect(system, params):  # pylint: disable=unused-argument
    """The collection entry point (``system`` unused: the probe talks to the network only)."""
    return probe(params)


# -- Ansible's UNREACHABLE message (the ssh client's words, relayed by Ansible) ----------------------
# The OpenSSH client's messages: sshconnect.c "ssh: connect to host %s port %s: %s" (strerror:
# "Connection refused", "Connection timed out", "No route to host", "Connection reset by peer"),
# "Connection timed out during banner exchange", kex.c "kex_exchange_identification: ..." (8.2+;
# "ssh_exchange_identification" before), "Could not resolve hostname %s: %s" (gai_strerror),
# "Permission denied (%s)."; paramiko's "Error reading SSH protocol banner"; Ansible's own prefixes.
_UNREACHABLE_RULES = [
    ('dns', re.compile(r'Could not resolve hostname|Name or service not known|Temporary failure in name '
                       r'resolution|nodename nor servname|No address associated with hostname', re.I)),
    ('auth', re.compile(r'Permission denied \(|Too many authentication failures|Authentication failed|'
                        r'Host key verification failed|Invalid/incorrect password|'
                        r'no matching (host key type|key exchange method)', re.I)),
    ('reset_banner', re.compile(r'(kex|ssh)_exchange_identification|Error reading SSH protocol banner|'
                                r'connect to host \S+ port \d+: Connection reset by peer', re.I)),
    ('refused', re.compile(r'Connection refused|Unable to connect to port', re.I)),
    ('timeout', re.compile(r'timed out|Operation timed out|No route to host|Network is unreachable|'
                           r'No existing session|Timeout', re.I)),
    ('reset_mid_session', re.compile(r'Connection reset by|Broken pipe|Socket exception: Connection reset|'
                                     r'Connection reset by peer|Shared connection to \S+ closed', re.I)),
]

# Ansible 2.19 prefixes: "Task failed: Failed to connect to the host via ssh: ssh: connect to ..."
_UNREACHABLE_PREFIX = re.compile(r'^(Task failed: )?(Failed to connect to the host via ssh:(?: |$))?(ssh: )?')


def classify_ssh_failure(msg):
    """Class of Ansible's UNREACHABLE message: refused, timeout, reset_banner, reset_mid_session,
    auth, dns or other."""
    text = str(msg or '')
    for name, pattern in _UNREACHABLE_RULES:
        if pattern.search(text):
            return name
    return 'other'


def ssh_failure_text(msg, limit=200):
    """The last line of Ansible's UNREACHABLE message without Ansible's prefixes, cut to ``limit``."""
    last = (str(msg or '').strip().splitlines() or [''])[-1]
    return _UNREACHABLE_PREFIX.sub('', last)[:limit]
