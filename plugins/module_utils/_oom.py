# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OOM kills and memory pressure: parsers (text in, data out) and ``collect``.  Private.

Kernel messages, as the format strings in ``mm/oom_kill.c`` and ``mm/memcontrol.c`` print them
(read at v3.10.105, v4.4.121, v4.9.229, v4.14.67, v4.19.72, v5.4.286, v5.10.198, v5.15.135,
v6.1.158, v6.6.9 and v6.12.19; ``PREFIX`` is the caller's ``message``: ``Out of memory``,
``Memory cgroup out of memory`` or ``Out of memory (oom_kill_allocating_task)``):

* ``PREFIX: Kill process %d (%s) score %u or sacrifice child`` (v3.10 .. v4.19, gone at v5.4):
  the process the OOM killer *chose*, not the one it killed.  When one of its children has
  another mm, that child is sacrificed, and only the ``Killed process`` line that follows names
  the victim; when the chosen task exits first (``find_lock_task_mm()`` finds no mm), nothing is
  killed and no line follows.  So this line is never a kill by itself.
* ``Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB`` (v3.10, v4.4),
  ``..., shmem-rss:%lukB`` (v4.9 .. v4.19), ``PREFIX: Killed process ..., shmem-rss:%lukB,
  UID:%u pgtables:%lukB oom_score_adj:%hd`` (v5.4 .. v6.12): the kill (``__oom_kill_process()``
  sends SIGKILL just before).  Also RHEL 7's ``Killed process N (x), UID 0, total-vm:...`` and
  RHEL 6's ``Killed process N, UID N, (x) total-vm:...`` (distribution kernels, real samples).
* ``Kill process %d (%s) sharing same memory`` (v3.10): a further process killed (from v4.4
  such processes are killed without a line).
* ``PREFIX: OOM victim %d (%s) is already exiting. Skip killing the task`` (v5.10 .. v6.12, not
  at v5.4): nothing killed.  Counted in ``victims_exiting``, never as a kill.
* ``oom-kill:constraint=%s,nodemask=%*pbl`` + ``,cpuset=%s,mems_allowed=%*pbl`` +
  ``,oom_memcg=%s`` or ``,global_oom`` + ``,task_memcg=%s`` + ``,task=%s,pid=%d,uid=%d``
  (v5.4 .. v6.12, not at v4.19; ``dump_header()``, rate-limited): the victim-to-be, printed
  before the kill line.  Not a kill by itself (the victim may be exiting, see above): it gives
  the kill that follows its cgroup, uid and constraint.
* ``oom_reaper: reaped process %d (%s), now anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB``
  and ``oom_reaper: unable to reap pid:%d (%s)`` (v4.9 .. v6.12): after a kill, or after a task
  found already exiting (``task_will_free_mem()``), so a reaper line alone is no kill.
* ``Task in %s killed as a result of limit of %s`` (memcontrol.c v3.10 .. v4.19, before the
  kill lines; gone at v5.4): the killed task's memory cgroup.
* ``%s invoked oom-killer: gfp_mask=...`` (all): the allocating task, not a victim.

systemd-oomd (``src/oom/oomd-manager.c``): ``Killed %s due to memory pressure for %s being
%lu.%02lu%% > %lu.%02lu%% for > %s with reclaim activity``, ``Killed %s due to swap used (..) /
total (..) being more than ..`` (v248) and ``Killed %s due to memory used (..) / total (..) and
swap used (..) / total (..) being more than ..`` (v249 .. v256); ``Marked %s for killing due
to ...`` (after v256, systemd main).  v247 logs no kill at notice level.  systemd PID 1
(``src/core/cgroup.c``, ``service.c``, v247 .. v256): ``UNIT: A process of this unit has been
killed by the OOM killer.``, ``UNIT: systemd-oomd killed %lu process(es) in this unit.`` (from
v252 also ``some process(es)``), ``UNIT: Failed with result 'oom-kill'.``.

Who wrote a line matters (issue 16): kernel messages count only from the kernel (ident
``kernel``: the journal's ``_TRANSPORT=kernel`` query, ``dmesg``, ``kernel:`` lines of syslog
files), unit results only from PID 1 (``systemd[1]``), systemd-oomd kills only from
``systemd-oomd``; every pattern is anchored at both ends.  An operator's ``logger`` note or a
user name quoted in another program's line never counts.  Limit: in ``/var/log/syslog`` and
``/var/log/messages`` a local user can write ``kernel:`` lines with ``logger -t kernel``; the
journal (``_TRANSPORT``) and ``kern.log`` (only the kernel writes the ``kern`` facility) cannot
be forged that way, so ``kern.log`` is read instead of those files when it exists, and when the
journal holds this boot's kernel messages, the lines of those files from this boot are left to it
(``covered_by_journal`` in their source record).

