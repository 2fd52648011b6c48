# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""reset_capture against real resets on loopback, in a private network namespace (``unshare -n``).

One process per test, inside its own namespace (gone when the process exits): it brings ``lo``
up, starts a flood of resets in a thread - a listener on PORT that closes every accepted
connection with SO_LINGER 0 (an active reset from PORT), and connects to CLOSED where nothing
listens (the kernel's reset) - over 127.0.0.1 and ::1, a bounded number of rounds - and runs the
real module file (``runpy``, ``ANSIBLE_MODULE_ARGS`` on stdin) in the main thread.  A Python
audit hook in that process fails the run on any file opened for writing, created, removed, renamed
or re-moded, so "nothing is written" is checked for the module itself, not guessed from /tmp.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, '.build')
MODULE = os.path.join(BUILD, 'ansible_collections', 'connreset', 'doctor', 'plugins', 'modules', 'reset_capture.py')
PORT = 2222
CLOSED = 2223
OTHER = 2224          # resets on a port the capture does not watch

RUNNER = r'''
import io, json, os, runpy, socket, struct, subprocess, sys, threading, time
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True, timeout=10)
spec = json.loads(sys.argv[1])
port, closed, other = spec['port'], spec['closed'], spec['other']
done = {'linger': 0, 'refused': 0, 'other': 0, 'injected': 0, 'started': None, 'ended': None}

def inject(count):
    """Resets no socket sent, as a device in the path injects them: from 127.0.0.5, TTL 250, with payload."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    payload = b'P' * 100
    for n in range(count):
        tcp = struct.pack('!HHIIBBHHH', port, 40000 + n, 1000 + n, 0, 5 << 4, 0x04, 0, 0, 0)
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 250, 6, 0,
                         socket.inet_aton('127.0.0.5'), socket.inet_aton('127.0.0.1'))
        raw.sendto(ip + tcp + payload, ('127.0.0.1', 0))
        done['injected'] = n + 1
    raw.close()

def rounds():
    if not spec['rounds'] and not spec['inject']:
        return
    # start once the module's capture socket exists (the only packet socket in this namespace;
    # importing ansible can take longer than any fixed delay on a busy machine), then wait a little
    # more for its bind() and its first reading of the counters
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        with open('/proc/net/packet') as handle:
            if len(handle.read().splitlines()) > 1:
                break
        time.sleep(0.01)
    time.sleep(spec['delay'])
    done['started'] = time.monotonic()
    if spec['inject']:
        inject(spec['inject'])
        done['ended'] = time.monotonic()
        return
    servers = {}
    for family, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
        for p in (port, other):
            srv = socket.socket(family)
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind((host, p))
            srv.listen(64)
            servers[(family, p)] = srv
    stop = time.monotonic() + spec['flood_s']
    for n in range(spec['rounds']):
        if time.monotonic() > stop:
            break
        for family, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
            for p, key in ((port, 'linger'), (other, 'other')):
                client = socket.socket(family)
                client.connect((host, p))
                conn, _peer = servers[(family, p)].accept()
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                conn.close()                                   # RST from p to the client
                try:
                    client.settimeout(1)
                    client.recv(1)
                except OSError:
                    pass
                client.close()
                done[key] += 1
            client = socket.socket(family)
            try:
                client.connect((host, closed))                 # the kernel answers with RST|ACK
            except ConnectionRefusedError:
                done['refused'] += 1
            client.close()
        time.sleep(spec['pause'])
    done['ended'] = time.monotonic()

WRITES = ('os.remove', 'os.rename', 'os.rmdir', 'os.mkdir', 'os.chmod', 'os.chown', 'os.truncate', 'os.link',
          'os.symlink', 'os.utime', 'shutil.rmtree', 'shutil.copyfile', 'shutil.move')
written = []

def audit(event, args):
    if event == 'open' and args and isinstance(args[0], (str, bytes)):
        mode, flags = args[1], args[2] if len(args) > 2 else 0
        if args[0] != '/dev/null' and ((isinstance(mode, str) and any(c in mode for c in 'wax+'))
                                       or (flags or 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
            written.append(('open', args[0], mode))
    elif event in WRITES:
        written.append((event, args[0] if args else None))

flood = threading.Thread(target=rounds, daemon=True)
flood.start()
from ansible.module_utils import basic
basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': spec['args']}).encode()
basic._ANSIBLE_PROFILE = 'legacy'      # what ansible-core's module wrapper hands over
out = io.StringIO()
real_stdout = sys.stdout
sys.stdout = out
sys.addaudithook(audit)
started = time.monotonic()
try:
    runpy.run_path(spec['module'], run_name='__main__')
except SystemExit:
    pass
elapsed = time.monotonic() - started
sys.stdout = real_stdout
flood.join(spec['flood_s'] + 10)
print(json.dumps({'module': json.loads(out.getvalue()), 'done': done, 'elapsed': elapsed, 'written': written,
                  'module_started': started}))
'''

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root (network namespace, AF_PACKET socket)'),
    pytest.mark.skipif(not shutil.which('unshare') or not shutil.which('ip'), reason='unshare or ip not found'),
]


