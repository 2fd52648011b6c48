# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hosts' endpoints in the report (issue 13): report.json's hosts[].endpoints, the report.md
and report.html tables, one JUnit testcase per endpoint, gates and redaction over them.

The endpoint entries follow connreset.doctor.endpoint_facts' RETURN (docs/facts.md); the probe
entries tcp_probe's result ({endpoints, summary}); findings carry evidence.endpoints as the
engine's CRD-SVC-* findings do.
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
GENERATED = '2026-12-04T05:30:00Z'

NGINX = {
    'name': 'nginx:443', 'port': 443, 'protocol': 'https', 'front': {'kind': 'aws-alb', 'idle_timeout_s': None},
    'unit': 'nginx.service', 'unit_source': 'socket', 'program': 'nginx', 'status': 'ok', 'reason': None,
    'listening': [{'address': '0.0.0.0', 'port': 443, 'recv_q': 0, 'backlog': 511, 'pids': [812], 'processes': ['nginx']}],
    'listen_source': 'ss',
    'timeouts': {'status': 'ok', 'reason': None, 'program': 'nginx', 'source': 'nginx -T', 'values': [],
                 'idle_close': {'context': 'http', 'default': False, 'file': '/etc/nginx/nginx.conf',
                                'key': 'keepalive_timeout', 'line': 21, 'value_s': 75}},
}
REDIS = {
    'name': 'redis', 'port': 6379, 'protocol': 'tcp', 'front': None, 'unit': 'redis-server.service',
    'unit_source': 'given', 'program': 'redis', 'status': 'partial', 'reason': 'timeouts: Permission denied',
    'listening': [], 'listen_source': 'ss',
    'timeouts': {'status': 'unknown', 'reason': 'Permission denied', 'idle_close': None},
}


def svc(fid, severity, *names, title=None):
    return {'id': fid, 'title': title or 'service finding %s' % fid, 'cause': 'service_down', 'severity': severity,
            'evidence': {'endpoints': dict((n, {'port': 1}) for n in names)}, 'explanation': 'why',
            'remedy': 'what to do', 'fix': None}


def probed(*entries):
    """tcp_probe's {endpoints, summary} for (name, port, classification) entries."""
    endpoints = [{'name': n, 'host': '192.0.2.10', 'port': p, 'protocol': 'tcp', 'attempts': [], 'idle': None,
                  'summary': {'classification': c, 'phase': 'tcp_connect', 'outcome': 'ok', 'intermittent': False,
                              'counts': {}, 'likely_causes': [], 'detail': ''}} for n, p, c in entries]
    return {'endpoints': endpoints, 'summary': {'ok': sum(1 for e in entries if e[2] == 'ok'),
                                                'failed': sum(1 for e in entries if e[2] != 'ok'),
                                                'classifications': dict((e[0], e[2]) for e in entries),
                                                'elapsed_s': 0.1}}


def host(name, endpoints=None, findings=(), endpoint_probe=None, score=10, level='low'):
    facts = {'connreset_sshd': {'status': 'ok', 'reason': None}}
    if endpoints is not None:
        facts['connreset_endpoints'] = {'status': 'ok', 'reason': None, 'elapsed_s': 0.3, 'endpoints': endpoints}
    return {'schema_version': 1, 'host': name, 'generated_at': GENERATED, 'reachable': True, 'unreachable': None,
            'facts': facts, 'probe': None, 'endpoint_probe': endpoint_probe, 'findings': list(findings),
            'score': score, 'level': level}


def report_of(*docs):
    return _report.build_report(copy.deepcopy(list(docs)), generated_at=GENERATED)


@pytest.fixture(scope='module')
def schema():
    jsonschema = pytest.importorskip('jsonschema')
    with open(SCHEMA_PATH, encoding='utf-8') as handle:
        data = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


