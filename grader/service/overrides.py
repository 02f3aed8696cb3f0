"""Exceptions for one student or a group: a later due date and/or extra attempts at each exercise of a problem
set. The service reads them wherever a submission enters (limits.check_open through submit_context); a check
on the example is never limited by due dates or attempts, so it needs none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from grader.errors import ServiceError
from grader.models import Assignment, AssignmentOverride, Membership, User, db
from grader.service.assignments import rescore_assignment

MAX_EXTRA_ATTEMPTS = 1000


def set_override(assignment: Assignment, usernames: list[str], *, due_at: datetime | None = None,
                 extra_attempts: int | None = None, by: User | None = None) -> list[AssignmentOverride]:
    """Give each of these students of the course (by username) this due date and/or these extra attempts,
    replacing what they had (a field left out keeps its value, or the set's terms for a new override). Their
    graded submissions are rescored (lateness against their own due date). 422 for someone who is not a
    student of the course, or an override that changes nothing; nothing is stored then."""
    if due_at is None and extra_attempts is None:
        raise ServiceError(422, "validation_error", "give a due date, extra attempts or both",
                           {"due_at": ["give due_at or extra_attempts"]})
    if extra_attempts is not None and not 0 <= extra_attempts <= MAX_EXTRA_ATTEMPTS:
        raise ServiceError(422, "validation_error", f"extra attempts must be from 0 to {MAX_EXTRA_ATTEMPTS}",
                           {"extra_attempts": [f"from 0 to {MAX_EXTRA_ATTEMPTS}"]})
    if not usernames:
        raise ServiceError(422, "validation_error", "choose at least one student", {"user": ["no student"]})
    students = {u.username: u for u in db.session.scalars(
        select(User).join(Membership).where(Membership.course_id == assignment.course_id,
                                            Membership.role == "student", User.username.in_(usernames)))}
    missing = [name for name in usernames if name not in students]
    if missing:
        raise ServiceError(422, "validation_error", f"not a student of this course: {', '.join(missing[:10])}",
                           {"user": ["not a student of this course"]})
    existing = {o.user_id: o for o in assignment.overrides}
    changed = []
    for name in dict.fromkeys(usernames):
        student = students[name]
        override = existing.get(student.id)
        if override is None:
            override = AssignmentOverride(assignment=assignment, user=student, extra_attempts=0,
                                          created_by=by.id if by is not None else None)
            db.session.add(override)
        if due_at is not None:
            override.due_at = due_at
        if extra_attempts is not None:
            override.extra_attempts = extra_attempts
        changed.append(override)
    db.session.flush()
    rescore_assignment(assignment)
    db.session.commit()
    return changed


def remove_override(assignment: Assignment, username: str) -> bool:
    """Take a student's override away (back to the set's terms) and rescore; False when they had none. 422 for
    someone who is not a student of the course."""
    if db.session.scalar(select(Membership.id).join(User).where(
            Membership.course_id == assignment.course_id, Membership.role == "student",
            User.username == username)) is None:
        raise ServiceError(422, "validation_error", f"not a student of this course: {username}",
                           {"user": ["not a student of this course"]})
    override = next((o for o in assignment.overrides if o.user.username == username), None)
    if override is None:
        return False
    assignment.overrides.remove(override)
    db.session.flush()
    rescore_assignment(assignment)
    db.session.commit()
    return True


def override_rows(assignment: Assignment) -> list[tuple[AssignmentOverride, str | None]]:
    """The set's overrides by student username, each with who gave it (None: the command line, or an account
    since deleted)."""
    overrides = sorted(assignment.overrides, key=lambda o: o.user.username)
    givers = {o.created_by for o in overrides if o.created_by is not None}
    names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(givers))).all()) if givers else {}
    return [(o, names.get(o.created_by)) for o in overrides]
