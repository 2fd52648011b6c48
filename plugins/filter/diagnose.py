# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters exposing the risk engine: connreset.doctor.diagnose_host and
connreset.doctor.classify_unreachable, and the report's host file names:
connreset.doctor.report_host_file (documented in the .yml files next to this one)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine import (
    classify_unreachable as _classify_unreachable,
    diagnose_host as _diagnose_host,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._report import host_file_name as _host_file_name


def diagnose_host(data):
    """Per-host diagnosis document from {host, facts, probe, unreachable, thresholds, controller}."""
    if not isinstance(data, dict):
        raise AnsibleFilterError('connreset.doctor.diagnose_host expects a dictionary with the keys host, '
                                 'facts, probe, unreachable, thresholds, controller; got %s' % type(data).__name__)
    try:
        return _diagnose_host(data)
    except ValueError as exc:
        raise AnsibleFilterError('connreset.doctor.diagnose_host: %s' % exc) from exc


def classify_unreachable(msg):
    """Class of Ansible's UNREACHABLE message (refused, timeout, reset_banner, reset_mid_session,
    auth, dns, other)."""
    if isinstance(msg, dict):
        msg = msg.get('msg')
    if msg is not None and not isinstance(msg, str):
        raise AnsibleFilterError('connreset.doctor.classify_unreachable expects a string (the msg of an '
                                 'unreachable result) or a dict with msg; got %s' % type(msg).__name__)
    return _classify_unreachable(msg)


def report_host_file(host):
    """File name of a host's document in the report's hosts/ directory."""
    if not isinstance(host, str) or not host:
        raise AnsibleFilterError('connreset.doctor.report_host_file expects an inventory host name (a non-empty '
                                 'string); got %r' % (host,))
    return _host_file_name(host)


class FilterModule:
    """connreset.doctor risk-engine filters."""

    def filters(self):
        return {
            'diagnose_host': diagnose_host,
            'classify_unreachable': classify_unreachable,
            'report_host_file': report_host_file,
        }
