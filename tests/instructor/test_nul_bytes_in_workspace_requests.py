"""A NUL byte in a workspace address, query or form (no field stores one, and PostgreSQL cannot even compare
one) is a 400, as in the API, not a 500 from the database; nothing is stored. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from grader.models import Assignment, Course, GradeChange
from tests.instructor.problem_set_world import SET_URL, count, make_set, world_fixture  # noqa: F401
from tests.instructor.test_problem_set_pages import FORM, new_url
from tests.web.conftest import login


@pytest.mark.parametrize(("method", "path", "data"), [
    ("get", "/instructor/courses/{c}/gradebook/{a}/a%00b", None),
    ("post", "/instructor/courses/{c}/gradebook/{a}/alice", {"action": "set", "points": "1", "reason": "a\x00"}),
    ("get", "/instructor/courses/{c}/students/a%00b", None),
    ("post", SET_URL + "/overrides", {"user": ["alice", "a\x00b"], "extra_attempts": "1"}),
    ("post", SET_URL + "/overrides/a%00b/remove", {}),
    ("post", "/instructor/courses/{c}/assignments/new", {**FORM, "title": "a\x00b"}),
    ("post", SET_URL + "/edit", {**FORM, "title": "a\x00b"}),
    ("post", "/instructor/courses", {"code": "zz1", "title": "x\x00"}),
    ("post", "/instructor/courses/{c}/title", {"title": "x\x00"}),
    ("get", "/instructor/exercises/a%00b/edit", None),
    ("get", "/instructor/courses/{c}/gradebook?q=a%00b", None),
])
def test_a_nul_byte_is_a_400_and_stores_nothing(client, world, method, path, data):
    week = make_set(world.course, "Week 1")
    login(client, "ada")
    url = path.format(c=world.course.id, a=week.id, id=week.id)
    response = getattr(client, method)(url, data=data)
    assert response.status_code == 400, response.text[:300]
    assert "NUL bytes are not allowed" in response.text
    assert (count(Assignment), count(Course), count(GradeChange)) == (1, 2, 0)
    assert world.course.title == "Backprop 101"


def test_the_forms_still_work_without_one(client, world):
    login(client, "ada")
    assert client.post(new_url(world), data=FORM).status_code == 302
