"""Points per student and problem set (the sum of what each of its exercises earns, best or last graded
attempt per exercise as the set says): one student's, and a whole course's in a constant number of queries.

A course's gradebook has a cell per student and (unarchived) problem set: the points that count (a manual score
where one is set, else what the submissions earn, which is kept too), whether a counted submission was late,
the graded attempts used, and the student's override of the set, if any. Manual scores themselves, their log
and the CSV export are grader.service.manual_scores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from grader.models import (
    Assignment,
    AssignmentOverride,
    Course,
    ManualScore,
    Membership,
    Submission,
    User,
    db,
)


def item_scores(user: User, assignment: Assignment) -> dict[int, float]:
    """Points earned per item of the set (by item id), where anything was graded: the best or the last graded
    attempt, as the set says. Two queries whatever the size of the set."""
    graded = (Submission.assignment_id == assignment.id, Submission.user_id == user.id,
              Submission.attempt.is_not(None))
    if assignment.scoring == "last":
        last = (select(Submission.item_id, func.max(Submission.attempt).label("n")).where(*graded)
                .group_by(Submission.item_id).subquery())
        rows = db.session.execute(select(Submission.item_id, Submission.points).join(
            last, (Submission.item_id == last.c.item_id) & (Submission.attempt == last.c.n)).where(*graded))
    else:
        rows = db.session.execute(select(Submission.item_id, func.max(Submission.points)).where(*graded)
                                  .group_by(Submission.item_id))
    return {item_id: value or 0.0 for item_id, value in rows}


def assignment_score(user: User, assignment: Assignment) -> float | None:
    """Points earned at the problem set: the sum over its exercises (None while nothing is graded)."""
    scores = item_scores(user, assignment)
    return round(sum(scores.values()), 6) if scores else None


@dataclass(slots=True)
class Cell:
    """One student's standing at one problem set."""

    earned: float | None = None  # what the submissions earn (None: nothing graded)
    late: bool = False  # a submission that counts was late
    attempts: int = 0  # graded attempts, summed over the set's exercises
    manual: float | None = None  # a manual score, in place of `earned`
    override: bool = False  # the student has an override of the set...
    override_due: datetime | None = None  # ...with this due date (None: the set's)
    extra_attempts: int = 0  # ...and these extra attempts per exercise

    @property
    def points(self) -> float | None:
        """What counts: the manual score where set, else what the submissions earn."""
        return self.manual if self.manual is not None else self.earned


EMPTY = Cell()


@dataclass
class Gradebook:
    """A course's students (by username) and problem sets (in course order), with a cell for each pair."""

    assignments: list[Assignment]
    students: list[User]
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)  # (user id, assignment id) -> cell
    possible: dict[int, float] = field(default_factory=dict)  # assignment id -> its points, in course order

    def __post_init__(self) -> None:
        if not self.possible:
            self.possible = {a.id: a.points for a in self.assignments}

    def cell(self, student: User | int, assignment: Assignment | int) -> Cell:
        key = (getattr(student, "id", student), getattr(assignment, "id", assignment))
        return self.cells.get(key, EMPTY)  # type: ignore[arg-type]

    def score(self, student: User, assignment: Assignment) -> float | None:
        return self.cell(student, assignment).points

    def total(self, student: User | int) -> float:
        uid, cells = getattr(student, "id", student), self.cells
        return round(sum(cells[(uid, aid)].points or 0.0 for aid in self.possible if (uid, aid) in cells), 6)

    @property
    def possible_total(self) -> float:
        return round(sum(self.possible.values()), 6)


def course_assignments(course: Course | int) -> list[Assignment]:
    """The course's problem sets that count (archived ones are retired), in course order: position, due date
    (none last), id; their items loaded along (two queries)."""
    course_id = getattr(course, "id", course)
    return list(db.session.scalars(
        select(Assignment).options(selectinload(Assignment.items))
        .where(Assignment.course_id == course_id, Assignment.archived.is_(False))
        .order_by(Assignment.position, Assignment.due_at.is_(None), Assignment.due_at, Assignment.id)))


