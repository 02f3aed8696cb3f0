"""A regrade of 20,000 numeric submissions through the job, against grading the same answers in a plain loop.

    .venv/bin/python -m bench.regrade [--submissions 20000] [--students 2000] [--rounds 5]

On PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/t_regrade_bench; created when
missing, its tables recreated each run) or SQLite (BENCH_DATABASE_URL=sqlite:///...): a course of 2,000
students, a problem set of gate-multiply (random numbers), ten attempts each, half of them 20% off (wrong at
the catalogue's 1%), graded once when inserted in bulk (core statements, not the service: the setup is not
timed). Then, in each round, from a cold variant cache:

  (a) loop   grade_answers on every stored (seed, answers) with the tolerance at 25%: nothing read or written
  (b) job    the dry run's plan committed through the "regrade" job (grader.service.regrade_commit): the plan
             the dry run kept read back and checked against the rows, the changed rows (all 20,000: half their
             score, the rest their feedback's tolerance) and their history written in batches, the progress
             committed per batch; its progress printed while it runs (another thread reads the job's row, as
             the page and `flask jobs show --follow` do)

with the tables made afresh for each round. It prints the submissions per second of each
and (a)/(b) as the job's share of the loop's speed, per round and for the best time of each (these machines
are noisy: the same loop takes from 0.9 to 1.5 s from one minute to the next): PASS at 0.8 or more. The dry
run (which grades every submission, as the loop does, and keeps its plan) is timed and printed alongside but is
not (b); neither is the commit's fallback when no plan is kept (grading again), timed once at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gradebook import ensure_database  # noqa: E402  (creates the PostgreSQL database when missing)

TARGET = 0.8
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/t_regrade_bench"
EXERCISE = "gate-multiply"
LOOSER = {"rtol": 0.25}


def setup(app, submissions: int, students: int) -> tuple[int, int, list[tuple[int, dict]]]:
    """The course; (assignment id, instructor id, [(seed, answers)] as stored)."""
    from grader import authoring
    from grader import exercises as definitions
    from grader.grading.numeric import grade_answers
    from grader.models import Assignment, Course, Exercise, Membership, Submission, User, db
    from grader.service.variants import cached_variant, derive_seed

    db.session.remove()  # nothing of the round before holds a lock on the tables dropped
    db.drop_all()
    db.create_all()
    authoring.save_exercise(definitions.find(EXERCISE, app.config["EXERCISES_DIR"]).document)
    course = Course(code="bench", title="Bench")
    teacher = User(username="teacher", name="Teacher", role="instructor", password_hash="!")
    db.session.add_all([course, teacher, Membership(user=teacher, course=course, role="instructor")])
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == EXERCISE))
    assignment = Assignment(course=course, exercise=exercise, title="bench", points=4)
    db.session.add(assignment)
    db.session.commit()
    db.session.execute(insert(User), [{"username": f"s{i}", "name": f"S{i}", "role": "student", "password_hash": "!"}
                                      for i in range(students)])
    ids = list(db.session.scalars(select(User.id).where(User.role == "student").order_by(User.id)))
    db.session.execute(insert(Membership), [{"user_id": u, "course_id": course.id, "role": "student"} for u in ids])
    version, item = exercise.current, assignment.items[0]
    definition = authoring.definition_of(version)
    rows, stored = [], []
    per_student = max(1, submissions // students)
    for n in range(submissions):
        user_id = ids[n % students]
        seed = derive_seed(user_id, EXERCISE)
        variant = cached_variant(definition, seed)
        dw, dx = (float(variant.expected(ask)) for ask in definition.asks)
        answers = {"0": repr(dw * (1.2 if n % 2 else 1.0)), "1": repr(dx)}
        result = grade_answers(variant, answers)
        rows.append({"assignment_id": assignment.id, "item_id": item.id, "user_id": user_id,
                     "exercise_version_id": version.id, "seed": seed, "kind": "numeric", "answers": answers,
                     "status": "graded", "attempt": n // students + 1, "score": result.score,
                     "points": round(result.score * 4, 6), "late": False, "feedback": result.to_dict(),
                     "mistakes": sorted({p.diagnosis["mistake"] for p in result.parts if p.diagnosis})})
        stored.append((seed, answers))
        if len(rows) == 5000:
            db.session.execute(insert(Submission), rows)
            rows = []
    if rows:
        db.session.execute(insert(Submission), rows)
    db.session.commit()
    assert per_student >= 1
    return assignment.id, teacher.id, stored


def plain_loop(app, assignment_id: int, stored: list[tuple[int, dict]]) -> float:
    import dataclasses

    from grader.authoring import definition_of
    from grader.grading.numeric import grade_answers
    from grader.models import Assignment, db
    from grader.service import variants

    definition = definition_of(db.session.get(Assignment, assignment_id).items[0].exercise.current)
    looser = dataclasses.replace(definition, tolerance=LOOSER)
    variants._variants.clear()
    started = time.perf_counter()
    for seed, answers in stored:
        variant = dataclasses.replace(variants.cached_variant(definition, seed), exercise=looser)
        grade_answers(variant, answers).withhold_ungraded()
    return time.perf_counter() - started


def watch(app, job_id_box: list, stop: threading.Event) -> None:
    """Print the job's progress while it runs, read from its row in a session of this thread."""
    from grader.jobs.cli import progress_line
    from grader.jobs.models import Job
    from grader.models import db

    with app.app_context():
        last = None
        while not stop.is_set():
            if job_id_box:
                db.session.rollback()
                job = db.session.get(Job, job_id_box[0])
                line = progress_line(job) if job is not None else None
                if line and line != last:
                    print(f"    {time.strftime('%H:%M:%S')} {line}", flush=True)
                    last = line
            time.sleep(0.5)
        db.session.remove()


