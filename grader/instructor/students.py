"""Every student's work, for the course's staff (on grader.instructor.views.bp; the gathering is
grader.service.student_work's):

    GET  /instructor/courses/<id>/students/<username>   one member's every problem set, exercise and submission
                                                       (graded, invalid and error), newest first, with the
                                                       feedback they saw, their seed and a link to the worked
                                                       solution as they see it

Course staff (instructors, TAs, administrators) only: anyone else gets 404 for the course, and a username that
is not a member of it is 404 too.
"""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user

from grader import service
from grader.errors import ServiceError
from grader.instructor.views import STAFF_ROLES, bp
from grader.models import Course, db
from grader.web.answers import label_tex, shown_parts


def _staff_course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or service.course_role(current_user, course) not in STAFF_ROLES:
        abort(404)  # not your course: no hint that it exists
    return course


@bp.get("/courses/<int(max=2147483647):course_id>/students/<string(maxlength=80):username>")
def student_work(course_id: int, username: str) -> tuple[str, int]:
    course = _staff_course(course_id)
    try:
        work = service.student_work(course, username)
    except ServiceError as exc:
        if exc.status == 404:
            abort(404)
        raise
    return render_template("instructor/courses/student_work.html", course=course, work=work,
                           shown_parts=shown_parts, label_tex=label_tex), 200
