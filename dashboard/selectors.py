"""Every query the dashboard runs, in one place.

Views and templates never build querysets themselves: they ask this
module, so that the list an operator sees, its count, its CSV export and
any "apply to all matching" action read exactly the same rows, and so that
the cost of each page can be reasoned about (and indexed for) here. The
lists' querysets come from here; the FilterSets (``dashboard.filters``)
narrow them and the paginators (``dashboard.pagination``) read one page.

The rules that keep pages fast on millions of rows:

- lists load only the columns they show (never the args, result or
  traceback text);
- the default order (newest first) pages by cursor on ``(date_done, id)``,
  so page 10,000 costs what page 1 costs; other orders page by offset,
  up to a bounded depth (``dashboard.pagination``);
- counts are bounded (``COUNT_LIMIT``, ``results.counting``) and the
  unfiltered total is read from the database's statistics, never from
  ``COUNT(*)``;
- the values offered in the filter form come from a loose index scan (one
  index probe per distinct value, bounded), not a ``DISTINCT`` over the
  table.
"""
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from celery import states
from django.core.cache import cache
from django.db import connections
from django.db.models import Count, Max, Min, Q, QuerySet, Sum

from results.counting import BoundedCount, bounded_count
from results.models import ChordCounter, GroupResult, TaskResult
from results.utils import batched

from .conf import dashboard_setting
from .models import AuditedTask, AuditEntry, Failure, FailureGroup

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


def task_rows() -> QuerySet[TaskResult]:
    """All task results, loading only the list's columns."""
    return TaskResult.objects.only(*TASK_LIST_FIELDS)


# --- distinct values for the filter form ------------------------------------


def distinct_values(column: str) -> list[Any]:
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


def _loose_index_scan(column: str, limit: int) -> list[Any]:
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


class FacetChoices(NamedTuple):
    """The values a filter offers for a column (at most ``FACET_LIMIT``), and whether they are all of them."""

    values: list[Any]
    complete: bool


def facet_choices(column: str) -> FacetChoices:
    """The values offered for ``column`` and whether that is all of them."""
    values = distinct_values(column)
    limit = dashboard_setting("FACET_LIMIT")
    return FacetChoices(values[:limit], len(values) <= limit)


def task_names_containing(text: str) -> list[str] | None:
    """Task names containing ``text`` (case-insensitive), or None when unknown.

    None means the list of task names was too long to read whole, and the
    caller must search the column itself.
    """
    names = facet_choices("task_name")
    if not names.complete:
        return None
    text = text.casefold()
    return [name for name in names.values if text in name.casefold()]


def search_tasks(queryset: QuerySet[TaskResult], text: str) -> QuerySet[TaskResult]:
    """Rows whose task id starts with ``text`` or whose task name contains it.

    Both halves use an index: the id prefix the task id's index, the name
    half becomes ``task_name IN (...)`` over the known names.
    """
    names = task_names_containing(text)
    by_name = Q(task_name__icontains=text) if names is None else Q(task_name__in=names)
    if names == []:
        return queryset.filter(task_id__startswith=text)
    return queryset.filter(Q(task_id__startswith=text) | by_name)


# --- counts ------------------------------------------------------------------


def count_rows(queryset: QuerySet) -> BoundedCount:
    """How many rows ``queryset`` holds, exact up to ``COUNT_LIMIT`` (``results.counting.bounded_count``).

    Never a ``COUNT(*)`` over a whole large table: unfiltered, the table's
    estimate from the database's statistics; filtered, a count that stops
    after ``COUNT_LIMIT + 1`` rows, plus the planner's estimate beyond.
    """
    return bounded_count(queryset, dashboard_setting("COUNT_LIMIT"))


# --- overview ----------------------------------------------------------------


def recent_failures(limit: int = 10) -> list[TaskResult]:
    """The latest failed tasks, newest first (index on ``status, date_done, id``)."""
    return list(
        task_rows().filter(status=states.FAILURE).order_by("-date_done", "-id")[:limit]
    )


def recent_failures_of(task_name: str, limit: int = 10) -> list[TaskResult]:
    """A task name's latest failures, newest first."""
    rows = task_rows().filter(task_name=task_name, status=states.FAILURE)
    return list(rows.order_by("-date_done", "-id")[:limit])


def workers_of_latest_runs(task_name: str, limit: int) -> list[str | None]:
    """The workers of a task name's latest ``limit`` runs (index on ``task_name, date_done, id``)."""
    rows = TaskResult.objects.filter(task_name=task_name).order_by("-date_done", "-id")
    return list(rows.values_list("worker", flat=True)[:limit])


# --- one task ----------------------------------------------------------------


def is_storable_id(value: str) -> bool:
    """Could ``value`` be a stored id? (PostgreSQL rejects NUL characters in any query.)"""
    return "\x00" not in value


