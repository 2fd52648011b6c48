# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_endpoints parsers and the collector's option checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _endpoint_stack, _endpoints
from ansible_collections.connreset.doctor.plugins.module_utils._common import OptionError, System

SAMPLES = os.path.join(os.path.dirname(__file__), 'samples', 'endpoints')


def test_parse_ss_sockets_real_sample():
    with open(os.path.join(SAMPLES, 'ss-Hltnp-iproute2-6.1.txt')) as handle:
        sockets = _endpoint_stack.parse_ss_sockets(handle.read())
    assert len(sockets) == 6
    assert sockets[0] == {'address': '127.0.0.1', 'port': 6390, 'recv_q': 0, 'backlog': 511, 'pids': [2847],
                          'processes': ['redis-server']}
    gunicorn = [s for s in sockets if s['port'] == 8000][0]
    assert gunicorn['backlog'] == 2048 and sorted(gunicorn['pids']) == [2855, 2857]
    assert [s['address'] for s in sockets if s['port'] == 8082] == ['0.0.0.0', '::']


@pytest.mark.parametrize('text, expected', [
    ('Max open files            20000                20000                files     \n', (20000, 20000)),
    ('Limit                     Soft Limit           Hard Limit           Units     \n'
     'Max open files            1024                 524288               files     \n', (1024, 524288)),
    ('Max open files            unlimited            unlimited            files\n', (None, None)),
    ('Max processes 1 2 processes\n', None), ('', None), (None, None),
])
def test_parse_limits(text, expected):
    assert _endpoint_stack.parse_limits(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('32768\t60999\n', (32768, 60999)), ('1024 65535', (1024, 65535)), ('60999 32768', None), ('0 10', None),
    ('abc', None), ('', None), ('1 2 3', None),
])
def test_parse_port_range(text, expected):
    assert _endpoints.parse_port_range(text) == expected


PROC_TCP = (
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
    '   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n'
    '   1: 0100007F:8001 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n'
    '   2: 0100007F:8002 0100007F:1F91 06 00000000:00000000 03:00000DB2 00000000     0        0 0 3 0\n'
    '   3: 0100007F:0050 0100007F:8003 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0\n'
    '   4: garbage\n'
)


def test_count_ephemeral():
    # 0x8001 and 0x8002 (32769, 32770) are in the range; the listener and port 80 are not
    assert _endpoints.count_ephemeral(PROC_TCP.splitlines(), 32768, 60999) == (2, 1)


@pytest.mark.parametrize('comm, exe, args, program', [
    ('nginx', '/usr/sbin/nginx', 'nginx -c /etc/nginx/nginx.conf', 'nginx'),
    ('haproxy', '/usr/sbin/haproxy', '/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg', 'haproxy'),
    ('gunicorn', '/usr/bin/python3.11', '/usr/bin/python3 /usr/bin/gunicorn app:app', 'gunicorn'),
    ('redis-server', '/usr/bin/redis-check-rdb', 'redis-server 127.0.0.1:6379', 'redis'),
    ('apache2', '/usr/sbin/apache2', '/usr/sbin/apache2 -k start', 'apache'),
    ('python3', '/usr/bin/python3.11', 'python3 -m http.server', None),
])
def test_program_of(comm, exe, args, program):
    assert _endpoint_stack.program_of(comm, exe, args) == program


def test_parse_exec_start():
    value = ('{ path=/usr/bin/redis-server ; argv[]=/usr/bin/redis-server /etc/redis/redis.conf --supervised systemd '
             '--daemonize no ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }')
    assert _endpoint_stack.parse_exec_start(value) == ['/usr/bin/redis-server', '/etc/redis/redis.conf', '--supervised',
                                                       'systemd', '--daemonize', 'no']
    assert _endpoint_stack.parse_exec_start('') == []


# nginx's own lines (src/event/ngx_event_accept.c, ngx_event_connect.c, ngx_log.c of release-1.22.1) and a line a
# client can put in the log (its request line after "while ...") that must not count
NGINX_LINES = [
    '2026/12/03 20:01:02 [crit] 2551#2551: accept4() failed (24: Too many open files)',
    '2026/12/03 20:01:03 [crit] 2551#2551: accept4() failed (24: Too many open files)',
    '2026/12/03 20:01:04 [crit] 2552#2552: *17 connect() to 127.0.0.1:8000 failed (99: Cannot assign requested address) '
    'while connecting to upstream, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", host: "x"',
    '2026/12/03 20:01:05 [error] 2552#2552: *18 open() "/srv/accept4() failed (24: Too many open files)" failed (2: No '
    'such file or directory), client: 127.0.0.1',
    'accept4() failed (24: Too many open files)',
]


def test_count_program_events_nginx():
    kinds = _endpoint_stack.count_program_events('nginx', NGINX_LINES)
    assert kinds['fd_exhaustion']['count'] == 2 and kinds['fd_exhaustion']['last'] == '2026-12-03T20:01:03'
    assert kinds['addr_exhaustion']['count'] == 1


def test_count_program_events_unknown_program():
    assert _endpoint_stack.count_program_events('envoy', NGINX_LINES) == {'fd_exhaustion': None, 'addr_exhaustion': None}


