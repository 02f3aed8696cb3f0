"""API fixtures: a course (bp101) with two students and an instructor, another course with its own student,
the catalogue imported, an assignment, and a helper that issues bearer tokens."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import pytest
from sqlalchemy import func, select

from grader import authoring
from grader.exercises import load_catalogue
from grader.models import SCOPES, ApiToken, Assignment, Course, Exercise, Membership, User, db

EXERCISE = "seed-two-layer-w1-22"  # fixed numbers: one ask, dL/dW1_22 = -0.0026227...
RIGHT = {"0": "-0.00262270"}


def make_user(username: str, role: str = "student") -> User:
    user = User(username=username, name=username.title(), role=role, password_hash="!")  # API: tokens only
    db.session.add(user)
    db.session.flush()
    return user


def bearer(username: str, scopes: list[str] | tuple[str, ...] = SCOPES) -> dict[str, str]:
    user = db.session.scalar(select(User).where(User.username == username))
    token, secret = ApiToken.issue(user, list(scopes), name="test")
    db.session.add(token)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def assign(course: Course, slug: str = EXERCISE, **options) -> Assignment:
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    assignment = Assignment(course=course, exercise=exercise, title=exercise.title, **options)
    db.session.add(assignment)
    db.session.commit()
    return assignment


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@dataclass
class World:
    course: Course
    other: Course
    assignment: Assignment


@lru_cache(maxsize=2)
def catalogue_documents(exercises_dir: str) -> list[dict]:
    """The catalogue read once per process (YAML parsing dominates a fresh import)."""
    return [exercise.document for exercise in load_catalogue(exercises_dir).values()]


def seed_world(exercises_dir: str, only: tuple[str, ...] | None = None) -> World:
    for document in catalogue_documents(exercises_dir):
        if only is None or document["id"] in only:
            authoring.save_exercise(copy.deepcopy(document))
    course, other = Course(code="bp101", title="Backprop 101"), Course(code="dl201", title="Deep Learning 201")
    db.session.add_all([course, other])
    alice, bob, teacher = make_user("alice"), make_user("bob"), make_user("teacher", "instructor")
    eve, other_teacher = make_user("eve"), make_user("otherteacher", "instructor")
    make_user("root", "admin")
    make_user("loner")
    db.session.add_all([Membership(user=alice, course=course), Membership(user=bob, course=course),
                        Membership(user=teacher, course=course, role="instructor"),
                        Membership(user=eve, course=other),
                        Membership(user=other_teacher, course=other, role="instructor")])
    db.session.commit()
    assignment = assign(course, attempt_limit=3, points=10, solution_policy="never")
    return World(course, other, assignment)


@pytest.fixture
def world(app) -> Iterator[World]:
    yield seed_world(app.config["EXERCISES_DIR"])
    # Close this test's pooled connections now (the PostgreSQL server is shared): each test has its own app.
    db.session.remove()
    db.engine.dispose()
