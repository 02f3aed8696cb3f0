"""Grades back as deployed: a real Celery worker (`celery -A grader.jobs worker`, Redis), a graded submission's
commit queues the outbox's task, and the worker sends the score to the platform's line item; killed (kill -9)
while it holds a claimed score, nothing is lost: the next worker sends it when the claim's lease ends."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update

from grader import authoring
from grader import exercises as definitions
from grader.lti import outbox
from grader.lti.models import LtiContext, LtiResourceLink, LtiScore, LtiUser
from grader.lti.registrations import register_platform
from grader.models import Assignment, Exercise, db, utcnow
from grader.service import submit
from tests.jobs.conftest import ONE_BACKEND, start_worker
from tests.lti.conftest import Pair, serve
from tests.lti.platform import INSTRUCTOR, LaunchSpec, Platform

RIGHT = {"0": "-0.00262270"}  # seed-two-layer-w1-22 has fixed numbers


def _wait(condition, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@ONE_BACKEND
def test_a_worker_sends_the_score_after_the_commit_and_a_killed_one_loses_nothing(jobs_app, deployment, workers,
                                                                                  tmp_path):
    platform = Platform().start()
    server, thread, url = serve(jobs_app)
    platform.tool_url = url
    try:
        register_platform(issuer=platform.url, client_id=platform.client_id, auth_login_url=platform.url + "/authorize",
                          auth_token_url=platform.url + "/token", keyset_url=platform.url + "/jwks",
                          deployment_ids=[platform.deployment_id])
        pair = Pair(jobs_app, url, platform)
        assert pair.launch(LaunchSpec(sub="t", roles=[INSTRUCTOR], context_id="c-w", resource_link_id="l-w"))[0] \
            .status_code == 303
        catalogue = definitions.load_catalogue(jobs_app.config["EXERCISES_DIR"])
        authoring.save_exercise(catalogue["seed-two-layer-w1-22"].document)
        context = db.session.scalar(select(LtiContext).where(LtiContext.context_id == "c-w"))
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "seed-two-layer-w1-22"))
        assignment = Assignment(course_id=context.course_id, title="On workers", points=5, exercise=exercise)
        db.session.add(assignment)
        db.session.flush()
        db.session.scalar(select(LtiResourceLink)).assignment_id = assignment.id
        db.session.commit()
        for sub in ("w-1", "w-2"):
            assert pair.launch(LaunchSpec(sub=sub, context_id="c-w", resource_link_id="l-w"))[0].status_code == 303
        students = {sub: db.session.scalar(select(LtiUser).where(LtiUser.sub == sub)).user for sub in ("w-1", "w-2")}
        first = start_worker(workers, deployment, tmp_path, queues="default")
        submit(students["w-1"], assignment, answers=RIGHT)  # its commit sends the outbox's task
        received = lambda sub: [s for scores in platform.scores.values() for s in scores if s["userId"] == sub]  # noqa: E731
        assert _wait(lambda: received("w-1")), first.text()[-3000:]
        assert received("w-1")[0]["scoreGiven"] == 5.0
        # a worker killed while it holds a claimed score: the claim outlives it, the score does not get lost
        first.kill9()
        submit(students["w-2"], assignment, answers=RIGHT)
        db.session.execute(update(LtiScore).where(LtiScore.state == "pending").values(
            state="sending", claimed_by="killed-worker", next_try_at=utcnow() + timedelta(seconds=2)))
        db.session.commit()
        start_worker(workers, deployment, tmp_path, queues="default")
        assert not received("w-2")
        time.sleep(2.5)  # the lease ends
        jobs_app.extensions["celery"].send_task("gradgate.lti_send_scores")  # what the beat sends every 30 s
        assert _wait(lambda: received("w-2"))
        assert [s["scoreGiven"] for s in received("w-2")] == [5.0] and len(received("w-1")) == 1
        assert outbox.send_pending()["sent"] == 0  # nothing left, nothing twice
    finally:
        server.shutdown()
        thread.join(timeout=10)
        platform.stop()
