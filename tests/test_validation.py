"""recsys_tutorial/validation.py: the one set of argument checks (TypeError for a wrong type, ValueError for a
wrong value), each with what it returns for good input and the message for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_tutorial import validation as v


def refused(error, call, *parts):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error
    for part in parts:
        assert part in str(info.value), f"{part!r} not in {str(info.value)!r}"


def test_as_float():
    assert v.as_float(3, "x") == 3.0 and type(v.as_float(np.float32(2.5), "x")) is float
    assert v.as_float(0, "x", low=0) == 0.0
    refused(ValueError, lambda: v.as_float(0, "alpha", low=0, low_open=True), "alpha must be a finite number > 0")
    refused(ValueError, lambda: v.as_float(5, "p", high=5, high_open=True), "p must be a finite number < 5")
    refused(ValueError, lambda: v.as_float(np.nan, "x"), "x must be a finite number; got nan")
    refused(ValueError, lambda: v.as_float(-np.inf, "x"), "got -inf")
    for bad in (True, np.bool_(False), "1", None, 1j, [1.0]):
        refused(TypeError, lambda: v.as_float(bad, "lambda_"), "lambda_ must be")


def test_as_int():
    assert v.as_int(3.0, "n") == 3 and type(v.as_int(np.int64(4), "n")) is int
    refused(ValueError, lambda: v.as_int(2.5, "n"), "n must be an integer; got 2.5")
    refused(ValueError, lambda: v.as_int(np.inf, "n"), "got inf")
    refused(ValueError, lambda: v.as_int(0, "n", low=1), "n must be an integer >= 1")
    refused(ValueError, lambda: v.as_int(11, "k", low=1, high=10), ">= 1 and <= 10; got 11")
    for bad in (True, "3", None):
        refused(TypeError, lambda: v.as_int(bad, "num_iters"), "num_iters must be an integer")


def test_as_bool_and_as_choice():
    assert v.as_bool(np.bool_(True), "flag") is True
    refused(TypeError, lambda: v.as_bool("no", "sparse"), "sparse must be True or False; got 'no'")
    refused(TypeError, lambda: v.as_bool(1, "sparse"), "(int)")
    assert v.as_choice("a", "mode", ["a", "b"]) == "a"
    refused(ValueError, lambda: v.as_choice("c", "mode", ["a", "b"]), "mode must be one of ['a', 'b']; got 'c'")
    refused(TypeError, lambda: v.as_choice(1, "mode", ["a"]), "(int)")


def test_as_matrix_and_as_vector():
    m = v.as_matrix([[1, 2], [3, 4]], "X")
    assert m.dtype == float and m.shape == (2, 2)
    same = np.ones((2, 2))
    assert v.as_matrix(same, "X") is same                                   # no copy when none is needed
    np.testing.assert_array_equal(v.as_matrix(np.array([["1", "2"]]), "X"), [[1.0, 2.0]])
    refused(ValueError, lambda: v.as_matrix(np.ones(3), "X"), "X must be a 2-D array; got shape (3,)")
    refused(ValueError, lambda: v.as_matrix([[1j]], "X"), "X must hold real numbers")
    refused(ValueError, lambda: v.as_matrix([["a"]], "X"), "X must be a numeric array")
    bad = np.zeros((3, 4))
    bad[2, 1] = np.inf
    bad[2, 3] = np.nan
    refused(ValueError, lambda: v.as_matrix(bad, "X", finite=True), "found inf at row 2, column 1")
    np.testing.assert_array_equal(v.as_vector([1, 2], "b", size=2), [1.0, 2.0])
    refused(ValueError, lambda: v.as_vector([1, 2], "b", size=3), "b must have 3 entries; got 2")
    refused(ValueError, lambda: v.as_vector([1, np.nan], "b"), "found nan at position 1")
    refused(ValueError, lambda: v.as_vector([[1]], "b"), "b must be a 1-D array")
    assert np.isnan(v.as_vector([np.nan], "b", finite=False)[0])


def test_as_mask_and_as_ratings():
    np.testing.assert_array_equal(v.as_mask([[1, 0]]), [[True, False]])
    np.testing.assert_array_equal(v.as_mask(np.array([[1.0, 0.0]])), [[True, False]])
    refused(ValueError, lambda: v.as_mask([[2, 0]]), "R must hold only 0/1 or True/False flags; found [2.0]")
    refused(ValueError, lambda: v.as_mask([1, 0]), "R must be a 2-D array")
    refused(ValueError, lambda: v.as_mask([["x"]], "R"), "got dtype <U1")
    Y, R = v.as_ratings([[5, np.inf]], [[1, 0]])                             # unrated entries may hold anything
    assert Y.dtype == float and R.dtype == bool
    refused(ValueError, lambda: v.as_ratings([[5, np.nan]], [[1, 1]]), "at movie row 0, user column 1")
    refused(ValueError, lambda: v.as_ratings(np.ones((2, 3)), np.ones((3, 2))), "got Y (2, 3) and R (3, 2)")


def test_as_loaded_ratings():
    Y, R = v.as_loaded_ratings(np.array([[5.0, np.nan]]), np.array([[True, False]]), "book")
    np.testing.assert_array_equal(Y, [[5.0, 0.0]])                          # empty and unrated: 0
    assert Y.flags.c_contiguous and R.flags.c_contiguous
    F = np.asfortranarray(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert v.as_loaded_ratings(F, np.ones((2, 2), bool), "book")[0].flags.c_contiguous
    cell = lambda i, j: f"cell {'AB'[j]}{i + 1}"                             # noqa: E731
    refused(ValueError, lambda: v.as_loaded_ratings(np.array([[np.nan]]), np.array([[True]]), "book", cell),
            "book: Y has NaN at movie row 0, user column 0 (cell A1), where R says it is rated")
    refused(ValueError, lambda: v.as_loaded_ratings(np.array([[1.0, 99.0]]), np.ones((1, 2), bool), "book", cell),
            "between 0 and 5; found 99.0 at movie row 0, user column 1 (cell B1)")
    refused(ValueError, lambda: v.as_loaded_ratings(np.array([[0.3]]), np.array([[True]]), "book"),
            "must hold a rating from 1 to 5; found 0.3")
    refused(ValueError, lambda: v.as_loaded_ratings(np.ones((1, 2)), np.ones((2, 1), bool), "book"),
            "book: Y and R must have the same shape")


def test_the_first_bad_entry_is_found_without_listing_all():
    """A 5-million-cell sheet of bad values: the message names the first, and no index list is built."""
    import tracemalloc

    Y, R = np.full((5000, 1000), 99.0), np.ones((5000, 1000), bool)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="found 99.0 at movie row 0, user column 0"):
            v.as_loaded_ratings(Y, R, "book")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * Y.nbytes                      # np.argwhere alone would add 80 MB of indices


def test_as_factor_pair_and_as_factors():
    X, T = v.as_factor_pair(np.ones((3, 2)), np.ones((4, 2)), 3, 4)
    assert X.shape == (3, 2) and T.shape == (4, 2)
    refused(ValueError, lambda: v.as_factor_pair(np.ones((3, 2)), np.ones((4, 3))), "same number of features")
    refused(ValueError, lambda: v.as_factor_pair(np.ones((3, 2)), np.ones((4, 2)), 5), "one row per movie (5)")
    refused(ValueError, lambda: v.as_factor_pair(np.ones((3, 2)), np.ones((4, 2)), None, 5), "one row per user (5)")
    refused(ValueError, lambda: v.as_factor_pair(np.ones((1, 1)), [[np.nan]], source="'p.mat'"),
            "'p.mat': Theta must be finite")
    out = v.as_factors(np.ones((2, 1)), np.ones((3, 1)), np.ones((2, 3)), np.ones((2, 3)))
    assert [a.shape for a in out] == [(2, 1), (3, 1), (2, 3), (2, 3)]


def test_as_titles_index_indices_observed():
    assert v.as_titles(("a", "b"), 2) == ["a", "b"]
    refused(TypeError, lambda: v.as_titles("ab", 2), "titles must be a list of strings")
    refused(ValueError, lambda: v.as_titles(["a"], 2), "one entry per movie (2); got 1")
    refused(TypeError, lambda: v.as_titles(["a", 42], 2), "titles[1] is 42 (int)")
    assert v.as_index(2, "row", 3) == 2
    refused(ValueError, lambda: v.as_index(3, "row", 3), "row must be an integer >= 0 and <= 2")
    np.testing.assert_array_equal(v.as_indices([1.0, 2.0], "rows"), [1, 2])
    assert v.as_indices([1, 2], "rows").dtype == np.int64
    refused(ValueError, lambda: v.as_indices([0.5], "rows"), "rows must hold integer indices")
    refused(ValueError, lambda: v.as_indices([[1]], "rows"), "rows must be 1-D")
    refused(TypeError, lambda: v.as_observed(np.ones((2, 2))), "ratings must be an ObservedRatings")


def test_as_user_ratings():
    np.testing.assert_array_equal(v.as_user_ratings({0: 5, "B": 3}, 3, ["A", "B", "C"]), [5, 3, 0])
    np.testing.assert_array_equal(v.as_user_ratings([0, 2.5, 1], 3), [0, 2.5, 1])
    refused(ValueError, lambda: v.as_user_ratings({3: 5}, 3), "neither a 0-based row of Y (0..2)")
    refused(ValueError, lambda: v.as_user_ratings({"A": 5}, 2, ["A", "A"]), "shared by rows [0, 1]")
    refused(ValueError, lambda: v.as_user_ratings({0: 5, "A": 4}, 1, ["A"]), "row 0 ('A') is rated twice")
    refused(ValueError, lambda: v.as_user_ratings({0: 6}, 1), "my_ratings[0] must be a finite number >= 1 and <= 5")
    refused(ValueError, lambda: v.as_user_ratings([0.5], 1), "my_ratings[0] = 0.5")
    refused(ValueError, lambda: v.as_user_ratings([1, 2], 3), "one entry per movie (3); got 2")
    refused(TypeError, lambda: v.as_user_ratings({0: "5"}, 1), "my_ratings[0]")


def test_overflow_error_names_the_largest_input():
    error = v.overflow_error("the cost", {"X": np.array([[1.0, -2e200], [3.0, 4.0]]), "Theta": np.ones((2, 2)),
                                          "lambda_": 10.0})
    assert type(error) is ValueError
    message = str(error)
    assert message.startswith("the cost is not finite: it overflows float64")
    assert "X is out of range: X[0, 1] = 2e+200" in message
    message = str(v.overflow_error("J", {"X": np.ones(2), "lambda_": 1e300}))
    assert "lambda_ is out of range: lambda_ = 1e+300" in message
    assert "X is out of range" in str(v.overflow_error("J", {"X": np.array([np.nan, 1.0]), "Y": np.full(2, 5.0)}))
    assert "b is out of range" in str(v.overflow_error("J", {"a": np.zeros(0), "b": 1.0}))


def test_as_finite_result():
    calls = []

    def inputs():
        calls.append(1)
        return {"X": np.array([1e200])}

    assert v.as_finite_result(3.0, "J", inputs) == 3.0
    pair = (np.ones(2), None)
    assert v.as_finite_result(pair, "grads", inputs) is pair
    assert calls == []                                                       # named only when needed
    refused(ValueError, lambda: v.as_finite_result((1.0, np.array([0.0, np.inf])), "the gradients", inputs),
            "the gradients is not finite", "X[0] = 1e+200")
    refused(ValueError, lambda: v.as_finite_result(np.nan, "J", inputs), "J is not finite")


def test_as_gradients():
    X, T = np.ones((3, 2)), np.ones((4, 2))
    Xg, Tg = v.as_gradients([X.astype(np.float32), T.tolist()], X, T)
    assert Xg.dtype == float and Tg.shape == (4, 2)
    assert v.as_gradients((X, T), X, T)[0] is X                              # no copy when none is needed
    refused(TypeError, lambda: v.as_gradients(X, X, T, "my_grad"), "my_grad must return a pair")
    refused(TypeError, lambda: v.as_gradients((X, object()), X, T), "gradient_fn's Theta_grad")
    refused(ValueError, lambda: v.as_gradients((X, T[:3]), X, T), "Theta_grad must have the shape of Theta, (4, 2)")
    bad = T.copy()
    bad[3, 1] = np.nan
    refused(ValueError, lambda: v.as_gradients((X, bad), X, T), "returned NaN or inf: Theta_grad[3, 1] = nan")


def test_cost_inputs_count_rated_entries_only():
    inputs = v.cost_inputs(np.ones((2, 1)), np.ones((2, 1)), np.array([[5.0, 1e300]]).reshape(2, 1) @ np.ones((1, 2)),
                           np.array([[True, False], [False, False]]), 0.5)
    np.testing.assert_array_equal(inputs["Y (a rated entry)"], [[5.0, 0.0], [0.0, 0.0]])
    assert inputs["lambda_"] == 0.5


def test_check_prediction_range():
    v.check_prediction_range(3.5, np.zeros(3), np.zeros(2), np.ones((3, 2)), np.ones((2, 2)))
    v.check_prediction_range(0.0, np.zeros(3), np.zeros(2), np.zeros((3, 0)), np.zeros((2, 0)))   # no features
    v.check_prediction_range(0.0, np.zeros(1), np.zeros(1), np.full((1, 1), 1e149), np.full((1, 1), 1e149))
    refused(ValueError, lambda: v.check_prediction_range(0.0, np.zeros(1), np.zeros(1), np.full((1, 2), 1e160),
                                                         np.ones((1, 2)) * 1e150), "X is out of range")
    refused(ValueError, lambda: v.check_prediction_range(1e308, np.full(2, 1e308), np.zeros(1), np.zeros((2, 0)),
                                                         np.zeros((1, 0))), "mu is out of range")


def test_round_four_validators_with_reference_values():
    assert v.as_int(10 ** 18, "n") == 10 ** 18 and v.as_int(np.int64(3), "n") == 3 and v.as_int(3.0, "n") == 3
    with pytest.raises(ValueError, match="n must be an integer; got an integer of 1329 bits"):
        v.as_int(10 ** 400, "n")
    with pytest.raises(ValueError, match="x must be a finite number; got an integer of 1329 bits"):
        v.as_float(10 ** 400, "x")
    with pytest.raises(ValueError, match="Y must be an array of numbers with rows of equal length"):
        v.as_matrix([[1, 2], [3]], "Y")
    with pytest.raises(ValueError, match="Y must be a plain array; got a masked array"):
        v.as_matrix(np.ma.masked_array([[1.0]]), "Y")
    with pytest.raises(ValueError, match="must hold numbers; got dtype datetime64"):
        v.as_vector(np.array(["2020-01-01"], dtype="datetime64[D]"), "t")
    np.testing.assert_array_equal(v.as_vector(["1", "2.5"], "s"), [1.0, 2.5])   # text of numbers is still read
    assert v.as_text("a", "t") == "a"
    assert v.as_labels([1, 2.5, "x"], "L") == ["1", "2.5", "x"]
    with pytest.raises(ValueError, match=r"L\[0\] and L\[1\] are both '1'"):
        v.as_labels([1, "1"], "L")
    series = v.as_series({"a": [1, 2], 3: [4]}, "runs")
    assert list(series) == ["a", "3"] and series["3"].tolist() == [4.0]
    with pytest.raises(ValueError, match="at most 1 can be drawn"):
        v.as_series({"a": [1], "b": [2]}, "runs", most=1)
    assert v.as_counts([0, 2.0, 7], "c", 3).tolist() == [0, 2, 7]
    with pytest.raises(ValueError, match="c must hold integer indices"):
        v.as_counts([2.7], "c", 1)
    assert v.as_limits((0.5, 1), "lim") == (0.5, 1.0)
    with pytest.raises(ValueError, match=r"lim must be \(low, high\) with low < high; got \(1, 1\)"):
        v.as_limits((1, 1), "lim")
    with pytest.raises(ValueError, match=r"R is empty \(shape \(0, 3\)\)"):
        v.as_nonempty(np.zeros((0, 3)), "R")
    assert v.as_factor_sizes(1682, 944, 10) == (1682, 944, 10)
    with pytest.raises(ValueError, match="makes X and Theta 10,000,001 numbers"):
        v.as_factor_sizes(1, 10_000_000, 1)
    a = np.ones(3)
    frozen = v.read_only(a)
    a[0] = 5
    assert frozen.tolist() == [1.0, 1.0, 1.0] and not frozen.flags.writeable
    parts = v.as_model_parts(3, [0, 0], [0], None, None, (1, 5), [2.0, 1.0], {"model": "m"})
    assert parts["X"].shape == (2, 0) and parts["history"].tolist() == [2.0, 1.0] and parts["info"] == {"model": "m"}
    assert not any(parts[k].flags.writeable for k in ("b_movie", "b_user", "X", "Theta", "history"))
