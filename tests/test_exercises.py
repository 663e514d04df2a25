"""The exercises' checks: the notebooks' (recsys_tutorial.exercises, from data) and the grader's
(teacher.exercises, from formulas), judged by the one recsys_tutorial.judging.

The catalogue of hand-ins (``tests/catalogue.py``: wrong answers, right answers that break a rule,
unusual right answers, borderline cases) runs through both: the notebook's check on its fixed
problems and the grader's judge on fresh problems from several seeds. Every entry must get its
status and its diagnosis (the verdict's ``mistake``) from both, with the same message apart from
the numbers; :func:`test_catalogue_counts` prints the counts (caught, mistake named, misleading,
correct answers failed). Then: each check prints one line and never raises; the case file is the
one the teacher's formulas write now; the teacher's reference formulas agree with helpers; the
grader's pieces (planned_calls, judge with a replaying caller). judging's own pieces are in
tests/test_judging.py.
"""

from __future__ import annotations

import collections
import json
import re

import numpy as np
import pytest

import helpers
from catalogue import CATALOGUE, Entry
from recsys_tutorial import exercises, judging, settings
from teacher import exercises as teacher

SEEDS = (0, 1, 2, 3)
CHECKS = {name: getattr(exercises, name) for name in judging.RULES}


def student_verdict(e: Entry) -> judging.Verdict:
    return judging.judge(e.checker, exercises.cases(e.checker), e.fn)


def numbers_out(message: str) -> str:
    """The message with its numbers replaced by '#': what stays the same on other problems."""
    return re.sub(r"-?\d+(\.\d+)?(e[+-]?\d+)?", "#", message)


# ---------------------------------------------------------------- the catalogue, through both checks


@pytest.mark.parametrize("e", CATALOGUE, ids=lambda e: f"{e.checker[6:]}-{e.name}")
def test_catalogue_entry_gets_its_verdict_in_the_notebook_and_the_grader(e):
    mine = student_verdict(e)
    assert (mine.status, mine.mistake) == (e.status, e.mistake), f"notebook check: {mine.line}"
    for seed in SEEDS:
        graded = teacher.judge(e.checker, e.fn, seed=seed)
        assert (graded.status, graded.mistake) == (e.status, e.mistake), f"grader, seed {seed}: {graded.line}"
        assert numbers_out(graded.message) == numbers_out(mine.message), \
            f"the same mistake must get the same message:\n{mine.message}\n{graded.message}"


@pytest.mark.parametrize("name, words", [
    # the four that misled (issue 20)
    ("top_positions_in_filtered_array", "returns positions in the filtered array predictions[~rated]"),
    ("norm_nan_where_unrated", "Y_norm holds nan where R is False"),
    ("top_pairs", "returns (index, rating) pairs"),
    ("top_mask", "returns a boolean mask"),
    # the five that gave only numbers
    ("cost_divided_by_ratings", "divides by the number of ratings"),
    ("cost_squares_the_sum", "squares the sum of the errors"),
    ("cost_hard_coded_checkpoint", "returns 22.22, one of the course's checkpoints"),
    ("cost_unsquared_norms", "the penalty uses the norms of X and Theta, not their squares"),
    ("step_alpha_lambda_swapped", "lambda_ and alpha are swapped"),
    # numbers that printed alike
    ("grads_float32", "the gradient is float32"),
    # and some of those that were right before
    ("cost_unmasked", "on the case lambda_=0: forgot the mask R"),
    ("cost_unregularised", "on the case lambda_=1.5: forgot regularisation"),
    ("cost_transposed_product", "X (6, 3), Theta (4, 3), Y (6, 4), R (6, 4); the predictions X @ Theta.T are (6, 4)"),
    ("grads_theta_unregularised", "Theta_grad: forgot regularisation"),
    ("grads_off_by_a_bit", "X_grad differs from the right gradient: X_grad["),
    ("norm_sums_unrated", "the means add up Y where R is 0"),
    ("step_sequential", "Theta was updated with the gradient at the *new* X"),
    ("top_as_text", "sorts the predictions as text"),
    ("top_pads_short", "asked for n=12 but only 9 movies are unrated: return those 9; got 8"),
])
def test_messages_name_the_mistake(name, words):
    e = next(e for e in CATALOGUE if e.name == name)
    assert words in student_verdict(e).message, student_verdict(e).message


