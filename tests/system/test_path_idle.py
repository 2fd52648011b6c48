# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The path's idle timeout (issue 14): the shipped diagnose playbook with ``diagnose_probe_idle_hold_s`` on a
host behind the lab's router.

One lab (tests/lab/lab, LAB_ID 26): a light host ``r1@routed``.  Three phases, each one ``ansible-playbook
connreset.doctor.diagnose -e diagnose_probe_idle_hold_s=5``:

* ``lab fault router nat-idle --idle 3`` (the router forgets a flow idle for 3 s, silently): CRD-PATH-003,
  outcome ``silent_drop`` after the 5 s hold, high (sshd's ClientAliveInterval is 0);
* ``lab fault router lb-idle --idle 3`` (HAProxy on the router's WAN address, port 2200 + r1's last octet, in
  front of r1's sshd, closes idle connections with a FIN after 3 s), the LB diagnosed as its own inventory
  host: CRD-PATH-003, outcome ``fin`` after about 3 s;
* ``lab fault router pmtu-icmp --mtu 1200`` (a path MTU of 1200 both ways, the router's "fragmentation needed"
  dropped): Ansible cannot finish the key exchange, the host is unreachable, and the probe (a kex_hang, the
  controller's route to r1 via the router) gives CRD-PATH-004, cause ``mtu``;
* the router clean: no CRD-PATH-003 and no CRD-PATH-004.

Traffic goes only to the lab's addresses; every wait is bounded; the lab is always taken down.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.connreset.doctor.tests.utils.lab_env import diagnose_findings, lab, lab_down, missing

LAB_ID = 26
ROUTER_WAN = '10.213.%d.254' % (7 + LAB_ID)
LB_PORT_BASE = 2200
IDLE_S = 3
HOLD_S = 5
MISSING = missing(('ip', 'unshare', 'nsenter', 'ssh', 'nft', 'conntrack', 'haproxy'))

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root (network namespaces, bridge, mounts)'),
    pytest.mark.skipif(bool(MISSING), reason='missing: %s' % ' '.join(MISSING)),
]


@pytest.fixture(scope='module')
def routed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('path_idle')
    try:
        lab(LAB_ID, 'up', 'r1@routed', timeout=300)
        text = lab(LAB_ID, 'inventory')
        address = [line.split('ansible_host=')[1].split()[0] for line in text.splitlines() if line.startswith('r1 ')][0]
        lb_port = LB_PORT_BASE + int(address.rsplit('.', 1)[1])
        # the LB as a host of its own: Ansible and the probe reach r1's sshd through HAProxy
        text = text.replace('[lab]\n', '[lab]\nlb ansible_host=%s ansible_port=%d\n' % (ROUTER_WAN, lb_port), 1)
        inventory = workdir / 'inventory.ini'
        inventory.write_text(text)
        yield workdir, inventory
    finally:
        lab_down(LAB_ID)


def diagnose(workdir, inventory, phase, host):
    return diagnose_findings(inventory, workdir / phase, host, {'diagnose_probe_idle_hold_s': HOLD_S},
                             'path idle %s' % phase)[0]


def test_idle_phases(routed):
    workdir, inventory = routed
    lab(LAB_ID, 'fault', 'router', 'nat-idle', '--idle', str(IDLE_S))
    try:
        nat = diagnose(workdir, inventory, 'nat-idle', 'r1')
    finally:
        lab(LAB_ID, 'fault', 'router', 'nat-idle', '--undo')
    assert 'CRD-PATH-003' in nat, sorted(nat)
    finding = nat['CRD-PATH-003']
    evidence = finding['evidence']
    assert finding['cause'] == 'idle_timeout' and finding['severity'] == 'high', finding
    assert evidence['outcome'] == 'silent_drop', evidence
    assert HOLD_S <= evidence['measured_idle_close_s'] < HOLD_S + 1, evidence
    assert evidence['keepalive']['clientaliveinterval'] == 0, evidence

    lab(LAB_ID, 'fault', 'router', 'lb-idle', '--idle', str(IDLE_S))
    try:
        lb = diagnose(workdir, inventory, 'lb-idle', 'lb')
    finally:
        lab(LAB_ID, 'fault', 'router', 'lb-idle', '--undo')
    assert 'CRD-PATH-003' in lb, sorted(lb)
    evidence = lb['CRD-PATH-003']['evidence']
    assert evidence['outcome'] == 'fin', evidence
    assert IDLE_S - 0.5 <= evidence['measured_idle_close_s'] <= IDLE_S + 1.5, evidence
    assert lb['CRD-PATH-003']['severity'] == 'high'

    lab(LAB_ID, 'fault', 'router', 'pmtu-icmp', '--mtu', '1200')
    try:
        hole = diagnose(workdir, inventory, 'pmtu-icmp', 'r1')
    finally:
        lab(LAB_ID, 'fault', 'router', 'pmtu-icmp', '--undo')
    assert 'CRD-PATH-004' in hole, sorted(hole)
    finding = hole['CRD-PATH-004']
    assert finding['cause'] == 'mtu' and finding['evidence']['classification'] in ('kex_hang', 'session_hang'), finding
    assert finding['evidence']['route']['gateway'] == ROUTER_WAN, finding['evidence']

    clean = diagnose(workdir, inventory, 'clean', 'r1')
    assert 'CRD-PATH-003' not in clean and 'CRD-PATH-004' not in clean, sorted(clean)
