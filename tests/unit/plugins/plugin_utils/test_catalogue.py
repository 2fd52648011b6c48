# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The findings catalogue is well formed; docs/findings.md and the switch table of
docs/remediate.md are generated from it."""

from __future__ import annotations

import importlib.util
import os
import re

import pytest
import yaml

from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue, _engine
from ansible_collections.connreset.doctor.plugins.module_utils import _probe

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


def test_remediate_doc_switch_table_is_up_to_date():
    gen = _generator()
    with open(gen.REMEDIATE_DOC, encoding='utf-8') as handle:
        on_disk = handle.read()
    assert on_disk == gen.render_remediate(on_disk), (
        'the switch table of docs/remediate.md is out of date: run `python tests/utils/gen_findings_doc.py`')


def test_switch_table_lists_every_finding_with_a_fix():
    # docs/remediate.md's hand-written table once lacked CRD-SSHD-007, CRD-CT-004 and the PROBE findings.
    table = _generator().render_switch_table()
    rows = dict((line.split('|')[1].strip().strip('`'), line) for line in table.splitlines() if line.startswith('| `'))
    assert list(rows) == list(_catalogue.FIX_SWITCHES)
    for finding in _catalogue.FINDINGS:
        if finding['fix']:
            assert finding['id'] in rows[finding['fix']].split('|')[2], finding['id']
    for fid, switch in (('CRD-SSHD-007', 'sshd_penalty_exempt'), ('CRD-CT-004', 'keepalive'),
                        ('CRD-PROBE-001', 'wrappers_allow'), ('CRD-PROBE-003', 'sshd_maxstartups'),
                        ('CRD-PROBE-006', 'conntrack_max'), ('CRD-PROBE-008', 'unban')):
        assert fid in rows[switch]


def test_remediate_doc_keeps_its_prose():
    gen = _generator()
    text = 'intro\n\n%s\nold row\n%s\n\nafter\n' % (gen.BEGIN, gen.END)
    out = gen.render_remediate(text)
    assert out.startswith('intro\n\n' + gen.BEGIN) and out.endswith(gen.END + '\n\nafter\n')
    assert 'old row' not in out
    with pytest.raises(ValueError, match='no generated region'):
        gen.render_remediate('no markers here\n')


def test_severity_scale_is_one():
    assert [_catalogue.severity_rank(s) for s in _catalogue.SEVERITIES] == [0, 1, 2, 3, 4]
    assert _catalogue.severity_rank('HIGH', -1) == 3
    for outside in ('ok', 'unknown', 'none', None, '', 'bogus'):
        assert _catalogue.severity_rank(outside, -1) == -1
        with pytest.raises(ValueError):
            _catalogue.severity_rank(outside)


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
    # the one probe -> cause map (module_utils/_probe.CAUSES): every classification, every cause known
    assert set(_probe.CAUSES) == set(_probe.CLASSIFICATIONS)
    assert {c for causes in _probe.CAUSES.values() for c in causes} <= set(_catalogue.CAUSES)
    for fid in _catalogue.SEVERITY_NOTES:
        assert fid in _catalogue.CATALOGUE


@pytest.mark.parametrize('stale', ['findings', 'remediate'])
def test_generator_check_mode(tmp_path, monkeypatch, capsys, stale):
    gen = _generator()
    doc, remediate = tmp_path / 'findings.md', tmp_path / 'remediate.md'
    monkeypatch.setattr(gen, 'DOC', str(doc))
    monkeypatch.setattr(gen, 'REMEDIATE_DOC', str(remediate))
    doc.write_text(gen.render() if stale == 'remediate' else 'stale\n', encoding='utf-8')
    remediate.write_text('# Remediation\n\n%s\n| `keepalive` | CRD-IDLE-001 | old | |\n%s\n\nprose\n' % (gen.BEGIN, gen.END)
                         if stale == 'remediate' else gen.render_remediate('%s\n%s\n' % (gen.BEGIN, gen.END)),
                         encoding='utf-8')
    assert gen.main(['--check']) == 1
    assert '%s.md out of date' % stale in capsys.readouterr().out
    assert gen.main([]) == 0
    assert gen.main(['--check']) == 0
    assert remediate.read_text(encoding='utf-8').endswith('\n\nprose\n') or stale == 'findings'


def _role_text(*parts):
    with open(os.path.join(ROOT, 'roles', 'remediate', *parts), encoding='utf-8') as handle:
        return handle.read()


def test_fix_switches_are_named_where_they_cannot_derive():
    """The switch list lives in _catalogue.FIXES; the role validates remediate_fixes against it
    (remediate_plan). Text a tool reads as such names them all, and no other."""
    spec = yaml.safe_load(_role_text('meta', 'argument_specs.yml'))['argument_specs']['main']['options']
    texts = {
        'roles/remediate/meta/argument_specs.yml': ' '.join(spec['remediate_fixes']['description']),
        'roles/remediate/defaults/main.yml': _role_text('defaults', 'main.yml').split('remediate_fixes:')[0],
        'roles/remediate/README.md': _role_text('README.md').split('Switches:')[1].split('\n\n')[0],
    }
    for where, text in texts.items():
        named = re.findall(r'\b(?:sshd_[a-z_]+|[a-z]+_[a-z_]+|keepalive|unban)\b', text)
        for switch in _catalogue.FIX_SWITCHES:
            assert switch in named, '%s does not name the fix switch %s' % (where, switch)
        odd = [n for n in named if n.split('_')[0] in ('sshd', 'conntrack', 'mtu', 'wrappers') and n not in
               _catalogue.FIX_SWITCHES]
        assert not odd, '%s names switches that do not exist: %s' % (where, odd)
