# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The findings catalogue is well formed and docs/findings.md is generated from it."""

from __future__ import annotations

import importlib.util
import os

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue, _engine

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
GENERATOR = os.path.join(ROOT, 'tests', 'utils', 'gen_findings_doc.py')


def _generator():
    spec = importlib.util.spec_from_file_location('gen_findings_doc', GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_findings_doc_is_up_to_date():
    with open(os.path.join(ROOT, 'docs', 'findings.md'), encoding='utf-8') as handle:
        on_disk = handle.read()
    assert on_disk == _generator().render(), (
        'docs/findings.md is out of date: run `python tests/utils/gen_findings_doc.py`')


def test_ids_unique_and_well_formed():
    ids = [f['id'] for f in _catalogue.FINDINGS]
    assert len(ids) == len(set(ids))
    bad = [i for i in ids if not _catalogue.ID_PATTERN.match(i)]
    assert not bad


@pytest.mark.parametrize('finding', _catalogue.FINDINGS, ids=lambda f: f['id'])
def test_entry(finding):
    assert set(finding) >= {'id', 'title', 'cause', 'severity', 'fix', 'explanation', 'remedy'}
    assert finding['cause'] in _catalogue.CAUSES
    assert finding['severity'] in _catalogue.SEVERITIES
    assert finding['fix'] is None or finding['fix'] in _catalogue.FIX_SWITCHES
    assert finding['title'] and finding['title'][0].isupper() or finding['title'].startswith('sshd')
    # Concrete: an explanation names what the client sees or what is logged, a remedy gives a command.
    assert len(finding['explanation']) > 80 and '`' in finding['explanation']
    assert len(finding['remedy']) > 30 and '`' in finding['remedy']


@pytest.mark.parametrize('fid', ['CRD-SSHD-004', 'CRD-WRAP-001', 'CRD-MTU-001', 'CRD-CT-001', 'CRD-SSHD-001'])
def test_explanations_quote_the_client_message(fid):
    text = _catalogue.CATALOGUE[fid]['explanation']
    assert any(m in text for m in ('Connection reset by', 'Connection refused', 'Connection timed out',
                                   'SSH2_MSG_KEXINIT sent'))


def test_coverage_finding_per_area():
    for key, (area, _name) in _catalogue.AREAS.items():
        entry = _catalogue.CATALOGUE['CRD-COV-%s' % area]
        assert entry['cause'] == 'coverage' and entry['severity'] == 'info', key


def test_score_weights_cover_severities():
    assert sorted(_catalogue.SEVERITY_WEIGHTS) == sorted(_catalogue.SEVERITIES)
    ranks = [_catalogue.SEVERITY_WEIGHTS[s] for s in _catalogue.SEVERITIES]
    assert ranks == sorted(ranks) and ranks[0] == 0


def test_engine_maps_point_at_catalogue():
    assert set(_engine.UNREACHABLE_FINDING.values()) <= set(_catalogue.CATALOGUE)
    assert set(_engine.PROBE_FAILURE_CAUSES.values()) <= set(_catalogue.CAUSES)
    for fid in _catalogue.SEVERITY_NOTES:
        assert fid in _catalogue.CATALOGUE


def test_generator_check_mode(tmp_path, monkeypatch, capsys):
    gen = _generator()
    doc = tmp_path / 'findings.md'
    monkeypatch.setattr(gen, 'DOC', str(doc))
    doc.write_text('stale\n', encoding='utf-8')
    assert gen.main(['--check']) == 1
    assert 'run `python tests/utils/gen_findings_doc.py`' in capsys.readouterr().out
    assert gen.main([]) == 0
    assert gen.main(['--check']) == 0
