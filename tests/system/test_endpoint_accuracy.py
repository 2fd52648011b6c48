# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Endpoint accuracy (issue 13): every service fault of the lab on a real host, diagnosed per endpoint by the
shipped playbook.

One lab (tests/lab/lab, LAB_ID 18 unless CONNRESET_ENDPOINT_LAB_ID says otherwise; brought up and always taken
down here) of systemd hosts (Debian 12 with the services layer: gunicorn 20.1 as lab-app.service, nginx 1.22,
HAProxy 2.6, Redis 7.0), one per fault because the faults interfere (they restart the same app and HAProxy):

* ``clean``: every service, no fault;
* ``crash``: ``svc-crashloop`` (the app's main process killed until systemd gives up), nginx beside it;
* ``oom``: ``svc-oom`` (the app's worker killed by its memory cgroup's OOM killer; the arbiter starts another);
* ``overflow``: ``accept-overflow`` (HAProxy frontend :8081, backlog 2, maxconn 1, kept full);
* ``mismatch``: ``keepalive-mismatch`` (HAProxy :8080 reuses upstream connections 60 s, the app closes them
  after 1 s);
* ``idlerst``: ``idle-rst`` (the lab's relay on :8090 resets flows idle for IDLE_S seconds).

Each host's ``diagnose_endpoints`` (and, on ``idlerst`` only, ``diagnose_endpoint_probe_idle_hold_s`` past the
relay's idle seconds) is a host variable, as an operator sets them per host or group; one
``ansible-playbook connreset.doctor.diagnose`` runs across the fleet. Then every endpoint row must hold: the
expected finding (one of its ids, with the cause) among the endpoint's findings, the probe classification, and
nothing above low on the clean endpoints, and no endpoint finding that names another host's OOM kill (the hosts share
this machine's kernel log; each unit's own memory cgroup knows whether it was killed). A second run gives one host's
endpoints on the command line (``-e '{"diagnose_endpoints": [...]}'``, as issue 13's acceptance has it). The table
(fault -> host/endpoint -> expected -> found) is printed, with the wall time of each phase. Traffic goes only to the
lab's own bridge; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.connreset.doctor.tests.utils.lab_env import systemd_unavailable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab')
LAB_ID = os.environ.get('CONNRESET_ENDPOINT_LAB_ID', '18')
LAB_DIR = '/run/connreset-lab-%s' % LAB_ID
ENV = dict(os.environ, LAB_ID=LAB_ID, LAB_DIR=LAB_DIR)
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
IDLE_S = 3              # idle-rst: the relay resets a flow idle this long
IDLE_HOLD_S = IDLE_S + 4  # the endpoint probe's idle hold on that host: past the relay's idle seconds
NEEDED = [b for b in ('ip', 'unshare', 'nsenter', 'ssh', 'ssh-keygen', 'nft', 'ss') if not shutil.which(b)] + \
    [p for p in ('/usr/sbin/sshd', PLAYBOOK) if not os.path.exists(p)]
SERIOUS = ('medium', 'high', 'critical')

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root (network namespaces, bridge, mounts)'),
    pytest.mark.skipif(bool(NEEDED), reason='missing: %s' % ' '.join(NEEDED)),
]


class Expect:
    """A finding an endpoint must have: one of ids, with cause, and its evidence for the endpoint (the finding's
    evidence.endpoints[name]) passing check."""

    def __init__(self, ids, cause, check=None):
        self.ids, self.cause, self.check = ids, cause, check

    def __str__(self):
        return '%s (%s)' % ('|'.join(self.ids), self.cause)


class Row:
    """One endpoint of one host: what diagnose_endpoints says of it, and what its diagnosis must be
    (expect None: a clean endpoint, nothing above low)."""

    def __init__(self, fault, host, endpoint, expect, probes, when_failed=None):
        self.fault, self.host, self.endpoint, self.expect, self.probes = fault, host, endpoint, expect, probes
        # (classification, Expect): what a probe that failed this way must be diagnosed as (else: expect)
        self.when_failed = when_failed

    @property
    def name(self):
        return self.endpoint['name']


