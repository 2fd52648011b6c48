# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The remediate role's dead man's switch, on a real sshd (one lab host, tests/lab/lab).

A drop-in with ``AllowUsers nobody`` passes ``sshd -t`` but locks root out after the reload. The
role must: reload, fail the fresh connection, let the switch on the host roll the drop-in back and
reload sshd, reconnect, and fail the play with a message naming the rolled-back change. Afterwards
a fresh ssh as root works and the drop-in is as it was before (absent).

Beside it, on a Debian 13 systemd lab host (OpenSSH 10.0): every PerSourcePenaltyExemptList the
role's remediate_exempt_list filter produces for the unit tests' table is accepted by that sshd
(``sshd -t``) and printed back verbatim by ``sshd -T``, and every admin network the filter refuses
because sshd would is refused by sshd too.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time

import pytest

from ansible_collections.connreset.doctor.plugins.filter.remediate import remediate_exempt_list
from ansible_collections.connreset.doctor.tests.unit.plugins.filter.test_remediate import (
    MERGES, NEGATIONS, collected,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab')
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
LAB_ID = '6'  # own bridge/subnet/namespaces: coexists with other labs (molecule uses 0)
ENV = dict(os.environ, LAB_ID=LAB_ID, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build'),
           ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1')
DROPIN = '/etc/ssh/sshd_config.d/01-connreset-doctor.conf'
BACKUPS = '/var/log/connreset-doctor-backups'
ROLLBACK_S = 60  # a loaded 2-core machine needs ~3 s per task: arm to fresh ping can take > 30 s

ROLLBACK_SH = os.path.join(ROOT, 'roles', 'remediate', 'files', 'rollback.sh')
NEEDS_LAB = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root (network namespaces, mounts)'),
    pytest.mark.skipif(not os.path.exists('/usr/sbin/sshd'), reason='openssh-server (/usr/sbin/sshd) is not installed'),
    pytest.mark.skipif(not os.path.exists(os.path.join(VENV_BIN, 'ansible-playbook')),
                       reason='no .venv with ansible-core (run tests/utils/setup.sh)'),
    pytest.mark.skipif(shutil.which('ip') is None or shutil.which('unshare') is None, reason='iproute2/util-linux missing'),
]


def needs_lab(func):
    for mark in NEEDS_LAB:
        func = mark(func)
    return func


def _switch_run(tmp_path, confirm):
    """rollback.sh on files of its own: one changed file, one new file, no reload."""
    run, etc = tmp_path / 'run', tmp_path / 'etc'
    etc.mkdir()
    changed, new = etc / 'changed.conf', etc / 'new.conf'
    changed.write_text('new content\n')
    new.write_text('created by the run\n')
    backup = run / ('files' + str(changed))
    backup.parent.mkdir(parents=True)
    backup.write_text('old content\n')
    (run / 'manifest').write_text('# test\nfile %s\nabsent %s\n' % (changed, new))
    if confirm:
        (run / 'confirmed').write_text('')
    res = subprocess.run(['/bin/sh', ROLLBACK_SH, str(run), '1'], capture_output=True, text=True, timeout=30, check=False)
    return res, run, changed, new


def test_switch_restores_without_confirmation(tmp_path):
    res, run, changed, new = _switch_run(tmp_path, confirm=False)
    assert res.returncode == 0, res.stderr
    assert changed.read_text() == 'old content\n'
    assert not new.exists()
    log = (run / 'rollback.log').read_text()
    assert 'no confirmation after 1s: rolling back' in log
    assert 'sshd not reloaded (nothing to reload)' in log
    assert (run / 'rolled-back').read_text() == '0\n'


def test_switch_disarmed_by_confirmation(tmp_path):
    res, run, changed, new = _switch_run(tmp_path, confirm=True)
    assert res.returncode == 0, res.stderr
    assert changed.read_text() == 'new content\n'
    assert new.exists()
    assert 'disarmed' in (run / 'rollback.log').read_text()
    assert not (run / 'rolled-back').exists()


def lab(*args, timeout=90):
    return subprocess.run([LAB] + list(args), env=ENV, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope='module')
def lab_hosts(tmp_path_factory):
    """One lab for the module (``lab up`` replaces a running lab): lock1 (light, Debian 12) for the
    lockout, sshd10 (systemd, Debian 13, OpenSSH 10.0) for the exempt lists."""
    up = lab('up', 'lock1', 'sshd10:systemd@trixie', timeout=300)
    try:
        assert up.returncode == 0, up.stderr
        state = dict((h['name'], h) for h in json.loads(lab('status', '--json').stdout))
        inv = tmp_path_factory.mktemp('lock') / 'inventory.ini'
        res = lab('inventory', '-o', str(inv))
        assert res.returncode == 0, res.stderr
        key = '/run/connreset-lab-%s/id_ed25519' % LAB_ID
        yield dict((name, {'address': h['address'], 'inventory': str(inv), 'key': key, 'limit': name, 'state': h})
                   for name, h in state.items())
    finally:
        lab('down')


@pytest.fixture(scope='module')
def host(lab_hosts):
    return lab_hosts['lock1']


def fresh_ssh(host, *cmd):
    return subprocess.run(
        ['ssh', '-i', host['key'], '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
         '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'ConnectTimeout=5',
         'root@' + host['address']] + list(cmd), capture_output=True, text=True, timeout=30, check=False)


@needs_lab
def test_lockout_is_rolled_back(host, tmp_path):
    assert fresh_ssh(host, 'true').returncode == 0
    before = fresh_ssh(host, 'cat', DROPIN)
    assert before.returncode != 0  # no drop-in before the run
    playbook = tmp_path / 'lockout.yml'
    playbook.write_text(
        '- hosts: all\n  gather_facts: false\n  roles:\n    - role: connreset.doctor.remediate\n'
        '      remediate_extra_sshd_config: "AllowUsers nobody"\n'
        '      remediate_rollback_timeout: %d\n'
        # light lab hosts share the machine's /var: keep the backups in the host's own /var/log
        '      remediate_backup_dir: %s\n'
        # a finding without a fix: the run changes only what the extra config asks for, and does
        # not depend on the risk engine
        '      remediate_findings: [{id: CRD-SSHD-002, fix: null, title: "test"}]\n' % (ROLLBACK_S, BACKUPS))
    started = time.monotonic()
    run = subprocess.run([os.path.join(VENV_BIN, 'ansible-playbook'), '-i', host['inventory'], '-l', host['limit'],
                          str(playbook)],
                         env=ENV, capture_output=True, text=True, timeout=400, check=False, cwd=str(tmp_path))
    elapsed = time.monotonic() - started
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert 'ROLLED BACK ' + DROPIN + ' (remediate_extra_sshd_config) with an sshd reload' in out, out
    assert "The dead man's switch restored the previous files" in out, out
    assert 'removed ' + DROPIN in out, out  # from the rollback log quoted in the message
    # the switch waited for the confirmation, no less
    assert elapsed > ROLLBACK_S, elapsed
    # afterwards: a fresh connection as root works, the drop-in is gone as before
    assert fresh_ssh(host, 'true').returncode == 0
    assert fresh_ssh(host, 'test', '!', '-e', DROPIN).returncode == 0
    # sshd's effective configuration no longer restricts users
    effective = fresh_ssh(host, '/usr/sbin/sshd', '-T')
    assert effective.returncode == 0, effective.stderr
    assert 'allowusers nobody' not in effective.stdout.lower()
    # the run's backup directory holds the manifest and the rollback log
    logs = fresh_ssh(host, 'cat %s/*/manifest %s/*/rollback.log' % (BACKUPS, BACKUPS))
    assert 'absent ' + DROPIN in logs.stdout
    assert 'rolled back (status 0)' in logs.stdout


# Admin networks the filter refuses because sshd would (addr.c addr_pton_cidr -2, servconf.c
# end-of-line check); the filter also refuses wildcards, which sshd would take as patterns.
SSHD_REJECTS = ['10.0.0.1/8', '10.0.0.0/33', '2001:db8::1/32', '10.0.0.0/8,,192.0.2.0/24', '10.0.0.0/8 192.0.2.0/24']


@needs_lab
def test_exempt_lists_as_openssh_10_parses_them(lab_hosts):
    host = lab_hosts['sshd10']
    assert host['state']['suite'] == 'trixie' and int(host['state']['openssh'].split('.')[0]) >= 10, host['state']
    values = [remediate_exempt_list(collected(line), controller, admin)['value'] for line, controller, admin, _v, _a in MERGES]
    values += [remediate_exempt_list(current, '10.213.13.1')['value'] for current, _negated in NEGATIONS]
    values = sorted(set(v for v in values if v))
    assert len(values) >= 15
    for bad in SSHD_REJECTS:
        with pytest.raises(Exception, match='remediate_admin_networks entry'):
            remediate_exempt_list(None, '', [bad])
    script = []
    for i, value in enumerate(values + SSHD_REJECTS):
        conf = '/tmp/exempt-%d.conf' % i
        # the host's own configuration (host keys...) after the line under test, which is read first
        script.append('{ printf "PerSourcePenaltyExemptList %%s\\n" %s; cat /etc/ssh/sshd_config; } > %s; '
                      'echo "== %d"; /usr/sbin/sshd -t -f %s 2>&1; echo "rc $?"; '
                      '/usr/sbin/sshd -T -f %s 2>/dev/null | grep "^persourcepenaltyexemptlist "'
                      % (shlex.quote(value), conf, i, conf, conf))
    res = fresh_ssh(host, ' ; '.join(script))
    assert res.returncode in (0, 1), res.stderr
    blocks = dict((int(b.split('\n', 1)[0]), b.split('\n', 1)[1]) for b in res.stdout.split('== ')[1:])
    assert len(blocks) == len(values) + len(SSHD_REJECTS), res.stdout
    for i, value in enumerate(values):
        assert blocks[i].splitlines() == ['rc 0', 'persourcepenaltyexemptlist ' + value], (value, blocks[i])
    for i, bad in enumerate(SSHD_REJECTS, len(values)):
        lines = blocks[i].splitlines()
        assert lines[-1] != 'rc 0' and 'keyword PerSourcePenaltyExemptList' in blocks[i], (bad, blocks[i])
