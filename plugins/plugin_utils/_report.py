# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet report: per-host documents in, report dict and its renderings out.  Controller only.

Everything here is pure (data in, text out) except :func:`load_host_docs` and
:func:`write_atomic`, which the ``fleet_report`` action uses to read ``hosts/*.json`` and write
the report files.  The report layout is specified by ``docs/report.schema.json`` and described
for users in ``docs/report.md``.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import ipaddress
import json
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET

from ansible_collections.connreset.doctor.plugins.plugin_utils import _timeline
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._endpoints import front_idle
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._fleet import FACT_PARTS as FLEET_FACT_PARTS
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._thresholds import IDLE_TIMEOUT_PRESETS
from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import (
    SCHEMA_VERSION, SEVERITIES, UNDIAGNOSED, severity_rank,
)

TOOL_NAME = 'connreset.doctor'

# Gate levels: ``none`` disables the level gate.
GATE_LEVELS = ('none',) + SEVERITIES
FORMATS = ('json', 'md', 'html', 'junit', 'prom')
FILE_NAMES = {
    'json': 'report.json',
    'md': 'report.md',
    'html': 'report.html',
    'junit': 'junit.xml',
    'prom': 'report.prom',
}
# JUnit marks findings at or above this severity as <failure> when no gate level is set.
JUNIT_DEFAULT_LEVEL = 'high'
TOP_FINDINGS = 10
CONSOLE_ROWS = 25
# report.md details the worst hosts only (all are in its host table, report.html and report.json).
MD_DETAIL_HOSTS = 500
# Evidence longer than this (compact JSON) is cut in report.md and report.html; it is whole in
# report.json and hosts/<host>.json.
EVIDENCE_CHARS = 1500
HTML_EVIDENCE_CHARS = 600


class ReportError(Exception):
    """Input the report cannot use (unreadable host file, bad option, bad query)."""


def _rank(severity):
    """Rank on the catalogue's severity scale; -1 for a value off it (``ok``, ``unknown``, ``none``)."""
    return severity_rank(severity, -1)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace('+00:00', 'Z')


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------

# A host's file name is its inventory name when that is already a safe, unambiguous file name:
# lower-case letters, digits and ``_@+-.``, not starting with a dot, at most 100 characters.  Any
# other name (``db/1``, ``db 1``, ``.hidden``, ``Web1``, a name with control characters) becomes a
# readable slug, ``~`` and the first 16 hex digits of the SHA-256 of the exact name: ``~`` never
# occurs in a plain name, so a slugged name cannot collide with a plain one, and upper case is
# always slugged, so two names differing in case only stay apart on a case-insensitive file
# system too.  The document inside keeps the exact name.
_PLAIN_NAME = re.compile(r'^[a-z0-9_@+-][a-z0-9._@+-]{0,99}$')
_SLUG_UNSAFE = re.compile(r'[^A-Za-z0-9._@+-]')
HOST_NAME_HASH_CHARS = 16


def host_file_name(host):
    """File name of a host's document: safe, unique and deterministic for any inventory name."""
    name = str(host)
    if _PLAIN_NAME.match(name) and name not in ('.', '..'):
        return name + '.json'
    digest = hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:HOST_NAME_HASH_CHARS]
    slug = _SLUG_UNSAFE.sub('_', name)[:60].lstrip('.') or '_'
    return '%s~%s.json' % (slug, digest)


def _reject_constant(name):
    """json.load's parse_constant: NaN and Infinity in a host file are read as null."""
    del name
    return None


def _read_doc(path):
    with open(path, 'r', encoding='utf-8', errors='surrogateescape') as handle:
        return json.load(handle, parse_constant=_reject_constant)


class HostFacts(dict):
    """A host's facts in a slim host record (:func:`slim_facts`): as a dict, only the parts the
    report reads besides report.json (REPORT_FACT_PARTS); ``text``: all of them, as the compact
    JSON that report.json holds (:func:`render_json`), and :func:`full_facts` reads back."""

    __slots__ = ('text',)


def slim_facts(facts):
    """``facts`` as a :class:`HostFacts`: the parts of REPORT_FACT_PARTS as a dict, the whole as
    compact JSON text (a fifth of the memory of the parsed facts).  Facts that are not a dict, or
    hold a number JSON has not (inf: report.json writes them as null, through :func:`_finite`), are
    returned as they are."""
    if not isinstance(facts, dict) or isinstance(facts, HostFacts):
        return facts
    try:
        text = json.dumps(facts, allow_nan=False, default=str, separators=(',', ':'))
    except ValueError:
        return facts
    kept = HostFacts()
    for fact, parts in REPORT_FACT_PARTS.items():
        if fact in facts:
            value = facts[fact]
            kept[fact] = dict((p, value[p]) for p in parts if p in value) if isinstance(value, dict) else value
    kept.text = text
    return kept


def full_facts(facts):
    """The whole facts of a slim host record's :class:`HostFacts` (parsed again); other facts as they are."""
    return json.loads(facts.text) if isinstance(facts, HostFacts) else facts


def full_doc(doc):
    """A host document with its whole facts (:func:`full_facts`): ``doc`` itself when it has them."""
    if isinstance(doc, dict) and isinstance(doc.get('facts'), HostFacts):
        return dict(doc, facts=full_facts(doc['facts']))
    return doc


def _slim(doc, slim):
    if slim and isinstance(doc, dict) and 'facts' in doc:
        doc['facts'] = slim_facts(doc['facts'])
    return doc


def load_host_docs(src, hosts=None, slim=False):
    """Read the host documents of ``<src>/hosts/`` (only those of ``hosts`` when given).

    Returns ``(docs, errors)``: errors are ``{file, reason}`` (and ``host`` when known) for files
    that are not a host document, for hosts of ``hosts`` without one, and for a second document
    of one host (a file left by an older run); reported rather than raised so one bad file does
    not hide the fleet.  With ``hosts``, a host whose document is missing or unreadable is in
    ``errors`` with its ``host``: the caller reports it as a host (the report lists every host
    of the play).  ``slim``: each document's facts as :func:`slim_facts` (slim host records: the
    same report and files, for a fifth of the memory; 100,000 hosts' whole documents take ~6 GiB).
    """
    hosts_dir = os.path.join(src, 'hosts')
    if not os.path.isdir(hosts_dir):
        raise ReportError('%s does not exist: run the diagnose role (connreset.doctor.diagnose) first, '
                          'or point src at the report directory it wrote' % hosts_dir)
    docs, errors = [], []
    if hosts is not None:
        for host in dict.fromkeys(str(h) for h in hosts):
            path = os.path.join(hosts_dir, host_file_name(host))
            try:
                doc = _read_doc(path)
            except FileNotFoundError:
                errors.append({'file': path, 'host': host,
                               'reason': 'no host document: the host failed before its diagnosis was stored'})
                continue
            except (OSError, ValueError, RecursionError) as exc:
                errors.append({'file': path, 'host': host, 'reason': 'unreadable host document: %s' % exc})
                continue
            if not isinstance(doc, dict) or doc.get('host') != host:
                errors.append({'file': path, 'host': host, 'reason': 'not the host document of %r (it holds %r)' % (
                    host, doc.get('host') if isinstance(doc, dict) else type(doc).__name__)})
                continue
            docs.append(_slim(doc, slim))
        return docs, errors
    names = sorted(n for n in os.listdir(hosts_dir) if n.endswith('.json') and not n.startswith('.'))
    by_host = {}
    for name in names:
        path = os.path.join(hosts_dir, name)
        try:
            doc = _read_doc(path)
        except (OSError, ValueError, RecursionError) as exc:
            errors.append({'file': path, 'reason': str(exc)})
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get('host'), str) or not doc['host']:
            errors.append({'file': path, 'reason': 'not a host document (no "host" key)'})
            continue
        host = doc['host']
        if host in by_host:
            # Two files of one host: an older run named it differently.  The file this version
            # names it wins; otherwise the newer document.
            other_path, other = by_host[host]
            keep_new = name == host_file_name(host) or (
                os.path.basename(other_path) != host_file_name(host)
                and str(doc.get('generated_at') or '') > str(other.get('generated_at') or ''))
            dropped = other_path if keep_new else path
            errors.append({'file': dropped, 'host': host,
                           'reason': 'a second document of host %r (left by an older run?): ignored' % host})
            if not keep_new:
                continue
        by_host[host] = (path, _slim(doc, slim))
    docs = [doc for _path, doc in by_host.values()]
    return docs, errors


# --------------------------------------------------------------------------------------------
# Report dict
# --------------------------------------------------------------------------------------------

def _findings(doc):
    findings = doc.get('findings')
    return [f for f in findings if isinstance(f, dict)] if isinstance(findings, list) else []


LEVELS = ('ok', 'unknown') + SEVERITIES

# A host's endpoints in the report (docs/report.md, Endpoints): at most this many per host, each
# string cut to this many characters (the whole values are in the host's facts).
MAX_HOST_ENDPOINTS = 64
ENDPOINT_TEXT_CHARS = 300
# An endpoint fails its JUnit testcase with a finding above this severity, or a probe not ok.
ENDPOINT_JUNIT_ABOVE = 'low'


def _dict(value):
    return value if isinstance(value, dict) else {}


def _text_or_none(value):
    return value[:ENDPOINT_TEXT_CHARS] if isinstance(value, str) else None


def _number_or_none(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _port_or_none(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535 else None


def host_endpoints(doc):
    """The host's endpoints for the report: one per entry of ``facts.connreset_endpoints.endpoints``
    (at most MAX_HOST_ENDPOINTS), each ``{name, port, protocol, unit, program, status, listening,
    idle_close_s, front_kind, front_idle_timeout_s, probe, findings}``.

    ``listening``: true (sockets listen on the port), false (none), null (not read); ``probe``: the
    classification of the ``endpoint_probe`` entry with the same port, null when it was not probed;
    ``findings``: the ids of the host's findings whose ``evidence.endpoints`` names the endpoint
    (the engine's CRD-SVC-* findings).  ``[]`` without the fact.  Read defensively: a value of the
    wrong type is null, never an error.
    """
    fact = _dict(_dict(doc.get('facts')).get('connreset_endpoints'))
    entries = fact.get('endpoints') if isinstance(fact.get('endpoints'), list) else []
    probes = {}
    probed = _dict(doc.get('endpoint_probe')).get('endpoints')
    for probe in probed if isinstance(probed, list) else []:
        port = _port_or_none(_dict(probe).get('port'))
        if port is not None and port not in probes:
            probes[port] = _text_or_none(_dict(_dict(probe).get('summary')).get('classification'))
    findings = _findings(doc)
    out = []
    for entry in entries:
        if len(out) >= MAX_HOST_ENDPOINTS:
            break
        if not isinstance(entry, dict):
            continue
        name = entry.get('name') if isinstance(entry.get('name'), str) else None
        listening = entry.get('listening')
        front = _dict(entry.get('front'))
        port = _port_or_none(entry.get('port'))
        ids = []
        if name is not None:
            for finding in findings:
                named = _dict(finding.get('evidence')).get('endpoints')
                if isinstance(named, dict) and name in named and finding.get('id') is not None:
                    fid = str(finding['id'])[:ENDPOINT_TEXT_CHARS]
                    if fid not in ids:
                        ids.append(fid)
        out.append({
            'name': _text_or_none(name),
            'port': port,
            'protocol': _text_or_none(entry.get('protocol')),
            'unit': _text_or_none(entry.get('unit')),
            'program': _text_or_none(entry.get('program')),
            'status': _text_or_none(entry.get('status')),
            'listening': (len(listening) > 0) if isinstance(listening, list) else None,
            'idle_close_s': _number_or_none(_dict(_dict(entry.get('timeouts')).get('idle_close')).get('value_s')),
            'front_kind': _text_or_none(front.get('kind')),
            'front_idle_timeout_s': _front_idle_s(entry, entries, findings, name),
            'probe': probes.get(port) if port is not None else None,
            'findings': ids,
        })
    return out


def _front_idle_s(entry, entries, findings, name):
    """The front's idle timeout the engine judged the endpoint against: a timeout-chain finding's
    evidence, else the engine's own rule (given, a same-host proxy's upstream timeout, the kind's
    preset: :func:`_engine._endpoints.front_idle`)."""
    for finding in findings:
        if finding.get('id') in ('CRD-SVC-007', 'CRD-SVC-008') and name is not None:
            value = _number_or_none(_dict(_dict(_dict(finding.get('evidence')).get('endpoints')).get(name))
                                    .get('front_idle_timeout_s'))
            if value is not None:
                return value
    try:
        return _number_or_none(front_idle(entry, entries, IDLE_TIMEOUT_PRESETS)[1])
    except (TypeError, ValueError, AttributeError):
        return None


def _endpoint_evidence(finding, name):
    """``(True, evidence)`` when the finding's ``evidence.endpoints`` (a dict keyed by endpoint
    name) names ``name`` (as the report holds it: cut to ENDPOINT_TEXT_CHARS), else ``(False, None)``."""
    named = _dict(finding.get('evidence')).get('endpoints')
    if not isinstance(named, dict) or name is None:
        return False, None
    if name in named:
        return True, named[name]
    for key, value in named.items():
        if isinstance(key, str) and key[:ENDPOINT_TEXT_CHARS] == name:
            return True, value
    return False, None


def _host_level(doc):
    """Host level: the engine's ``level``, raised to the worst finding (fleet findings included)."""
    level = doc.get('level')
    worst = max((_rank(f.get('severity')) for f in _findings(doc)), default=-1)
    if worst > _rank(level):
        return SEVERITIES[worst]
    if level in LEVELS:
        return level
    return 'ok' if doc.get('reachable', True) else 'unknown'


def _score(doc):
    score = doc.get('score')
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        return 0
    return min(100, max(0, score))


def merge_fleet_findings(docs, fleet):
    """Append the engine's cross-host findings ``{host: [finding]}`` to the host documents."""
    if not fleet:
        return docs
    merged = []
    for doc in docs:
        extra = fleet.get(doc.get('host')) or []
        if extra:
            doc = dict(doc)
            known = {(f.get('id'), json.dumps(f.get('evidence'), sort_keys=True, default=str)) for f in _findings(doc)}
            new = [f for f in extra
                   if (f.get('id'), json.dumps(f.get('evidence'), sort_keys=True, default=str)) not in known]
            doc['findings'] = _findings(doc) + [dict(f, scope='fleet') for f in new]
        merged.append(doc)
    return merged


def _top_findings(docs):
    by_id = {}
    for doc in docs:
        for finding in _findings(doc):
            key = str(finding.get('id') or finding.get('title') or '?')
            entry = by_id.get(key)
            if entry is None:
                entry = by_id[key] = {
                    'id': str(key),
                    'title': str(finding.get('title') or key),
                    'cause': str(finding.get('cause') or 'unknown'),
                    'severity': str(finding.get('severity') or 'info'),
                    'hosts': 0,
                    'example_hosts': [],
                    '_seen': set(),
                }
            if _rank(finding.get('severity')) > _rank(entry['severity']):
                entry['severity'] = str(finding.get('severity'))
            host = doc['host']
            if host not in entry['_seen']:
                entry['_seen'].add(host)
                entry['hosts'] += 1
                if len(entry['example_hosts']) < 5:
                    entry['example_hosts'].append(host)
    ranked = sorted(by_id.values(), key=lambda e: (-_rank(e['severity']), -e['hosts'], e['id']))
    for entry in ranked:
        del entry['_seen']
    return ranked[:TOP_FINDINGS]


# The timeline's data of the report being written (build_report, then report.md and report.html
# read it): one pass over the hosts' facts, not one per format (2 s at 100,000 hosts).
_TIMELINE_MEMO = [None, None, None]     # the hosts list (by identity), generated_at, the data


def timeline_of(hosts, generated_at):
    """:func:`_timeline.timeline_data` of a report's ``hosts`` list, computed once per list."""
    memo = _TIMELINE_MEMO
    if memo[0] is not hosts or memo[1] != generated_at:
        memo[:] = [hosts, generated_at, _timeline.timeline_data(hosts, generated_at)]
    return memo[2]


def build_report(host_docs, fleet=None, version='0.0.0', generated_at=None, errors=None, expected_hosts=None):
    """The ``report.json`` dict.

    ``host_docs``: the engine's per-host documents (``diagnose_host`` filter output);
    ``fleet``: ``{host: [finding]}`` from the engine's ``fleet_findings`` (cross-host findings),
    merged into the hosts; ``errors``: unreadable host files, kept in ``summary.errors``;
    ``expected_hosts``: the number of hosts of the play (``summary.expected_hosts``; None when the
    merge does not know the play, as ``connreset.doctor.report``).
    """
    docs = merge_fleet_findings([dict(d) for d in host_docs], fleet or {})
    by_level = {}
    by_cause = {}
    unreachable = 0
    for doc in docs:
        doc['findings'] = _findings(doc)
        doc['endpoints'] = host_endpoints(doc)
        doc['level'] = _host_level(doc)
        doc['score'] = _score(doc)
        by_level[doc['level']] = by_level.get(doc['level'], 0) + 1
        if doc.get('reachable') is False:
            unreachable += 1
        for cause in sorted({str(f.get('cause') or 'unknown') for f in _findings(doc)}):
            by_cause[cause] = by_cause.get(cause, 0) + 1
    docs.sort(key=lambda d: (-d['score'], -_rank(d['level']), str(d['host'])))
    summary = {
        'hosts': len(docs),
        'expected_hosts': expected_hosts,
        'nothing_checked': sum(1 for doc in docs if any(f.get('id') == 'CRD-COV-NONE' for f in _findings(doc))),
        'reachable': len(docs) - unreachable,
        'unreachable': unreachable,
        'by_level': dict(sorted(by_level.items(), key=lambda kv: (-_rank(kv[0]), kv[0]))),
        'by_cause': dict(sorted(by_cause.items(), key=lambda kv: (-kv[1], kv[0]))),
        'top_findings': _top_findings(docs),
    }
    if errors:
        summary['errors'] = list(errors)
    generated_at = generated_at or now_iso()
    return {
        'schema_version': SCHEMA_VERSION,
        'generated_at': generated_at,
        'tool': {'name': TOOL_NAME, 'version': str(version)},
        'summary': summary,
        'timeline': _timeline.summary(timeline_of(docs, generated_at)),
        'hosts': docs,
    }


# --------------------------------------------------------------------------------------------
# Gates
# --------------------------------------------------------------------------------------------

def _unreachable_label(doc):
    info = doc.get('unreachable') or {}
    if isinstance(info, dict):
        return str(info.get('classification') or info.get('msg') or 'unreachable')
    return str(info)


def gate_level(report, fail_on):
    """Findings at or above ``fail_on``; a host that could not be diagnosed always matches (it
    cannot pass a gate): an unreachable one through its own findings or, when none reaches
    ``fail_on``, as ``unreachable``; one where nothing was checked or without a document through
    its CRD-COV-NONE / CRD-COV-HOST finding.

    Returns a list of ``{host, id, severity, title}``; empty when ``fail_on`` is ``none``.
    """
    fail_on = (fail_on or 'none').lower()
    if fail_on not in GATE_LEVELS:
        raise ReportError('fail_on must be one of %s, got %r' % (', '.join(GATE_LEVELS), fail_on))
    if fail_on == 'none':
        return []
    threshold = _rank(fail_on)
    matched = []
    for doc in report['hosts']:
        found = [{'host': doc['host'], 'id': finding.get('id'), 'severity': finding.get('severity'),
                  'title': finding.get('title')}
                 for finding in _findings(doc) if _rank(finding.get('severity')) >= threshold]
        if not found:
            # nothing checked (CRD-COV-NONE) or no document (CRD-COV-HOST): like an unreachable
            # host, it cannot pass any level
            found = [{'host': doc['host'], 'id': finding.get('id'), 'severity': finding.get('severity'),
                      'title': finding.get('title')}
                     for finding in _findings(doc) if finding.get('id') in UNDIAGNOSED]
        if doc.get('reachable') is False and not found:
            found.append({'host': doc['host'], 'id': 'unreachable', 'severity': 'unreachable',
                          'title': 'host could not be diagnosed: %s' % _unreachable_label(doc)})
        matched.extend(found)
    return matched


def _is_empty(value):
    return value is None or value is False or value == 0 or value == '' or value == [] or value == {}


def gate_query(report, query):
    """Evaluate a JMESPath query over the report; returns the result or None when it is empty.

    Empty means null, false, 0, "" or an empty list/object, so both ``hosts[?score > `50`].host``
    and ``length(hosts[?score > `50`])`` work as gates.
    """
    if not query:
        return None
    try:
        import jmespath
        from jmespath.exceptions import JMESPathError
    except ImportError:  # pragma: no cover - jmespath is a collection requirement
        raise ReportError('fail_query needs the jmespath Python library on the controller: pip install jmespath')
    hosts = report.get('hosts') or []
    if any(isinstance(doc, dict) and isinstance(doc.get('facts'), HostFacts) for doc in hosts):
        # the query may read any fact: slim host records with their whole facts again
        report = dict(report, hosts=[full_doc(doc) for doc in hosts])
    try:
        result = jmespath.search(query, report)
    except JMESPathError as exc:
        raise ReportError('fail_query %r is not a valid JMESPath expression: %s' % (query, exc))
    return None if _is_empty(result) else result


def evaluate_gates(report, fail_on='none', fail_query=None):
    """``{failed, level {fail_on, matched}, query {expression, result}, msg}``."""
    matched = gate_level(report, fail_on)
    query_result = gate_query(report, fail_query)
    reasons = []
    if matched:
        shown = ['%s: %s %s (%s)' % (m['host'], m['severity'], m['id'], m['title']) for m in matched[:20]]
        more = '' if len(matched) <= 20 else '; ... and %d more' % (len(matched) - 20)
        reasons.append('fail_on=%s matched %d item(s): %s%s' % (fail_on, len(matched), '; '.join(shown), more))
    if query_result is not None:
        text = dumps(query_result, sort_keys=True)
        if len(text) > 2000:
            text = text[:2000] + '...'
        reasons.append('fail_query %s matched: %s' % (fail_query, text))
    return {
        'failed': bool(reasons),
        'level': {'fail_on': fail_on or 'none', 'matched': matched},
        'query': {'expression': fail_query or None, 'result': query_result},
        'msg': ' | '.join(reasons) if reasons else 'no gate matched',
    }


# --------------------------------------------------------------------------------------------
# Renderers
# --------------------------------------------------------------------------------------------

def _finite(value, depth=0):
    """A copy of ``value`` with inf/NaN as null (JSON has no such numbers) and keys as strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth > 64:
        return None
    if isinstance(value, dict):
        return dict((str(k), _finite(v, depth + 1)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_finite(v, depth + 1) for v in value]
    return value


def dumps(value, **kwargs):
    """json.dumps for report files: strict JSON (no NaN/Infinity: they become null), anything
    that is not a JSON value as its string, non-ASCII escaped (so no lone surrogate reaches a file)."""
    try:
        return json.dumps(value, allow_nan=False, default=str, **kwargs)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, default=str, **kwargs)


def _compact(value):
    return dumps(value, separators=(',', ':'))


def _host_line(doc):
    """One host document of report.json, compact; a slim record's facts as their text (:class:`HostFacts`)."""
    facts = doc.get('facts') if isinstance(doc, dict) else None
    if not isinstance(facts, HostFacts):
        return _compact(doc)
    if all(isinstance(key, str) for key in doc):
        try:
            # what json.dumps writes for the dict, its facts taken from the text they were read into
            return '{%s}' % ','.join('%s:%s' % (json.dumps(key), facts.text if key == 'facts' else json.dumps(
                value, allow_nan=False, default=str, separators=(',', ':'))) for key, value in doc.items())
        except ValueError:
            pass
    return _compact(full_doc(doc))   # inf/NaN elsewhere in the document: dumps' own way, on the whole


def json_chunks(report):
    """report.json in pieces, one per host document (:func:`render_json` joins them; ``run_report``
    writes them one after the other, so the whole text of 100,000 hosts is never in memory)."""
    parts = []
    for key, value in report.items():
        if key == 'hosts':
            continue
        text = dumps(value, indent=2).replace('\n', '\n  ')
        parts.append('  %s: %s,\n' % (json.dumps(key), text))
    yield '{\n' + ''.join(parts) + '  "hosts": ['
    separator = '\n'
    for doc in report.get('hosts', []):
        yield separator + '    ' + _host_line(doc)
        separator = ',\n'
    yield ('\n  ' if separator != '\n' else '') + ']\n}\n'


def render_json(report):
    """report.json: the top-level keys indented, one host document per line.

    Pretty-printing 10,000 host documents with ``indent`` takes Python's slow encoder and half a
    minute; one compact line per host is fast, and still easy to grep or to read with ``jq``.
    """
    return ''.join(json_chunks(report))


def _evidence_text(evidence, pretty=True):
    """Evidence as JSON, cut at EVIDENCE_CHARS (the full evidence stays in report.json)."""
    text = _compact(evidence)
    if len(text) > EVIDENCE_CHARS:
        return text[:EVIDENCE_CHARS] + ' ... (cut; the whole evidence is in report.json)'
    return dumps(evidence, indent=2, sort_keys=True) if pretty else text


# Characters shown as escapes in report.md: C0/C1 controls (a terminal escape, a NUL), Unicode
# bidirectional overrides (text that reads differently than it is), lone surrogates.
_INVISIBLE = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]')
# Markdown that could make a link, an HTML tag, code or a table cell out of text.
_MD_SPECIAL = re.compile(r'([\\`\[\]<>|])')


def _visible(text):
    return _INVISIBLE.sub(lambda m: '\\x%02x' % ord(m.group()) if ord(m.group()) < 0x100
                          else '\\u%04x' % ord(m.group()), text)


def _md_escape(value):
    """Text for one line of report.md: no line breaks, no markup, controls shown as escapes."""
    text = str(value if value is not None else '')
    text = text.replace('\r\n', ' ').replace('\n', ' ').replace('\r', ' ').replace('\t', ' ')
    return _MD_SPECIAL.sub(r'\\\1', _visible(text))


def _md_fence(text):
    """A code fence longer than any run of backticks in ``text`` (CommonMark)."""
    longest = max((len(run) for run in re.findall('`+', text)), default=0)
    return '`' * max(3, longest + 1)


def _top_finding(doc):
    """(cause, 'ID title') of the host's worst finding; ('', '') without findings."""
    findings = sorted(_findings(doc), key=lambda f: -_rank(f.get('severity')))
    if findings:
        return (str(findings[0].get('cause') or ''),
                '%s %s' % (findings[0].get('id') or '', findings[0].get('title') or ''))
    if doc.get('reachable') is False:
        return '', 'unreachable: %s' % _unreachable_label(doc)
    return '', ''


def _top_title(doc):
    return _top_finding(doc)[1]


def render_markdown(report):
    summary = report['summary']
    out = ['# connreset.doctor report', '',
           'Generated %s by %s %s.' % (report['generated_at'], report['tool']['name'], report['tool']['version']), '',
           '## Fleet summary', '',
           '- Hosts: %d (reachable %d, unreachable %d)' % (summary['hosts'], summary['reachable'], summary['unreachable'])]
    if summary['by_level']:
        out.append('- By level: ' + ', '.join('%s %d' % kv for kv in summary['by_level'].items()))
    if summary['by_cause']:
        out.append('- Hosts by cause: ' + ', '.join('%s %d' % kv for kv in summary['by_cause'].items()))
    if summary.get('expected_hosts') is None:
        out.append('- Host count not checked against a play: every document in hosts/ was merged')
    elif summary['expected_hosts'] == summary['hosts']:
        out.append('- Every host of the play is in the report (%d)' % summary['hosts'])
    if summary.get('nothing_checked'):
        out.append('- Nothing was checked on %d host(s) (CRD-COV-NONE)' % summary['nothing_checked'])
    for error in summary.get('errors', []):
        out.append('- Host file %s: %s' % (_md_escape(error.get('file')), _md_escape(error.get('reason'))))
    if summary['top_findings']:
        out += ['', '### Top findings', '', '| Severity | ID | Finding | Cause | Hosts |', '|---|---|---|---|---|']
        for top in summary['top_findings']:
            out.append('| %s | %s | %s | %s | %d (%s) |' % (
                _md_escape(top['severity']), _md_escape(top['id']), _md_escape(top['title']),
                _md_escape(top['cause']), top['hosts'], _md_escape(', '.join(top['example_hosts']))))
    out += _timeline.markdown_lines(timeline_of(report['hosts'], report['generated_at']), _md_escape)
    out += ['', '## Hosts', '']
    if not report['hosts']:
        out.append('No host documents were found.')
    else:
        out += ['| Host | Level | Score | Findings | Top finding |', '|---|---|---:|---:|---|']
        for doc in report['hosts']:
            out.append('| %s | %s | %s | %d | %s |' % (
                _md_escape(doc['host']), _md_escape(doc['level']), doc['score'], len(_findings(doc)),
                _md_escape(_top_title(doc))))
    if len(report['hosts']) > MD_DETAIL_HOSTS:
        out += ['', '*Details below for the %d highest-scoring hosts; the other %d are in report.html and '
                    'report.json.*' % (MD_DETAIL_HOSTS, len(report['hosts']) - MD_DETAIL_HOSTS)]
    for doc in report['hosts'][:MD_DETAIL_HOSTS]:
        out += ['', '### %s' % _md_escape(doc['host']), '',
                '- Level: %s, score %s' % (_md_escape(doc['level']), doc['score'])]
        if doc.get('reachable') is False:
            info = doc.get('unreachable') or {}
            msg = info.get('msg', '') if isinstance(info, dict) else info
            out.append('- Unreachable (%s): %s' % (_md_escape(_unreachable_label(doc)), _md_escape(msg)))
        probe = doc.get('probe') or {}
        if isinstance(probe, dict) and isinstance(probe.get('summary'), dict):
            out.append('- SSH probe: %s' % _md_escape(probe['summary'].get('classification')))
        for note in log_notes(doc):
            out.append('- %s' % _md_escape(note))
        out += _md_endpoints(doc)
        findings = sorted(_findings(doc), key=lambda f: -_rank(f.get('severity')))
        if not findings:
            out.append('- No findings.')
        for finding in findings:
            heading = '#### [%s] %s: %s' % (_md_escape(finding.get('severity')), _md_escape(finding.get('id')),
                                            _md_escape(finding.get('title')))
            fleet = ' (fleet-wide check)' if finding.get('scope') == 'fleet' else ''
            out += ['', heading, '', '- Cause: %s%s' % (_md_escape(finding.get('cause')), fleet)]
            if finding.get('explanation'):
                out.append('- Why: %s' % _md_prose(finding['explanation']))
            if finding.get('remedy'):
                out.append('- Remedy: %s' % _md_prose(finding['remedy']))
            if finding.get('fix'):
                out.append('- Automatic fix: `connreset.doctor.remediate` with `%s`' % (
                    _md_escape(finding['fix']).replace('`', '')))
            if finding.get('evidence') not in (None, {}, []):
                text = _evidence_text(finding['evidence'])
                fence = _md_fence(text)
                out += ['- Evidence:', '', fence + 'json', text, fence]
    return '\n'.join(out) + '\n'


ENDPOINT_COLUMNS = ('Endpoint', 'Port', 'Protocol', 'Unit', 'Program', 'Status', 'Listening', 'Idle close (s)',
                    'Front', 'Front idle (s)', 'Probe', 'Findings')


def _endpoint_cells(endpoint):
    """The values of one endpoint row (report.md and junit.xml), as text; '-' for unknown."""
    def text(value):
        return '-' if value is None or value == '' else str(value)
    listening = {True: 'yes', False: 'no'}.get(endpoint.get('listening'), 'unknown')
    return [text(endpoint.get('name')), text(endpoint.get('port')), text(endpoint.get('protocol')),
            text(endpoint.get('unit')), text(endpoint.get('program')), text(endpoint.get('status')), listening,
            text(endpoint.get('idle_close_s')), text(endpoint.get('front_kind')),
            text(endpoint.get('front_idle_timeout_s')), text(endpoint.get('probe')),
            ', '.join(endpoint.get('findings') or []) or '-']


def _md_endpoints(doc):
    """The host's endpoints table in report.md; nothing for a host without endpoints."""
    endpoints = doc.get('endpoints') if isinstance(doc.get('endpoints'), list) else []
    endpoints = [e for e in endpoints[:MAX_HOST_ENDPOINTS] if isinstance(e, dict)]
    if not endpoints:
        return []
    out = ['- Endpoints: %d' % len(endpoints), '', '| %s |' % ' | '.join(ENDPOINT_COLUMNS),
           '|---|---:|---|---|---|---|---|---:|---|---:|---|---|']
    for endpoint in endpoints:
        out.append('| %s |' % ' | '.join(_md_escape(cell) for cell in _endpoint_cells(endpoint)))
    out.append('')
    return out


def _md_prose(value):
    """The catalogue's texts (explanation, remedy) keep their `code` spans; one line, no HTML."""
    text = ' '.join(str(value).split())
    return _visible(text).replace('<', '&lt;').replace('>', '&gt;')


# The log facts whose window and skipped lines the report shows: (fact, part, label).  The
# collectors put ``window {since, until, basis}``, ``outside_window {kind: count}`` and
# ``skipped_lines {count, samples}`` there (docs/report.schema.json, $defs/log_scan).
LOG_PARTS = (('connreset_sshd', 'events', 'sshd log'), ('connreset_oom', 'log', 'OOM kernel log'),
             ('connreset_conntrack', 'table_full_events', 'conntrack kernel log'))


def _fact_parts(*tables):
    merged = {}
    for table in tables:
        for fact, names in table.items():
            merged[fact] = tuple(dict.fromkeys(merged.get(fact, ()) + tuple(names)))
    return merged


# The parts of a host's facts the report reads besides report.json, ``{fact: (part, ...)}``: the log
# notes (LOG_PARTS), the endpoints (:func:`host_endpoints`), the timeline and the engine's fleet
# checks.  A slim host record keeps only these as a dict (:class:`HostFacts`).
REPORT_FACT_PARTS = _fact_parts(dict((key, (part,)) for key, part, _label in LOG_PARTS),
                                {'connreset_endpoints': ('endpoints',)}, _timeline.FACT_PARTS, FLEET_FACT_PARTS)


def _count_of(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return 0
    return int(value)


def log_notes(doc):
    """One line per log scan that counted matching lines outside its window or skipped lines."""
    facts = doc.get('facts') if isinstance(doc.get('facts'), dict) else {}
    notes = []
    for key, part, label in LOG_PARTS:
        scan = facts.get(key).get(part) if isinstance(facts.get(key), dict) else None
        if not isinstance(scan, dict):
            continue
        if not any(k in scan for k in ('outside_window', 'skipped_lines')) and isinstance(scan.get('log'), dict):
            scan = scan['log']
        window = scan.get('window') if isinstance(scan.get('window'), dict) else {}
        span = '%s..%s' % (window.get('since') or scan.get('since') or '?', window.get('until') or 'now')
        outside = scan.get('outside_window') if isinstance(scan.get('outside_window'), dict) else {}
        kinds = sorted((str(kind), _count_of(count)) for kind, count in outside.items() if _count_of(count))
        if kinds:
            notes.append('%s: %d matching line(s) outside the window %s (%s)' % (
                label, sum(n for _k, n in kinds), span, ', '.join('%s %d' % kv for kv in kinds)))
        skipped = scan.get('skipped_lines') if isinstance(scan.get('skipped_lines'), dict) else {}
        count = _count_of(skipped.get('count'))
        if count:
            samples = [str(x) for x in skipped.get('samples') or [] if x is not None] if isinstance(
                skipped.get('samples'), list) else []
            notes.append('%s: %d unreadable line(s) skipped%s' % (
                label, count, ', e.g. %r' % samples[0][:120] if samples else ''))
    return notes


# Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/FFFF):
# shown as \xNN / \uNNNN escapes in junit.xml.
_XML_BAD = re.compile('[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')


def _xml(value):
    """Text for junit.xml: any value as a string of XML 1.0 characters only."""
    text = value if isinstance(value, str) else str(value if value is not None else '')
    return _XML_BAD.sub(lambda m: '\\x%02x' % ord(m.group()) if ord(m.group()) < 0x100
                        else '\\u%04x' % ord(m.group()), text)


def render_junit(report, fail_on='none'):
    """JUnit XML: one testcase per host, one <failure> per finding at or above the gate level,
    and one testcase per endpoint of the host (:func:`_junit_endpoint_case`).

    The gate level is ``fail_on``, or ``high`` when ``fail_on`` is ``none``; unreachable hosts
    are <error>s carrying their classification.  Lower findings go to <system-out>.  Every
    text and attribute holds XML 1.0 characters only (:func:`_xml`).
    """
    level = fail_on if fail_on and fail_on != 'none' else JUNIT_DEFAULT_LEVEL
    threshold = _rank(level)
    suites = ET.Element('testsuites', name=TOOL_NAME)
    suite = ET.SubElement(suites, 'testsuite', name=TOOL_NAME, timestamp=_xml(report['generated_at']))
    ET.SubElement(ET.SubElement(suite, 'properties'), 'property', name='gate_level', value=_xml(level))
    failures = errors = tests = 0
    for doc in sorted(report['hosts'], key=lambda d: str(d['host'])):
        case = ET.SubElement(suite, 'testcase', classname=TOOL_NAME + '.hosts', name=_xml(doc['host']))
        if doc.get('reachable') is False:
            errors += 1
            info = doc.get('unreachable') or {}
            error = ET.SubElement(case, 'error', type=_xml(_unreachable_label(doc)),
                                  message=_xml('unreachable: %s' % _unreachable_label(doc)))
            error.text = _xml(info.get('msg', '') if isinstance(info, dict) else info)
        below = []
        failed = False
        for finding in sorted(_findings(doc), key=lambda f: -_rank(f.get('severity'))):
            line = '[%s] %s %s' % (finding.get('severity'), finding.get('id'), finding.get('title'))
            if _rank(finding.get('severity')) >= threshold:
                failed = True
                failure = ET.SubElement(case, 'failure', type=_xml(finding.get('id')), message=_xml(line))
                failure.text = _xml('\n'.join([
                    'cause: %s' % finding.get('cause'),
                    'explanation: %s' % (finding.get('explanation') or ''),
                    'remedy: %s' % (finding.get('remedy') or ''),
                    'evidence: %s' % dumps(finding.get('evidence'), sort_keys=True),
                ]))
            else:
                below.append(line)
        failures += failed
        out = ET.SubElement(case, 'system-out')
        out.text = _xml('level %s, score %s\n%s' % (doc['level'], doc['score'], '\n'.join(below + log_notes(doc))))
        tests += 1
        for endpoint in _junit_endpoints(doc):
            tests += 1
            failures += _junit_endpoint_case(suite, doc, endpoint)
    suite.set('tests', str(tests))
    suite.set('failures', str(failures))
    suite.set('errors', str(errors))
    suite.set('skipped', '0')
    suites.set('tests', str(tests))
    suites.set('failures', str(failures))
    suites.set('errors', str(errors))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding='unicode') + '\n'


def _junit_endpoints(doc):
    endpoints = doc.get('endpoints') if isinstance(doc.get('endpoints'), list) else []
    return [e for e in endpoints[:MAX_HOST_ENDPOINTS] if isinstance(e, dict)]


def _junit_endpoint_case(suite, doc, endpoint):
    """One endpoint's testcase (classname ``connreset.doctor.endpoints``, name ``<host> <endpoint>``):
    a <failure> per finding of the endpoint above low and one for a probe that is not ok; the
    endpoint's row in <system-out>.  Returns 1 when it failed, else 0."""
    label = endpoint.get('name') or ':%s' % endpoint.get('port')
    case = ET.SubElement(suite, 'testcase', classname=TOOL_NAME + '.endpoints', name=_xml('%s %s' % (doc['host'], label)))
    failed = 0
    ids = set(endpoint.get('findings') or [])
    for finding in sorted(_findings(doc), key=lambda f: -_rank(f.get('severity'))):
        fid = str(finding.get('id'))[:ENDPOINT_TEXT_CHARS]
        if fid not in ids or _rank(finding.get('severity')) <= _rank(ENDPOINT_JUNIT_ABOVE):
            continue
        named, evidence = _endpoint_evidence(finding, endpoint.get('name'))
        if not named:
            continue
        failed = 1
        failure = ET.SubElement(case, 'failure', type=_xml(fid), message=_xml('[%s] %s %s' % (
            finding.get('severity'), fid, finding.get('title'))))
        failure.text = _xml('\n'.join([
            'cause: %s' % finding.get('cause'),
            'remedy: %s' % (finding.get('remedy') or ''),
            'evidence: %s' % dumps(evidence, sort_keys=True),
        ]))
    if endpoint.get('probe') not in (None, 'ok'):
        failed = 1
        ET.SubElement(case, 'failure', type=_xml(endpoint['probe']), message=_xml('probe: %s' % endpoint['probe']))
    out = ET.SubElement(case, 'system-out')
    out.text = _xml('; '.join('%s %s' % (column.lower(), cell) for column, cell in zip(
        ENDPOINT_COLUMNS[1:], _endpoint_cells(endpoint)[1:])))
    return failed


def _prom_label(value):
    """A label value of the Prometheus text format: valid UTF-8, with \\, \" and \n escaped."""
    text = str(value).encode('utf-8', 'replace').decode('utf-8').replace('\\', '\\\\')
    # other controls as visible \\xNN (escaped backslash): a line-based reader sees one sample per line
    text = _PROM_CONTROL.sub(lambda m: '\\\\x%02x' % ord(m.group()), text)
    return text.replace('\n', '\\n').replace('"', '\\"')


_PROM_CONTROL = re.compile('[\x00-\x09\x0b-\x1f\x7f\x85\u2028\u2029]')


def _prom_value(value):
    """A sample value: a finite number as Go's ParseFloat reads it (an int as an int)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return '0'
    return str(value) if isinstance(value, int) else repr(float(value))


def render_prometheus(report):
    """Prometheus text exposition format for node_exporter's textfile collector."""
    lines = [
        '# HELP connreset_host_score Connection-reset risk score of the host, 0 (none) to 100 (worst).',
        '# TYPE connreset_host_score gauge',
    ]
    for doc in report['hosts']:
        lines.append('connreset_host_score{host="%s"} %s' % (_prom_label(doc['host']), _prom_value(doc['score'])))
    lines += ['# HELP connreset_host_reachable 1 when the host could be diagnosed, 0 when it was unreachable.',
              '# TYPE connreset_host_reachable gauge']
    for doc in report['hosts']:
        lines.append('connreset_host_reachable{host="%s"} %d' % (_prom_label(doc['host']),
                                                                 0 if doc.get('reachable') is False else 1))
    lines += ['# HELP connreset_findings Number of findings per host, cause and severity.',
              '# TYPE connreset_findings gauge']
    for doc in report['hosts']:
        counts = {}
        for finding in _findings(doc):
            key = (str(finding.get('cause') or 'unknown'), str(finding.get('severity') or 'info'))
            counts[key] = counts.get(key, 0) + 1
        for (cause, severity), count in sorted(counts.items()):
            lines.append('connreset_findings{host="%s",cause="%s",severity="%s"} %d' % (
                _prom_label(doc['host']), _prom_label(cause), _prom_label(severity), count))
    generated = report['generated_at']
    try:
        stamp = datetime.datetime.fromisoformat(str(generated).replace('Z', '+00:00')).timestamp()
    except ValueError:
        stamp = None
    if stamp is not None:
        lines += ['# HELP connreset_report_timestamp_seconds When the report was generated (Unix time).',
                  '# TYPE connreset_report_timestamp_seconds gauge',
                  'connreset_report_timestamp_seconds %d' % stamp]
    return '\n'.join(lines) + '\n'


HTML_TEXT_KEYS = ('title', 'cause', 'explanation', 'remedy', 'fix')


def _html_evidence(evidence):
    text = _compact(evidence)
    if len(text) > HTML_EVIDENCE_CHARS:
        return {'cut': text[:HTML_EVIDENCE_CHARS] + ' ...', 'note': 'cut; the whole evidence is in report.json'}
    return evidence


def html_data(report):
    """The slim data the HTML page embeds.

    No raw facts, and the texts of a finding (title, explanation, remedy...) once per finding ID in
    ``texts`` rather than once per host: with 10,000 hosts the page would otherwise weigh hundreds
    of megabytes.  A finding keeps its own text only where it differs from the first seen.
    """
    texts = {}
    hosts = []
    for doc in report['hosts']:
        probe = doc.get('probe') if isinstance(doc.get('probe'), dict) else {}
        summary = probe.get('summary') if isinstance(probe.get('summary'), dict) else {}
        unreachable = doc.get('unreachable')
        findings = []
        for finding in sorted(_findings(doc), key=lambda f: -_rank(f.get('severity'))):
            fid = str(finding.get('id') or finding.get('title') or '?')
            shared = texts.setdefault(fid, {k: finding.get(k) for k in HTML_TEXT_KEYS if finding.get(k) is not None})
            slim = {'id': fid, 'severity': finding.get('severity')}
            for key in HTML_TEXT_KEYS:
                if finding.get(key) is not None and finding.get(key) != shared.get(key):
                    slim[key] = finding[key]
            for key in ('summary', 'scope'):
                if finding.get(key) is not None:
                    slim[key] = finding[key]
            if finding.get('evidence') is not None:
                slim['evidence'] = _html_evidence(finding['evidence'])
            findings.append(slim)
        hosts.append({
            'host': str(doc['host']),
            'score': doc['score'],
            'level': doc['level'],
            'reachable': doc.get('reachable') is not False,
            'unreachable': unreachable if isinstance(unreachable, dict) else None,
            'probe': summary.get('classification'),
            'notes': log_notes(doc),
            'endpoints': _junit_endpoints(doc),
            'findings': findings,
        })
    return {'generated_at': report['generated_at'], 'tool': report['tool'], 'summary': report['summary'],
            'severities': list(SEVERITIES), 'texts': texts, 'hosts': hosts,
            'endpoint_columns': list(ENDPOINT_COLUMNS)}


_SURROGATE = re.compile('[\ud800-\udfff]')


def _whole_characters(value, depth=0):
    """``value`` with lone surrogates as U+FFFD: a browser serialising such a string can crash
    (headless Chromium does), and they are no characters anyway."""
    if isinstance(value, str):
        if not _SURROGATE.search(value):
            return value
        return value.encode('utf-16', 'surrogatepass').decode('utf-16', 'replace')
    if depth > 64:
        return None
    if isinstance(value, dict):
        return dict((_whole_characters(k, depth + 1), _whole_characters(v, depth + 1)) for k, v in value.items())
    if isinstance(value, list):
        return [_whole_characters(v, depth + 1) for v in value]
    return value


def _json_for_script(data):
    # Inside <script>, "</" would end the element: escape it (and the HTML comment openers).
    return (dumps(_whole_characters(data), separators=(',', ':'))
            .replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026'))


def render_html(report):
    """One self-contained HTML file: inline CSS and JS, the data embedded as JSON."""
    template = HTML_TEMPLATE
    title = 'connreset.doctor report %s' % report['generated_at']
    timeline = _timeline.render_section(timeline_of(report['hosts'], report['generated_at']))
    return (template.replace('@@TITLE@@', html.escape(title)).replace('@@TIMELINE@@', timeline)
            .replace('@@DATA@@', _json_for_script(html_data(report))))


def _line(value):
    """One console line's worth of a value: no line breaks, no terminal escapes."""
    text = str(value if value is not None else '')
    return _visible(text.replace('\r', ' ').replace('\n', ' ').replace('\t', ' '))


def console_summary(report, gates=None, rows=CONSOLE_ROWS):
    """The compact table printed at the end of the play: hosts x level x score x top finding."""
    summary = report['summary']
    lines = ['connreset.doctor: %d host(s), %d reachable, %d unreachable; levels: %s' % (
        summary['hosts'], summary['reachable'], summary['unreachable'],
        ', '.join('%s %d' % kv for kv in summary['by_level'].items()) or '-')]
    if summary.get('nothing_checked'):
        lines.append('NOTHING WAS CHECKED on %d host(s): no collector returned usable facts (CRD-COV-NONE)' % (
            summary['nothing_checked']))
    expected = summary.get('expected_hosts')
    if expected is None:
        lines.append('host count not checked against a play: every document in hosts/ was merged')
    elif expected != summary['hosts']:
        lines.append('HOST COUNT MISMATCH: %d host(s) in the play, %d in the report' % (expected, summary['hosts']))
    missing = [d['host'] for d in report['hosts'] if any(f.get('id') == 'CRD-COV-HOST' for f in _findings(d))]
    if missing:
        lines.append('no stored diagnosis for %d host(s) of the play (CRD-COV-HOST): %s%s' % (
            len(missing), ', '.join(_line(h) for h in missing[:10]), ', ...' if len(missing) > 10 else ''))
    waiting = [e['host'] for e in summary.get('errors', []) if e.get('pending')]
    if waiting:
        lines.append('%d host(s) of later serial batches not diagnosed yet' % len(waiting))
    shown = report['hosts'][:rows]
    if shown:
        names = [_line(d['host']) for d in shown]
        width = max(4, max(len(name) for name in names))
        tops = [tuple(_line(part) for part in _top_finding(doc)) for doc in shown]
        cause_width = max([5] + [len(cause) for cause, _title in tops])
        lines.append('%-*s  %-8s  %5s  %-*s  %s' % (width, 'HOST', 'LEVEL', 'SCORE', cause_width, 'CAUSE',
                                                    'TOP FINDING'))
        for name, doc, (cause, top) in zip(names, shown, tops):
            if len(top) > 80:
                top = top[:77] + '...'
            lines.append('%-*s  %-8s  %5s  %-*s  %s' % (width, name, doc['level'], doc['score'], cause_width,
                                                        cause or '-', top or '-'))
        if len(report['hosts']) > rows:
            lines.append('... and %d more host(s): see report.md / report.html' % (len(report['hosts']) - rows))
    if gates is not None:
        lines.append('gate: %s' % ('FAILED: ' + _line(gates['msg']) if gates['failed'] else 'passed'))
    return lines


RENDERERS = {
    'json': render_json,
    'md': render_markdown,
    'html': render_html,
    'prom': render_prometheus,
}


def render(report, fmt, fail_on='none'):
    if fmt == 'junit':
        return render_junit(report, fail_on)
    if fmt not in RENDERERS:
        raise ReportError('unknown report format %r: use one of %s' % (fmt, ', '.join(FORMATS)))
    return RENDERERS[fmt](report)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

def current_umask():
    """The process umask, read without changing it where Linux shows it (/proc/self/status)."""
    try:
        with open('/proc/self/status', 'r', encoding='ascii') as handle:
            for line in handle:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def parse_mode(value):
    """A report file mode from an option: None/'' (the umask decides), '0640'/'640' or an int
    (YAML's 0640 is already the number 416).  Raises ReportError with the fix."""
    if value is None or value == '':
        return None
    if isinstance(value, bool):
        raise ReportError('mode must be an octal string such as \'0640\', got %r' % value)
    if isinstance(value, int):
        mode = value
    elif isinstance(value, str) and re.match(r'^0?[0-7]{3}$', value.strip()):
        mode = int(value.strip(), 8)
    else:
        raise ReportError('mode %r is not a file mode: use an octal string such as \'0600\', \'0640\' or '
                          '\'0644\' (quoted), or leave it empty to follow the umask' % (value,))
    if not 0 <= mode <= 0o777:
        raise ReportError('mode %r is out of range (%s): quote it as an octal string, e.g. \'0640\' '
                          '(unquoted 640 is the decimal number 640)' % (value, oct(mode)))
    if mode & 0o600 != 0o600:
        raise ReportError('mode %s must let the owner read and write the report (at least 0600)' % format(mode, '04o'))
    return mode


def file_mode(mode=None):
    """The mode new report files get: ``mode``, or what the umask leaves of 0666."""
    return mode if mode is not None else 0o666 & ~current_umask()


def _dir_mode(mode):
    """A directory mode for a file mode: search permission wherever the file is readable."""
    return mode | ((mode & 0o444) >> 2)


def write_atomic(path, text, mode=None, create_dirs=True):
    """Write ``text`` (a string, or an iterable of strings written one after the other:
    :func:`json_chunks`) to ``path`` through a temporary file in the same directory and a rename,
    so readers (a textfile collector, a CI job) never see a half-written file.

    ``mode``: the file's mode; None gives what the umask leaves of 0666, as any new file (the
    temporary file is created 0600 and then set to it).  ``create_dirs``: create missing parent
    directories (with ``mode``'s read bits made searchable, or the umask's); False raises
    ReportError instead.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        if not create_dirs:
            raise ReportError('cannot write %s: the directory %s does not exist; create it (for node_exporter, '
                              'the directory of --collector.textfile.directory) or fix the path' % (path, directory))
        os.makedirs(directory, exist_ok=True)
        if mode is not None:
            os.chmod(directory, _dir_mode(mode))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', errors='backslashreplace') as handle:
            for chunk in [text] if isinstance(text, str) else text:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, file_mode(mode))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


# --------------------------------------------------------------------------------------------
# Redaction (diagnose_redact): pseudonyms for host names, addresses and user names
# --------------------------------------------------------------------------------------------

REDACT_KINDS = ('hosts', 'addresses', 'users')
_IPV4 = re.compile(r'(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])')
_IPV6 = re.compile(r'(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f:.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{2,45}(?:%[0-9A-Za-z_.-]+)?'
                   r'(?![0-9A-Za-z:])')
# The host field of a log line as the collectors keep it: syslog ("Dec  3 12:00:01 web1 sshd[5]:"),
# ISO ("2026-11-22T04:58:01.118231+00:00 web1 sshd[5]:") and the journal's rendering.
_LOG_HOST = re.compile(r'^((?:[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}|'
                       r'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9]{2}:?[0-9]{2})?) )(\S+)( )')
# User names in OpenSSH's log messages (auth.c auth_log(): "%s %s%s%s for %s%.100s from %.200s port %d%s";
# auth.c getpwnamallow(): "Invalid user %.100s from %.100s port %d" and "User %.100s from %.100s not
# allowed because ..."; sshd's "Connection closed by|Disconnected from [invalid|authenticating] user
# %s %s port %d"; pam_unix "session opened for user %s(uid=...)").  A name can hold spaces (sshd logs
# it verbatim): it runs up to the " from ADDRESS port" that ends it.
_USER_PATTERNS = (
    re.compile(r'((?:Invalid|invalid) user )(.{0,100}?)( from \S+ port [0-9]+)'),
    re.compile(r'( for (?:invalid user )?)(.{0,100}?)( from \S+ port [0-9]+)'),
    re.compile(r'(\bUser )(.{0,100}?)( from \S+ not allowed because)'),
    re.compile(r'((?:Connection closed by|Disconnected from|Received disconnect from|Timeout before authentication '
               r'for|Connection reset by) (?:invalid |authenticating )?user )(.{0,100}?)( \S+ port [0-9]+)'),
    re.compile(r'(session (?:opened|closed) for user )([^(\s]+)'),
    re.compile(r'(\b(?:ruser|user)=)(\S+)'),
)
_USER_KEYS = ('user', 'users', 'username', 'ruser', 'remote_user', 'ansible_user')


_NAME_TOKEN = re.compile(r'[0-9A-Za-z_][0-9A-Za-z_.@+-]*')


class Redactor:
    """Stable pseudonyms within one report: the same name or address is the same pseudonym
    everywhere (host-1, addr-1, user-1), so rows still join; nothing reversible is kept."""

    PREFIXES = {'hosts': 'host', 'addresses': 'addr', 'users': 'user'}

    def __init__(self, kinds, hosts=()):
        self.kinds = set(kinds or ())
        self.names = {'hosts': {}, 'addresses': {}, 'users': {}}
        self.given = set()
        if 'hosts' in self.kinds:
            names = sorted(set(str(h) for h in hosts if h is not None))
            for host in names:
                self.pseudonym('hosts', host)
            # The first label of an FQDN too (syslog lines carry the short host name).
            for host in names:
                short = host.split('.')[0]
                if '.' in host and len(short) >= 3 and not short.isdigit():
                    self.names['hosts'].setdefault(short, self.names['hosts'][host])

    def pseudonym(self, kind, value):
        if value in self.given:
            return value  # already a pseudonym (two patterns saw the same name)
        table = self.names[kind]
        if value not in table:
            table[value] = '%s-%d' % (self.PREFIXES[kind], len(set(table.values())) + 1)
            self.given.add(table[value])
        return table[value]

    def _address(self, match):
        text = match.group(0)
        try:
            address = ipaddress.ip_address(text.split('%')[0])
        except ValueError:
            return text
        if address.is_loopback or address.is_unspecified:
            return text
        return self.pseudonym('addresses', str(address))

    def _host_token(self, match):
        token = match.group(0)
        found = self.names['hosts'].get(token) or self.names['hosts'].get(token.rstrip('.'))
        return found + ('.' if token.endswith('.') and token.rstrip('.') in self.names['hosts'] else '') \
            if found else token

    def text(self, value):
        text = value
        if 'users' in self.kinds:
            for pattern in _USER_PATTERNS:
                text = pattern.sub(lambda m: m.group(1) + self.pseudonym('users', m.group(2)) + (
                    m.group(3) if m.lastindex >= 3 else ''), text)
        if 'hosts' in self.kinds:
            text = _LOG_HOST.sub(lambda m: m.group(1) + (
                m.group(2) if m.group(2) in ('-', 'localhost') else self.pseudonym('hosts', m.group(2))) + m.group(3),
                text)
            exact = self.names['hosts'].get(text)
            text = exact if exact else _NAME_TOKEN.sub(self._host_token, text)
        if 'addresses' in self.kinds:
            text = _IPV4.sub(self._address, text)
            if ':' in text:
                text = _IPV6.sub(self._address, text)
        return text

    def value(self, value, key=None, depth=0):
        if isinstance(value, str):
            if key in _USER_KEYS and 'users' in self.kinds and value:
                return self.pseudonym('users', value)
            if key == 'host' and 'hosts' in self.kinds and value:
                return self.pseudonym('hosts', value)
            return self.text(value)
        if depth > 64:
            return None
        if isinstance(value, dict):
            return dict((self.text(str(k)), self.value(v, k, depth + 1)) for k, v in value.items())
        if isinstance(value, list):
            return [self.value(v, key, depth + 1) for v in value]
        return value


def redact_report(report, kinds):
    """A copy of the report with host names, addresses and/or user names pseudonymised
    (``kinds`` from REDACT_KINDS); the report's own fields (ids, texts, counts) are unchanged."""
    kinds = list(kinds or ())
    bad = [k for k in kinds if k not in REDACT_KINDS]
    if bad:
        raise ReportError('redact: unknown %s; choose from %s' % (', '.join(map(str, bad)), ', '.join(REDACT_KINDS)))
    if not kinds:
        return report
    redactor = Redactor(kinds, hosts=[doc.get('host') for doc in report.get('hosts', [])])
    summary = dict(report['summary'])
    summary['top_findings'] = [dict(t, example_hosts=[redactor.value(h, 'host') for h in t['example_hosts']])
                               for t in summary['top_findings']]
    if summary.get('errors'):
        summary['errors'] = [dict((k, redactor.value(v, 'host') if k == 'host' else (
            os.path.join(os.path.dirname(v), '(redacted).json') if k == 'file' and 'hosts' in kinds
            else redactor.value(v))) for k, v in e.items()) for e in summary['errors']]
    hosts = []
    for doc in report['hosts']:
        clean = {}
        for key, value in doc.items():
            if isinstance(value, HostFacts):
                # the whole facts, in the order the report has them (the pseudonyms' numbers follow it)
                clean[key] = slim_facts(redactor.value(full_facts(value), key))
            elif key in ('findings', 'facts', 'probe', 'endpoint_probe', 'capture', 'unreachable', 'host'):
                clean[key] = redactor.value(value, key)
            elif key == 'endpoints' and isinstance(value, list):
                # the names a host gave (endpoint, unit, program); the report's own values stay
                clean[key] = [dict(e, **dict((k, redactor.value(e.get(k), k)) for k in ('name', 'unit', 'program')))
                              if isinstance(e, dict) else e for e in value]
            else:
                clean[key] = value
        for finding, original in zip(clean.get('findings') or [], doc.get('findings') or []):
            if isinstance(finding, dict) and isinstance(original, dict):
                # the catalogue's own texts are not host data
                for text_key in ('id', 'title', 'cause', 'severity', 'explanation', 'remedy', 'fix', 'scope'):
                    if text_key in original:
                        finding[text_key] = original[text_key]
        hosts.append(clean)
    redacted = dict(report, summary=summary, hosts=hosts)
    if 'timeline' in report:                # its example hosts, from the redacted documents
        redacted['timeline'] = _timeline.summary(timeline_of(hosts, report['generated_at']))
    redacted['redacted'] = sorted(kinds)
    return redacted


# --------------------------------------------------------------------------------------------
# HTML page.  Rows, heatmap and details are rendered by the script from the embedded JSON, one
# page of hosts at a time, and a host's details only when opened: the page stays responsive with
# 10,000 hosts.  No external assets.
# --------------------------------------------------------------------------------------------

HTML_TEMPLATE = r'''<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>
:root { --fg: #1d2330; --muted: #5b6477; --line: #d8dce5; --bg: #f6f7fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; padding: 1.5rem 2rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin-top: 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem; min-width: 8rem; }
.card b { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { padding: .3rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th.sortable { cursor: pointer; user-select: none; white-space: nowrap; }
th.sortable:hover { background: #eef1f7; }
th[aria-sort="descending"]::after { content: " \25BE"; } th[aria-sort="ascending"]::after { content: " \25B4"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: .8rem; font-weight: 600; }
.sev-critical { background: #7a0019; color: #fff; } .sev-high { background: #d1342f; color: #fff; }
.sev-medium { background: #f08c2e; color: #fff; } .sev-low { background: #f4d03f; color: #222; }
.sev-info { background: #9fc5e8; color: #222; } .sev-ok { background: #58b368; color: #fff; }
.sev-unknown, .sev-unreachable { background: #6c6c6c; color: #fff; }
.controls { display: flex; gap: .6rem; align-items: center; margin: .6rem 0; flex-wrap: wrap; }
.controls input { padding: .3rem .5rem; min-width: 16rem; }
.heat td.cell { width: 2.2rem; min-width: 2.2rem; height: 1.4rem; padding: 0; border: 1px solid #fff; }
.heat th.cause { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: 500; font-size: .8rem; }
.heat .h-critical { background: #7a0019; } .heat .h-high { background: #d1342f; } .heat .h-medium { background: #f08c2e; }
.heat .h-low { background: #f4d03f; } .heat .h-info { background: #9fc5e8; } .heat .h-none { background: #eef0f4; }
details.host { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: .4rem 0; padding: .4rem .8rem; }
details.host > summary { cursor: pointer; font-weight: 600; }
.finding { border-left: 4px solid var(--line); margin: .6rem 0; padding: .2rem .8rem; }
.finding.s-critical, .finding.s-high { border-color: #d1342f; } .finding.s-medium { border-color: #f08c2e; }
pre { background: #f1f3f7; padding: .5rem; overflow: auto; max-height: 20rem; font-size: .8rem; }
a.hostlink { color: inherit; }
</style>
</head>
<body>
<header>
<h1>connreset.doctor report</h1>
<div class="muted" id="generated"></div>
<noscript><p>This report renders with JavaScript; the same data is in report.json and report.md.</p></noscript>
<div class="cards" id="summary-cards"></div>
</header>
<section>
<h2>Top findings</h2>
<table id="top-findings"><thead><tr><th>Severity</th><th>ID</th><th>Finding</th><th>Cause</th><th>Hosts</th></tr></thead><tbody></tbody></table>
</section>
@@TIMELINE@@
<section>
<h2>Hosts</h2>
<div class="controls">
<input id="filter" type="search" placeholder="Filter: host, level, cause or finding ID">
<button id="prev" type="button">&larr; Previous</button>
<span id="page-info" class="muted"></span>
<button id="next" type="button">Next &rarr;</button>
<label class="muted">Rows <select id="page-size"><option>25</option><option selected>100</option><option>500</option></select></label>
</div>
<table id="hosts-table">
<thead><tr>
<th class="sortable" data-key="host">Host</th>
<th class="sortable" data-key="level">Level</th>
<th class="sortable" data-key="score" aria-sort="descending">Score</th>
<th class="sortable" data-key="count">Findings</th>
<th>Top finding</th>
<th class="sortable" data-key="probe">SSH probe</th>
</tr></thead>
<tbody></tbody>
</table>
</section>
<section>
<h2>Cause &times; host heatmap <span class="muted">(hosts of the current page; colour = worst severity)</span></h2>
<table id="heatmap" class="heat"><thead></thead><tbody></tbody></table>
</section>
<section>
<h2>Host details <span class="muted">(hosts of the current page)</span></h2>
<div id="details"></div>
</section>
<script type="application/json" id="report-data">@@DATA@@</script>
<script>
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var SEV = {};
  data.severities.forEach(function (s, i) { SEV[s] = i + 1; });
  function rank(s) { return SEV[s] || 0; }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); }); }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function badge(level) { return el('span', {'class': 'sev sev-' + (level || 'unknown')}, level || 'unknown'); }
  var hosts = data.hosts;
  hosts.forEach(function (h, i) {
    h.findings = h.findings.map(function (f) { return Object.assign({}, data.texts[f.id] || {}, f); });
    h._i = i;
    h._count = h.findings.length;
    h._search = (h.host + ' ' + h.level + ' ' + h.findings.map(function (f) { return f.cause + ' ' + f.id; }).join(' ')).toLowerCase();
    h._causes = {};
    h.findings.forEach(function (f) {
      if (rank(f.severity) >= rank(h._causes[f.cause] || '')) { h._causes[f.cause] = f.severity; }
    });
  });
  var causes = Object.keys(data.summary.by_cause);

  // Summary
  document.getElementById('generated').textContent = 'Generated ' + data.generated_at + ' by ' + data.tool.name + ' ' + data.tool.version;
  var cards = document.getElementById('summary-cards');
  function card(label, value) {
    var c = el('div', {'class': 'card'});
    c.appendChild(el('b', null, value));
    c.appendChild(el('span', {'class': 'muted'}, label));
    cards.appendChild(c);
  }
  card('hosts', data.summary.hosts);
  card('reachable', data.summary.reachable);
  card('unreachable', data.summary.unreachable);
  Object.keys(data.summary.by_level).forEach(function (l) { card('level ' + l, data.summary.by_level[l]); });
  var topBody = document.querySelector('#top-findings tbody');
  if (!data.summary.top_findings.length) { var r0 = el('tr'); r0.appendChild(el('td', {colspan: 5}, 'No findings.')); topBody.appendChild(r0); }
  data.summary.top_findings.forEach(function (t) {
    var tr = el('tr');
    var td = el('td'); td.appendChild(badge(t.severity)); tr.appendChild(td);
    tr.appendChild(el('td', null, t.id)); tr.appendChild(el('td', null, t.title)); tr.appendChild(el('td', null, t.cause));
    tr.appendChild(el('td', {'class': 'num'}, t.hosts + ' (' + t.example_hosts.join(', ') + (t.hosts > t.example_hosts.length ? ', ...' : '') + ')'));
    topBody.appendChild(tr);
  });

  // State: filter, sort, page
  var state = {key: 'score', dir: -1, page: 0, size: 100, filter: ''};
  var view = hosts.slice();
  function compare(a, b) {
    var x, y;
    if (state.key === 'host') { x = a.host; y = b.host; }
    else if (state.key === 'level') { x = rank(a.level); y = rank(b.level); }
    else if (state.key === 'count') { x = a._count; y = b._count; }
    else if (state.key === 'probe') { x = a.probe || ''; y = b.probe || ''; }
    else { x = a.score; y = b.score; }
    if (x < y) { return -state.dir; }
    if (x > y) { return state.dir; }
    return a._i - b._i;
  }
  function refilter() {
    var q = state.filter.toLowerCase();
    view = q ? hosts.filter(function (h) { return h._search.indexOf(q) >= 0; }) : hosts.slice();
    view.sort(compare);
    state.page = 0;
  }
  function pageHosts() { return view.slice(state.page * state.size, (state.page + 1) * state.size); }
  function topText(h) {
    if (h.findings.length) { return h.findings[0].id + ' ' + h.findings[0].title; }
    if (!h.reachable) { return 'unreachable: ' + ((h.unreachable && (h.unreachable.classification || h.unreachable.msg)) || ''); }
    return '';
  }
  function renderTable(rows) {
    var body = document.querySelector('#hosts-table tbody');
    body.textContent = '';
    rows.forEach(function (h) {
      var tr = el('tr', {'data-host': h.host});
      var th = el('td'); var a = el('a', {'class': 'hostlink', href: '#host-' + h._i}, h.host); th.appendChild(a); tr.appendChild(th);
      var lv = el('td'); lv.appendChild(badge(h.reachable ? h.level : 'unreachable')); tr.appendChild(lv);
      tr.appendChild(el('td', {'class': 'num'}, h.score));
      tr.appendChild(el('td', {'class': 'num'}, h._count));
      tr.appendChild(el('td', null, topText(h)));
      tr.appendChild(el('td', null, h.probe || ''));
      body.appendChild(tr);
    });
    if (!rows.length) { var r = el('tr'); r.appendChild(el('td', {colspan: 6}, 'No hosts.')); body.appendChild(r); }
    var pages = Math.max(1, Math.ceil(view.length / state.size));
    document.getElementById('page-info').textContent = 'page ' + (state.page + 1) + ' of ' + pages + ' (' + view.length + ' hosts)';
    document.getElementById('prev').disabled = state.page === 0;
    document.getElementById('next').disabled = state.page >= pages - 1;
    document.querySelectorAll('#hosts-table th.sortable').forEach(function (h) {
      if (h.getAttribute('data-key') === state.key) { h.setAttribute('aria-sort', state.dir < 0 ? 'descending' : 'ascending'); }
      else { h.removeAttribute('aria-sort'); }
    });
  }
  function renderHeatmap(rows) {
    var head = document.querySelector('#heatmap thead');
    var body = document.querySelector('#heatmap tbody');
    head.textContent = ''; body.textContent = '';
    var hr = el('tr'); hr.appendChild(el('th', null, 'Host'));
    causes.forEach(function (c) { hr.appendChild(el('th', {'class': 'cause', title: c}, c)); });
    head.appendChild(hr);
    var fr = el('tr'); fr.appendChild(el('th', {'class': 'muted'}, 'hosts in fleet'));
    causes.forEach(function (c) { fr.appendChild(el('td', {'class': 'num muted'}, data.summary.by_cause[c])); });
    head.appendChild(fr);
    if (!causes.length) { var e = el('tr'); e.appendChild(el('td', null, 'No findings in the fleet.')); body.appendChild(e); }
    rows.forEach(function (h) {
      var tr = el('tr', {'data-host': h.host});
      tr.appendChild(el('th', null, h.host));
      causes.forEach(function (c) {
        var s = h._causes[c];
        tr.appendChild(el('td', {'class': 'cell h-' + (s || 'none'), title: h.host + ' / ' + c + ': ' + (s || 'no finding')}));
      });
      body.appendChild(tr);
    });
  }
  var ENDPOINT_COLUMNS = data.endpoint_columns;
  function dash(v) { return (v === null || v === undefined || v === '') ? '-' : String(v); }
  function endpointCells(e) {
    var listening = e.listening === true ? 'yes' : (e.listening === false ? 'no' : 'unknown');
    return [dash(e.name), dash(e.port), dash(e.protocol), dash(e.unit), dash(e.program), dash(e.status), listening,
            dash(e.idle_close_s), dash(e.front_kind), dash(e.front_idle_timeout_s), dash(e.probe),
            (e.findings || []).join(', ') || '-'];
  }
  function fillDetails(box, h) {
    if (!h.reachable && h.unreachable) {
      box.appendChild(el('p', null, 'Unreachable (' + (h.unreachable.classification || 'unknown') + '): ' + (h.unreachable.msg || '')));
    }
    if (h.probe) { box.appendChild(el('p', {'class': 'muted'}, 'SSH probe: ' + h.probe)); }
    (h.notes || []).forEach(function (n) { box.appendChild(el('p', {'class': 'muted note'}, n)); });
    if (h.endpoints && h.endpoints.length) {
      var et = el('table', {'class': 'endpoints'});
      var ehr = el('tr');
      ENDPOINT_COLUMNS.forEach(function (c) { ehr.appendChild(el('th', null, c)); });
      et.appendChild(el('thead')).appendChild(ehr);
      var etb = el('tbody');
      h.endpoints.forEach(function (e) {
        var tr = el('tr');
        endpointCells(e).forEach(function (v) { tr.appendChild(el('td', null, v)); });
        etb.appendChild(tr);
      });
      et.appendChild(etb);
      box.appendChild(el('p', {'class': 'muted'}, 'Endpoints: ' + h.endpoints.length));
      box.appendChild(et);
    }
    if (!h.findings.length) { box.appendChild(el('p', null, 'No findings.')); }
    h.findings.forEach(function (f) {
      var d = el('div', {'class': 'finding s-' + f.severity});
      var t = el('p'); t.appendChild(badge(f.severity));
      t.appendChild(document.createTextNode(' ' + f.id + ': ' + f.title + ' (' + f.cause + (f.scope === 'fleet' ? ', fleet-wide' : '') + ')'));
      d.appendChild(t);
      if (f.summary) { d.appendChild(el('p', null, f.summary)); }
      if (f.explanation) { d.appendChild(el('p', {'class': 'muted'}, f.explanation)); }
      if (f.remedy) { var p = el('p'); p.appendChild(el('b', null, 'Remedy: ')); p.appendChild(document.createTextNode(f.remedy)); d.appendChild(p); }
      if (f.fix) { d.appendChild(el('p', {'class': 'muted'}, 'Automatic fix: connreset.doctor.remediate with ' + f.fix)); }
      if (f.evidence !== undefined) { d.appendChild(el('pre', null, JSON.stringify(f.evidence, null, 2))); }
      box.appendChild(d);
    });
  }
  function renderDetails(rows) {
    var box = document.getElementById('details');
    box.textContent = '';
    rows.forEach(function (h) {
      var d = el('details', {'class': 'host', id: 'host-' + h._i});
      var s = el('summary'); s.appendChild(badge(h.reachable ? h.level : 'unreachable'));
      s.appendChild(document.createTextNode(' ' + h.host + ' \u2014 score ' + h.score + ', ' + h._count + ' finding(s)'));
      d.appendChild(s);
      d.addEventListener('toggle', function () {
        if (d.open && !d._filled) { d._filled = true; var body = el('div'); fillDetails(body, h); d.appendChild(body); }
      });
      box.appendChild(d);
    });
  }
  // The view (sort, filter, page) lives in the URL fragment, e.g. #sort=host&dir=asc&filter=mtu,
  // so a link shows the same hosts.
  var SORT_KEYS = {host: 1, level: 1, score: 1, count: 1, probe: 1};
  function readHash() {
    (location.hash || '').replace(/^#/, '').split('&').forEach(function (part) {
      var kv = part.split('='); var k = decodeURIComponent(kv[0] || ''); var v = decodeURIComponent(kv[1] || '');
      if (k === 'sort' && SORT_KEYS[v]) { state.key = v; }
      else if (k === 'dir') { state.dir = v === 'asc' ? 1 : -1; }
      else if (k === 'filter') { state.filter = v; document.getElementById('filter').value = v; }
      else if (k === 'size' && [25, 100, 500].indexOf(parseInt(v, 10)) >= 0) { state.size = parseInt(v, 10); document.getElementById('page-size').value = v; }
      else if (k === 'page') { state.page = Math.max(0, (parseInt(v, 10) || 1) - 1); }
    });
  }
  function writeHash() {
    var h = 'sort=' + state.key + '&dir=' + (state.dir < 0 ? 'desc' : 'asc') + '&page=' + (state.page + 1) + '&size=' + state.size;
    if (state.filter) { h += '&filter=' + encodeURIComponent(state.filter); }
    (location.hash || '').replace(/^#/, '').split('&').forEach(function (p) { if (/^tl_/.test(p)) { h += '&' + p; } });  // the timeline's
    try { history.replaceState(null, '', '#' + h); } catch (e) { /* file:// in some browsers */ }
  }
  function render() { var rows = pageHosts(); renderTable(rows); renderHeatmap(rows); renderDetails(rows); writeHash(); }

  document.querySelectorAll('#hosts-table th.sortable').forEach(function (th) {
    th.addEventListener('click', function () {
      var key = th.getAttribute('data-key');
      if (state.key === key) { state.dir = -state.dir; } else { state.key = key; state.dir = (key === 'host' || key === 'probe') ? 1 : -1; }
      view.sort(compare); state.page = 0; render();
    });
  });
  document.getElementById('prev').addEventListener('click', function () { if (state.page > 0) { state.page--; render(); } });
  document.getElementById('next').addEventListener('click', function () { if ((state.page + 1) * state.size < view.length) { state.page++; render(); } });
  document.getElementById('page-size').addEventListener('change', function (ev) { state.size = parseInt(ev.target.value, 10); state.page = 0; render(); });
  var timer = null;
  document.getElementById('filter').addEventListener('input', function (ev) {
    clearTimeout(timer);
    timer = setTimeout(function () { state.filter = ev.target.value.trim(); refilter(); render(); }, 150);
  });
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a.hostlink') : null;
    if (a) { var d = document.querySelector(a.getAttribute('href')); if (d) { d.open = true; } }
  });
  readHash();
  var startPage = state.page;
  refilter();
  state.page = Math.min(startPage, Math.max(0, Math.ceil(view.length / state.size) - 1));
  render();
  document.body.setAttribute('data-rendered', 'true');
}());
</script>
</body>
</html>
'''
