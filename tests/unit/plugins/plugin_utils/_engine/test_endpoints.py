# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Area endpoints (_endpoints.py): what could not be read of each named service is a coverage gap
(CRD-COV-SVC) that names the endpoint and the part; a service read in full adds nothing."""

from __future__ import annotations

import pytest

from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils._engine.engine_cases import case, run

# endpoint_facts of a bookworm lab host running the lab's gunicorn app on :8000 (unit app.service),
# trimmed to the keys the area reads.
APP = {'name': 'app:8000', 'port': 8000, 'protocol': 'http', 'front': None, 'unit': 'app.service',
       'unit_source': 'socket', 'program': 'gunicorn', 'status': 'ok', 'reason': None,
       'listening': [{'address': '0.0.0.0', 'port': 8000, 'recv_q': 0, 'backlog': 2048, 'pids': [311],
                      'processes': ['gunicorn']}],
       'service': {'manager': 'systemd', 'unit': 'app.service', 'active_state': 'active', 'status': 'ok',
                   'reason': None},
       'events': {'status': 'ok', 'reason': None}, 'oom': {'status': 'ok', 'reason': None, 'kill_count': 0},
       'fds': {'status': 'ok', 'reason': None, 'open': 9, 'soft_limit': 1024},
       'timeouts': {'status': 'ok', 'reason': None, 'program': 'gunicorn'}}


def with_endpoint(**changes):
    endpoint = dict(APP)
    endpoint.update(changes)
    return case({'connreset_endpoints.endpoints': [endpoint]})


def test_a_service_read_in_full_adds_nothing():
    ids, result = run(with_endpoint())
    assert not [f for f in result['findings'] if f['id'] == 'CRD-COV-SVC'], result


@pytest.mark.parametrize('part, reason', [
    ('service', 'no systemd on this host (PID 1 is sh): the unit history cannot be read'),
    ('timeouts', '/etc/redis/redis.conf: Permission denied: use become: true'),
    ('oom', 'no kernel log readable: dmesg_restrict=1: use become: true'),
])
def test_an_unreadable_part_is_a_gap_naming_endpoint_and_part(part, reason):
    ids, result = run(with_endpoint(**{part: {'status': 'unknown', 'reason': reason}}))
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-SVC')
    assert 'app:8000 %s' % part in cov['summary'] and reason in cov['summary']


def test_unreadable_listening_sockets_are_a_gap():
    _ids, result = run(with_endpoint(listening=None, reason='ss and /proc/net/tcp unreadable'))
    cov = next(f for f in result['findings'] if f['id'] == 'CRD-COV-SVC')
    assert 'app:8000 listening' in cov['summary'] and 'ss and /proc/net/tcp unreadable' in cov['summary']
