"""What the insights pages read from the statistics tables: never from the results table.

Every figure of a span is summed from the fewest stored buckets that tile
it (``buckets.tiles``): at most a few hundred rows, whatever the number of
results behind them.
"""
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from django.db.models import Q, Sum

from . import histogram
from .buckets import Span, Window, chart_buckets, floor_to, tiles
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


def tiled(span: Span) -> Q:
    """The stored buckets that make up ``span`` exactly."""
    condition = Q(pk__in=[])
    for tile in tiles(span):
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
    runtime: Counter


def series(window: Window, span: Span, dimension: str = Dimension.ALL, key: str = "", with_runtime=False):
    """The chart's bars: per bucket of ``window``, the counts per state (and the runtime histogram)."""
    starts = chart_buckets(window, span)
    bars = {start: (Counter(), Counter()) for start in starts}
    fields = ["start", "status", "count"] + (["runtime"] if with_runtime else [])
    rows = Bucket.objects.filter(
        granularity=window.source, dimension=dimension, key=key, start__gte=span.start, start__lt=span.end
    ).values_list(*fields)
    for row in rows:
        bar = bars.get(floor_to(row[0], window.bucket) if window.bucket else row[0])
        if bar is None:
            continue
        bar[0][row[1]] += row[2]
        if with_runtime:
            bar[1].update(histogram.decode(row[3]))
    return [SeriesPoint(start, *bars[start]) for start in starts]
