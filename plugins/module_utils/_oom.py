# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OOM kills and memory pressure: parsers (text in, data out) and ``collect``.  Private.

Kernel messages understood (mm/oom_kill.c, mm/memcontrol.c, 2.6.32 to 6.x):

* ``Out of memory: Kill process 1234 (java) score 900 or sacrifice child`` (≤ 5.0; the
  ``Memory cgroup out of memory:`` prefix for a memcg OOM);
* ``Killed process 1234 (java) total-vm:..kB, anon-rss:..kB, file-rss:..kB[, shmem-rss:..kB]``
  (≤ 5.0), RHEL 7's ``Killed process 1234 (java), UID 0, total-vm:...``, RHEL 6's
  ``Killed process 1234, UID 0, (java) total-vm:...``;
* ``Out of memory: Killed process 1234 (java) total-vm:..., UID:0 pgtables:..kB
  oom_score_adj:0`` (≥ 5.1, also with ``Memory cgroup out of memory:``);
* ``oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,
  oom_memcg=/a,task_memcg=/a/b,task=sshd,pid=1234,uid=0`` (≥ 4.19, printed before the kill);
* ``oom_reaper: reaped process 1234 (sshd), now anon-rss:0kB, ...`` (≥ 4.6, after the kill);
* ``Task in /foo killed as a result of limit of /foo`` (≤ 4.18 memcg, before the kill);
* ``Kill process 1235 (worker) sharing same memory`` (≤ 4.x: a second process killed);
* systemd-oomd (v247+): ``Killed /a/b.scope due to memory pressure for /a being 60.00% > 50.00%
  for > 20s with reclaim activity``, ``Killed /a/b.scope due to swap used (..) / total (..)
  being more than 90.00%`` and, from v253, ``Marked /a/b.scope for killing due to ...``;
* systemd: ``ssh.service: A process of this unit has been killed by the OOM killer.``,
  ``ssh.service: Failed with result 'oom-kill'.``, ``x.service: systemd-oomd killed N
  process(es) in this unit.``

Lines that name processes that were *not* killed — the task table (``[  pid  ]   uid  tgid
total_vm ...`` rows), ``X invoked oom-killer: gfp_mask=...``, ``oom killer 12 (x) has mm pinned
by 13 (y)`` — are never counted.  The lines describing one kill (summary, ``Kill process``,
``Killed process``, ``oom_reaper``) are merged into one entry by pid and time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, OptionError, permission_hint, result, summarize,
)
from ansible_collections.connreset.doctor.plugins.module_utils._logs import LogScan, iso, parse_since

ARGUMENT_SPEC = dict(
    since=dict(type='str', default='7d'),
    log_files=dict(type='list', elements='path'),
    watch=dict(type='list', elements='str', default=['sshd', 'sshd-session']),
)

DEFAULT_LOG_FILES = ['/var/log/kern.log', '/var/log/messages', '/var/log/syslog']

# Lines of one kill that are this far apart (seconds) are still the same kill.
MERGE_WINDOW_S = 60
# ... and, when a line has no time, this many lines apart in the same source.
MERGE_LINES = 400
# Syslog files have local time without a zone (read as UTC); zones reach UTC+14.
MAX_ZONE_OFFSET_S = 14 * 3600
MAX_EVIDENCE = 4

# Units the watch names also match (the unit OpenSSH runs in on Debian/Ubuntu and on RHEL/SUSE):
# a unit result or a systemd-oomd kill of ssh.service means the listener is gone.  Per-connection
# processes (sshd-session) are matched by name only.
WATCH_UNITS = {
    'sshd': ('ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket'),
}

_SCOPE_PREFIX = r'(?:(?P<prefix>Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: )?'
# "Killed process PID (NAME) total-vm:..." with an optional ", UID N," (RHEL 7) after the name;
# NAME runs to the LAST ") total-vm" / "), UID" so names with spaces and parentheses survive.
_KILLED = re.compile(
    _SCOPE_PREFIX + r'Killed process (?P<pid>\d+) \((?P<name>.*)\)(?:, UID (?P<uid1>\d+),)? total-vm:(?P<vm>\d+)kB'
    r'(?P<rest>.*)$')
