"""The result of grading one submission: JSON-serialisable, stored by the service, rendered by the pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CORRECT, INCORRECT, PARTIAL, INVALID = "correct", "incorrect", "partial", "invalid"
NOT_GRADED = "not_graded"  # a readable answer in a submission that had a format error elsewhere


@dataclass
class PartResult:
    """One ask of a numeric exercise, or one test case of a code exercise."""

    index: int
    label: str
    status: str  # correct / incorrect / partial / invalid / not_graded
    score: float  # in [0, 1]
    points: float  # this part's weight
    message: str
    # code exercises: the mistake seen in most failed tests, {mistake, message, gates, tests}
    diagnosis: dict[str, Any] | None = None
    marks: Any = None  # per entry, True/False, nested like the answer
    format_error: dict[str, Any] | None = None  # the reader's error, shown beside the box
    given: Any = None
    expected: Any = None  # only where the exercise's policy allows
    follow_through: bool = False  # credited because it is right given the student's own earlier answer
    details: dict[str, Any] = field(default_factory=dict)  # kind-specific extras (code tests: errors, shapes)


@dataclass
class GradeResult:
    kind: str  # numeric or code
    status: str  # graded; invalid (a format error: no attempt used); error (infrastructure: no attempt used)
    score: float  # in [0, 1]
    parts: list[PartResult]
    tolerance: str  # in plain words
    message: str
    # code exercises: the mistake seen in most failed tests, {mistake, message, gates, tests}
    diagnosis: dict[str, Any] | None = None

    @property
    def uses_attempt(self) -> bool:
        return self.status == "graded"

    def to_dict(self) -> dict[str, Any]:
        """As dataclasses.asdict, without its deep copy of every answer and mark (a result is not changed once
        stored, and the parts hold only JSON values): this runs on every submission."""
        return {**vars(self), "parts": [dict(vars(part)) for part in self.parts]}

    def withhold_ungraded(self) -> GradeResult:
        """For students: a submission that used no attempt (a format error elsewhere) says nothing about its
        readable answers, or one unreadable box would let a student check the others for free. The grading
        library keeps them (instructor tools show them); the service calls this before storing."""
        if self.status == "invalid":
            for part in self.parts:
                if part.status != INVALID:
                    part.status, part.score = NOT_GRADED, 0.0
                    part.message = "Not graded: fix the format errors first."
                    part.marks = part.diagnosis = part.expected = None
                    part.follow_through, part.details = False, {}
        return self


def summarise(kind: str, parts: list[PartResult], tolerance: str) -> GradeResult:
    """The overall status, weighted score and message of a list of graded parts."""
    invalid = [p for p in parts if p.status == INVALID]
    total = sum(p.points for p in parts) or 1.0
    score = 0.0 if invalid else sum(p.score * p.points for p in parts) / total
    if invalid:
        names = ", ".join(p.label for p in invalid)
        message = f"Could not read: {names}. Fix the format; this did not use an attempt."
        return GradeResult(kind, "invalid", 0.0, parts, tolerance, message)
    right = sum(p.status == CORRECT for p in parts)
    message = f"{right} of {len(parts)} correct; score {score:.0%}."
    return GradeResult(kind, "graded", round(score, 6), parts, tolerance, message)
