# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What one host evaluation accumulates (findings and coverage gaps per area), the one finding
factory, and the coverage of a collector's own status."""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import AREAS, CATALOGUE, severity_rank
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _reason_of, _status


def make_finding(fid, evidence, severity=None, summary=None, cause=None):
    """The one factory of a finding (docs/development.md, the finding contract): title,
    explanation, remedy and fix from the catalogue entry ``fid``; cause and severity from it
    unless given (an escalation or a probe's cause)."""
    entry = CATALOGUE[fid]
    finding = {
        'id': fid,
        'title': entry['title'],
        'cause': cause or entry['cause'],
        'severity': severity or entry['severity'],
        'evidence': evidence,
        'explanation': entry['explanation'],
        'remedy': entry['remedy'],
        'fix': entry['fix'],
    }
    if summary:
        finding['summary'] = summary
    return finding


class _Context:
    """What one host evaluation accumulates: findings and coverage gaps per area."""

    def __init__(self, facts, probe, thresholds, controller):
        self.facts = facts
        self.probe = probe
        self.endpoint_probe = {}    # tcp_probe's {endpoints, summary} of diagnose_endpoints, or {}
        self.capture = {}           # reset_capture's connreset_capture fact of the probes' window, or {}
        # {probe label ('ssh' or an endpoint name): {resets, path, host, host_unexplained}} (_path.py)
        self.attribution = {}
        self.t = thresholds
        self.controller = controller
        self.findings = {}
        self.gaps = {}
        self.not_collected = None

    def fact(self, key):
        return _dict(self.facts.get(key))

    def has(self, key):
        return isinstance(self.facts.get(key), dict)

    def emit(self, fid, evidence, severity=None, summary=None, cause=None):
        """Record finding ``fid``; the most severe emission of one id wins."""
        finding = make_finding(fid, evidence, severity=severity, summary=summary, cause=cause)
        old = self.findings.get(fid)
        if old is None or severity_rank(finding['severity']) > severity_rank(old['severity']):
            self.findings[fid] = finding
        return finding

    def gap(self, key, what, reason):
        """Record that ``what`` (in fact ``key``) could not be checked, and why."""
        reason = reason or 'no reason given by the collector'
        items = self.gaps.setdefault(key, [])
        # One line per reason: a sub-part that could not be read explains its dependent checks.
        if not any(item['reason'] == reason for item in items):
            items.append({'check': what, 'reason': reason})

    def attributed(self, label, by_path_finding=False):
        """True when every reset probe ``label`` received was attributed by the path area (to the
        host or to the path); with ``by_path_finding``, only when a CRD-PATH finding carries them all
        (not sent by the host, or sent with no host finding explaining it)."""
        counts = _dict(self.attribution.get(label))
        resets = counts.get('resets') or 0
        done = counts.get('path', 0) + counts.get('host_unexplained', 0)
        if not by_path_finding:
            done += counts.get('host', 0)
        return resets > 0 and done == resets

    def supersede(self, fid, old_ids):
        """Fold the evidence of ``old_ids`` into ``fid`` (a confirmed finding) and drop them."""
        target = self.findings[fid]
        for old in old_ids:
            if old in self.findings and old != fid:
                evidence = self.findings.pop(old)['evidence']
                target['evidence'].setdefault('supersedes', {})[old] = evidence
                # who sent the reset (_path.py) stays visible on the finding that confirms it
                if isinstance(evidence, dict) and 'attribution' in evidence:
                    target['evidence'].setdefault('attribution', evidence['attribution'])


def _subpart_gaps(ctx, key, fact):
    """Coverage for a collector's own status and its sub-parts' statuses (two levels deep)."""
    name = AREAS[key][1]
    status = _status(fact)
    if status == 'unknown':
        ctx.gap(key, name, _reason_of(fact, 'the %s collector returned status unknown' % name))
        return False
    found_sub = False

    def walk(obj, path, depth):
        nonlocal found_sub
        for sub_key, sub in sorted(_dict(obj).items()):
            if not isinstance(sub, dict):
                continue
            sub_status = _status(sub)
            if sub_status in ('unknown', 'partial'):
                found_sub = True
                ctx.gap(key, '%s %s' % (name, '.'.join(path + [sub_key])),
                        _reason_of(sub, 'status %s' % sub_status))
            elif depth < 2:
                walk(sub, path + [sub_key], depth + 1)

    walk(fact, [], 1)
    if status == 'partial' and not found_sub:
        ctx.gap(key, name, _reason_of(fact, 'the %s collector returned status partial' % name))
    return True
