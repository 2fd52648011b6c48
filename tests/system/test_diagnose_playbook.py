# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped playbooks, run by ansible-playbook as a user would.

* which hosts connreset.doctor.diagnose targets: the controller (implicit localhost) without an
  inventory, the inventory's hosts (and not the controller) with one;
* a whole run without inventory, normally and with --check, from an empty working directory:
  connreset-report/ appears there with the same findings both times;
* connreset.doctor.report merging what is in the directory, and a gate failing the play.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.build')
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

pytestmark = [
    pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason='ansible-playbook not next to this Python'),
    pytest.mark.skipif(not os.path.isdir(os.path.join(COLLECTIONS, 'ansible_collections', 'connreset', 'doctor')),
                       reason='run tests/utils/setup.sh first (.build/ansible_collections/connreset/doctor)'),
]


def playbook(cwd, *args, timeout=300):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_INVENTORY=os.path.join(str(cwd), 'no-such-inventory'), ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    return subprocess.run([PLAYBOOK] + list(args), cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def listed_hosts(output):
    lines = output.splitlines()
    start = [i for i, line in enumerate(lines) if line.strip().startswith('hosts (')][0]
    return sorted(line.strip() for line in lines[start + 1:] if line.strip())


def test_without_inventory_targets_the_controller(tmp_path):
    proc = playbook(tmp_path, '--list-hosts', 'connreset.doctor.diagnose')
    assert proc.returncode == 0, proc.stderr
    assert listed_hosts(proc.stdout) == ['localhost']


def test_with_inventory_targets_its_hosts_only(tmp_path):
    (tmp_path / 'inv.ini').write_text('[web]\nweb1 ansible_host=192.0.2.10\nweb2 ansible_host=192.0.2.11\n'
                                      '[db]\ndb1 ansible_host=192.0.2.20\n')
    proc = playbook(tmp_path, '-i', 'inv.ini', '--list-hosts', 'connreset.doctor.diagnose')
    assert proc.returncode == 0, proc.stderr
    assert listed_hosts(proc.stdout) == ['db1', 'web1', 'web2']
    proc = playbook(tmp_path, '-i', 'inv.ini', '--list-hosts', 'connreset.doctor.diagnose', '-e', 'diagnose_hosts=web')
    assert listed_hosts(proc.stdout) == ['web1', 'web2']


def _findings(report):
    return [(h['host'], sorted(f['id'] for f in h['findings'])) for h in report['hosts']]


def test_whole_run_and_check_mode_write_the_same_report(tmp_path):
    proc = playbook(tmp_path, 'connreset.doctor.diagnose', '-e', 'diagnose_probe_attempts=1')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'connreset.doctor: 1 host(s), 1 reachable, 0 unreachable' in proc.stdout
    assert 'changed=0' in proc.stdout
    out = tmp_path / 'connreset-report'
    assert sorted(os.listdir(str(out))) == ['hosts', 'junit.xml', 'report.html', 'report.json', 'report.md']
    normal = json.loads((out / 'report.json').read_text())
    assert [h['host'] for h in normal['hosts']] == ['localhost']
    assert normal['hosts'][0]['facts']['connreset_meta']['gather_subset']

    for name in os.listdir(str(out)):
        if name != 'hosts':
            os.unlink(str(out / name))
    proc = playbook(tmp_path, '--check', 'connreset.doctor.diagnose')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    checked = json.loads((out / 'report.json').read_text())
    assert checked['generated_at'] >= normal['generated_at']
    assert _findings(checked) == _findings(normal)

    # merge again with the report playbook, gated on a query every host matches
    proc = playbook(tmp_path, 'connreset.doctor.report', '-e', 'diagnose_fail_query=hosts[].host')
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert 'fail_query hosts[].host matched: ["localhost"]' in proc.stdout
    assert json.loads((out / 'report.json').read_text())['summary']['hosts'] == 1
