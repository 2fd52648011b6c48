# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers and collect() of _tcp, on real /proc/net and ss outputs (origin noted per sample)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno

import pytest

from ansible_collections.connreset.doctor.plugins.module_utils import _tcp
from ansible_collections.connreset.doctor.plugins.module_utils._common import CommandResult, OptionError

# Linux 3.x/4.x (< 4.14: still has TCPPrequeued), prometheus/node_exporter collector/fixtures/proc/net
SNMP_NODE_EXPORTER = (
    'Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers '
    'OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates\n'
    'Ip: 1 64 57740232 0 25 397750 0 0 57340175 55365537 0 54 0 0 0 0 0 0 0\n'
    'IcmpMsg: InType3 OutType3\n'
    'IcmpMsg: 104 120\n'
    'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs '
    'OutSegs RetransSegs InErrs OutRsts InCsumErrors\n'
    'Tcp: 1 200 120000 -1 3556 230 341 161 0 57252008 54915039 227 5 1003 0\n'
    'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors\n'
    'Udp: 88542 120 0 53028 0 0 0\n')
NETSTAT_NODE_EXPORTER = (
    'TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned OutOfWindowIcmps '
    'LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSPassive PAWSActive PAWSEstab DelayedACKs DelayedACKLocked '
    'DelayedACKLost ListenOverflows ListenDrops TCPPrequeued TCPDirectCopyFromBacklog TCPDirectCopyFromPrequeue '
    'TCPPrequeueDropped TCPHPHits TCPHPHitsToUser TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging '
    'TCPFACKReorder TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLoss '
    'TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures TCPFastRetrans TCPForwardRetrans TCPSlowStartRetrans '
    'TCPTimeouts TCPRenoRecoveryFail TCPSackRecoveryFail TCPSchedulerFailed TCPRcvCollapsed TCPDSACKOldSent TCPDSACKOfoSent '
    'TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout TCPAbortOnLinger '
    'TCPAbortFailed TCPMemoryPressures TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound '
    'TCPMD5Unexpected TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop TCPMinTTLDrop TCPDeferAcceptDrop '
    'IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPChallengeACK TCPSYNChallenge TCPOFOQueue\n'
    'TcpExt: 0 0 2 0 0 0 0 0 0 0 388812 0 0 0 0 6 102471 17 9 0 0 80568 0 168808 0 4471289 26 1433940 3744565 0 1 0 0 0 0 0 '
    '0 0 0 48 0 0 0 1 0 1 0 1 115 0 0 0 0 9 0 5 0 41 4 0 0 0 0 0 0 0 1 0 0 0 0 2 5 0 0 0 0 0 0 0 2 2 42\n'
    'IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets InMcastOctets '
    'OutMcastOctets InBcastOctets OutBcastOctets\n'
    'IpExt: 0 0 0 0 0 0 6286396970 2786264347 0 0 0 0\n')

# Ubuntu 5.4.0-97-generic (sosreport in canonical/hotsos unit tests)
SNMP_54 = (
    'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs '
    'RetransSegs InErrs OutRsts InCsumErrors\n'
    'Tcp: 1 200 120000 -1 18023 7525 1344 71 83 2146484 6113424 153 0 30562 0\n'
    'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti\n'
    'Udp: 1704 0 1234 253 0 0 22 427\n')
NETSTAT_54 = (
    'TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned OutOfWindowIcmps '
    'LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab DelayedACKs DelayedACKLocked DelayedACKLost '
    'ListenOverflows ListenDrops TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging TCPSACKReorder '
    'TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures '
    'TCPSackFailures TCPLossFailures TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery '
    'TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv '
    'TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed '
    'TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs '
    'TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop '
    'PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies '
    'TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK TCPSYNChallenge '
    'TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow '
    'TCPFastOpenCookieReqd TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking '
    'TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent TCPHystartTrainDetect '
    'TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq '
    'TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive TCPMTUPFail TCPMTUPSuccess '
    'TCPDelivered TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig TCPFastOpenPassiveAltKey\n'
    'TcpExt: 0 0 0 0 0 0 0 0 0 0 12612 0 0 0 0 11157 69 2735 0 0 996916 159569 647199 0 0 0 0 0 0 0 0 0 0 5 0 0 0 0 0 22 '
    '173 0 0 0 0 43983 2778 788 137 0 3607 7610 0 0 0 0 0 0 0 0 96 0 0 0 0 0 0 0 0 0 0 0 2124 0 0 0 0 394407 7035 0 759 0 0 '
    '0 0 0 0 0 0 0 7 0 11001 2371 2371 1367 15 5004066 51 2568 0 0 0 0 46 0 0 0 0 23191 0 0 5010476 0 5986 0 0 0 0\n')

