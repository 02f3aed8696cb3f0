"""The job model: a long piece of background work (a catalogue import, a large export, a regrade, grade
passback) with its progress, which pages, the API and the CLI read while a worker runs it; and a job's output
file (an export), kept in the database: the one store every web host and worker shares (files are not)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from grader.models import db, utcnow

JOB_STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    """`done` of `total` steps (total None until the job knows it); `errors` are the steps that failed, each
    {"step", "message"}; `params` what to do, `result` what came of it (both JSON)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class JobOutput(db.Model):
    """The file a job made (the gradebook CSV of a large course), served by any web host for download. Its own
    table, so that reading a job's progress never loads it."""

    __tablename__ = "job_outputs"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
