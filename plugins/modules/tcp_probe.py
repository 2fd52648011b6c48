#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: tcp_probe
short_description: Find the exact phase where connections to a TCP, TLS or HTTP service die
version_added: 1.1.0
description:
  - Opens fresh connections to each endpoint in O(endpoints) and records, per attempt, the phase
    reached (C(dns), C(tcp_connect), C(tls), C(request)), how it ended, the exact error text, the
    TLS version and certificate fingerprint, the HTTP status and per-phase timings.
  - C(tcp) endpoints are connected to (then the probe waits 0.1 s for a reset or close the server
    sends before anything is asked); C(tls) adds a TLS handshake; C(http) sends one
    C(GET <path> HTTP/1.1) with C(Host) and C(Connection) C(keep-alive) and reads the response;
    C(https) does both.
  - Classifies each endpoint's attempts with the vocabulary of M(connreset.doctor.ssh_probe) where
    it applies (C(refused), C(rejected_icmp), C(connect_timeout), C(reset_at_connect), C(ok)) and
    C(tls_alert), C(reset_after_request), C(closed_before_response), C(http_error) (a 5xx answer,
    for example a proxy's 502) and others for what only these protocols show. See docs/probe.md.
  - With O(idle_hold_s) it also keeps one connection per endpoint idle (after its request, for
    http) and records how and when it ends, a FIN or a reset after how many seconds, or still
    open; an http connection still open at the end gets a second request, which shows a flow a
    middlebox dropped silently.
  - Attempts are sequential, one connection at a time, bounded in number and time; the idle holds
    of all endpoints run at the same time.
  - Implemented by an action plugin, it always runs on the controller, in the Ansible worker that
    handles the task, whatever host the task targets. It sees the network path from the
    controller.
  - The probe does not verify TLS certificates unless O(validate_certs=true); it diagnoses the
    transport, it is not a trust decision. Do not point it at a service you do not trust with
    credentials in O(endpoints[].path).
author: connreset.doctor contributors (@connreset)
options:
  endpoints:
    description: The services to probe, at most 16.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: A name for the endpoint in the result; default C(host:port/protocol).
        type: str
      host:
        description: Host name or address; default O(host).
        type: str
      port:
        description: TCP port.
        type: int
        required: true
      protocol:
        description: What to do after the TCP handshake.
        type: str
        choices: [tcp, tls, http, https]
        default: tcp
      server_name:
        description:
          - TLS server name (SNI) and C(Host) header, for O(endpoints[].protocol=tls) or
            O(endpoints[].protocol=https) when it is not O(endpoints[].host).
        type: str
      path:
        description: Request path for C(http)/C(https).
        type: str
        default: /
  host:
    description: Host of the endpoints that do not name their own.
    type: str
  attempts:
    description: Sequential attempts per endpoint, 1 to 20.
    type: int
    default: 1
  delay:
    description: Seconds between attempts, 0 to 60.
    type: float
    default: 0.5
  connect_timeout:
    description:
      - Seconds for name resolution and, separately, for each TCP handshake (the addresses of a
        name are tried in turn, at most 3).
    type: float
    default: 5.0
  tls_timeout:
    description: Seconds for the TLS handshake.
    type: float
    default: 10.0
  response_timeout:
    description: Seconds from sending the request to the end of the response.
    type: float
    default: 10.0
  validate_certs:
    description:
      - Verify the server's certificate chain and name. Off by default; a failed verification is
        classified C(tls_failure).
    type: bool
    default: false
  ca_path:
    description: CA certificates (PEM file) to verify against, with O(validate_certs=true).
    type: path
  idle_hold_s:
    description:
      - Keep one connection per endpoint idle for up to this many seconds and record how it ends;
        0 (the default) turns it off, at most 900.
    type: float
    default: 0.0
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.action
attributes:
  check_mode:
    support: full
    description: The probe only opens connections and sends one GET; it runs in check mode too.
  platform:
    description: Runs on the controller.
notes:
  - An accept-queue overflow with C(net.ipv4.tcp_abort_on_overflow=1) shows as C(reset_at_connect)
    when the reset answers the handshake, and as C(reset_after_request) with no response byte when
    the listener defers accept until data arrives (C(TCP_DEFER_ACCEPT), as HAProxy C(defer-accept) and
    nginx C(deferred)). Compare with the endpoint's accept queue (M(connreset.doctor.endpoint_facts)).
seealso:
  - module: connreset.doctor.ssh_probe
'''

EXAMPLES = r'''
- name: Where do connections to the web tier die?
  connreset.doctor.tcp_probe:
    host: "{{ ansible_host | default(inventory_hostname) }}"
    endpoints:
      - {name: web, port: 443, protocol: https}
      - {name: app, port: 8000, protocol: http, path: /healthz}
      - {name: redis, port: 6379}
    attempts: 3
  delegate_to: localhost
  register: tcp

- name: Does the load balancer reset idle connections, and when?
  connreset.doctor.tcp_probe:
    endpoints:
      - {host: lb.example.com, port: 80, protocol: http}
    idle_hold_s: 400
  delegate_to: localhost
  register: idle

- name: Show the verdicts
  ansible.builtin.debug:
    msg: "{{ tcp.probe.summary.classifications }}"
'''

RETURN = r'''
probe:
  description: The probe result.
  returned: always
  type: dict
  contains:
    endpoints:
      description: One record per endpoint, in the order given.
      type: list
      elements: dict
      contains:
        name:
          description: The endpoint's name.
          type: str
          sample: web
        host:
          description: Host probed.
          type: str
          sample: 192.0.2.10
        port:
          description: Port probed.
          type: int
          sample: 443
        protocol:
          description: C(tcp), C(tls), C(http) or C(https).
          type: str
          sample: https
        attempts:
          description: One record per attempt.
          type: list
          elements: dict
          contains:
            attempt:
              description: Attempt number, from 1.
              type: int
              sample: 1
            phase:
              description: Phase reached (C(dns), C(tcp_connect), C(tls), C(request)), where the attempt stopped.
              type: str
              sample: request
            outcome:
              description:
                - How the phase ended. One of C(ok), C(refused), C(timeout), C(reset), C(closed),
                  C(tls_alert), C(tls_error), C(http_error) (a 5xx status), C(bad_response), C(error).
              type: str
              sample: reset
            error:
              description: The exact error text, null when the attempt succeeded.
              type: str
              sample: "ConnectionResetError: [Errno 104] Connection reset by peer after 0 bytes of a response"
            address:
              description: Address connected to (or the last one tried).
              type: str
              sample: 192.0.2.10
            icmp:
              description: The ICMP error that answered the TCP connect (Linux), as in M(connreset.doctor.ssh_probe); null when none.
              type: dict
              sample: {type: 3, code: 3, origin: icmp, offender: 192.0.2.10, text: port unreachable}
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
              description: The probe's own port of this attempt's TCP connection, as RV(probe.endpoints[].attempts[].local_address); null with it.
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
            connected:
              description: True once the TCP handshake completed.
              type: bool
              sample: true
            elapsed_s:
              description: Seconds the attempt took.
              type: float
              sample: 0.012
            timings:
              description: Seconds per phase, null for phases not reached.
              type: dict
              sample: {dns: 0.0001, tcp_connect: 0.1003, tls: null, request: 0.0021}
            tls:
              description:
                - After a TLS handshake C(version), C(cipher), C(cert_sha256) (SHA-256 of the server's
                  certificate, DER) and C(verified); after an alert C(alert) (for example
                  C(handshake_failure)); null without TLS.
              type: dict
              sample: {version: TLSv1.3, cipher: TLS_AES_256_GCM_SHA384, cert_sha256: 3f0c..., verified: false}
            response:
              description:
                - The HTTP response head, null when none came. C(http_version), C(status), C(reason),
                  C(headers) (C(server), C(connection), C(keep-alive), C(content-length),
                  C(transfer-encoding), C(via) when present) and C(keep_alive_timeout_s) (from a
                  C(Keep-Alive) header's C(timeout=N), else null).
              type: dict
              sample: {http_version: '1.1', status: 502, reason: Bad Gateway, headers: {}, keep_alive_timeout_s: null}
            response_bytes:
              description: Bytes of the response received.
              type: int
              sample: 0
            after_request_s:
              description: Seconds from sending the request to the end of the response (or the failure); null without a request.
              type: float
              sample: 0.0004
        summary:
          description: Verdict over the endpoint's attempts.
          type: dict
          contains:
            classification:
              description:
                - One of C(ok), C(dns_failure), C(refused), C(rejected_icmp), C(connect_timeout),
                  C(reset_at_connect), C(closed_at_connect), C(tls_alert), C(tls_failure),
                  C(tls_timeout), C(reset_during_tls), C(reset_after_request),
                  C(closed_before_response), C(response_timeout), C(http_error), C(bad_response),
                  C(probe_error).
              type: str
              sample: reset_after_request
            phase:
              description: Phase of the attempt that represents the verdict.
              type: str
              sample: request
            outcome:
              description: Outcome of that attempt.
              type: str
              sample: reset
            intermittent:
              description: True when the attempts disagree.
              type: bool
              sample: false
            counts:
              description: Attempts per outcome.
              type: dict
              sample: {ok: 2, http_error: 1}
            likely_causes:
              description: Cause ids of the finding contract, most likely first.
              type: list
              elements: str
              sample: [idle_timeout, sshd_down]
            detail:
              description: One sentence for a person.
              type: str
              sample: "The server answers 502 Bad Gateway: a proxy whose upstream failed ..."
        idle:
          description:
            - The idle hold (null when O(idle_hold_s=0)). C(ended) is C(rst), C(fin), C(open) (still open
              after O(idle_hold_s)), C(data) (the server sent bytes first, C(then) says how it ended)
              or C(error); C(after_s) seconds from the start of the hold; C(bytes), C(text) what the
              server sent; C(error); C(setup) the attempt record that opened the connection; C(reuse)
              the second request's C(outcome), C(status), C(error) when the connection stayed open
              (http); C(verdict) one sentence.
          type: dict
          sample: {ended: rst, after_s: 5.002, bytes: 0, text: null, error: "ConnectionResetError: [Errno 104] Connection reset by peer"}
    summary:
      description: C(ok) and C(failed) (endpoint counts), C(classifications) (name to classification), C(elapsed_s).
      type: dict
      sample: {ok: 2, failed: 1, classifications: {web: ok, app: http_error, redis: ok}, elapsed_s: 0.52}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils import _probe, _tcp_probe


def main():
    # The action plugin (plugins/action/tcp_probe.py) runs the probe in-process; this entry point
    # does the same as a module, for tools that execute module files directly.
    module = AnsibleModule(argument_spec=_tcp_probe.ARGUMENT_SPEC, supports_check_mode=True)
    _probe.run_module(module, _tcp_probe.probe)


if __name__ == '__main__':
    main()
