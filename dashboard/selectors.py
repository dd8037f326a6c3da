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
from django.db import connections
from django.db.models import Count
from django.db.models import Max, Min, Q, Sum

from results.counting import BoundedCount, bounded_count, count_up_to
from results.models import ChordCounter, GroupResult, TaskResult
from results.utils import batched

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


def keyset_query(queryset, cursor, per_page, descending=True):
    """The one query a cursor page reads: ``per_page + 1`` rows past ``cursor``.

    It starts at the cursor through the ``(…, date_done, id)`` indexes, so
    its cost does not depend on how deep the page is.
    """
    forward = cursor is None or cursor.direction == "after"
    newest_first = descending == forward
    order = ("-date_done", "-id") if newest_first else ("date_done", "id")
    if cursor is not None:
        # Rows strictly past the cursor in the direction we read. The
        # inclusive bound on date_done alone is what the index range starts
        # from; the OR only sorts out rows sharing the cursor's date_done.
        if newest_first:
            queryset = queryset.filter(
                Q(date_done__lte=cursor.date_done), Q(date_done__lt=cursor.date_done) | Q(id__lt=cursor.pk)
            )
        else:
            queryset = queryset.filter(
                Q(date_done__gte=cursor.date_done), Q(date_done__gt=cursor.date_done) | Q(id__gt=cursor.pk)
            )
    return queryset.order_by(*order)[: per_page + 1]


def keyset_page(queryset, cursor, per_page, descending=True):
    """The page of ``queryset`` (ordered by ``date_done, id``) at ``cursor``; None is the first page."""
    forward = cursor is None or cursor.direction == "after"
    rows = list(keyset_query(queryset, cursor, per_page, descending))
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


def count_rows(queryset) -> BoundedCount:
    """How many rows ``queryset`` holds, exact up to ``COUNT_LIMIT`` (``results.counting.bounded_count``).

    Never a ``COUNT(*)`` over a whole large table: unfiltered, the table's
    estimate from the database's statistics; filtered, a count that stops
    after ``COUNT_LIMIT + 1`` rows, plus the planner's estimate beyond.
    """
    return bounded_count(queryset, dashboard_setting("COUNT_LIMIT"))


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
    if count_up_to(window, limit) <= limit:
        rows = window.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
        return dict(sorted(rows)), False
    statuses = sorted(set(states.ALL_STATES) | set(facet_choices("status")[0]))
    counts = {}
    for status in statuses:
        n = count_up_to(window.filter(status=status), limit)
        if n:
            counts[status] = n
    return counts, True


# --- one task ----------------------------------------------------------------


def is_storable_id(value):
    """Could ``value`` be a stored id? (PostgreSQL rejects NUL characters in any query.)"""
    return "\x00" not in value


def task_by_id(task_id):
    """The stored result of ``task_id`` (every column), or None."""
    if not is_storable_id(task_id):
        return None
    return next(iter(TaskResult.objects.filter(task_id=task_id).order_by()[:1]), None)


def task_statuses(task_ids):
    """``{task_id: (status, task_name)}`` for the ids that have a stored row: one query."""
    rows = TaskResult.objects.filter(task_id__in=list(task_ids)).values_list("task_id", "status", "task_name")
    return {task_id: (status, name) for task_id, status, name in rows}


def runs_with_same_arguments(task):
    """Other runs of ``task``'s task name with the same args and kwargs, newest first.

    Looks through the latest ``SAME_ARGS_SCAN`` runs of the name only (an
    index range on ``task_name, date_done``), so a task run millions of
    times costs the same as one run a few times. Returns ``(runs, scanned_all)``.
    """
    if not task.task_name or task.task_args is None:
        return [], True
    shown, scan = dashboard_setting("SAME_ARGS_SHOWN"), dashboard_setting("SAME_ARGS_SCAN")
    same_name = task_rows().filter(task_name=task.task_name)
    # The date_done of the scan-th latest run bounds the range to read.
    boundary = list(same_name.order_by("-date_done", "-id").values_list("date_done", flat=True)[scan - 1 : scan])
    runs = same_name.filter(task_args=task.task_args, task_kwargs=task.task_kwargs).exclude(pk=task.pk)
    if boundary:
        runs = runs.filter(date_done__gte=boundary[0])
    return list(runs.order_by("-date_done", "-id")[:shown]), not boundary


def group_of_task(task, meta=None):
    """The stored group ``task`` was sent in, or None.

    Celery does not store a task's group id on its row, so the group is
    found by its member list: among the groups saved within
    ``GROUP_LOOKUP_WINDOW`` of the task's creation (an index range on the
    groups' ``date_created``), the one whose stored result names the task. A ``group_id`` in the
    task's meta, when a sender put one there, is used directly.
    """
    group_id = (meta or {}).get("group_id") if isinstance(meta, dict) else None
    if isinstance(group_id, str) and group_id:
        return GroupResult.objects.filter(group_id=group_id).first()
    if task.date_created is None:
        return None
    window = dt.timedelta(seconds=dashboard_setting("GROUP_LOOKUP_WINDOW"))
    return (
        GroupResult.objects.filter(
            date_created__gte=task.date_created - window,
            date_created__lte=task.date_created + window,
            result__contains=task.task_id,
        )
        .order_by("-date_created")
        .first()
    )


