# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area tcp (_tcp.py): listen queue overflows."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import case, run


@pytest.mark.parametrize('abort, severity', [(0, 'low'), (1, 'high'), (None, 'low')])
def test_listen_overflow_severity_follows_abort_on_overflow(abort, severity):
    _ids, result = run(case({'connreset_tcp.counters.ListenOverflows': 7,
                             'connreset_tcp.sysctls.tcp_abort_on_overflow': abort}))
    assert [f['severity'] for f in result['findings'] if f['id'] == 'CRD-TCP-001'] == [severity]


def test_listener_overflowing_flag():
    ids, _result = run(case({'connreset_tcp.listeners': [{'address': '0.0.0.0', 'port': 22, 'recv_q': None,
                                                         'backlog': None, 'overflowing': True}]}))
    assert 'CRD-TCP-002' in ids
