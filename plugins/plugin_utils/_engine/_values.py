# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Value helpers of the engine: read a sanitised fact defensively (a missing or wrongly typed
value is None or empty, never a traceback)."""

from __future__ import annotations

import ipaddress
import math


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _num(value):
    """A finite number from an int/float/numeric string; None for anything else (bool is not a
    number, nor are inf and NaN)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 64:
        try:
            number = float(value) if '.' in value else int(value.strip())
        except ValueError:
            return None
        return number if not isinstance(number, float) or math.isfinite(number) else None
    return None


def _count(value):
    """Count of a log-derived event kind ({count, last, samples}) or a plain number; None = unknown."""
    if isinstance(value, dict):
        return _num(value.get('count'))
    if isinstance(value, list):
        return len(value)
    return _num(value)


def _samples(value):
    return _list(_dict(value).get('samples'))[-5:]


def _ip(text):
    try:
        return ipaddress.ip_address(str(text).strip().strip('[]'))
    except ValueError:
        return None


def _status(part):
    """Status of a fact or sub-part: ok/partial/unknown, or None when it carries none."""
    status = _dict(part).get('status')
    return status if status in ('ok', 'partial', 'unknown') else None


def _reason_of(part, fallback):
    return _dict(part).get('reason') or fallback