# Linux 6.18.44 (Debian 12 userland), captured on the development machine
SNMP_618 = (
    'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs '
    'RetransSegs InErrs OutRsts InCsumErrors\n'
    'Tcp: 1 200 120000 -1 223 30 4 19 2 9313 7529 0 0 44 0\n')
NETSTAT_618 = (
    'TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned OutOfWindowIcmps '
    'LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait '
    'DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery '
    'TCPSackRecovery TCPSACKReneging TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo '
    'TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures TCPFastRetrans TCPSlowStartRetrans '
    'TCPTimeouts TCPLossProbes TCPLossProbeRecovery TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce '
    'TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory '
    'TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard '
    'TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted '
    'TCPSackMerged TCPSackShiftFallback TCPBacklogDrop PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter '
    'TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge '
    'TCPChallengeACK TCPSYNChallenge TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail '
    'TCPFastOpenListenOverflow TCPFastOpenCookieReqd TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets '
    'TCPAutoCorking TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent '
    'TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv TCPACKSkippedPAWS '
    'TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive TCPMTUPFail '
    'TCPMTUPSuccess TCPDelivered TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig '
    'TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash TCPDSACKRecvSegs TCPDSACKIgnoredDubious '
    'TCPMigrateReqSuccess TCPMigrateReqFailure TCPPLBRehash TCPAORequired TCPAOBad TCPAOKeyNotFound TCPAOGood TCPAODroppedIcmps\n'
    'TcpExt: 0 0 0 0 0 0 0 0 0 0 193 0 0 0 0 0 0 0 0 5 0 2 0 0 18 247 197 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 2 0 0 0 0 0 127 2 0 '
    '0 0 21 4 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 4030 0 0 0 0 0 0 0 0 0 0 0 0 2 0 2 12 12 2 0 642 0 0 0 0 0 0 '
    '0 0 0 0 0 0 0 0 859 0 0 0 0 0 0 2 0 0 0 0 0 0 0 0 0 0 0\n')


@pytest.mark.parametrize('origin, snmp, netstat, expected', [
    ('node_exporter fixture, Linux < 4.14', SNMP_NODE_EXPORTER, NETSTAT_NODE_EXPORTER,
     {'EstabResets': 161, 'OutRsts': 1003, 'AttemptFails': 341, 'RetransSegs': 227, 'OutSegs': 54915039,
      'ActiveOpens': 3556, 'PassiveOpens': 230, 'CurrEstab': 0, 'InErrs': 5, 'MaxConn': -1,
      'ListenOverflows': 0, 'ListenDrops': 0, 'TCPAbortOnData': 41, 'TCPAbortOnClose': 4, 'TCPAbortOnTimeout': 0,
      'TCPTimeouts': 115, 'TCPReqQFullDrop': 0, 'TCPPrequeued': 80568, 'TCPOFOQueue': 42, 'SyncookiesFailed': 2}),
    ('Ubuntu 5.4.0-97', SNMP_54, NETSTAT_54,
     {'EstabResets': 71, 'OutRsts': 30562, 'AttemptFails': 1344, 'CurrEstab': 83, 'ListenOverflows': 0,
      'TCPAbortOnData': 3607, 'TCPAbortOnClose': 7610, 'TCPTimeouts': 22, 'TW': 12612, 'TCPOFOQueue': 7035, 'TCPFastOpenPassiveAltKey': 0,
      'TCPKeepAlive': 23191}),
    ('Linux 6.18.44', SNMP_618, NETSTAT_618,
     {'EstabResets': 19, 'OutRsts': 44, 'ActiveOpens': 223, 'TCPAbortOnData': 21, 'TCPAbortOnClose': 4,
      'ListenOverflows': 0, 'TW': 193, 'TCPAODroppedIcmps': 0, 'TCPOrigDataSent': 642}),
])
def test_counters_from_real_kernels(origin, snmp, netstat, expected):
    counters = _tcp.counters_from(snmp, netstat)
    for key, value in expected.items():
        assert counters[key] == value, (origin, key)
    # IpExt/Udp fields stay out: only Tcp and TcpExt
    assert 'InOctets' not in counters and 'InDatagrams' not in counters


