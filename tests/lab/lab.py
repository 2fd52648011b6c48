# -*- coding: utf-8 -*-
# Copyright: (c) 2026, connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""connreset lab: real SSH test hosts on one machine, with injected faults.

Every host is a network namespace ``lab-<name>`` joined by a veth pair to the bridge ``crlab0``
(10.213.7.0/24, the controller is 10.213.7.1; no default route, nothing leaves the machine).

* light hosts: own mount/PID/UTS namespaces, an overlay over /etc, a clean /root, tmpfs /run and
  /tmp, their own /var/log and the machine's real /usr/sbin/sshd with per-host host keys.
* systemd hosts: a cached debootstrapped Debian root per suite (bullseye, bookworm, trixie), an
  overlay per host, booted with systemd-nspawn into the host's network namespace.

Run ``lab --help``; docs/lab.md describes every fault and the symptom a client sees.
Needs root. Never changes machine-wide settings: everything it makes lives in its own
namespaces, its own bridge and veths, mounts under the lab dir, and cgroups named connreset-lab.
"""

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SCRIPT = os.path.realpath(__file__)
try:
    # LAB_ID (0-29) lets independent labs coexist (e.g. the system test next to a molecule run):
    # each has its own bridge, /24, veth and namespace names, cgroups and lab dir.
    LAB_ID = int(os.environ.get('LAB_ID', '0'))
    assert 0 <= LAB_ID <= 29
except (ValueError, AssertionError):
    sys.exit('lab: LAB_ID must be a number 0-29')
LAB_DIR = os.path.realpath(os.environ.get('LAB_DIR') or (
    '/run/connreset-lab' if LAB_ID == 0 else '/run/connreset-lab-%d' % LAB_ID))
CACHE_DIR = os.environ.get('LAB_CACHE_DIR', '/var/cache/connreset-lab')
BRIDGE = 'crlab%d' % LAB_ID
NET_PREFIX = '10.213.%d.' % (7 + LAB_ID)
CONTROLLER = NET_PREFIX + '1'
PREFIXLEN = 24
FIRST_HOST = 11
NS_PREFIX = 'lab-' if LAB_ID == 0 else 'lab%d-' % LAB_ID
VETH_PREFIX = 'crl%dv' % LAB_ID
CGROUP_NAME = 'connreset-lab' if LAB_ID == 0 else 'connreset-lab%d' % LAB_ID
# Hosts behind the lab's router (NAME+routed, docs/lab.md "Routed hosts"): their own /24,
# 10.213.(100+ID).0/24 (ID 0-29: 100-129, apart from the bridges' 7-36), behind a router network
# namespace with one leg on the bridge (.254) and a bridge of its own toward the hosts (.1).
ROUTED_PREFIX = '10.213.%d.' % (100 + LAB_ID)
ROUTER_NS = NS_PREFIX + 'router'     # 'router' is no host name (host_specs refuses it)
ROUTER_WAN = NET_PREFIX + '254'      # the router on the controller's bridge (hosts use .11-.210)
ROUTER_LAN = ROUTED_PREFIX + '1'     # the routed hosts' gateway
ROUTER_VETH = VETH_PREFIX + '254'    # root end of the router's leg, a port of the bridge
ROUTER_WAN_DEV, ROUTER_LAN_DEV = 'wan0', 'lan0'
LB_PORT_BASE = 2200                  # lb-idle: HAProxy on ROUTER_WAN:(2200 + last octet) -> host:22
ROUTER_FAULTS = ('nat-idle', 'path-reset', 'pmtu-icmp', 'lb-idle')
CGROUP_HIERARCHIES = ('systemd', 'unified', 'memory')
MTU = 1500
BLACKHOLE_MTU = 1000
LOW_MTU = 1280
SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
            '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'BatchMode=yes',
            '-o', 'LogLevel=INFO']
NAME_RE = re.compile(r'^[a-z][a-z0-9]{0,10}$')
# Debian suites of systemd hosts, from the archive the machine's apt uses. `unified`: booted with a
# pure cgroup v2 hierarchy inside (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1); systemd 257 refuses the
# machine's hybrid v1 layout. Otherwise the hybrid layout with the v1 memory controller made
# writable, so MemoryMax= works.
SUITES = {
    'bullseye': {'release': 'Debian 11', 'unified': False},
    'bookworm': {'release': 'Debian 12', 'unified': False},
    'trixie': {'release': 'Debian 13', 'unified': True},
}
DEFAULT_SUITE = 'bookworm'
ROOTFS_PACKAGES = ('systemd,systemd-sysv,dbus,libpam-systemd,openssh-server,python3,iproute2,'
                   'procps,iptables,nftables,tcpd')
FAULTS = ('sshd-down', 'sshd-crashloop', 'wrappers-deny', 'maxstartups', 'pmtu-blackhole',
          'low-mtu', 'conntrack-limit', 'reset-rule', 'banned', 'keepalive', 'oom', 'penalties',
          'accept-overflow', 'keepalive-mismatch', 'idle-rst', 'svc-crashloop', 'svc-oom')
SYSTEMD_ONLY = ('sshd-crashloop', 'svc-crashloop', 'svc-oom')


class LabError(Exception):
    """A failure with a message for the user (no traceback)."""


def log(msg):
    sys.stderr.write('lab: %s\n' % msg)
    sys.stderr.flush()


def run(argv, check=True, timeout=30, input_=None, quiet=False):
    """Run a command (argument list) with a timeout; return CompletedProcess."""
    try:
        proc = subprocess.run(argv, input=input_, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise LabError('timed out after %ss: %s' % (timeout, ' '.join(argv)))
    except FileNotFoundError:
        raise LabError('command not found: %s' % argv[0])
    if check and proc.returncode != 0:
        raise LabError('%s failed (rc=%s): %s' % (' '.join(argv), proc.returncode,
                                                  (proc.stderr or proc.stdout).strip()))
    if not quiet and proc.returncode != 0 and not check:
        pass
    return proc


# ---------------------------------------------------------------- state
def state_path():
    return os.path.join(LAB_DIR, 'state.json')


def load_state():
    try:
        with open(state_path()) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {'hosts': {}}


def save_state(state):
    os.makedirs(LAB_DIR, exist_ok=True)
    tmp = state_path() + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, state_path())


class Lock(object):
    """An exclusive flock on ``path``, waited for (bounded) at ``interval``; by default one lab
    command at a time (the lock file lives beside the lab dir, not inside)."""

    def __init__(self, path=None, timeout=120, interval=0.1, busy=None):
        self.path = path or LAB_DIR + '.lock'
        self.timeout = timeout
        self.interval = interval
        self.busy = busy or 'another lab command holds %s' % self.path
        self.fd = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path) or '/', exist_ok=True)
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.time() > deadline:
                    os.close(self.fd)
                    raise LabError(self.busy)
                time.sleep(self.interval)

    def __exit__(self, *exc):
        os.close(self.fd)


# ---------------------------------------------------------------- process helpers
def pid_alive(pid):
    if not pid:
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def children(pid):
    out = []
    try:
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                out.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return out


def ns_init_pid(pid, depth=4):
    """The machine PID of the first descendant of pid that is PID 1 of its own PID namespace."""
    frontier = [pid]
    for _level in range(depth):
        nxt = []
        for p in frontier:
            for c in children(p):
                try:
                    with open('/proc/%d/status' % c) as f:
                        for line in f:
                            if line.startswith('NSpid:'):
                                ids = line.split()[1:]
                                if len(ids) > 1 and ids[-1] == '1':
                                    return c
                except OSError:
                    continue
                nxt.append(c)
        frontier = nxt
    return None


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode('utf-8', 'replace') for a in f.read().split(b'\0') if a]
    except OSError:
        return []


def lab_processes():
    """PIDs of this lab's own helper processes (inits, holders, nspawn) found by command line."""
    found = []
    me = os.getpid()
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) == me:
            continue
        argv = cmdline(int(d))
        if SCRIPT in argv and LAB_DIR in argv and set(argv) & {'_init', '_hold', '_burst', '_idlerst'}:
            # the helper itself, and its launchers on the way to it (`ip netns exec NS unshare ...
            # python lab.py _init ...`, then `unshare ...`): an `up` killed half-way leaves them
            found.append(int(d))
        elif len(argv) >= 6 and argv[3] == INIT_MARK and argv[5].startswith(LAB_DIR + '/'):
            found.append(int(d))
        elif argv and argv[0].endswith('haproxy') and any(a.startswith(LAB_DIR + '/router/') for a in argv):
            found.append(int(d))  # lb-idle's HAProxy in the router namespace
        elif argv and argv[0].endswith('systemd-nspawn') and any(
                a.startswith('--network-namespace-path=/run/netns/' + NS_PREFIX) for a in argv) \
                and any(a.startswith('--directory=' + LAB_DIR) for a in argv):
            found.append(int(d))
    return found


def boot_id():
    try:
        with open('/proc/sys/kernel/random/boot_id') as f:
            return f.read().strip()
    except OSError:
        return None


def ours(pid, state):
    """True when pid is alive, this boot's, and its command line mentions the lab dir."""
    if not pid or not pid_alive(pid) or state.get('boot_id') != boot_id():
        return False
    return LAB_DIR in ' '.join(cmdline(pid))


def kill_wait(pids, sig=signal.SIGKILL, timeout=5.0):
    pids = [p for p in pids if p]
    for p in pids:
        try:
            os.kill(p, sig)
        except OSError:
            pass
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------- network
def netns_list():
    proc = run(['ip', 'netns', 'list'], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def ns_has_lab_address(ns):
    proc = run(['ip', '-n', ns, '-o', '-4', 'addr', 'show'], check=False)
    return (' %s' % NET_PREFIX) in proc.stdout or (' %s' % ROUTED_PREFIX) in proc.stdout


def ensure_bridge():
    if run(['ip', 'link', 'show', BRIDGE], check=False).returncode != 0:
        run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'])
    # An explicit MTU: otherwise the bridge follows its smallest port (pmtu-blackhole lowers one).
    run(['ip', 'link', 'set', BRIDGE, 'mtu', str(MTU)])
    addr = '%s/%d' % (CONTROLLER, PREFIXLEN)
    if addr not in run(['ip', '-o', '-4', 'addr', 'show', 'dev', BRIDGE]).stdout:
        run(['ip', 'addr', 'add', addr, 'dev', BRIDGE])
    run(['ip', 'link', 'set', BRIDGE, 'up'])


def setup_router():
    """The router namespace: wan0 on the bridge (ROUTER_WAN), a bridge lan0 toward the routed
    hosts (ROUTER_LAN), IPv4 forwarding on in this namespace only (the machine's own ip_forward and
    firewall are untouched), no default route (it routes between the two /24s and nothing else),
    and the controller's route to the routed /24 via ROUTER_WAN (it goes with the bridge)."""
    rt = ['ip', '-n', ROUTER_NS]
    run(['ip', 'netns', 'add', ROUTER_NS])
    run(['ip', 'link', 'add', ROUTER_VETH, 'mtu', str(MTU), 'type', 'veth', 'peer', 'name', ROUTER_WAN_DEV,
         'mtu', str(MTU), 'netns', ROUTER_NS])
    run(['ip', 'link', 'set', ROUTER_VETH, 'master', BRIDGE, 'up'])
    run(rt + ['addr', 'add', '%s/%d' % (ROUTER_WAN, PREFIXLEN), 'dev', ROUTER_WAN_DEV])
    run(rt + ['link', 'add', ROUTER_LAN_DEV, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'])
    run(rt + ['link', 'set', ROUTER_LAN_DEV, 'mtu', str(MTU)])
    run(rt + ['addr', 'add', '%s/%d' % (ROUTER_LAN, PREFIXLEN), 'dev', ROUTER_LAN_DEV])
    for dev in ('lo', ROUTER_WAN_DEV, ROUTER_LAN_DEV):
        run(rt + ['link', 'set', dev, 'up'])
    router_sysctl('net.ipv4.ip_forward', 1)
    run(['ip', 'route', 'replace', ROUTED_PREFIX + '0/%d' % PREFIXLEN, 'via', ROUTER_WAN, 'dev', BRIDGE])


def router_exec(argv, check=True, timeout=30, input_=None):
    return run(['ip', 'netns', 'exec', ROUTER_NS] + argv, check=check, timeout=timeout, input_=input_)


def router_sysctl(key, value=None):
    """Read or set a sysctl of the router's namespace (per network namespace: net.ipv4.ip_forward,
    the net.netfilter.nf_conntrack_tcp_* timeouts and tcp_loose; the machine's stay as they are)."""
    if value is None:
        return router_exec(['sysctl', '-n', key]).stdout.strip()
    router_exec(['sysctl', '-q', '-w', '%s=%s' % (key, value)])
    return str(value)


def link_ip(host):
    """`ip` for the namespace holding the host's outer veth end: the root (bridge) or the router."""
    return ['ip', '-n', ROUTER_NS] if host.get('network') == 'routed' else ['ip']


def link_bridge(host):
    return ROUTER_LAN_DEV if host.get('network') == 'routed' else BRIDGE


def setup_net(host):
    ns, veth = host['netns'], host['veth']
    run(['ip', 'netns', 'add', ns])
    if host.get('network') == 'routed':
        rt = ['ip', '-n', ROUTER_NS]
        run(rt + ['link', 'add', veth, 'mtu', str(MTU), 'type', 'veth', 'peer', 'name', 'eth0',
                  'mtu', str(MTU), 'netns', ns])
        run(rt + ['link', 'set', veth, 'master', ROUTER_LAN_DEV, 'up'])
        run(['ip', '-n', ns, 'addr', 'add', '%s/%d' % (host['address'], PREFIXLEN), 'dev', 'eth0'])
        run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])
        run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        # the controller's /24 only, no default route: nothing leaves the lab
        run(['ip', '-n', ns, 'route', 'add', NET_PREFIX + '0/%d' % PREFIXLEN, 'via', ROUTER_LAN])
        return
    run(['ip', 'link', 'add', veth, 'mtu', str(MTU), 'type', 'veth', 'peer', 'name', 'eth0',
         'mtu', str(MTU), 'netns', ns])
    run(['ip', 'link', 'set', veth, 'master', BRIDGE, 'up'])
    run(['ip', '-n', ns, 'addr', 'add', '%s/%d' % (host['address'], PREFIXLEN), 'dev', 'eth0'])
    run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])


def listening(pid, port=22):
    """True when a socket listens on port in the network namespace of pid (no connection made,
    so nothing lands in sshd's log)."""
    want = ':%04X' % port
    for fn in ('tcp', 'tcp6'):
        try:
            with open('/proc/%d/net/%s' % (pid, fn)) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(want) and parts[3] == '0A':
                        return True
        except (OSError, StopIteration):
            continue
    return False


