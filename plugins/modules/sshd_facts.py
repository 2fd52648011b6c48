#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sshd_facts
short_description: Read the health of sshd (service, listeners, effective limits, crashes, MaxStartups drops)
version_added: 1.0.0
description:
  - Reports the sshd service state from the service manager (systemd C(ssh.service) or
    C(sshd.service), OpenRC, SysV init); when no manager runs sshd (containers, hosts started
    by hand) it says so with V(manager=none) instead of guessing.
  - Lists the sshd processes from C(/proc) (listener, sessions, pre-authentication children),
    the listener's C([listener] N of S-F startups) title (OpenSSH 9.x and later) and its
    C(oom_score_adj).
  - Lists the TCP addresses sshd listens on (C(ss -Hltnp), else C(/proc/net/tcp) and C(tcp6)).
  - Reads the effective configuration with C(sshd -T) (MaxStartups, PerSourcePenalties,
    LoginGraceTime, ClientAlive*, ...) and checks it; both need root. C(sshd -T) makes every check
    of C(sshd -t) before it prints, so C(sshd -t) runs only when C(sshd -T) printed nothing, to
    tell an invalid configuration (and where) from other failures.
  - Reads the OpenSSH version and whether sshd or sshd-session links libwrap (TCP wrappers).
  - Counts, in the logs of a time window (see O(since)), crashes and restarts of the service, connections
    dropped by MaxStartups, connections refused by PerSourcePenalties and libwrap refusals; lines of those
    kinds outside the window are counted apart (RV(ansible_facts.connreset_sshd.events.outside_window)).
  - Only what the program itself writes counts, so nobody can plant an event. Each message pattern is
    the program's own format string (OpenSSH 7.4 to 10.2, systemd 219 to 257, libwrap 7.6) anchored at
    both ends of the message, so text a client sent (sshd logs user names verbatim) never matches. A
    line counts only from its writer's ident and process - the listener C(sshd) for the MaxStartups and
    PerSourcePenalties lines, C(sshd) or C(sshd-session) for libwrap's C(refused connect from), C(systemd)
    PID 1 for unit lines. The journal is selected by fields journald sets itself (C(_UID=0), C(_PID=1),
    C(_COMM), C(_SYSTEMD_UNIT)), never by C(SYSLOG_IDENTIFIER) alone, which any local C(logger -t sshd) sets.
    The syslog files (C(/var/log/auth.log), ...) hold the same messages, and anyone with C(logger) can write
    any ident and PID into them, so they are read only when the journal could not be read in full.
  - Counting rules. MaxStartups drops of OpenSSH 8.4 to 9.9 are grouped in throttling episodes
    (C(beginning MaxStartups throttling) ... C(exited MaxStartups throttling after T, N connections dropped));
    an episode counts the larger of its per-connection C(drop connection) lines and its summary
    totals, so a drop described by both is counted once (at LogLevel INFO sshd logs only the first
    drop of an episode, the summaries carry the rest).
  - "OpenSSH 10.0 and later log each drop as C(drop connection #N from [A]:P on [B]:P Maxstartups) (a
    MaxStartups drop) or with a C(penalty:) reason (a PerSourcePenalties refusal), and rate-limit them:
    C(Maxstartups logging rate-limited: additional N connections dropped) and
    C(PerSourcePenalties logging rate-limited: additional N connections dropped) add their N (the drops
    held back, logged at DEBUG3 if at all, so a held-back drop with a line of its own is not counted twice)."
  - A crash is counted once although systemd logs C(Main process exited, code=killed) and then
    C(Failed with result 'signal') for it (systemd 219 - C(Unit X entered failed state) and C(X failed.))
    (same unit, within 10 seconds).
  - Restarts are systemd's automatic restarts (C(Scheduled restart job); systemd 219 to 234
    C(holdoff time over, scheduling restart)) plus stops of the service (C(Stopped <sshd unit>), or sshd's
    own C(Received signal 15; terminating.)) that were not part of an automatic restart;
    C(Start request repeated too quickly) is counted in C(gave_up) and C(Received SIGHUP; restarting.) in
    C(reloads).
  - Anything that cannot be read is reported with status V(unknown) and a reason; counts that
    could not be read are V(null), never V(0).
  - Reads only; never changes the host.
