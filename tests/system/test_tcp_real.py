# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcp_facts against a real overflowing accept queue, in a network namespace this test creates.

A listener with backlog 1 that never accepts, then more clients than the queue holds: the
collector, run inside the namespace, must see the queue (recv_q > 0, backlog 1) and the
kernel's ListenOverflows counter (per namespace) going up.  The namespace is deleted in teardown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, '.build')
PORT = 2222
CLIENTS = 8

# Listens with backlog 1, never accepts, opens CLIENTS non-blocking connections (bounded), says
# "ready" and holds everything open until its stdin closes (or 60 s pass).
HOLDER = r'''
import select, socket, sys, time
port, clients = int(sys.argv[1]), int(sys.argv[2])
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', port))
server.listen(1)
held = []
for _ in range(clients):
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setblocking(False)
    client.connect_ex(('127.0.0.1', port))
    held.append(client)
    time.sleep(0.05)
time.sleep(1.5)          # let the handshakes (and the dropped SYNs/ACKs) happen
print('ready', flush=True)
select.select([sys.stdin], [], [], 60)
'''

COLLECT = ('import json\n'
           'from ansible_collections.connreset.doctor.plugins.module_utils import _tcp\n'
           'from ansible_collections.connreset.doctor.plugins.module_utils._common import System\n'
           'print(json.dumps(_tcp.collect(System(), {"ports": [%d], "sample_seconds": 0})))\n' % PORT)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root (creates a network namespace)'),
    pytest.mark.skipif(not shutil.which('ip'), reason='ip (iproute2) not found'),
]


@pytest.fixture
def netns():
    name = 'crd-tcp-%s' % uuid.uuid4().hex[:8]
    subprocess.run(['ip', 'netns', 'add', name], check=True, timeout=20)
    try:
        subprocess.run(['ip', '-n', name, 'link', 'set', 'lo', 'up'], check=True, timeout=20)
        yield name
    finally:
        subprocess.run(['ip', 'netns', 'del', name], timeout=30, check=False)


def collect_in(name):
    env = dict(os.environ, PYTHONPATH=BUILD)
    out = subprocess.run(['ip', 'netns', 'exec', name, sys.executable, '-c', COLLECT], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, timeout=60, check=True)
    return json.loads(out.stdout)


def test_accept_queue_overflow_is_seen(netns):
    before = collect_in(netns)
    assert before['status'] == 'ok', before['reason']
    assert before['listeners'] == []                    # a fresh namespace listens nowhere
    holder = subprocess.Popen(['ip', 'netns', 'exec', netns, sys.executable, '-c', HOLDER, str(PORT), str(CLIENTS)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = holder.stdout.readline()
        assert line.strip() == b'ready', holder.stderr.read()
        after = collect_in(netns)
    finally:
        holder.stdin.close()
        try:
            holder.wait(timeout=10)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()

    listeners = after['listeners']
    assert len(listeners) == 1 and listeners[0]['port'] == PORT and listeners[0]['address'] == '127.0.0.1'
    assert listeners[0]['recv_q'] > 0
    assert listeners[0]['backlog'] == 1 and listeners[0]['source'] == 'ss'
    assert listeners[0]['overflowing'] is True          # backlog 1 holds 2: the queue is full
    assert after['counters']['ListenOverflows'] > before['counters']['ListenOverflows']
    assert after['states']['LISTEN'] == 1 and after['states'].get('ESTABLISHED', 0) >= 2
    assert after['sysctls']['somaxconn'] is not None
