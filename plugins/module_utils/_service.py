# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A systemd unit's state and history, for any service (sshd, and the endpoints of issue 13).  Private.

* ``systemctl show UNIT -p A,B``: ``Key=Value`` lines → the ``service`` fact;
* systemd's own unit messages (written by PID 1): crashes, automatic restarts, stops, start-limit hits,
  counted by :class:`UnitEvents` for the units a predicate accepts.  The wordings are systemd's format
  strings (src/core/service.c, unit.c, job.c of systemd-stable v219..v256; v257 as a Debian 13 journal
  shows it), cited beside each pattern; every pattern is anchored at both ends of the message.

The counting rules (the sshd collector documents them in its module):

* ``crashes``: the main process ended abnormally (``Main process exited, code=killed`` or ``code=dumped``,
  or ``code=exited`` with a non-zero status), or the unit ``Failed with result`` signal/core-dump/oom-kill/
  exit-code/watchdog/timeout.  The ``Failed with result`` line logged within :data:`SAME_EVENT_S` after
  ``Main process exited`` for the same unit is the same crash.
* ``restarts``: automatic restarts (``Scheduled restart job, restart counter is at N``; v219..v234
  ``holdoff time over, scheduling restart``) plus stops (``Stopped <unit>``) that were not part of an
  automatic restart.  ``gave_up`` counts ``Start request repeated too quickly``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.connreset.doctor.plugins.module_utils._common import OK, UNKNOWN
from ansible_collections.connreset.doctor.plugins.module_utils._logs import EventSeries, iso

SHOW_PROPERTIES = ('ActiveState', 'SubState', 'MainPID', 'NRestarts', 'ExecMainStatus', 'ExecMainCode', 'Result',
                   'ActiveEnterTimestamp', 'ExecMainStartTimestamp', 'LoadState')
EXEC_MAIN_CODES = {'1': 'exited', '2': 'killed', '3': 'dumped', '4': 'trapped', '5': 'stopped', '6': 'continued'}
CRASH_RESULTS = ('signal', 'core-dump', 'oom-kill', 'exit-code', 'watchdog', 'timeout')
SAME_EVENT_S = 10.0
MAX_SAMPLES = 5
MAX_SAMPLE_CHARS = 512
MAX_REASONS = 20                    # distinct keys kept in crashes.results
# Directory systemd creates when it runs as PID 1 (sd_booted(3)).
SYSTEMD_RUNTIME_DIR = '/run/systemd/system'


# ---------------------------------------------------------------------------------------------
# systemctl show
# ---------------------------------------------------------------------------------------------
def parse_systemctl_show(text):
    """``systemctl show -p A,B`` output → {Key: value}."""
    props = {}
    for line in (text or '').splitlines():
        key, sep, value = line.partition('=')
        if sep and key:
            props[key.strip()] = value.strip()
    return props


def int_or_none(value):
    text = str(value).strip()
    if len(text) > 20:              # no count or PID is that long (and int() of 4,300+ digits raises)
        return None
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


_SYSTEMD_TIME = re.compile(r'^\w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) (\S+)$')


def systemd_timestamp(value):
    """``Sun 2024-05-05 10:11:12 UTC`` → ``2024-05-05T10:11:12Z``; other zones kept as printed; empty → None."""
    value = (value or '').strip()
    if not value or value == 'n/a':
        return None
    match = _SYSTEMD_TIME.match(value)
    if match and match.group(3) in ('UTC', 'GMT'):
        return '%sT%sZ' % (match.group(1), match.group(2))
    return value


def service_from_show(props, unit):
    """One unit's ``systemctl show`` properties → the ``service`` fact (manager systemd)."""
    main_pid = int_or_none(props.get('MainPID'))
    return {
        'manager': 'systemd',
        'unit': unit,
        'load_state': props.get('LoadState') or None,
        'active_state': props.get('ActiveState') or None,
        'sub_state': props.get('SubState') or None,
        'main_pid': main_pid if main_pid else None,
        'n_restarts': int_or_none(props.get('NRestarts')),
        'exec_main_status': int_or_none(props.get('ExecMainStatus')),
        # 0: no main process has exited yet (CLD_* codes start at 1)
        'exec_main_code': EXEC_MAIN_CODES.get(props.get('ExecMainCode')),
        'result': props.get('Result') or None,
        'started_at': systemd_timestamp(props.get('ActiveEnterTimestamp')),
        'exec_main_started_at': systemd_timestamp(props.get('ExecMainStartTimestamp')),
        'status': OK,
        'reason': None,
    }