# RHEL 6 (2.6.32): "Killed process 21578, UID 503, (redis-server) total-vm:..."
_KILLED_RHEL6 = re.compile(
    _SCOPE_PREFIX + r'Killed process (?P<pid>\d+), UID (?P<uid1>\d+), \((?P<name>.*)\) total-vm:(?P<vm>\d+)kB(?P<rest>.*)$')
# "Out of memory: Kill process 1234 (java) score 900 or sacrifice child" (≤ 5.0)
_KILL = re.compile(_SCOPE_PREFIX + r'[Kk]ill process (?P<pid>\d+) \((?P<name>.*)\) score (?P<score>-?\d+) or sacrifice child\s*$')
# "Kill process 1235 (worker) sharing same memory" (≤ 4.x): a further process really killed.
_KILL_SHARING = re.compile(r'^Kill process (?P<pid>\d+) \((?P<name>.*)\) sharing same memory\s*$')
_REAPED = re.compile(r'^oom_reaper: reaped process (?P<pid>\d+) \((?P<name>.*)\),? now anon-rss:(?P<anon>\d+)kB')
_SUMMARY = re.compile(r'^oom-kill:(?P<fields>constraint=.*)$')
_TASK_IN = re.compile(r'^Task in (?P<task>\S+) killed as a result of limit of (?P<limit>\S+)')
_INVOKED = re.compile(r'^(?P<name>.*) invoked oom-killer: ')
_RSS_FIELD = re.compile(r'(anon|file|shmem)-rss:(\d+)kB')
_UID_FIELD = re.compile(r'\bUID:(\d+)')
_ADJ_FIELD = re.compile(r'\boom_score_adj:(-?\d+)')
_OOMD = re.compile(r'^(?:Killed (?P<killed>/\S*) due to|Marked (?P<marked>/\S*) for killing due to) (?P<why>.*)$')
_UNIT_OOM_PROCESS = re.compile(r'^(?P<unit>\S+\.[a-z]+): A process of this unit has been killed by the OOM killer\.?$')
_UNIT_RESULT = re.compile(r"^(?P<unit>\S+\.[a-z]+): Failed with result '(?P<result>oom-kill)'\.?$")
_UNIT_OOMD = re.compile(r'^(?P<unit>\S+\.[a-z]+): systemd-oomd killed (?:some|\d+) process(?:\(es\)|es)? in this unit\.?$')
# Every message classify() knows holds one of these: a cheap filter for big log files.
_KEYWORDS = ('rocess', 'oom', 'OOM', 'Task in', 'Killed', 'Marked')
_INNER_IDENT = re.compile(r'^(?P<ident>systemd(?:-oomd)?)\[\d+\]: (?P<msg>.*)$')
# Fixed parts of every message the patterns above match: LogScan parses only lines holding one
# (the task table printed during an OOM is skipped before parsing).  A unit test checks, on every
# sample, that the kills are the same with and without this filter.
KEYWORDS = ('illed process', 'ill process', 'oom_reaper', 'oom-kill', 'Task in ', 'invoked oom-killer',
            ' due to ', 'OOM killer', 'systemd-oomd')
_UNIT_SUFFIXES = ('.service', '.scope', '.slice', '.socket', '.mount', '.swap', '.target')

KILL_KEYS = ('time', 'scope', 'pid', 'process', 'cgroup', 'unit', 'rss_kb', 'uid', 'oom_score_adj',
             'constraint', 'source', 'evidence')


# -- pure parsers -----------------------------------------------------------------------------
def unit_of_cgroup(path):
    """The systemd unit a cgroup path belongs to (innermost unit-like component), or None.

    ``/system.slice/ssh.service`` → ``ssh.service``;
    ``/user.slice/user-1000.slice/session-3.scope`` → ``session-3.scope``.
    """
    if not path:
        return None
    for part in reversed(path.strip('/').split('/')):
        if part.endswith(_UNIT_SUFFIXES) and not part.endswith('.slice'):
            return part
    for part in reversed(path.strip('/').split('/')):
        if part.endswith('.slice'):
            return part
    return None


def parse_summary_fields(text):
    """``constraint=X,nodemask=(null),...,task=sshd,pid=1,uid=0`` → dict.

    ``task=`` is the last-but-two field and may itself contain commas, so the fields after
    it (``pid``, ``uid``) are taken from the right.
    """
    fields = {}
    head, sep, tail = text.partition(',task=')
    for item in head.split(','):
        key, eq, value = item.partition('=')
        if eq:
            fields[key] = value
    if sep:
        match = re.match(r'^(?P<task>.*),pid=(?P<pid>\d+),uid=(?P<uid>\d+)\s*$', tail)
        if match:
            fields.update(match.groupdict())
        else:
            fields['task'] = tail
    return fields


