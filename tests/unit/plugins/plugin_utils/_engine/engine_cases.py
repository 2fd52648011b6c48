# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the engine tests share: run() and case() (one host evaluation from a patch of the healthy
sample), the fact and message samples of several areas, and the lab probe fixtures."""

from __future__ import annotations

import copy
import json
import os

from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import CONTROLLER, facts, rule


BLACKHOLE = {'path_mtu': None, 'blackhole': True, 'probes': [{'size': 1472, 'ok': False}, {'size': 548, 'ok': True}],
             'status': 'ok', 'reason': None}
REDUCED_PATH = {'path_mtu': 1400, 'blackhole': False, 'probes': [], 'status': 'ok', 'reason': None}
# Rules as the firewall collector reports them (nftables 1.0.6 `nft -j list ruleset`).
RESET_ALL_22 = rule('tcp dport 22 reject with tcp reset', 'reject_tcp_reset', [22])
RESET_EST_22 = rule('tcp dport 22 ct state established reject with tcp reset', 'reject_tcp_reset', [22],
                    established=True)
# tcp_wrappers collector error entry (hosts.allow line without the ':' separator).
WRAP_ERROR = {'file': '/etc/hosts.allow', 'line': 7, 'text': 'sshd 192.0.2.10',
              'reason': 'missing ":" between daemon list and client list'}
NO_PING = {'path_mtu': None, 'blackhole': None, 'probes': 0, 'status': 'unknown',
           'reason': 'ping not found: install iputils-ping to probe the path MTU'}
# `ethtool -S ens5` on an EC2 Nitro instance (ENA driver 2.8): the allowance counters.
ENA_EXCEEDED = {'bw_in_allowance_exceeded': 0, 'bw_out_allowance_exceeded': 0, 'pps_allowance_exceeded': 0,
                'conntrack_allowance_exceeded': 1523, 'linklocal_allowance_exceeded': 0,
                'conntrack_allowance_available': 0}
INVALID_DROP = rule('ct state invalid drop', 'drop', None, invalid=True)
UNKNOWN_AREA = {'status': 'unknown', 'reason': 'no permission to read /proc/net/nf_conntrack: use become: true'}

# Unreachable messages as Ansible 2.19 prints them (OpenSSH 9.2p1 client, BatchMode, ConnectTimeout=5).
MSG_REFUSED = 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 port 22: Connection refused'
MSG_TIMEOUT = 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 port 22: Connection timed out'
MSG_BANNER_TIMEOUT = 'Failed to connect to the host via ssh: Connection timed out during banner exchange'
MSG_RESET_BANNER = ('Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by peer'
                    '\r\nConnection reset by 192.0.2.21 port 22')
MSG_RESET_MID = 'Failed to connect to the host via ssh: Connection reset by 192.0.2.21 port 22'
MSG_AUTH = 'Failed to connect to the host via ssh: root@192.0.2.21: Permission denied (publickey,password).'
MSG_DNS = ('Failed to connect to the host via ssh: ssh: Could not resolve hostname web9: '
           'Name or service not known')
MSG_EMPTY = 'Failed to connect to the host via ssh: '


def case(patch=None, probe_=None, unreachable=None, thresholds=None, controller=CONTROLLER, fleet=None):
    return {'patch': patch or {}, 'probe': probe_, 'unreachable': unreachable, 'thresholds': thresholds,
            'controller': controller, 'fleet': fleet}


def run(spec):
    """Ids emitted for one case (the fleet cases look at host 'a')."""
    if spec['fleet']:
        docs = [_engine.diagnose_host(copy.deepcopy(h)) for h in spec['fleet']]
        _engine.apply_fleet_findings(docs)
        return {f['id'] for f in docs[0]['findings']}, docs[0]
    data = facts(**spec['patch'])
    result = _engine.evaluate_host(data, probe=spec['probe'], unreachable=spec['unreachable'],
                                   thresholds=spec['thresholds'], controller=spec['controller'])
    return {f['id'] for f in result['findings']}, result


# Real collector output: tests/unit/plugins/plugin_utils/fixtures/.
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')


def _lab_probe(name):
    """fixtures/lab_probes.json: ssh_probe results and Ansible's UNREACHABLE messages from the
    connreset lab (tests/lab/lab, light hosts: OpenSSH 9.2p1 sshd, ansible-core 2.19 controller)
    with the faults pmtu-blackhole, sshd-down and banned injected."""
    with open(os.path.join(FIXTURES, 'lab_probes.json'), encoding='utf-8') as handle:
        return json.load(handle)[name]
