"""The migrations build the models' schema on an empty database, with no drift, and downgrade to base; on
SQLite and (with TEST_DATABASE_URL) PostgreSQL. Each run gets a fresh database of its own."""

from __future__ import annotations

import json
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


HEAD = "0012"  # the newest migration: a new one must change this, and be tested below if it moves data


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


def test_0005_turns_every_assignment_into_a_set_of_one_and_moves_nothing(empty_app: Flask) -> None:
    """A database filled under 0004 (two courses, three assignments of two exercises, seeds, graded, invalid
    and late submissions), upgraded: every assignment is a set of one holding its exercise, points and
    attempt limit, and every submission, score, attempt and variant is where it was, answering that item."""
    flask_migrate.upgrade(revision="0004")
    now = "CURRENT_TIMESTAMP"
    with db.engine.begin() as conn:
        run = conn.execute
        for id_, name in ((1, "teacher"), (2, "ada"), (3, "bob")):
            run(text(f"INSERT INTO users (id, username, name, password_hash, role, created_at) "
                     f"VALUES ({id_}, '{name}', '', '!', 'student', {now})"))
        for id_, code in ((1, "c1"), (2, "c2")):
            run(text(f"INSERT INTO courses (id, code, title, created_at) VALUES ({id_}, '{code}', 't', {now})"))
        for id_, slug in ((1, "ex-one"), (2, "ex-two")):
            run(text(f"INSERT INTO exercises (id, slug, title, kind, current_version, deleted, created_at) "
                     f"VALUES ({id_}, '{slug}', 't', 'numeric', 1, false, {now})"))
            run(text(f"INSERT INTO exercise_versions (id, exercise_id, version, definition, created_at) "
                     f"VALUES ({id_}, {id_}, 1, '{{}}', {now})"))
        # (id, course, exercise, points, attempt limit)
        for id_, course, exercise, points, limit in ((1, 1, 1, 2.5, 3), (2, 1, 2, 1.0, None), (3, 2, 1, 4.0, 1)):
            run(text("INSERT INTO assignments (id, course_id, exercise_id, title, due_at, attempt_limit, points, "
                     "late_policy, late_penalty, visible, scoring, solution_policy, created_at) VALUES "
                     f"({id_}, {course}, {exercise}, 'a{id_}', NULL, :limit, {points}, 'penalty', 0.5, true, "
                     f"'best', 'after_due', {now})"), {"limit": limit})
        for id_, user, exercise, seed in ((1, 2, 1, 111), (2, 2, 2, 222), (3, 3, 1, 333)):
            run(text(f"INSERT INTO variants (id, user_id, exercise_id, seed, created_at) "
                     f"VALUES ({id_}, {user}, {exercise}, {seed}, {now})"))
        # (id, assignment, user, version, seed, status, attempt, score, points, late)
        submissions = [(1, 1, 2, 1, 111, "graded", 1, 0.5, 1.25, False), (2, 1, 2, 1, 111, "invalid", None, None,
                       None, False), (3, 1, 2, 1, 111, "graded", 2, 1.0, 1.25, True),
                       (4, 2, 2, 2, 222, "graded", 1, 1.0, 1.0, False), (5, 3, 3, 1, 333, "graded", 1, 0.25, 1.0,
                       False), (6, 1, 3, 1, 333, "graded", 1, 0.0, 0.0, False)]
        for row in submissions:
            run(text("INSERT INTO submissions (id, assignment_id, user_id, exercise_version_id, seed, kind, answers, "
                     "status, attempt, score, points, late, feedback, mistakes, grading_ms, created_at) VALUES "
                     "(:id, :a, :u, :v, :seed, 'numeric', '{}', :status, :attempt, :score, :points, :late, '{}', "
                     f"'[]', 0, {now})"), dict(zip(("id", "a", "u", "v", "seed", "status", "attempt", "score",
                                                    "points", "late"), row, strict=True)))
    flask_migrate.upgrade()
    assert drift() == []
    with db.engine.connect() as conn:
        items = conn.execute(text("SELECT assignment_id, exercise_id, position, points, attempt_limit, id "
                                  "FROM assignment_items ORDER BY assignment_id")).all()
        assert [tuple(r[:5]) for r in items] == [(1, 1, 1, 2.5, 3), (2, 2, 1, 1.0, None), (3, 1, 1, 4.0, 1)]
        item_of = {r[0]: r[5] for r in items}
        stored = conn.execute(text(
            "SELECT s.id, s.assignment_id, s.user_id, s.exercise_version_id, s.seed, s.status, s.attempt, s.score, "
            "s.points, s.late, s.item_id, i.exercise_id FROM submissions s JOIN assignment_items i ON i.id = s.item_id "
            "ORDER BY s.id")).all()
        assert [tuple(r[:10]) for r in stored] == submissions
        exercise_of = {1: 1, 2: 2, 3: 1}  # each submission still answers the exercise its assignment had
        assert all(r[10] == item_of[r[1]] and r[11] == exercise_of[r[1]] for r in stored)
        assert conn.execute(text("SELECT id, user_id, exercise_id, seed FROM variants ORDER BY id")).all() == [
            (1, 2, 1, 111), (2, 2, 2, 222), (3, 3, 1, 333)]
        columns = {c["name"] for c in inspect(db.engine).get_columns("assignments")}
        assert not columns & {"exercise_id", "points", "attempt_limit"}
    with db.engine.begin() as conn:  # a new item gets a fresh id (the sequence moved past the copied ones)
        conn.execute(text("INSERT INTO assignment_items (assignment_id, exercise_id, position, points) "
                          "VALUES (3, 2, 2, 1.0)"))
    flask_migrate.downgrade(revision="0004")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT id, exercise_id, points, attempt_limit FROM assignments ORDER BY id")
                            ).all() == [(1, 1, 2.5, 3), (2, 2, 1.0, None), (3, 1, 4.0, 1)]
        assert conn.scalar(text("SELECT count(*) FROM submissions")) == len(submissions)


