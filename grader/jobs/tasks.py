"""The tasks, registered on each Flask app's Celery app (grader.jobs.init_celery), and the worker's start-up
check: a worker that would consume the grading queue without a sandbox that isolates refuses that queue.

    gradgate.grade_submission(id)   grade one queued submission and store it (once; a repeat is a no-op)
    gradgate.requeue_stale()        send again the submissions queued longer than REQUEUE_AFTER_S (beat)
    gradgate.run_job(id)            a long job with progress (grader.jobs.progress; kinds in grader.jobs.catalogue,
                                    grader.jobs.gradebook)
    gradgate.lti_send_scores()      send the LTI score outbox's due rows to the platforms (grader.lti.outbox)
    gradgate.lti_sync_rosters()     the platforms' course rosters into Gradgate's courses (grader.lti.nrps; beat)
"""

from __future__ import annotations

import logging

from celery import Celery, Task
from celery.signals import celeryd_after_setup
from flask import current_app
from sqlalchemy.exc import DBAPIError, OperationalError

from grader.jobs import TASK_GRADE, TASK_LTI_ROSTERS, TASK_LTI_SEND, TASK_REQUEUE, TASK_RUN_JOB
from grader.models import db

log = logging.getLogger(__name__)

DB_RETRY_MAX_S = 30


def _db_retry(task: Task, exc: Exception) -> Exception:
    """The database is unreachable (restarting, a network cut): try again later, backing off; the message
    stays unacknowledged meanwhile only until the retry is sent."""
    db.session.rollback()
    log.warning("%s: database unavailable (%s); retrying", task.name, type(exc).__name__)
    return task.retry(exc=exc, countdown=min(2 ** task.request.retries * 0.5, DB_RETRY_MAX_S), max_retries=None)


def register(celery: Celery) -> None:
    from grader.jobs import catalogue, gradebook, regrade  # noqa: F401  (register their job kinds)
    from grader.jobs.progress import run_job as run_job_now
    from grader.service.queued import grade_queued, send_grading, stale_queued

    @celery.task(name=TASK_GRADE, bind=True, acks_late=True, reject_on_worker_lost=True, shared=False)
    def grade_submission(self: Task, submission_id: int) -> str | None:
        try:
            return grade_queued(submission_id)
        except DBAPIError as exc:
            if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
                raise  # a bug, not an outage
            raise _db_retry(self, exc) from exc

    @celery.task(name=TASK_RUN_JOB, bind=True, acks_late=True, reject_on_worker_lost=True, shared=False)
    def run_job(self: Task, job_id: int) -> str | None:
        try:
            return run_job_now(job_id)
        except OperationalError as exc:
            raise _db_retry(self, exc) from exc

    @celery.task(name=TASK_LTI_SEND, bind=True, acks_late=True, reject_on_worker_lost=True, shared=False)
    def lti_send_scores(self: Task) -> dict[str, int]:
        from grader.lti.outbox import send_pending

        try:
            return send_pending()
        except OperationalError as exc:
            raise _db_retry(self, exc) from exc

    @celery.task(name=TASK_LTI_ROSTERS, bind=True, shared=False)
    def lti_sync_rosters(self: Task) -> dict[str, int]:
        from grader.lti.nrps import sync_all

        try:
            return sync_all()
        except OperationalError as exc:
            raise _db_retry(self, exc) from exc

    @celery.task(name=TASK_REQUEUE, bind=True, shared=False)
    def requeue_stale(self: Task) -> int:
        try:
            stale = stale_queued(current_app.config["REQUEUE_AFTER_S"])
        except OperationalError as exc:
            raise _db_retry(self, exc) from exc
        if stale:
            log.warning("sending again %d submission(s) still queued: %s", len(stale), stale[:20])
        return send_grading(stale)


@celeryd_after_setup.connect
def refuse_grading_without_isolation(sender: str, instance, **_: object) -> None:
    """A worker on a host that cannot isolate submitted code does not consume the grading queue (unless
    SANDBOX_ALLOW_WEAK), and says why in its log; its other queues are served as usual."""
    app = instance.app
    grading = app.conf.task_routes.get(TASK_GRADE, {}).get("queue") if app.conf.task_routes else None
    if grading is None or grading not in app.amqp.queues.consume_from:
        return
    from grader.sandbox import Limits, check_capabilities

    capabilities = check_capabilities()
    wanted = Limits().isolation
    if capabilities.available(wanted) == wanted or app.conf.get("sandbox_allow_weak"):
        return
    app.amqp.queues.deselect([grading])
    log.error("worker %s refuses the %r queue: this host cannot isolate submitted code (%s). Fix the host "
              "or set SANDBOX_ALLOW_WEAK=1 to grade with weaker isolation.", sender, grading,
              capabilities.describe())
