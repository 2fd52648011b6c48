# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Synthetic but realistic inputs for bench/bench.py: a large fleet's facts and a large log.

Fleet: every host starts from the engine tests' healthy Debian 12 host (OpenSSH 9.2p1,
kernel 6.1, systemd 252: tests/unit/plugins/plugin_utils/engine_samples.py, whose log lines
and fact shapes are copied from those programs) and gets, deterministically by index, the
troubles a real fleet has: MaxStartups drops, an OOM-killed sshd or another process, libwrap
refusals, crashes, a full conntrack table, a keepalive horizon past the NAT idle timeout, an MTU
that differs from its subnet, a probe that was reset, a few unreachable hosts.  The engine
(``diagnose_host``) then turns them into the per-host documents the report merges.

Log: 1 million lines of a Debian 12 host's auth.log and kern.log mixed (rsyslog's RFC 3339
format, the bookworm default), with a known number of ``past MaxStartups`` drops (OpenSSH
9.2p1 sshd.c drop_connection()) and of OOM kills (kernel 6.1 mm/oom_kill.c, the same lines
the lab's ``oom`` fault writes), so the scan rate comes with a correctness check.
"""

from __future__ import annotations

import copy
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# the engine tests' samples of the collection being benchmarked (bench.py's snapshot of HEAD)
_CODE = os.environ.get('BENCH_CODE')
_SRC = os.path.join(_CODE, 'ansible_collections', 'connreset', 'doctor') if _CODE and os.path.isdir(
    os.path.join(_CODE, 'ansible_collections', 'connreset', 'doctor', 'tests')) else ROOT
sys.path.insert(0, os.path.join(_SRC, 'tests', 'unit', 'plugins', 'plugin_utils'))

import engine_samples as S  # noqa: E402  pylint: disable=wrong-import-position

# Real UNREACHABLE messages of ansible-core 2.19 (as the engine tests use them).
UNREACHABLE_MSGS = (
    'Failed to connect to the host via ssh: kex_exchange_identification: read: Connection reset by peer',
    'Failed to connect to the host via ssh: ssh: connect to host {addr} port 22: Connection timed out',
    'Failed to connect to the host via ssh: ssh: connect to host {addr} port 22: Connection refused',
    'Failed to connect to the host via ssh: Connection closed by {addr} port 22',
)

HOSTS_PER_SUBNET = 50


def _address(index, layout='subnets'):
    """10.<a>.<b>.<c>: 50 hosts per /24 (index 0 → 10.0.0.11); layout ``one_subnet``: all in 10.0.0.0/16."""
    if layout == 'one_subnet':
        return '10.0.%d.%d' % (index // 250, 1 + index % 250), '10.0.0.0/16'
    subnet, member = divmod(index, HOSTS_PER_SUBNET)
    return '10.%d.%d.%d' % (subnet // 256, subnet % 256, 11 + member), '10.%d.%d.0/24' % (subnet // 256, subnet % 256)


def host_input(index, seed=20261122, layout='subnets'):
    """The ``diagnose_host`` filter input of synthetic host ``index`` (deterministic).

    ``layout``: ``subnets`` (50 hosts per /24, one jumbo-frame host in each) or ``one_subnet``
    (every host in one /16, as in one VPC, every 10th host with jumbo frames).
    """
    rnd = random.Random(seed * 100003 + index)
    name = 'web%05d.example.net' % index
    addr, network = _address(index, layout)
    facts = copy.deepcopy(S.HEALTHY)
    eth0 = facts['connreset_mtu']['interfaces'][1]
    eth0['addresses'][0].update({'address': addr, 'network': network})
    facts['connreset_mtu']['targets'][0]['src'] = addr
    # ordinary variety: load, conntrack fill, counters
    facts['connreset_conntrack']['count'] = rnd.randint(200, 30000)
    facts['connreset_conntrack']['fill'] = round(facts['connreset_conntrack']['count'] / 262144.0, 4)
    facts['connreset_tcp']['counters']['EstabResets'] = rnd.randint(0, 5000)
    facts['connreset_oom']['memory']['load'] = [round(rnd.random() * 2, 2) for _minute in range(3)]
    probe = None
    unreachable = None
    roll = rnd.random()
    sshd = facts['connreset_sshd']
    if roll < 0.02:
        unreachable = rnd.choice(UNREACHABLE_MSGS).format(addr=addr)
    elif roll < 0.07:
        n = rnd.randint(1, 400)
        sshd['events']['maxstartups_drops'] = S.event(n, S.MAXSTARTUPS_LINE)
        probe = S.probe('banner_reset', phase='banner', outcome='reset', intermittent=True)
    elif roll < 0.09:
        facts['connreset_oom']['kills'] = [dict(S.OOM_SSHD, pid=600 + index % 1000)]
        facts['connreset_oom']['watched_killed'] = ['sshd']
        facts['connreset_oom']['vmstat_oom_kill'] = 1
    elif roll < 0.14:
        facts['connreset_oom']['kills'] = [dict(S.OOM_OTHER)]
        facts['connreset_oom']['vmstat_oom_kill'] = 1
    elif roll < 0.16:
        sshd['events']['wrap_refusals'] = S.event(rnd.randint(1, 50), S.WRAP_LINE)
    elif roll < 0.17:
        sshd['events']['crashes'] = S.event(2, S.CRASH_LINE)
        sshd['events']['restarts'] = S.event(2, S.RESTART_LINE)
    elif roll < 0.20:
        ct = facts['connreset_conntrack']
        ct.update(count=262100, fill=0.9998)
        ct['stats']['drop'] = rnd.randint(10, 9000)
        ct['table_full_events'] = S.event(rnd.randint(1, 90), S.TABLE_FULL_LINE)
    elif roll < 0.30:
        # keepalive horizon 2 h 11 min against a 350 s NAT idle timeout (aws-nat-gateway preset)
        sshd['config']['values']['clientaliveinterval'] = 0
    elif roll < 0.40:
        # run without become: the kernel log and the journal could not be read (dmesg_restrict=1)
        reason = 'no permission to read the kernel log (kernel.dmesg_restrict=1): use become: true'
        oom = facts['connreset_oom']
        oom.update(status='partial', reason='log: ' + reason, kills=None, unit_results=None, watched_killed=None)
        oom['log'].update(status='unknown', reason=reason)
    if layout == 'one_subnet':
        if index % 10 == 7:
            eth0['mtu'] = 9001
    elif index % HOSTS_PER_SUBNET == 7:
        eth0['mtu'] = 9001  # one jumbo-frame host per /24: the fleet's MTU mismatch finding
    for key in facts:
        facts[key]['elapsed_s'] = round(rnd.uniform(0.001, 0.06), 4)
    return {'host': name, 'facts': facts, 'probe': probe, 'unreachable': unreachable,
            'controller': S.CONTROLLER,
            'thresholds': {'path_idle_preset': 'aws-nat-gateway'} if roll >= 0.2 and roll < 0.3 else {}}


# ------------------------------------------------------------------------------------------ logs
AUTH_USERS = ('deploy', 'ansible', 'backup', 'alice', 'bob')
BAD_USERS = ('admin', 'test', 'oracle', 'ubuntu', 'guest', 'postgres')
KEYS = ('ED25519 SHA256:4bG0x1Qk0mJ2vP7c7u0q2dF2m3Yx2m1mJbq9n0Xc8aE', 'RSA SHA256:Zk2k9b1oRr9sPq2qJx0yXbq7o1d3l4Vw6Z0n2c5Tt1A')


def _auth_lines(rnd, host, ip, port, pid, session):
    user = rnd.choice(AUTH_USERS)
    if rnd.random() < 0.7:
        return [
            'sshd[%d]: Accepted publickey for %s from %s port %d ssh2: %s' % (pid, user, ip, port, rnd.choice(KEYS)),
            'sshd[%d]: pam_unix(sshd:session): session opened for user %s(uid=1000) by (uid=0)' % (pid, user),
            'systemd-logind[512]: New session %d of user %s.' % (session, user),
            'sudo:   %s : TTY=pts/0 ; PWD=/home/%s ; USER=root ; COMMAND=/usr/bin/systemctl status nginx' % (user, user),
            'sudo: pam_unix(sudo:session): session opened for user root(uid=0) by %s(uid=1000)' % user,
            'sudo: pam_unix(sudo:session): session closed for user root',
            'sshd[%d]: Received disconnect from %s port %d:11: disconnected by user' % (pid, ip, port),
            'sshd[%d]: Disconnected from user %s %s port %d' % (pid, user, ip, port),
            'sshd[%d]: pam_unix(sshd:session): session closed for user %s' % (pid, user),
            'systemd-logind[512]: Session %d logged out. Waiting for processes to exit.' % session,
            'systemd-logind[512]: Removed session %d.' % session,
        ]
    bad = rnd.choice(BAD_USERS)
    return [
        'sshd[%d]: Invalid user %s from %s port %d' % (pid, bad, ip, port),
        'sshd[%d]: pam_unix(sshd:auth): check pass; user unknown' % pid,
        'sshd[%d]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s'
        % (pid, ip),
        'sshd[%d]: Failed password for invalid user %s from %s port %d ssh2' % (pid, bad, ip, port),
        'sshd[%d]: Connection closed by invalid user %s %s port %d [preauth]' % (pid, bad, ip, port),
        'sshd[%d]: Connection reset by %s port %d [preauth]' % (pid + 1, ip, port + 1),
        'CRON[%d]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)' % (pid + 2),
        'CRON[%d]: pam_unix(cron:session): session closed for user root' % (pid + 2),
    ]


def _kern_lines(rnd, up, ip):
    return [
        'kernel: [%d.%06d] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=%s '
        'DST=10.0.0.21 LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=%d DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0'
        % (int(up), rnd.randint(0, 999999), ip, rnd.randint(1024, 65535)),
        'kernel: [%d.%06d] audit: type=1400 audit(1763700000.%03d:%d): apparmor="DENIED" operation="open" '
        'profile="/usr/sbin/ntpd" name="/proc/1/net/if_inet6" pid=742 comm="ntpd" requested_mask="r" denied_mask="r" '
        'fsuid=0 ouid=0' % (int(up), rnd.randint(0, 999999), rnd.randint(0, 999), rnd.randint(100, 99999)),
        'kernel: [%d.%06d] TCP: request_sock_TCP: Possible SYN flooding on port 22. Sending cookies.  '
        'Check SNMP counters.' % (int(up), rnd.randint(0, 999999)),
    ]


def _oom_block(pid, name, up):
    """kernel 6.1 dump_header()/oom_kill_process() lines of one global OOM kill (as tests/lab/lab writes)."""
    return [
        'kernel: [%d.%06d] %s invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, '
        'oom_score_adj=0' % (int(up), 1, name),
        'kernel: [%d.%06d] CPU: 1 PID: %d Comm: %s Not tainted 6.1.0-28-amd64 #1  Debian 6.1.119-1'
        % (int(up), 8, pid, name),
        'kernel: [%d.%06d] Mem-Info:' % (int(up), 15),
        'kernel: [%d.%06d] Tasks state (memory values in pages):' % (int(up), 22),
        'kernel: [%d.%06d] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name'
        % (int(up), 29),
        'kernel: [%d.%06d] [%7d]  1000 %5d   913818   741912  6369632        0             0 %s'
        % (int(up), 36, pid, pid, name),
        'kernel: [%d.%06d] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,'
        'task_memcg=/system.slice/%s.service,task=%s,pid=%d,uid=1000' % (int(up), 43, name, name, pid),
        'kernel: [%d.%06d] Out of memory: Killed process %d (%s) total-vm:3655272kB, anon-rss:2961240kB, '
        'file-rss:6408kB, shmem-rss:0kB, UID:1000 pgtables:6220kB oom_score_adj:0' % (int(up), 50, pid, name),
        'kernel: [%d.%06d] oom_reaper: reaped process %d (%s), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB'
        % (int(up) + 1, 3, pid, name),
    ]


def write_log(path, lines=1000000, drops=300, kills=200, now=None, seed=7, span_s=3 * 86400):
    """Write the mixed auth.log/kern.log; returns {lines, maxstartups_drops, oom_kills, ...}.

    Times run from ``now - span_s`` to ``now`` (inside the collectors' default 7-day window).
    ``drops`` drop lines come in bursts of 10 from the listener (pid 612), ``kills`` OOM kills
    of distinct pids are spread over the file.
    """
    rnd = random.Random(seed)
    now = time.time() if now is None else now
    start = now - span_s
    host = 'web00042'
    bursts = max(1, drops // 10)
    # positions are block numbers (a block is one session, one kernel burst...: ~8 lines)
    drop_at = set(rnd.sample(range(100, lines // 10), bursts))
    kill_at = set(rnd.sample(range(100, lines // 10), kills))
    written = dropped = killed = blockno = 0
    pid = 20000
    session = 100
    boot_up = 100000.0
    with open(path, 'w', encoding='utf-8') as handle:
        buf = []
        while written < lines:
            t = start + span_s * written / float(lines)
            stamp = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%06d+00:00' % int((t % 1) * 1e6)
            prefix = '%s %s ' % (stamp, host)
            ip = '203.0.113.%d' % rnd.randint(1, 254) if rnd.random() < 0.4 else '10.0.%d.%d' % (
                rnd.randint(0, 3), rnd.randint(2, 254))
            up = boot_up + (t - start)
            blockno += 1
            if blockno in drop_at and dropped < drops:
                block = []
                for i in range(min(10, drops - dropped)):
                    block.append('sshd[612]: drop connection #%d from [%s]:%d on [10.0.0.21]:22 past MaxStartups'
                                 % (10 + i, ip, rnd.randint(30000, 60999)))
                dropped += len(block)
            elif blockno in kill_at and killed < kills:
                block = _oom_block(30000 + killed * 7, rnd.choice(('java', 'python3', 'node', 'postgres')), up)
                killed += 1
            elif rnd.random() < 0.25:
                block = _kern_lines(rnd, up, ip)
            else:
                pid += rnd.randint(1, 40)
                session += 1
                block = _auth_lines(rnd, host, ip, rnd.randint(30000, 60999), pid, session)
            block = block[:lines - written]
            buf.extend(prefix + line + '\n' for line in block)
            written += len(block)
            if len(buf) > 20000:
                handle.write(''.join(buf))
                buf = []
        handle.write(''.join(buf))
    return {'path': path, 'lines': written, 'maxstartups_drops': dropped, 'oom_kills': killed,
            'bytes': os.path.getsize(path)}