def wait_ssh(host, timeout):
    """Poll until sshd listens in the host (bounded); return seconds taken."""
    start = time.time()
    while time.time() - start < timeout:
        if host.get('init_pid') and listening(host['init_pid']):
            return time.time() - start
        if host.get('init_pid') and not pid_alive(host['init_pid']):
            break
        time.sleep(0.02)
    raise LabError('sshd on %s (%s) not listening after %ss: %s' % (
        host['name'], host['address'], timeout, tail(os.path.join(host['dir'], 'console.log'))))


# ---------------------------------------------------------------- keys and files
def keygen(path, comment, ktype='ed25519'):
    run(['ssh-keygen', '-q', '-t', ktype, '-N', '', '-C', comment, '-f', path])


def write(path, content, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(content)
    os.chmod(path, mode)


def whiteout(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.lexists(path):
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


BASE_SSHD = """# connreset lab host %(name)s: base settings (faults add 00-lab-fault-*.conf before this)
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
PermitRootLogin prohibit-password
PasswordAuthentication no
"""


def prepare_etc(host, etc_upper, lower_etc):
    """Fill the host's /etc upper layer before mounting: identity, host keys, sshd drop-in."""
    name = host['name']
    ssh = os.path.join(etc_upper, 'ssh')
    os.makedirs(os.path.join(ssh, 'sshd_config.d'), exist_ok=True)
    # The lower /etc's host keys must not be the host's identity: hide them, make new ones.
    lower_ssh = os.path.join(lower_etc, 'ssh')
    for fn in os.listdir(lower_ssh) if os.path.isdir(lower_ssh) else []:
        if fn.startswith('ssh_host_'):
            whiteout(os.path.join(ssh, fn))
    for ktype in ('ed25519', 'ecdsa'):
        key = os.path.join(ssh, 'ssh_host_%s_key' % ktype)
        for p in (key, key + '.pub'):
            if os.path.lexists(p):
                os.unlink(p)
        keygen(key, 'root@%s' % name, ktype)
    write(os.path.join(ssh, 'sshd_config.d', '50-lab.conf'), BASE_SSHD % {'name': name})
    write(os.path.join(etc_upper, 'hostname'), name + '\n')
    try:
        with open(os.path.join(lower_etc, 'hosts')) as f:
            hosts = f.read()
    except OSError:
        hosts = '127.0.0.1\tlocalhost\n'
    write(os.path.join(etc_upper, 'hosts'), hosts.rstrip('\n') + '\n127.0.1.1\t%s\n%s\tcontroller\n'
          % (name, CONTROLLER))


def prepare_root(root_dir, pubkey):
    os.makedirs(os.path.join(root_dir, '.ssh'), mode=0o700, exist_ok=True)
    os.chmod(root_dir, 0o700)
    os.chmod(os.path.join(root_dir, '.ssh'), 0o700)
    write(os.path.join(root_dir, '.ssh', 'authorized_keys'), pubkey, 0o600)


# ---------------------------------------------------------------- light hosts
def init_main(args):
    """PID 1 of a light host (runs inside its own mount/PID/UTS/net namespaces)."""
    name, hd = args[0], args[1]

    def sh(*argv):
        subprocess.run(argv, check=True, timeout=20)

    sh('mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=/etc,upperdir=%s/etc.upper,workdir=%s/etc.work'
       % (hd, hd), '/etc')
    sh('mount', '--bind', '%s/root' % hd, '/root')
    sh('mount', '--bind', '%s/log' % hd, '/var/log')
    sh('mount', '-t', 'tmpfs', '-o', 'mode=1777,size=64m', 'tmpfs', '/tmp')
    # /run last: the lab dir may live under /run and is hidden from here on.
    sh('mount', '-t', 'tmpfs', '-o', 'mode=755,size=16m', 'tmpfs', '/run')
    os.makedirs('/run/sshd', mode=0o755)
    socket.sethostname(name)
    sh('/usr/sbin/sshd', '-E', '/var/log/auth.log')
    # Become a tiny waiting init (dash, ~1 MB instead of a Python interpreter): its wait reaps
    # every child, including orphaned sshd sessions; PID 1 stays PID 1 across exec.
    os.execv('/bin/sh', ['/bin/sh', '-c', INIT_LOOP, INIT_MARK, name, hd])


INIT_MARK = 'connreset-lab-init'
INIT_LOOP = 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait; done'


def start_light(host, pubkey):
    hd = host['dir']
    for sub in ('etc.upper', 'etc.work', 'root', 'log'):
        os.makedirs(os.path.join(hd, sub), exist_ok=True)
    prepare_etc(host, os.path.join(hd, 'etc.upper'), '/etc')
    prepare_root(os.path.join(hd, 'root'), pubkey)
    write(os.path.join(hd, 'log', 'auth.log'), '', 0o640)
    write(os.path.join(hd, 'log', 'kern.log'), '', 0o640)
    console = open(os.path.join(hd, 'console.log'), 'w')
    proc = subprocess.Popen(
        ['ip', 'netns', 'exec', host['netns'], 'unshare', '--mount', '--uts', '--pid', '--fork',
         '--kill-child', '--mount-proc', '--propagation', 'private',
         sys.executable, SCRIPT, '_init', host['name'], hd, LAB_DIR],
        stdin=subprocess.DEVNULL, stdout=console, stderr=console, start_new_session=True,
        close_fds=True)
    console.close()
    host['launcher_pid'] = proc.pid
    deadline = time.time() + 5
    while time.time() < deadline:
        init = ns_init_pid(proc.pid, depth=1)
        if init:
            host['init_pid'] = init
            break
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    if not host.get('init_pid'):
        raise LabError('host %s: init did not start: %s' % (host['name'], tail(os.path.join(hd, 'console.log'))))


def tail(path, n=5):
    try:
        with open(path, errors='replace') as f:
            return ' | '.join(f.read().strip().splitlines()[-n:])
    except OSError:
        return ''


# ---------------------------------------------------------------- systemd hosts
def apt_mirror():
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    files = ['/etc/apt/sources.list']
    d = '/etc/apt/sources.list.d'
    if os.path.isdir(d):
        files += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    for path in files:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        for m in re.finditer(r'^(?:deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)|URIs:\s*(\S+))', text, re.M):
            uri = m.group(1) or m.group(3)
            if uri and 'security' not in uri and '/debian' in uri:
                return uri
    return 'http://deb.debian.org/debian'


def rootfs_dir(suite=DEFAULT_SUITE):
    """The cached root of a suite: bookworm keeps the historical ``rootfs``, others ``rootfs-<suite>``."""
    return os.path.join(CACHE_DIR, 'rootfs' if suite == DEFAULT_SUITE else 'rootfs-%s' % suite)


def rootfs_stamp(suite=DEFAULT_SUITE):
    return rootfs_dir(suite) + '.stamp'


def dpkg_versions(root, packages=('openssh-server', 'systemd')):
    """{package: Debian version} from a root's dpkg status file (a plain read, nothing runs)."""
    found = {}
    try:
        with open(os.path.join(root, 'var/lib/dpkg/status'), errors='replace') as f:
            text = f.read()
    except OSError:
        return found
    for para in text.split('\n\n'):
        fields = dict(re.findall(r'^(Package|Version|Status): (.*)$', para, re.M))
        if fields.get('Package') in packages and fields.get('Status', '').endswith(' installed'):
            found[fields['Package']] = fields.get('Version')
    return found


def upstream(version):
    """'1:10.0p1-7+deb13u1' -> '10.0p1'; '257.9-1~deb13u1' -> '257.9' (None stays None)."""
    if not version:
        return None
    return version.split(':', 1)[-1].rsplit('-', 1)[0]


def sshd_release(root):
    """The OpenSSH release the root's sshd says it is ('10.0p2': Debian's 1:10.0p1-7 carries the
    10.0p2 fixes), read from its version string (SSH_RELEASE, version.h); None when unreadable."""
    try:
        with open(os.path.join(root, 'usr/sbin/sshd'), 'rb') as f:
            data = f.read(64 << 20)
    except OSError:
        return None
    m = re.search(rb'OpenSSH_(\d+\.\d+p\d+)', data)  # portable releases: p1, p2, ...
    return m.group(1).decode() if m else None


def openssh_at_least(version, major, minor):
    m = re.match(r'^(\d+)\.(\d+)', version or '')
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (major, minor)


def root_info(suite):
    """Suite and versions of a cached root: sshd's own release string, systemd's package version."""
    root = rootfs_dir(suite)
    versions = dpkg_versions(root)
    return {'suite': suite, 'openssh': sshd_release(root) or upstream(versions.get('openssh-server')),
            'systemd': upstream(versions.get('systemd')), 'packages': versions}


def machine_info():
    """What a light host runs: the machine's own sshd (and no systemd: its PID 1 is sh)."""
    suite = None
    try:
        with open('/etc/os-release') as f:
            suite = dict(re.findall(r'^(\w+)=\"?([^\"\n]*)\"?$', f.read(), re.M)).get('VERSION_CODENAME')
    except OSError:
        pass
    versions = dpkg_versions('/', ('openssh-server',))
    return {'suite': suite, 'openssh': sshd_release('/') or upstream(versions.get('openssh-server')), 'systemd': None}


def cache_lock(suite):
    """One build of a suite's root at a time across labs (LAB_IDs share the cache)."""
    path = rootfs_dir(suite) + '.lock'
    return Lock(path, timeout=1200, interval=0.5, busy='another lab is building %s for longer than 20 min' % path)


def build_rootfs(suite=DEFAULT_SUITE):
    """Debootstrap a suite's systemd-host root once per machine; cached with a stamp each."""
    root = rootfs_dir(suite)
    stamp = rootfs_stamp(suite)
    if os.path.exists(stamp) and os.path.isfile(os.path.join(root, 'usr/sbin/sshd')):
        return root
    if not shutil.which('debootstrap') or not shutil.which('systemd-nspawn'):
        raise LabError('systemd hosts need debootstrap and systemd-nspawn '
                       '(apt-get install debootstrap systemd-container)')
    with cache_lock(suite):
        if os.path.exists(stamp) and os.path.isfile(os.path.join(root, 'usr/sbin/sshd')):
            return root  # another lab built it while we waited
        build = root + '.build'
        complete = all(os.path.exists(os.path.join(build, p)) for p in
                       ('usr/sbin/sshd', 'lib/systemd/systemd', 'usr/bin/python3', 'usr/sbin/tcpd'))
        if complete:
            # a debootstrap that was killed after unpacking has no finished dpkg configuration
            complete = dpkg_versions(build).keys() >= {'openssh-server', 'systemd'}
        mirror = apt_mirror()
        if not complete:
            shutil.rmtree(build, ignore_errors=True)
            log('building the %s systemd host root with debootstrap from %s (once, ~60-90 s)' % (suite, mirror))
            run(['debootstrap', '--variant=minbase', '--include=' + ROOTFS_PACKAGES, suite, build, mirror],
                timeout=1200)
        # Each host gets its own machine-id and host keys.
        write(os.path.join(build, 'etc/machine-id'), '')
        for p in ('var/lib/dbus/machine-id',):
            try:
                os.unlink(os.path.join(build, p))
            except OSError:
                pass
        sshdir = os.path.join(build, 'etc/ssh')
        for fn in os.listdir(sshdir):
            if fn.startswith('ssh_host_'):
                os.unlink(os.path.join(sshdir, fn))
        shutil.rmtree(os.path.join(build, 'var/cache/apt/archives'), ignore_errors=True)
        versions = dpkg_versions(build)
        if os.path.exists(root):
            shutil.rmtree(root)
        os.rename(build, root)
        info = {'suite': suite, 'mirror': mirror, 'packages': versions, 'include': ROOTFS_PACKAGES,
                'openssh': sshd_release(root) or upstream(versions.get('openssh-server')),
                'systemd': upstream(versions.get('systemd')),
                'built': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                'command': 'debootstrap --variant=minbase --include=%s %s %s %s' % (
                    ROOTFS_PACKAGES, suite, root, mirror)}
        write(stamp, json.dumps(info, indent=1, sort_keys=True) + '\n')
    return root


def build_roots(suites):
    """Build the roots of several suites at once (debootstrap mostly waits on the network)."""
    suites = sorted(set(suites))
    if not suites:
        return {}
    with ThreadPoolExecutor(max_workers=len(suites)) as pool:
        futures = dict((s, pool.submit(build_rootfs, s)) for s in suites)
    errors = []
    roots = {}
    for suite, fut in futures.items():
        try:
            roots[suite] = fut.result()
        except LabError as exc:
            errors.append('%s: %s' % (suite, exc))
    if errors:
        raise LabError('; '.join(errors))
    return roots


def services_layer_dir(suite):
    """The services layer of a suite: an overlay upper layer over its root holding SERVICES_PACKAGES."""
    return rootfs_dir(suite) + '.services'


def build_services_layer(suite, root):
    """apt-get install SERVICES_PACKAGES into an overlay over the suite's root (systemd-nspawn, no
    service started: policy-rc.d), once per machine; the upper layer is cached with a stamp and
    becomes the middle layer of the hosts that ask for services (the shared root stays as it is)."""
    layer = services_layer_dir(suite)
    stamp = layer + '.stamp'
    if os.path.exists(stamp) and os.path.isfile(os.path.join(layer, 'usr/sbin/haproxy')):
        return layer
    lock = Lock(layer + '.lock', timeout=1200, interval=0.5, busy='another lab is building %s for longer than 20 min' % layer)
    with lock:
        if os.path.exists(stamp) and os.path.isfile(os.path.join(layer, 'usr/sbin/haproxy')):
            return layer
        build, work, merged = layer + '.build', layer + '.work', layer + '.merged'
        for d in (build, work, merged):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
        log('building the %s services layer (%s; once, ~1 min)' % (suite, ' '.join(SERVICES_PACKAGES)))
        run(['mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=%s,upperdir=%s,workdir=%s' % (root, build, work), merged])
        try:
            write(os.path.join(merged, 'usr/sbin/policy-rc.d'), '#!/bin/sh\n# connreset lab: no service starts\nexit 101\n', 0o755)
            run(['systemd-nspawn', '--quiet', '--directory=' + merged, '--register=no', '--keep-unit', '--pipe',
                 '--setenv=DEBIAN_FRONTEND=noninteractive', '/bin/sh', '-c',
                 'apt-get update -qq && apt-get install -y -qq --no-install-recommends %s && apt-get clean && '
                 # hosts boot without them: `lab service` (or a fault) starts what it needs
                 'systemctl disable --quiet nginx.service haproxy.service redis-server.service'
                 % ' '.join(SERVICES_PACKAGES)], timeout=1200)
            os.unlink(os.path.join(merged, 'usr/sbin/policy-rc.d'))
        finally:
            run(['umount', merged], check=False)
        shutil.rmtree(os.path.join(build, 'var/lib/apt/lists'), ignore_errors=True)
        versions = dpkg_versions(build, ('nginx', 'haproxy', 'redis-server', 'gunicorn'))
        shutil.rmtree(layer, ignore_errors=True)
        os.rename(build, layer)
        for d in (work, merged):
            shutil.rmtree(d, ignore_errors=True)
        write(stamp, json.dumps({'suite': suite, 'packages': versions, 'include': list(SERVICES_PACKAGES),
                                 'root': root, 'built': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())},
                                indent=1, sort_keys=True) + '\n')
    return layer


def build_services_layers(suites, roots):
    out = {}
    for suite in suites:
        out[suite] = build_services_layer(suite, roots[suite])
    return out


def cgroup_paths(name):
    return [os.path.join('/sys/fs/cgroup', h, CGROUP_NAME, name) for h in CGROUP_HIERARCHIES
            if os.path.isdir(os.path.join('/sys/fs/cgroup', h))]


def start_systemd(host, pubkey, root, layer=None):
    hd = host['dir']
    upper, work, merged = (os.path.join(hd, d) for d in ('sd.upper', 'sd.work', 'merged'))
    for d in (upper, work, merged):
        os.makedirs(d, exist_ok=True)
    prepare_etc(host, os.path.join(upper, 'etc'), os.path.join(root, 'etc'))
    prepare_root(os.path.join(upper, 'root'), pubkey)
    lower = '%s:%s' % (layer, root) if layer else root
    run(['mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=%s,upperdir=%s,workdir=%s'
         % (lower, upper, work), merged])
    host['mounts'] = [merged]
    cgs = cgroup_paths(host['name'])
    for cg in cgs:
        os.makedirs(cg, exist_ok=True)
    host['cgroups'] = cgs

    def enter_cgroups():
        for cg in cgs:
            with open(os.path.join(cg, 'cgroup.procs'), 'w') as f:
                f.write(str(os.getpid()))

    argv = ['systemd-nspawn', '--quiet', '--directory=' + merged, '--machine=' + host['name'],
            '--register=no', '--keep-unit', '--network-namespace-path=/run/netns/' + host['netns'],
            '--console=read-only', '--capability=CAP_NET_ADMIN,CAP_SYSLOG', '--bind=/dev/kmsg',
            '--kill-signal=SIGRTMIN+3',
            # nspawn mounts the v1 memory controller read-only: PID 1 remounts it so MemoryMax= works
            # (hybrid layout; a unified one has no /sys/fs/cgroup/memory and the mount fails quietly).
            '/bin/sh', '-c', 'mount -o remount,bind,rw /sys/fs/cgroup/memory 2>/dev/null; '
            'exec /lib/systemd/systemd']
    env = dict(os.environ, SYSTEMD_NSPAWN_TMPFS_TMP='1')
    env.pop('SYSTEMD_NSPAWN_UNIFIED_HIERARCHY', None)
    if SUITES[host.get('suite') or DEFAULT_SUITE]['unified']:
        env['SYSTEMD_NSPAWN_UNIFIED_HIERARCHY'] = '1'
    console = open(os.path.join(hd, 'console.log'), 'w')
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console, stderr=console,
                            start_new_session=True, close_fds=True, preexec_fn=enter_cgroups, env=env)
    console.close()
    host['launcher_pid'] = proc.pid
    deadline = time.time() + 10
    while time.time() < deadline:
        init = ns_init_pid(proc.pid, depth=3)
        if init:
            host['init_pid'] = init
            break
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    if not host.get('init_pid'):
        raise LabError('host %s: systemd-nspawn did not start: %s'
                       % (host['name'], tail(os.path.join(hd, 'console.log'))))


