"""The dashboard's figures in Prometheus' text format (``/metrics``), read from the statistics store.

Names and labels follow celery-exporter's where the meaning is the same,
so its Grafana dashboards mostly work:

- ``celery_task_succeeded_total``, ``celery_task_failed_total``,
  ``celery_task_revoked_total`` (counters, label ``name``): tasks finished in
  that state since the statistics began. celery-exporter also labels them
  with ``hostname``; the statistics keep task names and workers apart, so
  the workers have series of their own (below).
- ``celery_task_runtime`` and ``celery_task_queue_wait`` (histograms, in
  seconds, label ``name``). Their ``le`` buckets are read off the
  statistics' log-scale bins: a bin counts in the first bucket its upper
  edge fits, so a bucket may lag its exact count by the durations of one
  bin (within 10 % of its bound); ``_sum`` adds each bin's middle value.
- ``celery_worker_last_result_timestamp_seconds`` (gauge, ``hostname``):
  when each worker last stored a result (alert on a worker gone quiet).
- ``celery_chords_running`` and ``celery_chord_oldest_age_seconds``,
  ``celery_failure_groups`` (label ``state``), ``celery_results_rows_estimate``
  (the database's estimate, never a count) and
  ``celery_statistics_age_seconds`` (how old the figures are).

Counters never go back: the totals are the day buckets kept plus what
pruning retired (``RetiredTotal``). Nothing here reads the results table
but for its size estimate.
"""
from collections import Counter
from collections.abc import Iterator

from django.db.models import Count
from django.utils import timezone

from results.counting import estimated_table_rows
from results.models import ChordCounter, TaskResult

from . import chords
from .statistics import histogram
from .statistics.buckets import DAY
from .statistics.models import Activity, Bucket, Dimension, FailureGroup, RetiredTotal, RollupState

#: The counters of tasks finished, by state.
COUNTERS = {
    "SUCCESS": ("celery_task_succeeded_total", "Tasks finished in SUCCESS since the statistics began."),
    "FAILURE": ("celery_task_failed_total", "Tasks finished in FAILURE since the statistics began."),
    "REVOKED": ("celery_task_revoked_total", "Tasks finished in REVOKED since the statistics began."),
}
#: Histogram bounds in seconds (Prometheus' ``le``), from 5 ms to an hour.
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def task_totals() -> dict[str, dict]:
    """``{task name: {"counts": Counter by state, "runtime": packed, "wait": packed}}`` since the beginning."""
    totals = {}
    day_buckets = Bucket.objects.filter(granularity=DAY, dimension=Dimension.TASK_NAME)
    retired = RetiredTotal.objects.filter(dimension=Dimension.TASK_NAME)
    for rows in (day_buckets, retired):
        for key, status, count, runtime, wait in rows.values_list("key", "status", "count", "runtime", "wait"):
            total = totals.setdefault(key, {"counts": Counter(), "runtime": 0, "wait": 0})
            total["counts"][status] += count
            total["runtime"] += histogram.packed(runtime) if runtime else 0
            total["wait"] += histogram.packed(wait) if wait else 0
    return totals


def render() -> str:
    """The whole exposition, one metric family after another."""
    return "".join(line + "\n" for line in lines())


def lines() -> Iterator[str]:
    totals = task_totals()
    names = sorted(totals)
    for status, (metric, help_text) in COUNTERS.items():
        yield from header(metric, "counter", help_text)
        for name in names:
            yield f"{metric}{labels(name=name)} {totals[name]['counts'][status]}"
    for field, metric, what in (("runtime", "celery_task_runtime", "Task runtimes"),
                                ("wait", "celery_task_queue_wait", "Time tasks waited in the queue")):
        yield from header(metric, "histogram", f"{what} in seconds, from the statistics' log-scale bins.")
        for name in names:
            yield from histogram_lines(metric, name, histogram.unpack(totals[name][field]))

    yield from header("celery_worker_last_result_timestamp_seconds", "gauge",
                      "When each worker last stored a result (Unix time).")
    for key, last_done in Activity.objects.filter(dimension=Dimension.WORKER).order_by("key").values_list(
            "key", "last_done"):
        yield f"celery_worker_last_result_timestamp_seconds{labels(hostname=key)} {last_done.timestamp():.3f}"

    running = ChordCounter.objects.count()  # running chords only: a small table
    yield from header("celery_chords_running", "gauge", "Chords whose header tasks are still being counted.")
    yield f"celery_chords_running {running}"
    oldest = [chord.age for chord in chords.running_chords()[0][:1] if chord.age is not None]
    yield from header("celery_chord_oldest_age_seconds", "gauge",
                      "Age of the oldest running chord (from its first header task stored).")
    if oldest:
        yield f"celery_chord_oldest_age_seconds {oldest[0].total_seconds():.3f}"

    yield from header("celery_failure_groups", "gauge", "Failure groups (causes) by the operators' state.")
    by_state = dict(FailureGroup.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    for state in FailureGroup.State.values:
        yield f"celery_failure_groups{labels(state=state)} {by_state.get(state, 0)}"

    estimate = estimated_table_rows(TaskResult)
    yield from header("celery_results_rows_estimate", "gauge",
                      "The results table's size, as the database estimates it.")
    if estimate is not None:
        yield f"celery_results_rows_estimate {estimate}"

    state = RollupState.objects.filter(pk=1).values_list("updated", flat=True).first()
    yield from header("celery_statistics_age_seconds", "gauge",
                      "Seconds since the statistics were last brought up to date.")
    if state is not None:
        age = max((timezone.now() - state).total_seconds(), 0.0)  # a pass's clock may run a little ahead
        yield f"celery_statistics_age_seconds {age:.3f}"


def histogram_lines(metric, name, bins: Counter) -> Iterator[str]:
    """One name's ``_bucket`` lines (cumulative, ``+Inf`` last), ``_sum`` and ``_count``."""
    ordered = sorted(bins.items())
    total = sum(bins.values())
    seconds = sum(count * histogram.bin_value(b) for b, count in ordered) / 1000
    i, cumulative = 0, 0
    for bound in BOUNDS:
        while i < len(ordered) and upper_edge_seconds(ordered[i][0]) <= bound:
            cumulative += ordered[i][1]
            i += 1
        yield f"{metric}_bucket{labels(name=name, le=format_bound(bound))} {cumulative}"
    yield f"{metric}_bucket{labels(name=name, le='+Inf')} {total}"
    yield f"{metric}_sum{labels(name=name)} {seconds:.6f}"
    yield f"{metric}_count{labels(name=name)} {total}"


def upper_edge_seconds(bin_number: int) -> float:
    """The largest duration bin ``bin_number`` may hold, in seconds (its durations are below it)."""
    if bin_number >= histogram.LAST_BIN:
        return float("inf")
    return histogram.SMALLEST * histogram.RATIO ** bin_number / 1000


def format_bound(bound) -> str:
    return f"{bound:g}"


def header(metric, kind, help_text) -> Iterator[str]:
    yield f"# HELP {metric} {help_text}"
    yield f"# TYPE {metric} {kind}"


def escape(value: str) -> str:
    """A label value as the text format writes it: backslash, double quote and new line escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(**values) -> str:
    return "{" + ",".join(f'{key}="{escape(value)}"' for key, value in values.items()) + "}"
