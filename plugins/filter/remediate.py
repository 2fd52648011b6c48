# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Arithmetic of the connreset.doctor.remediate role, as filters (each documented in the
<name>.yml file next to this one): connreset.doctor.remediate_exempt_list,
connreset.doctor.remediate_values, connreset.doctor.remediate_sysctl_stale,
connreset.doctor.remediate_sshd_expect, connreset.doctor.remediate_sshd_problem,
connreset.doctor.remediate_wrappers_clients, connreset.doctor.remediate_mtu_changes,
connreset.doctor.remediate_sshd_dropin, connreset.doctor.remediate_sysctl_lines and
connreset.doctor.remediate_hosts_allow.

PerSourcePenaltyExemptList, as OpenSSH parses it (openssh-portable, identical at V_9_8_P1 and
V_10_0_P1 except for line numbers):
- servconf.c process_server_config_line_depth(), case sPerSourcePenaltyExemptList: ONE argument
  (``arg = argv_next(&ac, &av)``; a second word fails the end-of-line check: "keyword %s extra
  arguments at end of line"), checked with
  ``addr_match_list(NULL, arg)``, and kept only when nothing set it before
  (``if (*activep && *charptr == NULL)``): the FIRST value read wins, so the role's drop-in,
  included at the top of sshd_config, must carry the whole list, the existing entries included.
- servconf.c fill_default_server_options(): ``CLEAR_ON_NONE(options->per_source_penalty_exempt)``:
  the value ``none`` (any case) means no list.
- servconf.c dump_config(): ``dump_cfg_string(sPerSourcePenaltyExemptList, ...)``, i.e.
  ``printf("%s %s\\n", "persourcepenaltyexemptlist", val == NULL ? "none" : val)``: ``sshd -T``
  prints the list verbatim, one line, comma-separated, or ``none``.
- addrmatch.c addr_match_list() splits the list on ``,`` (strsep); an entry may start with ``!``
  (negation); an empty entry is invalid (-2); an entry that addr_pton_cidr() parses as an address
  or CIDR must have its host bits zero (addr.c addr_pton_cidr(): -2 "inconsistent mask length");
  any other entry is a wildcard pattern (match.c match_pattern(): ``*`` and ``?``). When matching,
  a negated entry that matches ends the scan with -1 (never exempt), whatever the order; else any
  positive match gives 1. srclimit.c exempts an address only when addr_match_list() returns 1.
So the order of the entries and duplicates do not change what is exempt: the merge keeps every
existing entry in order, appends the controller and the admin networks that are not already
there, and reports an existing negated entry that matches the controller (adding the controller
cannot exempt it then).
"""

from __future__ import annotations

import ipaddress
import posixpath

from ansible.errors import AnsibleFilterError

from ansible_collections.connreset.doctor.plugins.plugin_utils._addrmatch import (
    entry_matches as _matches, network as _network,
)

# Bounds: an exempt list is a handful of networks; sshd's own per-entry parse buffer is 64 bytes
# (addr.c addr_pton_cidr(): ``char addrbuf[64]``), longer entries are wildcard patterns.
MAX_ENTRIES = 4096
MAX_ENTRY_CHARS = 1024


def _key(entry):
    """What an entry means, to find duplicates: (negated, network) or (negated, pattern text)."""
    neg = entry.startswith('!')
    body = entry[1:] if neg else entry
    try:
        net = _network(body)
    except ValueError:
        net = None
    return (neg, net if net is not None else body)


def _entries(value):
    """The existing list: None, '', 'none', a comma (or whitespace) separated string (older
    collectors, sshd -T's own text) or a list of entries (sshd_facts config.values)."""
    if value is None:
        return []
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise AnsibleFilterError('connreset.doctor.remediate_exempt_list: the current PerSourcePenaltyExemptList must be '
                                 'a list of entries or a comma-separated string (sshd_facts config.values.'
                                 'persourcepenaltyexemptlist), got %s' % type(value).__name__)
    out = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, str):
            raise AnsibleFilterError('connreset.doctor.remediate_exempt_list: an entry of the current '
                                     'PerSourcePenaltyExemptList is %s (%r), not a string' % (type(item).__name__, item))
        for word in item.replace(',', ' ').split():
            out.append(word)
            if len(out) > MAX_ENTRIES:
                raise AnsibleFilterError('connreset.doctor.remediate_exempt_list: the current PerSourcePenaltyExemptList '
                                         'has more than %d entries; merge it by hand' % MAX_ENTRIES)
    if len(out) == 1 and out[0].lower() == 'none':
        return []  # servconf.c CLEAR_ON_NONE: "none" alone is no list
    return out


def _address(controller):
    text = '' if controller is None else str(controller).strip()
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise AnsibleFilterError(
            'connreset.doctor.remediate_exempt_list: the controller address %r is not an IP address; sshd matches '
            'PerSourcePenaltyExemptList against the client\'s numeric address only. Set remediate_controller_address '
            'to the address the hosts see (e.g. 192.0.2.10)' % text) from None


def _admin_entry(value):
    text = '' if value is None else str(value).strip()
    why = None
    if not text:
        why = 'it is empty'
    elif len(text) > MAX_ENTRY_CHARS or any(c.isspace() or c == ',' for c in text) or text.startswith('!'):
        why = 'it is not one network'
    else:
        try:
            if _network(text) is None:
                why = 'it is not an address or a CIDR network'
        except ValueError as exc:
            why = 'sshd rejects it (%s; a network needs its host bits zero)' % exc
    if why:
        raise AnsibleFilterError(
            'connreset.doctor.remediate_exempt_list: remediate_admin_networks entry %r is invalid: %s. Give '
            'addresses or CIDR networks with the host bits zero, e.g. 10.20.0.0/16 or 2001:db8::/32' % (text, why))
    return text


def remediate_exempt_list(current, controller='', admin_networks=None):
    """The PerSourcePenaltyExemptList the role writes: every existing entry kept, in order, then the
    controller (/32 or /128) and ``admin_networks``, each unless an entry with the same meaning is
    already there. Returns {value, entries, current, new, added, negated}."""
    if admin_networks is None:
        admin_networks = []
    if isinstance(admin_networks, str) or not isinstance(admin_networks, (list, tuple)):
        raise AnsibleFilterError('connreset.doctor.remediate_exempt_list: remediate_admin_networks must be a list of '
                                 'networks, got %s' % type(admin_networks).__name__)
    cur = _entries(current)
    address = _address(controller)
    new = []
    if address is not None:
        new.append('%s/%d' % (address, address.max_prefixlen))
    new.extend(_admin_entry(n) for n in admin_networks)

    entries, seen, added = [], set(), []
    for entry in cur:
        key = _key(entry)
        if key not in seen:
            seen.add(key)
            entries.append(entry)
    for entry in new:
        key = _key(entry)
        if key not in seen:
            seen.add(key)
            entries.append(entry)
            added.append(entry)
    negated = []
    if address is not None:
        negated = [e for e in cur if e.startswith('!') and _matches(address, e[1:])]
    return {
        'value': ','.join(entries),
        'entries': entries,
        'current': cur,
        'new': new,
        'added': added,
        'negated': negated,
    }


def _int(value, default=0):
    """Jinja's ``int`` filter (jinja2.filters.do_int), which the role's Jinja used: an int, else
    int(float(value)), else ``default``."""
    try:
        if isinstance(value, str):
            return int(value, 10)
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default


def _get(mapping, key, default):
    """``mapping.key | default(default, true)``: the default also for a falsy value (0, '', [])."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if value else default


# sshd's compiled-in MaxStartups (servconf.c fill_default_server_options: 10:30:100).
MAXSTARTUPS_DEFAULT = {'start': 10, 'rate': 30, 'full': 100}
CONNTRACK_PER_MIB = 64  # entries per MiB of RAM: about 2 % of memory at ~300 bytes an entry
CONNTRACK_CEILING = 4194304


def remediate_values(data):
    """The values the role's fixes set, from the facts and the role's options (docs/remediate.md,
    "The fixes"). ``data``: {sshd_values, tcp, conntrack, memory, mtu (facts, each may be empty),
    expected_connections, path_idle_timeout}."""
    if not isinstance(data, dict):
        raise AnsibleFilterError('connreset.doctor.remediate_values expects a dictionary with the keys sshd_values, tcp, '
                                 'conntrack, memory, mtu, expected_connections, path_idle_timeout; got %s'
                                 % type(data).__name__)
    sshd, tcp = data.get('sshd_values') or {}, data.get('tcp') or {}
    ct, memory, mtu = data.get('conntrack') or {}, data.get('memory') or {}, data.get('mtu') or {}
    expected = _int(data.get('expected_connections'))
    idle = _int(data.get('path_idle_timeout'))

    # MaxStartups N:30:2N for N expected connections, never below the current start/full.
    cur = _get(sshd, 'maxstartups', MAXSTARTUPS_DEFAULT)
    cur = cur if isinstance(cur, dict) else MAXSTARTUPS_DEFAULT
    start = max(expected, _int(cur.get('start')))
    full = max(2 * expected, _int(cur.get('full')), start + 1)
    rate = 30 if start > _int(cur.get('start')) else _int(cur.get('rate'))

    # Keepalives below the path's idle timeout T: sshd probes every T/2 s; the kernel starts after
    # T/2 s idle, probes every max(5, T/10) s, 5 times. Never raises a value that is already lower.
    half = max(idle // 2, 10)
    cai_cur = _int(_get(sshd, 'clientaliveinterval', 0))
    cacm_cur = _int(_get(sshd, 'clientalivecountmax', 0))

    # conntrack: 64 entries per MiB of RAM, at most 4194304, never below the current limit or twice
    # the current count; buckets a quarter of that (never fewer than now).
    want = min((_int(_get(memory, 'mem_total_kb', 0)) // 1024) * CONNTRACK_PER_MIB, CONNTRACK_CEILING)
    ct_max = max(want, _int(_get(ct, 'max', 0)), 2 * _int(_get(ct, 'count', 0)))
    return {
        'maxstartups': '%d:%d:%d' % (start, rate, full),
        'client_alive_interval': min(half, cai_cur) if cai_cur > 0 else half,
        'client_alive_count_max': cacm_cur if cacm_cur > 0 else 3,
        'tcp_keepalive_time': min(half, _int(_get(tcp, 'tcp_keepalive_time', 7200))),
        'tcp_keepalive_intvl': min(max(5, idle // 10), _int(_get(tcp, 'tcp_keepalive_intvl', 75))),
        'tcp_keepalive_probes': min(5, _int(_get(tcp, 'tcp_keepalive_probes', 9))),
        'conntrack_max': ct_max,
        'conntrack_buckets': max((ct_max + 3) // 4, _int(_get(ct, 'buckets', 0))),
        'tcp_mtu_probing': max(1, _int(_get(mtu, 'tcp_mtu_probing', 0))),
    }


def remediate_sysctl_stale(new, now):
    """Keys of ``new`` (the sysctls this run sets) whose running value in ``now`` differs or is
    unknown (None): ``sysctl -p`` is due for them."""
    if not isinstance(new, dict) or not isinstance(now, dict):
        raise AnsibleFilterError('connreset.doctor.remediate_sysctl_stale expects two dictionaries (sysctl -> value), '
                                 'got %s and %s' % (type(new).__name__, type(now).__name__))
    return [k for k, v in new.items() if now.get(k) is None or _int(now.get(k)) != _int(v)]


def remediate_sshd_expect(new):
    """What ``sshd -T`` must print for the keywords this run sets: {lower-case keyword: text}."""
    if not isinstance(new, dict):
        raise AnsibleFilterError('connreset.doctor.remediate_sshd_expect expects a dictionary (sshd keyword -> value), '
                                 'got %s' % type(new).__name__)
    return dict((str(k).lower(), str(v)) for k, v in new.items())


def remediate_sshd_problem(expect, sshd_t, sshd_T, sshd_config, dropin):
    """Why the drop-in just written must be put back ('' when it is fine): ``sshd -t`` refused the
    configuration, or ``sshd -T`` (servconf.c dump_config: "keyword value" lines) shows a value
    other than ``expect`` (remediate_sshd_expect) because another line overrides it."""
    if not isinstance(expect, dict):
        raise AnsibleFilterError('connreset.doctor.remediate_sshd_problem expects a dictionary (lower-case sshd '
                                 'keyword -> value), got %s' % type(expect).__name__)
    sshd_t = sshd_t if isinstance(sshd_t, dict) else {}
    sshd_T = sshd_T if isinstance(sshd_T, dict) else {}
    if sshd_t.get('rc') != 0:
        text = (sshd_t.get('stderr') or '') or (sshd_t.get('stdout') or '')
        return 'sshd -t rejects the configuration: ' + str(text).strip()
    effective = {}
    for line in str(sshd_T.get('stdout') or '').split('\n'):
        words = line.split(None, 1)
        if len(words) == 2:
            effective[words[0]] = words[1].strip()
    bad = ['%s is %s, not %s' % (k, effective.get(k, 'unset'), v) for k, v in expect.items() if effective.get(k) != v]
    if not bad:
        return ''
    return ('sshd -T shows the drop-in does not take effect, another line overrides it (most keywords keep the first '
            'value read, MaxStartups in OpenSSH 9.2 the last): %s. Find it with `grep -riE "^\\s*(%s)\\s" %s %s`, '
            'then fix that line or rename remediate_sshd_dropin'
            % ('; '.join(bad), '|'.join(expect), sshd_config, posixpath.dirname(str(dropin))))


_HEX_COLON = frozenset('0123456789abcdefABCDEF:')
_HEX_COLON_DOT = _HEX_COLON | frozenset('.')


def _wrap_v6(text):
    """``[v6]`` and ``[v6]/len`` as libwrap wants IPv6 (hosts_access(5)); anything else unchanged.
    The same strings as the role's former regex_replace('^([0-9a-fA-F:]*:[0-9a-fA-F:.]*)(/[0-9]+)?$',
    '[\\1]\\2'), without a regex that can backtrack."""
    addr, sep, length = text.partition('/')
    if sep and (not length.isdigit() or not length.isascii()):
        return text
    colon = addr.find(':')
    dot = addr.find('.')
    if colon < 0 or not set(addr) <= _HEX_COLON_DOT or (0 <= dot < colon):
        return text
    return '[%s]%s' % (addr, sep + length)


def remediate_wrappers_clients(controller, admin_networks):
    """The clients the wrappers_allow fix puts in hosts.allow, in libwrap's syntax: the controller
    and the admin networks, a single IPv4 address without /32 and a single IPv6 one without /128,
    IPv6 in brackets, each once, in order. (The role's former Jinja also cut /32 off IPv6
    networks: 2001:db8::/32 became the one host [2001:db8::].)"""
    if isinstance(admin_networks, str) or not isinstance(admin_networks, (list, tuple)):
        raise AnsibleFilterError('connreset.doctor.remediate_wrappers_clients: remediate_admin_networks must be a list '
                                 'of networks, got %s' % type(admin_networks).__name__)
    controller = '' if controller is None else str(controller)
    out = []
    for item in ([controller] if controller else []) + [str(n) for n in admin_networks]:
        suffix = '/128' if ':' in item else '/32'
        if item.endswith(suffix):
            item = item[:-len(suffix)]
        item = _wrap_v6(item)
        if item not in out:
            out.append(item)
    return out


def remediate_mtu_changes(interfaces, wanted):
    """Interface MTUs to set: those of ``wanted`` (remediate_interface_mtu, name -> MTU) whose
    interface exists in ``interfaces`` (connreset_mtu.interfaces) with another MTU."""
    if not isinstance(wanted, dict):
        raise AnsibleFilterError('connreset.doctor.remediate_mtu_changes: remediate_interface_mtu must be a dictionary '
                                 '(interface -> MTU), got %s' % type(wanted).__name__)
    out = []
    for iface in interfaces or []:
        if not isinstance(iface, dict):
            continue
        name = iface.get('name')
        if name in wanted and _int(iface.get('mtu')) != _int(wanted[name]):
            out.append({'iface': name, 'mtu': _int(wanted[name]), 'old': _int(iface.get('mtu'))})
    return out


# The sshd keywords the role writes, in the drop-in's order (templates/sshd_dropin.conf.j2).
SSHD_KEYWORDS = ('MaxStartups', 'PerSourcePenaltyExemptList', 'ClientAliveInterval', 'ClientAliveCountMax')
SSHD_EXTRA_MARK = '# remediate_extra_sshd_config'
MAX_FILE_LINES = 100000  # a managed file (drop-in, sysctl.d file, hosts.allow) longer than this is refused


def _lines(text, what):
    text = '' if text is None else str(text)
    lines = text.split('\n')
    if len(lines) > MAX_FILE_LINES:
        raise AnsibleFilterError('connreset.doctor: %s has more than %d lines; the role does not merge it, check the file'
                                 % (what, MAX_FILE_LINES))
    return lines


def remediate_sshd_dropin(current, new):
    """The keyword lines of the role's sshd drop-in: what an earlier run wrote (``current``, the
    file's text; user text after the extra marker is not kept) updated with ``new``, in the fixed
    order of SSHD_KEYWORDS, as "Keyword value"."""
    if not isinstance(new, dict):
        raise AnsibleFilterError('connreset.doctor.remediate_sshd_dropin expects the keywords to set as a dictionary, '
                                 'got %s' % type(new).__name__)
    canonical = dict((k.lower(), k) for k in SSHD_KEYWORDS)
    merged = {}
    extra = False
    for line in _lines(current, 'the sshd drop-in'):
        if line.startswith(SSHD_EXTRA_MARK):
            extra = True
        words = line.split(None, 1)
        if not extra and len(words) == 2 and words[0].lower() in canonical:
            merged[canonical[words[0].lower()]] = words[1].strip()
    merged.update(new)
    return ['%s %s' % (k, merged[k]) for k in SSHD_KEYWORDS if k in merged]


def remediate_sysctl_lines(current, new):
    """The lines of the role's sysctl.d file: the ``key = value`` settings an earlier run wrote
    (``current``; comments dropped) updated with ``new``, sorted by key."""
    if not isinstance(new, dict):
        raise AnsibleFilterError('connreset.doctor.remediate_sysctl_lines expects the sysctls to set as a dictionary, '
                                 'got %s' % type(new).__name__)
    merged = {}
    for line in _lines(current, 'the sysctl file'):
        if '=' in line and not line.lstrip().startswith(('#', ';')):
            key, _sep, value = line.partition('=')
            merged[key.strip()] = value.strip()
    merged.update(new)
    return ['%s = %s' % (k, merged[k]) for k in sorted(merged, key=lambda k: k.lower())]


HOSTS_ALLOW_BEGIN = '# BEGIN connreset-doctor wrappers_allow'
HOSTS_ALLOW_END = '# END connreset-doctor wrappers_allow'


def remediate_hosts_allow(current, clients):
    """hosts.allow split for the wrappers_allow fix: ``clients`` = those of the role's marked block
    (an earlier run) followed by the new ``clients``, each once; ``rest`` = every other line, in
    order, unchanged; ``begin``/``end``: the block's marker lines."""
    if isinstance(clients, str) or not isinstance(clients, (list, tuple)):
        raise AnsibleFilterError('connreset.doctor.remediate_hosts_allow expects the clients as a list, got %s'
                                 % type(clients).__name__)
    inside = False
    rest, old = [], []
    for line in _lines(current, 'hosts.allow'):
        if line.startswith(HOSTS_ALLOW_BEGIN):
            inside = True
        elif line.startswith(HOSTS_ALLOW_END):
            inside = False
        elif inside:
            if not line.startswith('#') and ':' in line:
                old.extend(line.split(':', 1)[1].replace(',', ' ').split())
        else:
            rest.append(line)
    merged = []
    for client in old + list(clients):
        if client not in merged:
            merged.append(client)
    return {'clients': merged, 'rest': '\n'.join(rest), 'begin': HOSTS_ALLOW_BEGIN, 'end': HOSTS_ALLOW_END}


class FilterModule:
    """connreset.doctor remediate role filters."""

    def filters(self):
        return {
            'remediate_exempt_list': remediate_exempt_list,
            'remediate_values': remediate_values,
            'remediate_sysctl_stale': remediate_sysctl_stale,
            'remediate_sshd_expect': remediate_sshd_expect,
            'remediate_sshd_problem': remediate_sshd_problem,
            'remediate_wrappers_clients': remediate_wrappers_clients,
            'remediate_mtu_changes': remediate_mtu_changes,
            'remediate_sshd_dropin': remediate_sshd_dropin,
            'remediate_sysctl_lines': remediate_sysctl_lines,
            'remediate_hosts_allow': remediate_hosts_allow,
        }
