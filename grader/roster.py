"""Courses, memberships, accounts and passwords: the one place that changes them (pages, API and CLI call it).

Who may call what is the caller's check (a page or a route knows who is signed in); these functions check the
request itself: a known role, a free code or username, a member to remove, a course keeping an instructor.
Refusals are `ServiceError`s with the status the API answers and a message a page can show as is.

New accounts get a one-time sign-in link rather than a password sent around: a signed, expiring token over
the account's id and a fingerprint of its password hash, so it needs no table and dies as soon as the
password changes. Using it (`use_sign_in_token`) replaces the password with an unknown one, so a link works
once, and the person then chooses a password. Email addresses (CSV, API) are kept for the course's staff to
see (roster, a student's work, the gradebook's CSV); Gradgate sends no mail.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from grader.errors import ServiceError
from grader.models import COURSE_ROLES, ROLES, Course, Membership, User, db

MIN_PASSWORD = 8
MAX_PASSWORD = 200
SIGN_IN_DAYS = 14  # how long a one-time sign-in link stays usable
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,79}$")  # for new accounts: safe in a URL path
CSV_COLUMNS = ("username", "name", "email", "role")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_CSV_ROWS = 2000


def _invalid(field_name: str, message: str) -> ServiceError:
    return ServiceError(422, "validation_error", message, {field_name: [message]})


def _check_role(role: str, roles: tuple[str, ...] = COURSE_ROLES) -> None:
    if role not in roles:
        raise _invalid("role", f"role must be one of {', '.join(roles)}, not {role!r}")


# --- courses ---------------------------------------------------------------------------------------------

def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not 1 <= len(title) <= 200:
        raise _invalid("title", "the title must be 1 to 200 characters")
    return title


def create_course(creator: User | None, code: str, title: str) -> Course:
    """A new course; its creator (None: the command line) becomes its instructor. 409 if the code is taken."""
    code = (code or "").strip()
    if not 1 <= len(code) <= 80 or any(c.isspace() for c in code):
        raise _invalid("code", "the code must be 1 to 80 characters without spaces, e.g. bp101")
    title = _check_title(title)
    if db.session.scalar(select(Course.id).where(Course.code == code)) is not None:
        raise ServiceError(409, "exists", f"a course with the code {code} already exists: choose another code",
                           {"code": ["already taken"]})
    course = Course(code=code, title=title)
    db.session.add(course)
    if creator is not None:
        db.session.add(Membership(course=course, user=creator, role="instructor"))
    db.session.commit()
    return course


def update_course(course: Course, *, title: str) -> Course:
    course.title = _check_title(title)
    db.session.commit()
    return course


# --- memberships -----------------------------------------------------------------------------------------

def find_user(username: str) -> User | None:
    if not username or "\x00" in username or len(username) > 80:
        return None  # PostgreSQL cannot compare a NUL; no username is longer
    return db.session.scalar(select(User).where(User.username == username))


def membership(course: Course, username: str) -> Membership:
    """The member `username` of the course; 404 if there is none."""
    user = find_user(username)
    found = None if user is None else db.session.scalar(
        select(Membership).where(Membership.course_id == course.id, Membership.user_id == user.id))
    if found is None:
        raise ServiceError(404, "not_found", f"{username} is not a member of {course.code}")
    return found


def members(course: Course) -> list[Membership]:
    return list(db.session.scalars(select(Membership).join(User).where(Membership.course_id == course.id)
                                   .order_by(Membership.role, User.username)))


def add_member(course: Course, username: str, role: str = "student", *, commit: bool = True) -> Membership:
    """Enroll an existing account; 422 if there is no such user, 409 if already a member."""
    _check_role(role)
    user = find_user(username.strip() if username else "")
    if user is None:
        raise _invalid("username", f"there is no account {username!r}: check the spelling, or create it first")
    if db.session.scalar(select(Membership.id).where(Membership.course_id == course.id,
                                                     Membership.user_id == user.id)) is not None:
        raise ServiceError(409, "exists", f"{user.username} is already a member of {course.code}",
                           {"username": ["already a member"]})
    added = Membership(course=course, user=user, role=role)
    db.session.add(added)
    if commit:
        db.session.commit()
    return added


def _instructors(course: Course) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.course_id == course.id, Membership.role == "instructor"))


def _keep_an_instructor(course: Course, leaving: Membership) -> None:
    if leaving.role == "instructor" and _instructors(course) <= 1:
        raise ServiceError(409, "last_instructor", f"{leaving.user.username} is the only instructor of "
                           f"{course.code}: make someone else instructor first")


def change_role(course: Course, username: str, role: str) -> Membership:
    _check_role(role)
    member = membership(course, username)
    if member.role != role:
        _keep_an_instructor(course, member)
        member.role = role
        db.session.commit()
    return member


def remove_member(course: Course, username: str) -> None:
    """Take someone out of the course. Their submissions stay (they belong to the assignments), and come back
    into view if they are enrolled again."""
    member = membership(course, username)
    _keep_an_instructor(course, member)
    db.session.delete(member)
    db.session.commit()


# --- accounts and passwords ------------------------------------------------------------------------------

def _unusable() -> str:
    """A password hash no password matches (werkzeug refuses its format), random so that replacing one with
    another still changes the fingerprint the sign-in links carry. Cheap: a CSV of hundreds of new accounts
    must not spend a second each on scrypt."""
    return "!" + secrets.token_hex(16)


def check_password_text(password: str, field_name: str = "password") -> None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise _invalid(field_name, f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def create_user(username: str, name: str = "", role: str = "student", password: str | None = None,
                email: str | None = None, *, commit: bool = True) -> User:
    """A new account. Without a password it gets an unknown one: hand out `sign_in_link` instead."""
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise _invalid("username", "the username must be 1 to 80 letters, digits or . _ @ + - "
                       "(starting with a letter or digit)")
    _check_role(role, ROLES)
    name = (name or "").strip()
    if len(name) > 200:
        raise _invalid("name", "the name must be at most 200 characters")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        raise _invalid("email", f"{email!r} is not an email address")
    if password is not None:
        check_password_text(password)
    if find_user(username) is not None:
        raise ServiceError(409, "exists", f"the username {username} is taken", {"username": ["already taken"]})
    user = User(username=username, name=name or username, email=email, role=role, password_hash=_unusable())
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """A person sets their own password; the current one is required (a signed-in browser left open must not
    be enough to take the account)."""
    if not user.check_password(current or ""):
        raise _invalid("current", "the current password is wrong")
    set_password(user, new)


def set_password(user: User, new: str) -> None:
    check_password_text(new, "new")
    user.set_password(new)
    db.session.commit()


def may_reset(actor: User, course: Course, target: User) -> bool:
    """An instructor of the course resets the password of a student account in it; administrators anyone's.
    Staff accounts (an instructor, a TA anywhere) only an administrator: resetting one would hand its rights in
    other courses to whoever resets it."""
    if actor.role == "admin":
        return True
    if actor.id == target.id or target.role != "student":
        return False
    roles = {m.course_id: m.role for m in target.memberships}
    return roles.get(course.id) == "student" and set(roles.values()) == {"student"}


def reset_password(actor: User, course: Course, username: str) -> str:
    """Invalidate the member's password (and every link given before) and return a new one-time sign-in
    token; 403 when `may_reset` says no."""
    target = membership(course, username).user
    if not may_reset(actor, course, target):
        raise ServiceError(403, "forbidden", f"only an administrator may reset {target.username}'s password "
                           "(a staff account, or one in other courses as staff)")
    target.password_hash = _unusable()
    db.session.commit()
    return sign_in_token(target)


# --- one-time sign-in links ------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="gradgate-sign-in")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def sign_in_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "p": _fingerprint(user)})


def use_sign_in_token(token: str) -> User:
    """The account a link signs into, spending the link (its password becomes an unknown one: the person
    chooses theirs next). 400 when the link is malformed, expired, used or superseded."""
    try:
        data = _serializer().loads(token, max_age=SIGN_IN_DAYS * 86400)
    except BadSignature:  # includes SignatureExpired
        data = None
    user = db.session.get(User, data["u"]) if isinstance(data, dict) and isinstance(data.get("u"), int) else None
    if user is None or data.get("p") != _fingerprint(user):
        raise ServiceError(400, "invalid_link", "this sign-in link is expired or was already used: ask your "
                           "instructor for a new one")
    user.password_hash = _unusable()
    db.session.commit()
    return user


# --- CSV import ------------------------------------------------------------------------------------------

@dataclass
class ImportReport:
    created: list[tuple[User, str]] = field(default_factory=list)  # new account, its sign-in token
    enrolled: list[User] = field(default_factory=list)  # accounts that existed, now members
    already: list[User] = field(default_factory=list)  # existing members (their role is left alone)
    errors: list[tuple[int, str]] = field(default_factory=list)  # line number, what was wrong


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")  # a spreadsheet's BOM is not part of the first column's name
    except UnicodeDecodeError as exc:
        raise _invalid("file", f"the file is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8") from None


def import_csv(course: Course, data: bytes | str) -> ImportReport:
    """Enroll each row (header: username, name, email, role), creating the missing accounts. A bad row is
    reported with its line number and never stops the others; only a file with no usable header is refused."""
    text = _decode(data).replace("\x00", "")
    first = text.partition("\n")[0]
    # Spreadsheets in many locales save CSV with semicolons: take them when the header has no comma.
    reader = csv.reader(io.StringIO(text), delimiter=";" if ";" in first and "," not in first else ",")
    header = next(reader, None)
    columns = [c.strip().lower() for c in header or []]
    if "username" not in columns:
        raise _invalid("file", "the first line must name the columns: username, name, email, role")
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        raise _invalid("file", f"unknown column(s) {', '.join(unknown)}: use username, name, email, role")
    report, seen = ImportReport(), set()
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(report.created) + len(report.enrolled) + len(report.already) + len(report.errors) >= MAX_CSV_ROWS:
            report.errors.append((line, f"more than {MAX_CSV_ROWS} rows: split the file"))
            break
        if len(row) > len(columns):
            report.errors.append((line, f"{len(row)} values for {len(columns)} columns (a comma inside a "
                                        "name needs quotes)"))
            continue
        values = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(columns)}
        username, role = values["username"], (values.get("role") or "student").lower()
        if not username:
            report.errors.append((line, "the username is empty"))
            continue
        if username in seen:
            report.errors.append((line, f"{username} appears twice: this row was skipped"))
            continue
        seen.add(username)
        try:
            _import_row(course, report, username, values.get("name", ""), values.get("email", ""), role)
        except ServiceError as exc:
            db.session.rollback()
            report.errors.append((line, exc.message))
    db.session.commit()
    return report


def _import_row(course: Course, report: ImportReport, username: str, name: str, email: str, role: str) -> None:
    _check_role(role)
    user = find_user(username)
    if user is None:
        site_role = "instructor" if role == "instructor" else "student"
        user = create_user(username, name, site_role, email=email, commit=False)
        add_member(course, username, role, commit=False)
        db.session.commit()  # each good row is kept even if a later one fails
        report.created.append((user, sign_in_token(user)))
    elif db.session.scalar(select(Membership.id).where(Membership.course_id == course.id,
                                                       Membership.user_id == user.id)) is not None:
        report.already.append(user)
    else:
        add_member(course, username, role)
        report.enrolled.append(user)
