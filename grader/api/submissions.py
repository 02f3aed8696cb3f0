"""A student's variant and submissions. The grading is grader.service.submit's; these views only translate.

The course's instructors and TAs read any of its students' variants and submissions with `?user=<username>`
(grader.api.common.student_for: 403 for a student naming someone else, 404 for no such student)."""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import current_app, url_for
from flask.views import MethodView
from sqlalchemy import select

from grader import authoring, precheck, service
from grader.api.auth import current_user, require
from grader.api.common import (
    STAFF_ROLES,
    assignment_for,
    blueprint,
    not_found,
    page_of,
    student_for,
    submission_for,
    submission_view,
)
from grader.api.schemas import (
    PrecheckIn,
    PrecheckOut,
    SubmissionIn,
    SubmissionOut,
    SubmissionQuery,
    VariantOut,
    VariantQuery,
)
from grader.engine import to_json
from grader.grading.tolerance import Tolerance
from grader.models import Submission, db
from grader.service import ServiceError
from grader.service.queued import QUEUED, wait_for_result

blp = blueprint("submissions", "Your variant of an assignment, submitting and reading submissions")


@blp.route("/assignments/<int(max=2147483647):assignment_id>/variant")
class VariantView(MethodView):
    @require("submissions:read")
    @blp.arguments(VariantQuery, location="query")
    @blp.response(200, VariantOut)
    def get(self, args, assignment_id: int):
        """Your own numbers for an exercise of the problem set (`?exercise=`, may be left out for a set of one),
        without the solution: the inputs, parameters and upstream gradients, the graph, what to give (with the
        expected shape) and the tolerance in words. The course's instructors and TAs: a student's with
        `?user=` (their numbers, seed, attempts left and due date; nothing is stored by reading them)."""
        user = current_user()
        assignment, role = assignment_for(user, assignment_id)
        student = student_for(user, assignment.course, role, args.get("user"))
        item = assignment.item_for(args.get("exercise"))
        if item is None:
            service.item_of(assignment)  # 422 when none was named in a larger set
            raise ServiceError(422, "validation_error", "no such exercise in this problem set",
                               {"exercise": ["not in this problem set"]})
        if student is user:
            row, variant = service.variant_for(user, item.exercise)
            seed = row.seed
        else:  # a read: the seed their first visit will store, if they have not opened it yet
            seed = service.seed_of(student, item.exercise)
            variant = service.cached_variant(authoring.definition_of(item.exercise.current), seed)
        exercise = variant.exercise
        function = None
        if exercise.function is not None:
            spec = exercise.function
            function = {"name": spec.name, "args": {k: str(v) for k, v in spec.args.items()},
                        "returns": [str(r) for r in spec.returns], "starter": spec.starter}
        asks = [{"position": i, "kind": ask.kind, "node": ask.node,
                 "entry": list(ask.index) if ask.index is not None else None, "label": ask.label,
                 "points": ask.points, "shape": list(np.shape(variant.expected(ask)))}
                for i, ask in enumerate(exercise.asks)]
        leaves: dict[str, Any] = {name: to_json(value) for name, value in variant.leaves.items()}
        return {
            "assignment_id": assignment.id, "exercise": item.exercise.slug, "user": student.username,
            "seed": seed if role in STAFF_ROLES else None,
            "version": item.exercise.current_version, "title": exercise.title, "kind": exercise.kind,
            "prompt": exercise.prompt, "dims": variant.dims,
            "inputs": {k: v for k, v in leaves.items() if k in exercise.inputs},
            "params": {k: v for k, v in leaves.items() if k in exercise.params},
            "upstream": {k: to_json(v) for k, v in variant.upstream.items()} if variant.upstream else None,
            "graph": exercise.graph_lines, "asks": asks,
            "tolerance": Tolerance.from_spec(exercise.tolerance, exercise.kind).describe(),
            "function": function, "attempts_left": service.attempts_left(student, item),
            "due_at": service.due_for(student, assignment), "late_policy": assignment.late_policy,
        }