def pick_unit(shows):
    """``[(unit, props)]`` → (unit, props) of the first loaded unit, or (None, None)."""
    for unit, props in shows:
        if props.get('LoadState') == 'loaded':
            return unit, props
    return None, None


def empty_service(manager, status, reason, unit=None):
    return {'manager': manager, 'unit': unit, 'active_state': None, 'sub_state': None, 'main_pid': None,
            'n_restarts': None, 'exec_main_status': None, 'result': None, 'started_at': None,
            'status': status, 'reason': reason}


def systemd_running(system):
    return system.isdir(SYSTEMD_RUNTIME_DIR)


def systemd_service(system, units, missing_reason):
    """The ``service`` fact of the first loaded unit of ``units`` (systemd runs: see :func:`systemd_running`).

    ``missing_reason`` is the reason when none of them is loaded.
    """
    if not system.which('systemctl'):
        return empty_service('systemd', UNKNOWN, 'systemd runs but systemctl was not found')
    shows = []
    errors = []
    for unit in units:
        res = system.run(['systemctl', 'show', unit, '-p', ','.join(SHOW_PROPERTIES)], timeout=10)
        if res.rc == 0:
            shows.append((unit, parse_systemctl_show(res.out)))
        else:
            errors.append(res.describe())
    unit, props = pick_unit(shows)
    if unit is None:
        if errors:
            return empty_service('systemd', UNKNOWN, 'systemctl show failed: %s' % '; '.join(errors))
        return empty_service('systemd', UNKNOWN, missing_reason)
    return service_from_show(props, unit)


def no_manager_reason(system, what):
    """Why a service's state is unknown on a host whose PID 1 is not systemd."""
    init = (system.read_or_none('/proc/1/comm') or '').strip() or None
    return ('no service manager runs %s here: PID 1 is %r (not systemd), so %s, if running, was started by hand, '
            'by a container entrypoint or by a supervisor; service state and restart history cannot be read'
            % (what, init or 'unknown', what))


# ---------------------------------------------------------------------------------------------
# systemd's unit messages
# ---------------------------------------------------------------------------------------------
# From v225 log_unit_*() put "<unit id>: " before the message (log.c log_object_internalv); v219 named the
# unit in the text itself.
UNIT = r'[\w@.:\\-]{1,256}\.service'
# service.c service_sigchld_event(): v219 "%s: main process exited, code=%s, status=%i/%s" (unit id in the text);
# v225..v257 "Main process exited, code=%s, status=%i/%s" (LOG_UNIT_MESSAGE: "<unit>: " prefix)
MAIN_EXIT = re.compile(r'^(?P<unit>' + UNIT + r'): [Mm]ain process exited, code=(?P<code>[a-z]{1,16}), '
                       r'status=(?P<status>-?\d{1,10}/[\w/+-]{1,40})\.?$')
# service.c service_enter_dead() v229..v239 and unit.c unit_log_failure() v240..v257: "Failed with result '%s'."
FAILED = re.compile(r'^(?P<unit>' + UNIT + r"): Failed with result '(?P<result>[a-z-]{1,32})'\.$")
# v219: unit.c "Unit %s entered failed state." and service.c "%s failed."; v225..v234 unit.c "Unit entered failed
# state." (notice; debug only from v235)
FAILED_OLD = re.compile(r'^(?:Unit (?P<unit>' + UNIT + r') entered failed state|(?P<unit2>' + UNIT +
                        r'): Unit entered failed state|(?P<unit3>' + UNIT + r') failed)\.$')
# service.c service_enter_restart(): v235..v257 "Scheduled restart job, restart counter is at %u.";
# v219 "%s holdoff time over, scheduling restart." / "%s has no holdoff time, scheduling restart.";
# v225..v234 "Service hold-off time over, scheduling restart." / "Service has no hold-off time, scheduling restart."
SCHEDULED = re.compile(r'^(?P<unit>' + UNIT + r'): Scheduled restart job, restart counter is at (?P<n>\d{1,10})\.$')
HOLDOFF = re.compile(r'^(?:(?P<unit>' + UNIT + r') (?:holdoff time over|has no holdoff time)|(?P<unit2>' + UNIT +
                     r'): Service (?:hold-off time over|has no hold-off time)), scheduling restart\.$')
