"""Job kinds: the gradebook CSV of a large course, built on a worker with progress per chunk of students.

    gradebook_csv {"course_id": N}   the same CSV as the direct download (grader.service.gradebook_csv, read
                                     GRADEBOOK_CSV_CHUNK students at a time), progress in students done of the
                                     course's, the file stored with the job (the database: every web host
                                     serves it) for the job page and GET /api/v1/jobs/<id>/download
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from grader.jobs.progress import Progress, runner
from grader.models import Course, db
from grader.service.manual_scores import gradebook_csv, gradebook_filename

KIND = "gradebook_csv"


@runner(KIND)
def export_gradebook(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    course = db.session.get(Course, params.get("course_id"))
    if course is None:
        progress.fail([f"no course {params.get('course_id')!r} (deleted since the job was started?)"])
    filename = gradebook_filename(course)
    reported = 0

    def report(done: int, total: int) -> None:
        nonlocal reported
        if done == 0:
            progress.set_total(total)
        elif done > reported:
            progress.step(f"{done} of {total} students", count=done - reported)
            reported = done

    content = gradebook_csv(course, progress=report, chunk=current_app.config["GRADEBOOK_CSV_CHUNK"]).encode()
    progress.attach(filename, "text/csv; charset=utf-8", content)
    return {"students": reported, "bytes": len(content)}
