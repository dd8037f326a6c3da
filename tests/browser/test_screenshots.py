"""The README's screenshots, taken from the pages filled with a realistic history.

``make screenshots`` writes them to docs/screenshots/; a plain test run
takes them in a temporary folder, checking each page on the way.
"""
import json
import random
import re

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

from demo.seed import seed_tasks
from results.models import GroupResult, TaskResult

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

ROWS = 3000
# The count loaded after the rows ("3,000 tasks"), not its placeholder ("count matching tasks").
COUNTED = re.compile(r"^[0-9][0-9,]* tasks$")


@pytest.fixture
def busy_shop(transactional_db):
    """Two days of a busy shop's tasks: every state, several workers, groups."""
    seed_tasks(ROWS, rng=random.Random(7), days=2, analyze=False)


def largest_group():
    return max(GroupResult.objects.all(), key=lambda group: len(json.loads(group.result)[1]))


def test_screenshots_of_the_main_pages(busy_shop, logged_in, live_server, screenshot):
    page, url = logged_in, live_server.url

    page.goto(url + reverse("dashboard:overview"))
    expect(page.locator("#insights rect.chart-segment").first).to_be_attached()
    expect(page.locator("section", has_text="Recent failures").locator("tbody tr")).not_to_have_count(0)
    assert screenshot("overview").stat().st_size > 10_000

    page.goto(url + reverse("dashboard:task-names"))
    expect(page.locator("#insights tbody tr")).not_to_have_count(0)
    screenshot("task-names")

    page.goto(url + reverse("dashboard:workers"))
    expect(page.locator("#insights tbody tr")).not_to_have_count(0)
    screenshot("workers")

    page.goto(url + reverse("dashboard:failures"))
    expect(page.locator("#insights tbody tr")).not_to_have_count(0)
    screenshot("failures")
    causes = page.locator("#insights tbody tr").count()
    assert 2 <= causes < TaskResult.objects.filter(status=states.FAILURE).count()  # grouped, not one per row

    page.goto(url + reverse("dashboard:tasks"))
    expect(page.locator("#task-results tbody tr")).to_have_count(25)
    expect(page.locator("#result-count")).to_have_text(COUNTED)
    screenshot("tasks")

    statuses = page.get_by_role("group", name="Status")
    statuses.get_by_role("checkbox", name=states.FAILURE, exact=True).check()
    statuses.get_by_role("checkbox", name=states.RETRY, exact=True).check()
    expect(page).to_have_url(url + reverse("dashboard:tasks") + "?status=FAILURE&status=RETRY")
    expect(page.locator("#task-results tbody .badge", has_text=states.SUCCESS)).to_have_count(0)
    expect(page.locator("#result-count")).to_have_text(COUNTED)
    screenshot("tasks-filtered")

    failed = TaskResult.objects.filter(status=states.FAILURE).order_by("-date_done", "-id").first()
    page.goto(url + reverse("dashboard:task", args=[failed.task_id]))
    expect(page.locator("#traceback .exception")).to_be_visible()
    expect(page.locator("#same-args")).not_to_contain_text("Find other runs")
    screenshot("task-failed")

    group = largest_group()
    page.goto(url + reverse("dashboard:group", args=[group.group_id]))
    expect(page.locator("#group-members .breakdown")).to_be_visible()
    screenshot("group")
    assert page.dialogs == []


def test_screenshot_of_the_running_chords(logged_in, live_server, app, marker_dir, screenshot):
    """Two chords on the real worker, part of their header released."""
    from celery import chord

    from ..e2e import tasks

    gates, bodies = [], []
    # Four worker processes: the released header tasks finish, the others hold a process or wait.
    for size, released in ((8, 5), (6, 1)):
        chord_gates = [f"{marker_dir}/chord{size}-{index}" for index in range(size)]
        gates += chord_gates
        header = (tasks.wait_for_file.s(gate, index) for index, gate in enumerate(chord_gates))
        bodies.append(chord(header)(tasks.collect.s()))
        for gate in chord_gates[:released]:
            open(gate, "w").close()
    try:
        page = logged_in
        page.goto(live_server.url + reverse("dashboard:chords"))
        expect(page.locator("#chord-table")).to_contain_text("5 / 8 done", timeout=20_000)
        expect(page.locator("#chord-table")).to_contain_text("1 / 6 done", timeout=20_000)
        screenshot("chords")
    finally:
        for gate in gates:  # let the worker finish them
            open(gate, "a").close()
        # Wait for the chords to end: the tables are emptied after the test,
        # which deadlocks on PostgreSQL with a worker still writing to them.
        for body in bodies:
            body.get(timeout=60, propagate=False)


def test_screenshots_in_the_dark_and_on_a_phone(busy_shop, logged_in, live_server, screenshot):
    page, url = logged_in, live_server.url
    page.emulate_media(color_scheme="dark")
    page.goto(url + reverse("dashboard:overview"))
    expect(page.locator("#insights rect.chart-segment").first).to_be_attached()
    assert screenshot("overview-dark").stat().st_size > 10_000

    page.goto(url + reverse("dashboard:tasks") + "?status=FAILURE&status=RETRY")
    expect(page.locator("#result-count")).to_have_text(COUNTED)
    screenshot("tasks-dark")

    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url + reverse("dashboard:tasks") + "?status=FAILURE")
    expect(page.locator("#result-count")).to_have_text(COUNTED)
    screenshot("phone-tasks")

    failed = TaskResult.objects.filter(status=states.FAILURE).order_by("-date_done", "-id").first()
    page.goto(url + reverse("dashboard:task", args=[failed.task_id]))
    expect(page.locator("#traceback .exception")).to_be_visible()
    screenshot("phone-task-failed")
