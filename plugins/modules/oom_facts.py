#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: oom_facts
short_description: Find out-of-memory kills (kernel, memory cgroup, systemd-oomd) and read memory pressure
version_added: 1.0.0
description:
  - Reads the kernel log (the journal, C(dmesg), C(/var/log/kern.log), C(/var/log/messages),
    C(/var/log/syslog)) or only the files given in O(log_files), and reports one entry per
    process killed by the kernel OOM killer (global or memory cgroup) or cgroup killed by
    systemd-oomd, merging the lines that describe one kill (the C(oom-kill:) summary, the
    C(Killed process) line, the C(oom_reaper) line) and the same kill read from several sources.
  - Follows the kernel's own format strings (C(mm/oom_kill.c), C(mm/memcontrol.c)) from Linux 3.10
    to 6.12. Processes only named in the OOM report's task table, as the allocating task
    (C(invoked oom-killer)), as the process chosen when a child was sacrificed instead (C(Kill process
    N (x) score S or sacrifice child), Linux 4.19 and older, where the following C(Killed process) line
    names the victim) or as a victim that was already exiting (C(OOM victim N (x) is already exiting. Skip
    killing the task), Linux 5.10 and later) were not killed and are not counted.
  - Counts only what the kernel, PID 1 (unit results) and systemd-oomd wrote. Journal entries are
    selected by C(_TRANSPORT=kernel), C(_PID=1) over the native protocol and C(_SYSTEMD_UNIT=systemd-oomd.service),
    which no unprivileged process can claim, log file lines by their ident, and every message is matched whole. A
    C(logger) note or a user name quoted in an sshd line never counts. C(/var/log/kern.log) is read
    instead of C(/var/log/messages) and C(/var/log/syslog) when it exists (in those two, any local
    user can write C(kernel:) lines with C(logger -t kernel)); without it, their lines from this boot
    are left to the journal when it holds this boot's kernel messages.
  - Lists at most the 20 most recent kills and unit results; the counts, per-process and per-unit
    counts and RV(ansible_facts.connreset_oom.watched_killed) cover every kill.
  - Reports systemd unit results caused by OOM kills, whether the watched processes (sshd by
    default) were killed, the kernel's own OOM kill counter from C(/proc/vmstat), and the
    memory situation now (meminfo, pressure stall information, load).
  - When no log could be read, RV(ansible_facts.connreset_oom.kills) is V(null) (not an empty
    list) and the status says why; reading the kernel log usually needs C(become=true)
    (C(kernel.dmesg_restrict=1), journal permissions, C(adm) group for log files).
  - Reads only; never changes the host.
author: connreset.doctor contributors (@connreset)
options:
  since:
    description:
      - How far back to look in the logs, as a duration (V(7d), V(24h), V(30m)), a date or
        date-time (V(2024-05-01), V(2024-05-01T12:00:00Z)) or V(@<epoch seconds>). A date that does
        not exist or a time in the future is an error.
      - Not given, the window is the 7 days before now, or with O(log_files) the 7 days before the
        newest time found in those files (logs copied long ago are read over their own last week).
        RV(ansible_facts.connreset_oom.log.window) says which window was used.
    type: str
  log_files:
    description:
      - Read only these files (plain or C(.gz)) instead of the host's journal, C(dmesg) and
        default log files, for example to analyse logs copied from another host. Each must be a
        regular file (not a directory, device or FIFO).
      - Lines in C(dmesg) format are timed with this host's boot time.
    type: list
    elements: path
  watch:
    description:
      - Process names to report in RV(ansible_facts.connreset_oom.watched_killed) when the OOM
        killer took them; C(sshd) also matches kills in C(ssh.service) and C(sshd.service).
    type: list
    elements: str
    default: [sshd, sshd-session]
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns C(ansible_facts.connreset_oom).
  platform:
    description: Linux (reads C(/proc) and the kernel log).
notes:
  - The kernel's own log lines are the only record of which process was killed; the
    C(/proc/vmstat) counter only says how many (Linux 4.13 or later).
  - systemd records C(Failed with result 'oom-kill') only on cgroup v2 hosts; on cgroup v1 a
    unit whose process was OOM-killed fails with C(result 'signal').
seealso:
  - name: Linux OOM killer (mm/oom_kill.c)
    description: Where the kernel messages parsed here come from.
    link: https://www.kernel.org/doc/gorman/html/understand/understand016.html
'''

EXAMPLES = r'''
- name: Look for OOM kills in the last 7 days
  connreset.doctor.oom_facts:
  become: true

