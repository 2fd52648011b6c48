# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record the TCP resets this host sends and receives, for a bounded window.  Private.

Method (the only one this version implements): an ``AF_PACKET`` socket of type ``SOCK_DGRAM``
(the packet starts at its network header; include/uapi/linux/if_packet.h, net/packet/af_packet.c
``packet_rcv``: for ``SOCK_DGRAM`` the link-layer header is not pushed back before the filter runs)
with a classic BPF program attached (``SO_ATTACH_FILTER``; include/uapi/linux/filter.h) that
accepts only IPv4 / IPv6 TCP segments with RST set whose source or destination port is one of
the watched ports, and truncates each accepted packet to its IP header plus the 20-byte TCP
header: the kernel queues no payload and no TCP option byte, so none is read or kept.

The kernel's ``tcp:tcp_send_reset`` / ``tcp:tcp_receive_reset`` tracepoints (socket state and,
from Linux 6.10, the reset reason) are not used yet: see docs/attribution.md, "Follow-up".

Sources of the numbers below:

* include/uapi/linux/if_packet.h: ``PACKET_HOST`` 0, ``PACKET_OUTGOING`` 4, ``PACKET_STATISTICS`` 6;
  include/linux/socket.h: ``SOL_PACKET`` 263; include/uapi/asm-generic/socket.h:
  ``SO_ATTACH_FILTER`` 26; include/uapi/linux/if_ether.h: ``ETH_P_ALL`` 0x0003,
  ``ETH_P_IP`` 0x0800, ``ETH_P_IPV6`` 0x86DD;
* include/uapi/linux/bpf_common.h and filter.h: the opcodes, ``SKF_AD_OFF`` -0x1000,
  ``SKF_AD_PROTOCOL`` 0 (loads ``ntohs(skb->protocol)``, net/core/filter.c);
* RFC 791 (IPv4 header), RFC 8200 (IPv6 header), RFC 9293 (TCP header and flag bits).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno
import os
import select
import socket
import struct
import time

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, OptionError, result,
)
from ansible_collections.connreset.doctor.plugins.module_utils import _tcp

ARGUMENT_SPEC = dict(
    ports=dict(type='list', elements='int', default=[]),
    duration_s=dict(type='int', default=10),
    max_packets=dict(type='int', default=500),
)

DEFAULT_DURATION_S = 10
MAX_DURATION_S = 120
DEFAULT_MAX_PACKETS = 500
MAX_PACKETS = 5000          # hard cap: each record is ~300 bytes of fact
MAX_PORTS = 32              # keeps every BPF jump offset under 256 (an 8-bit field)
DEFAULT_PORT = 22
METHOD = 'af_packet'
METHOD_NOTE = ('AF_PACKET capture with a classic BPF filter; the tcp:tcp_send_reset / tcp:tcp_receive_reset '
               'tracepoints (socket state, reset reason) are not used by this version, so state and reason '
               'are null')

# -- kernel constants (see the module docstring for their headers) ----------------------------
AF_PACKET = 17
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
SOL_PACKET = 263
SO_ATTACH_FILTER = 26
PACKET_STATISTICS = 6
PACKET_HOST = 0
PACKET_OUTGOING = 4

BPF_LD, BPF_LDX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC = 0x00, 0x01, 0x04, 0x05, 0x06, 0x07
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
BPF_ABS, BPF_IND, BPF_MSH = 0x20, 0x40, 0xa0
BPF_ADD = 0x00
BPF_JEQ, BPF_JSET = 0x10, 0x40
BPF_K, BPF_X = 0x00, 0x08
BPF_A = 0x10
BPF_TXA = 0x80
SKF_AD_PROTOCOL_K = (-0x1000 + 0) & 0xffffffff

IPPROTO_TCP = 6
IPV6_HEADER = 40
TCP_HEADER = 20             # the fixed part; options are not captured
# RFC 9293 section 3.1, in bit order of the flags byte
TCP_FLAGS = (('FIN', 0x01), ('SYN', 0x02), ('RST', 0x04), ('PSH', 0x08), ('ACK', 0x10), ('URG', 0x20),
             ('ECE', 0x40), ('CWR', 0x80))
TCP_RST = 0x04
RECV_BUFFER = 128           # > 60 (IPv4 header with options) + 20; the filter never passes more