def test_catalogue_counts(capsys):
    """The numbers for the report: every wrong answer caught and named unless unnameable; none misleading."""
    counts = collections.Counter()
    for e in CATALOGUE:
        verdicts = [student_verdict(e)] + [teacher.judge(e.checker, e.fn, seed=s) for s in SEEDS]
        counts[e.kind] += 1
        if e.kind == "wrong":
            counts["caught"] += all(not v.ok for v in verdicts)
            counts["named"] += bool(e.mistake) and all(v.mistake == e.mistake for v in verdicts)
        if e.kind in ("rule", "borderline"):
            counts[f"{e.kind} as decided"] += all((v.status, v.mistake) == (e.status, e.mistake) for v in verdicts)
        counts["misleading"] += any(v.mistake and v.mistake != e.mistake for v in verdicts)
        counts["correct failed"] += e.kind == "correct" and any(not v.ok for v in verdicts)
    unnameable = sum(e.kind == "wrong" and not e.mistake for e in CATALOGUE)
    with capsys.disabled():
        print(f"\ncatalogue: {len(CATALOGUE)} hand-ins ({counts['wrong']} wrong, {counts['rule']} right but "
              f"breaking a rule, {counts['correct']} correct in unusual ways, {counts['borderline']} borderline); "
              f"caught {counts['caught']} of {counts['wrong']}, mistake named {counts['named']} "
              f"({unnameable} have no name to give), misleading {counts['misleading']}, "
              f"correct answers failed {counts['correct failed']}")
    assert counts["caught"] == counts["wrong"]
    assert counts["named"] == counts["wrong"] - unnameable
    assert counts["rule as decided"] == counts["rule"] and counts["borderline as decided"] == counts["borderline"]
    assert counts["misleading"] == 0 and counts["correct failed"] == 0
    assert counts["wrong"] >= 69 and counts["correct"] >= 23


def test_catalogue_covers_every_known_mistake():
    """Each fingerprint the teacher computes is some catalogue entry's diagnosis."""
    named = {(e.checker, e.mistake) for e in CATALOGUE}
    for checker, exercise in teacher.EXERCISES.items():
        for case in exercise.cases(np.random.default_rng(0)):
            for mistake in case.mistakes:
                assert (checker, mistake) in named, f"{checker}: no hand-in in the catalogue makes {mistake!r}"


# ---------------------------------------------------------------- the notebooks' checks


@pytest.mark.parametrize("e", [e for e in CATALOGUE if e.kind != "correct"][::3] + [e for e in CATALOGUE
                                                                                    if e.kind == "correct"],
                         ids=lambda e: e.name)
def test_a_check_prints_one_line_and_returns_a_bool(e, capsys):
    result = CHECKS[e.checker](e.fn)
    lines = capsys.readouterr().out.splitlines()
    assert isinstance(result, bool) and result == (e.status == "passed")
    assert len(lines) == 1 and lines[0].startswith("PASSED: " if result else "FAILED: "), lines


@pytest.mark.parametrize("checker", list(CHECKS))
@pytest.mark.parametrize("bad", [lambda *a: None, lambda *a: "text", lambda *a: (1, 2, 3),
                                 lambda *a: 1 / 0, lambda *a: [object()], None, lambda *a: {"a": 1}])
def test_a_check_never_raises(checker, bad, capsys):
    assert CHECKS[checker](bad) is False
    line = capsys.readouterr().out.strip()
    assert line.startswith("FAILED: ") and "the check itself failed" not in line, line


def test_checks_are_exported():
    assert set(CHECKS) <= set(exercises.__all__)