# ---------------------------------------------------------------- lifecycle
def cleanup(state=None, quiet=False):
    """Remove everything a lab (this one or a crashed one) made; idempotent."""
    state = state or load_state()
    hosts = list(state.get('hosts', {}).values())
    # 1. processes: holders first, then nspawn (orderly, bounded), then light inits.
    # PIDs from the state file are used only when they still name this lab's processes
    # (same boot, command line mentioning the lab dir): never kill a recycled PID.
    pids = []
    for h in hosts:
        for f in (h.get('faults') or {}).values():
            for key in ('holder_pid', 'relay_pid'):
                if isinstance(f, dict) and f.get(key):
                    pids.append(f[key])
    for f in ((state.get('router') or {}).get('faults') or {}).values():
        if isinstance(f, dict) and f.get('haproxy_pid'):
            pids.append(f['haproxy_pid'])
    pids = [p for p in pids if ours(p, state)]
    scanned = lab_processes()
    holders = [p for p in scanned if set(cmdline(p)) & {'_hold', '_burst', '_idlerst'}
               or (cmdline(p) and cmdline(p)[0].endswith('haproxy'))]
    kill_wait(pids + holders, signal.SIGKILL, 2)
    nspawns = [h['launcher_pid'] for h in hosts if h.get('kind') == 'systemd' and ours(h.get('launcher_pid'), state)]
    nspawns += [p for p in scanned if cmdline(p) and cmdline(p)[0].endswith('systemd-nspawn') and p not in nspawns]
    if nspawns:
        # SIGTERM to nspawn = orderly poweroff of the container (SIGRTMIN+3 to its systemd).
        if not kill_wait(nspawns, signal.SIGTERM, 6):
            leaders = [ns_init_pid(p, 3) for p in nspawns]
            kill_wait([p for p in leaders if p], signal.SIGKILL, 3)
            kill_wait(nspawns, signal.SIGKILL, 3)
    inits = [h.get('init_pid') for h in hosts] + [h.get('launcher_pid') for h in hosts]
    inits = [p for p in inits if ours(p, state)]
    inits += [p for p in scanned if '_init' in cmdline(p) or INIT_MARK in cmdline(p)]
    kill_wait([p for p in inits if p and pid_alive(p)], signal.SIGKILL, 5)
    # a launcher of a crashed `up` may have been between exec()s during the scan: scan again
    # until nothing of the lab runs (bounded)
    for _round in range(10):
        again = lab_processes()
        if not again:
            break
        kill_wait(again, signal.SIGKILL, 2)
        time.sleep(0.2)
    # 2. mounts under the lab dir (systemd hosts' overlays), deepest first.
    for _attempt in range(3):
        mounts = []
        with open('/proc/self/mounts') as f:
            for line in f:
                mp = line.split()[1].replace('\\040', ' ')
                if mp == LAB_DIR or mp.startswith(LAB_DIR + '/'):
                    mounts.append(mp)
        if not mounts:
            break
        for mp in sorted(mounts, key=len, reverse=True):
            run(['umount', mp], check=False)
            if run(['mountpoint', '-q', mp], check=False).returncode == 0:
                run(['umount', '-l', mp], check=False)
    # 3. namespaces (veths go with them), in parallel: the kernel takes ~1 s each to dismantle.
    names = set(h['netns'] for h in hosts if h.get('netns'))
    if state.get('router') or ROUTER_NS in netns_list():
        names.add(ROUTER_NS)
    for ns in netns_list():
        if ns.startswith(NS_PREFIX) and ns not in names and ns_has_lab_address(ns):
            names.add(ns)
    present = set(netns_list())
    procs = [subprocess.Popen(['ip', 'netns', 'del', ns], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for ns in names if ns in present]
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    # 4. the controller's route to the routed /24 (it would go with the bridge), veths left in the
    # root namespace, then the bridge.
    if ('via %s ' % ROUTER_WAN) in run(['ip', 'route', 'show', ROUTED_PREFIX + '0/%d' % PREFIXLEN], check=False).stdout:
        run(['ip', 'route', 'del', ROUTED_PREFIX + '0/%d' % PREFIXLEN, 'via', ROUTER_WAN], check=False)
    proc = run(['ip', '-o', 'link', 'show', 'master', BRIDGE], check=False)
    for line in proc.stdout.splitlines():
        dev = line.split(':')[1].strip().split('@')[0]
        if dev.startswith(VETH_PREFIX):
            run(['ip', 'link', 'del', dev], check=False)
    for h in hosts:
        if h.get('veth') and run(['ip', 'link', 'show', h['veth']], check=False).returncode == 0:
            run(['ip', 'link', 'del', h['veth']], check=False)
    if run(['ip', 'link', 'show', BRIDGE], check=False).returncode == 0:
        run(['ip', 'link', 'del', BRIDGE], check=False)
    # 5. cgroups (bounded: they empty a moment after their processes die).
    for h in hosts:
        for cg in h.get('cgroups') or []:
            rm_cgroup(cg)
    for hier in CGROUP_HIERARCHIES:
        base = os.path.join('/sys/fs/cgroup', hier, CGROUP_NAME)
        if os.path.isdir(base):
            for d in os.listdir(base):
                if os.path.isdir(os.path.join(base, d)):
                    rm_cgroup(os.path.join(base, d))
            rm_cgroup(base)
    # 6. nspawn's propagation dirs (/run is not tmpfs here) and the lab dir itself.
    for h in hosts:
        if h.get('kind') == 'systemd':
            shutil.rmtree('/run/systemd/nspawn/propagate/' + h['name'], ignore_errors=True)
    if os.path.isdir(LAB_DIR):
        still = [line.split()[1] for line in open('/proc/self/mounts') if line.split()[1].startswith(LAB_DIR + '/')]
        if still:
            raise LabError('mounts remain under %s: %s' % (LAB_DIR, still))
        shutil.rmtree(LAB_DIR, ignore_errors=True)
    if not quiet:
        log('lab is down')


def rm_cgroup(path):
    deadline = time.time() + 5
    while os.path.isdir(path) and time.time() < deadline:
        # children first (systemd inside a container makes its own)
        for root, dirs, _files in os.walk(path, topdown=False):
            for d in dirs:
                try:
                    os.rmdir(os.path.join(root, d))
                except OSError:
                    pass
        try:
            os.rmdir(path)
        except OSError:
            time.sleep(0.1)


# inotify instances one systemd host takes from root's machine-wide fs.inotify.max_user_instances
# (measured: PID 1 5, dbus-daemon 1, agetty 1, logind 1 once started, and 3 for each user manager
# a login starts; user namespaces do not help: the kernel charges their creator, root, as well).
# Light hosts take none. The lab never raises the limit (a machine-wide setting).
INOTIFY_PER_SYSTEMD_HOST = 11
INOTIFY_MARGIN = 8


def inotify_in_use():
    """inotify instances open on this machine (all of them count against root's limit here)."""
    n = 0
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            for fd in os.listdir('/proc/%s/fd' % d):
                try:
                    if os.readlink('/proc/%s/fd/%s' % (d, fd)) == 'anon_inode:inotify':
                        n += 1
                except OSError:
                    continue
        except OSError:
            continue
    return n


def capacity():
    """How many more systemd hosts this machine's inotify limit leaves room for."""
    try:
        with open('/proc/sys/fs/inotify/max_user_instances') as f:
            limit = int(f.read())
    except (OSError, ValueError):
        limit = 128
    used = inotify_in_use()
    return {'systemd_hosts': max(0, (limit - used - INOTIFY_MARGIN) // INOTIFY_PER_SYSTEMD_HOST),
            'inotify_max_user_instances': limit, 'inotify_in_use': used,
            'per_systemd_host': INOTIFY_PER_SYSTEMD_HOST}


def cmd_capacity(args):
    print(json.dumps(capacity(), sort_keys=True))


SERVICES_SUFFIX = '+services'
ROUTED_SUFFIX = '+routed'
ROUTED_AT = '@routed'


def host_specs(args):
    """[(name, kind, suite)] from NAME[:KIND[@SUITE]] arguments or --hosts N (--kind, --suite).
    The suite is a systemd host's Debian release; a light host runs the machine's own sshd."""
    default_suite = getattr(args, 'suite', None)
    args.routed = set()
    if args.names:
        specs = []
        for item in args.names:
            # layers after the host: NAME[:KIND[@SUITE]][+services][+routed], in either order;
            # NAME@routed / NAME:KIND@routed say +routed where a suite would stand ('routed' is no suite)
            for _round in range(2):
                if item.endswith(SERVICES_SUFFIX):
                    # a systemd host gets the suite's services layer
                    item = item[:-len(SERVICES_SUFFIX)]
                    args.with_services = getattr(args, 'with_services', set()) | {item.partition(':')[0].partition('@')[0]}
                elif item.endswith(ROUTED_SUFFIX) or item.endswith(ROUTED_AT):
                    # the host sits behind the lab's router, on the routed /24
                    item = item[:-len(ROUTED_SUFFIX)]
                    args.routed.add(item.partition(':')[0])
            name, _sep, rest = item.partition(':')
            kind, _at, suite = rest.partition('@')
            if '@' in name:
                raise LabError('bad host %r: the suite goes after the kind, NAME:systemd@SUITE' % item)
            specs.append((name, kind or args.kind, suite or None))
    else:
        specs = [('h%d' % i, args.kind, None) for i in range(1, args.hosts + 1)]
        if getattr(args, 'all_routed', False):
            args.routed = set(n for n, _k, _s in specs)
    out = []
    for name, kind, suite in specs:
        if not NAME_RE.match(name):
            raise LabError('bad host name %r: use 1-11 lowercase letters/digits, starting with a letter' % name)
        if name == 'router':
            raise LabError("'router' is the lab's router (lab fault router FAULT), not a host name")
        if kind not in ('light', 'systemd'):
            raise LabError('bad kind %r for host %s: light or systemd' % (kind, name))
        if kind == 'light':
            if suite:
                raise LabError('host %s: a suite (@%s) needs a systemd host (%s:systemd@%s); light hosts run '
                               "the machine's own sshd" % (name, suite, name, suite))
        else:
            suite = suite or default_suite or DEFAULT_SUITE
            if suite not in SUITES:
                raise LabError('host %s: unknown suite %r (one of: %s)' % (name, suite, ', '.join(sorted(SUITES))))
        out.append((name, kind, suite if kind == 'systemd' else None))
    names = [n for n, _k, _s in out]
    if len(set(names)) != len(names):
        raise LabError('duplicate host names: %s' % ' '.join(names))
    if not 1 <= len(names) <= 200:
        raise LabError('between 1 and 200 hosts')
    return out


def cmd_up(args):
    if os.geteuid() != 0:
        raise LabError('the lab needs root (namespaces, bridge, mounts)')
    specs = host_specs(args)
    wanted = len([1 for _n, k, _s in specs if k == 'systemd'])
    if wanted:
        # this lab's own hosts are about to be torn down: what they hold comes back
        room = capacity()
        mine = len([h for h in load_state().get('hosts', {}).values()
                    if h.get('kind') == 'systemd' and pid_alive(h.get('init_pid'))])
        if wanted > room['systemd_hosts'] + mine:
            raise LabError('%d systemd hosts need ~%d inotify instances (%d each); fs.inotify.max_user_instances is %d '
                           'and %d are in use: at most %d at once here (bring them up in batches)' % (
                               wanted, wanted * INOTIFY_PER_SYSTEMD_HOST, INOTIFY_PER_SYSTEMD_HOST,
                               room['inotify_max_user_instances'], room['inotify_in_use'],
                               room['systemd_hosts'] + mine))
    roots = build_roots([s for _n, k, s in specs if k == 'systemd'])
    with_services = getattr(args, 'with_services', set())
    layers = build_services_layers(sorted(set(s for n, k, s in specs if k == 'systemd' and n in with_services)), roots)
    infos = dict((suite, root_info(suite)) for suite in roots)
    light_info = machine_info()
    cleanup(quiet=True)
    os.makedirs(LAB_DIR, mode=0o700, exist_ok=True)
    state = {'lab_dir': LAB_DIR, 'bridge': BRIDGE, 'boot_id': boot_id(), 'controller': CONTROLLER, 'hosts': {},
             'key': os.path.join(LAB_DIR, 'id_ed25519'), 'created': time.time()}
    routed = getattr(args, 'routed', set())
    if routed:
        state['router'] = {'netns': ROUTER_NS, 'wan': ROUTER_WAN, 'lan': ROUTER_LAN, 'veth': ROUTER_VETH,
                           'subnet': ROUTED_PREFIX + '0/%d' % PREFIXLEN, 'faults': {}}
    for i, (name, kind, suite) in enumerate(specs):
        info = infos[suite] if kind == 'systemd' else light_info
        state['hosts'][name] = {
            'name': name, 'kind': kind, 'network': 'routed' if name in routed else 'bridge',
            'address': (ROUTED_PREFIX if name in routed else NET_PREFIX) + str(FIRST_HOST + i),
            'netns': NS_PREFIX + name, 'veth': '%s%d' % (VETH_PREFIX, FIRST_HOST + i),
            'dir': os.path.join(LAB_DIR, 'hosts', name), 'faults': {},
            'suite': info.get('suite'), 'openssh': info.get('openssh'), 'systemd': info.get('systemd'),
            'services_layer': layers.get(suite) if kind == 'systemd' and name in with_services else None}
    save_state(state)  # before creating anything: a crash leaves a map for cleanup
    started = time.time()
    try:
        keygen(state['key'], 'connreset-lab')
        with open(state['key'] + '.pub') as f:
            pubkey = f.read()
        ensure_bridge()
        if state.get('router'):
            setup_router()
        hosts = list(state['hosts'].values())

        def one(host):
            os.makedirs(host['dir'], exist_ok=True)
            setup_net(host)
            if host['kind'] == 'light':
                start_light(host, pubkey)
            else:
                start_systemd(host, pubkey, roots[host['suite']], host.get('services_layer'))
            wait_ssh(host, 60 if host['kind'] == 'systemd' else 10)
            host['ready_s'] = round(time.time() - started, 3)
            return host

        with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
            futures = [pool.submit(one, h) for h in hosts]
            errors = []
            for fut in futures:
                try:
                    fut.result()
                except Exception as exc:  # collect every host's error, then fail once
                    errors.append(str(exc))
        save_state(state)
        if errors:
            raise LabError('; '.join(errors))
    except BaseException:
        log('up failed: cleaning up')
        try:
            cleanup(state, quiet=True)
        except Exception as exc:
            log('cleanup after failure: %s' % exc)
        raise
    state['up_s'] = round(time.time() - started, 3)
    save_state(state)
    log('%d host(s) up in %.2f s (start to ssh-ready)' % (len(specs), state['up_s']))
    write_inventory(state, os.path.join(LAB_DIR, 'inventory.ini'), 'ini')
    print_status(state)


def cmd_down(args):
    cleanup()


# ---------------------------------------------------------------- exec
def nsenter_argv(host):
    pid = host.get('init_pid')
    if not pid or not pid_alive(pid):
        raise LabError('host %s is not running' % host['name'])
    # Safety: the PID must be in the host's own network namespace and NOT in the machine's mount
    # namespace, so a command can never land on (and a fault never write into) the machine itself.
    try:
        same_net = os.stat('/run/netns/' + host['netns']).st_ino == os.stat('/proc/%d/ns/net' % pid).st_ino
        own_mnt = os.readlink('/proc/self/ns/mnt') != os.readlink('/proc/%d/ns/mnt' % pid)
    except OSError:
        same_net = own_mnt = False
    if not (same_net and own_mnt):
        raise LabError('host %s: PID %s is not the host (stale lab state? run lab down; lab up)' % (host['name'], pid))
    flags = ['-m', '-u', '-n', '-p']
    if host['kind'] == 'systemd':
        flags.append('-i')
    return ['nsenter', '-t', str(host['init_pid'])] + flags + ['--']


def hexec(host, argv, check=True, timeout=30, input_=None):
    return run(nsenter_argv(host) + argv, check=check, timeout=timeout, input_=input_)


def get_host(state, name):
    try:
        return state['hosts'][name]
    except KeyError:
        raise LabError('no lab host %r (hosts: %s)' % (name, ' '.join(sorted(state['hosts'])) or 'none: run lab up'))


def cmd_exec(args):
    state = load_state()
    host = get_host(state, args.host)
    argv = list(args.cmd)
    if argv and argv[0] == '--':
        argv = argv[1:]
    if not argv:
        argv = ['/bin/sh']
    full = nsenter_argv(host) + argv
    os.execvp(full[0], full)


def host_read(host, path):
    proc = hexec(host, ['cat', path], check=False)
    return proc.stdout if proc.returncode == 0 else None


def host_write(host, path, content):
    hexec(host, ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', path], input_=content)


def host_rm(host, path):
    hexec(host, ['rm', '-f', path], check=False)


# ---------------------------------------------------------------- sshd control
def sshd_pid(host):
    """The listener's PID inside the host (None when not running)."""
    if host['kind'] == 'systemd':
        proc = hexec(host, ['systemctl', 'show', '-p', 'MainPID', '--value', 'ssh.service'], check=False)
        pid = proc.stdout.strip()
        return int(pid) if pid.isdigit() and pid != '0' else None
    proc = hexec(host, ['sh', '-c', 'p=$(cat /run/sshd.pid 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"'],
                 check=False)
    pid = proc.stdout.strip()
    return int(pid) if pid.isdigit() else None


def sshd_ctl(host, action):
    if host['kind'] == 'systemd':
        if action == 'start':
            hexec(host, ['systemctl', 'reset-failed', 'ssh.service'], check=False)
        hexec(host, ['systemctl', action, 'ssh.service'])
        return
    if action == 'start':
        if not sshd_pid(host):
            hexec(host, ['/usr/sbin/sshd', '-E', '/var/log/auth.log'])
    elif action == 'stop':
        pid = sshd_pid(host)
        if pid:
            hexec(host, ['kill', '-TERM', str(pid)])
            wait_for(lambda: not sshd_pid(host), 5, 'sshd on %s to stop' % host['name'])
    elif action == 'reload':
        pid = sshd_pid(host)
        if not pid:
            raise LabError('sshd is not running on %s' % host['name'])
        hexec(host, ['kill', '-HUP', str(pid)])
        # sshd re-executes itself on SIGHUP: wait until it listens again
        time.sleep(0.3)
        wait_ssh(host, 5)


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise LabError('timed out after %ss waiting for %s' % (timeout, what))


def sshd_dropin(host, fault, text):
    path = '/etc/ssh/sshd_config.d/00-lab-fault-%s.conf' % fault
    if text is None:
        host_rm(host, path)
    else:
        host_write(host, path, '# connreset lab fault %s\n%s' % (fault, text))
    check = hexec(host, ['/usr/sbin/sshd', '-t'], check=False)
    if check.returncode != 0:
        raise LabError('sshd -t on %s: %s' % (host['name'], check.stderr.strip()))


# ---------------------------------------------------------------- faults
def fault_sshd_down(state, host, undo, opts):
    sshd_ctl(host, 'start' if undo else 'stop')
    return {}


def fault_sshd_crashloop(state, host, undo, opts):
    if undo:
        sshd_ctl(host, 'start')
        return {}
    info = crashloop_unit(host, 'ssh.service')
    info.pop('unit')
    return info


def fault_wrappers_deny(state, host, undo, opts):
    info = host['faults'].get('wrappers-deny') or {}
    if undo:
        original = info.get('original')
        if original is None:
            host_rm(host, '/etc/hosts.deny')
        else:
            host_write(host, '/etc/hosts.deny', original)
        return {}
    original = host_read(host, '/etc/hosts.deny')
    text = (original or '').rstrip('\n')
    text += '\n# connreset lab fault wrappers-deny: the controller may not use sshd\nsshd: %s\n' % CONTROLLER
    host_write(host, '/etc/hosts.deny', text.lstrip('\n'))
    return {'original': original}


def fault_maxstartups(state, host, undo, opts):
    info = host['faults'].get('maxstartups') or {}
    if undo:
        if ours(info.get('holder_pid'), state):
            kill_wait([info.get('holder_pid')], signal.SIGKILL, 3)
        sshd_dropin(host, 'maxstartups', None)
        sshd_ctl(host, 'reload')
        return {}
    sshd_dropin(host, 'maxstartups', 'MaxStartups 1:100:1\n')
    sshd_ctl(host, 'reload')
    held = opts.get('held') or 1
    holder = subprocess.Popen(
        [sys.executable, SCRIPT, '_hold', host['address'], str(held), str(opts.get('hold_s') or 3600), LAB_DIR],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(host['dir'], 'holder.log'), 'w'), start_new_session=True, close_fds=True)
    # wait until the holder owns its pre-auth connections (bounded)
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            with open(os.path.join(host['dir'], 'holder.log')) as f:
                if 'holding' in f.read():
                    break
        except OSError:
            pass
        time.sleep(0.05)
    return {'holder_pid': holder.pid, 'held': held, 'maxstartups': '1:100:1'}


def hold_main(args):
    """Hold N pre-authentication connections open (read the banner, send nothing)."""
    address, n, life = args[0], int(args[1]), float(args[2])
    end = time.time() + life
    conns = []
    reported = False
    next_try = 0.0
    while time.time() < end:
        conns = [c for c in conns if alive_sock(c)]
        while len(conns) < n and time.time() >= next_try:
            try:
                s = socket.create_connection((address, 22), timeout=3)
                s.settimeout(3)
                banner = s.recv(256)
            except OSError:
                next_try = time.time() + 5
                break
            if not banner.startswith(b'SSH-'):
                # dropped past MaxStartups: the slots are full; look again later, not in a storm
                s.close()
                next_try = time.time() + 10
                break
            s.setblocking(False)
            conns.append(s)
        if conns and not reported:
            sys.stderr.write('holding %d\n' % len(conns))
            sys.stderr.flush()
            reported = True
        time.sleep(1)


def alive_sock(s):
    try:
        data = s.recv(4096)
        if data == b'':
            s.close()
            return False
        return True
    except BlockingIOError:
        return True
    except OSError:
        s.close()
        return False


def fault_pmtu_blackhole(state, host, undo, opts):
    # The bridge-side veth gets a smaller MTU than the host's eth0 (1500) and the bridge (1500):
    # frames larger than the receiving device's MTU are dropped silently (no ICMP at layer 2),
    # in both directions. Small packets pass; TCP segments of full size vanish.
    mtu = MTU if undo else int(opts.get('mtu') or BLACKHOLE_MTU)
    run(link_ip(host) + ['link', 'set', host['veth'], 'mtu', str(mtu)])
    run(link_ip(host) + ['link', 'set', link_bridge(host), 'mtu', str(MTU)])
    return {} if undo else {'bridge_port_mtu': mtu, 'host_mtu': MTU}


def fault_low_mtu(state, host, undo, opts):
    mtu = MTU if undo else int(opts.get('mtu') or LOW_MTU)
    run(link_ip(host) + ['link', 'set', host['veth'], 'mtu', str(mtu)])
    run(['ip', '-n', host['netns'], 'link', 'set', 'eth0', 'mtu', str(mtu)])
    run(link_ip(host) + ['link', 'set', link_bridge(host), 'mtu', str(MTU)])
    return {} if undo else {'mtu': mtu}


def nft(host, script):
    hexec(host, ['nft', '-f', '-'], input_=script)


def fault_conntrack_limit(state, host, undo, opts):
    if undo:
        hexec(host, ['nft', 'delete', 'table', 'inet', 'ct_limit'], check=False)
        return {}
    limit = int(opts.get('limit') if opts.get('limit') is not None else 0)
    # connlimit counts tracked connections in this namespace only; the machine-wide
    # nf_conntrack_max is left alone (it is read-only in a non-initial namespace anyway).
    nft(host, 'table inet ct_limit {\n chain input {\n  type filter hook input priority filter; policy accept;\n'
              '  tcp dport 22 ct state new ct count over %d counter drop\n }\n}\n' % limit)
    return {'limit': limit, 'table': 'inet ct_limit'}


def fault_reset_rule(state, host, undo, opts):
    """The host's own firewall resets established flows to a port (``--port``, default 22: sshd)."""
    port = int(opts.get('port') or 22)
    if not 1 <= port <= 65535:
        raise LabError('--port must be 1-65535 for reset-rule')
    rule = ['INPUT', '-p', 'tcp', '--dport', str(port), '-m', 'conntrack', '--ctstate', 'ESTABLISHED',
            '-j', 'REJECT', '--reject-with', 'tcp-reset']
    if undo:
        hexec(host, ['iptables', '-D'] + rule, check=False)
        return {}
    hexec(host, ['iptables', '-I'] + rule)
    return {'rule': 'iptables -I ' + ' '.join(rule)}


def fault_banned(state, host, undo, opts):
    # What fail2ban's default banaction (iptables-multiport, blocktype REJECT --reject-with
    # icmp-port-unreachable) creates for jail "sshd" when it bans an address.
    if undo:
        hexec(host, ['iptables', '-D', 'INPUT', '-p', 'tcp', '-m', 'multiport', '--dports', '22',
                     '-j', 'f2b-sshd'], check=False)
        hexec(host, ['iptables', '-F', 'f2b-sshd'], check=False)
        hexec(host, ['iptables', '-X', 'f2b-sshd'], check=False)
        return {}
    hexec(host, ['iptables', '-N', 'f2b-sshd'])
    hexec(host, ['iptables', '-A', 'f2b-sshd', '-j', 'RETURN'])
    hexec(host, ['iptables', '-I', 'INPUT', '-p', 'tcp', '-m', 'multiport', '--dports', '22', '-j', 'f2b-sshd'])
    hexec(host, ['iptables', '-I', 'f2b-sshd', '1', '-s', CONTROLLER, '-j', 'REJECT',
                 '--reject-with', 'icmp-port-unreachable'])
    return {'chain': 'f2b-sshd', 'banned': CONTROLLER}


def fault_keepalive(state, host, undo, opts):
    info = host['faults'].get('keepalive') or {}
    if undo:
        if info.get('previous'):
            run(['ip', 'netns', 'exec', host['netns'], 'sysctl', '-q', '-w',
                 'net.ipv4.tcp_keepalive_time=%s' % info['previous']])
        sshd_dropin(host, 'keepalive', None)
        sshd_ctl(host, 'reload')
        return {}
    previous = run(['ip', 'netns', 'exec', host['netns'], 'sysctl', '-n', 'net.ipv4.tcp_keepalive_time']).stdout.strip()
    # per network namespace: the machine's own value is untouched
    run(['ip', 'netns', 'exec', host['netns'], 'sysctl', '-q', '-w', 'net.ipv4.tcp_keepalive_time=7200'])
    sshd_dropin(host, 'keepalive', 'ClientAliveInterval 0\nTCPKeepAlive yes\n')
    sshd_ctl(host, 'reload')
    return {'previous': previous, 'tcp_keepalive_time': 7200, 'client_alive_interval': 0}


PENALTY_ATTEMPTS = 6


def penalised(host, timeout=3):
    """One raw TCP connection from the controller: (refused, first bytes).  sshd >= 9.8 writes
    'Not allowed at this time' and closes a connection under a penalty (sshd.c drop_connection(),
    V_9_8_P1..V_10_0_P2) and logs `drop connection #N from [A]:P on [B]:22 penalty: <reason>`."""
    try:
        with socket.create_connection((host['address'], 22), timeout=timeout) as s:
            s.settimeout(timeout)
            # a close right after the banner adds a 1 s "noauth" penalty, far below min:
            data = s.recv(256)
    except OSError as exc:
        return False, 'error: %s' % exc
    text = data.decode('ascii', 'replace').strip()
    return not data.startswith(b'SSH-'), text


def fault_penalties(state, host, undo, opts):
    """PerSourcePenalties tuned so that two failed key logins from the controller earn it
    an active penalty (srclimit.c srclimit_penalise(), V_9_8_P1..V_10_0_P2: a penalty becomes
    active once its accumulated time exceeds min:), then failed logins until it is refused."""
    if undo:
        sshd_dropin(host, 'penalties', None)
        sshd_ctl(host, 'reload')  # a reload re-executes sshd: its penalty table starts empty
        return {}
    if not openssh_at_least(host.get('openssh'), 9, 8):
        raise LabError('fault penalties needs OpenSSH >= 9.8 (PerSourcePenalties); %s runs OpenSSH %s (%s): '
                       'use a trixie host (lab up NAME:systemd@trixie)' % (
                           host['name'], host.get('openssh') or 'unknown', host.get('suite') or 'unknown'))
    duration = int(opts.get('penalty_s') or 30)
    if not 20 <= duration <= 600:
        raise LabError('--penalty-s must be 20-600 (seconds the controller stays penalised)')
    # first failure: authfail == min, not above it: deferred; the second adds as much again: active,
    # ending about `duration` s after the first (max: caps the sum)
    half = (duration + 1) // 2
    setting = 'authfail:%ds min:%ds max:%ds' % (half, half, duration)
    sshd_dropin(host, 'penalties', 'PerSourcePenalties %s\n' % setting)
    sshd_ctl(host, 'reload')
    key = os.path.join(LAB_DIR, 'penalty_key')
    if not os.path.exists(key):
        keygen(key, 'connreset-lab-unauthorised')
    failed = 0
    client = ''
    started = time.time()
    attempts = 0
    while attempts < PENALTY_ATTEMPTS:
        # a real failed login: OpenSSH's client offers a key the host does not authorise. Nothing
        # else connects in between: every new penalty replaces the reason sshd will log.
        proc = run(['ssh', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
                    '-o', 'ConnectTimeout=5'] + SSH_OPTS + ['root@' + host['address'], 'true'],
                   check=False, timeout=15)
        if 'Connection refused' in proc.stderr and not failed and time.time() - started < 15:
            # the reload is still under way: a SIGHUP makes sshd close its listener and re-execute
            # itself (sshd.c sighup_restart()), and `systemctl reload` does not wait for that
            time.sleep(0.2)
            continue
        attempts += 1
        if 'Permission denied' in proc.stderr:
            failed += 1
            continue
        client = proc.stderr.strip()
        break
    refused, seen = penalised(host) if client else (False, '')
    if not refused:
        raise LabError('%s: not penalised after %d failed logins (PerSourcePenalties %s): %s'
                       % (host['name'], failed, setting, client or seen or 'every login was denied'))
    until = started + 2 * half
    info = {'persourcepenalties': setting, 'failed_logins': failed, 'controller': CONTROLLER,
            'openssh_client_sees': client, 'raw_client_reads': seen, 'penalised_until': round(until, 1)}
    if opts.get('wait'):
        # what an operator finds afterwards: the penalty over, its drops in sshd's log
        deadline = until + 30
        while time.time() < deadline:
            refused, _seen = penalised(host)
            if not refused:
                break
            time.sleep(max(1.0, min(5.0, until - time.time())))
        if refused:
            raise LabError('%s: still penalised %d s after the last failed login' % (host['name'], duration + 30))
        info['expired'] = round(time.time(), 1)
    return info


OOM_HOG = ('import time\nb = []\nfor _ in range(4096):\n    b.append(bytearray(1 << 20))\n'
           '    time.sleep(0.002)\ntime.sleep(60)\n')


def fault_oom(state, host, undo, opts):
    if host['kind'] == 'systemd':
        unit = 'lab-oom-hog.service'
        if undo:
            hexec(host, ['systemctl', 'stop', unit], check=False)
            hexec(host, ['systemctl', 'reset-failed', unit], check=False)
            return {}
        hexec(host, ['systemctl', 'reset-failed', unit], check=False)
        unified = SUITES[host.get('suite') or DEFAULT_SUITE]['unified']
        # A unified (cgroup v2) host has no memory controller here (the machine binds it to v1):
        # MemoryMax= is recorded but cannot act, so the lab moves the hog into a v1 memory cgroup
        # of the host's own (24M) from outside, before it allocates.
        hog = ('import time\ntime.sleep(1.5)\n' + OOM_HOG) if unified else OOM_HOG
        hexec(host, ['systemd-run', '--unit', unit, '-p', 'MemoryMax=24M', '-p', 'MemorySwapMax=0',
                     '--description', 'connreset lab memory hog', '/usr/bin/python3', '-c', hog])
        memcg = None
        if unified:
            memcg = limit_memory_v1(host, unit, 24 << 20)

        def done():
            out = hexec(host, ['systemctl', 'show', '-p', 'ActiveState,Result', unit], check=False).stdout
            return 'ActiveState=failed' in out or 'Result=oom-kill' in out
        wait_for(done, 20, 'the OOM kill in %s on %s' % (unit, host['name']))
        out = hexec(host, ['systemctl', 'show', '-p', 'Result,ExecMainStatus', unit], check=False).stdout
        return {'unit': unit, 'memory_max': '24M', 'show': out.strip().replace('\n', ' '),
                'v1_memory_cgroup': memcg}
    # light hosts share the machine's kernel: write the lines a kernel OOM kill of sshd leaves in
    # the host's /var/log/kern.log (rsyslog on bookworm: RFC 3339 time, host, "kernel:" and the
    # [uptime] prefix), and kill sshd the way the OOM killer does (SIGKILL).
    if undo:
        sshd_ctl(host, 'start')
        return {}
    pid = sshd_pid(host) or 4242
    lines = oom_lines(host['name'], pid, memcg_of(host, pid))
    old = host_read(host, '/var/log/kern.log') or ''
    host_write(host, '/var/log/kern.log', old + ''.join(lines))
    if sshd_pid(host):
        hexec(host, ['kill', '-KILL', str(pid)], check=False)
        wait_for(lambda: not sshd_pid(host), 5, 'sshd on %s to die' % host['name'])
    if opts.get('respawn'):
        # what a supervisor (or systemd's Restart=on-failure) does: the host is reachable again and
        # its facts show the kill
        sshd_ctl(host, 'start')
        wait_ssh(host, 5)
    return {'pid': pid, 'lines': len(lines), 'respawned': bool(opts.get('respawn'))}


def machine_pid(host, ns_pid):
    """The machine PID of PID ``ns_pid`` of the host's PID namespace (None when not found)."""
    try:
        want = os.readlink('/proc/%d/ns/pid' % host['init_pid'])
    except OSError:
        return None
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            if os.readlink('/proc/%s/ns/pid' % d) != want:
                continue
            with open('/proc/%s/status' % d) as f:
                for line in f:
                    if line.startswith('NSpid:'):
                        if line.split()[-1] == str(ns_pid):
                            return int(d)
                        break
        except OSError:
            continue
    return None


def limit_memory_v1(host, unit, limit):
    """Move a unit's main process into <host's v1 memory cgroup>/system.slice/<unit> limited to
    ``limit`` bytes (no swap): the kernel's memory cgroup OOM killer then acts on it for real."""
    base = [cg for cg in host.get('cgroups') or [] if cg.startswith('/sys/fs/cgroup/memory/')]
    if not base:
        raise LabError('%s: no v1 memory cgroup on this machine for the oom fault' % host['name'])
    pid = None
    deadline = time.time() + 5
    while not pid and time.time() < deadline:
        out = hexec(host, ['systemctl', 'show', '-p', 'MainPID', '--value', unit], check=False).stdout.strip()
        pid = machine_pid(host, int(out)) if out.isdigit() and out != '0' else None
        if not pid:
            time.sleep(0.05)
    if not pid:
        raise LabError('%s: %s has no main process to limit' % (host['name'], unit))
    cg = os.path.join(base[0], 'system.slice', unit)
    os.makedirs(cg, exist_ok=True)
    for name, value in (('memory.limit_in_bytes', limit), ('memory.memsw.limit_in_bytes', limit)):
        try:
            with open(os.path.join(cg, name), 'w') as f:
                f.write(str(value))
        except OSError:
            if name == 'memory.limit_in_bytes':
                raise
    with open(os.path.join(cg, 'cgroup.procs'), 'w') as f:
        f.write(str(pid))
    return cg[len('/sys/fs/cgroup/memory'):]


def memcg_of(host, pid):
    """The memory cgroup of ``pid`` in the host as the kernel prints it (v1 memory or v2 path)."""
    text = host_read(host, '/proc/%d/cgroup' % pid) or ''
    paths = dict((parts[1], parts[2]) for parts in (line.split(':', 2) for line in text.splitlines())
                 if len(parts) == 3)
    return paths.get('memory') or paths.get('') or '/'


def oom_lines(hostname, pid, memcg='/'):
    """Kernel 6.1 mm/oom_kill.c dump_header()/oom_kill_process() lines for a global OOM of sshd
    (``memcg``: its memory cgroup, which the kernel prints as task_memcg)."""
    up = time.clock_gettime(time.CLOCK_MONOTONIC)  # printk's clock: time since boot
    now = time.time()
    stamp = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now)) + '.%06d+00:00' % int((now % 1) * 1e6)
    msgs = [
        'python3 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0',
        'CPU: 1 PID: %d Comm: python3 Not tainted 6.1.0-28-amd64 #1  Debian 6.1.119-1' % (pid + 17),
        'Mem-Info:',
        'Tasks state (memory values in pages):',
        '[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name',
        '[%7d]     0 %5d     3818     1912    69632        0             0 sshd' % (pid, pid),
        'oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,'
        'task_memcg=%s,task=sshd,pid=%d,uid=0' % (memcg, pid),
        'Out of memory: Killed process %d (sshd) total-vm:15272kB, anon-rss:1240kB, file-rss:6408kB, '
        'shmem-rss:0kB, UID:0 pgtables:68kB oom_score_adj:0' % pid,
    ]
    return ['%s %s kernel: [%5d.%06d] %s\n' % (stamp, hostname, int(up), min(999999, int((up % 1) * 1e6) + i * 7), m)
            for i, m in enumerate(msgs)]