def _students(course_id: int, usernames: Iterable[str] | None = None) -> list[User]:
    query = (select(User).join(Membership).where(Membership.course_id == course_id, Membership.role == "student")
             .order_by(User.username))
    if usernames is not None:
        query = query.where(User.username.in_(list(usernames)))
    return list(db.session.scalars(query))


def _fill(cells: dict[tuple[int, int], Cell], assignments: list[Assignment], user_ids: set[int],
          user_id: int | None = None, only: list[int] | None = None) -> None:
    """Three grouped queries whatever the number of students: the submissions summed per (student, set) in
    the database (from each exercise's best or last graded attempt, as the set says), the overrides and the
    manual scores. Only a row per cell comes back, not one per submission. `user_id` or `only` (ids) limit
    the queries to those students (the course's are kept anyway: `user_ids`)."""
    ids = [a.id for a in assignments]
    if not ids:
        return
    by_last = [a.id for a in assignments if a.scoring == "last"]
    key = (Submission.user_id, Submission.assignment_id, Submission.item_id)
    where = [Submission.assignment_id.in_(ids), Submission.attempt.is_not(None)]
    if user_id is not None:
        where.append(Submission.user_id == user_id)
    if only is not None:
        where.append(Submission.user_id.in_(only))
    points = func.coalesce(Submission.points, 0.0)
    per_item = (select(*key, func.max(points).label("best"),
                       # the best points without lateness: lower than the best means the best was late
                       func.max(case((Submission.late.is_(False), points))).label("on_time"),
                       func.count().label("attempts"), func.max(Submission.attempt).label("n"))
                .where(*where).group_by(*key).subquery())
    scored_last = per_item.c.assignment_id.in_(by_last)
    earned = case((scored_last, points), else_=per_item.c.best)
    late = case((scored_last, case((Submission.late.is_(True), 1), else_=0)),
                else_=case((per_item.c.on_time.is_(None) | (per_item.c.on_time < per_item.c.best), 1), else_=0))
    rows = db.session.execute(
        select(per_item.c.user_id, per_item.c.assignment_id, func.sum(earned), func.max(late),
               func.sum(per_item.c.attempts))
        .join(Submission, (Submission.user_id == per_item.c.user_id) & (Submission.item_id == per_item.c.item_id)
              & (Submission.attempt == per_item.c.n))  # the last graded attempt at each exercise
        .group_by(per_item.c.user_id, per_item.c.assignment_id))
    for uid, aid, total, any_late, attempts in rows:
        if uid in user_ids:  # not a TA or instructor trying the set, or someone no longer enrolled
            cells[(uid, aid)] = Cell(earned=round(total or 0.0, 6), late=bool(any_late), attempts=int(attempts))

    def cell(uid: int, aid: int) -> Cell:
        found = cells.get((uid, aid))
        if found is None:
            found = cells[(uid, aid)] = Cell()
        return found

    for model in (AssignmentOverride, ManualScore):
        query = select(model).where(model.assignment_id.in_(ids))
        if user_id is not None:
            query = query.where(model.user_id == user_id)
        if only is not None:
            query = query.where(model.user_id.in_(only))
        for row in db.session.scalars(query):
            if row.user_id not in user_ids:
                continue
            target = cell(row.user_id, row.assignment_id)
            if isinstance(row, ManualScore):
                target.manual = row.points
            else:
                target.override, target.override_due, target.extra_attempts = True, row.due_at, row.extra_attempts


def gradebook(course: Course) -> Gradebook:
    """Every student's cell per problem set (points as assignment_score counts them, late, attempts, override,
    manual score), in seven queries whatever the size of the course: the sets and their items, the students,
    the submissions grouped per (student, item), the overrides and the manual scores."""
    assignments = course_assignments(course)
    students = _students(course.id)
    cells: dict[tuple[int, int], Cell] = {}
    _fill(cells, assignments, {s.id for s in students})
    return Gradebook(assignments, students, cells, {a.id: a.points for a in assignments})


