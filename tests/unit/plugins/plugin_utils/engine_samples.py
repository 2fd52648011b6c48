# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fact samples for the engine tests, shaped by the fact-key contract of docs/development.md.

The baseline is a healthy Debian 12 host (OpenSSH 9.2p1, kernel 6.1, systemd 252, nftables
1.0.6); log lines are copied from those programs' output (OpenSSH 9.2p1 sshd.c / 9.8p1
srclimit.c log formats, kernel 6.1 oom_kill.c / nf_conntrack_core.c, systemd 252 unit
messages).  The controller is 192.0.2.10, the host 192.0.2.21 (RFC 5737 addresses).
"""

from __future__ import annotations

import copy

from ansible_collections.connreset.doctor.plugins.module_utils._firewall import port_ranges

CONTROLLER = '192.0.2.10'

HEALTHY = {
    'connreset_sshd': {
        'status': 'ok', 'reason': None, 'elapsed_s': 0.21,
        'service': {'manager': 'systemd', 'unit': 'ssh.service', 'active_state': 'active',
                    'sub_state': 'running', 'main_pid': 612, 'n_restarts': 0, 'exec_main_status': 0,
                    'result': 'success', 'started_at': '2026-11-21T06:02:11Z', 'status': 'ok', 'reason': None},
        'running': True,
        'processes': [{'pid': 612, 'ppid': 1, 'comm': 'sshd', 'role': 'listener',
                       'args': 'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups'}],
        'listening': [{'address': '0.0.0.0', 'port': 22}, {'address': '::', 'port': 22}],
        'config': {'status': 'ok', 'reason': None, 'valid': True, 'error': None, 'values': {
            # `sshd -T` of Debian 12's default sshd_config (OpenSSH 9.2p1), typed by the sshd
            # collector: times in seconds, yes/no as bools; no PerSourcePenalties before 9.8.
            'maxstartups': {'start': 10, 'rate': 30, 'full': 100},
            'persourcepenalties': None, 'persourcepenaltyexemptlist': None,
            'maxsessions': 10, 'logingracetime': 120, 'clientaliveinterval': 0, 'clientalivecountmax': 3,
            'tcpkeepalive': True, 'usedns': False, 'port': [22], 'listenaddress': ['[::]:22', '0.0.0.0:22'],
            'persourcemaxstartups': None, 'pidfile': '/run/sshd.pid'}, 'unparsed': {}},
        'version': '9.2p1', 'version_full': 'OpenSSH_9.2p1 Debian-2+deb12u3',
        'libwrap': True,
        'listener': {'pid': 612, 'startups': 0, 'startups_max': 100, 'oom_score_adj': 0},
        'events': {'status': 'ok', 'reason': None, 'sources': ['journal'], 'since': '2026-11-21T05:00:00Z',
                   'crashes': {'count': 0, 'last': None, 'samples': []},
                   'restarts': {'count': 0, 'last': None, 'samples': []},
                   'maxstartups_drops': {'count': 0, 'last': None, 'samples': []},
                   'penalties': {'count': 0, 'last': None, 'samples': []},
                   'wrap_refusals': {'count': 0, 'last': None, 'samples': []}},
    },
    'connreset_oom': {
        'status': 'ok', 'reason': None, 'elapsed_s': 0.05, 'kills': [], 'unit_results': {},
        'watched_killed': [], 'vmstat_oom_kill': 0,
        'memory': {'mem_total_kb': 2014856, 'mem_available_kb': 1322012, 'swap_total_kb': 0,
                   'swap_free_kb': 0, 'psi': None, 'load': [0.12, 0.2, 0.18], 'cpus': 2},
        'log': {'status': 'ok', 'reason': None, 'sources': ['journal'], 'since': '2026-11-21T05:00:00Z'},
    },
    'connreset_tcp_wrappers': {
        'status': 'ok', 'reason': None, 'elapsed_s': 0.02, 'libwrap_in_use': True,
        'libwrap_binaries': ['/usr/sbin/sshd'], 'daemon': 'sshd', 'clients': [CONTROLLER],
        'clients_source': 'controller', 'clients_note': None,
        'rules': [{'file': '/etc/hosts.allow', 'line': 3, 'daemons': ['sshd'], 'clients': ['192.0.2.0/24']}],
        'errors': [],
        'verdicts': [{'client': CONTROLLER, 'daemon': 'sshd', 'access': 'granted', 'file': '/etc/hosts.allow',
                      'line': 3, 'reason': 'sshd: 192.0.2.0/24'}],
    },
    'connreset_mtu': {
        'status': 'ok', 'reason': None, 'elapsed_s': 1.3,
        'interfaces': [
            {'name': 'lo', 'mtu': 65536, 'state': 'UNKNOWN', 'kind': None, 'addresses': [
                {'address': '127.0.0.1', 'prefixlen': 8, 'family': 'inet', 'network': '127.0.0.0/8'}]},
            {'name': 'eth0', 'mtu': 1500, 'state': 'UP', 'kind': 'veth', 'addresses': [
                {'address': '192.0.2.21', 'prefixlen': 24, 'family': 'inet', 'network': '192.0.2.0/24'},
                {'address': 'fe80::1c2b:3aff:fe4d:5e6f', 'prefixlen': 64, 'family': 'inet6',
                 'network': 'fe80::/64'}]},
        ],
        'routes': [],
        'targets': [{'target': CONTROLLER, 'dev': 'eth0', 'src': '192.0.2.21', 'mtu': None,
                     'probe': {'path_mtu': 1500, 'blackhole': False, 'probes': [], 'status': 'ok', 'reason': None}}],
        'tcp_mtu_probing': 0, 'tcp_base_mss': 1024,
    },
    'connreset_conntrack': {
        'status': 'ok', 'reason': None, 'elapsed_s': 0.01, 'loaded': True, 'count': 1204, 'max': 262144,
        'fill': 0.0046, 'buckets': 65536,
        'stats': {'drop': 0, 'early_drop': 0, 'insert_failed': 0, 'invalid': 0, 'search_restart': 3},
        'timeouts': {'established': 432000, 'close_wait': 60, 'time_wait': 120, 'syn_sent': 120, 'syn_recv': 60,
                     'fin_wait': 120, 'last_ack': 30, 'close': 10, 'unacknowledged': 300, 'max_retrans': 300},
        'table_full_events': {'count': 0, 'last': None, 'samples': []},
        'shared_netns': False, 'ena_allowance': {},
    },
    'connreset_tcp': {
        'status': 'ok', 'reason': None, 'elapsed_s': 0.01,
        'counters': {'EstabResets': 12, 'OutRsts': 40, 'ListenOverflows': 0, 'ListenDrops': 0},
        'uptime_s': 86400, 'rates': {},
        'sysctls': {'tcp_keepalive_time': 7200, 'tcp_keepalive_intvl': 75, 'tcp_keepalive_probes': 9,
                    'tcp_abort_on_overflow': 0, 'somaxconn': 4096, 'tcp_max_syn_backlog': 512,
                    'tcp_syncookies': 1, 'tcp_fin_timeout': 60},
        'listeners': [{'address': '0.0.0.0', 'port': 22, 'recv_q': 0, 'backlog': 128}],
        'states': {'ESTAB': 3, 'LISTEN': 2},
    },
    'connreset_firewall': {
        'status': 'ok', 'reason': None, 'elapsed_s': 0.08,
        # The collector keeps only drop/reject/reset rules that can hit ssh: here a drop of one
        # foreign network on port 22 (iptables-save of iptables 1.8.9 nf_tables).
        'rules': [
            {'backend': 'iptables-nft', 'family': 'ipv4', 'table': 'filter', 'chain': 'INPUT', 'line': 7,
             'rule': '-A INPUT -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -j DROP', 'action': 'drop',
             'protocol': 'tcp', 'target': 'DROP', 'target_ports': [22], 'ports': [[22, 22]], 'negated_ports': False,
             'limit': False, 'established_only': False, 'invalid': False, 'sources': ['203.0.113.0/24'],
             'negated_sources': False, 'matches_clients': []},
        ],
        'backends': ['iptables-nft'], 'ports': [22], 'clients': [CONTROLLER],
        'fail2ban': {'present': False, 'running': False, 'jails': []},
        'sshguard': {'present': False}, 'crowdsec': {'present': False},
        'blocked': [],
    },
    # reset_facts' own fact (fixtures/facts_bookworm_clean.json): the controller's one home.
    'connreset_meta': {
        'gather_subset': ['sshd', 'oom', 'tcp_wrappers', 'mtu', 'conntrack', 'tcp', 'firewall', 'endpoints'],
        'controller': CONTROLLER, 'controller_reason': None, 'budget_s': 20.0, 'elapsed_s': 0.2962,
        'collectors': {name: {'status': 'ok', 'elapsed_s': 0.02} for name in (
            'sshd', 'oom', 'tcp_wrappers', 'mtu', 'conntrack', 'tcp', 'firewall', 'endpoints')},
    },
    # endpoint_facts of a clean bookworm lab host without endpoints (fixtures/facts_bookworm_clean.json)
    'connreset_endpoints': {
        'status': 'ok', 'reason': None, 'elapsed_s': 0.0242, 'endpoints': [],
        'sysctls': {'ip_local_port_range': [32768, 60999], 'somaxconn': 4096, 'tcp_abort_on_overflow': 0},
        'ephemeral_ports': {'status': 'ok', 'reason': None, 'low': 32768, 'high': 60999, 'size': 28232, 'in_use': 0,
                            'fill': 0.0},
    },
}


def facts(**patch):
    """A deep copy of HEALTHY with dotted paths replaced: facts(**{'connreset_sshd.running': False})."""
    data = copy.deepcopy(HEALTHY)
    for path, value in patch.items():
        node = data
        parts = path.split('.')
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    return data


def probe(classification, phase='banner', outcome='reset', intermittent=False, elapsed=0.01, error=None,
          likely_causes=()):
    """A probe result shaped like connreset.doctor.ssh_probe's (docs/development.md)."""
    attempt = {'attempt': 1, 'phase': phase, 'outcome': outcome, 'error': error, 'banner': None,
               'elapsed_s': elapsed, 'timings': {'tcp_connect': 0.001}}
    return {'host': '192.0.2.21', 'port': 22, 'attempts': [attempt],
            'summary': {'classification': classification, 'phase': phase, 'outcome': outcome,
                        'intermittent': intermittent, 'counts': {outcome: 3},
                        'likely_causes': list(likely_causes),
                        'detail': error}}


