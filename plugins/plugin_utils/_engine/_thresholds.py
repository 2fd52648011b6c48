# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every threshold of the engine, once: defaults, their documentation, the middlebox idle-timeout
presets, and the validation of a caller's overrides."""

from __future__ import annotations

import copy

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _num


# Default idle timeouts (seconds) of common middleboxes, selected with ``path_idle_preset``.
IDLE_TIMEOUT_PRESETS = {
    'aws-nlb': 350,          # Network Load Balancer TCP listener default (configurable 60-6000 s)
    'aws-nat-gateway': 350,  # fixed; the gateway then answers the next packet with RST
    'azure-lb': 240,         # Azure Load Balancer default 4 min (configurable 4-30 min)
    'azure-nat-gateway': 240,  # default 4 min (configurable 4-120 min)
    'gcp-nat': 1200,         # Cloud NAT tcpEstablishedIdleTimeoutSec default 1200 s
    # Fronts of diagnose_endpoints (front.kind) that reuse or track connections to the service:
    'aws-alb': 60,           # Application Load Balancer idle_timeout.timeout_seconds default (1-4000 s)
    'aws-gwlb': 350,         # Gateway Load Balancer TCP idle timeout, fixed
    'gcp-lb': 600,           # external Application Load Balancer backend keep-alive timeout, fixed
    'nginx': 60,             # upstream keepalive_timeout default (nginx 1.15.3+)
    'envoy': 3600,           # cluster common_http_protocol_options.idle_timeout default 1 h
}
# The fronts that reuse idle keep-alive connections to the service (a server that closes first
# races them: CRD-SVC-007) and the ones that only track flows (they forget a flow the server still
# holds: CRD-SVC-008).  HAProxy has no preset: its `timeout server` is read when it is an endpoint
# of the same host, else front.idle_timeout_s must say it.
REUSING_FRONTS = ('aws-alb', 'gcp-lb', 'nginx', 'haproxy', 'envoy')
FLOW_FRONTS = ('aws-nlb', 'aws-gwlb', 'azure-lb', 'gcp-nat')


DEFAULT_THRESHOLDS = {
    # conntrack fill = count / max: warn at 75 % (medium), critical at 90 % (high) - the usual
    # two-step capacity alert; at 100 % new connections are dropped.
    'conntrack_fill_warn': 0.75,
    'conntrack_fill_crit': 0.90,
    # Log-counted drops past MaxStartups / PerSourcePenalties: >= low, >= medium, >= high.
    'startup_drops_low': 1,
    'startup_drops_medium': 10,
    'startup_drops_high': 100,
    # NRestarts (systemd) from which a restarting sshd is "high" rather than "medium".
    'restarts_high': 3,
    # Connections Ansible opens at once (its default forks is 5; 10 leaves room for async and
    # delegation).  MaxStartups' start below this -> finding.
    'expected_concurrency': 10,
    # LoginGraceTime below this many seconds (0 = unlimited, not flagged) -> finding.
    'login_grace_min_s': 30,
    # Interface MTU below this on the route to the controller -> finding.
    'min_mtu': 1500,
    # Idle timeout (s) of the network path (NAT, load balancer); None = not checked unless a
    # preset is chosen.  An explicit path_idle_timeout wins over path_idle_preset.
    'path_idle_timeout': None,
    'path_idle_preset': None,
    'idle_timeout_presets': IDLE_TIMEOUT_PRESETS,
    # SSH ports assumed when sshd's configuration could not be read.
    'ssh_ports_default': [22],
    # OOM kills of processes other than sshd (CRD-OOM-002) are low: memory pressure happened,
    # sshd survived.  They are medium from this many kills within the lookback, or when memory is
    # short now (MemAvailable/MemTotal below oom_mem_available_low, or PSI memory "some" avg10 at
    # or above oom_psi_some_avg10_high percent).
    # A host without sshd installed is CRD-SSHD-009 (info), unless it must serve SSH: then
    # CRD-SSHD-001 (critical).  The diagnose role sets it from diagnose_sshd_required.
    'sshd_required': False,
    'oom_other_kills_medium': 5,
    'oom_mem_available_low': 0.05,
    'oom_psi_some_avg10_high': 10.0,
    # A service's open descriptors / its soft `Max open files` limit: medium, high (CRD-SVC-005).
    'fd_fill_warn': 0.8,
    'fd_fill_high': 0.95,
    # Local ports in use / ip_local_port_range: medium, high (CRD-SVC-006).
    'ephemeral_fill_warn': 0.8,
    'ephemeral_fill_high': 0.95,
}


