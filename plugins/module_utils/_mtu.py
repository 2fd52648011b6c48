# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MTU facts: interfaces, route MTUs, the route toward targets and an optional DF ping probe.  Private.

Sources and formats (iproute2 6.1, iputils 20221126):

* ``ip -j -d link`` / ``ip -j addr``: JSON lists of links; ``linkinfo.info_kind`` names virtual
  kinds (veth, bridge, vlan, ...); links without it are reported as kind ``device`` (``loopback``
  for ``link_type: loopback``).
* ``ip route show table all`` (text): ``10.10.0.0/16 dev v0 scope link mtu lock 1300``.  The text
  form is used because iproute2's JSON drops the ``lock`` flag (it prints ``"metrics":[{"mtu":1300}]``
  for a locked and an unlocked MTU alike).
* ``ip -j route get T``: ``[{"dst":..,"dev":..,"prefsrc":..,"expires":597,"metrics":[{"mtu":1400}]}]``;
  an ``expires`` next to an ``mtu`` is a path MTU the kernel learned from ICMP (PMTU cache).
* ``ping -M do -c 1 -W S -s SIZE T``: replies ``N bytes from``; a router's ICMP
  ``From R icmp_seq=1 Frag needed and DF set (mtu = 1400)`` (IPv6: ``Packet too big: mtu=1280``);
  a size above the local route/PMTU fails before sending with
  ``ping: local error: message too long, mtu=1400`` (stderr; IPv6: ``mtu: 1400``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re
import time

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, OptionError, controller_address, result, summarize,
)

ARGUMENT_SPEC = dict(
    targets=dict(type='list', elements='str', default=None),
    probe=dict(type='bool', default=False),
    probe_timeout=dict(type='float', default=1.0),
    max_probes=dict(type='int', default=12),
)

IPV4_OVERHEAD = 28   # IPv4 header 20 + ICMP header 8
IPV6_OVERHEAD = 48   # IPv6 header 40 + ICMPv6 header 8
IPV4_MIN = 552       # smallest packet probed over IPv4 (RFC 1191's plateau table floor ~ 576 - 24)
IPV6_MIN = 1280      # IPv6 minimum link MTU (RFC 8200)
IP_MAX = 65535       # largest IPv4 packet (16-bit total length)

# Numbers are ASCII and at most 10 digits (an MTU is a u32; int() of a longer run is slow, and of one
# of more than 4,300 digits raises): a route or ping line with anything else is not one iproute2 or
# iputils wrote, and is skipped.
_ROUTE_MTU = re.compile(r'(?:^|\s)mtu\s+(?P<lock>lock\s+)?(?P<mtu>\d{1,10})(?:\s|$)', re.ASCII)
_ROUTE_DEV = re.compile(r'(?:^|\s)dev\s+(?P<dev>\S+)')
_ROUTE_TABLE = re.compile(r'(?:^|\s)table\s+(\S+)')
_ROUTE_TYPES = ('unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit',
                'blackhole', 'nat', 'anycast')
_PING_REPLY = re.compile(r'^\d{1,10} bytes from ', re.M | re.ASCII)
_PING_FRAG = re.compile(r'Frag(?:mentation)? needed and DF set \(mtu = (?P<mtu>\d{1,10})\)|Packet too big: mtu=(?P<mtu6>\d{1,10})\b',
                        re.ASCII)
_PING_LOCAL = re.compile(r'(?:local error: )?[Mm]essage too long(?:, mtu[=:] ?(?P<mtu>\d{1,10})\b)?', re.ASCII)
# The largest MTU a link reports (loopback 65536, jumbo frames 9000; IP_MAX_MTU is 0xFFFF + 1 headers).
MAX_LINK_MTU = 1 << 20


def _loads(text):
    """The JSON list iproute2 prints, or None when the text is not one.

    Entries that are not JSON objects are dropped (iproute2 prints only objects): the readers
    below see dicts only.  Deep nesting (RecursionError) is not iproute2's JSON either.
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else None


def _text(value):
    """A JSON value that must be a non-empty string (a name, an address), else None."""
    return value if isinstance(value, str) and value else None


def _mtu_value(value):
    """A JSON value that must be an MTU: an int (not a bool) in 0..MAX_LINK_MTU, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_LINK_MTU:
        return value
    return None


