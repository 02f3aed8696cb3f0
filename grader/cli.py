"""Flask CLI commands (`flask --app wsgi ...`)."""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import hmac
import io
import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from grader import exercises as definitions
from grader import roster, service
from grader.authoring import save_exercise
from grader.errors import ServiceError
from grader.exercises import DefinitionError, DegenerateVariantError, find, load_file, make_variant, solve
from grader.exercises.solve import worked_text
from grader.models import (
    COURSE_ROLES,
    ROLES,
    SCOPES,
    ApiToken,
    Assignment,
    AssignmentItem,
    Course,
    Exercise,
    Membership,
    User,
    db,
    utcnow,
)

exercises_cli = AppGroup("exercises", help="Validate, solve and grade exercise definitions.")

P = ParamSpec("P")
R = TypeVar("R")

SEED = click.IntRange(min=0, max=2**31 - 1)  # as the API takes it (numpy wants a non-negative seed)
MAX_ID = 2**31 - 1  # the largest id either database stores
VALIDATION_SEEDS = 20  # a definition whose first seeds are all degenerate is as good as broken


def _catalogue_dir() -> Path:
    return Path(current_app.config["EXERCISES_DIR"])


def database_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a database failure (not migrated, unreachable, a concurrent duplicate) into a one-line error."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SQLAlchemyError as exc:
            db.session.rollback()
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise click.ClickException(f"database error: {detail} (check DATABASE_URL, and that "
                                       "`flask --app wsgi db upgrade` has run)") from None

    return wrapper


def _check_file(path: Path) -> tuple[definitions.Exercise | None, list[str]]:
    """Load and validate one definition (schema, graph and the first seeds' variants).
    Returns (exercise, []) or (None, ["path: problem", ...])."""
    try:
        exercise = load_file(path)
        for seed in range(VALIDATION_SEEDS):
            make_variant(exercise, seed)
    except DefinitionError as exc:
        return None, [f"{path}: {line}" for line in exc.errors]
    except DegenerateVariantError as exc:
        return None, [f"{path}: random rules: {exc}"]
    return exercise, []


@exercises_cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
def validate_command(paths: tuple[str, ...]) -> None:
    """Validate definition files (default: the whole catalogue); exit 1 on any bad file."""
    files = [Path(p) for p in paths] or sorted(_catalogue_dir().glob("*.yaml"))
    if not files:
        raise click.ClickException(f"no exercise files found in {_catalogue_dir()}")
    bad = 0
    for path in files:
        exercise, errors = _check_file(path)
        if exercise is None:
            bad += 1
            for line in errors:
                click.echo(line, err=True)
        else:
            click.echo(f"ok  {path}  ({exercise.id}, {exercise.kind})")
    click.echo(f"{len(files) - bad} valid, {bad} invalid")
    if bad:
        raise SystemExit(1)


@exercises_cli.command("solve")
@click.argument("exercise")
@click.option("--seed", type=SEED, default=0, show_default=True, help="The variant's seed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a readable worked solution.")
def solve_command(exercise: str, seed: int, as_json: bool) -> None:
    """Solve FILE_OR_ID for one seed: values, gradients, step trace and answers."""
    try:
        loaded = find(exercise, _catalogue_dir())
        output = json.dumps(solve(loaded, seed)) if as_json else worked_text(loaded, seed)
    except (DefinitionError, DegenerateVariantError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(output)


@exercises_cli.command("grade")
@click.argument("exercise")
@click.option("--seed", type=SEED, default=0, show_default=True, help="The variant's seed.")
@click.option("--answers", "answers_json", help='JSON mapping ask index or label to an answer, e.g. {"0": "-0.0026"}.')
@click.option("--code-file", type=click.File("r", encoding="utf-8"), help="A Python file with the backward function.")
@click.option("--json", "as_json", is_flag=True, help="Print the result structure as JSON.")
def grade_command(exercise: str, seed: int, answers_json: str | None, code_file, as_json: bool) -> None:
    """Grade answers (numeric) or a code file (code) for FILE_OR_ID at one seed. The expected answers are
    shown: this is an instructor's tool. Code runs in the sandbox, as it does for students."""
    try:
        loaded = find(exercise, _catalogue_dir())
        variant = make_variant(loaded, seed)
    except (DefinitionError, DegenerateVariantError) as exc:
        raise click.ClickException(str(exc)) from None
    answers = None
    if loaded.kind == "numeric":
        if answers_json is None:
            raise click.UsageError(f"{loaded.id} is a numeric exercise: give --answers, e.g. --answers "
                                   "'{\"0\": \"-0.0026\"}' (ask position or label to the answer as typed)")
        try:
            answers = json.loads(answers_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc.msg} at character {exc.pos}", param_hint="--answers") from None
        if not isinstance(answers, dict):
            raise click.BadParameter("expected a JSON object mapping ask index or label to an answer",
                                     param_hint="--answers")
    elif code_file is None:
        raise click.UsageError(f"{loaded.id} is a code exercise: give --code-file")
    try:
        code = code_file.read() if code_file is not None else None
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"not UTF-8 text (byte {exc.start})", param_hint="--code-file") from None
    try:
        result = service.grade(loaded, variant, answers=answers, code=code, reveal=True,
                               allow_weak=current_app.config["SANDBOX_ALLOW_WEAK"])
    except service.ServiceError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(f"{loaded.title} (seed {seed}): {result.message}  Tolerance: {result.tolerance}.")
    for part in result.parts:
        click.echo(f"  [{part.status}] {part.label}: {part.message}")


