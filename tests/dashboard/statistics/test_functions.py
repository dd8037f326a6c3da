"""The statistics' database functions give what Python computes, on every database."""
import random
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.statistics import rollup
from dashboard.statistics.functions import EpochSeconds, Microseconds
from dashboard.statistics.models import Bucket
from results.models import TaskResult

from .test_rollup import milliseconds

pytestmark = pytest.mark.django_db

MOMENTS = [
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2026, 12, 2, 10, 15, 59, tzinfo=UTC),
    datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),  # past 32-bit seconds
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # a daylight-saving change in Europe: UTC has none
]


def test_epoch_seconds_are_whole_utc_seconds_since_1970():
    for i, moment in enumerate(MOMENTS):
        Bucket.objects.create(granularity="m", start=moment, dimension="a", key=str(i), status="SUCCESS", count=1)
    found = dict(Bucket.objects.values_list("key", EpochSeconds("start")))
    assert found == {str(i): int(moment.timestamp()) for i, moment in enumerate(MOMENTS)}


def test_microseconds_between_two_datetimes_are_what_python_subtracts(make_task):
    done = datetime(2026, 12, 2, 10, 15, 59, 123456, tzinfo=UTC)
    starts = [
        done, done - timedelta(microseconds=1), done - timedelta(days=3, seconds=7, microseconds=999999),
        done + timedelta(milliseconds=250),  # a worker's clock ahead: a negative duration, clamped later
        None,
    ]
    for i, started in enumerate(starts):
        make_task(task_id=f"us-{i}", date_done=done, date_started=started)
    found = dict(TaskResult.objects.filter(task_id__startswith="us-").values_list(
        "task_id", Microseconds("date_done", "date_started")))
    assert found == {
        f"us-{i}": None if started is None else (done - started) // timedelta(microseconds=1)
        for i, started in enumerate(starts)
    }
    assert rollup.milliseconds_of(found["us-3"]) == 0.0 and rollup.milliseconds_of(None) is None


def test_milliseconds_of_microseconds_is_the_float_subtracting_datetimes_gives():
    rng = random.Random(3)
    done = datetime(2026, 12, 2, 10, 15, 59, 123456, tzinfo=UTC)
    spans = [0, 1, -1, 999, 10**6 - 1, 86_400 * 10**6 + 7, 2**53 + 1]
    spans += [rng.randrange(-10**9, 10**13) for _ in range(5000)]
    for microseconds in spans:
        exact = milliseconds(done, done - timedelta(microseconds=microseconds))
        assert rollup.milliseconds_of(microseconds) == exact, microseconds