@pytest.mark.parametrize('text, expected', [
    ('', {}),
    ('Tcp: RtoAlgorithm RtoMin\n', {}),                                # header without values
    ('Tcp: A B\nUdp: 1 2\n', {}),                                        # prefixes do not pair up
    ('Tcp: A B C\nTcp: 1 x 3\n', {'Tcp': {'A': 1, 'C': 3}}),             # non-integer skipped
    ('garbage\nTcp: A\nTcp: 7\n', {'Tcp': {'A': 7}}),
])
def test_parse_pairs_malformed(text, expected):
    assert _tcp.parse_pairs(text) == expected


def test_rates_between_skips_gauges():
    first = {'OutRsts': 10, 'CurrEstab': 5, 'ListenOverflows': 0, 'RtoMin': 200}
    second = {'OutRsts': 20, 'CurrEstab': 1, 'ListenOverflows': 4, 'RtoMin': 200, 'New': 3}
    assert _tcp.rates_between(first, second, 2.0) == {'OutRsts': 5.0, 'ListenOverflows': 2.0}
    assert _tcp.rates_between(first, second, 0) is None


# ss -Hltn from iproute2 6.1 (Debian 12) and ss -ltn with header (iproute2 4.3, Ubuntu 16.04 style)
SS_H = ('LISTEN 0      128          0.0.0.0:22        0.0.0.0:*\n'
        'LISTEN 1      3              [::1]:34643        [::]:*\n'
        'LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*\n'
        'LISTEN 129    128             [::]:22           [::]:*\n'
        'LISTEN 0      128                *:2024            *:*\n')
SS_HEADER = ('State      Recv-Q Send-Q Local Address:Port               Peer Address:Port\n'
             'LISTEN     0      128          *:22                       *:*\n'
             'LISTEN     0      128         :::22                      :::*\n')


@pytest.mark.parametrize('text, expected', [
    (SS_H, [('0.0.0.0', 22, 0, 128), ('::1', 34643, 1, 3), ('127.0.0.53', 53, 0, 4096), ('::', 22, 129, 128),
            ('*', 2024, 0, 128)]),
    (SS_HEADER, [('*', 22, 0, 128), ('::', 22, 0, 128)]),
    ('', []),
    ('LISTEN x y 0.0.0.0:22 0.0.0.0:*\n', []),
])
def test_parse_ss_listeners(text, expected):
    got = [(item['address'], item['port'], item['recv_q'], item['backlog']) for item in _tcp.parse_ss_listeners(text)]
    assert got == expected


# /proc/net/tcp from node_exporter's fixture (sshd listening + one ssh session), /proc/net/tcp6 from Linux 6.18
PROC_TCP = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:0016 00000000:0000 0A 00000015:00000000 00:00000000 00000000     0        0 2740 1 ffff88003d3af3c0 100 0 0 10 0',
    '   1: 0F02000A:0016 0202000A:8B6B 01 00000015:00000001 02:000AC99B 00000000     0        0 3652 4 ffff88003d3ae040 21 4 31 47 46',
]
PROC_TCP6 = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when '
    'retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000001000000:8753 00000000000000000000000000000000:0000 0A 00000000:00000001 00:00000000 '
    '00000000     0        0 34510 2 0000000032f0c707 100 0 0 10 0',
    '   1: 00000000000000000000000001000000:8753 00000000000000000000000001000000:E1A8 01 00000000:00000000 00:00000000 '
    '00000000     0        0 0 1 0000000042c93438 20 0 0 10 -1',
    '   2: 00000000000000000000000001000000:E1A8 00000000000000000000000001000000:8753 01 00000000:00000000 00:00000000 '
    '00000000     0        0 34511 2 000000003c6a7641 20 0 0 10 -1',
]


