"""Grades back (AGS) to a real platform: a graded submission's score reaches the platform's line item (found by
resourceId, or created once), sent by the outbox's task only when it changed; and through a platform answering
500, then 401, then timing out, every score arrives once it recovers, none twice, the latest wins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from grader import authoring, service
from grader import exercises as definitions
from grader.jobs import TASK_LTI_SEND
from grader.lti.models import LtiContext, LtiResourceLink, LtiScore, LtiUser
from grader.models import Assignment, Exercise, User, db, utcnow
from tests.lti.platform import INSTRUCTOR, SCORE_FIELDS, LaunchSpec

RIGHT = {"0": "-0.00262270"}  # seed-two-layer-w1-22 has fixed numbers
SLUG = "seed-two-layer-w1-22"


@pytest.fixture(scope="module")
def linked(pair):
    """A platform course whose link opens a problem set of 4 points, and a learner who launched it."""
    teacher = LaunchSpec(sub="teacher-ags", roles=[INSTRUCTOR], context_id="c-ags", resource_link_id="l-ags")
    answer, _, _ = pair.launch(teacher)
    assert answer.status_code == 303
    with pair.app.app_context():
        catalogue = definitions.load_catalogue(pair.app.config["EXERCISES_DIR"])
        authoring.save_exercise(catalogue[SLUG].document)
        context = db.session.scalar(select(LtiContext).where(LtiContext.context_id == "c-ags"))
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        assignment = Assignment(course_id=context.course_id, exercise=exercise, title="Week 1", points=4,
                                attempt_limit=50)
        db.session.add(assignment)
        db.session.flush()
        link = db.session.scalar(select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "l-ags"))
        link.assignment_id = assignment.id
        db.session.commit()
        assignment_id = assignment.id
    return assignment_id


def _learner(pair, sub: str) -> None:
    """A learner of the linked set (each test has its own: under xdist a module's tests may run anywhere)."""
    answer, _, _ = pair.launch(LaunchSpec(sub=sub, context_id="c-ags", resource_link_id="l-ags"))
    assert answer.status_code == 303, answer.text[:500]


def _send(pair) -> dict[str, int]:
    """The outbox's Celery task, run as the worker runs it (eager: no broker in these tests)."""
    return pair.app.extensions["celery"].tasks[TASK_LTI_SEND].apply().get()


def _student(sub: str) -> User:
    return db.session.scalar(select(LtiUser).where(LtiUser.sub == sub)).user


def _received(pair, sub: str) -> list[float]:
    return [s["scoreGiven"] for scores in pair.platform.scores.values() for s in scores if s["userId"] == sub]


def test_a_graded_submission_reaches_the_platforms_line_item_once(pair, linked):
    _learner(pair, "learner-ags")
    with pair.app.app_context():
        learner, assignment = _student("learner-ags"), db.session.get(Assignment, linked)
        assert service.submit(learner, assignment, answers=RIGHT).points == 4.0
        assert db.session.scalar(select(LtiScore.state).where(LtiScore.user_id == learner.id)) == "pending"
        assert _send(pair)["sent"] == 1
    [item] = [i for i in pair.platform.lineitems.values() if i["context"] == "c-ags"]
    assert item["resourceId"] == f"gradgate-problem-set-{linked}" and item["scoreMaximum"] == 4.0
    assert item["label"] == "Week 1" and item["resourceLinkId"] == "l-ags"
    [score] = [s for s in pair.platform.scores[item["id"]] if s["userId"] == "learner-ags"]
    assert set(SCORE_FIELDS) <= set(score) and score["userId"] == "learner-ags"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (4.0, 4.0)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    assert pair.platform.refused == []  # content type and fields as a strict LMS wants them
    with pair.app.app_context():
        learner, assignment = _student("learner-ags"), db.session.get(Assignment, linked)
        service.submit(learner, assignment, answers={"0": "7"})  # a worse attempt: the best still counts
        assert _send(pair) == {"sent": 0, "unchanged": 1, "superseded": 0, "retry": 0, "failed": 0, "busy": 0}
        assert _send(pair)["sent"] == 0  # nothing due
        service.set_manual_score(_teacher(), assignment, learner.username, 2.5, "oral exam")
        assert _send(pair)["sent"] == 1
    assert _received(pair, "learner-ags") == [4.0, 2.5]
    assert len([i for i in pair.platform.lineitems.values() if i["context"] == "c-ags"]) == 1  # no second column


def _teacher() -> User:
    return _student("teacher-ags")


def test_through_500_401_and_time_outs_every_score_arrives_once_and_the_latest_wins(pair, linked):
    _learner(pair, "learner-two")
    _send(pair)  # nothing of another test left waiting: the faults below meet this test's scores
    pair.platform.app.config["TIMEOUT_SLEEP_S"] = 1.5  # Gradgate waits 1 s (LTI_HTTP_TIMEOUT_S)
    pair.platform.faults[:] = ["500", "500", "401", "timeout"]
    tokens_before = pair.platform.token_requests
    with pair.app.app_context():
        assignment, teacher = db.session.get(Assignment, linked), _teacher()
        outcomes = []
        for points in (1.0, 2.0, 3.0):
            service.set_manual_score(teacher, assignment, _student("learner-two").username, points, "redo")
            outcomes.append(_send(pair))
        for _ in range(5):  # the platform has recovered: what is left goes out
            outcomes.append(_send(pair))
        states = list(db.session.scalars(select(LtiScore.state).where(
            LtiScore.user_id == _student("learner-two").id).order_by(LtiScore.id)))
    assert sum(o["retry"] for o in outcomes) >= 2 and sum(o["superseded"] for o in outcomes) >= 1
    assert "pending" not in states and "sending" not in states and states[-1] == "sent"
    received = _received(pair, "learner-two")
    assert received[-1] == 3.0  # the latest wins
    assert len(received) == len(set(received)) and set(received) <= {1.0, 2.0, 3.0}  # none twice
    assert pair.platform.token_requests > tokens_before  # a new token after the 401
    assert pair.platform.faults == [] and pair.platform.refused == []


def test_a_score_held_by_a_sender_that_died_is_sent_when_its_lease_ends(pair, linked):
    _learner(pair, "learner-lease")
    _send(pair)
    with pair.app.app_context():
        assignment, learner = db.session.get(Assignment, linked), _student("learner-lease")
        service.set_manual_score(_teacher(), assignment, learner.username, 0.5, "regraded")
        db.session.execute(update(LtiScore).where(LtiScore.state == "pending").values(
            state="sending", next_try_at=utcnow() + timedelta(seconds=60)))  # claimed, then the worker was killed
        db.session.commit()
        assert _send(pair)["sent"] == 0  # its lease still runs: nobody else sends it
        db.session.execute(update(LtiScore).where(LtiScore.state == "sending").values(
            next_try_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert _send(pair)["sent"] == 1
    assert _received(pair, "learner-lease") == [0.5]


def test_instructors_see_what_was_sent_and_what_failed_and_send_again(pair, linked):
    from urllib.parse import urljoin

    answer, _, session = pair.launch(LaunchSpec(sub="teacher-ags", roles=[INSTRUCTOR], context_id="c-ags",
                                                resource_link_id="l-ags"))
    assert answer.status_code == 303
    for sub in ("learner-view-1", "learner-view-2"):
        _learner(pair, sub)
    with pair.app.app_context():
        assignment = db.session.get(Assignment, linked)
        course_id = assignment.course_id
        for sub in ("learner-view-1", "learner-view-2"):
            service.set_manual_score(_teacher(), assignment, _student(sub).username, 1.0, "viewed")
        _send(pair)
        learner = _student("learner-view-1")
        newest = db.session.scalar(select(LtiScore).where(LtiScore.user_id == learner.id)
                                   .order_by(LtiScore.id.desc()).limit(1))
        newest.state, newest.error = "failed", "the platform refused the score: 400 no such user"
        db.session.commit()
        newest_id = newest.id
    page = session.get(urljoin(pair.url, f"/instructor/courses/{course_id}/gradebook/lti"), timeout=10)
    assert page.status_code == 200
    assert "400 no such user" in page.text and "failed" in page.text
    assert page.text.count("Send again") >= 2  # a row per student of the linked set
    before = len(_received(pair, "learner-view-1"))
    again = session.post(urljoin(pair.url, f"/instructor/courses/{course_id}/gradebook/lti/{newest_id}/resend"),
                         allow_redirects=False, timeout=10)
    assert again.status_code == 303
    assert len(_received(pair, "learner-view-1")) == before + 1  # sent again although unchanged
    page = session.get(urljoin(pair.url, f"/instructor/courses/{course_id}/gradebook/lti"), timeout=10)
    assert "400 no such user" not in page.text


def test_two_platforms_with_their_own_deployments_each_get_their_own_scores(pair, linked):
    from grader.lti.registrations import register_platform
    from tests.lti.conftest import Pair
    from tests.lti.platform import Platform

    _learner(pair, "learner-both")
    other = Platform(client_id="other-client", deployment_id="deployment-B").start()
    other.tool_url = pair.url
    try:
        with pair.app.app_context():
            register_platform(issuer=other.url, client_id=other.client_id, auth_login_url=other.url + "/authorize",
                              auth_token_url=other.url + "/token", keyset_url=other.url + "/jwks",
                              deployment_ids=["deployment-B", "deployment-C"])
        second = Pair(pair.app, pair.url, other)
        # the same context and link ids as the first platform's: another platform's are other ones
        teacher = LaunchSpec(sub="teacher-ags", roles=[INSTRUCTOR], context_id="c-ags", resource_link_id="l-ags",
                             deployment_id="deployment-C")
        assert second.launch(teacher)[0].status_code == 303
        wrong = second.launch(LaunchSpec(sub="x", deployment_id=pair.platform.deployment_id))[0]
        assert wrong.status_code == 403  # the first platform's deployment is not the second's
        with pair.app.app_context():
            link = db.session.scalar(select(LtiResourceLink).join(LtiContext).where(
                LtiResourceLink.resource_link_id == "l-ags", LtiContext.registration_id != 1))
            first = db.session.get(Assignment, linked)
            assert link.context.course_id != first.course_id  # the second platform's course is another course
            week = Assignment(course_id=link.context.course_id, exercise=first.exercise, title="Week 1 (B)", points=2)
            db.session.add(week)
            db.session.flush()
            link.assignment_id, week_id = week.id, week.id
            db.session.commit()
        assert second.launch(LaunchSpec(sub="learner-both", context_id="c-ags", resource_link_id="l-ags"))[0] \
            .status_code == 303
        with pair.app.app_context():
            learner = db.session.scalar(select(LtiUser).where(LtiUser.sub == "learner-both",
                                                              LtiUser.issuer == other.url)).user
            assert learner.id != _student("learner-both").id  # (issuer, sub): another platform's user, another account
            service.submit(learner, db.session.get(Assignment, week_id), answers=RIGHT)
            before = len(_received(pair, "learner-both"))
            assert _send(pair)["sent"] == 1
        [score] = [s for scores in other.scores.values() for s in scores]
        assert score["userId"] == "learner-both" and score["scoreGiven"] == score["scoreMaximum"]
        assert len(_received(pair, "learner-both")) == before  # nothing went to the first platform
    finally:
        other.stop()
