# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The findings catalogue: the ONE place where findings are defined.

Every finding the engine (the ``_engine`` package) can emit is described here once: a stable ``id``
(``CRD-<AREA>-<NNN>``; coverage findings use ``CRD-COV-<AREA>``), a ``title``, a ``cause``,
a default ``severity``, an ``explanation`` (why this ends in a reset and what the client
prints), a concrete ``remedy`` and the remediate role's switch (``fix``) or None.

The engine copies ``title``/``explanation``/``remedy``/``fix`` verbatim; host specifics go
into the finding's ``evidence`` and one-line ``summary``.  ``docs/findings.md`` is generated
from this module by ``tests/utils/gen_findings_doc.py``.

Score (0-100) of a host: the sum of :data:`SEVERITY_WEIGHTS` over its findings, capped at 100.
Level: the highest severity present, ``ok`` when nothing is above ``info``.
"""

from __future__ import annotations

import re

from ansible_collections.connreset.doctor.plugins.module_utils._collectors import NAMES as COLLECTOR_NAMES, fact_key

# Version of the host documents and of report.json (docs/report.schema.json); the engine and the
# report both stamp it from here.
SCHEMA_VERSION = 1

CAUSES = (
    'sshd_down', 'sshd_rate_limit', 'resource_exhaustion', 'tcp_wrappers', 'mtu', 'conntrack',
    'idle_timeout', 'listen_queue', 'firewall', 'configuration', 'coverage', 'service_down', 'path_reset',
)

# The one severity scale, lowest first: the index is the rank (severity_rank()).
SEVERITIES = ('info', 'low', 'medium', 'high', 'critical')

# The remediate role's fix switches (roles/remediate), in the order docs/remediate.md lists them:
# switch -> what it changes and when it is not done (the switch table of docs/remediate.md is
# generated from this; the findings column from FINDINGS' ``fix``).  A finding's ``fix`` is one of
# these or None; the role validates remediate_fixes against them (connreset.doctor.remediate_plan).
FIXES = {
    'sshd_service': {
        'what': 'sshd started and enabled through its service manager (`ansible.builtin.service`)',
        'not_done': 'sshd runs; no service manager (container, lab light host): the role fails with a message '
                    'saying how to start it',
    },
    'sshd_restart_policy': {
        'what': '`/etc/systemd/system/<unit>.d/connreset-doctor.conf` (`[Service]` `Restart=on-failure`, '
                '`RestartSec=2s`, `OOMScoreAdjust=-1000`), `systemctl daemon-reload`, `systemctl reset-failed '
                '<unit>` when it had failed',
        'not_done': 'sshd is not run by systemd (skipped with a message)',
    },
    'sshd_maxstartups': {
        'what': '`MaxStartups N:30:2N` in the sshd drop-in, N = `remediate_expected_connections` (default 50 '
                '→ `50:30:100`); never lower than the current start/full values',
        'not_done': '',
    },
    'sshd_penalty_exempt': {
        'what': '`PerSourcePenaltyExemptList` in the sshd drop-in = every current entry, in order, then the '
                'controller (/32 or /128) and `remediate_admin_networks`, each unless an entry with the same '
                'meaning is there (see below)',
        'not_done': 'sshd older than 9.8 (no such keyword; skipped with a message); no address known; an '
                    'existing negated entry matches the controller (skipped, naming it)',
    },
    'keepalive': {
        'what': 'sshd drop-in: `ClientAliveInterval T/2`, `ClientAliveCountMax` (3 unless set); sysctl.d: '
                '`tcp_keepalive_time` T/2, `tcp_keepalive_intvl` max(5, T/10), `tcp_keepalive_probes` 5 — T = '
                '`remediate_path_idle_timeout` (default 350, AWS NAT gateway); a value already lower is kept',
        'not_done': '',
    },
    'conntrack_max': {
        'what': 'sysctl.d: `net.netfilter.nf_conntrack_max` = 64 per MiB of RAM (≈ 2 % of memory at ~300 bytes '
                'an entry), at most 4194304, never below the current limit or twice the current count; '
                '`nf_conntrack_buckets` = a quarter of that (never fewer than now); '
                '`/etc/modprobe.d/connreset-doctor.conf` `options nf_conntrack hashsize=N` for boot',
        'not_done': 'the host is in a non-initial network namespace (`shared_netns`: the limit is read-only there; '
                    'skipped with a message) or conntrack is not loaded',
    },
    'mtu_probing': {
        'what': 'sysctl.d `net.ipv4.tcp_mtu_probing = 1` (2 is kept); interface MTUs only from an explicit '
                '`remediate_interface_mtu: {eth0: 1450}` (`ip link set`, runtime only: persist it in your '
                'network configuration)',
        'not_done': '',
    },
    'wrappers_allow': {
        'what': 'a marked block at the TOP of `/etc/hosts.allow` (first match wins): `sshd: <controller> <admin '
                'networks>` in libwrap syntax (host alone, `n.n.n.n/len`, `[v6]/len`); user lines are never '
                'touched; `backup: true` too',
        'not_done': 'no address known',
    },
    'unban': {
        'what': 'with `remediate_unban: true`: `fail2ban-client set <jail> unbanip <controller>`; other bans '
                '(sshguard, crowdsec, firewall rules) and tcp-reset rules are only reported with the exact rule',
        'not_done': '',
    },
}
FIX_SWITCHES = tuple(FIXES)

# Score weight of one finding of each severity; the host score is the capped sum.
SEVERITY_WEIGHTS = {'critical': 60, 'high': 30, 'medium': 12, 'low': 4, 'info': 0}
SCORE_CAP = 100

ID_PATTERN = re.compile(r'^CRD-(?:[A-Z]+-[0-9]{3}|COV-[A-Z]+)$')

# What the catalogue says of each collector of module_utils/_collectors.py (the one collector
# list): the area code of its coverage finding (CRD-COV-<AREA>), a human name, and what an unread
# part can hide.  A collector added there without an entry here still gets a coverage finding
# (area = its name in capitals); tests/unit/test_collector_list.py fails until it has its own.
COLLECTOR_AREAS = {
    'sshd': ('SSHD', 'sshd', 'sshd\'s state and its log (`drop connection #N ... past MaxStartups`, `penalty:`, '
             '`Main process exited`)'),
    'oom': ('OOM', 'OOM kills', 'OOM kills of sshd (`Out of memory: Killed process N (sshd)`)'),
    'tcp_wrappers': ('WRAP', 'TCP wrappers', 'a hosts.deny rule that makes libwrap close connections before the '
                     'banner (`kex_exchange_identification: read: Connection reset by peer` after ~5 s)'),
    'mtu': ('MTU', 'MTU', 'a path-MTU black hole (`SSH2_MSG_KEXINIT sent`, then a hang)'),
    'conntrack': ('CT', 'conntrack', 'a full conntrack table (`nf_conntrack: table full, dropping packet`, '
                  'clients see `Connection timed out`)'),
    'tcp': ('TCP', 'kernel TCP counters', 'accept-queue overflows (`ListenOverflows`) that turn into `Connection '
            'reset by peer`'),
    'firewall': ('FW', 'firewall', 'tcp-reset rules and bans (`Connection refused` with sshd running)'),
    'endpoints': ('SVC', 'TCP services', 'a web or app service that crashed, restarted or closes idle keep-alive '
                  'connections before its load balancer does (`upstream prematurely closed connection`, '
                  '`recv() failed (104: Connection reset by peer)`, a 502 from the front)'),
}


def _collector_area(name):
    return COLLECTOR_AREAS.get(name) or (re.sub('[^A-Z]', '', name.upper()), name,
                                         'what the %s collector reads (`%s_facts`)' % (name, name))


# Collector areas, in the collectors' order: fact key -> (short area name used in coverage ids,
# human name).
AREAS = dict((fact_key(name), _collector_area(name)[:2]) for name in COLLECTOR_NAMES)
# Engine areas whose input is another key of the host document, not a collector's fact: key ->
# (short area name of the coverage id, human name).  The path area reads ``capture`` (the
# reset_capture fact taken while the controller probed the host).
INPUT_AREAS = {'capture': ('PATH', 'the sender of the probe\'s resets')}
# Every key a coverage gap can be recorded under (the engine's _coverage_findings).
COVERAGE_AREAS = dict(AREAS, **INPUT_AREAS)

_SSH_RESET = ('`kex_exchange_identification: read: Connection reset by peer` followed by '
              '`Connection reset by H port 22`')


def _f(fid, title, cause, severity, fix, explanation, remedy):
    return {
        'id': fid, 'title': title, 'cause': cause, 'severity': severity, 'fix': fix,
        'explanation': ' '.join(explanation.split()), 'remedy': ' '.join(remedy.split()),
    }


FINDINGS = [
    # -- sshd ---------------------------------------------------------------------------
    _f('CRD-SSHD-001', 'sshd is not running', 'sshd_down', 'critical', 'sshd_service',
       """Nothing listens on the SSH port, so the kernel answers every SYN with a RST: the OpenSSH
       client prints `connect to host H port 22: Connection refused`, paramiko raises `Unable to
       connect to port 22`, and Ansible marks the host UNREACHABLE instantly. Sessions that were
       open when the daemon died keep working only until they close.""",
       """Find out why it stopped (`journalctl -u ssh -b`, `systemctl status ssh`), check the
       configuration with `sshd -t`, then start and enable it: `systemctl enable --now ssh`
       (the unit is `sshd` on RHEL-like systems)."""),
    _f('CRD-SSHD-002', 'sshd configuration is invalid', 'configuration', 'critical', None,
       """`sshd -t` rejects the configuration. The running daemon keeps its old configuration, but
       the next restart, reload or reboot fails and leaves nothing listening: clients then see
       `Connection refused`. With systemd's `ExecStartPre=/usr/sbin/sshd -t` a reload is refused
       too.""",
       """Run `sshd -t` and fix the line it names (also files under `/etc/ssh/sshd_config.d/`);
       run `sshd -t` again before any `systemctl reload ssh`."""),
    _f('CRD-SSHD-003', 'sshd keeps crashing or restarting', 'sshd_down', 'medium', 'sshd_restart_policy',
       """The SSH service failed or was restarted by systemd (crashes, `Main process exited`,
       `Scheduled restart job`, NRestarts > 0). While the listener is down new connections get
       `Connection refused`; when the listener is killed, every pre-auth child and every session
       it still owns dies with it, so clients in the middle of a task see `Connection reset by H
       port 22` or `Shared connection to H closed`. After five quick restarts systemd gives up
       (`Start request repeated too quickly`) and the host stays unreachable.""",
       """Read why the process exited: `journalctl -u ssh -b | grep -E 'exited|Failed|restart'`
       and the kernel log (OOM, segfault). Let systemd bring sshd back and protect it from the
       OOM killer with a drop-in: `[Service]` `Restart=on-failure`, `RestartSec=2s`,
       `OOMScoreAdjust=-1000`; then `systemctl daemon-reload` and `systemctl reset-failed ssh`."""),
    _f('CRD-SSHD-004', 'sshd dropped connections past MaxStartups', 'sshd_rate_limit', 'low', 'sshd_maxstartups',
       """sshd logs `drop connection #N from [A]:P on [B]:22 past MaxStartups`: too many connections
       were still in the unauthenticated phase, so sshd closed new ones at once. The client
       prints """ + _SSH_RESET + """ (sometimes `Connection closed by remote host`); a raw TCP
       client reads `Exceeded MaxStartups` (OpenSSH 9.8+: `Not allowed at this time`). Ansible
       with many forks, slow authentication (DNS, LDAP, PAM) or port scanners fill the slots.""",
       """Raise the limit in `/etc/ssh/sshd_config.d/` (for example `MaxStartups 100:30:200`), check
       slow logins (`UseDNS no`, PAM/LDAP timeouts), and lower Ansible's `forks` or use
       `ControlPersist` so fewer connections are opened at once; `systemctl reload ssh`."""),
    _f('CRD-SSHD-005', 'sshd refused connections under PerSourcePenalties', 'sshd_rate_limit', 'low',
       'sshd_penalty_exempt',
       """OpenSSH 9.8+ penalises a source address that failed authentication, timed out in
       LoginGraceTime or crashed a child (`PerSourcePenalties`); while the penalty lasts sshd
       drops the source's new connections right after accept (log: `drop connection #N from
       [A]:P on [B]:22 penalty: ...`). The client prints """ + _SSH_RESET + """ or `Connection
       closed by H port 22`. A controller behind NAT shares one address with everything else,
       so one failing job locks out all Ansible runs.""",
       """Exempt the controller(s): `PerSourcePenaltyExemptList 192.0.2.10/32` (comma-separated
       CIDRs) in `/etc/ssh/sshd_config.d/`, fix the failing logins that earned the penalty, and
       `systemctl reload ssh`."""),
    _f('CRD-SSHD-006', 'MaxStartups is lower than Ansible opens at once', 'sshd_rate_limit', 'medium',
       'sshd_maxstartups',
       """MaxStartups' first number is how many unauthenticated connections sshd accepts before it
       starts dropping new ones at random. Ansible opens one connection per fork (default 5,
       often raised), plus one per `async`/`delegate_to`; above the limit sshd drops them and
       the client prints """ + _SSH_RESET + """.""",
       """Set `MaxStartups` above the concurrency you expect, e.g. `MaxStartups 100:30:200`, in
       `/etc/ssh/sshd_config.d/`, then `sshd -t && systemctl reload ssh`."""),
    _f('CRD-SSHD-007', 'PerSourcePenalties active without an exemption for the controller',
       'sshd_rate_limit', 'low', 'sshd_penalty_exempt',
       """OpenSSH 9.8+ enables PerSourcePenalties by default. No exempt list covers the Ansible
       controller, so a few failed or slow logins (a wrong key in a loop, a LoginGraceTime
       overrun under load) make sshd refuse the controller's next connections for up to
       minutes: the client prints """ + _SSH_RESET + """ or `Connection closed by H port 22`.""",
       """Add the controller address to `PerSourcePenaltyExemptList` (for example
       `PerSourcePenaltyExemptList 192.0.2.10/32`) in `/etc/ssh/sshd_config.d/` and
       `systemctl reload ssh`."""),
    _f('CRD-SSHD-008', 'LoginGraceTime is very short', 'configuration', 'low', None,
       """sshd closes a connection that has not authenticated within LoginGraceTime (log:
       `Timeout before authentication for A port P`). On a loaded host or with slow DNS/PAM a
       short grace time cuts Ansible's connections during key exchange or authentication: the
       client prints `Connection closed by H port 22` or `Connection reset by H port 22`. On
       OpenSSH 9.8+ each overrun also earns a PerSourcePenalty (`grace-exceeded`).""",
       """Use the default (`LoginGraceTime 120`) or at least 30 seconds and remove the cause of slow
       logins (`UseDNS no`, PAM/LDAP timeouts); `systemctl reload ssh`."""),
    _f('CRD-SSHD-009', 'sshd is not installed', 'configuration', 'info', None,
       """No sshd binary, no ssh/sshd unit and no sshd process were found, so nothing on this host
       can accept SSH: a client gets `Connection refused`. On a host that is reached another way
       (a local connection, a container, a console) this is not a fault, so the finding is
       informational; it is CRD-SSHD-001 (critical) instead when the inventory says the host must
       serve SSH (`diagnose_sshd_required: true`).""",
       """If this host must serve SSH, install the server (`apt-get install openssh-server`,
       `dnf install openssh-server`) and enable it, and set `diagnose_sshd_required: true` for it
       so a missing sshd is reported as critical. If sshd lives elsewhere, give the collector's
       `sshd_path`."""),
    # -- OOM ----------------------------------------------------------------------------
    _f('CRD-OOM-001', 'The OOM killer killed sshd', 'resource_exhaustion', 'high', 'sshd_restart_policy',
       """The kernel's OOM killer chose an sshd process (`Out of memory: Killed process N (sshd)` or
       a memory cgroup OOM). A killed session process resets that session (`Connection reset by
       H port 22`, `Shared connection to H closed`); a killed listener leaves nothing on port 22
       (`Connection refused`) until systemd restarts it, if it does.""",
       """Find the memory hog in the kernel log (`journalctl -k | grep -i -A20 'invoked
       oom-killer'`), cap it (`MemoryMax=` on its unit) or add memory/swap, and shield sshd:
       systemd drop-in `OOMScoreAdjust=-1000` and `Restart=on-failure` for the ssh unit."""),
    _f('CRD-OOM-002', 'The OOM killer killed processes', 'resource_exhaustion', 'low', None,
       """The host ran out of memory (or a cgroup hit its limit) and the kernel killed processes
       other than sshd (low; medium when it happened many times or memory is short now).
       Tasks whose remote Python process was killed fail with `MODULE FAILURE` or `Shared
       connection to H closed`; while the host is thrashing before the kill, sshd answers late
       and connections time out or are reset during the banner exchange.""",
       """Read which process was killed and why (`journalctl -k | grep -i -B5 -A20 oom`), add memory
       or swap, put limits on the hog (`MemoryMax=`), and protect sshd with
       `OOMScoreAdjust=-1000`."""),
    # -- TCP wrappers -------------------------------------------------------------------
    _f('CRD-WRAP-001', 'TCP wrappers deny the controller', 'tcp_wrappers', 'critical', 'wrappers_allow',
       """sshd is linked with libwrap and `/etc/hosts.allow`/`/etc/hosts.deny` deny the controller's
       address for the sshd daemon. libwrap closes the accepted connection before the banner,
       after its ~5 s delay: the client prints """ + _SSH_RESET + """ after about five seconds
       (`Connection timed out during banner exchange` when ConnectTimeout is 5 or less), paramiko
       `Error reading SSH protocol banner[Errno 104]`. sshd's own log shows nothing; libwrap logs
       `refused connect from A` to syslog.""",
       """Allow the controller before the deny rule: `echo 'sshd: 192.0.2.10' >> /etc/hosts.allow`
       (first match wins: hosts.allow is read before hosts.deny); check with
       `tcpdmatch sshd 192.0.2.10`."""),
    _f('CRD-WRAP-002', 'TCP wrappers verdict for the controller is unknown', 'tcp_wrappers', 'info', None,
       """The hosts.allow/hosts.deny rules for sshd use host names, `KNOWN`/`PARANOID` or other
       patterns that need name resolution, so whether the controller is allowed depends on DNS
       at connection time. When reverse DNS fails or is slow, libwrap denies: the client prints
       """ + _SSH_RESET + """ after ~5 s.""",
       """Write the rules with addresses or networks (`sshd: 192.0.2.0/24`) instead of names, or
       make sure forward and reverse DNS for the controller agree; check with
       `tcpdmatch sshd <controller address>`."""),
    _f('CRD-WRAP-003', 'Malformed TCP wrappers rules', 'tcp_wrappers', 'low', None,
       """libwrap skips lines it cannot parse (it logs `warning: /etc/hosts.allow, line N: ...`).
       A skipped allow line means the deny rule below applies after all, so the controller may be
       denied although the file looks right: the client prints """ + _SSH_RESET + """ after ~5 s.""",
       """Fix the lines named in the evidence (`daemon_list : client_list [: option]`), then verify
       with `tcpdchk -v` and `tcpdmatch sshd <controller address>`."""),
    _f('CRD-WRAP-004', 'TCP wrappers refused connections', 'tcp_wrappers', 'high', 'wrappers_allow',
       """The log holds libwrap refusals for sshd (`sshd[N]: refused connect from A (A)`): those
       clients had their connection closed before the SSH banner and printed """ + _SSH_RESET + """
       after ~5 s.""",
       """Check which addresses were refused (evidence) and allow the legitimate ones in
       `/etc/hosts.allow` (`sshd: 192.0.2.10`); check with `tcpdmatch sshd <address>`."""),
    # -- MTU ----------------------------------------------------------------------------
    _f('CRD-MTU-001', 'Path-MTU black hole towards the controller', 'mtu', 'high', 'mtu_probing',
       """Full-size packets on the path between this host and the controller are dropped without
       the ICMP `fragmentation needed` message that path-MTU discovery relies on. Small packets
       pass, so TCP connects and the banner arrives, then the first large packet (the key
       exchange) vanishes: the client stops after `SSH2_MSG_KEXINIT sent` and hangs (ConnectTimeout
       does not cover key exchange); with ServerAliveInterval it ends in `Connection to H port 22
       timed out`, or a middlebox resets it.""",
       """Make the MTU consistent along the path (`ip link set dev IF mtu 1500` on every hop of the
       subnet, or the tunnel MTU everywhere), let ICMP type 3 code 4 through firewalls, and enable
       packetization-layer PMTU discovery: `sysctl -w net.ipv4.tcp_mtu_probing=1` (persist in
       `/etc/sysctl.d/`)."""),
    _f('CRD-MTU-002', 'TCP MTU probing is off on a reduced-MTU path', 'mtu', 'low', 'mtu_probing',
       """The path to the controller has a smaller MTU than the interface (tunnel, VPN, PPPoE) and
       `net.ipv4.tcp_mtu_probing=0`, so TCP depends entirely on ICMP `fragmentation needed`
       messages. If any hop filters them, large SSH packets are lost and sessions hang after
       `SSH2_MSG_KEXINIT sent` or during large transfers.""",
       """Enable MTU probing: `sysctl -w net.ipv4.tcp_mtu_probing=1` (persist in `/etc/sysctl.d/`),
       or clamp the MSS on the tunnel (`iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST
       SYN -j TCPMSS --clamp-mss-to-pmtu`)."""),
    _f('CRD-MTU-003', 'Reduced interface MTU on the route to the controller', 'mtu', 'low', None,
       """The interface that carries traffic to the controller has an MTU below 1500. That is normal
       for tunnels, but if other devices on the path assume 1500 and ICMP is filtered, full-size
       packets from the other side are dropped: sessions hang after `SSH2_MSG_KEXINIT sent`.""",
       """Check that the MTU is intended (`ip link show IF`) and the same on every host of the
       subnet; enable `net.ipv4.tcp_mtu_probing=1`."""),
    _f('CRD-MTU-004', 'Interface MTU differs from the rest of its subnet', 'mtu', 'medium', None,
       """Hosts on the same subnet use different interface MTUs. A host with the larger MTU sends
       frames the others (or the switch) drop silently; no ICMP is generated inside one L2
       segment, so path-MTU discovery cannot help: SSH connections hang after `SSH2_MSG_KEXINIT
       sent` or stall during file transfers, only between some pairs of hosts.""",
       """Set one MTU for the whole subnet (`ip link set dev IF mtu N`, and in the network
       configuration: netplan `mtu:`, ifupdown `mtu N`, NetworkManager `802-3-ethernet.mtu`).
       Medium for the hosts that differ from the subnet's majority; when there is no majority (a
       tie, e.g. two hosts) every host is flagged at low, since the facts cannot say which side
       is wrong: compare with the switch and router MTU."""),
    # -- conntrack ----------------------------------------------------------------------
    _f('CRD-CT-001', 'Connection tracking table nearly full', 'conntrack', 'medium', 'conntrack_max',
       """`nf_conntrack_count` is close to `nf_conntrack_max`. When the table is full the kernel
       drops packets of new connections (`nf_conntrack: table full, dropping packet`): the client
       retransmits its SYN and prints `connect to host H port 22: Connection timed out`, or an
       established connection whose entry expired is dropped as INVALID or reset.""",
       """Raise the limit (`sysctl -w net.netfilter.nf_conntrack_max=262144`, persist in
       `/etc/sysctl.d/`; also raise `nf_conntrack_buckets`), find who fills it
       (`conntrack -L | awk '{print $5}' | sort | uniq -c | sort -n | tail`), shorten
       `nf_conntrack_tcp_timeout_time_wait`."""),
    _f('CRD-CT-002', 'Connection tracking dropped packets', 'conntrack', 'high', 'conntrack_max',
       """The conntrack statistics count drops, early drops or failed inserts, or the kernel logged
       `nf_conntrack: table full, dropping packet`. Each drop is a lost SYN (`Connection timed
       out`) or a lost packet of an established session (stalls, then resets by middleboxes).""",
       """Raise `net.netfilter.nf_conntrack_max` (and `nf_conntrack_buckets`), exempt SSH from
       tracking where possible (`nft add rule inet raw prerouting tcp dport 22 notrack`), and watch
       `conntrack -S` for drop/early_drop/insert_failed."""),
    _f('CRD-CT-003', 'AWS ENA conntrack allowance exceeded', 'conntrack', 'high', None,
       """The ENA driver counts `conntrack_allowance_exceeded`: the EC2 hypervisor tracks this instance's
       connections (for security groups) in a table sized by instance type, and dropped packets once it
       was full, before they reached Linux. New SSH connections then end in `connect to host H port 22:
       Connection timed out`; established ones stall. Nothing shows in the guest's own conntrack.""",
       """Watch `ethtool -S IF | grep allowance` over time; move to a larger instance type, reduce tracked
       flows (security-group rules that allow all traffic in both directions are not tracked), or lower
       the network interface's connection-tracking `tcpEstablishedTimeout`
       (`aws ec2 modify-network-interface-attribute --connection-tracking-specification
       TcpEstablishedTimeout=N`) so idle entries leave the table sooner."""),
    _f('CRD-CT-004', 'Conntrack forgets idle SSH sessions before any keepalive', 'idle_timeout', 'medium',
       'keepalive',
       """`nf_conntrack_tcp_timeout_established` was lowered below the interval of every keepalive
       (ClientAliveInterval, the kernel's TCP keepalive), and the firewall drops packets conntrack
       classifies INVALID. An SSH session idle longer than that timeout loses its conntrack entry; its
       next packet is INVALID and dropped, so the session stalls and ends in `client_loop: send
       disconnect: Broken pipe` or `Connection reset by H port 22`.""",
       """Send keepalives more often than the timeout (`ClientAliveInterval 60` in
       `/etc/ssh/sshd_config.d/`, `net.ipv4.tcp_keepalive_time` below it) or restore the default
       `sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=432000`."""),
    # -- kernel TCP ---------------------------------------------------------------------
    _f('CRD-TCP-001', 'Listen queue overflows', 'listen_queue', 'low', None,
       """The kernel counted ListenOverflows/ListenDrops: a listening socket's accept queue was full
       and completed handshakes were dropped. With `net.ipv4.tcp_abort_on_overflow=1` the kernel
       answers them with a RST, so clients see `Connection reset by peer` right after connecting;
       with the default 0 the client retransmits and sees delays or `Connection timed out`.""",
       """Find the slow listener (`ss -ltn` Recv-Q vs Send-Q), raise `net.core.somaxconn` and
       `net.ipv4.tcp_max_syn_backlog`, keep `net.ipv4.tcp_abort_on_overflow=0`
       (`sysctl -w net.ipv4.tcp_abort_on_overflow=0`)."""),
    _f('CRD-TCP-002', 'The SSH listen queue is full', 'listen_queue', 'high', None,
       """The accept queue of sshd's listening socket holds as many connections as its backlog
       (Recv-Q >= Send-Q in `ss -ltn`): sshd is not accepting fast enough (stopped, swapping,
       stuck). New connections are dropped (`Connection timed out`) or, with
       `tcp_abort_on_overflow=1`, reset (`Connection reset by peer`).""",
       """Check the listener with `ss -ltnp 'sport = :22'` and `systemctl status ssh`; if it is
       stuck, restart it; look for memory pressure or a stopped process (`ps -o stat= -p PID`)."""),
    # -- idle timeouts ------------------------------------------------------------------
    _f('CRD-IDLE-001', 'No keepalive shorter than the path idle timeout', 'idle_timeout', 'medium', 'keepalive',
       """A NAT gateway, load balancer or firewall on the path forgets connections that are idle
       longer than its idle timeout, then drops or resets their next packet. Neither sshd's
       ClientAlive messages nor the kernel's TCP keepalive fire before that timeout, so a quiet
       session (a long task without output, `async` polling, `pause`) ends with `client_loop:
       send disconnect: Connection reset by peer`, `Connection reset by H port 22` or
       `Broken pipe`.""",
       """Send keepalives more often than the path forgets: `ClientAliveInterval 60` and
       `ClientAliveCountMax 3` in `/etc/ssh/sshd_config.d/`, and/or
       `sysctl -w net.ipv4.tcp_keepalive_time=120` (with `TCPKeepAlive yes`); on the controller add
       `-o ServerAliveInterval=60` to `ansible_ssh_common_args`."""),
    # -- TCP services of diagnose_endpoints (issue 13) ------------------------------------
    _f('CRD-SVC-001', 'Nothing listens on a service port', 'service_down', 'critical', None,
       """No socket listens on the endpoint's TCP port, so the kernel answers every SYN with a RST:
       clients print `Connection refused` (curl: `Failed to connect ... Connection refused`), and a
       proxy in front of it answers 502/503 (nginx: `connect() failed (111: Connection refused) while
       connecting to upstream`). Connections that were open when the process died were reset with
       it.""",
       """Find out why the service stopped (`systemctl status UNIT`, `journalctl -u UNIT -b`), fix it
       and start it (`systemctl enable --now UNIT`); if it should listen elsewhere, correct
       `diagnose_endpoints`."""),
    _f('CRD-SVC-002', 'A service keeps crashing or restarting', 'service_down', 'medium', None,
       """The service's unit failed or was restarted by systemd (`Main process exited`, `Failed with
       result`, `Scheduled restart job`, NRestarts > 0). Every restart closes the listening socket and
       kills the process that owned the open connections: clients and proxies in the middle of a
       request see `Connection reset by peer` (or a 502), and new connections are refused until it
       listens again. After five quick restarts systemd gives up (`Start request repeated too
       quickly`) and the port stays closed.""",
       """Read why the process exited: `journalctl -u UNIT -b | grep -E 'exited|Failed|restart'` and
       the kernel log (OOM, segfault); fix the cause, then `systemctl reset-failed UNIT`. A drop-in
       with `Restart=on-failure` and `RestartSec=2s` brings it back; a socket-activated unit or
       several instances behind the front keep the port open while one restarts."""),
    _f('CRD-SVC-003', 'A service was killed by the OOM killer', 'resource_exhaustion', 'high', None,
       """The kernel (or systemd-oomd) killed a process in the service's cgroup (`Out of memory:
       Killed process`, `memory cgroup out of memory`, systemd's `Failed with result 'oom-kill'`).
       Every connection the process held ended in a reset at that moment, and the port was closed
       until the unit restarted it.""",
       """Find what grew (`journalctl -k | grep -i 'killed process'`, the unit's `MemoryMax`/
       `MemoryHigh`, the application's worker and cache sizes), give the unit the memory it needs or
       bound its workers, and let systemd restart it (`Restart=on-failure`)."""),
    _f('CRD-SVC-004', "A service's accept queue is full", 'listen_queue', 'medium', None,
       """The listening socket holds as many connections as its backlog (Recv-Q >= Send-Q in `ss
       -ltn`): the program does not accept fast enough, or its backlog (min(listen() backlog,
       `net.core.somaxconn`)) is too small for its bursts. Further handshakes overflow the queue: with
       `net.ipv4.tcp_abort_on_overflow=1` the kernel answers them with a RST (`Connection reset by
       peer` right after connecting); with 0 the client retransmits and sees delays or timeouts.""",
       """Raise the program's listen backlog (nginx `listen ... backlog=N`, HAProxy `backlog`,
       gunicorn `--backlog`, Redis `tcp-backlog`) together with `net.core.somaxconn`, add workers if
       it is slow to accept, and keep `net.ipv4.tcp_abort_on_overflow=0`."""),
    _f('CRD-SVC-005', 'A service is running out of file descriptors', 'resource_exhaustion', 'high', None,
       """The process owning the port has nearly as many descriptors open as its `Max open files`
       limit, or it logged `Too many open files`. Each connection is a descriptor: past the limit
       `accept()` fails with EMFILE, the connection waits in the queue and is dropped or reset, and
       upstream connections of a proxy fail.""",
       """Raise the unit's limit (`LimitNOFILE=` in a drop-in, nginx `worker_rlimit_nofile`, HAProxy
       computes its own from `maxconn`), look for a descriptor leak (`ls /proc/PID/fd | wc -l` over
       time), then restart the service."""),
    _f('CRD-SVC-006', 'Ephemeral ports are nearly exhausted', 'resource_exhaustion', 'medium', None,
       """Outgoing TCP connections hold most local ports of `net.ipv4.ip_local_port_range`, or a
       service logged `Cannot assign requested address` (no local port left for a new upstream
       connection). A proxy or client that opens a new connection per request then fails to connect,
       and connections in TIME_WAIT pile up toward one busy destination.""",
       """Reuse connections (nginx upstream `keepalive`, HAProxy `http-reuse`, a connection pool in the
       application), widen `net.ipv4.ip_local_port_range`, and spread upstream connections over more
       destination addresses or ports."""),
    _f('CRD-SVC-007', 'The server closes idle connections before its front stops reusing them',
       'idle_timeout', 'high', None,
       """The load balancer or proxy in front of the service keeps idle keep-alive connections to it
       longer than the service itself does (server idle close X s < front idle timeout Y s). When the
       server closes a connection the front has just picked to reuse, the request on it meets a FIN or
       a RST: the front answers 502 (AWS ALB `HTTP 502`, nginx `upstream prematurely closed
       connection` / `recv() failed (104: Connection reset by peer)`, HAProxy `SH`/`SD` in its log),
       at random, a few times an hour under light load.""",
       """Make the server's idle/keep-alive timeout longer than the front's: for example gunicorn
       `--keep-alive 75` behind an ALB (60 s), nginx `keepalive_timeout 650s` behind a Google load
       balancer (600 s); or shorten the front's upstream idle timeout (nginx upstream
       `keepalive_timeout`, HAProxy `timeout server`)."""),
    _f('CRD-SVC-008', 'The front forgets idle flows the server still keeps', 'idle_timeout', 'medium', None,
       """A layer-4 load balancer or NAT in front of the service (AWS NLB and GWLB 350 s, Azure Load
       Balancer 4 min, Cloud NAT 20 min) drops a flow's state after its idle timeout, while the server
       keeps idle connections longer (or forever). The next packet on such a connection is answered
       with a RST by the front or silently dropped: the client sees `Connection reset by peer` or a
       hang after a quiet period.""",
       """Close idle connections on the server before the front forgets them (its idle timeout below
       the front's), or enable TCP keepalive on both ends with a time below the front's idle timeout
       (`net.ipv4.tcp_keepalive_time`, the program's own keepalive option such as Redis
       `tcp-keepalive`); where the front can, let it send resets on idle timeout."""),
    _f('CRD-SVC-010', 'Connections to a service fail now (controller probe)', 'service_down', 'high', None,
       """The controller's probe of the endpoint (connect, TLS handshake, one HTTP request) failed the
       way clients fail: `Connection refused`, `Connection reset by peer` at connect or after the
       request, a close before any response, or a proxy's 502. The cause is the host-side finding of the
       same endpoint that explains it (folded into this one), else the probe's most likely cause.""",
       """Follow the remedy of the folded-in finding; without one, start from the probe's
       classification (docs/probe.md), `ss -ltnp 'sport = :PORT'` on the host and the service's own log
       (`journalctl -u UNIT -b`)."""),
    _f('CRD-SVC-011', "The probe's idle connection was ended", 'idle_timeout', 'medium', None,
       """The probe kept one connection to the endpoint idle (`diagnose_endpoint_probe_idle_hold_s`)
       and it was reset, or stayed open but a request on it then failed (a flow dropped silently), or
       was closed by the server while its front still reuses connections for longer. A client or
       proxy reusing such a connection gets `Connection reset by peer`.""",
       """Compare the time it ended with the idle timeouts along the path (the server's, the
       proxy's, the load balancer's, NAT; `connreset.doctor.reset_capture` on the host shows whether the
       host itself sent the reset) and make each hop close idle connections before the hop in front of it
       stops reusing them (nginx `keepalive_timeout`, HAProxy `timeout server`, gunicorn
       `--keep-alive`)."""),
    # -- firewall -----------------------------------------------------------------------
    _f('CRD-FW-001', 'Firewall resets every connection to the SSH port', 'firewall', 'critical', None,
       """A firewall rule answers packets to the SSH port with `reject with tcp-reset`. The client
       cannot tell that from a dead daemon: `connect to host H port 22: Connection refused`
       (paramiko `Unable to connect to port 22`), although sshd is running.""",
       """Remove or narrow the rule named in the evidence (`nft -a list ruleset` then `nft delete
       rule ... handle N`, or `iptables -D CHAIN N`), or add an accept rule for the controller
       before it; persist the change in the firewall's configuration."""),
    _f('CRD-FW-002', 'Firewall resets established SSH connections', 'firewall', 'high', None,
       """A rule rejects packets of established connections to the SSH port with a TCP reset. The
       handshake succeeds and the next packet is answered with a RST: `connect to host H port 22:
       Connection reset by peer` or, later in the session, `Connection reset by H port 22`.""",
       """Remove or narrow the rule named in the evidence (`nft -a list ruleset`, `iptables -S`),
       or accept the controller before it; persist the change."""),
    _f('CRD-FW-003', 'Firewall drops conntrack INVALID packets', 'conntrack', 'low', None,
       """A rule drops packets conntrack classifies as INVALID. That is usually right, but when a
       connection's conntrack entry is gone (the table was full, the entry timed out while the
       session was idle, or a failover moved it) every packet of the still-open SSH session is
       INVALID and dropped: the session stalls and ends in `Broken pipe` or
       `Connection reset by H port 22`.""",
       """Keep conntrack entries alive longer than sessions idle (keepalives below
       `nf_conntrack_tcp_timeout_established`), keep the table from filling, and if sessions die
       after idle periods log the INVALID drops first (`nft add rule ... ct state invalid log
       prefix "ct-invalid "`)."""),
    _f('CRD-FW-004', 'The controller is banned', 'firewall', 'critical', 'unban',
       """fail2ban, sshguard, CrowdSec or a block rule bans the controller's address. Depending on
       the ban action the client sees `Connection refused` (REJECT tcp-reset or icmp-port-
       unreachable), `Connection timed out` (DROP) or `Connection reset by peer`, for every
       connection until the ban expires.""",
       """Unban the address (`fail2ban-client set sshd unbanip 192.0.2.10`, `sshguard` whitelist
       `-w`, `cscli decisions delete --ip 192.0.2.10`) and whitelist the controller (fail2ban
       `ignoreip`, CrowdSec whitelist parser) so repeated Ansible logins are not banned again."""),
    _f('CRD-FW-005', 'Connection-count limit on the SSH port', 'firewall', 'medium', None,
       """A rule limits concurrent or new connections to the SSH port (`ct count over N`,
       `-m connlimit`, `-m hashlimit`/`limit rate`). Ansible opens one connection per fork at
       once; the connections over the limit are dropped (`Connection timed out`) or rejected
       (`Connection refused` / `Connection reset by peer`).""",
       """Raise the limit above Ansible's forks, exempt the controller before the limit rule, or
       lower `forks`/use `ControlPersist`."""),
    # -- path: who sent the reset (reset_capture on the host while the controller probes) ----
    _f('CRD-PATH-001', 'A device in the path reset the connection', 'path_reset', 'high', None,
       """The controller's probe received a TCP reset (`Connection reset by peer`, or `Connection
       refused` from a RST answering the SYN), and the host did not send it: `reset_capture` ran on
       the host over the whole attempt, watched the port, and saw no reset leave the host for that
       connection (its 4-tuple) nor any other reset sent from that port at the time, and the kernel
       dropped no captured packet. Something between the two ends sent it: an IPS or firewall that
       injects resets, a NAT or load balancer that forgot the flow (its idle timeout), a proxy. When
       the host received a reset for the same connection too, the device reset both ends. Nothing on
       the host can fix it.""",
       """Find the device on the path (`traceroute -T -p PORT HOST`; the TTL of the reset against the
       host's packets in a capture on the controller, `tcpdump -v 'tcp[tcpflags] & tcp-rst != 0'`): an
       IPS/IDS rule that resets the flow, a NAT or load balancer idle timeout (keep the session busy
       with `ServerAliveInterval`/`ClientAliveInterval` or `net.ipv4.tcp_keepalive_time` below it), a
       firewall's session limits; see docs/attribution.md."""),
    _f('CRD-PATH-002', 'The host reset the connection, and no host finding explains why', 'coverage', 'medium',
       None,
       """The controller's probe received a TCP reset (`Connection reset by peer` or `Connection
       refused`) and `reset_capture` saw this host send it for that very connection, but none of the
       host's findings (a tcp-reset rule, sshd down, TCP wrappers, MaxStartups, the accept queue, an
       OOM kill or crash; for a service its own findings) explains it: a rule or program the
       collectors do not read, or a socket closed with unread data (`TCPAbortOnData`). The cause
       given is the one the probe's classification points to.""",
       """Read the resets in the evidence (4-tuple, time, the capture's `counter_deltas`:
       `TCPAbortOnData`/`TCPAbortOnClose` grow when a program closes with unread data, `OutRsts` on
       every reset); look for the program and rule at that time (`journalctl --since`, `nft list
       ruleset | grep -i reset`, `ss -tanpi 'sport = :PORT'`)."""),
    _f('CRD-PATH-003', 'Something in the path ends idle connections', 'idle_timeout', 'medium', None,
       """The ssh probe held one connection idle after sshd's banner (`diagnose_probe_idle_hold_s`,
       `ssh_probe`'s `idle_hold_s`) and something ended it after the measured seconds: a FIN (a load
       balancer or proxy in front of sshd closing idle connections), a reset (a firewall, NAT or load
       balancer resetting idle flows), or a silent drop (the connection looked open, but nothing
       answered the line sent after the hold: a NAT or stateful firewall forgot the flow). An SSH
       session quiet for that long (a long task without output, `async` polling, `pause`) dies the
       same way, with `Connection reset by peer`, `Broken pipe` or a hang, unless a keepalive comes
       sooner: the evidence compares sshd's `ClientAliveInterval` (and the kernel's TCP keepalive)
       with the measured value. Not raised when sshd's own `LoginGraceTime` or a reset this host sent
       (the capture) explains the close.""",
       """Send keepalives more often than the path forgets: `ClientAliveInterval` below the measured
       seconds (for example a third of it, with `ClientAliveCountMax 3`) in `/etc/ssh/sshd_config.d/`
       and `-o ServerAliveInterval=N` on the clients (`ansible_ssh_common_args`), or raise the idle
       timeout of the NAT gateway, load balancer or firewall in the path."""),
    _f('CRD-PATH-004', 'Path-MTU black hole behind a router', 'mtu', 'high', None,
       """The controller's ssh probe connected and read sshd's banner, then hung where the first
       full-size segments go (`SSH2_MSG_KEXINIT` or the session's first large reply), and the controller
       reaches the host through a gateway: somewhere in the routed path a link or tunnel has a smaller MTU
       and the ICMP "fragmentation needed" (ICMPv6 "packet too big") that should shrink the packets is
       filtered, so they vanish. Small exchanges work, large ones hang; `Connection timed out` during the
       key exchange, or a session that freezes on the first large output. The host's own links can all say
       1500: the hole is in between.""",
       """On the router in front of the small link, clamp the TCP MSS to the path MTU (`iptables -t mangle -A
       FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`, or nftables `tcp flags syn tcp
       option maxseg size set rt mtu`), let ICMP type 3 code 4 / ICMPv6 type 2 through every firewall in the
       path, and enable packetization-layer PMTU discovery on both ends (`net.ipv4.tcp_mtu_probing=1`,
       RFC 4821) so TCP finds the size without ICMP."""),
    # -- probe correlations -------------------------------------------------------------
    _f('CRD-PROBE-001', 'TCP wrappers deny the controller (confirmed by the probe)', 'tcp_wrappers',
       'critical', 'wrappers_allow',
       """The probe's connection was reset at the banner after ~5 s, libwrap's delay, and the
       host's hosts.allow/hosts.deny deny the controller for sshd. This is the cause of
       """ + _SSH_RESET + """ from this controller.""",
       """Allow the controller in `/etc/hosts.allow` (`sshd: 192.0.2.10`) before the deny rule;
       check with `tcpdmatch sshd 192.0.2.10`."""),
    _f('CRD-PROBE-002', 'Path-MTU black hole (confirmed by the probe)', 'mtu', 'critical', 'mtu_probing',
       """The probe's connection hung in key exchange (the first large packet) and the host's MTU
       facts show a black hole, a reduced path MTU or an MTU that differs from its subnet: large
       packets are lost, so SSH stops after `SSH2_MSG_KEXINIT sent`.""",
       """Make the MTU consistent along the path, let ICMP `fragmentation needed` through, and set
       `net.ipv4.tcp_mtu_probing=1`."""),
    _f('CRD-PROBE-003', 'MaxStartups drops (confirmed by the probe)', 'sshd_rate_limit', 'high',
       'sshd_maxstartups',
       """The probe was refused at the banner the way MaxStartups refuses (`Exceeded MaxStartups`
       or an instant reset) and sshd logged drops past MaxStartups: connections are being
       refused because too many are unauthenticated at once.""",
       """Raise `MaxStartups` (e.g. `100:30:200`), find slow logins, lower Ansible's forks or use
       `ControlPersist`."""),
    _f('CRD-PROBE-004', 'sshd is down (confirmed by the probe)', 'sshd_down', 'critical', 'sshd_service',
       """The probe's connection was refused and sshd is not running on the host: nothing listens
       on the SSH port, so every client gets `Connection refused`.""",
       """Check why it stopped (`journalctl -u ssh -b`), `sshd -t`, then
       `systemctl enable --now ssh`."""),
    _f('CRD-PROBE-005', 'Firewall reset rule refuses SSH (confirmed by the probe)', 'firewall', 'critical',
       None,
       """The probe's connection was refused although sshd is running and listening, and a firewall
       rule rejects the SSH port with a TCP reset: `Connection refused` here comes from the
       firewall, not from a dead daemon.""",
       """Remove or narrow the reset rule named in the evidence (`nft -a list ruleset` then `nft delete
       rule inet filter input handle N`, or `iptables -D INPUT N`), or accept the controller before it;
       persist the change."""),
    _f('CRD-PROBE-006', 'Connection tracking pressure (confirmed by the probe)', 'conntrack', 'high',
       'conntrack_max',
       """The probe's TCP connect timed out and the host's conntrack table is (nearly) full, has
       dropped packets, or a `ct count`/connlimit rule limits the SSH port: new connections'
       SYNs are dropped, so clients print `Connection timed out`.""",
       """Raise `net.netfilter.nf_conntrack_max`, find what fills the table (`conntrack -L`),
       raise or narrow connection-count limits on the SSH port."""),
    _f('CRD-PROBE-007', 'The probe saw SSH connections fail', 'coverage', 'high', None,
       """The controller-side probe could not complete an SSH handshake with this host; the
       classification (evidence) says where the connection died: `refused` is what the client prints
       as `Connection refused`, `reset_at_banner*` as `kex_exchange_identification: read: Connection
       reset by peer`, `kex_hang` as a hang after `SSH2_MSG_KEXINIT sent`. The host's facts do not
       explain it (they are missing or show nothing matching), so the probe is the main
       evidence. The cause given is the one the probe's classification points to.""",
       """Follow the classification: `refused` → sshd down or a tcp-reset rule; `connect_timeout`
       → filtering, conntrack or the host is down; `reset_at_banner*` → TCP wrappers,
       MaxStartups or PerSourcePenalties; `kex_hang` → MTU; `reset_mid_session`/`intermittent_reset`
       → middleboxes, idle timeouts, crashes. Re-run the diagnosis with `become: true` so the
       host's facts can be read."""),
    _f('CRD-PROBE-008', 'The firewall rejects the controller (confirmed by the probe)', 'firewall', 'critical',
       'unban',
       """The probe's TCP connection was answered with an ICMP error that rejects the port (port
       unreachable or administratively prohibited, read from the socket's error queue) and the
       host's firewall facts show a ban or block rule for the controller. `Connection refused`
       here comes from the firewall (fail2ban's default ban action, an iptables/nftables REJECT),
       not from sshd: a Linux host with nothing listening answers with a TCP reset instead.""",
       """Unban or unblock the controller as the evidence names (`fail2ban-client set sshd unbanip
       192.0.2.10`, `sshguard` whitelist `-w`, `cscli decisions delete --ip 192.0.2.10`, or the
       block rule) and whitelist it (fail2ban `ignoreip`) so repeated Ansible logins are not banned
       again."""),
    # -- unreachable hosts (Ansible's own error) ----------------------------------------
    _f('CRD-REACH-001', 'Ansible could not connect: connection refused', 'sshd_down', 'critical', 'sshd_service',
       """Ansible marked the host UNREACHABLE with `connect to host H port 22: Connection refused`:
       nothing accepted the connection. Either sshd is not running/listening on that port, or a
       firewall rule answers with `reject with tcp-reset` (indistinguishable on the client).""",
       """On the host's console: `systemctl status ssh`, `ss -ltnp | grep :22`, `sshd -t`,
       `nft list ruleset | grep -i reset`; start sshd or remove the reset rule."""),
    _f('CRD-REACH-002', 'Ansible could not connect: timeout', 'firewall', 'critical', None,
       """Ansible marked the host UNREACHABLE with `Connection timed out` (during connect or during
       banner exchange). During connect: SYNs are dropped (firewall DROP, full conntrack table,
       host down, routing). During banner exchange with ConnectTimeout <= 5: TCP wrappers
       (which wait ~5 s before closing) or a starved sshd.""",
       """Check reachability (`nc -vz H 22`), firewall DROP rules and bans, `conntrack -S`, and
       hosts.allow/hosts.deny; re-run with a larger `timeout` to tell a slow sshd from a
       filter."""),
    _f('CRD-REACH-003', 'Ansible could not connect: reset before the SSH banner', 'sshd_rate_limit',
       'critical', None,
       """Ansible marked the host UNREACHABLE with """ + _SSH_RESET + """: the TCP connection was
       accepted and then closed before the server's banner. After ~5 s that is TCP wrappers
       denying the controller; instantly it is MaxStartups, PerSourcePenalties, a ban or a
       tcp-reset rule on established packets.""",
       """Run the probe (`connreset.doctor.ssh_probe`) to time the reset; check hosts.allow/
       hosts.deny (`tcpdmatch sshd <controller>`) and firewall bans. In sshd's log (`journalctl
       _COMM=sshd`), `drop connection #N ... past MaxStartups` (OpenSSH < 9.8), `past Maxstartups`
       (9.8, 9.9), `... Maxstartups` or `Maxstartups logging rate-limited` (10.0+) is MaxStartups:
       raise it (`sshd -T | grep -i maxstartups`); `... penalty: <reason>` or `PerSourcePenalties
       logging rate-limited` (9.8+) is PerSourcePenalties penalising the controller: add it to
       `PerSourcePenaltyExemptList` (`sshd -T | grep -i persourcepenalt`)."""),
    _f('CRD-REACH-004', 'Ansible lost the connection: reset mid-session', 'firewall', 'critical', None,
       """The connection was established and later reset (`Connection reset by H port 22`,
       `Broken pipe`, paramiko `Socket exception: Connection reset by peer (104)`): a firewall
       reset rule after N bytes, a middlebox idle timeout, an OOM kill or crash of the session
       process, or an sshd restart.""",
       """Check the host's kernel log for OOM kills (`journalctl -k | grep -i oom`), sshd's log for
       crashes (`journalctl -u ssh`), firewall rules with tcp-reset (`nft list ruleset | grep -i reset`),
       and keepalives against idle timeouts on the path (`sshd -T | grep -i clientalive`)."""),
    _f('CRD-REACH-005', 'Ansible could not authenticate', 'configuration', 'high', None,
       """Ansible connected but authentication failed (`Permission denied (publickey,password)`).
       Not a reset, but repeated failures earn PerSourcePenalties (OpenSSH 9.8+) and fail2ban
       bans that later look like resets.""",
       """Check `ansible_user`, the key (`ssh -v -i KEY user@H`), `authorized_keys` and
       `AllowUsers`/`AllowGroups`."""),
    _f('CRD-REACH-006', 'Ansible could not resolve the host name', 'configuration', 'high', None,
       """The controller could not resolve the inventory name (`Could not resolve hostname H: Name
       or service not known`): no connection was attempted.""",
       """Fix DNS or set `ansible_host` to an address in the inventory."""),
    _f('CRD-REACH-007', 'Ansible could not connect (no detail)', 'coverage', 'high', None,
       """Ansible marked the host UNREACHABLE without a recognisable reason. Often ssh's own error
       was hidden: with `-o LogLevel=ERROR` (Molecule adds it) OpenSSH prints nothing for resets
       and Ansible says only `Failed to connect to the host via ssh:`.""",
       """Re-run with `-vvvv` or without `LogLevel=ERROR` in `ansible_ssh_common_args`, and run the
       probe (`connreset.doctor.ssh_probe`) to see where the connection dies."""),
]

