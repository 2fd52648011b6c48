# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_service: a unit's systemd history for any unit, on the lab's real journals (samples/lab/<suite>/)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _service
from ansible_collections.connreset.doctor.plugins.module_utils._logs import split_line

LAB = os.path.join(os.path.dirname(__file__), 'samples', 'lab')
NOW = 1796300000.0      # 2026-12-03, after the samples


def entries(suite, name, rename=None):
    with open(os.path.join(LAB, suite, name)) as handle:
        lines = handle.read().splitlines()
    if rename:
        lines = [line.replace(*rename) for line in lines]
    return [split_line(line, NOW) for line in lines]


@pytest.mark.parametrize('suite', ['bullseye', 'bookworm', 'trixie'])
def test_crash_loop_of_any_unit(suite):
    # the lab's crash-loop fault (kill -9 until systemd gives up), systemd 247 / 252 / 257, as written for ssh.service;
    # the same lines about another unit count for that unit and not for ssh.service
    kinds = _service.count_unit_events(entries(suite, 'crashloop.txt'), ['ssh.service'])
    assert kinds['crashes']['count'] == 6 and kinds['crashes']['results'] == {'killed 9/KILL': 6}
    assert (kinds['restarts']['count'], kinds['restarts']['automatic'], kinds['restarts']['gave_up']) == (6, 6, 1)
    renamed = entries(suite, 'crashloop.txt', ('ssh.service', 'app.service'))
    assert _service.count_unit_events(renamed, ['app.service'])['crashes']['count'] == 6
    assert _service.count_unit_events(renamed, ['ssh.service'])['crashes']['count'] == 0


def test_lines_not_from_pid_1_do_not_count():
    forged = [split_line('2026-12-03T12:27:47+0000 h systemd[4242]: app.service: Main process exited, '
                         'code=killed, status=9/KILL', NOW),
              split_line('2026-12-03T12:27:47+0000 h logger[99]: app.service: Main process exited, '
                         'code=killed, status=9/KILL', NOW)]
    assert _service.count_unit_events(forged, ['app.service'])['crashes']['count'] == 0


def test_unit_journal_matches():
    matches = _service.unit_journal_matches(['a.service', 'b.service'])
    assert matches == ['UNIT=a.service', '_PID=1', '+', 'UNIT=b.service', '_PID=1']


@pytest.mark.parametrize('text, unit, expected', [
    ('LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nNRestarts=5\nExecMainStatus=9\nExecMainCode=2\n'
     'Result=signal\n', 'app.service',
     {'active_state': 'failed', 'main_pid': None, 'n_restarts': 5, 'exec_main_code': 'killed', 'result': 'signal'}),
    ('LoadState=not-found\n', 'x.service', None),
])
def test_service_from_show(text, unit, expected):
    found, props = _service.pick_unit([(unit, _service.parse_systemctl_show(text))])
    if expected is None:
        assert found is None
        return
    service = _service.service_from_show(props, found)
    assert dict((k, service[k]) for k in expected) == expected
