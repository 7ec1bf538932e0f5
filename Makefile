# One place for the commands the README shows. Each target installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: dev test lint unit bench-http clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

dev: $(STAMP)  ## start a dev server: in memory, unsealed, root token "root"
	$(BIN)/strongroom server -dev -dev-root-token-id=$${DEV_ROOT_TOKEN:-root}

test: $(STAMP) lint  ## the whole suite: lint, unit, integration and compatibility tests
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench-http: $(STAMP)  ## strongroom against OpenBao over HTTP, side by side (uses wrk); ARGS="--rounds 5"
	$(BIN)/python bench/http_api.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
