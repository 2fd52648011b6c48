# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TCP wrappers: libwrap's rule matching (hosts_access.c, the patterns of hosts_access(5)) and the walk
through the rules that decides a verdict.  Private.

The grammar, the semantics and their sources are described in :mod:`_tcp_wrappers`, which reads the tables
and runs the collector; :func:`_tcp_wrappers.evaluate` imports this file only when a table holds a rule or
a stop, so a host whose hosts.allow and hosts.deny hold no rule (the distributions' defaults: comments
only) does not compile it.  The name lookups (:class:`HostLookup`, :class:`SocketResolver`) are here too:
only a rule's pattern ever needs a name.

Matching is three-valued: True, False, or an :class:`_Unknown` saying why it cannot be told without a
lookup.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket
import threading
import time

from ansible_collections.connreset.doctor.plugins.module_utils._tcp_wrappers import (
    CHECK_EVERY, DENIED, GRANTED, NOT_RESOLVED, PARANOID_NAME, STRING_LENGTH, UNKNOWN_ACCESS, UNKNOWN_NAME, LookupFailed,
    _decided, _lookup_address, _mask_bits, _secs, _v6_prefix, dot_quad, file_patterns, no_rule_verdict, parse_v4, parse_v6,
    split_at,
)


class _Unknown(object):
    """Why a match could not be decided."""

    def __init__(self, reason):
        self.reason = reason


class _Crash(_Unknown):
    """Reaching this pattern stops libwrap for good (a self-including /file pattern): there is no
    match value, the client gets no service."""


def _or(values):
    """Kleene OR over an iterable of thunks, short-circuiting like libwrap's loops.

    A crash ends the loop as it ends libwrap; after an undecided element it only makes the
    result undecided (had that element matched, libwrap would not have got there).
    """
    pending = None
    for thunk in values:
        value = thunk()
        if value is True:
            return True
        if isinstance(value, _Crash):
            if pending is None:
                return value
            return _Unknown('%s; if not, %s' % (pending.reason, value.reason))
        if isinstance(value, _Unknown) and pending is None:
            pending = value
    return pending if pending is not None else False


def _and(first, second):
    """Kleene AND of a value and a thunk (second only evaluated when first is not False)."""
    if first is False:
        return False
    if isinstance(first, _Crash):
        return first
    other = second()
    if other is False:
        return False
    if first is True:
        return other
    if isinstance(other, _Crash):
        return _Unknown('%s; if it does, %s' % (first.reason, other.reason))
    return first


def _not(value):
    if isinstance(value, _Unknown):
        return value
    return not value


def _upper(char):
    """C toupper() in the C locale: ASCII letters only."""
    return char.upper() if 'a' <= char <= 'z' else char


def _glob(string, pattern):
    """match_pattern_ylo() (hosts_access.c, Debian 05_wildcard_matching): '*' and '?' only,
    letters compared with toupper() (tcpdmatch: FE80* matches fe80::1).

    The same answer as its recursive backtracking, in O(len(string) * len(pattern)) at worst:
    the usual greedy scan that remembers only the last '*' (a later '*' can absorb whatever an
    earlier one would have), so no pattern or name (a PTR record is the client's to choose)
    can make it take exponential time, as the C code and a translated regex can.

    One quirk of the C code is kept: a '*' followed by '*' only tries the positions before the
    end of the string, so a run of two or more '*' that ends the pattern needs at least one
    character (``a**`` does not match ``a``); elsewhere such a run is one '*'.  The pattern is
    rewritten so (the trailing run becomes ``?*``), then matched as usual.
    """
    head = pattern.rstrip('*')
    trailing = len(pattern) - len(head)
    # linear: every match of \*{2,} consumes its run (an anchored "\*\*+$" would rescan each run)
    pattern = re.sub(r'\*{2,}', '*', head) + ('' if not trailing else '*' if trailing == 1 else '?*')
    s_index = p_index = 0
    star = -1
    resume = 0
    size, psize = len(string), len(pattern)
    while s_index < size:
        if p_index < psize and pattern[p_index] == '*':
            star, resume = p_index, s_index
            p_index += 1
        elif p_index < psize and (pattern[p_index] == '?' or _upper(pattern[p_index]) == _upper(string[s_index])):
            s_index += 1
            p_index += 1
        elif star >= 0:
            resume += 1
            s_index, p_index = resume, star + 1
        else:
            return False
    while p_index < psize and pattern[p_index] == '*':
        p_index += 1
    return p_index == psize


