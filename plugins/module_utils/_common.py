# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plumbing shared by every collector.  Private to this collection: no stable API.

The contract (see docs/development.md):

* a collector is ``collect(system, params) -> dict``; ``params`` is the validated
  option dict of its module; the dict it returns carries ``status``
  (``ok`` | ``partial`` | ``unknown``) and ``reason`` (``None`` when ``ok``) plus its data;
* it touches the host only through ``System``: read files, list directories, find and run
  binaries, read environment variables.  ``System`` has no way to write, by construction;
* :func:`run_collector` adds ``elapsed_s`` and turns a blown time budget into
  ``{status: unknown, reason: timeout}``, so one slow command cannot stall a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import gzip
import ipaddress
import os
import subprocess
import time

OK = 'ok'
PARTIAL = 'partial'
UNKNOWN = 'unknown'

# Directories searched for binaries on top of PATH: a non-root user's PATH often lacks sbin.
SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin']

# The longest log or command-output line read whole (bytes).  A longer line (a run of NUL bytes, a
# corrupted file, a hostile writer) is not held in memory: its first MAX_LINE_BYTES come back as a
# :class:`LongLine`, the rest is read and dropped in chunks, and log scans count it as skipped.
MAX_LINE_BYTES = 8192
# Log scans stop reading at this fraction of a collector's budget, so the collector still has time
# to return what it read as ``partial`` instead of being cut off with nothing (``unknown: timeout``).
SOFT_DEADLINE_FRACTION = 0.75

# The C locale keeps every tool's output in the format the parsers know.
C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C', 'SYSTEMD_PAGER': '', 'PAGER': 'cat', 'SYSTEMD_COLORS': '0'}


class _StreamTimeout(Exception):
    """A streamed command ran past its own timeout (not the collector's budget)."""


class BudgetExceeded(Exception):
    """Raised when a collector runs past its time budget."""


class OptionError(ValueError):
    """A module option has a value the collector cannot use.

    The message says what is wrong and how to fix it; modules turn it into ``fail_json``.
    :func:`run_collector` lets it through instead of reporting it as a collector error.
    """


class LongLine(str):
    """The first :data:`MAX_LINE_BYTES` of a line that was longer (the rest was dropped unread)."""

    __slots__ = ()


def _bounded_lines(handle, max_line, check):
    """Decoded lines of a binary ``handle``, none longer than ``max_line`` bytes (see :class:`LongLine`).

    ``check()`` is called every 4,096 lines and every 1 MiB of an over-long line, so neither many
    lines nor one endless line (``/dev/zero``, a 200 MB run of NUL bytes) escapes the deadline.
    """
    count = 0
    while True:
        raw = handle.readline(max_line + 1)
        if not raw:
            return
        if not count & 4095:
            check()
        count += 1
        if len(raw) > max_line and not raw.endswith(b'\n'):
            head = raw[:max_line]
            dropped = 0
            while raw and not raw.endswith(b'\n'):
                raw = handle.readline(65536)
                dropped += len(raw)
                if dropped >= 1048576:
                    check()
                    dropped = 0
            yield LongLine(head.decode('utf-8', 'replace'))
            continue
        yield raw.decode('utf-8', 'replace').rstrip('\n')


class CommandResult:
    """Outcome of one command: ``rc`` is None when the binary could not be run at all."""

    def __init__(self, argv, rc, out, err, error=None):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.error = error

    @property
    def ok(self):
        return self.rc == 0

    def describe(self):
        """One line saying why this command did not give an answer, for a fact's ``reason``."""
        if self.error:
            return self.error
        text = (self.err or self.out or '').strip().splitlines()
        detail = text[-1] if text else 'no output'
        return '%s exited with %s: %s' % (os.path.basename(self.argv[0]), self.rc, detail)


