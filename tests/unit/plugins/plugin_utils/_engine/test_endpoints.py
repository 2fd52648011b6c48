# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area endpoints (_endpoints.py): what could not be read of each named service is a coverage gap
(CRD-COV-SVC) that names the endpoint and the part; a service read in full adds nothing."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import (
    APP as LAB_APP, HAPROXY, case, endpoint, endpoints, run, tcp_probe,
)

# endpoint_facts of a bookworm lab host running the lab's gunicorn app on :8000 (unit app.service),
# trimmed to the keys the area reads.
APP = {'name': 'app:8000', 'port': 8000, 'protocol': 'http', 'front': None, 'unit': 'app.service',
       'unit_source': 'socket', 'program': 'gunicorn', 'status': 'ok', 'reason': None,
       'listening': [{'address': '0.0.0.0', 'port': 8000, 'recv_q': 0, 'backlog': 2048, 'pids': [311],
                      'processes': ['gunicorn']}],
       'service': {'manager': 'systemd', 'unit': 'app.service', 'active_state': 'active', 'status': 'ok',
                   'reason': None},
       'events': {'status': 'ok', 'reason': None}, 'oom': {'status': 'ok', 'reason': None, 'kill_count': 0},
       'fds': {'status': 'ok', 'reason': None, 'open': 9, 'soft_limit': 1024},
       'timeouts': {'status': 'ok', 'reason': None, 'program': 'gunicorn'}}


def with_endpoint(**changes):
    endpoint = dict(APP)
    endpoint.update(changes)
    return case({'connreset_endpoints.endpoints': [endpoint]})


def test_a_service_read_in_full_adds_nothing():
    ids, result = run(with_endpoint())
    assert not [f for f in result['findings'] if f['id'] == 'CRD-COV-SVC'], result


@pytest.mark.parametrize('part, reason', [
    ('service', 'no systemd on this host (PID 1 is sh): the unit history cannot be read'),
    ('timeouts', '/etc/redis/redis.conf: Permission denied: use become: true'),
    ('oom', 'no kernel log readable: dmesg_restrict=1: use become: true'),
])
def test_an_unreadable_part_is_a_gap_naming_endpoint_and_part(part, reason):
    ids, result = run(with_endpoint(**{part: {'status': 'unknown', 'reason': reason}}))
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-SVC')
    assert 'app:8000 %s' % part in cov['summary'] and reason in cov['summary']


def test_unreadable_listening_sockets_are_a_gap():
    _ids, result = run(with_endpoint(listening=None, reason='ss and /proc/net/tcp unreadable'))
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-SVC')
    assert 'app:8000 listening' in cov['summary'] and 'ss and /proc/net/tcp unreadable' in cov['summary']


def _finding(result, fid):
    return next((f for f in result['findings'] if f['id'] == fid), None)


DOWN = endpoint(listening=[], service=dict(LAB_APP['service'], active_state='failed', result='exit-code'))


@pytest.mark.parametrize('classification, host, expected_cause, folded, severity', [
    # nothing listens and the probe is refused: the host finding is folded in, its severity kept
    ('refused', DOWN, 'service_down', 'CRD-SVC-001', 'critical'),
    # a full queue and tcp_abort_on_overflow=1: the reset at connect is the overflow
    ('reset_at_connect', endpoint(listening=[dict(LAB_APP['listening'][0], recv_q=3, backlog=2)]), 'listen_queue',
     'CRD-SVC-004', 'high'),
    # OOM-killed and the request is reset: memory
    ('reset_after_request', endpoint(oom=dict(LAB_APP['oom'], kill_count=2)), 'resource_exhaustion',
     'CRD-SVC-003', 'high'),
    # nothing on the host explains it: the probe's own likely cause (sshd_down reads service_down)
    ('refused', LAB_APP, 'service_down', None, 'high'),
    ('tls_alert', LAB_APP, 'configuration', None, 'high'),
])
def test_a_failing_probe_takes_the_cause_of_the_finding_it_confirms(
        classification, host, expected_cause, folded, severity):
    _ids, result = run(case(endpoints(host), endpoint_probe=tcp_probe(8000, classification)))
    svc = _finding(result, 'CRD-SVC-010')
    assert (svc['cause'], svc['severity']) == (expected_cause, severity), svc
    assert svc['evidence']['endpoints']['app']['classification'] == classification
    if folded:
        assert _finding(result, folded) is None
        assert folded in svc['evidence']['endpoints']['app']['confirms']


