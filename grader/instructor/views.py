"""Routes of the instructor workspace (prefix /instructor; see grader.instructor):

    GET  /instructor/                                   the exercise library (search by title, kind, op)
    GET  /instructor/exercises/new, POST                 write a new exercise (YAML editor)
    GET  /instructor/exercises/<id>/edit, POST           edit: a new version (the seed-stability guard first)
    POST /instructor/exercises/validate                  the editor's live check: {ok, errors: [{line, ...}]}
    POST /instructor/exercises/<id>/copy                 make my own copy;  POST .../delete  delete my own
    GET  /instructor/exercises/<id>/versions             who saved what when, a diff of any two; POST restore
    GET  /instructor/exercises/<id>/preview?seed=N       the student view + the worked solution; POST grades
    GET  /instructor/exercises/<id>/check, POST          question tests: the last report; run on N seeds
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.wrappers import Response

from grader import authoring
from grader import exercises as definitions
from grader.errors import ServiceError
from grader.exercises.source import check_source
from grader.exercises.vocabulary import vocabulary
from grader.extensions import login_manager
from grader.instructor import preview as previews
from grader.models import Exercise, Membership, User, db
from grader.web import service_problem, stale_form

bp = Blueprint("instructor", __name__, url_prefix="/instructor")


def _stale(error: CSRFError) -> Any:
    """The editor's live check gets JSON it can show; forms get the page that explains."""
    if request.is_json:
        return jsonify(ok=False, errors=[{"line": 1, "column": None, "path": "(page)",
                                          "message": "this page has expired: reload it (your text is kept only "
                                                     "in the editor: copy it first)"}]), 400
    return stale_form(error)


bp.register_error_handler(CSRFError, _stale)
bp.register_error_handler(ServiceError, service_problem)

STAFF_ROLES = ("instructor", "ta")
CHECK_SEEDS = (20, 100)
NEW_EXERCISE = """id: my-exercise
title: "My exercise"
kind: numeric
version: 1
prompt: |
  A multiply gate computes $z = w \\cdot x$, then $h = \\sigma(z)$. Give $\\partial h/\\partial w$.
inputs:
  x: {shape: [], random: {uniform: [-2.0, 2.0], decimals: 1, nonzero: true}}
params:
  w: {shape: [], random: {uniform: [-2.0, 2.0], decimals: 1, nonzero: true}}
graph:
  - z = mul(w, x)
  - h = sigmoid(z)
ask:
  - {grad: w, label: "dh/dw"}
"""


def workspace_role(user: Any) -> str | None:
    """admin, instructor or ta (a TA of some course): who may open the workspace; None for everyone else."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.role in ("admin", "instructor"):
        return user.role
    staff = db.session.scalar(select(Membership.id).where(Membership.user_id == user.id,
                                                          Membership.role.in_(STAFF_ROLES)).limit(1))
    return "ta" if staff is not None else None


@bp.app_context_processor
def _header_link() -> dict[str, Any]:
    """`staff_workspace()` for the header's link to the workspace (asked only where a page renders it)."""
    def staff_workspace() -> bool:
        key = getattr(current_user, "id", None)  # keyed by user: tests share one app context between users
        cached = g.get("workspace_role")
        if cached is None or cached[0] != key:
            cached = g.workspace_role = (key, workspace_role(current_user))
        return cached[1] is not None

    return {"staff_workspace": staff_workspace}


@bp.before_request
def _staff_only() -> Response | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if workspace_role(current_user) is None:
        abort(404)  # no hint that the workspace exists
    typed = (*request.args.items(multi=True), *request.form.items(multi=True))
    if "\x00" in request.path or any("\x00" in value for _, value in typed):
        # no field stores a NUL and PostgreSQL cannot even compare one: refused here, as the API does
        abort(400, "NUL bytes are not allowed in the address or the form")
    return None


def _may_write() -> bool:
    """TAs see everything but do not change exercises."""
    return workspace_role(current_user) in ("admin", "instructor")


