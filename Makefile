# The one list of commands. `make run` and `make test` need only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt migrate bench registries clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || \
		{ echo "Se necesita Python 3.11 / Python 3.11 is required ($(PYTHON))"; exit 1; }
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
