# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area endpoints (connreset_endpoints): the TCP services the operator names (diagnose_endpoints).

First pass, per endpoint: nothing listening (CRD-SVC-001), crash or restart loop (002), OOM kills in
its cgroup (003), a full accept queue (004), descriptors (005), and the timeout chain against the
front in front of it (007 server closes first, 008 an L4 front forgets first); once per host the
ephemeral ports (006).  What could not be read is a coverage gap naming the endpoint and the part.

The controller's endpoint probe (tcp_probe, ``ctx.endpoint_probe``) is correlated after every area
ran (:func:`correlate_endpoint_probe`, called by _host.py like the ssh probe): a failing endpoint is
CRD-SVC-010 with the cause of the host finding of that endpoint that explains it (folded in), an
idle hold that ended badly CRD-SVC-011.

One finding per id and host (the finding contract): a finding of several endpoints carries each
one's evidence under ``evidence.endpoints[<endpoint name>]``, the report's per-endpoint link."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import CAUSES, severity_rank
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._probe import _probe_evidence
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import _EVENT, _B, _L, _N, _S
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sshd import restart_loop
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._tcp import queue_full
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._thresholds import (
    FLOW_FRONTS, REUSING_FRONTS,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import (
    _count, _dict, _list, _num, _reason_of, _samples, _status,
)
from ansible_collections.connreset.doctor.plugins.module_utils._probe import CAUSES as PROBE_CAUSES
from ansible_collections.connreset.doctor.plugins.module_utils._tcp_probe import TCP_CAUSES

KEY = 'connreset_endpoints'
MAX_ENDPOINTS = 64          # endpoints read of one host (the collector takes at most this many)
NAME_CHARS = 100
# The proxy's own timeout for idle upstream (server-side) connections, by front kind, when that
# proxy is an endpoint of the same host: how long it keeps reusing a connection to the service.
PROXY_UPSTREAM_KEYS = {'nginx': 'upstream keepalive_timeout', 'haproxy': 'timeout server'}
# Probe classifications each host finding of the same endpoint explains.
EXPLAINS = (
    ('CRD-SVC-001', ('refused', 'closed_at_connect', 'reset_at_connect', 'http_error')),
    ('CRD-SVC-002', ('refused', 'closed_at_connect', 'reset_at_connect', 'reset_after_request',
                     'closed_before_response', 'http_error', 'response_timeout')),
    ('CRD-SVC-003', ('refused', 'closed_at_connect', 'reset_at_connect', 'reset_after_request',
                     'closed_before_response', 'http_error', 'response_timeout')),
    ('CRD-SVC-004', ('reset_at_connect', 'closed_at_connect', 'connect_timeout', 'reset_after_request',
                     'closed_before_response', 'response_timeout', 'tls_timeout')),
    ('CRD-SVC-005', ('reset_at_connect', 'closed_at_connect', 'reset_after_request', 'closed_before_response',
                     'http_error', 'response_timeout')),
    ('CRD-SVC-007', ('reset_after_request', 'closed_before_response', 'http_error')),
)
# A proxy's failure that the timeout chain behind it explains (CRD-SVC-007 of an endpoint whose
# front is this endpoint's program).
CHAIN_CLASSIFICATIONS = ('http_error', 'reset_after_request', 'closed_before_response')


def _source(value):
    """Where a configured value was read: ``FILE:LINE``, or ``FILE`` (a command line has no line)."""
    return '%s:%s' % (value['file'], value['line']) if value.get('line') is not None else str(value['file'])


def _name(endpoint):
    return str(endpoint.get('name') or endpoint.get('port'))[:NAME_CHARS]


class _Per:
    """Findings of several endpoints: one emission per id, each endpoint's evidence under its name."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.items = {}

    def add(self, fid, name, evidence, severity, text):
        self.items.setdefault(fid, []).append((name, evidence, severity, text))

    def emit(self):
        """One finding per id; its severity (and, when the endpoints' evidence names one, its cause)
        are the most severe endpoint's (ties: the first)."""
        for fid, items in self.items.items():
            worst = sorted(items, key=lambda item: -severity_rank(item[2]))[0]
            cause = worst[1].get('cause') if worst[1].get('cause') in CAUSES else None
            self.ctx.emit(fid, {'endpoints': dict((n, e) for n, e, _s, _t in items)}, severity=worst[2],
                          cause=cause, summary='; '.join('%s: %s' % (n, t) for n, _e, _s, t in items))


def front_idle(endpoint, endpoints, presets):
    """``(kind, idle timeout s or None, where the timeout came from)`` of the endpoint's front: the
    operator's ``front.idle_timeout_s``, else the upstream timeout of a proxy of that kind among the
    host's ``endpoints``, else the kind's preset from ``presets``. Pure; the report shows the same."""
    front = _dict(endpoint.get('front'))
    kind = front.get('kind') if isinstance(front.get('kind'), str) else None
    if not kind or kind == 'none':
        return None, None, None
    given = _num(front.get('idle_timeout_s'))
    if given is not None:
        return kind, given, 'front.idle_timeout_s'
    key = PROXY_UPSTREAM_KEYS.get(kind)
    for other in endpoints:
        if other is endpoint or not isinstance(other, dict) or other.get('program') != kind:
            continue
        for value in _list(_dict(other.get('timeouts')).get('values')):
            value = _dict(value)
            if value.get('key') == key and _num(value.get('value_s')) is not None:
                where = '%s %s of %s' % (kind, key, _name(other))
                if value.get('file'):
                    where += ' (%s)' % _source(value)
                return kind, _num(value['value_s']), where
    preset = _num(_dict(presets).get(kind))
    if preset is not None:
        return kind, preset, 'preset %s' % kind
    return kind, None, None


def _front(ctx, endpoint, endpoints):
    return front_idle(endpoint, endpoints, ctx.t.get('idle_timeout_presets'))


def _check_timeout_chain(ctx, per, endpoint, endpoints, name):
    kind, front_s, source = _front(ctx, endpoint, endpoints)
    if not kind:
        return
    if front_s is None:
        ctx.gap(KEY, '%s front %s idle timeout' % (name, kind),
                'the idle timeout of front %s is not known: give front.idle_timeout_s in diagnose_endpoints, '
                'or list the %s in front of it as an endpoint of the same host' % (kind, kind))
        return
    timeouts = _dict(endpoint.get('timeouts'))
    idle = _dict(timeouts.get('idle_close'))
    if not idle:
        if _status(timeouts) == 'ok':
            ctx.gap(KEY, '%s idle close timeout' % name, 'the server\'s idle close timeout is not known')
        return  # an unknown/partial timeouts part is already a gap (its reason)
    server_s = _num(idle.get('value_s'))
    evidence = {'port': endpoint.get('port'), 'program': endpoint.get('program'), 'front_kind': kind,
                'front_idle_timeout_s': front_s, 'front_idle_source': source, 'server_idle_close_s': server_s,
                'server_idle_key': idle.get('key'), 'server_idle_file': idle.get('file'),
                'server_idle_line': idle.get('line'), 'server_idle_default': idle.get('default')}
    where = idle.get('key') or 'idle close'
    if idle.get('file'):
        where += ' ' + _source(idle)
    elif idle.get('default'):
        where += ' (default)'
    if kind in REUSING_FRONTS and server_s is not None and server_s < front_s:
        per.add('CRD-SVC-007', name, evidence, 'high',
                'server idle close %g s (%s) < front %s idle timeout %g s (%s)' % (
                    server_s, where, kind, front_s, source))
    elif kind in FLOW_FRONTS and (server_s is None or server_s > front_s):
        per.add('CRD-SVC-008', name, evidence, 'medium',
                'front %s forgets idle flows after %g s (%s), the server keeps them %s (%s)' % (
                    kind, front_s, source, 'without limit' if server_s is None else '%g s' % server_s, where))


def _check_one(ctx, per, endpoint, endpoints, sysctls):
    name = _name(endpoint)
    for part in ('service', 'events', 'oom', 'fds', 'timeouts'):
        sub = endpoint.get(part)
        if isinstance(sub, dict) and _status(sub) in ('unknown', 'partial'):
            ctx.gap(KEY, '%s %s' % (name, part), _reason_of(sub, 'status %s' % _status(sub)))
    service, events = _dict(endpoint.get('service')), _dict(endpoint.get('events'))
    listening = endpoint.get('listening')
    unit = endpoint.get('unit')
    base = {'port': endpoint.get('port'), 'unit': unit, 'program': endpoint.get('program')}

    if listening is None:
        ctx.gap(KEY, '%s listening' % name, _reason_of(endpoint, 'the listening sockets could not be read'))
    elif not listening:
        per.add('CRD-SVC-001', name, dict(base, active_state=service.get('active_state'),
                                          result=service.get('result')), 'critical',
                'nothing listens on port %s%s' % (endpoint.get('port'), ' (unit %s %s)' % (
                    unit, service.get('active_state')) if unit and service.get('active_state') else ''))

    loop = restart_loop(service, events, ctx.t['restarts_high'])
    if loop:
        evidence, high, text = loop
        per.add('CRD-SVC-002', name, dict(base, **evidence), 'high' if high else 'medium', text)

    oom = _dict(endpoint.get('oom'))
    kills, results = _num(oom.get('kill_count')), _num(oom.get('unit_results'))
    if (kills or 0) > 0 or (results or 0) > 0:
        per.add('CRD-SVC-003', name, dict(base, kill_count=kills, unit_results=results,
                                          kills=_list(oom.get('kills'))[-5:]), 'high',
                '%s OOM kill(s) in the unit\'s cgroup%s' % (
                    kills if kills is not None else results, ', systemd: oom-kill' if results else ''))

    abort = _num(sysctls.get('tcp_abort_on_overflow'))
    for listener in _list(listening)[:16]:
        listener = _dict(listener)
        if queue_full(listener):
            per.add('CRD-SVC-004', name, dict(base, listener=listener, tcp_abort_on_overflow=abort,
                                              somaxconn=sysctls.get('somaxconn')),
                    'high' if abort == 1 else 'medium',
                    'accept queue %s/%s on %s:%s (tcp_abort_on_overflow=%s)' % (
                        listener.get('recv_q'), listener.get('backlog'), listener.get('address'),
                        listener.get('port'), abort))
            break

    fds = _dict(endpoint.get('fds'))
    fill, emfile = _num(fds.get('fill')), _count(events.get('fd_exhaustion'))
    if (fill is not None and fill >= ctx.t['fd_fill_warn']) or (emfile or 0) > 0:
        high = (emfile or 0) > 0 or (fill is not None and fill >= ctx.t['fd_fill_high'])
        per.add('CRD-SVC-005', name, dict(base, open=fds.get('open'), soft_limit=fds.get('soft_limit'), fill=fill,
                                          too_many_open_files=emfile,
                                          samples=_samples(events.get('fd_exhaustion'))),
                'high' if high else 'medium',
                '%s of %s descriptors open%s' % (fds.get('open'), fds.get('soft_limit'),
                                                 ', %d "Too many open files"' % emfile if emfile else ''))
    _check_timeout_chain(ctx, per, endpoint, endpoints, name)


def _check_ephemeral(ctx, fact, endpoints):
    ports = _dict(fact.get('ephemeral_ports'))
    if _status(ports) == 'unknown':
        ctx.gap(KEY, 'ephemeral ports', _reason_of(ports, 'ephemeral_ports unknown'))
    fill = _num(ports.get('fill'))
    logged = dict((_name(e), _count(_dict(e.get('events')).get('addr_exhaustion'))) for e in endpoints)
    logged = dict((n, c) for n, c in logged.items() if c)
    if not logged and (fill is None or fill < ctx.t['ephemeral_fill_warn']):
        return
    high = bool(logged) or fill >= ctx.t['ephemeral_fill_high']
    text = '%s of %s local ports in use' % (ports.get('in_use'), ports.get('size'))
    if logged:
        text += '; "Cannot assign requested address" from %s' % ', '.join('%s (%d)' % i for i in sorted(logged.items()))
    ctx.emit('CRD-SVC-006', {'ephemeral_ports': ports, 'endpoints': dict(
        (n, {'cannot_assign_requested_address': c}) for n, c in logged.items())},
        severity='high' if high else 'medium', summary=text)


def _check_endpoints(ctx):
    """The TCP services of connreset_endpoints (issue 13)."""
    if not ctx.has(KEY):
        ctx.gap(KEY, 'TCP services', ctx.not_collected or
                'the endpoints facts were not collected (collector skipped or failed)')
        return
    fact = ctx.fact(KEY)
    if not _subpart_gaps(ctx, KEY, fact):
        return
    endpoints = [_dict(e) for e in _list(fact.get('endpoints'))[:MAX_ENDPOINTS]]
    sysctls = _dict(fact.get('sysctls'))
    per = _Per(ctx)
    for endpoint in endpoints:
        _check_one(ctx, per, endpoint, endpoints, sysctls)
    per.emit()
    if endpoints:
        _check_ephemeral(ctx, fact, endpoints)


# ---------------------------------------------------------------------------------------------
# the controller's endpoint probe
# ---------------------------------------------------------------------------------------------
def _probe_cause(summary):
    """The first likely cause of a probe classification that is a cause of the contract; the ssh
    probe's ``sshd_down`` ("the service is not running") is ``service_down`` for a service."""
    likely = (_list(summary.get('likely_causes')) or TCP_CAUSES.get(summary.get('classification'))
              or PROBE_CAUSES.get(summary.get('classification')) or [])
    for cause in likely:
        cause = 'service_down' if cause == 'sshd_down' else cause
        if cause in CAUSES and cause != 'coverage':
            return cause
    return 'coverage'


def _fold(ctx, fid, name):
    """Take endpoint ``name``'s evidence out of host finding ``fid`` (it is confirmed by a probe
    finding); drop the finding when no endpoint is left.  Returns (evidence, severity) or None."""
    finding = ctx.findings.get(fid)
    per = _dict(_dict(finding).get('evidence')).get('endpoints') if finding else None
    if not isinstance(per, dict) or name not in per:
        return None
    evidence = per.pop(name)
    severity, cause = finding['severity'], finding['cause']
    if not per:
        del ctx.findings[fid]
    else:
        finding['summary'] = '; '.join(p for p in str(finding.get('summary', '')).split('; ')
                                       if not p.startswith('%s: ' % name))
    return evidence, severity, cause


def _probe_endpoints(ctx):
    by_port = {}
    for item in _list(_dict(ctx.endpoint_probe).get('endpoints'))[:MAX_ENDPOINTS]:
        item = _dict(item)
        if _num(item.get('port')) is not None:
            by_port.setdefault(_num(item['port']), item)
    return by_port


def correlate_endpoint_probe(ctx):
    """CRD-SVC-010 / 011 from the controller's probe of each endpoint (``ctx.endpoint_probe``:
    tcp_probe's ``{endpoints, summary}``), matched to the collected endpoints by port."""
    by_port = _probe_endpoints(ctx)
    if not by_port:
        return
    fact = ctx.fact(KEY)
    collected = dict((_num(_dict(e).get('port')), _dict(e)) for e in _list(fact.get('endpoints'))[:MAX_ENDPOINTS])
    failing, idle = _Per(ctx), _Per(ctx)
    for port, item in sorted(by_port.items()):
        endpoint = collected.get(port, {})
        name = _name(endpoint) if endpoint else str(item.get('name') or port)[:NAME_CHARS]
        summary = _dict(item.get('summary'))
        classification = summary.get('classification')
        pev = dict(_probe_evidence(item, summary), port=port, protocol=item.get('protocol'))
        if classification == 'probe_error':
            ctx.gap(KEY, '%s probe' % name, 'the controller could not probe it: %s' % (
                summary.get('detail') or 'probe error'))
        elif classification and classification != 'ok' and not ctx.attributed(name, by_path_finding=True):
            # (a CRD-PATH finding that carries every reset of this endpoint's probe stands for it)
            _probe_failure(ctx, failing, name, endpoint, pev, classification, summary)
        _idle_hold(ctx, idle, name, item)
    failing.emit()
    idle.emit()


def _probe_failure(ctx, failing, name, endpoint, pev, classification, summary):
    confirms, severity, cause = {}, 'high', None
    for fid, classes in EXPLAINS:
        if classification in classes:
            folded = _fold(ctx, fid, name)
            if folded:
                evidence, old_severity, old_cause = folded
                confirms[fid] = evidence
                cause = cause or old_cause
                if severity_rank(old_severity) > severity_rank(severity):
                    severity = old_severity
    if not cause and classification in CHAIN_CLASSIFICATIONS and endpoint.get('program'):
        chain = _dict(_dict(ctx.findings.get('CRD-SVC-007')).get('evidence')).get('endpoints')
        behind = sorted(n for n, e in _dict(chain).items() if _dict(e).get('front_kind') == endpoint.get('program'))
        if behind:
            cause = 'idle_timeout'
            pev['explained_by'] = {'CRD-SVC-007': behind}
    if confirms:
        pev['confirms'] = confirms
    cause = cause or _probe_cause(summary)
    text = 'probe %s at %s%s' % (classification, summary.get('phase'), ' (confirms %s)' % ', '.join(
        sorted(confirms)) if confirms else (' (%s behind it: CRD-SVC-007)' % ', '.join(
            pev['explained_by']['CRD-SVC-007']) if 'explained_by' in pev else ''))
    failing.add('CRD-SVC-010', name, dict(pev, cause=cause), severity, text)


def _idle_hold(ctx, idle_per, name, item):
    hold = item.get('idle')
    if not isinstance(hold, dict):
        return
    ended, after = hold.get('ended'), _num(hold.get('after_s'))
    reuse = _dict(hold.get('reuse'))
    evidence = {'port': item.get('port'), 'ended': ended, 'after_s': after, 'reuse': reuse or None}
    if ended == 'error':
        ctx.gap(KEY, '%s idle hold' % name, 'the probe\'s idle hold failed: %s' % (hold.get('error') or 'no reason'))
        return
    if ended == 'rst':
        text, severity = 'the idle connection was reset after %s s' % after, 'high'
    elif ended == 'open' and reuse.get('outcome') not in (None, 'ok'):
        text, severity = 'idle %s s, then a request on it failed (%s): dropped silently' % (
            after, reuse.get('outcome')), 'medium'
    elif ended == 'fin' and any(_dict(_dict(ctx.findings.get(f)).get('evidence')).get('endpoints', {}).get(name)
                                for f in ('CRD-SVC-007', 'CRD-SVC-008')):
        text, severity = 'the server closed the idle connection after %s s' % after, 'medium'
    else:
        return
    for fid in ('CRD-SVC-007', 'CRD-SVC-008'):
        folded = _fold(ctx, fid, name)
        if folded:
            evidence.setdefault('confirms', {})[fid] = folded[0]
            if severity_rank(folded[1]) > severity_rank(severity):
                severity = folded[1]
    idle_per.add('CRD-SVC-011', name, evidence, severity, text)


AREA = KEY
_ENDPOINT = {
    'name': _S, 'port': _N, 'program': _S, 'unit': _S, 'listening': ([{'recv_q': _N, 'backlog': _N, 'port': _N}], _L),
    'front': {'kind': _S, 'idle_timeout_s': _N},
    'service': {'n_restarts': _N, 'active_state': _S, 'sub_state': _S, 'result': _S, 'manager': _S},
    'events': {'crashes': _EVENT, 'fd_exhaustion': _EVENT, 'addr_exhaustion': _EVENT,
               'restarts': ({'count': _N, 'samples': _L, 'automatic': _N, 'manual': _N, 'gave_up': _N}, _N, _L)},
    'oom': {'kill_count': _N, 'unit_results': _N, 'kills': _L},
    'fds': {'fill': _N, 'open': _N, 'soft_limit': _N},
    'timeouts': {'idle_close': {'value_s': _N, 'key': _S, 'default': _B},
                 'values': [{'key': _S, 'value_s': _N}]},
}
FACT_TYPES = {
    'endpoints': [_ENDPOINT],
    'sysctls': {'tcp_abort_on_overflow': _N, 'somaxconn': _N},
    'ephemeral_ports': {'fill': _N, 'in_use': _N, 'size': _N},
}
CHECKS = (_check_endpoints,)
CROSS_CHECKS = ()
