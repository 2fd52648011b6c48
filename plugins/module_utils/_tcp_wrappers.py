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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import socket
import struct

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, OptionError, controller_address, permission_hint, result, summarize,
)

ARGUMENT_SPEC = dict(
    allow_path=dict(type='path', default='/etc/hosts.allow'),
    deny_path=dict(type='path', default='/etc/hosts.deny'),
    daemon=dict(type='str', default='sshd'),
    clients=dict(type='list', elements='str'),
    sshd_path=dict(type='path'),
)

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
    brackets; returns (head, tail) with tail None when there is none."""
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


def logical_lines(text):
    """Emulate libwrap's xgets(): yields (first_line, last_line, text, terminated).

    ``text`` has the backslash-newline pairs removed and no final newline; ``terminated`` is
    False for a last line without a newline (libwrap warns and ignores it).
    """
    physical = text.split('\n')
    ends_with_newline = text.endswith('\n')
    if ends_with_newline:
        physical = physical[:-1]
    buf = ''
    first = None
    for number, line in enumerate(physical, 1):
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


def parse_options(text):
    """The option field of a rule → list of {name, value, error} (error None when fine).

    Follows options.c process_options(): exactly one '=' or blanks between name and value;
    unknown names, missing or unexpected values, a last-only option followed by more, and
    values its handler refuses are errors (libwrap then denies service).
    """
    options = []
    if text is None:
        return options
    fields = get_fields(text)
    for index, field in enumerate(fields):
        option = field.strip(' \t\r\n\v\f')
        match = re.match(r'^([^= \t\r\n]*)[ \t\r\n]*(?:=[ \t\r\n]*)?(.*)$', option, re.S)
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


def parse(text, path):
    """hosts.allow / hosts.deny text → (rules, errors).

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

    for first, last, line, terminated in logical_lines(text or ''):
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
# evaluation (three-valued: True, False, None = cannot tell without a lookup)
# ---------------------------------------------------------------------------------------
class _Unknown(object):
    """Why a match could not be decided."""

    def __init__(self, reason):
        self.reason = reason


def _or(values):
    """Kleene OR over an iterable of thunks, short-circuiting like libwrap's loops."""
    pending = None
    for thunk in values:
        value = thunk()
        if value is True:
            return True
        if isinstance(value, _Unknown) and pending is None:
            pending = value
    return pending if pending is not None else False


def _and(first, second):
    """Kleene AND of a value and a thunk (second only evaluated when first is not False)."""
    if first is False:
        return False
    other = second()
    if other is False:
        return False
    if first is True:
        return other
    return first


def _not(value):
    if isinstance(value, _Unknown):
        return value
    return not value


def _glob(string, pattern):
    """match_pattern_ylo(): '*' and '?' only; case-insensitive in Debian's build (tcpdmatch:
    FE80* matches fe80::1)."""
    regex = ''.join('.*' if c == '*' else '.' if c == '?' else re.escape(c) for c in pattern)
    return re.match('^' + regex + r'\Z', string, re.S | re.I) is not None


def _unmap(string):
    """string_match(): an IPv4-mapped IPv6 address is compared as IPv4."""
    if string.lower().startswith('::ffff:') and dot_quad(string[7:]) is not None:
        return string[7:]
    return string


def string_match(tok, string, what='host name'):
    """hosts_access.c string_match(); ``string`` may be NOT_RESOLVED → _Unknown."""
    if tok.upper() == 'ALL' or (tok and set(tok) == {'*'}):
        return True
    if string is NOT_RESOLVED:
        return _Unknown('needs %s: rule uses pattern %s' % (what, tok))
    string = _unmap(string)
    if '*' in tok or '?' in tok:
        return _glob(string, tok)
    if tok.startswith('.'):
        return len(string) > len(tok) and string.lower().endswith(tok.lower())
    if tok.upper() == 'KNOWN':
        return string.lower() != UNKNOWN_NAME
    if tok.endswith('.'):
        return string.lower().startswith(tok.lower())
    if tok.startswith('[') and tok.endswith(']'):
        pattern, value = parse_v6(tok[1:-1]), parse_v6(string)
        return pattern is not None and value is not None and pattern == value
    return tok.lower() == string.lower()


def _atoi(text):
    """C atoi(): optional blanks and sign, then digits up to the first other character."""
    match = re.match(r'^[ \t\n\r\f\v]*([-+]?[0-9]+)', text)
    return int(match.group(1)) if match else 0


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


