# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TCP wrappers (libwrap): parse hosts.allow / hosts.deny and decide access as libwrap does.

Private to this collection.  The semantics follow Debian's libwrap 7.6.q (hosts_access.c,
options.c, built with PROCESS_OPTIONS, ACLEXEC, NETGROUP and INET6) and were checked
against its reference evaluator ``tcpdmatch`` (tests/system/test_tcp_wrappers_tcpdmatch.py):

* logical lines: a backslash before the newline joins physical lines; a line that does not
  end in a newline (the last line of a file without one) is ignored by libwrap; a line is a
  comment only when its first character is ``#`` (an indented ``#`` is part of a rule);
* ``daemon_list : client_list [: option : option ...]``, split at the first ``:`` outside
  ``[...]``; list elements separated by blanks and/or commas; ``EXCEPT`` right-associative;
* patterns: ``ALL``, ``KNOWN``, ``UNKNOWN``, ``LOCAL``, ``PARANOID``, ``.domain`` suffixes,
  ``n.n.`` prefixes, ``n.n.n.n/m.m.m.m`` and ``n.n.n.n/len`` (host bits set: never matches),
  ``[v6]`` and ``[v6]/len``, ``*``/``?`` wildcards, ``/file`` (a file of
  patterns), ``@netgroup``, ``user@host``, ``daemon@host``;
* options (hosts_options(5)): first error denies service, ``allow``/``deny`` decide,
  ``twist`` hands the connection to a command, ``aclexec`` lets a command's exit status
  decide.  Options are parsed, never executed.

Matching is three-valued: a pattern that needs the client's host name (DNS), its user name
(IDENT) or the server endpoint, when those are not given, makes the verdict ``unknown``
with the reason, unless the outcome is the same either way.

Host names are looked up as libwrap does at connection time (socket.c ``sock_hostname()``,
INET6 build): only when a pattern needs one (eval.c ``eval_hostname()`` is lazy), a reverse
lookup (``getnameinfo(NI_NAMEREQD)``; none → ``unknown``), a numeric answer refused
(``paranoid``), then a forward lookup of that name in the address's family whose canonical name
must equal it (``strcasecmp``, except for ``localhost``) and whose addresses must hold the
client's (else ``paranoid``).  Each lookup runs in a worker thread under a timeout; only a
lookup that did not finish leaves a verdict ``unknown``.

A ``/file`` pattern file that includes itself (directly or through other files) is never
expanded twice: libwrap opens it again for every reference and recurses until its stack or its
file descriptors run out (tcpdmatch 7.6.q-32 dies of SIGSEGV, and with many references and few
descriptors it runs for ever), so a client whose evaluation reaches the loop gets no service:
the verdict is ``denied`` naming the rule, and the rule is reported in ``errors``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import math
import os
import re
import socket
import struct
import time

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, BudgetExceeded, OptionError, controller_address, permission_hint, result, summarize,
)

ARGUMENT_SPEC = dict(
    allow_path=dict(type='path', default='/etc/hosts.allow'),
    deny_path=dict(type='path', default='/etc/hosts.deny'),
    daemon=dict(type='str', default='sshd'),
    clients=dict(type='list', elements='str'),
    sshd_path=dict(type='path'),
    name_lookups=dict(type='bool', default=True),
    lookup_timeout=dict(type='float', default=5.0),
)

# Name lookups: the default and largest timeout of one lookup (reverse + forward), the time all
# lookups of one call may wait in total, and the duration above which a lookup is called slow
# (libwrap waits for it before sshd sends its banner; so does sshd itself with UseDNS yes).
DEFAULT_LOOKUP_TIMEOUT = 5.0
MAX_LOOKUP_TIMEOUT = 60.0
MAX_LOOKUP_WAIT_S = 60.0
SLOW_LOOKUP_S = 1.0
# At most this many client addresses per call (each may need a bounded lookup).
MAX_CLIENTS = 1000
# The time budget of the tcp_wrappers_facts module (reset_facts gives each collector its own):
# past it the facts are partial, with what was read.
MODULE_BUDGET_S = 120.0
# libwrap's STRING_LENGTH (tcpd.h): host names, addresses and the daemon name are kept in
# char[128] buffers, so a longer name is cut to 127 characters (STRN_CPY).
STRING_LENGTH = 128
HOSTS_FILE = '/etc/hosts'
NSSWITCH_FILE = '/etc/nsswitch.conf'
# The deadline is checked every this many pattern matches and table lines.
CHECK_EVERY = 256

GRANTED = 'granted'
DENIED = 'denied'
UNKNOWN_ACCESS = 'unknown'

# libwrap's list separators (hosts_access.c ``sep``) and its logical line buffer (BUFLEN).
SEP = ', \t\r\n'
BUFLEN = 2048


class _NotResolved(object):
    """Marker: this piece of information (host name, user, server) was not looked up."""

    def __repr__(self):
        return 'NOT_RESOLVED'


NOT_RESOLVED = _NotResolved()
# libwrap's names for a host name it could not find, and for one whose forward lookup does
# not give the address back (PARANOID).
UNKNOWN_NAME = 'unknown'
PARANOID_NAME = 'paranoid'

# DenyHosts and fail2ban's hostsdeny action append one rule per banned address: the fact
# lists the first MAX_RULES rules and errors (all of them are evaluated) and gives the totals.
MAX_RULES = 500

SSHD_CANDIDATES = ('/usr/sbin/sshd', '/usr/lib/openssh/sshd-session', '/usr/libexec/openssh/sshd-session',
                   '/usr/libexec/sshd-session', '/usr/sbin/sshd-session')

# options.c: name → (needs a value, accepts a value, must be last)
OPTIONS = {
    'user': (True, True, False),
    'group': (True, True, False),
    'umask': (True, True, False),
    'linger': (True, True, False),
    'keepalive': (False, False, False),
    'spawn': (True, True, False),
    'twist': (True, True, True),
    'rfc931': (False, True, False),
    'setenv': (True, True, False),
    'nice': (False, True, False),
    'severity': (True, True, False),
    'allow': (False, False, True),
    'deny': (False, False, True),
    'banners': (True, True, False),
    'aclexec': (True, True, False),
}
# options.c severity_option(): facility and level names (case-insensitive).
SYSLOG_FACILITIES = ('kern', 'user', 'mail', 'daemon', 'auth', 'lpr', 'news', 'uucp', 'cron',
                     'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7')
