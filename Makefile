# psyscore — the two commands a new user types: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test lint bench schema clean help

help:
	@echo "make run    create .venv, install, seed a demo clinic (embedded SQLite), serve the app on :$(PORT)"
	@echo "make test   install the dev extras and run make lint, then the whole test suite"
	@echo "make lint   ruff, the import contract (lint-imports) and the type checker (mypy)"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make schema regenerate instruments/schema.json from the models"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project metadata changes (stamp files are newer than pyproject.toml otherwise).
$(VENV)/.app-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[app]'
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,app]'
	@touch $@ $(VENV)/.app-installed

run: $(VENV)/.app-installed
	$(BIN)/psyscore demo --if-empty
	@echo ""
	@echo "psyscore on http://localhost:$(PORT) — the patients' tablet (code screen) is the start page."
	@echo "Staff sign-in: http://localhost:$(PORT)/login with the demo accounts (synthetic data only):"
	@echo "  admin / demo-admin-password   dr.lee / demo-therapist-lee   dr.novak / demo-therapist-novak"
	@echo "  research / demo-researcher (research export only)"
	@echo ""
	$(BIN)/psyscore app --port $(PORT)

test: lint
	$(BIN)/python -m pytest

# ruff, the import contract and the type checker (config: [tool.mypy] in pyproject.toml); `make test` runs them first.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run_all.py

schema: $(VENV)/.app-installed
	$(BIN)/psyscore schema > instruments/schema.json

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache .mypy_cache .hypothesis