# ---------------------------------------------------------------- services (nginx, HAProxy, gunicorn, Redis)
# Real services from Debian packages: light hosts run the machine's own programs (tests/utils/setup.sh
# installs them, no service started), systemd hosts the packages of their suite's services layer
# (built once per suite, cached beside the root: services_layer()). Configuration files live in
# the host's own /etc (overlay), logs in its /var/log, state in its /tmp.
SERVICES = ('app', 'nginx', 'haproxy', 'redis')
SERVICE_PORTS = {'app': 8000, 'nginx': 80, 'haproxy': 8080, 'redis': 6379}
# the systemd unit of each service on a systemd host (Debian's own units; the app's is the lab's)
SERVICE_UNITS = {'app': 'lab-app.service', 'nginx': 'nginx.service', 'haproxy': 'haproxy.service',
                 'redis': 'redis-server.service'}
SERVICES_PACKAGES = ('nginx', 'haproxy', 'redis-server', 'gunicorn', 'python3-gunicorn', 'curl')
# ports of the fault listeners
OVERFLOW_PORT = 8081
IDLE_RST_PORT = 8090
APP_KEEPALIVE_S = 2          # gunicorn's default --keep-alive (gunicorn/config.py Keepalive.default)
MISMATCH_APP_KEEPALIVE_S = 1
PROXY_KEEPALIVE_S = 60       # what the proxy reuses upstream connections for (an ALB's default idle timeout)
OVERFLOW_BACKLOG = 2
LAB_APP = '''# connreset lab WSGI app (run by gunicorn: labapp:app)
import time


def app(environ, start_response):
    path = environ.get('PATH_INFO') or '/'
    if path == '/slow':
        time.sleep(min(float((environ.get('QUERY_STRING') or 's=1').partition('=')[2] or 1), 30.0))
    elif path == '/hog':
        # memory until the cgroup's OOM killer acts (bounded: 4 GiB, then it gives up)
        hog = []
        for _ in range(4096):
            hog.append(bytearray(1 << 20))
            time.sleep(0.002)
    body = b'app ok\\n'
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
'''


