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
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.connreset.doctor.plugins.filter.diagnose import diagnose_host
from ansible_collections.connreset.doctor.plugins.module_utils import _probe
from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine, _report
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import HEALTHY

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
    assert page.count('</script>') == 3  # the data block, the code block and the timeline's, nothing injected
    raw = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(raw)['hosts'][0]['host'] == '</script><script>alert(1)</script>'


def test_console_summary_table():
    report = _report.build_report(fleet_docs(), generated_at=GENERATED)
    lines = _report.console_summary(report, _report.evaluate_gates(report, 'critical'))
    assert lines[0] == 'connreset.doctor: 4 host(s), 3 reachable, 1 unreachable; levels: critical 1, high 1, ok 1, unknown 1'
    assert lines[1] == 'host count not checked against a play: every document in hosts/ was merged'
    assert lines[2].split() == ['HOST', 'LEVEL', 'SCORE', 'CAUSE', 'TOP', 'FINDING']
    assert lines[3].split()[:5] == ['db1', 'critical', '90', 'resource_exhaustion', 'CRD-OOM-001']
    assert lines[5].split()[:6] == ['gone1', 'unknown', '0', '-', 'unreachable:', 'refused']
    assert lines[-1].startswith('gate: FAILED: fail_on=critical matched 2 item(s)')


def _probe_result(address, phase, outcome, error, icmp=None):
    """A probe result as ssh_probe returns it: one attempt (format of module_utils/_probe.py), summarized."""
    timings = dict((p, 0.001 if i <= _probe.PHASES.index(phase) else None) for i, p in enumerate(_probe.PHASES))
    attempt = {'attempt': 1, 'phase': phase, 'outcome': outcome, 'error': error, 'banner': None, 'elapsed_s': 0.002,
               'timings': timings, 'address': address, 'icmp': icmp}
    return {'host': address, 'port': 22, 'attempts': [attempt], 'summary': _probe.summarize([attempt])}


def test_console_cause_is_the_probes_for_unreachable_hosts():
    """README and docs/report.md: the CAUSE column is the cause of the host's top finding; for an
    unreachable host, the one the probe points to. Two hosts whose ssh both said `Connection refused`:
    the probe read an ICMP port unreachable from the first (a ban's REJECT), a TCP reset from the second
    (nothing listens); a third hung in key exchange. Real engine (diagnose_host), real report."""
    refused = 'Failed to connect to the host via ssh: ssh: connect to host %s port 22: Connection refused'
    icmp = {'type': 3, 'code': 3, 'origin': 'icmp', 'offender': '192.0.2.11',
            'text': _probe.icmp_text('icmp', 3, 3)}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'lab_probes.json')) as handle:
        lab = json.load(handle)
    hosts = [
        ('banned', _probe_result('192.0.2.11', 'tcp_connect', 'refused', 'ConnectionRefusedError: [Errno 111] '
                                 'Connection refused (192.0.2.11 port 22; ICMP port unreachable from 192.0.2.11)', icmp),
         refused % '192.0.2.11'),
        ('sshddown', _probe_result('192.0.2.12', 'tcp_connect', 'refused', 'ConnectionRefusedError: [Errno 111] '
                                   'Connection refused (192.0.2.12 port 22)'), refused % '192.0.2.12'),
        ('pmtu', lab['kex_hang_pmtu_blackhole']['probe'], lab['kex_hang_pmtu_blackhole']['unreachable_msg']),
    ]
    docs = [diagnose_host({'host': name, 'facts': None, 'probe': probe, 'thresholds': {}, 'controller': None,
                           'unreachable': {'unreachable': True, 'msg': msg}}) for name, probe, msg in hosts]
    lines = _report.console_summary(_report.build_report(docs, generated_at=GENERATED))
    header = [i for i, line in enumerate(lines) if line.split()[:4] == ['HOST', 'LEVEL', 'SCORE', 'CAUSE']]
    assert header, lines
    rows = dict((line.split()[0], line.split()) for line in lines[header[0] + 1:])
    assert rows['banned'][3:5] == ['firewall', 'CRD-REACH-001']
    assert rows['sshddown'][3:5] == ['sshd_down', 'CRD-REACH-001']
    assert rows['pmtu'][3:5] == ['mtu', 'CRD-REACH-002']  # the catalogue's default cause of REACH-002 is firewall


