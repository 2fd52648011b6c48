# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area MTU (connreset_mtu): interface MTUs and the path MTU toward the controller."""

from __future__ import annotations


from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import _B, _L, _N, _S
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _list, _num, _reason_of, _status


MTU_FINDINGS = ('CRD-MTU-001', 'CRD-MTU-002', 'CRD-MTU-003', 'CRD-MTU-004')


def _path_mismatch(target, interfaces):
    """(dev_mtu, path_mtu) when the target's path MTU is below its device MTU, else None."""
    target = _dict(target)
    probe = _dict(target.get('probe'))
    path = _num(probe.get('path_mtu')) or _num(target.get('mtu'))
    dev_mtu = _num(_dict(interfaces.get(str(target.get('dev')))).get('mtu'))
    if path and dev_mtu and path < dev_mtu:
        return dev_mtu, path
    return None


def _check_mtu(ctx):
    key = 'connreset_mtu'
    if not ctx.has(key):
        ctx.gap(key, 'MTU', ctx.not_collected or 'the MTU facts were not collected (collector skipped or failed)')
        return
    mtu = ctx.fact(key)
    if not _subpart_gaps(ctx, key, mtu):
        return
    interfaces = {str(_dict(i).get('name')): _dict(i) for i in _list(mtu.get('interfaces'))}
    targets = [_dict(t) for t in _list(mtu.get('targets'))]
    probing = _num(mtu.get('tcp_mtu_probing'))
    for target in targets:
        probe = _dict(target.get('probe'))
        if _status(target) == 'unknown':
            ctx.gap(key, 'route to %s' % target.get('target'), _reason_of(target, 'target status unknown'))
            continue
        if probe.get('blackhole') is True:
            ctx.emit('CRD-MTU-001', {'target': target.get('target'), 'dev': target.get('dev'),
                                     'probe': probe, 'tcp_mtu_probing': probing},
                     summary='large packets to %s are lost (path MTU %s)' % (
                         target.get('target'), probe.get('path_mtu')))
        elif probe.get('blackhole') is None and _status(probe) in ('unknown', 'partial'):
            ctx.gap(key, 'path MTU to %s' % target.get('target'), _reason_of(probe, 'probe status unknown'))
        mismatch = _path_mismatch(target, interfaces)
        if mismatch and probing == 0:
            ctx.emit('CRD-MTU-002', {'target': target.get('target'), 'dev': target.get('dev'),
                                     'dev_mtu': mismatch[0], 'path_mtu': mismatch[1], 'tcp_mtu_probing': 0},
                     summary='path MTU %s < %s on %s and tcp_mtu_probing=0' % (
                         mismatch[1], mismatch[0], target.get('dev')))
        elif mismatch and probing is None:
            ctx.gap(key, 'net.ipv4.tcp_mtu_probing', 'tcp_mtu_probing is null')
        dev = interfaces.get(str(target.get('dev')))
        dev_mtu = _num(_dict(dev).get('mtu'))
        if dev_mtu is not None and dev_mtu < ctx.t['min_mtu'] and target.get('dev') != 'lo':
            ctx.emit('CRD-MTU-003', {'target': target.get('target'), 'dev': target.get('dev'),
                                     'mtu': dev_mtu, 'kind': _dict(dev).get('kind')},
                     summary='%s has MTU %s' % (target.get('dev'), dev_mtu))
    if not targets:
        ctx.gap(key, 'route and path MTU to the controller',
                _reason_of(mtu, 'no targets: the controller address was not known to the collector'))


AREA = 'connreset_mtu'
FACT_TYPES = {
    'interfaces': [{'name': _S, 'mtu': _N, 'addresses': _L}], 'tcp_mtu_probing': _N,
    'targets': [{'target': _S, 'dev': _S, 'mtu': _N, 'probe': {'path_mtu': _N, 'blackhole': _B}}],
}
CHECKS = (_check_mtu,)
CROSS_CHECKS = ()
