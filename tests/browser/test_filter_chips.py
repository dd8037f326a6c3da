"""Active filters as chips in Chromium: they follow the form, and one click removes a filter, form included."""
import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]


def test_chips_follow_the_filters_and_removing_one_clears_it_everywhere(seeded, logged_in, live_server):
    page = logged_in
    tasks = live_server.url + reverse("dashboard:tasks")
    page.goto(tasks)
    chips = page.get_by_role("list", name="Active filters")
    expect(chips).to_have_count(0)

    statuses = page.get_by_role("group", name="Status")
    statuses.get_by_role("checkbox", name=states.FAILURE, exact=True).check()
    expect(page).to_have_url(tasks + "?status=FAILURE")
    statuses.get_by_role("checkbox", name=states.SUCCESS, exact=True).check()
    expect(page).to_have_url(tasks + "?status=FAILURE&status=SUCCESS")
    expect(chips.locator(".chip")).to_have_count(2)
    expect(chips).to_contain_text("Status: FAILURE")

    chips.get_by_role("link", name="Remove filter Status: FAILURE").click()
    expect(page).to_have_url(tasks + "?status=SUCCESS")
    expect(statuses.get_by_role("checkbox", name=states.FAILURE, exact=True)).not_to_be_checked()
    expect(statuses.get_by_role("checkbox", name=states.SUCCESS, exact=True)).to_be_checked()
    expect(page.locator("#task-results tbody .badge", has_text=states.FAILURE)).to_have_count(0)
    expect(chips.locator(".chip")).to_have_count(1)

    chips.get_by_role("link", name="Remove filter Status: SUCCESS").click()
    expect(page).to_have_url(tasks)
    expect(chips).to_have_count(0)
    expect(page.locator("#task-results tbody tr")).to_have_count(25)