def test_console_summary_truncates_large_fleets():
    docs = [host_doc('h%04d' % i, i % 100, 'low', [KEEPALIVE]) for i in range(1000)]
    lines = _report.console_summary(_report.build_report(docs, generated_at=GENERATED, expected_hosts=1000))
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


def _sha(name):
    import hashlib
    return hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:16]


@pytest.mark.parametrize('host, name', [
    # plain names keep their file name
    ('web1.example.com', 'web1.example.com.json'),
    ('10.0.0.5', '10.0.0.5.json'),
    ('db_1', 'db_1.json'),
    ('user@host+x', 'user@host+x.json'),
    # anything else: a slug, ~ and 16 hex digits of the SHA-256 of the exact name
    ('db/1', 'db_1~%s.json' % _sha('db/1')),
    ('db 1', 'db_1~%s.json' % _sha('db 1')),
    ('.hidden', 'hidden~%s.json' % _sha('.hidden')),
    ('../etc/passwd', '_etc_passwd~%s.json' % _sha('../etc/passwd')),
    ('..', '_~%s.json' % _sha('..')),
    ('Web1', 'Web1~%s.json' % _sha('Web1')),
    ('host with space', 'host_with_space~%s.json' % _sha('host with space')),
    ('db\x00\n1', 'db__1~%s.json' % _sha('db\x00\n1')),
    ('h\ud800', 'h_~%s.json' % _sha('h\ud800')),
    ('x' * 300, 'x' * 60 + '~%s.json' % _sha('x' * 300)),
])
def test_host_file_name(host, name):
    assert _report.host_file_name(host) == name


# Inventory names that used to share a file or hide it (issue 16, point 4); each pair of names
# that differ in case only must differ in more than case (a case-insensitive file system).
NAMES = ['db/1', 'db_1', 'db 1', '.hidden', 'db\\1', 'DB_1', 'Db_1', 'db_1~0', 'web1.example.com', '..', '.', '-',
         'ünïcödé', '\u202ertl', 'a' * 200, 'a' * 201]


def test_host_file_names_are_unique_safe_and_visible():
    files = [_report.host_file_name(n) for n in NAMES]
    assert len({f.lower() for f in files}) == len(NAMES)
    for name in files:
        assert not name.startswith('.') and '/' not in name and len(name.encode()) <= 255
        assert re.match(r'^[A-Za-z0-9._@+~-]+\.json$', name), name


def test_every_host_gets_its_own_document(tmp_path):
    from ansible_collections.connreset.doctor.plugins.action import fleet_report
    for name in NAMES:
        fleet_report.store_host_doc(str(tmp_path), host_doc(name, 0, 'ok'))
    docs, errors = _report.load_host_docs(str(tmp_path))
    assert sorted(d['host'] for d in docs) == sorted(NAMES) and errors == []
    docs, errors = _report.load_host_docs(str(tmp_path), hosts=NAMES)
    assert [d['host'] for d in docs] == NAMES and errors == []


def test_merge_all_keeps_one_document_per_host(tmp_path):
    """A file an older version wrote (hosts/db_1.json for 'db 1') beside the current one: the
    host is in the report once, the stale file is named in the errors."""
    (tmp_path / 'hosts').mkdir()
    old = dict(host_doc('db 1', 0, 'ok'), generated_at='2026-11-01T00:00:00Z')
    new = dict(host_doc('db 1', 0, 'ok'), generated_at='2026-11-22T00:00:00Z')
    (tmp_path / 'hosts' / 'db_1.json').write_text(json.dumps(old))
    (tmp_path / 'hosts' / _report.host_file_name('db 1')).write_text(json.dumps(new))
    docs, errors = _report.load_host_docs(str(tmp_path))
    assert [d['generated_at'] for d in docs] == ['2026-11-22T00:00:00Z']
    assert [(os.path.basename(e['file']), e['host']) for e in errors] == [('db_1.json', 'db 1')]


def test_listed_host_whose_file_holds_another_host(tmp_path):
    (tmp_path / 'hosts').mkdir()
    (tmp_path / 'hosts' / 'web1.json').write_text(json.dumps(host_doc('web2', 0, 'ok')))
    docs, errors = _report.load_host_docs(str(tmp_path), hosts=['web1'])
    assert docs == [] and errors[0]['host'] == 'web1' and "it holds 'web2'" in errors[0]['reason']


