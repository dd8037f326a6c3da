"""The statistics' migrations: histograms stored in the earlier form are converted, not lost."""
from collections import Counter

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dashboard.statistics import histogram

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE, AFTER = ("dashboard", "0003_activity"), ("dashboard", "0004_packed_histograms")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def test_histograms_stored_before_are_packed_and_back():
    old = migrate(BEFORE)
    bucket = old.get_model("dashboard", "Bucket")
    start = "2026-12-01T10:00:00Z"
    stored = [
        bucket.objects.create(granularity="m", start=start, dimension="a", key="", status="SUCCESS", count=4,
                              runtime="3:1 10:2 200:1", wait="0:4"),
        bucket.objects.create(granularity="m", start=start, dimension="t", key="x", status="SUCCESS", count=1,
                              runtime="", wait=""),
    ]
    try:
        new = migrate(AFTER).get_model("dashboard", "Bucket")
        first, second = (new.objects.get(pk=row.pk) for row in stored)
        assert histogram.decode(first.runtime) == Counter({3: 1, 10: 2, 200: 1})
        assert histogram.decode(first.wait) == Counter({0: 4}) and first.count == 4
        assert (second.runtime, second.wait) == ("", "")
        back = migrate(BEFORE).get_model("dashboard", "Bucket").objects.get(pk=stored[0].pk)
        assert (back.runtime, back.wait) == ("3:1 10:2 200:1", "0:4")
    finally:
        migrate(("dashboard", _latest()))
        connection.cursor().execute(f"DELETE FROM {bucket._meta.db_table}")


def _latest():
    executor = MigrationExecutor(connection)
    return max(name for app, name in executor.loader.graph.leaf_nodes() if app == "dashboard")


def test_quarter_hours_are_summed_from_the_minutes_stored_and_forgotten_going_back():
    old = migrate(("dashboard", "0004_packed_histograms")).get_model("dashboard", "Bucket")
    minutes = [  # two minutes of one quarter hour, one of the next; a second key apart
        ("2026-12-01T10:14:00Z", "t", "x", 2, Counter({3: 1, 10: 1}), Counter({0: 2})),
        ("2026-12-01T10:00:00Z", "t", "x", 3, Counter({10: 2, 200: 1}), Counter()),
        ("2026-12-01T10:15:00Z", "t", "x", 1, Counter({7: 1}), Counter({1: 1})),
        ("2026-12-01T10:01:00Z", "t", "y", 1, Counter(), Counter()),
    ]
    for start, dimension, key, count, runtime, wait in minutes:
        old.objects.create(granularity="m", start=start, dimension=dimension, key=key, status="SUCCESS", count=count,
                           runtime=histogram.encode(runtime), wait=histogram.encode(wait))
    old.objects.create(granularity="h", start="2026-12-01T10:00:00Z", dimension="t", key="x", status="SUCCESS",
                       count=6, runtime="", wait="")
    try:
        new = migrate(("dashboard", "0005_quarter_hour_buckets")).get_model("dashboard", "Bucket")
        quarters = {
            (row.start.isoformat(), row.key): (row.count, histogram.decode(row.runtime), histogram.decode(row.wait))
            for row in new.objects.filter(granularity="q")
        }
        assert quarters == {
            ("2026-12-01T10:00:00+00:00", "x"): (5, Counter({3: 1, 10: 3, 200: 1}), Counter({0: 2})),
            ("2026-12-01T10:15:00+00:00", "x"): (1, Counter({7: 1}), Counter({1: 1})),
            ("2026-12-01T10:00:00+00:00", "y"): (1, Counter(), Counter()),
        }
        back = migrate(("dashboard", "0004_packed_histograms")).get_model("dashboard", "Bucket")
        assert not back.objects.filter(granularity="q").exists()
        assert back.objects.count() == 5
    finally:
        migrate(("dashboard", _latest()))
        connection.cursor().execute(f"DELETE FROM {old._meta.db_table}")
