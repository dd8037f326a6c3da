"""The Celery app a bench starts its own workers of: results in the database, a queue of the run's own.

The broker and the queue come from ``BENCH_BROKER_URL`` and ``BENCH_QUEUE``
(so another bench's workers never take these tasks); the database from
``DATABASE_URL`` (the project's settings). ``bench/chord_app.py`` and
``bench/load_app.py`` each make one and declare their tasks on it.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")


def bench_app(name: str, default_queue: str, prefetch_multiplier: int) -> Celery:
    app = Celery(name, set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        result_backend="results.backends:DatabaseBackend",
        broker_url=os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
        task_default_queue=os.environ.get("BENCH_QUEUE", default_queue),
        worker_prefetch_multiplier=prefetch_multiplier,
        broker_connection_retry_on_startup=True,
    )
    return app
