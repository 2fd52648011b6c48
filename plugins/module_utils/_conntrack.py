# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection-tracking facts: table fill, per-CPU statistics, TCP timeouts, table-full events,
the network namespace and AWS ENA allowance counters.  Private.

Formats:

* ``/proc/net/stat/nf_conntrack``: a header naming the columns, then one row of hex counters per
  CPU.  The header changed across kernels (parse by name, never by position):
  3.x ``entries  searched found new invalid ignore delete delete_list insert insert_failed drop
  early_drop icmp_error  expect_new expect_create expect_delete``; 4.x adds ``search_restart``;
  5.x renames ``searched`` → ``clashres``; 5.15+ ``delete_list`` → ``chainlength``.
  ``entries`` is the table's count repeated on every row (not summed).
* ``conntrack -S`` (fallback, needs root): ``cpu=0 found=0 invalid=5 insert=0 insert_failed=0
  drop=0 early_drop=0 error=0 search_restart=0 [clash_resolve=0 chaintoolong=0]``.
* ``ethtool -S IFACE`` on an ENA interface: ``     conntrack_allowance_exceeded: 0``.
* kernel log, ``net/netfilter/nf_conntrack_core.c`` ``__nf_conntrack_alloc()``:
  ``net_warn_ratelimited("nf_conntrack: table full, dropping packet\n")``, printed as is at v3.10.105
  and v4.4.121 and, from v4.9.229 on (``#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt``; read at
  v4.14.67, v4.19.72, v5.4.286, v5.10.198, v5.15.135, v6.1.158, v6.6.9, v6.12.19), as
  ``nf_conntrack: nf_conntrack: table full, dropping packet``.  RHEL 6's 2.6.32 adds a final ``.``
  and pre-2.6.25 kernels wrote ``ip_conntrack:`` (real samples, not read in source here).  The
  message is rate-limited (``net_ratelimit``), so ``table_full_events.count`` is a lower bound of
  the packets dropped; ``stats.drop`` counts them all.  It counts only when the kernel wrote it
  (ident ``kernel``: journal ``_TRANSPORT=kernel``, dmesg, ``kernel:`` lines) and the whole message
  matches: an operator's note quoting it (``root: raised nf_conntrack_max after 'nf_conntrack: table
  full, dropping packet'``) never counts (issue 16).  Sources as ``_oom.scan_kernel_logs``.

``shared_netns``: ``nf_conntrack_max`` (and ``nf_conntrack_buckets``) are mode 0444 in every
network namespace but the initial one (``nf_conntrack_standalone.c``: the limit is machine-wide,
the count per namespace).  That mode is the signal used: comparing ``/proc/self/ns/net`` with
``/proc/1/ns/net`` says nothing in a container (PID 1 shares the container's namespace) nor on
hosts whose PID 1 lives in another namespace.  Limit: kernels before 4.x kept the sysctl writable
in child namespaces; there ``shared_netns`` can read false inside a child namespace.

A host without the conntrack module has no conntrack risk: ``loaded: false``, status ``ok``,
the counters null (they do not exist), ``table_full_events`` still read from the logs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat as stat_module

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, permission_hint, result, summarize,
)
from ansible_collections.connreset.doctor.plugins.module_utils._logs import (
    EventSeries, LogScan, checked_window, iso, since_option_error,
)
from ansible_collections.connreset.doctor.plugins.module_utils._oom import (
    EVIDENCE_CHARS, scan_kernel_logs, writer_of,
)

ARGUMENT_SPEC = dict(
    since=dict(type='str'),
    log_files=dict(type='list', elements='path', default=None),
)

NETFILTER = '/proc/sys/net/netfilter/'
STAT_FILE = '/proc/net/stat/nf_conntrack'
# the stats the engine relies on; always present in ``stats`` (null when the kernel lacks the column)
CONTRACT_STATS = ('drop', 'early_drop', 'insert_failed', 'invalid', 'search_restart')
# conntrack -S names → /proc/net/stat/nf_conntrack column names
_CLI_NAMES = {'error': 'icmp_error', 'clash_resolve': 'clashres', 'chaintoolong': 'chainlength'}
TIMEOUTS = ('established', 'close_wait', 'time_wait', 'syn_sent', 'syn_recv', 'fin_wait', 'last_ack', 'close',
            'unacknowledged', 'max_retrans')