SYSLOG_LEVELS = ('emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug')


# ---------------------------------------------------------------------------------------
# addresses, the way libwrap and glibc see them
# ---------------------------------------------------------------------------------------
def _c_number(text):
    """strtoul(text, 0) as inet_aton uses it: 0x.. hex, 0.. octal, else decimal; None if bad."""
    if not text:
        return None
    try:
        if text[:2].lower() == '0x':
            return int(text[2:], 16) if text[2:] else 0
        if text.startswith('0') and len(text) > 1:
            return int(text[1:], 8)
        if not text.isdigit():
            return None
        return int(text, 10)
    except ValueError:
        return None


def dot_quad(text):
    """libwrap's dot_quad_addr(): four dot-separated parts accepted by inet_addr(), as an int.

    None when it is not such an address, or is 255.255.255.255 (INADDR_NONE, as in C).
    """
    if len([run for run in text.split('.') if run]) != 4:
        return None
    parts = text.split('.')
    if len(parts) != 4:
        return None
    values = [_c_number(part) for part in parts]
    if any(v is None or v > 255 for v in values):
        return None
    value = (values[0] << 24) | (values[1] << 16) | (values[2] << 8) | values[3]
    return None if value == 0xffffffff else value


def parse_v6(text):
    """IPv6 text → 16 bytes (getaddrinfo AI_NUMERICHOST, so a %scope is refused), or None."""
    if '%' in text:
        return None
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return None


def parse_v4(text):
    """Strict dotted-quad IPv4 (inet_pton) → 4 bytes, or None."""
    try:
        return socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):
        return None


def ntop6(packed):
    """glibc inet_ntop(AF_INET6) text: longest zero run (>= 2 words) compressed, v4 tails."""
    words = [(packed[i] << 8) | packed[i + 1] for i in range(0, 16, 2)]
    best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for i, word in enumerate(words):
        if word == 0:
            if cur_base == -1:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
        elif cur_base != -1:
            if cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if cur_base != -1 and cur_len > best_len:
        best_base, best_len = cur_base, cur_len
    if best_len < 2:
        best_base = -1
    out = ''
    i = 0
    while i < 8:
        if best_base != -1 and best_base <= i < best_base + best_len:
            if i == best_base:
                out += ':'
            i += 1
            continue
        if i:
            out += ':'
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xffff)):
            out += '%d.%d.%d.%d' % tuple(bytearray(packed[12:16]))
            break
        out += '%x' % words[i]
        i += 1
    if best_base != -1 and best_base + best_len == 8:
        out += ':'
    return out


def normalize_client(text):
    """A client address as libwrap prints it (inet_ntop), or None when it is not an address."""
    text = (text or '').strip()
    if parse_v4(text) is not None:
        return text
    packed = parse_v6(text)
    if packed is not None:
        return ntop6(packed)
    return None


# ---------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------
def split_at(text, delimiter):
    """hosts_access.c split_at() (IPv6 version): split at the first ``delimiter`` outside
    brackets; returns (head, tail) with tail None when there is none.

    A ``]`` before any ``[`` makes the depth negative, and libwrap then splits nowhere after it;
    without brackets this is str.find (the character loop only runs on text with brackets).
    """
    if '[' not in text and ']' not in text:
        index = text.find(delimiter)
        return (text, None) if index < 0 else (text[:index], text[index + 1:])
    bracket = 0
    for index, char in enumerate(text):
        if char == '[':
            bracket += 1
        elif char == ']':
            bracket -= 1
        elif bracket == 0 and char == delimiter:
            return text[:index], text[index + 1:]
    return text, None


def tokens(text):
    """strtok(text, sep): the non-empty runs between separators."""
    return [tok for tok in re.split('[' + re.escape(SEP) + ']+', text or '') if tok]


def logical_lines(text, check=None):
    """Emulate libwrap's xgets(): yields (first_line, last_line, text, terminated).

    ``text`` has the backslash-newline pairs removed and no final newline; ``terminated`` is
    False for a last line without a newline (libwrap warns and ignores it).  ``check`` is
    called every 65,536 physical lines (millions of continued lines make one logical line).
    """
    physical = text.split('\n')
    ends_with_newline = text.endswith('\n')
    if ends_with_newline:
        physical = physical[:-1]
    buf = ''
    first = None
    for number, line in enumerate(physical, 1):
        if check is not None and not number & 0xffff:
            check()
        if first is None:
            first = number
        is_last = number == len(physical)
        terminated = not is_last or ends_with_newline
        if terminated and line.endswith('\\'):
            buf += line[:-1]
            continue
        buf += line
        yield first, number, buf, terminated
        buf = ''
        first = None
    if first is not None:
        # A continuation on the last line of the file: the rule never got its newline.
        yield first, len(physical), buf, False


def _sscanf_int(value, base=10):
    """sscanf(value, "%d%c") == 1 (or %o): an optionally signed number and nothing else."""
    digits = '0-7' if base == 8 else '0-9'
    return re.match(r'^\s*[-+]?[%s]+$' % digits, value or '') is not None


def get_fields(text):
    """options.c get_field(): split at ':' not preceded by a backslash; '\\:' becomes ':'."""
    if '\\' not in text:
        # the same fields as the loop below: no field after a final ':' (nor for empty text)
        fields = text.split(':')
        if fields[-1] == '':
            fields.pop()
        return fields
    fields, index, size = [], 0, len(text)
    while index < size:
        current = ''
        while index < size:
            char = text[index]
            if char == ':':
                index += 1
                break
            if char == '\\' and text[index + 1:index + 2] == ':':
                index += 1
                char = ':'
            current += char
            index += 1
        fields.append(current)
    return fields


# name, then blanks and at most one '=' with blanks, then the value (options.c get_field/chop_string)
_OPTION_RE = re.compile(r'^([^= \t\r\n]*)[ \t\r\n]*(?:=[ \t\r\n]*)?(.*)$', re.S)


