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
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased, joinedload

from grader.lti import ags
from grader.lti.models import LtiContext, LtiRegistration, LtiResourceLink, LtiScore, LtiUser
from grader.models import Assignment, Membership, User, db, utcnow

log = logging.getLogger(__name__)
LEASE_S = 120
BATCH = 500
COMMIT_EVERY = 50


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
    """Send what is due; counts by outcome (sent, unchanged, superseded, retry, failed, busy). A batch is
    claimed in one statement, the students' scores, subs and last sent scores read in a few queries, and the
    outcomes committed every COMMIT_EVERY posts (a sender killed in between leaves at most those to be sent
    once more, with the same score, when their lease ends)."""
    now = now or utcnow()
    counts = dict.fromkeys(("sent", "unchanged", "superseded", "retry", "failed", "busy"), 0)
    newer = aliased(LtiScore)
    counts["superseded"] = db.session.execute(
        update(LtiScore).where(LtiScore.state.in_(("pending", "failed")), exists().where(
            newer.resource_link_id == LtiScore.resource_link_id, newer.user_id == LtiScore.user_id,
            newer.id > LtiScore.id, newer.state.in_(("pending", "sending"))))
        .values(state="superseded").execution_options(synchronize_session=False)).rowcount
    token = uuid.uuid4().hex
    due = select(LtiScore.id).where(_due(now)).order_by(LtiScore.id).limit(limit)
    db.session.execute(update(LtiScore).where(LtiScore.id.in_(list(db.session.scalars(due))), _due(now))
                       .values(state="sending", claimed_by=token, next_try_at=now + timedelta(seconds=LEASE_S))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    claimed = list(db.session.scalars(
        select(LtiScore).where(LtiScore.claimed_by == token, LtiScore.state == "sending").order_by(LtiScore.id)
        .options(joinedload(LtiScore.resource_link).joinedload(LtiResourceLink.context)
                 .joinedload(LtiContext.registration),
                 joinedload(LtiScore.resource_link).joinedload(LtiResourceLink.assignment))))
    newest: dict[tuple[int, int], LtiScore] = {}
    for score in claimed:  # two rows of one student and link in a batch (a race): the newer one counts
        older = newest.get((score.resource_link_id, score.user_id))
        if older is not None:
            older.state = "superseded"
            counts["superseded"] += 1
        newest[(score.resource_link_id, score.user_id)] = score
    work = _prepare(list(newest.values()), counts)
    db.session.commit()
    # From here on plain values only: a commit expires the ORM objects, and reloading them one by one would
    # cost more than the posts.
    # A few posts at once (LTI_SEND_THREADS): the platform's latency, not Gradgate, bounds a serial loop.
    app = current_app._get_current_object()

    def send_in_app(item: _Work) -> tuple[str, dict[str, Any]]:
        with app.app_context():
            return _send(item)

    threads = max(1, int(app.config.get("LTI_SEND_THREADS", 4)))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes: list[dict[str, Any]] = []
        # the posts go on while the outcomes so far are stored
        for item, (outcome, values) in zip(work, pool.map(send_in_app, work), strict=True):
            counts[outcome] += 1
            outcomes.append({"id": item.score_id, **values})
            if len(outcomes) >= COMMIT_EVERY:
                _store(outcomes)
        _store(outcomes)
    return counts


@dataclass
class _Platform:
    """What the token request needs of a registration (plain values: they outlive commits)."""

    issuer: str
    client_id: str
    auth_token_url: str
    auth_audience: str | None


@dataclass
class _Work:
    score_id: int
    platform: _Platform
    lineitem_url: str
    sub: str | None
    given: float
    maximum: float
    attempts: int


def _prepare(scores: list[LtiScore], counts: dict[str, int]) -> list[_Work]:
    """Each row's post, read at once: the student's score now (as the gradebook counts it), the last score sent
    per student and link, each student's sub, the line item (found or created once per link). Rows with
    nothing to send are settled here (the caller commits)."""
    from grader.service.gradebook import Cell, _fill  # the gradebook's own arithmetic, for many students at once

    cells: dict[tuple[int, int], Cell] = {}
    by_assignment: dict[int, tuple[Assignment, set[int]]] = {}
    for score in scores:
        assignment = score.resource_link.assignment
        if assignment is not None:
            by_assignment.setdefault(assignment.id, (assignment, set()))[1].add(score.user_id)
    for assignment, user_ids in by_assignment.values():
        _fill(cells, [assignment], user_ids)
    links = {score.resource_link_id for score in scores}
    users = {score.user_id for score in scores}
    last_sent: dict[tuple[int, int], float | None] = {}
    subs: dict[tuple[str, int], str] = {}
    if scores:
        for link_id, user_id, given in db.session.execute(
                select(LtiScore.resource_link_id, LtiScore.user_id, LtiScore.score_given)
                .where(LtiScore.state == "sent", LtiScore.resource_link_id.in_(links), LtiScore.user_id.in_(users))
                .order_by(LtiScore.id)):
            last_sent[(link_id, user_id)] = given
        subs = {(issuer, user_id): sub for issuer, user_id, sub in db.session.execute(
            select(LtiUser.issuer, LtiUser.user_id, LtiUser.sub).where(LtiUser.user_id.in_(users)))}
    line_items: dict[int, str | ags.PlatformError] = {}
    work = []
    for score in scores:
        link = score.resource_link
        if link.assignment is None:  # the link was untied since
            score.state, score.error = "failed", "the link no longer opens a problem set"
            counts["failed"] += 1
            continue
        cell = cells.get((score.user_id, link.assignment_id))
        given = 0.0 if cell is None or cell.points is None else round(cell.points, 6)
        if not score.force and last_sent.get((score.resource_link_id, score.user_id)) == given:
            score.state, score.score_given = "unchanged", given
            counts["unchanged"] += 1
            continue
        if link.id not in line_items:
            try:
                line_items[link.id] = ags.line_item_url(link)
            except ags.PlatformError as exc:
                line_items[link.id] = exc
        found = line_items[link.id]
        if isinstance(found, ags.PlatformError):
            score.attempts += 1
            counts[_failed(score, found)] += 1
            continue
        registration = link.context.registration
        work.append(_Work(score_id=score.id, platform=_Platform(registration.issuer, registration.client_id,
                                                                registration.auth_token_url,
                                                                registration.auth_audience),
                          lineitem_url=found, sub=subs.get((registration.issuer, score.user_id)), given=given,
                          maximum=link.assignment.points, attempts=score.attempts))
    return work


def _send(item: _Work) -> tuple[str, dict[str, Any]]:
    """Post one score; the outcome and the row's new values."""
    attempts = item.attempts + 1
    try:
        ags.post_score(item.platform, item.lineitem_url, ags.Score(
            user_id=item.sub, given=item.given, maximum=item.maximum,
            timestamp=datetime.now(UTC).isoformat(timespec="milliseconds")))
    except ags.PlatformError as exc:
        state, wait = _retry_or_fail(exc, attempts)
        return ("retry" if state == "pending" else "failed"), {
            "state": state, "attempts": attempts, "error": str(exc)[:2000], "score_given": None,
            "score_maximum": item.maximum, "sent_at": None,
            "next_try_at": None if wait is None else utcnow() + timedelta(seconds=wait)}
    return "sent", {"state": "sent", "attempts": attempts, "score_given": item.given, "score_maximum": item.maximum,
                    "sent_at": utcnow(), "error": None, "next_try_at": None}


def _store(outcomes: list[dict[str, Any]]) -> None:
    """The rows' new values, in one bulk UPDATE by primary key, committed."""
    if outcomes:
        db.session.execute(update(LtiScore), outcomes)
        db.session.commit()
    outcomes.clear()


def _retry_or_fail(exc: ags.PlatformError, attempts: int) -> tuple[str, float | None]:
    """pending with the wait before the next try (5xx, time-outs: backing off), or failed."""
    config = current_app.config
    if exc.retry and attempts < int(config.get("LTI_MAX_ATTEMPTS", 12)):
        wait = min(float(config.get("LTI_RETRY_BASE_S", 5.0)) * 2 ** (attempts - 1),
                   float(config.get("LTI_RETRY_MAX_S", 3600.0)))
        log.warning("a score was not sent (%s); trying again in %.0f s", exc, wait)
        return "pending", wait
    log.warning("a score failed: %s", exc)
    return "failed", None


def _failed(score: LtiScore, exc: ags.PlatformError) -> str:
    state, wait = _retry_or_fail(exc, score.attempts)
    score.state, score.error = state, str(exc)[:2000]
    score.next_try_at = None if wait is None else utcnow() + timedelta(seconds=wait)
    return "retry" if state == "pending" else "failed"


def course_scores(course_id: int) -> list[LtiScore]:
    """The newest outbox row per student and link of the course's problem sets (the instructors' view)."""
    newest = (select(func.max(LtiScore.id)).join(LtiResourceLink, LtiScore.resource_link_id == LtiResourceLink.id)
              .join(LtiContext, LtiResourceLink.context_id == LtiContext.id)
              .where(LtiContext.course_id == course_id, LtiScore.state != "superseded")
              .group_by(LtiScore.resource_link_id, LtiScore.user_id))
    return list(db.session.scalars(select(LtiScore).where(LtiScore.id.in_(newest)).order_by(LtiScore.id)))
