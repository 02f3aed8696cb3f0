"""Code grading through Celery against the in-process sandbox pool, in the same run.

    .venv/bin/python -m bench.jobs [--submissions 200] [--latency 30] [--broker redis://127.0.0.1:6379/0]

Both sides grade the catalogue's three-layer backward (its own solution) through grader.service.submit:

- in process (GRADING_BACKEND=local): two threads submit, each grading in a pool of two sandbox slots;
- Celery (GRADING_BACKEND=celery): two grading worker processes (`celery -A grader.jobs worker -Q grading
  --pool solo`, SANDBOX_SLOTS=1: one slot each; BENCH_WORKER_POOL=prefork for a pool child each), the
  submissions queued from two threads, timed until the last is stored.

Prints submissions per second of each and their ratio (target: Celery at least 0.8 of in process), then the
p50 latency of one submission at a time (submit to stored result) of each and what Celery adds. Needs root
(the sandbox), Redis, and a database: BENCH_DATABASE_URL, else SQLite in a temporary directory. Uses its own
Redis key prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

# Run as a script: replace bench/ on the path (its other scripts may shadow stdlib names) with the project.
_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]
os.environ.setdefault("SANDBOX_SLOTS", "2")  # the in-process pool: two slots, as the two workers have

from sqlalchemy import func, select  # noqa: E402

from grader import authoring, create_app, service  # noqa: E402
from grader import exercises as definitions  # noqa: E402
from grader.models import Assignment, Course, Exercise, Membership, Submission, User, db  # noqa: E402

EXERCISE = "code-three-layer-backward"
STUDENTS = 20
THREADS = 2
WORKERS = 2
POOL = os.environ.get("BENCH_WORKER_POOL", "solo")  # solo: the worker process grades itself (one slot)


def setup(app) -> tuple[int, list[int], str]:
    """A course with STUDENTS students and the exercise, without an attempt limit; (assignment, users, code)."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        found = definitions.find(EXERCISE, app.config["EXERCISES_DIR"])
        authoring.save_exercise(found.document)
        course = Course(code="bench", title="Bench")
        users = [User(username=f"s{i}", name=f"S{i}", role="student", password_hash="!") for i in range(STUDENTS)]
        db.session.add_all([course, *users, *(Membership(user=u, course=course) for u in users)])
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == EXERCISE))
        assignment = Assignment(course=course, exercise=exercise, title="bench", attempt_limit=100_000)
        db.session.add(assignment)
        db.session.commit()
        return assignment.id, [u.id for u in users], found.document["function"]["solution"]


def submit_one(assignment_id: int, user_id: int, code: str) -> Submission:
    return service.submit(db.session.get(User, user_id), db.session.get(Assignment, assignment_id), code=code)


def queued_left() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Submission).where(Submission.status == "queued"))


def wait_stored(submission_id: int, poll_s: float = 0.002) -> None:
    while True:
        db.session.rollback()
        if db.session.scalar(select(Submission.status).where(Submission.id == submission_id)) != "queued":
            return
        time.sleep(poll_s)


def burst(app, assignment_id: int, users: list[int], code: str, count: int, *, drain: bool) -> float:
    """`count` submissions from THREADS threads; seconds until all are stored (graded, for Celery: drained)."""
    counter = iter(range(count))
    lock = threading.Lock()

    def work() -> None:
        with app.app_context():
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                submission = submit_one(assignment_id, users[index % len(users)], code)
                assert submission.status in ("graded", "queued"), submission.feedback
            db.session.remove()

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if drain:
        with app.app_context():
            while queued_left():
                time.sleep(0.02)
            db.session.remove()
    return time.perf_counter() - started


def latencies(app, assignment_id: int, users: list[int], code: str, count: int, *, queued: bool) -> list[float]:
    """One submission at a time: seconds from submit to its stored result."""
    times = []
    with app.app_context():
        for index in range(count):
            started = time.perf_counter()
            submission = submit_one(assignment_id, users[index % len(users)], code)
            if queued:
                wait_stored(submission.id)
            times.append(time.perf_counter() - started)
        db.session.remove()
    return times


def start_workers(env: dict[str, str], log_dir: Path) -> list[subprocess.Popen]:
    procs = []
    for index in range(WORKERS):
        log = (log_dir / f"worker-{index}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "grader.jobs", "worker", "-Q", "grading", "--pool", POOL,
             "-n", f"bench{index}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True))
    deadline = time.monotonic() + 120
    for index in range(WORKERS):
        while " ready." not in (log_dir / f"worker-{index}.log").read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise SystemExit(f"worker {index} did not start: see {log_dir}")
            time.sleep(0.1)
    return procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--latency", type=int, default=30)
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gradgate-bench-jobs-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    prefix = f"gg-bench-{uuid.uuid4().hex[:8]}:"
    celery_config = {"SQLALCHEMY_DATABASE_URI": url, "GRADING_BACKEND": "celery", "CELERY_BROKER_URL": args.broker,
                     "CELERY_KEY_PREFIX": prefix}
    local_app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    celery_app = create_app("testing", celery_config)
    assignment_id, users, code = setup(local_app)
    env = {**os.environ, "GRADGATE_CONFIG": "testing", "TEST_DATABASE_URL": url, "GRADING_BACKEND": "celery",
           "CELERY_BROKER_URL": args.broker, "CELERY_KEY_PREFIX": prefix, "SANDBOX_SLOTS": "1",
           "PYTHONPATH": str(ROOT)}
    procs = start_workers(env, tmp)
    try:
        print(f"{EXERCISE}, {args.submissions} submissions from {THREADS} threads; database {url.split(':')[0]}")
        burst(local_app, assignment_id, users, code, 4, drain=False)  # warm: the pool's fork servers
        burst(celery_app, assignment_id, users, code, 4 * WORKERS, drain=True)  # warm: each worker's pool
        local_s = burst(local_app, assignment_id, users, code, args.submissions, drain=False)
        celery_s = burst(celery_app, assignment_id, users, code, args.submissions, drain=True)
        local_rate, celery_rate = args.submissions / local_s, args.submissions / celery_s
        ratio = celery_rate / local_rate
        print(f"in process ({THREADS} threads, a pool of 2 slots):  {local_rate:7.1f} submissions/s")
        print(f"Celery ({WORKERS} grading workers, 1 slot each):     {celery_rate:7.1f} submissions/s")
        print(f"ratio Celery / in process: {ratio:.2f} (target >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'})")
        local_p50 = statistics.median(latencies(local_app, assignment_id, users, code, args.latency, queued=False))
        celery_p50 = statistics.median(latencies(celery_app, assignment_id, users, code, args.latency, queued=True))
        print(f"p50 latency, one at a time: in process {local_p50 * 1000:.1f} ms, Celery {celery_p50 * 1000:.1f} ms, "
              f"added {(celery_p50 - local_p50) * 1000:.1f} ms")
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        import redis

        client = redis.Redis.from_url(args.broker)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


if __name__ == "__main__":
    main()