One kill is counted once, however many lines describe it (summary, kill line, reaper line) and
in how many sources (journal, dmesg, kern.log): lines are merged by pid and time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, permission_hint, result, summarize,
)
from ansible_collections.connreset.doctor.plugins.module_utils._logs import (
    LogScan, checked_window, iso, iso_epoch, since_option_error, window_series,
)

ARGUMENT_SPEC = dict(
    since=dict(type='str'),
    log_files=dict(type='list', elements='path'),
    watch=dict(type='list', elements='str', default=['sshd', 'sshd-session']),
)

# Kernel log files, in order of preference: kern.log holds only the kernel's facility (no local
# user can write there); messages/syslog hold every program's lines and are read only without it.
KERNEL_LOG_FILE = '/var/log/kern.log'
GENERAL_LOG_FILES = ('/var/log/messages', '/var/log/syslog')
DEFAULT_LOG_FILES = [KERNEL_LOG_FILE] + list(GENERAL_LOG_FILES)
# The journal's trusted writers, by fields journald sets itself: the kernel, PID 1 over the native
# protocol (as systemd 247..257 logs; `logger --id=1` arrives over syslog), the systemd-oomd service.
# _COMM or SYSLOG_IDENTIFIER would let any process named "systemd" in.  (journalctl ANDs the matches
# of one group, ORs two of the same field, and '+' ORs groups.)  Root can forge any entry.
JOURNAL_MATCHES = ['_TRANSPORT=kernel', '+', '_PID=1', '_TRANSPORT=journal', '+',
                   '_SYSTEMD_UNIT=systemd-oomd.service', '_TRANSPORT=journal', '_TRANSPORT=stdout']

# Lines of one kill that are this far apart (seconds) are still the same kill.
MERGE_WINDOW_S = 60
# ... and, when a line has no time, this many lines apart in the same source.
MERGE_LINES = 400
# Syslog files have local time without a zone (read as UTC); zones reach UTC+14.
MAX_ZONE_OFFSET_S = 14 * 3600
MAX_EVIDENCE = 4
# Each evidence line is cut to this many characters (a line may be MAX_LINE_BYTES long).
EVIDENCE_CHARS = 400
# Sample sizes (issue 16: 2,000 kills gave 878 KB of facts): the most recent kills and unit
# results are listed, the counts stay exact, per-process/per-unit counts keep the most frequent.
MAX_KILLS = 20
MAX_UNIT_RESULTS = 20
MAX_NAMES = 20
# Kills and skips kept in memory for merging; past this many, further kills are only counted.
MAX_TRACKED = 10000

# Units the watch names also match (the unit OpenSSH runs in on Debian/Ubuntu and on RHEL/SUSE):
# a unit result or a systemd-oomd kill of ssh.service means the listener is gone.  Per-connection
# processes (sshd-session) are matched by name only.
WATCH_UNITS = {
    'sshd': ('ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket'),
}

_PID = r'(?P<pid>\d{1,10})'
_KB = r'\d{1,20}'
_PREFIX = r'(?P<prefix>Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: '
# the tail of the kill line, by kernel: 3.10/4.4 stop after file-rss, 4.9+ add shmem-rss, 5.4+ UID,
# pgtables, oom_score_adj (each optional, so a kernel between the tags read still matches)
_KILLED_TAIL = (r', anon-rss:(?P<anon>%s)kB, file-rss:(?P<file>%s)kB(?:, shmem-rss:(?P<shmem>%s)kB)?'
                r'(?:, UID:(?P<uid2>\d{1,10}))?(?: pgtables:%skB)?(?: oom_score_adj:(?P<adj>-?\d{1,5}))?\s*$'
                % (_KB, _KB, _KB, _KB))
# "[PREFIX: ]Killed process PID (NAME)[, UID N,] total-vm:..kB, ..." (NAME runs to the LAST ") total-vm"
# or "), UID": names with spaces and parentheses survive; the comm is at most 15 characters)
_KILLED = re.compile(r'^(?:%s)?Killed process %s \((?P<name>.{0,64})\)(?:, UID (?P<uid1>\d{1,10}),)? '
                     r'total-vm:%skB%s' % (_PREFIX, _PID, _KB, _KILLED_TAIL))
# RHEL 6 (2.6.32): "Killed process 21578, UID 503, (redis-server) total-vm:..."
_KILLED_RHEL6 = re.compile(r'^(?:%s)?Killed process %s, UID (?P<uid1>\d{1,10}), \((?P<name>.{0,64})\) '
                           r'total-vm:%skB%s' % (_PREFIX, _PID, _KB, _KILLED_TAIL))
# "PREFIX: Kill process 1234 (java) score 900 or sacrifice child" (v3.10 .. v4.19); "kill" as
# RHEL 6 samples spell it
_KILL = re.compile(r'^%s[Kk]ill process %s \((?P<name>.{0,64})\) score (?P<score>-?\d{1,10}) or sacrifice child\s*$'
                   % (_PREFIX, _PID))
