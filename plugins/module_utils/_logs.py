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
import stat
import time

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    MAX_LINE_BYTES, OK, PARTIAL, UNKNOWN, LongLine, OptionError, permission_hint,
)

MONTHS = {m: i for i, m in enumerate(('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'), 1)}

_ISO = re.compile(
    r'(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)([.,]\d+)?(Z|[+-]\d\d:?\d\d)?\s+(.*)$')
_SYSLOG = re.compile(r'([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)(?:\.\d+)?\s+(.*)$')
_DMESG_RAW = re.compile(r'(?:<\d{1,3}>)?\[\s*(\d{1,12}\.\d{1,9})\]\s?(.*)$')
_DMESG_T = re.compile(r'\[(?:[A-Z][a-z]{2}\s+)?([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})\]\s?(.*)$')
# "host ident[pid]: message" or "host ident: message"
_HOST_IDENT = re.compile(r'(\S+)\s+([^\s\[:]+)(?:\[(\d{1,10})\])?:\s?(.*)$')
_KERNEL_UPTIME = re.compile(r'\[\s*\d{1,12}\.\d{1,9}\]\s?(.*)$')
_SINCE = re.compile(r'^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|sec|m|min|h|hour|hours|d|day|days|w|week|weeks)\s*$')
DEFAULT_SINCE = '7d'
# Samples of skipped lines kept per scan, each cut to this many characters.
SKIPPED_SAMPLES = 3
SKIPPED_SAMPLE_CHARS = 200
_UNIT_SECONDS = {'s': 1, 'sec': 1, 'm': 60, 'min': 60, 'h': 3600, 'hour': 3600, 'hours': 3600,
                 'd': 86400, 'day': 86400, 'days': 86400, 'w': 604800, 'week': 604800, 'weeks': 604800}


class LogLine:
    """One parsed log line.  ``time`` is epoch seconds (float) or None when unknown."""

    __slots__ = ('time', 'host', 'ident', 'pid', 'message', 'source', 'lineno', 'raw', 'outside')

    def __init__(self, time_, host, ident, pid, message, source=None, lineno=None, raw=None):
        self.time = time_
        self.host = host
        self.ident = ident
        self.pid = pid
        self.message = message
        self.source = source
        self.lineno = lineno
        self.raw = raw
        # True for a line LogScan(keep_outside=True) yields although its time is outside the window
        self.outside = False

    def iso_time(self):
        return iso(self.time)

    def __repr__(self):
        return 'LogLine(%r, %r, %r, %r, %r)' % (self.time, self.host, self.ident, self.pid, self.message)


