"""Regrade records and per-submission history (grader.service.regrade): one row per committed regrade (the audit
record: who, when, why, what scope, what change, the counts), and one per submission it changed, keeping the
score, points, feedback, mistakes and exercise version from before (undo restores them) and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.models import Assignment, db, utcnow

REGRADE_STATES = ("queued", "committed", "refused", "undone")


class Regrade(db.Model):
    """A commit of a dry run. `params` is what was asked (item, students, change, never_lower); `fingerprint`
    the dry run's digest of the rows it read and of its outcomes, which the job checks before changing
    anything; `submission_ids` the rows that dry run read (submissions stored since are not in the plan).
    `counts` is what came of it (changed, kept, numbers differ, ...). The row is the audit record too."""

    __tablename__ = "regrades"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    submission_ids: Mapped[list[int]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    committed_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    assignment: Mapped[Assignment] = relationship()


class RegradeChange(db.Model):
    """One submission a regrade changed: its values before (restored by undo, feedback included) and its new
    score, points, mistakes and version (the new feedback is the submission's). Unique per (regrade,
    submission): a commit delivered twice writes each once, and skips what it wrote already."""

    __tablename__ = "regrade_changes"
    __table_args__ = (UniqueConstraint("regrade_id", "submission_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # (regrade, submission) is unique: that key finds a regrade's rows. The user and the versions are the
    # submission's (no keys of their own: the submission's are checked again when undo writes them back)
    regrade_id: Mapped[int] = mapped_column(ForeignKey("regrades.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int]
    old_score: Mapped[float | None]
    old_points: Mapped[float | None]
    old_feedback: Mapped[dict[str, Any]] = mapped_column(JSON)
    old_mistakes: Mapped[list[str]] = mapped_column(JSON)
    old_version_id: Mapped[int]
    new_score: Mapped[float | None]
    new_points: Mapped[float | None]
    new_mistakes: Mapped[list[str]] = mapped_column(JSON)
    new_version_id: Mapped[int]
