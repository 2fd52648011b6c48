# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""oom_facts module: main() on sample log files (offline analysis), on this host, and with bad options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.modules import oom_facts

SAMPLES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'samples', 'oom')


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        oom_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('check_mode', [False, True])
def test_main_log_files(capsys, check_mode):
    files = [os.path.join(SAMPLES, 'syslog-5.x-ubuntu-reaper.log'), os.path.join(SAMPLES, 'journal-systemd-oomd.log')]
    out = run_module(capsys, {'log_files': files, 'since': '@0'}, check_mode)
    fact = out['ansible_facts']['connreset_oom']
    assert out['changed'] is False and 'failed' not in out
    assert fact['log']['status'] == 'ok' and [s['name'] for s in fact['log']['sources']] == files
    assert sorted(k['pid'] for k in fact['kills'] if k['pid']) == [15783, 15784, 15925, 15934]
    assert sum(1 for k in fact['kills'] if k['scope'] == 'oomd') == 2
    assert fact['watched_killed'] == []
    assert isinstance(fact['memory']['mem_total_kb'], int)


def test_main_log_files_without_since_reads_their_own_last_week(capsys):
    # the samples are months or years old: the default window ends at their newest line, not now
    files = [os.path.join(SAMPLES, 'syslog-5.x-ubuntu-reaper.log')]
    fact = run_module(capsys, {'log_files': files})['ansible_facts']['connreset_oom']
    assert fact['log']['window']['basis'] == 'newest_line' and fact['kill_count'] == 4
    assert fact['log']['outside_window']['kills'] == 0 and fact['kills_truncated'] is False


def test_main_missing_log_file_is_unknown_not_empty(capsys):
    out = run_module(capsys, {'log_files': ['/nonexistent/kern.log']})
    fact = out['ansible_facts']['connreset_oom']
    assert fact['kills'] is None and fact['log']['status'] == 'unknown'
    assert '/nonexistent/kern.log does not exist' in fact['reason']


def test_main_this_host(capsys):
    out = run_module(capsys, {})
    fact = out['ansible_facts']['connreset_oom']
    assert out['changed'] is False
    assert fact['status'] in ('ok', 'partial', 'unknown')
    if fact['log']['status'] == 'ok':
        assert isinstance(fact['kills'], list)
    else:
        assert fact['reason'] and fact['log']['reason']


@pytest.mark.parametrize('args, message', [
    ({'since': 'last week'}, "cannot read since='last week'"),
    ({'watch': ['/usr/sbin/sshd']}, 'not a process name'),
    ({'since': '2024-02-30'}, 'not a real date'),
    ({'since': '2099-01-01'}, 'in the future'),
    ({'log_files': ['/dev/zero']}, '/dev/zero is a device, not a log file'),
    ({'log_files': ['/tmp']}, '/tmp is a directory, not a log file'),
])
def test_main_bad_options(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']
