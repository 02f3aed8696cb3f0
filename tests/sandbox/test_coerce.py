"""Parent-side coercion and the array wire format: pure functions, no sandbox needed."""

from __future__ import annotations

import numpy as np
import pytest

from grader.sandbox import BadReturn, coerce_outputs, coerce_value, wire
from grader.sandbox.coerce import split_outputs, to_plain

# -- coerce_value -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3)),
    (np.arange(4, dtype=np.int32), np.arange(4.0)),
    (np.array([True, False]), np.array([1.0, 0.0])),
    (np.float32(1.5), np.array(1.5)),
    (3, np.array(3.0)),
    (2.5, np.array(2.5)),
    ([[1, 2], [3, 4]], np.array([[1.0, 2.0], [3.0, 4.0]])),
    (np.zeros((0, 3)), np.zeros((0, 3))),
])
def test_numeric_values_become_float64_base_arrays(value, expected):
    out = coerce_value(value)
    assert type(out) is np.ndarray
    assert out.dtype == np.float64
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


def test_result_is_a_copy():
    a = np.ones(3)
    out = coerce_value(a)
    out[0] = 5
    assert a[0] == 1


def test_subclass_is_reduced_to_a_plain_array():
    class Sneaky(np.ndarray):
        def __array_ufunc__(self, *args, **kwargs):
            return True

        def __eq__(self, other):
            return True

    out = coerce_value(np.arange(3.0).view(Sneaky))
    assert type(out) is np.ndarray
    assert not (out == np.array([9.0, 9.0, 9.0])).any()


def test_nan_and_inf_are_kept_for_the_grader():
    out = coerce_value(np.array([np.nan, np.inf]))
    assert np.isnan(out[0]) and np.isinf(out[1])


def gen():
    yield np.ones(2)


class Liar:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value, words", [
    (np.array([1, "a"], dtype=object), "object"),
    (np.array([1 + 2j]), "complex"),
    (1 + 2j, "complex"),
    (gen(), "generator"),
    (iter([np.ones(2)]), "generator or iterator"),
    ([[1.0, 2.0], [3.0]], "ragged"),
    (None, "None"),
    ("1.0", "str"),
    ({"a": 1}, "dict"),
    (Liar(), "Liar"),
    (np.array(["a", "b"]), "dtype <U1"),
    (np.array([1], dtype="datetime64[s]"), "dtype datetime64"),
])
def test_unusable_values_say_why(value, words):
    with pytest.raises(BadReturn, match=words):
        coerce_value(value)


def test_to_plain_keeps_the_dtype_for_the_parent_to_judge():
    plain = to_plain(np.array([1 + 1j]))
    assert isinstance(plain, np.ndarray) and plain.dtype.kind == "c"


@pytest.mark.parametrize("returned, count", [
    ((np.ones(2), np.ones(3)), 2),
    ([np.ones(2), np.ones(3)], 2),
    ([1.0, 2.0], 1),           # a list of numbers is one vector
    (np.ones(2), 1),
    ((), 0),
])
def test_split_outputs(returned, count):
    assert len(split_outputs(returned)) == count


def test_coerce_outputs_names_the_bad_output():
    with pytest.raises(BadReturn, match="output 2 is a generator"):
        coerce_outputs((np.ones(2), gen()))
    with pytest.raises(BadReturn, match="the function returned None"):
        coerce_outputs(None)


# -- wire ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("array", [
    np.arange(12.0).reshape(3, 4), np.arange(5, dtype=np.int16), np.array(True), np.zeros((2, 0)),
    np.array([1 + 2j]), np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(10.0)[::3],
])
def test_arrays_round_trip(array):
    meta, data = wire.encode_array(array)
    back = wire.decode_array(meta, data, max_bytes=1 << 20)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("meta, data", [
    ({"dtype": "|O", "shape": [1]}, b"\x00" * 8),
    ({"dtype": "<U3", "shape": [1]}, b"\x00" * 12),
    ({"dtype": "|V8", "shape": [1]}, b"\x00" * 8),
    ({"dtype": "f8", "shape": [1]}, b"\x00" * 8),              # byte order must be explicit
    ({"dtype": "[('a','<f8')]", "shape": [1]}, b"\x00" * 8),
    ({"dtype": "<f8", "shape": [2]}, b"\x00" * 8),             # too few bytes
    ({"dtype": "<f8", "shape": [1]}, b"\x00" * 9),             # too many
    ({"dtype": "<f8", "shape": [-1]}, b"\x00" * 8),
    ({"dtype": "<f8", "shape": [True]}, b"\x00" * 8),
    ({"dtype": "<f8", "shape": [1.0]}, b"\x00" * 8),
    ({"dtype": "<f8", "shape": "1"}, b"\x00" * 8),
    ({"dtype": "<f8", "shape": [1 << 40]}, b""),               # over the size limit
    ({"dtype": "<f8", "shape": [1] * 40}, b"\x00" * 8),        # too many dimensions
    ("<f8", b"\x00" * 8),
])
def test_bad_array_metadata_is_rejected(meta, data):
    with pytest.raises(wire.WireError):
        wire.decode_array(meta, data, max_bytes=1 << 20)


