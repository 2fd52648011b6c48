# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area sshd (connreset_sshd): the daemon, its service history, its log events and its
configuration (typed by the collector: module_utils/_sshd.typed_config)."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils import _addrmatch
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import _B, _EVENT, _L, _N, _S
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _count, _dict, _ip, _list, _num, _reason_of, _samples, _status


SSHD_PROCESS_NAMES = ('sshd', 'sshd-session', 'sshd-auth')


SSHD_UNITS = ('ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket')


def _address_in(address, patterns):
    """True/False whether sshd would exempt ``address`` by the typed exempt list (entries negated
    with ``!`` and wildcard patterns as addrmatch.c matches them); None when unknown."""
    addr = _ip(address)
    if addr is None:
        return None
    return _addrmatch.exempt(addr, [str(i) for i in _list(patterns) if i])


def _ssh_ports(ctx):
    values = _dict(_dict(ctx.fact('connreset_sshd').get('config')).get('values'))
    raw = values.get('port')
    ports = [int(_num(p)) for p in (raw if isinstance(raw, list) else [raw]) if _num(p) is not None]
    return ports or [int(p) for p in ctx.t['ssh_ports_default']]


def _drops_severity(ctx, count):
    if count >= ctx.t['startup_drops_high']:
        return 'high'
    if count >= ctx.t['startup_drops_medium']:
        return 'medium'
    if count >= ctx.t['startup_drops_low']:
        return 'low'
    return None


def _check_sshd(ctx):
    key = 'connreset_sshd'
    if not ctx.has(key):
        ctx.gap(key, 'sshd', ctx.not_collected or 'the sshd facts were not collected (collector skipped or failed)')
        return
    sshd = ctx.fact(key)
    if sshd.get('installed') is False:
        # Not "sshd is down": nothing to start.  Critical only where the inventory says this host
        # must serve SSH (diagnose_sshd_required); the probe's refusal is then explained too.
        reason = sshd.get('installed_reason') or 'sshd is not installed'
        if ctx.t['sshd_required']:
            ctx.emit('CRD-SSHD-001', {'installed': False, 'reason': reason, 'sshd_required': True},
                     summary='sshd is not installed, but this host must serve SSH (sshd_required)')
        else:
            ctx.emit('CRD-SSHD-009', {'installed': False, 'reason': reason}, summary=reason)
        return
    if not _subpart_gaps(ctx, key, sshd):
        return
    service = _dict(sshd.get('service'))
    config = _dict(sshd.get('config'))
    values = _dict(config.get('values'))
    events = _dict(sshd.get('events'))

    running = sshd.get('running')
    if running is False:
        ctx.emit('CRD-SSHD-001', {
            'running': running, 'active_state': service.get('active_state'),
            'sub_state': service.get('sub_state'), 'result': service.get('result'),
            'listening': sshd.get('listening')},
            summary='sshd is not running (%s)' % (
                'unit %s' % service.get('active_state') if service.get('active_state')
                else 'no sshd process; service state unknown'))
    elif running is None:
        ctx.gap(key, 'whether sshd is running', _reason_of(service, 'sshd.running is null'))

    if config.get('valid') is False:
        ctx.emit('CRD-SSHD-002', {'valid': False, 'error': config.get('error')},
                 summary='sshd -t: %s' % (config.get('error') or 'configuration rejected'))
    elif config.get('valid') is None:
        ctx.gap(key, 'the sshd configuration', _reason_of(config, 'sshd.config.valid is null'))

    # Crash loop / restarts.
    n_restarts = _num(service.get('n_restarts'))
    loop = restart_loop(service, events, ctx.t['restarts_high'])
    if loop:
        evidence, high, text = loop
        ctx.emit('CRD-SSHD-003', evidence, severity='high' if high else 'medium', summary='sshd ' + text)
    if n_restarts is None and service.get('manager') == 'systemd':
        ctx.gap(key, 'systemd NRestarts of sshd', _reason_of(service, 'service.n_restarts is null'))

    # Log events: MaxStartups and penalty drops, libwrap refusals.
    if events and _status(events) != 'unknown':
        for kind, fid, label in (('maxstartups_drops', 'CRD-SSHD-004', 'past MaxStartups'),
                                 ('penalties', 'CRD-SSHD-005', 'under PerSourcePenalties')):
            count = _count(events.get(kind))
            if count is None:
                ctx.gap(key, 'sshd log: drops %s' % label, _reason_of(events, 'events.%s is null' % kind))
                continue
            severity = _drops_severity(ctx, count)
            if severity:
                ctx.emit(fid, {kind: count, 'last': _dict(events.get(kind)).get('last'),
                               'since': events.get('since'), 'samples': _samples(events.get(kind))},
                         severity=severity, summary='%d connections dropped %s' % (count, label))
        refusals = _count(events.get('wrap_refusals'))
        if refusals:
            ctx.emit('CRD-WRAP-004', {'wrap_refusals': refusals, 'since': events.get('since'),
                                      'samples': _samples(events.get('wrap_refusals'))},
                     summary='libwrap refused %d connections to sshd' % refusals)
    elif not events:
        ctx.gap(key, 'sshd log events', 'sshd.events missing')

    # Configuration checks (not on a configuration sshd rejected or that could not be read).
    if config.get('valid') is not False and values and _status(config) != 'unknown':
        _check_sshd_values(ctx, key, sshd, values)
    elif not values and config.get('valid') is not False:
        ctx.gap(key, 'sshd settings (sshd -T)', _reason_of(config, 'sshd.config.values missing'))


