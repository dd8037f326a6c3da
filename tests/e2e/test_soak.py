"""The soak, small (``bench/soak.py`` is the 100,000-task one): every result there exactly once, through faults.

On PostgreSQL: 2,000 mixed tasks (``tests.e2e.soak``) on two worker
instances of two prefork processes each, ``acks_late``, on RabbitMQ; while
they work, the PostgreSQL server is restarted, instance B is killed with
SIGKILL and started again, and instance A's broker connections are cut for
3 s (``tests.e2e.faults.BrokerProxy``) and restored. On SQLite: 500 tasks
on two processes over the filesystem broker while another process polls
the dashboard's pages. Either way every task sent (group members, chord
parts and bodies too) has exactly one row, in the state Celery's client
reports, none unfinished, every chord body published once.
"""
import json
import sys
import time
import uuid
import warnings

import pytest
from django.db import connection

from demo.processes import ProcessGroup, stop_all
from tests.fixtures.celery_apps import current
from tests.fixtures.workers import database_url
from tests.services import RABBITMQ_URL, rabbitmq_unreachable

from . import celery_app
from .faults import BrokerProxy, cannot_restart, restart_server
from .soak import ROOT, Soak, WorkerInstance, start_all, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TASKS = 2_000
EMBEDDED_TASKS = 500
CUT_SECONDS = 3
TIMEOUT = 240


def describe(report):
    lines = [f"{report.tasks} tasks in {report.seconds:.1f} s", *report.verification.problems()]
    lines += [f"{name}: {figures}" for name, figures in report.logs.items()]
    return "\n".join(lines)


@pytest.fixture
def soak_folder(tmp_path):
    tmp_path.chmod(0o777)  # the workers append the chord bodies' runs here
    return tmp_path


@pytest.fixture
def soak_workers():
    """The soak's worker instances (appended by the test); all stopped at the end, whatever happened.

    The run is verified by then: what a short grace leaves running is killed.
    """
    workers = []
    yield workers
    stop_all(workers, 3)


@pytest.mark.postgresql
def test_postgresql_restart_killed_instance_and_cut_broker_lose_nothing(soak_folder, soak_workers):
    for reason in (rabbitmq_unreachable(), cannot_restart("postgresql")):
        if reason:
            pytest.skip(reason)
    app, queue = celery_app.soak_app, f"soak-{uuid.uuid4().hex[:12]}"
    proxy = BrokerProxy("127.0.0.1", int(RABBITMQ_URL.rsplit(":", 1)[1].split("/")[0]))
    celery_app.configure(app, RABBITMQ_URL, queue)
    db_url = database_url(connection.settings_dict)
    for name, broker_url in (("A", proxy.url()), ("B", RABBITMQ_URL)):
        soak_workers.append(WorkerInstance(f"soak-{name}-{queue[-6:]}", "soak_app", queue, 2,
                                           worker_env(db_url, broker_url, queue), soak_folder / f"{name}.log"))
    first, killed = soak_workers

    def probe():
        connection.close()
        connection.ensure_connection()

    def kill_and_start():
        killed.kill()
        killed.start()

    def cut_broker():
        proxy.cut()
        try:
            time.sleep(CUT_SECONDS)
        finally:
            proxy.restore()

    faults = [
        (0.2, "PostgreSQL restarted", lambda: restart_server("postgresql", probe)),
        (0.4, "instance B killed and started again", kill_and_start),
        (0.6, "instance A's broker connections cut", cut_broker),
    ]
    try:
        start_all(soak_workers)
        with current(app):
            report = Soak(app, TASKS, soak_workers, faults, soak_folder / "bodies.log", backlog=600,
                          timeout=TIMEOUT, stall_timeout=90).run()
    finally:
        stop_all(soak_workers, 3)  # first: a live worker would declare the queue again
        proxy.close()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)

    assert report.verification.consistent and not report.stalled, describe(report)
    warn_of_other_endings(report)
    assert report.sender_error is None
    assert [fault.ready_at_start < report.tasks for fault in report.faults] == [True] * 3, "a fault came too late"
    retries = sum(figures.retries for figures in report.logs.values()) + report.client_retries
    assert retries > 0, "the restart never reached the backend: the test proves nothing"
    assert proxy.cuts == 1


def test_sqlite_and_the_filesystem_broker_with_the_dashboard_polled(soak_folder, soak_workers):
    """The embedded default: no "database is locked" in a worker's log or on a page."""
    if connection.vendor != "sqlite":
        pytest.skip(f"the embedded default is SQLite; this run's database is {connection.vendor}")
    app, queue = celery_app.soak_filesystem_app, f"soak-{uuid.uuid4().hex[:12]}"
    broker_dir = soak_folder / "broker"
    celery_app.configure(app, "filesystem://", queue, str(broker_dir))
    env = worker_env(database_url(connection.settings_dict), "filesystem://", queue, str(broker_dir),
                     RESULTS_SLOW_WRITE_SECONDS="0.1")
    soak_workers.append(WorkerInstance(f"soak-embedded-{queue[-6:]}", "soak_filesystem_app", queue, 2, env,
                                       soak_folder / "worker.log"))
    stop_file, poller_file = soak_folder / "stop", soak_folder / "poller.json"
    poller = ProcessGroup("poller", [sys.executable, "-m", "tests.e2e.dashboard_poller", str(stop_file),
                                     str(poller_file)], log_path=soak_folder / "poller.log", cwd=ROOT, env=env)
    soak_workers.append(poller)
    start_all(soak_workers[:1])
    poller.start()
    with current(app):
        report = Soak(app, EMBEDDED_TASKS, soak_workers[:1], [], soak_folder / "bodies.log", backlog=300,
                      timeout=TIMEOUT, stall_timeout=90).run()
    stop_file.touch()
    poller.process.wait(timeout=60)
    assert report.verification.consistent and not report.stalled, describe(report)
    warn_of_other_endings(report)
    worker_log = report.logs[soak_workers[0].name]
    assert worker_log.locked == 0 and worker_log.requeues == 0, describe(report)
    pages = json.loads(poller_file.read_text())
    assert pages["requests"] > 0, (soak_folder / "poller.log").read_text()
    assert pages["errors"] == [] and pages["locked"] == 0, pages["errors"][:3]


def warn_of_other_endings(report):
    """A task Celery itself ended otherwise than the workload meant, its row agreeing with Celery's client.

    Not a lost or doubled result (``consistent`` holds), so the run passes;
    the ids are left in the warnings to look into (seen once under a loaded
    CI run: one task meant to succeed ended FAILURE through the broker cut).
    """
    if report.verification.wrong_state:
        warnings.warn(f"tasks ended otherwise than meant: {report.verification.wrong_state[:5]}", stacklevel=2)
