# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile fact values: facts come from the managed host.  Before any check runs, the facts are
copied through :func:`sanitise_facts`: a value of the wrong type, inf or NaN, a huge list or a
deep nesting becomes None (unknown) or is cut, and each one is noted (a coverage gap naming the
fact and the value: "unknown is not healthy").  The expected type of each fact value is
declared by its area (``FACT_TYPES`` of each area file, gathered by :mod:`._areas`)."""

from __future__ import annotations

import math

from ansible_collections.connreset.doctor.plugins.plugin_utils._engine._values import _dict, _num


# Facts come from the managed host: a value of the wrong type, inf or NaN, a huge list or a deep
# nesting must never lose the host or stop the other checks.  Before any check runs, the facts
# are copied through :func:`sanitise_facts`: every such value becomes None (unknown) or is cut,
# and each one is a coverage gap naming the fact and the value ("unknown is not healthy").
MAX_FACT_LIST = 1000       # items kept of one list (the last ones: the newest kills and samples)


MAX_FACT_STRING = 65536    # characters kept of one string


MAX_FACT_DEPTH = 24        # nesting levels kept


MAX_FACT_NODES = 200000    # values visited in the facts of one host


MAX_FACT_PROBLEMS = 20     # bad values named per area (the rest are counted)


_NUMBER_LIMIT = 2 ** 64    # kernel counters are u64: anything larger is not a measurement


_N, _S, _B, _L = 'number', 'string', 'bool', 'list'


_EVENT = ({'count': _N, 'samples': _L}, _N, _L)


def _kind_matches(value, kind):
    if isinstance(kind, dict):
        return isinstance(value, dict)
    if isinstance(kind, list):
        return isinstance(value, list)
    if kind == _N:
        return _num(value) is not None
    if kind == _S:
        return isinstance(value, str)
    if kind == _B:
        return isinstance(value, bool)
    return isinstance(value, list)  # _L


def _kind_name(kind):
    if isinstance(kind, tuple):
        return ' or '.join(_kind_name(k) for k in kind)
    if isinstance(kind, dict):
        return 'an object'
    if isinstance(kind, list) or kind == _L:
        return 'a list'
    return {'number': 'a number', 'string': 'a string', 'bool': 'true/false'}[kind]


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


def _type_name(value):
    return {dict: 'an object', list: 'a list', str: 'a string', bool: 'a boolean'}.get(
        type(value), 'a %s' % type(value).__name__)


def _path_text(path):
    """'a.b[3].c' from the linked path (parent, key) the sanitiser passes down."""
    parts = []
    while path is not None:
        path, key = path
        parts.append('[%d]' % key if isinstance(key, int) else '.%s' % key[:100])
    return ''.join(reversed(parts)).lstrip('.')


class _Sanitiser:
    """Copies facts to plain, finite, bounded JSON values; notes every value it had to change."""

    def __init__(self):
        self.nodes = 0
        self.problems = {}  # top-level key -> [(path, reason)]
        self.cut = False

    def note(self, path, reason):
        text = _path_text(path)
        key = text.split('.', 1)[0].split('[', 1)[0]
        self.problems.setdefault(key, []).append((text, reason))

    def clean(self, value, path, spec, depth):
        self.nodes += 1
        if self.nodes > MAX_FACT_NODES:
            if not self.cut:
                self.cut = True
                self.note(path, 'more than %d values in the facts: the rest was not read' % MAX_FACT_NODES)
            return None
        kind = type(value)
        if spec is None:
            # fast paths: most values are short strings, small ints, null
            if kind is str and len(value) <= MAX_FACT_STRING:
                return value
            if value is None or kind is bool or (kind is int and -_NUMBER_LIMIT < value < _NUMBER_LIMIT):
                return value
        if kind is float and not math.isfinite(value):
            self.note(path, 'not a finite number: %s (ignored: unknown)' % value)
            return None
        if kind is int and abs(value) >= _NUMBER_LIMIT:
            self.note(path, 'number out of range: %s (ignored: unknown)' % _shown(value))
            return None
        kinds = spec if isinstance(spec, tuple) else ((spec,) if spec is not None else ())
        if value is not None and kinds and not any(_kind_matches(value, k) for k in kinds):
            self.note(path, 'expected %s, got %s %s (ignored: unknown)' % (
                _kind_name(spec), _type_name(value), _shown(value)))
            return None
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            if len(value) > MAX_FACT_STRING:
                self.note(path, 'a string of %d characters: cut to %d' % (len(value), MAX_FACT_STRING))
                return value[:MAX_FACT_STRING]
            return value
        if isinstance(value, (dict, list, tuple)) and depth >= MAX_FACT_DEPTH:
            self.note(path, 'nested deeper than %d levels: cut' % MAX_FACT_DEPTH)
            return None
        if isinstance(value, dict):
            children = next((k for k in kinds if isinstance(k, dict)), {})
            clean = self.clean
            return dict((str(key), clean(item, (path, str(key)), children.get(key), depth + 1))
                        for key, item in value.items())
        if isinstance(value, (list, tuple)):
            items = list(value)
            offset = 0
            if len(items) > MAX_FACT_LIST:
                self.note(path, '%d items: only the last %d were checked' % (len(items), MAX_FACT_LIST))
                offset = len(items) - MAX_FACT_LIST
                items = items[offset:]
            item_spec = next((k[0] for k in kinds if isinstance(k, list) and k), None)
            clean = self.clean
            return [clean(item, (path, offset + index), item_spec, depth + 1) for index, item in enumerate(items)]
        self.note(path, 'not a JSON value: %s %s' % (_type_name(value), _shown(value)))
        return str(value)[:200]


def sanitise_facts(facts, types):
    """``(clean facts, {area key: [(path, reason)]})``: see :class:`_Sanitiser`.  ``types``: {fact key:
    the value types its checks read} (``_areas.FACT_TYPES``).  The clean facts are what the checks
    read and what the host document keeps."""
    sanitiser = _Sanitiser()
    clean = {}
    for key, value in _dict(facts).items():
        spec = types.get(key) if isinstance(value, dict) else None
        clean[str(key)] = sanitiser.clean(value, (None, str(key)), spec, 0)
    return clean, sanitiser.problems


def sanitise_value(value):
    """A plain, finite, bounded JSON copy of any value (the probe, a message), without notes."""
    return _Sanitiser().clean(value, (None, 'value'), None, 0)
