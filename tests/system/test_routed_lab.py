# -*- coding: utf-8 -*-
# Copyright: (c) 2026, connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's routed hosts (tests/lab/lab up NAME@routed): hosts on their own /24 behind the lab's
router namespace, and each router fault (docs/lab.md "Routed hosts") gives the client symptom
measured there: nat-idle, path-reset, pmtu-icmp and lb-idle, each injected, measured from the
controller with real traffic (OpenSSH with the lab key, Python sockets), undone, and the clean
path checked again.

Traffic goes only to the lab's own addresses (LAB_ID=20: bridge crlab20, 10.213.27.0/24, the
router 10.213.27.254, the routed hosts 10.213.120.0/24), which this module creates and removes.
"""

import errno
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab.py')
LAB_ID = 20
LAB_DIR = '/run/connreset-lab-%d' % LAB_ID
ENV = dict(os.environ, LAB_ID=str(LAB_ID), LAB_DIR=LAB_DIR)
KEY = os.path.join(LAB_DIR, 'id_ed25519')
CONTROLLER = '10.213.%d.1' % (7 + LAB_ID)
ROUTER_WAN = '10.213.%d.254' % (7 + LAB_ID)
ROUTER_LAN = '10.213.%d.1' % (100 + LAB_ID)
ROUTER_NS = 'lab%d-router' % LAB_ID
HOSTS = ('r1', 'r2')
LB_PORT_BASE = 2200
IDLE_S = 3         # nat-idle and lb-idle: --idle
PMTU = 1200        # pmtu-icmp: --mtu (over the server's KEXINIT, under a full-size segment)
# an OpenSSH client whose own handshake packets stay small (its default KEXINIT and sntrup761 key
# exchange fill full-size segments): what is left to stall under pmtu-icmp is the host's bulk output
SMALL_HANDSHAKE = ('-o', 'KexAlgorithms=curve25519-sha256', '-o', 'HostKeyAlgorithms=ssh-ed25519',
                   '-o', 'Ciphers=aes128-ctr', '-o', 'MACs=hmac-sha2-256', '-o', 'PubkeyAcceptedAlgorithms=ssh-ed25519')
BULK = 200000

NEEDED = ('ip', 'unshare', 'nsenter', 'ssh', 'ssh-keygen', 'nft', 'conntrack', 'sysctl')
MISSING = [b for b in NEEDED if not shutil.which(b)] + [
    p for p in ('/usr/sbin/sshd',) if not os.path.exists(p)]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root (network namespaces, bridge, mounts)'),
    pytest.mark.skipif(bool(MISSING), reason='missing binaries: %s' % ' '.join(MISSING)),
]


def lab(*args, timeout=60, check=True):
    proc = subprocess.run([sys.executable, LAB] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=ENV, check=False)
    if check:
        assert proc.returncode == 0, 'lab %s: rc=%s\n%s%s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr)
    return proc


def ssh(address, *extra, port=22, command='true', timeout=30):
    """One fresh OpenSSH connection; (rc, stdout, stderr, elapsed_s). The test's extras come first:
    ssh takes the first value of an option."""
    argv = ['ssh', '-i', KEY, '-p', str(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
            '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ControlMaster=no', '-o', 'ControlPath=none',
            '-o', 'LogLevel=INFO'] + list(extra)
    argv += ['-o', 'ConnectTimeout=5', '-o', 'ServerAliveInterval=3', '-o', 'ServerAliveCountMax=2',
             'root@' + address, command]
    start = time.time()
    proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    return (proc.returncode, proc.stdout.decode(errors='replace'), len(proc.stdout),
            proc.stderr.decode(errors='replace'), time.time() - start)


def outcome(sock, timeout):
    """What the next recv on sock brings within timeout s: ('data', n), ('eof',) for a FIN,
    ('reset',) for a RST, ('timeout',) for nothing; with the seconds it took."""
    sock.settimeout(timeout)
    start = time.time()
    try:
        data = sock.recv(65536)
        got = ('data', len(data)) if data else ('eof',)
    except socket.timeout:
        got = ('timeout',)
    except ConnectionResetError:
        got = ('reset',)
    return got, time.time() - start


def idle_then_use(address, port, idle, wait):
    """A TCP session to sshd: read its banner, stay idle `idle` s, then send the client's banner
    and see what comes back (sshd answers with its KEXINIT)."""
    with socket.create_connection((address, port), timeout=5) as s:
        s.settimeout(5)
        banner = s.recv(256)
        assert banner.startswith(b'SSH-2.0-'), banner
        time.sleep(idle)
        try:
            s.sendall(b'SSH-2.0-connreset_probe\r\n')
        except ConnectionResetError:
            return ('reset',), 0.0
        return outcome(s, wait)


def connect_error(address, port=22, timeout=5):
    """The errno name a connect + first read ends with (None when the server's banner arrives)."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return None if s.recv(256).startswith(b'SSH-2.0-') else 'no banner'
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc))


