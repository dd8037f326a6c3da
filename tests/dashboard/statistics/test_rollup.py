"""The statistics pass: every figure equals a direct aggregate over the raw rows.

Random rows (task names, workers, periodic tasks, states, durations) are
counted, then random windows and keys are compared with ``COUNT(*)``
over the results table, and the percentiles with the exact ones within the
histograms' stated error. Also: increments, rows stored again, the lag,
a failed pass, two passes at once and rows stored while passes run.
"""
import json
import math
import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from celery import states
from django.db import connections
from django.db.models import Count

from dashboard import reports
from dashboard.models import Bucket, CountedTask, RollupState
from dashboard.statistics import histogram, queries, rollup
from dashboard.statistics.buckets import LINE_POINTS, WINDOWS, Span, floor_to, line_step, window_span
from dashboard.statistics.models import Dimension
from demo.seed import dates_as_given
from results.models import TaskResult

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 6, 15, 12, 0, 30, tzinfo=UTC)
TASK_NAMES = ["shop.charge", "shop.invoice", "mail.send", "report.build"]
WORKERS = ["celery@a", "celery@b", "celery@c"]
PERIODIC = ["", "", "", "nightly", "hourly-sync"]
STATUSES = [states.SUCCESS] * 6 + [states.FAILURE] * 2 + [states.REVOKED, states.STARTED, states.RETRY]


def random_rows(rng, count, until, spread=timedelta(days=3), prefix="t"):
    rows = []
    for i in range(count):
        done = until - timedelta(seconds=rng.random() * spread.total_seconds())
        started = done - timedelta(milliseconds=rng.lognormvariate(4, 1.2)) if rng.random() > 0.1 else None
        created = (started or done) - timedelta(milliseconds=rng.lognormvariate(3, 1.5))
        rows.append(
            TaskResult(
                task_id=f"{prefix}-{i}-{rng.getrandbits(32)}",
                task_name=rng.choice(TASK_NAMES + [None]),
                worker=rng.choice(WORKERS),
                periodic_task_name=rng.choice(PERIODIC) or None,
                status=rng.choice(STATUSES),
                date_created=created,
                date_started=started,
                date_done=done,
                content_type="application/json",
                content_encoding="utf-8",
            )
        )
        if rows[-1].status == states.FAILURE:
            rows[-1].traceback, rows[-1].result = random_failure(rng)
    return rows


#: Causes of the random failures: (exception, message with a variable part, project file and function).
CAUSES = [
    ("KeyError", "'sku-{n}'", "shop/prices.py", "price_of"),
    ("ValueError", "order {n} has no lines", "shop/orders.py", "total"),
    ("ValueError", "order {n} has no lines", "shop/refunds.py", "refund"),  # the same error elsewhere: its own
    ("ConnectionError", "mail server at 10.0.0.{n}:25 refused", "mail/smtp.py", "deliver"),
]


def random_failure(rng):
    """``(traceback, result)`` of a failure: one of ``CAUSES``, or (rarely) only its stored exception."""
    exception, message, path, function = rng.choice(CAUSES)
    message = message.format(n=rng.randint(1, 10**6))
    result = json.dumps({"exc_type": exception, "exc_message": [message], "exc_module": "builtins"})
    if rng.random() < 0.1:
        return None, result
    return (
        "Traceback (most recent call last):\n"
        '  File "/venv/lib/python3.11/site-packages/celery/app/trace.py", line 453, in trace_task\n'
        "    R = retval = fun(*args, **kwargs)\n"
        f'  File "/srv/app/{path}", line {rng.randint(10, 90)}, in {function}\n'
        "    return do()\n"
        f"{exception}: {message}\n"
    ), result


def store(rows):
    with dates_as_given(TaskResult):
        TaskResult.objects.bulk_create(rows, batch_size=500)


