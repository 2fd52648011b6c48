# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet_report action: run_report/store_host_doc on a temporary directory, and the
ActionModule itself with a real Task object (no connection is ever used)."""

from __future__ import annotations

import copy
import json
import os
import re
import xml.etree.ElementTree as ET
from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError
from ansible.playbook.task import Task
from ansible.template import Templar
from ansible.parsing.dataloader import DataLoader

from ansible_collections.connreset.doctor.plugins.action import fleet_report
from ansible_collections.connreset.doctor.plugins.plugin_utils import _report

GENERATED = '2026-11-22T05:30:00Z'


def doc(host, score, level, findings=(), reachable=True, unreachable=None):
    return {
        'schema_version': 1, 'host': host, 'generated_at': GENERATED, 'reachable': reachable,
        'unreachable': unreachable, 'facts': {}, 'probe': None, 'findings': list(findings),
        'score': score, 'level': level,
    }


def finding(fid, cause, severity):
    return {'id': fid, 'title': 'title of %s' % fid, 'cause': cause, 'severity': severity,
            'evidence': {'value': 1}, 'explanation': 'why', 'remedy': 'what to do', 'fix': None}


@pytest.fixture
def report_dir(tmp_path):
    for host_doc in (
        doc('web1', 60, 'high', [finding('CRD-SSHD-002', 'sshd_rate_limit', 'high')]),
        doc('web2', 20, 'low', [finding('CRD-TCP-004', 'idle_timeout', 'low')]),
        doc('ok1', 0, 'ok'),
    ):
        fleet_report.store_host_doc(str(tmp_path), host_doc)
    return tmp_path


def test_store_host_doc_writes_one_file(tmp_path):
    path = fleet_report.store_host_doc(str(tmp_path), doc('web/1', 0, 'ok'))
    assert path == str(tmp_path / 'hosts' / _report.host_file_name('web/1'))
    assert os.path.basename(path).startswith('web_1~')
    assert json.loads(open(path, encoding='utf-8').read())['host'] == 'web/1'
    assert os.listdir(str(tmp_path / 'hosts')) == [os.path.basename(path)]


def test_store_host_doc_check_mode_writes_nothing(tmp_path):
    path = fleet_report.store_host_doc(str(tmp_path), doc('a', 0, 'ok'), write=False)
    assert path.endswith('/hosts/a.json') and not os.path.exists(path)


@pytest.mark.parametrize('bad', [None, {}, {'findings': []}, ['host']])
def test_store_host_doc_rejects_non_documents(tmp_path, bad):
    with pytest.raises(_report.ReportError, match='diagnose_host filter'):
        fleet_report.store_host_doc(str(tmp_path), bad)


def test_run_report_writes_all_formats(report_dir, tmp_path_factory):
    prom = tmp_path_factory.mktemp('textfile') / 'connreset.prom'
    out = fleet_report.run_report(str(report_dir), formats=['json', 'md', 'html', 'junit', 'prom'],
                                  prometheus_file=str(prom), version='1.0.0', generated_at=GENERATED)
    assert set(out['files']) == {'json', 'md', 'html', 'junit', 'prom', 'prometheus_file'}
    for path in out['files'].values():
        assert os.path.getsize(path) > 0
    report = json.loads((report_dir / 'report.json').read_text())
    assert [h['host'] for h in report['hosts']] == ['web1', 'web2', 'ok1']
    assert report['tool']['version'] == '1.0.0'
    ET.parse(str(report_dir / 'junit.xml'))
    assert prom.read_text() == (report_dir / 'report.prom').read_text()
    assert out['gate']['failed'] is False and out['fleet_check'] is False
    assert out['summary_lines'][0].startswith('connreset.doctor: 3 host(s)')


def test_run_report_prometheus_file_only(report_dir, tmp_path_factory):
    prom = tmp_path_factory.mktemp('textfile') / 'c.prom'
    out = fleet_report.run_report(str(report_dir), formats=['json'], prometheus_file=str(prom))
    assert set(out['files']) == {'json', 'prometheus_file'}
    assert not (report_dir / 'report.prom').exists()
    assert 'connreset_host_score{host="web1"} 60' in prom.read_text()


def test_run_report_check_mode_writes_nothing(report_dir):
    out = fleet_report.run_report(str(report_dir), write=False)
    assert sorted(os.listdir(str(report_dir))) == ['hosts']
    assert out['files']['json'] == str(report_dir / 'report.json')


def test_run_report_separate_dest(report_dir, tmp_path_factory):
    dest = tmp_path_factory.mktemp('out')
    out = fleet_report.run_report(str(report_dir), dest=str(dest), formats=['md'])
    assert out['report_dir'] == str(dest) and (dest / 'report.md').exists()


def test_run_report_uses_fleet_check(report_dir):
    seen = []

    def fleet(docs):
        seen.append(sorted(d['host'] for d in docs))
        for doc_ in docs:
            if doc_['host'] == 'ok1':
                doc_['findings'].append(dict(finding('CRD-MTU-004', 'mtu', 'medium'), scope='fleet'))
        return docs

    out = fleet_report.run_report(str(report_dir), formats=['json'], fleet_check=fleet, fail_on='medium')
    assert seen == [['ok1', 'web1', 'web2']]
    report = json.loads((report_dir / 'report.json').read_text())
    ok1 = [h for h in report['hosts'] if h['host'] == 'ok1'][0]
    assert ok1['level'] == 'medium' and ok1['findings'][0]['scope'] == 'fleet'
    assert [(m['host'], m['id']) for m in out['gate']['level']['matched']] == [
        ('web1', 'CRD-SSHD-002'), ('ok1', 'CRD-MTU-004')]


def test_run_report_gates(report_dir):
    out = fleet_report.run_report(str(report_dir), formats=[], fail_on='high', fail_query='hosts[?score > `10`].host')
    assert out['gate']['failed'] is True
    assert out['gate']['query']['result'] == ['web1', 'web2']
    assert 'web1: high CRD-SSHD-002' in out['gate']['msg']
    assert out['files'] == {}


def test_run_report_missing_src(tmp_path):
    with pytest.raises(_report.ReportError, match='does not exist'):
        fleet_report.run_report(str(tmp_path / 'missing'))


def test_collection_version_reads_galaxy_yml():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(fleet_report.__file__))))
    with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
        expected = [line.split(':', 1)[1].strip() for line in handle if line.startswith('version:')][0]
    assert fleet_report.collection_version() == expected


# --- the ActionModule --------------------------------------------------------------------------

def make_action(args, check_mode=False):
    task = Task()
    task.action = 'connreset.doctor.fleet_report'
    task.args = args
    task.check_mode = check_mode
    play_context = MagicMock()
    play_context.check_mode = check_mode
    loader = DataLoader()
    return fleet_report.ActionModule(task, MagicMock(), play_context, loader, Templar(loader=loader), None)


def test_action_builds_report(report_dir):
    result = make_action({'src': str(report_dir), 'formats': ['json', 'html']}).run(task_vars={})
    assert not result.get('failed'), result
    assert result['changed'] is True
    assert result['summary']['hosts'] == 3
    assert os.path.exists(result['files']['html'])
    assert 'gate: passed' in result['msg']


def test_action_gate_fails_task(report_dir):
    result = make_action({'src': str(report_dir), 'formats': [], 'fail_on': 'high'}).run(task_vars={})
    assert result['failed'] is True
    assert result['msg'].startswith('fail_on=high matched 1 item(s): web1: high CRD-SSHD-002')
    assert result['summary_lines'][-1].startswith('gate: FAILED')


def test_action_gate_not_enforced(report_dir):
    result = make_action({'src': str(report_dir), 'formats': [], 'fail_on': 'low', 'enforce': False,
                          'summary': False}).run(task_vars={})
    assert not result.get('failed')
    assert result['gate']['failed'] is True and 'FAILED (not enforced)' in result['msg']
    assert 'summary_lines' not in result


def test_action_stores_host_doc(tmp_path):
    result = make_action({'dest': str(tmp_path), 'host_doc': doc('db1', 1, 'low')}).run(task_vars={})
    assert result['path'] == str(tmp_path / 'hosts' / 'db1.json') and result['host'] == 'db1'
    assert json.loads((tmp_path / 'hosts' / 'db1.json').read_text())['score'] == 1


def test_action_check_mode_writes_nothing(report_dir):
    result = make_action({'src': str(report_dir)}, check_mode=True).run(task_vars={})
    assert result['changed'] is False and not result.get('failed')
    assert not (report_dir / 'report.json').exists()


@pytest.mark.parametrize('args, message', [
    ({'src': '/nonexistent/connreset'}, 'does not exist'),
    ({'formats': ['pdf']}, 'value of formats must be one or more of'),
    ({'fail_on': 'severe'}, 'value of fail_on must be one of'),
    ({'fail_query': 'hosts[?'}, 'not a valid JMESPath expression'),
    ({'bogus': 1}, 'bogus'),
])
def test_action_bad_options(report_dir, args, message):
    args = dict({'src': str(report_dir)}, **args)
    try:
        result = make_action(args).run(task_vars={})
    except AnsibleActionFail as exc:  # option validation: the task executor turns it into a failed result
        result = {'failed': True, 'msg': str(exc)}
    assert result['failed'] is True
    assert message in result['msg']


def test_run_report_only_listed_hosts(report_dir):
    out = fleet_report.run_report(str(report_dir), formats=['json'], hosts=['web1', 'ok1', 'new1'], fail_on='critical')
    report = json.loads((report_dir / 'report.json').read_text())
    # web2 is not in the play; new1 is, without a document: in the report, and it fails any gate
    assert [h['host'] for h in report['hosts']] == ['web1', 'new1', 'ok1']
    assert out['summary']['hosts'] == out['summary']['expected_hosts'] == 3
    new1 = report['hosts'][1]
    assert [f['id'] for f in new1['findings']] == ['CRD-COV-HOST'] and new1['level'] == 'high'
    assert out['summary']['errors'] == [{'file': str(report_dir / 'hosts' / 'new1.json'), 'host': 'new1',
                                         'reason': 'no host document: the host failed before its diagnosis was stored'}]
    assert [(m['host'], m['id']) for m in out['gate']['level']['matched']] == [('new1', 'CRD-COV-HOST')]
    assert 'no stored diagnosis for 1 host(s) of the play (CRD-COV-HOST): new1' in out['summary_lines']


# -- the diagnose role's per-host step (host_results) ----------------------------------------
# Results as ansible-core 2.19 registers them: an unreachable host (ignore_unreachable), a module
# that crashed (no connreset_meta), a skipped probe (diagnose_probe=false), a probe that could not
# run (paramiko missing).
UNREACHABLE = {'unreachable': True, 'changed': False,
               'msg': 'Task failed: Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 '
                      'port 22: Connection refused'}
CRASHED = {'failed': True, 'module_stderr': '/bin/sh: 1: /usr/bin/python3: not found\n', 'rc': 127,
           'msg': 'The module failed to execute correctly, you probably need to set the interpreter.'}
GATHERED = {'changed': False, 'ansible_facts': {
    'connreset_meta': {'status': 'ok', 'elapsed_s': 0.2, 'collectors': ['sshd']},
    'connreset_sshd': {'status': 'unknown', 'reason': 'no permission: use become: true'},
    'discovered_interpreter_python': '/usr/bin/python3'}}
GATHERED_AS_RESULT = {'changed': False, 'facts': GATHERED['ansible_facts']}
PROBE_SKIPPED = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False',
                 'false_condition': 'diagnose_probe | bool'}
# ... as ansible-core 2.19 registers it under failed_when: false (the exception moved aside)
PROBE_MISSING = {'failed': False, 'changed': False, 'msg': 'Failed to import the required Python library (paramiko)',
                 'failed_when_result': False, 'failed_when_suppressed_exception': 'ModuleNotFoundError: paramiko'}
# Clean failures (bad options), as 2.19 registers them under failed_when: false: reset_facts'
# fail_json, ssh_probe's ProbeConfigError.
FACTS_BAD_OPTION = {'changed': False, 'failed': False, 'failed_when_result': False,
                    'msg': "sshd: Unsupported parameters for (sshd) module: no_such_option"}
PROBE_BAD_OPTION = {'changed': False, 'failed_when_result': False,
                    'msg': 'attempts must be between 1 and 20 (got 0): probes are sequential and bounded'}
RAW_UNREACHABLE = {'unreachable': True, 'changed': False, 'skip_reason': None,
                   'msg': 'Task failed: Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 '
                          'port 22: Connection refused'}
PROBE_OK = {'changed': False, 'probe': {'host': '192.0.2.21', 'port': 22, 'attempts': [], 'summary': {
    'classification': 'ok', 'phase': 'kex', 'outcome': 'ok', 'intermittent': False, 'counts': {'ok': 1},
    'likely_causes': [], 'detail': 'Reached key exchange.'}}}


@pytest.mark.parametrize('facts, probe, unreachable, failed, probe_class, fact_keys', [
    (GATHERED, PROBE_OK, None, None, 'ok', ['connreset_meta', 'connreset_sshd']),
    (GATHERED, PROBE_SKIPPED, None, None, None, ['connreset_meta', 'connreset_sshd']),
    (GATHERED, None, None, None, None, ['connreset_meta', 'connreset_sshd']),
    (GATHERED, PROBE_MISSING, None, None, 'probe_error', ['connreset_meta', 'connreset_sshd']),
    # register_facts: false: the same facts under "facts"
    (GATHERED_AS_RESULT, PROBE_OK, None, None, 'ok', ['connreset_meta', 'connreset_sshd']),
    (UNREACHABLE, PROBE_OK, UNREACHABLE['msg'], None, 'ok', []),
    # reached, but the module could not run: the engine's failed path, not unreachable
    (CRASHED, PROBE_OK, None, 'connreset.doctor.reset_facts failed: The module failed to execute correctly, '
                              'you probably need to set the interpreter. (rc 127): /bin/sh: 1: /usr/bin/python3: '
                              'not found', 'ok', []),
    (None, None, 'host unreachable: connreset.doctor.reset_facts returned no result', None, None, []),
])
def test_host_input(facts, probe, unreachable, failed, probe_class, fact_keys):
    data = fleet_report.host_input({'host': 'web1', 'facts': facts, 'probe': probe, 'probe_host': '192.0.2.21',
                                    'probe_port': 22, 'thresholds': None})
    assert data['host'] == 'web1' and data['thresholds'] == {}
    assert sorted(data['facts']) == fact_keys  # only the collection's facts, not discovered_interpreter_python
    assert (data['unreachable'] or {}).get('msg') == unreachable
    assert (data['failed'] or {}).get('msg') == failed
    assert ((data['probe'] or {}).get('summary') or {}).get('classification') == probe_class
    if probe_class == 'probe_error':
        assert data['probe']['summary']['detail'] == 'the probe could not run: ' + PROBE_MISSING['msg']
        assert data['probe']['host'] == '192.0.2.21'


@pytest.mark.parametrize('interpreter_result', [
    CRASHED,
    # ansible-core 2.19's result when the interpreter is missing (executor/module_common / action/__init__)
    {'failed': True, 'changed': False, 'rc': 127, 'module_stdout': '',
     'module_stderr': '/bin/sh: 1: /usr/bin/python3: not found\n',
     'msg': "The module interpreter '/usr/bin/python3' was not found."},
])
def test_reached_host_without_python_is_not_unreachable(tmp_path, interpreter_result):
    """Issue 12: a host Ansible reached but could not run Python on went down the unreachable path
    (CRD-REACH-007 "could not connect"); it is a reachable host whose collection failed."""
    _path, fact = fleet_report.diagnose_and_store(str(tmp_path), {'host': 'db1', 'facts': interpreter_result,
                                                                  'probe': PROBE_OK, 'thresholds': {}})
    stored = json.loads((tmp_path / 'hosts' / 'db1.json').read_text())
    assert stored['reachable'] is True and stored['unreachable'] is None
    ids = [f['id'] for f in stored['findings']]
    assert not any(i.startswith('CRD-REACH') for i in ids), ids
    text = json.dumps(stored['findings'])
    assert 'fact collection failed' in text and 'python3: not found' in text
    assert fact['level'] == stored['level']


def test_diagnose_and_store_with_the_real_engine(tmp_path):
    path, fact = fleet_report.diagnose_and_store(str(tmp_path), {'host': 'db1', 'facts': UNREACHABLE,
                                                                 'probe': PROBE_SKIPPED, 'thresholds': {}})
    stored = json.loads((tmp_path / 'hosts' / 'db1.json').read_text())
    assert path == str(tmp_path / 'hosts' / 'db1.json')
    assert stored['reachable'] is False and stored['unreachable']['classification'] == 'refused'
    assert [f['id'] for f in stored['findings']] == ['CRD-REACH-001'] and stored['level'] == 'critical'
    # the fact is the document without the raw facts and probes
    assert 'facts' not in fact and 'probe' not in fact and 'endpoint_probe' not in fact
    assert fact == dict((k, v) for k, v in stored.items() if k not in ('facts', 'probe', 'endpoint_probe', 'capture'))


def test_diagnose_and_store_bad_threshold(tmp_path):
    with pytest.raises(_report.ReportError, match="diagnose_thresholds: unknown threshold 'conntrak_warn'"):
        fleet_report.diagnose_and_store(str(tmp_path), {'host': 'db1', 'facts': GATHERED,
                                                        'thresholds': {'conntrak_warn': 0.5}})
    assert not (tmp_path / 'hosts').exists()


@pytest.mark.parametrize('check_mode', [False, True])
def test_action_host_results_sets_the_fact(tmp_path, check_mode):
    args = {'dest': str(tmp_path), 'host_results': {'host': 'web1', 'facts': GATHERED, 'probe': PROBE_OK}}
    result = make_action(args, check_mode=check_mode).run(task_vars={})
    assert not result.get('failed'), result
    fact = result['ansible_facts']['connreset_report']
    assert result['host'] == fact['host'] == 'web1' and result['level'] == fact['level']
    assert result['score'] == fact['score'] and 'facts' not in fact
    # the area the collector could not read is an explicit coverage finding, never silence
    assert 'CRD-COV-SSHD' in [f['id'] for f in fact['findings']]
    assert (tmp_path / 'hosts' / 'web1.json').exists() is not check_mode


def test_action_host_results_needs_a_host(tmp_path):
    with pytest.raises(AnsibleActionFail, match='host'):
        make_action({'dest': str(tmp_path), 'host_results': {'facts': GATHERED}}).run(task_vars={})


def test_module_documents_the_actions_options():
    """plugins/modules/fleet_report.py (documentation only) declares the action's argument spec."""
    from ansible_collections.connreset.doctor.plugins.modules import fleet_report as module
    import yaml
    documented = yaml.safe_load(module.DOCUMENTATION)['options']

    def shape(spec):
        return dict((name, (opt.get('type'), opt.get('default'), shape(opt.get('options') or opt.get('suboptions') or {})))
                    for name, opt in spec.items())

    assert shape(documented) == shape(fleet_report.ARGUMENT_SPEC)