# --- groups ------------------------------------------------------------------

GROUP_LIST_FIELDS = ("id", "group_id", "date_created", "date_done")


def group_rows():
    """All group results, without their (possibly long) member lists."""
    return GroupResult.objects.only(*GROUP_LIST_FIELDS)


def group_by_id(group_id):
    """The stored group ``group_id`` (every column), or None."""
    if not is_storable_id(group_id):
        return None
    return next(iter(GroupResult.objects.filter(group_id=group_id).order_by()[:1]), None)


def running_chord_header(group_id):
    """``(group, counter)`` for a running chord's header group, or None.

    Celery's database backend keeps a running chord's header only in its
    ``ChordCounter`` (``sub_tasks``: the members' result tuples) and never
    stores the group itself; ``group`` is an unsaved ``GroupResult`` holding
    that header as a stored group would, so the group page can show it.
    """
    if not is_storable_id(group_id):
        return None
    counter = next(iter(ChordCounter.objects.filter(group_id=group_id).order_by()[:1]), None)
    if counter is None:
        return None
    header = GroupResult(
        group_id=group_id,
        result=f"[[{json.dumps(group_id)}, null], {counter.sub_tasks}]",
        content_type="application/json",
        content_encoding="utf-8",
    )
    return header, counter


def group_members(task_ids):
    """The member tasks' rows (list columns), in the group's order; missing ids are None.

    One query (``task_id IN (...)`` on the unique index), at most
    ``GROUP_MEMBERS_SHOWN`` members.
    """
    rows = {row.task_id: row for row in task_rows().filter(task_id__in=list(task_ids))}
    return [(task_id, rows.get(task_id)) for task_id in task_ids]


def status_breakdown(task_ids):
    """``{status: count}`` over a group's members; missing rows count as PENDING.

    One grouped query per batch of members (``task_id IN (...)`` on the
    unique index, ``results.utils.batched``), so a large group stays within
    every database's limit on query parameters.
    """
    task_ids = list(dict.fromkeys(task_ids))
    counts = {}
    for batch in batched(task_ids):
        rows = (
            TaskResult.objects.filter(task_id__in=batch)
            .order_by()
            .values("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status, n in rows:
            counts[status] = counts.get(status, 0) + n
    missing = len(task_ids) - sum(counts.values())
    if missing > 0:
        counts[states.PENDING] = counts.get(states.PENDING, 0) + missing
    return counts


# --- chord counters ------------------------------------------------------------


def chord_counters(limit):
    """The running chords' counters, oldest first: at most ``limit + 1`` (so callers can tell there are more)."""
    return list(ChordCounter.objects.order_by("id")[: limit + 1])


def chord_counters_state():
    """A cheap fingerprint of the chord counters and their header tasks: what the live page's ETag is made of.

    One aggregate over the counters (a small table: only running chords) and,
    when there are any, the newest ``date_done`` of all tasks (one probe of its
    index): any header task changing state moves it.
    """
    state = ChordCounter.objects.aggregate(n=Count("id"), low=Min("id"), high=Max("id"), remaining=Sum("count"))
    if state["n"]:
        state["tasks_changed"] = TaskResult.objects.aggregate(at=Max("date_done"))["at"]
    return state


def stored_group_ids(group_ids):
    """Which of ``group_ids`` have a stored ``GroupResult`` (a chord's header has one only if it was saved): one query."""
    return set(GroupResult.objects.filter(group_id__in=list(group_ids)).values_list("group_id", flat=True))


def header_task_rows(task_ids):
    """``{task_id: (status, date_created, date_done)}`` of the header tasks that have a stored row.

    One query for every chord on the page (``task_id IN (...)`` on the unique
    index), split in batches (``results.utils.batched``) to stay within every
    database's limit on query parameters.
    """
    task_ids = list(dict.fromkeys(task_ids))
    rows = {}
    for batch in batched(task_ids):
        for task_id, status, created, done in TaskResult.objects.filter(task_id__in=batch).values_list(
            "task_id", "status", "date_created", "date_done"
        ):
            rows[task_id] = (status, created, done)
    return rows


# --- operator actions ---------------------------------------------------------------


def matching_task_ids(queryset, limit):
    """Ids of the filtered list's rows in the list's default order (newest first), at most ``limit``.

    "All matching this filter" acts on exactly what the list shows first.
    """
    return list(queryset.order_by("-date_done", "-id").values_list("task_id", flat=True)[:limit])


def expired_task_rows(expires):
    """Task results older than ``expires`` (what ``delete_expired`` removes)."""
    return TaskResult.objects.get_all_expired(expires)