def commit_through_the_job(app, teacher, assignment, request, token: str, show_progress: bool) -> tuple[float, Any]:
    """Commit the dry run's token through the job, run at once in this process (no broker); its time and record."""
    from grader.jobs.models import Job
    from grader.jobs.progress import run_job
    from grader.models import Regrade, db
    from grader.service import regrade_commit, variants

    variants._variants.clear()
    box: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(app, box, stop), daemon=True)
    if show_progress:
        watcher.start()
    timing: list[float] = []

    def start_and_run(kind, user, params, queue=None):  # the job runs at once: show its id first
        job = Job(kind=kind, started_by=user.id, state="queued", done=0, errors=[], params=params)
        db.session.add(job)
        db.session.commit()
        box.append(job.id)
        if show_progress:
            time.sleep(0.6)  # the watcher sees it queued
        began = time.perf_counter()
        run_job(job.id)
        timing.append(time.perf_counter() - began)
        return job

    checking: list[float] = []

    def timed(function):  # the job's reading and checking of the kept plan, timed apart from its writes
        def run(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                checking.append(time.perf_counter() - began)
        return run

    patched = {"start_job": start_and_run, "verified_plan": timed(regrade_commit.verified_plan),
               "compute_plan": timed(regrade_commit.compute_plan)}
    originals = {name: getattr(regrade_commit, name) for name in patched}
    fetch = regrade_commit.regrade_store.fetch
    for name, function in patched.items():
        setattr(regrade_commit, name, function)
    regrade_commit.regrade_store.fetch = timed(fetch)
    try:
        regrade = regrade_commit.commit_regrade(teacher, assignment, request, token, "bench")
    finally:
        for name, function in originals.items():
            setattr(regrade_commit, name, function)
        regrade_commit.regrade_store.fetch = fetch
    if show_progress:
        time.sleep(0.6)
        stop.set()
        watcher.join()
    regrade = db.session.get(Regrade, regrade.id)
    assert regrade.state == "committed", (regrade.state, regrade.counts)
    return timing[0], sum(checking), regrade


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=20_000)
    parser.add_argument("--students", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not make_url(url).drivername.startswith("sqlite"):
        url = ensure_database(url)

    from grader import create_app
    from grader.models import Assignment, User, db
    from grader.service import regrade_store, variants
    from grader.service.regrade import check_request, dry_run
    from grader.service.regrade_commit import undo_regrade

    with tempfile.TemporaryDirectory() as plans:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "CELERY_BROKER_URL": None,
                                     "REGRADE_PLAN_STORE": plans})
        with app.app_context():
            loops, jobs = [], []
            for round_ in range(1, options.rounds + 1):
                started = time.perf_counter()
                assignment_id, teacher_id, stored = setup(app, options.submissions, options.students)
                n = len(stored)
                if round_ == 1:
                    print(f"{n:,} graded submissions of {options.students:,} students stored in "
                          f"{time.perf_counter() - started:.1f} s ({make_url(url).get_backend_name()}), "
                          "afresh each round")
                assignment, teacher = db.session.get(Assignment, assignment_id), db.session.get(User, teacher_id)
                request = check_request(assignment, change="tolerance", tolerance=LOOSER)
                loop_s = plain_loop(app, assignment_id, stored)
                variants._variants.clear()
                started = time.perf_counter()
                plan = dry_run(teacher, assignment, request)
                dry_s = time.perf_counter() - started
                job_s, check_s, regrade = commit_through_the_job(app, teacher, assignment, request, plan.token(),
                                                                 show_progress=round_ == 1)
                print(f"round {round_}: (a) loop {n / loop_s:,.0f} submissions/s ({loop_s:.2f} s); (b) the job "
                      f"{n / job_s:,.0f} submissions/s ({job_s:.2f} s; {regrade.counts['changed']:,} changed, "
                      f"outcomes {regrade.counts['outcomes']}; of which reading and checking the plan {check_s:.2f} s, "
                      f"writing {job_s - check_s:.2f} s): {loop_s / job_s:.2f} of the loop; dry run {dry_s:.2f} s "
                      f"({plan.summary()}), not timed")
                loops.append(loop_s)
                jobs.append(job_s)
            undo_regrade(teacher, regrade)  # the last round's: the set as it was, for the fallback below
            # the commit's fallback: no plan kept (expired, or kept on another host), so it grades again
            plan = dry_run(teacher, assignment, request)
            Path(plans, regrade_store._key(plan.fingerprint) + ".plan").unlink()
            again_s, _, regrade = commit_through_the_job(app, teacher, assignment, request, plan.token(), False)
            print(f"no plan kept (outcomes {regrade.counts['outcomes']}): the job {n / again_s:,.0f} "
                  f"submissions/s ({again_s:.2f} s), {min(loops) / again_s:.2f} of the loop's best (not the target)")
            ratio = min(loops) / min(jobs)
            print(f"median of {options.rounds}: loop {statistics.median(loops):.2f} s, job "
                  f"{statistics.median(jobs):.2f} s: {statistics.median(loops) / statistics.median(jobs):.2f}")
            print(f"best of {options.rounds}: loop {min(loops):.2f} s, job {min(jobs):.2f} s; job / loop = "
                  f"{ratio:.2f} (target >= {TARGET}): {'PASS' if ratio >= TARGET else 'MISS'}")
            db.session.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
