# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The risk engine: every catalogue finding has a trigger and a near miss in CASES."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue, _engine
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import (
    CONTROLLER, CRASH_LINE, HEALTHY, MAXSTARTUPS_LINE, OOM_OTHER, OOM_SSHD, PENALTIES_ON,
    PENALTY_LINE,
    RESTART_LINE, START_LIMIT_LINE, TABLE_FULL_LINE, WRAP_LINE, event, facts, mtu_host, probe, rule, with_rules,
)

BLACKHOLE = {'path_mtu': None, 'blackhole': True, 'probes': [{'size': 1472, 'ok': False}, {'size': 548, 'ok': True}],
             'status': 'ok', 'reason': None}
REDUCED_PATH = {'path_mtu': 1400, 'blackhole': False, 'probes': [], 'status': 'ok', 'reason': None}
# Rules as the firewall collector reports them (nftables 1.0.6 `nft -j list ruleset`).
RESET_ALL_22 = rule('tcp dport 22 reject with tcp reset', 'reject_tcp_reset', [22])
RESET_EST_22 = rule('tcp dport 22 ct state established reject with tcp reset', 'reject_tcp_reset', [22],
                    established=True)
# tcp_wrappers collector error entry (hosts.allow line without the ':' separator).
WRAP_ERROR = {'file': '/etc/hosts.allow', 'line': 7, 'text': 'sshd 192.0.2.10',
              'reason': 'missing ":" between daemon list and client list'}
NO_PING = {'path_mtu': None, 'blackhole': None, 'probes': 0, 'status': 'unknown',
           'reason': 'ping not found: install iputils-ping to probe the path MTU'}
# `ethtool -S ens5` on an EC2 Nitro instance (ENA driver 2.8): the allowance counters.
ENA_EXCEEDED = {'bw_in_allowance_exceeded': 0, 'bw_out_allowance_exceeded': 0, 'pps_allowance_exceeded': 0,
                'conntrack_allowance_exceeded': 1523, 'linklocal_allowance_exceeded': 0,
                'conntrack_allowance_available': 0}
INVALID_DROP = rule('ct state invalid drop', 'drop', None, invalid=True)
UNKNOWN_AREA = {'status': 'unknown', 'reason': 'no permission to read /proc/net/nf_conntrack: use become: true'}

# Unreachable messages as Ansible 2.19 prints them (OpenSSH 9.2p1 client, BatchMode, ConnectTimeout=5).
MSG_REFUSED = 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 port 22: Connection refused'
MSG_TIMEOUT = 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 port 22: Connection timed out'
MSG_BANNER_TIMEOUT = 'Failed to connect to the host via ssh: Connection timed out during banner exchange'
MSG_RESET_BANNER = ('Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by peer'
                    '\r\nConnection reset by 192.0.2.21 port 22')
MSG_RESET_MID = 'Failed to connect to the host via ssh: Connection reset by 192.0.2.21 port 22'
MSG_AUTH = 'Failed to connect to the host via ssh: root@192.0.2.21: Permission denied (publickey,password).'
MSG_DNS = ('Failed to connect to the host via ssh: ssh: Could not resolve hostname web9: '
           'Name or service not known')
MSG_EMPTY = 'Failed to connect to the host via ssh: '


def case(patch=None, probe_=None, unreachable=None, thresholds=None, controller=CONTROLLER, fleet=None):
    return {'patch': patch or {}, 'probe': probe_, 'unreachable': unreachable, 'thresholds': thresholds,
            'controller': controller, 'fleet': fleet}


def area(key, value):
    return {key: value}


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
    # every collector unknown; the near miss: one of them partial (something was checked)
    'CRD-COV-NONE': (case(dict((key, UNKNOWN_AREA) for key in _catalogue.AREAS)),
                     case(dict([(key, UNKNOWN_AREA) for key in _catalogue.AREAS]
                               + [('connreset_tcp.status', 'partial')]))),
}
# Findings the engine makes outside evaluate_host (tested below with the function that makes them).
NOT_IN_CASES = {'CRD-COV-HOST': 'missing_host_doc'}


def run(spec):
    """Ids emitted for one case (the fleet cases look at host 'a')."""
    if spec['fleet']:
        docs = [_engine.diagnose_host(copy.deepcopy(h)) for h in spec['fleet']]
        _engine.apply_fleet_findings(docs)
        return {f['id'] for f in docs[0]['findings']}, docs[0]
    data = facts(**spec['patch'])
    result = _engine.evaluate_host(data, probe=spec['probe'], unreachable=spec['unreachable'],
                                   thresholds=spec['thresholds'], controller=spec['controller'])
    return {f['id'] for f in result['findings']}, result


def test_every_catalogue_finding_has_a_case():
    assert sorted(list(CASES) + list(NOT_IN_CASES)) == sorted(_catalogue.CATALOGUE)


def test_healthy_host_has_no_findings():
    result = _engine.evaluate_host(copy.deepcopy(HEALTHY), controller=CONTROLLER)
    assert result == {'findings': [], 'score': 0, 'level': 'ok'}


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
                            'summary'}


@pytest.mark.parametrize('fid', sorted(CASES))
def test_near_miss(fid):
    ids, result = run(CASES[fid][1])
    assert fid not in ids, result


# -- severities that scale with what was measured -------------------------------------------
@pytest.mark.parametrize('count, severity', [(1, 'low'), (9, 'low'), (10, 'medium'), (99, 'medium'), (100, 'high')])
def test_maxstartups_drop_severity(count, severity):
    _ids, result = run(case({'connreset_sshd.events.maxstartups_drops': event(count, MAXSTARTUPS_LINE)}))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-SSHD-004'] == [severity]


@pytest.mark.parametrize('patch, severity', [
    ({'connreset_sshd.service.n_restarts': 1}, 'medium'),
    ({'connreset_sshd.service.n_restarts': 3}, 'high'),
    ({'connreset_sshd.events.crashes': event(1, CRASH_LINE)}, 'medium'),
    ({'connreset_sshd.events.restarts': event(6, RESTART_LINE, START_LIMIT_LINE)}, 'high'),
    ({'connreset_sshd.service.active_state': 'failed', 'connreset_sshd.service.result': 'start-limit-hit',
      'connreset_sshd.running': False}, 'high'),
])
def test_crash_loop_severity(patch, severity):
    _ids, result = run(case(patch))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-SSHD-003'] == [severity]


@pytest.mark.parametrize('fill, severity', [(0.75, 'medium'), (0.899, 'medium'), (0.90, 'high'), (1.0, 'high')])
def test_conntrack_fill_severity(fill, severity):
    _ids, result = run(case({'connreset_conntrack.fill': fill}))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-CT-001'] == [severity]


