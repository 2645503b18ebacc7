# warmline — every command humans, hooks and CI run.
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install run test test-unit bench faults lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install warmline with its dev extras

run: install  ## the embedded stack in the foreground: Tansu, demo data, one worker
	$(VENV)/bin/warmline dev

test: install  ## the whole suite: unit, integration and interop (Tansu + Redis), containers (skipped without Docker)
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: install  ## unit tests only (no services)
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

bench: install  ## benchmarks; JSON + PNG under benchmarks/results/
	$(PY) -m benchmarks

faults: install  ## fault suite (~10 min), 10 failover windows on fresh brokers (~15 min), Redis HA faults (~2 min); JSON + PNG
	$(PY) -m benchmarks.faults
	$(PY) -m benchmarks.faults.failover
	$(PY) -m benchmarks.faults.redis_ha

lint: install  ## ruff, format check, mypy, import contracts, import cycles and functions over 50 lines
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy warmline harness tests
	$(VENV)/bin/lint-imports
	$(PY) tools/code_report.py

clean:  ## remove the venv and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
