# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_capture: the packet parser, the BPF program (run here by a small classic-BPF interpreter), the
counter deltas and the capture loop over a replayed socket.

Samples: real packets captured on 2026-12-03 on Linux 6.18 (kernel 6.18.44), loopback of a private
network namespace (``unshare -n``), with an unfiltered ``AF_PACKET`` ``SOCK_DGRAM`` socket, keeping the
IP header and the first 20 bytes of TCP only (what the module's filter keeps).  The traffic: a client
connecting to a listener on port 2222 (2222 = 0x08ae), sending 10 bytes, the server closing with
SO_LINGER 0 (an active reset, RST|ACK), then a connect to port 2223 (0x08af) where nothing listens
(the kernel's RST|ACK with seq 0); once over 127.0.0.1, once over ::1.  Each packet was seen twice
on lo: pkttype 4 (PACKET_OUTGOING) and 0 (PACKET_HOST).  Samples marked "constructed" were edited
from a real one (named) to reach a branch the kernel does not produce on loopback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import struct

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _capture
from ansible_collections.connreset.doctor.plugins.module_utils._common import OptionError

# -- real samples (see the docstring) ------------------------------------------------------------
V4_LINGER_RST = '45000034432b40004006f9967f0000017f00000108aed17cf777c3ef6247856880140040fe280000'
V4_CLOSED_PORT_RST = '450000280000400040063cce7f0000017f00000108afe9de00000000f31e9a5c5014000031c50000'
V4_SYN = '4500003cb01b400040068c9e7f0000017f000001d17c08ae6247855d00000000a002ffd7fe300000'
V4_DATA = '4500003eb01d400040068c9a7f0000017f000001d17c08ae6247855ef777c3ef80180040fe320000'
V6_LINGER_RST = ('6003e4f800200640000000000000000000000000000000010000000000000000000000000000000108aeceb8'
                 '892e671a886257ff8014004000280000')
V6_CLOSED_PORT_RST = ('600c2e7100140640000000000000000000000000000000010000000000000000000000000000000108afc39e'
                      '00000000cf8e33cb50140000001c0000')
V6_SYNACK = ('6003e4f800280640000000000000000000000000000000010000000000000000000000000000000108aeceb8'
             '892e6719886257f5a012ffb800300000')
# constructed: V4_CLOSED_PORT_RST with a 4-byte IPv4 option (IHL 6, NOP NOP NOP EOL), TTL 57, 12 bytes
# of payload counted in the total length (as an injected reset carrying data would be)
V4_OPTIONS_RST_PAYLOAD = '460000380000400039063cce0a0000fec00002010101010008afe9de00000000f31e9a5c5014000031c50000'
# constructed: V6_CLOSED_PORT_RST with next header 0 (a hop-by-hop extension header before TCP)
V6_EXTENSION = ('600c2e7100140040000000000000000000000000000000010000000000000000000000000000000108afc39e'
                '00000000cf8e33cb50140000001c0000')
# constructed: V4_LINGER_RST as a later fragment (offset 0x00b9) and as UDP (protocol 17)
V4_FRAGMENT = '450000344321400b9006f9967f0000017f00000108aed17cf777c3ef6247856880140040fe280000'.replace(
    '4321400b9006', '432b00b94006')
V4_UDP = V4_LINGER_RST.replace('40004006', '40004011')


def raw(sample):
    return bytes.fromhex(sample)


@pytest.mark.parametrize('sample, expect', [
    (V4_LINGER_RST, {'family': 'ipv4', 'src': '127.0.0.1', 'dst': '127.0.0.1', 'ttl': 64, 'sport': 2222,
                     'dport': 53628, 'seq': 0xf777c3ef, 'ack': 0x62478568, 'window': 64, 'flags': ['RST', 'ACK'],
                     'payload_bytes': 0}),
    (V4_CLOSED_PORT_RST, {'family': 'ipv4', 'src': '127.0.0.1', 'dst': '127.0.0.1', 'ttl': 64, 'sport': 2223,
                          'dport': 59870, 'seq': 0, 'ack': 0xf31e9a5c, 'window': 0, 'flags': ['RST', 'ACK'],
                          'payload_bytes': 0}),
    (V6_LINGER_RST, {'family': 'ipv6', 'src': '::1', 'dst': '::1', 'ttl': 64, 'sport': 2222, 'dport': 52920,
                     'seq': 0x892e671a, 'ack': 0x886257ff, 'window': 64, 'flags': ['RST', 'ACK'],
                     'payload_bytes': 0}),
    (V6_CLOSED_PORT_RST, {'family': 'ipv6', 'src': '::1', 'dst': '::1', 'ttl': 64, 'sport': 2223, 'dport': 50078,
                          'seq': 0, 'ack': 0xcf8e33cb, 'window': 0, 'flags': ['RST', 'ACK'], 'payload_bytes': 0}),
    (V4_OPTIONS_RST_PAYLOAD, {'family': 'ipv4', 'src': '10.0.0.254', 'dst': '192.0.2.1', 'ttl': 57, 'sport': 2223,
                              'dport': 59870, 'seq': 0, 'ack': 0xf31e9a5c, 'window': 0, 'flags': ['RST', 'ACK'],
                              'payload_bytes': 12}),
])
def test_parse_packet_resets(sample, expect):
    record, error = _capture.parse_packet(raw(sample))
    assert error is None
    assert record == expect


@pytest.mark.parametrize('data, why', [
    (raw(V4_SYN), 'not a reset'),
    (raw(V4_DATA), 'not a reset'),
    (raw(V6_SYNACK), 'not a reset'),
    (raw(V6_EXTENSION), 'not TCP (or behind IPv6 extension headers)'),
    (raw(V4_FRAGMENT), 'IPv4 fragment'),
    (raw(V4_UDP), 'not TCP'),
    (raw(V4_LINGER_RST)[:30], 'truncated TCP header'),
    (raw(V4_LINGER_RST)[:19], 'truncated IPv4 header'),
    (raw(V6_LINGER_RST)[:39], 'truncated IPv6 header'),
    (raw(V6_LINGER_RST)[:50], 'truncated TCP header'),
    (b'\x44' + raw(V4_LINGER_RST)[1:], 'bad IPv4 header length'),              # IHL 4 (16 bytes)
    (raw(V4_LINGER_RST)[:32] + b'\x30' + raw(V4_LINGER_RST)[33:], 'bad TCP data offset'),  # doff 3
    (b'\x00\x01\x08\x00\x06\x04', 'not IPv4 or IPv6'),                          # an ARP header
    (b'', 'empty packet'),
    (None, 'empty packet'),
])
def test_parse_packet_rejects(data, why):
    assert _capture.parse_packet(data) == (None, why)


@pytest.mark.parametrize('byte, names', [
    (0x14, ['RST', 'ACK']), (0x04, ['RST']), (0x02, ['SYN']), (0, []),
    (0xff, ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR']),
])
def test_tcp_flags(byte, names):
    assert _capture.tcp_flags(byte) == names


@pytest.mark.parametrize('pkttype, direction', [(4, 'sent'), (0, 'received'), (1, None), (2, None), (3, None),
                                                (None, None)])
def test_direction_of(pkttype, direction):
    assert _capture.direction_of(pkttype) == direction


# -- the BPF program, run by a classic-BPF interpreter of the opcodes it uses -----------------------
def run_bpf(program, packet, protocol):
    """Return value of ``program`` on ``packet`` (network header first) whose skb->protocol is
    ``protocol``: what net/core/filter.c's classic-BPF semantics give (an out-of-range load drops)."""
    a = x = 0
    pc = 0
    for _step in range(len(program) + 1):
        code, jt, jf, k = program[pc]
        pc += 1
        cls = code & 0x07
        if cls in (_capture.BPF_LD, _capture.BPF_LDX):
            size = {_capture.BPF_W: 4, _capture.BPF_H: 2, _capture.BPF_B: 1}[code & 0x18]
            mode = code & 0xe0
            if mode == _capture.BPF_MSH:
                if k >= len(packet):
                    return 0
                x = (packet[k] & 0x0f) * 4
                continue
            if k == _capture.SKF_AD_PROTOCOL_K:
                a = protocol
                continue
            offset = k + (x if mode == _capture.BPF_IND else 0)
            if offset + size > len(packet):
                return 0
            a = int.from_bytes(packet[offset:offset + size], 'big')
        elif cls == _capture.BPF_ALU:
            a = (a + k) & 0xffffffff
        elif cls == _capture.BPF_MISC:
            a = x
        elif cls == _capture.BPF_JMP:
            taken = (a == k) if code & 0xf0 == _capture.BPF_JEQ else bool(a & k)
            pc += jt if taken else jf
        elif cls == _capture.BPF_RET:
            return a if code & 0x18 == _capture.BPF_A else k
    raise AssertionError('program ran past its end')


PROGRAM = _capture.build_filter([22, 2222, 2223])


@pytest.mark.parametrize('sample, protocol, kept', [
    (V4_LINGER_RST, 0x0800, 40),             # 20-byte IP header + 20 of TCP (its 12 option bytes not kept)
    (V4_CLOSED_PORT_RST, 0x0800, 40),
    (V4_OPTIONS_RST_PAYLOAD, 0x0800, 44),    # the IP options are kept, the payload is not
    (V6_LINGER_RST, 0x86dd, 60),
    (V6_CLOSED_PORT_RST, 0x86dd, 60),
    (V4_SYN, 0x0800, 0),
    (V4_DATA, 0x0800, 0),
    (V6_SYNACK, 0x86dd, 0),
    (V6_EXTENSION, 0x86dd, 0),
    (V4_FRAGMENT, 0x0800, 0),
    (V4_UDP, 0x0800, 0),
    (V4_LINGER_RST, 0x0806, 0),              # the right bytes, but skb->protocol says ARP
    (V6_LINGER_RST, 0x0800, 0),
])
def test_filter_passes_only_watched_resets_headers_only(sample, protocol, kept):
    assert run_bpf(PROGRAM, raw(sample), protocol) == kept


@pytest.mark.parametrize('ports, kept', [([2222], 40), ([53628], 40), ([22], 0), ([443, 8443], 0)])
def test_filter_matches_source_or_destination_port(ports, kept):
    assert run_bpf(_capture.build_filter(ports), raw(V4_LINGER_RST), 0x0800) == kept


def test_filter_holds_32_ports_and_no_more():
    ports = list(range(1000, 1000 + _capture.MAX_PORTS - 1)) + [2222]
    program = _capture.build_filter(ports)
    assert run_bpf(program, raw(V6_LINGER_RST), 0x86dd) == 60
    assert len(_capture.pack_filter(program)) == 8 * len(program)
    with pytest.raises(ValueError):
        _capture.build_filter(list(range(1, _capture.MAX_PORTS + 2)))
    with pytest.raises(ValueError):
        _capture.build_filter([])


def test_sockaddr_ll_is_the_kernel_struct():
    address = _capture.sockaddr_ll(_capture.ETH_P_ALL)
    assert len(address) == 20
    family, protocol, ifindex = struct.unpack_from('=HHi', address)
    assert family == 17 and protocol == 0x0300 and ifindex == 0     # htons(ETH_P_ALL) on little endian


@pytest.mark.parametrize('data, expect', [(struct.pack('=II', 12, 3), (12, 3)), (b'\x01\x02', (None, None)),
                                          (None, (None, None))])
def test_parse_tpacket_stats(data, expect):
    assert _capture.parse_tpacket_stats(data) == expect


# -- counter deltas (the counters are _tcp's) --------------------------------------------------------
def test_counter_deltas_reset_counters_only():
    before = {'OutRsts': 28, 'EstabResets': 3, 'AttemptFails': 1, 'TCPAbortOnData': 2, 'TCPAbortOnTimeout': 0,
              'OutSegs': 100, 'CurrEstab': 2}
    after = dict(before, OutRsts=32, EstabResets=7, TCPAbortOnData=4, OutSegs=150, TCPAbortOnLinger=1)
    assert _capture.counter_deltas(before, after) == {
        'OutRsts': 4, 'EstabResets': 4, 'AttemptFails': 0, 'TCPAbortOnData': 2, 'TCPAbortOnTimeout': 0}
    assert _capture.counter_deltas(None, after) is None


# -- options --------------------------------------------------------------------------------------
@pytest.mark.parametrize('params, message', [
    ({'duration_s': 0}, 'duration_s=0 is out of range: give 1 to 120 seconds'),
    ({'duration_s': 121}, 'duration_s=121 is out of range'),
    ({'max_packets': 0}, 'max_packets=0 is out of range: give 1 to 5000'),
    ({'max_packets': 5001}, 'max_packets=5001 is out of range'),
    ({'ports': [0]}, 'ports: 0 is not a TCP port (1-65535); give [] for the ports sshd listens on'),
    ({'ports': [65536]}, 'not a TCP port'),
    ({'ports': list(range(1, 34))}, '33 ports given, at most 32'),
])
def test_validate(params, message):
    assert message in _capture.validate(params)
    with pytest.raises(OptionError, match='option'):
        _capture.collect(FakeSystem(), params, opener=lambda ports: pytest.fail('opened with bad options'))


@pytest.mark.parametrize('params', [{}, {'duration_s': 120, 'max_packets': 5000, 'ports': list(range(1, 33))}])
def test_validate_accepts(params):
    assert _capture.validate(params) is None


# -- the capture loop over a replayed socket ----------------------------------------------------------
class FakeSystem(object):
    def __init__(self, counters=None):
        self.reads = list(counters or [])

    def remaining(self):
        return None

    def read(self, path):
        if path == '/proc/net/snmp' and self.reads:
            return self.reads.pop(0)
        if path == '/proc/net/netstat':
            return 'TcpExt: TCPAbortOnData TCPAbortOnClose\nTcpExt: 2 0\n'
        raise IOError(errno.ENOENT, 'No such file or directory')


class ReplaySocket(object):
    """recvfrom_into() hands out (bytes, pkttype) pairs, then nothing; select() sees it as always ready."""

    def __init__(self, packets):
        self.packets = list(packets)
        self.closed = False

    def fileno(self):
        return -1

    def recvfrom_into(self, buffer, size, flags):
        assert flags & _capture.socket.MSG_TRUNC
        if not self.packets:
            raise BlockingIOError()
        data, pkttype = self.packets.pop(0)
        buffer[:len(data[:size])] = data[:size]
        return len(data), ('lo', 0x0800, pkttype, 772, b'')

    def getsockopt(self, level, name, size):
        assert (level, name) == (_capture.SOL_PACKET, _capture.PACKET_STATISTICS)
        return struct.pack('=II', 4, 0)

    def close(self):
        self.closed = True


@pytest.fixture
def ready(monkeypatch):
    monkeypatch.setattr(_capture.select, 'select', lambda r, w, x, t: (r, w, x))


def test_read_resets_stops_at_max_packets(ready):
    sock = ReplaySocket([(raw(V4_LINGER_RST), 4), (raw(V4_LINGER_RST), 0), (raw(V6_LINGER_RST), 4)])
    resets, skipped, stopped, largest = _capture.read_resets(sock, 5, 2)
    assert stopped == 'max_packets' and largest == 40 and [r['direction'] for r in resets] == ['sent', 'received']
    assert skipped == {} and len(sock.packets) == 1          # the third was never read


def test_read_resets_stops_at_the_window(ready):
    ticks = iter([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 2.5])
    sock = ReplaySocket([(raw(V4_LINGER_RST), 4), (raw(V4_SYN), 4), (raw(V4_CLOSED_PORT_RST), 3)] + [
        (raw(V4_LINGER_RST), 0)] * 5)
    resets, skipped, stopped, _largest = _capture.read_resets(sock, 2, 100, clock=lambda: next(ticks),
                                                              wall=lambda: 1.5)
    assert stopped == 'window' and len(resets) == 1
    assert skipped == {'not a reset': 1, 'not sent or received by this host': 1}
    assert resets[0]['offset_s'] == 0.2 and resets[0]['time'] == 1.5 and resets[0]['interface'] == 'lo'
    assert resets[0]['state'] is None and resets[0]['reason'] is None


SNMP_1 = 'Tcp: RtoAlgorithm OutRsts EstabResets AttemptFails\nTcp: 1 28 3 1\n'
SNMP_2 = 'Tcp: RtoAlgorithm OutRsts EstabResets AttemptFails\nTcp: 1 30 4 1\n'


def test_collect_reports_resets_and_deltas(ready):
    sock = ReplaySocket([(raw(V4_LINGER_RST), 4), (raw(V6_CLOSED_PORT_RST), 0)])
    fact = _capture.collect(FakeSystem([SNMP_1, SNMP_2]), {'ports': [2223, 2222], 'duration_s': 1, 'max_packets': 10},
                            opener=lambda ports: sock)
    assert fact['status'] == 'ok' and fact['reason'] is None and sock.closed
    assert fact['method'] == 'af_packet' and fact['ports'] == [2222, 2223] and fact['ports_source'] == 'option'
    assert fact['counts'] == {'sent': 1, 'received': 1} and fact['stopped'] == 'window'
    assert fact['counter_deltas'] == {'OutRsts': 2, 'EstabResets': 1, 'AttemptFails': 0, 'TCPAbortOnClose': 0,
                                      'TCPAbortOnData': 0}
    assert fact['kernel_drops'] == 0 and fact['skipped'] == {'count': 0, 'reasons': {}}
    assert fact['captured_bytes_max'] == 60
    # the window in wall-clock time, what a probe attempt's started_at/ended_at are compared with
    assert isinstance(fact['started_at'], float) and fact['started_at'] <= fact['ended_at']
    assert fact['ended_at'] - fact['started_at'] == pytest.approx(fact['window_s'], abs=0.5)


def test_collect_partial_when_cut_by_max_packets(ready):
    sock = ReplaySocket([(raw(V4_LINGER_RST), 4)] * 3)
    fact = _capture.collect(FakeSystem([SNMP_1, SNMP_2]), {'ports': [2222], 'duration_s': 1, 'max_packets': 2},
                            opener=lambda ports: sock)
    assert fact['status'] == 'partial' and 'stopped after max_packets=2 resets' in fact['reason']
    assert 'raise max_packets' in fact['reason'] and len(fact['resets']) == 2


class BrokenSocket(ReplaySocket):
    def recvfrom_into(self, buffer, size, flags):
        if self.packets:
            return super(BrokenSocket, self).recvfrom_into(buffer, size, flags)
        raise OSError(errno.ENETDOWN, 'Network is down')


def test_collect_keeps_what_it_read_when_the_socket_breaks(ready):
    sock = BrokenSocket([(raw(V4_LINGER_RST), 4)])
    fact = _capture.collect(FakeSystem([SNMP_1, SNMP_2]), {'ports': [2222], 'duration_s': 5}, opener=lambda ports: sock)
    assert fact['status'] == 'partial' and fact['stopped'] == 'error' and len(fact['resets']) == 1
    assert 'receive failed: Network is down' in fact['reason'] and sock.closed


@pytest.mark.parametrize('number, text', [
    (errno.EPERM, 'needs CAP_NET_RAW (root): run the module with become: true'),
    (errno.EAFNOSUPPORT, 'offers no AF_PACKET sockets'),
    (errno.ENOMEM, 'cannot open the AF_PACKET capture socket'),
])
def test_collect_unknown_without_a_socket(number, text):
    def opener(ports):
        raise OSError(number, 'refused')
    fact = _capture.collect(FakeSystem(), {'ports': [22]}, opener=opener)
    assert fact['status'] == 'unknown' and text in fact['reason']
    assert fact['method'] is None and fact['resets'] is None and fact['counter_deltas'] is None
    assert fact['started_at'] is None and fact['ended_at'] is None


def test_default_ports_without_sshd(monkeypatch):
    from ansible_collections.connreset.doctor.plugins.module_utils import _sshd
    monkeypatch.setattr(_sshd, 'scan_processes', lambda system: ([], 0, 'ok', None))
    monkeypatch.setattr(_sshd, 'collect_listening', lambda system, pids, ports: ([], 'ss', 'ok', None))
    assert _capture.default_ports(None) == ([22], 'default')
    monkeypatch.setattr(_sshd, 'collect_listening',
                        lambda system, pids, ports: ([{'address': '0.0.0.0', 'port': 2222},
                                                      {'address': '::', 'port': 2222}], 'ss', 'ok', None))
    assert _capture.default_ports(None) == ([2222], 'sshd')
