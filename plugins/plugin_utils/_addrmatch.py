# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sshd's address lists (PerSourcePenaltyExemptList), matched as OpenSSH matches them.  Private.

openssh-portable, identical at V_9_8_P1 and V_10_0_P1:
- addrmatch.c addr_match_list() splits the list on ``,``; an entry may start with ``!``
  (negation); an entry that addr.c addr_pton_cidr() parses as an address or a CIDR network must
  have its host bits zero (else the list is invalid); any other entry is a wildcard pattern
  (match.c match_pattern(): ``*`` any run, ``?`` one character) matched against the address text.
- A negated entry that matches ends the scan with -1 (never exempt), whatever the order; otherwise
  any positive match gives 1; srclimit.c exempts an address only when the result is 1.

One home for the engine (is the controller exempt? CRD-SSHD-007) and the remediate role's filter
(merging the controller into an existing list).
"""

from __future__ import annotations

import ipaddress


def network(text):
    """``text`` (without ``!``) as sshd's addr_pton_cidr() takes it: an ip_network, or None when
    sshd treats it as a wildcard pattern.  Host bits set or a bad length: ValueError (sshd: invalid)."""
    if '/' in text:
        addr, _sep, mask = text.partition('/')
        if not mask.isdigit():
            return None  # strtonum() fails: a pattern
    else:
        addr = text
    try:
        ipaddress.ip_address(addr)
    except ValueError:
        return None
    return ipaddress.ip_network(text, strict=True)


def pattern_match(text, pattern):
    """match.c match_pattern(): ``*`` any run, ``?`` one character, everything else literal;
    iterative (no backtracking blow-up)."""
    t = p = 0
    star = -1
    mark = 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == '?' or pattern[p] == text[t]):
            t += 1
            p += 1
        elif p < len(pattern) and pattern[p] == '*':
            star, mark = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == '*':
        p += 1
    return p == len(pattern)


def entry_matches(address, entry):
    """Whether ``entry`` (without ``!``) matches ``address`` (an ip_address) as addr_match_list() does."""
    try:
        net = network(entry)
    except ValueError:
        return False
    if net is not None:
        return address.version == net.version and address in net
    return pattern_match(str(address), entry)


def exempt(address, entries):
    """True when sshd would exempt ``address`` (an ip_address) by the list ``entries`` (strings,
    without the commas): a positive entry matches and no negated one does."""
    matched = False
    for entry in entries:
        if entry.startswith('!'):
            if entry_matches(address, entry[1:]):
                return False
        elif entry and entry_matches(address, entry):
            matched = True
    return matched