def test_graded_run_raises_on_failure_only(monkeypatch, capsys):
    right = next(e.fn for e in CATALOGUE if e.checker == "check_cofi_cost" and e.kind == "correct")
    stub = next(e.fn for e in CATALOGUE if e.name == "cost_stub")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert settings.graded_run()
    assert exercises.check_cofi_cost(right) is True
    with pytest.raises(AssertionError, match="FAILED: cost_stub: not implemented"):
        exercises.check_cofi_cost(stub)
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAILED: cost_stub")
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert not settings.graded_run() and exercises.check_cofi_cost(stub) is False


def test_patching_helpers_changes_no_expected_value(monkeypatch):
    """The checks compare with stored values: a wrong function put into helpers stays wrong."""
    wrong = next(e.fn for e in CATALOGUE if e.name == "cost_no_half")
    monkeypatch.setattr(helpers, "cofi_cost", wrong)
    assert judging.judge("check_cofi_cost", exercises.cases("check_cofi_cost"), wrong).mistake == "no_half"


def test_the_checks_know_no_formula_only_data():
    """What the notebooks' checks compare with is read from the case file the teacher wrote."""
    assert exercises.CASE_FILE.is_file()
    for checker in CHECKS:
        mine, theirs = exercises.cases(checker), teacher.fixed_cases(checker)
        assert [c.label for c in mine] == [c.label for c in theirs]
        for a, b in zip(mine, theirs):
            assert all(np.array_equal(x, y) for x, y in zip(a.arrays, b.arrays)) and a.scalars == b.scalars
            assert judging._close(a.expected, b.expected) and a.mistakes.keys() == b.mistakes.keys()


# ---------------------------------------------------------------- the case file


def test_case_file_is_current():
    """Fails when the teacher's formulas or problems changed and `python -m teacher.exercises` was not run."""
    assert teacher.stale() == [], "recsys_tutorial/exercise_cases.json is stale: run python -m teacher.exercises"


def test_case_file_round_trips_and_stale_is_detected(tmp_path):
    for value in (1.5, 3, np.arange(6.0).reshape(2, 3), np.array([True, False]), (np.ones(2), np.zeros((1, 2)))):
        back = exercises.decode(json.loads(json.dumps(teacher.encode(value))))
        if isinstance(value, tuple):
            assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(back, value))
        elif isinstance(value, np.ndarray):
            assert np.array_equal(back, value) and back.dtype == value.dtype
        else:
            assert back == value and type(back) is type(value)
    copy = tmp_path / "cases.json"
    assert teacher.write_case_file(copy) is True and teacher.stale(copy) == []
    assert teacher.write_case_file(copy) is False, "a current file is not rewritten"
    data = json.loads(copy.read_text())
    data["check_top_n"][0]["expected"]["values"][0] += 1
    copy.write_text(json.dumps(data))
    assert any("check_top_n" in line for line in teacher.stale(copy))
    assert teacher.main(["--check", "--file", str(copy)]) == 1
    assert teacher.main(["--file", str(copy)]) == 0 and teacher.main(["--check", "--file", str(copy)]) == 0
    assert "cannot read it" in teacher.stale(tmp_path / "missing.json")[0]


# ---------------------------------------------------------------- the teacher's side


@pytest.mark.parametrize("checker, fn", [
    ("check_cofi_cost", lambda X, Theta, Y, R, lambda_: helpers.cofi_cost(X, Theta, Y, R, lambda_)),
    ("check_cofi_gradients", lambda X, Theta, Y, R, lambda_: helpers.cofi_gradients(X, Theta, Y, R, lambda_)),
    ("check_normalize_ratings", lambda Y, R: helpers.normalize_ratings(Y, R)),
    ("check_gradient_step", lambda X, Theta, Y, R, lambda_, alpha: tuple(
        helpers.gradient_descent(X, Theta, Y, R, lambda_, alpha, 1, sparse=False)[:2])),
])
def test_reference_formulas_agree_with_helpers(checker, fn):
    """Each exercise's reference is what the tutorial's tested function computes."""
    for seed in SEEDS:
        for case in teacher.EXERCISES[checker].cases(np.random.default_rng(seed)):
            if case.kind == "value":
                assert judging._close(teacher.EXERCISES[checker].reference(*case.arrays, *case.scalars), fn(
                    *case.arrays, *case.scalars))
                assert judging._close(case.expected, fn(*case.arrays, *case.scalars))


