# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped playbooks, run by ansible-playbook as a user would.

* which hosts connreset.doctor.diagnose targets: the controller (implicit localhost) without an
  inventory, the inventory's hosts (and not the controller) with one;
* a whole run without inventory, normally and with --check, from an empty working directory:
  connreset-report/ appears there with the same findings both times;
* connreset.doctor.report merging what is in the directory, and a gate failing the play;
* a real fleet of lab hosts with injected faults (sshd down, TCP wrappers deny, low MTU).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.connreset.doctor.tests.utils.ports import unused_loopback_port

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
    # the role's own report step (include_role tasks_from: report), over every document in the
    # directory rather than the hosts of its localhost play; the summary table has its CAUSE column
    assert 'host count not checked against a play: every document in hosts/ was merged' in proc.stdout
    assert re.search(r'HOST +LEVEL +SCORE +CAUSE +TOP FINDING', proc.stdout)


def test_unreachable_loopback_host_is_in_the_report(tmp_path):
    """One reachable host and one Ansible cannot reach (an address nobody listens on, on
    loopback): the play goes on, and the report lists both, the second with its classified error."""
    port = unused_loopback_port()
    (tmp_path / 'inv.ini').write_text(
        'here ansible_connection=local ansible_python_interpreter=%s\n'
        'gone ansible_host=127.0.0.1 ansible_port=%d ansible_connection=ssh ansible_user=nobody '
        'ansible_ssh_common_args="-o BatchMode=yes -o ConnectTimeout=5 -o ControlMaster=no -o ControlPath=none"\n'
        % (sys.executable, port))
    proc = playbook(tmp_path, '-i', 'inv.ini', 'connreset.doctor.diagnose')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'connreset.doctor: 2 host(s), 1 reachable, 1 unreachable' in proc.stdout
    report = json.loads((tmp_path / 'connreset-report' / 'report.json').read_text())
    hosts = {h['host']: h for h in report['hosts']}
    assert sorted(hosts) == ['gone', 'here']
    gone = hosts['gone']
    assert gone['reachable'] is False and gone['unreachable']['classification'] == 'refused'
    assert 'Connection refused' in gone['unreachable']['msg']
    assert gone['probe']['port'] == port and gone['probe']['summary']['classification'] == 'refused'
    assert [f['id'] for f in gone['findings']] == ['CRD-REACH-001'] and gone['level'] == 'critical'
    assert hosts['here']['reachable'] is True and hosts['here']['facts']['connreset_meta']
    # the connection error a person needs is on the console, uncensored (a warning: the one per-host
    # task collects inside fleet_report and does not fail for an unreachable host)
    console = proc.stdout + proc.stderr
    shown = [line for line in console.splitlines() if 'gone is unreachable (diagnosed, see the report)' in line]
    assert shown and 'Connection refused' in shown[0] and 'censored' not in shown[0], console[-3000:]


def test_only_host_on_a_loopback_port_nobody_listens_on_is_in_the_report(tmp_path):
    """Issue 12: the play's only host is on a loopback port nobody listens on. Every host of the
    play is unreachable, and still the report is written and lists it, classified."""
    port = unused_loopback_port()
    (tmp_path / 'inv.ini').write_text(
        'gone ansible_host=127.0.0.1 ansible_port=%d ansible_connection=ssh ansible_user=nobody '
        'ansible_ssh_common_args="-o BatchMode=yes -o ConnectTimeout=5 -o ControlMaster=no -o ControlPath=none"\n'
        % port)
    proc = playbook(tmp_path, '-i', 'inv.ini', 'connreset.doctor.diagnose')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / 'connreset-report' / 'report.json').read_text())
    assert [h['host'] for h in report['hosts']] == ['gone']
    gone = report['hosts'][0]
    assert gone['reachable'] is False and gone['unreachable']['classification'] == 'refused'
    assert gone['probe']['port'] == port and gone['probe']['summary']['classification'] == 'refused'
    assert report['summary']['hosts'] == 1 and report['summary']['unreachable'] == 1


def test_reached_host_without_python_is_a_failed_collection_not_unreachable(tmp_path):
    """Issue 12: a host Ansible reached (local connection) but could not run Python on (the
    interpreter does not exist) is reachable, with the collection's failure in every area, not
    CRD-REACH-007 "could not connect"."""
    (tmp_path / 'inv.ini').write_text(
        'nopython ansible_connection=local ansible_host=127.0.0.1 '
        'ansible_python_interpreter=/nonexistent/bin/python3\n')
    proc = playbook(tmp_path, '-i', 'inv.ini', 'connreset.doctor.diagnose')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / 'connreset-report' / 'report.json').read_text())
    host = report['hosts'][0]
    assert host['host'] == 'nopython' and host['reachable'] is True and host['unreachable'] is None
    ids = [f['id'] for f in host['findings']]
    assert ids and not any(i.startswith('CRD-REACH') for i in ids), ids
    assert 'fact collection failed' in json.dumps(host['findings'])
    assert '/nonexistent/bin/python3' in json.dumps(host['findings'])


