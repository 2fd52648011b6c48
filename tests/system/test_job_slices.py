# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scale past one controller the way AWX / Automation Platform does it (docs/scaling.md).

AWX runs a sliced job template as one job per slice, each with its share of the inventory, through
ansible-runner (the library AWX's jobs run in); every slice writes ``hosts/<host>.json`` into the
shared ``diagnose_report_dir``, then ``playbooks/report.yml`` merges them once.  Here: real lab
hosts (tests/lab/lab, light hosts, one with a low MTU so the merge has a cross-host finding to
compute), one run over the whole inventory, and three slices (AWX slices round-robin: host i goes
to slice i mod 3) through ``ansible_runner.run``, then the merge.  The merged report must equal
the one-run report host for host: the same hosts, reachability, findings, levels and scores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

ansible_runner = pytest.importorskip('ansible_runner')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.build')
PLAYBOOKS = os.path.join(COLLECTIONS, 'ansible_collections', 'connreset', 'doctor', 'playbooks')
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab')
# LAB_ID 16 (bridge crlab16, 10.213.23.0/24): this module brings it up and always takes it down;
# traffic goes only to that bridge.  CONNRESET_SLICES_LAB_ID picks another free one.
_LAB_ID = os.environ.get('CONNRESET_SLICES_LAB_ID', '16')
LAB_ENV = dict(os.environ, LAB_ID=_LAB_ID, LAB_DIR='/run/connreset-lab-%s' % _LAB_ID)
HOSTS = ['s1', 's2', 's3', 's4', 's5']
SLICES = 3
LAB_NEEDS = [b for b in ('ip', 'unshare', 'nsenter', 'ssh', 'ssh-keygen') if not shutil.which(b)]

pytestmark = [
    pytest.mark.skipif(not os.path.isdir(PLAYBOOKS), reason='run tests/utils/setup.sh first (.build)'),
    pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root (network namespaces, bridge, mounts)'),
    pytest.mark.skipif(bool(LAB_NEEDS), reason='missing for the lab: %s' % ' '.join(LAB_NEEDS)),
]


def lab(*args, timeout=180):
    proc = subprocess.run([LAB] + list(args), capture_output=True, text=True, timeout=timeout, env=LAB_ENV,
                          check=False)
    assert proc.returncode == 0, 'lab %s: %s%s' % (' '.join(args), proc.stdout, proc.stderr)
    return proc.stdout


def split_inventory(text):
    """(host lines of [lab], the [lab:vars] block) of ``lab inventory``'s ini."""
    hosts, rest, section = [], [], None
    for line in text.splitlines():
        if line.startswith('['):
            section = line.strip()
        if section == '[lab]' and line.strip() and not line.startswith('['):
            hosts.append(line)
        elif section != '[lab]':
            rest.append(line)
    return hosts, '\n'.join(rest)


def run_playbook(private, playbook, inventory, extravars):
    """One job as AWX runs it: ansible_runner.run in its own private data dir (no container)."""
    envvars = {'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_RETRY_FILES_ENABLED': '0',
               'ANSIBLE_HOST_KEY_CHECKING': 'False', 'PATH': os.path.dirname(sys.executable) + os.pathsep
               + os.environ.get('PATH', '')}
    private.mkdir()
    runner = ansible_runner.run(private_data_dir=str(private), playbook=playbook, inventory=inventory,
                                extravars=extravars, envvars=envvars, quiet=True, timeout=600)
    stdout = runner.stdout.read() if runner.stdout else ''
    assert runner.status == 'successful' and runner.rc == 0, (runner.status, runner.rc, stdout[-3000:])
    return runner


@pytest.fixture(scope='module')
def lab_fleet():
    try:
        lab('up', *HOSTS)
        lab('fault', 's2', 'low-mtu')
        yield split_inventory(lab('inventory'))
    finally:
        subprocess.run([LAB, 'down'], env=LAB_ENV, capture_output=True, timeout=180, check=False)


def per_host(report):
    """What must agree host for host (not timings, not the collected values that change per run)."""
    out = {}
    for doc in report['hosts']:
        out[doc['host']] = {
            'reachable': doc['reachable'],
            'unreachable': (doc.get('unreachable') or {}).get('classification'),
            'findings': sorted((f['id'], f['severity']) for f in doc['findings']),
            'level': doc['level'],
            'score': doc['score'],
        }
    return out


def test_sliced_jobs_merge_to_the_one_run_report(lab_fleet, tmp_path):
    host_lines, lab_vars = lab_fleet
    diagnose = os.path.join(PLAYBOOKS, 'diagnose.yml')
    common = {'diagnose_summary': False, 'diagnose_formats': ['json']}

    # one run over the whole inventory
    whole = tmp_path / 'one-run'
    (tmp_path / 'whole.ini').write_text('[lab]\n%s\n%s\n' % ('\n'.join(host_lines), lab_vars))
    run_playbook(tmp_path / 'job-whole', diagnose, str(tmp_path / 'whole.ini'),
                 dict(common, diagnose_report_dir=str(whole)))

    # AWX job slicing: slice k gets hosts k, k+SLICES, ...; every slice writes into one shared dir
    shared = tmp_path / 'shared'
    for k in range(SLICES):
        inventory = tmp_path / ('slice%d.ini' % k)
        inventory.write_text('[lab]\n%s\n%s\n' % ('\n'.join(host_lines[k::SLICES]), lab_vars))
        run_playbook(tmp_path / ('job-slice%d' % k), diagnose, str(inventory),
                     dict(common, diagnose_report_dir=str(shared)))
    assert len(os.listdir(str(shared / 'hosts'))) == len(HOSTS)
    # then the merge, once (playbooks/report.yml, what the workflow's last node runs)
    run_playbook(tmp_path / 'job-report', os.path.join(PLAYBOOKS, 'report.yml'), None,
                 dict(common, diagnose_report_dir=str(shared)))

    one = json.loads((whole / 'report.json').read_text())
    merged = json.loads((shared / 'report.json').read_text())
    assert sorted(per_host(one)) == sorted(HOSTS)
    assert per_host(merged) == per_host(one)
    assert merged['summary']['hosts'] == one['summary']['hosts'] == len(HOSTS)
    for key in ('reachable', 'unreachable', 'by_level', 'by_cause'):
        assert merged['summary'][key] == one['summary'][key], key
    # the cross-host finding is computed by the merge, not by a slice: s2's MTU differs from the
    # subnet's, and the slice that diagnosed s2 did not see the other hosts
    s2 = [d for d in merged['hosts'] if d['host'] == 's2'][0]
    assert 'CRD-MTU-004' in [f['id'] for f in s2['findings']]
