# Agora — everything a fresh machine needs goes through these targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.example.yaml
DATA   ?= ./data

.PHONY: install run test lint bench clean

$(BIN)/agora-bot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,dev]'
	@touch $@

install: $(BIN)/agora-bot

run: install
	$(BIN)/agora-bot run --config $(CONFIG) --data-dir $(DATA)

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/command_latency.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
