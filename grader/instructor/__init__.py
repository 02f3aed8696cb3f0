"""The instructor workspace: the exercise library, the definition editor, previews with the worked solution,
question tests, version history, the courses with their rosters, and their gradebooks. Instructors, TAs and
administrators only; anyone else gets 404.

Views are thin: storing goes through grader.authoring, grading through grader.service, as for every other
entry point."""

from grader.instructor import (
    courses,  # noqa: F401 - registers the course and roster pages on bp
    gradebook,  # noqa: F401 - registers the gradebook pages on bp
)
from grader.instructor.views import bp, workspace_role

__all__ = ["bp", "workspace_role"]
