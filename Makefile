# `make run` migrates the database, sets up the demo course (printing its logins) and starts the service;
# `make test` runs the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(BIN)/activate

.PHONY: setup run test lint bench
setup: $(BIN)/activate

run: setup
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	$(BIN)/flask --app wsgi run

test: setup
	$(BIN)/python -m pytest -n 2 -q

lint: setup
	$(BIN)/ruff check .

# Run as modules (python -m bench.NAME): bench/http.py must not shadow the standard library's http.
bench: setup
	for b in engine grading sandbox http; do $(BIN)/python -m bench.$$b || exit 1; done
