# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One host: sanitise the facts, run every area's checks in their declared order (first pass, then
the cross-area second pass), coverage, the probe; score and level; the host document."""

from __future__ import annotations

import datetime

from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import (
    AREAS, COVERAGE_AREAS, SCHEMA_VERSION, SCORE_CAP, SEVERITIES, SEVERITY_WEIGHTS, severity_rank,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine import _areas, _endpoints
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _Context, make_finding
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._endpoints import correlate_endpoint_probe
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._path import check_routed_mtu
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._probe import _correlate_probe
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import MAX_FACT_PROBLEMS, sanitise_facts, sanitise_value
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._thresholds import merge_thresholds
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._unreachable import _unreachable_finding, classify_unreachable
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _ip, _status


def score(findings):
    """Capped sum of severity weights (see _catalogue.SEVERITY_WEIGHTS)."""
    return min(SCORE_CAP, sum(SEVERITY_WEIGHTS[f['severity']] for f in findings))


def level(findings):
    """Highest severity present; 'ok' when nothing is above info."""
    worst = max((severity_rank(f['severity']) for f in findings), default=0)
    return SEVERITIES[worst] if worst > 0 else 'ok'


def sort_findings(findings):
    return sorted(findings, key=lambda f: (-severity_rank(f['severity']), f['id']))


def _coverage_findings(ctx):
    for key, items in ctx.gaps.items():
        area = COVERAGE_AREAS[key][0]
        ctx.emit('CRD-COV-%s' % area, {'unchecked': items},
                 summary='; '.join('could not check %s: %s' % (i['check'], i['reason']) for i in items))


def evaluate_host(facts, probe=None, unreachable=None, thresholds=None, controller=None, failed=None,
                  endpoint_probe=None, capture=None):
    """Findings, score and level of one host.

    ``facts``: dict with any subset of the collector keys (connreset_sshd, ...), values may be
    None; ``probe``: the ssh_probe result or None; ``unreachable``: None or {msg} (Ansible's
    UNREACHABLE message); ``thresholds``: overrides of DEFAULT_THRESHOLDS; ``controller``: the
    controller's address as the host sees it (for exempt lists); ``failed``: None or {msg} when
    the host was reached but fact collection failed (every uncollected area says so);
    ``endpoint_probe``: tcp_probe's ``{endpoints, summary}`` for the host's endpoints, or None;
    ``capture``: reset_capture's ``connreset_capture`` fact taken on the host while the probes ran
    (the path area attributes the resets they received), or None.
    """
    return _evaluate(facts, probe, unreachable, thresholds, controller, failed, endpoint_probe, capture)[0]


def _evaluate(facts, probe, unreachable, thresholds, controller, failed, endpoint_probe=None, capture=None):
    """evaluate_host's result, and the sanitised facts and probe it was computed from."""
    t = merge_thresholds(thresholds)
    facts, problems = sanitise_facts(facts, _areas.FACT_TYPES)
    probe = sanitise_value(_dict(probe))
    ctx = _Context(facts, probe, t, controller if isinstance(controller, str) else _controller_from_facts(facts))
    ctx.endpoint_probe = sanitise_value(_dict(endpoint_probe))
    ctx.capture = sanitise_value(_dict(capture))
    if failed:
        ctx.not_collected = 'fact collection failed: %s' % str(_dict(failed).get('msg') or failed)[:2000]
    reachable = not unreachable
    if unreachable:
        _unreachable_finding(ctx, unreachable)
    checked = reachable or any(isinstance(facts.get(k), dict) for k in AREAS)
    if checked:
        _value_gaps(ctx, problems)
        # Every area's first-pass checks in their declared order, then the cross-area rules.
        for check in _areas.CHECKS + _areas.CROSS_CHECKS:
            _run_check(ctx, check)
        if reachable:
            _check_anything_checked(ctx)
    # The endpoint probe reads every area's findings (it folds in the ones it confirms); what it
    # could not read is a gap of the endpoints area, reported with the others.
    try:
        correlate_endpoint_probe(ctx)
    except CHECK_ERRORS as exc:
        ctx.gap(_endpoints.KEY, 'the endpoint probe', 'could not read the endpoint probe result (%s: %s)' % (
            type(exc).__name__, str(exc)[:200]))
    if checked or ctx.gaps:
        _coverage_findings(ctx)
    try:
        _correlate_probe(ctx, reachable)
        check_routed_mtu(ctx)   # reads the probe's route and CRD-PROBE-002 (the correlation's)
    except CHECK_ERRORS as exc:
        ctx.emit('CRD-COV-PROBE', {'probe': probe, 'error': '%s: %s' % (type(exc).__name__, str(exc)[:200])},
                 summary='could not read the probe result: %s' % type(exc).__name__)
    findings = sort_findings(ctx.findings.values())
    return {'findings': findings, 'score': score(findings), 'level': level(findings)}, facts, probe


# What a check may raise on a value no table above foresaw; any of them is a coverage gap of the
# check's area and the other checks still run.
CHECK_ERRORS = (ArithmeticError, AttributeError, LookupError, TypeError, ValueError, RecursionError)


def _value_gaps(ctx, problems):
    """A coverage gap per bad fact value the sanitiser replaced, naming the fact and the value."""
    for key, items in sorted(problems.items()):
        if key not in AREAS:
            continue
        for path, reason in items[:MAX_FACT_PROBLEMS]:
            ctx.gap(key, 'fact %s' % path, reason)
        if len(items) > MAX_FACT_PROBLEMS:
            ctx.gap(key, 'fact %s' % key, '%d more bad values not listed' % (len(items) - MAX_FACT_PROBLEMS))


