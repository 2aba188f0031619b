# Pacto: `make run` starts everything for a demo, `make test` runs what CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-unit test-e2e bench messages clean-data help

help:
	@echo "make run    - start Pacto with embedded PostgreSQL and Redis and the demo data"
	@echo "make test   - run every test (unit, integration, browser), as CI does"
	@echo "make bench  - benchmarks (not part of make test): prints figures beside same-run ceilings"
	@echo "make messages - extract translatable strings and update the es/nl catalogs"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/pacto run --demo

test: install
	$(BIN)/python -m e2e.browser ensure
	$(BIN)/python -m e2e.idp ensure
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests

test-e2e: install
	$(BIN)/python -m e2e.browser ensure
	$(BIN)/python -m e2e.idp ensure
	$(BIN)/python -m pytest e2e

bench: install
	$(BIN)/python -m tests.bench.deviations
	$(BIN)/python -m tests.bench.ingest
	$(BIN)/python -m tests.bench.recompute
	$(BIN)/python -m tests.bench.full_recompute
	$(BIN)/python -m tests.bench.pages

messages: install
	$(BIN)/pybabel extract --ignore-dirs='.* node_modules' --no-location --sort-output -F babel.cfg -k _ -k lazy -o backend/locale/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i backend/locale/messages.pot -d backend/locale -D messages

clean-data:
	rm -rf .pacto
