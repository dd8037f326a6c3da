"""The insights pages' charts, built from the reports' series (``dashboard.charts`` draws them).

Every bar links into the task list for its bucket and state, with the
page's own filter (a task name, a worker), so a failure bar opens those
failures.
"""
from datetime import datetime, timedelta
from functools import lru_cache

from django.utils import timezone

from . import charts
from .querystrings import BucketLinks
from .reports import ordered_states
from .statistics import histogram
from .statistics.buckets import DAY, HOUR, Window, line_step
from .statistics.queries import SeriesPoint, line_points

#: How a bar's start reads under it, per stored granularity of the window.
LABEL_FORMATS = {DAY: "%b %d", HOUR: "%a %H:%M"}


@lru_cache(maxsize=4096)
def bucket_label(start: datetime, window: Window, length: timedelta, zone) -> tuple[str, str]:
    """``(short label, full title)`` of the bar (or point, ``length`` long) starting at ``start``, in ``zone``.

    ``zone`` is the current time zone, taken once by the caller for all its
    bars; the labels are cached, a page's charts labelling the same buckets.
    """
    local_start, local_end = timezone.localtime(start, zone), timezone.localtime(start + length, zone)
    label = local_start.strftime(LABEL_FORMATS.get(window.source, "%H:%M"))
    title = local_start.strftime("%Y-%m-%d") if length.days >= 1 else f"{local_start:%Y-%m-%d %H:%M}–{local_end:%H:%M}"
    return label, f"{title} {local_start.tzname()}"


def throughput(series: list[SeriesPoint], window: Window, title: str, **filters: str) -> charts.BarChart:
    """Tasks finished per bucket, stacked by state; each segment links to its tasks."""
    bars = []
    links_of, zone = BucketLinks(**filters), timezone.get_current_timezone()
    for point in series:
        label, full = bucket_label(point.start, window, window.bucket, zone)
        links = links_of.links(point.start, point.start + window.bucket, point.counts)
        bars.append(charts.Bar(label=label, title=full, values=dict(point.counts), links=links))
    order = ordered_states([point.counts for point in series])
    return charts.stacked_bars(bars, title=title, y_label="tasks finished", order=order)


def _axis(series: list[SeriesPoint], window: Window, length: timedelta | None = None) -> tuple[list[str], list[str]]:
    length, zone = length or window.bucket, timezone.get_current_timezone()
    labels = [bucket_label(point.start, window, length, zone) for point in series]
    return [label for label, _ in labels], [full for _, full in labels]


def failure_rate(series: list[SeriesPoint], window: Window, title: str) -> charts.LineChart:
    """The share of tasks finished that failed, per point of ``line_step(window)`` bars (a gap where none finished).

    Like the percentile lines, at most ``LINE_POINTS`` points: each hovered
    on its own, and a rate over a few bars reads steadier than over one.
    """
    points = line_points(series, window)
    rates = []
    for point in points:
        finished = sum(point.counts.values())
        rates.append(point.counts.get("FAILURE", 0) / finished if finished else None)
    labels, titles = _axis(points, window, window.bucket * line_step(window))
    return charts.line_chart(
        labels, titles, [charts.Line("failure rate", rates, "bad")], title=title, y_label="failed", unit="%"
    )


def percentile_lines(lines: list[SeriesPoint], window: Window, title: str, field: str,
                     fractions=(0.5, 0.95, 0.99)) -> charts.LineChart:
    """Percentiles of ``field`` (``runtime`` or ``wait``) per point of ``lines``, in milliseconds.

    A point stands for ``line_step(window)`` of the window's bars: at most
    ``LINE_POINTS`` points, each far enough from the next to be hovered on
    its own, each a percentile of more runs than one bar holds.
    """
    tones = {0.5: "ok", 0.95: "warn", 0.99: "bad"}
    per_point = [histogram.percentiles(getattr(point, field), fractions) for point in lines]
    drawn = [
        charts.Line(f"p{round(fraction * 100)}", [values[fraction] for values in per_point], tones[fraction])
        for fraction in fractions
    ]
    labels, titles = _axis(lines, window, window.bucket * line_step(window))
    return charts.line_chart(labels, titles, drawn, title=title, y_label="milliseconds", unit="ms")


def trend(values: list[int], title: str) -> charts.Sparkline:
    return charts.sparkline(values, title=title)
