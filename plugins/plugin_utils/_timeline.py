# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet timeline (docs/report.md, "Timeline"): when things happened, across hosts.  Private.

Pure functions, three steps:

* :func:`timeline_data`: host documents (their facts' ``series``, docs/facts.md) and the run's time
  -> the timeline's data: one marker per exact event time or per bucket, per host and event kind,
  hosts of one incident window sorted together, the probe's result per host;
* :func:`render_section`: that data -> one ``<section id="timeline">`` holding one self-contained
  SVG (no external script, font or image; an inline script only moves what is drawn when the URL
  fragment asks for a time range (``#tl_from=..&tl_to=..``) or the other view (``tl_view=causes``));
* :func:`markdown_lines` (report.md) and :func:`summary` (report.json ``timeline``).

The report step knows presentation only: the kinds below name where each series lives in the facts,
never how a collector read it.  Every text drawn is escaped (log lines are written by strangers:
docs/security.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import calendar
import html
import math
import re
import time

# (kind id, label, cause the report groups it under, fact, path to the series in that fact)
KINDS = (
    ('oom_kill', 'OOM kill', 'resource_exhaustion', 'connreset_oom', ('kill_series',)),
    ('sshd_crash', 'sshd crash', 'sshd_down', 'connreset_sshd', ('events', 'crashes', 'series')),
    ('sshd_restart', 'sshd restart', 'sshd_down', 'connreset_sshd', ('events', 'restarts', 'series')),
    ('maxstartups_drop', 'MaxStartups drop', 'sshd_rate_limit', 'connreset_sshd',
     ('events', 'maxstartups_drops', 'series')),
    ('penalty_drop', 'PerSourcePenalties drop', 'sshd_rate_limit', 'connreset_sshd', ('events', 'penalties', 'series')),
    ('wrap_refusal', 'TCP wrappers refusal', 'tcp_wrappers', 'connreset_sshd', ('events', 'wrap_refusals', 'series')),
    ('conntrack_full', 'conntrack table full', 'conntrack', 'connreset_conntrack', ('table_full_events', 'series')),
)
# The endpoints collector's services (issue 13), where their events carry a series: a crash or restart
# of a service is cause service_down (the CRD-SVC findings' cause, _catalogue.CAUSES).
ENDPOINT_KINDS = (('service_crash', 'service crash', 'service_down', 'crashes'),
                  ('service_restart', 'service restart', 'service_down', 'restarts'))
# The parts of the facts the timeline reads (:func:`host_kinds`), ``{fact: (part, ...)}``: a report
# made from slim host records keeps these (_report.REPORT_FACT_PARTS).
FACT_PARTS = dict((fact, tuple(dict.fromkeys(k[4][0] for k in KINDS if k[3] == fact)))
                  for fact in dict.fromkeys(k[3] for k in KINDS))
FACT_PARTS['connreset_endpoints'] = ('endpoints',)
KIND_STYLE = {          # colour, marker shape
    'oom_kill': ('#7a0019', 'diamond'), 'sshd_crash': ('#d1342f', 'cross'), 'sshd_restart': ('#f08c2e', 'circle'),
    'maxstartups_drop': ('#1f6fb2', 'square'), 'penalty_drop': ('#6a3d9a', 'square'),
    'wrap_refusal': ('#2a8c4a', 'triangle'), 'conntrack_full': ('#8c6d1f', 'triangle'),
    'service_crash': ('#b2182b', 'cross'), 'service_restart': ('#e08214', 'circle'),
}
# Events of the fleet closer than this (seconds) belong to one incident window.
INCIDENT_GAP_S = 1800
# Rows drawn (hosts with events first); the others are counted under the drawing.
MAX_ROWS = 200
# Markers kept per host and kind (a series holds at most 20 times or ~200 buckets; this bounds a forged one).
MAX_MARKERS = 250
NOTE_CHARS = 300
MAX_INCIDENTS = 50

# geometry of the drawing (px)
WIDTH = 1120
LABEL_W = 190
PROBE_W = 120
AXIS_H = 34
ROW_H = 20
X0 = LABEL_W
X1 = WIDTH - PROBE_W - 12
TICK_STEPS = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400,
              7 * 86400, 30 * 86400)
PROBE_OK = ('ok',)

_ISO_Z = re.compile(r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$')
_NOT_TEXT = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]')


def epoch_of(text):
    """``YYYY-MM-DDTHH:MM:SSZ`` (the facts' times) -> epoch seconds, None for anything else."""
    if not isinstance(text, str):
        return None
    match = _ISO_Z.match(text)
    if not match:
        return None
    parts = [int(p) for p in match.groups()]
    if not (1 <= parts[1] <= 12 and 1 <= parts[2] <= 31 and parts[3] <= 23 and parts[4] <= 59 and parts[5] <= 60):
        return None
    try:
        return float(calendar.timegm(tuple(parts) + (0, 0, 0)))
    except (ValueError, OverflowError):
        return None


def iso(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def clean_text(value, limit=NOTE_CHARS):
    """A stranger's text made safe to show: no control or bidi characters, one line, cut."""
    text = _NOT_TEXT.sub('\ufffd', str(value if value is not None else ''))
    text = ' '.join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def esc(value):
    """Text for SVG/HTML content and attribute values (quotes too)."""
    # '@' too: the page template's placeholders (@@DATA@@) never appear in what is drawn
    return html.escape(clean_text(value, 10 * NOTE_CHARS), quote=True).replace('@', '&#64;')


def _dig(value, path):
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def series_markers(series, fallback_note=None):
    """One ``series`` fact -> markers ``[{t, time, dur, count, note}]`` (``dur`` 0 for an exact time,
    else the bucket's length), oldest first; a malformed entry is skipped.  Pure."""
    if not isinstance(series, dict):
        return []
    markers = []
    bucket_s = series.get('bucket_s')
    bucket_s = bucket_s if isinstance(bucket_s, int) and not isinstance(bucket_s, bool) and 0 < bucket_s <= 10 ** 9 \
        else None
    for item in (series.get('times') or [])[:MAX_MARKERS] if isinstance(series.get('times'), list) else []:
        when = epoch_of(item.get('time')) if isinstance(item, dict) else None
        if when is not None:
            note = item.get('note')
            markers.append({'t': when, 'time': iso(when), 'dur': 0, 'count': 1,
                            'note': clean_text(note if isinstance(note, str) and note else fallback_note or '')})
    if bucket_s:
        buckets = series.get('buckets') if isinstance(series.get('buckets'), list) else []
        for item in buckets[:MAX_MARKERS]:
            when = epoch_of(item.get('start')) if isinstance(item, dict) else None
            count = _int(item.get('count')) if isinstance(item, dict) else None
            if when is not None and count:
                markers.append({'t': when, 'time': iso(when), 'dur': bucket_s, 'count': count,
                                'note': clean_text(fallback_note or '')})
    markers.sort(key=lambda m: m['t'])
    return markers


def _last_sample(part):
    samples = part.get('samples') if isinstance(part, dict) else None
    if isinstance(samples, list) and samples and isinstance(samples[-1], str):
        return samples[-1]
    return None


def host_kinds(facts):
    """A host's facts -> ``[(kind id, label, cause, markers)]`` for every kind whose series has events."""
    facts = facts if isinstance(facts, dict) else {}
    found = []
    for kind, label, cause, fact, path in KINDS:
        series = _dig(facts.get(fact), path)
        owner = _dig(facts.get(fact), path[:-1]) if len(path) > 1 else None
        markers = series_markers(series, _last_sample(owner))
        if markers:
            found.append((kind, label, cause, markers))
    endpoints = _dig(facts, ('connreset_endpoints', 'endpoints'))
    for endpoint in (endpoints if isinstance(endpoints, list) else [])[:50]:
        if not isinstance(endpoint, dict):
            continue
        name = endpoint.get('unit') or endpoint.get('name') or endpoint.get('program') or endpoint.get('port')
        for kind, label, cause, key in ENDPOINT_KINDS:
            part = _dig(endpoint, ('events', key))
            markers = series_markers(_dig(part, ('series',)), _last_sample(part))
            if markers:
                found.append((kind, '%s (%s)' % (label, clean_text(name, 60)), cause, markers))
    return found


def _probe_of(doc):
    probe = doc.get('probe') if isinstance(doc.get('probe'), dict) else {}
    summary = probe.get('summary') if isinstance(probe.get('summary'), dict) else {}
    value = summary.get('classification')
    if doc.get('reachable') is False:
        info = doc.get('unreachable') if isinstance(doc.get('unreachable'), dict) else {}
        return 'unreachable: %s' % clean_text(info.get('classification') or 'unknown', 40)
    return clean_text(value, 40) if isinstance(value, str) and value else None


def incidents(times, gap=INCIDENT_GAP_S):
    """``[(start, end)]`` of ``[(t, dur)]``: events closer than ``gap`` seconds in one window.  Pure."""
    windows = []
    for when, dur in sorted(times):
        end = when + dur
        if windows and when - windows[-1][1] <= gap:
            windows[-1][1] = max(windows[-1][1], end)
        else:
            windows.append([when, end])
    return [tuple(w) for w in windows]


def _incident_of(windows, when):
    for index, (start, end) in enumerate(windows):
        if start <= when <= end:
            return index
    return None


def tick_step(span, ticks=8):
    for step in TICK_STEPS:
        if span / step <= ticks:
            return step
    return int(math.ceil(span / ticks / 86400.0)) * 86400


def timeline_data(docs, generated_at=None):
    """Host documents (``build_report``'s ``hosts``) and the run's time -> the timeline's data.  Pure.

    ``{start, end, run, rows: [{host, incident, probe, kinds: [{kind, label, cause, markers}]}],
    kinds: [{kind, label, cause, count, hosts, first, last}], incidents: [{start, end, hosts}],
    busiest_hour: {start, count} | None, hidden_rows, events}``.  ``start``..``end`` spans every
    marker and the run (the probe's time); hosts of one incident window (:data:`INCIDENT_GAP_S`)
    are next to each other, the earliest incident first.
    """
    probed = None                   # the newest host document: when this run probed and collected
    rows = []
    per_kind = {}
    hours = {}
    all_times = []
    for doc in docs or []:
        if not isinstance(doc, dict):
            continue
        kinds = []
        for kind, label, cause, markers in host_kinds(doc.get('facts')):
            kinds.append({'kind': kind, 'label': label, 'cause': cause, 'markers': markers})
            entry = per_kind.setdefault(kind, {'kind': kind, 'label': label.split(' (')[0], 'cause': cause,
                                               'count': 0, 'hosts': 0, 'first': None, 'last': None})
            entry['hosts'] += 1
            for marker in markers:
                entry['count'] += marker['count']
                end = marker['t'] + marker['dur']
                entry['first'] = marker['t'] if entry['first'] is None else min(entry['first'], marker['t'])
                entry['last'] = end if entry['last'] is None else max(entry['last'], end)
                all_times.append((marker['t'], marker['dur']))
                if marker['dur'] <= 3600:
                    hour = int(marker['t'] // 3600) * 3600
                    hours[hour] = hours.get(hour, 0) + marker['count']
        firsts = [k['markers'][0]['t'] for k in kinds]
        rows.append({'host': clean_text(doc.get('host'), 120), 'probe': _probe_of(doc), 'kinds': kinds,
                     'first': min(firsts) if firsts else None})
        stamp = epoch_of(doc.get('generated_at'))
        if stamp is not None and (probed is None or stamp > probed):
            probed = stamp
    run = probed if probed is not None else epoch_of(generated_at)
    windows = incidents(all_times)
    for row in rows:
        row['incident'] = _incident_of(windows, row['first']) if row['first'] is not None else None
    rows.sort(key=lambda r: (r['incident'] is None, r['incident'] or 0, r['first'] or 0, r['host']))
    shown = rows[:MAX_ROWS]
    start = min([t for t, _d in all_times] + ([run] if run is not None else []) or [0.0])
    end = max([t + d for t, d in all_times] + ([run] if run is not None else []) or [start])
    pad = max(30.0, (end - start) * 0.03)
    incident_list = []
    # every host with an event in a window (a host's row sorts under its first incident only); each
    # marker lies in exactly one window, the one starting last at or before it
    starts = [first for first, _last in windows]
    members = [[] for _w in windows[:MAX_INCIDENTS]]
    for row in rows:
        seen = set()
        for kind in row['kinds']:
            for marker in kind['markers']:
                index = bisect.bisect_right(starts, marker['t']) - 1
                if 0 <= index < len(members) and index not in seen:
                    seen.add(index)
                    members[index].append(row['host'])
    for (first, last), hosts in zip(windows, members):
        incident_list.append({'start': iso(first), 'end': iso(last), 'hosts': len(hosts), 'example_hosts': hosts[:5]})
    busiest = None
    if hours:
        hour, count = sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        busiest = {'start': iso(hour), 'count': count}
    kinds = [per_kind[k[0]] for k in KINDS + ENDPOINT_KINDS if k[0] in per_kind]
    for entry in kinds:
        entry['first'] = iso(entry['first'])
        entry['last'] = iso(entry['last'])
    return {'start': start - pad, 'end': end + pad, 'run': run, 'rows': shown, 'hidden_rows': len(rows) - len(shown),
            'hidden_with_events': sum(1 for r in rows[MAX_ROWS:] if r['kinds']),
            'kinds': kinds, 'incidents': incident_list, 'incident_count': len(windows), 'busiest_hour': busiest,
            'events': sum(k['count'] for k in kinds)}


def summary(data):
    """report.json's ``timeline`` (docs/report.schema.json): per kind across the fleet, the incident
    windows and the busiest hour; the markers themselves stay in each host's facts."""
    return {'start': iso(data['start']), 'end': iso(data['end']), 'events': data['events'],
            'kinds': [dict(k) for k in data['kinds']], 'incidents': [dict(i) for i in data['incidents']],
            'incident_count': data['incident_count'], 'busiest_hour': data['busiest_hour'],
            'incident_gap_s': INCIDENT_GAP_S}


def markdown_lines(data, escape):
    """report.md's compact timeline: first and last event per cause, the incidents, the busiest hour.
    ``escape``: the Markdown escaping of the report."""
    out = ['', '## Timeline', '']
    if not data['kinds']:
        return out + ['No timed event in the hosts\' logs (crashes, restarts, MaxStartups or penalty drops, '
                      'wrapper refusals, OOM kills, conntrack table full).']
    out += ['| Event | Cause | Events | Hosts | First | Last |', '|---|---|---:|---:|---|---|']
    for kind in data['kinds']:
        out.append('| %s | %s | %d | %d | %s | %s |' % (
            escape(kind['label']), escape(kind['cause']), kind['count'], kind['hosts'], kind['first'], kind['last']))
    out.append('')
    if data['busiest_hour']:
        out.append('- Busiest hour: %s (%d events)' % (data['busiest_hour']['start'], data['busiest_hour']['count']))
    for number, incident in enumerate(data['incidents'], 1):
        hosts = ', '.join(escape(h) for h in incident['example_hosts'])
        more = ', ...' if incident['hosts'] > len(incident['example_hosts']) else ''
        out.append('- Incident %d: %s to %s, %d host(s): %s%s' % (
            number, incident['start'], incident['end'], incident['hosts'], hosts, more))
    if data['incident_count'] > len(data['incidents']):
        out.append('- %d more incident windows (report.json)' % (data['incident_count'] - len(data['incidents'])))
    return out


# -- the SVG -----------------------------------------------------------------------------------
def x_of(data, when):
    """The x of a time in the unzoomed drawing (the page's script uses the same mapping)."""
    span = max(1.0, data['end'] - data['start'])
    return X0 + (when - data['start']) / span * (X1 - X0)


def _shape(kind):
    shape = KIND_STYLE.get(kind, ('#444', 'circle'))[1]
    return {'diamond': 'M0,-6L6,0L0,6L-6,0Z', 'cross': 'M-5,-5L5,5M5,-5L-5,5', 'circle': 'M-4.5,0a4.5,4.5 0 1,0 9,0a4.5,4.5 0 1,0 -9,0Z',
            'square': 'M-4,-4H4V4H-4Z', 'triangle': 'M0,-6L6,5H-6Z'}[shape]


def _tick_label(when, step):
    if step < 60:
        return time.strftime('%H:%M:%S', time.gmtime(when))
    if step < 86400:
        return time.strftime('%H:%M', time.gmtime(when))
    return time.strftime('%m-%d', time.gmtime(when))


def _axis(data, height):
    span = data['end'] - data['start']
    step = tick_step(span)
    out = ['<g class="tl-axis">']
    first = math.ceil(data['start'] / step) * step
    when = first
    count = 0
    while when <= data['end'] and count < 40:
        x = x_of(data, when)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e3e6ee"/>' % (x, AXIS_H - 6, x, height))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, AXIS_H - 10, esc(_tick_label(when, step))))
        when += step
        count += 1
    out.append('<text x="%d" y="12" class="tl-date">%s UTC</text>' % (X0, esc(iso(data['start'])[:10])))
    out.append('</g>')
    return out


def _marker(data, kind, marker, y, title):
    colour = KIND_STYLE.get(kind, ('#444', 'circle'))[0]
    x = x_of(data, marker['t'])
    attrs = ('class="tl-ev" data-kind="%s" data-t="%d" data-time="%s" data-dur="%d" data-count="%d" '
             'transform="translate(%.2f %d)"' % (esc(kind), marker['t'], marker['time'], marker['dur'], marker['count'],
                                                 x, y))
    if marker['dur']:
        width = max(3.0, x_of(data, marker['t'] + marker['dur']) - x)
        shape = '<rect x="0" y="-6" width="%.2f" height="12" fill="%s" fill-opacity="0.55"/>' % (width, colour)
    else:
        shape = '<path d="%s" fill="%s" stroke="%s" stroke-width="1.6"/>' % (_shape(kind), colour, colour)
    return '<g %s><title>%s</title>%s</g>' % (attrs, esc(title), shape)


def _title(host, label, marker):
    when = marker['time'] if not marker['dur'] else '%s + %ds' % (marker['time'], marker['dur'])
    count = '' if marker['count'] == 1 and not marker['dur'] else ' (%d events)' % marker['count']
    note = '\n%s' % marker['note'] if marker['note'] else ''
    return '%s: %s at %s%s%s' % (host, label, when, count, note)


def _rows_view(data, rows, view, hidden):
    """One view (``hosts`` or ``causes``): a group of labelled rows of markers."""
    height = AXIS_H + ROW_H * max(1, len(rows)) + 8
    out = ['<g class="tl-view" data-view="%s" data-height="%d"%s>' % (view, height, ' display="none"' if hidden else '')]
    for index, (label, right, markers, band) in enumerate(rows):
        y = AXIS_H + ROW_H * index + ROW_H // 2
        out.append('<g class="tl-row" data-label="%s">' % esc(label))
        if index % 2:
            out.append('<rect x="0" y="%d" width="%d" height="%d" fill="#f7f8fb"/>' % (y - ROW_H // 2, WIDTH, ROW_H))
        out.append('<text x="%d" y="%d" text-anchor="end" class="tl-label">%s</text>' % (
            X0 - 8, y + 4, esc(clean_text(label, 28))))
        for kind, marker, title in markers:
            out.append(_marker(data, kind, marker, y, title))
        if right is not None:
            text, colour, tip = right
            out.append('<g class="tl-probe" data-probe="%s"><title>%s</title><rect x="%d" y="%d" width="10" height="10" '
                       'fill="%s"/><text x="%d" y="%d">%s</text></g>' % (
                           esc(text), esc(tip), X1 + 14, y - 5, colour, X1 + 28, y + 4, esc(clean_text(text, 16))))
        out.append('</g>')
    out.append('</g>')
    return out, height


def render_svg(data):
    """The timeline's SVG (self-contained: no external reference of any kind)."""
    host_rows = []
    for row in data['rows']:
        markers = [(k['kind'], m, _title(row['host'], k['label'], m)) for k in row['kinds'] for m in k['markers']]
        probe = row['probe']
        colour = '#9aa1ad' if probe is None else ('#58b368' if probe in PROBE_OK else '#d1342f')
        right = (probe or 'no probe', colour, '%s: SSH probe of this run: %s' % (row['host'], probe or 'none'))
        host_rows.append((row['host'], right, markers, row['incident']))
    cause_rows = []
    for kind in data['kinds']:
        markers = [(k['kind'], m, _title(row['host'], k['label'], m)) for row in data['rows'] for k in row['kinds']
                   if k['kind'] == kind['kind'] for m in k['markers']]
        right = ('%d on %d host(s)' % (kind['count'], kind['hosts']), KIND_STYLE.get(kind['kind'], ('#444',))[0],
                 '%s: %d events on %d host(s), %s to %s' % (
                     kind['label'], kind['count'], kind['hosts'], kind['first'], kind['last']))
        cause_rows.append(('%s (%s)' % (kind['label'], kind['cause']), right, markers, None))
    hosts_view, hosts_h = _rows_view(data, host_rows, 'hosts', False)
    causes_view, causes_h = _rows_view(data, cause_rows, 'causes', True)
    height = max(hosts_h, causes_h)
    # inline in HTML, the parser puts <svg> in the SVG namespace: no xmlns (and no URL in the page)
    out = ['<svg id="timeline-svg" role="img" width="%d" height="%d" '
           'viewBox="0 0 %d %d" data-from="%d" data-to="%d" data-x0="%d" data-x1="%d" data-run="%s">' % (
               WIDTH, hosts_h, WIDTH, hosts_h, data['start'], data['end'], X0, X1,
               '' if data['run'] is None else '%d' % data['run']),
           '<title>Fleet timeline: %d events, %s to %s UTC</title>' % (data['events'], iso(data['start']), iso(data['end'])),
           '<style>text{font:11px sans-serif;fill:#1d2330}.tl-label{font-weight:600}.tl-date{fill:#5b6477}'
           '.tl-ev{cursor:default}</style>']
    out += _incident_bands(data, height)
    out += _axis(data, height)
    if data['run'] is not None:
        x = x_of(data, data['run'])
        out.append('<g class="tl-run" data-t="%d"><title>this run (probe): %s</title><line x1="%.1f" y1="%d" x2="%.1f" '
                   'y2="%d" stroke="#1d2330" stroke-dasharray="3 3"/></g>' % (
                       data['run'], iso(data['run']), x, AXIS_H - 6, x, height))
    out += hosts_view + causes_view
    out.append('<text x="%d" y="12" text-anchor="start">SSH probe</text>' % (X1 + 14))
    out.append('</svg>')
    return '\n'.join(out)


def _incident_bands(data, height):
    out = ['<g class="tl-incidents">']
    for number, incident in enumerate(data['incidents'], 1):
        start, end = epoch_of(incident['start']), epoch_of(incident['end'])
        pad = max(5.0, (end - start) * 0.05)
        x = x_of(data, start - pad)
        width = max(4.0, x_of(data, end + pad) - x)
        href = '#tl_from=%s&amp;tl_to=%s' % (iso(start - pad), iso(end + pad))
        out.append('<a class="tl-incident" href="%s" data-t="%d" data-t2="%d"><title>incident %d: %s to %s, %d host(s) '
                   '(click to zoom)</title><rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#fff4d6" '
                   'stroke="#f0d68a"/></a>' % (href, start - pad, end + pad, number, incident['start'], incident['end'],
                                               incident['hosts'], x, AXIS_H - 4, width, height - AXIS_H))
    out.append('</g>')
    return out


SCRIPT = r'''<script>
(function () {
  'use strict';
  // Zoom and view through the URL fragment (#tl_from=ISO&tl_to=ISO&tl_view=causes), beside the host
  // table's sort/filter keys: the drawing is complete without this script, which only moves markers.
  var svg = document.getElementById('timeline-svg');
  if (!svg) { return; }
  var full = [Number(svg.getAttribute('data-from')), Number(svg.getAttribute('data-to'))];
  var x0 = Number(svg.getAttribute('data-x0')), x1 = Number(svg.getAttribute('data-x1'));
  var STEPS = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400, 172800, 604800, 2592000];
  function params() {
    var out = {};
    (location.hash || '').replace(/^#/, '').split('&').forEach(function (part) {
      var kv = part.split('='); if (/^tl_/.test(kv[0] || '')) { out[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1] || ''); }
    });
    return out;
  }
  function when(text) { var t = Date.parse(text); return isNaN(t) ? null : t / 1000; }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function label(t, step) {
    var d = new Date(t * 1000);
    if (step >= 86400) { return pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate()); }
    var s = pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes());
    return step < 60 ? s + ':' + pad2(d.getUTCSeconds()) : s;
  }
  function apply() {
    var p = params();
    var from = when(p.tl_from || ''), to = when(p.tl_to || '');
    if (from === null || to === null || to <= from) { from = full[0]; to = full[1]; }
    var scale = (x1 - x0) / (to - from);
    function x(t) { return x0 + (t - from) * scale; }
    svg.setAttribute('data-view-from', from); svg.setAttribute('data-view-to', to);
    svg.querySelectorAll('.tl-ev').forEach(function (g) {
      var t = Number(g.getAttribute('data-t')), dur = Number(g.getAttribute('data-dur'));
      var y = g.getAttribute('transform').replace(/.*\s([-0-9.]+)\)$/, '$1');
      var inside = t + dur >= from && t <= to;
      g.setAttribute('display', inside ? 'inline' : 'none');
      g.setAttribute('transform', 'translate(' + x(t).toFixed(2) + ' ' + y + ')');
      var r = g.querySelector('rect'); if (r) { r.setAttribute('width', Math.max(3, dur * scale).toFixed(2)); }
    });
    svg.querySelectorAll('.tl-incident').forEach(function (a) {
      var t = Number(a.getAttribute('data-t')), t2 = Number(a.getAttribute('data-t2'));
      var r = a.querySelector('rect');
      r.setAttribute('x', Math.max(x0 - 7, x(t)).toFixed(1));
      r.setAttribute('width', Math.max(4, Math.min(x1 + 7, x(t2)) - Math.max(x0 - 7, x(t))).toFixed(1));
      a.setAttribute('display', t2 >= from && t <= to ? 'inline' : 'none');
    });
    var run = svg.querySelector('.tl-run');
    if (run) { var rx = x(Number(run.getAttribute('data-t'))); var l = run.querySelector('line');
      l.setAttribute('x1', rx.toFixed(1)); l.setAttribute('x2', rx.toFixed(1));
      run.setAttribute('display', rx >= x0 - 1 && rx <= x1 + 1 ? 'inline' : 'none'); }
    var axis = svg.querySelector('.tl-axis'); var height = Number(svg.getAttribute('height'));
    var step = STEPS[STEPS.length - 1];
    for (var i = 0; i < STEPS.length; i++) { if ((to - from) / STEPS[i] <= 8) { step = STEPS[i]; break; } }
    var date = axis.querySelector('.tl-date');
    axis.textContent = '';
    var NS = svg.namespaceURI;
    for (var t = Math.ceil(from / step) * step, n = 0; t <= to && n < 40; t += step, n++) {
      var line = document.createElementNS(NS, 'line');
      line.setAttribute('x1', x(t)); line.setAttribute('x2', x(t)); line.setAttribute('y1', 28); line.setAttribute('y2', height);
      line.setAttribute('stroke', '#e3e6ee'); axis.appendChild(line);
      var text = document.createElementNS(NS, 'text');
      text.setAttribute('x', x(t)); text.setAttribute('y', 24); text.setAttribute('text-anchor', 'middle');
      text.textContent = label(t, step); axis.appendChild(text);
    }
    date.textContent = new Date(from * 1000).toISOString().slice(0, 10) + ' UTC';
    axis.appendChild(date);
    var view = p.tl_view === 'causes' ? 'causes' : 'hosts';
    svg.querySelectorAll('.tl-view').forEach(function (g) {
      var on = g.getAttribute('data-view') === view;
      g.setAttribute('display', on ? 'inline' : 'none');
      if (on) { var h = g.getAttribute('data-height'); svg.setAttribute('height', h);
                svg.setAttribute('viewBox', '0 0 ' + svg.getAttribute('width') + ' ' + h); }
    });
    document.getElementById('tl-from').value = p.tl_from || '';
    document.getElementById('tl-to').value = p.tl_to || '';
    document.getElementById('tl-view').value = view;
  }
  function setParams(next) {
    var keep = (location.hash || '').replace(/^#/, '').split('&').filter(function (part) { return part && !/^tl_/.test(part); });
    Object.keys(next).forEach(function (k) { if (next[k]) { keep.push(k + '=' + encodeURIComponent(next[k])); } });
    location.hash = keep.join('&');
  }
  document.getElementById('tl-apply').addEventListener('click', function () {
    setParams({tl_from: document.getElementById('tl-from').value.trim(), tl_to: document.getElementById('tl-to').value.trim(),
               tl_view: document.getElementById('tl-view').value === 'causes' ? 'causes' : ''});
  });
  document.getElementById('tl-reset').addEventListener('click', function () {
    setParams({tl_view: document.getElementById('tl-view').value === 'causes' ? 'causes' : ''});
  });
  document.getElementById('tl-view').addEventListener('change', function (ev) {
    var p = params(); p.tl_view = ev.target.value === 'causes' ? 'causes' : ''; setParams(p);
  });
  window.addEventListener('hashchange', apply);
  apply();
  svg.setAttribute('data-ready', 'true');
}());
</script>'''


def render_section(data):
    """``<section id="timeline">``: the legend, the zoom and view controls, the SVG and its script."""
    legend = ''.join(
        '<span class="tl-key"><svg width="14" height="14" viewBox="-7 -7 14 14"><path d="%s" fill="%s" stroke="%s"/>'
        '</svg> %s</span> ' % (_shape(k['kind']), KIND_STYLE.get(k['kind'], ('#444',))[0],
                               KIND_STYLE.get(k['kind'], ('#444',))[0], esc(k['label'])) for k in data['kinds'])
    notes = []
    if not data['kinds']:
        notes.append('No timed event in the hosts\' logs: the drawing shows the probe results only.')
    if data['busiest_hour']:
        notes.append('Busiest hour: %s (%d events).' % (data['busiest_hour']['start'], data['busiest_hour']['count']))
    if data['hidden_rows']:
        notes.append('%d more host(s) not drawn (%d of them with events): see report.json.' % (
            data['hidden_rows'], data['hidden_with_events']))
    return '\n'.join([
        '<section id="timeline">',
        '<h2>Timeline <span class="muted">(UTC; hosts of one incident window together; a bar is a bucket of '
        'counted events, hover a marker for its evidence)</span></h2>',
        '<div class="controls"><label class="muted">View <select id="tl-view"><option value="hosts">hosts</option>'
        '<option value="causes">causes</option></select></label>'
        '<label class="muted">From <input id="tl-from" size="22" placeholder="2026-01-01T10:00:00Z"></label>'
        '<label class="muted">To <input id="tl-to" size="22" placeholder="2026-01-01T11:00:00Z"></label>'
        '<button id="tl-apply" type="button">Zoom</button><button id="tl-reset" type="button">Whole range</button></div>',
        '<div class="muted">%s</div>' % legend,
        '<div style="overflow-x:auto">%s</div>' % render_svg(data),
        ''.join('<p class="muted">%s</p>' % esc(n) for n in notes),
        SCRIPT,
        '</section>'])