def test_host_file_with_nan_and_infinity_is_read_as_null(tmp_path):
    (tmp_path / 'hosts').mkdir()
    (tmp_path / 'hosts' / 'a.json').write_text(json.dumps(host_doc('a', float('nan'), 'ok', [
        finding('CRD-CT-001', 'conntrack', 'high', fill=float('inf'))])))
    docs, _errors = _report.load_host_docs(str(tmp_path))
    report = _report.build_report(docs, generated_at=GENERATED)
    assert report['hosts'][0]['score'] == 0
    json.loads(_report.render_json(report), parse_constant=lambda c: pytest.fail('non-finite %s in report.json' % c))


def test_write_atomic_replaces_and_cleans_up(tmp_path):
    path = tmp_path / 'sub' / 'report.prom'
    _report.write_atomic(str(path), 'one\n', mode=0o644)
    _report.write_atomic(str(path), 'two\n', mode=0o644)
    assert path.read_text() == 'two\n'
    assert os.listdir(str(path.parent)) == ['report.prom']
    assert oct(path.stat().st_mode & 0o777) == '0o644'


@pytest.fixture
def umask():
    def set_umask(value):
        previous.append(os.umask(value))
    previous = []
    yield set_umask
    for value in reversed(previous):
        os.umask(value)


@pytest.mark.parametrize('mask, mode, file_mode, dir_mode', [
    (0o077, None, 0o600, 0o700),   # the user's umask: it used to be forced to 0644
    (0o022, None, 0o644, 0o755),
    (0o027, None, 0o640, 0o750),
    (0o022, 0o600, 0o600, 0o700),  # diagnose_report_mode: '0600'
    (0o077, 0o640, 0o640, 0o750),
])
def test_write_atomic_mode_follows_umask_or_option(tmp_path, umask, mask, mode, file_mode, dir_mode):
    umask(mask)
    path = tmp_path / 'new' / 'report.json'
    _report.write_atomic(str(path), '{}\n', mode=mode)
    assert oct(path.stat().st_mode & 0o777) == oct(file_mode)
    assert oct(path.parent.stat().st_mode & 0o777) == oct(dir_mode & ~(mask if mode is None else 0))
    assert _report.current_umask() == mask


@pytest.mark.parametrize('value, mode', [(None, None), ('', None), ('0600', 0o600), ('640', 0o640),
                                         (' 0644 ', 0o644), (0o640, 0o640), (416, 0o640)])
def test_parse_mode(value, mode):
    assert _report.parse_mode(value) == mode


@pytest.mark.parametrize('value, message', [
    (640, 'unquoted 640 is the decimal number 640'),
    ('0400', 'must let the owner read and write'),
    ('rw-r-----', 'not a file mode'),
    ('08', 'not a file mode'),
    ('01777', 'not a file mode'),
    (True, 'octal string'),
    (6.4, 'not a file mode'),
])
def test_parse_mode_rejects(value, message):
    with pytest.raises(_report.ReportError, match=message):
        _report.parse_mode(value)


def test_write_atomic_does_not_create_the_prometheus_directory(tmp_path):
    with pytest.raises(_report.ReportError, match='does not exist; create it'):
        _report.write_atomic(str(tmp_path / 'missing' / 'c.prom'), 'x', create_dirs=False)
    assert not (tmp_path / 'missing').exists()


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


# --- hostile values: every output valid for its format (issue 16, point 6) ----------------------
# Host names and messages a careless or hostile inventory or target can produce: control
# characters (a terminal escape, NUL, vertical tab), a lone surrogate, a bidi override, markup.
HOSTILE_NAMES = ['db\x1b[31m1', 'nul\x00host', 'vt\x0bff\x0c', 'h\ud800', '\u202egnp.exe', '<b>x</b>&', 'a|b`c[d](e)',
                 'line\nbreak', '"quoted\\"']
HOSTILE_MSG = 'ssh: connect to host \x07\x1b]0;pwned\x07 port 22: Connection refused\x00\ufffe'