def masked_match(net_tok, mask_tok, string):
    """hosts_access.c masked_match() (IPv4 net/mask, /len, and [v6]/len)."""
    string = _unmap(string)
    addr4 = dot_quad(string)
    if addr4 is not None:
        net = dot_quad(net_tok)
        mask = _mask_bits(mask_tok)
        if net is None or mask is None:
            return False
        return (addr4 & mask) == net
    if not (net_tok.startswith('[') and net_tok.endswith(']')):
        return False
    net6, addr6, bits = parse_v6(net_tok[1:-1]), parse_v6(string), _v6_prefix(mask_tok)
    if net6 is None or addr6 is None or bits is None:
        return False
    net_int = int.from_bytes(net6, 'big')
    addr_int = int.from_bytes(addr6, 'big')
    mask = ((1 << 128) - 1) ^ ((1 << (128 - bits)) - 1)
    return (addr_int & mask) == (net_int & mask)


def _not_inaddr(tok):
    """libwrap NOT_INADDR(): the pattern has characters other than digits, dots and slashes."""
    return any(c not in '0123456789./' for c in tok)


class Context(object):
    """What the evaluation knows about one request.

    ``client``: the address text.  ``hostname``: the verified client name, None when name
    lookup fails (libwrap's "unknown"), PARANOID_NAME when the name does not map back to
    the address, NOT_RESOLVED when not looked up.  ``user``: the IDENT user name (None:
    unknown).  ``server_addr``/``server_name``: the endpoint the client connected to (None:
    unknown, as in tcpdmatch without @server); ``server_port``: the port the client connected
    to (Debian matches numeric daemon patterns against it; None: unknown).  ``files``: path → text of /file patterns,
    None for a missing file, or an OSError-like string when unreadable.
    """

    def __init__(self, daemon, client, hostname=NOT_RESOLVED, user=NOT_RESOLVED,
                 server_addr=NOT_RESOLVED, server_name=NOT_RESOLVED, files=None, server_port=NOT_RESOLVED):
        self.daemon = daemon
        self.client = {'addr': client, 'name': hostname, 'label': 'client'}
        self.server = {'addr': server_addr, 'name': server_name, 'label': 'server'}
        self.user = user
        self.server_port = server_port
        self.files = files or {}


def _name_of(host):
    name = host['name']
    if name is NOT_RESOLVED:
        return NOT_RESOLVED
    return UNKNOWN_NAME if name is None else name


def _addr_of(host):
    addr = host['addr']
    if addr is NOT_RESOLVED:
        return NOT_RESOLVED
    return UNKNOWN_NAME if addr is None else addr


def _need_name(host, tok):
    if host['label'] == 'client':
        return 'needs name resolution: rule uses hostname pattern %s' % tok
    return 'needs the server name: rule uses server pattern %s' % tok


def host_match(tok, host, ctx, depth=0):
    """hosts_access.c host_match() for one pattern against a host (client or server)."""
    name = _name_of(host)
    if tok.startswith('@'):
        return _Unknown('needs a NIS netgroup lookup: rule uses netgroup %s' % tok)
    if tok.startswith('/'):
        return _file_match(tok, host, ctx, depth)
    if tok.upper() == 'KNOWN':
        addr = _addr_of(host)
        if addr is NOT_RESOLVED:
            return _Unknown('needs the %s address: rule uses KNOWN' % host['label'])
        if addr == UNKNOWN_NAME:
            return False
        if name is NOT_RESOLVED:
            return _Unknown(_need_name(host, tok))
        return name.lower() not in (UNKNOWN_NAME, PARANOID_NAME)
    if tok.upper() == 'LOCAL':
        if name is NOT_RESOLVED:
            return _Unknown(_need_name(host, tok))
        return '.' not in name and name.lower() not in (UNKNOWN_NAME, PARANOID_NAME)
    net_tok, mask_tok = split_at(tok, '/')
    if mask_tok is not None:
        addr = _addr_of(host)
        if addr is NOT_RESOLVED:
            return _Unknown('needs the %s address: rule uses %s' % (host['label'], tok))
        return masked_match(net_tok, mask_tok, addr)
    addr = _addr_of(host)
    what = '%s address' % host['label']
    by_addr = string_match(tok, addr, what)
    if by_addr is True or not _not_inaddr(tok) or ':' in tok or '[' in tok:
        # host names never hold ':' or '[' (libwrap verifies them against the address)
        return by_addr
    if name is NOT_RESOLVED:
        return _Unknown(_need_name(host, tok)) if by_addr is False else by_addr
    by_name = string_match(tok, name)
    if by_name is True:
        return True
    return by_addr if isinstance(by_addr, _Unknown) else by_name


