# -*- coding: utf-8 -*-
# Copyright: (c) 2026, connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify (testinfra over paramiko): the report names each lab host's injected fault, and the
diagnosis changed nothing on the hosts it could log in to."""

import json
import os

import pytest

LAB_DIR = os.environ.get('LAB_DIR') or '/run/connreset-lab'
with open(os.path.join(LAB_DIR, 'state.json')) as _f:
    STATE = json.load(_f)
REPORT = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'report')

# fault -> the finding cause the engine must name (docs/development.md, finding contract)
EXPECTED_CAUSE = {
    'sshd-down': 'sshd_down',
    'wrappers-deny': 'tcp_wrappers',
    'maxstartups': 'sshd_rate_limit',
    'banned': 'firewall',
    'conntrack-limit': 'conntrack',
    'pmtu-blackhole': 'mtu',
    'keepalive': 'idle_timeout',
    'oom': 'resource_exhaustion',
}
# faults after which root can still log in (the others make the host unreachable on purpose)
LOGIN_OK = ('keepalive', 'low-mtu')

REACHABLE = [h for h in STATE['hosts'].values() if all(f in LOGIN_OK for f in h['faults'])]
testinfra_hosts = ['paramiko://root@%s?ssh_identity_file=%s&timeout=10' % (h['address'], STATE['key'])
                   for h in REACHABLE]
BY_ADDRESS = dict((h['address'], h) for h in STATE['hosts'].values())

# What the lab itself put into each host's /etc (overlay upper layer); anything else there
# was written by someone else.
LAB_ETC = {'hostname', 'hosts', 'ssh', 'ssh/sshd_config.d', 'ssh/sshd_config.d/50-lab.conf'} | set(
    'ssh/ssh_host_%s_key%s' % (t, s) for t in ('ed25519', 'ecdsa', 'rsa') for s in ('', '.pub'))
FAULT_ETC = {'keepalive': {'ssh/sshd_config.d/00-lab-fault-keepalive.conf'},
             'maxstartups': {'ssh/sshd_config.d/00-lab-fault-maxstartups.conf'},
             'wrappers-deny': {'hosts.deny'}}


def host_doc(name):
    with open(os.path.join(REPORT, 'hosts', name + '.json')) as f:
        return json.load(f)


def causes(doc):
    return sorted(set(f.get('cause') for f in doc.get('findings') or []))


def test_fleet_report_covers_every_lab_host():
    with open(os.path.join(REPORT, 'report.json')) as f:
        report = json.load(f)
    assert report['summary']['hosts'] == len(STATE['hosts'])
    assert report['summary']['reachable'] == len(REACHABLE)
    assert sorted(h.get('host') for h in report['hosts']) == sorted(STATE['hosts'])
    for name in STATE['hosts']:
        assert os.path.isfile(os.path.join(REPORT, 'hosts', name + '.json')), name


@pytest.mark.parametrize('name', sorted(STATE['hosts']))
def test_report_names_the_injected_fault(name):
    faults = STATE['hosts'][name]['faults']
    found = causes(host_doc(name))
    for fault in faults:
        if fault in EXPECTED_CAUSE:
            assert EXPECTED_CAUSE[fault] in found, '%s (%s): findings name %s' % (name, fault, found)
    if not faults:
        injected = set(EXPECTED_CAUSE[f] for h in STATE['hosts'].values() for f in h['faults']
                       if f in EXPECTED_CAUSE and f != 'keepalive')  # Debian's defaults lack keepalives too
        assert injected.isdisjoint(found), 'clean host %s: %s' % (name, found)
        serious = [f for f in host_doc(name).get('findings') or []
                   if f.get('severity') in ('high', 'critical')]
        assert serious == [], 'clean host %s: %s' % (name, [(f['id'], f['title']) for f in serious])


def test_host_is_up_with_lab_sshd(host):
    lab_host = BY_ADDRESS[host.backend.hostname]
    assert host.check_output('hostname') == lab_host['name']
    assert host.file('/etc/ssh/sshd_config.d/50-lab.conf').contains('PermitRootLogin prohibit-password')
    listener = [p for p in host.process.filter(comm='sshd') if 'listener' in p.args]
    assert len(listener) == 1, host.process.filter(comm='sshd')
    assert host.file('/var/log/auth.log').contains('Accepted publickey for root from ')


def test_diagnosis_wrote_nothing_into_etc(host):
    lab_host = BY_ADDRESS[host.backend.hostname]
    upper = os.path.join(lab_host['dir'], 'etc.upper')
    written = set()
    for root, dirs, files in os.walk(upper):
        for n in dirs + files:
            written.add(os.path.relpath(os.path.join(root, n), upper))
    allowed = set(LAB_ETC)
    for fault in lab_host['faults']:
        allowed |= FAULT_ETC.get(fault, set())
    assert written - allowed == set(), 'written into %s /etc: %s' % (lab_host['name'], sorted(written - allowed))