# One coverage finding per collector area: what an unread part can hide.
for _name in COLLECTOR_NAMES:
    _area, _human, _hides = _collector_area(_name)
    FINDINGS.append(_f(
        'CRD-COV-%s' % _area, 'Could not check %s' % _human, 'coverage', 'info', None,
        """Part of the %s facts could not be read (no permission, missing binary, no systemd,
        container, or the collector did not run), so %s would go unnoticed. Causes in this area
        are neither confirmed nor ruled out: unknown is not healthy.""" % (_human, _hides),
        """Follow the reason in the evidence: usually run the diagnosis with `become: true` (the
        journal, `/proc/net/nf_conntrack`, `nft list ruleset` and `fail2ban-client` need root), install
        the named tool, or enable the collector; then run it again."""))
del _name, _area, _human, _hides
FINDINGS.append(_f(
    'CRD-COV-PROBE', 'Could not probe sshd from the controller', 'coverage', 'info', None,
    """The controller-side probe (`connreset.doctor.ssh_probe`) could not run (paramiko missing, bad
    options, local error), so where connections die (`Connection refused`, a reset at the banner,
    a hang after `SSH2_MSG_KEXINIT sent`) was not measured from the controller.""",
    """Read the probe's detail in the evidence; install paramiko on the controller
    (`pip install paramiko`) or set `diagnose_probe: false` to skip it knowingly."""))
