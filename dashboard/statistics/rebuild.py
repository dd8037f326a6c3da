"""Build the statistics from scratch, set-based: the database groups the rows, nothing reads them one by one.

``rebuild()`` forgets every figure and produces exactly what the
incremental passes (``rollup.catch_up``) would produce at the same
``now``: the same ``Bucket`` rows (minute, hour and day; all tasks, task
name, worker, periodic task; every ready state; runtime and wait
histograms), the same ``CountedTask`` log for rows within
``STATISTICS_RECOUNT_DAYS``, and the watermark of the last row counted,
so the next pass goes on from there, and every key's ``Activity`` (its
latest result, last failure, a periodic task's gaps: ``activity.rebuild``).

One UTC day at a time (memory and temporary space stay bounded):

1. the day's ready rows older than the lag are copied, one statement, into
   a temporary table, once per dimension they count in (all tasks, and
   their task name, worker and periodic task when not empty), with their
   minute, hour and day and the histogram bins of their runtime and wait;
2. one ``GROUP BY`` per granularity turns them into bucket rows. On
   PostgreSQL and MySQL/MariaDB the histograms are encoded by the database
   too (an ordered string aggregate) and the buckets written by ``INSERT
   ... SELECT``; elsewhere (SQLite) the counts per bin are read back, far
   fewer than the rows, encoded here and bulk inserted.

The bins are exactly ``histogram.bin_of``'s. A duration is taken in
integer microseconds, as the database stores dates, so its bin is a
non-decreasing step function of an integer: ``thresholds()`` finds, with
``bin_of`` itself, the first microsecond of every bin. The database
computes the bin with the same formula (``1 + floor(ln(u / 100) /
ln(1.1))``, whose rounding may differ from Python's right at an edge, by
one bin at most) and corrects it against the exact first microseconds of
that bin and the next, read from a small table of them.

Other databases fall back to forgetting the figures and running the
incremental passes.
"""
from datetime import UTC, datetime, timedelta

from django.db import connections, models, transaction
from django.utils import timezone

from results.models import TaskResult

from ..conf import dashboard_setting
from . import activity, histogram, rollup
from .buckets import DAY, HOUR, MINUTE, bucket_start
from .models import Activity, Bucket, CountedTask, Dimension, RollupState

FAST_VENDORS = ("postgresql", "sqlite", "mysql")
SQL_ENCODING_VENDORS = ("postgresql", "mysql")
ROWS_TABLE = "dashboard_rebuild_rows"
BINS_TABLE = "dashboard_rebuild_bins"
_FAR = 2**62  # microseconds: beyond any duration


def duration_milliseconds(microseconds: int) -> float:
    """The duration the pass computes for a difference of ``microseconds`` (``rollup.milliseconds``)."""
    return rollup.milliseconds(timedelta(microseconds=microseconds), timedelta(0))


def _bin_of_microseconds(microseconds: int) -> int:
    return histogram.bin_of(duration_milliseconds(microseconds))


def thresholds() -> list[int]:
    """``[t_0, ..., t_LAST_BIN]``: ``t_b`` is the smallest whole microsecond count in bin ``b`` or above."""
    result = [-_FAR]
    for b in range(1, histogram.LAST_BIN + 1):
        low, high = result[-1], 10**14  # bin_of(10**14 us) is LAST_BIN
        while low < high:
            middle = (low + high) // 2
            if _bin_of_microseconds(middle) >= b:
                high = middle
            else:
                low = middle + 1
        result.append(low)
    return result


# --- per-vendor SQL ----------------------------------------------------------


def _microseconds_sql(vendor, later, earlier):
    """Whole microseconds from ``earlier`` to ``later`` (NULL when either is)."""
    if vendor == "postgresql":
        # date_part gives the interval's seconds as a double (EXTRACT's numeric is slower): microseconds
        # below 2**53, so rounding them back is exact
        return f"CAST(round(date_part('epoch', {later} - {earlier}) * 1000000) AS bigint)"
    if vendor == "mysql":
        return f"TIMESTAMPDIFF(MICROSECOND, {earlier}, {later})"
    return f"django_timestamp_diff({later}, {earlier})"  # Django's SQLite function


