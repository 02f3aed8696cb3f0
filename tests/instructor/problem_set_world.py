"""A course for the problem-set and override pages' tests: the catalogue imported; bp101 with an instructor
(ada), a TA (tom) and three students (alice, bob, carol); dl201 with its own instructor (olga). Passwords are
"<username>-password". Imported by the test modules that use it (a conftest here is shared with others')."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from grader import authoring, service
from grader.models import Assignment, AssignmentOverride, Course, Membership, Submission, db
from tests.service.conftest import make_user, user

SET_URL = "/instructor/assignments/{id}"


@dataclass
class World:
    course: Course
    other: Course


@pytest.fixture(name="world")
def world_fixture(app) -> World:
    authoring.import_catalogue(app.config["EXERCISES_DIR"])
    course, other = Course(code="bp101", title="Backprop 101"), Course(code="dl201", title="Deep Learning 201")
    db.session.add_all([course, other])
    ada, olga, tom = make_user("ada", "instructor"), make_user("olga", "instructor"), make_user("tom")
    students = [make_user(name) for name in ("alice", "bob", "carol")]
    make_user("root", "admin")
    db.session.add_all([Membership(user=ada, course=course, role="instructor"),
                        Membership(user=tom, course=course, role="ta"),
                        Membership(user=olga, course=other, role="instructor")]
                       + [Membership(user=student, course=course) for student in students])
    db.session.commit()
    return World(course, other)


def make_set(course: Course, title: str, *slugs: str, **settings) -> Assignment:
    return service.create_assignment(course, [service.ItemSpec(slug, 1.0) for slug in slugs or ("gate-add",)],
                                     title=title, **settings)


def answer(username: str, assignment: Assignment) -> Submission:
    """A graded (wrong) submission to the set's first exercise."""
    return service.submit(user(username), assignment, exercise=assignment.items[0].exercise.slug,
                          answers={"0": "1", "1": "1"})


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def overrides_of(assignment_id: int) -> dict[str, AssignmentOverride]:
    db.session.expire_all()
    rows = db.session.scalars(select(AssignmentOverride).where(AssignmentOverride.assignment_id == assignment_id))
    return {o.user.username: o for o in rows}