FINDINGS.append(_f(
    'CRD-COV-PATH', "Could not tell who sent the probe's resets", 'coverage', 'info', None,
    """The controller's probe received resets (`Connection reset by peer`) while `reset_capture` ran on
    the host (`diagnose_capture: true`), but the capture cannot say for some of them whether the host
    sent them or a device in the path did: the capture did not run (no root, no `AF_PACKET`), its
    window did not cover the attempt, the port was not watched, the kernel dropped captured packets,
    or the host sent resets to another address at the time (an address translation may hide the
    4-tuple). Nothing is claimed for those resets: unknown is not healthy.""",
    """Follow the reason in the evidence: run the capture with `become: true`, lengthen
    `diagnose_capture_duration_s` so the window spans the probes, list the port in `diagnose_endpoints`,
    raise `max_packets`; then run the diagnosis again."""))
# A host that was reached but on which nothing could be checked, and a host of the play without
# a stored diagnosis: high (a `diagnose_fail_on: high` gate fails), and like an unreachable host
# they match every level gate (UNDIAGNOSED): a host that could not be diagnosed cannot pass.
FINDINGS.append(_f(
    'CRD-COV-NONE', 'Nothing was checked on the host', 'coverage', 'high', None,
    """The host was reached, but no collector returned anything usable: `gather_subset` selected
    none (for example `['!all']`), or every collector that ran reported `unknown`. Nothing on the host
    (sshd's log, `Out of memory: Killed process`, hosts.deny, conntrack, the firewall) was checked, so
    the host is not healthy, only unexamined.""",
    """Select collectors (`diagnose_gather_subset: [all]`, the default) and follow the reasons in the
    evidence (usually `become: true`); then run the diagnosis again."""))
