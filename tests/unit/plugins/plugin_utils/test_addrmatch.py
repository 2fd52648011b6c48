# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""sshd's address lists matched as openssh-portable's addrmatch.c / match.c do (V_9_8_P1, V_10_0_P1)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.connreset.doctor.plugins.plugin_utils._addrmatch import exempt, network, pattern_match


@pytest.mark.parametrize('text, pattern, match', [
    ('10.1.2.3', '10.1.*', True),
    ('10.1.2.3', '*', True),
    ('10.1.2.3', '10.?.2.3', True),
    ('10.1.2.3', '10.1.2.3', True),
    ('10.1.2.3', '10.1.2.3*', True),
    ('10.1.2.3', '*.3', True),
    ('10.1.2.3', '10.1.2', False),
    ('10.1.2.3', '10.1.2.?3', False),
    ('10.1.2.3', '1*1*1', False),
    ('a' * 40, '*a*a*a*a*a*a*a*a*b', False),  # no exponential backtracking
])
def test_pattern_match_as_match_pattern(text, pattern, match):
    assert pattern_match(text, pattern) is match


@pytest.mark.parametrize('entries, address, expected', [
    (['10.0.0.0/8'], '10.1.2.3', True),
    (['10.0.0.0/8'], '192.0.2.10', False),
    (['192.0.2.*'], '192.0.2.10', True),                          # a wildcard pattern
    (['10.0.0.0/8', '!192.0.2.10', '192.0.2.0/24'], '192.0.2.10', False),  # a negation wins, whatever the order
    (['192.0.2.0/24', '!192.0.2.11'], '192.0.2.10', True),        # a negation of another address
    (['!10.0.0.0/8'], '192.0.2.10', False),                       # only negations: nothing exempt
    (['192.0.2.10/24'], '192.0.2.10', False),                     # host bits set: sshd rejects the entry
    (['2001:db8::/32'], '192.0.2.10', False),                     # another family
    (['2001:db8::/32'], '2001:db8::5', True),
    ([], '192.0.2.10', False),
])
def test_exempt_as_addr_match_list(entries, address, expected):
    assert exempt(ipaddress.ip_address(address), entries) is expected


@pytest.mark.parametrize('text, expected', [
    ('10.0.0.0/8', ipaddress.ip_network('10.0.0.0/8')), ('192.0.2.1', ipaddress.ip_network('192.0.2.1/32')),
    ('10.*', None), ('host.example', None), ('10.0.0.0/x', None),
])
def test_network_as_addr_pton_cidr(text, expected):
    assert network(text) == expected


def test_network_with_host_bits_is_invalid():
    with pytest.raises(ValueError):
        network('10.0.0.1/8')
