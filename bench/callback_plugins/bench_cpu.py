# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The CPU time of the main ansible / ansible-playbook process alone (not its workers).

Used by bench/bench.py in every timed run: at the end of the play (v2_playbook_on_stats, which
ansible-core sends in playbooks and ad hoc runs alike) it writes getrusage(RUSAGE_SELF) of the
process it runs in -- the single-threaded main process that queues tasks and processes results --
as JSON to $BENCH_CPU_FILE.
"""

from __future__ import annotations

DOCUMENTATION = '''
name: bench_cpu
type: aggregate
short_description: main-process CPU time for bench/bench.py
description: Writes the main process's user and system CPU seconds as JSON to $BENCH_CPU_FILE.
requirements: [enabled in callbacks_enabled]
'''

import json
import os
import resource

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_cpu'
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('BENCH_CPU_FILE')
        if not path:
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump({'pid': os.getpid(), 'user_s': usage.ru_utime, 'system_s': usage.ru_stime,
                       'cpu_s': usage.ru_utime + usage.ru_stime}, handle)
