"""Flask extensions, created once and bound to each app in the factory."""

from __future__ import annotations

from flask import Flask
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
