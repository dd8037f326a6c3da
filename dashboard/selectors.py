"""Every query the dashboard runs, in one place.

Views never build querysets themselves: they ask this module, so that the
list an operator sees, its count, its CSV export and any "apply to all
matching" action read exactly the same rows, and so that the cost of each
page can be reasoned about (and indexed for) here.

The rules that keep pages fast on millions of rows:

- lists load only the columns they show (never the args, result or
  traceback text);
- the default order (newest first) pages by cursor on ``(date_done, id)``,
  so page 10,000 costs what page 1 costs; other orders page by offset,
  up to a bounded depth;
- counts are bounded (``COUNT_LIMIT``) and the unfiltered total is read
  from the database's statistics, never from ``COUNT(*)``;
- the values offered in the filter form come from a loose index scan (one
  index probe per distinct value, bounded), not a ``DISTINCT`` over the
  table.
"""
import datetime as dt
import json
from dataclasses import dataclass

from celery import states
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.db.models import Count as Count_
from django.db.models import Q

from results.models import TaskResult

from .conf import dashboard_setting

# The columns the task list shows; everything else stays in the database.
TASK_LIST_FIELDS = (
    "id",
    "task_id",
    "task_name",
    "periodic_task_name",
    "status",
    "worker",
    "date_created",
    "date_started",
    "date_done",
)

# Columns whose distinct values the filter form offers.
FACET_COLUMNS = ("status", "worker", "task_name", "periodic_task_name")


def task_rows():
    """All task results, loading only the list's columns."""
    return TaskResult.objects.only(*TASK_LIST_FIELDS)


# --- distinct values for the filter form ------------------------------------


def distinct_values(column):
    """Sorted distinct non-null values of ``column``, at most ``FACET_LIMIT + 1``.

    A recursive query walks the column's index from one value to the next
    (a "loose index scan"): its cost grows with the number of distinct
    values, not with the number of rows. One value more than the limit is
    returned so that callers can tell the list was cut. Cached for
    ``FACET_CACHE_SECONDS``.
    """
    if column not in FACET_COLUMNS:
        raise ValueError(f"no facet on {column!r}")
    limit = dashboard_setting("FACET_LIMIT") + 1
    timeout = dashboard_setting("FACET_CACHE_SECONDS")
    key = f"dashboard:facet:{column}:{limit}"
    if timeout:
        values = cache.get(key)
        if values is not None:
            return values
    values = _loose_index_scan(column, limit)
    if timeout:
        cache.set(key, values, timeout)
    return values


