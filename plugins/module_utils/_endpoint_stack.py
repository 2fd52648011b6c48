# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The machinery of the endpoints collector for each endpoint named (issue 13): the owning process and
unit, the unit's history, descriptors, OOM kills, the program's own idle timeouts and log lines.  Private.

Imported by :func:`_endpoints.collect` only when the call names an endpoint, so a call without one (the
default of ``reset_facts``) does not compile it; the formats it reads and their homes are listed in
:mod:`_endpoints`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re

from ansible_collections.connreset.doctor.plugins.module_utils import _oom
from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, permission_hint, summarize,
)
from ansible_collections.connreset.doctor.plugins.module_utils._endpoints import MAX_ENDPOINTS, unit_name
from ansible_collections.connreset.doctor.plugins.module_utils._logs import LogScan
from ansible_collections.connreset.doctor.plugins.module_utils._service import (
    SYSTEMD_KEYWORDS, Kind, count_unit_events, empty_service, int_or_none, no_manager_reason, parse_systemctl_show,
    systemd_running, systemd_service, unit_journal_matches,
)
from ansible_collections.connreset.doctor.plugins.module_utils._sshd import parse_ss_listen, pid_socket_inodes, read_proc_listeners
from ansible_collections.connreset.doctor.plugins.module_utils._tcp import parse_ss_listeners

MAX_PIDS = 4096                 # processes whose /proc/PID/fd is read for the /proc fallback
MAX_FDS = 65536                 # descriptors of one process read for socket inodes
PROGRAMS = {'nginx': 'nginx', 'haproxy': 'haproxy', 'gunicorn': 'gunicorn', 'redis-server': 'redis',
            'redis-check-rdb': 'redis', 'apache2': 'apache', 'httpd': 'apache', 'postgres': 'postgres',
            'postmaster': 'postgres', 'mysqld': 'mysql', 'mariadbd': 'mysql', 'uwsgi': 'uwsgi', 'uwsgi-core': 'uwsgi'}
# the option files mysqld reads without --defaults-file (mysys my_default.cc on Unix; ~/.my.cnf is a user's)
MYSQL_FILES = ('/etc/my.cnf', '/etc/mysql/my.cnf')
PG_MAX_DEPTH = 10   # guc-file.l CONF_FILE_MAX_DEPTH
# httpd's compiled-in ServerRoot and configuration file: Debian's apache2 (HTTPD_ROOT /etc/apache2,
# SERVER_CONFIG_FILE apache2.conf, apache2 -V), else the upstream layout (/etc/httpd/conf/httpd.conf on RHEL)
APACHE_LAYOUTS = (('/etc/apache2', 'apache2.conf'), ('/etc/httpd', 'conf/httpd.conf'))
MAX_INCLUDES = 256


# ---------------------------------------------------------------------------------------------
# pure parsers
# ---------------------------------------------------------------------------------------------
def parse_ss_sockets(text):
    """``ss -Hltnp`` → [{address, port, recv_q, backlog, pids, processes}] (one per line both parsers read)."""
    sockets = []
    for line in (text or '').splitlines()[:100000]:
        queues = parse_ss_listeners(line)
        users = parse_ss_listen(line)
        if not queues:
            continue
        entry = dict(queues[0])
        entry.pop('source', None)
        entry['pids'] = users[0]['pids'] if users else []
        entry['processes'] = users[0]['processes'] if users else []
        sockets.append(entry)
    return sockets


_LIMIT_LINE = re.compile(r'^Max open files\s+(?P<soft>\d{1,20}|unlimited)\s+(?P<hard>\d{1,20}|unlimited)\s+files\s*$')


def parse_limits(text):
    """``/proc/PID/limits`` → (soft, hard) of ``Max open files`` (None = unlimited), or None when absent."""
    for line in (text or '').splitlines()[:64]:
        match = _LIMIT_LINE.match(line)
        if match:
            return tuple(None if v == 'unlimited' else int(v) for v in (match.group('soft'), match.group('hard')))
    return None


def program_of(comm, exe, args):
    """The program whose configuration is read, from a process's comm, binary and command line."""
    for name in (os.path.basename(exe or ''), comm or ''):
        if name in PROGRAMS:
            return PROGRAMS[name]
    words = (args or '').split()
    if comm and comm.startswith('gunicorn') or any(os.path.basename(w) == 'gunicorn' for w in words[:3]):
        return 'gunicorn'
    return None


_ARGV = re.compile(r'argv\[\]=(?P<argv>[^;]{0,8192}) ;')