THRESHOLD_DOCS = {
    'conntrack_fill_warn': 'conntrack count/max at or above which CRD-CT-001 is raised (medium).',
    'conntrack_fill_crit': 'conntrack count/max at or above which CRD-CT-001 is high.',
    'startup_drops_low': 'MaxStartups/penalty drops in the log at or above which CRD-SSHD-004/005 is low.',
    'startup_drops_medium': 'Drops at or above which CRD-SSHD-004/005 is medium.',
    'startup_drops_high': 'Drops at or above which CRD-SSHD-004/005 is high.',
    'restarts_high': 'systemd NRestarts at or above which CRD-SSHD-003 is high.',
    'expected_concurrency': 'Connections Ansible opens at once; MaxStartups start below it raises CRD-SSHD-006.',
    'login_grace_min_s': 'LoginGraceTime (s) below which CRD-SSHD-008 is raised (0 = unlimited, ignored).',
    'min_mtu': 'Interface MTU below which CRD-MTU-003 is raised for the route to the controller.',
    'path_idle_timeout': 'Idle timeout (s) of the network path; null = not checked (CRD-IDLE-001).',
    'path_idle_preset': 'Name of a preset in idle_timeout_presets, used when path_idle_timeout is null.',
    'idle_timeout_presets': 'Known middlebox idle timeouts (s).',
    'ssh_ports_default': 'SSH ports assumed when the sshd configuration could not be read.',
    'sshd_required': 'true: the host must serve SSH, so sshd not installed is CRD-SSHD-001 (critical), not CRD-SSHD-009.',
    'oom_other_kills_medium': 'OOM kills of other processes from which CRD-OOM-002 is medium instead of low.',
    'oom_mem_available_low': 'MemAvailable/MemTotal below which CRD-OOM-002 is medium (memory short now).',
    'oom_psi_some_avg10_high': 'PSI memory "some" avg10 (%) from which CRD-OOM-002 is medium (memory short now).',
    'fd_fill_warn': 'Open descriptors / Max open files of a service at or above which CRD-SVC-005 is raised (medium).',
    'fd_fill_high': 'Descriptor fill at or above which CRD-SVC-005 is high.',
    'ephemeral_fill_warn': 'Local ports in use / ip_local_port_range at or above which CRD-SVC-006 is raised (medium).',
    'ephemeral_fill_high': 'Ephemeral-port fill at or above which CRD-SVC-006 is high.',
}


def merge_thresholds(overrides=None):
    """DEFAULT_THRESHOLDS updated with ``overrides``; raises ValueError on an unknown name or bad value."""
    merged = copy.deepcopy(DEFAULT_THRESHOLDS)
    for name, value in _dict(overrides).items():
        if name not in DEFAULT_THRESHOLDS:
            raise ValueError('unknown threshold %r: known thresholds are %s' % (
                name, ', '.join(sorted(DEFAULT_THRESHOLDS))))
        default = DEFAULT_THRESHOLDS[name]
        if name == 'idle_timeout_presets':
            if not isinstance(value, dict) or any(_num(v) is None for v in value.values()):
                raise ValueError('idle_timeout_presets must map preset names to seconds')
            merged[name].update(value)
            continue
        if name == 'ssh_ports_default':
            if not isinstance(value, list) or any(_num(v) is None for v in value):
                raise ValueError('ssh_ports_default must be a list of port numbers')
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError('threshold %s must be true or false, got %r' % (name, value))
        elif name == 'path_idle_preset':
            if value is not None and not isinstance(value, str):
                raise ValueError('path_idle_preset must be a preset name or null')
        elif value is None and default is None:
            pass
        elif _num(value) is None:
            raise ValueError('threshold %s must be a number, got %r' % (name, value))
        else:
            value = _num(value)
        merged[name] = value
    path_idle_timeout(merged)  # validates the preset name
    return merged


def path_idle_timeout(thresholds):
    """The idle timeout (s) to check against, and where it came from; (None, None) when unset."""
    explicit = _num(thresholds.get('path_idle_timeout'))
    if explicit:
        return explicit, 'path_idle_timeout'
    preset = thresholds.get('path_idle_preset')
    if preset:
        presets = _dict(thresholds.get('idle_timeout_presets'))
        if preset not in presets:
            raise ValueError('unknown path_idle_preset %r: choose one of %s' % (preset, ', '.join(sorted(presets))))
        return presets[preset], 'preset %s' % preset
    return None, None
