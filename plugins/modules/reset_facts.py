#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: reset_facts
short_description: Gather every connection-reset fact of a host in one module call
version_added: 1.0.0
description:
  - Runs any subset of the collection's collectors (sshd, OOM kills, TCP wrappers, MTU, conntrack,
    kernel TCP counters, firewall, the TCP services you name) in B(one) module call, so a fleet pays one round
    trip per host.
  - Returns the same facts, under the same keys, as the single-collector modules
    (M(connreset.doctor.sshd_facts) returns C(connreset_sshd), and so on), plus C(connreset_meta)
    with each collector's time.
  - Each collector runs under its own time budget; one that runs over it (a huge journal, a path-MTU
    probe into a black hole) reports C(status=unknown) with C(reason=timeout) and the others still run.
  - Read-only. It never changes the host, in check mode or not.
  - Like M(ansible.builtin.setup)'s, its facts are not printed with C(-v) (they are large and hold log
    samples); register the result or use the facts to see them.
author: connreset.doctor contributors (@connreset)
options:
  gather_subset:
    description:
      - Which collectors to run, as for M(ansible.builtin.setup).
      - V(all) runs every collector; a name (V(sshd), V(oom), V(tcp_wrappers), V(mtu), V(conntrack),
        V(tcp), V(firewall), V(endpoints)) adds one; V(!name) excludes one; V(!all) excludes all.
      - A list of exclusions only starts from V(all).
      - A subset that leaves no collector (V(!all) alone, or every name excluded) fails, because a run
        that checks nothing would pass every gate. An unknown name fails with the list of valid ones.
    type: list
    elements: str
    default: [all]
  budget:
    description:
      - Time budget of each collector, in seconds, greater than 0 and at most 600.
      - V(inf), V(nan), 0, negative or larger values fail with the accepted range.
    type: float
    default: 20
  sshd:
    description:
      - Options of the sshd collector, exactly as for M(connreset.doctor.sshd_facts).
      - The options of B(every) collector are checked, also of one that O(gather_subset) leaves out;
        an unknown key or a bad value fails the task with a message naming the collector and the option.
    type: dict
    default: {}
  oom:
    description:
      - Options of the OOM collector, exactly as for M(connreset.doctor.oom_facts).
    type: dict
    default: {}
  tcp_wrappers:
    description:
      - Options of the TCP wrappers collector, exactly as for M(connreset.doctor.tcp_wrappers_facts).
    type: dict
    default: {}
  mtu:
    description:
      - Options of the MTU collector, exactly as for M(connreset.doctor.mtu_facts).
    type: dict
    default: {}
  conntrack:
    description:
      - Options of the conntrack collector, exactly as for M(connreset.doctor.conntrack_facts).
    type: dict
    default: {}
  tcp:
    description:
      - Options of the kernel TCP collector, exactly as for M(connreset.doctor.tcp_facts).
    type: dict
    default: {}
  firewall:
    description:
      - Options of the firewall collector, exactly as for M(connreset.doctor.firewall_facts).
    type: dict
    default: {}
  endpoints:
    description:
      - Options of the endpoints collector, exactly as for M(connreset.doctor.endpoint_facts) - its
        C(endpoints) list (C({name, port, unit, protocol, front})) and C(since).
      - Without endpoints it reads nothing but three sysctls and the ephemeral ports in use.
    type: dict
    default: {}
  collector_options:
    description:
      - The options of several collectors in one dict, keyed by collector name (V(sshd), V(oom), ...), for a
        role that passes one variable for all of them (the diagnose role passes C(diagnose_collector_options)).
      - Each collector's own option (O(sshd), O(oom), ...) is merged over its entry here, key by key.
      - An unknown collector name fails with the list of valid ones.
    type: dict
    default: {}
  register_facts:
    description:
      - V(true) returns the facts as C(ansible_facts), so they become host facts (and go to the fact cache).
      - V(false) returns the same dict as C(facts) in the result instead, for a playbook that only registers
        the result and hands it on (as the diagnose role does, to its C(connreset.doctor.fleet_report) task).
        The facts then stay out of every later task's host variables and out of the fact cache, which cost
        the controller CPU per host and per task.
    type: bool
    default: true
extends_documentation_fragment:
  - connreset.doctor.attributes
  - connreset.doctor.attributes.facts_collector
