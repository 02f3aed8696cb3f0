"""Exercises in the database: definitions stored as versions (editing makes a new one), who may change them,
the catalogue imported from files, and each stored version parsed once per process."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader import exercises as definitions
from grader.errors import ServiceError
from grader.models import Assignment, AssignmentItem, Course, Exercise, ExerciseVersion, Membership, User, Variant, db

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


def save_exercise(document: dict[str, Any], user: User | None = None,
                  parsed: definitions.Exercise | None = None) -> tuple[Exercise, bool]:
    """Create an exercise, or a new version of it when the definition changed. Returns (exercise, changed).
    `user` (None: the command line) becomes the owner of a new exercise; the caller checks may_change
    before editing one. Raises DefinitionError (with paths) for an invalid document; nothing is stored then.
    `parsed` is the document already parsed (the catalogue's files are), so it is not parsed twice."""
    if parsed is None:
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
        # a copy: the parsed catalogue is shared by later imports of this process
        row, changed = save_exercise(copy.deepcopy(exercise.document), parsed=exercise)
        results.append((row.slug, changed))
    db.session.commit()
    return results


# --- the instructor workspace: validated saves, versions, seed stability, question tests ---------------------

CHECK_SEEDS_ON_SAVE = 20  # question tests run on save (the page and API run 100 on demand)
MAX_SOURCE_CHARS = 200_000
MAX_TENSOR_ENTRIES = 10_000  # an authored tensor larger than this is refused (the preview solves it in process)


def validated(document: dict[str, Any], *, stored: bool = True) -> definitions.Exercise:
    """Parse (DefinitionError with the paths) and check the size; a definition to be `stored` must also draw
    variants (degenerate or overflowing numbers are the author's to fix, not a student's 500)."""
    parsed = definitions.parse_exercise(document)
    check_size(parsed)
    if stored:
        definitions.check_drawable(parsed)
    return parsed


def check_size(exercise: definitions.Exercise) -> None:
    """Refuse definitions whose tensors could be huge (the largest draw of each dimension)."""
    largest: dict[str, int] = {}
    for name, spec in exercise.dims.items():
        if isinstance(spec, int):
            largest[name] = spec
        elif "integers" in spec:
            largest[name] = int(spec["integers"][1])
        else:
            largest[name] = int(max(spec["choice"]))
    groups = {"inputs": exercise.inputs, "params": exercise.params, "upstream": exercise.upstream or {}}
    for group, specs in groups.items():
        for name, spec in specs.items():
            entries = math.prod(d if isinstance(d, int) else largest.get(d, 1) for d in spec["shape"])
            if entries > MAX_TENSOR_ENTRIES:
                raise ServiceError(422, "too_large", "the definition's tensors are too large", {
                    f"definition.{group}.{name}.shape": [f"at most {MAX_TENSOR_ENTRIES} entries when drawn"]})


def save_checked(document: dict[str, Any], user: User, *, source: str | None = None,
                 existing: Exercise | None = None, pool: Any = None) -> tuple[Exercise, bool]:
    """Store a definition from the workspace or the API: validated, owned, its YAML kept, its question tests
    run on CHECK_SEEDS_ON_SAVE seeds and kept with the version (failing ones make it a draft). Two saves of
    one slug racing let one win and answer the other 409, rather than the database's error."""
    parsed = validated(document)
    if existing is not None:
        require_may_change(user, existing)
        if parsed.id != existing.slug:
            raise ServiceError(422, "invalid_definition", "the definition's id must stay the exercise's id",
                               {"definition.id": [f"must be {existing.slug}"]})
    else:
        taken = db.session.scalar(select(Exercise).where(Exercise.slug == parsed.id))
        if taken is not None and not taken.deleted:
            raise ServiceError(409, "exists", f"exercise {parsed.id} exists: edit it, or choose another id",
                               {"definition.id": ["taken"]})
        if taken is not None:
            require_may_change(user, taken)
    try:
        exercise, changed = save_exercise(document, user)
        if changed:
            exercise.current.source = source
            exercise.current.checks = run_checks(parsed, CHECK_SEEDS_ON_SAVE, pool=pool)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(409, "conflict", "the exercise was changed by someone else at the same moment: read it "
                           "again and retry", {"definition.id": ["changed concurrently"]}) from None
    return exercise, changed


def run_checks(parsed: definitions.Exercise, seeds: int, *, pool: Any = None) -> dict[str, Any]:
    """The question-test report as stored and shown (grader.grading.question_tests)."""
    from grader.grading.question_tests import run_question_tests

    allow_weak = bool(current_app.config.get("SANDBOX_ALLOW_WEAK")) if current_app else False
    return run_question_tests(parsed, range(seeds), pool=pool, allow_weak=allow_weak).to_dict()


MAX_CHECK_SEEDS = {"numeric": 500, "code": 100}  # a run happens within the request: code runs the sandbox


def check_stored(exercise: Exercise, seeds: int, user: User, *, pool: Any = None) -> dict[str, Any]:
    """Run the question tests of the current version on demand. The report is kept with the version (what
    makes it a draft or not) only when its owner or an administrator ran it on at least as many seeds as a
    save does: anyone else's run, or a smaller one, is shown but changes nothing (`stored` says which)."""
    parsed = definition_of(exercise.current)
    limit = MAX_CHECK_SEEDS[parsed.kind]
    if not 1 <= seeds <= limit:
        raise ServiceError(422, "invalid", f"seeds must be from 1 to {limit} for a {parsed.kind} exercise",
                           {"seeds": [f"from 1 to {limit}"]})
    report = run_checks(parsed, seeds, pool=pool)
    stored = may_change(user, exercise) and seeds >= CHECK_SEEDS_ON_SAVE
    if stored:
        exercise.current.checks = report
        db.session.commit()
    return {**report, "stored": stored}


def require_assignable(exercise: Exercise, user: User | None = None) -> None:
    """Refuse (409) an exercise whose question tests failed: a draft, with the failures listed; and (404) one
    that `user` may not see (another instructor's own, not in the catalogue)."""
    if exercise.deleted or (user is not None and not may_see(user, exercise)):
        raise ServiceError(422, "validation_error", "no such exercise", {"exercise": ["no such exercise"]})
    checks = exercise.current.checks
    if checks and not checks.get("passed", True):
        failures = checks.get("failures") or ["its question tests failed"]
        raise ServiceError(409, "exercise_draft", f"exercise {exercise.slug} cannot be assigned: its question tests "
                           "fail (" + "; ".join(failures[:5]) + "). Fix it and save, or run its tests again",
                           {"exercise": failures[:20]})


def takes_as_student(user: User, exercise: Exercise) -> str | None:
    """The course in which `user` is a student of an assignment of this exercise (None: nowhere). Staff who
    are students elsewhere see no solution of what they are graded on: not its worked solution, not its
    definition (which holds a code exercise's reference solution)."""
    return db.session.scalar(
        select(Course.code).join(Assignment, Assignment.course_id == Course.id)
        .join(AssignmentItem, AssignmentItem.assignment_id == Assignment.id)
        .join(Membership, (Membership.course_id == Course.id) & (Membership.user_id == user.id))
        .where(AssignmentItem.exercise_id == exercise.id, Membership.role == "student").limit(1))


def require_not_a_student_of(user: User, exercise: Exercise) -> None:
    course = takes_as_student(user, exercise)
    if course is not None:
        raise ServiceError(403, "takes_as_student", f"you take {exercise.slug} as a student in {course}: its "
                           "definition and solutions are hidden from you", {"exercise": ["yours to solve"]})


@dataclass
class Stability:
    """What saving an edit would do to the students who have already opened the exercise."""

    opened: int
    changed: list[str]  # usernames of those who would get other numbers or answers
    token: str = ""  # names this very edit of this very version: a confirmation is for it alone

    @property
    def message(self) -> str:
        return (f"{len(self.changed)} of {self.opened} students who opened it would get other numbers; their "
                "submissions keep the version they were graded against")


def seed_stability(exercise: Exercise, document: dict[str, Any]) -> Stability:
    """Compare, for every student who opened the exercise, their variant now and under `document`."""
    old = definition_of(exercise.current)
    new = definitions.parse_exercise(document)
    rows = db.session.execute(select(Variant.seed, User.username).join(User, User.id == Variant.user_id)
                              .where(Variant.exercise_id == exercise.id).order_by(User.username)).all()
    changed = [username for seed, username in rows if not _same_variant(old, new, seed)]
    token = hashlib.sha256(json.dumps([exercise.id, exercise.current_version, document], sort_keys=True,
                                      default=str).encode()).hexdigest()[:32]
    return Stability(len(rows), changed, token)


def _same_variant(old: definitions.Exercise, new: definitions.Exercise, seed: int) -> bool:
    try:
        a, b = definitions.make_variant(old, seed), definitions.make_variant(new, seed)
    except definitions.DegenerateVariantError:
        return False
    if a.dims != b.dims or not _same_arrays(a.leaves, b.leaves) or not _same_arrays(a.upstream, b.upstream):
        return False
    if len(old.asks) != len(new.asks):
        return False
    return all(np.array_equal(a.expected(x), b.expected(y)) for x, y in zip(old.asks, new.asks, strict=True))


def _same_arrays(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def source_of(version: ExerciseVersion) -> str:
    """The version's YAML: as its author wrote it, else its definition written out as YAML."""
    if version.source is not None:
        return version.source
    return yaml.safe_dump(version.definition, sort_keys=False, allow_unicode=True, width=100)


def diff_versions(exercise: Exercise, a: int, b: int) -> list[str]:
    """A unified diff of two versions' YAML (ServiceError 404 for a version that does not exist)."""
    versions = {v.version: v for v in exercise.versions}
    for number in (a, b):
        if number not in versions:
            raise ServiceError(404, "not_found", f"exercise {exercise.slug} has no version {number}",
                               {"version": [f"expected one of {', '.join(map(str, sorted(versions)))}"]})
    return list(difflib.unified_diff(source_of(versions[a]).splitlines(), source_of(versions[b]).splitlines(),
                                     f"version {a}", f"version {b}", lineterm=""))


def restore_version(exercise: Exercise, number: int, user: User, *, pool: Any = None) -> Exercise:
    """An old version saved again as the newest (nothing is rewritten: history only grows)."""
    require_may_change(user, exercise)
    old = next((v for v in exercise.versions if v.version == number), None)
    if old is None:
        raise ServiceError(404, "not_found", f"exercise {exercise.slug} has no version {number}",
                           {"version": ["no such version"]})
    saved, _ = save_checked(copy.deepcopy(old.definition), user, source=old.source, existing=exercise, pool=pool)
    return saved


def copy_exercise(exercise: Exercise, user: User, new_id: str, *, pool: Any = None) -> Exercise:
    """The current definition under an id of the user's own (they own the copy)."""
    document = copy.deepcopy(exercise.current.definition)
    document["id"] = new_id
    document["version"] = 1
    source = exercise.current.source
    if source is not None:
        source = re.sub(r"^id:.*$", f"id: {new_id}", source, count=1, flags=re.MULTILINE)
        source = re.sub(r"^version:.*$", "version: 1", source, count=1, flags=re.MULTILINE)
    saved, _ = save_checked(document, user, source=source, pool=pool)
    return saved


def may_see(user: User, exercise: Exercise) -> bool:
    """The workspace's library: the catalogue, one's own exercises and those used in one's courses."""
    if user.role == "admin" or exercise.owner_id is None or exercise.owner_id == user.id:
        return True
    return exercise.id in _taught_exercises(user)


def _taught_exercises(user: User) -> set[int]:
    courses = select(Membership.course_id).where(Membership.user_id == user.id,
                                                 Membership.role.in_(("instructor", "ta")))
    return set(db.session.scalars(select(AssignmentItem.exercise_id).join(Assignment).where(
        Assignment.course_id.in_(courses))))


def library(user: User, *, q: str = "", kind: str = "", op: str = "") -> list[Exercise]:
    """The exercises a member of staff may open, filtered by words of the title or id, kind and op."""
    query = select(Exercise).where(Exercise.deleted.is_(False)).order_by(Exercise.slug)
    if kind:
        query = query.where(Exercise.kind == kind)
    rows = list(db.session.scalars(query))
    if user.role != "admin":
        taught = _taught_exercises(user)  # once, not once per row
        rows = [e for e in rows if e.owner_id is None or e.owner_id == user.id or e.id in taught]
    if q:
        words = q.lower().split()
        rows = [e for e in rows if all(w in f"{e.slug} {e.title}".lower() for w in words)]
    if op:
        rows = [e for e in rows if op in {s.gate.name for s in definition_of(e.current).graph.steps}]
    return rows


def delete_exercise(exercise: Exercise, user: User) -> None:
    """Mark deleted: hidden from lists; its versions and submissions stay."""
    require_may_change(user, exercise)
    exercise.deleted = True
    db.session.commit()