def parse_exec_start(value):
    """``systemctl show -p ExecStart`` value (``{ path=... ; argv[]=/usr/bin/x a b ; ... }``) → argv list."""
    match = _ARGV.search(value or '')
    return match.group('argv').split() if match else []


# Programs' own lines saying a descriptor or an address ran out (only these, anchored):
# nginx src/event/ngx_event_accept.c (release-1.22.1): ngx_log_error(NGX_LOG_CRIT, ..., "accept4() failed")
#   with errno 24/23 → "accept4() failed (24: Too many open files)" (src/core/ngx_log.c ngx_log_errno " (%d: %s)");
#   error-log prefix ngx_log_error_core: "YYYY/MM/DD HH:MM:SS [crit] PID#TID: [*CONN ]"
# nginx src/event/ngx_event_connect.c: "connect() to %V failed" + " (99: Cannot assign requested address)"
#   then the handler's " while connecting to upstream, client: ..." (text after the errno may carry a client's words)
# Only nginx's are read so far: HAProxy, gunicorn and Redis log through syslog, stderr or their own files with
# formats of their own, not parsed yet (their kinds are null with that reason, never 0).
_NGX_PREFIX = r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?:crit|alert|emerg|error)\] \d{1,10}#\d{1,20}: (?:\*\d{1,20} )?'
PROGRAM_EVENTS = {
    'nginx': (
        ('fd_exhaustion', re.compile(_NGX_PREFIX + r'accept4?\(\) failed \((?:24: Too many open files|23: Too many open '
                                     r'files in system)\)$')),
        ('addr_exhaustion', re.compile(_NGX_PREFIX + r'connect\(\) to [\w.:\[\]%-]{1,300} failed \(99: Cannot assign '
                                       r'requested address\)(?: while .*)?$')),
    ),
}
_NGX_TIME = re.compile(r'^(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) ')


def count_program_events(program, lines):
    """A program's own log lines → {fd_exhaustion, addr_exhaustion: {count, last, samples}} (unknown kinds: null)."""
    patterns = PROGRAM_EVENTS.get(program, ())
    kinds = {'fd_exhaustion': None, 'addr_exhaustion': None}
    counters = dict((name, Kind()) for name, _p in patterns)
    for line in lines:
        line = line.rstrip('\r')
        if len(line) > 4096:
            continue
        for name, pattern in patterns:
            if pattern.match(line):
                kind = counters[name]
                kind.count += 1
                kind.samples.append(line[:512])
                del kind.samples[:-5]
                match = _NGX_TIME.match(line)
                if match:
                    kind.last = '%s-%s-%sT%s:%s:%s' % match.groups()
                break
    for name, kind in counters.items():
        kinds[name] = {'count': kind.count, 'last': kind.last, 'samples': kind.samples}
    return kinds


# ---------------------------------------------------------------------------------------------
# reading the host
# ---------------------------------------------------------------------------------------------
class Host:
    """What every endpoint of one call shares: the listening sockets, read once."""

    def __init__(self, system):
        self.system = system
        self._sockets = None
        self._shared = None

    def shared_kernel(self):
        """True when the kernel log may hold other hosts' units of the same names (see
        :func:`_oom.kernel_paths_visible`), read once."""
        if self._shared is None:
            self._shared = not _oom.kernel_paths_visible(self.system.read_or_none('/proc/2/comm'),
                                                         self.system.read_or_none('/proc/2/cgroup'))
        return self._shared

    def sockets(self):
        """(sockets or None, source, status, reason)."""
        if self._sockets is None:
            self._sockets = self._read_sockets()
        return self._sockets

    def _read_sockets(self):
        system = self.system
        res = system.run(['ss', '-Hltnp'], timeout=10) if system.which('ss') else None
        blind = system.euid != 0
        if res is not None and res.rc == 0:
            sockets = parse_ss_sockets(res.out)
            if blind:
                return sockets, 'ss', PARTIAL, ('ss names only the processes of this user (needs root for the others): '
                                                'use become: true')
            return sockets, 'ss', OK, None
        sockets, unreadable = read_proc_listeners(system)
        why = res.describe() if res is not None else 'ss not found (install iproute2)'
        if not sockets and unreadable:
            return None, None, UNKNOWN, 'ss failed (%s) and %s cannot be read' % (why, ', '.join(unreadable))
        owners = self._inode_owners(set(s['inode'] for s in sockets))
        out = []
        for sock in sockets:
            pid = owners.get(sock['inode'])
            out.append({'address': sock['address'], 'port': sock['port'], 'recv_q': None, 'backlog': None,
                        'pids': [pid] if pid else [], 'processes': []})
        reason = 'ss failed (%s): sockets from /proc/net/tcp, accept queue and backlog unknown' % why
        if blind:
            reason += '; without root the owners of other users\' sockets are unknown: use become: true'
        return out, 'proc', PARTIAL, reason

    def _inode_owners(self, inodes):
        system = self.system
        owners = {}
        try:
            pids = [int(n) for n in system.listdir('/proc') if n.isdigit()][:MAX_PIDS]
        except (IOError, OSError):
            return owners
        for pid in pids:
            for inode in pid_socket_inodes(system, pid, MAX_FDS):
                if inode in inodes:
                    owners.setdefault(inode, pid)
        return owners


