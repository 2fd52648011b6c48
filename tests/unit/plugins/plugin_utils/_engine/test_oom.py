# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area OOM (_oom.py): kills of sshd and of other processes, and their severity."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import case, run
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import OOM_OTHER, OOM_SSHD


def test_sshd_oom_kill_watched_killed_alone_is_enough():
    ids, _result = run(case({'connreset_oom.watched_killed': [OOM_SSHD]}))
    assert 'CRD-OOM-001' in ids


@pytest.mark.parametrize('process', ['sshd', 'sshd-session', 'sshd-auth'])
def test_sshd_oom_kill_process_names(process):
    ids, _result = run(case({'connreset_oom.kills': [dict(OOM_SSHD, process=process, unit=None, cgroup='/')]}))
    assert 'CRD-OOM-001' in ids and 'CRD-OOM-002' not in ids


def test_oom_vmstat_without_log_still_reports_and_says_what_is_unknown():
    ids, result = run(case({'connreset_oom.kills': None, 'connreset_oom.vmstat_oom_kill': 4,
                            'connreset_oom.log': {'status': 'unknown', 'reason': 'dmesg_restrict=1: use become: true'}}))
    assert {'CRD-OOM-002', 'CRD-COV-OOM'} <= ids
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-OOM')
    assert 'dmesg_restrict=1' in cov['summary']


def test_watched_killed_names_from_the_oom_collector():
    # watched_killed lists names of the collector's `watch` option (default sshd, sshd-session).
    ids, _result = run(case({'connreset_oom.watched_killed': ['sshd-session']}))
    assert 'CRD-OOM-001' in ids
    ids, result = run(case({'connreset_oom.watched_killed': ['postgres']}))
    assert 'CRD-OOM-001' not in ids and 'CRD-OOM-002' in ids
    assert 'postgres' in next(f['summary'] for f in result['findings'] if f['id'] == 'CRD-OOM-002')


@pytest.mark.parametrize('patch, thresholds, severity, short', [
    # one kill, plenty of memory now (the HEALTHY sample: 66 % available, no PSI): low
    ({}, None, 'low', False),
    # many kills within the lookback: medium
    ({'connreset_oom.kills': [OOM_OTHER] * 5}, None, 'medium', False),
    ({'connreset_oom.kills': [OOM_OTHER] * 5}, {'oom_other_kills_medium': 6}, 'low', False),
    # memory short now: MemAvailable under 5 % of MemTotal
    ({'connreset_oom.memory.mem_available_kb': 90000}, None, 'medium', True),
    # memory pressure now (PSI "some" avg10 at the threshold), MemAvailable fine
    ({'connreset_oom.memory.psi': {'some': {'avg10': 10.0, 'avg60': 3.1, 'avg300': 1.0, 'total': 9},
                                   'full': {'avg10': 2.0, 'avg60': 0.5, 'avg300': 0.1, 'total': 3}}},
     None, 'medium', True),
    ({'connreset_oom.memory.psi': {'some': {'avg10': 9.99, 'avg60': 3.1, 'avg300': 1.0, 'total': 9}}},
     None, 'low', False),
    # memory could not be read: severity from the kill count alone, "short now" unknown
    ({'connreset_oom.memory': {}}, None, 'low', None),
])
def test_oom_other_kills_severity(patch, thresholds, severity, short):
    patch = dict({'connreset_oom.kills': [OOM_OTHER], 'connreset_oom.vmstat_oom_kill': 1}, **patch)
    _ids, result = run(case(patch, thresholds=thresholds))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-OOM-002')
    assert finding['severity'] == severity
    assert finding['evidence']['memory_short_now'] is short


@pytest.mark.parametrize('kill, sshd', [
    (OOM_SSHD, True),
    (dict(OOM_SSHD, process='sshd-session'), True),
    # a module's python3 in ssh.service's cgroup (no libpam-systemd): not sshd
    (dict(OOM_SSHD, process='python3', pid=7001), False),
    # systemd-oomd kills a whole cgroup: no process name, the unit decides
    (dict(OOM_SSHD, process=None, scope='oomd'), True),
    (dict(OOM_OTHER, process=None, scope='oomd'), False),
])
def test_sshd_kill_matching(kill, sshd):
    ids, _result = run(case({'connreset_oom.kills': [kill]}))
    assert ('CRD-OOM-001' in ids) is sshd and ('CRD-OOM-002' in ids) is (not sshd)


# -- OOM kills past the collector's cap (it keeps the 20 most recent; kill_count counts all) -----
@pytest.mark.parametrize('patch, sshd, other, severity', [
    # 30 kills of stress-ng-vm, the list cut to the last 20: the count is 30
    ({'connreset_oom.kills': [OOM_OTHER] * 20, 'connreset_oom.kill_count': 30, 'connreset_oom.kills_truncated': True,
      'connreset_oom.kills_by_process': {'stress-ng-vm': 30}}, None, 30, 'medium'),
    # 3 kills of sshd long ago, 40 of others since: the list holds only others
    ({'connreset_oom.kills': [OOM_OTHER] * 20, 'connreset_oom.kill_count': 43, 'connreset_oom.kills_truncated': True,
      'connreset_oom.kills_by_process': {'stress-ng-vm': 40, 'sshd': 3}}, 3, 40, 'medium'),
    # not cut: the list decides, as before (kill_count equal to its length)
    ({'connreset_oom.kills': [OOM_OTHER] * 2, 'connreset_oom.kill_count': 2,
      'connreset_oom.kills_by_process': {'stress-ng-vm': 2}}, None, 2, 'low'),
])
def test_oom_counts_past_the_collectors_cap(patch, sshd, other, severity):
    ids, result = run(case(patch))
    by_id = {f['id']: f for f in result['findings']}
    if sshd is None:
        assert 'CRD-OOM-001' not in by_id
    else:
        assert by_id['CRD-OOM-001']['summary'] == '%d OOM kill(s) of sshd' % sshd
    assert by_id['CRD-OOM-002']['evidence']['count'] == other and by_id['CRD-OOM-002']['severity'] == severity
    assert by_id['CRD-OOM-002']['summary'].startswith('%d OOM kill(s): stress-ng-vm' % other)
