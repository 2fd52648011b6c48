# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""endpoint_facts against real nginx, HAProxy, gunicorn and Redis (the Debian packages) on loopback in a
network namespace this test creates, and on a systemd lab host (tests/lab/lab, LAB_ID 17) running them as units.

Every program reads a configuration written here; the collector, run inside the namespace, must name each
port's owning process, its accept queue and backlog, and the idle close timeout with the file and line it
comes from.  nginx runs with ``worker_rlimit_nofile 16`` and the test holds 30 connections to it, so nginx
itself logs ``accept4() failed (24: Too many open files)``: the collector must count those lines.  Traffic goes
to the namespace's loopback only; every loop is bounded; everything started is stopped and the namespace
deleted in teardown.

On the lab host (``lab up web:systemd@bookworm+services``, ``lab service web all``) the units are Debian's own
(nginx, haproxy, redis-server) and the lab's gunicorn app (lab-app.service); ``lab fault web svc-crashloop``
kills the app's main process until systemd gives up; then ``keepalive-mismatch`` (HAProxy reusing upstream
connections for 60 s over gunicorn --keep-alive 1) and ``accept-overflow`` (a HAProxy frontend with backlog 2
kept full, tcp_abort_on_overflow=1) are injected.  The collector, run there by ansible-playbook, must name
each unit from the socket's cgroup, read systemd's state and the crash loop from PID 1's journal lines, and read
each timeout with the file and line the host's own files have.  The lab is always taken down.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import re
import tempfile
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, '.build')
PROGRAMS = ('nginx', 'haproxy', 'gunicorn', 'redis-server', 'ip')

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root (creates a network namespace)'),
    pytest.mark.skipif(not all(shutil.which(p) for p in PROGRAMS),
                       reason='needs %s (tests/utils/setup.sh test installs them)' % ', '.join(PROGRAMS)),
]

NGINX = '''worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
worker_rlimit_nofile 16;
events {{ worker_connections 64; }}
http {{
    access_log off;
    keepalive_timeout 65;
    upstream app {{
        server 127.0.0.1:8000;
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:8081 backlog=7;
        keepalive_timeout 4s;
        location / {{ proxy_pass http://app; proxy_read_timeout 30s; }}
    }}
}}
'''
HAPROXY = '''global
    maxconn 50

defaults
    mode http
    timeout connect 5s
    timeout client 20s
    timeout server 20s

frontend www
    bind 127.0.0.1:8091
    timeout http-keep-alive 3s
    default_backend app

listen bare
    bind 127.0.0.1:8093
    mode tcp
    timeout client 0
    server a 127.0.0.1:8000

backend app
    server a 127.0.0.1:8000
'''
GUNICORN_CONF = 'bind = "127.0.0.1:8000"\nkeepalive = 5\nworker_class = "gthread"\nworkers = 1\n'
APP = 'def app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n'
REDIS = 'port 6390\nbind 127.0.0.1\ntimeout 30\nsave ""\ndaemonize no\n'

# Holds 30 connections to nginx (each connect bounded by 2 s, refusals and timeouts tolerated) until stdin closes.
HOLDER = r'''
import select, socket, sys, time
held = []
for _ in range(30):
    try:
        held.append(socket.create_connection(('127.0.0.1', 8081), timeout=2))
    except OSError:
        pass
    time.sleep(0.02)
time.sleep(1.0)
print('ready', flush=True)
select.select([sys.stdin], [], [], 60)
'''
COLLECT = ('import json, sys\n'
           'from ansible_collections.connreset.doctor.plugins.module_utils import _endpoints\n'
           'from ansible_collections.connreset.doctor.plugins.module_utils._common import System, run_collector\n'
           'print(json.dumps(run_collector("endpoints", _endpoints.collect, System(), json.loads(sys.argv[1]), 60)))\n')


