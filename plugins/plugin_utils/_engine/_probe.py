# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area probe: the controller's ssh_probe result, confirmed by a host-side finding (CRD-PROBE-001..006,
008) or standing alone (CRD-PROBE-007).  Runs last (after coverage): it reads every area's findings."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import CAUSES
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._mtu import MTU_FINDINGS
from ansible_collections.connreset.doctor.plugins.module_utils._probe import CAUSES as PROBE_CAUSES
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _list


def _probe_summary(probe):
    summary = _dict(_dict(probe).get('summary'))
    return summary.get('classification'), summary


def _probe_evidence(probe, summary):
    attempts = _list(_dict(probe).get('attempts'))
    return {'classification': summary.get('classification'), 'phase': summary.get('phase'),
            'outcome': summary.get('outcome'), 'intermittent': summary.get('intermittent'),
            'counts': summary.get('counts'), 'detail': summary.get('detail'),
            'attempts': [{k: _dict(a).get(k) for k in ('attempt', 'phase', 'outcome', 'error', 'elapsed_s', 'icmp')}
                         for a in attempts[-5:]]}


def _probe_cause(summary):
    """The most likely cause of a probe failure: the probe's own ``likely_causes`` (ssh_probe
    writes them from module_utils/_probe.CAUSES, the one probe -> cause map), or that map's
    entry for the classification when a result carries none."""
    likely = _list(summary.get('likely_causes')) or PROBE_CAUSES.get(summary.get('classification')) or []
    for cause in likely:
        if cause in CAUSES and cause != 'coverage':
            return cause
    return 'coverage'


def _correlate_probe(ctx, reachable):
    classification, summary = _probe_summary(ctx.probe)
    if classification == 'probe_error':
        ctx.emit('CRD-COV-PROBE', {'probe': _probe_evidence(ctx.probe, summary)},
                 summary='could not probe sshd from the controller: %s' % (summary.get('detail') or 'probe error'))
        return
    if not classification or classification == 'ok':
        return
    pev = _probe_evidence(ctx.probe, summary)
    found = ctx.findings
    sshd = ctx.fact('connreset_sshd')
    confirmed = None
    if classification == 'reset_at_banner_delayed' and 'CRD-WRAP-001' in found:
        confirmed = ('CRD-PROBE-001', ['CRD-WRAP-001', 'CRD-WRAP-004'],
                     {'wrappers': found['CRD-WRAP-001']['evidence']})
    elif classification == 'kex_hang' and any(f in found for f in MTU_FINDINGS):
        confirmed = ('CRD-PROBE-002', list(MTU_FINDINGS), {})
    elif classification == 'maxstartups' and 'CRD-SSHD-004' in found:
        confirmed = ('CRD-PROBE-003', ['CRD-SSHD-004', 'CRD-SSHD-006'], {})
    elif classification == 'refused' and 'CRD-SSHD-009' in found:
        return  # nothing listens because sshd is not installed: CRD-SSHD-009 says so
    elif classification == 'refused' and sshd.get('running') is False:
        confirmed = ('CRD-PROBE-004', ['CRD-SSHD-001'], {})
    elif classification == 'refused' and sshd.get('running') is True and 'CRD-FW-001' in found:
        confirmed = ('CRD-PROBE-005', ['CRD-FW-001'], {})
    elif classification == 'rejected_icmp' and 'CRD-FW-004' in found:
        confirmed = ('CRD-PROBE-008', ['CRD-FW-004'], {'blocked': found['CRD-FW-004']['evidence'].get('blocked')})
    elif classification == 'connect_timeout' and any(f in found for f in ('CRD-CT-001', 'CRD-CT-002', 'CRD-FW-005')):
        confirmed = ('CRD-PROBE-006', ['CRD-CT-001', 'CRD-CT-002', 'CRD-FW-005'], {})
    if confirmed:
        fid, old, extra = confirmed
        evidence = {'probe': pev}
        evidence.update(extra)
        ctx.emit(fid, evidence, summary='probe: %s; %s' % (
            classification, '; '.join(found[o].get('summary', o) for o in old if o in found)))
        ctx.supersede(fid, old)
        return
    if not reachable:
        return  # the CRD-REACH finding carries the probe as its evidence
    if ctx.attributed('ssh'):
        return  # every reset it received was attributed (_path.py): a CRD-PATH finding or the host
        # finding that explains it carries the probe, so it is not unexplained
    # Nothing in the facts explains the probe's failure: the probe is the evidence.
    ctx.emit('CRD-PROBE-007', {'probe': pev, 'facts_available': bool(ctx.facts)},
             cause=_probe_cause(summary),
             summary='probe: %s at %s (%s)' % (classification, summary.get('phase'),
                                               summary.get('detail') or summary.get('outcome')))