ENA_COUNTERS = ('bw_in_allowance_exceeded', 'bw_out_allowance_exceeded', 'pps_allowance_exceeded',
                'conntrack_allowance_exceeded', 'linklocal_allowance_exceeded', 'conntrack_allowance_available')
# the whole message (anchored), see the module docstring for the kernels
TABLE_FULL = re.compile(r'^(?:ip_conntrack|nf_conntrack(?:: nf_conntrack)?): table full, dropping packet\.?\s*$')
TABLE_FULL_KEYWORDS = ('table full, dropping packet',)
MAX_SAMPLES = 5


def parse_stat_file(text):
    """``/proc/net/stat/nf_conntrack`` → {column: sum over CPUs} (``entries`` from the first row).

    Returns None when the text has no header or no row; malformed rows are skipped.
    """
    lines = [line.split() for line in (text or '').splitlines() if line.strip()]
    if len(lines) < 2 or lines[0][0] != 'entries':
        return None
    header = lines[0]
    totals = {}
    rows = 0
    for row in lines[1:]:
        if len(row) != len(header):
            continue
        try:
            values = [int(v, 16) for v in row]
        except ValueError:
            continue
        rows += 1
        for name, value in zip(header, values):
            if name == 'entries':
                totals.setdefault(name, value)
            else:
                totals[name] = totals.get(name, 0) + value
    return totals if rows else None


_CLI_NAME = re.compile(r'^[a-z_]{1,32}$')
_CLI_VALUE = re.compile(r'^[0-9]{1,20}$')


def parse_conntrack_s(text):
    """``conntrack -S`` → {stat: sum over CPUs}, names mapped to the /proc column names; None if empty.

    Rows are ``cpu=N name=value ...``, blank-separated words; a word that is not ``name=digits``
    (at most 20 digits) is ignored.  Linear in the input.
    """
    totals = {}
    rows = 0
    for line in (text or '').splitlines():
        words = line.split()
        if not words or not words[0].startswith('cpu=') or not _CLI_VALUE.match(words[0][4:]):
            continue
        rows += 1
        for word in words[1:]:
            name, eq, value = word.partition('=')
            if not eq or not _CLI_NAME.match(name) or not _CLI_VALUE.match(value):
                continue
            name = _CLI_NAMES.get(name, name)
            totals[name] = totals.get(name, 0) + int(value)
    return totals if rows else None


def contract_stats(totals):
    """Stats dict with the contract keys always present (null when the kernel lacks them)."""
    stats = dict((k, v) for k, v in totals.items() if k != 'entries')
    for key in CONTRACT_STATS:
        stats.setdefault(key, None)
    return stats


def parse_ethtool_stats(text, names=ENA_COUNTERS):
    """``ethtool -S`` → {counter: int} for ``names`` present in the output."""
    counters = {}
    for line in (text or '').splitlines():
        name, sep, value = line.strip().partition(':')
        name = name.strip().lstrip('*')
        if sep and name in names:
            try:
                counters[name] = int(value.strip())
            except ValueError:
                continue
    return counters


def parse_ethtool_driver(text):
    """``ethtool -i`` → driver name or None."""
    for line in (text or '').splitlines():
        if line.startswith('driver:'):
            return line.split(':', 1)[1].strip() or None
    return None


def is_table_full(entry):
    """True when a log entry is the kernel's table-full message (written by the kernel, whole). Pure."""
    writer, message = writer_of(entry)
    return writer == 'kernel' and bool(TABLE_FULL.match(message))


