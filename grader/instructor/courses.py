"""The workspace's course and roster pages (on grader.instructor.views.bp; every change goes through
grader.roster, as the API's and the command line's do):

    GET  /instructor/courses                                  the courses you teach or assist; POST creates one
    GET  /instructor/courses/<id>                             its roster: members, add, CSV upload, title
    POST /instructor/courses/<id>/title                       rename
    POST /instructor/courses/<id>/members                     add an account by username
    POST /instructor/courses/<id>/import                      CSV upload -> the report (links for new accounts)
    POST /instructor/courses/<id>/members/<username>/role     change a role
    POST /instructor/courses/<id>/members/<username>/remove   remove (their submissions stay)
    POST /instructor/courses/<id>/members/<username>/reset    a new one-time sign-in link for a student

Course staff (instructors, TAs, administrators) see a course; anyone else gets 404 for it. Only instructors
and administrators change anything: a TA gets 403 on every POST.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from grader import roster, service
from grader.errors import ServiceError
from grader.instructor.views import STAFF_ROLES, bp
from grader.models import COURSE_ROLES, Course, Membership, db

MAX_CSV_BYTES = 1_000_000


def _course(course_id: int, *, write: bool = False) -> tuple[Course, str]:
    course = db.session.get(Course, course_id)
    role = service.course_role(current_user, course) if course is not None else None
    if course is None or role not in STAFF_ROLES:
        abort(404)  # not your course: no hint that it exists
    if write and role != "instructor":
        abort(403)
    return course, role


def sign_in_url(token: str) -> str:
    return url_for("auth.sign_in_link", token=token, _external=True)


def _roster(course: Course, role: str, status: int = 200) -> tuple[str, int]:
    rows = [(m, roster.may_reset(current_user, course, m.user)) for m in roster.members(course)]
    return render_template("instructor/courses/roster.html", course=course, role=role, rows=rows,
                           roles=COURSE_ROLES, may_write=role == "instructor"), status


def _refused(course: Course, role: str, error: ServiceError) -> tuple[str, int]:
    flash(error.message[:1].upper() + error.message[1:] + ".", "error")
    return _roster(course, role, error.status)


def _done(course: Course, message: str) -> Response:
    flash(message, "info")
    return redirect(url_for("instructor.course", course_id=course.id))


@bp.get("/courses")
def courses(status: int = 200) -> tuple[str, int]:
    query = select(Course, Membership.role).join(Membership).where(Membership.user_id == current_user.id,
                                                                   Membership.role.in_(STAFF_ROLES))
    if current_user.role == "admin":
        query = select(Course, Membership.role).outerjoin(Membership, (Membership.course_id == Course.id)
                                                          & (Membership.user_id == current_user.id))
    rows = db.session.execute(query.order_by(Course.code)).all()
    return render_template("instructor/courses/list.html", rows=rows,
                           may_create=current_user.role in ("instructor", "admin")), status


@bp.post("/courses")
def create_course() -> Response | tuple[str, int]:
    if current_user.role not in ("instructor", "admin"):
        abort(403)  # a TA (a student account) does not open courses
    try:
        course = roster.create_course(current_user, request.form.get("code", ""), request.form.get("title", ""))
    except ServiceError as exc:
        flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
        return courses(exc.status)
    return _done(course, f"Created {course.code}: you are its instructor. Add people below.")


@bp.get("/courses/<int(max=2147483647):course_id>")
def course(course_id: int) -> tuple[str, int]:
    return _roster(*_course(course_id))


@bp.post("/courses/<int(max=2147483647):course_id>/title")
def rename_course(course_id: int) -> Response | tuple[str, int]:
    course, role = _course(course_id, write=True)
    try:
        roster.update_course(course, title=request.form.get("title", ""))
    except ServiceError as exc:
        return _refused(course, role, exc)
    return _done(course, "The title is changed.")


@bp.post("/courses/<int(max=2147483647):course_id>/members")
def add_member(course_id: int) -> Response | tuple[str, int]:
    course, role = _course(course_id, write=True)
    try:
        added = roster.add_member(course, request.form.get("username", ""), request.form.get("role", "student"))
    except ServiceError as exc:
        return _refused(course, role, exc)
    return _done(course, f"Added {added.user.username} as {added.role}.")


@bp.post("/courses/<int(max=2147483647):course_id>/import")
def import_roster(course_id: int) -> tuple[str, int]:
    course, role = _course(course_id, write=True)
    upload = request.files.get("file")
    data = upload.read(MAX_CSV_BYTES + 1) if upload is not None else b""
    try:
        if not data:
            raise ServiceError(422, "validation_error", "choose a CSV file to upload", {"file": ["no file"]})
        if len(data) > MAX_CSV_BYTES:
            raise ServiceError(413, "too_large", "the file is over 1 MB: split it", {"file": ["too large"]})
        report = roster.import_csv(course, data)
    except ServiceError as exc:
        return _refused(course, role, exc)
    links = [(user, sign_in_url(token)) for user, token in report.created]
    return render_template("instructor/courses/import.html", course=course, report=report, links=links), 200


@bp.post("/courses/<int(max=2147483647):course_id>/members/<string(maxlength=80):username>/role")
def change_role(course_id: int, username: str) -> Response | tuple[str, int]:
    course, role = _course(course_id, write=True)
    try:
        member = roster.change_role(course, username, request.form.get("role", ""))
    except ServiceError as exc:
        return _refused(course, role, exc)
    return _done(course, f"{member.user.username} is now {member.role}.")


@bp.post("/courses/<int(max=2147483647):course_id>/members/<string(maxlength=80):username>/remove")
def remove_member(course_id: int, username: str) -> Response | tuple[str, int]:
    course, role = _course(course_id, write=True)
    try:
        roster.remove_member(course, username)
    except ServiceError as exc:
        return _refused(course, role, exc)
    return _done(course, f"Removed {username} from {course.code} (their submissions are kept).")


@bp.post("/courses/<int(max=2147483647):course_id>/members/<string(maxlength=80):username>/reset")
def reset_password(course_id: int, username: str) -> tuple[str, int]:
    course, role = _course(course_id, write=True)
    try:
        token = roster.reset_password(current_user, course, username)
    except ServiceError as exc:
        return _refused(course, role, exc)
    return render_template("instructor/courses/reset.html", course=course, username=username,
                           link=sign_in_url(token)), 200
