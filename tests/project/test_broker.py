"""The filesystem broker publishes whole messages only, even under concurrent readers."""
import multiprocessing
import os

import pytest
from kombu import Connection

from dashboard_project import broker
from dashboard_project.celery import app

pytestmark = pytest.mark.once  # settings and files of the project, whatever the database

WRITERS, MESSAGES_EACH = 3, 150


def connection(folder):
    return Connection(
        "filesystem://localhost//",
        transport=broker.Transport,
        transport_options={"data_folder_in": folder, "data_folder_out": folder, "polling_interval": 0.01,
                           "control_folder": os.path.join(folder, "control")},
    )


def publish(folder, writer):
    with connection(folder) as conn:
        queue = conn.SimpleQueue("stress")
        for number in range(MESSAGES_EACH):
            queue.put({"writer": writer, "number": number, "padding": "x" * 2000})
        queue.close()


def test_the_project_app_uses_it_for_filesystem_urls():
    if not app.conf.broker_url.startswith("filesystem://"):
        pytest.skip("CELERY_BROKER_URL names another broker")
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, broker.Transport)


def test_a_message_is_only_visible_once_complete(tmp_path, monkeypatch):
    seen_before_rename = []
    rename = os.replace

    def watching_replace(src, dst):
        if str(src).endswith(broker.PARTIAL_SUFFIX):
            seen_before_rename.append(sorted(os.listdir(tmp_path)))
        rename(src, dst)

    monkeypatch.setattr(broker.os, "replace", watching_replace)
    with connection(str(tmp_path)) as conn:
        queue = conn.SimpleQueue("q")
        queue.put({"hello": "world"})
        message = queue.get(timeout=5)
        message.ack()
        assert message.payload == {"hello": "world"}
        queue.close()
    [listing] = seen_before_rename
    assert [name for name in listing if name.endswith(".msg")] == []
    assert [name for name in listing if name.endswith(".msg" + broker.PARTIAL_SUFFIX)]


def test_concurrent_writers_and_a_reader_lose_nothing(tmp_path):
    folder = str(tmp_path)
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=publish, args=(folder, writer)) for writer in range(WRITERS)]
    for process in writers:
        process.start()
    received = set()
    with connection(folder) as conn:
        queue = conn.SimpleQueue("stress")
        while len(received) < WRITERS * MESSAGES_EACH:
            message = queue.get(timeout=30)
            received.add((message.payload["writer"], message.payload["number"]))
            message.ack()
        queue.close()
    for process in writers:
        process.join(10)
        assert process.exitcode == 0
    assert len(received) == WRITERS * MESSAGES_EACH
