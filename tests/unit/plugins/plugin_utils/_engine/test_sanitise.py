# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile fact values (_sanitise.py): any value may be null, garbage, non-finite, huge or deep."""

from __future__ import annotations

import json

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue, _engine
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import (
    CONTROLLER, HEALTHY, OOM_OTHER, OOM_SSHD, facts, probe,
)


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