# --- hostile names, nothing checked, secrets, modes (issue 16) -------------------------------------
def _local_inventory(tmp_path, names, **extra):
    """A YAML inventory of hosts with the given names, all this machine (local connection; the
    address they would be probed at is 127.0.0.1)."""
    lines = ['all:', '  hosts:']
    for name in names:
        lines.append('    %s:' % json.dumps(name))
        lines.append('      ansible_connection: local')
        lines.append('      ansible_host: 127.0.0.1')
        lines.append('      ansible_python_interpreter: %s' % json.dumps(sys.executable))
        for key, value in extra.items():
            lines.append('      %s: %s' % (key, json.dumps(value)))
    (tmp_path / 'inv.yml').write_text('\n'.join(lines) + '\n')
    return 'inv.yml'


def test_every_inventory_host_gets_a_document_whatever_its_name(tmp_path):
    """db/1, db_1 and db 1 once shared hosts/db_1.json, and .hidden became a file the report
    skipped: the report showed one host. Now: four documents, four hosts, the exact names."""
    names = ['db/1', 'db_1', 'db 1', '.hidden']
    inventory = _local_inventory(tmp_path, names)
    proc = playbook(tmp_path, '-i', inventory, 'connreset.doctor.diagnose', '-e', 'diagnose_probe=false',
                    '-e', '{"diagnose_gather_subset": ["tcp"]}')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / 'connreset-report'
    files = sorted(os.listdir(str(out / 'hosts')))
    assert len(files) == 4 and not any(f.startswith('.') for f in files), files
    stored = sorted(json.loads((out / 'hosts' / f).read_text())['host'] for f in files)
    assert stored == sorted(names)
    report = json.loads((out / 'report.json').read_text())
    assert sorted(h['host'] for h in report['hosts']) == sorted(names)
    assert report['summary']['hosts'] == report['summary']['expected_hosts'] == 4
    assert 'connreset.doctor: 4 host(s), 4 reachable' in proc.stdout
    junit = ET.parse(str(out / 'junit.xml')).getroot()
    assert sorted(c.get('name') for c in junit.iter('testcase')) == sorted(names)
    # the report playbook (every file in hosts/) finds the same four, and says it cannot check the count
    proc = playbook(tmp_path, 'connreset.doctor.report')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'connreset.doctor: 4 host(s)' in proc.stdout
    assert 'host count not checked against a play' in proc.stdout


def test_nothing_checked_never_passes(tmp_path):
    """gather_subset ['!all'] runs no collector: reset_facts refuses it (a bad option: the host
    fails with the module's message, shown uncensored); a report, where one is
    written, never calls the host healthy (CRD-COV-NONE: unit tests of the engine and the gates)."""
    inventory = _local_inventory(tmp_path, ['here'])
    proc = playbook(tmp_path, '-i', inventory, 'connreset.doctor.diagnose', '-e', 'diagnose_probe=false',
                    '-e', '{"diagnose_gather_subset": ["!all"]}', '-e', 'diagnose_fail_on=high')
    assert proc.returncode != 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    failed = [line for line in proc.stdout.splitlines() if re.match(r'fatal: \[here( -> localhost)?\]: FAILED!', line)]
    assert failed and 'gather_subset' in failed[0] and 'censored' not in failed[0], proc.stdout[-3000:]
    report = tmp_path / 'connreset-report' / 'report.json'
    if report.exists():
        assert json.loads(report.read_text())['hosts'][0]['level'] != 'ok'


def test_raw_facts_stay_out_of_the_verbose_output(tmp_path):
    inventory = _local_inventory(tmp_path, ['here'])
    proc = playbook(tmp_path, '-i', inventory, 'connreset.doctor.diagnose', '-v', '-e', 'diagnose_probe=false',
                    '-e', '{"diagnose_gather_subset": ["sshd", "tcp"]}')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'collectors: sshd ' in proc.stdout and ', tcp ' in proc.stdout
    # the facts are in the report, not in the console
    report = json.loads((tmp_path / 'connreset-report' / 'report.json').read_text())
    assert 'connreset_sshd' in report['hosts'][0]['facts']
    assert '"connreset_sshd"' not in proc.stdout and "'connreset_sshd'" not in proc.stdout
    # kept out by the action plugin, not by no_log (which censors the connection's own errors)
    assert 'censored' not in proc.stdout


