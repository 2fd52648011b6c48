#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine (as root) for one of two jobs:
#   setup.sh diagnose   what `make diagnose` needs, nothing more: a virtualenv (.venv) with
#                       diagnose-requirements.txt (ansible-core, paramiko, jmespath) and the
#                       ansible_collections/connreset/doctor path. The only Debian packages it may
#                       install are python3 and python3-venv, and only when "python3 -m venv" cannot
#                       build the virtualenv without them. The collectors' binaries are not installed:
#                       diagnosing a host must not change it (a missing one makes its fact `unknown`).
#   setup.sh [test]     the whole test suite (`make test`, the default): as diagnose, plus
#                       1. the Debian packages the tests need (real sshd, tcpd's tcpdmatch, nftables,
#                          debootstrap for the lab, Chromium for the browser test, ...), installed
#                          without starting any service (policy-rc.d), so the machine's own state is
#                          not changed;
#                       2. test-requirements.txt in the same .venv (a superset of the diagnose set,
#                          installed on top of it: diagnose after test, or test after diagnose, never
#                          rebuilds the virtualenv);
#                       3. ansible-test's offline get-pip stand-in.
#   setup.sh --packages MODE   print the Debian packages MODE may install, one a line.
# Idempotent: each step is skipped when its inputs have not changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# The one home of both package lists.
diagnose_apt_packages=(python3 python3-venv)
test_apt_packages=(openssh-server openssh-client tcpd nftables iptables conntrack iputils-ping ethtool
                   iproute2 procps kmod util-linux psmisc debootstrap systemd-container chromium shellcheck
                   nginx haproxy redis-server gunicorn python3-gunicorn apache2 postgresql mariadb-server
                   uwsgi-core uwsgi-plugin-python3)  # the endpoints tests' services

usage() { echo "usage: $0 [diagnose|test] | --packages diagnose|test" >&2; exit 2; }
if [ "${1:-}" = --packages ]; then
  case "${2:-}" in
    diagnose) printf '%s\n' "${diagnose_apt_packages[@]}" ;;
    test) printf '%s\n' "${diagnose_apt_packages[@]}" "${test_apt_packages[@]}" ;;
    *) usage ;;
  esac
  exit 0
fi
mode=${1:-test}
case "$mode" in diagnose|test) ;; *) usage ;; esac
[ $# -le 1 ] || usage
mkdir -p .cache

# apt_install PACKAGE...: as root with apt-get only (returns 1 otherwise); no service is started
# (policy-rc.d); a failing apt-get ends the script.
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  echo "== installing Debian packages: $*"
  local created_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
  [ "$rc" != 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  [ -z "$created_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || { echo "apt-get failed (exit $rc) installing: $*" >&2; exit "$rc"; }
}

if [ "$mode" = test ]; then
  stamp=.cache/apt.stamp
  want=$(printf '%s\n' "${test_apt_packages[@]}" | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    if apt_install "${test_apt_packages[@]}"; then
      echo "$want" > "$stamp"
    else
      echo "== not root or no apt-get: skipping Debian packages (system tests will skip)" >&2
    fi
  fi
fi

# The virtualenv: kept as long as it runs the same Python as $PYTHON (default python3); each mode's
# requirements are installed into it when they changed (.cache/venv-<mode>.stamp).
py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null; then
  apt_install "${diagnose_apt_packages[@]}" || { echo "$py not found: install python3 and python3-venv" >&2; exit 1; }
fi
if [ ! -x .venv/bin/python ] || [ "$(.venv/bin/python --version 2>&1)" != "$("$py" --version 2>&1)" ]; then
  echo "== building .venv with $("$py" --version 2>&1)"
  rm -f .cache/venv-diagnose.stamp .cache/venv-test.stamp
  if ! "$py" -m venv --clear .venv; then
    # Debian's python3 builds no virtualenv without python3-venv (ensurepip)
    apt_install "${diagnose_apt_packages[@]}" || { echo "$py -m venv failed: install python3-venv" >&2; exit 1; }
    "$py" -m venv --clear .venv
  fi
  .venv/bin/pip install -q --upgrade pip
fi
# test-requirements.txt includes diagnose-requirements.txt, which includes requirements.txt
rm -f .cache/venv.stamp  # the single stamp of earlier versions of this script
hash_of() { (cat "$@"; .venv/bin/python --version) | sha256sum | cut -c1-16; }
want_diagnose=$(hash_of diagnose-requirements.txt requirements.txt)
want_test=$(hash_of test-requirements.txt diagnose-requirements.txt requirements.txt)
if [ "$mode" = test ]; then
  if [ "$(cat .cache/venv-test.stamp 2>/dev/null)" != "$want_test" ]; then
    echo "== installing test-requirements.txt into .venv"
    .venv/bin/pip install -q -r test-requirements.txt
    echo "$want_test" > .cache/venv-test.stamp
    echo "$want_diagnose" > .cache/venv-diagnose.stamp
  fi
elif [ "$(cat .cache/venv-diagnose.stamp 2>/dev/null)" != "$want_diagnose" ] \
     && [ "$(cat .cache/venv-test.stamp 2>/dev/null)" != "$want_test" ]; then
  echo "== installing diagnose-requirements.txt into .venv"
  .venv/bin/pip install -q -r diagnose-requirements.txt
  echo "$want_diagnose" > .cache/venv-diagnose.stamp
fi

# ansible-playbook finds the collection at .build/ansible_collections/connreset/doctor (the Makefile's
# ANSIBLE_COLLECTIONS_PATH), and ansible-test wants the checkout at ansible_collections/<namespace>/<name>;
# a symlink is enough when ANSIBLE_TEST_CONTENT_ROOT points at it (os.getcwd() would resolve the link).
mkdir -p .build/ansible_collections/connreset
ln -sfn ../../.. .build/ansible_collections/connreset/doctor

[ "$mode" = test ] || exit 0

# ansible-test --venv bootstraps pip in each venv it makes with a get-pip script it downloads from a
# host this machine cannot reach; it uses a cached copy when one exists.  Ours installs the bundled pip
# with ensurepip and then the exact packages ansible-test asked for, from the package index.
pip_version=$(.venv/bin/python - <<'PY'
try:
    from ansible_test._internal.python_requirements import get_venv_packages
except ImportError:
    print('')
else:
    class P:  # get_venv_packages only reads .version
        version = '3.11'
    print(get_venv_packages(P())['pip'])
PY
)
if [ -n "$pip_version" ]; then
  cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
  mkdir -p "$(dirname "$cache")"
  cat > "$cache" <<'PY'
# Offline stand-in for get-pip.py, written by connreset.doctor's tests/utils/setup.sh.
import subprocess
import sys
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
PY
fi
