# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the system tests need to know about the lab (tests/lab/lab) on this machine (import as
ansible_collections.connreset.doctor.tests.utils.lab_env)."""

from __future__ import annotations

import os
import shutil

# where tests/lab/lab caches the Debian root of its systemd hosts (LAB_CACHE_DIR's default)
ROOTFS = '/var/cache/connreset-lab/rootfs'


def systemd_unavailable():
    """Why the lab cannot boot systemd hosts here, or None when it can."""
    if not shutil.which('systemd-nspawn'):
        return 'systemd-nspawn not installed (apt-get install systemd-container)'
    if not os.path.isfile(os.path.join(ROOTFS, 'usr/sbin/sshd')) and not shutil.which('debootstrap'):
        return 'no cached Debian root under %s and no debootstrap to build it' % ROOTFS
    if not os.path.isdir('/sys/fs/cgroup/systemd') and not os.path.exists('/sys/fs/cgroup/cgroup.controllers'):
        return 'no systemd cgroup hierarchy on this machine'
    return None
