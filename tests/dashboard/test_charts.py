"""The server-rendered charts: their geometry (dashboard.charts) and what their templates make of it.

No database: charts are built from plain figures and rendered through the
``{% chart %}`` tag; the rendered HTML is parsed back to check that each
mark's hover text is the figure its table form shows.
"""
import math
from html.parser import HTMLParser
from itertools import pairwise

import pytest
from celery import states
from django.template import Context, Template
from django.utils import translation

from dashboard import charts, formatting

ORDER = ("SUCCESS", "FAILURE", "REVOKED", "RETRY", "STARTED")


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], ""

    def find_all(self, tag=None, **attrs):
        for child in self.children:
            if (tag is None or child.tag == tag) and all(child.attrs.get(k) == v for k, v in attrs.items()):
                yield child
            yield from child.find_all(tag, **attrs)

    def has_class(self, name):
        return name in self.attrs.get("class", "").split()

    def child_text(self, tag):
        return next((child.text for child in self.children if child.tag == tag), None)


class TreeBuilder(HTMLParser):
    """Just enough of a DOM: elements, attributes and their own text (entities decoded)."""

    VOID = {"br", "meta", "img", "input"}  # SVG shapes here are written "<line />" or "<rect>…</rect>"

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("root", {}, None)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        if tag not in self.VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text += data


def render(chart, **tag_args):
    args = " ".join(f'{key}="{value}"' for key, value in tag_args.items())
    return Template("{% load dashboard_charts %}{% chart obj " + args + " %}").render(Context({"obj": chart}))


def parse(html):
    builder = TreeBuilder()
    builder.feed(html)
    return builder.root


def marks(root):
    """(series, index) -> element of every mark drawn in the SVG (bar segments, line points)."""
    svg = next(root.find_all("svg"))
    return {
        (el.attrs["data-series"], int(el.attrs["data-index"])): el
        for el in svg.find_all()
        if "data-index" in el.attrs and el.tag in {"rect", "g"}
    }


def table_cells(root):
    """(series, index) -> text of the table form's cells."""
    return {(td.attrs["data-series"], int(td.attrs["data-index"])): td.text for td in root.find_all("td")}


def table_rows(root):
    return [row.child_text("th") for row in next(root.find_all("tbody")).find_all("tr")]


def bars_of(*counts, states=("SUCCESS", "FAILURE")):
    return [
        charts.Bar(f"{i:02d}:00", f"2026-12-02 {i:02d}:00–{i + 1:02d}:00 UTC", dict(zip(states, c, strict=False)))
        for i, c in enumerate(counts)
    ]


def segment(chart, index, state):
    return next(s for s in chart.columns[index].segments if s.series == state)


# --- Bars: geometry ---------------------------------------------------------------------------------------------------


def test_segment_heights_are_proportional_to_counts():
    chart = charts.stacked_bars(bars_of((60, 20), (10, 30)), title="Finished", order=ORDER)
    per_task = segment(chart, 0, "SUCCESS").height / 60
    assert per_task > 0
    for index, state, count in [(0, "SUCCESS", 60), (0, "FAILURE", 20), (1, "SUCCESS", 10), (1, "FAILURE", 30)]:
        assert segment(chart, index, state).height == pytest.approx(count * per_task, abs=0.02)
    # The scale is the axis': a count of ``top`` would fill the plot's whole height.
    assert per_task * chart.y_axis.top == pytest.approx(chart.frame.plot_height)


def test_segments_stack_in_the_given_order_from_the_axis_up():
    values = {"RETRY": 5, "SUCCESS": 40, "FAILURE": 10}
    chart = charts.stacked_bars([charts.Bar("a", "A", values)], title="t", order=ORDER)
    segments = chart.columns[0].segments
    assert [s.series for s in segments] == ["SUCCESS", "FAILURE", "RETRY"]
    assert segments[0].y + segments[0].height == pytest.approx(chart.frame.plot_bottom)
    for below, above in pairwise(segments):
        assert above.y + above.height == pytest.approx(below.y, abs=0.01)
        assert above.x == below.x and above.width == below.width


