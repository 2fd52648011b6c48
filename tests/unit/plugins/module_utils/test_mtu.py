# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _mtu: parsers fed real iproute2 6.1 / iputils 20221126 output (Debian 12, kernel 6.x)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _mtu
from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult, OptionError

# `ip -j -d link show` (iproute2 6.1) in a namespace with a veth pair, one end in a bridge.
IP_LINK = (
    '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT",'
    '"group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00",'
    '"promiscuity":0,"allmulti":0,"min_mtu":0,"max_mtu":0,"inet6_addr_gen_mode":"eui64","num_tx_queues":1,"num_rx_queues":1,'
    '"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":524280,"tso_max_segs":65535,"gro_max_size":65536},'
    '{"ifindex":2,"link":"v0","ifname":"v1","flags":["BROADCAST","MULTICAST"],"mtu":1500,"qdisc":"noop","master":"br0",'
    '"operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"ea:be:49:07:77:55",'
    '"broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":1,"allmulti":1,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"veth",'
    '"info_slave_kind":"bridge","info_slave_data":{"state":"disabled","priority":32,"cost":2}},"inet6_addr_gen_mode":"eui64",'
    '"num_tx_queues":2,"num_rx_queues":2},'
    '{"ifindex":3,"link":"v1","ifname":"v0","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP","M-DOWN"],"mtu":1450,'
    '"qdisc":"noqueue","operstate":"LOWERLAYERDOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether",'
    '"address":"62:b5:85:8b:52:9a","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,'
    '"linkinfo":{"info_kind":"veth"},"inet6_addr_gen_mode":"eui64","num_tx_queues":2,"num_rx_queues":2},'
    '{"ifindex":4,"ifname":"br0","flags":["BROADCAST","MULTICAST"],"mtu":1500,"qdisc":"noop","operstate":"DOWN",'
    '"linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"ea:be:49:07:77:55",'
    '"broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"bridge",'
    '"info_data":{"forward_delay":1500,"hello_time":200,"max_age":2000,"stp_state":0,"priority":32768,"vlan_filtering":0}}},'
    '{"ifindex":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"pfifo_fast",'
    '"operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"02:fc:00:00:00:01",'
    '"broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535}]')

# `ip -j addr show` (iproute2 6.1), same namespace.
IP_ADDR = (
    '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"qdisc":"noop","operstate":"DOWN","group":"default",'
    '"txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","addr_info":[]},'
    '{"ifindex":3,"link":"v1","ifname":"v0","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP","M-DOWN"],"mtu":1450,'
    '"qdisc":"noqueue","operstate":"LOWERLAYERDOWN","group":"default","txqlen":1000,"link_type":"ether",'
    '"address":"62:b5:85:8b:52:9a","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[{"family":"inet","local":"10.9.0.1",'
    '"prefixlen":24,"scope":"global","label":"v0","valid_life_time":4294967295,"preferred_life_time":4294967295},'
    '{"family":"inet6","local":"fd00:9::1","prefixlen":64,"scope":"global","nodad":true,"valid_life_time":4294967295,'
    '"preferred_life_time":4294967295}]},'
    '{"ifindex":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"pfifo_fast",'
    '"operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"02:fc:00:00:00:01",'
    '"broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":24,'
    '"broadcast":"192.0.2.255","scope":"global","label":"eth0","valid_life_time":4294967295,'
    '"preferred_life_time":4294967295}]}]')

# `ip route show table all` (iproute2 6.1): routes added with `mtu lock 1300`, `mtu 1400`, a default route with
# `mtu 1450` and an IPv6 route with `mtu 1280`.
IP_ROUTE = '\n'.join([
    '10.9.0.0/24 dev v0 proto kernel scope link src 10.9.0.1 ',
    '10.10.0.0/16 dev v0 scope link mtu lock 1300 ',
    '10.11.0.0/16 dev v0 scope link mtu 1400 ',
    'default via 192.0.2.1 dev eth0 mtu 1450 ',
    'local 10.9.0.1 dev v0 table local proto kernel scope host src 10.9.0.1 ',
    'broadcast 10.9.0.255 dev v0 table local proto kernel scope link src 10.9.0.1 ',
    'fd99::/64 dev v0 metric 1024 mtu 1280 pref medium',
    'fe80::/64 dev v0 proto kernel metric 256 pref medium',
    'multicast ff00::/8 dev v0 table local proto kernel metric 256 pref medium',
]) + '\n'

