# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Idle-timeout parsers of _svcconf against real samples (samples/endpoints/README.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _svcconf

SAMPLES = os.path.join(os.path.dirname(__file__), 'samples', 'endpoints')


def sample(name):
    with open(os.path.join(SAMPLES, name)) as handle:
        return handle.read()


@pytest.mark.parametrize('text, seconds', [
    ('75s', 75.0), ('75', 75.0), ('1m30s', 90.0), ('500ms', 0.5), ('1h', 3600.0), ('0', 0.0), ('2d', 172800.0),
    ('', None), ('5x', None), ('s5', None), ('1' * 50, None), ('-1', None),
])
def test_parse_nginx_time(text, seconds):
    assert _svcconf.parse_nginx_time(text) == seconds


@pytest.mark.parametrize('port, key, value, line, file, default', [
    (8081, 'keepalive_timeout', 5.0, 15, '/tmp/F-nginx.conf', False),           # server's own
    (8082, 'keepalive_timeout', 65.0, 7, '/tmp/F-nginx.conf', False),           # inherited from http
    (8083, 'keepalive_timeout', 90.0, 3, '/tmp/F-nginx-extra.conf', False),     # server of an included file, 1m30s
])
def test_nginx_idle_close(port, key, value, line, file, default):
    _values, idle, problems = _svcconf.nginx_timeouts(sample('nginx-1.22.1-T.txt'), port)
    assert problems == 0
    assert (idle['key'], idle['value_s'], idle['line'], idle['file'], idle['default']) == (key, value, line, file, default)


def test_nginx_values_and_defaults():
    values, idle, _p = _svcconf.nginx_timeouts(sample('nginx-1.22.1-T.txt'), 9999)
    assert idle is None                              # no server block listens on 9999
    by_key = dict((v['key'], v) for v in values)
    assert by_key['upstream keepalive']['connections'] == 16 and by_key['upstream keepalive']['line'] == 11
    assert by_key['upstream keepalive']['context'] == 'http > upstream app'
    # keepalive without keepalive_timeout in the upstream: nginx's default 60 s (ngx_http_upstream_keepalive_module.c)
    assert by_key['upstream keepalive_timeout'] == {'key': 'upstream keepalive_timeout', 'value_s': 60.0, 'file': None,
                                                    'line': None, 'default': True, 'context': 'http > upstream app'}
    assert by_key['proxy_read_timeout']['value_s'] == 30.0 and by_key['proxy_read_timeout']['line'] == 18


def test_nginx_default_keepalive_when_unset():
    text = '# configuration file /etc/nginx/nginx.conf:\nhttp {\n  server {\n    listen 80;\n  }\n}\n'
    values, idle, _p = _svcconf.nginx_timeouts(text, 80)
    assert idle['value_s'] == 75.0 and idle['default'] is True        # ngx_http_core_module.c: 75000 ms
    assert any(v['key'] == 'proxy_read_timeout' and v['value_s'] == 60.0 and v['default'] for v in values)


@pytest.mark.parametrize('text', [
    '', 'garbage', '# configuration file /x:\n}}}\n', '# configuration file /x:\nhttp { keepalive_timeout abc; }\n',
    '# configuration file /x:\n' + '{' * 5000, '# configuration file /x:\n"unterminated',
])
def test_nginx_hostile(text):
    values, idle, problems = _svcconf.nginx_timeouts(text, 80)
    assert isinstance(values, list) and isinstance(problems, int)


@pytest.mark.parametrize('text, seconds', [
    ('30s', 30), ('50000', 50.0), ('5m', 300), ('1h', 3600), ('100ms', 0.1), ('10us', 0.00001), ('', None), ('3x', None),
])
def test_parse_haproxy_time(text, seconds):
    assert _svcconf.parse_haproxy_time(text) == seconds


