# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sshd health: service state, processes, listeners, effective config, version, libwrap, log events.

Pure parsers (text → data) plus :func:`collect`.  Formats come from the tools themselves:

* ``systemctl show -p ...``: ``Key=Value`` lines;
* ``ss -Hltnp``: ``LISTEN 0 128 127.0.0.1:22 0.0.0.0:* users:(("sshd",pid=5081,fd=4))``;
* ``/proc/net/tcp`` and ``/proc/net/tcp6``: hex addresses, each 32-bit word in host (little-endian) order;
* ``sshd -T``: lower-case ``key value`` lines, repeated keys for multi-valued options;
* ``sshd -t``: ``FILE line N: text`` or ``FILE: line N: text`` on stderr;
* OpenSSH log lines (sshd.c, srclimit.c of OpenSSH 7.x–10.x), systemd unit messages and
  libwrap's ``refused connect from``.

Counting rules for log events (documented in the module):

* Only what the program writes counts: every pattern is anchored at both ends of the message and a
  line counts only from its writer's ident and process (:data:`LISTENER_IDENTS`, ...); the journal
  is selected by fields journald sets itself (:data:`JOURNAL_MATCHES`), syslog files are read only
  when the journal could not be read in full.
* ``maxstartups_drops`` (OpenSSH 8.4 to 9.9): drops are grouped in throttling episodes per logging
  process (an episode starts at ``beginning MaxStartups throttling`` and ends at ``exited MaxStartups
  throttling after T, N connections dropped``, or when sshd re-executes or stops).  An episode counts
  ``max(per-connection drop lines, largest N of its summaries)``: at LogLevel INFO sshd logs only the
  first drop of an episode (and one every 5 minutes) but its summaries carry the full count; at
  VERBOSE every drop has a line and the summary repeats the same connections.  An episode of one
  drop line that ended without a summary counts that line and is flagged ``unsummarised_episodes``
  (a lower bound).  OpenSSH 7.4 to 8.3 log each drop at VERBOSE only, OpenSSH 10 each drop
  (``... Maxstartups``) until its rate limiter holds them back and later reports them
  (``Maxstartups logging rate-limited: additional N connections dropped``: N added; the held-back
  drops' own DEBUG3 lines, if logged, are the same N).
* ``penalties``: connections refused because of a PerSourcePenalties penalty (``drop connection
  #N ... penalty: <reason>`` or ``... too many penalised addresses``, and the N of
  ``PerSourcePenalties logging rate-limited: ...``); penalties imposed (``new ... active penalty``,
  ``activating ... penalty``) are reported as ``imposed``.
* ``crashes``: the service's main process ended abnormally (``Main process exited, code=killed`` or
  ``code=dumped``, or ``code=exited`` with a non-zero status), or the unit ``Failed with result``
  signal/core-dump/oom-kill/exit-code/watchdog/timeout.  The ``Failed with result`` line that systemd
  logs within 10 s after ``Main process exited`` for the same unit is the same crash.
* ``restarts``: automatic restarts (``Scheduled restart job, restart counter is at N``; systemd 219
  to 234 ``holdoff time over, scheduling restart``) plus stops
  (``Stopped <sshd unit>``, or sshd's own ``Received signal N; terminating.`` when no systemd line
  describes the same stop within 10 s) that were not part of an automatic restart.  ``gave_up``
  counts ``Start request repeated too quickly``; ``reloads`` counts ``Received SIGHUP; restarting.``.
* ``wrap_refusals``: libwrap's ``refused connect from CLIENT`` logged by sshd.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, OptionError, controller_address, result, summarize,
)
from ansible_collections.connreset.doctor.plugins.module_utils._logs import (
    DEFAULT_SINCE, LogScan, checked_window, iso, parse_since,
)
# The systemd logic (systemctl show, PID 1's unit messages) has one home, _service; the names are kept here for
# the callers and tests that read them from this file.
from ansible_collections.connreset.doctor.plugins.module_utils._service import (
    MAX_REASONS, Kind as _Kind, UnitEvents, empty_service as _empty_service, int_or_none as _int_or_none, parse_systemctl_show,
    pick_unit, service_from_show, systemd_running, systemd_service, systemd_timestamp,
)
from ansible_collections.connreset.doctor.plugins.module_utils._service import (
    FAILED as _FAILED, FAILED_OLD as _FAILED_OLD, HOLDOFF as _HOLDOFF, MAIN_EXIT as _MAIN_EXIT,
    SCHEDULED as _SCHEDULED, STOPPED as _STOPPED, TOO_QUICK as _TOO_QUICK,
    bump as _bump, close_enough as _close_enough, unit_of as _unit_of,
)
from ansible_collections.connreset.doctor.plugins.module_utils._tcp_wrappers import libwrap_check

ARGUMENT_SPEC = dict(
    since=dict(type='str'),
    log_files=dict(type='list', elements='path'),
    config_file=dict(type='path', default='/etc/ssh/sshd_config'),
    sshd_path=dict(type='path'),
    full_config=dict(type='bool', default=False),
)

UNITS = ('ssh.service', 'sshd.service')
SYSLOG_FILES = ('/var/log/auth.log', '/var/log/secure', '/var/log/messages')
SESSION_BINARIES = ('/usr/lib/openssh/sshd-session', '/usr/libexec/openssh/sshd-session', '/usr/libexec/sshd-session',
                    '/usr/lib/ssh/sshd-session')
SSHD_COMMS = ('sshd', 'sshd-session', 'sshd-auth')
# Unit descriptions of sshd across distributions (Debian/Ubuntu, RHEL/Fedora, SUSE, Arch).
SSHD_DESCRIPTIONS = ('OpenBSD Secure Shell server', 'OpenSSH server daemon', 'OpenSSH Daemon', 'OpenSSH Server',
                     'OpenSSH Daemon.', 'Secure Shell server')
CONFIG_KEYS = ('maxstartups', 'persourcepenalties', 'persourcepenaltyexemptlist', 'maxsessions', 'logingracetime',
               'clientaliveinterval', 'clientalivecountmax', 'tcpkeepalive', 'usedns', 'port', 'listenaddress')
# The sshd -T keys config.raw keeps by default: what typed_config() reads (the engine and the remediate
# role read config.values only; the role reloads sshd through values.pidfile).  full_config keeps all.
RAW_KEYS = CONFIG_KEYS + ('persourcemaxstartups', 'pidfile')
# Keywords whose whole value can carry a secret (SetEnv NAME=VALUE, a command line with its arguments).
SECRET_KEYS = ('setenv', 'authorizedkeyscommand', 'authorizedprincipalscommand', 'forcecommand')
REDACTED = '<redacted>'
# sshd -T prints these keys once per value (other keys print once, several values space-separated).
MULTI_KEYS = ('port', 'listenaddress', 'hostkey', 'hostcertificate', 'acceptenv', 'subsystem', 'include')


# ---------------------------------------------------------------------------------------------
# service managers
# ---------------------------------------------------------------------------------------------
def parse_openrc_status(rc, out):
    """``rc-service sshd status`` → active_state (``* status: started`` / ``stopped`` / ``crashed``)."""
    match = re.search(r'status:\s*(\w+)', out or '')
    state = match.group(1) if match else None
    if state == 'started':
        return 'active', state
    if state in ('stopped', 'crashed', 'inactive'):
        return ('failed' if state == 'crashed' else 'inactive'), state
    if rc == 0:
        return 'active', state
    return None, state


