# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area path (_path.py): who sent each reset the probes received, from reset_capture's fact taken
on the host while the controller probed it.  Records are shaped like reset_capture's RETURN and the
probes' attempts (engine_cases: capture_fact, rst, probe_attempt), in the routed lab's addresses."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine import _path
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import (
    APP, LAB_CONTROLLER, LAB_HOST, LAB_NAT, RESET_EST_22, T0, capture_fact, case, endpoint, endpoint_probe_result,
    endpoints, probe_attempt, rst, run, ssh_idle, ssh_probe_idle, ssh_probe_result,
)
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import with_rules

# The path-reset fault (docs/lab.md): the router answers the handshake's ACK with a RST in the host's
# name; the probe's connect() raises ECONNRESET; the host sent nothing (OutRsts unchanged).
PATH_RESET = ssh_probe_result('reset_at_connect', probe_attempt())
# The host's own reset-rule (`tcp dport 22 ct state established reject with tcp reset`): the RST the
# host sent for the probe's connection, 4-tuple as the host sees it.
HOST_RST = rst('sent', LAB_HOST, 22, LAB_CONTROLLER, 51734, 2.011)
HOST_RESET = ssh_probe_result('reset_at_banner', probe_attempt('banner'))
# An IPS that resets both ends: the host received a RST "from the controller" for the same connection.
IPS_TO_HOST = rst('received', LAB_CONTROLLER, 51734, LAB_HOST, 22, 2.011, ttl=63, flags=('RST',))


def _find(result, fid):
    return next((f for f in result['findings'] if f['id'] == fid), None)


def _gap_text(result):
    cov = _find(result, 'CRD-COV-PATH')
    return cov['summary'] if cov else None


# ---------------------------------------------------------------------------------------------
# the four answers: host, path, no claim (capture unknown), no claim (window)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('patch, probe, capture, controller, expected, absent', [
    # received by the probe, not sent by the host: a device in the path
    ({}, PATH_RESET, capture_fact(), LAB_CONTROLLER, 'CRD-PATH-001', ('CRD-PROBE-007', 'CRD-COV-PATH')),
    # ... and the host received one too (an IPS resetting both ends)
    ({}, PATH_RESET, capture_fact([IPS_TO_HOST], deltas={'EstabResets': 1}), LAB_CONTROLLER, 'CRD-PATH-001',
     ('CRD-PROBE-007',)),
    # received by the probe and sent by the host, explained by its firewall's reset rule
    (with_rules(RESET_EST_22), HOST_RESET, capture_fact([HOST_RST], deltas={'OutRsts': 0}), LAB_CONTROLLER,
     'CRD-FW-002', ('CRD-PATH-001', 'CRD-PATH-002', 'CRD-PROBE-007')),
    # sent by the host, nothing on the host explains it
    ({}, HOST_RESET, capture_fact([HOST_RST], deltas={'OutRsts': 1, 'TCPAbortOnData': 1}), LAB_CONTROLLER,
     'CRD-PATH-002', ('CRD-PATH-001', 'CRD-PROBE-007')),
    # behind NAT with the port kept: the host sent it to the router's address, the controller as it sees it
    ({}, HOST_RESET, capture_fact([rst('sent', LAB_HOST, 22, LAB_NAT, 51734, 2.011)]), LAB_NAT, 'CRD-PATH-002',
     ('CRD-PATH-001',)),
    # capture unknown: no claim, a gap; the probe's own finding stays
    ({}, PATH_RESET, capture_fact(status='unknown', reason='opening an AF_PACKET socket needs CAP_NET_RAW (root): '
                                  'run the module with become: true (Operation not permitted)'),
     LAB_CONTROLLER, 'CRD-COV-PATH', ('CRD-PATH-001', 'CRD-PATH-002')),
    # the capture window ended before the probe's attempt
    ({}, PATH_RESET, capture_fact(started=T0 - 9.0), LAB_CONTROLLER, 'CRD-COV-PATH', ('CRD-PATH-001', 'CRD-PATH-002')),
], ids=['path', 'path-both-ends', 'host-fw-002', 'host-unexplained', 'host-behind-nat', 'capture-unknown',
        'window-not-covering'])
def test_attribution(patch, probe, capture, controller, expected, absent):
    ids, result = run(case(patch, probe_=probe, capture=capture, controller=controller))
    assert expected in ids, result
    assert not set(absent) & ids, result


