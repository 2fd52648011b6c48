# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""reset_facts' registry: gather_subset resolution, option validation, budgets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _collectors
from ansible_collections.connreset.doctor.plugins.module_utils._common import OptionError, System, result

ALL = list(_collectors.NAMES)


@pytest.mark.parametrize('subset, expected', [
    (['all'], ALL),
    ([], ALL),
    (['sshd'], ['sshd']),
    (['oom', 'sshd'], ['sshd', 'oom']),               # registry order, not request order
    (['!firewall'], [n for n in ALL if n != 'firewall']),
    (['all', '!mtu', '!tcp'], [n for n in ALL if n not in ('mtu', 'tcp')]),
    (['!all', 'tcp_wrappers'], ['tcp_wrappers']),
    (['!all'], []),
    ([' sshd '], ['sshd']),
])
def test_resolve_subset(subset, expected):
    assert _collectors.resolve_subset(subset) == expected


@pytest.mark.parametrize('subset, bad', [(['ssh'], "'ssh'"), (['all', '!nope', 'x'], "'!nope', 'x'")])
def test_resolve_subset_rejects_unknown_names(subset, bad):
    with pytest.raises(OptionError) as err:
        _collectors.resolve_subset(subset)
    assert bad in str(err.value) and 'use all, sshd, oom' in str(err.value)


def test_every_collector_has_the_module_contract():
    for name, module in _collectors.COLLECTORS:
        assert callable(module.collect), name
        assert isinstance(module.ARGUMENT_SPEC, dict), name
        # defaults of every collector validate on their own
        _collectors.validate_options(name, {})


def test_validate_options_names_the_collector_and_the_module():
    with pytest.raises(OptionError) as err:
        _collectors.validate_options('sshd', {'no_such_option': 1})
    assert str(err.value).startswith('sshd: ') and 'connreset.doctor.sshd_facts' in str(err.value)


def test_gather_times_each_collector_and_isolates_a_slow_one(monkeypatch):
    class Fast:
        ARGUMENT_SPEC = {'x': dict(type='int', default=1)}

        @staticmethod
        def collect(system, params):
            return result(value=params['x'])

    class Slow:
        ARGUMENT_SPEC = {}

        @staticmethod
        def collect(system, params):
            system.run([sys.executable, '-c', 'import time; time.sleep(30)'], timeout=60)

    monkeypatch.setattr(_collectors, 'COLLECTORS', (('sshd', Slow), ('oom', Fast)))
    monkeypatch.setattr(_collectors, 'NAMES', ('sshd', 'oom'))
    facts = _collectors.gather(System(), ['all'], {'oom': {'x': 5}}, budget=0.5)
    assert facts['connreset_sshd']['status'] == 'unknown' and facts['connreset_sshd']['reason'] == 'timeout'
    assert facts['connreset_oom'] == {'status': 'ok', 'reason': None, 'value': 5, 'elapsed_s': facts['connreset_oom']['elapsed_s']}
    meta = facts['connreset_meta']
    assert meta['gather_subset'] == ['sshd', 'oom'] and meta['budget_s'] == 0.5
    assert meta['collectors']['sshd']['status'] == 'unknown' and meta['collectors']['oom']['status'] == 'ok'
