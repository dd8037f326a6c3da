"""No result is lost when the database server restarts mid-run and a worker is killed.

Real workers (two prefork processes, ``acks_late``) on RabbitMQ, which hands
a killed worker's unacknowledged messages to the next one at once. While
they work through the tasks, the database server is stopped for a few
seconds and started again, then the worker is killed with SIGKILL and
started again. At the end every task has exactly one row, SUCCESS.
"""
import time

import pytest
from celery import group, states
from django.db import connection

from results.models import TaskResult
from tests.fixtures.celery_apps import current
from tests.services import RABBITMQ_URL, rabbitmq_unreachable

from . import celery_app, tasks
from .faults import cannot_restart, server_down

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TASKS = 600
DOWN_SECONDS = 5
FINISH_TIMEOUT = 180


def successes():
    connection.close()  # the test's own connection does not survive the restart either
    return TaskResult.objects.filter(status=states.SUCCESS).count()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still waiting after {timeout} s")
        time.sleep(0.2)


def probe():
    connection.close()
    connection.ensure_connection()


@pytest.fixture(params=["postgresql", "mysql"])
def vendor(request):
    """The server this run restarts: the one its database is on."""
    if connection.vendor != request.param:
        pytest.skip(f"restarts the {request.param} server; this run's database is {connection.vendor}")
    return request.param


@pytest.fixture
def acks_late_worker(vendor, start_worker):
    for reason in (rabbitmq_unreachable(), cannot_restart(vendor)):
        if reason:
            pytest.skip(reason)
    worker = start_worker("acks_late_app", concurrency=2, broker_url=RABBITMQ_URL)
    with current(celery_app.acks_late_app):
        yield worker
    with celery_app.acks_late_app.connection_for_write() as conn:
        conn.default_channel.queue_delete(worker.queue)


def test_database_restart_and_killed_worker_lose_no_result(acks_late_worker, vendor):
    worker = acks_late_worker
    sent = group(tasks.sleep_then_return.s(0.01, i) for i in range(TASKS)).apply_async()
    task_ids = {result.id for result in sent.results}

    wait_until(lambda: successes() >= TASKS // 5, 60, "the first fifth of the tasks")
    with server_down(vendor, probe):
        time.sleep(DOWN_SECONDS)
    wait_until(lambda: successes() >= TASKS // 2, 90, "half of the tasks after the restart")
    worker.kill()
    worker.start()
    wait_until(lambda: successes() >= TASKS, FINISH_TIMEOUT, f"all {TASKS} tasks")

    time.sleep(1)  # a duplicate or a late write would show now
    rows = dict(TaskResult.objects.values_list("task_id", "status"))
    assert set(rows) == task_ids
    assert {status for status in rows.values()} == {states.SUCCESS}
    log = worker.log_path.read_text(errors="replace")
    assert "Database unavailable" in log, "the outage never reached the worker: the test proves nothing"
    assert "Could not store" not in log