class TableFullEvents:
    """Counts table-full lines per log source (sources overlap: the busiest one is reported)."""

    def __init__(self, since=None, until=None):
        self.by_source = {}
        self.series = {}            # source -> EventSeries: when (docs/facts.md)
        self.window = (since, until)

    def add(self, entry):
        if not is_table_full(entry):
            return
        event = self.by_source.setdefault(entry.source, {'count': 0, 'last': None, 'samples': []})
        self.series.setdefault(entry.source, EventSeries(*self.window)).add(
            entry.time, entry.raw if entry.raw is not None else entry.message)
        event['count'] += 1
        if entry.time is not None and (event['last'] is None or entry.time >= event['last']):
            event['last'] = entry.time
        text = (entry.raw if entry.raw is not None else entry.message)[:EVIDENCE_CHARS]
        event['samples'] = (event['samples'] + [text])[-MAX_SAMPLES:]

    def count(self):
        """The count of the busiest source (0 without any)."""
        return max([event['count'] for event in self.by_source.values()] or [0])

    def result(self):
        if not self.by_source:
            return {'count': 0, 'last': None, 'samples': [], 'source': None,
                    'series': EventSeries(*self.window).as_fact()}
        source, best = max(self.by_source.items(), key=lambda item: item[1]['count'])
        return {'count': best['count'], 'last': iso(best['last']), 'samples': best['samples'], 'source': source,
                'series': self.series[source].as_fact()}


def _int(text):
    try:
        return int(text.strip())
    except (AttributeError, ValueError):
        return None


def _read_int(system, path):
    """(value, reason): value None with an actionable reason when it cannot be read."""
    try:
        value = _int(system.read(path))
    except (IOError, OSError) as exc:
        return None, permission_hint(path, exc)
    if value is None:
        return None, '%s does not hold an integer' % path
    return value, None


def is_loaded(system):
    """(loaded, how) — conntrack is present when its /proc files or module are."""
    for path in (NETFILTER + 'nf_conntrack_count', '/proc/net/nf_conntrack', STAT_FILE):
        if system.exists(path):
            return True, path
    modules = system.read_or_none('/proc/modules')
    if modules and re.search(r'^nf_conntrack\s', modules, re.M):
        return True, '/proc/modules'
    return False, None


def shared_netns(system):
    """(shared, method): True when this is a non-initial network namespace (see module doc)."""
    path = NETFILTER + 'nf_conntrack_max'
    try:
        mode = stat_module.S_IMODE(system.stat(path).st_mode)
    except (IOError, OSError) as exc:
        return None, permission_hint(path, exc)
    return (mode & 0o200) == 0, '%s mode %04o' % (path, mode)


def read_stats(system):
    """(stats, source, status, reason)."""
    text = system.read_or_none(STAT_FILE)
    totals = parse_stat_file(text)
    if totals is not None:
        return contract_stats(totals), STAT_FILE, OK, None
    reason = '%s unreadable' % STAT_FILE if text is None else '%s has an unknown format' % STAT_FILE
    if system.which('conntrack'):
        res = system.run(['conntrack', '-S'], timeout=10)
        totals = parse_conntrack_s(res.out) if res.ok else None
        if totals is not None:
            return contract_stats(totals), 'conntrack -S', OK, None
        reason += '; conntrack -S: %s' % (res.describe() if not res.ok else 'no cpu= lines')
        if res.rc is not None and res.rc != 0 and system.euid != 0:
            reason += ' (needs root: use become: true)'
    else:
        reason += '; conntrack (conntrack-tools) not installed for the fallback'
    return None, None, UNKNOWN, reason


def read_timeouts(system):
    timeouts = {}
    missing = []
    for name in TIMEOUTS:
        path = NETFILTER + 'nf_conntrack_tcp_timeout_' + name
        value = _int(system.read_or_none(path))
        timeouts[name] = value
        if value is None:
            missing.append(name)
    return timeouts, missing


