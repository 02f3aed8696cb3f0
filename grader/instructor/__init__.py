"""The instructor workspace: the exercise library, the definition editor, previews with the worked solution,
question tests, version history, and the courses with their rosters. Instructors, TAs and administrators
only; anyone else gets 404.

Views are thin: storing goes through grader.authoring, grading through grader.service, as for every other
entry point."""

from grader.instructor import (
    courses,  # noqa: F401 - registers the course and roster pages on bp
    jobs,  # noqa: F401 - registers the job pages on bp
)
from grader.instructor.views import bp, workspace_role

__all__ = ["bp", "workspace_role"]
