"""The student pages: sign-in (auth) and courses, exercises, feedback and history (student).

Views are thin: every submission goes through grader.service, which grades and stores it.
"""

from __future__ import annotations

from flask import Flask

from grader.extensions import login_manager


def init_web(app: Flask) -> None:
    from grader.web import auth, student

    app.register_blueprint(auth.bp)
    app.register_blueprint(student.bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
