# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""connreset.doctor benchmarks: speed and scale, always as ratios against a baseline of the same run.

Three parts (``--parts``, default all), each printed as a table and saved in bench/results/latest.json:

lab     On lab fleets (tests/lab/lab: real sshd hosts in network namespaces) of 10 and 30 light
        hosts, interleaved (ping, naive, diagnose, ping, naive, diagnose, ...), ``--reps`` times
        each after one discarded warm-up round: ``ansible all -m ping`` (the floor: one module
        round trip per host), bench/naive.yml (one shell task per command, what people run by
        hand) and the diagnose playbook (collect + probe + findings + report), all with the
        same ansible.cfg (docs/examples/ansible.cfg: pipelining, ControlPersist; forks = fleet
        size).  Medians, ratios, findings, and the on-target collector time of each host
        (connreset_meta.elapsed_s from the per-host JSON files).
endpoints  One lab systemd host with the services layer (gunicorn, nginx, HAProxy, Redis): ping and
        endpoint_facts with 1 and with 4 endpoints over ssh, interleaved: wall and target CPU, and
        what one more endpoint costs (the difference over 3).
report  The fleet report (json, md, html, junit) from 1,000 and 10,000 synthetic hosts' documents
        (bench/synth.py): time, and peak memory of the child process that builds it.
logs    The sshd events scan and the OOM kills scan over a 1,000,000-line auth.log/kern.log mix
        (log_files), lines/s, with and without a LogScan keyword prefilter, with a check that
        every injected MaxStartups drop and OOM kill was counted.

Needs root for the lab and endpoints parts (namespaces).  The lab is always torn down (finally / SIGTERM / Ctrl-C).
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, '.build')
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab')
EXAMPLE_CFG = os.path.join(ROOT, 'docs', 'examples', 'ansible.cfg')
NAIVE = os.path.join(HERE, 'naive.yml')
VENV_BIN = os.path.dirname(sys.executable)
RESULTS = os.path.join(HERE, 'results', 'latest.json')
CMD_TIMEOUT = 900          # upper bound of any one ansible run (seconds)
LAB_UP_TIMEOUT = 600
FORMATS = ['json', 'md', 'html', 'junit']
SEVERITIES = ('critical', 'high', 'medium', 'low', 'info')
# Faults that leave the host reachable (so all three commands do the same work on every host) and
# give the diagnosis something to find: an MTU differing from the subnet, a keepalive horizon
# of 2 h with sshd's ClientAliveInterval 0.
DEFAULT_FAULTS = ('h2:low-mtu', 'h3:keepalive')

# The collection the benchmark imports and runs: a snapshot of the committed tree (git archive
# HEAD, made by main() in the temp dir, so work in progress in a shared checkout cannot break a
# run) or, with --code worktree, the checkout itself through .build.  Children inherit it.
CODE = os.environ.get('BENCH_CODE') or BUILD
if CODE not in sys.path:
    sys.path.insert(0, CODE)


class BenchError(Exception):
    pass


def log(msg):
    sys.stderr.write('bench: %s\n' % msg)
    sys.stderr.flush()


def median(values):
    return statistics.median(values) if values else None


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def env_for(extra=None):
    env = dict(os.environ)
    env['PATH'] = VENV_BIN + os.pathsep + env.get('PATH', '')
    code = os.environ.get('BENCH_CODE') or BUILD
    env['PYTHONPATH'] = code + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    env['ANSIBLE_COLLECTIONS_PATH'] = code
    env.pop('ANSIBLE_CONFIG', None)
    env.update(extra or {})
    return env


