# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report from slim host records (``load_host_docs(slim=True)``, what ``run_report``
does): the same files, byte for byte, as from whole host documents, without the whole facts in
the records the renderers get (docs/performance.md, fleet report at 100,000 hosts)."""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.connreset.doctor.plugins.action import fleet_report
from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine, _report
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils import engine_samples as S

GENERATED = '2026-11-22T05:30:00Z'
FORMATS = ['json', 'md', 'html', 'junit', 'prom']


def _inputs():
    """diagnose_host inputs of a small fleet with something in every part the report reads: log
    events and timeline markers, log notes, an MTU differing from its subnet (a fleet finding), a
    probe reset, an unreachable host, users and addresses for the redaction."""
    out = []
    for index in range(12):
        data = S.facts()
        eth0 = data['connreset_mtu']['interfaces'][1]
        eth0['addresses'][0].update({'address': '192.0.2.%d' % (20 + index), 'network': '192.0.2.0/24'})
        eth0['mtu'] = 9001 if index == 3 else 1500
        sshd = data['connreset_sshd']['events']
        probe = None
        unreachable = None
        if index % 4 == 1:
            sshd['maxstartups_drops'] = S.event(40 + index, S.MAXSTARTUPS_LINE)
            sshd['maxstartups_drops']['series'] = {'times': [{'time': '2026-11-22T04:58:01Z', 'note': 'drop'}]}
            probe = S.probe('banner_reset', intermittent=True)
        if index % 4 == 2:
            sshd['crashes'] = S.event(2, S.CRASH_LINE)
            sshd['crashes']['series'] = {'bucket_s': 60, 'buckets': [{'start': '2026-11-22T04:50:00Z', 'count': 2}]}
            sshd['restarts'] = S.event(2, S.RESTART_LINE)
            sshd['skipped_lines'] = {'count': 3, 'samples': ['Nov 22 04:50:01 h%d sshd[9]: user=alice junk' % index]}
        if index == 5:
            data['connreset_oom']['kills'] = [dict(S.OOM_SSHD)]
            data['connreset_oom']['watched_killed'] = ['sshd']
            data['connreset_oom']['kill_series'] = {'times': [{'time': '2026-11-22T04:40:12Z', 'note': 'sshd'}]}
        if index == 7:
            unreachable = 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.27 port 22: ' \
                          'Connection timed out'
        out.append({'host': 'web%02d.example.net' % index, 'facts': data, 'probe': probe,
                    'unreachable': unreachable, 'controller': S.CONTROLLER})
    return out


@pytest.fixture(scope='module')
def fleet_dir(tmp_path_factory):
    src = tmp_path_factory.mktemp('fleet')
    for data in _inputs():
        doc = _engine.diagnose_host(copy.deepcopy(data))
        doc['generated_at'] = GENERATED
        fleet_report.store_host_doc(str(src), doc)
    hosts_dir = src / 'hosts'
    (hosts_dir / 'broken.json').write_text('{"host": "brok', encoding='utf-8')
    (hosts_dir / 'nohost.json').write_text('[1, 2]', encoding='utf-8')
    # a number JSON has not (read as inf) in the facts of one host and in the findings of another
    for name, old, new in (('web04.example.net.json', '"connreset_meta": {', '"big": 1e999, "connreset_meta": {'),
                           ('web06.example.net.json', '"findings": [', '"findings": [{"id": "X-1", "severity": '
                                                                       '"high", "evidence": {"v": 1e999}}, ')):
        path = hosts_dir / name
        text = path.read_text(encoding='utf-8')
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding='utf-8')
    return src


def _files(dest):
    return dict((name, (dest / name).read_bytes()) for name in sorted(os.listdir(str(dest))))


def _run(src, dest, monkeypatch, slim, **kwargs):
    """run_report into ``dest``; ``slim=False``: with whole host documents (the in-memory way)."""
    original = _report.load_host_docs
    missing = _engine.missing_host_doc
    with monkeypatch.context() as patch:
        if not slim:
            patch.setattr(_report, 'load_host_docs', lambda src_, hosts=None, slim=False: original(src_, hosts=hosts))
        patch.setattr(_engine, 'missing_host_doc', lambda host, reason: dict(missing(host, reason),
                                                                             generated_at=GENERATED))
        out = fleet_report.run_report(str(src), dest=str(dest), formats=FORMATS, version='1.2.3',
                                      generated_at=GENERATED, fleet_check=_engine.apply_fleet_findings,
                                      prometheus_file=str(dest / 'node.prom'), **kwargs)
    out['files'] = sorted(out['files'])
    del out['report_dir']
    return out, _files(dest)


CASES = {
    'plain': {},
    'redact-all': {'redact': ['hosts', 'addresses', 'users']},
    'redact-addresses-gate': {'redact': ['addresses'], 'fail_on': 'medium'},
    'hosts-missing-pending': {'hosts': 'play', 'pending': ['later.example.net'], 'fail_on': 'high'},
    'hosts-redact': {'hosts': 'play', 'redact': ['hosts', 'users'], 'fail_on': 'low'},
    'query': {'fail_query': 'hosts[?facts.connreset_tcp.counters.EstabResets >= `0`].host', 'fail_on': 'critical'},
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_slim_records_write_the_same_files(fleet_dir, tmp_path, monkeypatch, case):
    kwargs = dict(CASES[case])
    if kwargs.get('hosts') == 'play':
        kwargs['hosts'] = ['web%02d.example.net' % i for i in range(11, -1, -1)] + [
            'missing.example.net', 'later.example.net']
    (tmp_path / 'whole').mkdir()
    (tmp_path / 'slim').mkdir()
    whole_out, whole = _run(fleet_dir, tmp_path / 'whole', monkeypatch, False, **kwargs)
    slim_out, slim = _run(fleet_dir, tmp_path / 'slim', monkeypatch, True, **kwargs)
    assert sorted(slim) == sorted(whole) == sorted([_report.FILE_NAMES[fmt] for fmt in FORMATS] + ['node.prom'])
    for name in whole:
        assert slim[name] == whole[name], name
    assert slim_out == whole_out
    report = json.loads(slim['report.json'])
    assert len(report['hosts']) >= 12 and report['hosts'][0]['facts']
    errors = [e['file'] for e in slim_out['summary']['errors']]
    assert any(f.endswith('broken.json') for f in errors) == ('hosts' not in kwargs)
    if case == 'query':
        assert len(slim_out['gate']['query']['result']) == 12      # a fact slim records have not: read whole again


def test_slim_records_match_build_report_of_whole_documents(fleet_dir, tmp_path, monkeypatch):
    """Not through run_report twice: the files against build_report/render of the whole documents."""
    _out, files = _run(fleet_dir, tmp_path, monkeypatch, True)
    docs, errors = _report.load_host_docs(str(fleet_dir))
    report = _report.build_report(_engine.apply_fleet_findings(docs), version='1.2.3', generated_at=GENERATED,
                                  errors=errors)
    for fmt in FORMATS:
        assert files[_report.FILE_NAMES[fmt]] == _report.render(report, fmt).encode('utf-8'), fmt


def test_renderers_get_no_whole_facts(fleet_dir, tmp_path, monkeypatch):
    """What the renderers and the fleet check see holds only REPORT_FACT_PARTS of each host's
    facts; report.json still holds all of them."""
    seen = []
    render = _report.render
    chunks = _report.json_chunks

    def spy_render(report, fmt, fail_on='none'):
        seen.append((fmt, report['hosts']))
        return render(report, fmt, fail_on=fail_on)

    def spy_chunks(report):
        seen.append(('json', report['hosts']))
        return chunks(report)

    checked = []

    def fleet(docs):
        checked.extend(docs)
        return _engine.apply_fleet_findings(docs)

    monkeypatch.setattr(_report, 'render', spy_render)
    monkeypatch.setattr(_report, 'json_chunks', spy_chunks)
    fleet_report.run_report(str(fleet_dir), dest=str(tmp_path), formats=FORMATS, generated_at=GENERATED,
                            fleet_check=fleet)
    assert sorted(fmt for fmt, _hosts in seen) == sorted(FORMATS)
    assert checked
    allowed = _report.REPORT_FACT_PARTS
    slim = 0
    for doc in [d for _fmt, hosts in seen for d in hosts] + checked:
        facts = doc['facts']
        if doc['host'] == 'web04.example.net':      # an inf in its facts: kept whole (report.json writes null)
            assert not isinstance(facts, _report.HostFacts) and 'connreset_tcp' in facts
            continue
        assert isinstance(facts, _report.HostFacts), doc['host']
        slim += 1
        assert set(facts) <= set(allowed) and 'connreset_tcp' not in facts and 'connreset_firewall' not in facts
        for fact, value in facts.items():
            assert set(value) <= set(allowed[fact]), (fact, sorted(value))
        assert len(json.dumps(facts)) * 3 < len(facts.text)
    assert slim >= 11 * 6
    whole = json.loads((tmp_path / 'report.json').read_text(encoding='utf-8'))
    assert all('connreset_tcp' in d['facts'] for d in whole['hosts'] if d['reachable'])


def test_slim_facts_round_trip():
    facts = S.facts()
    kept = _report.slim_facts(facts)
    assert isinstance(kept, _report.HostFacts) and _report.full_facts(kept) == facts
    assert kept['connreset_mtu'] == {'interfaces': facts['connreset_mtu']['interfaces']}
    assert kept['connreset_sshd'] == {'events': facts['connreset_sshd']['events']}
    assert 'config' not in kept['connreset_sshd'] and 'connreset_firewall' not in kept
    assert _report.slim_facts(kept) is kept
    doc = {'host': 'h', 'facts': kept, 'score': 1}
    assert _report.full_doc(doc) == dict(doc, facts=facts) and _report.full_doc({'host': 'h'}) == {'host': 'h'}


@pytest.mark.parametrize('facts', [None, [], 'text', {'x': float('inf')}, {'connreset_sshd': 'not a dict'}])
def test_slim_facts_keeps_what_it_cannot_slim(facts):
    kept = _report.slim_facts(facts)
    if isinstance(facts, dict) and 'x' not in facts:
        assert isinstance(kept, _report.HostFacts) and kept == facts    # a fact that is not a dict: as it is
    else:
        assert kept is facts


@pytest.mark.parametrize('extra', [{}, {'evidence': float('nan')}, {'evidence': [float('inf'), 'caf\u00e9 \udcff']}])
def test_host_line_is_compact_json_of_the_whole_document(extra):
    facts = S.facts()
    doc = {'schema_version': 1, 'host': 'h\u00e9', 'facts': facts, 'findings': [dict({'id': 'X'}, **extra)],
           'score': 2.5, 'level': 'low'}
    slim = dict(doc, facts=_report.slim_facts(facts))
    assert _report._host_line(slim) == _report._compact(doc)


def test_json_chunks_join_to_render_json():
    report = _report.build_report([{'host': 'a', 'facts': _report.slim_facts(S.facts())}, {'host': 'b'}],
                                  generated_at=GENERATED)
    chunks = list(_report.json_chunks(report))
    assert len(chunks) == 2 + 2 and ''.join(chunks) == _report.render_json(report)
    empty = _report.build_report([], generated_at=GENERATED)
    assert _report.render_json(empty).endswith('  "hosts": []\n}\n')
    assert json.loads(_report.render_json(empty))['hosts'] == []


def test_write_atomic_writes_chunks(tmp_path):
    path = str(tmp_path / 'out.txt')
    _report.write_atomic(path, iter(['a', 'b\u00e9', '\udcff']))
    assert open(path, 'rb').read() == b'ab\xc3\xa9\\udcff'
