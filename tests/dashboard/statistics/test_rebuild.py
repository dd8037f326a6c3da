"""The set-based rebuild: exactly what the incremental passes produce, and a watermark the next pass goes on from.

The bins the database computes are compared with ``histogram.bin_of`` at
every bin's edges and for random durations; then whole builds are compared
with ``rollup.catch_up`` over random rows (with NULL and empty names, rows
younger than the lag, rows older than the recount window, durations on
every bin's edges, negative and missing durations), bucket for bucket.
"""
import math
import random
from datetime import timedelta

import pytest
from celery import states
from django.db import IntegrityError, connection, transaction

from dashboard.models import Activity, Bucket, CountedTask, Failure, FailureGroup, RollupState
from dashboard.statistics import activity, histogram, rebuild, rollup
from dashboard.statistics.models import Dimension
from demo.seed import dates_as_given
from results.models import TaskResult

from .test_rollup import CAUSES, NOW, assert_exact, random_rows, store

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot():
    buckets = sorted(
        Bucket.objects.values_list("granularity", "start", "dimension", "key", "status", "count", "runtime", "wait")
    )
    counted = sorted(CountedTask.objects.values_list(
        "row_id", "date_done", "status", "task_name", "worker", "periodic_task_name", "runtime_ms", "wait_ms"
    ))
    state = RollupState.objects.values_list("done_until", "done_until_id", "counted", "updated").get()
    activities = sorted(Activity.objects.values_list(
        "dimension", "key", "last_done", "last_row_id", "last_status", "last_failure", "gaps"
    ))
    groups = sorted(FailureGroup.objects.values_list(
        "digest", "exception_type", "message", "where", "count", "first_seen", "last_seen", "sample_row_id",
        "task_names", "workers",
    ))
    failed = sorted(Failure.objects.values_list("row_id", "digest", "date_done", "task_name", "worker"))
    return buckets, counted, state, activities, groups, failed


def forget():
    Failure.objects.all().delete()
    FailureGroup.objects.all().delete()
    Activity.objects.all().delete()
    Bucket.objects.all().delete()
    CountedTask.objects.all().delete()
    RollupState.objects.all().delete()


def edge_rows(rng, until):
    """Rows whose runtime and wait fall on either side of every bin's first microsecond, and odd ones."""
    edges = rebuild.thresholds()
    rows = random_rows(rng, 2 * histogram.LAST_BIN + 4, until, spread=timedelta(days=2), prefix="edge")
    durations = [edges[b] + delta for b in range(1, histogram.LAST_BIN + 1) for delta in (-1, 0)]
    durations += [0, -5_000, 1, 99]  # zero, negative (started after done), under the first bin
    for row, runtime, wait in zip(rows, durations, reversed(durations), strict=True):
        row.date_started = row.date_done - timedelta(microseconds=runtime)
        row.date_created = row.date_started - timedelta(microseconds=wait)
    rows[-1].date_started = None  # no start: counted, neither histogram
    return rows


def varied_rows(rng):
    rows = random_rows(rng, 1200, NOW - timedelta(seconds=10), spread=timedelta(days=10))
    # past the hour (62 days) and day (90 days) retentions: counted, but only their day buckets or none are kept
    rows += random_rows(rng, 150, NOW - timedelta(days=55), spread=timedelta(days=50), prefix="old")
    rows += edge_rows(rng, NOW - timedelta(hours=1))
    young = random_rows(rng, 30, NOW, spread=timedelta(seconds=4), prefix="young")  # within the 5 s lag
    for row in rows[:40]:
        row.worker = ""  # empty, like NULL: no worker bucket
    for row in rows[40:80]:
        row.task_name, row.periodic_task_name = "", ""
    return rows + young


def test_thresholds_are_the_first_microsecond_of_every_bin():
    edges = rebuild.thresholds()
    assert len(edges) == histogram.LAST_BIN + 1
    for b in range(1, histogram.LAST_BIN + 1):
        assert histogram.bin_of(rollup.milliseconds_of(edges[b])) == b
        assert histogram.bin_of(rollup.milliseconds_of(edges[b] - 1)) == b - 1
    assert all(a < b for a, b in zip(edges, edges[1:], strict=False))


