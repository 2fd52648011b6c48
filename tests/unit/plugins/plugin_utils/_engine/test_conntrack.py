# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area conntrack (_conntrack.py): table fill and drops."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import case, run


@pytest.mark.parametrize('fill, severity', [(0.75, 'medium'), (0.899, 'medium'), (0.90, 'high'), (1.0, 'high')])
def test_conntrack_fill_severity(fill, severity):
    _ids, result = run(case({'connreset_conntrack.fill': fill}))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-CT-001'] == [severity]


def test_conntrack_fill_computed_from_count_and_max():
    _ids, result = run(case({'connreset_conntrack.fill': None, 'connreset_conntrack.count': 240000}))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-CT-001')
    assert finding['severity'] == 'high' and finding['evidence']['fill'] == round(240000 / 262144, 4)


def test_conntrack_early_drop_only_is_medium():
    _ids, result = run(case({'connreset_conntrack.stats.early_drop': 4}))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-CT-002'] == ['medium']
