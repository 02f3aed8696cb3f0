"""The answer reader: property tests (never anything but AnswerFormatError; printed arrays read back
exactly) and one example per accepted form and per format error."""

import json
import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.grading.reader import MAX_DIMS, AnswerFormatError, check_shape, read_answer

FAST = settings(max_examples=60, deadline=None)
FUZZ = settings(max_examples=300, deadline=None)


def read_or_format_error(raw):
    """Read, checking the promise: a finite float64 array of at most MAX_DIMS dims, or AnswerFormatError."""
    try:
        value = read_answer(raw)
    except AnswerFormatError as err:
        json.dumps(err.to_dict())  # always serialisable
        assert err.message
        return None
    assert isinstance(value, np.ndarray)
    assert value.dtype == np.float64
    assert value.ndim <= MAX_DIMS
    assert np.isfinite(value).all()
    return value


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-for-bit equal, including the sign of zero."""
    return a.shape == b.shape and a.tobytes() == b.tobytes()


# --- property tests: nothing but AnswerFormatError ------------------------------------------------------

PARSER_ALPHABET = "0123456789.-+eE[]();, \n\t/−"


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_format_errors(text):
    read_or_format_error(text)


@FUZZ
@given(st.text(alphabet=PARSER_ALPHABET, max_size=60))
def test_parser_alphabet_raises_only_format_errors(text):
    read_or_format_error(text)


@FUZZ
@given(st.text(alphabet=PARSER_ALPHABET + "arynpfloat64dt=x×^.…nainf", max_size=60))
def test_wrapper_like_text_raises_only_format_errors(text):
    read_or_format_error("array(" + text)
    read_or_format_error(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(alphabet=PARSER_ALPHABET, max_size=6),
    lambda children: st.lists(children, max_size=4),
    max_leaves=30,
)


@FUZZ
@given(json_values)
def test_json_values_raise_only_format_errors(value):
    read_or_format_error(value)


# --- property tests: printed numbers read back exactly ------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5), elements=finite
)


@FAST
@given(finite)
def test_scalars_round_trip(x):
    expected = np.array(x)
    for text in (repr(x), str(x), f"{x:.17g}", str(np.float64(x)), repr(np.float64(x)), f"  {x!r}\n"):
        assert same(read_answer(text), expected), text
    if x < 0:
        assert same(read_answer("\u2212" + repr(-x)), expected)
    assert same(read_answer(x), expected)


@FAST
@given(st.integers(-(10**6), 10**6), st.integers(1, 10**6))
def test_fractions_read_as_their_quotient(p, q):
    assert read_answer(f"{p}/{q}") == p / q
    assert read_answer(f"[{p} / {q}, 1]")[0] == p / q


@FAST
@given(matrices, st.integers(20, 200))
def test_numpy_printed_arrays_round_trip(arr, width):
    with np.printoptions(floatmode="unique", linewidth=width, threshold=10_000):
        texts = [str(arr), repr(arr)]
    texts += [
        np.array2string(arr, floatmode="unique", max_line_width=width, separator=sep)
        for sep in (" ", ", ", ",")
    ]
    for text in texts:
        assert same(read_answer(text), arr), text
    # 17 decimals, not 17 digits: a small value is printed rounded (0.00049267568709749 for ...7490...), so the
    # answer read is the printed one, within half the last decimal
    with np.printoptions(precision=17, linewidth=width):
        text = str(arr)
    np.testing.assert_allclose(read_answer(text), arr, rtol=1e-15, atol=1e-17, err_msg=text)


@FAST
@given(matrices)
def test_python_and_json_lists_round_trip(arr):
    nested = arr.tolist()
    for text in (str(nested), repr(nested), json.dumps(nested), json.dumps(nested, indent=2)):
        assert same(read_answer(text), arr), text
    assert same(read_answer(nested), arr)
    assert same(read_answer(json.loads(json.dumps(nested))), arr)


def matlab(arr: np.ndarray, sep: str) -> str:
    rows = arr if arr.ndim == 2 else arr[None, :]
    return "[" + "; ".join(sep.join(repr(x) for x in row) for row in rows.tolist()) + "]"


@FAST
@given(matrices, st.sampled_from([" ", ", ", ",", "\t"]))
def test_matlab_style_round_trips(arr, sep):
    # A one-row MATLAB matrix "[1 2 3]" reads as a flat vector; check_shape accepts it for (1, n).
    got = check_shape(read_answer(matlab(arr, sep)), arr.shape)
    assert same(got, arr)


@FAST
@given(matrices)
def test_bare_rows_round_trip(arr):
    rows = arr if arr.ndim == 2 else arr[None, :]
    text = "\n".join(" ".join(repr(x) for x in row) for row in rows.tolist())
    assert same(check_shape(read_answer(text), arr.shape), arr)


# --- examples: accepted forms --------------------------------------------------------------------------

DW3 = np.array([[0.11214822, 0.00065075], [0.08597502, 0.00049888]])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-0.00262", -0.00262),
        ("-2.62e-3", -0.00262),
        ("-2.62E-3", -0.00262),
        ("\u22120.00262", -0.00262),  # Unicode minus
        ("\u20130.00262", -0.00262),  # en dash
        ("+1.5", 1.5),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("1e-3", 0.001),
        ("1/3", 1 / 3),
        ("-1/3", -1 / 3),
        ("\u22121/3", -1 / 3),
        (" 2 / 4 ", 0.5),
        ("2.62×10^-3", 0.00262),
        ("2.62*10^-3", 0.00262),
        ("np.float64(-0.5)", -0.5),
        ("array(0.25)", 0.25),
        ("  \n\t 7 \n\n", 7.0),
        ("dL = -0.309", -0.309),
    ],
)
def test_scalar_forms(text, expected):
    value = read_answer(text)
    assert value.shape == ()
    assert value == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
        ("[[1, 2], [3, 4],]", [[1, 2], [3, 4]]),
        ("[[1, 2,], [3, 4,],]", [[1, 2], [3, 4]]),
        ("((1, 2), (3, 4))", [[1, 2], [3, 4]]),
        ("[1 2; 3 4]", [[1, 2], [3, 4]]),
        ("[1, 2; 3, 4]", [[1, 2], [3, 4]]),
        ("[1 2; 3 4;]", [[1, 2], [3, 4]]),
        ("[[1 2]; [3 4]]", [[1, 2], [3, 4]]),
        ("[1; 2; 3]", [[1], [2], [3]]),
        ("[  1 ,\t2 ]", [1, 2]),
        ("[1 -2 +3]", [1, -2, 3]),
        ("[1/2 \u22121/4]", [0.5, -0.25]),
        ("1 2\n3 4", [[1, 2], [3, 4]]),
        ("1, 2\n3, 4\n", [[1, 2], [3, 4]]),
        ("1 2\n\n3 4", [[1, 2], [3, 4]]),
        ("1 2; 3 4", [[1, 2], [3, 4]]),
        ("[1 2]\n[3 4]", [[1, 2], [3, 4]]),
        ("1 2 3", [1, 2, 3]),
        ("1\n2\n3", [[1], [2], [3]]),
        ("array([[1., 2.],\n       [3., 4.]])", [[1, 2], [3, 4]]),
        ("array([1, 2], dtype=int32)", [1, 2]),
        ("array([0.1, 0.2,\n       0.3])", [0.1, 0.2, 0.3]),
        ("[0.1 0.2 0.3\n 0.4]", [0.1, 0.2, 0.3, 0.4]),  # numpy's wrapped 1-D: the newline is a wrap
        ("[[[1, 2]], [[3, 4]]]", [[[1, 2]], [[3, 4]]]),
    ],
)
def test_list_and_matrix_forms(text, expected):
    value = read_answer(text)
    assert value.dtype == np.float64
    np.testing.assert_array_equal(value, np.array(expected, dtype=float))


def test_notebook_dw3_paste():
    pasted = "[[0.11214822 0.00065075]\n [0.08597502 0.00049888]]"
    assert same(read_answer(pasted), DW3)
    assert same(read_answer("dW3 = " + pasted), DW3)
    # also as repr prints it, and with the terminal's trailing newline and stray indentation
    assert same(read_answer("array([[0.11214822, 0.00065075],\n       [0.08597502, 0.00049888]])"), DW3)
    assert same(read_answer("  " + pasted + "\n"), DW3)
    assert same(read_answer(pasted.replace("0.", "\u22120.")), -DW3)


def test_non_text_inputs():
    assert read_answer(3) == 3.0
    assert read_answer(-0.5) == -0.5
    assert read_answer(np.float32(0.5)) == 0.5
    assert same(read_answer([[1, 2.5], [3, 4]]), np.array([[1, 2.5], [3, 4]]))
    assert same(read_answer((1, 2)), np.array([1.0, 2.0]))
    assert same(read_answer(np.eye(2)), np.eye(2))
    # a grid of input boxes: each string is one number
    assert same(read_answer([["1/2", "\u22120.25"], [" 3 ", 4]]), np.array([[0.5, -0.25], [3, 4]]))


# --- examples: format errors ---------------------------------------------------------------------------


def format_error(raw, **kwargs) -> AnswerFormatError:
    with pytest.raises(AnswerFormatError) as info:
        read_answer(raw, **kwargs)
    json.dumps(info.value.to_dict())
    return info.value


def test_bad_entry_names_row_column_and_expected():
    err = format_error("[[1, 2, 3], [4, 5, abc]]")
    assert (err.row, err.column) == (2, 3)
    assert err.expected == "a number"
    assert err.found == "abc"
    assert err.message == "row 2, column 3: expected a number, found 'abc'"
    assert err.kind == "not_a_number"
    assert err.to_dict()["row"] == 2


def test_bad_entry_in_numpy_paste_and_matlab():
    err = format_error("[[0.11214822 0.00065075]\n [0.08597502 0.0004988O]]")  # letter O for zero
    assert (err.row, err.column) == (2, 2)
    err = format_error("[1 2; 3 x]")
    assert (err.row, err.column) == (2, 2)
    err = format_error("1 2\n3 4,5.6.7")
    assert (err.row, err.column) == (2, 3)
    assert "'5.6.7'" in err.message


def test_bad_entry_in_vector_and_scalar():
    err = format_error("[1, 2, 0.5x]")
    assert (err.row, err.column) == (None, 3)
    assert err.message.startswith("entry 3: ")
    err = format_error("  abc")
    assert (err.row, err.column) == (None, None)
    assert err.position == 3  # 1-based character position for scalars
    assert err.message == "expected a number, found 'abc'"


@pytest.mark.parametrize(
    ("text", "row"),
    [("[[1, 2], [3, 4, 5]]", 2), ("[1 2; 3 4; 5]", 3), ("1 2\n3 4\n5 6 7", 3), ("[[1, 2], 3]", 2)],
)
def test_ragged_rows_name_the_row(text, row):
    err = format_error(text)
    assert err.kind == "ragged"
    assert err.row == row
    assert f"row {row}" in err.message or f"entry {row}" in err.message


def test_ragged_message_in_words():
    err = format_error("[[1, 2], [3, 4, 5]]")
    assert err.message == "row 2 has 3 entries, but row 1 has 2 entries; all rows must be the same length"
    assert err.expected == "2 entries"


@pytest.mark.parametrize(
    "raw", ["nan", "NaN", "[1, nan]", "inf", "-inf", "[1 Infinity]", "1e400", "[1, -1e999]", "1/0", float("nan")]
)
def test_nan_and_infinities_are_format_errors(raw):
    assert format_error(raw).kind == "not_finite"


def test_nan_inside_a_matrix_names_the_entry():
    err = format_error("[[1, 2], [nan, 4]]")
    assert (err.row, err.column) == (2, 1)
    assert err.message == "row 2, column 1: 'nan' is not a finite number"


@pytest.mark.parametrize("raw", ["", "   ", "\n\n\t", "[]", "[[], []]", []])
def test_empty_input_is_a_format_error(raw):
    assert format_error(raw).kind == "empty"


def test_none_is_a_format_error():
    assert format_error(None).kind == "empty"


def test_size_caps():
    assert format_error("1 " * 101, max_entries=100).kind == "too_large"
    assert format_error("1" * 1001, max_chars=1000).kind == "too_large"
    assert format_error([1.0] * 101, max_entries=100).kind == "too_large"
    assert read_answer("1 " * 100, max_entries=100).shape == (100,)
    long_text = "[" + ", ".join(["0.125"] * 10_001) + "]"
    assert format_error(long_text).kind == "too_large"


def test_brackets():
    assert format_error("[1, 2").kind == "brackets"
    assert format_error("1, 2]").kind == "brackets"
    assert format_error("[1, 2)").kind == "brackets"
    assert format_error("[[[[[1]]]]]").kind == "too_deep"
    assert format_error("[" * 100_000).kind == "too_deep"
    assert format_error("array([1], [2])").kind == "brackets"
    assert format_error("array([1]) 2").kind == "brackets"


def test_abbreviated_numpy_printout():
    err = format_error("[0.1 0.2 ... 0.9]")
    assert err.kind == "abbreviated"
    assert "..." in err.message


@pytest.mark.parametrize(
    ("text", "column"),
    [("[1,,2]", 2), ("[,1]", 1), ("[1 - 2]", 2), ("[1 2/]", 2), ("[/2]", 1), ("[1/x]", 1), ("[1e]", 1)],
)
def test_malformed_entries(text, column):
    err = format_error(text)
    assert err.column == column
    assert err.kind == "not_a_number"


@pytest.mark.parametrize(
    "raw", [True, [1, False], [[1, 2], [3]], [[1, 2], 3], [1, None], [1, "abc"], [1, "1 2"], {"a": 1}, [[[[[1]]]]]]
)
def test_non_text_inputs_are_validated(raw):
    format_error(raw)


def test_ragged_nested_list_names_the_row():
    err = format_error([[1, 2], [3, 4], [5]])
    assert err.kind == "ragged" and err.row == 3


def test_bool_inside_list_names_entry():
    err = format_error([[1, 2], [True, 4]])
    assert (err.row, err.column) == (2, 1)


def test_digits_of_other_scripts_are_not_numbers():
    # float() would accept these; a student answer should not.
    assert format_error("\u0661\u0662").kind == "not_a_number"
    assert format_error("1_000").kind == "not_a_number"


def test_never_evaluates():
    for text in ["__import__('os').system('true')", "1+1", "2**3", "[1]*3", "lambda: 1"]:
        format_error(text)


@pytest.mark.parametrize("text", ["".join(chars) for chars in [string.punctuation, string.printable]])
def test_punctuation_soup(text):
    format_error(text)


# --- shapes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((), (1,)),
        ((), (1, 1)),
        ((1,), ()),
        ((1, 1), ()),
        ((3,), (1, 3)),
        ((3,), (3, 1)),
        ((1, 3), (3,)),
        ((3, 1), (3,)),
        ((2, 3), (2, 3)),
    ],
)
def test_harmless_shapes_are_reshaped(given, expected):
    value = np.arange(1, 1 + int(np.prod(given)), dtype=float).reshape(given)
    got = check_shape(value, expected)
    assert got.shape == expected
    np.testing.assert_array_equal(got.ravel(), value.ravel())


def test_wrong_shape_names_expected_and_given():
    with pytest.raises(AnswerFormatError) as info:
        check_shape(np.ones((2, 2)), (2, 3))
    err = info.value
    assert err.kind == "shape"
    assert err.expected_shape == (2, 3) and err.given_shape == (2, 2)
    assert err.message == "expected a 2×3 matrix, got a 2×2 matrix"
    assert err.to_dict()["expected_shape"] == [2, 3]


@pytest.mark.parametrize(
    ("given", "expected"),
    [((6,), (2, 3)), ((3,), ()), ((), (3,)), ((2,), (3,)), ((4,), (2, 2)), ((1, 1), (2, 2)), ((2, 2, 1), (2, 2))],
)
def test_no_broadcasting_or_refilling(given, expected):
    with pytest.raises(AnswerFormatError) as info:
        check_shape(np.ones(given), expected)
    assert info.value.kind == "shape"
    assert (info.value.expected_shape, info.value.given_shape) == (expected, given)


def test_flat_list_for_matrix_hints_at_rows():
    with pytest.raises(AnswerFormatError, match="separate the rows"):
        check_shape(np.ones(6), (2, 3))


@pytest.mark.parametrize(("given", "expected"), [((3, 2), (2, 3)), ((1, 3), (3, 1)), ((3, 1), (1, 3))])
def test_transposed_is_recognised(given, expected):
    with pytest.raises(AnswerFormatError) as info:
        check_shape(np.ones(given), expected)
    err = info.value
    assert err.kind == "transposed"
    assert err.message == (
        f"this looks transposed: expected {expected[0]}×{expected[1]}, got {given[0]}×{given[1]}"
    )
    assert (err.expected_shape, err.given_shape) == (expected, given)


def test_square_matrix_is_not_called_transposed():
    assert check_shape(np.ones((2, 2)), (2, 2)).shape == (2, 2)
    with pytest.raises(AnswerFormatError) as info:
        check_shape(np.ones((3, 3)), (2, 2))
    assert info.value.kind == "shape"
