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

# The browser test's extras (Playwright, Voilà), for `make test` only.
BROWSER_STAMP = $(VENV)/.browser-stamp
$(BROWSER_STAMP): $(STAMP) requirements-browser.txt
	$(BIN)/python -m pip install -r requirements-browser.txt
	touch $(BROWSER_STAMP)

# The Spark chapter's extras (pyspark; needs Java 17+), for `make test` only.
SPARK_STAMP = $(VENV)/.spark-stamp
$(SPARK_STAMP): $(STAMP) requirements-spark.txt
	$(BIN)/python -m pip install -r requirements-spark.txt
	touch $(SPARK_STAMP)

data: $(STAMP)
	$(BIN)/python scripts/build_data.py

lab: data
	cd notebooks && ../$(BIN)/jupyter lab

test: data $(BROWSER_STAMP) $(SPARK_STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg $(PYTEST_ARGS)

# Unit tests only (no notebooks): quick feedback while editing helpers.py.
test-fast: data
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

# Benchmarks, not part of `make test`: ratios timed side by side in one run (several
# minutes; ends with one `key: value` line per figure). Needs the extras (Surprise).
EXTRAS_STAMP = $(VENV)/.extras-stamp
$(EXTRAS_STAMP): $(STAMP) requirements-extras.txt
	$(BIN)/python -m pip install -r requirements-extras.txt
	touch $(EXTRAS_STAMP)

BENCH_ARGS ?=
bench: data $(EXTRAS_STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

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