def test_conntrack_fill_computed_from_count_and_max():
    _ids, result = run(case({'connreset_conntrack.fill': None, 'connreset_conntrack.count': 240000}))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-CT-001')
    assert finding['severity'] == 'high' and finding['evidence']['fill'] == round(240000 / 262144, 4)


def test_conntrack_early_drop_only_is_medium():
    _ids, result = run(case({'connreset_conntrack.stats.early_drop': 4}))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-CT-002'] == ['medium']


@pytest.mark.parametrize('abort, severity', [(0, 'low'), (1, 'high'), (None, 'low')])
def test_listen_overflow_severity_follows_abort_on_overflow(abort, severity):
    _ids, result = run(case({'connreset_tcp.counters.ListenOverflows': 7,
                             'connreset_tcp.sysctls.tcp_abort_on_overflow': abort}))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-TCP-001'] == [severity]


def test_invalid_drop_rule_is_medium_when_conntrack_counted_invalid():
    _ids, result = run(case(dict(with_rules(INVALID_DROP),
                                 **{'connreset_conntrack.stats.invalid': 311})))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-FW-003'] == ['medium']


def test_sshd_oom_kill_watched_killed_alone_is_enough():
    ids, _result = run(case({'connreset_oom.watched_killed': [OOM_SSHD]}))
    assert 'CRD-OOM-001' in ids


@pytest.mark.parametrize('process', ['sshd', 'sshd-session', 'sshd-auth'])
def test_sshd_oom_kill_process_names(process):
    ids, _result = run(case({'connreset_oom.kills': [dict(OOM_SSHD, process=process, unit=None, cgroup='/')]}))
    assert 'CRD-OOM-001' in ids and 'CRD-OOM-002' not in ids


def test_oom_vmstat_without_log_still_reports_and_says_what_is_unknown():
    ids, result = run(case({'connreset_oom.kills': None, 'connreset_oom.vmstat_oom_kill': 4,
                            'connreset_oom.log': {'status': 'unknown', 'reason': 'dmesg_restrict=1: use become: true'}}))
    assert {'CRD-OOM-002', 'CRD-COV-OOM'} <= ids
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-OOM')
    assert 'dmesg_restrict=1' in cov['summary']


def test_penalty_exempt_list_not_covering_controller():
    ids, _result = run(case({'connreset_sshd.config.values.persourcepenalties': PENALTIES_ON,
                             'connreset_sshd.config.values.persourcepenaltyexemptlist': ['10.0.0.0/8', '172.16.0.0/12']}))
    assert 'CRD-SSHD-007' in ids


def test_penalty_exempt_list_with_unknown_controller_is_coverage():
    ids, result = run(case({'connreset_sshd.config.values.persourcepenalties': PENALTIES_ON,
                            'connreset_sshd.config.values.persourcepenaltyexemptlist': ['10.0.0.0/8'],
                            # not run over ssh: reset_facts did not see the controller either
                            'connreset_meta.controller': None,
                            'connreset_meta.controller_reason': 'SSH_CONNECTION is not set'},
                           controller=None))
    assert 'CRD-SSHD-007' not in ids and 'CRD-COV-SSHD' in ids


@pytest.mark.parametrize('key, text', [('logingracetime', '2m'), ('clientaliveinterval', '1h30m'),
                                       ('tcpkeepalive', 'no'), ('persourcepenaltyexemptlist', '192.0.2.0/24'),
                                       ('port', '22')])
def test_untyped_sshd_values_are_coverage_not_reparsed(key, text):
    # The collector types config.values (docs/development.md): text where a type belongs is a
    # broken contract, a coverage gap naming the value; the engine does not parse it again.
    ids, result = run(case({'connreset_sshd.config.values.%s' % key: text}))
    cov = [f for f in result['findings'] if f['id'] == 'CRD-COV-SSHD']
    assert cov and key in json.dumps(cov[0]['evidence']), result
    assert not ids & {'CRD-SSHD-007', 'CRD-SSHD-008', 'CRD-IDLE-001'}


def test_unparsed_login_grace_is_coverage():
    ids, result = run(case({'connreset_sshd.config.values.logingracetime': None,
                            'connreset_sshd.config.unparsed': {'logingracetime': '2x'}}))
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-SSHD')
    assert 'CRD-SSHD-008' not in ids and "'2x'" in cov['summary']


@pytest.mark.parametrize('grace, found', [(10, True), (29, True), (0, False), (120, False)])
def test_login_grace(grace, found):
    ids, _result = run(case({'connreset_sshd.config.values.logingracetime': grace}))
    assert ('CRD-SSHD-008' in ids) is found


# -- idle timeout ---------------------------------------------------------------------------
@pytest.mark.parametrize('patch, thresholds, found', [
    ({}, {'path_idle_timeout': 350}, True),
    ({}, {}, False),  # no path idle timeout declared: not checked
    ({'connreset_tcp.sysctls.tcp_keepalive_time': 120}, {'path_idle_timeout': 350}, False),
    ({'connreset_tcp.sysctls.tcp_keepalive_time': 120, 'connreset_sshd.config.values.tcpkeepalive': False},
     {'path_idle_timeout': 350}, True),
    ({'connreset_sshd.config.values.clientaliveinterval': 300}, {'path_idle_preset': 'azure-lb'}, True),
    ({'connreset_sshd.config.values.clientaliveinterval': 300}, {'path_idle_preset': 'aws-nlb'}, False),
    ({'connreset_sshd.config.values.clientaliveinterval': 900}, {'path_idle_preset': 'gcp-nat'}, False),
    ({'connreset_sshd.config.values.clientaliveinterval': 900},
     {'path_idle_preset': 'gcp-nat', 'path_idle_timeout': 600}, True),
])
def test_idle_timeout(patch, thresholds, found):
    ids, _result = run(case(patch, thresholds=thresholds))
    assert ('CRD-IDLE-001' in ids) is found


def test_idle_timeout_unknown_values_are_coverage():
    ids, _result = run(case({'connreset_sshd.config.values.clientaliveinterval': None,
                             'connreset_tcp.sysctls.tcp_keepalive_time': None},
                            thresholds={'path_idle_timeout': 350}))
    assert 'CRD-IDLE-001' not in ids and 'CRD-COV-SSHD' in ids


# -- coverage: unknown is never healthy -----------------------------------------------------
@pytest.mark.parametrize('key', sorted(_catalogue.AREAS))
@pytest.mark.parametrize('value', [None, 'missing', UNKNOWN_AREA])
def test_unknown_area_gives_coverage_finding(key, value):
    data = facts()
    if value == 'missing':
        del data[key]
    else:
        data[key] = copy.deepcopy(value)
    result = _engine.evaluate_host(data, controller=CONTROLLER)
    fid = 'CRD-COV-%s' % _catalogue.AREAS[key][0]
    cov = [f for f in result['findings'] if f['id'] == fid]
    assert len(cov) == 1
    assert cov[0]['severity'] == 'info' and cov[0]['cause'] == 'coverage'
    assert cov[0]['summary'].startswith('could not check ')
    if value == UNKNOWN_AREA:
        assert UNKNOWN_AREA['reason'] in cov[0]['summary']
    assert result['level'] == 'ok' and result['score'] == 0


