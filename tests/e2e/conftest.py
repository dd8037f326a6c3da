"""Real Celery workers for the end-to-end tests.

A worker is a ``celery worker`` subprocess (prefork pool) on Redis (database
1, or ``TEST_REDIS_URL``) when it answers, else on the filesystem transport in a temporary
folder. It writes results into the very database this test session uses
(pytest-django's test database, handed over as ``DATABASE_URL``), and
consumes only queues named after this session, so parallel runs never take
each other's tasks. Workers are stopped (TERM, then KILL of their whole
process group) when their fixture ends, at exit, and if this process dies
(``demo.processes``, which runs the live demo's processes too).
"""
import atexit
import os
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import current_app
from django.db import connection

from demo.processes import ProcessFailed, ProcessGroup, stop_all
from tests.services import REDIS_URL, redis_unreachable

from . import celery_app

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60
STOP_TIMEOUT = 10


def database_url(settings_dict):
    """A ``DATABASE_URL`` naming the database behind ``settings_dict``."""
    vendor = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}[connection.vendor]
    if vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict["USER"] or "")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict["PASSWORD"] else ""
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"{vendor}://{user}{password}@{settings_dict['HOST']}{port}/{settings_dict['NAME']}"


class Worker(ProcessGroup):
    """One ``celery worker`` process and its pool, in a process group of its own.

    ``terminate`` asks the whole group for a warm shutdown; ``stop`` waits
    ``STOP_TIMEOUT`` seconds for it, then kills what is left; ``kill``
    kills it at once, and ``start`` starts it again, appending to its log.
    """

    def __init__(self, app_name, queue, env, log_path, concurrency):
        command = [
            sys.executable, "-m", "celery", "-A", f"tests.e2e.celery_app:{app_name}", "worker",
            "--pool", "prefork", "--concurrency", str(concurrency), "--queues", queue,
            "--hostname", f"{queue}@%h", "--loglevel", "INFO",
            "--without-heartbeat", "--without-mingle", "--without-gossip",
        ]
        super().__init__(app_name, command, log_path=log_path, cwd=ROOT, env=env, signal_group=True)
        self.app_name, self.queue = app_name, queue
        atexit.register(self.stop)

    def start(self):
        """Start the worker (again, after ``kill``), and wait until it is ready; its log is appended to."""
        super().start()
        try:
            self.wait_for_log(b" ready.", START_TIMEOUT)
        except ProcessFailed as failure:
            self.stop()
            pytest.fail(f"celery worker {failure}:\n{self.log_tail()}")
        return self

    def stop(self, grace=STOP_TIMEOUT):
        """Warm shutdown; whatever is left of the process group after that is killed."""
        super().stop(grace)

    def log_tail(self, lines=60):
        return super().log_tail(lines)


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """(broker URL, folder for the filesystem transport, queue prefix of this session)."""
    prefix = f"e2e-{uuid.uuid4().hex[:12]}"
    if redis_unreachable():
        yield "filesystem://", str(tmp_path_factory.mktemp("broker")), prefix
        return
    yield REDIS_URL, None, prefix
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


@pytest.fixture(scope="session")
def start_worker(broker, django_db_setup, django_db_blocker, tmp_path_factory):
    """Start a worker for one of ``celery_app``'s apps; stopped when the session ends.

    ``filesystem=True`` uses the filesystem transport whatever the session's
    broker; ``broker_url`` names another broker.
    """
    session_broker_url, session_broker_dir, prefix = broker
    with django_db_blocker.unblock():
        db_url = database_url(connection.settings_dict)
    workers = {}

    def start(app_name, concurrency=4, extra_env=None, filesystem=False, broker_url=None):
        if app_name in workers:
            return workers[app_name]
        broker_dir = session_broker_dir if broker_url is None else None
        broker_url = broker_url or session_broker_url
        if filesystem:
            broker_url, broker_dir = "filesystem://", str(tmp_path_factory.mktemp("broker"))
        queue = f"{prefix}-{app_name}"
        # This process sends to the worker's queue, with the same settings.
        celery_app.configure(getattr(celery_app, app_name), broker_url, queue, broker_dir)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard_project.settings",
            "DATABASE_URL": db_url,
            "E2E_BROKER_URL": broker_url,
            "E2E_QUEUE": queue,
            "E2E_BROKER_DIR": broker_dir or "",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        log_path = tmp_path_factory.mktemp("worker") / f"{app_name}.log"
        workers[app_name] = worker = Worker(app_name, queue, env, log_path, concurrency)
        return worker.start()

    try:
        yield start
    finally:
        stop_all(workers.values(), STOP_TIMEOUT)  # all shut down at once


@pytest.fixture(scope="session")
def db_worker(start_worker):
    """A worker storing results with the DatabaseBackend (json), 4 processes."""
    return start_worker("app", concurrency=4)


@pytest.fixture
def app(db_worker):
    with current(celery_app.app):
        yield celery_app.app


@contextmanager
def current(app):
    """Make ``app`` Celery's current app (``tasks.add.delay`` sends with it), then restore the previous one."""
    previous = current_app._get_current_object()
    app.set_current()
    try:
        yield app
    finally:
        previous.set_current()


@pytest.fixture
def marker_dir(tmp_path):
    """A folder the worker's tasks and the test both see (same machine)."""
    tmp_path.chmod(0o777)
    return str(tmp_path)
