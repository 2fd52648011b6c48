# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One collector list: plugins/module_utils/_collectors.py NAMES.

What can derive from it does (reset_facts' options, the roles' collector_options, the catalogue's
coverage findings and AREAS).  What cannot, because it is documentation a tool reads as text (a
module's DOCUMENTATION/RETURN, a role's argument_specs, defaults comments and README), is checked
here: a collector added to COLLECTORS and missing from any of them fails, naming the file.
"""

from __future__ import annotations

import ast
import os
import re

import pytest
import yaml

from ansible_collections.connreset.doctor.plugins.module_utils._collectors import NAMES, fact_key
from ansible_collections.connreset.doctor.plugins.plugin_utils import _catalogue

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as handle:
        return handle.read()


def _module_docs(name):
    """DOCUMENTATION and RETURN of plugins/modules/<name>.py."""
    found = {}
    for node in ast.parse(_read('plugins', 'modules', name + '.py')).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ('DOCUMENTATION', 'RETURN'):
                    found[target.id] = yaml.safe_load(node.value.value)
    return found['DOCUMENTATION'], found['RETURN']


def _text(description):
    return ' '.join(description) if isinstance(description, list) else str(description)


def single_module(name):
    """The single-collector module of ``name``: the one whose main() runs run_collector('<name>', ...)."""
    call = re.compile(r"run_collector\('%s'," % re.escape(name))
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                     if f.endswith('.py') and call.search(_read('plugins', 'modules', f)))
    assert len(modules) == 1, 'collector %s: one module must run it on its own (plugins/modules), found %s' % (
        name, modules or 'none')
    return modules[0]


RESET_DOC, RESET_RETURN = _module_docs('reset_facts')
DIAGNOSE_SPEC = yaml.safe_load(_read('roles', 'diagnose', 'meta', 'argument_specs.yml'))['argument_specs']['main']
DIAGNOSE_DEFAULTS = _read('roles', 'diagnose', 'defaults', 'main.yml')
DIAGNOSE_README = _read('roles', 'diagnose', 'README.md')


def _comment_before(text, variable):
    """The comment block right above ``variable:`` in a defaults file, as one line."""
    lines = text.split('\n')
    index = next(i for i, line in enumerate(lines) if line.startswith(variable + ':'))
    block = []
    for line in reversed(lines[:index]):
        if not line.startswith('#'):
            break
        block.insert(0, line.lstrip('# '))
    return ' '.join(block)


@pytest.mark.parametrize('name', NAMES)
def test_reset_facts_documents_every_collector(name):
    where = 'plugins/modules/reset_facts.py'
    assert name in RESET_DOC['options'], '%s: DOCUMENTATION options lacks %s' % (where, name)
    assert 'V(%s)' % name in _text(RESET_DOC['options']['gather_subset']['description']), (
        '%s: the gather_subset description does not name V(%s)' % (where, name))
    assert fact_key(name) in RESET_RETURN['ansible_facts']['contains'], '%s: RETURN lacks %s' % (where, fact_key(name))
    assert 'V(%s)' % name in _text(RESET_RETURN['ansible_facts']['contains']['connreset_meta']['contains']
                                   ['gather_subset']['description']) or name in str(RESET_RETURN), where
    seealso = [entry.get('module') for entry in RESET_DOC.get('seealso', [])]
    assert 'connreset.doctor.%s' % single_module(name) in seealso, '%s: seealso lacks %s' % (where, single_module(name))


@pytest.mark.parametrize('name', NAMES)
def test_diagnose_role_documents_every_collector(name):
    options = DIAGNOSE_SPEC['options']
    for option in ('diagnose_gather_subset', 'diagnose_collector_options'):
        assert 'V(%s)' % name in _text(options[option]['description']), (
            'roles/diagnose/meta/argument_specs.yml: the %s description does not name V(%s)' % (option, name))
        assert re.search(r'\b%s\b' % re.escape(name), _comment_before(DIAGNOSE_DEFAULTS, option)), (
            'roles/diagnose/defaults/main.yml: the comment of %s does not name %s' % (option, name))
    row = next(line for line in DIAGNOSE_README.split('\n') if line.startswith('| `diagnose_gather_subset`'))
    assert '`%s`' % name in row, 'roles/diagnose/README.md: the diagnose_gather_subset row does not name %s' % name


@pytest.mark.parametrize('name', NAMES)
def test_catalogue_knows_every_collector(name):
    # coverage findings derive from NAMES (a default area when missing); this asks for a real entry
    assert name in _catalogue.COLLECTOR_AREAS, (
        'plugins/plugin_utils/_catalogue.py: COLLECTOR_AREAS lacks %s (area code, human name, what an unread part '
        'hides)' % name)
    area = _catalogue.AREAS[fact_key(name)][0]
    assert _catalogue.CATALOGUE['CRD-COV-%s' % area]['cause'] == 'coverage'


def test_areas_follow_the_collector_list():
    assert list(_catalogue.AREAS) == [fact_key(name) for name in NAMES]
    assert set(_catalogue.COLLECTOR_AREAS) <= set(NAMES), 'COLLECTOR_AREAS names a collector that does not exist'


def test_a_new_collector_gets_a_coverage_finding_by_default():
    assert _catalogue._collector_area('new_thing')[0] == 'NEWTHING'
    assert _catalogue.ID_PATTERN.match('CRD-COV-NEWTHING')


def test_roles_pass_collector_options_as_one_dict():
    # the per-collector options are not written out in the roles: reset_facts takes collector_options
    for path in (('roles', 'diagnose', 'tasks', 'host.yml'), ('roles', 'diagnose', 'tasks', 'capture.yml'),
                 ('roles', 'remediate', 'tasks', 'main.yml')):
        text = _read(*path)
        # a task option (collector_options:) or a key of host.yml's collect_args ('collector_options':)
        assert re.search(r"\bcollector_options'?:", text), '/'.join(path)
        for name in NAMES:
            assert not re.search(r'_collector_options\.%s\b' % re.escape(name), text), (
                '%s passes the %s collector\'s options on their own: use collector_options' % ('/'.join(path), name))
