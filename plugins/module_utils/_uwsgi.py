# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""uWSGI's idle and keep-alive close timeouts (the endpoints collector's reader for uWSGI; the other programs'
are in :mod:`_svcconf`): pure parsers of a process's argv and its INI files.  Private.

uWSGI idle / keep-alive close timeouts, read from a process's argv and
its INI configuration (pure Python 3, stdlib only, no I/O, never raises).

VERIFIED in the uWSGI source (github:unbit/uwsgi, tags 2.0.21 = Debian 12,
and 2.0.28; every file named below is identical in the quoted parts in both
tags -- plugins/http/http.c and proto/http.c are byte-identical):

* socket-timeout: core/uwsgi.c option table
  {"socket-timeout", required_argument, 'z', ..., uwsgi_opt_set_int,
  &uwsgi.socket_timeout}; default core/init.c uwsgi_init_default()
  `uwsgi.socket_timeout = 4;`.  Used by uwsgi.h uwsgi_wait_read_req(x) =
  uwsgi.wait_read_hook(x->fd, uwsgi.socket_timeout), i.e. core/reader.c
  uwsgi_simple_wait_read_hook(): poll(timeout * 1000).  core/utils.c
  wsgi_req_recv() waits for request bytes with it.
* --http-socket (protocol "http", proto/http.c uwsgi_proto_http_setup):
  proto_close = uwsgi_proto_base_close -> the connection is closed after
  every response; uWSGI keeps NO idle keep-alive connection (idle_close None).
* --http11-socket (core/uwsgi.c, protocol "http11", proto/http.c
  uwsgi_proto_http11_close/_accept): a kept connection is waited on with
  uwsgi_wait_read_req() -> closed after `socket-timeout` seconds idle.
  Also `--socket X --protocol http11` (core/socket.c: requested_protocol
  falls back to uwsgi.protocol).
* HTTP router --http / --https (plugins/http/http.c):
  - {"http-timeout", required_argument, ..., &uhttp.cr.socket_timeout},
    default: plugins/corerouter/corerouter.c uwsgi_corerouter_loop()
    `if (!ucr->socket_timeout) ucr->socket_timeout = 60;` (0 -> 60).
  - {"http-keepalive", optional_argument, ..., uwsgi_opt_set_int,
    &uhttp.keepalive}: NOT a plain flag.  core/uwsgi.c uwsgi_opt_set_int():
    no value -> 1, else atoi(value); < 0 -> "must be > 0", exit(1).
    Default 0 (static struct, keep-alive off).  http.c hr_read(): keep-alive
    only for "HTTP/1.1" requests when uhttp.keepalive != 0.
    http.c hr_instance_read(): after a response
    `if (uhttp.keepalive > 1) http_set_timeout(main_peer, uhttp.keepalive);`
    otherwise the client peer keeps the timeout set when the request was
    routed: `http_set_timeout(main_peer, uhttp.cr.socket_timeout);`.
    => idle keep-alive close = http-keepalive seconds if > 1, else
    http-timeout (value 1), none if 0.
  - {"http-headers-timeout", ..., &uhttp.headers_timeout}; http.c
    http_alloc_session(): 0 -> uhttp.cr.socket_timeout.  It governs the wait
    for a (first or next) request's headers once bytes arrive (hr_read()),
    and a new session's first wait (cs->main_peer->current_timeout).
  - --http-keepalive does nothing for --http-socket / --http11-socket
    (uhttp.keepalive is used only in plugins/http/).
* Options: core/init.c uwsgi_commandline_config(): GNU getopt_long() over
  argv, then every remaining non-option argument not starting with '['
  goes to uwsgi_opt_load() (core/uwsgi.c: *.ini -> ini; .xml/.yaml/.yml/
  .json/.js/other -> other loaders).  GNU getopt permutes argv, so such
  positional files are loaded AFTER all command-line options.
  Options are queued in order (core/config.c add_exported_option) and
  applied in that order (uwsgi_configure()); `ini`, `include`, `set` are
  UWSGI_OPT_IMMEDIATE and queue the file's options at their own place.
  uwsgi_opt_set_int simply overwrites => the LAST occurrence wins:
  `--ini a.ini --socket-timeout 9` -> 9 wins; `--socket-timeout 9 --ini
  a.ini` -> a.ini wins; `uwsgi a.ini --socket-timeout 9` -> a.ini wins.
  optional_argument options (http-keepalive) take a value only as
  `--http-keepalive=N` (getopt); `--http-keepalive N` leaves N positional.
  `--set name=value` / `-S` (uwsgi_opt_set_placeholder) sets an option.
  Short option table built in core/uwsgi.c build_options() (-z socket-timeout).
  Option names are matched exactly (core/config.c uwsgi_opt_get, strcmp).
