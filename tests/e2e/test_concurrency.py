"""Many tasks on four worker processes at once, on PostgreSQL."""
import time

import pytest
from celery import chord, group, states

from results.models import ChordCounter, TaskResult

from . import tasks
from .test_database_backend import body_runs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql, pytest.mark.slow]


def test_200_part_chords_three_times_call_each_body_exactly_once(chord_fault_worker, marker_dir):
    """Three 200-part chords, one after the other, on four processes (RabbitMQ when it answers); ``bench/chords.py``.

    Every body runs once, and no counter is left, firing or not.
    """
    for round_ in range(3):
        log = f"{marker_dir}/body-{round_}.log"
        result = chord(tasks.add.s(i, round_) for i in range(200))(tasks.record_body.s(log))
        assert result.get(timeout=180) == [i + round_ for i in range(200)]
        deadline = time.monotonic() + 10
        while ChordCounter.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the counter goes right after the publish the body's result proves
        assert not ChordCounter.objects.exists()
    time.sleep(0.5)
    assert [len(body_runs(f"{marker_dir}/body-{round_}.log")) for round_ in range(3)] == [1, 1, 1]
    assert TaskResult.objects.filter(status=states.SUCCESS).count() == 3 * 201


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
