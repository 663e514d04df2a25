# Two commands set everything up from a fresh clone:
#   make lab   - create .venv, install, build data/ and student/, start JupyterLab in the repository root
#   make test  - the same set-up, then the whole test suite (pytest + nbval)
# And one for anybody: make app - notebook 07's rating widget as a web page (Voila).
# For teachers:
#   make student [HINTS=0] [FORCE=1] [STUDENT_DIR=dir]  - the student copy of notebooks/
#   make handout [NOTEBOOKS="03 05"] [HINTS=0] [HANDOUT_DIR=dir]  - a folder and a zip to hand out
#   make grade SUBMISSIONS=dir [NOTEBOOKS="03"]         - grade a class: writes dir/grades.csv
#   make html [HTML_DIR=dir]                            - the reading copy: the notebooks as accessible web pages
# Windows / no make: see README.md for the equivalent commands.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_ARGS ?=
BENCH_ARGS ?=
STUDENT_DIR ?= student
HANDOUT_DIR ?= handout
HINTS ?= 1
FORCE ?= 0
SUBMISSIONS ?=
GRADE_ARGS ?=
HTML_DIR ?= html

# Each install is done once into .venv; a stamp file remembers it.
STAMP = $(VENV)/.installed-stamp

.PHONY: venv data warm lab app test test-fast notebooks student handout grade teacher bench clean-data html

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
#   app       Voila, for `make app`
#   browser   Playwright (and Voila), for the real-browser tests of the widgets (needs /usr/bin/chromium)
#   spark     pyspark (about 450 MB; needs Java 17+), for the Spark chapter, notebook 10
#   teacher   nbgrader, for generate_assignment / autograde (tests/test_nbgrader.py)
$(VENV)/.%-stamp: $(STAMP)
	$(BIN)/python -m pip install -e '.[$*]'
	touch $@

venv: $(STAMP)

teacher: $(VENV)/.teacher-stamp

data: $(STAMP)
	$(BIN)/python data/build_data.py

