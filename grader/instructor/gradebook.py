"""The workspace's gradebook pages (on grader.instructor.views.bp; every change goes through grader.service, as
the API's does):

    GET  /instructor/courses/<id>/gradebook                               students × problem sets: sort, filter
    GET  /instructor/courses/<id>/gradebook/csv                           the same as a CSV file (as the API's)
    POST /instructor/courses/<id>/gradebook/csv/job                       "Prepare CSV" (a course of at least
                                                                          GRADEBOOK_CSV_JOB_MIN_STUDENTS): the
                                                                          same CSV as a background job, then
                                                                          302 to its page (progress, download)
    GET  /instructor/courses/<id>/gradebook/log                           every manual score set or removed
    GET  /instructor/courses/<id>/gradebook/<assignment_id>/<username>    one cell: earned per exercise, the
    POST (same)                                                           manual score, its log; set or remove

Sorting and filtering are query parameters read on the server (sort=name|username|total|a<set id>,
dir=asc|desc, q=text, late=1, overrides=1, manual=1), so the page works without JavaScript. Course staff
(instructors, TAs, administrators) see and use all of it: TAs grade. Anyone else gets 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from grader import service
from grader.errors import ServiceError
from grader.instructor.views import STAFF_ROLES, bp
from grader.jobs.gradebook import KIND as GRADEBOOK_CSV
from grader.jobs.progress import start_job
from grader.models import Assignment, Course, Membership, User, db

LOG_PAGE = 100
COURSE = "/courses/<int(max=2147483647):course_id>/gradebook"
CELL = COURSE + "/<int(max=2147483647):assignment_id>/<string(maxlength=80):username>"
FLAGS = ("late", "overrides", "manual")


def _staff_course(course_id: int) -> tuple[Course, str]:
    course = db.session.get(Course, course_id)
    role = service.course_role(current_user, course) if course is not None else None
    if course is None or role not in STAFF_ROLES:
        abort(404)  # not your course: no hint that it exists
    return course, role


def _view_args() -> dict[str, Any]:
    """The table's sort and filters from the query, kept within bounds."""
    sort = request.args.get("sort", "name")[:20]
    return {"sort": sort, "dir": "desc" if request.args.get("dir") == "desc" else "asc",
            "q": request.args.get("q", "").strip()[:100],
            **{flag: request.args.get(flag) == "1" for flag in FLAGS}}


def _link(course: Course, view: dict[str, Any], **change: Any) -> str:
    args = {**view, **change}
    query = {"sort": args["sort"], "dir": args["dir"], "q": args["q"] or None,
             **{flag: "1" if args[flag] else None for flag in FLAGS}}
    return url_for("instructor.gradebook", course_id=course.id, **{k: v for k, v in query.items() if v})


def _sort_link(course: Course, view: dict[str, Any], key: str) -> tuple[str, str | None]:
    """A header's link (the other direction when the table is sorted by it) and its aria-sort."""
    current = view["sort"] == key
    direction = "desc" if current and view["dir"] == "asc" else "asc"
    return _link(course, view, sort=key, dir=direction), (
        ("ascending" if view["dir"] == "asc" else "descending") if current else None)


def number(value: float | None) -> str:
    # 15 significant digits, not :g's 6: a set may be worth millions and "1.23457e+06" is not the score
    return "" if value is None else f"{value:.15g}"


@bp.get(COURSE)
def gradebook(course_id: int) -> tuple[str, int]:
    course, role = _staff_course(course_id)
    view = _view_args()
    book = service.gradebook(course)
    students = service.arrange(book, sort=view["sort"], descending=view["dir"] == "desc", text=view["q"],
                               only_late=view["late"], only_overrides=view["overrides"], only_manual=view["manual"])
    headers = {key: _sort_link(course, view, key) for key in ("name", "username", "total")}
    headers.update({f"a{a.id}": _sort_link(course, view, f"a{a.id}") for a in book.assignments})
    columns = [(a, number(book.possible[a.id])) for a in book.assignments]
    base = f"/instructor/courses/{course.id}/gradebook/"
    by_id = [(a.id, most) for a, most in columns]
    rows = [(s, number(book.total(s)), _cells_html(book, s, by_id, base)) for s in students]
    return render_template("instructor/gradebook/table.html", course=course, role=role, view=view,
                           columns=columns, rows=rows, headers=headers, number=number,
                           possible=number(book.possible_total), shown=len(rows), enrolled=len(book.students),
                           csv_url=url_for("instructor.gradebook_csv", course_id=course.id),
                           csv_as_job=len(book.students) >= current_app.config["GRADEBOOK_CSV_JOB_MIN_STUDENTS"]), 200


