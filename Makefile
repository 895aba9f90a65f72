# The one list of commands. `make run` and `make test` need only Python 3.11 and make.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt migrate bench registries clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Se necesita Python 3.11 / Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## start PostgreSQL (embedded unless ECE_DATABASE_URL), migrate, serve on :8000
	$(BIN)/ece run

test: $(STAMP)  ## the whole suite, on ECE_TEST_DATABASE_URL or an embedded PostgreSQL
	$(BIN)/lint-imports pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports pyproject.toml

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)
	$(BIN)/ece migrate

bench: $(STAMP)  ## figures, not a test; BENCH_URL=http://host:port/fhir to use a running server
	$(BIN)/python -m bench.run

registries:  ## regenerate ece/registry from ../shared/fhir-r4
	$(PYTHON) scripts/generate_registries.py

clean:
	rm -rf $(VENV) build *.egg-info
