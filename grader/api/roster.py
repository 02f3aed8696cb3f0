"""Courses, accounts and memberships for integrators: thin views over grader.roster (as the pages are).

    POST   /api/v1/courses                                   {"code", "title"} -> 201, you its instructor
    PATCH  /api/v1/courses/<id>                              {"title"}
    POST   /api/v1/users                                     {"username", "name", "email", "role", "password"?}
    PATCH  /api/v1/courses/<id>/memberships/<username>       {"role"}
    DELETE /api/v1/courses/<id>/memberships/<username>       (their submissions stay)

Listing and adding members (GET/POST /courses/<id>/memberships) are grader.api.courses's.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from grader import roster
from grader.api.auth import INSTRUCTORS, current_user, require
from grader.api.common import blueprint, course_for
from grader.api.schemas import CourseOut, In, MembershipOut
from grader.errors import ServiceError
from grader.models import COURSE_ROLES, ROLES, Membership, User

blp = blueprint("roster", "Creating courses and accounts; changing and removing memberships")

NO_NUL = validate.Regexp(r"^[^\x00]*$", error="must not contain NUL bytes")


# \s differs between Python (also \x1c-\x1f, \x85) and the document's ECMA regexes (also \ufeff): naming those
# characters too makes the pattern the same in both, so what the document allows is accepted.
CODE = r"^[^\s\x00\x1c-\x1f\x85\ufeff]+$"


class CourseIn(In):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=80),
                                                  validate.Regexp(CODE, error="no spaces, e.g. bp101")],
                         metadata={"description": "short and unique, no spaces", "example": "bp101"})
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), NO_NUL],
                          metadata={"example": "Backpropagation 101"})


class CoursePatch(In):
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), NO_NUL])


class UserIn(In):
    username = fields.String(required=True, validate=validate.Regexp(
        roster.USERNAME, error="1 to 80 letters, digits or . _ @ + - (starting with a letter or digit)"),
        metadata={"example": "ada"})
    name = fields.String(load_default="", validate=[validate.Length(max=200), NO_NUL],
                         metadata={"example": "Ada Lovelace"})
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254),
                         metadata={"description": "shown to the courses' staff (Gradgate sends no mail)",
                                   "example": "ada@example.edu"})
    role = fields.String(load_default="student", validate=validate.OneOf(ROLES),
                         metadata={"description": "the site-wide role; only an administrator creates "
                                                  "instructor or admin accounts"})
    password = fields.String(validate=[validate.Length(min=roster.MIN_PASSWORD, max=roster.MAX_PASSWORD), NO_NUL],
                             metadata={"description": "leave out to get a one-time sign-in link instead"})


class UserOut(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)
    role = fields.String(required=True)
    sign_in_url = fields.String(allow_none=True, required=True, metadata={
        "description": "a one-time sign-in link to hand out (null when a password was given); it expires in "
                       f"{roster.SIGN_IN_DAYS} days and dies once used or when the password changes"})


class RolePatch(In):
    role = fields.String(required=True, validate=validate.OneOf(COURSE_ROLES))


def _membership_out(m: Membership) -> dict[str, Any]:
    return {"id": m.id, "user_id": m.user_id, "username": m.user.username, "name": m.user.name, "role": m.role}


def sign_in_url(token: str) -> str:
    return url_for("auth.sign_in_link", token=token, _external=True)


@blp.route("/courses")
class CourseCreate(MethodView):
    @require("courses:write", roles=INSTRUCTORS)
    @blp.arguments(CourseIn)
    @blp.response(201, CourseOut)
    def post(self, body):
        """Create a course (instructors and administrators); you become its instructor. 409 if the code is
        taken."""
        course = roster.create_course(current_user(), body["code"], body["title"])
        return {"id": course.id, "code": course.code, "title": course.title, "role": "instructor"}


@blp.route("/courses/<int(max=2147483647):course_id>")
class CourseEdit(MethodView):
    @require("courses:write")
    @blp.arguments(CoursePatch)
    @blp.response(200, CourseOut)
    def patch(self, body, course_id: int):
        """Change the course's title (its instructors)."""
        course, role = course_for(current_user(), course_id, instructor=True)
        roster.update_course(course, title=body["title"])
        return {"id": course.id, "code": course.code, "title": course.title, "role": role}


@blp.route("/users")
class Users(MethodView):
    @require("users:write", roles=INSTRUCTORS)
    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    def post(self, body):
        """Create an account (an instructor's token needs the users:write scope). Without a password the answer
        holds a one-time sign-in link. 409 if the username is taken."""
        caller: User = current_user()
        if body["role"] != "student" and caller.role != "admin":
            raise ServiceError(403, "forbidden", "only an administrator may create instructor or admin "
                               "accounts", {"role": ["only an administrator may give this role"]})
        password = body.get("password")
        user = roster.create_user(body["username"], body["name"], body["role"], password, body["email"])
        link = None if password is not None else sign_in_url(roster.sign_in_token(user))
        return {"id": user.id, "username": user.username, "name": user.name, "email": user.email,
                "role": user.role, "sign_in_url": link}


@blp.route("/courses/<int(max=2147483647):course_id>/memberships/<string(maxlength=80):username>")
class MembershipItem(MethodView):
    @require("courses:write")
    @blp.arguments(RolePatch)
    @blp.response(200, MembershipOut)
    def patch(self, body, course_id: int, username: str):
        """Change a member's role (student, ta, instructor). 409 for the course's last instructor."""
        course, _ = course_for(current_user(), course_id, instructor=True)
        return _membership_out(roster.change_role(course, username, body["role"]))

    @require("courses:write")
    @blp.response(204)
    def delete(self, course_id: int, username: str):
        """Remove someone from the course; their submissions stay. 409 for the course's last instructor."""
        course, _ = course_for(current_user(), course_id, instructor=True)
        roster.remove_member(course, username)
        return None