# v219 service.c service_start_limit_test(): "start request repeated too quickly for %s";
# v225..v257 unit.c unit_start_limit_test(): "Start request repeated too quickly."
TOO_QUICK = re.compile(r'^(?:(?P<unit>' + UNIT + r'): Start request repeated too quickly\.|'
                       r'start request repeated too quickly for (?P<unit2>' + UNIT + r'))$')
# job.c / service.c status messages [JOB_DONE] "Stopped %s.": the unit's description (v219..v249), or
# "<unit> - <description>" (unit_status_string(), v250..v257 with the default combined status format)
STOPPED = re.compile(r'^Stopped (?:(?P<unit>' + UNIT + r') - )?(?P<desc>[^\r\n]{1,256}?)\.$')

SYSTEMD_PATTERNS = (MAIN_EXIT, FAILED, FAILED_OLD, SCHEDULED, HOLDOFF, TOO_QUICK, STOPPED)
# Fixed parts of the messages above, for LogScan's keyword filter.
SYSTEMD_KEYWORDS = ('ain process exited', 'Failed with result', 'failed', 'Scheduled restart job', 'scheduling restart',
                    'epeated too quickly', 'Stopped ')
SYSTEMD_IDENTS = ('systemd', 'init')


def unit_of(match):
    groups = match.groupdict()
    return groups.get('unit') or groups.get('unit2') or groups.get('unit3')


def bump(counts, key, n=1):
    if key not in counts and len(counts) >= MAX_REASONS:
        key = 'other'
    counts[key] = counts.get(key, 0) + n


def close_enough(first, second):
    if first is None or second is None:
        return True
    return 0 <= second - first <= SAME_EVENT_S


class Kind:
    """One event kind: ``count``, ``last`` (newest time), the last :data:`MAX_SAMPLES` raw lines and the
    bounded ``series`` of times (:class:`_logs.EventSeries` over the window ``since``..``until``)."""

    def __init__(self, since=None, until=None):
        self.count = 0
        self.last = None
        self.samples = []
        self.series = EventSeries(since, until)

    def sample(self, entry, event=True):
        """Keep ``entry`` as evidence; ``event``: it is a time of its own in the series (not a further
        line about an event already timed)."""
        if entry.time is not None and (self.last is None or entry.time >= self.last):
            self.last = entry.time
        raw = (entry.raw if entry.raw is not None else entry.message).rstrip('\r')
        self.samples.append(raw[:MAX_SAMPLE_CHARS])
        if len(self.samples) > MAX_SAMPLES:
            del self.samples[0]
        if event:
            self.series.add(entry.time, raw)

    def as_dict(self):
        return {'count': self.count, 'last': iso(self.last), 'samples': list(self.samples),
                'series': self.series.as_fact()}


