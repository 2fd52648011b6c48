# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One host, end to end (_host.py): coverage findings, nothing checked, score, level and order,
the controller address, a failing check, the missing host document, real collector output."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue, _engine
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine import _areas, _conntrack
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import (
    FIXTURES, MSG_REFUSED, RESET_ALL_22, RESET_EST_22, UNKNOWN_AREA, case, run,
)
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import (
    CONTROLLER, HEALTHY, MAXSTARTUPS_LINE, PENALTIES_ON, event, facts, with_rules,
)


def test_healthy_host_has_no_findings():
    result = _engine.evaluate_host(copy.deepcopy(HEALTHY), controller=CONTROLLER)
    assert result == {'findings': [], 'score': 0, 'level': 'ok'}


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


def test_other_checks_run_when_one_check_fails(monkeypatch):
    """A check that raises on a value no type table foresaw: a coverage gap of its area naming the
    error, and the findings of the other checks are all there."""
    def broken(ctx):
        raise OverflowError('cannot convert float infinity to integer')
    monkeypatch.setitem(_areas.CHECK_AREA, broken, 'connreset_conntrack')
    checks = tuple(broken if c in _conntrack.CHECKS else c for c in _areas.CHECKS)
    monkeypatch.setattr(_areas, 'CHECKS', checks)
    ids, result = run(case({'connreset_sshd.running': False, 'connreset_tcp.counters.ListenOverflows': 5}))
    assert {'CRD-SSHD-001', 'CRD-TCP-001', 'CRD-COV-CT'} <= ids
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-CT')
    assert ('could not check the broken check: failed on an unexpected value in connreset_conntrack '
            '(OverflowError: cannot convert float infinity to integer)') in cov['summary']
