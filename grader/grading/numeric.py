"""Grading typed answers: read, check the shape, compare within tolerance entry by entry, diagnose, and in a
follow-through chain give credit for steps that are right given the student's own earlier answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.engine import Array, to_json
from grader.exercises import Ask, Variant
from grader.grading.mistakes import diagnose, rounding_band
from grader.grading.reader import AnswerFormatError, check_shape, read_answer
from grader.grading.result import CORRECT, INCORRECT, INVALID, PARTIAL, GradeResult, PartResult, summarise
from grader.grading.tolerance import Tolerance

_DECIMAL_COMMA = re.compile(r"\s*[+\-\u2212]?[0-9]+,[0-9]+\s*")  # "-0,00262": a decimal comma, not two entries


def find_answer(answers: Mapping[Any, Any], index: int, ask: Ask) -> Any:
    """The raw answer to ask `index`: keyed by its index (int or text) or by its label."""
    for key in (index, str(index), ask.label):
        if key in answers:
            return answers[key]
    return None


def grade_answers(variant: Variant, answers: Mapping[Any, Any], *, reveal: bool = False) -> GradeResult:
    """Grade a numeric submission against a variant. `reveal` adds the expected answers (the exercise's
    solution policy decides, not this function)."""
    exercise = variant.exercise
    tolerance = Tolerance.from_spec(exercise.tolerance, "numeric")
    parts: list[PartResult] = []
    earlier: tuple[Ask, Array] | None = None  # the last readable gradient step, for follow-through
    for index, ask in enumerate(exercise.asks):
        expected = variant.expected(ask)
        part = PartResult(index, ask.label, INCORRECT, 0.0, ask.points, "")
        if reveal:
            part.expected = to_json(expected)
        raw = find_answer(answers, index, ask)
        try:
            given = check_shape(read_answer(raw), expected.shape)
        except AnswerFormatError as exc:
            part.status, part.message, part.format_error = INVALID, exc.message, exc.to_dict()
            if exc.kind == "shape" and expected.shape == () and _DECIMAL_COMMA.fullmatch(str(raw)):
                point = str(raw).strip().replace(",", ".")
                part.message += f". If the comma is a decimal comma, write a point: {point}"
                part.format_error["message"] = part.message
            parts.append(part)
            continue
        part.given = to_json(given)
        _compare(part, variant, ask, given, expected, tolerance)
        if part.status != CORRECT and exercise.follow_through and earlier is not None:
            _follow_through(part, variant, earlier, ask, given, tolerance)
        if ask.kind == "grad":
            earlier = (ask, given)
        parts.append(part)
    return summarise("numeric", parts, tolerance.describe())


def _compare(part: PartResult, variant: Variant, ask: Ask, given: Array, expected: Array,
             tolerance: Tolerance) -> None:
    marks = tolerance.close(given, expected)
    part.marks = marks.tolist()
    right, n = int(marks.sum()), marks.size
    if right == n:
        part.status, part.score, part.message = CORRECT, 1.0, f"Correct: {tolerance.describe()}."
        return
    diagnosis = diagnose(variant, ask, given, expected, tolerance) or rounding_band(
        variant, ask, given, expected, tolerance)
    if diagnosis and diagnosis.accepted:
        part.status, part.score, part.message = CORRECT, 1.0, diagnosis.message
        part.marks = np.ones_like(marks).tolist()
    elif credit := _entry_credit(marks, expected):
        part.status, part.score = PARTIAL, credit
        part.message = f"{right} of {n} entries are right ({tolerance.describe()})."
        if credit != right / n:
            part.message += " Entries that are exactly 0 earn no credit on their own."
    else:
        part.message = f"Not {tolerance.describe()}."
    if diagnosis:
        part.diagnosis = diagnosis.to_dict()
        if not diagnosis.accepted:
            part.message += " " + diagnosis.message


def _entry_credit(marks: Array, expected: Array) -> float:
    """Partial credit for a matrix: the share of its entries that are right, where entries that are exactly 0
    (a diagonal Jacobian's off-diagonal, the rows a ReLU blocked) count only when wrong. Otherwise a matrix
    of zeros, or the identity, would earn most of a Jacobian for no work."""
    nonzero = expected != 0
    if nonzero.all() or not nonzero.any():
        return float(marks.sum()) / marks.size
    return float((marks & nonzero).sum()) / float(nonzero.sum() + (~marks & ~nonzero).sum())


def _follow_through(part: PartResult, variant: Variant, earlier: tuple[Ask, Array], ask: Ask, given: Array,
                    tolerance: Tolerance) -> None:
    """Carry the student's earlier step forward through the gates in between, with the engine."""
    prev_ask, prev_given = earlier
    if not np.any(prev_given):
        return  # a zero carried forward makes every later zero "consistent": no credit rides on it
    solution = variant.solution
    carried = np.array(solution.grads[prev_ask.node], dtype=np.float64)
    if prev_ask.index is not None:
        carried[prev_ask.index] = prev_given
    else:
        carried = prev_given
    grads, _ = variant.exercise.graph.backward(solution.values, solution.local_grads, variant.upstream,
                                               replace={prev_ask.node: carried})
    if ask.kind != "grad":
        return
    consistent = np.asarray(grads[ask.node][ask.index] if ask.index is not None else grads[ask.node])
    if np.all(tolerance.close(given, consistent)):
        part.status, part.score, part.follow_through = CORRECT, 1.0, True
        part.marks = np.ones_like(given, dtype=bool).tolist()
        part.diagnosis = None
        part.message = (f"Right given your own answer to '{prev_ask.label}' (error carried forward): "
                        "full credit for this step.")
