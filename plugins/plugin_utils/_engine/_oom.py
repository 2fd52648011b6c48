# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area OOM (connreset_oom): kernel and systemd-oomd kills, of sshd and of other processes."""

from __future__ import annotations

from collections import Counter

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import _subpart_gaps
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sanitise import _L, _N, _S
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._sshd import SSHD_PROCESS_NAMES, SSHD_UNITS
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _list, _num, _reason_of


def _is_sshd_kill(kill):
    """A kill of sshd itself.  When the kernel names the process, the name decides: another
    process in ssh.service's cgroup (a session's shell or module without libpam-systemd) is not
    sshd.  Without a name (systemd-oomd kills a whole cgroup) the unit/cgroup decides."""
    kill = _dict(kill)
    process = str(kill.get('process') or '')
    if process:
        return process in SSHD_PROCESS_NAMES
    unit = str(kill.get('unit') or '')
    cgroup = str(kill.get('cgroup') or '')
    return unit in SSHD_UNITS or any('/%s' % u in cgroup for u in ('ssh.service', 'sshd.service'))


def _check_oom(ctx):
    key = 'connreset_oom'
    if not ctx.has(key):
        ctx.gap(key, 'OOM kills', ctx.not_collected or 'the OOM facts were not collected (collector skipped or failed)')
        return
    oom = ctx.fact(key)
    if not _subpart_gaps(ctx, key, oom):
        return
    kills = oom.get('kills')
    watched = _list(oom.get('watched_killed'))
    log = _dict(oom.get('log'))
    if kills is None and not watched:
        vmstat = _num(oom.get('vmstat_oom_kill'))
        ctx.gap(key, 'OOM kills in the kernel log', _reason_of(log, 'oom.kills is null'))
        if vmstat:
            ctx.emit('CRD-OOM-002', {'vmstat_oom_kill': vmstat, 'log': log},
                     summary='the kernel counted %d OOM kills since boot; the log that names them '
                             'could not be read' % vmstat)
        return
    kills = _list(kills)
    # watched_killed: names from the collector's `watch` option (default sshd, sshd-session) that
    # were killed, by process name or through their unit's result.
    watched_sshd = [w for w in watched if _is_sshd_kill(w if isinstance(w, dict) else {'process': w})]
    watched_other = [w for w in watched if w not in watched_sshd]
    sshd_kills = [k for k in kills if _is_sshd_kill(k)]
    other = [k for k in kills if not _is_sshd_kill(k)]
    names = Counter(str(_dict(k).get('process')) for k in other)
    sshd_count, other_count = len(sshd_kills), len(other)
    # The collector keeps the most recent kills only (kills_truncated); kill_count and
    # kills_by_process ({process or unit: count}, the most frequent) count every kill.
    total = _num(oom.get('kill_count'))
    if total is not None and total > len(kills):
        by_name = dict((str(name), int(n)) for name, n in
                       ((name, _num(value)) for name, value in _dict(oom.get('kills_by_process')).items()) if n)
        sshd_count = max(sshd_count, sum(n for name, n in by_name.items()
                                         if name in SSHD_PROCESS_NAMES or name in SSHD_UNITS))
        other_count = max(other_count, int(total) - sshd_count)
        names = Counter(dict((name, n) for name, n in by_name.items()
                             if name not in SSHD_PROCESS_NAMES and name not in SSHD_UNITS)) or names
    if sshd_count or watched_sshd:
        ctx.emit('CRD-OOM-001', {'kills': sshd_kills[-5:], 'count': max(sshd_count, len(watched_sshd)),
                                 'watched_killed': watched, 'unit_results': oom.get('unit_results'),
                                 'since': log.get('since'), 'memory': oom.get('memory')},
                 summary='%d OOM kill(s) of sshd' % max(sshd_count, len(watched_sshd)))
    if other_count or watched_other:
        short = _memory_short_now(ctx, _dict(oom.get('memory')))
        many = other_count >= ctx.t['oom_other_kills_medium']
        ctx.emit('CRD-OOM-002', {'kills': other[-5:], 'count': other_count, 'processes': dict(names),
                                 'watched_killed': watched_other, 'memory_short_now': short,
                                 'since': log.get('since'), 'memory': oom.get('memory')},
                 severity='medium' if (many or short) else None,
                 summary='%d OOM kill(s): %s' % (other_count, ', '.join(sorted(set(names) | {
                     str(w) for w in watched_other}))))


def _memory_short_now(ctx, memory):
    """True when memory is short now (MemAvailable low, or PSI memory pressure high); None if unknown."""
    total, available = _num(memory.get('mem_total_kb')), _num(memory.get('mem_available_kb'))
    avg10 = _num(_dict(_dict(memory.get('psi')).get('some')).get('avg10'))
    if not total and avg10 is None:
        return None
    low = bool(total) and available is not None and available / total < ctx.t['oom_mem_available_low']
    pressure = avg10 is not None and avg10 >= ctx.t['oom_psi_some_avg10_high']
    return low or pressure


AREA = 'connreset_oom'
FACT_TYPES = {
    'kills': _L, 'watched_killed': _L, 'vmstat_oom_kill': _N, 'log': {'since': _S},
    'kill_count': _N, 'kills_by_process': {},
    'memory': {'mem_total_kb': _N, 'mem_available_kb': _N, 'psi': {'some': {'avg10': _N}}},
}
CHECKS = (_check_oom,)
CROSS_CHECKS = ()
