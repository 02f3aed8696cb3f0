"""The workspace's problem-set form (new and edit) and its overrides form: what was typed, read into the
service's terms with one message per field, and a refusal by the service put back on the field it names.
Nothing here stores anything; the pages hand what is read to grader.service."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

from grader.errors import ServiceError
from grader.models import Assignment
from grader.service import ItemSpec

ROWS = 8  # exercise rows of a new set; an edit shows its exercises and a few blank rows more
SPARE_ROWS = 3
MAX_ROWS = 100
MAX_DAYS = 3650
DATE_HELP = "expected a date and time such as 2026-12-31T23:59 (UTC)"
SETTINGS = ("title", "due_at", "late_policy", "late_penalty", "scoring", "solution_policy")
ROW_FIELDS = ("exercise", "points", "attempts", "order")


def date_value(when: datetime | None) -> str:
    """A stored (naive UTC) time as a datetime-local input's value."""
    return when.strftime("%Y-%m-%dT%H:%M") if when is not None else ""


def read_date(text: str) -> datetime | None:
    """A typed date and time in UTC (naive, as stored); None when blank; ValueError when it is not one."""
    text = text.strip()
    if not text:
        return None
    when = datetime.fromisoformat(text)
    try:
        return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo is not None else when
    except OverflowError:  # an offset that takes it past year 1 or 9999: not a date we can store
        raise ValueError(text) from None


def _number(text: str, default: float) -> float:
    value = float(text) if text.strip() else default
    if not math.isfinite(value):
        raise ValueError(text)
    return value


@dataclass
class SetForm:
    """The problem-set form as typed (`values`, `rows`) with its `errors` by field name (points-3, due_at...);
    once read without errors, `settings` and `items` in the service's terms."""

    values: dict[str, Any]
    rows: list[dict[str, str]]
    errors: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    items: list[ItemSpec] = field(default_factory=list)
    item_rows: list[int] = field(default_factory=list)  # the form row each item was typed on

    @classmethod
    def blank(cls) -> SetForm:
        values = {"title": "", "due_at": "", "late_policy": "reject", "late_penalty": "0", "scoring": "best",
                  "solution_policy": "after_due", "visible": True}
        return cls(values, [_blank_row(i) for i in range(ROWS)])

    @classmethod
    def of(cls, assignment: Assignment) -> SetForm:
        """The form filled with a set as it is (the edit page)."""
        values = {"title": assignment.title, "due_at": date_value(assignment.due_at),
                  "late_policy": assignment.late_policy, "late_penalty": f"{assignment.late_penalty:g}",
                  "scoring": assignment.scoring, "solution_policy": assignment.solution_policy,
                  "visible": assignment.visible}
        rows = [{"exercise": item.exercise.slug, "points": f"{item.points:g}",
                 "attempts": "" if item.attempt_limit is None else str(item.attempt_limit),
                 "order": str(index + 1)} for index, item in enumerate(assignment.items)]
        rows += [_blank_row(i) for i in range(len(rows), len(rows) + SPARE_ROWS)]
        return cls(values, rows)

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> SetForm:
        values: dict[str, Any] = {name: form.get(name, "").strip() for name in SETTINGS}
        values["visible"] = "visible" in form
        count = min(_int(form.get("rows"), ROWS), MAX_ROWS)
        rows = [{name: form.get(f"{name}-{i}", "").strip() for name in ROW_FIELDS} for i in range(count)]
        typed = cls(values, rows)
        typed._read_settings()
        typed._read_rows()
        return typed

    def _read_settings(self) -> None:
        values = self.values
        self.settings = {"title": values["title"], "late_policy": values["late_policy"],
                         "scoring": values["scoring"], "solution_policy": values["solution_policy"],
                         "visible": values["visible"]}
        try:
            self.settings["due_at"] = read_date(values["due_at"])
        except ValueError:
            self.errors["due_at"] = f"Due date: {DATE_HELP}, or left empty for none"
        try:
            self.settings["late_penalty"] = _number(values["late_penalty"], 0.0)
        except ValueError:
            self.errors["late_penalty"] = "Late penalty: expected a fraction of the score from 0 to 1, such as 0.2"

    def _read_rows(self) -> None:
        typed = []
        for index, row in enumerate(self.rows):
            if not row["exercise"]:
                continue  # a blank row
            number = index + 1
            try:
                points = _number(row["points"], 1.0)
            except ValueError:
                self.errors[f"points-{index}"] = f"Row {number}, points: expected a number such as 1 or 2.5"
                points = 0.0
            try:
                attempts = int(row["attempts"]) if row["attempts"] else None
            except ValueError:
                self.errors[f"attempts-{index}"] = (f"Row {number}, attempts: expected a whole number from 1, or "
                                                    "empty for the exercise's own limit")
                attempts = None
            try:
                order = int(row["order"]) if row["order"] else number
            except ValueError:
                self.errors[f"order-{index}"] = f"Row {number}, order: expected a whole number such as {number}"
                order = number
            typed.append((order, index, ItemSpec(row["exercise"], points, attempts)))
        typed.sort(key=lambda entry: entry[:2])
        self.items = [spec for _, _, spec in typed]
        self.item_rows = [index for _, index, _ in typed]
        if not self.items:
            self.errors["exercises"] = "Exercises: choose at least one exercise"

    def refused(self, error: ServiceError) -> None:
        """Put the service's refusal on the field it names (exercises.2.points: the row the third item was
        typed on), with its message."""
        message = error.message[:1].upper() + error.message[1:]
        for key in error.errors or {"exercises": []}:
            parts = key.split(".")
            if len(parts) == 3 and parts[0] == "exercises" and parts[1].isdigit() and int(parts[1]) < len(
                    self.item_rows):
                row = self.item_rows[int(parts[1])]
                self.errors[f"{parts[2]}-{row}"] = f"Row {row + 1}: {message}"
            else:
                self.errors[key if key in (*SETTINGS, "exercises") else "exercises"] = message