# `ip -j route get` (iproute2 6.1): plain, a route with an mtu metric, a PMTU learned from ICMP.
ROUTE_GET_PLAIN = '[{"dst":"8.8.8.8","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":[]}]'
ROUTE_GET_METRIC = ('[{"dst":"10.10.1.1","dev":"v0","prefsrc":"10.9.0.1","flags":[],"uid":0,"cache":[],'
                    '"metrics":[{"mtu":1300}]}]')
ROUTE_GET_PMTU = ('[{"dst":"10.77.2.2","gateway":"10.77.1.1","dev":"crdxa0","prefsrc":"10.77.1.2","flags":[],"uid":0,'
                  '"cache":[],"expires":597,"metrics":[{"mtu":1400}]}]')

# iputils 20221126 `ping -M do -c 1 -W 1 -s SIZE` outputs (stdout, stderr, rc), measured through a router namespace.
PING_REPLY = ('PING 10.77.2.2 (10.77.2.2) 1372(1400) bytes of data.\n1380 bytes from 10.77.2.2: icmp_seq=1 ttl=63 time=0.043 ms\n\n'
              '--- 10.77.2.2 ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\n'
              'rtt min/avg/max/mdev = 0.043/0.043/0.043/0.000 ms\n', '', 0)
PING_FRAG = ('PING 10.77.2.2 (10.77.2.2) 1472(1500) bytes of data.\nFrom 10.77.1.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n\n'
             '--- 10.77.2.2 ping statistics ---\n1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n\n', '', 1)
PING_LOCAL = ('PING 10.77.2.2 (10.77.2.2) 1600(1628) bytes of data.\n\n--- 10.77.2.2 ping statistics ---\n'
              '1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n\n',
              'ping: local error: message too long, mtu=1500\n', 1)
PING_LOST = ('PING 10.77.2.2 (10.77.2.2) 1373(1401) bytes of data.\n\n--- 10.77.2.2 ping statistics ---\n'
             '1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n', '', 1)
PING_V6_TOO_BIG = ('PING fd00:2::2(fd00:2::2) 1452 data bytes\nFrom fd00:1::1 icmp_seq=1 Packet too big: mtu=1400\n\n'
                   '--- fd00:2::2 ping statistics ---\n1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n', '', 1)
PING_V6_LOCAL = ('PING fd00:2::2(fd00:2::2) 1452 data bytes\n\n--- fd00:2::2 ping statistics ---\n'
                 '1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n\n',
                 'ping: local error: message too long, mtu: 1400', 1)
PING_UNKNOWN_HOST = ('', 'ping: 10.77.2.999: Name or service not known\n', 2)


class FakeSystem:
    """Answers commands from a table {tuple(argv): (rc, out, err)} and files from a dict."""

    def __init__(self, commands=None, files=None, env=None, binaries=('ip', 'ping'), ping=None):
        self.commands = commands or {}
        self.files = files or {}
        self.env = env or {}
        self.binaries = binaries
        self.ping = ping
        self.calls = []

    def which(self, name):
        return '/usr/bin/' + name if name in self.binaries else None

    def getenv(self, name, default=None):
        return self.env.get(name, default)

    def run(self, argv, timeout=15, data=None):
        self.calls.append(list(argv))
        if argv[0] == 'ping' and self.ping:
            size = int(argv[argv.index('-s') + 1]) + (48 if '-6' in argv else 28)
            out, err, rc = self.ping(size)
            return CommandResult(argv, rc, out, err)
        key = tuple(argv)
        if key not in self.commands:
            return CommandResult(argv, 1, '', 'Error: not in fake table\n')
        rc, out, err = self.commands[key]
        return CommandResult(argv, rc, out, err)

    def read_or_none(self, path):
        return self.files.get(path)

    def exists(self, path):
        return path in self.files

    def listdir(self, path):
        prefix = path.rstrip('/') + '/'
        names = sorted(set(p[len(prefix):].split('/')[0] for p in self.files if p.startswith(prefix)))
        if not names:
            raise OSError(2, 'No such file or directory')
        return names


