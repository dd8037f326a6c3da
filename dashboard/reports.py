"""What the insights pages report, from the statistics store (``dashboard.statistics``).

Each function answers one page's question from a handful of queries on
the statistics tables; none aggregates the results table. The only reads
of results are index range reads of a few rows (a task name's latest
failures and runs).
"""
from collections import Counter
from datetime import datetime, timedelta
from typing import NamedTuple

from celery import states
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from results.models import TaskResult
from results.utils import batched

from . import selectors
from .conf import dashboard_setting
from .statistics import activity, histogram, queries
from .statistics.buckets import Span, Window, previous_span, window_span
from .statistics.functions import EpochSeconds
from .statistics.models import Activity, Dimension, FailureGroup
from .statistics.queries import Figures

#: The states the charts stack, bottom to top; any other ready state follows.
STATE_ORDER = (states.SUCCESS, states.FAILURE, states.REVOKED, states.REJECTED, states.IGNORED)
#: How many task names the overview lists as failing most, and as slowest.
TOP_NAMES = 5
#: The slowest list ignores task names with fewer runs than this in the window: one slow run is not a trend.
SLOWEST_MIN_RUNS = 5
#: Runs of a task name read for "its workers".
WORKER_SAMPLE = 500
#: The sparklines' step per window. They are summed from the rows the
#: window's figures are read from, which are then no coarser than the step:
#: the 7-day window's are days (its figures stay a few rows per day; half
#: days would read each of its 168 hours).
TREND_STEPS = {
    "1h": timedelta(minutes=5),
    "6h": timedelta(minutes=30),
    "24h": timedelta(hours=1),
    "7d": timedelta(days=1),
    "30d": timedelta(days=1),
}


class Period(NamedTuple):
    """The window a page shows at ``now``, and the one before it for comparisons."""

    window: Window
    now: datetime
    span: Span
    previous: Span

    @classmethod
    def of(cls, window: Window, now: datetime | None = None) -> "Period":
        now = now or timezone.now()
        span = window_span(window, now)
        return cls(window, now, span, previous_span(span))


class Headline(NamedTuple):
    """One headline figure of the window beside the previous window's; ``kind`` says how it reads."""

    label: str
    kind: str  # "count", "rate" (a fraction) or "ms"
    current: float | None
    previous: float | None
    higher_is_worse: bool

    @property
    def change(self) -> float | None:
        """The relative change from the previous window (None when either is missing or the previous is 0)."""
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / self.previous

    @property
    def tone(self) -> str:
        """``bad`` for a change for the worse, ``ok`` for the better, ``""`` when flat or neutral."""
        change = self.change
        if change is None or abs(change) < 0.005 or not self.higher_is_worse:
            return ""
        return "bad" if change > 0 else "ok"


def headlines(current: Figures, previous: Figures) -> list[Headline]:
    runtime, wait = histogram.percentiles(current.runtime), histogram.percentiles(current.wait, (0.5, 0.95))
    runtime_before = histogram.percentiles(previous.runtime)
    wait_before = histogram.percentiles(previous.wait, (0.5, 0.95))
    return [
        Headline("Tasks finished", "count", current.finished, previous.finished, False),
        Headline("Failure rate", "rate", current.failure_rate, previous.failure_rate, True),
        Headline("Runtime p50", "ms", runtime[0.5], runtime_before[0.5], True),
        Headline("Runtime p95", "ms", runtime[0.95], runtime_before[0.95], True),
        Headline("Runtime p99", "ms", runtime[0.99], runtime_before[0.99], True),
        Headline("Queue wait p50", "ms", wait[0.5], wait_before[0.5], True),
        Headline("Queue wait p95", "ms", wait[0.95], wait_before[0.95], True),
    ]


def ordered_states(counts: Counter | list[Counter]) -> list[str]:
    """The states present, in the charts' order (unknown ready states last, by name)."""
    seen = set()
    for counter in counts if isinstance(counts, list) else [counts]:
        seen |= {state for state, n in counter.items() if n}
    return [s for s in STATE_ORDER if s in seen] + sorted(seen - set(STATE_ORDER))


class KeyFigures(NamedTuple):
    """A task name's, worker's or periodic task's figures in the window, with its latest activity."""

    key: str
    figures: Figures
    latest: Activity | None
    trend: list[int]

    @property
    def runs(self) -> int:
        return self.figures.finished

    @property
    def failures(self) -> int:
        return self.figures.failed

    @property
    def failure_rate(self) -> float | None:
        return self.figures.failure_rate

    def runtime(self, fraction: float) -> float | None:
        return histogram.percentile(self.figures.runtime, fraction)

    def wait(self, fraction: float) -> float | None:
        return histogram.percentile(self.figures.wait, fraction)


