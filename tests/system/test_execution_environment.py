# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment definition produces a build context (no container engine needed)."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.path.dirname(sys.executable)


def run(*argv):
    # a clean environment: the test runner's PYTHONPATH/ANSIBLE_COLLECTIONS_PATH point at this checkout,
    # which would make ansible-galaxy consider the collection installed already
    env = dict((k, v) for k, v in os.environ.items() if k not in ('PYTHONPATH', 'ANSIBLE_COLLECTIONS_PATH'))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env=env, cwd='/')
    assert proc.returncode == 0, '%s\n%s\n%s' % (' '.join(argv), proc.stdout, proc.stderr)
    return proc.stdout


@pytest.mark.skipif(not os.path.exists(os.path.join(BIN, 'ansible-builder')), reason='ansible-builder not installed')
def test_ansible_builder_create_and_introspect(tmp_path):
    ee = tmp_path / 'ee'
    shutil.copytree(os.path.join(ROOT, 'ee'), str(ee), ignore=shutil.ignore_patterns('collections'))
    run(os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(ee / 'collections'), ROOT)
    tarball = ee / 'collections' / 'connreset-doctor-1.0.0.tar.gz'
    assert tarball.exists()

    context = tmp_path / 'context'
    run(os.path.join(BIN, 'ansible-builder'), 'create', '-f', str(ee / 'execution-environment.yml'), '-c', str(context))
    build_file = next(p for p in (context / 'Containerfile', context / 'Dockerfile') if p.exists())
    text = build_file.read_text()
    assert 'ansible-galaxy collection install' in text and '-r requirements.yml' in text
    assert (context / '_build' / 'collections' / tarball.name).exists()
    assert '/build/collections/%s' % tarball.name in (context / '_build' / 'requirements.yml').read_text()

    # what ansible-builder will find in the installed collection: our requirements.txt and bindep.txt
    installed = tmp_path / 'installed'
    run(os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--force', '-p', str(installed), str(tarball))
    found = run(os.path.join(BIN, "ansible-builder"), "introspect", "--sanitize", str(installed))
    assert 'paramiko' in found and 'jmespath' in found
    assert 'iproute' in found
