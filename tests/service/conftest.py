from functools import cache

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from grader import authoring
from grader.models import Assignment, Course, Exercise, Membership, User, db


@cache
def fixture_password_hash(password: str) -> str:
    """A cheap hash for the fixtures' accounts, made once per password: scrypt (what accounts get from the
    service, checked in tests/roster/test_passwords.py) costs about 60 ms to make and again at each sign-in,
    minutes over the suite. Signing in checks it with the same code path."""
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


def make_user(username: str, role: str = "student") -> User:
    user = User(username=username, name=username.title(), role=role)
    user.password_hash = fixture_password_hash(f"{username}-password")
    db.session.add(user)
    db.session.flush()
    return user


@pytest.fixture
def course(app):
    """A course with an instructor, two students and the seed exercises imported."""
    authoring.import_catalogue(app.config["EXERCISES_DIR"])
    course = Course(code="bp101", title="Backprop 101")
    db.session.add(course)
    alice, bob, teacher = make_user("alice"), make_user("bob"), make_user("teacher", "instructor")
    db.session.add_all([Membership(user=alice, course=course), Membership(user=bob, course=course),
                        Membership(user=teacher, course=course, role="instructor")])
    db.session.commit()
    return course


def assign(course: Course, slug: str, **options) -> Assignment:
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    assignment = Assignment(course=course, exercise=exercise, title=exercise.title, **options)
    db.session.add(assignment)
    db.session.commit()
    return assignment


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))