# The reset counters whose deltas the fact reports (Tcp: of /proc/net/snmp, TcpExt: of
# /proc/net/netstat, read by _tcp); TCPAbortOn* is every TcpExt field of that prefix.
RESET_COUNTERS = ('OutRsts', 'EstabResets', 'AttemptFails')
RESET_COUNTER_PREFIX = 'TCPAbortOn'


# -- option checks ------------------------------------------------------------------------------
def validate(params):
    """Error message for bad options (what is wrong and how to fix it), or None."""
    duration = params.get('duration_s')
    if duration is not None and not 1 <= duration <= MAX_DURATION_S:
        return ('option duration_s=%s is out of range: give 1 to %d seconds (default %d)'
                % (duration, MAX_DURATION_S, DEFAULT_DURATION_S))
    packets = params.get('max_packets')
    if packets is not None and not 1 <= packets <= MAX_PACKETS:
        return ('option max_packets=%s is out of range: give 1 to %d resets (default %d)'
                % (packets, MAX_PACKETS, DEFAULT_MAX_PACKETS))
    ports = params.get('ports') or []
    for port in ports:
        if not 0 < port < 65536:
            return ('option ports: %s is not a TCP port (1-65535); give [] for the ports sshd listens on'
                    % port)
    if len(set(ports)) > MAX_PORTS:
        return ('option ports: %d ports given, at most %d can be watched in one capture; split them over '
                'several runs' % (len(set(ports)), MAX_PORTS))
    return None


# -- the BPF program (pure) -----------------------------------------------------------------------
def _assemble(program):
    """[(code, jt_label, jf_label, k) or ('label', name)] → [(code, jt, jf, k)] with relative jumps."""
    labels = {}
    index = 0
    for item in program:
        if item[0] == 'label':
            labels[item[1]] = index
        else:
            index += 1
    out = []
    for item in program:
        if item[0] == 'label':
            continue
        code, jt, jf, k = item
        here = len(out) + 1
        offsets = []
        for target in (jt, jf):
            offset = 0 if target is None else labels[target] - here
            if not 0 <= offset <= 255:
                raise ValueError('BPF jump of %d instructions does not fit in 8 bits' % offset)
            offsets.append(offset)
        out.append((code, offsets[0], offsets[1], k & 0xffffffff))
    return out


def build_filter(ports):
    """Classic BPF program (list of ``(code, jt, jf, k)``) accepting TCP resets from or to ``ports``.

    IPv4: protocol 6, not a later fragment, RST set, source or destination port watched; returns
    ``4 * IHL + 20`` bytes (IP header with options, fixed TCP header).  IPv6: next header 6 (a
    segment behind extension headers is not matched), same tests at offset 40; returns 60 bytes.
    Everything else returns 0 (dropped in the kernel).
    """
    ports = sorted(set(int(p) for p in ports))
    if not ports or len(ports) > MAX_PORTS or not all(0 < p < 65536 for p in ports):
        raise ValueError('give 1 to %d TCP ports' % MAX_PORTS)
    ld_h_abs, ld_b_abs = BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS
    jeq, jset = BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JSET | BPF_K

    def port_tests(load, offset, accept, last_false):
        block = [(load, None, None, offset)]
        for i, port in enumerate(ports):
            block.append((jeq, accept, last_false if i == len(ports) - 1 else None, port))
        return block

    program = [
        (ld_h_abs, None, None, SKF_AD_PROTOCOL_K),
        (jeq, None, 'v6', ETH_P_IP),
        (ld_b_abs, None, None, 9),                                    # IPv4 protocol
        (jeq, None, 'drop', IPPROTO_TCP),
        (ld_h_abs, None, None, 6),                                    # flags + fragment offset
        (jset, 'drop', None, 0x1fff),
        (BPF_LDX | BPF_B | BPF_MSH, None, None, 0),                   # X = 4 * IHL
        (BPF_LD | BPF_B | BPF_IND, None, None, 13),                   # TCP flags
        (jset, None, 'drop', TCP_RST),
    ]
    program += port_tests(BPF_LD | BPF_H | BPF_IND, 0, 'accept4', None)
    program += port_tests(BPF_LD | BPF_H | BPF_IND, 2, 'accept4', 'drop')
    program += [
        ('label', 'accept4'),
        (BPF_MISC | BPF_TXA, None, None, 0),
        (BPF_ALU | BPF_ADD | BPF_K, None, None, TCP_HEADER),
        (BPF_RET | BPF_A, None, None, 0),
        ('label', 'v6'),
        (jeq, None, 'drop', ETH_P_IPV6),
        (ld_b_abs, None, None, 6),                                    # IPv6 next header
        (jeq, None, 'drop', IPPROTO_TCP),
        (ld_b_abs, None, None, IPV6_HEADER + 13),
        (jset, None, 'drop', TCP_RST),
    ]
    program += port_tests(ld_h_abs, IPV6_HEADER, 'accept6', None)
    program += port_tests(ld_h_abs, IPV6_HEADER + 2, 'accept6', 'drop')
    program += [
        ('label', 'accept6'),
        (BPF_RET | BPF_K, None, None, IPV6_HEADER + TCP_HEADER),
        ('label', 'drop'),
        (BPF_RET | BPF_K, None, None, 0),
    ]
    return _assemble(program)


