"""The gradebook of a large course, against fetching its submissions.

    .venv/bin/python -m bench.gradebook [--students 1000] [--sets 20] [--repeats 5]

On PostgreSQL (BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/t_gradebook_bench; the database
is created when missing and its tables recreated each run): a course of 1,000 students × 20 problem sets of 3
exercises, one graded submission per student and exercise (60,000; a tenth of them late), a few overrides and
manual scores, inserted in bulk with core statements (not the service: that would grade each one), and a small
course of 100 students set up the same way. Then, each the best of several runs:

  (a) page      GET /instructor/courses/<id>/gradebook through the test client, signed in as the instructor
  (b) csv       GET /instructor/courses/<id>/gradebook/csv (the same as the API's ?format=csv)
  (c) baseline  one SELECT of the course's submissions (user, item, points, attempt, late) fetched into Python

and prints (a)/(c) and (b)/(c) with PASS (<= 2x) or MISS, and the number of queries the page takes for 100 and
for 1,000 students (they must be equal).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 2.0
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/t_gradebook_bench"
EXERCISES = ("gate-add", "gate-multiply", "seed-two-layer-w1-22")
PASSWORD = "bench-password"


def ensure_database(url: str) -> str:
    """The URL for psycopg, after creating the database if the server has none by that name."""
    target = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}) is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return target.render_as_string(hide_password=False)


def fill(code: str, students: int, sets: int, versions: list[tuple[int, int]], instructor_id: int,
         users: list[int], rng: random.Random) -> int:
    """A course of `students` (the first of `users`) × `sets` problem sets of the exercises in `versions`
    ((exercise id, version id)), one graded submission per student and exercise; its id."""
    from grader.models import (
        Assignment,
        AssignmentItem,
        AssignmentOverride,
        Course,
        ManualScore,
        Membership,
        Submission,
        db,
    )

    run = db.session.execute
    course_id = run(insert(Course.__table__).returning(Course.id), [{"code": code, "title": code}]).scalar_one()
    run(insert(Membership.__table__), [{"user_id": instructor_id, "course_id": course_id, "role": "instructor"}]
        + [{"user_id": uid, "course_id": course_id, "role": "student"} for uid in users[:students]])
    assignment_ids = run(insert(Assignment.__table__).returning(Assignment.id, sort_by_parameter_order=True), [
        {"course_id": course_id, "title": f"Week {n + 1}", "late_policy": "accept", "late_penalty": 0.0,
         "visible": True, "scoring": "best" if n % 2 else "last", "solution_policy": "never", "position": n,
         "archived": False} for n in range(sets)]).scalars().all()
    items = run(insert(AssignmentItem.__table__).returning(AssignmentItem.id, AssignmentItem.assignment_id,
                                                            AssignmentItem.exercise_id, sort_by_parameter_order=True),
                [{"assignment_id": aid, "exercise_id": exercise_id, "position": p + 1, "points": 2.0}
                 for aid in assignment_ids for p, (exercise_id, _) in enumerate(versions)]).all()
    version_of = dict(versions)
    rows = [{"assignment_id": aid, "item_id": item_id, "user_id": uid, "exercise_version_id": version_of[eid],
             "seed": 1, "kind": "numeric", "answers": {"0": "1"}, "code": None, "status": "graded", "attempt": 1,
             "score": (s := rng.random()), "points": round(2 * s, 3), "late": rng.random() < 0.1,
             "feedback": {}, "mistakes": [], "grading_ms": 1.0}
            for uid in users[:students] for item_id, aid, eid in items]
    for start in range(0, len(rows), 10_000):
        run(insert(Submission.__table__), rows[start:start + 10_000])
    picked = rng.sample(users[:students], max(1, students // 20))
    run(insert(AssignmentOverride.__table__), [{"assignment_id": assignment_ids[0], "user_id": uid,
                                                "extra_attempts": 1} for uid in picked])
    run(insert(ManualScore.__table__), [{"assignment_id": assignment_ids[1], "user_id": uid, "points": 1.0,
                                         "reason": "bench", "set_by": instructor_id} for uid in picked])
    db.session.commit()
    return course_id


def best(repeats: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--sets", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    url = ensure_database(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))

    from grader import authoring, create_app
    from grader.exercises import find
    from grader.models import Exercise, Submission, User, db

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(7)
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        for slug in EXERCISES:
            authoring.save_exercise(find(slug, app.config["EXERCISES_DIR"]).document)
        versions = [(e.id, e.current.id) for e in db.session.scalars(select(Exercise).order_by(Exercise.id))]
        teacher = User(username="teacher", name="Teacher", role="instructor")
        teacher.set_password(PASSWORD)
        db.session.add(teacher)
        db.session.commit()
        users = db.session.execute(insert(User.__table__).returning(User.id, sort_by_parameter_order=True), [
            {"username": f"s{i:05d}", "name": f"Student {i}", "password_hash": "!", "role": "student"}
            for i in range(args.students)]).scalars().all()
        small = fill("bench100", min(100, args.students), args.sets, versions, teacher.id, users, rng)
        large = fill("bench1000", args.students, args.sets, versions, teacher.id, users, rng)
        db.session.execute(text("ANALYZE"))  # as autovacuum would soon: the planner knows the tables' sizes
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(Submission))
        print(f"filled {count:,} graded submissions ({args.students} and {min(100, args.students)} students × "
              f"{args.sets} sets × {len(versions)} exercises) in {time.perf_counter() - started:.1f} s")
        db.session.remove()

        client = app.test_client()
        signed_in = client.post("/login", data={"username": "teacher", "password": PASSWORD})
        assert signed_in.status_code == 302, signed_in.text

        def get(path: str) -> None:
            response = client.get(path)
            assert response.status_code == 200, response.status_code
            db.session.remove()  # as at the end of a request: nothing cached for the next run

        def queries(course_id: int) -> int:
            statements: list[str] = []

            def tally(conn, cursor, statement, *rest) -> None:
                statements.append(statement)

            event.listen(db.engine, "before_cursor_execute", tally)
            try:
                get(f"/instructor/courses/{course_id}/gradebook")
            finally:
                event.remove(db.engine, "before_cursor_execute", tally)
            return len(statements)

        def baseline() -> None:
            from grader.models import Assignment

            rows = db.session.execute(
                select(Submission.user_id, User.username, Submission.item_id, Submission.points,
                       Submission.attempt, Submission.late).join(User, User.id == Submission.user_id)
                .where(Submission.assignment_id.in_(select(Assignment.id).where(Assignment.course_id == large))))
            fetched = rows.all()
            assert len(fetched) == args.students * args.sets * len(versions)
            db.session.remove()

        get(f"/instructor/courses/{large}/gradebook")  # warm: templates compiled, pools open
        base = best(args.repeats, baseline)
        page = best(args.repeats, lambda: get(f"/instructor/courses/{large}/gradebook"))
        csv = best(args.repeats, lambda: get(f"/instructor/courses/{large}/gradebook/csv"))
        few, many = queries(small), queries(large)
    print(f"(c) baseline SELECT of {args.students * args.sets * len(versions):,} rows: {base * 1000:8.1f} ms")
    for name, seconds in (("(a) gradebook page", page), ("(b) gradebook CSV", csv)):
        ratio = seconds / base
        print(f"{name:<22} {seconds * 1000:8.1f} ms   {ratio:5.2f}x the baseline   "
              f"{'PASS' if ratio <= TARGET else 'MISS'} (<= {TARGET:g}x)")
    print(f"queries for the page: {few} at {min(100, args.students)} students, {many} at {args.students} "
          f"students   {'PASS' if few == many else 'MISS'} (equal)")
    return 0 if page / base <= TARGET and csv / base <= TARGET and few == many else 1


if __name__ == "__main__":
    sys.exit(main())
