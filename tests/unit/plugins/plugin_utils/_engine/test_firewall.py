# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area firewall (_firewall.py): reset, invalid-drop and limit rules on the ssh ports."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import (
    INVALID_DROP, RESET_ALL_22, case, run,
)
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import rule, with_rules


def test_invalid_drop_rule_is_medium_when_conntrack_counted_invalid():
    _ids, result = run(case(dict(with_rules(INVALID_DROP),
                                 **{'connreset_conntrack.stats.invalid': 311})))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-FW-003'] == ['medium']


def test_firewall_invalid_flag_and_service_port_name():
    invalid = dict(rule('-A INPUT -m conntrack --ctstate INVALID -j DROP', 'drop', None, backend='iptables'))
    invalid['rule'] = '-A INPUT -m state --state NEW -j DROP'  # the flag alone must be enough
    invalid['invalid'] = True
    named = rule('tcp dport ssh reject with tcp reset', 'reject_tcp_reset', ['ssh'])
    ids, _result = run(case(with_rules(invalid, named)))
    assert {'CRD-FW-003', 'CRD-FW-001'} <= ids


def test_several_rules_are_all_in_the_evidence():
    other = rule('tcp dport 20-30 reject with tcp reset', 'reject_tcp_reset', ['20-30'])
    _ids, result = run(case(with_rules(RESET_ALL_22, other)))
    finding = next(f for f in result['findings'] if f['id'] == 'CRD-FW-001')
    assert [r['rule'] for r in finding['evidence']['rules']] == [RESET_ALL_22['rule'], other['rule']]


@pytest.mark.parametrize('extra, found', [
    # iptables 1.8.9 iptables-save lines; the collector applies the negation to `ports`
    (rule('-A INPUT -p tcp -m tcp ! --dport 22 -j REJECT --reject-with tcp-reset', 'reject_tcp_reset', [22],
          backend='iptables', negated=True), set()),
    (rule('-A INPUT -p tcp -m tcp ! --dport 80 -j REJECT --reject-with tcp-reset', 'reject_tcp_reset', [80],
          backend='iptables', negated=True), {'CRD-FW-001'}),
    (rule('-A INPUT -p tcp -m multiport --dports 20:30 -j REJECT --reject-with tcp-reset', 'reject_tcp_reset',
          ['20-30'], backend='iptables'), {'CRD-FW-001'}),
    (rule('-A INPUT -p tcp -j REJECT --reject-with tcp-reset', 'reject_tcp_reset', None, backend='iptables'),
     set()),  # names no port: a catch-all after the accept rules, not a rule on ssh
    (rule('-A INPUT -p tcp -m tcp ! --dport 22 -m conntrack --ctstate INVALID -j DROP', 'drop', [22],
          backend='iptables', invalid=True, negated=True), set()),
    (rule('-A INPUT -p tcp -m tcp --dport 22 -m limit --limit 3/min -j DROP', 'drop', [22], backend='iptables',
          limit=True), {'CRD-FW-005'}),
])
def test_firewall_reads_the_typed_ports(extra, found):
    ids, _result = run(case(with_rules(extra)))
    assert ids & {'CRD-FW-001', 'CRD-FW-002', 'CRD-FW-003', 'CRD-FW-005'} == found