def exactly(rows: QuerySet, field: str, value: str):
    """The row of ``rows`` (filtered on ``field=value``) whose ``field`` is ``value`` character for character, or None.

    MySQL and MariaDB compare with the column's collation (``utf8mb4_unicode_ci``:
    case, trailing spaces and control characters ignored), so ``task_id =
    'ABC'`` finds ``abc`` and ``'\\x08'`` finds the empty id. A page shows the
    row its URL names, never another (whose own links it could not build:
    an empty id has no URL). The ids are unique, so one row is read.
    """
    return next((row for row in rows.order_by()[:1] if getattr(row, field) == value), None)


def task_by_id(task_id: str) -> TaskResult | None:
    """The stored result of ``task_id`` (every column), or None."""
    if not is_storable_id(task_id):
        return None
    return exactly(TaskResult.objects.filter(task_id=task_id), "task_id", task_id)


class TaskStatus(NamedTuple):
    status: str
    task_name: str | None


def task_statuses(task_ids: Iterable[str]) -> dict[str, TaskStatus]:
    """``{task_id: TaskStatus}`` for the ids that have a stored row: one query."""
    rows = TaskResult.objects.filter(task_id__in=list(task_ids)).values_list("task_id", "status", "task_name")
    return {task_id: TaskStatus(status, name) for task_id, status, name in rows}


def stored_tasks(task_ids: Iterable[str], fields: Iterable[str]) -> dict[str, TaskResult]:
    """``{task_id: row}`` of the ids that have a stored result (``fields`` loaded), one query per batch of ids."""
    rows = {}
    for batch in batched(task_ids):
        rows.update((row.task_id, row) for row in TaskResult.objects.filter(task_id__in=batch).only("task_id", *fields))
    return rows


class SameArgumentRuns(NamedTuple):
    """Other runs of a task with its arguments, newest first; ``scanned_all``: every run of its name was looked at."""

    runs: list[TaskResult]
    scanned_all: bool


def runs_with_same_arguments(task: TaskResult) -> SameArgumentRuns:
    """Other runs of ``task``'s task name with the same args and kwargs, newest first.

    Looks through the latest ``SAME_ARGS_SCAN`` runs of the name only (an
    index range on ``task_name, date_done``), so a task run millions of
    times costs the same as one run a few times.
    """
    if not task.task_name or task.task_args is None:
        return SameArgumentRuns([], scanned_all=True)
    shown, scan = dashboard_setting("SAME_ARGS_SHOWN"), dashboard_setting("SAME_ARGS_SCAN")
    same_name = task_rows().filter(task_name=task.task_name)
    # The date_done of the scan-th latest run bounds the range to read.
    boundary = list(same_name.order_by("-date_done", "-id").values_list("date_done", flat=True)[scan - 1 : scan])
    runs = same_name.filter(task_args=task.task_args, task_kwargs=task.task_kwargs).exclude(pk=task.pk)
    if boundary:
        runs = runs.filter(date_done__gte=boundary[0])
    return SameArgumentRuns(list(runs.order_by("-date_done", "-id")[:shown]), scanned_all=not boundary)


def group_of_task(task: TaskResult, meta: Any = None) -> GroupResult | None:
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


def group_rows() -> QuerySet[GroupResult]:
    """All group results, without their (possibly long) member lists."""
    return GroupResult.objects.only(*GROUP_LIST_FIELDS)


def group_by_id(group_id: str) -> GroupResult | None:
    """The stored group ``group_id`` (every column), or None."""
    if not is_storable_id(group_id):
        return None
    return exactly(GroupResult.objects.filter(group_id=group_id), "group_id", group_id)


class ChordHeader(NamedTuple):
    group: GroupResult  # unsaved: the header as a stored group would hold it
    counter: ChordCounter


def running_chord_header(group_id: str) -> ChordHeader | None:
    """The header group of a running chord, and its counter; None when no chord runs under ``group_id``.

    Celery's database backend keeps a running chord's header only in its
    ``ChordCounter`` (``sub_tasks``: the members' result tuples) and never
    stores the group itself; ``group`` is an unsaved ``GroupResult`` holding
    that header as a stored group would, so the group page can show it.
    """
    if not is_storable_id(group_id):
        return None
    counter = exactly(ChordCounter.objects.filter(group_id=group_id), "group_id", group_id)
    if counter is None:
        return None
    header = GroupResult(
        group_id=group_id,
        result=f"[[{json.dumps(group_id)}, null], {counter.sub_tasks}]",
        content_type="application/json",
        content_encoding="utf-8",
    )
    return ChordHeader(header, counter)


class GroupMember(NamedTuple):
    task_id: str
    row: TaskResult | None  # None: no stored result (yet)