def pack_filter(program):
    """``struct sock_filter`` array bytes (u16 code, u8 jt, u8 jf, u32 k; native order)."""
    return b''.join(struct.pack('=HBBI', code, jt, jf, k) for code, jt, jf, k in program)


# -- packet parsing (pure) ----------------------------------------------------------------------
def tcp_flags(byte):
    """The TCP flags byte → names in header order, e.g. ``['RST', 'ACK']``."""
    return [name for name, bit in TCP_FLAGS if byte & bit]


def _tcp_header(data, offset, record):
    if len(data) < offset + TCP_HEADER:
        return None, 'truncated TCP header'
    sport, dport, seq, ack, doff, flags, window = struct.unpack_from('!HHIIBBH', data, offset)
    if not flags & TCP_RST:
        return None, 'not a reset'
    header_len = (doff >> 4) * 4
    if header_len < TCP_HEADER:
        return None, 'bad TCP data offset'
    record.update(sport=sport, dport=dport, seq=seq, ack=ack if flags & 0x10 else None, window=window,
                  flags=tcp_flags(flags), tcp_header_bytes=header_len)
    return record, None


def parse_packet(data):
    """The network-layer bytes of one captured packet → ``(record, None)`` or ``(None, why)``.

    ``record``: ``family`` (``ipv4``/``ipv6``), ``src``, ``dst``, ``sport``, ``dport``, ``ttl``
    (IPv4 TTL or IPv6 hop limit), ``flags``, ``seq``, ``ack`` (None without ACK), ``window``,
    ``payload_bytes`` (from the header lengths: the payload itself is never captured).
    """
    if not isinstance(data, (bytes, bytearray)) or not data:
        return None, 'empty packet'
    version = data[0] >> 4
    if version == 4:
        if len(data) < 20:
            return None, 'truncated IPv4 header'
        ihl = (data[0] & 0x0f) * 4
        total, frag, ttl, proto = struct.unpack_from('!2xH2xHBB', data, 0)
        if ihl < 20 or len(data) < ihl:
            return None, 'bad IPv4 header length'
        if proto != IPPROTO_TCP:
            return None, 'not TCP'
        if frag & 0x1fff:
            return None, 'IPv4 fragment'
        record = {'family': 'ipv4', 'src': socket.inet_ntop(socket.AF_INET, bytes(data[12:16])),
                  'dst': socket.inet_ntop(socket.AF_INET, bytes(data[16:20])), 'ttl': ttl}
        record, error = _tcp_header(data, ihl, record)
        if record is not None:
            record['payload_bytes'] = max(0, total - ihl - record.pop('tcp_header_bytes'))
        return record, error
    if version == 6:
        if len(data) < IPV6_HEADER:
            return None, 'truncated IPv6 header'
        payload_len, next_header, hop_limit = struct.unpack_from('!4xHBB', data, 0)
        if next_header != IPPROTO_TCP:
            return None, 'not TCP (or behind IPv6 extension headers)'
        record = {'family': 'ipv6', 'src': socket.inet_ntop(socket.AF_INET6, bytes(data[8:24])),
                  'dst': socket.inet_ntop(socket.AF_INET6, bytes(data[24:40])), 'ttl': hop_limit}
        record, error = _tcp_header(data, IPV6_HEADER, record)
        if record is not None:
            record['payload_bytes'] = max(0, payload_len - record.pop('tcp_header_bytes'))
        return record, error
    return None, 'not IPv4 or IPv6'


