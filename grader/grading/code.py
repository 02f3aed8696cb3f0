"""Grading submitted backward functions: the sandbox runs them, this trusted process compares.

The sandbox returns only plain float64 arrays (with the dtype each had), or why there are none. Every check
happens here: the number of returned arrays, their exact shapes (no broadcasting), finiteness, closeness to
the engine's reference within the exercise's code tolerance (at float32 precision for float32 results: the
formula is judged, not the dtype), and, where the exercise forbids it, whether an input was changed in place.
A failed test is then diagnosed (grader.grading.code_mistakes), as typed answers are.

What the student could not have graded costs no attempt: code that does not parse, a module that cannot be
loaded (an import the sandbox does not have, an exception at import time), the starter left unchanged.
"""

from __future__ import annotations

import ast
import logging
import threading
from typing import Any

import numpy as np

from grader.engine import Array
from grader.exercises import Exercise, TestCase, test_cases
from grader.grading import code_mistakes
from grader.grading.result import CORRECT, INCORRECT, INVALID, GradeResult, PartResult, summarise
from grader.grading.tolerance import Tolerance

log = logging.getLogger(__name__)

_pool = None
_pool_lock = threading.Lock()

# Used only when the sandbox gave no reason of its own (it normally does: see grader.sandbox.results).
CASE_MESSAGES = {
    "timeout": "took too long (time limit {limit:g} s): look for an endless loop",
    "memory": "ran out of memory: arrays far larger than the inputs?",
    "not_run": "not run",
}

# Results in a lower precision are graded at that precision, and the feedback says so.
PRECISION = {"float32": (1e-4, 1e-5), "float16": (1e-2, 1e-3)}  # dtype -> (rtol, atol per unit of scale)

try:  # what a submission may import (the sandbox says; the sandbox is only loaded where code is graded)
    from grader.sandbox import AVAILABLE as AVAILABLE_MODULES
except ImportError:  # pragma: no cover - older sandbox
    AVAILABLE_MODULES = "numpy and the Python standard library"


