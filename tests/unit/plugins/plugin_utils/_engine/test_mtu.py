# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area MTU (_mtu.py)."""

from __future__ import annotations

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import case, run
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import CONTROLLER


def test_mtu_target_without_route_is_coverage():
    ids, result = run(case({'connreset_mtu.targets.0': {
        'target': CONTROLLER, 'dev': None, 'src': None, 'gateway': None, 'mtu': None, 'mtu_source': None,
        'probe': None, 'status': 'unknown', 'reason': 'no route toward 192.0.2.10: RTNETLINK answers: '
                                                      'Network is unreachable'}}))
    assert ids == {'CRD-COV-MTU'}
    assert 'Network is unreachable' in result['findings'][0]['summary']
