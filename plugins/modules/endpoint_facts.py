#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: endpoint_facts
short_description: Read the health of the TCP services you name (listeners, unit history, descriptors, idle timeouts)
version_added: 1.0.0
description:
  - For each endpoint of O(endpoints) (a TCP port, optionally its systemd unit), reads what can make its clients
    see C(Connection reset by peer) - the same diagnosis the collection makes for sshd, for any TCP service.
  - The listening sockets on the port (C(ss -Hltnp); C(/proc/net/tcp) and C(tcp6) with C(/proc/PID/fd) when C(ss)
    is missing), the process that owns them and its systemd unit (from C(/proc/PID/cgroup)), the accept queue
    (C(Recv-Q)) and its backlog (C(Send-Q)), and the host's C(net.core.somaxconn) and
    C(net.ipv4.tcp_abort_on_overflow).
  - The unit's state and history as systemd reports it (C(systemctl show) - C(ActiveState), C(NRestarts),
    C(ExecMainStatus), C(Result)) and, from the journal, its crashes and restarts (systemd's own unit messages,
    written by PID 1, the same rules as M(connreset.doctor.sshd_facts)), and the OOM kills in its cgroup (the
    rules of M(connreset.doctor.oom_facts)). Without systemd these are V(unknown) with the reason.
  - "The file descriptors the owning process holds against its limit (C(/proc/PID/fd), C(/proc/PID/limits)), the
    program's own C(Too many open files) and C(Cannot assign requested address) log lines (nginx's C(accept4()
    failed (24: Too many open files)), ...), and the ephemeral ports in use against C(net.ipv4.ip_local_port_range)."
  - The server's idle and keep-alive close timeouts, read from the owning program's configuration - nginx
    (C(nginx -T) - C(keepalive_timeout), upstream C(keepalive) and C(keepalive_timeout), C(proxy_read_timeout)),
    HAProxy (C(timeout client), C(timeout server), C(timeout http-keep-alive), and a missing C(timeout client)),
    gunicorn (C(--keep-alive) in its command line or C(keepalive) in its configuration file), Redis
    (C(timeout), C(tcp-keepalive)), Apache httpd (C(KeepAliveTimeout), C(KeepAlive), per virtual host, with
    C(Include) and C(IncludeOptional) followed), uWSGI (C(socket-timeout) of an C(--http11-socket), C(http-keepalive)
    and C(http-timeout) of its HTTP router, from its command line and C(--ini) files), PostgreSQL
    (C(idle_session_timeout), C(idle_in_transaction_session_timeout), C(tcp_keepalives_idle),
    C(tcp_keepalives_interval), C(tcp_user_timeout) from C(postgresql.conf) with its includes, C(postgresql.auto.conf)
    and C(-c) options) and MySQL/MariaDB (C(wait_timeout), C(interactive_timeout) from the option files the server
    reads, with C(!include)/C(!includedir), and its command line). Each value comes with its file and line, or the
    program's default (from its source) when unset; V(unknown) with the reason when the program or its configuration
    cannot be read.
  - Reads only; never changes the host. The one command it runs besides C(ss) and C(systemctl show) is C(nginx -T)
    (with the C(-c)/C(-p) the running master was started with), which only tests and prints the configuration.
  - Not read yet - the exhaustion lines of programs other than nginx (V(null), never V(0)); uWSGI's XML, YAML and
    JSON configurations (counted as not understood, the status is then V(partial)).