def parallel(*calls, timeout=40):
    """Run (func, args...) tuples at once; their results, each wait bounded."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(c[0], *c[1:]) for c in calls]
        return [f.result(timeout=timeout) for f in futures]


def nft_counter(table, pattern):
    """The packets counter of the router's rule matching pattern in table ('inet lab_router_reset')."""
    out = subprocess.run(['ip', 'netns', 'exec', ROUTER_NS, 'nft', 'list', 'table'] + table.split(),
                         capture_output=True, text=True, timeout=10, check=True).stdout
    for line in out.splitlines():
        m = re.search(r'counter packets (\d+)', line)
        if m and re.search(pattern, line):
            return int(m.group(1))
    raise AssertionError('no counter matching %r in %s:\n%s' % (pattern, table, out))


def tcp_out_rsts(netns):
    """TCP OutRsts of a network namespace (/proc/net/snmp): the resets its own stack sent."""
    out = subprocess.run(['ip', 'netns', 'exec', netns, 'cat', '/proc/net/snmp'], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    head, values = [line.split() for line in out.splitlines() if line.startswith('Tcp:')][:2]
    return int(values[head.index('OutRsts')])


def router_faults():
    return sorted(json.loads(lab('status', '--json', '--router').stdout)['faults'])


def clean_ok(address, port=22):
    rc, out, _n, err, _t = ssh(address, port=port, command='echo clean')
    assert rc == 0 and out.strip() == 'clean', err


def leftovers():
    """What of lab 20 still exists after down: namespaces (the router's too), links, the route, HAProxy."""
    found = []
    netns = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, timeout=10, check=False).stdout
    found += ['netns ' + line.split()[0] for line in netns.splitlines() if line.startswith('lab%d-' % LAB_ID)]
    links = subprocess.run(['ip', '-o', 'link', 'show'], capture_output=True, text=True, timeout=10, check=False).stdout
    found += ['link ' + m for m in re.findall(r'^\d+: (crlab%d|crl%dv\d+)[@:]' % (LAB_ID, LAB_ID), links, re.M)]
    route = subprocess.run(['ip', 'route', 'show', '10.213.%d.0/24' % (100 + LAB_ID)], capture_output=True,
                           text=True, timeout=10, check=False).stdout
    found += ['route ' + route.strip()] if route.strip() else []
    for d in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                argv = f.read().split(b'\0')
        except (OSError, ValueError):
            continue
        if argv[0].endswith(b'haproxy') and LAB_DIR.encode() in b' '.join(argv):
            found.append('process %s %s' % (d, b' '.join(argv).decode(errors='replace')))
    return found + (['dir ' + LAB_DIR] if os.path.exists(LAB_DIR) else [])


def wait_no_leftovers():
    deadline = time.time() + 10   # the kernel dismantles namespaces asynchronously
    while leftovers() and time.time() < deadline:
        time.sleep(0.2)
    return leftovers()


@pytest.fixture(scope='module')
def routed():
    """One lab (LAB_ID=20) with two light hosts behind the router; always taken down."""
    with open('/proc/sys/net/ipv4/ip_forward') as f:
        forward = f.read()
    start = time.time()
    try:
        up = lab('up', *['%s@routed' % h for h in HOSTS], timeout=60)
        assert '%d host(s) up' % len(HOSTS) in up.stderr, up.stderr
        hosts = dict((h['name'], h) for h in json.loads(lab('status', '--json').stdout))
        yield hosts
    finally:
        lab('down', timeout=60, check=False)
        print('routed lab: %.1f s from up to down' % (time.time() - start))
    assert wait_no_leftovers() == []
    # the router forwards in its own namespace only
    with open('/proc/sys/net/ipv4/ip_forward') as f:
        assert f.read() == forward


def test_clean_router(routed):
    for i, name in enumerate(HOSTS):
        h = routed[name]
        assert h['up'] and h['sshd_alive'], h
        assert h['network'] == 'routed' and h['router'] == ROUTER_WAN, h
        assert h['address'] == '10.213.%d.%d' % (100 + LAB_ID, 11 + i), h
    route = subprocess.run(['ip', 'route', 'show', '10.213.%d.0/24' % (100 + LAB_ID)], capture_output=True,
                           text=True, timeout=10, check=True).stdout
    assert 'via %s ' % ROUTER_WAN in route, route
    assert subprocess.run(['ip', 'netns', 'exec', ROUTER_NS, 'sysctl', '-n', 'net.ipv4.ip_forward'],
                          capture_output=True, text=True, timeout=10, check=False).stdout.strip() == '1'
    for name in HOSTS:
        # routed, not NATed: the host sees the controller's own address; its gateway is the router
        rc, out, _n, err, elapsed = ssh(routed[name]['address'], command='echo $SSH_CLIENT; hostname; ip route')
        assert rc == 0, err
        assert out.split()[0] == CONTROLLER and name in out.split(), out
        assert 'via %s ' % ROUTER_LAN in out, out
        assert elapsed < 10
    assert router_faults() == []


