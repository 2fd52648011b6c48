#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: tcp_facts
short_description: Read TCP reset and listen-queue counters, TCP sysctls, accept queues and socket states
version_added: 1.0.0
description:
  - Reads the kernel's TCP counters (C(/proc/net/snmp) C(Tcp:) and C(/proc/net/netstat)
    C(TcpExt:)) such as C(EstabResets), C(OutRsts), C(ListenOverflows), C(ListenDrops),
    C(TCPAbortOnData), C(TCPAbortOnTimeout), optionally sampled twice to give rates.
  - Reads TCP keepalive, backlog and retry sysctls, the accept queue of the listening sockets on
    O(ports) (C(ss -Hltn); C(/proc/net/tcp) when C(ss) is missing) and counts sockets per TCP state.
  - All of these are per network namespace; the values are those of the namespace the module runs in.
  - Needs no privileges. Reads only; never changes the host.
author: connreset.doctor contributors (@connreset)
options:
  ports:
    description:
      - Report the listening sockets on these TCP ports (the sshd port by default).
      - An empty list reports every listening socket.
    type: list
    elements: int
    default: [22]
  sample_seconds:
    description:
      - Read the counters twice, this many seconds apart, and report per-second rates.
      - V(0) (the default) reads once and RV(ansible_facts.connreset_tcp.rates) is V(null). At most V(30).
    type: int
    default: 0
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns C(ansible_facts.connreset_tcp).
  platform:
    description: Linux (reads C(/proc/net)).
notes:
  - Counters count since boot (or since the network namespace was created); compare them with
    RV(ansible_facts.connreset_tcp.uptime_s) or use O(sample_seconds) to see what happens now.
'''

EXAMPLES = r'''
- name: Read TCP counters and the sshd accept queue
  connreset.doctor.tcp_facts:

- name: Measure reset and overflow rates over 5 seconds, for sshd on port 2222
  connreset.doctor.tcp_facts:
    ports: [2222]
    sample_seconds: 5

- name: Show listen queue overflows
  ansible.builtin.debug:
    msg: "ListenOverflows={{ ansible_facts.connreset_tcp.counters.ListenOverflows }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    connreset_tcp:
      description: TCP state of the network namespace the module ran in.
      returned: always
      type: dict
      contains:
        status:
          description: V(ok), V(partial) (some parts unreadable) or V(unknown).
          type: str
          returned: always
          sample: ok
        reason:
          description: Which parts could not be read and why; V(null) when V(ok).
          type: str
          returned: always
          sample: null
        elapsed_s:
          description: Seconds the collector took.
          type: float
          returned: always
          sample: 0.02
        counters:
          description:
            - Every C(Tcp:) (C(/proc/net/snmp)) and C(TcpExt:) (C(/proc/net/netstat)) field under
              the kernel's name, as read last. V(null) when neither file could be read.
          type: dict
          returned: always
          sample: {EstabResets: 3, OutRsts: 28, AttemptFails: 0, RetransSegs: 0, OutSegs: 4151,
                   ActiveOpens: 33, PassiveOpens: 9, CurrEstab: 0, InErrs: 0, ListenOverflows: 0,
                   ListenDrops: 0, TCPAbortOnData: 2, TCPAbortOnClose: 0, TCPAbortOnMemory: 0,
                   TCPAbortOnTimeout: 0, TCPAbortOnLinger: 0, TCPAbortFailed: 0, TCPReqQFullDrop: 0,
                   TCPReqQFullDoCookies: 0, TCPTimeouts: 0, SyncookiesSent: 0}
        uptime_s:
          description: Seconds since boot (C(/proc/uptime)).
          type: float
          returned: always
          sample: 3062.59
        sample_seconds:
          description: The O(sample_seconds) used.
          type: int
          returned: always
          sample: 0
        rates:
          description: Per-second increase of each counter between the two readings; V(null) when not sampled.
          type: dict
          returned: always
          sample: {ListenOverflows: 0.0, OutRsts: 1.2}
        rates_reason:
          description: Why RV(ansible_facts.connreset_tcp.rates) is V(null), else V(null).
          type: str
          returned: always
          sample: not sampled (set sample_seconds to measure rates)
        sysctls:
          description: TCP sysctls (V(null) where the file is missing).
          type: dict
          returned: always
          sample: {tcp_keepalive_time: 7200, tcp_keepalive_intvl: 75, tcp_keepalive_probes: 9,
                   tcp_abort_on_overflow: 0, somaxconn: 4096, tcp_max_syn_backlog: 512,
                   tcp_syncookies: 1, tcp_fin_timeout: 60, tcp_retries2: 15, tcp_syn_retries: 6}
        sysctls_missing:
          description: Names in RV(ansible_facts.connreset_tcp.sysctls) that could not be read.
          type: list
          elements: str
          returned: always
          sample: []
        ports:
          description: The O(ports) looked at.
          type: list
          elements: int
          returned: always
          sample: [22]
        listeners:
          description: Listening TCP sockets on O(ports); V(null) when neither C(ss) nor C(/proc/net/tcp) could be read.
          type: list
          elements: dict
          returned: always
          sample: [{address: 0.0.0.0, port: 22, recv_q: 0, backlog: 128, overflowing: false, source: ss}]
          contains:
            address:
              description: Local address (V(0.0.0.0), V(::), V(*) mean all).
              type: str
              sample: 0.0.0.0
            port:
              description: Local port.
              type: int
              sample: 22
            recv_q:
              description: Connections waiting in the accept queue now.
              type: int
              sample: 0
            backlog:
              description: Accept queue length (C(min(listen backlog, somaxconn))); V(null) when read from C(/proc/net/tcp).
              type: int
              sample: 128
            overflowing:
              description: True when the accept queue is full now (RV(ansible_facts.connreset_tcp.listeners.recv_q) > backlog).
              type: bool
              sample: false
            source:
              description: V(ss), V(/proc/net/tcp) or V(/proc/net/tcp6).
              type: str
              sample: ss
        states:
          description: Number of TCP sockets per state (C(/proc/net/tcp) and C(tcp6)); V(null) when unreadable.
          type: dict
          returned: always
          sample: {ESTABLISHED: 12, LISTEN: 3, TIME_WAIT: 40, SYN_RECV: 0}
        parts:
          description: C({status, reason}) of each part (C(counters), C(listeners), C(states)).
          type: dict
          returned: always
          sample: {counters: {status: ok, reason: null}, listeners: {status: ok, reason: null}, states: {status: ok, reason: null}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module, waiting_budget
from ansible_collections.connreset.doctor.plugins.module_utils._tcp import ARGUMENT_SPEC, MAX_SAMPLE_SECONDS, collect


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    budget = waiting_budget(module.params['sample_seconds'], MAX_SAMPLE_SECONDS)
    run_fact_module(module, 'connreset_tcp', lambda: run_collector('tcp', collect, System(module), module.params, budget=budget))


if __name__ == '__main__':
    main()