def test_path_reset_evidence():
    _ids, result = run(case(probe_=PATH_RESET, capture=capture_fact([IPS_TO_HOST]), controller=LAB_CONTROLLER))
    finding = _find(result, 'CRD-PATH-001')
    assert finding['cause'] == 'path_reset' and finding['severity'] == 'high'
    evidence = finding['evidence']
    attempt = evidence['probes']['ssh']['attempts'][0]
    assert (attempt['local_address'], attempt['local_port'], attempt['address'], attempt['port']) == (
        LAB_CONTROLLER, 51734, LAB_HOST, 22)
    assert evidence['sent_by_host'] == 0 and evidence['counter_deltas'] == {'OutRsts': 0, 'EstabResets': 0}
    assert evidence['capture']['started_at'] == T0 and evidence['capture']['ports'] == [22]
    assert attempt['received_by_host'][0]['ttl'] == 63   # the device's reset toward the host
    assert '10.213.7.1:51734 -> 10.213.100.11:22' in finding['summary'] and 'not sent by this host' in finding['summary']
    assert 'OutRsts +0' in finding['summary']


def test_host_attribution_names_the_reset_on_the_explaining_finding():
    _ids, result = run(case(with_rules(RESET_EST_22), probe_=HOST_RESET, capture=capture_fact([HOST_RST]),
                            controller=LAB_CONTROLLER))
    attribution = _find(result, 'CRD-FW-002')['evidence']['attribution']
    assert attribution['sent_by'] == 'host'
    item = attribution['probes']['ssh'][0]
    assert item['sent_by_host'][0]['src'] == LAB_HOST and item['sent_by_host'][0]['dport'] == 51734
    assert set(item['sent_by_host'][0]) >= {'state', 'reason', 'ttl', 'flags'}


def test_host_attribution_follows_a_probe_confirmation():
    # sshd down: the host's kernel answered the SYN with a RST; CRD-PROBE-004 supersedes CRD-SSHD-001
    probe = ssh_probe_result('refused', probe_attempt('tcp_connect', 'refused', error='ConnectionRefusedError'))
    capture = capture_fact([rst('sent', LAB_HOST, 22, LAB_CONTROLLER, 51734, 2.005, flags=('RST', 'ACK'))])
    ids, result = run(case({'connreset_sshd.running': False}, probe_=probe, capture=capture,
                           controller=LAB_CONTROLLER))
    assert 'CRD-PROBE-004' in ids and not {'CRD-PATH-001', 'CRD-PATH-002'} & ids, result
    evidence = _find(result, 'CRD-PROBE-004')['evidence']
    assert evidence['attribution']['sent_by'] == 'host'
    assert evidence['supersedes']['CRD-SSHD-001']['attribution'] == evidence['attribution']


def test_host_unexplained_cause_is_the_probes():
    _ids, result = run(case(probe_=HOST_RESET, capture=capture_fact([HOST_RST]), controller=LAB_CONTROLLER))
    finding = _find(result, 'CRD-PATH-002')
    assert finding['cause'] == 'firewall' and finding['severity'] == 'medium'  # the probe's first likely cause
    assert 'no host finding explains it' in finding['summary']


@pytest.mark.parametrize('probe, capture, controller, reason', [
    (PATH_RESET, capture_fact(ports=[2222]), LAB_CONTROLLER, 'port 22 was not watched by the capture'),
    (ssh_probe_result('reset_at_connect', probe_attempt(local_port=None)), capture_fact(), LAB_CONTROLLER,
     'the probe recorded no local port'),
    (PATH_RESET, capture_fact(drops=3), LAB_CONTROLLER, 'the kernel dropped 3 captured packet(s)'),
    (PATH_RESET, capture_fact(started=T0 + 5.0), LAB_CONTROLLER, 'did not cover it'),
    # nat-idle: the host sees the router's address and another port: a reset it sent then cannot be
    # told from the probe's
    (PATH_RESET, capture_fact([rst('sent', LAB_HOST, 22, LAB_NAT, 40112, 2.01)]), LAB_CONTROLLER,
     'an address translation in the path may have rewritten the 4-tuple'),
    (PATH_RESET, dict(capture_fact(), started_at=None, ended_at=None), LAB_CONTROLLER, 'no window times'),
], ids=['port-not-watched', 'no-local-port', 'kernel-drops', 'window-starts-late', 'nat-rewrite', 'old-capture'])
def test_no_claim_is_a_gap(probe, capture, controller, reason):
    ids, result = run(case(probe_=probe, capture=capture, controller=controller))
    assert not {'CRD-PATH-001', 'CRD-PATH-002'} & ids, result
    assert reason in _gap_text(result), result
    assert 'CRD-PROBE-007' in ids      # nothing attributed: the probe's own finding stands