def test_nat_idle(routed):
    """A flow idle longer than the router's NAT timeout is forgotten: its next packets are dropped
    (ct state invalid), no reset from anyone: the client times out. One used within it lives."""
    address = routed['r1']['address']
    lab('fault', 'router', 'nat-idle', '--idle', str(IDLE_S))
    try:
        assert router_faults() == ['nat-idle']
        rc, out, _n, err, _t = ssh(address, command='echo $SSH_CLIENT')
        assert rc == 0 and out.split()[0] == ROUTER_LAN, (out, err)  # masqueraded toward the hosts
        dropped = nft_counter('ip lab_router_nat', r'ct state invalid.*drop')
        within, idle, session = parallel(
            (idle_then_use, address, 22, 1, 5),
            (idle_then_use, address, 22, IDLE_S + 2, 4),
            # an ssh session whose command stays quiet past the timeout: its output and the client's
            # keepalive are both dropped
            (lambda: ssh(address, '-o', 'ServerAliveInterval=%d' % (IDLE_S + 1), '-o', 'ServerAliveCountMax=1',
                         command='sleep %d; echo late' % (IDLE_S + 2)),))
        assert within[0][0] == 'data', within                   # sshd's KEXINIT: the flow lives
        assert idle[0] == ('timeout',) and idle[1] >= 3.5, idle  # no RST, no FIN: silence
        assert nft_counter('ip lab_router_nat', r'ct state invalid.*drop') > dropped
        rc, out, _n, err, elapsed = session
        print('nat-idle: used after %ds %s, idle %ds -> %s after %.1f s; ssh %.1f s: %s'
              % (1, within[0], IDLE_S + 2, idle[0], idle[1], elapsed, err.strip().splitlines()[-1:]))
        assert rc == 255 and 'late' not in out, (out, err)
        assert re.search(r'Timeout, server \S+ not responding', err), err
        assert IDLE_S + 2 <= elapsed <= 30, elapsed
    finally:
        lab('fault', 'router', 'nat-idle', '--undo')
    assert router_faults() == []
    rc, out, _n, err, _t = ssh(address, command='echo $SSH_CLIENT')
    assert rc == 0 and out.split()[0] == CONTROLLER, (out, err)
    idle = idle_then_use(address, 22, IDLE_S + 1, 5)
    assert idle[0][0] == 'data', idle


def test_path_reset(routed):
    """The router resets the flow in the host's name: the client reads ECONNRESET right after the
    handshake, the host's own stack sent no reset (its OutRsts stay the same)."""
    h = routed['r1']
    lab('fault', 'router', 'path-reset')
    try:
        assert router_faults() == ['path-reset']
        rsts = tcp_out_rsts('lab%d-r1' % LAB_ID)
        rejected = nft_counter('inet lab_router_reset', r'reject with tcp reset')
        assert connect_error(h['address']) == 'ECONNRESET'
        rc, _out, _n, err, elapsed = ssh(h['address'])
        assert rc == 255 and re.search(r'connect to host \S+ port 22: Connection reset by peer', err), err
        print('path-reset: ssh %.2f s %s' % (elapsed, err.strip().splitlines()[-1:]))
        assert elapsed < 3, elapsed
        assert nft_counter('inet lab_router_reset', r'reject with tcp reset') > rejected
        assert tcp_out_rsts('lab%d-r1' % LAB_ID) == rsts
    finally:
        lab('fault', 'router', 'path-reset', '--undo')
    assert router_faults() == []
    assert connect_error(h['address']) is None
    clean_ok(h['address'])


