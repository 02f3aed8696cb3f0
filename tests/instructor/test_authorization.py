"""Every instructor-workspace route × {signed out, a student, a TA of the course, an instructor of another course,
the exercise's owner, an administrator}, with the exact status; a test fails when a route is added without a
row here. (The API's matrix is tests/api/test_authorization.py; the student pages' tests/web.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from grader import authoring
from grader.lti.models import LtiContext, LtiRegistration, LtiResourceLink, LtiScore
from grader.models import (
    Assignment,
    AssignmentItem,
    Course,
    Exercise,
    Job,
    JobOutput,
    ManualScore,
    Membership,
    Regrade,
    db,
)
from tests.conftest import Snapshot, restored, take_snapshot
from tests.service.conftest import make_user
from tests.web.conftest import login

ROOT = Path(__file__).resolve().parents[2]
OWN = "ada-mul"  # ada's own exercise, assigned in her course (so her TA sees it)
SOURCE = (ROOT / "exercises" / "gate-multiply.yaml").read_text().replace("id: gate-multiply", f"id: {OWN}")
NEW = SOURCE.replace(f"id: {OWN}", "id: matrix-new")
EDITED = SOURCE.replace("A single multiply gate", "One multiply gate")

SET_FORM = {"title": "mul", "rows": "1", "exercise-0": OWN, "points-0": "2", "late_policy": "reject",
            "scoring": "best", "solution_policy": "after_due", "visible": "1"}

LTI_FORM = {"issuer": "https://lms.example.edu", "client_id": "c2", "auth_login_url": "https://lms.example.edu/a",
            "auth_token_url": "https://lms.example.edu/t", "keyset_url": "https://lms.example.edu/k",
            "deployment_ids": "d1 d2"}

COLUMNS = ("anonymous", "student", "ta", "other_instructor", "owner", "admin")
USERS = {"student": "alice", "ta": "tom", "other_instructor": "eve", "owner": "ada", "admin": "root"}
# method, path, form                            | anonymous student ta other owner admin (302: to the sign-in page)
MATRIX = [
    ("GET", "/instructor/", None,                              302, 404, 200, 200, 200, 200),
    ("GET", "/instructor/exercises/new", None,                 302, 404, 403, 200, 200, 200),
    ("POST", "/instructor/exercises/new", {"definition": NEW}, 302, 404, 403, 302, 302, 302),
    ("POST", "/instructor/exercises/validate", "json",         302, 404, 200, 200, 200, 200),
    ("GET", "/instructor/exercises/{own}/edit", None,          302, 404, 200, 404, 200, 200),
    ("POST", "/instructor/exercises/{own}/edit", {"definition": EDITED},
                                                               302, 404, 403, 404, 302, 302),
    ("POST", "/instructor/exercises/{catalogue}/copy", {"new_id": "a-copy"},
                                                               302, 404, 403, 302, 302, 302),
    ("POST", "/instructor/exercises/{own}/delete", {},         302, 404, 403, 404, 302, 302),
    ("GET", "/instructor/exercises/{own}/versions", None,      302, 404, 200, 404, 200, 200),
    ("POST", "/instructor/exercises/{own}/versions/1/restore", {},
                                                               302, 404, 403, 404, 302, 302),
    ("GET", "/instructor/exercises/{catalogue}/preview?seed=3", None,
                                                               302, 404, 200, 200, 200, 200),
    ("POST", "/instructor/exercises/{catalogue}/preview", {"seed": "3", "action": "fill"},
                                                               302, 404, 200, 200, 200, 200),
    ("GET", "/instructor/exercises/{catalogue}/check", None,   302, 404, 200, 200, 200, 200),
    ("POST", "/instructor/exercises/{catalogue}/check", {"seeds": "20"},
                                                               302, 404, 200, 200, 200, 200),
    # bp101's problem set "mul" (its course's pages: tests/roster/test_course_page_authorization.py); the TA gives
    # overrides and changes nothing else
    ("GET", "/instructor/assignments/{set}/edit", None,        302, 404, 403, 404, 200, 200),
    ("POST", "/instructor/assignments/{set}/edit", SET_FORM,   302, 404, 403, 404, 302, 302),
    ("POST", "/instructor/assignments/{set}/move", {"direction": "up"},
                                                               302, 404, 403, 404, 302, 302),
    ("POST", "/instructor/assignments/{set}/visibility", {"visible": "0"},
                                                               302, 404, 403, 404, 302, 302),
    ("POST", "/instructor/assignments/{set}/archive", {"archived": "1"},
                                                               302, 404, 403, 404, 302, 302),
    ("POST", "/instructor/assignments/{set}/delete", {},       302, 404, 403, 404, 302, 302),
    ("GET", "/instructor/assignments/{set}/overrides", None,   302, 404, 200, 404, 200, 200),
    ("POST", "/instructor/assignments/{set}/overrides", {"user": "alice", "extra_attempts": "1"},
                                                               302, 404, 302, 404, 302, 302),
    ("POST", "/instructor/assignments/{set}/overrides/alice/remove", {},
                                                               302, 404, 302, 404, 302, 302),
    # the gradebook of ada's course (grader/instructor/gradebook.py): its staff see it and grade, TAs too
    ("GET", "/instructor/courses/{course}/gradebook", None,    302, 404, 200, 404, 200, 200),
    ("GET", "/instructor/courses/{course}/gradebook/csv", None, 302, 404, 200, 404, 200, 200),
    ("GET", "/instructor/courses/{course}/gradebook/log", None, 302, 404, 200, 404, 200, 200),
    ("GET", "/instructor/courses/{course}/gradebook/{set}/alice", None,
                                                               302, 404, 200, 404, 200, 200),
    ("POST", "/instructor/courses/{course}/gradebook/{set}/alice",
     {"action": "set", "points": "0.5", "reason": "graded by hand"},
                                                               302, 404, 302, 404, 302, 302),
    # a set's statistics and mistake tallies (grader/instructor/statistics.py): its course's staff, TAs too
    ("GET", "/instructor/assignments/{set}/statistics", None,  302, 404, 200, 404, 200, 200),
    ("GET", "/instructor/assignments/{set}/statistics/csv", None,
                                                               302, 404, 200, 404, 200, 200),
    ("GET", "/instructor/assignments/{set}/mistakes", None,    302, 404, 200, 404, 200, 200),
    ("GET", "/instructor/assignments/{set}/mistakes/{item}?quantity=0&mistake=no_swap", None,
                                                               302, 404, 200, 404, 200, 200),
    # long jobs (grader/instructor/jobs.py): the catalogue belongs to administrators; a job page to its starter
    ("POST", "/instructor/catalogue/import", {},               302, 404, 403, 403, 403, 302),
    ("GET", "/instructor/jobs/{job}", None,                    302, 404, 404, 404, 404, 200),
    # a course's gradebook CSV as a job: its staff start one; the TA's own job is theirs (and the admin's)
    ("POST", "/instructor/courses/{course}/gradebook/csv/job", {}, 302, 404, 302, 404, 302, 302),
    ("GET", "/instructor/jobs/{csvjob}", None,                 302, 404, 200, 404, 404, 200),
    ("GET", "/instructor/jobs/{csvjob}/download", None,        302, 404, 200, 404, 404, 200),
    # regrades (grader/instructor/regrade.py): the course's instructors only; a TA gets 403 (the commit's plan
    # here is no dry run's: 400 for those allowed)
    ("GET", "/instructor/assignments/{set}/regrade", None,     302, 404, 403, 404, 200, 200),
    ("POST", "/instructor/assignments/{set}/regrade", {"change": "grader"},
                                                               302, 404, 403, 404, 200, 200),
    ("POST", "/instructor/assignments/{set}/regrade/commit", {"change": "grader", "plan": "x", "reason": "r"},
                                                               302, 404, 403, 404, 400, 400),
    ("GET", "/instructor/assignments/{set}/regrades/{regrade}", None,
                                                               302, 404, 403, 404, 200, 200),
    ("POST", "/instructor/assignments/{set}/regrades/{regrade}/undo", {},
                                                               302, 404, 403, 404, 302, 302),
    # a dry run of code runs as a job, shown on its own page (the job's page sends its starter there)
    ("GET", "/instructor/assignments/{set}/regrade/dry-runs/{dryjob}", None,
                                                               302, 404, 403, 404, 200, 200),
    ("GET", "/instructor/jobs/{dryjob}", None,                 302, 404, 404, 404, 302, 302),
    # LTI (grader/instructor/lti.py): platform registrations are the administrators'; a link's problem set is
    # chosen by its course's instructors (its TAs see the page)
    ("GET", "/instructor/lti/platforms", None,                 302, 404, 404, 404, 404, 200),
    ("POST", "/instructor/lti/platforms", LTI_FORM,            302, 404, 404, 404, 404, 303),
    ("POST", "/instructor/lti/platforms/{reg}/remove", {},     302, 404, 404, 404, 404, 303),
    ("GET", "/instructor/lti/links/{link}", None,              302, 404, 200, 404, 200, 200),
    ("POST", "/instructor/lti/links/{link}", {"assignment": "{set}"},
                                                               302, 404, 403, 404, 303, 303),
    ("POST", "/instructor/lti/links/{link}/course", {"course": "{course}"},
                                                               302, 404, 403, 404, 303, 303),
    # scores sent to the LMS: the course's graders see them and send one again
    ("GET", "/instructor/courses/{course}/gradebook/lti", None, 302, 404, 200, 404, 200, 200),
    ("POST", "/instructor/courses/{course}/gradebook/lti/{score}/resend", {},
                                                               302, 404, 303, 404, 303, 303),
    ("POST", "/instructor/courses/{course}/gradebook/lti/sync-roster", {},
                                                               302, 404, 403, 404, 303, 303),
]
NAMES = {"{own}": "<slug>", "{catalogue}": "<slug>", "{course}": "<int(max=2147483647):course_id>",
         "{set}": "<int(max=2147483647):assignment_id>", "/alice": "/<string(maxlength=80):username>",
         "{job}": "<int(max=2147483647):job_id>", "{csvjob}": "<int(max=2147483647):job_id>",
         "{dryjob}": "<int(max=2147483647):job_id>",
         "{item}": "<int(max=2147483647):item_id>", "{regrade}": "<int(max=2147483647):regrade_id>",
         "{reg}": "<int(max=2147483647):registration_id>", "{link}": "<int(max=2147483647):link_id>",
         "{score}": "<int(max=2147483647):score_id>"}


def test_every_workspace_route_is_in_the_matrix(app):
    # The course and roster pages have their own matrix (course roles): tests/roster/test_course_page_authorization.py
    # (the gradebook's pages are here)
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("instructor.")
             and (not rule.rule.startswith("/instructor/courses") or "/gradebook" in rule.rule)
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    in_matrix = set()
    for method, path, *_ in MATRIX:
        path = path.split("?")[0]
        for k, v in NAMES.items():
            path = path.replace(k, v)
        in_matrix.add((method, path.replace("/1/", "/<int(max=100000):number>/")))
    assert rules == in_matrix


def world() -> None:
    """Two courses: ada teaches bp101 (tom is its TA, alice a student), eve teaches dl201; root administers."""
    course, elsewhere = Course(code="bp101", title="Backprop 101"), Course(code="dl201", title="Deep Learning")
    db.session.add_all([course, elsewhere])
    ada, eve, root = make_user("ada", "instructor"), make_user("eve", "instructor"), make_user("root", "admin")
    tom, alice = make_user("tom"), make_user("alice")
    db.session.add_all([Membership(user=ada, course=course, role="instructor"),
                        Membership(user=tom, course=course, role="ta"), Membership(user=alice, course=course),
                        Membership(user=eve, course=elsewhere, role="instructor")])
    db.session.commit()
    saved, _ = authoring.save_checked(yaml.safe_load(SOURCE), ada, source=SOURCE)
    mul = Assignment(course=course, exercise=saved, title="mul")
    db.session.add(mul)
    registration = LtiRegistration(issuer="https://lms.example.edu", client_id="c1", auth_login_url="https://l/a",
                                   auth_token_url="https://l/t", keyset_url="https://l/k")
    context = LtiContext(registration=registration, deployment_id="d1", context_id="ctx", course=course)
    link = LtiResourceLink(context=context, resource_link_id="rl")
    db.session.add_all([registration, context, link, LtiScore(resource_link=link, user=alice, score_maximum=1)])
    db.session.add(Job(kind="catalogue_import", started_by=root.id, state="running", done=3, total=20, params={}))
    db.session.flush()
    db.session.add(Regrade(course_id=course.id, assignment_id=mul.id, created_by=ada.id, reason="matrix", params={},
                           fingerprint="0" * 64, submission_ids=[], state="committed"))
    db.session.add(Job(kind="regrade_dry_run", started_by=ada.id, state="running", done=1, total=4,
                       params={"course_id": course.id, "assignment_id": mul.id, "request": {"change": "grader"}}))
    db.session.commit()
    csv_job = Job(kind="gradebook_csv", started_by=tom.id, state="done", done=1, total=1,
                  params={"course_id": course.id}, result={"students": 1})
    db.session.add(csv_job)
    db.session.flush()
    db.session.add(JobOutput(job_id=csv_job.id, filename="gradebook-bp101.csv", media_type="text/csv", size=2,
                             content=b"x\n"))
    db.session.commit()
    assert root.role == "admin"


@pytest.fixture(scope="module")
def world_snapshot(module_app) -> Snapshot:
    authoring.import_catalogue(module_app.config["EXERCISES_DIR"])
    world()
    return take_snapshot()


@pytest.fixture
def app(module_app, world_snapshot):
    """Each cell starts from the world as built (what the cell before changed is undone)."""
    with restored(module_app, world_snapshot) as app:
        yield app


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r[0]} {r[1]}" for r in MATRIX])
@pytest.mark.parametrize("column", COLUMNS)
def test_workspace_authorization(app, client, row, column):
    method, path, form, *expected = row
    if column != "anonymous":
        login(client, USERS[column])
    course = db.session.scalar(select(Course.id).where(Course.code == "bp101"))
    mul = db.session.scalar(select(Assignment.id).where(Assignment.title == "mul"))
    jobs = dict(db.session.execute(select(Job.kind, Job.id)).all())
    item = db.session.scalar(select(AssignmentItem.id).where(AssignmentItem.assignment_id == mul))
    url = path.format(own=OWN, catalogue="gate-multiply", course=course, set=mul, job=jobs["catalogue_import"],
                      csvjob=jobs["gradebook_csv"], dryjob=jobs["regrade_dry_run"], item=item,
                      regrade=db.session.scalar(select(Regrade.id)), reg=db.session.scalar(select(LtiRegistration.id)),
                      link=db.session.scalar(select(LtiResourceLink.id)), score=db.session.scalar(select(LtiScore.id)))
    if isinstance(form, dict):
        form = {k: str(mul) if v == "{set}" else str(course) if v == "{course}" else v for k, v in form.items()}
    if form == "json":
        response = client.post(url, json={"source": SOURCE})
    elif method == "POST":
        response = client.post(url, data=form)
    else:
        response = client.get(url)
    want = expected[COLUMNS.index(column)]
    assert response.status_code == want, (column, response.text[:300])
    if column == "anonymous":
        assert "/login" in response.headers["Location"]
    if want in (403, 404) and column != "anonymous":
        own = db.session.scalar(select(Exercise).where(Exercise.slug == OWN))
        assert own.current_version == 1 and not own.deleted  # a refusal changed nothing
        db.session.expire_all()
        kept = db.session.get(Assignment, mul)
        assert kept.visible and not kept.archived and not kept.overrides and kept.points == 1
        assert db.session.scalar(select(ManualScore.id)) is None
        assert set(db.session.scalars(select(Job.id))) == set(jobs.values())  # no job started
    if want == 302 and column != "anonymous" and "/gradebook/{set}" in path:
        assert db.session.scalar(select(ManualScore.points)) == 0.5  # allowed: done
    if want == 302 and column != "anonymous" and path.endswith("/csv/job"):  # started (eager: and done)
        started = db.session.scalar(select(Job).where(Job.id.not_in(jobs.values())))
        assert started.kind == "gradebook_csv" and started.state == "done", started
        assert response.headers["Location"] == f"/instructor/jobs/{started.id}"