def parse_options(text):
    """The option field of a rule → list of {name, value, error} (error None when fine).

    Follows options.c process_options(): exactly one '=' or blanks between name and value;
    unknown names, missing or unexpected values, a last-only option followed by more, and
    values its handler refuses are errors (libwrap then denies service).  libwrap stops at the
    first error (tcpd_jump), and so does this: the list ends with the option in error.
    """
    options = []
    if text is None:
        return options
    fields = get_fields(text)
    for index, field in enumerate(fields):
        option = field.strip(' \t\r\n\v\f')
        match = _OPTION_RE.match(option)
        key, value = match.group(1), match.group(2)
        value = value if value != '' else None
        entry = {'name': key.lower(), 'value': value, 'error': None}
        options.append(entry)
        has_next = index + 1 < len(fields)
        if not key:
            entry['error'] = 'missing option name'
        elif key.lower() not in OPTIONS:
            entry['error'] = 'bad option name: "%s"' % key
        else:
            need, permit, last = OPTIONS[key.lower()]
            if value is None and need:
                entry['error'] = 'option "%s" requires value' % key
            elif value is not None and not permit:
                entry['error'] = 'option "%s" requires no value' % key
            elif has_next and last:
                entry['error'] = 'option "%s" must be at end' % key
            else:
                entry['error'] = _option_value_error(key.lower(), value)
        if entry['error']:
            break
    return options


def _option_value_error(name, value):
    """The error options.c's handler raises for ``value`` (checks that do not depend on the
    host: users and groups are not looked up here)."""
    if value is None:
        return None
    if name == 'umask':
        if not _sscanf_int(value, 8) or int(value.strip(), 8) < 0 or int(value.strip(), 8) & ~0o777:
            return 'bad umask value: "%s"' % value
    elif name == 'linger' and not _sscanf_int(value):
        return 'bad linger value: "%s"' % value
    elif name == 'nice' and not _sscanf_int(value):
        return 'bad nice value: "%s"' % value
    elif name == 'rfc931' and (not _sscanf_int(value) or int(value) <= 0):
        return 'bad rfc931 timeout: "%s"' % value
    elif name == 'severity':
        facility, level = split_at(value, '.')
        if level is None:
            level, facility = facility, None
        if facility is not None and facility.lower() not in SYSLOG_FACILITIES:
            return 'bad syslog facility or severity: "%s"' % facility
        if level.lower() not in SYSLOG_LEVELS:
            return 'bad syslog facility or severity: "%s"' % level
    return None


def _unbracketed_v6(after_daemons):
    """IPv6 addresses written without brackets in the text after the daemon list."""
    found = []
    for word in re.split(r'[\s,]+', after_daemons):
        candidate = word.split('/')[0]
        if candidate.count(':') >= 2 and parse_v6(candidate) is not None and not word.startswith('['):
            found.append(word)
    return found


def _check_pattern(tok):
    """Static problems of one client/host pattern: a message or None."""
    head, mask = split_at(tok, '/')
    if tok.startswith(('/', '@')) or mask is None:
        return None
    if head.startswith('[') and head.endswith(']'):
        if parse_v6(head[1:-1]) is None:
            return 'bad IPv6 network in %s: it never matches' % tok
        if _v6_prefix(mask) is None:
            return 'bad IPv6 prefix length in %s: it never matches' % tok
        return None
    net = dot_quad(head)
    bits = _mask_bits(mask)
    if mask == '255.255.255.255':
        return ('mask 255.255.255.255 in %s is not valid for libwrap: it never matches; write the address alone '
                'or %s/32' % (tok, head))
    if net is None or bits is None:
        return 'bad net/mask expression %s: it never matches (use n.n.n.n/m.m.m.m, n.n.n.n/len or [v6]/len)' % tok
    if net & ~bits & 0xffffffff:
        return 'host bits not all zero in %s: libwrap compares the masked address with it, so it never matches' % tok
    return None


def parse(text, path, check=None):
    """hosts.allow / hosts.deny text → (rules, errors).

    ``check``: called every CHECK_EVERY lines (the collector's deadline).

    rules: [{file, line, end_line, text, daemons, clients, options}] — ``line`` is the first
    physical line, ``end_line`` the last (libwrap's own messages name the last).  ``options``
    is None when the rule has no option field, else [{name, value, error}].
    errors: [{file, line, text, reason}] for lines libwrap skips or misreads.
    """
    rules, errors = [], []

    def error(line, raw, reason, stops=False):
        entry = {'file': path, 'line': line, 'text': raw, 'reason': reason}
        if stops:
            entry['stops'] = True
        errors.append(entry)

    for count, (first, last, line, terminated) in enumerate(logical_lines(text or '', check), 1):
        if check is not None and not count % CHECK_EVERY:
            check()
        blank = line.strip(' \t\r\n') == ''
        if not terminated:
            if not blank or line:
                error(first, line, 'missing newline at the end of the file: libwrap ignores this line, and in '
                      'hosts.deny it then denies every client no earlier rule decided', stops=True)
            break
        if len(line) + 1 >= BUFLEN:
            error(first, line[:200], 'rule longer than %d characters: libwrap stops reading the file here (and '
                  'denies every client no earlier rule decided when this is hosts.deny)' % (BUFLEN - 2), stops=True)
            break
        if line.startswith('#') or blank:
            continue
        daemons_text, rest = split_at(line, ':')
        if rest is None:
            error(first, line, 'missing ":" separator: libwrap skips this line')
            continue
        # libwrap's line keeps its newline: it ends the last option field, so "allow:" is
        # followed by an empty option ("allow" must be at end) and "ALL:" has one.
        clients_text, options_text = split_at(rest + '\n', ':')
        rule = {
            'file': path, 'line': first, 'end_line': last, 'text': line,
            'daemons': tokens(daemons_text), 'clients': tokens(clients_text),
            'options': parse_options(options_text) if options_text is not None else None,
        }
        rules.append(rule)
        if line.lstrip(' \t').startswith('#'):
            error(first, line, 'indented "#" is not a comment for libwrap: this line is read as a rule')
        if not rule['daemons'] or rule['daemons'][0].upper() == 'EXCEPT':
            error(first, line, 'empty daemon list: this rule never matches')
        if not rule['clients'] or rule['clients'][0].upper() == 'EXCEPT':
            error(first, line, 'empty client list: this rule never matches')
        for word in _unbracketed_v6(rest):
            error(first, line, 'IPv6 address %s without brackets: libwrap splits the rule at its ":" so it never '
                  'matches (and the rest is read as options); write [%s]%s' % (
                      word, word.split('/')[0], '/' + word.split('/')[1] if '/' in word else ''))
        for tok in rule['clients'] + [split_at(d[1:], '@')[1] or '' for d in rule['daemons']]:
            host = split_at(tok[1:], '@')[1] if tok and not tok.startswith('@') else None
            problem = _check_pattern(host if host is not None else tok) if tok else None
            if problem:
                error(first, line, problem)
        for option in rule['options'] or []:
            if option['error']:
                # libwrap stops at the first bad option: that one is what its log would show.
                error(first, line, 'option error (libwrap denies service when this rule matches): %s' % option['error'])
                break
    return rules, errors