class SetColumn(NamedTuple):
    """A problem set as a gradebook column, in plain values (an export that commits its progress between
    chunks of students expires no ORM object it still reads)."""

    id: int
    title: str
    points: float
    scoring: str


class StudentRow(NamedTuple):
    id: int
    username: str
    name: str | None
    email: str | None


def course_columns(course: Course) -> tuple[list[SetColumn], list[StudentRow]]:
    """The gradebook's columns and students (by username), as plain values: three queries."""
    sets = [SetColumn(a.id, a.title, a.points, a.scoring) for a in course_assignments(course)]
    rows = db.session.execute(select(User.id, User.username, User.name, User.email).join(Membership).where(
        Membership.course_id == course.id, Membership.role == "student").order_by(User.username))
    return sets, [StudentRow(*row) for row in rows]


def gradebook_of(sets: list[SetColumn], students: list[StudentRow], *, only_these: bool = False) -> Gradebook:
    """The gradebook of these students at these sets (a chunk of a course's, with `only_these`: the three
    queries ask for these students' rows alone)."""
    cells: dict[tuple[int, int], Cell] = {}
    ids = [s.id for s in students]
    _fill(cells, sets, set(ids), only=ids if only_these else None)  # type: ignore[arg-type]
    return Gradebook(sets, students, cells, {a.id: a.points for a in sets})  # type: ignore[arg-type]


def gradebook_cell(assignment: Assignment, student: User) -> Cell:
    """One student's cell at one problem set, counted as the course's gradebook counts it."""
    cells: dict[tuple[int, int], Cell] = {}
    _fill(cells, [assignment], {student.id}, user_id=student.id)
    return cells.get((student.id, assignment.id), Cell())


SORTS = ("name", "username", "total")  # or "a<assignment id>": that set's column


def arrange(book: Gradebook, *, sort: str = "name", descending: bool = False, text: str = "",
            only_late: bool = False, only_overrides: bool = False, only_manual: bool = False) -> list[User]:
    """The gradebook's students, filtered (name or username contains `text`, case-insensitive; with a late
    cell, an override or a manual score) and sorted (by name, username, total or one set's points: "a<id>";
    an unknown sort is by name). Ties keep username order."""
    needle = text.strip().casefold()
    ids = [a.id for a in book.assignments]
    flags = [(only_late, lambda c: c.late), (only_overrides, lambda c: c.override),
             (only_manual, lambda c: c.manual is not None)]
    wanted = [test for on, test in flags if on]
    rows = []
    for student in book.students:
        if needle and needle not in student.username.casefold() and needle not in (student.name or "").casefold():
            continue
        if wanted:
            cells = [book.cells[(student.id, aid)] for aid in ids if (student.id, aid) in book.cells]
            if not all(any(test(c) for c in cells) for test in wanted):
                continue
        rows.append(student)
    digits = sort[1:] if sort[:1] == "a" and sort[1:].isascii() else ""  # "²".isdigit(), yet int() refuses it
    column = int(digits) if digits.isdigit() and int(digits) in ids else None
    if sort == "username":
        return sorted(rows, key=lambda s: s.username, reverse=descending)
    if sort == "total":
        key = book.total
    elif column is not None:
        # never graded sorts below zero points either way round: -1 ranks it first ascending, last descending
        key = lambda s: -1.0 if (p := book.cell(s, column).points) is None else p  # noqa: E731
    else:
        key = lambda s: (s.name or "").casefold()  # noqa: E731
    # the students come in username order and the sort is stable (reversed too): ties stay in that order
    return sorted(rows, key=key, reverse=descending)


def group_by_student(cells: dict[tuple[int, int], Cell]) -> dict[int, dict[int, Cell]]:
    """user id -> assignment id -> cell (a page's rows)."""
    rows: dict[int, dict[int, Cell]] = defaultdict(dict)
    for (uid, aid), cell in cells.items():
        rows[uid][aid] = cell
    return rows