@pytest.mark.parametrize('name, port, key, value, line, missing', [
    ('haproxy-2.6.12.cfg', 8091, 'timeout http-keep-alive', 2, 12, None),    # mode http: http-keep-alive first
    ('haproxy-2.6.12.cfg', 8092, 'timeout client', 30, 7, None),             # mode tcp: timeout client of defaults
    ('haproxy-2.6.12-notimeout.cfg', 8093, 'timeout client', None, 4, True),  # missing: never closes an idle client
])
def test_haproxy_idle_close(name, port, key, value, line, missing):
    _values, idle, problems = _svcconf.haproxy_timeouts(sample(name), port, '/etc/haproxy/' + name)
    assert problems == 0
    assert (idle['key'], idle['value_s'], idle['line'], idle.get('missing')) == (key, value, line, missing)
    assert idle['file'] == '/etc/haproxy/' + name


def test_haproxy_unbound_port():
    _values, idle, _p = _svcconf.haproxy_timeouts(sample('haproxy-2.6.12.cfg'), 1234)
    assert idle is None


@pytest.mark.parametrize('argv, conf, value, source, default', [
    (['/usr/bin/python3', '/usr/bin/gunicorn', '-c', 'gunicorn.conf.py', '--keep-alive', '7', 'app:app'],
     'gunicorn-20.1.0.conf.py', 7.0, 'command line', False),                   # the command line wins
    (['/usr/bin/gunicorn', '-c', 'gunicorn.conf.py', 'app:app'], 'gunicorn-20.1.0.conf.py', 5.0, 'config file', False),
    (['/usr/bin/gunicorn', '--keep-alive=3', 'app:app'], None, 3.0, 'command line', False),
    (['/usr/bin/gunicorn', 'app:app'], None, 2.0, 'default', True),            # gunicorn/config.py Keepalive default 2
])
def test_gunicorn(argv, conf, value, source, default):
    text = sample(conf) if conf else None
    _values, idle, problems = _svcconf.gunicorn_timeouts(argv, text, '/srv/app/gunicorn.conf.py' if conf else None)
    assert problems == 0
    assert (idle['value_s'], idle['context'], idle['default']) == (value, source, default)
    if source == 'config file':
        assert idle['line'] == 2 and idle['file'] == '/srv/app/gunicorn.conf.py'
    assert idle['worker_class'] == ('gthread' if conf else 'sync')


def test_gunicorn_computed_value_is_not_guessed():
    _v, idle, problems = _svcconf.gunicorn_timeouts(['gunicorn'], 'keepalive = int(os.environ["KA"])\n', '/x.py')
    assert problems == 1 and idle['default'] is True


def test_redis_debian_defaults_file():
    directives, _p = _svcconf.redis_directives(sample('redis-7.0.15-debian.conf'), '/etc/redis/redis.conf')
    values, idle, problems = _svcconf.redis_timeouts(directives)
    assert problems == 0
    assert idle == {'key': 'timeout', 'value_s': None, 'file': '/etc/redis/redis.conf', 'line': 159, 'default': False,
                    'context': 'config', 'disabled': True}                      # timeout 0: idle clients never closed
    assert values[1]['key'] == 'tcp-keepalive' and values[1]['value_s'] == 300.0 and values[1]['line'] == 176


def test_redis_overrides_and_defaults():
    path, overrides = _svcconf.redis_argv_overrides(['/usr/bin/redis-server', '/etc/redis/redis.conf', '--timeout', '30',
                                                     '--supervised', 'systemd'])
    assert path == '/etc/redis/redis.conf'
    values, idle, _p = _svcconf.redis_timeouts([], overrides)
    assert idle['value_s'] == 30.0 and idle['file'] == 'command line'
    assert values[1]['default'] is True and values[1]['value_s'] == 300.0   # config.c tcp-keepalive default 300


@pytest.mark.parametrize('text, seconds', [
    ('5', 5), ('5s', 5), ('500ms', 0.5), ('2mi', 120), ('1h', 3600), ('0', 0), ('5m', None), ('-1', None), ('', None),
])
def test_parse_apache_time(text, seconds):
    assert _svcconf.parse_apache_time(text) == seconds


