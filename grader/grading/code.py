"""Grading submitted backward functions: the sandbox runs them, this trusted process compares.

The sandbox returns only plain float64 arrays (or why there are none). Every check happens here: the number
of returned arrays, their exact shapes (no broadcasting), finiteness, closeness to the engine's reference
within the exercise's code tolerance, and whether the student changed an input in place.
"""

from __future__ import annotations

import ast
import logging
import threading
from typing import Any

import numpy as np

from grader.engine import Array
from grader.exercises import Exercise, TestCase, test_cases
from grader.grading.reader import describe_shape
from grader.grading.result import CORRECT, INCORRECT, GradeResult, PartResult, summarise
from grader.grading.tolerance import Tolerance

log = logging.getLogger(__name__)

_pool = None
_pool_lock = threading.Lock()

CASE_MESSAGES = {
    "timeout": "took too long (time limit {limit:g} s): look for an endless loop",
    "memory": "ran out of memory: arrays far larger than the inputs?",
    "output_limit": "printed or returned too much output",
    "killed": "was stopped by the sandbox (a forbidden operation, or it tried to outlive the test)",
}


def sandbox_pool(allow_weak: bool = False) -> Any:
    """The process-wide pool of fork servers, started on first use (only where code is graded)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from grader.sandbox import SandboxPool

            _pool = SandboxPool(allow_weak=allow_weak)
        return _pool


def _format_problem(code: str, function_name: str) -> str | None:
    """Why the code cannot be run at all (a format error: no attempt used), or None. Parsing is not running:
    it is safe in the trusted process and gives the best messages."""
    try:
        tree = ast.parse(code, "<submission>")
    except SyntaxError as exc:
        return f"line {exc.lineno}, column {exc.offset}: {exc.msg}"
    except ValueError as exc:  # e.g. a NUL byte in the source
        return str(exc)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    defined |= {target.id for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    if function_name not in defined:
        return f"the code does not define `{function_name}` at the top level"
    return None


def grade_code(exercise: Exercise, seed: int, code: str, *, reveal: bool = False, pool: Any = None,
               allow_weak: bool = False, attempt: int = 0) -> GradeResult:
    """Run the student's function on fresh test cases in the sandbox and compare in this process."""
    assert exercise.function is not None
    tolerance = Tolerance.from_spec(exercise.tolerance, "code")
    problem = _format_problem(code, exercise.function.name)
    if problem:
        part = PartResult(0, "code", "invalid", 0.0, 1.0, f"Your code cannot be run: {problem}.",
                          format_error={"message": problem, "kind": "syntax"})
        return GradeResult("code", "invalid", 0.0, [part], tolerance.describe(),
                           f"Your code cannot be run ({problem}); this did not use an attempt.")
    cases = test_cases(exercise, seed, attempt)
    pool = pool or sandbox_pool(allow_weak)
    run = pool.run(code, exercise.function.name, [dict(c.args) for c in cases],
                   time_limit_s=exercise.tests["time_limit_s"])
    if run.status == "syntax_error":
        part = PartResult(0, "syntax", "invalid", 0.0, 1.0, run.message, format_error={"message": run.message})
        return GradeResult("code", "invalid", 0.0, [part], tolerance.describe(), run.message)
    if run.status != "ok":
        log.error("sandbox %s for %s: %s", run.status, exercise.id, run.message)
        message = ("Code exercises are switched off on this server: it cannot isolate student code."
                   if run.status == "refused" else "The grader had a problem running your code; this did not use "
                   "an attempt. Please submit again.")
        return GradeResult("code", "error", 0.0, [], tolerance.describe(), message)
    per_test = exercise.points / len(cases)
    parts = [_grade_case(i, case, outcome, exercise, tolerance, reveal, per_test)
             for i, (case, outcome) in enumerate(zip(cases, run.cases, strict=True))]
    return summarise("code", parts, tolerance.describe())


def _grade_case(i: int, case: TestCase, outcome: Any, exercise: Exercise, tolerance: Tolerance, reveal: bool,
                points: float) -> PartResult:
    label = f"test {i + 1} ({', '.join(f'{k}={v}' for k, v in case.dims.items())})" if case.dims else f"test {i + 1}"
    part = PartResult(i, label, INCORRECT, 0.0, points, "", details={"seconds": round(outcome.seconds, 4)})
    if outcome.stdout:
        part.details["stdout"] = outcome.stdout[:2000]
    if reveal:
        part.expected = [r.tolist() for r in case.returns]
    if outcome.status == "error":
        part.message = f"raised {outcome.error_type}: {outcome.error_message}"
        part.details["traceback"] = outcome.traceback
        return part
    if outcome.status != "ok":
        template = CASE_MESSAGES.get(outcome.status, "could not be checked: {status}")
        part.message = template.format(limit=exercise.tests["time_limit_s"], status=outcome.error_message or
                                       outcome.status)
        return part
    problem = _compare_outputs(outcome.outputs or [], case.returns, exercise, tolerance, part)
    mutated = [name for name, after in (outcome.inputs_after or {}).items()
               if name in case.args and not _identical(after, case.args[name])]
    if mutated and not problem:
        problem = (f"changed its input{'s' if len(mutated) > 1 else ''} {', '.join(mutated)} in place; work on a "
                   "copy (e.g. dout.copy()), since the caller still needs the original")
    if problem:
        part.message = problem
        return part
    part.status, part.score, part.message = CORRECT, 1.0, f"passed ({tolerance.describe()})"
    return part


def _identical(after: Array, before: Array) -> bool:
    return after.shape == before.shape and bool(np.array_equal(after, before))


def _compare_outputs(outputs: list[Array], expected: list[Array], exercise: Exercise, tolerance: Tolerance,
                     part: PartResult) -> str | None:
    assert exercise.function is not None
    names = [str(r) for r in exercise.function.returns]
    if len(outputs) != len(expected):
        want = f"a tuple of {len(expected)} arrays ({', '.join(names)})" if len(expected) > 1 else "one array"
        return f"returned {len(outputs)} value(s); expected {want}"
    checks = []
    for name, given, want in zip(names, outputs, expected, strict=True):
        entry: dict[str, Any] = {"name": name, "expected_shape": list(want.shape), "given_shape": list(given.shape)}
        checks.append(entry)
        if given.shape != want.shape:
            entry["problem"] = f"{name} has shape {describe_shape(given.shape)}, expected {describe_shape(want.shape)}"
            continue
        if not np.all(np.isfinite(given)):
            entry["problem"] = f"{name} contains NaN or infinity"
            continue
        close = tolerance.close(given, want)
        error = np.abs(given - want)
        where = np.unravel_index(int(np.argmax(error)), error.shape) if error.size else ()
        entry.update(max_abs_error=float(error.max(initial=0.0)), at=[int(k) for k in where],
                     max_rel_error=float((error / np.maximum(np.abs(want), 1e-300)).max(initial=0.0)),
                     wrong_entries=int((~close).sum()))
        if not close.all():
            entry["problem"] = (f"{name} is wrong in {entry['wrong_entries']} of {close.size} entries; the largest "
                                f"error is {entry['max_abs_error']:.3g} at index {tuple(entry['at'])}")
    part.details["outputs"] = checks
    problems = [c["problem"] for c in checks if "problem" in c]
    return "; ".join(problems) if problems else None
