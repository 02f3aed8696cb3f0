"""The "grading…" page in Chromium: a code submission graded by a real Celery worker appears in place, without
the page reloading (grading.js polls the submission's JSON, then swaps in the new feedback)."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from grader.models import db
from tests.conftest import app_on
from tests.jobs.conftest import (
    RELU_RIGHT,
    Deployment,
    code_course,
    forget_keys,
    start_worker,
)

pytestmark = pytest.mark.celery


def test_the_result_replaces_grading_in_place(chromium_browser, tmp_path):
    workers: list = []
    deployment = Deployment(f"sqlite:///{tmp_path / 'gradgate.db'}", "redis://127.0.0.1:6379/0")
    with app_on(deployment.database_url, **deployment.config(), WTF_CSRF_ENABLED=True, SUBMIT_WAIT_S=0) as app:
        assignment, (student,) = code_course()
        assignment_id, username = assignment.id, student.username
        db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        context = chromium_browser.new_context()
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            base = f"http://127.0.0.1:{server.server_port}"
            page.goto(base + "/login")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(f"{username}-password")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            page.goto(f"{base}/assignments/{assignment_id}")
            page.locator("textarea#code").fill(RELU_RIGHT)
            page.get_by_role("button", name="Submit").click()
            page.wait_for_url("**/submissions/*")
            assert "grading…" in page.locator("#feedback h2").inner_text()
            page.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads

            start_worker(workers, deployment, tmp_path)
            page.wait_for_function("() => document.querySelector('#feedback.result-graded') !== null")
            assert page.evaluate("() => window.sameDocument === true")
            assert page.locator("#feedback h2").inner_text().startswith("Attempt 1:")
            assert errors == []
        finally:
            for worker in workers:
                worker.kill9()
            context.close()
            server.shutdown()
            thread.join(timeout=10)
    forget_keys(deployment)
