# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet timeline (plugins/plugin_utils/_timeline.py): series → markers, incident windows, the
report.json summary, report.md's text and the SVG of report.html.

The series are made by the collectors' own code (module_utils/_logs.EventSeries, the ``series`` of
docs/facts.md) from the times of real lab events; forged and malformed series are what a stranger
could not write into the facts, but a broken collector or an edited host file could."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils._logs import EventSeries
from ansible_collections.connreset.doctor.plugins.plugin_utils import _report, _timeline

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'docs', 'report.schema.json')
T0 = _timeline.epoch_of('2026-12-04T00:20:11Z')     # the lab's oom1 kill (tests/system/test_timeline_browser.py)


def series(times, notes=None, start=None, end=None):
    s = EventSeries(start if start is not None else T0 - 7 * 86400, end if end is not None else T0 + 600)
    for index, when in enumerate(times):
        s.add(when, (notes or {}).get(index))
    return s.as_fact()


def sshd_facts(**kinds):
    events = {}
    for name in ('crashes', 'restarts', 'maxstartups_drops', 'penalties', 'wrap_refusals'):
        times = kinds.get(name, [])
        events[name] = {'count': len(times), 'last': None, 'samples': ['sample line of %s' % name] if times else [],
                        'series': series(times)}
    return {'connreset_sshd': {'status': 'ok', 'events': events}}


def doc(host, facts=None, probe='ok', reachable=True, generated_at='2026-12-04T00:31:01Z'):
    return {'schema_version': 1, 'host': host, 'generated_at': generated_at, 'reachable': reachable,
            'unreachable': None if reachable else {'msg': 'x', 'classification': 'refused'},
            'facts': facts or {}, 'findings': [], 'score': 0, 'level': 'ok',
            'probe': {'summary': {'classification': probe}} if probe else None}


@pytest.mark.parametrize('text, epoch', [
    ('2026-12-04T00:20:11Z', 1796343611.0),
    ('1970-01-01T00:00:00Z', 0.0),
    ('2026-13-01T00:00:00Z', None),
    ('2026-12-04 00:20:11Z', None),
    ('2026-12-04T00:20:11+00:00', None),
    ('2026-12-04T24:00:00Z', None),
    ('', None),
    (None, None),
    (1796343611, None),
])
def test_epoch_of(text, epoch):
    assert _timeline.epoch_of(text) == epoch


def test_iso_round_trip():
    assert _timeline.iso(T0) == '2026-12-04T00:20:11Z'
    assert _timeline.epoch_of(_timeline.iso(T0 + 59)) == T0 + 59


@pytest.mark.parametrize('value, shown', [
    ('drop connection #1 from [10.213.15.1]:43192', 'drop connection #1 from [10.213.15.1]:43192'),
    ('a\x1b[31mred', 'a\ufffd[31mred'),
    ('\u202egnp.exe', '\ufffdgnp.exe'),
    ('two\nlines\tand  spaces', 'two lines and spaces'),
    ('x' * 400, 'x' * 297 + '...'),
    (None, ''),
    (42, '42'),
])
def test_clean_text(value, shown):
    assert _timeline.clean_text(value) == shown


def test_markers_of_exact_times_keep_order_and_notes():
    fact = series([T0 + 5, T0, T0 + 2], notes={1: 'sshd (pid 8)'})
    markers = _timeline.series_markers(fact, 'fallback sample')
    assert [m['t'] for m in markers] == [T0, T0 + 2, T0 + 5]
    assert [m['dur'] for m in markers] == [0, 0, 0]
    assert markers[0]['note'] == 'sshd (pid 8)' and markers[1]['note'] == 'fallback sample'
    assert markers[0]['time'] == '2026-12-04T00:20:11Z'


def test_markers_of_buckets_cover_every_event_once():
    times = [T0 - 7200 + 97 * i for i in range(60)]     # all inside the window          # past 20: the series counts per bucket
    fact = series(times)
    assert fact['mode'] == 'buckets' and fact['outside'] == 0
    markers = _timeline.series_markers(fact)
    assert sum(m['count'] for m in markers) == 60
    assert all(m['dur'] == fact['bucket_s'] for m in markers)
    for when in times:                                      # each event is inside one drawn bucket
        assert sum(1 for m in markers if m['t'] <= when < m['t'] + m['dur']) == 1