def test_partial_subpart_reason_is_reported():
    reason = 'journalctl not found and /var/log/auth.log unreadable: use become: true'
    ids, result = run(case({'connreset_sshd.status': 'partial', 'connreset_sshd.reason': reason,
                            'connreset_sshd.events': {'status': 'unknown', 'reason': reason, 'crashes': None,
                                                      'restarts': None, 'maxstartups_drops': None,
                                                      'penalties': None, 'wrap_refusals': None}}))
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-SSHD')
    assert cov['evidence']['unchecked'] == [{'check': 'sshd events', 'reason': reason}]
    assert ids == {'CRD-COV-SSHD'}


def test_null_counts_are_unknown_not_zero():
    ids, result = run(case({'connreset_sshd.events.maxstartups_drops': None,
                            'connreset_conntrack.stats': {'drop': None, 'early_drop': None, 'insert_failed': None},
                            'connreset_conntrack.count': None, 'connreset_conntrack.fill': None}))
    assert {'CRD-COV-SSHD', 'CRD-COV-CT'} <= ids
    text = ' '.join(f.get('summary', '') for f in result['findings'])
    assert 'MaxStartups' in text and 'conntrack table fill' in text


def _paths(node, prefix=''):
    if isinstance(node, dict):
        for key, value in node.items():
            path = '%s.%s' % (prefix, key) if prefix else key
            yield path
            yield from _paths(value, path)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            path = '%s.%d' % (prefix, index)
            yield path
            yield from _paths(value, path)


ALL_PATHS = sorted(set(_paths(HEALTHY)))


@pytest.mark.parametrize('junk', [None, 'garbage', [], {}, -1, True])
def test_any_fact_may_be_null_or_garbage(junk):
    """No crash whatever single value is replaced; the output stays well formed."""
    for path in ALL_PATHS:
        data = facts(**{path: junk})
        result = _engine.evaluate_host(data, probe=probe('kex_hang', 'kex', 'hang'), controller=CONTROLLER)
        assert 0 <= result['score'] <= 100, path
        for finding in result['findings']:
            assert finding['id'] in _catalogue.CATALOGUE, path


@pytest.mark.parametrize('facts_value', [None, {}, [], 'text', {'connreset_sshd': 'text', 'connreset_oom': [1]}])
def test_whole_facts_garbage(facts_value):
    result = _engine.evaluate_host(facts_value)
    # every area is a coverage finding, and the host is not healthy: nothing was checked
    assert {f['id'] for f in result['findings']} == {'CRD-COV-%s' % a for a, _n in _catalogue.AREAS.values()} | {
        'CRD-COV-NONE'}
    assert result['level'] == 'high'


# -- score, level, order --------------------------------------------------------------------
def test_score_level_and_order():
    _ids, result = run(case(dict(with_rules(RESET_EST_22), **{
        'connreset_sshd.events.maxstartups_drops': event(12, MAXSTARTUPS_LINE),
        'connreset_tcp.counters.ListenOverflows': 2, 'connreset_oom': UNKNOWN_AREA})))
    assert [(f['id'], f['severity']) for f in result['findings']] == [
        ('CRD-FW-002', 'high'), ('CRD-SSHD-004', 'medium'), ('CRD-TCP-001', 'low'), ('CRD-COV-OOM', 'info')]
    assert result['score'] == 30 + 12 + 4 + 0
    assert result['level'] == 'high'


def test_score_is_capped():
    _ids, result = run(case(dict(with_rules(RESET_ALL_22), **{
        'connreset_sshd.running': False, 'connreset_firewall.blocked': [{'client': CONTROLLER, 'by': 'sshguard',
                                                                         'detail': None}]})))
    assert result['score'] == 100 and result['level'] == 'critical'


@pytest.mark.parametrize('severities, expected', [
    ([], 'ok'), (['info'], 'ok'), (['info', 'low'], 'low'), (['medium', 'critical', 'low'], 'critical')])
def test_level(severities, expected):
    assert _engine.level([{'severity': s} for s in severities]) == expected


# -- thresholds -----------------------------------------------------------------------------
def test_threshold_override_changes_result():
    patch = {'connreset_conntrack.fill': 0.6}
    assert 'CRD-CT-001' not in run(case(patch))[0]
    assert 'CRD-CT-001' in run(case(patch, thresholds={'conntrack_fill_warn': 0.5}))[0]