def _loose_index_scan(column, limit):
    connection = connections[TaskResult.objects.db]
    qn = connection.ops.quote_name
    table, col = qn(TaskResult._meta.db_table), qn(column)
    sql = (
        f"WITH RECURSIVE facet (v, n) AS ("
        f" SELECT MIN({col}), 1 FROM {table}"
        f" UNION ALL"
        f" SELECT (SELECT MIN({col}) FROM {table} WHERE {col} > facet.v), facet.n + 1"
        f" FROM facet WHERE facet.v IS NOT NULL AND facet.n < %s"
        f") SELECT v FROM facet WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


def facet_choices(column):
    """``(values, complete)``: the values offered for ``column`` and whether that is all of them."""
    values = distinct_values(column)
    limit = dashboard_setting("FACET_LIMIT")
    return values[:limit], len(values) <= limit


def task_names_containing(text):
    """Task names containing ``text`` (case-insensitive), or None when unknown.

    None means the list of task names was too long to read whole, and the
    caller must search the column itself.
    """
    names, complete = facet_choices("task_name")
    if not complete:
        return None
    text = text.casefold()
    return [name for name in names if text in name.casefold()]


def search_tasks(queryset, text):
    """Rows whose task id starts with ``text`` or whose task name contains it.

    Both halves use an index: the id prefix the task id's index, the name
    half becomes ``task_name IN (...)`` over the known names.
    """
    names = task_names_containing(text)
    by_name = Q(task_name__icontains=text) if names is None else Q(task_name__in=names)
    if names == []:
        return queryset.filter(task_id__startswith=text)
    return queryset.filter(Q(task_id__startswith=text) | by_name)


# --- keyset pagination -------------------------------------------------------


class InvalidCursor(ValueError):
    """A ``cursor`` parameter that does not name a position in the list."""


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered by ``(date_done, id)``.

    ``direction`` is ``"after"`` (rows past this one in list order: the next
    page) or ``"before"`` (rows ahead of it: the previous page). In a URL it
    reads ``after.<microseconds since epoch>.<id>``.
    """

    direction: str
    date_done: dt.datetime
    pk: int

    EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

    def encode(self):
        micros = (self.date_done - self.EPOCH) // dt.timedelta(microseconds=1)
        return f"{self.direction}.{micros}.{self.pk}"

    @classmethod
    def decode(cls, text):
        try:
            direction, micros, pk = text.split(".")
            if direction not in ("after", "before"):
                raise ValueError(direction)
            micros, pk = int(micros), int(pk)
            if not (0 < pk < 2**63):
                raise ValueError(pk)
            date_done = cls.EPOCH + dt.timedelta(microseconds=micros)
        except (ValueError, OverflowError) as exc:
            raise InvalidCursor(f"{text[:40]!r} is not a position in this list") from exc
        return cls(direction, date_done, pk)

    @classmethod
    def at(cls, direction, row):
        return cls(direction, row.date_done, row.pk)


@dataclass
class KeysetPage:
    """One page of rows read by cursor, with the cursors of its neighbours."""

    rows: list
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_next(self):
        return self.next_cursor is not None

    @property
    def has_previous(self):
        return self.previous_cursor is not None


def keyset_page(queryset, cursor, per_page, descending=True):
    """The page of ``queryset`` (ordered by ``date_done, id``) at ``cursor``.

    One query, ``LIMIT per_page + 1``, that starts at the cursor through the
    ``(…, date_done, id)`` indexes: its cost does not depend on how deep the
    page is. ``cursor`` None is the first page.
    """
    forward = cursor is None or cursor.direction == "after"
    newest_first = descending == forward
    order = ("-date_done", "-id") if newest_first else ("date_done", "id")
    if cursor is not None:
        # Rows strictly past the cursor in the direction we read.
        if newest_first:
            past = Q(date_done__lt=cursor.date_done) | Q(date_done=cursor.date_done, id__lt=cursor.pk)
        else:
            past = Q(date_done__gt=cursor.date_done) | Q(date_done=cursor.date_done, id__gt=cursor.pk)
        queryset = queryset.filter(past)
    rows = list(queryset.order_by(*order)[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not forward:
        rows.reverse()
    if not rows:
        return KeysetPage([], None, None)
    has_next = more if forward else True
    has_previous = (cursor is not None) if forward else more
    return KeysetPage(
        rows,
        next_cursor=Cursor.at("after", rows[-1]).encode() if has_next else None,
        previous_cursor=Cursor.at("before", rows[0]).encode() if has_previous else None,
    )


# --- counts ------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """How many rows match: exact, or "more than ``at_least``" with an estimate."""

    exact: int | None = None
    at_least: int | None = None
    estimate: int | None = None


def count_rows(queryset, filtered):
    """Count ``queryset`` without ever scanning a whole large table.

    Unfiltered: the table's row estimate from the database statistics;
    exact only when the estimate is below ``COUNT_LIMIT``. Filtered: an exact
    count capped at ``COUNT_LIMIT`` (``COUNT(*)`` over a ``LIMIT``ed
    subquery), plus the planner's estimate when the cap is reached.
    """
    limit = dashboard_setting("COUNT_LIMIT")
    if not filtered:
        estimate = estimated_table_rows(queryset.model, queryset.db)
        if estimate is not None and estimate > limit:
            return Count(at_least=limit, estimate=estimate)
    capped = queryset.order_by().values("pk")[: limit + 1].count()
    if capped <= limit:
        return Count(exact=capped)
    return Count(at_least=limit, estimate=planner_estimate(queryset))


def estimated_table_rows(model, using):
    """The row count the database keeps in its statistics, or None.

    PostgreSQL: ``pg_class.reltuples`` (-1 before the first ANALYZE);
    MySQL/MariaDB: ``information_schema.TABLES.TABLE_ROWS``; SQLite keeps no
    such figure, so the id span (``MAX(id) - MIN(id) + 1``, two index
    lookups) stands in for it, an upper bound.
    """
    connection = connections[using]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
        elif connection.vendor == "mysql":
            cursor.execute(
                "SELECT TABLE_ROWS FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                [table],
            )
        else:
            qn = connection.ops.quote_name
            cursor.execute(f"SELECT MAX({qn('id')}) - MIN({qn('id')}) + 1 FROM {qn(table)}")
        row = cursor.fetchone()
    if not row or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


def planner_estimate(queryset):
    """The query planner's row estimate for ``queryset`` (PostgreSQL), else None."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    try:
        plan = queryset.order_by().values("pk").explain(format="json")
    except DatabaseError:
        return None
    try:
        return int(json.loads(plan)[0]["Plan"]["Plan Rows"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None



# --- overview ----------------------------------------------------------------


def recent_failures(limit=10):
    """The latest failed tasks, newest first (index on ``status, date_done, id``)."""
    return list(
        task_rows().filter(status=states.FAILURE).order_by("-date_done", "-id")[:limit]
    )


def status_counts_since(since):
    """``(counts, capped)``: tasks per status whose state changed since ``since``.

    One ``GROUP BY`` when the window holds at most ``COUNT_LIMIT`` rows;
    otherwise one capped count per status (each an index range scan that
    stops at the cap), so a busy day never costs a scan of the day.
    """
    limit = dashboard_setting("COUNT_LIMIT")
    window = TaskResult.objects.filter(date_done__gte=since)
    if window.order_by().values("pk")[: limit + 1].count() <= limit:
        rows = window.order_by().values("status").annotate(n=Count_("pk")).values_list("status", "n")
        return dict(sorted(rows)), False
    statuses = sorted(set(states.ALL_STATES) | set(facet_choices("status")[0]))
    counts = {}
    for status in statuses:
        n = window.filter(status=status).order_by().values("pk")[: limit + 1].count()
        if n:
            counts[status] = n
    return counts, True


# --- one task ----------------------------------------------------------------


def task_by_id(task_id):
    """The stored result of ``task_id`` (every column), or None."""
    return TaskResult.objects.filter(task_id=task_id).first()