def test_states_outside_the_order_go_on_top_and_absent_states_are_left_out():
    bars = [charts.Bar("a", "A", {"SUCCESS": 3, "custom.STATE": 2, "FAILURE": 0}), charts.Bar("b", "B", {"RETRY": 0})]
    chart = charts.stacked_bars(bars, title="t", order=ORDER)
    assert [s.name for s in chart.series] == ["SUCCESS", "custom.STATE"]
    assert [s.tone for s in chart.series] == ["ok", "other"]
    root = parse(render(chart))
    legend = [li.text for li in next(root.find_all("ul")).find_all("li")]
    assert legend == ["SUCCESS", "custom.STATE"]
    assert [th.text for th in next(root.find_all("thead")).find_all("th")] == ["Time", "SUCCESS", "custom.STATE"]


@pytest.mark.parametrize("tallest", [1, 3, 7, 10, 87, 100, 101, 999, 1000, 1234, 98765])
def test_tallest_bar_reaches_into_the_top_tick_interval(tallest):
    chart = charts.stacked_bars(bars_of((tallest // 3, tallest - tallest // 3), (1, 0)), title="t", order=ORDER)
    top_of_tallest = chart.columns[0].segments[-1].y
    ticks = chart.y_axis.ticks
    assert ticks[-1].value == chart.y_axis.top >= tallest
    assert ticks[-1].y == chart.frame.plot_top
    # Never above the top tick, and above the one below it: the axis is no taller than it must be.
    assert ticks[-1].y <= top_of_tallest + 0.01
    assert top_of_tallest < ticks[-2].y


def test_a_bar_at_a_round_figure_reaches_the_top_tick_exactly():
    chart = charts.stacked_bars(bars_of((70, 30), (10, 0)), title="t", order=ORDER)
    assert chart.y_axis.top == 100
    assert chart.columns[0].segments[-1].y == chart.frame.plot_top


def test_bars_share_the_width_and_keep_gaps():
    chart = charts.stacked_bars(bars_of(*[(1, 1)] * 4), title="t", order=ORDER)
    xs = [column.segments[0].x for column in chart.columns]
    width = chart.columns[0].segments[0].width
    assert xs == sorted(xs)
    assert all(b - a > width for a, b in pairwise(xs))
    assert xs[0] >= chart.frame.plot_left and xs[-1] + width <= chart.frame.plot_right


# --- Scales -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("maximum", "step", "top"), [
    (1, 1, 1), (3, 1, 3), (6, 1, 6), (7, 2, 8), (12, 2, 12), (13, 5, 15), (87, 20, 100), (101, 20, 120),
    (250, 50, 250), (4321, 1000, 5000),
])
def test_count_ticks_are_round_and_start_at_zero(maximum, step, top):
    axis = charts.y_axis(maximum, charts.Frame(), label="tasks", unit="count", formatter=charts.format_count)
    values = [tick.value for tick in axis.ticks]
    assert values[0] == 0 and axis.top == top
    assert [b - a for a, b in pairwise(values)] == [step] * (len(values) - 1)
    assert 2 <= len(values) <= charts.MAX_Y_INTERVALS + 1


def test_tick_labels_use_the_figures_format_and_ticks_go_up_the_plot():
    axis = charts.y_axis(4321, charts.Frame(), label="tasks", unit="count", formatter=charts.format_count)
    assert [tick.label for tick in axis.ticks] == ["0", "1,000", "2,000", "3,000", "4,000", "5,000"]
    ys = [tick.y for tick in axis.ticks]
    assert ys == sorted(ys, reverse=True)


@pytest.mark.parametrize("maximum", [0.3, 0.0123, 2.5, 17, 333, 8e6])
def test_nice_steps_are_one_two_or_five_times_a_power_of_ten(maximum):
    step = charts.nice_step(maximum)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 9) in {1, 2, 5}
    assert maximum / step <= charts.MAX_Y_INTERVALS + 1e-9
    smaller = {1: 0.5, 2: 1, 5: 2}[round(mantissa, 9)] * step / round(mantissa, 9)
    assert maximum / smaller > charts.MAX_Y_INTERVALS, "a smaller nice step would have done"


def test_counts_never_step_by_fractions():
    assert charts.nice_step(2, unit="count") == 1


