"""Background work on Celery: code grading on grading hosts, periodic resends, long jobs with progress.

    celery -A grader.jobs worker -Q grading     # a grading host: the only place with a sandbox pool
    celery -A grader.jobs worker -Q default     # other jobs (catalogue imports, exports)
    celery -A grader.jobs beat                  # the periodic resend of submissions still queued

The Celery app is built from the Flask app's configuration (init_celery, called by create_app): broker
CELERY_BROKER_URL, queues GRADING_QUEUE and DEFAULT_QUEUE, and every task runs inside the Flask app context.
`-A grader.jobs` creates the Flask app (GRADGATE_CONFIG, DATABASE_URL, ... as for the web) on first use of
`grader.jobs.app`. Without CELERY_BROKER_URL tasks run in the calling process (eager): the embedded default.

Delivery: tasks are acknowledged late and rejected (so re-queued) when their worker process dies; Redis
delivers again a message not acknowledged within CELERY_VISIBILITY_TIMEOUT (its worker was killed outright).
Grading is idempotent (grader.service.queued), so a second delivery stores nothing.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app, has_app_context
from kombu import Exchange, Queue

TASK_GRADE = "gradgate.grade_submission"
TASK_REQUEUE = "gradgate.requeue_stale"
TASK_RUN_JOB = "gradgate.run_job"
TASK_LTI_SEND = "gradgate.lti_send_scores"
TASK_LTI_ROSTERS = "gradgate.lti_sync_rosters"
LTI_ROSTERS_EVERY_S = 6 * 3600.0
LTI_SEND_EVERY_S = 30.0
REQUEUE_EVERY_S = 60.0


def init_celery(app: Flask) -> Celery:
    """A Celery app for this Flask app (kept in app.extensions["celery"]), with the tasks registered."""

    class AppContextTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if has_app_context() and current_app._get_current_object() is app:  # eager, inside a request
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    config = app.config
    broker = config.get("CELERY_BROKER_URL")
    grading, default = config["GRADING_QUEUE"], config["DEFAULT_QUEUE"]
    celery = Celery(app.import_name, task_cls=AppContextTask, set_as_current=False)
    celery.conf.update(
        broker_url=broker or "memory://",
        result_backend=config.get("CELERY_RESULT_BACKEND"),
        task_ignore_result=not config.get("CELERY_RESULT_BACKEND"),  # results live in the database
        task_always_eager=not broker,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a slow grading job holds back no other job
        task_default_queue=default,
        # One exchange and routing key per queue: a message sent to one queue is in that queue alone.
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in (grading, default)],
        task_default_exchange=default, task_default_routing_key=default,
        task_routes={TASK_GRADE: {"queue": grading, "routing_key": grading}},
        broker_transport_options=_transport_options(config),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for Redis to come back
        # A request that cannot reach Redis gives up quickly: the submission is stored and resent later.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        beat_schedule={"requeue-stale-submissions": {"task": TASK_REQUEUE, "schedule": REQUEUE_EVERY_S},
                       # scores waiting for a retry (the outbox also sends a task after each commit that queues)
                       "send-lti-scores": {"task": TASK_LTI_SEND, "schedule": LTI_SEND_EVERY_S},
                       "sync-lti-rosters": {"task": TASK_LTI_ROSTERS, "schedule": LTI_ROSTERS_EVERY_S}},
        worker_hijack_root_logger=False,
        sandbox_allow_weak=bool(config.get("SANDBOX_ALLOW_WEAK")),
    )
    from grader.jobs import tasks

    tasks.register(celery)
    app.extensions["celery"] = celery
    return celery


def _transport_options(config: Any) -> dict[str, Any]:
    """Redis: when an unacknowledged message is delivered again, how often to look, and the key prefix (several
    deployments, or test runs, sharing one Redis)."""
    visibility = config["CELERY_VISIBILITY_TIMEOUT"]
    options = {"visibility_timeout": visibility, "unacked_restore_interval": max(1, min(10, visibility // 4)),
               "unacked_restore_throttle": 1}
    if config.get("CELERY_KEY_PREFIX"):
        options["global_keyprefix"] = config["CELERY_KEY_PREFIX"]
    return options


def __getattr__(name: str) -> Any:
    """`celery -A grader.jobs`: the Celery app of a Flask app created from the environment, on first use."""
    if name in ("app", "celery"):
        from grader import create_app

        flask_app = create_app(os.environ.get("GRADGATE_CONFIG", "production"))
        globals()["app"] = globals()["celery"] = flask_app.extensions["celery"]
        return globals()[name]
    raise AttributeError(name)
