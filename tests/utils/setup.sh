#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine (as root) to run the whole test suite:
#   1. Debian packages the tests need (real sshd, tcpd's tcpdmatch, nftables, ...), installed
#      without starting any service (policy-rc.d), so the machine's own state is not changed;
#   2. a virtualenv (.venv) with test-requirements.txt;
#   3. the ansible_collections/connreset/doctor path ansible-test needs, as a symlink.
# Idempotent: each step is skipped when its inputs have not changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p .cache

apt_packages=(openssh-server openssh-client tcpd nftables iptables conntrack iputils-ping ethtool
              iproute2 procps kmod util-linux psmisc debootstrap systemd-container chromium shellcheck)
stamp=.cache/apt.stamp
want=$(printf '%s\n' "${apt_packages[@]}" | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian packages: ${apt_packages[*]}"
    created_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
    [ -z "$created_policy" ] || rm -f /usr/sbin/policy-rc.d
    echo "$want" > "$stamp"
  else
    echo "== not root or no apt-get: skipping Debian packages (system tests will skip)" >&2
  fi
fi

py=${PYTHON:-python3}
want=$( (cat test-requirements.txt requirements.txt; "$py" --version) | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .cache/venv.stamp 2>/dev/null)" != "$want" ]; then
  echo "== building .venv from test-requirements.txt"
  "$py" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r test-requirements.txt
  echo "$want" > .cache/venv.stamp
fi

# ansible-test wants the checkout at ansible_collections/<namespace>/<name>; a symlink is enough
# when ANSIBLE_TEST_CONTENT_ROOT points at it (os.getcwd() would resolve the link).
mkdir -p .build/ansible_collections/connreset
ln -sfn ../../.. .build/ansible_collections/connreset/doctor

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