def apache_directives():
    # Debian's apache2.conf (its includes are expanded by the collector; here the site and the vhosts file follow it)
    return (_svcconf.apache_directives(sample('apache2-debian.conf'), '/etc/apache2/apache2.conf') +
            _svcconf.apache_directives(sample('apache2-000-default.conf'), '/etc/apache2/sites-enabled/000-default.conf') +
            _svcconf.apache_directives(sample('apache2-vhosts.conf'), '/etc/apache2/sites-enabled/vhosts.conf'))


@pytest.mark.parametrize('port, key, value, file, line, default', [
    (80, 'KeepAliveTimeout', 5, '/etc/apache2/apache2.conf', 111, False),               # main server's, inherited
    (8443, 'KeepAliveTimeout', 0.5, '/etc/apache2/sites-enabled/vhosts.conf', 3, False),  # the vhost's own, 500ms
    (8444, 'KeepAlive', 0.0, '/etc/apache2/sites-enabled/vhosts.conf', 6, False),        # KeepAlive Off: no reuse
])
def test_apache_idle_close(port, key, value, file, line, default):
    _values, idle, problems = _svcconf.apache_timeouts(apache_directives(), port)
    assert problems == 0
    assert (idle['key'], idle['value_s'], idle['file'], idle['line'], idle['default']) == (key, value, file, line, default)


def test_apache_default_when_unset():
    # include/httpd.h DEFAULT_KEEPALIVE_TIMEOUT 5 (httpd 2.4.62)
    _values, idle, _p = _svcconf.apache_timeouts(_svcconf.apache_directives('Listen 80\n', '/x.conf'), 80)
    assert idle == {'key': 'KeepAliveTimeout', 'value_s': 5.0, 'file': None, 'line': None, 'default': True,
                    'context': 'default'}


def test_apache_bad_values_are_counted():
    text = 'KeepAliveTimeout five\nKeepAlive maybe\nKeepAliveTimeout 7 \\\n  extra\n'
    _values, idle, problems = _svcconf.apache_timeouts(_svcconf.apache_directives(text, '/x.conf'), 80)
    assert problems == 3 and idle['default'] is True


# PostgreSQL 15 (Debian 12's postgresql-15): the package's /etc/postgresql/15/main/postgresql.conf (include_dir
# 'conf.d') and a conf.d file; `postgres -C NAME -c config_file=...` on this machine printed the values the
# server computes from them: idle_session_timeout 300000 (ms), tcp_keepalives_idle 300, tcp_user_timeout 30000 (ms),
# idle_in_transaction_session_timeout 0.
def _postgres_sample():
    main = '/etc/postgresql/15/main/postgresql.conf'
    inc = '/etc/postgresql/15/main/conf.d/50-timeouts.conf'
    directives, problems = _svcconf.postgres_directives(sample('postgresql-15-debian.conf'), main)
    more, more_problems = _svcconf.postgres_directives(sample('postgresql-15-conf.d-timeouts.conf'), inc)
    return directives, more, problems + more_problems


def test_postgres_debian_file_and_conf_d():
    directives, more, problems = _postgres_sample()
    assert problems == 0
    assert [d['name'] for d in directives if d['name'].startswith('include')] == ['include_dir']
    assert next(d for d in directives if d['name'] == 'data_directory')['value'] == '/var/lib/postgresql/15/main'
    values, idle, problems = _svcconf.postgres_timeouts(directives + more)
    got = dict((v['key'], (v['value_s'], v['line'], v['default'])) for v in values)
    assert problems == 0 and idle['key'] == 'idle_session_timeout'
    assert got == {'idle_session_timeout': (300.0, 2, False), 'idle_in_transaction_session_timeout': (None, None, True),
                   'tcp_keepalives_idle': (300.0, 3, False), 'tcp_keepalives_interval': (None, None, True),
                   'tcp_user_timeout': (30.0, 4, False)}


