# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Firewall facts: rules that reset, reject or drop ssh traffic, ban lists, and whether the
controller is blocked right now.  Private.

Sources and formats:

* ``iptables-legacy-save`` / ``iptables-nft-save`` (and ``ip6tables-*``), iptables 1.8.x:
  ``*table`` sections holding ``-A CHAIN match... -j TARGET [target options]`` lines; plain
  ``iptables-save`` when the per-backend variants are missing (its header says ``(nf_tables)``
  or ``(legacy)``).
* ``nft -j list ruleset`` (libnftables-json(5), nftables 1.0.6): ``{"nftables": [{"metainfo":..},
  {"table":..}, {"set": {.., "elem": [..]}}, {"rule": {"family", "table", "chain", "handle",
  "expr": [{"match": {"op", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
  {"reject": {"type": "tcp reset"}}]}}]}``; ``nft -a list ruleset`` gives each rule's text
  (``... # handle 6``).  Tables that iptables-nft manages are read from iptables-nft-save only.
* ``fail2ban-client status`` (``|- Number of jail: 1`` / ```- Jail list: sshd, recidive``) and
  ``fail2ban-client status JAIL`` (```- Banned IP list: 192.0.2.1 198.51.100.7``).
* sshguard: its nft backend's ``table ip sshguard`` / ``table ip6 sshguard`` set ``attackers``;
  its iptables backend's chain ``sshguard`` (``-A sshguard -s 192.0.2.1/32 -j DROP``).
* crowdsec: ``cscli decisions list -o json`` → a list of alerts with ``decisions [{value, scope,
  type, origin, scenario, duration}]`` (``null`` when none).

* ``/etc/services`` (services(5): ``name port/protocol [aliases...] [# comment]``): a service name in
  a port match (``--dport ssh`` as typed, ``nft -S``'s ``"right": "ssh"``) is resolved through the
  host's own database, as iptables (libxtables ``xtables_parse_port`` → ``getservbyname``) and nft
  (``inet_service`` type → ``getaddrinfo``) resolved it when the rule was loaded.

Rules reported: any REJECT with tcp-reset; REJECT/DROP of TCP to one of ``ports`` or of all TCP
(no port match); DROP/REJECT of conntrack INVALID packets.

Each rule carries the typed fields the engine reads (the collector → engine contract,
docs/development.md): ``action`` (RESET / REJECT / DROP), ``invalid`` (the rule matches conntrack
state INVALID, not negated), ``ports`` (the destination ports it matches as sorted, merged
``[low, high]`` pairs, negation already applied; None = all ports), ``negated_ports`` (the port match
was written negated) and ``limit`` (the rule has a rate or count limit match, so only connections
over/under the limit are hit: iptables ``-m limit`` / ``connlimit`` / ``hashlimit``, nft ``limit
rate``, ``ct count``, and a ``limit`` inside a ``meter`` or an ``add @set { .. }`` statement).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re
import shlex

from ansible_collections.connreset.doctor.plugins.module_utils._common import (
    OK, PARTIAL, UNKNOWN, OptionError, controller_address, result, summarize,
)

ARGUMENT_SPEC = dict(
    ports=dict(type='list', elements='int', default=[22]),
    clients=dict(type='list', elements='str', default=None),
)

RESET = 'reject_tcp_reset'
REJECT = 'reject'
DROP = 'drop'
_NO_ROOT = ('Permission denied', 'Operation not permitted', 'you must be root', 'must be run as root')
# A port range as _port_specs writes it; ports are at most 5 ASCII digits (int() of a longer run is
# slow, and raises past 4,300 digits), so a longer number is no port and matches nothing.
_PORT_RANGE = re.compile(r'^([0-9]{1,5})-([0-9]{1,5})$')
PORT_MIN, PORT_MAX = 0, 65535
# iptables matches that limit by rate or count (iptables 1.8.9 extensions/libxt_limit.c,
# libxt_connlimit.c, libxt_hashlimit.c; iptables-save prints each as ``-m NAME`` before its options).
LIMIT_MATCHES = ('limit', 'connlimit', 'hashlimit')
_LIMIT_OPTIONS = ('--limit', '--connlimit-', '--hashlimit')
# nft statements that limit (libnftables-json(5), nftables 1.0.6 src/json.c: ``{"limit": {rate, per,
# burst, inv}}``, ``{"ct count": {val, inv}}``), and those that carry statements (``meter`` → ``stmt``
# object, dynamic ``set`` update → ``stmt`` list).
NFT_LIMIT_STATEMENTS = ('limit', 'ct count')
_NFT_NESTING = ('meter', 'set')
# services(5) lines read at most, and a name as services(5) and getservbyname take it.
MAX_SERVICES_LINES = 20000
_SERVICE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_+.-]{0,63}$')
# The name that must resolve even on a host without /etc/services (a slim container image has none).
DEFAULT_SERVICES = {'ssh': 22}
_NFT_HANDLE = re.compile(r'^(.*\S)\s+# handle ([0-9]{1,10})$')
# How deep _elem_text follows nested set elements (nft nests elem → val → prefix/range: 3 levels).
_ELEM_DEPTH = 8


# -- addresses --------------------------------------------------------------------------------
def to_network(text):
    """An address or CIDR (``192.0.2.1``, ``192.0.2.0/24``, ``192.0.2.1/32``) → ip_network, or None."""
    try:
        return ipaddress.ip_network(u'%s' % str(text).strip(), strict=False)
    except ValueError:
        return None


def address_in(client, networks):
    """True when ``client`` (an address) lies in one of ``networks`` (strings)."""
    addr = to_network(client)
    if addr is None:
        return False
    for text in networks or []:
        net = to_network(text)
        if net is not None and net.version == addr.version and addr.subnet_of(net):
            return True
    return False


# -- ports ------------------------------------------------------------------------------------
def _port_specs(text):
    """``22`` / ``22,2222`` / ``1000:2000`` → list of ints and ``'lo-hi'`` strings."""
    specs = []
    for part in str(text).split(','):
        part = part.strip()
        if not part:
            continue
        if ':' in part or '-' in part:
            low, _sep, high = part.replace('-', ':').partition(':')
            specs.append('%s-%s' % (low or 0, high or 65535))
        else:
            try:
                specs.append(int(part))
            except ValueError:
                specs.append(part)   # a service name such as "ssh"
    return specs


def parse_services(text):
    """``/etc/services`` text → {name: tcp port} (aliases too); other protocols and bad lines skipped."""
    services = {}
    for number, line in enumerate((text or '').splitlines()):
        if number >= MAX_SERVICES_LINES:
            break
        words = line.split('#', 1)[0].split()
        if len(words) < 2:
            continue
        port, _sep, proto = words[1].partition('/')
        if proto != 'tcp' or not port.isdigit() or len(port) > 5 or int(port) > PORT_MAX:
            continue
        for name in [words[0]] + words[2:]:
            if _SERVICE_NAME.match(name):
                services.setdefault(name, int(port))
    return services


def _port_pair(spec, services):
    """One port spec (an int, ``'22'``, ``'lo-hi'``, a service name) → [low, high], or None."""
    if isinstance(spec, bool):
        return None
    if isinstance(spec, int):
        return [spec, spec] if PORT_MIN <= spec <= PORT_MAX else None
    text = str(spec).strip()
    if text.isdigit() and len(text) <= 5:
        return _port_pair(int(text), services)
    match = _PORT_RANGE.match(text)
    if match:
        low, high = int(match.group(1)), min(int(match.group(2)), PORT_MAX)
        return [low, high] if low <= high else None
    port = (services or {}).get(text, DEFAULT_SERVICES.get(text))
    return [port, port] if port is not None else None


def port_ranges(specs, negated=False, services=None):
    """A rule's destination-port specs (``target_ports``) → sorted, merged ``[low, high]`` pairs
    (inclusive), the complement in 0-65535 when the match is negated; None (no port match) → None,
    all ports.  Service names resolve through ``services`` (:func:`parse_services`); a spec that is no
    port (a name the host does not know, a malformed element) is left out."""
    if specs is None:
        return None
    pairs = sorted(p for p in (_port_pair(spec, services) for spec in specs) if p is not None)
    merged = []
    for low, high in pairs:
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    if not negated:
        return merged
    complement = []
    start = PORT_MIN
    for low, high in merged:
        if low > start:
            complement.append([start, low - 1])
        start = high + 1
    if start <= PORT_MAX:
        complement.append([start, PORT_MAX])
    return complement


def ports_hit(ranges, ports):
    """True when a rule's ``ports`` (pairs from :func:`port_ranges`; None = all ports) cover one of ``ports``."""
    if ranges is None:
        return True
    return any(low <= port <= high for low, high in ranges for port in ports)


def classify(rule, ports):
    """Keep a rule (a dict from the parsers) when it matters for ssh; returns it completed or None."""
    action = rule.get('action')
    if action not in (RESET, REJECT, DROP):
        return None
    invalid = rule.get('invalid', False)
    tcp = rule.get('protocol') in (None, 'tcp', 'all', '6')
    keep = action == RESET or invalid or (tcp and ports_hit(rule.get('ports'), ports))
    if not keep:
        return None
    return rule


# -- iptables-save ----------------------------------------------------------------------------
def parse_iptables_save(text, backend, family, services=None):
    """``iptables-save`` text → list of rule dicts (every ``-A`` line, classified later); service
    names in port matches resolve through ``services`` (:func:`parse_services`)."""
    rules = []
    table = None
    for lineno, line in enumerate((text or '').splitlines(), 1):
        line = line.strip()
        if line.startswith('*'):
            table = line[1:].strip()
            continue
        if not line.startswith('-A '):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        rule = _iptables_rule(words, services)
        rule.update(backend=backend, family=family, table=table, rule=line, line=lineno)
        rules.append(rule)
    return rules


def _iptables_rule(words, services=None):
    rule = {'chain': words[1] if len(words) > 1 else None, 'action': None, 'protocol': None, 'target_ports': None,
            'negated_ports': False, 'established_only': False, 'invalid': False, 'sources': [], 'negated_sources': False,
            'target': None, 'limit': False}
    states = []
    i = 2
    negate = False
    reject_with = None
    while i < len(words):
        word = words[i]
        value = words[i + 1] if i + 1 < len(words) else ''
        if word == '!':
            negate = True
            i += 1
            continue
        if word in ('-p', '--protocol'):
            rule['protocol'] = None if negate else value.lower()
            i += 2
        elif word in ('-s', '--source', '--src'):
            rule['sources'] = [s for s in value.split(',') if s]
            rule['negated_sources'] = negate
            i += 2
        elif word in ('--dport', '--dports', '--destination-port', '--destination-ports'):
            rule['target_ports'] = _port_specs(value)
            rule['negated_ports'] = negate
            i += 2
        elif word in ('--ctstate', '--state'):
            if not negate:
                states = [s.upper() for s in value.split(',')]
            i += 2
        elif word in ('-j', '--jump', '-g', '--goto'):
            rule['target'] = value
            i += 2
        elif word == '--reject-with':
            reject_with = value
            i += 2
        elif word == '--comment':
            i += 2          # a comment's text is no match option
        elif word in ('-m', '--match'):
            rule['limit'] = rule['limit'] or value in LIMIT_MATCHES
            i += 2
        else:
            rule['limit'] = rule['limit'] or word.startswith(_LIMIT_OPTIONS)
            i += 1
        negate = False
    target = rule['target']
    if target == 'REJECT':
        rule['action'] = RESET if reject_with == 'tcp-reset' else REJECT
    elif target == 'DROP':
        rule['action'] = DROP
    rule['established_only'] = 'ESTABLISHED' in states and 'NEW' not in states
    rule['invalid'] = 'INVALID' in states
    rule['ports'] = port_ranges(rule['target_ports'], rule['negated_ports'], services)
    return rule


def iptables_tables(text):
    """Table names in an iptables-save output."""
    return set(line[1:].strip() for line in (text or '').splitlines() if line.startswith('*'))


def save_backend(text, default):
    """Backend from an ``iptables-save`` header (``(nf_tables)`` → iptables-nft)."""
    for line in (text or '').splitlines():
        if line.startswith('# Generated by'):
            if '(nf_tables)' in line:
                return 'iptables-nft'
            return 'iptables-legacy'
    return default


# -- nft -j -----------------------------------------------------------------------------------
def _load_json(text):
    """json.loads, with nesting too deep for it (RecursionError) reported as the ValueError it is."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError('JSON nested too deeply')


def _name(value):
    """A JSON value that must be a name (family, table, chain, set): the string, else None."""
    return value if isinstance(value, str) else None


def _dict(value):
    return value if isinstance(value, dict) else {}


def parse_nft_json(text, services=None):
    """``nft -j list ruleset`` → (rules, sets) or raises ValueError.

    ``sets`` maps ``(family, table, name)`` to a list of element strings (addresses/CIDRs/ranges).
    Objects of the wrong shape (a ``set`` or ``rule`` that is no object, a match whose sides have
    the wrong type) are read as far as they go, never raise; a text that is not JSON, or JSON
    without the ``nftables`` list, raises ValueError.
    """
    data = _load_json(text)
    items = data.get('nftables') if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError('no "nftables" list in the JSON')
    sets = {}
    rules = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get('set'), dict):
            s = item['set']
            elements = s.get('elem')
            sets[(_name(s.get('family')), _name(s.get('table')), _name(s.get('name')))] = [
                _elem_text(e) for e in (elements if isinstance(elements, list) else [])]
        elif isinstance(item.get('rule'), dict):
            rules.append(item['rule'])
    return [_nft_rule(r, sets, services) for r in rules], sets


def _elem_text(elem, depth=0):
    """A set element / match right-hand side → text (address, CIDR, ``a-b`` range, port)."""
    if isinstance(elem, dict) and depth < _ELEM_DEPTH:
        if 'elem' in elem:
            inner = elem['elem']
            return _elem_text(inner.get('val') if isinstance(inner, dict) else inner, depth + 1)
        if 'prefix' in elem:
            prefix = _dict(elem['prefix'])
            return '%s/%s' % (_elem_text(prefix.get('addr'), depth + 1), _elem_text(prefix.get('len'), depth + 1))
        if 'range' in elem and isinstance(elem['range'], list) and len(elem['range']) == 2:
            low, high = elem['range']
            return '%s-%s' % (_elem_text(low, depth + 1), _elem_text(high, depth + 1))
    return str(elem)


def _right_values(right, sets, family, table):
    """Right-hand side of a match → list of texts (named sets resolved)."""
    if isinstance(right, str) and right.startswith('@'):
        return list(sets.get((family, table, right[1:]), []))
    if isinstance(right, dict) and 'set' in right:
        right = right['set']
    if isinstance(right, list):
        return [_elem_text(e) for e in right]
    return [_elem_text(right)]


def _nft_limit(statement, depth=0):
    """True when an nft statement is, or (in a meter / set update) carries, a limit statement."""
    if not isinstance(statement, dict) or depth > 2:
        return False
    if any(key in statement for key in NFT_LIMIT_STATEMENTS):
        return True
    for key in _NFT_NESTING:
        inner = _dict(statement.get(key)).get('stmt')
        for nested in inner if isinstance(inner, list) else [inner]:
            if _nft_limit(nested, depth + 1):
                return True
    return False


def _nft_rule(raw, sets, services=None):
    family, table = _name(raw.get('family')), _name(raw.get('table'))
    handle = raw.get('handle')
    handle = handle if isinstance(handle, int) and not isinstance(handle, bool) else None
    rule = {'backend': 'nft', 'family': family, 'table': table, 'chain': _name(raw.get('chain')), 'handle': handle,
            'rule': None, 'action': None, 'protocol': None, 'target_ports': None, 'negated_ports': False,
            'established_only': False, 'invalid': False, 'sources': [], 'negated_sources': False, 'target': None,
            'xt': False, 'limit': False}
    exprs = raw.get('expr')
    for expr in exprs if isinstance(exprs, list) else []:
        if not isinstance(expr, dict):
            continue
        if 'match' in expr:
            _nft_match(rule, _dict(expr['match']), sets, family, table)
        elif 'drop' in expr:
            rule['action'] = DROP
        elif 'reject' in expr:
            kind = (expr['reject'] or {}).get('type') if isinstance(expr['reject'], dict) else None
            rule['action'] = RESET if kind == 'tcp reset' else REJECT
        elif 'xt' in expr:
            rule['xt'] = True
        elif 'jump' in expr or 'goto' in expr:
            rule['target'] = _name(_dict(expr.get('jump') or expr.get('goto')).get('target'))
        elif 'accept' in expr:
            rule['target'] = 'accept'
        if _nft_limit(expr):
            rule['limit'] = True
    rule['ports'] = port_ranges(rule['target_ports'], rule['negated_ports'], services)
    return rule


def _nft_match(rule, match, sets, family, table):
    left = _dict(match.get('left'))
    right = match.get('right')
    negated = match.get('op') == '!='
    payload = _dict(left.get('payload'))
    if payload:
        proto, field = payload.get('protocol'), payload.get('field')
        if field == 'dport' and proto in ('tcp', 'th'):
            rule['protocol'] = 'tcp' if proto == 'tcp' else rule['protocol']
            rule['target_ports'] = [_port_value(v) for v in _right_values(right, sets, family, table)]
            rule['negated_ports'] = negated
        elif field == 'dport':
            rule['protocol'] = proto
        elif field == 'saddr' and proto in ('ip', 'ip6'):
            rule['sources'] = _right_values(right, sets, family, table)
            rule['negated_sources'] = negated
        elif field == 'protocol' and proto == 'ip' or field == 'nexthdr' and proto == 'ip6':
            rule['protocol'] = str(right).lower()
    elif _dict(left.get('meta')).get('key') == 'l4proto':
        rule['protocol'] = str(right).lower()
    elif _dict(left.get('ct')).get('key') == 'state' and not negated:
        states = [s.lower() for s in _right_values(right, sets, family, table)]
        rule['established_only'] = 'established' in states and 'new' not in states
        rule['invalid'] = 'invalid' in states


def _port_value(text):
    try:
        return int(text)
    except ValueError:
        return text


def nft_rule_texts(text):
    """``nft -a list ruleset`` → {(family, table, chain, handle): rule text}."""
    texts = {}
    family = table = chain = None
    for line in (text or '').splitlines():
        stripped = line.strip()
        match = re.match(r'^table (\S+) (\S+) \{', stripped)
        if match:
            family, table = match.groups()
            continue
        match = re.match(r'^chain (\S+) \{', stripped)
        if match:
            chain = match.group(1)
            continue
        match = _NFT_HANDLE.match(stripped)
        if match and chain and not stripped.startswith(('set ', 'map ', 'chain ', 'table ')):
            texts[(family, table, chain, int(match.group(2)))] = match.group(1)
    return texts


# -- fail2ban, sshguard, crowdsec -------------------------------------------------------------
def parse_fail2ban_status(text):
    """``fail2ban-client status`` → list of jail names, or None when the output has no jail list."""
    for line in (text or '').splitlines():
        match = re.search(r'Jail list:\s*(.*)$', line)
        if match:
            return [j.strip() for j in match.group(1).split(',') if j.strip()]
    return None


def parse_fail2ban_jail(text):
    """``fail2ban-client status JAIL`` → {banned: [..], currently_banned, total_banned, currently_failed}."""
    jail = {'banned': None, 'currently_banned': None, 'total_banned': None, 'currently_failed': None}
    for line in (text or '').splitlines():
        match = re.search(r'(Currently banned|Total banned|Currently failed|Banned IP list):\s*(.*)$', line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == 'Banned IP list':
            jail['banned'] = value.split()
        else:
            try:
                jail[key.lower().replace(' ', '_')] = int(value)
            except ValueError:
                pass
    return jail


def _scalar(value):
    """A decision field: a string or an integer as cscli prints it; anything else (an object, a list,
    a non-finite number from ``1e999``) is None."""
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def parse_cscli_decisions(text):
    """``cscli decisions list -o json`` → list of {value, scope, type, origin, scenario, duration}.

    Raises ValueError when the text is not JSON or not a list of alerts (``null``: none).
    """
    data = _load_json(text or 'null')
    if data is not None and not isinstance(data, list):
        raise ValueError('expected a list of alerts, got a JSON %s' % type(data).__name__)
    decisions = []
    for alert in data or []:
        if not isinstance(alert, dict):
            continue
        items = alert.get('decisions') if 'decisions' in alert else [alert]
        for decision in items if isinstance(items, list) else []:
            if isinstance(decision, dict):
                decisions.append(dict((k, _scalar(decision.get(k)))
                                      for k in ('value', 'scope', 'type', 'origin', 'scenario', 'duration')))
    return decisions


def _no_root(res):
    text = '%s %s' % (res.err or '', res.out or '')
    return any(marker in text for marker in _NO_ROOT)


# -- collection -------------------------------------------------------------------------------
# iptables-legacy-save lists the tables of the kernel's x_tables from this file, one name per line
# (iptables/iptables-save.c, for_each_table, as read in AOSP's platform_external_iptables copy): a
# missing file (ENOENT: x_tables never loaded) returns at once, and only the tables it names are
# dumped (a module is loaded only for a named table iptc_init cannot open). So a missing or empty
# file means no output and exit 0; measured with Debian 12's iptables 1.8.9 in a fresh namespace
# (empty file: empty output, rc 0). Other releases are not claimed beyond that source.
LEGACY_TABLE_NAMES = {'ip': '/proc/net/ip_tables_names', 'ip6': '/proc/net/ip6_tables_names'}


def legacy_tables(system, family):
    """Whether iptables-legacy-save would find a table of ``family`` (``ip``/``ip6``): False when
    its table-name file is missing or readable and empty, so the command, which would print
    nothing, is not run; True when it names a table or cannot be read (mode 0440: not root), so the
    command runs and says what it can."""
    path = LEGACY_TABLE_NAMES[family]
    if not system.exists(path):
        return False
    names = system.read_or_none(path)
    return names is None or bool(names.strip())


def _read_iptables(system, parts, services):
    """(rules, nft_managed_tables) from every iptables backend present."""
    rules = []
    managed = set()
    runs = []
    variants = [('iptables-legacy-save', 'iptables-legacy', 'ip'), ('ip6tables-legacy-save', 'iptables-legacy', 'ip6'),
                ('iptables-nft-save', 'iptables-nft', 'ip'), ('ip6tables-nft-save', 'iptables-nft', 'ip6')]
    present = [v for v in variants if system.which(v[0])]
    if not present:
        present = [(b, None, f) for b, f in (('iptables-save', 'ip'), ('ip6tables-save', 'ip6')) if system.which(b)]
    if not present:
        parts['iptables'] = (OK, None)   # no iptables at all: nothing to read
        return rules, managed, []
    problems = []
    for binary, backend, family in present:
        if backend == 'iptables-legacy' and not legacy_tables(system, family):
            continue   # what iptables-legacy-save would print: nothing (no legacy table in this namespace)
        res = system.run([binary], timeout=15)
        if not res.ok:
            problems.append('%s: %s' % (binary, 'needs root (use become: true)' if _no_root(res) else res.describe()))
            continue
        backend = backend or save_backend(res.out, 'iptables-legacy')
        runs.append(binary)
        if backend == 'iptables-nft':
            managed.update((family, t) for t in iptables_tables(res.out))
        rules.extend(parse_iptables_save(res.out, backend, family, services))
    if problems:
        parts['iptables'] = (UNKNOWN if not runs else PARTIAL, '; '.join(problems))
    else:
        parts['iptables'] = (OK, None)
    return rules, managed, runs


def _read_nft(system, parts, managed, services):
    """(rules, sets) from nft, skipping tables iptables-nft manages."""
    if not system.which('nft'):
        parts['nft'] = (OK, None)   # no nftables userspace: nothing to read
        return [], {}
    res = system.run(['nft', '-j', 'list', 'ruleset'], timeout=15)
    if not res.ok:
        parts['nft'] = (UNKNOWN, 'nft -j list ruleset: %s' % ('needs root (use become: true)' if _no_root(res) else res.describe()))
        return None, {}
    try:
        rules, sets = parse_nft_json(res.out, services) if res.out.strip() else ([], {})
    except ValueError as exc:
        parts['nft'] = (UNKNOWN, 'nft -j output is not the expected JSON: %s' % exc)
        return None, {}
    texts = nft_rule_texts(system.run(['nft', '-a', 'list', 'ruleset'], timeout=15).out)
    kept = []
    for rule in rules:
        if (rule['family'], rule['table']) in managed or rule['xt']:
            continue
        rule['rule'] = texts.get((rule['family'], rule['table'], rule['chain'], rule['handle']))
        kept.append(rule)
    parts['nft'] = (OK, None)
    return kept, sets


def read_fail2ban(system):
    fact = {'present': False, 'running': False, 'jails': [], 'status': OK, 'reason': None}
    if not system.which('fail2ban-client'):
        return fact
    fact['present'] = True
    res = system.run(['fail2ban-client', 'status'], timeout=10)
    jails = parse_fail2ban_status(res.out) if res.ok else None
    if jails is None:
        fact.update(running=None, jails=None, status=UNKNOWN)
        text = '%s %s' % (res.err, res.out)
        if 'ermission denied' in text or 'you must be root' in text:
            fact['reason'] = 'no permission to talk to the fail2ban socket: use become: true'
        elif 'Is fail2ban running' in text or 'Failed to access socket' in text:
            fact['reason'] = 'fail2ban-server socket not reachable (is fail2ban running?): %s' % res.describe()
        else:
            fact['reason'] = res.describe()
        return fact
    fact['running'] = True
    problems = []
    for name in jails:
        res = system.run(['fail2ban-client', 'status', name], timeout=10)
        jail = parse_fail2ban_jail(res.out) if res.ok else {'banned': None}
        jail['name'] = name
        if not res.ok:
            problems.append('%s: %s' % (name, res.describe()))
        fact['jails'].append(jail)
    if problems:
        fact.update(status=PARTIAL, reason='; '.join(problems))
    return fact


def read_sshguard(system, rules, sets):
    """sshguard presence and its blocks (nft set ``attackers`` in table sshguard, iptables chain sshguard)."""
    present = bool(system.which('sshguard'))
    blocked = []
    for (family, table, name), elements in sorted(sets.items(), key=lambda kv: str(kv[0])):
        if table == 'sshguard':
            present = True
            blocked.extend(elements)
    for rule in rules or []:
        if (rule.get('chain') or '').lower() == 'sshguard' or rule.get('table') == 'sshguard':
            present = True
            if rule.get('backend') != 'nft' and rule['action'] in (DROP, REJECT, RESET):
                blocked.extend(rule['sources'])
    return {'present': present, 'blocked': sorted(set(blocked))}


def read_crowdsec(system):
    fact = {'present': False, 'decisions': [], 'status': OK, 'reason': None}
    if not system.which('cscli'):
        return fact
    fact['present'] = True
    res = system.run(['cscli', 'decisions', 'list', '-o', 'json'], timeout=20)
    if not res.ok:
        fact.update(decisions=None, status=UNKNOWN,
                    reason='cscli decisions list: %s' % ('needs root (use become: true)' if _no_root(res) else res.describe()))
        return fact
    try:
        fact['decisions'] = parse_cscli_decisions(res.out)
    except ValueError as exc:
        fact.update(decisions=None, status=UNKNOWN, reason='cscli output is not JSON: %s' % exc)
    return fact


def find_blocks(clients, rules, fail2ban, sshguard, crowdsec):
    blocked = []
    for client in clients:
        for jail in fail2ban.get('jails') or []:
            if address_in(client, jail.get('banned')):
                blocked.append({'client': client, 'by': 'fail2ban:%s' % jail['name'], 'detail': 'banned in jail %s' % jail['name']})
        if address_in(client, sshguard.get('blocked')):
            blocked.append({'client': client, 'by': 'sshguard', 'detail': 'in sshguard\'s block list'})
        for decision in crowdsec.get('decisions') or []:
            if (decision.get('type') or 'ban') == 'ban' and address_in(client, [decision.get('value')]):
                blocked.append({'client': client, 'by': 'crowdsec', 'detail': '%s %s (%s, %s)' % (
                    decision.get('type'), decision.get('value'), decision.get('scenario'), decision.get('duration'))})
        for rule in rules or []:
            inside = address_in(client, rule['sources'])
            # ``! -s 10.0.0.0/8 ... -j DROP`` / ``ip saddr != @allowed drop``: everyone else is blocked
            if inside != rule['negated_sources']:
                rule.setdefault('matches_clients', []).append(client)
                blocked.append({'client': client, 'by': 'rule', 'detail': '%s %s %s/%s: %s' % (
                    rule['backend'], rule['family'], rule['table'], rule['chain'], rule['rule'])})
    return blocked


def _public(rule):
    keys = ('backend', 'family', 'table', 'chain', 'rule', 'action', 'target_ports', 'ports', 'negated_ports', 'limit',
            'established_only', 'invalid', 'sources', 'negated_sources', 'matches_clients')
    out = dict((k, rule.get(k)) for k in keys)
    out['matches_clients'] = out['matches_clients'] or []
    return out


def validate(params):
    for port in params.get('ports') or []:
        if not 0 < port < 65536:
            raise OptionError('ports: %s is not a TCP port (1-65535); give the port(s) sshd listens on' % port)
    for client in params.get('clients') or []:
        if to_network(client) is None:
            raise OptionError('clients: %r is not an IP address or CIDR; give the addresses ssh connects from' % client)


def collect(system, params):
    validate(params)
    ports = params.get('ports') or [22]
    clients = params.get('clients')
    if clients is None:
        controller = controller_address(system)
        clients = [controller] if controller else []
    parts = {}
    services = parse_services(system.read_or_none('/etc/services'))
    ipt_rules, managed, _runs = _read_iptables(system, parts, services)
    nft_rules, sets = _read_nft(system, parts, managed, services)
    all_rules = ipt_rules + (nft_rules or [])
    rules = [r for r in (classify(r, ports) for r in all_rules) if r is not None]
    fail2ban = read_fail2ban(system)
    parts['fail2ban'] = (fail2ban['status'], fail2ban['reason'])
    sshguard = read_sshguard(system, all_rules, sets)
    crowdsec = read_crowdsec(system)
    parts['crowdsec'] = (crowdsec['status'], crowdsec['reason'])
    # source-restricted drops/rejects of ssh (or of everything: fail2ban's and sshguard's chains) are bans;
    # with a negated source (an allow-list) they block every other client
    blocking = [r for r in rules if r['sources'] and not r['invalid']]
    blocked = find_blocks(clients, blocking, fail2ban, sshguard, crowdsec)
    readable = parts.get('iptables', (OK,))[0] == OK and parts.get('nft', (OK,))[0] == OK
    status, reason = summarize(parts)
    if not clients:
        reason = (reason + '; ' if reason else '') + ('clients: none given and SSH_CONNECTION is not set, '
                                                      'so blocked lists nothing')
        status = PARTIAL if status == OK else status
    return result(status, reason, rules=[_public(r) for r in rules] if readable or rules else None,
                  backends=sorted(set(r['backend'] for r in all_rules)), ports=ports, clients=clients,
                  fail2ban=fail2ban, sshguard=sshguard, crowdsec=crowdsec,
                  blocked=blocked if readable or blocked else None)
