# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property-based fuzz test of every public parser in plugins/module_utils/ (issue 16).

Each parser gets hostile input built from the real samples the unit tests already hold (every
string constant of ``test_<module>.py`` and every file under ``samples/``), mutated the way a
broken host or an attacker would: spliced with other samples, truncated, numbers replaced by
huge ones / ``00`` / ``13`` / superscript digits, NUL bytes and control characters (including
the ones ``str.splitlines`` breaks on but a file reader does not), lines of 8,000+ characters,
fragments repeated thousands of times (what makes a backtracking regex quadratic), a line
repeated thousands of times, and, for the JSON readers, real documents with nodes replaced by
values of the wrong type.

The properties, for every call:

* it returns its documented type and never raises (only the documented exceptions: OptionError
  from ``parse_since``, ValueError from the two JSON readers whose callers catch it);
* it returns within :data:`TIME_BOUND_S` (measured per call with ``time.perf_counter``; the
  hypothesis deadline is off so that only the parser is timed, not input generation);
* what it returns is a valid fact: no NaN or infinity anywhere, and its size is linear in the
  input (:func:`_measure`).

The seed is fixed (``derandomize=True``) and the number of examples bounded (:data:`EXAMPLES`
per parser, ``CONNRESET_FUZZ_EXAMPLES`` to hunt deeper locally), so ``make units`` runs the same
inputs every time, in a few seconds.  Failures in files this test's author does not own are
listed in /work/notes/fuzz-findings.md for their owners.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import errno
import glob
import inspect
import ipaddress
import json
import math
import os
import re
import shutil
import struct
import tempfile
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.connreset.doctor.plugins.module_utils import (
    _capture, _common, _conntrack, _firewall, _logs, _mtu, _oom, _probe, _sshd, _tcp, _tcp_wrappers,
)
from ansible_collections.connreset.doctor.plugins.module_utils import _endpoint_stack, _endpoints, _service, _svcconf, _uwsgi
from ansible_collections.connreset.doctor.plugins.module_utils import _hosts_access, _tcp_probe
from ansible_collections.connreset.doctor.plugins.module_utils._common import OptionError

HERE = os.path.dirname(os.path.abspath(__file__))
# One parser call on one input, on the 2-core CI machine.  The inputs are at most MAX_INPUT
# characters; a linear parser takes milliseconds on them, a quadratic one seconds.
TIME_BOUND_S = float(os.environ.get('CONNRESET_FUZZ_BOUND', '0.5'))
MAX_INPUT = 120000
EXAMPLES = int(os.environ.get('CONNRESET_FUZZ_EXAMPLES', '30'))
NOW = 1767225600.0          # 2026-01-01T00:00:00Z: fixed, so syslog's missing year is the same every run

# Hypothesis warns when it prints a failing input of 100+ kB: those inputs are the point here.
pytestmark = pytest.mark.filterwarnings('ignore:Generating overly large repr')

FUZZ = settings(
    derandomize=True,        # the fixed seed: the same inputs on every run and machine
    database=None,           # nothing written into the checkout
    max_examples=EXAMPLES,
    deadline=None,           # timing is ours, per parser call (generation is not timed)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.filter_too_much],
)


# -- the seed corpus: real samples from the unit tests ---------------------------------------
def _constants(test_file):
    """Every string and bytes constant of a unit test file (the parametrize tables of real output)."""
    path = os.path.join(HERE, test_file)
    if not os.path.exists(path):
        return [], []
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    texts, blobs = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 4:
            texts.append(node.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, bytes) and len(node.value) >= 4:
            blobs.append(node.value)
    return texts, blobs


def _sample_files(sub):
    texts = []
    for path in sorted(glob.glob(os.path.join(HERE, 'samples', sub, '*'))):
        if path.endswith('.md') or not os.path.isfile(path):
            continue
        with open(path, 'rb') as handle:
            texts.append(handle.read().decode('utf-8', 'replace'))
    return texts


class Corpus(object):
    """Documents (whole outputs) and their lines, deduplicated, in a stable order."""

    def __init__(self, test_files, sample_dirs=()):
        docs, blobs = [], []
        for test_file in test_files:
            texts, raw = _constants(test_file)
            docs.extend(texts)
            blobs.extend(raw)
        for sub in sample_dirs:
            docs.extend(_sample_files(sub))
        self.docs = sorted(set(docs)) or ['']
        lines = set()
        for doc in self.docs:
            lines.update(line for line in doc.split('\n') if line.strip())
        self.lines = sorted(lines) or ['']
        self.blobs = sorted(set(blobs)) or [b'']
        self.json = []
        for doc in self.docs:
            if doc.lstrip()[:1] in ('[', '{'):
                try:
                    self.json.append(json.loads(doc))
                except ValueError:
                    pass
        self.json = self.json or [[], {}]


CORPUS = {
    'sshd': Corpus(['test_sshd.py', 'test_log_keywords.py'], ['sshd']),
    'oom': Corpus(['test_oom.py'], ['oom']),
    'tcp_wrappers': Corpus(['test_tcp_wrappers.py']),
    'mtu': Corpus(['test_mtu.py']),
    'conntrack': Corpus(['test_conntrack.py']),
    'tcp': Corpus(['test_tcp.py']),
    'firewall': Corpus(['test_firewall.py'], ['firewall']),
    'probe': Corpus(['test_probe.py']),
    'tcp_probe': Corpus(['test_tcp_probe.py']),
    'logs': Corpus(['test_logs.py', 'test_log_keywords.py'], ['sshd', 'oom']),
    'common': Corpus(['test_common.py', 'test_collectors.py']),
    'capture': Corpus(['test_capture.py']),
    'endpoints': Corpus(['test_endpoints.py', 'test_svcconf.py'], ['endpoints']),
}
ALL_LINES = sorted(set(line for corpus in CORPUS.values() for line in corpus.lines))


class Seeds(Corpus):
    """A corpus given as a list (option values, which no test file holds as whole documents)."""

    def __init__(self, values):   # pylint: disable=super-init-not-called
        self.docs = self.lines = sorted(set(values))
        self.blobs, self.json = [b''], [[]]


# since values as users write them (docs/facts.md, the modules' EXAMPLES) and as the issue broke them.
SINCE = Seeds(['7d', '24h', '90m', '3600s', '2w', '1 day', '2024-05-01', '2024-05-01T12:00:00Z', '2024-05-01 12:00',
               '2024-05-01T12:00:00+02:00', '2024-02-30', '2024-13-45', '99999999999d', '@1714557600', '@0', '0s',
               '2099-01-01', '1969-12-31'])


# -- hostile mutations -------------------------------------------------------------------------
NUMBERS = ['0', '00', '000', '13', '32', '60', '99', '-1', '+1', '1.5', '0x1f', '4294967296',
           '18446744073709551616', '9' * 40, '9' * 5000, '1' + '0' * 400, '1e999', 'inf', '-inf', 'nan',
           'NaN', 'Infinity', '\u00b2', '\u0663\u0663', '\uff11', '']
CONTROLS = ['\x00', '\x00' * 64, '\x01', '\x07', '\x08', '\x1b[31m', '\r', '\t', '\x0b', '\x0c', '\x1c', '\x1e',
            '\x7f', '\x85', '\u2028', '\u2029', '\ufeff', '\ufffd', '\u200b', '\xa0', '\u202e', '\\', '\\\n']
FRAGMENTS = [' ', '\t', 'a', 'a ', 'aa', ':', '::', ': ', '[', ']', '[1', '(', ')', '((', '%', '%s', '\\', '"', "'",
             '=', 'a=', ',', ',,', '.', '0', '0.', '1.', '1:', '/', '//', '@', '#', '*', '!', '-', '- ', '{', '}',
             '<6>', '[ 1.0]', 'EXCEPT ', 'ALL ', 'sshd[1]: ', 'kernel: ', 'Jan  1 ', 'x ', '\\ ', '0:0 ']
TOKENS = ['', '-', '=', '"', "'", ':', 'ALL', 'EXCEPT', 'LOCAL', 'KNOWN', 'PARANOID', '/etc/hosts.allow', '@group',
          '[::1]', '::ffff:192.0.2.1', '300.1.1.1', '192.0.2.1/33', '10.0.0.0/255.0.0.0', 'fe80::1%eth0', 'ü',
          '\u00b2', 'spawn', 'twist', 'allow', 'deny', '-A', '-j', '!', '--dport', 'REJECT', 'tcp-reset',
          'sshd', 'sshd-session', 'kernel', 'systemd', 'oom-kill:', 'Killed', 'process', 'pid=', 'task=',
          'status=9/KILL', 'MaxStartups', 'penalty:', 'listener', 'refused', 'connect', 'from', 'mtu', 'lock']


def _positions(draw, text, name='pos'):
    return draw(st.integers(0, len(text)), label=name)


def _m_splice(draw, text):
    other = draw(st.sampled_from(ALL_LINES))
    i = draw(st.integers(0, len(other)))
    j = draw(st.integers(i, len(other)))
    pos = _positions(draw, text)
    return text[:pos] + other[i:j] + text[pos:]


def _m_truncate(draw, text):
    pos = _positions(draw, text)
    return text[:pos] if draw(st.booleans()) else text[pos:]


