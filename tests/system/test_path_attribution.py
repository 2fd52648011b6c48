# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who sent the reset (issue 14): the shipped diagnose playbook with ``diagnose_capture: true`` on a host behind
the lab's router, its gunicorn app on :8000 named in ``diagnose_endpoints``.

One lab (tests/lab/lab, LAB_ID 21): a light host ``r1@routed`` with ``lab service r1 app``.  Three phases, each
one ``ansible-playbook connreset.doctor.diagnose`` while the host's reset_capture records the resets it sends
and receives during the controller's probes:

* clean router: no CRD-PATH finding, nothing above low;
* ``lab fault router path-reset --port 8000`` (an IPS in the path resets the app's flows; Ansible's SSH is
  untouched): CRD-PATH-001, cause ``path_reset``, the probe's 4-tuple in the evidence and no reset sent by
  the host for it;
* the router clean again and ``lab fault r1 reset-rule --port 8000`` (the host's own firewall resets them):
  the resets are the host's (CRD-PATH-002, the host sent them), never CRD-PATH-001.

Traffic goes only to the lab's addresses; every wait is bounded; the lab is always taken down.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.connreset.doctor.tests.utils.lab_env import diagnose_findings, lab, lab_down, missing

LAB_ID = 21
PORT = 8000
MISSING = missing(('ip', 'unshare', 'nsenter', 'ssh', 'nft', 'iptables', 'gunicorn'))
SERIOUS = ('medium', 'high', 'critical')

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root (network namespaces, bridge, mounts)'),
    pytest.mark.skipif(bool(MISSING), reason='missing: %s' % ' '.join(MISSING)),
]


@pytest.fixture(scope='module')
def routed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('attribution')
    try:
        lab(LAB_ID, 'up', 'r1@routed', timeout=300)
        lab(LAB_ID, 'service', 'r1', 'app', timeout=120)
        inventory = workdir / 'inventory.ini'
        inventory.write_text(lab(LAB_ID, 'inventory'))
        yield workdir, inventory
    finally:
        lab_down(LAB_ID)


def diagnose(workdir, inventory, phase):
    extra = {'diagnose_endpoints': [{'name': 'app', 'port': PORT, 'protocol': 'http'}], 'diagnose_capture': True,
             'diagnose_capture_duration_s': 8}
    findings, doc = diagnose_findings(inventory, workdir / phase, 'r1', extra, 'path attribution %s' % phase)
    assert doc['capture'] and doc['capture'].get('status') == 'ok', doc.get('capture')
    return findings


def test_attribution_phases(routed):
    workdir, inventory = routed
    clean = diagnose(workdir, inventory, 'clean')
    assert not [fid for fid in clean if fid.startswith('CRD-PATH-')], sorted(clean)
    assert not [fid for fid, f in clean.items() if f['severity'] in SERIOUS], sorted(clean)

    lab(LAB_ID, 'fault', 'router', 'path-reset', '--port', str(PORT))
    try:
        ips = diagnose(workdir, inventory, 'path-reset')
    finally:
        lab(LAB_ID, 'fault', 'router', 'path-reset', '--undo')
    assert 'CRD-PATH-001' in ips, sorted(ips)
    path = ips['CRD-PATH-001']
    assert path['cause'] == 'path_reset' and path['severity'] in ('high', 'critical'), path
    assert ':%d' % PORT in path['summary'] and 'not sent by this host' in path['summary'], path['summary']

    lab(LAB_ID, 'fault', 'r1', 'reset-rule', '--port', str(PORT))
    try:
        own = diagnose(workdir, inventory, 'reset-rule')
    finally:
        lab(LAB_ID, 'fault', 'r1', 'reset-rule', '--undo')
    assert 'CRD-PATH-001' not in own, own.get('CRD-PATH-001')
    host_sent = [f for f in own.values() if f['id'] == 'CRD-PATH-002' or
                 (f.get('evidence') or {}).get('attribution', {}).get('sent_by') == 'host']
    assert host_sent, sorted(own)
