# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Findings across hosts (_fleet.py): the subnet MTU mismatch."""

from __future__ import annotations

import json

from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import MSG_TIMEOUT
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import mtu_host, probe


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
