"""The end-to-end tests' apps: the real workers' (``tests.fixtures.workers`` starts them), current for the test."""
import pytest

from tests.e2e import celery_app
from tests.fixtures.celery_apps import current
from tests.services import RABBITMQ_URL, rabbitmq_unreachable


@pytest.fixture
def app(db_worker):
    with current(celery_app.app):
        yield celery_app.app


@pytest.fixture(scope="session")
def pause_dir(tmp_path_factory):
    """Where a test arms the pause points of ``tests.e2e.backends`` for the chord fault worker."""
    folder = tmp_path_factory.mktemp("chord-pause")
    folder.chmod(0o777)
    return folder


@pytest.fixture(scope="session")
def chord_fault_broker():
    """RabbitMQ (a killed worker's messages are handed on at once) when it answers, else the session's broker."""
    return None if rabbitmq_unreachable() else RABBITMQ_URL


@pytest.fixture(scope="session")
def chord_fault_session_worker(start_worker, pause_dir, chord_fault_broker):
    """Four processes of ``chord_fault_app`` (``acks_late``, the pausing backend), for the whole session."""
    worker = start_worker("chord_fault_app", concurrency=4, broker_url=chord_fault_broker,
                          extra_env={"E2E_CHORD_PAUSE_DIR": str(pause_dir)})
    yield worker
    if chord_fault_broker:  # the session's queue on the shared RabbitMQ goes with the session
        with celery_app.chord_fault_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(worker.queue)


@pytest.fixture
def chord_fault_worker(chord_fault_session_worker, pause_dir):
    """That worker, its app current for the test; no pause point stays armed after it."""
    with current(celery_app.chord_fault_app):
        yield chord_fault_session_worker
    for leftover in pause_dir.iterdir():  # an armed point a failed test left must not pause the next one
        leftover.unlink()
