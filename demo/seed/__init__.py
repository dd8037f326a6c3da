"""Bulk-generate a realistic history of task results, fast and in bounded memory.

``seed_tasks(count)`` writes ``count`` ``TaskResult`` rows (and, along the
way, a ``GroupResult`` for every batch of tasks sent as a group) that look
like what ``results.backends:DatabaseBackend`` stores for a busy shop's
workers: JSON results and exceptions, ``argsrepr``-style arguments,
tracebacks, several workers, a realistic mix of states and dates spread
over the last days with a daily rhythm. Rows are generated lazily and
written with ``bulk_create`` one batch per transaction, so a million rows
take the memory of one batch.

Everything random comes from the ``rng`` given, so a seeded
``random.Random`` reproduces the same rows (task ids included: seeding the
same ``rng`` twice into one database collides on ``task_id``).

One job per module: ``clock`` (when the traffic happens), ``rows`` (the
rows themselves), ``calls`` (what each task is called with and returns),
``tracebacks`` (exceptions and tracebacks as Celery stores them) and
``database`` (bulk-load helpers). This module writes the rows.
"""
import random

from django.db import router
from django.utils import timezone

from results.models import GroupResult, TaskResult

from .clock import TrafficClock
from .database import analyze_tables, dates_as_given
from .rows import DEFAULT_DAYS, generate_results, group_result, task_result

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_DAYS",
    "TrafficClock",
    "analyze_tables",
    "dates_as_given",
    "generate_results",
    "group_result",
    "seed_tasks",
    "task_result",
]

DEFAULT_BATCH_SIZE = 2000


def seed_tasks(
    count,
    *,
    batch_size=DEFAULT_BATCH_SIZE,
    now=None,
    rng=None,
    days=DEFAULT_DAYS,
    using=None,
    progress=None,
    analyze=True,
):
    """Write ``count`` task results (and their groups); return how many tasks were written.

    ``now`` (default: the current time) is when the history ends, ``days``
    how far back it starts. ``progress(written, count)`` is called after
    every batch. Each batch is its own transaction, so an interrupted run
    keeps what it wrote. With ``analyze``, the tables' planner statistics
    are refreshed at the end, as a bulk load leaves them stale.
    """
    now = now or timezone.now()
    rng = rng or random.Random()
    using = using or router.db_for_write(TaskResult)
    tasks, groups, written = [], [], 0

    def flush():
        nonlocal written
        TaskResult.objects.using(using).bulk_create(tasks)
        GroupResult.objects.using(using).bulk_create(groups)
        written += len(tasks)
        tasks.clear()
        groups.clear()
        if progress:
            progress(written, count)

    with dates_as_given(TaskResult, GroupResult):
        for row in generate_results(count, now=now, rng=rng, days=days):
            if isinstance(row, GroupResult):
                groups.append(row)
                continue
            tasks.append(row)
            if len(tasks) >= batch_size:
                flush()
        if tasks or groups:
            flush()
    if analyze and written:
        analyze_tables(using, TaskResult, GroupResult)
    return written