def test_folding_one_endpoint_keeps_the_other_endpoints_evidence():
    other = endpoint(DOWN, name='worker', port=8001, listening=[])
    _ids, result = run(case(endpoints(DOWN, other), endpoint_probe=tcp_probe(8000, 'refused')))
    kept = _finding(result, 'CRD-SVC-001')
    assert list(kept['evidence']['endpoints']) == ['worker'] and 'app:' not in kept['summary']
    assert list(_finding(result, 'CRD-SVC-010')['evidence']['endpoints']) == ['app']


def test_a_proxys_502_is_explained_by_the_timeout_chain_behind_it():
    app = endpoint(front={'kind': 'haproxy', 'idle_timeout_s': None})
    failing = tcp_probe(8080, 'http_error', 'request', 'http_error')
    _ids, result = run(case(endpoints(app, HAPROXY), endpoint_probe=failing))
    svc = _finding(result, 'CRD-SVC-010')
    assert svc['cause'] == 'idle_timeout'
    assert svc['evidence']['endpoints']['proxy']['explained_by'] == {'CRD-SVC-007': ['app']}
    chain = _finding(result, 'CRD-SVC-007')['evidence']['endpoints']['app']
    assert (chain['server_idle_close_s'], chain['front_idle_timeout_s']) == (2.0, 60)
    assert chain['front_idle_source'] == 'haproxy timeout server of proxy (/etc/haproxy/haproxy.cfg:23)'


@pytest.mark.parametrize('front, server_s, expected', [
    ({'kind': 'aws-alb', 'idle_timeout_s': None}, 2.0, 'CRD-SVC-007'),       # preset 60 s
    ({'kind': 'aws-alb', 'idle_timeout_s': 1}, 2.0, None),                   # the operator's own value wins
    ({'kind': 'gcp-lb', 'idle_timeout_s': None}, 650.0, None),              # 650 s > 600 s: the advice followed
    ({'kind': 'nginx', 'idle_timeout_s': None}, 75.0, None),                 # nginx upstream default 60 s
    ({'kind': 'aws-nlb', 'idle_timeout_s': None}, 2.0, None),                # the server closes first: fine
    ({'kind': 'aws-nlb', 'idle_timeout_s': None}, 900.0, 'CRD-SVC-008'),    # NLB forgets after 350 s
    ({'kind': 'none', 'idle_timeout_s': None}, 2.0, None),
])
def test_the_timeout_chain(front, server_s, expected):
    idle = dict(LAB_APP['timeouts']['idle_close'], value_s=server_s)
    ids, _result = run(case(endpoints(endpoint(front=front, timeouts=dict(LAB_APP['timeouts'], idle_close=idle)))))
    assert ids & {'CRD-SVC-007', 'CRD-SVC-008'} == ({expected} if expected else set())


def test_a_front_whose_idle_timeout_is_unknown_is_a_gap():
    # HAProxy in front but not an endpoint of this host, and no idle_timeout_s: nothing to compare
    ids, result = run(case(endpoints(endpoint(front={'kind': 'haproxy', 'idle_timeout_s': None}))))
    assert 'CRD-SVC-007' not in ids
    assert 'app front haproxy idle timeout' in _finding(result, 'CRD-COV-SVC')['summary']


@pytest.mark.parametrize('abort, severity', [(1, 'high'), (0, 'medium')])
def test_accept_queue_severity_follows_tcp_abort_on_overflow(abort, severity):
    full = endpoint(listening=[dict(LAB_APP['listening'][0], recv_q=2, backlog=2)])
    _ids, result = run(case(dict(endpoints(full), **{'connreset_endpoints.sysctls.tcp_abort_on_overflow': abort})))
    assert _finding(result, 'CRD-SVC-004')['severity'] == severity


