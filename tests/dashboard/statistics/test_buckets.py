"""Time buckets and windows: spans end with a whole chart bucket; tiles cover a span exactly."""
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.statistics import buckets
from dashboard.statistics.buckets import DAY, HOUR, MINUTE, Span, Tile


def at(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("name", list(buckets.WINDOWS))
def test_a_window_ends_with_the_bucket_now_falls_in(name):
    window = buckets.WINDOWS[name]
    now = at(2026, 3, 14, 15, 9, 26)
    span = buckets.window_span(window, now)
    assert span.end - span.start == window.length
    assert span.start < now < span.end <= now + window.bucket
    bars = buckets.chart_buckets(window, span)
    assert bars[0] == span.start and bars[-1] + window.bucket == span.end
    assert len(bars) == window.length // window.bucket
    assert buckets.previous_span(span) == Span(span.start - window.length, span.start)


def covered_minutes(tiles):
    minutes = set()
    for tile in tiles:
        step = buckets.GRANULARITY_LENGTH[tile.granularity]
        moment = tile.start
        while moment < tile.end:
            assert buckets.bucket_start(moment, tile.granularity) == moment, "a tile starts on its granularity"
            for minute in range(int(step / timedelta(minutes=1))):
                minutes.add(moment + timedelta(minutes=minute))
            moment += step
    return minutes


@pytest.mark.parametrize(
    "start, end",
    [
        (at(2026, 3, 1, 10, 17), at(2026, 3, 31, 2, 44)),
        (at(2026, 3, 1, 10, 17), at(2026, 3, 1, 10, 44)),
        (at(2026, 3, 1, 10, 17), at(2026, 3, 1, 13, 2)),
        (at(2026, 3, 1, 0, 0), at(2026, 3, 3, 0, 0)),
    ],
)
def test_tiles_cover_a_span_exactly_once_with_few_rows(start, end):
    tiles = buckets.tiles(Span(start, end))
    minutes = covered_minutes(tiles)
    expected = {start + timedelta(minutes=i) for i in range(int((end - start) / timedelta(minutes=1)))}
    assert minutes == expected
    assert sum(len(range(int((t.end - t.start) / buckets.GRANULARITY_LENGTH[t.granularity]))) for t in tiles) < 300


def test_a_whole_day_is_one_day_tile():
    assert buckets.tiles(Span(at(2026, 3, 1), at(2026, 3, 2))) == [Tile(DAY, at(2026, 3, 1), at(2026, 3, 2))]
    two_hours = Span(at(2026, 3, 1, 5), at(2026, 3, 1, 7))
    assert buckets.tiles(two_hours) == [Tile(HOUR, *two_hours)]
    assert buckets.tiles(Span(at(2026, 3, 1, 5, 1), at(2026, 3, 1, 5, 3))) == [
        Tile(MINUTE, at(2026, 3, 1, 5, 1), at(2026, 3, 1, 5, 3))
    ]


def test_a_percentile_line_has_at_most_its_points_each_a_whole_number_of_bars():
    steps = {name: buckets.line_step(window) for name, window in buckets.WINDOWS.items()}
    assert steps == {"1h": 2, "6h": 2, "24h": 2, "7d": 4, "30d": 1}
    for name, window in buckets.WINDOWS.items():
        bars, step = window.length // window.bucket, steps[name]
        assert -(-bars // step) <= buckets.LINE_POINTS  # at most that many points
        assert step == 1 or -(-bars // (step - 1)) > buckets.LINE_POINTS  # with the fewest bars each