def direction_of(pkttype):
    """``sll_pkttype`` of a received frame → ``sent`` / ``received``, or None (not this host's)."""
    if pkttype == PACKET_OUTGOING:
        return 'sent'
    if pkttype == PACKET_HOST:
        return 'received'
    return None


def counter_deltas(before, after):
    """Increase of the reset counters between two ``_tcp.counters_from`` readings (None if unreadable)."""
    if before is None or after is None:
        return None
    names = [n for n in RESET_COUNTERS if n in after]
    names += sorted(n for n in after if n.startswith(RESET_COUNTER_PREFIX))
    return dict((name, after[name] - before[name]) for name in names if name in before)


def parse_tpacket_stats(data):
    """``struct tpacket_stats`` (u32 tp_packets, u32 tp_drops) → ``(packets, drops)``, (None, None) if short."""
    if not isinstance(data, (bytes, bytearray)) or len(data) < 8:
        return None, None
    return struct.unpack_from('=II', data, 0)


# -- I/O ----------------------------------------------------------------------------------------
def sockaddr_ll(protocol, ifindex=0):
    """``struct sockaddr_ll`` (include/uapi/linux/if_packet.h) for bind(): ifindex 0 is every interface."""
    return struct.pack('=HHiHBB8s', AF_PACKET, socket.htons(protocol), ifindex, 0, 0, 0, b'')


def _bind_all_interfaces(sock):
    """bind() to every interface: Python's AF_PACKET address takes an interface name, never index 0."""
    libc = ctypes.CDLL(None, use_errno=True)
    address = sockaddr_ll(ETH_P_ALL)
    if libc.bind(sock.fileno(), ctypes.c_char_p(address), len(address)) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))


def open_socket(ports):
    """An AF_PACKET socket that queues only the watched resets, headers only.

    Opened with protocol 0 (it receives nothing), the filter attached, then bound to ``ETH_P_ALL``:
    no unfiltered packet is queued before the filter is in place.  Raises OSError.
    """
    program = build_filter(ports)
    code = pack_filter(program)
    sock = socket.socket(AF_PACKET, socket.SOCK_DGRAM, 0)
    try:
        buf = ctypes.create_string_buffer(code, len(code))
        fprog = struct.pack('HL', len(program), ctypes.addressof(buf))
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        _bind_all_interfaces(sock)
    except Exception:
        sock.close()
        raise
    return sock


def _open_error(exc):
    number = getattr(exc, 'errno', None)
    if number in (errno.EPERM, errno.EACCES):
        return ('opening an AF_PACKET socket needs CAP_NET_RAW (root): run the module with become: true '
                '(%s)' % (exc.strerror or exc))
    if number in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT, errno.EINVAL):
        return ('this kernel or sandbox offers no AF_PACKET sockets (%s): run the capture on the host itself, '
                'not in a container without packet sockets' % (exc.strerror or exc))
    return 'cannot open the AF_PACKET capture socket: %s' % (getattr(exc, 'strerror', None) or exc)


