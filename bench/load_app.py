"""The Celery app of ``bench/load.py``: quick tasks whose results the database backend stores during the load.

The broker and the queue come from ``BENCH_BROKER_URL`` and ``BENCH_QUEUE``
(a queue of the run's own, so another bench's workers never take these
tasks); the database from ``DATABASE_URL`` (the project's settings, with
``CELERY_TASK_TRACK_STARTED`` on: two stores per task, STARTED then the
outcome, as a production worker writes them).
"""
from bench.worker_app import bench_app

#: One task in this many fails (a traceback stored): the failure lists get new rows during the load too.
FAILURE_EVERY = 10

# Quick tasks: a few in hand per process keep it busy between broker round trips.
app = bench_app("bench_load", "bench-load", prefetch_multiplier=8)


class LoadTaskFailed(Exception):
    """The planned failure of one task in ``FAILURE_EVERY``."""


@app.task(name="bench.load.quick")
def quick(number):
    """Return at once; every ``FAILURE_EVERY``-th number fails instead."""
    if number % FAILURE_EVERY == 0:
        raise LoadTaskFailed(f"item {number} failed")
    return number
