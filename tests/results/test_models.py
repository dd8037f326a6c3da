"""Model behaviour: as_dict, str, ChordCounter.group_result."""
import json
import uuid

import pytest
from celery import states
from celery.result import GroupResult as CeleryGroupResult

from results.models import ChordCounter, GroupResult, TaskResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(celery_app_factory):
    """A Celery app of the test's own, with an in-memory result backend."""
    return celery_app_factory("test", result_backend="cache+memory://")


def test_task_result_as_dict_has_exactly_the_spec_keys():
    task = TaskResult.objects.create(
        task_id="t1", task_name="app.add", task_args="[1, 2]", task_kwargs="{}",
        status=states.SUCCESS, result="3", traceback=None, meta='{"children": []}', worker="w@h",
    )
    data = task.as_dict()
    assert set(data) == {
        "task_id", "task_name", "task_args", "task_kwargs", "status",
        "result", "date_done", "traceback", "meta", "worker",
    }
    assert data["task_id"] == "t1" and data["result"] == "3" and data["worker"] == "w@h"
    assert data["date_done"] == task.date_done


def test_task_result_str():
    assert str(TaskResult(task_id="abc", status="FAILURE")) == "<Task: abc (FAILURE)>"
    assert str(TaskResult(task_id="abc")) == "<Task: abc (PENDING)>"


def test_group_result_as_dict_and_str():
    group = GroupResult.objects.create(group_id="g1", result='["g1", []]')
    assert group.as_dict() == {"group_id": "g1", "result": '["g1", []]', "date_done": group.date_done}
    assert str(group) == "<Group: g1>"


def test_chord_counter_rebuilds_the_celery_group_result(app):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    sub_tasks = [app.AsyncResult(task_id).as_tuple() for task_id in ids]
    counter = ChordCounter.objects.create(group_id="chord-1", sub_tasks=json.dumps(sub_tasks), count=3)
    group = counter.group_result(app=app)
    assert isinstance(group, CeleryGroupResult)
    assert group.id == "chord-1"
    assert [r.id for r in group.results] == ids
    assert group.app is app


def test_chord_counter_group_result_keeps_parents(app):
    parent = app.AsyncResult("parent-id")
    child = app.AsyncResult("child-id", parent=parent)
    counter = ChordCounter(group_id="c", sub_tasks=json.dumps([child.as_tuple()]), count=1)
    (result,) = counter.group_result(app=app).results
    assert result.id == "child-id" and result.parent.id == "parent-id"


def test_default_status_is_pending():
    task = TaskResult.objects.create(task_id="new")
    task.refresh_from_db()
    assert task.status == states.PENDING
    assert task.date_created is not None and task.date_done is not None
