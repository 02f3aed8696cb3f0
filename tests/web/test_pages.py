"""Student pages through the Flask test client: sign-in, course page, exercise page, feedback, history."""

from __future__ import annotations

import re

import numpy as np
import pytest

from grader import authoring, create_app, service
from grader.models import Course, Membership, db
from grader.web.student import render_prompt
from tests.conftest import app_on
from tests.service.conftest import assign, make_user, user
from tests.web.conftest import login

RIGHT_W1_22 = "-0.0026227"  # dL/dW1_22 of the notes' 2-2-1 network (the seed exercise has fixed numbers)
SIGN_ERROR_W1_22 = "0.0026227"  # (y - out) in place of (out - y): diagnosed at the loss


def attempts_left(html: str) -> str:
    match = re.search(r'id="attempts-left">([^<]+)<', html)
    assert match, "attempts left not shown"
    return match.group(1)


def test_pages_need_login(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    for path in ("/", f"/courses/{course.id}", f"/assignments/{a.id}", f"/assignments/{a.id}/history"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location, path
    assert client.post(f"/assignments/{a.id}", data={"answer-0": "1"}).status_code == 302


def test_wrong_password_is_refused(client, course):
    response = client.post("/login", data={"username": "alice", "password": "nope"})
    assert response.status_code == 200 and "Wrong username or password" in response.text
    assert client.get("/").status_code == 302


def test_course_page_lists_assignments_with_attempts_left(client, course):
    assign(course, "seed-two-layer-w1-22", attempt_limit=3)
    assign(course, "seed-three-layer-matrix")
    login(client)
    response = client.get("/", follow_redirects=True)  # one course: straight to it
    assert response.status_code == 200
    html = response.text
    assert "One weight of a 2-2-1 sigmoid network" in html and "three-layer network" in html
    assert re.search(r'class="attempts-left">3<', html)
    assert "not started" in html


def test_exercise_page_draws_one_node_per_gate_and_tensor(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    login(client)
    html = client.get(f"/assignments/{a.id}").text
    nodes = re.findall(r'<g class="node [^"]*" data-node="([^"]+)"', html)
    # x, y, W1, W2 and the gates z1, h1, z2, out, L
    assert sorted(nodes) == sorted(["x", "y", "W1", "W2", "z1", "h1", "z2", "out", "L"])
    assert 'name="answer-0"' in html and "<label for=\"answer-0\">" in html
    assert r"$\partial L / \partial W1_{22}$" in html  # the math survives markdown for KaTeX
    assert "katex.min.js" in html and "cdn" not in html.lower()


def test_matrix_ask_gets_a_grid_sized_from_its_shape_and_a_paste_box(client, course):
    a = assign(course, "seed-three-layer-matrix")
    login(client)
    html = client.get(f"/assignments/{a.id}").text
    assert len(re.findall(r'name="answer-0-\d-\d"', html)) == 9  # dL/dW1 is 3×3
    assert len(re.findall(r'name="answer-1-\d-\d"', html)) == 6  # dL/dW2 is 3×2
    assert 'name="answer-2-1-1"' in html and 'name="paste-2"' in html


def test_right_answer_gets_full_marks_after_a_redirect(client, course):
    a = assign(course, "seed-two-layer-w1-22", attempt_limit=3)
    login(client)
    response = client.post(f"/assignments/{a.id}", data={"answer-0": RIGHT_W1_22})
    assert response.status_code == 303 and response.location.startswith("/submissions/")
    html = client.get(response.location).text
    assert "score 100%" in html and "badge-correct" in html
    assert attempts_left(html) == "2"
    assert "Tolerance: within 1%" in html


def test_known_mistake_shows_its_diagnosis_and_highlights_the_gate(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    login(client)
    html = client.post(f"/assignments/{a.id}", data={"answer-0": SIGN_ERROR_W1_22}, follow_redirects=True).text
    assert "Likely mistake:" in html and "wrong sign" in html
    assert re.search(r'<g class="node gate loss[^"]*highlight" data-node="L"', html)


def test_pasted_matrix_gets_per_entry_marks(client, course):
    a = assign(course, "seed-three-layer-matrix")
    login(client)
    data = {"paste-0": "[[1. 2. 3.]\n [4. 5. 6.]\n [7. 8. 9.]]", "paste-1": "[[0 0]\n [0 0]\n [0 0]]",
            "paste-2": "[[0, 0], [0, 0]]"}
    html = client.post(f"/assignments/{a.id}", data=data, follow_redirects=True).text
    assert "Attempt 1" in html
    # the pasted numbers come back in the grid, each cell marked
    assert re.search(r'<td class="wrong">\s*<input[^>]+name="answer-0-2-2" value="9.0"', html)
    assert html.count('class="mark wrong"') + html.count('class="mark right"') == 9 + 6 + 4


def test_format_error_is_shown_beside_the_box_and_uses_no_attempt(client, course):
    a = assign(course, "seed-three-layer-matrix", attempt_limit=2)
    login(client)
    before = attempts_left(client.get(f"/assignments/{a.id}").text)
    data = {f"answer-0-{r}-{c}": "0.1" for r in range(3) for c in range(3)} | {"answer-0-1-2": "0.1.2"}
    data |= {"paste-1": "[[0 0]\n [0 0]\n [0 0]]", "paste-2": "[[0, 0], [0, 0]]"}
    html = client.post(f"/assignments/{a.id}", data=data, follow_redirects=True).text
    assert attempts_left(html) == before == "2"
    error = re.search(r'<p class="format-error" id="err-0">(.*?)</p>', html, re.S)
    assert error and "row 2, column 3" in error.group(1)
    # an ungraded submission marks nothing: else one unreadable box would check the others for free
    assert 'class="mark' not in html and "badge-correct" not in html and "badge-incorrect" not in html
    # the offending cell points at the message
    assert re.search(r'name="answer-0-1-2" value="0.1.2"[^>]*aria-invalid="true" aria-describedby="err-0"', html)


def test_no_attempts_left_is_a_message_not_an_error(client, course):
    a = assign(course, "seed-two-layer-w1-22", attempt_limit=1)
    login(client)
    client.post(f"/assignments/{a.id}", data={"answer-0": "1"})
    response = client.post(f"/assignments/{a.id}", data={"answer-0": RIGHT_W1_22}, follow_redirects=True)
    assert response.status_code == 200 and "Not submitted: no attempts left" in response.text


def test_a_form_from_before_an_edit_is_refused_and_the_new_numbers_shown(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    login(client)
    assert '<input type="hidden" name="version" value="1">' in client.get(f"/assignments/{a.id}").text
    document = dict(a.exercise.current.definition, title="Edited during the exercise")
    authoring.save_exercise(document)
    db.session.commit()
    response = client.post(f"/assignments/{a.id}", data={"answer-0": RIGHT_W1_22, "version": "1"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Not submitted: the exercise was changed after you opened it" in response.text
    assert "Edited during the exercise" in response.text
    assert '<input type="hidden" name="version" value="2">' in response.text
    assert not service.graded_attempts(user("alice"), a)
    again = client.post(f"/assignments/{a.id}", data={"answer-0": RIGHT_W1_22, "version": "2"})
    assert again.status_code == 303 and again.location.startswith("/submissions/")


def test_another_students_assignment_and_submission_are_404(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    other = Course(code="other", title="Other course")
    db.session.add(other)
    db.session.commit()
    hidden = assign(other, "seed-two-layer-w1-22")
    make_user("carol")
    db.session.add(Membership(user=user("carol"), course=other))
    db.session.commit()
    login(client, "bob")
    submitted = client.post(f"/assignments/{a.id}", data={"answer-0": "1"})
    client.post("/logout")
    login(client, "alice")
    assert client.get(f"/assignments/{hidden.id}").status_code == 404
    assert client.post(f"/assignments/{hidden.id}", data={"answer-0": "1"}).status_code == 404
    assert client.get(f"/assignments/{hidden.id}/history").status_code == 404
    assert client.get(f"/courses/{other.id}").status_code == 404
    assert client.get(submitted.location).status_code == 404  # bob's submission


def test_history_lists_every_attempt(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    login(client)
    for answer in ("1", "oops", SIGN_ERROR_W1_22, RIGHT_W1_22):
        client.post(f"/assignments/{a.id}", data={"answer-0": answer})
    html = client.get(f"/assignments/{a.id}/history").text
    assert html.count('class="attempt ') == 4
    assert "Attempt 3" in html and "Not counted" in html and "score 100%" in html
    assert "<code>oops</code>" in html and "wrong sign" in html


def test_prompt_markdown_escapes_raw_html():
    from grader.web.student import render_prompt

    html = str(render_prompt("<script>alert(1)</script> and $a_1 < b_{2}$ *and* $$x_i \\\\ y_j$$"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "$a_1 &lt; b_{2}$" in html and "$$x_i \\\\ y_j$$" in html and "<em>and</em>" in html


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_csrf_is_required_when_enabled(backend, database_urls):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "WTF_CSRF_ENABLED": True})
    with app.app_context():
        db.create_all()
        make_user("alice")
        db.session.commit()
        client = app.test_client()
        assert client.post("/login", data={"username": "alice", "password": "alice-password"}).status_code == 400
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"username": "alice", "password": "alice-password",
                                               "csrf_token": token})
        assert response.status_code == 302
        db.drop_all()


def test_step_by_step_chain_has_numbered_steps_in_order(client, course):
    a = assign(course, "seed-chain-w1-22")
    login(client)
    html = client.get(f"/assignments/{a.id}").text
    steps = re.findall(r'<label for="answer-(\d)"><span class="step">Step (\d):', html)
    assert steps == [(str(i), str(i + 1)) for i in range(5)]
    # dL/dout = out - y = 0.691 - 1 (the notes' first step), the rest left wrong: graded per step
    data = {"answer-0": "-0.309"} | {f"answer-{i}": "1" for i in range(1, 5)}
    html = client.post(f"/assignments/{a.id}", data=data, follow_redirects=True).text
    assert re.search(r'id="fb-0">\s*<p><strong class="badge badge-correct">', html)
    assert re.search(r'id="fb-1">\s*<p><strong class="badge badge-incorrect">', html)


def test_ids_beyond_the_database_range_are_404(client, course):
    login(client)
    for url in ("/assignments/99999999999999999999", "/assignments/2147483648", "/submissions/2147483648",
                "/courses/2147483648", "/assignments/2147483648/history"):
        assert client.get(url).status_code == 404, url


def test_the_answer_follows_the_solution_policy_of_now(client, course):
    a = assign(course, "seed-two-layer-w1-22", solution_policy="always")
    login(client)
    location = client.post(f"/assignments/{a.id}", data={"answer-0": "1"}).location
    assert "Correct answer" in client.get(location).text
    a.solution_policy = "never"
    db.session.commit()
    assert "Correct answer" not in client.get(location).text


def test_odd_stored_answers_do_not_break_the_pages(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    for odd in (10**400, [[]]):
        submission = service.submit(user("alice"), a, answers={"0": odd})
        login(client)
        assert client.get(f"/submissions/{submission.id}").status_code == 200
    assert client.get(f"/assignments/{a.id}/history").status_code == 200


def test_prompt_placeholders_cannot_be_forged():
    html = str(render_prompt("see GGMATH3X and \ue0007\ue001 then $x_1$"))
    assert "GGMATH3X" in html and "x_1" in html


def test_sign_in_attempts_are_rate_limited(backend, database_urls):
    with app_on(database_urls[backend], RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute",
                RATELIMIT_STORAGE_URI="memory://") as app:
        client = app.test_client()
        statuses = [client.post("/login", data={"username": "nobody", "password": "guess"}).status_code
                    for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert client.get("/login").status_code == 200  # reading the form is not limited


def test_the_page_lists_every_given_number_including_the_upstream_gradient(client, course):
    a = assign(course, "gate-add")
    login(client)
    html = client.get(f"/assignments/{a.id}").text
    _, variant = service.variant_for(user("alice"), a.exercise)
    given = html[html.index('id="given-title"'):html.index('id="answer-form"')]
    assert r"$\partial L/\partial z$" in given
    for name in (*variant.leaves, *variant.upstream):
        values = variant.upstream.get(name, variant.leaves.get(name))
        for x in np.ravel(values):
            assert f"<td>{float(x):.6g}</td>" in given, (name, x)
    assert "its upstream gradient dL/dz = [" in html  # the graph's node says it too


def test_a_matrix_too_wide_for_an_edge_is_listed_in_full(client, course):
    a = assign(course, "three-layer-random")
    login(client)
    html = client.get(f"/assignments/{a.id}").text
    _, variant = service.variant_for(user("alice"), a.exercise)
    w1 = variant.leaves["W1"]
    assert f'aria-label="W1, {"×".join(map(str, w1.shape))}"' in html
    assert all(f"<td>{float(x):.6g}</td>" in html for x in np.ravel(w1))
