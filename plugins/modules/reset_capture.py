#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: reset_capture
short_description: Record the TCP resets this host sends and receives on given ports for a short window
version_added: 1.0.0
description:
  - For a bounded window (O(duration_s) seconds, or until O(max_packets) resets) records every TCP
    reset (RST) this host sends or receives on O(ports), IPv4 and IPv6, with its direction
    (C(sent) or C(received)), 4-tuple, TTL or hop limit, flags, sequence numbers and interface,
    and the increase of the kernel's reset counters (C(OutRsts), C(EstabResets), C(AttemptFails),
    every C(TCPAbortOn*)) over the same window.
  - Meant to run on a target while the controller probes it (C(connreset.doctor.ssh_probe)), so
    that a reset the probe received can be attributed to the host or to a device in the path; see
    docs/attribution.md.
  - Method - an C(AF_PACKET) socket with a classic BPF filter attached in the kernel; it passes only
    TCP segments with RST set on O(ports) and cuts each to its IP and fixed TCP header, so no
    payload is read or kept. No C(tcpdump) is needed. The kernel's C(tcp:tcp_send_reset) and
    C(tcp:tcp_receive_reset) tracepoints (socket state, reset reason) are not used by this version,
    so RV(ansible_facts.connreset_capture.resets[].state) and RV(ansible_facts.connreset_capture.resets[].reason)
    are V(null).
  - Needs root (C(CAP_NET_RAW)). Without it the fact is V(unknown) with the reason, at once.
  - Writes nothing and changes nothing on the host; the capture is per network namespace (the one
    the module runs in).