def capture(args, rounds, flood_s, delay=0.3, pause=0.0, module=MODULE, inject=0):
    spec = {'port': PORT, 'closed': CLOSED, 'other': OTHER, 'rounds': rounds, 'flood_s': flood_s, 'delay': delay,
            'pause': pause, 'module': module, 'args': args, 'inject': inject}
    env = dict(os.environ, PYTHONPATH=BUILD)
    proc = subprocess.run(['unshare', '-n', sys.executable, '-c', RUNNER, json.dumps(spec)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert result['written'] == [], 'the module wrote to the host: %r' % result['written']
    out = result['module']
    assert out['changed'] is False and 'failed' not in out, out
    return out['ansible_facts']['connreset_capture'], result['done'], result['elapsed']


def test_flood_counts_directions_ports_and_counters():
    fact, done, elapsed = capture({'ports': [PORT, CLOSED], 'duration_s': 4, 'max_packets': 5000},
                                  rounds=40, flood_s=2.5)
    assert fact['status'] == 'ok', fact['reason']
    assert fact['method'] == 'af_packet' and fact['ports'] == [PORT, CLOSED] and fact['ports_source'] == 'option'
    assert fact['stopped'] == 'window' and 4 <= fact['window_s'] < 4.5 and elapsed < 10
    assert done['linger'] == 80 and done['refused'] == 80 and done['other'] == 80     # 40 rounds x 2 families
    resets = fact['resets']
    # loopback: every reset is seen leaving (sent) and arriving (received); none on the unwatched port
    assert fact['counts'] == {'sent': 160, 'received': 160} and len(resets) == 320
    assert not [r for r in resets if OTHER in (r['sport'], r['dport'])]
    for port in (PORT, CLOSED):
        for family, address in (('ipv4', '127.0.0.1'), ('ipv6', '::1')):
            mine = [r for r in resets if r['sport'] == port and r['family'] == family]
            assert len(mine) == 80, (port, family, len(mine))        # 40 sent + 40 received
            assert all(r['src'] == r['dst'] == address and r['ttl'] == 64 and 'RST' in r['flags'] for r in mine)
            sent = sorted((r['dport'], r['seq']) for r in mine if r['direction'] == 'sent')
            received = sorted((r['dport'], r['seq']) for r in mine if r['direction'] == 'received')
            assert sent == received and len(set(sent)) == 40           # the same 40 resets, each seen both ways
    assert all(r['seq'] == 0 for r in resets if r['sport'] == CLOSED)   # the kernel's answer to a SYN
    assert all(r['payload_bytes'] == 0 and r['interface'] == 'lo' and r['state'] is None for r in resets)
    offsets = [r['offset_s'] for r in resets]
    assert offsets == sorted(offsets) and 0 < offsets[0] and offsets[-1] < fact['window_s']
    deltas = fact['counter_deltas']
    # all three ports count: 80 + 80 active resets, 80 closed-port resets; both ends leave ESTABLISHED
    assert deltas['OutRsts'] >= 240 and deltas['EstabResets'] >= 320 and deltas['TCPAbortOnData'] >= 160
    assert fact['kernel_drops'] == 0 and fact['skipped']['count'] == 0
    # IPv6 40 + 20 (IPv4 20 + 20): the 12 bytes of TCP timestamps of the active resets were not even queued
    assert fact['captured_bytes_max'] == 60


def test_injected_resets_with_payload_headers_only():
    """Resets with 100 bytes of payload from an address no socket of this host uses, TTL 250 (what an
    IPS injecting resets looks like): recorded with their TTL and payload length, the payload not captured,
    and no socket of the host sent them (OutRsts does not move)."""
    fact, done, _elapsed = capture({'ports': [PORT], 'duration_s': 2}, rounds=0, flood_s=1, inject=20)
    assert fact['status'] == 'ok', fact['reason']
    assert done['injected'] == 20 and fact['counts'] == {'sent': 20, 'received': 20}
    for record in fact['resets']:
        assert (record['src'], record['sport'], record['dst'], record['ttl']) == ('127.0.0.5', PORT, '127.0.0.1', 250)
        assert record['payload_bytes'] == 100 and record['flags'] == ['RST'] and record['ack'] is None
    assert sorted(r['dport'] for r in fact['resets'] if r['direction'] == 'received') == list(range(40000, 40020))
    assert fact['captured_bytes_max'] == 40                    # of 140 bytes on the wire
    assert fact['counter_deltas']['OutRsts'] == 0              # the host's TCP stack sent none of them


def test_max_packets_bound_holds_under_a_flood():
    fact, done, elapsed = capture({'ports': [PORT], 'duration_s': 20, 'max_packets': 25}, rounds=200, flood_s=8)
    assert fact['status'] == 'partial' and 'stopped after max_packets=25' in fact['reason']
    assert fact['stopped'] == 'max_packets' and len(fact['resets']) == 25
    assert fact['window_s'] < 8 and elapsed < 10          # it did not wait for the 20 s window
    assert done['linger'] > 25


def test_window_bound_holds_while_resets_keep_coming():
    fact, done, elapsed = capture({'ports': [PORT], 'duration_s': 2, 'max_packets': 5000}, rounds=100000,
                                  flood_s=5, pause=0.01)
    assert fact['stopped'] == 'window' and 2 <= fact['window_s'] < 2.5 and elapsed < 8
    # on loopback each reset is seen twice, leaving and arriving; the window's cut can fall between
    # the two sightings of the last one or two resets in flight (CI: sent 315, received 314)
    sent, received = fact['counts']['sent'], fact['counts']['received']
    assert sent > 10 and 0 <= sent - received <= 2
    assert done['ended'] - done['started'] > fact['window_s']          # the flood outlasted the window


def test_default_ports_without_sshd_in_the_namespace():
    fact, _done, _elapsed = capture({'duration_s': 1}, rounds=1, flood_s=1)
    assert fact['ports_source'] in ('default', 'sshd')
    if fact['ports_source'] == 'default':
        assert fact['ports'] == [22] and fact['resets'] == []


def test_the_write_check_fails_a_module_that_writes(tmp_path):
    """The audit hook is what proves "nothing written": a module that writes one file must fail it."""
    writer = tmp_path / 'writer.py'
    writer.write_text('import json\nwith open(%r, "w") as handle:\n    handle.write("x")\n'
                      'print(json.dumps({"changed": False, "ansible_facts": {"connreset_capture": {}}}))\n'
                      % str(tmp_path / 'written'))
    with pytest.raises(AssertionError, match='the module wrote to the host'):
        capture({}, rounds=0, flood_s=1, module=str(writer))
