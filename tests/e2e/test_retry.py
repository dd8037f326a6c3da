"""Retrying a really failed task from the dashboard: a real worker runs the new task, and it succeeds."""
import json
import os
import time

import pytest
from celery import states
from django.contrib.auth.models import User
from django.urls import reverse

from dashboard.models import AuditedTask, AuditEntry
from results.models import TaskResult

from . import tasks

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30


def wait_for_status(task_id, status, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = TaskResult.objects.filter(task_id=task_id).first()
        if row is not None and row.status == status:
            return row
        time.sleep(0.1)
    row = TaskResult.objects.filter(task_id=task_id).first()
    pytest.fail(f"task {task_id} is {row.status if row else 'not stored'} after {timeout}s, not {status}")


def test_retry_through_the_dashboard_runs_again_on_the_worker_and_succeeds(
    app, db_worker, marker_dir, client, settings
):
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
    marker = os.path.join(marker_dir, "marker")
    failed = tasks.fail_unless_marker.delay(marker)
    with pytest.raises(tasks.ExpectedFailure):
        failed.get(timeout=TIMEOUT)
    wait_for_status(failed.id, states.FAILURE)
    assert os.path.exists(marker)

    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-12345"))
    detail = reverse("dashboard:task", args=[failed.id])
    confirm = client.get(reverse("dashboard:action", args=["retry"]), {"task_id": failed.id, "next": detail})
    assert confirm.status_code == 200 and "will not be sent again" not in confirm.content.decode()
    response = client.post(reverse("dashboard:action", args=["retry"]), {
        "task_ids": confirm.context["form"]["task_ids"].value(), "next": detail,
    })
    assert response.status_code == 302 and response["Location"] == detail

    link = AuditedTask.objects.get(task_id=failed.id)
    assert link.ok and link.new_task_id and link.new_task_id != failed.id
    assert AuditEntry.objects.get().outcome == "done"
    new = wait_for_status(link.new_task_id, states.SUCCESS)
    assert new.task_name == "tests.e2e.tasks.fail_unless_marker"
    assert json.loads(new.result) == "ran again"
    assert TaskResult.objects.get(task_id=failed.id).status == states.FAILURE  # the original stays as it was

    assert link.new_task_id in client.get(detail).content.decode()
    assert failed.id in client.get(reverse("dashboard:task", args=[link.new_task_id])).content.decode()
