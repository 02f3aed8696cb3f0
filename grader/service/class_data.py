"""What a class did at a problem set, loaded for the statistics and the mistake tallies (grader.service.statistics
and grader.service.tallies do the counting; this module only reads), and the statistics as a CSV file.

Only the course's students count (staff trying a set are left out, as in the gradebook), and only graded
submissions (a format error or an infrastructure failure used no attempt). Read at request time: nothing is
cached, so a regrade shows at once.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grader.authoring import definition_of
from grader.errors import ServiceError
from grader.models import Assignment, AssignmentItem, Membership, Submission, User, Variant, db
from grader.service.manual_scores import require_grader
from grader.service.statistics import Attempt, ItemInfo, Measure, SetStatistics, set_statistics
from grader.service.tallies import Answered, ItemTally, drill_down, item_tally


@dataclass
class ClassResults:
    assignment: Assignment
    items: list[ItemInfo]
    attempts: list[Attempt]
    answered: dict[int, list[Answered]]  # item id -> graded submissions with their feedback
    opened: dict[tuple[int, int], datetime]  # (user id, item id) -> the variant's creation
    students: dict[int, User]  # who submitted, by id


def staff_assignment(actor: User, assignment_id: int) -> Assignment:
    """The problem set, for its course's staff: 404 when there is none or the actor is outside the course,
    403 for a student of it."""
    assignment = db.session.scalar(select(Assignment).where(Assignment.id == assignment_id).options(
        selectinload(Assignment.items).selectinload(AssignmentItem.exercise)))
    if assignment is None:
        raise ServiceError(404, "not_found", "no such assignment")
    try:
        require_grader(actor, assignment.course)
    except ServiceError as exc:
        if exc.status == 404:
            raise ServiceError(404, "not_found", "no such assignment") from None
        raise ServiceError(403, "forbidden", "only the course's instructors and TAs see its statistics") from None
    return assignment


def item_infos(assignment: Assignment) -> list[ItemInfo]:
    return [ItemInfo(item.id, item.exercise.slug, item.exercise.title, item.exercise.kind, item.points)
            for item in assignment.items]


def class_results(assignment: Assignment, *, with_feedback: bool = True) -> ClassResults:
    """Three queries: the graded submissions of the course's students (with their feedback only where the
    tallies need it), those students, and their variants of the set's exercises."""
    is_student = select(Membership.user_id).where(Membership.course_id == assignment.course_id,
                                                  Membership.role == "student")
    columns = [Submission.id, Submission.user_id, Submission.item_id, Submission.attempt, Submission.points,
               Submission.score, Submission.created_at, Submission.kind]
    if with_feedback:
        columns.append(Submission.feedback)
    rows = db.session.execute(select(*columns).where(
        Submission.assignment_id == assignment.id, Submission.attempt.is_not(None),
        Submission.status == "graded", Submission.user_id.in_(is_student))
        .order_by(Submission.user_id, Submission.item_id, Submission.attempt)).all()
    attempts, answered = [], {item.id: [] for item in assignment.items}
    for row in rows:
        attempts.append(Attempt(row.id, row.user_id, row.item_id, row.attempt, row.points or 0.0, row.created_at))
        if with_feedback and row.item_id in answered:
            answered[row.item_id].append(Answered(row.id, row.user_id, row.attempt, row.created_at, row.score,
                                                  row.kind, row.feedback or {}))
    user_ids = {a.user_id for a in attempts}
    students = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    item_of_exercise = {item.exercise_id: item.id for item in assignment.items}
    opened = {}
    if user_ids:
        for uid, exercise_id, created in db.session.execute(select(
                Variant.user_id, Variant.exercise_id, Variant.created_at).where(
                Variant.user_id.in_(user_ids), Variant.exercise_id.in_(list(item_of_exercise)))):
            opened[(uid, item_of_exercise[exercise_id])] = created
    return ClassResults(assignment, item_infos(assignment), attempts, answered, opened, students)


def assignment_statistics(assignment: Assignment) -> SetStatistics:
    results = class_results(assignment, with_feedback=False)
    return set_statistics(results.items, results.attempts, results.opened, scoring=assignment.scoring)


def ask_labels(item: AssignmentItem) -> list[str]:
    """A numeric exercise's ask labels in order (its current version's); none for code."""
    if item.exercise.kind != "numeric":
        return []
    return [ask.label for ask in definition_of(item.exercise.current).asks]


