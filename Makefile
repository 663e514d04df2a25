# Two commands set everything up from a fresh clone:
#   make lab   - create .venv, install, build data/, start JupyterLab in notebooks/
#   make test  - the same set-up, then the whole test suite (pytest + nbval)
# Windows / no make: see README.md for the equivalent commands.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_ARGS ?=
BENCH_ARGS ?=
STUDENT_DIR ?= student

# Each requirements file is installed once into .venv; a stamp file remembers it.
STAMP         = $(VENV)/.installed-stamp
EXTRAS_STAMP  = $(VENV)/.extras-stamp
BROWSER_STAMP = $(VENV)/.browser-stamp
SPARK_STAMP   = $(VENV)/.spark-stamp

.PHONY: venv data lab test test-fast student bench clean-data

# The core: everything notebooks 01-09 and the unit tests need.
$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

# Surprise, for the same-split comparison in notebook 09 and for `make bench`.
$(EXTRAS_STAMP): $(STAMP) requirements-extras.txt
	$(BIN)/python -m pip install -r requirements-extras.txt
	touch $(EXTRAS_STAMP)

# Playwright and Voila, for the real-browser test of the sliders (needs /usr/bin/chromium).
$(BROWSER_STAMP): $(STAMP) requirements-browser.txt
	$(BIN)/python -m pip install -r requirements-browser.txt
	touch $(BROWSER_STAMP)

# pyspark (about 450 MB; needs Java 17+), for the Spark chapter, notebook 10.
$(SPARK_STAMP): $(STAMP) requirements-spark.txt
	$(BIN)/python -m pip install -r requirements-spark.txt
	touch $(SPARK_STAMP)

venv: $(STAMP)

data: $(STAMP)
	$(BIN)/python scripts/build_data.py

# The Spark chapter's ~450 MB are left out of `make lab`: run `make $(SPARK_STAMP)` to add them.
lab: data $(EXTRAS_STAMP)
	cd notebooks && ../$(BIN)/jupyter lab

test: data $(EXTRAS_STAMP) $(BROWSER_STAMP) $(SPARK_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tests only (no notebooks, no slow tests): quick feedback while editing helpers.py.
test-fast: data
	$(BIN)/python -m pytest tests -m "not slow and not browser" $(PYTEST_ARGS)

# Benchmarks, not part of `make test`: ratios timed side by side in one run (a few
# minutes; ends with one `key: value` line per figure). `make bench BENCH_ARGS=--tiny` for a smoke run.
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
