#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: firewall_facts
short_description: Find firewall rules and ban lists that reset, reject or drop ssh connections
version_added: 1.0.0
description:
  - Reads the iptables rules of every backend present (C(iptables-legacy-save), C(iptables-nft-save) and their IPv6
    variants, or plain C(iptables-save)) and the nftables ruleset (C(nft -j list ruleset), rule text from
    C(nft -a list ruleset)); tables managed by iptables-nft are reported once, from iptables-nft-save.
  - Reports rules that REJECT with a TCP reset (any port), that REJECT or DROP TCP traffic to one of O(ports) or all
    TCP traffic, and that drop conntrack INVALID packets, with whether they match only established connections.
  - Each rule's destination ports are typed (a negated match such as C(! --dport 80) covers every other port, so it is
    reported when it covers O(ports)), service names resolved through the host's C(/etc/services), and whether the
    rule has a rate or count limit is read from its parsed matches.
  - Reads fail2ban jails and their banned addresses (C(fail2ban-client status)), sshguard's block list (its nftables
    table C(sshguard) or iptables chain C(sshguard)) and crowdsec decisions (C(cscli decisions list -o json)).
  - Lists in C(blocked) each of O(clients) (default the controller address) that a ban list or a rule's source
    address/CIDR blocks right now.
  - Reading iptables and nftables needs root; without it the parts are C(unknown) with a reason.
author: connreset.doctor contributors (@connreset)
options:
  ports:
    description: TCP ports sshd listens on; rules dropping or rejecting these (or all TCP) are reported.
    type: list
    elements: int
    default: [22]
  clients:
    description:
      - Addresses (or CIDRs) to check against ban lists and rule sources.
      - Default is the controller address (first field of E(SSH_CONNECTION)); when that is not set, C(blocked) stays
        empty and the fact is C(partial).
    type: list
    elements: str
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns C(ansible_facts.connreset_firewall).
  platform:
    description: Linux targets with iptables and/or nftables.
notes:
  - Use C(become=true); iptables, nftables, fail2ban's socket and cscli need root.
  - A REJECT with tcp-reset on every packet to port 22 looks like "Connection refused" to the client; on ESTABLISHED
    packets only it looks like "Connection reset by peer".
'''

EXAMPLES = r'''
- name: Firewall facts, checking the controller and a jump host
  connreset.doctor.firewall_facts:
    ports: [22, 2222]
    clients: [192.0.2.10, 198.51.100.0/24]
  become: true

- name: Show what blocks the controller
  ansible.builtin.debug:
    var: ansible_facts.connreset_firewall.blocked