def _file_match(path, host, ctx, depth):
    """hostfile_match(): any pattern of the file matches; a missing file matches nothing."""
    if depth > 8:
        return _Unknown('pattern file %s includes itself too deeply: libwrap would loop' % path)
    if path not in ctx.files:
        return _Unknown('pattern file %s was not read' % path)
    content = ctx.files[path]
    if content is None:
        return False
    if isinstance(content, _FileError):
        if content.certain:
            return False
        return _Unknown('cannot read pattern file %s: %s' % (path, content.reason))
    return _or(lambda tok=tok: host_match(tok, host, ctx, depth + 1) for tok in file_patterns(content))


class _FileError(object):
    def __init__(self, reason, certain):
        self.reason = reason
        self.certain = certain


def file_error(reason, certain=False):
    """A ``files`` entry for a pattern file that exists but cannot be read.

    ``certain``: libwrap cannot read it either (we run as root): it then matches nothing.
    """
    return _FileError(reason, certain)


def _daemon_match(tok, ctx):
    """A daemon pattern: a process name pattern, or (Debian) the server port number.

    A real sshd with ``2299: ALL`` in hosts.deny refuses connections to port 2299 and not
    to 2298; tcpdmatch, which has no port, never matches such a token.
    """
    if tok.isdigit():
        if ctx.server_port is NOT_RESOLVED:
            return _Unknown('needs the server port: rule uses port pattern %s' % tok)
        return ctx.server_port is not None and int(tok) == int(ctx.server_port)
    return string_match(tok, ctx.daemon, 'daemon')


def server_match(tok, ctx):
    daemon_tok, host_tok = split_at(tok[1:], '@')
    daemon_tok = tok[0] + daemon_tok if tok else daemon_tok
    if host_tok is None:
        return _daemon_match(tok, ctx)
    return _and(_daemon_match(daemon_tok, ctx), lambda: host_match(host_tok, ctx.server, ctx))


def client_match(tok, ctx):
    user_tok, host_tok = split_at(tok[1:], '@')
    user_tok = tok[0] + user_tok if tok else user_tok
    if host_tok is None:
        return host_match(tok, ctx.client, ctx)
    user = ctx.user if ctx.user is NOT_RESOLVED else (UNKNOWN_NAME if ctx.user is None else ctx.user)
    return _and(host_match(host_tok, ctx.client, ctx),
                lambda: string_match(user_tok, user, 'an IDENT (RFC 931) lookup of the client user'))


def list_match(toks, match_fn, ctx):
    """hosts_access.c list_match(): ``a b EXCEPT c EXCEPT d`` = (a|b) & !(c & !d)."""
    for index, tok in enumerate(toks):
        if tok.upper() == 'EXCEPT':
            head, rest = toks[:index], toks[index + 1:]
            break
    else:
        head, rest = toks, None
    first = _or(lambda tok=tok: match_fn(tok, ctx) for tok in head)
    if rest is None:
        return first
    return _and(first, lambda: _not(list_match(rest, match_fn, ctx)))


def rule_match(rule, ctx):
    return _and(list_match(rule['daemons'], server_match, ctx),
                lambda: list_match(rule['clients'], client_match, ctx))


def _outcome(rule, table):
    """(access, reason) once ``rule`` of ``table`` ('allow'/'deny') has matched."""
    where = '%s line %s' % (rule['file'], rule['line'])
    notes = []
    for option in rule['options'] or []:
        if option['error']:
            return DENIED, '%s matches but its options are invalid (%s): libwrap denies service' % (
                where, option['error'])
        name = option['name']
        if name == 'allow':
            return GRANTED, '%s matches with option allow' % where
        if name == 'deny':
            return DENIED, '%s matches with option deny' % where
        if name == 'twist':
            return DENIED, ('%s matches with option twist: the connection is handed to the command "%s" '
                            'instead of the daemon, so the client gets no SSH service' % (where, option['value']))
        if name == 'aclexec':
            return UNKNOWN_ACCESS, ('%s matches with option aclexec: access depends on the exit status of '
                                    'the command "%s" (not run by this check)' % (where, option['value']))
        if name in ('user', 'group'):
            notes.append('option %s %s: libwrap denies service if it does not exist' % (name, option['value']))
        if name == 'rfc931':
            notes.append('option rfc931: an IDENT lookup to the client delays the connection')
    if table == 'allow':
        access, text = GRANTED, '%s matches in the allow file' % where
    else:
        access, text = DENIED, '%s matches in the deny file' % where
    return access, '; '.join([text] + notes)


