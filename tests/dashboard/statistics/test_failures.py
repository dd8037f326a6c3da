"""Failure groups kept by the pass: every figure equals what fingerprinting the raw FAILURE rows gives.

Random failures of a few causes (``test_rollup.CAUSES``) are counted; each
group's count, first and last seen, sample, names, the row-to-group map
and the per-bucket counts of random windows are compared with the raw
rows fingerprinted here. Also: rows stored again (taken back, moved to
another group), regression after a resolve, and awkward input.
"""
import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from celery import states

from dashboard.fingerprints import fingerprint
from dashboard.models import Bucket, Failure, FailureGroup
from dashboard.statistics import failures, queries, rollup
from dashboard.statistics.buckets import Span, floor_to
from dashboard.statistics.models import Dimension
from results.models import TaskResult

from .test_rollup import NOW, random_failure, random_rows, store

pytestmark = pytest.mark.django_db(transaction=True)


def raw_groups(until=NOW):
    """``{digest: [(date_done, id, task_name, worker)]}`` of the ready FAILURE rows, fingerprinted here."""
    groups = defaultdict(list)
    rows = TaskResult.objects.filter(status=states.FAILURE, date_done__lte=until - timedelta(seconds=5))
    for row in rows:
        exception_type, message = failures.stored_exception(row.result, row.content_type, row.content_encoding)
        digest = fingerprint(row.traceback, exception_type, message).digest
        groups[digest].append((row.date_done, row.id, row.task_name or "", row.worker or ""))
    return groups


def assert_groups_exact(until=NOW, restored=False):
    """Each group as the raw rows say; after rows were ``restored`` (stored again), what was seen stays seen:
    first and last seen and the names only ever widen."""
    raw = raw_groups(until)
    stored = {group.digest: group for group in FailureGroup.objects.filter(count__gt=0)}
    assert set(stored) == set(raw)
    for digest, rows in raw.items():
        group = stored[digest]
        assert group.count == len(rows), digest
        if restored:
            assert group.first_seen <= min(rows)[0] and group.last_seen >= max(rows)[0]
            assert set(group.task_names.split("\n")) >= {name for *_x, name, _w in rows if name}
            continue
        assert group.first_seen == min(rows)[0] and (group.last_seen, group.sample_row_id) == max(rows)[:2]
        assert group.task_names.split("\n") == sorted({name for *_x, name, _w in rows if name})[:20]
        assert group.workers == "\n".join(sorted({worker for *_x, worker in rows if worker}))
    mapped = dict(Failure.objects.values_list("row_id", "digest"))
    assert mapped == {row_id: digest for digest, rows in raw.items() for _done, row_id, *_names in rows}


def test_every_group_and_its_buckets_equal_the_raw_failures_fingerprinted():
    rng = random.Random(4)
    store(random_rows(rng, 900, NOW - timedelta(seconds=10), spread=timedelta(days=2)))
    rollup.catch_up(now=NOW)
    assert_groups_exact()
    raw = raw_groups()
    assert len(raw) >= 5
    for _ in range(20):
        end = floor_to(NOW - timedelta(minutes=rng.randint(0, 3000)), timedelta(minutes=1))
        span = Span(end - timedelta(minutes=rng.choice([60, 360, 1440])), end)
        digest = rng.choice(sorted(raw))
        expected = sum(1 for done, *_rest in raw[digest] if span.start <= done < span.end)
        figures = queries.figures(span, Dimension.FAILURE, digest)
        assert figures.counts.get(states.FAILURE, 0) == expected, (span, digest)
        assert set(figures.counts) <= {states.FAILURE}


def test_a_failure_stored_again_leaves_its_group_or_moves_to_another():
    rng = random.Random(5)
    store(random_rows(rng, 300, NOW - timedelta(seconds=10), spread=timedelta(hours=6)))
    rollup.catch_up(now=NOW)
    failed = list(TaskResult.objects.filter(status=states.FAILURE).order_by("id")[:6])
    later = NOW + timedelta(minutes=1)
    for row in failed[:3]:  # delivered again, and this time it worked
        row.status, row.traceback, row.result, row.date_done = states.SUCCESS, None, "null", later
    for row in failed[3:]:  # failed again, of another cause
        row.traceback, row.result = random_failure(random.Random(row.id))
        row.date_done = later
    TaskResult.objects.bulk_update(failed, ["status", "traceback", "result", "date_done"])
    result = rollup.run_pass(now=later + timedelta(seconds=10))
    assert result.recounted == 6
    assert_groups_exact(later + timedelta(seconds=10), restored=True)
    assert not Failure.objects.filter(row_id__in=[row.id for row in failed[:3]]).exists()
    taken_back = Bucket.objects.filter(dimension=Dimension.FAILURE, granularity="d").values_list("count", flat=True)
    assert sum(taken_back) == TaskResult.objects.filter(status=states.FAILURE).count()


def test_a_resolved_group_that_fails_again_is_regressed_but_not_for_a_failure_from_before():
    rng = random.Random(6)
    store(random_rows(rng, 200, NOW - timedelta(seconds=10), spread=timedelta(hours=1)))
    rollup.catch_up(now=NOW)
    group = FailureGroup.objects.order_by("-count").first()
    FailureGroup.objects.filter(pk=group.pk).update(state=FailureGroup.State.RESOLVED, resolved_at=NOW)
    sample = TaskResult.objects.get(id=group.sample_row_id)

    def fail_again(task_id, done):
        TaskResult.objects.create(
            task_id=task_id, task_name=sample.task_name, status=states.FAILURE, traceback=sample.traceback,
            result=sample.result, content_type=sample.content_type, content_encoding=sample.content_encoding,
            date_done=done,
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TaskResult._meta.get_field("date_done"), "auto_now", False)
        fail_again("before-the-fix", NOW - timedelta(seconds=2))  # counted late (the lag), but from before
        rollup.run_pass(now=NOW + timedelta(seconds=10))
        group.refresh_from_db()
        assert group.state == FailureGroup.State.RESOLVED
        fail_again("after-the-fix", NOW + timedelta(seconds=20))
        rollup.run_pass(now=NOW + timedelta(seconds=40))
    group.refresh_from_db()
    assert group.state == FailureGroup.State.REGRESSED and group.state_changed is not None
    assert group.count == len(raw_groups(NOW + timedelta(seconds=40))[group.digest])


@pytest.mark.parametrize(
    ("traceback", "result"),
    [
        ("x" * 1_000_000, None),  # a megabyte of text that is no traceback
        ("Traceback (most recent call last):\n" + '  File "/srv/app/a.py", line 1, in f\n    g()\n' * 20_000
         + "RecursionError: maximum recursion depth exceeded", None),
        (None, '{"exc_type": "<b>Bold</b>", "exc_message": ["1234567890"]}'),
        (None, '{"exc_type": 7, "exc_message": {"nested": ["deep"]}}'),  # not what Celery stores
        (None, "not json at all {"),
        ("", ""),
    ],
    ids=["megabyte", "deep-recursion", "html-and-digits", "odd-json", "not-json", "empty"],
)
def test_awkward_failures_are_grouped_and_counted(traceback, result):
    TaskResult.objects.create(task_id="odd", status=states.FAILURE, traceback=traceback, result=result,
                              content_type="application/json", content_encoding="utf-8")
    rollup.catch_up(now=TaskResult.objects.get().date_done + timedelta(seconds=10))
    group = FailureGroup.objects.get()
    assert group.count == 1 and len(group.message) <= 300
    assert Counter(Failure.objects.values_list("digest", flat=True)) == {group.digest: 1}