def iso(epoch):
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), None stays None."""
    if epoch is None:
        return None
    try:
        when = time.gmtime(epoch)
    except (OverflowError, ValueError, OSError):
        return None
    if not 1 <= when.tm_year <= 9999:           # ISO 8601's four-digit years (a bogus dmesg stamp)
        return None
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', when)


def _tz_offset(tz):
    if not tz or tz == 'Z':
        return 0
    sign = -1 if tz[0] == '-' else 1
    digits = tz[1:].replace(':', '')
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _BadTime(object):
    """What :func:`_split` returns for a known prefix whose date or time cannot exist."""

    __slots__ = ()


BAD_TIME = _BadTime()


def valid_time(year, month, day, hour, minute, second):
    """True for a calendar date and clock time that exist (a leap second, :60, is allowed)."""
    if not (1 <= month <= 12 and 0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 60 and 1 <= day):
        return False
    if month == 2 and day == 29:
        return calendar.isleap(year) if year is not None else True
    return day <= _MONTH_DAYS[month - 1]


def _syslog_epoch(mon, day, hh, mi, ss, now, year=None):
    """Classic syslog has no year: take the latest year that does not put the line in the future.
    None for a month name or a date that does not exist."""
    month = MONTHS.get(mon)
    if month is None:
        return None
    if not valid_time(int(year) if year is not None else None, month, int(day), int(hh), int(mi), int(ss)):
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
    """Parse one log line into a :class:`LogLine`; None for a line with no known prefix, or whose
    prefix holds a date or time that cannot exist (month 13, February 30, 25:00).

    ``now`` (epoch) resolves syslog's missing year; ``boot_time`` (epoch) turns dmesg's
    seconds-since-boot into a time (else ``time`` is None for such lines).
    Times are taken as UTC when the line has no zone (syslog files written in local time
    are then off by the zone: good enough for a lookback window measured in days).
    """
    entry = _split(line, now, boot_time)
    return None if entry is BAD_TIME else entry


def _iso_epoch(y, mo, d, h, mi, sec, tz):
    year, month, day, hour, minute, second = int(y), int(mo), int(d), int(h), int(mi), int(sec)
    if not valid_time(year, month, day, hour, minute, second) or (tz and tz != 'Z' and not _valid_tz(tz)):
        return BAD_TIME
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))) - _tz_offset(tz)


def _valid_tz(tz):
    digits = tz[1:].replace(':', '')
    return len(digits) == 4 and int(digits[:2]) <= 14 and int(digits[2:]) <= 59


def _split(line, now, boot_time):
    """:func:`split_line`, but :data:`BAD_TIME` for a known prefix with an impossible time."""
    if now is None:
        now = time.time()
    first = line[:1]
    if first.isdigit():
        match = _ISO.match(line)
        if match:
            y, mo, d, h, mi, sec, frac, tz, rest = match.groups()
            epoch = _cached_epoch((y, mo, d, h, mi, sec, tz), lambda: _iso_epoch(y, mo, d, h, mi, sec, tz))
            if epoch is BAD_TIME:
                return BAD_TIME
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
            epoch = _syslog_epoch(mon, d, h, mi, sec, now, y)
            if epoch is None:
                return BAD_TIME
            return LogLine(epoch, None, 'kernel', None, msg)
        return None
    match = _SYSLOG.match(line)
    if match:
        mon, d, h, mi, sec, rest = match.groups()
        if mon not in MONTHS:
            return None
        day = int(now // 86400)
        epoch = _cached_epoch((mon, d, h, mi, sec, day), lambda: _syslog_epoch(mon, d, h, mi, sec, now))
        if epoch is None:
            return BAD_TIME
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


_SINCE_HINT = ("use a duration such as '7d', '24h' or '30m', a date such as '2024-05-01' or "
               "'2024-05-01T12:00:00Z', or '@<epoch seconds>'")
_SINCE_DATE = re.compile(r'^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?)?\s*(Z|[+-]\d\d:?\d\d)?$')
_SINCE_EPOCH = re.compile(r'^@(\d{1,12})(\.\d{1,9})?$')


def parse_since(value, now=None):
    """``since`` option → epoch seconds.

    Accepts a duration (``7d``, ``24h``, ``90m``, ``3600s``, ``2w``), an ISO date or date-time
    (``2024-05-01``, ``2024-05-01T12:00:00Z``) or epoch seconds (``@1714557600``).
    Raises OptionError (a ValueError) with a message that says what is wrong and what is
    accepted: a date that does not exist (``2024-02-30``), a start before 1970, or a start in
    the future (which would read no line at all and look like a quiet host).
    """
    if now is None:
        now = time.time()
    text = str(value).strip()
    match = _SINCE.match(text)
    epoch = None
    if match:
        epoch = now - float(match.group('n')) * _UNIT_SECONDS[match.group('unit')]
    if epoch is None:
        match = _SINCE_EPOCH.match(text)
        if match:
            epoch = float(text[1:])
    if epoch is None:
        match = _SINCE_DATE.match(text)
        if not match:
            raise OptionError('cannot read since=%r: %s' % (value, _SINCE_HINT))
        y, mo, d, h, mi, sec, tz = match.groups()
        parts = (int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
        if not valid_time(*parts) or parts[5] == 60:
            raise OptionError('cannot read since=%r: %s-%s-%s%s is not a real date and time (check the month, '
                              'the day of that month and the clock); %s'
                              % (value, y, mo, d, ' %s:%s' % (h, mi) if h else '', _SINCE_HINT))
        if tz and tz != 'Z' and not _valid_tz(tz):
            raise OptionError('cannot read since=%r: %s is not a time zone offset (use Z or +HH:MM, at most '
                              '+14:00)' % (value, tz))
        epoch = float(calendar.timegm(parts + (0, 0, 0))) - _tz_offset(tz)
    if epoch > now + 60:
        raise OptionError('since=%r is %s, in the future of this host\'s clock (%s): no log line could fall in '
                          'that window, so nothing would be checked; give a past date or a duration such as '
                          "'7d' (and check the host's clock if the date is right)" % (value, iso(epoch), iso(now)))
    if epoch < 0:
        raise OptionError('cannot read since=%r: that is before 1970, where no log line can be (journalctl '
                          "refuses it); give a later date, '@0' for everything, or a duration such as '30d'" % (value,))
    return epoch


def since_option_error(params):
    """``'option since: <what is wrong>'`` for a ``since`` option that :func:`parse_since` refuses,
    or None (also when it is not given): the collectors' ``validate`` share it."""
    since = params.get('since')
    if since is None:
        return None
    try:
        parse_since(since)
    except ValueError as exc:
        return 'option since: %s' % exc
    return None


