# Agora — everything a fresh machine needs goes through these targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.example.yaml
DATA   ?= ./data
# Processes the test suite runs in (pytest-xdist; 0: one process, no workers).
TEST_WORKERS ?= 2

.PHONY: install install-test-client install-browser install-workers run test lint bench translations screenshots clean

$(BIN)/agora-bot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,workers,dev]'
	@touch $@

# The Element-equivalent test client (matrix-js-sdk, Rust crypto in WASM) for the tests.
JS_CLIENT := tests/js/node_modules/matrix-js-sdk/package.json

$(JS_CLIENT): tests/js/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed for the tests' JS client"; exit 1; }
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	@touch $@

# Headless Chromium for the web pages' browser tests (Playwright drives it; it never downloads
# a browser of its own). Debian's package, installed when missing; CHROMIUM=… names another.
CHROMIUM ?= /usr/bin/chromium
export AGORA_CHROMIUM := $(CHROMIUM)

# Where the tests marked topologies run (tests/conftest.py): workers (the default), or
# sqlite,workers to run each on the single SQLite Synapse as well.
TOPOLOGIES ?= workers
export AGORA_TOPOLOGIES := $(TOPOLOGIES)

install: $(BIN)/agora-bot

install-test-client: $(JS_CLIENT)

install-browser:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; \
	elif [ "$(CHROMIUM)" != /usr/bin/chromium ]; then \
		echo "CHROMIUM=$(CHROMIUM) is not an executable: the browser tests need Chromium"; exit 1; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "Chromium is missing and installing it needs root: run 'apt-get install chromium' as root, or 'make test CHROMIUM=/path/to/chromium'"; exit 1; \
	elif ! command -v apt-get >/dev/null; then \
		echo "Chromium is missing and there is no apt-get here: install Chromium, then 'make test CHROMIUM=/path/to/chromium'"; exit 1; \
	fi; \
	echo "Installing Debian's chromium for the browser tests"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

# PostgreSQL and Redis for the tests' Synapse with workers (tests/topology.py, deploy/workers):
# Debian's packages, installed when missing (as root, with apt-get).
install-workers:
	@if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v redis-server >/dev/null; then exit 0; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "PostgreSQL or Redis is missing and installing them needs root: run 'apt-get install postgresql redis-server' as root"; exit 1; \
	elif ! command -v apt-get >/dev/null; then \
		echo "PostgreSQL or Redis is missing and there is no apt-get here: install PostgreSQL's server (15 or later) and redis-server"; exit 1; \
	fi; \
	echo "Installing Debian's postgresql and redis-server for the tests' Synapse with workers"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql redis-server

run: install
	$(BIN)/agora-bot run --config $(CONFIG) --data-dir $(DATA)

test: install install-test-client install-browser install-workers
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The gettext catalogues (bot/locale) brought up to date with the code: new message ids added
# (their text to write, listed), the English catalogue in step with the French one.
translations: install
	$(BIN)/python tools/translations.py

bench: install
	$(BIN)/python bench/command_latency.py
	$(BIN)/python bench/provision_network.py
	$(BIN)/python bench/onboard_members.py
	$(BIN)/python bench/broadcast.py
	$(BIN)/python bench/ban_propagation.py
	$(BIN)/python bench/feed_isolation.py
	$(BIN)/python bench/rosters.py
	$(BIN)/python bench/directory.py
	$(BIN)/python bench/survey.py
	$(BIN)/python bench/scale.py

# docs/screenshots/*.png: the join form (blank, with errors), a status page and a news page, as
# the browser tests see them (a real Synapse and bot, started by the tests' fixtures).
screenshots: install install-test-client install-browser
	AGORA_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/test_web_browser.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info tests/js/node_modules