@pytest.mark.parametrize('fact', [
    None, 'times', [], {'times': 'x'}, {'times': [None, 3, {'time': 'yesterday'}, {'time': None}]},
    {'bucket_s': True, 'buckets': [{'start': '2026-12-04T00:00:00Z', 'count': 3}]},
    {'bucket_s': -60, 'buckets': [{'start': '2026-12-04T00:00:00Z', 'count': 3}]},
    {'bucket_s': 60, 'buckets': [{'start': '2026-12-04T00:00:00Z', 'count': True},
                                 {'start': '2026-12-04T00:00:00Z', 'count': -1}, {'start': 'now', 'count': 2}]},
    {'bucket_s': 60, 'buckets': 'many'},
])
def test_malformed_series_give_no_marker(fact):
    assert _timeline.series_markers(fact) == []


def test_a_forged_series_is_bounded():
    fact = {'mode': 'times', 'times': [{'time': '2026-12-04T00:20:11Z', 'note': 'n'}] * 100000,
            'bucket_s': 60, 'buckets': [{'start': '2026-12-04T00:00:00Z', 'count': 1}] * 100000}
    assert len(_timeline.series_markers(fact)) == 2 * _timeline.MAX_MARKERS


@pytest.mark.parametrize('times, windows', [
    ([], []),
    ([(100, 0)], [(100, 100)]),
    ([(100, 0), (100 + 1800, 0)], [(100, 1900)]),
    ([(100, 0), (100 + 1801, 0)], [(100, 100), (1901, 1901)]),
    ([(5000, 0), (100, 600), (2400, 0)], [(100, 2400), (5000, 5000)]),   # a bucket's end counts
])
def test_incident_windows(times, windows):
    assert _timeline.incidents(times) == windows


def test_fleet_data_sorts_hosts_of_one_incident_together():
    facts_a = {'connreset_oom': {'kill_series': series([T0], notes={0: 'sshd (pid 8)'})}}
    facts_b = sshd_facts(maxstartups_drops=[T0 + 3, T0 + 4])
    facts_c = sshd_facts(crashes=[T0 - 7200], restarts=[T0 - 7200, T0 + 10])
    docs = [doc('a-early-alone'), doc('z-oom', facts_a), doc('b-crash', facts_c), doc('m-drops', facts_b),
            doc('down', probe='refused', reachable=False)]
    data = _timeline.timeline_data(docs, '2026-12-04T00:31:01Z')
    # b-crash's first event opens the first incident; z-oom and m-drops share the second; no events last
    assert [r['host'] for r in data['rows']] == ['b-crash', 'z-oom', 'm-drops', 'a-early-alone', 'down']
    assert [r['incident'] for r in data['rows']] == [0, 1, 1, None, None]
    assert data['incidents'] == [
        {'start': '2026-12-03T22:20:11Z', 'end': '2026-12-03T22:20:11Z', 'hosts': 1, 'example_hosts': ['b-crash']},
        {'start': '2026-12-04T00:20:11Z', 'end': '2026-12-04T00:20:21Z', 'hosts': 3,
         'example_hosts': ['b-crash', 'z-oom', 'm-drops']}]
    kinds = {k['kind']: k for k in data['kinds']}
    assert kinds['maxstartups_drop'] == {'kind': 'maxstartups_drop', 'label': 'MaxStartups drop',
                                         'cause': 'sshd_rate_limit', 'count': 2, 'hosts': 1,
                                         'first': '2026-12-04T00:20:14Z', 'last': '2026-12-04T00:20:15Z'}
    assert kinds['sshd_restart']['count'] == 2 and kinds['oom_kill']['cause'] == 'resource_exhaustion'
    assert data['events'] == 6
    assert data['busiest_hour'] == {'start': '2026-12-04T00:00:00Z', 'count': 4}
    assert data['run'] == T0 + 650 and data['start'] < T0 - 7200 and data['end'] > T0 + 650
    assert [r['probe'] for r in data['rows']][-1] == 'unreachable: refused'


def test_service_events_of_the_endpoints_collector_are_drawn():
    part = {'count': 2, 'last': None, 'samples': ['lab-app.service: Main process exited, code=killed, status=9/KILL'],
            'series': series([T0, T0 + 1])}
    facts = {'connreset_endpoints': {'endpoints': [{'name': 'lab-app:8000', 'unit': 'lab-app.service',
                                                    'events': {'crashes': part, 'restarts': {'series': None}}}]}}
    kinds = _timeline.host_kinds(facts)
    assert [(k[0], k[1]) for k in kinds] == [('service_crash', 'service crash (lab-app.service)')]
    assert kinds[0][3][0]['note'].startswith('lab-app.service: Main process exited')