def _run_check(ctx, check):
    try:
        check(ctx)
    except CHECK_ERRORS as exc:
        key = _areas.CHECK_AREA[check]
        name = check.__name__.replace('_check_', '')
        ctx.gap(key, 'the %s check' % name, 'failed on an unexpected value in %s (%s: %s); the other checks ran' % (
            key, type(exc).__name__, str(exc)[:200]))


def _check_anything_checked(ctx):
    """CRD-COV-NONE when no collector returned usable facts: a host nothing was checked on is
    not healthy (gather_subset ['!all'], or every collector unknown)."""
    statuses = {}
    for key, (_area, name) in AREAS.items():
        part = ctx.facts.get(key)
        statuses[name] = (_status(part) or 'no status') if isinstance(part, dict) else 'not collected'
    if any(status in ('ok', 'partial') for status in statuses.values()):
        return
    meta = ctx.fact('connreset_meta')
    subset = meta.get('gather_subset')
    if ctx.not_collected:
        reason = ctx.not_collected
    elif isinstance(subset, list) and not subset:
        reason = 'gather_subset selected no collector'
    elif all(status == 'not collected' for status in statuses.values()):
        reason = 'no collector returned facts'
    else:
        reason = 'no collector returned usable facts (%s)' % ', '.join(
            '%s %s' % (name, status) for name, status in statuses.items() if status != 'not collected')
    ctx.emit('CRD-COV-NONE', {'gather_subset': subset, 'collectors': statuses},
             summary='nothing was checked on the host: %s' % reason)


def _controller_from_facts(facts):
    """The controller's address as the collectors saw it: ``connreset_meta.controller`` (from
    SSH_CONNECTION, the one home of it; docs/development.md), or None."""
    value = _dict(facts.get('connreset_meta')).get('controller')
    return value if isinstance(value, str) and _ip(value) else None


# The diagnose role reports a failed (not unreachable) reset_facts with this prefix.
_COLLECTION_FAILED = 'connreset.doctor.reset_facts failed'


def diagnose_host(data):
    """The per-host document the report consumes (schema_version 1).

    ``data``: {host, facts, probe, unreachable (None or {msg}), thresholds, controller (optional),
    failed (optional: None or {msg} when the host was reached but collecting facts failed),
    endpoint_probe (optional: tcp_probe's {endpoints, summary} of the host's endpoints),
    capture (optional: reset_capture's connreset_capture fact of the probes' window)}.
    """
    data = _dict(data)
    facts = _dict(data.get('facts'))
    unreachable = data.get('unreachable') or None
    if isinstance(unreachable, str):
        unreachable = {'msg': unreachable}
    failed = data.get('failed') or None
    if isinstance(failed, str):
        failed = {'msg': failed}
    if unreachable and str(_dict(unreachable).get('msg') or '').startswith(_COLLECTION_FAILED):
        failed, unreachable = unreachable, None  # reached, but the collection failed
    merge_thresholds(data.get('thresholds'))  # a bad threshold is the caller's error: ValueError
    try:
        result, clean_facts, clean_probe = _evaluate(facts, data.get('probe'), unreachable, data.get('thresholds'),
                                                     data.get('controller'), failed, data.get('endpoint_probe'),
                                                     data.get('capture'))
    except CHECK_ERRORS as exc:
        # Never a lost host: an engine error on this input is a finding of the host.
        findings = [make_finding('CRD-COV-NONE', {'engine_error': '%s: %s' % (type(exc).__name__, str(exc)[:500])},
                                 summary='nothing was checked on the host: the facts could not be evaluated (%s)' % (
                                     type(exc).__name__))]
        clean_facts, clean_probe = sanitise_facts(facts, _areas.FACT_TYPES)[0], sanitise_value(data.get('probe'))
        result = {'findings': findings}
    message = _dict(unreachable).get('msg')
    message = None if message is None else str(message)
    unreachable_doc = None if not unreachable else {'msg': message, 'classification': classify_unreachable(message)}
    endpoint_probe = sanitise_value(data.get('endpoint_probe')) if isinstance(data.get('endpoint_probe'), dict) else None
    capture = sanitise_value(data.get('capture')) if isinstance(data.get('capture'), dict) else None
    return _host_doc(data.get('host'), unreachable_doc, clean_facts, clean_probe or None, result['findings'],
                     endpoint_probe, capture)


def _host_doc(host, unreachable, facts, probe, findings, endpoint_probe=None, capture=None):
    """The one shape of a host document (docs/report.schema.json, hosts[])."""
    return {
        'schema_version': SCHEMA_VERSION,
        'host': host,
        'generated_at': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'reachable': not unreachable,
        'unreachable': unreachable,
        'facts': facts,
        'probe': probe,
        'endpoint_probe': endpoint_probe,
        'capture': capture,
        'findings': findings,
        'score': score(findings),
        'level': level(findings),
    }


def missing_host_doc(host, reason):
    """The document of a host of the play without a stored diagnosis (CRD-COV-HOST): the report
    lists every host of the play, and this one cannot pass a gate."""
    findings = [make_finding('CRD-COV-HOST', {'reason': reason}, summary='no diagnosis stored: %s' % reason)]
    return _host_doc(host, {'msg': 'no diagnosis stored: %s' % reason, 'classification': 'other'}, {}, None, findings)