@blp.route("/assignments/<int(max=2147483647):assignment_id>/submissions")
class AssignmentSubmissions(MethodView):
    @require("submissions:write")
    @blp.arguments(SubmissionIn)
    @blp.response(201, SubmissionOut)
    @blp.alt_response(202, schema=SubmissionOut, description="Accepted and queued for a grading worker (status "
                      "`queued`, its attempt numbered); the Location header is the submission's URL")
    def post(self, body, assignment_id: int):
        """Submit `{answers}` (numeric) or `{code}` (code exercise): graded and stored, 201. A format error in
        an answer is stored too (status `invalid`, attempt null: no attempt used). 409 past the due date or
        with no attempts left, or when `version` is given and the exercise has been edited since; 422 for answers
        to a code exercise or the other way round. Where code is graded by workers (GRADING_BACKEND=celery): 201
        with the result when it is done within a short wait, else 202 with status `queued` and Location."""
        user = current_user()
        # One query for the assignment, its exercise and current version and what the service checks (role,
        # attempts used, seed); no reload after the service commits: this request only reads what it wrote.
        db.session().expire_on_commit = False
        context = service.submit_context(user, assignment_id, body.get("exercise"))
        if context is None:
            raise not_found("assignment")
        try:  # the service checks access (404 outside the course), the due date and attempts
            submission = service.submit(user, context.assignment, exercise=body.get("exercise"),
                                        answers=body.get("answers"),
                                        code=body.get("code"), context=context, seen_version=body.get("version"))
        except ImportError:  # code grading (the sandbox) is not installed in this deployment
            raise ServiceError(503, "unavailable", "code grading is not available on this server") from None
        if submission.status == QUEUED and not wait_for_result(submission, current_app.config["SUBMIT_WAIT_S"]):
            # graded by a worker, not yet done: where to read it (GET until its status is no longer queued)
            location = url_for("submissions.SubmissionItem", submission_id=submission.id)
            return submission_view(submission, user, redact=False, version=context.version.version), 202, {
                "Location": location}
        # the feedback was just graded with the solution policy of this moment: nothing to hide again
        return submission_view(submission, user, redact=False, version=context.version.version)

    @require("submissions:read")
    @blp.arguments(SubmissionQuery, location="query")
    @blp.response(200, SubmissionOut(many=True))
    @blp.paginate()
    def get(self, args, assignment_id: int, pagination_parameters):
        """Submissions at the assignment, newest first: a student's own; the course's instructors and TAs:
        everyone's, or one student's with `?user=` (404 when they are not a student of the course)."""
        user = current_user()
        assignment, role = assignment_for(user, assignment_id)
        query = select(Submission).where(Submission.assignment_id == assignment.id)
        if "user" in args:
            query = query.where(Submission.user_id == student_for(user, assignment.course, role, args["user"]).id)
        elif role not in STAFF_ROLES:
            query = query.where(Submission.user_id == user.id)
        rows = db.session.scalars(page_of(query.order_by(Submission.id.desc()), pagination_parameters)).all()
        # one exercise: the same for every row (a larger set asks once per exercise)
        visible = {item.id: service.solution_visible(item, user, role=role) for item in assignment.items}
        return [submission_view(s, user, visible=visible[s.item_id]) for s in rows]


@blp.route("/assignments/<int(max=2147483647):assignment_id>/precheck")
class AssignmentPrecheck(MethodView):
    @require("submissions:write")
    @blp.arguments(PrecheckIn)
    @blp.response(200, PrecheckOut)
    def post(self, body, assignment_id: int):
        """Check `{code}` on one small visible example of your variant before submitting: the example's inputs,
        and per return value the expected and your values side by side. Nothing is stored and no attempt is
        used (also past the due date or with no attempts left), but it counts against the same per-account
        budget as submitting (429 past it). 422 for a numeric exercise. A format error (syntax, a module that
        cannot be imported) is `status: invalid`, as on submit."""
        user = current_user()
        assignment, _ = assignment_for(user, assignment_id)
        try:
            item = assignment.item_for(body.get("exercise"))
            if item is None:
                service.item_of(assignment)  # 422 when none was named in a larger set
                raise ServiceError(422, "validation_error", "no such exercise in this problem set",
                                   {"exercise": ["not in this problem set"]})
            return precheck.precheck(user, assignment, body["code"], item=item).to_dict()
        except ImportError:  # code grading (the sandbox) is not installed in this deployment
            raise ServiceError(503, "unavailable", "code grading is not available on this server") from None


@blp.route("/submissions/<int(max=2147483647):submission_id>")
class SubmissionItem(MethodView):
    @require("submissions:read")
    @blp.response(200, SubmissionOut)
    def get(self, submission_id: int):
        """One submission: its owner's, or any in a course you teach or assist (instructors and TAs)."""
        user = current_user()
        return submission_view(submission_for(user, submission_id), user)
