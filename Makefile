# Two commands set everything up from a fresh clone:
#   make lab   - create .venv, install, build data/, start JupyterLab in notebooks/
#   make test  - the same set-up, then the whole test suite (pytest + nbval)
# Windows / no make: see README.md for the equivalent commands.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: venv data lab test test-fast student bench clean-data

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

data: $(STAMP)
	$(BIN)/python scripts/build_data.py

lab: data
	cd notebooks && ../$(BIN)/jupyter lab

test: data
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env $(PYTEST_ARGS)

# Unit tests only (no notebooks): quick feedback while editing helpers.py.
test-fast: data
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

clean-data:
	find data -mindepth 1 ! -name README.md -delete