def _ep(name, port, protocol='http', **kw):
    return dict(name=name, port=port, protocol=protocol, **kw)


def _text(evidence):
    return json.dumps(evidence, sort_keys=True, default=str)


def _refused_or_down(evidence):
    """Nothing listens on :8000: the probe was refused (CRD-SVC-010, folding in 001/002), or the host's facts say so."""
    return evidence.get('classification') == 'refused' or evidence.get('port') == 8000


def _queue_full(evidence):
    """HAProxy's listener on :8081 with its backlog of 2 and a full queue (the probe's result, or the facts)."""
    text = _text(evidence)
    return '"backlog": 2' in text and '"port": 8081' in text


def _timeout_chain(evidence):
    """gunicorn's --keep-alive 1 against HAProxy's timeout server 60 s, read from the proxy's own file."""
    return evidence.get('server_idle_close_s') == 1.0 and evidence.get('front_idle_timeout_s') == 60 \
        and 'haproxy.cfg' in str(evidence.get('front_idle_source'))


def _idle_reset(evidence):
    """The relay's reset of the idle connection after IDLE_S seconds."""
    after = evidence.get('after_s')
    return evidence.get('ended') == 'rst' and isinstance(after, (int, float)) and IDLE_S - 0.5 <= after <= IDLE_S + 1.5


def _oom_kill(host):
    def check(evidence):
        kills = evidence.get('kills') or (evidence.get('confirms') or {}).get('CRD-SVC-003', {}).get('kills') or []
        return any(k.get('process') == 'gunicorn' and str(k.get('cgroup') or '').endswith(
            '/%s/system.slice/lab-app.service' % host) for k in kills)
    return check


def _explained_by_app(evidence):
    return evidence.get('classification') == 'http_error' and 'app' in (evidence.get('explained_by') or {}).get(
        'CRD-SVC-007', [])


PROXY_502 = Expect(('CRD-SVC-010',), 'idle_timeout', _explained_by_app)
SERVICE_DOWN = Expect(('CRD-SVC-010', 'CRD-SVC-001', 'CRD-SVC-002'), 'service_down', _refused_or_down)
ROWS = [
    # a clean host with every service: each endpoint gets nothing above low and its probe is ok
    Row('none', 'clean', _ep('app', 8000), None, ('ok',)),
    Row('none', 'clean', _ep('web', 80), None, ('ok',)),
    Row('none', 'clean', _ep('proxy', 8080), None, ('ok',)),
    Row('none', 'clean', _ep('cache', 6379, 'tcp'), None, ('ok',)),
    # systemd gave up on the app: nothing listens on :8000 (the probe is refused); its unit is given, as nothing
    # owns the port to name it; nginx beside it is fine
    Row('svc-crashloop', 'crash', _ep('app', 8000, unit='lab-app.service'), SERVICE_DOWN, ('refused',)),
    Row('none', 'crash', _ep('web', 80), None, ('ok',)),
    # the worker was OOM-killed under a request; the arbiter started another, so the probe's request works
    Row('svc-oom', 'oom', _ep('app', 8000),
        Expect(('CRD-SVC-003', 'CRD-SVC-010'), 'resource_exhaustion', _oom_kill('oom')), ('ok',)),
    # the frontend's accept queue is full and held: a new client's SYN is dropped (tcp_probe_real: connect_timeout)
    Row('accept-overflow', 'overflow', _ep('front', 8081),
        Expect(('CRD-SVC-004', 'CRD-SVC-010'), 'listen_queue', _queue_full), ('connect_timeout',)),
    # the app behind HAProxy closes idle connections after 1 s, HAProxy reuses them for 60 s (timeout server,
    # read from the proxy endpoint's own facts): the app's finding; the app itself answers a fresh connection
    Row('keepalive-mismatch', 'mismatch', _ep('app', 8000, front={'kind': 'haproxy'}),
        Expect(('CRD-SVC-007',), 'idle_timeout', _timeout_chain), ('ok',)),
    # the proxy's one request reuses an upstream connection the app has closed (502: the probe fails now, explained
    # by the app's CRD-SVC-007) or gets a fresh one (200: nothing above low), as the lab's own loop alternates
    Row('keepalive-mismatch', 'mismatch', _ep('proxy', 8080), None, ('ok', 'http_error'),
        when_failed=('http_error', PROXY_502)),
    # the relay resets the probe's idle connection after IDLE_S seconds; the connect itself is fine
    Row('idle-rst', 'idlerst', _ep('relay', 8090, 'tcp'), Expect(('CRD-SVC-011',), 'idle_timeout', _idle_reset),
        ('ok',)),
]
# every host of the lab, its faults (in order, with options) and the services it runs besides what they start
HOSTS = {
    'clean': {'services': ('all',), 'faults': ()},
    'crash': {'services': ('nginx',), 'faults': (('svc-crashloop',),)},
    'oom': {'services': (), 'faults': (('svc-oom',),)},
    'overflow': {'services': (), 'faults': (('accept-overflow',),)},
    'mismatch': {'services': (), 'faults': (('keepalive-mismatch', '--requests', '2'),)},
    'idlerst': {'services': (), 'faults': (('idle-rst', '--idle-s', str(IDLE_S)),)},
}
HOST_VARS = dict((host, {'diagnose_endpoints': [r.endpoint for r in ROWS if r.host == host]}) for host in HOSTS)
HOST_VARS['idlerst']['diagnose_endpoint_probe_idle_hold_s'] = IDLE_HOLD_S