def key_figures(period: Period, dimension: str) -> list[KeyFigures]:
    """Every key of ``dimension`` with tasks finished in the window, most runs first."""
    by_key, trends = queries.figures_and_trends(period.span, dimension, TREND_STEPS[period.window.name])
    latest = latest_activity(dimension, by_key)
    rows = [KeyFigures(key, figures, latest.get(key), trends.get(key, [])) for key, figures in by_key.items()]
    return sorted(rows, key=lambda row: (-row.runs, row.key))


def latest_activity(dimension: str, keys=None) -> dict[str, Activity]:
    """``{key: Activity}`` of ``dimension`` (only ``keys`` when given, read in batches)."""
    rows = Activity.objects.filter(dimension=dimension)
    if keys is None:
        return {row.key: row for row in rows}
    return {row.key: row for chunk in batched(sorted(keys)) for row in rows.filter(key__in=chunk)}


class Overview(NamedTuple):
    period: Period
    headlines: list[Headline]
    series: list[queries.SeriesPoint]
    failing: list[KeyFigures]
    slowest: list[KeyFigures]
    recent_failures: list[TaskResult]


def overview(period: Period) -> Overview:
    """The overview's figures: its charts need only counts per bar; the headlines are read from the fewest rows.

    The task names' wait histograms are not read (the lists show runtimes only).
    """
    names = queries.figures_by_key(period.span, Dimension.TASK_NAME, durations=("runtime",))
    rows = [KeyFigures(key, figures, None, []) for key, figures in names.items()]
    failing = sorted((r for r in rows if r.failures), key=lambda r: (-r.failures, r.key))[:TOP_NAMES]
    timed = [r for r in rows if r.runs >= SLOWEST_MIN_RUNS and r.figures.runtime]
    slowest = sorted(timed, key=lambda r: (-r.runtime(0.95), r.key))[:TOP_NAMES]
    series = queries.series(period.window, period.span)
    current, previous = queries.figures_of_spans([period.span, period.previous])
    return Overview(
        period=period,
        headlines=headlines(current, previous),
        series=series,
        failing=failing,
        slowest=slowest,
        recent_failures=selectors.recent_failures(),
    )


class TaskNameReport(NamedTuple):
    name: str
    period: Period
    figures: Figures
    latest: Activity | None
    series: list[queries.SeriesPoint]  # the throughput's bars
    lines: list[queries.SeriesPoint]  # the points of its percentile lines
    workers: list[tuple[str, int]]  # among its latest WORKER_SAMPLE runs, most first
    sampled: int
    recent_failures: list[TaskResult]


def task_name_report(period: Period, name: str) -> TaskNameReport:
    latest = latest_activity(Dimension.TASK_NAME, [name]).get(name)
    recent = selectors.workers_of_latest_runs(name, WORKER_SAMPLE)
    chart = queries.series_with_durations(period.window, period.span, Dimension.TASK_NAME, name)
    return TaskNameReport(
        name=name,
        period=period,
        figures=chart.total,
        latest=latest,
        series=chart.bars,
        lines=chart.lines,
        workers=Counter(worker or "" for worker in recent).most_common(),
        sampled=len(recent),
        recent_failures=selectors.recent_failures_of(name) if latest and latest.last_failure else [],
    )


class WorkerRow(NamedTuple):
    figures: KeyFigures
    quiet: bool  # stored results in the window, none for WORKER_QUIET_AFTER seconds


def workers(period: Period) -> list[WorkerRow]:
    quiet_after = timedelta(seconds=dashboard_setting("WORKER_QUIET_AFTER"))
    rows = []
    for row in key_figures(period, Dimension.WORKER):
        quiet = row.latest is not None and period.now - row.latest.last_done > quiet_after
        rows.append(WorkerRow(row, quiet))
    return rows


class PeriodicRow(NamedTuple):
    name: str
    latest: Activity
    figures: Figures  # in the window (empty when it did not run)
    interval: float | None  # usual seconds between runs
    late: bool  # last run more than twice the usual interval ago


def periodic(period: Period) -> list[PeriodicRow]:
    """Every periodic task ever counted (a stopped one too), late ones first."""
    latest = latest_activity(Dimension.PERIODIC)
    in_window = queries.figures_by_key(period.span, Dimension.PERIODIC, latest)
    rows = []
    for name, entry in latest.items():
        interval = activity.usual_interval(entry)
        late = interval is not None and (period.now - entry.last_done).total_seconds() > 2 * interval
        rows.append(PeriodicRow(name, entry, in_window.get(name, queries.EMPTY), interval, late))
    return sorted(rows, key=lambda row: (not row.late, row.name))