class Window:
    """The time window a log scan counts events in.

    ``since``/``until`` are epoch seconds (``until`` None: up to now); ``basis`` says where the
    window came from: ``option`` (the ``since`` option), ``now`` (the default lookback before now)
    or ``newest_line`` (the default lookback before the newest line of the given log files, for
    logs copied from elsewhere, whose events may all be older than the default lookback).
    """

    def __init__(self, since, until=None, basis='option', newest=None):
        self.since = since
        self.until = until
        self.basis = basis
        self.newest = newest

    def as_fact(self):
        return {'since': iso(self.since), 'until': iso(self.until), 'basis': self.basis}

    def __repr__(self):
        return 'Window(%r, %r, %r)' % (self.since, self.until, self.basis)


# How far from the end of a plain file the newest time is looked for.
_TAIL_BYTES = 256 * 1024


def newest_time(system, path, now=None):
    """The newest time a log file's lines carry, or None (unreadable file, or no line with a time).

    A plain file is read from its last 256 KiB backwards (logs are appended in time order); a
    gzipped one is read whole (rotated copies are small, and the deadline still applies).
    """
    now = time.time() if now is None else now
    newest = None
    tail = getattr(system, 'read_tail', None)
    try:
        if path.endswith('.gz') or tail is None:
            lines = system.lines(path)
        else:
            lines = tail(path, _TAIL_BYTES).decode('utf-8', 'replace').splitlines()
        for line in lines:
            entry = _split(line[:MAX_LINE_BYTES], now, None)
            if entry is not None and entry is not BAD_TIME and entry.time is not None:
                if newest is None or entry.time > newest:
                    newest = entry.time
    except (IOError, OSError):
        return None
    return newest


def resolve_window(system, since_option, log_files=None, now=None):
    """The :class:`Window` of a collector's log scan.

    * ``since_option`` given: :func:`parse_since` of it, up to now (``basis`` ``option``);
    * none, and ``log_files`` given: the default lookback (:data:`DEFAULT_SINCE`) before the newest
      time found in those files, which is the end of the window (``newest_line``): a sosreport or an
      auth.log copied two weeks ago is read over its own last week, not over a week that it does
      not cover.  When no file carries a time, the window falls back to now (and the scan says
      that the files hold no time it can read);
    * none and live logs: the default lookback before now (``now``).
    Raises OptionError for a ``since`` it cannot use.
    """
    now = time.time() if now is None else now
    if since_option is not None:
        return Window(parse_since(since_option, now), None, 'option')
    match = _SINCE.match(DEFAULT_SINCE)
    lookback = -float(match.group('n')) * _UNIT_SECONDS[match.group('unit')]
    if log_files:
        times = [t for t in (newest_time(system, path, now) for path in log_files) if t is not None]
        if times:
            newest = max(times)
            return Window(newest + lookback, newest, 'newest_line', newest)
    return Window(now + lookback, None, 'now')


def checked_window(system, params, validate):
    """The start of a log collector's ``collect``: ``validate(params)`` (a message or None), the
    ``log_files`` entries (:func:`check_log_files`) and the window (:func:`resolve_window`).

    Returns ``(log_files, window)``, ``log_files`` None when none are given; raises OptionError.
    Shared by the conntrack, oom and sshd collectors.
    """
    error = validate(params)
    if error:
        raise OptionError(error)
    log_files = params.get('log_files') or None
    check_log_files(system, log_files)
    return log_files, resolve_window(system, params.get('since'), log_files)


