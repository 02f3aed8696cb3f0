"""Student pages: courses, an exercise with the student's own graph, feedback in place, history.

Routes (all need a signed-in user; someone outside the course gets 404, never a hint the page exists):

    GET  /                                  the user's courses (straight to the course when there is one)
    GET  /courses/<id>                      assignments with status, best score, attempts left, due date
    GET  /assignments/<id>                  a problem set of several exercises: its exercises with their status,
                                            points and attempts left; a set of one: its exercise, as below
    GET  /assignments/<id>/exercises/<n>    the set's n-th exercise: prompt, graph, answer form
    POST /assignments/<id>[/exercises/<n>]  submit (plain form post) -> 303 to the submission's page
    GET  /submissions/<id>                  the exercise page with that submission's feedback (PRG: a refresh
                                            shows the feedback again instead of submitting again). The course's
                                            instructors and TAs read any of its submissions there, as its
                                            student saw it, with no way to submit as them
    POST /assignments/<id>[/exercises/<n>]/precheck   a code exercise's "Check on the example": the page again with the
                                            result (or only the result, for the page's script); nothing stored
    GET  /assignments/<id>/history          every attempt with its answer, score and feedback

Grading and storing is grader.service's job; these views turn form fields into its `answers`/`code` and its
result into templates.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from grader import authoring, precheck, service
from grader import exercises as definitions
from grader.models import Assignment, AssignmentItem, Course, Membership, Submission, User, db, utcnow
from grader.service import ServiceError
from grader.service.queued import QUEUED
from grader.web import service_problem, stale_form, too_many_requests
from grader.web.answers import answers_from_form, ask_views, label_tex, part_message, render_prompt, shown_parts
from grader.web.given import example_tables, given_tensors
from grader.web.graph_svg import render_graph

__all__ = ["bp", "render_prompt"]

bp = Blueprint("student", __name__)
STAFF_ROLES = ("instructor", "ta")  # who read any submission of their course (admins count as instructors)
bp.register_error_handler(429, too_many_requests)
bp.register_error_handler(CSRFError, stale_form)
bp.register_error_handler(ServiceError, service_problem)
bp.add_app_template_global(part_message, "part_message")

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
    return service.in_order([a for a in course.assignments if (a.visible and not a.archived) or instructor])


def _past_due(assignment: Assignment, now: datetime, student: User | None = None) -> bool:
    """Past the due date that holds for the student (the signed-in one unless said; their override's, else the
    set's)."""
    due = service.due_for(student or current_user, assignment)
    return due is not None and now > due


def due_view(assignment: Assignment, student: User | None = None) -> dict[str, Any]:
    """The due date a page shows: the student's own where an override moved it (said as "your due date"),
    and their extra attempts. `student`: whose (the signed-in user unless said)."""
    override = service.override_for(student or current_user, assignment)
    return {"at": service.due_date(assignment, override), "own": override is not None and override.due_at is not None,
            "extra": override.extra_attempts if override is not None else 0}


def _item_or_404(assignment: Assignment, position: int | None) -> AssignmentItem:
    """The set's exercise at `position` (1, 2, ...); None names the only exercise of a set of one."""
    if position is None:
        item = assignment.single
    else:
        item = next((i for i in assignment.items if i.position == position), None)
    if item is None:
        abort(404)
    return item


def counted_submission(item: AssignmentItem) -> Submission | None:
    """The graded attempt an exercise's score comes from (best or last, as service.assignment_score counts),
    so a page can say how it was earned (its score, and any late penalty)."""
    assignment = item.assignment
    query = select(Submission).where(Submission.item_id == item.id,
                                     Submission.user_id == current_user.id, Submission.attempt.is_not(None))
    order = ((Submission.attempt.desc(),) if assignment.scoring == "last"
             # a queued attempt has no points yet: PostgreSQL sorts NULL first in DESC, so say last
             else (Submission.points.desc().nulls_last(), Submission.attempt.desc()))
    return db.session.scalar(query.order_by(*order).limit(1))


def late_penalty(submission: Submission | None) -> float:
    """The share of the points a graded submission lost for being late (0 when on time or late without one)."""
    if submission is None or not submission.late or submission.attempt is None:
        return 0.0
    assignment = submission.assignment
    return assignment.late_penalty if assignment.late_policy == "penalty" else 0.0


bp.add_app_template_global(late_penalty, "late_penalty")


def item_rows(assignment: Assignment, now: datetime) -> list[dict[str, Any]]:
    """Each exercise of the set with what the student has left there and how they stand."""
    rows = []
    for item in assignment.items:
        left = service.attempts_left(current_user, item)
        counted = counted_submission(item)
        rows.append({"item": item, "left": left, "counted": counted, "late_penalty": late_penalty(counted),
                     "status": assignment_status(assignment, left, counted, now)})
    return rows


def set_status(rows: list[dict[str, Any]]) -> str:
    """A set's status from its exercises': done when all are, not started when none is."""
    statuses = {row["status"] for row in rows}
    if len(statuses) == 1:
        return statuses.pop()
    return "not started" if all(row["counted"] is None for row in rows) else "attempted"


def assignment_status(assignment: Assignment, left: int | None, counted: Submission | None, now: datetime) -> str:
    """"done" only when nothing more can be earned by working on it: every answer right. Out of attempts
    short of that is said as such, not "done"."""
    if counted is not None and (counted.score or 0.0) >= 1 - 1e-9:
        return "done"
    if left == 0:
        return "no attempts left"
    if _past_due(assignment, now) and assignment.late_policy == "reject":
        return "past due"
    return "attempted" if counted is not None else "not started"


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
        items = item_rows(assignment, now)
        due = due_view(assignment)
        if len(items) == 1:  # a set of one reads as its exercise, as every assignment did before sets
            rows.append({"assignment": assignment, **items[0], "exercises": 1, "earned": None, "due": due})
            continue
        scored = [row["counted"].points or 0.0 for row in items if row["counted"] is not None]
        rows.append({"assignment": assignment, "exercises": len(items), "counted": None, "late_penalty": 0.0,
                     "earned": round(sum(scored), 6) if scored else None, "status": set_status(items),
                     "left": None, "open": sum(1 for row in items if row["status"] not in ("done",)), "due": due})
    return render_template("course.html", course=course, rows=rows)


def _problem_set_page(assignment: Assignment) -> str:
    """A set of several exercises: each with its status, points and attempts left, and the set's total."""
    now = utcnow()
    return render_template("problem_set.html", assignment=assignment, rows=item_rows(assignment, now),
                           due=due_view(assignment),
                           best=service.assignment_score(current_user, assignment),
                           past_due=_past_due(assignment, now) and assignment.late_policy == "reject")


def _exercise_page(item: AssignmentItem, submission: Submission | None = None,
                   check: precheck.Precheck | None = None, code: str | None = None) -> str:
    """The exercise, with a submission's feedback, or with a check on the example of `code` (as typed). A
    submission is shown as its owner sees it (their feedback, attempts and due date), also to the course's
    staff, who get a banner saying whose it is and no submit button."""
    assignment = item.assignment
    owner = db.session.get(User, submission.user_id) if submission is not None else current_user
    staff_view = owner.id != current_user.id
    if submission is not None:  # the version and numbers it was graded against
        exercise = authoring.definition_of(submission.exercise_version)
        variant = definitions.make_variant(exercise, submission.seed)
    else:
        _, variant = service.variant_for(current_user, item.exercise)
        exercise = variant.exercise
    feedback = service.feedback_for(submission, owner) if submission is not None else None
    parts = shown_parts(feedback)
    diagnoses = [p.get("diagnosis") for p in parts] + [(feedback or {}).get("diagnosis")]
    highlight = sorted({gate for d in diagnoses if isinstance(d, dict) for gate in d.get("gates") or []})
    svg = render_graph(exercise, variant, highlight=highlight)
    width = re.search(r'viewBox="0 0 ([\d.]+)', svg)
    now = utcnow()
    return render_template(
        "exercise.html",
        assignment=assignment,
        item=item,
        # None for a set of one: its exercise keeps the assignment's own address
        position=None if assignment.single is not None else item.position,
        exercise=exercise,
        prompt=render_prompt(exercise.prompt),
        # Trusted markup: produced by our own code from the definition, with every text escaped there.
        graph=Markup(svg),
        graph_width=float(width.group(1)) if width else 600.0,  # so a wide graph scrolls instead of shrinking
        highlight=highlight,
        asks=ask_views(exercise, variant, submission.answers if submission else None, parts)
        if exercise.kind == "numeric" else [],
        given=given_tensors(exercise, variant) if exercise.kind == "numeric" else [],
        code=code if code is not None else (submission.code if submission is not None and submission.code is not None
                                            else exercise.function.starter if exercise.function else ""),
        code_error=_code_error(parts, check),
        check=check,
        example=example_tables(check) if check is not None else None,
        submission=submission,
        grading=submission is not None and submission.status == QUEUED,  # a grading worker has it
        # The version whose numbers this page shows, sent back with the form (see service.submit).
        version=submission.exercise_version.version if submission is not None else item.exercise.current_version,
        feedback=feedback,
        parts=parts,
        attempts_left=service.attempts_left(owner, item),
        best=service.item_scores(owner, assignment).get(item.id),
        past_due=_past_due(assignment, now, owner) and assignment.late_policy == "reject",
        due=due_view(assignment, owner),
        label_tex=label_tex,
        owner=owner if staff_view else None,
    )


def _code_error(parts: list[dict[str, Any]], check: precheck.Precheck | None) -> dict[str, Any] | None:
    """The format error (syntax, a module that cannot be imported) shown under the editor, from a submission
    or a check on the example alike."""
    part = (check.part if check is not None else parts[0] if parts else None) or {}
    return part.get("format_error")


EXERCISE = "/assignments/<int(max=2147483647):assignment_id>/exercises/<int(max=1000):position>"


@bp.get("/assignments/<int(max=2147483647):assignment_id>")
@bp.get(EXERCISE)
@login_required
def exercise(assignment_id: int, position: int | None = None) -> str:
    assignment = _assignment_or_404(assignment_id)
    if position is None and assignment.single is None:
        return _problem_set_page(assignment)
    return _exercise_page(_item_or_404(assignment, position))


@bp.post("/assignments/<int(max=2147483647):assignment_id>")
@bp.post(EXERCISE)
@login_required
def submit(assignment_id: int, position: int | None = None) -> Response | tuple[str, int, dict[str, str]]:
    assignment = _assignment_or_404(assignment_id)
    item = _item_or_404(assignment, position)
    back = url_for("student.exercise", assignment_id=assignment.id, position=position)
    shown = request.form.get("version", "")
    # The version the page showed (ASCII digits only: "²".isdigit() is true, and int() refuses it).
    seen_version = int(shown) if shown.isascii() and shown.isdecimal() and len(shown) < 10 else None
    try:
        slug = item.exercise.slug
        if item.exercise.kind == "code":
            submission = service.submit(current_user, assignment, exercise=slug, code=request.form.get("code", ""),
                                        seen_version=seen_version)
        else:
            _, variant = service.variant_for(current_user, item.exercise)
            answers = answers_from_form(ask_views(variant.exercise, variant), request.form)
            submission = service.submit(current_user, assignment, exercise=slug, answers=answers,
                                        seen_version=seen_version)
    except ServiceError as exc:
        if exc.status == 429:  # a page of its own: going back keeps what was typed
            return render_template("too_many.html", limit=current_app.config["SUBMIT_RATE_LIMIT"]), 429, exc.headers
        flash(f"Not submitted: {exc.message}.", "error")
        return redirect(back, code=303)
    return redirect(url_for("student.submission", submission_id=submission.id), code=303)


FRAGMENT = {"X-Precheck": "1"}  # tells the script the answer is a check's result (not a sign-in or error page)


@bp.post("/assignments/<int(max=2147483647):assignment_id>/precheck")
@bp.post(EXERCISE + "/precheck")
@login_required
def check_example(assignment_id: int, position: int | None = None) -> str | Response | tuple[str, int, dict[str, str]]:
    """Run the typed code on the example. Without the script: the exercise page again, with the code as typed
    and the result under the buttons. The script asks for the result alone (X-Requested-With: fetch) and puts
    it in place. Nothing is stored either way, so there is no redirect."""
    assignment = _assignment_or_404(assignment_id)
    item = _item_or_404(assignment, position)
    code = request.form.get("code", "")
    fragment = request.headers.get("X-Requested-With") == "fetch"
    try:
        check = precheck.precheck(current_user, assignment, code, item=item)
    except ServiceError as exc:
        if fragment:
            return render_template("_precheck.html", problem=exc.message), exc.status, {**FRAGMENT, **exc.headers}
        if exc.status == 429:
            return render_template("too_many.html", limit=current_app.config["SUBMIT_RATE_LIMIT"]), 429, exc.headers
        flash(f"Not checked: {exc.message}.", "error")
        return redirect(url_for("student.exercise", assignment_id=assignment.id, position=position), code=303)
    except ImportError:  # code grading (the sandbox) is not installed in this deployment
        check = precheck.Precheck("error", "Code cannot be run on this server.")
    if fragment:
        return render_template("_precheck.html", check=check, example=example_tables(check)), 200, FRAGMENT
    return _exercise_page(item, check=check, code=code)


@bp.get("/submissions/<int(max=2147483647):submission_id>")
@login_required
def submission(submission_id: int) -> str:
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        abort(404)
    if submission.user_id == current_user.id:
        _assignment_or_404(submission.assignment_id)  # 404 once the set is hidden from its student
    elif service.course_role(current_user, submission.assignment.course) not in STAFF_ROLES:
        abort(404)  # someone else's, and not the course's staff: no hint that it exists
    return _exercise_page(submission.item, submission)


@bp.get("/assignments/<int(max=2147483647):assignment_id>/history")
@login_required
def history(assignment_id: int) -> str:
    assignment = _assignment_or_404(assignment_id)
    submissions = db.session.scalars(select(Submission).where(
        Submission.assignment_id == assignment.id, Submission.user_id == current_user.id)
        .order_by(Submission.created_at.desc(), Submission.id.desc())).all()
    single = assignment.single
    return render_template("history.html", assignment=assignment, submissions=submissions,
                           attempts_left=service.attempts_left(current_user, single) if single else None,
                           label_tex=label_tex, shown_parts=shown_parts)
