# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp_probe against real services on lab hosts (tests/lab/lab, LAB_ID=18: bridge crlab18,
10.213.25.0/24), one per fault, and clean ones: the classification each fault gives.

One lab for the whole module (light hosts ``clean``, ``overflow``, ``mismatch``, ``idlerst``; systemd
hosts ``crash`` and ``oom`` with the services layer, at most 2 of the 3 allowed at once); the faults
are injected once, then every case probes. Real programs: gunicorn 20.1, nginx 1.22, HAProxy 2.6,
Redis 7.0 (Debian 12). Traffic goes only to the lab's own hosts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_probe
from ansible_collections.connreset.doctor.tests.utils.lab_env import systemd_unavailable

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab.py')
LAB_ID = '18'
ENV = dict(os.environ, LAB_ID=LAB_ID)
ENV.pop('LAB_DIR', None)
HOSTS = ('clean', 'overflow', 'mismatch', 'idlerst', 'crash:systemd+services', 'oom:systemd+services')
IDLE_S = 3
NEEDED = ('ip', 'unshare', 'nsenter', 'nft', 'ss', 'gunicorn', 'nginx', 'haproxy', 'redis-server')
MISSING = [b for b in NEEDED if not shutil.which(b)]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root'),
    pytest.mark.skipif(bool(MISSING), reason='needs %s (tests/utils/setup.sh test)' % ' '.join(MISSING)),
    pytest.mark.skipif(systemd_unavailable() is not None, reason=str(systemd_unavailable())),
]