author: connreset.doctor contributors (@connreset)
options:
  endpoints:
    description:
      - The TCP services to look at. sshd is not needed here, M(connreset.doctor.sshd_facts) covers it.
      - An empty list reads nothing and returns V(ok) with no endpoints.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - A name for the report; by default C(<unit or program>:<port>).
        type: str
      port:
        description:
          - The TCP port the service listens on (1-65535).
        type: int
        required: true
      unit:
        description:
          - The systemd unit of the service (V(nginx.service)); a name without a suffix gets C(.service).
          - Not given, the unit of the process that owns the listening socket is used (from its cgroup).
        type: str
      protocol:
        description:
          - What the clients speak on the port; the probe (M(connreset.doctor.tcp_probe)) uses it, the collector
            reports it.
        type: str
        choices: [tcp, tls, http, https]
        default: tcp
      front:
        description:
          - What sits in front of the service (a load balancer or a proxy) and its idle timeout. The collector
            reports it as given; the findings compare it with the server's idle close (the engine holds the
            preset idle timeout of each O(endpoints[].front.kind)).
        type: dict
        suboptions:
          kind:
            description:
              - The kind of front.
            type: str
            choices: [aws-alb, aws-nlb, aws-gwlb, azure-lb, gcp-lb, gcp-nat, nginx, haproxy, envoy, none]
          idle_timeout_s:
            description:
              - Its idle timeout in seconds, when it differs from the preset of O(endpoints[].front.kind).
            type: float
  since:
    description:
      - Start of the log window for crashes, restarts and the program's own events, as for
        M(connreset.doctor.sshd_facts) (V(7d), V(24h), a date, V(@<epoch>)); by default the last 7 days.
    type: str
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns C(ansible_facts.connreset_endpoints).
  platform:
    description: Linux (reads C(/proc)).
notes:
  - Run with C(become=true). Without root, C(ss) and C(/proc/PID/fd) do not name the processes of other users, their
    C(/proc/PID/limits) and the program's configuration may be unreadable; those parts are then V(partial) or
    V(unknown) with the reason, never guessed.
  - The timeouts are those of the configuration on disk as the program would read it now; a program started before
    the last edit may still run with older values (a reload applies them).
seealso:
  - module: connreset.doctor.reset_facts
  - module: connreset.doctor.sshd_facts
  - module: connreset.doctor.oom_facts
'''

EXAMPLES = r'''
- name: Read the health of a web service behind an AWS ALB, and of its Redis
  connreset.doctor.endpoint_facts:
    endpoints:
      - port: 443
        protocol: https
        front: {kind: aws-alb}
      - name: app
        port: 8000
        unit: gunicorn.service
        protocol: http
        front: {kind: nginx}
      - port: 6379
  become: true

- name: Fail when the app closes idle connections before its front stops reusing them
  ansible.builtin.assert:
    that: >-
      (ansible_facts.connreset_endpoints.endpoints[1].timeouts.idle_close.value_s | default(0, true))
      >= 60
