# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""reset_facts with gather_subset all on this very machine, as root and as an unprivileged user.

Nothing may fail, and every collector must say ok, or partial/unknown with a reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

BUILD = os.path.join(os.path.dirname(__file__), '..', '..', '.build')
SNIPPET = '''
import json
from ansible_collections.connreset.doctor.plugins.module_utils import _collectors
from ansible_collections.connreset.doctor.plugins.module_utils._common import System
print(json.dumps(_collectors.gather(System(), ['all'], {}, budget=30)))
'''


def run_gather(prefix=()):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(BUILD))
    proc = subprocess.run(list(prefix) + [sys.executable, '-c', SNIPPET], capture_output=True, text=True,
                          timeout=300, env=env, check=False, cwd='/')
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_every_collector(facts):
    from ansible_collections.connreset.doctor.plugins.module_utils import _collectors
    for name in _collectors.NAMES:
        fact = facts['connreset_%s' % name]
        assert fact['status'] in ('ok', 'partial', 'unknown'), (name, fact['status'])
        assert 'internal error' not in (fact['reason'] or ''), (name, fact['reason'])
        if fact['status'] != 'ok':
            assert fact['reason'], '%s is %s without a reason' % (name, fact['status'])
        assert fact['elapsed_s'] >= 0
    return {name: facts['connreset_%s' % name]['status'] for name in _collectors.NAMES}


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_gather_all_as_root():
    statuses = check_every_collector(run_gather())
    print('as root:', statuses)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('setpriv'), reason='needs root and setpriv to drop privileges')
def test_gather_all_as_nobody():
    # the venv's python must be reachable by nobody: it is when the checkout is world-readable
    facts = run_gather(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'])
    statuses = check_every_collector(facts)
    print('as nobody:', statuses)
    # nobody cannot read sshd's host keys: the effective configuration cannot be known
    assert facts['connreset_sshd']['config']['status'] != 'ok'
