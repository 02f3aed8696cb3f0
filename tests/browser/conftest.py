"""Real headless Chromium (Debian's `chromium`, driven by Python Playwright) against a real server.

The app runs in a thread (werkzeug's make_server on 127.0.0.1, port 0) on a SQLite file in tmp, seeded with
the catalogue, a course and the assignments the tests use; CSRF is on, as in production. Each test signs in
a student of its own, so the tests do not depend on each other's attempts (or on how xdist splits them).

Without chromium the tests skip with the reason, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from grader import authoring, create_app
from grader.models import Assignment, Course, Exercise, Membership, User, db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "browser-test-password"
ASSIGNMENTS = {  # slug -> attempt limit
    "seed-two-layer-w1-22": 5,
    "seed-three-layer-matrix": 3,
    "code-relu-backward": 4,
}
# key -> (slug, title, options): further assignments of the same exercises under other terms
MORE_ASSIGNMENTS = {
    "late": ("seed-two-layer-w1-22", "Late: one weight", {"points": 5, "late_policy": "penalty", "late_penalty": 0.2,
                                                          "due_at": datetime(2020, 1, 1)}),
}


def _chromium_problem() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return f"{CHROMIUM} is missing: apt-get install -y chromium"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -r requirements-dev.txt)"
    return None


@dataclass
class LiveServer:
    url: str
    app: object
    assignments: dict[str, int]

    def student(self, username: str) -> str:
        """A new student of the course (one per test); returns the username (password PASSWORD)."""
        with self.app.app_context():  # type: ignore[attr-defined]
            user = User(username=username, name=username.replace("-", " ").title(), role="student")
            user.set_password(PASSWORD)
            course = db.session.scalar(select(Course).where(Course.code == "bp101"))
            db.session.add_all([user, Membership(user=user, course=course)])
            db.session.commit()
        return username


def staff_member(app, username: str, role: str = "instructor") -> str:
    """An instructor (or, with role "ta", a TA) of the course bp101; returns the username (password PASSWORD)."""
    with app.app_context():
        user = User(username=username, name=username.replace("-", " ").title(),
                    role="instructor" if role == "instructor" else "student")
        user.set_password(PASSWORD)
        course = db.session.scalar(select(Course).where(Course.code == "bp101"))
        db.session.add_all([user, Membership(user=user, course=course, role=role)])
        db.session.commit()
    return username


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    problem = _chromium_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {problem}")
        pytest.skip(problem)
    database = tmp_path_factory.mktemp("browser") / "gradgate.db"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "WTF_CSRF_ENABLED": True,
                                 "SANDBOX_ALLOW_WEAK": os.geteuid() != 0})
    assignments = {}
    with app.app_context():
        db.create_all()
        authoring.import_catalogue(app.config["EXERCISES_DIR"])
        course = Course(code="bp101", title="Backprop 101")
        db.session.add(course)
        for slug, limit in ASSIGNMENTS.items():
            exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
            assignment = Assignment(course=course, exercise=exercise, title=exercise.title, attempt_limit=limit)
            db.session.add(assignment)
            db.session.flush()
            assignments[slug] = assignment.id
        for key, (slug, title, options) in MORE_ASSIGNMENTS.items():
            exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
            assignment = Assignment(course=course, exercise=exercise, title=title, **options)
            db.session.add(assignment)
            db.session.flush()
            assignments[key] = assignment.id
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, assignments)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Chromium per test process: Playwright's sync API allows one running instance per thread,
    so every browser test module shares this one (a module starting its own fails when they share a worker)."""
    problem = _chromium_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def browser(live_server, chromium_browser):
    return chromium_browser


@pytest.fixture
def page(browser, request):
    """A fresh browser context per test; any console error or uncaught exception fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"console.{message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    yield page
    context.close()
    allowed = request.node.get_closest_marker("http_errors")  # pages the test means to get refused (404, 409)
    if allowed:
        statuses = "|".join(str(status) for status in allowed.args)
        errors = [e for e in errors if not re.fullmatch(
            rf"console\.error: Failed to load resource: the server responded with a status of ({statuses}) .*", e)]
    assert not errors, f"browser errors during {request.node.name}: {errors}"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