@pytest.mark.parametrize('probe, capture', [
    (PATH_RESET, None),                                                      # capture off (the default)
    (ssh_probe_result('ok', probe_attempt('session', 'ok')), capture_fact()),  # no reset received
    # ICMP port unreachable answered the SYN: a rejection, no reset
    (ssh_probe_result('rejected_icmp', probe_attempt('tcp_connect', 'refused', icmp={
        'type': 3, 'code': 3, 'origin': 'icmp', 'offender': LAB_HOST, 'text': 'port unreachable'})), capture_fact()),
], ids=['no-capture', 'no-reset', 'icmp-refusal'])
def test_nothing_to_attribute(probe, capture):
    ids, result = run(case(probe_=probe, capture=capture, controller=LAB_CONTROLLER))
    assert not {'CRD-PATH-001', 'CRD-PATH-002', 'CRD-COV-PATH'} & ids, result


def test_refused_by_a_path_reset_is_attributed():
    # a RST answering the SYN that the host never sent (a firewall in the path rejecting with tcp-reset)
    probe = ssh_probe_result('refused', probe_attempt('tcp_connect', 'refused', error='ConnectionRefusedError'))
    ids, _result = run(case(probe_=probe, capture=capture_fact(), controller=LAB_CONTROLLER))
    assert 'CRD-PATH-001' in ids and 'CRD-PROBE-007' not in ids


def test_mixed_attempts():
    # attempt 1 reset by the path, attempt 2 (3 s later, more than the clock slack) by the host, with
    # no explaining finding
    second = probe_attempt('banner', local_port=51736, at=5.0, number=2)
    probe = ssh_probe_result('intermittent_reset', probe_attempt(), second)
    capture = capture_fact([rst('sent', LAB_HOST, 22, LAB_CONTROLLER, 51736, 5.005)])
    ids, result = run(case(probe_=probe, capture=capture, controller=LAB_CONTROLLER))
    assert {'CRD-PATH-001', 'CRD-PATH-002'} <= ids and 'CRD-PROBE-007' not in ids
    assert [a['attempt'] for a in _find(result, 'CRD-PATH-001')['evidence']['probes']['ssh']['attempts']] == [1]
    assert [a['attempt'] for a in _find(result, 'CRD-PATH-002')['evidence']['probes']['ssh']['attempts']] == [2]


# ---------------------------------------------------------------------------------------------
# the endpoint probe
# ---------------------------------------------------------------------------------------------
def test_endpoint_reset_by_the_path():
    probe = endpoint_probe_result(8000, 'reset_after_request', probe_attempt('request', local_port=40210))
    ids, result = run(case(endpoints(APP), endpoint_probe=probe, capture=capture_fact(ports=[22, 8000]),
                           controller=LAB_CONTROLLER))
    assert 'CRD-PATH-001' in ids and 'CRD-SVC-010' not in ids, result
    assert 'app' in _find(result, 'CRD-PATH-001')['evidence']['probes']


def test_endpoint_reset_by_the_host_is_folded_with_its_attribution():
    # nothing listens on :8000: the host's kernel answers the SYN with a RST (CRD-SVC-001)
    down = endpoint(APP, listening=[])
    probe = endpoint_probe_result(8000, 'refused', probe_attempt('tcp_connect', 'refused', local_port=40212))
    capture = capture_fact([rst('sent', LAB_HOST, 8000, LAB_CONTROLLER, 40212, 2.003)], ports=[22, 8000])
    ids, result = run(case(endpoints(down), endpoint_probe=probe, capture=capture, controller=LAB_CONTROLLER))
    assert 'CRD-SVC-010' in ids and not {'CRD-PATH-001', 'CRD-PATH-002'} & ids, result
    confirmed = _find(result, 'CRD-SVC-010')['evidence']['endpoints']['app']['confirms']['CRD-SVC-001']
    assert confirmed['attribution']['sent_by'] == 'host'


# ---------------------------------------------------------------------------------------------
# the pure parts
# ---------------------------------------------------------------------------------------------
def _view(capture):
    view, reason = _path.capture_view(capture)
    assert reason is None
    return view


