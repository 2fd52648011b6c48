# SPDX-License-Identifier: GPL-3.0-or-later
"""Generated documentation must match its sources."""

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_facts_doc_matches_module_return_blocks():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'utils', 'gen_facts_doc.py'), '--check'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