def _scope_of_prefix(prefix):
    if prefix == 'Memory cgroup out of memory':
        return 'memcg'
    if prefix == 'Out of memory':
        return 'global'
    return None


def classify(message):
    """One log message → an event dict, or None when it says nothing about a kill.

    Event ``kind``: ``killed`` (the kernel's kill line), ``kill`` (the selection line of
    ≤ 5.0), ``summary`` (``oom-kill:``), ``reaped``, ``task_in`` (≤ 4.18 memcg context),
    ``invoked`` (start of an OOM report), ``oomd`` (systemd-oomd kill) and ``unit``
    (systemd unit result).
    """
    if not message or not any(word in message for word in _KEYWORDS):
        return None
    msg = message.strip()
    for regex in (_KILLED, _KILLED_RHEL6):
        match = regex.match(msg)
        if match:
            g = match.groupdict()
            rest = g['rest'] or ''
            rss = dict((k, int(v)) for k, v in _RSS_FIELD.findall(rest))
            uid = g.get('uid1') or (_UID_FIELD.search(rest).group(1) if _UID_FIELD.search(rest) else None)
            adj = _ADJ_FIELD.search(rest)
            return {'kind': 'killed', 'pid': int(g['pid']), 'process': g['name'],
                    'scope': _scope_of_prefix(g['prefix']),
                    'rss_kb': sum(rss.values()) if rss else None,
                    'uid': int(uid) if uid is not None else None,
                    'oom_score_adj': int(adj.group(1)) if adj else None}
    match = _KILL.match(msg)
    if match:
        return {'kind': 'kill', 'pid': int(match.group('pid')), 'process': match.group('name'),
                'scope': _scope_of_prefix(match.group('prefix'))}
    match = _KILL_SHARING.match(msg)
    if match:
        return {'kind': 'killed', 'pid': int(match.group('pid')), 'process': match.group('name'),
                'scope': None, 'rss_kb': None, 'uid': None, 'oom_score_adj': None, 'sharing': True}
    match = _SUMMARY.match(msg)
    if match:
        fields = parse_summary_fields(match.group('fields'))
        if 'pid' not in fields:
            return None
        constraint = fields.get('constraint')
        cgroup = fields.get('task_memcg') or None
        return {'kind': 'summary', 'pid': int(fields['pid']), 'process': fields.get('task'),
                'uid': int(fields['uid']) if fields.get('uid') else None,
                'constraint': constraint,
                'scope': 'memcg' if constraint == 'CONSTRAINT_MEMCG' else 'global',
                'cgroup': cgroup, 'oom_memcg': fields.get('oom_memcg') or None}
    match = _REAPED.match(msg)
    if match:
        return {'kind': 'reaped', 'pid': int(match.group('pid')), 'process': match.group('name')}
    match = _TASK_IN.match(msg)
    if match:
        return {'kind': 'task_in', 'cgroup': match.group('task'), 'limit': match.group('limit')}
    match = _INVOKED.match(msg)
    if match:
        return {'kind': 'invoked', 'process': match.group('name')}
    match = _OOMD.match(msg)
    if match:
        cgroup = match.group('killed') or match.group('marked')
        return {'kind': 'oomd', 'cgroup': cgroup, 'why': match.group('why')}
    for regex, result_name in ((_UNIT_OOM_PROCESS, 'oom-killed-process'), (_UNIT_RESULT, 'oom-kill'),
                               (_UNIT_OOMD, 'oomd-kill')):
        match = regex.match(msg)
        if match:
            return {'kind': 'unit', 'unit': match.group('unit'), 'result': result_name}
    return None


def _source_ref(entry):
    return '%s:%s' % (entry.source, entry.lineno) if entry.lineno is not None else entry.source