def test_percent_ticks():
    axis = charts.y_axis(0.37, charts.Frame(), label="failed", unit="%", formatter=charts.format_percent)
    assert [tick.label for tick in axis.ticks] == ["0%", "10%", "20%", "30%", "40%"]


def test_duration_ticks_are_round_durations():
    axis = charts.y_axis(170_000, charts.Frame(), label="runtime", unit="ms", formatter=charts.format_ms)
    assert [tick.label for tick in axis.ticks] == ["0 ms", "30 s", "1 min", "1.5 min", "2 min", "2.5 min", "3 min"]


MS_PER_UNIT = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}


@pytest.mark.parametrize("maximum", [0.3, 7, 450, 999, 1001, 4500, 61_000, 95_000, 170_000, 3_500_000, 4e6, 2e7, 9e8])
def test_duration_tick_labels_say_exactly_the_duration_they_mark(maximum):
    axis = charts.y_axis(maximum, charts.Frame(), label="runtime", unit="ms", formatter=charts.format_ms)
    for tick in axis.ticks:
        number, unit = tick.label.split()
        assert float(number) * MS_PER_UNIT[unit] == pytest.approx(tick.value), tick.label


def test_a_scale_needs_a_positive_maximum():
    with pytest.raises(ValueError):
        charts.nice_step(0)


# --- X labels ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "shown"), [(1, 1), (8, 8), (10, 10), (12, 6), (30, 10), (60, 10), (96, 10)])
def test_x_labels_are_thinned_to_at_most_ten(count, shown):
    labels = charts.axis_labels([f"l{i}" for i in range(count)], charts.Frame())
    assert len(labels) == shown
    assert labels[0].index == 0 and labels[0].text == "l0"
    strides = {b.index - a.index for a, b in pairwise(labels)}
    assert len(strides) <= 1, "labels are evenly spaced"


@pytest.mark.parametrize("text", ["Thu 08:00", "Nov 25", "2026-11-25 08:00"])
def test_long_x_labels_are_thinned_until_none_touches_the_next(text):
    labels = charts.axis_labels([text] * 168, charts.Frame())
    width = len(text) * charts.LABEL_CHAR_WIDTH
    assert 1 < len(labels) <= charts.MAX_X_LABELS
    assert all(b.x - a.x >= width + charts.LABEL_GAP - 0.5 for a, b in pairwise(labels))


def test_rendered_chart_shows_the_thinned_labels_under_their_bars():
    chart = charts.stacked_bars(bars_of(*[(1, 0)] * 96), title="t", order=ORDER)
    texts = [el for el in parse(render(chart)).find_all("text") if el.has_class("chart-x-label")]
    assert len(texts) == 10
    for text in texts:
        column = chart.columns[int(text.attrs["data-index"])]
        bar = column.segments[0]
        assert float(text.attrs["x"]) == pytest.approx(bar.x + bar.width / 2, abs=0.02)
        assert text.text == f"{column.index:02d}:00"


# --- Rendered bars ----------------------------------------------------------------------------------------------------


def test_each_marks_title_is_its_table_cell():
    chart = charts.stacked_bars(bars_of((1234, 5), (0, 17), (9, 0), states=("SUCCESS", "FAILURE")), title="t",
                                order=ORDER)
    root = parse(render(chart))
    drawn, cells, rows = marks(root), table_cells(root), table_rows(root)
    assert rows == [bar.title for bar in bars_of((0,), (0,), (0,))]
    assert set(cells) == {(state, i) for state in ("SUCCESS", "FAILURE") for i in range(3)}
    assert set(drawn) == {("SUCCESS", 0), ("FAILURE", 0), ("FAILURE", 1), ("SUCCESS", 2)}, "no mark for a zero"
    for (state, index), mark in drawn.items():
        assert mark.child_text("title") == f"{rows[index]} · {state}: {cells[state, index]}"
    assert cells["SUCCESS", 0] == "1,234"
    assert cells["SUCCESS", 1] == "0"
    assert drawn["SUCCESS", 0].child_text("title") == "2026-12-02 00:00–01:00 UTC · SUCCESS: 1,234"


