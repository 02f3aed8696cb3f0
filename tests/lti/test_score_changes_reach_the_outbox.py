"""Every way a student's problem-set score changes queues an outbox row in the same transaction (no platform
needed: what is queued is checked): a graded submission (not a format error), a manual score set or removed, an
override (the set is rescored), and nothing for a set no LMS link opens or a student the platform does not
know."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from grader import service
from grader.lti.models import LtiContext, LtiRegistration, LtiResourceLink, LtiScore, LtiUser
from grader.models import db
from tests.service.conftest import assign, course, user  # noqa: F401

RIGHT = {"0": "-0.00262270"}  # seed-two-layer-w1-22 has fixed numbers


def _queued(username: str) -> int:
    return db.session.scalar(select(func.count()).select_from(LtiScore).where(LtiScore.user_id == user(username).id))


def test_each_kind_of_score_change_queues_the_students_score(course):  # noqa: F811
    linked, unlinked = assign(course, "seed-two-layer-w1-22", points=2), assign(course, "gate-multiply")
    registration = LtiRegistration(issuer="https://lms.example.edu", client_id="c", auth_login_url="https://l/a",
                                   auth_token_url="https://l/t", keyset_url="https://l/k")
    context = LtiContext(registration=registration, deployment_id="d", context_id="ctx", course=course)
    db.session.add_all([registration, context, LtiResourceLink(context=context, resource_link_id="rl",
                                                               assignment=linked),
                        LtiUser(issuer="https://lms.example.edu", sub="alice-sub", user=user("alice"))])
    db.session.commit()
    service.submit(user("alice"), linked, answers=RIGHT)
    assert _queued("alice") == 1
    service.submit(user("alice"), linked, answers={"0": "not a number"})  # a format error: no score changed
    assert _queued("alice") == 1
    service.submit(user("alice"), unlinked, answers={"0": "1"})  # no LMS link opens that set
    service.submit(user("bob"), linked, answers=RIGHT)  # the platform does not know bob
    assert _queued("alice") == 1 and _queued("bob") == 0
    service.set_manual_score(user("teacher"), linked, "alice", 1.5, "oral exam")
    service.remove_manual_score(user("teacher"), linked, "alice", "back to the submissions")
    assert _queued("alice") == 3
    service.set_override(linked, ["alice"], due_at=datetime(2030, 1, 1))
    assert _queued("alice") == 4
    assert {s.state for s in db.session.scalars(select(LtiScore))} == {"pending"}
