"""What /healthz says of the background work: whether the broker answers, which workers answer a ping, and
how many jobs wait in each queue. Short time-outs: a health check must answer quickly, also when Redis is down.

Without a broker (the embedded default) jobs run in the web process and there is nothing to report but that.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Flask

PING_TIMEOUT_S = 0.5


def jobs_health(app: Flask, ping_timeout_s: float = PING_TIMEOUT_S) -> dict[str, Any]:
    celery: Celery = app.extensions["celery"]
    config = app.config
    if not config.get("CELERY_BROKER_URL"):
        return {"backend": config.get("GRADING_BACKEND", "local"), "broker": "none (jobs run in this process)"}
    queues = [config["GRADING_QUEUE"], config["DEFAULT_QUEUE"]]
    report: dict[str, Any] = {"backend": config.get("GRADING_BACKEND", "local"), "broker": "ok", "queues": {},
                              "workers": []}
    try:
        with celery.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=ping_timeout_s)
            channel = connection.default_channel
            for queue in queues:
                # Declared (idempotent) rather than checked: kombu's passive check misses a prefixed Redis queue.
                report["queues"][queue] = channel.queue_declare(queue=queue).message_count
    except Exception as exc:  # kombu raises the transport's errors (redis ConnectionError, OperationalError, ...)
        report.update(broker=f"unreachable ({type(exc).__name__})", queues={q: None for q in queues})
        return report
    replies = celery.control.ping(timeout=ping_timeout_s) or []
    report["workers"] = sorted(name for reply in replies for name in reply)
    return report
