# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Proof of concept for docs/performance.md P1: connreset.doctor.ssh_probe's work as an action plugin.

Runs ``_probe.probe`` in Ansible's worker process instead of a new, local module process per host
(no interpreter start, no AnsiballZ, paramiko imported when the plugin is loaded).  Used only by
bench/poc_probe.py to measure the difference; the real change belongs to the probe's owner.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.connreset.doctor.plugins.module_utils import _probe


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        checked = ArgumentSpecValidator(_probe.ARGUMENT_SPEC).validate(dict(self._task.args))
        if checked.error_messages:
            result.update(failed=True, msg='; '.join(checked.error_messages))
            return result
        try:
            result['probe'] = _probe.probe(checked.validated_parameters)
        except _probe.ProbeConfigError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result['changed'] = False
        return result
