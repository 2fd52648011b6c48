# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the unit and system tests (import as
ansible_collections.connreset.doctor.tests.utils.ports)."""

from __future__ import annotations

import socket


def unused_loopback_port():
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released): connecting to it is
    refused with a TCP reset."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
