# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area idle: what ends a quiet session - the path's idle timeout against sshd's and the kernel's
keepalives (CRD-IDLE-001), and conntrack forgetting idle flows that an invalid-drop rule then
kills (CRD-CT-004, a cross-area rule: it reads the firewall area's CRD-FW-003)."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sshd import _keepalive_on
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._thresholds import path_idle_timeout
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _num


def _keepalive_horizon(ctx):
    """(seconds before the first keepalive of an idle session or None when none is sent, evidence)."""
    values = _dict(_dict(ctx.fact('connreset_sshd').get('config')).get('values'))
    sysctls = _dict(ctx.fact('connreset_tcp').get('sysctls'))
    interval = _num(values.get('clientaliveinterval'))
    ka_time = _num(sysctls.get('tcp_keepalive_time'))
    kernel = _keepalive_on(values)
    candidates = [v for v in (interval if interval else None, ka_time if kernel else None) if v]
    evidence = {'clientaliveinterval': interval, 'tcpkeepalive': values.get('tcpkeepalive'),
                'tcp_keepalive_time': ka_time}
    known = interval is not None and (ka_time is not None or not kernel)
    return (min(candidates) if candidates else None), known, evidence


def _check_conntrack_idle(ctx):
    ct = ctx.fact('connreset_conntrack')
    established = _num(_dict(ct.get('timeouts')).get('established'))
    if established is None or ct.get('loaded') is False:
        return
    invalid_drops = ctx.findings.get('CRD-FW-003')
    if not invalid_drops:
        return
    horizon, known, evidence = _keepalive_horizon(ctx)
    if horizon is not None and horizon < established:
        return
    if horizon is None and not known:
        ctx.gap('connreset_conntrack', 'conntrack established timeout vs keepalives',
                'ClientAliveInterval or tcp_keepalive_time unknown')
        return
    evidence.update({'nf_conntrack_tcp_timeout_established': established,
                     'invalid_drop_rules': invalid_drops['evidence']['rules']})
    ctx.emit('CRD-CT-004', evidence, summary='conntrack forgets idle connections after %ss; first keepalive %s' % (
        established, 'after %ss' % horizon if horizon else 'never'))


def _check_idle(ctx):
    _check_conntrack_idle(ctx)
    idle, origin = path_idle_timeout(ctx.t)
    if idle is None:
        return
    values = _dict(_dict(ctx.fact('connreset_sshd').get('config')).get('values'))
    sysctls = _dict(ctx.fact('connreset_tcp').get('sysctls'))
    interval = _num(values.get('clientaliveinterval'))
    count_max = _num(values.get('clientalivecountmax'))
    tcp_keepalive = _keepalive_on(values)
    ka_time = _num(sysctls.get('tcp_keepalive_time'))
    if interval is None and ka_time is None:
        ctx.gap('connreset_sshd', 'keepalives against the path idle timeout',
                'neither ClientAliveInterval nor tcp_keepalive_time could be read')
        return
    client_alive_ok = interval is not None and 0 < interval < idle
    kernel_ok = tcp_keepalive and ka_time is not None and ka_time < idle
    if client_alive_ok or kernel_ok:
        return
    if interval is None or (tcp_keepalive and ka_time is None):
        ctx.gap('connreset_sshd', 'keepalives against the path idle timeout',
                'ClientAliveInterval or tcp_keepalive_time unknown')
        return
    ctx.emit('CRD-IDLE-001', {
        'path_idle_timeout': idle, 'source': origin, 'clientaliveinterval': interval,
        'clientalivecountmax': count_max,
        'clientalive_gives_up_after_s': interval * count_max if interval and count_max else None,
        'tcpkeepalive': values.get('tcpkeepalive'), 'tcp_keepalive_time': ka_time,
        'tcp_keepalive_intvl': sysctls.get('tcp_keepalive_intvl')},
        summary='idle sessions die after %ss (%s): ClientAliveInterval=%s, tcp_keepalive_time=%s%s' % (
            idle, origin, interval if interval else '0 (off)', ka_time,
            '' if tcp_keepalive else ' (TCPKeepAlive no)'))


# Reads connreset_sshd and connreset_tcp, typed by their areas; a check that fails is a gap of sshd.
AREA = 'connreset_sshd'
FACT_TYPES = None
CHECKS = (_check_idle,)
# Second pass: after every area's first-pass checks (CRD-FW-003 of the firewall area).
CROSS_CHECKS = (_check_conntrack_idle,)
