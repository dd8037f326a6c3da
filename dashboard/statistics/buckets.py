"""Time buckets of the statistics, and the windows the pages show.

Figures are stored per minute, per quarter hour, per hour and per day
(UTC). A window of the pages (``1h``, ``6h``, ``24h``, ``7d``, ``30d``)
ends at the end of the bucket its chart is drawn in (a minute, 5 or 15
minutes, an hour, a day), so every bar is a whole bucket and the last one
fills as the time passes. Any window is read from the fewest stored rows
that tile it exactly: whole days, then whole hours at its ends, then whole
quarter hours, then minutes at the very ends. The quarter hours are what
the default window (24 hours, in bars of 15 minutes) is drawn from: a
tenth of the rows its minutes would take.
"""
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

MINUTE, QUARTER, HOUR, DAY = "m", "q", "h", "d"
GRANULARITY_LENGTH = {
    MINUTE: timedelta(minutes=1), QUARTER: timedelta(minutes=15), HOUR: timedelta(hours=1), DAY: timedelta(days=1),
}
GRANULARITIES = (MINUTE, QUARTER, HOUR, DAY)  # finest first
_FINER = dict(zip(GRANULARITIES[1:], GRANULARITIES, strict=False))


class Window(NamedTuple):
    name: str
    length: timedelta
    bucket: timedelta  # a bar of the chart
    source: str  # the stored granularity the chart's bars are summed from
    label: str


WINDOWS = {
    window.name: window
    for window in (
        Window("1h", timedelta(hours=1), timedelta(minutes=1), MINUTE, "last hour"),
        Window("6h", timedelta(hours=6), timedelta(minutes=5), MINUTE, "last 6 hours"),
        Window("24h", timedelta(hours=24), timedelta(minutes=15), QUARTER, "last 24 hours"),
        Window("7d", timedelta(days=7), timedelta(hours=1), HOUR, "last 7 days"),
        Window("30d", timedelta(days=30), timedelta(days=1), DAY, "last 30 days"),
    )
}
DEFAULT_WINDOW = "24h"


class Span(NamedTuple):
    """``[start, end)``, in UTC."""

    start: datetime
    end: datetime


class Tile(NamedTuple):
    """Stored rows of ``granularity`` whose start is in ``[start, end)``."""

    granularity: str
    start: datetime
    end: datetime


def floor_to(moment: datetime, step: timedelta) -> datetime:
    """``moment`` (aware) rounded down to a multiple of ``step`` since the epoch, in UTC."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return epoch + ((moment - epoch) // step) * step


def ceil_to(moment: datetime, step: timedelta) -> datetime:
    floored = floor_to(moment, step)
    return floored if floored == moment.astimezone(UTC) else floored + step


def bucket_start(moment: datetime, granularity: str) -> datetime:
    return floor_to(moment, GRANULARITY_LENGTH[granularity])


def window_span(window: Window, now: datetime) -> Span:
    """The span ``window`` shows at ``now``: it ends with the chart bucket ``now`` falls in."""
    end = floor_to(now, window.bucket) + window.bucket
    return Span(end - window.length, end)


def previous_span(span: Span) -> Span:
    """The span of the same length just before ``span``, for the headline's comparison."""
    length = span.end - span.start
    return Span(span.start - length, span.start)


def tiles(span: Span, coarsest: str = DAY) -> list[Tile]:
    """Stored rows covering ``span`` exactly, as few as possible, none coarser than ``coarsest``; whole minutes."""
    result: list[Tile] = []
    _tile(span.start, span.end, coarsest, result)
    return [tile for tile in result if tile.start < tile.end]


def _tile(start: datetime, end: datetime, granularity: str, into: list[Tile]) -> None:
    if granularity == MINUTE:
        into.append(Tile(MINUTE, start, end))
        return
    finer = _FINER[granularity]
    step = GRANULARITY_LENGTH[granularity]
    whole_start, whole_end = ceil_to(start, step), floor_to(end, step)
    if whole_start >= whole_end:
        _tile(start, end, finer, into)
        return
    _tile(start, whole_start, finer, into)
    into.append(Tile(granularity, whole_start, whole_end))
    _tile(whole_end, end, finer, into)


def coarsest_within(step: timedelta) -> str:
    """The coarsest stored granularity whose rows each fall inside one ``step`` (aligned to the epoch)."""
    fitting = [g for g in GRANULARITIES if step % GRANULARITY_LENGTH[g] == timedelta(0)]
    if not fitting:
        raise ValueError(f"{step} is not a whole number of minutes")
    return fitting[-1]


#: At most this many points on a line of percentiles: a point is then at least 13 of the chart's 576 plotted
#: units from the next (its hover target stays its own), and stands for a few of the window's bars.
LINE_POINTS = 48


def line_step(window: Window) -> int:
    """How many of ``window``'s bars a point of its percentile lines stands for (the fewest keeping ``LINE_POINTS``)."""
    bars = window.length // window.bucket
    return -(-bars // LINE_POINTS)


def chart_buckets(window: Window, span: Span) -> list[datetime]:
    """The start of every bar of the chart of ``window`` over ``span``."""
    count = (span.end - span.start) // window.bucket
    return [span.start + i * window.bucket for i in range(count)]