'''

RETURN = r'''
ansible_facts:
  description: Facts under C(connreset_firewall).
  returned: always
  type: dict
  contains:
    connreset_firewall:
      description: Firewall facts.
      returned: always
      type: dict
      contains:
        status:
          description: C(ok), C(partial) or C(unknown) (see reason).
          type: str
          returned: always
          sample: ok
        reason:
          description: Why not ok, one C(part then reason) per part; null when ok.
          type: str
          returned: always
          sample: "nft: nft -j list ruleset: needs root (use become: true)"
        elapsed_s:
          description: Seconds the collector took.
          type: float
          returned: always
          sample: 0.05
        rules:
          description: Rules that can reset, reject or drop ssh traffic; null when no ruleset could be read.
          type: list
          elements: dict
          returned: always
          contains:
            backend:
              description: C(iptables-legacy), C(iptables-nft) or C(nft).
              type: str
              sample: nft
            family:
              description: C(ip), C(ip6) (iptables) or the nftables table family (C(ip), C(ip6), C(inet), ...).
              type: str
              sample: inet
            table:
              description: Table name.
              type: str
              sample: filter
            chain:
              description: Chain name.
              type: str
              sample: input
            rule:
              description: The rule as the tool prints it (iptables-save line, nft rule text).
              type: str
              sample: tcp dport 22 ct state established reject with tcp reset
            action:
              description: C(reject_tcp_reset), C(reject) or C(drop).
              type: str
              sample: reject_tcp_reset
            target_ports:
              description:
                - Destination ports as the rule writes them (ints, C(lo-hi) ranges, service names); null for all ports.
                - Negation is not applied (see C(negated_ports)); C(ports) is the typed form.
              type: list
              elements: raw
              sample: [22]
            ports:
              description:
                - The destination ports the rule matches, typed as sorted, merged C([low, high]) pairs of ints (inclusive),
                  with a negated match already turned into its complement within 0-65535; null when the rule has no
                  destination-port match (all ports).
                - Service names are resolved through the host's C(/etc/services) (C(ssh) resolves without it); a name
                  the host does not know, or an element that is no port, is left out.
                - This is what the diagnosis reads (the collector to engine contract in docs/development.md).
              type: list
              elements: list
              sample: [[22, 22], [2000, 3000]]
            negated_ports:
              description: The port match is negated (C(! --dport), C(!=)); C(ports) is already its complement.
              type: bool
              sample: false
            limit:
              description:
                - The rule has a rate or count limit match, so it hits only some connections (those over or under the
                  limit), in iptables C(-m limit), C(-m connlimit), C(-m hashlimit); nft C(limit rate), C(ct count), and a
                  C(limit) inside a C(meter) or an C(add @set { ... }) statement.
                - Read from the parsed matches and statements, not from the rule text; C(-m recent) is not counted.
              type: bool
              sample: false
            established_only:
              description: The rule matches only ESTABLISHED (not NEW) connections, a reset after the handshake.
              type: bool
              sample: true
            invalid:
              description: The rule matches conntrack state INVALID (among others or alone; a negated state match is not).
              type: bool
              sample: false
            sources:
              description: Source addresses/CIDRs the rule is restricted to (named sets resolved); empty for any source.
              type: list
              elements: str
              sample: [203.0.113.7]
            negated_sources:
              description: The source match is negated (C(! -s), C(!=)).
              type: bool
              sample: false
            matches_clients:
              description: Those of O(clients) the rule's sources cover.
              type: list
              elements: str
              sample: []
        backends:
          description: Backends that had rules.
          type: list
          elements: str
          returned: always
          sample: [iptables-nft, nft]
        ports:
          description: The ports checked.
          type: list
          elements: int
          returned: always
          sample: [22]
        clients:
          description: The clients checked.
          type: list
          elements: str
          returned: always
          sample: [192.0.2.10]
        fail2ban:
          description: fail2ban state.
          type: dict
          returned: always
          sample: {present: true, running: true, status: ok, reason: null,
                   jails: [{name: sshd, banned: [192.0.2.50], currently_banned: 1, total_banned: 3, currently_failed: 0}]}
          contains:
            present:
              description: fail2ban-client is installed.
              type: bool
            running:
              description: The server answered; null when it could not be asked (no permission, socket missing).
              type: bool
            jails:
              description: Jails with C(name), C(banned) (addresses), C(currently_banned), C(total_banned),
                C(currently_failed); null when unknown.
              type: list
              elements: dict
            status:
              description: C(ok), C(partial) or C(unknown).
              type: str
            reason:
              description: Why not ok.
              type: str
        sshguard:
          description: sshguard presence (binary, nft table or iptables chain) and the addresses it blocks.
          type: dict
          returned: always
          sample: {present: true, blocked: [192.0.2.77, 198.51.100.0/24]}
        crowdsec:
          description: crowdsec presence and decisions (C(value), C(scope), C(type), C(origin), C(scenario), C(duration)).
          type: dict
          returned: always
          sample: {present: false, decisions: [], status: ok, reason: null}
        blocked:
          description: Clients banned or rejected right now, C(by) one of C(fail2ban:JAIL), C(sshguard), C(crowdsec),
            C(rule); null when no ruleset could be read and nothing was found.
          type: list
          elements: dict
          returned: always
          sample: [{client: 192.0.2.50, by: 'fail2ban:sshd', detail: banned in jail sshd}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module
from ansible_collections.connreset.doctor.plugins.module_utils._firewall import ARGUMENT_SPEC, collect


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_fact_module(module, 'connreset_firewall', lambda: run_collector('firewall', collect, System(module), module.params))


if __name__ == '__main__':
    main()
