"""The administration commands: users, courses, exercises import, tokens and demo (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from grader.cli import DEMO_USERS, demo_password
from grader.models import (
    ApiToken,
    Assignment,
    Course,
    Exercise,
    ExerciseVersion,
    Membership,
    User,
    db,
    hash_token,
    utcnow,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "exercises"


def cli(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def refused(result: Result, code: int, message: str) -> None:
    """A clear error: the exit code, the message, and no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


# --- users -----------------------------------------------------------------------------------------------

def test_users_create(app: Flask) -> None:
    result = ok(cli(app, "users", "create", "ada", "--role", "instructor", "--name", "Ada L.",
                    "--password", "correct horse"))
    assert "created instructor 'ada'" in result.output
    ada = user("ada")
    assert (ada.role, ada.name) == ("instructor", "Ada L.")
    assert ada.password_hash != "correct horse" and ada.check_password("correct horse")


def test_users_create_prompts_for_the_password_twice(app: Flask) -> None:
    ok(cli(app, "users", "create", "bo", input="s3cret-pass\ns3cret-pass\n"))
    assert user("bo").role == "student" and user("bo").check_password("s3cret-pass")


def test_users_create_refuses_duplicates_and_bad_input(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "first-password"))
    refused(cli(app, "users", "create", "ada", "--password", "other-password"), 1, "the username ada is taken")
    refused(cli(app, "users", "create", "cy", "--password", "short"), 2, "at least 8 characters")
    refused(cli(app, "users", "create", "cy", "--role", "root", "--password", "long-enough"), 2, "'root'")
    assert count(User) == 1 and user("ada").check_password("first-password")


# --- courses ---------------------------------------------------------------------------------------------

def test_courses_create_and_enroll(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "ada-password"))
    assert "created course 'bp101'" in ok(cli(app, "courses", "create", "bp101", "--title", "Backprop")).output
    assert "as student" in ok(cli(app, "courses", "enroll", "bp101", "ada")).output
    assert "already student" in ok(cli(app, "courses", "enroll", "bp101", "ada")).output
    assert "now instructor" in ok(cli(app, "courses", "enroll", "bp101", "ada", "--role", "instructor")).output
    membership = db.session.scalar(select(Membership))
    assert count(Membership) == 1 and membership.role == "instructor" and membership.course.title == "Backprop"


def test_enroll_keeps_an_instructor_as_the_pages_and_the_api_do(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "ada-password"))
    ok(cli(app, "courses", "create", "bp101", "--title", "Backprop"))
    ok(cli(app, "courses", "enroll", "bp101", "ada", "--role", "instructor"))
    refused(cli(app, "courses", "enroll", "bp101", "ada", "--role", "student"), 1, "the only instructor of bp101")
    refused(cli(app, "courses", "create", "bp 102", "--title", "Spaced"), 1, "without spaces")
    assert db.session.scalar(select(Membership.role)) == "instructor" and count(Course) == 1


def test_courses_errors(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "ada-password"))
    ok(cli(app, "courses", "create", "bp101", "--title", "Backprop"))
    refused(cli(app, "courses", "create", "bp101", "--title", "Again"), 1, "code bp101 already exists")
    refused(cli(app, "courses", "create", "bp102"), 2, "--title")
    refused(cli(app, "courses", "enroll", "nope", "ada"), 1, "no course 'nope'")
    refused(cli(app, "courses", "enroll", "bp101", "nobody"), 1, "no user 'nobody'")
    refused(cli(app, "courses", "enroll", "bp101", "ada", "--role", "admin"), 2, "'admin'")
    assert count(Course) == 1 and count(Membership) == 0


# --- exercises import ------------------------------------------------------------------------------------

def test_exercises_import_the_catalogue_then_nothing_changes(app: Flask) -> None:
    catalogue = sorted(CATALOGUE.glob("*.yaml"))
    first = ok(cli(app, "exercises", "import")).output
    assert f"{len(catalogue)} created, 0 new version(s), 0 unchanged" in first
    assert re.search(r"^created\s+gate-add$", first, re.M)
    second = ok(cli(app, "exercises", "import")).output
    assert f"0 created, 0 new version(s), {len(catalogue)} unchanged" in second
    assert count(Exercise) == count(ExerciseVersion) == len(catalogue)


