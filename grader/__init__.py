"""Gradgate: an auto-graded exercise service for learning backpropagation."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, jsonify

from grader.config import CONFIGS


def _instance_secret_key(instance_path: str) -> str:
    """Read the instance folder's secret key, creating one on first start (never kept in the repo)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Application factory: `config` is development, testing or production (default: GRADGATE_CONFIG)."""
    app = Flask(__name__, instance_relative_config=True)
    name = config or os.environ.get("GRADGATE_CONFIG", "development")
    app.config.from_object(CONFIGS[name])
    app.config.from_pyfile("config.py", silent=True)
    if overrides:
        app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "gradgate.db")
    if not app.config.get("MIGRATIONS_DIR"):
        app.config["MIGRATIONS_DIR"] = str(Path(app.root_path).parent / "migrations")
    if not app.config.get("EXERCISES_DIR"):
        app.config["EXERCISES_DIR"] = str(Path(app.root_path).parent / "exercises")

    from grader.extensions import init_extensions

    init_extensions(app)

    from grader.api import init_api

    init_api(app)

    from grader.web import init_web

    init_web(app)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    from grader import cli

    cli.init_app(app)
    return app
