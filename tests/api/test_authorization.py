"""Authorization matrix: every route × {anonymous, student, student of another course, instructor, a token
with only the route's scope, a token with every scope but that one}, asserting the exact status.

`scoped` and `unscoped` tokens belong to the route's natural user (the instructor for instructor routes,
alice the student for student routes). Token routes need no scope (a token only grants scopes it holds), so
their `unscoped` column is a token with no scope at all. Each cell runs against a fresh database.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from grader.exercises import find
from grader.models import SCOPES, ApiToken, Exercise, Job, JobOutput, Regrade, User, db
from tests.api.conftest import EXERCISE, RIGHT, assign, bearer, seed_world
from tests.conftest import Snapshot, restored, take_snapshot

CATALOGUE_DIR = str(Path(__file__).resolve().parents[2] / "exercises")
COLUMNS = ("anonymous", "student", "other_student", "instructor", "scoped", "unscoped")
IDENTITY = {"student": "alice", "other_student": "eve", "instructor": "teacher"}
CODE_EXERCISE = "code-relu-backward"
CODE_BODIES = {"precheck"}  # rows whose {assignment} is a code exercise's

# method, path, body, scope, natural user   | anonymous student other instructor scoped unscoped
MATRIX = [
    ("GET", "/exercises", None, "exercises:read", "teacher",                     401, 403, 403, 200, 200, 403),
    ("POST", "/exercises", "new_exercise", "exercises:write", "teacher",         401, 403, 403, 201, 201, 403),
    ("GET", "/exercises/{slug}", None, "exercises:read", "teacher",              401, 403, 403, 200, 200, 403),
    ("PUT", "/exercises/{slug}", "edit_exercise", "exercises:write", "teacher",  401, 403, 403, 200, 200, 403),
    ("DELETE", "/exercises/gate-add", None, "exercises:write", "teacher",        401, 403, 403, 204, 204, 403),
    ("POST", "/solve", "solve", "exercises:read", "teacher",                     401, 403, 403, 200, 200, 403),
    ("GET", "/exercises/{slug}/preview?seed=4", None, "exercises:read", "teacher", 401, 403, 403, 200, 200, 403),
    ("POST", "/exercises/{slug}/check", "check", "exercises:write", "teacher",   401, 403, 403, 200, 200, 403),
    ("GET", "/exercises/{slug}/versions", None, "exercises:read", "teacher",     401, 403, 403, 200, 200, 403),
    ("GET", "/exercises/{slug}/versions/1", None, "exercises:read", "teacher",   401, 403, 403, 200, 200, 403),
    ("POST", "/exercises/{slug}/versions/1/restore", None, "exercises:write", "teacher",
                                                                                 401, 403, 403, 200, 200, 403),
    ("GET", "/exercises/{slug}/diff?from=1&to=1", None, "exercises:read", "teacher",
                                                                                 401, 403, 403, 200, 200, 403),
    ("GET", "/courses", None, "courses:read", "alice",                           401, 200, 200, 200, 200, 403),
    ("GET", "/courses/{course}", None, "courses:read", "alice",                  401, 200, 404, 200, 200, 403),
    ("GET", "/courses/{course}/gradebook", None, "gradebook:read", "teacher",    401, 403, 404, 200, 200, 403),
    ("GET", "/courses/{course}/gradebook?format=csv", None, "gradebook:read", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("PUT", "/courses/{course}/gradebook/{assignment}/bob", "manual", "gradebook:write", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("DELETE", "/courses/{course}/gradebook/{assignment}/bob?reason=regraded", None, "gradebook:write",
     "teacher",                                                                  401, 403, 404, 204, 204, 403),
    ("GET", "/courses/{course}/grade-log", None, "gradebook:read", "teacher",    401, 403, 404, 200, 200, 403),
    ("GET", "/courses/{course}/memberships", None, "courses:read", "teacher",    401, 403, 404, 200, 200, 403),
    ("POST", "/courses/{course}/memberships", "enroll", "courses:write", "teacher",
                                                                                 401, 403, 404, 201, 201, 403),
    # the roster (grader/api/roster.py): creating courses and accounts, changing and removing members
    ("POST", "/courses", "course", "courses:write", "teacher",                   401, 403, 403, 201, 201, 403),
    ("PATCH", "/courses/{course}", "rename", "courses:write", "teacher",         401, 403, 404, 200, 200, 403),
    ("POST", "/users", "user", "users:write", "teacher",                         401, 403, 403, 201, 201, 403),
    ("PATCH", "/courses/{course}/memberships/bob", "role", "courses:write", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("DELETE", "/courses/{course}/memberships/bob", None, "courses:write", "teacher",
                                                                                 401, 403, 404, 204, 204, 403),
    ("GET", "/courses/{course}/assignments", None, "courses:read", "alice",      401, 200, 404, 200, 200, 403),
    ("POST", "/courses/{course}/assignments", "assignment", "courses:write", "teacher",
                                                                                 401, 403, 404, 201, 201, 403),
    ("GET", "/assignments/{assignment}", None, "courses:read", "alice",          401, 200, 404, 200, 200, 403),
    ("PATCH", "/assignments/{assignment}", "patch", "courses:write", "teacher",  401, 403, 404, 200, 200, 403),
    ("DELETE", "/assignments/{assignment}", None, "courses:write", "teacher",    401, 403, 404, 409, 409, 403),
    ("GET", "/assignments/{assignment}/overrides", None, "courses:read", "teacher", 401, 403, 404, 200, 200, 403),
    ("POST", "/assignments/{assignment}/overrides", "override", "courses:write", "teacher",
                                                                                 401, 403, 404, 201, 201, 403),
    ("DELETE", "/assignments/{assignment}/overrides?user=alice", None, "courses:write", "teacher",
                                                                                 401, 403, 404, 204, 204, 403),
    # a set's statistics and mistake tallies (grader/api/statistics.py): the course's staff
    ("GET", "/assignments/{assignment}/statistics", None, "gradebook:read", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("GET", "/assignments/{assignment}/statistics?format=csv", None, "gradebook:read", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("GET", "/assignments/{assignment}/mistakes", None, "gradebook:read", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("GET", "/assignments/{assignment}/variant", None, "submissions:read", "alice",
                                                                                 401, 200, 404, 200, 200, 403),
    # a student's, for the course's staff (tests/api/test_user_parameter.py): a student naming another is 403
    ("GET", "/assignments/{assignment}/variant?user=bob", None, "submissions:read", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("POST", "/assignments/{assignment}/submissions", "submit", "submissions:write", "alice",
                                                                                 401, 201, 404, 201, 201, 403),
    # on a code assignment (CODE_BODIES), with code that does not parse: answered without starting the sandbox
    ("POST", "/assignments/{assignment}/precheck", "precheck", "submissions:write", "alice",
                                                                                 401, 200, 404, 200, 200, 403),
    ("GET", "/assignments/{assignment}/submissions", None, "submissions:read", "alice",
                                                                                 401, 200, 404, 200, 200, 403),
    ("GET", "/assignments/{assignment}/submissions?user=bob", None, "submissions:read", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("GET", "/submissions/{submission}", None, "submissions:read", "alice",      401, 200, 404, 200, 200, 403),
    ("GET", "/tokens", None, None, "alice",                                      401, 200, 200, 200, 200, 200),
    ("POST", "/tokens", "token", None, "alice",                                  401, 201, 201, 201, 201, 201),
    # a token revokes only itself and what it made: the spare token is neither (sessions: test_tokens.py)
    ("DELETE", "/tokens/{token}", None, None, "alice",                           401, 403, 404, 404, 403, 403),
    # a job's progress: the teacher started this one, bp101's gradebook CSV (any token of theirs reads it;
    # others: 404); its file needs gradebook:read, as the gradebook does; the course's staff start one
    ("GET", "/jobs/{job}", None, None, "teacher",                                401, 404, 404, 200, 200, 200),
    ("GET", "/jobs/{job}/download", None, "gradebook:read", "teacher",           401, 404, 404, 200, 200, 403),
    ("POST", "/courses/{course}/gradebook/csv-job", None, "gradebook:read", "teacher",
                                                                                 401, 403, 404, 202, 202, 403),
    # regrades: the course's instructors only (a TA's 403 is tests/api/test_regrade_api.py's)
    ("POST", "/assignments/{assignment}/regrade", "regrade", "gradebook:write", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
    ("GET", "/assignments/{assignment}/regrades", None, "gradebook:read", "teacher", 401, 403, 404, 200, 200, 403),
    ("POST", "/assignments/{assignment}/regrades/{regrade}/undo", None, "gradebook:write", "teacher",
                                                                                 401, 403, 404, 200, 200, 403),
]


def bodies() -> dict:
    new = copy.deepcopy(find(EXERCISE, CATALOGUE_DIR).document)
    new["id"] = "matrix-new"
    edit = copy.deepcopy(find(EXERCISE, CATALOGUE_DIR).document)
    edit["title"] = "Edited"
    return {
        "new_exercise": {"definition": new}, "edit_exercise": {"definition": edit},
        "solve": {"definition": edit, "seed": 3}, "enroll": {"username": "loner"},
        "assignment": {"exercise": "gate-add"}, "patch": {"points": 3}, "submit": {"answers": RIGHT},
        "token": {"name": "x", "scopes": []}, "check": {"seeds": 3},
        "precheck": {"code": "def relu_backward(dout, z:\n    pass"},
        "override": {"user": "alice", "extra_attempts": 1},
        "course": {"code": "new101", "title": "New"}, "rename": {"title": "Renamed"},
        "user": {"username": "newbie", "name": "New Bie", "email": "newbie@example.org", "role": "student"},
        "role": {"role": "ta"}, "manual": {"points": 5, "reason": "graded by hand"},
        "regrade": {"dry_run": True},
    }


BODIES = bodies()  # each request sends its own JSON copy


def headers_for(column: str, scope: str | None, natural: str) -> dict[str, str]:
    if column == "anonymous":
        return {}
    if column in IDENTITY:
        return bearer(IDENTITY[column])
    if column == "scoped":
        return bearer(natural, [scope] if scope else [])
    return bearer(natural, [s for s in SCOPES if s != scope] if scope else [])


def test_every_documented_operation_is_in_the_matrix(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    documented = {(m.upper(), p.removeprefix("/api/v1")) for p, ops in paths.items() for m in ops
                  if m != "parameters"}
    names = {"{slug}": "{slug}", "{course_id}": "{course}", "{assignment_id}": "{assignment}",
             "{submission_id}": "{submission}", "{token_id}": "{token}", "{number}": "1",
             "{username}": "bob", "{job_id}": "{job}", "{regrade_id}": "{regrade}"}
    normalised = set()
    for method, path in documented:
        for k, v in names.items():
            path = path.replace(k, v)
        normalised.add((method, path))
    in_matrix = {(m, p.replace("gate-add", "{slug}").split("?")[0]) for m, p, *_ in MATRIX}
    assert normalised == in_matrix


@dataclass
class MatrixWorld:
    """The ids the matrix's paths name, and the snapshot every cell starts from."""

    ids: dict[str, Any]
    snapshot: Snapshot


