"""Launches from a real platform (lti1p3platform): a learner lands on the problem set of the link, an instructor on
its instructor page (or chooses the set of a new link), and every bad launch gets its 4xx page naming what is
wrong."""

from __future__ import annotations

from urllib.parse import urljoin

from sqlalchemy import select

from grader import authoring
from grader import exercises as definitions
from grader.lti.models import LtiResourceLink, LtiUser
from grader.models import Assignment, Exercise, Membership, db
from tests.lti.platform import INSTRUCTOR, TA, LaunchSpec


def _set_for(pair, context_id: str, slug: str = "seed-two-layer-w1-22") -> int:
    """A problem set in the Gradgate course of this platform context (made by a first launch)."""
    with pair.app.app_context():
        from grader.lti.models import LtiContext

        context = db.session.scalar(select(LtiContext).where(LtiContext.context_id == context_id))
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
        if exercise is None:
            catalogue = definitions.load_catalogue(pair.app.config["EXERCISES_DIR"])
            authoring.save_exercise(catalogue[slug].document)
            exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
        assignment = Assignment(course_id=context.course_id, exercise=exercise, title="Two layers", points=4)
        db.session.add(assignment)
        db.session.commit()
        return assignment.id


def test_a_first_instructor_launch_makes_the_course_and_asks_for_the_links_problem_set(pair):
    spec = LaunchSpec(sub="teacher-1", name="Grace Hopper", roles=[INSTRUCTOR], context_id="c-first",
                      resource_link_id="l-first")
    answer, _, session = pair.launch(spec)
    assert answer.status_code == 303, answer.text[:800]
    assert "/instructor/lti/links/" in answer.headers["Location"]
    assignment_id = _set_for(pair, "c-first")
    where = urljoin(pair.url, answer.headers["Location"])
    chooser = session.get(where, timeout=10)
    assert chooser.status_code == 200 and "Two layers" in chooser.text
    chosen = session.post(where, data={"assignment": assignment_id}, allow_redirects=False,
                          timeout=10)
    assert chosen.status_code == 303 and f"/instructor/assignments/{assignment_id}" in chosen.headers["Location"]
    with pair.app.app_context():
        link = db.session.scalar(select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "l-first"))
        assert link.assignment_id == assignment_id
        user = db.session.scalar(select(LtiUser).where(LtiUser.sub == "teacher-1")).user
        assert user.name == "Grace Hopper" and user.email == "ada@example.edu"
        assert user.course_role(link.context.course_id) == "instructor"
    # the next launch of the same link lands on its instructor page
    again, _, _ = pair.launch(spec)
    assert again.status_code == 303 and f"/instructor/assignments/{assignment_id}" in again.headers["Location"]


def test_a_learner_waits_for_an_unlinked_link_then_lands_on_its_problem_set(pair):
    spec = LaunchSpec(sub="learner-1", name="Alan Turing", email="alan@example.edu", context_id="c-learn",
                      resource_link_id="l-learn")
    waiting, _, _ = pair.launch(spec)
    assert waiting.status_code == 200 and "come back later" in waiting.text
    assignment_id = _set_for(pair, "c-learn")
    with pair.app.app_context():
        link = db.session.scalar(select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "l-learn"))
        link.assignment_id = assignment_id
        course_id = link.context.course_id
        db.session.commit()
    answer, _, session = pair.launch(spec)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/assignments/{assignment_id}")
    page = session.get(urljoin(pair.url, answer.headers["Location"]), timeout=10)
    assert page.status_code == 200 and "Two layers" in page.text  # signed in as the learner, no password
    with pair.app.app_context():
        user = db.session.scalar(select(LtiUser).where(LtiUser.sub == "learner-1")).user
        assert (user.name, user.email) == ("Alan Turing", "alan@example.edu")
        assert user.course_role(course_id) == "student"


def test_lti_roles_become_course_roles_and_none_means_learner(pair):
    for sub, roles, expected in (("ta-1", [TA], "ta"), ("nobody-1", [], "student")):
        answer, _, _ = pair.launch(LaunchSpec(sub=sub, roles=roles, context_id="c-roles", resource_link_id="l-r"))
        assert answer.status_code in (200, 303), answer.text[:500]
        with pair.app.app_context():
            user = db.session.scalar(select(LtiUser).where(LtiUser.sub == sub)).user
            role = db.session.scalar(select(Membership.role).where(Membership.user_id == user.id))
            assert role == expected


def _refused(answer, status: int, *words: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text[:1500])
    text = answer.text.replace("&#39;", "'").replace("&#34;", '"').replace("&quot;", '"')
    for word in words:
        assert word in text, (word, text[:1500])
    assert "What to do" in text


def test_an_expired_id_token_is_refused(pair):
    answer, _, _ = pair.launch(LaunchSpec(sub="late-1", expires_in=-120))
    _refused(answer, 400, "expired")


def test_an_id_token_for_another_tool_is_refused(pair):
    answer, _, _ = pair.launch(LaunchSpec(sub="aud-1", claims={"aud": "someone-else", "azp": "someone-else"}))
    # lti1p3platform's own check does not look at aud: Gradgate finds no registration for that client
    _refused(answer, 403, "client id 'someone-else'", "not registered")
    both = [pair.platform.client_id, "someone-else"]
    answer, _, _ = pair.launch(LaunchSpec(sub="aud-2", claims={"aud": both, "azp": "someone-else"}))
    _refused(answer, 400, "azp", "someone-else")
    answer, _, _ = pair.launch(LaunchSpec(sub="aud-3", claims={"aud": ["someone-else", pair.platform.client_id],
                                                               "azp": pair.platform.client_id}))
    assert 400 <= answer.status_code < 500