def test_endpoints_of_a_host_from_facts_probe_and_findings():
    doc = host('web1', [NGINX, REDIS], [svc('CRD-SVC-001', 'high', 'redis'), svc('CRD-SVC-008', 'medium', 'nginx:443')],
               probed(('192.0.2.10:443/https', 443, 'reset_after_request'), ('redis', 6379, 'refused')))
    assert report_of(doc)['hosts'][0]['endpoints'] == [
        {'name': 'nginx:443', 'port': 443, 'protocol': 'https', 'unit': 'nginx.service', 'program': 'nginx',
         'status': 'ok', 'listening': True, 'idle_close_s': 75, 'front_kind': 'aws-alb', 'front_idle_timeout_s': 60,
         'probe': 'reset_after_request', 'findings': ['CRD-SVC-008']},
        {'name': 'redis', 'port': 6379, 'protocol': 'tcp', 'unit': 'redis-server.service', 'program': 'redis',
         'status': 'partial', 'listening': False, 'idle_close_s': None, 'front_kind': None,
         'front_idle_timeout_s': None, 'probe': 'refused', 'findings': ['CRD-SVC-001']},
    ]


@pytest.mark.parametrize('change, key, value', [
    # listening: a non-empty list / [] / not read
    ({'listening': [{'port': 443}]}, 'listening', True),
    ({'listening': []}, 'listening', False),
    ({'listening': None}, 'listening', None),
    ({'listening': 'ss failed'}, 'listening', None),
    # the server's idle close
    ({'timeouts': {'idle_close': {'value_s': 60.5}}}, 'idle_close_s', 60.5),
    ({'timeouts': {'idle_close': {'value_s': None}}}, 'idle_close_s', None),     # Redis timeout 0: none at all
    ({'timeouts': {'idle_close': None}}, 'idle_close_s', None),
    ({'timeouts': None}, 'idle_close_s', None),
    ({'timeouts': {'idle_close': {'value_s': '75s'}}}, 'idle_close_s', None),
    ({'timeouts': {'idle_close': {'value_s': True}}}, 'idle_close_s', None),
    ({'timeouts': {'idle_close': {'value_s': float('inf')}}}, 'idle_close_s', None),
    # the front: as given, else the kind's preset (aws-alb 60 s), none for kind none or an unknown kind
    ({'front': {'kind': 'haproxy', 'idle_timeout_s': 50}}, 'front_kind', 'haproxy'),
    ({'front': {'kind': 'haproxy', 'idle_timeout_s': 50}}, 'front_idle_timeout_s', 50),
    ({'front': {'kind': 'aws-alb', 'idle_timeout_s': None}}, 'front_idle_timeout_s', 60),
    ({'front': {'kind': 'none', 'idle_timeout_s': None}}, 'front_idle_timeout_s', None),
    ({'front': {'kind': 'haproxy', 'idle_timeout_s': None}}, 'front_idle_timeout_s', None),   # no HAProxy on the host
    ({'front': {'kind': 'haproxy', 'idle_timeout_s': 'x'}}, 'front_idle_timeout_s', None),
    ({'front': None}, 'front_kind', None),
    ({'front': 'aws-alb'}, 'front_kind', None),
    # wrong types are null, never an error
    ({'port': '443'}, 'port', None),
    ({'port': True}, 'port', None),
    ({'port': 70000}, 'port', None),
    ({'unit': 7}, 'unit', None),
    ({'name': None}, 'name', None),
    ({'status': 'unknown'}, 'status', 'unknown'),
    ({'program': 'x' * 1000}, 'program', 'x' * _report.ENDPOINT_TEXT_CHARS),
])
def test_endpoint_values(change, key, value):
    entry = dict(NGINX, **change)
    assert report_of(host('web1', [entry]))['hosts'][0]['endpoints'][0][key] == value


# The lab's keepalive-mismatch host: gunicorn behind the same host's HAProxy (front kind haproxy, no value
# given): the report shows the HAProxy's "timeout server" the engine judged the app against, in json and md.
HAPROXY = {'name': 'proxy', 'port': 8080, 'protocol': 'http', 'front': None, 'unit': 'haproxy.service',
           'program': 'haproxy', 'status': 'ok', 'listening': [{'port': 8080}],
           'timeouts': {'status': 'ok', 'idle_close': {'key': 'timeout http-keep-alive', 'value_s': 60},
                        'values': [{'key': 'timeout server', 'value_s': 60, 'file': '/etc/haproxy/haproxy.cfg',
                                    'line': 10}]}}