def read_process(system, pid):
    comm = (system.read_or_none('/proc/%d/comm' % pid) or '').strip() or None
    try:
        exe = system.readlink('/proc/%d/exe' % pid)
    except (IOError, OSError):
        exe = None
    args = [a for a in (system.read_or_none('/proc/%d/cmdline' % pid) or '').split('\0') if a]
    if len(args) == 1 and ' ' in args[0]:
        # a title the program wrote over its argv (nginx: "nginx: master process /usr/sbin/nginx -c FILE")
        args = re.sub(r'^[\w.-]{1,64}: (?:master process |worker process)?', '', args[0]).split()
    cgroup = _oom.parse_proc_cgroup(system.read_or_none('/proc/%d/cgroup' % pid))
    stat = system.read_or_none('/proc/%d/stat' % pid) or ''
    tail = stat[stat.rfind(')') + 2:].split()
    ppid = int_or_none(tail[1]) if len(tail) > 1 else None
    unit = _oom.unit_of_cgroup(cgroup)
    return {'pid': pid, 'ppid': ppid, 'comm': comm, 'exe': exe, 'argv': [a for a in args if a][:200],
            'cgroup': cgroup, 'unit': unit if unit and unit.endswith('.service') else None}


def pick_owner(processes, main_pid=None):
    """The unit's main process when it holds the socket, else the parent-most holder (lowest PID)."""
    if not processes:
        return None
    by_pid = dict((p['pid'], p) for p in processes)
    if main_pid in by_pid:
        return by_pid[main_pid]
    roots = [p for p in processes if p['ppid'] not in by_pid]
    return sorted(roots or processes, key=lambda p: p['pid'])[0]


def read_fds(system, pid):
    fact = {'status': UNKNOWN, 'reason': None, 'pid': pid, 'open': None, 'soft_limit': None, 'hard_limit': None,
            'fill': None}
    if pid is None:
        fact['reason'] = 'no process owns the socket (or it could not be seen)'
        return fact
    try:
        fact['open'] = len(system.listdir('/proc/%d/fd' % pid))
    except (IOError, OSError) as exc:
        fact['reason'] = permission_hint('/proc/%d/fd' % pid, exc)
        return fact
    limits = parse_limits(system.read_or_none('/proc/%d/limits' % pid))
    if limits is None:
        fact['reason'] = 'cannot read Max open files from /proc/%d/limits' % pid
        return fact
    fact['soft_limit'], fact['hard_limit'] = limits
    fact['fill'] = round(fact['open'] / float(limits[0]), 4) if limits[0] else None
    fact.update(status=OK)
    return fact


def unit_exec_start(system, unit):
    """argv of the unit's ExecStart (what started the program: gunicorn's flags, Redis's configuration file)."""
    if not unit or not systemd_running(system) or not system.which('systemctl'):
        return []
    res = system.run(['systemctl', 'show', unit, '-p', 'ExecStart'], timeout=10, cache=True)
    return parse_exec_start(parse_systemctl_show(res.out).get('ExecStart')) if res.rc == 0 else []


