"""Flask extensions, created once and bound to each app in the factory."""

from __future__ import annotations

from flask import Flask, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from grader.models import User, db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Storage from RATELIMIT_STORAGE_URI (e.g. redis://127.0.0.1:6379 when several workers must share counts);
# in memory by default, per worker.
limiter = Limiter(get_remote_address)


def _submitter() -> str:
    """Submissions are counted per account (API token or signed-in session), not per address: a class behind
    one campus NAT must not share a budget. Views apply the limit after authenticating."""
    import flask_login

    user = g.get("api_user") or flask_login.current_user
    return f"user:{user.id}" if getattr(user, "is_authenticated", False) else get_remote_address()


# One budget for every way of submitting (API and pages). Grading is cheap, but format errors are stored
# without using an attempt and each code submission takes a sandbox slot, so an unthrottled script could
# fill the table or hold the pool while classmates wait before a deadline.
limit_submissions = limiter.shared_limit(lambda: current_app.config["SUBMIT_RATE_LIMIT"], scope="submissions",
                                         key_func=_submitter, methods=["POST"])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"],
                     render_as_batch=True)  # batch mode lets SQLite alter tables
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