'''

RETURN = r'''
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    connreset_endpoints:
      description: Health of the endpoints of O(endpoints).
      returned: always
      type: dict
      contains:
        status:
          description: V(ok), V(partial) (some parts of some endpoints unreadable) or V(unknown) (nothing readable).
          type: str
          returned: always
          sample: partial
        reason:
          description: Why the status is not V(ok), endpoint by endpoint, with what to do; V(null) when V(ok).
          type: str
          returned: always
          sample: "redis:6379: timeouts: /etc/redis/redis.conf: Permission denied: use become: true"
        elapsed_s:
          description: Seconds the collector took.
          type: float
          returned: always
          sample: 0.42
        sysctls:
          description:
            - C(net.core.somaxconn) (the cap on every listen backlog), C(net.ipv4.tcp_abort_on_overflow) (V(1) - a
              full accept queue answers a new connection's final ACK with a reset), C(net.ipv4.ip_local_port_range)
              as V([low, high]); each V(null) when unreadable.
          type: dict
          returned: always
          sample: {somaxconn: 4096, tcp_abort_on_overflow: 0, ip_local_port_range: [32768, 60999]}
        ephemeral_ports:
          description:
            - TCP sockets of this network namespace whose local port is in C(ip_local_port_range) and that are not
              listening (outgoing connections, C(TIME_WAIT) included), from C(/proc/net/tcp) and C(tcp6).
            - The same local port can serve several destinations, so RV(ansible_facts.connreset_endpoints.ephemeral_ports.fill)
              near 1 means exhaustion toward one busy destination is likely, not certain.
          type: dict
          returned: always
          sample: {status: ok, reason: null, low: 32768, high: 60999, size: 28232, in_use: 120, fill: 0.0043}
          contains:
            # a part read whole or not at all: each endpoint's fds below has the same status and reason
            status: &whole_part_status
              description: V(ok) or V(unknown).
              type: str
              sample: ok
            reason: &whole_part_reason
              description: Why it is V(unknown).
              type: str
              sample: null
            low:
              description: First port of the range.
              type: int
              sample: 32768
            high:
              description: Last port of the range.
              type: int
              sample: 60999
            size:
              description: Ports in the range.
              type: int
              sample: 28232
            in_use:
              description: Distinct local ports in the range held by non-listening TCP sockets.
              type: int
              sample: 120
            fill:
              description: RV(ansible_facts.connreset_endpoints.ephemeral_ports.in_use) / size, 4 decimals.
              type: float
              sample: 0.0043
        endpoints:
          description: One entry per endpoint of O(endpoints), in that order.
          type: list
          elements: dict
          returned: always
          contains:
            name:
              description: The endpoint's name (given, else C(<unit or program>:<port>)).
              type: str
              sample: nginx:443
            port:
              description: Its TCP port.
              type: int
              sample: 443
            protocol:
              description: As given (V(tcp), V(tls), V(http), V(https)).
              type: str
              sample: https
            front:
              description: As given (C(kind), C(idle_timeout_s)), V(null) when not given.
              type: dict
              sample: {kind: aws-alb, idle_timeout_s: null}
            unit:
              description: The systemd unit (given, or of the process owning the socket); V(null) when none is known.
              type: str
              sample: nginx.service
            unit_source:
              description: V(given), V(socket) (from the owning process's cgroup) or V(null).
              type: str
              sample: socket
            program:
              description:
                - The server program owning the socket, when it is one whose configuration is read - V(nginx),
                  V(haproxy), V(gunicorn), V(redis), V(apache); else the process name; V(null) when no process is known.
              type: str
              sample: nginx
            status:
              description: V(ok), V(partial) or V(unknown) over the parts of this endpoint.
              type: str
              sample: ok
            reason:
              description: Why it is not V(ok), part by part.
              type: str
              sample: null
            listening:
              description:
                - The listening sockets on the port; V([]) when nothing listens on it, V(null) when the sockets
                  could not be read.
              type: list
              elements: dict
              sample:
                - {address: 0.0.0.0, port: 443, recv_q: 0, backlog: 511, pids: [812, 813], processes: [nginx]}
              contains:
                address:
                  description: Local address (V(0.0.0.0), V(::), V(*) mean all).
                  type: str
                  sample: 0.0.0.0
                port:
                  description: The port.
                  type: int
                  sample: 443
                recv_q:
                  description: Connections waiting in the accept queue now (C(Recv-Q)).
                  type: int
                  sample: 0
                backlog:
                  description: The accept queue's length, C(min(listen() backlog, somaxconn)) (C(Send-Q)); V(null) from C(/proc/net/tcp).
                  type: int
                  sample: 511
                pids:
                  description: Processes holding the socket (empty when they could not be seen).
                  type: list
                  elements: int
                  sample: [812, 813]
                processes:
                  description: Their names, as C(ss) prints them.
                  type: list
                  elements: str
                  sample: [nginx]
            listen_source:
              description: V(ss) or V(proc); V(null) when neither could be read.
              type: str
              sample: ss
            process:
              description:
                - The process owning the socket - the unit's main process when it holds it, else the
                  parent-most holder; V(null) when none is known.
              type: dict
              sample: {pid: 812, comm: nginx, exe: /usr/sbin/nginx, cgroup: /system.slice/nginx.service, unit: nginx.service}
              contains:
                pid:
                  description: Process ID.
                  type: int
                  sample: 812
                comm:
                  description: Its C(/proc/PID/comm).
                  type: str
                  sample: nginx
                exe:
                  description: Its binary (C(/proc/PID/exe)); V(null) when unreadable.
                  type: str
                  sample: /usr/sbin/nginx
                cgroup:
                  description: Its cgroup path (C(/proc/PID/cgroup)).
                  type: str
                  sample: /system.slice/nginx.service
                unit:
                  description: The systemd unit of that cgroup.
                  type: str
                  sample: nginx.service
            service:
              description:
                - The unit as systemd sees it, the same keys as C(connreset_sshd.service)
                  of M(connreset.doctor.sshd_facts) (C(manager), C(unit), C(load_state), C(active_state), C(sub_state),
                  C(main_pid), C(n_restarts), C(exec_main_status), C(exec_main_code), C(result), C(started_at),
                  C(exec_main_started_at), C(status), C(reason)).
                - V(manager=none), V(status=unknown) with the reason on a host without systemd or when no unit is known.
              type: dict
              sample:
                manager: systemd
                unit: nginx.service
                load_state: loaded
                active_state: active
                sub_state: running
                main_pid: 812
                n_restarts: 0
                exec_main_status: 0
                exec_main_code: null
                result: success
                started_at: "2026-12-03T19:00:00Z"
                exec_main_started_at: "2026-12-03T19:00:00Z"
                status: ok
                reason: null
            events:
              description:
                - The unit's crashes and restarts in the log window (systemd's own unit messages from PID 1, the
                  counting rules of M(connreset.doctor.sshd_facts)), and the program's own descriptor and address
                  exhaustion lines; each kind has C(count), C(last) and up to 5 C(samples); counts are V(null) when
                  the journal could not be read.
              type: dict
              sample:
                status: ok
                reason: null
                window: {since: "2026-11-26T19:00:00Z", until: "2026-12-03T19:00:00Z"}
                crashes: {count: 2, last: "2026-12-03T18:59:01Z", samples: ["..."], results: {killed 9/KILL: 2}}
                restarts: {count: 2, last: "2026-12-03T18:59:01Z", samples: ["..."], automatic: 2, manual: 0, gave_up: 0}
                fd_exhaustion: {count: 0, last: null, samples: []}
                addr_exhaustion: {count: 0, last: null, samples: []}
              contains:
                status:
                  description: V(ok), V(partial) or V(unknown).
                  type: str
                  sample: ok
                # the oom part below has the same reason
                reason: &part_reason
                  description: Why it is not V(ok).
                  type: str
                  sample: null
                window:
                  description: The window read (C(since), C(until)).
                  type: dict
                  sample: {since: "2026-11-26T19:00:00Z", until: "2026-12-03T19:00:00Z"}
                crashes:
                  description: The main process ended abnormally, or the unit failed; C(results) counts each way.
                  type: dict
                  sample: {count: 1, last: "2026-12-03T18:59:01Z", samples: [], results: {killed 9/KILL: 1}}
                restarts:
                  description: Automatic restarts and stops (C(automatic), C(manual)); C(gave_up) counts C(Start request repeated too quickly).
                  type: dict
                  sample: {count: 1, last: "2026-12-03T18:59:01Z", samples: [], automatic: 1, manual: 0, gave_up: 0}
                fd_exhaustion:
                  description: The program's own C(Too many open files) lines (nginx's error log; V(null) for the other programs, whose logs are not read).
                  type: dict
                  sample: {count: 0, last: null, samples: []}
                addr_exhaustion:
                  description: The program's own C(Cannot assign requested address) lines (no ephemeral port left for an upstream connection).
                  type: dict
                  sample: {count: 0, last: null, samples: []}
            oom:
              description: OOM kills in the unit's cgroup in the log window, as M(connreset.doctor.oom_facts) reads them.
              type: dict
              sample: {status: ok, reason: null, kill_count: 1, kills: [{time: "2026-12-03T18:59:01Z", process: gunicorn, unit: app.service}], unit_results: 1,
                       cgroup_oom_kills: 1, kills_elsewhere: 0}
              contains:
                status:
                  description:
                    - V(ok), V(partial) or V(unknown) (no kernel log readable, or no unit known).
                    - V(partial) also when the kernel log is shared with other hosts (a container, a namespace host), it names OOM kills of a
                      unit of the same name, and nothing of this host's own (the unit's memory cgroup counter, its systemd's OOM result) tells
                      whether they were this host's; they are then not counted.
                  type: str
                  sample: ok
                reason: *part_reason
                kill_count:
                  description: Kernel or systemd-oomd kills of a process of the unit; V(null) when unknown.
                  type: int
                  sample: 1
                kills:
                  description: The most recent of them (the keys of C(connreset_oom.kills) of M(connreset.doctor.oom_facts)).
                  type: list
                  elements: dict
                  sample: []
                unit_results:
                  description: systemd's C(Failed with result 'oom-kill') and C(A process of this unit has been killed by the OOM killer) lines for the unit.
                  type: int
                  sample: 1
                cgroup_oom_kills:
                  description:
                    - The C(oom_kill) counter of the unit's own memory cgroup (C(memory.events) on cgroup v2, C(memory.oom_control) on v1, kernel 4.13
                      and later), counted since the cgroup was created (systemd creates it anew when the unit starts); V(null) when it cannot be read
                      (the unit is not running, no cgroup file system, an older kernel).
                    - On a shared kernel log it decides whether a kill of a unit of this name was this host's.
                  type: int
                  sample: 1
                kills_elsewhere:
                  description: Kills of a unit of this name in the shared kernel log given to another host (the unit's own counter says 0) or left
                    uncounted (then V(status) is V(partial)); V(0) on a host that sees the kernel's cgroup paths as its own.
                  type: int
                  sample: 0
            fds:
              description: Descriptors of the owning process against its C(Max open files) limit.
              type: dict
              sample: {status: ok, reason: null, pid: 812, open: 24, soft_limit: 1024, hard_limit: 524288, fill: 0.0234}
              contains:
                status: *whole_part_status
                reason: *whole_part_reason
                pid:
                  description: The process counted.
                  type: int
                  sample: 812
                open:
                  description: Entries of C(/proc/PID/fd).
                  type: int
                  sample: 24
                soft_limit:
                  description: The soft C(Max open files) limit; V(null) for unlimited.
                  type: int
                  sample: 1024
                hard_limit:
                  description: The hard limit; V(null) for unlimited.
                  type: int
                  sample: 524288
                fill:
                  description: open / soft_limit, 4 decimals.
                  type: float
                  sample: 0.0234
            timeouts:
              description:
                - The server's idle and keep-alive close timeouts from the owning program's configuration.
                - C(values) lists every timeout read, with its file and line, or C(default=true) (and the program's
                  default) when it is not set; C(idle_close) is the one that closes an idle client connection of
                  this port, the value the findings compare with the front's idle timeout.
              type: dict
              sample:
                status: ok
                reason: null
                program: nginx
                source: nginx -T
                values:
                  - {key: keepalive_timeout, value_s: 75, file: /etc/nginx/nginx.conf, line: 21, default: false, context: http}
                  - {key: proxy_read_timeout, value_s: 60, file: null, line: null, default: true, context: http}
                idle_close: {key: keepalive_timeout, value_s: 75, file: /etc/nginx/nginx.conf, line: 21, default: false, context: http}
              contains:
                status:
                  description: V(ok), V(partial) or V(unknown) (the program is not one whose configuration is read, or it could not be read).
                  type: str
                  sample: ok
                reason:
                  description: Why it is not V(ok), with what to do.
                  type: str
                  sample: null
                program:
                  description: The program whose configuration was read; V(null) when none.
                  type: str
                  sample: nginx
                source:
                  description: How it was read (V(nginx -T), the configuration file's path, the command line).
                  type: str
                  sample: nginx -T
                values:
                  description:
                    - Each timeout - C(key) (the program's own directive, V(keepalive_timeout), V(timeout client), ...),
                      C(value_s) (seconds; V(null) for no timeout at all, as C(timeout 0) of Redis), C(file), C(line),
                      C(default), C(context) (the block it is in - V(http), V(server :443), V(upstream app),
                      V(frontend www), V(defaults)), C(missing) (HAProxy - the timeout a proxy needs is not set), C(disabled)
                      (Redis, PostgreSQL - the value 0 that turns the timeout off), C(raw) and C(problem) (uWSGI - the integer
                      uWSGI stores, and why a value was not understood).
                    - V(null) C(value_s) on uWSGI means the value was not understood (none of its timeouts can be off).
                  type: list
                  elements: dict
                  sample: []
                idle_close:
                  description:
                    - The entry of C(values) that closes an idle client connection on this port; V(null) when unknown.
                    - V(null) with status V(ok) for uWSGI on an C(--http-socket), which closes each connection after its response
                      (no idle connection is kept).
                  type: dict
                  sample: {key: keepalive_timeout, value_s: 75, file: /etc/nginx/nginx.conf, line: 21, default: false, context: http}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector, run_fact_module
from ansible_collections.connreset.doctor.plugins.module_utils._endpoints import ARGUMENT_SPEC, collect


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_fact_module(module, 'connreset_endpoints', lambda: run_collector('endpoints', collect, System(module), module.params, budget=30))


if __name__ == '__main__':
    main()