def _blank_row(index: int) -> dict[str, str]:
    return {"exercise": "", "points": "1", "attempts": "", "order": str(index + 1)}


def _int(text: str | None, default: int) -> int:
    try:
        return max(int(text or default), 0)
    except ValueError:
        return default


@dataclass
class OverrideForm:
    """The overrides form: which students, a due date or "N more days" after the set's, extra attempts."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    usernames: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    extra_attempts: int | None = None

    @classmethod
    def blank(cls) -> OverrideForm:
        return cls({"users": [], "due_at": "", "days": "", "extra_attempts": ""})

    @classmethod
    def read(cls, form: MultiDict[str, str], assignment: Assignment) -> OverrideForm:
        values = {"users": form.getlist("user")[:2000], "due_at": form.get("due_at", "").strip(),
                  "days": form.get("days", "").strip(), "extra_attempts": form.get("extra_attempts", "").strip()}
        typed = cls(values, usernames=[name for name in values["users"] if name])
        if not typed.usernames:
            typed.errors["user"] = "Students: tick at least one student"
        try:
            typed.due_at = read_date(values["due_at"])
        except ValueError:
            typed.errors["due_at"] = f"New due date: {DATE_HELP}"
        if values["days"]:
            typed._read_days(values["days"], assignment)
        if values["extra_attempts"]:
            try:
                typed.extra_attempts = int(values["extra_attempts"])
            except ValueError:
                typed.errors["extra_attempts"] = "Extra attempts: expected a whole number such as 2"
        if typed.due_at is None and typed.extra_attempts is None and not typed.errors:
            typed.errors["due_at"] = "Give a new due date, a number of more days or extra attempts (or both)"
        return typed

    def _read_days(self, text: str, assignment: Assignment) -> None:
        try:
            days = int(text)
        except ValueError:
            self.errors["days"] = "More days: expected a whole number of days such as 2"
            return
        if not 1 <= days <= MAX_DAYS:
            self.errors["days"] = f"More days: from 1 to {MAX_DAYS}"
        elif self.values["due_at"]:
            self.errors["days"] = "More days: give a new due date or a number of days, not both"
        elif assignment.due_at is None:
            self.errors["days"] = "More days: this problem set has no due date to add days to; give a date"
        elif assignment.due_at > datetime.max - timedelta(days=days):
            self.errors["days"] = "More days: that goes past the year 9999; give a date"
        else:
            self.due_at = assignment.due_at + timedelta(days=days)

    def refused(self, error: ServiceError) -> None:
        message = error.message[:1].upper() + error.message[1:]
        for key in error.errors or {"user": []}:
            self.errors[key if key in ("user", "due_at", "extra_attempts") else "user"] = message
