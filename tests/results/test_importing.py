"""``manage.py import_celery_results``: django-celery-results' rows copied row for row, idempotent and resumable,
the newer copy winning, other tables' ids never overwritten, missing tables and columns said clearly.

The reference's tables are made here from its 2.6.0 models' field definitions (``Reference*`` below: the same
table names, columns, types, nullability and unique keys), by Django's schema editor on each database.
"""
import io
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.utils import timezone

from results import importing
from results.models import ChordCounter, GroupResult, TaskResult

pytestmark = pytest.mark.django_db(transaction=True)  # the reference's tables are made and dropped (DDL)


class ReferenceTaskResult(models.Model):
    task_id = models.CharField(max_length=255, unique=True)
    periodic_task_name = models.CharField(null=True, max_length=255)
    task_name = models.CharField(null=True, max_length=255)
    task_args = models.TextField(null=True)
    task_kwargs = models.TextField(null=True)
    status = models.CharField(max_length=50, default="PENDING")
    worker = models.CharField(max_length=100, default=None, null=True)
    content_type = models.CharField(max_length=128)
    content_encoding = models.CharField(max_length=64)
    result = models.TextField(null=True, default=None)
    date_created = models.DateTimeField()
    date_started = models.DateTimeField(null=True, default=None)
    date_done = models.DateTimeField()
    traceback = models.TextField(blank=True, null=True)
    meta = models.TextField(null=True, default=None)

    class Meta:
        app_label = "results"
        managed = False
        db_table = "django_celery_results_taskresult"


class ReferenceGroupResult(models.Model):
    group_id = models.CharField(max_length=255, unique=True)
    date_created = models.DateTimeField()
    date_done = models.DateTimeField()
    content_type = models.CharField(max_length=128)
    content_encoding = models.CharField(max_length=64)
    result = models.TextField(null=True, default=None)

    class Meta:
        app_label = "results"
        managed = False
        db_table = "django_celery_results_groupresult"


class ReferenceChordCounter(models.Model):
    group_id = models.CharField(max_length=255, unique=True)
    sub_tasks = models.TextField()
    count = models.PositiveIntegerField()

    class Meta:
        app_label = "results"
        managed = False
        db_table = "django_celery_results_chordcounter"


REFERENCE = (ReferenceTaskResult, ReferenceGroupResult, ReferenceChordCounter)
TASK_COLUMNS = [field.name for field in ReferenceTaskResult._meta.concrete_fields if not field.primary_key]


@pytest.fixture
def reference():
    """The reference's three tables, empty; dropped after the test."""
    with connection.schema_editor() as editor:
        for model in REFERENCE:
            editor.create_model(model)
    yield
    with connection.schema_editor() as editor:
        for model in REFERENCE:
            editor.delete_model(model)


def stored_tasks(n, start=None, **fields):
    """``n`` of the reference's task rows, one second apart, every column filled (some with awkward text)."""
    start = start or timezone.now().replace(microsecond=123456) - timedelta(days=3)
    rows = [
        ReferenceTaskResult(
            task_id=f"ref-{i:05d}", periodic_task_name="nightly" if i % 7 == 0 else None,
            task_name=f"shop.task_{i % 5}", task_args=f"({i}, 'ünïcode ✓')", task_kwargs="{'k': [1, None]}",
            status=["SUCCESS", "FAILURE", "REVOKED"][i % 3], worker=f"celery@w{i % 3}" if i % 4 else None,
            content_type="application/json", content_encoding="utf-8", result=f'{{"n": {i}}}' if i % 6 else None,
            date_created=start + timedelta(seconds=i), date_started=start + timedelta(seconds=i, milliseconds=5),
            date_done=start + timedelta(seconds=i, milliseconds=750),
            traceback="Traceback (most recent call last):\n  ...\nKeyError: 'x'\n" if i % 3 == 1 else None,
            meta='{"children": []}', **fields,
        )
        for i in range(n)
    ]
    ReferenceTaskResult.objects.bulk_create(rows)
    return rows


def as_row(obj, columns):
    return tuple(getattr(obj, column) for column in columns)


