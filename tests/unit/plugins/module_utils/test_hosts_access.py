# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _hosts_access (libwrap's rule matching and the walk), and for when it is imported.

_tcp_wrappers.evaluate() imports _hosts_access only when a table holds a rule or a stop; with neither
(hosts.allow and hosts.deny missing, empty, or comments only: the distributions' defaults) it returns
no_rule_verdict(), which is what walk() gives for no step.  The matching itself is tested in
test_tcp_wrappers.py (tcpdmatch's verdicts); here: the two paths give the same verdict, and the light
one compiles nothing more.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _hosts_access as ha
from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_wrappers as tw

# Debian 12 tcpd 7.6.q-32 /etc/hosts.deny as shipped (comments only), and the first lines of its hosts.allow.
DEBIAN_DENY = '''# /etc/hosts.deny: list of hosts that are _not_ allowed to access the system.
#                  See the manual pages hosts_access(5) and hosts_options(5).
#
# Example:    ALL: some.host.name, .some.domain
#             ALL EXCEPT in.fingerd: other.host.name, .other.domain
#
# If you're going to protect the portmapper use the name "rpcbind" for the
# daemon name. See rpcbind(8) and rpc.mountd(8) for further information.
#
# The PARANOID wildcard checks host name and address consistency.
# Please read /usr/share/doc/tcpd/README.Debian.gz for more information.
#
# You may wish to enable this to deny access to any host:
#ALL: PARANOID
'''
DEBIAN_ALLOW = '''# /etc/hosts.allow: list of hosts that are allowed to access the system.
#                   See the manual pages hosts_access(5) and hosts_options(5).
#
# Example:    ALL: LOCAL @some_netgroup
'''
MODULE_UTILS = 'ansible_collections.connreset.doctor.plugins.module_utils'
HERE = os.path.dirname(os.path.abspath(__file__))

# (allow text, deny text): tables libwrap reads no rule and no stop from
NO_RULE_TABLES = [
    ('', ''),
    (DEBIAN_ALLOW, DEBIAN_DENY),
    ('\n\n  \t\n', '# one comment\n'),
    ('#ALL: ALL\\\nsshd: ALL\n', ''),           # a continued comment line is still a comment
]
# (allow text, deny text, client, access, line): tables that need the matching
RULE_TABLES = [
    ('sshd: 192.0.2.0/255.255.255.0 : allow\n', DEBIAN_DENY, '192.0.2.7', 'granted', 1),
    (DEBIAN_ALLOW, 'ALL: ALL\n', '192.0.2.7', 'denied', 1),
    ('', 'sshd: 198.51.100.\n', '192.0.2.7', 'granted', None),
    ('', 'ALL: ALL', '192.0.2.7', 'denied', None),        # missing newline: libwrap stops reading hosts.deny
]


def _tables(allow, deny):
    rules_allow, errors_allow = tw.parse(allow, '/etc/hosts.allow')
    rules_deny, errors_deny = tw.parse(deny, '/etc/hosts.deny')
    stops = {'allow': tw.table_stop(errors_allow), 'deny': tw.table_stop(errors_deny)}
    return rules_allow, rules_deny, stops


def test_walk_of_no_step_is_the_default_verdict():
    assert ha.walk([], ha.Context('sshd', '192.0.2.7')) == tw.no_rule_verdict()
    assert tw.no_rule_verdict() == {'access': 'granted', 'file': None, 'line': None, 'end_line': None,
                                    'reason': 'no rule matches: libwrap grants access by default', 'options': []}


@pytest.mark.parametrize('allow, deny', NO_RULE_TABLES)
@pytest.mark.parametrize('client', ['192.0.2.7', '2001:db8::7', '127.0.0.1'])
def test_no_rule_tables_give_the_walks_verdict(allow, deny, client):
    rules_allow, rules_deny, stops = _tables(allow, deny)
    assert rules_allow == [] and rules_deny == [] and stops == {'allow': None, 'deny': None}
    verdict = tw.evaluate(rules_allow, rules_deny, 'sshd', client, stops=stops)
    walked = ha.walk([], ha.Context('sshd', client))
    walked.update({'client': client, 'daemon': 'sshd'})
    assert verdict == walked


@pytest.mark.parametrize('allow, deny, client, access, line', RULE_TABLES)
def test_rule_tables_walk(allow, deny, client, access, line):
    rules_allow, rules_deny, stops = _tables(allow, deny)
    verdict = tw.evaluate(rules_allow, rules_deny, 'sshd', client, hostname=None, stops=stops)
    assert (verdict['access'], verdict['line']) == (access, line)
    assert verdict['client'] == client and verdict['daemon'] == 'sshd'


def _modules_after(code):
    """The collection's module_utils a fresh interpreter holds after running ``code``."""
    script = code + ('\nimport json, sys\nprint(json.dumps(sorted(m.rsplit(".", 1)[1] for m in sys.modules '
                     'if m.startswith(%r))))' % (MODULE_UTILS + '._'))
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(proc.stdout.strip().splitlines()[-1])


COLLECT = '''
from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_wrappers as tw
from ansible_collections.connreset.doctor.plugins.module_utils._common import System
fact = tw.collect(System(environ={'SSH_CONNECTION': '192.0.2.7 50000 192.0.2.1 22'}), {'allow_path': %r, 'deny_path': %r})
assert fact['verdicts'][0]['access'] == %r, fact
'''


@pytest.mark.parametrize('allow, deny, access, engine', [
    (None, None, 'granted', False),                       # neither file exists
    ('', DEBIAN_DENY, 'granted', False),
    (DEBIAN_ALLOW, DEBIAN_DENY, 'granted', False),
    ('sshd: 192.0.2.7 : deny\n', '', 'denied', True),
    ('', 'ALL: ALL', 'denied', True),                     # a stop only
])
def test_collect_imports_the_matching_only_for_rules(tmp_path, allow, deny, access, engine):
    paths = []
    for name, text in (('hosts.allow', allow), ('hosts.deny', deny)):
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        paths.append(str(path))
    loaded = _modules_after(COLLECT % (paths[0], paths[1], access))
    assert ('_hosts_access' in loaded) is engine, loaded


def _imports_anywhere(path):
    """Every ``from ...module_utils import X`` of a file, those inside functions too (what AnsiballZ ships)."""
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == MODULE_UTILS:
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith(MODULE_UTILS + '.'):
            found.add(node.module.rsplit('.', 1)[1])
    return found


def test_lazy_imports_are_still_shipped():
    """AnsiballZ bundles the module_utils it finds in import statements, also inside functions."""
    root = os.path.join(HERE, '..', '..', '..', '..', 'plugins', 'module_utils')
    assert '_hosts_access' in _imports_anywhere(os.path.join(root, '_tcp_wrappers.py'))
    assert '_endpoint_stack' in _imports_anywhere(os.path.join(root, '_endpoints.py'))
    assert {'_svcconf', '_uwsgi'} <= _imports_anywhere(os.path.join(root, '_endpoint_stack.py'))
