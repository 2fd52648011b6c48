# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for connreset.doctor.ssh_probe: the probe runs in Ansible's worker process.

The probe belongs on the controller, and as a module it cost every host a new Python
interpreter, the AnsiballZ wrapper and ``import paramiko`` (docs/performance.md, P1): more than
the probe itself.  As an action plugin it runs ``_probe.probe`` in the worker that handles the
task, whatever host the task targets; the options, the result and the documentation are the
module's (plugins/modules/ssh_probe.py).
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.action import ActionBase

from ansible_collections.connreset.doctor.plugins.module_utils import _probe


class ActionModule(ActionBase):
    """Probe sshd from the controller; see the module documentation."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(_probe.ARGUMENT_SPEC)
    _supports_check_mode = True  # read-only: it only opens connections

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, params = self.validate_argument_spec(argument_spec=_probe.ARGUMENT_SPEC)
        result['changed'] = False
        if not _probe.HAS_PARAMIKO:
            result.update(failed=True, msg=missing_required_lib('paramiko'),
                          exception=_probe.PARAMIKO_IMPORT_ERROR)
            return result
        try:
            result['probe'] = _probe.probe(params)
        except _probe.ProbeConfigError as exc:
            result.update(failed=True, msg=str(exc))
        return result
