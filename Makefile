# Two commands matter: `make run` (the whole platform) and `make test` (the test suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-runtime
STAMP_DEV := $(VENV)/.installed-dev
STAMP_NPM := node_modules/.installed

.PHONY: help deps run test lint check-migrations bench compile-contracts clean browser

help:
	@echo "make run     - start the whole platform (anvil, migrate, deploy, web, worker, beat, poller)"
	@echo "make test    - run the test suite against PostgreSQL, Redis, anvil and a real Celery worker"
	@echo "make lint    - ruff, bandit (medium+), import contracts, migrations and contract artifacts checks"
	@echo "make bench   - performance report (bench/results.json)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"

$(STAMP_RUN): requirements.lock | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	@touch $@

$(STAMP_DEV): requirements-dev.lock $(STAMP_RUN)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $@

$(STAMP_NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(STAMP_DEV) $(STAMP_NPM)

run: $(STAMP_RUN) $(STAMP_NPM)
	$(PY) -m devtools.run_platform

# The browser tests drive Debian's Chromium; install it on a fresh machine (root, or sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update >/dev/null && $(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; }; }

# After the main run, the node smoke suite (tests/hardhat, marker `hardhat`) runs once per node in a
# pytest process of its own (settings read CHAIN_RPC_URL at start). It is left out when PYTEST_ARGS
# picks tests; `make test SMOKE_NODES=` leaves it out, `SMOKE_RPC_URL=` moves its port.
SMOKE_NODES ?= hardhat anvil
SMOKE_RPC_URL ?= http://127.0.0.1:18546
# The whole suite runs as two pytest sessions side by side (devtools/run_tests.py: each its own test
# database, Redis databases, anvil port and log file; TEST_SHARDS=1 for one); PYTEST_ARGS runs pytest
# alone on what it names.
test: $(STAMP_DEV) $(STAMP_NPM) browser
	$(if $(PYTEST_ARGS),$(PY) -m pytest $(PYTEST_ARGS),$(PY) -m devtools.run_tests)
	@for node in $(if $(PYTEST_ARGS),,$(SMOKE_NODES)); do \
	  echo "node smoke suite on $$node ($(SMOKE_RPC_URL))"; \
	  CHAIN_RPC_URL=$(SMOKE_RPC_URL) CHAIN_RPC_URLS=$(SMOKE_RPC_URL) SMOKE_NODE=$$node \
	    $(PY) -m pytest -m hardhat tests/hardhat || exit $$?; \
	done

lint: $(STAMP_DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m bandit -q -c pyproject.toml -r . --severity-level medium
	$(VENV)/bin/lint-imports --no-cache
	$(MAKE) --no-print-directory check-migrations
	DJANGO_ENV=test $(PY) manage.py compile_contracts --check
	@if command -v promtool >/dev/null; then \
	  promtool check rules deploy/prometheus/alerts.yml && \
	  promtool test rules deploy/prometheus/tests/*.yml; \
	else echo "promtool not found: alert rule checks skipped (apt-get install prometheus)"; fi
	@if command -v amtool >/dev/null; then amtool check-config deploy/alertmanager/alertmanager.yml; \
	else echo "amtool not found: Alertmanager config check skipped (apt-get install prometheus-alertmanager)"; fi

bench: $(STAMP_DEV) $(STAMP_NPM)
	$(PY) -m bench.run $(BENCH)

compile-contracts: $(STAMP_DEV) $(STAMP_NPM)
	DJANGO_ENV=test $(PY) manage.py compile_contracts

check-migrations: $(STAMP_DEV)
	DJANGO_ENV=test $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf var staticfiles