def hostile_report():
    docs = [host_doc(name, 30, 'high', [finding('CRD-SSHD-004', 'sshd_rate_limit', 'high', 'drops ' + name,
                                                samples=[name, HOSTILE_MSG, float('inf')], fill=float('nan'))])
            for name in HOSTILE_NAMES]
    docs.append(host_doc('gone\x01', 0, 'unknown', [], reachable=False,
                         unreachable={'msg': HOSTILE_MSG, 'classification': 'refused\x02'}))
    docs[0]['score'] = float('inf')
    return _report.build_report(docs, generated_at=GENERATED, errors=[{'file': '/r/hosts/x\x00.json', 'reason': 'bad\x1b'}])


def test_junit_is_valid_xml_with_control_characters():
    text = _report.render_junit(hostile_report(), 'high')
    root = ET.fromstring(text.encode('utf-8'))  # raises on any character XML 1.0 does not allow
    names = sorted(c.get('name') for c in root.iter('testcase'))
    assert 'db\\x1b[31m1' in names and 'nul\\x00host' in names and 'h\\ud800' in names
    assert len(names) == len(HOSTILE_NAMES) + 1
    # the strict parser of the standard library (expat) is what CI tools use; also check the text itself
    assert not re.search('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]', text)


def test_json_is_strict_with_inf_and_nan():
    text = _report.render_json(hostile_report())
    data = json.loads(text, parse_constant=lambda c: pytest.fail('non-finite %s in report.json' % c))
    assert data['hosts'][0]['score'] == 100 or data['hosts'][0]['score'] == 30
    evidence = next(h for h in data['hosts'] if h['host'] == HOSTILE_NAMES[1])['findings'][0]['evidence']
    assert evidence['fill'] is None and evidence['samples'][2] is None


def test_html_is_escaped_and_its_data_strict():
    page = _report.render_html(hostile_report())
    raw = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    assert '<' not in raw and '>' not in raw and '&' not in raw
    data = json.loads(raw, parse_constant=lambda c: pytest.fail('non-finite %s in report.html' % c))
    # a lone surrogate is no character: U+FFFD in the page (headless Chromium crashed on it)
    expected = [n.replace('\ud800', '\ufffd') for n in HOSTILE_NAMES + ['gone\x01']]
    assert sorted(h['host'] for h in data['hosts']) == sorted(expected)
    assert not re.search(r'\\ud[89ab][0-9a-f]{2}', raw)
    page.encode('utf-8')  # no lone surrogate reaches the file


def test_markdown_escapes_markup_and_controls():
    text = _report.render_markdown(hostile_report())
    outside_code = re.sub(r'^(`{3,})json$.*?^\1$', '', text, flags=re.M | re.S)
    assert '<b>' not in outside_code and '&lt;b&gt;' not in outside_code
    assert '\x1b' not in text and '\x00' not in text and '\u202e' not in text
    assert r'### db\\x1b\[31m1' in text and r'### \\u202egnp.exe' in text and r'### a\|b\`c\[d\](e)' in text
    assert '### line break' in text
    # every host has its heading, on one line
    assert sum(1 for line in text.splitlines() if line.startswith('### ')) == len(HOSTILE_NAMES) + 1 + 1


def test_markdown_evidence_fence_cannot_be_closed_by_the_evidence():
    doc = host_doc('a', 4, 'low', [finding('CRD-X-001', 'configuration', 'low', samples=['```\n# injected', '````'])])
    text = _report.render_markdown(_report.build_report([doc], generated_at=GENERATED))
    fence = re.search(r'^(`{3,})json$', text, re.M).group(1)
    assert len(fence) >= 5


PROM_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? '
                         r'-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$')


def test_prometheus_text_is_valid_with_hostile_names():
    text = _report.render_prometheus(hostile_report())
    text.encode('utf-8')  # valid UTF-8 (a lone surrogate would raise)
    for line in text.splitlines():  # splitlines: also \x0b, \x1c, \u2028 ... end no sample early
        assert line.startswith('# ') or PROM_SAMPLE.match(line), repr(line)
    assert r'connreset_host_score{host="vt\\x0bff\\x0c"} 30' in text
    assert 'connreset_host_score{host="line\\nbreak"} 30' in text
    assert 'connreset_host_score{host="\\"quoted\\\\\\""} 30' in text