# -- every inventory host gets its own document and is in the report (issue 16, point 4) ------
AWKWARD = ['db/1', 'db_1', 'db 1', '.hidden', 'Db_1', 'db\x1b1']


@pytest.mark.parametrize('listed', [True, False])
def test_awkward_host_names_each_get_a_document(tmp_path, listed):
    for host in AWKWARD:
        path, _fact = fleet_report.diagnose_and_store(str(tmp_path), {'host': host, 'facts': GATHERED,
                                                                      'probe': PROBE_OK})
        assert os.path.exists(path)
    assert len(os.listdir(str(tmp_path / 'hosts'))) == len(AWKWARD)
    out = fleet_report.run_report(str(tmp_path), formats=['json', 'junit'], hosts=AWKWARD if listed else None)
    report = json.loads((tmp_path / 'report.json').read_text())
    assert sorted(h['host'] for h in report['hosts']) == sorted(AWKWARD)
    assert out['summary']['hosts'] == len(AWKWARD) and 'errors' not in out['summary']
    assert out['summary']['expected_hosts'] == (len(AWKWARD) if listed else None)
    if not listed:
        assert 'host count not checked against a play: every document in hosts/ was merged' in out['summary_lines']
    ET.parse(str(tmp_path / 'junit.xml'))


# -- hostile fact values never lose a host or fail the task (issue 16, point 6) ----------------
def gathered(**conntrack):
    facts = json.loads(json.dumps(GATHERED))
    facts['ansible_facts']['connreset_conntrack'] = dict({'status': 'ok', 'reason': None, 'loaded': True,
                                                          'count': 1204, 'max': 262144, 'stats': {}}, **conntrack)
    return facts


