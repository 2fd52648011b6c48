# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P1 proof of concept (docs/performance.md): the probe as a local module vs in-process action.

bench/run's helpers, a lab of N light hosts (LAB_ID 9, torn down at the end), interleaved:
ping, the ssh_probe module (delegate_to localhost, as the diagnose role runs it), the same probe in
an action plugin (bench/action_plugins/bench_probe_inproc.py).  Usage (root):
    .venv/bin/python bench/poc_probe.py [HOSTS] [REPS]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile

import bench

PLAY = '''- hosts: all
  gather_facts: false
  tasks:
    - name: Probe
      %s:
        host: "{{ ansible_host }}"
      %s
'''


def main(argv):
    size = int(argv[0]) if argv else 10
    reps = int(argv[1]) if len(argv) > 1 else 3
    workdir = tempfile.mkdtemp(prefix='crbench-poc-')
    bench.snapshot('head', workdir)
    if 'no lab' not in bench.lab_cmd(9, ['status'], check=False).stdout:
        sys.exit('lab 9 is in use')
    try:
        bench.lab_cmd(9, ['up', '--hosts', str(size)], timeout=bench.LAB_UP_TIMEOUT)
        hosts, hvars = bench.parse_lab_inventory(bench.lab_cmd(9, ['inventory']).stdout)
        inv, cfg = os.path.join(workdir, 'inv.ini'), os.path.join(workdir, 'ansible.cfg')
        os.makedirs(os.path.join(workdir, 'cp'))
        bench.write_inventory(inv, hosts, hvars)
        bench.write_cfg(cfg, size, workdir)
        env = bench.env_for({'ANSIBLE_CONFIG': cfg,
                             'ANSIBLE_ACTION_PLUGINS': os.path.join(bench.HERE, 'action_plugins')})
        plays = {}
        for name, action, extra in (('module', 'connreset.doctor.ssh_probe', 'delegate_to: localhost'),
                                    ('action', 'bench_probe_inproc', '')):
            plays[name] = os.path.join(workdir, name + '.yml')
            with open(plays[name], 'w', encoding='utf-8') as handle:
                handle.write(PLAY % (action, extra))
        commands = {'ping': ['ansible', 'all', '-i', inv, '-m', 'ansible.builtin.ping'],
                    'probe_module': ['ansible-playbook', '-i', inv, plays['module']],
                    'probe_action': ['ansible-playbook', '-i', inv, plays['action']]}
        times = dict((k, []) for k in commands)
        for rep in range(reps + 1):
            for name, argv_ in commands.items():
                elapsed, proc = bench.timed(argv_, workdir, env)
                if proc.returncode != 0:
                    raise bench.BenchError('%s failed: %s' % (name, (proc.stdout + proc.stderr)[-2000:]))
                if rep:
                    times[name].append(round(elapsed, 2))
        med = dict((k, statistics.median(v)) for k, v in times.items())
        print(json.dumps({'hosts': size, 'reps': reps, 'times_s': times, 'median_s': med,
                          'module_over_ping': round(med['probe_module'] / med['ping'], 2),
                          'action_over_ping': round(med['probe_action'] / med['ping'], 2)}, indent=1))
    finally:
        bench.lab_cmd(9, ['down'], timeout=300, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1:])