def check_log_files(system, paths):
    """Raise OptionError for a ``log_files`` entry that exists but is not a regular file.

    ``/dev/zero``, a FIFO or a directory would be read forever or not at all.  A missing or
    unreadable file is not an option error: it is host state, which the scan reports as an
    ``unknown`` source with the reason.
    """
    for path in paths or ():
        if not path or not str(path).strip():
            raise OptionError('option log_files: an entry is empty; give the path of a log file, such as '
                              '/var/log/auth.log')
        try:
            mode = system.stat(path).st_mode
        except (IOError, OSError, AttributeError):      # missing (host state), or a test double without stat
            continue
        if not stat.S_ISREG(mode):
            kind = 'a directory' if stat.S_ISDIR(mode) else 'a device' if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) \
                else 'a FIFO' if stat.S_ISFIFO(mode) else 'a socket' if stat.S_ISSOCK(mode) else 'not a regular file'
            raise OptionError('option log_files: %s is %s, not a log file; give regular files (plain or .gz), '
                              'such as a copied /var/log/auth.log' % (path, kind))


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
    except (ValueError, RecursionError):      # RecursionError: thousands of nested brackets
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
        except (TypeError, ValueError, OverflowError):
            epoch = None
    if epoch is None:
        try:
            epoch = int(data.get('__REALTIME_TIMESTAMP')) / 1e6
        except (TypeError, ValueError, OverflowError):
            epoch = None
    if epoch is not None and not 0 <= epoch < 253402300800:      # before 1970 or after 9999: no time
        epoch = None
    host = _journal_text(data.get('_HOSTNAME'))
    ident = _journal_text(data.get('SYSLOG_IDENTIFIER')) or _journal_text(data.get('_COMM'))
    try:
        pid = int(data.get('_PID')) if data.get('_PID') is not None else None
    except (TypeError, ValueError, OverflowError):
        pid = None
    if pid is not None and not 0 < pid < 1 << 32:
        pid = None
    stamp = time.strftime('%Y-%m-%dT%H:%M:%S+0000', time.gmtime(epoch)) if epoch is not None else '-'
    raw = '%s %s %s%s: %s' % (stamp, host or '-', ident or '-', '[%d]' % pid if pid is not None else '', message)
    return LogLine(epoch, host, ident, pid, message, raw=raw)


def _close(lines):
    """End a command's line generator (and so the command) that was not read to its end."""
    close = getattr(lines, 'close', None)
    if close is not None:
        close()