def ena_allowance(system):
    """({iface: {counter: n}} for ENA interfaces, status, reason)."""
    try:
        names = system.listdir('/sys/class/net')
    except (IOError, OSError) as exc:
        return None, UNKNOWN, 'cannot list /sys/class/net: %s' % exc
    ena = []
    for name in names:
        try:
            driver = os.path.basename(system.readlink('/sys/class/net/%s/device/driver' % name))
        except (IOError, OSError):
            driver = None
        if driver == 'ena':
            ena.append(name)
    allowance = {}
    problems = []
    for name in ena:
        if not system.which('ethtool'):
            allowance[name] = None
            problems.append('%s is an ENA interface but ethtool is not installed: install ethtool' % name)
            continue
        res = system.run(['ethtool', '-S', name], timeout=10)
        counters = parse_ethtool_stats(res.out) if res.ok else {}
        if not counters:
            allowance[name] = None
            problems.append('%s: %s' % (name, res.describe() if not res.ok else
                                        'no allowance counters (ENA driver older than 2.2.10)'))
        else:
            allowance[name] = counters
    if problems:
        return allowance, PARTIAL if any(allowance.values()) else UNKNOWN, '; '.join(problems)
    return allowance, OK, None


def table_full_events(system, window, log_files):
    """The ``table_full_events`` fact over ``window`` (a ``_logs.Window``)."""
    scan = LogScan(system, since=window.since, until=window.until, keywords=TABLE_FULL_KEYWORDS, keep_outside=True)
    events = TableFullEvents(window.since, window.until if window.until is not None else scan.now)
    outside = TableFullEvents()
    for entry in scan_kernel_logs(system, scan, log_files, ['_TRANSPORT=kernel']):
        (outside if entry.outside else events).add(entry)
    status, reason = scan.status()
    fact = events.result()
    if status != OK and not any(s['status'] == OK for s in scan.sources):
        fact['count'] = None if not events.by_source else fact['count']
        fact['series'] = None if fact['count'] is None else fact['series']
    fact.update(status=status, reason=reason, since=iso(window.since), window=window.as_fact(),
                outside_window={'table_full': outside.count()}, skipped_lines=scan.skipped(),
                sources=[dict(s) for s in scan.sources])
    return fact


def validate(params):
    """Error message for bad options, or None (reset_facts checks every collector's options)."""
    error = since_option_error(params)
    if error:
        return error
    for path in params.get('log_files') or []:
        if not path or not str(path).strip():
            return 'option log_files: an entry is empty; give the path of a log file, such as /var/log/kern.log'
    return None


def collect(system, params):
    """The ``connreset_conntrack`` fact; raises OptionError for bad options."""
    log_files, window = checked_window(system, params, validate)
    parts = {}
    loaded, loaded_by = is_loaded(system)
    count = maximum = buckets = fill = stats = stats_source = None
    timeouts = dict((name, None) for name in TIMEOUTS)
    shared = None
    netns_method = None
    if loaded:
        count, reason = _read_int(system, NETFILTER + 'nf_conntrack_count')
        if count is None:
            parts['count'] = (UNKNOWN, reason)
        maximum, reason = _read_int(system, NETFILTER + 'nf_conntrack_max')
        if maximum is None:
            maximum, _r = _read_int(system, '/proc/sys/net/nf_conntrack_max')
        if maximum is None:
            parts['max'] = (UNKNOWN, reason)
        buckets = _int(system.read_or_none(NETFILTER + 'nf_conntrack_buckets'))
        if count is not None and maximum:
            fill = round(float(count) / maximum, 4)
        stats, stats_source, status, reason = read_stats(system)
        parts['stats'] = (status, reason)
        timeouts, missing = read_timeouts(system)
        if len(missing) == len(TIMEOUTS):
            parts['timeouts'] = (UNKNOWN, 'cannot read %snf_conntrack_tcp_timeout_*' % NETFILTER)
        shared, netns_method = shared_netns(system)
    events = table_full_events(system, window, log_files)
    parts['table_full_events'] = (events['status'], events['reason'])
    allowance, status, reason = ena_allowance(system)
    parts['ena_allowance'] = (status, reason)
    status, reason = summarize(parts)
    return result(status, reason, loaded=loaded, loaded_by=loaded_by, count=count, max=maximum, fill=fill,
                  buckets=buckets, stats=stats, stats_source=stats_source, timeouts=timeouts,
                  table_full_events=events, shared_netns=shared, netns_method=netns_method,
                  ena_allowance=allowance)