class UnitEvents:
    """Crashes and restarts of the units ``is_unit(name)`` accepts, from systemd's own lines.

    ``descriptions`` are unit descriptions that also name them (systemd < 250 writes ``Stopped
    <description>.``).  ``kinds`` maps ``crashes`` and ``restarts`` to :class:`Kind`-like objects (the
    sshd collector passes its own, beside its other kinds).  Feed messages written by PID 1 only
    (:meth:`feed_systemd`); subclasses may override :meth:`_stop_described` to skip a stop that a line of
    the program itself already counted.
    """

    def __init__(self, is_unit, descriptions=(), kinds=None, since=None, until=None):
        self._is_unit = is_unit
        self._descriptions = tuple(descriptions)
        self.kinds = kinds if kinds is not None else {'crashes': Kind(since, until), 'restarts': Kind(since, until)}
        self._pending_crash = {}
        self._auto_restart = {}
        self.crash_results = {}
        self.automatic = 0
        self.manual = 0
        self.gave_up = 0

    def _stop(self, entry):
        kind = self.kinds['restarts']
        kind.count += 1
        self.manual += 1
        kind.sample(entry)

    def _crash(self, entry, unit, label):
        kind = self.kinds['crashes']
        kind.count += 1
        kind.sample(entry)
        bump(self.crash_results, label)
        self._pending_crash[unit] = entry.time

    def _automatic_restart(self, entry, unit):
        kind = self.kinds['restarts']
        kind.count += 1
        self.automatic += 1
        kind.sample(entry)
        self._auto_restart[unit] = entry.time

    def _part_of_restart(self, unit, when):
        """True (and forgotten) when a ``Stopped`` line belongs to an automatic restart just counted.
        systemd 219 names no unit in it (only the description): any watched unit's restart then."""
        units = [unit] if unit else list(self._auto_restart)
        for name in units:
            if name in self._auto_restart and close_enough(self._auto_restart[name], when):
                del self._auto_restart[name]
                return True
        return False

    def _stop_described(self, entry):
        """True when this stop was counted already from another line (none here; sshd has its own)."""
        return False

    def feed_systemd(self, entry, message):
        """One message of systemd PID 1 (anchored patterns; units not accepted are ignored)."""
        if message.startswith('Stopped '):
            self._feed_stopped(entry, message)
            return
        match = MAIN_EXIT.match(message)
        if match:
            unit = match.group('unit')
            if not self._is_unit(unit):
                return
            code, status = match.group('code'), match.group('status')
            self._pending_crash.pop(unit, None)
            if code in ('killed', 'dumped') or (code == 'exited' and not status.startswith('0/')):
                self._crash(entry, unit, '%s %s' % (code, status))
            return
        match = FAILED.match(message) or FAILED_OLD.match(message)
        if match:
            unit = unit_of(match)
            if not self._is_unit(unit):
                return
            result_ = match.groupdict().get('result') or 'failed'
            if result_ not in CRASH_RESULTS and result_ != 'failed':
                return
            if unit in self._pending_crash and close_enough(self._pending_crash[unit], entry.time):
                # another line about the crash just counted (systemd logs two or three)
                self.kinds['crashes'].sample(entry, event=False)
                return
            self._crash(entry, unit, result_)
            return
        match = SCHEDULED.match(message) or HOLDOFF.match(message) or TOO_QUICK.match(message)
        if match:
            unit = unit_of(match)
            if not self._is_unit(unit):
                return
            if match.re is TOO_QUICK:
                self.gave_up += 1
                self.kinds['restarts'].sample(entry, event=False)
            else:
                self._automatic_restart(entry, unit)

    def _feed_stopped(self, entry, message):
        match = STOPPED.match(message)
        if not match:
            return
        unit = match.group('unit')
        desc = match.group('desc')
        if not (self._is_unit(unit) or desc.rstrip('.') in self._descriptions or self._is_unit(desc)):
            return
        if self._part_of_restart(unit, entry.time):
            return
        if self._stop_described(entry):
            return
        self._stop(entry)

    def unit_kinds(self):
        """{crashes: {count, last, samples, results}, restarts: {..., automatic, manual, gave_up}}."""
        crashes = self.kinds['crashes'].as_dict()
        crashes['results'] = dict(self.crash_results)
        restarts = self.kinds['restarts'].as_dict()
        restarts.update(automatic=self.automatic, manual=self.manual, gave_up=self.gave_up)
        return {'crashes': crashes, 'restarts': restarts}


def count_unit_events(entries, units, descriptions=(), since=None, until=None):
    """Counting rules over :class:`LogLine` entries for ``units`` → {crashes, restarts} (lines of PID 1 only)."""
    wanted = set(units)
    counter = UnitEvents(lambda unit: unit in wanted, descriptions, since=since, until=until)
    for entry in entries:
        message = (entry.message or '').rstrip('\r').strip()
        if message and (entry.ident is None or entry.ident in SYSTEMD_IDENTS) and entry.pid in (None, 1):
            counter.feed_systemd(entry, message)
    return counter.unit_kinds()


def unit_journal_matches(units):
    """journalctl matches for PID 1's messages about ``units``: ``UNIT=`` with ``_PID=1`` (journald sets
    ``_PID`` from the sender's credentials; a local user's ``logger --journald UNIT=x`` has another PID)."""
    matches = []
    for unit in units:
        if matches:
            matches.append('+')
        matches.extend(['UNIT=%s' % unit, '_PID=1'])
    return matches


__all__ = ['parse_systemctl_show', 'int_or_none', 'systemd_timestamp', 'service_from_show', 'pick_unit',
           'empty_service', 'systemd_running', 'systemd_service', 'no_manager_reason', 'unit_of', 'bump',
           'close_enough', 'Kind', 'UnitEvents', 'count_unit_events', 'unit_journal_matches']
