# -*- coding: utf-8 -*-
# Copyright: (c) 2026, connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify the remediate scenario (testinfra over paramiko, on the lab hosts themselves):
the files and running values the fixes set, on the Debian 13 host (OpenSSH 10.0) the exempt list
before and after, sshd -t/-T and a fresh login after failed ones, a second diagnosis without the
fixed findings and nothing new, and a --check run that reports changes and makes none."""

import json
import os
import subprocess

import testinfra
import yaml

LAB_DIR = os.environ.get('LAB_DIR') or '/run/connreset-lab-4'
with open(os.path.join(LAB_DIR, 'state.json')) as _f:
    STATE = json.load(_f)
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(SCENARIO, 'vars', 'lab-matrix.yml')) as _f:
    MATRIX = yaml.safe_load(_f)
EPHEMERAL = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
PROJECT = os.environ.get('MOLECULE_PROJECT_DIRECTORY') or os.getcwd()
INVENTORY = os.path.join(EPHEMERAL, 'inventory')
PLAYBOOK_BIN = os.path.join(PROJECT, '.venv', 'bin', 'ansible-playbook')
DROPIN = '/etc/ssh/sshd_config.d/00-connreset-doctor.conf'  # converge.yml says why
SYSCTL = '/etc/sysctl.d/60-connreset-doctor.conf'
BACKUPS = '/var/log/connreset-doctor-backups'  # converge.yml says why
# Every converged host had CRD-IDLE-001 (Debian's sshd has no ClientAliveInterval and the kernel
# waits 7200 s; the path's idle timeout is 350 s): keepidle also has the lab's keepalive fault.
# lowmtu's CRD-MTU-003 (interface MTU below 1500) has no fix and must stay. penalty (OpenSSH 10.0,
# PerSourcePenalties on by default) had CRD-SSHD-007 (its exempt list misses the controller) and
# only gets sshd_penalty_exempt (read-only /proc/sys: converge.yml), so its CRD-IDLE-001 stays.
FIXED = {'keepidle': {'CRD-IDLE-001'}, 'lowmtu': {'CRD-IDLE-001'}, 'clean': {'CRD-IDLE-001'},
         'penalty': {'CRD-SSHD-007'}}
KEPT = {'lowmtu': {'CRD-MTU-003'}, 'penalty': {'CRD-IDLE-001'}}
PENALTY = 'penalty'
EXEMPT_BEFORE = MATRIX['penalty_exempt_before']  # converge.yml writes it into sshd_config


def _uri(h):
    return 'paramiko://root@%s?ssh_identity_file=%s&timeout=10' % (h['address'], STATE['key'])


testinfra_hosts = [_uri(h) for h in STATE['hosts'].values() if h['name'] not in ('checkonly', PENALTY)]
PENALTY_URI = _uri(STATE['hosts'][PENALTY])  # its own tests: testinfra_hosts is module-wide
BY_ADDRESS = dict((h['address'], h) for h in STATE['hosts'].values())


def name_of(host):
    return BY_ADDRESS[host.backend.hostname]['name']


def playbook(*args, timeout=600):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, '.build'), ANSIBLE_HOST_KEY_CHECKING='False',
               ANSIBLE_NOCOLOR='1')
    return subprocess.run([PLAYBOOK_BIN, '-i', INVENTORY] + list(args), env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=EPHEMERAL)


def test_keepalive_fixed(host):
    name = name_of(host)
    dropin = host.file(DROPIN)
    assert dropin.exists and dropin.mode == 0o644
    assert 'ClientAliveInterval 175' in dropin.content_string
    assert host.sysctl('net.ipv4.tcp_keepalive_time') == 175
    assert host.sysctl('net.ipv4.tcp_keepalive_intvl') == 35
    assert host.sysctl('net.ipv4.tcp_keepalive_probes') == 5
    assert 'net.ipv4.tcp_keepalive_time = 175' in host.file(SYSCTL).content_string
    # sshd uses the fix's value (the first it reads), also over the fault's own drop-in
    # (00-lab-fault-keepalive.conf, ClientAliveInterval 0), which is left alone
    if name == 'keepidle':
        assert host.file('/etc/ssh/sshd_config.d/00-lab-fault-keepalive.conf').exists
    assert 'clientaliveinterval 175' in host.check_output('/usr/sbin/sshd -T').splitlines()
    # one backup run directory, with the manifest the dead man's switch would have used
    assert 'absent ' + DROPIN in host.check_output('cat %s/*/manifest' % BACKUPS)
    assert 'confirmed after' in host.check_output('cat %s/*/rollback.log' % BACKUPS)


def _report(which, name):
    with open(os.path.join(EPHEMERAL, which, 'hosts', name + '.json')) as f:
        return json.load(f)


def _ssh(address, key, command, timeout=30):
    argv = ['ssh', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o',
            'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none',
            '-o', 'ConnectTimeout=10', 'root@' + address, command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def test_exempt_list_kept_and_controller_added():
    host = testinfra.get_host(PENALTY_URI)
    lab = STATE['hosts'][PENALTY]
    assert lab['suite'] == 'trixie' and int(lab['openssh'].split('.')[0]) >= 10, lab  # a real >= 9.8 sshd
    # before: the collector read the site's list (sshd -T prints it verbatim, servconf.c dump_cfg_string)
    values = _report('report-before', PENALTY)['facts']['connreset_sshd']['config']['values']
    assert values['persourcepenaltyexemptlist'] == EXEMPT_BEFORE.split(',')
    assert 'CRD-SSHD-007' in set(x['id'] for x in _report('report-before', PENALTY)['findings'])
    # after: every entry kept, in order (the wildcard and the negation too), then the controller
    after = EXEMPT_BEFORE + ',' + STATE['controller'] + '/32'
    assert 'PerSourcePenaltyExemptList ' + after in host.file(DROPIN).content_string.splitlines()
    assert 'PerSourcePenaltyExemptList ' + EXEMPT_BEFORE in host.file('/etc/ssh/sshd_config').content_string.splitlines()
    check = host.run('/usr/sbin/sshd -t')
    assert check.rc == 0, check.stderr
    assert 'persourcepenaltyexemptlist ' + after in host.check_output('/usr/sbin/sshd -T').splitlines()
    # one change only: the idempotence and check runs made no second backup run directory
    runs = host.check_output('ls -1 %s' % BACKUPS).split()
    assert len(runs) == 1, runs
    manifest = host.file('%s/%s/manifest' % (BACKUPS, runs[0])).content_string
    assert 'fixes sshd_penalty_exempt' in manifest and 'absent ' + DROPIN in manifest
    assert 'reload systemd ssh.service' in manifest  # trixie's unit is ssh.service, as bookworm's
    assert 'confirmed after' in host.file('%s/%s/rollback.log' % (BACKUPS, runs[0])).content_string


def test_second_diagnosis_has_no_fixed_findings_and_nothing_new():
    after = os.path.join(EPHEMERAL, 'report-after')
    run = playbook(os.path.join(PROJECT, 'playbooks', 'diagnose.yml'), '-l', 'all:!checkonly',
                   '-e', json.dumps({'diagnose_report_dir': after, 'diagnose_thresholds': {'path_idle_timeout': 350}}))
    assert run.returncode == 0, run.stdout + run.stderr
    for name, fixed in FIXED.items():
        before = set(x['id'] for x in _report('report-before', name)['findings'])
        now = set(x['id'] for x in _report('report-after', name)['findings'])
        assert fixed <= before, (name, before)
        assert not (fixed & now), (name, now)
        assert now <= before, (name, 'new findings', now - before)
        assert KEPT.get(name, set()) <= now, (name, now)


CHECK_PATHS = (DROPIN, SYSCTL, '/etc/hosts.allow', BACKUPS)


def checkonly_state():
    host = STATE['hosts']['checkonly']
    argv = ['ssh', '-i', STATE['key'], '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
            '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', 'root@' + host['address'],
            'sha256sum %s 2>&1; sysctl -n net.ipv4.tcp_keepalive_time; /usr/sbin/sshd -T | grep -i clientalive'
            % ' '.join(CHECK_PATHS)]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode in (0, 1), res.stderr
    return res.stdout


def test_check_mode_reports_and_changes_nothing():
    before = checkonly_state()
    run = playbook(os.path.join(PROJECT, 'playbooks', 'remediate.yml'), '-l', 'checkonly', '--check', '--diff',
                   '-e', json.dumps({'remediate_fixes': ['keepalive'], 'remediate_path_idle_timeout': 350,
                                     'remediate_sshd_dropin': DROPIN, 'remediate_backup_dir': BACKUPS}))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert '+ClientAliveInterval 175' in out  # the diff it would apply
    assert '+net.ipv4.tcp_keepalive_time = 175' in out
    assert 'fixing CRD-IDLE-001 with keepalive' in out
    assert checkonly_state() == before
    assert '7200' in before


def test_controller_exempt_after_failed_logins(tmp_path):
    """Last (its failed logins are not for the second diagnosis): OpenSSH 10.0's defaults
    (persourcepenalties authfail:5 min:15) refuse an address after 3-4 failed logins - measured on
    this host without the exemption: the next login read "kex_exchange_identification: read:
    Connection reset by peer". Exempt, the controller still gets in."""
    lab = STATE['hosts'][PENALTY]
    wrong = str(tmp_path / 'not_authorized')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', wrong], check=True, timeout=30)
    for _attempt in range(5):
        res = _ssh(lab['address'], wrong, 'true')
        assert res.returncode == 255 and 'Permission denied' in res.stderr, res.stderr
    res = _ssh(lab['address'], STATE['key'], 'echo fresh-login')
    assert res.returncode == 0 and res.stdout.strip() == 'fresh-login', res.stderr
    log = _ssh(lab['address'], STATE['key'], 'journalctl -q -u ssh.service --no-pager -o cat | grep -ci penalt || true')
    assert log.returncode == 0 and log.stdout.strip() == '0', log.stdout