def read_timeouts(system, program, process, port, unit):
    """The ``timeouts`` part."""
    # imported here, not at the top: a call with no endpoint of these programs does not compile them
    from ansible_collections.connreset.doctor.plugins.module_utils import _svcconf, _uwsgi
    fact = {'status': UNKNOWN, 'reason': None, 'program': program, 'source': None, 'values': [], 'idle_close': None}
    if process is None:
        fact['reason'] = 'no process owns the socket (or it could not be seen: use become: true)'
        return fact
    if program is None:
        fact['reason'] = ('%s is not a program whose configuration is read (nginx, haproxy, gunicorn, redis, Apache '
                          'httpd, PostgreSQL, MySQL/MariaDB, uWSGI): its idle timeout is unknown' % (process.get('comm') or 'the process'))
        return fact
    argv = process['argv']
    if program == 'nginx':
        binary = process['exe'] if process['exe'] and os.path.isabs(process['exe']) else 'nginx'
        cmd = [binary, '-T']
        # -c and -p as the master was started with; not -g, whose value the title splits into words
        for flag in ('-c', '-p'):
            if flag in argv[:-1]:
                cmd += [flag, argv[argv.index(flag) + 1]]
        res = system.run(cmd, timeout=15)
        fact['source'] = ' '.join(['nginx'] + cmd[1:])
        if res.rc != 0:
            fact['reason'] = '%s: %s%s' % (fact['source'], res.describe(),
                                           '; run with become: true' if system.euid != 0 else '')
            return fact
        values, idle, problems = _svcconf.nginx_timeouts(res.out, port)
    elif program == 'haproxy':
        paths = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == '-f'] or ['/etc/haproxy/haproxy.cfg']
        values, idle, problems = [], None, 0
        texts = []
        for path in paths[:16]:
            files = [path]
            if system.isdir(path):
                try:
                    files = [os.path.join(path, n) for n in system.listdir(path) if n.endswith('.cfg')]
                except (IOError, OSError) as exc:
                    fact['reason'] = permission_hint(path, exc)
                    return fact
            for name in files[:MAX_ENDPOINTS]:
                try:
                    texts.append((name, system.read(name, max_bytes=4 * 1024 * 1024)))
                except (IOError, OSError) as exc:
                    fact['reason'] = permission_hint(name, exc)
                    return fact
        # HAProxy reads its files as one configuration, in order
        for name, text in texts:
            part, part_idle, part_problems = _svcconf.haproxy_timeouts(text, port, name)
            values.extend(part)
            idle = idle or part_idle
            problems += part_problems
        fact['source'] = ', '.join(n for n, _t in texts)
    elif program == 'gunicorn':
        cli = _svcconf.gunicorn_cli(argv)
        config = cli['config']
        text = None
        if config is None:
            cwd_conf = '/proc/%d/cwd/gunicorn.conf.py' % process['pid']
            if system.exists(cwd_conf):
                config = cwd_conf
        if config is not None:
            if not os.path.isabs(config):
                try:
                    config = os.path.join(system.readlink('/proc/%d/cwd' % process['pid']), config)
                except (IOError, OSError):
                    config = '/proc/%d/cwd/%s' % (process['pid'], config)
            try:
                text = system.read(config, max_bytes=1024 * 1024)
            except (IOError, OSError) as exc:
                fact['reason'] = permission_hint(config, exc)
                return fact
        values, idle, problems = _svcconf.gunicorn_timeouts(argv, text, config, '/proc/%d/cmdline' % process['pid'])
        fact['source'] = 'command line' + (' and %s' % config if config else '')
    elif program == 'redis':
        # Redis writes its title over its argv ("redis-server 127.0.0.1:6379", proc-title-template): the
        # configuration file it was started with is known from the unit's ExecStart only
        exec_argv = unit_exec_start(system, unit)
        if not exec_argv:
            fact['reason'] = ('redis-server replaces its command line with its title, so its configuration file is known '
                              'only from its systemd unit\'s ExecStart, and none was read%s'
                              % ('' if unit else ': give endpoints[].unit'))
            return fact
        path, overrides = _svcconf.redis_argv_overrides(exec_argv)
        directives = []
        problems = 0
        if path is not None:
            try:
                text = system.read(path, max_bytes=4 * 1024 * 1024)
            except (IOError, OSError) as exc:
                fact['reason'] = permission_hint(path, exc)
                return fact
            directives, problems = _svcconf.redis_directives(text, path)
            for include in [d for d in directives if d['name'] == 'include'][:16]:
                inc_text = system.read_or_none(include['args'][0]) if include['args'] else None
                if inc_text is None:
                    problems += 1
                    continue
                more, more_problems = _svcconf.redis_directives(inc_text, include['args'][0])
                directives.extend(more)
                problems += more_problems
        values, idle, more = _svcconf.redis_timeouts(directives, overrides)
        problems += more
        fact['source'] = path or 'defaults (no configuration file)'
    elif program == 'postgres':
        data_dir, config, overrides = _svcconf.postgres_argv(argv)
        config = config or (os.path.join(data_dir, 'postgresql.conf') if data_dir else None)
        if config is None:
            fact['reason'] = 'postgres runs without -D or config_file on its command line: its configuration file is not known'
            return fact
        directives, problems, error = follow_config(system, config, _svcconf.postgres_directives, _postgres_includes)
        if error:
            fact['reason'] = error
            return fact
        data_dir = data_dir or next((d['value'] for d in reversed(directives) if d['name'] == 'data_directory'), None)
        sources = [config]
        if data_dir:
            auto = os.path.join(data_dir, 'postgresql.auto.conf')
            more, more_problems = _svcconf.postgres_directives(system.read_or_none(auto), auto)
            directives, problems = directives + more, problems + more_problems
            sources.append(auto)
        values, idle, more = _svcconf.postgres_timeouts(directives + overrides)
        problems += more
        fact['source'] = ', '.join(sources) + (' and the command line' if overrides else '')
    elif program == 'mysql':
        defaults, overrides = _svcconf.mysql_argv(argv)
        options, problems, sources = [], 0, []
        for path in [defaults] if defaults else [f for f in MYSQL_FILES if system.exists(f)]:
            more, more_problems, error = follow_config(system, path, _svcconf.mysql_options, _mysql_includes)
            if error:
                fact['reason'] = error
                return fact
            options, problems = options + more, problems + more_problems
            sources.append(path)
        values, idle, more = _svcconf.mysql_timeouts(options + overrides)
        problems += more
        fact['source'] = ', '.join(sources) or 'defaults (no option file)'
    elif program == 'uwsgi':
        texts, unread = uwsgi_files(system, argv, process['pid'])
        if unread:
            fact['reason'] = unread
            return fact
        values, idle, problems = _uwsgi.uwsgi_timeouts(argv, texts, None, '/proc/%d/cmdline' % process['pid'])
        fact['source'] = 'command line' + (' and %s' % ', '.join(texts) if texts else '')
        if idle is None and not problems:
            # --http-socket closes each connection after its response: no idle connection is kept to close
            fact.update(values=values, idle_close=None, status=OK, reason=None)
            return fact
    elif program == 'apache':
        directives, problems, source = apache_config(system, argv)
        if directives is None:
            fact['reason'] = source
            return fact
        values, idle, more = _svcconf.apache_timeouts(directives, port)
        problems += more
        fact['source'] = source
    else:
        fact['reason'] = 'no reader for %s' % program
        return fact
    fact.update(values=values, idle_close=idle, status=OK if not problems else PARTIAL,
                reason=None if not problems else '%d line(s) or value(s) not understood, skipped' % problems)
    if idle is None and fact['status'] == OK:
        fact.update(status=PARTIAL, reason='no %s block serves port %d, so its idle close is unknown' % (program, port))
    return fact


