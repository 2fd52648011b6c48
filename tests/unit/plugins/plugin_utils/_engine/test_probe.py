# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller's probe against the findings (_probe.py)."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import (
    BLACKHOLE, _lab_probe, case, run,
)
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.test_catalogue_cases import CASES
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import mtu_host, probe


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


def test_per_host_path_mtu_below_interface_mtu_confirms_kex_hang():
    hosts = [mtu_host('a', 9000)]
    hosts[0]['probe'] = probe('kex_hang', 'kex', 'hang')
    doc = _engine.diagnose_host(hosts[0])
    assert [f['id'] for f in doc['findings']] == ['CRD-PROBE-002']
    assert 'CRD-MTU-002' in doc['findings'][0]['evidence']['supersedes']


def test_probe_likely_cause_wins_over_the_default_map():
    _ids, result = run(case(probe_=probe('reset_at_banner', likely_causes=['tcp_wrappers', 'sshd_rate_limit'])))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-PROBE-007')
    assert finding['cause'] == 'tcp_wrappers'


def test_lab_kex_hang_with_black_hole_facts_is_confirmed():
    lab = _lab_probe('kex_hang_pmtu_blackhole')
    ids, result = run(case({'connreset_mtu.targets.0.probe': BLACKHOLE}, probe_=lab['probe']))
    assert 'CRD-PROBE-002' in ids and 'CRD-MTU-001' not in ids
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-PROBE-002')
    assert finding['evidence']['probe']['attempts'][0]['error'] == 'key exchange made no progress within 10.0 s'


def test_lab_refused_with_facts_showing_sshd_down_is_confirmed():
    lab = _lab_probe('refused_sshd_down')
    ids, _result = run(case({'connreset_sshd.running': False}, probe_=lab['probe']))
    assert 'CRD-PROBE-004' in ids and 'CRD-SSHD-001' not in ids
