# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The risk engine: collector facts (and the probe) in, findings out.  Pure: no I/O.

The engine knows risk, nothing about how facts were read: the collectors type every value
(docs/development.md, the collector -> engine contract) and the engine reads them defensively,
without parsing another program's output again.  Every threshold lives in
:data:`DEFAULT_THRESHOLDS` (_thresholds.py); callers pass overrides only.  Any fact may be
missing or null: a check that cannot be made yields a coverage finding ("could not check X:
reason"), never silence and never an exception.

Layout (one file per concern, mirroring module_utils/):

- _values.py (value helpers), _thresholds.py (thresholds and presets), _sanitise.py (hostile
  fact values), _context.py (the evaluation context and the one finding factory);
- one file per host area, each declaring its fact key, value types, first-pass checks and
  cross-area rules: _sshd, _oom, _tcp_wrappers, _mtu, _conntrack, _tcp, _firewall, _idle,
  _endpoints; their order is declared once, in _areas.py;
- _probe.py (the controller's probe against the findings), _unreachable.py (hosts Ansible could
  not reach), _fleet.py (findings across hosts), _host.py (one host, end to end).

Entry points: :func:`evaluate_host`, :func:`diagnose_host`, :func:`missing_host_doc`,
:func:`fleet_findings`, :func:`apply_fleet_findings`, :func:`classify_unreachable`,
:func:`merge_thresholds`.
"""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._catalogue import AREAS  # noqa: F401
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._areas import (  # noqa: F401
    CHECK_AREA, CHECKS, CROSS_CHECKS, FACT_TYPES,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._fleet import (  # noqa: F401
    FLEET_EXAMPLE_HOSTS, apply_fleet_findings, fleet_findings,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._host import (  # noqa: F401
    CHECK_ERRORS, diagnose_host, evaluate_host, level, missing_host_doc, score, sort_findings,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._thresholds import (  # noqa: F401
    DEFAULT_THRESHOLDS, IDLE_TIMEOUT_PRESETS, THRESHOLD_DOCS, merge_thresholds, path_idle_timeout,
)
from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._unreachable import (  # noqa: F401
    UNREACHABLE_FINDING, UNREACHABLE_HINTS, classify_unreachable,
)