def test_segments_are_coloured_by_their_badges_tone():
    chart = charts.stacked_bars(bars_of((1, 2, 3), states=("SUCCESS", "FAILURE", "STARTED")), title="t", order=ORDER)
    drawn = marks(parse(render(chart)))
    for state in ("SUCCESS", "FAILURE", "STARTED"):
        assert drawn[state, 0].has_class(f"tone-{formatting.STATUS_TONES[state]}")
    assert drawn["FAILURE", 0].has_class("tone-bad") and drawn["SUCCESS", 0].has_class("tone-ok")
    assert "fill=" not in render(chart), "colours come from CSS classes"


def test_state_tones_are_the_badges_mapping():
    assert charts.STATE_TONES is formatting.STATUS_TONES
    assert charts.tone_for("FAILURE") == "bad" and charts.tone_for("SUCCESS") == "ok"
    assert charts.tone_for("made.up") == "other"


def test_links_wrap_their_segments_only():
    bars = [charts.Bar("a", "A", {"SUCCESS": 2, "FAILURE": 1}, links={"FAILURE": "/tasks/?status=FAILURE&a=1"})]
    html = render(charts.stacked_bars(bars, title="t", order=ORDER))
    drawn = marks(parse(html))
    assert drawn["FAILURE", 0].parent.tag == "a"
    assert drawn["FAILURE", 0].parent.attrs["href"] == "/tasks/?status=FAILURE&a=1"
    assert 'href="/tasks/?status=FAILURE&amp;a=1"' in html
    assert drawn["SUCCESS", 0].parent.tag == "g"


def test_svg_is_labelled_scaled_and_captioned():
    html = render(charts.stacked_bars(bars_of((1, 2)), title="Finished per hour", order=ORDER), dom_id="finished")
    root = parse(html)
    figure = next(root.find_all("figure"))
    assert figure.has_class("chart") and figure.attrs["id"] == "finished"
    assert figure.child_text("figcaption") == "Finished per hour"
    svg = next(root.find_all("svg"))
    assert svg.attrs["role"] == "img" and svg.attrs["width"] == "100%"
    assert svg.attrs["viewbox"] == "0 0 640 240"
    assert "preserveaspectratio" in svg.attrs
    title = next(t for t in svg.children if t.tag == "title")
    assert svg.attrs["aria-labelledby"] == title.attrs["id"] == "finished-title"
    assert title.text == "Finished per hour"
    assert [t.text for t in svg.find_all("text") if t.has_class("chart-y-label")] == ["tasks"]
    assert next(root.find_all("details")).has_class("chart-table")


def test_two_charts_on_a_page_get_distinct_ids():
    chart = charts.stacked_bars(bars_of((1, 2)), title="t", order=ORDER)
    html = Template("{% load dashboard_charts %}{% chart a %}{% chart a %}").render(Context({"a": chart}))
    ids = [svg.attrs["aria-labelledby"] for svg in parse(html).find_all("svg")]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_text_is_escaped():
    evil = "<script>alert(1)</script>"
    bars = [charts.Bar(f"<b>{evil}", f"bucket {evil}", {evil: 3}, links={evil: f'/x"onclick="{evil}'})]
    html = render(charts.stacked_bars(bars, title=f"title {evil}", y_label=evil, order=[evil]))
    assert "<script>" not in html and "<b>" not in html
    assert '"onclick=' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    root = parse(html)
    assert next(root.find_all("figcaption")).text == f"title {evil}"
    assert marks(root)[evil, 0].child_text("title") == f"bucket {evil} · {evil}: 3"


def test_coordinates_are_never_localized():
    chart = charts.stacked_bars(bars_of((1, 2), (3, 0), (5, 7)), title="t", order=ORDER)
    with translation.override("de"):
        html = render(chart)
    rect = next(el for el in parse(html).find_all("rect"))
    assert "," not in rect.attrs["x"] and float(rect.attrs["x"]) == chart.columns[0].segments[0].x


@pytest.mark.parametrize("bars", [[], bars_of((0, 0), (0, 0)), [charts.Bar("a", "A", {})]])
def test_no_task_shows_the_empty_state(bars):
    chart = charts.stacked_bars(bars, title="Finished", order=ORDER)
    assert chart.empty
    html = render(chart)
    assert "No tasks finished in this window." in html
    assert "<svg" not in html and "Finished" in html


