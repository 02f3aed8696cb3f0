"""`courses assign CODE EX1 EX2 ...` places a problem set of those exercises in order, each with the points and
attempt limit given; a draft among them (its question tests fail) refuses the whole set."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from grader.models import Assignment, Exercise, db
from tests.test_cli_admin import cli, ok, refused


def test_courses_assign_places_a_problem_set_of_several_exercises(app: Flask) -> None:
    ok(cli(app, "courses", "create", "bp101", "--title", "Backprop 101"))
    ok(cli(app, "exercises", "import"))
    output = ok(cli(app, "courses", "assign", "bp101", "gate-add", "seed-two-layer-w1-22", "--title", "Week 1",
                    "--points", "2", "--attempts", "3")).output
    assert "'Week 1' in 'bp101', no due date, 2 exercises, 4 points" in output
    assignment = db.session.scalar(select(Assignment))
    assert [(i.exercise.slug, i.position, i.points, i.attempt_limit) for i in assignment.items] == [
        ("gate-add", 1, 2.0, 3), ("seed-two-layer-w1-22", 2, 2.0, 3)]


def test_a_draft_in_the_set_refuses_the_whole_set(app: Flask) -> None:
    ok(cli(app, "courses", "create", "bp101", "--title", "Backprop 101"))
    ok(cli(app, "exercises", "import"))
    draft = db.session.scalar(select(Exercise).where(Exercise.slug == "seed-two-layer-w1-22"))
    draft.current.checks = {"passed": False, "failures": ["its worked answer is wrong"]}
    db.session.commit()
    refused(cli(app, "courses", "assign", "bp101", "gate-add", "seed-two-layer-w1-22"), 1, "cannot be assigned")
    refused(cli(app, "courses", "assign", "bp101", "gate-add", "gate-add"), 1, "twice")
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0
