# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""report.html in a real browser: headless Chromium runs the page's script, the dumped DOM must
hold the host table (sorted by score) and the cause x host heatmap, and a screenshot is taken.

Chromium is given no network (file:// only; the page references no external asset)."""

from __future__ import annotations

import html.parser
import os
import shutil
import subprocess

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _report

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (Debian package chromium)')

BASE_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--disable-dev-shm-usage', '--window-size=1400,1000']


def finding(fid, cause, severity, title):
    return {'id': fid, 'title': title, 'cause': cause, 'severity': severity,
            'evidence': {'samples': ['sshd[812]: drop connection #10 from [203.0.113.7]:50122 on [10.0.0.5]:22 '
                                     'past MaxStartups']},
            'explanation': 'explanation of %s' % fid, 'remedy': 'remedy of %s' % fid, 'fix': None}


def host(name, score, level, findings, reachable=True, unreachable=None):
    return {'schema_version': 1, 'host': name, 'generated_at': '2026-11-22T05:29:58Z', 'reachable': reachable,
            'unreachable': unreachable, 'facts': {}, 'probe': None, 'findings': findings,
            'score': score, 'level': level}


DOCS = [
    host('web-low', 4, 'low', [finding('CRD-IDLE-001', 'idle_timeout', 'low', 'keepalive too long')]),
    host('db-critical', 90, 'critical', [finding('CRD-OOM-001', 'resource_exhaustion', 'critical', 'sshd OOM-killed'),
                                         finding('CRD-WRAP-001', 'tcp_wrappers', 'medium', 'hosts.deny')]),
    host('ok-host', 0, 'ok', []),
    host('lb-high', 30, 'high', [finding('CRD-SSHD-004', 'sshd_rate_limit', 'high', 'MaxStartups drops')]),
    host('gone-host', 60, 'critical', [finding('CRD-REACH-001', 'sshd_down', 'critical', 'connection refused')],
         reachable=False, unreachable={'msg': 'ssh: connect to host 192.0.2.9 port 22: Connection refused',
                                       'classification': 'refused'}),
]


class Collector(html.parser.HTMLParser):
    """Text of the <th>/<td> cells of the rows of one table (by id), in document order."""

    def __init__(self, table_id):
        super().__init__()
        self.table_id = table_id
        self.depth = 0
        self.rows = []
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'table' and attrs.get('id') == self.table_id:
            self.depth = 1
        elif self.depth and tag == 'table':
            self.depth += 1
        elif self.depth and tag == 'tr':
            self.rows.append({'attrs': attrs, 'cells': []})
        elif self.depth and tag in ('td', 'th') and self.rows:
            self.cell = {'attrs': attrs, 'text': ''}
            self.rows[-1]['cells'].append(self.cell)

    def handle_endtag(self, tag):
        if self.depth and tag == 'table':
            self.depth -= 1
        elif tag in ('td', 'th'):
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell['text'] += data


def table(dom, table_id):
    parser = Collector(table_id)
    parser.feed(dom)
    return parser.rows


def chromium(tmp_path, *args, timeout=90):
    profile = tmp_path / 'profile'
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM] + BASE_ARGS + ['--user-data-dir=%s' % profile] + list(args),
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope='module')
def page(tmp_path_factory):
    directory = tmp_path_factory.mktemp('html')
    report = _report.build_report(DOCS, version='1.0.0', generated_at='2026-11-22T05:30:00Z')
    path = directory / 'report.html'
    path.write_text(_report.render_html(report), encoding='utf-8')
    return path


def test_dom_has_host_table_and_heatmap(page, tmp_path):
    proc = chromium(tmp_path, '--virtual-time-budget=5000', '--dump-dom', 'file://%s' % page)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'data-rendered="true"' in dom, 'the page script did not finish: %s' % proc.stderr[-2000:]
    rows = [r for r in table(dom, 'hosts-table') if 'data-host' in r['attrs']]
    # sorted by score, highest first
    assert [r['attrs']['data-host'] for r in rows] == ['db-critical', 'gone-host', 'lb-high', 'web-low', 'ok-host']
    assert [r['cells'][2]['text'] for r in rows] == ['90', '60', '30', '4', '0']
    assert rows[1]['cells'][1]['text'] == 'unreachable'
    assert rows[0]['cells'][4]['text'] == 'CRD-OOM-001 sshd OOM-killed'

    heat = table(dom, 'heatmap')
    header = [c['text'] for c in heat[0]['cells']]
    assert header[0] == 'Host'
    assert sorted(header[1:]) == ['idle_timeout', 'resource_exhaustion', 'sshd_down', 'sshd_rate_limit', 'tcp_wrappers']
    body = {r['attrs']['data-host']: r for r in heat if 'data-host' in r['attrs']}
    assert set(body) == {'db-critical', 'gone-host', 'lb-high', 'web-low', 'ok-host'}
    cells = dict(zip(header[1:], body['db-critical']['cells'][1:]))
    assert 'h-critical' in cells['resource_exhaustion']['attrs']['class']
    assert 'h-medium' in cells['tcp_wrappers']['attrs']['class']
    assert 'h-none' in cells['sshd_down']['attrs']['class']

    top = table(dom, 'top-findings')[1:]
    assert top[0]['cells'][1]['text'] in ('CRD-OOM-001', 'CRD-REACH-001')
    assert dom.count('<details class="host"') == 5