def test_a_same_host_proxy_is_the_front_idle_timeout():
    app = dict(NGINX, name='app', port=8000, program='gunicorn', front={'kind': 'haproxy', 'idle_timeout_s': None},
               timeouts={'status': 'ok', 'idle_close': {'key': 'keepalive', 'value_s': 1.0}})
    rows = report_of(host('mismatch', [app, HAPROXY]))['hosts'][0]['endpoints']
    assert [(r['name'], r['front_kind'], r['front_idle_timeout_s']) for r in rows] == [
        ('app', 'haproxy', 60), ('proxy', None, None)]


@pytest.mark.parametrize('endpoint_probe, probe', [
    (probed(('nginx', 443, 'ok')), 'ok'),
    # matched by port: the probe names an endpoint without a given name <host>:<port>/<protocol>
    (probed(('192.0.2.10:443/https', 443, 'tls_alert')), 'tls_alert'),
    (probed(('a', 80, 'ok'), ('b', 443, 'probe_error')), 'probe_error'),
    (probed(('nginx', 8443, 'ok')), None),       # another port
    (None, None),                                # not probed
    ({'endpoints': 'x'}, None),
    ({'endpoints': [None, {'port': '443', 'summary': {'classification': 'ok'}}]}, None),
    ({'endpoints': [{'port': 443, 'summary': None}]}, None),
])
def test_endpoint_probe_is_the_entry_with_the_same_port(endpoint_probe, probe):
    doc = host('web1', [NGINX], endpoint_probe=endpoint_probe)
    assert report_of(doc)['hosts'][0]['endpoints'][0]['probe'] == probe


@pytest.mark.parametrize('findings, ids', [
    ([svc('CRD-SVC-003', 'high', 'nginx:443')], ['CRD-SVC-003']),
    ([svc('CRD-SVC-003', 'high', 'nginx:443', 'redis'), svc('CRD-SVC-005', 'low', 'nginx:443')],
     ['CRD-SVC-003', 'CRD-SVC-005']),
    # one id twice (two findings of one kind): once
    ([svc('CRD-SVC-003', 'high', 'nginx:443'), svc('CRD-SVC-003', 'medium', 'nginx:443')], ['CRD-SVC-003']),
    # another endpoint's, or not a dict keyed by name
    ([svc('CRD-SVC-003', 'high', 'redis')], []),
    ([dict(svc('CRD-SVC-003', 'high'), evidence={'endpoints': ['nginx:443']})], []),
    ([dict(svc('CRD-SVC-003', 'high'), evidence={'endpoint': 'nginx:443'})], []),
    ([dict(svc('CRD-SVC-003', 'high'), evidence=None)], []),
    ([{'id': 'CRD-SSHD-002', 'title': 't', 'cause': 'sshd_rate_limit', 'severity': 'high', 'evidence': {}}], []),
])
def test_endpoint_findings_are_those_whose_evidence_names_it(findings, ids):
    assert report_of(host('web1', [NGINX], findings))['hosts'][0]['endpoints'][0]['findings'] == ids


@pytest.mark.parametrize('facts_endpoints', [None, 'nope', {'nginx': NGINX}])
def test_host_without_the_fact_has_no_endpoints(facts_endpoints):
    doc = host('web1', facts_endpoints)
    if facts_endpoints is None:
        assert 'connreset_endpoints' not in doc['facts']
    assert report_of(doc)['hosts'][0]['endpoints'] == []


def test_endpoints_are_bounded_per_host():
    many = [dict(NGINX, name='svc%03d' % i, port=1000 + i) for i in range(100)] + ['not a dict']
    report = report_of(host('web1', ['not a dict'] + many))
    endpoints = report['hosts'][0]['endpoints']
    assert len(endpoints) == _report.MAX_HOST_ENDPOINTS and endpoints[0]['name'] == 'svc000'
    root = ET.fromstring(_report.render_junit(report).encode())
    assert len(root.findall('.//testcase[@classname="connreset.doctor.endpoints"]')) == _report.MAX_HOST_ENDPOINTS


def test_schema_validates_and_rejects(schema):
    report = report_of(host('web1', [NGINX, REDIS], [svc('CRD-SVC-001', 'high', 'redis')],
                            probed(('nginx', 443, 'ok'))), host('db1'))
    schema.validate(json.loads(_report.render_json(report)))
    assert report['hosts'][1]['endpoints'] == []
    broken = copy.deepcopy(report)
    broken['hosts'][0]['endpoints'][0]['extra'] = 1
    assert list(schema.iter_errors(broken))
    broken = copy.deepcopy(report)
    broken['hosts'][0]['endpoints'][0]['listening'] = 'yes'
    assert list(schema.iter_errors(broken))