# --- failure groups (``statistics.failures``) ---------------------------------------


class FailureState:
    """A failure group's state as the failures page shows it: the operators' decision, or new / ongoing."""

    NEW = "new"
    ONGOING = "ongoing"
    RESOLVED = FailureGroup.State.RESOLVED.value
    REGRESSED = FailureGroup.State.REGRESSED.value
    IGNORED = FailureGroup.State.IGNORED.value
    CHOICES = [(NEW, "new"), (REGRESSED, "regressed"), (ONGOING, "ongoing"), (RESOLVED, "resolved"),
               (IGNORED, "ignored")]
    #: New and regressed first: what an operator has not looked at yet.
    PRIORITY = {NEW: 0, REGRESSED: 1, ONGOING: 2, RESOLVED: 3, IGNORED: 4}

    @classmethod
    def of(cls, group: FailureGroup, since: datetime) -> str:
        return cls.of_open(group.state, group.first_seen is not None and group.first_seen >= since)

    @classmethod
    def of_open(cls, state: str, new: bool) -> str:
        """The state shown of a group in ``state``, ``new`` when it was first seen in the window."""
        if state != FailureGroup.State.OPEN:
            return state
        return cls.NEW if new else cls.ONGOING


class FailureRow(NamedTuple):
    """A failure group in the list, as it is sorted: the group itself is read for the page's rows only."""

    digest: str
    failures: int  # in the window
    state: str  # ``FailureState``
    first_seen: int | None  # whole seconds since 1970 (UTC): a thousand groups' sort keys, not parsed datetimes
    last_seen: int | None


def failure_groups(period: Period, task_name: str = "", state: str = "") -> list[FailureRow]:
    """Every failure group with failures in the window: new and regressed first, then the most failures.

    What sorting and filtering need, and no more, in one statement: each
    group's total in the window (summed by the database) joined to a few of
    its columns, as tuples. The rows a page shows get their groups
    (``failure_groups_by_digest``) and trends (``failure_trends``) once the
    page is known.
    """
    since = period.span.start
    groups = FailureGroup.objects.annotate(
        new=ExpressionWrapper(Q(first_seen__gte=since), output_field=BooleanField()),
        first=EpochSeconds("first_seen"), last=EpochSeconds("last_seen"),
    ).values_list("digest", "state", "new", "first", "last", *(["task_names"] if task_name else []))
    rows = []
    for found in queries.with_totals(groups, "digest", period.span, Dimension.FAILURE, states.FAILURE):
        (digest, group_state, new, first_seen, last_seen), failures = found[:5], found[-1]
        row = FailureRow(digest, failures, FailureState.of_open(group_state, bool(new)), first_seen, last_seen)
        if not failures or (task_name and task_name not in found[5].split("\n")) or (state and row.state != state):
            continue
        rows.append(row)
    return sorted(rows, key=lambda row: (FailureState.PRIORITY[row.state], -row.failures, row.digest))


def failure_groups_by_digest(digests: list[str]) -> dict[str, FailureGroup]:
    """``{digest: FailureGroup}`` of ``digests`` (a page's rows), in one read per batch."""
    return {group.digest: group for chunk in batched(digests)
            for group in FailureGroup.objects.filter(digest__in=chunk).defer("workers")}


def failure_trends(period: Period, digests: list[str]) -> dict[str, list[int]]:
    """``{digest: failures per trend step of the window}`` of the groups ``digests`` (a page's rows), in one read."""
    if not digests:
        return {}
    _figures, trends = queries.figures_and_trends(
        period.span, Dimension.FAILURE, TREND_STEPS[period.window.name], keys=digests, durations=()
    )
    return trends


class FailureGroupReport(NamedTuple):
    group: FailureGroup
    state: str
    figures: Figures  # in the window
    series: list[queries.SeriesPoint]
    sample: TaskResult | None  # its latest failure, while its result is kept


def failure_group_report(period: Period, group: FailureGroup) -> FailureGroupReport:
    sample = TaskResult.objects.filter(id=group.sample_row_id).first() if group.sample_row_id else None
    series = queries.series(period.window, period.span, Dimension.FAILURE, group.digest)
    total = Counter()
    for point in series:
        total.update(point.counts)
    return FailureGroupReport(
        group, FailureState.of(group, period.span.start), Figures(total, Counter(), Counter()), series, sample
    )
