"""Real Celery workers for the jobs tests: `python -m celery -A grader.jobs worker` subprocesses on the shared
Redis (each test's own key prefix, so parallel runs never take each other's tasks) and a database both the
test and the worker see (a file SQLite in tmp_path, or this pytest worker's PostgreSQL database)."""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from grader import authoring
from grader.models import Assignment, Course, Exercise, Membership, Submission, User, db
from tests.api.conftest import catalogue_documents
from tests.conftest import app_on

ROOT = Path(__file__).resolve().parents[2]
SHARED_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RELU_RIGHT = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z > 0)\n"
WORKER_READY_S = 90.0
VISIBILITY_S = 4  # a killed worker's message is delivered again this soon


@dataclass
class Deployment:
    """What a worker needs to serve a test's app: the same database, broker and key prefix."""

    database_url: str
    broker_url: str
    prefix: str = field(default_factory=lambda: f"gg-test-{uuid.uuid4().hex[:10]}:")

    def config(self) -> dict[str, Any]:
        return {"SQLALCHEMY_DATABASE_URI": self.database_url, "GRADING_BACKEND": "celery",
                "CELERY_BROKER_URL": self.broker_url, "CELERY_KEY_PREFIX": self.prefix,
                "CELERY_VISIBILITY_TIMEOUT": VISIBILITY_S}

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY", "GRADING"))}
        env.update(GRADGATE_CONFIG="testing", TEST_DATABASE_URL=self.database_url, GRADING_BACKEND="celery",
                   CELERY_BROKER_URL=self.broker_url, CELERY_KEY_PREFIX=self.prefix,
                   CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_S), SANDBOX_SLOTS="1", PYTHONPATH=str(ROOT))
        env.update(extra)
        return env


class Worker:
    """One `celery worker` process group (main process, pool children, their sandbox fork servers)."""

    def __init__(self, deployment: Deployment, log_dir: Path, *, queues: str = "grading,default",
                 concurrency: int = 1, name: str | None = None, wrap: list[str] | None = None, **env: str) -> None:
        self.name = name or f"w{uuid.uuid4().hex[:6]}"
        self.log = log_dir / f"worker-{self.name}.log"
        command = [sys.executable, "-m", "celery", "-A", "grader.jobs", "worker", "-Q", queues,
                   "--concurrency", str(concurrency), "-n", f"{self.name}@%h", "--without-gossip",
                   "--without-mingle", "-l", "INFO"]
        if wrap:  # e.g. setpriv, to start it without some capabilities
            command = [*wrap, *command]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=deployment.env(**env), stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = WORKER_READY_S) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.text():
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}):\n{self.text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker not ready in {timeout} s:\n{self.text()[-3000:]}")

    def kill9(self) -> None:
        """kill -9 of the worker and everything it started (no warm shutdown, nothing acknowledged)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(15)
        self.kill9()


@pytest.fixture
def workers(tmp_path) -> Iterator[list[Worker]]:
    """Started workers, stopped (or killed) at the end of the test."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill9()  # the test is over: no warm shutdown to wait for


# The slow tests (bursts, outages) run on one database: PostgreSQL where TEST_DATABASE_URL is set (CI), else a
# file SQLite; the submission tests run on both.
ONE_BACKEND = pytest.mark.parametrize("backend", ["postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"],
                                      indirect=True)


def start_worker(started: list[Worker], deployment: Deployment, log_dir: Path, **options: Any) -> Worker:
    worker = Worker(deployment, log_dir, **options)
    started.append(worker)
    return worker.wait_ready()


def follow_job(client: Any, url: str, headers: dict[str, str], timeout: float = 60.0) -> tuple[dict, list]:
    """Read a job's JSON as the page's script does until it ends: its last answer and every
    (state, done, total) seen on the way."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        body = client.get(url, headers=headers).get_json()
        seen.append((body["state"], body["done"], body["total"]))
        if body["state"] in ("done", "failed") or time.monotonic() > deadline:
            return body, seen
        time.sleep(0.02)


def database_url(backend: str, database_urls: dict[str, str | None], tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'gradgate.db'}"
    url = database_urls["postgresql"]
    assert url is not None
    return url


@pytest.fixture
def deployment(backend, database_urls, tmp_path) -> Deployment:
    return Deployment(database_url(backend, database_urls, tmp_path), SHARED_REDIS)


@pytest.fixture
def jobs_app(deployment) -> Iterator[Flask]:
    with app_on(deployment.database_url, **deployment.config()) as app:
        yield app
    forget_keys(deployment)


def forget_keys(deployment: Deployment) -> None:
    """Delete this test's keys (its prefix only) from the shared Redis."""
    import redis

    client = redis.Redis.from_url(deployment.broker_url)
    try:
        keys = list(client.scan_iter(match=deployment.prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.ConnectionError:
        pass  # a test's own Redis, stopped already
    finally:
        client.close()


def code_course(students: int = 1, attempt_limit: int | None = None) -> tuple[Assignment, list[User]]:
    """bp101 with `students` students (student0, ...; password "<name>-password") and the ReLU code exercise."""
    for document in catalogue_documents(current_app.config["EXERCISES_DIR"]):
        if document["id"] == "code-relu-backward":
            authoring.save_exercise(copy.deepcopy(document))
    course = Course(code="bp101", title="Backprop 101")
    db.session.add(course)
    users = []
    for index in range(students):
        # A cheap hash: these tests sign in, but are not about passwords (scrypt costs ~0.1 s a user).
        user = User(username=f"student{index}", name=f"Student {index}", role="student",
                    password_hash=generate_password_hash(f"student{index}-password", method="pbkdf2:sha256:1000"))
        users.append(user)
        db.session.add_all([user, Membership(user=user, course=course)])
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "code-relu-backward"))
    assignment = Assignment(course=course, exercise=exercise, title="ReLU backward", attempt_limit=attempt_limit)
    db.session.add(assignment)
    db.session.commit()
    return assignment, users


def wait_graded(ids: list[int] | None = None, timeout: float = 60.0) -> list[Submission]:
    """Wait until no submission (of `ids`, or at all) is queued; the submissions."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        query = select(func.count()).select_from(Submission).where(Submission.status == "queued")
        if ids is not None:
            query = query.where(Submission.id.in_(ids))
        left = db.session.scalar(query)
        if not left:
            return list(db.session.scalars(select(Submission).order_by(Submission.id)))
        if time.monotonic() > deadline:
            raise AssertionError(f"{left} submission(s) still queued after {timeout} s")
        time.sleep(0.2)