def _pid_alive(system, pid):
    return pid is not None and system.exists('/proc/%d' % pid)


def collect_service(system):
    """The ``service`` fact: systemd, OpenRC, SysV init, or none."""
    if systemd_running(system):
        return systemd_service(system, UNITS, 'neither ssh.service nor sshd.service is loaded: '
                               'sshd is not installed as a systemd unit (socket activation or a custom unit?)')
    init = (system.read_or_none('/proc/1/comm') or '').strip() or None
    if system.isdir('/run/openrc') and system.which('rc-service'):
        res = system.run(['rc-service', 'sshd', 'status'], timeout=10)
        if res.rc is None:
            return _empty_service('openrc', UNKNOWN, res.describe(), unit='sshd')
        active, state = parse_openrc_status(res.rc, res.out + res.err)
        service = _empty_service('openrc', OK if active else UNKNOWN,
                                 None if active else 'rc-service sshd status said: %s' % (res.out + res.err).strip(),
                                 unit='sshd')
        service.update(active_state=active, sub_state=state)
        return service
    script = next((p for p in ('/etc/init.d/ssh', '/etc/init.d/sshd') if system.exists(p)), None)
    pid = _int_or_none((system.read_or_none('/run/sshd.pid') or system.read_or_none('/var/run/sshd.pid') or '').strip())
    if init == 'init' and script:
        res = system.run([script, 'status'], timeout=10)
        alive = _pid_alive(system, pid)
        service = _empty_service('sysv', OK if res.rc is not None else UNKNOWN,
                                 None if res.rc is not None else res.describe(), unit=os.path.basename(script))
        # LSB: status exit code 0 = running, 1/2 = dead with pid/lock file left behind, 3 = not running
        if res.rc == 0:
            service['active_state'] = 'active'
        elif res.rc in (1, 2):
            service['active_state'] = 'failed'
        elif res.rc == 3:
            service['active_state'] = 'inactive'
        service['main_pid'] = pid if alive else None
        return service
    reason = ('no service manager runs sshd here: PID 1 is %r (not systemd, OpenRC or SysV init), so sshd, '
              'if running, was started by hand, by a container entrypoint or by a supervisor; service state '
              'and restart history cannot be read' % (init or 'unknown'))
    service = _empty_service('none', UNKNOWN, reason)
    if pid is not None:
        service['main_pid'] = pid if _pid_alive(system, pid) else None
        service['pidfile_pid'] = pid
    return service


# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------
_LISTENER_TITLE = re.compile(r'\[listener\] (\d{1,10}) of (\d{1,10})-(\d{1,10}) startups')


def parse_listener_title(args):
    """``sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups`` → (startups, begin, full) or None."""
    match = _LISTENER_TITLE.search(args or '')
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def classify_process(args, parent_is_sshd):
    """Role of one sshd process from its title: listener, session, preauth or other."""
    args = args or ''
    if '[listener]' in args:
        return 'listener'
    if any(tag in args for tag in ('[accepted]', '[net]', '[preauth]', '[auth]')):
        return 'preauth'
    if '@' in args or '[priv]' in args:
        return 'session'
    if not parent_is_sshd:
        # OpenSSH < 9.x keeps the listener's command line as its title: "/usr/sbin/sshd -D"
        return 'listener'
    return 'other'


def parse_stat(text):
    """``/proc/PID/stat`` → (state, ppid); the comm field may hold spaces and parentheses."""
    if not text:
        return None, None
    tail = text[text.rfind(')') + 2:].split()
    if len(tail) < 2:
        return None, None
    return tail[0], _int_or_none(tail[1])


def scan_processes(system):
    """sshd processes from /proc in this network namespace: (processes, count in other namespaces, status, reason)."""
    try:
        pids = [int(name) for name in system.listdir('/proc') if name.isdigit()]
    except (IOError, OSError) as exc:
        return None, None, UNKNOWN, 'cannot list /proc: %s' % exc
    own_netns = _netns(system, 'self')
    found = {}
    other_netns = 0
    for pid in pids:
        comm = system.read_or_none('/proc/%d/comm' % pid)
        if comm is None:
            continue
        comm = comm.strip()
        cmdline = (system.read_or_none('/proc/%d/cmdline' % pid) or '').replace('\0', ' ').strip()
        if comm not in SSHD_COMMS and not re.match(r'^(\S*/)?sshd(-session|-auth)?(\s|:|$)', cmdline):
            continue
        state, ppid = parse_stat(system.read_or_none('/proc/%d/stat' % pid))
        if state in ('Z', 'X', None):
            continue
        netns = _netns(system, pid) if own_netns else None
        if netns and netns != own_netns:
            # an sshd of a container or network namespace: not the one clients of this host reach
            other_netns += 1
            continue
        found[pid] = {'pid': pid, 'ppid': ppid, 'comm': comm, 'args': cmdline}
    processes = []
    for pid in sorted(found):
        proc = found[pid]
        proc['role'] = classify_process(proc['args'], proc['ppid'] in found)
        processes.append(proc)
    hidden = _proc_hidepid(system) and system.euid != 0
    if hidden:
        return processes, other_netns, PARTIAL, ('/proc is mounted with hidepid: processes of other users are '
                                                 'invisible to this user; use become: true')
    return processes, other_netns, OK, None


def _netns(system, pid):
    try:
        return system.readlink('/proc/%s/ns/net' % pid)
    except (IOError, OSError):
        return None


def _proc_hidepid(system):
    mounts = system.read_or_none('/proc/self/mounts') or ''
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[1] == '/proc':
            return bool(re.search(r'hidepid=(?!0\b|off\b)', fields[3]))
    return False


def pick_listener(processes):
    """The listener among ``processes``: a ``[listener]`` title, else the parent-most sshd."""
    listeners = [p for p in processes if p['role'] == 'listener']
    titled = [p for p in listeners if '[listener]' in p['args']]
    if titled:
        return titled[0]
    if listeners:
        return listeners[0]
    return None


# ---------------------------------------------------------------------------------------------
# listening sockets
# ---------------------------------------------------------------------------------------------
def _split_hostport(text):
    host, _sep, port = text.rpartition(':')
    host = host.strip('[]')
    if '%' in host:
        host = host.split('%', 1)[0]
    return host, _int_or_none(port)


def parse_ss_listen(text):
    """``ss -Hltnp`` → [{address, port, pids, processes}] (pids empty when ss could not see them)."""
    sockets = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        # with -H the first field is the state (LISTEN) unless ss was given -l only on old versions
        local = fields[3] if fields[0] == 'LISTEN' else fields[2]
        address, port = _split_hostport(local)
        if port is None:
            continue
        users = ' '.join(fields[5:]) if fields[0] == 'LISTEN' else ' '.join(fields[4:])
        pids = [int(p) for p in re.findall(r'pid=(\d{1,10})\b', users)]
        names = re.findall(r'\("([^"]*)"', users)
        sockets.append({'address': address, 'port': port, 'pids': pids, 'processes': names})
    return sockets


_HEX = re.compile(r'^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{32})$')


