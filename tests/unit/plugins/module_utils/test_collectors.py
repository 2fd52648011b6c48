# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""reset_facts' registry: gather_subset resolution, option validation, budgets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import errno
import json
import os
import sys
import time

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _collectors, _sshd
from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult, OptionError, System, result

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
        # defaults of every collector validate on their own, also against its own checks: so
        # reset_facts need not import a left-out collector that was given no options
        params = _collectors.validate_options(name, {})
        for check in ('validate', 'check_options'):
            if getattr(module, check, None) is not None:
                message = getattr(module, check)(params)   # a message, or None (or the params)
                assert not (isinstance(message, str) and message), (name, message)


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
    assert meta['controller'] is None and 'SSH_CONNECTION is not set' in meta['controller_reason']


@pytest.mark.parametrize('environ, controller, reason', [
    ({'SSH_CONNECTION': '10.213.12.1 40522 10.213.12.5 22'}, '10.213.12.1', None),
    ({'SSH_CONNECTION': 'fe80::1%eth0 40522 fe80::5 22'}, 'fe80::1', None),
    ({'SSH_CONNECTION': 'not-an-address 1 2 3'}, None, 'does not start with an IP address'),
    ({}, None, 'SSH_CONNECTION is not set'),
])
def test_meta_controller_is_the_one_home_of_the_controller_address(monkeypatch, environ, controller, reason):
    class Fast:
        ARGUMENT_SPEC = {}

        @staticmethod
        def collect(system, params):
            return {'status': 'ok', 'reason': None}

    monkeypatch.setattr(_collectors, 'COLLECTORS', (('oom', Fast),))
    monkeypatch.setattr(_collectors, 'NAMES', ('oom',))
    meta = _collectors.gather(System(environ=environ), ['all'], {}, budget=5)['connreset_meta']
    assert meta['controller'] == controller
    assert (meta['controller_reason'] is None) if reason is None else (reason in meta['controller_reason'])


# --------------------------------------------------------------------------------------------
# one gather, each read-only command at most once
# --------------------------------------------------------------------------------------------
SSHD_T = os.path.join(os.path.dirname(__file__), 'samples', 'sshd', 'sshd_T_9.2p1_debian12.txt')
LDD_WRAP = '\tlibwrap.so.0 => /lib/x86_64-linux-gnu/libwrap.so.0 (0x00007f55f660a000)\n'
LDD_NO_WRAP = '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f55f6400000)\n'


class FakeHost(System):
    """The real System, its command cache included, over a fake file system and fake commands.

    ``ran`` records every command that was started (not the cached answers); commands are looked
    up by the name of the binary and a prefix of the arguments.  No journal: the kernel log comes
    from dmesg, which both the OOM and the conntrack collectors read.
    """

    euid = 0

    def __init__(self, files, commands):
        super(FakeHost, self).__init__(environ={})
        self.files = files
        self.commands = commands
        self.binaries = dict((os.path.basename(name), name) for name in (
            '/usr/sbin/sshd', '/usr/bin/ssh', '/usr/bin/ldd', '/usr/bin/dmesg', '/usr/bin/journalctl'))
        self.ran = []

    def exists(self, path):
        return path in self.files or path in self.binaries.values()

    def isdir(self, path):
        return False

    def listdir(self, path):
        raise OSError(errno.ENOENT, 'No such file or directory', path)

    def readlink(self, path):
        raise OSError(errno.ENOENT, 'No such file or directory', path)

    def stat(self, path):
        raise OSError(errno.ENOENT, 'No such file or directory', path)

    def read_bytes(self, path, max_bytes=None):
        self.check_deadline()
        if path not in self.files:
            raise OSError(errno.ENOENT, 'No such file or directory', path)
        return self.files[path].encode('utf-8')

    def lines(self, path):
        return iter(self.read(path).splitlines())

    def which(self, name):
        return self.binaries.get(name)

    def _execute(self, argv, timeout, data):
        self.ran.append(' '.join([os.path.basename(argv[0])] + argv[1:]))
        key = tuple([os.path.basename(argv[0])] + argv[1:])
        for prefix, answer in self.commands.items():
            if key[:len(prefix)] == prefix:
                return CommandResult(argv, *answer)
        return CommandResult(argv, 1, '', '%s: not in the fake table' % argv[0])

    def run_stream(self, argv, timeout=60):
        self.ran.append(' '.join([os.path.basename(argv[0])] + list(argv[1:])))
        return {'rc': 1, 'err': 'No journal files were found.\n', 'error': None}, iter(())


