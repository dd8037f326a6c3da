"""Real Celery workers for the end-to-end tests.

A worker is a ``celery worker`` subprocess (prefork pool) on Redis (database
1, or ``TEST_REDIS_URL``) when it answers, else on the filesystem transport in a temporary
folder. It writes results into the very database this test session uses
(pytest-django's test database, handed over as ``DATABASE_URL``), and
consumes only queues named after this session, so parallel runs never take
each other's tasks. Workers are stopped (TERM, then KILL of their whole
process group) when their fixture ends, at exit, and if this process dies.
"""
import atexit
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import current_app
from django.db import connection

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


def _die_with_parent():
    """Run in the worker before exec: own process group, TERM when pytest dies."""
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Worker:
    """One ``celery worker`` process and its pool, in a process group of its own."""

    def __init__(self, app_name, queue, env, log_path, concurrency):
        self.app_name, self.queue, self.log_path = app_name, queue, log_path
        self.command = [
            sys.executable, "-m", "celery", "-A", f"tests.e2e.celery_app:{app_name}", "worker",
            "--pool", "prefork", "--concurrency", str(concurrency), "--queues", queue,
            "--hostname", f"{queue}@%h", "--loglevel", "INFO",
            "--without-heartbeat", "--without-mingle", "--without-gossip",
        ]
        self.env = env
        self.process = None

    def start(self):
        """Start the worker (again, after ``kill``), and wait until it is ready; its log is appended to."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                pytest.fail(f"celery worker exited with {code}:\n{self.log_tail()}")
            if b" ready." in self.log_path.read_bytes()[offset:]:
                return self
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"celery worker not ready after {START_TIMEOUT}s:\n{self.log_tail()}")

    def kill(self):
        """SIGKILL the worker and its pool at once, as a crash or the kernel's OOM killer would."""
        process, self.process = self.process, None
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def terminate(self):
        """Ask for a warm shutdown, without waiting for it."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self):
        """Warm shutdown; whatever is left of the process group after that is killed."""
        if self.process is None:
            return
        self.terminate()
        process, self.process = self.process, None
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # pool children left behind, if any
        except ProcessLookupError:
            pass
        process.wait()

    def log_tail(self, lines=60):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


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
        for worker in workers.values():
            worker.terminate()  # all shut down at once
        for worker in workers.values():
            worker.stop()


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