author: connreset.doctor contributors (@connreset)
options:
  since:
    description:
      - Start of the log window, as a duration (V(7d), V(24h), V(30m)), a date or date-time
        (V(2024-05-01), V(2024-05-01T12:00:00Z)) or V(@<epoch seconds>); the window then ends now.
      - Not given, the window is the 7 days before now for the host's own logs, and the 7 days before the
        newest line of the files for O(log_files) (a log copied two weeks ago is read over its own last
        week). RV(ansible_facts.connreset_sshd.events.window) says which window was used.
      - A date that does not exist (V(2024-02-30)), one before 1970 or one in the future is an error.
    type: str
  log_files:
    description:
      - Read only these files (plain or C(.gz)) instead of the journal and the default log files
        (C(/var/log/auth.log), C(/var/log/secure), C(/var/log/messages)), for example an
        C(auth.log) copied from another host or sshd's own C(-E) log file.
      - Each must be a regular file (not a directory, a device such as C(/dev/zero) or a FIFO).
      - Lines are counted by their text and ident as they are; whoever could write into a file could plant
        lines in it, so give files from a trusted source.
    type: list
    elements: path
  config_file:
    description:
      - The sshd configuration file given to C(sshd -T) and C(sshd -t) as C(-f).
    type: path
    default: /etc/ssh/sshd_config
  sshd_path:
    description:
      - The sshd binary. By default C(sshd) is searched on C(PATH) and in the C(sbin) directories.
    type: path
  full_config:
    description:
      - Keep every key C(sshd -T) printed in RV(ansible_facts.connreset_sshd.config.raw), not only the ones
        the diagnosis reads.
      - Even then the values that can hold a secret are V(<redacted>) - C(SetEnv) values
        (C(DB_PASSWORD=<redacted>)), the arguments of C(AuthorizedKeysCommand),
        C(AuthorizedPrincipalsCommand) and C(ForceCommand), and any password-, token- or secret-like
        argument (C(--token=<redacted>)).
    type: bool
    default: false
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns C(ansible_facts.connreset_sshd).
  platform:
    description: Linux (reads C(/proc)); OpenSSH 7.x to 10.x log formats.
notes:
  - C(sshd -T) and C(sshd -t) must read the host keys, so run with C(become=true); without root the
    configuration part is V(unknown) (syntax errors are still reported, C(sshd -t) finds them before
    loading keys).
  - C(sshd -T) is evaluated for a connection C(user=root,host=<hostname>,addr=<controller address>)
    (the controller address comes from C(SSH_CONNECTION), else V(127.0.0.1)) so C(Match) blocks apply.
  - libwrap logs C(refused connect from ...) through syslog, not through sshd's C(-E) log file.
  - "The drop summaries counted are C(in MaxStartups throttling for T, N connections dropped) and
    C(exited MaxStartups throttling after T, N connections dropped) (OpenSSH 8.4 to 9.9) and
    C(Maxstartups logging rate-limited: additional N connections dropped) /
    C(PerSourcePenalties logging rate-limited: additional N connections dropped) (OpenSSH 10.0 and later). OpenSSH
    10 writes a rate-limit summary with the next drop it logs, so drops held back at the end of a burst are
    not in the log at LogLevel INFO until then."
  - sshd's C(-E) log file has no timestamps, so its events are counted whatever the window (events V(partial)).
seealso:
  - name: sshd_config(5)
    description: MaxStartups, PerSourcePenalties and the other options read here.
    link: https://man.openbsd.org/sshd_config
'''

EXAMPLES = r'''
- name: Read sshd health
  connreset.doctor.sshd_facts:
  become: true

