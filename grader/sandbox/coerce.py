"""Turning what a student's function returned into plain float64 arrays, or a message saying why not.

Two halves: `to_plain` runs in the child and only decides what can be *serialized* (a plain numeric ndarray
in whatever dtype it has); `coerce_value` runs in the trusted parent on the decoded bytes and is the only
place that decides what counts as a valid answer (base ndarray, float64, no complex, no objects).
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import numpy as np

# Captured at import (before any submission runs in this process) so a submission that reassigns
# numpy attributes cannot change how the runner serializes.
_ndarray = np.ndarray
_asarray = np.asarray
_np_array = np.array
_generic = np.generic


class BadReturn(ValueError):
    """A returned value that is not a numeric array; the message is shown to the student."""


def _kind_problem(dtype: np.dtype) -> str | None:
    if dtype.hasobject:
        return "an array of Python objects (dtype object); return numeric arrays"
    if dtype.kind == "c":
        return "complex numbers; gradients here are real"
    if dtype.kind not in "biuf":
        return f"an array of dtype {dtype}; return numeric arrays"
    return None


def to_plain(value: Any) -> np.ndarray | str:
    """A base-class numeric ndarray for `value`, or a sentence describing why it is not one."""
    if type(value) is _ndarray and value.dtype.kind in "biufc":
        return value  # the usual answer, decided before the isinstance checks (an ABC check is not free)
    if value is None:
        return "None (is a `return` missing?)"
    if isinstance(value, types.GeneratorType | Iterator):
        return "a generator or iterator; return a tuple of arrays, e.g. `return dW1, dW2`"
    if isinstance(value, str | bytes | dict | set):
        return f"a {type(value).__name__}; return numpy arrays"
    try:
        if isinstance(value, _ndarray):
            # A subclass (e.g. overriding __array_ufunc__ or __eq__) is viewed as a plain ndarray.
            array = _asarray(value).view(_ndarray)
        elif isinstance(value, bool | int | float | complex | _generic | list | tuple):
            array = _np_array(value)
        elif hasattr(value, "__array__"):
            array = _asarray(value)
        else:
            return f"a {type(value).__name__}; return numpy arrays"
    except (ValueError, TypeError) as exc:
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            return "a ragged nested list (rows of different lengths)"
        return f"a {type(value).__name__} that numpy cannot turn into an array"
    except RecursionError:
        return f"a {type(value).__name__} that numpy cannot turn into an array"
    if type(array) is not _ndarray:
        array = array.view(_ndarray)
    if array.dtype.hasobject:
        return _kind_problem(array.dtype) or "an array of objects"
    if array.dtype.kind not in "biufc":
        return f"an array of dtype {array.dtype}; return numeric arrays"
    return array


def coerce_value(value: Any) -> np.ndarray:
    """Parent side: a fresh base float64 ndarray (`subok=False`), or BadReturn with a student-facing message."""
    plain = to_plain(value)
    if isinstance(plain, str):
        raise BadReturn(plain)
    problem = _kind_problem(plain.dtype)
    if problem:
        raise BadReturn(problem)
    return np.array(plain, dtype=np.float64, subok=False)


def split_outputs(returned: Any, n_returns: int | None = None) -> list[Any]:
    """The outputs in what a function returned, knowing (when given) how many it is supposed to return.

    n_returns > 1: a list or tuple of exactly that many items is that many outputs, whatever the items are
    (arrays, nested lists, numbers), so `[dx.tolist(), dW.tolist()]` is two outputs, not one ragged array.
    n_returns == 1: a tuple is a tuple of outputs (so a 1-tuple is one output); a list, nested or not, is
    ONE array (a matrix given as lists). Anything else, and n_returns None: a tuple is several outputs, so
    is a list whose items are all arrays, anything else is one output. A count that does not match is
    left for the grader to report ("returned 3 values, expected 2")."""
    if isinstance(returned, tuple):
        return list(returned)
    if isinstance(returned, list):
        if n_returns is not None and n_returns > 1 and len(returned) == n_returns:
            return list(returned)
        if n_returns == 1:
            # `return [dz]`: a list holding the one array, as `return (dz,)` is (a matrix as lists stays one)
            return [returned[0]] if len(returned) == 1 and isinstance(returned[0], _ndarray) else [returned]
        if returned and all(isinstance(x, _ndarray) for x in returned):
            return list(returned)
    return [returned]


def coerce_outputs(returned: Any, n_returns: int | None = None) -> list[np.ndarray]:
    """What a function returned → list of float64 arrays; BadReturn names the offending output."""
    items = split_outputs(returned, n_returns)
    out = []
    for i, item in enumerate(items):
        try:
            out.append(coerce_value(item))
        except BadReturn as exc:
            prefix = f"output {i + 1} is " if len(items) > 1 else "the function returned "
            raise BadReturn(prefix + str(exc)) from None
    return out
