"""Nothing lost when the broker or the database goes away in the middle of a burst: a Redis of the test's own
stopped for 10 s (its messages gone with it: no persistence), and a PostgreSQL cluster of its own restarted.
Every accepted submission is graded once, attempts numbered without gaps."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.exc import OperationalError

from grader import service
from grader.jobs import TASK_REQUEUE
from grader.models import db
from tests.conftest import app_on
from tests.jobs.conftest import (
    ONE_BACKEND,
    RELU_RIGHT,
    Deployment,
    code_course,
    database_url,
    forget_keys,
    start_worker,
    wait_graded,
)
from tests.jobs.outages import OwnPostgres, OwnRedis
from tests.jobs.test_nothing_lost import check_all_graded_once

pytestmark = pytest.mark.celery

STUDENTS = 3


def submit_retrying(user, assignment, attempts: int = 100) -> int:
    """What a client does when the service answers 500 (the database restarting): submit again. Only a
    submission the service accepted (returned) counts."""
    for _ in range(attempts):
        try:
            return service.submit(user, assignment, code=RELU_RIGHT).id
        except OperationalError:
            db.session.rollback()
            time.sleep(0.2)
    raise AssertionError("the database did not come back")


@ONE_BACKEND
def test_redis_stopped_10_s_during_a_burst_loses_nothing(backend, database_urls, tmp_path, workers):
    redis = OwnRedis().start()
    deployment = Deployment(database_url(backend, database_urls, tmp_path), redis.url)
    try:
        with app_on(deployment.database_url, **deployment.config(), REQUEUE_AFTER_S=0.5) as app:
            assignment, users = code_course(students=STUDENTS)
            start_worker(workers, deployment, tmp_path)
            ids = [service.submit(users[i % STUDENTS], assignment, code=RELU_RIGHT).id for i in range(9)]
            redis.stop()  # mid-burst: what it held (queued jobs, the worker's unacknowledged one) is lost
            down = time.monotonic()
            while time.monotonic() - down < 10:  # accepted and stored all the same, their jobs not sent
                if len(ids) >= 21:  # enough while it is down; the rest of the 30 once it is back
                    time.sleep(0.5)
                    continue
                started = time.monotonic()
                ids.append(service.submit(users[len(ids) % STUDENTS], assignment, code=RELU_RIGHT).id)
                assert time.monotonic() - started < 3, "a submission waited for the broker"
            redis.start()
            while len(ids) < STUDENTS * 10:
                ids.append(service.submit(users[len(ids) % STUDENTS], assignment, code=RELU_RIGHT).id)
            time.sleep(1)  # the stranded ones are now older than REQUEUE_AFTER_S
            app.extensions["celery"].tasks[TASK_REQUEUE].apply()  # what beat runs every minute
            rows = wait_graded(timeout=60)
            assert sorted(s.id for s in rows) == sorted(ids)
            check_all_graded_once(rows, students=STUDENTS, per_student=10)
    finally:
        forget_keys(deployment)
        redis.stop()


def test_postgresql_restarted_during_a_burst_loses_nothing(tmp_path, workers):
    postgres = OwnPostgres().start()
    try:
        deployment = Deployment(postgres.url, "redis://127.0.0.1:6379/0")
        with app_on(deployment.database_url, **deployment.config()) as app:
            assignment, users = code_course(students=STUDENTS)
            start_worker(workers, deployment, tmp_path)
            ids = [submit_retrying(users[i % STUDENTS], assignment) for i in range(12)]
            postgres.stop("fast")  # the worker is grading the burst: its reads and writes fail meanwhile
            time.sleep(2)
            postgres.start()
            while len(ids) < STUDENTS * 10:
                ids.append(submit_retrying(users[len(ids) % STUDENTS], assignment))
            rows = wait_graded(timeout=60)
            assert sorted(s.id for s in rows) == sorted(ids)
            check_all_graded_once(rows, students=STUDENTS, per_student=10)
            assert app.extensions["celery"].tasks  # the app still serves
        forget_keys(deployment)
    finally:
        for worker in workers:
            worker.kill9()
        postgres.remove()