@pytest.mark.parametrize('query, result', [
    ("hosts[].endpoints[?probe != 'ok' && probe != null][].name", ['redis']),
    ('hosts[].endpoints[?listening == `false`][].name', ['redis']),
    ("hosts[].endpoints[?contains(findings, 'CRD-SVC-001')][].name", ['redis']),
    ("length(hosts[].endpoints[])", 3),
])
def test_fail_query_over_endpoints(query, result):
    report = report_of(host('web1', [NGINX, REDIS], endpoint_probe=probed(('n', 443, 'ok'), ('redis', 6379, 'refused')),
                            findings=[svc('CRD-SVC-001', 'high', 'redis')]),
                       host('web2', [dict(NGINX, listening=None)]), host('db1'))
    assert _report.gate_query(report, query) == result
    gates = _report.evaluate_gates(report, fail_query=query)
    assert gates['failed'] is True


def test_fail_query_passes_when_every_endpoint_probe_is_ok():
    report = report_of(host('web1', [NGINX], endpoint_probe=probed(('n', 443, 'ok'))), host('web2', [REDIS]))
    assert _report.evaluate_gates(report, fail_query="hosts[].endpoints[?probe != 'ok' && probe != null][].name")[
        'failed'] is False


def test_markdown_endpoints_table_only_for_hosts_with_endpoints():
    report = report_of(host('web1', [NGINX, REDIS], [svc('CRD-SVC-001', 'high', 'redis')],
                            probed(('n', 443, 'ok'))), host('db1'), host('empty1', []))
    text = _report.render_markdown(report)
    sections = dict((part.split('\n', 1)[0], part) for part in text.split('\n### ')[1:])
    assert '| Endpoint | Port | Protocol |' in sections['web1']
    assert '| nginx:443 | 443 | https | nginx.service | nginx | ok | yes | 75 | aws-alb | 60 | ok | - |' in sections['web1']
    assert '| redis | 6379 | tcp | redis-server.service | redis | partial | no | - | - | - | - | CRD-SVC-001 |' in \
        sections['web1']
    assert '- Endpoints: 2' in sections['web1']
    for other in ('db1', 'empty1'):
        assert 'Endpoint' not in sections[other]


HOSTILE = 'a|b`c` <img src=x onerror=alert(1)> [x](http://e)\n# heading\x1b[31m\u202e'


def test_markdown_endpoints_are_escaped():
    text = _report.render_markdown(report_of(host('web1', [dict(NGINX, name=HOSTILE, unit=HOSTILE)])))
    row = next(line for line in text.splitlines() if line.startswith('| a'))
    assert row.count(' | ') == len(_report.ENDPOINT_COLUMNS) - 1      # no cell made by the name
    assert not re.search(r'(?<!\\)<img', text) and '[x](' not in text      # no tag, no link
    assert '\x1b' not in text and '\u202e' not in text and '\n# heading' not in text
    assert '\\<img' in row and '\\[x\\](' in row and '\\x1b' in row and '\\u202e' in row


def test_html_embeds_endpoints_as_data_and_escapes_them():
    report = report_of(host('web1', [dict(NGINX, name='</script><script>alert(1)</script>'), REDIS]))
    page = _report.render_html(report)
    assert '</script><script>alert(1)' not in page
    data = _report.html_data(report)
    assert data['endpoint_columns'] == list(_report.ENDPOINT_COLUMNS)
    assert [e['name'] for e in data['hosts'][0]['endpoints']] == ['</script><script>alert(1)</script>', 'redis']
    assert 'endpointCells(e)' in page and "el('td', null, v)" in page   # set as text, never as markup
    start = page.index('id="report-data">') + len('id="report-data">')
    embedded = json.loads(page[start:page.index('</script>', start)])
    assert embedded['hosts'][0]['endpoints'][1]['listening'] is False