* INI (core/ini.c uwsgi_ini_config): lines split on '\\n' only; strip
  ' ', '\\t', '\\r'; `[x]` -> section = text between first and last char;
  lines starting with ';' or '#' are comments (no inline comments: the
  value is the rest of the line); key/value split at the first '='; a line
  without '=' gives value ""; only section "uwsgi" (or FILE:section) is
  read, case-sensitively; C strings stop at a NUL byte.

NOT SUPPORTED / NOT VERIFIED (reported as problems where they may matter):
* xml/yaml/json/pluggable configs, `inherit`, `for`/`if-*` logic blocks,
  placeholders (%(x), $(ENV), @(file)), getopt long-option abbreviations,
  ini `:section` of the previous file, config files whose text is not given.
* Debian's init layout (/usr/share/uwsgi/conf/default.ini loaded before
  /etc/uwsgi/apps-enabled/APP.ini) is from memory, not verified here.
* Whether --procname/auto-procname rewrites /proc/PID/cmdline (then argv is
  not the real command line) was not checked.
* https-socket (proto_close = uwsgi_proto_ssl_close) is treated like
  http-socket (no keep-alive) without reading uwsgi_proto_ssl_close.
* Options of plugins other than http/python/corerouter are unknown; an
  unknown long option is assumed to take an argument (most do: 702 of 903).

Entry dicts: {'key','value_s','file','line','default','context'} plus 'raw'
(the int uWSGI stores, None if not understood); value_s None only for a
value that is not understood (then a 'problem' key says why) -- none of
these uWSGI timeouts can be "no timeout at all".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


# ---------------------------------------------------------------------------
# Sources of every rule/default (github:unbit/uwsgi, tags 2.0.21 and 2.0.28):
#   DEFAULT socket-timeout 4 ........ core/init.c uwsgi_init_default()
#   DEFAULT http-timeout 60 (0->60) . plugins/corerouter/corerouter.c
#                                     uwsgi_corerouter_loop()
#   DEFAULT http-keepalive 0 ........ plugins/http/http.c (struct uhttp, only
#                                     set by option); no value -> 1:
#                                     core/uwsgi.c uwsgi_opt_set_int()
#   DEFAULT http-headers-timeout .... plugins/http/http.c http_alloc_session()
#            (0 -> http-timeout)
#   keep-alive idle rule ............ plugins/http/http.c hr_instance_read(),
#                                     http_set_timeout(main_peer, ...)
#   http-socket closes .............. proto/http.c uwsgi_proto_http_setup()
#   http11-socket idle .............. proto/http.c uwsgi_proto_http11_accept()
#   atoi / negative -> exit ......... core/uwsgi.c uwsgi_opt_set_int()
#   argv handling ................... core/init.c uwsgi_commandline_config()
#   order / last wins ............... core/config.c add_exported_option_do(),
#                                     uwsgi_configure()
#   ini syntax ...................... core/ini.c uwsgi_ini_config()
#   positional loaders .............. core/uwsgi.c uwsgi_opt_load()
#   --set ........................... core/uwsgi.c uwsgi_opt_set_placeholder()
#   short options ................... core/uwsgi.c build_options() + tables
# ---------------------------------------------------------------------------

MAX_ARGS = 1000
MAX_ARG_LEN = 65536
MAX_INI_CHARS = 1000000
MAX_INI_LINES = 20000
MAX_DEPTH = 8
MAX_TEXTS = 64

TIMEOUT_KEYS = ('socket-timeout', 'http-timeout', 'http-keepalive',
                'http-headers-timeout')
DEFAULTS = {'socket-timeout': 4, 'http-timeout': 0, 'http-keepalive': 0,
            'http-headers-timeout': 0}
HTTP_TIMEOUT_ZERO = 60