@pytest.fixture(scope="module")
def matrix_world(module_app) -> MatrixWorld:
    world = seed_world(module_app.config["EXERCISES_DIR"], only=(EXERCISE, "gate-add", CODE_EXERCISE))
    code = assign(world.course, CODE_EXERCISE)
    # The instructor owns the exercises here; other owners are tests/api/test_exercise_owners.py's.
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    for exercise in db.session.scalars(select(Exercise)):
        exercise.owner_id = teacher.id
    alice = db.session.scalar(select(User).where(User.username == "alice"))
    submission = module_app.test_client().post(f"/api/v1/assignments/{world.assignment.id}/submissions",
                                               json={"answers": RIGHT}, headers=bearer("alice")).get_json()["id"]
    spare, _ = ApiToken.issue(alice, ["courses:read"], name="spare")
    job = Job(kind="gradebook_csv", started_by=teacher.id, state="done", done=1, total=1,
              params={"course_id": world.course.id}, result={"students": 2})
    db.session.add_all([spare, job])
    db.session.flush()
    db.session.add(JobOutput(job_id=job.id, filename="gradebook-bp101.csv", media_type="text/csv", size=2,
                             content=b"x\n"))
    regrade = Regrade(course_id=world.course.id, assignment_id=world.assignment.id, created_by=teacher.id,
                      reason="matrix", params={}, fingerprint="0" * 64, submission_ids=[], state="committed")
    db.session.add(regrade)
    db.session.commit()
    ids = {"slug": EXERCISE, "course": world.course.id, "assignment": world.assignment.id, "code": code.id,
           "submission": submission, "token": spare.id, "job": job.id, "regrade": regrade.id}
    return MatrixWorld(ids, take_snapshot())


@pytest.fixture
def app(module_app, matrix_world):
    """Each cell runs on the matrix's world as it was built (what the cell before changed is undone)."""
    with restored(module_app, matrix_world.snapshot) as app:
        yield app


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r[0]} {r[1]}" for r in MATRIX])
@pytest.mark.parametrize("column", COLUMNS)
def test_authorization(app, client, matrix_world, row, column):
    method, path, body, scope, natural, *expected = row
    ids = matrix_world.ids
    assignment = ids["code"] if body in CODE_BODIES else ids["assignment"]
    url = "/api/v1" + path.format(**{**ids, "assignment": assignment})
    headers = headers_for(column, scope, natural)
    response = client.open(url, method=method, json=BODIES[body] if body else None, headers=headers)
    want = expected[COLUMNS.index(column)]
    assert response.status_code == want, (column, response.get_json())
    if want >= 400:
        assert set(response.get_json()) == {"code", "message", "errors"}
