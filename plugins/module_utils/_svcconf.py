# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Idle and keep-alive close timeouts from server programs' configurations: pure parsers.  Private.

Each parser takes text (and where needed the port of the endpoint) and returns
``(values, idle_close, problems)``: ``values`` is a list of ``{key, value_s, file, line, default, context}``
(``value_s`` None means no timeout at all), ``idle_close`` the entry that closes an idle client connection of
the port (or None), ``problems`` lines skipped or not understood (counted, never raised).

Grammars and defaults, from the programs' sources at the tags named:

* nginx (release-1.22.1, Debian 12's 1.22.1; unchanged in release-1.26.3): ``nginx -T`` prints
  ``# configuration file PATH:`` then that file's text (src/core/ngx_conf_file.c ngx_conf_dump, ``-T``
  in src/core/nginx.c); directives are ``name args... ;`` and blocks ``name args { ... }``, ``#`` comments,
  quotes ' and ".  Time values (src/core/ngx_parse.c ngx_parse_time): ``ms s m h d w M y`` units,
  combinable (``1m30s``), no unit = seconds.  Defaults: ``keepalive_timeout`` 75 s
  (src/http/ngx_http_core_module.c: ``ngx_conf_merge_msec_value(conf->keepalive_timeout, ..., 75000)``),
  ``proxy_read_timeout`` 60 s (src/http/modules/ngx_http_proxy_module.c: ``upstream.read_timeout, ..., 60000``),
  upstream ``keepalive_timeout`` 60 s (src/http/modules/ngx_http_upstream_keepalive_module.c:
  ``ngx_conf_init_msec_value(kcf->timeout, 60000)``, since 1.15.3); upstream ``keepalive N`` has no default
  (no connection cache without it).
* HAProxy (v2.6.0; Debian 12 ships 2.6.12): sections ``global``, ``defaults [name]``, ``frontend``,
  ``backend``, ``listen``; ``timeout client|server|http-keep-alive|http-request <time>``; times
  (src/tools.c parse_time_err) ``us ms s m h d``, no unit = milliseconds.  No timeout has a default: a
  proxy without ``timeout client`` never closes an idle client (src/cfgparse.c warns ``missing timeouts for
  %s '%s'``).  ``timeout http-keep-alive`` unset → ``timeout http-request``, then ``timeout client``
  (doc/configuration.txt, ``timeout http-keep-alive``).
* gunicorn (20.1.0, Debian 12's; the same in 23.0.0): ``--keep-alive INT`` (gunicorn/config.py class
  Keepalive: ``cli = ["--keep-alive"]``, ``default = 2``), ``keepalive = N`` in the Python configuration
  file (``-c``/``--config``); the command line wins over the file (gunicorn/app/base.py load_config).
* Apache httpd (2.4.62; Debian 12 ships 2.4.x): ``Directive args`` lines (names case-insensitive), backslash
  continuations, ``#`` comments, ``<VirtualHost addr:port>`` blocks, ``Include``/``IncludeOptional`` globs
  relative to ServerRoot.  modules/http/http_core.c: ``KeepAliveTimeout`` parsed by server/util.c
  ap_timeout_parameter_parse (default unit ``s``; ``ms``, ``mi``, ``h``), ``KeepAlive`` a flag; include/httpd.h
  ``DEFAULT_KEEPALIVE_TIMEOUT 5``; a virtual host without its own value inherits the main server's.
