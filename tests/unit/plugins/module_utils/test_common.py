# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The System adapter, fact helpers and run_collector's budget handling."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys
import time

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _common


def test_run_captures_output_in_c_locale():
    res = _common.System().run([sys.executable, '-c', 'import os; print(os.environ["LC_ALL"])'])
    assert (res.rc, res.out.strip(), res.ok) == (0, 'C', True)


def test_run_missing_binary_is_not_an_exception():
    res = _common.System(environ={'PATH': '/nonexistent'}).run(['no-such-binary-xyz'])
    assert res.rc is None
    assert res.describe() == 'no-such-binary-xyz not found'


def test_run_timeout_kills_the_command():
    started = time.monotonic()
    res = _common.System().run([sys.executable, '-c', 'import time; time.sleep(30)'], timeout=0.5)
    assert res.rc is None and 'timed out' in res.error
    assert time.monotonic() - started < 10


def test_run_stream_yields_lines_and_status():
    status, lines = _common.System().run_stream([sys.executable, '-c', 'import sys; print("a\\nb"); sys.stderr.write("e")'])
    assert list(lines) == ['a', 'b']
    assert status['rc'] == 0 and status['err'] == 'e'


def test_read_missing_file_raises_and_read_or_none(tmp_path):
    system = _common.System()
    with pytest.raises(OSError):
        system.read(str(tmp_path / 'nope'))
    assert system.read_or_none(str(tmp_path / 'nope')) is None


@pytest.mark.parametrize('statuses, expected', [
    ([], 'ok'), (['ok', 'ok'], 'ok'), (['unknown', 'unknown'], 'unknown'), (['ok', 'unknown'], 'partial'),
    (['partial'], 'partial'),
])
def test_worst_status(statuses, expected):
    assert _common.worst_status(statuses) == expected


def test_summarize_names_failed_parts():
    assert _common.summarize({'a': ('ok', None), 'b': ('unknown', 'no ss')}) == ('partial', 'b: no ss')


def test_run_collector_budget_turns_into_unknown_timeout():
    def slow(system, params):
        system.run([sys.executable, '-c', 'import time; time.sleep(30)'], timeout=60)
        return _common.result()

    fact = _common.run_collector('slow', slow, _common.System(), {}, budget=0.5)
    assert fact['status'] == 'unknown' and fact['reason'] == 'timeout' and fact['budget_s'] == 0.5
    assert fact['elapsed_s'] < 10


def test_run_collector_reports_bugs_without_raising():
    def broken(system, params):
        raise KeyError('x')

    fact = _common.run_collector('broken', broken, _common.System(), {})
    assert fact['status'] == 'unknown' and 'internal error in the broken collector: KeyError' in fact['reason']


def test_run_collector_lets_option_errors_through():
    def picky(system, params):
        raise _common.OptionError('since must be ...')

    with pytest.raises(_common.OptionError):
        _common.run_collector('picky', picky, _common.System(), {})


@pytest.mark.parametrize('environ, expected', [
    ({'SSH_CONNECTION': '10.0.0.5 51234 10.0.0.2 22'}, '10.0.0.5'),
    ({'SSH_CLIENT': 'fe80::1 51234 22'}, 'fe80::1'),
    ({}, None),
])
def test_controller_address(environ, expected):
    assert _common.controller_address(_common.System(environ=environ)) == expected
