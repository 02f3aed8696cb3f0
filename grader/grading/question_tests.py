"""Question tests: the service proves an exercise right before any student sees it.

On N seeds: the reference answers score 100%; each classic mistake that changes the answer is diagnosed as
itself (or as a mistake that gives the very same numbers: naming either is right); the share of degenerate
first draws (redrawn for students, but a high rate says the random rules need widening). For a code exercise,
the definition may carry a reference solution and known wrong solutions with the mistake each should be
named as: the starter must fail, the solution pass every test, each wrong one fail with its expected name.

Nothing is stored: the instructor pages, the API and the CLI show the report; an exercise whose tests fail may
be saved as a draft but not assigned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.exercises import DegenerateVariantError, Exercise, make_variant
from grader.exercises.variants import degeneracy, draw, generator, overflowed
from grader.grading.mistakes import NOT_NAMED_IN_BAND, ROUNDING_BAND, candidates, rounded_early
from grader.grading.numeric import grade_answers
from grader.grading.result import CORRECT
from grader.grading.tolerance import Tolerance

NAMED_MIN = 0.9  # per mistake: the share of seeds where it must be named (the diagnosis table's cell floor)
DEGENERATE_MAX = 0.5  # a higher share of degenerate first draws fails the tests: widen the random rules
SAME = {"rtol": 1e-9, "atol": 1e-12}  # two mistakes "give the same numbers"


@dataclass
class MistakeRow:
    mistake: str
    cases: int = 0  # (seed, ask) pairs where it changes the answer
    named: int = 0  # diagnosed as itself, or as a mistake with the very same answer
    missed: list[int] = field(default_factory=list)  # seeds where it was not

    @property
    def share(self) -> float:
        return self.named / self.cases if self.cases else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"mistake": self.mistake, "cases": self.cases, "named": self.named,
                "share": round(self.share, 4), "missed_seeds": sorted(set(self.missed))[:20],
                "passed": self.share >= NAMED_MIN}


@dataclass
class CodeCheck:
    what: str  # "starter", "solution", "wrong 1"
    expect: str  # "fails", "passes", or the mistake it must be named as
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()


@dataclass
class QuestionReport:
    exercise: str
    version: int
    seeds: int
    reference_failures: list[str] = field(default_factory=list)
    mistakes: list[MistakeRow] = field(default_factory=list)
    degenerate: int = 0
    code: list[CodeCheck] = field(default_factory=list)

    @property
    def degenerate_rate(self) -> float:
        return self.degenerate / self.seeds if self.seeds else 0.0

    @property
    def failures(self) -> list[str]:
        """Why the tests fail, one line each (empty: they pass)."""
        lines = list(self.reference_failures[:5])
        if len(self.reference_failures) > 5:
            lines.append(f"… and {len(self.reference_failures) - 5} more seeds where the reference is not 100%")
        lines += [f"mistake {row.mistake} named on only {row.share:.0%} of {row.cases} cases (seeds "
                  f"{', '.join(map(str, sorted(set(row.missed))[:8]))})" for row in self.mistakes
                  if row.share < NAMED_MIN]
        if self.degenerate_rate > DEGENERATE_MAX:
            lines.append(f"{self.degenerate_rate:.0%} of first draws are degenerate: widen the random rules")
        lines += [f"{check.what}: expected to {_expectation(check.expect)}, but {check.detail}"
                  for check in self.code if not check.passed]
        return lines

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {"exercise": self.exercise, "version": self.version, "seeds": self.seeds, "passed": self.passed,
                "failures": self.failures, "reference": {"seeds": self.seeds,
                                                         "failures": self.reference_failures[:20]},
                "mistakes": [row.to_dict() for row in self.mistakes],
                "degenerate": {"count": self.degenerate, "rate": round(self.degenerate_rate, 4)},
                "code": [check.to_dict() for check in self.code]}


def _expectation(expect: str) -> str:
    return {"fails": "fail", "passes": "pass every test"}.get(expect, f"be named as {expect}")


def run_question_tests(exercise: Exercise, seeds: Iterable[int] = range(100), *, pool: Any = None,
                       allow_weak: bool = False) -> QuestionReport:
    """The question-test report of one exercise (see the module docstring)."""
    seeds = list(seeds)
    report = QuestionReport(exercise.id, exercise.version, len(seeds))
    report.degenerate = sum(_first_draw_degenerate(exercise, seed) for seed in seeds)
    if exercise.kind == "code":
        report.code = _code_checks(exercise, seeds, pool, allow_weak)
        return report
    rows: dict[str, MistakeRow] = defaultdict(lambda: MistakeRow(""))
    for seed in seeds:
        try:
            variant = make_variant(exercise, seed)
        except DegenerateVariantError as exc:
            report.reference_failures.append(f"seed {seed}: {exc}")
            continue
        _check_seed(variant, seed, report, rows)
    report.mistakes = sorted(rows.values(), key=lambda row: row.mistake)
    return report


def _first_draw_degenerate(exercise: Exercise, seed: int) -> bool:
    with np.errstate(all="ignore"):
        _, _, _, solution = draw(exercise, generator(exercise, seed))
    return bool(overflowed(solution) or degeneracy(exercise, solution))


def _check_seed(variant: Any, seed: int, report: QuestionReport, rows: dict[str, MistakeRow]) -> None:
    exercise = variant.exercise
    tolerance = Tolerance.from_spec(exercise.tolerance, "numeric")
    band = tolerance.widened(ROUNDING_BAND)
    exact = {i: variant.expected(ask) for i, ask in enumerate(exercise.asks)}
    typed = {i: e.tolist() for i, e in exact.items()}
    result = grade_answers(variant, typed)
    if result.score != 1.0 or any(p.status != CORRECT or p.diagnosis for p in result.parts):
        report.reference_failures.append(f"seed {seed}: the reference answers score {result.score:.0%} "
                                         f"({result.message})")
    for i, ask in enumerate(exercise.asks):
        found = candidates(variant, ask)
        replays = [(code, answer) for code, _, _, answer in found]
        if ask.kind == "grad":
            replays.append(("rounded_early", rounded_early(variant, ask)))
        for code, answer in replays:
            if answer.shape != exact[i].shape or not np.all(np.isfinite(answer)) or np.all(
                    tolerance.close(answer, exact[i])):
                continue  # the mistake does not change the answer here: nothing to diagnose
            if code in NOT_NAMED_IN_BAND and np.all(band.close(answer, exact[i])):
                continue  # so close to the answer that it is credited as rounding, not wrong
            row = rows[code]
            row.mistake = code
            row.cases += 1
            part = grade_answers(variant, {**typed, i: answer.tolist()}).parts[i]
            named = part.diagnosis and part.diagnosis["mistake"]
            if named == code or (named and _same_numbers(found, named, part.diagnosis["gates"], answer)):
                row.named += 1
            else:
                row.missed.append(seed)


def _same_numbers(found: Any, named: str, gates: list[str], answer: np.ndarray) -> bool:
    """The mistake diagnosed instead gives exactly this answer (to 1e-9): naming it is as right."""
    other = [a for code, g, _, a in found if code == named and list(g) == list(gates)]
    return bool(other) and other[0].shape == answer.shape and bool(np.allclose(other[0], answer, **SAME))


def _code_checks(exercise: Exercise, seeds: list[int], pool: Any, allow_weak: bool) -> list[CodeCheck]:
    from grader.grading.code import grade_code  # the sandbox is only loaded where code is graded

    function = exercise.function
    assert function is not None
    checks = []

    def grade(code: str, seed: int, check_starter: bool = True) -> Any:
        return grade_code(exercise, seed, code, pool=pool, allow_weak=allow_weak, check_starter=check_starter)

    # The starter is run as it is (students are told it is unchanged, and it costs them no attempt).
    starter = grade(function.starter, seeds[0], check_starter=False) if function.starter else None
    if starter is not None:
        checks.append(CodeCheck("starter", "fails", starter.score < 1.0, f"it scored {starter.score:.0%}"))
    solution = getattr(function, "solution", None)
    if solution:
        scores = [(seed, grade(solution, seed)) for seed in seeds]
        bad = [(seed, r) for seed, r in scores if r.score != 1.0 or r.status != "graded"]
        detail = "it passed every test" if not bad else "it scored " + ", ".join(
            f"{r.score:.0%} on seed {seed} ({_first_failure(r)})" for seed, r in bad[:3])
        checks.append(CodeCheck("solution", "passes", not bad, detail))
    for n, wrong in enumerate(getattr(function, "wrong", ()) or (), start=1):
        code, expect = wrong["code"], wrong.get("expect")
        results = [grade(code, seed) for seed in seeds]
        failed_parts = [p for r in results for p in r.parts if p.status != CORRECT]
        full = sum(r.score == 1.0 for r in results)
        named = sum(bool(p.diagnosis) and p.diagnosis.get("mistake") == expect for p in failed_parts)
        share = named / len(failed_parts) if failed_parts else 0.0
        if expect:
            ok = full == 0 and share >= NAMED_MIN
            detail = (f"it scored 100% on {full} of {len(seeds)} seeds" if full else
                      f"{share:.0%} of its {len(failed_parts)} failed tests were named {expect}")
        else:
            ok = full == 0
            detail = f"it scored 100% on {full} of {len(seeds)} seeds" if full else "it failed"
        checks.append(CodeCheck(f"wrong {n}", expect or "fails", ok, detail))
    return checks


def _first_failure(result: Any) -> str:
    failed = [p for p in result.parts if p.status != CORRECT]
    return failed[0].message if failed else result.message