def machine():
    info = {'python': platform.python_version(), 'kernel': platform.release(), 'cpus': os.cpu_count()}
    try:
        with open('/proc/meminfo', encoding='ascii') as handle:
            info['mem_gib'] = round(int(handle.readline().split()[1]) / 1048576.0, 1)
        with open('/etc/os-release', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith('PRETTY_NAME='):
                    info['os'] = line.split('=', 1)[1].strip().strip('"')
        with open('/proc/loadavg', encoding='ascii') as handle:
            info['loadavg_at_start'] = [float(v) for v in handle.read().split()[:3]]
    except OSError:
        pass
    try:
        import ansible.release
        info['ansible_core'] = ansible.release.__version__
    except ImportError:
        info['ansible_core'] = None
    return info


# ============================================================================================ lab
def lab_cmd(lab_id, argv, timeout=120, check=True):
    proc = subprocess.run([LAB] + argv, env=dict(os.environ, LAB_ID=str(lab_id)), capture_output=True,
                          text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise BenchError('lab %s failed (rc=%s): %s' % (' '.join(argv), proc.returncode,
                                                        (proc.stderr or proc.stdout).strip()[-2000:]))
    return proc


def parse_lab_inventory(text):
    """(hosts [(name, address)], vars {k: v}) from ``lab inventory`` (ini)."""
    hosts, hvars, section = [], {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith('['):
            section = line
            continue
        if section == '[lab]':
            name, rest = line.split(None, 1)
            fields = dict(f.split('=', 1) for f in rest.split() if '=' in f)
            hosts.append((name, fields['ansible_host']))
        elif section == '[lab:vars]':
            key, value = line.split('=', 1)
            hvars[key] = value.strip("'")
    return hosts, hvars


def write_inventory(path, hosts, hvars):
    # the lab's ansible_ssh_args ask for a fresh connection per task (its tests need that); the
    # benchmark uses the shipped ansible.cfg's ssh_args instead (ControlMaster/ControlPersist).
    keep = ('ansible_user', 'ansible_ssh_private_key_file', 'ansible_ssh_common_args', 'ansible_python_interpreter')
    lines = ['[bench]'] + ['%s ansible_host=%s' % h for h in hosts] + ['', '[bench:vars]']
    for key in keep:
        if key in hvars:
            value = hvars[key]
            lines.append("%s=%s" % (key, "'%s'" % value if ' ' in value else value))
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(lines) + '\n')


def write_cfg(path, forks, workdir):
    """docs/examples/ansible.cfg with forks = fleet size and paths inside the bench's temp dir."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(EXAMPLE_CFG)
    cfg['defaults']['forks'] = str(forks)
    if cfg['defaults'].get('fact_caching'):
        cfg['defaults']['fact_caching_connection'] = os.path.join(workdir, 'facts')
    cfg['defaults']['host_key_checking'] = 'False'
    cfg['defaults']['retry_files_enabled'] = 'False'
    cfg['ssh_connection']['control_path_dir'] = os.path.join(workdir, 'cp')
    with open(path, 'w', encoding='utf-8') as handle:
        cfg.write(handle)
    return {s: dict(cfg[s]) for s in cfg.sections()}


def timed(argv, cwd, env, timeout=CMD_TIMEOUT):
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.monotonic() - started
    return elapsed, proc


def read_diagnose(report_dir):
    """Findings and collector times of one diagnose run (report.json and hosts/*.json)."""
    with open(os.path.join(report_dir, 'report.json'), encoding='utf-8') as handle:
        report = json.load(handle)
    by_sev = dict((s, 0) for s in SEVERITIES)
    for doc in report['hosts']:
        for finding in doc.get('findings') or []:
            by_sev[finding.get('severity', 'info')] = by_sev.get(finding.get('severity', 'info'), 0) + 1
    meta = []
    hosts_dir = os.path.join(report_dir, 'hosts')
    for name in sorted(os.listdir(hosts_dir)):
        with open(os.path.join(hosts_dir, name), encoding='utf-8') as handle:
            doc = json.load(handle)
        m = (doc.get('facts') or {}).get('connreset_meta')
        if m:
            meta.append(m)
    return {'hosts': report['summary']['hosts'], 'unreachable': report['summary']['unreachable'],
            'findings': sum(by_sev.values()), 'findings_by_severity': by_sev,
            'findings_above_info': sum(v for k, v in by_sev.items() if k != 'info'),
            'ids': sorted({f['id'] for d in report['hosts'] for f in d.get('findings') or []}),
            'meta': meta}


class CpuAccount:
    """CPU time of the controller and of the lab's targets, kept apart in cpuacct cgroups.

    ``<root>/crbench<lab id>/controller`` holds every ansible command the benchmark runs (entered
    before exec, so its workers, its ssh clients and their ControlPersist masters are in it);
    ``.../targets`` holds every process of the lab's hosts (found by their network namespace:
    init, sshd, and everything sshd starts later -- the shell, the module's Python, the commands
    the collectors run).  Per run: the difference of ``cpuacct.usage`` (ns) before and after.
    cgroup v1 (cpuacct) or v2 (cpu.stat usage_usec), whichever the machine has.
    """

    def __init__(self, lab_id):
        self.v1 = os.path.isfile('/sys/fs/cgroup/cpuacct/cpuacct.usage')
        base = '/sys/fs/cgroup/cpuacct' if self.v1 else '/sys/fs/cgroup'
        if not self.v1 and not os.path.isfile('/sys/fs/cgroup/cgroup.procs'):
            base = '/sys/fs/cgroup/unified'
        self.root = os.path.join(base, 'crbench%d' % lab_id)
        self.groups = {g: os.path.join(self.root, g) for g in ('controller', 'targets')}
        for path in self.groups.values():
            os.makedirs(path, exist_ok=True)

    def usage_s(self, group):
        path = self.groups[group]
        if self.v1:
            with open(os.path.join(path, 'cpuacct.usage'), encoding='ascii') as handle:
                return int(handle.read()) / 1e9
        with open(os.path.join(path, 'cpu.stat'), encoding='ascii') as handle:
            for line in handle:
                if line.startswith('usage_usec '):
                    return int(line.split()[1]) / 1e6
        return 0.0

    def enter(self, group):
        """preexec_fn: the child enters ``group`` before exec."""
        path = os.path.join(self.groups[group], 'cgroup.procs')

        def _enter():
            with open(path, 'w', encoding='ascii') as handle:
                handle.write(str(os.getpid()))
        return _enter

    def adopt_namespaces(self, netns_names):
        """Move every process living in one of these network namespaces into ``targets``."""
        inodes = set()
        for name in netns_names:
            try:
                inodes.add(os.stat(os.path.join('/run/netns', name)).st_ino)
            except OSError:
                pass
        moved = 0
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                if os.stat('/proc/%s/ns/net' % pid).st_ino not in inodes:
                    continue
                with open(os.path.join(self.groups['targets'], 'cgroup.procs'), 'w', encoding='ascii') as handle:
                    handle.write(pid)
                moved += 1
            except OSError:
                continue  # gone meanwhile, or a kernel thread
        return moved

    def pids(self, group):
        try:
            with open(os.path.join(self.groups[group], 'cgroup.procs'), encoding='ascii') as handle:
                return [int(p) for p in handle.read().split()]
        except OSError:
            return []

    def close(self):
        """End what the benchmark's own commands left in ``controller`` (ControlPersist masters), by
        pid, and remove the cgroups (``targets`` empties when the lab is down)."""
        for pid in self.pids('controller'):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        for path in list(self.groups.values()) + [self.root]:
            for _attempt in range(50):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def close_masters(cp_dir):
    """Close the ssh ControlPersist masters of one control_path_dir (a cold run's): ``ssh -O exit``."""
    for name in sorted(os.listdir(cp_dir)) if os.path.isdir(cp_dir) else []:
        subprocess.run(['ssh', '-o', 'ControlPath=%s' % os.path.join(cp_dir, name), '-O', 'exit', 'x'],
                       capture_output=True, timeout=30, check=False)


def timed_run(argv, cwd, env, acct, cpu_file):
    """One timed command: wall, controller CPU, target CPU (cgroups), main-process CPU (bench_cpu)."""
    before = {g: acct.usage_s(g) for g in acct.groups}
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=dict(env, BENCH_CPU_FILE=cpu_file), capture_output=True, text=True,
                          timeout=CMD_TIMEOUT, check=False, preexec_fn=acct.enter('controller'))
    elapsed = time.monotonic() - started
    after = {g: acct.usage_s(g) for g in acct.groups}
    main_cpu = None
    try:
        with open(cpu_file, encoding='utf-8') as handle:
            main_cpu = json.load(handle)['cpu_s']
    except (OSError, ValueError, KeyError):
        pass
    return proc, {'wall_s': round(elapsed, 3), 'controller_cpu_s': round(after['controller'] - before['controller'], 3),
                  'target_cpu_s': round(after['targets'] - before['targets'], 3),
                  'main_cpu_s': round(main_cpu, 3) if main_cpu is not None else None}


# Per fleet, in each round: (name, kind, cold).  kind: the command; cold: a fresh control_path_dir
# for that run, so it opens every connection itself (what a first run, or ControlPersist off, costs).
LAB_COMMANDS = (
    ('ping', 'ping', False),
    ('diagnose', 'diagnose', False),
    ('reset_facts', 'reset_facts', False),
    ('ping_cold', 'ping', True),
    ('diagnose_cold', 'diagnose', True),
    ('naive', 'naive', False),
)


def run_fleet(size, hosts, hvars, args, workdir, acct):
    reps = args.reps
    fdir = os.path.join(workdir, 'fleet%d' % size)
    os.makedirs(os.path.join(fdir, 'cp'), exist_ok=True)
    inv = os.path.join(fdir, 'inventory.ini')
    cfgpath = os.path.join(fdir, 'ansible.cfg')
    write_inventory(inv, hosts[:size], hvars)
    cfg = write_cfg(cfgpath, size, fdir)
    env = env_for({'ANSIBLE_CONFIG': cfgpath, 'ANSIBLE_CALLBACK_PLUGINS': os.path.join(HERE, 'callback_plugins'),
                   'ANSIBLE_CALLBACKS_ENABLED': 'bench_cpu', 'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1'})
    argv = {
        'ping': lambda d: ['ansible', 'all', '-i', inv, '-m', 'ansible.builtin.ping'],
        # ad hoc, one module call per host like ping: the target CPU of one reset_facts call
        'reset_facts': lambda d: ['ansible', 'all', '-i', inv, '-m', 'connreset.doctor.reset_facts'],
        'naive': lambda d: ['ansible-playbook', '-i', inv, NAIVE],
        'diagnose': lambda d: ['ansible-playbook', '-i', inv, 'connreset.doctor.diagnose',
                               '-e', 'diagnose_report_dir=%s' % d, '-e', 'diagnose_summary=false'],
    }
    commands = [c for c in LAB_COMMANDS if c[0] != 'naive' or size <= args.naive_max]
    runs = dict((c[0], []) for c in commands)
    diag = []
    for rep in range(reps + 1):  # round 0: warm-up (ControlPersist masters, page cache), discarded
        for name, kind, cold in commands:
            rdir = os.path.join(fdir, 'run%d-%s' % (rep, name))
            os.makedirs(rdir)
            renv = env
            if cold:
                renv = dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(rdir, 'cp'))
            proc, m = timed_run(argv[kind](os.path.join(rdir, 'report')), rdir, renv, acct,
                                os.path.join(rdir, 'cpu.json'))
            if cold:
                close_masters(os.path.join(rdir, 'cp'))
            if proc.returncode != 0:
                raise BenchError('%s on %d hosts failed (rc=%s):\n%s' % (
                    name, size, proc.returncode, (proc.stdout + proc.stderr)[-3000:]))
            log('fleet %d, %s %d: %-13s %6.2f s wall, controller %.2f s, targets %.2f s, main %s s CPU' % (
                size, 'warm-up' if rep == 0 else 'round', rep, name, m['wall_s'], m['controller_cpu_s'],
                m['target_cpu_s'], m['main_cpu_s']))
            if rep == 0:
                continue
            runs[name].append(m)
            if kind == 'diagnose' and not cold:
                diag.append(read_diagnose(os.path.join(rdir, 'report')))
            shutil.rmtree(rdir, ignore_errors=True)
    med = {}
    for name, values in runs.items():
        med[name] = {}
        for key in ('wall_s', 'controller_cpu_s', 'target_cpu_s', 'main_cpu_s'):
            vals = [v[key] for v in values if v[key] is not None]
            med[name][key] = round(median(vals), 3) if vals else None
        med[name].update(('%s_per_host_ms' % key[:-2], round(1000.0 * med[name][key] / size, 1)
                          if med[name][key] is not None else None)
                         for key in ('controller_cpu_s', 'target_cpu_s', 'main_cpu_s'))
    # one more diagnose run, untimed, with the bench_timer callback: wall time of each task
    rdir = os.path.join(fdir, 'profile')
    os.makedirs(rdir)
    tfile = os.path.join(rdir, 'timer.json')
    penv = dict(env, ANSIBLE_CALLBACKS_ENABLED='bench_timer', BENCH_TIMER_FILE=tfile)
    _e, proc = timed(argv['diagnose'](os.path.join(rdir, 'report')), rdir, penv)
    profile = None
    if proc.returncode == 0 and os.path.exists(tfile):
        with open(tfile, encoding='utf-8') as handle:
            profile = json.load(handle)
    single = single_host(hosts[0][0], inv, fdir, env, acct) if size == min(args.sizes) else None
    elapsed = [m['elapsed_s'] for d in diag for m in d['meta']]
    per_collector = {}
    for d in diag:
        for m in d['meta']:
            for cname, c in m.get('collectors', {}).items():
                per_collector.setdefault(cname, []).append(c['elapsed_s'])
    last = diag[-1]

    def over(name, base, key):
        return ratio(med.get(name, {}).get(key), med.get(base, {}).get(key))

    return {
        'hosts': size, 'forks': size, 'reps': reps, 'runs': runs, 'median': med,
        'ratios': {
            'diagnose_over_ping_wall': over('diagnose', 'ping', 'wall_s'),
            'diagnose_over_ping_wall_cold': over('diagnose_cold', 'ping_cold', 'wall_s'),
            'diagnose_over_ping_controller_cpu': over('diagnose', 'ping', 'controller_cpu_s'),
            'diagnose_over_ping_controller_cpu_cold': over('diagnose_cold', 'ping_cold', 'controller_cpu_s'),
            'diagnose_over_ping_target_cpu': over('diagnose', 'ping', 'target_cpu_s'),
            'reset_facts_over_ping_target_cpu': over('reset_facts', 'ping', 'target_cpu_s'),
            'naive_over_diagnose_wall': over('naive', 'diagnose', 'wall_s'),
        },
        'profile': profile,
        'single_host': single,
        'findings': {'diagnose': last['findings'], 'diagnose_by_severity': last['findings_by_severity'],
                     'diagnose_above_info': last['findings_above_info'], 'diagnose_ids': last['ids'],
                     'naive': 0, 'unreachable': last['unreachable']},
        'collector_time_s': {
            'median': round(median(elapsed), 4), 'max': round(max(elapsed), 4), 'samples': len(elapsed),
            'per_collector': dict((k, {'median': round(median(v), 4), 'max': round(max(v), 4)})
                                  for k, v in per_collector.items())},
        'ansible_cfg': cfg,
    }


def single_host(host, inv, fdir, env, acct):
    """ping and reset_facts on one host at a time (forks 1), 5 times each, interleaved: the target
    CPU of one call without other hosts' modules competing for the machine's cores (lab hosts share
    the controller's CPUs), and reset_facts' own connreset_meta.elapsed_s."""
    out = {'ping': [], 'reset_facts': [], 'meta': []}
    for attempt in range(5):
        for name, module in (('ping', 'ansible.builtin.ping'), ('reset_facts', 'connreset.doctor.reset_facts')):
            proc, m = timed_run(['ansible', host, '-i', inv, '-o', '-f', '1', '-m', module], fdir,
                                dict(env, ANSIBLE_CALLBACK_RESULT_FORMAT='json'), acct,
                                os.path.join(fdir, 'single%d-%s.json' % (attempt, name)))
            out[name].append(m)
            if name == 'reset_facts':
                text = proc.stdout
                try:
                    out['meta'].append(json.loads(text[text.index('{'):])['ansible_facts']['connreset_meta'])
                except (ValueError, KeyError):
                    log('single-host reset_facts gave no connreset_meta: %s' % text[-500:])
    meta = out.pop('meta')
    result = {}
    for name in ('ping', 'reset_facts'):
        result[name] = dict((key, round(median([m[key] for m in out[name]]), 4))
                            for key in ('wall_s', 'controller_cpu_s', 'target_cpu_s'))
    result['reset_facts_over_ping_target_cpu'] = ratio(result['reset_facts']['target_cpu_s'],
                                                       result['ping']['target_cpu_s'])
    result['collectors_elapsed_s'] = round(median([m['elapsed_s'] for m in meta]), 4) if meta else None
    result['per_collector_median'] = dict(
        (k, round(median([m['collectors'][k]['elapsed_s'] for m in meta]), 4))
        for k in (meta[0]['collectors'] if meta else {}))
    return result


def bench_lab(args, workdir):
    status = lab_cmd(args.lab_id, ['status'], check=False)
    if 'no lab' not in status.stdout:
        raise BenchError('lab LAB_ID=%d is in use (tests/lab/lab status shows hosts): stop it, wait, or pick '
                         'another --lab-id' % args.lab_id)
    sizes = sorted(args.sizes)
    result = {'lab_id': args.lab_id, 'faults': list(args.faults), 'fleets': []}
    acct = None
    try:
        log('lab %d: up %d light hosts' % (args.lab_id, sizes[-1]))
        up = lab_cmd(args.lab_id, ['up', '--hosts', str(sizes[-1])], timeout=LAB_UP_TIMEOUT)
        result['lab_up'] = (up.stderr.strip().splitlines() or [''])[-1]
        hosts, hvars = parse_lab_inventory(lab_cmd(args.lab_id, ['inventory']).stdout)
        # by address (h1, h2, ... h10): the inventory lists names sorted as strings (h1, h10, h11, ...),
        # and the fleet of 10 must hold the faulted hosts h2 and h3
        hosts.sort(key=lambda h: tuple(int(p) for p in h[1].split('.')))
        for spec in args.faults:
            host, fault = spec.split(':', 1)
            if host not in dict(hosts):
                log('fault %s skipped: no host %s in a lab of %d' % (spec, host, len(hosts)))
                continue
            lab_cmd(args.lab_id, ['fault', host, fault])
        acct = CpuAccount(args.lab_id)
        prefix = 'lab-' if args.lab_id == 0 else 'lab%d-' % args.lab_id
        result['target_processes'] = acct.adopt_namespaces(prefix + name for name, _a in hosts)
        for size in sizes:
            if size > len(hosts):
                raise BenchError('fleet of %d but the lab has %d hosts' % (size, len(hosts)))
            fleet = run_fleet(size, hosts, hvars, args, workdir, acct)
            result['fleets'].append(fleet)
            print_lab([fleet])
        result['marginal'] = marginal(result['fleets'])
        print_marginal(result['marginal'])
    finally:
        log('lab %d: down' % args.lab_id)
        down = lab_cmd(args.lab_id, ['down'], timeout=300, check=False)
        if down.returncode != 0:
            log('lab down failed (rc=%s): %s' % (down.returncode, down.stderr.strip()))
        if acct is not None:
            acct.close()
    return result


# ====================================================================================== endpoints
# What one more endpoint costs on a real service host: a systemd host of the lab with the services layer
# (gunicorn lab-app.service :8000, nginx :80, HAProxy :8080, Redis :6379), endpoint_facts over ssh with 1
# and with all 4 endpoints, interleaved; target CPU (the host's namespaces in their own cgroup) and wall.
BENCH_ENDPOINTS = ({'name': 'app', 'port': 8000, 'protocol': 'http', 'unit': 'lab-app.service'},
                   {'name': 'web', 'port': 80, 'protocol': 'http'},
                   {'name': 'proxy', 'port': 8080, 'protocol': 'http'},
                   {'name': 'cache', 'port': 6379})


def bench_endpoints(args, workdir):
    lab_id = args.lab_id + 1
    fdir = os.path.join(workdir, 'endpoints')
    os.makedirs(os.path.join(fdir, 'cp'), exist_ok=True)
    acct = None
    out = {'lab_id': lab_id, 'endpoints': [e['name'] for e in BENCH_ENDPOINTS], 'runs': {}}
    try:
        log('lab %d: up one systemd host with services' % lab_id)
        lab_cmd(lab_id, ['up', 'svc:systemd@bookworm+services'], timeout=LAB_UP_TIMEOUT)
        lab_cmd(lab_id, ['service', 'svc', 'all'], timeout=300)
        hosts, hvars = parse_lab_inventory(lab_cmd(lab_id, ['inventory']).stdout)
        inv = os.path.join(fdir, 'inventory.ini')
        cfgpath = os.path.join(fdir, 'ansible.cfg')
        write_inventory(inv, hosts, hvars)
        write_cfg(cfgpath, 1, fdir)
        env = env_for({'ANSIBLE_CONFIG': cfgpath, 'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json'})
        acct = CpuAccount(lab_id)
        acct.adopt_namespaces(('lab-' if lab_id == 0 else 'lab%d-' % lab_id) + name for name, _a in hosts)
        sets = (('ping', None), ('1', BENCH_ENDPOINTS[:1]), (str(len(BENCH_ENDPOINTS)), BENCH_ENDPOINTS))
        for rep in range(args.reps + 1):     # round 0 warms the connection and the host's caches
            for name, specs in sets:
                argv = ['ansible', 'all', '-i', inv, '-o', '-m', 'ansible.builtin.ping' if specs is None else
                        'connreset.doctor.endpoint_facts']
                if specs is not None:
                    argv += ['-a', json.dumps({'endpoints': specs})]
                proc, m = timed_run(argv, fdir, env, acct, os.path.join(fdir, 'cpu-%s-%d.json' % (name, rep)))
                if proc.returncode != 0:
                    raise BenchError('%s failed: %s' % (' '.join(argv[:6]), (proc.stdout + proc.stderr)[-1500:]))
                if rep:
                    out['runs'].setdefault(name, []).append(m)
    finally:
        log('lab %d: down' % lab_id)
        lab_cmd(lab_id, ['down'], timeout=300, check=False)
        if acct is not None:
            acct.close()
    for name, runs in out['runs'].items():
        out[name] = dict((key, round(median([r[key] for r in runs]), 4)) for key in ('wall_s', 'target_cpu_s'))
    many = str(len(BENCH_ENDPOINTS))
    extra = len(BENCH_ENDPOINTS) - 1
    out['per_endpoint'] = {'target_cpu_s': round((out[many]['target_cpu_s'] - out['1']['target_cpu_s']) / extra, 4),
                           'wall_s': round((out[many]['wall_s'] - out['1']['wall_s']) / extra, 4)}
    out.pop('runs')
    print('\n== endpoints on a real service host (systemd, gunicorn, nginx, HAProxy, Redis; median of %d)' % args.reps)
    print('%-28s %8s %14s' % ('call', 'wall s', 'target CPU s'))
    for name, label in (('ping', 'ansible.builtin.ping'), ('1', 'endpoint_facts, 1 endpoint'),
                        (many, 'endpoint_facts, %s endpoints' % many)):
        print('%-28s %8.3f %14.3f' % (label, out[name]['wall_s'], out[name]['target_cpu_s']))
    print('per endpoint: %.3f s target CPU, %.3f s wall (one module call per host whatever the count)' % (
        out['per_endpoint']['target_cpu_s'], out['per_endpoint']['wall_s']))
    return out


# ========================================================================================= report
def child(argv, timeout=CMD_TIMEOUT):
    """Run ``bench.py <argv>`` in a fresh process and return its JSON (stdout)."""
    proc = subprocess.run([sys.executable, os.path.abspath(__file__)] + argv, env=env_for(), capture_output=True,
                          text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise BenchError('bench.py %s failed (rc=%s): %s' % (' '.join(argv), proc.returncode, proc.stderr[-3000:]))
    return json.loads(proc.stdout)


def _gen_fleet(n, dest, layout='subnets'):
    """Child: synthetic host inputs -> engine -> hosts/*.json, one host at a time (a fleet of 100,000
    does not fit in memory as inputs and documents at once).  Prints timings and the findings mix.

    Up to 10,000 hosts the documents are stored with fleet_report's store_host_doc (as the role
    does: a temporary file, fsync, rename); above, with the same file name and the same bytes but
    without the fsync of each file, which would make setting up 100,000 hosts take longer than the
    measurement itself (the build reads the files the same way either way).
    """
    sys.path.insert(0, HERE)
    import synth
    from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine, _report
    from ansible_collections.connreset.doctor.plugins.action import fleet_report
    by_sev = dict((s, 0) for s in SEVERITIES)
    engine_s = store_s = 0.0
    unreachable = size = 0
    hosts_dir = os.path.join(dest, 'hosts')
    os.makedirs(hosts_dir, exist_ok=True)
    for i in range(n):
        data = synth.host_input(i, layout=layout)
        started = time.monotonic()
        doc = _engine.diagnose_host(data)
        engine_s += time.monotonic() - started
        for finding in doc['findings']:
            by_sev[finding['severity']] += 1
        unreachable += 0 if doc['reachable'] else 1
        started = time.monotonic()
        if n <= 10000:
            path = fleet_report.store_host_doc(dest, doc)
        else:
            path = os.path.join(hosts_dir, _report.host_file_name(doc['host']))
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write(_report.dumps(doc, indent=1, sort_keys=True) + '\n')
        store_s += time.monotonic() - started
        size += os.path.getsize(path)
    print(json.dumps({'hosts': n, 'engine_s': round(engine_s, 3), 'engine_ms_per_host': round(1000 * engine_s / n, 3),
                      'store_s': round(store_s, 3), 'host_docs_bytes': size, 'findings_by_severity': by_sev,
                      'unreachable': unreachable}))


def _build_report(src, dest):
    """Child: what the fleet_report action does at the end of a play, timed (all four formats)."""
    from ansible_collections.connreset.doctor.plugins.action import fleet_report
    from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine, _report
    started = time.monotonic()
    outcome = fleet_report.run_report(src, dest=dest, formats=FORMATS, fleet_check=_engine.apply_fleet_findings,
                                      version='bench')
    total = time.monotonic() - started
    # run_report's own peak, before the phase-by-phase pass below (which reads the whole documents)
    build_maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    phases = {}
    if outcome['summary']['hosts'] > 20000:
        # a second pass over 100,000 hosts would double a long run: the total is what is measured
        print(json.dumps({'total_s': round(total, 3), 'hosts': outcome['summary']['hosts'], 'phases': phases,
                          'build_maxrss_kib': build_maxrss_kib}))
        return
    # the same work again, phase by phase (what dominates)
    t = time.monotonic()
    docs, errors = _report.load_host_docs(src)
    phases['load'] = time.monotonic() - t
    t = time.monotonic()
    docs = _engine.apply_fleet_findings(docs)
    phases['fleet_findings'] = time.monotonic() - t
    t = time.monotonic()
    report = _report.build_report(docs, version='bench', errors=errors)
    phases['build'] = time.monotonic() - t
    for fmt in FORMATS:
        t = time.monotonic()
        text = _report.render(report, fmt)
        phases['render_' + fmt] = time.monotonic() - t
        phases['bytes_' + fmt] = len(text.encode('utf-8'))
    print(json.dumps({'total_s': round(total, 3), 'hosts': outcome['summary']['hosts'],
                      'phases': dict((k, round(v, 3) if isinstance(v, float) else v) for k, v in phases.items()),
                      'build_maxrss_kib': build_maxrss_kib}))


def _rusage(argv):
    """Child: run ``argv`` (a fresh process) and add its peak RSS (RUSAGE_CHILDREN ru_maxrss, KiB)."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=CMD_TIMEOUT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(proc.returncode)
    data = json.loads(proc.stdout)
    data['maxrss_kib'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(data))


def bench_report(args, workdir):
    out = []
    cases = [(n, 'subnets') for n in args.report_hosts] + [(n, 'one_subnet') for n in args.one_subnet_hosts]
    for n, layout in cases:
        src = os.path.join(workdir, 'report%d-%s' % (n, layout))
        os.makedirs(src)
        gen = child(['_gen-fleet', str(n), src, layout])
        runs = []
        for _rep in range(args.report_reps if n < 5000 else 1):
            dest = tempfile.mkdtemp(dir=workdir)
            runs.append(child(['_rusage', sys.executable, os.path.abspath(__file__), '_build-report', src, dest]))
            shutil.rmtree(dest)
        best = sorted(runs, key=lambda r: r['total_s'])[len(runs) // 2]
        entry = {'hosts': n, 'layout': layout, 'synthetic': gen, 'reps': len(runs), 'total_s': [r['total_s'] for r in runs],
                 'median_s': best['total_s'], 'maxrss_mib': round(max(r['maxrss_kib'] for r in runs) / 1024.0, 1),
                 'build_maxrss_mib': round(max(r['build_maxrss_kib'] for r in runs) / 1024.0, 1),
                 'phases_s': best['phases']}
        out.append(entry)
        print_report([entry])
        shutil.rmtree(src)
    main = [e for e in out if e['layout'] == 'subnets']
    if len(main) >= 2:
        small, big = main[0], main[-1]
        out.append({'scaling': {'hosts_ratio': round(big['hosts'] / float(small['hosts']), 1),
                                'time_ratio': ratio(big['median_s'], small['median_s'])}})
    return out


# ========================================================================================= module
MODULE_CASES = (
    ('ping', 'ansible.builtin.ping', ''),
    ('reset_facts', 'connreset.doctor.reset_facts', ''),
    ('reset_facts_tcp', 'connreset.doctor.reset_facts', 'gather_subset=!all,tcp'),
    # the endpoints collector with 1 and ENDPOINTS_MANY endpoints (ports on this machine, listening or not:
    # each is read the same way): the difference is what one more endpoint costs
    ('endpoints_1', 'connreset.doctor.endpoint_facts', json.dumps({'endpoints': [{'port': 22}]})),
    ('endpoints_many', 'connreset.doctor.endpoint_facts',
     json.dumps({'endpoints': [{'port': 22}] + [{'port': 8000 + i, 'protocol': 'http'} for i in range(7)]})),
)
ENDPOINTS_MANY = 8


def _payload(workdir, name, module, margs):
    """The AnsiballZ file ansible-core sends for one call (kept with ANSIBLE_KEEP_REMOTE_FILES, local
    connection on the controller, which builds exactly what it sends to a target)."""
    tmp = os.path.join(workdir, 'keep-%s' % name)
    argv = ['ansible', 'localhost', '-c', 'local', '-m', module, '-e', 'ansible_python_interpreter=%s' % sys.executable]
    if margs:
        argv += ['-a', margs]
    proc = subprocess.run(argv, env=env_for({'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': tmp,
                                             'ANSIBLE_PIPELINING': 'False'}),
                          capture_output=True, text=True, timeout=300, check=False)
    for dirpath, _dirs, files in os.walk(tmp):
        for f in files:
            if f.startswith('AnsiballZ_'):
                return os.path.join(dirpath, f)
    raise BenchError('no AnsiballZ payload kept for %s: %s' % (name, (proc.stdout + proc.stderr)[-1000:]))


def bench_module(args, workdir):
    """What one module call does on a host, measured on the controller (a real host too): payload
    size, the collection's module_utils imported and their import time (python -X importtime:
    compiling them from the zip included), commands run (strace -f execve), CPU time of the whole
    call (the payload run directly, user+system of it and its children; median of 5)."""
    out = {}
    strace = shutil.which('strace')
    for name, module, margs in MODULE_CASES:
        path = _payload(workdir, name, module, margs)
        entry = {'payload_bytes': os.path.getsize(path)}
        cpu = []
        for _rep in range(5):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, path], capture_output=True, timeout=300, check=False)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        entry['cpu_s'] = round(median(cpu), 4)
        proc = subprocess.run([sys.executable, '-X', 'importtime', path], capture_output=True, text=True, timeout=300,
                              check=False)
        own = [line.split('|') for line in proc.stderr.splitlines()
               if line.startswith('import time:') and 'connreset.doctor.plugins.module_utils.' in line]
        entry['module_utils_imported'] = sorted(p[2].strip().rsplit('.', 1)[1] for p in own)
        entry['module_utils_import_ms'] = round(sum(int(p[0].split(':')[1]) for p in own) / 1000.0, 1)
        if strace:
            trace = os.path.join(workdir, 'strace-%s.txt' % name)
            subprocess.run([strace, '-f', '-qq', '-e', 'trace=execve', '-o', trace, sys.executable, path],
                           capture_output=True, timeout=300, check=False)
            with open(trace, encoding='utf-8', errors='replace') as handle:
                execs = [line.split('execve("', 1)[1].split('"', 1)[0] for line in handle
                         if 'execve("' in line and '= 0' in line.rsplit(')', 1)[-1]]
            entry['commands'] = len(execs) - 1  # the interpreter itself is not a command
            entry['command_names'] = sorted(set(os.path.basename(e) for e in execs[1:]))
        out[name] = entry
    out['reset_facts_over_ping_cpu'] = ratio(out['reset_facts']['cpu_s'], out['ping']['cpu_s'])
    out['endpoint_cpu_s'] = round((out['endpoints_many']['cpu_s'] - out['endpoints_1']['cpu_s']) / (ENDPOINTS_MANY - 1), 4)
    print_module(out)
    return out


def print_module(m):
    print('\n== one module call on this machine (the AnsiballZ payload run directly; CPU: median of 5)')
    print('%-34s %10s %9s %9s %12s %s' % ('call', 'payload', 'CPU s', 'commands', 'imports ms', 'module_utils'))
    labels = {'ping': 'ansible.builtin.ping', 'reset_facts': 'reset_facts (all)',
              'reset_facts_tcp': 'reset_facts gather_subset=[tcp]', 'endpoints_1': 'endpoint_facts, 1 endpoint',
              'endpoints_many': 'endpoint_facts, %d endpoints' % ENDPOINTS_MANY}
    for name, _module, _margs in MODULE_CASES:
        e = m[name]
        print('%-34s %7.0f KB %9.3f %9s %12.1f %s' % (
            labels[name], e['payload_bytes'] / 1000.0, e['cpu_s'], e.get('commands', 'n/a'),
            e['module_utils_import_ms'], ' '.join(x.lstrip('_') for x in e['module_utils_imported'])))
    print('commands of reset_facts (all): %s' % ', '.join(m['reset_facts'].get('command_names') or []))
    print('endpoints: %.4f s of CPU per endpoint (endpoint_facts with %d endpoints minus with 1, over %d; one call '
          'per host whatever the count)' % (m['endpoint_cpu_s'], ENDPOINTS_MANY, ENDPOINTS_MANY - 1))


# =========================================================================================== logs
# Fallback prefilter for a collector that has no keyword list of its own (the collectors now
# pass _sshd.EVENT_KEYWORDS and _oom.KEYWORDS to LogScan; the bench uses theirs when present).
SSHD_KEYWORDS = ('drop connection', 'MaxStartups', 'penalty', 'refused connect', 'Received signal',
                 'Received SIGHUP', 'ain process exited', 'Failed with result', 'failed', 'Scheduled restart',
                 'Start request repeated', 'Stopped')


def _scan_logs(path, expect_json):
    """Child: the collectors' log scans over ``path``, timed; prints rates and the counts found."""
    from ansible_collections.connreset.doctor.plugins.module_utils import _oom, _sshd
    from ansible_collections.connreset.doctor.plugins.module_utils._common import System
    from ansible_collections.connreset.doctor.plugins.module_utils._logs import LogScan, Window, parse_since
    expect = json.loads(expect_json)
    lines = expect['lines']
    since = parse_since('7d')
    window = Window(since)   # what resolve_window gives for since: 7d (up to now)
    out = {}

    def rate(name, fn):
        started, cpu = time.monotonic(), time.process_time()
        value = fn()
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        # CPU time too: on a shared machine it is steadier than wall time
        out[name] = {'s': round(elapsed, 3), 'lines_per_s': int(lines / elapsed),
                     'cpu_s': round(cpu, 3), 'lines_per_cpu_s': int(lines / cpu)}
        return value

    # baseline: reading the lines (System.lines, what every file scan costs before parsing)
    rate('read_only', lambda: sum(1 for _line in System().lines(path)))

    def sshd_scan(keywords):
        scan = LogScan(System(), since=since, keywords=keywords, keep_outside=True)
        counter = _sshd.EventCounter(since, scan.now)
        for entry in scan.file(path):
            counter.feed(entry)
        return counter.result()

    def oom_scan(keywords):
        scan = LogScan(System(), since=since, keywords=keywords)
        folder = _oom.KillFolder()
        for entry in scan.file(path):
            folder.add(entry)
        return folder.results()

    events = rate('sshd_events', lambda: _sshd.collect_events(System(), window, [path]))
    oom = rate('oom_kills', lambda: _oom.collect(System(), {'log_files': [path], 'since': '7d'}))
    ev_plain = rate('sshd_events_nokeywords_loop', lambda: sshd_scan(None))
    ev_kw = rate('sshd_events_keywords', lambda: sshd_scan(getattr(_sshd, 'EVENT_KEYWORDS', SSHD_KEYWORDS)))
    kills_plain = rate('oom_kills_nokeywords_loop', lambda: oom_scan(None))
    oom_keywords = getattr(_oom, 'KEYWORDS', None) or _oom._KEYWORDS  # pylint: disable=protected-access
    kills_kw = rate('oom_kills_keywords', lambda: oom_scan(oom_keywords))
    out['checks'] = {
        'maxstartups_drops_expected': expect['maxstartups_drops'],
        'maxstartups_drops_found': events['maxstartups_drops']['count'],
        'oom_kills_expected': expect['oom_kills'],
        # the fact lists the most recent kills only (capped); kill_count counts them all
        'oom_kills_found': oom['kill_count'] if oom.get('kill_count') is not None else len(oom['kills'] or []),
        'sshd_keywords_same_result': ev_kw == ev_plain and all(events[k] == v for k, v in ev_plain.items()),
        'oom_keywords_same_result': kills_kw == kills_plain and len(kills_plain[0]) == (
            oom['kill_count'] if oom.get('kill_count') is not None else len(oom['kills'] or [])),
        'sshd_status': events['status'], 'oom_status': oom['status'],
    }
    print(json.dumps(out))


def bench_logs(args, workdir):
    sys.path.insert(0, HERE)
    import synth
    path = os.path.join(workdir, 'auth-kern.log')
    started = time.monotonic()
    expect = synth.write_log(path, lines=args.log_lines)
    gen_s = time.monotonic() - started
    runs = [child(['_scan-logs', path, json.dumps(expect)]) for _rep in range(args.log_reps)]
    os.unlink(path)
    names = [k for k in runs[0] if k != 'checks']
    med = dict((k, int(median([r[k]['lines_per_s'] for r in runs]))) for k in names)
    med_cpu = dict((k, int(median([r[k]['lines_per_cpu_s'] for r in runs]))) for k in names)
    result = {'lines': expect['lines'], 'bytes': expect['bytes'], 'generate_s': round(gen_s, 2), 'reps': len(runs),
              'lines_per_s': med, 'lines_per_cpu_s': med_cpu, 'checks': runs[-1]['checks'],
              'keywords_speedup': {
                  'sshd': ratio(med['sshd_events_keywords'], med['sshd_events_nokeywords_loop']),
                  'oom': ratio(med['oom_kills_keywords'], med['oom_kills_nokeywords_loop'])},
              'keywords_speedup_cpu': {
                  'sshd': ratio(med_cpu['sshd_events_keywords'], med_cpu['sshd_events_nokeywords_loop']),
                  'oom': ratio(med_cpu['oom_kills_keywords'], med_cpu['oom_kills_nokeywords_loop'])},
              'note': 'sshd_events and oom_kills: the collectors as shipped (collect_events, oom collect with '
                      'log_files); *_nokeywords_loop: the same LogScan + counter without a prefilter; '
                      '*_keywords: with the collector\'s own keyword list'}
    print_logs(result)
    return result


# ========================================================================================= output
def print_lab(fleets):
    labels = {'ping': 'ansible all -m ping', 'diagnose': 'connreset.doctor.diagnose',
              'reset_facts': 'ansible all -m reset_facts', 'ping_cold': 'ping, cold (fresh connections)',
              'diagnose_cold': 'diagnose, cold', 'naive': 'bench/naive.yml'}
    for f in fleets:
        m = f['median']
        print('\n== lab fleet: %d light hosts, forks %d, %d interleaved rounds (medians)' % (
            f['hosts'], f['forks'], f['reps']))
        print('%-32s %8s %7s %12s %12s %10s  %s' % (
            'command', 'wall s', 'x ping', 'ctl CPU/host', 'main CPU/host', 'tgt CPU/host', 'runs (wall s)'))
        for name in [c[0] for c in LAB_COMMANDS if c[0] in m]:
            base = m['ping_cold' if name.endswith('_cold') else 'ping']
            print('%-32s %8.2f %7.2f %9.1f ms %10s ms %7.1f ms  %s' % (
                labels[name], m[name]['wall_s'], m[name]['wall_s'] / base['wall_s'],
                m[name]['controller_cpu_per_host_ms'], m[name]['main_cpu_per_host_ms'],
                m[name]['target_cpu_per_host_ms'], ' '.join('%.2f' % r['wall_s'] for r in f['runs'][name])))
        fi = f['findings']
        print('findings: diagnose %d (%s), naive 0 (raw command output only)' % (
            fi['diagnose'], ', '.join('%s %d' % (k, v) for k, v in fi['diagnose_by_severity'].items() if v)))
        c = f['collector_time_s']
        print('on-target collector time per host (connreset_meta.elapsed_s): median %.3f s, max %.3f s' % (
            c['median'], c['max']))
        sh = f.get('single_host')
        if sh:
            print('one host at a time (forks 1, median of 5): target CPU ping %.3f s, reset_facts %.3f s (x %.2f); '
                  'collectors %.3f s: %s' % (
                      sh['ping']['target_cpu_s'], sh['reset_facts']['target_cpu_s'],
                      sh['reset_facts_over_ping_target_cpu'] or 0, sh['collectors_elapsed_s'] or 0,
                      ', '.join('%s %.3f' % kv for kv in sorted(sh['per_collector_median'].items(),
                                                                key=lambda kv: -kv[1]))))
        if f['profile']:
            print('diagnose tasks (wall s, untimed profiling run): ' + '; '.join(
                '%s %.2f' % (t['task'].split(' : ', 1)[-1][:40], t['wall_s']) for t in f['profile']['tasks']))


def marginal(fleets):
    """CPU per additional host, from the smallest to the largest fleet: (X(big) - X(small)) / (big - small)
    for each command and CPU figure.  What a fleet ten times larger costs per host, without the
    fixed start-up of ansible-playbook (parsing, imports) that the per-host figure of one small
    fleet carries."""
    if len(fleets) < 2:
        return None
    small, big = fleets[0], fleets[-1]
    out = {'from_hosts': small['hosts'], 'to_hosts': big['hosts']}
    for name in big['median']:
        if name not in small['median']:
            continue
        out[name] = {}
        for key in ('controller_cpu_s', 'main_cpu_s', 'target_cpu_s'):
            a, b = small['median'][name][key], big['median'][name][key]
            out[name][key[:-2] + '_per_host_ms'] = (
                round(1000.0 * (b - a) / (big['hosts'] - small['hosts']), 1) if a is not None and b is not None else None)
    return out


def print_marginal(m):
    if not m:
        return
    print('\n== CPU per additional host, %d -> %d hosts (slope of the medians; no fixed start-up)' % (
        m['from_hosts'], m['to_hosts']))
    for name in [c[0] for c in LAB_COMMANDS if c[0] in m]:
        v = m[name]
        print('%-16s controller %6.1f ms   main process %6.1f ms   targets %6.1f ms' % (
            name, v['controller_cpu_per_host_ms'], v['main_cpu_per_host_ms'], v['target_cpu_per_host_ms']))


def targets(results):
    """Every target of docs/performance.md with its measured value: [(target, value, met)]."""
    out = []

    def add(name, value, limit, fmt, lower_is_better=True):
        met = None if value is None else (value <= limit if lower_is_better else value >= limit)
        out.append({'target': name, 'value': value, 'limit': limit, 'met': met,
                    'text': 'n/a' if value is None else fmt % value})
    for f in (results.get('lab') or {}).get('fleets', []):
        n, r, m = f['hosts'], f['ratios'], f['median']
        add('diagnose wall <= 1.5 x ping, %d hosts (warm)' % n, r['diagnose_over_ping_wall'], 1.5, '%.2f x')
        add('diagnose wall <= 1.5 x ping, %d hosts (cold)' % n, r['diagnose_over_ping_wall_cold'], 1.5, '%.2f x')
        add('controller CPU per host <= 1.5 x ping, %d hosts (warm)' % n, r['diagnose_over_ping_controller_cpu'],
            1.5, '%%.2f x (%.0f vs %.0f ms)' % (m['diagnose']['controller_cpu_per_host_ms'],
                                                m['ping']['controller_cpu_per_host_ms']))
        add('controller CPU per host <= 1.5 x ping, %d hosts (cold)' % n,
            r['diagnose_over_ping_controller_cpu_cold'], 1.5, '%%.2f x (%.0f vs %.0f ms)' % (
                m['diagnose_cold']['controller_cpu_per_host_ms'], m['ping_cold']['controller_cpu_per_host_ms']))
        add('main-process CPU per host <= 15 ms, %d hosts (incl. start-up)' % n,
            m['diagnose']['main_cpu_per_host_ms'], 15, '%%.1f ms (ping %s ms)' % m['ping']['main_cpu_per_host_ms'])
        add('target CPU per reset_facts call <= 1.3 x ping, %d hosts at once' % n,
            r['reset_facts_over_ping_target_cpu'], 1.3, '%%.2f x (%.0f vs %.0f ms)' % (
                m['reset_facts']['target_cpu_per_host_ms'], m['ping']['target_cpu_per_host_ms']))
        sh = f.get('single_host')
        if sh:
            add('target CPU per reset_facts call <= 1.3 x ping, one host at a time',
                sh['reset_facts_over_ping_target_cpu'], 1.3, '%%.2f x (%.0f vs %.0f ms)' % (
                    1000 * sh['reset_facts']['target_cpu_s'], 1000 * sh['ping']['target_cpu_s']))
    mg = (results.get('lab') or {}).get('marginal')
    if mg:
        span = '%d -> %d hosts' % (mg['from_hosts'], mg['to_hosts'])
        add('main-process CPU per additional host <= 15 ms (%s)' % span, mg['diagnose']['main_cpu_per_host_ms'], 15,
            '%%.1f ms (ping %s ms)' % mg['ping']['main_cpu_per_host_ms'])
        add('controller CPU per additional host <= 1.5 x ping (%s)' % span,
            ratio(mg['diagnose']['controller_cpu_per_host_ms'], mg['ping']['controller_cpu_per_host_ms']), 1.5,
            '%%.2f x (%.0f vs %.0f ms)' % (mg['diagnose']['controller_cpu_per_host_ms'],
                                           mg['ping']['controller_cpu_per_host_ms']))
    for e in results.get('report') or []:
        if 'scaling' in e or e.get('layout') != 'subnets':
            continue
        limit_s, limit_mib = (60, 4096) if e['hosts'] > 10000 else (10, 1024)
        add('fleet report from %d hosts <= %d s' % (e['hosts'], limit_s), e['median_s'], limit_s, '%.1f s')
        add('fleet report from %d hosts <= %d MiB peak' % (e['hosts'], limit_mib), e['maxrss_mib'], limit_mib,
            '%.0f MiB')
    return out


def print_targets(rows):
    if not rows:
        return
    print('\n== targets (docs/performance.md)')
    width = max(len(r['target']) for r in rows)
    for r in rows:
        print('%-*s  %-26s %s' % (width, r['target'], r['text'],
                                  'n/a' if r['met'] is None else ('met' if r['met'] else 'NOT MET')))


def print_report(entries):
    for e in entries:
        if 'scaling' in e:
            print('10x hosts -> %.1fx time' % e['scaling']['time_ratio'])
            continue
        g = e['synthetic']
        print('\n== fleet report from %d synthetic hosts, %s (%d unreachable; findings %s)' % (
            e['hosts'], {'subnets': '50 per /24', 'one_subnet': 'all in one /16, 10% jumbo MTU'}.get(
                e.get('layout'), e.get('layout')), g['unreachable'], ', '.join('%s %d' % kv for kv in g['findings_by_severity'].items())))
        print('build + write json, md, html, junit: median %.2f s, peak RSS %.0f MiB (run_report alone %.0f MiB; '
              'the rest is the phase-by-phase pass)' % (e['median_s'], e['maxrss_mib'], e['build_maxrss_mib']))
        p = e['phases_s']
        print('  phases: ' + ', '.join('%s %.2f s' % (k, v) for k, v in p.items() if not k.startswith('bytes_')))
        print('  sizes: ' + ', '.join('%s %.1f MB' % (k[6:], v / 1e6) for k, v in p.items() if k.startswith('bytes_')))
        print('  engine (diagnose_host filter): %.2f ms per host' % g['engine_ms_per_host'])


def print_logs(r):
    print('\n== log scan: %d lines (%.0f MB) of auth.log + kern.log, median of %d' % (
        r['lines'], r['bytes'] / 1e6, r['reps']))
    base = r['lines_per_s']['read_only']
    cpu = r.get('lines_per_cpu_s') or {}
    print('%-34s %12s %12s %14s' % ('scan', 'lines/s', 'x read-only', 'lines/CPU-s'))
    for k, v in r['lines_per_s'].items():
        print('%-34s %12d %12.2f %14s' % (k, v, v / float(base), cpu.get(k, '')))
    c = r['checks']
    print('checks: MaxStartups drops %s/%s, OOM kills %s/%s, keyword prefilter gives the same result: sshd %s, oom %s'
          % (c['maxstartups_drops_found'], c['maxstartups_drops_expected'], c['oom_kills_found'],
             c['oom_kills_expected'], c['sshd_keywords_same_result'], c['oom_keywords_same_result']))


# =========================================================================================== main
def snapshot(mode, workdir):
    """Point BENCH_CODE at the collection to benchmark; returns what was benchmarked."""
    def git(*argv):
        return subprocess.run(['git', '-C', ROOT] + list(argv), capture_output=True, check=False)
    commit = git('rev-parse', 'HEAD').stdout.decode().strip() or None
    dirty = bool(git('status', '--porcelain', '--untracked-files=no').stdout.strip())
    if mode == 'worktree':
        os.environ['BENCH_CODE'] = BUILD
        return {'mode': 'worktree', 'commit': commit, 'uncommitted_changes': dirty}
    dest = os.path.join(workdir, 'code', 'ansible_collections', 'connreset', 'doctor')
    os.makedirs(dest)
    archive = subprocess.run(['git', '-C', ROOT, 'archive', '--format=tar', 'HEAD'], capture_output=True, check=False,
                             timeout=120)
    if archive.returncode != 0:
        raise BenchError('git archive HEAD failed: %s (use --code worktree outside a git checkout)'
                         % archive.stderr.decode().strip())
    subprocess.run(['tar', '-x', '-C', dest], input=archive.stdout, check=True, timeout=120)
    os.environ['BENCH_CODE'] = os.path.join(workdir, 'code')
    return {'mode': 'head', 'commit': commit}


def parse_args(argv):
    p = argparse.ArgumentParser(prog='bench/run', description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--parts', default='lab,endpoints,module,report,logs',
                   help='comma list of lab, endpoints, module, report, logs (default all)')
    p.add_argument('--reps', type=int, default=5, help='interleaved repetitions per command on the lab (default 5)')
    p.add_argument('--sizes', default='10,30,100',
                   help='lab fleet sizes (default 10,30,100; at most 200; more than 20 hosts is a heavy run: '
                        'on a shared machine run it under flock, see docs/performance.md)')
    p.add_argument('--naive-max', type=int, default=30,
                   help='run bench/naive.yml on fleets up to this size only (default 30: it is 8 tasks per host)')
    p.add_argument('--lab-id', type=int, default=int(os.environ.get('BENCH_LAB_ID', '9')),
                   help='LAB_ID of the lab the benchmark brings up and tears down (default 9, env BENCH_LAB_ID)')
    p.add_argument('--faults', default=','.join(DEFAULT_FAULTS),
                   help='HOST:FAULT list injected before timing (default %(default)s; "" for none)')
    p.add_argument('--report-hosts', default='1000,10000,100000', help='synthetic fleet sizes for the report')
    p.add_argument('--one-subnet-hosts', default='1000,2000',
                   help='synthetic fleets with every host in one /16 (the MTU fleet check compares them all)')
    p.add_argument('--log-lines', type=int, default=1000000)
    p.add_argument('--code', choices=('head', 'worktree'), default='head',
                   help='benchmark the committed tree (git archive HEAD, default) or the checkout as it is')
    p.add_argument('--quick', action='store_true',
                   help='2 rounds, fleet 10 (no naive), report 1000 hosts, one /16 of 500, 200k log lines')
    p.add_argument('--output', default=RESULTS, help='results JSON (default bench/results/latest.json)')
    args = p.parse_args(argv)
    if args.quick:
        args.reps, args.sizes, args.report_hosts, args.log_lines = 2, '10', '1000', 200000
        args.naive_max = 0
        args.one_subnet_hosts = '500'
    args.parts = [x for x in args.parts.split(',') if x]
    bad = set(args.parts) - {'lab', 'endpoints', 'module', 'report', 'logs'}
    if bad:
        p.error('unknown parts %s: use lab, endpoints, module, report, logs' % ', '.join(sorted(bad)))
    args.sizes = [int(x) for x in args.sizes.split(',') if x]
    args.report_hosts = [int(x) for x in args.report_hosts.split(',') if x]
    args.one_subnet_hosts = [int(x) for x in args.one_subnet_hosts.split(',') if x]
    args.faults = [x for x in args.faults.split(',') if x]
    if not 1 <= args.reps <= 50 or not all(1 <= s <= 200 for s in args.sizes):
        p.error('--reps must be 1-50 and --sizes 1-200')
    args.report_reps = min(args.reps, 3)
    args.log_reps = min(args.reps, 3)
    return args


def main(argv):
    internal = {'_gen-fleet': lambda a: _gen_fleet(int(a[0]), *a[1:]), '_build-report': lambda a: _build_report(*a),
                '_rusage': _rusage, '_scan-logs': lambda a: _scan_logs(*a)}
    if argv and argv[0] in internal:
        internal[argv[0]](argv[1:])
        return 0
    args = parse_args(argv)
    if set(args.parts) & {'lab', 'endpoints'} and os.geteuid() != 0:
        log('the lab and endpoints parts need root (network namespaces): run as root or use --parts module,report,logs')
        return 2
    # SIGTERM → SystemExit, so the finally blocks (lab down, temp dir) run as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {'machine': machine(), 'started': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
               'argv': argv, 'reps': args.reps}
    workdir = tempfile.mkdtemp(prefix='crbench-')
    started = time.monotonic()
    failed = []
    try:
        try:
            results['code'] = snapshot(args.code, workdir)
        except BenchError as exc:
            log(str(exc))
            return 1
        parts = (('lab', bench_lab), ('endpoints', bench_endpoints), ('report', bench_report), ('module', bench_module),
                 ('logs', bench_logs))
        for name, run in parts:
            if name not in args.parts:
                continue
            try:
                results[name] = run(args, workdir)
            except BenchError as exc:
                # one part that fails does not cost the others' figures: they are printed and saved
                log('part %s failed: %s' % (name, exc))
                failed.append(name)
                results.setdefault('failed_parts', {})[name] = str(exc)[-2000:]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results['elapsed_s'] = round(time.monotonic() - started, 1)
    results['targets'] = targets(results)
    print_targets(results['targets'])
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, 'w', encoding='utf-8') as handle:
        json.dump(results, handle, indent=1, sort_keys=True)
        handle.write('\n')
    note = '; FAILED parts: %s' % ', '.join(failed) if failed else ''
    log('results in %s (%.0f s)%s' % (args.output, results['elapsed_s'], note))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
