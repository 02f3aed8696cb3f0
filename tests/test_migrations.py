"""The migrations build the models' schema on an empty database, with no drift, and downgrade to base; on
SQLite and (with TEST_DATABASE_URL) PostgreSQL. Each run gets a fresh database of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from grader import create_app
from grader.models import db


@contextmanager
def fresh_postgres_url(worker: str) -> Iterator[str]:
    """A dedicated, empty database on the TEST_DATABASE_URL server, dropped before and after."""
    base = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"{base.database}_migrations_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_app(backend: str, database_urls, worker_id: str, tmp_path) -> Iterator[Flask]:
    """An app on an empty database (no create_all): a tmp SQLite file, or a fresh PostgreSQL database."""
    with ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'migrations.db'}" if backend == "sqlite"
               else stack.enter_context(fresh_postgres_url(worker_id)))
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()


HEAD = "0004"  # the newest migration: a new one must change this, and be tested below if it moves data


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def drift() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_to_head_matches_the_models_and_downgrades_to_base(empty_app: Flask) -> None:
    assert table_names() == set()
    flask_migrate.upgrade()
    assert table_names() == set(db.metadata.tables) | {"alembic_version"}
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
    assert drift() == []

    flask_migrate.downgrade(revision="base")
    assert table_names() == {"alembic_version"}
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 0


def test_upgrade_is_repeatable_after_a_downgrade(empty_app: Flask) -> None:
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    flask_migrate.upgrade()
    assert drift() == []


def test_the_db_upgrade_command_works_on_an_empty_database(empty_app: Flask) -> None:
    result = empty_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "alembic_version" in table_names() and drift() == []


def test_0002_gives_existing_exercises_the_owner_of_their_first_version(empty_app: Flask) -> None:
    flask_migrate.upgrade(revision="0001")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, username, name, password_hash, role, created_at) "
                          "VALUES (7, 'author', '', '!', 'instructor', CURRENT_TIMESTAMP)"))
        for id_, slug, author in ((1, "by-author", 7), (2, "from-files", None)):
            conn.execute(text("INSERT INTO exercises (id, slug, title, kind, current_version, deleted, created_at) "
                              "VALUES (:id, :slug, 't', 'numeric', 2, false, CURRENT_TIMESTAMP)"),
                         {"id": id_, "slug": slug})
            for version, by in ((1, author), (2, None)):  # a later version by someone else does not count
                conn.execute(text("INSERT INTO exercise_versions (exercise_id, version, definition, created_at, "
                                  "created_by) VALUES (:e, :v, '{}', CURRENT_TIMESTAMP, :by)"),
                             {"e": id_, "v": version, "by": by})
    flask_migrate.upgrade()
    with db.engine.connect() as conn:
        owners = dict(conn.execute(text("SELECT slug, owner_id FROM exercises")).all())
    assert owners == {"by-author": 7, "from-files": None}
    flask_migrate.downgrade(revision="0001")
    assert "owner_id" not in {c["name"] for c in inspect(db.engine).get_columns("exercises")}