def _require_write() -> None:
    """A TA (a student account staffing a course) is told why, rather than a bare 403 or the owner rule's
    advice to make a copy, which they may not do either."""
    if not _may_write():
        raise ServiceError(403, "forbidden", "TAs see the exercises but do not write, change, copy, delete or "
                           "restore them: ask an instructor of the course")


def _exercise_or_404(slug: str, *, solutions: bool = True) -> Exercise:
    """The exercise, if the user may open it here; with `solutions` (its definition, preview, versions), not
    if they take it as a student somewhere (403 says why)."""
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    if exercise is None or exercise.deleted or not authoring.may_see(current_user, exercise):
        abort(404)
    if solutions:
        authoring.require_not_a_student_of(current_user, exercise)
    return exercise


@bp.get("/")
def library() -> str:
    q, kind, op = (request.args.get(k, "").strip()[:100] for k in ("q", "kind", "op"))
    rows = authoring.library(current_user, q=q, kind=kind, op=op)
    return render_template("instructor/library.html", rows=rows, q=q, kind=kind, op=op, may_write=_may_write(),
                           ops=vocabulary()["ops"])


def _editor(source: str, *, exercise: Exercise | None, errors: list[Any] | None = None,
            stability: authoring.Stability | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("instructor/editor.html", source=source, exercise=exercise, errors=errors or [],
                           stability=stability, vocabulary=vocabulary(), may_write=_may_write()), status


@bp.get("/exercises/new")
def new() -> tuple[str, int]:
    _require_write()
    return _editor(NEW_EXERCISE, exercise=None)


@bp.post("/exercises/new")
def create() -> Response | tuple[str, int]:
    return _save(None)


@bp.get("/exercises/<slug>/edit")
def edit(slug: str) -> tuple[str, int]:
    exercise = _exercise_or_404(slug)
    return _editor(authoring.source_of(exercise.current), exercise=exercise)


@bp.post("/exercises/<slug>/edit")
def update(slug: str) -> Response | tuple[str, int]:
    return _save(_exercise_or_404(slug))


def _save(exercise: Exercise | None) -> Response | tuple[str, int]:
    _require_write()
    source = request.form.get("definition", "")
    report = check_source(source)
    if report.errors:
        return _editor(source, exercise=exercise, errors=report.errors, status=422)
    try:
        authoring.validated(report.document)  # the size and the draws, before any student's variant is drawn
        if exercise is not None:
            authoring.require_may_change(current_user, exercise)
            stability = authoring.seed_stability(exercise, report.document)
            if stability.changed and request.form.get("confirm") != stability.token:
                return _editor(source, exercise=exercise, stability=stability, status=409)
        saved, changed = authoring.save_checked(report.document, current_user, source=source, existing=exercise)
    except definitions.DefinitionError as exc:  # e.g. no seed draws usable numbers
        return _editor(source, exercise=exercise, errors=report.locate_errors(exc.errors), status=422)
    except ServiceError as exc:
        if exc.status != 422:
            raise
        lines = [f"{path.removeprefix('definition.')}: {m}" for path, ms in exc.errors.items() for m in ms]
        return _editor(source, exercise=exercise, errors=report.locate_errors(lines or [exc.message]), status=422)
    if not changed:
        flash("Nothing changed: no new version.", "info")
    else:
        checks = saved.current.checks or {}
        verdict = "question tests passed" if checks.get("passed") else \
            "question tests FAILED: it is a draft and cannot be assigned until they pass"
        flash(f"Saved version {saved.current_version} ({verdict}).", "info" if checks.get("passed") else "error")
    return redirect(url_for("instructor.edit", slug=saved.slug))


@bp.post("/exercises/validate")
def validate() -> Response:
    body = request.get_json(silent=True)
    source = body.get("source") if isinstance(body, dict) else None
    if not isinstance(source, str):
        return jsonify(ok=False, errors=[{"line": None, "column": None, "path": "source",
                                          "message": "send {\"source\": \"<the YAML text>\"}"}]), 400
    report = check_source(source)
    return jsonify(ok=report.ok, errors=[e.to_dict() for e in report.errors])


@bp.post("/exercises/<slug>/copy")
def copy(slug: str) -> Response:
    _require_write()
    exercise = _exercise_or_404(slug)  # a copy holds the solutions too
    mine = re.sub(r"[^a-z0-9]+", "-", current_user.username.lower()).strip("-") or "copy"
    new_id = (request.form.get("new_id") or f"{slug}-{mine}").strip()
    try:
        saved = authoring.copy_exercise(exercise, current_user, new_id)
    except definitions.DefinitionError as exc:
        flash(f"Not copied: {'; '.join(exc.errors)}.", "error")
        return redirect(url_for("instructor.library"))
    flash(f"Copied to {saved.slug}: it is yours to edit.", "info")
    return redirect(url_for("instructor.edit", slug=saved.slug))


@bp.post("/exercises/<slug>/delete")
def delete(slug: str) -> Response:
    exercise = _exercise_or_404(slug)
    _require_write()
    authoring.delete_exercise(exercise, current_user)
    flash(f"Deleted {slug} (its versions and submissions are kept).", "info")
    return redirect(url_for("instructor.library"))


@bp.get("/exercises/<slug>/versions")
def versions(slug: str) -> str:
    exercise = _exercise_or_404(slug)
    numbers = sorted(v.version for v in exercise.versions)
    a = request.args.get("a", type=int) or (numbers[-2] if len(numbers) > 1 else numbers[-1])
    b = request.args.get("b", type=int) or numbers[-1]
    diff = authoring.diff_versions(exercise, a, b)
    return render_template("instructor/versions.html", exercise=exercise, diff=diff, a=a, b=b,
                           rows=sorted(exercise.versions, key=lambda v: -v.version), may_write=_may_write())


@bp.post("/exercises/<slug>/versions/<int(max=100000):number>/restore")
def restore(slug: str, number: int) -> Response:
    exercise = _exercise_or_404(slug)
    _require_write()
    try:
        authoring.restore_version(exercise, number, current_user)
    except definitions.DefinitionError as exc:  # an old version today's checks refuse (e.g. too large)
        flash(f"Version {number} cannot be restored: {'; '.join(exc.errors)}.", "error")
        return redirect(url_for("instructor.versions", slug=slug))
    flash(f"Version {number} restored as version {exercise.current_version}.", "info")
    return redirect(url_for("instructor.versions", slug=slug))


@bp.route("/exercises/<slug>/preview", methods=["GET", "POST"])
def preview(slug: str) -> str:
    exercise = _exercise_or_404(slug)
    return previews.render(exercise, current_user)


@bp.get("/exercises/<slug>/check")
def check(slug: str) -> str:
    exercise = _exercise_or_404(slug, solutions=False)
    return render_template("instructor/check.html", exercise=exercise, report=exercise.current.checks,
                           seeds_choices=CHECK_SEEDS)


@bp.post("/exercises/<slug>/check")
def run_check(slug: str) -> str:
    exercise = _exercise_or_404(slug, solutions=False)
    raw = request.form.get("seeds", "")
    if raw not in {str(n) for n in CHECK_SEEDS}:
        raise ServiceError(422, "invalid", f"seeds must be one of {', '.join(map(str, CHECK_SEEDS))}",
                           {"seeds": ["not one of the choices"]})
    report = authoring.check_stored(exercise, int(raw), current_user)
    return render_template("instructor/check.html", exercise=exercise, report=report, seeds_choices=CHECK_SEEDS)


def students_of(user: User) -> list[User]:
    """The students of every course where `user` teaches (admins: everyone's), for "as <student> sees it"."""
    taught = select(Membership.course_id).where(Membership.user_id == user.id, Membership.role.in_(STAFF_ROLES))
    query = select(User).join(Membership, Membership.user_id == User.id).where(Membership.role == "student")
    if user.role != "admin":
        query = query.where(Membership.course_id.in_(taught))
    return list(db.session.scalars(query.distinct().order_by(User.username).limit(2000)))
