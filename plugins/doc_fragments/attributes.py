# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The module attributes the collection's modules share (issue 12).

    A module lists ``connreset.doctor.attributes`` and one of the named fragments below; the
    fragments never document the same attribute, so their order does not matter.  What is the
    module's own stays in the module: the C(platform) description, the C(facts) description naming
    the fact key, and any attribute whose wording differs (the module's text wins over a
    fragment's, field by field).
    """

    # Every module: runs on POSIX hosts (each module says which in its platform description).
    DOCUMENTATION = r'''
options: {}
attributes:
  platform:
    support: full
    platforms: posix
'''

    # The read-only fact collectors (*_facts, reset_capture): they return facts (each module's C(facts)
    # description names the fact key) and check mode is a normal run.
    FACTS_COLLECTOR = r'''
options: {}
attributes:
  facts:
    support: full
  check_mode:
    support: full
    description: Reads only, so check mode runs exactly like a normal run.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
'''

    # The modules implemented by an action plugin on the controller (ssh_probe, tcp_probe, fleet_report).
    ACTION = r'''
options: {}
attributes:
  diff_mode:
    support: none
    description: Nothing to diff.
  action:
    support: full
    description: Implemented by an action plugin running on the controller.
'''