# "Kill process 1235 (worker) sharing same memory" (v3.10): a further process really killed.
_KILL_SHARING = re.compile(r'^Kill process %s \((?P<name>.{0,64})\) sharing same memory\s*$' % _PID)
# "PREFIX: OOM victim 7100 (java) is already exiting. Skip killing the task" (v5.10+): no kill
_EXITING = re.compile(r'^%sOOM victim %s \((?P<name>.{0,64})\) is already exiting\. Skip killing the task\s*$'
                      % (_PREFIX, _PID))
_REAPED = re.compile(r'^oom_reaper: reaped process %s \((?P<name>.{0,64})\), now anon-rss:%skB, file-rss:%skB, '
                     r'shmem-rss:%skB\s*$' % (_PID, _KB, _KB, _KB))
_UNABLE_REAP = re.compile(r'^oom_reaper: unable to reap pid:%s \((?P<name>.{0,64})\)\s*$' % _PID)
_SUMMARY = re.compile(r'^oom-kill:(?P<fields>constraint=CONSTRAINT_[A-Z_]{1,20},nodemask=.*)$')
_SUMMARY_TAIL = re.compile(r'^(?P<task>.{0,64}),pid=(?P<pid>\d{1,10}),uid=(?P<uid>\d{1,10})\s*$')
_TASK_IN = re.compile(r'^Task in (?P<task>/\S*) killed as a result of limit of (?P<limit>/\S*)\s*$')
_INVOKED = re.compile(r'^(?P<name>.{1,64}?) invoked oom-killer: gfp_mask=')
_OOMD = re.compile(r'^(?:Killed (?P<killed>/\S+) due to|Marked (?P<marked>/\S+) for killing due to) '
                   r'(?P<why>(?:memory pressure for /|swap used \(|memory used \().*)$')
_UNIT = r'^(?P<unit>[^\s/]{1,255}\.(?:service|scope|slice|socket|mount|swap))'
_UNIT_OOM_PROCESS = re.compile(_UNIT + r': A process of this unit has been killed by the OOM killer\.$')
_UNIT_RESULT = re.compile(_UNIT + r": Failed with result '(?P<result>oom-kill)'\.$")
_UNIT_OOMD = re.compile(_UNIT + r': systemd-oomd killed (?:some|\d{1,10}) process\(es\) in this unit\.$')
# Every message classify() knows holds one of these: a cheap filter for big log files.
_KEYWORDS = ('rocess', 'oom', 'OOM', 'Task in', 'Killed', 'Marked')
# userspace lines in the kernel log (written to /dev/kmsg, which only root can), or a console copy
# ("journalctl -o short-monotonic"): "[ 77.7] systemd-oomd[659]: msg"
_INNER_IDENT = re.compile(r'^(?P<ident>systemd(?:-oomd)?)\[(?P<pid>\d{1,10})\]: (?P<msg>.*)$')
# Fixed parts of every message the patterns above match: LogScan parses only lines holding one
# (the task table printed during an OOM is skipped before parsing).  A unit test checks, on every
# sample, that the kills are the same with and without this filter.
KEYWORDS = ('illed process', 'ill process', 'oom_reaper', 'oom-kill', 'Task in ', 'invoked oom-killer',
            ' due to ', 'OOM killer', 'systemd-oomd', 'OOM victim')
_UNIT_SUFFIXES = ('.service', '.scope', '.slice', '.socket', '.mount', '.swap', '.target')
# which writer each event kind must come from
_KERNEL_KINDS = ('killed', 'kill', 'exiting', 'summary', 'reaped', 'task_in', 'invoked')
_WRITER = dict([(kind, 'kernel') for kind in _KERNEL_KINDS] + [('oomd', 'systemd-oomd'), ('unit', 'systemd')])

KILL_KEYS = ('time', 'scope', 'pid', 'process', 'cgroup', 'unit', 'rss_kb', 'uid', 'oom_score_adj',
             'constraint', 'source', 'evidence', 'selected')


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
    head, sep, tail = (text or '').partition(',task=')
    for item in head.split(','):
        key, eq, value = item.partition('=')
        if eq:
            fields[key] = value
    if sep:
        match = _SUMMARY_TAIL.match(tail)
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


def _killed_event(match):
    g = match.groupdict()
    rss = [int(g[k]) for k in ('anon', 'file', 'shmem') if g.get(k) is not None]
    uid = g.get('uid1') or g.get('uid2')
    return {'kind': 'killed', 'pid': int(g['pid']), 'process': g['name'],
            'scope': _scope_of_prefix(g['prefix']),
            'rss_kb': sum(rss) if rss else None,
            'uid': int(uid) if uid is not None else None,
            'oom_score_adj': int(g['adj']) if g.get('adj') is not None else None}


