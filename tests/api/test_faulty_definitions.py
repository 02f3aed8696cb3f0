"""Definitions that parse but cannot give students numbers are refused when stored (422), so no student
meets them; one stored before these checks answers students with a clear 503, never a 500."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from grader.exercises import find
from grader.models import Exercise, ExerciseVersion, db
from tests.api.conftest import bearer, count


def multiply_gate(app, **changes) -> dict:
    doc = copy.deepcopy(find("gate-multiply", app.config["EXERCISES_DIR"]).document)
    return dict(doc, id="faulty", **changes)


def always_zero_gradient(app) -> dict:
    # relu of a negative input: the asked gradient is exactly zero in every draw
    return multiply_gate(app, inputs={"x": {"shape": [], "random": {"uniform": [-2.0, -1.0]}}}, params={},
                         graph=["z = relu(x)"], upstream={"z": {"shape": [], "random": {"uniform": [1.0, 2.0]}}},
                         ask=[{"grad": "x", "label": "dL/dx"}])


def overflowing(app) -> dict:
    huge = {"shape": [], "random": {"uniform": [1e200, 1e200]}}
    return multiply_gate(app, inputs={"x": huge}, params={"w": huge}, upstream={"z": huge})


@pytest.mark.parametrize("make", [always_zero_gradient, overflowing])
def test_a_definition_that_cannot_draw_numbers_is_refused_when_stored(app, client, world, make):
    document, exercises = make(app), count(Exercise)
    created = client.post("/api/v1/exercises", json={"definition": document}, headers=bearer("teacher"))
    assert created.status_code == 422 and created.json["code"] == "invalid_definition"
    assert "cannot draw a variant" in created.json["errors"]["definition"][0]
    assert count(Exercise) == exercises
    preview = client.post("/api/v1/solve", json={"definition": document, "seed": 0}, headers=bearer("teacher"))
    assert preview.status_code == 422 and preview.json["code"] == "degenerate"
    assert "Infinity" not in preview.text


def test_fixed_numbers_that_overflow_are_refused_too(app, client, world):
    fixed = {"shape": [], "value": 1e200}
    document = multiply_gate(app, inputs={"x": fixed}, params={"w": fixed}, upstream={"z": fixed})
    created = client.post("/api/v1/exercises", json={"definition": document}, headers=bearer("teacher"))
    assert created.status_code == 422 and "overflows" in created.json["errors"]["definition"][0]


@pytest.mark.parametrize("rule", [{"uniform": [1.0]}, {"uniform": []}, {"integers": [3]}])
def test_a_random_pair_of_the_wrong_length_is_a_422(app, client, world, rule):
    document = multiply_gate(app, inputs={"x": {"shape": [], "random": rule}})
    for path in ("/api/v1/solve", "/api/v1/exercises"):
        response = client.post(path, json={"definition": document, **({"seed": 1} if "solve" in path else {})},
                               headers=bearer("teacher"))
        assert response.status_code == 422, (path, response.json)
        assert any("expected [lo, hi]" in m for ms in response.json["errors"].values() for m in ms)


def test_asks_cannot_be_worth_absurd_points(app, client, world):
    document = multiply_gate(app)
    document["ask"][0]["points"] = 1e308
    response = client.post("/api/v1/exercises", json={"definition": document}, headers=bearer("teacher"))
    assert response.status_code == 422


def test_a_faulty_exercise_stored_earlier_answers_students_with_503(app, client, world):
    # As if stored before the checks existed: straight into the database.
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-add"))
    document = dict(always_zero_gradient(app), id="gate-add")
    exercise.current_version = 2
    db.session.add(ExerciseVersion(exercise=exercise, version=2, definition=document))
    db.session.commit()
    made = client.post(f"/api/v1/courses/{world.course.id}/assignments", json={"exercise": "gate-add"},
                       headers=bearer("teacher")).json["id"]
    variant = client.get(f"/api/v1/assignments/{made}/variant", headers=bearer("alice"))
    assert variant.status_code == 503 and variant.json["code"] == "exercise_unavailable"
    submitted = client.post(f"/api/v1/assignments/{made}/submissions", json={"answers": {"0": "0"}},
                            headers=bearer("alice"))
    assert submitted.status_code == 503 and "tell your instructor" in submitted.json["message"]