def fake_host(sshd_T_rc=0):
    with open(SSHD_T) as handle:
        sshd_t = handle.read()
    # sshd and sshd-session (OpenSSH 9.8 and later) that are not ELF files: ldd answers for them
    # booted an hour ago, so the dmesg lines are within the collectors' default 7 days
    files = {'/proc/stat': 'cpu 1 2 3\nbtime %d\n' % (time.time() - 3600), '/proc/sys/kernel/hostname': 'web1\n',
             '/etc/ssh/sshd_config': 'Port 22\n', '/etc/hosts.allow': '', '/etc/hosts.deny': 'ALL: 192.0.2.66\n',
             '/usr/sbin/sshd': 'not an ELF file', '/usr/lib/openssh/sshd-session': 'not an ELF file either'}
    commands = {
        ('sshd', '-T'): (0, sshd_t, '') if sshd_T_rc == 0 else (255, '', 'sshd: no hostkeys available -- exiting.\n'),
        ('sshd', '-t'): (0, '', '') if sshd_T_rc == 0 else (255, '', 'sshd: no hostkeys available -- exiting.\n'),
        ('sshd', '-V'): (0, '', 'OpenSSH_9.9p1 Debian-3, OpenSSL 3.5.1 1 Jul 2025\n'),
        ('ldd', '/usr/sbin/sshd'): (0, LDD_NO_WRAP, ''),
        ('ldd', '/usr/lib/openssh/sshd-session'): (0, LDD_WRAP + LDD_NO_WRAP, ''),
        ('dmesg',): (0, '[    0.000000] Linux version 6.1.0-40-amd64\n'
                        '[ 5000.100000] nf_conntrack: nf_conntrack: table full, dropping packet\n', ''),
    }
    return FakeHost(files, commands)


def test_one_gather_runs_each_read_only_command_once():
    host = fake_host()
    facts = _collectors.gather(host, ['all'], {}, budget=30)
    for name in _collectors.NAMES:
        assert 'internal error' not in (facts['connreset_%s' % name]['reason'] or ''), name
    counts = collections.Counter(host.ran)
    assert [argv for argv, count in counts.items() if count > 1] == []
    # ldd once per binary for the sshd and tcp_wrappers collectors together, dmesg once for the
    # oom and conntrack collectors, and no sshd -t after sshd -T printed the configuration
    assert counts['ldd /usr/sbin/sshd'] == 1 and counts['ldd /usr/lib/openssh/sshd-session'] == 1
    assert sum(1 for argv in host.ran if argv.startswith('ldd ')) == 2
    assert counts['dmesg'] == 1
    assert [argv for argv in host.ran if argv.startswith('sshd -t')] == []
    assert len([argv for argv in host.ran if argv.startswith('sshd -T')]) == 1
    # both collectors still report what they read from the shared answers
    sshd, wrappers = facts['connreset_sshd'], facts['connreset_tcp_wrappers']
    assert sshd['libwrap'] is True and wrappers['libwrap_in_use'] is True
    assert sshd['libwrap_binaries'] == [{'path': '/usr/sbin/sshd', 'libwrap': False, 'method': 'ldd'},
                                        {'path': '/usr/lib/openssh/sshd-session', 'libwrap': True, 'method': 'ldd'}]
    assert wrappers['libwrap_binaries'] == {'/usr/sbin/sshd': False, '/usr/lib/openssh/sshd-session': True}
    assert sshd['config']['valid'] is True and sshd['config']['status'] == 'ok'
    for name in ('oom', 'conntrack'):
        part = facts['connreset_oom']['log'] if name == 'oom' else facts['connreset_conntrack']['table_full_events']
        dmesg = [source for source in part['sources'] if source['name'] == 'dmesg']
        assert dmesg == [{'name': 'dmesg', 'status': 'ok', 'reason': None, 'lines': 2, 'skipped_lines': 0,
                          'outside_lines': 0}], name
    assert facts['connreset_conntrack']['table_full_events']['count'] == 1


def test_one_gather_runs_sshd_t_when_sshd_T_fails():
    host = fake_host(sshd_T_rc=255)
    facts = _collectors.gather(host, ['all'], {}, budget=30)
    assert collections.Counter(host.ran)['sshd -t -f /etc/ssh/sshd_config'] == 1
    config = facts['connreset_sshd']['config']
    assert config['status'] == 'unknown' and config['valid'] is None and config['error'] == 'sshd: no hostkeys available -- exiting.'


def test_single_collector_modules_share_nothing():
    # the cache lives on one System: a second System (another module run) runs dmesg again
    first, second = fake_host(), fake_host()
    _collectors.gather(first, ['oom'], {}, budget=30)
    _collectors.gather(second, ['conntrack'], {}, budget=30)
    assert first.ran.count('dmesg') == 1 and second.ran.count('dmesg') == 1


@pytest.mark.parametrize('suite', ['bullseye', 'bookworm', 'trixie'])
def test_real_gather_output_carries_the_contract_keys(suite):
    """The contract fixtures (real gather() output of lab hosts, tests/utils/capture_lab_samples.py
    --only facts) hold the typed keys the engine reads (docs/development.md, the contract)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'plugin_utils', 'fixtures',
                        'facts_%s_clean.json' % suite)
    with open(path, encoding='utf-8') as handle:
        doc = json.load(handle)
    facts = doc['facts']
    meta = facts['connreset_meta']
    assert meta['controller'] == doc['_origin']['controller'] and meta['controller_reason'] is None
    config = facts['connreset_sshd']['config']
    assert config['unparsed'] == {} and set(config['values']) == set(_sshd.typed_config({}))
    assert isinstance(config['values']['logingracetime'], int) and isinstance(config['values']['tcpkeepalive'], bool)
    for rule in facts['connreset_firewall']['rules']:
        assert {'ports', 'negated_ports', 'limit', 'invalid', 'action'} <= set(rule)