@pytest.mark.parametrize('overrides, message', [
    ({'conntrack_fill': 0.5}, "unknown threshold 'conntrack_fill'"),
    ({'conntrack_fill_warn': 'high'}, 'must be a number'),
    ({'path_idle_preset': 'aws-elb'}, "unknown path_idle_preset 'aws-elb'"),
    ({'idle_timeout_presets': {'corp-fw': 'long'}}, 'map preset names to seconds'),
])
def test_bad_thresholds(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _engine.merge_thresholds(overrides)


def test_custom_preset_and_defaults_untouched():
    merged = _engine.merge_thresholds({'idle_timeout_presets': {'corp-fw': 1800}, 'path_idle_preset': 'corp-fw'})
    assert _engine.path_idle_timeout(merged) == (1800, 'preset corp-fw')
    assert 'corp-fw' not in _engine.DEFAULT_THRESHOLDS['idle_timeout_presets']


def test_every_threshold_is_documented():
    assert sorted(_engine.THRESHOLD_DOCS) == sorted(_engine.DEFAULT_THRESHOLDS)


# -- probe correlation ----------------------------------------------------------------------
def test_confirmed_wrappers_supersede_and_carry_both_evidences():
    ids, result = run(CASES['CRD-PROBE-001'][0])
    assert 'CRD-WRAP-001' not in ids
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-PROBE-001')
    assert finding['severity'] == 'critical'
    assert finding['evidence']['probe']['classification'] == 'reset_at_banner_delayed'
    assert finding['evidence']['wrappers']['verdicts'][0]['access'] == 'denied'
    assert 'CRD-WRAP-001' in finding['evidence']['supersedes']


def test_unexplained_probe_failure_carries_the_probe_cause():
    _ids, result = run(CASES['CRD-PROBE-001'][1])
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-PROBE-007')
    assert finding['cause'] == 'tcp_wrappers' and finding['severity'] == 'high'


def test_refused_with_running_sshd_and_no_rule_is_not_called_sshd_down():
    ids, _result = run(CASES['CRD-PROBE-004'][1])
    assert 'CRD-PROBE-004' not in ids and 'CRD-PROBE-007' in ids


def test_kex_hang_with_fleet_mtu_mismatch_is_confirmed():
    hosts = [mtu_host('a', 9000), mtu_host('b', 1500, address='192.0.2.22'),
             mtu_host('c', 1500, address='192.0.2.23')]
    hosts[0]['probe'] = probe('kex_hang', 'kex', 'hang')
    hosts[0]['facts']['connreset_mtu']['tcp_mtu_probing'] = 1  # no per-host MTU finding
    docs = [_engine.diagnose_host(h) for h in hosts]
    assert {f['id'] for f in docs[0]['findings']} == {'CRD-PROBE-007'}
    _engine.apply_fleet_findings(docs)
    ids = [f['id'] for f in docs[0]['findings']]
    assert ids == ['CRD-PROBE-002']
    assert docs[0]['level'] == 'critical' and docs[0]['score'] == 60
    assert docs[0]['findings'][0]['evidence']['supersedes']['CRD-MTU-004'][0]['majority_mtu'] == 1500


def test_per_host_path_mtu_below_interface_mtu_confirms_kex_hang():
    hosts = [mtu_host('a', 9000)]
    hosts[0]['probe'] = probe('kex_hang', 'kex', 'hang')
    doc = _engine.diagnose_host(hosts[0])
    assert [f['id'] for f in doc['findings']] == ['CRD-PROBE-002']
    assert 'CRD-MTU-002' in doc['findings'][0]['evidence']['supersedes']


def test_unreachable_host_with_probe_and_no_facts():
    result = _engine.evaluate_host({}, probe=probe('reset_at_banner_delayed', elapsed=5.0),
                                   unreachable={'msg': MSG_RESET_BANNER})
    assert [f['id'] for f in result['findings']] == ['CRD-REACH-003']
    finding = result['findings'][0]
    assert finding['cause'] == 'tcp_wrappers'  # refined by the probe
    assert finding['evidence']['probe']['classification'] == 'reset_at_banner_delayed'
    assert finding['evidence']['msg'] == MSG_RESET_BANNER
    assert result['level'] == 'critical'


# -- fleet ----------------------------------------------------------------------------------
def test_fleet_mtu_mismatch_evidence():
    hosts = [mtu_host('a', 9000), mtu_host('b', 1500, address='192.0.2.22'),
             mtu_host('c', 1500, address='192.0.2.23')]
    docs = [_engine.diagnose_host(h) for h in hosts]
    result = _engine.fleet_findings({d['host']: d for d in docs})
    assert sorted(result) == ['a']
    finding = result['a'][0]
    assert finding['evidence']['majority_mtu'] == 1500 and finding['evidence']['mtu'] == 9000
    assert finding['evidence']['mtu_counts'] == {'1500': 2, '9000': 1} and finding['evidence']['members'] == 3
    assert finding['evidence']['example_hosts'] == {
        '9000': [{'host': 'a', 'interface': 'eth0', 'mtu': 9000}],
        '1500': [{'host': 'b', 'interface': 'eth0', 'mtu': 1500}, {'host': 'c', 'interface': 'eth0', 'mtu': 1500}]}
    assert finding['summary'] == 'eth0 on 192.0.2.0/24: MTU 9000, subnet majority 1500 (2 host(s) at 1500, 1 host(s) at 9000)'


def test_fleet_mtu_evidence_is_bounded_in_a_large_subnet():
    # one /16 with every 10th host on jumbo frames: the evidence of each finding stays small
    hosts = [mtu_host('h%03d' % i, 9001 if i % 10 == 0 else 1500, network='10.0.0.0/16',
                      address='10.0.%d.%d' % (i // 200, i % 200 + 1)) for i in range(300)]
    result = _engine.fleet_findings([_engine.diagnose_host(h) for h in hosts])
    assert sorted(result) == ['h%03d' % i for i in range(0, 300, 10)]
    evidence = result['h010'][0]['evidence']
    assert evidence['mtu_counts'] == {'1500': 270, '9001': 30} and evidence['members'] == 300
    assert [len(v) for v in evidence['example_hosts'].values()] == [_engine.FLEET_EXAMPLE_HOSTS] * 2
    assert len(json.dumps(evidence)) < 1000


def test_fleet_tie_flags_every_host():
    docs = [_engine.diagnose_host(h) for h in (mtu_host('a', 9000), mtu_host('b', 1500, address='192.0.2.22'))]
    result = _engine.fleet_findings(docs)
    assert sorted(result) == ['a', 'b'] and result['a'][0]['evidence']['majority_mtu'] is None
    # no majority: the host that is right is flagged too, so neither is above low
    assert [f['severity'] for h in ('a', 'b') for f in result[h]] == ['low', 'low']


def test_fleet_majority_flags_the_odd_host_medium():
    hosts = [mtu_host('a', 9000), mtu_host('b', 1500, address='192.0.2.22'),
             mtu_host('c', 1500, address='192.0.2.23')]
    result = _engine.fleet_findings([_engine.diagnose_host(h) for h in hosts])
    assert [f['severity'] for f in result['a']] == ['medium']


def test_fleet_ignores_link_local_loopback_and_missing_facts():
    hosts = [mtu_host('a', 1500), mtu_host('b', 1500, address='192.0.2.22')]
    hosts[1]['facts']['connreset_mtu']['interfaces'][1]['addresses'][1]['network'] = 'fe80::/64'
    hosts[1]['facts']['connreset_mtu']['interfaces'][0]['mtu'] = 16384
    docs = [_engine.diagnose_host(h) for h in hosts]
    docs.append(_engine.diagnose_host({'host': 'down', 'unreachable': {'msg': MSG_TIMEOUT}}))
    docs.append({'host': 'junk', 'facts': {'connreset_mtu': {'interfaces': [{'name': 'eth0', 'mtu': 'x'}]}}})
    assert _engine.fleet_findings(docs) == {}


# -- shapes of the real collectors ----------------------------------------------------------
def test_watched_killed_names_from_the_oom_collector():
    # watched_killed lists names of the collector's `watch` option (default sshd, sshd-session).
    ids, _result = run(case({'connreset_oom.watched_killed': ['sshd-session']}))
    assert 'CRD-OOM-001' in ids
    ids, result = run(case({'connreset_oom.watched_killed': ['postgres']}))
    assert 'CRD-OOM-001' not in ids and 'CRD-OOM-002' in ids
    assert 'postgres' in next(f['summary'] for f in result['findings'] if f['id'] == 'CRD-OOM-002')


@pytest.mark.parametrize('patch, thresholds, severity, short', [
    # one kill, plenty of memory now (the HEALTHY sample: 66 % available, no PSI): low
    ({}, None, 'low', False),
    # many kills within the lookback: medium
    ({'connreset_oom.kills': [OOM_OTHER] * 5}, None, 'medium', False),
    ({'connreset_oom.kills': [OOM_OTHER] * 5}, {'oom_other_kills_medium': 6}, 'low', False),
    # memory short now: MemAvailable under 5 % of MemTotal
    ({'connreset_oom.memory.mem_available_kb': 90000}, None, 'medium', True),
    # memory pressure now (PSI "some" avg10 at the threshold), MemAvailable fine
    ({'connreset_oom.memory.psi': {'some': {'avg10': 10.0, 'avg60': 3.1, 'avg300': 1.0, 'total': 9},
                                   'full': {'avg10': 2.0, 'avg60': 0.5, 'avg300': 0.1, 'total': 3}}},
     None, 'medium', True),
    ({'connreset_oom.memory.psi': {'some': {'avg10': 9.99, 'avg60': 3.1, 'avg300': 1.0, 'total': 9}}},
     None, 'low', False),
    # memory could not be read: severity from the kill count alone, "short now" unknown
    ({'connreset_oom.memory': {}}, None, 'low', None),
])
def test_oom_other_kills_severity(patch, thresholds, severity, short):
    patch = dict({'connreset_oom.kills': [OOM_OTHER], 'connreset_oom.vmstat_oom_kill': 1}, **patch)
    _ids, result = run(case(patch, thresholds=thresholds))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-OOM-002')
    assert finding['severity'] == severity
    assert finding['evidence']['memory_short_now'] is short


def test_mtu_target_without_route_is_coverage():
    ids, result = run(case({'connreset_mtu.targets.0': {
        'target': CONTROLLER, 'dev': None, 'src': None, 'gateway': None, 'mtu': None, 'mtu_source': None,
        'probe': None, 'status': 'unknown', 'reason': 'no route toward 192.0.2.10: RTNETLINK answers: '
                                                      'Network is unreachable'}}))
    assert ids == {'CRD-COV-MTU'}
    assert 'Network is unreachable' in result['findings'][0]['summary']


def test_firewall_invalid_flag_and_service_port_name():
    invalid = dict(rule('-A INPUT -m conntrack --ctstate INVALID -j DROP', 'drop', None, backend='iptables'))
    invalid['rule'] = '-A INPUT -m state --state NEW -j DROP'  # the flag alone must be enough
    invalid['invalid'] = True
    named = rule('tcp dport ssh reject with tcp reset', 'reject_tcp_reset', ['ssh'])
    ids, _result = run(case(with_rules(invalid, named)))
    assert {'CRD-FW-003', 'CRD-FW-001'} <= ids


def test_several_rules_are_all_in_the_evidence():
    other = rule('tcp dport 20-30 reject with tcp reset', 'reject_tcp_reset', ['20-30'])
    _ids, result = run(case(with_rules(RESET_ALL_22, other)))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-FW-001')
    assert [r['rule'] for r in finding['evidence']['rules']] == [RESET_ALL_22['rule'], other['rule']]


def test_listener_overflowing_flag():
    ids, _result = run(case({'connreset_tcp.listeners': [{'address': '0.0.0.0', 'port': 22, 'recv_q': None,
                                                         'backlog': None, 'overflowing': True}]}))
    assert 'CRD-TCP-002' in ids


def test_wrappers_without_client_say_why():
    ids, result = run(case({'connreset_tcp_wrappers.verdicts': [], 'connreset_tcp_wrappers.clients': [],
                            'connreset_tcp_wrappers.clients_source': 'none',
                            'connreset_tcp_wrappers.clients_note': 'no client address to evaluate: SSH_CONNECTION '
                                                                   'is not set'}))
    assert ids == {'CRD-COV-WRAP'}
    assert 'SSH_CONNECTION' in result['findings'][0]['summary']


def test_controller_address_taken_from_connreset_meta_only():
    patch = {'connreset_sshd.config.values.persourcepenalties': PENALTIES_ON,
             'connreset_sshd.config.values.persourcepenaltyexemptlist': ['192.0.2.0/28']}
    assert 'CRD-SSHD-007' not in run(case(patch, controller=None))[0]  # 192.0.2.10 is in the list
    patch['connreset_meta.controller'] = '192.0.2.99'
    assert 'CRD-SSHD-007' in run(case(patch, controller=None))[0]
    # other collectors' client lists are no source of it (one home: connreset_meta.controller)
    patch.update({'connreset_meta.controller': None, 'connreset_tcp_wrappers.clients': ['192.0.2.10'],
                  'connreset_firewall.clients': ['192.0.2.10']})
    ids, result = run(case(patch, controller=None))
    assert 'CRD-SSHD-007' not in ids and 'CRD-COV-SSHD' in ids, result


def test_probe_likely_cause_wins_over_the_default_map():
    _ids, result = run(case(probe_=probe('reset_at_banner', likely_causes=['tcp_wrappers', 'sshd_rate_limit'])))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-PROBE-007')
    assert finding['cause'] == 'tcp_wrappers'


@pytest.mark.parametrize('extra, found', [
    # iptables 1.8.9 iptables-save lines; the collector applies the negation to `ports`
    (rule('-A INPUT -p tcp -m tcp ! --dport 22 -j REJECT --reject-with tcp-reset', 'reject_tcp_reset', [22],
          backend='iptables', negated=True), set()),
    (rule('-A INPUT -p tcp -m tcp ! --dport 80 -j REJECT --reject-with tcp-reset', 'reject_tcp_reset', [80],
          backend='iptables', negated=True), {'CRD-FW-001'}),
    (rule('-A INPUT -p tcp -m multiport --dports 20:30 -j REJECT --reject-with tcp-reset', 'reject_tcp_reset',
          ['20-30'], backend='iptables'), {'CRD-FW-001'}),
    (rule('-A INPUT -p tcp -j REJECT --reject-with tcp-reset', 'reject_tcp_reset', None, backend='iptables'),
     set()),  # names no port: a catch-all after the accept rules, not a rule on ssh
    (rule('-A INPUT -p tcp -m tcp ! --dport 22 -m conntrack --ctstate INVALID -j DROP', 'drop', [22],
          backend='iptables', invalid=True, negated=True), set()),
    (rule('-A INPUT -p tcp -m tcp --dport 22 -m limit --limit 3/min -j DROP', 'drop', [22], backend='iptables',
          limit=True), {'CRD-FW-005'}),
])
def test_firewall_reads_the_typed_ports(extra, found):
    ids, _result = run(case(with_rules(extra)))
    assert ids & {'CRD-FW-001', 'CRD-FW-002', 'CRD-FW-003', 'CRD-FW-005'} == found


@pytest.mark.parametrize('penalties, exempt, found', [
    (PENALTIES_ON, None, True),
    (PENALTIES_ON, ['192.0.2.10/32'], False),
    (PENALTIES_ON, ['10.0.0.0/8', '192.0.2.0/24'], False),
    (PENALTIES_ON, ['192.0.2.*'], False),          # a wildcard pattern covers the controller
    (PENALTIES_ON, ['192.0.2.0/24', '!192.0.2.10'], True),   # a negation defeats the exemption
    (False, None, False),                        # PerSourcePenalties no
    (None, None, False),                         # OpenSSH < 9.8
])
def test_penalty_forms(penalties, exempt, found):
    ids, _result = run(case({'connreset_sshd.config.values.persourcepenalties': penalties,
                             'connreset_sshd.config.values.persourcepenaltyexemptlist': exempt}))
    assert ('CRD-SSHD-007' in ids) is found


@pytest.mark.parametrize('tcpkeepalive, found', [(True, False), (False, True), (None, False)])
def test_tcpkeepalive_forms(tcpkeepalive, found):
    ids, _result = run(case({'connreset_sshd.config.values.tcpkeepalive': tcpkeepalive,
                             'connreset_tcp.sysctls.tcp_keepalive_time': 120},
                            thresholds={'path_idle_timeout': 350}))
    assert ('CRD-IDLE-001' in ids) is found


def test_restart_gave_up_is_a_start_limit():
    restarts = dict(event(5, RESTART_LINE), automatic=5, manual=0, gave_up=1, reloads=0)
    _ids, result = run(case({'connreset_sshd.events.restarts': restarts}))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-SSHD-003')
    assert finding['severity'] == 'high' and finding['evidence']['start_limit_hit'] is True


# -- real collector output ------------------------------------------------------------------
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def test_real_facts_of_the_build_machine():
    """fixtures/facts_debian12_no_sshd.json: every collector's output (reset_facts' gather(), all
    collectors, default options) on the build machine: Debian 12, root, no systemd as PID 1, no
    journal, sshd installed but not running, not run over SSH (no SSH_CONNECTION), memcg OOM
    kills left by the OOM system tests."""
    with open(os.path.join(FIXTURES, 'facts_debian12_no_sshd.json'), encoding='utf-8') as handle:
        data = json.load(handle)
    result = _engine.evaluate_host(data)
    by_id = {f['id']: f for f in result['findings']}
    assert sorted(by_id) == ['CRD-COV-FW', 'CRD-COV-MTU', 'CRD-COV-SSHD', 'CRD-COV-WRAP', 'CRD-OOM-002',
                             'CRD-SSHD-001']
    assert by_id['CRD-SSHD-001']['summary'] == 'sshd is not running (no sshd process; service state unknown)'
    assert 'Missing privilege separation directory' in by_id['CRD-COV-SSHD']['summary']
    assert 'no systemd journal' in by_id['CRD-COV-SSHD']['summary']
    for fid in ('CRD-COV-FW', 'CRD-COV-MTU', 'CRD-COV-WRAP'):
        assert 'SSH_CONNECTION is not set' in by_id[fid]['summary']
    assert by_id['CRD-OOM-002']['evidence']['count'] == len(data['connreset_oom']['kills'])
    assert (result['score'], result['level']) == (72, 'critical')


def _lab_probe(name):
    """fixtures/lab_probes.json: ssh_probe results and Ansible's UNREACHABLE messages from the
    connreset lab (tests/lab/lab, light hosts: OpenSSH 9.2p1 sshd, ansible-core 2.19 controller)
    with the faults pmtu-blackhole, sshd-down and banned injected."""
    with open(os.path.join(FIXTURES, 'lab_probes.json'), encoding='utf-8') as handle:
        return json.load(handle)[name]


def test_lab_kex_hang_with_black_hole_facts_is_confirmed():
    lab = _lab_probe('kex_hang_pmtu_blackhole')
    ids, result = run(case({'connreset_mtu.targets.0.probe': BLACKHOLE}, probe_=lab['probe']))
    assert 'CRD-PROBE-002' in ids and 'CRD-MTU-001' not in ids
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-PROBE-002')
    assert finding['evidence']['probe']['attempts'][0]['error'] == 'key exchange made no progress within 10.0 s'


def test_lab_kex_hang_unreachable():
    lab = _lab_probe('kex_hang_pmtu_blackhole')
    result = _engine.evaluate_host({}, probe=lab['probe'], unreachable={'msg': lab['unreachable_msg']})
    assert [(f['id'], f['cause']) for f in result['findings']] == [('CRD-REACH-002', 'mtu')]
    assert result['findings'][0]['summary'] == ('UNREACHABLE (timeout); probe: kex_hang: '
                                                'Connection to 10.213.14.11 port 22 timed out')


@pytest.mark.parametrize('name', ['refused_sshd_down', 'refused_banned'])
def test_lab_refused_unreachable(name):
    lab = _lab_probe(name)
    result = _engine.evaluate_host({}, probe=lab['probe'], unreachable={'msg': lab['unreachable_msg']})
    assert [f['id'] for f in result['findings']] == ['CRD-REACH-001']
    assert result['findings'][0]['evidence']['probe']['classification'] == 'refused'


def test_lab_refused_with_facts_showing_sshd_down_is_confirmed():
    lab = _lab_probe('refused_sshd_down')
    ids, _result = run(case({'connreset_sshd.running': False}, probe_=lab['probe']))
    assert 'CRD-PROBE-004' in ids and 'CRD-SSHD-001' not in ids


KA = 'connreset_tcp.sysctls.tcp_keepalive_time'
EST = 'connreset_conntrack.timeouts.established'


@pytest.mark.parametrize('patch, found', [
    ({EST: 300}, True),                                   # Debian defaults: first keepalive after 2 h
    ({EST: 432000, 'connreset_sshd.config.values.tcpkeepalive': False}, True),  # no keepalive at all
    ({EST: 432000}, False),
    ({EST: 300, KA: 120}, False),
    ({EST: 300, KA: 120, 'connreset_sshd.config.values.tcpkeepalive': False}, True),
    ({EST: 300, 'connreset_sshd.config.values.clientaliveinterval': 240}, False),
    ({EST: None}, False),
])
def test_conntrack_established_timeout(patch, found):
    ids, _result = run(case(dict(with_rules(INVALID_DROP), **patch)))
    assert ('CRD-CT-004' in ids) is found


def test_conntrack_established_timeout_with_unknown_keepalive_is_coverage():
    ids, _result = run(case(dict(with_rules(INVALID_DROP), **{EST: 300, KA: None})))
    assert 'CRD-CT-004' not in ids and 'CRD-COV-CT' in ids


@pytest.mark.parametrize('kill, sshd', [
    (OOM_SSHD, True),
    (dict(OOM_SSHD, process='sshd-session'), True),
    # a module's python3 in ssh.service's cgroup (no libpam-systemd): not sshd
    (dict(OOM_SSHD, process='python3', pid=7001), False),
    # systemd-oomd kills a whole cgroup: no process name, the unit decides
    (dict(OOM_SSHD, process=None, scope='oomd'), True),
    (dict(OOM_OTHER, process=None, scope='oomd'), False),
])
def test_sshd_kill_matching(kill, sshd):
    ids, _result = run(case({'connreset_oom.kills': [kill]}))
    assert ('CRD-OOM-001' in ids) is sshd and ('CRD-OOM-002' in ids) is (not sshd)


@pytest.mark.parametrize('restarts, found', [
    (dict(event(2, RESTART_LINE), automatic=2, manual=0, gave_up=0, reloads=0), True),
    # two `systemctl restart ssh` by a handler: not a crash loop
    (dict(event(2), automatic=0, manual=2, gave_up=0, reloads=3), False),
    (event(2, RESTART_LINE), True),  # no breakdown: every restart counts
])
def test_manual_restarts_are_not_a_crash_loop(restarts, found):
    ids, _result = run(case({'connreset_sshd.events.restarts': restarts}))
    assert ('CRD-SSHD-003' in ids) is found


# -- nothing checked: unknown is not healthy (issue 16, point 7) ---------------------------------
# connreset_meta as reset_facts returns it for gather_subset ['!all'] (no collector ran).
META_NONE = {'gather_subset': [], 'budget_s': 20.0, 'elapsed_s': 0.0, 'collectors': {}}


@pytest.mark.parametrize('data, reason', [
    ({'connreset_meta': META_NONE}, 'gather_subset selected no collector'),
    ({}, 'no collector returned facts'),
    (dict((key, dict(UNKNOWN_AREA)) for key in _catalogue.AREAS),
     'no collector returned usable facts (sshd unknown, OOM kills unknown'),
    ({'connreset_sshd': dict(UNKNOWN_AREA), 'connreset_meta': {'gather_subset': ['sshd']}},
     'no collector returned usable facts (sshd unknown)'),
])
def test_nothing_checked_is_not_healthy(data, reason):
    result = _engine.evaluate_host(data, controller=CONTROLLER)
    none = [f for f in result['findings'] if f['id'] == 'CRD-COV-NONE']
    assert len(none) == 1 and reason in none[0]['summary'], result['findings']
    # high: a diagnose_fail_on=high gate fails
    assert result['level'] == 'high' and none[0]['severity'] == 'high'


@pytest.mark.parametrize('data', [
    {'connreset_meta': {'gather_subset': ['sshd']}, 'connreset_sshd': copy.deepcopy(HEALTHY['connreset_sshd'])},
    {'connreset_tcp': dict(copy.deepcopy(HEALTHY['connreset_tcp']), status='partial', reason='no ss binary')},
])
def test_one_usable_collector_is_something_checked(data):
    ids = {f['id'] for f in _engine.evaluate_host(data, controller=CONTROLLER)['findings']}
    assert 'CRD-COV-NONE' not in ids


def test_unreachable_host_is_not_also_nothing_checked():
    ids = {f['id'] for f in _engine.evaluate_host({}, unreachable={'msg': MSG_REFUSED})['findings']}
    assert ids == {'CRD-REACH-001'}


def test_failed_collection_says_why_nothing_was_checked():
    result = _engine.evaluate_host({}, failed={'msg': 'sshd: since must be a time'})
    none = next(f for f in result['findings'] if f['id'] == 'CRD-COV-NONE')
    assert none['summary'] == 'nothing was checked on the host: fact collection failed: sshd: since must be a time'


def test_missing_host_doc():
    doc = _engine.missing_host_doc('db/1', 'no host document: the host failed before its diagnosis was stored')
    assert doc['host'] == 'db/1' and doc['level'] == 'high' and doc['reachable'] is False
    assert [f['id'] for f in doc['findings']] == ['CRD-COV-HOST']
    assert doc['findings'][0]['evidence'] == {
        'reason': 'no host document: the host failed before its diagnosis was stored'}


# -- hostile fact values (issue 16, point 6) -------------------------------------------------------
# Each is what a target could return (YAML .inf/.nan reach the controller as floats); the host
# keeps a document, the value is named in a coverage finding of its area, the other checks run.
HUGE = [dict(OOM_OTHER, pid=n) for n in range(5000)]


@pytest.mark.parametrize('path, value, area, named', [
    ('connreset_conntrack.fill', float('inf'), 'CRD-COV-CT',
     'fact connreset_conntrack.fill: not a finite number: inf'),
    ('connreset_conntrack.fill', float('-inf'), 'CRD-COV-CT', 'not a finite number: -inf'),
    ('connreset_conntrack.fill', float('nan'), 'CRD-COV-CT', 'fact connreset_conntrack.fill: not a finite number: nan'),
    ('connreset_conntrack.fill', 1e308, 'CRD-COV-CT', 'fact connreset_conntrack.fill: out of range: 1e+308'),
    ('connreset_conntrack.count', 'lots', 'CRD-COV-CT',
     "fact connreset_conntrack.count: expected a number, got a string 'lots'"),
    ('connreset_conntrack.max', 2 ** 70, 'CRD-COV-CT', 'fact connreset_conntrack.max: number out of range'),
    ('connreset_tcp.counters.ListenOverflows', '1.5e999', 'CRD-COV-TCP',
     "fact connreset_tcp.counters.ListenOverflows: expected a number, got a string '1.5e999'"),
    ('connreset_sshd.service.n_restarts', float('nan'), 'CRD-COV-SSHD',
     'fact connreset_sshd.service.n_restarts: not a finite number: nan'),
    ('connreset_sshd.running', 'yes', 'CRD-COV-SSHD', "fact connreset_sshd.running: expected true/false, got a string"),
    ('connreset_oom.kills', {'0': OOM_SSHD}, 'CRD-COV-OOM', 'fact connreset_oom.kills: expected a list, got an object'),
    ('connreset_oom.kills', HUGE, 'CRD-COV-OOM', 'fact connreset_oom.kills: 5000 items: only the last 1000 were checked'),
    ('connreset_mtu.interfaces', {'eth0': {'mtu': 1500}}, 'CRD-COV-MTU', 'fact connreset_mtu.interfaces: expected a list'),
    ('connreset_mtu.interfaces.1.mtu', [1500], 'CRD-COV-MTU',
     'fact connreset_mtu.interfaces[1].mtu: expected a number, got a list [1500]'),
    ('connreset_firewall.rules', 'drop everything', 'CRD-COV-FW', 'fact connreset_firewall.rules: expected a list'),
    ('connreset_tcp.listeners.0.recv_q', float('inf'), 'CRD-COV-TCP',
     'fact connreset_tcp.listeners[0].recv_q: not a finite number: inf'),
])
def test_hostile_fact_value_is_a_named_coverage_gap(path, value, area, named):
    data = facts(**{path: value})
    result = _engine.evaluate_host(data, controller=CONTROLLER)
    by_id = {f['id']: f for f in result['findings']}
    assert area in by_id, result['findings']
    assert named in by_id[area]['summary']
    # the other areas were still checked: no other coverage finding, and nothing lost
    assert {f for f in by_id if f.startswith('CRD-COV-')} == {area}
    json.dumps(result, allow_nan=False)


def test_hostile_value_keeps_the_host_document_finite():
    data = facts(**{'connreset_conntrack.fill': float('inf'), 'connreset_conntrack.count': float('nan')})
    doc = _engine.diagnose_host({'host': 'h1', 'facts': data, 'probe': probe('ok', 'kex', 'ok', elapsed=float('inf'))})
    text = json.dumps(doc, allow_nan=False)  # raises on inf/NaN anywhere
    assert doc['facts']['connreset_conntrack']['fill'] is None
    assert doc['probe']['attempts'][0]['elapsed_s'] is None
    assert 'CRD-COV-CT' in text


def test_other_checks_run_when_one_check_fails(monkeypatch):
    """A check that raises on a value no type table foresaw: a coverage gap of its area naming the
    error, and the findings of the other checks are all there."""
    def broken(ctx):
        raise OverflowError('cannot convert float infinity to integer')
    monkeypatch.setitem(_engine.CHECK_AREA, broken, 'connreset_conntrack')
    checks = tuple(broken if c is _engine._check_conntrack else c for c in _engine.CHECKS)
    monkeypatch.setattr(_engine, 'CHECKS', checks)
    ids, result = run(case({'connreset_sshd.running': False, 'connreset_tcp.counters.ListenOverflows': 5}))
    assert {'CRD-SSHD-001', 'CRD-TCP-001', 'CRD-COV-CT'} <= ids
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-CT')
    assert ('could not check the broken check: failed on an unexpected value in connreset_conntrack '
            '(OverflowError: cannot convert float infinity to integer)') in cov['summary']


@pytest.mark.parametrize('value', [float('nan'), float('inf'), 'nan', 'inf', '1e999'])
def test_non_finite_threshold_is_a_threshold_error(value):
    with pytest.raises(ValueError, match='threshold conntrack_fill_warn must be a number'):
        _engine.merge_thresholds({'conntrack_fill_warn': value})


def test_nan_fact_is_not_reported_as_a_threshold_error():
    """A NaN fact value used to end in ValueError ("cannot convert float NaN to integer"), which the
    action reported as a bad diagnose_thresholds; now it is a coverage finding of the host."""
    doc = _engine.diagnose_host({'host': 'h1', 'facts': facts(**{'connreset_conntrack.fill': float('nan')}),
                                 'thresholds': {}})
    assert 'CRD-COV-CT' in [f['id'] for f in doc['findings']]


def test_deep_nesting_and_odd_types_are_cut():
    deep = current = {}
    for _level in range(100):
        current['x'] = {}
        current = current['x']
    data = facts(**{'connreset_firewall.fail2ban': deep, 'connreset_tcp.rates': {1: {2, 3}}})
    doc = _engine.diagnose_host({'host': 'h1', 'facts': data})
    json.dumps(doc, allow_nan=False)
    summaries = ' '.join(f.get('summary', '') for f in doc['findings'])
    assert 'nested deeper than 24 levels: cut' in summaries and 'not a JSON value: a set' in summaries


# -- OOM kills past the collector's cap (it keeps the 20 most recent; kill_count counts all) -----
@pytest.mark.parametrize('patch, sshd, other, severity', [
    # 30 kills of stress-ng-vm, the list cut to the last 20: the count is 30
    ({'connreset_oom.kills': [OOM_OTHER] * 20, 'connreset_oom.kill_count': 30, 'connreset_oom.kills_truncated': True,
      'connreset_oom.kills_by_process': {'stress-ng-vm': 30}}, None, 30, 'medium'),
    # 3 kills of sshd long ago, 40 of others since: the list holds only others
    ({'connreset_oom.kills': [OOM_OTHER] * 20, 'connreset_oom.kill_count': 43, 'connreset_oom.kills_truncated': True,
      'connreset_oom.kills_by_process': {'stress-ng-vm': 40, 'sshd': 3}}, 3, 40, 'medium'),
    # not cut: the list decides, as before (kill_count equal to its length)
    ({'connreset_oom.kills': [OOM_OTHER] * 2, 'connreset_oom.kill_count': 2,
      'connreset_oom.kills_by_process': {'stress-ng-vm': 2}}, None, 2, 'low'),
])
def test_oom_counts_past_the_collectors_cap(patch, sshd, other, severity):
    ids, result = run(case(patch))
    by_id = {f['id']: f for f in result['findings']}
    if sshd is None:
        assert 'CRD-OOM-001' not in by_id
    else:
        assert by_id['CRD-OOM-001']['summary'] == '%d OOM kill(s) of sshd' % sshd
    assert by_id['CRD-OOM-002']['evidence']['count'] == other and by_id['CRD-OOM-002']['severity'] == severity
    assert by_id['CRD-OOM-002']['summary'].startswith('%d OOM kill(s): stress-ng-vm' % other)


# -- sshd not installed (issue 17): not "sshd is down, critical" unless the host must serve SSH ----
NOT_INSTALLED = {'connreset_sshd.installed': False, 'connreset_sshd.running': False,
                 'connreset_sshd.installed_reason': 'sshd is not installed: no sshd binary',
                 'connreset_sshd.config.valid': None, 'connreset_sshd.service.active_state': None}


def test_sshd_not_installed_is_info_and_explains_the_refused_probe():
    ids, result = run(case(NOT_INSTALLED, probe_=probe('refused', 'connect', 'refused')))
    assert ids == {'CRD-SSHD-009'}, result
    assert result['findings'][0]['severity'] == 'info'
    assert result['findings'][0]['evidence']['reason'].startswith('sshd is not installed')


def test_sshd_not_installed_on_a_host_that_must_serve_ssh_is_critical():
    ids, result = run(case(NOT_INSTALLED, probe_=probe('refused', 'connect', 'refused'),
                           thresholds={'sshd_required': True}))
    assert 'CRD-SSHD-009' not in ids and ('CRD-SSHD-001' in ids or 'CRD-PROBE-004' in ids), result
    assert max(_catalogue.severity_rank(f['severity']) for f in result['findings']) == \
        _catalogue.severity_rank('critical')


@pytest.mark.parametrize('value', ['yes', 1, None])
def test_sshd_required_must_be_a_boolean(value):
    with pytest.raises(ValueError, match='sshd_required must be true or false'):
        _engine.merge_thresholds({'sshd_required': value})