def test_parse_links_kinds():
    links = _mtu.parse_links(IP_LINK)
    assert links['lo'] == {'name': 'lo', 'mtu': 65536, 'state': 'down', 'kind': 'loopback'}
    assert links['v0']['kind'] == 'veth' and links['v0']['mtu'] == 1450 and links['v0']['state'] == 'lowerlayerdown'
    assert links['v1']['kind'] == 'veth'       # a bridge port keeps its own kind
    assert links['br0']['kind'] == 'bridge'
    assert links['eth0']['kind'] == 'device' and links['eth0']['mtu'] == 1400


@pytest.mark.parametrize('text', ['', 'Error: Unknown device type.', '{"not": "a list"}'])
def test_parse_links_not_json(text):
    assert _mtu.parse_links(text) is None
    assert _mtu.parse_addresses(text) is None


def test_parse_addresses_networks():
    addrs = _mtu.parse_addresses(IP_ADDR)
    assert addrs['lo']['addresses'] == []
    assert addrs['v0']['addresses'] == [
        {'address': '10.9.0.1', 'prefixlen': 24, 'family': 'inet', 'network': '10.9.0.0/24'},
        {'address': 'fd00:9::1', 'prefixlen': 64, 'family': 'inet6', 'network': 'fd00:9::/64'}]
    assert addrs['eth0']['addresses'][0]['network'] == '192.0.2.0/24'


@pytest.mark.parametrize('address, prefixlen, network', [
    ('10.9.0.1', 24, '10.9.0.0/24'),
    ('fe80::2004:41ff:fe05:7934%v0', 64, 'fe80::/64'),
    ('::1', 128, '::1/128'),
    ('not-an-address', 24, None),
])
def test_network_of(address, prefixlen, network):
    assert _mtu.network_of(address, prefixlen) == network


def test_merge_interfaces_without_addresses():
    merged = _mtu.merge_interfaces(_mtu.parse_links(IP_LINK), None)
    assert [i['name'] for i in merged] == ['br0', 'eth0', 'lo', 'v0', 'v1']
    assert all(i['addresses'] is None for i in merged)


def test_parse_routes_mtu_and_lock():
    routes = _mtu.parse_routes(IP_ROUTE)
    assert routes == [
        {'dst': '10.10.0.0/16', 'dev': 'v0', 'mtu': 1300, 'mtu_locked': True, 'table': 'main'},
        {'dst': '10.11.0.0/16', 'dev': 'v0', 'mtu': 1400, 'mtu_locked': False, 'table': 'main'},
        {'dst': 'default', 'dev': 'eth0', 'mtu': 1450, 'mtu_locked': False, 'table': 'main'},
        {'dst': 'fd99::/64', 'dev': 'v0', 'mtu': 1280, 'mtu_locked': False, 'table': 'main'},
    ]


@pytest.mark.parametrize('text, expected', [
    (ROUTE_GET_PLAIN, {'dev': 'eth0', 'src': '192.0.2.2', 'gateway': '192.0.2.1', 'route_mtu': None, 'pmtu_cached': False}),
    (ROUTE_GET_METRIC, {'dev': 'v0', 'src': '10.9.0.1', 'gateway': None, 'route_mtu': 1300, 'pmtu_cached': False}),
    (ROUTE_GET_PMTU, {'dev': 'crdxa0', 'src': '10.77.1.2', 'gateway': '10.77.1.1', 'route_mtu': 1400, 'pmtu_cached': True}),
    ('[]', None),
    ('RTNETLINK answers: Network is unreachable', None),
])
def test_parse_route_get(text, expected):
    assert _mtu.parse_route_get(text) == expected


@pytest.mark.parametrize('sample, expected', [
    (PING_REPLY, ('reply', None)),
    (PING_FRAG, ('frag_needed', 1400)),
    (PING_LOCAL, ('local_too_big', 1500)),
    (PING_LOST, ('lost', None)),
    (PING_V6_TOO_BIG, ('frag_needed', 1400)),
    (PING_V6_LOCAL, ('local_too_big', 1400)),
    (PING_UNKNOWN_HOST, ('error', None)),
])
def test_classify_ping(sample, expected):
    out, err, rc = sample
    assert _mtu.classify_ping(rc, out, err) == expected


