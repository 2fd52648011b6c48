# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""uWSGI's idle timeouts (_uwsgi): argv and INI as uWSGI 2.0.21 (Debian 12's uwsgi-core) reads them
(core/init.c, core/ini.c, proto/http.c, plugins/http/http.c; see the module's docstring)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _uwsgi as up

APP = '/etc/uwsgi/apps-enabled/app.ini'
DEB_DEFAULT = '/usr/share/uwsgi/conf/default.ini'


def by_key(values):
    return {v['key']: v for v in values}


# ---------------------------------------------------------------- uwsgi_cli
@pytest.mark.parametrize('argv, ini, names', [
    (['/usr/bin/uwsgi', '--ini', APP], APP, ['ini']),
    (['/usr/bin/uwsgi', '--ini=' + APP], APP, ['ini']),
    (['uwsgi', APP], APP, ['ini']),
    (['uwsgi', '--http-socket', ':8000', '--wsgi-file', 'app.py',
      '--http-keepalive'], None, ['http-socket', 'wsgi-file', 'http-keepalive']),
    # positional ini is loaded after all options (getopt permutes argv)
    (['uwsgi', 'app.ini', '--master', '-z', '7'], 'app.ini',
     ['master', 'socket-timeout', 'ini']),
    (['uwsgi', '-Mz10'], None, ['master', 'socket-timeout']),
    (['uwsgi', '--', '--not-an-option.ini'], '--not-an-option.ini', ['ini']),
    (['uwsgi', '--ini', DEB_DEFAULT, '--ini', APP, '--daemonize',
      '/var/log/uwsgi/app/app.log'], DEB_DEFAULT, ['ini', 'ini', 'daemonize']),
    (['uwsgi', '[skipped]'], None, []),
])
def test_cli(argv, ini, names):
    r = up.uwsgi_cli(argv)
    assert r['ini'] == ini
    assert [o['name'] for o in r['options']] == names


@pytest.mark.parametrize('argv, name, value', [
    (['uwsgi', '--socket-timeout', '10'], 'socket-timeout', '10'),
    (['uwsgi', '--socket-timeout=10'], 'socket-timeout', '10'),
    (['uwsgi', '-z', '10'], 'socket-timeout', '10'),
    (['uwsgi', '-z10'], 'socket-timeout', '10'),
    (['uwsgi', '--http-keepalive'], 'http-keepalive', None),
    (['uwsgi', '--http-keepalive=75'], 'http-keepalive', '75'),
    # required_argument takes the next word even if it starts with '-'
    (['uwsgi', '--http-timeout', '-5'], 'http-timeout', '-5'),
])
def test_cli_values(argv, name, value):
    o = up.uwsgi_cli(argv)['options']
    assert o[0]['name'] == name and o[0]['value'] == value
    assert o[0]['line'] is None


# ---------------------------------------------------------------- uwsgi_ini
INI_BASIC = """# Debian-style app config
[uwsgi]
plugins = python3
http-socket = :8000
socket-timeout = 30
; comment
  http-timeout=90  \r
master
"""


def test_ini_basic():
    opts, problems = up.uwsgi_ini(INI_BASIC, APP)
    assert problems == 0
    d = {o['name']: o for o in opts}
    assert d['socket-timeout']['value'] == '30'
    assert d['socket-timeout']['line'] == 5
    assert d['socket-timeout']['file'] == APP
    assert d['http-timeout']['value'] == '90'
    assert d['master']['value'] == ''     # no '=' -> empty value (core/ini.c)


@pytest.mark.parametrize('text, path, expected', [
    ('[other]\nsocket-timeout = 9\n', APP, []),
    ('[UWSGI]\nsocket-timeout = 9\n', APP, []),              # case-sensitive
    ('[uwsgi]\nsocket-timeout = 9\n[other]\nsocket-timeout = 1\n', APP,
     [('socket-timeout', '9')]),
    ('[prod]\nsocket-timeout = 9\n', APP + ':prod', [('socket-timeout', '9')]),
    ('[uwsgi]\nsocket-timeout = 9 # not a comment\n', APP,
     [('socket-timeout', '9 # not a comment')]),
    ('[uwsgi]\n#socket-timeout = 9\n;http-timeout = 1\n', APP, []),
    ('[uwsgi]\nsocket-timeout = 1\x002\n', APP, [('socket-timeout', '1')]),
    ('socket-timeout = 9\n', APP, []),                       # no section
    ('[uwsgi]\nk = a=b\n', APP, [('k', 'a=b')]),
    ('[uwsgi]\nsocket-timeout = 5', APP, [('socket-timeout', '5')]),  # no \n
    ('[uwsgi]\r\nsocket-timeout = 5\r\n', APP, [('socket-timeout', '5')]),
])
def test_ini_table(text, path, expected):
    opts, problems = up.uwsgi_ini(text, path)
    assert [(o['name'], o['value']) for o in opts] == expected
    assert problems == 0


# ----------------------------------------------------------- uwsgi_timeouts
def test_defaults_plain():
    values, idle, problems = up.uwsgi_timeouts(['uwsgi', '--socket', ':3031'])
    d = by_key(values)
    assert d['socket-timeout']['value_s'] == 4.0
    assert d['socket-timeout']['default'] is True
    assert d['socket-timeout']['context'] == 'default'
    assert d['socket-timeout']['file'] is None
    assert d['http-timeout']['value_s'] == 60.0
    assert d['http-keepalive']['value_s'] == 0.0
    assert d['http-headers-timeout']['value_s'] == 60.0
    assert idle is None and problems == 0


@pytest.mark.parametrize('argv, idle_key, idle_s', [
    # http-socket closes after every response: no idle keep-alive
    (['uwsgi', '--http-socket', ':8000', '--wsgi-file', 'app.py',
      '--http-keepalive'], None, None),
    (['uwsgi', '--http-socket', ':8000', '--socket-timeout', '30'], None, None),
    # http11-socket: kept connection waits socket-timeout
    (['uwsgi', '--http11-socket', ':8000'], 'socket-timeout', 4.0),
    (['uwsgi', '--http11-socket', ':8000', '-z', '20'], 'socket-timeout', 20.0),
    (['uwsgi', '--socket', ':8000', '--protocol', 'http11'],
     'socket-timeout', 4.0),
    # router without keepalive: none kept
    (['uwsgi', '--http', ':8000', '--wsgi-file', 'app.py'], None, None),
    # --http-keepalive (value 1): idle ends after http-timeout
    (['uwsgi', '--http', ':8000', '--http-keepalive'], 'http-timeout', 60.0),
    (['uwsgi', '--http', ':8000', '--http-keepalive', '--http-timeout', '15'],
     'http-timeout', 15.0),
    (['uwsgi', '--http', ':8000', '--http-keepalive=1', '--http-timeout=0'],
     'http-timeout', 60.0),
    # value > 1 is its own timeout
    (['uwsgi', '--http', ':8000', '--http-keepalive=75'], 'http-keepalive', 75.0),
    (['uwsgi', '--http', ':8000', '--http-keepalive=0'], None, None),
])
def test_idle_close(argv, idle_key, idle_s):
    values, idle, problems = up.uwsgi_timeouts(argv)
    assert problems == 0
    if idle_key is None:
        assert idle is None
    else:
        assert idle['key'] == idle_key and idle['value_s'] == idle_s


def test_keepalive_space_value_is_positional():
    # getopt: optional argument only with '='; "75" becomes a positional
    # config file uWSGI cannot load -> counted as a problem
    values, idle, problems = up.uwsgi_timeouts(
        ['uwsgi', '--http', ':8000', '--http-keepalive', '75'])
    assert problems == 1
    assert by_key(values)['http-keepalive']['raw'] == 1
    assert idle['key'] == 'http-timeout'


APP_INI = """[uwsgi]
plugins = python3,http
http = :8080
http-keepalive = 30
http-timeout = 20
socket-timeout = 10
"""


def test_ini_values_and_context():
    values, idle, problems = up.uwsgi_timeouts(
        ['/usr/bin/uwsgi', '--ini', APP], APP_INI, APP,
        cmdline_source='/proc/123/cmdline')
    d = by_key(values)
    assert problems == 0
    assert d['http-keepalive']['value_s'] == 30.0
    assert d['http-keepalive']['file'] == APP
    assert d['http-keepalive']['line'] == 4
    assert d['http-keepalive']['context'] == 'config'
    assert d['http-keepalive']['default'] is False
    assert idle['key'] == 'http-keepalive' and idle['value_s'] == 30.0
    assert d['http-headers-timeout']['value_s'] == 20.0  # follows http-timeout


@pytest.mark.parametrize('argv, expect_s, expect_ctx', [
    # later wins: cli after --ini beats the ini
    (['uwsgi', '--ini', APP, '--socket-timeout', '99'], 99.0, 'command line'),
    # cli before --ini: the ini wins
    (['uwsgi', '--socket-timeout', '99', '--ini', APP], 10.0, 'config'),
    # positional ini is loaded after all options: the ini wins
    (['uwsgi', APP, '--socket-timeout', '99'], 10.0, 'config'),
    (['uwsgi', '--ini', APP, '--set', 'socket-timeout=42'], 42.0,
     'command line'),
])
def test_precedence(argv, expect_s, expect_ctx):
    values, idle, problems = up.uwsgi_timeouts(argv, APP_INI, APP,
                                               cmdline_source='/proc/1/cmdline')
    e = by_key(values)['socket-timeout']
    assert problems == 0
    assert e['value_s'] == expect_s and e['context'] == expect_ctx
    if expect_ctx == 'command line':
        assert e['file'] == '/proc/1/cmdline' and e['line'] is None


def test_debian_two_inis_dict():
    texts = {DEB_DEFAULT: '[uwsgi]\nmaster = true\nsocket-timeout = 5\n',
             APP: '[uwsgi]\nhttp11-socket = :8000\nsocket-timeout = 8\n'}
    argv = ['/usr/bin/uwsgi', '--ini', DEB_DEFAULT, '--ini', APP,
            '--daemonize', '/var/log/uwsgi/app/app.log']
    values, idle, problems = up.uwsgi_timeouts(argv, texts)
    assert problems == 0
    assert idle['key'] == 'socket-timeout' and idle['value_s'] == 8.0
    assert idle['file'] == APP and idle['line'] == 3


def test_unread_second_ini_is_problem():
    argv = ['/usr/bin/uwsgi', '--ini', DEB_DEFAULT, '--ini', APP]
    values, idle, problems = up.uwsgi_timeouts(argv, APP_INI, APP)
    assert problems == 1               # default.ini not given
    assert idle['key'] == 'http-keepalive'


def test_nested_ini_in_ini():
    texts = {APP: '[uwsgi]\nhttp = :80\nini = /etc/uwsgi/common.ini\n'
                  'http-keepalive = 5\n',
             '/etc/uwsgi/common.ini': '[uwsgi]\nhttp-keepalive = 50\n'}
    values, idle, problems = up.uwsgi_timeouts(['uwsgi', '--ini', APP], texts)
    assert problems == 0
    assert idle['value_s'] == 5.0      # defined after the include: wins


def test_ini_section_suffix():
    text = '[uwsgi]\nsocket-timeout = 1\n[prod]\nsocket-timeout = 2\n'
    values, _idle, problems = up.uwsgi_timeouts(['uwsgi', '--ini', APP + ':prod'], text, APP)
    assert problems == 0
    assert by_key(values)['socket-timeout']['value_s'] == 2.0


# --------------------------------------------------------------- malformed
@pytest.mark.parametrize('value', [
    'abc', '', '10s', '1.5', '-3', '99999999999', '%(timeout)', '$(TIMEOUT)',
    'true', '10 # comment',
])
def test_malformed_counted(value):
    text = '[uwsgi]\nhttp = :80\nhttp-keepalive = %s\n' % value
    values, idle, problems = up.uwsgi_timeouts(['uwsgi', '--ini', APP], text)
    e = by_key(values)['http-keepalive']
    assert problems == 1
    assert e['value_s'] is None and e['raw'] is None and 'problem' in e
    assert idle is None                # unknown


@pytest.mark.parametrize('value, s', [('0', 0.0), ('+7', 7.0), (' 12 ', 12.0)])
def test_wellformed_edge(value, s):
    values, _idle, problems = up.uwsgi_timeouts(['uwsgi', '-z', value])
    assert problems == 0
    assert by_key(values)['socket-timeout']['value_s'] == s


@pytest.mark.parametrize('argv, min_problems', [
    (['uwsgi', '--socket-timeout'], 1),               # missing argument
    (['uwsgi', '--master=yes'], 1),                   # no_argument with =
    (['uwsgi', '-%'], 1),                             # unknown short option
    (['uwsgi', '--xml', '/etc/uwsgi/app.xml'], 1),    # unsupported loader
    (['uwsgi', '/etc/uwsgi/app.yaml'], 1),
    (['uwsgi', '--ini', APP], 1),                     # ini text not given
    (['uwsgi', 42, None], 2),                         # non-str args
    (['uwsgi', '--set', 'novalue'], 1),
])
def test_cli_problems(argv, min_problems):
    values, idle, problems = up.uwsgi_timeouts(argv)
    assert problems >= min_problems
    assert len(values) == 4


# ------------------------------------------------------------------ hostile
@pytest.mark.parametrize('argv', [
    None, 'uwsgi --http :80', 42, [], [None], {'a': 1}, ['uwsgi', b'--http'],
    ['uwsgi'] + ['--http-keepalive'] * 5000,
    ['uwsgi'] + ['-z'] * 3000,
    ['uwsgi', '-' + 'M' * 100000],
    ['uwsgi', '--' + 'x' * 10 ** 6, 'y' * 10 ** 6],
])
def test_hostile_argv_never_raises(argv):
    values, idle, problems = up.uwsgi_timeouts(argv)
    assert isinstance(values, list) and isinstance(problems, int)


def test_args_bounded():
    argv = ['uwsgi'] + ['--socket-timeout=%d' % i for i in range(5000)]
    r = up.uwsgi_cli(argv)
    assert len(r['options']) < up.MAX_ARGS
    assert r['problems'] >= 1


@pytest.mark.parametrize('text', [
    None, 42, b'[uwsgi]\nsocket-timeout = 3\n', '[', '[]', ']', '=', '[uwsgi]\n=\n',
    '\x00' * 1000, '[uwsgi]\n' + 'a = b\n' * 100000,
    '[uwsgi]\nsocket-timeout = ' + '9' * 2000000, '\u2028[uwsgi]\u2028',
    {'x': 1}, {APP: None}, {APP: 42},
])
def test_hostile_ini_never_raises(text):
    values, idle, problems = up.uwsgi_timeouts(['uwsgi', '--ini', APP], text,
                                               APP)
    assert isinstance(values, list) and isinstance(problems, int)
    opts, p = up.uwsgi_ini(text, APP)
    assert isinstance(opts, list) and isinstance(p, int)


def test_bytes_ini_decoded():
    opts, p = up.uwsgi_ini(b'[uwsgi]\nsocket-timeout = 3\n', APP)
    assert p == 0 and opts[0]['value'] == '3'


def test_ini_lines_bounded():
    text = '[uwsgi]\n' + 'socket-timeout = 1\n' * (up.MAX_INI_LINES + 10)
    opts, p = up.uwsgi_ini(text, APP)
    assert len(opts) < up.MAX_INI_LINES and p >= 1


def test_self_include_bounded():
    texts = {APP: '[uwsgi]\nini = %s\nsocket-timeout = 3\n' % APP}
    values, _idle, problems = up.uwsgi_timeouts(['uwsgi', '--ini', APP], texts)
    assert problems >= 1
    assert by_key(values)['socket-timeout']['value_s'] == 3.0


def test_unicode_separator_not_a_newline():
    # core/ini.c splits on '\n' only
    opts, _problems = up.uwsgi_ini('[uwsgi]\u2028socket-timeout = 3\n', APP)
    assert opts == []


# core/ini.c: FILE:section splits at the last ':' (after the last '/' when the name is a URL); the collector reads
# the file by the same base the parser looks it up by.
@pytest.mark.parametrize('name, split', [
    ('/etc/uwsgi/apps-enabled/app.ini', ('/etc/uwsgi/apps-enabled/app.ini', 'uwsgi')),
    ('/etc/uwsgi/apps-enabled/app.ini:prod', ('/etc/uwsgi/apps-enabled/app.ini', 'prod')),
    ('app.ini:', ('app.ini', 'uwsgi')),
    ('http://cfg:8080/app.ini:prod', ('http://cfg:8080/app.ini', 'prod')),
])
def test_split_section(name, split):
    assert up.split_section(name) == split
