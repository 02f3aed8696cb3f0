"""Every student page route × {signed out, the student it belongs to, a student of another course}, with the
exact status; a test fails when a route is added without a row here."""

from __future__ import annotations

import pytest

from grader.models import Course, Membership, db
from tests.service.conftest import assign, make_user, user
from tests.web.conftest import login

RELU_BROKEN = "def relu_backward(dout, z:\n    pass\n"  # a format error: answered without the sandbox

COLUMNS = ("anonymous", "owner", "outsider")
# method, path, form              | anonymous owner outsider (302: to the sign-in page)
MATRIX = [
    ("GET", "/", None,                                         302, 302, 302),  # one course each: straight to it
    ("GET", "/courses/{course}", None,                         302, 200, 404),
    ("GET", "/assignments/{assignment}", None,                 302, 200, 404),
    ("POST", "/assignments/{assignment}", {"answer-0": "1"},   302, 303, 404),
    ("POST", "/assignments/{code}/precheck", {"code": RELU_BROKEN},
                                                               302, 200, 404),
    ("GET", "/assignments/{assignment}/exercises/1", None,     302, 200, 404),  # a set of one: its only exercise
    ("POST", "/assignments/{assignment}/exercises/1", {"answer-0": "1"},
                                                               302, 303, 404),
    ("POST", "/assignments/{code}/exercises/1/precheck", {"code": RELU_BROKEN},
                                                               302, 200, 404),
    ("GET", "/assignments/{assignment}/history", None,         302, 200, 404),
    ("GET", "/submissions/{submission}", None,                 302, 200, 404),
    ("GET", "/login", None,                                    200, 302, 302),
    ("POST", "/login", {"username": "alice", "password": "wrong"}, 200, 302, 302),  # signed in: to the courses
    ("POST", "/logout", {},                                    302, 302, 302),
    ("GET", "/account/password", None,                         302, 200, 200),
    ("POST", "/account/password", {"current": "wrong", "new": "new-password", "again": "new-password"},
                                                               302, 422, 422),  # the current one is wrong
    ("GET", "/sign-in/not-a-link", None,                       200, 200, 200),  # a button: GET spends nothing
    ("POST", "/sign-in/not-a-link", {},                        400, 400, 400),
]


def test_every_page_route_is_in_the_matrix(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules()
             if rule.endpoint.split(".")[0] in ("student", "auth")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    names = {"{course}": "<int(max=2147483647):course_id>", "{assignment}": "<int(max=2147483647):assignment_id>",
             "{code}": "<int(max=2147483647):assignment_id>",
             "{submission}": "<int(max=2147483647):submission_id>", "not-a-link": "<token>",
             "/1": "/<int(max=1000):position>"}
    in_matrix = set()
    for method, path, *_ in MATRIX:
        for k, v in names.items():
            path = path.replace(k, v)
        in_matrix.add((method, path))
    assert rules == in_matrix


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r[0]} {r[1]}" for r in MATRIX])
def test_page_authorization(app, client, course, row):
    method, path, form, *expected = row
    numeric, code = assign(course, "seed-two-layer-w1-22"), assign(course, "code-relu-backward")
    other = Course(code="other", title="Other course")
    db.session.add(other)
    make_user("carol")
    db.session.add(Membership(user=user("carol"), course=other))
    db.session.commit()
    login(client, "alice")
    submission = client.post(f"/assignments/{numeric.id}", data={"answer-0": "1"}).location.rsplit("/", 1)[1]
    url = path.format(course=course.id, assignment=numeric.id, code=code.id, submission=submission)
    for column, want in zip(COLUMNS, expected, strict=True):
        client.post("/logout")
        if column != "anonymous":
            login(client, "alice" if column == "owner" else "carol")
        response = client.open(url, method=method, data=form)
        assert response.status_code == want, (column, response.location)
        if want == 302 and column == "anonymous" and path != "/logout":
            assert "/login" in response.location