def event(count, *samples):
    return {'count': count, 'last': '2026-11-22T04:58:01Z' if count else None, 'samples': list(samples)}


# Real log lines (origin in the comment).
# OpenSSH 9.2p1 sshd.c drop_connection(): "drop connection #%d from [%s]:%d on [%s]:%d past MaxStartups"
MAXSTARTUPS_LINE = ('2026-11-22T04:58:01.118231+00:00 h1 sshd[612]: drop connection #10 from '
                    '[192.0.2.10]:51514 on [192.0.2.21]:22 past MaxStartups')
# OpenSSH 9.8p1 srclimit.c: "drop connection #%d from [%s]:%d on [%s]:%d penalty: %s"
PENALTY_LINE = ('2026-11-22T04:58:01.118231+00:00 h1 sshd[612]: drop connection #0 from [192.0.2.10]:51514 '
                'on [192.0.2.21]:22 penalty: failed authentication')
# libwrap via sshd (syslog, tcpd 7.6.q-32): "refused connect from %s"
WRAP_LINE = '2026-11-22T04:58:06.420101+00:00 h1 sshd[4123]: refused connect from 192.0.2.10 (192.0.2.10)'
# systemd 252
RESTART_LINE = '2026-11-22T04:50:01.000000+00:00 h1 systemd[1]: ssh.service: Scheduled restart job, restart counter is at 1.'
START_LIMIT_LINE = ('2026-11-22T04:50:05.000000+00:00 h1 systemd[1]: ssh.service: Start request repeated too '
                    'quickly.')
