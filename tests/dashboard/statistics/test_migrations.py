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