def test_postgres_defaults_and_command_line():
    directives, _more, _p = _postgres_sample()
    data_dir, config, overrides = _svcconf.postgres_argv(
        ['/usr/lib/postgresql/15/bin/postgres', '-D', '/var/lib/postgresql/15/main', '-c',
         'config_file=/etc/postgresql/15/main/postgresql.conf', '-c', 'idle_session_timeout=45s'])
    assert (data_dir, config) == ('/var/lib/postgresql/15/main', '/etc/postgresql/15/main/postgresql.conf')
    values, idle, _p = _svcconf.postgres_timeouts(directives)
    assert idle['value_s'] is None and idle['disabled'] and idle['default']     # 0: idle sessions are never closed
    values, idle, _p = _svcconf.postgres_timeouts(directives + overrides)
    assert (idle['value_s'], idle['file'], idle['context']) == (45.0, 'command line', 'command line')


@pytest.mark.parametrize('value, unit, seconds', [
    ('5min', 0.001, 300.0), ("300000", 0.001, 300.0), ('30s', 0.001, 30.0), ('1h', 1.0, 3600.0), ('250ms', 1.0, 0.25),
    ('1.5', 1.0, 1.5), ('0', 0.001, 0.0), ('10 s', 1.0, 10.0), ('5 minutes', 1.0, None), ('x', 1.0, None), ('', 1.0, None),
])
def test_parse_postgres_time(value, unit, seconds):
    assert _svcconf.parse_postgres_time(value, unit) == seconds


@pytest.mark.parametrize('line, name, value', [
    ("idle_session_timeout = '5min'", 'idle_session_timeout', '5min'),
    ('tcp_keepalives_idle 300', 'tcp_keepalives_idle', '300'),
    ("search_path = '\"$user\", public'	# schema names", 'search_path', '"$user", public'),
    ("log_line_prefix = 'it''s %m '", 'log_line_prefix', "it's %m "),
    ("include_dir = 'conf.d'			# include files", 'include_dir', 'conf.d'),
])
def test_postgres_directive_lines(line, name, value):
    directives, problems = _svcconf.postgres_directives(line, 'f')
    assert problems == 0 and [(d['name'], d['value']) for d in directives] == [(name, value)]


@pytest.mark.parametrize('text, problems', [
    ("idle_session_timeout = 'unterminated", 1), ('= 5', 1), ('idle_session_timeout =', 1), ('\x00' * 100, 1),
    ("a = 'x' junk", 1), ('x' * 5000 + ' = 1', 1),
])
def test_postgres_bad_lines_are_counted(text, problems):
    assert _svcconf.postgres_directives(text, 'f') == ([], problems)


def test_postgres_bad_value_is_counted_and_the_default_stays():
    values, idle, problems = _svcconf.postgres_timeouts([{'name': 'idle_session_timeout', 'value': 'soon', 'file': 'f',
                                                          'line': 1}])
    assert problems == 1 and idle['default'] is True


# MySQL / MariaDB option files (mysys/my_default.c): Debian 12's MariaDB 10.11 files as mariadb-server
# 1:10.11.19-0+deb12u1 installs them (/etc/mysql/mariadb.cnf, which /etc/mysql/my.cnf points to, with its
# !includedir lines, and mariadb.conf.d/50-server.cnf: no wait_timeout, so the default), and a file of ours whose
# reading my_print_defaults 10.11 confirmed (--wait-timeout=600 in [mysqld], the [client] value not the server's).
MY_CNF = sample('mariadb-10.11-debian-my.cnf')
DEBIAN_SERVER_CNF = sample('mariadb-10.11-debian-50-server.cnf')
SERVER_CNF = '''[server]

[mysqld]
user                    = mysql
pid-file                = /run/mysqld/mysqld.pid
basedir                 = /usr
bind-address            = 127.0.0.1
wait-timeout            = 600   # connreset sample
skip-name-resolve

[mariadb-10.11]
[client]
wait_timeout = 5
'''