def test_exercises_import_a_changed_file_makes_a_new_version(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "gate-add.yaml"
    shutil.copy(CATALOGUE / "gate-add.yaml", path)
    assert re.search(r"^created\s+gate-add$", ok(cli(app, "exercises", "import", str(path))).output, re.M)
    path.write_text(path.read_text().replace('label: "dL/da"', 'label: "dL/d(a)"'))
    assert re.search(r"^new version 2\s+gate-add$", ok(cli(app, "exercises", "import", str(path))).output, re.M)
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-add"))
    assert exercise.current_version == 2 and len(exercise.versions) == 2


def test_exercises_import_stores_nothing_when_a_file_is_invalid(app: Flask, tmp_path: Path) -> None:
    shutil.copy(CATALOGUE / "gate-add.yaml", tmp_path / "gate-add.yaml")
    (tmp_path / "broken.yaml").write_text("id: broken\ntitle: Broken\nkind: numeric\n")
    (tmp_path / "not-yaml.yaml").write_text("id: [unclosed\n")
    result = cli(app, "exercises", "import", str(tmp_path))
    refused(result, 1, "2 invalid file(s) of 3; nothing imported")
    assert f"{tmp_path / 'broken.yaml'}: " in result.stderr
    assert f"{tmp_path / 'not-yaml.yaml'}: line " in result.stderr
    assert count(Exercise) == count(ExerciseVersion) == 0


def test_exercises_import_errors(app: Flask, tmp_path: Path) -> None:
    refused(cli(app, "exercises", "import", str(tmp_path)), 1, "no exercise files")
    refused(cli(app, "exercises", "import", str(tmp_path / "missing.yaml")), 2, "does not exist")


# --- tokens ----------------------------------------------------------------------------------------------

def create_token(app: Flask, *extra: str) -> tuple[ApiToken, str]:
    result = ok(cli(app, "tokens", "create", "--user", "ada", "--scopes", "exercises:read, submissions:write",
                    *extra))
    secret = result.stdout.strip()
    token = db.session.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
    return token, secret


def test_tokens_create_prints_the_secret_once_and_stores_its_hash(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "ada-password"))
    token, secret = create_token(app, "--name", "ci", "--expires-in-days", "7")
    assert secret.startswith("gg_") and len(secret) > 30
    assert hash_token(secret) == token.token_hash and secret.startswith(token.prefix)
    stored = [str(getattr(token, column.key)) for column in ApiToken.__table__.columns]
    assert not any(secret in value for value in stored)
    assert token.scopes == ["exercises:read", "submissions:write"] and token.name == "ci"
    assert token.user.username == "ada" and token.usable()
    assert abs(token.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)

    listing = ok(cli(app, "tokens", "list", "--user", "ada")).output
    assert token.prefix in listing and "active" in listing and "exercises:read,submissions:write" in listing
    assert secret not in listing


def test_tokens_revoke(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "ada-password"))
    token, _ = create_token(app)
    child, _ = ApiToken.issue(token.user, [], "made by the token", parent=token)
    db.session.add(child)
    db.session.commit()
    output = ok(cli(app, "tokens", "revoke", str(token.id))).output
    assert f"revoked token {token.id}" in output and "and 1 token(s) it created" in output
    db.session.refresh(token)
    db.session.refresh(child)
    assert token.revoked_at is not None and not token.usable() and not child.usable()
    assert "already revoked" in ok(cli(app, "tokens", "revoke", str(token.id))).output
    assert "revoked" in ok(cli(app, "tokens", "list", "--user", "ada")).output
    refused(cli(app, "tokens", "revoke", "999"), 1, "no token 999")


def test_tokens_list_shows_expired_tokens_of_everyone(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "ada-password"))
    token, secret = create_token(app)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    listing = ok(cli(app, "tokens", "list")).output
    assert re.search(rf"^\s*{token.id}\s+ada\s+{re.escape(token.prefix)}\.\.\.\s+expired ", listing, re.M)
    assert secret not in listing


def test_tokens_errors(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "ada-password"))
    refused(cli(app, "tokens", "create", "--user", "ada", "--scopes", "exercises:read,everything"), 2,
            "unknown scope(s) everything")
    refused(cli(app, "tokens", "create", "--user", "ada", "--scopes", ","), 2, "(none given)")
    refused(cli(app, "tokens", "create", "--user", "nobody", "--scopes", "exercises:read"), 1, "no user 'nobody'")
    refused(cli(app, "tokens", "create", "--user", "ada", "--scopes", "exercises:read", "--expires-in-days", "0"),
            2, "--expires-in-days")
    refused(cli(app, "tokens", "list", "--user", "nobody"), 1, "no user 'nobody'")
    assert count(ApiToken) == 0
    assert "no tokens" in ok(cli(app, "tokens", "list")).output