def path(path_mtu, icmp=True, answers_small=True):
    """A simulated path: packets <= path_mtu answered; larger ones get ICMP frag-needed or vanish."""
    def ping(size):
        if size <= path_mtu:
            return ('reply', None) if answers_small else ('lost', None)
        return ('frag_needed', path_mtu) if icmp else ('lost', None)
    return ping


@pytest.mark.parametrize('path_mtu', [1400, 1280, 1500, 576, 1001])
def test_probe_black_hole_found_within_budget(path_mtu):
    probe = _mtu.probe_path_mtu(path(path_mtu, icmp=False), 1500, 4, max_probes=12)
    if path_mtu == 1500:
        assert probe['path_mtu'] == 1500 and not probe['blackhole'] and probe['probes'] == 1
    else:
        assert probe['path_mtu'] == path_mtu and probe['blackhole'] is True
        assert probe['status'] == 'ok' and probe['probes'] <= 12


def test_probe_icmp_frag_needed_is_not_a_black_hole():
    probe = _mtu.probe_path_mtu(path(1400), 1500, 4)
    assert probe == {'path_mtu': 1400, 'blackhole': False, 'probes': 2, 'status': 'ok', 'reason': None,
                     'icmp_mtu': 1400, 'local_limit': None}


def test_probe_local_limit_is_not_remote():
    """A size above the local interface MTU is refused by the local stack: recorded as local_limit."""
    calls = []

    def ping(size):
        calls.append(size)
        return ('local_too_big', 1400) if size > 1400 else ('reply', None)
    probe = _mtu.probe_path_mtu(ping, 1500, 4, dev_mtu=1400)
    assert probe['path_mtu'] == 1400 and probe['local_limit'] == 1400 and probe['icmp_mtu'] is None
    assert not probe['blackhole'] and calls == [1500, 1400]


def test_probe_loopback_ipv4_is_capped_at_65535():
    sizes = []

    def ping(size):
        sizes.append(size)
        return ('reply', None) if size <= 65535 else ('local_too_big', 65535)
    probe = _mtu.probe_path_mtu(ping, 65536, 4, dev_mtu=65536)
    assert sizes == [65535] and probe['path_mtu'] == 65535 and probe['icmp_mtu'] is None


def test_probe_target_ignores_echo():
    probe = _mtu.probe_path_mtu(path(1400, icmp=False, answers_small=False), 1500, 4)
    assert probe['status'] == 'unknown' and probe['path_mtu'] is None and 'drops ICMP echo' in probe['reason']


def test_probe_single_random_loss_is_not_a_black_hole():
    answers = iter([('lost', None)])

    def ping(size):
        return next(answers, ('reply', None))
    probe = _mtu.probe_path_mtu(ping, 1500, 4)
    assert probe['path_mtu'] == 1500 and probe['blackhole'] is False


def test_probe_budget_reports_range():
    probe = _mtu.probe_path_mtu(path(1001, icmp=False), 1500, 4, max_probes=4)
    assert probe['status'] == 'partial' and 'between' in probe['reason'] and probe['blackhole'] is True


def test_probe_ipv6_floor():
    probe = _mtu.probe_path_mtu(path(1400, icmp=False), 1500, 6)
    assert probe['path_mtu'] == 1400 and probe['blackhole']
    assert _mtu.probe_path_mtu(path(1400), 1000, 6)['status'] == 'unknown'


def base_commands(route_get=ROUTE_GET_PLAIN, target='8.8.8.8'):
    return {
        ('ip', '-j', '-d', 'link', 'show'): (0, IP_LINK, ''),
        ('ip', '-j', 'addr', 'show'): (0, IP_ADDR, ''),
        ('ip', 'route', 'show', 'table', 'all'): (0, IP_ROUTE, ''),
        ('ip', '-6', 'route', 'show', 'table', 'all'): (0, 'fd99::/64 dev v0 metric 1024 mtu 1280 pref medium\n', ''),
        ('ip', '-j', 'route', 'get', target): (0, route_get, ''),
    }