- name: Analyse a kernel log copied from another host (the week before its newest line)
  connreset.doctor.oom_facts:
    log_files:
      - /tmp/evidence/kern.log
      - /tmp/evidence/kern.log.1

- name: Fail when sshd was OOM-killed
  ansible.builtin.assert:
    that: ansible_facts.connreset_oom.watched_killed | default([], true) | length == 0
    fail_msg: "OOM killer took {{ ansible_facts.connreset_oom.watched_killed }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    connreset_oom:
      description: OOM kills and memory state.
      returned: always
      type: dict
      contains:
        status:
          description: V(ok), V(partial) (some sources unreadable) or V(unknown) (nothing readable).
          type: str
          returned: always
          sample: ok
        reason:
          description: Why the status is not V(ok), with what to do about it; V(null) when V(ok).
          type: str
          returned: always
          sample: "log: dmesg: no permission to read the kernel log (kernel.dmesg_restrict=1): use become: true"
        elapsed_s:
          description: Seconds the collector took.
          type: float
          returned: always
          sample: 0.21
        kills:
          description:
            - One entry per killed process (kernel) or cgroup (systemd-oomd), oldest first; the 20 most
              recent when there were more (see C(kills_truncated) and C(kill_count)).
            - V(null) when no log source could be read; V([]) when the logs were read and hold no kill.
            - On a shared kernel (a container, a namespace host) only the kills in this host's own
              cgroup tree; the others are summarized in C(kills_elsewhere).
          type: list
          elements: dict
          returned: always
          sample:
            - time: "2024-05-01T12:34:56Z"
              scope: memcg
              pid: 1234
              process: sshd
              cgroup: /system.slice/ssh.service
              unit: ssh.service
              rss_kb: 39160
              uid: 0
              oom_score_adj: 0
              constraint: CONSTRAINT_MEMCG
              source: "journal:812"
              evidence:
                - "2024-05-01T12:34:56+0000 host kernel: Memory cgroup out of memory: Killed process 1234 (sshd) ..."
          contains:
            time:
              description: When (ISO 8601 UTC), V(null) when the line had no usable time.
              type: str
              sample: "2024-05-01T12:34:56Z"
            scope:
              description: V(global) (the whole machine ran out), V(memcg) (a memory cgroup limit) or V(oomd) (systemd-oomd).
              type: str
              sample: memcg
            pid:
              description: PID of the killed process; V(null) for systemd-oomd (it kills whole cgroups).
              type: int
              sample: 1234
            process:
              description: Command name of the killed process (may contain spaces and parentheses).
              type: str
              sample: sshd
            cgroup:
              description: The killed task's cgroup when the log names it, else V(null).
              type: str
              sample: /system.slice/ssh.service
            unit:
              description: The systemd unit derived from the cgroup, else V(null).
              type: str
              sample: ssh.service
            rss_kb:
              description: Resident memory of the process when killed (anon + file + shmem), kB.
              type: int
              sample: 39160
            uid:
              description: User ID of the killed process when logged.
              type: int
              sample: 0
            oom_score_adj:
              description: The process's oom_score_adj when logged (Linux 5.1 or later).
              type: int
              sample: 0
            constraint:
              description: The C(oom-kill:) summary's constraint (Linux 4.19 or later).
              type: str
              sample: CONSTRAINT_MEMCG
            source:
              description: Where the first line of the kill was read, as C(source:line).
              type: str
              sample: "dmesg:1432"
            evidence:
              description: Up to 4 raw log lines of this kill, each cut to 400 characters.
              type: list
              elements: str
              sample: ["[ 3062.595832] Memory cgroup out of memory: Killed process 18572 (python3) total-vm:42264kB, ..."]
            selected:
              description:
                - "Linux 4.19 and older: the process the OOM killer chose (C(Kill process N (x) score S or
                  sacrifice child)) when it killed this child of it instead, as C({pid, process}); the
                  chosen process itself was not killed. V(null) otherwise."
              type: dict
              sample: {pid: 4410, process: sshd}
        kill_count:
          description: Number of kills in the window (all of them, not only those listed); V(null) when no log could be read.
          type: int
          returned: always
          sample: 1
        kills_truncated:
          description: V(true) when RV(ansible_facts.connreset_oom.kills) lists only the 20 most recent of more kills.
          type: bool
          returned: always
          sample: false
        kills_by_process:
          description: Killed process names (the unit for systemd-oomd kills) and how many times, the 20 most frequent.
          type: dict
          returned: always
          sample: {sshd: 1}
        kills_by_unit:
          description: Units of the killed processes (when the log names their cgroup) and how many kills, the 20 most frequent.
          type: dict
          returned: always
          sample: {ssh.service: 1}
        victims_exiting:
          description:
            - How many times the OOM killer found its victim already exiting and killed nothing (C(OOM victim
              N (x) is already exiting. Skip killing the task), Linux 5.10 and later); not kills.
            - V(null) when no log could be read.
          type: int
          returned: always
          sample: 0
        kill_series:
          description:
            - When this host's kills in the window happened, each noted with its victim (V(sshd (pid 812,
              ssh.service))), in the shape of C(connreset_sshd.events.crashes.series) (exact times up to 20 kills, then
              counts per fixed bucket of the window). Kills past the 10,000 the collector keeps are counted in
              C(kill_count) only. V(null) when no log could be read.
          type: dict
          returned: always
          sample: {mode: times, since: "2024-04-24T12:00:00Z", until: "2024-05-01T12:00:00Z", count: 1,
                   first: "2024-05-01T10:15:02Z", last: "2024-05-01T10:15:02Z", untimed: 0, outside: 0, max_times: 20,
                   bucket_s: null, buckets: [], times: [{time: "2024-05-01T10:15:02Z", note: "sshd (pid 812, ssh.service)"}]}
        kills_elsewhere:
          description:
            - Kills the kernel log shows in cgroups outside this host's own tree, not counted in
              C(kills). In a container or namespace host the kernel log is the whole machine's, other
              containers' kills included.
            - This host's tree is taken from the memory cgroup of its PID 1 (C(/proc/1/cgroup); a
              systemd PID 1's C(init.scope) removed). Kills without a cgroup in the log (a global OOM
              on Linux before 4.19) stay this host's.
            - V(null) when the kills cannot be told apart, and all count as this host's, when the host
              is at the root of the cgroup tree (a whole machine, or a container with a private cgroup
              namespace such as systemd-nspawn or Docker on cgroup v2, whose PID 1 cannot see where its tree is
              while the kernel logs full paths). Also V(null) when O(log_files) is given (copied logs are
              another host's) or when no log could be read.
          type: dict
          returned: always
          sample: {count: 1, cgroup_root: /docker/3f1c8a7e9b2d, processes: {python3: 1},
                   cgroups: {/docker/77aa01/system.slice/app.service: 1}, samples: [], reason: "..."}
          contains:
            count:
              description: Number of such kills.
              type: int
            cgroup_root:
              description: This host's own cgroup tree.
              type: str
            processes:
              description: Killed process names and how many times, the 20 most frequent.
              type: dict
            cgroups:
              description: Up to 10 cgroups and their kill counts, most first.
              type: dict
            samples:
              description: The last 3 such kills, shaped as the entries of C(kills).
              type: list
              elements: dict
            reason:
              description: One sentence saying why they are not counted; V(null) when there are none.
              type: str
        unit_results:
          description:
            - systemd unit results caused by OOM kills, as PID 1 logged them (a user's own service manager is not
              believed); the 20 most recent. V(null) when no log source could be read.
            - C(result) is V(oom-kill) (C(Failed with result 'oom-kill')), V(oom-killed-process)
              (C(A process of this unit has been killed by the OOM killer)) or V(oomd-kill)
              (C(systemd-oomd killed N process(es) in this unit)).
          type: list
          elements: dict
          returned: always
          sample:
            - unit: ssh.service
              time: "2024-05-01T12:34:57Z"
              result: oom-kill
              source: "journal:815"
              line: "2024-05-01T12:34:57+0000 host systemd[1]: ssh.service: Failed with result 'oom-kill'."
        unit_result_count:
          description: Number of such unit results (all of them); V(null) when no log could be read.
          type: int
          returned: always
          sample: 1
        unit_results_truncated:
          description: V(true) when RV(ansible_facts.connreset_oom.unit_results) lists only the 20 most recent.
          type: bool
          returned: always
          sample: false
        watched_killed:
          description: Names from O(watch) that were killed (by process name or unit), over every kill read; V(null) when no log could be read.
          type: list
          elements: str
          returned: always
          sample: [sshd]
        vmstat_oom_kill:
          description: The kernel's count of OOM kills since boot (C(/proc/vmstat) C(oom_kill)); V(null) before Linux 4.13.
          type: int
          returned: always
          sample: 1
        vmstat_reason:
          description: Why RV(ansible_facts.connreset_oom.vmstat_oom_kill) is V(null), else V(null).
          type: str
          returned: always
          sample: null
        memory:
          description: Memory now.
          type: dict
          returned: always
          sample:
            status: ok
            reason: null
            mem_total_kb: 4028776
            mem_available_kb: 2511132
            swap_total_kb: 0
            swap_free_kb: 0
            psi: {some: {avg10: 0.0, avg60: 0.0, avg300: 0.0, total: 0}, full: {avg10: 0.0, avg60: 0.0, avg300: 0.0, total: 0}}
            psi_reason: null
            load: [0.52, 0.31, 0.2]
            cpus: 2
            load_per_cpu: [0.26, 0.155, 0.1]
          contains:
            status:
              description: V(ok) when C(/proc/meminfo) was read, else V(unknown).
              type: str
              sample: ok
            reason:
              description: Why not V(ok).
              type: str
              sample: null
            mem_total_kb:
              description: MemTotal, kB.
              type: int
              sample: 4028776
            mem_available_kb:
              description: MemAvailable, kB.
              type: int
              sample: 2511132
            swap_total_kb:
              description: SwapTotal, kB.
              type: int
              sample: 0
            swap_free_kb:
              description: SwapFree, kB.
              type: int
              sample: 0
            psi:
              description:
                - "Memory pressure stall information (C(/proc/pressure/memory)) as
                  C({some: {avg10, avg60, avg300, total}, full: {...}}); averages in percent, total in microseconds."
                - V(null) when the kernel has no PSI (see RV(ansible_facts.connreset_oom.memory.psi_reason)).
              type: dict
              sample: {some: {avg10: 0.0, avg60: 0.0, avg300: 0.0, total: 0}}
            psi_reason:
              description: Why RV(ansible_facts.connreset_oom.memory.psi) is V(null).
              type: str
              sample: null
            load:
              description: Load averages over 1, 5 and 15 minutes.
              type: list
              elements: float
              sample: [0.52, 0.31, 0.2]
            cpus:
              description: Number of CPUs (C(/proc/cpuinfo)).
              type: int
              sample: 2
            load_per_cpu:
              description: Load averages divided by RV(ansible_facts.connreset_oom.memory.cpus).
              type: list
              elements: float
              sample: [0.26, 0.155, 0.1]
        log:
          description: How reading the logs went.
          type: dict
          returned: always
          sample:
            status: unknown
            reason: "journal: no systemd journal on this host (journalctl found no journal files); dmesg: no permission ..."
            since: "2024-04-24T12:00:00Z"
            window: {since: "2024-04-24T12:00:00Z", until: null, basis: now}
            outside_window: {kills: 0, unit_results: 0, victims_exiting: 0}
            skipped_lines: {count: 0, samples: []}
            sources: [{name: dmesg, status: unknown, reason: "no permission ...", lines: 0, skipped_lines: 0, outside_lines: 0}]
          contains:
            status:
              description: V(ok) when one source was read in full.
              type: str
              sample: ok
            reason:
              description: Which sources could not be read, and why.
              type: str
              sample: null
            since:
              description: Start of the window looked at (ISO 8601 UTC).
              type: str
              sample: "2024-04-24T12:00:00Z"
            window:
              description:
                - The window used, C({since, until, basis}) (ISO 8601 UTC; C(until) V(null) means now). C(basis) is
                  V(option) (O(since) given), V(now) (the 7 days before now) or V(newest_line) (O(log_files)
                  without O(since), the 7 days before the newest time in the files).
              type: dict
              sample: {since: "2024-04-24T12:00:00Z", until: null, basis: now}
            outside_window:
              description:
                - What the lines outside the window (time known, before C(since) or after C(until)) describe,
                  counted per kind like the window's own C(kill_count), C(unit_result_count) and
                  C(victims_exiting), never dropped silently.
              type: dict
              sample: {kills: 2, unit_results: 0, victims_exiting: 0}
            skipped_lines:
              description:
                - Lines that could not be read and were skipped, C({count, samples}) (at most 3 samples of 200
                  characters), that is longer than 8 KiB, holding a NUL byte, or with a date or time that cannot exist.
              type: dict
              sample: {count: 0, samples: []}
            sources:
              description:
                - Each source tried, with C(name), C(status), C(reason), C(lines) read, C(skipped_lines) and
                  C(outside_lines) (lines outside the window).
                - C(/var/log/messages) and C(/var/log/syslog) also have C(covered_by_journal) when the journal holds
                  this boot's kernel messages, the number of their matching lines from this boot left to the journal
                  (any local user can write C(kernel:) lines into those files, nobody can into the journal).
              type: list
              elements: dict
              sample: [{name: dmesg, status: ok, reason: null, lines: 1520, skipped_lines: 0, outside_lines: 0}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module
from ansible_collections.connreset.doctor.plugins.module_utils._oom import ARGUMENT_SPEC, collect


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_fact_module(module, 'connreset_oom', lambda: run_collector('oom', collect, System(module), module.params, budget=120))


if __name__ == '__main__':
    main()
