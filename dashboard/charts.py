"""Server-rendered SVG charts: the geometry of every mark, computed here.

The insights pages draw their charts without JavaScript nor a chart library:
this module turns figures into positions (plain frozen dataclasses), and the
templates under ``dashboard/templates/dashboard/charts/`` (and, for their
marks and for sparklines, the ``dashboard_charts`` tags) only place them.
Render one with ``{% load dashboard_charts %}{% chart some_chart %}``.

A chart is a frozen dataclass; its marks, ticks and table cells, built by
the hundred per chart, are named tuples, which Python builds several times
faster.

No HTML is built here, so every text (task names, states, titles) goes
through the templates' (or the tags') escaping. Each figure is formatted once, here,
and the same string is used by the mark's hover ``<title>`` and by the
chart's table form: what a user reads on hover is what the table says.

Three builders:

* ``stacked_bars(bars, title=..., order=...)``: tasks per time bucket, stacked by state;
* ``line_chart(x_labels, x_titles, lines, title=..., y_label=..., unit=...)``: rates or durations over time;
* ``sparkline(values, title=...)``: a small trend for a table cell.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from .formatting import STATUS_TONES

#: Colour family ("tone") of each state: the status badges' own mapping, so a
#: state has one colour everywhere. A state missing from it is "other", as its badge.
STATE_TONES = STATUS_TONES

DEFAULT_TONE = "other"
EMPTY_TEXT = "No tasks finished in this window."
NO_VALUE = "—"
SEPARATOR = " · "

#: At most this many intervals between the y-axis ticks (so up to 7 tick labels).
MAX_Y_INTERVALS = 6
#: At most this many x-axis labels, whatever the number of buckets.
MAX_X_LABELS = 10
#: The width of a label's character at the axis' font (11 user units, ``.chart-svg text``), and the least gap
#: between two labels: longer labels ("Thu 08:00") are shown fewer, never touching.
LABEL_CHAR_WIDTH = 6.5
LABEL_GAP = 12
#: Share of a bucket's slot a bar takes; the rest is the gap between bars.
BAR_FILL = 0.8

Formatter = Callable[[float], str]


def tone_for(state: str) -> str:
    """The CSS tone of ``state`` (``ok``, ``bad``...): the colour of its badge."""
    return STATE_TONES.get(state, DEFAULT_TONE)


# --- Figures as text ------------------------------------------------------------------------------------------------


def _strip_zero(text: str) -> str:
    """``"2.0"`` -> ``"2"``: a round figure reads without its decimal."""
    return text[:-2] if text.endswith(".0") else text


def format_count(value: float) -> str:
    """A count with thousands separators: ``1,234``."""
    return f"{round(value):,}"


def format_percent(fraction: float) -> str:
    """A fraction (0..1) as a percentage: ``0%``, ``12.5%``, ``0.04%`` (small rates keep two digits)."""
    percent = fraction * 100
    if 0 < abs(percent) < 1:
        return f"{percent:.2g}%"
    return _strip_zero(f"{percent:.1f}") + "%"


def format_ms(milliseconds: float) -> str:
    """A duration in milliseconds, in the unit that reads best: ``850 ms``, ``1.2 s``, ``3.4 min``, ``2.5 h``.

    Each threshold is checked on the rounded figure, so 999.7 ms reads
    ``1 s`` rather than ``1000 ms``.
    """
    ms = abs(milliseconds)
    sign = "-" if milliseconds < 0 else ""
    if ms == 0:
        return "0 ms"
    if ms < 1:
        return f"{sign}{ms:.2g} ms"
    if round(ms) < 1000:
        return f"{sign}{ms:.0f} ms"
    for divisor, suffix, limit in ((1000, "s", 60), (60_000, "min", 60), (3_600_000, "h", None)):
        value = ms / divisor
        if limit is None or round(value, 1) < limit:
            return f"{sign}{_strip_zero(f'{value:.1f}')} {suffix}"
    raise AssertionError("unreachable: hours have no upper limit")  # pragma: no cover


def format_number(value: float) -> str:
    """A plain figure (sparklines): thousands separators, at most two decimals."""
    if float(value).is_integer():
        return format_count(value)
    return f"{value:,.2f}".rstrip("0").rstrip(".")


UNIT_FORMATTERS: dict[str, Formatter] = {"%": format_percent, "ms": format_ms}


# --- Scales -----------------------------------------------------------------------------------------------------------


def _decimal_steps(minimum: float) -> Iterable[float]:
    """1, 2, 5 × 10^n, ascending from the power of ten at or below ``minimum``."""
    exponent = math.floor(math.log10(minimum))
    while True:
        for base in (1, 2, 5):
            yield base * 10.0**exponent
        exponent += 1


#: Steps of a duration axis, in ms: round in the unit ``format_ms`` will show (30 s, 2 min...), not 1/2/5 × 10^n ms
#: (100,000 ms would read "1.7 min"). Past the list, hours in 1/2/5 × 10^n. No 15 s nor 15 min step: their
#: fifth tick (75 s, 75 min) would read "1.2 min" or "1.2 h", which is not what it marks.
DURATION_STEPS_MS = (
    1, 2, 5, 10, 20, 50, 100, 200, 500,
    1_000, 2_000, 5_000, 10_000, 30_000,
    60_000, 120_000, 300_000, 600_000, 1_800_000,
)


def _duration_steps(minimum: float) -> Iterable[float]:
    if minimum < 1:
        yield from (step for step in _decimal_steps(minimum) if step < 1)
    yield from DURATION_STEPS_MS
    yield from (3_600_000 * step for step in _decimal_steps(1))


def nice_step(maximum: float, *, max_intervals: int = MAX_Y_INTERVALS, unit: str = "") -> float:
    """The smallest round step that covers ``maximum`` in at most ``max_intervals`` intervals.

    Counts step by whole numbers (no "0.5 tasks" tick); durations by round
    durations; anything else by 1, 2 or 5 × 10^n.
    """
    if maximum <= 0:
        raise ValueError("a scale needs a positive maximum")
    wanted = maximum / max_intervals
    steps = _duration_steps(wanted) if unit == "ms" else _decimal_steps(wanted)
    step = next(step for step in steps if step >= wanted * (1 - 1e-9))
    return max(step, 1) if unit == "count" else step


def _intervals(maximum: float, step: float) -> int:
    """How many ``step`` intervals reach ``maximum`` (a float's last digit does not add one)."""
    return max(1, math.ceil(maximum / step - 1e-9))


# --- Frame and axes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """The chart's canvas (the SVG ``viewBox``, in user units) and the plot area inside its margins.

    The margins hold the tick labels, the rotated y-axis label (left) and the
    x-axis labels (bottom). The SVG scales to its container's width; these
    numbers fix only the proportions.
    """

    width: float = 640
    height: float = 240
    left: float = 64
    right: float = 12
    top: float = 12
    bottom: float = 28

    @property
    def plot_left(self) -> float:
        return self.left

    @property
    def plot_right(self) -> float:
        return self.width - self.right

    @property
    def plot_top(self) -> float:
        return self.top

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    @property
    def plot_width(self) -> float:
        return self.plot_right - self.plot_left

    @property
    def plot_height(self) -> float:
        return self.plot_bottom - self.plot_top

    @property
    def tick_label_x(self) -> float:
        """Where the y tick labels end (they are right-aligned against the plot)."""
        return self.plot_left - 6

    @property
    def x_label_y(self) -> float:
        """The baseline of the x-axis labels, under the plot."""
        return self.plot_bottom + 16

    @property
    def y_label_x(self) -> float:
        """The y-axis label's position (rotated a quarter turn about it), in the left margin."""
        return 14

    @property
    def y_label_y(self) -> float:
        return self.plot_top + self.plot_height / 2

    def slot(self, count: int) -> float:
        """The width each of ``count`` buckets gets along the x axis."""
        return self.plot_width / count

    def slot_centre(self, index: int, count: int) -> float:
        return _r(self.plot_left + (index + 0.5) * self.slot(count))

    def y_of(self, value: float, top: float) -> float:
        """The y coordinate of ``value`` on a scale from 0 (the plot's bottom) to ``top`` (its top)."""
        return _r(self.plot_bottom - value / top * self.plot_height)


def _r(value: float) -> float:
    """Coordinates to two decimals: short SVG attributes, no visible difference."""
    return round(value, 2)


class Tick(NamedTuple):
    """One y-axis tick: a gridline at ``y`` and its label (formatted as the marks' figures are)."""

    value: float
    label: str
    y: float


@dataclass(frozen=True)
class YAxis:
    """The vertical scale: 0 to ``top`` (the highest tick), and the ticks drawn.

    ``top`` is the smallest round figure at or above the tallest mark, so the
    tallest mark reaches into the top interval and never overflows the plot.
    """

    top: float
    ticks: tuple[Tick, ...]
    label: str


def y_axis(maximum: float, frame: Frame, *, label: str, unit: str, formatter: Formatter) -> YAxis:
    """Round ticks from 0 to just above ``maximum`` (which must be positive)."""
    step = nice_step(maximum, unit=unit)
    intervals = _intervals(maximum, step)
    top = intervals * step
    values = [round(i * step, 12) for i in range(intervals + 1)]
    ticks = tuple(Tick(value, formatter(value), frame.y_of(value, top)) for value in values)
    return YAxis(top=top, ticks=ticks, label=label)


class XLabel(NamedTuple):
    """An x-axis label, centred under its bucket."""

    index: int
    text: str
    x: float


def label_stride(count: int, max_labels: int = MAX_X_LABELS) -> int:
    """Label every n-th bucket so that at most ``max_labels`` labels show (1: label them all)."""
    return max(1, math.ceil(count / max_labels))


def axis_labels(labels: Sequence[str], frame: Frame, max_labels: int = MAX_X_LABELS) -> tuple[XLabel, ...]:
    """The labels shown under the axis: every bucket's when they fit, else every n-th from the first.

    At most ``max_labels``, and no more than fit side by side at their length.
    """
    longest = max((len(label) for label in labels), default=0)
    fitting = max(1, int(frame.plot_width // (longest * LABEL_CHAR_WIDTH + LABEL_GAP)))
    stride = label_stride(len(labels), min(max_labels, fitting))
    return tuple(
        XLabel(index, text, frame.slot_centre(index, len(labels)))
        for index, text in enumerate(labels)
        if index % stride == 0
    )


# --- Legend and table form --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One state (bars) or line: its name in the legend and table header, and its colour."""

    name: str
    tone: str


class Cell(NamedTuple):
    """One figure of the table form; ``series`` and ``index`` match it to its mark."""

    series: str
    index: int
    text: str


class Row(NamedTuple):
    """One bucket in the table form: its full title, then a figure per series."""

    index: int
    title: str
    cells: tuple[Cell, ...]


def mark_title(bucket: str, series: str, text: str) -> str:
    """The hover text of a mark: ``"2026-12-02 14:15–14:30 UTC · FAILURE: 1,204"``."""
    return f"{bucket}{SEPARATOR}{series}: {text}"


# --- Stacked bars -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """The input of one bucket: its x-axis label, full title, count per state and, optionally, a link per state."""

    label: str
    title: str
    values: Mapping[str, int]
    links: Mapping[str, str] = field(default_factory=dict)


class Segment(NamedTuple):
    """One state's part of a bar: a rectangle, its exact count and hover text, and the link it opens (if any)."""

    series: str
    tone: str
    index: int
    x: float
    y: float
    width: float
    height: float
    count: int
    text: str
    title: str
    href: str | None


class Column(NamedTuple):
    """One bucket's bar: its segments from bottom to top (zero counts have none)."""

    index: int
    title: str
    total: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class BarChart:
    """Stacked bars, ready to place: see ``stacked_bars``."""

    title: str
    y_label: str
    frame: Frame
    series: tuple[Series, ...]
    rows: tuple[Row, ...]
    y_axis: YAxis | None = None
    x_labels: tuple[XLabel, ...] = ()
    columns: tuple[Column, ...] = ()
    empty_text: str = EMPTY_TEXT
    x_heading: str = "Time"
    template_name: str = "dashboard/charts/bars.html"

    @property
    def empty(self) -> bool:
        """No bar, or nothing counted in any: the empty state is shown instead of an SVG."""
        return self.y_axis is None


def series_order(bars: Sequence[Bar], order: Sequence[str]) -> tuple[str, ...]:
    """The states stacked, bottom to top: ``order``'s first, then any other state counted (alphabetically).

    A state with no task in any bar is left out (of the legend and table too).
    """
    counted = {state for bar in bars for state, count in bar.values.items() if count}
    known = [state for state in dict.fromkeys(order) if state in counted]
    return (*known, *sorted(counted.difference(known)))


def bar_column(bar: Bar, index: int, states: Sequence[str], frame: Frame, count: int, top: float) -> Column:
    """The segments of one bar, each starting where the one below it ends."""
    slot = frame.slot(count)
    width = slot * BAR_FILL
    x, drawn_width = _r(frame.plot_left + index * slot + (slot - width) / 2), _r(width)
    segments, below, y_bottom = [], 0, frame.y_of(0, top)
    for state in states:
        value = bar.values.get(state, 0)
        if not value:
            continue
        below += value
        y_top = frame.y_of(below, top)  # the next segment starts where this one ends
        text = format_count(value)
        segments.append(Segment(
            state, tone_for(state), index, x, y_top, drawn_width, _r(y_bottom - y_top), value, text,
            mark_title(bar.title, state, text), bar.links.get(state) or None,
        ))
        y_bottom = y_top
    return Column(index=index, title=bar.title, total=below, segments=tuple(segments))


def bar_rows(bars: Sequence[Bar], states: Sequence[str]) -> tuple[Row, ...]:
    """The table form: a row per bucket, a count per state (0 where none)."""
    return tuple(
        Row(index, bar.title, tuple(Cell(state, index, format_count(bar.values.get(state, 0))) for state in states))
        for index, bar in enumerate(bars)
    )


def stacked_bars(
    bars: Sequence[Bar],
    *,
    title: str,
    y_label: str = "tasks",
    order: Sequence[str],
    empty_text: str = EMPTY_TEXT,
) -> BarChart:
    """Tasks per bucket, stacked by state in ``order`` (bottom to top).

    All bars empty (or none at all) gives a chart whose ``empty`` is true:
    its template shows ``empty_text`` instead of an axis scaled to nothing.
    """
    frame = Frame()
    states = series_order(bars, order)
    chart = BarChart(
        title=title, y_label=y_label, frame=frame, empty_text=empty_text,
        series=tuple(Series(state, tone_for(state)) for state in states), rows=bar_rows(bars, states),
    )
    tallest = max((sum(bar.values.get(state, 0) for state in states) for bar in bars), default=0)
    if tallest <= 0:
        return chart
    axis = y_axis(tallest, frame, label=y_label, unit="count", formatter=format_count)
    columns = tuple(bar_column(bar, i, states, frame, len(bars), axis.top) for i, bar in enumerate(bars))
    return replace(chart, y_axis=axis, x_labels=axis_labels([bar.label for bar in bars], frame), columns=columns)


# --- Lines ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of input: its name, a value per x (None: no data there, a gap), its tone (``bad``, ``busy``...)."""

    name: str
    values: Sequence[float | None]
    tone: str


class Point(NamedTuple):
    """One value of a line: its dot (and larger invisible hover target), exact figure and hover text."""

    series: str
    index: int
    x: float
    y: float
    value: float
    text: str
    title: str


@dataclass(frozen=True)
class LineSeries:
    """A line, ready to place: a polyline per run of values without gaps, and a point per value."""

    name: str
    tone: str
    segments: tuple[str, ...]
    points: tuple[Point, ...]


@dataclass(frozen=True)
class LineChart:
    """Lines over time, ready to place: see ``line_chart``."""

    title: str
    y_label: str
    unit: str
    frame: Frame
    series: tuple[Series, ...]
    rows: tuple[Row, ...]
    y_axis: YAxis | None = None
    x_labels: tuple[XLabel, ...] = ()
    lines: tuple[LineSeries, ...] = ()
    empty_text: str = EMPTY_TEXT
    x_heading: str = "Time"
    template_name: str = "dashboard/charts/lines.html"

    @property
    def empty(self) -> bool:
        """No value at all (every one None): the empty state is shown instead of an SVG."""
        return self.y_axis is None


def runs(values: Sequence[float | None]) -> list[list[int]]:
    """The indexes of ``values`` in runs without a None: each run is drawn as its own polyline."""
    found: list[list[int]] = []
    previous_missing = True
    for index, value in enumerate(values):
        if value is None:
            previous_missing = True
            continue
        if previous_missing:
            found.append([])
        found[-1].append(index)
        previous_missing = False
    return found


def line_series(line: Line, x_titles: Sequence[str], frame: Frame, top: float, texts: Sequence[str]) -> LineSeries:
    """One line's points and its polylines (a gap wherever a value is None); ``texts`` are its values formatted."""
    count = len(line.values)
    points = {}
    for index, value in enumerate(line.values):
        if value is None:
            continue
        text = texts[index]
        points[index] = Point(
            series=line.name, index=index, x=frame.slot_centre(index, count), y=frame.y_of(value, top),
            value=value, text=text, title=mark_title(x_titles[index], line.name, text),
        )
    segments = tuple(" ".join(f"{points[i].x},{points[i].y}" for i in run) for run in runs(line.values))
    return LineSeries(line.name, line.tone, segments, tuple(points.values()))


def line_texts(line: Line, formatter: Formatter) -> list[str]:
    """Each value of ``line`` as the chart writes it ("—" where it has none): on hover and in the table alike."""
    return [NO_VALUE if value is None else formatter(value) for value in line.values]


def line_rows(x_titles: Sequence[str], lines: Sequence[Line], texts: Sequence[Sequence[str]]) -> tuple[Row, ...]:
    """The table form: a row per x, a figure per line (``texts``, each line's ``line_texts``)."""
    return tuple(
        Row(index, x_title, tuple(Cell(line.name, index, text[index]) for line, text in zip(lines, texts, strict=True)))
        for index, x_title in enumerate(x_titles)
    )


def _check_lengths(x_labels: Sequence[str], x_titles: Sequence[str], lines: Sequence[Line]) -> None:
    """Every line has a value per x label, and every label a title: a mismatch is the caller's bug."""
    lengths = {len(x_labels), len(x_titles), *(len(line.values) for line in lines)}
    if len(lengths) > 1:
        raise ValueError(f"x_labels, x_titles and every line's values must have one length (got {sorted(lengths)})")


def line_chart(
    x_labels: Sequence[str],
    x_titles: Sequence[str],
    lines: Sequence[Line],
    *,
    title: str,
    y_label: str,
    unit: str,
    empty_text: str = EMPTY_TEXT,
) -> LineChart:
    """Lines over the same x buckets, on one scale from 0.

    ``unit`` is ``"%"`` (values are fractions, 0..1) or ``"ms"`` (durations).
    Values are assumed non-negative. When every value is None the chart is
    ``empty``; when all are 0 it is drawn (a 0 % failure rate is a figure).
    """
    if unit not in UNIT_FORMATTERS:
        raise ValueError(f"unit must be one of {sorted(UNIT_FORMATTERS)}, not {unit!r}")
    _check_lengths(x_labels, x_titles, lines)
    formatter, frame = UNIT_FORMATTERS[unit], Frame()
    texts = [line_texts(line, formatter) for line in lines]
    chart = LineChart(
        title=title, y_label=y_label, unit=unit, frame=frame, empty_text=empty_text,
        series=tuple(Series(line.name, line.tone) for line in lines), rows=line_rows(x_titles, lines, texts),
    )
    known = [value for line in lines for value in line.values if value is not None]
    if not known:
        return chart
    # All zeros still need a scale: one full unit (100 %, or 1 ms) puts the line on the axis.
    axis = y_axis(max(max(known), 0) or 1, frame, label=y_label, unit=unit, formatter=formatter)
    drawn = tuple(line_series(line, x_titles, frame, axis.top, text) for line, text in zip(lines, texts, strict=True))
    return replace(chart, y_axis=axis, x_labels=axis_labels(x_labels, frame), lines=drawn)


# --- Sparkline --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sparkline:
    """A small trend for a table cell: one polyline scaled from its minimum to its maximum, and a dot on the last value.

    It has no axis: its ``summary`` (the title, then min, max and last)
    is its SVG ``<title>``, read on hover and by screen readers.
    """

    title: str
    summary: str
    tone: str
    width: float = 100
    height: float = 24
    points: str = ""
    last_x: float = 0
    last_y: float = 0

    @property
    def empty(self) -> bool:
        return not self.points


SPARK_PAD = 2


def spark_y(value: float, low: float, high: float, height: float) -> float:
    """The y of ``value`` between ``low`` (bottom) and ``high`` (top); a flat series sits mid-height."""
    if high == low:
        return _r(height / 2)
    return _r(height - SPARK_PAD - (value - low) / (high - low) * (height - 2 * SPARK_PAD))


def spark_x(index: int, count: int, width: float) -> float:
    """Points spread over the whole width; a single value is drawn as a flat line across it (see ``sparkline``)."""
    return _r(SPARK_PAD + index / max(count - 1, 1) * (width - 2 * SPARK_PAD))


def sparkline(values: Sequence[int | float], *, title: str, tone: str = "busy") -> Sparkline:
    """A trend of ``values`` (oldest first); no value gives an empty sparkline whose summary says so."""
    if not values:
        return Sparkline(title=title, summary=f"{title}: no data", tone=tone)
    low, high = min(values), max(values)
    summary = (
        f"{title}{SEPARATOR}min {format_number(low)}, max {format_number(high)}, last {format_number(values[-1])}"
    )
    spark = Sparkline(title=title, summary=summary, tone=tone)
    drawn = list(values) * 2 if len(values) == 1 else list(values)
    xy = [(spark_x(i, len(drawn), spark.width), spark_y(v, low, high, spark.height)) for i, v in enumerate(drawn)]
    return replace(spark, points=" ".join(f"{x},{y}" for x, y in xy), last_x=xy[-1][0], last_y=xy[-1][1])
