# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host areas in their one declared order, and what each declares: its fact key (``AREA``,
whose coverage finding reports a check of it that failed), the types of the fact values it reads
(``FACT_TYPES``), its first-pass checks (``CHECKS``: facts in, findings out, no other area's
findings read) and its cross-area rules (``CROSS_CHECKS``: run in a second pass, after every
area's first pass, so they may read other areas' findings).

Adding an area: a new file beside these with AREA, FACT_TYPES, CHECKS and CROSS_CHECKS, its line
in :data:`AREA_MODULES`, its findings in the catalogue (plugin_utils/_catalogue.py) and its tests
(tests/unit/plugins/plugin_utils/_engine/).  The probe, unreachable and fleet files are not host
areas: the host evaluation (_host.py) calls them around these checks.
"""

from __future__ import annotations

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine import (
    _conntrack, _endpoints, _firewall, _idle, _mtu, _oom, _path, _sshd, _tcp, _tcp_wrappers,
)

AREA_MODULES = (_sshd, _oom, _tcp_wrappers, _mtu, _conntrack, _tcp, _firewall, _idle, _endpoints, _path)

CHECKS = tuple(check for module in AREA_MODULES for check in module.CHECKS)
CROSS_CHECKS = tuple(check for module in AREA_MODULES for check in module.CROSS_CHECKS)
# The area whose coverage finding reports a check that failed (a collector's fact key, or an input
# of the host document that is no collector's: _path's ``capture``, _catalogue.INPUT_AREAS).
CHECK_AREA = dict((check, module.AREA) for module in AREA_MODULES
                  for check in module.CHECKS + module.CROSS_CHECKS)
# {fact key: the types of the values its checks read} (see _sanitise).
FACT_TYPES = dict((module.AREA, module.FACT_TYPES) for module in AREA_MODULES if module.FACT_TYPES)
