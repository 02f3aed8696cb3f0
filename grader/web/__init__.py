"""The student pages: sign-in (auth) and courses, exercises, feedback and history (student).

Views are thin: every submission goes through grader.service, which grades and stores it.
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import TooManyRequests

from grader.extensions import login_manager
from grader.service import ServiceError


def stale_form(error: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token (the session ended, or it came from another site): say so and how
    to go on, rather than Flask's bare 400."""
    return render_template("stale_form.html", reason=error.description), 400


def service_problem(error: ServiceError) -> tuple[str, int]:
    """A refusal by the service outside a form post (those flash it): its message on a page, with its status."""
    return render_template("problem.html", message=error.message), error.status


def too_many_requests(error: TooManyRequests) -> tuple[str, int]:
    """A page rather than Flask's bare one: nothing was sent, and going back keeps what was typed.
    (Retry-After is added by Flask-Limiter.)"""
    return render_template("too_many.html", limit=getattr(error, "description", "")), 429


def init_web(app: Flask) -> None:
    from grader.web import auth, student

    app.register_blueprint(auth.bp)
    app.register_blueprint(student.bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