def gunicorn_argv(keepalive, daemon):
    argv = ['/usr/bin/gunicorn', '--bind', '0.0.0.0:%d' % SERVICE_PORTS['app'], '--workers', '1',
            '--worker-class', 'gthread', '--threads', '4', '--keep-alive', str(keepalive),
            '--chdir', '/etc/connreset-lab', '--access-logfile', '/var/log/lab-app.access.log',
            '--error-logfile', '/var/log/lab-app.log']
    if daemon:
        argv += ['--daemon', '--pid', '/run/lab-app.pid']
    return argv + ['labapp:app']


def nginx_config(kind):
    return '''# connreset lab service nginx
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
events { worker_connections 256; }
http {
    access_log /var/log/nginx/access.log;
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path /tmp/nginx-proxy;
    fastcgi_temp_path /tmp/nginx-fastcgi;
    uwsgi_temp_path /tmp/nginx-uwsgi;
    scgi_temp_path /tmp/nginx-scgi;
    keepalive_timeout 75s;
    upstream app {
        server 127.0.0.1:%d;
        keepalive 8;
        keepalive_timeout %ds;
    }
    server {
        listen %d;
        location / { return 200 "nginx ok\\n"; }
        location /app/ {
            proxy_pass http://app/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 30s;
        }
    }
}
''' % (SERVICE_PORTS['app'], PROXY_KEEPALIVE_S, SERVICE_PORTS['nginx'])