def test_console_summary_has_no_terminal_escapes():
    lines = _report.console_summary(hostile_report())
    assert not any(re.search('[\x00-\x1f\x7f]', line) for line in lines)


# --- nothing checked, hosts without a document: not healthy, gate fails (issue 16, point 7) -----
NONE = finding('CRD-COV-NONE', 'coverage', 'high', 'Nothing was checked on the host')
NO_DOC = finding('CRD-COV-HOST', 'coverage', 'high', 'The host has no stored diagnosis')


@pytest.mark.parametrize('fail_on, matched', [
    ('none', []), ('info', ['CRD-COV-NONE']), ('high', ['CRD-COV-NONE']), ('critical', ['CRD-COV-NONE']),
])
def test_nothing_checked_fails_every_level_gate(fail_on, matched):
    report = _report.build_report([host_doc('empty', 30, 'high', [NONE]), host_doc('ok1', 0, 'ok')],
                                  generated_at=GENERATED, expected_hosts=2)
    gates = _report.evaluate_gates(report, fail_on)
    assert [m['id'] for m in gates['level']['matched']] == matched
    assert report['summary']['nothing_checked'] == 1
    lines = _report.console_summary(report, gates)
    assert lines[1] == 'NOTHING WAS CHECKED on 1 host(s): no collector returned usable facts (CRD-COV-NONE)'


def test_console_summary_says_when_the_count_differs_or_hosts_have_no_document():
    docs = [host_doc('a', 0, 'ok'), dict(host_doc('b', 30, 'high', [NO_DOC]), reachable=False)]
    # (the action adds a CRD-COV-HOST document for b; the summary reads the report's hosts)
    report = _report.build_report(docs, generated_at=GENERATED, expected_hosts=3,
                                  errors=[{'file': '/r/hosts/b.json', 'host': 'b', 'reason': 'no host document'}])
    lines = _report.console_summary(report)
    assert 'HOST COUNT MISMATCH: 3 host(s) in the play, 2 in the report' in lines
    assert 'no stored diagnosis for 1 host(s) of the play (CRD-COV-HOST): b' in lines


# --- windows and skipped lines of the log scans (shown per host when non-zero) ------------------
SCAN = {'status': 'ok', 'reason': None, 'since': '2026-11-15T05:00:00Z',
        'window': {'since': '2026-11-15T05:00:00Z', 'until': '2026-11-22T05:00:00Z', 'basis': 'newest_line'},
        'outside_window': {'maxstartups_drops': 3, 'penalties': 0, 'crashes': 1},
        'skipped_lines': {'count': 2, 'samples': ['2024-13-45T99:00:00 h1 sshd[1]: drop connection #1 ...']}}


@pytest.mark.parametrize('facts, notes', [
    ({'connreset_sshd': {'events': SCAN}},
     ['sshd log: 4 matching line(s) outside the window 2026-11-15T05:00:00Z..2026-11-22T05:00:00Z '
      '(crashes 1, maxstartups_drops 3)',
      "sshd log: 2 unreadable line(s) skipped, e.g. '2024-13-45T99:00:00 h1 sshd[1]: drop connection #1 ...'"]),
    ({'connreset_oom': {'log': dict(SCAN, outside_window={'kills': 2}, skipped_lines={'count': 0, 'samples': []},
                                    window={'since': '2026-11-15T05:00:00Z', 'until': None, 'basis': 'now'})}},
     ['OOM kernel log: 2 matching line(s) outside the window 2026-11-15T05:00:00Z..now (kills 2)']),
    ({'connreset_conntrack': {'table_full_events': {'count': 0, 'outside_window': {'table_full': 7}}}},
     ['conntrack kernel log: 7 matching line(s) outside the window ?..now (table_full 7)']),
    # zero, absent, garbage: nothing shown
    ({'connreset_sshd': {'events': dict(SCAN, outside_window={'maxstartups_drops': 0},
                                        skipped_lines={'count': 0})}}, []),
    ({'connreset_sshd': {'events': {'outside_window': 'lots', 'skipped_lines': {'count': float('nan')}}}}, []),
    ({'connreset_sshd': None}, []),
])
def test_log_notes(facts, notes):
    doc = dict(host_doc('h1', 0, 'ok'), facts=facts)
    assert _report.log_notes(doc) == notes
    report = _report.build_report([doc], generated_at=GENERATED)
    text = _report.render_markdown(report)
    for note in notes:
        assert '- ' + _report._md_escape(note) in text
    assert _report.html_data(report)['hosts'][0]['notes'] == notes


