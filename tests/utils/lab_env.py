# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the system tests need to know about the lab (tests/lab/lab) on this machine (import as
ansible_collections.connreset.doctor.tests.utils.lab_env)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

# where tests/lab/lab caches the Debian roots of its systemd hosts (LAB_CACHE_DIR's default):
# bookworm in rootfs, the other suites in rootfs-<suite>
CACHE_DIR = '/var/cache/connreset-lab'
ROOTFS = os.path.join(CACHE_DIR, 'rootfs')
SUITES = ('bullseye', 'bookworm', 'trixie')


def rootfs(suite='bookworm'):
    return ROOTFS if suite == 'bookworm' else os.path.join(CACHE_DIR, 'rootfs-%s' % suite)


def systemd_unavailable(suites=('bookworm',)):
    """Why the lab cannot boot systemd hosts (of these suites) here, or None when it can."""
    if not shutil.which('systemd-nspawn'):
        return 'systemd-nspawn not installed (apt-get install systemd-container)'
    missing = [s for s in suites if not os.path.isfile(os.path.join(rootfs(s), 'usr/sbin/sshd'))]
    if missing and not shutil.which('debootstrap'):
        return 'no cached Debian root (%s) under %s and no debootstrap to build it' % (', '.join(missing), CACHE_DIR)
    if not os.path.isdir('/sys/fs/cgroup/systemd') and not os.path.exists('/sys/fs/cgroup/cgroup.controllers'):
        return 'no systemd cgroup hierarchy on this machine'
    return None


# ---------------------------------------------------------------------------------------------
# The routed-path system tests (test_path_attribution.py, test_path_idle.py): one lab of their own,
# the shipped diagnose playbook run against it, its per-host findings read back.
# ---------------------------------------------------------------------------------------------
LAB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'lab', 'lab')
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


def lab_env(lab_id):
    return dict(os.environ, LAB_ID=str(lab_id), LAB_DIR='/run/connreset-lab-%d' % lab_id)


def missing(binaries):
    """What of ``binaries`` (and sshd, ansible-playbook) this machine lacks."""
    return [b for b in binaries if not shutil.which(b)] + [p for p in ('/usr/sbin/sshd', PLAYBOOK)
                                                           if not os.path.exists(p)]


def lab(lab_id, *args, timeout=120):
    """``tests/lab/lab ARGS`` on lab ``lab_id``; its stdout; fails the test with the lab's message."""
    proc = subprocess.run([LAB] + list(args), capture_output=True, text=True, timeout=timeout, env=lab_env(lab_id),
                          check=False)
    assert proc.returncode == 0, 'lab %s: %s' % (' '.join(args), (proc.stderr or proc.stdout)[-2000:])
    return proc.stdout


def lab_down(lab_id):
    subprocess.run([LAB, 'down'], capture_output=True, timeout=300, env=lab_env(lab_id), check=False)


def diagnose_findings(inventory, report, host, extra, label):
    """One ``ansible-playbook connreset.doctor.diagnose`` (``--limit host``, ``extra`` as -e, the report in
    ``report``): ``(findings by id, the host's document)``; the wall time goes to stderr under ``label``."""
    started = time.monotonic()
    proc = subprocess.run([PLAYBOOK, '-i', str(inventory), '--limit', host, 'connreset.doctor.diagnose',
                           '-e', json.dumps(dict(extra, diagnose_report_dir=str(report)))],
                          capture_output=True, text=True, timeout=600, check=False,
                          env=dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='False'))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    with open(os.path.join(str(report), 'hosts', '%s.json' % host), encoding='utf-8') as handle:
        doc = json.load(handle)
    sys.stderr.write('%s: %.1f s\n' % (label, time.monotonic() - started))
    return dict((f['id'], f) for f in doc['findings']), doc