def lab(*args, timeout=300):
    proc = subprocess.run([sys.executable, LAB] + list(args), env=ENV, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, 'lab %s: %s' % (' '.join(args), proc.stderr)
    return proc.stdout


def params(host, endpoints, **kw):
    out = dict(endpoints=endpoints, host=host, attempts=1, delay=0.0, connect_timeout=2.0, tls_timeout=3.0,
               response_timeout=20.0, validate_certs=False, ca_path=None, idle_hold_s=0.0)
    out.update(kw)
    return out


@pytest.fixture(scope='module')
def fleet():
    started = time.monotonic()
    timings = {}
    lab('up', *HOSTS, timeout=900)
    timings['up'] = time.monotonic() - started
    try:
        status = json.loads(lab('status', '--json'))
        hosts = dict((h['name'], h) for h in status)
        lab('service', 'clean', 'all')
        lab('service', 'crash', 'app')
        mark = time.monotonic()
        lab('fault', 'overflow', 'accept-overflow')
        lab('fault', 'mismatch', 'keepalive-mismatch', '--requests', '4')
        lab('fault', 'idlerst', 'idle-rst', '--idle-s', str(IDLE_S))
        timings['faults_light'] = time.monotonic() - mark
        clean_crash = _tcp_probe.probe(params(hosts['crash']['address'], [{'name': 'app', 'port': 8000, 'protocol': 'http'}]))
        mark = time.monotonic()
        lab('fault', 'crash', 'svc-crashloop')
        lab('fault', 'oom', 'svc-oom')
        timings['faults_systemd'] = time.monotonic() - mark
        details = dict((h['name'], h['fault_details']) for h in json.loads(lab('status', '--json')))
        yield {'hosts': hosts, 'details': details, 'clean_crash': clean_crash, 'timings': timings}
    finally:
        mark = time.monotonic()
        subprocess.run([sys.executable, LAB, 'down'], env=ENV, capture_output=True, timeout=120, check=False)
        timings['down'] = time.monotonic() - mark
        sys.stderr.write('test_tcp_probe_real lab: %s\n' % ', '.join('%s %.1f s' % kv for kv in timings.items()))


def address(fleet, name):
    return fleet['hosts'][name]['address']


def by_name(result):
    return dict((e['name'], e) for e in result['endpoints'])


def test_clean_services_are_ok_and_close_idle_connections_with_fin(fleet):
    result = _tcp_probe.probe(params(address(fleet, 'clean'), [
        {'name': 'app', 'port': 8000, 'protocol': 'http'},
        {'name': 'nginx', 'port': 80, 'protocol': 'http'},
        {'name': 'nginx-app', 'port': 80, 'protocol': 'http', 'path': '/app/'},
        {'name': 'haproxy', 'port': 8080, 'protocol': 'http'},
        {'name': 'redis', 'port': 6379, 'protocol': 'tcp'},
    ], attempts=2, delay=0.2, idle_hold_s=5.0))
    found = by_name(result)
    assert result['summary']['classifications'] == dict((n, 'ok') for n in found), result['summary']
    assert found['app']['attempts'][0]['response']['headers']['server'] == 'gunicorn'
    assert found['nginx']['attempts'][0]['response']['headers']['server'].startswith('nginx/')
    # gunicorn (gthread) closes an idle keep-alive connection after --keep-alive 2 s, checked once a
    # second: a FIN 2-3 s after the response; nginx keeps it (keepalive_timeout 75 s), Redis too (timeout 0)
    assert found['app']['idle']['ended'] == 'fin' and 1.5 <= found['app']['idle']['after_s'] <= 4.0, found['app']['idle']
    assert found['nginx']['idle']['ended'] == 'open' and found['nginx']['idle']['reuse']['outcome'] == 'ok'
    assert found['redis']['idle']['ended'] == 'open'
    assert fleet['clean_crash']['summary']['classifications'] == {'app': 'ok'}


def test_accept_overflow(fleet):
    info = fleet['details']['overflow']['accept-overflow']
    # the burst's clients got real resets right after the handshake (tcp_abort_on_overflow=1), then
    # HAProxy's one slot and the accept queue (backlog 2 + 1) were filled and held
    assert info['burst'].get('reset_at_connect', 0) + info['burst'].get('reset_after_request', 0) >= 1, info
    assert info['burst']['filled'] == 4, info
    result = _tcp_probe.probe(params(address(fleet, 'overflow'), [
        {'name': 'overflow', 'port': 8081, 'protocol': 'http'}, {'name': 'overflow-tcp', 'port': 8081}],
        connect_timeout=1.0))
    # a client arriving while the queue is full: its SYN is dropped (ListenOverflows), whatever
    # tcp_abort_on_overflow says
    assert result['summary']['classifications'] == {'overflow': 'connect_timeout', 'overflow-tcp': 'connect_timeout'}


def test_keepalive_mismatch(fleet):
    info = fleet['details']['mismatch']['keepalive-mismatch']
    assert 502 in info['loop'] and 200 in info['loop'], info
    result = _tcp_probe.probe(params(address(fleet, 'mismatch'), [{'name': 'proxy', 'port': 8080, 'protocol': 'http'}],
                                     attempts=3, delay=2.5))
    proxy = by_name(result)['proxy']
    assert proxy['summary']['classification'] in ('http_error', 'reset_after_request'), proxy['summary']
    assert proxy['summary']['intermittent'] and proxy['summary']['counts']['ok'] >= 1
    bad = [a for a in proxy['attempts'] if a['outcome'] == 'http_error']
    assert all(a['response']['status'] == 502 for a in bad)
    # the app's own side: its keep-alive close never reaches the client (the lab drops the FIN),
    # so a held connection looks open and the next request on it is reset
    result = _tcp_probe.probe(params(address(fleet, 'mismatch'), [{'name': 'app', 'port': 8000, 'protocol': 'http'}],
                                     idle_hold_s=3.0))
    idle = by_name(result)['app']['idle']
    assert idle['ended'] == 'open' and idle['reuse']['outcome'] == 'reset', idle


def test_idle_rst(fleet):
    result = _tcp_probe.probe(params(address(fleet, 'idlerst'), [{'name': 'front', 'port': 8090, 'protocol': 'tcp'}],
                                     idle_hold_s=IDLE_S + 5.0))
    front = by_name(result)['front']
    assert front['summary']['classification'] == 'ok'
    assert front['idle']['ended'] == 'rst', front['idle']
    assert IDLE_S - 0.5 <= front['idle']['after_s'] <= IDLE_S + 1.5, front['idle']


def test_svc_crashloop(fleet):
    info = fleet['details']['crash']['svc-crashloop']
    assert info['result'] == 'signal' and int(info['n_restarts']) >= 4, info
    result = _tcp_probe.probe(params(address(fleet, 'crash'), [{'name': 'app', 'port': 8000, 'protocol': 'http'}]))
    app = by_name(result)['app']
    assert app['summary']['classification'] == 'refused', app['summary']
    assert app['attempts'][0]['icmp'] is None


def test_svc_oom(fleet):
    info = fleet['details']['oom']['svc-oom']
    assert info['hog_request'] != 200, info
    kernel = lab('exec', 'oom', '--', 'journalctl', '-k', '--no-pager', '-o', 'short-iso')
    assert 'Memory cgroup out of memory: Killed process' in kernel and '(gunicorn)' in kernel
    # the worker dies under the request: the connection closes without a response; the arbiter
    # starts a new worker, so the next plain request works
    result = _tcp_probe.probe(params(address(fleet, 'oom'), [
        {'name': 'hog', 'port': 8000, 'protocol': 'http', 'path': '/hog'}, {'name': 'app', 'port': 8000, 'protocol': 'http'}]))
    assert result['summary']['classifications'] == {'hog': 'closed_before_response', 'app': 'ok'}