attributes:
  facts:
    description: Returns one C(connreset_*) fact per collector that ran, and C(connreset_meta) (as C(facts), not
      host facts, with O(register_facts=false)).
  platform:
    description: Linux hosts; collectors that need Linux interfaces report C(unknown) elsewhere.
notes:
  - Most collectors see more as root (C(become=true)); without it, what they cannot read is
    reported as C(unknown) or C(partial) with the reason, never as healthy.
seealso:
  - module: connreset.doctor.sshd_facts
  - module: connreset.doctor.oom_facts
  - module: connreset.doctor.tcp_wrappers_facts
  - module: connreset.doctor.mtu_facts
  - module: connreset.doctor.conntrack_facts
  - module: connreset.doctor.tcp_facts
  - module: connreset.doctor.firewall_facts
  - module: connreset.doctor.endpoint_facts
'''

EXAMPLES = r'''
- name: Gather everything (what the diagnose role does)
  connreset.doctor.reset_facts:
  become: true

- name: Only sshd and OOM history, looking back one day in a copied log
  connreset.doctor.reset_facts:
    gather_subset: [sshd, oom]
    sshd:
      since: 24h
    oom:
      since: 24h
      log_files: [/tmp/sosreport/var/log/kern.log]

- name: Everything but the firewall, with a tighter budget per collector
  connreset.doctor.reset_facts:
    gather_subset: ['!firewall']
    budget: 5

- name: Collect for a later task only (not as host facts, not in the fact cache)
  connreset.doctor.reset_facts:
    register_facts: false
  register: collected
'''

RETURN = r'''
facts:
  description: With O(register_facts=false), the dict that is otherwise returned as RV(ansible_facts) (same keys).
  returned: when O(register_facts=false)
  type: dict
  sample: {connreset_meta: {gather_subset: [sshd], budget_s: 20.0, elapsed_s: 0.05, collectors: {}}, connreset_sshd: {}}
