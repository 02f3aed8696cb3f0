"""`?user=<username>` on GET /api/v1/assignments/<id>/variant and .../submissions: the course's instructors and
TAs read a student's numbers, seed and submissions; a student naming someone else gets 403 (naming the
parameter); someone who is not a student of the course is 404 (naming them). Also: a TA reads any submission
of the course by id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grader import service
from grader.models import Membership, User, Variant, db, utcnow
from tests.api.conftest import RIGHT, assign, bearer, make_user


@pytest.fixture
def ta(world) -> str:
    db.session.add(Membership(user=make_user("tara"), course=world.course, role="ta"))
    db.session.commit()
    return "tara"


def named(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def variant(client, assignment_id: int, who: str, query: str = ""):
    return client.get(f"/api/v1/assignments/{assignment_id}/variant{query}", headers=bearer(who))


@pytest.mark.parametrize("reader", ["teacher", "tara", "root"])
def test_staff_read_a_students_numbers_and_seed_without_storing_anything(client, world, ta, reader):
    random = assign(world.course, "gate-add")
    bob = named("bob")
    read = variant(client, random.id, reader, "?user=bob")
    assert read.status_code == 200, read.get_json()
    body = read.get_json()
    assert body["user"] == "bob" and body["seed"] == service.derive_seed(bob.id, "gate-add")
    assert db.session.scalar(select(func.count()).select_from(Variant).where(Variant.user_id == bob.id)) == 0
    own = variant(client, random.id, "bob").get_json()  # what bob himself gets: the same numbers
    assert own["inputs"] == body["inputs"] and own["params"] == body["params"] and own["upstream"] == body["upstream"]
    assert own["seed"] is None and own["user"] == "bob"  # a student is not told the seed
    alice = variant(client, random.id, reader, "?user=alice").get_json()
    assert alice["inputs"] != body["inputs"]  # somebody else's numbers


def test_the_students_attempts_and_due_date(client, world, ta):
    due = (utcnow() + timedelta(days=5)).replace(microsecond=0)
    service.set_override(world.assignment, ["bob"], due_at=due, extra_attempts=2)
    service.submit(named("bob"), world.assignment, answers={"0": "1"})
    body = variant(client, world.assignment.id, "tara", "?user=bob").get_json()
    assert body["attempts_left"] == 3 + 2 - 1 and body["due_at"].startswith(due.isoformat())
    assert variant(client, world.assignment.id, "tara").get_json()["attempts_left"] == 3  # her own, untouched


def test_a_student_may_name_only_themselves(client, world):
    for who in ("bob", "nobody", "eve"):
        response = variant(client, world.assignment.id, "alice", f"?user={who}")
        body = response.get_json()
        assert response.status_code == 403 and "`user`" in body["message"] and "user" in body["errors"], who
        listing = client.get(f"/api/v1/assignments/{world.assignment.id}/submissions?user={who}",
                             headers=bearer("alice"))
        assert listing.status_code == 403 and "user" in listing.get_json()["errors"]
    assert variant(client, world.assignment.id, "alice", "?user=alice").status_code == 200


@pytest.mark.parametrize("who", ["eve", "nobody", "teacher", "loner"])
def test_someone_not_a_student_of_the_course_is_404_naming_them(client, world, ta, who):
    for url in (f"/api/v1/assignments/{world.assignment.id}/variant?user={who}",
                f"/api/v1/assignments/{world.assignment.id}/submissions?user={who}"):
        response = client.get(url, headers=bearer("tara"))
        body = response.get_json()
        assert response.status_code == 404 and who in body["message"] and "user" in body["errors"], url


def test_staff_of_another_course_get_404(client, world):
    response = variant(client, world.assignment.id, "otherteacher", "?user=bob")
    assert response.status_code == 404 and response.get_json()["message"] == "no such assignment"


def test_staff_list_one_students_submissions(client, world, ta):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    client.post(url, json={"answers": RIGHT}, headers=bearer("alice"))
    client.post(url, json={"answers": {"0": "2"}}, headers=bearer("bob"))
    client.post(url, json={"answers": {"0": "3"}}, headers=bearer("bob"))
    bob = named("bob")
    for reader in ("teacher", "tara"):
        listed = client.get(url + "?user=bob", headers=bearer(reader)).get_json()
        assert [s["user_id"] for s in listed] == [bob.id, bob.id]
        assert len(client.get(url, headers=bearer(reader)).get_json()) == 3  # everyone's
    assert len(client.get(url + "?user=alice", headers=bearer("alice")).get_json()) == 1


def test_a_ta_reads_any_submission_of_the_course(client, world, ta):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    sid = client.post(url, json={"answers": RIGHT}, headers=bearer("alice")).get_json()["id"]
    assert client.get(f"/api/v1/submissions/{sid}", headers=bearer("tara")).status_code == 200
    for outsider in ("bob", "otherteacher", "eve"):
        assert client.get(f"/api/v1/submissions/{sid}", headers=bearer(outsider)).status_code == 404


def test_the_parameter_is_documented(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/assignments/{assignment_id}/variant", "/api/v1/assignments/{assignment_id}/submissions"):
        parameters = paths[path]["get"]["parameters"]
        user = next(p for p in parameters if p["name"] == "user")
        assert user["in"] == "query" and "TAs" in user["description"]
