# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet timeline of report.html, on a real lab fleet, in headless Chromium (issue 17).

A lab fleet (tests/lab/lab, LAB_ID 8: bridge crlab8, subnet 10.213.15.0/24) gets three faults at
known times, each undone so that every host is reachable again and its logs hold the evidence:

* ``oom1`` (light): the ``oom`` fault: the kernel's OOM lines for sshd in the host's kern.log and a
  SIGKILL of sshd (``--respawn`` starts it again);
* ``drops1`` (systemd, bookworm): ``maxstartups``, then a few bounded client connections that sshd
  drops past MaxStartups (journal lines with their times; a light host's ``sshd -E`` log has no time);
* ``crash1`` (systemd, bookworm): ``sshd-crashloop`` (kill -9 of ssh.service's MainPID until systemd
  gives up), then undone (ssh.service started again).

Then the real ``connreset.doctor.diagnose`` role runs over the fleet, and Chromium (no network,
file:// only) draws report.html: every injected event must be a marker in its host's row at its
time (x from the drawing's own scale, within one bucket), with its evidence as hover text; the
run's probe result at the right edge; the URL fragment's zoom must hide what is outside the range
and move what is inside; the other view lists causes.  A screenshot is kept as a test artefact
(``$CONNRESET_TEST_ARTEFACTS``, default ``tests/output/``).

The machine's kernel ring buffer is shared by every lab host: a systemd host's ``journalctl -k``
also shows OOM kills of other labs' cgroups (docs/lab.md).  So assertions name the events this
test injected; other markers may be there too.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _timeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.build')
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab')
_LAB_ID = os.environ.get('CONNRESET_TEST_TIMELINE_LAB_ID', '8')
LAB_ENV = dict(os.environ, LAB_ID=_LAB_ID, LAB_DIR='/run/connreset-lab-%s' % _LAB_ID)
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
ARTEFACTS = os.environ.get('CONNRESET_TEST_ARTEFACTS') or os.path.join(ROOT, 'tests', 'output')
LAB_NEEDS = [b for b in ('ip', 'unshare', 'nsenter', 'ssh', 'ssh-keygen', 'systemd-nspawn') if not shutil.which(b)]
LAB_NEEDS += [p for p in ('/usr/sbin/sshd',) if not os.path.exists(p)]

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (Debian package chromium)'),
    pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason='ansible-playbook not next to this Python'),
    pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root (network namespaces, bridge, mounts)'),
    pytest.mark.skipif(bool(LAB_NEEDS), reason='missing for the lab: %s' % ' '.join(LAB_NEEDS)),
]

BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--disable-dev-shm-usage', '--window-size=1400,1400']
SSH_CLIENT = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', '-o', 'StrictHostKeyChecking=no',
              '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR']


def lab(*args, timeout=180):
    proc = subprocess.run([LAB] + list(args), capture_output=True, text=True, timeout=timeout, env=LAB_ENV,
                          check=False)
    assert proc.returncode == 0, 'lab %s: %s%s' % (' '.join(args), proc.stdout, proc.stderr)
    return proc.stdout


def now():
    return time.time()


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    directory = tmp_path_factory.mktemp('timeline')
    times = {}
    try:
        lab('up', 'oom1', 'drops1:systemd', 'crash1:systemd')
        status = json.loads(lab('status', '--json'))
        address = {h['name']: h['address'] for h in status['hosts']} if isinstance(status, dict) else \
            {h['name']: h['address'] for h in status}
        # floor/ceil: the logs' times are whole seconds
        start = int(now())
        lab('fault', 'oom1', 'oom', '--respawn')
        times['oom'] = (start, int(now()) + 1)
        time.sleep(2)               # the three injections at distinct seconds: each is told apart below

        start = int(now())
        lab('fault', 'drops1', 'maxstartups')
        for _attempt in range(3):   # the fault's holder has the one slot: sshd drops each of these
            subprocess.run(SSH_CLIENT + ['root@%s' % address['drops1'], 'true'], capture_output=True,
                           timeout=10, check=False)
        times['maxstartups'] = (start, int(now()) + 1)
        lab('fault', 'drops1', 'maxstartups', '--undo')
        time.sleep(2)

        start = int(now())
        lab('fault', 'crash1', 'sshd-crashloop')
        times['crashloop'] = (start, int(now()) + 1)
        lab('fault', 'crash1', 'sshd-crashloop', '--undo')

        (directory / 'inv.ini').write_text(lab('inventory'))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
                   ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
        proc = subprocess.run([PLAYBOOK, '-i', 'inv.ini', 'connreset.doctor.diagnose',
                               '-e', 'diagnose_formats=json,md,html'], cwd=str(directory), env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
        out = directory / 'connreset-report'
        yield {'dir': directory, 'times': times, 'report': json.loads((out / 'report.json').read_text()),
               'html': out / 'report.html', 'md': (out / 'report.md').read_text()}
    finally:
        subprocess.run([LAB, 'down'], env=LAB_ENV, capture_output=True, timeout=180, check=False)


def chromium(tmp_path, *args, timeout=120):
    profile = tmp_path / 'profile'
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM] + BROWSER_ARGS + ['--user-data-dir=%s' % profile] + list(args),
                          capture_output=True, text=True, timeout=timeout, check=False)