def table_stop(errors):
    """Where libwrap stops reading a table, from parse() errors: a ``stops`` dict or None."""
    for entry in errors:
        if entry.get('stops'):
            return {'line': entry['line'], 'reason': entry['reason'], 'certain': True}
    return None


def evaluate(rules_allow, rules_deny, daemon, client, hostname=NOT_RESOLVED, user=NOT_RESOLVED,
             server_addr=NOT_RESOLVED, server_name=NOT_RESOLVED, files=None, stops=None, server_port=NOT_RESOLVED):
    """Decide access for one (daemon, client) as libwrap's hosts_access() does.

    ``rules_allow``/``rules_deny``: parse() results (an empty list for a missing file).
    ``stops``: {'allow'|'deny': {line, reason, certain}} where libwrap stops reading a table
    (see table_stop()); Debian's libwrap then goes on to hosts.deny from hosts.allow, and
    denies from hosts.deny.  ``certain`` False means we could not read a file that libwrap
    (running as root) may read: reaching it makes the verdict unknown.
    Returns {client, daemon, access, file, line, end_line, reason, options}.
    """
    ctx = Context(daemon, client, hostname, user, server_addr, server_name, files, server_port)
    stops = stops or {}
    steps = []
    for table, rules in (('allow', rules_allow), ('deny', rules_deny)):
        for rule in rules or []:
            steps.append((table, rule))
        if stops.get(table):
            steps.append((table, stops[table]))
    verdict = _walk(steps, 0, ctx)
    verdict.update({'client': client, 'daemon': daemon})
    return verdict


def _decided(access, rule, reason):
    return {'access': access, 'file': rule['file'] if rule else None, 'line': rule['line'] if rule else None,
            'end_line': rule['end_line'] if rule else None, 'reason': reason,
            'options': [dict((k, o[k]) for k in ('name', 'value')) for o in (rule['options'] or [])] if rule else []}


def _walk(steps, start, ctx):
    index = start
    while index < len(steps):
        table, rule = steps[index]
        if 'daemons' not in rule:
            stop = rule
            if not stop['certain']:
                return _decided(UNKNOWN_ACCESS, None, 'cannot read the %s file: %s' % (table, stop['reason']))
            if table == 'deny':
                return _decided(DENIED, None, 'libwrap stops reading the deny file at line %s (%s) and denies '
                                'service' % (stop['line'], stop['reason']))
            while index < len(steps) and steps[index][0] == 'allow':
                index += 1
            continue
        index += 1
        matched = rule_match(rule, ctx)
        if matched is False:
            continue
        access, reason = _outcome(rule, table)
        if matched is True:
            return _decided(access, rule, reason)
        otherwise = _walk(steps, index, ctx)
        if otherwise['access'] == access and access != UNKNOWN_ACCESS:
            otherwise['reason'] = '%s; access is %s whether or not %s line %s matches (%s)' % (
                otherwise['reason'], access, rule['file'], rule['line'], matched.reason)
            return otherwise
        return _decided(UNKNOWN_ACCESS, rule, '%s line %s %s: if it matches, access is %s; otherwise %s (%s)' % (
            rule['file'], rule['line'], matched.reason, access, otherwise['access'], otherwise['reason']))
    return _decided(GRANTED, None, 'no rule matches: libwrap grants access by default')


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
def _read_table(system, path):
    """(text, exists, readable, problem) for one access control file."""
    try:
        return system.read(path), True, True, None
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == errno.ENOENT:
            return '', False, None, None
        return None, system.exists(path), False, permission_hint(path, exc)