def test_parse_proc_tcp_v4():
    states, listeners, malformed = _tcp.parse_proc_tcp(PROC_TCP)
    assert states == {'LISTEN': 1, 'ESTABLISHED': 1}
    assert listeners == [{'address': '0.0.0.0', 'port': 22, 'recv_q': 0, 'backlog': None, 'source': '/proc/net/tcp'}]
    assert malformed == 0


def test_parse_proc_tcp_v6_accept_queue():
    states, listeners, malformed = _tcp.parse_proc_tcp(PROC_TCP6)
    assert states == {'LISTEN': 1, 'ESTABLISHED': 2}
    assert listeners[0]['address'] == '::1' and listeners[0]['port'] == 34643 and listeners[0]['recv_q'] == 1
    assert malformed == 0


def test_parse_proc_tcp_malformed_lines_counted():
    states, listeners, malformed = _tcp.parse_proc_tcp(PROC_TCP[:1] + ['   0: 0100007F:0016', '   1: a b ZZ c:d e'])
    assert states == {} and listeners == [] and malformed == 2


@pytest.mark.parametrize('value, expected', [
    ('0100007F:0016', ('127.0.0.1', 22)),
    ('0F02000A:8B6B', ('10.0.2.15', 35691)),
    ('00000000000000000000000001000000:8753', ('::1', 34643)),
    ('zz:16', (None, None)),
    ('0100007F', (None, None)),
])
def test_decode_proc_address(value, expected):
    assert _tcp.decode_proc_address(value) == expected


@pytest.mark.parametrize('params, fragment', [
    ({'sample_seconds': 31, 'ports': [22]}, 'sample_seconds=31 is out of range'),
    ({'sample_seconds': -1, 'ports': [22]}, 'out of range'),
    ({'sample_seconds': 0, 'ports': [0]}, 'not a TCP port'),
    ({'sample_seconds': 0, 'ports': [70000]}, 'not a TCP port'),
])
def test_validate_rejects(params, fragment):
    assert fragment in _tcp.validate(params)


def test_validate_accepts():
    assert _tcp.validate({'sample_seconds': 30, 'ports': [22, 2222]}) is None
    assert _tcp.validate({'sample_seconds': 0, 'ports': []}) is None


class FakeSystem:
    """Files from a dict (missing → ENOENT, None → EACCES); ss output or absence."""

    def __init__(self, files, ss_out=None, ss_rc=0, ss_err=''):
        self.files = files
        self.ss_out = ss_out
        self.ss_rc = ss_rc
        self.ss_err = ss_err
        self.runs = []

    def _get(self, path):
        if path not in self.files:
            raise OSError(errno.ENOENT, 'No such file or directory')
        if self.files[path] is None:
            raise OSError(errno.EACCES, 'Permission denied')
        return self.files[path]

    def read(self, path):
        return self._get(path)

    def read_or_none(self, path):
        try:
            return self._get(path)
        except OSError:
            return None

    def lines(self, path):
        return iter(self._get(path).splitlines())

    def which(self, name):
        return '/usr/bin/ss' if name == 'ss' and self.ss_out is not None else None

    def run(self, argv, timeout=15):
        self.runs.append(argv)
        return CommandResult(argv, self.ss_rc, self.ss_out, self.ss_err)

    def remaining(self):
        return None


def _files():
    files = {
        '/proc/net/snmp': SNMP_618, '/proc/net/netstat': NETSTAT_618, '/proc/uptime': '3062.59 5900.10\n',
        '/proc/net/tcp': '\n'.join(PROC_TCP) + '\n', '/proc/net/tcp6': '\n'.join(PROC_TCP6) + '\n',
    }
    for name, path in _tcp.SYSCTLS:
        files[path] = '4096\n' if name == 'somaxconn' else '1\n'
    return files


def test_collect_ok_with_ss():
    fact = _tcp.collect(FakeSystem(_files(), ss_out=SS_H), {'ports': [22], 'sample_seconds': 0})
    assert fact['status'] == 'ok' and fact['reason'] is None
    assert fact['counters']['EstabResets'] == 19
    assert fact['uptime_s'] == 3062.59
    assert fact['rates'] is None and 'not sampled' in fact['rates_reason']
    assert fact['sysctls']['somaxconn'] == 4096 and fact['sysctls_missing'] == []
    assert [(x['address'], x['recv_q'], x['backlog'], x['overflowing']) for x in fact['listeners']] == [
        ('0.0.0.0', 0, 128, False), ('::', 129, 128, True)]
    assert fact['states'] == {'LISTEN': 2, 'ESTABLISHED': 3}


