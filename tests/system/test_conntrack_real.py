# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""conntrack collector inside a network namespace the test creates.

An nftables rule with a ``ct state`` match turns connection tracking on in that namespace; a
script run there (``ip netns exec``) opens a few TCP connections on the namespace's loopback,
keeps them open and runs the collector.  The namespace is deleted in teardown, even on failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, '.build')
CONNECTIONS = 8

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root to create network namespaces'),
    pytest.mark.skipif(not shutil.which('ip'), reason='needs iproute2 (ip)'),
    pytest.mark.skipif(not shutil.which('nft'), reason='needs nftables (nft) to turn conntrack on in the namespace'),
    pytest.mark.skipif(not os.path.exists('/proc/sys/net/netfilter/nf_conntrack_max'),
                       reason='this kernel has no nf_conntrack'),
]

SCRIPT = '''
import json, socket, sys
from ansible_collections.connreset.doctor.plugins.module_utils import _common, _conntrack
n = int(sys.argv[1])
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
server.settimeout(5)
clients, accepted = [], []
for _ in range(n):
    c = socket.create_connection(server.getsockname(), timeout=5)
    clients.append(c)
    accepted.append(server.accept()[0])
fact = _common.run_collector("conntrack", _conntrack.collect, _common.System(),
                             {"since": sys.argv[2], "log_files": sys.argv[3:] or None}, budget=30)
for s in clients + accepted + [server]:
    s.close()
print(json.dumps(fact))
'''


@pytest.fixture
def netns():
    name = 'crdct%d' % (os.getpid() % 100000)
    subprocess.run(['ip', 'netns', 'add', name], check=True, timeout=10)
    try:
        subprocess.run(['ip', '-n', name, 'link', 'set', 'lo', 'up'], check=True, timeout=10)
        ruleset = ('table inet crdtest {\n chain in {\n  type filter hook input priority 0; policy accept;\n'
                   '  ct state established,related accept\n }\n'
                   ' chain out {\n  type filter hook output priority 0; policy accept;\n  ct state new accept\n }\n}\n')
        subprocess.run(['ip', 'netns', 'exec', name, 'nft', '-f', '-'], input=ruleset, text=True, check=True, timeout=10)
        yield name
    finally:
        subprocess.run(['ip', 'netns', 'del', name], check=False, timeout=30)


def run_in(ns, log_files, connections=CONNECTIONS, since='1h'):
    env = dict(os.environ, PYTHONPATH=BUILD)
    argv = [sys.executable, '-c', SCRIPT, str(connections), since] + list(log_files)
    proc = subprocess.run(['ip', 'netns', 'exec', ns] + argv,
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_count_inside_namespace(netns, tmp_path):
    log = tmp_path / 'kern.log'
    log.write_text('')
    fact = run_in(netns, [str(log)])
    assert fact['loaded'] is True
    assert fact['count'] >= CONNECTIONS, fact
    assert fact['max'] > 0 and fact['fill'] == round(float(fact['count']) / fact['max'], 4)
    with open('/proc/sys/net/netfilter/nf_conntrack_max') as handle:
        assert fact['max'] == int(handle.read())     # the limit is machine-wide
    # a child network namespace: nf_conntrack_max is read-only there
    assert fact['shared_netns'] is True and '0444' in fact['netns_method']
    assert fact['stats'] is not None and fact['stats']['drop'] is not None
    assert fact['timeouts']['established'] > 0
    assert fact['table_full_events']['count'] == 0 and fact['status'] == 'ok', fact['reason']


def test_count_is_per_namespace_and_events_from_log(netns, tmp_path):
    """Without connections the namespace's own table is empty, whatever the machine's count."""
    log = tmp_path / 'kern.log'
    line = 'Jul  8 10:03:53 h kernel: nf_conntrack: nf_conntrack: table full, dropping packet'
    log.write_text(line + '\n')
    fact = run_in(netns, [str(log)], connections=0, since='@0')
    assert fact['loaded'] is True and fact['count'] == 0 and fact['fill'] == 0.0
    events = fact['table_full_events']
    assert events['count'] == 1 and events['samples'] == [line] and events['source'] == str(log)