class KillFolder:
    """Fold classified log entries into kills and unit results.

    Feed entries with :meth:`add` in log order (one source after another); the lines of one
    kill are merged by pid (or cgroup for systemd-oomd) within :data:`MERGE_WINDOW_S` seconds,
    or :data:`MERGE_LINES` lines of the same source when a line has no time.
    """

    def __init__(self):
        self.kills = []
        self.unit_results = []
        self._context = {}
        self._seen_units = set()
        self._position = {}

    def _same(self, kill, entry, key, value, process=None):
        if kill.get(key) != value:
            return False
        pos = self._position[id(kill)]
        if kill['_epoch'] is not None and entry.time is not None:
            delta = abs(kill['_epoch'] - entry.time)
            if pos[0] != entry.source and process is not None and kill.get('process') == process:
                # the same kill read from two sources (journal and kern.log, dmesg and kern.log):
                # syslog files carry local time without a zone, so allow any zone's offset
                return delta <= MAX_ZONE_OFFSET_S + MERGE_WINDOW_S
            return delta <= MERGE_WINDOW_S
        return pos[0] == entry.source and entry.lineno is not None and abs(entry.lineno - pos[1]) <= MERGE_LINES

    def _find(self, entry, key, value, process=None):
        for kill in reversed(self.kills[-200:]):
            if self._same(kill, entry, key, value, process):
                return kill
        return None

    def _new(self, entry, **data):
        kill = dict((k, None) for k in KILL_KEYS)
        kill['_epoch'] = entry.time
        kill['time'] = iso(entry.time)
        kill['source'] = _source_ref(entry)
        kill['evidence'] = []
        kill.update(data)
        self.kills.append(kill)
        self._position[id(kill)] = (entry.source, entry.lineno or 0)
        return kill

    @staticmethod
    def _fill(kill, **data):
        for key, value in data.items():
            if value is not None and kill.get(key) is None:
                kill[key] = value

    def _evidence(self, kill, entry):
        text = entry.raw if entry.raw is not None else entry.message
        if text not in kill['evidence'] and len(kill['evidence']) < MAX_EVIDENCE:
            kill['evidence'].append(text)

    def add(self, entry):
        message = entry.message
        inner = _INNER_IDENT.match(message) if message and message.startswith('systemd') else None
        if inner and entry.ident in (None, 'kernel'):
            # ``journalctl -o short-monotonic`` / console copies: "[ 77.7] systemd-oomd[659]: msg"
            message = inner.group('msg')
        event = classify(message)
        if event is None:
            return
        kind = event['kind']
        context = self._context.get(entry.source)
        if kind == 'invoked':
            self._context[entry.source] = {'time': entry.time, 'lineno': entry.lineno}
            return
        if kind == 'task_in':
            self._context[entry.source] = {'time': entry.time, 'lineno': entry.lineno,
                                           'cgroup': event['cgroup'], 'scope': 'memcg'}
            return
        if kind == 'unit':
            key = (event['unit'], event['result'], entry.time)
            if key in self._seen_units:
                return
            self._seen_units.add(key)
            self.unit_results.append({'unit': event['unit'], 'time': iso(entry.time), 'result': event['result'],
                                      'source': _source_ref(entry), 'line': entry.raw})
            return
        if kind == 'oomd':
            kill = self._find(entry, 'cgroup', event['cgroup'])
            if kill is None or kill['scope'] != 'oomd':
                kill = self._new(entry, scope='oomd', cgroup=event['cgroup'], unit=unit_of_cgroup(event['cgroup']))
            self._evidence(kill, entry)
            return
        kill = self._find(entry, 'pid', event['pid'], event.get('process'))
        if kill is not None and kill['scope'] == 'oomd':
            kill = None
        if kill is None:
            # (a lone reaper line means its kill line was rotated away or is before ``since``)
            kill = self._new(entry, pid=event['pid'], process=event['process'])
        self._fill(kill, process=event.get('process'))
        if kind == 'summary':
            kill['scope'] = event['scope']
            self._fill(kill, cgroup=event['cgroup'], uid=event['uid'], constraint=event['constraint'])
        elif kind in ('kill', 'killed'):
            if event.get('scope'):
                kill['scope'] = event['scope'] if kill['scope'] != 'memcg' else 'memcg'
            if kind == 'killed':
                self._fill(kill, rss_kb=event['rss_kb'], uid=event['uid'], oom_score_adj=event['oom_score_adj'])
        if context and self._context_applies(context, entry):
            self._fill(kill, cgroup=context.get('cgroup'))
            if context.get('scope') and not kill['scope']:
                kill['scope'] = context['scope']
        if kill['unit'] is None and kill['cgroup']:
            kill['unit'] = unit_of_cgroup(kill['cgroup'])
        self._evidence(kill, entry)

    @staticmethod
    def _context_applies(context, entry):
        if context.get('time') is not None and entry.time is not None:
            return abs(entry.time - context['time']) <= MERGE_WINDOW_S
        return entry.lineno is not None and context.get('lineno') is not None and \
            0 <= entry.lineno - context['lineno'] <= MERGE_LINES

    def results(self):
        """Kills (oldest first) without internal keys; a kill with no scope is ``global``."""
        kills = []
        for kill in self.kills:
            item = dict((k, kill[k]) for k in KILL_KEYS)
            if item['scope'] is None:
                item['scope'] = 'memcg' if item['constraint'] == 'CONSTRAINT_MEMCG' else 'global'
            kills.append(item)
        kills.sort(key=lambda k: (k['time'] is None, k['time'] or ''))
        return kills, list(self.unit_results)