# the second run's endpoints, given with -e to the mismatch host
EXTRA_ENDPOINTS = [{'name': 'app', 'port': 8000, 'protocol': 'http', 'front': {'kind': 'haproxy'}},
                   {'name': 'proxy', 'port': 8080, 'protocol': 'http'}]


def lab(*args, timeout=300, check=True):
    proc = subprocess.run([LAB] + list(args), capture_output=True, text=True, timeout=timeout, env=ENV, check=False)
    if check:
        assert proc.returncode == 0, 'lab %s: rc=%s\n%s%s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr)
    return proc


def wait_for_room(systemd_hosts, timeout=180):
    """Another lab on this machine may hold inotify instances for a while (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        room = json.loads(lab('capacity').stdout)
        if room['systemd_hosts'] >= systemd_hosts or time.monotonic() > deadline:
            return room
        time.sleep(5)


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    why = systemd_unavailable()
    if why:
        pytest.skip(why)
    directory = tmp_path_factory.mktemp('endpoints')
    times = {}
    start = time.monotonic()
    # the hosts share this machine's kernel log (its earlier OOM kills): look back to this lab's start only
    started = int(time.time()) - 1
    try:
        t0 = time.monotonic()
        room = wait_for_room(len(HOSTS))
        if room['systemd_hosts'] < len(HOSTS):
            pytest.fail('no room for %d systemd hosts on this machine: %s' % (len(HOSTS), room))
        lab('up', *['%s:systemd@bookworm+services' % h for h in HOSTS], timeout=900)
        times['up'] = time.monotonic() - t0
        t0 = time.monotonic()
        for host, spec in HOSTS.items():
            for service in spec['services']:
                lab('service', host, service, timeout=120)
        times['services'] = time.monotonic() - t0
        t0 = time.monotonic()
        for host, spec in HOSTS.items():
            for fault in spec['faults']:
                lab('fault', host, *fault, timeout=180)
        times['faults'] = time.monotonic() - t0
        status = dict((h['name'], h) for h in json.loads(lab('status', '--json').stdout))
        inventory = directory / 'inventory'
        inventory.mkdir()
        lab('inventory', '--format', 'yaml', '--output', str(inventory / 'lab.yml'))
        (inventory / 'host_vars').mkdir()
        for host, variables in HOST_VARS.items():
            (inventory / 'host_vars' / ('%s.yml' % host)).write_text(json.dumps(variables))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build'), ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_HOST_KEY_CHECKING='0')
        report = directory / 'report'
        since = '@%d' % started
        t0 = time.monotonic()
        proc = subprocess.run([PLAYBOOK, '-i', str(inventory / 'lab.yml'), '-f', str(len(HOSTS)),
                               'connreset.doctor.diagnose',
                               '-e', 'diagnose_report_dir=%s' % report,
                               '-e', json.dumps({'diagnose_collector_options': {'oom': {'since': since},
                                                                                'endpoints': {'since': since}}})],
                              cwd=str(directory), env=env, capture_output=True, text=True, timeout=600, check=False)
        times['diagnose'] = time.monotonic() - t0
        # the acceptance's own form: the endpoints as extra vars (they override the host vars), one host
        t0 = time.monotonic()
        extra = subprocess.run([PLAYBOOK, '-i', str(inventory / 'lab.yml'), '-l', 'mismatch',
                                'connreset.doctor.diagnose',
                                '-e', 'diagnose_report_dir=%s' % (directory / 'extra'),
                                '-e', json.dumps({'diagnose_endpoints': EXTRA_ENDPOINTS,
                                                  'diagnose_collector_options': {'oom': {'since': since},
                                                                                 'endpoints': {'since': since}}})],
                               cwd=str(directory), env=env, capture_output=True, text=True, timeout=300, check=False)
        times['diagnose -e'] = time.monotonic() - t0
        yield {'proc': proc, 'extra': extra, 'extra_report': directory / 'extra', 'report': report, 'status': status,
               'times': times, 'start': start}
    finally:
        t0 = time.monotonic()
        lab('down', timeout=300, check=False)
        times['down'] = time.monotonic() - t0
        sys.stderr.write('test_endpoint_accuracy lab: %s, %.0f s in all\n' % (
            ', '.join('%s %.1f s' % kv for kv in times.items()), time.monotonic() - start))


def host_docs(fleet):
    if 'docs' not in fleet:
        with open(os.path.join(str(fleet['report']), 'report.json'), encoding='utf-8') as handle:
            fleet['docs'] = dict((d['host'], d) for d in json.load(handle)['hosts'])
    return fleet['docs']


def _classification(probe):
    """The endpoint's probe classification, whether the report gives it as text or as tcp_probe's result."""
    if isinstance(probe, dict):
        return probe.get('classification') or (probe.get('summary') or {}).get('classification')
    return probe


def endpoint_view(doc, name):
    """(entry, source) of one endpoint: the report's hosts[].endpoints entry ({name, port, listening, probe,
    findings: [ids], ...}), or, where the report has none, the same read from the host's endpoint facts and its
    endpoint probe (source 'facts+probe'); (None, why) when neither names it."""
    entries = [e for e in doc.get('endpoints') or [] if e.get('name') == name]
    if len(entries) == 1:
        return entries[0], 'report'
    if entries:
        return None, 'endpoint %s twice in hosts[].endpoints' % name
    facts = [e for e in ((doc.get('facts') or {}).get('connreset_endpoints') or {}).get('endpoints') or []
             if e.get('name') == name]
    probes = [e for e in (doc.get('endpoint_probe') or {}).get('endpoints') or [] if e.get('name') == name]
    if len(facts) != 1 or len(probes) != 1:
        return None, 'endpoint %s: %d in the facts, %d in the endpoint probe' % (name, len(facts), len(probes))
    fact = facts[0]
    entry = {'name': name, 'port': fact.get('port'), 'unit': fact.get('unit'), 'program': fact.get('program'),
             'listening': bool(fact.get('listening')), 'probe': probes[0].get('summary'), 'findings': None}
    return entry, 'facts+probe'


def endpoint_findings(doc, endpoint):
    """The host's findings about one endpoint, each with its evidence for it: [(finding, evidence)] of the findings
    naming it in evidence.endpoints, and those its hosts[].endpoints entry lists by id that name no endpoint."""
    ids = set(endpoint.get('findings') or [])
    out = []
    for finding in doc.get('findings') or []:
        named = (finding.get('evidence') or {}).get('endpoints')
        if isinstance(named, dict) and endpoint['name'] in named:
            out.append((finding, named[endpoint['name']] or {}))
        elif not named and finding['id'] in ids:
            out.append((finding, finding.get('evidence') or {}))
    return out


def _brief(finding, evidence):
    text = '%s/%s/%s' % (finding['id'], finding['cause'], finding['severity'])
    if finding['id'] == 'CRD-SVC-003':     # whose kill it is
        text += '[%s]' % ','.join(sorted(set(str(k.get('cgroup')) for k in evidence.get('kills') or [])))
    return text


def foreign_kills(host, evidence):
    """The cgroups of OOM kills in an endpoint's evidence (a CRD-SVC-003's, or one a CRD-SVC-010 folds in) that lie in
    another lab host's tree (/connreset-labN/<other host>/...): the hosts share this machine's kernel log, but each
    unit's own memory cgroup knows it was not killed, so such a kill is never this endpoint's."""
    kills = list(evidence.get('kills') or []) + list(((evidence.get('confirms') or {}).get('CRD-SVC-003') or {}).get(
        'kills') or [])
    foreign = re.compile(r'^/connreset-lab\d*/(?!%s/)[^/]+/' % re.escape(host))
    return sorted(set(str(k.get('cgroup')) for k in kills if foreign.match(str(k.get('cgroup') or ''))))


def judge(fleet, row):
    """(ok, found text, source) for one endpoint row."""
    doc = host_docs(fleet).get(row.host)
    if doc is None:
        return False, 'host not in the report', '-'
    entry, source = endpoint_view(doc, row.name)
    if entry is None:
        return False, source, '-'
    classification = _classification(entry.get('probe'))
    findings = endpoint_findings(doc, entry)
    problems = []
    if not doc.get('reachable'):
        problems.append('host unreachable')
    if entry.get('port') != row.endpoint['port']:
        problems.append('port %s' % entry.get('port'))
    if classification not in row.probes:
        problems.append('probe %s' % classification)
    problems += expectation_problems(row, findings, classification)
    found = ', '.join(_brief(f, ev) for f, ev in findings) or '-'
    return not problems, '%s; probe %s; %s%s' % (
        found, classification, 'listening' if entry.get('listening') else 'not listening',
        ('; WRONG: ' + '; '.join(problems)) if problems else ''), source


def expectation_problems(row, findings, classification):
    """What is wrong with an endpoint's findings [(finding, its evidence for the endpoint)] for its row."""
    problems = []
    expect = row.expect
    if row.when_failed and classification == row.when_failed[0]:
        expect = row.when_failed[1]
    for finding, evidence in findings:
        problems += ['%s names another host\'s OOM kill %s' % (finding['id'], cgroup)
                     for cgroup in foreign_kills(row.host, evidence)]
    if expect is None:
        problems += ['serious %s(%s)' % (f['id'], f['severity']) for f, _ev in findings if f['severity'] in SERIOUS]
    else:
        match = [(f, ev) for f, ev in findings if f['id'] in expect.ids]
        right = [(f, ev) for f, ev in match if f['cause'] == expect.cause]
        if not match:
            problems.append('none of %s' % ', '.join(expect.ids))
        elif not right:
            problems.append('cause %s' % ', '.join('%s/%s' % (f['id'], f['cause']) for f, _ev in match))
        elif expect.check and not [1 for _f, ev in right if expect.check(ev)]:
            problems.append('evidence %s' % _text(right[0][1])[:300])
    return problems


