"""Who may open and change the instructor's course pages: every route × {signed out, a student of the course,
its TA, its instructor, the instructor of another course, an administrator}, with the exact status.

Signed out: sent to sign in (302). A student (no staff membership anywhere): 404, the workspace does not show.
Outside the course: 404 (no hint it exists). A TA sees the roster but changes nothing (403)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from grader import authoring
from grader.models import Assignment, Membership, User, db
from tests.conftest import Snapshot, restored, take_snapshot
from tests.roster.conftest import build_roster
from tests.web.conftest import login

COLUMNS = ("anonymous", "student", "ta", "instructor", "other_instructor", "admin")
WHO = {"student": "alice", "ta": "tom", "instructor": "ada", "other_instructor": "olga", "admin": "root"}
CSV = b"username,name,email,role\nnewcomer,New Comer,new@example.org,student\n"

# method, path, form                                          anonymous student ta instructor other admin
MATRIX = [
    ("GET", "/instructor/courses", None,                          302, 404, 200, 200, 200, 200),
    ("POST", "/instructor/courses", {"code": "new101", "title": "New"},
                                                                  302, 404, 403, 302, 302, 302),
    ("GET", "/instructor/courses/{course}", None,                 302, 404, 200, 200, 404, 200),
    ("POST", "/instructor/courses/{course}/title", {"title": "Renamed"},
                                                                  302, 404, 403, 302, 404, 302),
    ("POST", "/instructor/courses/{course}/members", {"username": "loner", "role": "student"},
                                                                  302, 404, 403, 302, 404, 302),
    ("POST", "/instructor/courses/{course}/import", "csv",        302, 404, 403, 200, 404, 200),
    ("POST", "/instructor/courses/{course}/members/bob/role", {"role": "ta"},
                                                                  302, 404, 403, 302, 404, 302),
    ("POST", "/instructor/courses/{course}/members/bob/remove", {},
                                                                  302, 404, 403, 302, 404, 302),
    ("POST", "/instructor/courses/{course}/members/bob/reset", {},
                                                                  302, 404, 403, 200, 404, 200),
    ("GET", "/instructor/courses/{course}/students/bob", None,    302, 404, 200, 200, 404, 200),
    # the statistics of its sets, a line each (each set's own pages: tests/instructor/test_authorization.py)
    ("GET", "/instructor/courses/{course}/statistics", None,      302, 404, 200, 200, 404, 200),
    # its problem sets (each set's own pages: tests/instructor/test_authorization.py)
    ("GET", "/instructor/courses/{course}/assignments", None,     302, 404, 200, 200, 404, 200),
    ("GET", "/instructor/courses/{course}/assignments/new", None, 302, 404, 403, 200, 404, 200),
    ("POST", "/instructor/courses/{course}/assignments/new", "set",
                                                                  302, 404, 403, 302, 404, 302),
]
SET_FORM = {"title": "Week 1", "rows": "1", "exercise-0": "gate-add", "points-0": "1", "late_policy": "reject",
            "scoring": "best", "solution_policy": "after_due", "visible": "1"}


def test_every_course_page_route_is_in_the_matrix(app):
    # the gradebook's pages are in tests/instructor/test_authorization.py (they need a problem set)
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/instructor/courses") and "/gradebook" not in rule.rule
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    in_matrix = {(m, p.replace("{course}", "<int(max=2147483647):course_id>")
                  .replace("/bob", "/<string(maxlength=80):username>")) for m, p, *_ in MATRIX}
    assert routes == in_matrix


@dataclass
class MatrixWorld:
    course_id: int
    snapshot: Snapshot


@pytest.fixture(scope="module")
def matrix_world(module_app) -> MatrixWorld:
    authoring.import_catalogue(module_app.config["EXERCISES_DIR"])
    course_id = build_roster().course.id
    return MatrixWorld(course_id, take_snapshot())


@pytest.fixture
def app(module_app, matrix_world):
    """Each cell starts from the roster as built (what the cell before changed is undone)."""
    with restored(module_app, matrix_world.snapshot) as app:
        yield app


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r[0]} {r[1]}" for r in MATRIX])
@pytest.mark.parametrize("column", COLUMNS)
def test_course_page_authorization(app, client, matrix_world, row, column):
    method, path, form, *expected = row
    if form == "set":
        form = SET_FORM
    if column != "anonymous":
        login(client, WHO[column])
    course_id = matrix_world.course_id
    url = path.format(course=course_id)
    if form == "csv":
        form = {"file": (io.BytesIO(CSV), "class.csv")}
    response = client.open(url, method=method, data=form)
    want = expected[COLUMNS.index(column)]
    assert response.status_code == want, (column, response.text[:500])
    if column == "anonymous":
        assert "/login" in response.headers["Location"]
    bob = db.session.scalar(select(User).where(User.username == "bob"))
    member = db.session.scalar(select(Membership).where(Membership.user_id == bob.id,
                                                        Membership.course_id == course_id))
    changed_bob = path.endswith(("/role", "/remove"))
    # Refused requests change nothing; allowed ones did what they say.
    if want in (302, 200) and column != "anonymous" and method == "POST" and changed_bob:
        assert member is None if path.endswith("/remove") else member.role == "ta"
    elif changed_bob:
        assert member is not None and member.role == "student"
    made = db.session.scalar(select(func.count()).select_from(Assignment))
    assert made == (1 if form is SET_FORM and want == 302 and column != "anonymous" else 0)