def parse_entries(entries):
    """Entries (``_logs.LogLine``, in log order) → ``(kills, unit_results)``."""
    folder = KillFolder()
    for entry in entries:
        folder.add(entry)
    return folder.results()


def watched_killed(watch, kills, unit_results):
    """Names in ``watch`` that were killed.

    A kernel kill matches by process name; a systemd-oomd kill (a whole cgroup) and a unit
    result (systemd stops the unit after an OOM kill with ``OOMPolicy=stop``) match by unit.
    """
    found = []
    for name in watch or []:
        units = set(WATCH_UNITS.get(name, ())) | {name + '.service'}
        hit = False
        for kill in kills or []:
            if kill.get('process'):
                # the kernel names the process: another process of ssh.service is not sshd
                hit = hit or kill['process'] == name
            elif kill.get('unit') in units:
                hit = True      # systemd-oomd killed the whole unit's cgroup
        for unit in unit_results or []:
            if unit.get('unit') in units:
                hit = True
        if hit:
            found.append(name)
    return found


def parse_proc_cgroup(text):
    """``/proc/PID/cgroup`` text -> the memory cgroup path: the v1 ``memory`` controller's line
    (``4:memory:/docker/ab12``) or, without it, the v2 unified line (``0::/system.slice/x``); None
    when neither is there. Pure."""
    memory = unified = None
    for line in (text or '').splitlines():
        parts = line.strip().split(':', 2)
        if len(parts) != 3 or not parts[2].startswith('/'):
            continue
        if 'memory' in parts[1].split(','):
            memory = parts[2]
        elif parts[0] == '0' and parts[1] == '':
            unified = parts[2]
    return memory or unified


def cgroup_root(pid1_cgroup):
    """This host's own memory cgroup tree, from its PID 1's memory cgroup path, or None when it
    is the root: a whole machine, or a container in a private cgroup namespace (its PID 1 sees
    ``/init.scope`` while the kernel logs full paths, so its kills cannot be told from other
    containers' and all count as its own). A systemd PID 1 sits in ``<root>/init.scope``. Pure."""
    if not pid1_cgroup:
        return None
    path = pid1_cgroup.rstrip('/')
    if path.endswith('/init.scope'):
        path = path[:-len('/init.scope')]
    return path or None


def in_cgroup_tree(path, root):
    """True when cgroup ``path`` is ``root`` or below it (``/a/b`` is under ``/a``, ``/ab`` is not). Pure."""
    return path == root or path.startswith(root.rstrip('/') + '/')


def split_by_cgroup(kills, root):
    """(this host's kills, kills elsewhere): with ``root`` (see :func:`cgroup_root`), a kill whose
    cgroup the kernel named and that is outside ``root`` happened in another container or host
    sharing the kernel. Kills without a known cgroup (kernels before 4.19 print none for a global
    OOM) stay the host's: they cannot be told apart. Pure."""
    if not root or kills is None:
        return kills, []
    mine, elsewhere = [], []
    for kill in kills:
        path = kill.get('cgroup')
        (elsewhere if path and not in_cgroup_tree(path, root) else mine).append(kill)
    return mine, elsewhere


