"""The instructor workspace: who may open it, the library, the editor (errors at their lines, the seed-stability
guard), versions and diffs, question tests and drafts, copies and deletes. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from grader import authoring
from grader.models import Assignment, Course, Exercise, Membership, User, db
from grader.service import ServiceError, variant_for
from tests.service.conftest import make_user
from tests.web.conftest import login

ROOT = Path(__file__).resolve().parents[2]
GATE_MUL = (ROOT / "exercises" / "gate-multiply.yaml").read_text()


@pytest.fixture
def staff(app):
    """The catalogue, a course with an instructor (ada), a TA (tom) and two students (alice, bob)."""
    authoring.import_catalogue(app.config["EXERCISES_DIR"])
    course = Course(code="bp101", title="Backprop 101")
    db.session.add(course)
    ada, tom = make_user("ada", role="instructor"), make_user("tom")
    alice, bob = make_user("alice"), make_user("bob")
    db.session.add_all([Membership(user=ada, course=course, role="instructor"),
                        Membership(user=tom, course=course, role="ta"),
                        Membership(user=alice, course=course), Membership(user=bob, course=course)])
    db.session.commit()
    return course


def own_exercise(client, slug="my-mul", source=None):
    source = source or GATE_MUL.replace("id: gate-multiply", f"id: {slug}")
    response = client.post("/instructor/exercises/new", data={"definition": source})
    assert response.status_code == 302, response.text
    return db.session.scalar(select(Exercise).where(Exercise.slug == slug))


@pytest.mark.parametrize("path", ["/instructor/", "/instructor/exercises/new", "/instructor/exercises/gate-add/edit",
                                  "/instructor/exercises/gate-add/preview?seed=0",
                                  "/instructor/exercises/gate-add/check", "/instructor/exercises/gate-add/versions"])
def test_students_get_404_for_every_workspace_page(client, staff, path):
    login(client, "alice")
    assert client.get(path).status_code == 404
    assert client.post("/instructor/exercises/validate", json={"source": "id: x"}).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, staff):
    response = client.get("/instructor/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_header_links_staff_to_the_workspace_and_not_students(client, staff):
    login(client, "ada")
    assert 'href="/instructor/"' in client.get("/", follow_redirects=True).text
    client.post("/logout")
    login(client, "alice")
    assert 'href="/instructor/"' not in client.get("/", follow_redirects=True).text


def test_the_library_lists_the_catalogue_and_searches_by_title_kind_and_op(client, staff):
    login(client, "ada")
    page = client.get("/instructor/").text
    assert "gate-multiply" in page and "code-relu-backward" in page
    page = client.get("/instructor/?kind=code").text
    assert "code-relu-backward" in page and "gate-multiply" not in page
    page = client.get("/instructor/?op=softmax").text
    assert "jacobian-softmax" in page and "gate-add" not in page
    page = client.get("/instructor/?q=multiply").text
    assert "gate-multiply" in page and "gate-add" not in page


def test_another_instructors_exercise_is_hidden_unless_used_in_my_course(client, staff):
    login(client, "ada")
    own_exercise(client, "adas-own")
    client.post("/logout")
    make_user("eve", role="instructor")
    db.session.commit()
    login(client, "eve")
    assert "adas-own" not in client.get("/instructor/").text
    assert client.get("/instructor/exercises/adas-own/edit").status_code == 404


def test_a_yaml_error_and_a_schema_error_are_shown_at_their_lines(client, staff):
    login(client, "ada")
    broken = GATE_MUL.replace("id: gate-multiply", "id: broken").replace("graph:", "graph: [")
    response = client.post("/instructor/exercises/new", data={"definition": broken})
    assert response.status_code == 422
    line = broken.splitlines().index("graph: [") + 1
    assert f"line {line}" in response.text or f"line {line + 1}" in response.text
    lines = GATE_MUL.replace("id: gate-multiply", "id: broken").splitlines()
    op_line = next(i for i, text in enumerate(lines) if "mul(" in text)
    lines[op_line] = lines[op_line].replace("mul(", "mull(")
    response = client.post("/instructor/exercises/new", data={"definition": "\n".join(lines)})
    assert response.status_code == 422
    assert f"line {op_line + 1}" in response.text and "unknown op" in response.text
    assert db.session.scalar(select(Exercise).where(Exercise.slug == "broken")) is None  # nothing stored


def test_validate_answers_the_editor_with_lines(client, staff):
    login(client, "ada")
    answer = client.post("/instructor/exercises/validate", json={"source": "id: x\nkind: numric\n"}).get_json()
    assert answer["ok"] is False and all("line" in e and "message" in e for e in answer["errors"])
    assert client.post("/instructor/exercises/validate", json={"source": GATE_MUL}).get_json() == {
        "ok": True, "errors": []}
    assert client.post("/instructor/exercises/validate", json={"nope": 1}).status_code == 400


def test_saving_makes_a_version_with_its_source_and_its_question_tests(client, staff):
    login(client, "ada")
    exercise = own_exercise(client)
    version = exercise.current
    assert version.source.startswith("id: my-mul") and version.author.username == "ada"
    assert version.checks["passed"] is True and version.checks["seeds"] == authoring.CHECK_SEEDS_ON_SAVE
    edited = version.source.replace("title:", "title: Edited", 1).replace("Edited \"", "\"Edited ")
    response = client.post(f"/instructor/exercises/{exercise.slug}/edit", data={"definition": edited})
    assert response.status_code == 302
    db.session.refresh(exercise)
    assert exercise.current_version == 2
    diff = client.get(f"/instructor/exercises/{exercise.slug}/versions?a=1&b=2").text
    assert "Edited" in diff and "version 1" in diff


def test_restore_brings_an_old_version_back_as_a_new_one(client, staff):
    login(client, "ada")
    exercise = own_exercise(client)
    first = exercise.current.source
    edited = client.post(f"/instructor/exercises/{exercise.slug}/edit",
                         data={"definition": first.replace("A single multiply gate", "One multiply gate", 1)})
    assert edited.status_code == 302
    assert client.post(f"/instructor/exercises/{exercise.slug}/versions/1/restore").status_code == 302
    db.session.refresh(exercise)
    assert exercise.current_version == 3 and exercise.current.source == first


def test_an_edit_that_changes_opened_variants_asks_to_confirm(client, staff):
    login(client, "ada")
    exercise = own_exercise(client)
    for name in ("alice", "bob"):
        variant_for(db.session.scalar(select(User).where(User.username == name)), exercise)
    # a wider range for x: everyone who opened it gets other numbers
    changed = exercise.current.source.replace("uniform: [-2.0, 2.0]", "uniform: [-5.0, 5.0]", 1)
    assert changed != exercise.current.source
    response = client.post(f"/instructor/exercises/{exercise.slug}/edit", data={"definition": changed})
    assert response.status_code == 409
    assert "2 of 2 students who opened it would get other numbers" in response.text
    db.session.refresh(exercise)
    assert exercise.current_version == 1  # nothing saved yet
    token = authoring.seed_stability(exercise, yaml.safe_load(changed)).token
    url = f"/instructor/exercises/{exercise.slug}/edit"
    stale = client.post(url, data={"definition": changed.replace("-5.0, 5.0", "-6.0, 6.0"), "confirm": token})
    assert stale.status_code == 409  # a confirmation is for the very edit it was asked about
    response = client.post(url, data={"definition": changed, "confirm": token})
    assert response.status_code == 302
    db.session.refresh(exercise)
    assert exercise.current_version == 2


def test_an_edit_of_the_prompt_alone_saves_without_asking(client, staff):
    login(client, "ada")
    exercise = own_exercise(client)
    variant_for(db.session.scalar(select(User).where(User.username == "alice")), exercise)
    changed = exercise.current.source.replace("A single multiply gate", "One multiply gate", 1)
    assert client.post(f"/instructor/exercises/{exercise.slug}/edit", data={"definition": changed}).status_code == 302


def test_tas_see_but_do_not_change_exercises(client, staff):
    login(client, "tom")
    assert client.get("/instructor/").status_code == 200
    assert client.get("/instructor/exercises/gate-add/edit").status_code == 200
    assert client.get("/instructor/exercises/new").status_code == 403
    assert client.post("/instructor/exercises/gate-add/copy").status_code == 403
    assert client.post("/instructor/exercises/gate-add/edit", data={"definition": GATE_MUL}).status_code == 403


def test_make_my_own_copy_and_delete_it(client, staff):
    login(client, "ada")
    response = client.post("/instructor/exercises/gate-add/copy", data={"new_id": "ada-add"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/instructor/exercises/ada-add/edit")
    copy = db.session.scalar(select(Exercise).where(Exercise.slug == "ada-add"))
    assert copy.owner.username == "ada" and copy.current.definition["id"] == "ada-add"
    assert client.post("/instructor/exercises/gate-add/delete").status_code == 403  # the catalogue is not hers
    assert client.post("/instructor/exercises/ada-add/delete").status_code == 302
    db.session.refresh(copy)
    assert copy.deleted


def test_question_tests_run_on_demand_and_show_the_table(client, staff):
    login(client, "ada")
    page = client.post("/instructor/exercises/seed-two-layer-w1-22/check", data={"seeds": "20"}).text
    assert "passed" in page and "sign_error" in page and "forgot_local_grad" in page
    assert client.post("/instructor/exercises/gate-add/check", data={"seeds": "7"}).status_code == 422


def test_a_draft_whose_tests_fail_cannot_be_assigned(app, staff):
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-add"))
    exercise.current.checks = {"passed": False, "failures": ["mistake sign_error named on only 10% of 20 cases"]}
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        authoring.require_assignable(exercise)
    assert refused.value.status == 409 and "sign_error" in refused.value.message


def test_the_preview_shows_the_student_view_and_the_worked_solution(client, staff):
    login(client, "ada")
    page = client.get("/instructor/exercises/seed-two-layer-w1-22/preview?seed=0").text
    assert "What the student sees" in page and 'class="graph' in page and 'name="answer-0"' in page
    assert "never shown to students" in page and "Backward pass, gate by gate" in page
    assert "matrix form" in page and "-0.00262269" in page  # dL/dW1_22 of the notes' network
    assert client.get("/instructor/exercises/seed-two-layer-w1-22/preview?seed=7").status_code == 200
    assert client.get("/instructor/exercises/gate-add/preview?seed=new").status_code == 200
    assert client.get("/instructor/exercises/gate-add/preview?seed=x1").status_code == 422


def test_fill_in_the_correct_answers_scores_100_and_stores_nothing(client, staff):
    login(client, "ada")
    page = client.post("/instructor/exercises/seed-three-layer-matrix/preview",
                       data={"seed": "0", "action": "fill"}).text
    assert "Score 100%" in page and "not stored" in page
    from grader.models import Submission
    assert db.session.scalar(select(Submission).limit(1)) is None


def test_try_a_classic_mistake_shows_its_diagnosis_and_gate(client, staff):
    login(client, "ada")
    page = client.get("/instructor/exercises/seed-two-layer-w1-22/preview?seed=0").text
    key = next(part.split('"')[1] for part in page.split('<option value=')[1:] if "sign_error" in part)
    page = client.post("/instructor/exercises/seed-two-layer-w1-22/preview",
                       data={"seed": "0", "action": "mistake", "mistake": key}).text
    assert "wrong sign" in page and "Outlined in red" in page


def test_as_a_student_sees_it_uses_their_seed(client, staff):
    login(client, "ada")
    alice = db.session.scalar(select(User).where(User.username == "alice"))
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-multiply"))
    row, _ = variant_for(alice, exercise)
    page = client.get("/instructor/exercises/gate-multiply/preview?student=alice").text
    assert f'id="preview-seed">{row.seed}<' in page and "as <strong>alice</strong> sees it" in page
    assert client.get("/instructor/exercises/gate-multiply/preview?student=nobody").status_code == 404


def test_a_code_exercise_preview_fills_in_the_reference_solution(client, staff):
    login(client, "ada")
    page = client.post("/instructor/exercises/code-relu-backward/preview", data={"seed": "3", "action": "fill"}).text
    assert "Score 100%" in page
    page = client.post("/instructor/exercises/code-relu-backward/preview",
                       data={"seed": "3", "action": "mistake", "mistake": "code:1"}).text
    assert "Score 100%" not in page and "z = 0" in page


def test_staff_who_take_an_exercise_as_students_see_no_solution_of_it(client, staff):
    elsewhere = Course(code="dl201", title="Deep Learning")
    db.session.add(elsewhere)
    tom = db.session.scalar(select(User).where(User.username == "tom"))
    db.session.add(Membership(user=tom, course=elsewhere, role="student"))
    gate = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-multiply"))
    db.session.add(Assignment(course=elsewhere, exercise=gate, title="mul"))
    db.session.commit()
    login(client, "tom")
    for path in ("/instructor/exercises/gate-multiply/preview?seed=0", "/instructor/exercises/gate-multiply/edit",
                 "/instructor/exercises/gate-multiply/versions"):
        response = client.get(path)
        assert response.status_code == 403 and "as a student in dl201" in response.text, path
    assert client.get("/instructor/exercises/gate-add/preview?seed=0").status_code == 200  # not his to solve


def test_another_instructors_exercise_cannot_be_read_or_assigned_through_the_api(client, staff):
    from tests.api.conftest import bearer

    login(client, "ada")
    own_exercise(client, "adas-secret")
    client.post("/logout")
    eve = make_user("eve", role="instructor")
    other = Course(code="ev1", title="Eve's")
    db.session.add_all([other, Membership(user=eve, course=other, role="instructor")])
    db.session.commit()
    assert client.get("/api/v1/exercises/adas-secret", headers=bearer("eve")).status_code == 404
    listed = client.get("/api/v1/exercises?page_size=100", headers=bearer("eve")).get_json()
    assert "adas-secret" not in {e["slug"] for e in listed} and "gate-add" in {e["slug"] for e in listed}
    refused = client.post(f"/api/v1/courses/{other.id}/assignments", json={"exercise": "adas-secret"},
                          headers=bearer("eve"))
    assert refused.status_code == 422


def test_only_the_owner_keeps_a_question_test_report_and_not_from_a_smaller_run(client, staff):
    gate = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-add"))
    assert gate.current.checks is None
    login(client, "tom")  # a TA: runs and reads, changes nothing
    assert "passed" in client.post("/instructor/exercises/gate-add/check", data={"seeds": "20"}).text
    db.session.refresh(gate.current)
    assert gate.current.checks is None
    client.post("/logout")
    login(client, "ada")
    exercise = own_exercise(client)
    saved = exercise.current.checks
    client.post(f"/instructor/exercises/{exercise.slug}/check", data={"seeds": "100"})
    db.session.refresh(exercise.current)
    assert exercise.current.checks["seeds"] == 100 and saved["seeds"] == 20


@pytest.mark.parametrize("seed", ["²", "9" * 5000, "-1", "1e3"])
def test_a_seed_that_is_not_a_number_is_a_clear_error(client, staff, seed):
    login(client, "ada")
    response = client.get(f"/instructor/exercises/gate-add/preview?seed={seed}")
    assert response.status_code == 422 and "whole number" in response.text


def test_a_copy_under_a_bad_id_says_why_and_the_default_id_fits_any_username(client, staff):
    grace = make_user("Grace.H", role="instructor")
    db.session.commit()
    login(client, grace.username)
    response = client.post("/instructor/exercises/gate-add/copy", data={"new_id": "Bad Id!"}, follow_redirects=True)
    assert response.status_code == 200 and "Not copied" in response.text
    assert client.post("/instructor/exercises/gate-add/copy").headers["Location"].endswith("gate-add-grace-h/edit")


def test_an_edit_too_large_to_draw_is_refused_before_any_student_variant_is_drawn(client, staff):
    login(client, "ada")
    exercise = own_exercise(client)
    variant_for(db.session.scalar(select(User).where(User.username == "alice")), exercise)
    huge = exercise.current.source.replace("x: {shape: []", "x: {shape: [N, N]").replace(
        "z: {shape: []", "z: {shape: [N, N]").replace("inputs:", "dims: {N: 100000}\ninputs:", 1)
    response = client.post(f"/instructor/exercises/{exercise.slug}/edit", data={"definition": huge})
    assert response.status_code == 422 and "entries" in response.text
