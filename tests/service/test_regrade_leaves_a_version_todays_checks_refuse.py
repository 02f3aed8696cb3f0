"""A regrade reads the exercise version each submission was graded with; one stored under older, looser checks
that today's parser refuses is left as it is ("not gradable", naming why), not a failed dry run: the other
submissions are still regraded."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from grader import authoring
from grader.models import ExerciseVersion, db
from grader.service.regrade import NOT_GRADABLE, check_request, dry_run
from tests.service.regrade_world import build, documents, exercise


@pytest.fixture
def world(app):
    return build(app.config["EXERCISES_DIR"])


def test_a_submission_of_a_version_todays_checks_refuse_is_left_and_named(world, app):
    document = documents(app.config["EXERCISES_DIR"])["gate-multiply"]
    authoring.save_exercise({**document, "title": document["title"] + " (v2)"})  # the current version parses
    v1 = db.session.scalar(select(ExerciseVersion).where(ExerciseVersion.exercise_id == exercise("gate-multiply").id,
                                                         ExerciseVersion.version == 1))
    refused = copy.deepcopy(v1.definition)
    refused["title"] = ""  # what an older release let through and today's checks refuse
    v1.definition = refused
    db.session.commit()
    plan = dry_run(world.teacher, world.assignment, check_request(world.assignment, change="grader"))
    assert len(plan.entries) == 4 and {e.outcome for e in plan.entries} == {NOT_GRADABLE}
    assert all("no longer passes today's checks" in e.note and "title" in e.note for e in plan.entries)
    assert plan.changed == []
