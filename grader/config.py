"""Configuration classes. Secrets come from the environment or the instance folder, never from the repo."""

from __future__ import annotations

import os


class Config:
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024  # a submission is numbers or a short function
    EXERCISES_DIR: str | None = os.environ.get("EXERCISES_DIR")
    SANDBOX_ALLOW_WEAK = os.environ.get("SANDBOX_ALLOW_WEAK") == "1"
    TESTING = False
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")  # sign-in attempts per address
    # Submissions per account (API and pages together); generous for a person, a wall for a script.
    SUBMIT_RATE_LIMIT = os.environ.get("SUBMIT_RATE_LIMIT", "20 per minute; 300 per hour")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True  # a rate-limit store that is down is logged and does not stop sign-in
    # A form's CSRF token lasts as long as the session: a backprop exercise can take more than the default hour.
    WTF_CSRF_TIME_LIMIT = None
    # Who may frame the pages (Content-Security-Policy frame-ancestors): this site only, unless an LMS that
    # embeds them is added, e.g. "'self' https://canvas.example.edu".
    FRAME_ANCESTORS = os.environ.get("FRAME_ANCESTORS", "'self'")
    SESSION_COOKIE_SAMESITE = "Lax"  # the session cookie is not sent with cross-site posts


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-only-not-a-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False  # tests sign in many times from one address; one test turns it on


class ProductionConfig(Config):
    # Cookies over HTTPS only; SESSION_COOKIE_SECURE=0 serves plain HTTP (a closed network, a local trial).
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") != "0"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
