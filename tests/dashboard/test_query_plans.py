"""PostgreSQL plans of the list's main queries: each filter reads its index, in order.

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


def test_task_id_prefix_search_uses_an_index(many_rows):
    """Django's varchar_pattern_ops twin of the unique task_id index serves LIKE 'prefix%'."""
    plan = plan_of("q=0000a")
    print(plan)
    assert "Index Cond" in plan and "results_taskresult_task_id_" in plan and "_like" in plan
