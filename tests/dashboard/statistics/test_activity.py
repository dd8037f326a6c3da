"""Each key's latest result, kept by the pass, equals what the raw rows say."""
import random
from datetime import timedelta

import pytest
from celery import states
from django.db.models import Max

from dashboard.models import Activity
from dashboard.statistics import activity, rollup
from dashboard.statistics.models import Dimension
from results.models import TaskResult

from .test_rollup import NOW, random_rows, store

pytestmark = pytest.mark.django_db(transaction=True)

COLUMNS = {Dimension.TASK_NAME: "task_name", Dimension.WORKER: "worker", Dimension.PERIODIC: "periodic_task_name"}


def count_in_small_passes(now=NOW):
    while not rollup.run_pass(limit=37, now=now).caught_up:
        pass


def raw_latest(dimension, key):
    rows = TaskResult.objects.filter(status__in=rollup.READY_STATES, **{COLUMNS[dimension]: key})
    latest = rows.order_by("-date_done", "-id").first()
    last_failure = rows.filter(status=states.FAILURE).aggregate(at=Max("date_done"))["at"]
    return latest, last_failure


def test_every_keys_latest_result_and_last_failure_equal_the_raw_rows():
    store(random_rows(random.Random(7), 400, NOW - timedelta(minutes=1)))
    count_in_small_passes()
    recorded = {(a.dimension, a.key): a for a in Activity.objects.all()}
    expected = set()
    for dimension, column in COLUMNS.items():
        keys = TaskResult.objects.exclude(**{f"{column}__isnull": True}).exclude(**{column: ""})
        expected |= {(dimension, key) for key in keys.values_list(column, flat=True).distinct()}
    assert set(recorded) == expected
    for (dimension, key), entry in recorded.items():
        latest, last_failure = raw_latest(dimension, key)
        assert (entry.last_row_id, entry.last_done, entry.last_status) == (latest.id, latest.date_done, latest.status)
        assert entry.last_failure == last_failure


def test_a_periodic_tasks_usual_interval_is_the_median_gap_of_its_latest_runs():
    start = NOW - timedelta(hours=3)
    gaps = [300] * 25 + [900, 290, 310]  # one late run among regular ones
    rows, at = [], start
    for i, gap in enumerate(gaps):
        at += timedelta(seconds=gap)
        rows.append(TaskResult(task_id=f"p-{i}", task_name="sync", periodic_task_name="sync-every-5",
                               status=states.SUCCESS, date_done=at, date_created=at))
    store(rows)
    count_in_small_passes(now=at + timedelta(minutes=1))
    entry = Activity.objects.get(dimension=Dimension.PERIODIC, key="sync-every-5")
    assert len(entry.gap_seconds) == activity.GAPS_KEPT
    assert entry.gap_seconds[-3:] == [900, 290, 310]
    assert activity.usual_interval(entry) == 300


def test_a_row_stored_again_replaces_its_state_without_counting_a_new_run():
    first = NOW - timedelta(minutes=30)
    store([TaskResult(task_id=f"p-{i}", periodic_task_name="tick", worker="celery@a", status=states.SUCCESS,
                      date_done=first + timedelta(minutes=10 * i), date_created=first) for i in range(2)])
    rollup.run_pass(now=NOW)
    TaskResult.objects.filter(task_id="p-1").update(status=states.FAILURE, date_done=NOW - timedelta(minutes=1))
    latest = TaskResult.objects.get(task_id="p-1")
    rollup.run_pass(now=NOW)
    entry = Activity.objects.get(dimension=Dimension.PERIODIC, key="tick")
    assert (entry.last_status, entry.last_done, entry.last_failure) == (states.FAILURE, latest.date_done,
                                                                         latest.date_done)
    assert entry.gap_seconds == [600], "the same run stored again is not a new gap"
    assert Activity.objects.get(dimension=Dimension.WORKER, key="celery@a").last_status == states.FAILURE


def test_no_interval_before_two_runs():
    assert activity.usual_interval(Activity(gaps="")) is None