CRASH_LINE = ('2026-11-22T04:50:00.000000+00:00 h1 systemd[1]: ssh.service: Main process exited, '
              'code=killed, status=9/KILL')
# kernel 6.1 nf_conntrack_core.c (net_ratelimit'ed)
TABLE_FULL_LINE = '[183321.402113] nf_conntrack: nf_conntrack: table full, dropping packet'
# kernel 6.1 oom_kill.c __oom_kill_process()
OOM_SSHD = {'time': '2026-11-22T04:40:12Z', 'scope': 'global', 'pid': 612, 'process': 'sshd',
            'cgroup': '/system.slice/ssh.service', 'unit': 'ssh.service', 'rss_kb': 5120, 'source': 'journal'}
OOM_OTHER = {'time': '2026-11-22T04:40:12Z', 'scope': 'memcg', 'pid': 9321, 'process': 'stress-ng-vm',
             'cgroup': '/system.slice/stress.service', 'unit': 'stress.service', 'rss_kb': 1843200,
             'source': 'journal'}
# The default PerSourcePenalties of OpenSSH 9.8p1 as `sshd -T` prints it, and as the sshd
# collector types it (seconds).
PENALTIES_ON = {'crash': 90, 'authfail': 5, 'noauth': 1, 'grace-exceeded': 10, 'max': 600, 'min': 15,
                'max-sources4': 65536, 'max-sources6': 65536, 'overflow': 'permissive', 'overflow6': 'permissive'}

NFT_INPUT = {'backend': 'nftables', 'family': 'inet', 'table': 'filter', 'chain': 'input'}


def rule(text, action, ports, established=False, backend=None, invalid=False, limit=False, negated=False):
    """A firewall rule as the collector types it: ``ports`` from the collector's own
    ``_firewall.port_ranges`` (negation applied), ``action`` one of its normalised words."""
    data = dict(NFT_INPUT)
    if backend:
        data.update({'backend': backend, 'family': 'ipv4', 'table': 'filter', 'chain': 'INPUT'})
    data.update({'rule': text, 'action': action, 'protocol': 'tcp', 'target_ports': ports,
                 'ports': port_ranges(ports, negated), 'negated_ports': negated, 'limit': limit,
                 'established_only': established, 'invalid': invalid, 'sources': [], 'negated_sources': False,
                 'matches_clients': []})
    return data


def with_rules(*rules):
    return {'connreset_firewall.rules': copy.deepcopy(HEALTHY['connreset_firewall']['rules']) + list(rules)}


def mtu_host(host, mtu, network='192.0.2.0/24', address='192.0.2.21'):
    """A diagnose_host input whose eth0 has ``mtu`` on ``network``."""
    data = facts()
    eth0 = data['connreset_mtu']['interfaces'][1]
    eth0['mtu'] = mtu
    eth0['addresses'][0].update({'address': address, 'network': network})
    return {'host': host, 'facts': data, 'probe': None, 'unreachable': None, 'controller': CONTROLLER}