@pytest.mark.parametrize('processes, main_pid, pid', [
    ([{'pid': 20, 'ppid': 10}, {'pid': 10, 'ppid': 1}], None, 10),
    ([{'pid': 20, 'ppid': 10}, {'pid': 10, 'ppid': 1}], 20, 20),
    ([], None, None),
])
def test_pick_owner(processes, main_pid, pid):
    owner = _endpoint_stack.pick_owner(processes, main_pid)
    assert (owner or {}).get('pid') == pid


def test_oom_of_unit():
    oom = {'kills': [{'unit': 'app.service', 'process': 'gunicorn'}, {'unit': 'x.service'}],
           'kills_by_unit': {'app.service': 3, 'x.service': 1}, 'unit_results': [{'unit': 'app.service'}],
           'log': {'status': 'ok', 'reason': None}}
    part = _endpoint_stack.oom_of_unit(oom, 'app.service')
    assert part['kill_count'] == 3 and len(part['kills']) == 1 and part['unit_results'] == 1
    assert _endpoint_stack.oom_of_unit(oom, None)['status'] == 'unknown'
    assert _endpoint_stack.oom_of_unit({'kills': None, 'reason': 'no log'}, 'a.service')['kill_count'] is None


# A lab host's view (tests/lab, bookworm, cgroup v1 memory): the svc-oom fault's kill as the shared kernel log
# names it, under the other host's prefix; this host's own unit sits at /system.slice/lab-app.service.
NEIGHBOUR_KILL = {'unit': 'lab-app.service', 'process': 'gunicorn', 'pid': 14417,
                  'cgroup': '/connreset-lab18/oom/system.slice/lab-app.service'}
SHARED_OOM = {'kills': [NEIGHBOUR_KILL], 'kills_by_unit': {'lab-app.service': 1}, 'unit_results': [],
              'log': {'status': 'ok', 'reason': None}}


@pytest.mark.parametrize('shared, counter, results, status, count, elsewhere', [
    (False, None, [], 'ok', 1, 0),      # a whole machine: the kernel's paths are this host's
    (True, 0, [], 'ok', 0, 1),          # a neighbour's kill: this unit's own cgroup counted none
    (True, 1, [], 'ok', 1, 0),          # this host's own kill (its cgroup counted it)
    (True, None, [], 'partial', 0, 1),  # cannot tell (unit down, cgroup gone): not counted, and said so
    (True, None, [{'unit': 'lab-app.service'}], 'ok', 1, 0),  # its own systemd logged the OOM result
])
def test_oom_of_unit_on_a_shared_kernel(shared, counter, results, status, count, elsewhere):
    oom = dict(SHARED_OOM, unit_results=results)
    part = _endpoint_stack.oom_of_unit(oom, 'lab-app.service', shared=shared, counter=counter)
    assert (part['status'], part['kill_count'], part['kills_elsewhere']) == (status, count, elsewhere)
    assert len(part['kills']) == count and part['cgroup_oom_kills'] == counter
    if status == 'partial':
        assert 'shared with other hosts' in part['reason'] and NEIGHBOUR_KILL['cgroup'] in part['reason']


def test_oom_of_unit_counter_bounds_same_named_kills():
    oom = dict(SHARED_OOM, kills=[dict(NEIGHBOUR_KILL, pid=1), dict(NEIGHBOUR_KILL, pid=2)],
               kills_by_unit={'lab-app.service': 2})
    part = _endpoint_stack.oom_of_unit(oom, 'lab-app.service', shared=True, counter=1)
    assert part['kill_count'] == 1 and [k['pid'] for k in part['kills']] == [2]


@pytest.mark.parametrize('params, message', [
    ({'endpoints': [{'port': 0}]}, 'not a TCP port'),
    ({'endpoints': [{'port': 70000}]}, 'not a TCP port'),
    ({'endpoints': [{'port': 80, 'unit': 'a/b'}]}, 'not a systemd unit name'),
    ({'endpoints': [{'port': 80, 'front': {'idle_timeout_s': -1}}]}, 'idle_timeout_s'),
    ({'endpoints': [{'port': 80}] * 65}, 'at most 64'),
    ({'endpoints': [], 'since': ''}, 'since'),
])
def test_validate(params, message):
    assert message in _endpoints.validate(params)
    with pytest.raises(OptionError):
        _endpoints.collect(System(), params)


def test_no_endpoints_reads_nothing_but_the_host_sysctls():
    fact = _endpoints.collect(System(), {'endpoints': []})
    assert fact['status'] == 'ok' and fact['endpoints'] == []
    assert isinstance(fact['sysctls']['somaxconn'], int)


def test_unit_name():
    assert _endpoints.unit_name('nginx') == 'nginx.service'
    assert _endpoints.unit_name('app.socket') == 'app.socket'


def test_count_program_events_real_nginx_error_log():
    # nginx 1.22.1 with worker_rlimit_nofile 16 and 30 clients held open (samples/endpoints/README.md)
    with open(os.path.join(SAMPLES, 'nginx-1.22.1-error-emfile.log')) as handle:
        lines = handle.read().splitlines()
    kinds = _endpoint_stack.count_program_events('nginx', lines)
    assert kinds['fd_exhaustion']['count'] == len(lines) > 0
    assert kinds['fd_exhaustion']['samples'][-1] == lines[-1] and len(kinds['fd_exhaustion']['samples']) <= 5
    assert kinds['addr_exhaustion']['count'] == 0