def test_pmtu_icmp(routed):
    """A path MTU below 1500 whose ICMP "fragmentation needed" the router drops: small exchanges
    pass, a full-size segment never arrives and nobody says so: bulk output from the host stalls
    until ServerAliveInterval gives up, the default client hangs in its key exchange."""
    address = routed['r1']['address']
    lab('fault', 'router', 'pmtu-icmp', '--mtu', str(PMTU))
    try:
        assert router_faults() == ['pmtu-icmp']
        assert connect_error(address) is None            # handshake and sshd's banner: small
        rc, out, _n, err, _t = ssh(address, *SMALL_HANDSHAKE, command='echo small')
        assert rc == 0 and out.strip() == 'small', err   # a whole ssh session of small packets
        dropped = nft_counter('inet lab_router_pmtu', r'frag-needed.*drop')
        ping = ['ping', '-n', '-c', '1', '-W', '2', '-M', 'do', '-s']
        bulk, default, small_ping, big_ping = parallel(
            (lambda: ssh(address, *SMALL_HANDSHAKE, '-o', 'ServerAliveInterval=2', '-o', 'ServerAliveCountMax=2',
                         command='head -c %d /dev/zero' % BULK),),
            (lambda: ssh(address),),
            (lambda: subprocess.run(ping + ['500', address], capture_output=True, timeout=10, check=False),),
            (lambda: subprocess.run(ping + [str(PMTU), address], capture_output=True, timeout=10, check=False),))
        rc, _out, got, err, elapsed = bulk
        print('pmtu-icmp: bulk %d/%d bytes in %.1f s %s; default ssh %.1f s %s; ping 500 rc %s, %d rc %s'
              % (got, BULK, elapsed, err.strip().splitlines()[-1:], default[4], default[3].strip().splitlines()[-1:],
                 small_ping.returncode, PMTU, big_ping.returncode))
        assert rc == 255 and got < BULK, (got, err)
        assert re.search(r'Timeout, server \S+ not responding', err), err
        assert 3.5 <= elapsed <= 20, elapsed
        assert default[0] == 255 and re.search(r'Connection to \S+ port 22 timed out', default[3]), default
        assert small_ping.returncode == 0 and big_ping.returncode != 0, (small_ping, big_ping)
        assert nft_counter('inet lab_router_pmtu', r'frag-needed.*drop') > dropped
    finally:
        lab('fault', 'router', 'pmtu-icmp', '--undo')
    assert router_faults() == []
    rc, _out, got, err, _t = ssh(address, command='head -c %d /dev/zero' % BULK)
    assert rc == 0 and got == BULK, (got, err)


@pytest.mark.skipif(not shutil.which('haproxy'), reason="lb-idle runs the machine's HAProxy (apt-get install haproxy)")
def test_lb_idle(routed):
    """HAProxy in TCP mode on the router (ROUTER_WAN:2200+octet) closes a connection idle for its
    timeout client/server: an orderly close (FIN, HAProxy logs cD), a session within it lives."""
    lab('fault', 'router', 'lb-idle', '--idle', str(IDLE_S))
    try:
        assert router_faults() == ['lb-idle']
        ports = dict((name, LB_PORT_BASE + int(routed[name]['address'].rsplit('.', 1)[1])) for name in HOSTS)
        for name, port in ports.items():
            assert connect_error(ROUTER_WAN, port) is None, name
        port = ports['r1']

        def idle_close():
            with socket.create_connection((ROUTER_WAN, port), timeout=5) as s:
                s.settimeout(5)
                assert s.recv(256).startswith(b'SSH-2.0-')
                return outcome(s, IDLE_S + 5)
        closed, within, late = parallel(
            (idle_close,),
            (lambda: ssh(ROUTER_WAN, '-o', 'ServerAliveInterval=0', port=port, command='sleep 1; echo $SSH_CLIENT'),),
            (lambda: ssh(ROUTER_WAN, '-o', 'ServerAliveInterval=0', port=port,
                         command='sleep %d; echo late' % (IDLE_S + 2)),))
        print('lb-idle: idle socket %s after %.2f s; ssh within rc %s; ssh late rc %s after %.1f s %s'
              % (closed[0], closed[1], within[0], late[0], late[4], late[3].strip().splitlines()[-1:]))
        assert closed[0] == ('eof',), closed                     # FIN, not RST
        assert IDLE_S - 0.5 <= closed[1] <= IDLE_S + 3, closed
        assert within[0] == 0 and within[1].split()[0] == ROUTER_LAN, within  # the LB's own source address
        assert late[0] == 255 and 'late' not in late[1], late
        assert re.search(r'Connection to %s closed by remote host' % re.escape(ROUTER_WAN), late[3]), late
        assert IDLE_S - 0.5 <= late[4] <= IDLE_S + 5, late
        with open(os.path.join(LAB_DIR, 'router', 'haproxy.log')) as f:
            assert re.search(r' ssh_r1 ssh_r1/r1 \S+ \d+ cD ', f.read())
    finally:
        lab('fault', 'router', 'lb-idle', '--undo')
    assert router_faults() == []
    assert connect_error(ROUTER_WAN, port) == 'ECONNREFUSED'
    clean_ok(routed['r1']['address'])