@pytest.mark.parametrize('conntrack, named', [
    ({'fill': float('inf')}, 'fact connreset_conntrack.fill: not a finite number: inf'),   # fill: .inf
    ({'fill': float('nan')}, 'fact connreset_conntrack.fill: not a finite number: nan'),   # fill: .nan
    ({'fill': 'full'}, "fact connreset_conntrack.fill: expected a number, got a string 'full'"),
    ({'stats': [0, 0, 0]}, 'fact connreset_conntrack.stats: expected an object, got a list'),
    ({'table_full_events': {'count': 1, 'samples': ['x'] * 100000}},
     'fact connreset_conntrack.table_full_events.samples: 100000 items: only the last 1000 were checked'),
])
def test_action_host_results_with_hostile_facts(tmp_path, conntrack, named):
    args = {'dest': str(tmp_path), 'host_results': {'host': 'web1', 'facts': gathered(**conntrack), 'probe': PROBE_OK}}
    result = make_action(args).run(task_vars={})
    assert not result.get('failed'), result
    stored = json.loads((tmp_path / 'hosts' / 'web1.json').read_text(),
                        parse_constant=lambda c: pytest.fail('non-finite %s in the host document' % c))
    cov = next(f for f in stored['findings'] if f['id'] == 'CRD-COV-CT')
    assert named in cov['summary']


