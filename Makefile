# Agora — everything a fresh machine needs goes through these targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.example.yaml
DATA   ?= ./data

.PHONY: install install-test-client run test lint bench translations clean

$(BIN)/agora-bot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,dev]'
	@touch $@

# The Element-equivalent test client (matrix-js-sdk, Rust crypto in WASM) for the tests.
JS_CLIENT := tests/js/node_modules/matrix-js-sdk/package.json

$(JS_CLIENT): tests/js/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed for the tests' JS client"; exit 1; }
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	@touch $@

install: $(BIN)/agora-bot

install-test-client: $(JS_CLIENT)

run: install
	$(BIN)/agora-bot run --config $(CONFIG) --data-dir $(DATA)

test: install install-test-client
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

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

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info tests/js/node_modules
