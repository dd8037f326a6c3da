"""The statistics pass: count the results that became ready since the last pass.

A pass reads, in ``(date_done, id)`` order through the ``date_done`` index,
the ready rows after its watermark, at most ``STATISTICS_PASS_ROWS``, and
only those at least ``STATISTICS_LAG`` seconds old (a worker's write still
being committed, or a worker's clock a little behind, is not skipped over).
It adds each row to its minute, hour and day buckets, for all tasks, its
task name, its worker and its periodic task, and moves the watermark, in
one transaction:

- passes are serialised by a lock on the one ``RollupState`` row (a second
  pass skips where the database can, else waits), so two at once never
  count a row twice;
- a pass that fails or is killed rolls back whole: nothing counted, the
  watermark unmoved, and the next pass counts the same rows;
- a row stored again with a new ready state (a task delivered twice, a
  revoke after the end) comes back after the watermark with a new
  ``date_done``: ``CountedTask`` remembers how each row was counted, so
  its earlier figures are taken back before the new ones are added.

Each key's latest result (``Activity``: last run, its state, last failure,
a periodic task's gaps between runs) moves with the rows counted.

It never runs on the workers' write path: a Celery periodic task
(``dashboard.tasks.rollup_statistics``), ``manage.py rollup``, and a page
whose figures are stale run it.
"""
from datetime import datetime, timedelta
from typing import NamedTuple

from celery import states
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from results.models import TaskResult
from results.utils import batched

from ..conf import dashboard_setting
from . import activity, failures, histogram
from .buckets import DAY, GRANULARITIES, HOUR, MINUTE, QUARTER, bucket_start
from .functions import Microseconds
from .lookups import any_of
from .models import Bucket, CountedTask, Dimension, Failure, RetiredTotal, RollupState
from .upserts import insert

READY_STATES = sorted(states.READY_STATES)
#: Dimensions whose buckets hold counts only, no histograms: a failure group's pages chart its failures, and
#: a thousand causes' runtime bins would be most of the store.
COUNTED_ONLY = frozenset({Dimension.FAILURE})
#: What the pass reads of a result: its runtime and queue wait as whole microseconds (``Microseconds``).
ROW_FIELDS = (
    "id", "date_done", "status", "task_name", "worker", "periodic_task_name",
    Microseconds("date_done", "date_started"), Microseconds("date_started", "date_created"),
)


class PassResult(NamedTuple):
    rows: int  # rows read
    counted: int  # counted for the first time
    recounted: int  # stored again since they were counted: their figures moved
    done_until: datetime | None
    caught_up: bool  # no more rows to count (but those younger than the lag)


class Counted(NamedTuple):
    """How a row is counted: the keys it adds to, and its durations."""

    date_done: datetime
    status: str
    task_name: str
    worker: str
    periodic_task_name: str
    runtime_ms: float | None
    wait_ms: float | None
    fingerprint: str = ""  # of a FAILURE: its failure group (``failures``)

    def dimensions(self) -> list[tuple[str, str]]:
        """``(dimension, key)`` of every figure this row counts in: all tasks, its task name, worker, periodic task
        and failure group."""
        dimensions = [(Dimension.ALL, "")]
        if self.task_name:
            dimensions.append((Dimension.TASK_NAME, self.task_name))
        if self.worker:
            dimensions.append((Dimension.WORKER, self.worker))
        if self.periodic_task_name:
            dimensions.append((Dimension.PERIODIC, self.periodic_task_name))
        if self.fingerprint:
            dimensions.append((Dimension.FAILURE, self.fingerprint))
        return dimensions


def milliseconds_of(microseconds: int | None) -> float | None:
    """The milliseconds between two datetimes ``microseconds`` apart, never below 0: the float
    ``(later - earlier).total_seconds() * 1000`` gives, to the last bit.

    ``timedelta.total_seconds()`` is the whole microseconds divided by
    10**6, one correctly rounded division of integers, as here.
    """
    if microseconds is None:
        return None
    return max(microseconds / 1_000_000 * 1000, 0.0)


def counted_from_row(row, fingerprint: str = "") -> Counted:
    _id, date_done, status, task_name, worker, periodic, runtime_us, wait_us = row
    return Counted(
        date_done=date_done,
        status=status,
        task_name=task_name or "",
        worker=worker or "",
        periodic_task_name=periodic or "",
        runtime_ms=milliseconds_of(runtime_us),
        wait_ms=milliseconds_of(wait_us),
        fingerprint=fingerprint,
    )