class System:
    """Read-only view of the host, with an optional deadline.

    ``module`` is an AnsibleModule (used for ``get_bin_path``); without one, binaries are
    searched on PATH plus :data:`SBIN_DIRS`, which keeps collectors usable from unit tests
    and from controller-side code.
    """

    def __init__(self, module=None, deadline=None, environ=None):
        self._module = module
        self.deadline = deadline
        self.soft_deadline = None
        self.environ = os.environ if environ is None else environ
        self._which = {}
        self._memo = {}

    # -- time ---------------------------------------------------------------------------
    def remaining(self):
        """Seconds left before the deadline, or None when there is none."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def soft_deadline_passed(self):
        """True once a long read (a log scan) should stop and let the collector return what it has."""
        return self.soft_deadline is not None and time.monotonic() >= self.soft_deadline

    def check_deadline(self):
        left = self.remaining()
        if left is not None and left <= 0:
            raise BudgetExceeded()

    def _timeout(self, timeout):
        left = self.remaining()
        if left is None:
            return timeout
        if left <= 0:
            raise BudgetExceeded()
        return min(timeout, left) if timeout else left

    # -- identity and environment -------------------------------------------------------
    @property
    def euid(self):
        return os.geteuid()

    def getenv(self, name, default=None):
        return self.environ.get(name, default)

    # -- files --------------------------------------------------------------------------
    def exists(self, path):
        return os.path.exists(path)

    def isdir(self, path):
        return os.path.isdir(path)

    def listdir(self, path):
        """Sorted names in ``path``; raises OSError."""
        return sorted(os.listdir(path))

    def readlink(self, path):
        return os.readlink(path)

    def stat(self, path):
        """``os.stat`` of a path (mode bits, owner...); raises OSError."""
        return os.stat(path)

    def read(self, path, max_bytes=16 * 1024 * 1024):
        """Whole text of a file (decoded leniently); raises OSError (ENOENT, EACCES, ...)."""
        return self.read_bytes(path, max_bytes).decode('utf-8', 'replace')

    def read_bytes(self, path, max_bytes=16 * 1024 * 1024):
        """The bytes of a file (a binary's ELF headers, ...), at most ``max_bytes``; raises OSError."""
        self.check_deadline()
        opener = gzip.open if path.endswith('.gz') else open
        # Read in 64 KiB chunks: /proc/sys files allocate a kernel buffer the size of the read
        # request, and a 16 MiB read() of one fails there with ENOMEM.
        chunks = []
        left = max_bytes
        with opener(path, 'rb') as handle:
            while left > 0:
                chunk = handle.read(min(left, 65536))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        return b''.join(chunks)

    def read_tail(self, path, count):
        """The last ``count`` bytes of a plain file, starting after a line break (a cut line is not a
        line); the whole file when it is shorter.  Raises OSError."""
        self.check_deadline()
        with open(path, 'rb') as handle:
            size = handle.seek(0, 2)
            if size <= count:
                handle.seek(0)
                return handle.read(count)
            handle.seek(size - count)
            handle.readline()
            return handle.read(count)

    def read_or_none(self, path):
        """Text of a file, or None when it is missing or unreadable."""
        try:
            return self.read(path)
        except (IOError, OSError):
            return None

    def lines(self, path, max_line=MAX_LINE_BYTES):
        """Iterate over the lines of a (possibly gzipped) file without loading it whole.

        No line is longer than ``max_line`` bytes (a longer one comes back cut, as a
        :class:`LongLine`).  Checks the deadline as it goes; raises OSError when it cannot be opened.
        """
        opener = gzip.open if path.endswith('.gz') else open
        with opener(path, 'rb') as handle:
            yield from _bounded_lines(handle, max_line, self.check_deadline)

    # -- commands -----------------------------------------------------------------------
    def which(self, name):
        """Absolute path of a binary, or None."""
        if name not in self._which:
            if self._module is not None:
                path = self._module.get_bin_path(name, opt_dirs=SBIN_DIRS)
            else:
                path = None
                dirs = self.environ.get('PATH', '').split(os.pathsep) + SBIN_DIRS
                for directory in dirs:
                    candidate = os.path.join(directory, name)
                    if directory and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                        path = candidate
                        break
            self._which[name] = path
        return self._which[name]

    def run(self, argv, timeout=15, data=None, cache=False):
        """Run ``argv`` (a list; ``argv[0]`` a name or a path) in the C locale.

        Returns a :class:`CommandResult`; ``rc`` is None when the binary is missing or timed
        out (``error`` says which).  Raises :class:`BudgetExceeded` when the collector's
        deadline passes first.

        ``cache=True`` is for read-only commands whose output does not change within one module
        run (``dmesg``, ``ldd BINARY``): the first result of the same ``argv`` and ``data`` is
        kept for the life of this object and handed to later callers that also pass
        ``cache=True``, so collectors of one ``reset_facts`` call run each such command once.
        Only a command that ran to its end is kept (with its exit status, output and stderr,
        which say why it failed); a timeout or a binary that could not be started is not, so the
        next caller, with its own budget, runs it again.  A cached answer still checks the
        deadline.
        """
        argv = list(argv)
        binary = argv[0] if os.path.isabs(argv[0]) else self.which(argv[0])
        if not binary:
            return CommandResult(argv, None, '', '', error='%s not found' % argv[0])
        argv[0] = binary
        key = (tuple(argv), data) if cache else None
        if key in self._memo:
            self.check_deadline()
            return self._memo[key]
        res = self._execute(argv, timeout, data)
        if key is not None and res.rc is not None:
            self._memo[key] = res
        return res

    def _execute(self, argv, timeout, data):
        """Start ``argv`` (``argv[0]`` an absolute path) and wait for it: :meth:`run` without the cache."""
        limit = self._timeout(timeout)
        env = dict(os.environ)
        env.update(C_LOCALE)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True)
        except OSError as exc:
            return CommandResult(argv, None, '', '', error='%s could not run: %s' % (argv[0], exc.strerror))
        try:
            out, err = proc.communicate(input=data.encode() if data is not None else None, timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            left = self.remaining()
            if left is not None and left <= 0:
                raise BudgetExceeded()
            return CommandResult(argv, None, '', '', error='%s timed out after %.0f s' % (os.path.basename(argv[0]), limit))
        return CommandResult(argv, proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'))

    def stream(self, argv, timeout=60):
        """Yield stdout lines of ``argv`` as they come (for journals too big to hold).

        The generator's ``result`` attribute is not available; call :meth:`run_stream`
        when the return code matters.
        """
        return self.run_stream(argv, timeout)[1]

    def run_stream(self, argv, timeout=60):
        """Start ``argv`` and return ``(status, lines)``.

        ``lines`` yields decoded stdout lines; once it is exhausted, ``status`` (a dict) holds
        ``rc`` and ``err`` (stderr text).  ``status['error']`` is set when the binary is
        missing.  The process is killed when the deadline or ``timeout`` passes.
        """
        argv = list(argv)
        status = {'rc': None, 'err': '', 'error': None}
        binary = argv[0] if os.path.isabs(argv[0]) else self.which(argv[0])
        if not binary:
            status['error'] = '%s not found' % argv[0]
            return status, iter(())
        argv[0] = binary
        limit = self._timeout(timeout)
        env = dict(os.environ)
        env.update(C_LOCALE)
        started = time.monotonic()

        def generate():
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=env, close_fds=True)
            except OSError as exc:
                status['error'] = '%s could not run: %s' % (argv[0], exc.strerror)
                return

            def check():
                if time.monotonic() - started > limit:
                    self.check_deadline()
                    raise _StreamTimeout()

            try:
                try:
                    yield from _bounded_lines(proc.stdout, MAX_LINE_BYTES, check)
                except _StreamTimeout:
                    status['error'] = '%s timed out after %.0f s' % (os.path.basename(argv[0]), limit)
                    return
                status['err'] = proc.stderr.read().decode('utf-8', 'replace')
                status['rc'] = proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()
                proc.stderr.close()

        return status, generate()


def result(status=OK, reason=None, **data):
    """A collector's fact: ``status``, ``reason`` and the data keys."""
    fact = {'status': status, 'reason': reason}
    fact.update(data)
    return fact


def unknown(reason, **data):
    return result(UNKNOWN, reason, **data)


def worst_status(statuses):
    """Combine parts: all ok → ok; all unknown → unknown; otherwise partial."""
    statuses = list(statuses)
    if not statuses or all(s == OK for s in statuses):
        return OK
    if all(s == UNKNOWN for s in statuses):
        return UNKNOWN
    return PARTIAL


def summarize(parts):
    """Status and reason for a fact assembled from named parts.

    ``parts`` maps a part's name to ``(status, reason)``; the reason lists each part that is
    not ok as ``name: reason``.
    """
    status = worst_status(s for s, _r in parts.values())
    reasons = ['%s: %s' % (name, reason) for name, (s, reason) in sorted(parts.items()) if s != OK and reason]
    return status, ('; '.join(reasons) or None)


def permission_hint(path, exc):
    """Actionable text for an OSError met while reading ``path``."""
    if getattr(exc, 'errno', None) in (errno.EACCES, errno.EPERM):
        return 'no permission to read %s: run with become: true' % path
    if getattr(exc, 'errno', None) == errno.ENOENT:
        return '%s does not exist' % path
    return 'cannot read %s: %s' % (path, getattr(exc, 'strerror', None) or exc)


def run_collector(name, collect, system, params, budget=None):
    """Run one collector under an optional time budget (seconds).

    Returns its fact with ``elapsed_s`` added.  Over budget → ``status: unknown``,
    ``reason: timeout``, ``budget_s``.  Any other exception is reported as ``unknown`` with
    the error text (a collector bug must not cost the other collectors' results).
    """
    started = time.monotonic()
    if budget:
        system.deadline = started + budget
        system.soft_deadline = started + budget * SOFT_DEADLINE_FRACTION
    try:
        fact = collect(system, params)
    except BudgetExceeded:
        fact = unknown('timeout', budget_s=budget)
    except OptionError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        fact = unknown('internal error in the %s collector: %s: %s' % (name, type(exc).__name__, exc))
    finally:
        system.deadline = None
        system.soft_deadline = None
    fact['elapsed_s'] = round(time.monotonic() - started, 4)
    return fact


def waiting_budget(wait, most):
    """The time budget of a collector that waits ``wait`` seconds on purpose (the tcp collector's
    sample, the capture's duration): 30 s for its own work plus the wait, taken as 0 when unset or
    negative and as ``most`` when larger."""
    return 30 + min(max(wait or 0, 0), most)


def run_fact_module(module, fact_key, run):
    """The end of a fact module's main() (modules/*_facts, modules/reset_capture): ``exit_json`` with
    ``changed=False, ansible_facts={fact_key: run()}``, or ``fail_json`` with an OptionError's message.

    ``run`` is the module's own :func:`run_collector` call (its collector, name and budget), made here.
    """
    try:
        fact = run()
    except OptionError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, ansible_facts={fact_key: fact})


