# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every catalogue finding has a trigger and a near miss in CASES."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import (
    BLACKHOLE, ENA_EXCEEDED, INVALID_DROP, MSG_AUTH, MSG_BANNER_TIMEOUT, MSG_DNS, MSG_EMPTY, MSG_REFUSED,
    MSG_RESET_BANNER, MSG_RESET_MID, MSG_TIMEOUT, NO_PING, REDUCED_PATH, RESET_ALL_22, RESET_EST_22, UNKNOWN_AREA,
    WRAP_ERROR, APP, HAPROXY, SVC_CRASH_LINE, SVC_GAVE_UP_LINE, case, endpoint, endpoints, run, tcp_probe,
    LAB_CONTROLLER, LAB_HOST, capture_fact, probe_attempt, rst, ssh_idle, ssh_probe_idle, ssh_probe_result,
)
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import (
    CONTROLLER, MAXSTARTUPS_LINE, OOM_OTHER, OOM_SSHD, PENALTIES_ON, PENALTY_LINE, RESTART_LINE, TABLE_FULL_LINE,
    WRAP_LINE, event, mtu_host, probe, rule, with_rules,
)


def area(key, value):
    return {key: value}


# The path area's probe and capture records (engine_cases: ssh_probe's attempt with its 4-tuple,
# reset_capture's resets).
_PATH_RESET = ssh_probe_result('reset_at_connect', probe_attempt())
_HOST_RESET = ssh_probe_result('reset_at_banner', probe_attempt('banner'))
_HOST_RST = rst('sent', LAB_HOST, 22, LAB_CONTROLLER, 51734, 2.011)


# The TCP services' findings (diagnose_endpoints): trigger and near miss.
_FAILED = dict(APP['service'], active_state='failed', sub_state='failed', result='exit-code')
_LOOP_EVENTS = dict(APP['events'], crashes={'count': 5, 'last': None, 'samples': [SVC_CRASH_LINE]},
                    restarts={'count': 5, 'automatic': 5, 'manual': 0, 'gave_up': 1, 'samples': [SVC_GAVE_UP_LINE]})
_MANUAL_EVENTS = dict(APP['events'], restarts={'count': 1, 'automatic': 0, 'manual': 1, 'gave_up': 0, 'samples': []})
_KILL = {'process': 'python3', 'unit': 'lab-app.service', 'time': '2026-12-03T18:59:01Z'}
_PORTS = {'status': 'ok', 'reason': None, 'low': 32768, 'high': 60999, 'size': 28232}
_BEHIND_HAPROXY = {'kind': 'haproxy', 'idle_timeout_s': None}
_SHORT_REUSE = endpoint(HAPROXY, timeouts=dict(HAPROXY['timeouts'], values=[
    dict(HAPROXY['timeouts']['values'][1], value_s=1)]))
_REDIS_IDLE = {'key': 'timeout', 'value_s': None, 'disabled': True, 'default': False,
               'file': '/etc/redis/redis.conf', 'line': 155}
