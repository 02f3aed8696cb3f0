"""The roster API's shapes and refusals: POST /courses (201, you its instructor), PATCH /courses/<id>,
POST /users (a password, or a one-time link; only an administrator makes staff accounts), and memberships
changed and removed. Every refusal is a clear 4xx with {code, message, errors}."""

from __future__ import annotations

from sqlalchemy import select

from grader.models import Membership, User, db
from tests.api.conftest import bearer, seed_world


def test_creating_a_course_makes_the_caller_its_instructor(app, client):
    seed_world(app.config["EXERCISES_DIR"], only=("seed-two-layer-w1-22",))
    response = client.post("/api/v1/courses", json={"code": "ml301", "title": "Machine Learning"},
                           headers=bearer("teacher"))
    assert response.status_code == 201
    course = response.get_json()
    assert course["code"] == "ml301" and course["role"] == "instructor"
    members = client.get(f"/api/v1/courses/{course['id']}/memberships", headers=bearer("teacher")).get_json()
    assert [(m["username"], m["role"]) for m in members] == [("teacher", "instructor")]
    renamed = client.patch(f"/api/v1/courses/{course['id']}", json={"title": "ML"}, headers=bearer("teacher"))
    assert renamed.status_code == 200 and renamed.get_json()["title"] == "ML"
    again = client.post("/api/v1/courses", json={"code": "ml301", "title": "Again"}, headers=bearer("teacher"))
    assert again.status_code == 409 and again.get_json()["errors"] == {"code": ["already taken"]}


def test_a_new_user_gets_a_working_password_or_a_one_time_link(app, client):
    seed_world(app.config["EXERCISES_DIR"], only=("seed-two-layer-w1-22",))
    with_password = client.post("/api/v1/users", json={"username": "ada", "name": "Ada", "email": "ada@example.org",
                                                       "role": "student", "password": "ada-password"},
                                headers=bearer("teacher", ["users:write"]))
    assert with_password.status_code == 201
    assert with_password.get_json() == {"id": with_password.get_json()["id"], "username": "ada", "name": "Ada",
                                        "email": "ada@example.org", "role": "student", "sign_in_url": None}
    assert client.post("/login", data={"username": "ada", "password": "ada-password"}).status_code == 302
    client.post("/logout")
    linked = client.post("/api/v1/users", json={"username": "bea", "name": "Bea", "email": "b@example.org",
                                                "role": "student"}, headers=bearer("teacher", ["users:write"]))
    url = linked.get_json()["sign_in_url"]
    assert linked.status_code == 201 and url.startswith("http://localhost/sign-in/")
    assert client.post(url.removeprefix("http://localhost")).status_code == 302
    assert client.post(url.removeprefix("http://localhost")).status_code == 400  # once only


def test_user_creation_refusals(app, client):
    seed_world(app.config["EXERCISES_DIR"], only=("seed-two-layer-w1-22",))
    cases = [({"username": "alice", "name": "A", "email": "a@example.org", "role": "student"}, 409, "username"),
             ({"username": "bad name", "name": "A", "email": "a@example.org"}, 422, "username"),
             ({"username": "x", "name": "A", "email": "not-mail"}, 422, "email"),
             ({"username": "x", "name": "A", "email": "a@example.org", "role": "god"}, 422, "role"),
             ({"username": "x", "name": "A", "email": "a@example.org", "password": "short"}, 422, "password"),
             ({"username": "x", "name": "A", "email": "a@example.org", "role": "instructor"}, 403, "role"),
             ({"username": "x", "name": "A", "email": "a@example.org", "extra": 1}, 422, "extra")]
    for body, status, field in cases:
        response = client.post("/api/v1/users", json=body, headers=bearer("teacher"))
        assert response.status_code == status, body
        assert field in response.get_json()["errors"] or field in str(response.get_json()["errors"]), body
    # an administrator makes staff accounts
    made = client.post("/api/v1/users", json={"username": "prof", "name": "Prof", "email": "p@example.org",
                                              "role": "instructor"}, headers=bearer("root"))
    assert made.status_code == 201 and made.get_json()["role"] == "instructor"


def test_memberships_change_and_go_and_the_last_instructor_stays(app, client):
    world = seed_world(app.config["EXERCISES_DIR"], only=("seed-two-layer-w1-22",))
    base = f"/api/v1/courses/{world.course.id}/memberships"
    enrolled = client.post(base, json={"username": "loner", "role": "ta"}, headers=bearer("teacher"))
    assert enrolled.status_code == 201 and enrolled.get_json()["role"] == "ta"
    changed = client.patch(f"{base}/loner", json={"role": "instructor"}, headers=bearer("teacher"))
    assert changed.status_code == 200 and changed.get_json()["role"] == "instructor"
    assert client.delete(f"{base}/loner", headers=bearer("teacher")).status_code == 204
    checks = [("PATCH", f"{base}/teacher", {"role": "student"}, 409, "last_instructor"),
              ("DELETE", f"{base}/teacher", None, 409, "last_instructor"),
              ("DELETE", f"{base}/loner", None, 404, "not_found"),
              ("PATCH", f"{base}/nobody", {"role": "ta"}, 404, "not_found"),
              ("PATCH", f"{base}/alice", {"role": "owner"}, 422, "validation_error"),
              ("PATCH", f"{base}/alice", {}, 422, "validation_error")]
    for method, url, body, status, code in checks:
        response = client.open(url, method=method, json=body, headers=bearer("teacher"))
        assert (response.status_code, response.get_json()["code"]) == (status, code), (method, url)
    # a TA reads the course but changes no membership
    db.session.add(Membership(user=db.session.scalar(select(User).where(User.username == "loner")),
                              course=world.course, role="ta"))
    db.session.commit()
    assert client.delete(f"{base}/alice", headers=bearer("loner")).status_code == 403
