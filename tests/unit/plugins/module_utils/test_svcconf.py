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