def _state(link):
    state = _text(link.get('operstate'))
    return state.lower() if state else None


def _dicts(value):
    """A JSON value that must be a list of objects: its objects, or [] for anything else."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def network_of(address, prefixlen):
    """CIDR of the subnet an address belongs to (``10.9.0.1``, 24 → ``10.9.0.0/24``), None if invalid."""
    if not isinstance(address, str) or isinstance(prefixlen, bool) or not isinstance(prefixlen, (int, str)):
        return None
    try:
        return str(ipaddress.ip_interface(u'%s/%s' % (address.split('%')[0], prefixlen)).network)
    except ValueError:
        return None


def link_kind(link):
    """``linkinfo.info_kind`` (veth, bridge, vlan...), ``loopback``, or ``device`` for hardware/unknown."""
    info = link.get('linkinfo')
    kind = _text(info.get('info_kind')) if isinstance(info, dict) else None
    if kind:
        return kind
    if link.get('link_type') == 'loopback':
        return 'loopback'
    return 'device'


def parse_links(text):
    """``ip -j -d link`` → {name: {name, mtu, state, kind}}; None when not JSON."""
    data = _loads(text)
    if data is None:
        return None
    links = {}
    for link in data:
        name = _text(link.get('ifname'))
        if not name:
            continue
        links[name] = {'name': name, 'mtu': _mtu_value(link.get('mtu')), 'state': _state(link), 'kind': link_kind(link)}
    return links


def parse_addresses(text):
    """``ip -j addr`` → {name: {mtu, state, addresses [{address, prefixlen, family, network}]}}; None when not JSON."""
    data = _loads(text)
    if data is None:
        return None
    out = {}
    for link in data:
        name = _text(link.get('ifname'))
        if not name:
            continue
        addresses = []
        for info in _dicts(link.get('addr_info')):
            local = _text(info.get('local'))
            if not local or info.get('family') not in ('inet', 'inet6'):
                continue
            prefixlen = info.get('prefixlen')
            if isinstance(prefixlen, bool) or not isinstance(prefixlen, int) or not 0 <= prefixlen <= 128:
                prefixlen = None
            addresses.append({'address': local, 'prefixlen': prefixlen, 'family': info['family'],
                              'network': network_of(local, prefixlen) if prefixlen is not None else None})
        out[name] = {'mtu': _mtu_value(link.get('mtu')), 'state': _state(link), 'addresses': addresses}
    return out


def merge_interfaces(links, addrs):
    """One list of interfaces from ``parse_links`` and ``parse_addresses`` (either may be None)."""
    names = sorted(set(links or {}) | set(addrs or {}))
    interfaces = []
    for name in names:
        link = (links or {}).get(name, {})
        addr = (addrs or {}).get(name, {})
        interfaces.append({
            'name': name,
            'mtu': link.get('mtu', addr.get('mtu')),
            'state': link.get('state', addr.get('state')),
            'kind': link.get('kind'),
            'addresses': addr.get('addresses') if addrs is not None else None,
        })
    return interfaces


def parse_routes(text):
    """``ip route show table all`` text → routes carrying an MTU: [{dst, dev, mtu, mtu_locked, table}]."""
    routes = []
    for line in (text or '').splitlines():
        if not line.strip() or line[0].isspace():
            continue
        match = _ROUTE_MTU.search(line)
        if not match:
            continue
        words = line.split()
        dst = words[1] if words[0] in _ROUTE_TYPES and len(words) > 1 else words[0]
        dev = _ROUTE_DEV.search(line)
        table = _ROUTE_TABLE.search(line)
        routes.append({'dst': dst, 'dev': dev.group('dev') if dev else None, 'mtu': int(match.group('mtu')),
                       'mtu_locked': bool(match.group('lock')), 'table': table.group(1) if table else 'main'})
    return routes


def parse_route_get(text):
    """``ip -j route get T`` → {dev, src, gateway, route_mtu, pmtu_cached}; None when not JSON/empty."""
    data = _loads(text)
    if not data:
        return None
    entry = data[0]
    mtu = None
    for metric in _dicts(entry.get('metrics')):
        if 'mtu' in metric:
            mtu = _mtu_value(metric['mtu'])
    return {'dev': _text(entry.get('dev')), 'src': _text(entry.get('prefsrc')), 'gateway': _text(entry.get('gateway')),
            'route_mtu': mtu, 'pmtu_cached': mtu is not None and 'expires' in entry}


def classify_ping(rc, out, err):
    """One DF ping → (outcome, mtu): ``reply``, ``frag_needed`` (ICMP with the next-hop MTU),
    ``local_too_big`` (refused before sending, mtu = the local route/PMTU), ``lost`` (silence),
    ``error`` (could not run / other failure)."""
    text = '%s\n%s' % (out or '', err or '')
    if rc == 0 or _PING_REPLY.search(out or ''):
        return 'reply', None
    match = _PING_FRAG.search(text)
    if match:
        return 'frag_needed', int(match.group('mtu') or match.group('mtu6'))
    match = _PING_LOCAL.search(text)
    if match:
        return 'local_too_big', int(match.group('mtu')) if match.group('mtu') else None
    if rc == 1 and 'packet loss' in text:
        return 'lost', None
    return 'error', None


def probe_path_mtu(ping, upper, family, max_probes=12, dev_mtu=None):
    """Binary-search the path MTU with ``ping(size_of_packet) -> (outcome, mtu)``.

    ``upper``: the route's MTU (largest packet that may leave); sizes are whole IP packets.
    Returns {path_mtu, blackhole, probes, status, reason, icmp_seen, local_limit}.
    A black hole: a large DF packet vanished with no ICMP "frag needed"/"packet too big" while
    a smaller one got its reply.  When only the first lost size is missing from the answer, it
    is sent once more so a single random loss is not called a black hole.
    """
    lower = IPV6_MIN if family == 6 else IPV4_MIN
    state = {'probes': 0}
    icmp_seen = []
    local_limit = None

    def send(size):
        state['probes'] += 1
        return ping(size)

    def done(status, reason, path_mtu=None, blackhole=False):
        return {'path_mtu': path_mtu, 'blackhole': blackhole, 'probes': state['probes'], 'status': status,
                'reason': reason, 'icmp_mtu': icmp_seen[-1] if icmp_seen else None, 'local_limit': local_limit}

    if upper is None or upper < lower:
        return done(UNKNOWN, 'route MTU %s is unknown or below the %s-byte probe floor' % (upper, lower))
    # an IPv4 packet is at most 65535 bytes (loopback's MTU is 65536)
    upper = min(upper, IP_MAX) if family == 4 else upper
    if dev_mtu is not None and family == 4:
        dev_mtu = min(dev_mtu, IP_MAX)
    size = upper
    # Phase 1: follow ICMP / local limits down from the route MTU.
    while state['probes'] < max_probes:
        outcome, mtu = send(size)
        if outcome == 'reply':
            return done(OK, None, size)
        if outcome == 'error':
            return done(UNKNOWN, 'ping failed at %d bytes' % size)
        if outcome in ('frag_needed', 'local_too_big') and mtu and lower <= mtu < size:
            if outcome == 'frag_needed':
                icmp_seen.append(mtu)
            elif dev_mtu is None or mtu < dev_mtu:
                icmp_seen.append(mtu)  # the kernel's PMTU cache: learned from an earlier ICMP
            else:
                local_limit = mtu
            size = mtu
            continue
        if outcome in ('frag_needed', 'local_too_big'):
            return done(UNKNOWN, '%s at %d bytes with unusable mtu %s' % (outcome, size, mtu))
        break
    else:
        return done(PARTIAL, 'probe budget (%d pings) spent before an answer' % max_probes)
    # ``size`` vanished without ICMP: does the target answer small packets at all?
    failed = first_lost = size
    outcome, _mtu = send(lower)
    if outcome != 'reply':
        return done(UNKNOWN, 'no reply even to a %d-byte DF ping: the target or a firewall drops ICMP echo, '
                             'so the path MTU cannot be probed this way' % lower)
    good = lower
    while failed - good > 1 and state['probes'] < max_probes:
        size = (good + failed) // 2
        outcome, mtu = send(size)
        if outcome == 'reply':
            good = size
        elif outcome in ('frag_needed', 'local_too_big') and mtu and lower <= mtu < size:
            icmp_seen.append(mtu)
            failed = mtu + 1
        else:
            failed = size
    if good == failed - 1 == first_lost - 1:
        # only the first lost size failed: a random loss, not a black hole, if it passes now
        if send(first_lost)[0] == 'reply':
            return done(OK, None, first_lost)
    status, reason = OK, None
    if failed - good > 1:
        status = PARTIAL
        reason = 'probe budget (%d pings) spent: path MTU is between %d and %d' % (max_probes, good, failed - 1)
    return done(status, reason, good, True)


def _interfaces_from_sys(system):
    """Fallback without iproute2: /sys/class/net/*/{mtu,operstate}; addresses unknown."""
    interfaces = []
    for name in system.listdir('/sys/class/net'):
        base = '/sys/class/net/%s/' % name
        mtu = system.read_or_none(base + 'mtu')
        state = system.read_or_none(base + 'operstate')
        kind = 'device' if system.exists(base + 'device') else None
        if name == 'lo':
            kind = 'loopback'
        interfaces.append({'name': name, 'mtu': int(mtu) if mtu and mtu.strip().isdigit() else None,
                           'state': state.strip() if state else None, 'kind': kind, 'addresses': None})
    return interfaces


def _int_or_none(text):
    try:
        return int(text.strip())
    except (AttributeError, ValueError):
        return None


def _ping_argv(target, family, size, timeout):
    payload = size - (IPV6_OVERHEAD if family == 6 else IPV4_OVERHEAD)
    argv = ['ping']
    if family == 6:
        argv.append('-6')
    return argv + ['-n', '-M', 'do', '-c', '1', '-W', ('%g' % timeout), '-s', str(payload), target]


def _family(target):
    try:
        return ipaddress.ip_address(target.split('%')[0]).version
    except ValueError:
        return None


def target_fact(system, target, interfaces, params):
    """Route, source and MTU toward one target, plus the probe when asked for."""
    fact = {'target': target, 'dev': None, 'src': None, 'gateway': None, 'mtu': None, 'mtu_source': None,
            'probe': None, 'status': OK, 'reason': None}
    family = _family(target)
    if family is None:
        fact.update(status=UNKNOWN, reason='%s is not an IP address: give targets as addresses' % target)
        return fact
    res = system.run(['ip', '-j', 'route', 'get', target], timeout=5)
    route = parse_route_get(res.out) if res.ok else None
    if route is None:
        fact.update(status=UNKNOWN, reason='no route toward %s: %s' % (target, res.describe() if not res.ok else 'empty answer'))
        return fact
    dev_mtu = None
    for iface in interfaces or []:
        if iface['name'] == route['dev']:
            dev_mtu = iface['mtu']
    fact.update(dev=route['dev'], src=route['src'], gateway=route['gateway'])
    if route['route_mtu'] is not None:
        fact['mtu'] = route['route_mtu']
        fact['mtu_source'] = 'pmtu_cache' if route['pmtu_cached'] else 'route'
    else:
        fact['mtu'] = dev_mtu
        fact['mtu_source'] = 'device' if dev_mtu is not None else None
    if params.get('probe'):
        fact['probe'] = run_probe(system, target, family, fact['mtu'], dev_mtu, params)
    return fact


def run_probe(system, target, family, upper, dev_mtu, params):
    if not system.which('ping'):
        return {'path_mtu': None, 'blackhole': None, 'probes': 0, 'status': UNKNOWN,
                'reason': 'ping not found: install iputils-ping to probe the path MTU', 'icmp_mtu': None,
                'local_limit': None}
    timeout = params.get('probe_timeout') or 1.0
    errors = []

    def ping(size):
        res = system.run(_ping_argv(target, family, size, timeout), timeout=timeout + 3)
        outcome = classify_ping(res.rc, res.out, res.err)
        if outcome[0] == 'error':
            errors.append(res.describe())
        return outcome

    started = time.monotonic()
    probe = probe_path_mtu(ping, upper, family, params.get('max_probes') or 12, dev_mtu)
    probe['elapsed_s'] = round(time.monotonic() - started, 3)
    if errors and probe['status'] != OK:
        probe['reason'] = '%s: %s' % (probe['reason'], errors[-1])
    return probe


def validate(params):
    """Problems with the options, as a message for fail_json, or None."""
    for target in params.get('targets') or []:
        if _family(target) is None:
            return 'targets: %r is not an IPv4/IPv6 address; give the addresses to check the route toward' % target
    if params.get('probe_timeout') is not None and not 0 < params['probe_timeout'] <= 10:
        return 'probe_timeout must be between 0 and 10 seconds (got %s)' % params['probe_timeout']
    if params.get('max_probes') is not None and not 2 <= params['max_probes'] <= 30:
        return 'max_probes must be between 2 and 30 (got %s)' % params['max_probes']
    return None


def collect(system, params):
    problem = validate(params)
    if problem:
        raise OptionError(problem)
    parts = {}
    interfaces = None
    if system.which('ip'):
        link = system.run(['ip', '-j', '-d', 'link', 'show'], timeout=10)
        addr = system.run(['ip', '-j', 'addr', 'show'], timeout=10)
        links = parse_links(link.out) if link.ok else None
        addrs = parse_addresses(addr.out) if addr.ok else None
        if links is not None or addrs is not None:
            interfaces = merge_interfaces(links, addrs)
            parts['interfaces'] = (OK, None)
            if addrs is None:
                parts['interfaces'] = (PARTIAL, 'addresses unknown: %s' % addr.describe())
        else:
            parts['interfaces'] = (UNKNOWN, 'ip -j link/addr gave no JSON: %s' % link.describe())
    if interfaces is None:
        try:
            interfaces = _interfaces_from_sys(system)
            parts['interfaces'] = (PARTIAL, 'iproute2 (ip) not usable: MTUs from /sys/class/net, addresses unknown; '
                                            'install iproute2')
        except OSError as exc:
            parts['interfaces'] = (UNKNOWN, 'cannot list /sys/class/net: %s' % exc)

    routes = None
    if system.which('ip'):
        res = system.run(['ip', 'route', 'show', 'table', 'all'], timeout=10)
        res6 = system.run(['ip', '-6', 'route', 'show', 'table', 'all'], timeout=10)
        if res.ok:
            routes = parse_routes(res.out)
            seen = set((r['dst'], r['dev'], r['table']) for r in routes)
            routes += [r for r in parse_routes(res6.out if res6.ok else '') if (r['dst'], r['dev'], r['table']) not in seen]
            parts['routes'] = (OK, None)
        else:
            parts['routes'] = (UNKNOWN, res.describe())
    else:
        parts['routes'] = (UNKNOWN, 'ip not found: install iproute2 to read route MTUs')

    targets = params.get('targets')
    if targets is None:
        controller = controller_address(system)
        targets = [controller] if controller else []
        if not controller:
            parts['targets'] = (UNKNOWN, 'no target: SSH_CONNECTION is not set (not run over ssh); '
                                         'pass targets to check the route toward the controller')
    target_facts = []
    if targets and not system.which('ip'):
        parts['targets'] = (UNKNOWN, 'ip not found: install iproute2 to read the route toward targets')
    elif targets:
        for target in targets:
            target_facts.append(target_fact(system, target, interfaces, params))
        bad = [t for t in target_facts if t['status'] != OK or (t['probe'] and t['probe']['status'] != OK)]
        if bad:
            parts['targets'] = (PARTIAL, '; '.join('%s: %s' % (t['target'], t['reason'] or t['probe']['reason'])
                                                   for t in bad))
    mtu_probing = _int_or_none(system.read_or_none('/proc/sys/net/ipv4/tcp_mtu_probing'))
    base_mss = _int_or_none(system.read_or_none('/proc/sys/net/ipv4/tcp_base_mss'))
    if mtu_probing is None:
        parts['sysctls'] = (UNKNOWN, 'cannot read /proc/sys/net/ipv4/tcp_mtu_probing')
    status, reason = summarize(parts)
    return result(status, reason, interfaces=interfaces, routes=routes, targets=target_facts,
                  tcp_mtu_probing=mtu_probing, tcp_base_mss=base_mss)
