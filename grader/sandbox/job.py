"""A job, from the pool to a child: the code to run and every test case's input arrays.

Trusted direction only: the pool writes it and the child reads it before any student code runs, so the
child does not validate it again, and it may be marshalled (marshal, never pickle; and never the other way:
what a child sends back is JSON, parsed as hostile). The layout is chosen for the child, which pays for
every first touch of an interpreter subsystem with copy-on-write page faults: one `marshal.loads` gives the
header (with a flat table: for each array its name index, dtype index, number of dimensions, dimensions),
the arrays' bytes back to back, and the code object the pool compiled (the child does not compile: the
compiler would touch much of the interpreter's memory). The source goes along for traceback lines.
"""

from __future__ import annotations

import marshal
import types
from typing import Any

import numpy as np


def encode(code: str, compiled: types.CodeType, function_name: str, cases: list[dict[str, np.ndarray]],
           time_limit_s: float, marker: bytes, *, n_returns: int | None = None, first: int = 0) -> bytes:
    """`cases` are the run's cases from index `first` on (a fresh child after a failed case gets the rest);
    frames name cases by their index in the whole run."""
    names: dict[str, int] = {}
    dtypes: dict[str, int] = {}
    table: list[int] = []
    data: list[bytes] = []
    for case in cases:
        for name, value in case.items():
            if not name.isidentifier():
                raise ValueError(f"bad argument name {name!r}")
            array = np.asarray(value)
            if array.dtype.hasobject or array.dtype.kind not in "biufc":
                raise ValueError(f"case input {name!r} is not a numeric array")
            table += [names.setdefault(name, len(names)), dtypes.setdefault(array.dtype.str, len(dtypes)),
                      array.ndim, *array.shape]
            data.append(array.tobytes(order="C"))
    header = {"code": code, "function": function_name, "time_limit": float(time_limit_s), "marker": marker,
              "n_returns": n_returns, "first": first, "names": list(names), "dtypes": list(dtypes),
              "counts": [len(case) for case in cases], "table": table}
    return marshal.dumps((header, b"".join(data), compiled))


def decode(raw: bytes) -> tuple[dict[str, Any], list[dict[str, np.ndarray]], types.CodeType]:
    """The header, the cases as read-only arrays viewing one bytes object (the runner copies them for each
    call), and the code object."""
    header, data, compiled = marshal.loads(raw)
    table, names = header["table"], header["names"]
    dtypes = [np.dtype(d) for d in header["dtypes"]]
    cases: list[dict[str, np.ndarray]] = []
    at = offset = 0
    for count in header["counts"]:
        case = {}
        for _ in range(count):
            name, dtype, ndim = names[table[at]], dtypes[table[at + 1]], table[at + 2]
            shape = tuple(table[at + 3 : at + 3 + ndim])
            at += 3 + ndim
            array = np.ndarray(shape, dtype, buffer=data, offset=offset)
            offset += array.nbytes
            case[name] = array
        cases.append(case)
    return header, cases, compiled
