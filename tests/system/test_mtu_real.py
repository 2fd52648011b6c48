# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Path-MTU probe against a real black hole built from network namespaces.

    ns A (10.x.1.2, MTU 1500) ── veth ── ns R (router, forwarding on in R only) ── veth MTU 1400 ── ns B (10.x.2.2)

With ICMP allowed, R answers A's 1500-byte DF ping with "Frag needed and DF set (mtu = 1400)".
With ``icmp code frag-needed drop`` in R's output chain (nftables, inside R), large packets vanish
silently: a black hole.  The collector runs inside A (``ip netns exec A python -c ...``).
Every namespace is deleted in the fixture's teardown, even when a test fails.
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

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root to create network namespaces'),
    pytest.mark.skipif(not shutil.which('ip'), reason='needs iproute2 (ip)'),
    pytest.mark.skipif(not shutil.which('nft'), reason='needs nftables (nft) to drop ICMP inside the router namespace'),
    pytest.mark.skipif(not shutil.which('ping'), reason='needs iputils-ping'),
]

COLLECT = '''
import json, sys
from ansible_collections.connreset.doctor.plugins.module_utils import _common, _mtu
params = json.loads(sys.argv[1])
print(json.dumps(_common.run_collector("mtu", _mtu.collect, _common.System(), params, budget=60)))
'''


def sh(*argv, **kwargs):
    return subprocess.run(list(argv), check=kwargs.pop('check', True), capture_output=True, text=True, timeout=30, **kwargs)


@pytest.fixture
def lab():
    tag = 'crdm%d' % (os.getpid() % 100000)
    names = {'a': tag + 'a', 'r': tag + 'r', 'b': tag + 'b'}
    net = 10 + os.getpid() % 200
    created = []
    try:
        for name in names.values():
            sh('ip', 'netns', 'add', name)
            created.append(name)
            sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
        sh('ip', 'link', 'add', tag + 'a0', 'netns', names['a'], 'type', 'veth', 'peer', 'name', tag + 'r0', 'netns', names['r'])
        sh('ip', 'link', 'add', tag + 'r1', 'netns', names['r'], 'type', 'veth', 'peer', 'name', tag + 'b0', 'netns', names['b'])
        for ns, dev, addr, mtu in ((names['a'], tag + 'a0', '10.%d.1.2/24' % net, 1500),
                                   (names['r'], tag + 'r0', '10.%d.1.1/24' % net, 1500),
                                   (names['r'], tag + 'r1', '10.%d.2.1/24' % net, 1400),
                                   (names['b'], tag + 'b0', '10.%d.2.2/24' % net, 1400)):
            sh('ip', '-n', ns, 'addr', 'add', addr, 'dev', dev)
            sh('ip', '-n', ns, 'link', 'set', dev, 'up', 'mtu', str(mtu))
        sh('ip', '-n', names['a'], 'route', 'add', 'default', 'via', '10.%d.1.1' % net)
        sh('ip', '-n', names['b'], 'route', 'add', 'default', 'via', '10.%d.2.1' % net)
        # forwarding is per network namespace: this touches R only
        sh('ip', 'netns', 'exec', names['r'], 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
        sh('ip', 'netns', 'exec', names['a'], 'ping', '-c', '1', '-W', '2', '10.%d.2.2' % net)
        yield {'names': names, 'target': '10.%d.2.2' % net, 'router': '10.%d.1.1' % net, 'dev': tag + 'a0'}
    finally:
        for name in created:
            sh('ip', 'netns', 'del', name, check=False)


def collect_in(ns, params):
    env = dict(os.environ, PYTHONPATH=BUILD)
    proc = subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, '-c', COLLECT, json.dumps(params)],
                          capture_output=True, text=True, timeout=90, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def drop_frag_needed(router):
    ruleset = ('table inet crdtest {\n chain out {\n  type filter hook output priority 0; policy accept;\n'
               '  icmp type destination-unreachable icmp code frag-needed drop\n }\n}\n')
    subprocess.run(['ip', 'netns', 'exec', router, 'nft', '-f', '-'], input=ruleset, text=True, check=True, timeout=10)


PARAMS = {'probe': True, 'probe_timeout': 0.5, 'max_probes': 12}


def test_path_mtu_with_icmp(lab):
    fact = collect_in(lab['names']['a'], dict(PARAMS, targets=[lab['target'], lab['router']]))
    far, near = fact['targets']
    assert far['dev'] == lab['dev'] and far['gateway'] == lab['router'] and far['mtu'] == 1500
    assert far['probe']['path_mtu'] == 1400 and far['probe']['blackhole'] is False
    assert far['probe']['icmp_mtu'] == 1400 and far['probe']['status'] == 'ok'
    assert near['probe']['path_mtu'] == 1500 and near['probe']['blackhole'] is False
    iface = [i for i in fact['interfaces'] if i['name'] == lab['dev']][0]
    assert iface['kind'] == 'veth' and iface['mtu'] == 1500 and iface['addresses'][0]['prefixlen'] == 24
    # the kernel now caches the learned path MTU: the route toward B says so
    again = collect_in(lab['names']['a'], {'targets': [lab['target']], 'probe': False})
    assert again['targets'][0]['mtu'] == 1400 and again['targets'][0]['mtu_source'] == 'pmtu_cache'


def test_black_hole_when_frag_needed_is_dropped(lab):
    drop_frag_needed(lab['names']['r'])
    fact = collect_in(lab['names']['a'], dict(PARAMS, targets=[lab['target']]))
    probe = fact['targets'][0]['probe']
    assert probe['blackhole'] is True and probe['path_mtu'] == 1400
    assert probe['icmp_mtu'] is None and probe['probes'] <= 13 and probe['elapsed_s'] < 30


def test_route_mtu_lock_listed(lab):
    sh('ip', '-n', lab['names']['a'], 'route', 'add', '192.0.2.0/24', 'via', lab['router'], 'mtu', 'lock', '1300')
    fact = collect_in(lab['names']['a'], {'targets': ['192.0.2.7'], 'probe': False})
    assert {'dst': '192.0.2.0/24', 'dev': lab['dev'], 'mtu': 1300, 'mtu_locked': True, 'table': 'main'} in fact['routes']
    assert fact['targets'][0]['mtu'] == 1300 and fact['targets'][0]['mtu_source'] == 'route'
