"""Cheap counts for paginating large tables (``results.counting``)."""
import pytest
from celery import states
from django.db import connection
from django.test.utils import CaptureQueriesContext

from results.counting import (
    BoundedCount,
    EstimatedCountPaginator,
    bounded_count,
    count_up_to,
    estimated_table_rows,
    fast_count,
    is_unfiltered,
)
from results.models import TaskResult

pytestmark = pytest.mark.django_db


def make_tasks(count, status=states.SUCCESS, prefix="t"):
    TaskResult.objects.bulk_create(
        TaskResult(task_id=f"{prefix}{i}", status=status, task_name="app.add") for i in range(count)
    )


def sql_of(queries):
    return " ".join(q["sql"].upper() for q in queries)


def test_is_unfiltered():
    assert is_unfiltered(TaskResult.objects.all())
    assert is_unfiltered(TaskResult.objects.order_by("-date_done"))
    assert not is_unfiltered(TaskResult.objects.filter(status="SUCCESS"))
    assert not is_unfiltered(TaskResult.objects.distinct())
    assert not is_unfiltered(TaskResult.objects.all()[:5])


def test_small_tables_are_counted_exactly():
    make_tasks(7)
    assert fast_count(TaskResult.objects.all()) == 7
    assert fast_count(TaskResult.objects.filter(status=states.FAILURE)) == 0


def test_filtered_count_is_exact_up_to_the_limit():
    make_tasks(5, status=states.SUCCESS, prefix="s")
    make_tasks(3, status=states.FAILURE, prefix="f")
    assert fast_count(TaskResult.objects.filter(status=states.FAILURE), limit=3) == 3
    with CaptureQueriesContext(connection) as queries:
        over = fast_count(TaskResult.objects.filter(status=states.SUCCESS), limit=3)
    # Never below limit + 1, and the count itself stopped reading at limit + 1.
    assert over >= 4
    assert "LIMIT 4" in sql_of(queries.captured_queries)


def test_sqlite_estimate_is_the_primary_key_span():
    if connection.vendor != "sqlite":
        pytest.skip(f"needs SQLite; this run's database is {connection.vendor}")
    make_tasks(10)
    TaskResult.objects.filter(task_id__in=["t3", "t4", "t5"]).delete()
    assert estimated_table_rows(TaskResult) == 10


@pytest.mark.postgresql
def test_postgresql_estimate_comes_from_planner_statistics():
    make_tasks(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE results_taskresult")
    assert estimated_table_rows(TaskResult) == 40
    # The statistics are not refreshed by a delete: an estimate, not a count.
    TaskResult.objects.filter(task_id__in=["t1", "t2"]).delete()
    assert estimated_table_rows(TaskResult) == 40


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_mysql_estimate_comes_from_information_schema():
    make_tasks(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE results_taskresult")
        cursor.fetchall()
    estimate = estimated_table_rows(TaskResult)
    assert estimate is not None and 20 <= estimate <= 80


def test_large_unfiltered_table_is_not_counted(monkeypatch):
    make_tasks(12)
    monkeypatch.setattr("results.counting.estimated_table_rows", lambda model, using: 5_000_000)
    with CaptureQueriesContext(connection) as queries:
        assert fast_count(TaskResult.objects.all()) == 5_000_000
    assert "COUNT(" not in sql_of(queries.captured_queries)


def test_unknown_estimate_falls_back_to_an_exact_count(monkeypatch):
    make_tasks(3)
    monkeypatch.setattr("results.counting.estimated_table_rows", lambda model, using: None)
    assert fast_count(TaskResult.objects.all()) == 3


def test_paginator_uses_the_estimate_for_querysets(monkeypatch):
    make_tasks(30)
    monkeypatch.setattr("results.counting.estimated_table_rows", lambda model, using: 1_000_000)
    paginator = EstimatedCountPaginator(TaskResult.objects.order_by("-pk"), 10)
    assert paginator.count == 1_000_000
    assert paginator.num_pages == 100_000
    assert [t.task_id for t in paginator.page(1).object_list][:2] == ["t29", "t28"]


def test_paginator_counts_plain_lists_as_django_does():
    assert EstimatedCountPaginator(list(range(25)), 10).count == 25


def test_count_up_to_stops_reading_after_the_limit():
    make_tasks(6)
    with CaptureQueriesContext(connection) as queries:
        assert count_up_to(TaskResult.objects.filter(status=states.SUCCESS), 4) == 5
    assert "LIMIT 5" in sql_of(queries.captured_queries)
    assert count_up_to(TaskResult.objects.filter(status=states.SUCCESS), 10) == 6


def test_bounded_count_is_exact_up_to_the_limit_then_more_than_it():
    make_tasks(6)
    failures = TaskResult.objects.filter(status=states.FAILURE)
    assert bounded_count(failures, 5) == BoundedCount(exact=0)
    assert bounded_count(TaskResult.objects.filter(status=states.SUCCESS), 6) == BoundedCount(exact=6)
    over = bounded_count(TaskResult.objects.filter(status=states.SUCCESS), 5)
    assert (over.exact, over.at_least) == (None, 5)
    assert (over.estimate is not None) == (connection.vendor == "postgresql")


def test_bounded_count_of_a_large_unfiltered_table_is_its_estimate_without_a_count(monkeypatch):
    make_tasks(3)
    monkeypatch.setattr("results.counting.estimated_table_rows", lambda model, using: 2_000_000)
    with CaptureQueriesContext(connection) as queries:
        assert bounded_count(TaskResult.objects.all(), 1_000) == BoundedCount(at_least=1_000, estimate=2_000_000)
    assert not queries.captured_queries
    # Below the limit, the estimate is not trusted: the rows are counted.
    assert bounded_count(TaskResult.objects.all(), 5_000_000) == BoundedCount(exact=3)
