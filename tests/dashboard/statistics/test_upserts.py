"""The pass's own writes (``upserts.insert``): every value read back as written, on every database."""
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from dashboard.statistics.models import Bucket, CountedTask
from dashboard.statistics.upserts import insert

pytestmark = pytest.mark.django_db

AWKWARD = ["plain", "it's \"quoted\"", "back\\slash", "%s %(name)s {}", "üñí 漢字 🚀", "line\nbreak\ttab", ""]


def test_awkward_text_and_microseconds_are_written_exactly():
    done = datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=UTC)
    rows = [
        SimpleNamespace(row_id=i + 1, date_done=done, status="SUCCESS", task_name=text, worker=text[::-1],
                        periodic_task_name=text, runtime_ms=1.5 * i if i else None, wait_ms=0.25, fingerprint="")
        for i, text in enumerate(AWKWARD)
    ]
    insert(CountedTask, rows, "default")
    stored = {row.row_id: row for row in CountedTask.objects.all()}
    for row in rows:
        got = stored[row.row_id]
        assert (got.date_done, got.task_name, got.worker, got.periodic_task_name, got.runtime_ms, got.wait_ms) == (
            row.date_done, row.task_name, row.worker, row.periodic_task_name, row.runtime_ms, row.wait_ms)


def test_an_upsert_replaces_the_followed_fields_of_a_row_that_exists():
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    def bucket(key, count, runtime):
        return Bucket(granularity="m", start=start, dimension="t", key=key, status="SUCCESS", count=count,
                      runtime=runtime, wait="")

    unique, followed = ["granularity", "dimension", "key", "start", "status"], ["count", "runtime", "wait"]
    insert(Bucket, [bucket(key, 1, "0;01") for key in AWKWARD], "default", unique, followed)
    insert(Bucket, [bucket(AWKWARD[1], 5, "2;0a"), bucket("new", 2, "")], "default", unique, followed)
    stored = {row.key: (row.count, row.runtime) for row in Bucket.objects.all()}
    assert stored == {**{key: (1, "0;01") for key in AWKWARD}, AWKWARD[1]: (5, "2;0a"), "new": (2, "")}
