# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report builder, renderers and gates, on synthetic host documents.

The host documents follow the diagnose_host contract (docs/development.md); the log samples in
the evidence are real OpenSSH 9.2p1 / Linux 6.1 lines as they appear in the journal.
"""

from __future__ import annotations

import copy
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _report

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'docs', 'report.schema.json')
GENERATED = '2026-11-22T05:30:00Z'


def finding(fid, cause, severity, title=None, **evidence):
    return {
        'id': fid,
        'title': title or '%s finding %s' % (cause, fid),
        'cause': cause,
        'severity': severity,
        'evidence': evidence or {'samples': []},
        'explanation': 'Why %s matters for connection resets.' % cause,
        'remedy': 'Do the thing for %s.' % cause,
        'fix': None,
    }


def host_doc(host, score, level, findings=(), reachable=True, unreachable=None, probe='ok'):
    return {
        'schema_version': 1,
        'host': host,
        'generated_at': '2026-11-22T05:29:58Z',
        'reachable': reachable,
        'unreachable': unreachable,
        'facts': {'connreset_sshd': {'status': 'ok', 'reason': None, 'elapsed_s': 0.1}} if reachable else {},
        'probe': {'host': host, 'port': 22, 'attempts': [], 'summary': {'classification': probe}} if probe else None,
        'findings': list(findings),
        'score': score,
        'level': level,
    }


MAXSTARTUPS = finding('CRD-SSHD-002', 'sshd_rate_limit', 'high', 'sshd drops connections past MaxStartups',
                      samples=['sshd[812]: drop connection #10 from [203.0.113.7]:50122 on [10.0.0.5]:22 past MaxStartups'])
OOM = finding('CRD-OOM-001', 'resource_exhaustion', 'critical', 'sshd was killed by the OOM killer',
              samples=['Out of memory: Killed process 812 (sshd) total-vm:15292kB, anon-rss:1024kB'])
WRAP = finding('CRD-WRAP-001', 'tcp_wrappers', 'medium', 'hosts.deny refuses sshd clients')
KEEPALIVE = finding('CRD-TCP-004', 'idle_timeout', 'low', 'Keepalive longer than the NAT idle timeout')
COVERAGE = finding('CRD-COV-001', 'coverage', 'info', 'Journal not readable')


def fleet_docs():
    return copy.deepcopy([
        host_doc('web1', 55, 'high', [MAXSTARTUPS, KEEPALIVE]),
        host_doc('db1', 90, 'critical', [OOM, WRAP, COVERAGE]),
        host_doc('ok1', 0, 'ok', []),
        host_doc('gone1', 0, 'unknown', [], reachable=False,
                 unreachable={'msg': 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.9 '
                                     'port 22: Connection refused', 'classification': 'refused'},
                 probe='refused'),
    ])


@pytest.fixture(scope='module')
def schema():
    jsonschema = pytest.importorskip('jsonschema')
    with open(SCHEMA_PATH, encoding='utf-8') as handle:
        data = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


def test_build_report_summary_and_order():
    report = _report.build_report(fleet_docs(), version='1.0.0', generated_at=GENERATED)
    assert [h['host'] for h in report['hosts']] == ['db1', 'web1', 'gone1', 'ok1']
    summary = report['summary']
    assert summary['hosts'] == 4 and summary['reachable'] == 3 and summary['unreachable'] == 1
    assert summary['by_level'] == {'critical': 1, 'high': 1, 'ok': 1, 'unknown': 1}
    assert list(summary['by_level']) == ['critical', 'high', 'ok', 'unknown']
    assert summary['by_cause'] == {'coverage': 1, 'idle_timeout': 1, 'resource_exhaustion': 1,
                                   'sshd_rate_limit': 1, 'tcp_wrappers': 1}
    assert [t['id'] for t in summary['top_findings']] == ['CRD-OOM-001', 'CRD-SSHD-002', 'CRD-WRAP-001',
                                                          'CRD-TCP-004', 'CRD-COV-001']
    assert summary['top_findings'][0]['example_hosts'] == ['db1']
    assert report['tool'] == {'name': 'connreset.doctor', 'version': '1.0.0'}


def test_top_findings_counts_hosts_once_and_caps():
    docs = [host_doc('h%02d' % i, 40, 'high', [MAXSTARTUPS, MAXSTARTUPS]) for i in range(12)]
    docs += [host_doc('x%d' % i, 10, 'low', [finding('CRD-X-%03d' % i, 'configuration', 'low')]) for i in range(15)]
    top = _report.build_report(docs, generated_at=GENERATED)['summary']['top_findings']
    assert len(top) == _report.TOP_FINDINGS
    assert top[0]['id'] == 'CRD-SSHD-002' and top[0]['hosts'] == 12 and len(top[0]['example_hosts']) == 5


def test_level_raised_by_worst_finding_and_fleet_merge():
    docs = [host_doc('a', 10, 'low', [KEEPALIVE]), host_doc('b', 10, 'ok', [])]
    mtu = finding('CRD-MTU-003', 'mtu', 'high', 'MTU differs from the other hosts on 10.0.0.0/24',
                  subnet='10.0.0.0/24', mtu={'a': 9001, 'b': 1500})
    report = _report.build_report(docs, fleet={'a': [mtu], 'b': [mtu], 'unknown-host': [mtu]}, generated_at=GENERATED)
    by_host = {h['host']: h for h in report['hosts']}
    assert by_host['a']['level'] == 'high' and by_host['b']['level'] == 'high'
    assert by_host['b']['findings'][-1]['scope'] == 'fleet'
    assert report['summary']['by_cause']['mtu'] == 2
    # merging twice (re-run of the report step on merged docs) does not duplicate
    again = _report.merge_fleet_findings(report['hosts'], {'a': [mtu]})
    assert sum(1 for f in again[0]['findings'] if f['id'] == 'CRD-MTU-003') == 1


def test_zero_hosts(schema):
    report = _report.build_report([], generated_at=GENERATED)
    schema.validate(report)
    assert report['summary']['hosts'] == 0 and report['hosts'] == []
    assert 'No host documents' in _report.render_markdown(report)
    root = ET.fromstring(_report.render_junit(report).encode())
    assert root.get('tests') == '0'
    assert _report.render_prometheus(report).startswith('# HELP connreset_host_score')
    assert _report.evaluate_gates(report, 'info')['failed'] is False
    assert 'connreset.doctor: 0 host(s)' in _report.console_summary(report)[0]


def test_schema_validates_sample_reports(schema):
    report = _report.build_report(fleet_docs(), version='1.0.0', generated_at=GENERATED,
                                  errors=[{'file': '/x/hosts/bad.json', 'reason': 'Expecting value: line 1 column 1'}])
    schema.validate(json.loads(_report.render_json(report)))


@pytest.mark.parametrize('mutate, path', [
    (lambda r: r['hosts'][0]['findings'][0].update(severity='severe'), 'severity'),
    (lambda r: r['hosts'][0].update(score=101), 'score'),
    (lambda r: r['summary'].pop('by_cause'), 'by_cause'),
    (lambda r: r.update(schema_version=2), 'schema_version'),
    (lambda r: r['hosts'][0]['findings'][0].update(id='SSHD 2'), 'id'),
])
def test_schema_rejects_broken_reports(schema, mutate, path):
    report = _report.build_report(fleet_docs(), generated_at=GENERATED)
    mutate(report)
    errors = list(schema.iter_errors(report))
    assert errors, 'schema accepted a report with a broken %s' % path


def test_markdown_has_table_findings_evidence_and_remedy():
    text = _report.render_markdown(_report.build_report(fleet_docs(), generated_at=GENERATED))
    table = [line for line in text.splitlines() if line.startswith('| ') and 'Host' not in line and '---' not in line]
    rows = [line for line in table if line.split('|')[1].strip() in ('db1', 'web1', 'gone1', 'ok1')]
    assert [r.split('|')[1].strip() for r in rows] == ['db1', 'web1', 'gone1', 'ok1']
    assert '#### [critical] CRD-OOM-001: sshd was killed by the OOM killer' in text
    assert '- Remedy: Do the thing for resource_exhaustion.' in text
    assert 'Out of memory: Killed process 812 (sshd)' in text
    assert '- Unreachable (refused): Failed to connect' in text


def test_markdown_escapes_pipes():
    doc = host_doc('h|1', 5, 'low', [finding('CRD-X-001', 'configuration', 'low', 'a | b')])
    text = _report.render_markdown(_report.build_report([doc], generated_at=GENERATED))
    assert '| h\\|1 |' in text


@pytest.mark.parametrize('fail_on, failing', [
    ('none', {'db1', 'web1'}),      # junit default level: high
    ('critical', {'db1'}),
    ('medium', {'db1', 'web1'}),
    ('info', {'db1', 'web1'}),
])
def test_junit_well_formed(fail_on, failing):
    report = _report.build_report(fleet_docs(), generated_at=GENERATED)
    root = ET.fromstring(_report.render_junit(report, fail_on).encode())
    suite = root.find('testsuite')
    cases = {c.get('name'): c for c in suite.findall('testcase')}
    assert set(cases) == {'db1', 'web1', 'gone1', 'ok1'}
    assert {n for n, c in cases.items() if c.find('failure') is not None} == failing
    assert suite.get('failures') == str(len(failing)) and suite.get('errors') == '1'
    error = cases['gone1'].find('error')
    assert error.get('type') == 'refused' and 'Connection refused' in error.text
    if fail_on == 'info':
        assert len(cases['db1'].findall('failure')) == 3
    if fail_on == 'critical':
        assert '[medium] CRD-WRAP-001' in cases['db1'].find('system-out').text


def test_prometheus_lines():
    text = _report.render_prometheus(_report.build_report(fleet_docs(), generated_at=GENERATED))
    lines = text.splitlines()
    assert 'connreset_host_score{host="db1"} 90' in lines
    assert 'connreset_host_reachable{host="gone1"} 0' in lines
    assert 'connreset_findings{host="db1",cause="resource_exhaustion",severity="critical"} 1' in lines
    assert 'connreset_report_timestamp_seconds 1795325400' in lines
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+]+$')
    metrics = set()
    for line in lines:
        if line.startswith('# TYPE '):
            metrics.add(line.split()[2])
        elif not line.startswith('# HELP '):
            assert sample.match(line), line
            assert line.split('{')[0].split(' ')[0] in metrics, 'sample before its TYPE line: %s' % line


def test_prometheus_escapes_labels():
    doc = host_doc('we"ird\\host', 1, 'low', [finding('CRD-X-001', 'configuration', 'low')])
    text = _report.render_prometheus(_report.build_report([doc], generated_at=GENERATED))
    assert 'connreset_host_score{host="we\\"ird\\\\host"} 1' in text


@pytest.mark.parametrize('fail_on, expected', [
    ('none', []),
    ('critical', [('db1', 'CRD-OOM-001'), ('gone1', 'unreachable')]),
    ('high', [('db1', 'CRD-OOM-001'), ('web1', 'CRD-SSHD-002'), ('gone1', 'unreachable')]),
    ('info', [('db1', 'CRD-OOM-001'), ('db1', 'CRD-WRAP-001'), ('db1', 'CRD-COV-001'), ('web1', 'CRD-SSHD-002'),
              ('web1', 'CRD-TCP-004'), ('gone1', 'unreachable')]),
])
def test_gate_level(fail_on, expected):
    report = _report.build_report(fleet_docs(), generated_at=GENERATED)
    gates = _report.evaluate_gates(report, fail_on=fail_on)
    assert [(m['host'], m['id']) for m in gates['level']['matched']] == expected
    assert gates['failed'] is bool(expected)
    if expected:
        assert 'db1: critical CRD-OOM-001' in gates['msg'] or fail_on == 'none'


def test_gate_level_passes_healthy_fleet():
    report = _report.build_report([host_doc('ok1', 0, 'ok'), host_doc('a', 5, 'low', [KEEPALIVE])],
                                  generated_at=GENERATED)
    assert _report.evaluate_gates(report, fail_on='medium') == {
        'failed': False, 'level': {'fail_on': 'medium', 'matched': []},
        'query': {'expression': None, 'result': None}, 'msg': 'no gate matched'}


@pytest.mark.parametrize('query, failed, result', [
    ('hosts[?score > `60`].host', True, ['db1']),
    ('hosts[?score > `95`].host', False, None),
    ('length(hosts[?score > `95`])', False, None),
    ('length(hosts[?reachable == `false`])', True, 1),
    ("hosts[].findings[?cause=='tcp_wrappers'][].id", True, ['CRD-WRAP-001']),
    ('summary.unreachable > `0`', True, True),
    ('summary.by_level.critical', True, 1),
    ('summary.by_level.medium', False, None),
])
def test_gate_query(query, failed, result):
    pytest.importorskip('jmespath')
    report = _report.build_report(fleet_docs(), generated_at=GENERATED)
    gates = _report.evaluate_gates(report, fail_query=query)
    assert gates['failed'] is failed
    assert gates['query']['result'] == result
    if failed:
        assert query in gates['msg']


@pytest.mark.parametrize('kwargs, message', [
    ({'fail_query': 'hosts[?score >'}, 'not a valid JMESPath expression'),
    ({'fail_on': 'severe'}, 'fail_on must be one of none, info, low, medium, high, critical'),
])
def test_gate_errors(kwargs, message):
    pytest.importorskip('jmespath')
    report = _report.build_report(fleet_docs(), generated_at=GENERATED)
    with pytest.raises(_report.ReportError, match=message):
        _report.evaluate_gates(report, **kwargs)


def test_html_is_self_contained_and_embeds_slim_data():
    page = _report.render_html(_report.build_report(fleet_docs(), generated_at=GENERATED))
    assert page.startswith('<!DOCTYPE html>')
    assert not re.search(r'<(script|link|img)[^>]+(src|href)=', page), 'external asset referenced'
    assert 'http://' not in page and 'https://' not in page
    raw = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(raw)
    assert [h['host'] for h in data['hosts']] == ['db1', 'web1', 'gone1', 'ok1']
    assert 'facts' not in data['hosts'][0]
    assert data['hosts'][0]['findings'][0]['id'] == 'CRD-OOM-001'


def test_html_escapes_script_breakout():
    doc = host_doc('</script><script>alert(1)</script>', 5, 'low', [KEEPALIVE])
    page = _report.render_html(_report.build_report([doc], generated_at=GENERATED))
    assert page.count('</script>') == 2  # the data block and the code block, nothing injected
    raw = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(raw)['hosts'][0]['host'] == '</script><script>alert(1)</script>'


def test_console_summary_table():
    report = _report.build_report(fleet_docs(), generated_at=GENERATED)
    lines = _report.console_summary(report, _report.evaluate_gates(report, 'critical'))
    assert lines[0] == 'connreset.doctor: 4 host(s), 3 reachable, 1 unreachable; levels: critical 1, high 1, ok 1, unknown 1'
    assert lines[1].split() == ['HOST', 'LEVEL', 'SCORE', 'CAUSE', 'TOP', 'FINDING']
    assert lines[2].split()[:5] == ['db1', 'critical', '90', 'resource_exhaustion', 'CRD-OOM-001']
    assert lines[4].split()[:6] == ['gone1', 'unknown', '0', '-', 'unreachable:', 'refused']
    assert lines[-1].startswith('gate: FAILED: fail_on=critical matched 2 item(s)')


def test_console_summary_truncates_large_fleets():
    docs = [host_doc('h%04d' % i, i % 100, 'low', [KEEPALIVE]) for i in range(1000)]
    lines = _report.console_summary(_report.build_report(docs, generated_at=GENERATED))
    assert len(lines) == 2 + _report.CONSOLE_ROWS + 1
    assert lines[-1].startswith('... and 975 more host(s)')


def test_load_host_docs_reports_bad_files(tmp_path):
    hosts = tmp_path / 'hosts'
    hosts.mkdir()
    (hosts / 'a.json').write_text(json.dumps(host_doc('a', 1, 'low')))
    (hosts / 'broken.json').write_text('{"host": "b", ')
    (hosts / 'list.json').write_text('[]')
    (hosts / '.a.json.123.tmp').write_text('partial')
    (hosts / 'notes.txt').write_text('x')
    docs, errors = _report.load_host_docs(str(tmp_path))
    assert [d['host'] for d in docs] == ['a']
    assert sorted(os.path.basename(e['file']) for e in errors) == ['broken.json', 'list.json']


def test_load_host_docs_missing_dir(tmp_path):
    with pytest.raises(_report.ReportError, match='run the diagnose role'):
        _report.load_host_docs(str(tmp_path / 'nope'))


@pytest.mark.parametrize('host, name', [
    ('web1.example.com', 'web1.example.com.json'),
    ('10.0.0.5', '10.0.0.5.json'),
    ('../etc/passwd', '.._etc_passwd.json'),
    ('..', '_...json'),
    ('host with space', 'host_with_space.json'),
])
def test_host_file_name(host, name):
    assert _report.host_file_name(host) == name


def test_write_atomic_replaces_and_cleans_up(tmp_path):
    path = tmp_path / 'sub' / 'report.prom'
    _report.write_atomic(str(path), 'one\n')
    _report.write_atomic(str(path), 'two\n')
    assert path.read_text() == 'two\n'
    assert os.listdir(str(path.parent)) == ['report.prom']
    assert oct(path.stat().st_mode & 0o777) == '0o644'


def test_write_atomic_leaves_no_temp_on_error(tmp_path):
    with pytest.raises(TypeError):
        _report.write_atomic(str(tmp_path / 'x.json'), object())
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('fmt', ['json', 'md', 'html', 'junit', 'prom'])
def test_render_every_format(fmt):
    text = _report.render(_report.build_report(fleet_docs(), generated_at=GENERATED), fmt)
    assert 'db1' in text


def test_render_unknown_format():
    with pytest.raises(_report.ReportError, match='unknown report format'):
        _report.render(_report.build_report([], generated_at=GENERATED), 'pdf')


# --- with the real engine: its documents are what the report merges --------------------------

def _mtu_facts(mtu):
    return {'connreset_mtu': {'status': 'ok', 'reason': None, 'elapsed_s': 0.01, 'interfaces': [
        {'name': 'eth0', 'mtu': mtu, 'state': 'UP', 'kind': None,
         'addresses': [{'address': '10.0.0.%d' % (mtu % 200), 'prefixlen': 24, 'family': 'inet',
                        'network': '10.0.0.0/24'}]}]}}


def test_engine_documents_validate_and_merge(schema):
    from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine

    docs = [
        _engine.diagnose_host({'host': 'a', 'facts': _mtu_facts(1500), 'probe': None, 'unreachable': None}),
        _engine.diagnose_host({'host': 'b', 'facts': _mtu_facts(1500), 'probe': None, 'unreachable': None}),
        _engine.diagnose_host({'host': 'c', 'facts': _mtu_facts(9001), 'probe': None, 'unreachable': None}),
        _engine.diagnose_host({'host': 'gone', 'facts': {}, 'probe': None, 'unreachable': {
            'msg': 'Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by peer'}}),
    ]
    docs = _engine.apply_fleet_findings(json.loads(json.dumps(docs)))
    report = _report.build_report(docs, version='1.0.0')
    schema.validate(json.loads(_report.render_json(report)))
    by_host = {h['host']: h for h in report['hosts']}
    assert 'CRD-MTU-004' in [f['id'] for f in by_host['c']['findings']]
    assert 'CRD-MTU-004' not in [f['id'] for f in by_host['a']['findings']]
    assert by_host['gone']['reachable'] is False
    assert by_host['gone']['unreachable']['classification'] == 'reset_banner'
    gates = _report.evaluate_gates(report, fail_on='critical')
    assert ('gone', 'CRD-REACH-003') in [(m['host'], m['id']) for m in gates['level']['matched']]
    root = ET.fromstring(_report.render_junit(report).encode())
    assert root.find("testsuite/testcase[@name='gone']/error").get('type') == 'reset_banner'


@pytest.mark.parametrize('docs', [[], fleet_docs()])
def test_render_json_round_trips_one_host_per_line(docs):
    report = _report.build_report(docs, generated_at=GENERATED)
    text = _report.render_json(report)
    assert json.loads(text) == json.loads(json.dumps(report))
    host_lines = [line for line in text.splitlines() if line.startswith('    {"')]
    assert [json.loads(line.rstrip(','))['host'] for line in host_lines] == [d['host'] for d in report['hosts']]


def test_long_evidence_is_cut_in_markdown_and_html_only():
    big = finding('CRD-OOM-002', 'resource_exhaustion', 'medium', samples=['x' * 100] * 40)
    report = _report.build_report([host_doc('a', 12, 'medium', [big])], generated_at=GENERATED)
    assert '(cut; the whole evidence is in report.json)' in _report.render_markdown(report)
    evidence = _report.html_data(report)['hosts'][0]['findings'][0]['evidence']
    assert len(evidence['cut']) < _report.HTML_EVIDENCE_CHARS + 10
    assert json.loads(_report.render_json(report))['hosts'][0]['findings'][0]['evidence'] == big['evidence']


def test_markdown_details_only_the_worst_hosts(monkeypatch):
    monkeypatch.setattr(_report, 'MD_DETAIL_HOSTS', 2)
    text = _report.render_markdown(_report.build_report(fleet_docs(), generated_at=GENERATED))
    assert '### db1' in text and '### web1' in text and '### ok1' not in text
    assert '| ok1 | ok | 0 | 0 |  |' in text
    assert 'the other 2 are in report.html' in text


def test_html_texts_once_per_finding_id():
    docs = [host_doc('h%d' % i, 30, 'high', [copy.deepcopy(MAXSTARTUPS)]) for i in range(3)]
    docs[2]['findings'][0]['remedy'] = 'a host-specific remedy'
    data = _report.html_data(_report.build_report(docs, generated_at=GENERATED))
    assert data['texts']['CRD-SSHD-002']['remedy'] == 'Do the thing for sshd_rate_limit.'
    by_host = {h['host']: h['findings'][0] for h in data['hosts']}
    assert 'remedy' not in by_host['h0'] and 'explanation' not in by_host['h0']
    assert by_host['h2']['remedy'] == 'a host-specific remedy'