def test_schema_accepts_log_scans_and_new_summary_keys(schema):
    doc = dict(host_doc('h1', 0, 'ok'), facts={'connreset_sshd': {'events': SCAN}})
    report = _report.build_report([doc], generated_at=GENERATED, expected_hosts=1)
    schema.validate(json.loads(_report.render_json(report)))
    report['hosts'][0]['facts']['connreset_sshd']['events']['outside_window']['penalties'] = -1
    assert list(schema.iter_errors(report))


# --- redaction (diagnose_redact) -------------------------------------------------------------
# OpenSSH 9.2p1 auth.c / sshd.c lines with user names, and drop lines with addresses.
INVALID_USER = '2026-11-22T04:58:01.118231+00:00 web1 sshd[4123]: Invalid user deploy bot from 198.51.100.7 port 50122'
FAILED_PW = ('2026-11-22T04:58:02.000000+00:00 web1 sshd[4123]: Failed password for invalid user deploy bot from '
             '198.51.100.7 port 50122 ssh2')
ACCEPTED = 'Nov 22 04:58:03 db1 sshd[77]: Accepted publickey for alice from 2001:db8::7 port 40022 ssh2: ED25519 SHA256:x'


def redaction_docs():
    return [host_doc('web1.example.com', 30, 'high', [finding('CRD-SSHD-004', 'sshd_rate_limit', 'high',
                                                              samples=[INVALID_USER, FAILED_PW, MAXSTARTUPS['evidence']['samples'][0]])]),
            host_doc('db1', 4, 'low', [finding('CRD-X-001', 'configuration', 'low', samples=[ACCEPTED],
                                               controller='198.51.100.7', user='alice')])]


@pytest.mark.parametrize('kinds, gone, kept', [
    (['hosts'], ['web1.example.com', 'web1 ', 'db1'], ['198.51.100.7', 'deploy bot', 'alice']),
    (['addresses'], ['198.51.100.7', '2001:db8::7', '203.0.113.7', '10.0.0.5'], ['web1.example.com', 'alice']),
    (['users'], ['deploy bot', 'alice'], ['web1.example.com', '198.51.100.7']),
    (['hosts', 'addresses', 'users'], ['web1.example.com', 'db1', '198.51.100.7', 'deploy bot', 'alice'], []),
])
def test_redaction(kinds, gone, kept):
    report = _report.build_report(redaction_docs(), generated_at=GENERATED, expected_hosts=2)
    shared = _report.redact_report(report, kinds)
    assert shared['redacted'] == sorted(kinds)
    for fmt in ('json', 'md', 'html', 'junit', 'prom'):
        text = _report.render(shared, fmt)
        if fmt == 'html':
            text = json.loads(re.search(r'id="report-data">(.*?)</script>', text, re.S).group(1).replace(
                '\\u003c', '<').replace('\\u003e', '>').replace('\\u0026', '&')).__repr__()
        for value in gone:
            assert value not in text, (fmt, value)
        for value in kept if fmt == 'json' else ():  # report.json has all the evidence
            assert value in text, (fmt, value)
    # the report itself is unchanged (the gates and the console use the real names)
    assert report['hosts'][0]['host'] == 'web1.example.com'


def test_redaction_pseudonyms_are_stable_so_rows_join(schema):
    shared = _report.redact_report(_report.build_report(redaction_docs(), generated_at=GENERATED),
                                   ['hosts', 'addresses', 'users'])
    schema.validate(json.loads(_report.render_json(shared)))
    web, db = shared['hosts'][0], shared['hosts'][1]
    assert (web['host'], db['host']) == ('host-2', 'host-1')  # numbered in sorted order of the names
    samples = web['findings'][0]['evidence']['samples']
    assert samples[0] == '2026-11-22T04:58:01.118231+00:00 host-2 sshd[4123]: Invalid user user-1 from addr-1 port 50122'
    assert samples[1].endswith('Failed password for invalid user user-1 from addr-1 port 50122 ssh2')
    assert db['findings'][0]['evidence']['controller'] == 'addr-1' and db['findings'][0]['evidence']['user'] == 'user-2'
    assert shared['summary']['top_findings'][0]['example_hosts'] == ['host-2']
    # the catalogue's texts are not host data
    assert web['findings'][0]['title'] == redaction_docs()[0]['findings'][0]['title']


