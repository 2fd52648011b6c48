# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TCP stack counters, sysctls, listen queues and socket states.  Private.

Sources (all per network namespace):

* ``/proc/net/snmp`` and ``/proc/net/netstat``: pairs of lines with the same prefix, the first
  naming the fields (``Tcp: RtoAlgorithm RtoMin ...``), the second holding the values;
* ``/proc/uptime``; ``/proc/sys/net/ipv4/tcp_*`` and ``/proc/sys/net/core/somaxconn``;
* ``ss -Hltn`` (iproute2): for a LISTEN socket ``Recv-Q`` is the current accept queue and
  ``Send-Q`` the backlog (``min(listen() backlog, somaxconn)``);
* ``/proc/net/tcp`` and ``/proc/net/tcp6``: ``st`` is the state in hex; for a LISTEN socket
  ``rx_queue`` is the accept queue (the backlog is not shown there).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re
import socket
import struct
import time

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, OptionError, permission_hint, result, summarize,
)

ARGUMENT_SPEC = dict(
    ports=dict(type='list', elements='int', default=[22]),
    sample_seconds=dict(type='int', default=0),
)

MAX_SAMPLE_SECONDS = 30

SYSCTLS = (
    ('tcp_keepalive_time', '/proc/sys/net/ipv4/tcp_keepalive_time'),
    ('tcp_keepalive_intvl', '/proc/sys/net/ipv4/tcp_keepalive_intvl'),
    ('tcp_keepalive_probes', '/proc/sys/net/ipv4/tcp_keepalive_probes'),
    ('tcp_abort_on_overflow', '/proc/sys/net/ipv4/tcp_abort_on_overflow'),
    ('somaxconn', '/proc/sys/net/core/somaxconn'),
    ('tcp_max_syn_backlog', '/proc/sys/net/ipv4/tcp_max_syn_backlog'),
    ('tcp_syncookies', '/proc/sys/net/ipv4/tcp_syncookies'),
    ('tcp_fin_timeout', '/proc/sys/net/ipv4/tcp_fin_timeout'),
    ('tcp_retries2', '/proc/sys/net/ipv4/tcp_retries2'),
    ('tcp_syn_retries', '/proc/sys/net/ipv4/tcp_syn_retries'),
)

# include/net/tcp_states.h
TCP_STATES = {
    1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT',
    7: 'CLOSE', 8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING', 12: 'NEW_SYN_RECV',
}
# Fields of Tcp: that are settings or gauges, not event counters (no rate).
NOT_COUNTERS = ('RtoAlgorithm', 'RtoMin', 'RtoMax', 'MaxConn', 'CurrEstab')
# A counter as the kernel prints it (seq_put_decimal_ull / _long: a u64 or a signed long, ASCII,
# at most 20 digits).  Anything else (superscript digits, a 5,000-digit run) is not a counter.
_COUNTER = re.compile(r'^-?[0-9]{1,20}$')


# -- pure parsers -----------------------------------------------------------------------------
def parse_pairs(text):
    """/proc/net/snmp or /proc/net/netstat text → {'Tcp': {field: int}, 'TcpExt': {...}, ...}.

    A header line without its value line, or a value that is not an integer, is skipped.
    """
    tables = {}
    lines = (text or '').splitlines()
    index = 0
    while index + 1 < len(lines):
        head, values = lines[index], lines[index + 1]
        prefix, sep, names = head.partition(':')
        vprefix, vsep, numbers = values.partition(':')
        if not sep or not vsep or prefix != vprefix:
            index += 1
            continue
        table = tables.setdefault(prefix.strip(), {})
        for name, value in zip(names.split(), numbers.split()):
            if _COUNTER.match(value):
                table[name] = int(value)
        index += 2
    return tables


def counters_from(snmp_text, netstat_text):
    """Tcp (snmp) and TcpExt (netstat) fields merged into one dict with the kernel's names."""
    counters = {}
    counters.update(parse_pairs(netstat_text).get('TcpExt', {}))
    counters.update(parse_pairs(snmp_text).get('Tcp', {}))
    return counters


def rates_between(first, second, seconds):
    """Per-second increase of each counter between two readings (gauges and settings left out)."""
    if not seconds or seconds <= 0:
        return None
    rates = {}
    for name, value in second.items():
        if name in NOT_COUNTERS or name not in first:
            continue
        rates[name] = round((value - first[name]) / float(seconds), 3)
    return rates


