"""The instructor workspace: the exercise library, the definition editor, previews with the worked solution,
question tests, version history, the courses with their rosters, and every student's work. Instructors, TAs
and administrators only; anyone else gets 404.

Views are thin: storing goes through grader.authoring, grading through grader.service, as for every other
entry point."""

from grader.instructor import courses, students  # noqa: F401 - register the course, roster and work pages on bp
from grader.instructor.views import bp, workspace_role

__all__ = ["bp", "workspace_role"]