- name: Analyse an auth.log copied from another host (its last 7 days, up to its newest line)
  connreset.doctor.sshd_facts:
    log_files:
      - /tmp/evidence/auth.log
      - /tmp/evidence/auth.log.1.gz

- name: The same over the last 30 days before now
  connreset.doctor.sshd_facts:
    log_files: [/tmp/evidence/auth.log]
    since: 30d

- name: Fail when sshd dropped connections because of MaxStartups
  ansible.builtin.assert:
    that: (ansible_facts.connreset_sshd.events.maxstartups_drops.count | default(0, true)) == 0
    fail_msg: "MaxStartups {{ ansible_facts.connreset_sshd.config.values.maxstartups }} dropped connections"
'''

RETURN = r'''
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    connreset_sshd:
      description: sshd health.
      returned: always
      type: dict
      contains:
        status:
          description: V(ok), V(partial) (some parts unreadable) or V(unknown) (nothing readable).
          type: str
          returned: always
          sample: partial
        reason:
          description: Why the status is not V(ok), part by part, with what to do; V(null) when V(ok).
          type: str
          returned: always
          sample: "config: sshd -T needs root to read the host keys: use become: true"
        elapsed_s:
          description: Seconds the collector took.
          type: float
          returned: always
          sample: 0.31
        sshd_path:
          description: The sshd binary used, V(null) when none was found.
          type: str
          returned: always
          sample: /usr/sbin/sshd
        installed:
          description:
            - V(false) when nothing says sshd is on this host - no sshd binary on C(PATH) or in the C(sbin)
              directories, no ssh/sshd unit loaded (or no service manager) and no sshd process; the other
              keys are then empty and RV(ansible_facts.connreset_sshd.installed_reason) says so. V(true) otherwise.
          type: bool
          returned: always
          sample: true
        installed_reason:
          description: Why sshd counts as not installed, V(null) when it is installed.
          type: str
          returned: always
          sample: null
        service:
          description: The service as the service manager sees it.
          type: dict
          returned: always
          sample:
            manager: systemd
            unit: ssh.service
            load_state: loaded
            active_state: active
            sub_state: running
            main_pid: 812
            n_restarts: 0
            exec_main_status: 0
            exec_main_code: exited
            result: success
            started_at: "2024-05-05T10:11:12Z"
            exec_main_started_at: "2024-05-05T10:11:12Z"
            status: ok
            reason: null
          contains:
            manager:
              description: V(systemd), V(openrc), V(sysv) or V(none) (no service manager runs sshd).
              type: str
              sample: systemd
            unit:
              description: The unit or init script (V(ssh.service), V(sshd.service), V(sshd), V(ssh)); V(null) when none.
              type: str
              sample: ssh.service
            load_state:
              description: systemd C(LoadState) (systemd only).
              type: str
              sample: loaded
            active_state:
              description: C(ActiveState) (V(active), V(inactive), V(failed), V(activating), ...); V(null) when unknown.
              type: str
              sample: active
            sub_state:
              description: C(SubState) (V(running), V(dead), V(auto-restart), ...), or OpenRC's state.
              type: str
              sample: running
            main_pid:
              description: PID of the main process; V(null) when none or unknown.
              type: int
              sample: 812
            n_restarts:
              description: systemd's automatic restart counter C(NRestarts) (reset by a manual restart).
              type: int
              sample: 3
            exec_main_status:
              description: Exit status or signal number of the last main process (C(ExecMainStatus)).
              type: int
              sample: 9
            exec_main_code:
              description: How the last main process ended (V(exited), V(killed), V(dumped)).
              type: str
              sample: killed
            result:
              description: systemd C(Result) (V(success), V(signal), V(core-dump), V(oom-kill), V(exit-code), V(start-limit-hit)).
              type: str
              sample: success
            started_at:
              description: When the service became active (ISO 8601 UTC when systemd printed UTC, else as printed).
              type: str
              sample: "2024-05-05T10:11:12Z"
            exec_main_started_at:
              description: When the current main process started.
              type: str
              sample: "2024-05-05T10:11:12Z"
            pidfile_pid:
              description: PID read from C(/run/sshd.pid) when no manager runs sshd (only then).
              type: int
              sample: 812
            status:
              description: V(ok) or V(unknown).
              type: str
              sample: ok
            reason:
              description: Why the service state is unknown.
              type: str
              sample: "no service manager runs sshd here: PID 1 is 'bash' (not systemd, OpenRC or SysV init), ..."
        running:
          description: Whether sshd processes run; V(null) when processes of other users are hidden.
          type: bool
          returned: always
          sample: true
        processes:
          description: sshd processes of this network namespace (zombies excluded); V(null) when C(/proc) cannot be listed.
          type: list
          elements: dict
          returned: always
          sample:
            - pid: 812
              ppid: 1
              comm: sshd
              args: "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"
              role: listener
          contains:
            pid:
              description: Process ID.
              type: int
              sample: 812
            ppid:
              description: Parent process ID.
              type: int
              sample: 1
            comm:
              description: Command name (V(sshd), V(sshd-session), V(sshd-auth)).
              type: str
              sample: sshd
            args:
              description: Process title (command line as the process set it).
              type: str
              sample: "sshd: root@pts/0"
            role:
              description: V(listener), V(session) (authenticated or privileged monitor), V(preauth) or V(other).
              type: str
              sample: listener
        processes_other_netns:
          description:
            - sshd processes left out of RV(ansible_facts.connreset_sshd.processes) because they run in another
              network namespace (containers, test hosts); V(null) when C(/proc) cannot be listed.
          type: int
          returned: always
          sample: 0
        listening:
          description:
            - TCP addresses sshd listens on; V([]) when sshd does not listen.
            - V(null) when it cannot be known - no source could be read, or (without root, sshd running as
              root) no socket could be tied to sshd and none is on its configured port; the C(listening) part
              of RV(ansible_facts.connreset_sshd.reason) then says why. Without root, sockets on sshd's
              port are reported (status V(partial)).
          type: list
          elements: dict
          returned: always
          sample:
            - address: 0.0.0.0
              port: 22
            - address: "::"
              port: 22
          contains:
            address:
              description: Local address (V(0.0.0.0) and V(::) mean all addresses).
              type: str
              sample: 0.0.0.0
            port:
              description: TCP port.
              type: int
              sample: 22
        listen_source:
          description: Where the listeners were read, V(ss) or V(proc); V(null) when nowhere.
          type: str
          returned: always
          sample: ss
        config:
          description: The effective configuration (C(sshd -T)) and its validity (C(sshd -t), or C(sshd -T) printing it).
          type: dict
          returned: always
          sample:
            status: ok
            reason: null
            file: /etc/ssh/sshd_config
            valid: true
            error: null
            errors: []
            connection_spec: "user=root,host=web1,addr=10.0.0.5"
            values:
              maxstartups: {start: 10, rate: 30, full: 100}
              persourcepenalties: false
              persourcepenaltyexemptlist: null
              persourcemaxstartups: null
              maxsessions: 10
              logingracetime: 120
              clientaliveinterval: 0
              clientalivecountmax: 3
              tcpkeepalive: true
              usedns: false
              port: [22]
              listenaddress: ["0.0.0.0:22", "[::]:22"]
            unparsed: {}
            raw: {maxstartups: "10:30:100", port: ["22"]}
            raw_scope: used
          contains:
            status:
              description: V(ok) (sshd -T read it, so it is valid too) or V(unknown).
              type: str
              sample: ok
            reason:
              description: Why the configuration could not be read.
              type: str
              sample: "sshd -T needs root to read the host keys: use become: true"
            file:
              description: The configuration file checked.
              type: str
              sample: /etc/ssh/sshd_config
            valid:
              description:
                - V(true) when C(sshd -t) accepts the configuration, V(false) when it rejects it, V(null) when unknown.
                - A configuration C(sshd -T) printed is one C(sshd -t) accepts (C(-T) makes the same checks
                  first), so then it is V(true) without running C(sshd -t).
              type: bool
              sample: true
            error:
              description: C(sshd -t)'s error text when it did not accept the configuration.
              type: str
              sample: "/etc/ssh/sshd_config: line 3: Bad configuration option: Foo"
            errors:
              description: The errors that name a file and line.
              type: list
              elements: dict
              sample:
                - file: /etc/ssh/sshd_config
                  line: 3
                  text: "Bad configuration option: Foo"
            connection_spec:
              description: The C(-C) connection specification C(sshd -T) evaluated C(Match) blocks for.
              type: str
              sample: "user=root,host=web1,addr=127.0.0.1"
            values:
              description:
                - Typed values of the options the diagnosis uses; each V(null) when unknown. The keys are always the
                  same, also when C(sshd -T) could not be read (all V(null) then).
                - C(maxstartups) is C({start, rate, full}) (ints); C(persourcepenalties) is a dict of its
                  settings (seconds for durations) or V(false) when disabled (OpenSSH 9.8+ only,
                  V(null) before); C(persourcepenaltyexemptlist) a list of address/CIDR strings (V(null) for V(none));
                  C(logingracetime) and C(clientaliveinterval) are seconds (int); C(clientalivecountmax),
                  C(maxsessions) and C(persourcemaxstartups) ints; C(tcpkeepalive) and C(usedns) bools;
                  C(port) a list of ints; C(listenaddress) a list of C(address:port) strings; C(pidfile) the
                  listener's PID file (V(null) for V(none)).
                - These are what the diagnosis reads; it parses no C(sshd -T) text itself (docs/development.md).
              type: dict
              sample:
                maxstartups: {start: 10, rate: 30, full: 100}
                persourcepenalties: {crash: 90, authfail: 5, noauth: 1, grace-exceeded: 10, max: 600, min: 15,
                                     max-sources4: 65536, max-sources6: 65536, overflow: permissive,
                                     overflow6: permissive}
                logingracetime: 120
            unparsed:
              description:
                - The values C(sshd -T) printed that could not be typed, as printed (key to text, a list for C(port));
                  their key in C(values) is V(null). Empty when everything was read; V(null) when C(sshd -T) was not
                  read.
              type: dict
              sample: {}
            raw:
              description:
                - The keys C(sshd -T) printed that the diagnosis reads (those of C(values)), as strings;
                  multi-valued keys as lists. V(null) when unknown.
                - With O(full_config) every key, with the values that can hold a secret V(<redacted>).
              type: dict
              sample: {maxstartups: "10:30:100", port: ["22"]}
            raw_scope:
              description: V(used) (the keys the diagnosis reads) or V(full) (O(full_config)); absent when unknown.
              type: str
              sample: used
        version:
          description: OpenSSH version (C(9.2p1)); V(null) when unknown.
          type: str
          returned: always
          sample: 9.2p1
        version_info:
          description: Major and minor version as numbers.
          type: list
          elements: int
          returned: always
          sample: [9, 2]
        version_full:
          description: The version as OpenSSH printed it, distribution suffix included.
          type: str
          returned: always
          sample: OpenSSH_9.2p1 Debian-2+deb12u3
        libwrap:
          description: Whether sshd or sshd-session links libwrap (so C(hosts.allow)/C(hosts.deny) apply); V(null) when unknown.
          type: bool
          returned: always
          sample: true
        libwrap_binaries:
          description:
            - Each binary checked and the method.
            - V(elf) (the DT_NEEDED entries of the file's dynamic section; nothing is run), else V(ldd),
              else V(elf) again when the C(libwrap.so) string was looked for in the file's bytes.
          type: list
          elements: dict
          returned: always
          sample:
            - path: /usr/sbin/sshd
              libwrap: true
              method: elf
        listener:
          description: The listening (parent) sshd process.
          type: dict
          returned: always
          sample:
            pid: 812
            startups: 0
            startups_begin: 10
            startups_max: 100
            oom_score_adj: -1000
          contains:
            pid:
              description: PID of the listener; V(null) when none.
              type: int
              sample: 812
            startups:
              description: Unauthenticated connections now (from the C([listener] N of S-F startups) title, OpenSSH 9.x+).
              type: int
              sample: 0
            startups_begin:
              description: MaxStartups start as the running listener sees it.
              type: int
              sample: 10
            startups_max:
              description: MaxStartups full as the running listener sees it.
              type: int
              sample: 100
            oom_score_adj:
              description: The listener's C(/proc/PID/oom_score_adj).
              type: int
              sample: -1000
        events:
          description: Events in the logs of the window (O(since)).
          type: dict
          returned: always
          sample:
            status: ok
            reason: null
            since: "2024-05-01T00:00:00Z"
            window: {since: "2024-05-01T00:00:00Z", until: null, basis: now}
            sources:
              - {name: journal, status: ok, reason: null, lines: 1234, skipped_lines: 0, outside_lines: 0}
            not_read: []
            skipped_lines: {count: 0, samples: []}
            outside_window: {crashes: 0, restarts: 0, maxstartups_drops: 0, penalties: 0, wrap_refusals: 0}
            crashes: {count: 1, last: "2024-05-05T10:11:09Z", samples: ["... ssh.service: Main process exited, code=killed, status=9/KILL"],
                      results: {"killed 9/KILL": 1}}
            restarts: {count: 1, last: "2024-05-05T10:11:12Z", samples: [], automatic: 1, manual: 0, gave_up: 0, reloads: 0}
            maxstartups_drops: {count: 42, last: "2024-05-05T10:00:00Z", samples: [], episodes: 1}
            penalties: {count: 0, last: null, samples: [], reasons: {}, imposed: 0}
            wrap_refusals: {count: 0, last: null, samples: []}
          contains:
            status:
              description: V(ok) when one source was read in full, V(partial), or V(unknown) (counts are then V(null)).
              type: str
              sample: ok
            reason:
              description: Why sources could not be read, and what to do.
              type: str
              sample: "journal: no permission to read the whole journal: add the user to systemd-journal or adm, or use become: true"
            since:
              description: Start of the window (ISO 8601 UTC), as C(window.since).
              type: str
              sample: "2024-05-01T00:00:00Z"
            window:
              description:
                - The window the events were counted in. C(until) V(null) means up to now.
                - C(basis) V(option) (O(since) given), V(now) (the default 7 days before now) or V(newest_line)
                  (O(log_files) without O(since) - the 7 days before the newest line of the files).
              type: dict
              sample: {since: "2024-11-01T17:00:07Z", until: "2024-11-08T17:00:07Z", basis: newest_line}
            sources:
              description:
                - Each source read (V(journal) or a file) with its status, reason, lines read, lines skipped
                  as unreadable and lines outside the window.
              type: list
              elements: dict
              sample:
                - {name: /var/log/auth.log, status: ok, reason: null, lines: 800, skipped_lines: 0, outside_lines: 12}
            not_read:
              description: Log files present but not read, with the reason (the syslog files, when the journal was read in full).
              type: list
              elements: dict
              sample:
                - {name: /var/log/auth.log, reason: "not read: the journal was read in full and holds the same messages; ..."}
            skipped_lines:
              description:
                - Lines that hold an event's keyword but could not be read (a date that does not exist such as
                  month 13, a NUL byte, longer than 8 KiB), skipped and counted, with up to 3 samples.
              type: dict
              sample: {count: 1, samples: ["2024-13-01T00:00:00+0000 web1 sshd[1]: drop connection #1 ..."]}
            outside_window:
              description: Per kind, the events the lines outside the window describe (counted apart, never dropped silently).
              type: dict
              sample: {crashes: 0, restarts: 0, maxstartups_drops: 12, penalties: 0, wrap_refusals: 0}
            crashes:
              description: Abnormal ends of the service's main process, each counted once; C(results) by cause.
              type: dict
              sample: {count: 1, last: "2024-05-05T10:11:09Z", samples: [], results: {signal: 1}}
              contains:
                series:
                  description:
                    - When the events of this kind happened (every kind of C(events) carries one; V(null) with a V(null)
                      C(count)), bounded however long the log. Up to 20 events (C(max_times)), C(mode) is V(times) and
                      C(times) lists each, oldest first, as C({time, note}) (ISO 8601 UTC, and the log line cut to 160
                      characters). From the 21st event on, C(mode) is V(buckets) and every event is counted per fixed
                      bucket of the window instead, C(buckets) C([{start, count}]) (the buckets holding events, oldest
                      first), C(bucket_s) seconds each (the smallest of 1 s .. 1 day, or whole days, that cuts the
                      window into at most 200 buckets aligned to multiples of it; 7 days give 168 one-hour buckets), so
                      a million-line log still gives a fact of a few kilobytes.
                    - C(since) and C(until) are the window's start and end (C(until) the time of the collection when
                      the window is open); C(count) the events placed, C(first)/C(last) their first and last time;
                      C(untimed) events of lines without a time (an C(sshd -E) log), C(outside) events whose time is
                      outside the window (counted, never placed).
                    - One time per event, each crash once (systemd's further lines about it are not times of their
                      own); MaxStartups and PerSourcePenalties drops, episode starts and summaries are each a time
                      (a rate-limited summary stands for the N drops it reports, and C(count) of the kind has them all).
                  type: dict
                  sample: {mode: times, since: "2024-05-01T00:00:00Z", until: "2024-05-08T00:00:00Z", count: 1,
                           first: "2024-05-05T10:11:09Z", last: "2024-05-05T10:11:09Z", untimed: 0, outside: 0,
                           max_times: 20, bucket_s: null, buckets: [],
                           times: [{time: "2024-05-05T10:11:09Z",
                                    note: "2024-05-05T10:11:09+0000 web1 systemd[1]: ssh.service: Main process exited, code=killed, status=9/KILL"}]}
            restarts:
              description: Restarts and stops (C(count) = C(automatic) + C(manual)), plus C(gave_up) and C(reloads).
              type: dict
              sample: {count: 2, last: null, samples: [], automatic: 2, manual: 0, gave_up: 1, reloads: 0}
            maxstartups_drops:
              description:
                - Connections dropped by MaxStartups, rate-limited summaries (OpenSSH 10) included; C(episodes) is
                  the number of throttling episodes (OpenSSH 7.4 to 9.9; OpenSSH 10 has none).
                - C(unsummarised_episodes) counts episodes of one logged drop that ended (end of the log, a reload
                  or a stop of sshd) before sshd wrote their summary; at LogLevel INFO sshd logs only the first drop
                  of an episode, so C(count) is then a lower bound.
              type: dict
              sample: {count: 6, last: null, samples: ["drop connection #1 from [127.0.0.1]:55708 on [127.0.0.1]:42222 past MaxStartups"],
                       episodes: 1, unsummarised_episodes: 0}
            penalties:
              description:
                - Connections refused by PerSourcePenalties (C(reasons) by penalty; drops of a rate-limited summary
                  under V(rate-limited (reason not logged))), C(imposed) penalties activated.
              type: dict
              sample: {count: 2, last: null, samples: [], reasons: {"penalty: failed authentication": 2}, imposed: 1}
            wrap_refusals:
              description: Connections refused by libwrap (C(refused connect from)).
              type: dict
              sample: {count: 0, last: null, samples: []}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module
from ansible_collections.connreset.doctor.plugins.module_utils._sshd import ARGUMENT_SPEC, collect, validate


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    error = validate(module.params)
    if error:
        module.fail_json(msg=error)
    run_fact_module(module, 'connreset_sshd', lambda: run_collector('sshd', collect, System(module), module.params, budget=120))


if __name__ == '__main__':
    main()
