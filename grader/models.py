"""SQLAlchemy 2.x models: accounts, courses, exercises (versioned), problem sets and their items, variants,
submissions, tokens.

SQLite (the instance folder) by default, PostgreSQL through DATABASE_URL. Alembic migrations in migrations/
must match these models (a test autogenerates against them and expects no drift).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, ForeignKey, MetaData, String, Text, UniqueConstraint, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

# Named constraints so migrations can alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

ROLES = ("student", "instructor", "admin")
COURSE_ROLES = ("student", "ta", "instructor")  # a TA sees and grades the course, changes nothing


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # stored naive in UTC: SQLite keeps no zone


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # For the staff's eyes (the roster, a student's work, the gradebook's CSV); Gradgate sends no mail.
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default="student")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def course_role(self, course_id: int) -> str | None:
        """'instructor', 'ta', 'student' or None in a course; admins act as instructors everywhere."""
        if self.role == "admin":
            return "instructor"
        for membership in self.memberships:
            if membership.course_id == course_id:
                return membership.role
        return None


class Course(db.Model):
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="course", cascade="all, delete-orphan")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="course", cascade="all, delete-orphan")


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="student")

    user: Mapped[User] = relationship(back_populates="memberships")
    course: Mapped[Course] = relationship(back_populates="memberships")


class Exercise(db.Model):
    """An exercise by its slug; its definitions live in versions (editing makes a new one).

    `owner_id` is who created it through the API; None for the built-in catalogue and files imported by an
    administrator. Only the owner and administrators may change it: other instructors use it as it is, or
    copy it under an id of their own (an edit reaches every course that assigns it)."""

    __tablename__ = "exercises"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    current_version: Mapped[int] = mapped_column(default=1)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ExerciseVersion]] = relationship(back_populates="exercise",
                                                           order_by="ExerciseVersion.version")
    owner: Mapped[User | None] = relationship()

    @property
    def current(self) -> ExerciseVersion:
        return next(v for v in self.versions if v.version == self.current_version)


class ExerciseVersion(db.Model):
    __tablename__ = "exercise_versions"
    __table_args__ = (UniqueConstraint("exercise_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The YAML as its author wrote it (None: saved as JSON, or from before sources were kept); diffs show it.
    source: Mapped[str | None] = mapped_column(Text)
    # The question-test report at save, or the last run on demand ({passed, failures, ...}; None: not run).
    # A version whose tests failed is a draft: it can be previewed but not assigned.
    checks: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    author: Mapped[User | None] = relationship(foreign_keys=[created_by])
    exercise: Mapped[Exercise] = relationship(back_populates="versions")


class Assignment(db.Model):
    """A problem set placed in a course: one or more exercises (its items, in order, each with its points and
    attempt limit) under one due date, late policy, visibility and solution policy. Its score is the sum of
    what its items earn.

    `Assignment(course=..., exercise=..., points=..., attempt_limit=...)` still builds a set of one, the
    shape every assignment had before problem sets."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime | None]
    late_policy: Mapped[str] = mapped_column(String(20), default="reject")  # reject | penalty | accept
    late_penalty: Mapped[float] = mapped_column(default=0.0)  # fraction of the score taken off when late
    visible: Mapped[bool] = mapped_column(default=True)
    scoring: Mapped[str] = mapped_column(String(10), default="best")  # best | last
    solution_policy: Mapped[str] = mapped_column(String(20), default="after_due")  # never|after_due|always
    # Where the set stands among the course's (ascending; equal positions keep the due-date order).
    position: Mapped[int] = mapped_column(default=0)
    # Retired: hidden from students, and may be deleted even with submissions (they go with it).
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship(back_populates="assignments")
    overrides: Mapped[list[AssignmentOverride]] = relationship(back_populates="assignment",
                                                               cascade="all, delete-orphan")
    items: Mapped[list[AssignmentItem]] = relationship(back_populates="assignment", cascade="all, delete-orphan",
                                                       order_by="AssignmentItem.position")

    def __init__(self, *, exercise: Exercise | None = None, points: float = 1.0, attempt_limit: int | None = None,
                 **fields: Any) -> None:
        super().__init__(**fields)
        if exercise is not None:
            self.items.append(AssignmentItem(exercise=exercise, position=1, points=points,
                                             attempt_limit=attempt_limit))

    @property
    def points(self) -> float:
        """The most the set earns: the sum of its items' points."""
        return round(sum(item.points for item in self.items), 6)

    @property
    def attempt_limit(self) -> int | None:
        """A set of one: its exercise's attempt limit (None for a larger set, whose limits are per item)."""
        return self.single.attempt_limit if self.single is not None else None

    @attempt_limit.setter
    def attempt_limit(self, value: int | None) -> None:
        if self.single is None:
            raise ValueError("a problem set of several exercises has an attempt limit per exercise")
        self.single.attempt_limit = value

    @property
    def single(self) -> AssignmentItem | None:
        """The only item of a set of one (None for a larger set)."""
        return self.items[0] if len(self.items) == 1 else None

    @property
    def exercise(self) -> Exercise:
        """The first exercise: the exercise of a set of one (pages and API calls that name no exercise)."""
        return self.items[0].exercise

    def item_for(self, exercise_slug: str | None) -> AssignmentItem | None:
        """The item that places this exercise (by slug), or the only item when none is named."""
        if exercise_slug is None:
            return self.single
        return next((item for item in self.items if item.exercise.slug == exercise_slug), None)


