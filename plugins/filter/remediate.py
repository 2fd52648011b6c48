# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Arithmetic of the connreset.doctor.remediate role, as filters (each documented in the
<name>.yml file next to this one): connreset.doctor.remediate_exempt_list,
connreset.doctor.remediate_values, connreset.doctor.remediate_sysctl_stale,
connreset.doctor.remediate_sshd_expect, connreset.doctor.remediate_sshd_problem,
connreset.doctor.remediate_wrappers_clients, connreset.doctor.remediate_mtu_changes,
connreset.doctor.remediate_sshd_dropin, connreset.doctor.remediate_sysctl_lines,
connreset.doctor.remediate_hosts_allow and connreset.doctor.remediate_plan, which decides, from the
facts, the findings and the role's options, which fixes apply and what each writes (the role's
vars/main.yml only names its results).

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
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.connreset.doctor.plugins.plugin_utils._addrmatch import (
    entry_matches as _matches, network as _network,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import FIX_SWITCHES, ID_PATTERN

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


def _bool(value, default=False):
    """Ansible's ``bool`` filter, as the role's Jinja used it: True, 'yes', 'on', 'true', '1', 1."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ('yes', 'on', '1', 'true', 'y', 't')


def _dict(value):
    return value if isinstance(value, dict) else {}


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# OpenSSH got PerSourcePenaltyExemptList in 9.8 (servconf.c, V_9_8_P1).
PENALTY_SINCE = (9, 8)
_VERSION = re.compile(r'^([0-9]{1,4})[.]([0-9]{1,4})')
DEFAULT_PIDFILE = '/run/sshd.pid'  # sshd's compiled-in _PATH_SSH_DAEMON_PID_FILE on Debian and Fedora


def _fixes(value, what='remediate_fixes'):
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise AnsibleFilterError('connreset.doctor.remediate_plan: %s must be a list of switches or finding ids, got %s'
                                 % (what, type(value).__name__))
    return [str(v) for v in value]


def _reload(manager, unit, pidfile, pid):
    """The manifest's reload line, which roles/remediate/files/rollback.sh reads."""
    if manager == 'systemd':
        return 'reload systemd ' + unit
    if manager in ('sysv', 'openrc'):
        return 'reload service ' + re.sub(r'[.]service$', '', unit)
    return 'reload pid %s %s' % (pidfile, '' if pid is None else pid)


def remediate_plan(data):
    """Which of the selected fixes apply on this host and what each writes, from ``data``:
    {facts (the connreset_* facts), findings, fixes (remediate_fixes), controller_address,
    admin_networks, expected_connections, path_idle_timeout, interface_mtu, extra_sshd_config,
    paths {sshd_dropin, sysctl_file, modprobe_file, hosts_allow}}.  With ``facts`` and ``findings``
    left out, only the check of ``fixes`` (``unknown_fixes``) means anything.

    The parts that can refuse an option (the exempt list, the wrappers clients, the interface
    MTUs) are computed only for a fix that is selected, as the role's Jinja did."""
    if not isinstance(data, dict):
        raise AnsibleFilterError('connreset.doctor.remediate_plan expects a dictionary (facts, findings, fixes and the '
                                 'role\'s options), got %s' % type(data).__name__)
    fixes = _fixes(data.get('fixes') or [])
    facts = _dict(data.get('facts'))
    findings = data.get('findings') or []
    if not isinstance(findings, (list, tuple)):
        raise AnsibleFilterError('connreset.doctor.remediate_plan: the findings must be a list of finding dictionaries '
                                 '(remediate_findings, or a host document\'s findings), got %s' % type(findings).__name__)
    paths = _dict(data.get('paths'))
    admin = data.get('admin_networks') or []
    extra = str(data.get('extra_sshd_config') or '')

    sshd = _dict(facts.get('connreset_sshd'))
    values = _dict(_dict(sshd.get('config')).get('values'))
    service = _dict(sshd.get('service'))
    manager = service.get('manager') or 'none'
    unit = service.get('unit') or 'ssh.service'
    tcp = _dict(_dict(facts.get('connreset_tcp')).get('sysctls'))
    ct = _dict(facts.get('connreset_conntrack'))
    mtu = _dict(facts.get('connreset_mtu'))
    fw = _dict(facts.get('connreset_firewall'))
    wrap = _dict(facts.get('connreset_tcp_wrappers'))
    memory = _dict(_dict(facts.get('connreset_oom')).get('memory'))

    # The controller as the host sees it: the user's value, else the one key the collectors give it
    # under (connreset_meta.controller, SSH_CONNECTION; docs/development.md, the contract).
    controller = str(data.get('controller_address') or '')
    if not controller:
        controller = str(_dict(facts.get('connreset_meta')).get('controller') or '')

    # Findings that name a fix, and the switches remediate_fixes selects (by id or by switch).
    with_fix = [f for f in findings if isinstance(f, dict) and f.get('fix')]
    selected = sorted(set(f['fix'] for f in with_fix if f['fix'] in fixes or f.get('id') in fixes))

    version = _VERSION.match(str(sshd.get('version') or ''))
    penalty_supported = bool(version) and (int(version.group(1)), int(version.group(2))) >= PENALTY_SINCE
    exempt = None
    if 'sshd_penalty_exempt' in selected and penalty_supported:
        exempt = remediate_exempt_list(values.get('persourcepenaltyexemptlist'), controller, admin)
    wrappers_clients = remediate_wrappers_clients(controller, admin) if 'wrappers_allow' in selected else []

    do = {
        'penalty': exempt is not None and len(exempt['new']) > 0 and len(exempt['negated']) == 0,
        'maxstartups': 'sshd_maxstartups' in selected,
        'keepalive': 'keepalive' in selected,
        'conntrack': ('conntrack_max' in selected and _bool(ct.get('loaded')) and not _bool(ct.get('shared_netns'), True)
                      and _number(ct.get('max')) and _number(memory.get('mem_total_kb'))),
        'mtu_probing': 'mtu_probing' in selected,
        'restart_policy': 'sshd_restart_policy' in selected and manager == 'systemd',
        'wrappers': 'wrappers_allow' in selected and len(wrappers_clients) > 0,
        'service': 'sshd_service' in selected and not _bool(sshd.get('running')),
    }
    do['sshd_dropin'] = do['maxstartups'] or do['penalty'] or do['keepalive'] or len(extra) > 0
    do['sysctl'] = do['keepalive'] or do['conntrack'] or do['mtu_probing']

    sized = remediate_values({'sshd_values': values, 'tcp': tcp, 'conntrack': ct, 'memory': memory, 'mtu': mtu,
                              'expected_connections': data.get('expected_connections'),
                              'path_idle_timeout': data.get('path_idle_timeout')})
    sysctl_new = {}
    if do['keepalive']:
        sysctl_new.update({'net.ipv4.tcp_keepalive_time': sized['tcp_keepalive_time'],
                           'net.ipv4.tcp_keepalive_intvl': sized['tcp_keepalive_intvl'],
                           'net.ipv4.tcp_keepalive_probes': sized['tcp_keepalive_probes']})
    if do['conntrack']:
        sysctl_new.update({'net.netfilter.nf_conntrack_max': sized['conntrack_max'],
                           'net.netfilter.nf_conntrack_buckets': sized['conntrack_buckets']})
    if do['mtu_probing']:
        sysctl_new['net.ipv4.tcp_mtu_probing'] = sized['tcp_mtu_probing']
    # The values the kernel has now (from the facts), to know whether `sysctl -p` is due.
    sysctl_now = {
        'net.ipv4.tcp_keepalive_time': tcp.get('tcp_keepalive_time'),
        'net.ipv4.tcp_keepalive_intvl': tcp.get('tcp_keepalive_intvl'),
        'net.ipv4.tcp_keepalive_probes': tcp.get('tcp_keepalive_probes'),
        'net.netfilter.nf_conntrack_max': ct.get('max'),
        'net.netfilter.nf_conntrack_buckets': ct.get('buckets'),
        'net.ipv4.tcp_mtu_probing': mtu.get('tcp_mtu_probing'),
    }

    sshd_new = {}
    if do['maxstartups']:
        sshd_new['MaxStartups'] = sized['maxstartups']
    if do['penalty']:
        sshd_new['PerSourcePenaltyExemptList'] = exempt['value']
    if do['keepalive']:
        sshd_new['ClientAliveInterval'] = sized['client_alive_interval']
        sshd_new['ClientAliveCountMax'] = sized['client_alive_count_max']

    systemd_dropin = '/etc/systemd/system/%s.d/connreset-doctor.conf' % unit
    files = []
    for wanted, path, template, what in (
            (do['sshd_dropin'], paths.get('sshd_dropin'), 'sshd_dropin.conf.j2', 'sshd drop-in'),
            (do['sysctl'], paths.get('sysctl_file'), 'sysctl.conf.j2', 'sysctl settings'),
            (do['conntrack'], paths.get('modprobe_file'), 'modprobe.conf.j2', 'conntrack hash size at boot'),
            (do['restart_policy'], systemd_dropin, 'systemd_dropin.conf.j2', 'ssh unit restart policy'),
            (do['wrappers'], paths.get('hosts_allow'), 'hosts.allow.j2', 'TCP wrappers allow rule')):
        if wanted:
            files.append({'path': path, 'template': template, 'mode': '0644', 'what': what})

    # How to reload sshd without a service manager: SIGHUP to the pid in sshd's PidFile (sshd -T's
    # pidfile, config.values.pidfile), else to the listener the collector found.
    pidfile = values.get('pidfile') or DEFAULT_PIDFILE
    listener = _dict(sshd.get('listener'))
    pid = listener.get('pid') or service.get('main_pid') or service.get('pidfile_pid')
    blocked = fw.get('blocked') if isinstance(fw.get('blocked'), list) else []
    return {
        'switches': list(FIX_SWITCHES),
        'unknown_fixes': [f for f in fixes if f not in FIX_SWITCHES and not ID_PATTERN.match(f)],
        'sshd': sshd, 'sshd_values': values, 'service': service, 'manager': manager, 'unit': unit,
        'sshd_bin': sshd.get('sshd_path') or '/usr/sbin/sshd', 'conntrack': ct, 'firewall': fw,
        'controller': controller,
        'with_fix': with_fix,
        'selected': selected,
        'penalty_supported': penalty_supported,
        'exempt': exempt or {'value': '', 'entries': [], 'current': [], 'new': [], 'added': [], 'negated': []},
        'do': do,
        'values': sized,
        'sysctl_new': sysctl_new,
        'sysctl_now': sysctl_now,
        'sysctl_stale_keys': remediate_sysctl_stale(sysctl_new, sysctl_now),
        'wrappers_clients': wrappers_clients,
        'wrap_daemon': wrap.get('daemon') or 'sshd',
        'sshd_new': sshd_new,
        'sshd_expect': remediate_sshd_expect(sshd_new),
        'systemd_dropin': systemd_dropin,
        'files': files,
        'mtu_changes': (remediate_mtu_changes(mtu.get('interfaces') or [], data.get('interface_mtu', {}))
                        if do['mtu_probing'] else []),
        'pidfile': pidfile,
        'reload_pid': pid,
        'reload_line': _reload(manager, unit, pidfile, pid),
        'bans': ([b for b in blocked if isinstance(b, dict) and b.get('client') == controller]
                 if 'unban' in selected and controller else []),
    }


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
            'remediate_plan': remediate_plan,
        }
