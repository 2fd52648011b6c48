# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area fleet: findings that need several hosts (CRD-MTU-004, an MTU that differs from its subnet's
majority), merged into the host documents with the kex-hang confirmation (CRD-PROBE-002)."""

from __future__ import annotations

import ipaddress
from collections import Counter

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._context import make_finding
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._host import level, score, sort_findings
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._probe import _probe_evidence, _probe_summary
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _list, _num


# Example hosts per MTU in a CRD-MTU-004 finding's evidence (the counts cover every host).
FLEET_EXAMPLE_HOSTS = 5
# A finding's ``scope`` when a fleet-wide check made it (the report marks it "fleet-wide check").
FLEET_SCOPE = 'fleet'


# The parts of a host document's facts the fleet checks read (:func:`_host_networks`), ``{fact:
# (part, ...)}``: a report made from slim host records keeps these (_report.REPORT_FACT_PARTS).
FACT_PARTS = {'connreset_mtu': ('interfaces',)}

_SKIP_NETS = [ipaddress.ip_network(n) for n in ('127.0.0.0/8', '169.254.0.0/16', '::1/128', 'fe80::/10')]


def _host_networks(doc):
    """{network: [(interface, mtu)]} of one host doc, without loopback and link-local networks."""
    out = {}
    mtu = _dict(_dict(_dict(doc).get('facts')).get('connreset_mtu'))
    for iface in _list(mtu.get('interfaces')):
        iface = _dict(iface)
        value = _num(iface.get('mtu'))
        if value is None or iface.get('name') == 'lo':
            continue
        for addr in _list(iface.get('addresses')):
            network = _dict(addr).get('network')
            try:
                net = ipaddress.ip_network(str(network), strict=False)
            except ValueError:
                continue
            if any(net.version == s.version and net.subnet_of(s) for s in _SKIP_NETS):
                continue
            out.setdefault(str(net), []).append((iface.get('name'), value))
    return out


def fleet_findings(host_docs):
    """Findings that need several hosts: MTU differing from the subnet's majority (CRD-MTU-004).

    Without a majority (a tie) every member is flagged at low severity: one side is wrong, the
    facts cannot say which.

    ``host_docs``: list of diagnose_host docs, or {host: doc}.  Returns {host: [findings]}.
    """
    docs = list(host_docs.values()) if isinstance(host_docs, dict) else _list(host_docs)
    subnets = {}
    for doc in docs:
        host = _dict(doc).get('host')
        for network, entries in _host_networks(doc).items():
            for iface, mtu in entries:
                subnets.setdefault(network, []).append({'host': host, 'interface': iface, 'mtu': mtu})
    result = {}
    for network, members in sorted(subnets.items()):
        if len({m['host'] for m in members}) < 2:
            continue
        counts = Counter(m['mtu'] for m in members).most_common()
        if len(counts) < 2:
            continue
        tie = counts[0][1] == counts[1][1]
        majority = None if tie else counts[0][0]
        # One summary of the subnet for every finding on it (not every member per finding: that
        # grows as hosts x minority hosts, gigabytes for one large VPC subnet).
        ordered = sorted(members, key=lambda m: (str(m['host']), str(m['interface'])))
        examples = {}
        for member in ordered:
            shown = examples.setdefault(str(member['mtu']), [])
            if len(shown) < FLEET_EXAMPLE_HOSTS:
                shown.append({'host': member['host'], 'interface': member['interface'], 'mtu': member['mtu']})
        subnet = {'mtu_counts': dict((str(mtu), n) for mtu, n in counts), 'members': len(members),
                  'example_hosts': examples}
        for member in members:
            if majority is not None and member['mtu'] == majority:
                continue
            evidence = {'network': network, 'interface': member['interface'], 'mtu': member['mtu'],
                        'majority_mtu': majority}
            evidence.update(subnet)
            # a tie names no odd host: every member is flagged, at low, since half are right
            finding = make_finding('CRD-MTU-004', evidence, severity='low' if tie else None, summary=(
                '%s on %s: MTU %s, subnet majority %s (%s)' % (
                    member['interface'], network, member['mtu'], majority if majority is not None else 'none (tie)',
                    ', '.join('%d host(s) at %s' % (n, mtu) for mtu, n in counts))))
            finding['scope'] = FLEET_SCOPE
            existing = result.setdefault(member['host'], [])
            if not any(f['evidence']['network'] == network for f in existing):
                existing.append(finding)
    return result


def apply_fleet_findings(host_docs):
    """Add fleet findings to each doc (in place) and recompute score/level; returns the docs.

    A host whose probe hung in key exchange and whose MTU differs from its subnet gets the
    confirmed CRD-PROBE-002 instead.
    """
    docs = list(host_docs.values()) if isinstance(host_docs, dict) else _list(host_docs)
    extra = fleet_findings(docs)
    for doc in docs:
        added = extra.get(doc.get('host'))
        if not added:
            continue
        findings = [f for f in _list(doc.get('findings')) if isinstance(f, dict) and f.get('id') != 'CRD-MTU-004']
        classification, summary = _probe_summary(doc.get('probe'))
        if classification == 'kex_hang':
            confirmed = [f for f in findings if f.get('id') == 'CRD-PROBE-002']
            if confirmed:
                if not isinstance(confirmed[0].get('evidence'), dict):
                    confirmed[0]['evidence'] = {'evidence': confirmed[0].get('evidence')}
                confirmed[0]['evidence'].setdefault('supersedes', {})['CRD-MTU-004'] = [f['evidence'] for f in added]
            else:
                findings = [f for f in findings if not (f.get('id') == 'CRD-PROBE-007'
                                                        and _dict(_dict(f.get('evidence')).get('probe')).get(
                                                            'classification') == 'kex_hang')]
                confirmed = make_finding('CRD-PROBE-002', {
                    'probe': _probe_evidence(doc.get('probe'), summary),
                    'supersedes': {'CRD-MTU-004': [f['evidence'] for f in added]}},
                    summary='probe: kex_hang; %s' % '; '.join(f['summary'] for f in added))
                confirmed['scope'] = FLEET_SCOPE
                findings.append(confirmed)
        else:
            findings.extend(added)
        doc['findings'] = sort_findings(findings)
        doc['score'] = score(doc['findings'])
        doc['level'] = level(doc['findings'])
    return host_docs
