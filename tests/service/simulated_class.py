"""A simulated class for the statistics and tally tests (tests/service/test_mistake_tallies_give_back_injected_shares.py
describes it), built once per module and backend: every wrong answer is made from the reference engine's
numbers the way a student errs, and submitted through the service."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from grader import authoring, service
from grader import exercises as definitions
from grader.models import Course, Exercise, Membership, User, Variant, db, utcnow
from tests.conftest import app_on
from tests.service.conftest import make_user

SLUG = "seed-three-layer-matrix"
SIGN, TRANSPOSED, UNKNOWN, RIGHT = range(0, 5), range(5, 9), range(9, 11), range(11, 20)
T0 = utcnow().replace(microsecond=0) - timedelta(days=1)


def answers_of(matrices: list[np.ndarray]) -> dict[str, list]:
    return {str(i): m.tolist() for i, m in enumerate(matrices)}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def klass(request, database_urls):
    if database_urls[request.param] is None:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test")
    with app_on(database_urls[request.param]) as app:
        authoring.save_exercise(definitions.load_catalogue(app.config["EXERCISES_DIR"])[SLUG].document)
        course = Course(code="bp101", title="Backprop 101")
        teacher = make_user("teacher", "instructor")
        db.session.add_all([course, Membership(user=teacher, course=course, role="instructor")])
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        week = service.create_assignment(course, [service.ItemSpec(SLUG, 3, 3)], title="Matrices")
        # no password (nobody signs in as them): hashing twenty would cost more than the whole class's grading
        students = [User(username=f"u{i:02d}", name=f"U{i:02d}", role="student", password_hash="!")
                    for i in range(20)]
        db.session.add_all([Membership(user=s, course=course) for s in students])
        db.session.commit()
        for i, student in enumerate(students):
            _, variant = service.variant_for(student, exercise)
            right = [np.asarray(variant.expected(ask)) for ask in variant.exercise.asks]
            db.session.execute(Variant.__table__.update().where(Variant.user_id == student.id)
                               .values(created_at=T0))  # opened a day ago, submitted i minutes after
            if i in SIGN:
                first = [-g for g in right]
            elif i in TRANSPOSED:
                first = [right[0].T, right[1], right[2]]
            elif i in UNKNOWN:
                first = [right[0], right[1], right[2] * 3 * (1 + 1e-6 * (i - 9))]
            else:
                first = right
            service.submit(student, week, answers=answers_of(first), now=T0 + timedelta(minutes=i))
            if i in SIGN or i in TRANSPOSED:
                service.submit(student, week, answers=answers_of(right), now=T0 + timedelta(minutes=30 + i))
            if i == 11:
                service.submit(student, week, answers=answers_of([-g for g in right]),
                               now=T0 + timedelta(minutes=40))
        yield app, week.id
        db.session.remove()
