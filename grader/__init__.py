"""Gradgate: an auto-graded exercise service for learning backpropagation."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from grader.config import CONFIGS


def _instance_secret_key(instance_path: str) -> str:
    """Read the instance folder's secret key, creating one on first start (never kept in the repo).

    Several workers may start at once: the key is written to a private temporary file and linked into place,
    which fails for all but the first, so every worker reads the same complete key."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")  # created with mode 0600
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.close(fd)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


class ConfigError(ValueError):
    """A setting the service cannot start with; the message says which and what was expected."""


def create_app(config: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Application factory: `config` is development, testing or production (default: GRADGATE_CONFIG)."""
    # The instance folder holds the secret key and the SQLite database (password hashes): by default
    # instance/ beside the code; GRADGATE_INSTANCE puts it elsewhere (e.g. /var/lib/gradgate).
    instance = os.environ.get("GRADGATE_INSTANCE")
    app = Flask(__name__, instance_relative_config=True, instance_path=os.path.abspath(instance) if instance else None)
    name = config or os.environ.get("GRADGATE_CONFIG", "development")
    if name not in CONFIGS:
        raise ConfigError(f"GRADGATE_CONFIG is {name!r}: expected one of {', '.join(CONFIGS)}")
    app.config.from_object(CONFIGS[name])
    app.config.from_pyfile("config.py", silent=True)
    app.config["CONFIG_NAME"] = name
    if overrides:
        app.config.update(overrides)
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)  # new: readable by the service only
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app.instance_path)
    # DATABASE_URL from the environment, else from instance/config.py, else SQLite in the instance folder.
    app.config["SQLALCHEMY_DATABASE_URI"] = (app.config.get("SQLALCHEMY_DATABASE_URI") or app.config.get("DATABASE_URL")
                                             or "sqlite:///" + str(Path(app.instance_path) / "gradgate.db"))
    if any(c in app.config["FRAME_ANCESTORS"] for c in "\r\n"):
        raise ConfigError("FRAME_ANCESTORS must be one line of origins, e.g. 'self' https://lms.example.edu")
    try:
        make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL is not a database URL: {app.config['SQLALCHEMY_DATABASE_URI']!r} "
                          "(e.g. postgresql://user@host:5432/gradgate or sqlite:////path/gradgate.db)") from None
    if not app.config.get("MIGRATIONS_DIR"):
        app.config["MIGRATIONS_DIR"] = str(Path(app.root_path).parent / "migrations")
    if not app.config.get("EXERCISES_DIR"):
        app.config["EXERCISES_DIR"] = str(Path(app.root_path).parent / "exercises")

    from grader.extensions import init_extensions
    from grader.headers import init_headers

    init_extensions(app)
    init_headers(app)

    from grader.jobs import init_celery

    init_celery(app)

    from grader.api import init_api

    init_api(app)

    from grader.web import init_web

    init_web(app)

    from grader.instructor import bp as instructor

    app.register_blueprint(instructor)

    from grader.lti import init_lti

    init_lti(app)

    @app.get("/healthz")
    def healthz():
        """The web process answers (200); with a broker, also what it sees of the background work: one that does not
        answer, or grading with no worker seen, is "degraded" (still 200: this web host itself can serve)."""
        if not app.config.get("CELERY_BROKER_URL"):  # the embedded default: jobs run in this process
            return jsonify(status="ok")
        from grader.jobs.health import jobs_health

        jobs = jobs_health(app)
        grading_stuck = jobs.get("backend") == "celery" and "workers" in jobs and not jobs["workers"]
        degraded = str(jobs.get("broker", "")).startswith("unreachable") or grading_stuck
        return jsonify(status="degraded" if degraded else "ok", jobs=jobs)

    from grader import cli

    cli.init_app(app)
    return app