class Drawing(html.parser.HTMLParser):
    """The timeline's SVG as the browser left it: its attributes, and per view its rows with their
    markers (attributes and hover text) and probe results."""

    def __init__(self):
        super().__init__()
        self.svg = None
        self.views = {}
        self.stack = []
        self.row = None
        self.marker = None
        self.probe = None
        self.text_of = None
        self.view = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get('class') or '').split()
        if tag == 'svg' and attrs.get('id') == 'timeline-svg':
            self.svg = attrs
        if self.svg is None:
            return
        if tag == 'g':
            self.stack.append(classes)
        if tag == 'g' and 'tl-view' in classes:
            self.views[attrs['data-view']] = {'attrs': attrs, 'rows': []}
            self.view = self.views[attrs['data-view']]
        elif tag == 'g' and 'tl-row' in classes:
            self.row = {'label': attrs.get('data-label'), 'markers': [], 'probe': None}
            self.view['rows'].append(self.row)
        elif tag == 'g' and 'tl-ev' in classes and self.row is not None:
            self.marker = dict(attrs, title='')
            self.row['markers'].append(self.marker)
        elif tag == 'g' and 'tl-probe' in classes and self.row is not None:
            self.row['probe'] = attrs.get('data-probe')
        elif tag == 'title' and self.marker is not None:
            self.text_of = self.marker

    def handle_endtag(self, tag):
        if tag == 'title':
            self.text_of = None
        elif tag == 'g' and self.stack:
            classes = self.stack.pop()
            if 'tl-ev' in classes:
                self.marker = None
            elif 'tl-row' in classes:
                self.row = None

    def handle_data(self, data):
        if self.text_of is not None:
            self.text_of['title'] += data


def drawing(dom):
    parser = Drawing()
    parser.feed(dom)
    assert parser.svg is not None, 'no timeline SVG in the page'
    return parser


def marker_x(marker):
    return float(re.match(r'translate\(([-0-9.]+) ', marker['transform']).group(1))


def expected_x(svg, when):
    start, end = float(svg['data-view-from']), float(svg['data-view-to'])
    x0, x1 = float(svg['data-x0']), float(svg['data-x1'])
    return x0 + (when - start) / (end - start) * (x1 - x0)


def in_time(marker, window):
    """The marker is at the window's time, within its bucket (``data-dur``, 0 for an exact time)."""
    t, dur = int(marker['data-t']), int(marker['data-dur'])
    return t <= window[1] and t + dur >= window[0]


def rows_of(view):
    return {row['label']: row for row in view['rows']}


def test_report_json_and_md_carry_the_timeline(fleet):
    report = fleet['report']
    jsonschema = pytest.importorskip('jsonschema')
    with open(os.path.join(ROOT, 'docs', 'report.schema.json')) as f:
        jsonschema.validate(report, json.load(f))
    kinds = {k['kind']: k for k in report['timeline']['kinds']}
    assert {'oom_kill', 'maxstartups_drop', 'sshd_crash', 'sshd_restart'} <= set(kinds)
    # the crash loop: ~5 kills, each a crash and an automatic restart, on one host, inside its window
    first, last = fleet['times']['crashloop']
    crash = kinds['sshd_crash']
    assert crash['hosts'] == 1 and crash['count'] >= 3
    assert first <= _timeline.epoch_of(crash['first']) <= _timeline.epoch_of(crash['last']) <= last
    drops = [m for h in report['hosts'] if h['host'] == 'drops1'
             for m in _timeline.series_markers(h['facts']['connreset_sshd']['events']['maxstartups_drops']['series'])]
    assert drops and all(fleet['times']['maxstartups'][0] <= m['t'] <= fleet['times']['maxstartups'][1] for m in drops)
    text = fleet['md']
    assert '## Timeline' in text
    rows = {line.split('|')[1].strip(): line for line in text.splitlines() if line.startswith('| ')}
    assert rows['sshd crash'].split('|')[5].strip() == crash['first']
    assert 'MaxStartups drop' in rows and 'OOM kill' in rows
    assert re.search(r'^- Busiest hour: \d{4}-\d\d-\d\dT\d\d:00:00Z \(\d+ events\)$', text, re.M)
    assert re.search(r'^- Incident \d+: .* host\(s\): .*crash1', text, re.M)