def pattern_files(rules):
    """The /file patterns used by the rules (client and server host patterns)."""
    found = []
    for rule in rules:
        for tok in rule['clients'] + [split_at(d[1:], '@')[1] or '' for d in rule['daemons']]:
            host = split_at(tok[1:], '@')[1] if tok and not tok.startswith('@') else None
            tok = host if host is not None else tok
            if tok.startswith('/') and tok not in found:
                found.append(tok)
    return found


def file_patterns(text):
    """Tokens of a /file pattern file (fscanf "%s": whitespace-separated, no comments)."""
    return (text or '').split()


# ---------------------------------------------------------------------------------------
# evaluation (three-valued: True, False, None = cannot tell without a lookup).  The matching and
# the walk through the rules are _hosts_access.py, imported by evaluate() only when a table holds a
# rule or a stop.
# ---------------------------------------------------------------------------------------
def _atoi(text):
    """C atoi(): optional blanks and sign, then digits up to the first other character."""
    match = re.match(r'^[ \t\n\r\f\v]*([-+]?)([0-9]+)', text)
    if not match:
        return 0
    digits = match.group(2).lstrip('0') or '0'
    # glibc atoi() is (int) strtol(): saturated at LONG_MIN/LONG_MAX, then cut to 32 bits
    value = int(digits) if len(digits) <= 19 else 1 << 63
    value = min(value, (1 << 63) - 1) if match.group(1) != '-' else -min(value, 1 << 63)
    value &= 0xffffffff
    return value - (1 << 32) if value >= 1 << 31 else value


def _mask_bits(mask):
    """The netmask of an IPv4 net/mask expression, or None when libwrap refuses it.

    A dotted quad (255.255.255.255 excepted: it is INADDR_NONE), or a prefix length read
    as atoi() does, 1 to 32 ("/0" never matches; "/8x" is "/8"), as tcpdmatch shows.
    """
    value = dot_quad(mask)
    if value is not None:
        return value
    bits = _atoi(mask)
    if 1 <= bits <= 32:
        return (0xffffffff << (32 - bits)) & 0xffffffff
    return None


def _v6_prefix(mask):
    """Prefix length of [v6]/len as libwrap reads it (atoi, 0 to 128), or None."""
    bits = _atoi(mask)
    return bits if 0 <= bits <= 128 else None


def table_stop(errors):
    """Where libwrap stops reading a table, from parse() errors: a ``stops`` dict or None."""
    for entry in errors:
        if entry.get('stops'):
            return {'line': entry['line'], 'reason': entry['reason'], 'certain': True}
    return None


def evaluate(rules_allow, rules_deny, daemon, client, hostname=NOT_RESOLVED, user=NOT_RESOLVED,
             server_addr=NOT_RESOLVED, server_name=NOT_RESOLVED, files=None, stops=None, server_port=NOT_RESOLVED,
             name_lookup=None, server_lookup=None, check=None):
    """Decide access for one (daemon, client) as libwrap's hosts_access() does.

    ``rules_allow``/``rules_deny``: parse() results (an empty list for a missing file).
    ``stops``: {'allow'|'deny': {line, reason, certain}} where libwrap stops reading a table
    (see table_stop()); Debian's libwrap then goes on to hosts.deny from hosts.allow, and
    denies from hosts.deny.  ``certain`` False means we could not read a file that libwrap
    (running as root) may read: reaching it makes the verdict unknown.
    ``name_lookup``/``server_lookup``/``check``: see :class:`_hosts_access.Context`.
    Returns {client, daemon, access, file, line, end_line, reason, options}.
    """
    stops = stops or {}
    steps = []
    for table, rules in (('allow', rules_allow), ('deny', rules_deny)):
        for rule in rules or []:
            steps.append((table, rule))
        if stops.get(table):
            steps.append((table, stops[table]))
    if steps:
        # imported here: tables with no rule and no stop (the distributions' defaults) need no matching
        from ansible_collections.connreset.doctor.plugins.module_utils import _hosts_access
        ctx = _hosts_access.Context(daemon, client, hostname, user, server_addr, server_name, files, server_port,
                                    name_lookup=name_lookup, server_lookup=server_lookup, check=check)
        verdict = _hosts_access.walk(steps, ctx)
    else:
        verdict = no_rule_verdict()     # what the walk gives for no step, without importing it
    verdict.update({'client': client, 'daemon': daemon})
    return verdict


def _decided(access, rule, reason):
    return {'access': access, 'file': rule['file'] if rule else None, 'line': rule['line'] if rule else None,
            'end_line': rule['end_line'] if rule else None, 'reason': reason,
            'options': [dict((k, o[k]) for k in ('name', 'value')) for o in (rule['options'] or [])] if rule else []}


def no_rule_verdict():
    """The verdict when no rule matches (nor a stop decides): hosts_access() grants by default."""
    return _decided(GRANTED, None, 'no rule matches: libwrap grants access by default')


