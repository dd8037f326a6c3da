"""The real schema, introspected from the database under test, matches the spec."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from results.models import ChordCounter, GroupResult, TaskResult

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def columns(model):
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, model._meta.db_table)
    return {info.name: info for info in description}


def index_columns(model):
    """Map each single- or multi-column index to its columns, by index name."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: c["columns"] for name, c in constraints.items() if c["index"] or c["unique"]}


def unique_columns(model):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [c["columns"] for c in constraints.values() if c["unique"] and not c["primary_key"]]


TASK_COLUMNS = {
    # name: (nullable, max length or None for text/dates)
    "task_id": (False, 255),
    "periodic_task_name": (True, 255),
    "task_name": (True, 255),
    "task_args": (True, None),
    "task_kwargs": (True, None),
    "status": (False, 50),
    "worker": (True, 100),
    "content_type": (False, 128),
    "content_encoding": (False, 64),
    "result": (True, None),
    "date_created": (False, None),
    "date_started": (True, None),
    "date_done": (False, None),
    "traceback": (True, None),
    "meta": (True, None),
}


def assert_columns(model, expected):
    found = columns(model)
    assert set(found) == {"id", *expected}
    for name, (nullable, max_length) in expected.items():
        assert found[name].null_ok == nullable, name
        if max_length:
            assert found[name].display_size == max_length, name


def test_task_result_columns():
    assert_columns(TaskResult, TASK_COLUMNS)


def test_group_result_columns():
    assert_columns(
        GroupResult,
        {
            "group_id": (False, 255),
            "date_created": (False, None),
            "date_done": (False, None),
            "content_type": (False, 128),
            "content_encoding": (False, 64),
            "result": (True, None),
        },
    )


def test_chord_counter_columns():
    assert_columns(
        ChordCounter,
        {"group_id": (False, 255), "sub_tasks": (False, None), "count": (False, None), "returned": (True, None),
         # the firing state (issue 16): when, the body's task id and signature
         "fired_at": (True, None), "body_task_id": (True, 255), "body": (True, None)},
    )


def test_task_result_indexes():
    indexes = index_columns(TaskResult)
    for name, cols in {
        "results_task_name_idx": ["task_name"],
        "results_task_status_idx": ["status"],
        "results_task_worker_idx": ["worker"],
        "results_task_created_idx": ["date_created"],
        "results_task_done_idx": ["date_done"],
        "results_task_periodic_idx": ["periodic_task_name"],
    }.items():
        assert indexes.get(name) == cols, name
    assert ["task_id"] in unique_columns(TaskResult)


def test_group_result_indexes():
    indexes = index_columns(GroupResult)
    assert indexes.get("results_group_created_idx") == ["date_created"]
    assert indexes.get("results_group_done_idx") == ["date_done"]
    assert ["group_id"] in unique_columns(GroupResult)


def test_chord_counter_group_id_is_unique():
    assert ["group_id"] in unique_columns(ChordCounter)


def test_model_field_definitions():
    field = TaskResult._meta.get_field
    assert field("status").default == "PENDING"
    assert not field("status").choices
    assert field("worker").default is None
    assert field("result").editable is False and field("result").default is None
    assert field("meta").editable is False and field("meta").default is None
    assert field("traceback").blank
    assert field("date_created").auto_now_add and field("date_done").auto_now
    assert field("date_started").default is None
    assert GroupResult._meta.get_field("result").editable is False
    assert TaskResult._meta.ordering == ["-date_done"] == GroupResult._meta.ordering
    assert str(TaskResult._meta.verbose_name) == "task result"
    assert str(TaskResult._meta.verbose_name_plural) == "task results"
    assert str(GroupResult._meta.verbose_name) == "group result"
    assert TaskResult._meta.pk.name == GroupResult._meta.pk.name == ChordCounter._meta.pk.name == "id"


@pytest.mark.parametrize("max_length", ["255", "191"])
def test_makemigrations_is_clean(max_length):
    env = {**os.environ, "DJANGO_CELERY_RESULTS_TASK_ID_MAX_LENGTH": max_length}
    run = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_migration_reads_max_length_at_run_time():
    code = (
        "import django; django.setup();"
        "from django.db.migrations.loader import MigrationLoader;"
        "m = MigrationLoader(None).get_migration('results', '0001_initial');"
        "op = [o for o in m.operations if o.name == 'TaskResult'][0];"
        "print(dict(op.fields)['task_id'].max_length)"
    )
    env = {**os.environ, "DJANGO_CELERY_RESULTS_TASK_ID_MAX_LENGTH": "191",
           "DJANGO_SETTINGS_MODULE": "dashboard_project.settings"}
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "191", run.stderr
