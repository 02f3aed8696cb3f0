"""Job kind: committing a regrade's dry run (grader.service.regrade_commit does the work).

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
