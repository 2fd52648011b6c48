# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The log keyword prefilters lose nothing: on every real sample, results with and without them agree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _collectors, _logs, _oom, _sshd
from ansible_collections.connreset.doctor.plugins.module_utils._common import System

SAMPLES = os.path.join(os.path.dirname(__file__), 'samples')


def samples(kind):
    # log samples only: sshd -T dumps and systemctl show outputs are not logs
    files = sorted(p for p in glob.glob(os.path.join(SAMPLES, kind, '*'))
                   if not p.endswith('.md') and not os.path.basename(p).startswith(('sshd_T_', 'systemctl_show_')))
    assert files, 'no %s samples' % kind
    return files


def without_filter(monkeypatch):
    original = _logs.LogScan.__init__

    def init(self, system, since=None, now=None, keywords=None, **kwargs):
        original(self, system, since=since, now=now, keywords=None, **kwargs)

    monkeypatch.setattr(_logs.LogScan, '__init__', init)


def _without_line_counters(value):
    """The result minus what the filter changes by design: lines outside the window and unreadable
    lines are counted among the lines that hold a keyword (all lines without the filter)."""
    if isinstance(value, dict):
        # a series' window ends "now" (no until given): the two calls may straddle a second
        now = ('until',) if 'mode' in value and 'since' in value else ()
        return dict((k, _without_line_counters(v)) for k, v in value.items()
                    if k not in ('outside_lines', 'skipped_lines', 'skipped_sample') + now)
    if isinstance(value, (list, tuple)):
        return [_without_line_counters(v) for v in value]
    return value


@pytest.mark.parametrize('name, module, pick, kind', [
    ('sshd', _sshd, lambda fact: fact['events'], 'sshd'),
    ('oom', _oom, lambda fact: (fact['kills'], fact['unit_results'], fact['watched_killed']), 'oom'),
])
def test_keywords_change_nothing(monkeypatch, name, module, pick, kind):
    params = _collectors.validate_options(name, {'log_files': samples(kind), 'since': '@0'})
    filtered = pick(module.collect(System(), params))
    without_filter(monkeypatch)
    unfiltered = pick(module.collect(System(), params))
    assert _without_line_counters(filtered) == _without_line_counters(unfiltered)
    # the samples do hold events of every kind the filter must keep
    if name == 'sshd':
        assert all(filtered[kind]['count'] for kind in ('crashes', 'restarts', 'maxstartups_drops')), filtered
    else:
        assert len(filtered[0]) >= 5 and filtered[1], filtered


@pytest.mark.parametrize('line', [
    # one line per sshd event message the filter must keep (OpenSSH 7.x-10.x, systemd 219-257)
    'sshd[1]: drop connection #3 from [10.0.0.5]:51234 on [10.0.0.2]:22 past MaxStartups',
    'sshd[1]: drop connection #0 from [10.0.0.5]:51234 on [10.0.0.2]:22 penalty: failed authentication',
    'sshd[1]: error: beginning MaxStartups throttling',
    'sshd[1]: exited MaxStartups throttling after 00:01:23, 42 connections dropped',
    'sshd[1]: srclimit_penalise: ipv4: new 10.0.0.5/32 active penalty of 10 seconds for penalty: noauth',
    'sshd[1]: refused connect from 10.9.8.7 (10.9.8.7)',
    'systemd[1]: ssh.service: Main process exited, code=killed, status=9/KILL',
    "systemd[1]: ssh.service: Failed with result 'signal'.",
    'systemd[1]: Unit ssh.service entered failed state.',
    'systemd[1]: ssh.service: Scheduled restart job, restart counter is at 3.',
    'systemd[1]: ssh.service: Start request repeated too quickly.',
    'systemd[1]: Stopped ssh.service - OpenBSD Secure Shell server.',
    'sshd[1]: Received signal 15; terminating.',
    'sshd[1]: Received SIGHUP; restarting.',
])
def test_sshd_keywords_keep_every_event_message(line):
    assert any(k in line for k in _sshd.EVENT_KEYWORDS)
