"""What the insights pages read from the statistics tables: never from the results table.

Every figure of a span is summed from the fewest stored buckets that tile
it (``buckets.tiles``): at most a few hundred rows, whatever the number of
results behind them.
"""
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connections, router
from django.db.models import Q, Sum

from . import histogram
from .buckets import DAY, Span, Window, chart_buckets, coarsest_within, floor_to, line_step, tiles
from .functions import EpochSeconds
from .models import Bucket, Dimension


class Figures(NamedTuple):
    """Counts per state and the merged histograms of a span (for one key, or all)."""

    counts: Counter
    runtime: Counter
    wait: Counter

    @property
    def finished(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.counts.get("FAILURE", 0)

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


EMPTY = Figures(Counter(), Counter(), Counter())


def tiled(span: Span, coarsest: str = DAY) -> Q:
    """The stored buckets that make up ``span`` exactly (none coarser than ``coarsest``)."""
    condition = Q(pk__in=[])
    for tile in tiles(span, coarsest):
        condition |= Q(granularity=tile.granularity, start__gte=tile.start, start__lt=tile.end)
    return condition


DURATIONS = ("runtime", "wait")


def figures_by_key(
    span: Span, dimension: str, keys: Iterable[str] | None = None, durations: Iterable[str] = DURATIONS
) -> dict[str, Figures]:
    """``{key: Figures}`` for every key of ``dimension`` with tasks finished in ``span`` (or only ``keys``).

    Only the histograms named in ``durations`` are read (the others are left empty).
    """
    figures, _trends = _figures_by_key(span, dimension, keys, durations, None)
    return figures


def totals_by_key(span: Span, dimension: str, status: str) -> dict[str, int]:
    """``{key: tasks}`` in ``status`` finished in ``span``, per key of ``dimension``: summed by the database.

    One row per key comes back, however many buckets tile the span: what a
    list sorted by that total needs before it knows which rows to draw.
    The tiles are read one by one (``UNION ALL``), each a range of one
    index, rather than or'ed together: on PostgreSQL each is then an
    index-only scan of the failure groups' covering index (migration 0009).
    """
    using = router.db_for_read(Bucket)
    sql, params = totals_sql(span, dimension, status, using)
    if not sql:
        return {}
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return {key: int(total) for key, total in cursor.fetchall()}


def totals_sql(span: Span, dimension: str, status: str, using: str) -> tuple[str, list]:
    """The statement ``totals_by_key`` runs, and its parameters (``("", [])`` for an empty span)."""
    parts = [
        Bucket.objects.filter(granularity=tile.granularity, dimension=dimension, status=status,
                              start__gte=tile.start, start__lt=tile.end).values_list("key", "count").query
        for tile in tiles(span)
    ]
    if not parts:
        return "", []
    compiled = [part.get_compiler(using).as_sql() for part in parts]
    quote = connections[using].ops.quote_name
    sql = (f"SELECT t.{quote('key')} AS {quote('key')}, SUM(t.{quote('count')}) AS total FROM ("
           + " UNION ALL ".join(part_sql for part_sql, _params in compiled)
           + f") t GROUP BY t.{quote('key')}")
    return sql, [param for _sql, params in compiled for param in params]


def with_totals(rows, key_field: str, span: Span, dimension: str, status: str) -> list[tuple]:
    """The tuples of ``rows`` (a ``values_list``) whose ``key_field`` has tasks in ``status`` finished in
    ``span``, each followed by that total (``totals_by_key``), in one statement: the database joins them.
    """
    using = rows.db
    totals, params = totals_sql(span, dimension, status, using)
    if not totals:
        return []
    quote = connections[using].ops.quote_name
    row_sql, row_params = rows.query.sql_with_params()
    sql = (f"SELECT r.*, totals.total FROM ({row_sql}) r"
           f" JOIN ({totals}) totals ON totals.{quote('key')} = r.{quote(key_field)}")
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [*row_params, *params])
        return [(*row[:-1], int(row[-1])) for row in cursor.fetchall()]


def figures_and_trends(
    span: Span, dimension: str, step: timedelta, keys: Iterable[str] | None = None, durations=DURATIONS
) -> tuple[dict[str, Figures], dict[str, list[int]]]:
    """``figures_by_key`` and, from the same rows, each key's tasks finished per ``step`` of ``span``.

    The span is tiled with rows no coarser than ``step``, so each row falls
    inside one step: a sparkline costs no query of its own. The first and
    last steps may be partial (the span need not start on a step); their
    counts stay exact.
    """
    return _figures_by_key(span, dimension, keys, durations, step)


