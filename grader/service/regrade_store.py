"""Where a dry run keeps its plan until it is committed (Moodle's model: the commit applies what the dry run
worked out, it does not grade everything again). Outside the database, so that a dry run changes no row: in
Redis where the deployment has it (the broker's, shared by the web hosts and the workers), else in the instance
folder (one host: the embedded default, whose jobs run in the web process).

    keep(plan)                      after a dry run; a store that is down is logged and the commit grades again
    fetch(fingerprint, set, ids) -> Kept: the plan with that fingerprint over those rows, or None

A kept plan is the dry run's outcome of each row and the values it read then; the commit checks those values
against the rows (grader.service.regrade_check.verified_plan) before writing. It is signed with SECRET_KEY (a plan
changed in the store, or kept by another deployment, is not used) and expires after REGRADE_PLAN_TTL_S. When it
is missing the commit plans again, grading every row, and checks the fingerprint: slower, never wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from grader.service.regrade_plan import Entry, Plan, TotalMove

log = logging.getLogger(__name__)

# An entry as kept (its new feedback apart): what the dry run read of the row, and its outcome. FORMAT changes
# with these fields: a plan kept in another format (by the code before a deploy) is not read, but graded again.
FORMAT = 1
_FIELDS = ("submission_id", "user_id", "item_id", "attempt", "outcome", "old_score", "old_points", "old_mistakes",
           "old_version_id", "late", "new_score", "new_points", "new_mistakes", "new_version_id", "note",
           "feedback_digest")


def _location() -> str:
    configured = current_app.config.get("REGRADE_PLAN_STORE")
    if configured:
        return configured
    broker = current_app.config.get("CELERY_BROKER_URL") or ""
    return broker if broker.startswith(("redis://", "rediss://")) else str(Path(current_app.instance_path)
                                                                            / "regrade-plans")


def _key(fingerprint: str) -> str:
    """The plan's name: its fingerprint within this deployment's database (two deployments sharing a Redis, or
    tests on two databases, never read each other's plans)."""
    database = str(current_app.config["SQLALCHEMY_DATABASE_URI"]).encode()
    return hashlib.sha256(database + b"\0" + fingerprint.encode()).hexdigest()[:40]


def _seal(key: str, body: bytes) -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"regrade-stored-plan:" + key.encode() + b"\0" + body, hashlib.sha256).digest()


def keep(plan: Plan) -> None:
    """Keep the plan for its commit; on failure (the store down or full) log it: the commit grades again."""
    # One line of JSON with the entries, then one line per entry with its new feedback's JSON text (which has no
    # raw newline), so that the commit parses the small part and passes the feedback on as the text it is.
    try:
        head = json.dumps({"format": FORMAT, "fingerprint": plan.fingerprint, "assignment_id": plan.assignment.id,
                           "terms": plan.terms, "totals": [[t.user_id, t.username, t.old, t.new] for t in plan.totals],
                           "entries": [[getattr(e, name) for name in _FIELDS] for e in plan.entries]},
                          separators=(",", ":"))
        feedback = [json.dumps(e.new_feedback, separators=(",", ":")) if e.new_feedback is not None else ""
                    for e in plan.entries]
        body = zlib.compress("\n".join([head, *feedback]).encode(), 1)
        key = _key(plan.fingerprint)
        _backend().put(key, _seal(key, body) + body, int(current_app.config["REGRADE_PLAN_TTL_S"]))
    except Exception:  # noqa: BLE001  (anything the store raises: the plan is an optimisation, not the truth)
        log.warning("regrade plan %s not kept: its commit will grade again", plan.fingerprint[:12], exc_info=True)


@dataclass
class Kept:
    entries: list[Entry]  # their new feedback as JSON text
    terms: str  # the digest of the regrade's terms (grader.service.regrade.terms_of)
    totals: list[TotalMove]  # the problem-set totals the dry run said would move


def fetch(fingerprint: str, assignment_id: int, ids: list[int]) -> Kept | None:
    """The kept plan with this fingerprint for this set over exactly these rows, else None."""
    key = _key(fingerprint)
    try:
        sealed = _backend().get(key)
    except Exception:  # noqa: BLE001
        log.warning("regrade plan %s not read: grading again", fingerprint[:12], exc_info=True)
        return None
    if sealed is None or len(sealed) < 32 or not hmac.compare_digest(sealed[:32], _seal(key, sealed[32:])):
        return None
    try:
        head, *feedback = zlib.decompress(sealed[32:]).decode().split("\n")
        kept = json.loads(head)
        if (kept.get("format") != FORMAT or kept["fingerprint"] != fingerprint
                or kept["assignment_id"] != assignment_id or len(feedback) != len(kept["entries"])):
            return None  # kept by another version of this code (a deploy between the dry run and its commit)
        entries = [Entry(**dict(zip(_FIELDS, row, strict=True)), old_feedback=None, new_feedback=text or None)
                   for row, text in zip(kept["entries"], feedback, strict=True)]
        totals = [TotalMove(*total) for total in kept["totals"]]
    except (ValueError, KeyError, TypeError, zlib.error):
        log.warning("regrade plan %s unreadable: grading again", fingerprint[:12], exc_info=True)
        return None
    if [e.submission_id for e in entries] != ids:
        return None
    return Kept(entries, kept["terms"], totals)


class _Redis:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self.prefix = current_app.config.get("CELERY_KEY_PREFIX", "") + "gradgate:regrade-plan:"

    def put(self, key: str, value: bytes, ttl: int) -> None:
        self.client.set(self.prefix + key, value, ex=ttl)

    def get(self, key: str) -> bytes | None:
        return self.client.get(self.prefix + key)


class _Folder:
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def put(self, key: str, value: bytes, ttl: int) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        now = time.time()
        for old in self.path.glob("*.plan"):  # the expired ones go when a new one comes
            if now - old.stat().st_mtime > ttl:
                old.unlink(missing_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path, prefix=".plan.")
        with os.fdopen(fd, "wb") as out:
            out.write(value)
        os.replace(temporary, self.path / f"{key}.plan")  # whole or not at all, for a job reading it

    def get(self, key: str) -> bytes | None:
        path = self.path / f"{key}.plan"
        try:
            if time.time() - path.stat().st_mtime > int(current_app.config["REGRADE_PLAN_TTL_S"]):
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None


def _backend() -> Any:
    location = _location()
    stores = current_app.extensions.setdefault("regrade_plan_stores", {})
    if location not in stores:
        stores[location] = _Redis(location) if location.startswith(("redis://", "rediss://")) else _Folder(location)
    return stores[location]