# no_argument options of core/uwsgi.c, plugins/http/http.c,
# plugins/python/python_plugin.c, plugins/corerouter/corerouter.c (2.0.21)
_NO_ARG = frozenset("""
abstract-socket alarm-list alarms-list auto-procname autoload cache-no-expire
cache-report-freed-items cache-use-last-modified catch-exceptions cflags
cgi-mode cheap cheaper-algo-list cheaper-algos-list cheaper-list
check-static-docroot clock-list clocks-list close-on-exec close-on-exec2
command-mode config-py daemons-honour-stdin die-on-idle die-on-term
disable-logging disable-sendfile disable-write-exception dot-h
drop-after-apps drop-after-init dump-options early-emperor
emperor-graceful-shutdown emperor-magic-exec emperor-no-blacklist
emperor-nofollow emperor-tyrant emperor-tyrant-nofollow enable-metrics
enable-proxy-protocol enable-threads end-blacklist end-whitelist
exit-on-reload force-gateway freebind harakiri-no-arh harakiri-verbose help
honour-range honour-stdin http-auto-chunked http-auto-gzip http-cheap
http-chunked-input http-manage-rtsp http-manage-source http-raw-body
http-websockets https-export-cert if-not-reload if-reload ignore-script-name
ignore-sigpipe ignore-write-errors imperial-monitor-list
imperial-monitors-list jailed lazy lazy-apps log-4xx log-5xx
log-format-strftime log-master log-master-req-stream log-master-stream
log-micros log-reopen log-truncate log-x-forwarded-for log-zero
logfile-chown logformat-strftime logger-list loggers-list loop-list
loops-list manage-script-name master master-as-root memory-report
metric-dir-restore metrics-dir-restore metrics-no-cores need-app never-swap
no-default-app no-defer-accept no-fd-passing no-harakiri-after-req-hook
no-harakiri-arh no-initgroups no-orphans no-server no-site no-threads-wait
paste-logger pcre-jit persistent-ipcsem plugin-list plugins-list
propagate-touch py-call-osafterfork py-call-uwsgi-fork-hooks python-version
re-fork re-fork-as-root re-fork-post-jail reaper refork refork-as-root
refork-post-jail reload-on-exception reload-os-env reuse-port router-list
routers-list setns-preopen show-config shutdown-sockets single-interpreter
skip-atexit skip-atexit-teardown skip-zero so-keepalive so-send-timeout
so-write-timeout socket-send-timeout socket-write-timeout spooler-ordered
spooler-quiet ssl-enable-sslv3 ssl-enable-tlsv1 ssl-enable3 ssl-option
ssl-verbose start-unsubscribed static-gzip-all stats-http stats-min
stats-minified stats-no-cores stats-no-metrics strict subscription-dotsplit
subscriptions-use-credentials tcp-fast-open-client tcp-fastopen-client
tcp-nodelay threaded-logger thunder-lock unsubscribe-on-graceful-reload
usage use-abort vacuum version vhost vhost-host write-errors-exception-only
wsgi-accept-buffer wsgi-accept-buffers wsgi-disable-file-wrapper wsgi-strict
zerg-fallback
""".split())

# optional_argument options (same tables): value only as --name=value
_OPT_ARG = frozenset("""
check-cache chmod chmod-socket end-for end-if endfor endif exit
http-enable-proxy-protocol http-keepalive http-manage-expect http-use-cache
http-use-socket ksm log-date log-prefix log-syslog logdate mule
mule-msg-size pyshell pyshell-oneshot snmp ssl-session-use-cache
ssl-sessions-use-cache ssl-verify-depth
""".split())

# short options: first owner wins (build_options); 'r' = required,
# 'n' = no argument, 'o' = optional
_SHORT = {
    's': ('socket', 'r'), 'p': ('processes', 'r'), 't': ('harakiri', 'r'),
    'x': ('xmlconfig', 'r'), 'S': ('set', 'r'), 'd': ('daemonize', 'r'),
    'l': ('listen', 'r'), 'v': ('max-vars', 'r'), 'b': ('buffer-size', 'r'),
    'm': ('memory-report', 'n'), 'c': ('cgi-mode', 'n'),
    'a': ('abstract-socket', 'n'), 'C': ('chmod-socket', 'o'),
    'T': ('enable-threads', 'n'), 'i': ('single-interpreter', 'n'),
    'M': ('master', 'n'), 'h': ('help', 'n'), 'r': ('reaper', 'n'),
    'R': ('max-requests', 'r'), 'z': ('socket-timeout', 'r'),
    'A': ('sharedarea', 'r'), 'Q': ('spooler', 'r'),
    'L': ('disable-logging', 'n'), 'y': ('yaml', 'r'), 'j': ('json', 'r'),
    'w': ('module', 'r'), 'J': ('test', 'r'), 'H': ('home', 'r'),
    'O': ('optimize', 'r'),
}