def test_a_bad_collector_option_fails_the_host_with_its_message(tmp_path):
    inventory = _local_inventory(tmp_path, ['here'])
    proc = playbook(tmp_path, '-i', inventory, 'connreset.doctor.diagnose', '-e', 'diagnose_probe=false',
                    '-e', '{"diagnose_collector_options": {"sshd": {"no_such_option": 1}}}')
    assert proc.returncode != 0
    assert 'connreset.doctor.reset_facts: sshd:' in proc.stdout and 'no_such_option' in proc.stdout, proc.stdout[-3000:]


def test_report_files_follow_the_umask(tmp_path):
    inventory = _local_inventory(tmp_path, ['here'])
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0')
    proc = subprocess.run(['/bin/sh', '-c', 'umask 077 && exec "$0" "$@"', PLAYBOOK, '-i', inventory,
                           'connreset.doctor.diagnose', '-e', 'diagnose_probe=false',
                           '-e', '{"diagnose_gather_subset": ["tcp"]}'],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / 'connreset-report'
    written = [out / 'hosts' / 'here.json'] + [out / n for n in ('report.json', 'report.md', 'report.html', 'junit.xml')]
    for path in written:
        assert oct(path.stat().st_mode & 0o777) == '0o600', path
    assert oct(out.stat().st_mode & 0o777) == '0o700'


def test_serial_batches_pass_the_gate_of_each_batch(tmp_path):
    """With serial, the hosts of later batches have no document when an earlier batch merges its
    report: they are not diagnosed yet, not hosts without a diagnosis, so no batch fails the gate
    for them; the last batch's report holds every host."""
    inventory = _local_inventory(tmp_path, ['one', 'two'])
    (tmp_path / 'serial.yml').write_text(
        '- name: Diagnose one host at a time\n  hosts: all\n  serial: 1\n  gather_facts: false\n  tasks:\n'
        '    - name: Run the diagnose role\n      ansible.builtin.import_role:\n        name: connreset.doctor.diagnose\n')
    proc = playbook(tmp_path, '-i', inventory, 'serial.yml', '-e', 'diagnose_probe=false',
                    '-e', '{"diagnose_gather_subset": ["tcp"]}', '-e', 'diagnose_fail_on=critical')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '1 host(s) of later serial batches not diagnosed yet' in proc.stdout
    report = json.loads((tmp_path / 'connreset-report' / 'report.json').read_text())
    assert sorted(h['host'] for h in report['hosts']) == ['one', 'two']
    assert report['summary']['expected_hosts'] == 2 and 'errors' not in report['summary']


@pytest.mark.parametrize('extra, message', [
    ('{"diagnose_redact": ["emails"]}', 'diagnose_redact'),
    ('{"diagnose_formats": ["pdf"]}', 'diagnose_formats'),
    ('{"diagnose_fail_on": "severe"}', 'diagnose_fail_on'),
    ('{"diagnose_report_mode": 640}', 'unquoted 640 is the decimal number 640'),
    ('{"diagnose_probe": true, "diagnose_probe_attempts": 0}', 'connreset.doctor.ssh_probe: attempts must be between 1'),
    ('{"diagnose_probe": true, "diagnose_probe_port": 70000}', 'connreset.doctor.ssh_probe: port must be between 1'),
])
def test_bad_role_variables_are_refused_clearly(tmp_path, extra, message):
    inventory = _local_inventory(tmp_path, ['here'])
    proc = playbook(tmp_path, '-i', inventory, 'connreset.doctor.diagnose', '-e', 'diagnose_probe=false',
                    '-e', '{"diagnose_gather_subset": ["tcp"]}', '-e', extra)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr, proc.stdout[-3000:]
    assert not (tmp_path / 'connreset-report' / 'report.json').exists()


def test_probe_without_paramiko_is_a_finding_not_a_failure(tmp_path):
    """A bad probe option fails the host (above); paramiko missing on the controller does not: the
    host gets CRD-COV-PROBE. A package named paramiko that fails to import stands in for it."""
    shadow = tmp_path / 'no-paramiko' / 'paramiko'
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text('raise ImportError("paramiko is not installed (test)")\n')
    inventory = _local_inventory(tmp_path, ['here'])
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
               PYTHONPATH=os.pathsep.join([str(shadow.parent)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    proc = subprocess.run([PLAYBOOK, '-i', inventory, 'connreset.doctor.diagnose', '-e', '{"diagnose_gather_subset": ["tcp"]}'],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / 'connreset-report' / 'report.json').read_text())
    assert 'CRD-COV-PROBE' in [f['id'] for f in report['hosts'][0]['findings']]


def test_missing_prometheus_directory_stops_before_any_host(tmp_path):
    inventory = _local_inventory(tmp_path, ['here'])
    proc = playbook(tmp_path, '-i', inventory, 'connreset.doctor.diagnose', '-e', 'diagnose_probe=false',
                    '-e', 'diagnose_prometheus_file=%s' % (tmp_path / 'no' / 'textfile' / 'c.prom'))
    assert proc.returncode != 0
    assert 'does not exist on the controller; create it' in proc.stdout, proc.stdout[-3000:]
    assert not (tmp_path / 'no').exists() and not (tmp_path / 'connreset-report').exists()


# --- a real fleet: lab hosts (tests/lab/lab) with injected faults --------------------------------
# LAB_ID=6: its own bridge crlab6, subnet 10.213.13.0/24 and lab dir; this module brings it up and
# always takes it down. Traffic goes only to that bridge.
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab')
# CONNRESET_TEST_LAB_ID: another free lab id, when lab 6 is taken by someone else's run.
_LAB_ID = os.environ.get('CONNRESET_TEST_LAB_ID', '6')
LAB_ENV = dict(os.environ, LAB_ID=_LAB_ID, LAB_DIR='/run/connreset-lab-%s' % _LAB_ID)
LAB_NEEDS = [b for b in ('ip', 'unshare', 'nsenter', 'ssh', 'ssh-keygen', 'nft', 'iptables') if not shutil.which(b)]
LAB_NEEDS += [p for p in ('/usr/sbin/sshd',) if not os.path.exists(p)]


def lab(*args, timeout=120):
    proc = subprocess.run([LAB] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=LAB_ENV, check=False)
    assert proc.returncode == 0, 'lab %s: %s%s' % (' '.join(args), proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip('the lab needs root (network namespaces, bridge, mounts)')
    if LAB_NEEDS:
        pytest.skip('missing for the lab: %s' % ' '.join(LAB_NEEDS))
    directory = tmp_path_factory.mktemp('fleet')
    try:
        lab('up', 'ok1', 'down1', 'wrap1', 'mtu1')
        lab('fault', 'down1', 'sshd-down')
        lab('fault', 'wrap1', 'wrappers-deny')
        lab('fault', 'mtu1', 'low-mtu')
        (directory / 'inv.ini').write_text(lab('inventory'))
        yield directory
    finally:
        subprocess.run([LAB, 'down'], env=LAB_ENV, capture_output=True, timeout=120, check=False)


def test_fleet_with_faults(fleet):
    proc = playbook(fleet, '-i', 'inv.ini', 'connreset.doctor.diagnose', '-e', 'diagnose_fail_on=critical',
                    '-e', 'diagnose_formats=json,junit,prom')
    # the gate: the two hosts Ansible could not reach are critical
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    gate = [line for line in proc.stdout.splitlines() if 'fail_on=critical matched' in line]
    assert gate and 'down1: critical CRD-REACH-001' in gate[0] and 'wrap1: critical CRD-REACH-003' in gate[0]
    report = json.loads((fleet / 'connreset-report' / 'report.json').read_text())
    hosts = {h['host']: h for h in report['hosts']}
    assert sorted(hosts) == ['down1', 'mtu1', 'ok1', 'wrap1']
    assert report['summary']['unreachable'] == 2
    assert hosts['down1']['unreachable']['classification'] == 'refused'
    assert hosts['down1']['probe']['summary']['classification'] == 'refused'
    assert hosts['wrap1']['unreachable']['classification'] == 'reset_banner'
    assert hosts['wrap1']['probe']['summary']['classification'].startswith('reset_at_banner')
    assert hosts['ok1']['reachable'] and hosts['ok1']['probe']['summary']['classification'] == 'ok'
    assert hosts['ok1']['facts']['connreset_sshd']['running'] is True
    # the cross-host check: mtu1's interface differs from ok1's on the lab subnet
    assert 'CRD-MTU-004' in [f['id'] for f in hosts['mtu1']['findings']]
    # unreachable hosts are JUnit errors with their classification
    junit = ET.parse(str(fleet / 'connreset-report' / 'junit.xml')).getroot()
    errors = {c.get('name'): c.find('error').get('type') for c in junit.iter('testcase') if c.find('error') is not None}
    assert errors == {'down1': 'refused', 'wrap1': 'reset_banner'}
    prom = (fleet / 'connreset-report' / 'report.prom').read_text()
    assert 'connreset_host_reachable{host="down1"} 0' in prom
