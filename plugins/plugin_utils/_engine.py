# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The risk engine: collector facts (and the probe) in, findings out.  Pure: no I/O.

The engine knows risk, nothing about how facts were read (see docs/development.md).  Every
threshold lives in :data:`DEFAULT_THRESHOLDS`; callers pass overrides only.  Any fact may be
missing or null: a check that cannot be made yields a coverage finding ("could not check X:
reason"), never silence and never an exception.

Entry points: :func:`evaluate_host`, :func:`diagnose_host`, :func:`fleet_findings`,
:func:`apply_fleet_findings`, :func:`classify_unreachable`.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import math
import re
from collections import Counter

from ansible_collections.connreset.doctor.plugins.plugin_utils import _addrmatch
from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import (
    AREAS, CATALOGUE, CAUSES, SCORE_CAP, SEVERITIES, SEVERITY_WEIGHTS, severity_rank,
)

SCHEMA_VERSION = 1

# Default idle timeouts (seconds) of common middleboxes, selected with ``path_idle_preset``.
IDLE_TIMEOUT_PRESETS = {
    'aws-nlb': 350,          # Network Load Balancer TCP listener default (configurable 60-6000 s)
    'aws-nat-gateway': 350,  # fixed; the gateway then answers the next packet with RST
    'azure-lb': 240,         # Azure Load Balancer default 4 min (configurable 4-30 min)
    'azure-nat-gateway': 240,  # default 4 min (configurable 4-120 min)
    'gcp-nat': 1200,         # Cloud NAT tcpEstablishedIdleTimeoutSec default 1200 s
}

DEFAULT_THRESHOLDS = {
    # conntrack fill = count / max: warn at 75 % (medium), critical at 90 % (high) - the usual
    # two-step capacity alert; at 100 % new connections are dropped.
    'conntrack_fill_warn': 0.75,
    'conntrack_fill_crit': 0.90,
    # Log-counted drops past MaxStartups / PerSourcePenalties: >= low, >= medium, >= high.
    'startup_drops_low': 1,
    'startup_drops_medium': 10,
    'startup_drops_high': 100,
    # NRestarts (systemd) from which a restarting sshd is "high" rather than "medium".
    'restarts_high': 3,
    # Connections Ansible opens at once (its default forks is 5; 10 leaves room for async and
    # delegation).  MaxStartups' start below this -> finding.
    'expected_concurrency': 10,
    # LoginGraceTime below this many seconds (0 = unlimited, not flagged) -> finding.
    'login_grace_min_s': 30,
    # Interface MTU below this on the route to the controller -> finding.
    'min_mtu': 1500,
    # Idle timeout (s) of the network path (NAT, load balancer); None = not checked unless a
    # preset is chosen.  An explicit path_idle_timeout wins over path_idle_preset.
    'path_idle_timeout': None,
    'path_idle_preset': None,
    'idle_timeout_presets': IDLE_TIMEOUT_PRESETS,
    # SSH ports assumed when sshd's configuration could not be read.
    'ssh_ports_default': [22],
    # OOM kills of processes other than sshd (CRD-OOM-002) are low: memory pressure happened,
    # sshd survived.  They are medium from this many kills within the lookback, or when memory is
    # short now (MemAvailable/MemTotal below oom_mem_available_low, or PSI memory "some" avg10 at
    # or above oom_psi_some_avg10_high percent).
    # A host without sshd installed is CRD-SSHD-009 (info), unless it must serve SSH: then
    # CRD-SSHD-001 (critical).  The diagnose role sets it from diagnose_sshd_required.
    'sshd_required': False,
    'oom_other_kills_medium': 5,
    'oom_mem_available_low': 0.05,
    'oom_psi_some_avg10_high': 10.0,
}

THRESHOLD_DOCS = {
    'conntrack_fill_warn': 'conntrack count/max at or above which CRD-CT-001 is raised (medium).',
    'conntrack_fill_crit': 'conntrack count/max at or above which CRD-CT-001 is high.',
    'startup_drops_low': 'MaxStartups/penalty drops in the log at or above which CRD-SSHD-004/005 is low.',
    'startup_drops_medium': 'Drops at or above which CRD-SSHD-004/005 is medium.',
    'startup_drops_high': 'Drops at or above which CRD-SSHD-004/005 is high.',
    'restarts_high': 'systemd NRestarts at or above which CRD-SSHD-003 is high.',
    'expected_concurrency': 'Connections Ansible opens at once; MaxStartups start below it raises CRD-SSHD-006.',
    'login_grace_min_s': 'LoginGraceTime (s) below which CRD-SSHD-008 is raised (0 = unlimited, ignored).',
    'min_mtu': 'Interface MTU below which CRD-MTU-003 is raised for the route to the controller.',
    'path_idle_timeout': 'Idle timeout (s) of the network path; null = not checked (CRD-IDLE-001).',
    'path_idle_preset': 'Name of a preset in idle_timeout_presets, used when path_idle_timeout is null.',
    'idle_timeout_presets': 'Known middlebox idle timeouts (s).',
    'ssh_ports_default': 'SSH ports assumed when the sshd configuration could not be read.',
    'sshd_required': 'true: the host must serve SSH, so sshd not installed is CRD-SSHD-001 (critical), not CRD-SSHD-009.',
    'oom_other_kills_medium': 'OOM kills of other processes from which CRD-OOM-002 is medium instead of low.',
    'oom_mem_available_low': 'MemAvailable/MemTotal below which CRD-OOM-002 is medium (memory short now).',
    'oom_psi_some_avg10_high': 'PSI memory "some" avg10 (%) from which CRD-OOM-002 is medium (memory short now).',
}

PROBE_FAILURE_CAUSES = {
    'dns_failure': 'configuration',
    'refused': 'sshd_down',
    'rejected_icmp': 'firewall',
    'connect_timeout': 'firewall',
    'reset_at_connect': 'firewall',
    'reset_at_banner': 'sshd_rate_limit',
    'reset_at_banner_delayed': 'tcp_wrappers',
    'maxstartups': 'sshd_rate_limit',
    'closed_at_banner': 'sshd_rate_limit',
    'banner_timeout': 'resource_exhaustion',
    'kex_hang': 'mtu',
    'reset_during_kex': 'firewall',
    'auth_failed': 'configuration',
    'reset_mid_session': 'firewall',
    'intermittent_reset': 'firewall',
}

UNREACHABLE_FINDING = {
    'refused': 'CRD-REACH-001',
    'timeout': 'CRD-REACH-002',
    'reset_banner': 'CRD-REACH-003',
    'reset_mid_session': 'CRD-REACH-004',
    'auth': 'CRD-REACH-005',
    'dns': 'CRD-REACH-006',
    'other': 'CRD-REACH-007',
}

SSHD_PROCESS_NAMES = ('sshd', 'sshd-session', 'sshd-auth')
# Example hosts per MTU in a CRD-MTU-004 finding's evidence (the counts cover every host).
FLEET_EXAMPLE_HOSTS = 5
MTU_FINDINGS = ('CRD-MTU-001', 'CRD-MTU-002', 'CRD-MTU-003', 'CRD-MTU-004')
SSHD_UNITS = ('ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket')


# -- small helpers ----------------------------------------------------------------------
def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _num(value):
    """A finite number from an int/float/numeric string; None for anything else (bool is not a
    number, nor are inf and NaN)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 64:
        try:
            number = float(value) if '.' in value else int(value.strip())
        except ValueError:
            return None
        return number if not isinstance(number, float) or math.isfinite(number) else None
    return None


def _count(value):
    """Count of a log-derived event kind ({count, last, samples}) or a plain number; None = unknown."""
    if isinstance(value, dict):
        return _num(value.get('count'))
    if isinstance(value, list):
        return len(value)
    return _num(value)


def _samples(value):
    return _list(_dict(value).get('samples'))[-5:]


def _ip(text):
    try:
        return ipaddress.ip_address(str(text).strip().strip('[]'))
    except ValueError:
        return None


def _address_in(address, patterns):
    """True/False whether sshd would exempt ``address`` by the typed exempt list (entries negated
    with ``!`` and wildcard patterns as addrmatch.c matches them); None when unknown."""
    addr = _ip(address)
    if addr is None:
        return None
    return _addrmatch.exempt(addr, [str(i) for i in _list(patterns) if i])


def _status(part):
    """Status of a fact or sub-part: ok/partial/unknown, or None when it carries none."""
    status = _dict(part).get('status')
    return status if status in ('ok', 'partial', 'unknown') else None


# -- hostile fact values ----------------------------------------------------------------
# Facts come from the managed host: a value of the wrong type, inf or NaN, a huge list or a deep
# nesting must never lose the host or stop the other checks.  Before any check runs, the facts
# are copied through :func:`sanitise_facts`: every such value becomes None (unknown) or is cut,
# and each one is a coverage gap naming the fact and the value ("unknown is not healthy").
MAX_FACT_LIST = 1000       # items kept of one list (the last ones: the newest kills and samples)
MAX_FACT_STRING = 65536    # characters kept of one string
MAX_FACT_DEPTH = 24        # nesting levels kept
MAX_FACT_NODES = 200000    # values visited in the facts of one host
MAX_FACT_PROBLEMS = 20     # bad values named per area (the rest are counted)
_NUMBER_LIMIT = 2 ** 64    # kernel counters are u64: anything larger is not a measurement

_N, _S, _B, _L = 'number', 'string', 'bool', 'list'
_EVENT = ({'count': _N, 'samples': _L}, _N, _L)
# The fact values the checks read, by type: a dict is "a dict with these keys", a tuple "one of",
# a one-item list "a list of".  Keys not listed are only checked for inf/NaN and size.
FACT_TYPES = {
    'connreset_sshd': {
        'running': _B, 'installed': _B, 'installed_reason': _S, 'listening': _L, 'libwrap': _B,
        'service': {'n_restarts': _N, 'active_state': _S, 'sub_state': _S, 'result': _S, 'manager': _S},
        'config': {'valid': _B, 'values': {
            'maxstartups': {'start': _N}, 'port': _L, 'logingracetime': _N, 'clientaliveinterval': _N,
            'clientalivecountmax': _N, 'tcpkeepalive': _B, 'persourcepenalties': ({}, _B),
            'persourcepenaltyexemptlist': _L}, 'unparsed': {}},
        'events': {'crashes': _EVENT, 'maxstartups_drops': _EVENT, 'penalties': _EVENT,
                   'wrap_refusals': _EVENT,
                   'restarts': ({'count': _N, 'samples': _L, 'automatic': _N, 'manual': _N, 'gave_up': _N},
                                _N, _L)},
    },
    'connreset_oom': {
        'kills': _L, 'watched_killed': _L, 'vmstat_oom_kill': _N, 'log': {'since': _S},
        'kill_count': _N, 'kills_by_process': {},
        'memory': {'mem_total_kb': _N, 'mem_available_kb': _N, 'psi': {'some': {'avg10': _N}}},
    },
    'connreset_tcp_wrappers': {'libwrap_in_use': _B, 'errors': _L, 'verdicts': _L, 'clients': _L},
    'connreset_mtu': {
        'interfaces': [{'name': _S, 'mtu': _N, 'addresses': _L}], 'tcp_mtu_probing': _N,
        'targets': [{'target': _S, 'dev': _S, 'mtu': _N, 'probe': {'path_mtu': _N, 'blackhole': _B}}],
    },
    'connreset_conntrack': {
        'loaded': _B, 'count': _N, 'max': _N, 'fill': _N, 'table_full_events': _EVENT,
        'stats': {'drop': _N, 'early_drop': _N, 'insert_failed': _N, 'invalid': _N},
        'timeouts': {'established': _N}, 'ena_allowance': {},
    },
    'connreset_tcp': {
        'counters': {'ListenOverflows': _N, 'ListenDrops': _N}, 'uptime_s': _N,
        'sysctls': {'tcp_abort_on_overflow': _N, 'tcp_keepalive_time': _N},
        'listeners': [{'port': _N, 'recv_q': _N, 'backlog': _N}],
    },
    'connreset_firewall': {'rules': _L, 'blocked': _L, 'clients': _L},
}


def _kind_matches(value, kind):
    if isinstance(kind, dict):
        return isinstance(value, dict)
    if isinstance(kind, list):
        return isinstance(value, list)
    if kind == _N:
        return _num(value) is not None
    if kind == _S:
        return isinstance(value, str)
    if kind == _B:
        return isinstance(value, bool)
    return isinstance(value, list)  # _L


def _kind_name(kind):
    if isinstance(kind, tuple):
        return ' or '.join(_kind_name(k) for k in kind)
    if isinstance(kind, dict):
        return 'an object'
    if isinstance(kind, list) or kind == _L:
        return 'a list'
    return {'number': 'a number', 'string': 'a string', 'bool': 'true/false'}[kind]


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


def _type_name(value):
    return {dict: 'an object', list: 'a list', str: 'a string', bool: 'a boolean'}.get(
        type(value), 'a %s' % type(value).__name__)


def _path_text(path):
    """'a.b[3].c' from the linked path (parent, key) the sanitiser passes down."""
    parts = []
    while path is not None:
        path, key = path
        parts.append('[%d]' % key if isinstance(key, int) else '.%s' % key[:100])
    return ''.join(reversed(parts)).lstrip('.')


class _Sanitiser:
    """Copies facts to plain, finite, bounded JSON values; notes every value it had to change."""

    def __init__(self):
        self.nodes = 0
        self.problems = {}  # top-level key -> [(path, reason)]
        self.cut = False

    def note(self, path, reason):
        text = _path_text(path)
        key = text.split('.', 1)[0].split('[', 1)[0]
        self.problems.setdefault(key, []).append((text, reason))

    def clean(self, value, path, spec, depth):
        self.nodes += 1
        if self.nodes > MAX_FACT_NODES:
            if not self.cut:
                self.cut = True
                self.note(path, 'more than %d values in the facts: the rest was not read' % MAX_FACT_NODES)
            return None
        kind = type(value)
        if spec is None:
            # fast paths: most values are short strings, small ints, null
            if kind is str and len(value) <= MAX_FACT_STRING:
                return value
            if value is None or kind is bool or (kind is int and -_NUMBER_LIMIT < value < _NUMBER_LIMIT):
                return value
        if kind is float and not math.isfinite(value):
            self.note(path, 'not a finite number: %s (ignored: unknown)' % value)
            return None
        if kind is int and abs(value) >= _NUMBER_LIMIT:
            self.note(path, 'number out of range: %s (ignored: unknown)' % _shown(value))
            return None
        kinds = spec if isinstance(spec, tuple) else ((spec,) if spec is not None else ())
        if value is not None and kinds and not any(_kind_matches(value, k) for k in kinds):
            self.note(path, 'expected %s, got %s %s (ignored: unknown)' % (
                _kind_name(spec), _type_name(value), _shown(value)))
            return None
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            if len(value) > MAX_FACT_STRING:
                self.note(path, 'a string of %d characters: cut to %d' % (len(value), MAX_FACT_STRING))
                return value[:MAX_FACT_STRING]
            return value
        if isinstance(value, (dict, list, tuple)) and depth >= MAX_FACT_DEPTH:
            self.note(path, 'nested deeper than %d levels: cut' % MAX_FACT_DEPTH)
            return None
        if isinstance(value, dict):
            children = next((k for k in kinds if isinstance(k, dict)), {})
            clean = self.clean
            return dict((str(key), clean(item, (path, str(key)), children.get(key), depth + 1))
                        for key, item in value.items())
        if isinstance(value, (list, tuple)):
            items = list(value)
            offset = 0
            if len(items) > MAX_FACT_LIST:
                self.note(path, '%d items: only the last %d were checked' % (len(items), MAX_FACT_LIST))
                offset = len(items) - MAX_FACT_LIST
                items = items[offset:]
            item_spec = next((k[0] for k in kinds if isinstance(k, list) and k), None)
            clean = self.clean
            return [clean(item, (path, offset + index), item_spec, depth + 1) for index, item in enumerate(items)]
        self.note(path, 'not a JSON value: %s %s' % (_type_name(value), _shown(value)))
        return str(value)[:200]


def sanitise_facts(facts):
    """``(clean facts, {area key: [(path, reason)]})``: see :class:`_Sanitiser`.  The clean facts are
    what the checks read and what the host document keeps."""
    sanitiser = _Sanitiser()
    clean = {}
    for key, value in _dict(facts).items():
        spec = FACT_TYPES.get(key) if isinstance(value, dict) else None
        clean[str(key)] = sanitiser.clean(value, (None, str(key)), spec, 0)
    return clean, sanitiser.problems


def sanitise_value(value):
    """A plain, finite, bounded JSON copy of any value (the probe, a message), without notes."""
    return _Sanitiser().clean(value, (None, 'value'), None, 0)


# -- finding construction ---------------------------------------------------------------
class _Context:
    """What one host evaluation accumulates: findings and coverage gaps per area."""

    def __init__(self, facts, probe, thresholds, controller):
        self.facts = facts
        self.probe = probe
        self.t = thresholds
        self.controller = controller
        self.findings = {}
        self.gaps = {}
        self.not_collected = None

    def fact(self, key):
        return _dict(self.facts.get(key))

    def has(self, key):
        return isinstance(self.facts.get(key), dict)

    def emit(self, fid, evidence, severity=None, summary=None, cause=None):
        """Record finding ``fid``; the most severe emission of one id wins."""
        entry = CATALOGUE[fid]
        finding = {
            'id': fid,
            'title': entry['title'],
            'cause': cause or entry['cause'],
            'severity': severity or entry['severity'],
            'evidence': evidence,
            'explanation': entry['explanation'],
            'remedy': entry['remedy'],
            'fix': entry['fix'],
        }
        if summary:
            finding['summary'] = summary
        old = self.findings.get(fid)
        if old is None or severity_rank(finding['severity']) > severity_rank(old['severity']):
            self.findings[fid] = finding
        return finding

    def gap(self, key, what, reason):
        """Record that ``what`` (in fact ``key``) could not be checked, and why."""
        reason = reason or 'no reason given by the collector'
        items = self.gaps.setdefault(key, [])
        # One line per reason: a sub-part that could not be read explains its dependent checks.
        if not any(item['reason'] == reason for item in items):
            items.append({'check': what, 'reason': reason})

    def supersede(self, fid, old_ids):
        """Fold the evidence of ``old_ids`` into ``fid`` (a confirmed finding) and drop them."""
        target = self.findings[fid]
        for old in old_ids:
            if old in self.findings and old != fid:
                target['evidence'].setdefault('supersedes', {})[old] = self.findings.pop(old)['evidence']


def _reason_of(part, fallback):
    return _dict(part).get('reason') or fallback


def _subpart_gaps(ctx, key, fact):
    """Coverage for a collector's own status and its sub-parts' statuses (two levels deep)."""
    name = AREAS[key][1]
    status = _status(fact)
    if status == 'unknown':
        ctx.gap(key, name, _reason_of(fact, 'the %s collector returned status unknown' % name))
        return False
    found_sub = False

    def walk(obj, path, depth):
        nonlocal found_sub
        for sub_key, sub in sorted(_dict(obj).items()):
            if not isinstance(sub, dict):
                continue
            sub_status = _status(sub)
            if sub_status in ('unknown', 'partial'):
                found_sub = True
                ctx.gap(key, '%s %s' % (name, '.'.join(path + [sub_key])),
                        _reason_of(sub, 'status %s' % sub_status))
            elif depth < 2:
                walk(sub, path + [sub_key], depth + 1)

    walk(fact, [], 1)
    if status == 'partial' and not found_sub:
        ctx.gap(key, name, _reason_of(fact, 'the %s collector returned status partial' % name))
    return True


# -- area checks ------------------------------------------------------------------------
def _ssh_ports(ctx):
    values = _dict(_dict(ctx.fact('connreset_sshd').get('config')).get('values'))
    raw = values.get('port')
    ports = [int(_num(p)) for p in (raw if isinstance(raw, list) else [raw]) if _num(p) is not None]
    return ports or [int(p) for p in ctx.t['ssh_ports_default']]


def _drops_severity(ctx, count):
    if count >= ctx.t['startup_drops_high']:
        return 'high'
    if count >= ctx.t['startup_drops_medium']:
        return 'medium'
    if count >= ctx.t['startup_drops_low']:
        return 'low'
    return None


def _check_sshd(ctx):
    key = 'connreset_sshd'
    if not ctx.has(key):
        ctx.gap(key, 'sshd', ctx.not_collected or 'the sshd facts were not collected (collector skipped or failed)')
        return
    sshd = ctx.fact(key)
    if sshd.get('installed') is False:
        # Not "sshd is down": nothing to start.  Critical only where the inventory says this host
        # must serve SSH (diagnose_sshd_required); the probe's refusal is then explained too.
        reason = sshd.get('installed_reason') or 'sshd is not installed'
        if ctx.t['sshd_required']:
            ctx.emit('CRD-SSHD-001', {'installed': False, 'reason': reason, 'sshd_required': True},
                     summary='sshd is not installed, but this host must serve SSH (sshd_required)')
        else:
            ctx.emit('CRD-SSHD-009', {'installed': False, 'reason': reason}, summary=reason)
        return
    if not _subpart_gaps(ctx, key, sshd):
        return
    service = _dict(sshd.get('service'))
    config = _dict(sshd.get('config'))
    values = _dict(config.get('values'))
    events = _dict(sshd.get('events'))

    running = sshd.get('running')
    if running is False:
        ctx.emit('CRD-SSHD-001', {
            'running': running, 'active_state': service.get('active_state'),
            'sub_state': service.get('sub_state'), 'result': service.get('result'),
            'listening': sshd.get('listening')},
            summary='sshd is not running (%s)' % (
                'unit %s' % service.get('active_state') if service.get('active_state')
                else 'no sshd process; service state unknown'))
    elif running is None:
        ctx.gap(key, 'whether sshd is running', _reason_of(service, 'sshd.running is null'))

    if config.get('valid') is False:
        ctx.emit('CRD-SSHD-002', {'valid': False, 'error': config.get('error')},
                 summary='sshd -t: %s' % (config.get('error') or 'configuration rejected'))
    elif config.get('valid') is None:
        ctx.gap(key, 'the sshd configuration', _reason_of(config, 'sshd.config.valid is null'))

    # Crash loop / restarts.
    n_restarts = _num(service.get('n_restarts'))
    crashes = _count(events.get('crashes'))
    restarts = _count(events.get('restarts'))
    restart_kinds = _dict(events.get('restarts'))
    if 'automatic' in restart_kinds:
        # Manual restarts (an admin, a config-management handler) are not a crash loop.
        restarts = _num(restart_kinds.get('automatic'))
    failed = service.get('active_state') == 'failed'
    texts = ' '.join(str(s) for s in _samples(events.get('crashes')) + _samples(events.get('restarts')))
    start_limit = (service.get('result') == 'start-limit-hit'
                   or bool(_num(_dict(events.get('restarts')).get('gave_up')))
                   or 'Start request repeated too quickly' in texts)
    if failed or start_limit or (n_restarts or 0) > 0 or (crashes or 0) > 0 or (restarts or 0) > 0:
        high = start_limit or failed or (n_restarts or 0) >= ctx.t['restarts_high']
        ctx.emit('CRD-SSHD-003', {
            'active_state': service.get('active_state'), 'result': service.get('result'),
            'n_restarts': n_restarts, 'exec_main_status': service.get('exec_main_status'),
            'crashes': crashes, 'automatic_restarts': restarts, 'start_limit_hit': start_limit,
            'manual_restarts': restart_kinds.get('manual'),
            'samples': (_samples(events.get('crashes')) + _samples(events.get('restarts')))[-5:]},
            severity='high' if high else 'medium',
            summary='sshd failed/restarted: NRestarts=%s, crashes=%s, restarts=%s%s' % (
                n_restarts, crashes, restarts, ', start limit hit' if start_limit else ''))
    if n_restarts is None and service.get('manager') == 'systemd':
        ctx.gap(key, 'systemd NRestarts of sshd', _reason_of(service, 'service.n_restarts is null'))

    # Log events: MaxStartups and penalty drops, libwrap refusals.
    if events and _status(events) != 'unknown':
        for kind, fid, label in (('maxstartups_drops', 'CRD-SSHD-004', 'past MaxStartups'),
                                 ('penalties', 'CRD-SSHD-005', 'under PerSourcePenalties')):
            count = _count(events.get(kind))
            if count is None:
                ctx.gap(key, 'sshd log: drops %s' % label, _reason_of(events, 'events.%s is null' % kind))
                continue
            severity = _drops_severity(ctx, count)
            if severity:
                ctx.emit(fid, {kind: count, 'last': _dict(events.get(kind)).get('last'),
                               'since': events.get('since'), 'samples': _samples(events.get(kind))},
                         severity=severity, summary='%d connections dropped %s' % (count, label))
        refusals = _count(events.get('wrap_refusals'))
        if refusals:
            ctx.emit('CRD-WRAP-004', {'wrap_refusals': refusals, 'since': events.get('since'),
                                      'samples': _samples(events.get('wrap_refusals'))},
                     summary='libwrap refused %d connections to sshd' % refusals)
    elif not events:
        ctx.gap(key, 'sshd log events', 'sshd.events missing')

    # Configuration checks (not on a configuration sshd rejected or that could not be read).
    if config.get('valid') is not False and values and _status(config) != 'unknown':
        _check_sshd_values(ctx, key, sshd, values)
    elif not values and config.get('valid') is not False:
        ctx.gap(key, 'sshd settings (sshd -T)', _reason_of(config, 'sshd.config.values missing'))


def _keepalive_on(values):
    """TCPKeepAlive as the collector typed it (bool); null (not read) counts as sshd's default, yes."""
    return values.get('tcpkeepalive') is not False


def _check_sshd_values(ctx, key, sshd, values):
    maxstartups = _dict(values.get('maxstartups'))
    start = _num(maxstartups.get('start'))
    if start is None:
        ctx.gap(key, 'MaxStartups', 'config.values.maxstartups.start is null')
    elif start < ctx.t['expected_concurrency']:
        ctx.emit('CRD-SSHD-006', {'maxstartups': maxstartups,
                                  'expected_concurrency': ctx.t['expected_concurrency']},
                 summary='MaxStartups starts dropping at %d unauthenticated connections (< %d)' % (
                     start, ctx.t['expected_concurrency']))

    # Typed by the collector: a dict when on, false for `no`, null before OpenSSH 9.8; the exempt
    # list a list of sshd patterns, null for `none`.
    penalties = values.get('persourcepenalties')
    if isinstance(penalties, dict):
        exempt = values.get('persourcepenaltyexemptlist')
        empty = not [e for e in _list(exempt) if e]
        covered = None if empty else _address_in(ctx.controller, exempt)
        if empty or covered is False:
            ctx.emit('CRD-SSHD-007', {'persourcepenalties': penalties,
                                      'persourcepenaltyexemptlist': exempt,
                                      'controller': ctx.controller, 'version': sshd.get('version')},
                     summary='PerSourcePenalties on; exempt list %s the controller' % (
                         'is empty, so it does not cover' if empty else 'does not cover'))
        elif covered is None:
            ctx.gap(key, 'PerSourcePenaltyExemptList vs the controller',
                    'controller address unknown: pass `controller` to diagnose_host')

    grace = _num(values.get('logingracetime'))
    unparsed = _dict(_dict(sshd.get('config')).get('unparsed'))
    if grace is None:
        if 'logingracetime' in unparsed:
            ctx.gap(key, 'LoginGraceTime', 'unreadable value %r' % unparsed['logingracetime'])
    elif 0 < grace < ctx.t['login_grace_min_s']:
        ctx.emit('CRD-SSHD-008', {'logingracetime': values.get('logingracetime'), 'seconds': grace,
                                  'minimum': ctx.t['login_grace_min_s']},
                 summary='LoginGraceTime is %ss' % grace)


def _is_sshd_kill(kill):
    """A kill of sshd itself.  When the kernel names the process, the name decides: another
    process in ssh.service's cgroup (a session's shell or module without libpam-systemd) is not
    sshd.  Without a name (systemd-oomd kills a whole cgroup) the unit/cgroup decides."""
    kill = _dict(kill)
    process = str(kill.get('process') or '')
    if process:
        return process in SSHD_PROCESS_NAMES
    unit = str(kill.get('unit') or '')
    cgroup = str(kill.get('cgroup') or '')
    return unit in SSHD_UNITS or any('/%s' % u in cgroup for u in ('ssh.service', 'sshd.service'))


def _check_oom(ctx):
    key = 'connreset_oom'
    if not ctx.has(key):
        ctx.gap(key, 'OOM kills', ctx.not_collected or 'the OOM facts were not collected (collector skipped or failed)')
        return
    oom = ctx.fact(key)
    if not _subpart_gaps(ctx, key, oom):
        return
    kills = oom.get('kills')
    watched = _list(oom.get('watched_killed'))
    log = _dict(oom.get('log'))
    if kills is None and not watched:
        vmstat = _num(oom.get('vmstat_oom_kill'))
        ctx.gap(key, 'OOM kills in the kernel log', _reason_of(log, 'oom.kills is null'))
        if vmstat:
            ctx.emit('CRD-OOM-002', {'vmstat_oom_kill': vmstat, 'log': log},
                     summary='the kernel counted %d OOM kills since boot; the log that names them '
                             'could not be read' % vmstat)
        return
    kills = _list(kills)
    # watched_killed: names from the collector's `watch` option (default sshd, sshd-session) that
    # were killed, by process name or through their unit's result.
    watched_sshd = [w for w in watched if _is_sshd_kill(w if isinstance(w, dict) else {'process': w})]
    watched_other = [w for w in watched if w not in watched_sshd]
    sshd_kills = [k for k in kills if _is_sshd_kill(k)]
    other = [k for k in kills if not _is_sshd_kill(k)]
    names = Counter(str(_dict(k).get('process')) for k in other)
    sshd_count, other_count = len(sshd_kills), len(other)
    # The collector keeps the most recent kills only (kills_truncated); kill_count and
    # kills_by_process ({process or unit: count}, the most frequent) count every kill.
    total = _num(oom.get('kill_count'))
    if total is not None and total > len(kills):
        by_name = dict((str(name), int(n)) for name, n in
                       ((name, _num(value)) for name, value in _dict(oom.get('kills_by_process')).items()) if n)
        sshd_count = max(sshd_count, sum(n for name, n in by_name.items()
                                         if name in SSHD_PROCESS_NAMES or name in SSHD_UNITS))
        other_count = max(other_count, int(total) - sshd_count)
        names = Counter(dict((name, n) for name, n in by_name.items()
                             if name not in SSHD_PROCESS_NAMES and name not in SSHD_UNITS)) or names
    if sshd_count or watched_sshd:
        ctx.emit('CRD-OOM-001', {'kills': sshd_kills[-5:], 'count': max(sshd_count, len(watched_sshd)),
                                 'watched_killed': watched, 'unit_results': oom.get('unit_results'),
                                 'since': log.get('since'), 'memory': oom.get('memory')},
                 summary='%d OOM kill(s) of sshd' % max(sshd_count, len(watched_sshd)))
    if other_count or watched_other:
        short = _memory_short_now(ctx, _dict(oom.get('memory')))
        many = other_count >= ctx.t['oom_other_kills_medium']
        ctx.emit('CRD-OOM-002', {'kills': other[-5:], 'count': other_count, 'processes': dict(names),
                                 'watched_killed': watched_other, 'memory_short_now': short,
                                 'since': log.get('since'), 'memory': oom.get('memory')},
                 severity='medium' if (many or short) else None,
                 summary='%d OOM kill(s): %s' % (other_count, ', '.join(sorted(set(names) | {
                     str(w) for w in watched_other}))))


def _memory_short_now(ctx, memory):
    """True when memory is short now (MemAvailable low, or PSI memory pressure high); None if unknown."""
    total, available = _num(memory.get('mem_total_kb')), _num(memory.get('mem_available_kb'))
    avg10 = _num(_dict(_dict(memory.get('psi')).get('some')).get('avg10'))
    if not total and avg10 is None:
        return None
    low = bool(total) and available is not None and available / total < ctx.t['oom_mem_available_low']
    pressure = avg10 is not None and avg10 >= ctx.t['oom_psi_some_avg10_high']
    return low or pressure


def _check_wrappers(ctx):
    key = 'connreset_tcp_wrappers'
    if not ctx.has(key):
        ctx.gap(key, 'TCP wrappers', ctx.not_collected or 'the TCP wrappers facts were not collected (collector skipped or failed)')
        return
    wrap = ctx.fact(key)
    if not _subpart_gaps(ctx, key, wrap):
        return
    in_use = wrap.get('libwrap_in_use')
    if in_use is None:
        in_use = _dict(ctx.fact('connreset_sshd')).get('libwrap')
    errors = _list(wrap.get('errors'))
    if errors:
        ctx.emit('CRD-WRAP-003', {'errors': [
            {'file': _dict(e).get('file'), 'line': _dict(e).get('line'), 'text': _dict(e).get('text'),
             'reason': _dict(e).get('reason')} for e in errors[:20]]},
            summary=', '.join('%s:%s' % (_dict(e).get('file'), _dict(e).get('line')) for e in errors[:5]))
    if in_use is False:
        return
    verdicts = [_dict(v) for v in _list(wrap.get('verdicts'))]
    denied = [v for v in verdicts if v.get('access') == 'denied']
    unknown = [v for v in verdicts if v.get('access') == 'unknown']
    if in_use is None and (denied or unknown):
        ctx.gap(key, 'whether sshd uses libwrap', _reason_of(wrap, 'libwrap_in_use is null'))
    if denied:
        ctx.emit('CRD-WRAP-001', {'verdicts': denied, 'libwrap_in_use': in_use},
                 severity='critical' if in_use else 'high',
                 summary='%s denies %s' % ('%s:%s' % (denied[0].get('file'), denied[0].get('line')),
                                           ', '.join(str(v.get('client')) for v in denied)))
    if unknown:
        ctx.emit('CRD-WRAP-002', {'verdicts': unknown, 'libwrap_in_use': in_use},
                 summary='verdict for %s depends on name resolution' % ', '.join(
                     str(v.get('client')) for v in unknown))
    if not verdicts and in_use:
        ctx.gap(key, 'TCP wrappers verdict for the controller', wrap.get('clients_note')
                or 'no verdicts: the controller address was not known to the collector')


def _path_mismatch(target, interfaces):
    """(dev_mtu, path_mtu) when the target's path MTU is below its device MTU, else None."""
    target = _dict(target)
    probe = _dict(target.get('probe'))
    path = _num(probe.get('path_mtu')) or _num(target.get('mtu'))
    dev_mtu = _num(_dict(interfaces.get(str(target.get('dev')))).get('mtu'))
    if path and dev_mtu and path < dev_mtu:
        return dev_mtu, path
    return None


def _check_mtu(ctx):
    key = 'connreset_mtu'
    if not ctx.has(key):
        ctx.gap(key, 'MTU', ctx.not_collected or 'the MTU facts were not collected (collector skipped or failed)')
        return
    mtu = ctx.fact(key)
    if not _subpart_gaps(ctx, key, mtu):
        return
    interfaces = {str(_dict(i).get('name')): _dict(i) for i in _list(mtu.get('interfaces'))}
    targets = [_dict(t) for t in _list(mtu.get('targets'))]
    probing = _num(mtu.get('tcp_mtu_probing'))
    for target in targets:
        probe = _dict(target.get('probe'))
        if _status(target) == 'unknown':
            ctx.gap(key, 'route to %s' % target.get('target'), _reason_of(target, 'target status unknown'))
            continue
        if probe.get('blackhole') is True:
            ctx.emit('CRD-MTU-001', {'target': target.get('target'), 'dev': target.get('dev'),
                                     'probe': probe, 'tcp_mtu_probing': probing},
                     summary='large packets to %s are lost (path MTU %s)' % (
                         target.get('target'), probe.get('path_mtu')))
        elif probe.get('blackhole') is None and _status(probe) in ('unknown', 'partial'):
            ctx.gap(key, 'path MTU to %s' % target.get('target'), _reason_of(probe, 'probe status unknown'))
        mismatch = _path_mismatch(target, interfaces)
        if mismatch and probing == 0:
            ctx.emit('CRD-MTU-002', {'target': target.get('target'), 'dev': target.get('dev'),
                                     'dev_mtu': mismatch[0], 'path_mtu': mismatch[1], 'tcp_mtu_probing': 0},
                     summary='path MTU %s < %s on %s and tcp_mtu_probing=0' % (
                         mismatch[1], mismatch[0], target.get('dev')))
        elif mismatch and probing is None:
            ctx.gap(key, 'net.ipv4.tcp_mtu_probing', 'tcp_mtu_probing is null')
        dev = interfaces.get(str(target.get('dev')))
        dev_mtu = _num(_dict(dev).get('mtu'))
        if dev_mtu is not None and dev_mtu < ctx.t['min_mtu'] and target.get('dev') != 'lo':
            ctx.emit('CRD-MTU-003', {'target': target.get('target'), 'dev': target.get('dev'),
                                     'mtu': dev_mtu, 'kind': _dict(dev).get('kind')},
                     summary='%s has MTU %s' % (target.get('dev'), dev_mtu))
    if not targets:
        ctx.gap(key, 'route and path MTU to the controller',
                _reason_of(mtu, 'no targets: the controller address was not known to the collector'))


def _check_conntrack(ctx):
    key = 'connreset_conntrack'
    if not ctx.has(key):
        ctx.gap(key, 'conntrack', ctx.not_collected or 'the conntrack facts were not collected (collector skipped or failed)')
        return
    ct = ctx.fact(key)
    if not _subpart_gaps(ctx, key, ct):
        return
    if ct.get('loaded') is False:
        return
    count, limit = _num(ct.get('count')), _num(ct.get('max'))
    fill = _num(ct.get('fill'))
    if fill is None and count is not None and limit:
        fill = float(count) / limit
    if fill is not None and not 0 <= fill <= 100:
        # count/max is at most a little over 1 (the table grows past max briefly): a value out
        # of this range is not a measurement.
        ctx.gap(key, 'fact connreset_conntrack.fill', 'out of range: %s (count %s, max %s)' % (
            _shown(fill), _shown(count), _shown(limit)))
    elif fill is None:
        ctx.gap(key, 'conntrack table fill', _reason_of(ct, 'count/max not readable'))
    elif fill >= ctx.t['conntrack_fill_warn']:
        ctx.emit('CRD-CT-001', {'count': count, 'max': limit, 'fill': round(fill, 4),
                                'buckets': ct.get('buckets'), 'shared_netns': ct.get('shared_netns')},
                 severity='high' if fill >= ctx.t['conntrack_fill_crit'] else 'medium',
                 summary='conntrack table %d%% full (%s/%s)' % (round(fill * 100), count, limit))
    stats = _dict(ct.get('stats'))
    full = _count(ct.get('table_full_events'))
    drops = {k: _num(stats.get(k)) for k in ('drop', 'early_drop', 'insert_failed')}
    bad = {k: v for k, v in drops.items() if v}
    if bad or full:
        severity = 'high' if (full or drops.get('drop')) else 'medium'
        ctx.emit('CRD-CT-002', {'stats': bad, 'table_full_events': full,
                                'samples': _samples(ct.get('table_full_events'))},
                 severity=severity,
                 summary='conntrack %s' % ', '.join(
                     ['%s=%s' % kv for kv in sorted(bad.items())]
                     + (['%s "table full" log lines' % full] if full else [])))
    if not stats:
        ctx.gap(key, 'conntrack drop statistics', _reason_of(ct, 'conntrack.stats missing'))
    _check_ena(ctx, ct)


def _check_ena(ctx, ct):
    """AWS ENA allowance counters ({iface: {counter: n}} or {iface: None}); absent off EC2."""
    exceeded = {}
    for iface, counters in sorted(_dict(ct.get('ena_allowance')).items()):
        value = _num(_dict(counters).get('conntrack_allowance_exceeded'))
        if value:
            exceeded[iface] = {k: v for k, v in _dict(counters).items() if 'allowance' in str(k)}
    if exceeded:
        ctx.emit('CRD-CT-003', {'ena_allowance': exceeded},
                 summary='; '.join('%s: conntrack_allowance_exceeded=%s' % (i, c.get('conntrack_allowance_exceeded'))
                                   for i, c in exceeded.items()))


def _check_tcp(ctx):
    key = 'connreset_tcp'
    if not ctx.has(key):
        ctx.gap(key, 'kernel TCP counters', ctx.not_collected or 'the TCP facts were not collected (collector skipped or failed)')
        return
    tcp = ctx.fact(key)
    if not _subpart_gaps(ctx, key, tcp):
        return
    counters = _dict(tcp.get('counters'))
    sysctls = _dict(tcp.get('sysctls'))
    abort = _num(sysctls.get('tcp_abort_on_overflow'))
    overflows, listen_drops = _num(counters.get('ListenOverflows')), _num(counters.get('ListenDrops'))
    if overflows is None and listen_drops is None:
        ctx.gap(key, 'ListenOverflows/ListenDrops', _reason_of(tcp, 'counters missing'))
    elif (overflows or 0) > 0 or (listen_drops or 0) > 0:
        ctx.emit('CRD-TCP-001', {'ListenOverflows': overflows, 'ListenDrops': listen_drops,
                                 'tcp_abort_on_overflow': abort, 'uptime_s': tcp.get('uptime_s'),
                                 'rates': _dict(tcp.get('rates')).get('ListenOverflows')},
                 severity='high' if abort == 1 else 'low',
                 summary='%s accept-queue overflows since boot (tcp_abort_on_overflow=%s)' % (
                     overflows if overflows is not None else listen_drops, abort))
    ports = _ssh_ports(ctx)
    for listener in _list(tcp.get('listeners')):
        listener = _dict(listener)
        recv_q, backlog = _num(listener.get('recv_q')), _num(listener.get('backlog'))
        full = listener.get('overflowing') is True or (recv_q is not None and backlog and recv_q >= backlog)
        if _num(listener.get('port')) in ports and full:
            ctx.emit('CRD-TCP-002', {'listener': listener},
                     summary='%s:%s accept queue %s/%s' % (listener.get('address'), listener.get('port'),
                                                           recv_q, backlog))


def path_idle_timeout(thresholds):
    """The idle timeout (s) to check against, and where it came from; (None, None) when unset."""
    explicit = _num(thresholds.get('path_idle_timeout'))
    if explicit:
        return explicit, 'path_idle_timeout'
    preset = thresholds.get('path_idle_preset')
    if preset:
        presets = _dict(thresholds.get('idle_timeout_presets'))
        if preset not in presets:
            raise ValueError('unknown path_idle_preset %r: choose one of %s' % (preset, ', '.join(sorted(presets))))
        return presets[preset], 'preset %s' % preset
    return None, None


def _keepalive_horizon(ctx):
    """(seconds before the first keepalive of an idle session or None when none is sent, evidence)."""
    values = _dict(_dict(ctx.fact('connreset_sshd').get('config')).get('values'))
    sysctls = _dict(ctx.fact('connreset_tcp').get('sysctls'))
    interval = _num(values.get('clientaliveinterval'))
    ka_time = _num(sysctls.get('tcp_keepalive_time'))
    kernel = _keepalive_on(values)
    candidates = [v for v in (interval if interval else None, ka_time if kernel else None) if v]
    evidence = {'clientaliveinterval': interval, 'tcpkeepalive': values.get('tcpkeepalive'),
                'tcp_keepalive_time': ka_time}
    known = interval is not None and (ka_time is not None or not kernel)
    return (min(candidates) if candidates else None), known, evidence


def _check_conntrack_idle(ctx):
    ct = ctx.fact('connreset_conntrack')
    established = _num(_dict(ct.get('timeouts')).get('established'))
    if established is None or ct.get('loaded') is False:
        return
    invalid_drops = ctx.findings.get('CRD-FW-003')
    if not invalid_drops:
        return
    horizon, known, evidence = _keepalive_horizon(ctx)
    if horizon is not None and horizon < established:
        return
    if horizon is None and not known:
        ctx.gap('connreset_conntrack', 'conntrack established timeout vs keepalives',
                'ClientAliveInterval or tcp_keepalive_time unknown')
        return
    evidence.update({'nf_conntrack_tcp_timeout_established': established,
                     'invalid_drop_rules': invalid_drops['evidence']['rules']})
    ctx.emit('CRD-CT-004', evidence, summary='conntrack forgets idle connections after %ss; first keepalive %s' % (
        established, 'after %ss' % horizon if horizon else 'never'))


def _check_idle(ctx):
    _check_conntrack_idle(ctx)
    idle, origin = path_idle_timeout(ctx.t)
    if idle is None:
        return
    values = _dict(_dict(ctx.fact('connreset_sshd').get('config')).get('values'))
    sysctls = _dict(ctx.fact('connreset_tcp').get('sysctls'))
    interval = _num(values.get('clientaliveinterval'))
    count_max = _num(values.get('clientalivecountmax'))
    tcp_keepalive = _keepalive_on(values)
    ka_time = _num(sysctls.get('tcp_keepalive_time'))
    if interval is None and ka_time is None:
        ctx.gap('connreset_sshd', 'keepalives against the path idle timeout',
                'neither ClientAliveInterval nor tcp_keepalive_time could be read')
        return
    client_alive_ok = interval is not None and 0 < interval < idle
    kernel_ok = tcp_keepalive and ka_time is not None and ka_time < idle
    if client_alive_ok or kernel_ok:
        return
    if interval is None or (tcp_keepalive and ka_time is None):
        ctx.gap('connreset_sshd', 'keepalives against the path idle timeout',
                'ClientAliveInterval or tcp_keepalive_time unknown')
        return
    ctx.emit('CRD-IDLE-001', {
        'path_idle_timeout': idle, 'source': origin, 'clientaliveinterval': interval,
        'clientalivecountmax': count_max,
        'clientalive_gives_up_after_s': interval * count_max if interval and count_max else None,
        'tcpkeepalive': values.get('tcpkeepalive'), 'tcp_keepalive_time': ka_time,
        'tcp_keepalive_intvl': sysctls.get('tcp_keepalive_intvl')},
        summary='idle sessions die after %ss (%s): ClientAliveInterval=%s, tcp_keepalive_time=%s%s' % (
            idle, origin, interval if interval else '0 (off)', ka_time,
            '' if tcp_keepalive else ' (TCPKeepAlive no)'))


def _ports_hit(ranges, ports):
    """Whether a rule's typed ``ports`` ([[low, high], ...], negation already applied by the
    collector) cover one of ``ports``; None when the rule names no port (it covers every port)."""
    if ranges is None:
        return None
    for pair in _list(ranges):
        pair = _list(pair)
        low, high = (_num(pair[0]), _num(pair[1])) if len(pair) == 2 else (None, None)
        if low is not None and high is not None and any(low <= p <= high for p in ports):
            return True
    return False


def _check_firewall(ctx):
    key = 'connreset_firewall'
    if not ctx.has(key):
        ctx.gap(key, 'firewall', ctx.not_collected or 'the firewall facts were not collected (collector skipped or failed)')
        return
    fw = ctx.fact(key)
    if not _subpart_gaps(ctx, key, fw):
        return
    ports = set(_ssh_ports(ctx))
    rules = [_dict(r) for r in _list(fw.get('rules'))]
    if fw.get('rules') is None:
        ctx.gap(key, 'firewall rules', _reason_of(fw, 'firewall.rules is null'))
    matched = {'CRD-FW-001': [], 'CRD-FW-002': [], 'CRD-FW-003': [], 'CRD-FW-005': []}
    for rule in rules:
        # The collector types every rule (docs/development.md, the collector -> engine contract):
        # action reject_tcp_reset / reject / drop, ports with negation applied, limit, invalid.
        hit = _ports_hit(rule.get('ports'), ports)
        action = rule.get('action')
        drops = action in ('drop', 'reject', 'reject_tcp_reset')
        where = {k: rule.get(k) for k in ('backend', 'family', 'table', 'chain', 'rule', 'action',
                                          'target_ports', 'ports', 'established_only')}
        # A rule that names no port (a catch-all after the accept rules) is not one "on ssh".
        if hit and rule.get('limit') is True and drops:
            matched['CRD-FW-005'].append(where)  # only connections over the limit are hit
        elif hit and action == 'reject_tcp_reset':
            matched['CRD-FW-002' if rule.get('established_only') is True else 'CRD-FW-001'].append(where)
        if rule.get('invalid') is True and drops and hit is not False:
            matched['CRD-FW-003'].append(where)
    invalid = _num(_dict(ctx.fact('connreset_conntrack').get('stats')).get('invalid'))
    for fid, hits in matched.items():
        if not hits:
            continue
        evidence = {'rules': hits, 'ssh_ports': sorted(ports)}
        severity = None
        if fid == 'CRD-FW-003':
            evidence['conntrack_invalid'] = invalid
            severity = 'medium' if invalid else 'low'
        ctx.emit(fid, evidence, severity=severity, summary='; '.join(
            '%s %s/%s: %s' % (h.get('backend'), h.get('table'), h.get('chain'), h.get('rule')) for h in hits[:3]))
    blocked = _list(fw.get('blocked'))
    if blocked:
        ctx.emit('CRD-FW-004', {'blocked': blocked},
                 summary='%s banned by %s' % (', '.join(str(_dict(b).get('client')) for b in blocked),
                                              ', '.join(sorted({str(_dict(b).get('by')) for b in blocked}))))
    elif fw.get('blocked') is None:
        ctx.gap(key, 'bans of the controller', _reason_of(fw, 'firewall.blocked is null'))


# -- probe correlation ------------------------------------------------------------------
def _probe_summary(probe):
    summary = _dict(_dict(probe).get('summary'))
    return summary.get('classification'), summary


def _probe_evidence(probe, summary):
    attempts = _list(_dict(probe).get('attempts'))
    return {'classification': summary.get('classification'), 'phase': summary.get('phase'),
            'outcome': summary.get('outcome'), 'intermittent': summary.get('intermittent'),
            'counts': summary.get('counts'), 'detail': summary.get('detail'),
            'attempts': [{k: _dict(a).get(k) for k in ('attempt', 'phase', 'outcome', 'error', 'elapsed_s', 'icmp')}
                         for a in attempts[-5:]]}


def _probe_cause(summary):
    for cause in _list(summary.get('likely_causes')):
        if cause in CAUSES and cause != 'coverage':
            return cause
    return PROBE_FAILURE_CAUSES.get(summary.get('classification'), 'coverage')


def _correlate_probe(ctx, reachable):
    classification, summary = _probe_summary(ctx.probe)
    if classification == 'probe_error':
        ctx.emit('CRD-COV-PROBE', {'probe': _probe_evidence(ctx.probe, summary)},
                 summary='could not probe sshd from the controller: %s' % (summary.get('detail') or 'probe error'))
        return
    if not classification or classification == 'ok':
        return
    pev = _probe_evidence(ctx.probe, summary)
    found = ctx.findings
    sshd = ctx.fact('connreset_sshd')
    confirmed = None
    if classification == 'reset_at_banner_delayed' and 'CRD-WRAP-001' in found:
        confirmed = ('CRD-PROBE-001', ['CRD-WRAP-001', 'CRD-WRAP-004'],
                     {'wrappers': found['CRD-WRAP-001']['evidence']})
    elif classification == 'kex_hang' and any(f in found for f in MTU_FINDINGS):
        confirmed = ('CRD-PROBE-002', list(MTU_FINDINGS), {})
    elif classification == 'maxstartups' and 'CRD-SSHD-004' in found:
        confirmed = ('CRD-PROBE-003', ['CRD-SSHD-004', 'CRD-SSHD-006'], {})
    elif classification == 'refused' and 'CRD-SSHD-009' in found:
        return  # nothing listens because sshd is not installed: CRD-SSHD-009 says so
    elif classification == 'refused' and sshd.get('running') is False:
        confirmed = ('CRD-PROBE-004', ['CRD-SSHD-001'], {})
    elif classification == 'refused' and sshd.get('running') is True and 'CRD-FW-001' in found:
        confirmed = ('CRD-PROBE-005', ['CRD-FW-001'], {})
    elif classification == 'rejected_icmp' and 'CRD-FW-004' in found:
        confirmed = ('CRD-PROBE-008', ['CRD-FW-004'], {'blocked': found['CRD-FW-004']['evidence'].get('blocked')})
    elif classification == 'connect_timeout' and any(f in found for f in ('CRD-CT-001', 'CRD-CT-002', 'CRD-FW-005')):
        confirmed = ('CRD-PROBE-006', ['CRD-CT-001', 'CRD-CT-002', 'CRD-FW-005'], {})
    if confirmed:
        fid, old, extra = confirmed
        evidence = {'probe': pev}
        evidence.update(extra)
        ctx.emit(fid, evidence, summary='probe: %s; %s' % (
            classification, '; '.join(found[o].get('summary', o) for o in old if o in found)))
        ctx.supersede(fid, old)
        return
    if not reachable:
        return  # the CRD-REACH finding carries the probe as its evidence
    # Nothing in the facts explains the probe's failure: the probe is the evidence.
    ctx.emit('CRD-PROBE-007', {'probe': pev, 'facts_available': bool(ctx.facts)},
             cause=_probe_cause(summary),
             summary='probe: %s at %s (%s)' % (classification, summary.get('phase'),
                                               summary.get('detail') or summary.get('outcome')))


# -- unreachable hosts ------------------------------------------------------------------
_UNREACHABLE_RULES = [
    ('dns', re.compile(r'Could not resolve hostname|Name or service not known|Temporary failure in name '
                       r'resolution|nodename nor servname|No address associated with hostname', re.I)),
    ('auth', re.compile(r'Permission denied \(|Too many authentication failures|Authentication failed|'
                        r'Host key verification failed|Invalid/incorrect password|'
                        r'no matching (host key type|key exchange method)', re.I)),
    ('reset_banner', re.compile(r'(kex|ssh)_exchange_identification|Error reading SSH protocol banner|'
                                r'connect to host \S+ port \d+: Connection reset by peer', re.I)),
    ('refused', re.compile(r'Connection refused|Unable to connect to port', re.I)),
    ('timeout', re.compile(r'timed out|Operation timed out|No route to host|Network is unreachable|'
                           r'No existing session|Timeout', re.I)),
    ('reset_mid_session', re.compile(r'Connection reset by|Broken pipe|Socket exception: Connection reset|'
                                     r'Connection reset by peer|Shared connection to \S+ closed', re.I)),
]

# Ansible 2.19 prefixes: "Task failed: Failed to connect to the host via ssh: ssh: connect to ..."
_UNREACHABLE_PREFIX = re.compile(r'^(Task failed: )?(Failed to connect to the host via ssh: )?(ssh: )?')

UNREACHABLE_HINTS = {
    'refused': 'nothing accepted the connection: sshd down/not listening, or a firewall REJECT (the probe tells '
               'them apart: rejected_icmp is a REJECT rule or ban, refused a TCP reset)',
    'timeout': 'SYNs or the banner never arrived: DROP rule, ban, full conntrack table, host down; '
               '"during banner exchange" with ConnectTimeout <= 5 is typical of TCP wrappers',
    'reset_banner': 'closed before the banner: TCP wrappers (~5 s), MaxStartups/PerSourcePenalties (instant)',
    'reset_mid_session': 'reset after the session was up: reset rule, middlebox idle timeout, OOM kill, restart',
    'auth': 'authentication failed: not a reset, but failures earn bans and penalties',
    'dns': 'the controller could not resolve the name',
    'other': 'no recognisable reason; with LogLevel=ERROR ssh hides resets: re-run with -vvvv or '
             'without LogLevel=ERROR, and run the probe',
}


def classify_unreachable(msg):
    """Class of Ansible's UNREACHABLE message: refused, timeout, reset_banner, reset_mid_session,
    auth, dns or other."""
    text = str(msg or '')
    for name, pattern in _UNREACHABLE_RULES:
        if pattern.search(text):
            return name
    return 'other'


def _unreachable_finding(ctx, unreachable):
    msg = _dict(unreachable).get('msg') if isinstance(unreachable, dict) else unreachable
    classification = classify_unreachable(msg)
    evidence = {'msg': msg, 'classification': classification, 'hint': UNREACHABLE_HINTS[classification]}
    probe_class, summary = _probe_summary(ctx.probe)
    cause = None
    if probe_class:
        evidence['probe'] = _probe_evidence(ctx.probe, summary)
        if probe_class not in ('ok', 'probe_error'):
            cause = _probe_cause(summary)
    first = _UNREACHABLE_PREFIX.sub('', (str(msg or '').strip().splitlines() or [''])[-1])[:200] or '(no detail)'
    ctx.emit(UNREACHABLE_FINDING[classification], evidence, cause=cause,
             summary='UNREACHABLE (%s)%s: %s' % (
                 classification, '; probe: %s' % probe_class if probe_class else '', first))
    return classification


# The host checks in order, and the area whose coverage finding reports a check that failed.
def _check_endpoints(ctx):
    """The TCP services of connreset_endpoints (issue 13): what could not be read of each is a coverage gap."""
    key = 'connreset_endpoints'
    if not ctx.has(key):
        ctx.gap(key, 'TCP services', ctx.not_collected or
                'the endpoints facts were not collected (collector skipped or failed)')
        return
    fact = ctx.fact(key)
    if not _subpart_gaps(ctx, key, fact):
        return
    for endpoint in _list(fact.get('endpoints'))[:64]:
        endpoint = _dict(endpoint)
        name = str(endpoint.get('name') or endpoint.get('port'))[:100]
        for part in ('service', 'events', 'oom', 'fds', 'timeouts'):
            sub = endpoint.get(part)
            if isinstance(sub, dict) and _status(sub) in ('unknown', 'partial'):
                ctx.gap(key, '%s %s' % (name, part), _reason_of(sub, 'status %s' % _status(sub)))
        if endpoint.get('listening') is None:
            ctx.gap(key, '%s listening' % name, _reason_of(endpoint, 'the listening sockets could not be read'))


CHECKS = (_check_sshd, _check_oom, _check_wrappers, _check_mtu, _check_conntrack, _check_tcp, _check_firewall,
          _check_idle, _check_endpoints)
CHECK_AREA = {
    _check_sshd: 'connreset_sshd', _check_oom: 'connreset_oom', _check_wrappers: 'connreset_tcp_wrappers',
    _check_mtu: 'connreset_mtu', _check_conntrack: 'connreset_conntrack', _check_tcp: 'connreset_tcp',
    _check_firewall: 'connreset_firewall', _check_idle: 'connreset_sshd', _check_endpoints: 'connreset_endpoints',
}


# -- public API -------------------------------------------------------------------------
def merge_thresholds(overrides=None):
    """DEFAULT_THRESHOLDS updated with ``overrides``; raises ValueError on an unknown name or bad value."""
    merged = copy.deepcopy(DEFAULT_THRESHOLDS)
    for name, value in _dict(overrides).items():
        if name not in DEFAULT_THRESHOLDS:
            raise ValueError('unknown threshold %r: known thresholds are %s' % (
                name, ', '.join(sorted(DEFAULT_THRESHOLDS))))
        default = DEFAULT_THRESHOLDS[name]
        if name == 'idle_timeout_presets':
            if not isinstance(value, dict) or any(_num(v) is None for v in value.values()):
                raise ValueError('idle_timeout_presets must map preset names to seconds')
            merged[name].update(value)
            continue
        if name == 'ssh_ports_default':
            if not isinstance(value, list) or any(_num(v) is None for v in value):
                raise ValueError('ssh_ports_default must be a list of port numbers')
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError('threshold %s must be true or false, got %r' % (name, value))
        elif name == 'path_idle_preset':
            if value is not None and not isinstance(value, str):
                raise ValueError('path_idle_preset must be a preset name or null')
        elif value is None and default is None:
            pass
        elif _num(value) is None:
            raise ValueError('threshold %s must be a number, got %r' % (name, value))
        else:
            value = _num(value)
        merged[name] = value
    path_idle_timeout(merged)  # validates the preset name
    return merged


def score(findings):
    """Capped sum of severity weights (see _catalogue.SEVERITY_WEIGHTS)."""
    return min(SCORE_CAP, sum(SEVERITY_WEIGHTS[f['severity']] for f in findings))


def level(findings):
    """Highest severity present; 'ok' when nothing is above info."""
    worst = max((severity_rank(f['severity']) for f in findings), default=0)
    return SEVERITIES[worst] if worst > 0 else 'ok'


def sort_findings(findings):
    return sorted(findings, key=lambda f: (-severity_rank(f['severity']), f['id']))


def _coverage_findings(ctx):
    for key, items in ctx.gaps.items():
        area, name = AREAS[key]
        ctx.emit('CRD-COV-%s' % area, {'unchecked': items},
                 summary='; '.join('could not check %s: %s' % (i['check'], i['reason']) for i in items))


def evaluate_host(facts, probe=None, unreachable=None, thresholds=None, controller=None, failed=None):
    """Findings, score and level of one host.

    ``facts``: dict with any subset of the collector keys (connreset_sshd, ...), values may be
    None; ``probe``: the ssh_probe result or None; ``unreachable``: None or {msg} (Ansible's
    UNREACHABLE message); ``thresholds``: overrides of DEFAULT_THRESHOLDS; ``controller``: the
    controller's address as the host sees it (for exempt lists); ``failed``: None or {msg} when
    the host was reached but fact collection failed (every uncollected area says so).
    """
    return _evaluate(facts, probe, unreachable, thresholds, controller, failed)[0]


def _evaluate(facts, probe, unreachable, thresholds, controller, failed):
    """evaluate_host's result, and the sanitised facts and probe it was computed from."""
    t = merge_thresholds(thresholds)
    facts, problems = sanitise_facts(facts)
    probe = sanitise_value(_dict(probe))
    ctx = _Context(facts, probe, t, controller if isinstance(controller, str) else _controller_from_facts(facts))
    if failed:
        ctx.not_collected = 'fact collection failed: %s' % str(_dict(failed).get('msg') or failed)[:2000]
    reachable = not unreachable
    if unreachable:
        _unreachable_finding(ctx, unreachable)
    if reachable or any(isinstance(facts.get(k), dict) for k in AREAS):
        _value_gaps(ctx, problems)
        # _check_idle last: it reads what the firewall check found.
        for check in CHECKS:
            _run_check(ctx, check)
        if reachable:
            _check_anything_checked(ctx)
        _coverage_findings(ctx)
    try:
        _correlate_probe(ctx, reachable)
    except CHECK_ERRORS as exc:
        ctx.emit('CRD-COV-PROBE', {'probe': probe, 'error': '%s: %s' % (type(exc).__name__, str(exc)[:200])},
                 summary='could not read the probe result: %s' % type(exc).__name__)
    findings = sort_findings(ctx.findings.values())
    return {'findings': findings, 'score': score(findings), 'level': level(findings)}, facts, probe


# What a check may raise on a value no table above foresaw; any of them is a coverage gap of the
# check's area and the other checks still run.
CHECK_ERRORS = (ArithmeticError, AttributeError, LookupError, TypeError, ValueError, RecursionError)


def _value_gaps(ctx, problems):
    """A coverage gap per bad fact value the sanitiser replaced, naming the fact and the value."""
    for key, items in sorted(problems.items()):
        if key not in AREAS:
            continue
        for path, reason in items[:MAX_FACT_PROBLEMS]:
            ctx.gap(key, 'fact %s' % path, reason)
        if len(items) > MAX_FACT_PROBLEMS:
            ctx.gap(key, 'fact %s' % key, '%d more bad values not listed' % (len(items) - MAX_FACT_PROBLEMS))


def _run_check(ctx, check):
    try:
        check(ctx)
    except CHECK_ERRORS as exc:
        key = CHECK_AREA[check]
        name = check.__name__.replace('_check_', '')
        ctx.gap(key, 'the %s check' % name, 'failed on an unexpected value in %s (%s: %s); the other checks ran' % (
            key, type(exc).__name__, str(exc)[:200]))


def _check_anything_checked(ctx):
    """CRD-COV-NONE when no collector returned usable facts: a host nothing was checked on is
    not healthy (gather_subset ['!all'], or every collector unknown)."""
    statuses = {}
    for key, (_area, name) in AREAS.items():
        part = ctx.facts.get(key)
        statuses[name] = (_status(part) or 'no status') if isinstance(part, dict) else 'not collected'
    if any(status in ('ok', 'partial') for status in statuses.values()):
        return
    meta = ctx.fact('connreset_meta')
    subset = meta.get('gather_subset')
    if ctx.not_collected:
        reason = ctx.not_collected
    elif isinstance(subset, list) and not subset:
        reason = 'gather_subset selected no collector'
    elif all(status == 'not collected' for status in statuses.values()):
        reason = 'no collector returned facts'
    else:
        reason = 'no collector returned usable facts (%s)' % ', '.join(
            '%s %s' % (name, status) for name, status in statuses.items() if status != 'not collected')
    ctx.emit('CRD-COV-NONE', {'gather_subset': subset, 'collectors': statuses},
             summary='nothing was checked on the host: %s' % reason)


def _controller_from_facts(facts):
    """The controller's address as the collectors saw it: ``connreset_meta.controller`` (from
    SSH_CONNECTION, the one home of it; docs/development.md), or None."""
    value = _dict(facts.get('connreset_meta')).get('controller')
    return value if isinstance(value, str) and _ip(value) else None


# The diagnose role reports a failed (not unreachable) reset_facts with this prefix.
_COLLECTION_FAILED = 'connreset.doctor.reset_facts failed'


def diagnose_host(data):
    """The per-host document the report consumes (schema_version 1).

    ``data``: {host, facts, probe, unreachable (None or {msg}), thresholds, controller (optional),
    failed (optional: None or {msg} when the host was reached but collecting facts failed)}.
    """
    data = _dict(data)
    facts = _dict(data.get('facts'))
    unreachable = data.get('unreachable') or None
    if isinstance(unreachable, str):
        unreachable = {'msg': unreachable}
    failed = data.get('failed') or None
    if isinstance(failed, str):
        failed = {'msg': failed}
    if unreachable and str(_dict(unreachable).get('msg') or '').startswith(_COLLECTION_FAILED):
        failed, unreachable = unreachable, None  # reached, but the collection failed
    merge_thresholds(data.get('thresholds'))  # a bad threshold is the caller's error: ValueError
    try:
        result, clean_facts, clean_probe = _evaluate(facts, data.get('probe'), unreachable, data.get('thresholds'),
                                                     data.get('controller'), failed)
    except CHECK_ERRORS as exc:
        # Never a lost host: an engine error on this input is a finding of the host.
        entry = CATALOGUE['CRD-COV-NONE']
        findings = [{'id': entry['id'], 'title': entry['title'], 'cause': entry['cause'],
                     'severity': entry['severity'], 'explanation': entry['explanation'],
                     'remedy': entry['remedy'], 'fix': entry['fix'],
                     'evidence': {'engine_error': '%s: %s' % (type(exc).__name__, str(exc)[:500])},
                     'summary': 'nothing was checked on the host: the facts could not be evaluated (%s)' % (
                         type(exc).__name__)}]
        result = {'findings': findings, 'score': score(findings), 'level': level(findings)}
        clean_facts, clean_probe = sanitise_facts(facts)[0], sanitise_value(data.get('probe'))
    message = _dict(unreachable).get('msg')
    message = None if message is None else str(message)
    return {
        'schema_version': SCHEMA_VERSION,
        'host': data.get('host'),
        'generated_at': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'reachable': not unreachable,
        'unreachable': None if not unreachable else {
            'msg': message, 'classification': classify_unreachable(message)},
        'facts': clean_facts,
        'probe': clean_probe or None,
        'findings': result['findings'],
        'score': result['score'],
        'level': result['level'],
    }


def missing_host_doc(host, reason):
    """The document of a host of the play without a stored diagnosis (CRD-COV-HOST): the report
    lists every host of the play, and this one cannot pass a gate."""
    entry = CATALOGUE['CRD-COV-HOST']
    findings = [{'id': entry['id'], 'title': entry['title'], 'cause': entry['cause'], 'severity': entry['severity'],
                 'evidence': {'reason': reason}, 'explanation': entry['explanation'], 'remedy': entry['remedy'],
                 'fix': entry['fix'], 'summary': 'no diagnosis stored: %s' % reason}]
    return {
        'schema_version': SCHEMA_VERSION,
        'host': host,
        'generated_at': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'reachable': False,
        'unreachable': {'msg': 'no diagnosis stored: %s' % reason, 'classification': 'other'},
        'facts': {},
        'probe': None,
        'findings': findings,
        'score': score(findings),
        'level': level(findings),
    }


_SKIP_NETS = [ipaddress.ip_network(n) for n in ('127.0.0.0/8', '169.254.0.0/16', '::1/128', 'fe80::/10')]


def _host_networks(doc):
    """{network: [(interface, mtu)]} of one host doc, without loopback and link-local networks."""
    out = {}
    mtu = _dict(_dict(_dict(doc).get('facts')).get('connreset_mtu'))
    for iface in _list(mtu.get('interfaces')):
        iface = _dict(iface)
        value = _num(iface.get('mtu'))
        if value is None or iface.get('name') == 'lo':
            continue
        for addr in _list(iface.get('addresses')):
            network = _dict(addr).get('network')
            try:
                net = ipaddress.ip_network(str(network), strict=False)
            except ValueError:
                continue
            if any(net.version == s.version and net.subnet_of(s) for s in _SKIP_NETS):
                continue
            out.setdefault(str(net), []).append((iface.get('name'), value))
    return out


def fleet_findings(host_docs):
    """Findings that need several hosts: MTU differing from the subnet's majority (CRD-MTU-004).

    Without a majority (a tie) every member is flagged at low severity: one side is wrong, the
    facts cannot say which.

    ``host_docs``: list of diagnose_host docs, or {host: doc}.  Returns {host: [findings]}.
    """
    docs = list(host_docs.values()) if isinstance(host_docs, dict) else _list(host_docs)
    subnets = {}
    for doc in docs:
        host = _dict(doc).get('host')
        for network, entries in _host_networks(doc).items():
            for iface, mtu in entries:
                subnets.setdefault(network, []).append({'host': host, 'interface': iface, 'mtu': mtu})
    result = {}
    entry = CATALOGUE['CRD-MTU-004']
    for network, members in sorted(subnets.items()):
        if len({m['host'] for m in members}) < 2:
            continue
        counts = Counter(m['mtu'] for m in members).most_common()
        if len(counts) < 2:
            continue
        tie = counts[0][1] == counts[1][1]
        majority = None if tie else counts[0][0]
        # One summary of the subnet for every finding on it (not every member per finding: that
        # grows as hosts x minority hosts, gigabytes for one large VPC subnet).
        ordered = sorted(members, key=lambda m: (str(m['host']), str(m['interface'])))
        examples = {}
        for member in ordered:
            shown = examples.setdefault(str(member['mtu']), [])
            if len(shown) < FLEET_EXAMPLE_HOSTS:
                shown.append({'host': member['host'], 'interface': member['interface'], 'mtu': member['mtu']})
        subnet = {'mtu_counts': dict((str(mtu), n) for mtu, n in counts), 'members': len(members),
                  'example_hosts': examples}
        for member in members:
            if majority is not None and member['mtu'] == majority:
                continue
            evidence = {'network': network, 'interface': member['interface'], 'mtu': member['mtu'],
                        'majority_mtu': majority}
            evidence.update(subnet)
            finding = {
                'id': 'CRD-MTU-004', 'title': entry['title'], 'cause': entry['cause'],
                # a tie names no odd host: every member is flagged, at low, since half are right
                'severity': 'low' if tie else entry['severity'],
                'evidence': evidence,
                'explanation': entry['explanation'], 'remedy': entry['remedy'], 'fix': entry['fix'],
                'summary': '%s on %s: MTU %s, subnet majority %s (%s)' % (
                    member['interface'], network, member['mtu'],
                    majority if majority is not None else 'none (tie)',
                    ', '.join('%d host(s) at %s' % (n, mtu) for mtu, n in counts)),
            }
            existing = result.setdefault(member['host'], [])
            if not any(f['evidence']['network'] == network for f in existing):
                existing.append(finding)
    return result


def apply_fleet_findings(host_docs):
    """Add fleet findings to each doc (in place) and recompute score/level; returns the docs.

    A host whose probe hung in key exchange and whose MTU differs from its subnet gets the
    confirmed CRD-PROBE-002 instead.
    """
    docs = list(host_docs.values()) if isinstance(host_docs, dict) else _list(host_docs)
    extra = fleet_findings(docs)
    for doc in docs:
        added = extra.get(doc.get('host'))
        if not added:
            continue
        findings = [f for f in _list(doc.get('findings')) if isinstance(f, dict) and f.get('id') != 'CRD-MTU-004']
        classification, summary = _probe_summary(doc.get('probe'))
        if classification == 'kex_hang':
            confirmed = [f for f in findings if f.get('id') == 'CRD-PROBE-002']
            entry = CATALOGUE['CRD-PROBE-002']
            if confirmed:
                if not isinstance(confirmed[0].get('evidence'), dict):
                    confirmed[0]['evidence'] = {'evidence': confirmed[0].get('evidence')}
                confirmed[0]['evidence'].setdefault('supersedes', {})['CRD-MTU-004'] = [f['evidence'] for f in added]
            else:
                findings = [f for f in findings if not (f.get('id') == 'CRD-PROBE-007'
                                                        and _dict(_dict(f.get('evidence')).get('probe')).get(
                                                            'classification') == 'kex_hang')]
                findings.append({
                    'id': 'CRD-PROBE-002', 'title': entry['title'], 'cause': entry['cause'],
                    'severity': entry['severity'],
                    'evidence': {'probe': _probe_evidence(doc.get('probe'), summary),
                                 'supersedes': {'CRD-MTU-004': [f['evidence'] for f in added]}},
                    'explanation': entry['explanation'], 'remedy': entry['remedy'], 'fix': entry['fix'],
                    'summary': 'probe: kex_hang; %s' % '; '.join(f['summary'] for f in added)})
        else:
            findings.extend(added)
        doc['findings'] = sort_findings(findings)
        doc['score'] = score(doc['findings'])
        doc['level'] = level(doc['findings'])
    return host_docs