def test_bad_threshold_is_still_a_threshold_error(tmp_path):
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': gathered(fill=float('nan')), 'thresholds': {'conntrack_fill_warn': 'high'}}}).run(
            task_vars={})
    assert result['failed'] is True
    assert result['msg'] == 'diagnose_thresholds: threshold conntrack_fill_warn must be a number, got \'high\''


# -- the Prometheus file's directory is node_exporter's: never created (issue 16, point 7) ------
@pytest.mark.parametrize('where, message', [
    ('missing/dir/c.prom', 'the directory .*missing/dir does not exist; create it'),
    ('', 'is a directory: give a file name in it'),
])
def test_prometheus_file_directory_must_exist(report_dir, tmp_path_factory, where, message):
    base = tmp_path_factory.mktemp('textfile')
    result = make_action({'src': str(report_dir), 'prometheus_file': str(base / where)}).run(task_vars={})
    assert result['failed'] is True and re.search(message, result['msg']), result['msg']
    assert not (base / 'missing').exists()
    assert not (report_dir / 'report.json').exists()  # nothing written before the check


# -- modes and redaction through the action (issue 16, point 5) ----------------------------------
@pytest.mark.parametrize('mask, mode, expected', [(0o077, None, 0o600), (0o022, None, 0o644), (0o022, '0640', 0o640),
                                                  (0o077, '0644', 0o644)])
def test_action_file_modes(tmp_path, mask, mode, expected):
    old = os.umask(mask)
    try:
        args = {'dest': str(tmp_path), 'host_results': {'host': 'web1', 'facts': GATHERED, 'probe': PROBE_OK}}
        if mode:
            args['mode'] = mode
        assert not make_action(args).run(task_vars={}).get('failed')
        report_args = {'src': str(tmp_path), 'formats': ['json', 'md', 'html', 'junit', 'prom']}
        if mode:
            report_args['mode'] = mode
        result = make_action(report_args).run(task_vars={})
    finally:
        os.umask(old)
    assert not result.get('failed'), result
    for path in list(result['files'].values()) + [str(tmp_path / 'hosts' / 'web1.json')]:
        assert oct(os.stat(path).st_mode & 0o777) == oct(expected), path


def test_action_bad_mode(tmp_path):
    result = make_action({'dest': str(tmp_path), 'mode': 640, 'host_results': {'host': 'web1', 'facts': GATHERED}}).run(
        task_vars={})
    assert result['failed'] is True and 'unquoted 640 is the decimal number 640' in result['msg']
    assert not (tmp_path / 'hosts').exists()


def test_action_redacts_report_files_only(report_dir):
    result = make_action({'src': str(report_dir), 'formats': ['json', 'md'], 'redact': ['hosts']}).run(task_vars={})
    assert not result.get('failed'), result
    text = (report_dir / 'report.json').read_text() + (report_dir / 'report.md').read_text()
    assert 'web1' not in text and 'host-' in text
    assert json.loads((report_dir / 'report.json').read_text())['redacted'] == ['hosts']
    assert any('web1' in line for line in result['summary_lines'])  # the operator's console keeps names
    assert json.loads((report_dir / 'hosts' / 'web1.json').read_text())['host'] == 'web1'


def test_action_rejects_unknown_redact_kind(report_dir):
    with pytest.raises(AnsibleActionFail, match='value of redact must be one or more of'):
        make_action({'src': str(report_dir), 'redact': ['emails']}).run(task_vars={})


def test_tampered_host_documents_still_give_a_report(tmp_path):
    """hosts/*.json are written by the role, but a report must survive a document edited by hand
    or by an older version: findings that are not objects, ids that are lists, a level that is not
    one, a score that is text, MTU facts that send it through the cross-host check."""
    mtu = {'status': 'ok', 'interfaces': [{'name': 'eth0', 'mtu': 9001, 'addresses': [{'network': '10.9.0.0/24'}]}]}
    odd = doc('odd', 'high', '<script>', findings=[
        'text', {'id': ['CRD-X-001'], 'severity': 'nope'}, {'id': 'CRD-PROBE-007', 'evidence': 5, 'severity': 'high'}])
    odd['facts'] = {'connreset_mtu': mtu}
    odd['probe'] = {'summary': {'classification': 'kex_hang'}}
    fine = doc('fine', 0, 'ok')
    fine['facts'] = {'connreset_mtu': json.loads(json.dumps(mtu).replace('9001', '1500'))}
    for host_doc in (odd, fine):
        fleet_report.store_host_doc(str(tmp_path), host_doc)
    out = fleet_report.run_report(str(tmp_path), formats=['json', 'md', 'html', 'junit', 'prom'],
                                  fleet_check=fleet_report._engine.apply_fleet_findings, hosts=['odd', 'fine'])
    assert out['summary']['hosts'] == 2
    report = json.loads((tmp_path / 'report.json').read_text())
    assert sorted(h['host'] for h in report['hosts']) == ['fine', 'odd']
    odd = {h['host']: h for h in report['hosts']}['odd']
    assert odd['level'] in _report.LEVELS and odd['score'] == 0
    assert all(isinstance(f, dict) for f in odd['findings'])  # 'text' is not a finding
    # the cross-host check could not read the severity 'nope': those findings are lost, said so, the report is not
    assert [e['reason'] for e in out['summary']['errors']] == [
        'the cross-host check failed (ValueError: tuple.index(x): x not in tuple); the report has no cross-host findings']
    ET.parse(str(tmp_path / 'junit.xml'))


def test_serial_batches_are_not_missing_hosts(report_dir):
    """serial: the role passes the active hosts outside the current batch as pending. Of those, one
    without a document is still to come (not a CRD-COV-HOST, not counted); a host that failed
    (not pending) without a document is reported."""
    out = fleet_report.run_report(str(report_dir), formats=['json'], fail_on='critical',
                                  hosts=['web1', 'ok1', 'later1', 'failed1'], pending=['web1', 'later1'])
    report = json.loads((report_dir / 'report.json').read_text())
    assert sorted(h['host'] for h in report['hosts']) == ['failed1', 'ok1', 'web1']
    assert out['summary']['expected_hosts'] == 3 == out['summary']['hosts']
    reasons = {e['host']: e['reason'] for e in out['summary']['errors']}
    assert reasons == {'later1': 'not diagnosed yet: the host is in a later serial batch',
                       'failed1': 'no host document: the host failed before its diagnosis was stored'}
    assert [(m['host'], m['id']) for m in out['gate']['level']['matched']] == [('failed1', 'CRD-COV-HOST')]
    assert '1 host(s) of later serial batches not diagnosed yet' in out['summary_lines']
    assert 'no stored diagnosis for 1 host(s) of the play (CRD-COV-HOST): failed1' in out['summary_lines']