def test_browser_draws_each_event_at_its_time(fleet, tmp_path):
    proc = chromium(tmp_path, '--virtual-time-budget=5000', '--dump-dom', 'file://%s' % fleet['html'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = drawing(proc.stdout)
    svg = page.svg
    assert svg.get('data-ready') == 'true', 'the timeline script did not finish: %s' % proc.stderr[-2000:]
    hosts = rows_of(page.views['hosts'])
    assert {'oom1', 'drops1', 'crash1'} <= set(hosts)
    checks = (('oom1', 'oom_kill', 'oom', 'sshd'), ('drops1', 'maxstartups_drop', 'maxstartups', 'MaxStartups'),
              ('crash1', 'sshd_crash', 'crashloop', 'ssh.service'), ('crash1', 'sshd_restart', 'crashloop', 'ssh'))
    for host, kind, fault, evidence in checks:
        markers = [m for m in hosts[host]['markers'] if m['data-kind'] == kind]
        hits = [m for m in markers if in_time(m, fleet['times'][fault])]
        assert hits, '%s: no %s marker in %s; markers: %s' % (host, kind, fleet['times'][fault], markers)
        for marker in hits:
            assert abs(marker_x(marker) - expected_x(svg, int(marker['data-t']))) < 0.6, marker
            assert marker.get('display') != 'none'
            assert marker['title'].startswith('%s: ' % host) and evidence in marker['title'], marker['title']
    # the injected events sit left to right in the order they were made
    oom_x = min(marker_x(m) for m in hosts['oom1']['markers'] if in_time(m, fleet['times']['oom']))
    crash_x = min(marker_x(m) for m in hosts['crash1']['markers'] if in_time(m, fleet['times']['crashloop']))
    assert oom_x < crash_x
    # the run's probe at the right edge: every host answered this run's SSH probe
    for host in ('oom1', 'drops1', 'crash1'):
        assert hosts[host]['probe'] == 'ok', hosts[host]
    # hosts of one incident window together: each row's first incident never goes back up the page
    incidents = [(_timeline.epoch_of(i['start']), _timeline.epoch_of(i['end']))
                 for i in fleet['report']['timeline']['incidents']]

    def first_incident(row):
        times = [int(m['data-t']) for m in row['markers']]
        if not times:
            return len(incidents) + 1
        return min(i for i, (start, end) in enumerate(incidents) if start <= min(times) <= end)
    order = [first_incident(row) for row in page.views['hosts']['rows']]
    assert order == sorted(order), order


def test_zoom_and_view_from_the_url_fragment(fleet, tmp_path):
    first, last = fleet['times']['crashloop']
    fragment = 'tl_from=%s&tl_to=%s' % (_timeline.iso(first - 1), _timeline.iso(last + 1))
    proc = chromium(tmp_path, '--virtual-time-budget=5000', '--dump-dom', 'file://%s#%s' % (fleet['html'], fragment))
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = drawing(proc.stdout)
    svg = page.svg
    assert float(svg['data-view-from']) == first - 1 and float(svg['data-view-to']) == last + 1
    hosts = rows_of(page.views['hosts'])
    crashes = [m for m in hosts['crash1']['markers'] if m['data-kind'] == 'sshd_crash']
    inside = [m for m in crashes if first - 1 <= int(m['data-t']) <= last + 1]
    assert inside and all(m.get('display') == 'inline' for m in inside)
    for marker in inside:           # spread over the zoomed range, at their times
        assert abs(marker_x(marker) - expected_x(svg, int(marker['data-t']))) < 0.6
        assert float(svg['data-x0']) - 1 <= marker_x(marker) <= float(svg['data-x1']) + 1
    # the OOM kill of oom1 happened seconds before: outside the range, hidden
    oom = [m for m in hosts['oom1']['markers'] if in_time(m, fleet['times']['oom'])]
    assert oom and all(m.get('display') == 'none' for m in oom)

    proc = chromium(tmp_path, '--virtual-time-budget=5000', '--dump-dom',
                    'file://%s#sort=host&dir=asc&tl_view=causes' % fleet['html'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = drawing(proc.stdout)
    assert page.views['causes']['attrs'].get('display') == 'inline'
    assert page.views['hosts']['attrs'].get('display') == 'none'
    labels = [row['label'] for row in page.views['causes']['rows']]
    assert 'OOM kill (resource_exhaustion)' in labels and 'sshd crash (sshd_down)' in labels
    assert 'MaxStartups drop (sshd_rate_limit)' in labels
    # the host table's own fragment keys still work beside the timeline's
    assert re.search(r'<tr[^>]*data-host="crash1"', proc.stdout)


def test_screenshot_is_kept(fleet, tmp_path):
    os.makedirs(ARTEFACTS, exist_ok=True)
    shot = os.path.join(ARTEFACTS, 'timeline.png')
    if os.path.exists(shot):
        os.unlink(shot)
    proc = chromium(tmp_path, '--virtual-time-budget=5000', '--screenshot=%s' % shot, 'file://%s' % fleet['html'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(shot, 'rb') as f:
        data = f.read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    assert len(data) > 30000, len(data)     # a blank page is a few KB
    shutil.copy(str(fleet['html']), os.path.join(ARTEFACTS, 'timeline-report.html'))
