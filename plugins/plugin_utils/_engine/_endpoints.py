# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area endpoints (connreset_endpoints): the TCP services the operator names (diagnose_endpoints)."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _list, _reason_of, _status


# The host checks in order, and the area whose coverage finding reports a check that failed.
def _check_endpoints(ctx):
    """The TCP services of connreset_endpoints (issue 13): what could not be read of each is a coverage gap."""
    key = 'connreset_endpoints'
    if not ctx.has(key):
        ctx.gap(key, 'TCP services', ctx.not_collected or
                'the endpoints facts were not collected (collector skipped or failed)')
        return
    fact = ctx.fact(key)
    if not _subpart_gaps(ctx, key, fact):
        return
    for endpoint in _list(fact.get('endpoints'))[:64]:
        endpoint = _dict(endpoint)
        name = str(endpoint.get('name') or endpoint.get('port'))[:100]
        for part in ('service', 'events', 'oom', 'fds', 'timeouts'):
            sub = endpoint.get(part)
            if isinstance(sub, dict) and _status(sub) in ('unknown', 'partial'):
                ctx.gap(key, '%s %s' % (name, part), _reason_of(sub, 'status %s' % _status(sub)))
        if endpoint.get('listening') is None:
            ctx.gap(key, '%s listening' % name, _reason_of(endpoint, 'the listening sockets could not be read'))


AREA = 'connreset_endpoints'
FACT_TYPES = None
CHECKS = (_check_endpoints,)
CROSS_CHECKS = ()
