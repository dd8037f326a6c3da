"""Stored HTML and scripts show as text: nothing runs, no dialog opens.

The arguments, result and traceback come from a real task that a real
worker ran and failed with the payload; names and the worker name, which a
task cannot choose, are stored directly.
"""
import uuid

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

from results.models import TaskResult

from ..e2e import tasks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)><b>bold</b>"
TIMEOUT = 30


def assert_nothing_injected(page):
    """No dialog opened, no element or script of the payload made it into the DOM."""
    expect(page.locator("img[src='x']")).to_have_count(0)
    expect(page.locator("main b", has_text="bold")).to_have_count(0)
    scripts = page.evaluate("[...document.scripts].filter(s => s.textContent.includes('alert')).length")
    assert scripts == 0
    assert page.dialogs == []


@pytest.fixture
def hostile_task(app):
    """A task that really failed on a worker with the payload as argument and message."""
    result = tasks.fail.delay(PAYLOAD)
    with pytest.raises(tasks.ExpectedFailure):
        result.get(timeout=TIMEOUT, propagate=True)
    task = TaskResult.objects.get(task_id=result.id)
    assert task.status == states.FAILURE and PAYLOAD in task.traceback and PAYLOAD in task.result
    return task


@pytest.fixture
def hostile_names(transactional_db):
    """A stored row whose task name, worker and periodic task name are HTML."""
    return TaskResult.objects.create(
        task_id=str(uuid.uuid4()), task_name=f"{PAYLOAD}.name", worker=f"{PAYLOAD}@worker",
        periodic_task_name=f"{PAYLOAD} nightly", status=states.SUCCESS, result='"ok"',
        content_type="application/json", content_encoding="utf-8", task_args="[]", task_kwargs="{}",
    )


def test_the_detail_page_shows_stored_html_as_text(logged_in, live_server, hostile_task):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:task", args=[hostile_task.task_id]))
    expect(page.locator("#arguments")).to_contain_text(PAYLOAD)
    expect(page.locator("#result")).to_contain_text(PAYLOAD)
    expect(page.locator("#traceback .exception")).to_contain_text(PAYLOAD)
    page.locator("#traceback").get_by_text("Full traceback").click()
    expect(page.locator("#traceback-text")).to_be_visible()
    expect(page.locator("#traceback-text")).to_contain_text(f"ExpectedFailure: {PAYLOAD}")
    expect(page.locator("#same-args")).not_to_contain_text("Find other runs")  # loaded after the page
    assert_nothing_injected(page)


def test_the_list_shows_stored_html_as_text(logged_in, live_server, hostile_task, hostile_names):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:tasks"))
    table = page.locator("#task-results")
    expect(table).to_contain_text(f"{PAYLOAD}.name")
    expect(table).to_contain_text(f"{PAYLOAD}@worker")
    expect(table).to_contain_text(f"{PAYLOAD} nightly")
    expect(page.locator("#result-count")).to_contain_text("2 tasks")  # loaded after the list
    assert_nothing_injected(page)

    # Filtering by the hostile worker name (offered in the suggestions) swaps the table.
    page.get_by_label("Worker", exact=True).fill(f"{PAYLOAD}@worker")
    page.get_by_label("Worker", exact=True).press("Enter")
    expect(page.locator("#task-results tbody tr")).to_have_count(1)
    expect(table).to_contain_text(f"{PAYLOAD}.name")
    assert_nothing_injected(page)

    # The page reloaded from that URL shows the value in the form, as text.
    page.reload()
    expect(page.get_by_label("Worker", exact=True)).to_have_value(f"{PAYLOAD}@worker")
    expect(page.locator("#task-results tbody tr")).to_have_count(1)
    assert_nothing_injected(page)

    # So does the search box, and a filter value the form rejects.
    page.goto(live_server.url + reverse("dashboard:tasks") + "?status=" + "%3Cscript%3Ealert(3)%3C%2Fscript%3E")
    expect(page.locator("#task-filter-errors")).to_be_visible()
    assert_nothing_injected(page)
