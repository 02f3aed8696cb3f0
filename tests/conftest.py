"""Fixtures: `app` and `client` run every database test on SQLite and, where TEST_DATABASE_URL is set (CI
sets it), on PostgreSQL too. Each pytest-xdist worker gets its own PostgreSQL database."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import Integer, create_engine, text
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


# Databases of this process whose tables were created from the current models: the next test there only
# empties them (dropping and creating every table and index costs PostgreSQL about 0.3 s a test).
_schema_made: set[str] = set()


def empty_database(url: str) -> None:
    """Give the app's database empty tables, numbering from 1 again. A private in-memory SQLite is new."""
    if url in _schema_made:
        with db.engine.begin() as conn:
            fill(conn, [(table, []) for table in db.metadata.sorted_tables])
        return
    db.drop_all()
    db.create_all()
    if url != "sqlite://":
        _schema_made.add(url)


def fill(conn: Any, contents: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    """Replace every table's rows by `contents` (tables in the order they can be filled), numbering new rows
    after the greatest id. DELETE, not TRUNCATE: PostgreSQL takes half a second to truncate the schema, 20 ms
    to delete a test's few rows."""
    for table, _ in reversed(contents):
        conn.execute(table.delete())
    for table, rows in contents:
        if rows:
            conn.execute(table.insert(), rows)
    if conn.dialect.name == "postgresql":
        counted = [table.name for table, _ in contents
                   if "id" in table.c and isinstance(table.c.id.type, Integer)]
        conn.execute(text("SELECT " + ", ".join(
            f"setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
            f'coalesce((SELECT max(id) FROM "{name}"), 0) + 1, false)' for name in counted)))
    elif conn.scalar(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")):
        conn.execute(text("DELETE FROM sqlite_sequence"))  # AUTOINCREMENT tables restart after their max id


def forget_signed_in_user() -> None:
    """Each request loads its own signed-in user, as in production. A test's requests share its app context,
    and so `g`, where Flask-Login keeps the user it loaded: without this a second client's requests ran as
    the first client's user (its login was even answered as "already signed in")."""
    g.pop("_login_user", None)


PLAN_FOLDER = Path(tempfile.mkdtemp(prefix="gradgate-test-plans-"))
atexit.register(shutil.rmtree, PLAN_FOLDER, ignore_errors=True)


@contextmanager
def app_on(url: str, **overrides: Any) -> Iterator[Flask]:
    """A testing app on an empty database at `url` (emptied for the next test afterwards), with overrides. A
    regrade's dry run keeps its plan in a folder of the app's own (or the broker's Redis, where the overrides
    name one), not in the instance folder of the checkout."""
    if not overrides.get("CELERY_BROKER_URL"):
        overrides.setdefault("REGRADE_PLAN_STORE", tempfile.mkdtemp(dir=PLAN_FOLDER))
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, **overrides})
    app.before_request(forget_signed_in_user)
    with app.app_context():
        empty_database(url)
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()  # close pooled connections now: PostgreSQL allows only so many clients


# --- worlds built once per module: a snapshot of every table, restored before each test ----------------------

Snapshot = list[tuple[Any, list[dict[str, Any]]]]


def take_snapshot() -> Snapshot:
    """Every row of every table of the app's database, in the order the tables can be filled."""
    db.session.commit()
    with db.engine.connect() as conn:
        # in key order: a row referring to another of its table (a token's parent) comes after it
        return [(table, [dict(row) for row in conn.execute(table.select().order_by(*table.primary_key))
                         .mappings()]) for table in db.metadata.sorted_tables]


def restore_snapshot(snapshot: Snapshot) -> None:
    """Put the database back as it was when `snapshot` was taken (a few milliseconds for a test's world), and
    drop what the session held: the objects of the test before are gone."""
    db.session.remove()
    with db.engine.begin() as conn:
        fill(conn, snapshot)


@contextmanager
def restored(app: Flask, snapshot: Snapshot) -> Iterator[Flask]:
    """A test's own app context (its own `g` and session, as a test with its own app has) on `app`, whose
    database is put back to `snapshot` first."""
    with app.app_context():
        restore_snapshot(snapshot)
        try:
            yield app
        finally:
            db.session.remove()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_backend(request, database_urls) -> str:
    if database_urls[request.param] is None:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test")
    return request.param


@pytest.fixture(scope="module")
def module_app(module_backend, database_urls) -> Iterator[Flask]:
    """One app for a whole test module (per database), for modules whose tests share a world: each test
    restores the module's snapshot (see take_snapshot) rather than building the world again."""
    with app_on(database_urls[module_backend]) as app:
        yield app


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
