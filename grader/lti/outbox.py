"""The score outbox: every change of a student's score at a problem set that an LMS link opens is queued here in
the transaction that changes it (score_changed, called by the service wherever scores change), and sent by
the `gradgate.lti_send_scores` task (send_pending).

Sending: per (resource link, user) only the newest row is sent, older pending ones become `superseded`; its
score is the student's score *now* (the gradebook's, manual scores included), and is sent only when it differs
from the last one sent (else `unchanged`), unless "send again" forced it. A 5xx, a time-out or a lost
connection is retried with backoff (LTI_RETRY_BASE_S × 2^attempts, at most LTI_RETRY_MAX_S) up to
LTI_MAX_ATTEMPTS; a refusal is `failed` with the platform's reason. A row being sent is claimed
(`sending`, with a lease): two senders never send it twice, and a worker killed mid-send leaves it to be
claimed again when the lease ends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import and_, func, or_, select, update

from grader.lti import ags
from grader.lti.models import LtiContext, LtiRegistration, LtiResourceLink, LtiScore, LtiUser
from grader.models import Assignment, Membership, User, db, utcnow

log = logging.getLogger(__name__)
LEASE_S = 120
BATCH = 500


def _id(thing: Any) -> int:
    return thing if isinstance(thing, int) else thing.id


def score_changed(assignment: Assignment | int, user: User | int | None = None) -> int:
    """Queue the score of `user` (None: every student of the course) at this problem set for every LMS link
    that opens it, in the caller's transaction (the caller commits). Returns how many rows were queued; one
    query and nothing else when no link opens the set."""
    assignment_id = _id(assignment)
    links = db.session.execute(select(LtiResourceLink.id, LtiRegistration.issuer, LtiContext.course_id)
                               .join(LtiContext, LtiResourceLink.context_id == LtiContext.id)
                               .join(LtiRegistration, LtiContext.registration_id == LtiRegistration.id)
                               .where(LtiResourceLink.assignment_id == assignment_id)).all()
    if not links:
        return 0
    points = db.session.get(Assignment, assignment_id).points
    queued = 0
    for link_id, issuer, course_id in links:
        # only students the platform knows (they launched, or a roster sync brought them): userId is their sub
        query = (select(LtiUser.user_id).join(Membership, Membership.user_id == LtiUser.user_id)
                 .where(LtiUser.issuer == issuer, Membership.course_id == course_id, Membership.role == "student"))
        if user is not None:
            query = query.where(LtiUser.user_id == _id(user))
        for user_id in db.session.scalars(query):
            db.session.add(LtiScore(resource_link_id=link_id, user_id=user_id, score_maximum=points,
                                    state="pending", created_at=utcnow()))
            queued += 1
    if queued:
        db.session.info["lti_scores_queued"] = True  # after the commit: a task to send them (kick_sender)
    return queued


def kick_sender(session: Any) -> None:
    """After a commit that queued scores: send the task that sends them, where a broker is configured (without
    one, tasks run in the calling process: the scores wait for `flask lti send-scores` or the beat). A broker
    that is down is logged: the periodic task sends them later."""
    if not session.info.pop("lti_scores_queued", False) or not has_app_context() \
            or not current_app.config.get("CELERY_BROKER_URL"):
        return
    from grader.jobs import TASK_LTI_SEND

    try:
        current_app.extensions["celery"].send_task(TASK_LTI_SEND)
    except Exception as exc:  # kombu raises the transport's own errors
        log.warning("LTI score sending not queued (%s: %s); the periodic task will send them",
                    type(exc).__name__, exc)


def send_again(score: LtiScore) -> LtiScore:
    """Queue the latest score of this row's student and link once more, sent even if unchanged (the
    instructors' "send again")."""
    again = LtiScore(resource_link_id=score.resource_link_id, user_id=score.user_id,
                     score_maximum=score.score_maximum, state="pending", force=True, created_at=utcnow())
    db.session.add(again)
    db.session.commit()
    return again


def _due(now: datetime) -> Any:
    return or_(and_(LtiScore.state == "pending", or_(LtiScore.next_try_at.is_(None), LtiScore.next_try_at <= now)),
               and_(LtiScore.state == "sending", LtiScore.next_try_at <= now))  # a sender died holding it


