#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: conntrack_facts
short_description: Gather connection-tracking table fill, drop statistics, timeouts and table-full events
version_added: 1.0.0
description:
  - Tells whether netfilter connection tracking is loaded and reads C(nf_conntrack_count), C(nf_conntrack_max),
    C(nf_conntrack_buckets) and the fill ratio.
  - Sums the per-CPU statistics of C(/proc/net/stat/nf_conntrack) by column name (the header differs between
    kernels 3.x, 4.x, 5.x and 6.x), falling back to C(conntrack -S).
  - Reads the TCP timeouts C(/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_*).
  - Counts the kernel's C(table full, dropping packet) messages (C(nf_conntrack) and the older C(ip_conntrack)) in the
    journal's kernel messages (C(_TRANSPORT=kernel)), C(dmesg) when the journal is not readable,
    C(/var/log/kern.log) (or, without it, C(/var/log/messages) and C(/var/log/syslog)), or in O(log_files).
  - "Only what the kernel wrote counts, the whole message as the kernel prints it (Linux 3.10 to 6.12, with the
    doubled C(nf_conntrack: nf_conntrack:) prefix from 4.9 on); an operator's note or another program's line that
    quotes it never does."
  - Tells whether this is a non-initial network namespace (C(shared_netns)), where the table limit is machine-wide;
    C(nf_conntrack_max) is mode 0444 in every namespace but the initial one. Kernels before 4.x kept it writable, so
    there a child namespace can read C(false).
  - On AWS ENA interfaces (driver C(ena) in C(/sys/class/net/IFACE/device/driver)) reads the allowance counters of
    C(ethtool -S).
  - Without the conntrack module, C(loaded) is C(false), the status is C(ok) (no table, no table risk) and the counters
    are null.
author: connreset.doctor contributors (@connreset)
options:
  since:
    description:
      - How far back to look in the logs, a duration (V(7d), V(24h), V(30m)), a date (V(2024-05-01)), a date-time
        (V(2024-05-01T12:00:00Z)) or V(@epoch). A date that does not exist or a time in the future is an error.
      - Not given, the window is the 7 days before now, or with O(log_files) the 7 days before the newest time found
        in those files; RV(ansible_facts.connreset_conntrack.table_full_events.window) says which window was used.
    type: str
  log_files:
    description:
      - Read these files (plain or C(.gz)) instead of the journal, dmesg and the default syslog files. Each must be a
        regular file (not a directory, device or FIFO).
    type: list
    elements: path
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns C(ansible_facts.connreset_conntrack).
  platform:
    description: Linux targets.
notes:
  - The kernel log needs root when C(kernel.dmesg_restrict=1) and the journal needs C(systemd-journal) membership;
    use C(become=true).
  - The kernel rate-limits the table-full message (C(net_ratelimit)), so its count is a lower bound of the packets
    dropped; C(stats.drop) counts every one.
'''

EXAMPLES = r'''
- name: Conntrack facts over the last day
  connreset.doctor.conntrack_facts:
    since: 24h
  become: true

- name: Warn when the table is more than 80% full
  ansible.builtin.debug:
    msg: "conntrack {{ ansible_facts.connreset_conntrack.count }}/{{ ansible_facts.connreset_conntrack.max }}"
  when: (ansible_facts.connreset_conntrack.fill | default(0, true)) > 0.8
