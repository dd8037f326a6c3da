"""The time zone switch in Chromium: the server's zone by default, the browser's on request, remembered."""
import re
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import task_result

from .conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]


@pytest.fixture
def new_york(browser, page_errors):
    """A page in a browser whose own time zone is New York (the server's is UTC)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id="America/New_York")
    context.on("page", page_errors.watch)
    yield context.new_page()
    context.close()


def test_times_follow_the_browsers_zone_once_chosen_and_back(new_york, viewer, live_server):
    task = task_result(date_done=timezone.now() - timedelta(minutes=5))
    page = new_york
    page.goto(live_server.url + reverse("dashboard:task", args=[task.task_id]))
    page.get_by_label("Username").fill(viewer.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    done = page.locator("dl.facts time").last
    expect(done).to_have_text("5 min ago")
    utc = task.date_done.astimezone(UTC)
    expect(done).to_have_attribute("title", f"{utc:%Y-%m-%d %H:%M:%S} UTC")

    switch = page.get_by_label("Times in")
    expect(switch).to_have_value("")
    switch.select_option(label="this browser · America/New_York")
    expect(switch).to_have_value("America/New_York")
    east = task.date_done.astimezone(ZoneInfo("America/New_York"))
    expect(page.locator("dl.facts time").last).to_have_attribute("title", re.compile(
        rf"^{east:%Y-%m-%d %H:%M:%S} E[SD]T$"))

    page.goto(live_server.url + reverse("dashboard:tasks"))  # remembered: another page, the same zone
    expect(page.get_by_label("Times in")).to_have_value("America/New_York")
    expect(page.locator("#task-results tbody time").first).to_have_attribute("title", re.compile(r" E[SD]T$"))
    expect(page.locator("#task-results tbody time").first).to_have_text(re.compile(r"^(just now|\d+ (s|min) ago)$"))

    page.get_by_label("Times in").select_option("")
    expect(page.locator("#task-results tbody time").first).to_have_attribute("title", re.compile(r" UTC$"))
    assert not [cookie for cookie in page.context.cookies() if cookie["name"] == "dashboard_time_zone"]


def test_ages_stay_current_on_a_page_left_open(logged_in, live_server):
    task = task_result(date_done=timezone.now() - timedelta(seconds=50))
    page = logged_in
    page.clock.install()
    page.goto(live_server.url + reverse("dashboard:task", args=[task.task_id]))
    done = page.locator("dl.facts time").last
    expect(done).to_have_text(re.compile(r"^\d+ s ago$"))
    page.clock.run_for(30_000)
    expect(done).to_have_text("1 min ago")
