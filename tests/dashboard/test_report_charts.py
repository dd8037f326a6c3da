"""``dashboard.report_charts``: the insights' charts built from a series of bars."""
from collections import Counter
from datetime import UTC, datetime

import pytest

from dashboard import report_charts
from dashboard.statistics.buckets import LINE_POINTS, WINDOWS, chart_buckets, line_step, window_span
from dashboard.statistics.queries import SeriesPoint

NOW = datetime(2026, 12, 2, 13, 37, tzinfo=UTC)


def bars(window_name, counts_of):
    window = WINDOWS[window_name]
    starts = chart_buckets(window, window_span(window, NOW))
    return window, [SeriesPoint(start, Counter(counts_of(i)), Counter(), Counter()) for i, start in enumerate(starts)]


@pytest.mark.parametrize("window_name", list(WINDOWS))
def test_the_failure_rate_is_read_over_a_few_bars_at_most_48_points(window_name, settings):
    settings.TIME_ZONE = "UTC"
    window, series = bars(window_name, lambda i: {"SUCCESS": i % 3, "FAILURE": 1 if i % 5 == 0 else 0})
    chart = report_charts.failure_rate(series, window, "rate")
    step = line_step(window)
    assert len(chart.rows) == -(-len(series) // step) <= LINE_POINTS
    for row, first in zip(chart.rows, range(0, len(series), step), strict=True):
        part = series[first : first + step]
        finished = sum(sum(bar.counts.values()) for bar in part)
        failed = sum(bar.counts["FAILURE"] for bar in part)
        expected = "—" if not finished else report_charts.charts.format_percent(failed / finished)
        assert row.cells[0].text == expected
        assert row.title.startswith(f"{part[0].start:%Y-%m-%d}")


def test_a_point_of_seven_days_stands_for_four_hours_and_says_so(settings):
    settings.TIME_ZONE = "UTC"
    window, series = bars("7d", lambda i: {"SUCCESS": 1})
    chart = report_charts.failure_rate(series, window, "rate")
    first = series[0].start
    assert chart.rows[0].title == f"{first:%Y-%m-%d %H:%M}–{first.hour + 4:02d}:00 UTC"
