# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""reset_facts module: main() with the option sets of issue 16 point 7 and a real (small) run.

A run that would check nothing, a budget that is no number of seconds, an unknown collector name
and a bad option of any collector, selected or not, each fail with a message that says what is
wrong and how to fix it, before any collector runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.connreset.doctor.plugins.module_utils import _collectors
from ansible_collections.connreset.doctor.plugins.modules import reset_facts


def run_module(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    basic._ANSIBLE_PROFILE = 'legacy'   # ansible-core >= 2.19 wants a serialization profile
    with pytest.raises(SystemExit):
        reset_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def no_collector_runs(monkeypatch):
    """Fail the test if a collector starts: the option checks come before anything runs."""
    def gather(*_args, **_kwargs):
        raise AssertionError('a collector ran although the options are bad')
    monkeypatch.setattr(reset_facts, 'gather', gather)


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_subset_runs_and_changes_nothing(capsys, check_mode):
    out = run_module(capsys, {'gather_subset': ['!all', 'tcp'], 'budget': 10}, check_mode)
    assert 'failed' not in out and out['changed'] is False
    facts = out['ansible_facts']
    assert facts['connreset_meta']['gather_subset'] == ['tcp'] and facts['connreset_meta']['budget_s'] == 10.0
    assert facts['connreset_tcp']['status'] in ('ok', 'partial')
    assert sorted(facts) == ['connreset_meta', 'connreset_tcp']


# gather_subset that leaves nothing: the gate would pass with nothing checked.
@pytest.mark.parametrize('subset', [
    ['!all'],
    ['all', '!all'],
    ['!' + name for name in _collectors.NAMES],
    ['sshd', '!sshd'],
])
def test_a_subset_that_selects_nothing_fails(capsys, no_collector_runs, subset):
    out = run_module(capsys, {'gather_subset': subset})
    assert out['failed'] is True
    assert 'selects no collector, so nothing would be checked' in out['msg']
    assert "['!all', 'sshd', 'oom']" in out['msg']                   # how to pick collectors
    assert ', '.join(_collectors.NAMES) in out['msg']                 # and which there are


@pytest.mark.parametrize('subset, bad', [
    (['ssh'], "'ssh'"),
    (['sshd', 'wrappers'], "'wrappers'"),
    (['!tcpwrappers'], "'!tcpwrappers'"),
    ([''], "''"),
    (['SSHD'], "'SSHD'"),
])
def test_an_unknown_subset_name_lists_the_valid_ones(capsys, no_collector_runs, subset, bad):
    out = run_module(capsys, {'gather_subset': subset})
    assert out['failed'] is True
    assert bad in out['msg'] and 'gather_subset has unknown entries' in out['msg']
    for name in _collectors.NAMES:
        assert name in out['msg']


@pytest.mark.parametrize('budget', ['inf', '-inf', 'nan', 0, -1, 0.0, 600.5, 1e300, '1e999'])
def test_a_budget_out_of_range_fails_with_the_range(capsys, no_collector_runs, budget):
    out = run_module(capsys, {'gather_subset': ['tcp'], 'budget': budget})
    assert out['failed'] is True
    assert 'budget must be a number of seconds per collector, greater than 0 and at most 600' in out['msg']
    assert '(got ' in out['msg'] and 'the default is 20' in out['msg']


@pytest.mark.parametrize('budget', [0.001, 1, 20, 600])
def test_a_budget_in_range_is_accepted(budget):
    reset_facts.check_budget(float(budget))


# A bad option of a collector that gather_subset leaves out is still a mistake: it fails, naming
# the collector and the option.  One line per collector (its type check or its own validate()).
BAD_OPTIONS = [
    ('sshd', {'no_such_option': 1}, 'no_such_option'),
    ('sshd', {'since': 'yesterday'}, "'7d'"),
    ('oom', {'watch': ['a/b']}, 'option watch'),
    ('oom', {'since': '2024-13-45'}, 'since'),
    ('tcp_wrappers', {'daemon': ''}, 'daemon is empty'),
    ('tcp_wrappers', {'lookup_timeout': 'inf'}, 'lookup_timeout'),
    ('mtu', {'max_probes': 99}, 'max_probes must be between 2 and 30'),
    ('mtu', {'targets': ['controller']}, 'not an IPv4/IPv6 address'),
    ('conntrack', {'log_file': ['/var/log/kern.log']}, 'log_file'),
    ('conntrack', {'since': 'yesterday'}, 'since'),
    ('tcp', {'sample_seconds': 99}, 'sample_seconds=99 is out of range'),
    ('tcp', {'ports': 'ssh'}, 'ports'),
    ('firewall', {'ports': [0]}, 'not a TCP port'),
    ('firewall', {'clients': ['controller']}, 'not an IP address or CIDR'),
]


@pytest.mark.parametrize('name, options, message', BAD_OPTIONS, ids=['%s-%s' % (n, sorted(o)[0]) for n, o, _m in BAD_OPTIONS])
def test_bad_options_of_a_left_out_collector_fail(capsys, no_collector_runs, name, options, message):
    others = [n for n in _collectors.NAMES if n != name]
    out = run_module(capsys, {'gather_subset': [others[0]], name: options})
    assert out['failed'] is True, out
    assert out['msg'].startswith(name + ': '), out['msg']
    assert message in out['msg']
    assert 'left out by gather_subset; its options are checked all the same' in out['msg']


@pytest.mark.parametrize('name, options, message', BAD_OPTIONS, ids=['%s-%s' % (n, sorted(o)[0]) for n, o, _m in BAD_OPTIONS])
def test_bad_options_of_a_selected_collector_fail(capsys, no_collector_runs, name, options, message):
    out = run_module(capsys, {'gather_subset': [name], name: options})
    assert out['failed'] is True, out
    assert out['msg'].startswith(name + ': ') and message in out['msg']
    assert 'left out by gather_subset' not in out['msg']


def test_good_options_of_left_out_collectors_pass():
    params = {'gather_subset': ['tcp'], 'sshd': {'since': '1d'}, 'oom': {'watch': ['sshd']}, 'mtu': {'max_probes': 5},
              'firewall': {'ports': [22, 2222]}, 'tcp_wrappers': {'daemon': 'sshd'}, 'conntrack': {}, 'tcp': {}}
    assert reset_facts.check_options(params) == ['tcp']


def test_register_facts_false_returns_the_same_facts_as_a_result(capsys):
    """The diagnose role's way (register only): the facts as ``facts``, no ``ansible_facts``."""
    out = run_module(capsys, {'gather_subset': ['!all', 'tcp'], 'register_facts': False})
    assert 'failed' not in out and 'ansible_facts' not in out
    assert sorted(out['facts']) == ['connreset_meta', 'connreset_tcp']
    assert out['facts']['connreset_meta']['gather_subset'] == ['tcp']


def test_default_still_returns_ansible_facts(capsys):
    out = run_module(capsys, {'gather_subset': ['!all', 'tcp']})
    assert 'facts' not in out and sorted(out['ansible_facts']) == ['connreset_meta', 'connreset_tcp']


# A subset imports (and so compiles, in AnsiballZ's zip) only its own collectors; a left-out
# collector is imported only when options were given for it, to check them.
SUBSET_IMPORTS = r'''
import json, sys
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.connreset.doctor.plugins.modules import reset_facts
basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': json.loads(sys.argv[1])}))
basic._ANSIBLE_PROFILE = 'legacy'
try:
    reset_facts.main()
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules
                                   if m.startswith('ansible_collections.connreset.doctor.plugins.module_utils._'))))
'''


@pytest.mark.parametrize('args, imported', [
    ({'gather_subset': ['!all', 'tcp']}, ['_collectors', '_common', '_tcp']),
    # _conntrack reads the kernel log with _logs and _oom's parsers
    ({'gather_subset': ['!all', 'tcp'], 'conntrack': {'since': '1h'}},
     ['_collectors', '_common', '_conntrack', '_logs', '_oom', '_tcp']),
])
def test_a_subset_imports_only_its_collectors(args, imported):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, '-c', SUBSET_IMPORTS, json.dumps(args)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == imported, proc.stderr


def test_collector_options_merge_under_each_collectors_own(capsys):
    """One dict for all collectors (what the diagnose role passes); a collector's own option wins key by key."""
    out = run_module(capsys, {'gather_subset': ['!all', 'tcp'],
                              'collector_options': {'tcp': {'ports': [22, 2222]}, 'conntrack': {'since': '2h'}},
                              'tcp': {'ports': [22]}})
    assert 'failed' not in out, out
    assert out['ansible_facts']['connreset_meta']['gather_subset'] == ['tcp']


def test_collector_options_are_the_collectors_options(monkeypatch):
    params = {'collector_options': {'tcp': {'ports': [22, 2222]}, 'conntrack': {'since': '2h'}},
              'tcp': {'ports': [22]}, 'conntrack': {}}
    reset_facts.merge_collector_options(params)
    assert params['tcp'] == {'ports': [22]} and params['conntrack'] == {'since': '2h'}


@pytest.mark.parametrize('shared, message', [
    ({'sshdd': {}}, "collector_options has unknown collectors 'sshdd': use any of sshd, oom"),
    ({'sshd': [1]}, 'collector_options.sshd must be a dict'),
    ({'conntrack': {'no_such_option': 1}}, 'conntrack: '),
])
def test_bad_collector_options_fail_before_anything_runs(capsys, no_collector_runs, shared, message):
    out = run_module(capsys, {'gather_subset': ['!all', 'tcp'], 'collector_options': shared})
    assert out['failed'] and message in out['msg'], out['msg']
