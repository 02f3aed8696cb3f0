"""The code-submission tests run twice: with GRADING_BACKEND=local (the web process's sandbox pool, the default)
and with GRADING_BACKEND=celery against a real `celery worker` process on the shared Redis. A test takes part by
asking for the `grading_backend` fixture (tests/conftest.py parametrizes it); one worker per pytest process is
started on first use and shared by every such test (a worker costs seconds to start).

In celery mode the test's app is configured as tests/jobs' Deployment: a database both the test and the worker
see (this pytest process's PostgreSQL database where TEST_DATABASE_URL is set, else a file SQLite), the shared
Redis under a key prefix of this process's own, and SUBMIT_WAIT_S long enough for the API to answer 201 with
the worker's result. Celery mode runs on that one database, not on both: the jobs tests cover the two."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from grader.models import Submission, db

GRADED_WITHIN_S = 60.0
GRADED_LINE = r"Task gradgate\.grade_submission\[[^\]]+\] succeeded"
SUBMIT_WAIT_S = 30.0  # the API's wait for a worker's result (the worker's first grading starts its sandbox)


def celery_database() -> str:
    """The database the celery-mode tests run on: PostgreSQL where the suite has it (CI), else a file SQLite."""
    return "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"


# (database backend, grading backend) for the tests that take part
COMBINATIONS = [("sqlite", "local"), ("postgresql", "local"), (celery_database(), "celery")]


def require_redis(url: str) -> None:
    """Fail (never skip) at once where Redis cannot be reached: the celery mode is part of every run."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise AssertionError(f"no Redis at {url} ({exc}): the code-submission tests also run with "
                             f"GRADING_BACKEND=celery on a real worker; start Redis or set TEST_REDIS_URL") from exc
    finally:
        client.close()


@dataclass
class GradingBackend:
    """What a code-submission test needs to know of the mode it runs in."""

    name: str  # "local" or "celery"
    deployment: Any = None  # tests.jobs.conftest.Deployment (celery)
    worker: Any = None  # tests.jobs.conftest.Worker (celery), shared by this pytest process's tests

    def app_config(self) -> dict[str, Any]:
        if self.name == "local":
            return {}
        return {**self.deployment.config(), "SUBMIT_WAIT_S": SUBMIT_WAIT_S}

    def database_url(self, default: str) -> str:
        return default if self.name == "local" else self.deployment.database_url

    def __post_init__(self) -> None:
        self.graded_before = self.graded_by_worker()

    def graded_by_worker(self) -> int:
        """Gradings the shared worker has finished so far (its log says so for each)."""
        return 0 if self.worker is None else len(re.findall(GRADED_LINE, self.worker.text()))

    def wait(self, timeout: float = GRADED_WITHIN_S) -> None:
        """Wait until no submission is queued (celery: the worker has graded them; local: nothing to wait for),
        then let the session read the stored results afresh. In celery mode every code submission that got as
        far as the sandbox must have been graded by the worker: its log has a line for each."""
        if self.name == "local":
            return
        deadline = time.monotonic() + timeout
        while True:
            db.session.rollback()
            left = db.session.scalar(select(func.count()).select_from(Submission).where(Submission.status == "queued"))
            if not left:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{left} submission(s) still queued after {timeout} s; the worker's log:\n"
                                     f"{self.worker.text()[-3000:]}")
            time.sleep(0.05)
        db.session.expire_all()
        sandboxed = db.session.scalar(select(func.count()).select_from(Submission).where(
            Submission.kind == "code", Submission.status != "invalid"))
        graded = self.graded_by_worker() - self.graded_before
        assert graded >= sandboxed, f"{sandboxed} code submission(s) graded, {graded} of them by the worker"
        db.session.rollback()


def start_shared_worker(database_urls: dict[str, str | None], tmp: Path) -> tuple[Any, Any]:
    """This pytest process's grading worker (both queues, one process, one sandbox slot) and its deployment."""
    from tests.jobs.conftest import SHARED_REDIS, Deployment, Worker

    require_redis(SHARED_REDIS)
    url = database_urls["postgresql"] if celery_database() == "postgresql" else f"sqlite:///{tmp / 'gradgate.db'}"
    assert url is not None
    deployment = Deployment(url, SHARED_REDIS)
    return deployment, Worker(deployment, tmp, name=f"shared{os.getpid()}").wait_ready()