def test_numerical_case_is_central_differences_of_the_cost():
    case = teacher.EXERCISES["check_cofi_gradients"].cases(np.random.default_rng(5))[-1]
    assert case.kind == "numerical"
    exact = helpers.cofi_gradients(*case.arrays, *case.scalars)
    assert judging._relative_difference(exact, case.expected) < 1e-9


def test_top_problems_tell_a_text_sort_from_other_mistakes():
    for seed in range(20):
        predictions, rated = teacher.top_problem(np.random.default_rng(seed))
        free = np.flatnonzero(~rated)
        assert np.sum(predictions[free] >= 10) >= 2 and np.sum(predictions < 0) > 0
        variants = teacher.top_variants(predictions, rated, 5)
        assert not np.array_equal(variants["as_text"], variants["correct"])


def test_problems_are_new_on_every_run():
    """A list copied from one FAILED message fails on the next run (the problems are drawn afresh)."""
    (predictions, rated), (n,) = teacher.planned_calls("check_top_n", 0)[0]
    answer = list(teacher.top_variants(predictions, rated, n)["correct"])

    def top_hard_coded(predictions, rated, n):
        return answer[:n]

    assert teacher.judge("check_top_n", top_hard_coded, seed=0).status == "failed"  # n > unrated case
    for seed in (1, 2, 3, None):
        assert teacher.judge("check_top_n", top_hard_coded, seed=seed).status == "failed", seed
    firsts = {tuple(teacher.planned_calls("check_top_n", s)[0][0][0]) for s in range(5)}
    assert len(firsts) == 5


def test_judge_statuses():
    by_name = {e.name: e.fn for e in CATALOGUE}
    assert teacher.judge("check_cofi_cost", by_name["cost_fancy_index"]).status == "passed"
    assert teacher.judge("check_cofi_cost", by_name["cost_loops"]).status == "rule"
    assert teacher.judge("check_cofi_cost", by_name["cost_calls_helpers"]).status == "not_done"
    assert teacher.judge("check_cofi_cost", by_name["cost_no_half"]).status == "failed"
    verdict = teacher.judge("check_cofi_cost", by_name["cost_stub"], name="my_cofi_cost")
    assert verdict.line == "FAILED: my_cofi_cost: " + verdict.message and not verdict.ok
    assert teacher.EXERCISES["check_cofi_cost"].forbidden[0] == "helpers.cofi_cost"


@pytest.mark.parametrize("name, status", [("grads_list", "passed"), ("grads_unmasked", "failed"),
                                          ("grads_in_place", "failed"), ("grads_stub", "failed"),
                                          ("grads_call_hidden", "not_done")])
def test_judge_replays_recorded_calls(name, status):
    """What the grader does: plan the calls, make them elsewhere with record_call, judge the records."""
    fn = next(e.fn for e in CATALOGUE if e.name == name)
    seed = 7
    codes = teacher.reference_codes(teacher.EXERCISES["check_cofi_gradients"].forbidden)
    records, afters = [], []
    for arrays, scalars in teacher.planned_calls("check_cofi_gradients", seed):
        records.append(teacher.record_call(fn, [*arrays, *scalars], codes))
        afters.append(arrays)
    live = teacher.judge("check_cofi_gradients", fn, seed=seed)
    asked = []

    def replay(k, given, scalars):
        asked.append(k)
        for g, after in zip(given, afters[k]):
            g[...] = after  # what the function did to its inputs
        return records[k]

    replayed = teacher.judge("check_cofi_gradients", name=fn.__name__, seed=seed, caller=replay,
                             source="def f(): pass")
    assert replayed.status == live.status == status
    assert replayed.line == live.line
    assert len(asked) == len(set(asked)) and set(asked) <= set(range(len(records)))
