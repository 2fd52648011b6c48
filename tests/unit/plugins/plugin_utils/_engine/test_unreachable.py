# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hosts Ansible could not reach (_unreachable.py)."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import (
    MSG_RESET_BANNER, _lab_probe,
)
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import probe


def test_unreachable_host_with_probe_and_no_facts():
    result = _engine.evaluate_host({}, probe=probe('reset_at_banner_delayed', elapsed=5.0),
                                   unreachable={'msg': MSG_RESET_BANNER})
    assert [f['id'] for f in result['findings']] == ['CRD-REACH-003']
    finding = result['findings'][0]
    assert finding['cause'] == 'tcp_wrappers'  # refined by the probe
    assert finding['evidence']['probe']['classification'] == 'reset_at_banner_delayed'
    assert finding['evidence']['msg'] == MSG_RESET_BANNER
    assert result['level'] == 'critical'


def test_lab_kex_hang_unreachable():
    lab = _lab_probe('kex_hang_pmtu_blackhole')
    result = _engine.evaluate_host({}, probe=lab['probe'], unreachable={'msg': lab['unreachable_msg']})
    assert [(f['id'], f['cause']) for f in result['findings']] == [('CRD-REACH-002', 'mtu')]
    assert result['findings'][0]['summary'] == ('UNREACHABLE (timeout); probe: kex_hang: '
                                                'Connection to 10.213.14.11 port 22 timed out')


@pytest.mark.parametrize('name', ['refused_sshd_down', 'refused_banned'])
def test_lab_refused_unreachable(name):
    lab = _lab_probe(name)
    result = _engine.evaluate_host({}, probe=lab['probe'], unreachable={'msg': lab['unreachable_msg']})
    assert [f['id'] for f in result['findings']] == ['CRD-REACH-001']
    assert result['findings'][0]['evidence']['probe']['classification'] == 'refused'