def test_mysql_debian_files_give_the_default():
    main, problems = _svcconf.mysql_options(MY_CNF, '/etc/mysql/my.cnf')
    server, more = _svcconf.mysql_options(DEBIAN_SERVER_CNF, '/etc/mysql/mariadb.conf.d/50-server.cnf')
    assert problems == more == 0
    assert any(o['name'] == 'bind_address' and o['value'] == '127.0.0.1' for o in server)
    _values, idle, problems = _svcconf.mysql_timeouts(main + server)
    assert (idle['key'], idle['value_s'], idle['default'], problems) == ('wait_timeout', 28800.0, True, 0)


def test_mysql_option_files():
    main, problems = _svcconf.mysql_options(MY_CNF, '/etc/mysql/my.cnf')
    assert problems == 0 and [(o['name'], o['value']) for o in main if o['group'] is None] == [
        ('!includedir', '/etc/mysql/conf.d/'), ('!includedir', '/etc/mysql/mariadb.conf.d/')]
    server, problems = _svcconf.mysql_options(SERVER_CNF, '/etc/mysql/mariadb.conf.d/50-server.cnf')
    assert problems == 0
    values, idle, problems = _svcconf.mysql_timeouts(main + server)
    assert problems == 0
    # [client]'s wait_timeout is not the server's
    assert (idle['key'], idle['value_s'], idle['line'], idle['default']) == ('wait_timeout', 600.0, 8, False)
    assert values[1] == {'key': 'interactive_timeout', 'value_s': 28800.0, 'file': None, 'line': None, 'default': True,
                         'context': 'default'}
    defaults, overrides = _svcconf.mysql_argv(['/usr/sbin/mariadbd', '--defaults-file=/etc/mysql/my.cnf',
                                               '--wait_timeout=30', '--skip-grant-tables'])
    assert defaults == '/etc/mysql/my.cnf'
    _values, idle, _p = _svcconf.mysql_timeouts(main + server + overrides)
    assert (idle['value_s'], idle['context']) == (30.0, 'command line')


@pytest.mark.parametrize('text, problems', [
    ('wait_timeout = 5\n', 1),                 # an option before any [group]
    ('[mysqld]\nwait_timeout = soon\n', 0),    # read, then not understood by mysql_timeouts
    ('[mysqld\n', 1), ('[mysqld]\n=5\n', 1), ('\x00\x01', 1),
])
def test_mysql_bad_lines(text, problems):
    options, found = _svcconf.mysql_options(text, 'f')
    assert found == problems
    _values, idle, bad = _svcconf.mysql_timeouts(options)
    assert idle['default'] is True and bad == (1 if 'soon' in text else 0)


def test_follow_config_expands_includes_in_order(tmp_path):
    from ansible_collections.connreset.doctor.plugins.module_utils import _endpoint_stack
    from ansible_collections.connreset.doctor.plugins.module_utils._common import System
    conf = tmp_path / 'postgresql.conf'
    (tmp_path / 'conf.d').mkdir()
    conf.write_text("idle_session_timeout = 10s\ninclude_dir = 'conf.d'\ninclude_if_exists = 'missing.conf'\n"
                    "include 'gone.conf'\n")
    (tmp_path / 'conf.d' / '50-a.conf').write_text("idle_session_timeout = '5min'\ninclude '../loop.conf'\n")
    (tmp_path / 'loop.conf').write_text("include 'conf.d/50-a.conf'\n")   # includes itself over and over: bounded
    (tmp_path / 'conf.d' / 'notes.txt').write_text('idle_session_timeout = 1s\n')
    entries, problems, error = _endpoint_stack.follow_config(System(), str(conf), _svcconf.postgres_directives,
                                                             _endpoint_stack._postgres_includes)
    assert error is None and problems >= 1       # include 'gone.conf' (required) is missing; the loop is cut
    values, idle, _p = _svcconf.postgres_timeouts(entries)
    assert idle['value_s'] == 300.0 and idle['file'].endswith('50-a.conf')
    assert _endpoint_stack.follow_config(System(), str(tmp_path / 'nope.conf'), _svcconf.postgres_directives,
                                         _endpoint_stack._postgres_includes)[0] is None