def elsewhere_part(elsewhere, root, samples=3):
    """The ``kills_elsewhere`` summary: count, processes and cgroups by count, a few kills."""
    processes, cgroups = {}, {}
    for kill in elsewhere:
        name = kill.get('process') or kill.get('unit') or '?'
        processes[name] = processes.get(name, 0) + 1
        cgroups[kill.get('cgroup')] = cgroups.get(kill.get('cgroup'), 0) + 1
    top = sorted(cgroups.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {
        'count': len(elsewhere),
        'cgroup_root': root,
        'processes': processes,
        'cgroups': dict(top),
        'samples': elsewhere[-samples:],
        'reason': ('the kernel log is shared with other containers or hosts: %d kill(s) in cgroups outside '
                   'this host\'s (%s) are not counted as its own' % (len(elsewhere), root)) if elsewhere else None,
    }


def parse_vmstat_oom_kill(text):
    """``oom_kill`` from /proc/vmstat text (kernel ≥ 4.13), or None."""
    for line in (text or '').splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == 'oom_kill':
            try:
                return int(parts[1])
            except ValueError:
                return None
    return None


def parse_meminfo(text):
    """/proc/meminfo → {MemTotal: kB, ...} (ints)."""
    values = {}
    for line in (text or '').splitlines():
        key, sep, rest = line.partition(':')
        if not sep:
            continue
        parts = rest.split()
        if parts:
            try:
                values[key.strip()] = int(parts[0])
            except ValueError:
                continue
    return values


def parse_psi(text):
    """/proc/pressure/memory → {some: {avg10, avg60, avg300, total}, full: {...}}; None if unreadable."""
    psi = {}
    for line in (text or '').splitlines():
        parts = line.split()
        if not parts or parts[0] not in ('some', 'full'):
            continue
        values = {}
        for item in parts[1:]:
            key, eq, value = item.partition('=')
            if not eq:
                continue
            try:
                values[key] = int(value) if key == 'total' else float(value)
            except ValueError:
                values[key] = None
        psi[parts[0]] = values
    return psi or None


def parse_loadavg(text):
    """/proc/loadavg → [1, 5, 15] floats, or None."""
    parts = (text or '').split()
    try:
        return [float(p) for p in parts[:3]] if len(parts) >= 3 else None
    except ValueError:
        return None


def count_cpus(cpuinfo):
    """Number of ``processor`` entries in /proc/cpuinfo text, or None."""
    count = sum(1 for line in (cpuinfo or '').splitlines() if re.match(r'^processor\s*:', line))
    return count or None


# -- I/O ----------------------------------------------------------------------------------------
def read_memory(system):
    """The ``memory`` part: meminfo, PSI, load, cpus."""
    meminfo_text = system.read_or_none('/proc/meminfo')
    meminfo = parse_meminfo(meminfo_text)
    memory = {
        'status': OK if meminfo else UNKNOWN,
        'reason': None if meminfo else 'cannot read /proc/meminfo',
        'mem_total_kb': meminfo.get('MemTotal'),
        'mem_available_kb': meminfo.get('MemAvailable'),
        'swap_total_kb': meminfo.get('SwapTotal'),
        'swap_free_kb': meminfo.get('SwapFree'),
        'psi': None,
        'psi_reason': None,
        'load': parse_loadavg(system.read_or_none('/proc/loadavg')),
        'cpus': count_cpus(system.read_or_none('/proc/cpuinfo')),
        'load_per_cpu': None,
    }
    try:
        memory['psi'] = parse_psi(system.read('/proc/pressure/memory'))
        if memory['psi'] is None:
            memory['psi_reason'] = '/proc/pressure/memory has no some/full lines'
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == 2:
            memory['psi_reason'] = ('/proc/pressure/memory does not exist: the kernel has no PSI '
                                    '(needs Linux >= 4.20 with CONFIG_PSI, and psi=1 on kernels built with PSI off by default)')
        else:
            memory['psi_reason'] = permission_hint('/proc/pressure/memory', exc)
    if memory['load'] and memory['cpus']:
        memory['load_per_cpu'] = [round(v / memory['cpus'], 3) for v in memory['load']]
    return memory


def _scan_logs(system, scan, log_files):
    """Yield log entries from the sources to read; ``scan.sources`` records each."""
    if log_files:
        for path in log_files:
            yield from scan.file(path)
        return
    # the kernel's messages (all boots since ``since``), the service managers' unit results (PID 1
    # and user managers) and systemd-oomd: one journal query, bounded by --since
    journal_ok = False
    if system.which('journalctl'):
        yield from scan.kernel_journal(['_TRANSPORT=kernel', '+', '_PID=1', '+', '_COMM=systemd', '+',
                                        '_COMM=systemd-oomd'], name='journal')
        journal_ok = scan.sources[-1]['status'] == OK
    else:
        scan.sources.append({'name': 'journal', 'status': UNKNOWN, 'lines': 0,
                             'reason': 'journalctl not found (not a systemd host)'})
    if not journal_ok:
        yield from scan.dmesg()
    for path in DEFAULT_LOG_FILES:
        if system.exists(path):
            yield from scan.file(path)


def log_part(scan):
    """(status, reason, kernel_readable) over the sources tried.

    ``kernel_readable`` is True when one source that holds kernel messages was read in full.
    """
    status, reason = scan.status()
    readable = any(s['status'] == OK for s in scan.sources)
    return status, reason, readable


def collect(system, params):
    """The ``connreset_oom`` fact; raises OptionError for bad options."""
    error = validate(params)
    if error:
        raise OptionError(error)
    since = parse_since(params.get('since') or '7d')
    log_files = params.get('log_files') or None
    watch = params.get('watch')
    if watch is None:
        watch = ['sshd', 'sshd-session']

    scan = LogScan(system, since=since, keywords=KEYWORDS)
    folder = KillFolder()
    for entry in _scan_logs(system, scan, log_files):
        folder.add(entry)
    kills, unit_results = folder.results()
    # On a shared kernel (a container, a namespace host) the kernel log is the machine's: keep
    # the kills of this host's own cgroup tree.  Not for log_files: copied logs are another
    # host's, this host's cgroups say nothing about them.
    root = None if log_files else cgroup_root(parse_proc_cgroup(system.read_or_none('/proc/1/cgroup')))
    kills, elsewhere = split_by_cgroup(kills, root)
    log_status, log_reason, readable = log_part(scan)
    if not log_files and not scan.sources:
        log_status, log_reason = UNKNOWN, 'no log source found'

    vmstat_text = system.read_or_none('/proc/vmstat')
    vmstat_oom_kill = parse_vmstat_oom_kill(vmstat_text)

    if not readable:
        if not kills:
            kills = None
        if not unit_results:
            unit_results = None
        log_reason = log_reason or 'no log source could be read'
        if vmstat_oom_kill:
            log_reason = ('the kernel counted %d OOM kill(s) since boot (/proc/vmstat oom_kill) but no log '
                          'saying which could be read: %s' % (vmstat_oom_kill, log_reason))
        if log_status == OK:
            log_status = UNKNOWN

    log = {'status': log_status, 'reason': log_reason, 'since': iso(since),
           'sources': [dict(s) for s in scan.sources]}
    memory = read_memory(system)
    parts = {'log': (log['status'], log['reason']), 'memory': (memory['status'], memory['reason'])}
    status, reason = summarize(parts)
    return result(
        status, reason,
        kills=kills,
        kills_elsewhere=elsewhere_part(elsewhere, root) if root and kills is not None else None,
        unit_results=unit_results,
        watched_killed=watched_killed(watch, kills, unit_results) if kills is not None or unit_results is not None else None,
        vmstat_oom_kill=vmstat_oom_kill,
        vmstat_reason=None if vmstat_oom_kill is not None else (
            'cannot read /proc/vmstat' if vmstat_text is None else
            '/proc/vmstat has no oom_kill counter (Linux < 4.13)'),
        memory=memory,
        log=log,
    )


def validate(params):
    """Error message for bad options, or None."""
    try:
        parse_since(params.get('since') or '7d')
    except ValueError as exc:
        return 'option since: %s' % exc
    for name in params.get('watch') or []:
        if not name or '/' in name:
            return 'option watch: %r is not a process name; give names such as sshd or sshd-session' % (name,)
    return None


__all__ = ['ARGUMENT_SPEC', 'collect', 'validate', 'classify', 'parse_entries', 'KillFolder',
           'watched_killed', 'parse_vmstat_oom_kill', 'parse_meminfo', 'parse_psi', 'parse_loadavg',
           'unit_of_cgroup', 'parse_summary_fields', 'parse_proc_cgroup', 'cgroup_root', 'in_cgroup_tree',
           'split_by_cgroup', 'elsewhere_part', 'PARTIAL']