_AZURE = {'kind': 'azure-lb', 'idle_timeout_s': None}
_OK_PROBE = ('ok', 'request', 'ok')
SVC_CASES = {
    'CRD-SVC-001': (case(endpoints(endpoint(listening=[], service=_FAILED))), case(endpoints(APP))),
    # restarted by hand (systemctl restart) is not a loop
    'CRD-SVC-002': (case(endpoints(endpoint(service=dict(APP['service'], n_restarts=5, result='start-limit-hit'),
                                            events=_LOOP_EVENTS))),
                    case(endpoints(endpoint(events=_MANUAL_EVENTS)))),
    'CRD-SVC-003': (case(endpoints(endpoint(oom=dict(APP['oom'], kill_count=1, unit_results=1, kills=[_KILL])))),
                    case(endpoints(endpoint(oom=dict(APP['oom'], kill_count=0))))),
    'CRD-SVC-004': (case(endpoints(endpoint(listening=[dict(APP['listening'][0], recv_q=3, backlog=2)]))),
                    case(endpoints(endpoint(listening=[dict(APP['listening'][0], recv_q=1, backlog=2)])))),
    'CRD-SVC-005': (case(endpoints(endpoint(fds=dict(APP['fds'], open=1020, fill=0.9961)))),
                    case(endpoints(endpoint(fds=dict(APP['fds'], open=700, fill=0.6836))))),
    'CRD-SVC-006': (case(dict(endpoints(APP), **{'connreset_endpoints.ephemeral_ports': dict(
        _PORTS, in_use=26000, fill=0.9209)})),
        case(dict(endpoints(APP), **{'connreset_endpoints.ephemeral_ports': dict(_PORTS, in_use=20000, fill=0.7084)}))),
    # gunicorn --keep-alive 2 (its default) behind HAProxy reusing upstream connections for 60 s
    'CRD-SVC-007': (case(endpoints(endpoint(front=_BEHIND_HAPROXY), HAPROXY)),
                    case(endpoints(endpoint(front=_BEHIND_HAPROXY), _SHORT_REUSE))),
    # Redis `timeout 0` (never closes idle clients) behind an Azure Load Balancer (4 min)
    'CRD-SVC-008': (case(endpoints(endpoint(front=_AZURE, timeouts=dict(APP['timeouts'], idle_close=_REDIS_IDLE)))),
                    case(endpoints(endpoint(front=_AZURE, timeouts=dict(APP['timeouts'], idle_close=dict(
                        _REDIS_IDLE, value_s=200, disabled=False)))))),
    'CRD-SVC-010': (case(endpoints(APP), endpoint_probe=tcp_probe(8000, 'reset_at_connect')),
                    case(endpoints(APP), endpoint_probe=tcp_probe(8000, *_OK_PROBE))),
    'CRD-SVC-011': (case(endpoints(APP), endpoint_probe=tcp_probe(8000, *_OK_PROBE, idle={'ended': 'rst', 'after_s': 30.0})),
                    case(endpoints(APP), endpoint_probe=tcp_probe(8000, *_OK_PROBE, idle={
                        'ended': 'open', 'after_s': 60.0, 'reuse': {'outcome': 'ok'}}))),
}


