"""Functional tests: each route of /api/v1 does what it says, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlalchemy import select

from grader.exercises import find
from grader.models import ApiToken, Exercise, Membership, Submission, User, Variant, db, utcnow
from tests.api.conftest import EXERCISE, RIGHT, assign, bearer, count


def definition(app, slug: str = EXERCISE) -> dict:
    return copy.deepcopy(find(slug, app.config["EXERCISES_DIR"]).document)


# --- documents -------------------------------------------------------------------------------------------

def test_openapi_and_docs_are_served(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"] == "3.0.3" and spec["info"]["title"] == "Gradgate"
    assert "/api/v1/assignments/{assignment_id}/submissions" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"/api/v1/solve" in page.data and b"cdn" not in page.data.lower()


# --- exercises -------------------------------------------------------------------------------------------

def test_list_and_read_exercises(app, client, world):
    headers = bearer("teacher")
    listing = client.get("/api/v1/exercises?page_size=5", headers=headers)
    assert listing.status_code == 200 and len(listing.get_json()) == 5
    assert '"total": 21' in listing.headers["X-Pagination"]
    one = client.get(f"/api/v1/exercises/{EXERCISE}", headers=headers).get_json()
    assert one["slug"] == EXERCISE and one["version"] == 1 and one["versions"] == [1]
    assert one["definition"]["graph"][0] == "z1 = matmul(x, W1)"


def test_create_edit_delete_an_exercise(app, client, world):
    headers = bearer("teacher")
    doc = definition(app)
    doc["id"], doc["title"] = "my-new-one", "Mine"
    created = client.post("/api/v1/exercises", json={"definition": doc}, headers=headers)
    assert created.status_code == 201 and created.get_json()["version"] == 1
    assert client.post("/api/v1/exercises", json={"definition": doc}, headers=headers).status_code == 409
    doc["title"] = "Mine, edited"
    edited = client.put("/api/v1/exercises/my-new-one", json={"definition": doc}, headers=headers).get_json()
    assert edited["version"] == 2 and edited["versions"] == [1, 2] and edited["title"] == "Mine, edited"
    same = client.put("/api/v1/exercises/my-new-one", json={"definition": doc}, headers=headers).get_json()
    assert same["version"] == 2  # unchanged: no new version
    assert client.delete("/api/v1/exercises/my-new-one", headers=headers).status_code == 204
    assert client.get("/api/v1/exercises/my-new-one", headers=headers).status_code == 404
    assert db.session.scalar(select(Exercise).where(Exercise.slug == "my-new-one")).deleted


def test_an_invalid_definition_names_its_paths(app, client, world):
    headers = bearer("teacher")
    doc = definition(app)
    doc["id"] = "broken"
    doc["graph"][0] = "z1 = frobnicate(x, W1)"
    del doc["title"]
    response = client.post("/api/v1/exercises", json={"definition": doc}, headers=headers)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "invalid_definition"
    assert "definition.title" in body["errors"], body
    assert count(Exercise) == 21


def test_put_must_keep_the_slug(app, client, world):
    doc = definition(app)
    doc["id"] = "something-else"
    response = client.put(f"/api/v1/exercises/{EXERCISE}", json={"definition": doc}, headers=bearer("root"))
    assert response.status_code == 422 and "definition.id" in response.get_json()["errors"]


def test_huge_tensors_are_refused(app, client, world):
    doc = definition(app)
    doc["inputs"]["x"] = {"shape": [1, 100000], "random": {"uniform": [-1, 1]}}
    response = client.post("/api/v1/solve", json={"definition": doc}, headers=bearer("teacher"))
    assert response.status_code == 422


def test_solve_previews_without_storing(app, client, world):
    before = count(Variant), count(Submission), count(Exercise)
    response = client.post("/api/v1/solve", json={"definition": definition(app, "two-layer-random"), "seed": 7},
                           headers=bearer("teacher"))
    body = response.get_json()
    assert response.status_code == 200 and body["seed"] == 7
    assert body["answers"] and body["trace"] and body["grads"]
    assert (count(Variant), count(Submission), count(Exercise)) == before


# --- courses, memberships, assignments, gradebook --------------------------------------------------------

def test_courses_of_the_user(client, world):
    mine = client.get("/api/v1/courses", headers=bearer("alice")).get_json()
    assert [(c["code"], c["role"]) for c in mine] == [("bp101", "student")]
    assert len(client.get("/api/v1/courses", headers=bearer("root")).get_json()) == 2
    one = client.get(f"/api/v1/courses/{world.course.id}", headers=bearer("teacher")).get_json()
    assert one["role"] == "instructor"
    assert client.get(f"/api/v1/courses/{world.other.id}", headers=bearer("alice")).status_code == 404


def test_enroll_by_username(client, world):
    headers = bearer("teacher")
    url = f"/api/v1/courses/{world.course.id}/memberships"
    created = client.post(url, json={"username": "loner"}, headers=headers)
    assert created.status_code == 201 and created.get_json()["role"] == "student"
    assert client.post(url, json={"username": "loner"}, headers=headers).status_code == 409
    unknown = client.post(url, json={"username": "nobody"}, headers=headers)
    assert unknown.status_code == 422 and "username" in unknown.get_json()["errors"]
    members = client.get(url, headers=headers).get_json()
    assert sorted(m["username"] for m in members) == ["alice", "bob", "loner", "teacher"]
    assert count(Membership) == 6


def test_assignments_create_list_patch(client, world):
    headers = bearer("teacher")
    url = f"/api/v1/courses/{world.course.id}/assignments"
    created = client.post(url, json={"exercise": "gate-add", "attempt_limit": 2, "visible": False,
                                     "due_at": "2030-01-01T12:00:00+02:00"}, headers=headers)
    body = created.get_json()
    assert created.status_code == 201 and body["exercise"] == "gate-add" and body["title"]
    assert body["due_at"].startswith("2030-01-01T10:00:00")  # stored in UTC
    assert len(client.get(url, headers=headers).get_json()) == 2
    assert len(client.get(url, headers=bearer("alice")).get_json()) == 1  # hidden from students
    hidden = f"/api/v1/assignments/{body['id']}"
    assert client.get(hidden, headers=bearer("alice")).status_code == 404
    patched = client.patch(hidden, json={"visible": True, "points": 5, "scoring": "last"}, headers=headers)
    assert patched.status_code == 200 and patched.get_json()["points"] == 5
    assert client.get(hidden, headers=bearer("alice")).status_code == 200
    bad = client.post(url, json={"exercise": "no-such-thing"}, headers=headers)
    assert bad.status_code == 422 and "exercise" in bad.get_json()["errors"]


def test_gradebook(client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    client.post(url, json={"answers": RIGHT}, headers=bearer("alice"))
    book = client.get(f"/api/v1/courses/{world.course.id}/gradebook", headers=bearer("teacher")).get_json()
    rows = {r["username"]: r for r in book["students"]}
    assert set(rows) == {"alice", "bob"}
    assert rows["alice"]["scores"][str(world.assignment.id)] == 10 and rows["alice"]["total"] == 10
    assert rows["bob"]["scores"][str(world.assignment.id)] is None
    assert book["assignments"] == [{"id": world.assignment.id, "title": world.assignment.title, "points": 10}]

    # New points for the assignment: what was earned follows.
    patched = client.patch(f"/api/v1/assignments/{world.assignment.id}", json={"points": 4}, headers=bearer("teacher"))
    assert patched.status_code == 200
    book = client.get(f"/api/v1/courses/{world.course.id}/gradebook", headers=bearer("teacher")).get_json()
    assert {r["username"]: r["total"] for r in book["students"]}["alice"] == 4


# --- variant and submissions -----------------------------------------------------------------------------

def test_the_variant_has_no_solution(client, world):
    response = client.get(f"/api/v1/assignments/{world.assignment.id}/variant", headers=bearer("alice"))
    body = response.get_json()
    assert response.status_code == 200
    assert body["inputs"]["x"] == [[0.1, 0.2]] and body["params"]["W1"] == [[0.3, 0.4], [0.5, 0.6]]
    assert body["asks"] == [{"position": 0, "kind": "grad", "node": "W1", "entry": [1, 1], "label": "dL/dW1_22",
                             "points": 1.0, "shape": []}]
    assert body["attempts_left"] == 3 and "within" in body["tolerance"] and body["function"] is None
    text = str(body)
    assert "0.00262" not in text and "expected" not in text and "grads" not in text


def test_code_variant_shows_the_function(client, world):
    code = assign(world.course, "code-relu-backward")
    body = client.get(f"/api/v1/assignments/{code.id}/variant", headers=bearer("alice")).get_json()
    assert body["kind"] == "code" and body["function"]["name"] and body["function"]["starter"]


def test_submit_and_read_back(client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    right = client.post(url, json={"answers": RIGHT}, headers=bearer("alice"))
    body = right.get_json()
    assert right.status_code == 201 and body["status"] == "graded" and body["score"] == 1.0
    assert body["attempt"] == 1 and body["points"] == 10
    assert body["feedback"]["parts"][0]["expected"] is None  # solution_policy never
    again = client.get(f"/api/v1/submissions/{body['id']}", headers=bearer("alice")).get_json()
    assert again["id"] == body["id"] and again["answers"] == RIGHT
    as_teacher = client.get(f"/api/v1/submissions/{body['id']}", headers=bearer("teacher"))
    assert as_teacher.status_code == 200 and as_teacher.get_json()["user_id"] == body["user_id"]
    assert client.get(f"/api/v1/submissions/{body['id']}", headers=bearer("bob")).status_code == 404
    assert client.get(f"/api/v1/submissions/{body['id']}", headers=bearer("eve")).status_code == 404


def test_answers_for_an_edited_exercise_are_refused_with_409(app, client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    variant = client.get(f"/api/v1/assignments/{world.assignment.id}/variant", headers=bearer("alice")).get_json()
    assert variant["version"] == 1
    edited = dict(definition(app), title="Edited while students work")
    assert client.put(f"/api/v1/exercises/{EXERCISE}", json={"definition": edited},
                      headers=bearer("root")).status_code == 200  # the catalogue: an administrator's
    stale = client.post(url, json={"answers": RIGHT, "version": variant["version"]}, headers=bearer("alice"))
    assert stale.status_code == 409 and stale.get_json()["code"] == "exercise_changed"
    assert stale.get_json()["errors"] == {"version": ["the current version is 2"]}
    assert count(Submission) == 0
    wrong_type = client.post(url, json={"answers": RIGHT, "version": "2"}, headers=bearer("alice"))
    assert wrong_type.status_code == 422 and "version" in wrong_type.get_json()["errors"]
    fresh = client.post(url, json={"answers": RIGHT, "version": 2}, headers=bearer("alice"))
    assert fresh.status_code == 201 and fresh.get_json()["exercise_version"] == 2


def test_a_format_error_is_stored_without_using_an_attempt(client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    response = client.post(url, json={"answers": {"0": "one point two"}}, headers=bearer("alice"))
    body = response.get_json()
    assert response.status_code == 201 and body["status"] == "invalid" and body["attempt"] is None
    assert body["feedback"]["parts"][0]["format_error"]
    variant = client.get(f"/api/v1/assignments/{world.assignment.id}/variant", headers=bearer("alice"))
    assert variant.get_json()["attempts_left"] == 3


def test_attempt_limit_and_due_date_are_409(client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    headers = bearer("alice")
    for _ in range(3):
        assert client.post(url, json={"answers": {"0": "1"}}, headers=headers).status_code == 201
    refused = client.post(url, json={"answers": RIGHT}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["code"] == "no_attempts_left"
    closed = assign(world.course, "gate-add", due_at=utcnow() - timedelta(hours=1), late_policy="reject")
    past = client.post(f"/api/v1/assignments/{closed.id}/submissions", json={"answers": {"0": "1"}},
                       headers=headers)
    assert past.status_code == 409 and past.get_json()["code"] == "past_due"
    assert count(Submission) == 3


def test_code_for_a_numeric_exercise_is_422(client, world):
    response = client.post(f"/api/v1/assignments/{world.assignment.id}/submissions",
                           json={"code": "def f(): pass"}, headers=bearer("alice"))
    assert response.status_code == 422 and "answers" in response.get_json()["errors"]
    assert count(Submission) == 0


def test_solution_shown_once_the_policy_allows(client, world):
    after_due = assign(world.course, "gate-add", solution_policy="after_due", late_policy="reject",
                       due_at=utcnow() + timedelta(days=1))
    url = f"/api/v1/assignments/{after_due.id}/submissions"
    sid = client.post(url, json={"answers": {"0": "[1, 1, 1]", "1": "[1, 1, 1]"}},
                      headers=bearer("alice")).get_json()["id"]
    read = client.get(f"/api/v1/submissions/{sid}", headers=bearer("alice")).get_json()
    assert all(p["expected"] is None for p in read["feedback"]["parts"])
    after_due.due_at = utcnow() - timedelta(minutes=1)  # closed: nothing more can be earned
    db.session.commit()
    read = client.get(f"/api/v1/submissions/{sid}", headers=bearer("alice")).get_json()
    assert all(p["expected"] is not None for p in read["feedback"]["parts"])


def test_listing_submissions(client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    client.post(url, json={"answers": RIGHT}, headers=bearer("alice"))
    client.post(url, json={"answers": {"0": "2"}}, headers=bearer("bob"))
    client.post(url, json={"answers": {"0": "3"}}, headers=bearer("bob"))
    assert [s["user_id"] for s in client.get(url, headers=bearer("alice")).get_json()] == [
        db.session.scalar(select(Membership.user_id).join(Membership.user).where(
            Membership.course_id == world.course.id, Membership.role == "student").order_by(Membership.id))]
    teacher = bearer("teacher")
    everyone = client.get(url + "?page_size=2", headers=teacher)
    assert len(everyone.get_json()) == 2 and '"total": 3' in everyone.headers["X-Pagination"]
    assert len(client.get(url + "?user=bob", headers=teacher).get_json()) == 2


# --- tokens ----------------------------------------------------------------------------------------------

def test_tokens_create_list_revoke(client, world):
    headers = bearer("alice")
    created = client.post("/api/v1/tokens", json={"name": "lms", "scopes": ["submissions:read"],
                                                  "expires_in_days": 7}, headers=headers)
    body = created.get_json()
    assert created.status_code == 201 and body["token"].startswith("gg_") and body["scopes"] == ["submissions:read"]
    new = {"Authorization": f"Bearer {body['token']}"}
    listing = client.get("/api/v1/tokens", headers=headers).get_json()
    assert body["id"] in [t["id"] for t in listing] and all("token" not in t for t in listing)
    assert client.get(f"/api/v1/assignments/{world.assignment.id}/submissions", headers=new).status_code == 200
    assert db.session.get(ApiToken, body["id"]).last_used_at is not None
    escalate = client.post("/api/v1/tokens", json={"scopes": ["exercises:write"]}, headers=new)
    assert escalate.status_code == 403
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/tokens", headers=new).status_code == 401
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=bearer("bob")).status_code == 404


def test_expired_and_malformed_tokens_are_401(client, world):
    headers = bearer("alice")
    token = db.session.scalars(select(ApiToken)).first()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/courses", headers=headers).get_json()["code"] == "invalid_token"
    for value in ("Bearer", "Basic YWxpY2U6cGFzcw==", "Bearer gg_nope", "bearer  "):
        response = client.get("/api/v1/courses", headers={"Authorization": value})
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_code_submissions(client, world, grading_backend):
    """Without code grading installed: 503 and nothing stored. With it, a syntax error is stored as invalid
    (no attempt used) without starting the sandbox (answered in the web process with GRADING_BACKEND=celery
    too: it never reaches a worker)."""
    import importlib.util

    code = assign(world.course, "code-relu-backward")
    response = client.post(f"/api/v1/assignments/{code.id}/submissions", json={"code": "def f(:\n  pass"},
                           headers=bearer("alice"))
    body = response.get_json()
    if importlib.util.find_spec("grader.grading.code") is None:
        assert response.status_code == 503 and body["code"] == "unavailable"
        assert count(Submission) == 0
    else:
        assert response.status_code == 201 and body["status"] == "invalid" and body["attempt"] is None
        assert body["kind"] == "code" and body["code"].startswith("def f(") and body["answers"] is None
    numeric = client.post(f"/api/v1/assignments/{code.id}/submissions", json={"answers": {"0": "1"}},
                          headers=bearer("alice"))
    assert numeric.status_code == 422 and "code" in numeric.get_json()["errors"]


def test_expected_answers_are_hidden_again_when_the_policy_tightens(client, world):
    always = assign(world.course, "gate-add", solution_policy="always")
    sid = client.post(f"/api/v1/assignments/{always.id}/submissions", json={"answers": {"0": "1"}},
                      headers=bearer("alice")).get_json()["id"]
    shown = client.get(f"/api/v1/submissions/{sid}", headers=bearer("alice")).get_json()
    assert all(p["expected"] is not None for p in shown["feedback"]["parts"])
    client.patch(f"/api/v1/assignments/{always.id}", json={"solution_policy": "never"}, headers=bearer("teacher"))
    hidden = client.get(f"/api/v1/submissions/{sid}", headers=bearer("alice")).get_json()
    assert all(p["expected"] is None for p in hidden["feedback"]["parts"])
    listed = client.get(f"/api/v1/assignments/{always.id}/submissions", headers=bearer("alice")).get_json()
    assert all(p["expected"] is None for p in listed[0]["feedback"]["parts"])
    teacher = client.get(f"/api/v1/submissions/{sid}", headers=bearer("teacher")).get_json()
    assert all(p["expected"] is not None for p in teacher["feedback"]["parts"])


# --- problem sets ----------------------------------------------------------------------------------------

def test_a_problem_set_is_created_with_its_exercises_and_answered_one_exercise_at_a_time(client, world):
    teacher = bearer("teacher")
    created = client.post(f"/api/v1/courses/{world.course.id}/assignments", headers=teacher, json={
        "title": "Week 2", "due_at": "2030-01-01T12:00:00Z", "late_policy": "reject",
        "exercises": [{"exercise": EXERCISE, "points": 2, "attempts": 3}, {"exercise": "gate-add", "points": 1}]})
    body = created.get_json()
    assert created.status_code == 201, body
    assert [(e["exercise"], e["points"], e["attempts"], e["position"]) for e in body["exercises"]] == [
        (EXERCISE, 2, 3, 1), ("gate-add", 1, None, 2)]
    assert body["points"] == 3 and body["attempt_limit"] is None
    url = f"/api/v1/assignments/{body['id']}/submissions"
    alice = bearer("alice")
    unnamed = client.post(url, json={"answers": RIGHT}, headers=alice)
    assert unnamed.status_code == 422 and "exercise" in unnamed.get_json()["errors"]
    stranger = client.post(url, json={"exercise": "code-relu-backward", "answers": RIGHT}, headers=alice)
    assert stranger.status_code == 422 and "exercise" in stranger.get_json()["errors"]
    right = client.post(url, json={"exercise": EXERCISE, "answers": RIGHT}, headers=alice)
    assert right.status_code == 201 and right.get_json()["points"] == 2 and right.get_json()["attempt"] == 1
    second = client.post(url, json={"exercise": "gate-add", "answers": {}}, headers=alice).get_json()
    listed = client.get(url, headers=alice).get_json()
    assert {(s["exercise"], s["item_id"]) for s in listed} == {
        (EXERCISE, right.get_json()["item_id"]), ("gate-add", second["item_id"])}
    assert right.get_json()["item_id"] != second["item_id"]
    variant = client.get(f"/api/v1/assignments/{body['id']}/variant?exercise={EXERCISE}", headers=alice).get_json()
    assert variant["exercise"] == EXERCISE and variant["attempts_left"] == 2
    assert client.get(f"/api/v1/assignments/{body['id']}/variant", headers=alice).status_code == 422
    book = client.get(f"/api/v1/courses/{world.course.id}/gradebook", headers=teacher).get_json()
    assert {r["username"]: r["scores"][str(body["id"])] for r in book["students"]} == {"alice": 2, "bob": None}
    assert {"id": body["id"], "title": "Week 2", "points": 3} in book["assignments"]


def test_a_problem_set_refuses_bad_entries_with_422_and_stores_nothing(client, world):
    url = f"/api/v1/courses/{world.course.id}/assignments"
    teacher = bearer("teacher")
    for body, field in (({"exercises": []}, "exercises"), ({"exercises": [{"points": 1}]}, "exercises.0.exercise"),
                        ({"exercises": [{"exercise": "no-such"}]}, "exercises.0.exercise"),
                        ({"exercises": [{"exercise": "gate-add"}, {"exercise": "gate-add"}]}, "exercises.1.exercise"),
                        ({"exercise": "gate-add", "exercises": [{"exercise": "gate-add"}]}, "exercise")):
        response = client.post(url, json=body, headers=teacher)
        assert response.status_code == 422 and field in response.get_json()["errors"], (body, response.get_json())
    assert count(Submission) == 0 and len(client.get(url, headers=teacher).get_json()) == 1


def test_overrides_are_given_listed_honoured_and_removed(client, world):
    teacher, alice = bearer("teacher"), bearer("alice")
    closed = assign(world.course, "gate-add", due_at=utcnow() - timedelta(hours=1), late_policy="reject")
    url = f"/api/v1/assignments/{closed.id}/overrides"
    given = client.post(url, json={"user": "alice", "due_at": "2030-01-01T00:00:00Z", "extra_attempts": 2},
                        headers=teacher)
    assert given.status_code == 201 and given.get_json()["user"] == "alice", given.get_json()
    assert [(o["user"], o["extra_attempts"]) for o in client.get(url, headers=teacher).get_json()] == [("alice", 2)]
    variant = client.get(f"/api/v1/assignments/{closed.id}/variant", headers=alice).get_json()
    assert variant["due_at"].startswith("2030-01-01")
    submitted = client.post(f"/api/v1/assignments/{closed.id}/submissions", json={"answers": {"0": "1"}},
                            headers=alice)
    assert submitted.status_code == 201
    bob = client.post(f"/api/v1/assignments/{closed.id}/submissions", json={"answers": {"0": "1"}},
                      headers=bearer("bob"))
    assert bob.status_code == 409 and bob.get_json()["code"] == "past_due"
    assert client.post(url, json={"user": "eve", "extra_attempts": 1}, headers=teacher).status_code == 422
    assert client.post(url, json={"user": "alice"}, headers=teacher).status_code == 422
    assert client.post(url, json={"user": "alice", "extra_attempts": 1}, headers=alice).status_code == 403
    assert client.delete(url + "?user=alice", headers=teacher).status_code == 204
    assert client.get(url, headers=teacher).get_json() == []


def test_problem_sets_are_reordered_hidden_and_deleted_only_without_submissions_unless_archived(client, world):
    teacher = bearer("teacher")
    spare = assign(world.course, "gate-add")
    listing = f"/api/v1/courses/{world.course.id}/assignments"
    client.patch(f"/api/v1/assignments/{world.assignment.id}", json={"position": 2}, headers=teacher)
    assert [a["id"] for a in client.get(listing, headers=teacher).get_json()] == [spare.id, world.assignment.id]
    client.post(f"/api/v1/assignments/{world.assignment.id}/submissions", json={"answers": RIGHT},
                headers=bearer("alice"))
    item = f"/api/v1/assignments/{world.assignment.id}"
    refused = client.delete(item, headers=teacher)
    assert refused.status_code == 409 and refused.get_json()["code"] == "has_submissions"
    assert client.patch(item, json={"archived": True}, headers=teacher).get_json()["archived"] is True
    assert [a["id"] for a in client.get(listing, headers=bearer("alice")).get_json()] == [spare.id]
    assert client.delete(item, headers=teacher).status_code == 204
    assert client.delete(f"/api/v1/assignments/{spare.id}", headers=teacher).status_code == 204
    assert count(Submission) == 0


def test_a_draft_anywhere_in_a_problem_set_refuses_it(client, world):
    draft = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-add"))
    draft.current.checks = {"passed": False, "failures": ["its worked answer is wrong"]}
    db.session.commit()
    response = client.post(f"/api/v1/courses/{world.course.id}/assignments", headers=bearer("teacher"), json={
        "title": "Week 3", "exercises": [{"exercise": EXERCISE}, {"exercise": "gate-add"}]})
    assert response.status_code == 409 and response.get_json()["code"] == "exercise_draft"
    assert len(client.get(f"/api/v1/courses/{world.course.id}/assignments", headers=bearer("teacher")).get_json()) == 1


def test_a_ta_gives_and_removes_overrides_but_cannot_delete_the_set(client, world):
    from tests.api.conftest import make_user

    make_user("tara")
    db.session.add(Membership(user_id=db.session.scalar(select(User.id).where(User.username == "tara")),
                              course_id=world.course.id, role="ta"))
    db.session.commit()
    ta = bearer("tara")
    url = f"/api/v1/assignments/{world.assignment.id}/overrides"
    assert client.post(url, json={"user": "bob", "extra_attempts": 2}, headers=ta).status_code == 201
    assert [o["user"] for o in client.get(url, headers=ta).get_json()] == ["bob"]
    assert client.delete(url + "?user=bob", headers=ta).status_code == 204
    assert client.delete(f"/api/v1/assignments/{world.assignment.id}", headers=ta).status_code == 403
