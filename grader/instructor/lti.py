"""The workspace's LTI pages (on grader.instructor.views.bp; changes go through grader.lti):

    GET  /instructor/lti/platforms                 the registered platforms and deployments (administrators)
    POST /instructor/lti/platforms                 register one (or add deployments to it)
    POST /instructor/lti/platforms/<id>/remove     remove a registration
    GET  /instructor/lti/links/<id>                a link from the LMS: choose its problem set (its instructors)
    POST /instructor/lti/links/<id>
    POST /instructor/lti/links/<id>/course          tie the LMS course to another course you teach
    GET  /instructor/courses/<id>/gradebook/lti    scores sent to the LMS, pending, failed (its graders)
    POST /instructor/courses/<id>/gradebook/lti/<score id>/resend    "send again"
    POST /instructor/courses/<id>/gradebook/lti/sync-roster          the LMS's roster now (instructors)
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from grader.errors import ServiceError
from grader.instructor.views import bp
from grader.lti import nrps, outbox, registrations
from grader.lti.ags import PlatformError
from grader.lti.launches import link_context, tie_link
from grader.lti.models import LtiContext, LtiResourceLink, LtiScore
from grader.models import Course, Membership, db
from grader.service import course_assignments


def _admin() -> None:
    if current_user.role != "admin":
        abort(404)


def _platforms(status: int = 200) -> tuple[str, int]:
    return render_template("instructor/lti/platforms.html", rows=registrations.registrations(),
                           form=request.form), status


@bp.get("/lti/platforms")
def lti_platforms() -> tuple[str, int]:
    _admin()
    return _platforms()


@bp.post("/lti/platforms")
def register_platform() -> Response | tuple[str, int]:
    _admin()
    form = request.form
    try:
        registration, created = registrations.register_platform(
            issuer=form.get("issuer", ""), client_id=form.get("client_id", ""),
            auth_login_url=form.get("auth_login_url", ""), auth_token_url=form.get("auth_token_url", ""),
            keyset_url=form.get("keyset_url", ""),
            deployment_ids=[d for d in form.get("deployment_ids", "").replace(",", " ").split() if d])
    except ServiceError as error:
        flash(error.message[:1].upper() + error.message[1:] + ".", "error")
        return _platforms(error.status)
    flash(f"{'Registered' if created else 'Updated'} {registration.issuer} (client {registration.client_id}).",
          "info")
    return redirect(url_for("instructor.lti_platforms"), 303)


@bp.post("/lti/platforms/<int(max=2147483647):registration_id>/remove")
def remove_platform(registration_id: int) -> Response:
    _admin()
    try:
        message = registrations.remove_registration_by_id(registration_id)
    except ServiceError:
        abort(404)
    flash(message[:1].upper() + message[1:] + ".", "info")
    return redirect(url_for("instructor.lti_platforms"), 303)


def _link(link_id: int) -> LtiResourceLink:
    link = db.session.get(LtiResourceLink, link_id)
    role = current_user.course_role(link.context.course_id) if link is not None else None
    if link is None or role not in ("instructor", "ta"):
        abort(404)
    if request.method == "POST" and role != "instructor":
        abort(403)
    return link


@bp.get("/lti/links/<int(max=2147483647):link_id>")
def lti_link(link_id: int, status: int = 200) -> tuple[str, int]:
    link = _link(link_id)
    taught = list(db.session.scalars(select(Course).join(Membership).where(
        Membership.user_id == current_user.id, Membership.role == "instructor").order_by(Course.code)))
    return render_template("instructor/lti/link.html", link=link, courses=taught,
                           sets=[a for a in course_assignments(link.context.course) if not a.archived]), status


@bp.post("/lti/links/<int(max=2147483647):link_id>/course")
def link_lti_course(link_id: int) -> Response | tuple[str, int]:
    link = _link(link_id)
    chosen = request.form.get("course", "")
    try:
        link_context(current_user, link.context, int(chosen) if chosen.isdigit() else -1)
    except ServiceError as error:
        flash(error.message[:1].upper() + error.message[1:] + ".", "error")
        return lti_link(link_id, error.status)
    flash(f"{link.context.title} in the LMS now opens {link.context.course.code}.", "info")
    return redirect(url_for("instructor.lti_link", link_id=link.id), 303)


@bp.post("/lti/links/<int(max=2147483647):link_id>")
def choose_link_set(link_id: int) -> Response | tuple[str, int]:
    link = _link(link_id)
    chosen = request.form.get("assignment", "")
    try:
        tie_link(current_user, link, int(chosen) if chosen.isdigit() else -1)
    except ServiceError as error:
        flash(error.message[:1].upper() + error.message[1:] + ".", "error")
        return lti_link(link_id, error.status)
    flash(f"The link now opens {link.assignment.title}.", "info")
    return redirect(url_for("instructor.overrides", assignment_id=link.assignment_id), 303)


LTI_SCORES = "/courses/<int(max=2147483647):course_id>/gradebook/lti"


def _grading_course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or current_user.course_role(course.id) not in ("instructor", "ta"):
        abort(404)
    return course


@bp.get(LTI_SCORES)
def lti_scores(course_id: int) -> tuple[str, int]:
    """Per student and linked problem set: the last score sent to the LMS, pending, or failed with the
    platform's reason."""
    course = _grading_course(course_id)
    return render_template("instructor/lti/scores.html", course=course, rows=outbox.course_scores(course.id)), 200


@bp.post(LTI_SCORES + "/<int(max=2147483647):score_id>/resend")
def resend_lti_score(course_id: int, score_id: int) -> Response:
    course = _grading_course(course_id)
    score = db.session.get(LtiScore, score_id)
    if score is None or score.resource_link.context.course_id != course.id:
        abort(404)
    outbox.send_again(score)
    if not current_app.config.get("CELERY_BROKER_URL"):
        outbox.send_pending(limit=50)  # no workers (the embedded default): sent now, as the button says
    flash(f"The score of {score.user.name or score.user.username} is sent again.", "info")
    return redirect(url_for("instructor.lti_scores", course_id=course.id), 303)


@bp.post(LTI_SCORES + "/sync-roster")
def sync_lti_roster(course_id: int) -> Response:
    course = _grading_course(course_id)
    if current_user.course_role(course.id) != "instructor":
        abort(403)
    contexts = list(db.session.scalars(select(LtiContext).where(LtiContext.course_id == course.id)))
    if not contexts:
        flash("No LMS course is tied to this course: nothing to sync.", "error")
    for context in contexts:
        try:
            counts = nrps.sync_roster(context)
        except PlatformError as exc:
            db.session.rollback()
            flash(f"The roster of {context.title} was not synced: {exc}.", "error")
            continue
        flash(f"Roster of {context.title} synced: {counts['created']} new, {counts['added']} added, "
              f"{counts['updated']} with a new role, {counts['unchanged']} unchanged.", "info")
    return redirect(url_for("instructor.lti_scores", course_id=course.id), 303)