# -- bad options fail the host with the module's message; the rest is a diagnosis ----------------
@pytest.mark.parametrize('facts, probe, errors', [
    (FACTS_BAD_OPTION, PROBE_OK, ['connreset.doctor.reset_facts: ' + FACTS_BAD_OPTION['msg']]),
    (GATHERED, PROBE_BAD_OPTION, ['connreset.doctor.ssh_probe: ' + PROBE_BAD_OPTION['msg']]),
    (FACTS_BAD_OPTION, PROBE_BAD_OPTION, ['connreset.doctor.reset_facts: ' + FACTS_BAD_OPTION['msg'],
                                          'connreset.doctor.ssh_probe: ' + PROBE_BAD_OPTION['msg']]),
    # diagnoses, not errors: unreachable (the role's raw connect), a module that could not run,
    # paramiko missing, a skipped probe, nothing at all
    (RAW_UNREACHABLE, PROBE_OK, []),
    (UNREACHABLE, PROBE_OK, []),
    (CRASHED, PROBE_MISSING, []),
    (GATHERED, PROBE_SKIPPED, []),
    (None, None, []),
    ({}, {}, []),
])
def test_option_errors(facts, probe, errors):
    assert fleet_report.option_errors({'host': 'web1', 'facts': facts, 'probe': probe}) == errors


@pytest.mark.parametrize('facts, probe, message', [
    (FACTS_BAD_OPTION, PROBE_OK, 'connreset.doctor.reset_facts: sshd: Unsupported parameters'),
    (GATHERED, PROBE_BAD_OPTION, 'connreset.doctor.ssh_probe: attempts must be between 1 and 20'),
])
def test_action_bad_option_fails_the_host_and_stores_nothing(tmp_path, facts, probe, message):
    result = make_action({'dest': str(tmp_path), 'host_results': {'host': 'web1', 'facts': facts, 'probe': probe}}).run(
        task_vars={})
    assert result['failed'] is True and result['msg'].startswith(message)
    assert not (tmp_path / 'hosts').exists()


@pytest.mark.parametrize('facts, summary', [
    (GATHERED, 'collectors: sshd unknown; level high, score 30'),
    (RAW_UNREACHABLE, 'unreachable: Task failed: Failed to connect to the host via ssh: ssh: connect to host '
                      '192.0.2.21 port 22: Connection refused; level critical, score 60'),
    (CRASHED, 'connreset.doctor.reset_facts could not run: The module failed to execute correctly, you probably '
              'need to set the interpreter.; level high, score 30'),
    ({'changed': False, 'ansible_facts': {'connreset_meta': {'gather_subset': [], 'collectors': {}}}},
     'no collector ran: nothing was checked; level high, score 30'),
])
def test_action_says_what_was_collected(tmp_path, facts, summary):
    result = make_action({'dest': str(tmp_path), 'host_results': {'host': 'web1', 'facts': facts,
                                                                  'probe': PROBE_SKIPPED}}).run(task_vars={})
    assert not result.get('failed'), result
    assert result['msg'] == summary


# -- the probe folded into the host_results step (probe_args) ------------------------------------
def closed_loopback_port():
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]   # closed again when the socket is: nobody listens there


def test_host_results_runs_the_probe_itself(tmp_path):
    pytest.importorskip('paramiko')
    port = closed_loopback_port()
    args = {'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': GATHERED, 'probe_host': '127.0.0.1', 'probe_port': port,
        'probe_args': {'host': '127.0.0.1', 'port': port, 'attempts': 1, 'connect_timeout': 2}}}
    result = make_action(args).run(task_vars={})
    assert not result.get('failed'), result
    stored = json.loads((tmp_path / 'hosts' / 'web1.json').read_text())
    assert stored['probe']['port'] == port
    assert stored['probe']['summary']['classification'] == 'refused'


@pytest.mark.parametrize('probe_args, message', [
    ({'host': '127.0.0.1', 'attempts': 0}, 'connreset.doctor.ssh_probe: attempts'),
    ({'host': '127.0.0.1', 'no_such_option': 1}, 'connreset.doctor.ssh_probe: no_such_option. Supported parameters include'),
    ({'port': 22}, 'connreset.doctor.ssh_probe: missing required arguments: host'),
])
def test_host_results_bad_probe_args_fail_the_host(tmp_path, probe_args, message):
    pytest.importorskip('paramiko')
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': GATHERED, 'probe_args': probe_args}}).run(task_vars={})
    assert result['failed'] and result['msg'].startswith(message), result['msg']
    assert not (tmp_path / 'hosts').exists()


def test_host_results_without_paramiko_is_a_probe_error(tmp_path, monkeypatch):
    from ansible_collections.connreset.doctor.plugins.module_utils import _probe
    monkeypatch.setattr(_probe, 'HAS_PARAMIKO', False)
    monkeypatch.setattr(_probe, 'PARAMIKO_IMPORT_ERROR', 'ModuleNotFoundError: paramiko')
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': GATHERED, 'probe_args': {'host': '127.0.0.1'}}}).run(task_vars={})
    assert not result.get('failed'), result
    stored = json.loads((tmp_path / 'hosts' / 'web1.json').read_text())
    assert stored['probe']['summary']['classification'] == 'probe_error'


def test_one_mode_per_task(tmp_path):
    result = make_action({'dest': str(tmp_path), 'host_doc': doc('web1', 0, 'ok'),
                          'host_results': {'host': 'web1', 'facts': GATHERED}}).run(task_vars={})
    assert result['failed'] and 'give one of them per task' in result['msg']
    assert not (tmp_path / 'hosts').exists()


def test_the_three_modes_are_separate_entry_points():
    for name in ('run_host_results', 'run_host_doc', 'run_merge'):
        assert callable(getattr(fleet_report.ActionModule, name))


# -- the endpoint probe folded into the host_results step (endpoint_probe_args, issue 13) ----------
def endpoint_args(port, **extra):
    args = {'host': '127.0.0.1', 'attempts': 1, 'connect_timeout': 2,
            'endpoints': [{'name': 'web', 'port': port, 'protocol': 'http'}]}
    args.update(extra)
    return args


@pytest.fixture
def engine_input(monkeypatch):
    """What fleet_report hands to the engine's diagnose_host (the real engine still runs)."""
    seen = []
    real = fleet_report._engine.diagnose_host

    def spy(data):
        seen.append(data)
        return real(data)
    monkeypatch.setattr(fleet_report._engine, 'diagnose_host', spy)
    return seen


