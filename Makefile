# The two commands of the README: `make demo` and `make test`. Each sets up what it needs
# (a .venv with the Python dependencies, the web build) once, and is quick when that is done.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMPS := .stamps
STATIC := src/assay/server/static/index.html
WEB_SOURCES := $(shell find frontend/src frontend/index.html frontend/package.json frontend/package-lock.json frontend/vite.config.ts frontend/tsconfig*.json -type f 2>/dev/null) \
               $(shell find src/assay/server -name '*.py' 2>/dev/null)

.PHONY: demo test setup web lint clean

setup: $(STAMPS)/venv

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

$(STAMPS)/node: frontend/package.json frontend/package-lock.json
	@mkdir -p $(STAMPS)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(STATIC): $(STAMPS)/venv $(STAMPS)/node $(WEB_SOURCES)
	$(PY) -m assay.server.openapi frontend/openapi.json
	cd frontend && npm run build --silent
	@test -f $@ && touch $@

web: $(STATIC)

demo: $(STAMPS)/venv $(STATIC)
	$(PY) -m assay.demo

lint: $(STAMPS)/venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src

test: $(STAMPS)/venv $(STATIC) lint
	$(VENV)/bin/pytest -q -p no:cacheprovider --doctest-modules src/assay tests

clean:
	rm -rf $(STAMPS) $(VENV) frontend/node_modules src/assay/server/static .demo
