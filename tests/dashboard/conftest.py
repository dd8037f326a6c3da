"""Fixtures of the dashboard tests: users with and without access, task rows; helpers reading a list's pager."""
import html
import itertools
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from results.models import GroupResult, TaskResult

_sequence = itertools.count()


@pytest.fixture
def viewer(db):
    user = User.objects.create_user("viewer", password="pw-viewer-123")
    user.user_permissions.add(Permission.objects.get(codename="view_taskresult", content_type__app_label="results"))
    return user


@pytest.fixture
def stranger(db):
    return User.objects.create_user("stranger", password="pw-stranger-123")


@pytest.fixture
def client_viewer(client, viewer):
    client.force_login(viewer)
    return client


def _make_task(**fields):
    """A stored task result; ``date_created/started/done`` may be given explicitly."""
    n = next(_sequence)
    dates = {key: fields.pop(key) for key in ("date_created", "date_started", "date_done") if key in fields}
    fields.setdefault("task_id", str(uuid.uuid4()))
    fields.setdefault("task_name", "proj.tasks.add")
    fields.setdefault("status", "SUCCESS")
    fields.setdefault("worker", "celery@alpha")
    fields.setdefault("content_type", "application/json")
    fields.setdefault("content_encoding", "utf-8")
    fields.setdefault("task_args", "[1, 2]")
    fields.setdefault("task_kwargs", "{}")
    fields.setdefault("result", "3")
    task = TaskResult.objects.create(**fields)
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


@pytest.fixture
def make_task(db):
    return _make_task


@pytest.fixture
def make_tasks(db):
    """``make_tasks(n, **fields)``: n tasks one second apart, newest last, in one insert."""

    def make(n, start=None, **fields):
        start = start or timezone.now() - timedelta(hours=1)
        rows = []
        for _ in range(n):
            row = TaskResult(
                task_id=fields.get("task_id_prefix", "t") + f"-{next(_sequence):08d}",
                task_name=fields.get("task_name", "proj.tasks.add"),
                status=fields.get("status", "SUCCESS"),
                worker=fields.get("worker", "celery@alpha"),
                content_type="application/json",
                content_encoding="utf-8",
                task_args="[]",
                task_kwargs="{}",
            )
            rows.append(row)
        TaskResult.objects.bulk_create(rows)
        ids = [row.task_id for row in rows]
        for i, task_id in enumerate(ids):
            done = start + timedelta(seconds=i)
            TaskResult.objects.filter(task_id=task_id).update(date_done=done, date_created=done, date_started=done)
        return list(TaskResult.objects.filter(task_id__in=ids).order_by("date_done", "id"))

    return make


@pytest.fixture
def make_group(db):
    def make(group_id=None, result=None, **fields):
        return GroupResult.objects.create(
            group_id=group_id or str(uuid.uuid4()),
            result=result,
            content_type=fields.pop("content_type", "application/json"),
            content_encoding=fields.pop("content_encoding", "utf-8"),
            **fields,
        )

    return make


# --- a list's pager, as the page shows it ---------------------------------------


def pager(response):
    """The HTML of the list's pager (``<nav class="pager">``) in ``response``, or "" when there is none."""
    match = re.search(r'<nav class="pager".*?</nav>', response.content.decode(), re.S)
    return match.group(0) if match else ""


def pager_link(response, rel):
    """The URL the pager's ``rel`` link ("next", "prev") leads to, or None when the page has none."""
    match = re.search(rf'<a href="([^"]*)"[^>]*\brel="{rel}"', pager(response))
    return html.unescape(match.group(1)) if match else None


def pager_error(response):
    """What the pager says was wrong with the page asked for, or ""."""
    match = re.search(r'<span class="error">(.*?)(?: <a |</span>)', pager(response), re.S)
    return html.unescape(match.group(1)) if match else ""
