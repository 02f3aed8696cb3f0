"""A regrade's plan (grader.service.regrade computes it): each submission's outcome, the problem-set totals that
move, the report the API, the pages and the CLI show, and the token a commit carries back.

    totals_that_move(assignment, entries) -> [TotalMove]: the students whose set total moves, i.e. whose LMS grade
                                             is to be sent again (the LMS outbox reads this list)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select

from grader.errors import ServiceError
from grader.models import Assignment, Submission, User, db

# What happens to one submission: applied (CHANGED), or left as it is, saying why.
CHANGED, SAME = "changed", "same"
KEPT_OVERRIDDEN, KEPT_NEVER_LOWER = "kept: overridden", "kept: never lower"
NUMBERS_DIFFER, NOT_GRADABLE = "numbers differ", "not gradable"
MAX_PLAN_IDS = 1_000_000


def _invalid(name: str, message: str) -> ServiceError:
    return ServiceError(422, "validation_error", message, {name: [message]})


@dataclass
class Entry:
    """One submission in the plan: its values now and after, and the outcome (CHANGED is applied)."""

    submission_id: int
    user_id: int
    item_id: int
    attempt: int
    outcome: str
    old_score: float | None
    old_points: float | None
    old_mistakes: list[str]
    old_version_id: int
    old_feedback: dict[str, Any] | str | None = field(repr=False)  # or its JSON text, as read
    new_score: float | None = None
    new_points: float | None = None
    new_mistakes: list[str] = field(default_factory=list)
    new_version_id: int | None = None
    new_feedback: dict[str, Any] | str | None = field(default=None, repr=False)  # or its JSON text, as kept
    note: str = ""
    late: bool = False
    feedback_digest: str = ""  # MD5 of the feedback's JSON text as read: the commit checks it is still that

    @property
    def score_moves(self) -> bool:
        return self.new_score is not None and self.new_score != self.old_score


@dataclass
class TotalMove:
    user_id: int
    username: str
    old: float | None
    new: float | None


@dataclass
class Plan:
    assignment: Assignment
    request: Any  # grader.service.regrade.RegradeRequest
    entries: list[Entry]
    fingerprint: str
    submission_ids: list[int]
    usernames: dict[int, str]
    totals: list[TotalMove]
    terms: str = ""  # the digest of the regrade's terms alone (grader.service.regrade.terms_of)

    @property
    def changed(self) -> list[Entry]:
        return [e for e in self.entries if e.outcome == CHANGED]

    def counts(self) -> dict[str, int]:
        counts = {"read": len(self.entries), "changed": 0, "students": 0, "scores_move": 0, "totals_move":
                  len(self.totals)}
        for entry in self.entries:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        counts.pop(CHANGED, None), counts.pop(SAME, None)
        changed = self.changed
        counts.update(changed=len(changed), students=len({e.user_id for e in changed}),
                      scores_move=sum(e.score_moves for e in changed))
        return counts

    def summary(self, verb: str = "would change") -> str:
        counts = self.counts()
        return (f"{verb} {counts['changed']} submission{'s' * (counts['changed'] != 1)} of {counts['students']} "
                f"student{'s' * (counts['students'] != 1)}")

    def token(self) -> str:
        """What a commit carries back: the fingerprint and the ids of the rows this plan read (deltas,
        compressed), so that submissions stored after the dry run are left out rather than refused."""
        ids = self.submission_ids
        deltas = ",".join(str(b - a) for a, b in zip([0, *ids], ids, strict=False))
        packed = base64.urlsafe_b64encode(zlib.compress(deltas.encode(), 9)).decode().rstrip("=")
        body = f"{self.fingerprint}.{packed}"
        return f"{body}.{_signature(body)}"

    def report(self, limit: int | None = None) -> dict[str, Any]:
        """The dry run's answer, as the API, the page and the CLI show it (`limit`: at most so many rows)."""
        name = self.usernames.get
        shown = [e for e in self.entries if e.outcome != SAME]
        return {
            "summary": self.summary(), "counts": self.counts(), "fingerprint": self.fingerprint,
            "plan": self.token(),
            "entries": [{"submission_id": e.submission_id, "user": name(e.user_id, str(e.user_id)),
                         "item_id": e.item_id, "attempt": e.attempt, "outcome": e.outcome, "note": e.note,
                         "old_score": e.old_score, "new_score": e.new_score, "old_points": e.old_points,
                         "new_points": e.new_points, "old_mistakes": e.old_mistakes, "new_mistakes": e.new_mistakes}
                        for e in shown[:limit]],
            "entries_left_out": max(0, len(shown) - limit) if limit is not None else 0,
            "totals": [{"user": t.username, "old": t.old, "new": t.new} for t in self.totals],
            "lms_resend": [t.username for t in self.totals],
            "numbers_differ": sorted({name(e.user_id, "") for e in self.entries if e.outcome == NUMBERS_DIFFER}),
            "kept_overridden": sorted({name(e.user_id, "") for e in self.entries if e.outcome == KEPT_OVERRIDDEN}),
        }


