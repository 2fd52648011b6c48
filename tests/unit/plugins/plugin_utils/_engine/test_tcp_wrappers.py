# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area TCP wrappers (_tcp_wrappers.py)."""

from __future__ import annotations

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import case, run


def test_wrappers_without_client_say_why():
    ids, result = run(case({'connreset_tcp_wrappers.verdicts': [], 'connreset_tcp_wrappers.clients': [],
                            'connreset_tcp_wrappers.clients_source': 'none',
                            'connreset_tcp_wrappers.clients_note': 'no client address to evaluate: SSH_CONNECTION '
                                                                   'is not set'}))
    assert ids == {'CRD-COV-WRAP'}
    assert 'SSH_CONNECTION' in result['findings'][0]['summary']
