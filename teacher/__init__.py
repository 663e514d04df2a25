"""What only a teacher runs, from the repository root: never imported by a learner's notebook.

``python -m teacher.student_copy``  the student copy of ``notebooks/`` (``make student``)
``python -m teacher.handout``       the hand-out of graded assignments, folder and zip (``make handout``)
``python -m teacher.exercises``     the checks' case file, from the reference formulas kept here
``python -m teacher.grading``       grade a class into ``grades.csv`` (``make grade``)
``python -m teacher.sample_class``  a made-up class to try the grader on
``python -m teacher.reading_copy``  the notebooks as accessible web pages (``make html``)

It uses ``helpers`` and ``recsys_tutorial``; they never use it.
"""