# config loaders we cannot follow (core/uwsgi.c option table)
_UNSUPPORTED_LOADERS = frozenset((
    'xml', 'xmlconfig', 'yaml', 'yml', 'json', 'js', 'config', 'inherit',
    'sqlite3', 'sqlite', 'ldap', 'inject-before', 'inject-after',
    'for', 'for-glob', 'for-times', 'for-readline', 'if-opt', 'if-not-opt',
    'if-env', 'if-not-env', 'ifenv', 'if-reload', 'if-not-reload',
    'if-hostname', 'if-not-hostname', 'if-hostname-match',
    'if-not-hostname-match', 'if-exists', 'if-not-exists', 'ifexists',
    'if-plugin', 'if-not-plugin', 'ifplugin', 'if-file', 'if-not-file',
    'if-dir', 'if-not-dir', 'ifdir', 'if-directory', 'declare-option',
))

_ROUTER = frozenset(('http', 'https', 'https2'))
_HTTP_CLOSE_SOCKETS = frozenset(('http-socket', 'https-socket'))


def _s(x):
    """str or None; bounded."""
    if isinstance(x, str):
        return x[:MAX_ARG_LEN]
    return None


def _opt(name, value, file, line):
    return {'name': name, 'value': value, 'file': file, 'line': line}


def _loader_for(path):
    """core/uwsgi.c uwsgi_opt_load(): loader by file extension."""
    if path.endswith('.ini'):
        return 'ini'
    for ext, name in (('.xml', 'xml'), ('.yaml', 'yaml'), ('.yml', 'yaml'),
                      ('.json', 'json'), ('.js', 'json')):
        if path.endswith(ext):
            return name
    return 'config'


def _cli(argv, source):
    """getopt_long emulation -> (options in effect order, problems)."""
    out = []
    positional = []
    problems = 0
    try:
        if not isinstance(argv, (list, tuple)):
            return [], 1
        args = list(argv[:MAX_ARGS])
        if len(argv) > MAX_ARGS:
            problems += 1
        n = len(args)
        i = 1                                   # argv[0] is the program
        only_positional = False
        while i < n:
            a = _s(args[i])
            i += 1
            if a is None:
                problems += 1
                continue
            if only_positional or a == '-' or not a.startswith('-'):
                positional.append(a)
                continue
            if a == '--':
                only_positional = True
                continue
            if a.startswith('--'):
                body = a[2:]
                if '=' in body:
                    name, val = body.split('=', 1)
                    if name in _NO_ARG:         # getopt: no argument allowed
                        problems += 1
                        continue
                    out.append(_opt(name, val, source, None))
                    continue
                name = body
                if name in _NO_ARG or name in _OPT_ARG:
                    out.append(_opt(name, None, source, None))
                    continue
                if i < n:                       # required_argument
                    v = _s(args[i])
                    i += 1
                    if v is None:
                        problems += 1
                        continue
                    out.append(_opt(name, v, source, None))
                else:                           # missing argument
                    problems += 1
                continue
            # short options, possibly clustered: -Mz 10, -z10
            j = 1
            while j < len(a) and j < 64:
                c = a[j]
                j += 1
                spec = _SHORT.get(c)
                if spec is None:                # getopt '?' -> exit(1)
                    problems += 1
                    break
                name, kind = spec
                if kind == 'n':
                    out.append(_opt(name, None, source, None))
                    continue
                rest = a[j:]
                if rest:
                    out.append(_opt(name, rest, source, None))
                elif kind == 'o':
                    out.append(_opt(name, None, source, None))
                elif i < n:
                    v = _s(args[i])
                    i += 1
                    if v is None:
                        problems += 1
                    else:
                        out.append(_opt(name, v, source, None))
                else:
                    problems += 1
                break
        # positional files are loaded after all options (getopt permutes)
        for p in positional:
            if p.startswith('['):
                continue
            out.append(_opt(_loader_for(p), p, source, None))
    except Exception:                           # never raise
        problems += 1
    return out, problems


