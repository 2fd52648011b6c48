#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: mtu_facts
short_description: Gather interface and route MTUs, the route toward the controller and an optional path-MTU probe
version_added: 1.0.0
description:
  - Reads interfaces (MTU, state, kind, addresses) with C(ip -j -d link) and C(ip -j addr), falling back to
    C(/sys/class/net/*/mtu) and C(operstate) (addresses then unknown) when iproute2 is missing.
  - Lists routes that carry an C(mtu) or C(mtu lock) metric from C(ip route show table all) (text form, because
    iproute2's JSON output drops the C(lock) flag).
  - For each target (default the controller's address from E(SSH_CONNECTION)), reads the route, source address and
    MTU with C(ip -j route get); an MTU with an expiry there is a path MTU the kernel learned from ICMP.
  - With O(probe=true), sends DF pings (C(ping -M do)) and binary-searches the path MTU between 552 bytes (1280 for
    IPv6) and the route MTU, at most O(max_probes) pings of O(probe_timeout) seconds each. A large packet that
    vanishes without an ICMP "frag needed"/"packet too big" while small ones are answered is a path-MTU black hole.
    A size refused locally (C(message too long, mtu=N)) is told apart from a remote black hole.
  - Reads C(tcp_mtu_probing) and C(tcp_base_mss) from C(/proc/sys/net/ipv4).
  - Read-only, never changes the host; the probe sends at most O(max_probes) ICMP echo requests per target.
author: connreset.doctor contributors (@connreset)
options:
  targets:
    description:
      - IP addresses to check the route (and with O(probe), the path MTU) toward.
      - Default is the controller address (first field of E(SSH_CONNECTION)); when that is not set (local
        connection), no target is checked and the fact is C(partial).
    type: list
    elements: str
  probe:
    description:
      - Send DF pings toward each target to find the path MTU and detect a black hole.
      - The targets must answer ICMP echo; otherwise the probe is C(unknown) with a reason.
    type: bool
    default: false
  probe_timeout:
    description: Seconds to wait for each ping's answer (0 < value <= 10).
    type: float
    default: 1.0
  max_probes:
    description: Most pings per target (2..30); the search reports a range when it runs out.
    type: int
    default: 12
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns C(ansible_facts.connreset_mtu).
  platform:
    description: Linux targets (iproute2, /proc, /sys).
notes:
  - The probe needs C(ping) from iputils (C(-M do)); without it the probe is C(unknown) with a reason.
seealso:
  - name: RFC 1191 Path MTU Discovery
    description: How hosts learn the path MTU from ICMP "fragmentation needed".
    link: https://www.rfc-editor.org/rfc/rfc1191
'''

EXAMPLES = r'''
- name: Interfaces, route MTUs and the route toward the controller
  connreset.doctor.mtu_facts:

- name: Probe the path MTU toward two addresses
  connreset.doctor.mtu_facts:
    targets: [192.0.2.10, 2001:db8::10]
    probe: true
    probe_timeout: 1

- name: Fail when a black hole is found
  ansible.builtin.assert:
    that: not (ansible_facts.connreset_mtu.targets | selectattr('probe') | map(attribute='probe')
              | selectattr('blackhole') | list)
'''

RETURN = r'''
ansible_facts:
  description: Facts under C(connreset_mtu).
  returned: always
  type: dict
  contains:
    connreset_mtu:
      description: MTU facts of the host.
      returned: always
      type: dict
      contains:
        status:
          description: C(ok), C(partial) (some parts unreadable, see reason) or C(unknown).
          type: str
          returned: always
          sample: ok
        reason:
          description: Why the status is not C(ok) (per part, C(part) then the reason), null when ok.
          type: str
          returned: always
          sample: "targets: no target, SSH_CONNECTION is not set (not run over ssh); pass targets to check the route toward the controller"
        elapsed_s:
          description: Seconds the collector took.
          type: float
          returned: always
          sample: 0.031
        interfaces:
          description: Network interfaces; null when neither iproute2 nor /sys could be read.
          type: list
          elements: dict
          returned: always
          contains:
            name:
              description: Interface name.
              type: str
              sample: eth0
            mtu:
              description: Interface MTU in bytes.
              type: int
              sample: 1500
            state:
              description: Operational state (lower case, C(up), C(down), C(unknown), ...).
              type: str
              sample: up
            kind:
              description: C(linkinfo.info_kind) (veth, bridge, vlan, ...), C(loopback), or C(device) for a link
                without a virtual kind (hardware); null when read from /sys and unknown.
              type: str
              sample: veth
            addresses:
              description: Addresses with their subnet; null when unknown (read from /sys).
              type: list
              elements: dict
              sample: [{address: 10.0.0.5, prefixlen: 24, family: inet, network: 10.0.0.0/24}]
        routes:
          description: Routes carrying an MTU metric (all tables, IPv4 and IPv6); null when C(ip) failed.
          type: list
          elements: dict
          returned: always
          sample: [{dst: 10.10.0.0/16, dev: eth0, mtu: 1300, mtu_locked: true, table: main}]
          contains:
            dst:
              description: Destination prefix (C(default) for the default route).
              type: str
            dev:
              description: Output device.
              type: str
            mtu:
              description: The route's MTU.
              type: int
            mtu_locked:
              description: C(mtu lock) is set (path-MTU discovery will not lower it).
              type: bool
            table:
              description: Routing table (C(main) when not named).
              type: str
        targets:
          description: One entry per target.
          type: list
          elements: dict
          returned: always
          contains:
            target:
              description: The address.
              type: str
              sample: 192.0.2.10
            dev:
              description: Output device toward it.
              type: str
              sample: eth0
            src:
              description: Source address used.
              type: str
              sample: 192.0.2.2
            gateway:
              description: Next hop, null when on-link.
              type: str
              sample: 192.0.2.1
            mtu:
              description: Route MTU if the route (or the PMTU cache) sets one, else the device MTU.
              type: int
              sample: 1500
            mtu_source:
              description: Where C(mtu) comes from, C(route), C(pmtu_cache) (learned from ICMP, expires) or C(device).
              type: str
              sample: device
            status:
              description: C(ok) or C(unknown) (no route, not an address).
              type: str
              sample: ok
            reason:
              description: Why not ok.
              type: str
              sample: null
            probe:
              description: Path-MTU probe result, null when O(probe=false).
              type: dict
              sample: {path_mtu: 1400, blackhole: true, probes: 12, status: ok, reason: null, icmp_mtu: null,
                       local_limit: null, elapsed_s: 2.5}
              contains:
                path_mtu:
                  description: Largest packet (IP bytes) that got an answer; null when unknown.
                  type: int
                blackhole:
                  description: A larger DF packet vanished silently while smaller ones were answered.
                  type: bool
                probes:
                  description: Pings sent.
                  type: int
                status:
                  description: C(ok), C(partial) (budget spent, range in reason) or C(unknown).
                  type: str
                reason:
                  description: Why not ok.
                  type: str
                icmp_mtu:
                  description: MTU announced by an ICMP frag-needed/packet-too-big (or the kernel's PMTU cache).
                  type: int
                local_limit:
                  description: MTU at which ping was refused locally (the local interface/route limit).
                  type: int
                elapsed_s:
                  description: Seconds the probe took.
                  type: float
        tcp_mtu_probing:
          description: C(net.ipv4.tcp_mtu_probing) (0 off, 1 after a black hole is detected, 2 always); null if unreadable.
          type: int
          returned: always
          sample: 0
        tcp_base_mss:
          description: C(net.ipv4.tcp_base_mss); null if unreadable.
          type: int
          returned: always
          sample: 1024
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module
from ansible_collections.connreset.doctor.plugins.module_utils._mtu import ARGUMENT_SPEC, collect


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_fact_module(module, 'connreset_mtu', lambda: run_collector('mtu', collect, System(module), module.params))


if __name__ == '__main__':
    main()