def send_pending(now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """Send what is due; counts by outcome (sent, unchanged, superseded, retry, failed, busy)."""
    now = now or utcnow()
    counts = dict.fromkeys(("sent", "unchanged", "superseded", "retry", "failed", "busy"), 0)
    newest = (select(LtiScore.resource_link_id, LtiScore.user_id, func.max(LtiScore.id).label("id"))
              .where(_due(now)).group_by(LtiScore.resource_link_id, LtiScore.user_id).limit(limit))
    targets = db.session.execute(newest).all()
    db.session.rollback()
    for link_id, user_id, score_id in targets:
        # the older ones due for the same student and link are covered by this newer one
        counts["superseded"] += db.session.execute(
            update(LtiScore).where(LtiScore.resource_link_id == link_id, LtiScore.user_id == user_id,
                                   LtiScore.id < score_id, LtiScore.state.in_(("pending", "failed")))
            .values(state="superseded").execution_options(synchronize_session=False)).rowcount
        claimed = db.session.execute(
            update(LtiScore).where(LtiScore.id == score_id, _due(now))
            .values(state="sending", next_try_at=now + timedelta(seconds=LEASE_S))
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if not claimed:
            counts["busy"] += 1
            continue
        counts[_send(score_id)] += 1
    return counts


def _last_sent(score: LtiScore) -> float | None:
    return db.session.scalar(select(LtiScore.score_given).where(
        LtiScore.resource_link_id == score.resource_link_id, LtiScore.user_id == score.user_id,
        LtiScore.state == "sent").order_by(LtiScore.id.desc()).limit(1))


def _send(score_id: int) -> str:
    from grader.service.gradebook import gradebook_cell

    score = db.session.get(LtiScore, score_id)
    link = score.resource_link
    if link.assignment is None:  # the link was untied since
        score.state, score.error = "failed", "the link no longer opens a problem set"
        db.session.commit()
        return "failed"
    points = gradebook_cell(link.assignment, score.user).points
    given = 0.0 if points is None else round(points, 6)
    if not score.force and _last_sent(score) == given:
        score.state, score.score_given = "unchanged", given
        db.session.commit()
        return "unchanged"
    sub = db.session.scalar(select(LtiUser.sub).where(LtiUser.user_id == score.user_id,
                                                      LtiUser.issuer == link.context.registration.issuer))
    score.attempts += 1
    try:
        url = ags.line_item_url(link)
        ags.post_score(link.context.registration, url, ags.Score(
            user_id=sub, given=given, maximum=link.assignment.points,
            timestamp=datetime.now(UTC).isoformat(timespec="milliseconds")))
    except ags.PlatformError as exc:
        return _failed(score, exc)
    score.state, score.score_given, score.score_maximum = "sent", given, link.assignment.points
    score.sent_at, score.error, score.next_try_at = utcnow(), None, None
    db.session.commit()
    return "sent"


def _failed(score: LtiScore, exc: ags.PlatformError) -> str:
    config = current_app.config
    score.error = str(exc)[:2000]
    if exc.retry and score.attempts < int(config.get("LTI_MAX_ATTEMPTS", 12)):
        wait = min(float(config.get("LTI_RETRY_BASE_S", 5.0)) * 2 ** (score.attempts - 1),
                   float(config.get("LTI_RETRY_MAX_S", 3600.0)))
        score.state, score.next_try_at = "pending", utcnow() + timedelta(seconds=wait)
        db.session.commit()
        log.warning("score %s not sent (%s); trying again in %.0f s", score.id, exc, wait)
        return "retry"
    score.state, score.next_try_at = "failed", None
    db.session.commit()
    log.warning("score %s failed: %s", score.id, exc)
    return "failed"


def course_scores(course_id: int) -> list[LtiScore]:
    """The newest outbox row per student and link of the course's problem sets (the instructors' view)."""
    newest = (select(func.max(LtiScore.id)).join(LtiResourceLink, LtiScore.resource_link_id == LtiResourceLink.id)
              .join(LtiContext, LtiResourceLink.context_id == LtiContext.id)
              .where(LtiContext.course_id == course_id, LtiScore.state != "superseded")
              .group_by(LtiScore.resource_link_id, LtiScore.user_id))
    return list(db.session.scalars(select(LtiScore).where(LtiScore.id.in_(newest)).order_by(LtiScore.id)))