def test_endpoint_accuracy_table(fleet, capsys):
    proc = fleet['proc']
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    times = fleet['times']
    lines = ['', 'connreset.doctor endpoint accuracy on real lab hosts: %d endpoints on %d hosts, %.0f s so far '
             '(lab up %.0f s, services %.0f s, faults %.0f s, diagnose %.0f s, diagnose -e %.0f s)' % (
                 len(ROWS), len(HOSTS), time.monotonic() - fleet['start'], times['up'], times['services'],
                 times['faults'], times['diagnose'], times['diagnose -e'])]
    fmt = '%-19s %-17s %-58s %s'
    lines.append(fmt % ('FAULT', 'HOST/ENDPOINT', 'EXPECTED', 'FOUND'))
    results, sources = [], set()
    for row in ROWS:
        expected = '%s, probe %s' % ('nothing above low' if row.expect is None else row.expect, '|'.join(row.probes))
        if row.when_failed:
            expected += ' (%s: %s)' % (row.when_failed[0], row.when_failed[1])
        ok, found, source = judge(fleet, row)
        results.append(ok)
        sources.add(source)
        lines.append(fmt % (row.fault, '%s/%s:%d' % (row.host, row.name, row.endpoint['port']), expected,
                            ('ok   ' if ok else 'MISS ') + found))
    lines.append('endpoint accuracy: %d/%d = %.0f %% (endpoints read from: %s)' % (
        sum(results), len(results), 100.0 * sum(results) / len(results), ', '.join(sorted(sources))))
    with capsys.disabled():
        print('\n'.join(lines))
    assert all(results), '\n'.join(lines)