def _unmap(string):
    """string_match(): an IPv4-mapped IPv6 address is compared as IPv4."""
    if string[:7].lower() == '::ffff:' and dot_quad(string[7:]) is not None:
        return string[7:]
    return string


def string_match(tok, string, what='host name'):
    """hosts_access.c string_match(); ``string`` may be NOT_RESOLVED → _Unknown."""
    if tok.upper() == 'ALL' or (tok and not tok.strip('*') and (string is NOT_RESOLVED or string or tok == '*')):
        # only stars match any name (a run of two or more needs one character: see _glob)
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


_NOT_INADDR_RE = re.compile(r'[^0-9./]')


def _not_inaddr(tok):
    """libwrap NOT_INADDR(): the pattern has characters other than digits, dots and slashes."""
    return _NOT_INADDR_RE.search(tok) is not None


class Context(object):
    """What the evaluation knows about one request.

    ``client``: the address text.  ``hostname``: the verified client name, None when name
    lookup fails (libwrap's "unknown"), PARANOID_NAME when the name does not map back to
    the address, NOT_RESOLVED when not looked up.  ``user``: the IDENT user name (None:
    unknown).  ``server_addr``/``server_name``: the endpoint the client connected to (None:
    unknown, as in tcpdmatch without @server); ``server_port``: the port the client connected
    to (Debian matches numeric daemon patterns against it; None: unknown).  ``files``: path → text of /file patterns
    (or its file_patterns() list), None for a missing file, or a file_error() when unreadable.

    ``name_lookup``/``server_lookup``: called (once, and only when a pattern needs the name, as
    libwrap's eval_hostname() is) when ``hostname``/``server_name`` is NOT_RESOLVED; each returns
    ``(name, why)``: the name libwrap would get (a host name, ``unknown`` or ``paranoid``), or
    NOT_RESOLVED and why not (``why`` ends the verdict's "needs name resolution" reason).
    ``check``: called every CHECK_EVERY pattern matches (the collector's deadline).
    """

    def __init__(self, daemon, client, hostname=NOT_RESOLVED, user=NOT_RESOLVED,
                 server_addr=NOT_RESOLVED, server_name=NOT_RESOLVED, files=None, server_port=NOT_RESOLVED,
                 name_lookup=None, server_lookup=None, check=None):
        self.daemon = daemon
        self.client = {'addr': client, 'name': hostname, 'label': 'client', 'lookup': name_lookup, 'why': None}
        self.server = {'addr': server_addr, 'name': server_name, 'label': 'server', 'lookup': server_lookup,
                       'why': None}
        self.user = user
        self.server_port = server_port
        self.files = files or {}
        self.check = check
        self.steps = 0
        self.file_memo = {}
        self.file_stack = []

    def tick(self):
        self.steps += 1
        if self.check is not None and not self.steps % CHECK_EVERY:
            self.check()


def _name_of(host):
    """The host name as eval_hostname() gives it: looked up on first use when a lookup is given."""
    name = host['name']
    if name is NOT_RESOLVED and host['lookup'] is not None:
        lookup, host['lookup'] = host['lookup'], None
        name, host['why'] = lookup()
        host['name'] = name
    if name is NOT_RESOLVED:
        return NOT_RESOLVED
    return UNKNOWN_NAME if name is None else name


def _addr_of(host):
    addr = host['addr']
    if addr is NOT_RESOLVED:
        return NOT_RESOLVED
    return UNKNOWN_NAME if addr is None else addr


def _need_name(host, tok):
    why = ' (%s)' % host['why'] if host['why'] else ''
    if host['label'] == 'client':
        return 'needs name resolution: rule uses hostname pattern %s%s' % (tok, why)
    return 'needs the server name: rule uses server pattern %s%s' % (tok, why)


