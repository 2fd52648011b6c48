# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A newcomer's first run: `make diagnose` in a fresh copy of the checkout (no .venv, .build or
.cache) sets up only what diagnose needs and finishes with a report, without Ansible warnings.

The copy's apt-get is a recording stand-in (it installs nothing), and its python3 is the real one
behind a wrapper that refuses `-m venv` until python3-venv was "installed", as Debian's python3
does without that package. So the test sees every apt-get call the diagnose set-up makes on a
machine without python3-venv, and the virtualenv it really builds from the package index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP = os.path.join(ROOT, 'tests', 'utils', 'setup.sh')
# Debian packages only the tests need: the diagnose set-up must never ask for them
TEST_ONLY = {'openssh-server', 'openssh-client', 'debootstrap', 'chromium', 'systemd-container', 'shellcheck', 'tcpd'}
# Distributions the test command adds; none may be in the diagnose virtualenv
TEST_TOOLS = {'pytest', 'molecule', 'ansible-lint', 'hypothesis', 'pytest-testinfra', 'jsonschema', 'ansible-builder',
              'antsibull-changelog'}

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the set-up calls apt-get only as root'),
    pytest.mark.skipif(shutil.which('make') is None or shutil.which('git') is None, reason='needs make and git'),
]

FAKE_APT = r'''#!/bin/sh
# recording stand-in for apt-get: logs its arguments, installs nothing
echo "$*" >> "$FAKE_LOG"
case " $* " in *" install "*" python3-venv "*) : > "$FAKE_VENV_OK" ;; esac
exit 0
'''

FAKE_PYTHON = r'''#!/bin/sh
# python3 as on Debian without python3-venv: "-m venv" fails until the package is there
if [ "$1" = -m ] && [ "$2" = venv ] && [ ! -e "$FAKE_VENV_OK" ]; then
  echo "The virtual environment was not created successfully because ensurepip is not available." >&2
  exit 1
fi
exec %s "$@"
'''

# Every installed distribution must be required (transitively) by diagnose-requirements.txt
CLOSURE = r'''
import json, re, sys
from importlib import metadata
from packaging.requirements import Requirement
def norm(n):
    return re.sub(r'[-_.]+', '-', n).lower()
dists = dict((norm(d.metadata['Name']), d) for d in metadata.distributions())
want, todo = set(), [norm(n) for n in sys.argv[1:]]
while todo:
    name = todo.pop()
    if name in want or name not in dists:
        continue
    want.add(name)
    for req in dists[name].requires or []:
        r = Requirement(req)
        if r.marker is None or r.marker.evaluate({'extra': ''}):
            todo.append(norm(r.name))
print(json.dumps({'installed': sorted(dists), 'required': sorted(want)}))
'''


def _copy_checkout(dest):
    """The checkout's files as a fresh clone would have them (tracked and new, not ignored)."""
    files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split('\0')
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))


def _requirement_names(path):
    names = []
    with open(path) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                names += _requirement_names(os.path.join(os.path.dirname(path), line[3:].strip()))
            else:
                names.append(line.split('>')[0].split('<')[0].split('=')[0].split('[')[0].strip())
    return names


@pytest.fixture(scope='module')
def first_run(tmp_path_factory):
    base = tmp_path_factory.mktemp('first-run')
    work = base / 'checkout'
    fake = base / 'bin'
    fake.mkdir()
    _copy_checkout(str(work))
    # what a fresh shell has: no virtualenv of ours on PATH, no collection path, no Ansible settings
    path = ':'.join(p for p in os.environ['PATH'].split(':') if not p.startswith(os.path.dirname(sys.executable)))
    (fake / 'apt-get').write_text(FAKE_APT)
    (fake / 'python3').write_text(FAKE_PYTHON % shutil.which('python3', path=path))
    for name in ('apt-get', 'python3'):
        os.chmod(str(fake / name), 0o755)
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'PYTHON', 'VIRTUAL_ENV')))
    env.update(PATH='%s:%s' % (fake, path), FAKE_LOG=str(base / 'apt.log'), FAKE_VENV_OK=str(base / 'venv-ok'),
               PYTHON=str(fake / 'python3'))
    runs = [subprocess.run(['make', 'diagnose'], cwd=str(work), env=env, capture_output=True, text=True,
                           timeout=900, check=False) for dummy in ('first', 'second')]
    apt_log = (base / 'apt.log').read_text().splitlines() if (base / 'apt.log').exists() else []
    return {'work': work, 'runs': runs, 'apt': apt_log, 'env': env}