FINDINGS.append(_f(
    'CRD-COV-HOST', 'The host has no stored diagnosis', 'coverage', 'high', None,
    """The host is in the play, but no host document was stored for it in `hosts/`: its diagnosis
    failed before the document was written (a failed task such as a bad option in
    `diagnose_collector_options`, or the play was interrupted), or its file is unreadable.""",
    """Read the host's error in the play's output (`ansible-playbook ... --limit HOST -v`), fix it and run
    the diagnosis again; `summary.errors` in `report.json` names the file."""))
# Findings of hosts that could not be diagnosed: they match every level gate, as unreachable hosts do.
UNDIAGNOSED = ('CRD-COV-NONE', 'CRD-COV-HOST')

# Findings whose severity (or cause) the engine sets from what was measured.
SEVERITY_NOTES = {
    'CRD-SSHD-003': 'medium; high when the unit failed, hit its start limit (`Start request repeated too '
                    'quickly`) or NRestarts >= `restarts_high`.',
    'CRD-SSHD-004': 'by drops in the log: low >= `startup_drops_low`, medium >= `startup_drops_medium`, '
                    'high >= `startup_drops_high`.',
    'CRD-SSHD-005': 'by drops in the log: low >= `startup_drops_low`, medium >= `startup_drops_medium`, '
                    'high >= `startup_drops_high`.',
    'CRD-WRAP-001': 'critical; high when it is unknown whether sshd uses libwrap.',
    'CRD-CT-001': 'medium at fill >= `conntrack_fill_warn`, high at fill >= `conntrack_fill_crit`.',
    'CRD-CT-002': 'high when packets were dropped or the table was full; medium for early_drop/insert_failed '
                  'only.',
    'CRD-TCP-001': 'low; high when `net.ipv4.tcp_abort_on_overflow=1` (overflows become resets).',
    'CRD-FW-003': 'low; medium when conntrack counted INVALID packets.',
    'CRD-PROBE-007': 'high; the cause is the one the probe classification points to.',
    'CRD-PATH-002': 'medium; the cause is the one the probe classification points to.',
    'CRD-PATH-003': 'medium; high when no keepalive (`ClientAliveInterval`, TCP keepalive) comes within the measured '
                    'idle close, so idle sessions die.',
    'CRD-SVC-002': 'medium; high when the unit failed, hit its start limit (`Start request repeated too '
                   'quickly`) or NRestarts >= `restarts_high`.',
    'CRD-SVC-004': 'medium; high when `net.ipv4.tcp_abort_on_overflow=1` (overflows become resets).',
    'CRD-SVC-005': 'medium at descriptors/limit >= `fd_fill_warn`; high at >= `fd_fill_high` or after a '
                   '`Too many open files` line.',
    'CRD-SVC-006': 'medium at ports in use/range >= `ephemeral_fill_warn`; high at >= `ephemeral_fill_high` or '
                   'after a `Cannot assign requested address` line.',
    'CRD-SVC-010': 'high; critical when it confirms CRD-SVC-001; the cause is the folded-in finding\'s, else '
                   'the one the probe classification points to.',
    'CRD-SVC-011': 'medium; high when the connection was reset.',
}
for _fid, _note in SEVERITY_NOTES.items():
    for _item in FINDINGS:
        if _item['id'] == _fid:
            _item['severity_note'] = _note
for _item in FINDINGS:
    if _item['id'].startswith('CRD-REACH-'):
        _item['severity_note'] = '%s; the cause is refined from the probe classification when a probe ran.' % (
            _item['severity'])
del _fid, _note, _item

CATALOGUE = {item['id']: item for item in FINDINGS}


def definition(fid):
    """The catalogue entry for ``fid``; raises KeyError for an unknown id."""
    return CATALOGUE[fid]


_STRICT = object()


def severity_rank(severity, outside=_STRICT):
    """The rank of a severity on the one scale: 0 (info) to 4 (critical).  Anything else raises
    ValueError, unless ``outside`` is given: then a value off the scale (a host level ``ok`` or
    ``unknown``, the gate level ``none``, None) ranks ``outside`` and case does not matter (the
    report reads host documents that may have been edited by hand)."""
    if outside is _STRICT:
        return SEVERITIES.index(severity)
    text = str(severity or '').lower()
    return SEVERITIES.index(text) if text in SEVERITIES else outside