def test_summary_is_valid_in_report_json():
    jsonschema = pytest.importorskip('jsonschema')
    with open(SCHEMA_PATH, encoding='utf-8') as handle:
        validator = jsonschema.Draft202012Validator(json.load(handle))
    for docs in ([], [doc('quiet')], [doc('a', sshd_facts(crashes=[T0], restarts=[T0 + 1]))]):
        report = _report.build_report(docs, generated_at='2026-12-04T00:31:01Z')
        errors = sorted(e.message for e in validator.iter_errors(report))
        assert errors == []
        assert report['timeline']['incident_gap_s'] == _timeline.INCIDENT_GAP_S
    assert report['timeline']['kinds'][0]['first'] == '2026-12-04T00:20:11Z'


def test_markdown_text():
    escape = _report._md_escape
    assert _timeline.markdown_lines(_timeline.timeline_data([doc('quiet')]), escape)[-1].startswith(
        'No timed event in the hosts')
    data = _timeline.timeline_data([doc('web|1', sshd_facts(maxstartups_drops=[T0, T0 + 60]))])
    text = '\n'.join(_timeline.markdown_lines(data, escape))
    assert '| MaxStartups drop | %s | 2 | 1 | 2026-12-04T00:20:11Z | 2026-12-04T00:21:11Z |' % escape(
        'sshd_rate_limit') in text
    assert '- Busiest hour: 2026-12-04T00:00:00Z (2 events)' in text
    assert re.search(r'^- Incident 1: 2026-12-04T00:20:11Z to 2026-12-04T00:21:11Z, 1 host\(s\): web\\?\|1$', text, re.M)


def test_svg_places_markers_and_escapes_evidence():
    hostile = '<script>alert(1)</script>@@DATA@@ \u202e'
    facts = {'connreset_oom': {'kill_series': series([T0, T0 + 300], notes={0: hostile})}}
    data = _timeline.timeline_data([doc('<b>h</b>', facts)], '2026-12-04T00:31:01Z')
    section = _timeline.render_section(data)
    assert section.startswith('<section id="timeline">') and section.endswith('</section>')
    assert '<script>alert' not in section and '<b>h</b>' not in section
    assert '@@DATA@@' not in section and '\u202e' not in section
    assert '&lt;script&gt;alert(1)&lt;/script&gt;&#64;&#64;DATA&#64;&#64;' in section
    # self-contained: nothing fetched from anywhere
    assert not re.search(r'(src|href)="(?!#)', section) and 'http' not in section and 'xmlns' not in section
    hosts_view = section[:section.index('data-view="causes"')]
    drawn = re.findall(r'data-t="(\d+)"[^>]*transform="translate\(([0-9.]+) ', hosts_view)
    assert [int(t) for t, _x in drawn] == [int(T0), int(T0) + 300]
    for when, x in drawn:
        assert abs(float(x) - _timeline.x_of(data, int(when))) < 0.01
    assert float(drawn[0][1]) < float(drawn[1][1])
    assert 'data-probe="ok"' in section


def test_rows_past_the_cap_are_counted_not_drawn():
    docs = [doc('h%04d' % i, sshd_facts(crashes=[T0 + i])) for i in range(_timeline.MAX_ROWS + 7)]
    data = _timeline.timeline_data(docs)
    assert len(data['rows']) == _timeline.MAX_ROWS and data['hidden_rows'] == 7 and data['hidden_with_events'] == 7
    assert '7 more host(s) not drawn (7 of them with events)' in _timeline.render_section(data)


def test_one_pass_over_the_facts_per_report(monkeypatch):
    """build_report, report.md and report.html share one timeline_data pass (2 s at 100,000 hosts)."""
    calls = []
    real = _timeline.timeline_data
    monkeypatch.setattr(_timeline, 'timeline_data', lambda docs, at=None: calls.append(1) or real(docs, at))
    report = _report.build_report([doc('a', sshd_facts(crashes=[T0]))], generated_at='2026-12-04T00:31:01Z')
    markdown = _report.render_markdown(report)
    page = _report.render_html(report)
    assert len(calls) == 1
    assert '| sshd crash |' in markdown and 'data-kind="sshd_crash"' in page
    other = _report.build_report([doc('b', sshd_facts(restarts=[T0]))], generated_at='2026-12-04T00:31:01Z')
    assert 'data-kind="sshd_restart"' in _report.render_html(other) and len(calls) == 2
    assert 'data-kind="sshd_crash"' not in _report.render_html(other)
