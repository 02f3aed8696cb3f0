"""Sign in and out with a username and password (Flask-Login session, Flask-WTF form with a CSRF token), by a
one-time sign-in link (grader.roster makes them), and change one's own password."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from grader import roster
from grader.errors import ServiceError
from grader.extensions import limiter
from grader.models import User, db
from grader.web import stale_form, too_many_requests

bp = Blueprint("auth", __name__)
bp.register_error_handler(429, too_many_requests)
bp.register_error_handler(CSRFError, stale_form)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: `next` must not send a fresh login to someone else's page."""
    if not target or any(ord(c) < 32 or ord(c) == 127 for c in target):  # urlsplit drops CR/LF/tab silently
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


_UNKNOWN_USER_HASH = generate_password_hash(secrets.token_hex(16))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])  # password guessing
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("student.index"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        # No username holds a NUL byte (and PostgreSQL cannot even compare one): no such user.
        user = None if "\x00" in username else db.session.scalar(select(User).where(User.username == username))
        # Check a password even for an unknown user, so the time taken does not tell which usernames exist.
        password_hash = user.password_hash if user is not None else _UNKNOWN_USER_HASH
        if check_password_hash(password_hash, form.password.data) and user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("student.index"))
        # One message for both cases, so the form does not tell which usernames exist.
        flash("Wrong username or password.", "error")
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[Length(max=roster.MAX_PASSWORD)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[
        DataRequired(), Length(min=roster.MIN_PASSWORD, max=roster.MAX_PASSWORD)],
        render_kw={"autocomplete": "new-password"})
    again = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new", message="The two new passwords differ: type the same one twice.")],
        render_kw={"autocomplete": "new-password"})


# Set by a one-time sign-in link: that person knows no password yet, so the form asks for no current one.
CHOOSING = "choosing_password"


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])  # guessing the current one
def change_password() -> str | Response | tuple[str, int]:
    form = PasswordForm()
    choosing = session.get(CHOOSING) == current_user.id
    if form.validate_on_submit():
        try:
            if choosing:
                roster.set_password(current_user, form.new.data)
            else:
                roster.change_password(current_user, form.current.data or "", form.new.data)
        except ServiceError as exc:
            form.current.errors = [exc.message] if "current" in exc.errors else []
            form.new.errors = [] if "current" in exc.errors else [exc.message]
        else:
            session.pop(CHOOSING, None)
            flash("Your password is changed.", "info")
            return redirect(url_for("student.index"))
    status = 422 if form.errors or form.current.errors or form.new.errors else 200
    return render_template("password.html", form=form, choosing=choosing), status


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def sign_in_link(token: str) -> str | Response | tuple[str, int]:
    """Sign in by a one-time link, then choose a password. Opening the link only shows a button: a mail
    scanner that fetches links must not spend it; the button's POST (with the CSRF token) does."""
    if request.method == "GET":
        return render_template("sign_in_link.html")
    try:
        user = roster.use_sign_in_token(token)
    except ServiceError as exc:
        return render_template("problem.html", message=exc.message), exc.status
    logout_user()
    login_user(user)
    session[CHOOSING] = user.id
    flash("Welcome! Choose a password now: the link you used works only once.", "info")
    return redirect(url_for("auth.change_password"))
