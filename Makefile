# A newcomer's two commands: `make book` and `make test`. Both make .venv if
# it is missing and bring it up to date with the pinned requirements.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BOOK_STAMP := $(VENV)/.book-installed
DEV_STAMP  := $(VENV)/.dev-installed
FRAMEWORKS_STAMP := $(VENV)/.frameworks-installed
# PyTorch is pinned to its CPU build; where pip does not find it, name PyTorch's
# CPU wheel index: make frameworks FRAMEWORKS_PIP_OPTIONS="--extra-index-url URL"
FRAMEWORKS_PIP_OPTIONS ?=
# Debian's TeX Live packages for `make pdf`, and Chromium for the browser test.
TEX_PACKAGES := texlive-xetex texlive-latex-recommended texlive-latex-extra \
  texlive-fonts-recommended texlive-plain-generic latexmk xindy fonts-freefont-otf tex-gyre
BROWSER_PACKAGES := chromium fonts-liberation
# MathJax 3 for the browser test, from npm (tests/browser/package-lock.json).
MATHJAX_STAMP := tests/browser/node_modules/.installed
# The widget scripts the static pages' sliders run on, served by the site
# (book/widgets/package-lock.json; optnotes/static_sliders.py copies them).
# Without npm, `make book` still works: the pages show each experiment's default
# figure, and the build says so in a NOTE line.
WIDGETS_STAMP := book/widgets/node_modules/.installed
NPM := $(shell command -v npm 2>/dev/null)

# `book/` is a folder, so every target must be phony, or `make book` would
# answer "'book' is up to date" and build nothing.
.PHONY: book pdf test frameworks lint bench lock clean system-deps

# Pages are executed once and cached; a change to a page or to the optnotes
# package executes them again (see optnotes/execution_cache.py).
book: $(BOOK_STAMP) $(if $(NPM),$(WIDGETS_STAMP))
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The site is in _build/html/index.html"

# The lecture notes: the whole book through Sphinx's LaTeX builder and xelatex.
# Pages already executed by `make book` come from the execution cache.
pdf: $(BOOK_STAMP)
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null || { \
	  echo "make pdf needs TeX Live. On Debian or Ubuntu:"; \
	  echo "  apt-get install $(TEX_PACKAGES)"; exit 1; }
	$(BIN)/jupyter-book build . --builder pdflatex -W -n --keep-going
	@echo "The PDF is in _build/latex/optnotes.pdf"

# Without npm, Chromium or TeX Live the browser and PDF tests skip and say so;
# `make system-deps` (or .ci/run) installs them.
test: $(DEV_STAMP) $(if $(NPM),$(MATHJAX_STAMP) $(WIDGETS_STAMP))
	$(BIN)/ruff check optnotes tests
	$(BIN)/ruff format --check optnotes tests
	$(BIN)/python -m pytest

# PyTorch (CPU), JAX, optax and Keras for tests/test_frameworks.py, which
# compares the rules with them; without them those tests skip and say so.
# Not part of `make test`: a large download a newcomer does not need.
# .ci/run runs it before `make test`.
frameworks: $(FRAMEWORKS_STAMP)

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

$(FRAMEWORKS_STAMP): requirements-frameworks.txt $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-frameworks.txt $(FRAMEWORKS_PIP_OPTIONS)
	touch $@

$(MATHJAX_STAMP): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $@

$(WIDGETS_STAMP): book/widgets/package.json book/widgets/package-lock.json
	npm ci --prefix book/widgets --no-audit --no-fund --loglevel=error
	touch $@

# What the browser and PDF tests need beyond Python, on Debian or Ubuntu (as
# root, or with sudo). .ci/run runs this before `make test`.
system-deps:
	@SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	  $(BROWSER_PACKAGES) $(TEX_PACKAGES) $$(command -v npm >/dev/null || echo npm)
	$(MAKE) $(MATHJAX_STAMP) $(WIDGETS_STAMP) NPM=npm

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
