"""Mistake tallies of one exercise of a problem set, from the stored feedback of its graded submissions (pure
functions: no Flask, no database; grader.service.class_data loads the rows). Computed at read time, so they
follow every regrade.

Per asked quantity and named mistake: the students whose first attempt had it (and their share of the students
who made a first attempt), the students who had it at any attempt, and the submissions that had it (and their
share of all graded submissions). A numeric answer's quantity is its ask (the part of the feedback, by index);
a code submission's is the output of the function a test's diagnosis names ("grad(W)"; "the function" where it
names none), and the submission counts once per mistake however many of its tests show it.

The wrong answers no mistake explains are grouped by value: numbers rounded to VALUE_FIGURES significant
figures, so answers a rounding apart fall together; the most common first. For code, by the failed test's
message with its numbers left out.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from grader.service.statistics import ItemInfo

VALUE_FIGURES = 3
WRONG = ("incorrect", "partial")
FUNCTION = "the function"
_NUMBER = re.compile(r"[-+\u2212]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


@dataclass(frozen=True)
class Answered:
    """One graded submission with its stored feedback."""

    submission_id: int
    user_id: int
    attempt: int
    created_at: datetime
    score: float | None
    kind: str  # numeric | code
    feedback: dict[str, Any]


@dataclass(frozen=True)
class Quantity:
    key: str  # the ask's index (numeric) or the output's name (code)
    label: str


@dataclass
class TallyRow:
    quantity: Quantity
    mistake: str
    first_students: set[int] = field(default_factory=set)
    students: set[int] = field(default_factory=set)
    submissions: list[int] = field(default_factory=list)


@dataclass
class ValueGroup:
    quantity: Quantity
    value: str  # as shown: the rounded value, or the message with its numbers left out
    submissions: list[Answered] = field(default_factory=list)

    @property
    def students(self) -> set[int]:
        return {s.user_id for s in self.submissions}


@dataclass
class ItemTally:
    item: ItemInfo
    quantities: list[Quantity]
    students: int  # with a graded submission
    first_attempts: int  # students with a first attempt (every student above, unless attempts were deleted)
    submissions: int  # graded
    rows: list[TallyRow]
    unexplained: list[ValueGroup]

    def first_share(self, row: TallyRow) -> float:
        return len(row.first_students) / self.first_attempts if self.first_attempts else 0.0

    def submission_share(self, row: TallyRow) -> float:
        return len(row.submissions) / self.submissions if self.submissions else 0.0


def _parts(feedback: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in feedback.get("parts") or [] if isinstance(p, dict)]


def round_figures(value: Any, figures: int = VALUE_FIGURES) -> Any:
    """A number (or nested lists of numbers) to `figures` significant figures; -0 is 0."""
    if isinstance(value, list):
        return [round_figures(v, figures) for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return value
    if value == 0:
        return 0.0
    rounded = round(float(value), figures - 1 - int(math.floor(math.log10(abs(value)))))
    return rounded + 0.0  # -0.0 -> 0.0


def value_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.{VALUE_FIGURES}g}"
    return str(value)


def named_mistakes(submission: Answered, labels: dict[str, str] | None = None) -> set[tuple[Quantity, str]]:
    """(quantity, mistake) pairs a submission's feedback names (accepted rounding not among them)."""
    found: set[tuple[Quantity, str]] = set()
    for part in _parts(submission.feedback):
        diagnosis = part.get("diagnosis")
        if not isinstance(diagnosis, dict) or not diagnosis.get("mistake") or diagnosis.get("accepted"):
            continue
        if submission.kind == "code":
            outputs = diagnosis.get("outputs") or [FUNCTION]
            found |= {(Quantity(str(o), str(o)), str(diagnosis["mistake"])) for o in outputs}
        else:
            key = str(part.get("index"))
            label = (labels or {}).get(key) or str(part.get("label") or key)
            found.add((Quantity(key, label), str(diagnosis["mistake"])))
    return found


def unexplained_values(submission: Answered, labels: dict[str, str] | None = None) -> list[tuple[Quantity, str]]:
    """The wrong answers (or failed tests) of a submission that no mistake explains, each as its group."""
    found = []
    for part in _parts(submission.feedback):
        if part.get("status") not in WRONG or part.get("diagnosis"):
            continue
        if submission.kind == "code":
            message = _NUMBER.sub("#", str(part.get("message") or "failed"))
            found.append((Quantity(FUNCTION, FUNCTION), message))
        else:
            key = str(part.get("index"))
            label = (labels or {}).get(key) or str(part.get("label") or key)
            found.append((Quantity(key, label), value_text(round_figures(part.get("given")))))
    return found


def item_tally(item: ItemInfo, submissions: Iterable[Answered], asks: Sequence[str] = ()) -> ItemTally:
    """The tallies of one exercise. `asks` are the labels of a numeric exercise's asks, in order (the
    quantities are listed in that order, with a table row only where a mistake was named)."""
    labels = {str(i): label for i, label in enumerate(asks)}
    graded = sorted(submissions, key=lambda s: (s.user_id, s.attempt))
    first_attempt = {}
    for s in graded:
        first_attempt.setdefault(s.user_id, s)
    rows: dict[tuple[Quantity, str], TallyRow] = {}
    groups: dict[tuple[Quantity, str], ValueGroup] = {}
    for s in graded:
        for quantity, mistake in named_mistakes(s, labels):
            row = rows.setdefault((quantity, mistake), TallyRow(quantity, mistake))
            row.students.add(s.user_id)
            row.submissions.append(s.submission_id)
            if first_attempt[s.user_id] is s and s.attempt == 1:  # as `first_attempts` counts them
                row.first_students.add(s.user_id)
        for quantity, value in unexplained_values(s, labels):
            groups.setdefault((quantity, value), ValueGroup(quantity, value)).submissions.append(s)
    quantities = [Quantity(str(i), label) for i, label in enumerate(asks)]
    known = {q.key for q in quantities}
    for quantity, _ in list(rows) + list(groups):
        if quantity.key not in known:
            quantities.append(quantity)
            known.add(quantity.key)
    order = {q.key: i for i, q in enumerate(quantities)}
    return ItemTally(
        item=item, quantities=quantities, students=len(first_attempt),
        first_attempts=sum(1 for s in first_attempt.values() if s.attempt == 1), submissions=len(graded),
        rows=sorted(rows.values(), key=lambda r: (order[r.quantity.key], -len(r.first_students),
                                                  -len(r.submissions), r.mistake)),
        unexplained=sorted(groups.values(), key=lambda g: (-len(g.submissions), order[g.quantity.key], g.value)))


def drill_down(submissions: Iterable[Answered], quantity: str, mistake: str, asks: Sequence[str] = ()
               ) -> dict[int, list[Answered]]:
    """Student (user id) -> their submissions naming `mistake` at `quantity` (a quantity key), oldest first."""
    labels = {str(i): label for i, label in enumerate(asks)}
    found: dict[int, list[Answered]] = defaultdict(list)
    for s in sorted(submissions, key=lambda s: (s.user_id, s.attempt)):
        if any(q.key == quantity and m == mistake for q, m in named_mistakes(s, labels)):
            found[s.user_id].append(s)
    return dict(found)
