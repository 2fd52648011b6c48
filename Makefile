# connreset.doctor — developer entry points.  `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ROOT := $(CURDIR)
COLL := $(ROOT)/.build/ansible_collections/connreset/doctor
VENV := $(ROOT)/.venv
PY_VERSION := 3.11
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_TEST_CONTENT_ROOT := $(COLL)
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.build
export PYTHONPATH := $(ROOT)/.build
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: test setup setup-diagnose sanity units system integration lint diagnose molecule demo bench clean

## Everything CI runs, in order; stops at the first failure.
test: setup sanity units system integration lint molecule
	@echo "== make test: all stages passed"

## Set-up of the whole test suite (Debian packages, .venv with test-requirements.txt, .build).
setup:
	@bash tests/utils/setup.sh test

## Set-up of the main job only (.venv with diagnose-requirements.txt, .build; no test packages).
setup-diagnose:
	@bash tests/utils/setup.sh diagnose

sanity: setup
	@echo "== ansible-test sanity (no ignore files)"
	@test ! -e tests/sanity || ! ls tests/sanity/ignore-*.txt >/dev/null 2>&1 || { echo "tests/sanity/ignore-*.txt must not exist"; exit 1; }
	cd $(COLL) && ansible-test sanity --local --python $(PY_VERSION) --color no

units: setup
	@echo "== unit tests"
	pytest -q -p no:cacheprovider --import-mode=importlib tests/unit

system: setup
	@echo "== system tests (real sshd, tcpdmatch, namespaces, cgroups)"
	pytest -q -p no:cacheprovider tests/system

integration: setup
	@echo "== ansible-test integration against localhost"
	cd $(COLL) && ansible-test integration --local --python $(PY_VERSION) --color no

lint: setup
	@echo "== ansible-lint (production profile)"
	ansible-lint --offline --profile production

## The main job: diagnose localhost (inventory/localhost.yml) or INVENTORY=path, write connreset-report/.
diagnose: setup-diagnose
	ansible-playbook -i $(or $(INVENTORY),$(ROOT)/inventory/localhost.yml) connreset.doctor.diagnose

## Molecule scenarios on lab hosts (real sshd in network namespaces), then the scenario template
## for users' playbooks (molecule-template/) as docs/molecule.md says, from a copy outside the checkout.
molecule: setup
	@echo "== molecule test --all"
	molecule test --all
	@echo "== molecule template (docs/molecule.md)"
	tests/molecule_template/run

## A small faulty lab fleet, diagnosed, then torn down.
demo: setup
	tests/lab/demo

## Benchmarks on lab fleets and synthetic data (bench/run --help for options; ARGS='--quick').
bench: setup
	bench/run $(ARGS)

clean:
	rm -rf .build tests/output connreset-report .pytest_cache
