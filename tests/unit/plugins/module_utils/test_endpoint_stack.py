# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for when _endpoint_stack (the per-endpoint machinery of the endpoints collector) is imported.

_endpoints.collect() imports it only when the call names an endpoint: the default ``reset_facts`` call
(no endpoint) reads the host-wide parts (sysctls, ephemeral ports) and compiles neither it nor the
program configuration readers (_svcconf, _uwsgi) it uses.  Its functions are tested in test_endpoints.py
and test_svcconf.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess
import sys

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _endpoint_stack, _endpoints
from ansible_collections.connreset.doctor.plugins.module_utils._common import System

MODULE_UTILS = 'ansible_collections.connreset.doctor.plugins.module_utils'
COLLECT = '''
import json, sys
from ansible_collections.connreset.doctor.plugins.module_utils import _endpoints
from ansible_collections.connreset.doctor.plugins.module_utils._common import System
fact = _endpoints.collect(System(), json.loads(%r))
assert fact['status'] in ('ok', 'partial', 'unknown') and len(fact['endpoints']) == %d, fact
print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith(%r))))
'''


@pytest.mark.parametrize('params, imported, not_imported', [
    ({}, {'_endpoints', '_common', '_logs', '_tcp'}, {'_endpoint_stack', '_svcconf', '_uwsgi', '_service', '_sshd', '_oom'}),
    ({'endpoints': []}, {'_endpoints'}, {'_endpoint_stack', '_svcconf', '_uwsgi'}),
    ({'endpoints': [{'port': 1}]}, {'_endpoint_stack', '_oom', '_service', '_sshd'}, set()),
])
def test_collect_imports_the_stack_only_for_endpoints(params, imported, not_imported):
    script = COLLECT % (json.dumps(params), len(params.get('endpoints') or []), MODULE_UTILS + '._')
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, check=True, timeout=120)
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert imported <= loaded and not loaded & not_imported, sorted(loaded)


def test_no_endpoint_fact_keeps_its_keys():
    fact = _endpoints.collect(System(), {'endpoints': []})
    assert sorted(fact) == ['endpoints', 'ephemeral_ports', 'reason', 'status', 'sysctls']
    assert fact['endpoints'] == [] and fact['status'] == 'ok'


def test_stack_reads_the_options_home():
    """The per-endpoint code takes the unit-name rule and the endpoint bound from _endpoints (one home)."""
    assert _endpoint_stack.unit_name is _endpoints.unit_name
    assert _endpoint_stack.MAX_ENDPOINTS == _endpoints.MAX_ENDPOINTS