def counted_from_log(entry: CountedTask) -> Counted:
    return Counted(
        entry.date_done, entry.status, entry.task_name, entry.worker, entry.periodic_task_name,
        entry.runtime_ms, entry.wait_ms, entry.fingerprint,
    )


class Deltas:
    """Changes to buckets: counts to add (or take back), and durations added and taken back, packed.

    A row is added once, to its minute (for each of its dimensions); the
    quarter hours, hours and days are summed from the minutes when the
    changes are written (``changes``): a pass's rows fall in a few minutes.
    A change is ``[count, runtime added, wait added, runtime taken back,
    wait taken back]``, the durations as packed histograms
    (``histogram.lane``): adding a row to one is adding an integer.
    """

    def __init__(self):
        self.minutes = {}

    def add(self, counted: Counted, sign: int = 1):
        runtime = 0 if counted.runtime_ms is None else histogram.lane(histogram.bin_of(counted.runtime_ms))
        wait = 0 if counted.wait_ms is None else histogram.lane(histogram.bin_of(counted.wait_ms))
        minute, status = bucket_start(counted.date_done, MINUTE), counted.status
        runtime_at = 1 if sign > 0 else 3  # where its durations go: added, or taken back
        for dimension, key in counted.dimensions():
            place = (minute, dimension, key, status)
            change = self.minutes.get(place)
            if change is None:
                change = self.minutes[place] = [0, 0, 0, 0, 0]
            change[0] += sign
            if dimension not in COUNTED_ONLY:
                change[runtime_at] += runtime
                change[runtime_at + 1] += wait

    @property
    def changes(self) -> dict:
        """``{(granularity, start, dimension, key, status): change}`` of every bucket changed (as ``minutes``)."""
        result = {}
        coarser = {}
        for (minute, dimension, key, status), change in self.minutes.items():
            starts = coarser.get(minute)
            if starts is None:
                starts = coarser[minute] = tuple((g, bucket_start(minute, g)) for g in GRANULARITIES)
            for granularity, start in starts:
                bucket = (granularity, start, dimension, key, status)
                total = result.get(bucket)
                if total is None:
                    result[bucket] = list(change)
                else:
                    for i, value in enumerate(change):
                        total[i] += value
        return result

    def apply(self, using):
        """Write the changes: existing buckets updated, new ones created, emptied ones deleted.

        A count-only bucket (``COUNTED_ONLY``) that only grows is added to
        where it lies (``count = count + n``), unread: most of a pass's
        buckets are the failure groups', and nearly all of them grow. The
        others, and the ones a recount shrinks, are read and merged.
        """
        changes = self.changes
        grown = [key for key, change in changes.items() if key[2] in COUNTED_ONLY and change[0] > 0]
        insert(Bucket, [BucketRow(*key, changes.pop(key)[0], "", "") for key in grown], using, BUCKET_KEY,
               add_fields=["count"])
        existing = self._existing(using, changes)
        written, emptied = [], []
        for key, (count, runtime, wait, runtime_taken, wait_taken) in changes.items():
            pk, old_count, old_runtime, old_wait = existing.get(key, (None, 0, "", ""))
            if pk is None and count <= 0:
                continue  # taking back from a bucket already pruned
            new_count = max(old_count + count, 0)
            if new_count == 0:
                if pk is not None:
                    emptied.append(pk)
                continue
            granularity, start, dimension, name, status = key
            written.append(BucketRow(
                granularity, start, dimension, name, status, new_count,
                histogram.add(old_runtime, runtime, runtime_taken), histogram.add(old_wait, wait, wait_taken),
            ))
        insert(Bucket, written, using, BUCKET_KEY, ["count", "runtime", "wait"])
        for chunk in batched(emptied):
            Bucket.objects.using(using).filter(pk__in=chunk).delete()

    def _existing(self, using, changes):
        """``{bucket key: (id, count, runtime, wait)}`` of the buckets changed: only the starts and keys touched."""
        places = sorted({(granularity, start) for granularity, start, _dimension, _key, _status in changes})
        keys = sorted({(dimension, key) for _granularity, _start, dimension, key, _status in changes})
        touched = any_of(keys, "dimension", "key")
        # The dimensions again on their own: an index condition (the failure groups' buckets, most of those at
        # these starts, are not read when no failure bucket shrinks).
        dimensions = sorted({dimension for dimension, _key in keys})
        existing = {}
        for chunk in batched(places):  # one query for the few starts of a pass, in batches on a long catch-up
            rows = Bucket.objects.using(using).filter(
                touched, any_of(chunk, "granularity", "start"), dimension__in=dimensions)
            for *key, pk, count, runtime, wait in rows.values_list(*BUCKET_KEY, "id", "count", "runtime", "wait"):
                granularity, dimension, name, start, status = key
                existing[(granularity, start, dimension, name, status)] = (pk, count, runtime, wait)
        return existing