def classify(message):
    """One log message → an event dict, or None when it says nothing about a kill.

    Event ``kind``: ``killed`` (the kernel's kill line), ``kill`` (the selection line of
    v3.10 .. v4.19: the chosen process, not a kill), ``exiting`` (the chosen victim was already
    exiting: no kill), ``summary`` (``oom-kill:``), ``reaped`` (``oom_reaper``), ``task_in``
    (≤ v4.19 memcg context), ``invoked`` (start of an OOM report), ``oomd`` (systemd-oomd kill)
    and ``unit`` (systemd unit result).  Says nothing about who wrote the line (see
    :meth:`KillFolder.add`).
    """
    if not message or not any(word in message for word in _KEYWORDS):
        return None
    msg = message.strip()
    for regex in (_KILLED, _KILLED_RHEL6):
        match = regex.match(msg)
        if match:
            return _killed_event(match)
    match = _KILL.match(msg)
    if match:
        return {'kind': 'kill', 'pid': int(match.group('pid')), 'process': match.group('name'),
                'scope': _scope_of_prefix(match.group('prefix'))}
    match = _KILL_SHARING.match(msg)
    if match:
        return {'kind': 'killed', 'pid': int(match.group('pid')), 'process': match.group('name'),
                'scope': None, 'rss_kb': None, 'uid': None, 'oom_score_adj': None, 'sharing': True}
    match = _EXITING.match(msg)
    if match:
        return {'kind': 'exiting', 'pid': int(match.group('pid')), 'process': match.group('name'),
                'scope': _scope_of_prefix(match.group('prefix'))}
    match = _SUMMARY.match(msg)
    if match:
        fields = parse_summary_fields(match.group('fields'))
        if 'pid' not in fields:
            return None
        constraint = fields.get('constraint')
        return {'kind': 'summary', 'pid': int(fields['pid']), 'process': fields.get('task'),
                'uid': int(fields['uid']) if fields.get('uid') else None,
                'constraint': constraint,
                'scope': 'memcg' if constraint == 'CONSTRAINT_MEMCG' else 'global',
                'cgroup': fields.get('task_memcg') or None, 'oom_memcg': fields.get('oom_memcg') or None}
    for regex in (_REAPED, _UNABLE_REAP):
        match = regex.match(msg)
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


def writer_of(entry):
    """(writer, message) of a log entry: ``kernel``, ``systemd`` (PID 1), ``systemd-oomd`` or None
    (anyone else: an operator's ``logger`` note, sshd quoting a user name), and the message as
    that writer wrote it.  Pure.

    Kernel lines carry the ident ``kernel`` (dmesg lines, the journal's ``_TRANSPORT=kernel``
    entries, syslog's ``kernel:``); a userspace line in the kernel log (``systemd[1]: ...``,
    written to /dev/kmsg, which only root can) is that program's.
    """
    ident = entry.ident
    message = entry.message or ''
    if ident == 'kernel':
        inner = _INNER_IDENT.match(message) if message.startswith('systemd') else None
        if inner is None:
            return 'kernel', message
        ident, pid, message = inner.group('ident'), int(inner.group('pid')), inner.group('msg')
    else:
        pid = entry.pid
    if ident == 'systemd':
        return ('systemd' if pid == 1 else None), message
    if ident == 'systemd-oomd':
        return 'systemd-oomd', message
    return None, message


def _source_ref(entry):
    return '%s:%s' % (entry.source, entry.lineno) if entry.lineno is not None else entry.source


def _evidence_text(entry):
    text = entry.raw if entry.raw is not None else (entry.message or '')
    return text[:EVIDENCE_CHARS]


