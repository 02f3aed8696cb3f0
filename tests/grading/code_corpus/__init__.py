"""A corpus of realistic submissions to the four catalogue code exercises, each with its expected verdict.

Correct entries are written in many styles (loops, np.matrix, einsum, nested lists, float32, in-place work
where the exercise allows it, big debug prints, helper classes, cs231n-style caches); wrong ones make the
mistakes the code grader names (see MISTAKE_CODES), plus a few that no named mistake explains. The data lives
in one module per exercise; `ENTRIES` is all of them. `grade` grades an entry once per seed and keeps the
result, so the corpus test and the diagnosis table can share the sandbox runs when run in one session.

This is our own code: the tests may exec it in the test process. Never do that with a student's code.
"""

from __future__ import annotations

from typing import Any

from grader.grading.code import grade_code
from tests.grading.code_corpus import affine, relu, sigmoid, three_layer
from tests.grading.code_corpus.entry import (
    CODE_MISTAKES,
    CORRECT,
    EXERCISES,
    FORBIDS_IN_PLACE,
    GATE_MISTAKES,
    MISTAKE_CODES,
    WRONG,
    Entry,
)

__all__ = ["CODE_MISTAKES", "CORRECT", "EXERCISES", "FORBIDS_IN_PLACE", "GATE_MISTAKES", "MISTAKE_CODES", "WRONG",
           "Entry", "ENTRIES", "BY_NAME", "SEEDS", "grade", "failed_parts", "named"]

ENTRIES: tuple[Entry, ...] = (*affine.ENTRIES, *relu.ENTRIES, *sigmoid.ENTRIES, *three_layer.ENTRIES)
BY_NAME: dict[str, Entry] = {e.name: e for e in ENTRIES}
assert len(BY_NAME) == len(ENTRIES), "corpus entry names must be unique"

SEEDS = range(20)
ATTEMPT = 0
_graded: dict[tuple[str, int], Any] = {}


def grade(entry: Entry, seed: int, pool: Any, catalogue: dict[str, Any]) -> Any:
    """The real grader's GradeResult for `entry` on `seed` (attempt 0), computed once per session."""
    key = (entry.name, seed)
    if key not in _graded:
        _graded[key] = grade_code(catalogue[entry.exercise], seed, entry.code, pool=pool, attempt=ATTEMPT)
    return _graded[key]


def failed_parts(result: Any) -> list[Any]:
    return [p for p in result.parts if p.status != "correct"]


def named(diagnosis: Any) -> str | None:
    """The mistake code a part's or result's diagnosis names: a dict with "mistake", a bare code, or None."""
    if diagnosis is None:
        return None
    return diagnosis if isinstance(diagnosis, str) else diagnosis.get("mistake")
