#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fleet_report
short_description: Merge per-host diagnoses into the fleet report (JSON, Markdown, HTML, JUnit, Prometheus)
version_added: 1.0.0
description:
  - Reads every C(<src>/hosts/*.json) written by the C(connreset.doctor.diagnose) role
    (one host document per host, the output of the C(connreset.doctor.diagnose_host) filter), adds the
    engine's cross-host findings (for example different MTUs on one subnet) and writes C(report.json),
    C(report.md), C(report.html), C(junit.xml) and optionally a Prometheus textfile.
  - Three modes, one per task, chosen by the options given (never both O(host_results) and O(host_doc)).
    Neither merges the report, O(host_results) diagnoses one host, O(host_doc) stores one document.
  - With O(host_results), diagnoses one host instead (the diagnose role's per-host step). It runs the
    risk engine (as the C(connreset.doctor.diagnose_host) filter does) on the registered results of
    C(connreset.doctor.reset_facts) and C(connreset.doctor.ssh_probe) (or runs the probe itself, with
    O(host_results.probe_args)) and, with O(host_results.endpoint_probe_args), the probe of the host's TCP
    services (C(connreset.doctor.tcp_probe)'s), stores the host document in
    C(<dest>/hosts/) and returns level, score and findings as the fact C(connreset_report). A fact value the
    engine cannot use (inf, NaN, a string where a number belongs, a huge list) is a coverage finding of
    the host, never a failed task.
  - With O(host_doc), stores a host document made elsewhere in C(<dest>/hosts/).
  - "A host's file is C(<name>.json) when the inventory name is a plain lower-case file name (letters,
    digits, C(_@+-.), not starting with a dot), otherwise a readable slug, C(~) and 16 hex digits of the
    SHA-256 of the exact name (C(db/1) and C(db 1) get different files); the document keeps the exact name."
  - Evaluates the gates O(fail_on) and O(fail_query) and fails listing what matched.
  - Runs on the controller (action plugin), whatever host the task targets; every file is
    written atomically (temporary file and rename) with the mode the umask gives, or O(mode).
    Nothing is written on any managed host. Only O(host_results.collect_args) runs a module on the
    task's host (C(connreset.doctor.reset_facts), read-only).
  - The report layout is specified by C(docs/report.schema.json) and described in C(docs/report.md).
author: connreset.doctor contributors (@connreset)
options:
  src:
    description:
      - Report directory holding C(hosts/*.json).
      - A relative path is relative to the directory C(ansible-playbook) runs in.
    type: path
    default: connreset-report
  dest:
    description:
      - Directory the report files are written to. Defaults to O(src).
      - With O(host_doc), the report directory the host document goes to (under C(hosts/)).
    type: path
  formats:
    description:
      - Report files to write into O(dest).
      - V(json) is C(report.json), V(md) C(report.md), V(html) C(report.html) (one self-contained
        file), V(junit) C(junit.xml), V(prom) C(report.prom) (Prometheus text format).
    type: list
    elements: str
    choices: [json, md, html, junit, prom]
    default: [json, md, html, junit]
  fail_on:
    description:
      - Fail when any finding has this severity or a higher one, or when any host could not be
        diagnosed (unreachable, nothing checked - C(CRD-COV-NONE) - or no stored diagnosis -
        C(CRD-COV-HOST)); such a host cannot pass a gate. V(none) disables this gate.
      - Also the level from which findings are JUnit C(<failure>)s; with V(none) that level is V(high).
    type: str
    choices: [none, info, low, medium, high, critical]
    default: none
  fail_query:
    description:
      - A JMESPath expression evaluated over the C(report.json) document. The task fails when the
        result is not empty (not null, false, 0, an empty string, list or object), listing the result.
      - "Example: V(hosts[?score > `60`].host)."
    type: str
  enforce:
    description:
      - When V(false), the gates are evaluated and returned in RV(gate) but do not fail the task
        (the diagnose role prints the summary first, then fails).
    type: bool
    default: true
  prometheus_file:
    description:
      - Also write the Prometheus metrics to this path, for node_exporter's textfile collector
        (for example C(/var/lib/node_exporter/textfile/connreset.prom)). Written atomically.
      - Its directory must exist (it is node_exporter's); a missing directory fails the task before
        anything is written.
    type: path
  summary:
    description:
      - Return RV(summary_lines), the compact console table (hosts, level, score, top finding).
    type: bool
    default: true
  host_doc:
    description:
      - A host document (output of the C(connreset.doctor.diagnose_host) filter) to store as
        C(<dest>/hosts/<host>.json). When set, no report is built and the gates are not evaluated.
    type: dict
  host_results:
    description:
      - One host's registered task results to diagnose and store. When set, no report is built and the
        gates are not evaluated.
      - An unreachable result is diagnosed from Ansible's error message; a C(reset_facts) result from a
        reached host without C(connreset_meta) (the module could not run there, for lack of Python or a crash) is a
        host whose collection failed, with the module's message; a probe result without C(probe) (the
        probe could not run) becomes a V(probe_error) probe; a skipped probe is no probe. The endpoint probe
        (O(host_results.endpoint_probe_args)) alike.
    type: dict
    suboptions:
      host:
        description: Inventory name of the host.
        type: str
        required: true
      collect_args:
        description:
          - Options of C(connreset.doctor.reset_facts) (V(gather_subset), V(budget), V(collector_options) and the
            others). The module runs here, on the host this task targets (with its connection and its become, so the
            task must not be delegated), instead of in a task of its own, and O(host_results.facts) is not read. This
            is the diagnose role's one task per host (C(docs/performance.md)).
          - The result is read as a registered one would be. A host Ansible cannot reach is diagnosed from the
            connection's error message (the task itself does not fail); a module that could not run (no Python, a
            crash) is a host whose collection failed. The facts stay in this task (never host facts).
          - The module runs in check mode when the play does (C(ansible_check_mode)), even under this task's own
            C(check_mode=false); it changes nothing either way.
          - Not given (or null), the facts are O(host_results.facts).
        type: dict
      facts:
        description:
          - The registered result of C(connreset.doctor.reset_facts) for the host (reachable or not), its facts
            as C(ansible_facts) or, with the module's O(connreset.doctor.reset_facts#module:register_facts=false),
            as C(facts).
        type: raw
      probe:
        description: The registered result of C(connreset.doctor.ssh_probe) for the host, skipped or not.
        type: raw
      probe_args:
        description:
          - Options of C(connreset.doctor.ssh_probe) (V(host), V(port), V(attempts) and the others). The probe runs
            here, in this task's worker on the controller, instead of in a task of its own, and
            O(host_results.probe) is not read. A bad option fails the host with the probe's message; paramiko
            missing is a V(probe_error) probe.
          - Not given (or null) and no O(host_results.probe) result, no probe.
        type: dict
      endpoint_probe_args:
        description:
          - Options of C(connreset.doctor.tcp_probe) (V(host), V(endpoints), V(attempts), V(idle_hold_s) and the
            others). The host's TCP services (the diagnose role's C(diagnose_endpoints)) are probed here, in this
            task's worker on the controller, and the result goes to the risk engine as the host's endpoint probe
            (the host document's C(endpoint_probe), C({endpoints, summary}) as C(tcp_probe) returns it).
          - A bad option (of the argument spec, or a value out of range such as V(idle_hold_s=1000)) fails the host
            with C(tcp_probe)'s message, and nothing is stored. A probe that could not run for another reason is a
            V(probe_error) probe, each endpoint with C(summary.classification=probe_error) and the reason in
            C(summary.detail).
          - Runs after the other option checks (a host failing on a bad option is not probed). Not given (or null),
            no endpoint probe (C(endpoint_probe) is null).
        type: dict
      endpoint_probe:
        description:
          - The registered result of C(connreset.doctor.tcp_probe) for the host's endpoints, skipped or not; read
            when O(host_results.endpoint_probe_args) is not given (the diagnose role with C(diagnose_capture) probes
            in tasks of their own, while the host's capture runs).
        type: raw
      capture:
        description:
          - The registered result of C(connreset.doctor.reset_capture) run on the host while the controller probed
            it (the diagnose role's C(diagnose_capture); the result of its C(async_status)). Its
            C(connreset_capture) fact is the host document's C(capture), from which the risk engine tells the resets
            the probes received that the host sent from those a device in the path sent (C(CRD-PATH-*)).
          - A capture that did not finish, failed or could not reach the host becomes a capture of status
            V(unknown) with the reason (nothing is attributed; the gap is reported). Not given, skipped or null, no
            capture (C(capture) is null).
        type: raw
      probe_host:
        description: Address the probe was aimed at (for the V(probe_error) record).
        type: str
      probe_port:
        description: Port the probe was aimed at.
        type: int
        default: 22
      thresholds:
        description: Overrides of the risk engine's thresholds (C(docs/findings.md)).
        type: dict
        default: {}
  hosts:
    description:
      - Merge only the documents of these hosts (inventory names) instead of every file in C(hosts/).
        The diagnose role passes the hosts of the play, so documents left by earlier runs for hosts no
        longer targeted are not reported.
      - The report then lists every one of them (C(summary.expected_hosts) is their number); a listed
        host without a readable document is in the report with the finding C(CRD-COV-HOST) and in
        C(summary.errors). Without O(hosts) the host count cannot be checked and the summary says so.
    type: list
    elements: str
  pending:
    description:
      - Hosts of O(hosts) whose diagnosis may not have run yet (the later batches of a C(serial) play; the
        diagnose role passes the play's active hosts outside the current batch). One of them without a
        document is listed in C(summary.errors) as not diagnosed yet, not reported as C(CRD-COV-HOST), and
        not counted in C(summary.expected_hosts).
    type: list
    elements: str
    default: []
  mode:
    description:
      - Mode of the files written (report files and host documents), as a quoted octal string such
        as V('0600') or V('0640'). Unset or empty - what the umask leaves of V(0666), as for any new file.
      - New directories get the same read bits, searchable.
    type: raw
  redact:
    description:
      - Pseudonymise these kinds of names in the report files (not in C(hosts/*.json), not in the
        console summary) - V(hosts) (inventory and log host names), V(addresses) (IPv4/IPv6 addresses
        other than loopback and unspecified), V(users) (user names in sshd/PAM log lines and C(user) keys).
      - Pseudonyms (C(host-1), C(addr-1), C(user-1)) are stable within one report, so rows still join,
        and cannot be reversed. C(report.json) then has C(redacted).
    type: list
    elements: str
    choices: [hosts, addresses, users]
    default: []
attributes:
  check_mode:
    support: full
    description:
      - In check mode the report is computed and the gates evaluated but no file is written; the diagnose
        role sets C(check_mode=false) on this task so C(--check) still writes the report.
  diff_mode:
    support: none
    description: Nothing to diff.
  facts:
    support: partial
    description: With O(host_results) it sets the fact C(connreset_report) on the host; otherwise no facts.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller, whatever host the task targets.
  action:
    support: full
    description: Implemented by an action plugin running on the controller.
seealso:
  - name: Report files and gating
    description: docs/report.md in the collection.
    link: https://github.com/connreset/doctor/blob/main/docs/report.md
notes:
  - Needs the C(jmespath) Python library on the controller for O(fail_query).
'''

EXAMPLES = r'''
- name: Merge the per-host files written by sliced jobs and fail on high findings
  connreset.doctor.fleet_report:
    src: /srv/reports/connreset
    fail_on: high
  run_once: true
  delegate_to: localhost

- name: Fail when any host scores above 60, also export Prometheus metrics
  connreset.doctor.fleet_report:
    src: connreset-report
    formats: [json, html]
    fail_query: "hosts[?score > `60`].host"
    prometheus_file: /var/lib/node_exporter/textfile/connreset.prom
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
report_dir:
  description: Absolute path of the directory the report files were written to.
  returned: when neither O(host_doc) nor O(host_results) is set
  type: str
  sample: /home/ops/connreset-report
files:
  description: Files written (or, in check mode, that would be written), by format; C(prometheus_file) for O(prometheus_file).
  returned: when neither O(host_doc) nor O(host_results) is set
  type: dict
  sample: {"json": "/home/ops/connreset-report/report.json", "html": "/home/ops/connreset-report/report.html"}
summary:
  description: The C(summary) object of C(report.json).
  returned: when neither O(host_doc) nor O(host_results) is set
  type: dict
  contains:
    hosts:
      description: Number of hosts in the report.
      type: int
      sample: 120
    expected_hosts:
      description: Number of hosts of the play (O(hosts)), equal to RV(summary.hosts); null without O(hosts).
      type: int
      sample: 120
    nothing_checked:
      description: Hosts on which no collector returned usable facts (C(CRD-COV-NONE)).
      type: int
      sample: 0
    reachable:
      description: Hosts that could be diagnosed.
      type: int
      sample: 118
    unreachable:
      description: Hosts that could not be reached.
      type: int
      sample: 2
    by_level:
      description: Number of hosts per level (V(ok), V(unknown) or a severity).
      type: dict
      sample: {"critical": 1, "high": 4, "ok": 115}
    by_cause:
      description: Number of hosts with at least one finding of each cause.
      type: dict
      sample: {"sshd_rate_limit": 3, "mtu": 2}
    top_findings:
      description: Up to 10 findings, worst first, with the number of hosts and up to 5 example hosts.
      type: list
      elements: dict
      sample: [{"id": "CRD-SSHD-002", "title": "sshd drops connections past MaxStartups", "cause": "sshd_rate_limit",
                "severity": "high", "hosts": 3, "example_hosts": ["web1", "web2", "web3"]}]
gate:
  description: Outcome of the gates.
  returned: when neither O(host_doc) nor O(host_results) is set
  type: dict
  contains:
    failed:
      description: Whether a gate matched.
      type: bool
      sample: false
    level:
      description: O(fail_on) and the findings (or unreachable hosts) that matched it.
      type: dict
      sample: {"fail_on": "high", "matched": [{"host": "web1", "id": "CRD-SSHD-002", "severity": "high", "title": "..."}]}
    query:
      description: O(fail_query) and its result (null when empty).
      type: dict
      sample: {"expression": "hosts[?score > `60`].host", "result": ["web1"]}
    msg:
      description: What matched, in one line.
      type: str
      sample: "fail_on=high matched 1 item(s): web1: high CRD-SSHD-002 (...)"
summary_lines:
  description: The console summary table, one line per item (at most 25 hosts, worst first).
  returned: when O(summary=true) and neither O(host_doc) nor O(host_results) is set
  type: list
  elements: str
  sample:
    - "connreset.doctor: 1 host(s), 1 reachable, 0 unreachable; levels: ok 1"
    - "HOST  LEVEL     SCORE  CAUSE  TOP FINDING"
    - "web1  ok            0  -      -"
fleet_check:
  description: Whether the engine's cross-host check (fleet findings) ran.
  returned: when neither O(host_doc) nor O(host_results) is set
  type: bool
  sample: true
path:
  description: The host document file written.
  returned: when O(host_doc) or O(host_results) is set
  type: str
  sample: /home/ops/connreset-report/hosts/web1.json
host:
  description: The host of the stored document.
  returned: when O(host_doc) or O(host_results) is set
  type: str
  sample: web1
level:
  description: The host's level (V(ok) or the highest severity of its findings).
  returned: when O(host_results) is set
  type: str
  sample: high
score:
  description: The host's risk score, 0 to 100.
  returned: when O(host_results) is set
  type: int
  sample: 40
ansible_facts:
  description: Facts set on the host.
  returned: when O(host_results) is set
  type: dict
  contains:
    connreset_report:
      description:
        - The host document without its raw C(facts), C(probe) and C(endpoint_probe) (kept in the file), for fact caches and
          AWX fact storage. Keys as in C(docs/report.schema.json) (C(host), C(reachable), C(unreachable),
          C(findings), C(score), C(level), ...).
      type: dict
      sample: {"host": "web1", "level": "high", "score": 40, "reachable": true, "findings": []}
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type='path', default='connreset-report'),
            dest=dict(type='path'),
            formats=dict(type='list', elements='str', default=['json', 'md', 'html', 'junit'],
                         choices=['json', 'md', 'html', 'junit', 'prom']),
            fail_on=dict(type='str', default='none', choices=['none', 'info', 'low', 'medium', 'high', 'critical']),
            fail_query=dict(type='str'),
            enforce=dict(type='bool', default=True),
            prometheus_file=dict(type='path'),
            summary=dict(type='bool', default=True),
            host_doc=dict(type='dict'),
            host_results=dict(type='dict', options=dict(
                host=dict(type='str', required=True),
                collect_args=dict(type='dict'),
                facts=dict(type='raw'),
                probe=dict(type='raw'),
                probe_args=dict(type='dict'),
                endpoint_probe_args=dict(type='dict'),
                endpoint_probe=dict(type='raw'),
                capture=dict(type='raw'),
                probe_host=dict(type='str'),
                probe_port=dict(type='int', default=22),
                thresholds=dict(type='dict', default={}),
            )),
            hosts=dict(type='list', elements='str'),
            pending=dict(type='list', elements='str', default=[]),
            mode=dict(type='raw'),
            redact=dict(type='list', elements='str', default=[], choices=['hosts', 'addresses', 'users']),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg='connreset.doctor.fleet_report runs on the controller only (action plugin); '
                         'this module file holds its documentation and is never executed')


if __name__ == '__main__':
    main()