class KillFolder:
    """Fold classified log entries into kills and unit results.

    Feed entries with :meth:`add` in log order (one source after another).  The lines of one
    kill are merged by pid (or cgroup for systemd-oomd) within :data:`MERGE_WINDOW_S` seconds,
    or :data:`MERGE_LINES` lines of the same source when a line has no time; the same kill read
    from two sources counts once.  A selection line (``Kill process ... or sacrifice child``) or
    a summary (``oom-kill:``) is held until the kill line that follows it in the same source:
    that line names the victim.  Memory is bounded (:data:`MAX_TRACKED`).
    """

    def __init__(self):
        self.kills = []
        self.unit_results = []
        self.unit_count = 0
        self.untracked = 0          # kills past MAX_TRACKED: counted, not kept
        self.exiting = []           # victims found already exiting: no kill
        self._index = {}            # ('pid', n) / ('cgroup', path) / ('exiting', n) -> [records]
        self._pending = {}          # source -> {'select': ..., 'summary': {pid: ...}, 'context': ...}
        self._seen_units = set()

    # -- merging -----------------------------------------------------------------------
    @staticmethod
    def _same(record, entry, process=None):
        if record['_epoch'] is not None and entry.time is not None:
            delta = abs(record['_epoch'] - entry.time)
            if record['_source'] != entry.source and process is not None and record.get('process') == process:
                # the same kill read from two sources (journal and kern.log, dmesg and kern.log):
                # syslog files carry local time without a zone, so allow any zone's offset
                return delta <= MAX_ZONE_OFFSET_S + MERGE_WINDOW_S
            return delta <= MERGE_WINDOW_S
        return (record['_source'] == entry.source and entry.lineno is not None
                and abs(entry.lineno - record['_lineno']) <= MERGE_LINES)

    def _find(self, key, entry, process=None):
        for record in reversed(self._index.get(key, ())):
            if self._same(record, entry, process):
                return record
        return None

    def _track(self, key, record):
        bucket = self._index.setdefault(key, [])
        bucket.append(record)
        if len(bucket) > 50:        # one pid reused many times: the old ones cannot merge any more
            del bucket[:-50]

    def _tracked(self):
        return len(self.kills) + len(self.exiting)

    def _new(self, entry, first=None, **data):
        """A new kill; ``first``: the held line (selection, summary) it started with."""
        kill = dict((k, None) for k in KILL_KEYS)
        start = first or {'time': entry.time, 'ref': _source_ref(entry), 'lineno': entry.lineno}
        kill.update(_epoch=start['time'], _source=entry.source, _lineno=start['lineno'] or 0,
                    time=iso(start['time']), source=start['ref'], evidence=[])
        kill.update(data)
        self.kills.append(kill)
        return kill

    @staticmethod
    def _fill(kill, **data):
        for key, value in data.items():
            if value is not None and kill.get(key) is None:
                kill[key] = value

    @staticmethod
    def _evidence(kill, text):
        if text not in kill['evidence'] and len(kill['evidence']) < MAX_EVIDENCE:
            kill['evidence'].append(text)

    # -- held lines per source -----------------------------------------------------------
    def _held(self, entry):
        return self._pending.setdefault(entry.source, {'select': None, 'summary': {}, 'context': None})

    @staticmethod
    def _near(held, entry):
        """True when a held line is close enough (time or lines) to ``entry`` of the same source."""
        if held.get('time') is not None and entry.time is not None:
            return abs(entry.time - held['time']) <= MERGE_WINDOW_S
        return (entry.lineno is not None and held.get('lineno') is not None
                and 0 <= entry.lineno - held['lineno'] <= MERGE_LINES)

    @staticmethod
    def _hold(entry, event):
        held = dict(event)
        held.update(time=entry.time, lineno=entry.lineno, ref=_source_ref(entry), text=_evidence_text(entry))
        return held

    def add(self, entry):
        writer, message = writer_of(entry)
        if writer is None:
            return                  # not the kernel, PID 1 or systemd-oomd: never evidence
        event = classify(message)
        if event is None or _WRITER[event['kind']] != writer:
            return
        kind = event['kind']
        if kind == 'unit':
            self._add_unit(entry, event)
        elif kind == 'oomd':
            self._add_oomd(entry, event)
        else:
            self._add_kernel(entry, event)

    def _add_unit(self, entry, event):
        key = (event['unit'], event['result'], entry.time)
        if key in self._seen_units:
            return
        self.unit_count += 1
        if len(self.unit_results) >= MAX_TRACKED:
            return                  # counted, not kept (nor remembered: memory stays bounded)
        self._seen_units.add(key)
        self.unit_results.append({'unit': event['unit'], 'time': iso(entry.time), 'result': event['result'],
                                  'source': _source_ref(entry), 'line': _evidence_text(entry)})

    def _add_oomd(self, entry, event):
        key = ('cgroup', event['cgroup'])
        kill = self._find(key, entry)
        if kill is None:
            if self._tracked() >= MAX_TRACKED:
                self.untracked += 1
                return
            kill = self._new(entry, scope='oomd', cgroup=event['cgroup'], unit=unit_of_cgroup(event['cgroup']))
            self._track(key, kill)
        self._evidence(kill, _evidence_text(entry))

    def _add_kernel(self, entry, event):
        kind = event['kind']
        held = self._held(entry)
        if kind == 'invoked':
            held.update(context={'time': entry.time, 'lineno': entry.lineno}, select=None)
            return
        if kind == 'task_in':
            held['context'] = {'time': entry.time, 'lineno': entry.lineno, 'cgroup': event['cgroup']}
            return
        if kind == 'kill':
            # the chosen process: held for the kill line that must follow (v3.10 .. v4.19)
            held['select'] = self._hold(entry, event)
            return
        if kind == 'summary':
            summaries = held['summary']
            summaries[event['pid']] = self._hold(entry, event)
            if len(summaries) > 16:
                summaries.pop(next(iter(summaries)))
            return
        select, held['select'] = held['select'], None
        if kind == 'exiting':
            held['summary'].pop(event['pid'], None)
            key = ('exiting', event['pid'])
            if self._find(key, entry, event['process']) is None and self._tracked() < MAX_TRACKED:
                record = {'_epoch': entry.time, '_source': entry.source, '_lineno': entry.lineno or 0,
                          'pid': event['pid'], 'process': event['process'], 'time': iso(entry.time),
                          'source': _source_ref(entry)}
                self.exiting.append(record)
                self._track(key, record)
            return
        key = ('pid', event['pid'])
        kill = self._find(key, entry, event['process'])
        if kind == 'reaped':
            if kill is not None:    # a lone reaper line is no kill: it also reaps exiting tasks
                self._evidence(kill, _evidence_text(entry))
            return
        # kind == 'killed'
        summary = held['summary'].pop(event['pid'], None)
        if summary is not None and not self._near(summary, entry):
            summary = None
        if select is not None and not self._near(select, entry):
            select = None
        if kill is None:
            if self._tracked() >= MAX_TRACKED:
                self.untracked += 1
                return
            first = summary or select
            kill = self._new(entry, first=first, pid=event['pid'], process=event['process'])
            self._track(key, kill)
            for line in (summary, select):
                if line is not None:
                    self._evidence(kill, line['text'])
        self._fill(kill, process=event['process'])
        if select is not None:
            if select['scope'] and kill['scope'] != 'memcg':
                kill['scope'] = select['scope']
            if select['pid'] != event['pid'] and not event.get('sharing'):
                kill['selected'] = {'pid': select['pid'], 'process': select['process']}
        if summary is not None:
            kill['scope'] = summary['scope']
            self._fill(kill, cgroup=summary['cgroup'], uid=summary['uid'], constraint=summary['constraint'])
        if event.get('scope') and kill['scope'] != 'memcg':
            kill['scope'] = event['scope']
        self._fill(kill, rss_kb=event['rss_kb'], uid=event['uid'], oom_score_adj=event['oom_score_adj'])
        context = held['context']
        if context and self._near(context, entry):
            self._fill(kill, cgroup=context.get('cgroup'))
            if context.get('cgroup') and not kill['scope']:
                kill['scope'] = 'memcg'
        if kill['unit'] is None and kill['cgroup']:
            kill['unit'] = unit_of_cgroup(kill['cgroup'])
        self._evidence(kill, _evidence_text(entry))

    # -- results -------------------------------------------------------------------------
    def results(self):
        """Every kill kept (oldest first) without internal keys, and the unit results; a kill with
        no scope is ``global``.  See :func:`summarize_kills` for the capped fact."""
        kills = []
        for kill in self.kills:
            item = dict((k, kill[k]) for k in KILL_KEYS)
            if item['scope'] is None:
                item['scope'] = 'memcg' if item['constraint'] == 'CONSTRAINT_MEMCG' else 'global'
            kills.append(item)
        kills.sort(key=lambda k: (k['time'] is None, k['time'] or ''))
        return kills, list(self.unit_results)

    def counts(self):
        """``{kills, unit_results, victims_exiting}``: how many of each were read."""
        return {'kills': len(self.kills) + self.untracked, 'unit_results': self.unit_count,
                'victims_exiting': len(self.exiting)}


