#!/bin/sh
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Dead man's switch of the connreset.doctor remediate role.
#
#   rollback.sh RUN_DIR TIMEOUT
#
# Armed on the host (as an Ansible async job) BEFORE sshd is reloaded. Waits TIMEOUT seconds for
# RUN_DIR/confirmed, which the role writes after a FRESH SSH connection to the host succeeded.
# Without it, the change locked the controller out: put every file of RUN_DIR/manifest back as it
# was, restore the sysctls and interface MTUs, reload sshd (never restart) and write
# RUN_DIR/rolled-back. Lines of RUN_DIR/manifest:
#   file PATH            PATH existed: its previous content is RUN_DIR/files/PATH
#   absent PATH          PATH did not exist: remove it
#   sysctl KEY VALUE     running value before the change
#   mtu IFACE MTU        interface MTU before the change
#   reload systemd UNIT | reload service NAME | reload pid PIDFILE [PID]
set -u
run=${1:?usage: rollback.sh RUN_DIR TIMEOUT}
timeout=${2:?usage: rollback.sh RUN_DIR TIMEOUT}
log="$run/rollback.log"
say() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >> "$log"; }

say "armed for ${timeout}s"
waited=0
while [ "$waited" -lt "$timeout" ]; do
    if [ -e "$run/confirmed" ]; then
        say "confirmed after ${waited}s: disarmed"
        exit 0
    fi
    sleep 1
    waited=$((waited + 1))
done
if [ -e "$run/confirmed" ]; then
    say "confirmed: disarmed"
    exit 0
fi

say "no confirmation after ${timeout}s: rolling back"
: > "$run/rolling-back"
status=0
reload_kind=
reload_arg=
reload_pid=
while read -r kind a b c; do
    case "$kind" in
        file)
            if cp -p "$run/files$a" "$a.connreset-rollback" && mv -f "$a.connreset-rollback" "$a"; then
                say "restored $a"
            else
                say "FAILED to restore $a"; status=1
            fi ;;
        absent)
            rm -f "$a" && say "removed $a (it did not exist before)" ;;
        sysctl)
            if sysctl -q -w "$a=$b" >/dev/null 2>&1; then say "sysctl $a=$b"; else say "FAILED sysctl $a=$b"; status=1; fi ;;
        mtu)
            if ip link set dev "$a" mtu "$b"; then say "mtu $a $b"; else say "FAILED mtu $a $b"; status=1; fi ;;
        reload)
            reload_kind=$a; reload_arg=$b; reload_pid=${c:-} ;;
        ''|'#'*) ;;
        *) say "unknown manifest line: $kind $a" ;;
    esac
done < "$run/manifest"

case "$reload_kind" in
    systemd)
        if systemctl reload "$reload_arg"; then say "systemctl reload $reload_arg"; else say "FAILED systemctl reload $reload_arg"; status=1; fi ;;
    service)
        if service "$reload_arg" reload; then say "service $reload_arg reload"; else say "FAILED service $reload_arg reload"; status=1; fi ;;
    pid)
        pid=$(cat "$reload_arg" 2>/dev/null || true)
        [ -n "$pid" ] || pid=$reload_pid
        if [ -n "$pid" ] && kill -HUP "$pid"; then say "SIGHUP to sshd $pid"; else say "FAILED to signal sshd (pid '${pid}')"; status=1; fi ;;
    *) say "sshd not reloaded (nothing to reload)" ;;
esac
say "rolled back (status $status)"
echo "$status" > "$run/rolled-back"
exit "$status"
