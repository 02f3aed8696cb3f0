"""Preview of any variant: the student view exactly as a student gets it (the same prompt, graph, numbers and
answer boxes as grader.web.student builds them), beside the whole worked solution, and buttons that grade
without storing anything: the instructor's own answers, "fill in the correct answers" and "try a classic
mistake" (the feedback a student would get, with its gate outlined on the graph).

The seed comes from the URL (?seed=N), or is a student's own (?student=username) for "as they see it".
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import abort, current_app, render_template, request
from markupsafe import Markup

from grader import authoring, service
from grader import exercises as definitions
from grader.errors import ServiceError
from grader.grading.mistakes import candidates
from grader.instructor.worked import as_typed, worked_solution
from grader.models import Exercise, User, Variant, db
from grader.web.answers import answers_from_form, ask_views, label_tex, render_prompt
from grader.web.given import given_tensors
from grader.web.graph_svg import render_graph

MAX_SEED = 2**31 - 1


def _seed_and_student(exercise: Exercise, user: User) -> tuple[int, User | None]:
    values = request.form if request.method == "POST" else request.args
    username = (values.get("student") or "").strip()
    if username:
        from grader.instructor.views import students_of

        student = next((s for s in students_of(user) if s.username == username), None)
        if student is None:
            abort(404)  # not a student of this instructor's courses: no hint they exist
        row = db.session.query(Variant).filter_by(user_id=student.id, exercise_id=exercise.id).one_or_none()
        return (row.seed if row is not None else service.derive_seed(student.id, exercise.slug)), student
    raw = values.get("seed", "0").strip()
    if raw == "new":
        return secrets.randbelow(MAX_SEED), None
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 10) or int(raw) > MAX_SEED:
        raise ServiceError(422, "invalid", f"seed must be a whole number from 0 to {MAX_SEED}, got {raw[:20]!r}",
                           {"seed": ["not a seed"]})
    return int(raw), None


def mistake_choices(exercise: definitions.Exercise, variant: definitions.Variant) -> list[dict[str, Any]]:
    """Every classic mistake that changes an asked answer here: (ask, candidate) to pick from."""
    choices = []
    if exercise.kind == "code":
        for n, wrong in enumerate(getattr(exercise.function, "wrong", ()) or (), start=1):
            choices.append({"key": f"code:{n}", "label": f"known wrong solution {n}"
                            + (f" ({wrong.get('expect')})" if wrong.get("expect") else "")})
        return choices
    for i, ask in enumerate(exercise.asks):
        for k, (code, gates, _, _) in enumerate(candidates(variant, ask)):
            where = ", ".join(gates)
            choices.append({"key": f"{i}:{k}", "label": f"{code} at {where} (answer {i + 1})"})
    return choices


def _answers_for(action: str, exercise: definitions.Exercise, variant: definitions.Variant
                 ) -> tuple[dict[str, Any] | None, str | None]:
    """(answers, code) for the chosen button."""
    correct = {str(i): as_typed(variant.expected(ask)) for i, ask in enumerate(exercise.asks)}
    if exercise.kind == "code":
        function = exercise.function
        assert function is not None
        if action == "fill":
            solution = getattr(function, "solution", None)
            if not solution:
                raise ServiceError(422, "no_solution", "this exercise has no reference solution "
                                   "(function.solution) to fill in", {"action": ["no reference solution"]})
            return None, solution
        if action.startswith("code:"):
            wrong = list(getattr(function, "wrong", ()) or ())
            digits = action.split(":", 1)[1]
            n = int(digits) if digits.isascii() and digits.isdecimal() and len(digits) <= 3 else 0
            if not 1 <= n <= len(wrong):
                raise ServiceError(422, "invalid", "no such known wrong solution", {"mistake": ["not one of them"]})
            return None, wrong[n - 1]["code"]
        return None, request.form.get("code", "")
    if action == "fill":
        return correct, None
    match = re.fullmatch(r"([0-9]{1,4}):([0-9]{1,4})", action)
    if match:
        i, k = int(match.group(1)), int(match.group(2))
        found = candidates(variant, exercise.asks[i]) if i < len(exercise.asks) else ()
        if k >= len(found):
            raise ServiceError(422, "invalid", "no such mistake here", {"mistake": ["not one of the choices"]})
        return {**correct, str(i): as_typed(found[k][3])}, None
    return answers_from_form(ask_views(exercise, variant), request.form), None


def render(exercise_row: Exercise, user: User) -> str:
    exercise = authoring.definition_of(exercise_row.current)
    seed, student = _seed_and_student(exercise_row, user)
    try:
        variant = definitions.make_variant(exercise, seed)
    except definitions.DegenerateVariantError as exc:
        raise ServiceError(422, "degenerate", str(exc), {"seed": [str(exc)]}) from None
    feedback = answers = code = None
    if request.method == "POST":
        action = request.form.get("action", "grade")
        if action == "mistake":
            action = request.form.get("mistake", "")
        answers, code = _answers_for(action, exercise, variant)
        result = service.grade(exercise, variant, answers=answers, code=code, reveal=True,
                               allow_weak=bool(current_app.config.get("SANDBOX_ALLOW_WEAK", False)))
        feedback = result.to_dict()
    parts = (feedback or {}).get("parts", [])
    summary = (feedback or {}).get("diagnosis") or {}  # code: the mistake seen in most failed tests
    highlight = sorted({g for p in parts if p.get("diagnosis") for g in p["diagnosis"].get("gates", [])}
                       | set(summary.get("gates", [])))
    svg = render_graph(exercise, variant, highlight=highlight)
    width = re.search(r'viewBox="0 0 ([\d.]+)', svg)
    from grader.instructor.views import students_of

    return render_template(
        "instructor/preview.html",
        row=exercise_row, exercise=exercise, seed=seed, student=student, students=students_of(user),
        prompt=render_prompt(exercise.prompt), graph=Markup(svg),  # our own markup, every text escaped there
        graph_width=float(width.group(1)) if width else 600.0, highlight=highlight,
        asks=ask_views(exercise, variant, answers, parts) if exercise.kind == "numeric" else [],
        given=given_tensors(exercise, variant) if exercise.kind == "numeric" else [],
        code=code if code is not None else (exercise.function.starter if exercise.function else ""),
        feedback=feedback, parts=parts, worked=worked_solution(exercise, variant),
        mistakes=mistake_choices(exercise, variant), label_tex=label_tex,
        cases=definitions.test_cases(exercise, seed)[:3] if exercise.kind == "code" else [],
    )