BUCKET_KEY = ["granularity", "dimension", "key", "start", "status"]


class BucketRow(NamedTuple):
    """A ``Bucket`` row as ``upserts.insert`` reads it (by attribute): no model instance to build."""

    granularity: str
    start: datetime
    dimension: str
    key: str
    status: str
    count: int
    runtime: str
    wait: str


def database():
    return router.db_for_write(Bucket)


def rollup_state(using=None) -> RollupState:
    """The pass's state row, created on first use."""
    using = using or database()
    try:
        state, _created = RollupState.objects.using(using).get_or_create(pk=1)
    except IntegrityError:  # created by a concurrent pass meanwhile
        state = RollupState.objects.using(using).get(pk=1)
    return state


def locked_unless_taken(queryset, using):
    """``queryset`` locking its rows, skipping those another transaction holds where the database can.

    SQLite has no row locks: its writes are serialised by the database itself.
    """
    features = connections[using].features
    if features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    if features.has_select_for_update:
        return queryset.select_for_update()
    return queryset


def run_pass(limit: int | None = None, now: datetime | None = None, using: str | None = None) -> PassResult | None:
    """Count the next rows; None when another pass is running (nothing is done then)."""
    using = using or database()
    limit = limit or dashboard_setting("STATISTICS_PASS_ROWS")
    now = now or timezone.now()
    rollup_state(using)
    with transaction.atomic(using=using):
        state = locked_unless_taken(RollupState.objects.using(using).filter(pk=1), using).first()
        if state is None:
            return None
        rows = list(_rows_after(state, now - timedelta(seconds=dashboard_setting("STATISTICS_LAG")), limit, using))
        counted, recounted = _count(rows, now, using)
        if rows:
            state.done_until, state.done_until_id = rows[-1][1], rows[-1][0]
        state.counted += counted
        state.updated = now
        state.save(using=using)
        return PassResult(len(rows), counted, recounted, state.done_until, len(rows) < limit)


def _rows_after(state, cutoff, limit, using):
    rows = TaskResult.objects.using(using).filter(status__in=READY_STATES, date_done__lte=cutoff)
    if state.done_until is not None:
        rows = rows.filter(
            Q(date_done__gt=state.done_until) | Q(date_done=state.done_until, id__gt=state.done_until_id)
        )
    return rows.order_by("date_done", "id").values_list(*ROW_FIELDS)[:limit]


def _count(rows, now, using):
    """Add ``rows`` to the buckets; ``(counted, recounted)``."""
    deltas = Deltas()
    remembered = _remembered([row[0] for row in rows], using)
    keep_from = now - timedelta(days=dashboard_setting("STATISTICS_RECOUNT_DAYS"))
    fingerprints = failures.fingerprint_rows([row[0] for row in rows if row[2] == states.FAILURE], using)
    new_entries, changed_entries, changed_rows, failed = [], [], [], []
    counted = recounted = 0
    for row in rows:
        found = fingerprints.get(row[0])
        current = counted_from_row(row, found.digest if found else "")
        entry = remembered.get(row[0])
        before = None
        if entry is not None:
            before = counted_from_log(entry)
            if before == current:
                continue
            deltas.add(before, -1)
            recounted += 1
            changed_entries.append(_remember(row[0], current, entry))
        else:
            counted += 1
            if current.date_done >= keep_from:
                new_entries.append(LogRow(row[0], *current))
        deltas.add(current)
        changed_rows.append((row[0], current))
        if current.fingerprint or (before is not None and before.fingerprint):
            failed.append((row[0], before, current))
    deltas.apply(using)
    activity.record(changed_rows, using)
    failures.record(failed, fingerprints, using)
    insert(CountedTask, new_entries, using)
    insert(CountedTask, changed_entries, using, ["row_id"], list(Counted._fields))
    return counted, recounted


