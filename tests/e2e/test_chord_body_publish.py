"""A chord body published into a connection that is then cut is not lost: the counter stays firing for the sweeper.

Found by the soak (``bench/soak.py``): one chord body in 1,000 never ran,
its counter gone. The deciding worker's connection was cut while it
published the body; an AMQP publish returns once the message is in the
socket, so the backend took it as sent and deleted the counter. Here the
worker (one process of ``chord_partition_app``: the pausing backend of
``tests.e2e.backends``) reaches RabbitMQ through ``BrokerProxy``: it pauses
before publishing the body, the proxy swallows everything, the worker goes
on and publishes into the void, then the connections are cut. The counter
must still be firing; a sweep then sends the body, which runs once.
"""
import json
import time
import uuid

import pytest
from celery import chord
from django.db import connection

from demo.processes import stop_all
from results.models import ChordCounter
from results.sweeping import sweep
from tests.fixtures.celery_apps import current
from tests.fixtures.workers import database_url
from tests.services import RABBITMQ_URL, rabbitmq_unreachable

from . import celery_app
from .faults import BrokerProxy
from .soak import WorkerInstance, worker_env
from .test_database_backend import wait_for

#: ``once``: the publish path is the broker's, whatever the database (the other passes would only repeat it).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.once]

TIMEOUT = 60
TASKS = "tests.e2e.tasks"


@pytest.fixture
def partitioned_worker(pause_dir, tmp_path):
    """One worker process behind a proxy of the test's own, on a queue of its own; (worker, proxy, app)."""
    if reason := rabbitmq_unreachable():
        pytest.skip(reason)
    app, queue = celery_app.chord_partition_app, f"e2e-partition-{uuid.uuid4().hex[:12]}"
    proxy = BrokerProxy("127.0.0.1", int(RABBITMQ_URL.rsplit(":", 1)[1].split("/")[0]))
    celery_app.configure(app, RABBITMQ_URL, queue)
    env = worker_env(database_url(connection.settings_dict), proxy.url(), queue,
                     E2E_CHORD_PAUSE_DIR=str(pause_dir))
    worker = WorkerInstance(f"partition-{queue[-6:]}", "chord_partition_app", queue, 1, env, tmp_path / "worker.log")
    try:
        worker.start()
        with current(app):
            yield worker, proxy, app
    finally:
        stop_all([worker], 3)
        proxy.close()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        for leftover in pause_dir.iterdir():
            leftover.unlink()


def body_chord(app, label, log):
    header = [app.signature(f"{TASKS}.echo", (f"{label}-{i}",)) for i in range(3)]
    return chord(header, app.signature(f"{TASKS}.record_body_delivery", (str(log),)), app=app).apply_async()


def publishes(log):
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line)["id"] for line in lines if not json.loads(line)["redelivered"]]


def test_a_body_published_into_a_cut_connection_is_sent_by_the_sweeper(partitioned_worker, pause_dir, tmp_path):
    worker, proxy, app = partitioned_worker
    log = tmp_path / "bodies.log"
    tmp_path.chmod(0o777)
    first = body_chord(app, "warm", log)  # the process publishes once: its broker connection is open
    assert first.get(timeout=TIMEOUT) == 3

    (pause_dir / "arm-before_publish").touch()
    result = body_chord(app, "cut", log)
    wait_for(lambda: list(pause_dir.glob("paused-before_publish-*")), timeout=TIMEOUT)
    proxy.swallow()
    (pause_dir / "release-before_publish").touch()
    time.sleep(1.5)  # the body goes out into the void
    proxy.cut()
    time.sleep(3)  # the publish's retries find the broker unreachable
    proxy.restore()

    counter = ChordCounter.objects.filter(group_id=result.parent.id).first()
    assert counter is not None and counter.firing, "the body was taken as published: it is lost"
    assert result.id not in publishes(log)
    assert sweep(app, older_than=0).as_dict() == {"sent": 1}
    assert result.get(timeout=TIMEOUT) == 3
    wait_for(lambda: not ChordCounter.objects.exists(), timeout=TIMEOUT)
    time.sleep(1)
    assert publishes(log).count(result.id) == 1
