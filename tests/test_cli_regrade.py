"""`flask regrade run/list/undo`: the dry run prints old → new per submission and stores nothing; without
--dry-run it commits that dry run as a job and follows it; list shows the record; undo restores; a TA and
bad options are refused with a message."""

from __future__ import annotations

from sqlalchemy import func, select

from grader.models import Regrade, Submission, db
from tests.service.regrade_world import build


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["regrade", *args])


def scores() -> list[float]:
    db.session.expire_all()
    return [s.score for s in db.session.scalars(select(Submission).order_by(Submission.id))]


def test_dry_run_commit_list_and_undo_from_the_command_line(app):
    world = build(app.config["EXERCISES_DIR"])
    aid = str(world.assignment.id)
    before = scores()
    looser = ["--as", "teacher", "--exercise", "gate-multiply", "--change", "tolerance", "--rtol", "0.25"]
    dry = run(app, "run", aid, *looser, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("would change 3 submissions of 3 students (1 scores move)")
    assert "three" in dry.output and "50% -> 100%" in dry.output and "kept: overridden" in dry.output
    assert "LMS grades sent again: three" in dry.output
    assert scores() == before and db.session.scalar(select(func.count()).select_from(Regrade)) == 0
    refused = run(app, "run", aid, *looser)
    assert refused.exit_code != 0 and "--reason" in refused.output
    committed = run(app, "run", aid, *looser, "--reason", "tolerance too tight")
    assert committed.exit_code == 0, committed.output
    assert "[done]" in committed.output and "3 submissions changed" in committed.output
    assert scores() != before
    listed = run(app, "list", aid, "--as", "teacher")
    assert "[committed]" in listed.output and "tolerance too tight" in listed.output
    regrade_id = str(db.session.scalar(select(Regrade.id)))
    undone = run(app, "undo", regrade_id, "--as", "teacher")
    assert undone.exit_code == 0 and "3 submissions restored" in undone.output
    assert scores() == before
    ta = run(app, "run", aid, "--as", "ta", "--dry-run")
    assert ta.exit_code != 0 and "only the course's instructors regrade" in ta.output
    bad = run(app, "run", aid, "--as", "teacher", "--change", "tolerance", "--exercise", "gate-add", "--dry-run")
    assert bad.exit_code != 0 and "tolerance" in bad.output
