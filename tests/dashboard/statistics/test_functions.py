"""The statistics' database functions give what Python computes, on every database."""
from datetime import UTC, datetime

import pytest

from dashboard.statistics.functions import EpochSeconds
from dashboard.statistics.models import Bucket

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
