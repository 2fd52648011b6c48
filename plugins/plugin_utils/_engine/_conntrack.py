# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area conntrack (connreset_conntrack): table fill, drops, table-full events, ENA allowances."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import _B, _EVENT, _N, _shown
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _count, _dict, _num, _reason_of, _samples


def _check_conntrack(ctx):
    key = 'connreset_conntrack'
    if not ctx.has(key):
        ctx.gap(key, 'conntrack', ctx.not_collected or 'the conntrack facts were not collected (collector skipped or failed)')
        return
    ct = ctx.fact(key)
    if not _subpart_gaps(ctx, key, ct):
        return
    if ct.get('loaded') is False:
        return
    count, limit = _num(ct.get('count')), _num(ct.get('max'))
    fill = _num(ct.get('fill'))
    if fill is None and count is not None and limit:
        fill = float(count) / limit
    if fill is not None and not 0 <= fill <= 100:
        # count/max is at most a little over 1 (the table grows past max briefly): a value out
        # of this range is not a measurement.
        ctx.gap(key, 'fact connreset_conntrack.fill', 'out of range: %s (count %s, max %s)' % (
            _shown(fill), _shown(count), _shown(limit)))
    elif fill is None:
        ctx.gap(key, 'conntrack table fill', _reason_of(ct, 'count/max not readable'))
    elif fill >= ctx.t['conntrack_fill_warn']:
        ctx.emit('CRD-CT-001', {'count': count, 'max': limit, 'fill': round(fill, 4),
                                'buckets': ct.get('buckets'), 'shared_netns': ct.get('shared_netns')},
                 severity='high' if fill >= ctx.t['conntrack_fill_crit'] else 'medium',
                 summary='conntrack table %d%% full (%s/%s)' % (round(fill * 100), count, limit))
    stats = _dict(ct.get('stats'))
    full = _count(ct.get('table_full_events'))
    drops = {k: _num(stats.get(k)) for k in ('drop', 'early_drop', 'insert_failed')}
    bad = {k: v for k, v in drops.items() if v}
    if bad or full:
        severity = 'high' if (full or drops.get('drop')) else 'medium'
        ctx.emit('CRD-CT-002', {'stats': bad, 'table_full_events': full,
                                'samples': _samples(ct.get('table_full_events'))},
                 severity=severity,
                 summary='conntrack %s' % ', '.join(
                     ['%s=%s' % kv for kv in sorted(bad.items())]
                     + (['%s "table full" log lines' % full] if full else [])))
    if not stats:
        ctx.gap(key, 'conntrack drop statistics', _reason_of(ct, 'conntrack.stats missing'))
    _check_ena(ctx, ct)


def _check_ena(ctx, ct):
    """AWS ENA allowance counters ({iface: {counter: n}} or {iface: None}); absent off EC2."""
    exceeded = {}
    for iface, counters in sorted(_dict(ct.get('ena_allowance')).items()):
        value = _num(_dict(counters).get('conntrack_allowance_exceeded'))
        if value:
            exceeded[iface] = {k: v for k, v in _dict(counters).items() if 'allowance' in str(k)}
    if exceeded:
        ctx.emit('CRD-CT-003', {'ena_allowance': exceeded},
                 summary='; '.join('%s: conntrack_allowance_exceeded=%s' % (i, c.get('conntrack_allowance_exceeded'))
                                   for i, c in exceeded.items()))


AREA = 'connreset_conntrack'
FACT_TYPES = {
    'loaded': _B, 'count': _N, 'max': _N, 'fill': _N, 'table_full_events': _EVENT,
    'stats': {'drop': _N, 'early_drop': _N, 'insert_failed': _N, 'invalid': _N},
    'timeouts': {'established': _N}, 'ena_allowance': {},
}
CHECKS = (_check_conntrack,)
CROSS_CHECKS = ()
