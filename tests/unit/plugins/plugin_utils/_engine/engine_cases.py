# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the engine tests share: run() and case() (one host evaluation from a patch of the healthy
sample), the fact and message samples of several areas, and the lab probe fixtures."""

from __future__ import annotations

import copy
import json
import os

from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import CONTROLLER, facts, rule


BLACKHOLE = {'path_mtu': None, 'blackhole': True, 'probes': [{'size': 1472, 'ok': False}, {'size': 548, 'ok': True}],
             'status': 'ok', 'reason': None}
REDUCED_PATH = {'path_mtu': 1400, 'blackhole': False, 'probes': [], 'status': 'ok', 'reason': None}
# Rules as the firewall collector reports them (nftables 1.0.6 `nft -j list ruleset`).
RESET_ALL_22 = rule('tcp dport 22 reject with tcp reset', 'reject_tcp_reset', [22])
RESET_EST_22 = rule('tcp dport 22 ct state established reject with tcp reset', 'reject_tcp_reset', [22],
                    established=True)
# tcp_wrappers collector error entry (hosts.allow line without the ':' separator).
WRAP_ERROR = {'file': '/etc/hosts.allow', 'line': 7, 'text': 'sshd 192.0.2.10',
              'reason': 'missing ":" between daemon list and client list'}
NO_PING = {'path_mtu': None, 'blackhole': None, 'probes': 0, 'status': 'unknown',
           'reason': 'ping not found: install iputils-ping to probe the path MTU'}
# `ethtool -S ens5` on an EC2 Nitro instance (ENA driver 2.8): the allowance counters.
ENA_EXCEEDED = {'bw_in_allowance_exceeded': 0, 'bw_out_allowance_exceeded': 0, 'pps_allowance_exceeded': 0,
                'conntrack_allowance_exceeded': 1523, 'linklocal_allowance_exceeded': 0,
                'conntrack_allowance_available': 0}
INVALID_DROP = rule('ct state invalid drop', 'drop', None, invalid=True)
UNKNOWN_AREA = {'status': 'unknown', 'reason': 'no permission to read /proc/net/nf_conntrack: use become: true'}

# Unreachable messages as Ansible 2.19 prints them (OpenSSH 9.2p1 client, BatchMode, ConnectTimeout=5).
MSG_REFUSED = 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 port 22: Connection refused'
MSG_TIMEOUT = 'Failed to connect to the host via ssh: ssh: connect to host 192.0.2.21 port 22: Connection timed out'
MSG_BANNER_TIMEOUT = 'Failed to connect to the host via ssh: Connection timed out during banner exchange'
MSG_RESET_BANNER = ('Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by peer'
                    '\r\nConnection reset by 192.0.2.21 port 22')
MSG_RESET_MID = 'Failed to connect to the host via ssh: Connection reset by 192.0.2.21 port 22'
MSG_AUTH = 'Failed to connect to the host via ssh: root@192.0.2.21: Permission denied (publickey,password).'
MSG_DNS = ('Failed to connect to the host via ssh: ssh: Could not resolve hostname web9: '
           'Name or service not known')
MSG_EMPTY = 'Failed to connect to the host via ssh: '


def case(patch=None, probe_=None, unreachable=None, thresholds=None, controller=CONTROLLER, fleet=None,
         endpoint_probe=None, capture=None):
    return {'patch': patch or {}, 'probe': probe_, 'unreachable': unreachable, 'thresholds': thresholds,
            'controller': controller, 'fleet': fleet, 'endpoint_probe': endpoint_probe, 'capture': capture}


def run(spec):
    """Ids emitted for one case (the fleet cases look at host 'a')."""
    if spec['fleet']:
        docs = [_engine.diagnose_host(copy.deepcopy(h)) for h in spec['fleet']]
        _engine.apply_fleet_findings(docs)
        return {f['id'] for f in docs[0]['findings']}, docs[0]
    data = facts(**spec['patch'])
    result = _engine.evaluate_host(data, probe=spec['probe'], unreachable=spec['unreachable'],
                                   thresholds=spec['thresholds'], controller=spec['controller'],
                                   endpoint_probe=spec.get('endpoint_probe'), capture=spec.get('capture'))
    return {f['id'] for f in result['findings']}, result


# Real collector output: tests/unit/plugins/plugin_utils/fixtures/.
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')


def _lab_probe(name):
    """fixtures/lab_probes.json: ssh_probe results and Ansible's UNREACHABLE messages from the
    connreset lab (tests/lab/lab, light hosts: OpenSSH 9.2p1 sshd, ansible-core 2.19 controller)
    with the faults pmtu-blackhole, sshd-down and banned injected."""
    with open(os.path.join(FIXTURES, 'lab_probes.json'), encoding='utf-8') as handle:
        return json.load(handle)[name]


# endpoint_facts of a bookworm lab host (tests/system/test_endpoints_real.py: ``lab service web all``)
# running the lab's gunicorn app on :8000 (lab-app.service, --keep-alive 1 under keepalive-mismatch)
# behind HAProxy on :8080 (timeout server 60s), trimmed to the keys the area reads.
APP = {'name': 'app', 'port': 8000, 'protocol': 'http', 'front': None, 'unit': 'lab-app.service',
       'unit_source': 'socket', 'program': 'gunicorn', 'status': 'ok', 'reason': None,
       'listening': [{'address': '0.0.0.0', 'port': 8000, 'recv_q': 0, 'backlog': 2048, 'pids': [311],
                      'processes': ['gunicorn']}],
       'service': {'manager': 'systemd', 'unit': 'lab-app.service', 'active_state': 'active', 'sub_state': 'running',
                   'result': 'success', 'n_restarts': 0, 'status': 'ok', 'reason': None},
       'events': {'status': 'ok', 'reason': None,
                  'crashes': {'count': 0, 'last': None, 'samples': []},
                  'restarts': {'count': 0, 'automatic': 0, 'manual': 0, 'gave_up': 0, 'last': None, 'samples': []},
                  'fd_exhaustion': {'count': 0, 'last': None, 'samples': []},
                  'addr_exhaustion': {'count': 0, 'last': None, 'samples': []}},
       'oom': {'status': 'ok', 'reason': None, 'kill_count': 0, 'kills': [], 'unit_results': 0},
       'fds': {'status': 'ok', 'reason': None, 'pid': 311, 'open': 9, 'soft_limit': 1024, 'hard_limit': 524288,
               'fill': 0.0088},
       'timeouts': {'status': 'ok', 'reason': None, 'program': 'gunicorn', 'source': 'command line',
                    'idle_close': {'key': 'keepalive', 'value_s': 2.0, 'default': True, 'file': None, 'line': None,
                                   'context': 'command line'},
                    'values': [{'key': 'keepalive', 'value_s': 2.0, 'default': True, 'file': None, 'line': None,
                                'context': 'command line'}]}}
HAPROXY = {'name': 'proxy', 'port': 8080, 'protocol': 'http', 'front': None, 'unit': 'haproxy.service',
           'unit_source': 'socket', 'program': 'haproxy', 'status': 'ok', 'reason': None,
           'listening': [{'address': '0.0.0.0', 'port': 8080, 'recv_q': 0, 'backlog': 4096, 'pids': [402],
                          'processes': ['haproxy']}],
           'service': dict(APP['service'], unit='haproxy.service'), 'events': APP['events'], 'oom': APP['oom'],
           'fds': dict(APP['fds'], pid=402), 'timeouts': {
               'status': 'ok', 'reason': None, 'program': 'haproxy', 'source': '/etc/haproxy/haproxy.cfg',
               'idle_close': {'key': 'timeout http-keep-alive', 'value_s': 60, 'default': False,
                              'file': '/etc/haproxy/haproxy.cfg', 'line': 24, 'context': 'defaults'},
               'values': [{'key': 'timeout http-keep-alive', 'value_s': 60, 'default': False,
                           'file': '/etc/haproxy/haproxy.cfg', 'line': 24, 'context': 'defaults'},
                          {'key': 'timeout server', 'value_s': 60, 'default': False,
                           'file': '/etc/haproxy/haproxy.cfg', 'line': 23, 'context': 'defaults'}]}}
# systemd's own lines for a unit killed until it gave up (systemd 252, src/core/service.c / unit.c).
SVC_CRASH_LINE = 'lab-app.service: Main process exited, code=killed, status=9/KILL'
SVC_GAVE_UP_LINE = 'lab-app.service: Start request repeated too quickly.'


def endpoints(*items):
    """A patch putting these endpoints (copies of APP/HAPROXY with changes) into connreset_endpoints."""
    return {'connreset_endpoints.endpoints': [copy.deepcopy(item) for item in items]}


def endpoint(base=None, **changes):
    item = copy.deepcopy(base or APP)
    item.update(changes)
    return item


def tcp_probe(port, classification, phase='tcp_connect', outcome='reset', idle=None, protocol='http', name=None):
    """A tcp_probe result (module_utils/_tcp_probe.probe) for one endpoint."""
    attempt = {'attempt': 1, 'phase': phase, 'outcome': outcome, 'error': None, 'elapsed_s': 0.002}
    return {'endpoints': [{'name': name or '192.0.2.21:%d/%s' % (port, protocol), 'host': '192.0.2.21', 'port': port,
                           'protocol': protocol, 'attempts': [attempt], 'idle': idle,
                           'summary': {'classification': classification, 'phase': phase, 'outcome': outcome,
                                       'intermittent': False, 'counts': {outcome: 1}, 'likely_causes': [],
                                       'detail': None}}],
            'summary': {'ok': int(classification == 'ok'), 'failed': int(classification != 'ok'),
                        'classifications': {}, 'elapsed_s': 0.01}}


# -- who sent the reset (the path area, _path.py) -------------------------------------------------
# The routed lab (docs/lab.md, "Routed hosts"): the controller 10.213.7.1 on the bridge, host r1
# 10.213.100.11 behind the router; a capture window of 10 s from T0 (reset_capture's RETURN) and
# probe attempts 2 s into it (ssh_probe's and tcp_probe's attempt records, with their 4-tuple).
LAB_CONTROLLER = '10.213.7.1'
LAB_HOST = '10.213.100.11'
LAB_NAT = '10.213.100.1'      # the router's address the hosts see under nat-idle / lb-idle
T0 = 1796328128.5337
RESET_COUNTERS_ZERO = {'OutRsts': 0, 'EstabResets': 0, 'AttemptFails': 0, 'TCPAbortOnClose': 0, 'TCPAbortOnData': 0,
                       'TCPAbortOnLinger': 0, 'TCPAbortOnMemory': 0, 'TCPAbortOnTimeout': 0}


def capture_fact(resets=(), ports=(22,), status='ok', reason=None, started=T0, window=10.001, drops=0, deltas=None,
                 stopped='window'):
    """A connreset_capture fact as reset_capture returns it (plugins/modules/reset_capture.py RETURN)."""
    resets = [dict(r) for r in resets]
    ran = status != 'unknown'
    return {'status': status, 'reason': reason, 'elapsed_s': round(window + 0.02, 3), 'method': 'af_packet' if ran else None,
            'method_note': 'AF_PACKET capture with a classic BPF filter; the tcp:tcp_send_reset / tcp:tcp_receive_reset '
                           'tracepoints (socket state, reset reason) are not used by this version, so state and reason '
                           'are null',
            'ports': list(ports), 'ports_source': 'option', 'duration_s': 10, 'max_packets': 500,
            'window_s': window if ran else None, 'started_at': started if ran else None,
            'ended_at': round(started + window, 6) if ran else None, 'stopped': stopped if ran else None,
            'resets': resets if ran else None,
            'counts': {'sent': sum(r['direction'] == 'sent' for r in resets),
                       'received': sum(r['direction'] == 'received' for r in resets)} if ran else None,
            'skipped': {'count': 0, 'reasons': {}} if ran else None, 'kernel_drops': drops if ran else None,
            'captured_bytes_max': (40 if resets else 0) if ran else None,
            'counter_deltas': (dict(RESET_COUNTERS_ZERO, **(deltas or {})) if ran else None)}


def rst(direction, src, sport, dst, dport, offset, ttl=64, flags=('RST', 'ACK'), interface='eth0'):
    """One resets[] record of reset_capture."""
    return {'direction': direction, 'family': 'ipv4', 'src': src, 'sport': sport, 'dst': dst, 'dport': dport,
            'ttl': ttl, 'flags': list(flags), 'seq': 386058873, 'ack': 3731745742 if 'ACK' in flags else None,
            'window': 0, 'payload_bytes': 0, 'interface': interface, 'offset_s': offset,
            'time': round(T0 + offset, 6), 'state': None, 'reason': None}


def probe_attempt(phase='tcp_connect', outcome='reset', local_port=51734, at=2.0, elapsed=0.0123, number=1,
                  address=LAB_HOST, local_address=LAB_CONTROLLER, icmp=None, error=None):
    """One attempt record of ssh_probe / tcp_probe with the probe's own end of the 4-tuple."""
    return {'attempt': number, 'phase': phase, 'outcome': outcome,
            'error': error or ('ConnectionResetError: [Errno 104] Connection reset by peer (%s port 22)' % address
                               if outcome == 'reset' else None),
            'banner': None, 'elapsed_s': elapsed, 'timings': {'dns': 0.0001, 'tcp_connect': elapsed},
            'address': address, 'icmp': icmp, 'local_address': local_address, 'local_port': local_port,
            'started_at': round(T0 + at, 6), 'ended_at': round(T0 + at + elapsed, 6)}