def _postgres_includes(system, entry, base_dir):
    """The files a postgresql.conf entry pulls in, (paths, required), or None when it is a setting."""
    name, value = entry['name'], entry['value']
    if name not in ('include', 'include_if_exists', 'include_dir'):
        return None
    path = value if os.path.isabs(value) else os.path.join(base_dir, value)
    if name != 'include_dir':
        return [path], name == 'include'
    try:
        names = sorted(n for n in system.listdir(path) if n.endswith('.conf') and not n.startswith('.'))
    except (IOError, OSError):
        return [], False
    return [os.path.join(path, n) for n in names[:MAX_INCLUDES]], True


def _mysql_includes(system, entry, base_dir):
    """The files a ``!include``/``!includedir`` line pulls in, (paths, required), or None for an option."""
    if entry['name'] == '!include':
        return [entry['value']], True
    if entry['name'] != '!includedir':
        return None
    try:
        names = sorted(n for n in system.listdir(entry['value']) if n.endswith('.cnf'))
    except (IOError, OSError):
        return [], False
    return [os.path.join(entry['value'], n) for n in names[:MAX_INCLUDES]], True


def follow_config(system, path, parse, includes):
    """A configuration file with its includes expanded in place, in order (PostgreSQL or MySQL option files:
    ``parse`` reads one file's text, ``includes`` says what an entry pulls in): (entries, problems, None) or (None, 0, reason) when the main file
    cannot be read. Bounded: PG_MAX_DEPTH levels, MAX_INCLUDES files; an unreadable include is a problem."""
    try:
        text = system.read(path, max_bytes=4 * 1024 * 1024)
    except (IOError, OSError) as exc:
        return None, 0, permission_hint(path, exc)
    budget = [MAX_INCLUDES]

    def expand(text, path, depth):
        entries, problems = parse(text, path)
        out = []
        for entry in entries:
            pulled = includes(system, entry, os.path.dirname(path))
            if pulled is None:
                out.append(entry)
                continue
            paths, required = pulled
            for inc in paths:
                budget[0] -= 1
                inc_text = system.read_or_none(inc) if budget[0] >= 0 and depth < PG_MAX_DEPTH else None
                if inc_text is None:
                    problems += 1 if required or budget[0] < 0 else 0
                    continue
                more, more_problems = expand(inc_text, inc, depth + 1)
                out.extend(more)
                problems += more_problems
        return out, problems

    entries, problems = expand(text, path, 0)
    return entries, problems, None