def run(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_celery_results", *args, stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


def test_every_row_of_the_three_tables_is_copied_as_it_is(reference):
    stored_tasks(23)
    now = timezone.now().replace(microsecond=0)
    ReferenceGroupResult.objects.create(group_id="g-1", date_created=now, date_done=now,
                                        content_type="application/json", content_encoding="utf-8",
                                        result='["ref-00001", "ref-00002"]')
    ReferenceChordCounter.objects.create(group_id="g-1", sub_tasks='[["ref-00001", null]]', count=2)
    output = run(batch_size=5)
    assert "23 rows into results_taskresult" in output and "23 rows read" in output
    expected = {row.task_id: as_row(row, TASK_COLUMNS) for row in ReferenceTaskResult.objects.all()}
    copied = {row.task_id: as_row(row, TASK_COLUMNS) for row in TaskResult.objects.all()}
    assert copied == expected
    group = GroupResult.objects.get()
    assert (group.group_id, group.result, group.date_done) == ("g-1", '["ref-00001", "ref-00002"]', now)
    counter = ChordCounter.objects.get()
    assert (counter.group_id, counter.sub_tasks, counter.count, counter.returned) == (
        "g-1", '[["ref-00001", null]]', 2, None)
    assert "rollup --rebuild" in output


def test_a_second_run_and_a_run_after_an_interruption_add_nothing_twice_and_lose_nothing(reference):
    stored_tasks(40)
    importer = importing.Importer(batch_size=7, workers=1)  # batch after batch: where it stops is known
    table = importing.TABLES[0]

    def interrupted(done):
        if done >= 14:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        importer.copy(table, progress=interrupted)
    assert TaskResult.objects.count() == 14  # two whole batches, each in its own transaction
    run()
    run()
    assert TaskResult.objects.count() == 40
    assert sorted(TaskResult.objects.values_list("task_id", flat=True)) == [f"ref-{i:05d}" for i in range(40)]


def test_a_result_in_both_places_keeps_the_newer_copy_and_other_tasks_ids_are_never_overwritten(reference):
    rows = stored_tasks(3)
    # Stored here since the switch: a newer run of ref-00000, an older copy of ref-00001, and a task of this
    # app's own holding the id that ref-00002 has in the reference's table.
    newer = TaskResult.objects.create(task_id="ref-00000", status="SUCCESS", result='"newer"')
    TaskResult.objects.filter(pk=newer.pk).update(date_done=rows[0].date_done + timedelta(hours=1))
    older = TaskResult.objects.create(task_id="ref-00001", status="STARTED")
    TaskResult.objects.filter(pk=older.pk).update(date_done=rows[1].date_done - timedelta(hours=1))
    own = TaskResult.objects.create(task_id="mine", status="SUCCESS", result='"mine"')
    ReferenceTaskResult.objects.filter(task_id="ref-00002").update(id=own.pk + 1000)
    TaskResult.objects.filter(pk=own.pk).update(id=own.pk + 1000)
    run()
    assert TaskResult.objects.get(task_id="ref-00000").result == '"newer"'
    assert as_row(TaskResult.objects.get(task_id="ref-00001"), TASK_COLUMNS) == as_row(rows[1], TASK_COLUMNS)
    assert TaskResult.objects.get(task_id="mine").result == '"mine"'
    assert TaskResult.objects.get(task_id="ref-00002").result == rows[2].result
    assert TaskResult.objects.count() == 4


def test_batches_copied_by_several_threads_at_once_are_each_copied_once(reference):
    """On PostgreSQL and MariaDB four threads, each on its own connection; SQLite copies one batch at a time."""
    stored_tasks(61)
    seen = []
    copied = importing.Importer(batch_size=4, workers=4).copy(importing.TABLES[0], progress=seen.append)
    assert (copied.rows, copied.total) == (61, 61) and seen[-1] == 61 and len(seen) == 16
    assert sorted(TaskResult.objects.values_list("task_id", flat=True)) == [f"ref-{i:05d}" for i in range(61)]
    expected = {row.task_id: as_row(row, TASK_COLUMNS) for row in ReferenceTaskResult.objects.all()}
    assert {row.task_id: as_row(row, TASK_COLUMNS) for row in TaskResult.objects.all()} == expected


def test_a_chord_counter_present_in_both_keeps_the_one_the_workers_count_on(reference):
    ReferenceChordCounter.objects.create(group_id="g-1", sub_tasks="[]", count=5)
    ChordCounter.objects.create(group_id="g-1", sub_tasks="[]", count=2)
    run()
    assert ChordCounter.objects.get().count == 2


def test_rows_from_another_database_go_through_this_process_the_same(reference):
    stored_tasks(12)
    importer = importing.Importer(batch_size=5)
    importer.same_database = False  # the path a --database alias on another server takes
    with mock.patch.object(importing, "VALUES_PER_STATEMENT", 4):
        copied = importer.copy(importing.TABLES[0])
    assert (copied.rows, copied.total) == (12, 12)
    expected = {row.task_id: as_row(row, TASK_COLUMNS) for row in ReferenceTaskResult.objects.all()}
    assert {row.task_id: as_row(row, TASK_COLUMNS) for row in TaskResult.objects.all()} == expected
    importer.copy(importing.TABLES[0])
    assert TaskResult.objects.count() == 12


def test_without_the_reference_tables_it_says_so(db):
    with pytest.raises(CommandError, match="No table of django-celery-results in database 'default'"):
        run()
    with pytest.raises(CommandError, match="No database alias 'elsewhere'"):
        run(database="elsewhere")
    with pytest.raises(CommandError, match="at least 1"):
        run(batch_size=0)
    with pytest.raises(CommandError, match="at least 1"):
        run(workers=0)


def test_an_older_release_without_the_newer_columns_is_imported_with_them_empty():
    """django-celery-results before 2.1 had no ``periodic_task_name`` nor ``date_started``."""
    with connection.schema_editor() as editor:
        editor.create_model(ReferenceTaskResult)
        editor.remove_field(ReferenceTaskResult, ReferenceTaskResult._meta.get_field("periodic_task_name"))
        editor.remove_field(ReferenceTaskResult, ReferenceTaskResult._meta.get_field("date_started"))
    try:
        done = timezone.now().replace(microsecond=0)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_celery_results_taskresult (task_id, status, content_type, content_encoding,"
                " date_created, date_done) VALUES (%s, %s, %s, %s, %s, %s)",
                ["old-1", "SUCCESS", "application/json", "utf-8", done, done],
            )
        run()
        task = TaskResult.objects.get()
        assert (task.task_id, task.periodic_task_name, task.date_started, task.date_done) == ("old-1", None, None, done)
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(ReferenceTaskResult)