def test_pack_unpack_round_trip():
    header, blobs = wire.unpack(wire.pack({"a": [1, 2]}, [b"xy", b"", b"z"]))
    assert header["a"] == [1, 2]
    assert blobs == [b"xy", b"", b"z"]


class Shouty(str):
    def __str__(self):
        return "not this"


@pytest.mark.parametrize("value", [
    {"status": "ok", "outputs": [{"dtype": "<f8", "shape": [3, 0]}], "mutated": {}, "seconds": 1.5e-05},
    {"error_message": 'quote " backslash \\ newline \n tab \t nul \x00 é 漢 \U0001f600', "traceback": []},
    [None, True, False, 0, -7, 2**70, 0.1, 1e300, -0.0, "", [], {}],
    {"seconds": float("nan"), "inf": float("inf")},
])
def test_to_json_is_read_back_by_json_loads(value):
    import json

    expected = json.loads(json.dumps(value).replace("NaN", "null").replace("Infinity", "null"))
    assert json.loads(wire.to_json(value)) == expected


def test_to_json_writes_the_string_itself_not_what_a_subclass_says():
    import json

    assert json.loads(wire.to_json({"m": Shouty("real text")})) == {"m": "real text"}
    with pytest.raises(TypeError):
        wire.to_json({"x": object()})


@pytest.mark.parametrize("payload", [
    b"", b"\x00\x00", b"\x00\x00\x00\x09not json!", b"\x00\x00\x00\x02[]",
    b"\x00\x00\x00\x0c{\"blobs\":[5]}abc", b"\x00\x00\x00\x0d{\"blobs\":[-1]}", b"\xff\xff\xff\xff{}",
    b"\x00\x00\x00\x0c{\"blobs\":\"x\"}",
])
def test_malformed_messages_are_rejected(payload):
    with pytest.raises(wire.WireError):
        wire.unpack(payload)


def test_split_frames_keeps_the_incomplete_tail():
    stream = wire.frame(b"one") + wire.frame(b"two") + wire.frame(b"three")[:5]
    frames, used = wire.split_frames(stream)
    assert frames == [b"one", b"two"]
    assert stream[used:] == wire.frame(b"three")[:5]


# -- split_outputs knowing how many outputs the function returns ----------------------------------------------

DX, DW = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)


@pytest.mark.parametrize("returned", [
    [DX.tolist(), DW.tolist()],          # a list of nested lists: graded as one ragged array without n_returns
    (DX.tolist(), DW.tolist()),
    [DX, DW],
    (DX, DW.tolist()),
    [DX.astype(np.float32), DW],
])
def test_two_outputs_in_any_container(returned):
    outputs = coerce_outputs(returned, n_returns=2)
    assert [o.shape for o in outputs] == [(2, 3), (3, 4)]
    np.testing.assert_array_equal(outputs[0], DX)
    np.testing.assert_array_equal(outputs[1], DW)


def test_a_list_of_nested_lists_is_ragged_without_knowing():
    with pytest.raises(BadReturn, match="ragged"):
        coerce_outputs([DX.tolist(), DW.tolist()])


@pytest.mark.parametrize("returned", [DX.tolist(), [list(row) for row in DX], (DX.tolist(),), (DX,), DX,
                                      [row for row in DX]])
def test_one_output_a_matrix_given_as_lists_is_one_array(returned):
    (output,) = coerce_outputs(returned, n_returns=1)
    np.testing.assert_array_equal(output, DX)


def test_two_rows_are_one_matrix_when_one_output_is_expected():
    # Exactly n_returns == len(list) would be ambiguous for a 2-row matrix; with one output expected it is
    # the matrix.
    (output,) = coerce_outputs([[1.0, 2.0], [3.0, 4.0]], n_returns=1)
    assert output.shape == (2, 2)
    a, b = coerce_outputs([[1.0, 2.0], [3.0, 4.0]], n_returns=2)
    assert a.shape == b.shape == (2,)


def test_a_count_that_does_not_match_is_left_for_the_grader():
    assert len(split_outputs((DX, DW, DX), n_returns=2)) == 3
    assert len(split_outputs([DX.tolist(), DW.tolist(), DX.tolist()], n_returns=2)) == 1  # one (ragged) value
    assert len(split_outputs(DX, n_returns=2)) == 1
