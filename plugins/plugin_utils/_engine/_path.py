# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area path: who sent the resets the controller's probes received (docs/attribution.md).

Input: the host's ``capture`` (the ``connreset_capture`` fact of ``reset_capture``, run on the
target while the controller probed it; the host document's ``capture``, ``ctx.capture``) and the
attempts of the ssh probe (``ctx.probe``) and of the endpoint probe (``ctx.endpoint_probe``). Each
attempt that received a reset (outcome ``reset``, or ``refused`` without an ICMP error: a RST
answered the SYN) is joined with the capture by its 4-tuple, as the host sees it: the host's
``sport`` is the probed port, its ``dport`` the probe's ``local_port``, its ``dst`` the probe's
``local_address`` or the controller's address as the host sees it.

- **sent by the host**: the capture saw this host send a RST for that 4-tuple. The host-side
  finding that explains such a reset (a tcp-reset rule, sshd down, TCP wrappers, MaxStartups, the
  accept queue, a crash; for an endpoint, the endpoint's finding) gets ``evidence.attribution``
  (``sent_by: host`` and the resets: 4-tuple, TTL, flags, socket state and reason when the kernel
  reported them); with no such finding, CRD-PATH-002.
- **not sent by the host** (CRD-PATH-001): the capture window covered the attempt, the capture
  saw no reset sent by this host for it nor any other reset sent from that port during it (which
  an address translation could have hidden), and the kernel dropped no captured packet. The
  counters (``OutRsts``, ``EstabResets``) and any reset the host *received* for the same
  connection (a device that resets both ends) are evidence.
- **no claim**: the capture unknown, its window not covering the attempt (clocks of the controller
  and the host are compared with :data:`CLOCK_TOLERANCE_S` of slack), the port not watched, the
  attempt without its local port, kernel drops, another reset sent from the port at that time:
  a coverage gap (CRD-COV-PATH) says why; unknown is not healthy.

Without a capture (``diagnose_capture: false``, the default) the area says nothing of resets.

The path's idle timeout (CRD-PATH-003, :func:`_check_idle_hold`): the ssh probe's idle hold
(``idle_hold_s``, the role's ``diagnose_probe_idle_hold_s``) kept one connection idle after sshd's
banner; ended by a FIN, a reset or a silent drop after X s, something ends idle connections: high
when no keepalive (sshd's ClientAliveInterval, the kernel's TCP keepalive with TCPKeepAlive)
comes within X s, so idle sessions die, else medium.  Not the path, and said so as a gap: a FIN
at sshd's LoginGraceTime (sshd ends a connection that never logs in), or a reset the capture saw
this host send for the held connection.

A cross-area rule (second pass): it reads the first pass's findings.  The probe correlations that
run after it (_probe.py, _endpoints.correlate_endpoint_probe) read ``ctx.attribution`` (through
``ctx.attributed``): a probe whose every reset a CRD-PATH finding carries is not a CRD-PROBE-007 /
CRD-SVC-010 too, and an ssh probe whose every reset was attributed is no CRD-PROBE-007 ("nothing
explains it").
"""

from __future__ import annotations

import ipaddress

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._endpoints import (
    EXPLAINS, MAX_ENDPOINTS, NAME_CHARS, _name,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._endpoints import _probe_cause as _endpoint_cause
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._idle import _keepalive_horizon
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._probe import _probe_cause
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import (
    _dict, _ip, _list, _num, _reason_of, _status,
)

KEY = 'capture'             # coverage key (CRD-COV-PATH): the host document's capture, not a collector fact
SSH = 'ssh'                 # the ssh probe's label in ctx.attribution and the evidence
CLOCK_TOLERANCE_S = 1.0     # slack between the controller's clock (attempts) and the host's (the window)
MAX_ATTEMPTS = 20           # attempts read per probe (ssh_probe allows at most 20)
MAX_RESETS = 5000           # capture records read (reset_capture keeps at most 5000)
MAX_SHOWN = 5               # resets shown per attempt in the evidence
IDLE_CLOSES = ('fin', 'rst', 'silent_drop')   # idle-hold outcomes where something ended the idle connection
LOGIN_GRACE_SLACK_S = 2.0   # a FIN this close to sshd's LoginGraceTime is sshd's own close
IDLE_KEYS = ('hold_s', 'outcome', 'after_s', 'answer_s', 'error', 'detail', 'tcp_info', 'address', 'local_address',
             'local_port')
RESET_KEYS = ('direction', 'src', 'sport', 'dst', 'dport', 'ttl', 'flags', 'interface', 'time', 'state', 'reason')
# ssh probe: the host findings that explain a reset the host sent, by the phase it came in (most
# specific first). Each makes sshd or the host's kernel send the RST: a tcp-reset rule, nothing
# listening, libwrap's or MaxStartups' close of an unread connection, a full accept queue with
# tcp_abort_on_overflow, a killed or crashed sshd.
SSH_EXPLAINS = (
    ('tcp_connect', ('CRD-FW-001', 'CRD-FW-004', 'CRD-SSHD-001', 'CRD-SSHD-009', 'CRD-TCP-002', 'CRD-TCP-001',
                     'CRD-FW-002')),
    ('banner', ('CRD-FW-002', 'CRD-FW-004', 'CRD-WRAP-001', 'CRD-WRAP-004', 'CRD-SSHD-004', 'CRD-SSHD-005',
                'CRD-SSHD-006', 'CRD-SSHD-007', 'CRD-TCP-002', 'CRD-TCP-001', 'CRD-OOM-001', 'CRD-SSHD-003')),
    ('kex', ('CRD-FW-002', 'CRD-OOM-001', 'CRD-SSHD-003', 'CRD-SSHD-005')),
    ('auth', ('CRD-FW-002', 'CRD-OOM-001', 'CRD-SSHD-003', 'CRD-SSHD-005', 'CRD-SSHD-008')),
    ('session', ('CRD-FW-002', 'CRD-OOM-001', 'CRD-SSHD-003')),
)


def _address(value):
    """The canonical text of an address (an IPv4-mapped IPv6 address as IPv4), or None."""
    parsed = _ip(value) if isinstance(value, str) else None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped
    return str(parsed) if parsed is not None else None


def received_reset(attempt):
    """True when the attempt ended because a TCP reset arrived: outcome ``reset``, or ``refused``
    without an ICMP error (a RST answered the SYN; an ICMP rejection is no reset)."""
    outcome = attempt.get('outcome')
    return outcome == 'reset' or (outcome == 'refused' and not attempt.get('icmp'))


def _probed(ctx):
    """``[(label, port, summary, attempts, endpoint name or None)]`` of the ssh and endpoint probes."""
    out = []
    probe = _dict(ctx.probe)
    if probe:
        out.append((SSH, _num(probe.get('port')) or 22, _dict(probe.get('summary')),
                    _list(probe.get('attempts'))[:MAX_ATTEMPTS], None))
    collected = dict((_num(_dict(e).get('port')), _dict(e)) for e in
                     _list(ctx.fact('connreset_endpoints').get('endpoints'))[:MAX_ENDPOINTS])
    seen = set()
    for item in _list(_dict(ctx.endpoint_probe).get('endpoints'))[:MAX_ENDPOINTS]:
        item = _dict(item)
        port = _num(item.get('port'))
        if port is None or port in seen:
            continue
        seen.add(port)
        endpoint = collected.get(port)
        name = _name(endpoint) if endpoint else str(item.get('name') or port)[:NAME_CHARS]
        out.append((name, port, _dict(item.get('summary')), _list(item.get('attempts'))[:MAX_ATTEMPTS], name))
    return out


def capture_view(capture):
    """``(view, reason)``: the capture's window and resets, or None and why it cannot attribute."""
    if not capture:
        return None, None
    status = _status(capture)
    if status == 'unknown' or status is None:
        return None, 'the capture did not run on the host: %s' % _reason_of(capture, 'status %s' % status)
    resets = capture.get('resets')
    started, ended = _num(capture.get('started_at')), _num(capture.get('ended_at'))
    if not isinstance(resets, list):
        return None, 'the capture recorded no resets list (%s)' % _reason_of(capture, 'no capture ran')
    if started is None or ended is None:
        return None, ('the capture has no window times (started_at/ended_at): a reset_capture older than '
                      'this engine; update the collection on the controller')
    ports = set(_num(p) for p in _list(capture.get('ports')) if _num(p) is not None)
    return {'started_at': started, 'ended_at': ended, 'ports': ports,
            'resets': [_dict(r) for r in resets[-MAX_RESETS:]],
            'kernel_drops': _num(capture.get('kernel_drops')),
            'deltas': _dict(capture.get('counter_deltas')) or None,
            'summary': {'status': status, 'reason': capture.get('reason'), 'method': capture.get('method'),
                        'ports': sorted(ports), 'started_at': started, 'ended_at': ended,
                        'window_s': capture.get('window_s'), 'stopped': capture.get('stopped'),
                        'counts': capture.get('counts'), 'kernel_drops': capture.get('kernel_drops')}}, None


def _shown(resets):
    return [dict((k, r.get(k)) for k in RESET_KEYS) for r in resets[:MAX_SHOWN]]


def _tuple_text(attempt, port):
    return '%s:%s -> %s:%s' % (attempt.get('local_address'), attempt.get('local_port'), attempt.get('address'), port)


def judge(view, attempt, port, controller=None, tolerance=CLOCK_TOLERANCE_S):
    """What the capture says of one attempt that received a reset. Pure.

    ``(verdict, detail)``: ``('host', sent resets)``, ``('path', {received: resets the host
    received for the connection})`` or ``(None, reason)`` when nothing can be claimed."""
    local_port = _num(attempt.get('local_port'))
    if local_port is None:
        return None, ('the probe recorded no local port for it (a probe older than this engine, or the connect '
                      'failed before a port was bound)')
    if port not in view['ports']:
        return None, 'port %s was not watched by the capture (ports %s)' % (port, sorted(view['ports']))
    start, end = _num(attempt.get('started_at')), _num(attempt.get('ended_at'))
    if start is None or end is None:
        return None, 'the probe recorded no time for it (started_at/ended_at)'
    if start < view['started_at'] + tolerance or end > view['ended_at'] - tolerance:
        return None, ('the capture window (%.3f to %.3f, host clock) did not cover it (%.3f to %.3f, controller '
                      'clock, %g s of slack): start the capture before the probe and make it longer' % (
                          view['started_at'], view['ended_at'], start, end, tolerance))
    peers = set(a for a in (_address(attempt.get('local_address')), _address(controller)) if a)
    sent = [r for r in view['resets'] if r.get('direction') == 'sent' and _num(r.get('sport')) == port
            and _num(r.get('dport')) == local_port and _address(r.get('dst')) in peers]
    if sent:
        return 'host', sent
    if view['kernel_drops']:
        return None, ('the kernel dropped %s captured packet(s): a reset this host sent may be among them' %
                      view['kernel_drops'])
    nearby = [r for r in view['resets'] if r.get('direction') == 'sent' and _num(r.get('sport')) == port
              and _num(r.get('time')) is not None and start - tolerance <= r['time'] <= end + tolerance]
    if nearby:
        return None, ('the host sent %d reset(s) from port %s to another peer during it (%s): an address '
                      'translation in the path may have rewritten the 4-tuple, so it is not attributed' % (
                          len(nearby), port, ', '.join('%s:%s' % (r.get('dst'), r.get('dport')) for r in nearby[:3])))
    received = [r for r in view['resets'] if r.get('direction') == 'received' and _num(r.get('dport')) == port
                and _num(r.get('sport')) == local_port and _address(r.get('src')) in peers]
    return 'path', {'received': received}


def _attempt_evidence(attempt, port):
    keys = ('attempt', 'phase', 'outcome', 'error', 'address', 'local_address', 'local_port', 'started_at', 'ended_at')
    return dict(dict((k, attempt.get(k)) for k in keys), port=port)


def _explainer(ctx, label, endpoint, phase, classification):
    """The first-pass finding that explains a reset the host sent: ``(fid, endpoint name or None)``."""
    if endpoint is None:
        for where, fids in SSH_EXPLAINS:
            if where == phase:
                return next(((f, None) for f in fids if f in ctx.findings), (None, None))
        return None, None
    for fid, classes in EXPLAINS:
        per = _dict(_dict(_dict(ctx.findings.get(fid)).get('evidence')).get('endpoints'))
        if classification in classes and isinstance(per.get(endpoint), dict):
            return fid, endpoint
    return None, None


def _attach(ctx, fid, endpoint, label, records):
    """``evidence.attribution`` of the explaining finding (of its endpoint's evidence for CRD-SVC-*)."""
    evidence = ctx.findings[fid]['evidence']
    if endpoint is not None:
        evidence = evidence['endpoints'][endpoint]
    attribution = evidence.setdefault('attribution', {'sent_by': 'host', 'probes': {}})
    attribution['probes'].setdefault(label, []).extend(records)


def _check_path(ctx):
    """Attribute every reset the probes received (see the module docstring)."""
    capture = _dict(ctx.capture)
    probed = [p for p in _probed(ctx) if any(received_reset(_dict(a)) for a in p[3])]
    if not capture or not probed:
        return
    view, reason = capture_view(capture)
    if view is None:
        ctx.gap(KEY, 'who sent the resets the probes received', reason)
        return
    path, unexplained = {}, {}
    for label, port, summary, attempts, endpoint in probed:
        counts = ctx.attribution.setdefault(label, {'resets': 0, 'path': 0, 'host': 0, 'host_unexplained': 0})
        for attempt in attempts:
            attempt = _dict(attempt)
            if not received_reset(attempt):
                continue
            counts['resets'] += 1
            verdict, detail = judge(view, attempt, port, ctx.controller)
            item = _attempt_evidence(attempt, port)
            if verdict is None:
                ctx.gap(KEY, '%s attempt %s (%s)' % (label, attempt.get('attempt'), _tuple_text(attempt, port)), detail)
                continue
            if verdict == 'path':
                counts['path'] += 1
                item['received_by_host'] = _shown(detail['received'])
                path.setdefault(label, (summary, []))[1].append(item)
                continue
            item['sent_by_host'] = _shown(detail)
            fid, name = _explainer(ctx, label, endpoint, attempt.get('phase'), summary.get('classification'))
            if fid:
                counts['host'] += 1
                _attach(ctx, fid, name, label, [item])
            else:
                counts['host_unexplained'] += 1
                unexplained.setdefault(label, (summary, []))[1].append(item)
    _emit(ctx, view, path, unexplained)


def _probe_block(summary, items):
    return {'classification': summary.get('classification'), 'phase': summary.get('phase'), 'attempts': items}


def _emit(ctx, view, path, unexplained):
    deltas = view['deltas']
    counters = None if deltas is None else dict((k, deltas.get(k)) for k in ('OutRsts', 'EstabResets') if k in deltas)
    if path:
        texts = []
        for label, (_summary, items) in sorted(path.items()):
            first = items[0]
            texts.append('%s: %d reset(s) (%s, %s at %s) not sent by this host%s' % (
                label, len(items), _tuple_text(first, first['port']), first['outcome'], first['phase'],
                '; the host received one too' if any(i['received_by_host'] for i in items) else ''))
        ctx.emit('CRD-PATH-001', {
            'probes': dict((label, _probe_block(s, items)) for label, (s, items) in path.items()),
            'capture': view['summary'], 'sent_by_host': 0, 'counter_deltas': counters},
            summary='; '.join(texts) + ('; OutRsts +%s over the window' % counters['OutRsts']
                                        if counters and counters.get('OutRsts') is not None else ''))
    if unexplained:
        label, (summary, _items) = sorted(unexplained.items())[0]
        cause = _probe_cause(summary) if label == SSH else _endpoint_cause(summary)
        ctx.emit('CRD-PATH-002', {
            'probes': dict((label, _probe_block(s, items)) for label, (s, items) in unexplained.items()),
            'capture': view['summary'], 'counter_deltas': counters}, cause=cause,
            summary='; '.join('%s: the host sent %d of the resets (%s) and no host finding explains it' % (
                label, len(items), _tuple_text(items[0], items[0]['port'])) for label, (_s, items) in sorted(
                    unexplained.items())))


def _check_idle_hold(ctx):
    """The ssh probe's idle hold against the session keepalives (see the module docstring)."""
    probe = _dict(ctx.probe)
    idle = _dict(probe.get('idle'))
    outcome, after = idle.get('outcome'), _num(idle.get('after_s'))
    what = 'the path idle timeout (the ssh probe\'s idle hold)'
    if outcome == 'error':
        # with every attempt failing too, the probe's own finding says why; no gap on top
        if _dict(probe.get('summary')).get('classification') == 'ok':
            ctx.gap(KEY, what, 'the idle hold failed: %s' % (idle.get('error') or 'no reason'))
        return
    if outcome not in IDLE_CLOSES or after is None:
        return
    values = _dict(_dict(ctx.fact('connreset_sshd').get('config')).get('values'))
    grace = _num(values.get('logingracetime'))
    if outcome == 'fin' and grace and abs(after - grace) <= LOGIN_GRACE_SLACK_S:
        ctx.gap(KEY, what, 'sshd itself closed the held connection after %s s, its LoginGraceTime (%s s) for a '
                'connection that never logs in, not the path: hold less than LoginGraceTime' % (after, grace))
        return
    port = _num(probe.get('port')) or 22
    if outcome == 'rst' and ctx.capture:
        view, _reason = capture_view(_dict(ctx.capture))
        verdict, detail = judge(view, idle, port, ctx.controller) if view else (None, None)
        if verdict == 'host':
            ctx.gap(KEY, what, 'this host sent the reset that ended the held connection after %s s (the capture: %s), '
                    'its own firewall or sshd, not the path' % (after, _shown(detail)[:1]))
            return
    horizon, _known, keepalive = _keepalive_horizon(ctx)
    keepalive['clientalivecountmax'] = _num(values.get('clientalivecountmax'))
    keepalive['first_keepalive_s'] = horizon
    interval = keepalive['clientaliveinterval']
    dies = interval is not None and (horizon is None or horizon >= after)
    evidence = dict((k, idle.get(k)) for k in IDLE_KEYS)
    evidence.update({'probe': SSH, 'port': port, 'measured_idle_close_s': after, 'keepalive': keepalive,
                     'keepalive_shorter': None if interval is None else not dies})
    how = {'fin': 'was closed (FIN)', 'rst': 'was reset', 'silent_drop': 'died silently (no answer after it)'}[outcome]
    if interval is None:
        verdict_text = 'sshd\'s ClientAliveInterval unknown'
    elif dies:
        verdict_text = ('ClientAliveInterval=%s, first keepalive %s: idle sessions die; set ClientAliveInterval below %d s '
                        '(ServerAliveInterval on clients) or raise the idle timeout in the path' % (
                            interval if interval else '0 (off)', 'after %ss' % horizon if horizon else 'never',
                            max(int(after) - 1, 1)))
    else:
        verdict_text = 'the keepalives (first after %ss) come sooner, sessions that send them survive' % horizon
    ctx.emit('CRD-PATH-003', evidence, severity='high' if dies else 'medium',
             summary='the ssh probe\'s idle connection %s after %s s idle: %s' % (how, after, verdict_text))


# The probe's classifications of a path-MTU black hole (module_utils/_probe.CAUSES: mtu first).
MTU_HANGS = ('kex_hang', 'session_hang')


def check_routed_mtu(ctx):
    """CRD-PATH-004: the ssh probe hung where a path-MTU black hole hangs (the key exchange or the session:
    the first full-size segments) and the controller reaches the host through a gateway (the probe's
    ``route``, from the controller's routing table): the black hole is in the routed path, a tunnel or a
    smaller link behind a router whose ICMP "fragmentation needed" does not come back. Not when the host's
    own MTU facts already explain it (CRD-PROBE-002). Runs for unreachable hosts too (the probe is the
    only view of them); called by the host evaluation after the probe correlations."""
    probe = _dict(ctx.probe)
    classification = _dict(probe.get('summary')).get('classification')
    route = _dict(probe.get('route'))
    if classification not in MTU_HANGS or not route.get('gateway') or 'CRD-PROBE-002' in ctx.findings:
        return
    evidence = {'probe': SSH, 'port': _num(probe.get('port')) or 22, 'classification': classification,
                'route': {'prefix': route.get('prefix'), 'gateway': route.get('gateway'), 'dev': route.get('dev')},
                'detail': _dict(probe.get('summary')).get('detail')}
    ctx.emit('CRD-PATH-004', evidence,
             summary='the ssh probe hung in %s (full-size segments lost) on a routed path (via %s on %s): a path-MTU '
                     'black hole behind a router; clamp the MSS on the router or enable PLPMTUD (tcp_mtu_probing=1)' % (
                         'the key exchange' if classification == 'kex_hang' else 'the session',
                         route.get('gateway'), route.get('dev')))


AREA = KEY
FACT_TYPES = {}
CHECKS = ()
CROSS_CHECKS = (_check_path, _check_idle_hold)
