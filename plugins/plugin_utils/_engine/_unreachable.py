# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area unreachable: a host Ansible could not reach (CRD-REACH-*), classified from Ansible's
UNREACHABLE message by module_utils/_probe.classify_ssh_failure (the ssh client's words)."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._probe import _probe_cause, _probe_evidence, _probe_summary
from ansible_collections.connreset.doctor.plugins.module_utils._probe import classify_ssh_failure, ssh_failure_text
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict


UNREACHABLE_FINDING = {
    'refused': 'CRD-REACH-001',
    'timeout': 'CRD-REACH-002',
    'reset_banner': 'CRD-REACH-003',
    'reset_mid_session': 'CRD-REACH-004',
    'auth': 'CRD-REACH-005',
    'dns': 'CRD-REACH-006',
    'other': 'CRD-REACH-007',
}


UNREACHABLE_HINTS = {
    'refused': 'nothing accepted the connection: sshd down/not listening, or a firewall REJECT (the probe tells '
               'them apart: rejected_icmp is a REJECT rule or ban, refused a TCP reset)',
    'timeout': 'SYNs or the banner never arrived: DROP rule, ban, full conntrack table, host down; '
               '"during banner exchange" with ConnectTimeout <= 5 is typical of TCP wrappers',
    'reset_banner': 'closed before the banner: TCP wrappers (~5 s), MaxStartups/PerSourcePenalties (instant)',
    'reset_mid_session': 'reset after the session was up: reset rule, middlebox idle timeout, OOM kill, restart',
    'auth': 'authentication failed: not a reset, but failures earn bans and penalties',
    'dns': 'the controller could not resolve the name',
    'other': 'no recognisable reason; with LogLevel=ERROR ssh hides resets: re-run with -vvvv or '
             'without LogLevel=ERROR, and run the probe',
}


def classify_unreachable(msg):
    """Class of Ansible's UNREACHABLE message: refused, timeout, reset_banner, reset_mid_session,
    auth, dns or other."""
    return classify_ssh_failure(msg)


def _unreachable_finding(ctx, unreachable):
    msg = _dict(unreachable).get('msg') if isinstance(unreachable, dict) else unreachable
    classification = classify_unreachable(msg)
    evidence = {'msg': msg, 'classification': classification, 'hint': UNREACHABLE_HINTS[classification]}
    probe_class, summary = _probe_summary(ctx.probe)
    cause = None
    if probe_class:
        evidence['probe'] = _probe_evidence(ctx.probe, summary)
        if probe_class not in ('ok', 'probe_error'):
            cause = _probe_cause(summary)
    first = ssh_failure_text(msg) or '(no detail)'
    ctx.emit(UNREACHABLE_FINDING[classification], evidence, cause=cause,
             summary='UNREACHABLE (%s)%s: %s' % (
                 classification, '; probe: %s' % probe_class if probe_class else '', first))
    return classification