class LogScan:
    """Iterate over log lines from several sources and remember how each source went.

    ``sources`` records ``{name, status, reason, lines, skipped_lines, outside_lines}`` for each
    source tried, so a fact can say which logs were read and why others were not.

    The window is ``since`` .. ``until`` (epoch seconds, either None for open).  A line whose time
    is known and outside it is dropped and counted in its source's ``outside_lines``; with
    ``keep_outside=True`` it is yielded instead, with ``entry.outside = True``, so a collector can
    count what it would have meant per event kind (``outside_window``): never dropped silently.

    ``keywords`` (optional): only lines containing one of these substrings are parsed and
    yielded; the others are counted and skipped.  A collector that looks for a few message
    kinds in a large journal passes the fixed parts of those messages: a substring test costs
    a fraction of parsing the line.

    Lines that cannot be read are skipped and counted (``skipped_lines``, :meth:`skipped`), never
    yielded: a line longer than :data:`MAX_LINE_BYTES` (only its start was read), one holding a NUL
    byte, and a line with a known prefix whose date or time cannot exist (month 13, February 30).
    With keywords, only such lines that hold a keyword are counted (the others could not have
    mattered).

    A source stops being read once the System's soft deadline has passed (a large log under a
    short budget): its record becomes ``partial`` with the reason, and the collector returns what
    was read.
    """

    def __init__(self, system, since=None, now=None, keywords=None, until=None, keep_outside=False):
        self.system = system
        self.since = since
        self.until = until
        self.keep_outside = keep_outside
        self.now = time.time() if now is None else now
        self.keywords = tuple(keywords) if keywords else None
        self.sources = []
        self._boot = None
        self._boot_read = False
        self._skipped_samples = []
        self._timed = {}                   # id(record) -> [lines with a time, matching lines without]
        soft = getattr(system, 'soft_deadline_passed', None)
        self._soft_deadline_passed = soft if soft is not None else (lambda: False)

    @property
    def boot(self):
        if not self._boot_read:
            self._boot = boot_time(self.system)
            self._boot_read = True
        return self._boot

    def _outside(self, entry):
        when = entry.time
        return when is not None and ((self.since is not None and when < self.since) or
                                     (self.until is not None and when > self.until))

    def _window_filter(self, entry, record):
        """The entry to yield, or None: drops (and counts) lines outside the window."""
        if self._outside(entry):
            record['outside_lines'] += 1
            if not self.keep_outside:
                return None
            entry.outside = True
        return entry

    def _skip(self, record, lineno, line):
        record['skipped_lines'] += 1
        if len(self._skipped_samples) < SKIPPED_SAMPLES:
            self._skipped_samples.append('%s:%d: %s' % (record['name'], lineno,
                                                        line[:SKIPPED_SAMPLE_CHARS].replace('\0', '\\0')))

    def skipped(self):
        """``{count, samples}`` over every source: the lines that could not be read."""
        return {'count': sum(s.get('skipped_lines', 0) for s in self.sources), 'samples': list(self._skipped_samples)}

    def _stopped(self, record, lineno):
        record['stopped'] = True
        if record['status'] == OK:
            record['status'] = PARTIAL
            record['reason'] = ('stopped reading after %d lines at 3/4 of the time budget: the log is larger than '
                                'the budget allows; raise the budget or narrow since' % lineno)

    def _new_record(self, name):
        record = {'name': name, 'status': OK, 'reason': None, 'lines': 0, 'skipped_lines': 0, 'outside_lines': 0}
        self.sources.append(record)
        return record

    def _parse(self, lines, name, record):
        boot = self.boot
        keywords = self.keywords
        now = self.now
        soft_passed = self._soft_deadline_passed
        lineno = 0
        read = 0
        timed = untimed = 0
        for lineno, line in enumerate(lines, 1):
            if not lineno & 255 and soft_passed():
                self._stopped(record, read)
                break
            read = lineno
            if keywords is not None and not any(k in line for k in keywords):
                continue
            if isinstance(line, LongLine) or '\0' in line:
                self._skip(record, lineno, line)
                continue
            entry = _split(line, now, boot)
            if entry is BAD_TIME:
                self._skip(record, lineno, line)
                continue
            if entry is None:
                # an unknown prefix: keep the text so continuation lines are not lost
                entry = LogLine(None, None, None, None, line)
            if entry.time is None:
                untimed += 1
            else:
                timed += 1
            entry.source = name
            entry.lineno = lineno
            entry.raw = line
            entry = self._window_filter(entry, record)
            if entry is not None:
                yield entry
        record['lines'] += read
        counts = self._timed.setdefault(id(record), [0, 0])
        counts[0] += timed
        counts[1] += untimed

    def file(self, path):
        """Lines of one file (plain or .gz).

        A file whose matching lines (with ``keywords``: the lines holding one) carry no time this
        parser can read (``sshd -E`` writes none,
        a copy stripped of its prefixes) is ``partial``: its events are counted, but the window
        could not be applied to them.
        """
        record = self._new_record(path)
        try:
            yield from self._parse(self.system.lines(path), path, record)
        except (IOError, OSError) as exc:
            record['status'] = UNKNOWN
            record['reason'] = permission_hint(path, exc)
            return
        timed, untimed = self._timed.get(id(record), (0, 0))
        if record['status'] == OK and untimed and not timed:
            record['status'] = PARTIAL
            record['reason'] = ('%s: no line carries a time this collection can read (sshd -E log files carry '
                                'none), so the window since..until was not applied to its events' % path)

    def _journal_record(self, name):
        """The source record of a journal query; None (recorded as unknown) without journalctl."""
        record = self._new_record(name)
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
        argv = ['journalctl', '--no-pager', '-o', 'short-iso'] + self._journal_window()
        status, lines = self.system.run_stream(argv + list(args), timeout=timeout)
        try:
            yield from self._parse(lines, name, record)
        finally:
            _close(lines)              # stopped early (budget, caller): end journalctl now
        self._journal_status(record, status)

    def _journal_window(self):
        argv = []
        if self.since is not None:
            argv.append('--since=@%d' % int(self.since))
        if self.until is not None:
            argv.append('--until=@%d' % (int(self.until) + 1))
        return argv

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
        if record.get('stopped'):
            return                     # partial: stopped at the budget, the reason says so
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
        base = ['journalctl', '--no-pager', '-o', 'json'] + self._journal_window()
        soft_passed = self._soft_deadline_passed
        # --output-fields keeps the JSON small; journalctl < 236 does not know it: ask again without
        for fields in (['--output-fields=' + ','.join(JOURNAL_JSON_FIELDS)], []):
            status, lines = self.system.run_stream(base + fields + list(args), timeout=timeout)
            lineno = read = 0
            try:
                for lineno, line in enumerate(lines, 1):
                    if not lineno & 255 and soft_passed():
                        self._stopped(record, read)
                        break
                    read = lineno
                    if _KERNEL_TRANSPORT in line:
                        record['kernel_lines'] += 1
                    if keywords is not None and not any(k in line for k in keywords):
                        continue
                    if isinstance(line, LongLine):
                        self._skip(record, lineno, line)
                        continue
                    entry = journal_json_entry(line, boot, boot_id)
                    if entry is None:
                        continue
                    if '\0' in entry.message:
                        self._skip(record, lineno, entry.raw)
                        continue
                    entry.source = name
                    entry.lineno = lineno
                    entry = self._window_filter(entry, record)
                    if entry is not None:
                        yield entry
            finally:
                _close(lines)
            record['lines'] += read
            if not (fields and read == 0 and status['rc'] not in (0, None) and 'output-fields' in (status['err'] or '')):
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
        record = self._new_record('dmesg')
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
        stopped = [s for s in self.sources if s.get('stopped')]
        if stopped:
            return PARTIAL, '; '.join('%s: %s' % (s['name'], s['reason']) for s in stopped)
        if any(s['status'] == OK for s in self.sources):
            return OK, None
        reasons = '; '.join('%s: %s' % (s['name'], s['reason']) for s in self.sources if s['reason'])
        if any(s['status'] == PARTIAL for s in self.sources):
            return PARTIAL, reasons
        return UNKNOWN, reasons