def ssh_probe_result(classification, *attempts):
    """An ssh_probe result of these attempts (module_utils/_probe.summarize's shape)."""
    first = attempts[0]
    return {'host': LAB_HOST, 'port': 22, 'attempts': list(attempts),
            'summary': {'classification': classification, 'phase': first['phase'], 'outcome': first['outcome'],
                        'intermittent': False, 'counts': {first['outcome']: len(attempts)},
                        'likely_causes': ['firewall', 'sshd_rate_limit'], 'detail': first['error']}}


def ssh_idle(outcome, after, hold=5, local_port=51740, at=2.5, answer=None, error=None):
    """An ssh_probe ``idle`` record (module_utils/_probe.idle_hold's shape) of the routed lab's r1."""
    return {'hold_s': hold, 'outcome': outcome, 'after_s': after, 'detail': 'the idle hold (%s)' % outcome,
            'error': error, 'answer_s': answer, 'tcp_info': None, 'address': LAB_HOST, 'local_address': LAB_CONTROLLER,
            'local_port': local_port, 'banner': 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3',
            'started_at': round(T0 + at, 6), 'ended_at': round(T0 + at + (after or 0.0) + (answer or 0.0), 6)}


def ssh_probe_idle(idle):
    """An ssh_probe result whose attempt worked up to key exchange, with this idle hold."""
    return dict(ssh_probe_result('ok', probe_attempt('kex', 'ok')), idle=idle)


def endpoint_probe_result(port, classification, *attempts, name=None):
    """A tcp_probe result of one endpoint with these attempts."""
    first = attempts[0]
    return {'endpoints': [{'name': name or '%s:%d/http' % (LAB_HOST, port), 'host': LAB_HOST, 'port': port,
                           'protocol': 'http', 'attempts': list(attempts), 'idle': None,
                           'summary': {'classification': classification, 'phase': first['phase'],
                                       'outcome': first['outcome'], 'intermittent': False,
                                       'counts': {first['outcome']: len(attempts)}, 'likely_causes': [],
                                       'detail': None}}],
            'summary': {'ok': 0, 'failed': 1, 'classifications': {}, 'elapsed_s': 0.02}}
