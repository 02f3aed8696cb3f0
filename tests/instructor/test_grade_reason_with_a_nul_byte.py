"""A manual score's reason with a NUL byte, which PostgreSQL cannot store: the service refuses it on its field
(422, for every caller), and the workspace's pages refuse any form with one (400) before it gets there; nothing
is stored or logged either way. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from grader import service
from grader.errors import ServiceError
from grader.models import GradeChange, ManualScore, User, db
from tests.instructor.problem_set_world import count, make_set, world_fixture  # noqa: F401
from tests.web.conftest import login


def test_the_service_refuses_a_reason_with_a_nul_byte_on_its_field(world):
    week = make_set(world.course, "Week 1")
    ada = db.session.query(User).filter_by(username="ada").one()
    with pytest.raises(ServiceError) as refused:
        service.set_manual_score(ada, week, "alice", 0.5, "typo\x00d")
    assert refused.value.status == 422 and "reason" in refused.value.errors
    assert count(ManualScore) == 0 and count(GradeChange) == 0


def test_the_cell_page_refuses_a_form_with_a_nul_byte(client, world):
    week = make_set(world.course, "Week 1")
    login(client, "ada")
    response = client.post(f"/instructor/courses/{world.course.id}/gradebook/{week.id}/alice",
                           data={"action": "set", "points": "0.5", "reason": "typo\x00d"})
    assert response.status_code == 400 and "NUL bytes are not allowed" in response.text
    assert count(ManualScore) == 0 and count(GradeChange) == 0