def read_resets(sock, seconds, max_packets, clock=time.monotonic, wall=time.time):
    """Read accepted packets for at most ``seconds`` or ``max_packets`` resets.

    Returns ``(resets, skipped {why: n}, stopped, largest)``; ``stopped`` is ``window``,
    ``max_packets`` or ``error`` (a receive failed; ``skipped`` says how); ``largest`` is the most bytes the kernel queued for one packet (``MSG_TRUNC``
    gives the queued length even when it exceeds the buffer): at most 80, the headers, never payload.
    """
    started = clock()
    deadline = started + seconds
    buffer = bytearray(RECV_BUFFER)
    resets, skipped = [], {}
    largest = 0
    while True:
        if len(resets) >= max_packets:
            return resets, skipped, 'max_packets', largest
        left = deadline - clock()
        if left <= 0:
            return resets, skipped, 'window', largest
        ready, _w, _x = select.select([sock], [], [], left)
        if not ready:
            continue
        try:
            size, address = sock.recvfrom_into(buffer, RECV_BUFFER, socket.MSG_TRUNC | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError as exc:          # the socket broke (ENETDOWN, ENOBUFS ...): keep what was read
            skipped['receive failed: %s' % (exc.strerror or exc)] = 1
            return resets, skipped, 'error', largest
        now = clock()
        largest = max(largest, size)
        record, error = parse_packet(bytes(buffer[:min(size, RECV_BUFFER)]))
        direction = direction_of(address[2] if len(address) > 2 else None)
        if record is not None and direction is None:
            error = 'not sent or received by this host'
        if record is None or direction is None:
            skipped[error] = skipped.get(error, 0) + 1
            continue
        record['direction'] = direction
        record['interface'] = address[0]
        record['offset_s'] = round(now - started, 6)
        record['time'] = round(wall(), 6)
        record['state'] = None
        record['reason'] = None
        resets.append(record)


def _kernel_drops(sock):
    try:
        return parse_tpacket_stats(sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]
    except OSError:
        return None


def default_ports(system):
    """(ports, source): the ports sshd listens on (the sshd collector's logic), else [22]."""
    from ansible_collections.connreset.doctor.plugins.module_utils import _sshd
    try:
        processes, _other, _status, _reason = _sshd.scan_processes(system)
        pids = [p['pid'] for p in processes or [] if p['role'] == 'listener'] or [p['pid'] for p in processes or []]
        listening, _source, _lstatus, _lreason = _sshd.collect_listening(system, pids, None)
    except (IOError, OSError):
        listening = None
    ports = sorted(set(item['port'] for item in listening or [] if item.get('port')))
    if ports:
        return ports[:MAX_PORTS], 'sshd'
    return [DEFAULT_PORT], 'default'


def collect(system, params, opener=None):
    """The ``connreset_capture`` fact; raises OptionError for bad options."""
    error = validate(params)
    if error:
        raise OptionError(error)
    duration = params.get('duration_s') or DEFAULT_DURATION_S
    max_packets = params.get('max_packets') or DEFAULT_MAX_PACKETS
    ports = sorted(set(params.get('ports') or []))
    source = 'option'
    if not ports:
        ports, source = default_ports(system)
    left = system.remaining()
    if left is not None:
        duration = max(1, int(min(duration, left - 5)))

    base = dict(method=None, method_note=METHOD_NOTE, ports=ports, ports_source=source, duration_s=duration,
                max_packets=max_packets, window_s=None, started_at=None, ended_at=None, stopped=None, resets=None,
                counts=None, skipped=None, kernel_drops=None, captured_bytes_max=None, counter_deltas=None)
    try:
        sock = (opener or open_socket)(ports)
    except (OSError, ValueError) as exc:
        return result(UNKNOWN, _open_error(exc), **base)
    reasons = []
    try:
        before, creasons = _tcp._read_counters(system)   # pylint: disable=protected-access
        started, started_at = time.monotonic(), time.time()
        resets, skipped, stopped, largest = read_resets(sock, duration, max_packets)
        window = round(time.monotonic() - started, 3)
        ended_at = time.time()
        after, creasons2 = _tcp._read_counters(system)   # pylint: disable=protected-access
        drops = _kernel_drops(sock)
    finally:
        sock.close()
    deltas = counter_deltas(before, after)
    if deltas is None:
        reasons.append('reset counters: %s' % '; '.join(creasons or creasons2 or ['unreadable']))
    if stopped == 'max_packets':
        reasons.append('stopped after max_packets=%d resets in %.1f of %d s: later resets were not recorded; '
                       'raise max_packets' % (max_packets, window, duration))
    if stopped == 'error':
        reasons.append('the capture stopped after %.1f of %d s: %s' % (
            window, duration, ', '.join(k for k in skipped if k.startswith('receive failed'))))
    if drops:
        reasons.append('the kernel dropped %d captured packet(s) (socket buffer full): counts are low' % drops)
    counts = {'sent': sum(1 for r in resets if r['direction'] == 'sent'),
              'received': sum(1 for r in resets if r['direction'] == 'received')}
    base.update(method=METHOD, window_s=window, started_at=round(started_at, 6), ended_at=round(ended_at, 6), stopped=stopped, resets=resets, counts=counts,
                skipped={'count': sum(skipped.values()), 'reasons': skipped}, kernel_drops=drops,
                captured_bytes_max=largest,
                counter_deltas=deltas)
    return result(PARTIAL if reasons else OK, '; '.join(reasons) or None, **base)