def test_host_results_runs_the_endpoint_probe_itself(tmp_path, engine_input):
    port = closed_loopback_port()
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': GATHERED, 'endpoint_probe_args': endpoint_args(port)}}).run(task_vars={})
    assert not result.get('failed'), result
    probe = engine_input[0]['endpoint_probe']
    assert [(e['name'], e['host'], e['port'], e['protocol'], e['summary']['classification'])
            for e in probe['endpoints']] == [('web', '127.0.0.1', port, 'http', 'refused')]
    assert probe['summary']['ok'] == 0 and probe['summary']['failed'] == 1
    assert probe['summary']['classifications'] == {'web': 'refused'}
    # the ssh probe is another matter: no probe_args, no probe
    assert engine_input[0]['probe'] is None
    # like the probe, the endpoint probe stays in the host's file, out of the connreset_report fact
    assert 'endpoint_probe' not in result['ansible_facts']['connreset_report']


@pytest.mark.parametrize('host_results', [
    {'host': 'web1', 'facts': GATHERED},
    {'host': 'web1', 'facts': GATHERED, 'endpoint_probe_args': None},
])
def test_host_results_without_endpoint_probe_args_has_no_endpoint_probe(tmp_path, engine_input, host_results):
    result = make_action({'dest': str(tmp_path), 'host_results': host_results}).run(task_vars={})
    assert not result.get('failed'), result
    assert 'endpoint_probe' in engine_input[0] and engine_input[0]['endpoint_probe'] is None


@pytest.mark.parametrize('extra, message', [
    # tcp_probe's own range checks (_tcp_probe.validate_params, raised as ProbeConfigError)
    ({'idle_hold_s': 1000}, 'connreset.doctor.tcp_probe: idle_hold_s must be between 0 (off) and 900 seconds'),
    ({'attempts': 0}, 'connreset.doctor.tcp_probe: attempts must be between 1 and 20 (got 0)'),
    ({'endpoints': [{'port': 70000}]}, 'connreset.doctor.tcp_probe: endpoints[0]: port must be between 1 and 65535'),
    ({'host': None}, 'connreset.doctor.tcp_probe: endpoints[0] has no host: set its host or the host option'),
    ({'endpoints': []}, 'connreset.doctor.tcp_probe: endpoints must list at least one'),
    # tcp_probe's argument spec
    ({'no_such_option': 1}, 'connreset.doctor.tcp_probe: no_such_option. Supported parameters include'),
    ({'endpoints': [{'port': 80, 'protocol': 'ftp'}]}, 'connreset.doctor.tcp_probe: value of protocol must be one of'),
    ({'endpoints': [{'name': 'web'}]}, 'connreset.doctor.tcp_probe: missing required arguments: port'),
    ({'endpoints': None}, 'connreset.doctor.tcp_probe: missing required arguments: endpoints'),
])
def test_host_results_bad_endpoint_probe_args_fail_the_host(tmp_path, extra, message):
    args = endpoint_args(closed_loopback_port(), **extra)
    if args['endpoints'] is None:
        del args['endpoints']
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': GATHERED, 'endpoint_probe_args': args}}).run(task_vars={})
    assert result['failed'] and result['msg'].startswith(message), result['msg']
    assert not (tmp_path / 'hosts').exists()


def test_bad_ssh_probe_option_fails_before_the_endpoints_are_probed(tmp_path, monkeypatch):
    pytest.importorskip('paramiko')
    ran = []
    monkeypatch.setattr(fleet_report._tcp_probe, 'probe', ran.append)
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': GATHERED, 'probe_args': {'host': '127.0.0.1', 'attempts': 0},
        'endpoint_probe_args': endpoint_args(80)}}).run(task_vars={})
    assert result['failed'] and result['msg'].startswith('connreset.doctor.ssh_probe: attempts'), result['msg']
    assert ran == []


def test_endpoint_probe_that_cannot_run_is_a_probe_error(tmp_path, engine_input, monkeypatch):
    def broken(params):
        raise OSError(24, 'Too many open files')
    monkeypatch.setattr(fleet_report._tcp_probe, 'probe', broken)
    args = endpoint_args(8080)
    args['endpoints'] = [{'name': 'web', 'port': 8080, 'protocol': 'http'}, {'port': 6379}]
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': GATHERED, 'endpoint_probe_args': args}}).run(task_vars={})
    assert not result.get('failed'), result
    probe = engine_input[0]['endpoint_probe']
    assert [(e['name'], e['host'], e['port'], e['protocol'], e['attempts'], e['idle']) for e in probe['endpoints']] == [
        ('web', '127.0.0.1', 8080, 'http', [], None), ('127.0.0.1:6379/tcp', '127.0.0.1', 6379, 'tcp', [], None)]
    for endpoint in probe['endpoints']:
        summary = endpoint['summary']
        assert summary['classification'] == 'probe_error' and summary['outcome'] == 'error'
        assert summary['detail'] == 'the endpoint probe could not run: OSError: [Errno 24] Too many open files'
        assert set(summary) == {'classification', 'phase', 'outcome', 'intermittent', 'counts', 'likely_causes',
                                'detail'}
    assert probe['summary'] == {'ok': 0, 'failed': 2, 'elapsed_s': 0.0,
                                'classifications': {'web': 'probe_error', '127.0.0.1:6379/tcp': 'probe_error'}}


def test_endpoint_probe_result_is_a_registered_like_result(monkeypatch):
    # a bad value: tcp_probe's ProbeConfigError, before anything is probed
    assert fleet_report.endpoint_probe_result({'host': 'h', 'endpoints': [{'port': 1}], 'idle_hold_s': 901}) == {
        'failed': True, 'msg': 'idle_hold_s must be between 0 (off) and 900 seconds (got 901.0)'}
    monkeypatch.setattr(fleet_report._tcp_probe, 'probe', lambda params: {'endpoints': [], 'summary': dict(
        ok=0, failed=0, classifications={}, elapsed_s=0.0, seen=params)})
    result = fleet_report.endpoint_probe_result({'host': 'h', 'endpoints': [{'port': 443, 'protocol': 'https'}]})
    assert result['changed'] is False and set(result) == {'changed', 'probe'}
    # validated with tcp_probe's argument spec: its defaults are filled in
    params = result['probe']['summary']['seen']
    assert params['attempts'] == 1 and params['idle_hold_s'] == 0.0 and params['endpoints'][0]['path'] == '/'


ENDPOINT_PROBED = {'changed': False, 'probe': {'endpoints': [{'name': 'web', 'host': '192.0.2.21', 'port': 80,
                                                              'protocol': 'http', 'attempts': [], 'idle': None,
                                                              'summary': {'classification': 'ok'}}],
                                               'summary': {'ok': 1, 'failed': 0, 'classifications': {'web': 'ok'},
                                                           'elapsed_s': 0.01}}}
ENDPOINT_BAD_OPTION = {'failed': True, 'msg': 'attempts must be between 1 and 20 (got 0)'}
ENDPOINT_BROKEN = {'failed': True, 'msg': 'OSError: boom', 'exception': 'Traceback ...'}


