"""Roster sync (NRPS) from a real platform: members the LMS knows but who never launched appear in the course,
with their LMS roles, and in its gradebook; a second sync changes nothing but what changed in the LMS."""

from __future__ import annotations

from urllib.parse import urljoin

from sqlalchemy import select

from grader import service
from grader.jobs import TASK_LTI_ROSTERS
from grader.lti.models import LtiContext, LtiUser
from grader.models import Course, Membership, db
from tests.lti.platform import INSTRUCTOR, LEARNER, TA, LaunchSpec

MEMBERS = [
    {"user_id": "teacher-nrps", "name": "Grace Hopper", "roles": [INSTRUCTOR], "status": "Active"},
    {"user_id": "never-1", "name": "Emmy Noether", "email": "emmy@example.edu", "roles": [LEARNER]},
    {"user_id": "never-2", "given_name": "Sofia", "family_name": "Kovalevskaya", "roles": [TA]},
    {"user_id": "never-3", "name": "Left Early", "roles": [LEARNER], "status": "Inactive"},
    {"user_id": "never-4", "name": "Kurt Gödel", "roles": []},
]


def _roles(pair) -> dict[str, str]:
    with pair.app.app_context():
        rows = db.session.execute(select(LtiUser.sub, Membership.role).join(Membership, Membership.user_id ==
                                                                            LtiUser.user_id)).all()
        return dict(rows)


def test_the_sync_button_brings_members_who_never_launched_with_their_roles(pair):
    pair.platform.members["c-nrps"] = [dict(m) for m in MEMBERS]
    answer, _, session = pair.launch(LaunchSpec(sub="teacher-nrps", roles=[INSTRUCTOR], context_id="c-nrps",
                                                resource_link_id="l-nrps"))
    assert answer.status_code == 303
    with pair.app.app_context():
        course_id = db.session.scalar(select(LtiContext.course_id).where(LtiContext.context_id == "c-nrps"))
    synced = session.post(urljoin(pair.url, f"/instructor/courses/{course_id}/gradebook/lti/sync-roster"),
                          timeout=10)
    assert synced.status_code == 200 and "3 new" in synced.text and "1 unchanged" in synced.text, synced.text[-2000:]
    roles = _roles(pair)
    assert {k: roles[k] for k in ("teacher-nrps", "never-1", "never-2", "never-4")} == {
        "teacher-nrps": "instructor", "never-1": "student", "never-2": "ta", "never-4": "student"}
    assert "never-3" not in roles  # inactive in the LMS
    assert pair.platform.roster_accepts[-1] == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    assert len(pair.platform.roster_accepts) == 3  # every page followed (two members a page)
    with pair.app.app_context():
        book = service.gradebook(db.session.get(Course, course_id))
        assert {s.name for s in book.students} == {"Emmy Noether", "Kurt Gödel"}
        emmy = db.session.scalar(select(LtiUser).where(LtiUser.sub == "never-1")).user
        assert emmy.email == "emmy@example.edu"
    # the periodic task: only what changed in the LMS changes here
    pair.platform.members["c-nrps"][1]["roles"] = [TA]
    with pair.app.app_context():
        assert pair.app.extensions["celery"].tasks[TASK_LTI_ROSTERS].apply().get()["synced"] >= 1
    assert _roles(pair)["never-1"] == "ta"
    # and a member who later launches is the same account, not a second one
    pair.launch(LaunchSpec(sub="never-4", name="Kurt Gödel", context_id="c-nrps", resource_link_id="l-nrps"))
    with pair.app.app_context():
        assert len(list(db.session.scalars(select(LtiUser).where(LtiUser.sub == "never-4")))) == 1