def test_a_replayed_id_token_is_refused(pair):
    first, fields, session = pair.launch(LaunchSpec(sub="replay-1", context_id="c-replay"))
    assert first.status_code in (200, 303)
    replay = session.post(pair.url + "/lti/launch", data=fields, allow_redirects=False, timeout=10)
    _refused(replay, 400, "nonce", "used already")


def test_an_unknown_deployment_is_refused_naming_it(pair):
    answer, _, _ = pair.launch(LaunchSpec(sub="dep-1", deployment_id="not-registered"))
    _refused(answer, 403, "not-registered", "lti register")


def test_a_tampered_signature_is_refused(pair):
    def tamper(fields):
        head, body, signature = fields["id_token"].split(".")
        fields["id_token"] = ".".join((head, body, ("A" if signature[5] != "A" else "B").join(
            (signature[:5], signature[6:]))))

    answer, _, _ = pair.launch(LaunchSpec(sub="sig-1"), tamper=tamper)
    _refused(answer, 400, "signature")


def test_a_tampered_body_is_refused(pair):
    import base64
    import json

    def tamper(fields):
        head, body, signature = fields["id_token"].split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = [INSTRUCTOR]  # a learner making themself one
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        fields["id_token"] = ".".join((head, body, signature))

    answer, _, _ = pair.launch(LaunchSpec(sub="sig-2"), tamper=tamper)
    _refused(answer, 400, "signature")


def test_missing_claims_are_refused_naming_them(pair):
    answer, _, _ = pair.launch(LaunchSpec(sub="claims-1",
                                          drop=["https://purl.imsglobal.org/spec/lti/claim/context"]))
    _refused(answer, 400, "context")
    answer, _, _ = pair.launch(LaunchSpec(sub="claims-2",
                                          drop=["https://purl.imsglobal.org/spec/lti/claim/resource_link"]))
    assert 400 <= answer.status_code < 500 and "What to do" in answer.text, answer.text[:800]


def test_a_launch_by_get_and_a_launch_without_a_login_are_refused(pair):
    import requests

    _refused(requests.get(pair.url + "/lti/launch", timeout=10), 405, "POST")
    _refused(requests.post(pair.url + "/lti/launch", data={"state": "state-x", "id_token": "a.b.c"}, timeout=10),
             400, "state")
    _refused(requests.get(pair.url + "/lti/login", timeout=10), 400, "login")


def test_an_unregistered_platform_is_told_what_the_administrator_must_do(pair):
    import requests

    answer = requests.get(pair.url + "/lti/login", params={"iss": "https://lms.unknown", "login_hint": "x",
                                                           "target_link_uri": pair.url + "/lti/launch",
                                                           "client_id": "nobody"}, timeout=10)
    _refused(answer, 403, "https://lms.unknown", "not registered", "flask --app wsgi lti register")


def test_an_instructor_links_the_lms_course_to_a_course_they_already_teach(pair):
    from grader import roster

    teacher = LaunchSpec(sub="teacher-link", roles=[INSTRUCTOR], context_id="c-existing", resource_link_id="l-ex")
    answer, _, session = pair.launch(teacher)
    pair.launch(LaunchSpec(sub="learner-link", context_id="c-existing", resource_link_id="l-ex"))
    with pair.app.app_context():
        user = db.session.scalar(select(LtiUser).where(LtiUser.sub == "teacher-link")).user
        existing = roster.create_course(user, "bp-spring", "Backprop, spring").id
    where = urljoin(pair.url, answer.headers["Location"])
    assert "bp-spring" in session.get(where, timeout=10).text
    linked = session.post(where + "/course", data={"course": existing}, allow_redirects=False, timeout=10)
    assert linked.status_code == 303
    with pair.app.app_context():
        from grader.lti.models import LtiContext

        context = db.session.scalar(select(LtiContext).where(LtiContext.context_id == "c-existing"))
        assert context.course_id == existing
        learner = db.session.scalar(select(LtiUser).where(LtiUser.sub == "learner-link")).user
        assert learner.course_role(existing) == "student"  # the LMS's members came along
    refused = session.post(where + "/course", data={"course": "999999"}, timeout=10)
    assert refused.status_code == 422 and "choose a course you teach" in refused.text.lower()


def test_garbled_id_tokens_after_a_real_login_are_4xx_pages_never_500(pair):
    import base64
    import json

    def unsigned(fields):
        head, body, _ = fields["id_token"].split(".")
        none = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).decode().rstrip("=")
        fields["id_token"] = f"{none}.{body}."

    for tamper in (lambda f: f.update(id_token="x.y.z"), lambda f: f.update(id_token=""),
                   lambda f: f.pop("id_token"), unsigned, lambda f: f.update(id_token="a" * 5000)):
        answer, _, _ = pair.launch(LaunchSpec(sub="garbled-1"), tamper=tamper)
        assert 400 <= answer.status_code < 500 and "What to do" in answer.text, (answer.status_code,
                                                                                  answer.text[:600])
