# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""conntrack_facts module: main() on this host (read-only) and with bad options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.modules import conntrack_facts


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        conntrack_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('check_mode', [False, True])
def test_main_with_log_file(capsys, tmp_path, check_mode):
    log = tmp_path / 'kern.log'
    log.write_text('Jul  8 10:03:53 centos8 kernel: nf_conntrack: nf_conntrack: table full, dropping packet\n')
    out = run_module(capsys, {'since': '@0', 'log_files': [str(log)]}, check_mode)
    fact = out['ansible_facts']['connreset_conntrack']
    assert out['changed'] is False and 'failed' not in out
    assert fact['table_full_events']['count'] == 1 and fact['table_full_events']['status'] == 'ok'
    assert isinstance(fact['loaded'], bool) and fact['status'] in ('ok', 'partial')
    if fact['loaded'] and fact['count'] is not None and fact['max']:
        assert 0 <= fact['fill'] <= 1


@pytest.mark.parametrize('args, message', [
    ({'since': 'yesterday-ish'}, "cannot read since='yesterday-ish'"),
    ({'log_files': 'x', 'bogus': 1}, 'bogus'),
    ({'since': '2024-13-45'}, 'not a real date'),
    ({'since': '2099-01-01'}, 'in the future'),
    ({'log_files': ['/dev/zero']}, '/dev/zero is a device, not a log file'),
    ({'log_files': ['/tmp']}, '/tmp is a directory, not a log file'),
])
def test_main_bad_options(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']


def test_main_log_file_without_since_and_planted_note(capsys, tmp_path):
    """A kern.log copied in July: its own last week is read, the operator's note does not count."""
    log = tmp_path / 'kern.log'
    log.write_text('Jul  8 10:03:53 centos8 kernel: nf_conntrack: nf_conntrack: table full, dropping packet\n'
                   "Jul  8 10:05:00 centos8 root: raised nf_conntrack_max after 'nf_conntrack: table full, dropping packet'\n")
    events = run_module(capsys, {'log_files': [str(log)]})['ansible_facts']['connreset_conntrack']['table_full_events']
    assert events['count'] == 1 and events['window']['basis'] == 'newest_line'
    assert events['window']['until'].endswith('-07-08T10:05:00Z') and events['outside_window'] == {'table_full': 0}