def uwsgi_cli(argv, cmdline_source=None):
    """Parse a process argv.  Returns {'ini': first ini path or None,
    'options': [{'name','value','file','line'}], 'ini_files': [...],
    'problems': int}.  Options are in the order uWSGI applies them."""
    opts, problems = _cli(argv, cmdline_source)
    ini_files = [o['value'] for o in opts
                 if o['name'] in ('ini', 'include') and isinstance(o['value'], str)
                 and (o['name'] == 'ini' or o['value'].endswith('.ini'))]
    return {'ini': ini_files[0] if ini_files else None, 'options': opts,
            'ini_files': ini_files, 'problems': problems}


def split_section(path):
    """core/ini.c: FILE:section (last ':'; after last '/' for schemes)."""
    section = 'uwsgi'
    if not isinstance(path, str):
        return path, section
    base = path
    if '://' in path:
        k = path.rfind('/')
        c = path.find(':', k + 1)
    else:
        c = path.rfind(':')
    if c >= 0:
        base = path[:c]
        if path[c + 1:]:
            section = path[c + 1:]
    return base, section


_WS = ' \t\r'


def uwsgi_ini(text, path=None):
    """Options of the [uwsgi] section (or FILE:section) of an INI text.
    Returns ([{'name','value','file','line'}], problems)."""
    out = []
    problems = 0
    try:
        if isinstance(text, bytes):
            text = text.decode('utf-8', 'replace')
        if not isinstance(text, str):
            return [], 1
        if len(text) > MAX_INI_CHARS:
            text = text[:MAX_INI_CHARS]
            problems += 1
        file, wanted = split_section(path)
        if not isinstance(file, str):
            file = None
        section = ''
        lines = text.split('\n')
        if len(lines) > MAX_INI_LINES:
            lines = lines[:MAX_INI_LINES]
            problems += 1
        for no, raw in enumerate(lines, 1):
            nul = raw.find('\x00')
            if nul >= 0:
                raw = raw[:nul]
            key = raw.strip(_WS)
            if not key:
                continue
            if key[0] == '[':
                section = key[1:-1]
                continue
            if key[0] in ';#':
                continue
            if '=' in key:
                k, v = key.split('=', 1)
            else:
                k, v = key, ''
            if section != wanted:
                continue
            out.append(_opt(k.rstrip(_WS), v.strip(_WS), file, no))
    except Exception:
        problems += 1
    return out, problems


def _parse_int(value):
    """Strict: returns (int uWSGI stores, None) or (None, reason).
    uWSGI itself uses atoi(); anything but a clean non-negative int is
    reported, since uWSGI would then use atoi's guess or exit(1)."""
    if value is None:
        return 1, None                          # uwsgi_opt_set_int: NULL -> 1
    if not isinstance(value, str):
        return None, 'not a string'
    v = value.strip(' \t\r\n\f\v')
    if not v:
        return None, 'empty value (uWSGI atoi -> 0)'
    body = v[1:] if v[0] in '+-' else v
    if not body or len(body) > 12 or not all('0' <= ch <= '9' for ch in body):
        return None, 'not an integer: %r' % value[:60]
    n = int(v)
    if n < 0:
        return None, 'negative (uWSGI exits: must be > 0)'
    if n > 2147483647:
        return None, 'too large for a C int'
    return n, None


def _texts(ini_text, ini_path, first_ini):
    """Normalise ini_text (str or {path: text}) to a dict."""
    if isinstance(ini_text, dict):
        d = {}
        for k in list(ini_text)[:MAX_TEXTS]:
            if isinstance(k, str):
                d[k] = ini_text[k]
        return d
    if isinstance(ini_text, (str, bytes)):
        p = ini_path if isinstance(ini_path, str) else first_ini
        if p is None:
            p = ''
        return {p: ini_text}
    return {}


def _lookup(texts, value):
    if value in texts:
        return value, texts[value]
    base, _section = split_section(value)
    if base in texts:
        return base, texts[base]
    return None, None


def _expand(opts, texts, depth, budget):
    """Replace ini/include entries by the file's options, in place order.
    Returns (flat options, problems)."""
    flat = []
    problems = 0
    for o in opts:
        if budget[0] <= 0:
            problems += 1
            break
        budget[0] -= 1
        name, value = o['name'], o['value']
        if name in ('set', 'S') and isinstance(value, str):
            if '=' in value:                    # uwsgi_opt_set_placeholder
                k, v = value.split('=', 1)
                flat.append(_opt(k, v, o['file'], o['line']))
            else:
                problems += 1
            continue
        is_ini = name == 'ini' or (name == 'include' and isinstance(value, str)
                                   and value.endswith('.ini'))
        if is_ini:
            if not isinstance(value, str) or depth >= MAX_DEPTH:
                problems += 1
                continue
            key, text = _lookup(texts, value)
            if key is None:
                problems += 1                   # config not given: unknown
                continue
            _base, section = split_section(value)
            sub, p = uwsgi_ini(text, key + (':' + section
                                            if section != 'uwsgi' else ''))
            for s in sub:                       # report the real file path
                s['file'] = key
            problems += p
            inner, p2 = _expand(sub, texts, depth + 1, budget)
            flat.extend(inner)
            problems += p2
            continue
        if name in _UNSUPPORTED_LOADERS or name == 'include':
            problems += 1
            continue
        flat.append(o)
    return flat, problems