@pytest.mark.parametrize('dst', [LAB_CONTROLLER, '::ffff:10.213.7.1'])
def test_judge_matches_the_4tuple(dst):
    view = _view(capture_fact([rst('sent', LAB_HOST, 22, dst, 51734, 2.011)]))
    verdict, detail = _path.judge(view, probe_attempt(), 22)
    assert verdict == 'host' and len(detail) == 1


def test_judge_a_reset_sent_to_another_port_near_the_attempt_is_no_claim():
    # within the clock slack of the attempt: it may be this connection behind a port-rewriting NAT
    view = _view(capture_fact([rst('sent', LAB_HOST, 22, LAB_CONTROLLER, 50000, 2.9)]))
    verdict, reason = _path.judge(view, probe_attempt(), 22)
    assert verdict is None and 'address translation' in reason


def test_judge_other_connection_at_another_time_is_not_this_one():
    # the host reset another connection of the same controller earlier in the window: not this attempt's
    view = _view(capture_fact([rst('sent', LAB_HOST, 22, LAB_CONTROLLER, 50000, 0.5)]))
    assert _path.judge(view, probe_attempt(), 22)[0] == 'path'


@pytest.mark.parametrize('capture, reason', [
    ({}, None),
    (capture_fact(status='unknown', reason='no AF_PACKET'), 'the capture did not run on the host: no AF_PACKET'),
    ({'status': 'weird'}, 'the capture did not run on the host'),
])
def test_capture_view_without_a_capture(capture, reason):
    view, why = _path.capture_view(capture)
    assert view is None and (why == reason if reason is None else reason in why)


def test_the_host_document_keeps_the_capture():
    capture = capture_fact()
    doc = _engine.diagnose_host({'host': 'r1', 'facts': {}, 'probe': PATH_RESET, 'capture': capture,
                                 'controller': LAB_CONTROLLER})
    assert doc['capture'] == capture
    assert 'CRD-PATH-001' in {f['id'] for f in doc['findings']}
    assert _engine.diagnose_host({'host': 'r1', 'facts': {}})['capture'] is None


# ---------------------------------------------------------------------------------------------
# the path's idle timeout (CRD-PATH-003): the ssh probe's idle hold against the keepalives
# ---------------------------------------------------------------------------------------------
CAI = 'connreset_sshd.config.values.clientaliveinterval'


@pytest.mark.parametrize('patch, idle, severity', [
    # nat-idle --idle 3, held 5 s: silent; ClientAliveInterval 0 (Debian's default), TCP keepalive after 2 h
    ({}, ssh_idle('silent_drop', 5.0, answer=5.0), 'high'),
    # lb-idle --idle 3: HAProxy's FIN after 3 s
    ({}, ssh_idle('fin', 3.002), 'high'),
    ({}, ssh_idle('rst', 3.1), 'high'),
    # ClientAliveInterval at or above the measured close: sessions still die
    ({CAI: 300}, ssh_idle('fin', 240.0, hold=300), 'high'),
    # keepalives come sooner: the finding stays (the path ends idle connections), medium
    ({CAI: 60}, ssh_idle('fin', 240.0, hold=300), 'medium'),
    ({'connreset_tcp.sysctls.tcp_keepalive_time': 60}, ssh_idle('silent_drop', 300.0, hold=300), 'medium'),
    # sshd's ClientAliveInterval unknown (no sshd facts)
    ({CAI: None}, ssh_idle('fin', 3.0), 'medium'),
])
def test_idle_hold_finding(patch, idle, severity):
    ids, result = run(case(patch, probe_=ssh_probe_idle(idle), controller=LAB_CONTROLLER))
    finding = _find(result, 'CRD-PATH-003')
    assert finding, result
    assert (finding['severity'], finding['cause']) == (severity, 'idle_timeout')
    evidence = finding['evidence']
    assert (evidence['outcome'], evidence['measured_idle_close_s']) == (idle['outcome'], idle['after_s'])
    assert evidence['keepalive']['clientaliveinterval'] == patch.get(CAI, 0)
    assert evidence['local_port'] == idle['local_port'] and evidence['probe'] == 'ssh'
    assert ('%s s idle' % idle['after_s']) in finding['summary']
    if severity == 'high':
        assert 'idle sessions die' in finding['summary'] and evidence['keepalive_shorter'] is False
    assert 'CRD-PATH-001' not in ids and 'CRD-PROBE-007' not in ids


