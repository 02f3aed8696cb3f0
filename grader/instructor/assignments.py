"""The workspace's problem-set pages (on grader.instructor.views.bp; every change goes through grader.service,
as the API's and the command line's do):

    GET  /instructor/courses/<id>/assignments                    the course's problem sets in order, with counts
    GET  /instructor/courses/<id>/assignments/new, POST          a new set: settings and exercises from the library
    GET  /instructor/assignments/<id>/edit, POST                 its settings, exercises, points, attempts, order
    POST /instructor/assignments/<id>/move                       one place up or down (direction=up|down)
    POST /instructor/assignments/<id>/visibility                 hide from students or show (visible=0|1)
    POST /instructor/assignments/<id>/archive                    archive or unarchive (archived=1|0)
    POST /instructor/assignments/<id>/delete                     refused while it has submissions, unless archived
    GET  /instructor/assignments/<id>/overrides, POST            the exceptions; give students a due date, more
                                                                 days after the set's, and/or extra attempts
    POST /instructor/assignments/<id>/overrides/<username>/remove   back to the set's terms

Course staff see a course's sets; anyone else gets 404 for them. Overrides are grading work: instructors and
TAs give and remove them. Everything else changes the set itself: instructors (and administrators) only, a TA
gets 403.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from grader import authoring, service
from grader.errors import ServiceError
from grader.instructor.set_form import OverrideForm, SetForm, date_value
from grader.instructor.views import STAFF_ROLES, bp
from grader.models import Assignment, Course, Exercise, Membership, User, db

TA_REFUSED = ("only the course's instructors change its problem sets: TAs see them and give overrides "
              "(extensions and extra attempts)")
ASSIGNMENT = "/assignments/<int(max=2147483647):assignment_id>"


def _role(course: Course | None, *, write: bool) -> str:
    role = service.course_role(current_user, course) if course is not None else None
    if role not in STAFF_ROLES:
        abort(404)  # not your course: no hint that it exists
    if write and role != "instructor":
        raise ServiceError(403, "forbidden", TA_REFUSED)
    return role


def _course(course_id: int, *, write: bool = False) -> tuple[Course, str]:
    course = db.session.get(Course, course_id)
    return course, _role(course, write=write)


def _assignment(assignment_id: int, *, write: bool = False) -> tuple[Assignment, str]:
    assignment = db.session.get(Assignment, assignment_id)
    return assignment, _role(assignment.course if assignment is not None else None, write=write)


def _listing(course: Course, role: str, status: int = 200) -> tuple[str, int]:
    return render_template("instructor/assignments/list.html", course=course, rows=service.problem_sets(course),
                           may_write=role == "instructor", date_value=date_value), status


def _to_list(assignment: Assignment, message: str) -> Response:
    flash(message, "info")
    return redirect(url_for("instructor.problem_sets", course_id=assignment.course_id))


@bp.get("/courses/<int(max=2147483647):course_id>/assignments")
def problem_sets(course_id: int) -> tuple[str, int]:
    return _listing(*_course(course_id))


def _choices(form: SetForm) -> list[tuple[str, str]]:
    """The exercises the instructor may assign (drafts left out), and whatever else the form already holds
    (so a re-rendered form shows what was typed)."""
    choices = [(e.slug, f"{e.title} ({e.slug})") for e in authoring.library(current_user)
               if (e.current.checks or {}).get("passed", True)]
    known = {slug for slug, _ in choices}
    held = [row["exercise"] for row in form.rows if row["exercise"] and row["exercise"] not in known]
    titles = dict(db.session.execute(select(Exercise.slug, Exercise.title).where(Exercise.slug.in_(held))).all())
    return choices + [(slug, f"{titles[slug]} ({slug})" if slug in titles else f"{slug} (not in your library)")
                      for slug in dict.fromkeys(held)]


def _form(course: Course, form: SetForm, assignment: Assignment | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("instructor/assignments/form.html", course=course, form=form, assignment=assignment,
                           choices=_choices(form)), status


@bp.get("/courses/<int(max=2147483647):course_id>/assignments/new")
def new_problem_set(course_id: int) -> tuple[str, int]:
    course, _ = _course(course_id, write=True)
    return _form(course, SetForm.blank())


@bp.post("/courses/<int(max=2147483647):course_id>/assignments/new")
def create_problem_set(course_id: int) -> Response | tuple[str, int]:
    course, _ = _course(course_id, write=True)
    form = SetForm.read(request.form)
    if form.errors:
        return _form(course, form, status=422)
    try:
        assignment = service.create_assignment(course, form.items, by=current_user, position=service.next_position(
            course), **form.settings)
    except ServiceError as exc:
        db.session.rollback()
        form.refused(exc)
        return _form(course, form, status=exc.status)
    return _to_list(assignment, f"Created '{assignment.title}': {len(assignment.items)} exercise"
                                f"{'s' if len(assignment.items) != 1 else ''}, {assignment.points:g} points.")


@bp.get(ASSIGNMENT + "/edit")
def edit_problem_set(assignment_id: int) -> tuple[str, int]:
    assignment, _ = _assignment(assignment_id, write=True)
    return _form(assignment.course, SetForm.of(assignment), assignment)


@bp.post(ASSIGNMENT + "/edit")
def update_problem_set(assignment_id: int) -> Response | tuple[str, int]:
    assignment, _ = _assignment(assignment_id, write=True)
    form = SetForm.read(request.form)
    if form.errors:
        return _form(assignment.course, form, assignment, status=422)
    try:
        rescored = service.revise_assignment(assignment, form.items, by=current_user, **form.settings)
    except ServiceError as exc:
        db.session.rollback()
        form.refused(exc)
        return _form(assignment.course, form, assignment, status=exc.status)
    note = f" ({rescored} graded submission{'s' if rescored != 1 else ''} rescored)" if rescored else ""
    return _to_list(assignment, f"Saved '{assignment.title}'{note}.")


@bp.post(ASSIGNMENT + "/move")
def move_problem_set(assignment_id: int) -> Response:
    assignment, _ = _assignment(assignment_id, write=True)
    direction = request.form.get("direction", "")
    if direction not in ("up", "down"):
        raise ServiceError(422, "validation_error", "direction must be up or down", {"direction": ["up or down"]})
    moved = service.move_assignment(assignment, -1 if direction == "up" else 1)
    return _to_list(assignment, f"Moved '{assignment.title}' {direction}." if moved else
                    f"'{assignment.title}' is already {'first' if direction == 'up' else 'last'}.")


def _flag(name: str) -> bool:
    value = request.form.get(name, "")
    if value not in ("0", "1"):
        raise ServiceError(422, "validation_error", f"{name} must be 0 or 1", {name: ["0 or 1"]})
    return value == "1"


@bp.post(ASSIGNMENT + "/visibility")
def show_problem_set(assignment_id: int) -> Response:
    assignment, _ = _assignment(assignment_id, write=True)
    visible = _flag("visible")
    service.update_assignment(assignment, {"visible": visible})
    return _to_list(assignment, f"'{assignment.title}' is {'shown to' if visible else 'hidden from'} students.")


@bp.post(ASSIGNMENT + "/archive")
def archive_problem_set(assignment_id: int) -> Response:
    assignment, _ = _assignment(assignment_id, write=True)
    archived = _flag("archived")
    service.update_assignment(assignment, {"archived": archived})
    return _to_list(assignment, f"Archived '{assignment.title}': students no longer see it; it may now be deleted "
                                "with its submissions." if archived else f"'{assignment.title}' is unarchived.")


@bp.post(ASSIGNMENT + "/delete")
def delete_problem_set(assignment_id: int) -> Response | tuple[str, int]:
    assignment, role = _assignment(assignment_id, write=True)
    title, course = assignment.title, assignment.course
    try:
        service.delete_assignment(assignment)
    except ServiceError as exc:
        if exc.code != "has_submissions":
            raise
        flash(f"'{title}' is not deleted: it has submissions. Archive it first to delete it with them, or hide it "
              "to keep them.", "error")
        return _listing(course, role, exc.status)
    flash(f"Deleted '{title}'.", "info")
    return redirect(url_for("instructor.problem_sets", course_id=course.id))


def _students(course: Course) -> list[User]:
    return list(db.session.scalars(select(User).join(Membership).where(
        Membership.course_id == course.id, Membership.role == "student").order_by(User.username)))


def _overrides(assignment: Assignment, form: OverrideForm, status: int = 200) -> tuple[str, int]:
    return render_template("instructor/assignments/overrides.html", assignment=assignment, form=form,
                           rows=service.override_rows(assignment), students=_students(assignment.course),
                           date_value=date_value), status


@bp.get(ASSIGNMENT + "/overrides")
def overrides(assignment_id: int) -> tuple[str, int]:
    assignment, _ = _assignment(assignment_id)
    return _overrides(assignment, OverrideForm.blank())


@bp.post(ASSIGNMENT + "/overrides")
def give_override(assignment_id: int) -> Response | tuple[str, int]:
    assignment, _ = _assignment(assignment_id)  # TAs too: extensions are grading work
    form = OverrideForm.read(request.form, assignment)
    if form.errors:
        return _overrides(assignment, form, 422)
    try:
        given = service.set_override(assignment, form.usernames, due_at=form.due_at,
                                     extra_attempts=form.extra_attempts, by=current_user)
    except ServiceError as exc:
        db.session.rollback()
        form.refused(exc)
        return _overrides(assignment, form, exc.status)
    flash(f"Override given to {', '.join(o.user.username for o in given)}.", "info")
    return redirect(url_for("instructor.overrides", assignment_id=assignment.id))


@bp.post(ASSIGNMENT + "/overrides/<string(maxlength=80):username>/remove")
def remove_override(assignment_id: int, username: str) -> Response | tuple[str, int]:
    assignment, _ = _assignment(assignment_id)
    try:
        removed = service.remove_override(assignment, username)
    except ServiceError as exc:
        flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
        return _overrides(assignment, OverrideForm.blank(), exc.status)
    flash(f"Removed {username}'s override: the set's terms again." if removed else f"{username} had no override.",
          "info")
    return redirect(url_for("instructor.overrides", assignment_id=assignment.id))