'''

RETURN = r'''
ansible_facts:
  description: Facts under C(connreset_conntrack).
  returned: always
  type: dict
  contains:
    connreset_conntrack:
      description: Connection-tracking facts.
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
          sample: null
        elapsed_s:
          description: Seconds the collector took.
          type: float
          returned: always
          sample: 0.02
        loaded:
          description: Connection tracking is present in this network namespace.
          type: bool
          returned: always
          sample: true
        loaded_by:
          description: The file that showed it (null when not loaded).
          type: str
          returned: always
          sample: /proc/sys/net/netfilter/nf_conntrack_count
        count:
          description: Entries in this namespace's table; null when not loaded or unreadable.
          type: int
          returned: always
          sample: 1843
        max:
          description: Table limit (C(nf_conntrack_max)); machine-wide.
          type: int
          returned: always
          sample: 262144
        fill:
          description: C(count / max), 0..1; null when either is unknown.
          type: float
          returned: always
          sample: 0.007
        buckets:
          description: Hash table size (C(nf_conntrack_buckets)).
          type: int
          returned: always
          sample: 262144
        stats:
          description:
            - Per-CPU statistics summed, by kernel column name; C(drop), C(early_drop), C(insert_failed), C(invalid)
              and C(search_restart) are always present (null when this kernel lacks the column).
            - Null when neither the /proc file nor C(conntrack -S) could be read.
          type: dict
          returned: always
          sample: {drop: 0, early_drop: 0, insert_failed: 0, invalid: 12, search_restart: 3, found: 0, insert: 0,
                   clashres: 0, icmp_error: 0}
        stats_source:
          description: C(/proc/net/stat/nf_conntrack) or C(conntrack -S).
          type: str
          returned: always
          sample: /proc/net/stat/nf_conntrack
        timeouts:
          description: TCP timeouts in seconds (null each when unreadable).
          type: dict
          returned: always
          sample: {established: 432000, close_wait: 60, time_wait: 120, syn_sent: 120, syn_recv: 60, fin_wait: 120,
                   last_ack: 30, close: 10, unacknowledged: 300, max_retrans: 300}
        table_full_events:
          description:
            - Kernel "table full, dropping packet" messages in the window. Log sources overlap (journal, dmesg,
              kern.log hold the same lines), so C(count) is the count in the source that holds the most.
            - C(count) is null when no log source could be read.
          type: dict
          returned: always
          sample: {count: 2, last: '2024-07-08T10:03:53Z', samples: ['Jul  8 10:03:53 h kernel: nf_conntrack: nf_conntrack:
                   table full, dropping packet'], source: /var/log/kern.log, status: ok, reason: null,
                   since: '2024-07-01T10:00:00Z', window: {since: '2024-07-01T10:00:00Z', until: null, basis: now},
                   outside_window: {table_full: 0}, skipped_lines: {count: 0, samples: []},
                   sources: [{name: dmesg, status: ok, reason: null, lines: 488, skipped_lines: 0, outside_lines: 0}]}
          contains:
            count:
              description: Number of messages.
              type: int
            last:
              description: Time of the last one (ISO-8601 UTC) or null.
              type: str
            samples:
              description: Up to 5 raw lines (each cut to 400 characters), most recent last.
              type: list
              elements: str
            series:
              description:
                - When the messages of the source counted were written, each with its line, in the shape of
                  C(connreset_sshd.events.crashes.series) (exact times up to 20, then counts per fixed bucket of the
                  window). V(null) when C(count) is.
              type: dict
            source:
              description: The log source counted.
              type: str
            status:
              description: C(ok) when one full log source was read.
              type: str
            reason:
              description: Why a log could not be read.
              type: str
            since:
              description: Start of the window (ISO-8601 UTC).
              type: str
            window:
              description:
                - The window used, C({since, until, basis}) (ISO-8601 UTC; C(until) null means now). C(basis) is
                  C(option) (O(since) given), C(now) (the 7 days before now) or C(newest_line) (O(log_files) without
                  O(since), the 7 days before the newest time in the files).
              type: dict
            outside_window:
              description: C({table_full} = N), the kernel's table-full lines whose time is outside the window (counted,
                never dropped silently).
              type: dict
            skipped_lines:
              description: Lines that could not be read, C({count, samples}) (at most 3 samples of 200 characters), that
                is longer than 8 KiB, holding a NUL byte, or with a date or time that cannot exist.
              type: dict
            sources:
              description: Each source tried, C(name), C(status), C(reason), C(lines), C(skipped_lines) and
                C(outside_lines); C(/var/log/messages) and C(/var/log/syslog) also C(covered_by_journal), their lines
                from this boot left to the journal when it holds this boot's kernel messages.
              type: list
              elements: dict
        shared_netns:
          description: True in a non-initial network namespace (container), where C(max) is shared machine-wide;
            null when unknown or not loaded.
          type: bool
          returned: always
          sample: false
        netns_method:
          description: How C(shared_netns) was decided (the mode of C(nf_conntrack_max)), or why it could not be.
          type: str
          returned: always
          sample: /proc/sys/net/netfilter/nf_conntrack_max mode 0644
        ena_allowance:
          description: ENA allowance counters per ENA interface; C({}) when the host has no ENA interface; an interface
            maps to null when its counters could not be read.
          type: dict
          returned: always
          sample: {eth0: {bw_in_allowance_exceeded: 0, bw_out_allowance_exceeded: 0, pps_allowance_exceeded: 0,
                   conntrack_allowance_available: 450878, conntrack_allowance_exceeded: 0, linklocal_allowance_exceeded: 0}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module
from ansible_collections.connreset.doctor.plugins.module_utils._conntrack import ARGUMENT_SPEC, collect


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_fact_module(module, 'connreset_conntrack', lambda: run_collector('conntrack', collect, System(module), module.params))


if __name__ == '__main__':
    main()
