"""``{% chart obj %}``: renders a chart of ``dashboard.charts`` with its own template.

A chart has hundreds of marks (a bar segment, a point, a table row per
bucket): their loops are written here (``bar_marks``, ``line_points``,
``table_rows``) rather than by the template engine, which spends far more
per mark resolving and rendering each variable. A sparkline, one per row
of a report table, is written here whole (``sparkline_svg``). They write what the
template would have written, byte for byte: every text escaped, every
number as the template shows it (unlocalized inside ``{% localize off %}``).
"""
import html
import itertools

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from ..charts import Sparkline

register = template.Library()

# Each rendered chart gets its own element id (its SVG <title> is what aria-labelledby names),
# so two charts on one page never share one.
_chart_ids = itertools.count(1)


@register.simple_tag
def chart(obj, dom_id=None):
    """Render ``obj`` (a ``BarChart``, ``LineChart`` or ``Sparkline``) with ``obj.template_name``.

    ``{% chart overview_chart %}``, or ``{% chart overview_chart dom_id="finished" %}`` for a
    stable id (a link to ``#finished``, a browser test's selector).
    """
    chart_id = dom_id or f"chart-{next(_chart_ids)}"
    if isinstance(obj, Sparkline):
        return mark_safe(sparkline_svg(obj, chart_id))
    return render_to_string(obj.template_name, {"chart": obj, "chart_id": chart_id})


def sparkline_svg(spark: Sparkline, chart_id: str) -> str:
    """A small trend for a table cell: its ``<title>`` holds the title, min, max and last value."""
    v = _unlocalized
    if spark.empty:
        return f'<span class="sparkline sparkline-empty muted" title="{v(spark.summary)}">—</span>'
    labelled = f"{v(chart_id)}-title"
    return (
        f'<svg class="sparkline tone-{v(spark.tone)}" role="img" aria-labelledby="{labelled}"'
        f' viewBox="0 0 {v(spark.width)} {v(spark.height)}" width="{v(spark.width)}" height="{v(spark.height)}"'
        f' preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title id="{labelled}">{v(spark.summary)}'
        f'</title><polyline class="sparkline-line" points="{v(spark.points)}"/>'
        f'<circle class="sparkline-dot" cx="{v(spark.last_x)}" cy="{v(spark.last_y)}" r="2"/></svg>'
    )


def _unlocalized(value) -> str:
    """``{{ value }}`` inside ``{% localize off %}``."""
    kind = type(value)
    if kind is str:
        return html.escape(value)  # what django.utils.html.escape does, without its lazy-string wrapper
    if kind is int:
        return str(value)
    if kind is float:
        text = repr(value)
        if "e" not in text and "n" not in text:  # not 1e-05, inf, nan: those take the template's own path
            return text
    return conditional_escape(localize(value, use_l10n=False))


def _localized(value) -> str:
    """``{{ value }}`` with the locale's formats."""
    kind = type(value)
    if kind is str:
        return html.escape(value)
    if kind is int and (abs(value) < 1000 or not settings.USE_THOUSAND_SEPARATOR):
        return str(value)  # what number_format gives an integer without thousands to group
    return conditional_escape(localize(value))


@register.simple_tag
def bar_marks(chart):
    """The segments of a ``BarChart``'s columns, each a rectangle (in a link when it has one)."""
    v = _unlocalized
    states = {}  # a state's escaped tone and name, written once per chart rather than once per segment
    parts = []
    for column in chart.columns:
        if not column.segments:
            continue
        first = column.segments[0]
        x, width, index = v(first.x), v(first.width), v(first.index)  # one column's segments share them
        for s in column.segments:
            tone, series = states.get(s.series) or states.setdefault(s.series, (v(s.tone), v(s.series)))
            mark = (
                f'<rect class="chart-segment tone-{tone}" x="{x}" y="{v(s.y)}" width="{width}"'
                f' height="{v(s.height)}" data-series="{series}" data-index="{index}">'
                f"<title>{v(s.title)}</title></rect>"
            )
            if s.href:
                mark = f'<a href="{v(s.href)}">{mark}</a>'
            parts.append(f"\n      {mark}\n      ")
    return mark_safe("".join(parts))


@register.simple_tag
def line_points(line):
    """The points of a ``LineSeries``: a hover target and a dot each."""
    v = _unlocalized
    series = v(line.name)  # every point of a line is of its series
    return mark_safe("".join(
        f'\n        <g class="chart-point" data-series="{series}" data-index="{v(p.index)}">'
        f'<title>{v(p.title)}</title><circle class="chart-hit" cx="{v(p.x)}" cy="{v(p.y)}" r="8"/>'
        f'<circle class="chart-dot" cx="{v(p.x)}" cy="{v(p.y)}" r="2.5"/></g>\n        '
        for p in line.points
    ))


@register.simple_tag
def table_rows(chart):
    """The rows of a chart's table form: the bucket's title, then a figure per series."""
    v = _localized
    series = {}  # each series' escaped name, written once per chart rather than once per cell
    parts = []
    for row in chart.rows:
        index = v(row.index)
        cells = "".join(
            f'<td data-series="{series.get(c.series) or series.setdefault(c.series, v(c.series))}"'
            f' data-index="{index}">{v(c.text)}</td>'
            for c in row.cells
        )
        parts.append(f'\n      <tr><th scope="row">{v(row.title)}</th>{cells}</tr>\n      ')
    return mark_safe("".join(parts))
