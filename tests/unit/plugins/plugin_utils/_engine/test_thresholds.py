# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Thresholds (_thresholds.py): overrides, their validation, presets, documentation."""

from __future__ import annotations

import re

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import case, run


def test_threshold_override_changes_result():
    patch = {'connreset_conntrack.fill': 0.6}
    assert 'CRD-CT-001' not in run(case(patch))[0]
    assert 'CRD-CT-001' in run(case(patch, thresholds={'conntrack_fill_warn': 0.5}))[0]


@pytest.mark.parametrize('overrides, message', [
    ({'conntrack_fill': 0.5}, "unknown threshold 'conntrack_fill'"),
    ({'conntrack_fill_warn': 'high'}, 'must be a number'),
    ({'path_idle_preset': 'aws-elb'}, "unknown path_idle_preset 'aws-elb'"),
    ({'idle_timeout_presets': {'corp-fw': 'long'}}, 'map preset names to seconds'),
])
def test_bad_thresholds(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _engine.merge_thresholds(overrides)


def test_custom_preset_and_defaults_untouched():
    merged = _engine.merge_thresholds({'idle_timeout_presets': {'corp-fw': 1800}, 'path_idle_preset': 'corp-fw'})
    assert _engine.path_idle_timeout(merged) == (1800, 'preset corp-fw')
    assert 'corp-fw' not in _engine.DEFAULT_THRESHOLDS['idle_timeout_presets']


def test_every_threshold_is_documented():
    assert sorted(_engine.THRESHOLD_DOCS) == sorted(_engine.DEFAULT_THRESHOLDS)


@pytest.mark.parametrize('value', [float('nan'), float('inf'), 'nan', 'inf', '1e999'])
def test_non_finite_threshold_is_a_threshold_error(value):
    with pytest.raises(ValueError, match='threshold conntrack_fill_warn must be a number'):
        _engine.merge_thresholds({'conntrack_fill_warn': value})


@pytest.mark.parametrize('value', ['yes', 1, None])
def test_sshd_required_must_be_a_boolean(value):
    with pytest.raises(ValueError, match='sshd_required must be true or false'):
        _engine.merge_thresholds({'sshd_required': value})
