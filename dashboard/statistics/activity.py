"""The latest result of each task name, worker and periodic task, kept by the statistics pass.

The pass reads rows in ``(date_done, id)`` order, so the last row it sees
for a key is that key's latest result. A row stored again (a new ready
state) comes back with a later ``date_done``: when it is still the key's
latest row, its state replaces the one recorded, and no gap is added for
a periodic task (it is the same run, not a new one).

``rebuild`` computes the same rows from the results table directly, as
the passes would leave them after counting every row from scratch: one
grouping for the keys and their last failures, then a short index read
(newest first) per key for its latest rows.
"""
from statistics import median

from celery import states
from django.db.models import Max, Q

from results.utils import batched

from .lookups import any_of
from .models import Activity, Dimension
from .upserts import insert

#: Gaps between runs remembered per periodic task: enough for a stable
#: median, few enough to follow a changed schedule within a day or so.
GAPS_KEPT = 20
FOLLOWED = ["last_done", "last_row_id", "last_status", "last_failure", "gaps"]
COLUMNS = {Dimension.TASK_NAME: "task_name", Dimension.WORKER: "worker", Dimension.PERIODIC: "periodic_task_name"}


def keys_of(counted) -> list[tuple[str, str]]:
    """``(dimension, key)`` of every activity a counted row updates: its figures' keys but "all tasks" and its
    failure group (whose first and last seen its ``FailureGroup`` holds)."""
    return [place for place in counted.dimensions() if place[0] in COLUMNS]


def record(rows: list, using: str) -> None:
    """Move each key's activity to the latest of ``rows``: ``(row_id, Counted)`` pairs in pass order."""
    if not rows:
        return
    wanted = sorted({place for _row_id, counted in rows for place in keys_of(counted)})
    known = {}
    for chunk in batched(wanted):  # one query for a pass's few keys, in batches when there are many
        for activity in Activity.objects.using(using).filter(any_of(chunk, "dimension", "key")):
            known[(activity.dimension, activity.key)] = activity
    for row_id, counted in rows:
        for dimension, key in keys_of(counted):
            activity = known.get((dimension, key))
            if activity is None:
                activity = known[(dimension, key)] = Activity(
                    dimension=dimension, key=key, last_done=counted.date_done, last_row_id=row_id,
                    last_status=counted.status,
                )
            else:
                _follow(activity, row_id, counted)
            if counted.status == states.FAILURE and (
                activity.last_failure is None or counted.date_done > activity.last_failure
            ):
                activity.last_failure = counted.date_done
    insert(Activity, list(known.values()), using, ["dimension", "key"], FOLLOWED)


def rebuild(ready, using: str) -> int:
    """Forget every activity and record it again from ``ready`` (the rows the passes count); returns the keys.

    The result equals what the passes leave after counting ``ready`` in
    ``(date_done, id)`` order: each key's latest row, its latest failure,
    and for a periodic task the gaps between its latest ``GAPS_KEPT + 1``
    runs. Keys are few (hundreds): one grouping over the three key columns
    finds them with their last failures, then each key's latest rows are a
    short backward read of its ``(key, date_done, id)`` index.
    """
    Activity.objects.using(using).all().delete()
    last_failure = {}
    combinations = ready.values_list(*COLUMNS.values()).order_by().annotate(
        failed=Max("date_done", filter=Q(status=states.FAILURE))
    )
    for *keys, failed in combinations:
        for dimension, key in zip(COLUMNS, keys, strict=True):
            if key:
                known = last_failure.get((dimension, key))
                last_failure[(dimension, key)] = max(known, failed) if known and failed else known or failed
    activities = [
        _rebuilt(dimension, key, failed, ready) for (dimension, key), failed in sorted(last_failure.items())
    ]
    Activity.objects.using(using).bulk_create(activities, batch_size=1000)
    return len(activities)


def _rebuilt(dimension, key, last_failure, ready) -> Activity:
    kept = GAPS_KEPT + 1 if dimension == Dimension.PERIODIC else 1
    latest = list(
        ready.filter(**{COLUMNS[dimension]: key}).order_by("-date_done", "-id").values_list(
            "id", "date_done", "status"
        )[:kept]
    )
    row_id, done, status = latest[0]
    dates = [date_done for _id, date_done, _status in reversed(latest)]
    gaps = " ".join(
        f"{(later - earlier).total_seconds():g}" for earlier, later in zip(dates[:-1], dates[1:], strict=True)
    )
    return Activity(
        dimension=dimension, key=key, last_done=done, last_row_id=row_id, last_status=status,
        last_failure=last_failure, gaps=gaps,
    )


def _follow(activity: Activity, row_id: int, counted) -> None:
    if counted.date_done < activity.last_done:
        return  # an older row (rows are read in order; only a rebuild replays them)
    if row_id != activity.last_row_id and activity.dimension == Dimension.PERIODIC:
        gap = (counted.date_done - activity.last_done).total_seconds()
        activity.gaps = " ".join([*activity.gaps.split(), f"{gap:g}"][-GAPS_KEPT:])
    activity.last_done, activity.last_row_id, activity.last_status = counted.date_done, row_id, counted.status


def usual_interval(activity: Activity) -> float | None:
    """A periodic task's usual seconds between runs: the median of its latest gaps (None before two runs)."""
    gaps = activity.gap_seconds
    return median(gaps) if gaps else None