def _read_pattern_files(system, rules, errors, as_root):
    """Read the /file patterns (and the /file patterns inside them), recording errors."""
    files = {}
    pending = pattern_files(rules)
    while pending and len(files) < 64:
        path = pending.pop(0)
        if path in files:
            continue
        try:
            text = system.read(path)
        except (IOError, OSError) as exc:
            if getattr(exc, 'errno', None) == errno.ENOENT:
                files[path] = None
                continue
            files[path] = file_error(permission_hint(path, exc), certain=as_root)
            users = [r for r in rules if path in r['text']]
            errors.append({'file': users[0]['file'] if users else path, 'line': users[0]['line'] if users else None,
                           'text': users[0]['text'] if users else path,
                           'reason': 'pattern file %s cannot be read: %s' % (path, files[path].reason)})
            continue
        files[path] = text
        pending.extend(tok for tok in file_patterns(text) if tok.startswith('/') and tok not in files)
    return files


def _server_endpoint(system):
    """(server address, port) of the controller's connection from SSH_CONNECTION, or None."""
    fields = (system.getenv('SSH_CONNECTION') or '').split()
    if len(fields) == 4 and fields[3].isdigit() and normalize_client(fields[2]):
        return normalize_client(fields[2]), int(fields[3])
    return None


def collect(system, params):
    daemon = params.get('daemon') or 'sshd'
    source = 'option'
    clients = params.get('clients')
    if clients is None:
        address = controller_address(system)
        clients, source = ([address], 'controller') if address else ([], 'none')
    normalized = []
    for client in clients:
        value = normalize_client(client)
        if value is None:
            if source == 'controller':
                source = 'none'
                continue
            raise OptionError('clients: %r is not an IP address: give IPv4 (192.0.2.10) or IPv6 (2001:db8::10) '
                              'addresses, not host names or networks' % (client,))
        normalized.append(value)

    files, tables, stops, errors, parts = [], {}, {}, [], {}
    as_root = system.euid == 0
    for table, path in (('allow', params.get('allow_path') or '/etc/hosts.allow'),
                        ('deny', params.get('deny_path') or '/etc/hosts.deny')):
        text, exists, readable, problem = _read_table(system, path)
        files.append({'path': path, 'exists': exists, 'readable': readable})
        if problem:
            # As root we read what libwrap (in sshd, as root) reads: its failure is libwrap's too.
            stops[table] = {'line': None, 'reason': problem, 'certain': as_root}
            tables[table] = []
            parts[path] = (UNKNOWN, problem)
            continue
        rules, errs = parse(text, path)
        tables[table] = rules
        stops[table] = table_stop(errs)
        errors.extend(errs)
        parts[path] = (OK, None)
    pattern_texts = _read_pattern_files(system, tables['allow'] + tables['deny'], errors, as_root)

    paths = [params['sshd_path']] if params.get('sshd_path') else (
        [system.which('sshd')] + list(SSHD_CANDIDATES))
    seen = []
    for path in paths:
        if path and path not in seen:
            seen.append(path)
    libwrap, libwrap_checked, libwrap_reason = links_libwrap(system, seen)
    parts['libwrap'] = (OK, None) if libwrap is not None else (UNKNOWN, libwrap_reason)

    endpoint = _server_endpoint(system)
    verdicts = []
    for client in normalized:
        extra = {}
        if source == 'controller' and endpoint:
            # The controller's own connection: SSH_CONNECTION names the address and port it reached.
            extra = {'server_addr': endpoint[0], 'server_port': endpoint[1]}
        verdicts.append(evaluate(tables['allow'], tables['deny'], daemon, client, files=pattern_texts, stops=stops,
                                 **extra))
    all_rules = tables['allow'] + tables['deny']
    status, reason = summarize(parts)
    if status != OK and all(s == UNKNOWN for name, (s, _r) in parts.items() if name != 'libwrap') \
            and parts['libwrap'][0] == OK:
        status = PARTIAL
    notes = None
    if source == 'none':
        notes = ('no client address to evaluate: SSH_CONNECTION is not set (not connected over SSH); '
                 'pass clients to check specific addresses')
    return result(status, reason, libwrap_in_use=libwrap, libwrap_binaries=libwrap_checked, daemon=daemon,
                  clients=normalized, clients_source=source, clients_note=notes, files=files,
                  rules=[dict((k, r[k]) for k in ('file', 'line', 'end_line', 'daemons', 'clients', 'options'))
                         for r in all_rules[:MAX_RULES]],
                  rules_total=len(all_rules), errors=errors[:MAX_RULES], errors_total=len(errors), verdicts=verdicts)
