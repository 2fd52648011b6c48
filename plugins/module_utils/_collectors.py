# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The registry of collectors and the aggregate run behind ``reset_facts``.  Private."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.connreset.doctor.plugins.module_utils._common import OptionError, controller_seen, run_collector


class LazyCollector:
    """A collector's module_utils file, imported the first time one of its attributes is read.

    ``reset_facts`` ships every collector (AnsiballZ bundles the module_utils it finds by reading
    the imports, those inside functions too), but a call compiles and imports only the collectors
    it runs, or whose options it was given to check: a subset pays for its own collectors only
    (docs/performance.md).  Reads like the module itself (``ARGUMENT_SPEC``, ``collect``, ...).
    """

    def __init__(self, load):
        self._load = load
        self._module = None

    @property
    def loaded(self):
        return self._module is not None

    def __getattr__(self, attribute):
        if attribute.startswith('__') or attribute in ('_load', '_module'):
            raise AttributeError(attribute)
        if self._module is None:
            self._module = self._load()
        return getattr(self._module, attribute)


# One loader per collector, each with its own import statement (AnsiballZ finds imports, not names).
def _load_sshd():
    from ansible_collections.connreset.doctor.plugins.module_utils import _sshd as module
    return module


def _load_oom():
    from ansible_collections.connreset.doctor.plugins.module_utils import _oom as module
    return module


def _load_tcp_wrappers():
    from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_wrappers as module
    return module


def _load_mtu():
    from ansible_collections.connreset.doctor.plugins.module_utils import _mtu as module
    return module


def _load_conntrack():
    from ansible_collections.connreset.doctor.plugins.module_utils import _conntrack as module
    return module


def _load_tcp():
    from ansible_collections.connreset.doctor.plugins.module_utils import _tcp as module
    return module


def _load_firewall():
    from ansible_collections.connreset.doctor.plugins.module_utils import _firewall as module
    return module


def _load_endpoints():
    from ansible_collections.connreset.doctor.plugins.module_utils import _endpoints as module
    return module


# name → module_utils file (a LazyCollector, or the module itself).  Order is the order collectors
# run in; the fact key is ``connreset_<name>`` and the single-collector module is
# ``connreset.doctor.<name>_facts``.
COLLECTORS = (
    ('sshd', LazyCollector(_load_sshd)),
    ('oom', LazyCollector(_load_oom)),
    ('tcp_wrappers', LazyCollector(_load_tcp_wrappers)),
    ('mtu', LazyCollector(_load_mtu)),
    ('conntrack', LazyCollector(_load_conntrack)),
    ('tcp', LazyCollector(_load_tcp)),
    ('firewall', LazyCollector(_load_firewall)),
    ('endpoints', LazyCollector(_load_endpoints)),
)
# Collectors whose single-collector module is not <name>_facts (issue 13 names it endpoint_facts).
MODULE_NAMES = {'endpoints': 'endpoint_facts'}
NAMES = tuple(name for name, _m in COLLECTORS)
DEFAULT_BUDGET = 20.0


def fact_key(name):
    return 'connreset_%s' % name


def resolve_subset(subset):
    """``gather_subset`` → ordered list of collector names, as ``setup`` reads it.

    ``all`` adds every collector, ``NAME`` adds one, ``!NAME`` removes one, ``!all`` removes
    all (so ``['!all', 'sshd']`` is just sshd).  Only exclusions → start from ``all``.
    Raises OptionError naming the bad entries and the valid ones.
    """
    entries = [str(e).strip() for e in (subset or [])]
    bad = [e for e in entries if e.lstrip('!') not in NAMES + ('all',)]
    if bad:
        raise OptionError('gather_subset has unknown entries %s: use all, %s, or any of them prefixed with ! to exclude'
                          % (', '.join(repr(b) for b in bad), ', '.join(NAMES)))
    chosen = set()
    if not entries or all(e.startswith('!') for e in entries):
        chosen = set(NAMES)
    for entry in entries:
        name = entry.lstrip('!')
        members = NAMES if name == 'all' else (name,)
        if entry.startswith('!'):
            chosen.difference_update(members)
        else:
            chosen.update(members)
    return [name for name in NAMES if name in chosen]


def validate_options(name, options):
    """Check one collector's sub-options against its own ARGUMENT_SPEC; return them with defaults."""
    module = dict(COLLECTORS)[name]
    result = ArgumentSpecValidator(module.ARGUMENT_SPEC).validate(dict(options or {}))
    if result.error_messages:
        raise OptionError('%s: %s (these are the options of connreset.doctor.%s)'
                          % (name, '; '.join(result.error_messages), MODULE_NAMES.get(name, name + '_facts')))
    return result.validated_parameters


def gather(system, subset, options, budget=DEFAULT_BUDGET):
    """Run the chosen collectors one after the other, each under ``budget`` seconds.

    Returns the ``ansible_facts`` dict: one ``connreset_<name>`` per collector that ran, plus
    ``connreset_meta`` with timings.  Options are validated before anything runs.
    """
    names = resolve_subset(subset)
    params = dict((name, validate_options(name, (options or {}).get(name))) for name in names)
    started = time.monotonic()
    facts = {}
    for name in names:
        facts[fact_key(name)] = run_collector(name, dict(COLLECTORS)[name].collect, system, params[name], budget)
    controller, controller_reason = controller_seen(system)
    facts['connreset_meta'] = {
        'gather_subset': names,
        # the controller's address as the host saw it connect (SSH_CONNECTION): the one home the
        # diagnosis and the remediate role read it from (docs/development.md, the contract)
        'controller': controller,
        'controller_reason': controller_reason,
        'budget_s': budget,
        'elapsed_s': round(time.monotonic() - started, 4),
        'collectors': dict((name, {'status': facts[fact_key(name)]['status'],
                                   'elapsed_s': facts[fact_key(name)]['elapsed_s']}) for name in names),
    }
    return facts
