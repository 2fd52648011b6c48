# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading logs: one home for log-line prefixes, ``since`` and log sources.  Private.

Formats understood by :func:`split_line` (the prefix before the message):

* journalctl ``-o short-iso``:      ``2024-05-01T12:34:56+0000 host sshd[12]: msg``
* journalctl ``-o short-iso-precise`` / rsyslog RFC 3339:
  ``2024-05-01T12:34:56.123456+00:00 host sshd[12]: msg``
* classic syslog (``-o short``, auth.log, kern.log, messages): ``May  1 12:34:56 host sshd[12]: msg``
* dmesg raw: ``[ 1234.567890] msg`` and ``<6>[ 1234.567890] msg``
* dmesg ``-T``: ``[Wed May  1 12:34:56 2024] msg``
* journalctl ``-k``/kern.log lines carry ``kernel: [ 1234.5] msg`` or ``kernel: msg``.

:func:`journal_json_entry` reads ``journalctl -o json`` (kernel messages timed by the kernel's
clock, not by when journald read them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import re
import time

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, OptionError, permission_hint,
)

MONTHS = {m: i for i, m in enumerate(('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'), 1)}

_ISO = re.compile(
    r'(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)([.,]\d+)?(Z|[+-]\d\d:?\d\d)?\s+(.*)$')
_SYSLOG = re.compile(r'([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)(?:\.\d+)?\s+(.*)$')
_DMESG_RAW = re.compile(r'(?:<\d+>)?\[\s*(\d+\.\d+)\]\s?(.*)$')
_DMESG_T = re.compile(r'\[(?:[A-Z][a-z]{2}\s+)?([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})\]\s?(.*)$')
# "host ident[pid]: message" or "host ident: message"
_HOST_IDENT = re.compile(r'(\S+)\s+([^\s\[:]+)(?:\[(\d+)\])?:\s?(.*)$')
_KERNEL_UPTIME = re.compile(r'\[\s*\d+\.\d+\]\s?(.*)$')
_SINCE = re.compile(r'^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|sec|m|min|h|hour|hours|d|day|days|w|week|weeks)\s*$')
_UNIT_SECONDS = {'s': 1, 'sec': 1, 'm': 60, 'min': 60, 'h': 3600, 'hour': 3600, 'hours': 3600,
                 'd': 86400, 'day': 86400, 'days': 86400, 'w': 604800, 'week': 604800, 'weeks': 604800}


class LogLine:
    """One parsed log line.  ``time`` is epoch seconds (float) or None when unknown."""

    __slots__ = ('time', 'host', 'ident', 'pid', 'message', 'source', 'lineno', 'raw')

    def __init__(self, time_, host, ident, pid, message, source=None, lineno=None, raw=None):
        self.time = time_
        self.host = host
        self.ident = ident
        self.pid = pid
        self.message = message
        self.source = source
        self.lineno = lineno
        self.raw = raw

    def iso_time(self):
        return iso(self.time)

    def __repr__(self):
        return 'LogLine(%r, %r, %r, %r, %r)' % (self.time, self.host, self.ident, self.pid, self.message)


