"""The Celery app of ``bench/load.py``: quick tasks whose results the database backend stores during the load.

The broker and the queue come from ``BENCH_BROKER_URL`` and ``BENCH_QUEUE``
(a queue of the run's own, so another bench's workers never take these
tasks); the database from ``DATABASE_URL`` (the project's settings, with
``CELERY_TASK_TRACK_STARTED`` on: two stores per task, STARTED then the
outcome, as a production worker writes them).
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")

#: One task in this many fails (a traceback stored): the failure lists get new rows during the load too.
FAILURE_EVERY = 10

app = Celery("bench_load", set_as_current=False)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    result_backend="results.backends:DatabaseBackend",
    broker_url=os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    task_default_queue=os.environ.get("BENCH_QUEUE", "bench-load"),
    # Quick tasks: a few in hand per process keep it busy between broker round trips.
    worker_prefetch_multiplier=8,
    broker_connection_retry_on_startup=True,
)


class LoadTaskFailed(Exception):
    """The planned failure of one task in ``FAILURE_EVERY``."""


@app.task(name="bench.load.quick")
def quick(number):
    """Return at once; every ``FAILURE_EVERY``-th number fails instead."""
    if number % FAILURE_EVERY == 0:
        raise LoadTaskFailed(f"item {number} failed")
    return number