def parse_uptime(text):
    """/proc/uptime → seconds since boot (its first field), or None (also for nan, inf, a negative value)."""
    try:
        value = float((text or '').split()[0])
    except (IndexError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_int(text):
    """A /proc/sys value → its first field as an int, or None when that is not a kernel integer."""
    words = (text or '').split()
    return int(words[0]) if words and _COUNTER.match(words[0]) else None


def split_address(local):
    """``0.0.0.0:22`` / ``[::]:22`` / ``*:22`` / ``127.0.0.53%lo:53`` / ``[::1]:631`` → (address, port)."""
    host, sep, port = local.rpartition(':')
    if not sep:
        return local, None
    try:
        port_number = int(port)
    except ValueError:
        port_number = None
    if host.startswith('[') and host.endswith(']'):
        host = host[1:-1]
    if '%' in host:
        host = host.split('%', 1)[0]
    return host, port_number


def parse_ss_listeners(text):
    """``ss -Hltn`` (or ``ss -ltn`` with its header) output → [{address, port, recv_q, backlog}]."""
    listeners = []
    for line in (text or '').splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0] == 'State':
            continue
        offset = 1 if parts[0] in ('LISTEN', 'UNCONN') else 0
        if offset == 0 and not parts[0].isdigit():
            continue
        try:
            recv_q, send_q = int(parts[offset]), int(parts[offset + 1])
        except (ValueError, IndexError):
            continue
        address, port = split_address(parts[offset + 2])
        listeners.append({'address': address, 'port': port, 'recv_q': recv_q, 'backlog': send_q, 'source': 'ss'})
    return listeners


def _hex_ipv4(value):
    return socket.inet_ntop(socket.AF_INET, struct.pack('<I', int(value, 16)))


def _hex_ipv6(value):
    words = [struct.pack('<I', int(value[i:i + 8], 16)) for i in range(0, 32, 8)]
    return socket.inet_ntop(socket.AF_INET6, b''.join(words))


def decode_proc_address(value):
    """``0100007F:0016`` or the 32-hex-digit IPv6 form → (address, port); (None, None) if malformed."""
    host, sep, port = value.partition(':')
    try:
        if len(host) == 8:
            address = _hex_ipv4(host)
        elif len(host) == 32:
            address = _hex_ipv6(host)
        else:
            return None, None
        return address, int(port, 16)
    except (ValueError, struct.error, OSError):
        return None, None


def parse_proc_tcp(lines):
    """Lines of /proc/net/tcp or tcp6 → (states {name: n}, listeners, malformed line count).

    ``listeners`` entries have ``backlog: None`` (not shown in /proc/net/tcp).
    """
    states = {}
    listeners = []
    malformed = 0
    for line in lines:
        parts = line.split()
        if not parts or parts[0] == 'sl':
            continue
        if len(parts) < 5:
            malformed += 1
            continue
        try:
            state = int(parts[3], 16)
        except ValueError:
            malformed += 1
            continue
        name = TCP_STATES.get(state, 'UNKNOWN_%d' % state)
        states[name] = states.get(name, 0) + 1
        if state == 10:
            address, port = decode_proc_address(parts[1])
            _tx, _sep, rx = parts[4].partition(':')
            try:
                recv_q = int(rx, 16)
            except ValueError:
                recv_q = None
            listeners.append({'address': address, 'port': port, 'recv_q': recv_q, 'backlog': None,
                              'source': '/proc/net/tcp'})
    return states, listeners, malformed


def filter_ports(listeners, ports):
    if not ports:
        return listeners
    wanted = set(ports)
    return [item for item in listeners if item['port'] in wanted]


# -- I/O ----------------------------------------------------------------------------------------
def _read_counters(system):
    """(counters, reasons): counters None when neither file was readable."""
    reasons = []
    texts = {}
    for path in ('/proc/net/snmp', '/proc/net/netstat'):
        try:
            texts[path] = system.read(path)
        except (IOError, OSError) as exc:
            texts[path] = None
            reasons.append(permission_hint(path, exc))
    if texts['/proc/net/snmp'] is None and texts['/proc/net/netstat'] is None:
        return None, reasons
    return counters_from(texts['/proc/net/snmp'], texts['/proc/net/netstat']), reasons


def _sleep(system, seconds):
    left = system.remaining()
    if left is not None and left < seconds:
        seconds = max(0.0, left - 0.5)
    time.sleep(seconds)
    return seconds