author: connreset.doctor contributors (@connreset)
options:
  ports:
    description:
      - TCP ports whose resets are recorded (source or destination port), at most 32.
      - Empty (the default) means the ports sshd listens on, found as the sshd collector finds them
        (the sshd processes' listening sockets, C(ss -Hltnp) or C(/proc/net/tcp)); V(22) when none is
        found. RV(ansible_facts.connreset_capture.ports_source) says which.
    type: list
    elements: int
    default: []
  duration_s:
    description:
      - Length of the capture window in seconds, V(1) to V(120).
    type: int
    default: 10
  max_packets:
    description:
      - Stop after this many resets (V(1) to V(5000)); the fact is then V(partial) and says so.
    type: int
    default: 500
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  check_mode:
    description: Reads only, so check mode runs exactly like a normal run (and takes the same window).
  facts:
    description: Returns C(ansible_facts.connreset_capture).
  platform:
    description: Linux (C(AF_PACKET) sockets, C(/proc/net)).
notes:
  - On the loopback interface each reset is seen twice, once C(sent) and once C(received), because
    both ends are this host.
  - IPv6 segments behind extension headers and IPv4 fragments are not matched by the filter.
seealso:
  - module: connreset.doctor.tcp_facts
  - module: connreset.doctor.ssh_probe
'''

EXAMPLES = r'''
- name: Record the resets on sshd's ports for 10 seconds
  connreset.doctor.reset_capture:
  become: true

- name: Capture on sshd and a web endpoint while probing from the controller
  connreset.doctor.reset_capture:
    ports: [22, 443]
    duration_s: 30
    max_packets: 1000
  become: true

- name: Show what the host sent
  ansible.builtin.debug:
    msg: >-
      {{ ansible_facts.connreset_capture.counts.sent }} resets sent,
      OutRsts +{{ ansible_facts.connreset_capture.counter_deltas.OutRsts }}
'''

RETURN = r'''
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    connreset_capture:
      description: TCP resets seen in one bounded window, in the network namespace the module ran in.
      returned: always
      type: dict
      contains:
        status:
          description:
            - V(ok), V(partial) (the window was cut by O(max_packets) or a receive error, the kernel dropped
              packets or the counters were unreadable) or V(unknown) (no capture, see reason).
          type: str
          returned: always
          sample: ok
        reason:
          description: Why not V(ok), in words a person can act on; V(null) when V(ok).
          type: str
          returned: always
          sample: null
        elapsed_s:
          description: Seconds the module took.
          type: float
          returned: always
          sample: 10.02
        method:
          description: How the resets were read - V(af_packet); V(null) when no capture ran.
          type: str
          returned: always
          sample: af_packet
        method_note:
          description: What the method can and cannot report.
          type: str
          returned: always
          sample: AF_PACKET capture with a classic BPF filter; the tcp:tcp_send_reset / tcp:tcp_receive_reset tracepoints are not used
        ports:
          description: The ports watched.
          type: list
          elements: int
          returned: always
          sample: [22]
        ports_source:
          description: V(option) (O(ports)), V(sshd) (the ports sshd listens on) or V(default) (V(22), no sshd listener found).
          type: str
          returned: always
          sample: sshd
        duration_s:
          description: The window asked for, in seconds (shortened only when the module's time budget is shorter).
          type: int
          returned: always
          sample: 10
        max_packets:
          description: The O(max_packets) used.
          type: int
          returned: always
          sample: 500
        window_s:
          description: Seconds the capture actually ran; V(null) when it did not run.
          type: float
          returned: always
          sample: 10.001
        started_at:
          description:
            - When the capture window opened (the filter was in place), seconds since the epoch (UTC) by this host's clock;
              V(null) when no capture ran. With RV(ansible_facts.connreset_capture.ended_at), what the engine compares with a
              probe attempt's C(started_at)/C(ended_at) (the controller's clock) to tell whether the capture covered it.
          type: float
          returned: always
          sample: 1796328128.5337
        ended_at:
          description: When the capture window closed, seconds since the epoch (UTC) by this host's clock; V(null) when no capture ran.
          type: float
          returned: always
          sample: 1796328138.5349
        stopped:
          description: V(window) (the window ended), V(max_packets) or V(error) (a receive failed, see reason); V(null) when no capture ran.
          type: str
          returned: always
          sample: window
        resets:
          description: The resets in the order seen; V(null) when no capture ran.
          type: list
          elements: dict
          returned: always
          contains:
            direction:
              description: V(sent) (this host sent it) or V(received).
              type: str
              sample: received
            family:
              description: V(ipv4) or V(ipv6).
              type: str
              sample: ipv4
            src:
              description: Source address.
              type: str
              sample: 192.0.2.10
            sport:
              description: Source port.
              type: int
              sample: 22
            dst:
              description: Destination address.
              type: str
              sample: 192.0.2.1
            dport:
              description: Destination port.
              type: int
              sample: 51734
            ttl:
              description: IPv4 TTL or IPv6 hop limit as seen here (for a sent reset, the value it left with).
              type: int
              sample: 64
            flags:
              description: TCP flags set, in header order.
              type: list
              elements: str
              sample: [RST, ACK]
            seq:
              description: Sequence number.
              type: int
              sample: 386058873
            ack:
              description: Acknowledgement number; V(null) without the ACK flag.
              type: int
              sample: 3731745742
            window:
              description: TCP window field.
              type: int
              sample: 64
            payload_bytes:
              description: Payload length computed from the IP and TCP header lengths (the payload itself is never captured).
              type: int
              sample: 0
            interface:
              description: Interface the packet was seen on.
              type: str
              sample: eth0
            offset_s:
              description: Seconds from the start of the window.
              type: float
              sample: 0.4996
            time:
              description: When it was read, seconds since the epoch (UTC).
              type: float
              sample: 1796328129.033336
            state:
              description: Socket state the kernel reported; always V(null) with the V(af_packet) method.
              type: str
              sample: null
            reason:
              description: The kernel's reset reason; always V(null) with the V(af_packet) method.
              type: str
              sample: null
        counts:
          description: Number of resets recorded per direction; V(null) when no capture ran.
          type: dict
          returned: always
          sample: {sent: 4, received: 4}
        skipped:
          description: Packets the filter passed but the parser did not record, C({count, reasons {why - n}}); V(null) when no capture ran.
          type: dict
          returned: always
          sample: {count: 0, reasons: {}}
        kernel_drops:
          description: Packets the kernel dropped because the capture socket's buffer was full (C(PACKET_STATISTICS)); V(null) when unknown.
          type: int
          returned: always
          sample: 0
        captured_bytes_max:
          description:
            - The most bytes the kernel handed over for one packet (IP header and the fixed 20-byte TCP
              header, at most 80) - shows that no payload was captured. V(null) when no capture ran.
          type: int
          returned: always
          sample: 40
        counter_deltas:
          description:
            - Increase over the window of C(OutRsts), C(EstabResets), C(AttemptFails) (C(/proc/net/snmp)) and
              every C(TCPAbortOn*) counter (C(/proc/net/netstat)); they count every port, not only O(ports).
            - V(null) when the counters could not be read or no capture ran.
          type: dict
          returned: always
          sample: {OutRsts: 4, EstabResets: 4, AttemptFails: 2, TCPAbortOnClose: 0, TCPAbortOnData: 2,
                   TCPAbortOnLinger: 0, TCPAbortOnMemory: 0, TCPAbortOnTimeout: 0}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._capture import ARGUMENT_SPEC, MAX_DURATION_S, collect
from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module, waiting_budget


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    budget = waiting_budget(module.params['duration_s'], MAX_DURATION_S)
    run_fact_module(module, 'connreset_capture', lambda: run_collector('capture', collect, System(module), module.params, budget=budget))


if __name__ == '__main__':
    main()
