"""A small class for the regrade tests: a problem set of gate-multiply (random numbers) and gate-add, students
whose answers are right, 20% off (wrong at the catalogue's 1%, right at 25%), or 0.8% off (right at 1%, wrong at
0.1%), graded through service.submit; one student with a manual score for the set."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from grader import authoring, service
from grader.exercises import load_catalogue
from grader.models import Assignment, Course, Exercise, Membership, Submission, User, db

SLUGS = ("gate-multiply", "gate-add")
# how far off each student's dL/dw is (their dL/dx is right)
OFF = {"right": 0.0, "three": 0.2, "half": 0.008, "manual": 0.2}
_documents: dict[str, dict] = {}


def documents(exercises_dir: str) -> dict[str, dict]:
    if not _documents:
        catalogue = load_catalogue(exercises_dir)
        _documents.update({slug: catalogue[slug].document for slug in SLUGS})
    return {slug: copy.deepcopy(doc) for slug, doc in _documents.items()}


@dataclass
class RegradeWorld:
    course: Course
    assignment: Assignment
    teacher: User
    ta: User
    students: dict[str, User]


def make_user(username: str, role: str = "student") -> User:
    user = User(username=username, name=username.title(), role=role,
                password_hash=generate_password_hash(f"{username}-password", method="pbkdf2:sha256:1000"))
    db.session.add(user)
    return user


def answers_for(student: User, assignment: Assignment, off: float) -> dict[str, str]:
    variant = service.variant_for(student, assignment.items[0].exercise)[1]
    dw, dx = (float(variant.expected(ask)) for ask in variant.exercise.asks)
    return {"0": repr(dw * (1 + off)), "1": repr(dx)}


def build(exercises_dir: str, extra_students: int = 0) -> RegradeWorld:
    for document in documents(exercises_dir).values():
        authoring.save_exercise(document)
    course = Course(code="rg101", title="Regrade 101")
    teacher, ta = make_user("teacher", "instructor"), make_user("ta")
    db.session.add_all([course, Membership(user=teacher, course=course, role="instructor"),
                        Membership(user=ta, course=course, role="ta")])
    names = [*OFF, *(f"x{i}" for i in range(extra_students))]
    students = {name: make_user(name) for name in names}
    db.session.add_all(Membership(user=s, course=course) for s in students.values())
    db.session.commit()
    assignment = service.create_assignment(course, [service.ItemSpec("gate-multiply", points=4),
                                                    service.ItemSpec("gate-add", points=2)], title="Gates")
    for name, student in students.items():
        service.submit(student, assignment, exercise="gate-multiply",
                       answers=answers_for(student, assignment, OFF.get(name, 0.2)))
    service.set_manual_score(teacher, assignment, "manual", 5, "graded by hand")
    return RegradeWorld(course, assignment, teacher, ta, students)


def exercise(slug: str) -> Exercise:
    return db.session.scalar(select(Exercise).where(Exercise.slug == slug))


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    db.session.expire_all()
    rows = {}
    for table in db.metadata.sorted_tables:
        rows[table.name] = sorted(tuple(repr(v) for v in r) for r in db.session.execute(select(table)))
    db.session.rollback()
    return rows


def stored_submissions() -> dict[int, tuple]:
    """Every submission's (score, points, feedback, mistakes, version), read afresh."""
    db.session.expire_all()
    return {s.id: (s.score, s.points, s.feedback, s.mistakes, s.exercise_version_id)
            for s in db.session.scalars(select(Submission))}


def kept_files(app) -> list[Path]:
    """The plans dry runs kept in the app's folder (tests/conftest.py gives each app its own)."""
    return sorted(Path(app.config["REGRADE_PLAN_STORE"]).glob("*.plan"))


def forget_kept_plans(app) -> None:
    """As if every plan had expired: a commit then grades again."""
    for path in kept_files(app):
        path.unlink()
