"""The instructor workspace: the exercise library, the definition editor, previews with the worked solution,
question tests and version history. Instructors, TAs and administrators only; anyone else gets 404.

Views are thin: storing goes through grader.authoring, grading through grader.service, as for every other
entry point."""

from grader.instructor.views import bp, workspace_role

__all__ = ["bp", "workspace_role"]
