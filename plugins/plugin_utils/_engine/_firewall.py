# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area firewall (connreset_firewall): reset, invalid-drop and limit rules on the ssh ports (typed
by the collector: module_utils/_firewall), and bans of the controller."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import _L
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sshd import _ssh_ports
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _list, _num, _reason_of


def _ports_hit(ranges, ports):
    """Whether a rule's typed ``ports`` ([[low, high], ...], negation already applied by the
    collector) cover one of ``ports``; None when the rule names no port (it covers every port)."""
    if ranges is None:
        return None
    for pair in _list(ranges):
        pair = _list(pair)
        low, high = (_num(pair[0]), _num(pair[1])) if len(pair) == 2 else (None, None)
        if low is not None and high is not None and any(low <= p <= high for p in ports):
            return True
    return False


def _check_firewall(ctx):
    key = 'connreset_firewall'
    if not ctx.has(key):
        ctx.gap(key, 'firewall', ctx.not_collected or 'the firewall facts were not collected (collector skipped or failed)')
        return
    fw = ctx.fact(key)
    if not _subpart_gaps(ctx, key, fw):
        return
    ports = set(_ssh_ports(ctx))
    rules = [_dict(r) for r in _list(fw.get('rules'))]
    if fw.get('rules') is None:
        ctx.gap(key, 'firewall rules', _reason_of(fw, 'firewall.rules is null'))
    matched = {'CRD-FW-001': [], 'CRD-FW-002': [], 'CRD-FW-003': [], 'CRD-FW-005': []}
    for rule in rules:
        # The collector types every rule (docs/development.md, the collector -> engine contract):
        # action reject_tcp_reset / reject / drop, ports with negation applied, limit, invalid.
        hit = _ports_hit(rule.get('ports'), ports)
        action = rule.get('action')
        drops = action in ('drop', 'reject', 'reject_tcp_reset')
        where = {k: rule.get(k) for k in ('backend', 'family', 'table', 'chain', 'rule', 'action',
                                          'target_ports', 'ports', 'established_only')}
        # A rule that names no port (a catch-all after the accept rules) is not one "on ssh".
        if hit and rule.get('limit') is True and drops:
            matched['CRD-FW-005'].append(where)  # only connections over the limit are hit
        elif hit and action == 'reject_tcp_reset':
            matched['CRD-FW-002' if rule.get('established_only') is True else 'CRD-FW-001'].append(where)
        if rule.get('invalid') is True and drops and hit is not False:
            matched['CRD-FW-003'].append(where)
    invalid = _num(_dict(ctx.fact('connreset_conntrack').get('stats')).get('invalid'))
    for fid, hits in matched.items():
        if not hits:
            continue
        evidence = {'rules': hits, 'ssh_ports': sorted(ports)}
        severity = None
        if fid == 'CRD-FW-003':
            evidence['conntrack_invalid'] = invalid
            severity = 'medium' if invalid else 'low'
        ctx.emit(fid, evidence, severity=severity, summary='; '.join(
            '%s %s/%s: %s' % (h.get('backend'), h.get('table'), h.get('chain'), h.get('rule')) for h in hits[:3]))
    blocked = _list(fw.get('blocked'))
    if blocked:
        ctx.emit('CRD-FW-004', {'blocked': blocked},
                 summary='%s banned by %s' % (', '.join(str(_dict(b).get('client')) for b in blocked),
                                              ', '.join(sorted({str(_dict(b).get('by')) for b in blocked}))))
    elif fw.get('blocked') is None:
        ctx.gap(key, 'bans of the controller', _reason_of(fw, 'firewall.blocked is null'))


AREA = 'connreset_firewall'
FACT_TYPES = {'rules': _L, 'blocked': _L, 'clients': _L}
CHECKS = (_check_firewall,)
CROSS_CHECKS = ()