ansible_facts:
  description: One fact per collector that ran, plus C(connreset_meta).
  returned: unless O(register_facts=false)
  type: dict
  contains:
    connreset_sshd:
      description: As returned by M(connreset.doctor.sshd_facts).
      returned: when the sshd collector ran
      type: dict
    connreset_oom:
      description: As returned by M(connreset.doctor.oom_facts).
      returned: when the oom collector ran
      type: dict
    connreset_tcp_wrappers:
      description: As returned by M(connreset.doctor.tcp_wrappers_facts).
      returned: when the tcp_wrappers collector ran
      type: dict
    connreset_mtu:
      description: As returned by M(connreset.doctor.mtu_facts).
      returned: when the mtu collector ran
      type: dict
    connreset_conntrack:
      description: As returned by M(connreset.doctor.conntrack_facts).
      returned: when the conntrack collector ran
      type: dict
    connreset_tcp:
      description: As returned by M(connreset.doctor.tcp_facts).
      returned: when the tcp collector ran
      type: dict
    connreset_firewall:
      description: As returned by M(connreset.doctor.firewall_facts).
      returned: when the firewall collector ran
      type: dict
    connreset_endpoints:
      description: As returned by M(connreset.doctor.endpoint_facts).
      returned: when the endpoints collector ran
      type: dict
    connreset_meta:
      description: What ran and how long each collector took on the host.
      returned: always
      type: dict
      contains:
        gather_subset:
          description: The collectors that ran, in order.
          type: list
          elements: str
          sample: [sshd, oom, tcp_wrappers, mtu, conntrack, tcp, firewall, endpoints]
        controller:
          description:
            - The address the controller connected from, as the host saw it (the first field of C(SSH_CONNECTION) in
              the module's environment); V(null) when unknown, with the reason in
              RV(ansible_facts.connreset_meta.controller_reason).
            - The one place the diagnosis and the remediate role take the controller's address from when none is given
              (the collector to engine contract, docs/development.md).
          type: str
          sample: 10.213.12.1
        controller_reason:
          description:
            - Why RV(ansible_facts.connreset_meta.controller) is V(null) (for example C(SSH_CONNECTION) is not set);
              V(null) when it is known.
          type: str
          sample: null
        budget_s:
          description: The time budget each collector had, in seconds.
          type: float
          sample: 20.0
        elapsed_s:
          description: Time spent in all collectors together, in seconds.
          type: float
          sample: 0.142
        collectors:
          description: Per collector, its C(status) and C(elapsed_s).
          type: dict
          sample: {sshd: {status: ok, elapsed_s: 0.061}, oom: {status: partial, elapsed_s: 0.02}}
'''

import math

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.connreset.doctor.plugins.module_utils._collectors import (
    COLLECTORS, DEFAULT_BUDGET, NAMES, gather, resolve_subset, validate_options,
)
from ansible_collections.connreset.doctor.plugins.module_utils._common import OptionError, System

COLLECTOR_OPTION = dict(type='dict', default={})
# The largest budget per collector, in seconds: 10 minutes is already far past any host's journal;
# more is a typo (or inf), and seven collectors would keep a fleet run waiting for hours.
MAX_BUDGET = 600.0


def check_budget(budget):
    """Raise OptionError unless ``budget`` is a finite number of seconds in (0, MAX_BUDGET]."""
    if budget is None or not math.isfinite(budget) or not 0 < budget <= MAX_BUDGET:
        raise OptionError('budget must be a number of seconds per collector, greater than 0 and at most %g (got %s); '
                          'the default is %g: raise it for a slow host or a huge journal'
                          % (MAX_BUDGET, budget, DEFAULT_BUDGET))


def _own_check(module_utils, params):
    """A collector's own checks of its option values: ``validate(params)`` (a message, or None) or
    ``check_options(params)``; either may raise OptionError."""
    for attribute in ('validate', 'check_options'):
        check = getattr(module_utils, attribute, None)
        if check is not None:
            message = check(params)
            if isinstance(message, str) and message:
                raise OptionError(message)
            return


def merge_collector_options(params):
    """Merge ``collector_options`` under the per-collector options in ``params`` (in place)."""
    shared = params.get('collector_options') or {}
    unknown = sorted(str(name) for name in shared if name not in NAMES)
    if unknown:
        raise OptionError('collector_options has unknown collectors %s: use any of %s'
                          % (', '.join(repr(name) for name in unknown), ', '.join(NAMES)))
    for name, options in shared.items():
        if options is None:
            continue
        if not isinstance(options, dict):
            raise OptionError('collector_options.%s must be a dict of the %s collector\'s options (got %s)'
                              % (name, name, type(options).__name__))
        params[name] = dict(options, **(params.get(name) or {}))


def check_options(params):
    """The collectors ``gather_subset`` selects; raises OptionError when it selects none or names an
    unknown one, and for a bad option of ANY collector, selected or not (a typo in an excluded
    collector's options is still a typo, and would bite the day the collector is included)."""
    chosen = resolve_subset(params['gather_subset'])
    if not chosen:
        raise OptionError('gather_subset %s selects no collector, so nothing would be checked (and a gate on the report '
                          'would pass on nothing): name the collectors to run, for example %s, or leave gather_subset '
                          'out to run all of %s' % (params['gather_subset'], "['!all', 'sshd', 'oom']", ', '.join(NAMES)))
    for name, module_utils in COLLECTORS:
        if name not in chosen and not params.get(name):
            # no options given for a collector that does not run: its defaults are valid
            # (tests/unit/plugins/module_utils/test_collectors.py), and it is not imported at all
            continue
        note = '' if name in chosen else ' (the %s collector is left out by gather_subset; its options are checked all the same)' % name
        try:
            validated = validate_options(name, params.get(name))
            _own_check(module_utils, validated)
        except OptionError as exc:
            text = str(exc)
            raise OptionError((text if text.startswith(name + ':') else '%s: %s' % (name, text)) + note)
    return chosen


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather_subset=dict(type='list', elements='str', default=['all']),
            budget=dict(type='float', default=DEFAULT_BUDGET),
            collector_options=dict(type='dict', default={}),
            register_facts=dict(type='bool', default=True),
            # one option per collector of the registry, each as the collector's own module takes them
            **dict((name, COLLECTOR_OPTION) for name in NAMES)
        ),
        supports_check_mode=True,
    )
    try:
        merge_collector_options(module.params)
        check_budget(module.params['budget'])
        check_options(module.params)
        facts = gather(System(module), module.params['gather_subset'], module.params, module.params['budget'])
    except OptionError as exc:
        module.fail_json(msg=str(exc))
    if module.params['register_facts']:
        module.exit_json(changed=False, ansible_facts=facts)
    module.exit_json(changed=False, facts=facts)


if __name__ == '__main__':
    main()