def wait_port(name, port, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        out = subprocess.run(['ip', 'netns', 'exec', name, 'ss', '-Hltn', 'sport', '= :%d' % port],
                             stdout=subprocess.PIPE, timeout=10, check=False).stdout
        if out.strip():
            return
        time.sleep(0.1)
    raise AssertionError('nothing listens on port %d after %.0f s' % (port, limit))


@pytest.fixture
def services(tmp_path):
    name = 'crd-svc-%s' % uuid.uuid4().hex[:8]
    d = str(tmp_path)
    files = {'nginx.conf': NGINX.format(d=d), 'haproxy.cfg': HAPROXY, 'gunicorn.conf.py': GUNICORN_CONF,
             'app.py': APP, 'redis.conf': REDIS}
    for fname, text in files.items():
        (tmp_path / fname).write_text(text)
    subprocess.run(['ip', 'netns', 'add', name], check=True, timeout=20)
    procs = []
    pidfiles = [os.path.join(d, p) for p in ('nginx.pid', 'haproxy.pid', 'gunicorn.pid')]

    def ns(*argv, **kwargs):
        return ['ip', 'netns', 'exec', name] + list(argv)

    try:
        subprocess.run(['ip', '-n', name, 'link', 'set', 'lo', 'up'], check=True, timeout=20)
        subprocess.run(ns('nginx', '-c', os.path.join(d, 'nginx.conf')), check=True, timeout=30)
        subprocess.run(ns('haproxy', '-D', '-f', os.path.join(d, 'haproxy.cfg'), '-p', pidfiles[1]), check=True,
                       timeout=30, stderr=subprocess.DEVNULL)
        subprocess.run(ns('gunicorn', '-c', 'gunicorn.conf.py', '--keep-alive', '7', '-D', '-p', pidfiles[2], 'app:app'),
                       check=True, timeout=30, cwd=d)
        procs.append(subprocess.Popen(ns('redis-server', os.path.join(d, 'redis.conf')), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        for port in (8081, 8091, 8093, 8000, 6390):
            wait_port(name, port)
        holder = subprocess.Popen(ns(sys.executable, '-c', HOLDER), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        procs.append(holder)
        assert holder.stdout.readline().strip() == b'ready'
        yield name, d
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        for path in pidfiles:
            try:
                with open(path) as handle:
                    os.kill(int(handle.read().split()[0]), signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                pass
        time.sleep(0.5)
        for pid in subprocess.run(['ip', 'netns', 'pids', name], stdout=subprocess.PIPE, timeout=10,
                                  check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(['ip', 'netns', 'del', name], timeout=30, check=False)


def collect_in(name, endpoints):
    env = dict(os.environ, PYTHONPATH=BUILD)
    out = subprocess.run(['ip', 'netns', 'exec', name, sys.executable, '-c', COLLECT,
                          json.dumps({'endpoints': endpoints})], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, timeout=120, check=True)
    return json.loads(out.stdout)


def test_real_services(services):
    name, d = services
    fact = collect_in(name, [{'port': 8081, 'front': {'kind': 'aws-alb'}}, {'port': 8091}, {'port': 8093},
                             {'port': 8000, 'protocol': 'http'}, {'port': 6390}, {'port': 9}])
    by_port = dict((e['port'], e) for e in fact['endpoints'])

    nginx = by_port[8081]
    assert nginx['program'] == 'nginx' and nginx['process']['comm'] == 'nginx'
    assert nginx['process']['exe'] == shutil.which('nginx') or nginx['process']['exe'].endswith('/nginx')
    assert [(s['address'], s['backlog']) for s in nginx['listening']] == [('127.0.0.1', 7)]     # listen ... backlog=7
    assert nginx['listening'][0]['recv_q'] >= 0 and nginx['listen_source'] == 'ss'
    assert nginx['timeouts']['source'] == 'nginx -T -c %s/nginx.conf' % d
    idle = nginx['timeouts']['idle_close']
    assert (idle['key'], idle['value_s'], idle['file'], idle['line']) == ('keepalive_timeout', 4.0, d + '/nginx.conf', 15)
    keys = dict((v['key'], v) for v in nginx['timeouts']['values'])
    assert keys['upstream keepalive']['connections'] == 8 and keys['upstream keepalive']['line'] == 11
    assert keys['upstream keepalive_timeout']['default'] is True and keys['upstream keepalive_timeout']['value_s'] == 60
    assert keys['proxy_read_timeout']['value_s'] == 30.0 and keys['proxy_read_timeout']['line'] == 16
    # nginx's own EMFILE lines, written for the connections held past worker_rlimit_nofile 16
    assert nginx['events']['fd_exhaustion']['count'] >= 1
    assert 'accept4() failed (24: Too many open files)' in nginx['events']['fd_exhaustion']['samples'][-1]
    # the master's descriptors against its own limit (worker_rlimit_nofile is the workers')
    assert nginx['fds']['status'] == 'ok' and nginx['fds']['open'] >= 3 and isinstance(nginx['fds']['soft_limit'], int)
    assert nginx['front'] == {'kind': 'aws-alb', 'idle_timeout_s': None}

    www = by_port[8091]
    assert www['program'] == 'haproxy' and www['listening'][0]['address'] == '127.0.0.1'
    idle = www['timeouts']['idle_close']
    assert (idle['key'], idle['value_s'], idle['file'], idle['line']) == ('timeout http-keep-alive', 3, d + '/haproxy.cfg',
                                                                          12)
    bare = by_port[8093]['timeouts']['idle_close']
    assert (bare['key'], bare['value_s'], bare['line']) == ('timeout client', 0, 18)   # timeout 0: never closes

    app = by_port[8000]
    assert app['program'] == 'gunicorn' and app['protocol'] == 'http'
    idle = app['timeouts']['idle_close']
    assert (idle['value_s'], idle['context'], idle['worker_class']) == (7.0, 'command line', 'gthread')
    assert any(v['key'] == 'keepalive' for v in app['timeouts']['values'])
    assert app['timeouts']['source'] == 'command line and %s/gunicorn.conf.py' % d

    redis = by_port[6390]
    assert redis['program'] == 'redis' and redis['process']['comm'] == 'redis-server'
    assert redis['listening'][0]['backlog'] == 511                           # redis.conf tcp-backlog default 511
    # no systemd here: Redis overwrote its command line with its title, so its file is unknown - said, not guessed
    assert redis['timeouts']['status'] == 'unknown' and 'ExecStart' in redis['timeouts']['reason']

    nothing = by_port[9]
    # nothing listens (known: []), so all that depends on the owner is unknown with its reason
    assert nothing['listening'] == [] and nothing['process'] is None and nothing['status'] == 'partial'
    assert nothing['timeouts']['status'] == 'unknown' and 'no process owns the socket' in nothing['timeouts']['reason']
    # no systemd in this namespace host: unknown with the reason, never healthy
    assert nginx['service']['manager'] == 'none' and nginx['service']['status'] == 'unknown'
    assert nginx['events']['crashes']['count'] is None
    assert fact['sysctls']['somaxconn'] and fact['ephemeral_ports']['status'] == 'ok'


# --- a systemd lab host ------------------------------------------------------------------------------
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab')
_LAB_ID = os.environ.get('CONNRESET_TEST_LAB_ID', '17')
LAB_ENV = dict(os.environ, LAB_ID=_LAB_ID, LAB_DIR='/run/connreset-lab-%s' % _LAB_ID)
PLAY = """- hosts: web
  gather_facts: false
  tasks:
    - connreset.doctor.endpoint_facts:
        since: 1h
        endpoints:
          - {port: 80, protocol: http, front: {kind: aws-alb}}
          - {port: 8080, protocol: http}
          - {port: 8000, protocol: http}
          - {port: 6379}
          - {port: 8081}
      register: out
    - ansible.builtin.copy:
        content: "{{ out.ansible_facts.connreset_endpoints | to_json }}"
        dest: "%s"
      delegate_to: localhost
"""


def lab(*args, timeout=300):
    proc = subprocess.run([LAB] + list(args), capture_output=True, text=True, timeout=timeout, env=LAB_ENV,
                          check=False)
    assert proc.returncode == 0, 'lab %s: %s%s' % (' '.join(args), proc.stdout, proc.stderr)
    return proc.stdout


def line_of(text, pattern):
    """1-based number of the one line of ``text`` matching ``pattern`` (the host's own file, read apart)."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if re.match(pattern, line)]
    assert len(found) == 1, (pattern, found)
    return found[0]


@pytest.fixture(scope='module')
def lab_host(tmp_path_factory):
    beside = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not shutil.which('ansible-playbook') and not os.path.exists(beside):
        pytest.skip('ansible-playbook not found')
    directory = tmp_path_factory.mktemp('lab')
    try:
        lab('up', 'web:systemd@bookworm+services')
        lab('service', 'web', 'all')
        lab('fault', 'web', 'svc-crashloop', timeout=120)
        lab('fault', 'web', 'svc-crashloop', '--undo', timeout=120)
        lab('fault', 'web', 'keepalive-mismatch', timeout=180)
        lab('fault', 'web', 'accept-overflow', timeout=180)
        (directory / 'inv.ini').write_text(lab('inventory'))
        files = dict((path, lab('exec', 'web', '--', 'cat', path)) for path in  # as they are after the faults
                     ('/etc/nginx/nginx.conf', '/etc/haproxy/haproxy.cfg', '/etc/redis/redis.conf'))
        yield directory, files
    finally:
        subprocess.run([LAB, 'down'], env=LAB_ENV, capture_output=True, timeout=120, check=False)


def test_systemd_lab_host(lab_host):
    directory, files = lab_host
    out = directory / 'facts.json'
    (directory / 'play.yml').write_text(PLAY % out)
    binary = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=BUILD, PYTHONPATH=BUILD, ANSIBLE_HOST_KEY_CHECKING='False')
    proc = subprocess.run([binary if os.path.exists(binary) else 'ansible-playbook', '-i', 'inv.ini', 'play.yml'],
                          cwd=str(directory), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    fact = json.loads(out.read_text())
    by_port = dict((e['port'], e) for e in fact['endpoints'])

    for port, unit, program in ((80, 'nginx.service', 'nginx'), (8080, 'haproxy.service', 'haproxy'),
                                (8000, 'lab-app.service', 'gunicorn'), (6379, 'redis-server.service', 'redis')):
        endpoint = by_port[port]
        assert (endpoint['unit'], endpoint['unit_source'], endpoint['program']) == (unit, 'socket', program), endpoint
        assert endpoint['process']['cgroup'].endswith('/system.slice/' + unit)
        assert endpoint['service']['manager'] == 'systemd' and endpoint['service']['active_state'] == 'active'
        assert endpoint['listening'] and endpoint['listening'][0]['backlog'] > 0
        assert endpoint['fds']['status'] == 'ok' and endpoint['fds']['open'] > 0
        assert endpoint['oom']['status'] == 'ok' and isinstance(endpoint['oom']['kill_count'], int)
        assert endpoint['events']['crashes']['count'] is not None

    # the crash loop of the app: systemd's own lines from PID 1, as for sshd
    app = by_port[8000]['events']
    assert app['crashes']['count'] >= 3 and set(app['crashes']['results']) == {'killed 9/KILL'}
    assert app['restarts']['automatic'] >= 2 and app['restarts']['gave_up'] == 1
    assert by_port[80]['events']['crashes']['count'] == 0 and by_port[80]['events']['restarts']['count'] == 0

    nginx = by_port[80]['timeouts']
    conf = files['/etc/nginx/nginx.conf']
    assert nginx['source'] == 'nginx -T'
    assert (nginx['idle_close']['value_s'], nginx['idle_close']['file'], nginx['idle_close']['line']) == (
        75.0, '/etc/nginx/nginx.conf', line_of(conf, r'^\s*keepalive_timeout 75s;'))
    upstream = [v for v in nginx['values'] if v['key'] == 'upstream keepalive_timeout'][0]
    assert (upstream['value_s'], upstream['line'], upstream['default']) == (
        60.0, line_of(conf, r'^\s*keepalive_timeout 60s;'), False)
    assert by_port[80]['events']['fd_exhaustion']['count'] == 0      # nginx's error log was read

    haproxy = by_port[8080]['timeouts']['idle_close']
    assert (haproxy['key'], haproxy['value_s'], haproxy['line']) == (
        'timeout http-keep-alive', 60, line_of(files['/etc/haproxy/haproxy.cfg'], r'^\s*timeout http-keep-alive 60s'))

    # keepalive-mismatch: the app closes idle connections after 1 s, HAProxy reuses them for 60 s (timeout server)
    app_idle = by_port[8000]['timeouts']['idle_close']
    assert (app_idle['key'], app_idle['value_s'], app_idle['context'], app_idle['worker_class']) == (
        'keepalive', 1.0, 'command line', 'gthread')
    server = [v for v in by_port[8080]['timeouts']['values'] if v['key'] == 'timeout server'][0]
    assert (server['value_s'], server['line']) == (60, line_of(files['/etc/haproxy/haproxy.cfg'], r'^\s*timeout server 60s'))

    # accept-overflow: the frontend's queue is full (Recv-Q past its backlog of 2) and the host aborts on overflow
    overflow = by_port[8081]
    assert overflow['program'] == 'haproxy' and overflow['listening'][0]['backlog'] == 2
    assert overflow['listening'][0]['recv_q'] >= 2
    assert fact['sysctls']['tcp_abort_on_overflow'] == 1

    redis = by_port[6379]['timeouts']
    conf = files['/etc/redis/redis.conf']
    assert redis['source'] == '/etc/redis/redis.conf'      # from the unit's ExecStart
    assert (redis['idle_close']['key'], redis['idle_close']['value_s'], redis['idle_close']['disabled'],
            redis['idle_close']['line']) == ('timeout', None, True, line_of(conf, r'^timeout 0$'))
    keepalive = [v for v in redis['values'] if v['key'] == 'tcp-keepalive'][0]
    assert (keepalive['value_s'], keepalive['line']) == (300.0, line_of(conf, r'^tcp-keepalive 300$'))


@contextlib.contextmanager
def private_netns(prefix):
    """A network namespace of this test's own (loopback up), its processes killed and it deleted after."""
    name = '%s-%s' % (prefix, uuid.uuid4().hex[:8])
    subprocess.run(['ip', 'netns', 'add', name], check=True, timeout=20)
    try:
        subprocess.run(['ip', '-n', name, 'link', 'set', 'lo', 'up'], check=True, timeout=20)
        yield name
    finally:
        for pid in subprocess.run(['ip', 'netns', 'pids', name], stdout=subprocess.PIPE, timeout=10,
                                  check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(['ip', 'netns', 'del', name], timeout=30, check=False)


@pytest.mark.skipif(not os.path.exists('/usr/sbin/apache2'), reason='apache2 not installed (tests/utils/setup.sh test)')
def test_real_apache_debian_configuration(tmp_path):
    """Debian's apache2 with its own configuration (/etc/apache2, its includes), in a namespace of its own."""
    d = str(tmp_path)
    env = dict(os.environ, APACHE_RUN_DIR=d, APACHE_PID_FILE=os.path.join(d, 'apache2.pid'), APACHE_RUN_USER='www-data',
               APACHE_RUN_GROUP='www-data', APACHE_LOG_DIR=d, APACHE_LOCK_DIR=d)
    with private_netns('crd-apache') as name:
        subprocess.run(['ip', 'netns', 'exec', name, '/usr/sbin/apache2', '-k', 'start'], env=env, check=True, timeout=30,
                       stderr=subprocess.DEVNULL)
        wait_port(name, 80)
        fact = collect_in(name, [{'port': 80, 'protocol': 'http'}])
    endpoint = fact['endpoints'][0]
    assert endpoint['program'] == 'apache' and endpoint['process']['comm'] == 'apache2'
    with open('/etc/apache2/apache2.conf') as handle:
        conf = handle.read()
    idle = endpoint['timeouts']['idle_close']
    value = [line.split()[1] for line in conf.splitlines() if line.startswith('KeepAliveTimeout ')]
    assert (idle['key'], idle['value_s'], idle['file'], idle['line']) == (
        'KeepAliveTimeout', float(value[0]), '/etc/apache2/apache2.conf', line_of(conf, r'^KeepAliveTimeout '))
    assert endpoint['timeouts']['source'] == '/etc/apache2/apache2.conf'


@pytest.fixture
def shared_dir():
    """A directory the database servers' own users can enter (pytest's tmp_path is root's alone)."""
    path = tempfile.mkdtemp(prefix='crd-db-')
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


PG_BIN = '/usr/lib/postgresql/15/bin'


@pytest.mark.skipif(not os.path.exists(os.path.join(PG_BIN, 'postgres')), reason='needs postgresql-15 (tests/utils/setup.sh test)')
def test_real_postgres(shared_dir):
    """PostgreSQL 15 (Debian's) with a cluster made here: the idle close is idle_session_timeout from an include_dir
    file, overridden on the command line for tcp_keepalives_idle; the values must equal what ``postgres -C`` (the
    server's own reading of the same files) prints."""
    tmp_path = shared_dir
    data, conf_dir = tmp_path / 'data', tmp_path / 'etc'
    (conf_dir / 'conf.d').mkdir(parents=True)
    conf = conf_dir / 'postgresql.conf'
    conf.write_text("data_directory = '%s'\nport = 5439\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"
                    "idle_session_timeout = 0\ninclude_dir = 'conf.d'\n" % (data, tmp_path))
    (conf_dir / 'conf.d' / '50-timeouts.conf').write_text("idle_session_timeout = '90s'\ntcp_user_timeout 20000\n")
    subprocess.run(['chown', '-R', 'postgres', str(tmp_path)], check=True, timeout=20)
    as_pg = ['runuser', '-u', 'postgres', '--']
    subprocess.run(as_pg + [os.path.join(PG_BIN, 'initdb'), '-D', str(data), '-A', 'trust'], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    argv = [os.path.join(PG_BIN, 'postgres'), '-D', str(data), '-c', 'config_file=%s' % conf, '-c', 'tcp_keepalives_idle=45']
    told = dict((k, subprocess.run(as_pg + argv[:1] + ['-C', k] + argv[1:], stdout=subprocess.PIPE, text=True,
                                   timeout=60, check=True).stdout.strip())
                for k in ('idle_session_timeout', 'tcp_keepalives_idle', 'tcp_user_timeout'))
    assert told == {'idle_session_timeout': '90000', 'tcp_keepalives_idle': '45', 'tcp_user_timeout': '20000'}
    with private_netns('crd-pg') as name:
        server = subprocess.Popen(['ip', 'netns', 'exec', name] + as_pg + argv, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        wait_port(name, 5439, limit=30)
        fact = collect_in(name, [{'port': 5439}])
        server.terminate()
        server.wait(timeout=30)
    endpoint = fact['endpoints'][0]
    assert endpoint['program'] == 'postgres' and endpoint['process']['comm'] == 'postgres'
    timeouts = endpoint['timeouts']
    assert timeouts['status'] == 'ok', timeouts
    got = dict((v['key'], (v['value_s'], v['file'], v['line'])) for v in timeouts['values'])
    assert got['idle_session_timeout'] == (float(told['idle_session_timeout']) / 1000, str(conf_dir / 'conf.d' / '50-timeouts.conf'), 1)
    assert got['tcp_keepalives_idle'] == (45.0, 'command line', None)
    assert got['tcp_user_timeout'] == (20.0, str(conf_dir / 'conf.d' / '50-timeouts.conf'), 2)
    assert timeouts['idle_close']['key'] == 'idle_session_timeout'
    assert timeouts['source'] == '%s, %s and the command line' % (conf, data / 'postgresql.auto.conf')


@pytest.mark.skipif(not shutil.which('mariadbd') or not shutil.which('mariadb-install-db'),
                    reason='needs mariadb-server (tests/utils/setup.sh test)')
def test_real_mariadb(shared_dir):
    """MariaDB 10.11 (Debian's) started with an option file made here that includes a directory: wait_timeout
    from the included file, interactive_timeout on the command line; both as my_print_defaults (the server's own
    option reader) gives them."""
    tmp_path = shared_dir
    d = tmp_path
    (d / 'conf.d').mkdir()
    (d / 'data').mkdir()
    cnf = d / 'my.cnf'
    cnf.write_text('[client-server]\nsocket = %s/mysqld.sock\n!includedir %s/conf.d/\n[mysqld]\nport = 3317\n'
                   'bind-address = 127.0.0.1\ndatadir = %s/data\npid-file = %s/mysqld.pid\nskip-grant-tables\n'
                   % (d, d, d, d))
    (d / 'conf.d' / '50-timeouts.cnf').write_text('[mariadb]\nwait_timeout = 700   # connreset\n[client]\nwait_timeout = 5\n')
    printed = subprocess.run(['my_print_defaults', '--defaults-file=%s' % cnf, 'mysqld', 'server', 'mariadb'],
                             stdout=subprocess.PIPE, text=True, timeout=30, check=True).stdout.split()
    assert '--wait_timeout=700' in printed and '--wait_timeout=5' not in printed
    subprocess.run(['chown', '-R', 'mysql', str(d)], check=True, timeout=20)
    subprocess.run(['mariadb-install-db', '--defaults-file=%s' % cnf, '--user=mysql', '--skip-test-db'], check=True,
                   timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with private_netns('crd-my') as name:
        server = subprocess.Popen(['ip', 'netns', 'exec', name, 'mariadbd', '--defaults-file=%s' % cnf, '--user=mysql',
                                   '--interactive-timeout=120'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(name, 3317, limit=60)
        fact = collect_in(name, [{'port': 3317}])
        server.terminate()
        server.wait(timeout=60)
    endpoint = fact['endpoints'][0]
    assert endpoint['program'] == 'mysql' and endpoint['process']['comm'] == 'mariadbd'
    timeouts = endpoint['timeouts']
    assert timeouts['status'] == 'ok', timeouts
    got = dict((v['key'], (v['value_s'], v['file'], v['line'])) for v in timeouts['values'])
    assert got == {'wait_timeout': (700.0, str(d / 'conf.d' / '50-timeouts.cnf'), 2),
                   'interactive_timeout': (120.0, 'command line', None)}
    assert timeouts['idle_close']['key'] == 'wait_timeout' and timeouts['source'] == str(cnf)


UWSGI_INI = '''[uwsgi]
plugin = python3
master = true
processes = 1
http11-socket = 127.0.0.1:8095
wsgi-file = {d}/app.py
callable = app
socket-timeout = 2
'''
# One HTTP/1.1 request on a kept connection, then how long until uWSGI closes it (bounded), inside the namespace.
IDLE_PROBE = r'''
import json, socket, time
s = socket.create_connection(('127.0.0.1', 8095), timeout=5)
s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
data = b''
while b'ok' not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
start = time.monotonic()
s.settimeout(10)
try:
    rest = s.recv(4096)
except OSError as exc:
    rest = repr(exc).encode()
print(json.dumps([data[:15].decode('latin-1'), rest.decode('latin-1'), round(time.monotonic() - start, 1)]))
'''


@pytest.mark.skipif(not shutil.which('uwsgi') or not os.path.exists('/usr/lib/uwsgi/plugins/python3_plugin.so'),
                    reason='needs uwsgi-core and uwsgi-plugin-python3 (tests/utils/setup.sh test)')
def test_real_uwsgi(tmp_path):
    """uWSGI 2.0 (Debian's uwsgi-core) with an INI: an --http11-socket keeps a connection after its response and
    closes it after socket-timeout idle (measured here); the collector must read that value from the INI line."""
    d = str(tmp_path)
    (tmp_path / 'app.py').write_text(APP)
    ini = tmp_path / 'app.ini'
    ini.write_text(UWSGI_INI.format(d=d))
    with private_netns('crd-uwsgi') as name:
        server = subprocess.Popen(['ip', 'netns', 'exec', name, 'uwsgi', '--ini', str(ini)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, cwd=d)
        wait_port(name, 8095, limit=30)
        fact = collect_in(name, [{'port': 8095, 'protocol': 'http'}])
        idle = subprocess.run(['ip', 'netns', 'exec', name, sys.executable, '-c', IDLE_PROBE], stdout=subprocess.PIPE,
                              text=True, timeout=30, check=True).stdout
        server.send_signal(signal.SIGINT)      # uWSGI 2.0 reloads on SIGTERM; SIGINT ends it
        server.wait(timeout=30)
    endpoint = fact['endpoints'][0]
    assert endpoint['program'] == 'uwsgi', endpoint
    timeouts = endpoint['timeouts']
    assert timeouts['status'] == 'ok', timeouts
    assert (timeouts['idle_close']['key'], timeouts['idle_close']['value_s'], timeouts['idle_close']['file'],
            timeouts['idle_close']['line']) == ('socket-timeout', 2.0, str(ini), 8)
    # uWSGI itself: the response came, then the idle connection was closed (FIN: b'') after about socket-timeout
    head, rest, seconds = json.loads(idle)
    assert head.startswith('HTTP/1.1 200') and rest == '', idle
    assert 1.5 <= seconds <= 4.0, idle