def raw_counts(span, dimension=Dimension.ALL, key=""):
    rows = TaskResult.objects.filter(
        status__in=rollup.READY_STATES, date_done__gte=span.start, date_done__lt=span.end
    )
    column = {Dimension.TASK_NAME: "task_name", Dimension.WORKER: "worker", Dimension.PERIODIC: "periodic_task_name"}
    if dimension != Dimension.ALL:
        rows = rows.filter(**{column[dimension]: key})
    return Counter(dict(rows.values_list("status").annotate(n=Count("id")).values_list("status", "n")))


def raw_runtimes(span, task_name):
    rows = TaskResult.objects.filter(
        status__in=rollup.READY_STATES,
        date_done__gte=span.start,
        date_done__lt=span.end,
        task_name=task_name,
        date_started__isnull=False,
    ).values_list("date_done", "date_started")
    return sorted(milliseconds(done, started) for done, started in rows)


def milliseconds(later, earlier):
    """A duration as Python's datetimes give it, in milliseconds, never below 0: what the pass must match."""
    return max((later - earlier).total_seconds() * 1000, 0.0)


def random_span(rng):
    end = floor_to(NOW, timedelta(minutes=1)) - timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
    return Span(end - timedelta(minutes=rng.randrange(1, 3 * 24 * 60)), end)


def random_key(rng):
    dimension = rng.choice([Dimension.ALL, Dimension.TASK_NAME, Dimension.WORKER, Dimension.PERIODIC])
    keys = {Dimension.ALL: [""], Dimension.TASK_NAME: TASK_NAMES, Dimension.WORKER: WORKERS}
    return dimension, rng.choice(keys.get(dimension, [p for p in PERIODIC if p]))


def assert_exact(rng, spans=40):
    for _ in range(spans):
        span = random_span(rng)
        dimension, key = random_key(rng)
        assert queries.counts(span, dimension, key) == raw_counts(span, dimension, key), (span, dimension, key)
        assert queries.figures(span, dimension, key).counts == raw_counts(span, dimension, key)


def assert_trends_exact(rng, spans=12):
    """Each key's tasks finished per step (a sparkline), for every step the pages use, equal the raw rows'."""
    for _ in range(spans):
        span = random_span(rng)
        dimension, _key = random_key(rng)
        step = rng.choice(sorted(set(reports.TREND_STEPS.values())))
        figures, trends = queries.figures_and_trends(span, dimension, step)
        assert figures == queries.figures_by_key(span, dimension)
        status = rng.choice(sorted(rollup.READY_STATES))  # each key's total in one state, summed by the database
        assert queries.totals_by_key(span, dimension, status) == {
            key: figure.counts[status] for key, figure in figures.items() if figure.counts[status]}
        assert set(trends) == set(figures)
        first = floor_to(span.start, step)
        for key, trend in trends.items():
            for i, count in enumerate(trend):
                part = Span(max(span.start, first + i * step), min(span.end, first + (i + 1) * step))
                assert count == raw_counts(part, dimension, key).total(), (span, step, dimension, key, i)
            assert first + len(trend) * step >= span.end > first + (len(trend) - 1) * step


def test_every_count_equals_the_raw_aggregate_for_random_windows_and_keys():
    rng = random.Random(1)
    store(random_rows(rng, 1500, NOW - timedelta(seconds=10)))
    assert rollup.catch_up(now=NOW) == TaskResult.objects.filter(status__in=rollup.READY_STATES).count()
    assert_exact(rng)
    assert_trends_exact(rng)
    assert queries.counts(Span(NOW - timedelta(days=4), NOW + timedelta(days=1))) == raw_counts(
        Span(NOW - timedelta(days=4), NOW + timedelta(days=1))
    )


def test_percentiles_are_within_the_histograms_error():
    rng = random.Random(2)
    store(random_rows(rng, 2000, NOW - timedelta(seconds=10)))
    rollup.catch_up(now=NOW)
    span = Span(NOW - timedelta(days=4), NOW + timedelta(minutes=1))
    for task_name in TASK_NAMES:
        exact = raw_runtimes(span, task_name)
        runtime = queries.figures(span, Dimension.TASK_NAME, task_name).runtime
        for fraction in (0.5, 0.95, 0.99):
            expected = exact[max(1, math.ceil(fraction * len(exact))) - 1]
            found = histogram.percentile(runtime, fraction)
            assert abs(found - expected) <= max(expected * histogram.RELATIVE_ERROR, histogram.SMALLEST) + 1e-6