def iso(epoch):
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), None stays None."""
    if epoch is None:
        return None
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def _tz_offset(tz):
    if not tz or tz == 'Z':
        return 0
    sign = -1 if tz[0] == '-' else 1
    digits = tz[1:].replace(':', '')
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)


def _syslog_epoch(mon, day, hh, mi, ss, now, year=None):
    """Classic syslog has no year: take the latest year that does not put the line in the future."""
    month = MONTHS.get(mon)
    if month is None:
        return None
    if year is None:
        year = time.gmtime(now).tm_year
        epoch = calendar.timegm((year, month, int(day), int(hh), int(mi), int(ss), 0, 0, 0))
        if epoch > now + 86400:
            epoch = calendar.timegm((year - 1, month, int(day), int(hh), int(mi), int(ss), 0, 0, 0))
        return float(epoch)
    return float(calendar.timegm((int(year), month, int(day), int(hh), int(mi), int(ss), 0, 0, 0)))


_EPOCH_CACHE = {}
_EPOCH_CACHE_MAX = 8192


def _cached_epoch(key, compute):
    """Epoch for a timestamp text: logs repeat the same second many times, and timegm is slow."""
    epoch = _EPOCH_CACHE.get(key)
    if epoch is None:
        if len(_EPOCH_CACHE) >= _EPOCH_CACHE_MAX:
            _EPOCH_CACHE.clear()
        epoch = _EPOCH_CACHE[key] = compute()
    return epoch


def split_line(line, now=None, boot_time=None):
    """Parse one log line into a :class:`LogLine`; None for a line with no known prefix.

    ``now`` (epoch) resolves syslog's missing year; ``boot_time`` (epoch) turns dmesg's
    seconds-since-boot into a time (else ``time`` is None for such lines).
    Times are taken as UTC when the line has no zone (syslog files written in local time
    are then off by the zone: good enough for a lookback window measured in days).
    """
    if now is None:
        now = time.time()
    first = line[:1]
    if first.isdigit():
        match = _ISO.match(line)
        if match:
            y, mo, d, h, mi, sec, frac, tz, rest = match.groups()
            epoch = _cached_epoch((y, mo, d, h, mi, sec, tz), lambda: float(calendar.timegm(
                (int(y), int(mo), int(d), int(h), int(mi), int(sec), 0, 0, 0))) - _tz_offset(tz))
            if frac:
                epoch += float('0.' + frac[1:])
            return _with_ident(epoch, rest, boot_time)
        return None
    if first == '[' or first == '<':
        match = _DMESG_RAW.match(line)
        if match:
            up = float(match.group(1))
            return LogLine(boot_time + up if boot_time is not None else None, None, 'kernel', None, match.group(2))
        match = _DMESG_T.match(line)
        if match:
            mon, d, h, mi, sec, y, msg = match.groups()
            return LogLine(_syslog_epoch(mon, d, h, mi, sec, now, y), None, 'kernel', None, msg)
        return None
    match = _SYSLOG.match(line)
    if match:
        mon, d, h, mi, sec, rest = match.groups()
        day = int(now // 86400)
        epoch = _cached_epoch((mon, d, h, mi, sec, day), lambda: _syslog_epoch(mon, d, h, mi, sec, now))
        return _with_ident(epoch, rest, boot_time)
    return None


def _with_ident(epoch, rest, boot_time):
    match = _HOST_IDENT.match(rest)
    if not match:
        return LogLine(epoch, None, None, None, rest)
    host, ident, pid, msg = match.groups()
    if ident == 'kernel' and msg[:1] == '[':
        inner = _KERNEL_UPTIME.match(msg)
        if inner:
            msg = inner.group(1)
    return LogLine(epoch, host, ident, int(pid) if pid else None, msg)


def parse_since(value, now=None):
    """``since`` option → epoch seconds.

    Accepts a duration (``7d``, ``24h``, ``90m``, ``3600s``, ``2w``), an ISO date or date-time
    (``2024-05-01``, ``2024-05-01T12:00:00Z``) or epoch seconds (``@1714557600``).
    Raises OptionError (a ValueError) with a message that says what is accepted.
    """
    if now is None:
        now = time.time()
    text = str(value).strip()
    match = _SINCE.match(text)
    if match:
        return now - float(match.group('n')) * _UNIT_SECONDS[match.group('unit')]
    if text.startswith('@') and re.match(r'^@\d+(\.\d+)?$', text):
        return float(text[1:])
    match = re.match(r'^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?)?\s*(Z|[+-]\d\d:?\d\d)?$', text)
    if match:
        y, mo, d, h, mi, s, tz = match.groups()
        epoch = calendar.timegm((int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), 0, 0, 0))
        return float(epoch) - _tz_offset(tz)
    raise OptionError("cannot read since=%r: use a duration such as '7d', '24h' or '30m', "
                      "a date such as '2024-05-01' or '2024-05-01T12:00:00Z', or '@<epoch seconds>'" % (value,))


def boot_time(system):
    """Epoch of the last boot from /proc/stat ``btime``, or None."""
    text = system.read_or_none('/proc/stat')
    if text:
        for line in text.splitlines():
            if line.startswith('btime '):
                try:
                    return float(line.split()[1])
                except (IndexError, ValueError):
                    return None
    return None


# What journalctl says on stderr when it could not read everything.
_JOURNAL_NO_PERMISSION = ('insufficient permissions', 'not seeing messages from other users', 'Permission denied')
_JOURNAL_ABSENT = ('No journal files were found', 'No journal files were opened')


def journal_reason(rc, err, euid):
    """(status, reason) for a journalctl run; status ok when the whole journal was readable."""
    err = err or ''
    if any(text in err for text in _JOURNAL_ABSENT) and not any(text in err for text in _JOURNAL_NO_PERMISSION):
        return UNKNOWN, 'no systemd journal on this host (journalctl found no journal files)'
    if any(text in err for text in _JOURNAL_NO_PERMISSION):
        status = UNKNOWN if 'No journal files were opened' in err else PARTIAL
        return status, ('no permission to read the whole journal: add the user to systemd-journal or adm, '
                        'or use become: true')
    if rc not in (0, None):
        lines = err.strip().splitlines()
        return UNKNOWN, 'journalctl exited with %s: %s' % (rc, lines[-1] if lines else 'no output')
    return OK, None


# journalctl -o json fields the kernel-clock reader needs (--output-fields: systemd >= 236).
JOURNAL_JSON_FIELDS = ('MESSAGE', '_TRANSPORT', '_SOURCE_MONOTONIC_TIMESTAMP', '_BOOT_ID', '_HOSTNAME',
                       'SYSLOG_IDENTIFIER', '_COMM', '_PID')
_KERNEL_TRANSPORT = '"_TRANSPORT":"kernel"'
JOURNAL_DIRS = ('/var/log/journal', '/run/log/journal')
JOURNAL_WITHOUT_KERNEL = ('the journal holds no kernel message of this boot (journald does not read /dev/kmsg '
                          'here: a container?), so it cannot show kernel events')


def _journal_text(value):
    """A journal field as JSON gives it: a string, null, or (binary, non-UTF-8 data) a list of bytes."""
    if isinstance(value, list):
        try:
            return bytes(value).decode('utf-8', 'replace')
        except (TypeError, ValueError):
            return None
    return value if isinstance(value, str) else None


def journal_json_entry(line, boot_time=None, boot_id=None):
    """One line of ``journalctl -o json`` -> a :class:`LogLine` (``raw``: the entry as
    ``-o short-iso`` would print it, with the time below), or None for anything else. Pure.

    Kernel messages get their time from the kernel's own clock when they belong to the running
    boot (``_BOOT_ID`` == ``boot_id``): ``boot_time + _SOURCE_MONOTONIC_TIMESTAMP``.  journald
    stamps a message with the time it read it, so a journald that starts long after the kernel
    (a container given /dev/kmsg, a journald restarted after its state was lost) files the whole
    ring buffer, hours or weeks of it, under its own start time, inside any ``since`` window.
    Other messages keep journald's time (``__REALTIME_TIMESTAMP``).
    """
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    message = _journal_text(data.get('MESSAGE'))
    if message is None:
        return None
    epoch = None
    mono = data.get('_SOURCE_MONOTONIC_TIMESTAMP')
    if (data.get('_TRANSPORT') == 'kernel' and boot_time is not None and boot_id
            and str(data.get('_BOOT_ID') or '').replace('-', '') == boot_id.replace('-', '')):
        try:
            epoch = boot_time + int(mono) / 1e6
        except (TypeError, ValueError):
            epoch = None
    if epoch is None:
        try:
            epoch = int(data.get('__REALTIME_TIMESTAMP')) / 1e6
        except (TypeError, ValueError):
            epoch = None
    host = _journal_text(data.get('_HOSTNAME'))
    ident = _journal_text(data.get('SYSLOG_IDENTIFIER')) or _journal_text(data.get('_COMM'))
    try:
        pid = int(data.get('_PID')) if data.get('_PID') is not None else None
    except (TypeError, ValueError):
        pid = None
    stamp = time.strftime('%Y-%m-%dT%H:%M:%S+0000', time.gmtime(epoch)) if epoch is not None else '-'
    raw = '%s %s %s%s: %s' % (stamp, host or '-', ident or '-', '[%d]' % pid if pid is not None else '', message)
    return LogLine(epoch, host, ident, pid, message, raw=raw)


class LogScan:
    """Iterate over log lines from several sources and remember how each source went.

    ``sources`` records ``{name, status, reason, lines}`` for each source tried, so a fact can
    say which logs were read and why others were not.  Lines older than ``since`` (epoch) are
    skipped when their time is known.

    ``keywords`` (optional): only lines containing one of these substrings are parsed and
    yielded; the others are counted and skipped.  A collector that looks for a few message
    kinds in a large journal passes the fixed parts of those messages: a substring test costs
    a fraction of parsing the line.
    """

    def __init__(self, system, since=None, now=None, keywords=None):
        self.system = system
        self.since = since
        self.now = time.time() if now is None else now
        self.keywords = tuple(keywords) if keywords else None
        self.sources = []
        self._boot = None
        self._boot_read = False

    @property
    def boot(self):
        if not self._boot_read:
            self._boot = boot_time(self.system)
            self._boot_read = True
        return self._boot

    def _keep(self, entry):
        return self.since is None or entry.time is None or entry.time >= self.since

    def _parse(self, lines, name, record):
        boot = self.boot
        keywords = self.keywords
        lineno = 0
        for lineno, line in enumerate(lines, 1):
            if keywords is not None and not any(k in line for k in keywords):
                continue
            entry = split_line(line, self.now, boot)
            if entry is None:
                # an unknown prefix: keep the text so continuation lines are not lost
                entry = LogLine(None, None, None, None, line)
            entry.source = name
            entry.lineno = lineno
            entry.raw = line
            if self._keep(entry):
                yield entry
        record['lines'] += lineno

    def file(self, path):
        """Lines of one file (plain or .gz)."""
        record = {'name': path, 'status': OK, 'reason': None, 'lines': 0}
        self.sources.append(record)
        try:
            yield from self._parse(self.system.lines(path), path, record)
        except (IOError, OSError) as exc:
            record['status'] = UNKNOWN
            record['reason'] = permission_hint(path, exc)

    def _journal_record(self, name):
        """The source record of a journal query; None (recorded as unknown) without journalctl."""
        record = {'name': name, 'status': OK, 'reason': None, 'lines': 0}
        self.sources.append(record)
        if not self.system.which('journalctl'):
            record['status'] = UNKNOWN
            record['reason'] = 'journalctl not found (not a systemd host)'
            return None
        return record

    def journal(self, args, name='journal', timeout=60):
        """Lines of ``journalctl --no-pager -q -o short-iso [--since] ARGS``."""
        record = self._journal_record(name)
        if record is None:
            return
        argv = ['journalctl', '--no-pager', '-o', 'short-iso']
        if self.since is not None:
            argv.append('--since=@%d' % int(self.since))
        status, lines = self.system.run_stream(argv + list(args), timeout=timeout)
        yield from self._parse(lines, name, record)
        self._journal_status(record, status)

    def _journal_files(self):
        """True when a journal directory holds anything (journald's files live in <dir>/<machine-id>/)."""
        for path in JOURNAL_DIRS:
            try:
                if self.system.listdir(path):
                    return True
            except (IOError, OSError):
                continue
        return False

    def _journal_status(self, record, status):
        if status['error']:
            record['status'], record['reason'] = UNKNOWN, status['error']
        else:
            record['status'], record['reason'] = journal_reason(status['rc'], status['err'], self.system.euid)

    def _journal_json(self, args, name, timeout, record):
        """``journalctl -o json`` entries (:func:`journal_json_entry`: kernel messages carry the
        kernel's own time); ``record['kernel_lines']`` counts the kernel messages seen, keyword or not."""
        boot = self.boot
        boot_id = (self.system.read_or_none('/proc/sys/kernel/random/boot_id') or '').strip() or None
        keywords = self.keywords
        record['kernel_lines'] = 0
        base = ['journalctl', '--no-pager', '-o', 'json']
        if self.since is not None:
            base.append('--since=@%d' % int(self.since))
        # --output-fields keeps the JSON small; journalctl < 236 does not know it: ask again without
        for fields in (['--output-fields=' + ','.join(JOURNAL_JSON_FIELDS)], []):
            status, lines = self.system.run_stream(base + fields + list(args), timeout=timeout)
            lineno = 0
            for lineno, line in enumerate(lines, 1):
                if _KERNEL_TRANSPORT in line:
                    record['kernel_lines'] += 1
                if keywords is not None and not any(k in line for k in keywords):
                    continue
                entry = journal_json_entry(line, boot, boot_id)
                if entry is None:
                    continue
                entry.source = name
                entry.lineno = lineno
                if self._keep(entry):
                    yield entry
            record['lines'] += lineno
            if not (fields and lineno == 0 and status['rc'] not in (0, None) and 'output-fields' in (status['err'] or '')):
                break
        self._journal_status(record, status)

    def kernel_journal(self, args, name='journal', timeout=60):
        """The journal as a source of kernel messages, read as JSON (:meth:`_journal_json`); when
        it turns out to hold none of the running boot, its record becomes ``partial`` with the
        reason, so callers fall back to dmesg and log files instead of reading "nothing happened"."""
        record = self._journal_record(name)
        if record is None:
            return
        yield from self._journal_json(args, name, timeout, record)
        if record['status'] == OK and not record['kernel_lines']:
            # nothing from the kernel in the window: quiet, or no kernel log at all?  (journalctl
            # -o json says nothing at all when there is no journal.)  Ask for the running boot's
            # first kernel message.
            if not self._journal_files():
                record['status'] = UNKNOWN
                record['reason'] = 'no systemd journal on this host (nothing in %s)' % ' or '.join(JOURNAL_DIRS)
                return
            res = self.system.run(['journalctl', '--no-pager', '-k', '-b', '-n', '1', '-o', 'cat'], timeout=10)
            if res.rc is None:
                status, reason = UNKNOWN, res.describe()
            else:
                status, reason = journal_reason(res.rc, res.err, self.system.euid)
            if status != OK:
                record['status'], record['reason'] = status, reason
            elif not (res.out or '').strip():
                record['status'], record['reason'] = PARTIAL, JOURNAL_WITHOUT_KERNEL

    def dmesg(self):
        """Kernel ring buffer via ``dmesg`` (raw timestamps resolved with btime).

        Cached on the System: the OOM and conntrack collectors of one ``reset_facts`` call read
        the ring buffer once.
        """
        record = {'name': 'dmesg', 'status': OK, 'reason': None, 'lines': 0}
        self.sources.append(record)
        res = self.system.run(['dmesg'], timeout=20, cache=True)
        if res.rc != 0:
            record['status'] = UNKNOWN
            if res.rc is None:
                record['reason'] = res.describe()
            elif 'Operation not permitted' in res.err or 'ermission' in res.err:
                record['reason'] = 'no permission to read the kernel log (kernel.dmesg_restrict=1): use become: true'
            else:
                record['reason'] = res.describe()
            return
        yield from self._parse(res.out.splitlines(), 'dmesg', record)

    def status(self):
        """(status, reason) over all sources tried: ok when one full source was read."""
        if not self.sources:
            return UNKNOWN, 'no log source was tried'
        if any(s['status'] == OK for s in self.sources):
            return OK, None
        reasons = '; '.join('%s: %s' % (s['name'], s['reason']) for s in self.sources if s['reason'])
        if any(s['status'] == PARTIAL for s in self.sources):
            return PARTIAL, reasons
        return UNKNOWN, reasons
