"""Job kinds of a regrade (grader.service.regrade and regrade_commit do the work).

    regrade_dry_run {"course_id", "assignment_id", "request"}   the dry run of a regrade that runs students' code
                                (on the grading queue where grading workers grade code): the report is its result

    regrade {"regrade_id": N}   plan again over the dry run's rows, refuse if the fingerprint moved, then write
                                the changes and their history in batches (one progress step per row)
"""

from __future__ import annotations

from typing import Any

from grader.jobs.progress import Progress, runner


@runner("regrade")
def commit_regrade(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from grader.service.regrade_commit import apply_regrade  # the service imports the jobs: import it late

    return apply_regrade(int(params["regrade_id"]), progress)


@runner("regrade_dry_run")
def dry_run_regrade(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from grader.service.regrade_jobs import dry_run_job

    return dry_run_job(params, progress)
