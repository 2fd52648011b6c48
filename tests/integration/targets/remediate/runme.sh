#!/usr/bin/env bash
# The target shares its name with the collection's role, so ansible-test would run the role
# itself instead of these tasks: run them from a playbook.
set -eux
ansible-playbook -i "${INVENTORY_PATH}" runme.yml --diff "$@"