@pytest.mark.parametrize('endpoint_probe, errors, classes', [
    (ENDPOINT_PROBED, [], ['ok']),
    (ENDPOINT_BAD_OPTION, ['connreset.doctor.tcp_probe: ' + ENDPOINT_BAD_OPTION['msg']], None),
    (ENDPOINT_BROKEN, [], ['probe_error']),
    (PROBE_SKIPPED, [], None),
    (None, [], None),
    ({}, [], ['probe_error']),   # as for the ssh probe: an empty result is a probe that did not run
    # a result without probe, message or exception: no option was refused, so the probe did not run
    ({'changed': False}, ['connreset.doctor.tcp_probe: failed without a message'], None),
])
def test_option_errors_and_host_input_of_the_endpoint_probe(endpoint_probe, errors, classes):
    results = {'host': 'web1', 'facts': GATHERED, 'probe': PROBE_OK, 'endpoint_probe': endpoint_probe,
               'endpoint_probe_args': {'host': '192.0.2.21', 'endpoints': [{'name': 'web', 'port': 80}]}}
    assert fleet_report.option_errors(results) == errors
    if errors:
        return
    data = fleet_report.host_input(results)
    assert data['probe'] == PROBE_OK['probe']
    if classes is None:
        assert data['endpoint_probe'] is None
    else:
        assert [e['summary']['classification'] for e in data['endpoint_probe']['endpoints']] == classes


# -- the role passes endpoint_probe_args (roles/diagnose/tasks/host.yml) ---------------------------
def _role_task_arg(name):
    import yaml
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(fleet_report.__file__))))
    with open(os.path.join(root, 'roles', 'diagnose', 'tasks', 'host.yml'), encoding='utf-8') as handle:
        tasks = yaml.safe_load(handle)
    task = next(t for t in tasks if 'connreset.doctor.fleet_report' in t)
    return task['connreset.doctor.fleet_report']['host_results'][name]


def _template_role_arg(templar, name):
    """host.yml's host_results.<name> templated as the role templates it."""
    expression = _role_task_arg(name)
    try:
        from ansible.template import trust_as_template   # ansible-core 2.19: only trusted text is templated
        expression = trust_as_template(expression)
    except ImportError:  # pragma: no cover - older ansible-core
        pass
    return templar.template(expression)


@pytest.mark.parametrize('variables, expected', [
    ({'diagnose_endpoints': []}, None),
    ({'diagnose_endpoints': [{'port': 443}], 'diagnose_endpoint_probe': False}, None),
    ({'diagnose_endpoints': [{'port': 443, 'protocol': 'https', 'unit': 'nginx.service',
                              'front': {'kind': 'aws-alb', 'idle_timeout_s': None}},
                             {'name': 'redis', 'port': 6379}],
      'diagnose_probe_attempts': '2', 'diagnose_endpoint_probe_idle_hold_s': 30},
     {'host': '192.0.2.21', 'attempts': 2, 'idle_hold_s': 30,
      'endpoints': [{'port': 443, 'protocol': 'https'}, {'name': 'redis', 'port': 6379}]}),
])
def test_role_passes_the_endpoints_to_the_probe(variables, expected):
    defaults = {'diagnose_probe_host': '192.0.2.21', 'diagnose_probe_attempts': 1, 'diagnose_endpoint_probe': True,
                'diagnose_endpoint_probe_idle_hold_s': 0}
    templar = Templar(loader=DataLoader(), variables=dict(defaults, **variables))
    args = _template_role_arg(templar, 'endpoint_probe_args')
    assert args == expected
    if expected is not None:   # what the role passes is what tcp_probe accepts
        assert fleet_report.ArgumentSpecValidator(fleet_report._tcp_probe.ARGUMENT_SPEC).validate(
            dict(args)).error_messages == []


def test_endpoint_probe_reaches_the_host_document_and_the_report(tmp_path):
    """End to end with the real engine: the probe of a closed port is the stored document's
    endpoint_probe, and report.json's endpoint of that port carries its classification."""
    port = closed_loopback_port()
    facts = copy.deepcopy(GATHERED)
    facts['ansible_facts']['connreset_endpoints'] = {
        'status': 'ok', 'reason': None, 'elapsed_s': 0.1,
        'endpoints': [{'name': 'app:%d' % port, 'port': port, 'protocol': 'http', 'front': None, 'unit': None,
                       'unit_source': None, 'program': None, 'status': 'ok', 'reason': None, 'listening': [],
                       'listen_source': 'ss', 'process': None}]}
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': facts, 'endpoint_probe_args': endpoint_args(port)}}).run(task_vars={})
    assert not result.get('failed'), result
    stored = json.loads((tmp_path / 'hosts' / 'web1.json').read_text())
    assert stored['endpoint_probe']['summary']['classifications'] == {'web': 'refused'}
    fleet_report.run_report(str(tmp_path), formats=['json'], generated_at=GENERATED, hosts=['web1'])
    report = json.loads((tmp_path / 'report.json').read_text())
    endpoint = report['hosts'][0]['endpoints'][0]
    assert (endpoint['name'], endpoint['port'], endpoint['listening'], endpoint['probe']) == (
        'app:%d' % port, port, False, 'refused')
    # the engine's service finding about it names it in evidence.endpoints (nothing listens, refused)
    assert endpoint['findings'] and all(fid.startswith('CRD-SVC-') for fid in endpoint['findings']), endpoint


# -- the capture taken while the controller probed (diagnose_capture, issue 14) ------------------
# reset_capture's fact as its async_status result carries it (plugins/modules/reset_capture.py RETURN).
CAPTURE_FACT = {'status': 'ok', 'reason': None, 'elapsed_s': 10.02, 'method': 'af_packet', 'ports': [22],
                'ports_source': 'option', 'duration_s': 10, 'max_packets': 500, 'window_s': 10.001,
                'started_at': 1796328128.5337, 'ended_at': 1796328138.5347, 'stopped': 'window', 'resets': [],
                'counts': {'sent': 0, 'received': 0}, 'skipped': {'count': 0, 'reasons': {}}, 'kernel_drops': 0,
                'captured_bytes_max': 0, 'counter_deltas': {'OutRsts': 0, 'EstabResets': 0}}


@pytest.mark.parametrize('registered, expected', [
    (None, None),
    ({'skipped': True, 'changed': False, 'skip_reason': 'Conditional result was False'}, None),
    ({'ansible_job_id': 'j1', 'finished': 1, 'changed': False, 'ansible_facts': {'connreset_capture': CAPTURE_FACT}},
     CAPTURE_FACT),
    ({'ansible_job_id': 'j1', 'finished': 0, 'started': 1, 'failed': True, 'attempts': 40},
     {'status': 'unknown', 'reason': 'the capture did not finish in time (job j1)'}),
    ({'unreachable': True, 'msg': 'Failed to connect to the host via ssh: Connection reset by 192.0.2.21 port 22'},
     {'status': 'unknown', 'reason': 'the host was unreachable: Failed to connect to the host via ssh: Connection '
                                     'reset by 192.0.2.21 port 22'}),
    ({'failed': True, 'finished': 1, 'ansible_job_id': 'j2', 'msg': 'value of ports must be a list'},
     {'status': 'unknown', 'reason': 'connreset.doctor.reset_capture failed: value of ports must be a list'}),
], ids=['none', 'skipped', 'finished', 'not-finished', 'unreachable', 'failed'])
def test_capture_input(registered, expected):
    assert fleet_report.capture_input(registered) == expected


