# Two commands set everything up from a fresh clone:
#   make lab   - create .venv, install, build data/, start JupyterLab in notebooks/
#   make test  - the same set-up, then the whole test suite (pytest + nbval)
# Windows / no make: see README.md for the equivalent commands.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
PYTEST_ARGS ?=
STUDENT_DIR ?= student

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
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg $(PYTEST_ARGS)

# Unit tests only (no notebooks): quick feedback while editing helpers.py.
test-fast: data
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

clean-data:
	find data -mindepth 1 ! -name README.md -delete

# The student copy: the teacher's notebooks with every cell tagged "solution" removed
# (the "exercise" stub cell before it stays) and outputs cleared, written to student/.
student: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook \
	  --TagRemovePreprocessor.enabled=True \
	  --TagRemovePreprocessor.remove_cell_tags='["solution"]' \
	  --ClearOutputPreprocessor.enabled=True \
	  --output-dir $(STUDENT_DIR) notebooks/[0-9]*.ipynb
	@echo "student copy written to $(STUDENT_DIR)/ (it must sit beside notebooks/, in the repository root)"