# --- demo ------------------------------------------------------------------------------------------------

def logins(output: str) -> dict[str, str]:
    return dict(re.findall(r"username (\S+)\s+password (\S+)", output))


def snapshot() -> dict[str, int]:
    return {m.__name__: count(m) for m in (User, Course, Membership, Exercise, ExerciseVersion, Assignment)}


def test_demo_is_idempotent_and_prints_working_logins(app: Flask) -> None:
    first = ok(cli(app, "demo"))
    before = snapshot()
    second = ok(cli(app, "demo"))
    assert snapshot() == before
    assert logins(first.output) == logins(second.output)
    assert set(logins(first.output)) == {username for username, _, _ in DEMO_USERS}
    for username, password in logins(first.output).items():
        assert password == demo_password(app.config["SECRET_KEY"], username)
        assert user(username).check_password(password) and user(username).password_hash != password

    catalogue = len(list(CATALOGUE.glob("*.yaml")))
    assert before == {"User": 3, "Course": 1, "Membership": 3, "Exercise": catalogue,
                      "ExerciseVersion": catalogue, "Assignment": catalogue}
    assert f"{catalogue} assignments ({catalogue} new)" in first.output
    assert f"{catalogue} assignments (0 new)" in second.output


def test_demo_course_contents(app: Flask) -> None:
    ok(cli(app, "demo"))
    course = db.session.scalar(select(Course).where(Course.code == "demo"))
    roles = {m.user.username: m.role for m in course.memberships}
    assert roles == {"demo-student": "student", "demo-ta": "ta", "demo-instructor": "instructor"}
    assert user("demo-student").role == "student" and user("demo-instructor").role == "instructor"
    assert user("demo-ta").role == "student"  # a TA of this course only
    now = utcnow()
    assert all(a.due_at > now and a.attempt_limit and a.visible for a in course.assignments)
    assert len({a.exercise.id for a in course.assignments}) == len(course.assignments)
    assert sum(a.solution_policy == "always" for a in course.assignments) >= 2
    assert len({a.due_at for a in course.assignments}) > 1  # spread over weeks


def test_demo_repairs_a_changed_demo_password(app: Flask) -> None:
    ok(cli(app, "demo"))
    user("demo-student").set_password("changed-by-someone")
    db.session.commit()
    output = ok(cli(app, "demo")).output
    assert "(password reset)" in output
    assert user("demo-student").check_password(logins(output)["demo-student"])


