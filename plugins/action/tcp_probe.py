# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for connreset.doctor.tcp_probe: the probe runs in Ansible's worker process, on the
controller, like ssh_probe (options, result and documentation: plugins/modules/tcp_probe.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.connreset.doctor.plugins.module_utils import _tcp_probe


class ActionModule(ActionBase):
    """Probe TCP/TLS/HTTP endpoints from the controller; see the module documentation."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(_tcp_probe.ARGUMENT_SPEC)
    _supports_check_mode = True  # read-only: it only opens connections and sends one GET

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, params = self.validate_argument_spec(argument_spec=_tcp_probe.ARGUMENT_SPEC)
        result['changed'] = False
        try:
            result['probe'] = _tcp_probe.probe(params)
        except _tcp_probe.ProbeConfigError as exc:
            result.update(failed=True, msg=str(exc))
        return result