FILES = {'/proc/sys/net/ipv4/tcp_mtu_probing': '0\n', '/proc/sys/net/ipv4/tcp_base_mss': '1024\n'}


def test_collect_default_target_from_ssh_connection():
    system = FakeSystem(base_commands(), FILES, env={'SSH_CONNECTION': '8.8.8.8 50000 192.0.2.2 22'})
    fact = _mtu.collect(system, {'targets': None, 'probe': False, 'probe_timeout': 1.0, 'max_probes': 12})
    assert fact['status'] == 'ok' and fact['reason'] is None
    assert fact['tcp_mtu_probing'] == 0 and fact['tcp_base_mss'] == 1024
    assert len(fact['routes']) == 4     # the IPv6 route is not listed twice
    assert fact['targets'] == [{'target': '8.8.8.8', 'dev': 'eth0', 'src': '192.0.2.2', 'gateway': '192.0.2.1', 'mtu': 1400,
                                'mtu_source': 'device', 'probe': None, 'status': 'ok', 'reason': None}]
    assert not any(call[0] == 'ping' for call in system.calls)


def test_collect_no_target_is_partial():
    fact = _mtu.collect(FakeSystem(base_commands(), FILES), {'targets': None, 'probe': False})
    assert fact['status'] == 'partial' and 'SSH_CONNECTION' in fact['reason'] and fact['targets'] == []


def test_collect_probe_blackhole():
    system = FakeSystem(base_commands(ROUTE_GET_METRIC, '10.10.1.1'), FILES,
                        ping=lambda size: PING_REPLY if size <= 1200 else PING_LOST)
    fact = _mtu.collect(system, {'targets': ['10.10.1.1'], 'probe': True, 'probe_timeout': 0.5, 'max_probes': 12})
    target = fact['targets'][0]
    assert target['mtu'] == 1300 and target['mtu_source'] == 'route'
    assert target['probe']['path_mtu'] == 1200 and target['probe']['blackhole'] is True
    pings = [c for c in system.calls if c[0] == 'ping']
    assert pings[0][:8] == ['ping', '-n', '-M', 'do', '-c', '1', '-W', '0.5'] and pings[0][-3:] == ['-s', '1272', '10.10.1.1']


def test_collect_without_ip_falls_back_to_sys():
    files = dict(FILES)
    files.update({'/sys/class/net/eth0/mtu': '9001\n', '/sys/class/net/eth0/operstate': 'up\n',
                  '/sys/class/net/eth0/device': '', '/sys/class/net/lo/mtu': '65536\n', '/sys/class/net/lo/operstate': 'unknown\n'})
    fact = _mtu.collect(FakeSystem({}, files, binaries=()), {'targets': ['192.0.2.1'], 'probe': False})
    assert fact['status'] == 'partial'
    assert fact['interfaces'][0] == {'name': 'eth0', 'mtu': 9001, 'state': 'up', 'kind': 'device', 'addresses': None}
    assert fact['routes'] is None and 'install iproute2' in fact['reason']


def test_collect_probe_without_ping():
    system = FakeSystem(base_commands(), FILES, binaries=('ip',))
    fact = _mtu.collect(system, {'targets': ['8.8.8.8'], 'probe': True, 'probe_timeout': 1.0, 'max_probes': 12})
    assert fact['status'] == 'partial'
    assert fact['targets'][0]['probe']['status'] == 'unknown' and 'iputils-ping' in fact['targets'][0]['probe']['reason']


@pytest.mark.parametrize('params, message', [
    ({'targets': ['ssh.example.com']}, 'not an IPv4/IPv6 address'),
    ({'targets': ['10.0.0.1'], 'probe_timeout': 0}, 'probe_timeout'),
    ({'targets': [], 'max_probes': 100}, 'max_probes'),
])
def test_bad_options(params, message):
    with pytest.raises(OptionError, match=message):
        _mtu.collect(FakeSystem(), params)