def uwsgi_files(system, argv, pid):
    """The INI files a uWSGI process was started with, and those they include (``ini =``), as {path: text}
    (paths as uWSGI names them, relative ones read from the process's cwd); (texts, None) or (None, reason)."""
    from ansible_collections.connreset.doctor.plugins.module_utils import _uwsgi
    texts = {}
    pending = list(_uwsgi.uwsgi_cli(argv)['ini_files'])
    while pending and len(texts) < MAX_INCLUDES:
        name = pending.pop(0)
        path = _uwsgi.split_section(name)[0]     # FILE:section, as uWSGI itself splits it
        if name in texts or path in texts:
            continue
        real = path if os.path.isabs(path) else '/proc/%d/cwd/%s' % (pid, path)
        try:
            texts[path] = system.read(real, max_bytes=1024 * 1024)
        except (IOError, OSError) as exc:
            return None, permission_hint(real, exc)
        options, _problems = _uwsgi.uwsgi_ini(texts[path], path)
        pending.extend(o['value'] for o in options if o['name'] in ('ini', 'include') and o['value'])
    return texts, None


def apache_config(system, argv):
    """(directives with Include/IncludeOptional expanded in order, problems, main file) or (None, 0, reason)."""
    from ansible_collections.connreset.doctor.plugins.module_utils import _svcconf
    root, main = next(((r, m) for r, m in APACHE_LAYOUTS if system.exists(os.path.join(r, m))), APACHE_LAYOUTS[0])
    if '-d' in argv[:-1]:
        root = argv[argv.index('-d') + 1]
    if '-f' in argv[:-1]:
        main = argv[argv.index('-f') + 1]
    main = main if os.path.isabs(main) else os.path.join(root, main)
    state = {'files': 0, 'problems': 0}

    def expand(pattern, optional):
        path = pattern if os.path.isabs(pattern) else os.path.join(root, pattern)
        if system.isdir(path):
            path = os.path.join(path, '*')
        directory, name = os.path.split(path)
        if not any(ch in name for ch in '*?['):
            return [path] if system.exists(path) or not optional else []
        try:
            return [os.path.join(directory, n) for n in system.listdir(directory) if fnmatch.fnmatch(n, name)]
        except (IOError, OSError):
            return []

    def read(path, depth):
        state['files'] += 1
        if depth > 8 or state['files'] > MAX_INCLUDES:
            state['problems'] += 1
            return []
        text = system.read(path, max_bytes=1024 * 1024)
        out = []
        for d in _svcconf.apache_directives(text, path):
            if d['name'] in ('include', 'includeoptional') and d['args']:
                for included in expand(d['args'][0], d['name'] == 'includeoptional'):
                    try:
                        out.extend(read(included, depth + 1))
                    except (IOError, OSError):
                        state['problems'] += 1
                continue
            out.append(d)
        return out

    try:
        directives = read(main, 0)
    except (IOError, OSError) as exc:
        return None, 0, permission_hint(main, exc)
    return directives, state['problems'], main


def nginx_error_logs(system, process):
    """nginx's error log files: the ``error_log`` directives of ``nginx -T`` (files only), else the default."""
    from ansible_collections.connreset.doctor.plugins.module_utils import _svcconf
    argv = process['argv']
    binary = process['exe'] if process['exe'] and os.path.isabs(process['exe']) else 'nginx'
    cmd = [binary, '-T'] + [x for flag in ('-c', '-p') if flag in argv[:-1] for x in (flag, argv[argv.index(flag) + 1])]
    res = system.run(cmd, timeout=15, cache=True)
    paths = []
    if res.rc == 0:
        directives, _p = _svcconf.parse_nginx_directives(res.out)
        paths = [d['args'][0] for d in directives if d['name'] == 'error_log' and d['args'] and
                 d['args'][0].startswith('/')]
    return paths or ['/var/log/nginx/error.log']