def test_package_lists_keep_test_packages_out_of_diagnose():
    def packages(mode):
        return set(subprocess.run(['bash', SETUP, '--packages', mode], capture_output=True, text=True,
                                  check=True).stdout.split())
    assert packages('diagnose') == {'python3', 'python3-venv'}
    assert not packages('diagnose') & TEST_ONLY
    assert TEST_ONLY <= packages('test')  # what `make test` still installs itself
    bad = subprocess.run(['bash', SETUP, 'lint'], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and 'usage:' in bad.stderr


def test_make_diagnose_calls_apt_get_only_for_python3_venv(first_run):
    first = first_run['runs'][0]
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    # once, for the virtualenv the wrapped python3 could not build, and for nothing else
    assert first_run['apt'] == ['update -qq', 'install -y -qq --no-install-recommends python3 python3-venv']
    installed = set(first_run['apt'][1].split())
    assert not installed & TEST_ONLY
    assert not (first_run['work'] / '.cache' / 'apt.stamp').exists()  # the test packages' stamp


def test_make_diagnose_prints_no_warning_and_writes_the_report(first_run):
    for run in first_run['runs']:
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        assert '[WARNING]' not in run.stdout + run.stderr
        assert 'connreset.doctor: 1 host(s), 1 reachable, 0 unreachable' in run.stdout
    report_dir = first_run['work'] / 'connreset-report'
    report = json.loads((report_dir / 'report.json').read_text())
    assert [h['host'] for h in report['hosts']] == ['localhost']
    jsonschema = pytest.importorskip('jsonschema')
    with open(os.path.join(ROOT, 'docs', 'report.schema.json')) as f:
        jsonschema.validate(report, json.load(f))
    for name in ('report.md', 'report.html', 'junit.xml'):
        assert (report_dir / name).stat().st_size > 0


def test_second_run_sets_up_nothing_again(first_run):
    second = first_run['runs'][1]
    assert second.returncode == 0, second.stderr[-4000:]
    assert '== building .venv' in first_run['runs'][0].stdout
    assert '== building' not in second.stdout and '== installing' not in second.stdout
    assert len(first_run['apt']) == 2  # the second run called apt-get no more


def test_virtualenv_holds_the_diagnose_requirements_only(first_run):
    work = first_run['work']
    tops = _requirement_names(str(work / 'diagnose-requirements.txt'))
    assert sorted(tops) == ['ansible-core', 'jmespath', 'paramiko']
    python = str(work / '.venv' / 'bin' / 'python')
    imports = subprocess.run([python, '-c', 'import ansible, paramiko, jmespath; print(ansible.__file__); '
                              'print(paramiko.__file__); print(jmespath.__file__)'],
                             capture_output=True, text=True, check=True, env=first_run['env']).stdout.split()
    assert all(p.startswith(str(work / '.venv') + os.sep) for p in imports), imports
    closure = json.loads(subprocess.run([python, '-c', CLOSURE] + tops, capture_output=True, text=True, check=True,
                                        env=first_run['env']).stdout)
    extra = set(closure['installed']) - set(closure['required']) - {'pip', 'setuptools', 'wheel'}
    assert not extra, 'installed beyond diagnose-requirements.txt: %s' % sorted(extra)
    assert not set(closure['installed']) & TEST_TOOLS
