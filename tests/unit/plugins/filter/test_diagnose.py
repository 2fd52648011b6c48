# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The diagnose filters: classify_unreachable's table, diagnose_host's document shape."""

from __future__ import annotations

import datetime

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.connreset.doctor.plugins.filter.diagnose import FilterModule
from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import AREAS
from ansible_collections.connreset.doctor.tests.unit.plugins.plugin_utils.engine_samples import (
    CONTROLLER, MAXSTARTUPS_LINE, event, facts, probe,
)

FILTERS = FilterModule().filters()

# Ansible 2.19 UNREACHABLE messages (OpenSSH 9.2p1 client unless noted), see
# /work/shared/notes/symptoms.md for how each was produced.
UNREACHABLE = [
    ('Failed to connect to the host via ssh: ssh: connect to host 10.88.0.11 port 22: Connection refused', 'refused'),
    ('Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by peer\r\n'
     'Connection reset by 10.88.0.11 port 22', 'reset_banner'),
    ('Failed to connect to the host via ssh: kex_exchange_identification: Connection closed by remote host\r\n'
     'Connection closed by 10.88.0.11 port 22', 'reset_banner'),
    ('Failed to connect to the host via ssh: ssh_exchange_identification: read: Connection reset by peer',
     'reset_banner'),  # OpenSSH < 8.3
    ('Failed to connect to the host via ssh: Connection timed out during banner exchange\r\n'
     'Connection to 10.88.0.11 port 22 timed out', 'timeout'),
    ('Failed to connect to the host via ssh: ssh: connect to host 10.88.0.11 port 22: Connection timed out',
     'timeout'),
    ('Failed to connect to the host via ssh: Connection to 10.88.0.11 port 22 timed out', 'timeout'),
    ('Failed to connect to the host via ssh: ssh: connect to host 10.88.0.11 port 22: No route to host', 'timeout'),
    ('Failed to connect to the host via ssh: ssh: connect to host 10.88.0.11 port 22: Connection reset by peer',
     'reset_banner'),  # REJECT tcp-reset on ESTABLISHED only
    ('Failed to connect to the host via ssh: Connection reset by 10.88.0.11 port 22', 'reset_mid_session'),
    ('Failed to connect to the host via ssh: client_loop: send disconnect: Broken pipe', 'reset_mid_session'),
    ('Failed to connect to the host via ssh: root@10.88.0.11: Permission denied (publickey,password).', 'auth'),
    ('Failed to connect to the host via ssh: Host key verification failed.', 'auth'),
    ('Failed to connect to the host via ssh: ssh: Could not resolve hostname web9: Name or service not known',
     'dns'),
    ('Failed to connect to the host via ssh: ssh: Could not resolve hostname web9: Temporary failure in name '
     'resolution', 'dns'),
    ('Failed to connect to the host via ssh: ', 'other'),  # LogLevel=ERROR hides the reason
    # ansible-core 2.19 against the connreset lab (tests/lab/lab): wrappers-deny, maxstartups,
    # reset-rule (tcp-reset on established), pmtu-blackhole (ServerAliveInterval=3), sshd-down.
    ('Task failed: Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by '
     'peer\r\nConnection reset by 10.213.14.11 port 22', 'reset_banner'),
    ('Task failed: Failed to connect to the host via ssh: kex_exchange_identification: Connection closed by remote '
     'host\r\nConnection closed by 10.213.14.12 port 22', 'reset_banner'),
    ('Task failed: Failed to connect to the host via ssh: ssh: connect to host 10.213.14.13 port 22: Connection '
     'reset by peer', 'reset_banner'),
    ('Task failed: Failed to connect to the host via ssh: Connection to 10.213.14.11 port 22 timed out', 'timeout'),
    ('Task failed: Failed to connect to the host via ssh: ssh: connect to host 10.213.14.13 port 22: Connection '
     'refused', 'refused'),
    ('', 'other'),
    (None, 'other'),
    # paramiko 3.x / 5.x texts (library use, e.g. testinfra's paramiko backend)
    ('Error reading SSH protocol banner[Errno 104] Connection reset by peer', 'reset_banner'),
    ('Unable to connect to port 22 on 10.88.0.11', 'refused'),
    ('Socket exception: Connection reset by peer (104)', 'reset_mid_session'),
    ('timed out', 'timeout'),
]


@pytest.mark.parametrize('msg, expected', UNREACHABLE)
def test_classify_unreachable(msg, expected):
    assert FILTERS['classify_unreachable'](msg) == expected


def test_classify_unreachable_accepts_the_result_dict():
    assert FILTERS['classify_unreachable']({'unreachable': True, 'msg': UNREACHABLE[0][0]}) == 'refused'


