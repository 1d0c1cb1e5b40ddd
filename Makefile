# Tradeops: `make dev` runs everything locally, `make test` passes the suite. Both set themselves up.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# checkov (tests/infra/test_checkov.py) lives in its own venv: its pins clash with requirements-dev.txt.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp
PYTEST_WORKERS ?= 2
PORT ?= 7071

.PHONY: install dev test test-fast migrate seed bench load lint clean

# One environment for the app, its tools and the render worker (bpy 4.5 is Python 3.11, like Functions).
$(STAMP): requirements.txt requirements-dev.txt render_container/requirements.txt package.json
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r render_container/requirements.txt
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

install: $(STAMP) $(CHECKOV_STAMP)

local.settings.json: local.settings.example.json
	@test -f $@ || cp local.settings.example.json $@

# The dev host with embedded PostgreSQL and Azurite, migrations, the demo seed and the Blender render worker.
dev: install local.settings.json
	$(PY) -m devhost --app function_app:app --port $(PORT) --seed --sidecar "$(PY) -m render_container --poll-interval 1"

test: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile

test-fast: install
	$(PY) -m pytest tests/unit -q

migrate: install local.settings.json
	$(PY) -m devhost.migrate

seed: install local.settings.json
	$(PY) -m devhost.migrate --seed

# Each script's last line is one JSON object; benchmarks/results/latest.json keeps them with date and load.
bench: install
	$(PY) benchmarks/run.py

# 50 Locust users for 3 minutes against the dev host (its own services, all loopback); prints one JSON line.
# FAULT=postgres (or azurite) stops that dependency for 10 s a minute into the load.
FAULT ?= none
load: install
	$(PY) benchmarks/load/run.py --fault $(FAULT)

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pyright

clean:
	rm -rf .data .pytest_cache .ruff_cache $(CHECKOV_VENV)