def host_match(tok, host, ctx, depth=0):
    """hosts_access.c host_match() for one pattern against a host (client or server).

    The name is asked for (and so looked up) exactly where libwrap calls eval_hostname():
    netgroups, KNOWN, LOCAL, and a pattern with characters other than digits, dots and slashes
    that the address did not match.
    """
    ctx.tick()
    if tok.startswith('@'):
        _name_of(host)      # innetgr(group, eval_hostname(host), ...): the lookup happens
        return _Unknown('needs a NIS netgroup lookup: rule uses netgroup %s' % tok)
    if tok.startswith('/'):
        return _file_match(tok, host, ctx, depth)
    if tok.upper() == 'KNOWN':
        name = _name_of(host)
        addr = _addr_of(host)
        if addr is NOT_RESOLVED:
            return _Unknown('needs the %s address: rule uses KNOWN' % host['label'])
        if addr == UNKNOWN_NAME:
            return False
        if name is NOT_RESOLVED:
            return _Unknown(_need_name(host, tok))
        return name.lower() not in (UNKNOWN_NAME, PARANOID_NAME)
    if tok.upper() == 'LOCAL':
        name = _name_of(host)
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
    if by_addr is True or not _not_inaddr(tok):
        return by_addr
    name = _name_of(host)
    if name is NOT_RESOLVED:
        if ':' in tok or '[' in tok:
            # host names never hold ':' or '[' (libwrap verifies them against the address)
            return by_addr
        return _Unknown(_need_name(host, tok)) if by_addr is False else by_addr
    by_name = string_match(tok, name)
    if by_name is True:
        return True
    return by_addr if isinstance(by_addr, _Unknown) else by_name


# Deeper /file nesting than this (each file a different one) is refused; libwrap has no limit.
MAX_FILE_DEPTH = 100


def _file_match(path, host, ctx, depth):
    """hostfile_match(): any pattern of the file matches; a missing file matches nothing.

    Each file is matched once per host and evaluation (the answer is remembered), so a file
    that names other files many times costs no more than reading each once; a file already
    being expanded is a loop (see the module documentation): a crash.
    """
    key = (path, host['label'])
    if key in ctx.file_memo:
        return ctx.file_memo[key]
    if path in ctx.file_stack:
        chain = ctx.file_stack[ctx.file_stack.index(path):] + [path]
        return _Crash('pattern file %s includes itself (%s): libwrap opens it again for every reference and '
                      'recurses until its stack or file descriptors run out (tcpdmatch 7.6.q-32 dies of SIGSEGV), '
                      'so the connection is dropped or hangs' % (path, ' -> '.join(chain)))
    if depth > MAX_FILE_DEPTH:
        return _Unknown('pattern files nested more than %d deep at %s' % (MAX_FILE_DEPTH, path))
    if path not in ctx.files:
        return _Unknown('pattern file %s was not read' % path)
    content = ctx.files[path]
    if content is None:
        value = False
    elif isinstance(content, _FileError):
        if content.certain:
            value = False
        else:
            value = _Unknown('cannot read pattern file %s: %s' % (path, content.reason))
    else:
        patterns = content if isinstance(content, list) else file_patterns(content)
        ctx.file_stack.append(path)
        try:
            value = _or(lambda tok=tok: host_match(tok, host, ctx, depth + 1) for tok in patterns)
        finally:
            ctx.file_stack.pop()
    ctx.file_memo[key] = value
    return value


class _FileError(object):
    def __init__(self, reason, certain):
        self.reason = reason
        self.certain = certain


def file_error(reason, certain=False):
    """A ``files`` entry for a pattern file that exists but cannot be read.

    ``certain``: libwrap cannot read it either (we run as root): it then matches nothing.
    """
    return _FileError(reason, certain)


ULONG_MAX = (1 << 64) - 1


def port_pattern(tok):
    """The port a daemon pattern names, as hosts_access.c daemon_or_port_match() reads it, or None.

    ``sscanf(tok, "%u%c", &port, &junk) == 1 && port <= 65535``: ASCII digits with an optional
    sign and nothing after them, converted as glibc's strtoul (a minus negates modulo 2**64, an
    overflow gives ULONG_MAX) and stored in an unsigned int (modulo 2**32).  tcpdmatch 7.6.q-32
    with server port 0: ``0``, ``+0``, ``-0``, ``4294967296`` and ``-4294967296`` match it;
    ``65536``, ``18446744073709551616`` and ``²`` are daemon names.
    """
    if not re.match(r'^[+-]?[0-9]+\Z', tok):
        return None
    digits = tok.lstrip('+-').lstrip('0') or '0'
    value = int(digits) if len(digits) <= 20 else ULONG_MAX + 1
    if value > ULONG_MAX:
        value = ULONG_MAX
    elif tok.startswith('-'):
        value = -value % (ULONG_MAX + 1)
    value &= 0xffffffff
    return value if value <= 65535 else None