def parse_entries(entries):
    """Entries (``_logs.LogLine``, in log order) → ``(kills, unit_results)``."""
    folder = KillFolder()
    for entry in entries:
        folder.add(entry)
    return folder.results()


def top_counts(names, limit=MAX_NAMES):
    """``{name: count}`` of an iterable of names, the ``limit`` most frequent (ties by name). Pure."""
    counts = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]
    return dict(top)


def summarize_kills(kills, unit_results, untracked=0, max_kills=MAX_KILLS, max_units=MAX_UNIT_RESULTS):
    """The capped part of the fact: the most recent ``max_kills`` kills (oldest first), exact
    counts, per-process and per-unit counts, and whether the lists were cut.  Pure."""
    count = len(kills) + untracked
    return {
        'kills': kills[-max_kills:] if max_kills else [],
        'kill_count': count,
        'kills_truncated': count > min(len(kills), max_kills),
        'kills_by_process': top_counts(k.get('process') or k.get('unit') or '?' for k in kills),
        'kills_by_unit': top_counts(k['unit'] for k in kills if k.get('unit')),
        'unit_results': unit_results[-max_units:] if max_units else [],
        'unit_result_count': len(unit_results),
        'unit_results_truncated': len(unit_results) > max_units,
    }


def victim_text(kill):
    """``sshd (pid 812, ssh.service)``: who an OOM kill killed, for the kill series' notes.  Pure."""
    name = kill.get('process') or kill.get('unit') or kill.get('cgroup') or '?'
    extra = ['pid %s' % kill['pid']] if kill.get('pid') is not None else []
    if kill.get('unit') and kill.get('unit') != name:
        extra.append(str(kill['unit']))
    return '%s (%s)' % (name, ', '.join(extra)) if extra else str(name)