# finding id -> (trigger, near miss).  The near miss is the closest healthy variant.
CASES = {
    'CRD-SSHD-001': (case({'connreset_sshd.running': False, 'connreset_sshd.service.active_state': 'inactive',
                           'connreset_sshd.service.sub_state': 'dead'}),
                     case({'connreset_sshd.service.sub_state': 'reloading'})),
    'CRD-COV-PROBE': (case(probe_=probe('probe_error', None, None, error='paramiko is not installed on the '
                                        'controller: pip install paramiko')),
                      case(probe_=probe('ok', 'session', 'ok'))),
    'CRD-SSHD-002': (case({'connreset_sshd.config.valid': False,
                           'connreset_sshd.config.error': '/etc/ssh/sshd_config: line 14: Bad configuration '
                                                          'option: MaxStartup'}),
                     case({'connreset_sshd.config.error': None})),
    'CRD-SSHD-003': (case({'connreset_sshd.service.n_restarts': 1,
                           'connreset_sshd.events.restarts': event(1, RESTART_LINE)}),
                     case({'connreset_sshd.service.n_restarts': 0, 'connreset_sshd.events.restarts': event(0)})),
    'CRD-SSHD-004': (case({'connreset_sshd.events.maxstartups_drops': event(1, MAXSTARTUPS_LINE)}),
                     case({'connreset_sshd.events.maxstartups_drops': event(0)})),
    'CRD-SSHD-005': (case({'connreset_sshd.events.penalties': event(3, PENALTY_LINE)}),
                     case({'connreset_sshd.events.penalties': event(0)})),
    'CRD-SSHD-006': (case({'connreset_sshd.config.values.maxstartups': {'start': 5, 'rate': 50, 'full': 10}}),
                     case({'connreset_sshd.config.values.maxstartups': {'start': 10, 'rate': 30, 'full': 100}})),
    'CRD-SSHD-007': (case({'connreset_sshd.config.values.persourcepenalties': PENALTIES_ON}),
                     case({'connreset_sshd.config.values.persourcepenalties': PENALTIES_ON,
                           'connreset_sshd.config.values.persourcepenaltyexemptlist': ['192.0.2.0/24']})),
    'CRD-SSHD-008': (case({'connreset_sshd.config.values.logingracetime': 5}),
                     case({'connreset_sshd.config.values.logingracetime': 30})),
    # sshd not installed: informational, and the near miss is an installed sshd that is running
    'CRD-SSHD-009': (case({'connreset_sshd.installed': False, 'connreset_sshd.running': False,
                           'connreset_sshd.installed_reason': 'sshd is not installed'}),
                     case({'connreset_sshd.installed': True})),
    'CRD-OOM-001': (case({'connreset_oom.kills': [OOM_SSHD], 'connreset_oom.vmstat_oom_kill': 1}),
                    case({'connreset_oom.kills': [dict(OOM_SSHD, process='ssh', unit='session-3.scope',
                                                       cgroup='/user.slice/user-0.slice/session-3.scope')]})),
    'CRD-OOM-002': (case({'connreset_oom.kills': [OOM_OTHER], 'connreset_oom.vmstat_oom_kill': 1}),
                    case({'connreset_oom.kills': [], 'connreset_oom.vmstat_oom_kill': 0})),
    'CRD-WRAP-001': (case({'connreset_tcp_wrappers.verdicts.0.access': 'denied',
                           'connreset_tcp_wrappers.verdicts.0.file': '/etc/hosts.deny',
                           'connreset_tcp_wrappers.verdicts.0.line': 18}),
                     case({'connreset_tcp_wrappers.verdicts.0.access': 'denied',
                           'connreset_tcp_wrappers.libwrap_in_use': False, 'connreset_sshd.libwrap': False})),
    'CRD-WRAP-002': (case({'connreset_tcp_wrappers.verdicts.0.access': 'unknown',
                           'connreset_tcp_wrappers.verdicts.0.reason': 'sshd: .example.com needs a reverse lookup'}),
                     case({'connreset_tcp_wrappers.verdicts.0.access': 'granted'})),
    'CRD-WRAP-003': (case({'connreset_tcp_wrappers.errors': [WRAP_ERROR]}),
                     case({'connreset_tcp_wrappers.errors': []})),
    'CRD-WRAP-004': (case({'connreset_sshd.events.wrap_refusals': event(2, WRAP_LINE, WRAP_LINE)}),
                     case({'connreset_sshd.events.wrap_refusals': event(0)})),
    'CRD-MTU-001': (case({'connreset_mtu.targets.0.probe': BLACKHOLE}),
                    case({'connreset_mtu.targets.0.probe': REDUCED_PATH, 'connreset_mtu.tcp_mtu_probing': 1})),
    'CRD-MTU-002': (case({'connreset_mtu.targets.0.probe': REDUCED_PATH}),
                    case({'connreset_mtu.targets.0.probe': REDUCED_PATH, 'connreset_mtu.tcp_mtu_probing': 1})),
    'CRD-MTU-003': (case({'connreset_mtu.interfaces.1.mtu': 1400,
                          'connreset_mtu.targets.0.probe.path_mtu': 1400}),
                    case({'connreset_mtu.interfaces.1.mtu': 1500})),
    'CRD-MTU-004': (case(fleet=[mtu_host('a', 9000), mtu_host('b', 1500, address='192.0.2.22'),
                                mtu_host('c', 1500, address='192.0.2.23')]),
                    case(fleet=[mtu_host('a', 9000, network='198.51.100.0/24', address='198.51.100.5'),
                                mtu_host('b', 1500, address='192.0.2.22'),
                                mtu_host('c', 1500, address='192.0.2.23')])),
    'CRD-CT-001': (case({'connreset_conntrack.count': 200000, 'connreset_conntrack.fill': 0.763}),
                   case({'connreset_conntrack.count': 194000, 'connreset_conntrack.fill': 0.74})),
    'CRD-CT-002': (case({'connreset_conntrack.stats.drop': 17,
                         'connreset_conntrack.table_full_events': event(4, TABLE_FULL_LINE)}),
                   case({'connreset_conntrack.stats.search_restart': 5000})),
    'CRD-CT-003': (case({'connreset_conntrack.ena_allowance': {'ens5': ENA_EXCEEDED}}),
                   case({'connreset_conntrack.ena_allowance': {'ens5': dict(ENA_EXCEEDED,
                                                                            conntrack_allowance_exceeded=0)}})),
    'CRD-CT-004': (case(dict(with_rules(INVALID_DROP), **{'connreset_conntrack.timeouts.established': 300})),
                   case(dict(with_rules(INVALID_DROP), **{'connreset_conntrack.timeouts.established': 300,
                                                          'connreset_sshd.config.values.clientaliveinterval': 60}))),
    'CRD-TCP-001': (case({'connreset_tcp.counters.ListenOverflows': 3, 'connreset_tcp.counters.ListenDrops': 3}),
                    case({'connreset_tcp.counters.EstabResets': 90000})),
    'CRD-TCP-002': (case({'connreset_tcp.listeners': [{'address': '0.0.0.0', 'port': 22, 'recv_q': 129,
                                                      'backlog': 128}]}),
                    case({'connreset_tcp.listeners': [{'address': '0.0.0.0', 'port': 22, 'recv_q': 0, 'backlog': 128},
                                                      {'address': '0.0.0.0', 'port': 8080, 'recv_q': 129,
                                                       'backlog': 128}]})),
    'CRD-IDLE-001': (case(thresholds={'path_idle_preset': 'aws-nat-gateway'}),
                     case({'connreset_sshd.config.values.clientaliveinterval': 60},
                          thresholds={'path_idle_preset': 'aws-nat-gateway'})),
    'CRD-FW-001': (case(with_rules(RESET_ALL_22)),
                   case(with_rules(rule('tcp dport 80 reject with tcp reset', 'reject_tcp_reset', [80])))),
    'CRD-FW-002': (case(with_rules(RESET_EST_22)),
                   case(with_rules(rule('tcp dport 2222 ct state established reject with tcp reset', 'reject_tcp_reset',
                                        [2222], established=True)))),
    'CRD-FW-003': (case(with_rules(INVALID_DROP)),
                   case(with_rules(rule('ct state invalid log prefix "ct-invalid "', 'log', None)))),
    'CRD-FW-004': (case({'connreset_firewall.blocked': [{'client': CONTROLLER, 'by': 'fail2ban',
                                                         'detail': 'jail sshd'}]}),
                   case({'connreset_firewall.fail2ban': {'present': True, 'running': True, 'jails': ['sshd']}})),
    'CRD-FW-005': (case(with_rules(rule('-A INPUT -p tcp -m tcp --dport 22 -m connlimit --connlimit-above 3 '
                                        '--connlimit-mask 32 -j DROP', 'drop', [22], backend='iptables', limit=True))),
                   case(with_rules(rule('-A INPUT -p tcp -m tcp --dport 80 -m connlimit --connlimit-above 3 '
                                        '--connlimit-mask 32 -j DROP', 'drop', [80], backend='iptables', limit=True)))),
    'CRD-PROBE-001': (case({'connreset_tcp_wrappers.verdicts.0.access': 'denied'},
                           probe_=probe('reset_at_banner_delayed', elapsed=5.01)),
                      case(probe_=probe('reset_at_banner_delayed', elapsed=5.01))),
    'CRD-PROBE-002': (case({'connreset_mtu.targets.0.probe': BLACKHOLE}, probe_=probe('kex_hang', 'kex', 'hang')),
                      case(probe_=probe('kex_hang', 'kex', 'hang'))),
    'CRD-PROBE-003': (case({'connreset_sshd.events.maxstartups_drops': event(5, MAXSTARTUPS_LINE)},
                           probe_=probe('maxstartups', outcome='banner_text')),
                      case(probe_=probe('maxstartups', outcome='banner_text'))),
    'CRD-PROBE-004': (case({'connreset_sshd.running': False}, probe_=probe('refused', 'tcp_connect', 'refused')),
                      case(probe_=probe('refused', 'tcp_connect', 'refused'))),
    'CRD-PROBE-005': (case(with_rules(RESET_ALL_22), probe_=probe('refused', 'tcp_connect', 'refused')),
                      case(with_rules(RESET_EST_22), probe_=probe('refused', 'tcp_connect', 'refused'))),
    # fail2ban's default ban action: REJECT with icmp-port-unreachable (the probe reads the ICMP error)
    'CRD-PROBE-008': (case({'connreset_firewall.blocked': [{'client': CONTROLLER, 'by': 'fail2ban',
                                                            'detail': 'jail sshd'}]},
                           probe_=probe('rejected_icmp', 'tcp_connect', 'refused')),
                      case({'connreset_firewall.blocked': [{'client': CONTROLLER, 'by': 'fail2ban',
                                                            'detail': 'jail sshd'}]},
                           probe_=probe('refused', 'tcp_connect', 'refused'))),
    'CRD-PROBE-006': (case({'connreset_conntrack.fill': 0.93, 'connreset_conntrack.count': 243800},
                           probe_=probe('connect_timeout', 'tcp_connect', 'timeout')),
                      case(probe_=probe('connect_timeout', 'tcp_connect', 'timeout'))),
    'CRD-PROBE-007': (case(probe_=probe('intermittent_reset', 'session', 'reset', intermittent=True)),
                      case(probe_=probe('ok', 'session', 'ok'))),
    'CRD-REACH-001': (case(unreachable={'msg': MSG_REFUSED}), case(unreachable={'msg': MSG_TIMEOUT})),
    'CRD-REACH-002': (case(unreachable={'msg': MSG_BANNER_TIMEOUT}), case(unreachable={'msg': MSG_REFUSED})),
    'CRD-REACH-003': (case(unreachable={'msg': MSG_RESET_BANNER}), case(unreachable={'msg': MSG_RESET_MID})),
    'CRD-REACH-004': (case(unreachable={'msg': MSG_RESET_MID}), case(unreachable={'msg': MSG_RESET_BANNER})),
    'CRD-REACH-005': (case(unreachable={'msg': MSG_AUTH}), case()),
    'CRD-REACH-006': (case(unreachable={'msg': MSG_DNS}), case(unreachable={'msg': MSG_REFUSED})),
    'CRD-REACH-007': (case(unreachable={'msg': MSG_EMPTY}), case(unreachable={'msg': MSG_AUTH})),
    'CRD-COV-SSHD': (case({'connreset_sshd.events': {'status': 'unknown', 'reason': 'no permission to read the '
                                                     'journal: add the user to systemd-journal or use become: true'}}),
                     case()),
    'CRD-COV-OOM': (case(area('connreset_oom', UNKNOWN_AREA)), case()),
    'CRD-COV-WRAP': (case(area('connreset_tcp_wrappers', None)), case()),
    'CRD-COV-MTU': (case({'connreset_mtu.targets.0.probe': NO_PING}), case()),
    'CRD-COV-CT': (case(area('connreset_conntrack', UNKNOWN_AREA)), case({'connreset_conntrack.loaded': False})),
    'CRD-COV-TCP': (case({'connreset_tcp.counters': {}}), case()),
    'CRD-COV-FW': (case({'connreset_firewall.fail2ban': {'status': 'unknown', 'reason': 'fail2ban-client needs '
                                                         'root: use become: true'}}), case()),
    'CRD-COV-SVC': (case({'connreset_endpoints.ephemeral_ports': {'status': 'unknown', 'reason': 'cannot read '
                                                                  '/proc/sys/net/ipv4/ip_local_port_range'}}), case()),
    # -- TCP services (diagnose_endpoints) --
    **SVC_CASES,
    # -- who sent the reset (reset_capture while the probe ran): the routed lab's path-reset fault;
    # near misses: the host sent it / the capture did not run / the host's reset is explained
    'CRD-PATH-001': (case(probe_=_PATH_RESET, capture=capture_fact(), controller=LAB_CONTROLLER),
                     case(probe_=_PATH_RESET, capture=capture_fact([_HOST_RST]), controller=LAB_CONTROLLER)),
    'CRD-PATH-002': (case(probe_=_HOST_RESET, capture=capture_fact([_HOST_RST]), controller=LAB_CONTROLLER),
                     case(with_rules(RESET_EST_22), probe_=_HOST_RESET, capture=capture_fact([_HOST_RST]),
                          controller=LAB_CONTROLLER)),
    # the routed lab's nat-idle fault (a silent drop after the hold); near miss: the connection stayed open
    'CRD-PATH-003': (case(probe_=ssh_probe_idle(ssh_idle('silent_drop', 5.0, answer=5.0)), controller=LAB_CONTROLLER),
                     case(probe_=ssh_probe_idle(ssh_idle('open', 5.0, answer=0.002)), controller=LAB_CONTROLLER)),
    # the routed lab's pmtu-icmp fault (the key exchange hangs, the host is reached via the router); near miss:
    # the same hang on the controller's own link (the layer-2 black hole, not behind a router)
    'CRD-PATH-004': (case(probe_=dict(ssh_probe_result('kex_hang', probe_attempt('kex', 'timeout')),
                                      route={'prefix': '10.213.127.0/24', 'gateway': '10.213.34.254', 'dev': 'crlab27'})),
                     case(probe_=dict(ssh_probe_result('kex_hang', probe_attempt('kex', 'timeout')),
                                      route={'prefix': '10.213.34.0/24', 'gateway': None, 'dev': 'crlab27'}))),
    'CRD-COV-PATH': (case(probe_=_PATH_RESET, capture=capture_fact(status='unknown', reason='opening an AF_PACKET '
                                                                   'socket needs CAP_NET_RAW (root): run the module '
                                                                   'with become: true'), controller=LAB_CONTROLLER),
                     case(probe_=_PATH_RESET, capture=capture_fact(), controller=LAB_CONTROLLER)),
    # every collector unknown; the near miss: one of them partial (something was checked)
    'CRD-COV-NONE': (case(dict((key, UNKNOWN_AREA) for key in _catalogue.AREAS)),
                     case(dict([(key, UNKNOWN_AREA) for key in _catalogue.AREAS]
                               + [('connreset_tcp.status', 'partial')]))),
}
# Findings the engine makes outside evaluate_host (tested below with the function that makes them).
NOT_IN_CASES = {'CRD-COV-HOST': 'missing_host_doc'}


def test_every_catalogue_finding_has_a_case():
    assert sorted(list(CASES) + list(NOT_IN_CASES)) == sorted(_catalogue.CATALOGUE)


@pytest.mark.parametrize('fid', sorted(CASES))
def test_trigger(fid):
    ids, result = run(CASES[fid][0])
    assert fid in ids, result
    finding = next(f for f in result['findings'] if f['id'] == fid)
    entry = _catalogue.CATALOGUE[fid]
    for key in ('title', 'explanation', 'remedy', 'fix'):
        assert finding[key] == entry[key]
    assert finding['severity'] in _catalogue.SEVERITIES
    assert finding['cause'] in _catalogue.CAUSES
    assert isinstance(finding['evidence'], dict) and finding['evidence']
    assert set(finding) <= {'id', 'title', 'cause', 'severity', 'evidence', 'explanation', 'remedy', 'fix',
                            'summary', 'scope'}
    # a fleet-wide check marks its findings (the report shows "(fleet-wide check)"); host checks do not
    assert finding.get('scope') == ('fleet' if fid == 'CRD-MTU-004' else None)


@pytest.mark.parametrize('fid', sorted(CASES))
def test_near_miss(fid):
    ids, result = run(CASES[fid][1])
    assert fid not in ids, result