def haproxy_config(reuse_always=False, overflow=False):
    """HAProxy 2.6 (bookworm) configuration: frontend `web` (:8080) -> the app; with ``reuse_always``
    idle upstream connections are shared and kept PROXY_KEEPALIVE_S; with ``overflow`` a frontend on
    OVERFLOW_PORT that defers accept until data, takes one connection at a time (maxconn 1) and has
    a listen backlog of OVERFLOW_BACKLOG."""
    text = '''# connreset lab service haproxy (faults: %s)
global
    maxconn 256
    stats socket /run/haproxy-lab.sock mode 600 level admin

defaults
    mode http
    timeout connect 5s
    timeout client %ds
    timeout server %ds
    timeout http-keep-alive %ds

frontend web
    bind :%d
    default_backend app

backend app
    http-reuse %s
    server app1 127.0.0.1:%d
''' % (', '.join(n for n, on in (('keepalive-mismatch', reuse_always), ('accept-overflow', overflow)) if on) or 'none',
       PROXY_KEEPALIVE_S, PROXY_KEEPALIVE_S, PROXY_KEEPALIVE_S, SERVICE_PORTS['haproxy'],
       'always' if reuse_always else 'safe', SERVICE_PORTS['app'])
    if overflow:
        text += '''
frontend overflow
    bind :%d defer-accept backlog %d
    maxconn 1
    timeout client 1h
    timeout http-request 1h
    http-request return status 200 content-type text/plain string "overflow ok"
''' % (OVERFLOW_PORT, OVERFLOW_BACKLOG)
    return text


def redis_config(kind):
    if kind == 'systemd':
        where = 'daemonize no\nsupervised systemd\npidfile /run/redis/redis-server.pid\nlogfile /var/log/redis/redis-server.log\ndir /var/lib/redis\n'
    else:
        where = 'daemonize yes\npidfile /run/redis-server.pid\nlogfile /var/log/redis-server.log\ndir /tmp\n'
    return ('# connreset lab service redis\nbind 0.0.0.0\nport %d\nprotected-mode no\ntimeout 0\ntcp-keepalive 300\n'
            'save ""\n%s' % (SERVICE_PORTS['redis'], where))


APP_UNIT = '''[Unit]
Description=connreset lab WSGI app (gunicorn)
After=network.target

[Service]
ExecStart=%s
Restart=on-failure
RestartSec=200ms

[Install]
WantedBy=multi-user.target
'''


def service_state(host):
    return host.setdefault('services', {})


def service_listening(host, name):
    port = SERVICE_PORTS[name]
    return listening_port(host, port)


def listening_port(host, port):
    out = hexec(host, ['ss', '-Hltn', 'sport = :%d' % port], check=False).stdout
    return bool(out.strip())


def write_service_config(host, name, keepalive=None, haproxy=None):
    kind = host['kind']
    if name == 'app':
        host_write(host, '/etc/connreset-lab/labapp.py', LAB_APP)
        if kind == 'systemd':
            argv = gunicorn_argv(keepalive or APP_KEEPALIVE_S, daemon=False)
            host_write(host, '/etc/systemd/system/lab-app.service', APP_UNIT % ' '.join(argv))
            hexec(host, ['systemctl', 'daemon-reload'])
    elif name == 'nginx':
        host_write(host, '/etc/nginx/nginx.conf', nginx_config(kind))
        hexec(host, ['mkdir', '-p', '/var/log/nginx'])
        check = hexec(host, ['nginx', '-t'], check=False)
        if check.returncode != 0:
            raise LabError('nginx -t on %s: %s' % (host['name'], check.stderr.strip()))
    elif name == 'haproxy':
        host_write(host, '/etc/haproxy/haproxy.cfg', haproxy_config(**(haproxy or {})))
        check = hexec(host, ['haproxy', '-c', '-f', '/etc/haproxy/haproxy.cfg'], check=False)
        if check.returncode != 0:
            raise LabError('haproxy -c on %s: %s' % (host['name'], (check.stderr or check.stdout).strip()))
    elif name == 'redis':
        host_write(host, '/etc/redis/redis.conf', redis_config(kind))


LIGHT_PIDFILES = {'app': '/run/lab-app.pid', 'nginx': '/run/nginx.pid', 'haproxy': '/run/haproxy.pid',
                  'redis': '/run/redis-server.pid'}


def light_service_pid(host, name):
    proc = hexec(host, ['sh', '-c', 'p=$(cat %s 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"'
                        % LIGHT_PIDFILES[name]], check=False)
    pid = proc.stdout.strip()
    return int(pid) if pid.isdigit() else None


def service_ctl(host, name, action, keepalive=None, haproxy=None):
    """start / stop / restart one service on a host (configuration written first on start)."""
    if name not in SERVICES:
        raise LabError('unknown service %r (one of: %s)' % (name, ', '.join(SERVICES)))
    if host['kind'] == 'systemd' and not host.get('services_layer'):
        raise LabError('host %s was started without the services layer: lab up %s:systemd@%s+services'
                       % (host['name'], host['name'], host.get('suite') or DEFAULT_SUITE))
    if host['kind'] == 'light':
        missing = [b for b in {'app': ['gunicorn'], 'nginx': ['nginx'], 'haproxy': ['haproxy'],
                               'redis': ['redis-server']}[name] if not shutil.which(b)]
        if missing:
            raise LabError('light hosts run the machine\'s %s: apt-get install %s (tests/utils/setup.sh test)'
                           % (' '.join(missing), ' '.join(SERVICES_PACKAGES)))
    if action in ('start', 'restart'):
        write_service_config(host, name, keepalive, haproxy)
    if host['kind'] == 'systemd':
        unit = SERVICE_UNITS[name]
        if action != 'stop':
            hexec(host, ['systemctl', 'reset-failed', unit], check=False)
            action = 'restart'  # the configuration was just written
        hexec(host, ['systemctl', action, unit], timeout=30)
    else:
        if action in ('stop', 'restart'):
            pid = light_service_pid(host, name)
            if pid:
                hexec(host, ['kill', '-TERM', str(pid)], check=False)
                wait_for(lambda: not light_service_pid(host, name) and not service_listening(host, name), 10,
                         '%s on %s to stop' % (name, host['name']))
        if action in ('start', 'restart'):
            if name == 'app':
                hexec(host, gunicorn_argv(keepalive or APP_KEEPALIVE_S, daemon=True))
            elif name == 'nginx':
                hexec(host, ['nginx'])
            elif name == 'haproxy':
                hexec(host, ['haproxy', '-D', '-f', '/etc/haproxy/haproxy.cfg', '-p', '/run/haproxy.pid'])
            elif name == 'redis':
                hexec(host, ['redis-server', '/etc/redis/redis.conf'])
    if action in ('start', 'restart'):
        wait_for(lambda: service_listening(host, name), 15, '%s on %s to listen on :%d'
                 % (name, host['name'], SERVICE_PORTS[name]))
        service_state(host)[name] = {'port': SERVICE_PORTS[name], 'keepalive': keepalive, 'haproxy': haproxy or {},
                                     'unit': SERVICE_UNITS[name] if host['kind'] == 'systemd' else None}
    else:
        service_state(host).pop(name, None)


def ensure_service(host, name, **kw):
    if name not in service_state(host) or not service_listening(host, name):
        service_ctl(host, name, 'start', **kw)


def cmd_service(args):
    state = load_state()
    host = get_host(state, args.host)
    names = list(SERVICES) if args.service == 'all' else [args.service]
    for name in names:
        service_ctl(host, name, 'stop' if args.undo else 'start')
        save_state(state)
        log('%s: service %s %s' % (host['name'], name, 'stopped' if args.undo else 'listening on :%d' % SERVICE_PORTS[name]))


def ns_sysctl(host, key, value=None):
    if value is None:
        return run(['ip', 'netns', 'exec', host['netns'], 'sysctl', '-n', key]).stdout.strip()
    run(['ip', 'netns', 'exec', host['netns'], 'sysctl', '-q', '-w', '%s=%s' % (key, value)])
    return str(value)