# ---------------------------------------------------------------------------------------------
# When the events of one kind happened (the ``series`` of an event kind; docs/facts.md)
# ---------------------------------------------------------------------------------------------
# Exact times kept per event kind; past this many, every time is counted per fixed bucket instead.
SERIES_MAX_TIMES = 20
# Buckets over one window at most (7 days make 168 one-hour buckets).
SERIES_MAX_BUCKETS = 200
# Characters kept of the evidence line (or the OOM victim) beside an exact time.
SERIES_NOTE_CHARS = 160
# Bucket sizes (seconds) a window is divided into: the smallest that gives at most
# SERIES_MAX_BUCKETS buckets; above a day, whole days.
# 9999-12-31T23:59:59Z: the last time :func:`iso` writes (a time past it is no log's)
_LAST_ISO_EPOCH = 253402300799.0
BUCKET_SIZES = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def bucket_seconds(start, end, max_buckets=SERIES_MAX_BUCKETS):
    """The bucket size (seconds) of a window ``start``..``end`` (epoch): at most ``max_buckets``
    buckets aligned to multiples of the size (hours start on the hour, UTC).  Pure."""
    span = max(0.0, float(end) - float(start))
    for size in BUCKET_SIZES:
        # aligned buckets: the first may start up to one size before ``start``
        if span + size <= size * max_buckets:
            return size
    days = int(-(-(span / max(1, max_buckets - 1)) // 86400)) or 1
    return days * 86400


class EventSeries:
    """When the events of one kind happened, in a bounded fact however long the log.

    Feed :meth:`add` with each event's epoch time (None: a line without a time, counted in
    ``untimed``).  The first :data:`SERIES_MAX_TIMES` times are kept exactly, each with a short
    note (the evidence line, the OOM victim); with one more, every time (the exact ones too) is
    counted per fixed bucket of the window ``start``..``end`` instead (:func:`bucket_seconds`), so
    a log of a million events still makes at most :data:`SERIES_MAX_BUCKETS` buckets.  A time
    outside the window is counted in ``outside``, never in a bucket.  Memory is bounded the same way.
    """

    __slots__ = ('start', 'end', 'max_times', 'max_buckets', 'times', 'buckets', 'bucket_s', 'origin',
                 'count', 'untimed', 'outside', 'first', 'last')

    def __init__(self, start=None, end=None, max_times=SERIES_MAX_TIMES, max_buckets=SERIES_MAX_BUCKETS):
        self.start = start
        self.end = end
        self.max_times = max_times
        self.max_buckets = max_buckets
        self.times = []             # [(epoch, note)] while exact
        self.buckets = None         # {index: count} once past max_times
        self.bucket_s = None
        self.origin = None
        self.count = 0              # timed events in the window
        self.untimed = 0
        self.outside = 0
        self.first = None
        self.last = None

    def add(self, epoch, note=None):
        if epoch is None:
            self.untimed += 1
            return
        try:
            epoch = float(epoch)
        except (TypeError, ValueError):
            self.untimed += 1
            return
        if not 0 <= epoch <= _LAST_ISO_EPOCH or \
                (self.start is not None and epoch < self.start) or (self.end is not None and epoch > self.end):
            # (NaN fails every comparison: outside too)
            self.outside += 1
            return
        self.count += 1
        if self.first is None or epoch < self.first:
            self.first = epoch
        if self.last is None or epoch > self.last:
            self.last = epoch
        if self.buckets is None:
            if len(self.times) < self.max_times:
                if note is not None:
                    note = str(note).rstrip('\r\n')[:SERIES_NOTE_CHARS]
                self.times.append((epoch, note))
                return
            self._to_buckets(epoch)
        self._bucket(epoch)

    def _to_buckets(self, epoch):
        seen = [t for t, _n in self.times] + [epoch]
        start = self.start if self.start is not None else min(seen)
        end = self.end if self.end is not None else max(seen + [start])
        self.bucket_s = bucket_seconds(start, end, self.max_buckets)
        self.origin = int(start // self.bucket_s) * self.bucket_s
        self.buckets = {}
        times, self.times = self.times, []
        for epoch, _note in times:
            self._bucket(epoch)

    def _bucket(self, epoch):
        index = int((epoch - self.origin) // self.bucket_s)
        if index < 0:
            index = 0               # only without a window start: before the first exact time
        self.buckets[index] = self.buckets.get(index, 0) + 1

    def as_fact(self):
        """The ``series`` fact (docs/facts.md): ``mode`` ``times`` (``times``: ``[{time, note}]``,
        oldest first) or ``buckets`` (``bucket_s`` and ``buckets``: ``[{start, count}]``, the
        buckets holding events, oldest first); ``count``, ``first``, ``last``, ``untimed``,
        ``outside`` and the window (``since``, ``until``) in both."""
        fact = {'mode': 'times' if self.buckets is None else 'buckets', 'since': iso(self.start),
                'until': iso(self.end), 'count': self.count, 'first': iso(self.first), 'last': iso(self.last),
                'untimed': self.untimed, 'outside': self.outside, 'max_times': self.max_times,
                'bucket_s': self.bucket_s, 'times': [], 'buckets': []}
        if self.buckets is None:
            fact['times'] = [{'time': iso(t), 'note': n} for t, n in sorted(self.times, key=lambda tn: tn[0])]
        else:
            fact['buckets'] = [{'start': iso(self.origin + i * self.bucket_s), 'count': self.buckets[i]}
                               for i in sorted(self.buckets)]
        return fact


def iso_epoch(text):
    """:func:`iso`'s ``YYYY-MM-DDTHH:MM:SSZ`` → epoch seconds; None for anything else.  Pure."""
    if not isinstance(text, str) or len(text) != 20 or text[10] != 'T' or text[19] != 'Z':
        return None
    try:
        return float(calendar.timegm(time.strptime(text, '%Y-%m-%dT%H:%M:%SZ')))
    except (ValueError, OverflowError):
        return None


def window_series(window, now=None, **kwargs):
    """An empty :class:`EventSeries` over a :class:`Window` (its ``until``, else ``now``)."""
    end = window.until if window.until is not None else (time.time() if now is None else now)
    return EventSeries(window.since, end, **kwargs)
