"""The instructor workspace: the exercise library, the definition editor, previews with the worked solution,
question tests, version history, the courses with their rosters, their problem sets with the overrides, their
gradebooks and every student's work. Instructors, TAs and administrators only; anyone else gets 404.

Views are thin: storing goes through grader.authoring, grading through grader.service, as for every other
entry point."""

# importing them registers their pages on bp: the courses and rosters, the problem sets and their overrides,
# the gradebooks, each student's work, the long jobs' pages, the statistics and mistake tallies, regrades, LTI
from grader.instructor import assignments, courses, gradebook, jobs, lti, regrade, statistics, students  # noqa: F401
from grader.instructor.views import bp, workspace_role

__all__ = ["bp", "workspace_role"]
