"""The bulk seeder: counts, batches, and rows that look like a real worker's."""
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest
from celery import states
from celery.backends.base import BaseBackend
from celery.result import GroupResult as CeleryGroupResult
from celery.result import result_from_tuple
from django.core.management import CommandError, call_command

from demo import catalog
from demo.seed import generate_results, seed_tasks
from results.models import GroupResult, TaskResult
from tests.fixtures.celery_apps import make_celery_app

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
# A bare Celery app, to decode what the seeder wrote without any project configuration.
CHECK_APP = make_celery_app("seed-check")
ALL_STATES = {states.SUCCESS, states.FAILURE, states.RETRY, states.STARTED, states.PENDING, states.REVOKED}


def generated(count, seed=7, days=7):
    rows = list(generate_results(count, now=NOW, rng=random.Random(seed), days=days))
    return [r for r in rows if isinstance(r, TaskResult)], [r for r in rows if isinstance(r, GroupResult)]


@pytest.fixture(scope="module")
def sample():
    """Five thousand generated rows (not saved): enough for every state to show up."""
    return generated(5000)


@pytest.mark.django_db
class TestSeedTasks:
    def test_writes_the_count_in_batches_and_reports_progress(self):
        calls = []
        written = seed_tasks(
            500, batch_size=120, now=NOW, rng=random.Random(1), progress=lambda n, total: calls.append((n, total))
        )
        assert written == 500
        assert TaskResult.objects.count() == 500
        assert calls == [(120, 500), (240, 500), (360, 500), (480, 500), (500, 500)]

    def test_stored_dates_are_the_generated_ones_not_now(self):
        seed_tasks(300, now=NOW, rng=random.Random(2))
        oldest = TaskResult.objects.order_by("date_created").first()
        newest = TaskResult.objects.order_by("-date_done").first()
        assert NOW - timedelta(days=7) <= oldest.date_created < NOW - timedelta(days=6)
        assert newest.date_done <= NOW

    def test_models_stamp_dates_again_afterwards(self):
        seed_tasks(10, now=NOW - timedelta(days=30), rng=random.Random(3))
        row = TaskResult.objects.store_result("application/json", "utf-8", "after-seed", '"ok"', states.SUCCESS)
        row.refresh_from_db()
        assert row.date_done > NOW - timedelta(days=1)
        assert TaskResult._meta.get_field("date_done").auto_now
        assert TaskResult._meta.get_field("date_created").auto_now_add

    def test_groups_point_at_stored_tasks(self):
        seed_tasks(3000, now=NOW, rng=random.Random(4))
        assert GroupResult.objects.exists()
        for group in GroupResult.objects.all():
            restored = result_from_tuple(json.loads(group.result), app=CHECK_APP)
            assert isinstance(restored, CeleryGroupResult) and restored.id == group.group_id
            member_ids = [member.id for member in restored.results]
            assert 5 <= len(member_ids) <= 30
            assert TaskResult.objects.filter(task_id__in=member_ids).count() == len(member_ids)

    def test_same_seed_same_rows(self):
        first, _ = generated(50, seed=11)
        again, _ = generated(50, seed=11)
        assert [r.task_id for r in first] == [r.task_id for r in again]
        assert [r.result for r in first] == [r.result for r in again]

    @pytest.mark.postgresql
    def test_refreshes_the_planner_row_estimate(self):
        from django.db import connection

        seed_tasks(700, now=NOW, rng=random.Random(6))
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [TaskResult._meta.db_table])
            assert cursor.fetchone()[0] == 700

    def test_zero_writes_nothing(self):
        assert seed_tasks(0, now=NOW) == 0
        assert not TaskResult.objects.exists()


def test_generation_is_lazy():
    """A billion rows start at once: rows are made as they are written, never all in memory."""
    rows = generate_results(10**9, now=NOW, rng=random.Random(5))
    assert len(list(islice(rows, 10))) == 10


