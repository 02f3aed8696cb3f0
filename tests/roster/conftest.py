"""Roster fixtures: course bp101 with an instructor (ada), a TA (tom) and two students (alice, bob); course
dl201 with its own instructor (olga) and student (eve); an administrator (root) and an account in no course
(loner). Every password is "<username>-password"."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from grader.models import Course, Membership, db
from tests.service.conftest import make_user


@dataclass
class Roster:
    course: Course
    other: Course


@pytest.fixture
def roster_world(app) -> Roster:
    return build_roster()


def build_roster() -> Roster:
    course, other = Course(code="bp101", title="Backprop 101"), Course(code="dl201", title="Deep Learning 201")
    db.session.add_all([course, other])
    ada, olga = make_user("ada", role="instructor"), make_user("olga", role="instructor")
    tom, alice, bob, eve = make_user("tom"), make_user("alice"), make_user("bob"), make_user("eve")
    make_user("root", role="admin")
    make_user("loner")
    db.session.add_all([Membership(user=ada, course=course, role="instructor"),
                        Membership(user=tom, course=course, role="ta"),
                        Membership(user=alice, course=course), Membership(user=bob, course=course),
                        Membership(user=olga, course=other, role="instructor"), Membership(user=eve, course=other)])
    db.session.commit()
    return Roster(course, other)