def test_the_databases_bins_and_milliseconds_equal_pythons():
    rng = random.Random(20)
    edges = rebuild.thresholds()
    values = [edge + delta for edge in edges[1:] for delta in (-2, -1, 0, 1)]
    values += [round(math.exp(rng.uniform(0, math.log(10**13)))) for _ in range(3000)]
    values += [0, -1, -10**9, 1, 10**14]
    builder = rebuild._Builder(connection, NOW, sql_encoding=False)
    found = []
    with transaction.atomic():
        builder.create_tables()
        with connection.cursor() as cursor:
            for start in range(0, len(values), 400):
                chunk = values[start : start + 400]
                # wu: a NULL of the integers' type on every database
                rows = (f"SELECT {i} AS i, {u} AS ru, NULLIF({u}, {u}) AS wu" for i, u in enumerate(chunk))
                source = " UNION ALL ".join(rows)
                milliseconds = rebuild._milliseconds_sql(connection.vendor, "b.ru")
                cursor.execute(f"SELECT b.i, b.rb, b.wb, {milliseconds} FROM ({builder.binned_rows_sql(source)}) b")
                found += [(chunk[i], rb, wb, ms) for i, rb, wb, ms in sorted(cursor.fetchall())]
        builder.drop_tables()
    assert len(found) == len(values)
    for micro, rb, wb, ms in found:
        assert (micro, rb, wb) == (micro, histogram.bin_of(rollup.milliseconds_of(micro)), None)
        assert ms == rollup.milliseconds_of(micro), micro


@pytest.mark.parametrize("sql_encoding", [None, False], ids=["default", "python-encoding"])
def test_a_rebuild_equals_the_incremental_passes_then_pruning(sql_encoding):
    rng = random.Random(21)
    store(varied_rows(rng))
    rollup.catch_up(now=NOW)
    everything = Bucket.objects.count()
    while rollup.prune(now=NOW):
        pass
    passes = snapshot()
    assert everything > len(passes[0])  # the test sees buckets past their retention
    forget()
    Activity.objects.create(dimension="t", key="gone", last_done=NOW, last_row_id=0, last_status=states.SUCCESS)
    assert rebuild.rebuild(now=NOW, sql_encoding=sql_encoding) == passes[2][2]
    built = snapshot()
    assert built[0] == passes[0], "buckets"
    assert built[1] == passes[1], "recount log"
    assert built[2] == passes[2], "watermark"
    assert built[3] == passes[3], "activity"
    assert built[4] == passes[4], "failure groups"
    assert built[5] == passes[5], "failures"
    assert len(passes[0]) > 1000 and 0 < len(passes[1]) < passes[2][2]
    # one group per cause, and one per exception stored without a traceback (no frame: the two ValueErrors share)
    assert len(passes[4]) == len(CAUSES) + 3 and 0 < len(passes[5]) < sum(group[4] for group in passes[4])
    assert Bucket.objects.filter(dimension=Dimension.FAILURE).exists()


def test_the_next_pass_goes_on_from_a_rebuild_without_double_counting_or_losing_a_row(settings):
    # nothing past its retention: every bucket kept, as catch_up alone keeps them
    settings.DASHBOARD = {**settings.DASHBOARD, "STATISTICS_MINUTE_DAYS": 400, "STATISTICS_QUARTER_DAYS": 400,
                          "STATISTICS_HOUR_DAYS": 400,
                          "STATISTICS_RETENTION_DAYS": 400}
    rng = random.Random(22)
    store(varied_rows(rng))
    rebuild.rebuild(now=NOW)
    # New rows, a row that was too young at the rebuild, and a recent row stored again in a new state.
    store(random_rows(rng, 300, NOW + timedelta(minutes=5), spread=timedelta(minutes=4), prefix="later"))
    again = TaskResult.objects.filter(
        status=states.SUCCESS, date_done__gte=NOW - timedelta(days=2), date_done__lte=NOW - timedelta(minutes=10)
    ).exclude(task_name=None).exclude(date_started=None).first()
    with dates_as_given(TaskResult):
        TaskResult.objects.filter(pk=again.pk).update(
            status=states.FAILURE, worker="celery@elsewhere", date_done=NOW + timedelta(minutes=2)
        )
    later = NOW + timedelta(minutes=6)
    assert rollup.run_pass(now=later).recounted == 1
    assert_exact(rng, spans=40)
    assert RollupState.objects.get().counted == TaskResult.objects.filter(status__in=rollup.READY_STATES).count()
    incremental = snapshot()
    forget()
    rollup.catch_up(now=later)
    again = snapshot()
    assert again[0] == incremental[0], "buckets"
    assert again[3] == incremental[3], "activity"


