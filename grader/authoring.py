"""Exercises in the database: definitions stored as versions (editing makes a new one), who may change them,
the catalogue imported from files, and each stored version parsed once per process."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from grader import exercises as definitions
from grader.errors import ServiceError
from grader.models import Exercise, ExerciseVersion, User, db

_parsed: dict[int, tuple[dict[str, Any], definitions.Exercise]] = {}


def definition_of(version: ExerciseVersion) -> definitions.Exercise:
    """The validated definition of a stored version, parsed once per process. Versions never change once
    stored; comparing the document guards against ids reused by another database (tests, a restore)."""
    hit = _parsed.get(version.id)
    if hit is None or hit[0] != version.definition:
        if len(_parsed) > 1024:
            _parsed.clear()
        hit = _parsed[version.id] = (copy.deepcopy(version.definition), definitions.parse_exercise(version.definition))
    return hit[1]


def may_change(user: User, exercise: Exercise) -> bool:
    """Editing or deleting an exercise reaches every course that assigns it: its owner and administrators
    only. The catalogue (no owner) is changed by administrators, or by importing the files again."""
    return user.role == "admin" or (exercise.owner_id is not None and exercise.owner_id == user.id)


def require_may_change(user: User, exercise: Exercise) -> None:
    if not may_change(user, exercise):
        owner = "an administrator" if exercise.owner_id is None else "its author or an administrator"
        raise ServiceError(403, "not_owner", f"only {owner} may change exercise {exercise.slug}; to change it for "
                           "your course, create a copy under an id of your own", {"definition.id": ["not yours"]})


def save_exercise(document: dict[str, Any], user: User | None = None) -> tuple[Exercise, bool]:
    """Create an exercise, or a new version of it when the definition changed. Returns (exercise, changed).
    `user` (None: the command line) becomes the owner of a new exercise; the caller checks may_change
    before editing one. Raises DefinitionError (with paths) for an invalid document; nothing is stored then."""
    parsed = definitions.parse_exercise(document)
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == parsed.id))
    if exercise is None:
        exercise = Exercise(slug=parsed.id, title=parsed.title, kind=parsed.kind, current_version=1,
                            owner_id=user.id if user else None)
        db.session.add(exercise)
        version = 1
    else:
        if exercise.current.definition == document and not exercise.deleted:
            return exercise, False
        version = max(v.version for v in exercise.versions) + 1
        exercise.title, exercise.kind, exercise.current_version = parsed.title, parsed.kind, version
        exercise.deleted = False
    db.session.add(ExerciseVersion(exercise=exercise, version=version, definition=document,
                                   created_by=user.id if user else None))
    db.session.flush()
    return exercise, True


def import_catalogue(directory: str) -> list[tuple[str, bool]]:
    """Load every definition of a catalogue directory into the database (new versions where changed)."""
    results = []
    for exercise in definitions.load_catalogue(directory).values():
        row, changed = save_exercise(exercise.document)
        results.append((row.slug, changed))
    db.session.commit()
    return results