# What a notebook's first seconds would otherwise spend, done once (benchmarks/README.md, "Open time"):
# build data/ if needed, parse the ratings workbook into the cache (recsys_tutorial/cache.py), load numba's
# compiled cost kernel (its machine code is kept on disk), compile the tutorial's modules to bytecode and
# build matplotlib's font list. Done again only when the code or the data step changes: `make lab` and
# `make app` then start in seconds (checking data/ again costs 7-9 s; `make data` still does it).
WARM_STAMP = $(VENV)/.warm-stamp
warm: $(WARM_STAMP)
$(WARM_STAMP): $(STAMP) data/build_data.py data/xlsx_writer.py helpers.py $(wildcard recsys_tutorial/*.py)
	$(BIN)/python data/build_data.py
	$(BIN)/python -m compileall -q helpers.py recsys_tutorial
	$(BIN)/python -c "import helpers, matplotlib.font_manager; from recsys_tutorial import paths, observed; helpers.load_ratings(paths.data_file('ex8_movies.xlsx')); observed.compiled_kernel()"
	touch $@

# JupyterLab opens the repository root at student/ (exercises open); notebooks/ holds the worked solutions.
# The Spark chapter's ~450 MB are left out: run `make .venv/.spark-stamp` to add them. As root (a container)
# it adds --allow-root. LAB_ARGS passes more options, e.g. LAB_ARGS="--ip=0.0.0.0 --no-browser --port=8888".
# Its custom CSS is recsys_tutorial/static/accessible.css (contrast, underlined links), served from a
# config folder of the tutorial's own; your own Jupyter configuration and JupyterLab settings still apply.
LAB_ARGS ?=
LAB_CONFIG = $(VENV)/etc/tutorial-lab
AS_ROOT = $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
lab: $(WARM_STAMP) student $(VENV)/.surprise-stamp
	mkdir -p $(LAB_CONFIG)/custom
	cp recsys_tutorial/static/accessible.css $(LAB_CONFIG)/custom/custom.css
	@echo "JupyterLab is starting. Open the address it prints below (http://localhost:8888/lab/tree/student?token=…)"
	@echo "in your browser, then student/01-overview-toy-example.ipynb. Stop it with Ctrl+C, twice."
	user_config=$$($(BIN)/jupyter --config-dir); \
	JUPYTER_CONFIG_DIR=$(LAB_CONFIG) JUPYTER_CONFIG_PATH=$$user_config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
	JUPYTERLAB_SETTINGS_DIR=$${JUPYTERLAB_SETTINGS_DIR:-$$user_config/lab/user-settings} \
	JUPYTERLAB_WORKSPACES_DIR=$${JUPYTERLAB_WORKSPACES_DIR:-$$user_config/lab/workspaces} \
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/$(STUDENT_DIR) \
	  --LabApp.custom_css=True --LabApp.news_url=None $(AS_ROOT) $(LAB_ARGS)

# Notebook 07's rating widget alone, as a web page: notebooks/your-top-ten.ipynb served by Voila (the `app`
# extra of pyproject.toml, installed here). Voila runs the notebook in a kernel kept ready (preheat_kernel), so a
# page opened once it has run shows the widget at once. APP_ARGS: more options, e.g. APP_ARGS="--port=8867".
APP_ARGS ?=
app: $(WARM_STAMP) $(VENV)/.app-stamp
	@echo "Your own top ten is starting. Open the address Voila prints below (by default http://localhost:8866/)."
	$(BIN)/voila --preheat_kernel=True notebooks/your-top-ten.ipynb $(APP_ARGS)

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
	rm -f $(WARM_STAMP)
	find data -mindepth 1 ! -name README.md ! -name build_data.py ! -name xlsx_writer.py -delete

# The student copy, made from nbgrader's markers in the teacher's notebooks: each
# "### BEGIN SOLUTION ... ### END SOLUTION" block becomes "raise NotImplementedError()", cells
# tagged "teacher-only" are replaced or dropped, check cells are locked, outputs and widget state
# cleared; HINTS=0 also drops the cells tagged "hint". A notebook already in $(STUDENT_DIR)/ is a
# learner's work and is kept, unless FORCE=1. The checks' case file is brought up to date first.
student: $(STAMP)
	$(BIN)/python -m teacher.exercises
	$(BIN)/python -m teacher.student_copy --dest $(STUDENT_DIR) \
	  $(if $(filter 0,$(HINTS)),--no-hints) $(if $(filter 1,$(FORCE)),--force) notebooks

# The hand-out of graded assignments: $(HANDOUT_DIR)/movie-recommender-03-05/ and its .zip, with the
# student notebooks of NOTEBOOKS (default: every notebook with an exercise), the learner runtime,
# requirements.txt, the data step and a README for students; no answer (teacher/handout.py).
handout: $(STAMP)
	$(BIN)/python -m teacher.handout --dest $(HANDOUT_DIR) $(if $(filter 0,$(HINTS)),--no-hints) \
	  $(if $(filter command environment,$(origin NOTEBOOKS)),$(NOTEBOOKS))

# Grade a class: SUBMISSIONS holds one folder per student with their notebooks under their
# original names. Writes $(SUBMISSIONS)/grades.csv. Each hand-in runs in a bubblewrap sandbox
# (Linux: apt-get install bubblewrap). NOTEBOOKS="03 05" grades only those assignments.
# GRADE_ARGS: e.g. --jobs 4 --timeout 120 --seed 1 (.venv/bin/python -m teacher.grading --help).
GRADE_NOTEBOOKS = $(if $(filter command line environment environment override,$(origin NOTEBOOKS)),--notebooks $(NOTEBOOKS))
grade: data
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder-with-one-folder-per-student [NOTEBOOKS=\"03 05\"]"; exit 2; }
	$(BIN)/python -m teacher.grading $(SUBMISSIONS) $(GRADE_NOTEBOOKS) $(GRADE_ARGS)

# The reading copy, for a course site or a learning management system: the notebooks as accessible static
# HTML with the outputs they were saved with (teacher/reading_copy/), one page each plus index.html. It
# refuses a figure without alt text, or headings out of order; tests/test_reading_copy.py checks it with axe.
html: $(STAMP)
	$(BIN)/python -m teacher.reading_copy --dest $(HTML_DIR) notebooks
