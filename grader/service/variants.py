"""A student's own numbers: the stored seed per (student, exercise), and the variant it draws."""

from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader import exercises as definitions
from grader.authoring import definition_of
from grader.errors import ServiceError
from grader.models import (
    Exercise,
    User,
    Variant,
    db,
)


def derive_seed(user_id: int, exercise_slug: str) -> int:
    digest = hashlib.blake2b(f"{user_id}:{exercise_slug}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def variant_for(user: User, exercise: Exercise) -> tuple[Variant, definitions.Variant]:
    """The student's stored seed (created on first use) and their variant of the current version."""
    row = db.session.scalar(select(Variant).where(Variant.user_id == user.id, Variant.exercise_id == exercise.id))
    if row is None:
        row = Variant(user_id=user.id, exercise_id=exercise.id, seed=derive_seed(user.id, exercise.slug))
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # created at the same moment by a concurrent request
            row = db.session.scalar(select(Variant).where(Variant.user_id == user.id,
                                                          Variant.exercise_id == exercise.id))
        db.session.commit()
    return row, cached_variant(definition_of(exercise.current), row.seed)


def seed_of(user: User, exercise: Exercise) -> int:
    """The student's seed without storing anything: their stored one, else the one their first visit will
    store (derived, so the same). For staff reading a student's numbers: a read must not write."""
    row = db.session.scalar(select(Variant.seed).where(Variant.user_id == user.id, Variant.exercise_id == exercise.id))
    return row if row is not None else derive_seed(user.id, exercise.slug)


_variants: dict[tuple[int, int], tuple[definitions.Exercise, definitions.Variant]] = {}


def cached_variant(exercise: definitions.Exercise, seed: int) -> definitions.Variant:
    """make_variant, remembered: a variant is a pure function of (definition, seed) and nothing mutates it,
    and drawing and solving it is a good part of answering a submission."""
    key = (id(exercise), seed)
    hit = _variants.get(key)
    if hit is None or hit[0] is not exercise:  # the id of a parsed definition since dropped from the cache
        if len(_variants) > 4096:
            _variants.clear()
        try:
            variant = definitions.make_variant(exercise, seed)
        except definitions.DegenerateVariantError as exc:  # stored before definitions were checked for this
            current_app.logger.error("exercise %s cannot draw seed %d: %s", exercise.id, seed, exc)
            raise ServiceError(503, "exercise_unavailable", "this exercise cannot draw your numbers (its "
                               "definition needs fixing); nothing was recorded, tell your instructor") from None
        hit = _variants[key] = (exercise, variant)
    return hit[1]