def item_of_set(assignment: Assignment, item_id: int) -> AssignmentItem:
    item = next((i for i in assignment.items if i.id == item_id), None)
    if item is None:
        raise ServiceError(404, "not_found", "no such exercise in this problem set")
    return item


def mistake_tallies(assignment: Assignment, results: ClassResults | None = None) -> list[ItemTally]:
    """The tallies of every exercise of the set, in the set's order."""
    results = results or class_results(assignment)
    infos = {info.id: info for info in results.items}
    return [item_tally(infos[item.id], results.answered[item.id], ask_labels(item)) for item in assignment.items]


def mistake_students(assignment: Assignment, item_id: int, quantity: str, mistake: str
                     ) -> tuple[AssignmentItem, list[tuple[User, list[Answered]]]]:
    """The students whose submissions at one exercise name `mistake` at `quantity`, with those submissions
    (by username)."""
    item = item_of_set(assignment, item_id)
    results = class_results(assignment)
    found = drill_down(results.answered[item.id], quantity, mistake, ask_labels(item))
    return item, sorted(((results.students[uid], subs) for uid, subs in found.items()),
                        key=lambda pair: pair[0].username)


# --- the CSV file ------------------------------------------------------------------------------------------

def _cell(measure: Measure | float | int | None) -> tuple[str, str]:
    if isinstance(measure, Measure):
        return ("" if measure.value is None else f"{measure.value:.6g}"), measure.why or ""
    return ("" if measure is None else f"{measure:.6g}"), ""


def statistics_rows(stats: SetStatistics) -> list[tuple[str, str, str, str]]:
    """(scope, measure, value, why absent): one row per number; fractions of the most that can be earned."""
    rows: list[tuple[str, str, str, str]] = []

    def add(scope: str, name: str, value: Measure | float | int | None) -> None:
        rows.append((scope, name, *_cell(value)))

    t = stats.totals
    add("set", "students", t.students)
    for name, value in (("mean", t.mean), ("median", t.median), ("sd", t.sd), ("min", t.minimum),
                        ("max", t.maximum), ("at_0", t.at_zero), ("at_100", t.at_full),
                        ("first_attempt_mean", stats.first_mean), ("best_attempt_mean", stats.best_mean),
                        ("last_attempt_mean", stats.last_mean), ("attempts_mean", stats.attempts_mean),
                        ("attempts_median", stats.attempts_median),
                        ("seconds_to_first_attempt_median", stats.time_to_first.median)):
        add("set", name, value)
    for s in stats.items:
        scope, d = s.item.slug, s.scores
        add(scope, "students", d.students)
        for name, value in (("mean", d.mean), ("median", d.median), ("sd", d.sd), ("min", d.minimum),
                            ("max", d.maximum), ("at_0", d.at_zero), ("at_100", d.at_full),
                            ("first_attempt_mean", s.first_mean), ("best_attempt_mean", s.best_mean),
                            ("last_attempt_mean", s.last_mean), ("attempts_mean", s.attempts_mean),
                            ("attempts_median", s.attempts_median), ("attempts_max", s.attempts_max),
                            ("facility", s.facility), ("first_attempt_sd", s.first_sd),
                            ("discrimination_index", s.discrimination), ("discriminative_efficiency", s.efficiency),
                            ("dubious", int(s.dubious)),
                            ("seconds_to_first_attempt_median", s.time_to_first.median)):
            add(scope, name, value)
        for a in s.by_attempt:
            add(scope, f"attempt_{a.number}_mean", a.mean)
        for fifth in s.quintiles:
            add(scope, f"{fifth.label.replace(' ', '_')}_mean", fifth.mean)
        if s.quintiles_why:
            rows.append((scope, "quintiles", "", s.quintiles_why))
    return rows


def statistics_csv(stats: SetStatistics) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("scope", "measure", "value", "why_absent"))
    writer.writerows(statistics_rows(stats))
    return out.getvalue()


def statistics_filename(assignment: Assignment) -> str:
    """In characters safe in a Content-Disposition header (Latin-1, no quote), as the gradebook CSV's name."""
    return f"statistics-{re.sub(r'[^A-Za-z0-9._-]', '_', assignment.course.code)}-set-{assignment.id}.csv"
