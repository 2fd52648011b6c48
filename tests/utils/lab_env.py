# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the system tests need to know about the lab (tests/lab/lab) on this machine (import as
ansible_collections.connreset.doctor.tests.utils.lab_env)."""

from __future__ import annotations

import os
import shutil

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