# --- Lines ------------------------------------------------------------------------------------------------------------

X_LABELS = [f"{h:02d}h" for h in range(7)]
X_TITLES = [f"2026-12-02 {h:02d}:00 UTC" for h in range(7)]


def a_line_chart(*lines, unit="ms"):
    return charts.line_chart(X_LABELS, X_TITLES, list(lines), title="Runtime", y_label="runtime", unit=unit)


def test_none_breaks_the_line_into_polylines():
    chart = a_line_chart(charts.Line("p50", [100, None, 200, 300, None, None, 400], "busy"))
    line = chart.lines[0]
    assert [len(points.split()) for points in line.segments] == [1, 2, 1]
    assert [p.index for p in line.points] == [0, 2, 3, 6]
    polylines = [el for el in parse(render(chart)).find_all("polyline")]
    assert [el.attrs["points"] for el in polylines] == list(line.segments)
    p2, p3 = line.points[1], line.points[2]
    assert line.segments[1] == f"{p2.x},{p2.y} {p3.x},{p3.y}"


def test_runs():
    assert charts.runs([None, 1, 2, None, 3]) == [[1, 2], [4]]
    assert charts.runs([None, None]) == []
    assert charts.runs([0, 0]) == [[0, 1]]


def test_line_points_are_placed_by_value():
    chart = a_line_chart(charts.Line("p95", [0, 500, 1000, None, 250, 750, 1000], "bad"))
    frame, top = chart.frame, chart.y_axis.top
    assert top == 1000
    points = {p.index: p for p in chart.lines[0].points}
    assert points[0].y == frame.plot_bottom and points[2].y == frame.plot_top
    assert points[1].y == pytest.approx((frame.plot_top + frame.plot_bottom) / 2)
    assert [points[i].x for i in sorted(points)] == sorted(points[i].x for i in points)


def test_line_marks_titles_are_their_table_cells():
    chart = a_line_chart(
        charts.Line("p50", [850, 1200, None, 204_000, 30, 0.4, 7_200_000], "busy"),
        charts.Line("p99", [None] * 6 + [8_000_000], "bad"),
    )
    root = parse(render(chart))
    drawn, cells, rows = marks(root), table_cells(root), table_rows(root)
    assert rows == X_TITLES
    assert len(drawn) == 7
    for (series, index), mark in drawn.items():
        assert mark.child_text("title") == f"{X_TITLES[index]} · {series}: {cells[series, index]}"
        assert mark.has_class("chart-point")
    assert [cells["p50", i] for i in range(7)] == ["850 ms", "1.2 s", "—", "3.4 min", "30 ms", "0.4 ms", "2 h"]
    assert cells["p99", 0] == "—" and ("p99", 0) not in drawn


def test_lines_take_their_tone_and_show_in_the_legend():
    chart = a_line_chart(charts.Line("p50", [1] * 7, "busy"), charts.Line("p99", [2] * 7, "other"))
    root = parse(render(chart))
    groups = [g for g in root.find_all("g") if g.has_class("chart-series")]
    assert [(g.attrs["data-series"], g.has_class("tone-busy"), g.has_class("tone-other")) for g in groups] == [
        ("p50", True, False), ("p99", False, True)]
    swatches = [span for span in root.find_all("span") if span.has_class("chart-swatch")]
    assert [s.has_class("tone-busy") for s in swatches] == [True, False]


def test_percent_lines():
    chart = a_line_chart(charts.Line("failed", [0, 0.125, None, 0.5, 1, 0.0004, 0.3333], "bad"), unit="%")
    cells = table_cells(parse(render(chart)))
    assert [cells["failed", i] for i in range(7)] == ["0%", "12.5%", "—", "50%", "100%", "0.04%", "33.3%"]
    assert chart.y_axis.top == 1