def _m_numbers(draw, text):
    runs = [m.span() for m in re.finditer(r'\d+', text)]
    if not runs:
        return text + draw(st.sampled_from(NUMBERS))
    value = draw(st.sampled_from(NUMBERS))
    if draw(st.booleans()):
        start, end = runs[draw(st.integers(0, len(runs) - 1))]
        return text[:start] + value + text[end:]
    return re.sub(r'\d+', lambda _m: value, text)


def _m_controls(draw, text):
    for _step in range(draw(st.integers(1, 4))):
        pos = _positions(draw, text)
        text = text[:pos] + draw(st.sampled_from(CONTROLS)) + text[pos:]
    return text


def _m_long_line(draw, text):
    lines = text.split('\n')
    index = draw(st.integers(0, len(lines) - 1))
    seed = lines[index] or draw(st.sampled_from(ALL_LINES)) or 'x'
    target = draw(st.integers(8000, 12000))
    lines[index] = (seed * (target // len(seed) + 1))[:target]
    return '\n'.join(lines)


def _m_repeat(draw, text):
    if text and draw(st.booleans()):
        i = draw(st.integers(0, len(text) - 1))
        fragment = text[i:i + draw(st.integers(1, 12))]
    else:
        fragment = draw(st.sampled_from(FRAGMENTS))
    count = draw(st.integers(500, max(500, min(6000, 40000 // len(fragment)))))
    pos = _positions(draw, text)
    return text[:pos] + fragment * count + text[pos:]


def _m_many_lines(draw, text):
    lines = text.split('\n')
    line = lines[draw(st.integers(0, len(lines) - 1))] or draw(st.sampled_from(ALL_LINES))
    count = draw(st.integers(100, max(100, min(1500, MAX_INPUT // (len(line) + 1)))))
    return '\n'.join(lines + [line] * count)


def _m_token(draw, text):
    words = re.split(r'(\s+)', text)
    if len(words) < 2:
        return text + ' ' + draw(st.sampled_from(TOKENS))
    index = draw(st.integers(0, len(words) - 1))
    words[index] = draw(st.sampled_from(TOKENS))
    return ''.join(words)


def _m_drop_line(draw, text):
    lines = text.split('\n')
    if len(lines) > 1:
        del lines[draw(st.integers(0, len(lines) - 1))]
    return '\n'.join(lines)


def _m_line_ends(draw, text):
    return text.replace('\n', draw(st.sampled_from(['\r\n', '\r', '\n\n', '\x85', '\u2028', '\\\n', ''])))


def _m_random(draw, text):
    pos = _positions(draw, text)
    return text[:pos] + draw(st.text(max_size=30)) + text[pos:]


MUTATIONS = [_m_splice, _m_truncate, _m_numbers, _m_controls, _m_long_line, _m_repeat, _m_many_lines, _m_token,
             _m_drop_line, _m_line_ends, _m_random]


@st.composite
def hostile_text(draw, corpus, line=False, surrogates=False):
    """A real sample (a whole output, or one line) with 1 to 4 hostile mutations."""
    text = draw(st.sampled_from(corpus.lines if line else corpus.docs))
    for _step in range(draw(st.integers(1, 4))):
        mutate = draw(st.sampled_from(MUTATIONS))
        text = mutate(draw, text)[:MAX_INPUT]
    if line:
        text = text.replace('\n', ' ')
    return text


def texts(name):
    return hostile_text(CORPUS[name])


def lines(name):
    return hostile_text(CORPUS[name], line=True)


# JSON documents: real ones with nodes replaced by values of the wrong type, or mangled as text.
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.sampled_from([0, -1, 1, 65536, 2 ** 31, 2 ** 64, 10 ** 30, -10 ** 30]),
    st.sampled_from([0.5, -0.0, 1e308, 1e-308]), st.sampled_from(['', 'x', 'ssh', 'tcp', 'dport', 'lo', '@set',
                                                                  '192.0.2.1', 'tcp reset', '\x00', 'a' * 9000]),
)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
        ['elem', 'set', 'prefix', 'range', 'val', 'addr', 'len', 'match', 'left', 'right', 'payload', 'protocol',
         'field', 'meta', 'key', 'ct', 'reject', 'type', 'jump', 'goto', 'target', 'expr', 'rule', 'nftables',
         'ifname', 'mtu', 'addr_info', 'local', 'family', 'prefixlen', 'metrics', 'linkinfo', 'info_kind',
         'decisions', 'value', 'MESSAGE', '_PID', '__REALTIME_TIMESTAMP']), inner, max_size=4)), max_leaves=12)


def _paths(node, path=(), out=None, limit=400):
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    out.append(path)
    if isinstance(node, dict):
        for key in list(node)[:50]:
            _paths(node[key], path + (key,), out, limit)
    elif isinstance(node, list):
        for index, item in enumerate(node[:50]):
            _paths(item, path + (index,), out, limit)
    return out


def _replace(node, path, value):
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


@st.composite
def hostile_json(draw, corpus):
    if draw(st.integers(0, 3)) == 0:        # mangled as text (mostly invalid JSON, or NaN / 1e999 / huge ints)
        return draw(hostile_text(corpus))
    doc = json.loads(json.dumps(draw(st.sampled_from(corpus.json))))
    for _step in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        doc = _replace(doc, path, draw(JSON_VALUES))
    text = json.dumps(doc)
    if draw(st.booleans()):
        text = text.replace('1e+308', '1e999').replace('65536', 'NaN')
    return text


@st.composite
def hostile_elf(draw):
    """ELF headers with hostile offsets, counts and sizes (program headers, dynamic entries, strtab)."""
    wide = draw(st.booleans())
    order = draw(st.sampled_from(['<', '>']))
    big = st.sampled_from([0, 1, 7, 64, 52, 56, 120, 0xffff, 0xffffffff, 2 ** 63, 2 ** 64 - 1])
    phoff, phentsize, phnum = draw(big), draw(st.sampled_from([0, 1, 32, 56, 0xffff])), draw(big)
    ident = b'\x7fELF' + bytes([2 if wide else 1, 1 if order == '<' else 2, 1]) + b'\0' * 9
    if wide:
        head = struct.pack(order + 'HHIQQQIHHHHHH', 3, 62, 1, 0, phoff % 2 ** 64, 0, 0, 64, phentsize, phnum % 0x10000,
                           0, 0, 0)
    else:
        head = struct.pack(order + 'HHIIIIIHHHHHH', 3, 3, 1, 0, phoff % 2 ** 32, 0, 0, 52, phentsize, phnum % 0x10000,
                           0, 0, 0)
    body = b''
    for _step in range(draw(st.integers(0, 4))):
        p_type = draw(st.sampled_from([1, 2, 6, 0x6474e551]))
        values = [draw(big) for _i in range(6)]
        if wide:
            body += struct.pack(order + 'IIQQQQQQ', p_type, 0, *[(v % 2 ** 64) for v in values])
        else:
            body += struct.pack(order + 'IIIIIIII', p_type, *[(v % 2 ** 32) for v in values], 0)
    for _step in range(draw(st.integers(0, 8))):
        tag, value = draw(st.sampled_from([0, 1, 5, 10])), draw(big)
        body += struct.pack(order + ('qQ' if wide else 'iI'), tag, value % (2 ** 64 if wide else 2 ** 32))
    body += draw(st.binary(max_size=64)) + b'libwrap.so.0\0' * draw(st.integers(0, 3))
    data = ident + head + body
    cut = draw(st.integers(0, len(data)))
    return data[:cut] if draw(st.booleans()) else data


def hostile_bytes(name):
    corpus = CORPUS[name]
    return st.one_of(
        hostile_text(corpus).map(lambda t: t.encode('utf-8', 'surrogatepass')),
        st.sampled_from(corpus.blobs).flatmap(lambda b: st.binary(max_size=64).map(lambda x: b[:len(b) // 2] + x)),
        st.binary(max_size=300),
        # one 70,000-byte NUL run (one line), and many empty lines (bounded: a log scan costs ~20 us a line)
        st.sampled_from([b'\0' * 70000, b'\n' * 5000, b'\xff' * 9000 + b'\n', b'\r\n' * 2500]),
    )


# -- log entries (LogLine) for the event counters, without going through split_line --------
IDENTS = ['sshd', 'sshd-session', 'sshd-auth', 'systemd', 'kernel', 'systemd-oomd', 'sudo', None, 'x']


@st.composite
def log_entries(draw, name):
    """LogLine entries in log order whose message is hostile text, as LogScan would yield them.

    The idents, times, pids and sources cycle through a few drawn values (a draw per line would
    make generation, not the parsers, the cost of the test).
    """
    entries = []
    base = NOW - draw(st.integers(0, 10 * 86400))
    messages = draw(hostile_text(CORPUS[name])).split('\n')[:3000]
    idents = draw(st.lists(st.sampled_from(IDENTS), min_size=1, max_size=6))
    steps = draw(st.lists(st.sampled_from([None, 0, 0.001, 1, 3600]), min_size=1, max_size=4))
    pids = draw(st.lists(st.sampled_from([None, 1, 812, 2 ** 31 - 1]), min_size=1, max_size=3))
    sources = draw(st.lists(st.sampled_from(['journal', '/var/log/auth.log', 'dmesg']), min_size=1, max_size=3))
    for lineno, message in enumerate(messages, 1):
        step = steps[lineno % len(steps)]
        message = message[:_common.MAX_LINE_BYTES]
        entries.append(_logs.LogLine(None if step is None else base + lineno * step, 'host', idents[lineno % len(idents)],
                                     pids[lineno % len(pids)], message, source=sources[lineno % len(sources)],
                                     lineno=lineno, raw=message))
    return entries


# -- checks of the result ----------------------------------------------------------------------
class NotFinite(AssertionError):
    pass


def _measure(value, depth=0, finite=True):
    """Size of a result in characters (strings, numbers, containers); raises on NaN / infinity
    (unless ``finite`` is false: an input's size)."""
    if depth > 60:
        raise AssertionError('result nested more than 60 levels deep')
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, float):
        if finite and not math.isfinite(value):
            raise NotFinite('a non-finite number (%r) in the result: not valid JSON in a fact' % value)
        return 8
    if isinstance(value, int):
        return 8
    if isinstance(value, (str, bytes)):
        return len(value) + 1
    if isinstance(value, dict):
        return 2 + sum(_measure(k, depth + 1, finite) + _measure(v, depth + 1, finite) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 2 + sum(_measure(v, depth + 1, finite) for v in value)
    slots = getattr(type(value), '__slots__', None)
    if slots:
        return 2 + sum(_measure(getattr(value, s, None), depth + 1, finite) for s in slots)
    return 8   # sentinels (_Unknown, _NotResolved ...)


def _size(args):
    """Size of the input: like :func:`_measure`, but an input may hold NaN or infinity (it is the
    result that must not)."""
    return sum(_measure(a, finite=False) for a in args if not callable(a))


def run(fn, *args):
    """Call a parser once and time it: (result, seconds).  Exceptions propagate: they are failures."""
    started = time.perf_counter()
    out = fn(*args)
    if hasattr(out, '__next__'):        # a generator: its work happens while iterating
        out = list(out)
    return out, time.perf_counter() - started


def check(fn, args, expect, allowed=()):
    try:
        out, seconds = run(fn, *args)
    except allowed as exc:                  # a documented exception, with a message
        assert str(exc), '%s raised %s without a message' % (fn.__name__, type(exc).__name__)
        return None
    if seconds >= TIME_BOUND_S:
        # Over the bound once: the parser's own cost is the fastest of three runs (other tests
        # may share the two cores); a quadratic parser is slow every time.
        seconds = min([seconds] + [run(fn, *args)[1] for _again in range(2)])
    if seconds >= TIME_BOUND_S:
        # Still over: a parser that is slow by itself also burns that much CPU; a machine too busy
        # to give this process the core (load 10 on 2 cores) does not make a parser fail.
        cpu = time.process_time()
        run(fn, *args)
        cpu = time.process_time() - cpu
        assert cpu < TIME_BOUND_S, '%s took %.2f s (%.2f s of CPU) on an input of %d characters (bound %.1f s)' % (
            fn.__name__, seconds, cpu, _size(args), TIME_BOUND_S)
    assert expect(out), '%s returned %r, not its documented type' % (fn.__name__, type(out))
    size = _measure(out)
    limit = 64 * _size(args) + 100000
    assert size <= limit, '%s returned %d characters for %d of input: not linear' % (fn.__name__, size, _size(args))
    return out


def opt(*types):
    return lambda out: out is None or isinstance(out, types)


def kind(*types):
    return lambda out: isinstance(out, types)


def tuple_of(size, *first):
    return lambda out: isinstance(out, tuple) and len(out) == size and (not first or isinstance(out[0], first))


def dict_or_none_of_dicts(out):
    return out is None or (isinstance(out, dict) and all(isinstance(v, dict) for v in out.values()))


def address_or_none(out):
    """An IP address (what the callers use it as), or None."""
    if out is None:
        return True
    try:
        ipaddress.ip_address(out)
    except ValueError:
        return False
    return True


def list_of_dicts(out):
    return isinstance(out, list) and all(isinstance(v, dict) for v in out)


# -- the targets: (module, call, strategy of the argument tuple, expected result, allowed) ----
class Target(object):
    def __init__(self, module, name, call, args, expect, allowed=()):
        self.id = '%s.%s' % (module, name)
        self.call = call
        self.args = args
        self.expect = expect
        self.allowed = allowed


def one(strategy):
    return st.tuples(strategy)


def _scan_file(data):
    """LogScan.file over a file holding ``data``: the whole read path (line cap, NUL, skips)."""
    path = os.path.join(_tmpdir(), 'fuzz.log')
    with open(path, 'wb') as handle:
        handle.write(data)
    scan = _logs.LogScan(_common.System(), since=NOW - 30 * 86400, now=NOW, until=NOW, keep_outside=True)
    entries = list(scan.file(path))
    assert all(len(e.message or '') <= _common.MAX_LINE_BYTES for e in entries)
    assert all('\x00' not in (e.raw or e.message or '') for e in entries), 'a line with a NUL byte was yielded'
    skipped = scan.skipped()
    assert isinstance(skipped['count'], int) and len(skipped['samples']) <= _logs.SKIPPED_SAMPLES
    return entries


def _log_file(data):
    path = os.path.join(_tmpdir(), 'fuzz-collector.log')
    with open(path, 'wb') as handle:
        handle.write(data)
    return path


def _sshd_log_events(data):
    """The sshd collector's whole log path over a hostile log file (log_files): window, scan, counting."""
    system, path = _common.System(), _log_file(data)
    window = _logs.resolve_window(system, None, [path], now=NOW)
    return window.as_fact(), _sshd.collect_events(system, window, [path])


def _oom_log_kills(data):
    """The OOM collector's kernel-log path over a hostile log file."""
    system, path = _common.System(), _log_file(data)
    window = _logs.resolve_window(system, None, [path], now=NOW)
    scan = _logs.LogScan(system, since=window.since, until=window.until, keep_outside=True)
    kills, units = _oom.parse_entries(_oom.scan_kernel_logs(system, scan, [path]))
    return _oom.summarize_kills(kills, units), _oom.log_part(scan), scan.skipped()


def _conntrack_log_events(data):
    system, path = _common.System(), _log_file(data)
    window = _logs.resolve_window(system, None, [path], now=NOW)
    return _conntrack.table_full_events(system, window, [path])


def _system_lines(data):
    path = os.path.join(_tmpdir(), 'fuzz.lines')
    with open(path, 'wb') as handle:
        handle.write(data)
    out = list(_common.System().lines(path))
    assert all(len(line.encode('utf-8', 'surrogatepass')) <= 3 * _common.MAX_LINE_BYTES for line in out)
    return out


_TMP = []


def _tmpdir():
    if not _TMP:
        _TMP.append(tempfile.mkdtemp(prefix='connreset-fuzz-'))
    return _TMP[0]


@pytest.fixture(scope='module', autouse=True)
def _cleanup_tmp():
    yield
    while _TMP:
        shutil.rmtree(_TMP.pop(), ignore_errors=True)


def _controller(value):
    system = _common.System(environ={'SSH_CONNECTION': value})
    address, reason = _common.controller_seen(system)
    assert address == _common.controller_address(system) and (address is None) is (reason is not None)
    return address


def _permission_hint(path, number):
    return _common.permission_hint(path, OSError(number, os.strerror(number), path))


def _describe(rc, out, err):
    return _common.CommandResult(['/usr/bin/tool'], rc, out, err).describe()


def _mtu_probe(outputs, upper, family, max_probes):
    """probe_path_mtu driven by ping outputs that the fuzzer wrote: bounded in pings."""
    answers = iter(outputs * 40)

    def ping(size):
        rc, out = next(answers)
        return _mtu.classify_ping(rc, out, out)

    res = _mtu.probe_path_mtu(ping, upper, family, max_probes)
    assert res['probes'] <= max_probes + 2, 'probe_path_mtu sent %d pings with max_probes %d' % (res['probes'], max_probes)
    return res


def _firewall_pipeline(text, clients):
    rules = _firewall.parse_iptables_save(text, 'iptables-nft', 'ip')
    kept = [r for r in (_firewall.classify(r, [22, 2222]) for r in rules) if r is not None]
    none = {'jails': [], 'blocked': [], 'decisions': []}
    blocked = _firewall.find_blocks(clients, [r for r in kept if r['sources']], none, none, none)
    return [_firewall._public(r) for r in kept], blocked


def _nft_pipeline(text):
    rules, sets = _firewall.parse_nft_json(text, {'ssh': 22, 'http': 80})
    kept = [r for r in (_firewall.classify(r, [22]) for r in rules) if r is not None]
    return kept, sorted(sets, key=str)


def _port_ranges(specs, negated):
    ranges = _firewall.port_ranges(specs, negated, {'ssh': 22})
    if ranges is not None:
        for low, high in ranges:
            assert isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= 65535, ranges
        assert ranges == sorted(ranges) and len(ranges) <= len(specs) + 1, ranges
        assert _firewall.ports_hit(ranges, [22]) in (True, False)
    return ranges


def _jail(text):
    return _firewall.parse_fail2ban_status(text), _firewall.parse_fail2ban_jail(text)


def _wrappers_pipeline(allow, deny, client, hostname, pattern_text):
    rules_allow, errors_allow = _tcp_wrappers.parse(allow, '/etc/hosts.allow')
    rules_deny, errors_deny = _tcp_wrappers.parse(deny, '/etc/hosts.deny')
    files = {}
    for path in _tcp_wrappers.pattern_files(rules_allow + rules_deny)[:20]:
        files[path] = pattern_text
    stops = {'allow': _tcp_wrappers.table_stop(errors_allow), 'deny': _tcp_wrappers.table_stop(errors_deny)}
    verdict = _tcp_wrappers.evaluate(rules_allow, rules_deny, 'sshd', client, hostname=hostname, files=files,
                                     stops=stops, server_port=22)
    assert verdict['access'] in ('granted', 'denied', 'unknown'), verdict['access']
    return verdict


def _sshd_config(text, full):
    raw = _sshd.parse_sshd_T(text)
    kept = _sshd.raw_config(raw, full)
    for key, value in raw.items():
        _sshd.redact_config_value(key, value)
    values = _sshd.typed_config(raw)
    unparsed = _sshd.unparsed_values(raw, values)
    assert set(values) == set(_sshd.typed_config({})), 'typed_config keys vary'
    assert all(values[key] is None or key == 'port' for key in unparsed), unparsed
    return raw, values, kept, unparsed


def _sshd_service(text, unit):
    props = _sshd.parse_systemctl_show(text)
    return _sshd.pick_unit([(unit, props)]), _sshd.service_from_show(props, unit)


def _sshd_events(entries):
    counter = _sshd.EventCounter()
    for entry in entries:
        counter.feed(entry)
    return counter.result(), _sshd.count_events(entries)


def _oom_kills(entries, watch):
    writers = [_oom.writer_of(entry) for entry in entries]
    kills, units = _oom.parse_entries(entries)
    root = _oom.cgroup_root('/init.scope')
    mine, elsewhere = _oom.split_by_cgroup(kills, '/lxc/host')
    summary = _oom.summarize_kills(mine, units, untracked=3)
    assert len(summary['kills']) <= _oom.MAX_KILLS, 'summarize_kills kept %d kills' % len(summary['kills'])
    return (writers, kills, units, _oom.watched_killed(watch, kills, units), root, summary,
            _oom.elsewhere_part(elsewhere, '/lxc/host'), _oom.top_counts(k.get('process') for k in kills))


def _oom_cgroup(text):
    path = _oom.parse_proc_cgroup(text)
    root = _oom.cgroup_root(path) if path is not None else None
    return (path, root, _oom.in_cgroup_tree(path or '/', root or '/'), _oom.unit_of_cgroup(path or text),
            _oom.kernel_paths_visible(text[:16], text), _oom.parse_oom_kill_counter(text))


def _table_full(entries):
    events = _conntrack.TableFullEvents()
    for entry in entries:
        events.add(entry)
    return events.result(), [_conntrack.is_table_full(entry) for entry in entries]


def _series_bounded(fact, max_times):
    """The properties of every ``series`` fact, whatever it was fed."""
    assert len(fact['times']) <= max_times, 'series kept %d exact times' % len(fact['times'])
    assert len(fact['buckets']) <= _logs.SERIES_MAX_BUCKETS + 1, 'series made %d buckets' % len(fact['buckets'])
    assert fact['count'] == len(fact['times']) + sum(b['count'] for b in fact['buckets']), fact
    assert all(len(t['note'] or '') <= _logs.SERIES_NOTE_CHARS for t in fact['times'])


def _event_series(times, notes, window, max_times):
    """EventSeries fed hostile times (NaN, infinity, huge, before 1970) and notes over a hostile window."""
    start, end = window
    end = None if end is None or start is None else start + end
    series = _logs.EventSeries(start, end, max_times=max_times)
    for index, when in enumerate(times):
        series.add(when, notes[index % len(notes)] if notes else None)
    fact = series.as_fact()
    _series_bounded(fact, max_times)
    width = _logs.bucket_seconds(start or 0.0, end or 0.0) if start is not None and end is not None else None
    window_fact = _logs.window_series(_logs.Window(start, end, 'option'), now=NOW).as_fact()
    return fact, width, window_fact


def _oom_series(entries):
    kills, _units = _oom.parse_entries(entries)
    fact = _oom.kill_series(kills, _logs.Window(NOW - 20 * 86400, None, 'now'), now=NOW)
    _series_bounded(fact, _logs.SERIES_MAX_TIMES)
    return fact, [_oom.victim_text(kill) for kill in kills]


def _conntrack_stats(text):
    totals = _conntrack.parse_stat_file(text)
    cli = _conntrack.parse_conntrack_s(text)
    return totals, cli, _conntrack.contract_stats(totals or cli or {})


# Real packet headers (test_capture.py keeps them as hex: loopback resets, SYNs, data segments).
PACKETS = sorted(set(bytes.fromhex(t) for t in CORPUS['capture'].docs if re.match(r'^(?:[0-9a-f]{2}){20,}$', t)))


@st.composite
def hostile_packets(draw):
    """A real packet header with bytes overwritten, cut short or extended (what a broken or hostile
    sender, or a kernel passing an unexpected frame, could put in front of the parser)."""
    data = bytearray(draw(st.sampled_from(PACKETS)))
    for _step in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.sampled_from([0, 0x04, 0x06, 0x0f, 0x40, 0x45, 0x4f, 0x60,
                                                                          0x11, 0xff]))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data) + draw(st.binary(max_size=24))


def _capture_packet(data, pkttype):
    record, error = _capture.parse_packet(data)
    flags = _capture.tcp_flags(data[0] if data else 0)
    return (record, error), _capture.direction_of(pkttype), flags


def _capture_counters(first, second):
    return _capture.counter_deltas(_tcp.counters_from(first, second), _tcp.counters_from(second, first))


def _capture_filter(ports, protocol):
    return _capture.pack_filter(_capture.build_filter(ports)), _capture.sockaddr_ll(protocol)


def _tcp_proc(text):
    return _tcp.parse_proc_tcp(text.split('\n'))


def _tcp_counters(first, second):
    one_, two = _tcp.counters_from(first, second), _tcp.counters_from(second, first)
    return one_, _tcp.rates_between(one_, two, 2.0)


def _split_lines(text):
    return [_logs.split_line(line[:_common.MAX_LINE_BYTES], NOW, NOW - 86400) for line in text.split('\n')[:3000]]


def _journal_lines(text):
    return [_logs.journal_json_entry(line, NOW - 86400, '0123456789abcdef0123456789abcdef') for line in text.split('\n')]


def _since(text):
    return _logs.parse_since(text, NOW)


def _probe_summary(attempts):
    return _probe.summarize(attempts, host='h', port=22, timeouts={'banner': 5})


def _probe_banner(data):
    ident, text, rest = _probe.split_banner(data)
    return ident, text, rest, [bool(_probe.MAXSTARTUPS_TEXT.search(t)) for t in text]


@st.composite
def probe_attempts(draw):
    """Attempt records as probe_once writes them: the banner and error texts come from the server."""
    attempts = []
    for number in range(1, draw(st.integers(0, 6)) + 1):
        banner = draw(st.one_of(st.none(), lines('probe')))
        attempts.append({
            'attempt': number, 'phase': draw(st.sampled_from(_probe.PHASES)),
            'outcome': draw(st.sampled_from(_probe.OUTCOMES)), 'error': draw(st.one_of(st.none(), lines('probe'))),
            'banner': banner, 'elapsed_s': draw(st.floats(0, 60)),
            'timings': {'banner': draw(st.one_of(st.none(), st.floats(0, 60)))},
            'address': draw(st.sampled_from([None, '192.0.2.1', '::1', 'fe80::1%eth0', 'not an address'])),
            'icmp': draw(st.one_of(st.none(), st.fixed_dictionaries({
                'type': st.integers(0, 255), 'code': st.integers(0, 255), 'origin': st.sampled_from(['icmp', 'icmp6']),
                'offender': st.sampled_from([None, '192.0.2.254', '2001:db8::1']), 'text': lines('probe')}))),
        })
    return attempts


def _tcp_probe_head(data):
    """A response head from the server (hostile bytes) and what is derived from it."""
    head, rest = _tcp_probe.parse_response_head(data)
    if head is None or 'error' in head:
        return head, rest, None
    return head, rest, (_tcp_probe.keeps_alive(head), _tcp_probe.keep_alive_timeout(head), _tcp_probe.body_framing(head))


@st.composite
def tcp_probe_attempts(draw):
    """Attempt records as probe_endpoint_once writes them: error texts and the response come from the server."""
    attempts = []
    for number in range(1, draw(st.integers(0, 6)) + 1):
        attempts.append({
            'attempt': number, 'phase': draw(st.sampled_from(_tcp_probe.PHASES + ('x',))),
            'outcome': draw(st.sampled_from(_tcp_probe.OUTCOMES)), 'error': draw(st.one_of(st.none(), lines('tcp_probe'))),
            'connected': draw(st.booleans()), 'response_bytes': draw(st.integers(0, 1 << 20)),
            'after_request_s': draw(st.one_of(st.none(), st.floats(0, 60))),
            'response': draw(st.one_of(st.none(), st.fixed_dictionaries({
                'status': st.integers(100, 599), 'reason': lines('tcp_probe'),
                'headers': st.dictionaries(st.sampled_from(list(_tcp_probe.KEPT_HEADERS)), lines('tcp_probe'))}))),
            'icmp': draw(st.one_of(st.none(), st.fixed_dictionaries({
                'type': st.integers(0, 255), 'code': st.integers(0, 255), 'origin': st.sampled_from(['icmp', 'icmp6'])}))),
        })
    return attempts


def _tcp_probe_summary(attempts):
    return _tcp_probe.summarize(attempts, {'host': 'h', 'port': 80, 'protocol': 'http'}, {'request': 5})


def _extended_err(level, cmsg_type, data):
    return _probe.parse_extended_err(level, cmsg_type, data)


def _icmp(origin, icmp_type, code):
    return _probe.icmp_text(origin, icmp_type, code), _probe.icmp_rejects_port(
        {'origin': origin, 'type': icmp_type, 'code': code})


def _wrappers_words(text):
    return (_tcp_wrappers.tokens(text), _tcp_wrappers.get_fields(text), _tcp_wrappers.parse_options(text),
            _tcp_wrappers.split_at(text, ':'), _tcp_wrappers.file_patterns(text), list(_tcp_wrappers.logical_lines(text)))


def _wrappers_addresses(text):
    return (_tcp_wrappers.dot_quad(text), _tcp_wrappers.parse_v6(text), _tcp_wrappers.parse_v4(text),
            _tcp_wrappers.normalize_client(text))


def _wrappers_match(tok, string, mask):
    return (_hosts_access.string_match(tok, string), _hosts_access.masked_match(tok, mask, string),
            _hosts_access.port_pattern(tok))


def _wrappers_resolver_files(hosts_text, nsswitch_text, address):
    """The /etc/hosts and nsswitch.conf readers of the name lookups (_hosts_access)."""
    return _hosts_access.hosts_file_name(hosts_text, address), _hosts_access.files_before_dns(nsswitch_text)


def _wrappers_include_loop(text):
    """The include-loop search of the pattern files, over includes made of a text's words."""
    words = text.split()[:2000]
    includes = dict((word, words[i + 1:i + 4]) for i, word in enumerate(words))
    return _tcp_wrappers.include_loop(includes, words[0] if words else '/etc/hosts.allow')


_FW_CLIENTS = st.lists(st.sampled_from(['192.0.2.1', '198.51.100.7', '2001:db8::1', '10.0.0.1']), max_size=3)
_BYTES16 = st.binary(min_size=16, max_size=16)

TARGETS = [
    # _sshd (its __all__)
    Target('sshd', 'parse_systemctl_show+service_from_show+pick_unit', _sshd_service,
           st.tuples(texts('sshd'), st.sampled_from(['ssh.service', 'sshd.service', ''])), kind(tuple)),
    Target('sshd', 'systemd_timestamp', _sshd.systemd_timestamp, one(lines('sshd')), opt(str)),
    Target('sshd', 'is_sshd_unit', _sshd.is_sshd_unit, one(lines('sshd')), kind(bool)),
    Target('sshd', 'parse_openrc_status', _sshd.parse_openrc_status,
           st.tuples(st.sampled_from([0, 1, 3, None]), texts('sshd')), kind(tuple)),
    Target('sshd', 'parse_listener_title', _sshd.parse_listener_title, one(lines('sshd')), opt(tuple)),
    Target('sshd', 'classify_process', _sshd.classify_process, st.tuples(lines('sshd'), st.booleans()), kind(str)),
    Target('sshd', 'parse_stat', _sshd.parse_stat, one(lines('sshd')), tuple_of(2)),
    Target('sshd', 'parse_ss_listen', _sshd.parse_ss_listen, one(texts('sshd')), list_of_dicts),
    Target('sshd', 'hex_to_ip', _sshd.hex_to_ip,
           one(st.one_of(lines('sshd'), st.text('0123456789abcdefABCDEFxg ', min_size=7, max_size=33))), opt(str)),
    Target('sshd', 'parse_proc_net_tcp', _sshd.parse_proc_net_tcp, one(texts('sshd')), list_of_dicts),
    Target('sshd', 'parse_sshd_T+typed_config+raw_config+redact_config_value+unparsed_values', _sshd_config,
           st.tuples(texts('sshd'), st.booleans()), tuple_of(4, dict)),
    Target('sshd', 'parse_maxstartups', _sshd.parse_maxstartups, one(lines('sshd')), opt(dict)),
    Target('sshd', 'parse_sshd_time', _sshd.parse_sshd_time, one(lines('sshd')), opt(int, float)),
    Target('sshd', 'parse_penalties', _sshd.parse_penalties, one(lines('sshd')), opt(dict, bool)),
    Target('sshd', 'parse_sshd_t_errors', _sshd.parse_sshd_t_errors, one(texts('sshd')), list_of_dicts),
    Target('sshd', 'config_verdict', _sshd.config_verdict,
           st.tuples(st.sampled_from([0, 1, 255, None]), texts('sshd'), st.sampled_from([0, 1000])), tuple_of(4)),
    Target('sshd', 'parse_version', _sshd.parse_version, one(texts('sshd')), tuple_of(3)),
    Target('sshd', 'EventCounter+count_events', _sshd_events, one(log_entries('sshd')), tuple_of(2, dict)),
    # _oom (its __all__)
    Target('oom', 'unit_of_cgroup', _oom.unit_of_cgroup, one(lines('oom')), opt(str)),
    Target('oom', 'parse_summary_fields', _oom.parse_summary_fields, one(lines('oom')), kind(dict)),
    Target('oom', 'classify', _oom.classify, one(lines('oom')), opt(dict)),
    Target('oom', 'parse_entries+KillFolder+watched_killed+split_by_cgroup+elsewhere_part+writer_of+summarize_kills'
                  '+top_counts', _oom_kills,
           st.tuples(log_entries('oom'), st.lists(st.sampled_from(['sshd', 'ssh.service', 'x', '']), max_size=3)),
           kind(tuple)),
    Target('oom', 'parse_proc_cgroup+cgroup_root+in_cgroup_tree+kernel_paths_visible+parse_oom_kill_counter', _oom_cgroup,
           one(texts('oom')), tuple_of(6)),
    Target('oom', 'parse_vmstat_oom_kill', _oom.parse_vmstat_oom_kill, one(texts('oom')), opt(int)),
    Target('oom', 'parse_meminfo', _oom.parse_meminfo, one(texts('oom')), kind(dict)),
    Target('oom', 'parse_psi', _oom.parse_psi, one(texts('oom')), opt(dict)),
    Target('oom', 'parse_loadavg', _oom.parse_loadavg, one(texts('oom')), opt(list)),
    Target('oom', 'count_cpus', _oom.count_cpus, one(texts('oom')), opt(int)),
    # _tcp_wrappers
    Target('tcp_wrappers', 'parse+pattern_files+table_stop+evaluate', _wrappers_pipeline,
           st.tuples(texts('tcp_wrappers'), texts('tcp_wrappers'),
                     st.sampled_from(['192.0.2.1', '::ffff:192.0.2.1', '2001:db8::1', 'unknown']),
                     st.sampled_from([_tcp_wrappers.NOT_RESOLVED, None, 'client.example.org', 'paranoid']),
                     texts('tcp_wrappers')), kind(dict)),
    Target('tcp_wrappers', 'tokens+get_fields+parse_options+split_at+file_patterns+logical_lines', _wrappers_words,
           one(texts('tcp_wrappers')), kind(tuple)),
    Target('tcp_wrappers', 'dot_quad+parse_v6+parse_v4+normalize_client', _wrappers_addresses,
           one(lines('tcp_wrappers')), kind(tuple)),
    Target('tcp_wrappers', 'ntop6', _tcp_wrappers.ntop6, one(_BYTES16), kind(str)),
    Target('hosts_access', 'hosts_file_name+files_before_dns', _wrappers_resolver_files,
           st.tuples(texts('tcp_wrappers'), texts('tcp_wrappers'),
                     st.sampled_from(['192.0.2.1', '::1', '127.0.0.1', '::ffff:192.0.2.1', 'x', ''])),
           lambda out: isinstance(out, tuple) and (out[0] is None or isinstance(out[0], str)) and isinstance(out[1], bool)),
    Target('tcp_wrappers', 'include_loop', _wrappers_include_loop, one(texts('tcp_wrappers')),
           lambda out: out is None or isinstance(out, list)),
    Target('hosts_access', 'string_match+masked_match+port_pattern', _wrappers_match,
           st.tuples(lines('tcp_wrappers'), st.sampled_from(['192.0.2.1', '::1', 'host.example.org', 'unknown', '']),
                     lines('tcp_wrappers')), kind(tuple)),
    Target('tcp_wrappers', 'elf_needed', _tcp_wrappers.elf_needed, one(st.one_of(hostile_elf(), hostile_bytes('tcp_wrappers'))),
           opt(list)),
    # _mtu
    Target('mtu', 'parse_links', _mtu.parse_links, one(hostile_json(CORPUS['mtu'])), dict_or_none_of_dicts),
    Target('mtu', 'parse_addresses', _mtu.parse_addresses, one(hostile_json(CORPUS['mtu'])), dict_or_none_of_dicts),
    Target('mtu', 'merge_interfaces', lambda a, b: _mtu.merge_interfaces(_mtu.parse_links(a), _mtu.parse_addresses(b)),
           st.tuples(hostile_json(CORPUS['mtu']), hostile_json(CORPUS['mtu'])), list_of_dicts),
    Target('mtu', 'parse_routes', _mtu.parse_routes, one(texts('mtu')), list_of_dicts),
    Target('mtu', 'parse_route_get', _mtu.parse_route_get, one(hostile_json(CORPUS['mtu'])), opt(dict)),
    Target('mtu', 'classify_ping', _mtu.classify_ping,
           st.tuples(st.sampled_from([0, 1, 2, None]), texts('mtu'), texts('mtu')), tuple_of(2, str)),
    Target('mtu', 'network_of', _mtu.network_of, st.tuples(lines('mtu'), st.one_of(lines('mtu'), st.integers(-1, 200))),
           opt(str)),
    Target('mtu', 'probe_path_mtu+classify_ping', _mtu_probe,
           st.tuples(st.lists(st.tuples(st.sampled_from([0, 1, 2]), texts('mtu')), min_size=1, max_size=4),
                     st.sampled_from([None, 0, 552, 1280, 1500, 9000, 65536, 2 ** 40]), st.sampled_from([4, 6]),
                     st.integers(2, 30)), kind(dict)),
    # _conntrack
    Target('conntrack', 'parse_stat_file+parse_conntrack_s+contract_stats', _conntrack_stats, one(texts('conntrack')),
           tuple_of(3)),
    Target('conntrack', 'parse_ethtool_stats', _conntrack.parse_ethtool_stats, one(texts('conntrack')), kind(dict)),
    Target('conntrack', 'parse_ethtool_driver', _conntrack.parse_ethtool_driver, one(texts('conntrack')), opt(str)),
    Target('conntrack', 'TableFullEvents+is_table_full', _table_full, one(log_entries('conntrack')), tuple_of(2, dict)),
    # _tcp
    Target('tcp', 'parse_pairs', _tcp.parse_pairs, one(texts('tcp')), kind(dict)),
    Target('tcp', 'counters_from+rates_between', _tcp_counters, st.tuples(texts('tcp'), texts('tcp')), tuple_of(2, dict)),
    Target('tcp', 'parse_uptime', _tcp.parse_uptime, one(texts('tcp')), opt(float)),
    Target('tcp', 'parse_int', _tcp.parse_int, one(texts('tcp')), opt(int)),
    Target('tcp', 'split_address', _tcp.split_address, one(lines('tcp')), tuple_of(2)),
    Target('tcp', 'parse_ss_listeners', _tcp.parse_ss_listeners, one(texts('tcp')), list_of_dicts),
    Target('tcp', 'decode_proc_address', _tcp.decode_proc_address, one(lines('tcp')), tuple_of(2)),
    Target('tcp', 'parse_proc_tcp', _tcp_proc, one(texts('tcp')), tuple_of(3, dict)),
    # _endpoints, _svcconf, _service (issue 13)
    Target('endpoint_stack', 'parse_ss_sockets', _endpoint_stack.parse_ss_sockets, one(texts('endpoints')), list_of_dicts),
    Target('endpoint_stack', 'parse_limits', _endpoint_stack.parse_limits, one(texts('endpoints')), opt(tuple)),
    Target('endpoints', 'parse_port_range', _endpoints.parse_port_range, one(lines('endpoints')), opt(tuple)),
    Target('endpoints', 'count_ephemeral', lambda t: _endpoints.count_ephemeral(t.split('\n'), 1, 65535),
           one(texts('endpoints')), tuple_of(2, int)),
    Target('endpoint_stack', 'program_of', _endpoint_stack.program_of,
           st.tuples(lines('endpoints'), lines('endpoints'), lines('endpoints')), opt(str)),
    Target('endpoint_stack', 'parse_exec_start', _endpoint_stack.parse_exec_start, one(lines('endpoints')), kind(list)),
    Target('endpoint_stack', 'count_program_events', lambda t: _endpoint_stack.count_program_events('nginx', t.split('\n')),
           one(texts('endpoints')), kind(dict)),
    Target('endpoints', 'unit_name', _endpoints.unit_name, one(lines('endpoints')), kind(str)),
    Target('svcconf', 'parse_nginx_time', _svcconf.parse_nginx_time, one(lines('endpoints')), opt(float)),
    Target('svcconf', 'split_nginx_dump+parse_nginx_directives+nginx_timeouts',
           lambda t: (_svcconf.split_nginx_dump(t), _svcconf.parse_nginx_directives(t), _svcconf.nginx_timeouts(t, 80)),
           one(texts('endpoints')), tuple_of(3, list)),
    Target('svcconf', 'parse_haproxy_time', _svcconf.parse_haproxy_time, one(lines('endpoints')), opt(float, int)),
    Target('svcconf', 'parse_haproxy_sections+haproxy_timeouts',
           lambda t: (_svcconf.parse_haproxy_sections(t), _svcconf.haproxy_timeouts(t, 8091)),
           one(texts('endpoints')), tuple_of(2, tuple)),
    Target('svcconf', 'gunicorn_cli+gunicorn_config_file+gunicorn_timeouts',
           lambda t: (_svcconf.gunicorn_cli(t.split()), _svcconf.gunicorn_config_file(t),
                      _svcconf.gunicorn_timeouts(t.split(), t, '/x.py')), one(texts('endpoints')), tuple_of(3, dict)),
    Target('svcconf', 'redis_directives+redis_timeouts+redis_argv_overrides',
           lambda t: (_svcconf.redis_directives(t), _svcconf.redis_timeouts(_svcconf.redis_directives(t)[0],
                                                                            _svcconf.redis_argv_overrides(t.split())[1])),
           one(texts('endpoints')), tuple_of(2, tuple)),
    Target('svcconf', 'parse_apache_time', _svcconf.parse_apache_time, one(lines('endpoints')), opt(float, int)),
    Target('svcconf', 'apache_directives+apache_timeouts',
           lambda t: _svcconf.apache_timeouts(_svcconf.apache_directives(t, '/x.conf'), 80), one(texts('endpoints')),
           tuple_of(3, list)),
    Target('svcconf', 'parse_postgres_time', lambda t: _svcconf.parse_postgres_time(t, 0.001), one(lines('endpoints')),
           opt(float)),
    Target('svcconf', 'postgres_directives+postgres_argv+postgres_timeouts',
           lambda t: _svcconf.postgres_timeouts(_svcconf.postgres_directives(t, '/x.conf')[0] +
                                                _svcconf.postgres_argv(t.split())[2]), one(texts('endpoints')),
           tuple_of(3, list)),
    Target('svcconf', 'mysql_options+mysql_argv+mysql_timeouts',
           lambda t: _svcconf.mysql_timeouts(_svcconf.mysql_options(t, '/x.cnf')[0] + _svcconf.mysql_argv(t.split())[1]),
           one(texts('endpoints')), tuple_of(3, list)),
    Target('probe', 'route_to', lambda t: _probe.route_to('10.213.127.11', t, t), one(texts('probe')), opt(dict)),
    Target('uwsgi', 'uwsgi_cli+uwsgi_ini+uwsgi_timeouts+split_section',
           lambda t: (_uwsgi.uwsgi_cli(t.split()), _uwsgi.uwsgi_ini(t, '/x.ini'),
                      _uwsgi.uwsgi_timeouts(t.split(), {'/x.ini': t}, None),
                      _uwsgi.split_section(t)), one(texts('endpoints')), tuple_of(4, dict)),
    Target('service', 'parse_systemctl_show+service_from_show+pick_unit',
           lambda t: (_service.service_from_show(_service.parse_systemctl_show(t), 'x.service'),
                      _service.pick_unit([('x.service', _service.parse_systemctl_show(t))])),
           one(texts('sshd')), tuple_of(2, dict)),
    Target('service', 'int_or_none', _service.int_or_none, one(lines('sshd')), opt(int)),
    Target('service', 'systemd_timestamp', _service.systemd_timestamp, one(lines('sshd')), opt(str)),
    Target('service', 'count_unit_events+UnitEvents+Kind',
           lambda entries: _service.count_unit_events(entries, ['ssh.service', 'app.service']),
           one(log_entries('sshd')), kind(dict)),
    Target('service', 'unit_journal_matches', lambda t: _service.unit_journal_matches(t.split()), one(lines('sshd')),
           kind(list)),
    # _capture
    Target('capture', 'parse_packet+direction_of+tcp_flags', _capture_packet,
           st.tuples(st.one_of(hostile_packets(), st.binary(max_size=200), hostile_bytes('capture')),
                     st.sampled_from([0, 1, 3, 4, 7, None])), tuple_of(3, tuple)),
    Target('capture', 'parse_tpacket_stats', _capture.parse_tpacket_stats, one(st.binary(max_size=16)), tuple_of(2)),
    Target('capture', 'counter_deltas', _capture_counters, st.tuples(texts('tcp'), texts('tcp')), opt(dict)),
    Target('capture', 'build_filter+pack_filter+sockaddr_ll', _capture_filter,
           st.tuples(st.lists(st.integers(-1, 70000), max_size=40), st.integers(0, 0xffff)), tuple_of(2, bytes),
           allowed=(ValueError,)),
    # _firewall
    Target('firewall', 'parse_iptables_save+classify+find_blocks', _firewall_pipeline,
           st.tuples(texts('firewall'), _FW_CLIENTS), tuple_of(2, list)),
    Target('firewall', 'iptables_tables', _firewall.iptables_tables, one(texts('firewall')), kind(set)),
    Target('firewall', 'save_backend', _firewall.save_backend, st.tuples(texts('firewall'), st.just('x')), kind(str)),
    Target('firewall', 'parse_nft_json+classify', _nft_pipeline, one(hostile_json(CORPUS['firewall'])), tuple_of(2, list),
           allowed=(ValueError,)),
    Target('firewall', 'nft_rule_texts', _firewall.nft_rule_texts, one(texts('firewall')), kind(dict)),
    Target('firewall', 'parse_services', _firewall.parse_services, one(texts('firewall')), kind(dict)),
    Target('firewall', 'port_ranges+ports_hit', _port_ranges,
           st.tuples(st.lists(st.one_of(st.integers(-5, 70000), lines('firewall'), st.booleans()), max_size=30),
                     st.booleans()), opt(list)),
    Target('firewall', 'parse_fail2ban_status+parse_fail2ban_jail', _jail, one(texts('firewall')), tuple_of(2)),
    Target('firewall', 'parse_cscli_decisions', _firewall.parse_cscli_decisions, one(hostile_json(CORPUS['firewall'])),
           list_of_dicts, allowed=(ValueError,)),
    Target('firewall', 'to_network+address_in', lambda a, b: (_firewall.to_network(a), _firewall.address_in(a, [b])),
           st.tuples(lines('firewall'), lines('firewall')), tuple_of(2)),
    # _probe
    Target('probe', 'split_banner+MAXSTARTUPS_TEXT', _probe_banner, one(hostile_bytes('probe')), tuple_of(4)),
    Target('probe', 'parse_extended_err', _extended_err,
           st.tuples(st.sampled_from([0, 41, 1]), st.sampled_from([11, 25, 0]),
                     st.one_of(st.binary(max_size=64), hostile_bytes('probe'))), opt(dict)),
    Target('probe', 'icmp_text+icmp_rejects_port', _icmp,
           st.tuples(st.sampled_from(['icmp', 'icmp6', 'x']), st.integers(0, 255), st.integers(0, 255)), tuple_of(2, str)),
    Target('probe', 'summarize+classify_attempt', _probe_summary, one(probe_attempts()), kind(dict)),
    Target('probe', 'classify_ssh_failure+ssh_failure_text',
           lambda text: (_probe.classify_ssh_failure(text), _probe.ssh_failure_text(text)), one(texts('probe')),
           tuple_of(2, str)),
    # _tcp_probe
    Target('tcp_probe', 'parse_response_head+keeps_alive+keep_alive_timeout+body_framing', _tcp_probe_head,
           one(hostile_bytes('tcp_probe')), tuple_of(3)),
    Target('tcp_probe', 'chunked_done', _tcp_probe.chunked_done, one(hostile_bytes('tcp_probe')), tuple_of(2, bool)),
    Target('tcp_probe', 'tls_alert_name', _tcp_probe.tls_alert_name, one(st.one_of(st.none(), lines('tcp_probe'))), opt(str)),
    Target('tcp_probe', 'summarize+classify_attempt', _tcp_probe_summary, one(tcp_probe_attempts()), kind(dict)),
    # _logs
    Target('logs', 'split_line', _split_lines, one(texts('logs')), kind(list)),
    Target('logs', 'journal_json_entry', _journal_lines, one(hostile_json(CORPUS['logs'])), kind(list)),
    Target('logs', 'parse_since', _since, one(st.one_of(hostile_text(SINCE, line=True), lines('logs'))),
           lambda out: isinstance(out, float) and 0 <= out <= NOW + 60, allowed=(OptionError,)),
    Target('logs', 'since_option_error', lambda value: _logs.since_option_error({'since': value}),
           one(st.one_of(st.none(), hostile_text(SINCE, line=True), lines('logs'))),
           lambda out: out is None or (isinstance(out, str) and out.startswith('option since: '))),
    Target('logs', 'iso+valid_time', lambda epoch, parts: (_logs.iso(epoch), _logs.valid_time(*parts)),
           st.tuples(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-2 ** 70, 2 ** 70)),
                     st.tuples(st.integers(-1, 10000), st.integers(-1, 14), st.integers(-1, 32), st.integers(-1, 25),
                               st.integers(-1, 61), st.integers(-1, 62))),
           lambda out: (out[0] is None or re.match(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$', out[0]))
           and isinstance(out[1], bool)),
    Target('logs', 'EventSeries+bucket_seconds+window_series', _event_series,
           st.tuples(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                                        st.floats(NOW - 8 * 86400, NOW), st.integers(-2 ** 40, 2 ** 40)),
                              max_size=400),
                     st.lists(lines('logs'), max_size=3),
                     st.tuples(st.one_of(st.none(), st.floats(0, NOW)),
                               st.one_of(st.none(), st.floats(0, 2e9))),
                     st.integers(0, 30)),
           tuple_of(3, dict)),
    Target('logs', 'iso_epoch', _logs.iso_epoch,
           one(st.one_of(lines('logs'), st.builds(_logs.iso, st.floats(-1e12, 1e12)))), opt(float)),
    Target('oom', 'kill_series+victim_text', _oom_series, one(log_entries('oom')), tuple_of(2, dict)),
    Target('logs', 'journal_reason', _logs.journal_reason,
           st.tuples(st.sampled_from([0, 1, None]), texts('logs'), st.sampled_from([0, 1000])), tuple_of(2)),
    Target('logs', 'LogScan.file', _scan_file, one(hostile_bytes('logs')), kind(list)),
    # the collectors' log paths over a hostile log_files entry (read-only, a temporary file)
    Target('sshd', 'collect_events+resolve_window', _sshd_log_events, one(hostile_bytes('sshd')), tuple_of(2, dict)),
    Target('oom', 'scan_kernel_logs+log_part', _oom_log_kills, one(hostile_bytes('oom')), tuple_of(3, dict)),
    Target('conntrack', 'table_full_events', _conntrack_log_events, one(hostile_bytes('conntrack')), kind(dict)),
    # _common
    Target('common', 'System.lines', _system_lines, one(hostile_bytes('logs')), kind(list)),
    Target('common', 'controller_address+controller_seen', _controller, one(lines('common')), address_or_none),
    Target('common', 'permission_hint', _permission_hint,
           st.tuples(lines('common'), st.sampled_from([errno.EACCES, errno.ENOENT, errno.EISDIR])), kind(str)),
    Target('common', 'CommandResult.describe', _describe,
           st.tuples(st.sampled_from([1, 2, None]), texts('common'), texts('common')), kind(str)),
]


@pytest.mark.parametrize('target', TARGETS, ids=[t.id for t in TARGETS])
@FUZZ
@given(data=st.data())
def test_parser_survives_hostile_input(target, data):
    args = data.draw(target.args, label='args')
    check(target.call, args, target.expect, target.allowed)


# Hostile inputs found by this test or by reading the parsers (see /work/notes/fuzz-findings.md):
# checked on every run, whatever the random exploration reaches with its bounded examples.
_NR = _tcp_wrappers.NOT_RESOLVED
REGRESSIONS = [
    ('mtu.parse_links', ('[null]',)),
    ('mtu.parse_route_get', ('[{"dev": 1, "metrics": {"mtu": 1400}}]',)),
    ('mtu.parse_routes', ('10.0.0.0/8 dev eth0 mtu ' + '9' * 5000,)),
    ('mtu.classify_ping', (1, 'From 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = %s)' % ('9' * 5000), '')),
    ('tcp.parse_uptime', ('nan 1.0',)),
    ('tcp.counters_from+rates_between', ('Tcp: A\nTcp: %s\n' % ('9' * 400), 'Tcp: A\nTcp: 1\n')),
    ('firewall.parse_cscli_decisions', ('true',)),
    ('firewall.parse_cscli_decisions', ('[{"decisions": [{"value": 1e999}]}]',)),
    ('firewall.parse_nft_json+classify', ('{"nftables": [{"set": ["x"]}, {"rule": {"expr": [{"jump": "x"}]}}]}',)),
    ('firewall.parse_nft_json+classify', ('{"nftables": %s}' % ('[' * 5000 + ']' * 5000),)),
    ('firewall.parse_iptables_save+classify+find_blocks',
     ('*filter\n-A INPUT -s 192.0.2.1 -p tcp --dport %s:1 -j DROP\n' % ('9' * 5000), ['192.0.2.1'])),
    ('firewall.nft_rule_texts', ('table inet f {\nchain input {\ntcp dport 22 drop # handle %s\n' % ('9' * 5000),)),
    ('conntrack.parse_stat_file+parse_conntrack_s+contract_stats', ('0644' * 2000 + '0',)),
    ('conntrack.parse_stat_file+parse_conntrack_s+contract_stats', ('cpu=0 drop=' + '9' * 5000,)),
    ('sshd.hex_to_ip', ('0000000',)),
    ('sshd.hex_to_ip', ('zzzzzzzz',)),
    ('tcp_wrappers.parse+pattern_files+table_stop+evaluate', ('\u00b2: ALL\n', '', '192.0.2.1', _NR, '')),
    ('tcp_wrappers.parse+pattern_files+table_stop+evaluate', ('sshd: /p\n', '', '192.0.2.1', _NR, ' '.join(['/p'] * 12))),
    ('oom.parse_psi', ('some avg10=inf avg60=nan avg300=0 total=1\n',)),
    ('oom.parse_loadavg', ('nan inf -inf 1/2 3',)),
    ('logs.journal_json_entry', ('[' * 1000 + ']' * 1000,)),
    ('logs.split_line', ('2024-13-45T25:61:61+0000 h sshd[1]: x\n[999999999999.999999999] x',)),
    ('logs.iso+valid_time', (253402300800.0, (2024, 2, 30, 0, 0, 0))),
    ('logs.iso+valid_time', (-1e11, (2024, 13, 1, 25, 0, 0))),
    ('common.controller_address+controller_seen', (' ',)),
    ('common.controller_address+controller_seen', ('controller',)),
]
_BY_ID = dict((t.id, t) for t in TARGETS)


@pytest.mark.parametrize('target_id, args', REGRESSIONS, ids=['%s-%d' % (r[0], i) for i, r in enumerate(REGRESSIONS)])
def test_known_hostile_input(target_id, args):
    target = _BY_ID[target_id]
    check(target.call, args, target.expect, target.allowed)


# Public callables that are no text-to-data parser, with the reason; every other public function or
# class of a module_utils file must have a fuzz target (a new parser without one fails below).
NOT_PARSERS = {
    'collect': 'the collector (I/O)', 'validate': 'option checks (reset_facts tests)', 'check_options': 'option checks',
    'sshd.pick_listener': 'picks among process records the module built',
    'sshd.sshd_installed': 'a predicate over values the collector built (test_sshd.py table)', 'hosts_access.Context': 'evaluation state',
    'hosts_access.host_match': 'inside evaluate()', 'hosts_access.server_match': 'inside evaluate()',
    'hosts_access.client_match': 'inside evaluate()', 'hosts_access.list_match': 'inside evaluate()',
    'hosts_access.rule_match': 'inside evaluate()', 'hosts_access.walk': 'inside evaluate()',
    'tcp_wrappers.no_rule_verdict': 'builds the default verdict', 'hosts_access.file_error': 'a constructor',
    'hosts_access.SocketResolver': 'name lookups (I/O)', 'tcp_wrappers.default_resolver': 'name lookups (I/O)',
    'hosts_access.sock_hostname': 'name lookups through a resolver (I/O)', 'hosts_access.HostLookup': 'name lookups (I/O)',
    'mtu.link_kind': 'inside parse_links()', 'tcp.filter_ports': 'filters parsed records by option ports',
    'probe.validate_params': 'option checks (test_ssh_probe.py)',
    'probe.time_budget': 'arithmetic on checked options', 'probe.exception_outcome': 'maps exception classes',
    'probe.describe_exception': 'formats exceptions', 'probe.describe_icmp': 'formats parse_extended_err() output',
    'probe.ReplaySocket': 'socket wrapper (I/O)', 'probe.resolve': 'DNS (I/O)', 'probe.set_recverr': 'socket option (I/O)',
    'probe.read_icmp_error': 'socket (I/O)', 'probe.read_banner': 'socket (I/O); split_banner() is its parser',
    'probe.Attempt': 'times an attempt (I/O)', 'probe.top_failure': 'picks among classify_attempt() results',
    'probe.load_key': 'reads a key file (I/O)', 'probe.controller_route': "reads the controller's routing tables (I/O)",
    'probe.run_module': "a probe module's exit (I/O)",
    'probe.watch_idle': 'socket (I/O)', 'probe.idle_verdict': 'formats watch_idle() output',
    'probe.tcp_info': 'a socket option (I/O)', 'probe.idle_hold': 'the probe (I/O)',
    'tcp_probe.validate_params': 'option checks (test_tcp_probe.py)', 'tcp_probe.time_budget': 'arithmetic on checked options',
    'tcp_probe.build_request': 'formats checked options', 'tcp_probe.causes_of': 'a table lookup',
    'tcp_probe.idle_verdict': 'formats watch_idle() output', 'tcp_probe.connect': 'the probe (I/O)',
    'tcp_probe.tls_context': 'an ssl context', 'tcp_probe.tls_handshake': 'the probe (I/O)',
    'tcp_probe.read_response': 'socket (I/O); parse_response_head() is its parser', 'tcp_probe.http_request': 'the probe (I/O)',
    'tcp_probe.probe_endpoint_once': 'the probe (I/O)', 'tcp_probe.watch_idle': 'socket (I/O)',
    'tcp_probe.idle_hold': 'the probe (I/O)', 'tcp_probe.probe': 'the probe (I/O)', 'probe.probe_once': 'the probe (I/O)', 'probe.probe': 'the probe (I/O)',
    'logs.LogLine': 'a record', 'logs.Window': 'a record', 'common.LongLine': 'a str subclass',
    'common.result': 'builds a fact', 'common.unknown': 'builds a fact', 'common.worst_status': 'combines statuses',
    'common.summarize': 'combines statuses', 'common.run_collector': 'runs a collector (I/O)',
    'common.run_fact_module': "a fact module's exit (I/O)", 'common.waiting_budget': 'arithmetic on checked options',
    'capture.open_socket': 'opens the capture socket (I/O)',
    'endpoint_stack.pick_owner': 'picks among process records the collector built',
    'endpoint_stack.oom_of_unit': "filters the OOM collector's fact", 'endpoint_stack.Host': 'reads the host once (I/O)',
    'service.empty_service': 'builds a fact', 'service.unit_of': 'reads a regex match', 'service.bump': 'a counter',
    'service.close_enough': 'arithmetic on two times', 'capture.read_resets': 'reads the socket (I/O)',
}
MODULES = (('sshd', _sshd), ('oom', _oom), ('tcp_wrappers', _tcp_wrappers), ('hosts_access', _hosts_access), ('mtu', _mtu),
           ('conntrack', _conntrack),
           ('tcp', _tcp), ('firewall', _firewall), ('capture', _capture), ('endpoints', _endpoints), ('endpoint_stack', _endpoint_stack),
           ('svcconf', _svcconf), ('uwsgi', _uwsgi), ('service', _service), ('probe', _probe), ('tcp_probe', _tcp_probe), ('logs', _logs),
           ('common', _common))


def _public_callables(name, module):
    """Public functions and classes defined in a module, but the exceptions and the readers that take
    the host (``system``) or a scan as their first argument."""
    found = []
    for attr, value in sorted(vars(module).items()):
        if attr.startswith('_') or not callable(value) or getattr(value, '__module__', None) != module.__name__:
            continue
        if inspect.isclass(value) and issubclass(value, BaseException):
            continue
        if inspect.isfunction(value):
            params = list(inspect.signature(value).parameters)
            if params and params[0] in ('system', 'scan'):
                continue
        if attr in NOT_PARSERS or '%s.%s' % (name, attr) in NOT_PARSERS:
            continue
        found.append(attr)
    return found


def test_every_public_parser_is_fuzzed():
    """A public parser without a fuzz target (and not listed in NOT_PARSERS with its reason) fails here."""
    covered = set()
    for target in TARGETS:
        module, _sep, names = target.id.partition('.')
        covered.update('%s.%s' % (module, name.split('.')[0]) for name in names.split('+'))
    missing = ['%s.%s' % (name, attr) for name, module in MODULES for attr in _public_callables(name, module)
               if '%s.%s' % (name, attr) not in covered]
    assert not missing, 'public parsers without a fuzz target (add one to TARGETS): %s' % ', '.join(missing)
    assert len(covered) >= 80, sorted(covered)


def test_corpus_holds_real_samples():
    """The strategies start from real samples: an empty corpus would fuzz nothing but noise."""
    for name, corpus in CORPUS.items():
        assert len(corpus.docs) >= 10 and len(corpus.lines) >= 10, name
    assert len(CORPUS['mtu'].json) >= 3 and len(CORPUS['firewall'].json) >= 1


def _slow(_text):
    """Busy for 1.2 x the bound, in CPU (as a backtracking regex is), not asleep."""
    started = time.process_time()
    while time.process_time() - started < TIME_BOUND_S * 1.2:
        pass
    return {}


def _raises(text):
    return int(text)


@pytest.mark.parametrize('fn, arg, expect, error', [
    (_slow, 'x', kind(dict), 'took'),                                   # over the time bound
    (lambda _t: {'fill': float('nan')}, 'x', kind(dict), 'non-finite'),  # NaN in a fact
    (lambda _t: {'uptime_s': float('inf')}, 'x', kind(dict), 'non-finite'),
    (lambda _t: [], 'x', kind(dict), 'documented type'),                 # wrong type
    (lambda t: ['x' * 100] * len(t) * 1000, 'x' * 200, kind(list), 'not linear'),  # output quadratic in the input
    (_raises, '9' * 5000, kind(int), 'Exceeds the limit'),               # an exception propagates
])
def test_check_fails_on_what_it_is_for(fn, arg, expect, error):
    """The property can fail: each way a parser may break makes check() fail with a message saying so."""
    with pytest.raises((AssertionError, ValueError), match=error):
        check(fn, (arg,), expect)