def test_0012_keeps_the_regrade_history_undo_needs_and_downgrades_with_the_new_feedback(empty_app: Flask) -> None:
    """A regrade's history filled under 0011, upgraded: every row keeps its old values (undo's), and the copy of
    the new feedback goes (the submission holds it); downgraded: that copy comes back from the submission."""
    flask_migrate.upgrade(revision="0011")
    now = "CURRENT_TIMESTAMP"
    with db.engine.begin() as conn:
        run = conn.execute
        run(text(f"INSERT INTO users (id, username, name, password_hash, role, created_at) "
                 f"VALUES (1, 'ada', '', '!', 'student', {now})"))
        run(text(f"INSERT INTO courses (id, code, title, created_at) VALUES (1, 'c1', 't', {now})"))
        run(text(f"INSERT INTO exercises (id, slug, title, kind, current_version, deleted, created_at) "
                 f"VALUES (1, 'ex-one', 't', 'numeric', 1, false, {now})"))
        run(text(f"INSERT INTO exercise_versions (id, exercise_id, version, definition, created_at) "
                 f"VALUES (1, 1, 1, '{{}}', {now})"))
        run(text("INSERT INTO assignments (id, course_id, title, due_at, late_policy, late_penalty, visible, "
                 "scoring, solution_policy, position, archived, created_at) VALUES (1, 1, 'a1', NULL, 'penalty', "
                 f"0.5, true, 'best', 'after_due', 1, false, {now})"))
        run(text("INSERT INTO assignment_items (id, assignment_id, exercise_id, position, points) "
                 "VALUES (1, 1, 1, 1, 2.0)"))
        run(text("INSERT INTO submissions (id, assignment_id, item_id, user_id, exercise_version_id, seed, kind, "
                 "answers, status, attempt, score, points, late, feedback, mistakes, grading_ms, created_at) VALUES "
                 "(1, 1, 1, 1, 1, 7, 'numeric', '{}', 'graded', 1, 1.0, 2.0, false, '{\"message\": \"new\"}', "
                 f"'[]', 0, {now})"))
        run(text("INSERT INTO regrades (id, course_id, assignment_id, reason, params, fingerprint, submission_ids, "
                 f"state, created_at) VALUES (1, 1, 1, 'looser', '{{}}', '{'0' * 64}', '[1]', 'committed', {now})"))
        run(text("INSERT INTO regrade_changes (id, regrade_id, submission_id, user_id, old_score, old_points, "
                 "old_feedback, old_mistakes, old_version_id, new_score, new_points, new_mistakes, new_feedback, "
                 "new_version_id) VALUES (1, 1, 1, 1, 0.5, 1.0, '{\"message\": \"old\"}', '[\"sign\"]', 1, 1.0, 2.0, "
                 "'[]', '{\"message\": \"new\"}', 1)"))
    history = ("SELECT regrade_id, submission_id, user_id, old_score, old_points, old_feedback, old_mistakes, "
               "old_version_id, new_score, new_points, new_mistakes, new_version_id FROM regrade_changes")
    with db.engine.connect() as conn:
        before = [tuple(str(v) for v in row) for row in conn.execute(text(history))]
    flask_migrate.upgrade()
    assert drift() == []
    with db.engine.connect() as conn:
        assert [tuple(str(v) for v in row) for row in conn.execute(text(history))] == before
    assert "new_feedback" not in {c["name"] for c in inspect(db.engine).get_columns("regrade_changes")}
    flask_migrate.downgrade(revision="0011")
    with db.engine.connect() as conn:
        assert [tuple(str(v) for v in row) for row in conn.execute(text(history))] == before
        restored = conn.scalar(text("SELECT new_feedback FROM regrade_changes WHERE id = 1"))
    assert (json.loads(restored) if isinstance(restored, str) else restored) == {"message": "new"}
