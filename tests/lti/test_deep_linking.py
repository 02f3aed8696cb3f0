"""Deep linking round trip with a real platform: the instructor picks a problem set, Gradgate's signed answer
(an ltiResourceLink with its line item) is accepted by the platform, which makes the link and the gradebook
column; the new link's first launch opens the set, and its scores go to that column (found by resourceId, no
second one)."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import jwt
import requests
from sqlalchemy import select

from grader import authoring, service
from grader import exercises as definitions
from grader.jobs import TASK_LTI_SEND
from grader.lti.models import LtiContext, LtiResourceLink, LtiUser
from grader.models import Assignment, Exercise, db
from tests.lti.platform import INSTRUCTOR, LaunchSpec

SLUG = "seed-two-layer-w1-22"


def _problem_set(pair, context_id: str) -> int:
    with pair.app.app_context():
        catalogue = definitions.load_catalogue(pair.app.config["EXERCISES_DIR"])
        authoring.save_exercise(catalogue[SLUG].document)
        context = db.session.scalar(select(LtiContext).where(LtiContext.context_id == context_id))
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        assignment = Assignment(course_id=context.course_id, exercise=exercise, title="Deep week", points=3)
        db.session.add(assignment)
        db.session.commit()
        return assignment.id


def test_an_instructor_adds_a_problem_set_from_the_lms_and_students_launch_into_it(pair):
    teacher = LaunchSpec(sub="teacher-dl", roles=[INSTRUCTOR], context_id="c-dl", resource_link_id="l-dl-0")
    pair.launch(teacher)  # the course exists once its instructor launched
    assignment_id = _problem_set(pair, "c-dl")
    teacher.deep_link = True
    answer, _, session = pair.launch(teacher)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/lti/deep-link")
    chooser = session.get(urljoin(pair.url, answer.headers["Location"]), timeout=10)
    assert chooser.status_code == 200 and "Deep week" in chooser.text
    back = session.post(urljoin(pair.url, "/lti/deep-link"), data={"assignment": assignment_id}, timeout=10)
    assert back.status_code == 200
    action = re.search(r'<form method="post" action="([^"]+)" class="lti-autosubmit">', back.text).group(1)
    assert action == f"{pair.platform.url}/c-dl/deep-link-return"
    assert f"form-action 'self' {pair.platform.url}" in back.headers["Content-Security-Policy"]
    token = re.search(r'name="JWT" value="([^"]+)"', back.text).group(1)
    posted = requests.post(action, data={"JWT": token}, timeout=10)
    assert posted.status_code == 200, (posted.text, pair.platform.refused)
    # lti1p3platform does not check the answer's audience: a strict LMS does
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == [pair.platform.url] and claims["iss"] == pair.platform.client_id
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == {"data": "opaque-platform-data"}  # echoed
    [item] = pair.platform.deep_links
    assert item["type"] == "ltiResourceLink" and item["url"] == pair.url + "/lti/launch"
    assert item["lineItem"] == {"label": "Deep week", "scoreMaximum": 3.0,
                                "resourceId": f"gradgate-problem-set-{assignment_id}", "tag": "gradgate"}
    # the LMS's new link, launched by a student, opens the set it names
    student = LaunchSpec(sub="learner-dl", context_id="c-dl", resource_link_id="l-dl-new", custom=item["custom"])
    landed, _, _ = pair.launch(student)
    assert landed.status_code == 303 and landed.headers["Location"].endswith(f"/assignments/{assignment_id}")
    with pair.app.app_context():
        link = db.session.scalar(select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "l-dl-new"))
        assert link.assignment_id == assignment_id
        learner = db.session.scalar(select(LtiUser).where(LtiUser.sub == "learner-dl")).user
        service.submit(learner, db.session.get(Assignment, assignment_id), answers={"0": "-0.00262270"})
        assert pair.app.extensions["celery"].tasks[TASK_LTI_SEND].apply().get()["sent"] == 1
    columns = [i for i in pair.platform.lineitems.values() if i["context"] == "c-dl"]
    assert len(columns) == 1  # the deep link's column, found by its resourceId: no duplicate
    assert [s["scoreGiven"] for s in pair.platform.scores[columns[0]["id"]]] == [3.0]


def test_a_learner_cannot_answer_a_deep_linking_request(pair):
    answer, _, _ = pair.launch(LaunchSpec(sub="learner-dl-2", context_id="c-dl2", resource_link_id="x",
                                          deep_link=True))
    assert answer.status_code == 403 and "instructors" in answer.text