def test_redaction_rejects_unknown_kinds():
    with pytest.raises(_report.ReportError, match='redact: unknown emails; choose from hosts, addresses, users'):
        _report.redact_report(_report.build_report([], generated_at=GENERATED), ['emails'])


# --- property test: hostile facts and names through the engine and every renderer ---------------
# Fixed seed (derandomize), bounded examples: the same inputs on every run. Each example replaces a
# few values of a healthy host's facts (engine_samples.HEALTHY) at random paths with hostile ones
# and names the host with arbitrary text; the host must keep its document and every output must be
# valid for its format.
HOSTILE_VALUES = st.one_of(
    st.sampled_from([float('inf'), float('-inf'), float('nan'), 2 ** 80, -1, 0, True, None, '', 'nan', '1e999',
                     '\x00\x1b[2J', '<script>', [], {}, [None], {'count': float('nan')}, 'x' * 70000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=1500),
    st.dictionaries(st.text(max_size=8), st.one_of(st.floats(), st.text(max_size=8)), max_size=5),
)


def _paths_of(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths_of(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield prefix + (index,)
            yield from _paths_of(value, prefix + (index,))


PATHS = list(_paths_of(HEALTHY))


def _replace(data, path, value):
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@settings(derandomize=True, database=None, max_examples=int(os.environ.get('CONNRESET_FUZZ_EXAMPLES', '60')),
          deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(changes=st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE_VALUES), min_size=1, max_size=4),
       name=st.text(min_size=1, max_size=30),
       probe=st.one_of(st.none(), HOSTILE_VALUES, st.fixed_dictionaries({'summary': st.dictionaries(
           st.sampled_from(['classification', 'phase', 'likely_causes', 'detail', 'counts', 'outcome']),
           st.one_of(HOSTILE_VALUES, st.sampled_from(['kex_hang', 'refused', 'maxstartups', 'probe_error'])))}),
           st.fixed_dictionaries({'attempts': HOSTILE_VALUES, 'summary': st.just({'classification': 'kex_hang'})})))
def test_hostile_facts_and_names_always_give_valid_outputs(changes, name, probe):
    facts = copy.deepcopy(HEALTHY)
    for path, value in changes:
        try:
            _replace(facts, path, copy.deepcopy(value))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change replaced a parent of this path
    doc = _engine.diagnose_host({'host': name, 'facts': facts, 'thresholds': {}, 'probe': probe})
    json.dumps(doc, allow_nan=False)  # the stored document is strict JSON
    assert doc['host'] == name and 0 <= doc['score'] <= 100
    other = dict(copy.deepcopy(HEALTHY))
    other['connreset_mtu']['interfaces'][1]['mtu'] = 9001  # the cross-host MTU check compares the two
    docs = _engine.apply_fleet_findings([doc, _engine.diagnose_host({'host': 'ok1', 'facts': other})])
    report = _report.build_report(docs, generated_at=GENERATED, expected_hosts=2)
    strict = json.loads(_report.render_json(report), parse_constant=lambda c: pytest.fail('non-finite %s' % c))
    assert len(strict['hosts']) == 2
    ET.fromstring(_report.render_junit(report).encode('utf-8'))
    for line in _report.render_prometheus(report).encode('utf-8').decode('utf-8').split('\n')[:-1]:
        assert line.startswith('# ') or PROM_SAMPLE.match(line), repr(line)
    text = _report.render_markdown(report)
    assert not re.search('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]', text)
    headings = sum(1 for line in text.splitlines() if line.startswith('### '))
    assert headings == 2 + bool(report['summary']['top_findings'])  # each host on one line, and Top findings
    page = _report.render_html(report)
    page.encode('utf-8')
    raw = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    assert '<' not in raw
    json.loads(raw, parse_constant=lambda c: pytest.fail('non-finite %s in report.html' % c))
    assert not any(re.search('[\x00-\x1f\x7f]', line) for line in _report.console_summary(report))