# ---------------------------------------------------------------------------------------
# host names, the way libwrap's sock_hostname() gets them
# ---------------------------------------------------------------------------------------
class LookupFailed(Exception):
    """The resolver answered, with no result (getnameinfo/getaddrinfo returned an error)."""


def default_resolver():
    """The resolver collect() uses when the System has none (tests replace this function)."""
    from ansible_collections.connreset.doctor.plugins.module_utils._hosts_access import SocketResolver
    return SocketResolver()


def _secs(value):
    return ('%.3f' % value).rstrip('0').rstrip('.')


# ---------------------------------------------------------------------------------------
# libwrap linkage (shared with the sshd collector)
# ---------------------------------------------------------------------------------------
# ELF (System V gABI, elf.h): program header types and dynamic tags read by elf_needed().
PT_LOAD = 1
PT_DYNAMIC = 2
DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5
PN_XNUM = 0xffff


def elf_needed(data):
    """The DT_NEEDED names of an ELF file (its bytes), as the dynamic loader reads them, or None.

    Reads the program headers (not the section headers, which a stripped binary may lack): the
    PT_DYNAMIC segment's DT_NEEDED entries are offsets into the string table that DT_STRTAB
    addresses, mapped to the file through the PT_LOAD segments.  32 and 64 bits, either byte
    order.  None when ``data`` is not such an ELF file (truncated, not ELF, no PT_DYNAMIC: a static
    binary), so the caller can ask ``ldd`` instead.
    """
    if len(data) < 52 or data[:4] != b'\x7fELF' or data[4:5] not in (b'\x01', b'\x02') \
            or data[5:6] not in (b'\x01', b'\x02'):
        return None
    order = '<' if data[5:6] == b'\x01' else '>'
    try:
        if data[4:5] == b'\x02':
            phoff = struct.unpack_from(order + 'Q', data, 32)[0]
            phentsize, phnum = struct.unpack_from(order + 'HH', data, 54)
            # p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz
            phdr, fields, dyn = struct.Struct(order + 'IIQQQQ'), (0, 2, 3, 5), struct.Struct(order + 'qQ')
        else:
            phoff = struct.unpack_from(order + 'I', data, 28)[0]
            phentsize, phnum = struct.unpack_from(order + 'HH', data, 42)
            # p_type, p_offset, p_vaddr, p_paddr, p_filesz
            phdr, fields, dyn = struct.Struct(order + 'IIIII'), (0, 1, 2, 4), struct.Struct(order + 'iI')
        if not phnum or phnum == PN_XNUM or phentsize < phdr.size:
            return None
        loads, dynamic = [], None
        for index in range(phnum):
            values = phdr.unpack_from(data, phoff + index * phentsize)
            p_type, p_offset, p_vaddr, p_filesz = (values[i] for i in fields)
            if p_type == PT_LOAD:
                loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == PT_DYNAMIC:
                dynamic = (p_offset, p_filesz)
        if dynamic is None:
            return None
        needed, strtab = [], None
        for index in range(dynamic[1] // dyn.size):
            tag, value = dyn.unpack_from(data, dynamic[0] + index * dyn.size)
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED:
                needed.append(value)
            elif tag == DT_STRTAB:
                strtab = value
    except struct.error:
        return None
    if strtab is None:
        return None
    bases = [strtab - p_vaddr + p_offset for p_vaddr, p_offset, p_filesz in loads if p_vaddr <= strtab < p_vaddr + p_filesz]
    if not bases:
        return None
    base = bases[0]
    names = []
    for offset in needed:
        end = data.find(b'\0', base + offset)
        if end < 0:
            return None
        names.append(data[base + offset:end].decode('utf-8', 'replace'))
    return names


def _links(names):
    return any(os.path.basename(name).startswith('libwrap.so') for name in names)


def libwrap_check(system, paths):
    """Whether any of ``paths`` (sshd, sshd-session) links libwrap — the one home of this check.

    Returns (value, binaries, reason): value True/False/None; binaries [{path, libwrap, method}]
    for the paths that exist; reason says why value is None.  ``method`` is ``elf`` when the
    file's own DT_NEEDED list answered (:func:`elf_needed`: nothing runs), ``ldd`` when that
    could not be parsed and ``ldd`` could (cached on the System: the sshd and tcp_wrappers
    collectors of one ``reset_facts`` call share it), and again ``elf`` when neither could and the
    answer is whether b'libwrap.so' (a DT_NEEDED string) is in the file.

    DT_NEEDED is what the linker recorded for the binary itself; the binary that calls libwrap's
    hosts_access() (sshd, or sshd-session from OpenSSH 9.8 on) must name libwrap there, since
    a dynamically linked binary's own undefined symbols resolve only against its direct needs.
    """
    binaries = []
    problems = []
    for path in paths:
        if not path or not system.exists(path):
            continue
        entry = {'path': path, 'libwrap': None, 'method': None}
        data, needed, problem = None, None, None
        try:
            data = system.read_bytes(path)
            needed = elf_needed(data)
        except (IOError, OSError) as exc:
            problem = permission_hint(path, exc)
        if needed is not None:
            entry.update(libwrap=_links(needed), method='elf')
        else:
            res = system.run(['ldd', path], timeout=10, cache=True)
            if res.rc == 0 and res.out:
                entry.update(libwrap='libwrap.so' in res.out, method='ldd')
            elif data is not None:
                entry.update(libwrap=b'libwrap.so' in data, method='elf')
            else:
                problems.append(problem)
        binaries.append(entry)
    values = [b['libwrap'] for b in binaries if b['libwrap'] is not None]
    if any(values):
        return True, binaries, None
    if values and len(values) == len(binaries):
        return False, binaries, None
    if not binaries:
        return None, binaries, 'no sshd binary found (looked at %s): pass sshd_path' % ', '.join(p for p in paths if p)
    return None, binaries, '; '.join(problems) or 'could not tell whether sshd links libwrap'


def links_libwrap(system, paths):
    """:func:`libwrap_check` with the binaries as ``{path: bool|None}``."""
    value, binaries, reason = libwrap_check(system, paths)
    return value, dict((b['path'], b['libwrap']) for b in binaries), reason


# ---------------------------------------------------------------------------------------
# collector
# ---------------------------------------------------------------------------------------
class _OutOfTime(Exception):
    """The collector's soft deadline passed: stop and return what was found."""


def _checker(system):
    """The deadline check the loops call: the soft deadline (return what we have) when the System
    has one, then the hard one (BudgetExceeded)."""
    soft = getattr(system, 'soft_deadline_passed', None)
    hard = getattr(system, 'check_deadline', None)

    def check():
        if soft is not None and soft():
            raise _OutOfTime()
        if hard is not None:
            hard()
    return check


def _remaining(system):
    remaining = getattr(system, 'remaining', None)
    left = remaining() if remaining is not None else None
    soft = getattr(system, 'soft_deadline', None)
    if isinstance(soft, (int, float)):
        soft_left = soft - time.monotonic()
        left = soft_left if left is None else min(left, soft_left)
    return left


def _read_table(system, path, option):
    """(text, exists, readable, problem) for one access control file."""
    try:
        return system.read(path), True, True, None
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == errno.ENOENT:
            return '', False, None, None
        if getattr(exc, 'errno', None) == errno.EISDIR:
            raise OptionError('%s: %s is a directory: give the path of the table file (hosts_access(5)), or omit '
                              'the option for the default' % (option, path))
        return None, system.exists(path), False, permission_hint(path, exc)


# At most this many /file pattern files are read (libwrap opens as many as the rules name).
MAX_PATTERN_FILES = 64


def _rule_uses(rule, path):
    return path in pattern_files([rule])


def _read_pattern_files(system, rules, errors, as_root, check=None):
    """Read the /file patterns (and the /file patterns inside them), recording errors.

    Each file is read once however often it is named.  A rule whose files lead back to a file
    already on the way (a file that includes itself) gets an error: libwrap would recurse there.
    """
    files = {}
    includes = {}
    pending = pattern_files(rules)
    while pending:
        if check is not None:
            check()
        path = pending.pop(0)
        if path in files:
            continue
        if len(files) >= MAX_PATTERN_FILES:
            users = [r for r in rules if _rule_uses(r, path)]
            errors.append({'file': users[0]['file'] if users else path, 'line': users[0]['line'] if users else None,
                           'text': users[0]['text'] if users else path,
                           'reason': 'more than %d pattern files: %s was not read, so verdicts that reach it are '
                                     'unknown' % (MAX_PATTERN_FILES, path)})
            break
        try:
            text = system.read(path)
        except (IOError, OSError) as exc:
            if getattr(exc, 'errno', None) == errno.ENOENT:
                files[path] = None
                continue
            from ansible_collections.connreset.doctor.plugins.module_utils._hosts_access import file_error
            files[path] = file_error(permission_hint(path, exc), certain=as_root)
            users = [r for r in rules if _rule_uses(r, path)]
            errors.append({'file': users[0]['file'] if users else path, 'line': users[0]['line'] if users else None,
                           'text': users[0]['text'] if users else path,
                           'reason': 'pattern file %s cannot be read: %s' % (path, files[path].reason)})
            continue
        files[path] = text
        includes[path] = []
        for tok in file_patterns(text):
            if tok.startswith('/') and tok not in includes[path]:
                includes[path].append(tok)
                if tok not in files:
                    pending.append(tok)
    for rule in rules:
        for path in pattern_files([rule]):
            loop = include_loop(includes, path)
            if loop:
                errors.append({'file': rule['file'], 'line': rule['line'], 'text': rule['text'],
                               'reason': 'pattern file %s includes itself (%s): libwrap opens it again for every '
                                         'reference and recurses until its stack or file descriptors run out '
                                         '(tcpdmatch 7.6.q-32 dies of SIGSEGV), so a client that this rule reaches '
                                         'before any other rule matches gets no service; remove the reference to '
                                         '%s from %s' % (path, ' -> '.join(loop), loop[-1], loop[-2])})
                break
    return files


def include_loop(includes, start):
    """A chain of pattern files from ``start`` that comes back to a file already in it
    (``[a, b, a]``), from ``includes`` (path → the /file names it holds); None when there is none.

    Iterative depth-first search: each file is entered once.
    """
    done = set()
    stack = [(start, iter(includes.get(start, ())))]
    on_path = [start]
    while stack:
        path, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            on_path.pop()
            done.add(path)
            continue
        if child in on_path:
            return on_path[on_path.index(child):] + [child]
        if child in done or child not in includes:
            continue
        stack.append((child, iter(includes[child])))
        on_path.append(child)
    return None


def _server_endpoint(system):
    """(server address, port) of the controller's connection from SSH_CONNECTION, or None."""
    fields = (system.getenv('SSH_CONNECTION') or '').split()
    if len(fields) == 4 and re.match(r'^[0-9]{1,5}\Z', fields[3]) and normalize_client(fields[2]):
        return normalize_client(fields[2]), int(fields[3])
    return None


def _text_option(params, key, default, what):
    value = params.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise OptionError('%s is empty: give %s, or omit the option for the default%s'
                          % (key, what, ' (%s)' % default if default else ''))
    return value


def check_options(params):
    """The options, checked: a dict of clean values, or OptionError saying what is wrong and how to fix it."""
    daemon = params.get('daemon')
    if daemon is None:
        daemon = 'sshd'
    if not isinstance(daemon, str) or not daemon.strip():
        raise OptionError("daemon is empty: give the process name libwrap matches the rules' daemon lists "
                          'against (sshd for OpenSSH), or omit the option for sshd')
    if any(c in SEP or c in ':@' or ord(c) < 32 or ord(c) == 127 for c in daemon):
        raise OptionError('daemon %r holds blanks, commas, ":", "@" or control characters: libwrap splits its '
                          'patterns at those, so no pattern but ALL could name it; give the bare process name, '
                          'e.g. sshd' % (daemon,))
    if len(daemon) >= STRING_LENGTH:
        raise OptionError('daemon is %d characters long: libwrap keeps at most %d; give the process name, e.g. sshd'
                          % (len(daemon), STRING_LENGTH - 1))
    opts = {
        'daemon': daemon,
        'allow_path': _text_option(params, 'allow_path', '/etc/hosts.allow', 'the path of the allow table'),
        'deny_path': _text_option(params, 'deny_path', '/etc/hosts.deny', 'the path of the deny table'),
        'sshd_path': _text_option(params, 'sshd_path', None, 'the path of the sshd binary to check for libwrap'),
    }
    lookups = params.get('name_lookups')
    opts['name_lookups'] = True if lookups is None else bool(lookups)
    timeout = params.get('lookup_timeout')
    if timeout is None:
        timeout = DEFAULT_LOOKUP_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or math.isnan(timeout) \
            or not 0 < timeout <= MAX_LOOKUP_TIMEOUT:
        raise OptionError('lookup_timeout must be a number of seconds above 0 and at most %s, got %r; the default '
                          'is %s (set name_lookups: false to make no lookups at all)'
                          % (_secs(MAX_LOOKUP_TIMEOUT), timeout, _secs(DEFAULT_LOOKUP_TIMEOUT)))
    opts['lookup_timeout'] = float(timeout)
    clients = params.get('clients')
    if clients is not None:
        if len(clients) > MAX_CLIENTS:
            raise OptionError('clients has %d addresses: at most %d per call; split the list over several calls'
                              % (len(clients), MAX_CLIENTS))
        normalized = []
        for index, client in enumerate(clients, 1):
            if not isinstance(client, str) or not client.strip():
                raise OptionError('clients: element %d is empty (%r): give IPv4 (192.0.2.10) or IPv6 (2001:db8::10) '
                                  'addresses' % (index, client))
            value = normalize_client(client)
            if value is None:
                raise OptionError('clients: %r is not an IP address: give IPv4 (192.0.2.10) or IPv6 (2001:db8::10) '
                                  'addresses, not host names or networks' % (client,))
            if value not in normalized:
                normalized.append(value)
        clients = normalized
    opts['clients'] = clients
    return opts


def _lookup_address(address):
    """The address libwrap looks up: an IPv4-mapped IPv6 address as IPv4."""
    packed = parse_v6(address)
    if packed is not None and packed[:12] == b'\0' * 10 + b'\xff\xff':
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return address


class _Lookups(object):
    """Every name lookup of one collect() call: one per address, bounded in time each and in total."""

    def __init__(self, system, opts):
        self.system = system
        self.enabled = opts['name_lookups']
        self.timeout = opts['lookup_timeout']
        self._resolver = getattr(system, 'resolver', None) or None    # default_resolver() at the first lookup
        self.done = {}
        self.waited = 0.0
        self._hosts = None

    def get(self, address):
        """The finished HostLookup of ``address`` (run now if it was not yet)."""
        address = _lookup_address(address)
        if address in self.done:
            return self.done[address]
        # a new address: only a rule whose pattern needs a name gets here (evaluate() imported _hosts_access)
        from ansible_collections.connreset.doctor.plugins.module_utils._hosts_access import HostLookup
        if self._resolver is None:
            self._resolver = default_resolver()
        lookup = HostLookup(address, self._resolver, self.timeout)
        budget_left = MAX_LOOKUP_WAIT_S - self.waited
        if budget_left <= 0:
            lookup.status = 'timeout'
            lookup.detail = ('not looked up: the name lookups of this call already waited %s s in total (at most %s '
                             's)' % (_secs(self.waited), _secs(MAX_LOOKUP_WAIT_S)))
            self.done[address] = lookup
            return lookup
        left = _remaining(self.system)
        wait = budget_left if left is None else min(budget_left, left)
        lookup.run(wait)
        self.waited += lookup.elapsed_s or 0.0
        if lookup.status == 'timeout' and left is not None and left < min(self.timeout, budget_left):
            # cut short by the collector's budget, not by lookup_timeout or the total wait
            raise _OutOfTime()
        self.done[address] = lookup
        return lookup

    def provider(self, address, used):
        """A name_lookup callable for evaluate(); ``used`` (a list) gets the HostLookup it ran."""
        def lookup():
            if not self.enabled:
                used.append(None)
                return NOT_RESOLVED, 'name lookups are off: name_lookups is false'
            entry = self.get(address)
            used.append(entry)
            if entry.status == 'done':
                return entry.name, None
            return NOT_RESOLVED, entry.detail
        return lookup

    def source(self, entry):
        """Where the reverse name came from: hosts (/etc/hosts), dns (DNS or another name service), none."""
        if entry is None or entry.status != 'done' or entry.reverse_name is None:
            return 'none'
        if self._hosts is None:
            texts = []
            for path in (HOSTS_FILE, NSSWITCH_FILE):
                try:
                    texts.append(self.system.read(path))
                except (IOError, OSError):
                    texts.append(None)
            self._hosts = texts
        hosts_text, nsswitch_text = self._hosts
        from ansible_collections.connreset.doctor.plugins.module_utils._hosts_access import files_before_dns, hosts_file_name
        if hosts_file_name(hosts_text, entry.address) == entry.reverse_name and files_before_dns(nsswitch_text):
            return 'hosts'
        return 'dns'


def _name_facts(lookups, used):
    """The verdict's name, name_source, lookup_s and lookup keys, and a note for its reason."""
    if not used:
        return {'name': None, 'name_source': 'none', 'lookup_s': None, 'lookup': 'not_needed'}, None
    entry = used[0]
    if entry is None:
        return {'name': None, 'name_source': 'none', 'lookup_s': None, 'lookup': 'off'}, None
    facts = {'name': entry.name if entry.status == 'done' else None, 'name_source': lookups.source(entry),
             'lookup_s': entry.elapsed_s, 'lookup': entry.status}
    notes = []
    if entry.status == 'done':
        notes.append('client name %s: %s' % (entry.name, entry.detail))
    if entry.elapsed_s is not None and entry.elapsed_s > SLOW_LOOKUP_S:
        notes.append('the name lookup of %s took %s s: libwrap waits for it before sshd sends its banner (as sshd '
                     'itself does with UseDNS yes), so clients see a slow banner and those with short timeouts give '
                     'up; fix the reverse DNS of the client or name it in /etc/hosts' % (entry.address,
                                                                                         _secs(entry.elapsed_s)))
    return facts, '; '.join(notes) or None


def _undecided(client, daemon, why):
    return {'client': client, 'daemon': daemon, 'access': UNKNOWN_ACCESS, 'file': None, 'line': None,
            'end_line': None, 'reason': why, 'options': [], 'name': None, 'name_source': 'none', 'lookup_s': None,
            'lookup': None}


def collect(system, params):
    opts = check_options(params)
    started = time.monotonic()
    check = _checker(system)
    state = {'daemon': opts['daemon'], 'clients': [], 'source': 'option', 'files': [], 'tables': {'allow': [], 'deny': []},
             'errors': [], 'parts': {}, 'libwrap': (None, {}, None), 'verdicts': [], 'phase': 'reading the tables'}
    try:
        _collect(system, opts, state, check)
    except (BudgetExceeded, _OutOfTime):
        why = ('the time budget ran out after %s s while %s: what was read is reported, verdicts not decided are '
               'unknown; give the collector more time (budget) or fewer clients'
               % (_secs(time.monotonic() - started), state['phase']))
        state['parts']['budget'] = (PARTIAL, why)
        decided = set(v['client'] for v in state['verdicts'])
        for client in state['clients']:
            if client not in decided:
                state['verdicts'].append(_undecided(client, opts['daemon'], 'not decided: ' + why))
    return _assemble(state)


def _collect(system, opts, state, check):
    daemon = opts['daemon']
    clients = opts['clients']
    if clients is None:
        address = controller_address(system)
        normalized = normalize_client(address) if address else None
        clients, state['source'] = ([normalized], 'controller') if normalized else ([], 'none')
    state['clients'] = clients

    stops, parts, errors = {}, state['parts'], state['errors']
    as_root = system.euid == 0
    for table, path in (('allow', opts['allow_path']), ('deny', opts['deny_path'])):
        text, exists, readable, problem = _read_table(system, path, table + '_path')
        state['files'].append({'path': path, 'exists': exists, 'readable': readable})
        if problem:
            # As root we read what libwrap (in sshd, as root) reads: its failure is libwrap's too.
            stops[table] = {'line': None, 'reason': problem, 'certain': as_root}
            parts[path] = (UNKNOWN, problem)
            continue
        rules, errs = parse(text, path, check=check)
        state['tables'][table] = rules
        stops[table] = table_stop(errs)
        errors.extend(errs)
        parts[path] = (OK, None)
    state['phase'] = 'reading the pattern files'
    pattern_texts = _read_pattern_files(system, state['tables']['allow'] + state['tables']['deny'], errors, as_root,
                                        check)

    state['phase'] = 'checking whether sshd links libwrap'
    paths = [opts['sshd_path']] if opts['sshd_path'] else ([system.which('sshd')] + list(SSHD_CANDIDATES))
    seen = []
    for path in paths:
        if path and path not in seen:
            seen.append(path)
    state['libwrap'] = links_libwrap(system, seen)
    libwrap_reason = state['libwrap'][2]
    parts['libwrap'] = (OK, None) if state['libwrap'][0] is not None else (UNKNOWN, libwrap_reason)

    # split once, not once per client (a pattern file may hold millions of patterns)
    pattern_texts = dict((path, file_patterns(text) if isinstance(text, str) else text)
                         for path, text in pattern_texts.items())
    endpoint = _server_endpoint(system)
    lookups = _Lookups(system, opts)
    for client in clients:
        state['phase'] = 'deciding for %s' % client
        check()
        extra = {}
        server_used = []
        if state['source'] == 'controller' and endpoint:
            # The controller's own connection: SSH_CONNECTION names the address and port it reached.
            extra = {'server_addr': endpoint[0], 'server_port': endpoint[1],
                     'server_lookup': lookups.provider(endpoint[0], server_used)}
        used = []
        verdict = evaluate(state['tables']['allow'], state['tables']['deny'], daemon, client, files=pattern_texts,
                           stops=stops, name_lookup=lookups.provider(client, used), check=check, **extra)
        facts, note = _name_facts(lookups, used)
        server_entry = server_used[0] if server_used else None
        if server_entry is not None and server_entry.elapsed_s is not None and server_entry.elapsed_s > SLOW_LOOKUP_S:
            note = '; '.join(n for n in (note, 'the name lookup of the server address %s took %s s' % (
                server_entry.address, _secs(server_entry.elapsed_s))) if n)
        if note:
            verdict['reason'] = '%s; %s' % (verdict['reason'], note)
        verdict.update(facts)
        state['verdicts'].append(verdict)
    state['phase'] = 'done'


def _assemble(state):
    parts = state['parts']
    libwrap, libwrap_checked, _reason = state['libwrap']
    status, reason = summarize(parts)
    if status != OK and all(s == UNKNOWN for name, (s, _r) in parts.items() if name not in ('libwrap', 'budget')) \
            and parts.get('libwrap', (UNKNOWN, None))[0] == OK:
        status = PARTIAL
    if 'budget' in parts and status != UNKNOWN:
        status = PARTIAL
    notes = None
    if state['source'] == 'none':
        notes = ('no client address to evaluate: SSH_CONNECTION is not set (not connected over SSH); '
                 'pass clients to check specific addresses')
    elif not state['clients']:
        notes = ('clients is an empty list: no client was evaluated; give addresses, or leave clients out to '
                 "evaluate the controller's address")
    all_rules = state['tables']['allow'] + state['tables']['deny']
    errors = state['errors']
    return result(status, reason, libwrap_in_use=libwrap, libwrap_binaries=libwrap_checked, daemon=state['daemon'],
                  clients=state['clients'], clients_source=state['source'], clients_note=notes, files=state['files'],
                  rules=[dict((k, r[k]) for k in ('file', 'line', 'end_line', 'daemons', 'clients', 'options'))
                         for r in all_rules[:MAX_RULES]],
                  rules_total=len(all_rules), errors=errors[:MAX_RULES], errors_total=len(errors),
                  verdicts=state['verdicts'])