@pytest.mark.parametrize('idle, front, expected', [
    ({'ended': 'rst', 'after_s': 5.0}, None, 'high'),
    ({'ended': 'open', 'after_s': 60.0, 'reuse': {'outcome': 'reset'}}, None, 'medium'),
    # a server closing an idle connection with FIN is its keep-alive timeout: a finding only when a
    # front keeps reusing connections longer (CRD-SVC-007, folded in)
    ({'ended': 'fin', 'after_s': 2.0}, None, None),
    ({'ended': 'fin', 'after_s': 2.0}, {'kind': 'aws-alb', 'idle_timeout_s': None}, 'high'),
    ({'ended': 'open', 'after_s': 60.0, 'reuse': {'outcome': 'ok'}}, None, None),
])
def test_the_idle_hold(idle, front, expected):
    _ids, result = run(case(endpoints(endpoint(front=front)),
                            endpoint_probe=tcp_probe(8000, 'ok', 'request', 'ok', idle=idle)))
    found = _finding(result, 'CRD-SVC-011')
    assert (found and found['severity']) == expected, result['findings']
    if front:
        assert _finding(result, 'CRD-SVC-007') is None and 'CRD-SVC-007' in (
            found['evidence']['endpoints']['app']['confirms'])


def test_a_probe_that_could_not_run_is_a_gap():
    _ids, result = run(case(endpoints(LAB_APP), endpoint_probe=tcp_probe(8000, 'probe_error')))
    assert 'app probe' in _finding(result, 'CRD-COV-SVC')['summary']


@pytest.mark.parametrize('hostile', [
    'not a probe', ['a', 'list'], {'endpoints': 'x'}, {'endpoints': [None, 7, {'port': 'x' * 100}]},
    {'endpoints': [{'port': 8000, 'summary': 'refused', 'idle': ['rst']}]},
    {'endpoints': [{'port': 8000, 'summary': {'classification': {'nested': 1}}, 'attempts': 'x'}]},
    {'endpoints': [{'port': float('nan'), 'summary': {'classification': 'refused'}}]},
])
def test_a_hostile_endpoint_probe_never_loses_the_host(hostile):
    _ids, result = run(case(endpoints(LAB_APP), endpoint_probe=hostile))
    assert result['level'] in ('ok', 'info', 'low', 'medium', 'high', 'critical')


def test_the_host_document_keeps_the_endpoint_probe():
    from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine
    from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import facts
    doc = _engine.diagnose_host({'host': 'web', 'facts': facts(**endpoints(LAB_APP)),
                                 'endpoint_probe': tcp_probe(8000, 'refused')})
    assert doc['endpoint_probe']['endpoints'][0]['summary']['classification'] == 'refused'
    assert 'CRD-SVC-010' in [f['id'] for f in doc['findings']]
    assert _engine.diagnose_host({'host': 'web', 'facts': facts()})['endpoint_probe'] is None


@pytest.mark.parametrize('idle, where', [
    # gunicorn --keep-alive 1 in ExecStart: the lab's keepalive-mismatch host, a command line has no line number
    ({'key': 'keepalive', 'value_s': 1.0, 'default': False, 'file': '/proc/63/cmdline', 'line': None},
     'keepalive /proc/63/cmdline'),
    ({'key': 'keepalive', 'value_s': 1.0, 'default': False, 'file': '/etc/gunicorn.conf.py', 'line': 4},
     'keepalive /etc/gunicorn.conf.py:4'),
    ({'key': 'keepalive', 'value_s': 2.0, 'default': True, 'file': None, 'line': None}, 'keepalive (default)'),
])
def test_the_timeout_chain_names_where_the_server_value_was_read(idle, where):
    app = endpoint(front={'kind': 'aws-alb', 'idle_timeout_s': None},
                   timeouts=dict(LAB_APP['timeouts'], idle_close=dict(LAB_APP['timeouts']['idle_close'], **idle)))
    _ids, result = run(case(endpoints(app)))
    summary = _finding(result, 'CRD-SVC-007')['summary']
    assert '(%s) < front aws-alb idle timeout 60 s' % where in summary and 'None' not in summary
