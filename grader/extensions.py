"""Flask extensions, created once and bound to each app in the factory."""

from __future__ import annotations

import functools
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect
from limits import RateLimitItem, parse_many

from grader.models import User, db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Storage from RATELIMIT_STORAGE_URI (e.g. redis://127.0.0.1:6379 when several workers must share counts);
# in memory by default, per worker.
limiter = Limiter(get_remote_address)


@functools.lru_cache(maxsize=16)
def _parsed(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


def spend_submission(user_id: int) -> float | None:
    """Count one submission against the account's budget (SUBMIT_RATE_LIMIT; API and pages together):
    None while within it, else the seconds until it allows another.

    Grading is cheap, but format errors are stored without using an attempt and each code submission takes
    a sandbox slot, so an unthrottled script could fill the table or hold the pool while classmates wait
    before a deadline. Counted per account, not per address (a class behind one campus NAT must not share a
    budget), in Flask-Limiter's storage (RATELIMIT_STORAGE_URI) through its `limits` strategy directly: the
    route decorator cost ~0.35 ms a submission, this ~0.03 ms."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return None
    key = f"{config.get('RATELIMIT_KEY_PREFIX', '')}user:{user_id}"
    try:
        for item in _parsed(config["SUBMIT_RATE_LIMIT"]):
            if not limiter.limiter.hit(item, "submissions", key):
                reset_at, _ = limiter.limiter.get_window_stats(item, "submissions", key)
                return max(1.0, reset_at - time.time())
    except Exception:  # the store (Redis) is down: students keep submitting, unthrottled, and we say so
        current_app.logger.exception("rate-limit storage unavailable: submissions are not throttled")
    return None


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
