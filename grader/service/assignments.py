"""Changing an assignment: its settings, and rescoring what its graded submissions earn."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from grader.models import (
    Assignment,
    Submission,
    db,
)
from grader.service.limits import earned_points

# Terms that change what a stored submission earns; changing any of them rescores the graded ones.
SCORING_TERMS = ("points", "due_at", "late_policy", "late_penalty")


def update_assignment(assignment: Assignment, changes: dict[str, Any]) -> int:
    """Change an assignment's settings and, where points, due date or late terms changed, rescore what its
    graded submissions earn, so the gradebook always follows the assignment as it now reads (as an LMS does
    when a due date moves: lateness is judged against the new date). One transaction. Returns how many
    submissions were rescored."""
    rescore = any(name in SCORING_TERMS and getattr(assignment, name) != value for name, value in changes.items())
    for name, value in changes.items():
        setattr(assignment, name, value)
    rescored = 0
    if rescore:
        graded = db.session.scalars(select(Submission).where(Submission.assignment_id == assignment.id,
                                                             Submission.attempt.is_not(None)))
        for submission in graded:
            submission.late = assignment.due_at is not None and submission.created_at > assignment.due_at
            submission.points = earned_points(assignment, submission.score or 0.0, submission.late)
            rescored += 1
    db.session.commit()
    return rescored