def test_all_none_is_empty_but_all_zero_is_a_figure():
    empty = a_line_chart(charts.Line("failed", [None] * 7, "bad"), unit="%")
    assert empty.empty and "No tasks finished in this window." in render(empty)
    assert "<svg" not in render(empty)
    zero = a_line_chart(charts.Line("failed", [0] * 7, "bad"), unit="%")
    assert not zero.empty and zero.y_axis.top > 0
    assert all(p.y == zero.frame.plot_bottom for p in zero.lines[0].points)
    no_x = charts.line_chart([], [], [], title="t", y_label="y", unit="ms")
    assert no_x.empty


def test_line_chart_rejects_bad_input():
    with pytest.raises(ValueError, match="unit"):
        a_line_chart(charts.Line("p50", [1] * 7, "busy"), unit="s")
    with pytest.raises(ValueError, match="one length"):
        a_line_chart(charts.Line("p50", [1] * 6, "busy"))


# --- Formatting -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ms", "text"), [
    (0, "0 ms"), (0.25, "0.25 ms"), (1, "1 ms"), (850, "850 ms"), (999.4, "999 ms"), (999.7, "1 s"),
    (1000, "1 s"), (1234, "1.2 s"), (59_940, "59.9 s"), (59_960, "1 min"), (204_000, "3.4 min"),
    (3_600_000, "1 h"), (9_000_000, "2.5 h"), (-1500, "-1.5 s"),
])
def test_format_ms(ms, text):
    assert charts.format_ms(ms) == text


@pytest.mark.parametrize(("fraction", "text"), [
    (0, "0%"), (1, "100%"), (0.5, "50%"), (0.125, "12.5%"), (0.0004, "0.04%"), (0.00123, "0.12%"), (0.6, "60%"),
    (0.2 * 3, "60%"),
])
def test_format_percent(fraction, text):
    assert charts.format_percent(fraction) == text


def test_format_count_and_number():
    assert charts.format_count(1234567) == "1,234,567"
    assert charts.format_number(1234) == "1,234"
    assert charts.format_number(2.5) == "2.5"
    assert charts.format_number(1.0) == "1"


# --- Sparkline --------------------------------------------------------------------------------------------------------


def test_sparkline_spans_min_to_max():
    spark = charts.sparkline([3, 9, 1, 5], title="Failures per day")
    points = [tuple(map(float, p.split(","))) for p in spark.points.split()]
    assert len(points) == 4
    ys = [y for _, y in points]
    assert ys[1] == min(ys) == charts.SPARK_PAD  # the highest value at the top
    assert ys[2] == max(ys) == spark.height - charts.SPARK_PAD
    assert points[0][0] < points[1][0] < points[2][0] < points[3][0] <= spark.width
    assert (spark.last_x, spark.last_y) == points[-1]
    assert spark.summary == "Failures per day · min 1, max 9, last 5"


def test_rendered_sparkline_is_labelled_by_its_summary():
    html = render(charts.sparkline([1, 2.5, 1200], title="<i>runs</i>"))
    svg = next(parse(html).find_all("svg"))
    title = next(svg.find_all("title"))
    assert svg.attrs["aria-labelledby"] == title.attrs["id"] and svg.attrs["role"] == "img"
    assert title.text == "<i>runs</i> · min 1, max 1,200, last 1,200"
    assert "<i>" not in html
    assert svg.attrs["width"] == "100" and svg.attrs["height"] == "24"


def test_sparkline_of_one_value_is_a_flat_line():
    spark = charts.sparkline([7], title="t")
    points = [tuple(map(float, p.split(","))) for p in spark.points.split()]
    assert len(points) == 2 and points[0][1] == points[1][1] == spark.height / 2
    assert points[0][0] < points[1][0]
    assert spark.summary == "t · min 7, max 7, last 7"


def test_sparkline_of_no_value():
    spark = charts.sparkline([], title="t")
    assert spark.empty
    html = render(spark)
    assert "<svg" not in html and 'title="t: no data"' in html


def test_the_ready_states_a_chart_stacks_each_have_their_own_colour():
    stacked = [states.SUCCESS, states.FAILURE, states.REVOKED, "IGNORED"]
    assert len({charts.tone_for(state) for state in stacked}) == len(stacked)
    assert charts.tone_for(states.REJECTED) == charts.tone_for(states.REVOKED) == "stopped"
