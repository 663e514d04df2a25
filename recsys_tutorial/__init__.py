"""Everything the notebooks use besides :mod:`helpers`: the learner's runtime.

``helpers.py`` holds the formulas a learner reads and writes; this package holds
the rest, in two layers:

=====================  =========================================================
beneath ``helpers``    what it stands on (never imports ``helpers``)
=====================  =========================================================
``settings``           every environment variable the tutorial reads, parsed once
``validation``         the one set of argument checks (TypeError / ValueError)
``files``              reading files safely: size limits, zip checks, text, .mat,
                       atomic writes
``workbooks``          the article's .xlsx workbooks, checked before parsing
``cache``              parsed workbooks kept on disk, keyed by content
``observed``           the ratings that exist as index arrays, and the fast cost
                       over them (NumPy, or numba's compiled kernel)
``paths``              where the data lives
=====================  =========================================================

=====================  =========================================================
on top of ``helpers``  what the notebooks show with it
=====================  =========================================================
``notebook``           the notebooks' one-line setup
``style``              the figure style, and figures shown with alt text
``plots``              the longer figures of the notebooks, by name
``interactive``        the widgets: notebook 06's explorer and steerable descent,
                       notebook 07's rating widget (a module each)
``exercises``          the check cells of the exercises in notebooks 03-07: their
                       fixed problems and expected values (``exercise_cases.json``)
``judging``            how a check judges a function against expected values and
                       the known mistakes' outputs (also the grader's judge)
``research``           held-out evaluation and the larger models (09, 10)
=====================  =========================================================

Nothing here is imported eagerly: ``import recsys_tutorial`` costs nothing.
What only a teacher runs (grading, the student copy, the hand-out) lives in
``teacher/``, outside this package, so that a hand-out or a grading sandbox
takes this folder whole and leaves that one out.
"""