def http_status(address, port, path='/', timeout=3.0):
    """One GET from the controller: the status code, or the error's class name."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (path, address)).encode())
            data = b''
            while len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return type(exc).__name__
    m = re.match(rb'^HTTP/1\.[01] (\d{3})', data)
    return int(m.group(1)) if m else ('empty' if not data else 'not http')


def fault_accept_overflow(state, host, undo, opts):
    """HAProxy frontend (defer-accept, maxconn 1, backlog 2), tcp_abort_on_overflow=1 in the host's
    namespace, a holder keeping the accept queue full and a bounded burst whose overflow gets resets."""
    info = host['faults'].get('accept-overflow') or {}
    if undo:
        if ours(info.get('holder_pid'), state):
            kill_wait([info.get('holder_pid')], signal.SIGKILL, 3)
        ns_sysctl(host, 'net.ipv4.tcp_abort_on_overflow', info.get('previous', '0'))
        reuse = 'keepalive-mismatch' in host['faults']
        service_ctl(host, 'haproxy', 'restart', haproxy={'reuse_always': reuse})
        return {}
    ensure_service(host, 'app')
    reuse = 'keepalive-mismatch' in host['faults']
    service_ctl(host, 'haproxy', 'restart', haproxy={'reuse_always': reuse, 'overflow': True})
    previous = ns_sysctl(host, 'net.ipv4.tcp_abort_on_overflow')
    ns_sysctl(host, 'net.ipv4.tcp_abort_on_overflow', 1)
    burst = int(opts.get('burst') or 8)
    if not 2 <= burst <= 64:
        raise LabError('--burst must be 2-64 connections')
    log_path = os.path.join(host['dir'], 'burst.log')
    holder = subprocess.Popen(
        [sys.executable, SCRIPT, '_burst', host['address'], str(OVERFLOW_PORT), str(burst), str(opts.get('hold_s') or 3600),
         str(OVERFLOW_BACKLOG + 2), LAB_DIR], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(log_path, 'w'),
        start_new_session=True, close_fds=True)
    result = None
    wait = 30 + 1.2 * burst
    deadline = time.time() + wait
    while time.time() < deadline and result is None:
        try:
            with open(log_path) as f:
                for line in f:
                    if line.startswith('burst '):
                        result = json.loads(line[len('burst '):])
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    if result is None:
        kill_wait([holder.pid], signal.SIGKILL, 3)
        raise LabError('%s: the burst did not report within %d s: %s' % (host['name'], wait, tail(log_path)))
    return {'holder_pid': holder.pid, 'port': OVERFLOW_PORT, 'backlog': OVERFLOW_BACKLOG, 'maxconn': 1,
            'previous': previous, 'tcp_abort_on_overflow': 1, 'burst': result}


def burst_main(args):
    """accept-overflow's bounded burst: connect ``n`` clients at once (the listener defers accept
    until data), look for resets before sending (reset_at_connect), send a partial request on the
    others; then fill HAProxy's one slot and the accept queue one connection at a time (``fill``),
    report the counts and hold the survivors (the queue stays full: later SYNs are dropped)."""
    address, port, n, life, fill = args[0], int(args[1]), int(args[2]), float(args[3]), int(args[4])
    socks, counts = [], {}
    for _i in range(n):
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect((address, port))
            socks.append(s)
        except OSError as exc:
            counts['connect_' + type(exc).__name__] = counts.get('connect_' + type(exc).__name__, 0) + 1
            s.close()
    time.sleep(0.3)
    live = []
    for s in socks:
        # what tcp_probe's settle look sees: a reset that answered the handshake, before we sent anything
        try:
            s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            live.append(s)
        except BlockingIOError:
            live.append(s)
        except OSError as exc:
            what = 'reset_at_connect' if isinstance(exc, ConnectionResetError) else 'connect_' + type(exc).__name__
            counts[what] = counts.get(what, 0) + 1
    sent = []
    for s in live:
        try:
            s.sendall(b'GET / HTTP/1.1\r\nHost: lab\r\n')
            sent.append(s)
        except OSError as exc:
            what = 'reset_after_request' if isinstance(exc, (ConnectionResetError, BrokenPipeError)) else type(exc).__name__
            counts[what] = counts.get(what, 0) + 1
        time.sleep(0.05)
    time.sleep(0.3)
    held = []
    for s in sent:
        s.setblocking(False)
        try:
            data = s.recv(256)
            what = 'answered' if data else 'closed'
        except BlockingIOError:
            what = 'held'
            held.append(s)
        except OSError as exc:
            what = 'reset_after_request' if isinstance(exc, ConnectionResetError) else type(exc).__name__
        counts[what] = counts.get(what, 0) + 1
    # then fill: one connection HAProxy takes (maxconn 1) and backlog + 1 in the accept queue, each
    # with a partial request, one after the other; from then on SYNs are dropped (the queue is full)
    # (the burst's own sockets closed first; at most 4 * fill tries)
    for s in socks:
        s.close()
    held = []
    time.sleep(0.5)
    for _i in range(4 * fill):
        if len(held) >= fill:
            break
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect((address, port))
            s.sendall(b'GET / HTTP/1.1\r\nHost: lab\r\n')
        except OSError:
            s.close()
            time.sleep(0.5)
            continue
        s.setblocking(False)
        held.append(s)
        time.sleep(0.1)
    counts['filled'] = len(held)
    sys.stderr.write('burst %s\n' % json.dumps(counts, sort_keys=True))
    sys.stderr.flush()
    end = time.time() + life
    while time.time() < end and held:
        held = [s for s in held if alive_sock(s)]
        time.sleep(1)


def fault_keepalive_mismatch(state, host, undo, opts):
    """HAProxy (frontend :8080) reuses idle upstream connections (http-reuse always) for 60 s; the
    app (gunicorn) closes them after 1 s. On a real network the upstream's FIN is in flight while the
    proxy already reuses the connection (or the front never watches idle connections, as an AWS ALB);
    on one machine HAProxy sees the FIN at once, so the lab drops the app's FINs leaving its port
    (nftables in the host): the proxy learns of the close only from the reset its request gets."""
    if undo:
        hexec(host, ['nft', 'delete', 'table', 'inet', 'lab_ka_mismatch'], check=False)
        service_ctl(host, 'app', 'restart', keepalive=APP_KEEPALIVE_S)
        service_ctl(host, 'haproxy', 'restart', haproxy={'overflow': 'accept-overflow' in host['faults']})
        return {}
    service_ctl(host, 'app', 'restart', keepalive=MISMATCH_APP_KEEPALIVE_S)
    service_ctl(host, 'haproxy', 'restart', haproxy={'reuse_always': True, 'overflow': 'accept-overflow' in host['faults']})
    nft(host, 'table inet lab_ka_mismatch {\n chain output {\n  type filter hook output priority filter; policy accept;\n'
              '  tcp sport %d tcp flags & fin == fin counter drop\n }\n}\n' % SERVICE_PORTS['app'])
    # the bounded request loop: requests spaced past the app's keep-alive, through the proxy
    loop = int(opts.get('requests') or 6)
    if not 1 <= loop <= 50:
        raise LabError('--requests must be 1-50')
    statuses = []
    for _i in range(loop):
        statuses.append(http_status(host['address'], SERVICE_PORTS['haproxy']))
        time.sleep(MISMATCH_APP_KEEPALIVE_S + 1.5)
    counts = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    return {'proxy': 'haproxy :%d http-reuse always, timeout server/http-keep-alive %d s' % (
        SERVICE_PORTS['haproxy'], PROXY_KEEPALIVE_S), 'app_keepalive_s': MISMATCH_APP_KEEPALIVE_S,
        'fin_drop': 'inet lab_ka_mismatch: tcp sport %d fin drop' % SERVICE_PORTS['app'],
        'loop': statuses, 'counts': counts}


def fault_idle_rst(state, host, undo, opts):
    """A front (the lab's relay on :8090, in front of the app) that resets flows idle for N s, as
    load balancers with "TCP reset on idle" do (AWS NLB, Azure LB with EnableTcpReset, GCP)."""
    if undo:
        hexec(host, ['sh', '-c', 'p=$(cat /run/lab-idlerst.pid 2>/dev/null) && kill -KILL "$p"'], check=False)
        wait_for(lambda: not listening_port(host, IDLE_RST_PORT), 5, 'the idle-rst relay on %s to stop' % host['name'])
        return {}
    idle = float(opts.get('idle_s') or 5)
    if not 1 <= idle <= 600:
        raise LabError('--idle-s must be 1-600')
    ensure_service(host, 'app')
    # the relay runs inside the host, with the host's Python (a systemd host does not see this file)
    with open(SCRIPT) as f:
        host_write(host, '/run/lab-idlerst.py', f.read())
    relay = subprocess.Popen(
        nsenter_argv(host) + ['/usr/bin/python3', '/run/lab-idlerst.py', '_idlerst', str(IDLE_RST_PORT),
                              '127.0.0.1:%d' % SERVICE_PORTS['app'], str(idle), '3600', LAB_DIR],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(host['dir'], 'idlerst.log'), 'w'),
        start_new_session=True, close_fds=True)
    wait_for(lambda: listening_port(host, IDLE_RST_PORT), 10, 'the idle-rst relay on %s' % host['name'])
    # (the relay dies with the host; nsenter's PID is kept for `down` after a crash)
    return {'relay_pid': relay.pid, 'port': IDLE_RST_PORT, 'upstream': SERVICE_PORTS['app'], 'idle_s': idle}


def idlerst_main(args):
    """The idle-rst relay (runs inside the host): forwards each client to the upstream and, when a
    flow has been idle for ``idle`` seconds, closes both sides with SO_LINGER 0 (a reset). Bounded:
    64 flows at once, ``life`` seconds in all."""
    import selectors
    port, upstream, idle, life = int(args[0]), args[1], float(args[2]), float(args[3])
    up_host, _sep, up_port = upstream.rpartition(':')
    linger = struct.pack('ii', 1, 0)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('0.0.0.0', port))
    listener.listen(64)
    listener.setblocking(False)
    with open('/run/lab-idlerst.pid', 'w') as f:
        f.write('%d\n' % os.getpid())
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    flows = {}   # sock -> [peer, last activity]
    end = time.time() + life

    def drop(sock, reset):
        peer = flows.pop(sock, [None])[0]
        for s in (sock, peer):
            if s is None:
                continue
            flows.pop(s, None)
            try:
                sel.unregister(s)
            except (KeyError, ValueError):
                pass
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            s.close()
    while time.time() < end:
        for key, _mask in sel.select(0.2):
            sock = key.fileobj
            if sock is listener:
                try:
                    client, _addr = listener.accept()
                except OSError:
                    continue
                if len(flows) >= 128:
                    client.close()
                    continue
                try:
                    server = socket.create_connection((up_host, int(up_port)), timeout=3)
                except OSError:
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    client.close()
                    continue
                now = time.time()
                for s, peer in ((client, server), (server, client)):
                    s.setblocking(False)
                    flows[s] = [peer, now]
                    sel.register(s, selectors.EVENT_READ)
                continue
            if sock not in flows:
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                drop(sock, True)
                continue
            if not data:
                drop(sock, False)
                continue
            peer = flows[sock][0]
            try:
                peer.setblocking(True)
                peer.settimeout(3)
                peer.sendall(data)
                peer.setblocking(False)
            except OSError:
                drop(sock, True)
                continue
            now = time.time()
            flows[sock][1] = flows[peer][1] = now
        now = time.time()
        for sock in [s for s, (peer, last) in list(flows.items()) if now - last >= idle]:
            if sock in flows:
                drop(sock, True)


def crashloop_unit(host, unit, limit=12, within=20):
    """kill -9 a unit's main process until systemd gives up (Start request repeated too quickly)."""
    kills = 0
    deadline = time.time() + within
    while kills < limit and time.time() < deadline:
        props = dict(line.split('=', 1) for line in hexec(
            host, ['systemctl', 'show', '-p', 'ActiveState,MainPID,NRestarts,Result', unit]
        ).stdout.split('\n') if '=' in line)
        if props.get('ActiveState') == 'failed':
            return {'unit': unit, 'kills': kills, 'n_restarts': props.get('NRestarts'), 'result': props.get('Result')}
        pid = props.get('MainPID', '0')
        if pid != '0' and props.get('ActiveState') == 'active':
            hexec(host, ['kill', '-9', pid], check=False)
            kills += 1
        time.sleep(0.3)
    raise LabError('%s on %s did not reach failed after %d kills' % (unit, host['name'], kills))


def fault_svc_crashloop(state, host, undo, opts):
    if undo:
        service_ctl(host, 'app', 'restart')
        return {}
    ensure_service(host, 'app')
    return crashloop_unit(host, SERVICE_UNITS['app'])


def fault_svc_oom(state, host, undo, opts):
    """The app's unit gets MemoryMax=64M (a drop-in); a request to /hog makes its worker allocate
    until the memory cgroup's OOM killer kills it (gunicorn's arbiter then starts a new worker)."""
    unit = SERVICE_UNITS['app']
    dropin = '/etc/systemd/system/%s.d/lab-oom.conf' % unit
    if undo:
        host_rm(host, dropin)
        hexec(host, ['systemctl', 'daemon-reload'])
        service_ctl(host, 'app', 'restart')
        return {}
    if SUITES[host.get('suite') or DEFAULT_SUITE]['unified']:
        raise LabError('svc-oom needs a hybrid (cgroup v1 memory) host here: bullseye or bookworm (%s is unified)'
                       % host['name'])
    ensure_service(host, 'app')
    host_write(host, dropin, '# connreset lab fault svc-oom\n[Service]\nMemoryMax=64M\nMemorySwapMax=0\n')
    hexec(host, ['systemctl', 'daemon-reload'])
    service_ctl(host, 'app', 'restart')
    status = http_status(host['address'], SERVICE_PORTS['app'], '/hog', timeout=20)
    time.sleep(1.0)
    show = hexec(host, ['systemctl', 'show', '-p', 'ActiveState,NRestarts,Result,MainPID', unit], check=False).stdout
    return {'unit': unit, 'memory_max': '64M', 'hog_request': status, 'show': show.strip().replace('\n', ' ')}


# ---------------------------------------------------------------- router faults (lab fault router FAULT)
NAT_IDLE_S = 5
PMTU_ICMP_MTU = 1000
LB_IDLE_S = 5


def router_state(state):
    if not state.get('router'):
        raise LabError('no router in this lab: bring up hosts behind it (lab up NAME@routed, NAME:systemd+routed)')
    return state['router']


def routed_hosts(state):
    return [h for h in state['hosts'].values() if h.get('network') == 'routed']


def router_nft(script):
    router_exec(['nft', '-f', '-'], input_=script)


def router_idle(opts, default):
    idle = float(opts.get('idle_s') or default)
    if not 1 <= idle <= 600:
        raise LabError('--idle must be 1-600 seconds')
    return idle


def rfault_nat_idle(state, router, undo, opts):
    """The router masquerades and forgets established TCP flows idle for N s: the per-namespace
    conntrack timeout for ESTABLISHED (net.netfilter.nf_conntrack_tcp_timeout_established, per
    network namespace like tcp_loose), tcp_loose=0 so a packet of a forgotten flow does not start a
    new entry mid-stream, and what a stateful NAT's ruleset does with such packets: drop them."""
    info = router['faults'].get('nat-idle') or {}
    if undo:
        router_exec(['nft', 'delete', 'table', 'ip', 'lab_router_nat'], check=False)
        for key, value in (info.get('previous') or {}).items():
            router_sysctl(key, value)
        router_exec(['conntrack', '-F'], check=False)  # no NAT binding outlives the fault
        return {}
    idle = int(router_idle(opts, NAT_IDLE_S))
    keys = ('net.netfilter.nf_conntrack_tcp_timeout_established', 'net.netfilter.nf_conntrack_tcp_loose')
    previous = dict((k, router_sysctl(k)) for k in keys)
    router_sysctl(keys[0], idle)
    router_sysctl(keys[1], 0)
    # masquerade both ways: the controller's flows reach the hosts from ROUTER_LAN (what the hosts see
    # behind a NAT/LB with source NAT), the hosts' own flows reach the controller from ROUTER_WAN
    router_nft('table ip lab_router_nat {\n'
               ' chain forward {\n  type filter hook forward priority filter; policy accept;\n'
               '  ct state invalid counter drop\n }\n'
               ' chain input {\n  type filter hook input priority filter; policy accept;\n'
               '  ct state invalid counter drop\n }\n'
               ' chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n'
               '  oifname "%s" ip saddr %s0/%d counter masquerade\n'
               '  oifname "%s" ip saddr %s0/%d counter masquerade\n }\n}\n'
               % (ROUTER_LAN_DEV, NET_PREFIX, PREFIXLEN, ROUTER_WAN_DEV, ROUTED_PREFIX, PREFIXLEN))
    return {'idle_s': idle, 'previous': previous, 'table': 'ip lab_router_nat',
            'masquerade': {'toward_hosts': ROUTER_LAN, 'toward_controller': ROUTER_WAN},
            'sysctls': {keys[0]: idle, keys[1]: 0}}


def rfault_path_reset(state, router, undo, opts):
    """An IPS in the path: the router answers every established packet to the service port (``--port``,
    default 22) it forwards with a TCP reset in the host's name (nft reject in the forward chain):
    neither end sent it. On another port than 22, Ansible's own SSH to the hosts stays clean."""
    if undo:
        router_exec(['nft', 'delete', 'table', 'inet', 'lab_router_reset'], check=False)
        return {}
    port = int(opts.get('port') or 22)
    if not 1 <= port <= 65535:
        raise LabError('--port must be 1-65535 for path-reset')
    rule = 'tcp dport %d ct state established counter reject with tcp reset' % port
    router_nft('table inet lab_router_reset {\n chain forward {\n'
               '  type filter hook forward priority filter; policy accept;\n'
               '  %s\n }\n}\n' % rule)
    return {'table': 'inet lab_router_reset', 'rule': rule.replace('counter ', ''), 'port': port}


def wan_route(mtu=None):
    """The router's own (connected) route to the controller's /24, with a route MTU or without."""
    run(['ip', '-n', ROUTER_NS, 'route', 'replace', NET_PREFIX + '0/%d' % PREFIXLEN, 'dev', ROUTER_WAN_DEV,
         'proto', 'kernel', 'scope', 'link', 'src', ROUTER_WAN] + (['mtu', str(mtu)] if mtu else []))


def rfault_pmtu_icmp(state, router, undo, opts):
    """A path MTU below 1500 in both directions (a tunnel in the path), the hosts' own links and the
    bridge staying at 1500: the router's link toward the hosts (lan0) gets the smaller MTU, and so
    does its route toward the controller's /24 (a route MTU, which forwarding honours), and the
    router drops the ICMP "fragmentation needed" (and ICMPv6 packet too big) it sends: a full-size
    packet either way (the controller's, or a host's bulk output) is dropped with nobody told."""
    if undo:
        router_exec(['nft', 'delete', 'table', 'inet', 'lab_router_pmtu'], check=False)
        run(['ip', '-n', ROUTER_NS, 'link', 'set', ROUTER_LAN_DEV, 'mtu', str(MTU)])
        wan_route()
        return {}
    mtu = int(opts.get('mtu') or PMTU_ICMP_MTU)
    if not 576 <= mtu < MTU:
        raise LabError('--mtu must be 576-%d for pmtu-icmp' % (MTU - 1))
    router_nft('table inet lab_router_pmtu {\n chain output {\n'
               '  type filter hook output priority filter; policy accept;\n'
               '  icmp type destination-unreachable icmp code frag-needed counter drop\n'
               '  icmpv6 type packet-too-big counter drop\n }\n}\n')
    run(['ip', '-n', ROUTER_NS, 'link', 'set', ROUTER_LAN_DEV, 'mtu', str(mtu)])
    wan_route(mtu)
    return {'lan_mtu': mtu, 'wan_route_mtu': mtu, 'host_mtu': MTU, 'table': 'inet lab_router_pmtu'}


def lb_endpoints(state):
    return dict((h['name'], {'address': ROUTER_WAN, 'port': LB_PORT_BASE + int(h['address'].rsplit('.', 1)[1]),
                             'backend': '%s:22' % h['address']}) for h in routed_hosts(state))


def haproxy_lb_config(endpoints, idle):
    """HAProxy 2.6 in TCP mode, one frontend per routed host on ROUTER_WAN, idle timeouts `idle` s."""
    text = ('# connreset lab fault lb-idle (router)\nglobal\n    maxconn 256\n'
            '    log stdout format raw local0 info\n\n'
            'defaults\n    mode tcp\n    log global\n    option tcplog\n    timeout connect 5s\n'
            '    timeout client %ds\n    timeout server %ds\n' % (idle, idle))
    for name, ep in sorted(endpoints.items()):
        text += ('\nlisten ssh_%s\n    bind %s:%d\n    server %s %s check inter 60s\n'
                 % (name, ep['address'], ep['port'], name, ep['backend']))
    return text


def rfault_lb_idle(state, router, undo, opts):
    """A real HAProxy (the machine's) in the router namespace, TCP mode, in front of each routed
    host's port 22 (ROUTER_WAN:2200+octet) with a short timeout client/server."""
    info = router['faults'].get('lb-idle') or {}
    if undo:
        if ours(info.get('haproxy_pid'), state):
            kill_wait([info['haproxy_pid']], signal.SIGTERM, 3) or kill_wait([info['haproxy_pid']], signal.SIGKILL, 3)
        return {}
    if not shutil.which('haproxy'):
        raise LabError("lb-idle runs the machine's HAProxy: apt-get install haproxy (tests/utils/setup.sh test)")
    idle = int(router_idle(opts, LB_IDLE_S))
    endpoints = lb_endpoints(state)
    if not endpoints:
        raise LabError('lb-idle: no routed hosts to put the load balancer in front of')
    rdir = os.path.join(LAB_DIR, 'router')
    cfg = os.path.join(rdir, 'haproxy.cfg')
    write(cfg, haproxy_lb_config(endpoints, idle))
    check = run(['haproxy', '-c', '-q', '-f', cfg], check=False)
    if check.returncode != 0:
        raise LabError('haproxy -c %s: %s' % (cfg, (check.stderr or check.stdout).strip()))
    logf = open(os.path.join(rdir, 'haproxy.log'), 'w')
    proc = subprocess.Popen(['ip', 'netns', 'exec', ROUTER_NS, 'haproxy', '-db', '-f', cfg],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, close_fds=True)
    logf.close()

    def up():
        out = router_exec(['ss', '-Hltn'], check=False).stdout
        return all(':%d ' % ep['port'] in out for ep in endpoints.values()) or proc.poll() is not None
    wait_for(up, 10, "lb-idle's HAProxy to listen")
    if proc.poll() is not None:
        raise LabError('lb-idle: HAProxy exited: %s' % tail(os.path.join(rdir, 'haproxy.log')))
    return {'haproxy_pid': proc.pid, 'idle_s': idle, 'config': cfg, 'log': os.path.join(rdir, 'haproxy.log'),
            'endpoints': endpoints}


ROUTER_FAULT_FUNCS = {'nat-idle': rfault_nat_idle, 'path-reset': rfault_path_reset,
                      'pmtu-icmp': rfault_pmtu_icmp, 'lb-idle': rfault_lb_idle}


def cmd_router_fault(args, state):
    router = router_state(state)
    name = args.fault
    if name not in ROUTER_FAULTS:
        raise LabError('fault %s is a host fault (lab fault HOST %s); the router has: %s'
                       % (name, name, ', '.join(ROUTER_FAULTS)))
    apply_fault(state, 'router', router, name, args.undo, ROUTER_FAULT_FUNCS[name],
                {'mtu': args.mtu, 'idle_s': args.idle_s, 'port': args.port})


def apply_fault(state, label, target, name, undo, func, opts):
    """Inject or undo fault ``name`` on ``target`` (a host or the router, named ``label`` in the log)
    once: an active fault is not injected again, an inactive one not undone; the state is saved."""
    active = name in target['faults']
    if undo and not active:
        log('%s: fault %s is not active' % (label, name))
        return
    if not undo and active:
        log('%s: fault %s is already active' % (label, name))
        return
    info = func(state, target, undo, opts)
    if undo:
        del target['faults'][name]
    else:
        info['since'] = time.time()
        target['faults'][name] = info
    save_state(state)
    log('%s: fault %s %s' % (label, name, 'undone' if undo else 'injected'))


FAULT_FUNCS = {
    'sshd-down': fault_sshd_down, 'sshd-crashloop': fault_sshd_crashloop,
    'wrappers-deny': fault_wrappers_deny, 'maxstartups': fault_maxstartups,
    'pmtu-blackhole': fault_pmtu_blackhole, 'low-mtu': fault_low_mtu,
    'conntrack-limit': fault_conntrack_limit, 'reset-rule': fault_reset_rule,
    'banned': fault_banned, 'keepalive': fault_keepalive, 'oom': fault_oom,
    'penalties': fault_penalties,
    'accept-overflow': fault_accept_overflow, 'keepalive-mismatch': fault_keepalive_mismatch,
    'idle-rst': fault_idle_rst, 'svc-crashloop': fault_svc_crashloop, 'svc-oom': fault_svc_oom,
}


def cmd_fault(args):
    state = load_state()
    if args.host == 'router':
        return cmd_router_fault(args, state)
    host = get_host(state, args.host)
    name = args.fault
    if name in ROUTER_FAULTS:
        raise LabError('fault %s belongs to the router: lab fault router %s' % (name, name))
    if name in SYSTEMD_ONLY and host['kind'] != 'systemd':
        raise LabError('fault %s needs a systemd host (lab up --kind systemd)' % name)
    opts = {'held': args.held, 'mtu': args.mtu, 'limit': args.limit, 'respawn': args.respawn,
            'penalty_s': args.penalty_s, 'wait': args.wait, 'burst': args.burst, 'requests': args.requests,
            'idle_s': args.idle_s, 'port': args.port}
    apply_fault(state, host['name'], host, name, args.undo, FAULT_FUNCS[name], opts)


# ---------------------------------------------------------------- status / inventory
def host_status(host):
    alive = pid_alive(host.get('init_pid'))
    pid = None
    if alive:
        try:
            pid = sshd_pid(host)
        except LabError:
            pid = None
    return {'name': host['name'], 'kind': host['kind'], 'address': host['address'],
            'network': host.get('network') or 'bridge',
            'router': ROUTER_WAN if host.get('network') == 'routed' else None,
            'suite': host.get('suite'), 'openssh': host.get('openssh'), 'systemd': host.get('systemd'),
            'up': alive, 'sshd_pid': pid, 'sshd_alive': bool(pid),
            'faults': sorted(host['faults']), 'fault_details': host['faults']}


STATUS_FMT = '%-12s %-8s %-9s %-8s %-8s %-14s %-5s %-9s %s'


def print_status(state):
    rows = [host_status(h) for h in state['hosts'].values()]
    print(STATUS_FMT % ('HOST', 'KIND', 'SUITE', 'OPENSSH', 'SYSTEMD', 'ADDRESS', 'UP', 'SSHD', 'FAULTS'))
    for r in rows:
        print(STATUS_FMT % (
            r['name'], r['kind'], r['suite'] or '-', r['openssh'] or '-', r['systemd'] or '-', r['address'],
            'yes' if r['up'] else 'no', r['sshd_pid'] if r['sshd_alive'] else 'down', ','.join(r['faults']) or '-'))
    router = state.get('router')
    if router:
        print(STATUS_FMT % ('router', 'router', '-', '-', '-', '%s|%s' % (ROUTER_WAN, ROUTER_LAN), 'yes'
                            if ROUTER_NS in netns_list() else 'no', '-', ','.join(sorted(router['faults'])) or '-'))
    return rows


def cmd_status(args):
    state = load_state()
    if not state['hosts']:
        print('no lab (run: lab up)')
        return
    if args.json and getattr(args, 'router', False):
        print(json.dumps(state.get('router'), indent=1, sort_keys=True))
    elif args.json:
        print(json.dumps([host_status(h) for h in state['hosts'].values()], indent=1))
    else:
        print_status(state)


def ssh_common_args():
    return ' '.join(SSH_OPTS[:4])


def ssh_args():
    # ssh takes the FIRST value of an option and Ansible puts ssh_args (default: ControlMaster=auto,
    # ControlPersist=60s) before ssh_common_args: fresh connections must be asked for here.
    # LogLevel=INFO keeps OpenSSH's reset lines ("Connection reset by ...") in Ansible's messages.
    return ('-o ControlMaster=no -o ControlPath=none -o ServerAliveInterval=3 '
            '-o ServerAliveCountMax=2 -o LogLevel=INFO')


def write_inventory(state, path, fmt):
    hosts = list(state['hosts'].values())
    common = {'ansible_user': 'root', 'ansible_ssh_private_key_file': state['key'],
              'ansible_ssh_common_args': ssh_common_args(),
              'ansible_ssh_args': ssh_args(),
              'ansible_python_interpreter': '/usr/bin/python3'}
    if fmt == 'yaml':
        lines = ['all:', '  children:', '    lab:', '      vars:']
        for k, v in common.items():
            lines.append('        %s: %s' % (k, json.dumps(v)))
        lines.append('      hosts:')
        for h in hosts:
            lines.append('        %s:' % h['name'])
            lines.append('          ansible_host: %s' % h['address'])
            lines.append('          lab_kind: %s' % h['kind'])
            lines.append('          lab_suite: %s' % json.dumps(h.get('suite')))
            lines.append('          lab_openssh: %s' % json.dumps(h.get('openssh')))
            lines.append('          lab_faults: %s' % json.dumps(sorted(h['faults'])))
            lines.append('          lab_network: %s' % (h.get('network') or 'bridge'))
        text = '\n'.join(lines) + '\n'
    else:
        lines = ['[lab]']
        for h in hosts:
            lines.append('%s ansible_host=%s lab_kind=%s lab_suite=%s lab_openssh=%s lab_faults=%s lab_network=%s' % (
                h['name'], h['address'], h['kind'], h.get('suite') or 'unknown', h.get('openssh') or 'unknown',
                ','.join(sorted(h['faults'])) or 'none', h.get('network') or 'bridge'))
        lines += ['', '[lab:vars]']
        for k, v in common.items():
            lines.append("%s=%s" % (k, "'%s'" % v if ' ' in v else v))
        text = '\n'.join(lines) + '\n'
    if path in (None, '-'):
        sys.stdout.write(text)
    else:
        write(path, text)
    return text


def cmd_inventory(args):
    state = load_state()
    if not state['hosts']:
        raise LabError('no lab: run lab up first')
    write_inventory(state, args.output, args.format)


# ---------------------------------------------------------------- main
def parser():
    p = argparse.ArgumentParser(prog='lab', description=__doc__.split('\n\n', maxsplit=1)[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    up = sub.add_parser('up', help='start lab hosts (tears down any previous lab first)')
    up.add_argument('names', nargs='*', metavar='NAME[:KIND[@SUITE]]',
                    help='host names, each optionally with its kind and, for systemd hosts, its Debian suite '
                         '(%s; e.g. web1:systemd@trixie) (default h1..hN of --kind)' % ', '.join(sorted(SUITES)))
    up.add_argument('--hosts', type=int, default=3, help='number of hosts when no names are given')
    up.add_argument('--kind', choices=('light', 'systemd'), default='light')
    up.add_argument('--suite', choices=sorted(SUITES), default=DEFAULT_SUITE,
                    help='Debian suite of systemd hosts without @SUITE (default %s)' % DEFAULT_SUITE)
    up.add_argument('--routed', dest='all_routed', action='store_true',
                    help='with --hosts N: every host behind the router (per host: NAME+routed, NAME@routed)')
    up.set_defaults(func=cmd_up)
    down = sub.add_parser('down', help='remove everything the lab made (idempotent)')
    down.set_defaults(func=cmd_down)
    st = sub.add_parser('status', help='hosts, kind, address, sshd pid, faults')
    st.add_argument('--json', action='store_true')
    st.add_argument('--router', action='store_true', help="with --json: the router's state and faults")
    st.set_defaults(func=cmd_status)
    fa = sub.add_parser('fault', help='inject (or --undo) a fault on one host, or on the router: lab fault router FAULT')
    fa.add_argument('host', help="a host, or 'router' for the router's faults (%s)" % ', '.join(ROUTER_FAULTS))
    fa.add_argument('fault', choices=FAULTS + ROUTER_FAULTS)
    fa.add_argument('--undo', action='store_true')
    fa.add_argument('--held', type=int, help='maxstartups: pre-auth connections to hold (default 1: fills MaxStartups 1:100:1)')
    fa.add_argument('--mtu', type=int, help='pmtu-blackhole/low-mtu/pmtu-icmp: MTU (default 1000/1280/1000)')
    fa.add_argument('--limit', type=int, help='conntrack-limit: connections allowed (default 0)')
    fa.add_argument('--port', type=int, help='router path-reset, reset-rule: the service port whose flows get the reset (default 22)')
    fa.add_argument('--respawn', action='store_true',
                    help='oom on a light host: start sshd again after the kill, as a supervisor would')
    fa.add_argument('--penalty-s', type=int,
                    help='penalties: seconds the controller stays penalised (default 30, 20-600)')
    fa.add_argument('--wait', action='store_true',
                    help='penalties: return once the penalty has expired (the host is reachable, '
                         'the drops are in its log)')
    fa.add_argument('--burst', type=int, help='accept-overflow: connections in the burst (default 8, 2-64)')
    fa.add_argument('--requests', type=int, help='keepalive-mismatch: requests in the loop (default 6, 1-50)')
    fa.add_argument('--idle-s', '--idle', dest='idle_s', type=float,
                    help='idle-rst, router nat-idle/lb-idle: seconds of idleness before the reset or the '
                         'forgotten flow (default 5, 1-600)')
    fa.set_defaults(func=cmd_fault)
    sv = sub.add_parser('service', help='start (or --undo: stop) a real service on a host: %s, or all' % ', '.join(SERVICES))
    sv.add_argument('host')
    sv.add_argument('service', choices=SERVICES + ('all',))
    sv.add_argument('--undo', action='store_true')
    sv.set_defaults(func=cmd_service)
    cap = sub.add_parser('capacity', help='how many systemd hosts fit now (inotify instances), as JSON')
    cap.set_defaults(func=cmd_capacity)
    inv = sub.add_parser('inventory', help='print or write an Ansible inventory of the lab')
    inv.add_argument('--format', choices=('ini', 'yaml'), default='ini')
    inv.add_argument('--output', '-o', default='-')
    inv.set_defaults(func=cmd_inventory)
    ex = sub.add_parser('exec', help='run a command inside a host: lab exec HOST -- CMD...')
    ex.add_argument('host')
    ex.add_argument('cmd', nargs=argparse.REMAINDER)
    ex.set_defaults(func=cmd_exec)
    return p


def main(argv):
    if len(argv) > 1 and argv[1] == '_init':
        return init_main(argv[2:])
    if len(argv) > 1 and argv[1] == '_hold':
        return hold_main(argv[2:])
    if len(argv) > 1 and argv[1] == '_burst':
        return burst_main(argv[2:])
    if len(argv) > 1 and argv[1] == '_idlerst':
        return idlerst_main(argv[2:])
    args = parser().parse_args(argv[1:])
    if os.geteuid() != 0:
        log('the lab needs root')
        return 2
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        if args.cmd == 'exec':
            return args.func(args)
        with Lock():
            args.func(args)
    except LabError as exc:
        log(str(exc))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
