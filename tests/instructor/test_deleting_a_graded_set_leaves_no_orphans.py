"""Deleting an archived problem set that had a manual score takes its manual scores and grade-log entries
with it on SQLite too (whose foreign keys do not cascade), as PostgreSQL's ON DELETE CASCADE does: the grade
log (page and API) still answers, with no entry pointing at a set that is gone. SQLite and PostgreSQL."""

from __future__ import annotations

from grader import service
from grader.models import GradeChange, ManualScore
from tests.api.conftest import bearer
from tests.instructor.problem_set_world import count, make_set, world_fixture  # noqa: F401
from tests.service.conftest import user
from tests.web.conftest import login


def test_the_grade_log_answers_after_a_set_with_a_manual_score_is_deleted(client, world):
    gone, kept = make_set(world.course, "Gone"), make_set(world.course, "Kept", position=1)
    service.set_manual_score(user("ada"), gone, "alice", 1, "regraded by hand")
    service.set_manual_score(user("ada"), kept, "bob", 0.5, "half")
    service.update_assignment(gone, {"archived": True})
    service.delete_assignment(gone)
    assert (count(ManualScore), count(GradeChange)) == (1, 1)
    login(client, "ada")
    page = client.get(f"/instructor/courses/{world.course.id}/gradebook/log")
    assert page.status_code == 200 and "half" in page.text and "regraded by hand" not in page.text
    api = client.get(f"/api/v1/courses/{world.course.id}/grade-log", headers=bearer("ada"))
    assert api.status_code == 200 and [c["reason"] for c in api.get_json()] == ["half"]