def restart_loop(service, events, restarts_high):
    """A unit's crash or restart loop from systemd's view (``service``) and its log (``events``,
    the counting rules of the sshd collector, shared by every endpoint unit): None, or
    ``(evidence, high, text)``; high when it failed, hit its start limit or NRestarts >= restarts_high."""
    n_restarts = _num(service.get('n_restarts'))
    crashes = _count(events.get('crashes'))
    restarts = _count(events.get('restarts'))
    restart_kinds = _dict(events.get('restarts'))
    if 'automatic' in restart_kinds:
        # Manual restarts (an admin, a config-management handler) are not a crash loop.
        restarts = _num(restart_kinds.get('automatic'))
    failed = service.get('active_state') == 'failed'
    texts = ' '.join(str(s) for s in _samples(events.get('crashes')) + _samples(events.get('restarts')))
    start_limit = (service.get('result') == 'start-limit-hit'
                   or bool(_num(restart_kinds.get('gave_up')))
                   or 'Start request repeated too quickly' in texts)
    if not (failed or start_limit or (n_restarts or 0) > 0 or (crashes or 0) > 0 or (restarts or 0) > 0):
        return None
    high = start_limit or failed or (n_restarts or 0) >= restarts_high
    evidence = {
        'active_state': service.get('active_state'), 'result': service.get('result'),
        'n_restarts': n_restarts, 'exec_main_status': service.get('exec_main_status'),
        'crashes': crashes, 'automatic_restarts': restarts, 'start_limit_hit': start_limit,
        'manual_restarts': restart_kinds.get('manual'),
        'samples': (_samples(events.get('crashes')) + _samples(events.get('restarts')))[-5:]}
    return evidence, high, 'failed/restarted: NRestarts=%s, crashes=%s, restarts=%s%s' % (
        n_restarts, crashes, restarts, ', start limit hit' if start_limit else '')


def _keepalive_on(values):
    """TCPKeepAlive as the collector typed it (bool); null (not read) counts as sshd's default, yes."""
    return values.get('tcpkeepalive') is not False


def _check_sshd_values(ctx, key, sshd, values):
    maxstartups = _dict(values.get('maxstartups'))
    start = _num(maxstartups.get('start'))
    if start is None:
        ctx.gap(key, 'MaxStartups', 'config.values.maxstartups.start is null')
    elif start < ctx.t['expected_concurrency']:
        ctx.emit('CRD-SSHD-006', {'maxstartups': maxstartups,
                                  'expected_concurrency': ctx.t['expected_concurrency']},
                 summary='MaxStartups starts dropping at %d unauthenticated connections (< %d)' % (
                     start, ctx.t['expected_concurrency']))

    # Typed by the collector: a dict when on, false for `no`, null before OpenSSH 9.8; the exempt
    # list a list of sshd patterns, null for `none`.
    penalties = values.get('persourcepenalties')
    if isinstance(penalties, dict):
        exempt = values.get('persourcepenaltyexemptlist')
        empty = not [e for e in _list(exempt) if e]
        covered = None if empty else _address_in(ctx.controller, exempt)
        if empty or covered is False:
            ctx.emit('CRD-SSHD-007', {'persourcepenalties': penalties,
                                      'persourcepenaltyexemptlist': exempt,
                                      'controller': ctx.controller, 'version': sshd.get('version')},
                     summary='PerSourcePenalties on; exempt list %s the controller' % (
                         'is empty, so it does not cover' if empty else 'does not cover'))
        elif covered is None:
            ctx.gap(key, 'PerSourcePenaltyExemptList vs the controller',
                    'controller address unknown: pass `controller` to diagnose_host')

    grace = _num(values.get('logingracetime'))
    unparsed = _dict(_dict(sshd.get('config')).get('unparsed'))
    if grace is None:
        if 'logingracetime' in unparsed:
            ctx.gap(key, 'LoginGraceTime', 'unreadable value %r' % unparsed['logingracetime'])
    elif 0 < grace < ctx.t['login_grace_min_s']:
        ctx.emit('CRD-SSHD-008', {'logingracetime': values.get('logingracetime'), 'seconds': grace,
                                  'minimum': ctx.t['login_grace_min_s']},
                 summary='LoginGraceTime is %ss' % grace)


AREA = 'connreset_sshd'
# The fact values the checks read, by type: a dict is "a dict with these keys", a tuple "one of",
# a one-item list "a list of".  Keys not listed are only checked for inf/NaN and size.
FACT_TYPES = {
    'running': _B, 'installed': _B, 'installed_reason': _S, 'listening': _L, 'libwrap': _B,
    'service': {'n_restarts': _N, 'active_state': _S, 'sub_state': _S, 'result': _S, 'manager': _S},
    'config': {'valid': _B, 'values': {
        'maxstartups': {'start': _N}, 'port': _L, 'logingracetime': _N, 'clientaliveinterval': _N,
        'clientalivecountmax': _N, 'tcpkeepalive': _B, 'persourcepenalties': ({}, _B),
        'persourcepenaltyexemptlist': _L}, 'unparsed': {}},
    'events': {'crashes': _EVENT, 'maxstartups_drops': _EVENT, 'penalties': _EVENT,
               'wrap_refusals': _EVENT,
               'restarts': ({'count': _N, 'samples': _L, 'automatic': _N, 'manual': _N, 'gave_up': _N},
                            _N, _L)},
}
CHECKS = (_check_sshd,)
CROSS_CHECKS = ()
