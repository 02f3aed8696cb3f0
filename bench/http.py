"""Numeric submissions per second through HTTP, against a floor endpoint on the same stack.

    .venv/bin/python bench/http.py [--requests 2000] [--seconds 60] [--clients 50]

One run: creates the PostgreSQL database `gradgate_bench` (dropped again at the end) on the test server
(BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test names the server), creates the tables,
seeds a course with one student per client (each with a token) and an assignment of `two-layer-random` (no
attempt limit), starts gunicorn with 2 workers (gthread, 4 threads each; BENCH_WORKER_ARGS overrides) on
127.0.0.1 at a free port with BENCH_FLOOR=1, then drives 50 concurrent clients (Python threads, one student
each, http.client with keep-alive, only to 127.0.0.1; bounded by a request count and a time limit) at:

  floor   POST /api/v1/_bench/floor: token auth, a validated JSON body, one INSERT, commit
  submit  POST /api/v1/assignments/{id}/submissions: the real thing (auth, access, attempts, the student's
          variant, grading with feedback and mistake diagnosis, storing with its attempt number); half the
          answers right, half wrong (so the diagnosis runs)

Alternating rounds (default 2) of each; prints every round's requests per second, then for the best round
of each endpoint its p50 and p99 latency, and the ratio submit/floor with PASS (>= 0.7) or MISS. The load
generator shares the machine with the server and the database; its cost per request is the same for both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the standard
# library's `http` package: drop the folder, put the repository root there instead.
HERE, ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

TARGET = 0.7
# gthread keeps connections alive and overlaps a worker's database waits; BENCH_WORKER_ARGS overrides
WORKER_ARGS = os.environ.get("BENCH_WORKER_ARGS", "--worker-class gthread --threads 4").split()
DB_NAME = "gradgate_bench"
EXERCISE = "two-layer-random"


@dataclass
class Result:
    name: str
    count: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(server: str) -> str:
    return make_url(server).set(drivername="postgresql+psycopg", database=DB_NAME).render_as_string(
        hide_password=False)


def recreate_database(server: str, drop_only: bool = False) -> None:
    admin = create_engine(make_url(server).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()


def seed(url: str, students: int) -> dict:
    """Tables, a course with `students` students (one per client, each with a token and their own variant),
    the assignment; each student's right and wrong answers."""
    from sqlalchemy import select

    from grader import authoring, create_app, service
    from grader.exercises import find
    from grader.models import ApiToken, Assignment, Course, Exercise, Membership, User, db

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        authoring.save_exercise(find(EXERCISE, app.config["EXERCISES_DIR"]).document)
        course = Course(code="bench", title="Bench")
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == EXERCISE))
        assignment = Assignment(course=course, exercise=exercise, title="bench", attempt_limit=None)
        db.session.add_all([course, assignment])
        people = []
        for i in range(students):
            student = User(username=f"bench-{i}", name=f"Bench {i}", role="student", password_hash="!")
            token, secret = ApiToken.issue(student, ["submissions:read", "submissions:write"], name="bench")
            db.session.add_all([student, Membership(user=student, course=course), token])
            people.append((student, secret))
        db.session.commit()
        clients = []
        for student, secret in people:
            _, variant = service.variant_for(student, exercise)
            right = {str(i): variant.expected(ask).tolist() for i, ask in enumerate(variant.exercise.asks)}
            clients.append({"token": secret, "right": right, "wrong": {k: _scale(v, 1.5) for k, v in right.items()}})
        info = {"clients": clients, "assignment": assignment.id, "version": exercise.current.id}
        db.session.remove()
        db.engine.dispose()
    return info


def _scale(value, factor: float):
    if isinstance(value, list):
        return [_scale(v, factor) for v in value]
    return value * factor


def start_server(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(16), "GRADGATE_CONFIG": "production"}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    # Each client sends far more than a person would; the limiter stays in the path (its cost is measured)
    # with a budget the run cannot reach.
    env["SUBMIT_RATE_LIMIT"] = "1000000 per minute"
    command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", *WORKER_ARGS,
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--chdir", str(ROOT),
               'grader:create_app("production", {"BENCH_FLOOR": True})']
    server = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("gunicorn did not start")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def drive(name: str, port: int, path: str, bodies: list[list[bytes]], tokens: list[str], expect: int,
          requests: int, seconds: float) -> Result:
    """One thread per token (a student), sharing a budget of `requests`, stopping early after `seconds`;
    thread i sends bodies[i] in turn."""
    lock = threading.Lock()
    issued = [0]
    latencies: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + seconds

    def worker(token: str, mine: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if issued[0] >= requests or time.monotonic() > stop_at:
                    break
                n = issued[0]
                issued[0] += 1
            body = mine[n % len(mine)]
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == expect
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except OSError:
                ok = False
                conn.close()
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(t, b)) for t, b in zip(tokens, bodies, strict=True)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(name, len(latencies), errors[0], time.perf_counter() - began, latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint and round (default 2000)")
    parser.add_argument("--seconds", type=float, default=60, help="time limit per endpoint and round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is compared")
    parser.add_argument("--server", default=os.environ.get("BENCH_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()

    recreate_database(args.server)
    url = database_url(args.server)
    server = None
    try:
        info = seed(url, args.clients)
        port = free_port()
        server = start_server(url, port)
        submit_path = f"/api/v1/assignments/{info['assignment']}/submissions"
        tokens = [c["token"] for c in info["clients"]]
        submit_bodies = [[json.dumps({"answers": c["right"]}).encode(), json.dumps({"answers": c["wrong"]}).encode()]
                         for c in info["clients"]]
        floor_bodies = [[json.dumps({"assignment_id": info["assignment"], "version_id": info["version"]}).encode()]
                        ] * args.clients
        common = {"tokens": tokens, "seconds": args.seconds}
        # warm both paths (imports, parsed definitions, connection pools) before measuring
        drive("warm", port, "/api/v1/_bench/floor", floor_bodies, expect=201, requests=200, **common)
        drive("warm", port, submit_path, submit_bodies, expect=201, requests=200, **common)
        floors, submits = [], []
        for _ in range(args.rounds):  # alternate, so that a busy moment of the machine hits both
            floors.append(drive("floor", port, "/api/v1/_bench/floor", floor_bodies, expect=201,
                                requests=args.requests, **common))
            submits.append(drive("submit", port, submit_path, submit_bodies, expect=201, requests=args.requests,
                                 **common))
        floor, submit = max(floors, key=lambda r: r.rps), max(submits, key=lambda r: r.rps)
    finally:
        if server is not None:
            stop_server(server)
        recreate_database(args.server, drop_only=True)

    print(f"gunicorn 2 workers ({' '.join(WORKER_ARGS)}), PostgreSQL, {args.clients} concurrent clients, "
          f"{os.cpu_count()} CPUs shared by server, database and load generator")
    for r in [*floors, *submits]:
        print(f"    round: {r.name:7s} {r.rps:8.1f} req/s")
    print("best round of each:")
    for r in (floor, submit):
        print(f"  {r.name:7s} {r.rps:8.1f} req/s   p50 {r.percentile(50):7.1f} ms   p99 {r.percentile(99):7.1f} ms"
              f"   ({r.count} ok, {r.errors} failed, {r.seconds:.1f} s)")
    ratio = submit.rps / floor.rps if floor.rps else 0.0
    failed = floor.errors + submit.errors
    verdict = "PASS" if ratio >= TARGET and failed == 0 else "MISS"
    print(f"numeric submissions/s vs floor: ratio {ratio:.2f} (target >= {TARGET}): {verdict}"
          + (f" ({failed} requests failed)" if failed else ""))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