def kill_series(kills, window, now=None):
    """The ``kill_series`` fact: when the kills of ``kills`` (the host's own, every one kept)
    happened, each noted with its victim (:class:`_logs.EventSeries`, docs/facts.md).  Pure."""
    series = window_series(window, now)
    for kill in kills:
        series.add(iso_epoch(kill.get('time')), victim_text(kill))
    return series.as_fact()


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
    """The ``kills_elsewhere`` summary: count, processes and cgroups by count (the
    :data:`MAX_NAMES` and 10 most frequent), a few kills."""
    processes = top_counts(kill.get('process') or kill.get('unit') or '?' for kill in elsewhere)
    cgroups = top_counts((kill.get('cgroup') for kill in elsewhere), limit=10)
    return {
        'count': len(elsewhere),
        'cgroup_root': root,
        'processes': processes,
        'cgroups': cgroups,
        'samples': elsewhere[-samples:],
        'reason': ('the kernel log is shared with other containers or hosts: %d kill(s) in cgroups outside '
                   'this host\'s (%s) are not counted as its own' % (len(elsewhere), root)) if elsewhere else None,
    }


def kernel_paths_visible(comm2, cgroup2_text):
    """True when this host sees cgroup paths as the kernel log prints them: PID 2 is ``kthreadd`` (the
    initial PID namespace: containers and lab hosts do not see kernel threads) and sits at ``/`` in every
    hierarchy (a private cgroup namespace shows it as ``/..``-relative or not at all). False otherwise: the
    kernel log may be shared with other hosts whose units carry the same names under a prefix this host
    cannot see. Pure."""
    if (comm2 or '').strip() != 'kthreadd':
        return False
    paths = [line.split(':', 2)[2].strip() for line in (cgroup2_text or '').splitlines() if line.count(':') >= 2]
    return bool(paths) and all(path == '/' for path in paths)


def parse_oom_kill_counter(text):
    """``oom_kill N`` from a memory cgroup's ``memory.events`` (v2) or ``memory.oom_control`` (v1, kernel
    >= 4.13, mm/memcontrol.c mem_cgroup_oom_control_read / memory_events_show): the OOM kills of tasks in
    that cgroup since it was created, by any OOM killer; None when the line is missing. Pure."""
    for line in (text or '').splitlines()[:32]:
        parts = line.split()
        if len(parts) == 2 and parts[0] == 'oom_kill' and parts[1].isdigit():
            return int(parts[1])
    return None


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
            if eq and key in ('avg10', 'avg60', 'avg300', 'total'):
                values[key] = _finite(value, integer=key == 'total')
        psi[parts[0]] = values
    return psi or None


def parse_loadavg(text):
    """/proc/loadavg → [1, 5, 15] floats, or None (also for a value that is not a finite number)."""
    parts = (text or '').split()
    values = [_finite(p) for p in parts[:3]] if len(parts) >= 3 else None
    return values if values and None not in values else None


def _finite(text, integer=False):
    """A finite number (a float, or an int of at most 20 digits), or None: NaN and inf are not JSON."""
    if integer:
        return int(text) if re.match(r'^[0-9]{1,20}$', text) else None
    if len(text) > 40:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


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


def kernel_log_files(system):
    """The default log files to read kernel messages from: ``kern.log`` when it exists (only the
    kernel writes the ``kern`` facility), else ``messages`` and ``syslog`` (RHEL, or no kern.log
    rule), where any local user can also write ``kernel:`` lines (see the module docstring)."""
    if system.exists(KERNEL_LOG_FILE):
        return [KERNEL_LOG_FILE]
    return [path for path in GENERAL_LOG_FILES if system.exists(path)]


def scan_kernel_logs(system, scan, log_files, journal_matches=None):
    """Yield log entries from the sources to read; ``scan.sources`` records each.

    ``log_files``: only those.  Else the journal (``journal_matches``, read as JSON with the
    kernel's own clock), ``dmesg`` when the journal holds no kernel message, and
    :func:`kernel_log_files`.  Shared with the conntrack collector.
    """
    if log_files:
        for path in log_files:
            yield from scan.file(path)
        return
    journal_ok = False
    if system.which('journalctl'):
        yield from scan.kernel_journal(list(journal_matches or ['_TRANSPORT=kernel']), name='journal')
        journal_ok = scan.sources[-1]['status'] == OK
    else:
        scan.sources.append({'name': 'journal', 'status': UNKNOWN, 'lines': 0, 'skipped_lines': 0,
                             'outside_lines': 0, 'reason': 'journalctl not found (not a systemd host)'})
    if not journal_ok:
        yield from scan.dmesg()
    # The journal read in full holds this boot's kernel (and PID 1, systemd-oomd) messages, and
    # nobody else can write them there; messages/syslog hold the same lines and anyone's
    # "kernel:" lines.  Their lines from this boot are left to the journal (a margin of the widest
    # zone offset: classic syslog times carry no zone); older ones (earlier boots a volatile
    # journal lost) are read.
    boot = scan.boot if journal_ok else None
    cutoff = boot + MAX_ZONE_OFFSET_S if boot is not None else None
    for path in kernel_log_files(system):
        general = path in GENERAL_LOG_FILES and cutoff is not None
        for entry in scan.file(path):
            if general and entry.time is not None and entry.time >= cutoff:
                record = scan.sources[-1]
                record['covered_by_journal'] = record.get('covered_by_journal', 0) + 1
                continue
            yield entry


