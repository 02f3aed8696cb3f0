"""The gradebook API: the JSON cells (late, attempts, override, manual) and possible total, the CSV, manual
scores set and removed with a reason (PUT/DELETE a cell), the grade log (paged, filtered); TAs may do all of it,
students get 403, outsiders 404."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from grader import service
from grader.models import GradeChange, ManualScore, Membership, User, db
from tests.api.conftest import RIGHT, assign, bearer, count, make_user


def _submit(client, world) -> None:
    response = client.post(f"/api/v1/assignments/{world.assignment.id}/submissions", json={"answers": RIGHT},
                           headers=bearer("alice"))
    assert response.status_code == 201 and response.get_json()["points"] == 10


def _cell_url(world, username: str = "alice", assignment=None) -> str:
    return f"/api/v1/courses/{world.course.id}/gradebook/{(assignment or world.assignment).id}/{username}"


def test_the_json_has_cells_with_marks_and_the_possible_total(client, world):
    _submit(client, world)
    service.set_override(world.assignment, ["bob"], extra_attempts=2)
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    service.set_manual_score(teacher, world.assignment, "bob", 3, "oral exam")
    book = client.get(f"/api/v1/courses/{world.course.id}/gradebook", headers=bearer("teacher")).get_json()
    aid = str(world.assignment.id)
    rows = {r["username"]: r for r in book["students"]}
    assert book["possible"] == 10 and book["assignments"] == [{"id": world.assignment.id,
                                                               "title": world.assignment.title, "points": 10}]
    assert rows["alice"]["scores"] == {aid: 10} and rows["alice"]["total"] == 10
    assert rows["alice"]["cells"][aid] == {"assignment_id": world.assignment.id, "user": "alice", "points": 10,
                                           "earned": 10, "manual": None, "late": False, "attempts": 1,
                                           "override": None, "possible": 10}
    bob = rows["bob"]["cells"][aid]
    assert (bob["points"], bob["earned"], bob["manual"], bob["attempts"]) == (3, None, 3, 0)
    assert bob["override"] == {"due_at": None, "extra_attempts": 2} and rows["bob"]["total"] == 3


def test_the_csv_is_an_attachment_named_after_the_course(client, world):
    _submit(client, world)
    response = client.get(f"/api/v1/courses/{world.course.id}/gradebook?format=csv", headers=bearer("teacher"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="gradebook-bp101.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [["username", "name", "email", f"{world.assignment.title} (id {world.assignment.id})", "total"],
                    ["alice", "Alice", "", "10", "10"], ["bob", "Bob", "", "", "0"]]
    bad = client.get(f"/api/v1/courses/{world.course.id}/gradebook?format=xls", headers=bearer("teacher"))
    assert bad.status_code == 422 and "format" in bad.get_json()["errors"]


@pytest.mark.parametrize("who", ["teacher", "tom"])
def test_staff_set_and_remove_a_manual_score_and_the_log_keeps_both(client, world, who):
    tom = make_user("tom")
    db.session.add(Membership(user=tom, course=world.course, role="ta"))
    db.session.commit()
    _submit(client, world)
    url = _cell_url(world)
    cell = client.put(url, json={"points": 4, "reason": "shared code"}, headers=bearer(who))
    assert cell.status_code == 200, cell.get_json()
    assert {k: cell.get_json()[k] for k in ("points", "earned", "manual", "user")} == {
        "points": 4, "earned": 10, "manual": 4, "user": "alice"}
    assert client.delete(url, json={"reason": "appeal"}, headers=bearer(who)).status_code == 204
    assert client.delete(url + "?reason=again", headers=bearer(who)).status_code == 204  # nothing left: no entry
    log = client.get(f"/api/v1/courses/{world.course.id}/grade-log", headers=bearer(who))
    assert log.status_code == 200 and json.loads(log.headers["X-Pagination"])["total"] == 2
    assert [(c["old_points"], c["new_points"], c["reason"], c["actor"], c["user"]) for c in log.get_json()] == [
        (4, None, "appeal", who, "alice"), (None, 4, "shared code", who, "alice")]
    assert count(ManualScore) == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"points": 11, "reason": "why"}, "points"),
    ({"points": -1, "reason": "why"}, "points"),
    ({"points": 4, "reason": "  "}, "reason"),
    ({"points": 4, "reason": ""}, "reason"),
    ({"points": 4, "reason": "x" * 2001}, "reason"),
    ({"points": 4}, "reason"),
    ({"reason": "why"}, "points"),
    ({"points": 4, "reason": "why", "extra": 1}, "extra"),
])
def test_bad_bodies_are_422_naming_the_field(client, world, body, field):
    response = client.put(_cell_url(world), json=body, headers=bearer("teacher"))
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()
    assert count(GradeChange) == 0


def test_the_user_must_be_a_student_of_the_course_and_the_set_of_it(client, world):
    for username in ("teacher", "eve", "nobody"):
        response = client.put(_cell_url(world, username), json={"points": 1, "reason": "why"},
                              headers=bearer("teacher"))
        assert response.status_code == 422 and "user" in response.get_json()["errors"], username
    elsewhere = assign(world.other)
    response = client.put(_cell_url(world, assignment=elsewhere), json={"points": 1, "reason": "why"},
                          headers=bearer("teacher"))
    assert response.status_code == 404
    no_reason = client.delete(_cell_url(world), headers=bearer("teacher"))
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    assert count(GradeChange) == 0


def test_students_get_403_and_outsiders_404(client, world):
    url = _cell_url(world, "bob")
    assert client.put(url, json={"points": 1, "reason": "me"}, headers=bearer("alice")).status_code == 403
    assert client.put(url, json={"points": 1, "reason": "me"}, headers=bearer("otherteacher")).status_code == 404
    assert client.get(f"/api/v1/courses/{world.course.id}/grade-log", headers=bearer("alice")).status_code == 403
    assert client.get(f"/api/v1/courses/{world.course.id}/gradebook", headers=bearer("eve")).status_code == 404
    assert count(ManualScore) == 0


def test_the_grade_log_is_paged_and_filtered(client, world):
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    other = assign(world.course, "gate-add", points=2)
    for i in range(3):
        service.set_manual_score(teacher, world.assignment, "alice", i, f"alice {i}")
    service.set_manual_score(teacher, other, "bob", 1, "bob at gate-add")
    url = f"/api/v1/courses/{world.course.id}/grade-log"
    page = client.get(url + "?page=1&page_size=2", headers=bearer("teacher"))
    assert [c["reason"] for c in page.get_json()] == ["bob at gate-add", "alice 2"]
    assert json.loads(page.headers["X-Pagination"])["total_pages"] == 2
    assert [c["reason"] for c in client.get(url + "?user=alice&page_size=10", headers=bearer("teacher")
                                            ).get_json()] == ["alice 2", "alice 1", "alice 0"]
    only = client.get(f"{url}?assignment={other.id}", headers=bearer("teacher")).get_json()
    assert [(c["assignment_id"], c["assignment"], c["user"]) for c in only] == [(other.id, other.title, "bob")]


def test_tokens_can_be_made_with_the_gradebook_write_scope(client, world):
    made = client.post("/api/v1/tokens", json={"name": "grading", "scopes": ["gradebook:read", "gradebook:write"]},
                       headers=bearer("teacher"))
    assert made.status_code == 201 and made.get_json()["scopes"] == ["gradebook:read", "gradebook:write"]
    headers = {"Authorization": f"Bearer {made.get_json()['token']}"}
    assert client.put(_cell_url(world), json={"points": 1, "reason": "why"}, headers=headers).status_code == 200
    reader = bearer("teacher", ["gradebook:read"])
    refused = client.put(_cell_url(world), json={"points": 2, "reason": "why"}, headers=reader)
    assert refused.status_code == 403 and refused.get_json()["code"] == "missing_scope"
