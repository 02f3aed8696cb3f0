# `make run` migrates the database, sets up the demo course (printing its logins) and starts the service;
# `make test` runs the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(BIN)/activate

.PHONY: setup run test lint bench static
setup: $(BIN)/activate

run: setup
	GRADGATE_CONFIG=development $(BIN)/flask --app wsgi db upgrade
	GRADGATE_CONFIG=development $(BIN)/flask --app wsgi demo
	GRADGATE_CONFIG=development $(BIN)/flask --app wsgi run

test: setup
	$(BIN)/python -m pytest -n 2 -q --durations=25

lint: setup
	$(BIN)/ruff check .

# Run as modules (python -m bench.NAME): bench/http.py must not shadow the standard library's http.
bench: setup
	for b in engine grading sandbox http gradebook jobs regrade lti; do $(BIN)/python -m bench.$$b || exit 1; done

# KaTeX for the student pages and the CodeMirror definition editor (frontend/, bundled by esbuild into one
# script), vendored into grader/static (committed, so `make run` needs no npm and the pages work offline).
# Refresh after changing a pinned version in package.json.
KATEX_OUT := grader/static/vendor/katex
EDITOR_OUT := grader/static/vendor/codemirror
# Swagger UI for the API docs page (/api/docs): npm's prebuilt bundle and stylesheet, copied as shipped (the
# stylesheet without its source-map comment: the map is not vendored). Its init is grader/static/api-docs.js.
DOCS_OUT := grader/static/vendor/swagger-ui
DOCS_SRC := node_modules/swagger-ui-dist
static:
	npm ci --no-audit --no-fund
	rm -rf $(KATEX_OUT) && mkdir -p $(KATEX_OUT)/contrib $(KATEX_OUT)/fonts
	cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css $(KATEX_OUT)/
	cp node_modules/katex/dist/contrib/auto-render.min.js $(KATEX_OUT)/contrib/
	cp node_modules/katex/dist/fonts/*.woff2 $(KATEX_OUT)/fonts/
	cp node_modules/katex/LICENSE $(KATEX_OUT)/
	rm -rf $(EDITOR_OUT) && mkdir -p $(EDITOR_OUT)
	node_modules/.bin/esbuild frontend/editor.js --bundle --minify --format=iife --target=es2020 \
		--legal-comments=none --metafile=node_modules/.editor-meta.json --outfile=$(EDITOR_OUT)/editor.js
	node frontend/licenses.mjs node_modules/.editor-meta.json $(EDITOR_OUT)/LICENSES.txt
	rm -rf $(DOCS_OUT) && mkdir -p $(DOCS_OUT)
	cp $(DOCS_SRC)/swagger-ui-bundle.js $(DOCS_SRC)/swagger-ui-bundle.js.LICENSE.txt $(DOCS_SRC)/LICENSE \
		$(DOCS_SRC)/NOTICE $(DOCS_OUT)/
	sed '/sourceMappingURL=/d' $(DOCS_SRC)/swagger-ui.css > $(DOCS_OUT)/swagger-ui.css
