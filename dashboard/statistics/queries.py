"""What the insights pages read from the statistics tables: never from the results table.

Every figure of a span is summed from the fewest stored buckets that tile
it (``buckets.tiles``): at most a few hundred rows, whatever the number of
results behind them.
"""
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Q, Sum

from . import histogram
from .buckets import DAY, Span, Window, chart_buckets, coarsest_within, floor_to, tiles
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


def figures_by_key(span: Span, dimension: str, keys: Iterable[str] | None = None) -> dict[str, Figures]:
    """``{key: Figures}`` for every key of ``dimension`` with tasks finished in ``span`` (or only ``keys``)."""
    rows = Bucket.objects.filter(tiled(span), dimension=dimension)
    if keys is not None:
        rows = rows.filter(key__in=list(keys))
    counts, runtimes, waits = defaultdict(Counter), defaultdict(list), defaultdict(list)
    for key, status, count, runtime, wait in rows.values_list("key", "status", "count", "runtime", "wait"):
        counts[key][status] += count
        runtimes[key].append(runtime)
        waits[key].append(wait)
    return {
        key: Figures(counts[key], histogram.merge(runtimes[key]), histogram.merge(waits[key])) for key in counts
    }


def figures(span: Span, dimension: str = Dimension.ALL, key: str = "") -> Figures:
    return figures_by_key(span, dimension, [key]).get(key, EMPTY)


def counts(span: Span, dimension: str = Dimension.ALL, key: str = "") -> Counter:
    """Tasks finished in ``span`` per state, summed by the database (no histograms read)."""
    rows = Bucket.objects.filter(tiled(span), dimension=dimension, key=key).values("status").annotate(n=Sum("count"))
    return Counter({row["status"]: row["n"] for row in rows})


class SeriesPoint(NamedTuple):
    start: datetime
    counts: Counter
    runtime: Counter  # empty unless asked for
    wait: Counter


def series(window: Window, span: Span, dimension: str = Dimension.ALL, key: str = "", durations: bool = False):
    """The chart's bars: per bucket of ``window``, the counts per state (and, with ``durations``, the histograms)."""
    starts = chart_buckets(window, span)
    bars = {start: SeriesPoint(start, Counter(), Counter(), Counter()) for start in starts}
    fields = ["start", "status", "count"] + (["runtime", "wait"] if durations else [])
    rows = Bucket.objects.filter(
        granularity=window.source, dimension=dimension, key=key, start__gte=span.start, start__lt=span.end
    ).values_list(*fields)
    for row in rows:
        bar = bars.get(floor_to(row[0], window.bucket))
        if bar is None:
            continue
        bar.counts[row[1]] += row[2]
        if durations:
            bar.runtime.update(histogram.decode(row[3]))
            bar.wait.update(histogram.decode(row[4]))
    return list(bars.values())


def total(points: list[SeriesPoint]) -> Figures:
    """The figures of the whole span a series covers (its bars tile the span exactly): no second read."""
    result = Figures(Counter(), Counter(), Counter())
    for point in points:
        result.counts.update(point.counts)
        result.runtime.update(point.runtime)
        result.wait.update(point.wait)
    return result


def trends(span: Span, dimension: str, step: timedelta, keys: Iterable[str] | None = None) -> dict[str, list[int]]:
    """``{key: [tasks finished per step]}`` over ``span``, summed by the database from the rows tiling it.

    Only rows no coarser than ``step`` are read, so each falls inside one
    step; the first and last steps may be partial, the counts stay exact.
    """
    starts = [floor_to(span.start, step) + i * step for i in range(_steps(span, step))]
    index = {start: i for i, start in enumerate(starts)}
    rows = Bucket.objects.filter(tiled(span, coarsest_within(step)), dimension=dimension)
    if keys is not None:
        rows = rows.filter(key__in=list(keys))
    rows = rows.values("key", "start").annotate(n=Sum("count")).values_list("key", "start", "n")
    result: dict[str, list[int]] = {}
    for key, start, n in rows:
        result.setdefault(key, [0] * len(starts))[index[floor_to(start, step)]] += n
    return result


def _steps(span: Span, step: timedelta) -> int:
    first = floor_to(span.start, step)
    return -(-(span.end - first) // step)
