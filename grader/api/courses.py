"""Courses, memberships and assignments (the gradebook is grader.api.gradebook)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader import service
from grader.api.auth import current_user, require
from grader.api.common import assignment_for, blueprint, course_for, page_of
from grader.api.schemas import (
    AssignmentIn,
    AssignmentOut,
    AssignmentPatch,
    CourseOut,
    MembershipIn,
    MembershipOut,
    OverrideIn,
    OverrideOut,
    OverrideQuery,
)
from grader.models import Assignment, AssignmentOverride, Course, Membership, User, db
from grader.service import ServiceError

blp = blueprint("courses", "Courses, memberships and assignments")


def _course_out(course: Course, role: str | None) -> dict[str, Any]:
    return {"id": course.id, "code": course.code, "title": course.title, "role": role}


def _assignment_out(assignment: Assignment) -> dict[str, Any]:
    single = assignment.single
    return {**{c: getattr(assignment, c) for c in (
        "id", "course_id", "title", "due_at", "points", "late_policy", "late_penalty", "visible",
        "scoring", "solution_policy", "position", "archived", "created_at")}, "exercise": assignment.exercise.slug,
        "attempt_limit": single.attempt_limit if single is not None else None,
        "exercises": [{"exercise": i.exercise.slug, "title": i.exercise.title, "position": i.position,
                       "points": i.points, "attempts": i.attempt_limit} for i in assignment.items]}


def _membership_out(m: Membership) -> dict[str, Any]:
    return {"id": m.id, "user_id": m.user_id, "username": m.user.username, "name": m.user.name, "role": m.role}


@blp.route("/courses")
class Courses(MethodView):
    @require("courses:read")
    @blp.response(200, CourseOut(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Your courses (an admin sees every course)."""
        user = current_user()
        if user.role == "admin":
            query = select(Course.id, Course.code, Course.title)
        else:
            query = select(Course.id, Course.code, Course.title, Membership.role).join(Membership).where(
                Membership.user_id == user.id)
        rows = db.session.execute(page_of(query.order_by(Course.id), pagination_parameters)).all()
        return [{"id": r.id, "code": r.code, "title": r.title, "role": r.role if len(r) > 3 else "instructor"}
                for r in rows]


@blp.route("/courses/<int(max=2147483647):course_id>")
class CourseItem(MethodView):
    @require("courses:read")
    @blp.response(200, CourseOut)
    def get(self, course_id: int):
        """One of your courses."""
        return _course_out(*course_for(current_user(), course_id))


@blp.route("/courses/<int(max=2147483647):course_id>/memberships")
class Memberships(MethodView):
    @require("courses:read")
    @blp.response(200, MembershipOut(many=True))
    @blp.paginate()
    def get(self, course_id: int, pagination_parameters):
        """The course's members (its instructors and TAs)."""
        course, role = course_for(current_user(), course_id)
        if role not in ("instructor", "ta"):
            raise ServiceError(403, "forbidden", "only the course's instructors and TAs may do this")
        query = select(Membership).join(User).where(Membership.course_id == course.id)
        members = db.session.scalars(page_of(query.order_by(User.username), pagination_parameters)).all()
        return [_membership_out(m) for m in members]

    @require("courses:write")
    @blp.arguments(MembershipIn)
    @blp.response(201, MembershipOut)
    def post(self, body, course_id: int):
        """Enroll an existing account by username (409 if already a member)."""
        course, _ = course_for(current_user(), course_id, instructor=True)
        user = db.session.scalar(select(User).where(User.username == body["username"]))
        if user is None:
            raise ServiceError(422, "validation_error", "no such user", {"username": ["no such user"]})
        membership = Membership(user=user, course=course, role=body["role"])
        db.session.add(membership)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise ServiceError(409, "exists", f"{user.username} is already a member",
                               {"username": ["already a member"]}) from None
        return _membership_out(membership)


