# The two commands of the README: `make demo` and `make test`. Each sets up what it needs
# (a .venv with the Python dependencies, the web build) once, and is quick when that is done.

PYTHON ?= python3
# Extras installed with the dev tools; CI adds the model runners' (openvino, torch, hf) so their
# tests run there: EXTRAS=dev,openvino,torch,hf (torch==2.13.0 is a local CPU build).
EXTRAS ?= dev
VENV   := .venv
PY     := $(VENV)/bin/python
STAMPS := .stamps
comma  := ,
STATIC := src/assay/server/static/index.html
# The UI's own files (not the generated src/api/schema.d.ts), and the server code its schema comes from.
UI_SOURCES  := $(shell find frontend/src -type f ! -name schema.d.ts 2>/dev/null) \
               $(wildcard frontend/index.html frontend/package.json frontend/package-lock.json \
                          frontend/vite.config.ts frontend/tsconfig*.json frontend/eslint.config.js)
WEB_SOURCES := $(UI_SOURCES) $(shell find src/assay/server -name '*.py' 2>/dev/null) src/assay/evaluation/vocabulary.py

.PHONY: demo test setup web web-check lint clean

setup: $(STAMPS)/venv

$(STAMPS)/venv: pyproject.toml $(STAMPS)/extras-$(subst $(comma),-,$(EXTRAS))
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	$(PY) -m assay.warmup
	@touch $@

$(STAMPS)/extras-%:
	@mkdir -p $(STAMPS)
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

# tsc --noEmit, ESLint and Vitest over the UI; re-run only when a UI file (or the schema) changed.
$(STAMPS)/web-check: $(STATIC) $(UI_SOURCES)
	cd frontend && npm run --silent check
	@touch $@

web-check: $(STAMPS)/web-check

# The first run after a fresh install (an empty numba cache), measured once: under 3 s expected;
# make test fails above 8 s of CPU (a kernel compiled on the first run costs 15-30 s).
FIRST_RUN := $(PY) benchmarks/startup.py --rounds 1 --skip-sklearn --first-run-only

demo: $(STAMPS)/venv $(STATIC)
	$(FIRST_RUN)
	$(PY) -m assay.demo

lint: $(STAMPS)/venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src

# The suite in parallel (pytest-xdist): one worker per core (TEST_WORKERS=0: in this process, one
# test after another). --dist loadfile, as tests/conftest.py schedules it: a file's tests in one
# worker (its module-scoped fixtures, a built demo or a running server, made once) and all the
# browser tests in one (one seeded workspace, one server, one chromium).
TEST_WORKERS ?= auto

test: $(STAMPS)/venv $(STATIC) $(STAMPS)/web-check lint
	$(FIRST_RUN) --fail-above 8
	$(VENV)/bin/pytest -q -p no:cacheprovider --doctest-modules -n $(TEST_WORKERS) --dist loadfile \
		src/assay tests

clean:
	rm -rf $(STAMPS) $(VENV) frontend/node_modules src/assay/server/static .demo