@pytest.mark.parametrize("window_name", list(WINDOWS))
def test_a_task_names_bars_lines_and_total_equal_the_raw_rows(window_name):
    rng = random.Random(8)
    store(random_rows(rng, 800, NOW - timedelta(seconds=10), spread=timedelta(days=2)))
    rollup.catch_up(now=NOW)
    window, name = WINDOWS[window_name], "shop.charge"
    span = window_span(window, NOW - timedelta(minutes=1))
    chart = queries.series_with_durations(window, span, Dimension.TASK_NAME, name)
    for bar in chart.bars:
        assert bar.counts == raw_counts(Span(bar.start, bar.start + window.bucket), Dimension.TASK_NAME, name)
    length = window.bucket * line_step(window)
    assert len(chart.lines) <= LINE_POINTS and chart.lines[0].start == span.start
    for point in chart.lines:
        part = Span(point.start, min(point.start + length, span.end))
        assert point.counts == raw_counts(part, Dimension.TASK_NAME, name)
        assert point.runtime == Counter(histogram.bin_of(ms) for ms in raw_runtimes(part, name))
    assert chart.total == queries.figures(span, Dimension.TASK_NAME, name)


def test_every_window_and_the_one_before_it_is_exact_once_old_figures_are_pruned():
    """The retention of each granularity (minutes a day, quarter hours three) is all the windows ever read."""
    rng = random.Random(9)
    store(random_rows(rng, 1500, NOW - timedelta(seconds=10), spread=timedelta(days=5)))
    rollup.catch_up(now=NOW)
    while rollup.prune(now=NOW):
        pass
    assert not Bucket.objects.filter(granularity="m", start__lt=NOW - timedelta(days=1)).exists()
    for name, window in WINDOWS.items():
        period = reports.Period.of(window, NOW)
        for span in (period.span, period.previous):
            for dimension, key in [(Dimension.ALL, ""), (Dimension.TASK_NAME, "mail.send")]:
                assert queries.figures(span, dimension, key).counts == raw_counts(span, dimension, key), name
        for bar in queries.series(window, period.span):
            assert bar.counts == raw_counts(Span(bar.start, bar.start + window.bucket)), (name, bar.start)
        figures, trends = queries.figures_and_trends(period.span, Dimension.WORKER, reports.TREND_STEPS[name])
        for worker, trend in trends.items():
            assert sum(trend) == raw_counts(period.span, Dimension.WORKER, worker).total() == figures[worker].finished


def test_passes_are_incremental_and_bounded():
    rng = random.Random(3)
    store(random_rows(rng, 700, NOW - timedelta(seconds=10)))
    first = rollup.run_pass(limit=300, now=NOW)
    assert first.rows == 300 and not first.caught_up
    rollup.catch_up(now=NOW)
    store(random_rows(rng, 300, NOW + timedelta(minutes=5), spread=timedelta(minutes=4), prefix="later"))
    later = NOW + timedelta(minutes=6)
    rollup.catch_up(now=later)
    assert RollupState.objects.get().updated == later
    assert_exact(rng)


def test_rows_younger_than_the_lag_wait_for_the_next_pass(settings):
    settings.DASHBOARD = {**settings.DASHBOARD, "STATISTICS_LAG": 30}
    rng = random.Random(4)
    young = random_rows(rng, 50, NOW, spread=timedelta(seconds=20), prefix="young")
    for row in young:
        row.status = states.SUCCESS
    store(young)
    assert rollup.run_pass(now=NOW).rows == 0
    assert rollup.run_pass(now=NOW + timedelta(seconds=31)).rows == 50