def group_members(task_ids: list[str]) -> list[GroupMember]:
    """The member tasks' rows (list columns), in the group's order.

    One query (``task_id IN (...)`` on the unique index), at most
    ``GROUP_MEMBERS_SHOWN`` members.
    """
    rows = {row.task_id: row for row in task_rows().filter(task_id__in=list(task_ids))}
    return [GroupMember(task_id, rows.get(task_id)) for task_id in task_ids]


def status_breakdown(task_ids: Iterable[str]) -> dict[str, int]:
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


def chord_counters(limit: int) -> list[ChordCounter]:
    """The running chords' counters, oldest first: at most ``limit + 1`` (so callers can tell there are more)."""
    return list(ChordCounter.objects.order_by("id")[: limit + 1])


def chord_counters_state() -> dict[str, Any]:
    """A cheap fingerprint of the chord counters and their header tasks: what the live page's ETag is made of.

    One aggregate over the counters (a small table: only running chords) and,
    when there are any, the newest ``date_done`` of all tasks (one probe of its
    index): any header task changing state moves it.
    """
    state = ChordCounter.objects.aggregate(n=Count("id"), low=Min("id"), high=Max("id"), remaining=Sum("count"))
    if state["n"]:
        state["tasks_changed"] = TaskResult.objects.aggregate(at=Max("date_done"))["at"]
    return state


def stored_group_ids(group_ids: Iterable[str]) -> set[str]:
    """Which of ``group_ids`` have a stored ``GroupResult`` (a chord's header has one only if saved): one query."""
    return set(GroupResult.objects.filter(group_id__in=list(group_ids)).values_list("group_id", flat=True))


class HeaderTask(NamedTuple):
    status: str
    date_created: dt.datetime | None
    date_done: dt.datetime | None


def header_task_rows(task_ids: Iterable[str]) -> dict[str, HeaderTask]:
    """``{task_id: HeaderTask}`` of the header tasks that have a stored row.

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
            rows[task_id] = HeaderTask(status, created, done)
    return rows


# --- operator actions ---------------------------------------------------------------


def matching_task_ids(queryset: QuerySet[TaskResult], limit: int) -> list[str]:
    """Ids of the filtered list's rows in the list's default order (newest first), at most ``limit``.

    "All matching this filter" acts on exactly what the list shows first.
    """
    return list(queryset.order_by("-date_done", "-id").values_list("task_id", flat=True)[:limit])


def expired_task_rows(expires: dt.timedelta) -> QuerySet[TaskResult]:
    """Task results older than ``expires`` (what ``delete_expired`` removes)."""
    return TaskResult.objects.get_all_expired(expires)


# --- the audit trail -----------------------------------------------------------


def audit_entries() -> QuerySet[AuditEntry]:
    """Every operator action, newest first (the model's order, on the ``created`` index)."""
    return AuditEntry.objects.all()


def audit_entry(pk: int) -> AuditEntry | None:
    """The audit entry ``pk``, or None."""
    return AuditEntry.objects.filter(pk=pk).first()


def audited_tasks(entry: AuditEntry) -> list[AuditedTask]:
    """The tasks ``entry`` acted on, in the order it recorded them."""
    return list(entry.tasks.order_by("id"))


class TaskHistory(NamedTuple):
    """What the audit trail says about one task."""

    entries: list[AuditedTask]  # the actions taken on it, newest first (with their entry)
    retries: list[str]  # the ids of the tasks its retries sent
    retry_of: str | None  # the task it was sent to retry, if it was


def task_history(task_id: str) -> TaskHistory:
    """The audit rows naming ``task_id``, as the task or as the one a retry sent: one query.

    At most ``AUDIT_SHOWN_ON_TASK`` rows, on the indexes of both columns.
    """
    rows = list(
        AuditedTask.objects.filter(Q(task_id=task_id) | Q(new_task_id=task_id))
        .select_related("entry")
        .order_by("-id")[: dashboard_setting("AUDIT_SHOWN_ON_TASK")]
    )
    entries = [row for row in rows if row.task_id == task_id]
    return TaskHistory(
        entries=entries,
        retries=[row.new_task_id for row in entries if row.new_task_id],
        retry_of=next((row.task_id for row in rows if row.new_task_id == task_id), None),
    )


def failure_group(digest: str) -> FailureGroup | None:
    """The failure group whose fingerprint is ``digest`` (as a URL names it), or None."""
    if not is_storable_id(digest):
        return None
    return exactly(FailureGroup.objects.filter(digest=digest), "digest", digest)


def failure_group_of(task: TaskResult):
    """The ``FailureGroup`` of a counted FAILURE row, in one query; None when the pass has not counted it."""
    in_group = Failure.objects.filter(row_id=task.pk, date_done=task.date_done).values("digest")
    return FailureGroup.objects.filter(digest__in=in_group).first()
