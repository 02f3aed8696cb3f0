"""Fixtures: `app` and `client` run every database test on SQLite and, where TEST_DATABASE_URL is set (CI
sets it), on PostgreSQL too. Each pytest-xdist worker gets its own PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from grader import create_app
from grader.models import db

IN_CI = os.environ.get("CI") == "true"


def postgres_url(worker: str) -> str:
    """A database of this worker's own on the TEST_DATABASE_URL server, created on first use."""
    base = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_urls(worker_id: str) -> dict[str, str | None]:
    if not os.environ.get("TEST_DATABASE_URL"):
        if IN_CI:
            raise RuntimeError("CI must set TEST_DATABASE_URL: the suite runs on PostgreSQL there")
        return {"sqlite": "sqlite://", "postgresql": None}
    return {"sqlite": "sqlite://", "postgresql": postgres_url(worker_id)}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, database_urls) -> str:
    if database_urls[request.param] is None:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test")
    return request.param


@contextmanager
def app_on(url: str, **overrides: Any) -> Iterator[Flask]:
    """A testing app on an empty database at `url` (its tables dropped afterwards), with config overrides."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, **overrides})
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()  # close pooled connections now: PostgreSQL allows only so many clients


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that asks for `grading_backend` runs on both databases with GRADING_BACKEND=local and once more
    with GRADING_BACKEND=celery on a real worker (tests/grading_backend.py). A mark, not a direct parametrize:
    pytest then leaves the `backend` fixture's own params out for this test."""
    if "grading_backend" in metafunc.fixturenames:
        from tests.grading_backend import COMBINATIONS

        metafunc.definition.add_marker(pytest.mark.parametrize(
            ("backend", "grading_backend"), COMBINATIONS, indirect=True,
            ids=[f"{database}-{grading}" for database, grading in COMBINATIONS]))


@pytest.fixture(scope="session")
def shared_grading_worker(database_urls, tmp_path_factory):
    """One grading worker per pytest process, started on the first celery-mode test, stopped at the end."""
    from tests.grading_backend import start_shared_worker
    from tests.jobs.conftest import forget_keys

    deployment, worker = start_shared_worker(database_urls, tmp_path_factory.mktemp("celery-grading"))
    yield deployment, worker
    worker.kill9()  # the session is over: nothing left to finish
    forget_keys(deployment)


@pytest.fixture
def grading_backend(request):
    from tests.grading_backend import GradingBackend

    if request.param == "local":
        return GradingBackend("local")
    return GradingBackend("celery", *request.getfixturevalue("shared_grading_worker"))


@pytest.fixture
def app(backend, database_urls, request):
    grading = request.getfixturevalue("grading_backend") if "grading_backend" in request.fixturenames else None
    if grading is None:
        with app_on(database_urls[backend]) as app:
            yield app
        return
    with app_on(grading.database_url(database_urls[backend]), **grading.app_config()) as app:
        yield app
        grading.wait()  # the worker is done with this test's rows before its tables are dropped


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def pool():
    """A two-slot sandbox pool with full isolation, one per test module that grades code (a pool is costly):
    without isolation the module skips locally and fails in CI (tests/sandbox/conftest.py's rule). The sandbox
    suite has a pool fixture of its own."""
    from grader.sandbox import SandboxPool
    from tests.sandbox.conftest import require_isolation

    require_isolation()
    with SandboxPool(size=2) as shared:
        yield shared
