# A newcomer's two commands: `make book` and `make test`. Both make .venv if
# it is missing and bring it up to date with the pinned requirements.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BOOK_STAMP := $(VENV)/.book-installed
DEV_STAMP  := $(VENV)/.dev-installed

# `book/` is a folder, so every target must be phony, or `make book` would
# answer "'book' is up to date" and build nothing.
.PHONY: book test lint bench lock clean

# --all: Sphinx re-reads (and so re-executes) only changed pages otherwise, and a
# change to optnotes would leave stale figures behind.
book: $(BOOK_STAMP)
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "The site is in _build/html/index.html"

test: $(DEV_STAMP)
	$(BIN)/ruff check optnotes tests
	$(BIN)/ruff format --check optnotes tests
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check optnotes tests

bench: $(BOOK_STAMP)
	$(BIN)/python -m optnotes.bench rules

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "The book's pinned requirements need Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	  echo "Run with a newer one, for example: make book PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create $(VENV) with '$(PYTHON) -m venv'."; \
	  echo "On Debian or Ubuntu install the venv module first: apt-get install python3-venv"; \
	  rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BOOK_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(BOOK_STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Re-pin requirements.txt from requirements.in in a throw-away environment.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -r requirements.in
	{ sed -n '1,3p' requirements.txt; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^optnotes'; \
	  echo '-e .'; } > requirements.txt.new
	mv requirements.txt.new requirements.txt
	rm -rf .lock-venv

clean:
	rm -rf _build .venv .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