def _daemon_match(tok, ctx):
    """A daemon pattern: a process name pattern, or (Debian) the server port number.

    A real sshd with ``2299: ALL`` in hosts.deny refuses connections to port 2299 and not
    to 2298; tcpdmatch, which has no port, never matches such a token.
    """
    ctx.tick()
    port = port_pattern(tok)
    if port is not None:
        if ctx.server_port is NOT_RESOLVED:
            return _Unknown('needs the server port: rule uses port pattern %s' % tok)
        return ctx.server_port is not None and port == int(ctx.server_port)
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
    """hosts_access.c list_match(): ``a b EXCEPT c EXCEPT d`` = (a|b) & !(c & !(d)).

    libwrap recurses once per EXCEPT; this walks the groups left to right while the part read
    so far still matters (as libwrap's lookups happen), then folds them from the right, so a
    line of hundreds of EXCEPTs needs no deep recursion.
    """
    groups = [[]]
    for tok in toks:
        if tok.upper() == 'EXCEPT':
            groups.append([])
        else:
            groups[-1].append(tok)
    values = []
    for group in groups:
        value = _or(lambda tok=tok: match_fn(tok, ctx) for tok in group)
        values.append(value)
        if value is False or isinstance(value, _Crash):
            break
    folded = values.pop()
    while values:
        first = values.pop()
        rest = _not(folded)
        folded = _and(first, lambda rest=rest: rest)
    return folded


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


# A verdict's reason quotes what happens otherwise; quotes are cut to this many characters and at
# most this many "whether or not" notes are listed, so thousands of undecided rules (hostname
# rules with lookups off) give a reason of bounded size.
MAX_QUOTED_REASON = 400
MAX_NOTES = 3


def _clip(text, size=MAX_QUOTED_REASON):
    return text if len(text) <= size else text[:size - 3] + '...'


def walk(steps, ctx):
    """The first rule that matches decides; an undecided match splits the walk in two.

    The rules after an undecided one are walked once (as if it did not match), then the
    undecided rules are folded back from the last: access is decided when it is the same
    whether or not they match.  No recursion: thousands of undecided rules cost one pass.
    """
    pending = []
    index = 0
    decided = None
    while index < len(steps) and decided is None:
        table, rule = steps[index]
        if 'daemons' not in rule:
            stop = rule
            if not stop['certain']:
                decided = _decided(UNKNOWN_ACCESS, None, 'cannot read the %s file: %s' % (table, stop['reason']))
            elif table == 'deny':
                decided = _decided(DENIED, None, 'libwrap stops reading the deny file at line %s (%s) and denies '
                                   'service' % (stop['line'], stop['reason']))
            else:
                while index < len(steps) and steps[index][0] == 'allow':
                    index += 1
            continue
        index += 1
        matched = rule_match(rule, ctx)
        if matched is False:
            continue
        if isinstance(matched, _Crash):
            decided = _decided(DENIED, rule, '%s line %s: %s; the client gets no service' % (
                rule['file'], rule['line'], matched.reason))
            break
        access, reason = _outcome(rule, table)
        if matched is True:
            decided = _decided(access, rule, reason)
        else:
            pending.append((rule, access, matched))
    if decided is None:
        decided = no_rule_verdict()
    notes = []
    for rule, access, matched in reversed(pending):
        if decided['access'] == access and access != UNKNOWN_ACCESS:
            notes.append('%s line %s (%s)' % (rule['file'], rule['line'], _clip(matched.reason, 200)))
            continue
        if notes:
            decided['reason'] = _with_notes(decided['reason'], decided['access'], notes)
            notes = []
        decided = _decided(UNKNOWN_ACCESS, rule, '%s line %s %s: if it matches, access is %s; otherwise %s (%s)' % (
            rule['file'], rule['line'], matched.reason, access, decided['access'], _clip(decided['reason'])))
    if notes:
        decided['reason'] = _with_notes(decided['reason'], decided['access'], notes)
    return decided


def _with_notes(reason, access, notes):
    """``notes``: the undecided rules with the same outcome, last rule first."""
    notes = notes[::-1]
    shown = notes[:MAX_NOTES]
    more = ' and %d more' % (len(notes) - MAX_NOTES) if len(notes) > MAX_NOTES else ''
    return '%s; access is %s whether or not %s%s matches' % (reason, access, ', '.join(shown), more)