def _remembered(ids: list[int], using: str) -> dict[int, CountedTask]:
    """The recount log's entries of the rows ``ids`` (the ones counted before).

    On PostgreSQL the ids go as one text parameter, split by the database:
    a thousand ``%s`` would each be adapted and merged into the statement
    by the driver and Django, in Python, for a lookup that mostly finds
    nothing (new rows).
    """
    entries = CountedTask.objects.using(using)
    if connections[using].vendor == "postgresql":
        wanted = RawSQL("SELECT unnest(string_to_array(%s, ',')::bigint[])", [",".join(map(str, ids))])
        return {entry.row_id: entry for entry in entries.filter(row_id__in=wanted)} if ids else {}
    return {row_id: entry for chunk in batched(ids) for row_id, entry in entries.in_bulk(chunk).items()}


#: A new ``CountedTask`` row, as ``upserts.insert`` reads it (by attribute): no model instance to build.
LogRow = NamedTuple("LogRow", [("row_id", int), *Counted.__annotations__.items()])


def _remember(row_id, counted: Counted, entry: CountedTask | None = None) -> CountedTask:
    entry = entry or CountedTask(row_id=row_id)
    for field, value in counted._asdict().items():
        setattr(entry, field, value)
    return entry


def retention_days() -> dict[str, int]:
    """How many days the figures of each granularity are kept."""
    return {
        MINUTE: dashboard_setting("STATISTICS_MINUTE_DAYS"),
        QUARTER: dashboard_setting("STATISTICS_QUARTER_DAYS"),
        HOUR: dashboard_setting("STATISTICS_HOUR_DAYS"),
        DAY: dashboard_setting("STATISTICS_RETENTION_DAYS"),
    }


def prune(now: datetime | None = None, using: str | None = None) -> int:
    """Delete figures older than their retention, and the memory of rows too old to be recounted.

    At most one batch of each kind per call, so a pass stays short however much has expired.
    """
    using = using or database()
    now = now or timezone.now()
    batch = dashboard_setting("STATISTICS_PRUNE_BATCH")
    deleted = 0
    for granularity, kept in retention_days().items():
        old = Bucket.objects.using(using).filter(granularity=granularity, start__lt=now - timedelta(days=kept))
        deleted += _retire_batch(old, batch, using) if granularity == DAY else _delete_batch(old, batch, using, Bucket)
    old_entries = CountedTask.objects.using(using).filter(
        date_done__lt=now - timedelta(days=dashboard_setting("STATISTICS_RECOUNT_DAYS"))
    )
    deleted += _delete_batch(old_entries, batch, using, CountedTask)
    deleted += _delete_batch(failures.expired(now, using), batch, using, Failure)
    return deleted


def _retire_batch(queryset, batch, using):
    """Delete a batch of expired day buckets, adding them to their ``RetiredTotal`` in the same transaction.

    The rows are locked as they are read (skipping the ones another prune
    holds), so two prunes at once never retire a bucket twice.
    """
    with transaction.atomic(using=using):
        rows = locked_unless_taken(queryset.order_by(), using)
        rows = list(rows.values_list("pk", "dimension", "key", "status", "count", "runtime", "wait")[:batch])
        if not rows:
            return 0
        sums = {}
        for _pk, dimension, key, status, count, runtime, wait in rows:
            total = sums.setdefault((dimension, key, status), [0, 0, 0])
            total[0] += count
            total[1] += histogram.packed(runtime) if runtime else 0
            total[2] += histogram.packed(wait) if wait else 0
        kept = RetiredTotal.objects.using(using).select_for_update()
        for (dimension, key, status), (count, runtime, wait) in sums.items():
            total, _created = kept.get_or_create(dimension=dimension, key=key, status=status)
            total.count += count
            total.runtime = histogram.add(total.runtime, runtime)
            total.wait = histogram.add(total.wait, wait)
            total.save(using=using, update_fields=["count", "runtime", "wait"])
        deleted, _ = Bucket.objects.using(using).filter(pk__in=[row[0] for row in rows]).delete()
        return deleted


def _delete_batch(queryset, batch, using, model):
    ids = list(queryset.order_by().values_list("pk", flat=True)[:batch])
    if not ids:
        return 0
    count, _ = model.objects.using(using).filter(pk__in=ids).delete()
    return count


def catch_up(max_rows: int | None = None, now: datetime | None = None, using: str | None = None, progress=None):
    """Run passes until caught up (or ``max_rows`` read); ``progress(rows_so_far)`` after each. Returns rows read."""
    total = 0
    while True:
        limit = dashboard_setting("STATISTICS_PASS_ROWS")
        if max_rows is not None:
            limit = min(limit, max_rows - total)
            if limit <= 0:
                return total
        result = run_pass(limit=limit, now=now, using=using)
        if result is None:
            return total
        total += result.rows
        if progress is not None:
            progress(total)
        if result.caught_up:
            return total
