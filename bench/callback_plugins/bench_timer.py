# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a play's time goes: wall time of each task (first start to last host result).

Used by bench/bench.py for one extra, untimed profiling run; writes JSON to $BENCH_TIMER_FILE.
"""

from __future__ import annotations

DOCUMENTATION = '''
name: bench_timer
type: aggregate
short_description: per-task wall times for bench/bench.py
description: Writes the wall time of each task, and of the play's start-up, as JSON to $BENCH_TIMER_FILE.
requirements: [enabled in callbacks_enabled]
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.loaded = time.time()
        self.tasks = []
        self.current = None

    def _start(self, task):
        now = time.time()
        self.current = {'task': task.get_name(), 'start': now, 'end': now, 'hosts': 0}
        self.tasks.append(self.current)

    def v2_playbook_on_play_start(self, play):
        self.play_start = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def _done(self, result):
        if self.current is not None:
            self.current['end'] = time.time()
            self.current['hosts'] += 1

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _done

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('BENCH_TIMER_FILE')
        if not path:
            return
        end = time.time()
        out = {'callback_loaded_to_end_s': round(end - self.loaded, 3),
               'tasks': [{'task': t['task'], 'hosts': t['hosts'], 'wall_s': round(t['end'] - t['start'], 3)}
                         for t in self.tasks]}
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump(out, handle, indent=1)