def test_a_row_stored_again_moves_its_figures():
    rng = random.Random(5)
    store(random_rows(rng, 200, NOW - timedelta(hours=2), spread=timedelta(hours=1)))
    rollup.catch_up(now=NOW)
    row = TaskResult.objects.filter(status=states.SUCCESS).exclude(task_name=None).first()
    old_done = row.date_done
    with dates_as_given(TaskResult):
        TaskResult.objects.filter(pk=row.pk).update(
            status=states.REVOKED, worker="celery@elsewhere", date_done=NOW - timedelta(minutes=1)
        )
    result = rollup.catch_up(now=NOW + timedelta(minutes=1))
    assert result == 1
    everything = Span(NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert queries.counts(everything) == raw_counts(everything)
    assert queries.counts(everything, Dimension.WORKER, "celery@elsewhere") == Counter({states.REVOKED: 1})
    minute = floor_to(old_done, timedelta(minutes=1))
    old_minute = Span(minute, minute + timedelta(minutes=1))
    assert queries.counts(old_minute) == raw_counts(old_minute)
    assert CountedTask.objects.get(pk=row.pk).status == states.REVOKED


def test_a_failed_pass_counts_nothing_and_the_next_counts_everything(monkeypatch):
    rng = random.Random(6)
    store(random_rows(rng, 400, NOW - timedelta(seconds=10)))
    real_apply = rollup.Deltas.apply

    def apply_then_fail(self, using):
        real_apply(self, using)
        raise RuntimeError("killed mid-pass")

    monkeypatch.setattr(rollup.Deltas, "apply", apply_then_fail)
    with pytest.raises(RuntimeError):
        rollup.run_pass(now=NOW)
    assert not Bucket.objects.exists() and RollupState.objects.get().done_until is None
    monkeypatch.setattr(rollup.Deltas, "apply", real_apply)
    rollup.catch_up(now=NOW)
    assert_exact(rng, spans=15)


def test_two_passes_at_once_count_every_row_once():
    rng = random.Random(7)
    store(random_rows(rng, 3000, NOW - timedelta(seconds=10)))
    errors = []

    def passes():
        try:
            for _ in range(30):
                rollup.run_pass(limit=200, now=NOW)
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=passes) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rollup.catch_up(now=NOW)
    assert RollupState.objects.get().counted == TaskResult.objects.filter(status__in=rollup.READY_STATES).count()
    assert_exact(rng, spans=20)


def test_rows_stored_while_passes_run_are_all_counted():
    rng = random.Random(8)
    clock = [NOW]
    stop = threading.Event()

    def writer():
        try:
            local = random.Random(9)
            for batch in range(15):
                clock[0] = clock[0] + timedelta(seconds=20)
                store(random_rows(local, 40, clock[0], spread=timedelta(seconds=15), prefix=f"w{batch}"))
        finally:
            stop.set()
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    while not stop.is_set():
        rollup.run_pass(limit=50, now=clock[0])
    thread.join()
    rollup.catch_up(now=clock[0] + timedelta(minutes=1))
    assert RollupState.objects.get().counted == TaskResult.objects.filter(status__in=rollup.READY_STATES).count()
    assert_exact(rng, spans=10)


def test_expired_results_leave_the_figures_and_old_figures_are_pruned(settings):
    rng = random.Random(10)
    store(random_rows(rng, 300, NOW - timedelta(seconds=10)))
    rollup.catch_up(now=NOW)
    everything = Span(NOW - timedelta(days=5), NOW + timedelta(days=1))
    before = queries.counts(everything)
    TaskResult.objects.delete_expired(0)
    assert not TaskResult.objects.exists()
    assert queries.counts(everything) == before
    settings.DASHBOARD = {**settings.DASHBOARD, "STATISTICS_PRUNE_BATCH": 100_000}
    rollup.prune(now=NOW + timedelta(days=100))
    assert not Bucket.objects.exists() and not CountedTask.objects.exists()