class AssignmentItem(db.Model):
    """One exercise of a problem set, at its position, with its points and its attempt limit (None: the
    exercise's own `attempts`, else unlimited)."""

    __tablename__ = "assignment_items"
    __table_args__ = (UniqueConstraint("assignment_id", "exercise_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    points: Mapped[float] = mapped_column(default=1.0)
    attempt_limit: Mapped[int | None]

    assignment: Mapped[Assignment] = relationship(back_populates="items")
    exercise: Mapped[Exercise] = relationship()


class AssignmentOverride(db.Model):
    """One student's exception to a problem set's terms: a later due date and/or extra attempts at each of its
    exercises. A group of students gets one row each."""

    __tablename__ = "assignment_overrides"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime | None]  # None: the set's own
    extra_attempts: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="overrides")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ManualScore(db.Model):
    """Points an instructor or TA set by hand for one student's problem set, in place of what its submissions
    earn, until removed. Why, and what it replaced, is in the grade log."""

    __tablename__ = "manual_scores"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    points: Mapped[float]
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    assignment: Mapped[Assignment] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    setter: Mapped[User | None] = relationship(foreign_keys=[set_by])


class GradeChange(db.Model):
    """The audit log of manual scores: who set or removed one, when, the score before and after (None: what
    the submissions earn) and why. Rows are only ever added; they outlive the manual score they describe."""

    __tablename__ = "grade_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    old_points: Mapped[float | None]
    new_points: Mapped[float | None]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    assignment: Mapped[Assignment] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class Variant(db.Model):
    """A student's own numbers: the seed is derived from student and exercise, and kept."""

    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("user_id", "exercise_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"), index=True)
    seed: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Submission(db.Model):
    """One submission, graded and stored atomically with its score and feedback.

    `item_id` is the exercise of the problem set it answers (`assignment_id` is that item's set, kept so a
    set's submissions are one index away). `attempt` numbers the graded submissions of a student at an item;
    the unique constraint makes the attempt limit hold under concurrency. Format errors and infrastructure
    failures have no attempt number.
    """

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("item_id", "user_id", "attempt"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("assignment_items.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exercise_version_id: Mapped[int] = mapped_column(ForeignKey("exercise_versions.id"))
    seed: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))  # numeric | code
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    code: Mapped[str | None] = mapped_column(Text)
    # graded | invalid | error | queued (a grading worker has it); indexed for the resend of queued ones
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempt: Mapped[int | None]
    score: Mapped[float | None]  # in [0, 1], before the late penalty
    points: Mapped[float | None]  # what it earns towards the assignment
    late: Mapped[bool] = mapped_column(default=False)
    feedback: Mapped[dict[str, Any]] = mapped_column(JSON)
    mistakes: Mapped[list[str]] = mapped_column(JSON, default=list)
    grading_ms: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    assignment: Mapped[Assignment] = relationship()
    item: Mapped[AssignmentItem] = relationship()
    exercise_version: Mapped[ExerciseVersion] = relationship()


SCOPES = ("exercises:read", "exercises:write", "submissions:read", "submissions:write", "gradebook:read",
          "gradebook:write", "courses:read", "courses:write", "users:write")


def hash_token(token: str) -> str:
    # Tokens are long random strings, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    # The token that created this one (None: made by a signed-in person or the command line). Revoking a
    # token revokes what it made, so a leaked token cannot leave children behind.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in listings so a user can tell tokens apart
    scopes: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    @classmethod
    def issue(cls, user: User, scopes: list[str], name: str = "", expires_at: datetime | None = None,
              parent: ApiToken | None = None) -> tuple[ApiToken, str]:
        """A new token and its secret text (shown once; only its hash is stored)."""
        secret = "gg_" + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, token_hash=hash_token(secret), prefix=secret[:10], scopes=list(scopes),
                    expires_at=expires_at, parent_id=parent.id if parent is not None else None)
        return token, secret

    def lineage(self) -> set[int]:
        """This token's id and its ancestors' (who created it, who created that, ...)."""
        ids, token = {self.id}, self
        while token.parent_id is not None and token.parent_id not in ids:
            ids.add(token.parent_id)
            token = db.session.get(ApiToken, token.parent_id)
            if token is None:
                break
        return ids

    def revoke(self, now: datetime | None = None) -> list[ApiToken]:
        """Revoke this token and every token it created, at any depth (already revoked ones keep their
        time). Returns them; the caller commits."""
        now = now or utcnow()
        found, seen, frontier = [self], {self.id}, [self.id]
        while frontier:  # `seen` stops at a cycle, which only a hand-edited database could hold
            children = db.session.scalars(select(ApiToken).where(ApiToken.parent_id.in_(frontier),
                                                                 ApiToken.id.not_in(seen))).all()
            found += children
            seen |= {child.id for child in children}
            frontier = [child.id for child in children]
        for token in found:
            token.revoked_at = token.revoked_at or now
        return found

    def usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


from grader.jobs.models import Job, JobOutput  # noqa: E402,F401  (its own module; imported here so the schema is complete)
from grader.lti import models as lti_models  # noqa: E402,F401  (LTI registrations, links, the score outbox)
from grader.regrade_models import Regrade, RegradeChange  # noqa: E402,F401  (likewise)