def _double_sql(vendor, expression):
    return {
        "postgresql": f"CAST({expression} AS double precision)",
        "mysql": f"({expression} * 1e0)",
    }.get(vendor, f"CAST({expression} AS REAL)")


def _integer_sql(vendor, expression):
    return f"CAST({expression} AS {'SIGNED' if vendor == 'mysql' else 'INTEGER'})"


def _milliseconds_sql(vendor, microseconds):
    """``rollup.milliseconds`` in SQL: ``max(u / 10**6 * 1000, 0.0)`` in double precision, same roundings."""
    value = f"{_double_sql(vendor, microseconds)} / 1000000 * 1000"
    return f"CASE WHEN {microseconds} IS NULL THEN NULL WHEN {microseconds} <= 0 THEN 0.0 ELSE {value} END"


def _approximate_bin_sql(vendor, microseconds, edges):
    """``bin_of`` by the formula; exact below the first bin and from the last, within one bin between."""
    formula = f"1 + FLOOR(LN({_double_sql(vendor, microseconds)} / 100) / LN(1.1))"
    return (
        f"CASE WHEN {microseconds} IS NULL THEN NULL WHEN {microseconds} < {edges[1]} THEN 0"
        f" WHEN {microseconds} >= {edges[-1]} THEN {histogram.LAST_BIN} ELSE {_integer_sql(vendor, formula)} END"
    )


def _exact_bin_sql(microseconds, approximate, edges_alias):
    """The approximate bin corrected against the exact edges of that bin (``lo``, ``hi``)."""
    return (
        f"CASE WHEN {approximate} IS NULL THEN NULL"
        f" WHEN {microseconds} < {edges_alias}.lo THEN {approximate} - 1"
        f" WHEN {microseconds} >= {edges_alias}.hi THEN {approximate} + 1 ELSE {approximate} END"
    )


def _datetime_trunc_sql(connection, unit, column):
    if connection.vendor == "postgresql":
        return f"(date_trunc('{unit}', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    sql, params = connection.ops.datetime_trunc_sql(unit, column, (), "UTC")
    # Constants (the unit, time zone names, a date format): inlined, so the statement takes no parameters for them.
    return sql % tuple("'" + str(p).replace("'", "''").replace("%", "%%") + "'" for p in params)


def _concat_sql(vendor, bin_column, count_column):
    """``"bin:count"``."""
    if vendor == "postgresql":
        return f"CAST({bin_column} AS text) || ':' || CAST({count_column} AS text)"
    return f"CONCAT({bin_column}, ':', {count_column})"


def _ordered_join_sql(vendor, item, order):
    """The non-NULL ``item``s in ``order``, space-separated: ``histogram.encode`` as an ordered string aggregate."""
    if vendor == "postgresql":
        return f"string_agg({item}, ' ' ORDER BY {order})"
    return f"GROUP_CONCAT({item} ORDER BY {order} SEPARATOR ' ')"


# --- the build ---------------------------------------------------------------