def _signature(body: str) -> str:
    """The service's own mark on a plan (keyed by SECRET_KEY): a commit names a plan a dry run answered, and
    anything else (mistyped, truncated, made up) is refused at once, not by the job after a 202."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"regrade-plan:" + body.encode(), hashlib.sha256).hexdigest()[:32]


def read_token(token: Any) -> tuple[str, list[int]]:
    """The fingerprint and submission ids of Plan.token(); 422 naming `plan` for anything else."""
    bad = _invalid("plan", "give the `plan` of a dry run of this regrade, as it answered it")
    if (not isinstance(token, str) or not token.isascii() or token.count(".") != 2
            or len(token) > 4 * MAX_PLAN_IDS):
        raise bad
    body, signature = token.rsplit(".", 1)
    if not hmac.compare_digest(signature, _signature(body)):
        raise bad
    fingerprint, packed = body.split(".", 1)
    try:
        text = zlib.decompressobj().decompress(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)),
                                               8 * MAX_PLAN_IDS).decode()
        ids, last = [], 0
        for delta in filter(None, text.split(",")):
            last += int(delta)
            ids.append(last)
    except (ValueError, zlib.error, UnicodeDecodeError):
        raise bad from None
    if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint) or len(ids) > MAX_PLAN_IDS:
        raise bad
    return fingerprint, ids



def totals_that_move(assignment: Assignment, changed: Iterable[Entry],
                     usernames: dict[int, str] | None = None) -> list[TotalMove]:
    """The students whose problem-set total moves when these entries are applied (best or last attempt per
    exercise, as the set counts them): the LMS grades to send again. Students with a manual score for the set
    are never among them (their entries are kept, and the manual score is what counts). The totals before are
    from the entries' old points: a commit started again has written some of its rows already."""
    changed = list(changed)
    new_points = {e.submission_id: e.new_points for e in changed}
    old_points = {e.submission_id: e.old_points for e in changed}
    users = {e.user_id for e in changed}
    if not users:
        return []
    rows = db.session.execute(select(Submission.id, Submission.user_id, Submission.item_id, Submission.attempt,
                                     Submission.points).where(Submission.assignment_id == assignment.id,
                                                              Submission.attempt.is_not(None),
                                                              Submission.user_id.in_(users)))
    # (user, item) -> (attempt, points) of the attempt that counts, before and after
    old: dict[tuple[int, int], tuple[int, float]] = {}
    new: dict[tuple[int, int], tuple[int, float]] = {}
    last = assignment.scoring == "last"
    for sid, uid, item_id, attempt, points in rows:
        for book, value in ((old, old_points.get(sid, points) or 0.0), (new, new_points.get(sid, points) or 0.0)):
            held = book.get((uid, item_id))
            if held is None or (attempt > held[0] if last else value > held[1]):
                book[(uid, item_id)] = (attempt, value)
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for side, book in enumerate((old, new)):
        for (uid, _), (_, value) in book.items():
            sums[uid][side] += value
    if usernames is None or not users <= set(usernames):
        usernames = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(users))).all())
    moves = []
    for uid in sorted(users, key=lambda u: usernames[u]):
        before, after = (round(v, 6) for v in sums[uid])
        if before != after:
            moves.append(TotalMove(uid, usernames[uid], before, after))
    return moves