# Hostile or broken iproute2 output (found by test_fuzz_parsers.py): never a traceback, never a
# value of the wrong type in the fact.  iproute2 prints a list of objects with int MTUs; anything
# else is skipped (an entry) or None (a value).
@pytest.mark.parametrize('text, expected', [
    ('[null]', {}),
    ('[1, "x", [], {"ifname": ["x"]}, {"ifname": ""}]', {}),
    ('[{"ifname": "e0", "mtu": "1500", "operstate": 5, "linkinfo": "veth"}]',
     {'e0': {'name': 'e0', 'mtu': None, 'state': None, 'kind': 'device'}}),
    ('[{"ifname": "e1", "mtu": 1e999, "operstate": "UP", "linkinfo": {"info_kind": ["veth"]}}]',
     {'e1': {'name': 'e1', 'mtu': None, 'state': 'up', 'kind': 'device'}}),
    ('[{"ifname": "e2", "mtu": true, "link_type": "loopback"}]',
     {'e2': {'name': 'e2', 'mtu': None, 'state': None, 'kind': 'loopback'}}),
    ('[{"ifname": "e3", "mtu": 9000, "linkinfo": {"info_kind": "vlan"}}]',
     {'e3': {'name': 'e3', 'mtu': 9000, 'state': None, 'kind': 'vlan'}}),
    ('[' * 5000 + ']' * 5000, None),
])
def test_parse_links_wrong_shapes(text, expected):
    assert _mtu.parse_links(text) == expected


@pytest.mark.parametrize('addr_info, expected', [
    ('"x"', []),
    ('[null, 5, {"local": 5, "family": "inet"}, {"local": ["10.0.0.1"], "family": "inet6"}]', []),
    ('[{"local": "10.0.0.1", "family": "inet", "prefixlen": "x"}]',
     [{'address': '10.0.0.1', 'prefixlen': None, 'family': 'inet', 'network': None}]),
    ('[{"local": "10.0.0.1", "family": "inet", "prefixlen": 300}]',
     [{'address': '10.0.0.1', 'prefixlen': None, 'family': 'inet', 'network': None}]),
    ('[{"local": "10.0.0.1", "family": "inet", "prefixlen": 24}]',
     [{'address': '10.0.0.1', 'prefixlen': 24, 'family': 'inet', 'network': '10.0.0.0/24'}]),
])
def test_parse_addresses_wrong_shapes(addr_info, expected):
    addrs = _mtu.parse_addresses('[null, {"ifname": "e0", "mtu": "x", "addr_info": %s}]' % addr_info)
    assert addrs == {'e0': {'mtu': None, 'state': None, 'addresses': expected}}


@pytest.mark.parametrize('text, expected', [
    ('[null]', None),
    ('[{"dev": 1, "prefsrc": [], "metrics": {"mtu": 1400}}]',
     {'dev': None, 'src': None, 'gateway': None, 'route_mtu': None, 'pmtu_cached': False}),
    ('[{"dev": "eth0", "metrics": [null, {"mtu": 1e999}], "expires": 5}]',
     {'dev': 'eth0', 'src': None, 'gateway': None, 'route_mtu': None, 'pmtu_cached': False}),
])
def test_parse_route_get_wrong_shapes(text, expected):
    assert _mtu.parse_route_get(text) == expected


@pytest.mark.parametrize('line', [
    '10.0.0.0/8 dev eth0 mtu ' + '9' * 5000,       # int() of more than 4,300 digits raises ValueError
    '10.0.0.0/8 dev eth0 mtu 99999999999',          # no u32
    '10.0.0.0/8 dev eth0 mtu \u0661\u0664\u0660\u0660',  # Arabic-Indic digits: \d matched them
])
def test_parse_routes_skips_numbers_iproute2_never_prints(line):
    assert _mtu.parse_routes(line + '\n10.2.0.0/16 dev eth2 mtu lock 1300') == [
        {'dst': '10.2.0.0/16', 'dev': 'eth2', 'mtu': 1300, 'mtu_locked': True, 'table': 'main'}]


@pytest.mark.parametrize('rc, out, err, expected', [
    (1, 'From 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = %s)\n' % ('9' * 5000), '', ('error', None)),
    (1, '', 'ping: local error: message too long, mtu=' + '1' * 11, ('local_too_big', None)),
    (1, '', 'ping: local error: message too long, mtu=1400', ('local_too_big', 1400)),
])
def test_classify_ping_huge_numbers(rc, out, err, expected):
    assert _mtu.classify_ping(rc, out, err) == expected