def test_collect_without_ss_falls_back_to_proc():
    fact = _tcp.collect(FakeSystem(_files()), {'ports': [], 'sample_seconds': 0})
    assert fact['status'] == 'partial'
    assert 'ss not found' in fact['reason'] and 'backlog unknown' in fact['reason']
    assert {(x['port'], x['backlog']) for x in fact['listeners']} == {(22, None), (34643, None)}


def test_collect_unreadable_counters_are_null():
    files = _files()
    files['/proc/net/snmp'] = None
    del files['/proc/net/netstat']
    files['/proc/net/tcp'] = None
    del files['/proc/net/tcp6']
    del files['/proc/sys/net/ipv4/tcp_retries2']
    fact = _tcp.collect(FakeSystem(files), {'ports': [22], 'sample_seconds': 5})
    assert fact['counters'] is None and fact['listeners'] is None and fact['states'] is None
    assert fact['rates'] is None and fact['rates_reason'] == 'counters unreadable'
    assert fact['sysctls']['tcp_retries2'] is None and fact['sysctls_missing'] == ['tcp_retries2']
    assert fact['status'] == 'unknown'
    assert 'no permission to read /proc/net/snmp' in fact['reason']


def test_collect_old_ss_without_H():
    system = FakeSystem(_files(), ss_out=SS_HEADER, ss_rc=0)
    calls = []

    def run(argv, timeout=15):
        calls.append(argv)
        if '-Hltn' in argv:
            return CommandResult(argv, 255, '', 'ss: invalid option -- \'H\'\n')
        return CommandResult(argv, 0, SS_HEADER, '')
    system.run = run
    fact = _tcp.collect(system, {'ports': [22], 'sample_seconds': 0})
    assert calls[-1][-1] == '-ltn'
    assert [x['address'] for x in fact['listeners']] == ['*', '::']


def test_collect_sampled_rates(monkeypatch):
    files = _files()
    system = FakeSystem(files, ss_out=SS_H)
    monkeypatch.setattr(_tcp.time, 'sleep', lambda s: files.__setitem__(
        '/proc/net/snmp', SNMP_618.replace('223 30 4 19 2', '223 30 4 29 2')))
    fact = _tcp.collect(system, {'ports': [22], 'sample_seconds': 1})
    assert fact['counters']['EstabResets'] == 29
    assert fact['rates']['EstabResets'] > 0 and 'CurrEstab' not in fact['rates']
    assert fact['rates_reason'] is None


def test_collect_raises_option_error_for_the_aggregate():
    with pytest.raises(OptionError, match='sample_seconds'):
        _tcp.collect(FakeSystem(_files()), {'ports': [22], 'sample_seconds': 100})


# Hostile /proc text (found by test_fuzz_parsers.py): nan/inf are no uptime (they would be invalid
# JSON in the fact), and only numbers the kernel prints (ASCII, at most 20 digits) are counters: a
# 5,000-digit "counter" made int() raise, and rates_between() overflow a float.
@pytest.mark.parametrize('text, expected', [
    ('nan 1.0', None), ('inf 1.0', None), ('-inf 0', None), ('-5 1.0', None), ('12.5 3.0', 12.5), ('', None),
])
def test_parse_uptime_finite(text, expected):
    assert _tcp.parse_uptime(text) == expected


def test_parse_pairs_skips_values_the_kernel_never_prints():
    text = 'Tcp: A B C D E\nTcp: 1 %s \u00b2 -1 \u0663\n' % ('9' * 5000)
    assert _tcp.parse_pairs(text) == {'Tcp': {'A': 1, 'D': -1}}
    counters = _tcp.counters_from(text, '')
    assert _tcp.rates_between(counters, counters, 2) == {'A': 0.0, 'D': 0.0}


@pytest.mark.parametrize('text, expected', [
    ('128\n', 128), ('-1', -1), ('4096 16384 4194304', 4096), ('\u00b2', None), ('9' * 30, None), ('x', None), ('', None),
])
def test_parse_int(text, expected):
    assert _tcp.parse_int(text) == expected
