"""The numbers a student works from, listed in full beside the graph: every input and parameter of their
variant (the graph's edges can only carry short ones) and the upstream gradients an exercise gives; and the
numbers of a code exercise's check on the example (its arguments, expected and given returns)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader import exercises as definitions
from grader.web.graph_svg import fmt_number, fmt_shape, hidden_nodes

DIGITS = 6  # as in the graph's tooltips: enough to work with, short enough to read


@dataclass
class GivenTensor:
    label: str  # TeX for KaTeX: W_{1}, \partial L/\partial z
    text: str  # the same in plain words, for screen readers
    shape: str  # "2×3", "scalar"
    rows: list[list[str]]  # the entries, formatted, one list per row (a vector is one row)


def tex_name(name: str) -> str:
    """A node name as TeX: trailing digits become a subscript (W1 -> W_{1}); longer names upright."""
    base, digits = re.fullmatch(r"(.*?)(\d*)", name).groups()
    base = base if len(base) <= 1 else f"\\mathrm{{{base}}}"
    return f"{base}_{{{digits}}}" if digits and base else base or digits


def given_tensors(exercise: definitions.Exercise, variant: definitions.Variant) -> list[GivenTensor]:
    """Inputs and parameters (not those a `value` ask hides), then the upstream gradients, in definition order."""
    hidden = hidden_nodes(exercise)
    given = [GivenTensor(f"${tex_name(name)}$", name, *_table(value))
             for name, value in variant.leaves.items() if name not in hidden]
    for name, value in (variant.upstream or {}).items():
        given.append(GivenTensor(f"$\\partial L/\\partial {tex_name(name)}$", f"upstream gradient dL/d{name}",
                                 *_table(value)))
    return given


def _table(value: Any) -> tuple[str, list[list[str]]]:
    a = np.asarray(value, dtype=float)
    rows = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(-1, a.shape[-1])
    return fmt_shape(a.shape), [[fmt_number(x, DIGITS) for x in row] for row in rows]


@dataclass
class ExampleTables:
    """A check on the example as the page shows it: the example's arguments, then per return value the
    expected and the student's values side by side (None where the function gave nothing readable)."""

    inputs: list[GivenTensor]
    outputs: list[tuple[dict, GivenTensor, GivenTensor | None]]  # (the output's check, expected, given)


def example_tables(check: Any) -> ExampleTables:
    inputs = [GivenTensor(name, name, *_table(value)) for name, value in check.inputs.items()]
    outputs = []
    for output in check.outputs:
        expected = GivenTensor(output["name"], f"expected {output['name']}", *_table(output["expected"]))
        given = None
        if output.get("given") is not None:
            try:
                given = GivenTensor(output["name"], f"your {output['name']}", *_table(output["given"]))
            except ValueError:  # ragged: nothing to lay out as a table
                given = None
        outputs.append((output, expected, given))
    return ExampleTables(inputs, outputs)