def _figures_by_key(span, dimension, keys, durations, step):
    coarsest = DAY if step is None else coarsest_within(step)
    rows = Bucket.objects.filter(tiled(span, coarsest), dimension=dimension)
    if keys is not None:
        rows = rows.filter(key__in=list(keys))
    durations = [field for field in DURATIONS if field in durations]
    counts, texts = defaultdict(Counter), {field: defaultdict(list) for field in durations}
    trends: dict[str, list[int]] = {}
    if step is None:
        fields, first, seconds, steps = ["key", "status", "count"], 0, 1, 0
    else:
        fields, first = [EpochSeconds("start"), "key", "status", "count"], _epoch(floor_to(span.start, step))
        seconds, steps = int(step.total_seconds()), _steps(span, step)
    for row in rows.values_list(*fields, *durations):
        if step is not None:
            second, *row = row
            trend = trends.get(row[0])
            if trend is None:
                trend = trends[row[0]] = [0] * steps
            trend[(second - first) // seconds] += row[2]
        key, status, count, *histograms = row
        counts[key][status] += count
        for field, text in zip(durations, histograms, strict=True):
            if text:
                texts[field][key].append(text)
    figures = {
        key: Figures(
            counts[key],
            *(histogram.merge(texts[field].get(key, ())) if field in texts else Counter() for field in DURATIONS),
        )
        for key in counts
    }
    return figures, trends


def figures(span: Span, dimension: str = Dimension.ALL, key: str = "") -> Figures:
    return figures_by_key(span, dimension, [key]).get(key, EMPTY)


def figures_of_spans(spans: list[Span], dimension: str = Dimension.ALL, key: str = "") -> list[Figures]:
    """``figures`` of each of ``spans`` (not overlapping) in one query."""
    condition = Q(pk__in=[])
    for span in spans:
        condition |= tiled(span)
    rows = Bucket.objects.filter(condition, dimension=dimension, key=key).values_list(
        EpochSeconds("start"), "status", "count", "runtime", "wait"
    )
    bounds = [(_epoch(span.start), _epoch(span.end)) for span in spans]
    counts = [Counter() for _ in spans]
    runtimes, waits = [[] for _ in spans], [[] for _ in spans]
    for second, status, count, runtime, wait in rows:
        for i, (start, end) in enumerate(bounds):
            if start <= second < end:
                counts[i][status] += count
                runtimes[i].append(runtime)
                waits[i].append(wait)
                break
    return [
        Figures(counts[i], histogram.merge(runtimes[i]), histogram.merge(waits[i])) if counts[i] else EMPTY
        for i in range(len(spans))
    ]


def counts(span: Span, dimension: str = Dimension.ALL, key: str = "") -> Counter:
    """Tasks finished in ``span`` per state, summed by the database (no histograms read)."""
    rows = Bucket.objects.filter(tiled(span), dimension=dimension, key=key).values("status").annotate(n=Sum("count"))
    return Counter({row["status"]: row["n"] for row in rows})


class SeriesPoint(NamedTuple):
    start: datetime
    counts: Counter
    runtime: Counter  # empty in a chart's bars (``series``), read for its lines (``series_with_durations``)
    wait: Counter


def series(window: Window, span: Span, dimension: str = Dimension.ALL, key: str = "") -> list[SeriesPoint]:
    """The chart's bars: per bucket of ``window``, the counts per state (histograms left empty)."""
    bars, _lines, _total = _series(window, span, dimension, key, durations=False)
    return bars


class Durations(NamedTuple):
    """One key's chart of ``window``: its bars, its lines of durations and its figures over the whole span."""

    bars: list[SeriesPoint]  # counts only
    lines: list[SeriesPoint]  # a point per ``line_step(window)`` bars: their counts and histograms
    total: Figures


def series_with_durations(window: Window, span: Span, dimension: str, key: str) -> Durations:
    """``series``, and from the same rows the histograms per point of a line, and the total: one read.

    The bars tile the span exactly, so their sum is the span's figures.
    Histograms are summed packed (one integer each), and unpacked once per
    point of a line and once for the total.
    """
    return Durations(*_series(window, span, dimension, key, durations=True))


def _series(window, span, dimension, key, durations):
    starts = chart_buckets(window, span)
    bars = [SeriesPoint(start, Counter(), Counter(), Counter()) for start in starts]
    fields = [EpochSeconds("start"), "status", "count"] + (["runtime", "wait"] if durations else [])
    rows = Bucket.objects.filter(
        granularity=window.source, dimension=dimension, key=key, start__gte=span.start, start__lt=span.end
    ).values_list(*fields)
    first, step = _epoch(span.start), int(window.bucket.total_seconds())
    per_point = line_step(window)
    packed = [[0, 0] for _ in range(-(-len(bars) // per_point))] if durations else None
    for row in rows:
        i = (row[0] - first) // step
        if not 0 <= i < len(bars):
            continue
        bars[i].counts[row[1]] += row[2]
        if durations:
            sums = packed[i // per_point]
            if row[3]:
                sums[0] += histogram.packed(row[3])
            if row[4]:
                sums[1] += histogram.packed(row[4])
    if not durations:
        return bars, None, None
    lines = line_points(bars, window, packed)
    counts = Counter()
    for point in lines:
        counts.update(point.counts)
    runtime, wait = (histogram.unpack(sum(sums[k] for sums in packed)) for k in (0, 1))
    return bars, lines, Figures(counts, runtime, wait)


def line_points(bars: list[SeriesPoint], window: Window, packed: list[list[int]] | None = None) -> list[SeriesPoint]:
    """The points of a line over a chart's ``bars``: each sums ``line_step(window)`` bars' counts.

    With ``packed`` (per point, the packed sums of its runtime and wait
    histograms), each point's histograms too, unpacked once.
    """
    per_point, points = line_step(window), []
    for j, first in enumerate(range(0, len(bars), per_point)):
        counts = Counter()
        for bar in bars[first : first + per_point]:
            counts.update(bar.counts)
        runtime, wait = (histogram.unpack(n) for n in packed[j]) if packed else (Counter(), Counter())
        points.append(SeriesPoint(bars[first].start, counts, runtime, wait))
    return points


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _steps(span: Span, step: timedelta) -> int:
    first = floor_to(span.start, step)
    return -(-(span.end - first) // step)
