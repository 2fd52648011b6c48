# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area sshd (_sshd.py): severities, penalties and their exempt list, LoginGraceTime, restarts,
untyped values, sshd not installed."""

from __future__ import annotations

import json

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import case, run
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import (
    CRASH_LINE, MAXSTARTUPS_LINE, PENALTIES_ON, RESTART_LINE, START_LIMIT_LINE, event, probe,
)


@pytest.mark.parametrize('count, severity', [(1, 'low'), (9, 'low'), (10, 'medium'), (99, 'medium'), (100, 'high')])
def test_maxstartups_drop_severity(count, severity):
    _ids, result = run(case({'connreset_sshd.events.maxstartups_drops': event(count, MAXSTARTUPS_LINE)}))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-SSHD-004'] == [severity]


@pytest.mark.parametrize('patch, severity', [
    ({'connreset_sshd.service.n_restarts': 1}, 'medium'),
    ({'connreset_sshd.service.n_restarts': 3}, 'high'),
    ({'connreset_sshd.events.crashes': event(1, CRASH_LINE)}, 'medium'),
    ({'connreset_sshd.events.restarts': event(6, RESTART_LINE, START_LIMIT_LINE)}, 'high'),
    ({'connreset_sshd.service.active_state': 'failed', 'connreset_sshd.service.result': 'start-limit-hit',
      'connreset_sshd.running': False}, 'high'),
])
def test_crash_loop_severity(patch, severity):
    _ids, result = run(case(patch))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-SSHD-003'] == [severity]


def test_penalty_exempt_list_not_covering_controller():
    ids, _result = run(case({'connreset_sshd.config.values.persourcepenalties': PENALTIES_ON,
                             'connreset_sshd.config.values.persourcepenaltyexemptlist': ['10.0.0.0/8', '172.16.0.0/12']}))
    assert 'CRD-SSHD-007' in ids


def test_penalty_exempt_list_with_unknown_controller_is_coverage():
    ids, result = run(case({'connreset_sshd.config.values.persourcepenalties': PENALTIES_ON,
                            'connreset_sshd.config.values.persourcepenaltyexemptlist': ['10.0.0.0/8'],
                            # not run over ssh: reset_facts did not see the controller either
                            'connreset_meta.controller': None,
                            'connreset_meta.controller_reason': 'SSH_CONNECTION is not set'},
                           controller=None))
    assert 'CRD-SSHD-007' not in ids and 'CRD-COV-SSHD' in ids


@pytest.mark.parametrize('key, text', [('logingracetime', '2m'), ('clientaliveinterval', '1h30m'),
                                       ('tcpkeepalive', 'no'), ('persourcepenaltyexemptlist', '192.0.2.0/24'),
                                       ('port', '22')])
def test_untyped_sshd_values_are_coverage_not_reparsed(key, text):
    # The collector types config.values (docs/development.md): text where a type belongs is a
    # broken contract, a coverage gap naming the value; the engine does not parse it again.
    ids, result = run(case({'connreset_sshd.config.values.%s' % key: text}))
    cov = [f for f in result['findings'] if f['id'] == 'CRD-COV-SSHD']
    assert cov and key in json.dumps(cov[0]['evidence']), result
    assert not ids & {'CRD-SSHD-007', 'CRD-SSHD-008', 'CRD-IDLE-001'}


def test_unparsed_login_grace_is_coverage():
    ids, result = run(case({'connreset_sshd.config.values.logingracetime': None,
                            'connreset_sshd.config.unparsed': {'logingracetime': '2x'}}))
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-SSHD')
    assert 'CRD-SSHD-008' not in ids and "'2x'" in cov['summary']


@pytest.mark.parametrize('grace, found', [(10, True), (29, True), (0, False), (120, False)])
def test_login_grace(grace, found):
    ids, _result = run(case({'connreset_sshd.config.values.logingracetime': grace}))
    assert ('CRD-SSHD-008' in ids) is found


@pytest.mark.parametrize('penalties, exempt, found', [
    (PENALTIES_ON, None, True),
    (PENALTIES_ON, ['192.0.2.10/32'], False),
    (PENALTIES_ON, ['10.0.0.0/8', '192.0.2.0/24'], False),
    (PENALTIES_ON, ['192.0.2.*'], False),          # a wildcard pattern covers the controller
    (PENALTIES_ON, ['192.0.2.0/24', '!192.0.2.10'], True),   # a negation defeats the exemption
    (False, None, False),                        # PerSourcePenalties no
    (None, None, False),                         # OpenSSH < 9.8
])
def test_penalty_forms(penalties, exempt, found):
    ids, _result = run(case({'connreset_sshd.config.values.persourcepenalties': penalties,
                             'connreset_sshd.config.values.persourcepenaltyexemptlist': exempt}))
    assert ('CRD-SSHD-007' in ids) is found


def test_restart_gave_up_is_a_start_limit():
    restarts = dict(event(5, RESTART_LINE), automatic=5, manual=0, gave_up=1, reloads=0)
    _ids, result = run(case({'connreset_sshd.events.restarts': restarts}))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-SSHD-003')
    assert finding['severity'] == 'high' and finding['evidence']['start_limit_hit'] is True


@pytest.mark.parametrize('restarts, found', [
    (dict(event(2, RESTART_LINE), automatic=2, manual=0, gave_up=0, reloads=0), True),
    # two `systemctl restart ssh` by a handler: not a crash loop
    (dict(event(2), automatic=0, manual=2, gave_up=0, reloads=3), False),
    (event(2, RESTART_LINE), True),  # no breakdown: every restart counts
])
def test_manual_restarts_are_not_a_crash_loop(restarts, found):
    ids, _result = run(case({'connreset_sshd.events.restarts': restarts}))
    assert ('CRD-SSHD-003' in ids) is found


# -- sshd not installed (issue 17): not "sshd is down, critical" unless the host must serve SSH ----
NOT_INSTALLED = {'connreset_sshd.installed': False, 'connreset_sshd.running': False,
                 'connreset_sshd.installed_reason': 'sshd is not installed: no sshd binary',
                 'connreset_sshd.config.valid': None, 'connreset_sshd.service.active_state': None}


def test_sshd_not_installed_is_info_and_explains_the_refused_probe():
    ids, result = run(case(NOT_INSTALLED, probe_=probe('refused', 'connect', 'refused')))
    assert ids == {'CRD-SSHD-009'}, result
    assert result['findings'][0]['severity'] == 'info'
    assert result['findings'][0]['evidence']['reason'].startswith('sshd is not installed')


def test_sshd_not_installed_on_a_host_that_must_serve_ssh_is_critical():
    ids, result = run(case(NOT_INSTALLED, probe_=probe('refused', 'connect', 'refused'),
                           thresholds={'sshd_required': True}))
    assert 'CRD-SSHD-009' not in ids and ('CRD-SSHD-001' in ids or 'CRD-PROBE-004' in ids), result
    assert max(_catalogue.severity_rank(f['severity']) for f in result['findings']) == \
        _catalogue.severity_rank('critical')