def controller_address(system):
    """The address the controller connects from (first field of SSH_CONNECTION), or None when the
    variable is unset or its first field is not an IP address (an IPv6 zone suffix is dropped)."""
    value = system.getenv('SSH_CONNECTION') or system.getenv('SSH_CLIENT')
    words = (value or '').split()
    if not words or len(words[0]) > 64:
        return None
    try:
        return str(ipaddress.ip_address(words[0].split('%', 1)[0]))
    except ValueError:
        return None


CONTROLLER_UNSET = ('SSH_CONNECTION is not set in the module\'s environment (the connection is not ssh, or become '
                    'reset the environment): the controller\'s address is unknown; give it to the diagnosis '
                    '(diagnose_host\'s controller, remediate_controller_address)')
CONTROLLER_UNREADABLE = ('SSH_CONNECTION does not start with an IP address: the controller\'s address is unknown; give '
                         'it to the diagnosis (diagnose_host\'s controller, remediate_controller_address)')


def controller_seen(system):
    """(address, reason): the address the controller connected from as this host saw it
    (:func:`controller_address`), and why it is None (its reason is None when it is known)."""
    address = controller_address(system)
    if address:
        return address, None
    if (system.getenv('SSH_CONNECTION') or system.getenv('SSH_CLIENT') or '').strip():
        return None, CONTROLLER_UNREADABLE
    return None, CONTROLLER_UNSET