@pytest.mark.parametrize('fragment, hosts', [
    ('sort=host&dir=asc', ['db-critical', 'gone-host', 'lb-high', 'ok-host', 'web-low']),
    ('sort=count&dir=desc', ['db-critical', 'gone-host', 'lb-high', 'web-low', 'ok-host']),
    ('sort=score&dir=asc', ['ok-host', 'web-low', 'lb-high', 'gone-host', 'db-critical']),
    ('filter=tcp_wrappers', ['db-critical']),
    ('filter=CRD-REACH', ['gone-host']),
    ('filter=nothing-matches', []),
])
def test_sort_and_filter_from_the_url(page, tmp_path, fragment, hosts):
    proc = chromium(tmp_path, '--virtual-time-budget=5000', '--dump-dom', 'file://%s#%s' % (page, fragment))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [r['attrs']['data-host'] for r in table(proc.stdout, 'hosts-table') if 'data-host' in r['attrs']]
    assert rows == hosts
    heat = [r['attrs']['data-host'] for r in table(proc.stdout, 'heatmap') if 'data-host' in r['attrs']]
    assert heat == hosts


def test_screenshot(page, tmp_path):
    shot = tmp_path / 'report.png'
    proc = chromium(tmp_path, '--virtual-time-budget=5000', '--screenshot=%s' % shot, 'file://%s' % page)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.exists(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    # a blank 1400x1000 page compresses to a few KB; the rendered report is far larger
    assert len(data) > 30000, len(data)


def test_large_fleet_renders_one_page(tmp_path):
    docs = [host('h%05d' % i, i % 100, 'medium', [finding('CRD-CT-001', 'conntrack', 'medium', 'conntrack fill')])
            for i in range(10000)]
    report = _report.build_report(docs, generated_at='2026-11-22T05:30:00Z')
    path = tmp_path / 'big.html'
    path.write_text(_report.render_html(report), encoding='utf-8')
    proc = chromium(tmp_path, '--virtual-time-budget=10000', '--dump-dom', 'file://%s' % path, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [r for r in table(proc.stdout, 'hosts-table') if 'data-host' in r['attrs']]
    assert len(rows) == 100  # one page, not 10,000 rows
    assert all(r['cells'][2]['text'] == '99' for r in rows)  # the 100 hosts scoring 99 come first
    assert 'page 1 of 100 (10000 hosts)' in proc.stdout
    assert os.path.getsize(str(path)) < 10 * 1024 * 1024


def test_hostile_names_and_values_render_as_text(tmp_path):
    """Host names with markup, control characters, a lone surrogate and a bidi override, a score of
    inf and a NaN in the evidence (issue 16, point 6): the page's script still runs, every host is
    a row whose text is its name, and nothing in the data became an element."""
    names = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', 'db\x1b[31m1', 'h\ud800',
             '\u202egnp.exe', 'line\nbreak']
    docs = [host(name, 10, 'medium', [dict(finding('CRD-CT-001', 'conntrack', 'medium', 'fill ' + name),
                                           evidence={'fill': float('nan'), 'samples': [name]})]) for name in names]
    docs[0]['score'] = float('inf')
    path = tmp_path / 'hostile.html'
    path.write_text(_report.render_html(_report.build_report(docs, generated_at='2026-11-22T05:30:00Z')),
                    encoding='utf-8')
    proc = chromium(tmp_path, '--virtual-time-budget=5000', '--dump-dom', 'file://%s' % path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'data-rendered="true"' in dom, proc.stderr[-2000:]
    rows = [r for r in table(dom, 'hosts-table') if 'data-host' in r['attrs']]
    assert len(rows) == len(names)
    assert '<img' not in dom and dom.count('<script') == 3  # data, page code, timeline code
    shown = {r['cells'][0]['text'] for r in rows}
    assert '<img src=x onerror=alert(1)>' in shown and '</script><script>alert(2)</script>' in shown
