# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area kernel TCP (connreset_tcp): listen-queue overflows and the sshd listener's backlog."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import _N
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sshd import _ssh_ports
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _list, _num, _reason_of


def _check_tcp(ctx):
    key = 'connreset_tcp'
    if not ctx.has(key):
        ctx.gap(key, 'kernel TCP counters', ctx.not_collected or 'the TCP facts were not collected (collector skipped or failed)')
        return
    tcp = ctx.fact(key)
    if not _subpart_gaps(ctx, key, tcp):
        return
    counters = _dict(tcp.get('counters'))
    sysctls = _dict(tcp.get('sysctls'))
    abort = _num(sysctls.get('tcp_abort_on_overflow'))
    overflows, listen_drops = _num(counters.get('ListenOverflows')), _num(counters.get('ListenDrops'))
    if overflows is None and listen_drops is None:
        ctx.gap(key, 'ListenOverflows/ListenDrops', _reason_of(tcp, 'counters missing'))
    elif (overflows or 0) > 0 or (listen_drops or 0) > 0:
        ctx.emit('CRD-TCP-001', {'ListenOverflows': overflows, 'ListenDrops': listen_drops,
                                 'tcp_abort_on_overflow': abort, 'uptime_s': tcp.get('uptime_s'),
                                 'rates': _dict(tcp.get('rates')).get('ListenOverflows')},
                 severity='high' if abort == 1 else 'low',
                 summary='%s accept-queue overflows since boot (tcp_abort_on_overflow=%s)' % (
                     overflows if overflows is not None else listen_drops, abort))
    ports = _ssh_ports(ctx)
    for listener in _list(tcp.get('listeners')):
        listener = _dict(listener)
        recv_q, backlog = _num(listener.get('recv_q')), _num(listener.get('backlog'))
        if _num(listener.get('port')) in ports and queue_full(listener):
            ctx.emit('CRD-TCP-002', {'listener': listener},
                     summary='%s:%s accept queue %s/%s' % (listener.get('address'), listener.get('port'),
                                                           recv_q, backlog))


def queue_full(listener):
    """A listening socket whose accept queue holds as many connections as its backlog (``ss -ltn``
    Recv-Q >= Send-Q), or that the collector marked overflowing."""
    listener = _dict(listener)
    recv_q, backlog = _num(listener.get('recv_q')), _num(listener.get('backlog'))
    return listener.get('overflowing') is True or bool(recv_q is not None and backlog and recv_q >= backlog)


AREA = 'connreset_tcp'
FACT_TYPES = {
    'counters': {'ListenOverflows': _N, 'ListenDrops': _N}, 'uptime_s': _N,
    'sysctls': {'tcp_abort_on_overflow': _N, 'tcp_keepalive_time': _N},
    'listeners': [{'port': _N, 'recv_q': _N, 'backlog': _N}],
}
CHECKS = (_check_tcp,)
CROSS_CHECKS = ()