def rebuild(
    using: str | None = None, progress=None, now: datetime | None = None, sql_encoding: bool | None = None
) -> int:
    """Forget every figure and count every ready result again; returns the rows counted.

    ``progress(rows_so_far)`` is called after each day. ``sql_encoding``
    (default: where the database can) encodes the histograms in SQL.
    """
    using = using or rollup.database()
    now = now or timezone.now()
    connection = connections[using]
    if connection.vendor not in FAST_VENDORS:
        _forget(using)
        return rollup.catch_up(now=now, using=using, progress=progress)
    if sql_encoding is None:
        sql_encoding = connection.vendor in SQL_ENCODING_VENDORS
    cutoff = now - timedelta(seconds=dashboard_setting("STATISTICS_LAG"))
    ready = TaskResult.objects.using(using).filter(status__in=rollup.READY_STATES, date_done__lte=cutoff)
    with transaction.atomic(using=using):
        rollup_state = rollup.rollup_state(using)
        locked = RollupState.objects.using(using).filter(pk=rollup_state.pk)
        if connection.features.has_select_for_update:
            locked = locked.select_for_update()
        state = locked.get()
        _forget(using, keep_state=True)
        builder = _Builder(connection, cutoff, sql_encoding)
        total = 0
        try:
            builder.create_tables()
            day = ready.order_by("date_done").values_list("date_done", flat=True).first()
            while day is not None:
                day = bucket_start(day, DAY)
                total += builder.build_day(day)
                if progress is not None:
                    progress(total)
                day = ready.filter(date_done__gte=day + timedelta(days=1)).order_by("date_done").values_list(
                    "date_done", flat=True
                ).first()
            builder.remember(now - timedelta(days=dashboard_setting("STATISTICS_RECOUNT_DAYS")))
        finally:
            builder.drop_tables()
        activity.rebuild(ready, using)
        last = ready.order_by("-date_done", "-id").values_list("date_done", "id").first()
        state.done_until, state.done_until_id = last if last else (None, 0)
        state.counted = total
        state.updated = now
        state.save(using=using)
    return total


def _forget(using, keep_state=False):
    Activity.objects.using(using).all().delete()
    Bucket.objects.using(using).all().delete()
    CountedTask.objects.using(using).all().delete()
    if keep_state:
        RollupState.objects.using(using).update(done_until=None, done_until_id=0, counted=0, updated=None)
    else:
        RollupState.objects.using(using).all().delete()