@pytest.mark.parametrize('findings, endpoint_probe, failures', [
    ([], None, []),                                              # nothing against it, not probed
    ([], probed(('n', 443, 'ok')), []),
    ([svc('CRD-SVC-006', 'low', 'nginx:443')], probed(('n', 443, 'ok')), []),         # low: not above low
    ([svc('CRD-SVC-006', 'info', 'nginx:443')], None, []),
    ([svc('CRD-SVC-008', 'medium', 'nginx:443')], None, ['CRD-SVC-008']),
    ([svc('CRD-SVC-001', 'critical', 'nginx:443')], None, ['CRD-SVC-001']),
    ([svc('CRD-SVC-001', 'critical', 'redis')], None, []),                              # another endpoint's
    ([], probed(('n', 443, 'refused')), ['refused']),
    ([], probed(('n', 443, 'probe_error')), ['probe_error']),
    ([svc('CRD-SVC-008', 'high', 'nginx:443')], probed(('n', 443, 'reset_after_request')),
     ['CRD-SVC-008', 'reset_after_request']),
])
def test_junit_one_testcase_per_endpoint(findings, endpoint_probe, failures):
    report = report_of(host('web1', [NGINX], findings, endpoint_probe), host('db1'))
    root = ET.fromstring(_report.render_junit(report).encode())
    cases = root.findall('.//testcase[@classname="connreset.doctor.endpoints"]')
    assert [c.get('name') for c in cases] == ['web1 nginx:443']
    assert [f.get('type') for f in cases[0].findall('failure')] == failures
    assert 'port 443; protocol https' in cases[0].find('system-out').text
    suite = root.find('testsuite')
    assert suite.get('tests') == root.get('tests') == '3'      # two hosts, one endpoint
    host_failures = sum(1 for c in root.iter('testcase') if c.get('classname').endswith('.hosts') and c.find('failure') is not None)
    assert suite.get('failures') == str(host_failures + (1 if failures else 0))


def test_junit_endpoint_failure_carries_its_own_evidence():
    finding = svc('CRD-SVC-003', 'high', 'nginx:443', 'redis')
    finding['evidence']['endpoints'] = {'nginx:443': {'restarts': 12}, 'redis': {'restarts': 1}}
    root = ET.fromstring(_report.render_junit(report_of(host('web1', [NGINX, REDIS], [finding]))).encode())
    by_name = dict((c.get('name'), c) for c in root.findall('.//testcase[@classname="connreset.doctor.endpoints"]'))
    assert 'evidence: {"restarts": 12}' in by_name['web1 nginx:443'].find('failure').text
    assert 'evidence: {"restarts": 1}' in by_name['web1 redis'].find('failure').text


def test_junit_endpoints_with_control_characters_are_valid_xml():
    text = _report.render_junit(report_of(host('web\x01', [dict(NGINX, name='n\x00\x1b\ud800')])))
    root = ET.fromstring(text.encode('utf-8', 'surrogatepass'))
    names = [c.get('name') for c in root.findall('.//testcase[@classname="connreset.doctor.endpoints"]')]
    assert names == ['web\\x01 n\\x00\\x1b\\ud800']


def test_redaction_keeps_endpoints_and_their_findings_together(schema):
    name = 'web1.example.com:8443'
    doc = host('web1.example.com', [dict(NGINX, name=name, unit='web1.example.com')],
               [svc('CRD-SVC-001', 'high', name)], probed((name, 443, 'refused')))
    doc['endpoint_probe']['endpoints'][0]['host'] = '192.0.2.10'
    shared = _report.redact_report(report_of(doc), ['hosts', 'addresses'])
    text = _report.render_json(shared)
    assert 'web1.example.com' not in text and '192.0.2.10' not in text
    endpoint = shared['hosts'][0]['endpoints'][0]
    assert endpoint['name'] == 'host-1:8443' and endpoint['unit'] == 'host-1'
    assert endpoint['name'] in shared['hosts'][0]['findings'][0]['evidence']['endpoints']
    assert endpoint['findings'] == ['CRD-SVC-001'] and endpoint['probe'] == 'refused' and endpoint['port'] == 443
    root = ET.fromstring(_report.render_junit(shared).encode())
    case = root.find('.//testcase[@classname="connreset.doctor.endpoints"]')
    assert [f.get('type') for f in case.findall('failure')] == ['CRD-SVC-001', 'refused']
    schema.validate(json.loads(text))