def test_every_endpoint_is_in_the_report(fleet):
    """Every host, and on each every endpoint of its diagnose_endpoints, in its facts and its endpoint probe (and in
    hosts[].endpoints where the report has them), with the port it was given."""
    docs = host_docs(fleet)
    assert sorted(docs) == sorted(HOSTS)
    for host in HOSTS:
        want = sorted((r.name, r.endpoint['port']) for r in ROWS if r.host == host)
        doc = docs[host]
        facts = ((doc.get('facts') or {}).get('connreset_endpoints') or {}).get('endpoints') or []
        assert sorted((e['name'], e['port']) for e in facts) == want, (host, facts)
        probed = (doc.get('endpoint_probe') or {}).get('endpoints') or []
        assert sorted((e['name'], e['port']) for e in probed) == want, (host, probed)
        if doc.get('endpoints') is not None:
            assert sorted((e['name'], e['port']) for e in doc['endpoints']) == want, (host, doc['endpoints'])


def test_endpoints_given_as_extra_vars(fleet):
    """`ansible-playbook connreset.doctor.diagnose -e '{"diagnose_endpoints": [...]}'` on the mismatch host: the app
    behind HAProxy gets CRD-SVC-007 (idle_timeout) with the timeout chain; the proxy as its row says (a 502 of its
    probe explained by the app's CRD-SVC-007, else nothing above low)."""
    proc = fleet['extra']
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    with open(os.path.join(str(fleet['extra_report']), 'report.json'), encoding='utf-8') as handle:
        docs = json.load(handle)['hosts']
    assert [d['host'] for d in docs] == ['mismatch']
    app, _source = endpoint_view(docs[0], 'app')
    chain = [ev for f, ev in endpoint_findings(docs[0], app)
             if f['id'] == 'CRD-SVC-007' and f['cause'] == 'idle_timeout']
    assert chain and _timeout_chain(chain[0]), docs[0]['findings']
    proxy, _source = endpoint_view(docs[0], 'proxy')
    row = [r for r in ROWS if (r.host, r.name) == ('mismatch', 'proxy')][0]
    classification = _classification(proxy.get('probe'))
    assert classification in row.probes, proxy
    problems = expectation_problems(row, endpoint_findings(docs[0], proxy), classification)
    assert not problems, (problems, docs[0]['findings'])
