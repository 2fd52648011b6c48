# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The contract between the collectors and the engine, from real hosts.

fixtures/facts_<suite>_clean.json are `reset_facts` results (every collector, become root) of a
clean lab host of each Debian suite the lab boots (bullseye: OpenSSH 8.4p1, systemd 247;
bookworm: 9.2p1, 252; trixie: 10.0p2, 257), captured by tests/utils/capture_lab_samples.py
--only facts (its docstring says how; each fixture's `_origin` says when and from what). No
hand-typed fact dict: what the collectors really return is what the engine must judge.

A clean root host must come out with nothing above `low` and without a coverage finding (an
area the engine could not check). The one legitimate finding on a lab host, CRD-SSHD-007 on
trixie, is OpenSSH >= 9.8's default (PerSourcePenalties on, no exempt list): true of every
stock Debian 13 host, low, and the reason remediation has `sshd_penalty_exempt`.

The failure rows change one real fact the way a real host would show it (the lab's own
penalties/maxstartups/crash-loop hosts) and must produce the finding, so the test can fail.
"""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
SUITES = ('bullseye', 'bookworm', 'trixie')
SERIOUS = ('medium', 'high', 'critical')
# suite -> (OpenSSH release sshd reports, systemd major)
VERSIONS = {'bullseye': ('8.4p1', '247'), 'bookworm': ('9.2p1', '252'), 'trixie': ('10.0p2', '257')}
# Findings a clean lab host of that suite legitimately has (see the module docstring).
LEGITIMATE = {'bullseye': set(), 'bookworm': set(), 'trixie': {'CRD-SSHD-007'}}

# Real lines from the lab (tests/unit/plugins/module_utils/samples/lab/trixie/penalties.txt,
# maxstartups.txt; bookworm/crashloop.txt), as sshd_facts' event samples carry them.
PENALTY_SAMPLE = ('2026-12-03T12:28:36+00:00 trixie sshd[240]: drop connection #0 from [10.213.12.1]:58120 '
                  'on [10.213.12.13]:22 penalty: failed authentication')
MAXSTARTUPS_SAMPLE = ('2026-12-03T12:28:25+00:00 trixie sshd[240]: drop connection #1 from [10.213.12.1]:39866 '
                      'on [10.213.12.13]:22 Maxstartups')
CRASH_SAMPLE = ("2026-12-03T12:27:43+0000 bookworm systemd[1]: ssh.service: Main process exited, code=killed, "
                "status=9/KILL")


def load(suite):
    with open(os.path.join(FIXTURES, 'facts_%s_clean.json' % suite), encoding='utf-8') as handle:
        doc = json.load(handle)
    return doc['_origin'], doc['facts']


def evaluate(origin, facts):
    return _engine.evaluate_host(facts, controller=origin['controller'])


@pytest.mark.parametrize('suite', SUITES)
def test_fixture_is_what_it_says(suite):
    origin, facts = load(suite)
    openssh, systemd = VERSIONS[suite]
    assert origin['suite'] == suite and origin['openssh'] == openssh and origin['systemd'].startswith(systemd + '.')
    # captured from a reachable, healthy host as root: every collector ran
    assert set(_engine.AREAS) <= set(facts), sorted(set(_engine.AREAS) - set(facts))
    sshd = facts['connreset_sshd']
    assert sshd['running'] is True and sshd['service']['active_state'] == 'active'
    assert openssh in str(sshd.get('version')), sshd.get('version')


@pytest.mark.parametrize('suite', SUITES)
def test_clean_host_nothing_above_low_and_no_coverage_gap(suite):
    origin, facts = load(suite)
    result = evaluate(origin, facts)
    findings = dict((f['id'], f) for f in result['findings'])
    serious = ['%s (%s): %s' % (f['id'], f['severity'], f.get('summary') or f['title'])
               for f in result['findings'] if f['severity'] in SERIOUS]
    assert serious == [], serious
    coverage = [(fid, f['evidence']) for fid, f in findings.items() if f['cause'] == 'coverage' or fid.startswith('CRD-COV')]
    assert coverage == [], coverage
    unexpected = sorted(set(fid for fid, f in findings.items() if f['severity'] != 'info') - LEGITIMATE[suite])
    assert unexpected == [], [findings[f] for f in unexpected]


@pytest.mark.parametrize('suite,expected', [('bullseye', False), ('bookworm', False), ('trixie', True)])
def test_default_penalties_without_exemption_only_from_openssh_9_8(suite, expected):
    origin, facts = load(suite)
    ids = [f['id'] for f in evaluate(origin, facts)['findings']]
    assert ('CRD-SSHD-007' in ids) is expected, ids
    if expected:
        finding = [f for f in evaluate(origin, facts)['findings'] if f['id'] == 'CRD-SSHD-007'][0]
        assert finding['fix'] == 'sshd_penalty_exempt' and finding['severity'] == 'low'
        assert finding['evidence']['controller'] == origin['controller']


def _exempt(cidrs):
    def change(facts):
        facts['connreset_sshd']['config']['values']['persourcepenaltyexemptlist'] = cidrs
    return change


def _events(kind, count, sample):
    def change(facts):
        events = facts['connreset_sshd']['events']
        events[kind] = dict(events.get(kind) or {}, count=count, last='2026-12-03T12:28:36Z', samples=[sample])
    return change


def _crashloop(facts):
    service = facts['connreset_sshd']['service']
    service.update(active_state='failed', sub_state='failed', result='signal', n_restarts=5, main_pid=0)
    facts['connreset_sshd']['running'] = False
    facts['connreset_sshd']['listening'] = []
    facts['connreset_sshd']['events']['crashes'] = dict(facts['connreset_sshd']['events']['crashes'], count=6,
                                                        samples=[CRASH_SAMPLE])


# (suite, change to the real clean facts, finding that must appear (None: must not), severity set)
CHANGES = [
    ('trixie', _exempt(['10.213.12.1/32']), None, 'CRD-SSHD-007'),
    ('trixie', _exempt(['10.213.12.0/24', '192.0.2.0/24']), None, 'CRD-SSHD-007'),
    ('trixie', _exempt(['192.0.2.0/24']), 'CRD-SSHD-007', None),
    ('trixie', _events('penalties', 8, PENALTY_SAMPLE), 'CRD-SSHD-005', None),
    ('trixie', _events('maxstartups_drops', 17, MAXSTARTUPS_SAMPLE), 'CRD-SSHD-004', None),
    ('bookworm', _crashloop, 'CRD-SSHD-003', None),
    ('bullseye', _crashloop, 'CRD-SSHD-003', None),
]


@pytest.mark.parametrize('suite,change,present,absent', CHANGES,
                         ids=['%s-%d' % (c[0], i) for i, c in enumerate(CHANGES)])
def test_one_real_fact_changed(suite, change, present, absent):
    origin, facts = load(suite)
    facts = copy.deepcopy(facts)
    change(facts)
    findings = dict((f['id'], f) for f in evaluate(origin, facts)['findings'])
    if present:
        assert present in findings, sorted(findings)
    if absent:
        assert absent not in findings, findings[absent]
    if present == 'CRD-SSHD-005':
        assert findings[present]['fix'] == 'sshd_penalty_exempt'
        assert 'PerSourcePenaltyExemptList' in findings[present]['remedy']
    if present == 'CRD-SSHD-004':
        assert findings[present]['fix'] == 'sshd_maxstartups'
    if present == 'CRD-SSHD-003':
        assert findings[present]['severity'] == 'high'