class _Builder:
    def __init__(self, connection, cutoff, sql_encoding):
        self.connection, self.cutoff, self.sql_encoding = connection, cutoff, sql_encoding
        self.vendor = connection.vendor
        self.quote = connection.ops.quote_name
        self.edges = thresholds()

    def _types(self):
        return {
            "when": models.DateTimeField().db_type(self.connection),
            "key": models.CharField(max_length=255).db_type(self.connection),
            "status": models.CharField(max_length=50).db_type(self.connection),
            "dim": models.CharField(max_length=1).db_type(self.connection),
            "int": models.IntegerField().db_type(self.connection),
            "big": models.BigIntegerField().db_type(self.connection),
        }

    def create_tables(self):
        t = self._types()
        with self.connection.cursor() as cursor:
            self._drop(cursor)
            cursor.execute(f"CREATE TEMPORARY TABLE {BINS_TABLE} (b {t['int']}, lo {t['big']}, hi {t['big']})")
            edges = self.edges + [_FAR]
            rows = [(b, edges[b], edges[b + 1]) for b in range(histogram.LAST_BIN + 1)]
            cursor.executemany(f"INSERT INTO {BINS_TABLE} (b, lo, hi) VALUES (%s, %s, %s)", rows)
            cursor.execute(
                f"CREATE TEMPORARY TABLE {ROWS_TABLE} (m {t['when']}, h {t['when']}, d {t['when']},"
                f" dim {t['dim']}, k {t['key']}, status {t['status']}, rb {t['int']}, wb {t['int']})"
            )
            if self.vendor == "postgresql":
                # big sorts and hashes in memory; no JIT (compiling costs more than these plain statements)
                cursor.execute("SET LOCAL work_mem = '256MB'")
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(f"ANALYZE {BINS_TABLE}")
            elif self.vendor == "mysql":
                cursor.execute("SET SESSION group_concat_max_len = 1048576")

    def drop_tables(self):
        with self.connection.cursor() as cursor:
            self._drop(cursor)

    def _drop(self, cursor):
        for table in (ROWS_TABLE, BINS_TABLE):
            cursor.execute(f"DROP {'TEMPORARY ' if self.vendor == 'mysql' else ''}TABLE IF EXISTS {table}")

    def binned_rows_sql(self, source):
        """``source`` (a subquery with durations ``ru`` and ``wu`` in microseconds) with their bins ``rb``, ``wb``."""
        return (
            f"SELECT x.*, {_exact_bin_sql('x.ru', 'x.ra', 'br')} AS rb, {_exact_bin_sql('x.wu', 'x.wa', 'bw')} AS wb"
            f" FROM (SELECT s.*, {_approximate_bin_sql(self.vendor, 's.ru', self.edges)} AS ra,"
            f" {_approximate_bin_sql(self.vendor, 's.wu', self.edges)} AS wa FROM ({source}) s) x"
            f" LEFT JOIN {BINS_TABLE} br ON br.b = x.ra LEFT JOIN {BINS_TABLE} bw ON bw.b = x.wa"
        )

    def _source_sql(self):
        q = self.quote
        done, started, created = q("date_done"), q("date_started"), q("date_created")
        return (
            f"SELECT {done} AS done, {q('status')} AS status, COALESCE({q('task_name')}, '') AS t,"
            f" COALESCE({q('worker')}, '') AS w, COALESCE({q('periodic_task_name')}, '') AS p,"
            f" {_microseconds_sql(self.vendor, done, started)} AS ru,"
            f" {_microseconds_sql(self.vendor, started, created)} AS wu"
            f" FROM {q(TaskResult._meta.db_table)}"
            f" WHERE {q('status')} IN ({', '.join(['%s'] * len(rollup.READY_STATES))})"
            f" AND {done} >= %s AND {done} < %s AND {done} <= %s"
        )

    def build_day(self, day: datetime) -> int:
        ops = self.connection.ops
        params = [
            *rollup.READY_STATES,
            ops.adapt_datetimefield_value(day),
            ops.adapt_datetimefield_value(day + timedelta(days=1)),
            ops.adapt_datetimefield_value(self.cutoff),
        ]
        trunc = {unit: _datetime_trunc_sql(self.connection, unit, "r.done") for unit in ("minute", "hour", "day")}
        key = (
            f"CASE e.dim WHEN '{Dimension.ALL}' THEN '' WHEN '{Dimension.TASK_NAME}' THEN r.t"
            f" WHEN '{Dimension.WORKER}' THEN r.w ELSE r.p END"
        )
        dimensions = " UNION ALL ".join(f"SELECT '{dimension}' AS dim" for dimension in Dimension.values)
        select = (
            f"SELECT {trunc['minute']}, {trunc['hour']}, {trunc['day']}, e.dim, {key}, r.status, r.rb, r.wb"
            f" FROM ({self.binned_rows_sql(self._source_sql())}) r CROSS JOIN ({dimensions}) e"
            f" WHERE e.dim = '{Dimension.ALL}' OR {key} <> ''"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {ROWS_TABLE}")
            cursor.execute(
                f"INSERT INTO {ROWS_TABLE} (m, h, d, dim, k, status, rb, wb) {select}", params
            )
            if self.vendor == "postgresql":
                cursor.execute(f"ANALYZE {ROWS_TABLE}")
            cursor.execute(f"SELECT COUNT(*) FROM {ROWS_TABLE} WHERE dim = %s", [Dimension.ALL])
            rows = cursor.fetchone()[0]
            for granularity, column in ((MINUTE, "m"), (HOUR, "h"), (DAY, "d")):
                if self.sql_encoding:
                    self._insert_buckets_sql(cursor, granularity, column)
                else:
                    self._insert_buckets_python(cursor, granularity, column)
        return rows

    def _group_sql(self, column, bin_column=None, with_null=False):
        group = f"{column}, dim, k, status" + (f", {bin_column}" if bin_column else "")
        where = f" WHERE {bin_column} IS NOT NULL" if bin_column and not with_null else ""
        bins = f", {bin_column}" if bin_column else ""
        return f"SELECT {column} AS s, dim, k, status{bins}, COUNT(*) AS n FROM {ROWS_TABLE}{where} GROUP BY {group}"

    def _insert_buckets_sql(self, cursor, granularity, column):
        """One grouping per bin column: the runtime's (with its NULL bin) also gives the counts."""
        q = self.quote
        runtime_item = "CASE WHEN rb IS NOT NULL THEN " + _concat_sql(self.vendor, "rb", "n") + " END"
        joined = (
            f"SELECT s, dim, k, status, SUM(n) AS n, {_ordered_join_sql(self.vendor, runtime_item, 'rb')} AS txt"
            f" FROM ({self._group_sql(column, 'rb', with_null=True)}) g GROUP BY s, dim, k, status"
        )
        waits = (
            f"SELECT s, dim, k, status, {_ordered_join_sql(self.vendor, _concat_sql(self.vendor, 'wb', 'n'), 'wb')}"
            f" AS txt FROM ({self._group_sql(column, 'wb')}) g GROUP BY s, dim, k, status"
        )
        columns = ", ".join(q(c) for c in ("granularity", "start", "dimension", "key", "status", "count", "runtime",
                                          "wait"))
        cursor.execute(
            f"INSERT INTO {q(Bucket._meta.db_table)} ({columns})"
            f" SELECT %s, c.s, c.dim, c.k, c.status, c.n, COALESCE(c.txt, ''), COALESCE(wt.txt, '')"
            f" FROM ({joined}) c LEFT JOIN ({waits}) wt"
            f" ON wt.s = c.s AND wt.dim = c.dim AND wt.k = c.k AND wt.status = c.status",
            [granularity],
        )

    def _insert_buckets_python(self, cursor, granularity, column):
        buckets = {}
        cursor.execute(self._group_sql(column))
        for start, dimension, key, status, count in cursor.fetchall():
            buckets[(start, dimension, key, status)] = [count, {}, {}]
        for index, bin_column in ((1, "rb"), (2, "wb")):
            cursor.execute(self._group_sql(column, bin_column))
            for start, dimension, key, status, b, count in cursor.fetchall():
                buckets[(start, dimension, key, status)][index][b] = count
        Bucket.objects.using(self.connection.alias).bulk_create(
            (
                Bucket(
                    granularity=granularity, start=_aware(start), dimension=dimension, key=key, status=status,
                    count=count, runtime=histogram.encode(runtime), wait=histogram.encode(wait),
                )
                for (start, dimension, key, status), (count, runtime, wait) in buckets.items()
            ),
            batch_size=1000,
        )

    def remember(self, keep_from: datetime):
        """The ``CountedTask`` log of the rows the next passes may see stored again."""
        q, ops = self.quote, self.connection.ops
        done, started, created = q("date_done"), q("date_started"), q("date_created")
        runtime = _milliseconds_sql(self.vendor, _microseconds_sql(self.vendor, done, started))
        wait = _milliseconds_sql(self.vendor, _microseconds_sql(self.vendor, started, created))
        columns = ", ".join(q(c) for c in ("row_id", "date_done", "status", "task_name", "worker",
                                          "periodic_task_name", "runtime_ms", "wait_ms"))
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {q(CountedTask._meta.db_table)} ({columns})"
                f" SELECT {q('id')}, {done}, {q('status')}, COALESCE({q('task_name')}, ''),"
                f" COALESCE({q('worker')}, ''), COALESCE({q('periodic_task_name')}, ''), {runtime}, {wait}"
                f" FROM {q(TaskResult._meta.db_table)}"
                f" WHERE {q('status')} IN ({', '.join(['%s'] * len(rollup.READY_STATES))})"
                f" AND {done} >= %s AND {done} <= %s",
                [*rollup.READY_STATES, ops.adapt_datetimefield_value(keep_from),
                 ops.adapt_datetimefield_value(self.cutoff)],
            )


def _aware(value):
    """A bucket start read back raw: SQLite returns text (UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value