def program_events(system, program, process):
    """(kinds, status, reason) of the program's own exhaustion lines."""
    none = {'fd_exhaustion': None, 'addr_exhaustion': None}
    if program not in PROGRAM_EVENTS:
        return none, UNKNOWN, ("%s's own Too many open files / Cannot assign requested address lines are not read "
                               '(only nginx\'s error log is)' % (program or 'the program'))
    lines = []
    reasons = []
    read = 0
    for path in nginx_error_logs(system, process)[:8]:
        try:
            # the last 4 MiB of each error log: bounded, the newest lines
            lines.extend(system.read_tail(path, 4 * 1024 * 1024).decode('utf-8', 'replace').splitlines())
            read += 1
        except (IOError, OSError) as exc:
            reasons.append(permission_hint(path, exc))
    if not read:
        return none, UNKNOWN, '; '.join(reasons)
    kinds = count_program_events(program, lines)
    return kinds, (PARTIAL if reasons else OK), '; '.join(reasons) or None


def unit_events(system, unit, window):
    """The ``events`` crash and restart part of the unit, from PID 1's messages in the journal."""
    empty = {'crashes': {'count': None, 'last': None, 'samples': []}, 'restarts': {'count': None, 'last': None,
                                                                                   'samples': []}}
    if not unit:
        return empty, UNKNOWN, 'no unit known for this endpoint: give endpoints[].unit'
    if not system.which('journalctl'):
        return empty, UNKNOWN, 'journalctl not found (not a systemd host): crashes and restarts cannot be read'
    scan = LogScan(system, since=window.since, until=window.until, keywords=SYSTEMD_KEYWORDS)
    entries = [e for e in scan.journal(unit_journal_matches([unit]), name='journal') if e.time is not None]
    status, reason = scan.status()
    if status == UNKNOWN:
        return empty, status, reason
    return count_unit_events(entries, [unit], since=window.since, until=window.until), status, reason


def _oom_part(status, reason, kill_count=None, kills=None, unit_results=None, counter=None, elsewhere=None):
    return {'status': status, 'reason': reason, 'kill_count': kill_count, 'kills': kills, 'unit_results': unit_results,
            'cgroup_oom_kills': counter, 'kills_elsewhere': elsewhere}


def oom_of_unit(oom, unit, shared=False, counter=None):
    """The part of the OOM collector's fact about ``unit``.

    ``shared``: the kernel log may be another host's too (see :func:`_oom.kernel_paths_visible`), so a kill
    of a same-named unit may be a neighbour's; ``counter`` is the unit's own memory cgroup's ``oom_kill``
    counter (None: not readable). On a shared kernel the unit's kills count only when its own cgroup counted
    kills or its own systemd logged an OOM result; a counter of 0 gives them to another host (``kills_elsewhere``);
    no way to tell makes the part ``partial`` with the reason. Pure."""
    if oom is None or not unit:
        return _oom_part(UNKNOWN, 'no unit known for this endpoint' if oom is not None else 'the OOM collector did not run')
    if oom.get('kills') is None:
        return _oom_part(UNKNOWN, oom.get('reason'))
    kills = [k for k in oom['kills'] if k.get('unit') == unit]
    count = max((oom.get('kills_by_unit') or {}).get(unit, len(kills)), len(kills))
    results = len([r for r in (oom.get('unit_results') or []) if r.get('unit') == unit])
    status, reason = oom['log']['status'], oom['log']['reason']
    pathed = [k for k in kills if k.get('cgroup')]
    if not shared or not pathed or results or counter:
        if shared and counter and not results:
            count = min(count, counter)     # the cgroup's own count bounds what is this host's
            kills = kills[-count:]
        return _oom_part(status, reason, count, kills, results, counter, 0)
    # a kernel log shared with other hosts, kills of a unit of this name, and nothing of this host's own says so
    if counter == 0:
        return _oom_part(status, reason, 0, [], results, counter, count)
    return _oom_part(PARTIAL, 'the kernel log is shared with other hosts (a container or namespace host) and holds %d '
                     'OOM kill(s) of a %s (%s); its own memory cgroup (its oom_kill counter) cannot be read to tell '
                     'whether they were this host\'s: not counted' % (count, unit, pathed[-1]['cgroup']),
                     0, [], results, counter, count)