def sandbox_pool(allow_weak: bool = False) -> Any:
    """The process-wide pool of fork servers, started on first use (only where code is graded)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from grader.sandbox import SandboxPool

            _pool = SandboxPool(allow_weak=allow_weak)
        return _pool


def _format_problem(code: str, exercise: Exercise, check_starter: bool = True) -> str | None:
    """Why the code cannot be run at all (a format error: no attempt used), or None. Parsing is not running:
    it is safe in the trusted process and gives the best messages."""
    assert exercise.function is not None
    function_name = exercise.function.name
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
    starter = exercise.function.starter
    if check_starter and starter and _same_code(code, starter):
        return f"this is the starter code unchanged: write your own body of `{function_name}`"
    return None


def format_problem(code: str, exercise: Exercise) -> str | None:
    """Why the code cannot be run at all, checked in the trusted process (no sandbox): a submission queued
    for a grading worker is checked first, so a syntax error is answered at once and uses no attempt."""
    return _format_problem(code, exercise)


def _same_code(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except (SyntaxError, ValueError):
        return False


def _invalid(problem: str, tolerance: Tolerance, kind: str = "syntax", traceback: list[str] | None = None
             ) -> GradeResult:
    part = PartResult(0, "code", INVALID, 0.0, 1.0, f"Your code cannot be run: {problem}.",
                      format_error={"message": problem, "kind": kind})
    if traceback:
        part.details["traceback"] = traceback
    return GradeResult("code", "invalid", 0.0, [part], tolerance.describe(),
                       f"Your code cannot be run ({problem}); this did not use an attempt.")


def grade_code(exercise: Exercise, seed: int, code: str, *, reveal: bool = False, pool: Any = None,
               allow_weak: bool = False, attempt: int = 0, cases: list[TestCase] | None = None,
               check_starter: bool = True) -> GradeResult:
    """Run the student's function on fresh test cases in the sandbox (or on `cases`, e.g. the precheck's
    example) and compare in this process. `check_starter` False runs even the unchanged starter (the question
    tests check that it fails)."""
    assert exercise.function is not None
    tolerance = Tolerance.from_spec(exercise.tolerance, "code")
    problem = _format_problem(code, exercise, check_starter)
    if problem:
        return _invalid(problem, tolerance)
    cases = cases if cases is not None else test_cases(exercise, seed, attempt)
    pool = pool or sandbox_pool(allow_weak)
    run = pool.run(code, exercise.function.name, [dict(c.args) for c in cases],
                   time_limit_s=exercise.tests["time_limit_s"], n_returns=len(exercise.function.returns))
    if run.status == "syntax_error":
        return _invalid(run.message, tolerance)
    if run.status == "load_error":
        return _invalid(_load_problem(run.load_error), tolerance, "load", run.load_error.traceback)
    if run.status != "ok":
        log.error("sandbox %s for %s: %s", run.status, exercise.id, run.message)
        message = ("Code exercises are switched off on this server: it cannot isolate student code."
                   if run.status == "refused" else "The grader had a problem running your code; this did not use "
                   "an attempt. Please submit again.")
        return GradeResult("code", "error", 0.0, [], tolerance.describe(), message)
    if all(o.status == "error" and o.error_type == "NotImplementedError" for o in run.cases):
        return _invalid(f"`{exercise.function.name}` still raises NotImplementedError (the starter's placeholder): "
                        "replace it with your code", tolerance, "starter")
    per_test = exercise.points / len(cases)
    graded = [_grade_case(i, case, outcome, exercise, tolerance, reveal, per_test)
              for i, (case, outcome) in enumerate(zip(cases, run.cases, strict=True))]
    parts = [part for part, _ in graded]
    diagnoses = [(i, d) for i, (_, d) in enumerate(graded) if d is not None]
    _name_hard_coded_sizes(cases, parts, diagnoses)
    result = summarise("code", parts, tolerance.describe())
    return _with_summary(result, diagnoses)


def _load_problem(outcome: Any) -> str:
    """A module that could not be loaded, in a sentence (the sandbox's error, and what it does have)."""
    where = ""
    if outcome.traceback:
        line = outcome.traceback[-1].split(",", 1)[0]  # "line 3, in <module>\n    import scipy"
        where = f" at {line}" if line.startswith("line ") else ""
    if outcome.status != "error":  # a time-out or a crash while loading: the sandbox's own sentence
        return (outcome.error_message or "it could not be loaded").rstrip(".")
    text = f"loading it raised {outcome.error_type}{where}: {outcome.error_message}".rstrip(".")
    if outcome.error_type in ("ModuleNotFoundError", "ImportError") and "sandbox has" not in text:
        text += f". The sandbox has {AVAILABLE_MODULES}, nothing else"
    return text


def _with_summary(result: GradeResult, diagnoses: list[tuple[int, code_mistakes.CaseDiagnosis]]) -> GradeResult:
    """Passing tests first in the count, then the mistake seen in most failed tests, said once."""
    failed = [p for p in result.parts if p.status != CORRECT]
    passed = len(result.parts) - len(failed)
    result.message = f"{passed} of {len(result.parts)} tests passed; score {result.score:.0%}."
    result.diagnosis = code_mistakes.summary(diagnoses, len(failed))
    if result.diagnosis:
        result.message += " " + result.diagnosis["message"]
    return result


def _name_hard_coded_sizes(cases: list[TestCase], parts: list[PartResult],
                           diagnoses: list[tuple[int, code_mistakes.CaseDiagnosis]]) -> None:
    """A size written into the code shows across the tests, not in one: name it on the failed tests that no
    other mistake explains."""
    message = None
    found = code_mistakes.hard_coded_size(cases, [p.status == CORRECT for p in parts])
    if found is not None:
        where = " and ".join(f"{name} = {value}" for name, value in found.items())
        example = ", ".join(str(v) for v in found.values())
        message = (f"your function passes only the tests where {where}: is a size written into the code "
                   f"(range({example}), np.zeros(({example}, …)))? Take sizes from the arrays' .shape.")
    else:
        fixed = code_mistakes.fixed_shape(parts)
        if fixed is not None:
            name, shape = fixed
            message = (f"{name} has shape {_shape(shape)} in every test, whatever the sizes of the inputs: is a "
                       "size written into the code? Take sizes from the arrays' .shape.")
    if message is None:
        return
    named = {i for i, _ in diagnoses}
    for i, part in enumerate(parts):
        if part.status != CORRECT and i not in named:
            diagnosis = code_mistakes.CaseDiagnosis("hard_coded_size", [], message, [])
            part.diagnosis = diagnosis.to_dict()
            diagnoses.append((i, diagnosis))
    diagnoses.sort(key=lambda item: item[0])


def _label(i: int, case: TestCase) -> str:
    dims = ", ".join(f"{k}={v}" for k, v in case.dims.items())
    kind = getattr(case, "label", None)
    inner = "; ".join(x for x in (kind if kind and kind != "random" else "", dims) if x)
    return f"test {i + 1} ({inner})" if inner else f"test {i + 1}"


def repro(exercise: Exercise, case: TestCase) -> str:
    """numpy code that rebuilds the case's inputs and calls the function (cases are fresh random draws per
    attempt, so showing them gives nothing away)."""
    assert exercise.function is not None
    lines = ["import numpy as np", ""]
    for name, value in case.args.items():
        lines.append(f"{name} = np.array({np.asarray(value).tolist()!r})")
    lines += ["", f"{exercise.function.name}({', '.join(f'{n}={n}' for n in case.args)})"]
    return "\n".join(lines)


def _grade_case(i: int, case: TestCase, outcome: Any, exercise: Exercise, tolerance: Tolerance, reveal: bool,
                points: float) -> tuple[PartResult, code_mistakes.CaseDiagnosis | None]:
    part = PartResult(i, _label(i, case), INCORRECT, 0.0, points, "", details={"seconds": round(outcome.seconds, 4)})
    if outcome.stdout:
        part.details["stdout"] = outcome.stdout[:2000]
        if getattr(outcome, "stdout_truncated", False) or len(outcome.stdout) > 2000:
            part.details["stdout_truncated"] = True
    if reveal:
        part.expected = [r.tolist() for r in case.returns]
    diagnosis = None
    if outcome.status == "error":
        part.message = f"raised {outcome.error_type}: {outcome.error_message}"
        part.details["traceback"] = outcome.traceback
    elif outcome.status != "ok":
        part.message = outcome.error_message or CASE_MESSAGES.get(outcome.status, "could not be checked: {status}"
                                                                  ).format(limit=exercise.tests["time_limit_s"],
                                                                           status=outcome.status)
    else:
        outputs = outcome.outputs or []
        part.given = [o.tolist() for o in outputs]
        tolerances = _tolerances(tolerance, outputs, getattr(outcome, "dtypes", None) or [])
        problem = _compare_outputs(outputs, case.returns, exercise, tolerances, part)
        if problem is None:
            problem = _changed_inputs(exercise, case, outcome)
        if problem is None:
            part.status, part.score = CORRECT, 1.0
            part.message = "passed (" + _describe_precision(tolerance, tolerances, outcome) + ")"
            return part, None
        part.message = problem
        diagnosis = code_mistakes.diagnose_case(exercise, case, outputs, tolerances)
        if diagnosis is not None:
            part.diagnosis = diagnosis.to_dict()
    part.details["repro"] = repro(exercise, case)
    return part, diagnosis


def _changed_inputs(exercise: Exercise, case: TestCase, outcome: Any) -> str | None:
    """Only where the exercise forbids it (its prompt says so): inputs changed in place."""
    assert exercise.function is not None
    if getattr(exercise.function, "in_place", "allowed") != "forbidden":
        return None
    mutated = [name for name, after in (outcome.inputs_after or {}).items()
               if name in case.args and not _identical(after, case.args[name])]
    if not mutated:
        return None
    return (f"changed its input{'s' if len(mutated) > 1 else ''} {', '.join(mutated)} in place, which this "
            "exercise forbids; work on a copy (e.g. dout.copy()), since the caller still needs the original")


def _tolerances(tolerance: Tolerance, outputs: list[Array], dtypes: list[str]) -> list[Tolerance]:
    """Per output: the exercise's code tolerance, loosened to the precision of a lower-precision dtype."""
    result = []
    for j, output in enumerate(outputs):
        dtype = dtypes[j] if j < len(dtypes) else "float64"
        if dtype in PRECISION:
            rtol, atol = PRECISION[dtype]
            scale = max(1.0, float(np.max(np.abs(output), initial=0.0))) if np.all(np.isfinite(output)) else 1.0
            result.append(Tolerance(rtol=max(tolerance.rtol, rtol), atol=max(tolerance.atol, atol * scale)))
        else:
            result.append(tolerance)
    return result


def _describe_precision(tolerance: Tolerance, tolerances: list[Tolerance], outcome: Any) -> str:
    lower = sorted({d for d in (getattr(outcome, "dtypes", None) or []) if d in PRECISION})
    if not lower:
        return tolerance.describe()
    return f"{tolerances[0].describe() if tolerances else tolerance.describe()}: graded at {', '.join(lower)} " \
           "precision, the dtype you returned"


def _identical(after: Array, before: Array) -> bool:
    return after.shape == before.shape and bool(np.array_equal(after, before))


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "() (a single number)"


def _compare_outputs(outputs: list[Array], expected: list[Array], exercise: Exercise,
                     tolerances: list[Tolerance], part: PartResult) -> str | None:
    assert exercise.function is not None
    names = [str(r) for r in exercise.function.returns]
    if len(outputs) != len(expected):
        want = f"a tuple of {len(expected)} arrays ({', '.join(names)})" if len(expected) > 1 else "one array"
        return f"returned {len(outputs)} value{'s' if len(outputs) != 1 else ''}; expected {want}"
    checks = []
    for name, given, want, tolerance in zip(names, outputs, expected, tolerances, strict=True):
        entry: dict[str, Any] = {"name": name, "expected_shape": list(want.shape), "given_shape": list(given.shape)}
        checks.append(entry)
        if given.shape != want.shape:
            entry["problem"] = f"{name} has shape {_shape(given.shape)}, expected {_shape(want.shape)}"
            if not given.shape and want.shape:
                entry["problem"] += ": did a sum (np.sum, .sum()) reduce it to one number? Keep its shape"
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
