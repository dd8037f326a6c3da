"""PostgreSQL plans of the task list's main queries (each filter reads its index, in order) and of the failures
list's totals (an index-only scan of the failure buckets).

The rows are bulk-inserted and analysed so the planner has real statistics;
a plan that reads the composite index in order answers "newest first,
LIMIT 26" without sorting, at any depth of cursor paging.
"""
import datetime as dt

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from dashboard import selectors
from dashboard.filters import TaskFilter
from dashboard.models import Failure
from dashboard.pagination import Cursor, KeysetPaginator
from results.models import TaskResult

pytestmark = pytest.mark.postgresql

CASES = {
    "": "results_task_done_idx",
    "status=FAILURE": "results_task_status_done_idx",
    "worker=celery%40rare": "results_task_worker_done_idx",
    "status=FAILURE&worker=celery%40w3": "results_task_wrk_st_done_idx",
    "task_name=proj.t7": "results_task_name_done_idx",
    "periodic_task_name=beat-2": "results_task_periodic_done_idx",
}

DIGESTS = ("0123456789abcdef", "fedcba9876543210")


@pytest.fixture
def many_rows(db):
    start = timezone.now() - dt.timedelta(days=1)
    statuses = ["SUCCESS"] * 17 + ["FAILURE", "RETRY", "STARTED"]
    TaskResult.objects.bulk_create(
        TaskResult(
            task_id=f"{i:08x}-task",
            task_name=f"proj.t{i % 40}",
            status=statuses[i % len(statuses)],
            worker="celery@rare" if i % 100 == 0 else f"celery@w{i % 12}",
            periodic_task_name=f"beat-{i % 50}" if i % 7 == 0 else None,
            content_type="application/json",
            content_encoding="utf-8",
        )
        for i in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE results_taskresult SET date_done = %s + id * interval '1 second', date_created = date_done",
            [start],
        )
        cursor.execute("ANALYZE results_taskresult")


def plan_of(query, cursor=None):
    filterset = TaskFilter(QueryDict(query), queryset=selectors.task_rows())
    assert filterset.is_valid(), filterset.errors
    return KeysetPaginator(filterset.qs, 25).query(cursor).explain()


def assert_reads_in_order(plan, index):
    """The plan scans ``index`` and needs no sort of the rows it reads
    (an incremental sort of rows sharing one date_done is fine)."""
    assert f"using {index} " in plan, plan
    sorts = [line for line in plan.splitlines() if "Sort" in line and "Sort Key" not in line]
    assert all("Incremental Sort" in line for line in sorts), plan


def test_first_page_reads_the_filters_index_in_order(many_rows):
    for query, index in CASES.items():
        plan = plan_of(query)
        print(f"\n-- {query or 'unfiltered'}\n{plan}")
        assert_reads_in_order(plan, index)


def test_a_deep_cursor_page_starts_inside_the_index(many_rows):
    row = TaskResult.objects.order_by("date_done", "id")[15_000]
    for query, index in CASES.items():
        plan = plan_of(query, Cursor.at("after", row))
        assert_reads_in_order(plan, index)
        assert "Index Cond" in plan and "date_done <=" in plan


def test_a_failure_groups_page_reads_the_groups_index_in_order(many_rows):
    """``?fingerprint=``: the page is read from the group's ``(digest, date_done, row_id)`` index, newest first,
    and each row it names looked up: no sort of every failure of the group."""
    failed = TaskResult.objects.filter(status="FAILURE").values_list("id", "date_done")
    Failure.objects.bulk_create(
        Failure(row_id=row_id, digest=DIGESTS[row_id % 2], date_done=date_done) for row_id, date_done in failed
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE dashboard_failure")
    first = plan_of(f"fingerprint={DIGESTS[0]}")
    print(first)
    assert_reads_in_order(first, "dashboard_failure_digest_done")
    assert "Scan Backward using dashboard_failure_digest_done" in first
    row = TaskResult.objects.filter(status="FAILURE").order_by("date_done", "id")[300]
    deep = plan_of(f"fingerprint={DIGESTS[0]}", Cursor.at("after", row))
    assert_reads_in_order(deep, "dashboard_failure_digest_done")
    index_range = next(line for line in deep.splitlines() if "Index Cond" in line and "digest" in line)
    assert "date_done <=" in index_range, deep


def test_task_id_prefix_search_uses_an_index(many_rows):
    """Django's varchar_pattern_ops twin of the unique task_id index serves LIKE 'prefix%'."""
    plan = plan_of("q=0000a")
    print(plan)
    assert "Index Cond" in plan and "results_taskresult_task_id_" in plan and "_like" in plan



@pytest.mark.django_db(transaction=True)
def test_the_failures_lists_totals_read_the_failure_buckets_covering_index():
    """``queries.totals_by_key`` reads each tile of the window through the failure groups' covering index.

    After a VACUUM, as autovacuum leaves a table whose old rows no longer change: an index-only scan.
    """
    from dashboard.statistics import queries
    from dashboard.statistics.buckets import HOUR, Span
    from dashboard.statistics.models import Bucket, Dimension

    start = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=48)
    Bucket.objects.bulk_create(
        Bucket(granularity=HOUR, start=start + dt.timedelta(hours=h), dimension=dimension, key=f"k{k}",
               status="FAILURE", count=1)
        for h in range(48) for k in range(100) for dimension in (Dimension.FAILURE, Dimension.TASK_NAME,
                                                                   Dimension.WORKER, Dimension.PERIODIC)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE dashboard_bucket")
    span = Span(start + dt.timedelta(hours=24), start + dt.timedelta(hours=48))
    assert queries.totals_by_key(span, Dimension.FAILURE, "FAILURE") == {f"k{k}": 24 for k in range(100)}
    sql, params = queries.totals_sql(span, Dimension.FAILURE, "FAILURE", "default")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using dashboard_bucket_failure_totals" in plan, plan
