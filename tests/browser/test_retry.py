"""Retrying a really failed task from its page, with edits allowed; a real worker runs the new one."""
import os

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

from results.models import TaskResult

from ..e2e import tasks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

TIMEOUT = 30
LIVE = 20_000  # ms


@pytest.fixture
def failed_once(app, marker_dir):
    """A task that failed on the worker and succeeds when run again."""
    result = tasks.fail_unless_marker.delay(os.path.join(marker_dir, "marker"))
    with pytest.raises(tasks.ExpectedFailure):
        result.get(timeout=TIMEOUT)
    return TaskResult.objects.get(task_id=result.id, status=states.FAILURE)


def test_retry_a_failed_task_and_see_the_new_one_succeed(login, live_server, operator, failed_once):
    detail = reverse("dashboard:task", args=[failed_once.task_id])
    page = login(operator, detail)
    expect(page.locator("#traceback .exception")).to_contain_text("first run: the marker was missing")

    page.locator("#task-actions").get_by_role("link", name="Retry…").click()
    expect(page.get_by_role("heading", name="Retry 1 task?")).to_be_visible()
    page.get_by_role("button", name="Retry 1 task").click()

    expect(page).to_have_url(live_server.url + detail)
    retried_as = page.locator("#task-history").get_by_text("Retried as").locator("a.id")
    expect(retried_as).to_have_count(1)
    new_id = retried_as.inner_text()
    assert new_id != failed_once.task_id

    # The new task shows up in the list of that task's runs, live.
    page.goto(live_server.url + reverse("dashboard:tasks") + f"?task_name={failed_once.task_name}&refresh=2")
    new_row = page.locator("#task-results tbody tr", has=page.locator(f'a.id[title="{new_id}"]'))
    expect(new_row.locator(".badge")).to_have_text(states.SUCCESS, timeout=LIVE)
    expect(page.locator("#task-results tbody tr")).to_have_count(2)

    new_row.locator("a.id").click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:task", args=[new_id]))
    expect(page.locator("#result")).to_contain_text("ran again")
    expect(page.locator("#task-history")).to_contain_text(f"This task is a retry of {failed_once.task_id}")
    assert page.dialogs == []
