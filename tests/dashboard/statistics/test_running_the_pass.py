"""Where the pass runs: the Celery task, ``manage.py rollup``, and a page finding its figures stale."""
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from celery import states
from django.core.management import call_command
from django.utils import timezone

from dashboard import tasks
from dashboard.models import Bucket, RollupState
from dashboard.statistics import freshness, queries
from dashboard.statistics.buckets import Span
from demo.seed import dates_as_given
from results.models import TaskResult

pytestmark = pytest.mark.django_db(transaction=True)


def seed(count, age=timedelta(minutes=5), status=states.SUCCESS):
    done = timezone.now() - age
    with dates_as_given(TaskResult):
        TaskResult.objects.bulk_create(
            TaskResult(task_id=f"r-{status}-{i}-{age.total_seconds()}", task_name="app.add", status=status,
                       date_created=done, date_done=done)
            for i in range(count)
        )


def total():
    return sum(queries.counts(Span(timezone.now() - timedelta(days=2), timezone.now() + timedelta(days=1))).values())


def test_the_celery_task_counts_until_caught_up(settings):
    settings.DASHBOARD = {**settings.DASHBOARD, "STATISTICS_PASS_ROWS": 40}
    seed(100)
    assert tasks.rollup_statistics.run() == 100
    assert total() == 100
    assert tasks.rollup_statistics.run() == 0


def test_the_command_counts_rebuilds_and_reports_progress():
    seed(30)
    err, out = StringIO(), StringIO()
    call_command("rollup", stdout=out, stderr=err)
    assert "30 rows counted" in err.getvalue() and "Statistics up to" in out.getvalue()
    assert total() == 30
    call_command("rollup", "--rebuild", stdout=StringIO(), stderr=StringIO())
    assert total() == 30 and RollupState.objects.get().counted == 30


def test_a_page_catches_up_when_the_figures_are_stale(settings):
    settings.DASHBOARD = {**settings.DASHBOARD, "STATISTICS_PAGE_PASS_ROWS": 25, "STATISTICS_STALE": 30}
    seed(60)
    first = freshness.ensure_fresh()
    assert first.updated is not None and not first.caught_up and total() == 25
    assert freshness.ensure_fresh().updated == first.updated, "fresh figures: no pass"
    later = timezone.now() + timedelta(seconds=31)
    assert freshness.ensure_fresh(now=later).updated == later
    assert Bucket.objects.exists()


def test_a_stale_page_also_prunes_one_batch_of_old_figures(settings):
    settings.DASHBOARD = {**settings.DASHBOARD, "STATISTICS_PRUNE_BATCH": 2, "STATISTICS_STALE": 30}
    seed(3, age=timedelta(days=5))  # past the minute buckets' three days
    freshness.ensure_fresh()  # counts them into 2 buckets per granularity (all tasks, app.add)
    kept = Counter(Bucket.objects.values_list("granularity", flat=True))
    assert kept == Counter({"h": 2, "d": 2}), "the minute buckets, past their 3 days, went in one batch of 2"
