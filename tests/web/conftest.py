"""Page fixtures: a course with two students (alice, bob; password "<name>-password") and the catalogue."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from grader import authoring
from grader.models import Course, Membership, db
from tests.service.conftest import make_user


@pytest.fixture(name="course")
def course_fixture(app) -> Course:
    """A course with two students and the catalogue imported (as in the service tests)."""
    authoring.import_catalogue(app.config["EXERCISES_DIR"])
    course = Course(code="bp101", title="Backprop 101")
    db.session.add(course)
    alice, bob = make_user("alice"), make_user("bob")
    db.session.add_all([Membership(user=alice, course=course), Membership(user=bob, course=course)])
    db.session.commit()
    return course


def login(client: FlaskClient, username: str = "alice") -> None:
    response = client.post("/login", data={"username": username, "password": f"{username}-password"})
    assert response.status_code == 302, response.text
