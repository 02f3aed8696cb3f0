"""LTI 1.3 models: the platforms registered (each with its deployments), who and what they launched (platform
users, contexts, resource links), the launch data store (state parameters and one-time nonces), and the score
outbox that grade passback (AGS) sends from.

Imported at the end of grader/models.py so the schema is complete (migration 0010)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grader.models import Assignment, Course, User, db, utcnow

OUTBOX_STATES = ("pending", "sending", "sent", "failed", "superseded", "unchanged")


class LtiRegistration(db.Model):
    """A platform (an LMS instance) that may launch Gradgate: its issuer and the client id it gave Gradgate,
    where its OIDC authorization, token and key-set endpoints are. One issuer may register several clients."""

    __tablename__ = "lti_registrations"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    keyset_url: Mapped[str] = mapped_column(String(1000))
    # The audience of the token request's assertion where the platform wants another than the token URL.
    auth_audience: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deployments: Mapped[list[LtiDeployment]] = relationship(back_populates="registration",
                                                            cascade="all, delete-orphan",
                                                            order_by="LtiDeployment.deployment_id")


class LtiDeployment(db.Model):
    """A placement of the tool in the platform (an account, a sub-account, a course): launches name it."""

    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registrations.id", ondelete="CASCADE"),
                                                 index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))

    registration: Mapped[LtiRegistration] = relationship(back_populates="deployments")


class LtiUser(db.Model):
    """A platform's user (issuer, sub) and the Gradgate account they launch as."""

    __tablename__ = "lti_users"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    sub: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class LtiContext(db.Model):
    """A platform's course (its context) and the Gradgate course it is tied to, with the services the launches
    offered (names and roles; the line items container)."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("registration_id", "context_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registrations.id", ondelete="CASCADE"),
                                                 index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    memberships_url: Mapped[str | None] = mapped_column(String(1000))
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    registration: Mapped[LtiRegistration] = relationship()
    course: Mapped[Course] = relationship()


class LtiResourceLink(db.Model):
    """A link placed in the platform's course, tied to a problem set (None until an instructor chooses one),
    and the gradebook column (line item) its scores go to once known."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("context_id", "resource_link_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("lti_contexts.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="SET NULL"), index=True)
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    context: Mapped[LtiContext] = relationship()
    assignment: Mapped[Assignment | None] = relationship()


class LtiLaunchValue(db.Model):
    """pylti1p3's launch data store (state parameters, nonces, validated launches) in the database: every web
    process sees it, and nothing depends on a cookie the LMS's iframe may block. A nonce is deleted when a
    launch uses it, so a replayed id_token finds none."""

    __tablename__ = "lti_launch_values"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LtiScore(db.Model):
    """The score outbox: a row per change of a student's score at a linked problem set, written in the same
    transaction as the change. The sender sends only the newest row per (resource link, user), and only when
    its score differs from the last one sent; older rows become `superseded`, a repeat `unchanged`."""

    __tablename__ = "lti_scores"
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_link_id: Mapped[int] = mapped_column(ForeignKey("lti_resource_links.id", ondelete="CASCADE"),
                                                  index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    score_given: Mapped[float | None]
    score_maximum: Mapped[float]
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    force: Mapped[bool] = mapped_column(default=False)  # "send again": sent even if the score is unchanged
    claimed_by: Mapped[str | None] = mapped_column(String(32))  # the sender run holding it while `sending`
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_try_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    resource_link: Mapped[LtiResourceLink] = relationship()
    user: Mapped[User] = relationship()