def _entry(key, n, src, reason, cmdline_source):
    e = {'key': key, 'value_s': None, 'file': None, 'line': None,
         'default': src is None, 'context': 'default', 'raw': n}
    if src is not None:
        e['file'] = src['file']
        e['line'] = src['line']
        e['context'] = ('command line' if src['line'] is None
                        and src['file'] == cmdline_source else 'config')
    if reason:
        e['problem'] = reason
    return e


def uwsgi_timeouts(argv, ini_text=None, ini_path=None,
                   cmdline_source='/proc/PID/cmdline'):
    """Returns (values, idle_close, problems).  ini_text: the text of the
    ini file named on the command line (ini_path, else the first one), or
    a dict {path: text} for several (e.g. Debian's default.ini + app.ini)."""
    try:
        return _timeouts(argv, ini_text, ini_path, cmdline_source)
    except Exception:
        return [], None, 1


def _timeouts(argv, ini_text, ini_path, cmdline_source):
    if not isinstance(cmdline_source, str):
        cmdline_source = '/proc/PID/cmdline'
    cli = uwsgi_cli(argv, cmdline_source)
    problems = cli['problems']
    texts = _texts(ini_text, ini_path, cli['ini'])
    flat, p = _expand(cli['options'], texts, 0, [200000])
    problems += p

    last = {}
    modes = set()
    protocol = None
    for o in flat:
        nm = o['name']
        if nm in TIMEOUT_KEYS:
            last[nm] = o
        elif nm in _ROUTER:
            modes.add('router')
        elif nm == 'http11-socket':
            modes.add('http11')
        elif nm in _HTTP_CLOSE_SOCKETS:
            modes.add('http')
        elif nm in ('socket', 'uwsgi-socket'):
            modes.add('socket')
        elif nm == 'protocol':
            protocol = o['value']
    if 'socket' in modes and protocol == 'http11':
        modes.add('http11')

    raw = {}
    entries = {}
    for key in TIMEOUT_KEYS:
        src = last.get(key)
        if src is None:
            n, reason = DEFAULTS[key], None
        else:
            n, reason = _parse_int(src['value'])
            if reason:
                problems += 1
        raw[key] = n
        entries[key] = _entry(key, n, src, reason, cmdline_source)

    # value_s (seconds uWSGI actually uses)
    st = raw['socket-timeout']
    if st is not None:
        entries['socket-timeout']['value_s'] = float(st)
    ht = raw['http-timeout']
    eff_ht = None
    if ht is not None:
        eff_ht = float(ht if ht else HTTP_TIMEOUT_ZERO)
        entries['http-timeout']['value_s'] = eff_ht
    hh = raw['http-headers-timeout']
    if hh is not None:
        entries['http-headers-timeout']['value_s'] = (float(hh) if hh
                                                      else eff_ht)
    ka = raw['http-keepalive']
    if ka is not None:
        if ka > 1:
            entries['http-keepalive']['value_s'] = float(ka)
        elif ka == 1:
            entries['http-keepalive']['value_s'] = eff_ht
        else:
            entries['http-keepalive']['value_s'] = 0.0   # disabled

    values = [entries[k] for k in TIMEOUT_KEYS]

    idle = None
    if 'router' in modes:
        if ka is None:
            idle = None                                  # unknown
        elif ka > 1:
            idle = entries['http-keepalive']
        elif ka == 1:
            idle = entries['http-timeout'] if eff_ht is not None else None
        elif 'http11' in modes and st is not None:
            idle = entries['socket-timeout']
    elif 'http11' in modes:
        idle = entries['socket-timeout'] if st is not None else None
    return values, idle, problems


__all__ = ['uwsgi_cli', 'uwsgi_ini', 'uwsgi_timeouts', 'split_section']