class TestRealisticRows:
    def test_exact_count_and_unique_ids(self, sample):
        tasks, groups = sample
        assert len(tasks) == 5000
        assert len({t.task_id for t in tasks} | {g.group_id for g in groups}) == len(tasks) + len(groups)

    def test_status_mix(self, sample):
        tasks, _ = sample
        by_status = Counter(t.status for t in tasks)
        assert set(by_status) == ALL_STATES
        assert by_status[states.SUCCESS] > 0.85 * len(tasks)
        assert 0.01 * len(tasks) < by_status[states.FAILURE] < 0.08 * len(tasks)

    def test_names_workers_and_periodic_names(self, sample):
        tasks, _ = sample
        assert {t.task_name for t in tasks} == {kind.name for kind in catalog.TASK_KINDS}
        assert {t.worker for t in tasks} - {None} == set(catalog.ALL_WORKERS)
        periodic = {t.periodic_task_name for t in tasks} - {None}
        assert periodic == {kind.periodic for kind in catalog.TASK_KINDS if kind.periodic}

    def test_encoded_as_the_database_backend_stores_them(self, sample):
        tasks, _ = sample
        for task in tasks:
            assert (task.content_type, task.content_encoding) == ("application/json", "utf-8")
            assert json.loads(task.meta) == {"children": []}
            args, kwargs = json.loads(task.task_args), json.loads(task.task_kwargs)
            assert args.startswith("(") and args.endswith(")")
            assert kwargs.startswith("{") and kwargs.endswith("}")
            json.loads(task.result)

    def test_secrets_stay_hidden(self, sample):
        tasks, _ = sample
        charges = [t for t in tasks if t.task_name == catalog.CHARGE_CARD]
        resets = [t for t in tasks if t.task_name == catalog.SEND_PASSWORD_RESET]
        assert charges and resets
        assert all("'****'" in t.task_args and "tok_" not in t.task_args for t in charges)
        assert all(json.loads(t.task_kwargs) == "{'token': '********'}" for t in resets)

    def test_failures_decode_to_exceptions_with_a_matching_traceback(self, sample):
        tasks, _ = sample
        backend = BaseBackend(CHECK_APP)
        failed = [t for t in tasks if t.status in (states.FAILURE, states.RETRY)]
        exc_types = {json.loads(t.result)["exc_type"] for t in failed}
        assert exc_types >= {"SMTPServerDisconnected", "KeyError", "CardDeclined"}
        for task in failed:
            exc = backend.exception_to_python(json.loads(task.result))
            assert isinstance(exc, Exception)
            assert task.traceback.startswith("Traceback (most recent call last):\n")
            payload = json.loads(task.result)
            label = payload["exc_type"]
            if payload["exc_module"] != "builtins":
                label = f"{payload['exc_module']}.{label}"
            assert type(exc).__name__ == payload["exc_type"]
            assert f"\n{label}: " in task.traceback
            assert f"in {task.task_name.rsplit('.', 1)[1]}\n" in task.traceback
            if task.status == states.RETRY:
                last_line = task.traceback.rstrip("\n").rsplit("\n", 1)[1]
                assert last_line.startswith("celery.exceptions.Retry: Retry in ")

    def test_dates_are_ordered_and_plausible(self, sample):
        tasks, _ = sample
        start = NOW - timedelta(days=7)
        for task in tasks:
            assert start <= task.date_created <= task.date_done <= NOW
            if task.date_started is not None:
                assert task.date_created <= task.date_started <= task.date_done
            if task.status == states.PENDING:
                assert task.date_started is None and task.worker is None
            if task.status in (states.SUCCESS, states.FAILURE):
                assert task.date_started is not None
        runtimes = sorted(
            (t.date_done - t.date_started).total_seconds() for t in tasks if t.status == states.SUCCESS
        )
        assert 0.05 < runtimes[len(runtimes) // 2] < 5  # the median task is short
        assert runtimes[-1] > 60  # reports take minutes

    def test_more_tasks_in_office_hours_than_at_night(self, sample):
        tasks, _ = sample
        hours = Counter(t.date_created.hour for t in tasks)
        assert hours[10] > 2 * hours[3]


@pytest.mark.django_db
class TestCommand:
    def test_seeds_and_reports(self, capsys):
        call_command("demo", tasks=40, seed=3)
        assert TaskResult.objects.count() == 40
        out = capsys.readouterr().out
        assert "Seeding 40 task results" in out and "Wrote 40 task results" in out

    @pytest.mark.parametrize(
        "options, message",
        [({}, "--tasks N"), ({"tasks": -1}, "zero or more"), ({"tasks": 5, "batch_size": 0}, "--batch-size")],
    )
    def test_bad_options_are_refused(self, options, message):
        with pytest.raises(CommandError, match=message):
            call_command("demo", **options)
