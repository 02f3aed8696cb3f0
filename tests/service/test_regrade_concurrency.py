"""On PostgreSQL, students keep submitting while a regrade commits (the job in a thread, batches of one, so the
two interleave): nothing is lost, and every submission is either regraded (in the plan, with its history) or
new (stored after the dry run, not in the plan, exactly as graded)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from grader import service
from grader.models import Assignment, Regrade, RegradeChange, Submission, User, db
from grader.service import regrade_commit
from grader.service.regrade import check_request, dry_run
from tests.service.regrade_world import answers_for, build

STUDENTS = 120
SUBMITTERS = 3


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_students_submitting_during_a_commit_lose_nothing(app, monkeypatch):
    world = build(app.config["EXERCISES_DIR"], extra_students=STUDENTS)
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance={"rtol": 0.25})
    plan = dry_run(world.teacher, world.assignment, request)
    planned = {e.submission_id: e for e in plan.changed}
    assignment_id, teacher_id = world.assignment.id, world.teacher.id
    names = [f"x{i}" for i in range(STUDENTS)]
    monkeypatch.setattr(regrade_commit, "BATCH", 1)
    started, finished = threading.Event(), threading.Event()
    stored: list[tuple[int, float]] = []
    failures: list[BaseException] = []

    def commit() -> None:
        with app.app_context():
            try:
                assignment, teacher = db.session.get(Assignment, assignment_id), db.session.get(User, teacher_id)
                started.set()
                regrade_commit.commit_regrade(teacher, assignment, request, plan.token(), "looser")  # eager job
            except BaseException as exc:  # noqa: BLE001  (reported by the test below)
                failures.append(exc)
            finally:
                started.set()
                finished.set()
                db.session.remove()

    def submit(offset: int) -> None:
        with app.app_context():
            try:
                started.wait(10)
                n = offset
                while not finished.is_set() or n < offset + SUBMITTERS:  # at least one after the commit ended
                    student = db.session.scalar(select(User).where(User.username == names[n % STUDENTS]))
                    assignment = db.session.get(Assignment, assignment_id)
                    made = service.submit(student, assignment, exercise="gate-multiply",
                                          answers=answers_for(student, assignment, 0.2))
                    stored.append((made.id, made.score))
                    n += SUBMITTERS
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=commit)] + [threading.Thread(target=submit, args=(i,))
                                                    for i in range(SUBMITTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    db.session.expire_all()
    regrade = db.session.scalar(select(Regrade))
    assert regrade.state == "committed" and regrade.counts["changed"] == len(planned)
    history = {h.submission_id for h in db.session.scalars(select(RegradeChange))}
    assert history == set(planned)
    new = dict(stored)
    assert len(new) > SUBMITTERS  # students did submit while it ran
    rows = {s.id: s for s in db.session.scalars(select(Submission))}
    assert len(rows) == len(plan.submission_ids) + len(new)  # nothing lost, nothing extra
    for sid, row in rows.items():
        if sid in new:  # stored during the commit: as graded, untouched (20% off: wrong at the catalogue's 1%)
            assert sid not in regrade.submission_ids and row.score == new[sid] == 0.5
        else:  # in the plan: regraded to the dry run's values
            assert sid in planned or sid in {e.submission_id for e in plan.entries}
            if sid in planned:
                assert (row.score, row.points) == (planned[sid].new_score, planned[sid].new_points)
    assert db.session.scalar(select(func.count()).select_from(Submission)) == len(rows)