def unit_oom_counter(system, cgroup):
    """The ``oom_kill`` counter of memory cgroup ``cgroup`` (a path as /proc/PID/cgroup gives it), v1 or v2, or
    None when no such file can be read."""
    if not cgroup or '..' in cgroup.split('/'):
        return None
    for path in ('/sys/fs/cgroup/memory%s/memory.oom_control', '/sys/fs/cgroup%s/memory.events',
                 '/sys/fs/cgroup/unified%s/memory.events'):
        value = _oom.parse_oom_kill_counter(system.read_or_none(path % cgroup.rstrip('/')))
        if value is not None:
            return value
    return None


def collect_endpoint(system, host, spec, window, oom):
    port = spec['port']
    parts = {}
    sockets, source, sock_status, sock_reason = host.sockets()
    mine = None if sockets is None else [s for s in sockets if s['port'] == port]
    parts['listening'] = (sock_status, sock_reason)
    pids = sorted(set(p for s in mine or [] for p in s['pids']))
    processes = [read_process(system, pid) for pid in pids[:64]]
    processes = [p for p in processes if p['comm'] is not None]
    given = unit_name(spec['unit']) if spec.get('unit') else None
    owner_guess = pick_owner(processes)
    unit = given or (owner_guess or {}).get('unit')
    unit_source = 'given' if given else ('socket' if unit else None)

    if systemd_running(system):
        if unit:
            service = systemd_service(system, [unit], '%s is not loaded: check the unit name (systemctl status %s)'
                                      % (unit, unit))
        else:
            service = empty_service('systemd', UNKNOWN, 'no unit known: nothing owns port %d that this user can see, '
                                    'and endpoints[].unit is not given' % port)
    else:
        service = empty_service('none', UNKNOWN, no_manager_reason(system, 'the service on port %d' % port), unit=unit)
    parts['service'] = (service['status'], service['reason'])
    owner = pick_owner(processes, service.get('main_pid'))
    program = program_of(owner['comm'], owner['exe'], ' '.join(owner['argv'])) if owner else None

    events = {'window': window.as_fact()}
    kinds, ev_status, ev_reason = (unit_events(system, unit, window) if service['manager'] == 'systemd' else
                                   (None, UNKNOWN, 'no systemd: crashes and restarts cannot be read (see service)'))
    events.update(kinds or {'crashes': {'count': None, 'last': None, 'samples': []},
                            'restarts': {'count': None, 'last': None, 'samples': []}})
    prog_kinds, prog_status, prog_reason = program_events(system, program, owner) if owner else (
        {'fd_exhaustion': None, 'addr_exhaustion': None}, UNKNOWN, 'no process owns the socket')
    events.update(prog_kinds)
    events['status'], events['reason'] = summarize({'unit': (ev_status, ev_reason), 'program': (prog_status, prog_reason)})
    parts['events'] = (events['status'], events['reason'])

    own_cgroup = owner['cgroup'] if owner and owner.get('unit') == unit else None
    oom_part = oom_of_unit(oom, unit, shared=host.shared_kernel(), counter=unit_oom_counter(system, own_cgroup))
    parts['oom'] = (oom_part['status'], oom_part['reason'])
    fds = read_fds(system, owner['pid'] if owner else None)
    parts['fds'] = (fds['status'], fds['reason'])
    timeouts = read_timeouts(system, program, owner, port, unit)
    parts['timeouts'] = (timeouts['status'], timeouts['reason'])
    status, reason = summarize(parts)
    front = spec.get('front')
    return {
        'name': spec.get('name') or '%s:%d' % ((unit or '').replace('.service', '') or program or 'tcp', port),
        'port': port,
        'protocol': spec.get('protocol') or 'tcp',
        'front': {'kind': front.get('kind'), 'idle_timeout_s': front.get('idle_timeout_s')} if front else None,
        'unit': unit,
        'unit_source': unit_source,
        'program': program or (owner['comm'] if owner else None),
        'status': status,
        'reason': reason,
        'listening': mine,
        'listen_source': source,
        'process': dict((k, owner[k]) for k in ('pid', 'comm', 'exe', 'cgroup', 'unit')) if owner else None,
        'service': service,
        'events': events,
        'oom': oom_part,
        'fds': fds,
        'timeouts': timeouts,
    }


__all__ = ['parse_ss_sockets', 'parse_limits', 'program_of', 'parse_exec_start', 'count_program_events', 'pick_owner',
           'oom_of_unit', 'Host', 'collect_endpoint']