def _cells_html(book: service.Gradebook, student: User, columns: list[tuple[int, str]], base: str) -> Markup:
    """A row's cells as HTML, built here rather than in the template: a large course has tens of thousands of
    cells, and Jinja's per-value escaping was most of the page's time. Everything in them is numbers, ids,
    dates and fixed words, except the username, which is quoted for the URL."""
    who, uid, cells, empty, parts = quote(student.username, safe=""), student.id, book.cells, service.Cell(), []
    for aid, most in columns:
        c = cells.get((uid, aid), empty)
        shown = number(c.points) if c.points is not None else "–"
        html = ['<td class="late">' if c.late else "<td>",
                f'<a href="{base}{aid}/{who}">{shown}/{most}</a>']
        if c.attempts:
            html.append(f" <small>{c.attempts}×</small>")
        if c.late:
            html.append(' <span class="mark late">late</span>')
        if c.override:
            due = f"due {c.override_due:%Y-%m-%d %H:%M} UTC" if c.override_due else "the set's due date"
            extra = (f", {c.extra_attempts} extra attempt{'s' if c.extra_attempts != 1 else ''}"
                     if c.extra_attempts else "")
            html.append(f' <span class="mark override" title="override: {due}{extra}">override</span>')
        if c.manual is not None:
            earned = number(c.earned) if c.earned is not None else "nothing"
            html.append(f' <span class="mark manual">manual</span> <small>(earned {earned})</small>')
        parts.append("".join(html) + "</td>")
    return Markup("".join(parts))


@bp.get(COURSE + "/csv")
def gradebook_csv(course_id: int) -> Response:
    course, _ = _staff_course(course_id)
    return Response(service.gradebook_csv(course), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{service.gradebook_filename(course)}"'})


@bp.post(COURSE + "/csv/job")
def prepare_gradebook_csv(course_id: int) -> Response:
    course, _ = _staff_course(course_id)
    job = start_job(GRADEBOOK_CSV, current_user, {"course_id": course.id})
    return redirect(url_for("instructor.job", job_id=job.id))


@bp.get(COURSE + "/log")
def grade_log(course_id: int) -> tuple[str, int]:
    course, _ = _staff_course(course_id)
    page = request.args.get("page", "1")
    # ASCII digits only ("²".isdigit() is true and int() refuses it), and few enough for int()
    page = max(1, min(int(page), 100_000)) if page.isascii() and page.isdigit() and len(page) <= 9 else 1
    query = service.grade_log_query(course).offset((page - 1) * LOG_PAGE).limit(LOG_PAGE + 1)
    changes = list(db.session.scalars(query).unique())
    return render_template("instructor/gradebook/log.html", course=course, changes=changes[:LOG_PAGE],
                           page=page, more=len(changes) > LOG_PAGE, number=number), 200


def _cell_target(course: Course, assignment_id: int, username: str) -> tuple[Assignment, User]:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.course_id != course.id:
        abort(404)
    student = db.session.scalar(select(User).join(Membership).where(
        Membership.course_id == course.id, Membership.role == "student", User.username == username))
    if student is None:
        abort(404)
    return assignment, student


def _cell_page(course: Course, assignment: Assignment, student: User, *, form: dict[str, str] | None = None,
               errors: dict[str, list[str]] | None = None, status: int = 200) -> tuple[str, int]:
    earned = service.item_scores(student, assignment)
    items = [(item, earned.get(item.id)) for item in assignment.items]
    return render_template("instructor/gradebook/cell.html", course=course, assignment=assignment, student=student,
                           cell=service.gradebook_cell(assignment, student), items=items,
                           manual=service.manual_score(assignment, student),
                           log=service.grade_log(course, assignment, student.username), form=form or {},
                           errors=errors or {}, number=number, max_reason=service.MAX_REASON), status


@bp.get(CELL)
def gradebook_cell(course_id: int, assignment_id: int, username: str) -> tuple[str, int]:
    course, _ = _staff_course(course_id)
    return _cell_page(course, *_cell_target(course, assignment_id, username))


@bp.post(CELL)
def change_cell(course_id: int, assignment_id: int, username: str) -> Response | tuple[str, int]:
    course, _ = _staff_course(course_id)
    assignment, student = _cell_target(course, assignment_id, username)
    action = request.form.get("action", "")
    form = {"action": action, "points": request.form.get("points", ""), "reason": request.form.get("reason", "")}
    try:
        if action == "set":
            points = _points(form["points"], assignment)
            service.set_manual_score(current_user, assignment, student.username, points, form["reason"])
            flash(f"{student.username} now has {number(points)} of {number(assignment.points)} for "
                  f"{assignment.title}.", "info")
        elif action == "remove":
            removed = service.remove_manual_score(current_user, assignment, student.username, form["reason"])
            flash("The manual score is removed: what the submissions earn counts again." if removed
                  else "There was no manual score to remove.", "info")
        else:
            raise ServiceError(422, "validation_error", "choose to set or to remove the manual score",
                               {"action": ["set or remove"]})
    except ServiceError as exc:
        return _cell_page(course, assignment, student, form=form, errors=exc.errors or {"form": [exc.message]},
                          status=exc.status)
    return redirect(url_for("instructor.gradebook_cell", course_id=course.id, assignment_id=assignment.id,
                            username=student.username))


def _points(text: str, assignment: Assignment) -> float:
    """The typed points as a number (a comma for the decimal point too); the service checks the range."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        message = f"give the points as a number from 0 to {assignment.points:.15g} (not {text.strip()[:20]!r})"
        raise ServiceError(422, "validation_error", message, {"points": [message]}) from None