def test_demo_is_refused_in_production_unless_forced(app: Flask, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CONFIG_NAME", "production")  # also wsgi.py's default
    refused(cli(app, "demo"), 1, "production")
    assert count(User) == count(Course) == count(Exercise) == 0
    assert "demo-student" in ok(cli(app, "demo", "--force")).output


def test_demo_passwords_derive_from_the_secret_key() -> None:
    a = demo_password("key-one", "demo-student")
    assert a == demo_password("key-one", "demo-student") and len(a) == 12
    assert a != demo_password("key-two", "demo-student") != demo_password("key-one", "demo-instructor")


# --- the real command line, as `make run` uses it --------------------------------------------------------

def flask_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_db_upgrade_then_demo_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "SECRET_KEY": "k" * 32,
           "GRADGATE_CONFIG": "development"}
    env.pop("TEST_DATABASE_URL", None)
    for command in (["users", "create", "ada", "--password", "ada-password"], ["demo"]):
        not_migrated = flask_cli(*command, env=env)
        assert not_migrated.returncode == 1 and "Traceback" not in not_migrated.stderr
        assert "Error: database error: " in not_migrated.stderr and "db upgrade" in not_migrated.stderr
    upgrade = flask_cli("db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    runs = [flask_cli("demo", env=env) for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr + runs[1].stderr
    assert logins(runs[0].stdout) == logins(runs[1].stdout)
    assert logins(runs[0].stdout)["demo-student"] == demo_password("k" * 32, "demo-student")
    duplicate = flask_cli("users", "create", "demo-student", "--password", "whatever-long", env=env)
    assert duplicate.returncode == 1 and "Error: the username demo-student is taken" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr


def test_settings_the_service_cannot_start_with_are_one_line_errors(tmp_path: Path) -> None:
    base = {**os.environ, "SECRET_KEY": "k" * 32, "GRADGATE_INSTANCE": str(tmp_path / "instance")}
    base.pop("TEST_DATABASE_URL", None)
    for setting, says in ((("DATABASE_URL", "notaurl"), "DATABASE_URL is not a database URL"),
                          (("GRADGATE_CONFIG", "bogus"), "GRADGATE_CONFIG is 'bogus': expected one of")):
        run = flask_cli("tokens", "list", env={**base, setting[0]: setting[1]})
        # 3: what gunicorn takes as "worker failed to boot" (it stops rather than respawning forever)
        assert run.returncode == 3 and says in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_database_url_may_live_in_the_instance_config(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(f"DATABASE_URL = 'sqlite:///{tmp_path / 'from-config.db'}'\n")
    env = {**os.environ, "SECRET_KEY": "k" * 32, "GRADGATE_INSTANCE": str(instance), "GRADGATE_CONFIG": "development"}
    for name in ("DATABASE_URL", "TEST_DATABASE_URL"):
        env.pop(name, None)
    assert flask_cli("db", "upgrade", env=env).returncode == 0
    assert (tmp_path / "from-config.db").exists() and not (instance / "gradgate.db").exists()


def test_token_numbers_out_of_range_are_refused(app: Flask) -> None:
    ok(cli(app, "users", "create", "ada", "--password", "ada-password"))
    for args in (("tokens", "create", "--user", "ada", "--scopes", "exercises:read", "--expires-in-days", "3000000"),
                 ("tokens", "revoke", str(10**23))):
        result = cli(app, *args)
        assert result.exit_code == 2 and "is not in the range" in result.output, result.output


def test_courses_assign_places_an_imported_exercise(app: Flask) -> None:
    ok(cli(app, "courses", "create", "bp101", "--title", "Backprop 101"))
    refused(cli(app, "courses", "assign", "bp101", "gate-add"), 1, "no exercise 'gate-add'")
    ok(cli(app, "exercises", "import"))
    output = ok(cli(app, "courses", "assign", "bp101", "gate-add", "--due", "2030-01-31 23:59", "--attempts", "3",
                    "--points", "5", "--late-policy", "penalty", "--late-penalty", "0.25")).output
    assert "in 'bp101', due 2030-01-31 23:59 UTC, 5 points" in output
    assignment = db.session.scalar(select(Assignment))
    assert (assignment.attempt_limit, assignment.points, assignment.late_policy, assignment.late_penalty,
            assignment.visible, assignment.due_at.year) == (3, 5.0, "penalty", 0.25, True, 2030)
    for option, value in (("--due", "next tuesday"), ("--points", "nan"), ("--late-penalty", "nan"),
                          ("--title", "t" * 201)):
        bad = cli(app, "courses", "assign", "bp101", "gate-add", option, value)
        assert bad.exit_code == 2 and option in bad.output, (option, bad.output)
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 1
    refused(cli(app, "courses", "assign", "nope", "gate-add"), 1, "nope")


def test_courses_gradebook_prints_csv(app: Flask) -> None:
    import csv
    import io

    from grader import service

    ok(cli(app, "courses", "create", "bp101", "--title", "Backprop 101"))
    ok(cli(app, "users", "create", "ada", "--password", "ada-password", "--name", "Ada, L."))
    ok(cli(app, "courses", "enroll", "bp101", "ada"))
    ok(cli(app, "exercises", "import"))
    ok(cli(app, "courses", "assign", "bp101", "seed-two-layer-w1-22", "--points", "10"))
    ok(cli(app, "courses", "assign", "bp101", "gate-add"))
    service.submit(user("ada"), db.session.scalar(select(Assignment).order_by(Assignment.id)),
                   answers={"0": "-0.0026227"})
    rows = list(csv.reader(io.StringIO(ok(cli(app, "courses", "gradebook", "bp101")).output)))
    assert rows[0][0:2] == ["username", "name"] and rows[0][-1] == "total" and len(rows[0]) == 5
    assert rows[1] == ["ada", "Ada, L.", "10", "", "10"]
    refused(cli(app, "courses", "gradebook", "nope"), 1, "nope")
