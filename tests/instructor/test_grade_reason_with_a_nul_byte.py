"""A manual score's reason typed with a NUL byte is a field error on the cell page (422, what was typed kept,
nothing stored or logged), not a 500 from PostgreSQL, which cannot store one. SQLite and PostgreSQL."""

from __future__ import annotations

from grader.models import GradeChange, ManualScore
from tests.instructor.problem_set_world import count, make_set, world_fixture  # noqa: F401
from tests.web.conftest import login


def test_a_reason_with_a_nul_byte_is_refused_on_its_field(client, world):
    week = make_set(world.course, "Week 1")
    login(client, "ada")
    response = client.post(f"/instructor/courses/{world.course.id}/gradebook/{week.id}/alice",
                           data={"action": "set", "points": "0.5", "reason": "typo\x00d"})
    assert response.status_code == 422, response.text[:300]
    assert "must not contain NUL bytes" in response.text and 'value="0.5"' in response.text
    assert count(ManualScore) == 0 and count(GradeChange) == 0
