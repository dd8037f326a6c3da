"""Rows for tests, built one way across the suite: plain functions with keyword defaults.

Every field may be given; the defaults look like what a worker stores (JSON
content, a worker name, a task name). ``None`` as an id means "a fresh
UUID"; an empty string is stored as it is (some tests need empty ids).
"""
import itertools
import json
import uuid
from datetime import timedelta

from django.contrib.auth.models import Permission, User
from django.utils import timezone

from dashboard.models import AuditedTask, AuditEntry
from results.models import ChordCounter, GroupResult, TaskResult

_sequence = itertools.count()

TASK_DEFAULTS = {
    "task_name": "proj.tasks.add",
    "status": "SUCCESS",
    "worker": "celery@alpha",
    "content_type": "application/json",
    "content_encoding": "utf-8",
    "task_args": "[1, 2]",
    "task_kwargs": "{}",
    "result": "3",
}


def task_ref(task_id):
    """A task's result tuple, as Celery stores it in a group, a chord header or ``meta['children']``."""
    return [[task_id, None], None]


def group_ref(group_id, members):
    """A group's result tuple with its members' tuples."""
    return [[group_id, None], members]


#: The task name the tests' recording Celery app registers (``tests/dashboard/conftest.py``: ``app``).
REGISTERED_TASK = "proj.tasks.add"


def task_result(**fields):
    """A stored task result; ``date_created/started/done`` may be given explicitly.

    Without them, the task was done a little before now (each one made
    later is done a second later, up to a thousand), started a second and
    created two seconds before that.
    """
    n = next(_sequence)
    dates = {key: fields.pop(key) for key in ("date_created", "date_started", "date_done") if key in fields}
    if fields.get("task_id") is None:
        fields["task_id"] = str(uuid.uuid4())
    task = TaskResult.objects.create(**{**TASK_DEFAULTS, **fields})
    if not dates:
        done = timezone.now() - timedelta(seconds=1000 - n % 1000)
        dates = {
            "date_created": done - timedelta(seconds=2),
            "date_started": done - timedelta(seconds=1),
            "date_done": done,
        }
    TaskResult.objects.filter(pk=task.pk).update(**dates)
    task.refresh_from_db()
    return task


def task_results(n, start=None, task_id_prefix="t", **fields):
    """``n`` task results one second apart from ``start`` (an hour ago), in one insert; oldest first.

    They have no arguments (``[]``, ``{}``) and no result unless ``fields`` give them.
    """
    start = start or timezone.now() - timedelta(hours=1)
    defaults = {**TASK_DEFAULTS, "task_args": "[]", "task_kwargs": "{}", "result": None}
    rows = [
        TaskResult(task_id=f"{task_id_prefix}-{next(_sequence):08d}", **{**defaults, **fields}) for _ in range(n)
    ]
    TaskResult.objects.bulk_create(rows)
    ids = [row.task_id for row in rows]
    for i, task_id in enumerate(ids):
        done = start + timedelta(seconds=i)
        TaskResult.objects.filter(task_id=task_id).update(date_done=done, date_created=done, date_started=done)
    return list(TaskResult.objects.filter(task_id__in=ids).order_by("date_done", "id"))


def group_result(group_id=None, result=None, **fields):
    """A stored group result; ``result`` is its stored tuple (JSON text), None by default."""
    return GroupResult.objects.create(
        group_id=str(uuid.uuid4()) if group_id is None else group_id,
        result=result,
        **{"content_type": "application/json", "content_encoding": "utf-8", **fields},
    )


def chord_counter(header=(), group_id=None, count=None, sub_tasks=None):
    """A stored chord counter whose header is the tasks ``header`` names; ``count`` (still to return) all of them.

    ``sub_tasks`` stores that text instead of the header's tuples (a corrupt counter, say).
    """
    header = list(header)
    return ChordCounter.objects.create(
        group_id=str(uuid.uuid4()) if group_id is None else group_id,
        sub_tasks=json.dumps([task_ref(task_id) for task_id in header]) if sub_tasks is None else sub_tasks,
        count=len(header) if count is None else count,
    )


def audit_entry(tasks=(), **fields):
    """A stored audit entry, with an ``AuditedTask`` for each mapping in ``tasks`` (its fields).

    By default an operator's retry that was done, counting its tasks and how many were ``ok``.
    """
    tasks = [{"ok": True, **task} for task in tasks]
    fields.setdefault("username", "operator")
    fields.setdefault("action", "retry")
    fields.setdefault("outcome", "done")
    fields.setdefault("task_count", len(tasks))
    fields.setdefault("succeeded", sum(task["ok"] for task in tasks))
    entry = AuditEntry.objects.create(**fields)
    AuditedTask.objects.bulk_create(AuditedTask(entry=entry, **task) for task in tasks)
    return entry


def user_with(*codenames: str) -> User:
    """A user holding ``results.view_taskresult`` and the other ``results`` permissions named."""
    user = User.objects.create_user(f"user-{uuid.uuid4().hex[:8]}", password="pw-12345678")
    for codename in ("view_taskresult", *codenames):
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="results"))
    return user
