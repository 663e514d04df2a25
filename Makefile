# Two commands set everything up from a fresh clone:
#   make lab   - create .venv, install, build data/ and student/, start JupyterLab in the repository root
#   make test  - the same set-up, then the whole test suite (pytest + nbval)
# For teachers:
#   make student [HINTS=0] [FORCE=1] [STUDENT_DIR=dir]  - the student copy of notebooks/
#   make grade SUBMISSIONS=dir [NOTEBOOKS="03"]         - grade a class: writes dir/grades.csv
# Windows / no make: see README.md for the equivalent commands.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_ARGS ?=
BENCH_ARGS ?=
STUDENT_DIR ?= student
HINTS ?= 1
FORCE ?= 0
SUBMISSIONS ?=
GRADE_ARGS ?=

# Each install is done once into .venv; a stamp file remembers it.
STAMP = $(VENV)/.installed-stamp

.PHONY: venv data warm lab test test-fast notebooks student grade teacher bench clean-data

# The core: everything notebooks 01-09 and the unit tests need, then the project itself in
# editable mode (pyproject.toml), so `import helpers` and `import recsys_tutorial` work from any folder.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

# The optional extras of pyproject.toml, each on top of the core:
#   surprise  Surprise, for the same-split comparison in notebook 09 and for `make bench`
#   browser   Playwright and Voila, for the real-browser tests of the widgets (needs /usr/bin/chromium)
#   spark     pyspark (about 450 MB; needs Java 17+), for the Spark chapter, notebook 10
#   teacher   nbgrader, for generate_assignment / autograde (tests/test_nbgrader.py)
$(VENV)/.%-stamp: $(STAMP)
	$(BIN)/python -m pip install -e '.[$*]'
	touch $@

venv: $(STAMP)

teacher: $(VENV)/.teacher-stamp

data: $(STAMP)
	$(BIN)/python data/build_data.py

# Parse the ratings workbook once into the cache (recsys_tutorial/cache.py) and load numba's compiled
# cost kernel (its machine code is kept on disk), so the first notebook a learner opens waits for neither.
warm: data
	$(BIN)/python -c "import helpers; from recsys_tutorial import paths, observed; helpers.load_ratings(paths.data_file('ex8_movies.xlsx')); observed.compiled_kernel()"

# JupyterLab opens the repository root: work in student/ (exercises open), peek in notebooks/
# (worked solutions). The Spark chapter's ~450 MB are left out: run `make .venv/.spark-stamp` to add them.
lab: data warm student $(VENV)/.surprise-stamp
	$(BIN)/jupyter lab

test: data $(VENV)/.surprise-stamp $(VENV)/.browser-stamp $(VENV)/.spark-stamp $(VENV)/.teacher-stamp
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tests only (no notebooks, no slow tests): quick feedback while editing helpers.py.
test-fast: data
	$(BIN)/python -m pytest tests -m "not slow and not browser" $(PYTEST_ARGS)

# Re-run the committed notebooks in place from a clean kernel, as CI checks them (NOTEBOOKS="06 07" for
# some): outputs and widget state saved, no execution timestamps (they would change every cell's diff).
NOTEBOOKS ?= 01 02 03 04 05 06 07 08 09 10
notebooks: data $(VENV)/.surprise-stamp $(VENV)/.spark-stamp
	for n in $(NOTEBOOKS); do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1200 \
	    --ExecutePreprocessor.record_timing=False notebooks/$$n-*.ipynb || exit 1; done

# Benchmarks, not part of `make test`: ratios timed side by side in one run (a few
# minutes; ends with one `key: value` line per figure). `make bench BENCH_ARGS=--tiny` for a smoke run.
bench: data $(VENV)/.surprise-stamp
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean-data:
	find data -mindepth 1 ! -name README.md ! -name build_data.py ! -name xlsx_writer.py -delete

# The student copy, made from nbgrader's markers in the teacher's notebooks: each
# "### BEGIN SOLUTION ... ### END SOLUTION" block becomes "raise NotImplementedError()",
# outputs are cleared; HINTS=0 also drops the cells tagged "hint". A notebook already in
# $(STUDENT_DIR)/ is a learner's work and is kept, unless FORCE=1.
student: $(STAMP)
	$(BIN)/python -m teacher.student_copy --dest $(STUDENT_DIR) \
	  $(if $(filter 0,$(HINTS)),--no-hints) $(if $(filter 1,$(FORCE)),--force) notebooks

# Grade a class: SUBMISSIONS holds one folder per student with their notebooks under their
# original names. Writes $(SUBMISSIONS)/grades.csv. Each hand-in runs in a bubblewrap sandbox
# (Linux: apt-get install bubblewrap). NOTEBOOKS="03 05" grades only those assignments.
# GRADE_ARGS: e.g. --jobs 4 --timeout 120 --seed 1 (.venv/bin/python -m teacher.grading --help).
GRADE_NOTEBOOKS = $(if $(filter command line environment environment override,$(origin NOTEBOOKS)),--notebooks $(NOTEBOOKS))
grade: data
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder-with-one-folder-per-student [NOTEBOOKS=\"03 05\"]"; exit 2; }
	$(BIN)/python -m teacher.grading $(SUBMISSIONS) $(GRADE_NOTEBOOKS) $(GRADE_ARGS)