@exercises_cli.command("import")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@database_errors
def import_command(path: Path | None) -> None:
    """Import PATH (a definition file or a directory of them; default: the catalogue) into the database.

    A changed definition becomes a new version; an unchanged one is left alone. If any file is invalid,
    its problems are printed and nothing is stored."""
    outcomes = [_store_exercise(exercise) for exercise in _load_valid(path or _catalogue_dir())]
    db.session.commit()
    for slug, outcome, version in outcomes:
        shown = f"new version {version}" if outcome == "new version" else outcome
        click.echo(f"{shown:<14} {slug}")
    kinds = Counter(outcome for _, outcome, _ in outcomes)
    click.echo(f"{kinds['created']} created, {kinds['new version']} new version(s), {kinds['unchanged']} unchanged")


def _load_valid(path: Path) -> list[definitions.Exercise]:
    """Every definition in a file or directory, validated; if any is invalid, print the problems of each
    (path-qualified) on stderr and fail, so that nothing is stored."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise click.ClickException(f"no exercise files (*.yaml) in {path}")
    loaded, errors = [], []
    for file in files:
        exercise, problems = _check_file(file)
        errors += problems
        if exercise is not None:
            loaded.append(exercise)
    for line in errors:
        click.echo(line, err=True)
    if errors:
        raise click.ClickException(f"{len(files) - len(loaded)} invalid file(s) of {len(files)}; nothing imported")
    return loaded


def _store_exercise(exercise: definitions.Exercise) -> tuple[str, str, int]:
    """Save one validated definition, not committed: (slug, 'created' | 'new version' | 'unchanged', version)."""
    row, changed = save_exercise(exercise.document)
    outcome = "unchanged" if not changed else "created" if row.current_version == 1 else "new version"
    return row.slug, outcome, row.current_version


# --- users -----------------------------------------------------------------------------------------------

users_cli = AppGroup("users", help="Manage local accounts.")

MIN_PASSWORD = 8


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user '{username}'")
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="student", show_default=True, help="Site-wide role.")
@click.option("--name", default="", help="Display name (default: the username).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help=f"At least {MIN_PASSWORD} characters; asked for (hidden, twice) when not given.")
@database_errors
def create_user_command(username: str, role: str, name: str, password: str) -> None:
    """Create the account USERNAME (its password is stored hashed)."""
    if len(password) < MIN_PASSWORD:
        raise click.BadParameter(f"must be at least {MIN_PASSWORD} characters", param_hint="--password")
    try:
        user = roster.create_user(username, name, role, password)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {role} '{user.username}' (id {user.id})")


# --- courses ---------------------------------------------------------------------------------------------

courses_cli = AppGroup("courses", help="Manage courses and their members.")


def _course(code: str) -> Course:
    course = db.session.scalar(select(Course).where(Course.code == code))
    if course is None:
        raise click.ClickException(f"no course '{code}'")
    return course


@courses_cli.command("create")
@click.argument("code")
@click.option("--title", required=True, help="The course's title.")
@database_errors
def create_course_command(code: str, title: str) -> None:
    """Create the course CODE (a short unique name such as bp101); enroll its instructors with `enroll`."""
    try:
        course = roster.create_course(None, code, title)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created course '{course.code}' (id {course.id}): {course.title}")


@courses_cli.command("enroll")
@click.argument("code")
@click.argument("username")
@click.option("--role", type=click.Choice(COURSE_ROLES), default="student", show_default=True,
              help="The user's role in this course.")
@database_errors
def enroll_command(code: str, username: str, role: str) -> None:
    """Enroll USERNAME in the course CODE (or change their role in it)."""
    course, user = _course(code), _user(username)
    try:
        message = _enroll(course, user, role)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(message)


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter("must be a number, not nan or inf")
    return value


def _title(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not 1 <= len(value) <= 200:
        raise click.BadParameter("must be 1 to 200 characters")
    return value


@courses_cli.command("assign")
@click.argument("code")
@click.argument("exercise_ids", metavar="EXERCISE_ID...", nargs=-1, required=True)
@click.option("--title", callback=_title, help="Shown to students (default: the first exercise's title).")
@click.option("--due", type=click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
              help="Due date and time in UTC, e.g. '2026-12-01 23:59' (default: none).")
@click.option("--attempts", type=click.IntRange(1, 1000),
              help="Attempt limit of each exercise (default: the exercise's, if any).")
@click.option("--points", type=click.FloatRange(0, 1_000_000), default=1.0, show_default=True, callback=_finite,
              help="Points of each exercise.")
@click.option("--late-policy", type=click.Choice(["reject", "penalty", "accept"]), default="reject",
              show_default=True)
@click.option("--late-penalty", type=click.FloatRange(0, 1), default=0.0, show_default=True, callback=_finite,
              help="Fraction of the score taken off a late submission (with --late-policy penalty).")
@click.option("--solution", type=click.Choice(["never", "after_due", "always"]), default="after_due",
              show_default=True, help="When students see the expected answers.")
@click.option("--hidden", is_flag=True, help="Not shown to students until made visible (API PATCH).")
@database_errors
def assign_command(code: str, exercise_ids: tuple[str, ...], title: str | None, due: datetime | None,
                   attempts: int | None, points: float, late_policy: str, late_penalty: float, solution: str,
                   hidden: bool) -> None:
    """Place a problem set of the exercises EXERCISE_ID... (imported: see `exercises import`), in this order,
    in the course CODE; one exercise makes a set of one."""
    course = _course(code)
    for exercise_id in exercise_ids:  # the command line's own wording for the usual slip
        if db.session.scalar(select(Exercise.id).where(Exercise.slug == exercise_id,
                                                       Exercise.deleted.is_(False))) is None:
            raise click.ClickException(f"no exercise '{exercise_id}' in the database (run `exercises import` first?)")
    try:
        assignment = service.create_assignment(
            course, [service.ItemSpec(slug, points, attempts) for slug in exercise_ids], title=title or "",
            due_at=due, late_policy=late_policy, late_penalty=late_penalty, solution_policy=solution,
            visible=not hidden)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    due_text = f"due {due:%Y-%m-%d %H:%M} UTC" if due else "no due date"
    count = f"{len(exercise_ids)} exercises, " if len(exercise_ids) > 1 else ""
    click.echo(f"assignment {assignment.id}: '{assignment.title}' in '{course.code}', {due_text}, "
               f"{count}{assignment.points:g} points{', hidden' if hidden else ''}")


@courses_cli.command("gradebook")
@click.argument("code")
@database_errors
def gradebook_command(code: str) -> None:
    """Print the course's gradebook as CSV: one row per student, the points earned per assignment (best or
    last graded attempt, as each assignment says; empty where nothing was graded) and the total."""
    book = service.gradebook(_course(code))
    text = io.StringIO()
    out = csv.writer(text, lineterminator="\n")
    out.writerow(["username", "name", *(f"{a.title} ({a.points:g})" for a in book.assignments), "total"])
    for student in book.students:
        scores = (book.score(student, a) for a in book.assignments)
        out.writerow([student.username, student.name, *("" if s is None else f"{s:g}" for s in scores),
                      f"{book.total(student):g}"])
    click.echo(text.getvalue(), nl=False)


def _enroll(course: Course, user: User, role: str) -> str:
    """Through grader.roster, as the pages and the API enroll (the course keeps an instructor)."""
    current = db.session.scalar(select(Membership.role).where(Membership.course_id == course.id,
                                                              Membership.user_id == user.id))
    if current is None:
        roster.add_member(course, user.username, role)
        return f"enrolled '{user.username}' in '{course.code}' as {role}"
    if current == role:
        return f"'{user.username}' is already {role} in '{course.code}'"
    roster.change_role(course, user.username, role)
    return f"'{user.username}' is now {role} in '{course.code}' (was {current})"


# --- tokens ----------------------------------------------------------------------------------------------

tokens_cli = AppGroup("tokens", help="Manage API tokens (only their hashes are stored).")


def _scopes(_ctx: click.Context, _param: click.Parameter, value: str) -> list[str]:
    scopes = list(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise click.BadParameter(f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
                                 f"choose from {', '.join(SCOPES)}")
    return scopes


@tokens_cli.command("create")
@click.option("--user", "username", required=True, help="The token acts as this user.")
@click.option("--scopes", required=True, callback=_scopes,
              help=f"Comma-separated, from: {', '.join(SCOPES)}.")
@click.option("--name", default="", help="A note to tell tokens apart.")
@click.option("--expires-in-days", type=click.IntRange(min=1, max=3650), default=90, show_default=True,
              help="Days until the token stops working.")
@database_errors
def create_token_command(username: str, scopes: list[str], name: str, expires_in_days: int) -> None:
    """Create a token and print it once (stdout); only its hash is stored, so it cannot be shown again."""
    user = _user(username)
    token, secret = ApiToken.issue(user, scopes, name=name,
                                   expires_at=utcnow() + timedelta(days=expires_in_days))
    db.session.add(token)
    db.session.commit()
    click.echo(f"token {token.id} for '{user.username}' ({', '.join(scopes)}), expires "
               f"{_when(token.expires_at)}; it is shown only now:", err=True)
    click.echo(secret)


@tokens_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1, max=MAX_ID))
@database_errors
def revoke_token_command(token_id: int) -> None:
    """Revoke the token TOKEN_ID (see `tokens list`); it stops working at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token {token_id}")
    if token.revoked_at is not None:
        click.echo(f"token {token_id} was already revoked {_when(token.revoked_at)}")
        return
    revoked = token.revoke()
    db.session.commit()
    made = f", and {len(revoked) - 1} token(s) it created" if len(revoked) > 1 else ""
    click.echo(f"revoked token {token_id} ({token.prefix}..., '{token.user.username}'){made}")