def _listeners_from_ss(system):
    """(listeners or None, reason)."""
    if not system.which('ss'):
        return None, 'ss not found (install iproute2)'
    res = system.run(['ss', '-Hltn'], timeout=10)
    if res.rc != 0 and 'invalid option' in (res.err or ''):
        # iproute2 older than 4.10 has no -H
        res = system.run(['ss', '-ltn'], timeout=10)
    if res.rc != 0:
        return None, res.describe()
    return parse_ss_listeners(res.out), None


def _proc_tcp(system):
    """(states, listeners, reasons) from /proc/net/tcp and tcp6; states None if neither readable."""
    states = {}
    listeners = []
    reasons = []
    read_any = False
    for path in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            part_states, part_listeners, malformed = parse_proc_tcp(system.lines(path))
        except (IOError, OSError) as exc:
            if path.endswith('6') and getattr(exc, 'errno', None) == 2:
                continue  # IPv6 disabled: nothing to count
            reasons.append(permission_hint(path, exc))
            continue
        read_any = True
        for name, count in part_states.items():
            states[name] = states.get(name, 0) + count
        for item in part_listeners:
            item['source'] = path
        listeners.extend(part_listeners)
        if malformed:
            reasons.append('%s: %d malformed line(s) skipped' % (path, malformed))
    return (states if read_any else None), (listeners if read_any else None), reasons


def collect(system, params):
    """The ``connreset_tcp`` fact; raises OptionError for bad options."""
    error = validate(params)
    if error:
        raise OptionError(error)
    ports = params.get('ports')
    if ports is None:
        ports = [22]
    sample = int(params.get('sample_seconds') or 0)

    parts = {}
    counters, reasons = _read_counters(system)
    parts['counters'] = (UNKNOWN if counters is None else (PARTIAL if reasons else OK), '; '.join(reasons) or None)
    uptime = parse_uptime(system.read_or_none('/proc/uptime'))

    rates = None
    rates_reason = None
    if sample and counters is not None:
        started = time.monotonic()
        _sleep(system, sample)
        second, _reasons = _read_counters(system)
        elapsed = time.monotonic() - started
        if second is not None:
            rates = rates_between(counters, second, elapsed)
            counters = second
        else:
            rates_reason = 'second reading failed'
    elif not sample:
        rates_reason = 'not sampled (set sample_seconds to measure rates)'
    else:
        rates_reason = 'counters unreadable'

    sysctls = {}
    missing = []
    for name, path in SYSCTLS:
        sysctls[name] = parse_int(system.read_or_none(path))
        if sysctls[name] is None:
            missing.append(name)

    states, proc_listeners, proc_reasons = _proc_tcp(system)
    listeners, ss_reason = _listeners_from_ss(system)
    listeners_reason = None
    if listeners is None:
        listeners = proc_listeners
        listeners_reason = 'ss failed (%s): accept queues from /proc/net/tcp, backlog unknown' % ss_reason
        if listeners is None:
            listeners_reason = 'ss failed (%s) and /proc/net/tcp unreadable' % ss_reason
    if listeners is not None:
        listeners = filter_ports(listeners, ports)
        for item in listeners:
            item['overflowing'] = (item['backlog'] is not None and item['recv_q'] is not None
                                   and item['recv_q'] > item['backlog'])
    parts['listeners'] = (OK if listeners_reason is None else (UNKNOWN if listeners is None else PARTIAL),
                          listeners_reason)
    parts['states'] = (UNKNOWN if states is None else (PARTIAL if proc_reasons else OK), '; '.join(proc_reasons) or None)

    status, reason = summarize(parts)
    return result(
        status, reason,
        counters=counters,
        uptime_s=uptime,
        sample_seconds=sample,
        rates=rates,
        rates_reason=rates_reason if rates is None else None,
        sysctls=sysctls,
        sysctls_missing=missing,
        ports=list(ports),
        listeners=listeners,
        states=states,
        parts=dict((name, {'status': s, 'reason': r}) for name, (s, r) in parts.items()),
    )


def validate(params):
    """Error message for bad options, or None."""
    sample = params.get('sample_seconds')
    if sample is not None and not 0 <= sample <= MAX_SAMPLE_SECONDS:
        return ('option sample_seconds=%s is out of range: give 0 (no sampling) to %d seconds'
                % (sample, MAX_SAMPLE_SECONDS))
    for port in params.get('ports') or []:
        if not 0 < port < 65536:
            return 'option ports: %s is not a TCP port (1-65535); give [] for all listeners' % port
    return None
