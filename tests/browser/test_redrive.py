"""Resolving a cause, then retrying all its failures in bulk from the browser; a real worker sends and runs them."""
import os
import re
from datetime import timedelta

import pytest
from celery import states
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.models import AuditedTask, FailureGroup, Redrive
from dashboard.statistics import rollup
from results.models import TaskResult

from ..e2e import tasks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

TIMEOUT = 30
FAILURES = 3
LIVE = 30_000  # ms: the run is sent by the worker, then the new tasks run there


@pytest.fixture
def broken_then_fixed(app, marker_dir):
    """Three tasks that failed on the worker with one cause, each of which succeeds when run again; counted."""
    results = [tasks.fail_unless_marker.delay(os.path.join(marker_dir, f"marker-{n}")) for n in range(FAILURES)]
    for result in results:
        with pytest.raises(tasks.ExpectedFailure):
            result.get(timeout=TIMEOUT)
    rollup.catch_up(now=timezone.now() + timedelta(minutes=1))
    group = FailureGroup.objects.get(exception_type__endswith="ExpectedFailure")
    assert group.count == FAILURES
    return group, [result.id for result in results]


def test_resolve_a_cause_then_retry_its_failures_and_watch_them_succeed(login, live_server, operator,
                                                                        broken_then_fixed):
    group, failed_ids = broken_then_fixed
    page = login(operator, reverse("dashboard:failure", args=[group.digest]) + "?window=1h&refresh=0")
    page.get_by_role("link", name="Resolve…").click()
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#insights .badge", has_text="resolved")).to_be_visible()

    page.get_by_role("link", name="Retry failures…").click()
    expect(page.get_by_role("heading", name="Retry this cause's failures?")).to_be_visible()
    expect(page.locator("#dry-run")).to_contain_text(f"{FAILURES} tasks would be sent again")
    expect(page.locator("#dry-run")).to_contain_text("0 refused")
    page.get_by_role("button", name=f"Retry {FAILURES} tasks").click()

    expect(page).to_have_url(re.compile(r"/dashboard/redrives/\d+/$"))
    expect(page.locator(".messages")).to_contain_text(f"{FAILURES} task(s) queued")
    progress = page.locator("#redrive-progress")
    expect(progress.locator("#redrive-state")).to_have_text("done", timeout=LIVE)
    expect(progress.locator("#redrive-figures")).to_contain_text(f"{FAILURES} of {FAILURES} sent")
    new_rows = progress.locator("#redrive-latest tbody tr")
    expect(new_rows).to_have_count(FAILURES)
    expect(progress.locator("#redrive-latest .badge", has_text=states.SUCCESS)).to_have_count(FAILURES, timeout=LIVE)

    redrive = Redrive.objects.get()
    links = dict(AuditedTask.objects.filter(entry=redrive.entry).values_list("task_id", "new_task_id"))
    assert sorted(links) == sorted(failed_ids)
    assert set(TaskResult.objects.filter(task_id__in=links.values()).values_list("status", flat=True)) == {
        states.SUCCESS}

    # The audit entry lists each task sent, old -> new; the new task's page links back.
    page.get_by_role("link", name="Its audit entry").click()
    new_id = links[failed_ids[0]]
    expect(page.locator("main")).to_contain_text(new_id[:8])
    page.goto(live_server.url + reverse("dashboard:task", args=[new_id]))
    expect(page.locator("#task-history")).to_contain_text(f"This task is a retry of {failed_ids[0]}")
    assert page.dialogs == []
