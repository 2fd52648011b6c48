# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area TCP wrappers (connreset_tcp_wrappers): hosts.allow / hosts.deny verdicts for the controller."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import _B, _L
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _list, _reason_of


def _check_wrappers(ctx):
    key = 'connreset_tcp_wrappers'
    if not ctx.has(key):
        ctx.gap(key, 'TCP wrappers', ctx.not_collected or 'the TCP wrappers facts were not collected (collector skipped or failed)')
        return
    wrap = ctx.fact(key)
    if not _subpart_gaps(ctx, key, wrap):
        return
    in_use = wrap.get('libwrap_in_use')
    if in_use is None:
        in_use = _dict(ctx.fact('connreset_sshd')).get('libwrap')
    errors = _list(wrap.get('errors'))
    if errors:
        ctx.emit('CRD-WRAP-003', {'errors': [
            {'file': _dict(e).get('file'), 'line': _dict(e).get('line'), 'text': _dict(e).get('text'),
             'reason': _dict(e).get('reason')} for e in errors[:20]]},
            summary=', '.join('%s:%s' % (_dict(e).get('file'), _dict(e).get('line')) for e in errors[:5]))
    if in_use is False:
        return
    verdicts = [_dict(v) for v in _list(wrap.get('verdicts'))]
    denied = [v for v in verdicts if v.get('access') == 'denied']
    unknown = [v for v in verdicts if v.get('access') == 'unknown']
    if in_use is None and (denied or unknown):
        ctx.gap(key, 'whether sshd uses libwrap', _reason_of(wrap, 'libwrap_in_use is null'))
    if denied:
        ctx.emit('CRD-WRAP-001', {'verdicts': denied, 'libwrap_in_use': in_use},
                 severity='critical' if in_use else 'high',
                 summary='%s denies %s' % ('%s:%s' % (denied[0].get('file'), denied[0].get('line')),
                                           ', '.join(str(v.get('client')) for v in denied)))
    if unknown:
        ctx.emit('CRD-WRAP-002', {'verdicts': unknown, 'libwrap_in_use': in_use},
                 summary='verdict for %s depends on name resolution' % ', '.join(
                     str(v.get('client')) for v in unknown))
    if not verdicts and in_use:
        ctx.gap(key, 'TCP wrappers verdict for the controller', wrap.get('clients_note')
                or 'no verdicts: the controller address was not known to the collector')


AREA = 'connreset_tcp_wrappers'
FACT_TYPES = {'libwrap_in_use': _B, 'errors': _L, 'verdicts': _L, 'clients': _L}
CHECKS = (_check_wrappers,)
CROSS_CHECKS = ()