@tokens_cli.command("list")
@click.option("--user", "username", help="Only this user's tokens (default: everyone's).")
@database_errors
def list_tokens_command(username: str | None) -> None:
    """List tokens: id, user, prefix, name, scopes, expiry and state. Never the secret."""
    query = select(ApiToken).order_by(ApiToken.id)
    if username is not None:
        query = query.where(ApiToken.user_id == _user(username).id)
    tokens = db.session.scalars(query).all()
    if not tokens:
        click.echo("no tokens")
        return
    now = utcnow()
    for t in tokens:
        state = ("revoked" if t.revoked_at is not None
                 else "expired" if t.expires_at is not None and t.expires_at <= now else "active")
        click.echo(f"{t.id:>4}  {t.user.username:<16} {t.prefix}...  {state:<7}  expires {_when(t.expires_at)}  "
                   f"{','.join(t.scopes)}" + (f"  ({t.name})" if t.name else ""))


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


# --- demo ------------------------------------------------------------------------------------------------

DEMO_COURSE = ("demo", "Backpropagation, step by step")
# (username, name, role in the course); a TA's account is a student's, with the "ta" role in the course only.
DEMO_USERS = (("demo-student", "Demo Student", "student"), ("demo-ta", "Demo TA", "ta"),
              ("demo-instructor", "Demo Instructor", "instructor"))