def hex_to_ip(value):
    """/proc/net/tcp address (8 hex digits) or tcp6 address (32 hex digits) → text; None for anything else."""
    if not isinstance(value, str) or not _HEX.match(value):
        return None
    if len(value) == 8:
        raw = bytes.fromhex(value)[::-1]
        return '.'.join(str(b) for b in raw)
    if len(value) == 32:
        words = [bytes.fromhex(value[i:i + 8])[::-1] for i in range(0, 32, 8)]
        raw = b''.join(words)
        if raw[:12] == b'\0' * 10 + b'\xff\xff':
            return '::ffff:' + '.'.join(str(b) for b in raw[12:])
        groups = ['%x' % int.from_bytes(raw[i:i + 2], 'big') for i in range(0, 16, 2)]
        return _compress_v6(groups)
    return None


def _compress_v6(groups):
    best_start, best_len = -1, 0
    start = None
    for i, group in enumerate(groups + ['x']):
        if group == '0':
            if start is None:
                start = i
        else:
            if start is not None and i - start > best_len and i - start > 1:
                best_start, best_len = start, i - start
            start = None
    if best_len:
        left = ':'.join(groups[:best_start])
        right = ':'.join(groups[best_start + best_len:])
        return left + '::' + right
    return ':'.join(groups)


def read_proc_listeners(system):
    """The listening sockets of ``/proc/net/tcp`` and ``tcp6`` (as :func:`parse_proc_net_tcp`), and the
    paths that could not be read: ``(sockets, unreadable)``.  The fallback when ``ss`` fails, here and
    in module_utils/_endpoints."""
    sockets = []
    unreadable = []
    for path in ('/proc/net/tcp', '/proc/net/tcp6'):
        text = system.read_or_none(path)
        if text is None:
            unreadable.append(path)
        else:
            sockets.extend(parse_proc_net_tcp(text))
    return sockets, unreadable


def parse_proc_net_tcp(text):
    """``/proc/net/tcp`` or ``tcp6`` → listening sockets [{address, port, inode}] (state 0A)."""
    sockets = []
    for line in (text or '').splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != '0A':
            continue
        addr, _sep, port = fields[1].partition(':')
        address = hex_to_ip(addr)
        if address is None or not re.match(r'^[0-9A-Fa-f]{1,4}$', port) or not re.match(r'^\d{1,20}$', fields[9]):
            continue
        sockets.append({'address': address, 'port': int(port, 16), 'inode': int(fields[9])})
    return sockets


def pid_socket_inodes(system, pid, max_fds=None):
    """The inodes of the sockets process ``pid`` holds, in the order of its /proc/PID/fd entries (at most
    ``max_fds`` of them); an unreadable fd directory or link is passed over (reading them needs
    permission).  Shared with module_utils/_endpoints."""
    try:
        fds = system.listdir('/proc/%d/fd' % pid)
    except (IOError, OSError):
        return
    for fd in fds[:max_fds]:
        try:
            target = system.readlink('/proc/%d/fd/%s' % (pid, fd))
        except (IOError, OSError):
            continue
        match = re.match(r'^socket:\[(\d+)\]$', target)
        if match:
            yield int(match.group(1))


def socket_inodes(system, pids):
    """{inode: pid} for sockets held by ``pids`` (needs permission to read /proc/PID/fd)."""
    inodes = {}
    for pid in pids:
        for inode in pid_socket_inodes(system, pid):
            inodes[inode] = pid
    return inodes


def _not_attributable(how, ports, proc_status):
    """The reason ``listening`` is null: sockets could not be tied to sshd and none is on its port(s)."""
    if proc_status != OK:
        return ('sshd processes are hidden from this user (/proc hidepid) and %s, so which sockets are '
                "sshd's is unknown (not \"not listening\"): use become: true" % how)
    return ('%s (sshd runs as another user), and no listening socket is on port %s, so whether and where sshd '
            'listens is unknown (not "not listening"; it may listen on another port): use become: true'
            % (how, ', '.join(str(p) for p in sorted(ports))))


def collect_listening(system, sshd_pids, config_ports, proc_status=OK):
    """(listening [{address, port}] or None, source, status, reason).

    Without root, ``ss -p`` and ``/proc/PID/fd`` show only this user's processes: the sockets of a
    root sshd are then matched by port (partial); when none is on those ports, ``listening`` is
    None with the reason, never ``[]`` (which reads "sshd does not listen").
    """
    fallback_ports = set(config_ports or []) or {22}
    blind = system.euid != 0 and (bool(sshd_pids) or proc_status != OK)

    def unique(entries):
        seen, out = set(), []
        for entry in entries:
            key = (entry['address'], entry['port'])
            if key not in seen:
                seen.add(key)
                out.append({'address': entry['address'], 'port': entry['port']})
        return out

    res = system.run(['ss', '-Hltnp'], timeout=10) if system.which('ss') else None
    if res is not None and res.rc == 0:
        sockets = parse_ss_listen(res.out)
        owned = [s for s in sockets if set(s['pids']) & set(sshd_pids) or
                 any(name.startswith('sshd') for name in s['processes'])]
        if owned or not blind:
            return unique(owned), 'ss', OK, None
        by_port = [s for s in sockets if not s['pids'] and s['port'] in fallback_ports]
        if not by_port:
            return None, 'ss', UNKNOWN, _not_attributable('ss cannot name the processes owning the sockets',
                                                          fallback_ports, proc_status)
        return unique(by_port), 'ss', PARTIAL, ('ss could not name the processes owning the sockets (needs root): '
                                                'listeners matched by port %s only; use become: true'
                                                % ', '.join(str(p) for p in sorted(fallback_ports)))
    sockets, unreadable = read_proc_listeners(system)
    if not sockets and unreadable:
        return None, None, UNKNOWN, 'ss failed (%s) and %s cannot be read' % (
            res.describe() if res is not None else 'ss not found', ', '.join(unreadable))
    inodes = socket_inodes(system, sshd_pids)
    if inodes:
        return unique(s for s in sockets if s['inode'] in inodes), 'proc', OK, None
    by_port = [s for s in sockets if s['port'] in fallback_ports]
    if not blind:
        return [], 'proc', OK, None
    if not by_port:
        return None, 'proc', UNKNOWN, _not_attributable('reading /proc/PID/fd of sshd needs root', fallback_ports,
                                                        proc_status)
    return unique(by_port), 'proc', PARTIAL, ('cannot map sockets to sshd (reading /proc/PID/fd needs root): '
                                              'listeners matched by port %s only; use become: true'
                                              % ', '.join(str(p) for p in sorted(fallback_ports)))


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------
def parse_sshd_T(text):
    """``sshd -T`` output → {key: value}; keys in MULTI_KEYS (or repeated) become lists."""
    raw = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line:
            continue
        key, _sep, value = line.partition(' ')
        key = key.lower()
        value = value.strip()
        if key in MULTI_KEYS:
            raw.setdefault(key, []).append(value)
        elif key in raw:
            if not isinstance(raw[key], list):
                raw[key] = [raw[key]]
            raw[key].append(value)
        else:
            raw[key] = value
    return raw


def parse_maxstartups(value):
    """``10:30:100`` → {start: 10, rate: 30, full: 100}; ``10`` → start = full = 10, rate 30
    (servconf.c keeps the default rate; with start == full every connection past it is dropped)."""
    if value is None:
        return None
    parts = str(value).strip().split(':')
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) == 3:
        return {'start': numbers[0], 'rate': numbers[1], 'full': numbers[2]}
    if len(numbers) == 1:
        return {'start': numbers[0], 'rate': 30, 'full': numbers[0]}
    return None


_TIME_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}