# ---------------------------------------------------------------------------------------
# host names, the way libwrap's sock_hostname() gets them (what _tcp_wrappers' lookups run)
# ---------------------------------------------------------------------------------------
class SocketResolver(object):
    """The host's own resolver (glibc through Python's socket module), as libwrap calls it.

    ``reverse(address, family)`` → the name getnameinfo(NI_NAMEREQD) gives, or LookupFailed;
    ``forward(name, family)`` → (canonical name or None, [(packed address, scope id)]) of
    getaddrinfo(name, AI_PASSIVE | AI_CANONNAME, SOCK_STREAM) in that family, or LookupFailed.
    Unit tests pass a resolver of their own with the same two methods.
    """

    def reverse(self, address, family):
        sockaddr = (address, 0) if family == socket.AF_INET else (address, 0, 0, 0)
        try:
            return socket.getnameinfo(sockaddr, socket.NI_NAMEREQD)[0]
        except socket.gaierror as exc:
            raise LookupFailed(exc.strerror or str(exc))

    def forward(self, name, family):
        try:
            # bytes: no IDNA encoding on the way (glibc gets the name as libwrap passes it)
            infos = socket.getaddrinfo(name.encode('utf-8', 'surrogateescape'), None, family, socket.SOCK_STREAM, 0,
                                       socket.AI_PASSIVE | socket.AI_CANONNAME)
        except socket.gaierror as exc:
            raise LookupFailed(exc.strerror or str(exc))
        canonical = (infos[0][3] or None) if infos else None
        found = []
        for info_family, _type, _proto, _canon, sockaddr in infos:
            if info_family != family:
                continue
            text = sockaddr[0].split('%')[0]
            packed = parse_v4(text) if family == socket.AF_INET else parse_v6(text)
            if packed is not None:
                found.append((packed, sockaddr[3] if family == socket.AF_INET6 else 0))
        return canonical, found


def _is_numeric(name, family):
    """getaddrinfo(name, AI_NUMERICHOST) in ``family`` succeeds (glibc's inet_aton forms too:
    127.1, 0x7f000001); never a query."""
    try:
        socket.getaddrinfo(name.encode('utf-8', 'surrogateescape'), None, family, socket.SOCK_STREAM, 0,
                           socket.AI_PASSIVE | socket.AI_NUMERICHOST)
        return True
    except (socket.gaierror, UnicodeError, ValueError):
        return False


def sock_hostname(address, resolver):
    """The client name libwrap's sock_hostname() (socket.c, INET6 build) gives ``address``.

    Returns (name, reverse_name, detail): ``name`` is the verified host name, ``unknown``
    (no name: the reverse lookup failed) or ``paranoid`` (a name that libwrap does not
    believe); ``reverse_name`` what the reverse lookup gave (None when it failed); ``detail``
    a sentence saying how libwrap got there.  The rules, in socket.c's order:

    * an IPv4-mapped IPv6 address is looked up as IPv4;
    * getnameinfo(NI_NAMEREQD) fails → ``unknown``; its name is cut to 127 characters;
    * a numeric name (getaddrinfo AI_NUMERICHOST succeeds in the address's family) → ``paranoid``;
    * getaddrinfo(name, AI_CANONNAME) in that family fails → ``paranoid`` ("can't verify");
    * its canonical name differs from the name (strcasecmp: case does not matter, a trailing
      dot does) and the name is not ``localhost`` → ``paranoid`` ("host name/name mismatch");
    * none of its addresses is the client's → ``paranoid`` ("host name/address mismatch");
    * otherwise the name, as the reverse lookup spelt it.
    """
    address = _lookup_address(address)
    family = socket.AF_INET if parse_v4(address) is not None else socket.AF_INET6
    packed = parse_v4(address) if family == socket.AF_INET else parse_v6(address)
    try:
        name = resolver.reverse(address, family)
    except LookupFailed as exc:
        return UNKNOWN_NAME, None, 'the reverse lookup of %s found no name (%s): libwrap calls the client %s' % (
            address, exc, UNKNOWN_NAME)
    name = name[:STRING_LENGTH - 1]
    if _is_numeric(name, family):
        return PARANOID_NAME, name, ('the reverse lookup of %s gave the numeric name %s, which libwrap refuses '
                                     '("reverse lookup results in non-FQDN"): it calls the client %s'
                                     % (address, name, PARANOID_NAME))
    try:
        canonical, addresses = resolver.forward(name, family)
    except LookupFailed as exc:
        return PARANOID_NAME, name, ('the reverse lookup of %s gave %s, whose forward lookup failed (%s): libwrap '
                                     'cannot verify it and calls the client %s' % (address, name, exc, PARANOID_NAME))
    if (canonical is None or canonical.lower() != name.lower()) and name.lower() != 'localhost':
        return PARANOID_NAME, name, ('the reverse lookup of %s gave %s, but its forward lookup names %s ("host '
                                     'name/name mismatch"): libwrap calls the client %s'
                                     % (address, name, canonical, PARANOID_NAME))
    if any(found == packed and scope == 0 for found, scope in addresses):
        return name, name, 'the reverse lookup of %s gave %s, whose forward lookup gives %s back' % (
            address, name, address)
    return PARANOID_NAME, name, ('the reverse lookup of %s gave %s, whose forward lookup does not give %s back '
                                 '("host name/address mismatch"): libwrap calls the client %s'
                                 % (address, name, address, PARANOID_NAME))


