# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area idle (_idle.py): keepalives against the path idle timeout (CRD-IDLE-001) and the conntrack
established timeout with an invalid-drop rule (CRD-CT-004)."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import (
    INVALID_DROP, case, run,
)
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import with_rules


@pytest.mark.parametrize('patch, thresholds, found', [
    ({}, {'path_idle_timeout': 350}, True),
    ({}, {}, False),  # no path idle timeout declared: not checked
    ({'connreset_tcp.sysctls.tcp_keepalive_time': 120}, {'path_idle_timeout': 350}, False),
    ({'connreset_tcp.sysctls.tcp_keepalive_time': 120, 'connreset_sshd.config.values.tcpkeepalive': False},
     {'path_idle_timeout': 350}, True),
    ({'connreset_sshd.config.values.clientaliveinterval': 300}, {'path_idle_preset': 'azure-lb'}, True),
    ({'connreset_sshd.config.values.clientaliveinterval': 300}, {'path_idle_preset': 'aws-nlb'}, False),
    ({'connreset_sshd.config.values.clientaliveinterval': 900}, {'path_idle_preset': 'gcp-nat'}, False),
    ({'connreset_sshd.config.values.clientaliveinterval': 900},
     {'path_idle_preset': 'gcp-nat', 'path_idle_timeout': 600}, True),
])
def test_idle_timeout(patch, thresholds, found):
    ids, _result = run(case(patch, thresholds=thresholds))
    assert ('CRD-IDLE-001' in ids) is found


def test_idle_timeout_unknown_values_are_coverage():
    ids, _result = run(case({'connreset_sshd.config.values.clientaliveinterval': None,
                             'connreset_tcp.sysctls.tcp_keepalive_time': None},
                            thresholds={'path_idle_timeout': 350}))
    assert 'CRD-IDLE-001' not in ids and 'CRD-COV-SSHD' in ids


@pytest.mark.parametrize('tcpkeepalive, found', [(True, False), (False, True), (None, False)])
def test_tcpkeepalive_forms(tcpkeepalive, found):
    ids, _result = run(case({'connreset_sshd.config.values.tcpkeepalive': tcpkeepalive,
                             'connreset_tcp.sysctls.tcp_keepalive_time': 120},
                            thresholds={'path_idle_timeout': 350}))
    assert ('CRD-IDLE-001' in ids) is found


KA = 'connreset_tcp.sysctls.tcp_keepalive_time'
EST = 'connreset_conntrack.timeouts.established'


@pytest.mark.parametrize('patch, found', [
    ({EST: 300}, True),                                   # Debian defaults: first keepalive after 2 h
    ({EST: 432000, 'connreset_sshd.config.values.tcpkeepalive': False}, True),  # no keepalive at all
    ({EST: 432000}, False),
    ({EST: 300, KA: 120}, False),
    ({EST: 300, KA: 120, 'connreset_sshd.config.values.tcpkeepalive': False}, True),
    ({EST: 300, 'connreset_sshd.config.values.clientaliveinterval': 240}, False),
    ({EST: None}, False),
])
def test_conntrack_established_timeout(patch, found):
    ids, _result = run(case(dict(with_rules(INVALID_DROP), **patch)))
    assert ('CRD-CT-004' in ids) is found


def test_conntrack_established_timeout_with_unknown_keepalive_is_coverage():
    ids, _result = run(case(dict(with_rules(INVALID_DROP), **{EST: 300, KA: None})))
    assert 'CRD-CT-004' not in ids and 'CRD-COV-CT' in ids
