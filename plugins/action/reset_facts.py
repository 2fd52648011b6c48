# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for connreset.doctor.reset_facts: the module, run as Ansible's normal action runs
any module, with its facts kept out of ``-v`` output as ``setup``'s are.

The facts are large (``sshd -T`` values, log samples with user names) and belong in the report,
not on the console.  ``no_log`` on the task would hide them too, but under ``no_log`` Ansible's ssh
connection censors its own error ("<error censored due to no log>"), which is the very message an
unreachable host is diagnosed from.  ``_ansible_verbose_override`` (what ansible-core's normal
action sets for ``setup``) only tells the callbacks not to print the result at ``-v``: a failure
is shown as usual, the result is registered and returned unchanged, and nothing is censored.
The options, the result and the documentation are the module's (plugins/modules/reset_facts.py).
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


class ActionModule(ActionBase):
    """Run the reset_facts module; see the module documentation."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not result.get('failed'):
            # like setup's: the callbacks do not print the facts at -v (nor at any verbosity)
            result['_ansible_verbose_override'] = True
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