def hosts_file_name(text, address):
    """The name glibc's files backend gives ``address`` from /etc/hosts text: the first name of
    the first line with that address; None when no line has it."""
    packed = parse_v4(address) or parse_v6(address)
    if packed is None:
        return None
    for count, line in enumerate((text or '').splitlines()):
        if count >= 100000:
            break
        fields = line.split('#', 1)[0].split()
        if len(fields) < 2:
            continue
        if (parse_v4(fields[0]) or parse_v6(fields[0].split('%')[0])) == packed:
            return fields[1]
    return None


def files_before_dns(nsswitch_text):
    """Whether nsswitch.conf's ``hosts:`` line asks /etc/hosts (files) before DNS (True when it
    names no dns service, or the file could not be read)."""
    for line in (nsswitch_text or '').splitlines():
        fields = line.split('#', 1)[0].split()
        if fields and fields[0] == 'hosts:':
            services = [f for f in fields[1:] if not f.startswith('[')]
            if 'files' not in services:
                return False
            dns = [services.index(x) for x in ('dns', 'resolve') if x in services]
            return not dns or services.index('files') < min(dns)
    return True


class HostLookup(object):
    """One bounded name lookup of an address (reverse + forward, as :func:`sock_hostname`).

    Runs in a daemon worker thread and waits at most ``timeout`` seconds: a resolver that does
    not answer leaves the thread behind (it ends with the resolver's own timeout or with the
    module) and the lookup ``timeout``.  Fields once :meth:`run` returned: ``status`` (``done``,
    ``timeout``, ``error``), ``name`` (the name libwrap would get, or None unless done),
    ``reverse_name``, ``detail``, ``elapsed_s``.
    """

    def __init__(self, address, resolver, timeout):
        self.address = address
        self.resolver = resolver
        self.timeout = timeout
        self.status = None
        self.name = None
        self.reverse_name = None
        self.detail = None
        self.elapsed_s = None

    def run(self, wait=None):
        box = {}

        def work():
            try:
                box['value'] = sock_hostname(self.address, self.resolver)
            except Exception as exc:  # pylint: disable=broad-except
                box['error'] = exc

        wait = self.timeout if wait is None else min(self.timeout, max(wait, 0.0))
        started = time.monotonic()
        worker = threading.Thread(target=work, name='tcp-wrappers-lookup-%s' % self.address)
        worker.daemon = True
        worker.start()
        worker.join(wait)
        self.elapsed_s = round(time.monotonic() - started, 3)
        if 'value' in box:
            self.status = 'done'
            self.name, self.reverse_name, self.detail = box['value']
        elif 'error' in box:
            self.status = 'error'
            error = box['error']
            self.detail = 'the name lookup of %s failed: %s: %s' % (self.address, type(error).__name__, error)
        else:
            self.status = 'timeout'
            self.detail = ('the name lookup of %s did not finish within %s s: libwrap waits for it (up to the '
                           "resolver's own timeouts) before sshd sends its banner" % (self.address, _secs(wait)))
        return self