def parse_sshd_time(value):
    """OpenSSH time format (``120``, ``2m``, ``1h30m``, ``90s``) → seconds, or None."""
    text = str(value or '').strip().lower()
    if not text:
        return None
    if re.match(r'^\d{1,12}(\.\d{1,9})?$', text):
        number = float(text)
        return int(number) if number.is_integer() else number
    total = 0
    pos = 0
    if len(text) > 64:
        return None
    for match in re.finditer(r'(\d{1,12})([smhdw]?)', text):
        if match.start() != pos:
            return None
        total += int(match.group(1)) * _TIME_UNITS[match.group(2)]
        pos = match.end()
    return total if pos == len(text) else None


def parse_penalties(value):
    """``persourcepenalties`` value → dict (numbers in seconds), ``False`` for ``no``, None when absent."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lower() in ('no', 'none'):
        return False
    out = {}
    for token in re.split(r'[\s,]+', text):
        if not token:
            continue
        key, sep, val = token.partition(':')
        if not sep:
            out[key] = True
            continue
        if key.startswith('max-sources'):
            out[key] = _int_or_none(val)
        elif key.startswith('overflow'):
            out[key] = val
        else:
            seconds = parse_sshd_time(val)
            out[key] = seconds if seconds is not None else val
    return out


def _bool(value):
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ('yes', 'true'):
        return True
    if text in ('no', 'false'):
        return False
    return None


def typed_config(raw):
    """``parse_sshd_T`` result → the typed ``config.values``."""
    raw = raw or {}
    ports = [p for p in (_int_or_none(v) for v in _as_list(raw.get('port'))) if p is not None]
    exempt = raw.get('persourcepenaltyexemptlist')
    return {
        'maxstartups': parse_maxstartups(raw.get('maxstartups')),
        'persourcepenalties': parse_penalties(raw.get('persourcepenalties')),
        'persourcepenaltyexemptlist': (None if exempt in (None, '', 'none') else
                                       [e for e in re.split(r'[\s,]+', str(exempt)) if e]),
        'maxsessions': _int_or_none(raw.get('maxsessions')),
        'logingracetime': parse_sshd_time(raw.get('logingracetime')),
        'clientaliveinterval': parse_sshd_time(raw.get('clientaliveinterval')),
        'clientalivecountmax': _int_or_none(raw.get('clientalivecountmax')),
        'tcpkeepalive': _bool(raw.get('tcpkeepalive')),
        'usedns': _bool(raw.get('usedns')),
        'port': ports if 'port' in raw else None,
        'listenaddress': _as_list(raw.get('listenaddress')) if 'listenaddress' in raw else None,
        'persourcemaxstartups': (None if raw.get('persourcemaxstartups') in (None, 'none')
                                 else _int_or_none(raw.get('persourcemaxstartups'))),
        'pidfile': None if raw.get('pidfile') in (None, '', 'none') else str(raw.get('pidfile')),
    }


# sshd -T's word for "not set" in the keys typed_config() maps to null.
_UNSET = (None, '', 'none')


def unparsed_values(raw, values):
    """The ``sshd -T`` values ``typed_config`` could not type: {key: the text sshd printed} for each
    key of ``values`` that sshd printed (and not as ``none``) but that is null, or (``port``) has
    fewer ints than sshd printed ports.  Empty when everything was read."""
    raw = raw or {}
    unparsed = {}
    for key, value in sorted((values or {}).items()):
        text = raw.get(key)
        if isinstance(text, list):
            if key == 'port' and len(value or []) < len(text):
                unparsed[key] = text
            continue
        if text not in _UNSET and value is None:
            unparsed[key] = text
    return unparsed


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


_CONFIG_ERROR = re.compile(r'^(?P<file>/[^\s:]{0,4096}|[^\s:]{1,4096}):? line (?P<line>\d{1,9}): (?P<text>.*)$')


def parse_sshd_t_errors(text):
    """``sshd -t`` stderr → [{file, line, text}] for the lines that name a config file and line."""
    errors = []
    for raw in (text or '').splitlines():
        line = raw.strip()
        line = re.sub(r'^sshd: ', '', line)
        match = _CONFIG_ERROR.match(line)
        if match:
            errors.append({'file': match.group('file'), 'line': int(match.group('line')), 'text': match.group('text')})
    return errors


_NEEDS_ROOT = ('no hostkeys available', 'Permission denied', 'must be run as root', 'Could not load host key')


def config_verdict(rc, err, euid):
    """``sshd -t`` result → (valid, error, errors, reason)."""
    err = (err or '').strip()
    if rc == 0:
        return True, None, [], None
    errors = parse_sshd_t_errors(err)
    if errors or 'Bad configuration option' in err or 'terminating' in err and 'bad configuration' in err:
        return False, err, errors, None
    if 'Missing privilege separation directory' in err:
        return None, err, [], ('sshd -t cannot check the configuration: %s (the service creates it when it starts; '
                               'sshd is probably not running)' % err.splitlines()[-1])
    if euid != 0 and any(text in err for text in _NEEDS_ROOT):
        return None, err, [], 'sshd -t needs root to read the host keys: use become: true'
    return None, err, [], 'sshd -t exited with %s: %s' % (rc, err.splitlines()[-1] if err else 'no output')


_SECRET_WORD = r'(?:pass(?:word|wd|phrase)?|token|secret|credential|api[_-]?key|private[_-]?key)'
_SECRET_ASSIGN = re.compile(r'(?i)^(?P<name>[^=\s]{0,64}' + _SECRET_WORD + r'[^=\s]{0,64}[=:])(?P<value>.+)$')
_SECRET_OPTION = re.compile(r'(?i)^-{1,2}[\w-]{0,64}' + _SECRET_WORD + r'[\w-]{0,64}$')


def redact_config_value(key, value):
    """One ``sshd -T`` value with what may be a secret replaced by ``<redacted>``.

    ``setenv`` keeps the variable names (``DB_PASSWORD=<redacted>``); the commands
    (``authorizedkeyscommand``, ``authorizedprincipalscommand``, ``forcecommand``) keep the program and
    lose their arguments; any other value loses the value of password-, token-, secret-like
    arguments (``--token=<redacted>``, ``--password <redacted>``, ``api_key:<redacted>``).
    """
    if isinstance(value, list):
        return [redact_config_value(key, item) for item in value]
    text = str(value)
    if key == 'setenv':
        return ' '.join(token.split('=', 1)[0] + '=' + REDACTED if '=' in token else REDACTED
                        for token in text.split())
    if key in SECRET_KEYS:
        words = text.split(None, 1)
        if len(words) < 2 or words[0].lower() == 'none':
            return text
        return '%s %s' % (words[0], REDACTED)
    out = []
    hide_next = False
    for token in text.split(' '):
        if hide_next:
            out.append(REDACTED if token else token)
            hide_next = not token
            continue
        match = _SECRET_ASSIGN.match(token)
        if match:
            out.append(match.group('name') + REDACTED)
        else:
            out.append(token)
            hide_next = bool(_SECRET_OPTION.match(token))
    return ' '.join(out)


def raw_config(raw, full=False):
    """``parse_sshd_T`` result → ``config.raw``: the keys the diagnosis reads (:data:`RAW_KEYS`), or
    every key with ``full``; secret-bearing values redacted either way."""
    keys = sorted(raw) if full else [key for key in RAW_KEYS if key in raw]
    return dict((key, redact_config_value(key, raw[key])) for key in keys)


def collect_config(system, sshd, config_file, addr, hostname, full_config=False):
    """The ``config`` fact."""
    # the same keys, all null, as a configuration sshd printed (the engine reads no key that may be missing)
    values = typed_config({})
    config = {'status': UNKNOWN, 'reason': None, 'file': config_file, 'valid': None, 'error': None, 'errors': [],
              'values': values, 'unparsed': None, 'raw': None}
    if not sshd:
        config['reason'] = 'sshd not found: give sshd_path'
        return config
    if not system.exists(config_file):
        if system.euid != 0:
            config['reason'] = ('%s cannot be seen by this user (missing, or a directory on its path is not '
                                'readable): use become: true, or give config_file' % config_file)
            return config
        config['reason'] = '%s does not exist: give config_file' % config_file
        config['valid'] = False            # sshd refuses to start without its configuration file
        config['error'] = '%s: No such file or directory' % config_file
        return config
    spec = 'user=root,host=%s,addr=%s' % (hostname or 'localhost', addr or '127.0.0.1')
    dump = system.run([sshd, '-T', '-f', config_file, '-C', spec], timeout=15)
    if dump.rc is None:
        config['reason'] = dump.describe()          # not run or timed out: sshd -t would not fare better
        return config
    if dump.rc == 0 and dump.out.strip():
        # sshd -T makes every check of sshd -t (it parses the configuration, loads the host keys, checks
        # the privilege separation user and directory) and prints the configuration only then, just before
        # test mode exits 0 (sshd.c: ``if (test_flag > 1) print_config(...); if (test_flag) exit(0);``):
        # printed means sshd -t accepts it, so sshd -t is not run.
        raw = parse_sshd_T(dump.out)
        values = typed_config(raw)
        config.update(status=OK, valid=True, raw=raw_config(raw, full_config), raw_scope='full' if full_config else 'used',
                      values=values, unparsed=unparsed_values(raw, values), connection_spec=spec)
        return config
    # sshd -T printed nothing: sshd -t says whether the configuration is invalid, and where.
    check = system.run([sshd, '-t', '-f', config_file], timeout=15)
    if check.rc is None:
        config['reason'] = check.describe()
        return config
    valid, error, errors, valid_reason = config_verdict(check.rc, check.err, system.euid)
    config.update(valid=valid, error=error, errors=errors)
    err = (dump.err or '').strip()
    if valid is False:
        config['reason'] = 'the configuration is invalid, so sshd -T cannot print it: see config.errors'
    elif valid_reason:
        config['reason'] = valid_reason.replace('sshd -t', 'sshd -T')
    elif system.euid != 0:
        config['reason'] = 'sshd -T needs root to read the host keys: use become: true'
    else:
        config['reason'] = 'sshd -T exited with %s: %s' % (dump.rc, err.splitlines()[-1] if err else 'no output')
    return config


# ---------------------------------------------------------------------------------------------
# version and libwrap
# ---------------------------------------------------------------------------------------------
_VERSION = re.compile(r'OpenSSH_(?P<v>(?P<major>\d{1,4})\.(?P<minor>\d{1,4})(?P<p>p\d{1,4})?)(?P<rest>[^,]{0,200})')


def parse_version(text):
    """``OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.11`` → (``9.2p1``, [9, 2], full text) or (None, None, None)."""
    match = _VERSION.search(text or '')
    if not match:
        return None, None, None
    return match.group('v'), [int(match.group('major')), int(match.group('minor'))], match.group(0).strip()


def collect_version(system, sshd):
    """(version, version_info, full, reason)."""
    if not sshd:
        return None, None, None, 'sshd not found'
    res = system.run([sshd, '-V'], timeout=10)
    version, info, full = parse_version(res.err + '\n' + res.out)
    if version and not re.search(r'p\d+$', version):
        # sshd -V of portable OpenSSH prints SSH_VERSION without the portable suffix (OpenSSH_9.2);
        # the client of the same package prints the full release (OpenSSH_9.2p1 Debian-2+deb12u3)
        client = system.run(['ssh', '-V'], timeout=10)
        c_version, c_info, c_full = parse_version(client.err + '\n' + client.out)
        if c_info == info:
            version, full = c_version, c_full
    if version is None:
        return None, None, None, 'cannot read the OpenSSH version from sshd -V: %s' % res.describe()
    return version, info, full, None


def session_binaries(system, sshd):
    candidates = list(SESSION_BINARIES)
    if sshd:
        candidates.insert(0, os.path.join(os.path.dirname(sshd), 'sshd-session'))
    seen = []
    for path in candidates:
        if path not in seen and system.exists(path):
            seen.append(path)
    return seen


def collect_libwrap(system, sshd):
    """(libwrap True/False/None, binaries [{path, libwrap, method}], reason) for sshd and sshd-session."""
    if not sshd:
        return None, [], 'sshd not found'
    return libwrap_check(system, [sshd] + session_binaries(system, sshd))


# ---------------------------------------------------------------------------------------------
# log events
# ---------------------------------------------------------------------------------------------
EVENT_KINDS = ('crashes', 'restarts', 'maxstartups_drops', 'penalties', 'wrap_refusals')
# Fixed parts of every message the patterns below match: LogScan parses only lines holding one
# (a large journal is mostly logins and disconnects).  A unit test checks, on every sample, that
# the events are the same with and without this filter.
EVENT_KEYWORDS = ('drop connection #', 'axStartups', 'axstartups', 'rate-limited', 'penalt', 'refused connect from',
                  'ain process exited', 'Failed with result', 'failed', 'Scheduled restart job', 'scheduling restart',
                  'epeated too quickly', 'Stopped ', 'Received signal', 'Received SIGHUP')

# Who may write each kind of line.  OpenSSH's log.c opens syslog with the program's own name
# (``openlog(progname, LOG_PID, ...)``, every release), so the ident is the binary: the listener is
# ``sshd``; from OpenSSH 9.8 the per-connection process is a separate binary, ``sshd-session``
# (<= 9.7 a forked ``sshd``).  The listener writes the MaxStartups and PerSourcePenalties lines,
# ``Received signal N; terminating.`` and ``Received SIGHUP; restarting.`` (sshd.c); libwrap's
# ``refused connect from`` is written by the process that checks hosts.allow/deny (the per-connection
# one).  systemd's unit lines come from PID 1 (``systemd``; ``init`` on a few old distributions);
# a user's ``systemd --user`` (another PID) can have a unit called ssh.service of its own.
LISTENER_IDENTS = ('sshd',)
SESSION_IDENTS = ('sshd', 'sshd-session')
SYSTEMD_IDENTS = ('systemd', 'init')
MAX_MESSAGE_CHARS = 1024            # no line the patterns match is longer (sshd's syslog() cuts at 500)

# Every pattern is anchored at both ends of the message and built from the program's own format
# string, so text a stranger can make a program log (sshd logs user names verbatim: "Invalid user
# <anything> from ...", "Failed password for <anything> ...") never matches: no message of sshd or
# systemd starts with text a client sent.  sshd's log.c escapes control characters (strnvis with
# VIS_NL), so a user name cannot start a line of its own either.  Each repetition is bounded (no
# pattern backtracks more than linearly).
#
# sshd.c drop_connection():
#   V_7_4_P1..V_8_3_P1  verbose("drop connection #%d from [%s]:%d on [%s]:%d past MaxStartups")
#   V_8_4_P1..V_9_7_P1  do_log2(drop_level, "drop connection #%d from [%s]:%d on [%s]:%d past MaxStartups")
#   V_9_8_P1, V_9_9_P1  do_log2(drop_level, "drop connection #%d from [%s]:%d on [%s]:%d %s") with reason
#                       "past Maxstartups" or srclimit.c's "penalty: <sub-reason>" / "too many penalised addresses"
#   V_10_0_P1..V_10_2_P1 the same format, reason "Maxstartups" or the penalty's sub-reason ("PerSourcePenalties"
#                       when it has none), at DEBUG3 ("debug3: " prefix, log.c do_log) while rate-limited
_DROP = re.compile(
    r'^(?P<debug>debug3: )?drop connection #(?P<n>\d{1,10}) from \[(?P<raddr>[\w:.%-]{1,80})\]:(?P<rport>\d{1,5}) '
    r'on \[(?P<laddr>[\w:.%-]{1,80})\]:(?P<lport>\d{1,5}) '
    r'(?P<reason>past MaxStartups|past Maxstartups|Maxstartups|PerSourcePenalties|too many penalised addresses'
    r'|penalty: [A-Za-z ]{1,80})$')
MAXSTARTUPS_REASONS = ('past MaxStartups', 'past Maxstartups', 'Maxstartups')
# sshd.c V_8_4_P1..V_9_9_P1: error("beginning MaxStartups throttling") (log.c: "error: " in syslog, none with -e/-E),
# error("in MaxStartups throttling for %s, %u connections dropped"),
# logit("exited MaxStartups throttling after %s, %u connections dropped"); %s is misc.c fmt_timeframe():
# "%02d:%02d:%02d", "%dd%02dh%02dm" or "%dw%dd%02dh".  Gone from V_10_0_P1.
_TIMEFRAME = r'[0-9dhmw:]{1,24}'
_BEGIN = re.compile(r'^(?:error: )?beginning MaxStartups throttling$')
_IN = re.compile(r'^(?:error: )?in MaxStartups throttling for (?P<t>' + _TIMEFRAME +
                 r'), (?P<n>\d{1,10}) connections dropped$')
_EXIT = re.compile(r'^exited MaxStartups throttling after (?P<t>' + _TIMEFRAME + r'), (?P<n>\d{1,10}) connections dropped$')
# sshd.c V_10_0_P1..V_10_2_P1 drop_connection(): logit("%s logging rate-limited: additional %u connections dropped",
# reason, ndropped) with reason "Maxstartups" or "PerSourcePenalties": N drops it logged at DEBUG3 (log.c log_ratelimit)
_RATE = re.compile(r'^(?P<what>Maxstartups|PerSourcePenalties) logging rate-limited: additional (?P<n>\d{1,10}) '
                   r'connections dropped$')
# srclimit.c srclimit_penalise() V_9_8_P1..V_10_2_P1 (verbose_f/do_log2_f: "srclimit_penalise: " prefix):
#   "%s: new %s %s penalty of %d seconds for %s" and "%s: activating %s penalty of %lld seconds for %s"
_PEN_REASON = r'(?P<reason>penalty: [A-Za-z ]{1,80})'
_PEN_NEW = re.compile(r'^srclimit_penalise: (?P<fam>ipv4|ipv6): new (?P<addr>[\w:./%-]{1,100}) (?P<state>active|deferred) '
                      r'penalty of (?P<secs>\d{1,10}(?:\.\d{1,6})?) seconds for ' + _PEN_REASON + '$')
_PEN_ACT = re.compile(r'^srclimit_penalise: (?P<addr>[\w:./%-]{1,100}): activating (?P<fam>ipv4|ipv6) penalty of '
                      r'(?P<secs>\d{1,10}(?:\.\d{1,6})?) seconds for ' + _PEN_REASON + '$')
# libwrap refuse.c (tcp_wrappers 7.6): syslog(deny_severity, "refused connect from %s", eval_client(request));
# Debian's libwrap0 7.6.q: "refused connect from %s (%s)" (client, address), and fix_options():
# "refused connect from %s with IP source routing options".  Written by the process sshd checks libwrap in.
_WRAP = re.compile(r'^refused connect from (?P<client>[^\s()]{1,300})'
                   r'(?: \((?P<addr>[^\s()]{1,100})\)| with IP source routing options)?$')
# sshd.c V_7_4_P1..V_10_2_P1: logit("Received signal %d; terminating.") and logit("Received SIGHUP; restarting.")
_TERMINATING = re.compile(r'^Received signal (?P<sig>\d{1,3}); terminating\.$')
_SIGHUP = re.compile(r'^Received SIGHUP; restarting\.$')

# systemd's unit messages (service.c, unit.c, job.c of v219..v257): _MAIN_EXIT, _FAILED, _FAILED_OLD, _SCHEDULED,
# _HOLDOFF, _TOO_QUICK, _STOPPED, imported from _service (their one home, with the format strings cited).

# Every pattern above, for the test that checks each one against planted text (samples/sshd/planted_texts.txt).
EVENT_PATTERNS = (_DROP, _BEGIN, _IN, _EXIT, _RATE, _PEN_NEW, _PEN_ACT, _WRAP, _TERMINATING, _SIGHUP,
                  _MAIN_EXIT, _FAILED, _FAILED_OLD, _SCHEDULED, _HOLDOFF, _TOO_QUICK, _STOPPED)


def is_sshd_unit(unit):
    return bool(unit) and bool(re.match(r'^sshd?(@[^/]{0,256})?\.service$', unit))


class EventCounter(UnitEvents):
    """Feed :class:`LogLine` entries in log order; :meth:`result` applies the counting rules.

    A line counts only when its ident is the program that writes that message (see
    :data:`LISTENER_IDENTS`); a line without an ident (``sshd -E`` log files, ``journalctl -o cat``)
    is judged by its text, which is anchored.  A systemd line counts only from PID 1 (or no PID).
    """

    def __init__(self, since=None, until=None):
        UnitEvents.__init__(self, is_sshd_unit, SSHD_DESCRIPTIONS,
                            dict((name, _Kind(since, until)) for name in EVENT_KINDS))
        self._episodes = {}
        self._hidden = {}
        self.episodes = 0
        self.unsummarised = 0
        self._last_terminating = None
        self._last_stopped = None
        self.penalty_reasons = {}
        self.penalties_imposed = 0
        self.reloads = 0

    # -- MaxStartups episodes (OpenSSH 8.4 .. 9.9) ----------------------------------------------
    def _episode(self, key, create=True, begun=False):
        if key not in self._episodes and create:
            self._episodes[key] = {'lines': 0, 'summary': 0, 'begun': begun}
            self.episodes += 1
        return self._episodes.get(key)

    def _close_episode(self, key):
        episode = self._episodes.pop(key, None)
        if episode:
            self.kinds['maxstartups_drops'].count += max(episode['lines'], episode['summary'])
            if episode['begun'] and not episode['summary'] and episode['lines'] <= 1:
                # at LogLevel INFO sshd logs the first drop only; the total was in the summary it never wrote
                # (the log ends, or a SIGHUP re-exec or a stop forgot the episode): the count is a lower bound.
                # (Two or more drop lines in one episode: LogLevel VERBOSE, where every drop has its line.)
                self.unsummarised += 1

    def feed(self, entry):
        message = (entry.message or '').rstrip('\r').strip()
        if not message or len(message) > MAX_MESSAGE_CHARS:
            return
        ident = entry.ident
        if ident is None or ident in SESSION_IDENTS:
            self._feed_sshd(entry, message, ident is None or ident in LISTENER_IDENTS)
        if (ident is None or ident in SYSTEMD_IDENTS) and entry.pid in (None, 1):
            self.feed_systemd(entry, message)

    def _feed_sshd(self, entry, message, listener):
        wrap = _WRAP.match(message)
        if wrap:
            kind = self.kinds['wrap_refusals']
            kind.count += 1
            kind.sample(entry)
            return
        if not listener:
            return
        key = (entry.source, entry.pid)
        drop = _DROP.match(message)
        if drop:
            self._drop(key, entry, drop)
            return
        rate = _RATE.match(message)
        if rate:
            name = 'maxstartups_drops' if rate.group('what') == 'Maxstartups' else 'penalties'
            hidden = self._hidden.pop((key, name), 0)
            dropped = max(int(rate.group('n')), hidden)
            self.kinds[name].count += dropped
            self.kinds[name].sample(entry)
            if name == 'penalties':
                _bump(self.penalty_reasons, 'rate-limited (reason not logged)', dropped)
            return
        if _BEGIN.match(message):
            self._close_episode(key)
            self._episode(key, begun=True)
            self.kinds['maxstartups_drops'].sample(entry)
            return
        summary = _IN.match(message) or _EXIT.match(message)
        if summary:
            episode = self._episode(key)
            episode['summary'] = max(episode['summary'], int(summary.group('n')))
            self.kinds['maxstartups_drops'].sample(entry)
            if summary.re is _EXIT:
                self._close_episode(key)
            return
        penalty = _PEN_NEW.match(message) or _PEN_ACT.match(message)
        if penalty:
            if penalty.re is _PEN_ACT or penalty.group('state') == 'active':
                self.penalties_imposed += 1
            self.kinds['penalties'].sample(entry)
            return
        if _TERMINATING.match(message) or _SIGHUP.match(message):
            self._close_episode(key)           # sshd re-executes itself or stops: its episode counters are gone
        if _TERMINATING.match(message):
            if self._last_stopped is not None and _close_enough(entry.time, self._last_stopped) and entry.time is not None:
                return
            self._last_terminating = entry.time if entry.time is not None else -1.0
            self._stop(entry)
            return
        if _SIGHUP.match(message):
            self.reloads += 1

    def _drop(self, key, entry, drop):
        reason = drop.group('reason')
        name = 'maxstartups_drops' if reason in MAXSTARTUPS_REASONS else 'penalties'
        kind = self.kinds[name]
        kind.sample(entry)
        if drop.group('debug'):
            # OpenSSH 10.x logs a drop at DEBUG3 while its rate limiter holds it back; the next
            # "logging rate-limited: additional N connections dropped" counts it (N of them)
            self._hidden[(key, name)] = self._hidden.get((key, name), 0) + 1
            return
        if name == 'penalties':
            kind.count += 1
            _bump(self.penalty_reasons, reason)
        elif reason == 'Maxstartups':
            kind.count += 1                # 10.x: no throttling episodes, each drop (or summary) counts
        else:
            self._episode(key)['lines'] += 1

    def _stop_described(self, entry):
        """A ``Stopped`` line of systemd: counted already when sshd's own ``Received signal N; terminating.``
        described the same stop (within 10 s)."""
        self._last_stopped = entry.time
        if (self._last_terminating is not None and entry.time is not None and self._last_terminating >= 0 and
                _close_enough(self._last_terminating, entry.time)):
            self._last_terminating = None
            return True
        return False

    def result(self):
        for key in list(self._episodes):
            self._close_episode(key)
        for (_key, name), hidden in self._hidden.items():
            # rate-limited drops whose summary sshd had not written yet (it writes it with the next drop)
            self.kinds[name].count += hidden
            if name == 'penalties':
                _bump(self.penalty_reasons, 'rate-limited (reason not logged)', hidden)
        self._hidden = {}
        kinds = dict((name, kind.as_dict()) for name, kind in self.kinds.items())
        kinds['crashes']['results'] = dict(self.crash_results)
        kinds['restarts'].update(automatic=self.automatic, manual=self.manual, gave_up=self.gave_up,
                                 reloads=self.reloads)
        kinds['maxstartups_drops']['episodes'] = self.episodes
        kinds['maxstartups_drops']['unsummarised_episodes'] = self.unsummarised
        kinds['penalties'].update(reasons=dict(self.penalty_reasons), imposed=self.penalties_imposed)
        return kinds


def count_events(entries):
    """Counting rules over an iterable of :class:`LogLine` → {kind: {count, last, samples, ...}}."""
    counter = EventCounter()
    for entry in entries:
        counter.feed(entry)
    return counter.result()


# journalctl matches on fields journald sets itself from the sender's credentials (``_UID``, ``_PID``,
# ``_COMM``, ``_SYSTEMD_UNIT``: a client cannot choose them), never on ``SYSLOG_IDENTIFIER`` or ``UNIT``
# alone (any local user can set those: ``logger -t sshd``, ``logger --journald`` with UNIT=ssh.service).
# sshd's lines: root processes of the sshd units or named sshd/sshd-session; systemd's: PID 1 about
# the sshd units.  Terms of one group are ANDed, groups separated by ``+`` ORed (journalctl(1)).
JOURNAL_MATCHES = ['_SYSTEMD_UNIT=ssh.service', '_UID=0', '+', '_SYSTEMD_UNIT=sshd.service', '_UID=0', '+',
                   '_COMM=sshd', '_UID=0', '+', '_COMM=sshd-session', '_UID=0', '+',
                   'UNIT=ssh.service', '_PID=1', '+', 'UNIT=sshd.service', '_PID=1']
SYSLOG_NOT_READ = ('not read: the journal was read in full and holds the same messages, and a syslog file cannot '
                   "tell sshd's lines from a local user's (logger -t sshd writes any ident and PID); for history "
                   'older than the journal, give the file in log_files')


def _null_kinds():
    return dict((name, {'count': None, 'last': None, 'samples': [], 'series': None}) for name in EVENT_KINDS)


def _outside_counts(counter):
    kinds = counter.result()
    return dict((name, kinds[name]['count']) for name in EVENT_KINDS)


def collect_events(system, window, log_files):
    """The ``events`` fact over ``window`` (:func:`_logs.resolve_window`)."""
    scan = LogScan(system, since=window.since, until=window.until, keywords=EVENT_KEYWORDS, keep_outside=True)
    counter = EventCounter(window.since, window.until if window.until is not None else scan.now)
    outside = EventCounter()
    not_read = []

    def feed(entries, journal=False):
        for entry in entries:
            if journal and entry.time is None:
                # journalctl prints each further line of a multi-line message indented, without a prefix: text
                # of some message (a PAM module's, naming a user), never an entry of its own
                continue
            (outside if entry.outside else counter).feed(entry)

    if log_files:
        for path in log_files:
            feed(scan.file(path))
    else:
        journal_ok = False
        journal_dirs = ('/run/systemd/system', '/var/log/journal', '/run/log/journal')
        if system.which('journalctl') and any(system.isdir(d) for d in journal_dirs):
            feed(scan.journal(JOURNAL_MATCHES, name='journal'), journal=True)
            journal_ok = scan.sources[-1]['status'] == OK
        for path in SYSLOG_FILES:
            if system.exists(path):
                if journal_ok:
                    not_read.append({'name': path, 'reason': SYSLOG_NOT_READ})
                else:
                    feed(scan.file(path))
    sources = [dict(s) for s in scan.sources]
    if not sources:
        status, reason = UNKNOWN, ('no log to read: no systemd journal and none of %s exists; give log_files '
                                   '(for example a copied auth.log) or check where sshd logs (sshd -E, SyslogFacility)'
                                   % ', '.join(SYSLOG_FILES))
    else:
        status, reason = scan.status()
    events = {'status': status, 'reason': reason, 'sources': sources, 'not_read': not_read, 'since': iso(window.since),
              'window': window.as_fact(), 'skipped_lines': scan.skipped()}
    if status == UNKNOWN:
        events.update(_null_kinds())
        events['outside_window'] = dict((name, None) for name in EVENT_KINDS)
    else:
        events.update(counter.result())
        events['outside_window'] = _outside_counts(outside)
    return events


# ---------------------------------------------------------------------------------------------
# the fact
# ---------------------------------------------------------------------------------------------
_BOOL_WORDS = {'true': True, 'yes': True, 'on': True, '1': True, 'false': False, 'no': False, 'off': False, '0': False}


def _option_bool(params, name):
    """A boolean option as AnsibleModule would convert it (the aggregate reset_facts passes a plain dict)."""
    value = params.get(name)
    if value is None:
        return ARGUMENT_SPEC[name].get('default', False)
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _BOOL_WORDS:
        return _BOOL_WORDS[word]
    raise OptionError('option %s: %r is not a boolean; give true or false' % (name, value))


def validate(params):
    """Error message for bad options, or None (the checks that need no host; :func:`collect` also
    checks ``log_files`` on the host)."""
    unknown = sorted(k for k in params if k not in ARGUMENT_SPEC and not str(k).startswith('_'))
    if unknown:
        return 'unknown sshd option(s) %s: the options are %s' % (', '.join(map(str, unknown)), ', '.join(sorted(ARGUMENT_SPEC)))
    try:
        _option_bool(params, 'full_config')
        since = params.get('since')
        if since is not None and not str(since).strip():
            raise OptionError("option since is empty: leave it out for the default window (the last %s, or the last "
                              "%s of the given log_files), or give a duration such as '7d'" % (DEFAULT_SINCE, DEFAULT_SINCE))
        log_files = params.get('log_files')
        if log_files is not None and (not isinstance(log_files, (list, tuple)) or
                                      not all(isinstance(p, str) and p.strip() for p in log_files)):
            raise OptionError('option log_files: give a list of log file paths, such as [/var/log/auth.log]; got %r'
                              % (log_files,))
        for name in ('config_file', 'sshd_path'):
            value = params.get(name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise OptionError('option %s: give a path, or leave it out for the default; got %r' % (name, value))
        if since is not None:
            parse_since(since)
    except ValueError as exc:
        text = str(exc)
        return text if text.startswith('option') or text.startswith('unknown') else 'option since: %s' % text
    return None


NOT_INSTALLED = ('sshd is not installed: no sshd binary on PATH or in the sbin directories, no ssh/sshd unit '
                 'loaded and no sshd process (install openssh-server if this host must serve SSH, or give sshd_path)')


def sshd_installed(sshd, processes, service):
    """False only when nothing says sshd is here: no binary found, no sshd process seen (the scan
    read /proc), and no ssh/sshd unit loaded (or no service manager); True otherwise."""
    if sshd or processes is None or processes:
        return True
    return not (service.get('manager') in ('systemd', 'none') and not service.get('unit'))


def collect(system, params):
    """The ``connreset_sshd`` fact."""
    _log_files, window = checked_window(system, params, validate)
    full_config = _option_bool(params, 'full_config')
    sshd = params.get('sshd_path') or system.which('sshd')
    if params.get('sshd_path') and not system.exists(params['sshd_path']):
        raise OptionError('option sshd_path: %s does not exist; give the path of the sshd binary '
                          '(for example /usr/sbin/sshd) or leave it out to search PATH and sbin' % params['sshd_path'])
    config_file = params.get('config_file') or '/etc/ssh/sshd_config'

    service = collect_service(system)
    processes, other_netns, proc_status, proc_reason = scan_processes(system)
    running = None
    if processes is not None:
        running = bool(processes) if processes or proc_status == OK else None
    listener_proc = pick_listener(processes or [])
    listener = {'pid': None, 'startups': None, 'startups_begin': None, 'startups_max': None, 'oom_score_adj': None}
    if listener_proc:
        listener['pid'] = listener_proc['pid']
        title = parse_listener_title(listener_proc['args'])
        if title:
            listener.update(startups=title[0], startups_begin=title[1], startups_max=title[2])
        listener['oom_score_adj'] = _int_or_none(system.read_or_none('/proc/%d/oom_score_adj' % listener_proc['pid']))

    hostname = (system.read_or_none('/proc/sys/kernel/hostname') or '').strip() or None
    addr = controller_address(system) or '127.0.0.1'
    config = collect_config(system, sshd, config_file, addr, hostname, full_config)

    sshd_pids = [p['pid'] for p in processes or []]
    listening, listen_source, listen_status, listen_reason = collect_listening(
        system, sshd_pids, (config['values'] or {}).get('port'), proc_status)

    version, version_info, version_full, version_reason = collect_version(system, sshd)
    libwrap, libwrap_binaries, libwrap_reason = collect_libwrap(system, sshd)
    events = collect_events(system, window, params.get('log_files'))

    installed = sshd_installed(sshd, processes, service)
    if installed is False:
        # Nothing to read: the parts below would each say "sshd not found"; one reason says it all.
        return result(OK, None, sshd_path=None, installed=False, installed_reason=NOT_INSTALLED,
                      service=service, running=False, processes=processes, processes_other_netns=other_netns,
                      listening=listening, listen_source=listen_source, config=config, version=None,
                      version_info=None, version_full=None, libwrap=None, libwrap_binaries=[], listener=listener,
                      events=events)
    status, reason = summarize({
        'service': (service['status'], service['reason']),
        'processes': (proc_status, proc_reason),
        'listening': (listen_status, listen_reason),
        'config': (config['status'], config['reason']),
        'events': (events['status'], events['reason']),
        'version': (OK if version else UNKNOWN, version_reason),
        'libwrap': (OK if libwrap is not None else UNKNOWN, libwrap_reason),
    })
    return result(
        status, reason,
        sshd_path=sshd,
        installed=installed,
        installed_reason=None,
        service=service,
        running=running,
        processes=processes,
        processes_other_netns=other_netns,
        listening=listening,
        listen_source=listen_source,
        config=config,
        version=version,
        version_info=version_info,
        version_full=version_full,
        libwrap=libwrap,
        libwrap_binaries=libwrap_binaries,
        listener=listener,
        events=events,
    )


__all__ = ['ARGUMENT_SPEC', 'collect', 'validate', 'sshd_installed', 'parse_systemctl_show', 'service_from_show', 'pick_unit',
           'systemd_timestamp', 'MAX_REASONS',
           'parse_ss_listen', 'parse_proc_net_tcp', 'hex_to_ip', 'classify_process', 'parse_listener_title',
           'parse_sshd_T', 'typed_config', 'unparsed_values', 'parse_maxstartups', 'parse_penalties', 'parse_sshd_t_errors',
           'config_verdict', 'parse_version', 'count_events', 'EventCounter', 'raw_config', 'redact_config_value',
           'collect_listening', 'collect_events']
