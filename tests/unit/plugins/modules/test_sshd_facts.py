# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sshd_facts module: main() on a copied sshd log (offline analysis), on this host, and with bad options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.modules import sshd_facts

# OpenSSH 9.2p1 auth.log lines at LogLevel INFO (rsyslog traditional format)
AUTH_LOG = """Mar  6 06:31:31 ip-172-31-35-28 sshd[620]: error: beginning MaxStartups throttling
Mar  6 06:31:31 ip-172-31-35-28 sshd[620]: drop connection #10 from [65.2.161.68]:46482 on [172.31.35.28]:22 past MaxStartups
Mar  6 06:32:40 ip-172-31-35-28 sshd[620]: exited MaxStartups throttling after 00:01:09, 21 connections dropped
Mar  6 06:40:00 ip-172-31-35-28 sshd[3001]: refused connect from 192.0.2.50 (192.0.2.50)
"""


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        sshd_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('check_mode', [False, True])
def test_main_log_files(capsys, tmp_path, check_mode):
    log = tmp_path / 'auth.log'
    log.write_text(AUTH_LOG)
    out = run_module(capsys, {'log_files': [str(log)], 'since': '@0'}, check_mode)
    fact = out['ansible_facts']['connreset_sshd']
    assert out['changed'] is False and 'failed' not in out
    events = fact['events']
    assert events['status'] == 'ok' and [s['name'] for s in events['sources']] == [str(log)]
    assert events['maxstartups_drops']['count'] == 21 and events['wrap_refusals']['count'] == 1
    assert events['crashes']['count'] == 0 and events['penalties']['count'] == 0
    assert isinstance(fact['elapsed_s'], float)


def test_main_missing_log_file_is_unknown_not_zero(capsys):
    out = run_module(capsys, {'log_files': ['/nonexistent/auth.log']})
    events = out['ansible_facts']['connreset_sshd']['events']
    assert events['status'] == 'unknown' and events['maxstartups_drops']['count'] is None
    assert '/nonexistent/auth.log does not exist' in events['reason']


def test_main_this_host(capsys):
    out = run_module(capsys, {})
    fact = out['ansible_facts']['connreset_sshd']
    assert out['changed'] is False
    assert fact['status'] in ('ok', 'partial', 'unknown')
    assert fact['service']['manager'] in ('systemd', 'openrc', 'sysv', 'none')
    if fact['service']['status'] != 'ok':
        assert fact['service']['reason']
    if fact['config']['status'] == 'unknown':
        assert fact['config']['reason'] and fact['config']['values']['maxstartups'] is None
    if fact['events']['status'] == 'unknown':
        assert fact['events']['reason'] and fact['events']['crashes']['count'] is None


def test_main_copied_log_without_since_is_read_up_to_its_newest_line(capsys, tmp_path):
    # the lines are from March of a past year: a window ending now would hold none of them
    log = tmp_path / 'auth.log'
    log.write_text(AUTH_LOG)
    fact = run_module(capsys, {'log_files': [str(log)]})['ansible_facts']['connreset_sshd']
    events = fact['events']
    assert events['window']['basis'] == 'newest_line' and events['window']['until'].endswith('06:40:00Z')
    assert events['maxstartups_drops']['count'] == 21 and events['wrap_refusals']['count'] == 1
    assert events['skipped_lines'] == {'count': 0, 'samples': []}


@pytest.mark.parametrize('args, message', [
    ({'since': 'last tuesday'}, 'option since'),
    ({'since': '2024-02-30'}, 'not a real date'),
    ({'sshd_path': '/nonexistent/sshd'}, 'option sshd_path'),
    ({'no_such_option': 1}, 'no_such_option'),
    ({'full_config': 'maybe'}, 'full_config'),
    ({'log_files': ['/dev/zero']}, 'not a log file'),
])
def test_main_bad_options(capsys, args, message):
    out = run_module(capsys, args)
    assert out['failed'] is True and message in out['msg']
