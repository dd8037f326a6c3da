"""The Celery app ``bench/chords.py`` starts a worker of: results in the database, one queue of the run's own.

The broker and the queue come from ``BENCH_BROKER_URL`` and ``BENCH_QUEUE``;
the database from ``DATABASE_URL`` (the project's settings).
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")

app = Celery("bench_chords", set_as_current=False)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    result_backend="results.backends:DatabaseBackend",
    broker_url=os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    task_default_queue=os.environ.get("BENCH_QUEUE", "bench-chords"),
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


@app.task(name="bench.chords.part")
def part(index):
    return index


@app.task(name="bench.chords.body")
def body(values, log_path):
    """Appends one line per run to ``log_path``: the benchmark counts the body's runs."""
    with open(log_path, "a") as log:
        log.write(f"{len(values)} {sum(values)}\n")
    return len(values)
