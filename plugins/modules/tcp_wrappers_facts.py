#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: tcp_wrappers_facts
short_description: Read hosts.allow / hosts.deny and decide, as libwrap does, whether clients may reach sshd
version_added: 1.0.0
description:
  - Parses C(/etc/hosts.allow) and C(/etc/hosts.deny) (the TCP wrappers access control language of hosts_access(5)
    with the hosts_options(5) extensions, as Debian's libwrap 7.6.q reads them) and decides, for each client address,
    whether libwrap grants or denies the daemon (default C(sshd)) and which rule decides.
  - A denied client sees C(Connection reset by peer) during the banner exchange, about 5 seconds after connecting,
    and sshd's own log says nothing (libwrap logs to syslog).
  - First match wins; hosts.allow is read before hosts.deny; no match grants. Covers daemon lists and
    C(daemon@host), C(ALL), C(KNOWN), C(UNKNOWN), C(LOCAL), C(PARANOID), nested C(EXCEPT), C(.domain) suffixes,
    C(n.n.) prefixes, C(n.n.n.n/m.m.m.m), C(n.n.n.n/len), C([v6]) and C([v6]/len), C(*) and C(?) wildcards,
    C(/file) pattern files, C(user@host), continuation lines and options (C(allow), C(deny), C(twist), C(spawn),
    C(aclexec), ...). Options are parsed, never executed.
  - When a rule needs the client's host name, the client is looked up as libwrap does at connection time (socket.c
    C(sock_hostname())) - only then, in the target's own resolver, reverse then forward, each lookup bounded by
    O(lookup_timeout) - and the rules are matched with the name libwrap would get, C(unknown) when there is no
    reverse name and C(paranoid) when the name is numeric or its forward lookup does not give the address back.
    The verdict says which name, from where and how long it took; a slow lookup is reported as such (libwrap, and
    sshd with C(UseDNS yes), wait for it before the banner).
  - A verdict that depends on a lookup that timed out (or with O(name_lookups=false)), the client's IDENT user name,
    a NIS netgroup, the server address or an C(aclexec) command is C(unknown) with the reason, unless the outcome is
    the same either way.
  - A C(/file) pattern file that includes itself makes libwrap recurse until it crashes (tcpdmatch dies of SIGSEGV);
    it is reported in RV(ansible_facts.connreset_tcp_wrappers.errors), and a client that reaches it is C(denied).
  - Bounded in time, every loop checks the collector's budget (120 s for this module; M(connreset.doctor.reset_facts)
    gives each collector its own), and a collector out of time returns C(partial) with what it read and the verdicts
    not decided as C(unknown).
  - Lines libwrap skips or misreads are reported in RV(ansible_facts.connreset_tcp_wrappers.errors) with file and
    line, for example IPv6 addresses written without brackets, net/mask patterns with host bits set (never match),
    a last line without a newline (Debian's libwrap then stops reading, and in hosts.deny denies everyone).
  - Also tells whether sshd (or OpenSSH's C(sshd-session)) links libwrap at all, from the DT_NEEDED entries of the
    binary's dynamic section or, failing that, with C(ldd) or by finding C(libwrap.so) in the binary.
  - Read-only, never changes the host.
author: connreset.doctor contributors (@connreset)
options:
  allow_path:
    description: The allow table.
    type: path
    default: /etc/hosts.allow
  deny_path:
    description: The deny table.
    type: path
    default: /etc/hosts.deny
  daemon:
    description:
      - Daemon process name the rules are matched against (libwrap's argv[0] name for the service).
      - Must not be empty nor hold blanks, commas, V(:) or V(@) (libwrap splits patterns there); at most 127 characters.
    type: str
    default: sshd
  clients:
    description:
      - IPv4 or IPv6 client addresses to decide access for (at most 1000; duplicates are evaluated once).
      - Default is the address the controller connects from (first field of E(SSH_CONNECTION)); when that is not
        set (local connection), no client is evaluated and RV(ansible_facts.connreset_tcp_wrappers.clients_note)
        says so.
    type: list
    elements: str
  sshd_path:
    description:
      - The sshd binary to check for libwrap linkage.
      - Default is C(sshd) on the path plus the usual C(sshd) and C(sshd-session) locations.
    type: path
  name_lookups:
    description:
      - Look client (and, for C(daemon@host) rules, server) names up as libwrap does when a rule needs them.
      - The lookups use the target's resolver (C(/etc/hosts), DNS, ...) exactly as sshd's libwrap would, so they
        send the same DNS queries. V(false) makes none; verdicts that need a name are then C(unknown).
    type: bool
    default: true
  lookup_timeout:
    description:
      - Seconds one name lookup (reverse and forward) may take, above 0 and at most 60. A lookup still running then
        makes the verdicts that need it C(unknown), with the reason. All lookups of one call wait 60 s at most.
    type: float
    default: 5.0
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns C(ansible_facts.connreset_tcp_wrappers).
  platform:
    description: Any host with TCP wrappers files; linkage check needs read access to the sshd binary (or C(ldd)).
notes:
  - Run with C(become) when the tables or pattern files are not world-readable; otherwise verdicts that reach them
    are C(unknown).
  - C(tcpdmatch) (Debian package tcpd) is libwrap's own evaluator; this module agrees with it on every case its
    test suite generates, with client names from a private C(/etc/hosts) too, and, unlike it, says when a verdict
    needs a name lookup that could not be made.
seealso:
  - name: hosts_access(5)
    description: The access control language.
    link: https://manpages.debian.org/bookworm/libwrap0-dev/hosts_access.5.en.html
  - name: hosts_options(5)
    description: The option extensions (allow, deny, spawn, twist, ...).
    link: https://manpages.debian.org/bookworm/libwrap0-dev/hosts_options.5.en.html
'''

EXAMPLES = r'''
- name: May the controller reach sshd on the targets?
  connreset.doctor.tcp_wrappers_facts:
  become: true

- name: Decide for a few addresses
  connreset.doctor.tcp_wrappers_facts:
    clients: [192.0.2.10, 2001:db8::10]

- name: Fail when the controller would be refused
  ansible.builtin.assert:
    that: ansible_facts.connreset_tcp_wrappers.verdicts | selectattr('access', 'eq', 'denied') | list | length == 0
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: dict
  contains:
    connreset_tcp_wrappers:
      description: TCP wrappers rules and verdicts.
      returned: always
      type: dict
      contains:
        status:
          description:
            - C(ok); C(partial) or C(unknown) when a table or the sshd binary could not be read.
            - C(partial) too when the collector's time budget ran out; C(reason) says where, and the verdicts not
              decided are C(unknown).
          type: str
          returned: always
          sample: ok
        reason:
          description: Why the status is not C(ok), with what to do; null when C(ok).
          type: str
          returned: always
          sample: "/etc/hosts.deny: no permission to read /etc/hosts.deny: run with become: true"
        elapsed_s:
          description: Seconds the collector took.
          type: float
          returned: always
          sample: 0.012
        libwrap_in_use:
          description: Whether sshd or sshd-session links libwrap (so the tables apply to ssh); null when unknown.
          type: bool
          returned: always
          sample: true
        libwrap_binaries:
          description: Each existing binary checked and whether it links libwrap (null when it could not be told).
          type: dict
          returned: always
          sample: {"/usr/sbin/sshd": true}
        daemon:
          description: The daemon name the rules were matched against.
          type: str
          returned: always
          sample: sshd
        clients:
          description: The client addresses evaluated, as libwrap prints them.
          type: list
          elements: str
          returned: always
          sample: ["192.0.2.10"]
        clients_source:
          description: C(option) (from O(clients)), C(controller) (from E(SSH_CONNECTION)) or C(none).
          type: str
          returned: always
          sample: controller
        clients_note:
          description: Why no client was evaluated (C(clients_source) C(none), or an empty O(clients) list); else null.
          type: str
          returned: always
          sample: null
        files:
          description: The two tables.
          type: list
          elements: dict
          returned: always
          contains:
            path:
              description: File path.
              type: str
              sample: /etc/hosts.allow
            exists:
              description: Whether it exists (a missing table is an empty one); null when that could not be told.
              type: bool
              sample: true
            readable:
              description: Whether it could be read; null when it does not exist.
              type: bool
              sample: true
        rules_total:
          description: Number of rules in both tables (all are evaluated; C(rules) lists the first 500).
          type: int
          returned: always
          sample: 2
        errors_total:
          description: Number of errors (C(errors) lists the first 500).
          type: int
          returned: always
          sample: 0
        rules:
          description: The rules, allow table first, in file order (at most 500; see C(rules_total)).
          type: list
          elements: dict
          returned: always
          contains:
            file:
              description: Table path.
              type: str
              sample: /etc/hosts.deny
            line:
              description: First physical line of the rule.
              type: int
              sample: 17
            end_line:
              description: Last physical line (differs with backslash continuations; libwrap's logs name this one).
              type: int
              sample: 17
            daemons:
              description: Daemon list elements, C(EXCEPT) included.
              type: list
              elements: str
              sample: ["ALL"]
            clients:
              description: Client list elements, C(EXCEPT) included.
              type: list
              elements: str
              sample: ["ALL", "EXCEPT", "10.0.0.0/8"]
            options:
              description: Options, or null when the rule has no option field; C(error) is what libwrap refuses.
              type: list
              elements: dict
              sample: [{"name": "deny", "value": null, "error": null}]
        errors:
          description: Lines libwrap skips, misreads or refuses, and pattern files it cannot read.
          type: list
          elements: dict
          returned: always
          contains:
            file:
              description: Table path.
              type: str
              sample: /etc/hosts.allow
            line:
              description: First physical line.
              type: int
              sample: 3
            text:
              description: The logical line.
              type: str
              sample: "sshd: 2001:db8::1"
            reason:
              description: What libwrap does with it and how to fix it.
              type: str
              sample: "IPv6 address 2001:db8::1 without brackets: libwrap splits the rule at its \":\" so it never
                matches (and the rest is read as options); write [2001:db8::1]"
            stops:
              description: Present (true) when libwrap stops reading the file at this line.
              type: bool
              sample: true
        verdicts:
          description: One per client.
          type: list
          elements: dict
          returned: always
          contains:
            client:
              description: Client address.
              type: str
              sample: 192.0.2.10
            daemon:
              description: Daemon name.
              type: str
              sample: sshd
            access:
              description: C(granted), C(denied) or C(unknown).
              type: str
              sample: denied
            file:
              description: Table of the deciding rule; null for the default grant.
              type: str
              sample: /etc/hosts.deny
            line:
              description: First line of the deciding rule; null for the default grant.
              type: int
              sample: 1
            end_line:
              description: Last physical line of the deciding rule; null for the default grant.
              type: int
              sample: 1
            reason:
              description: Why, including what an C(unknown) verdict would need (name resolution, IDENT, ...).
              type: str
              sample: /etc/hosts.deny line 1 matches in the deny file
            options:
              description: Options of the deciding rule.
              type: list
              elements: dict
              sample: []
            name:
              description:
                - The client name libwrap gets from the lookup - a host name, C(unknown) (no reverse name) or
                  C(paranoid) (numeric, or its forward lookup does not give the address back); null when no lookup was
                  made or it did not finish (see C(lookup)).
              type: str
              sample: web1.example.com
            name_source:
              description:
                - Where the reverse name came from - C(hosts) (C(/etc/hosts), asked before DNS in C(nsswitch.conf)),
                  C(dns) (DNS or another name service), C(none) (no name).
              type: str
              sample: dns
            lookup_s:
              description: Seconds the lookup took (reverse and forward); null when none was made.
              type: float
              sample: 0.004
            lookup:
              description:
                - C(not_needed) (no rule reached needed the name; libwrap looks nothing up either), C(done),
                  C(timeout) (the verdict may then be C(unknown)), C(error), C(off) (O(name_lookups=false)); null for
                  a client not evaluated before the time budget ran out.
              type: str
              sample: done
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module
from ansible_collections.connreset.doctor.plugins.module_utils._tcp_wrappers import (
    ARGUMENT_SPEC, MODULE_BUDGET_S, collect,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_fact_module(module, 'connreset_tcp_wrappers',
                    lambda: run_collector('tcp_wrappers', collect, System(module), module.params, budget=MODULE_BUDGET_S))


if __name__ == '__main__':
    main()
