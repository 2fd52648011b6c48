# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Any TCP service the operator names (issue 13): sockets, owning process and unit, unit history,
descriptors, ephemeral ports, idle timeouts.  Private.

Formats and their homes:

* ``ss -Hltnp`` (iproute2): the queue columns as :func:`_tcp.parse_ss_listeners` reads them (``Recv-Q`` the
  accept queue, ``Send-Q`` the backlog), the ``users:(("nginx",pid=812,fd=6),...)`` column as
  :func:`_sshd.parse_ss_listen` reads it;
* ``/proc/net/tcp`` and ``tcp6`` (:func:`_sshd.parse_proc_net_tcp`, :func:`_tcp.decode_proc_address`),
  ``/proc/PID/fd`` links ``socket:[INODE]``;
* ``/proc/PID/cgroup`` (:func:`_oom.parse_proc_cgroup`, :func:`_oom.unit_of_cgroup`);
* ``/proc/PID/limits`` (fs/proc/base.c proc_pid_limits: ``"%-25s %-20s %-20s %-10s\\n"`` - ``Max open files``,
  soft, hard, ``files``; ``unlimited`` for RLIM_INFINITY);
* ``/proc/sys/net/ipv4/ip_local_port_range`` (``low\\thigh``); somaxconn and tcp_abort_on_overflow from
  :data:`_tcp.SYSCTLS` (their one home);
* the unit: :mod:`_service` (systemctl show, PID 1's unit messages); OOM kills: :func:`_oom.collect`;
* the programs' configurations: :mod:`_svcconf`; their own exhaustion lines: :data:`_endpoint_stack.PROGRAM_EVENTS`.

This file holds the options, the host-wide parts (sysctls, ephemeral ports) and :func:`collect`; what is read for
each endpoint is :mod:`_endpoint_stack`, imported only when the call names an endpoint, so a call without one (the
default of ``reset_facts``) does not compile it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.connreset.doctor.plugins.module_utils._common import OK, UNKNOWN, OptionError, permission_hint, result, summarize
from ansible_collections.connreset.doctor.plugins.module_utils._logs import resolve_window, since_option_error
from ansible_collections.connreset.doctor.plugins.module_utils._tcp import SYSCTLS, parse_int

PROTOCOLS = ['tcp', 'tls', 'http', 'https']
FRONT_KINDS = ['aws-alb', 'aws-nlb', 'aws-gwlb', 'azure-lb', 'gcp-lb', 'gcp-nat', 'nginx', 'haproxy', 'envoy', 'none']
ARGUMENT_SPEC = dict(
    endpoints=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str'),
        port=dict(type='int', required=True),
        unit=dict(type='str'),
        protocol=dict(type='str', choices=PROTOCOLS, default='tcp'),
        front=dict(type='dict', options=dict(
            kind=dict(type='str', choices=FRONT_KINDS),
            idle_timeout_s=dict(type='float'),
        )),
    )),
    since=dict(type='str'),
)

MAX_ENDPOINTS = 64
MAX_TCP_LINES = 500000          # lines of /proc/net/tcp{,6} read for the ephemeral ports
SYSCTL_PATHS = dict(SYSCTLS)
PORT_RANGE_PATH = '/proc/sys/net/ipv4/ip_local_port_range'
_UNIT_NAME = re.compile(r'^[\w@.:\\-]{1,256}$')


# ---------------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------------
def unit_name(value):
    """``nginx`` → ``nginx.service``; a name with a unit suffix stays as it is."""
    value = str(value).strip()
    return value if re.search(r'\.(service|socket|scope)$', value) else value + '.service'


def validate(params):
    """Error message for bad options, or None."""
    error = since_option_error(params)
    if error:
        return error
    endpoints = params.get('endpoints') or []
    if len(endpoints) > MAX_ENDPOINTS:
        return 'option endpoints: %d endpoints given, at most %d per host' % (len(endpoints), MAX_ENDPOINTS)
    for index, endpoint in enumerate(endpoints):
        if not isinstance(endpoint, dict):
            return 'option endpoints[%d]: give a dict such as {port: 443, unit: nginx.service}; got %r' % (index, endpoint)
        port = endpoint.get('port')
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            return 'option endpoints[%d].port: %r is not a TCP port; give 1-65535' % (index, port)
        unit = endpoint.get('unit')
        if unit is not None and not _UNIT_NAME.match(str(unit)):
            return ('option endpoints[%d].unit: %r is not a systemd unit name; give one such as nginx.service, '
                    'or leave it out to find the unit from the socket' % (index, unit))
        front = endpoint.get('front') or {}
        idle = front.get('idle_timeout_s')
        if idle is not None and not (isinstance(idle, (int, float)) and 0 <= idle <= 86400 * 7):
            return ('option endpoints[%d].front.idle_timeout_s: %r is not a number of seconds from 0 to 604800'
                    % (index, idle))
    return None


