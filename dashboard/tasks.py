"""The dashboard's Celery tasks, run by the user's own workers: the statistics pass, and bulk retries.

``dashboard.rollup_statistics`` keeps the insights' figures up to date:
schedule it with Celery beat every few seconds (``make run``'s beat does,
every 10 s); pages catch up by themselves when it does not run.
"""
import time

from celery import shared_task

from . import redrives
from .statistics import rollup

ROLLUP_SECONDS = 20


@shared_task(name="dashboard.rollup_statistics", ignore_result=True)
def rollup_statistics(max_seconds: float = ROLLUP_SECONDS) -> int:
    """Count new results until caught up or ``max_seconds`` have passed; prune old figures. Returns rows read."""
    deadline = time.monotonic() + max_seconds
    total = 0
    while True:
        result = rollup.run_pass()
        if result is None:  # another worker is running a pass
            break
        total += result.rows
        if result.caught_up or time.monotonic() >= deadline:
            break
    rollup.prune()
    return total


@shared_task(name=redrives.TASK_NAME, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def redrive_failures(redrive_id: int) -> str:
    """Send the next slice of a failure group's retry (``dashboard.redrives``); it queues the slice after it.

    Acknowledged once the slice ran: a slice lost with its worker is
    delivered again, and goes on from the first task it had not sent.
    """
    return redrives.run_slice(redrive_id)