def test_classify_unreachable_rejects_other_types():
    with pytest.raises(AnsibleFilterError, match='expects a string'):
        FILTERS['classify_unreachable'](42)


def test_diagnose_host_document_shape():
    data = {'host': 'web1', 'facts': facts(**{'connreset_sshd.events.maxstartups_drops': event(12, MAXSTARTUPS_LINE)}),
            'probe': probe('ok', 'session', 'ok'), 'unreachable': None, 'thresholds': None, 'controller': CONTROLLER}
    doc = FILTERS['diagnose_host'](data)
    assert sorted(doc) == sorted(['schema_version', 'host', 'generated_at', 'reachable', 'unreachable', 'facts',
                                  'probe', 'endpoint_probe', 'capture', 'findings', 'score', 'level'])
    assert doc['schema_version'] == 1 and doc['host'] == 'web1' and doc['reachable'] is True
    assert doc['unreachable'] is None
    assert doc['facts'] == data['facts'] and doc['probe'] == data['probe']
    stamp = datetime.datetime.strptime(doc['generated_at'], '%Y-%m-%dT%H:%M:%SZ')
    assert abs((datetime.datetime.utcnow() - stamp).total_seconds()) < 60
    assert [f['id'] for f in doc['findings']] == ['CRD-SSHD-004']
    assert doc['findings'][0]['summary'] == '12 connections dropped past MaxStartups'
    assert doc['findings'][0]['evidence']['samples'] == [MAXSTARTUPS_LINE]
    assert (doc['score'], doc['level']) == (12, 'medium')


def test_diagnose_host_unreachable():
    msg = 'Failed to connect to the host via ssh: ssh: connect to host web2 port 22: Connection refused'
    doc = FILTERS['diagnose_host']({'host': 'web2', 'facts': {}, 'probe': None, 'unreachable': {'msg': msg}})
    assert doc['reachable'] is False
    assert doc['unreachable'] == {'msg': msg, 'classification': 'refused'}
    assert [f['id'] for f in doc['findings']] == ['CRD-REACH-001']
    assert doc['level'] == 'critical'


def test_diagnose_host_bad_input():
    with pytest.raises(AnsibleFilterError, match='expects a dictionary'):
        FILTERS['diagnose_host']('web1')
    with pytest.raises(AnsibleFilterError, match="unknown threshold 'nope'"):
        FILTERS['diagnose_host']({'host': 'web1', 'facts': {}, 'thresholds': {'nope': 1}})


@pytest.mark.parametrize('data', [
    # what roles/diagnose passes today: the failure in `unreachable`, with its prefix
    {'unreachable': {'msg': 'connreset.doctor.reset_facts failed: the collectors ran past the budget and timed out'}},
    {'failed': {'msg': 'the collectors ran past the budget and timed out'}},
    {'failed': 'the collectors ran past the budget and timed out'},
])
def test_failed_collection_is_not_unreachable(data):
    doc = FILTERS['diagnose_host'](dict(data, host='web3', facts={}, probe=probe('ok', 'session', 'ok')))
    assert doc['reachable'] is True and doc['unreachable'] is None
    # a coverage finding per area, and nothing was checked: CRD-COV-NONE (high), not a healthy host
    assert all(f['id'].startswith('CRD-COV-') for f in doc['findings']) and len(doc['findings']) == len(AREAS) + 1
    assert doc['findings'][0]['id'] == 'CRD-COV-NONE' and doc['level'] == 'high'
    for finding in doc['findings']:
        assert 'fact collection failed: ' in finding['summary'] and 'timed out' in finding['summary']


@pytest.mark.parametrize('name', sorted(FILTERS))
def test_filter_documentation_parses(name):
    """plugins/filter/<name>.yml is what ansible-doc shows for connreset.doctor.<name>."""
    import os
    import yaml
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'plugins', 'filter',
                        name + '.yml')
    with open(path, encoding='utf-8') as handle:
        doc = yaml.safe_load(handle)
    assert doc['DOCUMENTATION']['name'] == name
    assert doc['DOCUMENTATION']['options']['_input']['required'] is True
    assert doc['EXAMPLES'].strip() and doc['RETURN']['_value']['description']


@pytest.mark.parametrize('host, name', [
    ('web1', 'web1.json'),
    ('db/1', 'db_1~'),
    ('.hidden', 'hidden~'),
])
def test_report_host_file(host, name):
    from ansible_collections.connreset.doctor.plugins.plugin_utils import _report
    result = FILTERS['report_host_file'](host)
    assert result == _report.host_file_name(host) and result.startswith(name)


@pytest.mark.parametrize('bad', ['', None, 3, ['web1']])
def test_report_host_file_bad_input(bad):
    with pytest.raises(AnsibleFilterError, match='expects an inventory host name'):
        FILTERS['report_host_file'](bad)
