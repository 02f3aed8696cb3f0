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
    SESSION_COOKIE_SAMESITE = "Lax"  # the session cookie is not sent with cross-site posts (LTI: grader.lti.frames)
    PROXY_FIX = os.environ.get("PROXY_FIX") == "1"  # behind one TLS-terminating proxy: trust X-Forwarded-Proto/Host
    # Where code is graded: "local" (this process's sandbox pool, the embedded default) or "celery" (grading
    # workers on other hosts; see docs/deploy.md). Without a broker, jobs run in this process (eager).
    GRADING_BACKEND = os.environ.get("GRADING_BACKEND", "local")
    CELERY_BROKER_URL: str | None = os.environ.get("CELERY_BROKER_URL")
    CELERY_RESULT_BACKEND: str | None = os.environ.get("CELERY_RESULT_BACKEND")
    # A delivered task not acknowledged within this time (its worker died) is delivered again (Redis).
    CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "600"))
    CELERY_KEY_PREFIX = os.environ.get("CELERY_KEY_PREFIX", "")  # Redis keys of this deployment's queues
    GRADING_QUEUE = os.environ.get("GRADING_QUEUE", "grading")
    DEFAULT_QUEUE = os.environ.get("DEFAULT_QUEUE", "default")
    SUBMIT_WAIT_S = float(os.environ.get("SUBMIT_WAIT_S", "2"))  # the API waits this long for a queued result
    REQUEUE_AFTER_S = float(os.environ.get("REQUEUE_AFTER_S", "120"))  # a submission queued longer is sent again
    # A course of at least this many students gets "Prepare CSV" (a background job with progress) on its
    # gradebook page instead of the direct download; the job reads the students this many at a time.
    GRADEBOOK_CSV_JOB_MIN_STUDENTS = int(os.environ.get("GRADEBOOK_CSV_JOB_MIN_STUDENTS", "200"))
    GRADEBOOK_CSV_CHUNK = int(os.environ.get("GRADEBOOK_CSV_CHUNK", "100"))
    # Where a regrade's dry run keeps its plan for the commit (grader.service.regrade_store): a redis:// URL or
    # a folder; by default the broker's Redis, else the instance folder. Kept this long (seconds).
    REGRADE_PLAN_STORE: str | None = os.environ.get("REGRADE_PLAN_STORE")
    REGRADE_PLAN_TTL_S = int(os.environ.get("REGRADE_PLAN_TTL_S", str(24 * 3600)))
    # A regrade's commit writes this many batches at once on PostgreSQL (grader.service.regrade_commit).
    REGRADE_WRITERS = int(os.environ.get("REGRADE_WRITERS", "2"))


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