# ---------------------------------------------------------------------------------------------
# pure parsers
# ---------------------------------------------------------------------------------------------
def parse_port_range(text):
    """``32768\\t60999`` → (32768, 60999), or None."""
    words = (text or '').split()
    if len(words) != 2 or not all(re.match(r'^\d{1,5}$', w) for w in words):
        return None
    low, high = int(words[0]), int(words[1])
    return (low, high) if 0 < low <= high < 65536 else None


def count_ephemeral(lines, low, high):
    """Lines of /proc/net/tcp{,6} → (distinct local ports in [low, high] of non-listening sockets, malformed)."""
    ports = set()
    malformed = 0
    for count, line in enumerate(lines):
        if count >= MAX_TCP_LINES:
            break
        parts = line.split()
        if not parts or parts[0] == 'sl':
            continue
        if len(parts) < 4 or ':' not in parts[1] or not re.match(r'^[0-9A-Fa-f]{2}$', parts[3]):
            malformed += 1
            continue
        if parts[3].upper() == '0A':
            continue
        port_hex = parts[1].rpartition(':')[2]
        if not re.match(r'^[0-9A-Fa-f]{1,4}$', port_hex):
            malformed += 1
            continue
        port = int(port_hex, 16)
        if low <= port <= high:
            ports.add(port)
    return len(ports), malformed


# ---------------------------------------------------------------------------------------------
# reading the host
# ---------------------------------------------------------------------------------------------
def read_sysctls(system):
    return {
        'somaxconn': parse_int(system.read_or_none(SYSCTL_PATHS['somaxconn'])),
        'tcp_abort_on_overflow': parse_int(system.read_or_none(SYSCTL_PATHS['tcp_abort_on_overflow'])),
        'ip_local_port_range': list(parse_port_range(system.read_or_none(PORT_RANGE_PATH)) or []) or None,
    }


def ephemeral_ports(system, port_range):
    if not port_range:
        return {'status': UNKNOWN, 'reason': 'cannot read %s' % PORT_RANGE_PATH, 'low': None, 'high': None,
                'size': None, 'in_use': None, 'fill': None}
    low, high = port_range
    in_use = 0
    reasons = []
    read_any = False
    for path in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            count, _malformed = count_ephemeral(system.lines(path), low, high)
        except (IOError, OSError) as exc:
            if not path.endswith('6'):
                reasons.append(permission_hint(path, exc))
            continue
        read_any = True
        in_use += count
    size = high - low + 1
    if not read_any:
        return {'status': UNKNOWN, 'reason': '; '.join(reasons) or 'cannot read /proc/net/tcp', 'low': low,
                'high': high, 'size': size, 'in_use': None, 'fill': None}
    return {'status': OK, 'reason': None, 'low': low, 'high': high, 'size': size, 'in_use': min(in_use, size),
            'fill': round(min(in_use, size) / float(size), 4)}


def collect(system, params):
    """The ``connreset_endpoints`` fact; raises OptionError for bad options."""
    error = validate(params)
    if error:
        raise OptionError(error)
    specs = params.get('endpoints') or []
    sysctls = read_sysctls(system)
    ports = ephemeral_ports(system, sysctls['ip_local_port_range'])
    if not specs:
        return result(OK, None, sysctls=sysctls, ephemeral_ports=ports, endpoints=[])
    # imported here: a call that names no endpoint does not compile the per-endpoint machinery
    from ansible_collections.connreset.doctor.plugins.module_utils import _endpoint_stack, _oom
    window = resolve_window(system, params.get('since'))
    # OOM kills: the OOM collector's rules and sources (one home), read once for every endpoint
    oom = _oom.collect(system, {'since': params.get('since')})
    host = _endpoint_stack.Host(system)
    endpoints = []
    for spec in specs:
        endpoints.append(_endpoint_stack.collect_endpoint(system, host, spec, window, oom))
    parts = dict((e['name'], (e['status'], e['reason'])) for e in endpoints)
    status, reason = summarize(parts)
    return result(status, reason, sysctls=sysctls, ephemeral_ports=ports, endpoints=endpoints)


__all__ = ['ARGUMENT_SPEC', 'collect', 'validate', 'unit_name', 'parse_port_range', 'count_ephemeral']
