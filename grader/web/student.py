"""Student pages: courses, an exercise with the student's own graph, feedback in place, history.

Routes (all need a signed-in user; someone outside the course gets 404, never a hint the page exists):

    GET  /                                  the user's courses (straight to the course when there is one)
    GET  /courses/<id>                      assignments with status, best score, attempts left, due date
    GET  /assignments/<id>                  the exercise: prompt, graph, answer form
    POST /assignments/<id>                  submit (plain form post) -> 303 to the submission's page
    GET  /submissions/<id>                  the exercise page with that submission's feedback (PRG: a refresh
                                            shows the feedback again instead of submitting again)
    GET  /assignments/<id>/history          every attempt with its answer, score and feedback

Grading and storing is grader.service's job; these views turn form fields into its `answers`/`code` and its
result into templates.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.wrappers import Response

from grader import authoring, service
from grader import exercises as definitions
from grader.models import Assignment, Course, Membership, Submission, db, utcnow
from grader.service import ServiceError
from grader.web import service_problem, stale_form, too_many_requests
from grader.web.given import given_tensors
from grader.web.graph_svg import render_graph

bp = Blueprint("student", __name__)
bp.register_error_handler(429, too_many_requests)
bp.register_error_handler(CSRFError, stale_form)
bp.register_error_handler(ServiceError, service_problem)

GRID_MAX_ENTRIES = 100  # larger answers get only the paste box (a wall of boxes helps nobody)

_markdown = MarkdownIt("commonmark", {"html": False})  # raw HTML in a prompt is shown as text, never run
# $$display$$ first, then $inline$ (may wrap lines, as prompts do); \$ is a literal dollar.
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)((?:\\.|[^$\\])+?)\$", re.DOTALL)


def render_prompt(text: str) -> Markup:
    """Markdown to HTML with the math left intact for KaTeX's auto-render in the browser.

    Markdown would eat `\\\\` line breaks, `\\{` and turn `_..._` into emphasis inside formulas, so math spans
    are swapped for inert placeholders before rendering and put back (HTML-escaped, delimiters kept) after."""
    spans: list[str] = []

    def stash(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\ue000{len(spans) - 1}\ue001"

    def unstash(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return str(escape(spans[n])) if n < len(spans) else ""

    text = re.sub("[\ue000-\ue002]", "", text)
    # A literal dollar (\$) outside math: markdown would unescape it to a bare $ that KaTeX then pairs with the
    # next one; in a span of its own it is a text node KaTeX never pairs.
    html = _markdown.render(_MATH.sub(stash, text).replace("\\$", "\ue002"))
    html = re.sub("\ue000(\\d+)\ue001", unstash, html).replace("\ue002", '<span class="dollar">$</span>')
    return Markup(html)  # markdown-it escaped the text, the math was escaped above


_D_OVER_D = re.compile(r"^d(\w+?)/d([A-Za-z]+\d*)(?:_(\d+))?$")


def label_tex(label: str) -> str:
    """An ask's label as KaTeX input: "dL/dW1_22" -> "\\partial L/\\partial W1_{22}"; a label that is already
    TeX (the default labels) is kept; anything else is shown as plain text (returned without $...$)."""
    match = _D_OVER_D.match(label)
    if match:
        num, den, sub = match.groups()
        return f"$\\partial {num}/\\partial {den}" + (f"_{{{sub}}}" if sub else "") + "$"
    if "\\" in label:
        return f"${label}$"
    return label


def label_plain(label: str) -> str:
    """A TeX label as readable plain text for aria-labels: "\\partial L / \\partial W1_{22}" -> "∂L / ∂W1_22"."""
    text = re.sub(r"\\text\{([^}]*)\}", r"\1", label).replace("\\partial ", "∂").replace("\\partial", "∂")
    return re.sub(r"[{}\\]", "", text)


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, int | float):
        try:
            return repr(float(x))
        except OverflowError:  # an int too large for a float (the API stores answers as sent)
            return str(x)
    return str(x)


# --- answer inputs ---------------------------------------------------------------------------------------

@dataclass
class AskView:
    """One ask as the form shows it, with what was typed and how it was marked (on a submission's page)."""

    index: int
    label: str
    shape: tuple[int, ...]
    input: str  # "scalar", "grid" or "paste"
    rows: int = 1
    cols: int = 1
    value: str = ""  # scalar box
    cells: list[list[str]] = field(default_factory=list)
    marks: list[list[bool | None]] = field(default_factory=list)
    mark: bool | None = None  # scalar
    paste: str = ""
    bad_cell: tuple[int, int] | None = None  # (row, col), 0-based, of the entry a format error points at
    part: dict[str, Any] | None = None
    text: str = ""  # the label as plain text, for aria-labels and history

    @property
    def shape_words(self) -> str:
        if not self.shape or int(np.prod(self.shape)) == 1:
            return "a single number"
        return "×".join(map(str, self.shape)) + (" matrix" if len(self.shape) == 2 else "")


def _grid_dims(shape: tuple[int, ...]) -> tuple[int, int]:
    return (shape[0], shape[1]) if len(shape) == 2 else (1, shape[0])


def ask_views(exercise: definitions.Exercise, variant: definitions.Variant,
              answers: dict[str, Any] | None = None, parts: list[dict[str, Any]] | None = None) -> list[AskView]:
    views = []
    for i, ask in enumerate(exercise.asks):
        shape = tuple(int(n) for n in np.shape(variant.expected(ask)))  # the shape only, never the numbers
        size = int(np.prod(shape)) if shape else 1
        if size == 1:
            kind = "scalar"
        elif len(shape) <= 2 and size <= GRID_MAX_ENTRIES:
            kind = "grid"
        else:
            kind = "paste"
        tex = label_tex(ask.label)
        view = AskView(i, tex, shape, kind, text=label_plain(tex.strip("$")))  # what a screen reader says
        if kind == "grid":
            view.rows, view.cols = _grid_dims(shape)
            view.cells = [[""] * view.cols for _ in range(view.rows)]
            view.marks = [[None] * view.cols for _ in range(view.rows)]
        part = parts[i] if parts and i < len(parts) else None
        view.part = part
        _fill(view, (answers or {}).get(str(i)), part)
        views.append(view)
    return views


def _fill(view: AskView, raw: Any, part: dict[str, Any] | None) -> None:
    """Put a submission's answer back into the boxes: the numbers as read where they were readable (so a
    pasted matrix shows up in the grid with its marks), else the text as typed, in the box it came from."""
    given = part.get("given") if part else None
    marks = part.get("marks") if part else None
    if view.input == "scalar":
        if given is not None and np.size(given):
            view.value = _fmt(np.ravel(given)[0])
            view.mark = bool(np.ravel(marks)[0]) if marks is not None and np.size(marks) else None
        elif isinstance(raw, list):
            flat = np.ravel(np.array(raw, dtype=object)) if raw else []
            view.value = _fmt(flat[0]) if len(flat) else ""
        else:
            view.value = _fmt(raw)
        return
    if view.input == "grid":
        source = given if given is not None else raw
        if isinstance(source, list):
            try:
                cells = np.array(source, dtype=object).reshape(view.rows, view.cols)
                view.cells = [[_fmt(c) for c in row] for row in cells]
            except ValueError:
                view.paste = str(raw)
            if given is not None and marks is not None:
                with contextlib.suppress(ValueError):  # marks of another shape: show the cells unmarked
                    view.marks = np.array(marks, dtype=object).reshape(view.rows, view.cols).tolist()
        elif raw is not None:
            view.paste = str(raw)
        error = part.get("format_error") if part else None
        if error and isinstance(raw, list) and error.get("column"):
            row = (error.get("row") or 1) - 1 if len(view.shape) == 2 else 0
            view.bad_cell = (row, error["column"] - 1)
        return
    view.paste = "" if raw is None else str(raw)


def answers_from_form(views: list[AskView], form: Any) -> dict[str, Any]:
    """{str(i): text or nested list of texts}, as service.submit takes them. A non-empty paste box wins over
    the grid; a grid is sent as rows of strings, so the reader can say which entry it could not read."""
    answers: dict[str, Any] = {}
    for view in views:
        key = str(view.index)
        paste = form.get(f"paste-{view.index}", "").strip()
        if view.input == "scalar":
            answers[key] = form.get(f"answer-{view.index}", "")
        elif paste or view.input == "paste":
            answers[key] = paste
        else:
            rows = [[form.get(f"answer-{view.index}-{r}-{c}", "").strip() for c in range(view.cols)]
                    for r in range(view.rows)]
            answers[key] = rows if len(view.shape) == 2 else rows[0]
    return answers


def shown_parts(feedback: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The parts of a submission's feedback the page shows. A submission that was not graded (a format error
    somewhere, no attempt used) shows only where it could not be read: marking its other answers would let a
    student check answers for free by leaving one box unreadable on purpose."""
    if not feedback:
        return []
    parts = feedback.get("parts", [])
    if feedback.get("status") == "graded":
        return parts
    return [{"index": p.get("index"), "label": p.get("label"), "status": p.get("status"), "message": "",
             "score": 0.0, "format_error": p.get("format_error"), "diagnosis": None, "expected": None,
             "given": None, "marks": None, "follow_through": False, "details": {}}
            for p in parts]


# --- access ----------------------------------------------------------------------------------------------

def _assignment_or_404(assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    try:
        service.require_student_access(current_user, assignment)
    except ServiceError:
        abort(404)
    return assignment


def _course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or service.course_role(current_user, course) is None:
        abort(404)
    return course


def _visible_assignments(course: Course) -> list[Assignment]:
    instructor = service.course_role(current_user, course) == "instructor"
    return sorted((a for a in course.assignments if a.visible or instructor),
                  key=lambda a: (a.due_at is None, a.due_at or datetime.max, a.id))


def _past_due(assignment: Assignment, now: datetime) -> bool:
    return assignment.due_at is not None and now > assignment.due_at


def assignment_status(assignment: Assignment, left: int | None, best: float | None, now: datetime) -> str:
    used = service.graded_attempts(current_user, assignment)
    if used and (left == 0 or (best is not None and best >= assignment.points - 1e-9)):
        return "done"
    if _past_due(assignment, now) and assignment.late_policy == "reject":
        return "past due"
    return "in progress" if used else "not started"


# --- pages -----------------------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index() -> str | Response:
    courses = db.session.scalars(select(Course).join(Membership).where(Membership.user_id == current_user.id)
                                 .order_by(Course.code)).all()
    if len(courses) == 1:
        return redirect(url_for("student.course", course_id=courses[0].id))
    return render_template("courses.html", courses=courses)


@bp.get("/courses/<int(max=2147483647):course_id>")
@login_required
def course(course_id: int) -> str:
    course = _course_or_404(course_id)
    now = utcnow()
    rows = []
    for assignment in _visible_assignments(course):
        left = service.attempts_left(current_user, assignment)
        best = service.assignment_score(current_user, assignment)
        rows.append({"assignment": assignment, "left": left, "best": best,
                     "status": assignment_status(assignment, left, best, now)})
    return render_template("course.html", course=course, rows=rows)


def _exercise_page(assignment: Assignment, submission: Submission | None = None) -> str:
    if submission is not None:  # the version and numbers it was graded against
        exercise = authoring.definition_of(submission.exercise_version)
        variant = definitions.make_variant(exercise, submission.seed)
    else:
        _, variant = service.variant_for(current_user, assignment.exercise)
        exercise = variant.exercise
    feedback = service.feedback_for(submission, current_user) if submission is not None else None
    parts = shown_parts(feedback)
    highlight = sorted({gate for p in parts if p.get("diagnosis") for gate in p["diagnosis"].get("gates", [])})
    svg = render_graph(exercise, variant, highlight=highlight)
    width = re.search(r'viewBox="0 0 ([\d.]+)', svg)
    now = utcnow()
    return render_template(
        "exercise.html",
        assignment=assignment,
        exercise=exercise,
        prompt=render_prompt(exercise.prompt),
        # Trusted markup: produced by our own code from the definition, with every text escaped there.
        graph=Markup(svg),
        graph_width=float(width.group(1)) if width else 600.0,  # so a wide graph scrolls instead of shrinking
        highlight=highlight,
        asks=ask_views(exercise, variant, submission.answers if submission else None, parts)
        if exercise.kind == "numeric" else [],
        given=given_tensors(exercise, variant) if exercise.kind == "numeric" else [],
        code=(submission.code if submission is not None and submission.code is not None
              else exercise.function.starter if exercise.function else ""),
        submission=submission,
        # The version whose numbers this page shows, sent back with the form (see service.submit).
        version=submission.exercise_version.version if submission is not None else assignment.exercise.current_version,
        feedback=feedback,
        parts=parts,
        attempts_left=service.attempts_left(current_user, assignment),
        best=service.assignment_score(current_user, assignment),
        past_due=_past_due(assignment, now) and assignment.late_policy == "reject",
        label_tex=label_tex,
    )


@bp.get("/assignments/<int(max=2147483647):assignment_id>")
@login_required
def exercise(assignment_id: int) -> str:
    return _exercise_page(_assignment_or_404(assignment_id))


@bp.post("/assignments/<int(max=2147483647):assignment_id>")
@login_required
def submit(assignment_id: int) -> Response | tuple[str, int, dict[str, str]]:
    assignment = _assignment_or_404(assignment_id)
    shown = request.form.get("version", "")
    # The version the page showed (ASCII digits only: "²".isdigit() is true, and int() refuses it).
    seen_version = int(shown) if shown.isascii() and shown.isdecimal() and len(shown) < 10 else None
    try:
        if assignment.exercise.kind == "code":
            submission = service.submit(current_user, assignment, code=request.form.get("code", ""),
                                        seen_version=seen_version)
        else:
            _, variant = service.variant_for(current_user, assignment.exercise)
            answers = answers_from_form(ask_views(variant.exercise, variant), request.form)
            submission = service.submit(current_user, assignment, answers=answers, seen_version=seen_version)
    except ServiceError as exc:
        if exc.status == 429:  # a page of its own: going back keeps what was typed
            return render_template("too_many.html", limit=current_app.config["SUBMIT_RATE_LIMIT"]), 429, exc.headers
        flash(f"Not submitted: {exc.message}.", "error")
        return redirect(url_for("student.exercise", assignment_id=assignment.id), code=303)
    return redirect(url_for("student.submission", submission_id=submission.id), code=303)


@bp.get("/submissions/<int(max=2147483647):submission_id>")
@login_required
def submission(submission_id: int) -> str:
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.user_id != current_user.id:
        abort(404)
    assignment = _assignment_or_404(submission.assignment_id)
    return _exercise_page(assignment, submission)


@bp.get("/assignments/<int(max=2147483647):assignment_id>/history")
@login_required
def history(assignment_id: int) -> str:
    assignment = _assignment_or_404(assignment_id)
    submissions = db.session.scalars(select(Submission).where(
        Submission.assignment_id == assignment.id, Submission.user_id == current_user.id)
        .order_by(Submission.created_at.desc(), Submission.id.desc())).all()
    return render_template("history.html", assignment=assignment, submissions=submissions,
                           attempts_left=service.attempts_left(current_user, assignment), label_tex=label_tex,
                           shown_parts=shown_parts)