@blp.route("/courses/<int(max=2147483647):course_id>/assignments")
class Assignments(MethodView):
    @require("courses:read")
    @blp.response(200, AssignmentOut(many=True))
    @blp.paginate()
    def get(self, course_id: int, pagination_parameters):
        """The course's assignments (students see the visible ones; instructors and TAs all of them)."""
        course, role = course_for(current_user(), course_id)
        query = select(Assignment).where(Assignment.course_id == course.id)
        if role == "student":
            query = query.where(Assignment.visible.is_(True), Assignment.archived.is_(False))
        rows = db.session.scalars(page_of(query.order_by(Assignment.position, Assignment.id),
                                          pagination_parameters)).all()
        return [_assignment_out(a) for a in rows]

    @require("courses:write")
    @blp.arguments(AssignmentIn)
    @blp.response(201, AssignmentOut)
    def post(self, body, course_id: int):
        """Create a problem set: `exercises` in order, each `{exercise, points, attempts}`, under one due date,
        late policy, visibility and solution policy; or a set of one with `exercise` (and `points`,
        `attempt_limit`). 422 for an unknown or repeated exercise, 409 for a draft (its question tests fail)."""
        course, _ = course_for(current_user(), course_id, instructor=True)
        single = "exercise" in body
        if single:
            items = [service.ItemSpec(body.pop("exercise"), body.pop("points", 1.0), body.pop("attempt_limit", None))]
        else:
            items = [service.ItemSpec(i["exercise"], i["points"], i["attempts"]) for i in body.pop("exercises")]
        try:
            assignment = service.create_assignment(course, items, by=current_user(), **body)
        except ServiceError as exc:
            if single and "exercises.0.exercise" in exc.errors:
                exc.errors = {"exercise": exc.errors["exercises.0.exercise"]}  # named as it was sent
            raise
        return _assignment_out(assignment)


@blp.route("/assignments/<int(max=2147483647):assignment_id>")
class AssignmentItem(MethodView):
    @require("courses:read")
    @blp.response(200, AssignmentOut)
    def get(self, assignment_id: int):
        """One assignment (students: a visible one of their course)."""
        return _assignment_out(assignment_for(current_user(), assignment_id)[0])

    @require("courses:write")
    @blp.arguments(AssignmentPatch)
    @blp.response(200, AssignmentOut)
    def patch(self, body, assignment_id: int):
        """Change due date, late policy, visibility, scoring, solution policy, position (reorder) or archived;
        attempts and points of a set of one. A change of points, due date or late terms rescores what the
        graded submissions earn (lateness judged against the new due date)."""
        assignment, _ = assignment_for(current_user(), assignment_id, instructor=True)
        service.update_assignment(assignment, body)
        return _assignment_out(assignment)

    @require("courses:write")
    @blp.response(204)
    def delete(self, assignment_id: int):
        """Delete the problem set (its items and overrides go with it). 409 while it has submissions, unless it
        is archived first (PATCH archived: true), when they are deleted with it."""
        assignment, _ = assignment_for(current_user(), assignment_id, instructor=True)
        service.delete_assignment(assignment)


def _for_staff(user: User, assignment_id: int) -> Assignment:
    """Overrides are grading work: the course's instructors and its TAs give them."""
    assignment, role = assignment_for(user, assignment_id)
    if role not in ("instructor", "ta"):
        raise ServiceError(403, "forbidden", "only the course's instructors and TAs may do this")
    return assignment


def _override_out(override: AssignmentOverride) -> dict[str, Any]:
    return {"id": override.id, "assignment_id": override.assignment_id, "user": override.user.username,
            "due_at": override.due_at, "extra_attempts": override.extra_attempts, "created_at": override.created_at}


@blp.route("/assignments/<int(max=2147483647):assignment_id>/overrides")
class Overrides(MethodView):
    @require("courses:read")
    @blp.response(200, OverrideOut(many=True))
    @blp.paginate()
    def get(self, assignment_id: int, pagination_parameters):
        """The problem set's overrides (instructors and TAs): each student's own due date and extra attempts."""
        assignment = _for_staff(current_user(), assignment_id)
        query = (select(AssignmentOverride).join(User, User.id == AssignmentOverride.user_id)
                 .where(AssignmentOverride.assignment_id == assignment.id).order_by(User.username))
        return [_override_out(o) for o in db.session.scalars(page_of(query, pagination_parameters))]

    @require("courses:write")
    @blp.arguments(OverrideIn)
    @blp.response(201, OverrideOut)
    def post(self, body, assignment_id: int):
        """Give a student of the course a later due date and/or extra attempts at each exercise (replacing the
        fields given of an override they had). Honoured wherever they submit; their graded submissions are
        rescored against their own due date. 422 for someone who is not a student of the course."""
        user = current_user()
        assignment = _for_staff(user, assignment_id)
        override, = service.set_override(assignment, [body["user"]], due_at=body.get("due_at"),
                                         extra_attempts=body.get("extra_attempts"), by=user)
        return _override_out(override)

    @require("courses:write")
    @blp.arguments(OverrideQuery, location="query")
    @blp.response(204)
    def delete(self, args, assignment_id: int):
        """Remove `?user=`'s override (back to the set's terms; their submissions are rescored). Idempotent: 204
        also when they had none; 422 for someone who is not a student of the course."""
        assignment = _for_staff(current_user(), assignment_id)
        service.remove_override(assignment, args["user"])