* Redis (7.0.15, Debian 12's): ``directive args`` lines, ``#`` comments, the last occurrence wins,
  ``include PATH``; ``--name value`` arguments after the file override it.  src/config.c:
  ``createIntConfig("timeout", ..., server.maxidletime, 0, ...)`` (0 = never close an idle client) and
  ``createIntConfig("tcp-keepalive", ..., server.tcpkeepalive, 300, ...)``.
* PostgreSQL (REL_15_STABLE, Debian 12's 15; REL_16+ moved the tables to guc_tables.c): the configuration
  file grammar of src/backend/utils/misc/guc-file.l: ``name [=] value`` per line, ``#`` comments, values bare
  or in single quotes (``''`` and backslash escapes), ``include``/``include_if_exists`` (relative to the
  including file) and ``include_dir`` (its ``*.conf`` files in name order); the last setting wins, and
  ``postgresql.auto.conf`` in the data directory (ALTER SYSTEM) is read last; ``-c name=value`` on the
  command line wins over both.  Time values (guc.c convert_to_base_unit, time units ``us ms s min h d``; no
  unit = the setting's own unit).  guc.c ConfigureNamesInt: ``idle_session_timeout`` (14+) and
  ``idle_in_transaction_session_timeout`` GUC_UNIT_MS, 0 = off (the server closes an idle session after
  it: ``terminating connection due to idle-session timeout``); ``tcp_keepalives_idle`` and
  ``tcp_keepalives_interval`` GUC_UNIT_S, ``tcp_user_timeout`` GUC_UNIT_MS, 0 = the kernel's default.
* MySQL (8.0) and MariaDB (10.11, Debian 12's): option files of mysys/my_default.cc (MariaDB
  mysys/my_default.c): ``[group]`` headers, ``name[=value]`` lines, ``#`` and ``;`` comment lines, an end
  comment from ``#`` outside quotes (``;`` mid-line is part of the value: my_print_defaults 10.11 prints
  ``a = 5 ;c`` as ``--a=5 ;c``), ``-`` and ``_`` alike in names, ``!include FILE`` and ``!includedir DIR`` (its ``*.cnf`` files); the server reads the
  groups ``mysqld``, ``server`` (and MariaDB's ``mariadb``, ``mariadbd``); a later value wins and
  ``--wait-timeout=N`` on the command line wins over the files.  sql/sys_vars.cc ``wait_timeout`` and
  ``interactive_timeout`` in seconds, default ``NET_WAIT_TIMEOUT`` (include/mysql_com.h: 8*60*60 = 28800):
  the server closes a non-interactive connection idle that long.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MAX_TOKENS = 200000
MAX_FILES = 256
MAX_VALUES = 100

NGINX_DEFAULTS = {'keepalive_timeout': 75.0, 'proxy_read_timeout': 60.0, 'upstream keepalive_timeout': 60.0}
HAPROXY_SECTIONS = ('global', 'defaults', 'frontend', 'backend', 'listen', 'peers', 'resolvers', 'userlist',
                    'mailers', 'program', 'http-errors', 'ring', 'cache')
GUNICORN_DEFAULT_KEEPALIVE = 2.0
REDIS_DEFAULTS = {'timeout': 0, 'tcp-keepalive': 300}
# name -> (unit in seconds when no unit is given, default)
POSTGRES_SETTINGS = (('idle_session_timeout', 0.001, 0), ('idle_in_transaction_session_timeout', 0.001, 0),
                     ('tcp_keepalives_idle', 1.0, 0), ('tcp_keepalives_interval', 1.0, 0), ('tcp_user_timeout', 0.001, 0))
MYSQL_DEFAULTS = (('wait_timeout', 28800), ('interactive_timeout', 28800))
MYSQL_GROUPS = ('mysqld', 'server', 'mariadb', 'mariadbd')


def _entry(key, value_s, file=None, line=None, default=False, context=None, **extra):
    entry = {'key': key, 'value_s': value_s, 'file': file, 'line': line, 'default': default, 'context': context}
    entry.update(extra)
    return entry


# ---------------------------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------------------------
_NGX_UNITS = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800, 'M': 2592000, 'y': 31536000}
_NGX_TIME = re.compile(r'(\d{1,9})(ms|s|m|h|d|w|M|y)?')


def parse_nginx_time(text):
    """``75s``, ``1m30s``, ``500ms``, ``60`` → seconds (float), or None (ngx_parse_time)."""
    text = str(text or '')
    if not text or len(text) > 40:
        return None
    total = 0.0
    pos = 0
    for match in _NGX_TIME.finditer(text):
        if match.start() != pos:
            return None
        total += int(match.group(1)) * _NGX_UNITS[match.group(2) or 's']
        pos = match.end()
    return round(total, 3) if pos == len(text) else None


_NGX_FILE = re.compile(r'^# configuration file (?P<path>.{1,4096}):$')


def split_nginx_dump(text):
    """``nginx -T`` output → [(path, [lines])] in the order printed."""
    files = []
    current = None
    for line in (text or '').splitlines():
        match = _NGX_FILE.match(line)
        if match and len(files) < MAX_FILES:
            current = (match.group('path'), [])
            files.append(current)
            continue
        if current is not None:
            current[1].append(line)
    return files


def _nginx_tokens(path, lines):
    """Tokens of one file: (word, line) and ('{', line), ('}', line), (';', line)."""
    for number, raw in enumerate(lines, 1):
        i, n = 0, len(raw)
        while i < n:
            ch = raw[i]
            if ch.isspace():
                i += 1
            elif ch == '#':
                break
            elif ch in '{};':
                yield ch, number
                i += 1
            elif ch in '"\'':
                end = raw.find(ch, i + 1)
                end = n if end < 0 else end
                yield raw[i + 1:end], number
                i = end + 1
            else:
                j = i
                while j < n and not raw[j].isspace() and raw[j] not in '{};#"\'':
                    j += 1
                yield raw[i:j], number
                i = j


def parse_nginx_directives(text):
    """``nginx -T`` output → ([{name, args, file, line, context: [(block, args)...]}], problems).

    Included files are printed whole, apart, so only the main file's nesting is followed; an included
    file's directives get the context of the ``include`` line that names them when that can be told
    (the path or glob matched), else no context.
    """
    directives = []
    problems = 0
    files = split_nginx_dump(text)
    include_ctx = {}
    count = 0
    blocks = 0
    for path, lines in files:
        stack = list(include_ctx.get(path, []))
        words = []
        start = None
        for token, number in _nginx_tokens(path, lines):
            count += 1
            if count > MAX_TOKENS:
                return directives, problems + 1
            if token == '{':
                if words:
                    blocks += 1
                    stack.append((words[0], words[1:], blocks))
                words, start = [], None
            elif token == '}':
                if stack:
                    stack.pop()
                else:
                    problems += 1
                words, start = [], None
            elif token == ';':
                if words:
                    context = [(name, args) for name, args, _n in stack]
                    directives.append({'name': words[0], 'args': words[1:], 'file': path, 'line': start,
                                       'context': context, 'blocks': tuple(n for _a, _b, n in stack)})
                    if words[0] == 'include':
                        for pattern in words[1:]:
                            for other, _l in files:
                                if _glob_match(pattern, other, path):
                                    include_ctx.setdefault(other, list(stack))
                words, start = [], None
            else:
                if start is None:
                    start = number
                words.append(token)
    return directives, problems


def _glob_match(pattern, path, main):
    if not pattern.startswith('/'):
        pattern = main.rsplit('/', 1)[0] + '/' + pattern
    regex = '^' + re.escape(pattern).replace(r'\*', '[^/]*').replace(r'\?', '[^/]') + '$'
    return bool(re.match(regex, path))


def _listen_port(args):
    """Port of an nginx ``listen`` directive (``80``, ``[::]:443 ssl``, ``127.0.0.1:8080``, ``unix:...``)."""
    if not args:
        return None
    first = args[0]
    if first.startswith('unix:'):
        return None
    tail = first.rsplit(':', 1)[-1] if (':' in first and not first.endswith(']')) else first
    return int(tail) if re.match(r'^\d{1,5}$', tail) else (80 if not re.match(r'^\d', first) or '.' in first else None)


def _ctx_name(context):
    """``[('upstream', ['app'])]`` → ``upstream app`` (the innermost block), None for no block."""
    if not context:
        return None
    name, args = context[-1][0], context[-1][1]
    return ' '.join([name] + list(args))


def nginx_timeouts(text, port):
    """``nginx -T`` output and a port → (values, idle_close, problems)."""
    directives, problems = parse_nginx_directives(text)
    values = []
    servers = {}
    for d in directives:
        ctx = d['context']
        names = [c[0] for c in ctx]
        if d['name'] == 'listen' and names and names[-1] == 'server' and 'http' in names:
            servers.setdefault(d['blocks'], []).append(_listen_port(d['args']))
    mine = [key for key, ports in servers.items() if port in ports]
    http_keepalive = None
    server_keepalive = {}
    for d in directives:
        ctx = d['context']
        names = [c[0] for c in ctx]
        where = ' > '.join(_ctx_name([c]) for c in ctx) or 'main'
        if d['name'] == 'keepalive_timeout' and d['args'] and 'upstream' not in names:
            seconds = parse_nginx_time(d['args'][0])
            if seconds is None:
                problems += 1
                continue
            entry = _entry('keepalive_timeout', seconds, d['file'], d['line'], False, where)
            values.append(entry)
            if names == ['http']:
                http_keepalive = entry
            elif names and names[-1] == 'server' and 'http' in names:
                server_keepalive[d['blocks']] = entry
        elif d['name'] == 'keepalive_timeout' and d['args'] and names[-1:] == ['upstream']:
            seconds = parse_nginx_time(d['args'][0])
            if seconds is None:
                problems += 1
                continue
            values.append(_entry('upstream keepalive_timeout', seconds, d['file'], d['line'], False, where))
        elif d['name'] == 'keepalive' and names[-1:] == ['upstream'] and d['args']:
            if not re.match(r'^\d{1,9}$', d['args'][0]):
                problems += 1
                continue
            values.append(_entry('upstream keepalive', None, d['file'], d['line'], False, where,
                                 connections=int(d['args'][0])))
        elif d['name'] == 'proxy_read_timeout' and d['args']:
            seconds = parse_nginx_time(d['args'][0])
            if seconds is None:
                problems += 1
                continue
            values.append(_entry('proxy_read_timeout', seconds, d['file'], d['line'], False, where))
        if len(values) >= MAX_VALUES:
            break
    upstreams = set(_ctx_name(d['context'][-1:]) for d in directives if d['context'][-1:] and
                    d['context'][-1][0] == 'upstream')
    for name in sorted(upstreams):
        keys = [v['key'] for v in values if v['context'] and v['context'].endswith(name)]
        if 'upstream keepalive' in keys and 'upstream keepalive_timeout' not in keys:
            values.append(_entry('upstream keepalive_timeout', NGINX_DEFAULTS['upstream keepalive_timeout'],
                                 default=True, context='http > ' + name))
    if not any(v['key'] == 'proxy_read_timeout' for v in values):
        values.append(_entry('proxy_read_timeout', NGINX_DEFAULTS['proxy_read_timeout'], default=True, context='http'))
    idle = None
    for key in mine:
        idle = server_keepalive.get(key) or idle
    if idle is None and (mine or not servers):
        idle = http_keepalive
    if idle is None and mine:
        idle = _entry('keepalive_timeout', NGINX_DEFAULTS['keepalive_timeout'], default=True, context='http')
        values.append(idle)
    return values, idle, problems


# ---------------------------------------------------------------------------------------------
# HAProxy
# ---------------------------------------------------------------------------------------------
_HAP_UNITS = {'us': 0.000001, 'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, '': 0.001}
_HAP_TIME = re.compile(r'^(\d{1,12})(us|ms|s|m|h|d)?$')


def parse_haproxy_time(text):
    """``30s``, ``5m``, ``50000`` (ms) → seconds, or None (parse_time_err)."""
    match = _HAP_TIME.match(str(text or ''))
    if not match:
        return None
    return round(int(match.group(1)) * _HAP_UNITS[match.group(2) or ''], 6)


def _hap_bind_port(args):
    if not args:
        return []
    ports = []
    for part in args[0].split(','):
        tail = part.rsplit(':', 1)[-1]
        low, _sep, high = tail.partition('-')
        if re.match(r'^\d{1,5}$', low) and (not high or re.match(r'^\d{1,5}$', high)):
            ports.extend(range(int(low), int(high or low) + 1)[:1000])
    return ports


def parse_haproxy_sections(text, path=None):
    """HAProxy configuration text → ([{kind, name, line, file, lines: [(number, words)]}], problems)."""
    sections = []
    problems = 0
    for number, raw in enumerate((text or '').splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if len(sections) > MAX_FILES * 4:
            problems += 1
            break
        if words[0] in HAPROXY_SECTIONS and not raw[:1].isspace():
            sections.append({'kind': words[0], 'name': words[1] if len(words) > 1 else None, 'line': number,
                             'file': path, 'lines': [], 'from': _from(words)})
            continue
        if not sections:
            problems += 1
            continue
        if len(sections[-1]['lines']) < 10000:
            sections[-1]['lines'].append((number, words))
    return sections, problems


def _from(words):
    return words[words.index('from') + 1] if 'from' in words[:-1] else None


def haproxy_timeouts(text, port, path=None):
    """HAProxy configuration text and a port → (values, idle_close, problems)."""
    sections, problems = parse_haproxy_sections(text, path)
    values = []
    idle = None
    last_defaults = None
    named = {}
    for section in sections:
        own = {}
        mode = None
        ports = []
        for number, words in section['lines']:
            if words[0] == 'timeout' and len(words) >= 3:
                seconds = parse_haproxy_time(words[2])
                if seconds is None:
                    problems += 1
                    continue
                own[words[1]] = _entry('timeout %s' % words[1], seconds, section['file'], number, False,
                                       ('%s %s' % (section['kind'], section['name'] or '')).strip())
            elif words[0] == 'mode' and len(words) > 1:
                mode = words[1]
            elif words[0] == 'bind':
                ports.extend(_hap_bind_port(words[1:]))
        if section['kind'] == 'defaults':
            base = named.get(section['from'], last_defaults) if section['from'] else None
            merged = dict(base['timeouts']) if base else {}
            merged.update(own)
            record = {'timeouts': merged, 'mode': mode or (base or {}).get('mode')}
            last_defaults = record
            if section['name']:
                named[section['name']] = record
            values.extend(own.values())
            continue
        if section['kind'] not in ('frontend', 'listen', 'backend'):
            continue
        base = named.get(section['from']) if section['from'] else last_defaults
        effective = dict((base or {}).get('timeouts') or {})
        effective.update(own)
        values.extend(own.values())
        mode = mode or (base or {}).get('mode') or 'tcp'
        if port in ports and section['kind'] in ('frontend', 'listen') and idle is None:
            context = '%s %s' % (section['kind'], section['name'] or '')
            order = ['http-keep-alive', 'http-request', 'client'] if mode == 'http' else ['client']
            for key in order:
                if key in effective:
                    idle = effective[key]
                    break
            if 'client' not in effective:
                missing = _entry('timeout client', None, section['file'], section['line'], False, context.strip(),
                                 missing=True)
                values.append(missing)
                idle = idle or missing
    return values[:MAX_VALUES], idle, problems


# ---------------------------------------------------------------------------------------------
# gunicorn
# ---------------------------------------------------------------------------------------------
def gunicorn_cli(argv):
    """gunicorn's argv → {'keepalive': (value, index) or None, 'config': path or None, 'worker_class': str}."""
    found = {'keepalive': None, 'config': None, 'worker_class': None}
    argv = list(argv or [])[:1000]
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition('=')
        if name in ('--keep-alive', '-c', '--config', '-k', '--worker-class'):
            if not eq:
                value = argv[i + 1] if i + 1 < len(argv) else None
                i += 1
            key = {'--keep-alive': 'keepalive', '-c': 'config', '--config': 'config'}.get(name, 'worker_class')
            found[key] = value
        elif arg.startswith('-k') and len(arg) > 2:
            found['worker_class'] = arg[2:]
        elif arg.startswith('-c') and len(arg) > 2 and not arg.startswith('--'):
            found['config'] = arg[2:]
        i += 1
    return found


_PY_KEEPALIVE = re.compile(r'^keepalive\s*=\s*(?P<v>\d{1,9}(?:\.\d{1,6})?)\s*(?:#.*)?$')
_PY_WORKER = re.compile(r'^worker_class\s*=\s*[\'"](?P<v>[\w.:-]{1,200})[\'"]\s*(?:#.*)?$')


def gunicorn_config_file(text):
    """A gunicorn Python configuration file → {'keepalive': (seconds, line) or None, 'worker_class': ..., problems}.

    Only plain top-level assignments of a literal are read (``keepalive = 5``); a computed value
    (``keepalive = int(os.environ[...])``) is counted in ``problems`` and left unknown."""
    out = {'keepalive': None, 'worker_class': None, 'problems': 0}
    for number, raw in enumerate((text or '').splitlines()[:20000], 1):
        line = raw.strip()
        if not raw.startswith('keepalive') and not raw.startswith('worker_class'):
            continue
        match = _PY_KEEPALIVE.match(line)
        if match:
            out['keepalive'] = (float(match.group('v')), number)
            continue
        match = _PY_WORKER.match(line)
        if match:
            out['worker_class'] = (match.group('v'), number)
            continue
        if re.match(r'^(keepalive|worker_class)\s*=', line):
            out['problems'] += 1
    return out


def gunicorn_timeouts(argv, config_text=None, config_path=None, cmdline_source='/proc/PID/cmdline'):
    """(values, idle_close, problems) from gunicorn's argv and its configuration file's text."""
    cli = gunicorn_cli(argv)
    problems = 0
    entry = None
    worker = cli['worker_class']
    if config_text is not None:
        conf = gunicorn_config_file(config_text)
        problems += conf['problems']
        if conf['keepalive']:
            entry = _entry('keepalive', conf['keepalive'][0], config_path, conf['keepalive'][1], False, 'config file')
        if conf['worker_class'] and not worker:
            worker = conf['worker_class'][0]
    if cli['keepalive'] is not None:
        if re.match(r'^\d{1,9}$', str(cli['keepalive'])):
            entry = _entry('keepalive', float(cli['keepalive']), cmdline_source, None, False, 'command line')
        else:
            problems += 1
    if entry is None:
        entry = _entry('keepalive', GUNICORN_DEFAULT_KEEPALIVE, default=True, context='default')
    entry['worker_class'] = worker or 'sync'
    return [entry], entry, problems


# ---------------------------------------------------------------------------------------------
# Apache httpd
# ---------------------------------------------------------------------------------------------
APACHE_DEFAULT_KEEPALIVE_TIMEOUT = 5.0
_APACHE_TIME = re.compile(r'^(\d{1,12})(s|ms|mi|h)?$')
_APACHE_UNITS = {'s': 1, 'ms': 0.001, 'mi': 60, 'h': 3600}


def parse_apache_time(text):
    """``5``, ``500ms``, ``2mi``, ``1h`` → seconds, or None (ap_timeout_parameter_parse, default unit s)."""
    match = _APACHE_TIME.match(str(text or ''))
    if not match:
        return None
    return round(int(match.group(1)) * _APACHE_UNITS[match.group(2) or 's'], 3)


def apache_directives(text, path=None):
    """One httpd configuration file → [{name (lower case), args, file, line, vhost (its address args or None)}]."""
    out = []
    vhost = None
    pending, start = '', None
    for number, raw in enumerate((text or '').splitlines()[:50000], 1):
        line = raw.strip()
        if pending:
            line = pending + ' ' + line
        else:
            start = number
        if line.endswith('\\'):
            pending = line[:-1].strip()
            continue
        pending = ''
        if not line or line.startswith('#'):
            continue
        lower = line.lower()
        if lower.startswith('<virtualhost'):
            vhost = line[len('<virtualhost'):].rstrip('>').split()
            continue
        if lower.startswith('</virtualhost'):
            vhost = None
            continue
        words = line.split()
        out.append({'name': words[0].lower(), 'args': [w.strip('"') for w in words[1:]], 'file': path, 'line': start,
                    'vhost': vhost})
    return out


def _vhost_ports(addresses):
    ports = []
    for address in addresses or []:
        tail = address.rsplit(':', 1)[-1] if ':' in address else ''
        if re.match(r'^\d{1,5}$', tail):
            ports.append(int(tail))
    return ports


def apache_timeouts(directives, port):
    """httpd directives in reading order (includes expanded) and a port → (values, idle_close, problems)."""
    problems = 0
    main = {}
    vhosts = {}
    for d in directives:
        if d['name'] not in ('keepalivetimeout', 'keepalive'):
            continue
        if d['name'] == 'keepalivetimeout':
            seconds = parse_apache_time(d['args'][0]) if len(d['args']) == 1 else None
            if seconds is None:
                problems += 1
                continue
            entry = _entry('KeepAliveTimeout', seconds, d['file'], d['line'], False,
                           'VirtualHost %s' % ' '.join(d['vhost']) if d['vhost'] else 'server config')
        else:
            flag = (d['args'] or [''])[0].lower()
            if flag not in ('on', 'off'):
                problems += 1
                continue
            entry = _entry('KeepAlive', None, d['file'], d['line'], False,
                           'VirtualHost %s' % ' '.join(d['vhost']) if d['vhost'] else 'server config', enabled=flag == 'on')
        target = vhosts.setdefault(tuple(d['vhost']), {}) if d['vhost'] else main
        target[entry['key']] = entry
    values = list(main.values())
    for found in vhosts.values():
        values.extend(found.values())
    mine = [found for addresses, found in vhosts.items() if port in _vhost_ports(addresses)]
    effective = dict(main)
    if mine:
        effective.update(mine[0])
    if 'KeepAliveTimeout' not in effective:
        effective['KeepAliveTimeout'] = _entry('KeepAliveTimeout', APACHE_DEFAULT_KEEPALIVE_TIMEOUT, default=True,
                                               context='default')
        values.append(effective['KeepAliveTimeout'])
    idle = effective['KeepAliveTimeout']
    if 'KeepAlive' in effective and not effective['KeepAlive']['enabled']:
        idle = dict(effective['KeepAlive'], value_s=0.0)      # KeepAlive Off: closed after each response
    return values[:MAX_VALUES], idle, problems


# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
def redis_directives(text, path=None):
    """redis.conf text → ([{name, args, file, line}], problems) (names lower-case, as config.c compares them)."""
    out = []
    problems = 0
    for number, raw in enumerate((text or '').splitlines()[:50000], 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        words = line.split()
        out.append({'name': words[0].lower(), 'args': words[1:], 'file': path, 'line': number})
    return out, problems


def redis_timeouts(directives, argv_overrides=None):
    """Redis directives (in reading order, includes expanded) and ``--name value`` overrides → (values, idle, problems)."""
    found = {}
    problems = 0
    for d in list(directives) + list(argv_overrides or []):
        if d['name'] in REDIS_DEFAULTS:
            if len(d['args']) != 1 or not re.match(r'^\d{1,10}$', d['args'][0]):
                problems += 1
                continue
            found[d['name']] = d
    values = []
    for key in ('timeout', 'tcp-keepalive'):
        d = found.get(key)
        number = int(d['args'][0]) if d else REDIS_DEFAULTS[key]
        value = None if number == 0 else float(number)
        values.append(_entry(key, value, d['file'] if d else None, d['line'] if d else None, d is None,
                             'config' if d else 'default', disabled=number == 0))
    return values, values[0], problems


def redis_argv_overrides(argv):
    """``redis-server FILE --timeout 10 --tcp-keepalive 60`` → (file or None, [directive dicts])."""
    argv = list(argv or [])[1:1000]
    path = argv[0] if argv and not argv[0].startswith('-') else None
    out = []
    i = 1 if path else 0
    while i < len(argv):
        if argv[i].startswith('--') and i + 1 < len(argv):
            out.append({'name': argv[i][2:].lower(), 'args': [argv[i + 1]], 'file': 'command line', 'line': None})
            i += 2
        else:
            i += 1
    return path, out


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
_PG_LINE = re.compile(r"""^\s*(?P<name>[A-Za-z_][\w.$-]{0,127})\s*=?\s*(?P<value>'(?:[^'\\]|''|\\.){0,4096}'|[^\s#']{1,4096})?\s*(?:#.*)?$""")
_PG_UNITS = {'us': 1e-6, 'ms': 0.001, 's': 1.0, 'min': 60.0, 'h': 3600.0, 'd': 86400.0}
_PG_TIME = re.compile(r'^(?P<n>-?\d{1,12}(?:\.\d{1,9})?)\s*(?P<unit>us|ms|s|min|h|d)?$')


def postgres_directives(text, path=None):
    """postgresql.conf text -> ([{name, value, file, line}], problems): names lower-case, quotes removed
    (``include``, ``include_if_exists`` and ``include_dir`` stay in order, for the reader to follow)."""
    out, problems = [], 0
    for number, raw in enumerate((text or '').splitlines()[:50000], 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        match = _PG_LINE.match(line)
        if not match or match.group('value') is None:
            problems += 1
            continue
        value = match.group('value')
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r'\1', value[1:-1].replace("''", "'"))
        out.append({'name': match.group('name').lower(), 'value': value, 'file': path, 'line': number})
    return out, problems


def parse_postgres_time(value, unit_s):
    """A PostgreSQL time setting (``30s``, ``5min``, ``'60000'``) in seconds; a bare number is in the setting's own
    unit (``unit_s`` seconds); None when it is not a time."""
    match = _PG_TIME.match((value or '').strip())
    if not match:
        return None
    number = float(match.group('n'))
    return number * (_PG_UNITS[match.group('unit')] if match.group('unit') else unit_s)


def postgres_argv(argv):
    """``postgres -D DIR -c config_file=F -c name=value`` -> (data dir, config file, [directive dicts])."""
    argv = list(argv or [])[:1000]
    data_dir = config = None
    overrides = []
    for i, arg in enumerate(argv):
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        setting = None
        if arg == '-D' and nxt:
            data_dir = nxt
        elif arg.startswith('-D') and len(arg) > 2:
            data_dir = arg[2:]
        elif arg == '-c' and nxt and '=' in nxt:
            setting = nxt
        elif arg.startswith('--') and '=' in arg:
            setting = arg[2:]
        if setting:
            name, _sep, value = setting.partition('=')
            name = name.lower().replace('-', '_')
            if name == 'config_file':
                config = value
            elif name == 'data_directory':
                data_dir = value
            else:
                overrides.append({'name': name, 'value': value, 'file': 'command line', 'line': None})
    return data_dir, config, overrides


def postgres_timeouts(directives):
    """PostgreSQL settings in reading order (includes expanded, auto.conf and the command line last) ->
    (values, idle_close, problems): ``idle_close`` is ``idle_session_timeout`` (None when 0: no idle close)."""
    units = dict((name, unit) for name, unit, _d in POSTGRES_SETTINGS)
    found, problems = {}, 0
    for d in directives:
        if d['name'] in units:
            if parse_postgres_time(d['value'], units[d['name']]) is None:
                problems += 1
                continue
            found[d['name']] = d
    values = []
    for name, unit, default in POSTGRES_SETTINGS:
        d = found.get(name)
        seconds = parse_postgres_time(d['value'], unit) if d else float(default)
        values.append(_entry(name, seconds if seconds > 0 else None, d['file'] if d else None, d['line'] if d else None,
                             d is None, ('command line' if d['file'] == 'command line' else 'config') if d else 'default',
                             disabled=seconds <= 0))
    return values, values[0], problems


# ---------------------------------------------------------------------------------------------
# MySQL / MariaDB
# ---------------------------------------------------------------------------------------------
_MY_GROUP = re.compile(r'^\[\s*(?P<group>[\w.-]{1,64})\s*\]\s*(?:[#;].*)?$')
_MY_OPTION = re.compile(r'^(?P<name>[A-Za-z][\w-]{0,127})\s*(?:=\s*(?P<value>"[^"]{0,4096}"|' + r"'[^']{0,4096}'" +
                        r'|[^#]{0,4096}?))?\s*(?:#.*)?$')


def mysql_options(text, path=None):
    """A MySQL/MariaDB option file -> ([{group, name, value, file, line}] with ``!include``/``!includedir`` as
    names ``!include``/``!includedir`` (group None), problems).  Names lower-case with ``-`` as ``_``."""
    out, problems, group = [], 0, None
    for number, raw in enumerate((text or '').splitlines()[:50000], 1):
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('!include ') or line.startswith('!includedir '):
            name, _sep, value = line.partition(' ')
            out.append({'group': None, 'name': name, 'value': value.strip(), 'file': path, 'line': number})
            continue
        match = _MY_GROUP.match(line)
        if match:
            group = match.group('group').lower()
            continue
        match = _MY_OPTION.match(line)
        if not match or group is None:
            problems += 1
            continue
        value = (match.group('value') or '').strip()
        if len(value) > 1 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        out.append({'group': group, 'name': match.group('name').lower().replace('-', '_'), 'value': value,
                    'file': path, 'line': number})
    return out, problems


def mysql_argv(argv):
    """``mysqld --defaults-file=F --wait-timeout=N`` -> (defaults file or None, [option dicts of group mysqld])."""
    defaults, out = None, []
    for arg in list(argv or [])[1:1000]:
        if not arg.startswith('--') or '=' not in arg:
            continue
        name, _sep, value = arg[2:].partition('=')
        name = name.lower().replace('-', '_')
        if name == 'defaults_file':
            defaults = value
        elif name != 'defaults_extra_file':
            out.append({'group': 'mysqld', 'name': name, 'value': value, 'file': 'command line', 'line': None})
    return defaults, out


def mysql_timeouts(options):
    """Options in reading order (files, then the command line) -> (values, idle_close, problems): the server's
    groups only; ``idle_close`` is ``wait_timeout``."""
    found, problems = {}, 0
    keys = dict(MYSQL_DEFAULTS)
    for o in options:
        if o.get('group') in MYSQL_GROUPS and o['name'] in keys:
            if not re.match(r'^\d{1,10}$', o['value']):
                problems += 1
                continue
            found[o['name']] = o
    values = []
    for key, default in MYSQL_DEFAULTS:
        o = found.get(key)
        number = int(o['value']) if o else default
        values.append(_entry(key, float(number) if number > 0 else None, o['file'] if o else None,
                             o['line'] if o else None, o is None,
                             ('command line' if o['file'] == 'command line' else 'config') if o else 'default'))
    return values, values[0], problems


__all__ = ['parse_nginx_time', 'split_nginx_dump', 'parse_nginx_directives', 'nginx_timeouts', 'parse_haproxy_time',
           'parse_haproxy_sections', 'haproxy_timeouts', 'gunicorn_cli', 'gunicorn_config_file', 'gunicorn_timeouts',
           'redis_directives', 'redis_timeouts', 'redis_argv_overrides', 'parse_apache_time', 'apache_directives',
           'apache_timeouts', 'postgres_directives', 'parse_postgres_time', 'postgres_argv', 'postgres_timeouts',
           'mysql_options', 'mysql_argv', 'mysql_timeouts']