@pytest.mark.parametrize('idle', [None, ssh_idle('open', 5.0, answer=0.01)], ids=['no-hold', 'still-open'])
def test_idle_hold_no_finding(idle):
    probe = ssh_probe_idle(idle) if idle else ssh_probe_result('ok', probe_attempt('kex', 'ok'))
    ids, result = run(case(probe_=probe, controller=LAB_CONTROLLER))
    assert 'CRD-PATH-003' not in ids and 'CRD-COV-PATH' not in ids, result


def test_idle_hold_failed_is_a_gap():
    ids, result = run(case(probe_=ssh_probe_idle(ssh_idle('error', None, error='no SSH banner')),
                           controller=LAB_CONTROLLER))
    assert 'CRD-PATH-003' not in ids
    assert 'the idle hold failed: no SSH banner' in _gap_text(result)
    # the attempts failed too (sshd down): the probe's own finding says why, no gap on top
    down = dict(ssh_probe_result('refused', probe_attempt(outcome='refused')),
                idle=ssh_idle('error', None, error='ConnectionRefusedError: [Errno 111] Connection refused'))
    ids, result = run(case(probe_=down, controller=LAB_CONTROLLER))
    assert 'CRD-PATH-003' not in ids and 'CRD-COV-PATH' not in ids, result


def test_login_grace_time_is_sshd_not_the_path():
    # held 130 s: sshd's LoginGraceTime (120 s) ends a connection that never logs in
    ids, result = run(case(probe_=ssh_probe_idle(ssh_idle('fin', 120.01, hold=130)), controller=LAB_CONTROLLER))
    assert 'CRD-PATH-003' not in ids
    assert 'LoginGraceTime' in _gap_text(result)


def test_reset_sent_by_the_host_is_not_the_path():
    # the capture (10 s window from T0) saw this host reset the held connection (3 s into the hold)
    idle = ssh_idle('rst', 3.0, at=2.5, local_port=51740)
    sent = rst('sent', LAB_HOST, 22, LAB_CONTROLLER, 51740, 5.5)
    ids, result = run(case(probe_=ssh_probe_idle(idle), capture=capture_fact([sent]), controller=LAB_CONTROLLER))
    assert 'CRD-PATH-003' not in ids, result
    assert 'this host sent the reset' in _gap_text(result)
    # not seen leaving the host: the path
    ids, _result = run(case(probe_=ssh_probe_idle(idle), capture=capture_fact(), controller=LAB_CONTROLLER))
    assert 'CRD-PATH-003' in ids


# The routed lab's pmtu-icmp fault (docs/lab.md): the TCP handshake and sshd's banner pass, the key
# exchange's full-size segments vanish; the controller reaches r1 via the router's WAN address.
ROUTED = {'prefix': '10.213.127.0/24', 'gateway': '10.213.34.254', 'dev': 'crlab27'}
BRIDGED = {'prefix': '10.213.34.0/24', 'gateway': None, 'dev': 'crlab27'}
UNREACHABLE_TIMEOUT = {'msg': 'Failed to connect to the host via ssh: Connection to 10.213.127.11 port 22 timed out'}


def _hung(route, classification='kex_hang'):
    return dict(ssh_probe_result(classification, probe_attempt('kex', 'timeout')), route=route)


@pytest.mark.parametrize('probe, unreachable, expected', [
    (_hung(ROUTED), UNREACHABLE_TIMEOUT, True),                      # unreachable behind the router: the path's hole
    (_hung(ROUTED, 'session_hang'), None, True),
    (_hung(BRIDGED), UNREACHABLE_TIMEOUT, False),                    # on the controller's own link: not "behind a router"
    (_hung(None), UNREACHABLE_TIMEOUT, False),                       # no route recorded (an older probe): no claim
    (dict(ssh_probe_result('reset_at_connect', probe_attempt()), route=ROUTED), None, False),
])
def test_pmtu_black_hole_behind_a_router(probe, unreachable, expected):
    ids, result = run(case(probe_=probe, unreachable=unreachable))
    assert ('CRD-PATH-004' in ids) is expected, sorted(ids)
    if expected:
        finding = _find(result, 'CRD-PATH-004')
        assert finding['cause'] == 'mtu' and finding['evidence']['route']['gateway'] == '10.213.34.254'
        assert 'clamp the MSS' in finding['summary']
    if unreachable:
        assert 'CRD-REACH-002' in ids        # the host stays unreachable; the path finding says why
