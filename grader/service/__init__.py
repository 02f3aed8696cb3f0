"""The one place that grades and stores a submission. Every entry point (API, pages, LTI, CLI) calls it.

    submit(user, assignment, answers={...})   ->  Submission (graded, or invalid: no attempt used)
    submit(user, assignment, code="...")      ->  Submission (per-test results)

By area: access (roles, visibility, the solution policy), variants (a student's seed and numbers), limits
(attempts and due dates, as a student's override changes them), overrides (a later due date or
extra attempts for some students), submissions (grade and store; the submission budget), assignments (settings and
rescoring), gradebook (a cell per student and problem set), manual_scores (points set by hand, the grade log, the
CSV export), student_work (one student's every attempt, for the course's staff), statistics and tallies (pure
counting) with class_data (what a class did at a set, read for them), regrade (a dry run, the totals that move:
the LMS grades to send again) and regrade_commit (the commit as a job, undo, the records). Callers import from
here:
`from grader.service import submit`.
"""

from grader.errors import ServiceError
from grader.service.access import course_role, feedback_for, require_student_access, require_visible, solution_visible
from grader.service.assignments import (
    SCORING_TERMS,
    ItemSpec,
    SetRow,
    check_settings,
    create_assignment,
    delete_assignment,
    in_order,
    move_assignment,
    next_position,
    problem_sets,
    rescore_assignment,
    revise_assignment,
    update_assignment,
)
from grader.service.class_data import (
    ClassResults,
    assignment_statistics,
    class_results,
    mistake_students,
    mistake_tallies,
    staff_assignment,
    statistics_csv,
    statistics_filename,
)
from grader.service.gradebook import (
    SORTS,
    Cell,
    Gradebook,
    arrange,
    assignment_score,
    course_assignments,
    gradebook,
    gradebook_cell,
    item_scores,
)
from grader.service.limits import (
    attempt_limit,
    attempts_left,
    check_open,
    due_date,
    due_for,
    earned_points,
    graded_attempts,
    item_of,
    override_for,
)
from grader.service.manual_scores import (
    MAX_REASON,
    course_student,
    grade_log,
    grade_log_query,
    gradebook_csv,
    gradebook_filename,
    manual_score,
    remove_manual_score,
    require_grader,
    set_manual_score,
)
from grader.service.overrides import override_rows, remove_override, set_override
from grader.service.regrade import RegradeRequest, check_request, dry_run, totals_that_move
from grader.service.regrade_commit import commit_regrade, regrades_of, undo_regrade
from grader.service.student_work import ExerciseWork, SetWork, StudentWork, member_of, student_work
from grader.service.submissions import (
    MAX_ANSWER_ENTRIES,
    MAX_ANSWER_TEXT,
    MAX_ANSWERS,
    MAX_CODE,
    STORE_RETRIES,
    SubmitContext,
    check_payload,
    grade,
    spend_budget,
    submit,
    submit_context,
)
from grader.service.variants import cached_variant, derive_seed, seed_of, variant_for

__all__ = [
    "MAX_ANSWERS", "MAX_ANSWER_ENTRIES", "MAX_ANSWER_TEXT", "MAX_CODE", "SCORING_TERMS", "STORE_RETRIES",
    "Gradebook", "ServiceError", "SubmitContext", "assignment_score", "attempt_limit", "attempts_left",
    "cached_variant", "check_open", "check_payload", "course_role", "derive_seed", "earned_points",
    "feedback_for", "grade", "gradebook", "graded_attempts", "require_student_access", "require_visible",
    "solution_visible", "spend_budget", "submit", "submit_context", "update_assignment", "variant_for",
    "ItemSpec", "create_assignment", "rescore_assignment", "item_scores", "item_of", "delete_assignment",
    "due_date", "due_for", "override_for", "remove_override", "set_override",
    "ExerciseWork", "SetWork", "StudentWork", "member_of", "student_work", "seed_of",
    "SetRow", "check_settings", "in_order", "move_assignment", "next_position", "problem_sets", "revise_assignment",
    "override_rows",
    "SORTS", "Cell", "arrange", "course_assignments", "gradebook_cell", "MAX_REASON", "course_student",
    "grade_log", "grade_log_query", "gradebook_csv", "gradebook_filename", "manual_score", "remove_manual_score",
    "require_grader", "set_manual_score",
    "ClassResults", "assignment_statistics", "class_results", "mistake_students", "mistake_tallies",
    "staff_assignment", "statistics_csv", "statistics_filename",
    "RegradeRequest", "check_request", "dry_run", "totals_that_move", "commit_regrade", "regrades_of", "undo_regrade",
]