def test_progress_is_reported_after_every_day():
    rng = random.Random(23)
    store(random_rows(rng, 400, NOW - timedelta(seconds=10), spread=timedelta(days=4)))
    seen = []
    total = rebuild.rebuild(now=NOW, progress=seen.append)
    days = {row.date_done.date() for row in TaskResult.objects.filter(status__in=rollup.READY_STATES)}
    assert len(seen) == len(days) and seen == sorted(seen) and seen[-1] == total


def test_a_rebuild_of_nothing_forgets_everything_and_passes_go_on():
    store(random_rows(random.Random(24), 50, NOW - timedelta(seconds=10)))
    rollup.catch_up(now=NOW)
    TaskResult.objects.all().delete()
    assert rebuild.rebuild(now=NOW) == 0
    assert not Bucket.objects.exists() and not CountedTask.objects.exists()
    assert RollupState.objects.values_list("done_until", "counted", "updated").get() == (None, 0, NOW)
    store(random_rows(random.Random(25), 50, NOW + timedelta(minutes=1), spread=timedelta(seconds=30)))
    assert rollup.catch_up(now=NOW + timedelta(minutes=2)) == TaskResult.objects.filter(
        status__in=rollup.READY_STATES
    ).count()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's own record of ANALYZE")
def test_a_rebuild_leaves_the_planner_statistics_of_the_tables_it_filled():
    store(random_rows(random.Random(7), 50, NOW))
    rebuild.rebuild(now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname = ANY(%s)",
            [[Bucket._meta.db_table, CountedTask._meta.db_table, Activity._meta.db_table]],
        )
        analyzed = {row[0] for row in cursor.fetchall()}
    assert analyzed == {Bucket._meta.db_table, CountedTask._meta.db_table, Activity._meta.db_table}


def _indexes_of(table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name: (tuple(c["columns"]), c["primary_key"], c["unique"], c["index"]) for name, c in constraints.items()
        if c["index"] or c["primary_key"] or c["unique"]
    }


def test_the_recount_log_has_its_indexes_after_a_rebuild_and_after_one_that_failed(monkeypatch):
    table = CountedTask._meta.db_table
    before = _indexes_of(table)
    assert any(primary for _columns, primary, _unique, _index in before.values())
    store(random_rows(random.Random(8), 80, NOW))
    rebuild.rebuild(now=NOW)
    assert _indexes_of(table) == before
    with pytest.raises(IntegrityError), transaction.atomic():  # the primary key is enforced again
        entry = CountedTask.objects.first()
        CountedTask.objects.create(row_id=entry.row_id, date_done=NOW, status=states.SUCCESS)

    def fail(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(activity, "rebuild", fail)  # after the log is written, before the rebuild commits
    with pytest.raises(RuntimeError):
        rebuild.rebuild(now=NOW + timedelta(minutes=1))
    assert _indexes_of(table) == before
    assert CountedTask.objects.count() > 0  # the rebuild before is still there, whole


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's own record of VACUUM")
@pytest.mark.django_db(transaction=True)
def test_a_rebuild_outside_a_transaction_leaves_the_tables_it_filled_vacuumed():
    """Their visibility maps set: the pages' index-only scans need them, whether autovacuum is on or not."""
    store(random_rows(random.Random(8), 50, NOW))
    rebuild.rebuild(now=NOW)
    tables = [model._meta.db_table for model in (Bucket, CountedTask, Activity, Failure)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
            " AND relname = ANY(%s)",
            [tables],
        )
        assert {row[0] for row in cursor.fetchall()} == set(tables)
