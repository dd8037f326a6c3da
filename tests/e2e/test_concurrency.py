"""Many tasks on four worker processes at once, on PostgreSQL."""
import time

import pytest
from celery import chord, group, states

from results.models import ChordCounter, TaskResult

from . import tasks
from .test_database_backend import body_runs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql, pytest.mark.slow]


def test_chord_with_a_200_task_header_calls_its_body_exactly_once(app, db_worker, marker_dir):
    log = f"{marker_dir}/body.log"
    result = chord(tasks.add.s(i, 0) for i in range(200))(tasks.record_body.s(log))
    assert result.get(timeout=180) == list(range(200))
    time.sleep(0.5)
    assert len(body_runs(log)) == 1
    assert not ChordCounter.objects.exists()
    assert TaskResult.objects.filter(status=states.SUCCESS).count() == 201


def test_5000_tasks_leave_exactly_5000_success_rows(app, db_worker):
    group(tasks.add.s(i, i) for i in range(5000)).apply_async()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if TaskResult.objects.filter(status=states.SUCCESS).count() >= 5000:
            break
        time.sleep(1)
    time.sleep(1)  # anything still being written would show up now
    assert TaskResult.objects.filter(status=states.SUCCESS).count() == 5000
    assert TaskResult.objects.count() == 5000
    assert TaskResult.objects.filter(worker__isnull=True).count() == 0