# Teaching order by slug prefix: gates, one neuron, small networks, losses and Jacobians, then code.
DEMO_ORDER = ("gate-", "single-neuron", "branch-", "seed-", "two-layer", "chain-", "three-layer", "tanh-",
              "leaky-", "linear-", "softmax-", "jacobian-", "code-")
DEMO_SOLUTIONS_ALWAYS = ("gate-add", "single-neuron")  # worked solutions students can open at once
DEMO_PER_WEEK = 4
DEMO_ATTEMPTS = {"numeric": 5, "code": 10}


def demo_password(secret_key: str, username: str) -> str:
    """A demo account's password: derived from the instance secret key, so it is stable per installation,
    printable on every run, and never in the repository."""
    digest = hmac.new(secret_key.encode(), f"gradgate-demo-password:{username}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:12]


def _demo_rank(slug: str) -> tuple[int, str]:
    return next((i for i, prefix in enumerate(DEMO_ORDER) if slug.startswith(prefix)), len(DEMO_ORDER)), slug


@click.command("demo")
@click.option("--force", is_flag=True, help="Run even with the production configuration.")
@database_errors
def demo_command(force: bool) -> None:
    """Set up (idempotently) a demo course with the whole catalogue assigned, a student, a TA and an
    instructor, and print their logins. Running it again changes nothing and prints the same logins."""
    if current_app.config["CONFIG_NAME"] == "production" and not force:
        raise click.ClickException("demo accounts do not belong on a production service (production is the "
                                   "default of wsgi.py; GRADGATE_CONFIG=development for a trial), or add --force")
    loaded = _load_valid(_catalogue_dir())
    outcomes = [_store_exercise(exercise) for exercise in loaded]
    course = db.session.scalar(select(Course).where(Course.code == DEMO_COURSE[0]))
    if course is None:
        course = Course(code=DEMO_COURSE[0], title=DEMO_COURSE[1])
        db.session.add(course)
    added = _demo_assignments(course, sorted((e.id for e in loaded), key=_demo_rank))
    logins = [_demo_user(course, *spec) for spec in DEMO_USERS]
    db.session.commit()
    changed = sum(1 for _, outcome, _ in outcomes if outcome != "unchanged")
    total = db.session.scalar(select(func.count()).select_from(Assignment).where(Assignment.course_id == course.id))
    click.echo(f"catalogue: {len(outcomes)} exercises ({changed} created or changed)")
    click.echo(f"course '{course.code}' ({course.title}): {total} assignments ({added} new)")
    click.echo("logins (the passwords derive from this installation's secret key):")
    for username, role, password, note in logins:
        click.echo(f"  {role:<10}  username {username:<16} password {password}{note}")


def _demo_assignments(course: Course, slugs: list[str]) -> int:
    """Assign every catalogue exercise not yet in the course, in teaching order; returns how many were new."""
    db.session.flush()
    assigned = set(db.session.scalars(select(AssignmentItem.exercise_id).join(Assignment).where(
        Assignment.course_id == course.id)))
    exercises = {e.slug: e for e in db.session.scalars(select(Exercise).where(Exercise.slug.in_(slugs)))}
    first_due = utcnow().replace(hour=23, minute=59, second=0, microsecond=0) + timedelta(days=7)
    added = 0
    for position, slug in enumerate(slugs):
        exercise = exercises[slug]
        if exercise.id in assigned:
            continue
        db.session.add(Assignment(
            course=course, exercise=exercise, title=exercise.title,
            due_at=first_due + timedelta(weeks=position // DEMO_PER_WEEK),
            attempt_limit=DEMO_ATTEMPTS.get(exercise.kind, 5), points=10.0,
            solution_policy="always" if slug in DEMO_SOLUTIONS_ALWAYS else "after_due"))
        added += 1
    return added


def _demo_user(course: Course, username: str, name: str, role: str) -> tuple[str, str, str, str]:
    """Create or repair a demo account and its membership; returns (username, role, password, note)."""
    password = demo_password(current_app.config["SECRET_KEY"], username)
    user = db.session.scalar(select(User).where(User.username == username))
    note = ""
    if user is None:
        user = User(username=username, name=name, role="instructor" if role == "instructor" else "student")
        user.set_password(password)
        db.session.add(user)
    elif not user.check_password(password):  # changed since, or the secret key changed: make the login true
        user.set_password(password)
        note = "  (password reset)"
    _enroll(course, user, role)
    return username, role, password, note


def init_app(app: Flask) -> None:
    """Register the command groups."""
    from grader.jobs.cli import jobs_cli
    from grader.regrade_cli import regrade_cli

    for command in (exercises_cli, users_cli, courses_cli, tokens_cli, demo_command, jobs_cli, regrade_cli):
        app.cli.add_command(command)