def test_host_results_passes_the_capture_and_registered_probes(tmp_path, engine_input):
    endpoint = {'changed': False, 'probe': {'endpoints': [], 'summary': {'ok': 0, 'failed': 0, 'classifications': {},
                                                                         'elapsed_s': 0.0}}}
    result = make_action({'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'facts': GATHERED, 'endpoint_probe': endpoint,
        'capture': {'ansible_job_id': 'j1', 'finished': 1, 'ansible_facts': {'connreset_capture': CAPTURE_FACT}}}}).run(
        task_vars={})
    assert not result.get('failed'), result
    assert engine_input[0]['capture'] == CAPTURE_FACT
    assert engine_input[0]['endpoint_probe'] == endpoint['probe']
    stored = json.loads((tmp_path / 'hosts' / 'web1.json').read_text())
    assert stored['capture'] == CAPTURE_FACT
    # like the probes, the capture stays in the host's file, out of the connreset_report fact
    assert 'capture' not in result['ansible_facts']['connreset_report']


# -- the collect folded into the host_results step (collect_args) ----------------------------------
class _Collecting(fleet_report.ActionModule):
    """The action with the module call replaced: records what it was asked, returns or raises ``outcome``."""

    outcome = None
    calls = []

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, *args, **kwargs):
        self.calls.append((module_name, dict(module_args), self._task.check_mode))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return json.loads(json.dumps(self.outcome))

    def _remove_tmp_path(self, tmp_path, force=False):
        return None


def make_collecting_action(args, outcome, check_mode=False):
    action = make_action(args, check_mode=check_mode)
    collecting = _Collecting(action._task, action._connection, action._play_context, action._loader, action._templar,
                             None)
    collecting.outcome = outcome
    collecting.calls = []
    return collecting


REFUSED = 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.9 port 22: Connection refused'


@pytest.mark.parametrize('outcome, check', [
    # the module's result (register_facts false), with the interpreter Ansible discovered in ansible_facts
    (dict(GATHERED_AS_RESULT, ansible_facts={'discovered_interpreter_python': '/usr/bin/python3'}),
     lambda doc: doc['reachable'] is True and doc['facts']['connreset_sshd']['status'] == 'unknown'
     and 'CRD-COV-SSHD' in _ids(doc) and 'discovered_interpreter_python' not in doc['facts']),
    # a host Ansible cannot reach: diagnosed from the connection's message, the task does not fail
    (AnsibleConnectionFailure(REFUSED),
     lambda doc: doc['reachable'] is False and doc['unreachable'] == {'msg': REFUSED, 'classification': 'refused'}
     and _ids(doc) == ['CRD-REACH-001']),
    # a module that could not run there (no Python): the collection failed, with the interpreter's words
    ({'failed': True, 'rc': 127, 'module_stdout': '', 'module_stderr': '/bin/sh: 1: /usr/bin/python3: not found\n',
      'msg': 'The module failed to execute correctly, you probably need to set the interpreter.'},
     lambda doc: doc['reachable'] is True and doc['facts'] == {} and 'CRD-COV-NONE' in _ids(doc)
     and 'python3: not found' in json.dumps(doc['findings'])),
])
def test_host_results_collects_itself(tmp_path, outcome, check):
    args = {'dest': str(tmp_path), 'host_results': {
        'host': 'web1', 'collect_args': {'gather_subset': ['sshd'], 'budget': 10}, 'probe': PROBE_OK}}
    action = make_collecting_action(args, outcome)
    result = action.run(task_vars={'ansible_check_mode': False})
    assert not result.get('failed') and not result.get('unreachable'), result
    (name, module_args, check_mode), = action.calls
    assert name == 'connreset.doctor.reset_facts' and check_mode is False
    # the facts stay in the worker: never host facts, never in the result
    assert module_args == {'gather_subset': ['sshd'], 'budget': 10, 'register_facts': False}
    assert list(result['ansible_facts']) == ['connreset_report']
    with open(result['path'], encoding='utf-8') as handle:
        doc = json.load(handle)
    assert check(doc), doc
    # an unreachable host's connection error is on the console as a warning, the others warn of nothing
    if isinstance(outcome, AnsibleConnectionFailure):
        assert result['warnings'] == ['web1 is unreachable (diagnosed, see the report): %s' % REFUSED]
    else:
        assert 'warnings' not in result


def _ids(doc):
    return [f['id'] for f in doc['findings']]


def test_host_results_collects_in_the_plays_check_mode(tmp_path):
    # the role's task is check_mode: false (the report is written in --check); the module follows the play
    args = {'dest': str(tmp_path), 'host_results': {'host': 'web1', 'collect_args': {}}}
    action = make_collecting_action(args, GATHERED_AS_RESULT)
    result = action.run(task_vars={'ansible_check_mode': True})
    assert not result.get('failed'), result
    assert action.calls[0][2] is True and action._task.check_mode is False
    assert (tmp_path / 'hosts' / 'web1.json').exists()


def test_host_results_collect_that_ansible_refuses_fails_the_host(tmp_path):
    # an error Ansible raises before the module runs (not a connection failure) is a clean failure to fix
    args = {'dest': str(tmp_path), 'host_results': {'host': 'web1', 'collect_args': {}}}
    result = make_collecting_action(args, AnsibleError('The module connreset.doctor.reset_facts was not found')).run(
        task_vars={})
    assert result['failed'] is True
    assert result['msg'] == 'connreset.doctor.reset_facts: The module connreset.doctor.reset_facts was not found'
    assert not (tmp_path / 'hosts').exists()


@pytest.mark.parametrize('variables, expected', [
    ({}, {'gather_subset': ['all'], 'budget': 20, 'collector_options': {}, 'endpoints': {}}),
    ({'diagnose_endpoints': [{'port': 443, 'unit': 'nginx.service'}], 'diagnose_gather_subset': ['!firewall']},
     {'gather_subset': ['!firewall'], 'budget': 20, 'collector_options': {},
      'endpoints': {'endpoints': [{'port': 443, 'unit': 'nginx.service'}]}}),
    ({'diagnose_capture': True}, None),   # capture.yml collected in a task of its own
])
def test_role_collects_in_the_diagnose_task(variables, expected):
    defaults = {'diagnose_gather_subset': ['all'], 'diagnose_budget': 20, 'diagnose_collector_options': {},
                'diagnose_endpoints': [], 'diagnose_capture': False}
    templar = Templar(loader=DataLoader(), variables=dict(defaults, **variables))
    args = _template_role_arg(templar, 'collect_args')
    assert args == expected
    if expected is not None:   # what the role passes are options reset_facts documents
        import yaml
        from ansible_collections.connreset.doctor.plugins.modules import reset_facts
        assert set(args) <= set(yaml.safe_load(reset_facts.DOCUMENTATION)['options'])
