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


@pytest.mark.parametrize('wait, expected', [(None, 30), (0, 30), (-5, 30), (5, 35), (30, 60), (3600, 60)])
def test_waiting_budget(wait, expected):
    assert _common.waiting_budget(wait, 30) == expected


class _Exit(Exception):
    """What a fake module's exit_json / fail_json raise, with their arguments."""


class _FakeModule:
    def exit_json(self, **kwargs):
        raise _Exit('exit', kwargs)

    def fail_json(self, **kwargs):
        raise _Exit('fail', kwargs)


def test_run_fact_module_exits_with_the_fact_under_its_key():
    with pytest.raises(_Exit) as caught:
        _common.run_fact_module(_FakeModule(), 'connreset_x', lambda: {'status': 'ok'})
    assert caught.value.args == ('exit', {'changed': False, 'ansible_facts': {'connreset_x': {'status': 'ok'}}})


def test_run_fact_module_fails_with_an_option_error_message():
    def picky():
        raise _common.OptionError('since must be ...')

    with pytest.raises(_Exit) as caught:
        _common.run_fact_module(_FakeModule(), 'connreset_x', picky)
    assert caught.value.args == ('fail', {'msg': 'since must be ...'})


@pytest.mark.parametrize('environ, expected', [
    ({'SSH_CONNECTION': '10.0.0.5 51234 10.0.0.2 22'}, '10.0.0.5'),
    ({'SSH_CLIENT': 'fe80::1 51234 22'}, 'fe80::1'),
    ({'SSH_CLIENT': 'fe80::1%eth0 51234 22'}, 'fe80::1'),
    ({}, None),
    # hostile or broken values: no address, never an exception or a word passed on as one
    ({'SSH_CONNECTION': ' '}, None),
    ({'SSH_CONNECTION': 'controller 1 2 3'}, None),
    ({'SSH_CONNECTION': 'x' * 8000}, None),
])
def test_controller_address(environ, expected):
    assert _common.controller_address(_common.System(environ=environ)) == expected
    address, reason = _common.controller_seen(_common.System(environ=environ))
    assert address == expected and (reason is None) is (expected is not None)
    if expected is None:
        assert reason == (_common.CONTROLLER_UNSET if not (environ.get('SSH_CONNECTION') or '').strip()
                          else _common.CONTROLLER_UNREADABLE)


# --------------------------------------------------------------------------------------------
# the command cache of one System (cache=True)
# --------------------------------------------------------------------------------------------
def counting_command(tmp_path, body='', code=0):
    """argv of a command that appends a line to a file each time it starts, then runs ``body``."""
    log = tmp_path / 'starts'
    script = 'import sys, time\nopen(%r, "a").write("x\\n")\n%s\nsys.exit(%d)\n' % (str(log), body, code)
    return [sys.executable, '-c', script], log


def starts(log):
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_run_cache_runs_an_identical_command_once(tmp_path):
    argv, log = counting_command(tmp_path, 'print("out")')
    system = _common.System()
    first = system.run(argv, cache=True)
    second = system.run(list(argv), cache=True)
    assert starts(log) == 1
    assert (second.rc, second.out, second.argv) == (0, 'out\n', first.argv)


def test_run_cache_is_opt_in_and_per_system(tmp_path):
    argv, log = counting_command(tmp_path)
    system = _common.System()
    system.run(argv, cache=True)
    system.run(argv)                            # a caller that did not ask for the cache runs it
    _common.System().run(argv, cache=True)      # another System (another module run) runs it
    assert starts(log) == 3


def test_run_cache_keys_on_arguments_and_input(tmp_path):
    argv, log = counting_command(tmp_path, 'print(sys.stdin.read() if not sys.stdin.isatty() else "")')
    system = _common.System()
    system.run(argv, cache=True)
    system.run(argv + ['extra'], cache=True)
    assert system.run(argv, data='a', cache=True).out == 'a\n'
    assert system.run(argv, data='b', cache=True).out == 'b\n'
    assert starts(log) == 4


def test_run_cache_keeps_a_failure_with_its_reason(tmp_path):
    # a command that ran to its end and failed is an answer: the same exit status and stderr again
    argv, log = counting_command(tmp_path, 'sys.stderr.write("dmesg: read kernel buffer failed: Operation not permitted\\n")',
                                 code=1)
    system = _common.System()
    first, second = system.run(argv, cache=True), system.run(argv, cache=True)
    assert starts(log) == 1
    assert (second.rc, second.err) == (1, first.err) and 'Operation not permitted' in second.describe()


def test_run_cache_does_not_keep_a_timeout(tmp_path):
    argv, log = counting_command(tmp_path, 'time.sleep(30)')
    system = _common.System()
    first = system.run(argv, timeout=0.5, cache=True)
    second = system.run(argv, timeout=0.5, cache=True)
    assert first.rc is None and 'timed out after' in first.describe()
    assert second.rc is None and 'timed out after' in second.describe()
    assert starts(log) == 2                     # the second caller, with its own budget, tried again


def test_run_cache_does_not_keep_a_missing_binary():
    system = _common.System(environ={'PATH': '/nonexistent'})
    assert system.run(['no-such-binary-xyz'], cache=True).describe() == 'no-such-binary-xyz not found'
    assert system._memo == {}


def test_run_cache_answer_still_checks_the_deadline(tmp_path):
    argv, log = counting_command(tmp_path)
    system = _common.System()
    system.run(argv, cache=True)
    system.deadline = time.monotonic() - 1
    with pytest.raises(_common.BudgetExceeded):
        system.run(argv, cache=True)
    assert starts(log) == 1


def test_read_bytes_and_read(tmp_path):
    path = tmp_path / 'bin'
    path.write_bytes(b'\x7fELF\x02\x01\x01\0libwrap.so.0\0\xff')
    system = _common.System()
    assert system.read_bytes(str(path)) == b'\x7fELF\x02\x01\x01\0libwrap.so.0\0\xff'
    assert system.read_bytes(str(path), max_bytes=4) == b'\x7fELF'
    assert system.read(str(path)) == '\x7fELF\x02\x01\x01\0libwrap.so.0\0\ufffd'
