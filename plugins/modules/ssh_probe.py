#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ssh_probe
short_description: Find the exact phase where SSH connections to a host die
version_added: 1.0.0
description:
  - Opens fresh SSH connections to O(host) with paramiko's transport layer over a socket of its
    own (not Ansible's connection, no ControlPersist) and records, per attempt, the phase reached
    (C(dns), C(tcp_connect), C(banner), C(kex), C(auth), C(session)), the outcome, the exact error
    text, the server's banner or the text it sent instead, and per-phase timings.
  - Classifies the attempts (for example C(refused), C(rejected_icmp) for a firewall REJECT rule or
    a fail2ban ban, C(reset_at_banner_delayed) for TCP wrappers, C(maxstartups), C(kex_hang) for a
    path-MTU black hole, C(intermittent_reset)) and ranks the likely causes. See docs/probe.md for
    what each classification means.
  - Without O(username) the probe stops after key exchange. With O(username) and O(key_file) or
    O(password) it also authenticates, runs C(true) and transfers O(transfer_bytes) bytes
    (C(head -c N /dev/zero)) so resets in the middle of a session show.
  - Attempts are sequential, one connection at a time, bounded in number and time.
  - Implemented by an action plugin, it always runs on the controller, in the Ansible worker that
    handles the task (no module is shipped, no interpreter started per host), whatever host the
    task targets; O(ignore:delegate_to=localhost) in the examples only makes that explicit. It
    sees the network path from the controller, which is the path Ansible's SSH connections take
    unless they go through a jump host.
  - The probe does not verify the server's host key; it only diagnoses transport problems. Do not
    send a valuable password through it to a host you do not trust.
author: connreset.doctor contributors (@connreset)
requirements:
  - paramiko >= 3.4 on the controller
options:
  host:
    description: Host name or address to probe.
    type: str
    required: true
  port:
    description: TCP port of sshd.
    type: int
    default: 22
  connect_timeout:
    description:
      - Seconds for name resolution and, separately, for each TCP handshake. Like the OpenSSH
        client, the probe tries the addresses of a name in turn (at most 3) until one connects.
    type: float
    default: 5.0
  banner_timeout:
    description:
      - Seconds to wait for the server's SSH identification line after the TCP connection is up.
      - Keep it above 5 seconds, or the delayed reset of TCP wrappers (about 5 s) looks like a banner
        timeout.
    type: float
    default: 10.0
  kex_timeout:
    description: Seconds for key exchange; no progress within it is reported as a C(hang).
    type: float
    default: 10.0
  auth_timeout:
    description: Seconds for authentication (only with O(username)).
    type: float
    default: 10.0
  session_timeout:
    description: Seconds for the whole session phase (C(true), then the transfer).
    type: float
    default: 10.0
  attempts:
    description:
      - Number of sequential attempts, 1 to 20. Several attempts show intermittent failures
        (MaxStartups drops, rate limits).
    type: int
    default: 1
  delay:
    description: Seconds between attempts, 0 to 60.
    type: float
    default: 1.0
  username:
    description:
      - User to authenticate as. Needs O(key_file) or O(password). Without it the probe stops after
        key exchange.
    type: str
  key_file:
    description: Unencrypted private key for O(username).
    type: path
  password:
    description: Password for O(username) (used when O(key_file) is not given).
    type: str
  transfer_bytes:
    description:
      - Bytes to transfer in the session phase (C(head -c N /dev/zero) on the server), 0 to 64 MiB;
        0 runs only C(true).
    type: int
    default: 262144
  idle_hold_s:
    description:
      - Seconds to keep one extra connection idle after the attempts, 0 to 900; V(0) holds none.
      - The probe opens the connection, reads the SSH banner, then sends nothing for this long and
        watches the socket. A FIN (C(fin)) or a reset (C(rst)) and the seconds after which it came are
        the idle timeout of something in the path (a load balancer, proxy, NAT or firewall) or of sshd
        itself (C(LoginGraceTime), 120 s by default, ends a connection that never logs in).
      - Still open at the end, the probe sends the client's identification line
        (C(SSH-2.0-connreset.doctor_probe)), only then, so the connection was truly idle, and waits up
        to 5 seconds for sshd's answer (its key exchange init); no answer is C(silent_drop), the flow
        died silently in the path (what a NAT or stateful firewall that forgot the flow does).
      - The hold runs after the attempts, so the probe takes that much longer. Result in RV(probe.idle).
    type: int
    default: 0
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.action
attributes:
  check_mode:
    support: full
    description: The probe only opens connections; it runs in check mode too and changes nothing.
  facts:
    support: none
    description: Returns its result as C(probe), not as facts.
  platform:
    description: Runs on the controller, which needs paramiko.
notes:
  - sshd's MaxStartups (default 10:30:100) drops unauthenticated connections past its start value;
    many forks connecting through one bastion can trigger it. See docs/probe.md.
  - A connect refused by a TCP reset (on Linux, nothing listens on the port) and one refused by an
    ICMP error (a firewall REJECT rule, fail2ban's default ban action) both fail with
    C(Connection refused). On a Linux controller the probe reads the ICMP error from its socket's
    error queue (C(IP_RECVERR), no privileges needed) and classifies the attempt C(rejected_icmp);
    on other systems both are C(refused).
'''

EXAMPLES = r'''
- name: Where do connections to this host die?
  connreset.doctor.ssh_probe:
    host: "{{ ansible_host | default(inventory_hostname) }}"
    port: "{{ ansible_port | default(22) }}"
    attempts: 5
    delay: 0.5
  delegate_to: localhost
  register: probe

- name: Show the verdict
  ansible.builtin.debug:
    msg: "{{ probe.probe.summary.classification }}: {{ probe.probe.summary.detail }}"

- name: Probe through authentication and a 1 MiB transfer
  connreset.doctor.ssh_probe:
    host: 192.0.2.10
    username: probe
    key_file: ~/.ssh/id_probe
    transfer_bytes: 1048576
  delegate_to: localhost
'''

RETURN = r'''
probe:
  description: The probe result (docs/development.md "Probe result (ssh_probe) contract").
  returned: always
  type: dict
  contains:
    host:
      description: The host probed.
      type: str
      sample: 192.0.2.10
    port:
      description: The port probed.
      type: int
      sample: 22
    attempts:
      description: One record per attempt, in order.
      type: list
      elements: dict
      contains:
        attempt:
          description: Attempt number, from 1.
          type: int
          sample: 1
        phase:
          description:
            - Phase reached, where the attempt stopped (or the last phase probed when it succeeded).
            - One of C(dns), C(tcp_connect), C(banner), C(kex), C(auth), C(session).
          type: str
          sample: banner
        outcome:
          description:
            - How the phase ended. One of C(ok), C(refused), C(timeout), C(reset), C(closed),
              C(banner_text) (the server sent text instead of an SSH banner), C(hang) (no progress in
              key exchange, authentication or the session), C(auth_failed), C(error).
          type: str
          sample: reset
        error:
          description: The exact error text, null when the attempt succeeded.
          type: str
          sample: "ConnectionResetError: [Errno 104] Connection reset by peer"
        banner:
          description: The server's SSH identification line, or the text it sent instead; null when nothing.
          type: str
          sample: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3
        address:
          description: The address connected to (or the last one tried), null when name resolution failed.
          type: str
          sample: 192.0.2.10
        icmp:
          description:
            - The ICMP error that answered the TCP connect to RV(probe.attempts[].address), as the
              controller's kernel queued it on the probe's socket (Linux only, C(IP_RECVERR) /
              C(IPV6_RECVERR)). Earlier addresses' ICMP errors are in RV(probe.attempts[].error).
            - Null when the connect succeeded, or failed without an ICMP error (a TCP reset, a
              timeout), or the controller is not Linux.
          type: dict
          sample: {type: 3, code: 3, origin: icmp, offender: 192.0.2.10, text: port unreachable}
          contains:
            type:
              description: ICMP type (3 destination unreachable, 11 time exceeded; ICMPv6 1 destination unreachable).
              type: int
              sample: 3
            code:
              description:
                - ICMP code. ICMP type 3 code 3 (port unreachable), 9, 10, 13 (administratively prohibited)
                  and ICMPv6 type 1 code 1 (administratively prohibited), 4 (port unreachable) reject the
                  port (C(rejected_icmp)); others, such as a router's host or net unreachable, leave the
                  attempt C(refused).
              type: int
              sample: 3
            origin:
              description: C(icmp) (IPv4) or C(icmp6) (IPv6).
              type: str
              sample: icmp
            offender:
              description:
                - Address of the host that sent the ICMP error; when it is not RV(probe.attempts[].address),
                  a firewall or router on the path answered. Null when the kernel gave none.
              type: str
              sample: 192.0.2.10
            text:
              description: The ICMP type/code in words.
              type: str
              sample: port unreachable
        local_address:
          description:
            - The probe's own address of this attempt's TCP connection (C(getsockname) after the connect, also
              after a refused, reset or timed-out connect), the controller's side of the 4-tuple that
              M(connreset.doctor.reset_capture) on the target records; null when the connect failed before the
              socket had a port (no address resolved, no socket).
            - Behind NAT the target sees another address and port.
          type: str
          sample: 192.0.2.1
        local_port:
          description: The probe's own port of this attempt's TCP connection, as RV(probe.attempts[].local_address); null with it.
          type: int
          sample: 51734
        started_at:
          description: When the attempt started, seconds since the epoch (UTC), by the controller's clock.
          type: float
          sample: 1796328128.5412
        ended_at:
          description: When the attempt ended, seconds since the epoch (UTC), by the controller's clock.
          type: float
          sample: 1796328128.5431
        elapsed_s:
          description: Seconds the attempt took.
          type: float
          sample: 5.004
        timings:
          description: Seconds spent in each phase; null for phases not reached.
          type: dict
          sample: {dns: 0.001, tcp_connect: 0.0004, banner: 5.002, kex: null, auth: null, session: null}
    summary:
      description: Verdict over all attempts.
      type: dict
      contains:
        classification:
          description:
            - One of C(ok), C(dns_failure), C(refused), C(rejected_icmp) (the TCP connect was answered with an
              ICMP port unreachable or administratively prohibited, so a firewall REJECT rule or a ban, not a
              stopped sshd), C(connect_timeout), C(reset_at_connect), C(reset_at_banner), C(reset_at_banner_delayed), C(maxstartups), C(closed_at_banner),
              C(banner_timeout), C(kex_hang), C(reset_during_kex), C(auth_failed),
              C(reset_mid_session), C(intermittent_reset), C(session_hang) (no progress after
              authentication), C(probe_error) (a failure that is not a network symptom).
          type: str
          sample: reset_at_banner_delayed
        phase:
          description: Phase of the attempt that represents the verdict.
          type: str
          sample: banner
        outcome:
          description: Outcome of that attempt.
          type: str
          sample: reset
        intermittent:
          description: True when the attempts disagree (for example 3 of 10 reset, the others fine).
          type: bool
          sample: false
        counts:
          description: Number of attempts per outcome.
          type: dict
          sample: {ok: 7, banner_text: 3}
        likely_causes:
          description:
            - Cause ids of the finding contract, most likely first (C(sshd_down), C(sshd_rate_limit),
              C(resource_exhaustion), C(tcp_wrappers), C(mtu), C(conntrack), C(idle_timeout),
              C(listen_queue), C(firewall), C(configuration)).
          type: list
          elements: str
          sample: [tcp_wrappers]
        detail:
          description: One sentence for a person.
          type: str
          sample: >-
            The connection is reset about 5.0 s after it was accepted, before any banner: the
            signature of TCP wrappers (hosts.deny) denying this client in sshd.
    route:
      description:
        - The controller's route to the address the attempts reached, from its routing table (C(/proc/net/route),
          C(/proc/net/ipv6_route)) - the longest matching prefix; V(null) when no attempt resolved the host or the
          table cannot be read.
        - C(gateway) V(null) means the host is on a link of the controller; an address means the path goes through
          routers (the engine's CRD-PATH-004 reads it).
      returned: always
      type: dict
      sample: {prefix: 10.213.127.0/24, gateway: 10.213.34.254, dev: crlab27}
    idle:
      description: The idle hold's result (O(idle_hold_s)).
      returned: when O(idle_hold_s) is above 0
      type: dict
      contains:
        hold_s:
          description: The hold asked for, in seconds.
          type: int
          sample: 300
        outcome:
          description:
            - C(open) (still open at the end and sshd answered the identification line), C(fin) (closed
              with a FIN during the hold), C(rst) (reset), C(silent_drop) (still open but nothing answered
              the line sent after the hold, the flow died in the path), C(error) (the hold could not
              start or failed, see RV(probe.idle.error)).
          type: str
          sample: silent_drop
        after_s:
          description:
            - Seconds the connection had been idle when it ended (C(fin), C(rst)) or when the probe spoke
              after the hold (C(open), C(silent_drop)); null when the hold did not start.
          type: float
          sample: 300.002
        answer_s:
          description: Seconds from the line sent after the hold to sshd's answer (or to the end of the wait); null without it.
          type: float
          sample: 5.001
        detail:
          description: One sentence for a person.
          type: str
          sample: >-
            The connection stayed open for 300.0 s, then nothing answered what the probe sent on it (...): the
            flow died silently in the path, as when a NAT or stateful firewall forgets an idle flow.
        error:
          description: What ended the hold, in words; null when it stayed open and was answered.
          type: str
          sample: no answer within 5.0 s to the line sent after 300.0 s idle
        tcp_info:
          description:
            - After the line sent at the end of the hold, the socket's C(retransmits), C(unacked) and
              C(total_retrans) (Linux C(TCP_INFO)); null elsewhere or when no line was sent.
          type: dict
          sample: {retransmits: 3, unacked: 1, total_retrans: 3}
        banner:
          description: sshd's identification line on the held connection.
          type: str
          sample: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3
        address:
          description: The address the hold connected to.
          type: str
          sample: 192.0.2.10
        local_address:
          description: The probe's own address of the held connection (for M(connreset.doctor.reset_capture)).
          type: str
          sample: 192.0.2.1
        local_port:
          description: The probe's own port of the held connection.
          type: int
          sample: 51736
        started_at:
          description: When the hold started, seconds since the epoch (controller clock).
          type: float
          sample: 1796328128.5412
        ended_at:
          description: When the hold ended, seconds since the epoch (controller clock).
          type: float
          sample: 1796328433.5431
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.connreset.doctor.plugins.module_utils import _probe


def main():
    # The action plugin (plugins/action/ssh_probe.py) runs the probe in-process; this entry point
    # does the same as a module, for tools that execute module files directly.
    module = AnsibleModule(argument_spec=_probe.ARGUMENT_SPEC, supports_check_mode=True)
    if not _probe.HAS_PARAMIKO:
        module.fail_json(msg=missing_required_lib('paramiko'), exception=_probe.PARAMIKO_IMPORT_ERROR)
    _probe.run_module(module, _probe.probe)


if __name__ == '__main__':
    main()