def log_part(scan):
    """(status, reason, kernel_readable) over the sources tried.

    ``kernel_readable`` is True when one source that holds kernel messages was read in full.
    """
    status, reason = scan.status()
    readable = any(s['status'] == OK for s in scan.sources)
    return status, reason, readable


def collect(system, params):
    """The ``connreset_oom`` fact; raises OptionError for bad options."""
    log_files, window = checked_window(system, params, validate)
    watch = params.get('watch')
    if watch is None:
        watch = ['sshd', 'sshd-session']

    scan = LogScan(system, since=window.since, until=window.until, keywords=KEYWORDS, keep_outside=True)
    folder, outside = KillFolder(), KillFolder()
    for entry in scan_kernel_logs(system, scan, log_files, JOURNAL_MATCHES):
        (outside if entry.outside else folder).add(entry)
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

    capped = summarize_kills(kills, unit_results, folder.untracked)
    exiting = len(folder.exiting)
    if not readable:
        if not kills and not folder.untracked:
            capped.update(kills=None, kill_count=None, kills_truncated=None, kills_by_process=None,
                          kills_by_unit=None)
            exiting = None
        if not unit_results:
            capped.update(unit_results=None, unit_result_count=None, unit_results_truncated=None)
        log_reason = log_reason or 'no log source could be read'
        if vmstat_oom_kill:
            log_reason = ('the kernel counted %d OOM kill(s) since boot (/proc/vmstat oom_kill) but no log '
                          'saying which could be read: %s' % (vmstat_oom_kill, log_reason))
        if log_status == OK:
            log_status = UNKNOWN

    log = {'status': log_status, 'reason': log_reason, 'since': iso(window.since), 'window': window.as_fact(),
           'outside_window': outside.counts(), 'skipped_lines': scan.skipped(),
           'sources': [dict(s) for s in scan.sources]}
    memory = read_memory(system)
    parts = {'log': (log['status'], log['reason']), 'memory': (memory['status'], memory['reason'])}
    status, reason = summarize(parts)
    listed = capped['kills'] is not None or capped['unit_results'] is not None
    return result(
        status, reason,
        kills=capped['kills'],
        kill_count=capped['kill_count'],
        kills_truncated=capped['kills_truncated'],
        kills_by_process=capped['kills_by_process'],
        kills_by_unit=capped['kills_by_unit'],
        kills_elsewhere=elsewhere_part(elsewhere, root) if root and capped['kills'] is not None else None,
        kill_series=kill_series(kills, window, scan.now) if capped['kills'] is not None else None,
        victims_exiting=exiting,
        unit_results=capped['unit_results'],
        unit_result_count=capped['unit_result_count'],
        unit_results_truncated=capped['unit_results_truncated'],
        # over every kill read, not only the ones listed
        watched_killed=watched_killed(watch, kills, unit_results) if listed else None,
        vmstat_oom_kill=vmstat_oom_kill,
        vmstat_reason=None if vmstat_oom_kill is not None else (
            'cannot read /proc/vmstat' if vmstat_text is None else
            '/proc/vmstat has no oom_kill counter (Linux < 4.13)'),
        memory=memory,
        log=log,
    )


def validate(params):
    """Error message for bad options, or None."""
    error = since_option_error(params)
    if error:
        return error
    for name in params.get('watch') or []:
        if not name or '/' in name:
            return 'option watch: %r is not a process name; give names such as sshd or sshd-session' % (name,)
    return None


__all__ = ['ARGUMENT_SPEC', 'collect', 'validate', 'classify', 'parse_entries', 'KillFolder', 'writer_of',
           'watched_killed', 'summarize_kills', 'top_counts', 'parse_vmstat_oom_kill', 'parse_meminfo',
           'parse_psi', 'parse_loadavg', 'unit_of_cgroup', 'parse_summary_fields', 'parse_proc_cgroup',
           'cgroup_root', 'in_cgroup_tree', 'kernel_paths_visible', 'parse_oom_kill_counter', 'split_by_cgroup', 'elsewhere_part', 'kernel_log_files',
           'scan_kernel_logs', 'PARTIAL']
